/* KW_MUT_RECORDS: mutations inside record batches (the `records` field of Produce requests and
 * Fetch responses). Each targets one check a receiver must make: the record count against the
 * records present, varint lengths against the bytes, codec bits, the batch length, and the
 * CRC — recomputed after a change (so the receiver gets past the checksum to the broken part)
 * or deliberately wrong. */
#include <string.h>

#include "kwire/records.h"
#include "mut_int.h"

/* v2 batch header offsets (../shared/kafka-protocol/README.md §5). */
enum {
    OFF_LENGTH = 8,
    OFF_EPOCH = 12,
    OFF_MAGIC = 16,
    OFF_CRC = 17,
    OFF_ATTR = 21,
    OFF_LAST_DELTA = 23,
    OFF_MAX_TS = 35,
    OFF_PID = 43,
    OFF_PEPOCH = 51,
    OFF_BASE_SEQ = 53,
    OFF_COUNT = 57,
    V2_HEADER = 61,
    LEGACY_MIN = 8 + 4 + 4 + 1 + 1, /* offset, size, crc, magic, attributes */
    MAX_BATCHES = 64,
    GROWTH = 64 /* room for longer varints and header tweaks */
};

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* Bitwise CRCs: the inputs are small, and kwire's table versions are internal to libkwire. */
static uint32_t
crc_reflected(const uint8_t *p, size_t n, uint32_t poly)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (poly & (0u - (c & 1u)));
    }
    return ~c;
}

/* The CRC of a batch over what it covers: CRC-32C from the attributes (v2), CRC-32 from the
 * magic byte (legacy). */
static void
fix_crc(uint8_t *b, size_t blen)
{
    if (b[OFF_MAGIC] == 2 && blen >= V2_HEADER)
        put_be(b + OFF_CRC, crc_reflected(b + OFF_ATTR, blen - OFF_ATTR, 0x82f63b78u), 4);
    else if (blen >= LEGACY_MIN)
        put_be(b + 12, crc_reflected(b + 16, blen - 16, 0xedb88320u), 4);
}

/* The batches that fit, by the length each claims. */
static int
find_batches(const uint8_t *p, size_t len, size_t *pos, size_t *size)
{
    int n = 0;
    size_t at = 0;
    while (n < MAX_BATCHES && len - at >= LEGACY_MIN) {
        uint32_t l = be32(p + at + OFF_LENGTH);
        if (l > INT32_MAX || (size_t)l > len - at - 12)
            break;
        pos[n] = at;
        size[n] = 12 + (size_t)l;
        n++;
        at += 12 + (size_t)l;
    }
    return n;
}

/* A value at or next to a boundary, for a header field of `bytes` width. */
static int64_t
boundary(kwm_ctx *c, int64_t v, int bytes)
{
    int64_t max = bytes == 8 ? INT64_MAX : bytes == 4 ? INT32_MAX : INT16_MAX;
    int64_t r;
    switch (kwm_below(&c->rng, 7)) {
    case 0:
        r = 0;
        break;
    case 1:
        r = -1;
        break;
    case 2:
        r = max;
        break;
    case 3:
        r = -max - 1;
        break;
    case 4:
        r = v == max ? -max - 1 : v + 1;
        break;
    case 5:
        r = v == -max - 1 ? max : v - 1;
        break;
    default:
        r = -2;
        break;
    }
    /* Always a change, so every mutation is visible in the bytes. */
    return r != v ? r : v == max ? v - 1 : v + 1;
}

/* ---------------------------------------------------------------- varints inside a record */

typedef struct vpos {
    size_t at; /* offset of the varint in the batch */
    const char *what;
} vpos;

