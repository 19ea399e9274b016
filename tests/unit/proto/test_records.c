/* Record batches v2: golden bytes computed by hand from the README layout (CRCs from a bitwise
 * reference, not from kwire's tables), round trips through every codec built in, control
 * batches, CRC coverage, every truncation point, fetch tails and hostile lengths. The legacy
 * (magic 0/1) tests are in test_records_legacy.c and join this suite. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kw_config.h"
#include "kwire/records.h"
#include "records_support.h"
#include "../../support/guard.h"

void kwt_add_legacy_tests(TCase *tc);

START_TEST(golden_decode)
{
    uint8_t g[128];
    size_t n = kwt_rec_unhex(kwt_golden_hex, g);
    ck_assert_uint_eq(n, 88);
    ck_assert_uint_eq(g[16], 2);    /* magic at byte 16 */
    ck_assert_uint_eq(g[60], 2);    /* record count ends at byte 61 */
    ck_assert_uint_eq(g[61], 0x14); /* first record right after the 61-byte header */
    kwt_guard gd;
    uint8_t *p = kwt_guard_init(&gd, g, n);
    ck_assert_ptr_nonnull(p);
    kw_batch_iter bi;
    kw_batch b;
    kw_batch_iter_init(&bi, kwt_sl(p, n));
    ck_assert(kw_batch_iter_next(&bi, &b));
    ck_assert_int_eq(b.base_offset, 0);
    ck_assert_int_eq(b.batch_length, 76);
    ck_assert_int_eq(b.partition_leader_epoch, -1);
    ck_assert_int_eq(b.magic, 2);
    ck_assert_uint_eq(b.crc, 0x30bdd1dfu);
    ck_assert_int_eq(b.attributes, 0);
    ck_assert_int_eq(b.last_offset_delta, 1);
    ck_assert_int_eq(b.base_timestamp, KWT_T0);
    ck_assert_int_eq(b.max_timestamp, KWT_T0 + 5);
    ck_assert_int_eq(b.producer_id, -1);
    ck_assert_int_eq(b.producer_epoch, -1);
    ck_assert_int_eq(b.base_sequence, -1);
    ck_assert_int_eq(b.record_count, 2);
    ck_assert_int_eq(b.records.len, 27);
    ck_assert(b.raw.ptr == p && b.raw.len == 88);
    ck_assert_int_eq(kw_batch_last_offset(&b), 1);
    ck_assert(!kw_batch_iter_next(&bi, &b));
    ck_assert_int_eq(kw_batch_iter_err(&bi), 0);
    ck_assert(!bi.partial);

    kw_batch_iter_init(&bi, kwt_sl(p, n));
    kw_batch_iter_next(&bi, &b);
    kw_record_iter ri;
    kw_record r;
    ck_assert_int_eq(kw_record_iter_init(&ri, &b, NULL, 0), 0);
    ck_assert(kw_record_iter_next(&ri, &r));
    ck_assert_int_eq(r.offset, 0);
    ck_assert_int_eq(r.timestamp, KWT_T0);
    ck_assert(kwt_slice_is(r.key, "k0") && kwt_slice_is(r.value, "v0"));
    ck_assert(r.key.ptr == p + 66); /* zero-copy: length, attr, ts, offset, key length */
    ck_assert_int_eq(r.n_headers, 0);
    ck_assert(kw_record_iter_next(&ri, &r));
    ck_assert_int_eq(r.offset, 1);
    ck_assert_int_eq(r.timestamp, KWT_T0 + 5);
    ck_assert_int_eq(r.key.len, -1);
    ck_assert(kwt_slice_is(r.value, "hello"));
    ck_assert_int_eq(r.n_headers, 1);
    kw_header_iter hi;
    kw_header h;
    kw_header_iter_init(&hi, &r);
    ck_assert(kw_header_iter_next(&hi, &h));
    ck_assert(kwt_slice_is(h.key, "h") && kwt_slice_is(h.value, "x"));
    ck_assert(!kw_header_iter_next(&hi, &h));
    ck_assert(!kw_record_iter_next(&ri, &r));
    ck_assert_int_eq(kw_record_iter_err(&ri), 0);
    kwt_guard_fini(&gd);
}
END_TEST

