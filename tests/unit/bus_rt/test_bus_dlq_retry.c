/* A DLQ write that fails is sent again while the bus runs, against an in-process kwire-mock
 * whose Produce requests are refused N times (fault injection): the event lands in the DLQ
 * exactly once, its partition stays paused meanwhile so the later events are handled only
 * afterwards and in order, each once; the failures are counted (stats, publish.errors metric)
 * and logged; the commits then move past the event. A shutdown while the write still fails
 * commits nothing past the event, so a restart handles it again; so does a rebalance that
 * takes the partition away meanwhile (the write is forgotten, the owner handles the event
 * anew). A republished retry whose copy is refused is sent again too. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "bus/bus_int.h"
#include "busrt_util.h"
#include "kwire/mock_control.h"

#define API_PRODUCE                0
#define TOPIC_AUTHORIZATION_FAILED 29 /* not retriable: the producer reports it at once */

typedef struct state {
    int poison_version; /* the handler fails for this version of aggregate 1 (0 = never) */
    int poison_fails;   /* how many times it still fails (-1 = always) */
    int calls, ok;
    int64_t handled[64]; /* versions handled successfully, in order */
    int n_handled;
    int early; /* later events handled before the DLQ had the poison one */
    int warn_lines, info_lines;
    char last_warn[1024];
} state;

static state S;

static int
handler(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *mi, kw_bus_failure *fail,
        void *ud)
{
    (void)mi;
    (void)ud;
    S.calls++;
    if (ev->aggregate_version == S.poison_version && S.poison_fails != 0) {
        if (S.poison_fails > 0)
            S.poison_fails--;
        kw_bus_failure_set(fail, "ValueError", "poison v%lld", (long long)ev->aggregate_version);
        return 1;
    }
    kw_bus_stats st;
    kw_bus_get_stats(bus, &st);
    if (S.poison_version && S.poison_fails < 0 && ev->aggregate_version > S.poison_version &&
        st.messages_sent_to_dlq == 0)
        S.early++;
    if (S.n_handled < 64)
        S.handled[S.n_handled++] = ev->aggregate_version;
    S.ok++;
    return 0;
}

static void
on_log(void *ud, kw_log_level level, const char *subsystem, const char *msg)
{
    (void)ud;
    if (strcmp(subsystem, "bus") != 0)
        return;
    if (level == KW_LOG_WARN && strstr(msg, "DLQ write of")) {
        S.warn_lines++;
        snprintf(S.last_warn, sizeof(S.last_warn), "%s", msg);
    }
    if (level == KW_LOG_INFO && strstr(msg, "arrived after"))
        S.info_lines++;
}

static kw_bus *
new_bus(const kw_bus_config *c)
{
    kw_bus_opts o;
    kw_bus_opts_init(&o);
    o.log = on_log;
    o.log_level = KW_LOG_INFO;
    kw_bus *bus = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_bus_new(c, &o, &bus, &err) == KW_ERR_OK, "new: %s", err.msg);
    ck_assert_msg(kw_bus_connect(bus, 30000, &err) == KW_ERR_OK, "connect: %s", err.msg);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderShipped", handler, NULL, &err), KW_ERR_OK);
    return bus;
}

/* Versions 1..n of aggregate 1 (one partition), acknowledged before anything is consumed. */
static void
publish_versions(kw_bus *bus, int n)
{
    kw_error err;
    kw_error_init(&err);
    for (int v = 1; v <= n; v++) {
        kw_bus_event ev;
        char pay[64];
        brt_event(&ev, "OrderShipped", 1, v, pay, sizeof(pay));
        kw_bus_publish_result res;
        ck_assert_msg(kw_bus_publish(bus, &ev, 1, &res, 30000, &err) == KW_ERR_OK, "%s", err.msg);
        ck_assert_int_eq(res.offset, v - 1);
    }
}

/* From now on the broker refuses the next n Produce requests (only DLQ writes and retry
 * copies are produced while consuming). */
static void
refuse_produce(kw_mock *m, int n)
{
    int16_t codes[64];
    for (int i = 0; i < n; i++)
        codes[i] = TOPIC_AUTHORIZATION_FAILED;
    ck_assert_int_eq(kw_mock_fault_errors(m, 0, API_PRODUCE, codes, n), KW_ERR_OK);
}

