/* The event envelope on the wire, as eventsource-py's KafkaEventBus writes it: key = the
 * aggregate id, value = the payload, the envelope fields as text headers.
 *
 * Decoding is the deserialization_error path of the DLQ: a record from the topic is hostile
 * (another producer, a bug, a replay edited by hand), so every header is checked and every
 * refusal says which header is wrong and why, instead of the event being skipped silently. */
#include <stdio.h>
#include <string.h>

#include "bus/bus_int.h"

void
kw_bus_event_init(kw_bus_event *ev)
{
    if (!ev)
        return;
    memset(ev, 0, sizeof(*ev));
    kw_uuid_v4(&ev->event_id);
    kw_uuid_v4(&ev->correlation_id);
    ev->aggregate_version = 1;
    ev->occurred_at_us = kw_bus_time_now_us();
    ev->payload = (kw_slice){(const uint8_t *)"", 0};
}

/* ---------------------------------------------------------------- encode */

static bool
add(kw_arena *ar, kw_header *h, int32_t *n, const char *key, const char *val, size_t len)
{
    if (!kwi_bus_header_make(ar, &h[*n], key, val, len))
        return false;
    (*n)++;
    return true;
}

static bool
add_str(kw_arena *ar, kw_header *h, int32_t *n, const char *key, const char *val)
{
    return add(ar, h, n, key, val, strlen(val));
}

static bool
add_uuid(kw_arena *ar, kw_header *h, int32_t *n, const char *key, const kw_uuid *u)
{
    char s[KW_UUID_STR_SIZE];
    kw_uuid_format(u, s);
    return add(ar, h, n, key, s, 36);
}

static kw_err
check_for_encode(const kw_bus_event *ev, kw_error *err)
{
    if (!ev->event_type || !ev->event_type[0])
        return kw_error_set(err, KW_ERR_INVALID_ARG, "event_type: required");
    if (!ev->aggregate_type || !ev->aggregate_type[0])
        return kw_error_set(err, KW_ERR_INVALID_ARG, "aggregate_type: required");
    if (kw_uuid_is_nil(&ev->event_id))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "event_id: nil UUID");
    if (kw_uuid_is_nil(&ev->aggregate_id))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "aggregate_id: nil UUID");
    if (kw_uuid_is_nil(&ev->correlation_id))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "correlation_id: nil UUID");
    if (ev->aggregate_version < 0)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "aggregate_version: %lld is negative",
                            (long long)ev->aggregate_version);
    if (ev->payload.len < 0 || (ev->payload.len > 0 && !ev->payload.ptr))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "payload: null");
    char t[KW_BUS_TIME_STR_SIZE];
    if (kw_bus_time_format(ev->occurred_at_us, KW_BUS_TIME_MICROS, t, sizeof(t)) == 0)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "occurred_at: outside years 1-9999");
    return KW_ERR_OK;
}