START_TEST(golden_encode)
{
    uint8_t g[128];
    size_t n = kwt_rec_unhex(kwt_golden_hex, g);
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1 << 20);
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    kw_batch_builder b;
    ck_assert_int_eq(kw_batch_builder_init(&b, &w, &o), 0);
    kw_header h = {kw_slice_str("h"), kw_slice_str("x")};
    ck_assert_int_eq(
        kw_batch_builder_add(&b, KWT_T0, kw_slice_str("k0"), kw_slice_str("v0"), NULL, 0), 0);
    ck_assert_uint_eq(kw_record_size(5, 1, KW_SLICE_NULL, kw_slice_str("hello"), &h, 1), 16);
    ck_assert_int_eq(
        kw_batch_builder_add(&b, KWT_T0 + 5, KW_SLICE_NULL, kw_slice_str("hello"), &h, 1), 0);
    ck_assert_uint_eq(kw_batch_builder_size(&b), n);
    ck_assert_int_eq(kw_batch_builder_finish(&b, NULL), 0);
    ck_assert_uint_eq(kw_wr_len(&w), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(w.base[i] == g[i], "byte %zu: %02x, want %02x", i, w.base[i], g[i]);
    kw_wr_fini(&w);
}
END_TEST

/* A batch of varied records through each codec: null key, empty key, tombstone, empty value,
 * headers with null values, idempotent producer fields, the transactional bit. */
static void
round_trip_codec(int codec)
{
    kw_wr w, scratch;
    kw_wr_init_dyn(&w, NULL, 1 << 24);
    kw_wr_init_dyn(&scratch, NULL, 1 << 24);
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    o.base_offset = 1000;
    o.attributes = (int16_t)(codec | KW_BATCH_ATTR_TRANSACTIONAL);
    o.producer_id = 77, o.producer_epoch = 3, o.base_sequence = 2147483000;
    kw_batch_builder b;
    ck_assert_int_eq(kw_batch_builder_init(&b, &w, &o), 0);
    kw_header hs[3] = {{kw_slice_str("a"), kw_slice_str("1")},
                       {kw_slice_str(""), KW_SLICE_NULL},
                       {kw_slice_str("c"), kw_slice_str("")}};
    char key[32], val[64];
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        snprintf(val, sizeof(val), "value %d of the round trip, compressible text", i);
        kw_slice k = i % 7 == 0    ? KW_SLICE_NULL
                     : i % 11 == 0 ? kw_slice_str("")
                                   : kw_slice_str(key);
        kw_slice v = i % 5 == 0    ? KW_SLICE_NULL
                     : i % 13 == 0 ? kw_slice_str("")
                                   : kw_slice_str(val);
        int64_t ts = KWT_T0 + (i % 3 == 0 ? -i : i); /* out of order: negative deltas */
        ck_assert_int_eq(kw_batch_builder_add(&b, ts, k, v, hs, i % 4), 0);
    }
    size_t plain = kw_batch_builder_size(&b);
    ck_assert_int_eq(kw_batch_builder_finish(&b, codec ? &scratch : NULL), 0);
    if (codec)
        ck_assert_uint_lt(kw_wr_len(&w), plain * 3 / 4);

    kw_batch_iter bi;
    kw_batch bt;
    kw_batch_iter_init(&bi, kwt_sl(w.base, kw_wr_len(&w)));
    ck_assert(kw_batch_iter_next(&bi, &bt));
    ck_assert_int_eq(kw_batch_codec(&bt), codec);
    ck_assert(kw_batch_is_transactional(&bt) && !kw_batch_is_control(&bt));
    ck_assert_int_eq(bt.producer_id, 77);
    ck_assert_int_eq(bt.producer_epoch, 3);
    ck_assert_int_eq(bt.base_sequence, 2147483000);
    ck_assert_int_eq(bt.record_count, 300);
    ck_assert_int_eq(kw_batch_last_offset(&bt), 1299);
    ck_assert_int_eq(bt.base_timestamp, KWT_T0);
    ck_assert_int_eq(bt.max_timestamp, KWT_T0 + 299);
    kw_record_iter ri;
    kw_record r;
    ck_assert_int_eq(kw_record_iter_init(&ri, &bt, &scratch, 1 << 20), 0);
    int i = 0;
    for (; kw_record_iter_next(&ri, &r); i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        snprintf(val, sizeof(val), "value %d of the round trip, compressible text", i);
        ck_assert_int_eq(r.offset, 1000 + i);
        ck_assert_int_eq(r.timestamp, KWT_T0 + (i % 3 == 0 ? -i : i));
        ck_assert(kwt_slice_is(r.key, i % 7 == 0 ? NULL : i % 11 == 0 ? "" : key));
        ck_assert(kwt_slice_is(r.value, i % 5 == 0 ? NULL : i % 13 == 0 ? "" : val));
        ck_assert_int_eq(r.n_headers, i % 4);
        kw_header_iter hi;
        kw_header h;
        kw_header_iter_init(&hi, &r);
        for (int k = 0; k < i % 4; k++) {
            ck_assert(kw_header_iter_next(&hi, &h));
            ck_assert(kw_slice_eq(h.key, (const char *)(k == 0 ? "a" : k == 1 ? "" : "c")));
            ck_assert_int_eq(h.value.len, hs[k].value.len);
        }
        ck_assert(!kw_header_iter_next(&hi, &h));
    }
    ck_assert_int_eq(kw_record_iter_err(&ri), 0);
    ck_assert_int_eq(i, 300);
    /* A decompression bound below the records area's size is a bomb. */
    if (codec)
        ck_assert_int_eq(kw_record_iter_init(&ri, &bt, &scratch, 1000), KW_ERR_BOMB);
    kw_wr_fini(&w);
    kw_wr_fini(&scratch);
}

