/* Observability of the event bus: metric counts read back through the callback and as exact
 * Prometheus text, the series cap, the statistics JSON, W3C traceparent parsing and
 * formatting, and spans that continue the producer's trace. */
#include <check.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_int.h"

static const char expected_prom[] =
    "# HELP kafka_eventbus_messages_published_total Total messages published to Kafka (messages)\n"
    "# TYPE kafka_eventbus_messages_published_total counter\n"
    "kafka_eventbus_messages_published_total{messaging_destination=\"events.stream\",event_type="
    "\"OrderCreated\"} 3\n"
    "kafka_eventbus_messages_published_total{messaging_destination=\"events.stream\",event_type="
    "\"OrderShipped\"} 1\n"
    "# HELP kafka_eventbus_messages_consumed_total Total messages consumed from Kafka (messages)\n"
    "# TYPE kafka_eventbus_messages_consumed_total counter\n"
    "kafka_eventbus_messages_consumed_total{messaging_destination=\"events.stream\",messaging_"
    "kafka_partition=\"0\",event_type=\"OrderCreated\"} 2\n"
    "# HELP kafka_eventbus_handler_invocations_total Total handler invocations (invocations)\n"
    "# TYPE kafka_eventbus_handler_invocations_total counter\n"
    "kafka_eventbus_handler_invocations_total{handler_name=\"h\\\"x\\\\y\\nz\",event_type=\"T\"} "
    "1\n"
    "# HELP kafka_eventbus_handler_errors_total Total handler errors (errors)\n"
    "# TYPE kafka_eventbus_handler_errors_total counter\n"
    "kafka_eventbus_handler_errors_total{handler_name=\"on_order\",event_type=\"OrderCreated\","
    "error_type=\"ValueError\"} 1\n"
    "# HELP kafka_eventbus_messages_dlq_total Total messages sent to dead letter queue (messages)\n"
    "# TYPE kafka_eventbus_messages_dlq_total counter\n"
    "kafka_eventbus_messages_dlq_total{dlq_reason=\"max_retries_exceeded\",error_type="
    "\"ValueError\"} 1\n"
    "# HELP kafka_eventbus_publish_errors_total Total publish errors (errors)\n"
    "# TYPE kafka_eventbus_publish_errors_total counter\n"
    "# HELP kafka_eventbus_reconnections_total Total reconnection attempts (reconnections)\n"
    "# TYPE kafka_eventbus_reconnections_total counter\n"
    "kafka_eventbus_reconnections_total 2\n"
    "# HELP kafka_eventbus_rebalances_total Total consumer rebalances (rebalances)\n"
    "# TYPE kafka_eventbus_rebalances_total counter\n"
    "# HELP kafka_eventbus_publish_duration_milliseconds Time to publish messages to Kafka (ms)\n"
    "# TYPE kafka_eventbus_publish_duration_milliseconds histogram\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"0\"} 0\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"5\"} 1\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"10\"} 1\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"25\"} 2\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"50\"} 2\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"75\"} 2\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"100\"} 2\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"250\"} 2\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"500\"} 2\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"750\"} 2\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"1000\"} 2\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"2500\"} 2\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"5000\"} 2\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"7500\"} 2\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"10000\"} 2\n"
    "kafka_eventbus_publish_duration_milliseconds_bucket{messaging_destination=\"events.stream\","
    "le=\"+Inf\"} 3\n"
    "kafka_eventbus_publish_duration_milliseconds_sum{messaging_destination=\"events.stream\"} "
    "20015.5\n"
    "kafka_eventbus_publish_duration_milliseconds_count{messaging_destination=\"events.stream\"} "
    "3\n"
    "# HELP kafka_eventbus_consume_duration_milliseconds Time to process consumed messages (ms)\n"
    "# TYPE kafka_eventbus_consume_duration_milliseconds histogram\n"
    "# HELP kafka_eventbus_handler_duration_milliseconds Handler execution time (ms)\n"
    "# TYPE kafka_eventbus_handler_duration_milliseconds histogram\n"
    "# HELP kafka_eventbus_batch_size Publish batch size (messages)\n"
    "# TYPE kafka_eventbus_batch_size histogram\n"
    "kafka_eventbus_batch_size_bucket{le=\"0\"} 0\n"
    "kafka_eventbus_batch_size_bucket{le=\"5\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"10\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"25\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"50\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"75\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"100\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"250\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"500\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"750\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"1000\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"2500\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"5000\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"7500\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"10000\"} 1\n"
    "kafka_eventbus_batch_size_bucket{le=\"+Inf\"} 1\n"
    "kafka_eventbus_batch_size_sum 4\n"
    "kafka_eventbus_batch_size_count 1\n"
    "# HELP kafka_eventbus_connections_active Connection status (1=connected, 0=disconnected) "
    "(connections)\n"
    "# TYPE kafka_eventbus_connections_active gauge\n"
    "kafka_eventbus_connections_active{messaging_kafka_consumer_group=\"default\"} 1\n"
    "# HELP kafka_eventbus_consumer_lag Consumer lag per partition (messages behind) (messages)\n"
    "# TYPE kafka_eventbus_consumer_lag gauge\n"
    "kafka_eventbus_consumer_lag{topic=\"events.stream\",partition=\"0\"} 7\n"
    "kafka_eventbus_consumer_lag{topic=\"events.stream\",partition=\"1\"} 0\n";

