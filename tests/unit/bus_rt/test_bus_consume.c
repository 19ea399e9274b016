/* The bus's consume side against an in-process kwire-mock: exact envelopes reach the
 * handlers (type handlers before subscribe_all ones), offsets are committed, a handler that
 * always fails sends the event to the DLQ after exactly max_retries with every dlq_* header,
 * replay succeeds and its guard refuses past the limit, undecodable and unregistered events go
 * to the DLQ at once, enable_dlq=false drops and counts. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_int.h"
#include "busrt_util.h"

#define MAXEV 256

typedef struct seen {
    int n;
    kw_bus_event ev[MAXEV]; /* copies; strings point into names */
    char types[MAXEV][32], payload[MAXEV][64];
    int32_t attempt[MAXEV];
    int64_t offset[MAXEV];
    char order[MAXEV * 2 + 1]; /* 'T' for a type handler, 'A' for subscribe_all */
    int all_calls;
    int fail_mode; /* 0 succeed, 1 always fail */
    int calls;
} seen;

static seen S;

static int
on_type(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *mi, kw_bus_failure *fail,
        void *ud)
{
    (void)bus;
    (void)ud;
    S.calls++;
    if (strlen(S.order) < sizeof(S.order) - 1)
        strcat(S.order, "T");
    if (S.fail_mode == 1) {
        kw_bus_failure_set(fail, "ValueError", "order %lld rejected",
                           (long long)ev->aggregate_version);
        return -1;
    }
    if (S.n < MAXEV) {
        int i = S.n++;
        S.ev[i] = *ev;
        snprintf(S.types[i], sizeof(S.types[i]), "%s", ev->event_type);
        snprintf(S.payload[i], sizeof(S.payload[i]), "%.*s", (int)ev->payload.len,
                 (const char *)ev->payload.ptr);
        S.attempt[i] = mi->attempt;
        S.offset[i] = mi->offset;
    }
    return 0;
}

static int
on_all(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *mi, kw_bus_failure *fail,
       void *ud)
{
    (void)bus;
    (void)ev;
    (void)mi;
    (void)fail;
    (void)ud;
    S.all_calls++;
    if (strlen(S.order) < sizeof(S.order) - 1)
        strcat(S.order, "A");
    return 0;
}

static int want_n;
static bool
got_n(void *ud)
{
    (void)ud;
    return S.n >= want_n;
}

static int64_t
committed(kw_mock *m, const char *group, const char *topic, int32_t p)
{
    int64_t off = -1;
    if (kw_mock_committed_offset(m, group, topic, p, &off, NULL) != KW_ERR_OK)
        return -1;
    return off;
}

