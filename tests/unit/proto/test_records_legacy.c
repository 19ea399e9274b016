/* Legacy message sets (magic 0 and 1), built byte by byte: plain v0/v1 messages, gzip-wrapped
 * inner sets with relative (v1) and absolute (v0) offsets, CRC-32 checks, the old magic-0 lz4
 * header checksum, hostile fields, and old and new formats in one payload. Part of the
 * proto_records suite (see kw_test_suite in test_records.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/records.h"
#include "records_support.h"
#include "../../support/guard.h"

void kwt_add_legacy_tests(TCase *tc);

START_TEST(legacy_plain)
{
    uint8_t d[128];
    size_t n0 = kwt_rec_unhex(kwt_legacy_v0_hex, d);
    size_t n1 = kwt_rec_unhex(kwt_legacy_v1_hex, d + n0);
    ck_assert_uint_eq(n0, 29);
    ck_assert_uint_eq(d[16], 0); /* magic at byte 16 like v2 */
    kwt_guard gd;
    uint8_t *p = kwt_guard_init(&gd, d, n0 + n1);
    kwt_walk wk;
    kwt_walk_all(kwt_sl(p, n0 + n1), NULL, 0, &wk);
    ck_assert_int_eq(wk.batch_err, 0);
    ck_assert_int_eq(wk.rec_err, 0);
    ck_assert_int_eq(wk.batches, 2);
    ck_assert_int_eq(wk.records, 2);
    ck_assert_int_eq(wk.rec[0].offset, 7);
    ck_assert_int_eq(wk.rec[0].timestamp, -1);
    ck_assert(kwt_slice_is(wk.rec[0].key, "k") && kwt_slice_is(wk.rec[0].value, "v0"));
    ck_assert_int_eq(wk.rec[1].offset, 8);
    ck_assert_int_eq(wk.rec[1].timestamp, KWT_T0);
    ck_assert(wk.rec[1].key.len == -1 && kwt_slice_is(wk.rec[1].value, "v1"));
    ck_assert_int_eq(wk.last.magic, 1);
    ck_assert_int_eq(wk.last.record_count, 1);
    ck_assert_int_eq(kw_batch_last_offset(&wk.last), 8);
    ck_assert_uint_eq(wk.last.crc, 0x6a5500fbu);
    /* The CRC-32 covers magic to the end; every prefix is a clean partial end. */
    for (size_t i = 16; i < n0; i++) {
        d[i] ^= 0x20;
        kwt_walk_all(kwt_sl(d, n0), NULL, 0, &wk);
        if (i != 16) /* a flipped magic is a different error */
            ck_assert_msg(wk.batch_err == KW_ERR_CRC, "byte %zu", i);
        d[i] ^= 0x20;
    }
    for (size_t cut = 0; cut < n0; cut++) {
        kwt_walk_all(kwt_sl(d, cut), NULL, 0, &wk);
        ck_assert(wk.batch_err == 0 && wk.batches == 0);
    }
    kwt_guard_fini(&gd);
}
END_TEST

/* A compressed wrapper: inner set of 3 messages, compressed by hand as a stored gzip member. */
static size_t
wrapper(uint8_t *out, int magic, int64_t wrapper_off, const int64_t inner[3], int ts_type,
        int inner_attr)
{
    kw_wr in, gz, w;
    kw_wr_init_dyn(&in, NULL, 1 << 16);
    kw_wr_init_dyn(&gz, NULL, 1 << 16);
    kw_wr_init_fixed(&w, out, 1024);
    char v[8];
    for (int i = 0; i < 3; i++) {
        snprintf(v, sizeof(v), "m%d", i);
        kwt_legacy_msg(&in, inner[i], magic, inner_attr, KWT_T0 + i, KW_SLICE_NULL,
                       kw_slice_str(v));
    }
    kwt_gzip_stored(&gz, in.base, kw_wr_len(&in));
    kwt_legacy_msg(&w, wrapper_off, magic, KW_CODEC_GZIP | ts_type, KWT_T0 + 100, KW_SLICE_NULL,
                   kwt_sl(gz.base, kw_wr_len(&gz)));
    kw_wr_fini(&in);
    kw_wr_fini(&gz);
    return kw_wr_len(&w);
}

