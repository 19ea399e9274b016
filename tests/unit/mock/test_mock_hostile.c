/* kwire-mock's hostile responses, checked byte by byte against the honest response to the same
 * request: an absurd size prefix, a wrong correlation id, a repeated one, a response to a
 * request never sent, a truncated frame and the close after it, an oversized array count
 * (classic and compact), a corrupt record-batch CRC, zstd and gzip decompression bombs
 * (decompressed here to count their size, and refused by kwire's own record reader), and a
 * broker that reads requests and never answers. */
#include "fault_util.h"
#include "kw_config.h"
#include "kwire/codec.h"

#if KW_HAVE_ZLIB
#include <zlib.h>
#endif
#if KW_HAVE_ZSTD
#include <zstd.h>
#endif

/* The whole frame (size prefix included) answering an ApiVersions request of version `ver`. */
static uint8_t *
frame_of(mc *c, int16_t ver, size_t *len, int32_t *corr)
{
    *corr = fu_send_api_versions(c, ver);
    size_t n;
    uint8_t *body = mc_recv_frame(c, MC_WAIT_MS, &n);
    ck_assert_ptr_nonnull(body);
    uint8_t *f = malloc(n + 4);
    ck_assert_ptr_nonnull(f);
    f[0] = (uint8_t)(n >> 24);
    f[1] = (uint8_t)(n >> 16);
    f[2] = (uint8_t)(n >> 8);
    f[3] = (uint8_t)n;
    memcpy(f + 4, body, n);
    free(body);
    *len = n + 4;
    return f;
}

static void
set_corr(uint8_t *frame, int32_t corr)
{
    frame[4] = (uint8_t)((uint32_t)corr >> 24);
    frame[5] = (uint8_t)((uint32_t)corr >> 16);
    frame[6] = (uint8_t)((uint32_t)corr >> 8);
    frame[7] = (uint8_t)corr;
}

/* One exchange with a hostile answer: the honest answer to the same request (ref, with the
 * new correlation id) and the first `want` raw bytes that arrived instead (fewer at EOF). */
typedef struct exchange {
    uint8_t ref[4096], got[8192];
    size_t ref_len, got_len;
    int32_t corr;
    bool eof;
} exchange;

/* Step 1: the honest reference, from an ordinary exchange. */
static void
reference(mc *c, int16_t ver, exchange *x)
{
    size_t len;
    int32_t corr;
    uint8_t *ref = frame_of(c, ver, &len, &corr);
    ck_assert_uint_le(len, sizeof(x->ref));
    memcpy(x->ref, ref, len);
    free(ref);
    x->ref_len = len;
}

/* Step 2: arm `kind`, ask again, read `want` bytes (or up to EOF). */
static void
hostile_read(kw_mock *m, mc *c, kw_mock_hostile kind, int64_t arg, int16_t ver, size_t want,
             exchange *x)
{
    ck_assert_int_eq(kw_mock_fault_hostile(m, 1, kind, -1, arg), KW_ERR_OK);
    x->corr = fu_send_api_versions(c, ver);
    set_corr(x->ref, x->corr);
    ck_assert_uint_le(want, sizeof(x->got));
    x->got_len = fu_read(c, x->got, want, MC_WAIT_MS, &x->eof);
}

/* Both steps, when the hostile answer's length is a multiple of the honest one's. */
static void
hostile_exchange(kw_mock *m, mc *c, kw_mock_hostile kind, int64_t arg, int16_t ver, size_t copies,
                 exchange *x)
{
    reference(c, ver, x);
    hostile_read(m, c, kind, arg, ver, copies ? copies * x->ref_len : sizeof(x->got), x);
}

