/* The producer's wire encoding and partitioners, checked against independent references:
 * batches byte for byte against kw_batch_builder (the codec's own writer) and read back with
 * the record iterators; borrowed (zero-copy) values spliced in give the same bytes; every
 * codec round-trips; the Produce request body written by the producer decodes with the
 * schema walk at every version 3-13; keyed partitions are Java's (UtilsTest vectors); the
 * KIP-794 weighted choice follows its weights. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "client/producer_int.h"
#include "kwire/codec.h"

static kw_slice
S(const char *s)
{
    return s ? (kw_slice){(const uint8_t *)s, (int32_t)strlen(s)} : KW_SLICE_NULL;
}

typedef struct rec {
    int64_t ts;
    const char *key, *value;
    int nh;
    kw_header h[2];
} rec;

static const rec recs[] = {
    {1700000000000, "k0", "value zero", 0, {{{0}, {0}}}},
    {1700000000005, NULL, "no key", 1, {{{(const uint8_t *)"h", 1}, {(const uint8_t *)"v", 1}}}},
    {1699999999990,
     "",
     NULL,
     2,
     {{{(const uint8_t *)"a", 1}, {NULL, -1}}, {{(const uint8_t *)"bb", 2}, {NULL, 0}}}},
    {1700000000100, "key-3", "", 0, {{{0}, {0}}}},
    {1700000000101,
     "key-4",
     "a somewhat longer value to make the batch worth compressing "
     "a somewhat longer value to make the batch worth compressing",
     0,
     {{{0}, {0}}}},
};
#define NRECS ((int)(sizeof(recs) / sizeof(recs[0])))

static kwi_ptopic topic;
static kwi_ptp tp;

static void
setup(void)
{
    memset(&topic, 0, sizeof(topic));
    memset(&tp, 0, sizeof(tp));
    topic.name = "events";
    topic.len = 6;
    tp.t = &topic;
    tp.id = 3;
}

static void
batch_init(kwi_pbatch *b, int codec)
{
    memset(b, 0, sizeof(*b));
    kw_wr_init_dyn(&b->rec, NULL, 1 << 20);
    b->tp = &tp;
    b->codec = (int16_t)codec;
    b->pid = 4711;
    b->epoch = 3;
    b->base_seq = 100;
}

static void
batch_fini(kwi_pbatch *b)
{
    kw_wr_fini(&b->rec);
    kw_wr_fini(&b->z);
    free(b->msgs);
    free(b->refs);
}

static void
fill(kwi_pbatch *b, bool zc)
{
    for (int i = 0; i < NRECS; i++) {
        /* Half sized by the caller (as kw_producer_send does), half by kwi_batch_add. */
        size_t body0 = 0;
        if (i % 2)
            kwi_batch_record_size(0, 0, S(recs[i].key), S(recs[i].value).len, recs[i].h, recs[i].nh,
                                  &body0);
        ck_assert_int_eq(kwi_batch_add(b, kw_allocator_default(), recs[i].ts, S(recs[i].key),
                                       S(recs[i].value), zc, recs[i].nh ? recs[i].h : NULL,
                                       recs[i].nh, body0),
                         KW_ERR_OK);
    }
}

/* The same records through kw_batch_builder. */
static void
reference(kw_wr *w, int codec)
{
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    o.producer_id = 4711;
    o.producer_epoch = 3;
    o.base_sequence = 100;
    o.attributes = (int16_t)codec;
    kw_batch_builder bb;
    ck_assert_int_eq(kw_batch_builder_init(&bb, w, &o), KW_ERR_OK);
    for (int i = 0; i < NRECS; i++)
        ck_assert_int_eq(kw_batch_builder_add(&bb, recs[i].ts, S(recs[i].key), S(recs[i].value),
                                              recs[i].nh ? recs[i].h : NULL, recs[i].nh),
                         KW_ERR_OK);
    ck_assert_int_eq(kw_batch_builder_finish(&bb, NULL), KW_ERR_OK);
}