START_TEST(legacy_gzip_wrapped)
{
    if (!kw_codec_available(KW_CODEC_GZIP)) {
        fprintf(stderr, "SKIP: legacy_gzip_wrapped: gzip is not built in\n");
        return;
    }
    uint8_t b[1024];
    kw_wr scratch;
    kw_wr_init_dyn(&scratch, NULL, 1 << 20);
    kwt_walk wk;
    const int64_t rel[3] = {0, 1, 2}, abs[3] = {50, 51, 52};
    /* v1: relative inner offsets; wrapper offset 102 is the last: 100, 101, 102. */
    size_t n = wrapper(b, 1, 102, rel, 0, 0);
    kwt_walk_all(kwt_sl(b, n), &scratch, 1 << 20, &wk);
    ck_assert_int_eq(wk.batch_err, 0);
    ck_assert_int_eq(wk.rec_err, 0);
    ck_assert_int_eq(wk.records, 3);
    ck_assert_int_eq(wk.last.record_count, -1);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(wk.rec[i].offset, 100 + i);
        ck_assert_int_eq(wk.rec[i].timestamp, KWT_T0 + i); /* CreateTime: the inner one */
    }
    ck_assert(kwt_slice_is(wk.rec[2].value, "m2"));
    /* v1 with LogAppendTime: inner timestamps are the wrapper's. */
    n = wrapper(b, 1, 102, rel, KW_BATCH_ATTR_LOG_APPEND_TIME, 0);
    kwt_walk_all(kwt_sl(b, n), &scratch, 1 << 20, &wk);
    ck_assert_int_eq(wk.rec[0].timestamp, KWT_T0 + 100);
    /* v1 wrapper offset 0 (some librdkafka producers): inner offsets as they are. */
    n = wrapper(b, 1, 0, rel, 0, 0);
    kwt_walk_all(kwt_sl(b, n), &scratch, 1 << 20, &wk);
    ck_assert_int_eq(wk.rec[2].offset, 2);
    /* v0: absolute inner offsets, no timestamps. */
    n = wrapper(b, 0, 52, abs, 0, 0);
    kwt_walk_all(kwt_sl(b, n), &scratch, 1 << 20, &wk);
    ck_assert(wk.rec_err == 0 && wk.records == 3);
    ck_assert_int_eq(wk.rec[0].offset, 50);
    ck_assert_int_eq(wk.rec[0].timestamp, -1);
    /* Errors: wrapper offset below the last inner one, compressed inner messages, no scratch,
     * a bomb, a damaged inner CRC. */
    n = wrapper(b, 1, 1, rel, 0, 0);
    kwt_walk_all(kwt_sl(b, n), &scratch, 1 << 20, &wk);
    ck_assert_int_eq(wk.rec_err, KW_ERR_MALFORMED);
    n = wrapper(b, 1, 102, rel, 0, KW_CODEC_GZIP);
    kwt_walk_all(kwt_sl(b, n), &scratch, 1 << 20, &wk);
    ck_assert_int_eq(wk.rec_err, KW_ERR_MALFORMED);
    n = wrapper(b, 1, 102, rel, 0, 0);
    kwt_walk_all(kwt_sl(b, n), NULL, 1 << 20, &wk);
    ck_assert_int_eq(wk.rec_err, KW_ERR_INVALID_ARG);
    kwt_walk_all(kwt_sl(b, n), &scratch, 50, &wk);
    ck_assert_int_eq(wk.rec_err, KW_ERR_BOMB);
    kw_wr_fini(&scratch);
}
END_TEST