START_TEST(round_trips)
{
    for (int codec = 0; codec <= KW_CODEC_ZSTD; codec++) {
        if (!kw_codec_available(codec)) {
            fprintf(stderr, "SKIP: round_trips: %s is not built in\n", kw_codec_name(codec));
            continue;
        }
        round_trip_codec(codec);
    }
}
END_TEST

START_TEST(log_append_time_and_empty)
{
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1 << 20);
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    o.attributes = KW_BATCH_ATTR_LOG_APPEND_TIME;
    o.log_append_time = KWT_T0 + 999;
    kw_batch_builder b;
    kw_batch_builder_init(&b, &w, &o);
    kw_batch_builder_add(&b, KWT_T0, KW_SLICE_NULL, kw_slice_str("a"), NULL, 0);
    kw_batch_builder_add(&b, KWT_T0 + 1, KW_SLICE_NULL, kw_slice_str("b"), NULL, 0);
    ck_assert_int_eq(kw_batch_builder_finish(&b, NULL), 0);
    /* An empty batch: timestamps and last offset delta -1, no records. */
    kw_batch_opts_init(&o);
    kw_batch_builder_init(&b, &w, &o);
    ck_assert_int_eq(kw_batch_builder_finish(&b, NULL), 0);
    kwt_walk wk;
    kwt_walk_all(kwt_sl(w.base, kw_wr_len(&w)), NULL, 0, &wk);
    ck_assert_int_eq(wk.batches, 2);
    ck_assert_int_eq(wk.batch_err, 0);
    ck_assert_int_eq(wk.rec_err, 0);
    ck_assert_int_eq(wk.records, 2);
    ck_assert_int_eq(wk.rec[0].timestamp, KWT_T0 + 999);
    ck_assert_int_eq(wk.rec[1].timestamp, KWT_T0 + 999);
    ck_assert_int_eq(wk.last.record_count, 0);
    ck_assert_int_eq(wk.last.last_offset_delta, -1);
    ck_assert_int_eq(wk.last.base_timestamp, -1);
    kw_wr_fini(&w);
}
END_TEST

