/* See busrt_util.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../support/mockfix.h"
#include "busrt_util.h"
#include "kwire/codec.h"

int64_t
brt_now_ms(void)
{
    return kwt_fx_now_ms();
}

kw_mock *
brt_mock(int32_t partitions, bool auto_create)
{
    kwt_fx_mock_opts o;
    kwt_fx_mock_opts_init(&o);
    o.conf.default_partitions = partitions;
    o.conf.auto_create_topics = auto_create;
    o.groups.initial_rebalance_delay_ms = 0;
    o.groups.min_session_timeout_ms = 1000;
    return kwt_fx_mock(&o);
}

void
brt_config(kw_bus_config *c, const char *bootstrap, const char *prefix, const char *group)
{
    kw_bus_config_init(c);
    snprintf(c->bootstrap_servers, sizeof(c->bootstrap_servers), "%s", bootstrap);
    snprintf(c->topic_prefix, sizeof(c->topic_prefix), "%s", prefix);
    snprintf(c->consumer_group, sizeof(c->consumer_group), "%s", group);
    /* The default codec (gzip) is missing from a build without zlib. */
    if (!kw_codec_available(KW_CODEC_GZIP))
        snprintf(c->compression_type, sizeof(c->compression_type), "none");
    c->retry_base_delay = 0.02;
    c->retry_max_delay = 0.2;
    c->retry_jitter = 0;
    c->session_timeout_ms = 6000;
    c->heartbeat_interval_ms = 500;
    c->max_poll_interval_ms = 60000;
    c->linger_ms = 1;
    c->shutdown_timeout = 10;
}

kw_bus *
brt_bus(const kw_bus_config *c)
{
    kw_bus *bus = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_bus_new(c, NULL, &bus, &err) == KW_ERR_OK, "new: %s", err.msg);
    ck_assert_msg(kw_bus_connect(bus, 30000, &err) == KW_ERR_OK, "connect: %s", err.msg);
    return bus;
}

kw_uuid
brt_agg(uint32_t agg)
{
    kw_uuid u;
    memset(&u, 0, sizeof(u));
    u.b[0] = 0xa0;
    u.b[6] = 0x40; /* version 4 */
    u.b[8] = 0x80; /* RFC 4122 variant */
    u.b[12] = (uint8_t)(agg >> 24);
    u.b[13] = (uint8_t)(agg >> 16);
    u.b[14] = (uint8_t)(agg >> 8);
    u.b[15] = (uint8_t)agg;
    return u;
}

void
brt_event(kw_bus_event *ev, const char *type, uint32_t agg, int64_t version, char *buf, size_t cap)
{
    kw_bus_event_init(ev);
    ev->event_type = type;
    ev->aggregate_type = "Order";
    ev->aggregate_id = brt_agg(agg);
    ev->aggregate_version = version;
    int n = snprintf(buf, cap, "{\"agg\":%u,\"n\":%lld}", agg, (long long)version);
    ev->payload = (kw_slice){(const uint8_t *)buf, n};
}

static void
push(const kw_record *r, void *ud)
{
    brt_recs *out = ud;
    if (out->n == out->cap) {
        out->cap = out->cap ? out->cap * 2 : 64;
        out->v = realloc(out->v, out->cap * sizeof(*out->v));
    }
    brt_rec *x = &out->v[out->n++];
    x->offset = r->offset;
    x->key = kwt_fx_slicedup(r->key);
    x->value = kwt_fx_slicedup(r->value);
    size_t cap = 64, len = 0;
    x->headers = malloc(cap);
    x->headers[0] = '\0';
    kw_header_iter hi;
    kw_header h;
    kw_header_iter_init(&hi, r);
    while (kw_header_iter_next(&hi, &h)) {
        size_t need = len + (size_t)h.key.len + (h.value.len > 0 ? (size_t)h.value.len : 0) + 3;
        if (need > cap) {
            cap = need * 2;
            x->headers = realloc(x->headers, cap);
        }
        len += (size_t)sprintf(x->headers + len, "%s%.*s=%.*s", len ? "\n" : "", (int)h.key.len,
                               (const char *)h.key.ptr, h.value.len > 0 ? (int)h.value.len : 0,
                               h.value.len > 0 ? (const char *)h.value.ptr : "");
    }
}

void
brt_mock_records(kw_mock *m, const char *topic, int32_t partition, brt_recs *out)
{
    kwt_fx_records(m, topic, partition, push, out);
}

void
brt_recs_fini(brt_recs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].key);
        free(r->v[i].value);
        free(r->v[i].headers);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

const char *
brt_header(const char *headers, const char *key, char *buf, size_t cap)
{
    size_t kl = strlen(key);
    buf[0] = '\0';
    for (const char *p = headers; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t ll = nl ? (size_t)(nl - p) : strlen(p);
        if (ll > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
            snprintf(buf, cap, "%.*s", (int)(ll - kl - 1), p + kl + 1);
            return buf;
        }
        p = nl ? nl + 1 : NULL;
    }
    return buf;
}

void
brt_until(kw_bus *bus, bool (*pred)(void *), void *ud, const char *what)
{
    int64_t end = brt_now_ms() + BRT_DEADLINE_MS;
    kw_error err;
    kw_error_init(&err);
    while (!pred(ud)) {
        if (brt_now_ms() >= end)
            brt_dump(bus);
        ck_assert_msg(brt_now_ms() < end, "timed out waiting for %s", what);
        ck_assert_msg(kw_bus_step(bus, 50, &err) == KW_ERR_OK, "step: %s", err.msg);
    }
}
