/* Hostile responses: rewrites of an encoded response frame that no honest broker sends, for
 * the robustness tests of clients (issue 9). The frame in req->out is [size][header][body];
 * each rewrite keeps everything else byte-exact, so a test can predict the bytes.
 *
 * The decompression bomb is built by hand rather than by compressing a gigabyte: a zstd frame
 * is a header and a sequence of blocks, and an RLE block (RFC 8878 section 3.1.1.2) is 3 header
 * bytes and 1 byte that stands for up to 128 KiB, so 8193 of them expand to 1 GiB + 128 KiB in
 * 33 KB. The gzip variant repeats one sync-flushed deflate segment of 1 MiB of zeros (deflate
 * blocks refer only to the previous 32 KiB, all zeros, and a sync flush ends on a byte
 * boundary), then appends the CRC-32 of the whole, combined from the segment's, and the size. */
#include <string.h>

#include "kw_config.h"
#include "kwire/codec.h"
#include "mock_fault.h"
#include "util/crc32c.h"

#if KW_HAVE_ZLIB
#include <zlib.h>
#endif

static const char *const names[] = {NULL,          "length",   "correlation", "duplicate",
                                    "unsolicited", "truncate", "array",       "crc",
                                    "bomb",        "silent",   "string"};
#define N_NAMES (sizeof(names) / sizeof(names[0]))

#define BOMB_BLOCK  (128u * 1024u) /* zstd's largest block */
#define BOMB_BLOCKS 8193u          /* 1 GiB + one block */
#define GZ_SEGMENT  (1u << 20)
#define GZ_REPEAT   1024u /* 1 MiB segments after the first: 1 GiB + 1 MiB in all */

const char *
kwi_mock_hostile_name(int kind)
{
    return kind >= 1 && (size_t)kind < N_NAMES ? names[kind] : "?";
}

int
kwi_mock_hostile_lookup(const char *s)
{
    for (size_t i = 1; i < N_NAMES; i++)
        if (strcmp(names[i], s) == 0)
            return (int)i;
    return 0;
}

bool
kwi_mock_hostile_arg_ok(int kind, int64_t arg)
{
    switch (kind) {
    case KW_MOCK_HOSTILE_LENGTH:
    case KW_MOCK_HOSTILE_CORRELATION:
    case KW_MOCK_HOSTILE_UNSOLICITED:
    case KW_MOCK_HOSTILE_ARRAY:
        return arg >= INT32_MIN && arg <= INT32_MAX;
    case KW_MOCK_HOSTILE_TRUNCATE:
    case KW_MOCK_HOSTILE_STRING:
        return arg >= 0 && arg <= INT32_MAX;
    case KW_MOCK_HOSTILE_BOMB:
        return arg == 0 || arg == KW_CODEC_ZSTD || (arg == KW_CODEC_GZIP && KW_HAVE_ZLIB);
    default:
        return true;
    }
}

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Replaces req->out with w (which then belongs to the request). */
static void
swap_out(kwi_mock_req *req, kw_wr *w)
{
    kw_wr_fini(&req->out);
    req->out = *w;
}

/* Where the body starts: after the size, the correlation id and (flexible header) the empty
 * tagged section the encoder wrote. */
static size_t
body_start(const kwi_mock_req *req)
{
    return kw_resp_hdr_version(req->api->resp_def, req->hdr.api_version) >= 1 ? 9 : 8;
}

static bool
flexible(const kwi_mock_req *req)
{
    int16_t fv = req->api->resp_def->flex_ver;
    return fv >= 0 && req->hdr.api_version >= fv;
}

/* ---------------------------------------------------------------- frame-level rewrites */

static kw_err
duplicate(kwi_mock_req *req, bool unsolicited, int64_t arg)
{
    size_t len = kw_wr_len(&req->out);
    kw_wr w;
    kw_wr_init_dyn(&w, req->m->a, 2 * len);
    uint8_t *fake = kw_wr_reserve(&w, len);
    if (fake) {
        memcpy(fake, req->out.base, len);
        if (unsolicited) {
            uint32_t corr = be32(fake + 4);
            put_be32(fake + 4, arg ? (uint32_t)arg : corr ^ 0x40000000u);
        }
    }
    /* Then the real answer: after the stray frame, or as the repeat of the same id. */
    kw_wr_raw(&w, req->out.base, len);
    kw_err e = kw_wr_finish(&w);
    if (e) {
        kw_wr_fini(&w);
        return e;
    }
    swap_out(req, &w);
    return KW_ERR_OK;
}

/* The byte offset (from the body) of the response's first array count, or -1 when the
 * response has none that precedes variable-length fields. From the response schemas. */