START_TEST(builder_errors)
{
    uint8_t buf[80];
    kw_wr w;
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    kw_batch_builder b;
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    ck_assert_int_eq(kw_batch_builder_init(&b, &w, &o), 0);
    kw_header bad = {KW_SLICE_NULL, kw_slice_str("v")};
    ck_assert_int_eq(kw_batch_builder_add(&b, 0, KW_SLICE_NULL, KW_SLICE_NULL, &bad, 1),
                     KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_batch_builder_add(&b, 0, KW_SLICE_NULL, KW_SLICE_NULL, NULL, 0),
                     KW_ERR_INVALID_ARG); /* sticky */
    ck_assert_int_eq(kw_batch_builder_finish(&b, NULL), KW_ERR_INVALID_ARG);
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_batch_builder_init(&b, &w, &o);
    ck_assert_int_eq(kw_batch_builder_add(&b, 0, KW_SLICE_NULL, (kw_slice){buf, 40}, NULL, 0),
                     KW_ERR_NOSPACE);
    o.attributes = 6;
    ck_assert_int_eq(kw_batch_builder_init(&b, &w, &o), KW_ERR_UNSUPPORTED_CODEC);
    ck_assert_uint_eq(kw_record_size(0, 0, (kw_slice){NULL, 5}, KW_SLICE_NULL, NULL, 0), 0);
    ck_assert_uint_eq(kw_record_size(0, 0, KW_SLICE_NULL, KW_SLICE_NULL, NULL, -1), 0);
    ck_assert_uint_eq(kw_record_size(0, 0, KW_SLICE_NULL, KW_SLICE_NULL, NULL, 0), 7);
}
END_TEST

START_TEST(control_batches)
{
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1 << 20);
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    o.base_offset = 50, o.producer_id = 9, o.producer_epoch = 1;
    o.attributes = KW_CODEC_GZIP; /* ignored: control batches are not compressed */
    ck_assert_int_eq(kw_control_batch_encode(&w, &o, KWT_T0, KW_CONTROL_COMMIT, 17), 0);
    ck_assert_int_eq(kw_control_batch_encode(&w, &o, KWT_T0, KW_CONTROL_ABORT, 18), 0);
    ck_assert_int_eq(kw_control_batch_encode(&w, &o, KWT_T0, 2, 0), 0); /* leader change */
    kwt_walk wk;
    kwt_walk_all(kwt_sl(w.base, kw_wr_len(&w)), NULL, 0, &wk);
    ck_assert_int_eq(wk.batches, 3);
    ck_assert_int_eq(wk.records, 3);
    ck_assert_int_eq(wk.rec_err, 0);
    ck_assert(kw_batch_is_control(&wk.last) && !kw_batch_is_transactional(&wk.last));
    ck_assert_int_eq(kw_batch_codec(&wk.last), 0);
    kw_control c;
    ck_assert_int_eq(kw_control_decode(&wk.rec[0], &c), 0);
    ck_assert(c.key_version == 0 && c.type == KW_CONTROL_COMMIT);
    ck_assert(c.value_version == 0 && c.coordinator_epoch == 17);
    ck_assert(wk.rec[0].key.len == 4 && memcmp(wk.rec[0].key.ptr, "\0\0\0\1", 4) == 0);
    ck_assert(wk.rec[0].value.len == 6 && memcmp(wk.rec[0].value.ptr, "\0\0\0\0\0\x11", 6) == 0);
    ck_assert_int_eq(wk.rec[0].offset, 50);
    ck_assert_int_eq(kw_control_decode(&wk.rec[1], &c), 0);
    ck_assert(c.type == KW_CONTROL_ABORT && c.coordinator_epoch == 18);
    ck_assert_int_eq(kw_control_decode(&wk.rec[2], &c), 0);
    ck_assert(c.type == 2 && c.coordinator_epoch == -1);
    /* The first batch is control + transactional. */
    kw_batch_iter bi;
    kw_batch b;
    kw_batch_iter_init(&bi, kwt_sl(w.base, kw_wr_len(&w)));
    kw_batch_iter_next(&bi, &b);
    ck_assert(kw_batch_is_control(&b) && kw_batch_is_transactional(&b));
    /* Short or negative-version keys and values. */
    kw_record r = wk.rec[0];
    r.key.len = 3;
    ck_assert_int_eq(kw_control_decode(&r, &c), KW_ERR_MALFORMED);
    r = wk.rec[0];
    r.value.len = 5;
    ck_assert_int_eq(kw_control_decode(&r, &c), KW_ERR_MALFORMED);
    r.value = KW_SLICE_NULL;
    ck_assert_int_eq(kw_control_decode(&r, &c), KW_ERR_MALFORMED);
    r = wk.rec[0];
    r.key.ptr = (const uint8_t *)"\xff\xff\0\1";
    ck_assert_int_eq(kw_control_decode(&r, &c), KW_ERR_MALFORMED);
    kw_wr_fini(&w);
}
END_TEST