static void
check_records(kw_slice raw, int codec)
{
    kw_batch_iter bi;
    kw_batch bt;
    kw_batch_iter_init(&bi, raw);
    ck_assert(kw_batch_iter_next(&bi, &bt));
    ck_assert_int_eq(kw_batch_codec(&bt), codec);
    ck_assert_int_eq(bt.producer_id, 4711);
    ck_assert_int_eq(bt.producer_epoch, 3);
    ck_assert_int_eq(bt.base_sequence, 100);
    ck_assert_int_eq(bt.record_count, NRECS);
    ck_assert_int_eq(bt.base_timestamp, recs[0].ts);
    ck_assert_int_eq(bt.max_timestamp, 1700000000101);
    kw_wr scratch;
    kw_wr_init_dyn(&scratch, NULL, 1 << 20);
    kw_record_iter ri;
    ck_assert_int_eq(kw_record_iter_init(&ri, &bt, &scratch, 1 << 20), KW_ERR_OK);
    kw_record r;
    int i = 0;
    while (kw_record_iter_next(&ri, &r)) {
        ck_assert_int_lt(i, NRECS);
        ck_assert_int_eq(r.offset, i);
        ck_assert_int_eq(r.timestamp, recs[i].ts);
        kw_slice k = S(recs[i].key), v = S(recs[i].value);
        ck_assert_int_eq(r.key.len, k.len);
        ck_assert_int_eq(r.value.len, v.len);
        if (k.len > 0)
            ck_assert(memcmp(r.key.ptr, k.ptr, (size_t)k.len) == 0);
        if (v.len > 0)
            ck_assert(memcmp(r.value.ptr, v.ptr, (size_t)v.len) == 0);
        ck_assert_int_eq(r.n_headers, recs[i].nh);
        kw_header_iter hi;
        kw_header h;
        kw_header_iter_init(&hi, &r);
        for (int j = 0; j < recs[i].nh; j++) {
            ck_assert(kw_header_iter_next(&hi, &h));
            ck_assert_int_eq(h.key.len, recs[i].h[j].key.len);
            ck_assert_int_eq(h.value.len, recs[i].h[j].value.len);
        }
        i++;
    }
    ck_assert_int_eq(kw_record_iter_err(&ri), KW_ERR_OK);
    ck_assert_int_eq(i, NRECS);
    ck_assert(!kw_batch_iter_next(&bi, &bt));
    ck_assert_int_eq(kw_batch_iter_err(&bi), KW_ERR_OK);
    kw_wr_fini(&scratch);
}

START_TEST(test_batch_matches_builder)
{
    for (int zc = 0; zc <= 1; zc++) {
        kwi_pbatch b;
        batch_init(&b, KW_CODEC_NONE);
        fill(&b, zc);
        ck_assert_int_eq(b.n_refs, zc ? NRECS : 0);
        kw_wr mine, ref;
        kw_wr_init_dyn(&mine, NULL, 1 << 20);
        kw_wr_init_dyn(&ref, NULL, 1 << 20);
        kw_wr scratch;
        kw_wr_init_dyn(&scratch, NULL, 1 << 20);
        ck_assert_int_eq(kwi_batch_seal(&b, kw_allocator_default(), NULL, &scratch, -1), KW_ERR_OK);
        kwi_batch_write(&b, &mine);
        reference(&ref, KW_CODEC_NONE);
        ck_assert_int_eq(kw_wr_finish(&mine), KW_ERR_OK);
        ck_assert_uint_eq(kw_wr_len(&mine), kw_wr_len(&ref));
        ck_assert_uint_eq(kw_wr_len(&mine), KW_BATCH_HEADER_SIZE + kwi_batch_area_size(&b));
        ck_assert(memcmp(mine.base, ref.base, kw_wr_len(&ref)) == 0);
        check_records((kw_slice){mine.base, (int32_t)kw_wr_len(&mine)}, KW_CODEC_NONE);
        kw_wr_fini(&mine);
        kw_wr_fini(&ref);
        kw_wr_fini(&scratch);
        batch_fini(&b);
    }
}
END_TEST

