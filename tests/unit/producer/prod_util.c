/* See prod_util.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../support/mockfix.h"
#include "prod_util.h"

int64_t
kwt_mono_ms(void)
{
    return kwt_fx_now_ms();
}

void
kwt_drs_init(kwt_drs *d, size_t cap)
{
    memset(d, 0, sizeof(*d));
    d->v = calloc(cap ? cap : 1, sizeof(*d->v));
    d->cap = cap;
}

void
kwt_drs_fini(kwt_drs *d)
{
    free(d->v);
    memset(d, 0, sizeof(*d));
}

void
kwt_dr_cb(kw_producer *p, const kw_delivery *dl, void *ud)
{
    (void)p;
    kwt_drs *d = ud;
    size_t id = (size_t)(uintptr_t)dl->opaque;
    KWT_CHECK(id >= 1 && id <= d->cap, "report with a foreign opaque %zu", id);
    kwt_dr *r = &d->v[id - 1];
    KWT_CHECK(r->calls == 0, "record %zu reported twice", id - 1);
    r->calls++;
    r->err = dl->err;
    r->broker_code = dl->detail->broker_code;
    r->partition = dl->partition;
    r->offset = dl->offset;
    r->ts = dl->timestamp;
    d->reports++;
    if (dl->err == KW_ERR_OK) {
        d->ok++;
    } else {
        d->failed++;
        snprintf(d->last_msg, sizeof(d->last_msg), "%s", dl->detail->msg);
    }
}

kw_client *
kwt_prod_client(const char *bootstrap, const char *const *extra)
{
    static const char *const base[] = {"reconnect.backoff.ms=10",
                                       "reconnect.backoff.max.ms=100",
                                       "retry.backoff.ms=10",
                                       "retry.backoff.max.ms=100",
                                       "linger.ms=2",
                                       NULL};
    return kwt_fx_client(kwt_fx_conf(NULL, bootstrap, base, extra), NULL);
}

kw_producer *
kwt_producer(kw_client *c, kwt_drs *d)
{
    kw_producer_opts o;
    kw_producer_opts_init(&o);
    o.on_delivery = kwt_dr_cb;
    o.delivery_ud = d;
    return kwt_fx_producer(c, &o);
}

void
kwt_send(kw_producer *p, const char *topic, int32_t partition, uint32_t id, bool keyed)
{
    char k[32], v[32];
    snprintf(k, sizeof(k), "k%u", id);
    snprintf(v, sizeof(v), "v%u", id);
    kw_message m;
    kw_message_init(&m);
    m.topic = topic;
    m.partition = partition;
    m.key = keyed ? kw_slice_str(k) : KW_SLICE_NULL;
    m.value = kw_slice_str(v);
    m.opaque = (void *)(uintptr_t)(id + 1);
    int64_t end = kwt_mono_ms() + KWT_PROD_DEADLINE_MS;
    for (;;) {
        kw_error err;
        kw_error_init(&err);
        kw_err e = kw_producer_send(p, &m, &err);
        if (e == KW_ERR_OK)
            return;
        ck_assert_msg(e == KW_ERR_QUEUE_FULL, "send: %s", err.msg);
        ck_assert_msg(kwt_mono_ms() < end, "the queue stayed full");
        kw_client_step(kw_producer_client(p), 10, NULL);
    }
}

void
kwt_step_for(kw_client *c, int ms)
{
    int64_t end = kwt_mono_ms() + ms;
    while (kwt_mono_ms() < end)
        kw_client_step(c, 5, NULL);
}

void
kwt_drain(kw_producer *p, kwt_drs *d, size_t expect)
{
    int64_t end = kwt_mono_ms() + KWT_PROD_DEADLINE_MS;
    kw_client *c = kw_producer_client(p);
    while (d->reports < expect) {
        ck_assert_msg(kwt_mono_ms() < end, "gave up waiting for reports: %zu of %zu (%s)",
                      d->reports, expect, d->last_msg);
        kw_error err;
        kw_error_init(&err);
        ck_assert_int_eq(kw_client_step(c, 20, &err), KW_ERR_OK);
    }
    ck_assert_uint_eq(kw_producer_outstanding(p), 0);
}

static void
stored_push(const kw_record *r, void *ud)
{
    kwt_stored *s = ud;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->keys = realloc(s->keys, s->cap * sizeof(*s->keys));
        s->values = realloc(s->values, s->cap * sizeof(*s->values));
        s->offsets = realloc(s->offsets, s->cap * sizeof(*s->offsets));
        s->ts = realloc(s->ts, s->cap * sizeof(*s->ts));
        s->n_headers = realloc(s->n_headers, s->cap * sizeof(*s->n_headers));
        s->hdr0 = realloc(s->hdr0, s->cap * sizeof(*s->hdr0));
    }
    s->keys[s->n] = kwt_fx_slicedup(r->key);
    s->values[s->n] = kwt_fx_slicedup(r->value);
    s->offsets[s->n] = r->offset;
    s->ts[s->n] = r->timestamp;
    s->n_headers[s->n] = r->n_headers;
    s->hdr0[s->n] = NULL;
    kw_header_iter hi;
    kw_header h;
    kw_header_iter_init(&hi, r);
    if (kw_header_iter_next(&hi, &h)) {
        char *d = malloc((size_t)h.key.len + (h.value.len > 0 ? (size_t)h.value.len : 0) + 2);
        int n = snprintf(d, (size_t)h.key.len + 2, "%.*s=", (int)h.key.len, h.key.ptr);
        if (h.value.len > 0)
            memcpy(d + n, h.value.ptr, (size_t)h.value.len);
        d[n + (h.value.len > 0 ? h.value.len : 0)] = '\0';
        s->hdr0[s->n] = d;
    }
    s->n++;
}

size_t
kwt_mock_read_all(kw_mock *m, const char *topic, int32_t partition, kwt_stored *out)
{
    memset(out, 0, sizeof(*out));
    kwt_fx_records(m, topic, partition, stored_push, out);
    return out->n;
}

void
kwt_stored_fini(kwt_stored *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->keys[i]);
        free(s->values[i]);
        free(s->hdr0[i]);
    }
    free(s->keys);
    free(s->values);
    free(s->offsets);
    free(s->ts);
    free(s->n_headers);
    free(s->hdr0);
    memset(s, 0, sizeof(*s));
}

void
kwt_debug_log(kw_client *c)
{
    kwt_fx_debug_log(c, NULL);
}
