/* kwire demo: the Kafka Event Bus Quick Start in C, on an embedded kwire-mock broker.
 *
 *     kwire demo
 *
 * No setup: a one-broker kwire-mock listens on an ephemeral loopback port inside this
 * process (on its own thread), and an event bus connects to it. The demo registers
 * OrderCreated and OrderShipped, subscribes handlers, publishes events, consumes them, shows
 * a handler that keeps failing retried with backoff until the event lands in the dead-letter
 * topic, lists and replays the DLQ, and prints the statistics. Every step is checked: the
 * exit status is 0 only when each one happened as shown. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kwire/codec.h"
#include "cmd_demo.h"
#include "kwire/bus.h"
#include "kwire/mock.h"

#define N_ORDERS 3

typedef struct demo {
    kw_bus *bus;
    int created, shipped, all;
    int fragile_attempts;
    bool fragile_fixed;
    int fragile_ok;
    bool quiet;
} demo;

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
section(const char *title)
{
    printf("\n== %s\n", title);
}

static const char *
short_id(const kw_uuid *u, char *buf)
{
    kw_uuid_format(u, buf);
    buf[8] = '\0';
    return buf;
}

static int
on_created(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *mi, kw_bus_failure *fail,
           void *ud)
{
    (void)bus;
    (void)fail;
    demo *d = ud;
    char id[KW_UUID_STR_SIZE];
    d->created++;
    printf("  OrderCreated  order %s v%lld  partition %d offset %lld  payload %.*s\n",
           short_id(&ev->aggregate_id, id), (long long)ev->aggregate_version, (int)mi->partition,
           (long long)mi->offset, (int)ev->payload.len, (const char *)ev->payload.ptr);
    return 0;
}

/* Ships every order except the fragile one, which fails until the demo "fixes" it. */
static int
on_shipped(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *mi, kw_bus_failure *fail,
           void *ud)
{
    (void)bus;
    demo *d = ud;
    char id[KW_UUID_STR_SIZE], full[KW_UUID_STR_SIZE];
    bool fragile = ev->payload.len > 0 &&
                   memmem(ev->payload.ptr, (size_t)ev->payload.len, "fragile", 7) != NULL;
    if (fragile && !d->fragile_fixed) {
        d->fragile_attempts++;
        printf("  OrderShipped  order %s  attempt %d FAILED (carrier refused the parcel)\n",
               short_id(&ev->aggregate_id, id), (int)mi->attempt + 1);
        kw_bus_failure_set(fail, "CarrierError", "carrier refused parcel for order %s",
                           kw_uuid_format(&ev->aggregate_id, full));
        return -1;
    }
    if (fragile)
        d->fragile_ok++;
    else
        d->shipped++;
    printf("  OrderShipped  order %s v%lld  partition %d offset %lld%s\n",
           short_id(&ev->aggregate_id, id), (long long)ev->aggregate_version, (int)mi->partition,
           (long long)mi->offset, fragile ? "  (replayed from the DLQ)" : "");
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
    ((demo *)ud)->all++;
    return 0;
}

/* Step the bus until cond holds; false after 30 s. */
static bool
run_until(demo *d, bool (*cond)(demo *))
{
    int64_t end = mono_ms() + 30000;
    kw_error err;
    kw_error_init(&err);
    while (!cond(d)) {
        if (mono_ms() > end || kw_bus_step(d->bus, 50, &err) != KW_ERR_OK)
            return false;
    }
    return true;
}

static bool
all_consumed(demo *d)
{
    return d->created == N_ORDERS && d->shipped == N_ORDERS - 1;
}

static bool
in_dlq(demo *d)
{
    kw_bus_stats st;
    kw_bus_get_stats(d->bus, &st);
    return st.messages_sent_to_dlq == 1;
}

static bool
replayed(demo *d)
{
    return d->fragile_ok == 1;
}

static void
print_header(const kw_header *h)
{
    printf("      %.*s = %.*s\n", (int)h->key.len, (const char *)h->key.ptr,
           h->value.len > 0 ? (int)h->value.len : 0,
           h->value.len > 0 ? (const char *)h->value.ptr : "");
}

static int
fail_step(const char *what, const kw_error *err)
{
    fprintf(stderr, "kwire demo: %s%s%s\n", what, err && err->msg[0] ? ": " : "",
            err ? err->msg : "");
    return 1;
}