START_TEST(test_batch_codecs)
{
    static const int codecs[] = {KW_CODEC_GZIP, KW_CODEC_SNAPPY, KW_CODEC_LZ4, KW_CODEC_ZSTD};
    /* One codec context for every batch, as the producer keeps one. */
    kw_codec_ctx *zctx;
    ck_assert_int_eq(kw_codec_ctx_new(NULL, &zctx), KW_ERR_OK);
    for (size_t c = 0; c < 4; c++) {
        if (!kw_codec_available(codecs[c]))
            continue;
        for (int zc = 0; zc <= 1; zc++) {
            kwi_pbatch b;
            batch_init(&b, codecs[c]);
            fill(&b, zc);
            kw_wr scratch, out;
            kw_wr_init_dyn(&scratch, NULL, 1 << 20);
            kw_wr_init_dyn(&out, NULL, 1 << 20);
            ck_assert_int_eq(kwi_batch_seal(&b, kw_allocator_default(), zctx, &scratch, -1),
                             KW_ERR_OK);
            kwi_batch_write(&b, &out);
            /* Written again, as for a retry: compressed once, the same bytes. */
            kw_wr again;
            kw_wr_init_dyn(&again, NULL, 1 << 20);
            kwi_batch_write(&b, &again);
            ck_assert(memcmp(out.base, again.base, kw_wr_len(&out)) == 0);
            check_records((kw_slice){out.base, (int32_t)kw_wr_len(&out)}, codecs[c]);
            kw_wr_fini(&again);
            kw_wr_fini(&out);
            kw_wr_fini(&scratch);
            batch_fini(&b);
        }
    }
    kw_codec_ctx_free(zctx);
}
END_TEST

START_TEST(test_produce_request_all_versions)
{
    static kwi_ptopic t2;
    static kwi_ptp tp2, tp3;
    memset(&t2, 0, sizeof(t2));
    t2.name = "other.topic";
    t2.len = strlen(t2.name);
    memset(t2.id.b, 0xab, 16);
    memset(topic.id.b, 0x11, 16);
    tp2 = tp;
    tp2.id = 0;
    tp3.t = &t2;
    tp3.id = 7;
    kwi_pbatch b[3];
    kwi_pbatch *bp[3] = {&b[0], &b[1], &b[2]};
    kwi_ptp *tps[3] = {&tp, &tp2, &tp3};
    for (int i = 0; i < 3; i++) {
        batch_init(&b[i], KW_CODEC_NONE);
        b[i].tp = tps[i];
        fill(&b[i], i == 1);
        b[i].sealed = true;
    }
    kwi_preq q;
    memset(&q, 0, sizeof(q));
    q.acks = -1;
    q.timeout_ms = 12345;
    q.txn_id = KW_SLICE_NULL;
    q.n = 3;
    q.b = bp;
    for (int16_t ver = 3; ver <= 13; ver++) {
        kw_wr w;
        kw_wr_init_dyn(&w, NULL, 1 << 22);
        ck_assert_int_eq(kwi_batch_produce_encode(&w, ver, &q), KW_ERR_OK);
        kw_rd r;
        kw_rd_init(&r, w.base, kw_wr_len(&w));
        kw_arena ar;
        kw_arena_init(&ar, NULL, 0);
        kw_produce_req m;
        ck_assert_int_eq(kw_msg_decode(&kw_msg_produce_req, ver, &r, &ar, &m), KW_ERR_OK);
        ck_assert_int_eq(m.acks, -1);
        ck_assert_int_eq(m.timeout_ms, 12345);
        ck_assert_int_eq(m.transactional_id.len, -1);
        ck_assert_int_eq(m.n_topic_data, 2);
        if (ver <= 12) {
            ck_assert(kw_slice_eq(m.topic_data[0].name, "events"));
            ck_assert(kw_slice_eq(m.topic_data[1].name, "other.topic"));
        } else {
            ck_assert(memcmp(&m.topic_data[0].topic_id, &topic.id, 16) == 0);
            ck_assert(memcmp(&m.topic_data[1].topic_id, &t2.id, 16) == 0);
        }
        ck_assert_int_eq(m.topic_data[0].n_partition_data, 2);
        ck_assert_int_eq(m.topic_data[0].partition_data[0].index, 3);
        ck_assert_int_eq(m.topic_data[0].partition_data[1].index, 0);
        ck_assert_int_eq(m.topic_data[1].n_partition_data, 1);
        ck_assert_int_eq(m.topic_data[1].partition_data[0].index, 7);
        for (int i = 0; i < 3; i++) {
            kw_slice rs = i < 2 ? m.topic_data[0].partition_data[i].records
                                : m.topic_data[1].partition_data[0].records;
            kw_wr one;
            kw_wr_init_dyn(&one, NULL, 1 << 20);
            kwi_batch_write(&b[i], &one);
            ck_assert_int_eq(rs.len, (int32_t)kw_wr_len(&one));
            ck_assert(memcmp(rs.ptr, one.base, kw_wr_len(&one)) == 0);
            check_records(rs, KW_CODEC_NONE);
            kw_wr_fini(&one);
        }
        kw_arena_fini(&ar);
        kw_wr_fini(&w);
    }
    for (int i = 0; i < 3; i++)
        batch_fini(&b[i]);
}
END_TEST

