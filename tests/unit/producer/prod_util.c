/* See prod_util.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kwire/records.h"
#include "prod_util.h"

int64_t
kwt_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
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
    kw_conf *conf = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_conf_new(NULL, &conf), KW_ERR_OK);
    static const char *const base[] = {"reconnect.backoff.ms=10",
                                       "reconnect.backoff.max.ms=100",
                                       "retry.backoff.ms=10",
                                       "retry.backoff.max.ms=100",
                                       "linger.ms=2",
                                       NULL};
    ck_assert_int_eq(kw_conf_set(conf, "bootstrap.servers", bootstrap, &err), KW_ERR_OK);
    for (int pass = 0; pass < 2; pass++) {
        const char *const *list = pass == 0 ? base : extra;
        for (size_t i = 0; list && list[i]; i++) {
            char key[128];
            const char *eq = strchr(list[i], '=');
            ck_assert_ptr_nonnull(eq);
            snprintf(key, sizeof(key), "%.*s", (int)(eq - list[i]), list[i]);
            ck_assert_msg(kw_conf_set(conf, key, eq + 1, &err) == KW_ERR_OK, "%s", err.msg);
        }
    }
    kw_client *c = NULL;
    ck_assert_msg(kw_client_new(conf, &c, &err) == KW_ERR_OK, "kw_client_new: %s", err.msg);
    kwt_debug_log(c);
    return c;
}

kw_producer *
kwt_producer(kw_client *c, kwt_drs *d)
{
    kw_producer_opts o;
    kw_producer_opts_init(&o);
    o.on_delivery = kwt_dr_cb;
    o.delivery_ud = d;
    kw_producer *p = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_producer_new(c, &o, &p, &err) == KW_ERR_OK, "kw_producer_new: %s", err.msg);
    return p;
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

static char *
dup_slice(kw_slice s)
{
    if (s.len < 0)
        return NULL;
    char *d = malloc((size_t)s.len + 1);
    if (s.len)
        memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = '\0';
    return d;
}

static void
stored_push(kwt_stored *s, const kw_record *r)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->keys = realloc(s->keys, s->cap * sizeof(*s->keys));
        s->values = realloc(s->values, s->cap * sizeof(*s->values));
        s->offsets = realloc(s->offsets, s->cap * sizeof(*s->offsets));
        s->ts = realloc(s->ts, s->cap * sizeof(*s->ts));
        s->n_headers = realloc(s->n_headers, s->cap * sizeof(*s->n_headers));
        s->hdr0 = realloc(s->hdr0, s->cap * sizeof(*s->hdr0));
    }
    s->keys[s->n] = dup_slice(r->key);
    s->values[s->n] = dup_slice(r->value);
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
    kw_mock_partition_info info;
    ck_assert_int_eq(kw_mock_partition_info_get(m, topic, partition, &info), KW_ERR_OK);
    int64_t off = info.log_start_offset;
    kw_wr w, scratch;
    kw_wr_init_dyn(&w, NULL, 1 << 26);
    kw_wr_init_dyn(&scratch, NULL, 1 << 26);
    while (off < info.high_watermark) {
        w.p = w.base;
        int64_t next = off;
        ck_assert_int_eq(kw_mock_read(m, topic, partition, off, 1 << 20, &w, &next), KW_ERR_OK);
        ck_assert_int_gt(next, off);
        kw_batch_iter bi;
        kw_batch b;
        kw_batch_iter_init(&bi, (kw_slice){w.base, (int32_t)kw_wr_len(&w)});
        while (kw_batch_iter_next(&bi, &b)) {
            kw_record_iter ri;
            kw_record r;
            ck_assert_int_eq(kw_record_iter_init(&ri, &b, &scratch, 1 << 26), KW_ERR_OK);
            while (kw_record_iter_next(&ri, &r))
                if (r.offset >= off)
                    stored_push(out, &r);
            ck_assert_int_eq(kw_record_iter_err(&ri), KW_ERR_OK);
        }
        ck_assert_int_eq(kw_batch_iter_err(&bi), KW_ERR_OK);
        off = next;
    }
    kw_wr_fini(&w);
    kw_wr_fini(&scratch);
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

static void
dbg_log(void *ud, kw_log_level level, const char *subsystem, const char *msg)
{
    (void)ud;
    fprintf(stderr, "[%d %s] %s\n", (int)level, subsystem, msg);
}

void
kwt_debug_log(kw_client *c)
{
    if (getenv("KWT_LOG"))
        kw_client_set_log(c, KW_LOG_DEBUG, dbg_log, NULL);
}