/* Damage inside the inner set that the outer CRC cannot see: the inner CRC catches it. */
START_TEST(legacy_inner_crc)
{
    if (!kw_codec_available(KW_CODEC_GZIP)) {
        fprintf(stderr, "SKIP: legacy_inner_crc: gzip is not built in\n");
        return;
    }
    kw_wr in, gz, w, scratch;
    kw_wr_init_dyn(&in, NULL, 1 << 16);
    kw_wr_init_dyn(&gz, NULL, 1 << 16);
    kw_wr_init_dyn(&w, NULL, 1 << 16);
    kw_wr_init_dyn(&scratch, NULL, 1 << 16);
    kwt_legacy_msg(&in, 0, 1, 0, KWT_T0, KW_SLICE_NULL, kw_slice_str("ok"));
    kwt_legacy_msg(&in, 1, 1, 0, KWT_T0, KW_SLICE_NULL, kw_slice_str("xx"));
    in.base[kw_wr_len(&in) - 1] ^= 0x01; /* the second inner value, after its CRC was set */
    kwt_gzip_stored(&gz, in.base, kw_wr_len(&in));
    kwt_legacy_msg(&w, 1, 1, KW_CODEC_GZIP, KWT_T0, KW_SLICE_NULL, kwt_sl(gz.base, kw_wr_len(&gz)));
    kwt_walk wk;
    kwt_walk_all(kwt_sl(w.base, kw_wr_len(&w)), &scratch, 1 << 16, &wk);
    ck_assert_int_eq(wk.batch_err, 0);
    ck_assert_int_eq(wk.records, 1); /* the good one, then the error */
    ck_assert_int_eq(wk.rec_err, KW_ERR_CRC);
    kw_wr_fini(&in);
    kw_wr_fini(&gz);
    kw_wr_fini(&w);
    kw_wr_fini(&scratch);
}
END_TEST

/* Kafka 0.8-0.9 magic-0 lz4 wrappers carry the old header checksum (0x1A for Kafka's header,
 * see test_codec.c); magic 1 must not accept it. */
START_TEST(legacy_lz4_old_checksum)
{
    if (!kw_codec_available(KW_CODEC_LZ4)) {
        fprintf(stderr, "SKIP: legacy_lz4_old_checksum: lz4 is not built in\n");
        return;
    }
    for (int magic = 0; magic <= 1; magic++) {
        kw_wr in, lz, w, scratch;
        kw_wr_init_dyn(&in, NULL, 1 << 16);
        kw_wr_init_dyn(&lz, NULL, 1 << 16);
        kw_wr_init_dyn(&w, NULL, 1 << 16);
        kw_wr_init_dyn(&scratch, NULL, 1 << 16);
        kwt_legacy_msg(&in, 5, magic, 0, KWT_T0, KW_SLICE_NULL, kw_slice_str("old"));
        ck_assert_int_eq(
            kw_compress(KW_CODEC_LZ4, KW_CODEC_LEVEL_DEFAULT, kwt_sl(in.base, kw_wr_len(&in)), &lz),
            0);
        ck_assert_uint_eq(lz.base[6], 0x82);
        lz.base[6] = 0x1a;
        kwt_legacy_msg(&w, 5, magic, KW_CODEC_LZ4, KWT_T0, KW_SLICE_NULL,
                       kwt_sl(lz.base, kw_wr_len(&lz)));
        kwt_walk wk;
        kwt_walk_all(kwt_sl(w.base, kw_wr_len(&w)), &scratch, 1 << 16, &wk);
        ck_assert_int_eq(wk.rec_err, magic == 0 ? KW_ERR_OK : KW_ERR_DECOMPRESS);
        ck_assert_int_eq(wk.records, magic == 0 ? 1 : 0);
        kw_wr_fini(&in);
        kw_wr_fini(&lz);
        kw_wr_fini(&w);
        kw_wr_fini(&scratch);
    }
}
END_TEST