/* Where the varints of the first record are (uncompressed batches only). */
static int
record_varints(const uint8_t *b, size_t blen, vpos *out)
{
    kw_rd r;
    kw_rd_init(&r, b + V2_HEADER, blen - V2_HEADER);
    int n = 0;
    out[n++] = (vpos){V2_HEADER, "record length"};
    kw_rd_varint(&r);
    kw_rd_i8(&r);
    kw_rd_varlong(&r);
    kw_rd_varint(&r);
    size_t k = V2_HEADER + kw_rd_pos(&r);
    int32_t klen = kw_rd_varint(&r);
    if (r.err)
        return n;
    out[n++] = (vpos){k, "key length"};
    if (klen > 0)
        kw_rd_raw(&r, (size_t)klen);
    size_t v = V2_HEADER + kw_rd_pos(&r);
    int32_t vlen = kw_rd_varint(&r);
    if (r.err)
        return n;
    out[n++] = (vpos){v, "value length"};
    if (vlen > 0)
        kw_rd_raw(&r, (size_t)vlen);
    size_t h = V2_HEADER + kw_rd_pos(&r);
    kw_rd_varint(&r);
    if (!r.err)
        out[n++] = (vpos){h, "header count"};
    return n;
}

/* Rewrites one varint of the batch at b (of *blen bytes, with GROWTH bytes of room after the
 * whole buffer's *total), moving what follows; keeps the batch length field right. */
static bool
mut_varint(kwm_ctx *c, uint8_t *b, size_t *blen, size_t tail_after, size_t *total)
{
    vpos at[4];
    int n = record_varints(b, *blen, at);
    const vpos *v = &at[kwm_below(&c->rng, (uint32_t)n)];
    kw_rd r;
    kw_rd_init(&r, b + v->at, *blen - v->at);
    int32_t old = kw_rd_varint(&r);
    if (r.err)
        return false;
    size_t old_sz = kw_rd_pos(&r);
    uint8_t enc[8];
    size_t new_sz;
    int64_t nv = boundary(c, old, 4);
    if (kwm_below(&c->rng, 5) == 0) {
        /* The same value in an overlong form: one more byte than needed. */
        kw_wr w;
        kw_wr_init_fixed(&w, enc, sizeof(enc));
        kw_wr_varint(&w, old);
        new_sz = kw_wr_len(&w);
        enc[new_sz - 1] |= 0x80;
        enc[new_sz++] = 0;
        nv = old;
    } else {
        kw_wr w;
        kw_wr_init_fixed(&w, enc, sizeof(enc));
        kw_wr_varint(&w, (int32_t)nv);
        new_sz = kw_wr_len(&w);
    }
    if (new_sz > old_sz + GROWTH / 2)
        return false;
    memmove(b + v->at + new_sz, b + v->at + old_sz, *blen - v->at - old_sz + tail_after);
    memcpy(b + v->at, enc, new_sz);
    *blen = *blen + new_sz - old_sz;
    *total = *total + new_sz - old_sz;
    put_be(b + OFF_LENGTH, *blen - 12, 4);
    kwm_note(c, KW_MUT_RECORDS, "%s %d -> %lld%s", v->what, old, (long long)nv,
             new_sz == old_sz + 1 && nv == old ? " (overlong)" : "");
    return true;
}

/* ---------------------------------------------------------------- one v2 batch */

static void
mut_header_field(kwm_ctx *c, uint8_t *b)
{
    static const struct {
        int off, bytes;
        const char *name;
    } f[] = {
        {0, 8, "base offset"},
        {OFF_EPOCH, 4, "leader epoch"},
        {OFF_LAST_DELTA, 4, "last offset delta"},
        {OFF_MAX_TS, 8, "max timestamp"},
        {OFF_PID, 8, "producer id"},
        {OFF_PEPOCH, 2, "producer epoch"},
        {OFF_BASE_SEQ, 4, "base sequence"},
    };
    uint32_t k = kwm_below(&c->rng, sizeof(f) / sizeof(f[0]));
    uint64_t old = 0;
    for (int i = 0; i < f[k].bytes; i++)
        old = old << 8 | b[f[k].off + i];
    int64_t sold = f[k].bytes == 8   ? (int64_t)old
                   : f[k].bytes == 4 ? (int32_t)(uint32_t)old
                                     : (int16_t)(uint16_t)old;
    int64_t v = boundary(c, sold, f[k].bytes);
    put_be(b + f[k].off, (uint64_t)v, f[k].bytes);
    kwm_note(c, KW_MUT_RECORDS, "%s %lld -> %lld", f[k].name, (long long)sold, (long long)v);
}

