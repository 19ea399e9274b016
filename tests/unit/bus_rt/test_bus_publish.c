/* The bus's publish side and topic creation against an in-process kwire-mock: the exact
 * records on the broker (key, value, every header), a result per event, async publishing,
 * statistics and metrics counts, CreateTopics with the configured partitions. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "bus/bus_int.h"
#include "busrt_util.h"

/* The headers kw_bus_event_encode must have produced for ev, up to content_type. */
static void
expected_headers(const kw_bus_event *ev, char *out, size_t cap)
{
    char id[KW_UUID_STR_SIZE], agg[KW_UUID_STR_SIZE], corr[KW_UUID_STR_SIZE];
    char at[KW_BUS_TIME_STR_SIZE];
    kw_bus_time_format(ev->occurred_at_us, KW_BUS_TIME_MICROS, at, sizeof(at));
    snprintf(out, cap,
             "event_id=%s\nevent_type=%s\naggregate_id=%s\naggregate_type=%s\n"
             "aggregate_version=%lld\noccurred_at=%s\ncorrelation_id=%s\n"
             "content_type=application/json\ntraceparent=",
             kw_uuid_format(&ev->event_id, id), ev->event_type,
             kw_uuid_format(&ev->aggregate_id, agg), ev->aggregate_type,
             (long long)ev->aggregate_version, at, kw_uuid_format(&ev->correlation_id, corr));
}

START_TEST(publish_exact_records_and_create_topics)
{
    /* No auto-creation: the bus must create both topics with CreateTopics. */
    kw_mock *m = brt_mock(1, false);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "shop", "g1");
    c.topic_partitions = 3;
    kw_bus *bus = brt_bus(&c);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "shop.stream"), 3);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "shop.stream.dlq"), 3);
    kw_bus_topic_info ti;
    ck_assert_int_eq(kw_bus_get_topic_info(bus, &ti, NULL), KW_ERR_OK);
    ck_assert_str_eq(ti.topic, "shop.stream");
    ck_assert_int_eq(ti.partitions, 3);
    ck_assert_str_eq(ti.consumer_group, "g1");
    ck_assert(ti.connected);
    ck_assert(!ti.consuming);

    enum { N = 12 };
    kw_bus_event ev[N];
    char pay[N][64];
    for (int i = 0; i < N; i++)
        brt_event(&ev[i], i % 2 ? "OrderShipped" : "OrderCreated", (uint32_t)(i % 4), i / 4 + 1,
                  pay[i], sizeof(pay[i]));
    kw_bus_publish_result res[N];
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_bus_publish(bus, ev, N, res, 30000, &err) == KW_ERR_OK, "%s", err.msg);

    brt_recs recs[3] = {{0}};
    for (int p = 0; p < 3; p++)
        brt_mock_records(m, "shop.stream", p, &recs[p]);
    ck_assert_uint_eq(recs[0].n + recs[1].n + recs[2].n, N);
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(res[i].err, KW_ERR_OK);
        ck_assert_int_ge(res[i].partition, 0);
        ck_assert_int_lt(res[i].partition, 3);
        /* An aggregate's events share a partition (key = aggregate id), in version order. */
        ck_assert_int_eq(res[i].partition, res[i % 4].partition);
        if (i >= 4)
            ck_assert_int_gt(res[i].offset, res[i - 4].offset);
        const brt_recs *r = &recs[res[i].partition];
        const brt_rec *rec = NULL;
        for (size_t k = 0; k < r->n; k++)
            if (r->v[k].offset == res[i].offset)
                rec = &r->v[k];
        ck_assert_ptr_nonnull(rec);
        char agg[KW_UUID_STR_SIZE], want[2048], tp[128];
        ck_assert_str_eq(rec->key, kw_uuid_format(&ev[i].aggregate_id, agg));
        ck_assert_str_eq(rec->value, pay[i]);
        expected_headers(&ev[i], want, sizeof(want));
        ck_assert_msg(strncmp(rec->headers, want, strlen(want)) == 0, "headers\n%s\nwant\n%s",
                      rec->headers, want);
        brt_header(rec->headers, "traceparent", tp, sizeof(tp));
        kw_bus_trace_ctx ctx;
        ck_assert_int_eq(kw_bus_traceparent_parse(tp, strlen(tp), &ctx), KW_ERR_OK);
        ck_assert(strchr(rec->headers + strlen(want), '\n') == NULL); /* nothing after it */
    }
    for (int p = 0; p < 3; p++)
        brt_recs_fini(&recs[p]);

    kw_bus_stats st;
    ck_assert_int_eq(kw_bus_get_stats(bus, &st), KW_ERR_OK);
    ck_assert_uint_eq(st.events_published, N);
    ck_assert_uint_eq(st.publish_errors, 0);
    ck_assert_int_gt(st.last_publish_at_us, 0);
    ck_assert_int_gt(st.connected_at_us, 0);
    const char *created[] = {"shop.stream", "OrderCreated"};
    double v = 0;
    uint64_t cnt = 0;
    ck_assert(kwi_bus_metrics_get(kw_bus_metrics_of(bus), KWI_BUS_M_PUBLISHED, created, &v, NULL));
    ck_assert(v == N / 2);
    const char *dest[] = {"shop.stream"};
    ck_assert(
        kwi_bus_metrics_get(kw_bus_metrics_of(bus), KWI_BUS_M_PUBLISH_DURATION, dest, &v, &cnt));
    ck_assert_uint_eq(cnt, N);
    ck_assert(kwi_bus_metrics_get(kw_bus_metrics_of(bus), KWI_BUS_M_BATCH_SIZE, NULL, &v, &cnt));
    ck_assert_uint_eq(cnt, 1);
    ck_assert(v == N);
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