START_TEST(legacy_hostile)
{
    kw_wr w;
    uint8_t buf[256];
    kwt_walk wk;
    /* A v1 message shorter than the v1 minimum; bytes after the value; key length -2. */
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kwt_legacy_msg(&w, 1, 1, 0, KWT_T0, KW_SLICE_NULL, kw_slice_str("v"));
    size_t n = kw_wr_len(&w);
    kwt_put32(buf + 8, 14);
    kwt_walk_all(kwt_sl(buf, 26), NULL, 0, &wk);
    ck_assert_int_eq(wk.batch_err, KW_ERR_MALFORMED);
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kwt_legacy_msg(&w, 1, 0, 0, 0, KW_SLICE_NULL, kw_slice_str("v"));
    n = kw_wr_len(&w);
    buf[n] = 0;
    kwt_put32(buf + 8, (uint32_t)(n + 1 - 12));
    kwt_put32(buf + 12, kwt_crc_bits(buf + 16, n + 1 - 16, 0xEDB88320u));
    kwt_walk_all(kwt_sl(buf, n + 1), NULL, 0, &wk);
    ck_assert_int_eq(wk.batch_err, KW_ERR_MALFORMED);
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kwt_legacy_msg(&w, 1, 0, 0, 0, (kw_slice){(const uint8_t *)"", -1}, kw_slice_str("v"));
    n = kw_wr_len(&w);
    kwt_put32(buf + 18, 0xfffffffeu);
    kwt_put32(buf + 12, kwt_crc_bits(buf + 16, n - 16, 0xEDB88320u));
    kwt_walk_all(kwt_sl(buf, n), NULL, 0, &wk);
    ck_assert_int_eq(wk.batch_err, KW_ERR_MALFORMED);
    /* A wrapper with a null value, and a zstd wrapper (zstd came with magic 2). */
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kwt_legacy_msg(&w, 1, 1, KW_CODEC_GZIP, KWT_T0, KW_SLICE_NULL, KW_SLICE_NULL);
    kw_wr scratch;
    kw_wr_init_dyn(&scratch, NULL, 1 << 16);
    kwt_walk_all(kwt_sl(buf, kw_wr_len(&w)), &scratch, 1 << 16, &wk);
    ck_assert_int_eq(wk.rec_err, KW_ERR_MALFORMED);
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kwt_legacy_msg(&w, 1, 1, KW_CODEC_ZSTD, KWT_T0, KW_SLICE_NULL, kw_slice_str("zz"));
    kwt_walk_all(kwt_sl(buf, kw_wr_len(&w)), &scratch, 1 << 16, &wk);
    ck_assert_int_eq(wk.rec_err, KW_ERR_MALFORMED);
    kw_wr_fini(&scratch);
}
END_TEST

/* Old and new formats in one fetch payload, as a partition upgraded over time returns them. */
START_TEST(mixed_formats)
{
    uint8_t d[256];
    size_t n = kwt_rec_unhex(kwt_legacy_v0_hex, d);
    n += kwt_rec_unhex(kwt_legacy_v1_hex, d + n);
    n += kwt_rec_unhex(kwt_golden_hex, d + n);
    kwt_walk wk;
    kwt_walk_all(kwt_sl(d, n), NULL, 0, &wk);
    ck_assert_int_eq(wk.batch_err, 0);
    ck_assert_int_eq(wk.batches, 3);
    ck_assert_int_eq(wk.records, 4);
    ck_assert(kwt_slice_is(wk.rec[3].value, "hello"));
}
END_TEST

void
kwt_add_legacy_tests(TCase *tc)
{
    tcase_add_test(tc, legacy_plain);
    tcase_add_test(tc, legacy_gzip_wrapped);
    tcase_add_test(tc, legacy_inner_crc);
    tcase_add_test(tc, legacy_lz4_old_checksum);
    tcase_add_test(tc, legacy_hostile);
    tcase_add_test(tc, mixed_formats);
}