START_TEST(test_absurd_length)
{
    kw_mock *m = fu_mock(1, NULL);
    mc *c = mc_connect(m, 1, false);
    exchange x;
    hostile_exchange(m, c, KW_MOCK_HOSTILE_LENGTH, 0, 3, 1, &x);
    /* The size says 2 GiB - 1; the body is the honest one; the connection stays open. */
    ck_assert_uint_eq(x.got_len, x.ref_len);
    ck_assert_uint_eq(fu_be32(x.got), 0x7fffffffu);
    ck_assert_mem_eq(x.got + 4, x.ref + 4, x.ref_len - 4);
    ck_assert(mc_quiet(c, 200)); /* nothing more, and no close */
    /* A negative size, on request. */
    hostile_exchange(m, c, KW_MOCK_HOSTILE_LENGTH, -2, 0, 1, &x);
    ck_assert_uint_eq(fu_be32(x.got), 0xfffffffeu);
    ck_assert_mem_eq(x.got + 4, x.ref + 4, x.ref_len - 4);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_wrong_and_repeated_correlation)
{
    kw_mock *m = fu_mock(1, NULL);
    mc *c = mc_connect(m, 1, false);
    exchange x;
    hostile_exchange(m, c, KW_MOCK_HOSTILE_CORRELATION, 0, 3, 1, &x);
    ck_assert_uint_eq(x.got_len, x.ref_len);
    ck_assert_uint_eq(fu_be32(x.got + 4), (uint32_t)x.corr ^ 0x40000000u);
    ck_assert_mem_eq(x.got + 8, x.ref + 8, x.ref_len - 8);
    hostile_exchange(m, c, KW_MOCK_HOSTILE_CORRELATION, 7, 1, 1, &x);
    ck_assert_uint_eq(fu_be32(x.got + 4), 7);
    /* Repeated: the same frame twice. */
    hostile_exchange(m, c, KW_MOCK_HOSTILE_DUPLICATE, 0, 3, 2, &x);
    ck_assert_uint_eq(x.got_len, 2 * x.ref_len);
    ck_assert_mem_eq(x.got, x.ref, x.ref_len);
    ck_assert_mem_eq(x.got + x.ref_len, x.ref, x.ref_len);
    /* Unsolicited: first a frame answering a correlation id never sent, then the real one. */
    hostile_exchange(m, c, KW_MOCK_HOSTILE_UNSOLICITED, 0, 2, 2, &x);
    ck_assert_uint_eq(x.got_len, 2 * x.ref_len);
    ck_assert_uint_eq(fu_be32(x.got + 4), (uint32_t)x.corr ^ 0x40000000u);
    ck_assert_mem_eq(x.got + 8, x.ref + 8, x.ref_len - 8);
    ck_assert_mem_eq(x.got + x.ref_len, x.ref, x.ref_len);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_truncated_then_closed)
{
    kw_mock *m = fu_mock(1, NULL);
    mc *c = mc_connect(m, 1, false);
    exchange x;
    hostile_exchange(m, c, KW_MOCK_HOSTILE_TRUNCATE, 0, 3, 0, &x);
    /* Half the body after an intact size prefix, then EOF. */
    ck_assert_uint_eq(x.got_len, 4 + (x.ref_len - 4) / 2);
    ck_assert_mem_eq(x.got, x.ref, x.got_len);
    ck_assert(x.eof);
    mc_close(c);
    c = mc_connect(m, 1, false);
    hostile_exchange(m, c, KW_MOCK_HOSTILE_TRUNCATE, 3, 0, 0, &x);
    ck_assert_uint_eq(x.got_len, 3); /* inside the size prefix */
    ck_assert(x.eof);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_oversized_array_count)
{
    kw_mock *m = fu_mock(1, NULL);
    mc *c = mc_connect(m, 1, false);
    exchange x;
    /* ApiVersions v0: ErrorCode, then the classic int32 count of ApiKeys. */
    hostile_exchange(m, c, KW_MOCK_HOSTILE_ARRAY, 0, 0, 1, &x);
    ck_assert_uint_eq(x.got_len, x.ref_len);
    ck_assert_mem_eq(x.got, x.ref, 10);
    ck_assert_uint_eq(fu_be32(x.got + 10), 0x7fffffffu);
    ck_assert_mem_eq(x.got + 14, x.ref + 14, x.ref_len - 14);
    /* v3 is flexible: the compact count becomes uvarint 0xffffffff (5 bytes). */
    reference(c, 3, &x);
    size_t old = 1;
    while (x.ref[10 + old - 1] & 0x80)
        old++;
    hostile_read(m, c, KW_MOCK_HOSTILE_ARRAY, 0, 3, x.ref_len - old + 5, &x);
    ck_assert_uint_eq(x.got_len, x.ref_len - old + 5);
    ck_assert_uint_eq(fu_be32(x.got), (uint32_t)(x.got_len - 4));
    ck_assert_mem_eq(x.got + 4, x.ref + 4, 6);
    static const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    ck_assert_mem_eq(x.got + 10, big, 5);
    ck_assert_mem_eq(x.got + 15, x.ref + 10 + old, x.ref_len - 10 - old);
    /* Restricted to Metadata: ApiVersions passes untouched, the Metadata brokers count not. */
    ck_assert_int_eq(kw_mock_fault_hostile(m, 1, KW_MOCK_HOSTILE_ARRAY, 3, 5), KW_ERR_OK);
    size_t len;
    int32_t corr;
    uint8_t *f = frame_of(c, 3, &len, &corr);
    free(f);
    kw_metadata_req rq;
    kw_metadata_req_topic t;
    fu_send_metadata(c, 8, NULL, &t, &rq);
    bool eof;
    uint8_t buf[4096];
    size_t got = fu_read(c, buf, 12, MC_WAIT_MS, &eof);
    ck_assert_uint_eq(got, 12);
    ck_assert_uint_eq(fu_be32(buf + 8), 0); /* throttle */
    size_t rest = fu_be32(buf) + 4 - 12;
    got = fu_read(c, buf, rest, MC_WAIT_MS, &eof);
    ck_assert_uint_eq(got, rest);
    ck_assert_uint_eq(fu_be32(buf), 5); /* claims 5 brokers; there is 1 */
    /* Negative: as is in a classic array, null (0) in a compact one. */
    hostile_exchange(m, c, KW_MOCK_HOSTILE_ARRAY, -2, 1, 1, &x);
    ck_assert_uint_eq(fu_be32(x.got + 10), 0xfffffffeu);
    reference(c, 4, &x);
    old = 1;
    while (x.ref[10 + old - 1] & 0x80)
        old++;
    hostile_read(m, c, KW_MOCK_HOSTILE_ARRAY, -1, 4, x.ref_len - old + 1, &x);
    ck_assert_uint_eq(x.got[10], 0);
    ck_assert_mem_eq(x.got + 11, x.ref + 10 + old, x.ref_len - 10 - old);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* Metadata's first broker host claims far more bytes than the frame holds. */
START_TEST(test_string_longer_than_frame)
{
    kw_mock *m = fu_mock(1, NULL);
    mc *c = mc_connect(m, 1, false);
    kw_metadata_req rq;
    kw_metadata_req_topic t;
    bool eof;
    uint8_t buf[4096];
    /* v8, classic: size, correlation, throttle, brokers count, node id, host length (int16). */
    ck_assert_int_eq(kw_mock_fault_hostile(m, 1, KW_MOCK_HOSTILE_STRING, -1, 0), KW_ERR_OK);
    fu_send_metadata(c, 8, NULL, &t, &rq);
    ck_assert_uint_eq(fu_read(c, buf, 22, MC_WAIT_MS, &eof), 22);
    ck_assert_uint_eq(fu_be32(buf + 12), 1);
    ck_assert_uint_eq(fu_be32(buf + 16), 1);
    ck_assert_uint_eq((uint32_t)(buf[20] << 8 | buf[21]), 0x7fff);
    uint32_t rest = fu_be32(buf) + 4 - 22;
    ck_assert_uint_eq(fu_read(c, buf, rest, MC_WAIT_MS, &eof), rest);
    ck_assert(memcmp(buf, "127.0.0.1", 9) == 0); /* the host bytes follow as before */
    /* v12, flexible: header tag byte, throttle, compact count, node id, then a 5-byte uvarint. */
    ck_assert_int_eq(kw_mock_fault_hostile(m, 1, KW_MOCK_HOSTILE_STRING, -1, 0), KW_ERR_OK);
    fu_send_metadata(c, 12, NULL, &t, &rq);
    ck_assert_uint_eq(fu_read(c, buf, 23, MC_WAIT_MS, &eof), 23);
    ck_assert_uint_eq(buf[13], 2); /* one broker */
    static const uint8_t big[] = {0x80, 0x80, 0x80, 0x80, 0x08};
    ck_assert_mem_eq(buf + 18, big, 5);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- Fetch */

typedef struct fetch_one {
    kw_fetch_req rq;
    kw_fetch_req_topic t;
    kw_fetch_req_partition p;
} fetch_one;

static void
fetch_init(fetch_one *fo, const char *topic, int64_t offset)
{
    memset(fo, 0, sizeof(*fo));
    fo->p.current_leader_epoch = -1;
    fo->p.fetch_offset = offset;
    fo->p.last_fetched_epoch = -1;
    fo->p.log_start_offset = -1;
    fo->p.partition_max_bytes = 4 << 20;
    fo->p.high_watermark = INT64_MAX;
    fo->t.topic = kw_slice_str(topic);
    fo->t.partitions = &fo->p;
    fo->t.n_partitions = 1;
    fo->rq.cluster_id = KW_SLICE_NULL;
    fo->rq.replica_id = -1;
    fo->rq.replica_state.replica_id = -1;
    fo->rq.replica_state.replica_epoch = -1;
    fo->rq.max_wait_ms = 0;
    fo->rq.min_bytes = 1;
    fo->rq.max_bytes = 50 << 20;
    fo->rq.session_epoch = -1;
    fo->rq.topics = &fo->t;
    fo->rq.n_topics = 1;
}

static kw_fetch_resp_partition
fetch(mc *c, fetch_one *fo, kw_arena *ar, uint8_t **f)
{
    kw_fetch_resp r;
    mc_call(c, &kw_msg_fetch_req, &kw_msg_fetch_resp, 12, &fo->rq, ar, &r, f);
    ck_assert_int_eq(r.n_responses, 1);
    ck_assert_int_eq(r.responses[0].n_partitions, 1);
    return r.responses[0].partitions[0];
}

START_TEST(test_corrupt_crc)
{
    kw_mock *m = fu_mock(1, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_fault_hostile(m, 1, KW_MOCK_HOSTILE_CRC, -1, 0), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    fetch_one fo;
    fetch_init(&fo, "t", 0);
    uint8_t *f;
    /* No records yet: the fault waits for a Fetch that carries a batch. */
    kw_fetch_resp_partition p = fetch(c, &fo, &ar, &f);
    ck_assert_int_eq(p.records.len, 0);
    free(f);
    ck_assert_int_eq(
        kw_mock_append_record(m, "t", 0, kw_slice_str("k"), kw_slice_str("v"), 1, NULL, NULL),
        KW_ERR_OK);
    p = fetch(c, &fo, &ar, &f);
    kw_batch_iter it;
    kw_batch b;
    kw_batch_iter_init(&it, p.records);
    ck_assert(!kw_batch_iter_next(&it, &b));
    ck_assert_int_eq(kw_batch_iter_err(&it), KW_ERR_CRC);
    free(f);
    /* One-shot: the next Fetch is honest. */
    p = fetch(c, &fo, &ar, &f);
    kw_batch_iter_init(&it, p.records);
    ck_assert(kw_batch_iter_next(&it, &b));
    ck_assert_int_eq(b.record_count, 1);
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* The size a zstd frame decompresses to: libzstd's streaming decoder when built in, else a
 * walk of the frame's blocks (RFC 8878 section 3.1.1), which this frame made of RLE blocks
 * allows. */
static uint64_t
zstd_size(kw_slice z)
{
#if KW_HAVE_ZSTD
    ZSTD_DStream *d = ZSTD_createDStream();
    ck_assert_ptr_nonnull(d);
    ZSTD_initDStream(d);
    static uint8_t out[1 << 17];
    ZSTD_inBuffer in = {z.ptr, (size_t)z.len, 0};
    uint64_t total = 0;
    size_t rc = 1;
    while (rc != 0) {
        ZSTD_outBuffer o = {out, sizeof(out), 0};
        rc = ZSTD_decompressStream(d, &o, &in);
        ck_assert_msg(!ZSTD_isError(rc), "%s", ZSTD_getErrorName(rc));
        total += o.pos;
        if (o.pos == 0 && in.pos == in.size && rc != 0)
            break;
    }
    ck_assert_uint_eq(rc, 0);
    ZSTD_freeDStream(d);
    return total;
#else
    static const uint8_t magic[] = {0x28, 0xb5, 0x2f, 0xfd};
    ck_assert_int_ge(z.len, 14);
    ck_assert_mem_eq(z.ptr, magic, 4);
    ck_assert_uint_eq(z.ptr[4], 0xc0); /* 8-byte content size, not single-segment */
    uint64_t fcs = 0;
    for (int i = 0; i < 8; i++)
        fcs |= (uint64_t)z.ptr[6 + i] << (8 * i);
    uint64_t total = 0;
    size_t at = 14;
    for (bool last = false; !last;) {
        ck_assert_uint_le(at + 4, (size_t)z.len);
        uint32_t h = z.ptr[at] | (uint32_t)z.ptr[at + 1] << 8 | (uint32_t)z.ptr[at + 2] << 16;
        last = h & 1;
        ck_assert_uint_eq((h >> 1) & 3, 1); /* RLE */
        total += h >> 3;
        at += 4;
    }
    ck_assert_uint_eq(at, (size_t)z.len);
    ck_assert_uint_eq(total, fcs);
    return total;
#endif
}

#if KW_HAVE_ZLIB
static uint64_t
gzip_size(kw_slice g)
{
    z_stream s;
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(inflateInit2(&s, 16 + 15), Z_OK);
    static uint8_t out[1 << 17];
    s.next_in = (uint8_t *)g.ptr;
    s.avail_in = (uInt)g.len;
    uint64_t total = 0;
    int rc = Z_OK;
    while (rc == Z_OK) {
        s.next_out = out;
        s.avail_out = sizeof(out);
        rc = inflate(&s, Z_NO_FLUSH);
        ck_assert_msg(rc == Z_OK || rc == Z_STREAM_END, "inflate: %d %s", rc, s.msg ? s.msg : "");
        total += sizeof(out) - s.avail_out;
    }
    inflateEnd(&s); /* Z_STREAM_END: the CRC-32 and ISIZE trailer checked out */
    return total;
}
#endif

static void
bomb_case(int64_t codec, uint64_t expect, size_t max_len)
{
    kw_mock *m = fu_mock(1, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(
            kw_mock_append_record(m, "t", 0, KW_SLICE_NULL, kw_slice_str("x"), 1, NULL, NULL),
            KW_ERR_OK);
    ck_assert_int_eq(kw_mock_fault_hostile(m, 1, KW_MOCK_HOSTILE_BOMB, -1, codec), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    fetch_one fo;
    fetch_init(&fo, "t", 2);
    uint8_t *f;
    kw_fetch_resp_partition p = fetch(c, &fo, &ar, &f);
    ck_assert_int_eq(p.error_code, 0);
    /* One small batch at the offset asked for, with a good CRC. */
    kw_batch_iter it;
    kw_batch b;
    kw_batch_iter_init(&it, p.records);
    ck_assert(kw_batch_iter_next(&it, &b));
    kw_batch more;
    ck_assert(!kw_batch_iter_next(&it, &more));
    ck_assert_int_eq(kw_batch_iter_err(&it), KW_ERR_OK);
    ck_assert_int_eq(b.base_offset, 2);
    ck_assert_int_eq(kw_batch_codec(&b), (int)(codec ? codec : KW_CODEC_ZSTD));
    ck_assert_uint_lt((size_t)p.records.len, max_len);
#if KW_HAVE_ZLIB
    uint64_t size = codec == KW_CODEC_GZIP ? gzip_size(b.records) : zstd_size(b.records);
#else
    uint64_t size = zstd_size(b.records);
#endif
    ck_assert_uint_eq(size, expect);
    /* kwire's own record reader refuses to inflate it past its bound. */
    if (kw_codec_available((kw_codec)kw_batch_codec(&b))) {
        kw_wr scratch;
        kw_wr_init_dyn(&scratch, NULL, 64u << 20);
        kw_record_iter ri;
        kw_err e = kw_record_iter_init(&ri, &b, &scratch, 1u << 20);
        ck_assert_msg(e == KW_ERR_BOMB || e == KW_ERR_NOSPACE, "%s", kw_err_name(e));
        kw_wr_fini(&scratch);
    }
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}

START_TEST(test_decompression_bomb_zstd)
{
    /* 8193 RLE blocks of 128 KiB in about 33 KB. */
    bomb_case(0, (uint64_t)8193 * 131072, 40000);
}
END_TEST

START_TEST(test_decompression_bomb_gzip)
{
#if KW_HAVE_ZLIB
    /* 1025 MiB of zeros in about 1 MB. */
    bomb_case(KW_CODEC_GZIP, (uint64_t)1025 << 20, 2u << 20);
#else
    /* Built without zlib: the gzip bomb cannot be made, and arming it says so. */
    kw_mock *m = fu_mock(1, NULL);
    ck_assert_int_eq(kw_mock_fault_hostile(m, 1, KW_MOCK_HOSTILE_BOMB, -1, KW_CODEC_GZIP),
                     KW_ERR_INVALID_ARG);
    kw_mock_free(m);
#endif
}
END_TEST

START_TEST(test_silent_broker)
{
    kw_mock *m = fu_mock(1, NULL);
    ck_assert_int_eq(kw_mock_fault_hostile(m, 1, KW_MOCK_HOSTILE_SILENT, -1, 0), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    fu_send_api_versions(c, 3);
    /* Accepted, read, never answered, never closed. */
    ck_assert(mc_quiet(c, 500));
    ck_assert(!c->eof);
    ck_assert_int_eq(kw_mock_fault_clear(m, 1), KW_ERR_OK);
    mc *c2 = mc_connect(m, 1, false);
    fu_send_api_versions(c2, 3);
    size_t len;
    uint8_t *f = mc_recv_frame(c2, MC_WAIT_MS, &len);
    ck_assert_ptr_nonnull(f);
    free(f);
    ck_assert_int_eq(kw_mock_fault_hostile(m, 1, (kw_mock_hostile)42, -1, 0), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_mock_fault_hostile(m, 1, KW_MOCK_HOSTILE_BOMB, -1, 3), KW_ERR_INVALID_ARG);
    mc_close(c);
    mc_close(c2);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_hostile");
    TCase *tc = tcase_create("hostile");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_absurd_length);
    tcase_add_test(tc, test_wrong_and_repeated_correlation);
    tcase_add_test(tc, test_truncated_then_closed);
    tcase_add_test(tc, test_oversized_array_count);
    tcase_add_test(tc, test_string_longer_than_frame);
    tcase_add_test(tc, test_corrupt_crc);
    tcase_add_test(tc, test_decompression_bomb_zstd);
    tcase_add_test(tc, test_decompression_bomb_gzip);
    tcase_add_test(tc, test_silent_broker);
    suite_add_tcase(s, tc);
    return s;
}