static int
first_array(int16_t key, int16_t ver)
{
    switch (key) {
    case 0: /* ProduceResponse: Responses first */
        return 0;
    case 1: /* FetchResponse: [ThrottleTimeMs v1+] [ErrorCode, SessionId v7+] Responses */
        return ver >= 7 ? 10 : ver >= 1 ? 4 : 0;
    case 2: /* ListOffsetsResponse: [ThrottleTimeMs v2+] Topics */
        return ver >= 2 ? 4 : 0;
    case 3: /* MetadataResponse: [ThrottleTimeMs v3+] Brokers */
        return ver >= 3 ? 4 : 0;
    case 8: /* OffsetCommitResponse: [ThrottleTimeMs v3+] Topics */
        return ver >= 3 ? 4 : 0;
    case 9: /* OffsetFetchResponse: [ThrottleTimeMs v3+] Topics (v8+: Groups) */
        return ver >= 3 ? 4 : 0;
    case 10: /* FindCoordinatorResponse v4+: ThrottleTimeMs Coordinators */
        return ver >= 4 ? 4 : -1;
    case 15: /* DescribeGroupsResponse: [ThrottleTimeMs v1+] Groups */
        return ver >= 1 ? 4 : 0;
    case 16: /* ListGroupsResponse: [ThrottleTimeMs v1+] ErrorCode Groups */
        return ver >= 1 ? 6 : 2;
    case 18: /* ApiVersionsResponse: ErrorCode ApiKeys */
        return 2;
    case 19: /* CreateTopicsResponse: [ThrottleTimeMs v2+] Topics */
        return ver >= 2 ? 4 : 0;
    case 20: /* DeleteTopicsResponse: [ThrottleTimeMs v1+] Responses */
        return ver >= 1 ? 4 : 0;
    case 21: /* DeleteRecordsResponse, */
    case 32: /* DescribeConfigsResponse, */
    case 37: /* CreatePartitionsResponse: ThrottleTimeMs, then the array */
        return 4;
    default:
        return -1;
    }
}

/* Replaces the length or count at `pos` of the frame: a classic int16/int32 (`width` 2 or 4)
 * by `classic`, or, in a flexible response, the uvarint there by `compact` (already n + 1). */
static kw_err
replace_count(kwi_mock_req *req, size_t pos, int width, uint32_t classic, uint32_t compact)
{
    size_t len = kw_wr_len(&req->out);
    if (len < pos + 1)
        return KW_ERR_STATE;
    size_t old_len = (size_t)width;
    uint8_t count[5];
    size_t n = 0;
    if (flexible(req)) {
        kw_rd rd;
        kw_rd_init(&rd, req->out.base + pos, len - pos);
        kw_rd_uvarint(&rd);
        if (kw_rd_finish(&rd))
            return KW_ERR_STATE;
        old_len = kw_rd_pos(&rd);
        do {
            count[n++] = (uint8_t)((compact & 0x7f) | (compact > 0x7f ? 0x80 : 0));
            compact >>= 7;
        } while (compact);
    } else {
        if (len < pos + (size_t)width)
            return KW_ERR_STATE;
        put_be32(count, classic);
        n = 4;
        if (width == 2) {
            count[0] = (uint8_t)(classic >> 8);
            count[1] = (uint8_t)classic;
            n = 2;
        }
    }
    kw_wr w;
    kw_wr_init_dyn(&w, req->m->a, len + 8);
    kw_wr_raw(&w, req->out.base, pos);
    kw_wr_raw(&w, count, n);
    kw_wr_raw(&w, req->out.base + pos + old_len, len - pos - old_len);
    kw_err e = kw_wr_finish(&w);
    if (e) {
        kw_wr_fini(&w);
        return e;
    }
    kw_wr_patch_i32(&w, 0, (int32_t)(kw_wr_len(&w) - 4));
    swap_out(req, &w);
    return KW_ERR_OK;
}

/* The count claims `arg` elements (0: 2147483647; compact: 4294967294); a negative arg is
 * written as is in a classic array and as null (0) in a compact one. */
static kw_err
array_count(kwi_mock_req *req, int64_t arg, bool *applied)
{
    int off = first_array(req->api->req_def->api_key, req->hdr.api_version);
    if (off < 0)
        return KW_ERR_OK;
    uint32_t classic = arg ? (uint32_t)(int32_t)arg : (uint32_t)INT32_MAX;
    uint32_t compact = arg > 0 ? (uint32_t)arg + 1u : arg < 0 ? 0u : 0xffffffffu;
    kw_err e = replace_count(req, body_start(req) + (size_t)off, 4, classic, compact);
    *applied = e == KW_ERR_OK;
    return e == KW_ERR_STATE ? KW_ERR_OK : e;
}