static bool
mut_v2(kwm_ctx *c, uint8_t *b, size_t *blen, size_t tail_after, size_t *total)
{
    int codec = b[OFF_ATTR + 1] & KW_BATCH_ATTR_CODEC_MASK;
    uint32_t op = kwm_below(&c->rng, 9);
    if (op == 4 && (codec != 0 || *blen <= V2_HEADER))
        op = 0;
    bool crc_ok = true;
    switch (op) {
    case 0: {
        int32_t old = (int32_t)be32(b + OFF_COUNT);
        int64_t v = boundary(c, old, 4);
        put_be(b + OFF_COUNT, (uint64_t)v, 4);
        kwm_note(c, KW_MUT_RECORDS, "record count %d -> %lld", old, (long long)v);
        break;
    }
    case 1: {
        int nc = (codec + 1 + (int)kwm_below(&c->rng, 7)) & 7;
        b[OFF_ATTR + 1] = (uint8_t)((b[OFF_ATTR + 1] & ~7) | nc);
        kwm_note(c, KW_MUT_RECORDS, "codec bits %d -> %d", codec, nc);
        break;
    }
    case 2:
        b[OFF_CRC + kwm_below(&c->rng, 4)] ^= (uint8_t)(1u << kwm_below(&c->rng, 8));
        kwm_note(c, KW_MUT_RECORDS, "crc wrong");
        crc_ok = false;
        break;
    case 3: {
        static const int64_t lens[] = {-1, 0, 48, INT32_MAX};
        int64_t old = (int64_t)(*blen - 12);
        int64_t v = kwm_below(&c->rng, 2) ? old + (kwm_below(&c->rng, 2) ? 1 : -1)
                                          : lens[kwm_below(&c->rng, 4)];
        put_be(b + OFF_LENGTH, (uint64_t)v, 4);
        kwm_note(c, KW_MUT_RECORDS, "batch length %lld -> %lld", (long long)old, (long long)v);
        break;
    }
    case 4:
        if (!mut_varint(c, b, blen, tail_after, total))
            return false;
        break;
    case 5:
        mut_header_field(c, b);
        break;
    case 6: {
        static const uint8_t magics[] = {0, 1, 3, 0xff};
        uint8_t m = magics[kwm_below(&c->rng, 4)];
        b[OFF_MAGIC] = m;
        kwm_note(c, KW_MUT_RECORDS, "magic 2 -> %d", (int8_t)m);
        crc_ok = false; /* a legacy CRC would cover other bytes; leave the v2 one */
        break;
    }
    case 7: {
        if (*blen <= V2_HEADER)
            return false;
        size_t at = V2_HEADER + kwm_below(&c->rng, (uint32_t)(*blen - V2_HEADER));
        b[at] ^= (uint8_t)(1 + kwm_below(&c->rng, 255));
        kwm_note(c, KW_MUT_RECORDS, "records byte %zu changed, crc recomputed", at);
        break;
    }
    default: {
        static const uint8_t flags[] = {KW_BATCH_ATTR_TRANSACTIONAL, KW_BATCH_ATTR_CONTROL,
                                        KW_BATCH_ATTR_LOG_APPEND_TIME,
                                        KW_BATCH_ATTR_DELETE_HORIZON};
        uint8_t fl = flags[kwm_below(&c->rng, 4)];
        b[OFF_ATTR + 1] ^= fl;
        kwm_note(c, KW_MUT_RECORDS, "attribute bit 0x%02x flipped", fl);
        break;
    }
    }
    if (crc_ok)
        fix_crc(b, *blen);
    return true;
}