static void
record_sample(kw_bus_metrics *m)
{
    const char *pub_oc[] = {"events.stream", "OrderCreated"};
    const char *pub_os[] = {"events.stream", "OrderShipped"};
    for (int i = 0; i < 3; i++)
        kwi_bus_metrics_add(m, KWI_BUS_M_PUBLISHED, pub_oc, 1);
    kwi_bus_metrics_add(m, KWI_BUS_M_PUBLISHED, pub_os, 1);
    const char *cons[] = {"events.stream", "0", "OrderCreated"};
    kwi_bus_metrics_add(m, KWI_BUS_M_CONSUMED, cons, 2);
    const char *calls[] = {"h\"x\\y\nz", "T"};
    kwi_bus_metrics_add(m, KWI_BUS_M_HANDLER_CALLS, calls, 1);
    const char *herr[] = {"on_order", "OrderCreated", "ValueError"};
    kwi_bus_metrics_add(m, KWI_BUS_M_HANDLER_ERRORS, herr, 1);
    const char *dlq[] = {"max_retries_exceeded", "ValueError"};
    kwi_bus_metrics_add(m, KWI_BUS_M_DLQ, dlq, 1);
    kwi_bus_metrics_add(m, KWI_BUS_M_RECONNECTIONS, NULL, 1);
    kwi_bus_metrics_add(m, KWI_BUS_M_RECONNECTIONS, NULL, 1);
    const char *dest[] = {"events.stream"};
    kwi_bus_metrics_observe(m, KWI_BUS_M_PUBLISH_DURATION, dest, 3);
    kwi_bus_metrics_observe(m, KWI_BUS_M_PUBLISH_DURATION, dest, 12.5);
    kwi_bus_metrics_observe(m, KWI_BUS_M_PUBLISH_DURATION, dest, 20000);
    kwi_bus_metrics_observe(m, KWI_BUS_M_BATCH_SIZE, NULL, 4);
    const char *group[] = {"default"};
    kwi_bus_metrics_set(m, KWI_BUS_M_CONNECTIONS, group, 1);
    const char *p0[] = {"events.stream", "0"}, *p1[] = {"events.stream", "1"};
    kwi_bus_metrics_set(m, KWI_BUS_M_CONSUMER_LAG, p0, 5);
    kwi_bus_metrics_set(m, KWI_BUS_M_CONSUMER_LAG, p1, 0);
    kwi_bus_metrics_set(m, KWI_BUS_M_CONSUMER_LAG, p0, 7); /* a gauge keeps the last value */
}

START_TEST(prometheus_exact)
{
    kw_bus_metrics *m;
    ck_assert_int_eq(kwi_bus_metrics_new(NULL, &m), KW_ERR_OK);
    record_sample(m);
    size_t need = 0;
    ck_assert_int_eq(kw_bus_metrics_prometheus(m, NULL, &need), KW_ERR_OK);
    ck_assert_uint_eq(need, sizeof(expected_prom));
    char *buf = malloc(need);
    size_t len = need;
    ck_assert_int_eq(kw_bus_metrics_prometheus(m, buf, &len), KW_ERR_OK);
    ck_assert_str_eq(buf, expected_prom);
    len = need - 1;
    ck_assert_int_eq(kw_bus_metrics_prometheus(m, buf, &len), KW_ERR_NOSPACE);
    ck_assert_uint_eq(len, need);
    free(buf);
    ck_assert_uint_eq(kwi_bus_metrics_dropped(m), 0);
    kwi_bus_metrics_free(m);
}
END_TEST