/* A Metadata response whose first broker's host claims `arg` bytes (0: 32767 classic,
 * 2147483647 compact), far more than the frame holds. */
static kw_err
string_length(kwi_mock_req *req, int64_t arg, bool *applied)
{
    if (req->api->req_def->api_key != 3)
        return KW_ERR_OK;
    int16_t ver = req->hdr.api_version;
    size_t pos = body_start(req) + (ver >= 3 ? 4 : 0); /* the Brokers count */
    size_t len = kw_wr_len(&req->out);
    if (flexible(req)) {
        kw_rd rd;
        kw_rd_init(&rd, req->out.base + pos, len > pos ? len - pos : 0);
        if (kw_rd_uvarint(&rd) < 2 || kw_rd_finish(&rd))
            return KW_ERR_OK; /* no broker listed */
        pos += kw_rd_pos(&rd);
    } else {
        if (len < pos + 4 || (int32_t)be32(req->out.base + pos) < 1)
            return KW_ERR_OK;
        pos += 4;
    }
    pos += 4; /* NodeId */
    uint32_t classic = arg ? (uint32_t)(arg > 32767 ? 32767 : arg) : 32767u;
    uint32_t compact = arg ? (uint32_t)arg + 1u : (uint32_t)INT32_MAX + 1u;
    kw_err e = replace_count(req, pos, 2, classic, compact);
    *applied = e == KW_ERR_OK;
    return e == KW_ERR_STATE ? KW_ERR_OK : e;
}

/* ---------------------------------------------------------------- Fetch rewrites */

/* Decodes the Fetch response frame in req->out (slices point into it). */
static kw_err
fetch_decode(kwi_mock_req *req, kw_arena *ar, kw_fetch_resp *resp)
{
    size_t start = body_start(req);
    kw_rd rd;
    kw_rd_init(&rd, req->out.base + start, kw_wr_len(&req->out) - start);
    return kw_msg_decode(&kw_msg_fetch_resp, req->hdr.api_version, &rd, ar, resp);
}

static kw_err
corrupt_crc(kwi_mock_req *req, bool *applied)
{
    kw_arena ar;
    kw_arena_init(&ar, req->m->a, 0);
    kw_fetch_resp resp;
    kw_err e = fetch_decode(req, &ar, &resp);
    for (int32_t i = 0; !e && !*applied && i < resp.n_responses; i++)
        for (int32_t j = 0; !*applied && j < resp.responses[i].n_partitions; j++) {
            kw_slice r = resp.responses[i].partitions[j].records;
            if (r.len < 61)
                continue; /* a whole batch header, CRC included */
            /* baseOffset(8) batchLength(4) partitionLeaderEpoch(4) magic(1) crc(4) */
            size_t at = (size_t)(r.ptr - req->out.base) + 17;
            req->out.base[at] ^= 0xff;
            *applied = true;
        }
    kw_arena_fini(&ar);
    return e == KW_ERR_OK || e == KW_ERR_NOMEM ? e : KW_ERR_OK;
}

/* A magic-2 batch of one record whose compressed payload `z` decompresses to the bomb. */
static kw_err
bomb_batch(kw_wr *w, int64_t base, int codec, const uint8_t *z, size_t zlen)
{
    kw_wr_i64(w, base);
    kw_wr_i32(w, (int32_t)(49 + zlen)); /* from partitionLeaderEpoch to the end */
    kw_wr_i32(w, 0);                    /* partitionLeaderEpoch */
    kw_wr_i8(w, 2);                     /* magic */
    size_t crc_at = kw_wr_len(w);
    kw_wr_u32(w, 0);
    size_t crc_from = kw_wr_len(w);
    kw_wr_i16(w, (int16_t)codec); /* attributes: the codec, CreateTime */
    kw_wr_i32(w, 0);              /* lastOffsetDelta */
    kw_wr_i64(w, 0);              /* baseTimestamp */
    kw_wr_i64(w, 0);              /* maxTimestamp */
    kw_wr_i64(w, -1);             /* producerId */
    kw_wr_i16(w, -1);             /* producerEpoch */
    kw_wr_i32(w, -1);             /* baseSequence */
    kw_wr_i32(w, 1);              /* records */
    kw_wr_raw(w, z, zlen);
    kw_err e = kw_wr_finish(w);
    if (e)
        return e;
    uint32_t crc = kwi_crc32c(0, w->base + crc_from, kw_wr_len(w) - crc_from);
    put_be32(w->base + crc_at, crc);
    return KW_ERR_OK;
}