static int want_ok;
static bool
ok_and_dlq(void *ud)
{
    kw_bus_stats st;
    kw_bus_get_stats(ud, &st);
    return S.ok >= want_ok && st.messages_sent_to_dlq >= 1;
}

typedef struct commit_wait {
    kw_mock *m;
    const char *group, *topic;
    int64_t want;
} commit_wait;

static bool
committed(void *ud)
{
    commit_wait *w = ud;
    int64_t co = -1;
    return kw_mock_committed_offset(w->m, w->group, w->topic, 0, &co, NULL) == KW_ERR_OK &&
           co == w->want;
}

static bool
write_errors_at_least(void *ud)
{
    kw_bus_stats st;
    kw_bus_get_stats(ud, &st);
    return st.dlq_write_errors >= 2;
}

static void
check_dlq_holds_once(kw_mock *m, const char *dlq_topic, int64_t offset)
{
    brt_recs d = {0};
    brt_mock_records(m, dlq_topic, 0, &d);
    ck_assert_uint_eq(d.n, 1);
    char h[256], off[32];
    snprintf(off, sizeof(off), "%lld", (long long)offset);
    ck_assert_str_eq(brt_header(d.v[0].headers, "dlq_original_offset", h, sizeof(h)), off);
    ck_assert_str_eq(brt_header(d.v[0].headers, "dlq_reason", h, sizeof(h)),
                     "max_retries_exceeded");
    ck_assert_str_eq(brt_header(d.v[0].headers, "dlq_error_message", h, sizeof(h)), "poison v1");
    brt_recs_fini(&d);
}

START_TEST(failed_dlq_write_is_retried_and_order_kept)
{
    memset(&S, 0, sizeof(S));
    S.poison_version = 1;
    S.poison_fails = -1;
    kw_mock *m = brt_mock(1, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "dlqr", "g-dlqr");
    c.max_retries = 1;
    kw_bus *bus = new_bus(&c);
    publish_versions(bus, 6);
    refuse_produce(m, 3);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_consume(bus, &err), KW_ERR_OK);
    want_ok = 5;
    brt_until(bus, ok_and_dlq, bus, "the DLQ write and the later events");

    /* Versions 2..6, once each, in order, and only after the DLQ had version 1. */
    ck_assert_int_eq(S.n_handled, 5);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(S.handled[i], i + 2);
    ck_assert_int_eq(S.early, 0);
    ck_assert_int_eq(S.calls, 2 + 5); /* the poison event: first attempt and one retry */
    check_dlq_holds_once(m, "dlqr.stream.dlq", 0);

    kw_bus_stats st;
    kw_bus_get_stats(bus, &st);
    ck_assert_uint_eq(st.dlq_write_errors, 3);
    ck_assert_uint_eq(st.messages_sent_to_dlq, 1);
    ck_assert_int_gt(st.last_error_at_us, 0);
    const char *lab[] = {"dlqr.stream.dlq", "OrderShipped", "BROKER"};
    double v = 0;
    ck_assert(kwi_bus_metrics_get(kw_bus_metrics_of(bus), KWI_BUS_M_PUBLISH_ERRORS, lab, &v, NULL));
    ck_assert(v == 3);
    const char *dl[] = {"max_retries_exceeded", "ValueError"};
    ck_assert(kwi_bus_metrics_get(kw_bus_metrics_of(bus), KWI_BUS_M_DLQ, dl, &v, NULL));
    ck_assert(v == 1);
    ck_assert_int_eq(S.warn_lines, 3);
    ck_assert_msg(strstr(S.last_warn, "dlqr.stream [0] offset 0") &&
                      strstr(S.last_warn, "TOPIC_AUTHORIZATION_FAILED") &&
                      strstr(S.last_warn, "attempt 3"),
                  "%s", S.last_warn);
    ck_assert_int_eq(S.info_lines, 1);

    /* The commits move past the poison event to the end. */
    commit_wait cw = {m, "g-dlqr", "dlqr.stream", 6};
    brt_until(bus, committed, &cw, "the commit of offset 6");
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