typedef struct seen {
    int calls;
    char lines[64][256];
} seen;

static void
on_metric(void *ud, const kw_bus_metric *m)
{
    seen *s = ud;
    char *l = s->lines[s->calls++];
    int n = snprintf(l, 256, "%s|%d|", m->name, (int)m->kind);
    for (size_t i = 0; i < m->n_labels; i++)
        n += snprintf(l + n, (size_t)(256 - n), "%s=%s,", m->labels[i].name, m->labels[i].value);
    n += snprintf(l + n, (size_t)(256 - n), "|%g|%llu", m->value, (unsigned long long)m->count);
    if (m->kind == KW_BUS_METRIC_HISTOGRAM) {
        uint64_t total = m->overflow;
        for (size_t b = 0; b < m->n_buckets; b++)
            total += m->buckets[b];
        snprintf(l + n, (size_t)(256 - n), "|b%zu:%g..%g|sum%llu|over%llu", m->n_buckets,
                 m->bounds[0], m->bounds[m->n_buckets - 1], (unsigned long long)total,
                 (unsigned long long)m->overflow);
    }
}

START_TEST(callback_reader)
{
    kw_bus_metrics *m;
    ck_assert_int_eq(kwi_bus_metrics_new(NULL, &m), KW_ERR_OK);
    static seen s;
    memset(&s, 0, sizeof(s));
    /* Fresh: only the instruments without labels, at zero. */
    ck_assert_int_eq(kw_bus_metrics_read(m, on_metric, &s), KW_ERR_OK);
    ck_assert_int_eq(s.calls, 2);
    ck_assert_str_eq(s.lines[0], "kafka.eventbus.reconnections|0||0|0");
    ck_assert_str_eq(s.lines[1], "kafka.eventbus.batch.size|1||0|0|b15:0..10000|sum0|over0");
    record_sample(m);
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(kw_bus_metrics_read(m, on_metric, &s), KW_ERR_OK);
    const char *want[] = {
        "kafka.eventbus.messages.published|0|messaging.destination=events.stream,event.type="
        "OrderCreated,|3|0",
        "kafka.eventbus.messages.published|0|messaging.destination=events.stream,event.type="
        "OrderShipped,|1|0",
        "kafka.eventbus.messages.consumed|0|messaging.destination=events.stream,messaging.kafka."
        "partition=0,event.type=OrderCreated,|2|0",
        "kafka.eventbus.handler.invocations|0|handler.name=h\"x\\y\nz,event.type=T,|1|0",
        "kafka.eventbus.handler.errors|0|handler.name=on_order,event.type=OrderCreated,error.type="
        "ValueError,|1|0",
        "kafka.eventbus.messages.dlq|0|dlq.reason=max_retries_exceeded,error.type=ValueError,|1|0",
        "kafka.eventbus.reconnections|0||2|0",
        "kafka.eventbus.publish.duration|1|messaging.destination=events.stream,|20015.5|3|b15:0.."
        "10000|sum3|over1",
        "kafka.eventbus.batch.size|1||4|1|b15:0..10000|sum1|over0",
        "kafka.eventbus.connections.active|2|messaging.kafka.consumer_group=default,|1|0",
        "kafka.eventbus.consumer.lag|2|topic=events.stream,partition=0,|7|0",
        "kafka.eventbus.consumer.lag|2|topic=events.stream,partition=1,|0|0",
    };
    ck_assert_int_eq(s.calls, (int)(sizeof(want) / sizeof(want[0])));
    for (int i = 0; i < s.calls; i++)
        ck_assert_str_eq(s.lines[i], want[i]);
    ck_assert_int_eq(kw_bus_metrics_read(NULL, on_metric, &s), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_bus_metrics_read(m, NULL, &s), KW_ERR_INVALID_ARG);
    kwi_bus_metrics_free(m);
}
END_TEST