static int
publish_orders(demo *d, kw_uuid *orders)
{
    kw_bus_event ev[2 * N_ORDERS];
    char pay[2 * N_ORDERS][96];
    for (int i = 0; i < N_ORDERS; i++) {
        kw_uuid_v4(&orders[i]);
        for (int k = 0; k < 2; k++) {
            kw_bus_event *e = &ev[2 * i + k];
            kw_bus_event_init(e);
            e->event_type = k == 0 ? "OrderCreated" : "OrderShipped";
            e->aggregate_type = "Order";
            e->aggregate_id = orders[i];
            e->aggregate_version = k + 1;
            int n =
                k == 0
                    ? snprintf(pay[2 * i], sizeof(pay[0]),
                               "{\"customer\":\"c-%d\",\"total\":%d.%02d}", i + 1, 19 + 10 * i, 99)
                    : snprintf(pay[2 * i + 1], sizeof(pay[0]), "{\"carrier\":\"kwire-post\"%s}",
                               i == N_ORDERS - 1 ? ",\"fragile\":true" : "");
            e->payload = (kw_slice){(const uint8_t *)pay[2 * i + k], n};
        }
    }
    kw_bus_publish_result res[2 * N_ORDERS];
    kw_error err;
    kw_error_init(&err);
    if (kw_bus_publish(d->bus, ev, 2 * N_ORDERS, res, 10000, &err) != KW_ERR_OK)
        return fail_step("publish", &err);
    for (int i = 0; i < 2 * N_ORDERS; i++) {
        char id[KW_UUID_STR_SIZE];
        printf("  published %-13s order %s  -> partition %d offset %lld\n", ev[i].event_type,
               short_id(&ev[i].aggregate_id, id), (int)res[i].partition, (long long)res[i].offset);
    }
    return 0;
}

static int
show_dlq(demo *d, int64_t *dlq_partition, int64_t *dlq_offset)
{
    kw_error err;
    kw_error_init(&err);
    int64_t count = -1;
    if (kw_bus_get_dlq_message_count(d->bus, 10000, &count, &err) != KW_ERR_OK)
        return fail_step("DLQ count", &err);
    printf("  get_dlq_message_count: %lld\n", (long long)count);
    kw_bus_dlq_list l;
    if (kw_bus_get_dlq_messages(d->bus, 10, 10000, &l, &err) != KW_ERR_OK)
        return fail_step("DLQ list", &err);
    printf("  get_dlq_messages: %zu\n", l.n);
    for (size_t i = 0; i < l.n; i++) {
        const kw_bus_dlq_message *m = &l.messages[i];
        printf("    %s partition %d offset %lld  replay_count %d  key %.*s\n", m->topic,
               (int)m->partition, (long long)m->offset, (int)m->replay_count, (int)m->key.len,
               (const char *)m->key.ptr);
        for (int32_t h = 0; h < m->n_headers; h++)
            if (m->headers[h].key.len > 4 && memcmp(m->headers[h].key.ptr, "dlq_", 4) == 0)
                print_header(&m->headers[h]);
        *dlq_partition = m->partition;
        *dlq_offset = m->offset;
    }
    bool ok = count == 1 && l.n == 1;
    kw_bus_dlq_list_free(&l);
    return ok ? 0 : fail_step("the DLQ should hold exactly the failed event", NULL);
}