START_TEST(shutdown_with_failing_dlq_write_loses_nothing)
{
    memset(&S, 0, sizeof(S));
    S.poison_version = 1;
    S.poison_fails = -1;
    kw_mock *m = brt_mock(1, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "dlqs", "g-dlqs");
    c.max_retries = 0;
    kw_bus *bus = new_bus(&c);
    publish_versions(bus, 3);
    refuse_produce(m, 64);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_consume(bus, &err), KW_ERR_OK);
    brt_until(bus, write_errors_at_least, bus, "two failed DLQ writes");
    ck_assert_int_eq(S.ok, 0); /* versions 2 and 3 wait behind the poison event */
    kw_bus_shutdown(bus, 10000, &err);
    int64_t co = -1;
    kw_err ce = kw_mock_committed_offset(m, "g-dlqs", "dlqs.stream", 0, &co, NULL);
    ck_assert_msg(ce != KW_ERR_OK || co <= 0, "committed %lld past the event", (long long)co);
    kw_bus_free(bus);
    brt_recs d = {0};
    brt_mock_records(m, "dlqs.stream.dlq", 0, &d);
    ck_assert_uint_eq(d.n, 0);
    brt_recs_fini(&d);

    /* The broker takes writes again; a restart handles the event anew and goes on. */
    ck_assert_int_eq(kw_mock_fault_clear(m, 0), KW_ERR_OK);
    S.calls = 0;
    bus = new_bus(&c);
    ck_assert_int_eq(kw_bus_consume(bus, &err), KW_ERR_OK);
    want_ok = 2;
    brt_until(bus, ok_and_dlq, bus, "the event in the DLQ after the restart");
    ck_assert_int_eq(S.n_handled, 2);
    ck_assert_int_eq(S.handled[0], 2);
    ck_assert_int_eq(S.handled[1], 3);
    check_dlq_holds_once(m, "dlqs.stream.dlq", 0);
    commit_wait cw = {m, "g-dlqs", "dlqs.stream", 3};
    brt_until(bus, committed, &cw, "the commit of offset 3");
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

/* Step two buses in turn until pred(ud) or the deadline. */
static void
until_both(kw_bus *a, kw_bus *b, bool (*pred)(void *), void *ud, const char *what)
{
    int64_t end = brt_now_ms() + BRT_DEADLINE_MS;
    kw_error err;
    kw_error_init(&err);
    while (!pred(ud)) {
        if (brt_now_ms() >= end) {
            brt_dump(a);
            brt_dump(b);
        }
        ck_assert_msg(brt_now_ms() < end, "timed out waiting for %s", what);
        ck_assert_msg(kw_bus_step(a, 20, &err) == KW_ERR_OK, "step: %s", err.msg);
        ck_assert_msg(kw_bus_step(b, 20, &err) == KW_ERR_OK, "step: %s", err.msg);
    }
}

static bool
assigned(void *ud)
{
    kw_bus_stats st;
    kw_bus_get_stats(ud, &st);
    return st.rebalance_count >= 1;
}

typedef struct pair_wait {
    kw_bus *a, *b;
    commit_wait cw;
    int32_t partition;
} pair_wait;

static bool
pair_done(void *ud)
{
    pair_wait *w = ud;
    kw_bus_stats sa, sb;
    kw_bus_get_stats(w->a, &sa);
    kw_bus_get_stats(w->b, &sb);
    int64_t co = -1;
    return S.ok >= 2 && sa.messages_sent_to_dlq + sb.messages_sent_to_dlq >= 1 &&
           kw_mock_committed_offset(w->cw.m, w->cw.group, w->cw.topic, w->partition, &co, NULL) ==
               KW_ERR_OK &&
           co == w->cw.want;
}