START_TEST(counts_get_clear_and_misuse)
{
    kw_bus_metrics *m;
    ck_assert_int_eq(kwi_bus_metrics_new(NULL, &m), KW_ERR_OK);
    const char *l[] = {"events.stream", "A"};
    for (int i = 0; i < 1000; i++)
        kwi_bus_metrics_add(m, KWI_BUS_M_PUBLISHED, l, 1);
    double v;
    uint64_t c;
    ck_assert(kwi_bus_metrics_get(m, KWI_BUS_M_PUBLISHED, l, &v, &c));
    ck_assert(v == 1000);
    const char *other[] = {"events.stream", "B"};
    ck_assert(!kwi_bus_metrics_get(m, KWI_BUS_M_PUBLISHED, other, &v, &c));
    /* Histogram bucket edges are inclusive upper bounds. */
    const char *d[] = {"t"};
    kwi_bus_metrics_observe(m, KWI_BUS_M_CONSUME_DURATION, d, 5);
    kwi_bus_metrics_observe(m, KWI_BUS_M_CONSUME_DURATION, d, 5.0001);
    kwi_bus_metrics_observe(m, KWI_BUS_M_CONSUME_DURATION, d, 0);
    ck_assert(kwi_bus_metrics_get(m, KWI_BUS_M_CONSUME_DURATION, d, &v, &c));
    ck_assert_uint_eq(c, 3);
    size_t need = 0;
    kw_bus_metrics_prometheus(m, NULL, &need);
    char *buf = malloc(need);
    kw_bus_metrics_prometheus(m, buf, &need);
    ck_assert_ptr_nonnull(strstr(buf, "kafka_eventbus_consume_duration_milliseconds_bucket{"
                                      "messaging_destination=\"t\",le=\"0\"} 1\n"));
    ck_assert_ptr_nonnull(strstr(buf, "kafka_eventbus_consume_duration_milliseconds_bucket{"
                                      "messaging_destination=\"t\",le=\"5\"} 2\n"));
    ck_assert_ptr_nonnull(strstr(buf, "kafka_eventbus_consume_duration_milliseconds_bucket{"
                                      "messaging_destination=\"t\",le=\"10\"} 3\n"));
    ck_assert_ptr_nonnull(strstr(buf, "kafka_eventbus_consume_duration_milliseconds_sum{"
                                      "messaging_destination=\"t\"} 10.0001\n"));
    free(buf);
    /* Misuse is dropped and counted, never a crash: a wrong kind, a negative counter step,
     * labels missing where the instrument has some. */
    kwi_bus_metrics_observe(m, KWI_BUS_M_PUBLISHED, l, 1);
    kwi_bus_metrics_add(m, KWI_BUS_M_PUBLISHED, l, -1);
    kwi_bus_metrics_add(m, KWI_BUS_M_PUBLISHED, NULL, 1);
    kwi_bus_metrics_add(m, (kwi_bus_metric_id)99, l, 1);
    kwi_bus_metrics_observe(m, KWI_BUS_M_CONSUME_DURATION, d, NAN);
    ck_assert_uint_eq(kwi_bus_metrics_dropped(m), 4);
    ck_assert(kwi_bus_metrics_get(m, KWI_BUS_M_PUBLISHED, l, &v, NULL) && v == 1000);
    /* Lag series go away after a revocation. */
    const char *p0[] = {"events.stream", "0"};
    kwi_bus_metrics_set(m, KWI_BUS_M_CONSUMER_LAG, p0, 3);
    kwi_bus_metrics_clear(m, KWI_BUS_M_CONSUMER_LAG);
    ck_assert(!kwi_bus_metrics_get(m, KWI_BUS_M_CONSUMER_LAG, p0, &v, NULL));
    kwi_bus_metrics_set(m, KWI_BUS_M_CONSUMER_LAG, p0, 4);
    ck_assert(kwi_bus_metrics_get(m, KWI_BUS_M_CONSUMER_LAG, p0, &v, NULL) && v == 4);
    kwi_bus_metrics_free(m);
    kwi_bus_metrics_free(NULL);
}
END_TEST