/* The zstd frame: header with the content size, then RLE blocks of zeros. */
static kw_err
zstd_bomb(kw_wr *z)
{
    static const uint8_t hdr[] = {0x28, 0xb5, 0x2f, 0xfd, /* magic */
                                  0xc0,                   /* 8-byte content size, no checksum */
                                  0x38};                  /* window 2^17: one block */
    kw_wr_raw(z, hdr, sizeof(hdr));
    uint64_t size = (uint64_t)BOMB_BLOCK * BOMB_BLOCKS;
    for (int i = 0; i < 8; i++)
        kw_wr_i8(z, (int8_t)(size >> (8 * i)));
    for (uint32_t i = 0; i < BOMB_BLOCKS; i++) {
        uint32_t h = (i + 1 == BOMB_BLOCKS ? 1u : 0u) | (1u << 1) | (BOMB_BLOCK << 3);
        uint8_t b[4] = {(uint8_t)h, (uint8_t)(h >> 8), (uint8_t)(h >> 16), 0};
        kw_wr_raw(z, b, sizeof(b));
    }
    return kw_wr_finish(z);
}

#if KW_HAVE_ZLIB
static void
le32(kw_wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    kw_wr_raw(w, b, 4);
}

static kw_err
gzip_bomb(kw_mock *m, kw_wr *z)
{
    uint8_t *zeros = m->a->alloc(m->a->ud, GZ_SEGMENT);
    uint8_t *seg = m->a->alloc(m->a->ud, 2 * 8192);
    kw_err e = zeros && seg ? KW_ERR_OK : KW_ERR_NOMEM;
    z_stream s;
    memset(&s, 0, sizeof(s));
    if (!e && deflateInit2(&s, 9, Z_DEFLATED, -15, 9, Z_DEFAULT_STRATEGY) != Z_OK)
        e = KW_ERR_NOMEM;
    static const uint8_t gz[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff};
    kw_wr_raw(z, gz, sizeof(gz));
    /* Segment 1 starts the stream; segment 2, repeated, continues it over a zero window. */
    for (int part = 0; !e && part < 3; part++) {
        memset(zeros, 0, GZ_SEGMENT);
        s.next_in = zeros;
        s.avail_in = part < 2 ? GZ_SEGMENT : 0;
        s.next_out = seg;
        s.avail_out = 2 * 8192;
        int rc = deflate(&s, part < 2 ? Z_SYNC_FLUSH : Z_FINISH);
        if ((rc != Z_OK && rc != Z_STREAM_END) || s.avail_in != 0 || s.avail_out == 0) {
            e = KW_ERR_STATE;
            break;
        }
        size_t n = 2 * 8192 - s.avail_out;
        for (uint32_t k = 0; k < (part == 1 ? GZ_REPEAT : 1u); k++)
            kw_wr_raw(z, seg, n);
    }
    if (!e) {
        uLong one = crc32(0L, zeros, GZ_SEGMENT), crc = one;
        for (uint32_t k = 0; k < GZ_REPEAT; k++)
            crc = crc32_combine(crc, one, GZ_SEGMENT);
        le32(z, (uint32_t)crc);
        le32(z, (uint32_t)((uint64_t)GZ_SEGMENT * (GZ_REPEAT + 1))); /* ISIZE, mod 2^32 */
        e = kw_wr_finish(z);
    }
    deflateEnd(&s);
    if (zeros)
        m->a->free(m->a->ud, zeros, GZ_SEGMENT);
    if (seg)
        m->a->free(m->a->ud, seg, 2 * 8192);
    return e;
}
#endif

/* The fetch offset the request asked for in the response's topic/partition. */
static int64_t
fetch_offset(const kwi_mock_req *req, const kw_fetch_resp_topic *t, int32_t partition)
{
    const kw_fetch_req *r = req->msg;
    for (int32_t i = 0; i < r->n_topics; i++) {
        const kw_fetch_req_topic *rt = &r->topics[i];
        bool same = req->hdr.api_version >= 13
                        ? memcmp(&rt->topic_id, &t->topic_id, sizeof(kw_uuid)) == 0
                        : rt->topic.len == t->topic.len &&
                              (t->topic.len <= 0 ||
                               memcmp(rt->topic.ptr, t->topic.ptr, (size_t)t->topic.len) == 0);
        for (int32_t j = 0; same && j < rt->n_partitions; j++)
            if (rt->partitions[j].partition == partition)
                return rt->partitions[j].fetch_offset;
    }
    return 0;
}

