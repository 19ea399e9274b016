/* The producer under broker faults, against kwire-mock, which checks idempotent sequences as
 * Kafka does (duplicates of the last five batches are acknowledged without being written
 * again, gaps are refused). Each test streams records while faults happen and then reads every
 * partition back: each record must be there exactly once, in the order it was sent within its
 * partition, with one delivery report that names its offset. Faults: injected retriable
 * errors, dropped connections (the broker may or may not have written the batch), leader
 * moves, a broker down and up, sequence errors that need a new epoch, retries running out, a
 * non-retriable error, and an error that makes the producer fatal. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/mock_control.h"
#include "prod_util.h"

#define API_PRODUCE          0
#define API_INIT_PRODUCER_ID 22

static kw_mock *mock;

static void
setup(void)
{
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    mc.brokers = 3;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_new(&mc, &mock, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(kw_mock_topic_create(mock, "t", 6, 3, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_thread_start(mock, &err), KW_ERR_OK);
}

static void
teardown(void)
{
    kw_mock_free(mock);
    mock = NULL;
}

/* Every record 0..n-1 is stored exactly once, in send order within its partition, where and
 * at the offset its report says (records in `failed` must have failed and not be stored). */
static void
check_exactly_once(uint32_t n, const kwt_drs *d, const bool *may_fail)
{
    uint8_t *seen = calloc(n, 1);
    size_t total = 0;
    for (int32_t part = 0; part < 6; part++) {
        kwt_stored s;
        kwt_mock_read_all(mock, "t", part, &s);
        long last = -1;
        for (size_t i = 0; i < s.n; i++) {
            long id = strtol(s.values[i] + 1, NULL, 10);
            KWT_CHECK(id < (long)n, "v%ld", id);
            KWT_CHECK(!seen[id], "v%ld stored twice (partition %d)", id, part);
            seen[id] = 1;
            KWT_CHECK(id > last, "partition %d: v%ld after v%ld", part, id, last);
            last = id;
            const kwt_dr *r = &d->v[id];
            KWT_CHECK(r->err == KW_ERR_OK, "v%ld is stored but reported %s", id,
                      kw_err_name(r->err));
            KWT_CHECK(r->partition == part, "v%ld: reported partition %d", id, r->partition);
            KWT_CHECK(r->offset < 0 || r->offset == s.offsets[i], "v%ld: reported offset", id);
        }
        total += s.n;
        kwt_stored_fini(&s);
    }
    for (uint32_t i = 0; i < n; i++) {
        KWT_CHECK(d->v[i].calls == 1, "v%u reported %d times", i, d->v[i].calls);
        KWT_CHECK(seen[i] || (may_fail && may_fail[i] && d->v[i].err != KW_ERR_OK),
                  "v%u is missing (reported %s)", i, kw_err_name(d->v[i].err));
    }
    free(seen);
    (void)total;
}

typedef void (*fault_fn)(int round);

/* Sends n keyed records in 20 rounds, calling fault(round) before each. */
static void
stream(kw_producer *p, uint32_t n, fault_fn fault)
{
    kw_client *c = kw_producer_client(p);
    for (int round = 0; round < 20; round++) {
        if (fault)
            fault(round);
        for (uint32_t i = n / 20 * (uint32_t)round; i < n / 20 * (uint32_t)(round + 1); i++)
            kwt_send(p, "t", KW_PARTITION_ANY, i, true);
        kw_client_step(c, 5, NULL);
    }
}

static void
inject(int32_t node, int16_t api, int16_t code, int32_t count)
{
    int16_t codes[64];
    for (int32_t i = 0; i < count; i++)
        codes[i] = code;
    ck_assert_int_eq(kw_mock_fault_errors(mock, node, api, codes, count), KW_ERR_OK);
}

static void
retriable_errors(int round)
{
    static const int16_t codes[] = {6, 7, 13, 19, 20, 56};
    if (round % 2 == 0)
        inject((round / 2) % 3 + 1, API_PRODUCE, codes[(round / 2) % 6], 2);
}

