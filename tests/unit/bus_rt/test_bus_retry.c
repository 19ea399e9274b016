/* Retries and the DLQ against an in-process kwire-mock: a handler that always fails sends the
 * event to the DLQ after exactly max_retries with every dlq_* header; the DLQ tools list,
 * count and replay it, and the replay guard refuses past dlq_max_replay_attempts unless
 * forced; undecodable and unregistered events go to the DLQ at once; enable_dlq=false drops
 * and counts; a handler failing 10% of the time loses nothing and keeps each aggregate's
 * order (retries in place); the republish mode of eventsource-py. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus/bus_int.h"
#include "busrt_util.h"

typedef struct state {
    int fail; /* 1 = always fail, 2 = fail at random (10%) */
    unsigned seed;
    int calls, ok;
    int32_t attempts[16];
    int n_attempts;
    /* random mode: per aggregate, the last version handled successfully */
    int64_t last_version[16];
    int order_violations;
    uint8_t done[1024]; /* by aggregate*64 + version */
    int dup;
} state;

static state S;

static int
handler(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *mi, kw_bus_failure *fail,
        void *ud)
{
    (void)bus;
    (void)ud;
    S.calls++;
    if (S.n_attempts < 16)
        S.attempts[S.n_attempts++] = mi->attempt;
    bool f = S.fail == 1 || (S.fail == 2 && rand_r(&S.seed) % 10 == 0);
    if (f) {
        kw_bus_failure_set(fail, "ValueError", "cannot ship order v%lld: \xc3\xa9tat invalide",
                           (long long)ev->aggregate_version);
        return 1;
    }
    S.ok++;
    uint32_t agg = ev->aggregate_id.b[15];
    if (agg < 16) {
        if (ev->aggregate_version <= S.last_version[agg])
            S.order_violations++;
        S.last_version[agg] = ev->aggregate_version;
        size_t k = agg * 64 + (size_t)ev->aggregate_version;
        if (k < sizeof(S.done)) {
            S.dup += S.done[k];
            S.done[k] = 1;
        }
    }
    return 0;
}

static bool
stats_dlq(void *ud)
{
    kw_bus_stats st;
    kw_bus_get_stats(ud, &st);
    return st.messages_sent_to_dlq + st.events_dropped >= 1;
}

static int want_ok;
static bool
ok_reached(void *ud)
{
    (void)ud;
    return S.ok >= want_ok;
}

static void
dlq_records(kw_mock *m, const char *topic, brt_recs *r)
{
    int32_t np = kw_mock_topic_partitions(m, topic);
    for (int32_t p = 0; p < np; p++)
        brt_mock_records(m, topic, p, r);
}

