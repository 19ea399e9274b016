/* The consumer under faults, against kwire-mock: leader moves, Fetch errors that call for a
 * metadata refresh (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION,
 * UNKNOWN_LEADER_EPOCH), dropped connections and a broker going down and up, all while
 * consuming: every record still arrives exactly once and in order. A corrupt batch (bad CRC)
 * and a topic authorization error reach the application in-band. read_committed against the
 * mock's transaction coordinator: aborted data and control records are never handed out, the
 * position stops at the last stable offset. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../mock/txn_util.h"
#include "cons_util.h"
#include "kwire/mock_control.h"

#define API_FETCH 1

static kw_mock *mock;

static void
setup3(void)
{
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    mc.brokers = 3;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_new(&mc, &mock, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(kw_mock_topic_create(mock, "f", 6, 3, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_thread_start(mock, &err), KW_ERR_OK);
}

static void
teardown(void)
{
    kw_mock_free(mock);
    mock = NULL;
}

static void
produce_all(const char *topic, int32_t parts, int per_part)
{
    kwt_drs d;
    kwt_drs_init(&d, (size_t)(parts * per_part));
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_producer *p = kwt_producer(c, &d);
    uint32_t id = 0;
    for (int32_t part = 0; part < parts; part++)
        for (int i = 0; i < per_part; i++)
            kwt_send(p, topic, part, id++, true);
    kwt_drain(p, &d, (size_t)(parts * per_part));
    ck_assert_uint_eq(d.ok, (size_t)(parts * per_part));
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}

static int32_t
leader_of(const char *topic, int32_t part)
{
    kw_mock_partition_info pi;
    ck_assert_int_eq(kw_mock_partition_info_get(mock, topic, part, &pi), KW_ERR_OK);
    return pi.leader;
}

/* One fault, chosen by round. */
static void
inject(int round)
{
    int32_t node = 1 + round % 3;
    switch (round % 6) {
    case 0: {
        int32_t part = round % 6;
        ck_assert_int_eq(
            kw_mock_partition_leader_set(mock, "f", part, 1 + leader_of("f", part) % 3), KW_ERR_OK);
        break;
    }
    case 1: {
        int16_t codes[] = {6, 74, 3, 75};
        ck_assert_int_eq(kw_mock_fault_errors(mock, node, API_FETCH, codes, 4), KW_ERR_OK);
        break;
    }
    case 2:
        ck_assert_int_eq(kw_mock_fault_drop(mock, node, API_FETCH, 0), KW_ERR_OK);
        break;
    case 3: {
        /* Every partition of this broker moves away. */
        for (int32_t part = 0; part < 6; part++)
            if (leader_of("f", part) == node)
                ck_assert_int_eq(kw_mock_partition_leader_set(mock, "f", part, 1 + node % 3),
                                 KW_ERR_OK);
        break;
    }
    case 4:
        ck_assert_int_eq(kw_mock_broker_down(mock, node), KW_ERR_OK);
        break;
    default:
        for (int32_t n = 1; n <= 3; n++)
            ck_assert_int_eq(kw_mock_broker_up(mock, n, NULL), KW_ERR_OK);
        break;
    }
}

