/* Statistics: per-broker connection counters and client totals, as structs and as JSON.
 * Readable from any thread: both functions take the loop lock, which the loop holds only while
 * it works, never while it waits. */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"
#include "client/json.h"

static void
broker_stats(const kwi_broker *b, kw_broker_stats *out)
{
    kwi_conn_stats s;
    kwi_conn_stats_get(b->conn, &s);
    memset(out, 0, sizeof(*out));
    out->node_id = b->id;
    snprintf(out->host, sizeof(out->host), "%s", b->host);
    out->port = b->port;
    snprintf(out->state, sizeof(out->state), "%s",
             kwi_conn_state_name(kwi_conn_state_get(b->conn)));
    out->requests = s.requests;
    out->responses = s.responses;
    out->bytes_out = s.bytes_out;
    out->bytes_in = s.bytes_in;
    out->errors = s.errors;
    out->timeouts = s.timeouts;
    out->connect_attempts = s.connect_attempts;
    out->connects = s.connects;
    out->reconnects = s.connects > 0 ? s.connects - 1 : 0;
    out->disconnects = s.disconnects;
    out->in_flight = s.in_flight;
    out->queued = s.queued;
    out->rtt_p50_us = s.rtt_p50_us;
    out->rtt_p99_us = s.rtt_p99_us;
    out->rtt_samples = s.rtt_samples;
}

kw_err
kw_client_stats(kw_client *c, kw_stats *totals, kw_broker_stats *brokers, size_t cap)
{
    if (!c || (cap && !brokers))
        return KW_ERR_INVALID_ARG;
    pthread_mutex_lock(&c->lock);
    if (totals) {
        *totals = c->stats;
        totals->n_brokers = c->n_brokers;
    }
    for (size_t i = 0; i < c->n_brokers && i < cap; i++)
        broker_stats(c->brokers[i], &brokers[i]);
    pthread_mutex_unlock(&c->lock);
    return KW_ERR_OK;
}

static void
json_broker(kwi_json *j, const kw_broker_stats *s)
{
    kwi_json_fmt(j, "{\"node_id\":%d,\"host\":", (int)s->node_id);
    kwi_json_str(j, s->host, strlen(s->host));
    kwi_json_fmt(j, ",\"port\":%d,\"state\":\"%s\"", (int)s->port, s->state);
    kwi_json_fmt(j, ",\"requests\":%llu", (unsigned long long)s->requests);
    kwi_json_fmt(j, ",\"responses\":%llu", (unsigned long long)s->responses);
    kwi_json_fmt(j, ",\"bytes_out\":%llu", (unsigned long long)s->bytes_out);
    kwi_json_fmt(j, ",\"bytes_in\":%llu", (unsigned long long)s->bytes_in);
    kwi_json_fmt(j, ",\"errors\":%llu", (unsigned long long)s->errors);
    kwi_json_fmt(j, ",\"timeouts\":%llu", (unsigned long long)s->timeouts);
    kwi_json_fmt(j, ",\"connect_attempts\":%llu", (unsigned long long)s->connect_attempts);
    kwi_json_fmt(j, ",\"connects\":%llu", (unsigned long long)s->connects);
    kwi_json_fmt(j, ",\"reconnects\":%llu", (unsigned long long)s->reconnects);
    kwi_json_fmt(j, ",\"disconnects\":%llu", (unsigned long long)s->disconnects);
    kwi_json_fmt(j, ",\"in_flight\":%d,\"queued\":%d", (int)s->in_flight, (int)s->queued);
    kwi_json_fmt(j, ",\"rtt_p50_us\":%lld", (long long)s->rtt_p50_us);
    kwi_json_fmt(j, ",\"rtt_p99_us\":%lld", (long long)s->rtt_p99_us);
    kwi_json_fmt(j, ",\"rtt_samples\":%d}", (int)s->rtt_samples);
}

kw_err
kw_client_stats_json(kw_client *c, char *buf, size_t *len)
{
    if (!c || !len)
        return KW_ERR_INVALID_ARG;
    kwi_json j;
    kwi_json_init(&j, buf, buf ? *len : 0);
    pthread_mutex_lock(&c->lock);
    kwi_json_fmt(&j, "{\"metadata_requests\":%llu", (unsigned long long)c->stats.metadata_requests);
    kwi_json_fmt(&j, ",\"metadata_updates\":%llu", (unsigned long long)c->stats.metadata_updates);
    kwi_json_fmt(&j, ",\"metadata_errors\":%llu", (unsigned long long)c->stats.metadata_errors);
    kwi_json_fmt(&j, ",\"rebootstraps\":%llu,\"brokers\":[",
                 (unsigned long long)c->stats.rebootstraps);
    for (size_t i = 0; i < c->n_brokers; i++) {
        kw_broker_stats s;
        broker_stats(c->brokers[i], &s);
        if (i)
            kwi_json_raw(&j, ",");
        json_broker(&j, &s);
    }
    pthread_mutex_unlock(&c->lock);
    kwi_json_raw(&j, "]}");
    return kwi_json_finish(&j, len);
}