START_TEST(always_failing_goes_to_dlq_then_replay)
{
    memset(&S, 0, sizeof(S));
    S.fail = 1;
    kw_mock *m = brt_mock(1, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "fail", "g-fail");
    c.max_retries = 3;
    c.dlq_max_replay_attempts = 1;
    kw_bus *bus = brt_bus(&c);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderShipped", handler, NULL, &err), KW_ERR_OK);
    kw_bus_event ev;
    char pay[64];
    brt_event(&ev, "OrderShipped", 3, 7, pay, sizeof(pay));
    kw_bus_publish_result res;
    ck_assert_int_eq(kw_bus_publish(bus, &ev, 1, &res, 30000, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_consume(bus, &err), KW_ERR_OK);
    brt_until(bus, stats_dlq, bus, "the DLQ write");
    /* 1 attempt + exactly max_retries retries, numbered 0..3. */
    ck_assert_int_eq(S.calls, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(S.attempts[i], i);
    kw_bus_stats st;
    kw_bus_get_stats(bus, &st);
    ck_assert_uint_eq(st.messages_sent_to_dlq, 1);
    ck_assert_uint_eq(st.events_processed_failed, 4);
    ck_assert_uint_eq(st.handler_errors, 4);
    ck_assert_uint_eq(st.events_retried, 3);
    ck_assert_uint_eq(st.events_processed_success, 0);

    brt_recs d = {0};
    dlq_records(m, "fail.stream.dlq", &d);
    ck_assert_uint_eq(d.n, 1);
    char agg[KW_UUID_STR_SIZE], h[1200], id[KW_UUID_STR_SIZE];
    ck_assert_str_eq(d.v[0].key, kw_uuid_format(&ev.aggregate_id, agg));
    ck_assert_str_eq(d.v[0].value, pay);
    const char *H = d.v[0].headers;
    ck_assert_str_eq(brt_header(H, "event_id", h, sizeof(h)), kw_uuid_format(&ev.event_id, id));
    ck_assert_str_eq(brt_header(H, "event_type", h, sizeof(h)), "OrderShipped");
    ck_assert_str_eq(brt_header(H, "dlq_reason", h, sizeof(h)), "max_retries_exceeded");
    ck_assert_str_eq(brt_header(H, "dlq_error_type", h, sizeof(h)), "ValueError");
    ck_assert_str_eq(brt_header(H, "dlq_error_message", h, sizeof(h)),
                     "cannot ship order v7: \xc3\xa9tat invalide");
    ck_assert_str_eq(brt_header(H, "dlq_retry_count", h, sizeof(h)), "3");
    ck_assert_str_eq(brt_header(H, "dlq_original_topic", h, sizeof(h)), "fail.stream");
    ck_assert_str_eq(brt_header(H, "dlq_original_partition", h, sizeof(h)), "0");
    char off[32];
    snprintf(off, sizeof(off), "%lld", (long long)res.offset);
    ck_assert_str_eq(brt_header(H, "dlq_original_offset", h, sizeof(h)), off);
    ck_assert_str_eq(brt_header(H, "dlq_consumer_group", h, sizeof(h)), "g-fail");
    int64_t ts;
    brt_header(H, "dlq_timestamp", h, sizeof(h));
    ck_assert_int_eq(kw_bus_time_parse(h, strlen(h), &ts), KW_ERR_OK);
    ck_assert_int_gt(ts, st.connected_at_us);
    brt_recs_fini(&d);
    /* The event is finished: committed past it. */
    kw_bus_shutdown(bus, 10000, &err);
    int64_t co = -1;
    ck_assert_int_eq(kw_mock_committed_offset(m, "g-fail", "fail.stream", 0, &co, NULL), KW_ERR_OK);
    ck_assert_int_eq(co, res.offset + 1);
    const char *lab[] = {"max_retries_exceeded", "ValueError"};
    double v = 0;
    ck_assert(kwi_bus_metrics_get(kw_bus_metrics_of(bus), KWI_BUS_M_DLQ, lab, &v, NULL));
    ck_assert(v == 1);

    /* The tools, on a fresh bus of the same group. */
    kw_bus_free(bus);
    bus = brt_bus(&c);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderShipped", handler, NULL, &err), KW_ERR_OK);
    int64_t count = -1;
    ck_assert_msg(kw_bus_get_dlq_message_count(bus, 10000, &count, &err) == KW_ERR_OK, "%s",
                  err.msg);
    ck_assert_int_eq(count, 1);
    kw_bus_dlq_list l;
    ck_assert_msg(kw_bus_get_dlq_messages(bus, 10, 10000, &l, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_uint_eq(l.n, 1);
    ck_assert_str_eq(l.messages[0].topic, "fail.stream.dlq");
    ck_assert_int_eq(l.messages[0].replay_count, 0);
    ck_assert_int_eq(l.messages[0].payload.len, (int32_t)strlen(pay));
    ck_assert_mem_eq(l.messages[0].payload.ptr, pay, strlen(pay));
    int64_t dlq_off = l.messages[0].offset;
    kw_bus_dlq_list_free(&l);

    /* Replay while the handler still fails: it comes back to the DLQ with the count kept. */
    ck_assert_msg(kw_bus_replay_dlq_message(bus, 0, dlq_off, false, 10000, &err) == KW_ERR_OK, "%s",
                  err.msg);
    ck_assert_int_eq(kw_bus_consume(bus, &err), KW_ERR_OK);
    S.calls = 0;
    brt_until(bus, stats_dlq, bus, "the second DLQ write");
    ck_assert_int_eq(S.calls, 4);
    ck_assert_int_eq(kw_bus_get_dlq_messages(bus, 10, 10000, &l, &err), KW_ERR_OK);
    ck_assert_uint_eq(l.n, 2);
    ck_assert_int_eq(l.messages[1].replay_count, 1);
    int64_t dlq_off2 = l.messages[1].offset;
    kw_bus_dlq_list_free(&l);
    /* The guard: replayed once, the limit is 1. */
    ck_assert_int_eq(kw_bus_replay_dlq_message(bus, 0, dlq_off2, false, 10000, &err), KW_ERR_STATE);
    ck_assert_int_eq(kw_bus_replay_dlq_message(bus, 0, 999, false, 3000, &err), KW_ERR_NOT_FOUND);
    /* Forced, with a handler that now succeeds. */
    S.fail = 0;
    ck_assert_int_eq(kw_bus_replay_dlq_message(bus, 0, dlq_off2, true, 10000, &err), KW_ERR_OK);
    want_ok = 1;
    brt_until(bus, ok_reached, NULL, "the replayed event handled");
    brt_recs r = {0};
    brt_mock_records(m, "fail.stream", 0, &r);
    ck_assert_uint_eq(r.n, 3); /* the original and two replays */
    ck_assert_str_eq(brt_header(r.v[2].headers, "dlq_replay_count", h, sizeof(h)), "2");
    ck_assert_str_eq(brt_header(r.v[2].headers, "dlq_reason", h, sizeof(h)), "");
    ck_assert_str_eq(brt_header(r.v[2].headers, "event_id", h, sizeof(h)), id);
    brt_recs_fini(&r);
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

START_TEST(undecodable_and_unregistered_go_to_dlq)
{
    memset(&S, 0, sizeof(S));
    kw_mock *m = brt_mock(1, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "junk", "g-junk");
    kw_bus *bus = brt_bus(&c);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderCreated", handler, NULL, &err), KW_ERR_OK);
    /* A record with no headers at all, an event of a type nobody registered, a good one. */
    ck_assert_int_eq(kw_mock_append_record(m, "junk.stream", 0, kw_slice_str("k"),
                                           kw_slice_str("not an event"), -1, NULL, &err),
                     KW_ERR_OK);
    kw_bus_event ev[2];
    char pay[2][64];
    brt_event(&ev[0], "OrderLost", 1, 1, pay[0], sizeof(pay[0]));
    brt_event(&ev[1], "OrderCreated", 1, 2, pay[1], sizeof(pay[1]));
    ck_assert_int_eq(kw_bus_publish(bus, ev, 2, NULL, 30000, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_consume(bus, &err), KW_ERR_OK);
    want_ok = 1;
    brt_until(bus, ok_reached, NULL, "the good event");
    kw_bus_shutdown(bus, 10000, &err);
    kw_bus_stats st;
    kw_bus_get_stats(bus, &st);
    ck_assert_uint_eq(st.messages_sent_to_dlq, 2);
    ck_assert_uint_eq(st.events_consumed, 3);
    ck_assert_int_eq(S.calls, 1);
    brt_recs d = {0};
    dlq_records(m, "junk.stream.dlq", &d);
    ck_assert_uint_eq(d.n, 2);
    char h[1200];
    for (size_t i = 0; i < 2; i++) {
        ck_assert_str_eq(brt_header(d.v[i].headers, "dlq_reason", h, sizeof(h)),
                         "deserialization_error");
        ck_assert_str_eq(brt_header(d.v[i].headers, "dlq_retry_count", h, sizeof(h)), "0");
    }
    ck_assert_str_eq(d.v[0].value, "not an event");
    ck_assert_str_eq(brt_header(d.v[0].headers, "dlq_error_type", h, sizeof(h)),
                     "DeserializationError");
    ck_assert_str_eq(brt_header(d.v[1].headers, "dlq_error_type", h, sizeof(h)),
                     "UnknownEventType");
    ck_assert_str_eq(brt_header(d.v[1].headers, "dlq_error_message", h, sizeof(h)),
                     "Unknown event type: OrderLost");
    brt_recs_fini(&d);
    int64_t co = -1;
    kw_mock_committed_offset(m, "g-junk", "junk.stream", 0, &co, NULL);
    ck_assert_int_eq(co, 3);
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

START_TEST(dlq_disabled_drops_and_counts)
{
    memset(&S, 0, sizeof(S));
    S.fail = 1;
    kw_mock *m = brt_mock(1, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "drop", "g-drop");
    c.enable_dlq = false;
    c.max_retries = 2;
    kw_bus *bus = brt_bus(&c);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderCreated", handler, NULL, &err), KW_ERR_OK);
    kw_bus_event ev;
    char pay[64];
    brt_event(&ev, "OrderCreated", 1, 1, pay, sizeof(pay));
    ck_assert_int_eq(kw_bus_publish(bus, &ev, 1, NULL, 30000, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_consume(bus, &err), KW_ERR_OK);
    brt_until(bus, stats_dlq, bus, "the drop");
    ck_assert_int_eq(S.calls, 3);
    kw_bus_shutdown(bus, 10000, &err);
    kw_bus_stats st;
    kw_bus_get_stats(bus, &st);
    ck_assert_uint_eq(st.events_dropped, 1);
    ck_assert_uint_eq(st.messages_sent_to_dlq, 0);
    kw_mock_partition_info pi;
    ck_assert_int_eq(kw_mock_partition_info_get(m, "drop.stream.dlq", 0, &pi), KW_ERR_OK);
    ck_assert_int_eq(pi.high_watermark, 0);
    int64_t co = -1;
    kw_mock_committed_offset(m, "g-drop", "drop.stream", 0, &co, NULL);
    ck_assert_int_eq(co, 1);
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

/* 4 aggregates x 40 versions over 4 partitions, 10% of handler calls fail. */
static void
random_failures(kw_bus_retry_mode mode)
{
    memset(&S, 0, sizeof(S));
    S.fail = 2;
    S.seed = 12345;
    kw_mock *m = brt_mock(4, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), mode ? "rnd2" : "rnd", "g-rnd");
    c.max_retries = 12; /* 0.1^13: the DLQ is never reached */
    c.retry_base_delay = 0.005;
    c.retry_max_delay = 0.02;
    c.retry_mode = mode;
    kw_bus *bus = brt_bus(&c);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderCreated", handler, NULL, &err), KW_ERR_OK);
    enum { AGG = 4, VER = 40 };
    kw_bus_event ev[AGG * VER];
    char pay[AGG * VER][64];
    for (int v = 0; v < VER; v++)
        for (int a = 0; a < AGG; a++)
            brt_event(&ev[v * AGG + a], "OrderCreated", (uint32_t)a, v + 1, pay[v * AGG + a], 64);
    ck_assert_int_eq(kw_bus_publish(bus, ev, AGG * VER, NULL, 30000, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_start_consuming_in_background(bus, &err), KW_ERR_OK);
    int64_t end = brt_now_ms() + BRT_DEADLINE_MS;
    kw_bus_stats st;
    do {
        ck_assert_msg(brt_now_ms() < end, "not every event was processed");
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
        kw_bus_get_stats(bus, &st);
    } while (st.events_processed_success < AGG * VER);
    ck_assert_int_eq(kw_bus_shutdown(bus, 10000, &err), KW_ERR_OK);
    kw_bus_get_stats(bus, &st);
    ck_assert_uint_eq(st.events_processed_success, AGG * VER);
    ck_assert_uint_eq(st.messages_sent_to_dlq, 0);
    ck_assert_uint_gt(st.events_retried, 0);
    ck_assert_int_eq(S.dup, 0);
    for (int a = 0; a < AGG; a++)
        for (int v = 1; v <= VER; v++)
            ck_assert_msg(S.done[a * 64 + v], "aggregate %d version %d lost", a, v);
    if (mode == KW_BUS_RETRY_IN_PLACE)
        ck_assert_int_eq(S.order_violations, 0);
    else
        ck_assert_int_gt(S.order_violations, 0); /* eventsource-py's known weakness */
    kw_bus_free(bus);
    kw_mock_free(m);
}

START_TEST(random_failures_in_place_keep_order)
{
    random_failures(KW_BUS_RETRY_IN_PLACE);
}
END_TEST

START_TEST(random_failures_republish)
{
    random_failures(KW_BUS_RETRY_REPUBLISH);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("bus_retry");
    /* One case per test, so CK_RUN_CASE runs one alone. */
    TCase *tc_always_failing_goes_to_dlq_then_replay =
        tcase_create("always_failing_goes_to_dlq_then_replay");
    tcase_set_timeout(tc_always_failing_goes_to_dlq_then_replay, 120);
    tcase_add_test(tc_always_failing_goes_to_dlq_then_replay,
                   always_failing_goes_to_dlq_then_replay);
    suite_add_tcase(s, tc_always_failing_goes_to_dlq_then_replay);
    TCase *tc_undecodable_and_unregistered_go_to_dlq =
        tcase_create("undecodable_and_unregistered_go_to_dlq");
    tcase_set_timeout(tc_undecodable_and_unregistered_go_to_dlq, 120);
    tcase_add_test(tc_undecodable_and_unregistered_go_to_dlq,
                   undecodable_and_unregistered_go_to_dlq);
    suite_add_tcase(s, tc_undecodable_and_unregistered_go_to_dlq);
    TCase *tc_dlq_disabled_drops_and_counts = tcase_create("dlq_disabled_drops_and_counts");
    tcase_set_timeout(tc_dlq_disabled_drops_and_counts, 120);
    tcase_add_test(tc_dlq_disabled_drops_and_counts, dlq_disabled_drops_and_counts);
    suite_add_tcase(s, tc_dlq_disabled_drops_and_counts);
    TCase *tc_random_failures_in_place_keep_order =
        tcase_create("random_failures_in_place_keep_order");
    tcase_set_timeout(tc_random_failures_in_place_keep_order, 120);
    tcase_add_test(tc_random_failures_in_place_keep_order, random_failures_in_place_keep_order);
    suite_add_tcase(s, tc_random_failures_in_place_keep_order);
    TCase *tc_random_failures_republish = tcase_create("random_failures_republish");
    tcase_set_timeout(tc_random_failures_republish, 120);
    tcase_add_test(tc_random_failures_republish, random_failures_republish);
    suite_add_tcase(s, tc_random_failures_republish);
    return s;
}