START_TEST(consume_exact_envelopes)
{
    memset(&S, 0, sizeof(S));
    kw_mock *m = brt_mock(3, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "exact", "g-exact");
    kw_bus *bus = brt_bus(&c);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderCreated", on_type, NULL, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderShipped", on_type, NULL, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_subscribe_all(bus, on_all, NULL, &err), KW_ERR_OK);
    enum { N = 30 };
    kw_bus_event ev[N];
    char pay[N][64];
    for (int i = 0; i < N; i++)
        brt_event(&ev[i], i % 3 ? "OrderShipped" : "OrderCreated", (uint32_t)(i % 5), i / 5 + 1,
                  pay[i], sizeof(pay[i]));
    ev[4].tenant_id = brt_agg(99);
    ev[4].actor_id = "alice";
    ev[5].causation_id = ev[4].event_id;
    ck_assert_msg(kw_bus_publish(bus, ev, N, NULL, 30000, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_msg(kw_bus_consume(bus, &err) == KW_ERR_OK, "%s", err.msg);
    want_n = N;
    brt_until(bus, got_n, NULL, "30 events");
    for (int i = 0; i < N; i++) {
        int k = -1;
        for (int j = 0; j < S.n; j++)
            if (memcmp(&S.ev[j].event_id, &ev[i].event_id, sizeof(kw_uuid)) == 0)
                k = j;
        ck_assert_msg(k >= 0, "event %d not handled", i);
        const kw_bus_event *g = &S.ev[k];
        ck_assert_str_eq(S.types[k], ev[i].event_type);
        ck_assert_mem_eq(&g->aggregate_id, &ev[i].aggregate_id, sizeof(kw_uuid));
        ck_assert_mem_eq(&g->correlation_id, &ev[i].correlation_id, sizeof(kw_uuid));
        ck_assert_mem_eq(&g->causation_id, &ev[i].causation_id, sizeof(kw_uuid));
        ck_assert_mem_eq(&g->tenant_id, &ev[i].tenant_id, sizeof(kw_uuid));
        ck_assert_int_eq(g->aggregate_version, ev[i].aggregate_version);
        ck_assert_int_eq(g->occurred_at_us, ev[i].occurred_at_us);
        ck_assert_str_eq(S.payload[k], pay[i]);
        ck_assert_int_eq(S.attempt[k], 0);
    }
    ck_assert_int_eq(S.n, N); /* each once */
    ck_assert_int_eq(S.all_calls, N);
    for (int i = 0; i < N; i++) /* per event: its type's handler, then subscribe_all */
        ck_assert(S.order[2 * i] == 'T' && S.order[2 * i + 1] == 'A');

    kw_bus_topic_info ti;
    kw_bus_get_topic_info(bus, &ti, NULL);
    ck_assert(ti.consuming);
    ck_assert_int_eq(kw_bus_shutdown(bus, 10000, &err), KW_ERR_OK);
    kw_bus_stats st;
    kw_bus_get_stats(bus, &st);
    ck_assert_uint_eq(st.events_consumed, N);
    ck_assert_uint_eq(st.events_processed_success, N);
    ck_assert_uint_eq(st.events_processed_failed, 0);
    ck_assert_uint_eq(st.messages_sent_to_dlq, 0);
    ck_assert_uint_eq(st.rebalance_count, 2); /* assigned, then revoked when leaving */
    ck_assert_int_gt(st.last_consume_at_us, 0);
    const char *lab[] = {"handler-3", "OrderShipped", ""};
    double v = 0;
    ck_assert(kwi_bus_metrics_get(kw_bus_metrics_of(bus), KWI_BUS_M_HANDLER_CALLS, lab, &v, NULL));
    ck_assert(v == 20);
    const char *grp[] = {"g-exact"};
    ck_assert(kwi_bus_metrics_get(kw_bus_metrics_of(bus), KWI_BUS_M_REBALANCES, grp, &v, NULL));
    ck_assert(v == 2);
    /* Every partition is committed up to its end. */
    for (int p = 0; p < 3; p++) {
        kw_mock_partition_info pi;
        kw_mock_partition_info_get(m, "exact.stream", p, &pi);
        /* (a partition that received nothing has nothing to commit) */
        ck_assert_int_eq(committed(m, "g-exact", "exact.stream", p),
                         pi.high_watermark > 0 ? pi.high_watermark : -1);
    }
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- tracing */

/* What the span_end hook saw. Attribute texts live in the bus's span, valid only during the
 * hook: the integers asked for are read there. */
typedef struct span_rec {
    kw_bus_span sp;
    int64_t partition, offset;
} span_rec;

typedef struct spans {
    int n;
    span_rec v[8];
} spans;

static spans SP;

static int64_t
span_int(const kw_bus_span *sp, const char *key)
{
    for (size_t i = 0; i < sp->n_attrs; i++)
        if (strcmp(sp->attrs[i].key, key) == 0 && !sp->attrs[i].str)
            return sp->attrs[i].num;
    return -99;
}

static void
span_end(void *ud, kw_bus_span *sp)
{
    (void)ud;
    if (SP.n < 8) {
        span_rec *r = &SP.v[SP.n++];
        r->sp = *sp;
        r->sp.n_attrs = 0; /* the copy's attribute pointers would dangle */
        r->partition = span_int(sp, "messaging.kafka.partition");
        r->offset = span_int(sp, "messaging.kafka.offset");
    }
}

static const span_rec *
span_named(const char *name)
{
    for (int i = 0; i < SP.n; i++)
        if (strcmp(SP.v[i].sp.name, name) == 0)
            return &SP.v[i];
    return NULL;
}

/* Continues the trace: publishes OrderShipped with the consumer span's context. */
static int
follow_up(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *mi, kw_bus_failure *fail,
          void *ud)
{
    (void)fail;
    (void)ud;
    kw_bus_event out = *ev;
    kw_uuid_v4(&out.event_id);
    out.event_type = "OrderShipped";
    out.traceparent = mi->traceparent;
    out.tracestate = NULL;
    return kw_bus_publish_async(bus, &out, 1, NULL) == KW_ERR_OK ? 0 : 1;
}

static bool
spans_done(void *ud)
{
    (void)ud;
    return span_named("eventsource.event_bus.publish OrderShipped") != NULL &&
           span_named("eventsource.event_bus.consume OrderShipped") != NULL;
}

START_TEST(consumer_span_continues_the_trace)
{
    memset(&SP, 0, sizeof(SP));
    memset(&S, 0, sizeof(S));
    kw_mock *m = brt_mock(1, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "trace", "g-trace");
    kw_bus_opts o;
    kw_bus_opts_init(&o);
    o.tracer.span_end = span_end;
    kw_bus *bus = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_new(&c, &o, &bus, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_connect(bus, 30000, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderCreated", follow_up, NULL, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_subscribe(bus, "OrderShipped", on_type, NULL, &err), KW_ERR_OK);
    kw_bus_event ev;
    char pay[64];
    brt_event(&ev, "OrderCreated", 1, 1, pay, sizeof(pay));
    kw_bus_publish_result res;
    ck_assert_int_eq(kw_bus_publish(bus, &ev, 1, &res, 30000, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_consume(bus, &err), KW_ERR_OK);
    brt_until(bus, spans_done, NULL, "the four spans");
    const span_rec *r1 = span_named("eventsource.event_bus.publish OrderCreated");
    const span_rec *r2 = span_named("eventsource.event_bus.consume OrderCreated");
    const span_rec *r3 = span_named("eventsource.event_bus.publish OrderShipped");
    const span_rec *r4 = span_named("eventsource.event_bus.consume OrderShipped");
    ck_assert(r1 && r2 && r3 && r4);
    const kw_bus_span *p1 = &r1->sp, *c1 = &r2->sp, *p2 = &r3->sp, *c2 = &r4->sp;
    ck_assert_int_eq(p1->kind, KW_BUS_SPAN_PRODUCER);
    ck_assert_int_eq(c1->kind, KW_BUS_SPAN_CONSUMER);
    ck_assert_int_eq(r1->partition, res.partition);
    ck_assert_int_eq(r1->offset, res.offset);
    ck_assert_int_eq(r2->offset, res.offset);
    /* One trace through all four: each span's parent is the one before it. */
    const kw_bus_span *chain[] = {p1, c1, p2, c2};
    for (int i = 1; i < 4; i++) {
        ck_assert_mem_eq(chain[i]->ctx.trace_id, p1->ctx.trace_id, 16);
        ck_assert(chain[i]->has_parent);
        ck_assert_mem_eq(chain[i]->parent.span_id, chain[i - 1]->ctx.span_id, 8);
        ck_assert(chain[i]->end_us >= chain[i]->start_us && chain[i]->end_us > 0);
        ck_assert(!chain[i]->error);
    }
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("bus_consume");
    TCase *tc = tcase_create("consume");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, consume_exact_envelopes);
    tcase_add_test(tc, consumer_span_continues_the_trace);
    suite_add_tcase(s, tc);
    return s;
}