static int
run(demo *d, const char *bootstrap)
{
    kw_error err;
    kw_error_init(&err);
    kw_bus_config c;
    kw_bus_config_init(&c);
    snprintf(c.bootstrap_servers, sizeof(c.bootstrap_servers), "%s", bootstrap);
    snprintf(c.topic_prefix, sizeof(c.topic_prefix), "demo");
    snprintf(c.consumer_group, sizeof(c.consumer_group), "demo-shipping");
    if (!kw_codec_available(KW_CODEC_GZIP)) /* the bus's default codec; not in this build */
        snprintf(c.compression_type, sizeof(c.compression_type), "none");
    c.max_retries = 3;
    c.retry_base_delay = 0.1; /* short delays so the demo runs in seconds */
    c.retry_max_delay = 0.5;
    c.linger_ms = 1;
    c.session_timeout_ms = 6000;
    c.heartbeat_interval_ms = 1000;
    c.topic_partitions = 3;
    c.shutdown_timeout = 5;
    if (kw_bus_new(&c, NULL, &d->bus, &err) != KW_ERR_OK)
        return fail_step("bus", &err);
    section("2. Connect: topics demo.stream and demo.stream.dlq are created");
    if (kw_bus_connect(d->bus, 10000, &err) != KW_ERR_OK)
        return fail_step("connect", &err);
    kw_bus_topic_info ti;
    kw_bus_get_topic_info(d->bus, &ti, NULL);
    printf("  topic %s, %d partitions, consumer group %s, connected %s\n", ti.topic,
           (int)ti.partitions, ti.consumer_group, ti.connected ? "yes" : "no");

    section("3. Register event types and subscribe handlers");
    if (kw_bus_subscribe(d->bus, "OrderCreated", on_created, d, &err) != KW_ERR_OK ||
        kw_bus_subscribe(d->bus, "OrderShipped", on_shipped, d, &err) != KW_ERR_OK ||
        kw_bus_subscribe_all(d->bus, on_all, d, &err) != KW_ERR_OK)
        return fail_step("subscribe", &err);
    printf("  OrderCreated -> on_created\n  OrderShipped -> on_shipped (fails for fragile "
           "parcels)\n  every event  -> on_all (audit log)\n");

    section("4. Publish: each order's events share a partition (key = aggregate id)");
    kw_uuid orders[N_ORDERS];
    if (publish_orders(d, orders) != 0)
        return 1;

    section("5. Consume");
    if (kw_bus_consume(d->bus, &err) != KW_ERR_OK)
        return fail_step("consume", &err);
    if (!run_until(d, all_consumed))
        return fail_step("not every event was consumed", NULL);

    section("6. A failing handler: retried with backoff (0.1 s, 0.2 s, 0.4 s), then the DLQ");
    if (!run_until(d, in_dlq) || d->fragile_attempts != c.max_retries + 1)
        return fail_step("the failing event did not reach the DLQ after max_retries", NULL);
    printf("  %d attempts, then sent to demo.stream.dlq\n", d->fragile_attempts);

    section("7. The dead-letter queue");
    int64_t dp = -1, doff = -1;
    if (show_dlq(d, &dp, &doff) != 0)
        return 1;

    section("8. Fix the handler and replay the DLQ message");
    d->fragile_fixed = true;
    if (kw_bus_replay_dlq_message(d->bus, (int32_t)dp, doff, false, 10000, &err) != KW_ERR_OK)
        return fail_step("replay", &err);
    printf("  replay_dlq_message(partition %lld, offset %lld): republished to demo.stream\n",
           (long long)dp, (long long)doff);
    if (!run_until(d, replayed))
        return fail_step("the replayed event was not handled", NULL);

    section("9. Shutdown and statistics");
    if (kw_bus_shutdown(d->bus, 5000, &err) != KW_ERR_OK)
        return fail_step("shutdown", &err);
    kw_bus_stats st;
    kw_bus_get_stats(d->bus, &st);
    char json[2048];
    size_t len = sizeof(json);
    if (kw_bus_stats_json(&st, json, &len) != KW_ERR_OK)
        return fail_step("stats", NULL);
    printf("  %s\n", json);
    bool ok = st.events_published == 2 * N_ORDERS && st.events_processed_success == 2 * N_ORDERS &&
              st.messages_sent_to_dlq == 1 && d->all == (int)st.events_consumed &&
              st.events_consumed == 2 * N_ORDERS + 4;
    return ok ? 0 : fail_step("the statistics do not add up", NULL);
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: kwire demo\n"
               "  The Kafka Event Bus Quick Start on an embedded kwire-mock broker: publish,\n"
               "  consume, retries, dead-letter queue, replay, statistics. No setup needed.\n");
}

int
cmd_demo(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        }
        fprintf(stderr, "kwire demo: unknown option '%s' (kwire demo takes none)\n", argv[i]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    section("1. Start an embedded kwire-mock broker");
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    mc.auto_create_topics = false; /* the bus creates its topics through CreateTopics */
    kw_mock *m = NULL;
    kw_error err;
    kw_error_init(&err);
    if (kw_mock_new(&mc, &m, &err) != KW_ERR_OK)
        return fail_step("kwire-mock", &err);
    kw_mock_group_conf g;
    kw_mock_group_conf_init(&g);
    g.initial_rebalance_delay_ms = 0;
    kw_mock_group_conf_set(m, &g);
    if (kw_mock_thread_start(m, &err) != KW_ERR_OK) {
        kw_mock_free(m);
        return fail_step("kwire-mock thread", &err);
    }
    printf("  listening on %s\n", kw_mock_bootstrap(m));
    demo d;
    memset(&d, 0, sizeof(d));
    int rc = run(&d, kw_mock_bootstrap(m));
    kw_bus_free(d.bus);
    kw_mock_free(m);
    if (rc == 0)
        printf("\n== Done: every step happened as shown.\n");
    return rc;
}
