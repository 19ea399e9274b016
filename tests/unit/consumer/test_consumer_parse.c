/* The fetcher's handling of one partition's records, fed crafted Fetch response data directly
 * (no broker: kwire-mock only writes magic-2 batches, so legacy message sets are built here):
 * legacy magic 0 and 1 messages and a gzip wrapper with relative inner offsets, timestamp
 * types, a batch that starts before the fetch position, a partial trailing batch, the
 * read_committed filter over the response's aborted list with control batches, and a corrupt
 * batch after good ones. What comes out of kw_consumer_poll is checked message by message. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/codec.h"
#include "../proto/records_support.h"
#include "client/consumer_int.h"
#include "cons_util.h"

static kw_client *
offline_client(const char *const *extra)
{
    /* Nothing listens there: the consumer's own fetcher never gets data, only what the test
     * hands to kwi_fetch_apply. */
    return kwt_prod_client("127.0.0.1:9", extra);
}

static void
apply(kw_consumer *k, const char *topic, int32_t part, kw_slice records, int64_t hw,
      const kw_fetch_aborted_txn *aborted, int32_t n_aborted)
{
    pthread_mutex_lock(&k->c->lock);
    kwi_ctp *tp = kwi_cons_find(k, topic, strlen(topic), part);
    ck_assert_ptr_nonnull(tp);
    kw_fetch_resp_partition rp;
    memset(&rp, 0, sizeof(rp));
    rp.partition_index = part;
    rp.high_watermark = hw;
    rp.last_stable_offset = hw;
    rp.log_start_offset = 0;
    rp.aborted_transactions = (kw_fetch_aborted_txn *)aborted;
    rp.n_aborted_transactions = aborted ? n_aborted : -1;
    rp.records = records;
    kwi_fetch_apply(k, tp, &rp);
    pthread_mutex_unlock(&k->c->lock);
}

static int64_t
fetch_pos(kw_consumer *k, const char *topic, int32_t part)
{
    pthread_mutex_lock(&k->c->lock);
    int64_t p = kwi_cons_find(k, topic, strlen(topic), part)->fetch_pos;
    pthread_mutex_unlock(&k->c->lock);
    return p;
}

static void
batch(kw_wr *w, int64_t base, int n, const char *prefix, int64_t pid, bool txn)
{
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    o.base_offset = base;
    o.partition_leader_epoch = 4;
    if (pid >= 0) {
        o.producer_id = pid;
        o.producer_epoch = 0;
        o.base_sequence = 0;
    }
    if (txn)
        o.attributes = KW_BATCH_ATTR_TRANSACTIONAL;
    kw_batch_builder b;
    ck_assert_int_eq(kw_batch_builder_init(&b, w, &o), KW_ERR_OK);
    for (int i = 0; i < n; i++) {
        char s[32];
        snprintf(s, sizeof(s), "%s%lld", prefix, (long long)(base + i));
        ck_assert_int_eq(
            kw_batch_builder_add(&b, 5000 + base + i, kw_slice_str(s), kw_slice_str(s), NULL, 0),
            KW_ERR_OK);
    }
    ck_assert_int_eq(kw_batch_builder_finish(&b, NULL), KW_ERR_OK);
}

static void
control(kw_wr *w, int64_t offset, int64_t pid, int16_t type)
{
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    o.base_offset = offset;
    o.producer_id = pid;
    o.producer_epoch = 0;
    ck_assert_int_eq(kw_control_batch_encode(w, &o, 6000, type, 0), KW_ERR_OK);
}

static kw_slice
sl(const kw_wr *w)
{
    return (kw_slice){w->base, (int32_t)kw_wr_len(w)};
}

