/* Statistics of the event bus as one JSON object with eventsource-py's KafkaEventBusStats
 * keys (plus the counters kwire adds), times in the same ISO-8601 form as occurred_at. */
#include <string.h>

#include "bus/bus_int.h"

void
kw_bus_stats_init(kw_bus_stats *s)
{
    if (s)
        memset(s, 0, sizeof(*s));
}

static void
time_field(kwi_bus_out *o, const char *key, int64_t us)
{
    kwi_bus_out_fmt(o, ",\"%s\":", key);
    char t[KW_BUS_TIME_STR_SIZE];
    if (us == 0 || kw_bus_time_format(us, KW_BUS_TIME_MICROS, t, sizeof(t)) == 0) {
        kwi_bus_out_str(o, "null");
        return;
    }
    kwi_bus_out_json_str(o, t, strlen(t));
}

kw_err
kw_bus_stats_json(const kw_bus_stats *s, char *buf, size_t *len)
{
    if (!s || !len)
        return KW_ERR_INVALID_ARG;
    const struct {
        const char *key;
        uint64_t v;
    } counters[] = {
        {"events_published", s->events_published},
        {"events_consumed", s->events_consumed},
        {"events_processed_success", s->events_processed_success},
        {"events_processed_failed", s->events_processed_failed},
        {"messages_sent_to_dlq", s->messages_sent_to_dlq},
        {"handler_errors", s->handler_errors},
        {"reconnections", s->reconnections},
        {"rebalance_count", s->rebalance_count},
        {"events_retried", s->events_retried},
        {"events_dropped", s->events_dropped},
        {"publish_errors", s->publish_errors},
        {"dlq_write_errors", s->dlq_write_errors},
    };
    kwi_bus_out o;
    kwi_bus_out_init(&o, buf, buf ? *len : 0);
    for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
        kwi_bus_out_fmt(&o, "%s\"%s\":%llu", i ? "," : "{", counters[i].key,
                        (unsigned long long)counters[i].v);
    time_field(&o, "connected_at", s->connected_at_us);
    time_field(&o, "last_publish_at", s->last_publish_at_us);
    time_field(&o, "last_consume_at", s->last_consume_at_us);
    time_field(&o, "last_error_at", s->last_error_at_us);
    kwi_bus_out_str(&o, "}");
    return kwi_bus_out_finish(&o, len);
}
