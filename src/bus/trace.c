/* Tracing of the event bus: W3C trace context (traceparent parse/format, tracestate
 * pass-through) and spans with eventsource-py's names and attributes, handed to user hooks.
 *
 * The bus makes its own span ids, so context propagates even when no tracing SDK is
 * installed: a consumer's span continues the producer's trace (same trace id, the header's
 * span id as parent), and an event published from a handler continues the handler's trace. A
 * hook can swap in its SDK's ids at span start. */
#include <stdio.h>
#include <string.h>

#include "bus/bus_int.h"

/* ---------------------------------------------------------------- traceparent */

static int
hexlc(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* uppercase is not HEXDIGLC: the header is invalid */
}

static bool
hex_field(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexlc(s[2 * i]), lo = hexlc(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

kw_err
kw_bus_traceparent_parse(const char *s, size_t len, kw_bus_trace_ctx *out)
{
    /* version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55 characters. */
    if (!s || !out || len < 55)
        return KW_ERR_MALFORMED;
    uint8_t ver;
    if (!hex_field(s, 1, &ver) || ver == 0xff)
        return KW_ERR_MALFORMED;
    if (ver == 0 && len != 55)
        return KW_ERR_MALFORMED;
    /* A later version may append fields, but only after a '-'. */
    if (ver > 0 && len > 55 && s[55] != '-')
        return KW_ERR_MALFORMED;
    if (s[2] != '-' || s[35] != '-' || s[52] != '-')
        return KW_ERR_MALFORMED;
    kw_bus_trace_ctx c;
    if (!hex_field(s + 3, 16, c.trace_id) || !hex_field(s + 36, 8, c.span_id) ||
        !hex_field(s + 53, 1, &c.flags))
        return KW_ERR_MALFORMED;
    if (all_zero(c.trace_id, 16) || all_zero(c.span_id, 8))
        return KW_ERR_MALFORMED;
    *out = c;
    return KW_ERR_OK;
}

char *
kw_bus_traceparent_format(const kw_bus_trace_ctx *ctx, char out[KW_BUS_TRACEPARENT_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    size_t w = 0;
    out[w++] = '0';
    out[w++] = '0';
    out[w++] = '-';
    for (int i = 0; i < 16; i++) {
        out[w++] = hex[ctx->trace_id[i] >> 4];
        out[w++] = hex[ctx->trace_id[i] & 15];
    }
    out[w++] = '-';
    for (int i = 0; i < 8; i++) {
        out[w++] = hex[ctx->span_id[i] >> 4];
        out[w++] = hex[ctx->span_id[i] & 15];
    }
    out[w++] = '-';
    out[w++] = hex[ctx->flags >> 4];
    out[w++] = hex[ctx->flags & 15];
    out[w] = '\0';
    return out;
}

size_t
kwi_bus_tracestate_clip(const char *s, size_t n, char *out, size_t out_size)
{
    if (out_size == 0)
        return 0;
    out[0] = '\0';
    if (!s)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return 0; /* not a header value a W3C list can hold: drop it whole */
    size_t keep = n;
    size_t cap = out_size - 1 < KW_BUS_TRACESTATE_MAX ? out_size - 1 : KW_BUS_TRACESTATE_MAX;
    if (keep > cap) {
        /* Drop whole list members from the end (W3C: truncate by removing entries). */
        keep = 0;
        for (size_t i = 0; i <= cap && i < n; i++)
            if (s[i] == ',')
                keep = i;
    }
    while (keep > 0 && (s[keep - 1] == ' ' || s[keep - 1] == '\t' || s[keep - 1] == ','))
        keep--;
    memcpy(out, s, keep);
    out[keep] = '\0';
    return keep;
}

/* ---------------------------------------------------------------- spans */

void
kwi_bus_span_attr_str(kw_bus_span *sp, const char *key, const char *val)
{
    if (sp->n_attrs >= KW_BUS_SPAN_MAX_ATTRS || !key)
        return;
    val = val ? val : "";
    size_t kl = strlen(key) + 1, vl = strlen(val) + 1;
    if (sizeof(sp->attr_buf) - sp->attr_used < kl + vl)
        return;
    char *k = sp->attr_buf + sp->attr_used;
    memcpy(k, key, kl);
    char *v = k + kl;
    memcpy(v, val, vl);
    sp->attr_used += kl + vl;
    sp->attrs[sp->n_attrs++] = (kw_bus_attr){k, v, 0};
}

void
kwi_bus_span_attr_int(kw_bus_span *sp, const char *key, int64_t v)
{
    if (sp->n_attrs >= KW_BUS_SPAN_MAX_ATTRS || !key)
        return;
    size_t kl = strlen(key) + 1;
    if (sizeof(sp->attr_buf) - sp->attr_used < kl)
        return;
    char *k = sp->attr_buf + sp->attr_used;
    memcpy(k, key, kl);
    sp->attr_used += kl;
    sp->attrs[sp->n_attrs++] = (kw_bus_attr){k, NULL, v};
}

/* Fill the identity of a new span: parent from a traceparent text when it is valid, else a
 * new trace (sampled: the bus has no sampler, a hook may decide otherwise). */
static void
span_begin(kw_bus_span *sp, kw_bus_span_kind kind, const char *op, const char *event_type,
           const char *traceparent, const char *tracestate, kwi_bus_rng *rng, int64_t now_us)
{
    memset(sp, 0, sizeof(*sp));
    sp->kind = kind;
    sp->start_us = now_us;
    snprintf(sp->name, sizeof(sp->name), "eventsource.event_bus.%s %s", op,
             event_type ? event_type : "unknown");
    if (traceparent &&
        kw_bus_traceparent_parse(traceparent, strlen(traceparent), &sp->parent) == KW_ERR_OK) {
        sp->has_parent = true;
        memcpy(sp->ctx.trace_id, sp->parent.trace_id, 16);
        sp->ctx.flags = sp->parent.flags;
        if (tracestate)
            kwi_bus_tracestate_clip(tracestate, strlen(tracestate), sp->tracestate,
                                    sizeof(sp->tracestate));
    } else {
        do {
            uint64_t a = kwi_bus_rng_next(rng), b = kwi_bus_rng_next(rng);
            memcpy(sp->ctx.trace_id, &a, 8);
            memcpy(sp->ctx.trace_id + 8, &b, 8);
        } while (all_zero(sp->ctx.trace_id, 16));
        sp->ctx.flags = 0x01;
    }
    do {
        uint64_t s = kwi_bus_rng_next(rng);
        memcpy(sp->ctx.span_id, &s, 8);
    } while (all_zero(sp->ctx.span_id, 8));
}

void
kwi_bus_span_publish(kw_bus_span *sp, const kw_bus_tracer *t, const kw_bus_event *ev,
                     const char *topic, kwi_bus_rng *rng, int64_t now_us)
{
    span_begin(sp, KW_BUS_SPAN_PRODUCER, "publish", ev->event_type, ev->traceparent, ev->tracestate,
               rng, now_us);
    char id[KW_UUID_STR_SIZE];
    kwi_bus_span_attr_str(sp, "messaging.system", "kafka");
    kwi_bus_span_attr_str(sp, "messaging.destination", topic);
    kwi_bus_span_attr_str(sp, "messaging.destination_kind", "topic");
    kwi_bus_span_attr_str(sp, "messaging.operation", "publish");
    kwi_bus_span_attr_str(sp, "event.type", ev->event_type);
    kwi_bus_span_attr_str(sp, "event.id", kw_uuid_format(&ev->event_id, id));
    kwi_bus_span_attr_str(sp, "aggregate.id", kw_uuid_format(&ev->aggregate_id, id));
    kwi_bus_span_attr_str(sp, "aggregate.type", ev->aggregate_type);
    if (t && t->span_start)
        t->span_start(t->ud, sp);
}

void
kwi_bus_span_consume(kw_bus_span *sp, const kw_bus_tracer *t, const kw_bus_event *ev,
                     const char *event_type, const char *traceparent, const char *tracestate,
                     const char *topic, int32_t partition, int64_t offset, const char *group,
                     kwi_bus_rng *rng, int64_t now_us)
{
    if (ev) {
        event_type = ev->event_type;
        traceparent = ev->traceparent;
        tracestate = ev->tracestate;
    }
    span_begin(sp, KW_BUS_SPAN_CONSUMER, "consume", event_type, traceparent, tracestate, rng,
               now_us);
    kwi_bus_span_attr_str(sp, "messaging.system", "kafka");
    kwi_bus_span_attr_str(sp, "messaging.source", topic);
    kwi_bus_span_attr_str(sp, "messaging.source_kind", "topic");
    kwi_bus_span_attr_str(sp, "messaging.operation", "receive");
    kwi_bus_span_attr_int(sp, "messaging.kafka.partition", partition);
    kwi_bus_span_attr_int(sp, "messaging.kafka.offset", offset);
    kwi_bus_span_attr_str(sp, "messaging.kafka.consumer_group", group);
    if (event_type)
        kwi_bus_span_attr_str(sp, "event.type", event_type);
    if (ev) {
        char id[KW_UUID_STR_SIZE];
        kwi_bus_span_attr_str(sp, "event.id", kw_uuid_format(&ev->event_id, id));
        kwi_bus_span_attr_str(sp, "aggregate.id", kw_uuid_format(&ev->aggregate_id, id));
        kwi_bus_span_attr_str(sp, "aggregate.type", ev->aggregate_type);
    }
    if (t && t->span_start)
        t->span_start(t->ud, sp);
}

void
kwi_bus_span_end(kw_bus_span *sp, const kw_bus_tracer *t, const kw_bus_failure *fail,
                 int64_t now_us)
{
    sp->end_us = now_us;
    if (fail) {
        sp->error = true;
        const char *type = fail->type[0] ? fail->type : "HandlerError";
        size_t tl = kwi_bus_utf8_prefix(type, strnlen(type, sizeof(fail->type)),
                                        sizeof(sp->error_type) - 1);
        memcpy(sp->error_type, type, tl);
        sp->error_type[tl] = '\0';
        size_t ml =
            kwi_bus_utf8_prefix(fail->message, strnlen(fail->message, sizeof(fail->message)),
                                sizeof(sp->error_message) - 1);
        memcpy(sp->error_message, fail->message, ml);
        sp->error_message[ml] = '\0';
    }
    if (t && t->span_end)
        t->span_end(t->ud, sp);
}

char *
kwi_bus_span_traceparent(const kw_bus_span *sp, char out[KW_BUS_TRACEPARENT_SIZE])
{
    return kw_bus_traceparent_format(&sp->ctx, out);
}