START_TEST(series_are_capped)
{
    kw_bus_metrics *m;
    ck_assert_int_eq(kwi_bus_metrics_new(NULL, &m), KW_ERR_OK);
    char type[32];
    for (int i = 0; i < KWI_BUS_METRICS_MAX_SERIES + 50; i++) {
        snprintf(type, sizeof(type), "T%d", i);
        const char *l[] = {"events.stream", type};
        kwi_bus_metrics_add(m, KWI_BUS_M_PUBLISHED, l, 1);
    }
    ck_assert_uint_eq(kwi_bus_metrics_dropped(m), 50);
    const char *first[] = {"events.stream", "T0"};
    double v;
    ck_assert(kwi_bus_metrics_get(m, KWI_BUS_M_PUBLISHED, first, &v, NULL) && v == 1);
    kwi_bus_metrics_free(m);
}
END_TEST

#include "support/failalloc.h"

START_TEST(metrics_out_of_memory)
{
    /* Every allocation failing in turn: recording drops and counts, nothing leaks. */
    for (long k = 0; k < 8; k++) {
        failing f = {.left = k};
        kw_allocator a = kwt_failing_allocator(&f);
        kw_bus_metrics *m;
        kw_err e = kwi_bus_metrics_new(&a, &m);
        if (e != KW_ERR_OK) {
            ck_assert_int_eq(e, KW_ERR_NOMEM);
            ck_assert_int_eq(f.live, 0);
            continue;
        }
        record_sample(m);
        kwi_bus_metrics_free(m);
        ck_assert_int_eq(f.live, 0);
        ck_assert(!f.size_mismatch);
    }
}
END_TEST

static void *
scrape(void *arg)
{
    kw_bus_metrics *m = arg;
    for (int i = 0; i < 200; i++) {
        size_t need = 0;
        kw_bus_metrics_prometheus(m, NULL, &need);
        char *buf = malloc(need + 4096);
        size_t len = need + 4096;
        kw_bus_metrics_prometheus(m, buf, &len);
        free(buf);
    }
    return NULL;
}

START_TEST(scraping_from_another_thread)
{
    kw_bus_metrics *m;
    ck_assert_int_eq(kwi_bus_metrics_new(NULL, &m), KW_ERR_OK);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, scrape, m), 0);
    const char *l[] = {"events.stream", "A"};
    for (int i = 0; i < 20000; i++)
        kwi_bus_metrics_add(m, KWI_BUS_M_PUBLISHED, l, 1);
    pthread_join(t, NULL);
    double v;
    ck_assert(kwi_bus_metrics_get(m, KWI_BUS_M_PUBLISHED, l, &v, NULL) && v == 20000);
    kwi_bus_metrics_free(m);
}
END_TEST

/* ---------------------------------------------------------------- stats */

START_TEST(stats_json_exact)
{
    kw_bus_stats s;
    kw_bus_stats_init(&s);
    char buf[1024];
    size_t len = sizeof(buf);
    ck_assert_int_eq(kw_bus_stats_json(&s, buf, &len), KW_ERR_OK);
    ck_assert_str_eq(buf, "{\"events_published\":0,\"events_consumed\":0,"
                          "\"events_processed_success\":0,\"events_processed_failed\":0,"
                          "\"messages_sent_to_dlq\":0,\"handler_errors\":0,\"reconnections\":0,"
                          "\"rebalance_count\":0,\"events_retried\":0,\"events_dropped\":0,"
                          "\"publish_errors\":0,\"dlq_write_errors\":0,\"connected_at\":null,"
                          "\"last_publish_at\":null,"
                          "\"last_consume_at\":null,\"last_error_at\":null}");
    s.events_published = 10;
    s.events_consumed = 9;
    s.events_processed_success = 8;
    s.events_processed_failed = 4;
    s.messages_sent_to_dlq = 1;
    s.handler_errors = 4;
    s.reconnections = 2;
    s.rebalance_count = 3;
    s.events_retried = 3;
    s.events_dropped = 0;
    s.publish_errors = 18446744073709551615u;
    s.dlq_write_errors = 5;
    s.connected_at_us = 1705314600000000LL;
    s.last_publish_at_us = 1705314600123456LL;
    s.last_consume_at_us = 1705314601000001LL;
    len = sizeof(buf);
    ck_assert_int_eq(kw_bus_stats_json(&s, buf, &len), KW_ERR_OK);
    const char *want = "{\"events_published\":10,\"events_consumed\":9,"
                       "\"events_processed_success\":8,\"events_processed_failed\":4,"
                       "\"messages_sent_to_dlq\":1,\"handler_errors\":4,\"reconnections\":2,"
                       "\"rebalance_count\":3,\"events_retried\":3,\"events_dropped\":0,"
                       "\"publish_errors\":18446744073709551615,\"dlq_write_errors\":5,"
                       "\"connected_at\":\"2024-01-15T10:30:00+00:00\","
                       "\"last_publish_at\":\"2024-01-15T10:30:00.123456+00:00\","
                       "\"last_consume_at\":\"2024-01-15T10:30:01.000001+00:00\","
                       "\"last_error_at\":null}";
    ck_assert_str_eq(buf, want);
    ck_assert_uint_eq(len, strlen(want) + 1);
    len = 10;
    ck_assert_int_eq(kw_bus_stats_json(&s, buf, &len), KW_ERR_NOSPACE);
    ck_assert_uint_eq(len, strlen(want) + 1);
    ck_assert_int_eq(kw_bus_stats_json(NULL, buf, &len), KW_ERR_INVALID_ARG);
}
END_TEST