/* Every byte from the crc field on is covered; base offset and leader epoch are not (the broker
 * rewrites them without recomputing the CRC). */
START_TEST(crc_coverage)
{
    uint8_t g[128];
    size_t n = kwt_rec_unhex(kwt_golden_hex, g);
    kwt_walk wk;
    for (size_t i = 0; i < n; i++) {
        if (i >= 8 && i < 12)
            continue; /* the length: framing, tested elsewhere */
        if (i == 16)
            continue; /* the magic: selects the parser */
        g[i] ^= 0x01;
        kwt_walk_all(kwt_sl(g, n), NULL, 0, &wk);
        if (i < 8 || (i >= 12 && i < 16))
            ck_assert_msg(wk.batch_err == 0 && wk.batches == 1, "byte %zu", i);
        else
            ck_assert_msg(wk.batch_err == KW_ERR_CRC, "byte %zu: %s", i, kw_err_name(wk.batch_err));
        g[i] ^= 0x01;
    }
}
END_TEST

/* Every proper prefix of a batch ends the iteration cleanly (a fetch cut short), with no batch
 * and `partial` set; after a complete batch the complete one still comes out. Each prefix sits
 * at the end of a guard page, so an over-read faults. */
START_TEST(truncation_every_point)
{
    uint8_t g[256];
    size_t n = kwt_rec_unhex(kwt_golden_hex, g);
    memcpy(g + n, g, n); /* two batches */
    for (size_t cut = 0; cut < 2 * n; cut++) {
        if (cut == n)
            continue;
        kwt_guard gd;
        uint8_t *p = kwt_guard_init(&gd, g, cut);
        ck_assert_ptr_nonnull(p);
        kwt_walk wk;
        kwt_walk_all(kwt_sl(p, cut), NULL, 0, &wk);
        ck_assert_msg(wk.batch_err == 0, "cut %zu: %s", cut, kw_err_name(wk.batch_err));
        ck_assert_int_eq(wk.batches, cut > n ? 1 : 0);
        ck_assert_int_eq(wk.records, cut > n ? 2 : 0);
        ck_assert(wk.partial == (cut != 0 && cut != n));
        kwt_guard_fini(&gd);
    }
}
END_TEST

/* The records area cut at every point, with length and CRC made consistent again: the batch is
 * well framed, so the records themselves must report the damage. */
START_TEST(records_truncation)
{
    uint8_t g[128], b[128];
    kwt_rec_unhex(kwt_golden_hex, g);
    for (size_t keep = 0; keep < 27; keep++) {
        size_t n = kwt_raw_batch(b, g + 61, keep, 2, 0);
        kwt_guard gd;
        uint8_t *p = kwt_guard_init(&gd, b, n);
        kwt_walk wk;
        kwt_walk_all(kwt_sl(p, n), NULL, 0, &wk);
        ck_assert_int_eq(wk.batch_err, 0);
        ck_assert_int_eq(wk.batches, 1);
        ck_assert_msg(wk.rec_err != 0, "records cut at %zu decoded", keep);
        ck_assert_int_le(wk.records, keep >= 11 ? 1 : 0);
        kwt_guard_fini(&gd);
    }
}
END_TEST