START_TEST(test_faults_exactly_once_in_order)
{
    produce_all("f", 6, 1000);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign_all(k, "f", 6, KW_OFFSET_BEGINNING);
    kwt_got g;
    kwt_got_init(&g);
    int round = 0;
    while (g.n < 6000) {
        size_t want = 6000 - g.n < 250 ? 6000 - g.n : 250;
        ck_assert_uint_eq(kwt_poll_until(k, &g, want, 100, KWT_CONS_DEADLINE_MS), want);
        inject(round++);
    }
    for (int32_t n = 1; n <= 3; n++)
        ck_assert_int_eq(kw_mock_broker_up(mock, n, NULL), KW_ERR_OK);
    ck_assert_uint_eq(kwt_poll_for(k, &g, 300), 0);
    ck_assert_uint_eq(g.errors, 0);
    for (int32_t part = 0; part < 6; part++)
        kwt_check_stored(mock, &g, "f", part, 0, 1000);
    kw_consumer_stats st;
    kw_consumer_stats_get(k, &st);
    fprintf(stderr, "faults: %d rounds, %llu fetch errors, %llu requests\n", round,
            (unsigned long long)st.fetch_errors, (unsigned long long)st.fetch_requests);
    ck_assert_uint_ge(st.fetch_errors, 4);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

START_TEST(test_corrupt_batch_in_band)
{
    produce_all("f", 1, 50);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_consumer *k = kwt_consumer(c);
    ck_assert_int_eq(kw_mock_fault_hostile(mock, leader_of("f", 0), KW_MOCK_HOSTILE_CRC, 1, 0),
                     KW_ERR_OK);
    kwt_assign1(k, "f", 0, 0);
    kwt_got g;
    kwt_got_init(&g);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 1, 1, KWT_CONS_DEADLINE_MS), 1);
    ck_assert_int_eq(g.v[0].err, KW_ERR_CRC);
    ck_assert_int_eq(g.v[0].partition, 0);
    ck_assert_int_eq(g.v[0].offset, 0);
    /* The partition stops there; seeking to the position fetches again (the mock's fault was
     * one-shot), and everything arrives. */
    ck_assert_uint_eq(kwt_poll_for(k, &g, 200), 0);
    ck_assert_int_eq(kw_consumer_seek(k, "f", 0, 0, NULL), KW_ERR_OK);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 50, 50, KWT_CONS_DEADLINE_MS), 50);
    kwt_check_stored(mock, &g, "f", 0, 0, 50);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