kw_err
kw_bus_event_encode(const kw_bus_event *ev, const char *traceparent, const char *tracestate,
                    kw_arena *ar, kw_bus_record *out, kw_error *err)
{
    if (!ev || !ar || !out)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kw_bus_event_encode: NULL argument");
    kw_err e = check_for_encode(ev, err);
    if (e != KW_ERR_OK)
        return e;
    kw_header *h = kw_arena_calloc(ar, KW_BUS_EVENT_MAX_HEADERS, sizeof(*h));
    char *key = kw_arena_alloc(ar, KW_UUID_STR_SIZE);
    if (!h || !key)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory encoding an event");
    kw_uuid_format(&ev->aggregate_id, key);
    char ver[24], at[KW_BUS_TIME_STR_SIZE];
    snprintf(ver, sizeof(ver), "%lld", (long long)ev->aggregate_version);
    kw_bus_time_format(ev->occurred_at_us, KW_BUS_TIME_MICROS, at, sizeof(at));
    int32_t n = 0;
    bool ok = add_uuid(ar, h, &n, "event_id", &ev->event_id) &&
              add_str(ar, h, &n, "event_type", ev->event_type) &&
              add_uuid(ar, h, &n, "aggregate_id", &ev->aggregate_id) &&
              add_str(ar, h, &n, "aggregate_type", ev->aggregate_type) &&
              add_str(ar, h, &n, "aggregate_version", ver) &&
              add_str(ar, h, &n, "occurred_at", at) &&
              add_uuid(ar, h, &n, "correlation_id", &ev->correlation_id) &&
              add_str(ar, h, &n, "content_type",
                      ev->content_type && ev->content_type[0] ? ev->content_type
                                                              : KW_BUS_CONTENT_TYPE_JSON);
    /* eventsource-py's order for the optional ones: tenant_id, causation_id, actor_id. */
    if (ok && !kw_uuid_is_nil(&ev->tenant_id))
        ok = add_uuid(ar, h, &n, "tenant_id", &ev->tenant_id);
    if (ok && !kw_uuid_is_nil(&ev->causation_id))
        ok = add_uuid(ar, h, &n, "causation_id", &ev->causation_id);
    if (ok && ev->actor_id && ev->actor_id[0])
        ok = add_str(ar, h, &n, "actor_id", ev->actor_id);
    if (ok && traceparent && traceparent[0]) {
        ok = add_str(ar, h, &n, "traceparent", traceparent);
        if (ok && tracestate && tracestate[0])
            ok = add_str(ar, h, &n, "tracestate", tracestate);
    }
    if (!ok)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory encoding an event");
    out->key = (kw_slice){(const uint8_t *)key, 36};
    out->value = ev->payload;
    out->headers = h;
    out->n_headers = n;
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- decode */

/* Header slots the decoder collects, in the order of `names`. */
enum {
    H_EVENT_ID,
    H_EVENT_TYPE,
    H_AGGREGATE_ID,
    H_AGGREGATE_TYPE,
    H_AGGREGATE_VERSION,
    H_OCCURRED_AT,
    H_CORRELATION_ID,
    H_CONTENT_TYPE,
    H_CAUSATION_ID,
    H_TENANT_ID,
    H_ACTOR_ID,
    H_TRACEPARENT,
    H_TRACESTATE,
    H__COUNT,
    H__REQUIRED = H_CONTENT_TYPE /* the slots before this one must be present */
};

static const char *const names[H__COUNT] = {
    "event_id",    "event_type",     "aggregate_id", "aggregate_type", "aggregate_version",
    "occurred_at", "correlation_id", "content_type", "causation_id",   "tenant_id",
    "actor_id",    "traceparent",    "tracestate",
};

static kw_err
collect(const kw_header *h, int32_t n, const kw_header **slot, kw_error *err)
{
    for (int32_t i = 0; i < n; i++) {
        for (int k = 0; k < H__COUNT; k++) {
            if (!kwi_bus_header_is(&h[i], names[k]))
                continue;
            /* Two event_type headers could route one way and validate another: refuse. */
            if (slot[k])
                return kw_error_set(err, KW_ERR_MALFORMED, "header %s appears twice", names[k]);
            slot[k] = &h[i];
        }
    }
    for (int k = 0; k < H__REQUIRED; k++) {
        if (!slot[k])
            return kw_error_set(err, KW_ERR_MALFORMED, "missing header %s", names[k]);
        if (slot[k]->value.len <= 0)
            return kw_error_set(err, KW_ERR_MALFORMED, "header %s is %s", names[k],
                                slot[k]->value.len < 0 ? "null" : "empty");
    }
    return KW_ERR_OK;
}

/* A text header copied into the arena, NUL-terminated; NULL with err set when the bytes are
 * not UTF-8 or contain a NUL. */
static const char *
text(const kw_header *h, const char *name, kw_arena *ar, kw_error *err)
{
    if (h->value.len < 0) {
        kw_error_set(err, KW_ERR_MALFORMED, "header %s is null", name);
        return NULL;
    }
    size_t n = (size_t)h->value.len;
    const char *p = (const char *)h->value.ptr;
    if ((n && memchr(p, '\0', n)) || !kwi_bus_utf8_valid(p, n)) {
        kw_error_set(err, KW_ERR_MALFORMED, "header %s is not UTF-8 text", name);
        return NULL;
    }
    char *s = kw_arena_alloc(ar, n + 1);
    if (!s) {
        kw_error_set(err, KW_ERR_NOMEM, "out of memory decoding an event");
        return NULL;
    }
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

static kw_err
uuid_of(const kw_header *h, const char *name, kw_uuid *out, kw_error *err)
{
    if (h->value.len < 0)
        return kw_error_set(err, KW_ERR_MALFORMED, "header %s is null", name);
    if (kw_uuid_parse((const char *)h->value.ptr, (size_t)h->value.len, out) != KW_ERR_OK) {
        size_t show = kwi_bus_utf8_prefix((const char *)h->value.ptr, (size_t)h->value.len, 40);
        return kw_error_set(err, KW_ERR_MALFORMED, "header %s is not a UUID: \"%.*s\"", name,
                            (int)show, (const char *)h->value.ptr);
    }
    return KW_ERR_OK;
}

static kw_err
decode_ids(const kw_header **slot, kw_bus_event *out, kw_error *err)
{
    kw_err e = uuid_of(slot[H_EVENT_ID], "event_id", &out->event_id, err);
    if (e == KW_ERR_OK)
        e = uuid_of(slot[H_AGGREGATE_ID], "aggregate_id", &out->aggregate_id, err);
    if (e == KW_ERR_OK)
        e = uuid_of(slot[H_CORRELATION_ID], "correlation_id", &out->correlation_id, err);
    if (e == KW_ERR_OK && slot[H_CAUSATION_ID])
        e = uuid_of(slot[H_CAUSATION_ID], "causation_id", &out->causation_id, err);
    if (e == KW_ERR_OK && slot[H_TENANT_ID])
        e = uuid_of(slot[H_TENANT_ID], "tenant_id", &out->tenant_id, err);
    return e;
}

static kw_err
decode_numbers(const kw_header **slot, kw_bus_event *out, kw_error *err)
{
    const kw_header *v = slot[H_AGGREGATE_VERSION];
    if (kwi_bus_header_i64(v, &out->aggregate_version) != KW_ERR_OK || out->aggregate_version < 0) {
        size_t show = kwi_bus_utf8_prefix((const char *)v->value.ptr, (size_t)v->value.len, 40);
        return kw_error_set(err, KW_ERR_MALFORMED,
                            "header aggregate_version is not a non-negative integer: \"%.*s\"",
                            (int)show, (const char *)v->value.ptr);
    }
    const kw_header *t = slot[H_OCCURRED_AT];
    if (kw_bus_time_parse((const char *)t->value.ptr, (size_t)t->value.len, &out->occurred_at_us) !=
        KW_ERR_OK) {
        size_t show = kwi_bus_utf8_prefix((const char *)t->value.ptr, (size_t)t->value.len, 48);
        return kw_error_set(err, KW_ERR_MALFORMED,
                            "header occurred_at is not an ISO-8601 time with offset: \"%.*s\"",
                            (int)show, (const char *)t->value.ptr);
    }
    return KW_ERR_OK;
}

static kw_err
decode_texts(const kw_header **slot, kw_arena *ar, kw_bus_event *out, kw_error *err)
{
    out->event_type = text(slot[H_EVENT_TYPE], "event_type", ar, err);
    if (!out->event_type)
        return err ? err->code : KW_ERR_MALFORMED;
    out->aggregate_type = text(slot[H_AGGREGATE_TYPE], "aggregate_type", ar, err);
    if (!out->aggregate_type)
        return err ? err->code : KW_ERR_MALFORMED;
    const char **dst[] = {&out->content_type, &out->actor_id, &out->traceparent, &out->tracestate};
    const int src[] = {H_CONTENT_TYPE, H_ACTOR_ID, H_TRACEPARENT, H_TRACESTATE};
    for (size_t i = 0; i < 4; i++) {
        if (!slot[src[i]])
            continue;
        *dst[i] = text(slot[src[i]], names[src[i]], ar, err);
        if (!*dst[i])
            return err ? err->code : KW_ERR_MALFORMED;
    }
    if (!out->content_type || !out->content_type[0])
        out->content_type = KW_BUS_CONTENT_TYPE_JSON;
    return KW_ERR_OK;
}

kw_err
kw_bus_event_decode(kw_slice key, kw_slice value, const kw_header *headers, int32_t n_headers,
                    kw_arena *ar, kw_bus_event *out, kw_error *err)
{
    (void)key; /* the aggregate_id header is authoritative; the key only partitions */
    if (!ar || !out || n_headers < 0 || (n_headers > 0 && !headers))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kw_bus_event_decode: bad argument");
    memset(out, 0, sizeof(*out));
    kw_error local;
    kw_error_init(&local);
    if (!err)
        err = &local; /* text() reports through err; keep a place for it */
    const kw_header *slot[H__COUNT] = {0};
    kw_err e = collect(headers, n_headers, slot, err);
    if (e == KW_ERR_OK)
        e = decode_ids(slot, out, err);
    if (e == KW_ERR_OK)
        e = decode_numbers(slot, out, err);
    if (e == KW_ERR_OK)
        e = decode_texts(slot, ar, out, err);
    if (e == KW_ERR_OK && (value.len < 0 || (value.len > 0 && !value.ptr)))
        e = kw_error_set(err, KW_ERR_MALFORMED, "the record value is null");
    if (e != KW_ERR_OK) {
        memset(out, 0, sizeof(*out));
        return e;
    }
    out->payload = value;
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- failures */

void
kw_bus_failure_set(kw_bus_failure *f, const char *type, const char *fmt, ...)
{
    if (!f)
        return;
    size_t tl = type ? kwi_bus_utf8_prefix(type, strlen(type), sizeof(f->type) - 1) : 0;
    if (tl)
        memmove(f->type, type, tl); /* type may be f->type itself */
    f->type[tl] = '\0';
    f->message[0] = '\0';
    if (!fmt)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(f->message, sizeof(f->message), fmt, ap);
    va_end(ap);
    if (n < 0) {
        f->message[0] = '\0';
        return;
    }
    /* vsnprintf cuts at a byte; step back to a character boundary. */
    size_t len = strlen(f->message);
    f->message[kwi_bus_utf8_prefix(f->message, len, len)] = '\0';
}