static kw_err
bomb(kwi_mock_req *req, int64_t arg, bool *applied)
{
    int codec = arg == KW_CODEC_GZIP ? KW_CODEC_GZIP : KW_CODEC_ZSTD;
    kw_arena ar;
    kw_arena_init(&ar, req->m->a, 0);
    kw_fetch_resp resp;
    kw_wr z, batch, w;
    kw_wr_init_dyn(&z, req->m->a, 4u << 20);
    kw_wr_init_dyn(&batch, req->m->a, 4u << 20);
    kw_wr_init_dyn(&w, req->m->a, (size_t)INT32_MAX);
    kw_err e = fetch_decode(req, &ar, &resp);
    kw_fetch_resp_partition *p = NULL;
    kw_fetch_resp_topic *t = NULL;
    for (int32_t i = 0; !e && !p && i < resp.n_responses; i++)
        for (int32_t j = 0; !p && j < resp.responses[i].n_partitions; j++)
            if (resp.responses[i].partitions[j].error_code == 0) {
                t = &resp.responses[i];
                p = &t->partitions[j];
            }
    if (p) {
#if KW_HAVE_ZLIB
        e = codec == KW_CODEC_GZIP ? gzip_bomb(req->m, &z) : zstd_bomb(&z);
#else
        e = zstd_bomb(&z);
#endif
        int64_t base = fetch_offset(req, t, p->partition_index);
        if (!e)
            e = bomb_batch(&batch, base, codec, z.base, kw_wr_len(&z));
        if (!e) {
            p->records = (kw_slice){batch.base, (int32_t)kw_wr_len(&batch)};
            if (p->high_watermark < base + 1)
                p->high_watermark = base + 1;
            if (p->last_stable_offset >= 0 && p->last_stable_offset < base + 1)
                p->last_stable_offset = base + 1;
            /* The header bytes as they were, then the body with the bomb in it. */
            kw_wr_raw(&w, req->out.base, body_start(req));
            e = kw_msg_encode(&kw_msg_fetch_resp, req->hdr.api_version, &w, &resp);
        }
        if (!e) {
            kw_wr_patch_i32(&w, 0, (int32_t)(kw_wr_len(&w) - 4));
            swap_out(req, &w);
            *applied = true;
        }
    }
    if (!*applied)
        kw_wr_fini(&w);
    kw_wr_fini(&z);
    kw_wr_fini(&batch);
    kw_arena_fini(&ar);
    return e == KW_ERR_NOMEM ? e : KW_ERR_OK;
}

/* ---------------------------------------------------------------- entry */

kw_err
kwi_mock_hostile_apply(kwi_mock_req *req, int kind, int64_t arg, bool *applied)
{
    *applied = false;
    size_t len = kw_wr_len(&req->out);
    if (len < 8)
        return KW_ERR_OK;
    switch (kind) {
    case KW_MOCK_HOSTILE_LENGTH:
        put_be32(req->out.base, arg ? (uint32_t)(int32_t)arg : (uint32_t)INT32_MAX);
        *applied = true;
        return KW_ERR_OK;
    case KW_MOCK_HOSTILE_CORRELATION: {
        uint32_t corr = be32(req->out.base + 4);
        put_be32(req->out.base + 4, arg ? (uint32_t)(int32_t)arg : corr ^ 0x40000000u);
        *applied = true;
        return KW_ERR_OK;
    }
    case KW_MOCK_HOSTILE_DUPLICATE:
    case KW_MOCK_HOSTILE_UNSOLICITED: {
        kw_err e = duplicate(req, kind == KW_MOCK_HOSTILE_UNSOLICITED, arg);
        *applied = e == KW_ERR_OK;
        return e;
    }
    case KW_MOCK_HOSTILE_TRUNCATE: {
        size_t keep = arg ? (size_t)arg : 4 + (len - 4) / 2;
        if (keep >= len)
            keep = len - 1;
        req->out.p = req->out.base + keep;
        req->close_after = true;
        *applied = true;
        return KW_ERR_OK;
    }
    case KW_MOCK_HOSTILE_ARRAY:
        return array_count(req, arg, applied);
    case KW_MOCK_HOSTILE_STRING:
        return string_length(req, arg, applied);
    case KW_MOCK_HOSTILE_CRC:
        return req->api->req_def->api_key == 1 ? corrupt_crc(req, applied) : KW_ERR_OK;
    case KW_MOCK_HOSTILE_BOMB:
        return req->api->req_def->api_key == 1 ? bomb(req, arg, applied) : KW_ERR_OK;
    default:
        return KW_ERR_OK;
    }
}