START_TEST(test_authorization_error_in_band)
{
    produce_all("f", 1, 20);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_consumer *k = kwt_consumer(c);
    int16_t codes[] = {29, 29, 29};
    ck_assert_int_eq(kw_mock_fault_errors(mock, leader_of("f", 0), API_FETCH, codes, 3), KW_ERR_OK);
    kwt_assign1(k, "f", 0, 0);
    kwt_got g;
    kwt_got_init(&g);
    /* Reported once per streak, then retried after the backoff until the broker allows it. */
    ck_assert_uint_eq(kwt_poll_until(k, &g, 21, 21, KWT_CONS_DEADLINE_MS), 21);
    ck_assert_uint_eq(g.errors, 1);
    ck_assert_int_eq(g.v[0].err, KW_ERR_BROKER);
    ck_assert_int_eq(g.v[0].code, 29);
    ck_assert_ptr_nonnull(strstr(g.v[0].errstr, "TOPIC_AUTHORIZATION_FAILED"));
    kwt_check_stored(mock, &g, "f", 0, 0, 20);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

/* ---- read_committed ---------------------------------------------------------------------- */

static void
setup1(void)
{
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    mc.brokers = 1;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_new(&mc, &mock, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(kw_mock_topic_create(mock, "t", 1, 1, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_thread_start(mock, &err), KW_ERR_OK);
}

/* A transaction of n records "<prefix><i>" on t-0; ended with commit, abort, or left open. */
static void
txn(mc *cl, const char *tid, const char *prefix, int n, int end /* 1 commit, 0 abort, -1 open */)
{
    int64_t pid;
    int16_t epoch;
    ck_assert_int_eq(tx_init(cl, 4, tid, 60000, -1, -1, &pid, &epoch), 0);
    int32_t part = 0;
    ck_assert_int_eq(tx_add(cl, 3, tid, pid, epoch, "t", &part, 1, NULL), 0);
    kw_wr w = {0};
    tx_batch(&w, n, prefix, pid, epoch, 0, true);
    ck_assert_int_eq(tx_produce(cl, 8, tid, "t", 0, tx_slice(&w), NULL), 0);
    kw_wr_fini(&w);
    if (end >= 0)
        ck_assert_int_eq(tx_end(cl, 3, tid, pid, epoch, end == 1, NULL, NULL), 0);
}

static void
plain(mc *cl, const char *prefix, int n)
{
    kw_wr w = {0};
    tx_batch(&w, n, prefix, -1, -1, -1, false);
    ck_assert_int_eq(tx_produce(cl, 8, NULL, "t", 0, tx_slice(&w), NULL), 0);
    kw_wr_fini(&w);
}

static void
keys_of(const kwt_got *g, char *out, size_t cap)
{
    out[0] = '\0';
    for (size_t i = 0; i < g->n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s%s", l ? "," : "", g->v[i].key ? g->v[i].key : "?");
    }
}

START_TEST(test_read_committed)
{
    mc *cl = mc_connect(mock, 1, true);
    txn(cl, "tx1", "a", 3, 0);  /* aborted: offsets 0-2, marker 3 */
    plain(cl, "p", 2);          /* 4-5 */
    txn(cl, "tx2", "c", 3, 1);  /* committed: 6-8, marker 9 */
    txn(cl, "tx1", "x", 2, 0);  /* aborted again: 10-11, marker 12 */
    plain(cl, "q", 1);          /* 13 */
    txn(cl, "tx3", "o", 2, -1); /* open: 14-15 */
    mc_close(cl);
    int64_t lso = tx_lso(mock, "t", 0), hw = tx_hw(mock, "t", 0);
    ck_assert_int_eq(lso, 14);
    ck_assert_int_eq(hw, 16);
    for (int iso = 0; iso < 2; iso++) {
        const char *extra[] = {iso ? "isolation.level=read_committed" : NULL, NULL};
        kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
        kw_consumer *k = kwt_consumer(c);
        kwt_assign1(k, "t", 0, KW_OFFSET_BEGINNING);
        kwt_got g;
        kwt_got_init(&g);
        size_t want = iso ? 6 : 13;
        ck_assert_uint_eq(kwt_poll_until(k, &g, want, 100, KWT_CONS_DEADLINE_MS), want);
        ck_assert_uint_eq(kwt_poll_for(k, &g, 300), 0);
        char keys[512];
        keys_of(&g, keys, sizeof(keys));
        ck_assert_str_eq(keys,
                         iso ? "p0,p1,c0,c1,c2,q0" : "a0,a1,a2,p0,p1,c0,c1,c2,x0,x1,q0,o0,o1");
        int64_t pos, lag;
        ck_assert_int_eq(kw_consumer_position(k, "t", 0, &pos, NULL), KW_ERR_OK);
        ck_assert_int_eq(pos, iso ? lso : hw);
        ck_assert_int_eq(kw_consumer_lag(k, "t", 0, &lag, NULL), KW_ERR_OK);
        ck_assert_int_eq(lag, 0);
        kw_consumer_stats st;
        kw_consumer_stats_get(k, &st);
        ck_assert_uint_eq(st.aborted, iso ? 5 : 0);
        /* The end for read_committed is the last stable offset. */
        ck_assert_int_eq(kw_consumer_seek(k, "t", 0, KW_OFFSET_END, NULL), KW_ERR_OK);
        int64_t end = kwt_mono_ms() + KWT_CONS_DEADLINE_MS;
        do {
            kwt_poll_for(k, &g, 50);
            kw_consumer_position(k, "t", 0, &pos, NULL);
        } while (pos == KW_OFFSET_INVALID && kwt_mono_ms() < end);
        ck_assert_int_eq(pos, iso ? lso : hw);
        kwt_got_fini(&g);
        kw_consumer_free(k);
        kw_client_free(c);
    }
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("consumer_faults");
    TCase *tc = tcase_create("faults");
    tcase_add_checked_fixture(tc, setup3, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, test_faults_exactly_once_in_order);
    tcase_add_test(tc, test_corrupt_batch_in_band);
    tcase_add_test(tc, test_authorization_error_in_band);
    suite_add_tcase(s, tc);
    tc = tcase_create("txn");
    tcase_add_checked_fixture(tc, setup1, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_read_committed);
    suite_add_tcase(s, tc);
    return s;
}