START_TEST(test_legacy_message_sets)
{
    if (!kw_codec_available(KW_CODEC_GZIP)) {
        fprintf(stderr, "SKIP: test_legacy_message_sets: gzip is not built in\n");
        return;
    }
    kw_client *c = offline_client(NULL);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign1(k, "t", 0, 8);
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1 << 20);
    kwt_legacy_msg(&w, 7, 0, 0, -1, kw_slice_str("k7"), kw_slice_str("v7")); /* below position */
    kwt_legacy_msg(&w, 8, 0, 0, -1, kw_slice_str("k8"), kw_slice_str("v8"));
    kwt_legacy_msg(&w, 9, 1, 0, 1234, kw_slice_str("k9"), KW_SLICE_NULL);
    kwt_legacy_msg(&w, 10, 1, 0x08, 5555, KW_SLICE_NULL, kw_slice_str("v10"));
    /* A gzip wrapper (magic 1): inner offsets 0..2 are relative; the wrapper carries the
     * absolute offset of the last one, 13, so they are 11, 12, 13. */
    kw_wr inner, z;
    kw_wr_init_dyn(&inner, NULL, 1 << 20);
    kw_wr_init_dyn(&z, NULL, 1 << 20);
    for (int i = 0; i < 3; i++) {
        char s[16];
        snprintf(s, sizeof(s), "z%d", 11 + i);
        kwt_legacy_msg(&inner, i, 1, 0, 7000 + i, kw_slice_str(s), kw_slice_str(s));
    }
    kwt_gzip_stored(&z, inner.base, kw_wr_len(&inner));
    kwt_legacy_msg(&w, 13, 1, 1 /* gzip */, 7002, KW_SLICE_NULL, sl(&z));
    apply(k, "t", 0, sl(&w), 14, NULL, 0);
    kwt_got g;
    kwt_got_init(&g);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 6, 10, 10000), 6);
    ck_assert_uint_eq(g.errors, 0);
    int64_t want_off[6] = {8, 9, 10, 11, 12, 13};
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(g.v[i].offset, want_off[i]);
        ck_assert_int_eq(g.v[i].leader_epoch, -1);
    }
    ck_assert_int_eq(g.v[0].ts_type, KW_TIMESTAMP_NONE);
    ck_assert_int_eq(g.v[0].ts, -1);
    ck_assert_str_eq(g.v[0].value, "v8");
    ck_assert_int_eq(g.v[1].ts_type, KW_TIMESTAMP_CREATE_TIME);
    ck_assert_int_eq(g.v[1].ts, 1234);
    ck_assert_ptr_null(g.v[1].value);
    ck_assert_int_eq(g.v[2].ts_type, KW_TIMESTAMP_LOG_APPEND_TIME);
    ck_assert_int_eq(g.v[2].ts, 5555);
    ck_assert_ptr_null(g.v[2].key);
    for (int i = 3; i < 6; i++) {
        char s[16];
        snprintf(s, sizeof(s), "z%d", 8 + i);
        ck_assert_str_eq(g.v[i].key, s);
        ck_assert_int_eq(g.v[i].ts, 7000 + i - 3);
    }
    int64_t pos;
    ck_assert_int_eq(kw_consumer_position(k, "t", 0, &pos, NULL), KW_ERR_OK);
    ck_assert_int_eq(pos, 14);
    kw_wr_fini(&w);
    kw_wr_fini(&inner);
    kw_wr_fini(&z);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

START_TEST(test_batch_before_position_and_partial_tail)
{
    kw_client *c = offline_client(NULL);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign1(k, "t", 0, 3);
    kw_wr w, b2;
    kw_wr_init_dyn(&w, NULL, 1 << 20);
    kw_wr_init_dyn(&b2, NULL, 1 << 20);
    batch(&w, 0, 5, "r", -1, false);
    batch(&b2, 5, 5, "r", -1, false);
    /* The second batch cut short, as a broker cuts a response at max bytes. */
    kw_wr_raw(&w, b2.base, kw_wr_len(&b2) - 10);
    apply(k, "t", 0, sl(&w), 10, NULL, 0);
    ck_assert_int_eq(fetch_pos(k, "t", 0), 5);
    kwt_got g;
    kwt_got_init(&g);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 2, 10, 10000), 2);
    ck_assert_int_eq(g.v[0].offset, 3);
    ck_assert_int_eq(g.v[1].offset, 4);
    ck_assert_int_eq(g.v[0].leader_epoch, 4);
    /* The next response brings the whole batch. */
    apply(k, "t", 0, sl(&b2), 10, NULL, 0);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 5, 10, 10000), 5);
    for (int i = 0; i < 7; i++)
        ck_assert_int_eq(g.v[i].offset, 3 + i);
    ck_assert_str_eq(g.v[6].value, "r9");
    ck_assert_uint_eq(kwt_poll_for(k, &g, 50), 0);
    kw_wr_fini(&w);
    kw_wr_fini(&b2);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

