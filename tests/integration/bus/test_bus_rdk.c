/* The event bus against librdkafka's mock cluster (an independent broker implementation, 3
 * brokers): publish and consume with the envelopes compared field by field; two groups both
 * receive everything; two workers in one group split the partitions between them. Skipped
 * (exit 77) when librdkafka-dev was missing at build time. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "busrt_util.h"
#include "rdk_launch.h"

#define NPART 6
#define MAXN  256

typedef struct worker {
    kw_bus *bus;
    int n;
    kw_uuid ids[MAXN];
    int64_t versions[MAXN];
    kw_uuid aggs[MAXN];
    char payload[MAXN][64];
    int32_t partition[MAXN];
    bool parts[NPART];
} worker;

static int
handler(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *mi, kw_bus_failure *fail,
        void *ud)
{
    (void)bus;
    (void)fail;
    worker *w = ud;
    if (w->n < MAXN) {
        w->ids[w->n] = ev->event_id;
        w->versions[w->n] = ev->aggregate_version;
        w->aggs[w->n] = ev->aggregate_id;
        snprintf(w->payload[w->n], sizeof(w->payload[0]), "%.*s", (int)ev->payload.len,
                 (const char *)ev->payload.ptr);
        w->partition[w->n] = mi->partition;
        w->n++;
    }
    if (mi->partition >= 0 && mi->partition < NPART)
        w->parts[mi->partition] = true;
    return 0;
}

static void
start_worker(worker *w, const char *bootstrap, const char *prefix, const char *group)
{
    memset(w, 0, sizeof(*w));
    kw_bus_config c;
    brt_config(&c, bootstrap, prefix, group);
    w->bus = brt_bus(&c);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_subscribe(w->bus, "OrderCreated", handler, w, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_consume(w->bus, &err), KW_ERR_OK);
}

/* Steps both buses (one may be NULL) until cond holds. */
static void
step_until(worker *a, worker *b, bool (*cond)(worker *, worker *), const char *what)
{
    int64_t end = brt_now_ms() + BRT_DEADLINE_MS;
    kw_error err;
    kw_error_init(&err);
    while (!cond(a, b)) {
        ck_assert_msg(brt_now_ms() < end, "timed out waiting for %s", what);
        ck_assert_int_eq(kw_bus_step(a->bus, 10, &err), KW_ERR_OK);
        if (b)
            ck_assert_int_eq(kw_bus_step(b->bus, 10, &err), KW_ERR_OK);
    }
}

static kw_bus_event evs[MAXN];
static char pays[MAXN][64];

static void
publish(kw_bus *bus, int n)
{
    for (int i = 0; i < n; i++)
        brt_event(&evs[i], "OrderCreated", (uint32_t)(i % 24), i / 24 + 1, pays[i], 64);
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_bus_publish(bus, evs, (size_t)n, NULL, 30000, &err) == KW_ERR_OK, "%s",
                  err.msg);
}

static int
find(const worker *w, const kw_uuid *id)
{
    for (int i = 0; i < w->n; i++)
        if (memcmp(&w->ids[i], id, sizeof(*id)) == 0)
            return i;
    return -1;
}

static int want;
static bool
both_have_all(worker *a, worker *b)
{
    return a->n >= want && (!b || b->n >= want);
}

static bool
union_has_all(worker *a, worker *b)
{
    return a->n + b->n >= want;
}

static kwt_rdk R;

static void
setup(void)
{
    kwt_rdk_start(&R, 3);
}

static void
teardown(void)
{
    kwt_rdk_stop(&R);
}

START_TEST(publish_consume_exact_and_two_groups)
{
    kwt_rdk_cmd(&R, "create rdkbus.stream %d 3", NPART);
    kwt_rdk_cmd(&R, "create rdkbus.stream.dlq %d 3", NPART);
    worker a, b;
    start_worker(&a, R.bootstrap, "rdkbus", "group-a");
    start_worker(&b, R.bootstrap, "rdkbus", "group-b");
    kw_bus_topic_info ti;
    kw_bus_get_topic_info(a.bus, &ti, NULL);
    ck_assert_int_eq(ti.partitions, NPART);
    want = 120;
    publish(a.bus, want);
    step_until(&a, &b, both_have_all, "both groups to receive every event");
    for (int g = 0; g < 2; g++) {
        worker *w = g ? &b : &a;
        ck_assert_int_eq(w->n, want);
        for (int i = 0; i < want; i++) {
            int k = find(w, &evs[i].event_id);
            ck_assert_msg(k >= 0, "group %d lacks event %d", g, i);
            ck_assert_mem_eq(&w->aggs[k], &evs[i].aggregate_id, sizeof(kw_uuid));
            ck_assert_int_eq(w->versions[k], evs[i].aggregate_version);
            ck_assert_str_eq(w->payload[k], pays[i]);
        }
        /* An aggregate's events arrive in version order. */
        for (int i = 0; i < w->n; i++)
            for (int j = i + 1; j < w->n; j++)
                if (memcmp(&w->aggs[i], &w->aggs[j], sizeof(kw_uuid)) == 0)
                    ck_assert_int_lt(w->versions[i], w->versions[j]);
    }
    kw_bus_free(a.bus);
    kw_bus_free(b.bus);
}
END_TEST

static bool
split_settled(worker *a, worker *b)
{
    kw_bus_stats sa, sb;
    kw_bus_get_stats(a->bus, &sa);
    kw_bus_get_stats(b->bus, &sb);
    /* a: assigned, revoked, assigned again; b: assigned */
    return sa.rebalance_count >= 3 && sb.rebalance_count >= 1;
}

static bool
a_assigned(worker *a, worker *b)
{
    (void)b;
    kw_bus_stats sa;
    kw_bus_get_stats(a->bus, &sa);
    return sa.rebalance_count >= 1;
}

START_TEST(two_workers_split_partitions)
{
    kwt_rdk_cmd(&R, "create split.stream %d 3", NPART);
    kwt_rdk_cmd(&R, "create split.stream.dlq %d 3", NPART);
    worker a, b;
    start_worker(&a, R.bootstrap, "split", "workers");
    step_until(&a, NULL, a_assigned, "the first worker's assignment");
    start_worker(&b, R.bootstrap, "split", "workers");
    step_until(&a, &b, split_settled, "the rebalance to two workers");
    want = 144;
    publish(a.bus, want);
    step_until(&a, &b, union_has_all, "the two workers to handle every event");
    ck_assert_int_eq(a.n + b.n, want); /* none twice */
    ck_assert_int_gt(a.n, 0);
    ck_assert_int_gt(b.n, 0);
    int covered = 0;
    for (int p = 0; p < NPART; p++) {
        ck_assert_msg(!(a.parts[p] && b.parts[p]), "partition %d handled by both", p);
        covered += a.parts[p] || b.parts[p];
    }
    ck_assert_int_eq(covered, NPART);
    for (int i = 0; i < want; i++)
        ck_assert(find(&a, &evs[i].event_id) >= 0 || find(&b, &evs[i].event_id) >= 0);
    kw_bus_free(a.bus);
    kw_bus_free(b.bus);
}
END_TEST

Suite *
kw_test_suite(void)
{
    kwt_rdk_require();
    Suite *s = suite_create("bus_rdk");
    TCase *tc = tcase_create("rdk");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 180);
    tcase_add_test(tc, publish_consume_exact_and_two_groups);
    tcase_add_test(tc, two_workers_split_partitions);
    suite_add_tcase(s, tc);
    return s;
}
