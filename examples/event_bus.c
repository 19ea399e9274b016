/* examples/event_bus.c: publish and consume domain events with the kwire event bus.
 *
 *     event_bus [BOOTSTRAP]
 *
 * Reads the eventsource-py environment variables (KAFKA_BOOTSTRAP_SERVERS, KAFKA_TOPIC_PREFIX,
 * KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_*, ...), lets BOOTSTRAP override the brokers, publishes
 * the life of one invoice (issued, paid, archived) and consumes it on this thread with
 * kw_bus_start_consuming, stopping from the handler once all three arrived. Exit status 0
 * when every event was published and handled in order. */
#include <stdio.h>
#include <string.h>

#include "kwire/codec.h"
#include "kwire/bus.h"

typedef struct app {
    int handled;
    int64_t last_version;
    bool in_order;
} app;

static int
on_invoice(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *mi, kw_bus_failure *fail,
           void *ud)
{
    (void)fail;
    app *a = ud;
    char id[KW_UUID_STR_SIZE];
    printf("handled %s for invoice %s v%lld (partition %d, offset %lld): %.*s\n", ev->event_type,
           kw_uuid_format(&ev->aggregate_id, id), (long long)ev->aggregate_version,
           (int)mi->partition, (long long)mi->offset, (int)ev->payload.len,
           (const char *)ev->payload.ptr);
    if (ev->aggregate_version <= a->last_version)
        a->in_order = false;
    a->last_version = ev->aggregate_version;
    if (++a->handled == 3)
        kw_bus_stop_consuming(bus); /* kw_bus_start_consuming returns after this event */
    return 0;
}

int
main(int argc, char **argv)
{
    kw_error err;
    kw_error_init(&err);
    kw_bus_config cfg;
    if (kw_bus_config_from_env(&cfg, &err) != KW_ERR_OK) {
        fprintf(stderr, "event_bus: %s\n", err.msg);
        return 1;
    }
    if (argc > 1)
        snprintf(cfg.bootstrap_servers, sizeof(cfg.bootstrap_servers), "%s", argv[1]);
    snprintf(cfg.topic_prefix, sizeof(cfg.topic_prefix), "example");
    snprintf(cfg.consumer_group, sizeof(cfg.consumer_group), "example-billing");
    /* The bus compresses with gzip by default; a kwire built without zlib cannot. */
    if (!kw_codec_available(KW_CODEC_GZIP))
        snprintf(cfg.compression_type, sizeof(cfg.compression_type), "none");

    app a = {0, 0, true};
    kw_bus *bus = NULL;
    static const char *const types[] = {"InvoiceIssued", "InvoicePaid", "InvoiceArchived"};
    kw_err e = kw_bus_new(&cfg, NULL, &bus, &err);
    for (int i = 0; e == KW_ERR_OK && i < 3; i++)
        e = kw_bus_subscribe(bus, types[i], on_invoice, &a, &err);
    if (e == KW_ERR_OK)
        e = kw_bus_connect(bus, 30000, &err);

    /* One aggregate, three versions: one key, so one partition, in this order. */
    kw_uuid invoice;
    kw_uuid_v4(&invoice);
    kw_bus_event ev[3];
    static const char *const payloads[] = {"{\"amount\":120.00,\"currency\":\"EUR\"}",
                                           "{\"paid_by\":\"card\"}", "{}"};
    for (int i = 0; i < 3; i++) {
        kw_bus_event_init(&ev[i]);
        ev[i].event_type = types[i];
        ev[i].aggregate_type = "Invoice";
        ev[i].aggregate_id = invoice;
        ev[i].aggregate_version = i + 1;
        ev[i].payload = kw_slice_str(payloads[i]);
    }
    kw_bus_publish_result res[3];
    if (e == KW_ERR_OK)
        e = kw_bus_publish(bus, ev, 3, res, 10000, &err);
    for (int i = 0; e == KW_ERR_OK && i < 3; i++)
        printf("published %s at partition %d offset %lld\n", types[i], (int)res[i].partition,
               (long long)res[i].offset);
    if (e == KW_ERR_OK)
        e = kw_bus_start_consuming(bus, &err);
    if (e == KW_ERR_OK)
        e = kw_bus_shutdown(bus, 10000, &err);
    if (e == KW_ERR_OK) {
        kw_bus_stats st;
        kw_bus_get_stats(bus, &st);
        char json[2048];
        size_t len = sizeof(json);
        if (kw_bus_stats_json(&st, json, &len) == KW_ERR_OK)
            printf("stats %s\n", json);
    }
    kw_bus_free(bus);
    if (e != KW_ERR_OK) {
        fprintf(stderr, "event_bus: %s\n", err.msg[0] ? err.msg : kw_err_str(e));
        return 1;
    }
    return a.handled == 3 && a.in_order ? 0 : 1;
}