START_TEST(test_record_size_and_bad_input)
{
    size_t body;
    kw_header bad = {KW_SLICE_NULL, S("v")};
    ck_assert_uint_eq(kwi_batch_record_size(0, 0, S("k"), 1, &bad, 1, &body), 0);
    ck_assert_uint_eq(kwi_batch_record_size(0, 0, (kw_slice){NULL, -2}, 1, NULL, 0, &body), 0);
    ck_assert_uint_eq(kwi_batch_record_size(0, 0, S("k"), -2, NULL, 0, &body), 0);
    /* Agrees with the codec's own size function. */
    kw_header h = {S("hk"), S("hv")};
    ck_assert_uint_eq(kwi_batch_record_size(-5, 7, S("key"), 300, &h, 1, &body),
                      kw_record_size(-5, 7, S("key"), (kw_slice){(const uint8_t *)"", 300}, &h, 1));
}
END_TEST

/* Kafka's UtilsTest.testMurmur2 hashes: the Java client's partition is
 * (hash & 0x7fffffff) % partitions. */
static const struct {
    const char *key;
    int32_t hash;
} java[] = {
    {"21", -973932308},
    {"foobar", -790332482},
    {"a-little-bit-long-string", -985981536},
    {"a-little-bit-longer-string", -1486304829},
    {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
    {"abc", 479470107},
};

START_TEST(test_partitioners)
{
    for (size_t i = 0; i < sizeof(java) / sizeof(java[0]); i++)
        for (int32_t n = 1; n <= 13; n += 3) {
            int32_t want = (int32_t)(((uint32_t)java[i].hash & 0x7fffffffu) % (uint32_t)n);
            ck_assert_int_eq(kwi_part_hash(KWI_PARTITIONER_MURMUR2_RANDOM, S(java[i].key), n),
                             want);
            ck_assert_int_eq(kwi_part_hash(KWI_PARTITIONER_MURMUR2, S(java[i].key), n), want);
        }
    /* Keyless: the *_random ones leave it to stickiness, the others hash the empty key. */
    ck_assert_int_eq(kwi_part_hash(KWI_PARTITIONER_MURMUR2_RANDOM, KW_SLICE_NULL, 6), -1);
    ck_assert_int_eq(kwi_part_hash(KWI_PARTITIONER_CONSISTENT_RANDOM, KW_SLICE_NULL, 6), -1);
    ck_assert_int_eq(kwi_part_hash(KWI_PARTITIONER_FNV1A_RANDOM, KW_SLICE_NULL, 6), -1);
    ck_assert_int_eq(kwi_part_hash(KWI_PARTITIONER_RANDOM, S("k"), 6), -1);
    /* CRC-32 of "123456789" is 0xcbf43926; FNV-1a of "" is 0x7ee3623b after librdkafka's abs. */
    ck_assert_int_eq(kwi_part_hash(KWI_PARTITIONER_CONSISTENT, S("123456789"), 1000),
                     (int32_t)(0xcbf43926u % 1000));
    ck_assert_int_eq(kwi_part_hash(KWI_PARTITIONER_CONSISTENT, KW_SLICE_NULL, 7), 0);
    ck_assert_int_eq(kwi_part_hash(KWI_PARTITIONER_FNV1A, KW_SLICE_NULL, 1000),
                     (int32_t)(0x7ee3623bu % 1000));
    ck_assert_int_eq(kwi_part_hash(KWI_PARTITIONER_FNV1A_RANDOM, S(""), 1000),
                     (int32_t)(0x7ee3623bu % 1000));
}
END_TEST

START_TEST(test_weighted_choice)
{
    /* Queues 0, 10, 5: weights 11, 1, 6 (total 18). */
    int32_t avail[3] = {2, 4, 9}, queue[3] = {0, 10, 5};
    int hits[10] = {0};
    for (uint64_t r = 0; r < 18 * 100; r++)
        hits[kwi_part_weighted(avail, queue, 3, r)]++;
    ck_assert_int_eq(hits[2], 1100);
    ck_assert_int_eq(hits[4], 100);
    ck_assert_int_eq(hits[9], 600);
    /* Equal queues: uniform. */
    int32_t eq[3] = {4, 4, 4};
    memset(hits, 0, sizeof(hits));
    for (uint64_t r = 0; r < 300; r++)
        hits[kwi_part_weighted(avail, eq, 3, r)]++;
    ck_assert_int_eq(hits[2], 100);
    ck_assert_int_eq(hits[4], 100);
    ck_assert_int_eq(hits[9], 100);
    ck_assert_int_eq(kwi_part_weighted(avail, eq, 0, 5), -1);
}
END_TEST

START_TEST(test_retry_backoff)
{
    /* retry.backoff.ms 100 doubling up to retry.backoff.max.ms 1000, each within +-20%. */
    kw_producer p;
    memset(&p, 0, sizeof(p));
    p.backoff_ms = 100;
    p.backoff_max_ms = 1000;
    p.rng = 42;
    int64_t lo = 1000000, hi = 0;
    for (int i = 0; i < 1000; i++) {
        int64_t b = kwi_send_backoff(&p, 1);
        ck_assert(b >= 80 && b <= 120);
        lo = b < lo ? b : lo;
        hi = b > hi ? b : hi;
        b = kwi_send_backoff(&p, 3);
        ck_assert(b >= 320 && b <= 480);
        b = kwi_send_backoff(&p, 30);
        ck_assert(b >= 800 && b <= 1000);
    }
    ck_assert_int_lt(lo, 90); /* it does jitter */
    ck_assert_int_gt(hi, 110);
    p.backoff_ms = 0;
    ck_assert_int_eq(kwi_send_backoff(&p, 5), 0);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("producer_batch");
    TCase *tc = tcase_create("batch");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_batch_matches_builder);
    tcase_add_test(tc, test_batch_codecs);
    tcase_add_test(tc, test_produce_request_all_versions);
    tcase_add_test(tc, test_record_size_and_bad_input);
    tcase_add_test(tc, test_partitioners);
    tcase_add_test(tc, test_weighted_choice);
    tcase_add_test(tc, test_retry_backoff);
    suite_add_tcase(s, tc);
    return s;
}