/* ---------------------------------------------------------------- tracing */

START_TEST(traceparent_parse_and_format)
{
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    kw_bus_trace_ctx c;
    ck_assert_int_eq(kw_bus_traceparent_parse(tp, strlen(tp), &c), KW_ERR_OK);
    ck_assert_int_eq(c.trace_id[0], 0x0a);
    ck_assert_int_eq(c.trace_id[15], 0x9c);
    ck_assert_int_eq(c.span_id[0], 0xb7);
    ck_assert_int_eq(c.span_id[7], 0x31);
    ck_assert_int_eq(c.flags, 1);
    char out[KW_BUS_TRACEPARENT_SIZE];
    ck_assert_str_eq(kw_bus_traceparent_format(&c, out), tp);
    const char *nf = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";
    ck_assert_int_eq(kw_bus_traceparent_parse(nf, strlen(nf), &c), KW_ERR_OK);
    ck_assert_int_eq(c.flags, 0);
    /* A future version with more fields is read by its first four. */
    const char *v1 = "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03-what-ever";
    ck_assert_int_eq(kw_bus_traceparent_parse(v1, strlen(v1), &c), KW_ERR_OK);
    ck_assert_int_eq(c.flags, 3);
    ck_assert_str_eq(kw_bus_traceparent_format(&c, out),
                     "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-03");
    const char *bad[] = {
        "",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01-", /* v00: exact length */
        "ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",  /* forbidden version */
        "00-00000000000000000000000000000000-b7ad6b7169203331-01",  /* zero trace id */
        "00-0af7651916cd43dd8448eb211c80319c-0000000000000000-01",  /* zero parent id */
        "00-0AF7651916CD43DD8448EB211C80319C-b7ad6b7169203331-01",  /* uppercase */
        "00_0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c_b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331_01",
        "0g-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319z-b7ad6b7169203331-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920333x-01",
        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-0x",
        "01-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01x", /* v01: extra needs '-' */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(kw_bus_traceparent_parse(bad[i], strlen(bad[i]), &c) == KW_ERR_MALFORMED,
                      "%s", bad[i]);
}
END_TEST

START_TEST(tracestate_clip)
{
    char out[KW_BUS_TRACESTATE_MAX + 1];
    ck_assert_uint_eq(kwi_bus_tracestate_clip("a=1,b=2", 7, out, sizeof(out)), 7);
    ck_assert_str_eq(out, "a=1,b=2");
    /* 600 characters in 100-character members: the members that fit in 512 are kept. */
    char big[601];
    for (int i = 0; i < 6; i++) {
        memset(big + 100 * i, 'a' + i, 99);
        big[100 * i + 99] = ',';
    }
    big[599] = 'z';
    big[600] = '\0';
    size_t n = kwi_bus_tracestate_clip(big, 600, out, sizeof(out));
    ck_assert_uint_eq(n, 499);
    ck_assert(memcmp(out, big, 499) == 0 && out[499] == '\0');
    ck_assert_uint_eq(kwi_bus_tracestate_clip("a=1\n", 4, out, sizeof(out)), 0);
    ck_assert_str_eq(out, "");
}
END_TEST

typedef struct hooks_seen {
    int started, ended;
    kw_bus_span last_start, last_end;
} hooks_seen;

static void
hook_start(void *ud, kw_bus_span *sp)
{
    hooks_seen *h = ud;
    h->started++;
    h->last_start = *sp;
    sp->user = h;
}

static void
hook_end(void *ud, kw_bus_span *sp)
{
    hooks_seen *h = ud;
    ck_assert_ptr_eq(sp->user, h);
    h->ended++;
    h->last_end = *sp;
}

static const char *
attr(const kw_bus_span *sp, const char *key, int64_t *num)
{
    for (size_t i = 0; i < sp->n_attrs; i++) {
        if (strcmp(sp->attrs[i].key, key) == 0) {
            if (num)
                *num = sp->attrs[i].num;
            return sp->attrs[i].str ? sp->attrs[i].str : "";
        }
    }
    return NULL;
}

static kw_uuid
uuid_of(const char *s)
{
    kw_uuid u;
    ck_assert_int_eq(kw_uuid_parse(s, strlen(s), &u), KW_ERR_OK);
    return u;
}

START_TEST(consumer_span_continues_producer_trace)
{
    hooks_seen h;
    memset(&h, 0, sizeof(h));
    kw_bus_tracer t = {hook_start, hook_end, &h};
    kwi_bus_rng rng;
    kwi_bus_rng_seed(&rng, 99);
    kw_bus_event ev;
    kw_bus_event_init(&ev);
    ev.event_id = uuid_of("11111111-1111-4111-8111-111111111111");
    ev.event_type = "OrderCreated";
    ev.aggregate_type = "Order";
    ev.aggregate_id = uuid_of("22222222-2222-4222-8222-222222222222");

    /* Publish with no parent: a new sampled trace. */
    kw_bus_span pub;
    kwi_bus_span_publish(&pub, &t, &ev, "events.stream", &rng, 1000);
    ck_assert_int_eq(h.started, 1);
    ck_assert_str_eq(pub.name, "eventsource.event_bus.publish OrderCreated");
    ck_assert_int_eq(pub.kind, KW_BUS_SPAN_PRODUCER);
    ck_assert(!pub.has_parent);
    ck_assert_int_eq(pub.ctx.flags, 1);
    ck_assert_str_eq(attr(&pub, "messaging.system", NULL), "kafka");
    ck_assert_str_eq(attr(&pub, "messaging.destination", NULL), "events.stream");
    ck_assert_str_eq(attr(&pub, "messaging.destination_kind", NULL), "topic");
    ck_assert_str_eq(attr(&pub, "messaging.operation", NULL), "publish");
    ck_assert_str_eq(attr(&pub, "event.type", NULL), "OrderCreated");
    ck_assert_str_eq(attr(&pub, "event.id", NULL), "11111111-1111-4111-8111-111111111111");
    ck_assert_str_eq(attr(&pub, "aggregate.id", NULL), "22222222-2222-4222-8222-222222222222");
    ck_assert_str_eq(attr(&pub, "aggregate.type", NULL), "Order");
    kwi_bus_span_attr_int(&pub, "messaging.kafka.partition", 2);
    kwi_bus_span_attr_int(&pub, "messaging.kafka.offset", 41);
    kwi_bus_span_end(&pub, &t, NULL, 2000);
    ck_assert_int_eq(h.ended, 1);
    ck_assert(!h.last_end.error);
    ck_assert_int_eq(h.last_end.end_us, 2000);
    int64_t num = 0;
    ck_assert_ptr_nonnull(attr(&h.last_end, "messaging.kafka.offset", &num));
    ck_assert_int_eq(num, 41);

    /* The record carries the publish span's context; the consumer span continues it. */
    char tp[KW_BUS_TRACEPARENT_SIZE];
    kwi_bus_span_traceparent(&pub, tp);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_bus_record r;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_event_encode(&ev, tp, "vendor=x", &ar, &r, &err), KW_ERR_OK);
    kw_bus_event got;
    ck_assert_int_eq(kw_bus_event_decode(r.key, r.value, r.headers, r.n_headers, &ar, &got, &err),
                     KW_ERR_OK);
    kw_bus_span con;
    kwi_bus_span_consume(&con, &t, &got, NULL, NULL, NULL, "events.stream", 2, 41, "billing", &rng,
                         3000);
    ck_assert_str_eq(con.name, "eventsource.event_bus.consume OrderCreated");
    ck_assert_int_eq(con.kind, KW_BUS_SPAN_CONSUMER);
    ck_assert(con.has_parent);
    ck_assert(memcmp(con.ctx.trace_id, pub.ctx.trace_id, 16) == 0);
    ck_assert(memcmp(con.parent.span_id, pub.ctx.span_id, 8) == 0);
    ck_assert(memcmp(con.ctx.span_id, pub.ctx.span_id, 8) != 0);
    ck_assert_int_eq(con.ctx.flags, pub.ctx.flags);
    ck_assert_str_eq(con.tracestate, "vendor=x");
    ck_assert_str_eq(attr(&con, "messaging.source", NULL), "events.stream");
    ck_assert_str_eq(attr(&con, "messaging.source_kind", NULL), "topic");
    ck_assert_str_eq(attr(&con, "messaging.operation", NULL), "receive");
    ck_assert_str_eq(attr(&con, "messaging.kafka.consumer_group", NULL), "billing");
    ck_assert_ptr_nonnull(attr(&con, "messaging.kafka.partition", &num));
    ck_assert_int_eq(num, 2);
    ck_assert_ptr_nonnull(attr(&con, "messaging.kafka.offset", &num));
    ck_assert_int_eq(num, 41);
    ck_assert_str_eq(attr(&con, "event.id", NULL), "11111111-1111-4111-8111-111111111111");
    kw_bus_failure f;
    kw_bus_failure_set(&f, "ValueError", "handler said no");
    kwi_bus_span_end(&con, &t, &f, 4000);
    ck_assert(h.last_end.error);
    ck_assert_str_eq(h.last_end.error_type, "ValueError");
    ck_assert_str_eq(h.last_end.error_message, "handler said no");

    /* An event published from the handler continues the consumer's trace. */
    char ctp[KW_BUS_TRACEPARENT_SIZE];
    ev.traceparent = kwi_bus_span_traceparent(&con, ctp);
    kw_bus_span child;
    kwi_bus_span_publish(&child, NULL, &ev, "events.stream", &rng, 5000); /* no hooks: fine */
    ck_assert(child.has_parent);
    ck_assert(memcmp(child.ctx.trace_id, pub.ctx.trace_id, 16) == 0);
    ck_assert(memcmp(child.parent.span_id, con.ctx.span_id, 8) == 0);

    /* A record that did not decode still gets a span from its raw headers; a bad
     * traceparent starts a new trace. */
    kw_bus_span raw;
    kwi_bus_span_consume(&raw, &t, NULL, NULL, "00-bad", NULL, "events.stream", 0, 7, "g", &rng,
                         6000);
    ck_assert_str_eq(raw.name, "eventsource.event_bus.consume unknown");
    ck_assert(!raw.has_parent);
    ck_assert_ptr_null(attr(&raw, "event.type", NULL));
    ck_assert_ptr_null(attr(&raw, "event.id", NULL));
    kw_arena_fini(&ar);
}
END_TEST