START_TEST(test_injected_retriable_errors_exactly_once)
{
    kwt_drs d;
    kwt_drs_init(&d, 20000);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_producer *p = kwt_producer(c, &d);
    stream(p, 20000, retriable_errors);
    kwt_drain(p, &d, 20000);
    ck_assert_uint_eq(d.ok, 20000);
    check_exactly_once(20000, &d, NULL);
    kw_producer_stats st;
    kw_producer_stats_get(p, &st);
    ck_assert_uint_gt(st.retries, 0);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

static void
drops(int round)
{
    if (round % 3 == 1)
        ck_assert_int_eq(kw_mock_fault_drop(mock, round % 3 + 1, API_PRODUCE, 1), KW_ERR_OK);
    if (round % 5 == 2)
        ck_assert_int_eq(kw_mock_fault_drop(mock, 1 + (round / 5) % 3, -1, 0), KW_ERR_OK);
}

START_TEST(test_dropped_connections_exactly_once)
{
    kwt_drs d;
    kwt_drs_init(&d, 20000);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_producer *p = kwt_producer(c, &d);
    stream(p, 20000, drops);
    kwt_drain(p, &d, 20000);
    ck_assert_uint_eq(d.ok, 20000);
    check_exactly_once(20000, &d, NULL);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

static void
leader_moves(int round)
{
    if (round % 4 == 3)
        for (int32_t part = 0; part < 6; part++)
            ck_assert_int_eq(kw_mock_partition_leader_set(mock, "t", part, (part + round) % 3 + 1),
                             KW_ERR_OK);
}

START_TEST(test_leader_moves_exactly_once)
{
    kwt_drs d;
    kwt_drs_init(&d, 20000);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_producer *p = kwt_producer(c, &d);
    stream(p, 20000, leader_moves);
    kwt_drain(p, &d, 20000);
    ck_assert_uint_eq(d.ok, 20000);
    check_exactly_once(20000, &d, NULL);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

static kw_client *down_client;

static void
down_up(int round)
{
    kw_error err;
    if (round == 5)
        ck_assert_int_eq(kw_mock_broker_down(mock, 2), KW_ERR_OK);
    if (round == 8) {
        kwt_step_for(down_client, 300);
        ck_assert_int_eq(kw_mock_broker_up(mock, 2, &err), KW_ERR_OK);
    }
    if (round == 12)
        ck_assert_int_eq(kw_mock_broker_down(mock, 1), KW_ERR_OK);
    if (round == 13) {
        /* Its partitions move to the others, as a controller would do. */
        for (int32_t part = 0; part < 6; part++) {
            kw_mock_partition_info pi;
            ck_assert_int_eq(kw_mock_partition_info_get(mock, "t", part, &pi), KW_ERR_OK);
            if (pi.leader == 1)
                ck_assert_int_eq(kw_mock_partition_leader_set(mock, "t", part, 3), KW_ERR_OK);
        }
    }
    if (round == 16)
        ck_assert_int_eq(kw_mock_broker_up(mock, 1, &err), KW_ERR_OK);
}

START_TEST(test_broker_down_and_up_exactly_once)
{
    kwt_drs d;
    kwt_drs_init(&d, 20000);
    down_client = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_producer *p = kwt_producer(down_client, &d);
    stream(p, 20000, down_up);
    kwt_drain(p, &d, 20000);
    ck_assert_uint_eq(d.ok, 20000);
    check_exactly_once(20000, &d, NULL);
    kw_producer_free(p);
    kw_client_free(down_client);
    kwt_drs_fini(&d);
}
END_TEST

static kw_client *silent_client;

static void
silence(int round)
{
    /* A broker that reads requests and answers none: they time out (request.timeout.ms), the
     * connection is closed, and the batches are sent again, possibly already written. */
    if (round == 3)
        ck_assert_int_eq(kw_mock_fault_hostile(mock, 2, KW_MOCK_HOSTILE_SILENT, -1, 0), KW_ERR_OK);
    if (round == 8) {
        kwt_step_for(silent_client, 700);
        ck_assert_int_eq(kw_mock_fault_clear(mock, 2), KW_ERR_OK);
    }
}

START_TEST(test_request_timeouts_exactly_once)
{
    const char *extra[] = {"request.timeout.ms=400", "socket.connection.setup.timeout.ms=1000",
                           NULL};
    kwt_drs d;
    kwt_drs_init(&d, 20100);
    silent_client = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_producer *p = kwt_producer(silent_client, &d);
    /* Every broker connected first (through another topic), so that the silence meets
     * requests in flight. */
    kw_error err;
    ck_assert_int_eq(kw_mock_topic_create(mock, "w", 6, 3, &err), KW_ERR_OK);
    for (uint32_t i = 20000; i < 20100; i++)
        kwt_send(p, "w", KW_PARTITION_ANY, i, true);
    kwt_drain(p, &d, 100);
    stream(p, 20000, silence);
    kwt_drain(p, &d, 20100);
    ck_assert_uint_eq(d.ok, 20100);
    check_exactly_once(20000, &d, NULL);
    kw_producer_stats st;
    kw_producer_stats_get(p, &st);
    ck_assert_uint_gt(st.retries, 0);
    kw_producer_free(p);
    kw_client_free(silent_client);
    kwt_drs_fini(&d);
}
END_TEST

START_TEST(test_sequence_errors_bump_epoch)
{
    /* 45 OUT_OF_ORDER_SEQUENCE_NUMBER, 59 UNKNOWN_PRODUCER_ID, 47 INVALID_PRODUCER_EPOCH, each
     * for the batch right after the last acknowledged one: the broker lost or does not
     * accept the producer's state, the batch was not written, and only a new epoch (or id)
     * lets it through. Then, while a wave streams, each of them again mid-pipeline. */
    static const int16_t codes[] = {45, 59, 47};
    kwt_drs d;
    kwt_drs_init(&d, 8000);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_producer *p = kwt_producer(c, &d);
    uint32_t id = 0;
    for (int w = 0; w < 4; w++) {
        if (w > 0)
            inject(0, API_PRODUCE, codes[w - 1], 1);
        for (uint32_t end = id + 1000; id < end; id++)
            kwt_send(p, "t", KW_PARTITION_ANY, id, true);
        kwt_drain(p, &d, id);
    }
    kw_producer_stats st;
    kw_producer_stats_get(p, &st);
    ck_assert_uint_eq(st.epoch_bumps, 3);
    for (int w = 0; w < 4; w++) {
        for (uint32_t end = id + 1000; id < end; id++) {
            kwt_send(p, "t", KW_PARTITION_ANY, id, true);
            if (id % 1000 == 500 && w < 3)
                inject(0, API_PRODUCE, codes[w], 1);
        }
    }
    kwt_drain(p, &d, id);
    ck_assert_uint_eq(d.ok, 8000);
    check_exactly_once(8000, &d, NULL);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

START_TEST(test_retries_run_out_and_non_retriable)
{
    const char *extra[] = {"retries=2", "enable.idempotence=false", NULL};
    kwt_drs d;
    kwt_drs_init(&d, 30);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_producer *p = kwt_producer(c, &d);
    kwt_send(p, "t", 0, 0, true);
    kwt_drain(p, &d, 1);
    /* Three attempts (1 + 2 retries) all fail: reported with the broker's error. */
    inject(0, API_PRODUCE, 6, 3);
    kwt_send(p, "t", 0, 1, true);
    kwt_drain(p, &d, 2);
    ck_assert_int_eq(d.v[1].err, KW_ERR_BROKER);
    ck_assert_int_eq(d.v[1].broker_code, 6);
    ck_assert_ptr_nonnull(strstr(d.last_msg, "NOT_LEADER_OR_FOLLOWER"));
    /* A non-retriable error (87 INVALID_RECORD) fails at once. */
    inject(0, API_PRODUCE, 87, 1);
    kwt_send(p, "t", 0, 2, true);
    kwt_drain(p, &d, 3);
    ck_assert_int_eq(d.v[2].broker_code, 87);
    kw_producer_stats st;
    kw_producer_stats_get(p, &st);
    ck_assert_uint_eq(st.retries, 2);
    kw_producer_free(p);
    kw_client_free(c);

    /* The idempotent producer: a batch failing for good leaves a sequence gap; the next
     * records go out under a new epoch and are written once. */
    kwt_drs_fini(&d);
    kwt_drs_init(&d, 200);
    kw_mock_partition_info before;
    ck_assert_int_eq(kw_mock_partition_info_get(mock, "t", 0, &before), KW_ERR_OK);
    c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    p = kwt_producer(c, &d);
    for (uint32_t i = 0; i < 100; i++)
        kwt_send(p, "t", 0, i, true);
    kwt_drain(p, &d, 100);
    inject(0, API_PRODUCE, 87, 1);
    for (uint32_t i = 100; i < 150; i++)
        kwt_send(p, "t", 0, i, true);
    kwt_drain(p, &d, 150);
    for (uint32_t i = 150; i < 200; i++)
        kwt_send(p, "t", 0, i, true);
    kwt_drain(p, &d, 200);
    size_t failed = 0;
    for (uint32_t i = 100; i < 200; i++)
        failed += d.v[i].err != KW_ERR_OK;
    for (uint32_t i = 100; i < 150; i++)
        ck_assert_int_eq(d.v[i].broker_code, 87); /* one batch */
    ck_assert_uint_eq(failed, 50);
    /* Only what this producer stored (after the first one's records). */
    kwt_stored s;
    kwt_mock_read_all(mock, "t", 0, &s);
    uint32_t stored = 0;
    long last = -1;
    for (size_t i = (size_t)before.high_watermark; i < s.n; i++) {
        long id = strtol(s.values[i] + 1, NULL, 10);
        ck_assert_int_gt(id, last);
        last = id;
        ck_assert_int_eq(d.v[id].err, KW_ERR_OK);
        stored++;
    }
    ck_assert_uint_eq(stored, 200 - failed);
    kwt_stored_fini(&s);
    kw_producer_stats_get(p, &st);
    ck_assert_uint_ge(st.epoch_bumps, 1);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

static void
zfree(void *ptr, void *ud)
{
    (*(int *)ud)++;
    free(ptr);
}

START_TEST(test_too_large_batches_are_split)
{
    /* The topic takes batches of at most 3000 bytes; batch.size lets ours grow to ~30 KB, so
     * the broker refuses them (MESSAGE_TOO_LARGE) and they are split, as often as needed. */
    kw_error err;
    ck_assert_int_eq(kw_mock_topic_create(mock, "small", 2, 1, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_config_set(mock, "small", "max.message.bytes", "3000", &err),
                     KW_ERR_OK);
    const char *extra[] = {"batch.size=200000", "linger.ms=30", NULL};
    kwt_drs d;
    kwt_drs_init(&d, 601);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_producer *p = kwt_producer(c, &d);
    int freed = 0;
    kw_header h = {kw_slice_str("h"), kw_slice_str("x")};
    for (uint32_t i = 0; i < 600; i++) {
        char *v = malloc(100);
        int n = snprintf(v, 100, "v%u", i);
        memset(v + n, '.', (size_t)(100 - n));
        kw_message m;
        kw_message_init(&m);
        m.topic = "small";
        m.partition = (int32_t)(i % 2);
        m.value = (kw_slice){(const uint8_t *)v, 100};
        m.headers = &h;
        m.n_headers = 1;
        m.opaque = (void *)(uintptr_t)(i + 1);
        if (i % 3 == 0) {
            ck_assert_int_eq(kw_producer_send_zc(p, &m, zfree, &freed, &err), KW_ERR_OK);
        } else {
            ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_OK);
            free(v);
        }
    }
    /* One record alone above the limit cannot be split. */
    static char big[4000];
    kw_message m;
    kw_message_init(&m);
    m.topic = "small";
    m.value = (kw_slice){(const uint8_t *)big, sizeof(big)};
    m.opaque = (void *)(uintptr_t)601;
    ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_OK);
    kwt_drain(p, &d, 601);
    kwt_step_for(c, 20);
    ck_assert_int_eq(freed, 200);
    ck_assert_msg(d.ok == 600, "%zu ok: %s", d.ok, d.last_msg);
    ck_assert_int_eq(d.v[600].broker_code, 10);
    for (int32_t part = 0; part < 2; part++) {
        kwt_stored s;
        ck_assert_uint_eq(kwt_mock_read_all(mock, "small", part, &s), 300);
        for (size_t i = 0; i < s.n; i++) {
            long id = strtol(s.values[i] + 1, NULL, 10);
            ck_assert_int_eq(id, (long)(i * 2) + part);
            ck_assert_str_eq(s.hdr0[i], "h=x");
            ck_assert_int_eq(d.v[id].offset, s.offsets[i]);
        }
        kwt_stored_fini(&s);
    }
    kw_producer_stats st;
    kw_producer_stats_get(p, &st);
    ck_assert_uint_gt(st.retries, 0);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

START_TEST(test_fatal_init_producer_id)
{
    /* 31 CLUSTER_AUTHORIZATION_FAILED: the producer cannot get an id. */
    inject(0, API_INIT_PRODUCER_ID, 31, 3);
    kwt_drs d;
    kwt_drs_init(&d, 10);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_producer *p = kwt_producer(c, &d);
    for (uint32_t i = 0; i < 10; i++)
        kwt_send(p, "t", KW_PARTITION_ANY, i, true);
    kwt_drain(p, &d, 10);
    for (uint32_t i = 0; i < 10; i++) {
        ck_assert_int_eq(d.v[i].err, KW_ERR_BROKER);
        ck_assert_int_eq(d.v[i].broker_code, 31);
    }
    kw_error fatal;
    ck_assert(kw_producer_fatal(p, &fatal));
    ck_assert(fatal.fatal);
    ck_assert_ptr_nonnull(strstr(fatal.msg, "CLUSTER_AUTHORIZATION_FAILED"));
    kw_message m;
    kw_message_init(&m);
    m.topic = "t";
    kw_error err;
    ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_STATE);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

START_TEST(test_retriable_init_producer_id)
{
    /* 15 COORDINATOR_NOT_AVAILABLE twice: retried, then everything flows. */
    inject(0, API_INIT_PRODUCER_ID, 15, 2);
    kwt_drs d;
    kwt_drs_init(&d, 100);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_producer *p = kwt_producer(c, &d);
    for (uint32_t i = 0; i < 100; i++)
        kwt_send(p, "t", KW_PARTITION_ANY, i, true);
    kwt_drain(p, &d, 100);
    ck_assert_uint_eq(d.ok, 100);
    ck_assert(!kw_producer_fatal(p, NULL));
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("producer_faults");
    TCase *tc = tcase_create("faults");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_injected_retriable_errors_exactly_once);
    tcase_add_test(tc, test_dropped_connections_exactly_once);
    tcase_add_test(tc, test_leader_moves_exactly_once);
    tcase_add_test(tc, test_broker_down_and_up_exactly_once);
    tcase_add_test(tc, test_request_timeouts_exactly_once);
    tcase_add_test(tc, test_sequence_errors_bump_epoch);
    tcase_add_test(tc, test_retries_run_out_and_non_retriable);
    tcase_add_test(tc, test_too_large_batches_are_split);
    tcase_add_test(tc, test_fatal_init_producer_id);
    tcase_add_test(tc, test_retriable_init_producer_id);
    suite_add_tcase(s, tc);
    return s;
}