START_TEST(test_read_committed_filter)
{
    const char *extra[] = {"isolation.level=read_committed", NULL};
    kw_client *c = offline_client(extra);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign1(k, "t", 0, 0);
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1 << 20);
    batch(&w, 0, 2, "a", 7, true);   /* 0-1 aborted */
    batch(&w, 2, 1, "n", -1, false); /* 2 plain */
    batch(&w, 3, 2, "c", 8, true);   /* 3-4 committed */
    control(&w, 5, 7, KW_CONTROL_ABORT);
    control(&w, 6, 8, KW_CONTROL_COMMIT);
    batch(&w, 7, 1, "b", 7, true); /* 7: a later transaction of 7, aborted too */
    control(&w, 8, 7, KW_CONTROL_ABORT);
    batch(&w, 9, 1, "d", 7, true); /* 9: committed (no aborted entry reaches it) */
    control(&w, 10, 7, KW_CONTROL_COMMIT);
    kw_fetch_aborted_txn ab[2] = {{7, 7, {0}}, {7, 0, {0}}}; /* unordered on purpose */
    apply(k, "t", 0, sl(&w), 11, ab, 2);
    kwt_got g;
    kwt_got_init(&g);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 4, 10, 10000), 4);
    ck_assert_uint_eq(kwt_poll_for(k, &g, 50), 0);
    const char *want[4] = {"n2", "c3", "c4", "d9"};
    for (int i = 0; i < 4; i++)
        ck_assert_str_eq(g.v[i].key, want[i]);
    int64_t pos;
    ck_assert_int_eq(kw_consumer_position(k, "t", 0, &pos, NULL), KW_ERR_OK);
    ck_assert_int_eq(pos, 11); /* past the last control batch */
    kw_consumer_stats st;
    kw_consumer_stats_get(k, &st);
    ck_assert_uint_eq(st.aborted, 3);
    kw_wr_fini(&w);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

START_TEST(test_corrupt_after_good)
{
    kw_client *c = offline_client(NULL);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign1(k, "t", 0, 0);
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1 << 20);
    batch(&w, 0, 3, "g", -1, false);
    size_t cut = kw_wr_len(&w);
    batch(&w, 3, 3, "g", -1, false);
    w.base[cut + 70] ^= 0x55; /* inside the second batch's records: its CRC no longer holds */
    apply(k, "t", 0, sl(&w), 6, NULL, 0);
    kwt_got g;
    kwt_got_init(&g);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 4, 10, 10000), 4);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(g.v[i].offset, i);
    ck_assert_int_eq(g.v[3].err, KW_ERR_CRC);
    ck_assert_int_eq(g.v[3].offset, 3);
    ck_assert_ptr_nonnull(strstr(g.v[3].errstr, "t [0]"));
    ck_assert_int_eq(fetch_pos(k, "t", 0), 3);
    kw_wr_fini(&w);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("consumer_parse");
    TCase *tc = tcase_create("parse");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_legacy_message_sets);
    tcase_add_test(tc, test_batch_before_position_and_partial_tail);
    tcase_add_test(tc, test_read_committed_filter);
    tcase_add_test(tc, test_corrupt_after_good);
    suite_add_tcase(s, tc);
    return s;
}