START_TEST(span_attributes_are_bounded)
{
    kw_bus_span sp;
    memset(&sp, 0, sizeof(sp));
    char big[2000];
    memset(big, 'v', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    kwi_bus_span_attr_str(&sp, "k", big); /* does not fit attr_buf: dropped */
    ck_assert_uint_eq(sp.n_attrs, 0);
    for (int i = 0; i < 40; i++)
        kwi_bus_span_attr_int(&sp, "n", i);
    ck_assert_uint_eq(sp.n_attrs, KW_BUS_SPAN_MAX_ATTRS);
    ck_assert_int_eq(sp.attrs[KW_BUS_SPAN_MAX_ATTRS - 1].num, KW_BUS_SPAN_MAX_ATTRS - 1);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("bus_observe");
    TCase *t = tcase_create("observe");
    tcase_add_test(t, prometheus_exact);
    tcase_add_test(t, callback_reader);
    tcase_add_test(t, counts_get_clear_and_misuse);
    tcase_add_test(t, series_are_capped);
    tcase_add_test(t, metrics_out_of_memory);
    tcase_add_test(t, scraping_from_another_thread);
    tcase_add_test(t, stats_json_exact);
    tcase_add_test(t, traceparent_parse_and_format);
    tcase_add_test(t, tracestate_clip);
    tcase_add_test(t, consumer_span_continues_producer_trace);
    tcase_add_test(t, span_attributes_are_bounded);
    suite_add_tcase(s, t);
    return s;
}