START_TEST(tail_and_middle)
{
    uint8_t g[128], d[512];
    size_t n = kwt_rec_unhex(kwt_golden_hex, g);
    for (int i = 0; i < 3; i++)
        memcpy(d + (size_t)i * n, g, n);
    memcpy(d + 3 * n, g, 40); /* the start of a fourth */
    kwt_walk wk;
    kwt_walk_all(kwt_sl(d, 3 * n + 40), NULL, 0, &wk);
    ck_assert_int_eq(wk.batches, 3);
    ck_assert_int_eq(wk.records, 6);
    ck_assert_int_eq(wk.batch_err, 0);
    ck_assert(wk.partial);
    /* A bad CRC in the second batch: the first comes out, then the error, at the second. */
    d[n + 70] ^= 0xff;
    kw_batch_iter bi;
    kw_batch b;
    kw_batch_iter_init(&bi, kwt_sl(d, 3 * n));
    ck_assert(kw_batch_iter_next(&bi, &b));
    ck_assert(!kw_batch_iter_next(&bi, &b));
    ck_assert_int_eq(kw_batch_iter_err(&bi), KW_ERR_CRC);
    ck_assert_uint_eq(kw_rd_pos(&bi.rd), n);
    ck_assert(!kw_batch_iter_next(&bi, &b)); /* sticky */
}
END_TEST

START_TEST(hostile_batch_lengths)
{
    uint8_t g[128];
    size_t n = kwt_rec_unhex(kwt_golden_hex, g);
    static const struct {
        uint32_t len;
        int magic;
        kw_err want;
    } cases[] = {
        {0xffffffffu, 2, KW_ERR_MALFORMED}, /* negative */
        {0x80000000u, 2, KW_ERR_MALFORMED}, /* INT32_MIN */
        {13, 2, KW_ERR_MALFORMED},          /* below any message */
        {48, 2, KW_ERR_MALFORMED},          /* below a v2 header */
        {0x7fffffffu, 2, KW_ERR_OK},        /* cannot fit: the cut-off tail */
        {76, 3, KW_ERR_UNSUPPORTED_VERSION}, {76, 0x80, KW_ERR_UNSUPPORTED_VERSION},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t b[128];
        memcpy(b, g, n);
        kwt_put32(b + 8, cases[i].len);
        b[16] = (uint8_t)cases[i].magic;
        size_t len = cases[i].len < n - 12 ? 12 + cases[i].len : n;
        kwt_walk wk;
        kwt_walk_all(kwt_sl(b, len), NULL, 0, &wk);
        ck_assert_msg(wk.batch_err == cases[i].want, "case %zu: %s", i, kw_err_name(wk.batch_err));
        ck_assert_int_eq(wk.batches, 0);
    }
}
END_TEST

/* Records areas with one bad field each (batch framing and CRC are valid). */
START_TEST(hostile_records)
{
    static const struct {
        const char *hex;
        int32_t count;
        kw_err want;
    } cases[] = {
        {"0100000000000000", 1, KW_ERR_MALFORMED},   /* record length -1 */
        {"ffffffff0f0000", 1, KW_ERR_MALFORMED},     /* length INT32_MIN */
        {"feffffff0f0000", 1, KW_ERR_TRUNCATED},     /* length INT32_MAX */
        {"fe0100000001010000", 1, KW_ERR_TRUNCATED}, /* length 127 > rest */
        {"0e00000003010000", 1, KW_ERR_MALFORMED},   /* key length -2 */
        {"0e000000fe010100", 1, KW_ERR_TRUNCATED},   /* key length 127 */
        {"0c0000000101"
         "01",
         1, KW_ERR_MALFORMED}, /* header count -1 */
        {"0c0000000101"
         "7e",
         1, KW_ERR_MALFORMED}, /* 63 headers in 0 bytes */
        {"100000000101"
         "02"
         "01"
         "00",
         1, KW_ERR_MALFORMED}, /* header key null */
        {"0e0000000101"
         "00"
         "00",
         1, KW_ERR_MALFORMED}, /* a byte after the headers */
        {"8e80808080000000000101"
         "00",
         1, KW_ERR_OVERLONG}, /* 6-byte varint */
        {"8e00"
         "0000000101"
         "00",
         1, KW_ERR_OVERLONG}, /* redundant zero group */
        {"0c0000000101"
         "00"
         "0c0000000101"
         "00",
         1, KW_ERR_MALFORMED}, /* trailing record */
        {"0c0000000101"
         "00",
         2, KW_ERR_MALFORMED}, /* count beyond the bytes */
        {"0c0000000101"
         "00",
         -1, KW_ERR_MALFORMED}, /* negative count (batch) */
        {"0c0000000101"
         "00",
         1000000, KW_ERR_MALFORMED}, /* huge count */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uint8_t recs[64], b[128];
        size_t rn = kwt_rec_unhex(cases[i].hex, recs);
        size_t n = kwt_raw_batch(b, recs, rn, cases[i].count, 0);
        kwt_walk wk;
        kwt_walk_all(kwt_sl(b, n), NULL, 0, &wk);
        kw_err got = wk.batch_err ? wk.batch_err : wk.rec_err;
        ck_assert_msg(got == cases[i].want, "case %zu (%s): got %s", i, cases[i].hex,
                      kw_err_name(got));
    }
    /* A fine one through the same path, to show the helper makes valid batches. */
    uint8_t recs[16], b[128];
    size_t rn = kwt_rec_unhex("0c0000000101"
                              "00",
                              recs);
    kwt_walk wk;
    kwt_walk_all(kwt_sl(b, kwt_raw_batch(b, recs, rn, 1, 0)), NULL, 0, &wk);
    ck_assert(wk.batch_err == 0 && wk.rec_err == 0 && wk.records == 1);
    ck_assert(wk.rec[0].key.len == -1 && wk.rec[0].value.len == -1);
}
END_TEST