START_TEST(rebalance_during_failing_dlq_write_loses_nothing)
{
    memset(&S, 0, sizeof(S));
    S.poison_version = 1;
    S.poison_fails = -1;
    kw_mock *m = brt_mock(2, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "dlqv", "g-dlqv");
    c.max_retries = 0;
    kw_bus *a = new_bus(&c);
    kw_error err;
    kw_error_init(&err);
    int32_t part = -1;
    for (int v = 1; v <= 3; v++) {
        kw_bus_event ev;
        char pay[64];
        brt_event(&ev, "OrderShipped", 1, v, pay, sizeof(pay));
        kw_bus_publish_result res;
        ck_assert_msg(kw_bus_publish(a, &ev, 1, &res, 30000, &err) == KW_ERR_OK, "%s", err.msg);
        ck_assert_int_eq(res.offset, v - 1);
        part = res.partition;
    }
    refuse_produce(m, 64);
    ck_assert_int_eq(kw_bus_consume(a, &err), KW_ERR_OK);
    brt_until(a, write_errors_at_least, a, "two failed DLQ writes");
    ck_assert_int_eq(S.ok, 0);
    /* A second member joins: the partitions are revoked from the first (eager range) and
     * shared out, while the first one's DLQ write is still failing. */
    kw_bus *b = new_bus(&c);
    ck_assert_int_eq(kw_bus_consume(b, &err), KW_ERR_OK);
    until_both(a, b, assigned, b, "the second member's assignment");
    ck_assert_int_eq(kw_mock_fault_clear(m, 0), KW_ERR_OK);
    /* Whoever owns the partition now writes the event to the DLQ and goes on, in order. */
    pair_wait pw = {a, b, {m, "g-dlqv", "dlqv.stream", 3}, part};
    until_both(a, b, pair_done, &pw, "the event in the DLQ and the commit of offset 3");
    ck_assert_int_eq(S.n_handled, 2);
    ck_assert_int_eq(S.handled[0], 2);
    ck_assert_int_eq(S.handled[1], 3);
    ck_assert_int_eq(S.early, 0);
    brt_recs d = {0};
    brt_mock_records(m, "dlqv.stream.dlq", 0, &d);
    brt_mock_records(m, "dlqv.stream.dlq", 1, &d);
    ck_assert_uint_ge(d.n, 1);
    char h[64];
    for (size_t i = 0; i < d.n; i++)
        ck_assert_str_eq(brt_header(d.v[i].headers, "dlq_original_offset", h, sizeof(h)), "0");
    brt_recs_fini(&d);
    kw_bus_free(b);
    kw_bus_free(a);
    kw_mock_free(m);
}
END_TEST

static bool
ok_reached(void *ud)
{
    (void)ud;
    return S.ok >= want_ok;
}

START_TEST(republished_copy_refused_is_sent_again)
{
    memset(&S, 0, sizeof(S));
    S.poison_version = 1;
    S.poison_fails = 1; /* fails once, then the republished copy succeeds */
    kw_mock *m = brt_mock(1, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "dlqp", "g-dlqp");
    c.retry_mode = KW_BUS_RETRY_REPUBLISH;
    kw_bus *bus = new_bus(&c);
    publish_versions(bus, 1);
    refuse_produce(m, 2);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_consume(bus, &err), KW_ERR_OK);
    want_ok = 1;
    brt_until(bus, ok_reached, NULL, "the republished copy handled");
    ck_assert_int_eq(S.calls, 2);
    /* The original and exactly one copy: the refused attempts wrote nothing. */
    brt_recs r = {0};
    brt_mock_records(m, "dlqp.stream", 0, &r);
    ck_assert_uint_eq(r.n, 2);
    char h[64];
    ck_assert_str_eq(brt_header(r.v[1].headers, "retry_count", h, sizeof(h)), "1");
    brt_recs_fini(&r);
    kw_bus_stats st;
    kw_bus_get_stats(bus, &st);
    ck_assert_uint_eq(st.messages_sent_to_dlq, 0);
    ck_assert_uint_eq(st.dlq_write_errors, 0); /* not a DLQ write */
    const char *lab[] = {"dlqp.stream", "OrderShipped", "BROKER"};
    double v = 0;
    ck_assert(kwi_bus_metrics_get(kw_bus_metrics_of(bus), KWI_BUS_M_PUBLISH_ERRORS, lab, &v, NULL));
    ck_assert(v == 2);
    commit_wait cw = {m, "g-dlqp", "dlqp.stream", 2};
    brt_until(bus, committed, &cw, "the commit of offset 2");
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("bus_dlq_retry");
    TCase *tc = tcase_create("dlq_retry");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, failed_dlq_write_is_retried_and_order_kept);
    tcase_add_test(tc, shutdown_with_failing_dlq_write_loses_nothing);
    tcase_add_test(tc, republished_copy_refused_is_sent_again);
    tcase_add_test(tc, rebalance_during_failing_dlq_write_loses_nothing);
    suite_add_tcase(s, tc);
    return s;
}