START_TEST(publish_result_per_event)
{
    kw_mock *m = brt_mock(2, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "bad", "g");
    kw_bus *bus = brt_bus(&c);
    kw_bus_event ev[3];
    char pay[3][64];
    for (int i = 0; i < 3; i++)
        brt_event(&ev[i], "OrderCreated", 7, i + 1, pay[i], sizeof(pay[i]));
    memset(&ev[1].aggregate_id, 0, sizeof(ev[1].aggregate_id)); /* nil: refused */
    kw_bus_publish_result res[3];
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_publish(bus, ev, 3, res, 30000, &err), KW_ERR_INVALID_ARG);
    ck_assert_msg(strstr(err.msg, "aggregate_id") != NULL, "%s", err.msg);
    ck_assert_int_eq(res[0].err, KW_ERR_OK);
    ck_assert_int_eq(res[1].err, KW_ERR_INVALID_ARG);
    ck_assert_int_eq(res[2].err, KW_ERR_OK);
    ck_assert_int_eq(res[2].offset, res[0].offset + 1);
    kw_bus_stats st;
    kw_bus_get_stats(bus, &st);
    ck_assert_uint_eq(st.events_published, 2);
    ck_assert_uint_eq(st.publish_errors, 1);
    ck_assert_int_gt(st.last_error_at_us, 0);
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

static bool
published_all(void *ud)
{
    kw_bus_stats st;
    kw_bus_get_stats(ud, &st);
    return st.events_published == 200;
}

START_TEST(publish_async_counts)
{
    kw_mock *m = brt_mock(4, true);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "async", "g");
    kw_bus *bus = brt_bus(&c);
    kw_bus_event ev[20];
    char pay[20][64];
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 20; i++)
            brt_event(&ev[i], "OrderCreated", (uint32_t)i, round + 1, pay[i], sizeof(pay[i]));
        ck_assert_int_eq(kw_bus_publish_async(bus, ev, 20, NULL), KW_ERR_OK);
    }
    brt_until(bus, published_all, bus, "200 acknowledged events");
    size_t total = 0;
    for (int p = 0; p < 4; p++) {
        brt_recs r = {0};
        brt_mock_records(m, "async.stream", p, &r);
        total += r.n;
        brt_recs_fini(&r);
    }
    ck_assert_uint_eq(total, 200);
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

START_TEST(missing_topics_not_created)
{
    kw_mock *m = brt_mock(1, false);
    kw_bus_config c;
    brt_config(&c, kw_mock_bootstrap(m), "none", "g");
    c.create_topics = false;
    kw_bus *bus = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_new(&c, NULL, &bus, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_connect(bus, 3000, &err), KW_ERR_NOT_FOUND);
    ck_assert_msg(strstr(err.msg, "none.stream") != NULL, "%s", err.msg);
    kw_bus_event ev;
    char pay[64];
    brt_event(&ev, "OrderCreated", 1, 1, pay, sizeof(pay));
    ck_assert_int_eq(kw_bus_publish(bus, &ev, 1, NULL, 1000, NULL), KW_ERR_STATE);
    kw_bus_free(bus);
    /* Existing topics are used as they are. */
    ck_assert_int_eq(kw_mock_topic_create(m, "none.stream", 5, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "none.stream.dlq", 2, 1, NULL), KW_ERR_OK);
    bus = brt_bus(&c);
    kw_bus_topic_info ti;
    kw_bus_get_topic_info(bus, &ti, NULL);
    ck_assert_int_eq(ti.partitions, 5);
    kw_bus_free(bus);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("bus_publish");
    TCase *tc = tcase_create("publish");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, publish_exact_records_and_create_topics);
    tcase_add_test(tc, publish_result_per_event);
    tcase_add_test(tc, publish_async_counts);
    tcase_add_test(tc, missing_topics_not_created);
    suite_add_tcase(s, tc);
    return s;
}