START_TEST(compressed_batch_errors)
{
    uint8_t g[128], b[128];
    kwt_rec_unhex(kwt_golden_hex, g);
    kwt_walk wk;
    size_t n = kwt_raw_batch(b, g + 61, 27, 2, 6); /* codec 6 does not exist */
    kw_wr scratch;
    kw_wr_init_dyn(&scratch, NULL, 1 << 20);
    kwt_walk_all(kwt_sl(b, n), &scratch, 1 << 20, &wk);
    ck_assert_int_eq(wk.batch_err, 0); /* the header is still readable */
    ck_assert_int_eq(wk.rec_err, KW_ERR_UNSUPPORTED_CODEC);
    n = kwt_raw_batch(b, g + 61, 27, 2, KW_CODEC_GZIP);
    kwt_walk_all(kwt_sl(b, n), NULL, 1 << 20, &wk);
    ck_assert_int_eq(wk.rec_err, KW_ERR_INVALID_ARG); /* compressed, but no scratch */
    kwt_walk_all(kwt_sl(b, n), &scratch, 1 << 20, &wk);
    ck_assert_int_eq(wk.rec_err, kw_codec_available(KW_CODEC_GZIP) ? KW_ERR_DECOMPRESS
                                                                   : KW_ERR_UNSUPPORTED_CODEC);
    ck_assert_int_eq(wk.records, 0);
    /* An emptied batch as the log cleaner leaves it: a codec in the attributes, no records,
     * no records area. There is nothing to decompress and nothing to report. */
    n = kwt_raw_batch(b, NULL, 0, 0, KW_CODEC_ZSTD);
    kwt_walk_all(kwt_sl(b, n), NULL, 0, &wk);
    ck_assert(wk.batch_err == 0 && wk.rec_err == 0 && wk.batches == 1 && wk.records == 0);
    kw_wr_fini(&scratch);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("proto_records");
    TCase *tc = tcase_create("records");
    tcase_add_test(tc, golden_decode);
    tcase_add_test(tc, golden_encode);
    tcase_add_test(tc, round_trips);
    tcase_add_test(tc, log_append_time_and_empty);
    tcase_add_test(tc, builder_errors);
    tcase_add_test(tc, control_batches);
    tcase_add_test(tc, crc_coverage);
    tcase_add_test(tc, truncation_every_point);
    tcase_add_test(tc, records_truncation);
    tcase_add_test(tc, tail_and_middle);
    tcase_add_test(tc, hostile_batch_lengths);
    tcase_add_test(tc, hostile_records);
    tcase_add_test(tc, compressed_batch_errors);
    kwt_add_legacy_tests(tc);
    suite_add_tcase(s, tc);
    return s;
}