/* ---------------------------------------------------------------- one legacy entry */

static bool
mut_legacy(kwm_ctx *c, uint8_t *b, size_t blen)
{
    switch (kwm_below(&c->rng, 4)) {
    case 0: {
        int nc = (b[17] + 1 + (int)kwm_below(&c->rng, 7)) & 7;
        b[17] = (uint8_t)((b[17] & ~7) | nc);
        kwm_note(c, KW_MUT_RECORDS, "legacy codec bits -> %d", nc);
        fix_crc(b, blen);
        return true;
    }
    case 1:
        b[12 + kwm_below(&c->rng, 4)] ^= 0x10;
        kwm_note(c, KW_MUT_RECORDS, "legacy crc wrong");
        return true;
    case 2: {
        int64_t v = boundary(c, (int64_t)(blen - 12), 4);
        put_be(b + OFF_LENGTH, (uint64_t)v, 4);
        kwm_note(c, KW_MUT_RECORDS, "legacy size -> %lld", (long long)v);
        return true;
    }
    default:
        b[16] = (uint8_t)(b[16] == 0 ? 1 : 0); /* magic 0 <-> 1: the timestamp appears/vanishes */
        fix_crc(b, blen);
        kwm_note(c, KW_MUT_RECORDS, "legacy magic -> %d", b[16]);
        return true;
    }
}

bool
kwm_records_mutate(kwm_ctx *c, kw_slice *recs)
{
    if (!recs->ptr || recs->len <= 0)
        return false;
    size_t total = (size_t)recs->len;
    uint8_t *buf = kw_arena_alloc(c->ar, total + GROWTH);
    if (!buf)
        return false;
    memcpy(buf, recs->ptr, total);
    size_t pos[MAX_BATCHES], size[MAX_BATCHES];
    int n = find_batches(buf, total, pos, size);
    if (n == 0)
        return false;
    int i = (int)kwm_below(&c->rng, (uint32_t)n);
    uint8_t *b = buf + pos[i];
    size_t blen = size[i];
    bool ok;
    if (b[OFF_MAGIC] == 2 && blen >= V2_HEADER)
        ok = mut_v2(c, b, &blen, total - pos[i] - size[i], &total);
    else if (b[OFF_MAGIC] <= 1)
        ok = mut_legacy(c, b, blen);
    else
        ok = false;
    if (!ok)
        return false;
    recs->ptr = buf;
    recs->len = (int32_t)total;
    return true;
}

bool
kwm_records_make(kwm_ctx *c, kw_slice *out)
{
    kw_wr w;
    kw_wr_init_dyn(&w, c->o->alloc, 4096);
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    kw_batch_builder bb;
    kw_batch_builder_init(&bb, &w, &o);
    uint32_t n = 1 + kwm_below(&c->rng, 3);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t kv[8];
        for (size_t k = 0; k < sizeof(kv); k++)
            kv[k] = (uint8_t)('a' + kwm_below(&c->rng, 26));
        kw_header h = {{kv, 2}, {kv + 2, 3}};
        kw_batch_builder_add(&bb, 1700000000000 + i, (kw_slice){kv, 4}, (kw_slice){kv + 4, 4}, &h,
                             (int32_t)kwm_below(&c->rng, 2));
    }
    bool ok = kw_batch_builder_finish(&bb, NULL) == KW_ERR_OK;
    uint8_t *copy = ok ? kw_arena_alloc(c->ar, kw_wr_len(&w)) : NULL;
    if (copy) {
        memcpy(copy, w.base, kw_wr_len(&w));
        *out = (kw_slice){copy, (int32_t)kw_wr_len(&w)};
        kwm_note(c, KW_MUT_RECORDS, "new batch of %u records", n);
    }
    kw_wr_fini(&w);
    return copy != NULL;
}
