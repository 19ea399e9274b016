/* See cons_util.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../support/mockfix.h"
#include "cons_util.h"

void
kwt_got_init(kwt_got *g)
{
    memset(g, 0, sizeof(*g));
}

static void
msg_fini(kwt_msg *m)
{
    free(m->key);
    free(m->value);
    free(m->hdrs);
}

void
kwt_got_clear(kwt_got *g)
{
    for (size_t i = 0; i < g->n; i++)
        msg_fini(&g->v[i]);
    g->n = 0;
    g->errors = 0;
}

void
kwt_got_fini(kwt_got *g)
{
    kwt_got_clear(g);
    free(g->v);
    memset(g, 0, sizeof(*g));
}

kw_consumer *
kwt_consumer(kw_client *c)
{
    return kwt_fx_consumer(c, NULL);
}

static char *
headers_str(const kw_consumer_msg *m)
{
    if (m->n_headers == 0)
        return NULL;
    size_t cap = 16;
    for (int32_t i = 0; i < m->n_headers; i++)
        cap += (size_t)m->headers[i].key.len +
               (m->headers[i].value.len > 0 ? (size_t)m->headers[i].value.len : 1) + 3;
    char *s = malloc(cap), *p = s;
    KWT_CHECK(s != NULL, "out of memory");
    for (int32_t i = 0; i < m->n_headers; i++) {
        const kw_header *h = &m->headers[i];
        p += sprintf(p, "%.*s=", (int)h->key.len, (const char *)h->key.ptr);
        if (h->value.len < 0)
            p += sprintf(p, "~");
        else
            p += sprintf(p, "%.*s", (int)h->value.len, (const char *)h->value.ptr);
        *p++ = ';';
    }
    *p = '\0';
    return s;
}

static void
collect(kwt_got *g, kw_consumer_msg *m)
{
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 1024;
        g->v = realloc(g->v, g->cap * sizeof(*g->v));
        KWT_CHECK(g->v != NULL, "out of memory");
    }
    kwt_msg *o = &g->v[g->n++];
    memset(o, 0, sizeof(*o));
    snprintf(o->topic, sizeof(o->topic), "%s", m->topic);
    o->partition = m->partition;
    o->offset = m->offset;
    o->ts = m->timestamp;
    o->ts_type = m->timestamp_type;
    o->leader_epoch = m->leader_epoch;
    o->err = m->err;
    o->code = m->error_code;
    KWT_CHECK(m->errstr != NULL, "errstr is NULL");
    snprintf(o->errstr, sizeof(o->errstr), "%s", m->errstr);
    if (m->err != KW_ERR_OK) {
        g->errors++;
        return;
    }
    o->key = kwt_fx_slicedup(m->key);
    o->value = kwt_fx_slicedup(m->value);
    o->key_len = m->key.len;
    o->value_len = m->value.len;
    o->hdrs = headers_str(m);
}

size_t
kwt_poll_until(kw_consumer *k, kwt_got *g, size_t want, size_t batch, int deadline_ms)
{
    kw_consumer_msg *m[512];
    if (batch > 512)
        batch = 512;
    size_t added = 0;
    int64_t end = kwt_mono_ms() + deadline_ms;
    while (added < want && kwt_mono_ms() < end) {
        size_t n = 0;
        kw_error err;
        kw_error_init(&err);
        size_t ask = want - added < batch ? want - added : batch;
        kw_err e = kw_consumer_poll(k, m, ask, 100, &n, &err);
        KWT_CHECK(e == KW_ERR_OK, "poll: %s", err.msg);
        KWT_CHECK(n <= ask, "poll returned %zu > %zu", n, ask);
        for (size_t i = 0; i < n; i++)
            collect(g, m[i]);
        kw_consumer_msgs_release(m, n);
        added += n;
    }
    return added;
}

size_t
kwt_poll_for(kw_consumer *k, kwt_got *g, int ms)
{
    kw_consumer_msg *m[256];
    size_t added = 0;
    int64_t end = kwt_mono_ms() + ms;
    for (int64_t now = kwt_mono_ms(); now < end; now = kwt_mono_ms()) {
        size_t n = 0;
        kw_error err;
        kw_error_init(&err);
        int wait = (int)(end - now);
        KWT_CHECK(kw_consumer_poll(k, m, 256, wait, &n, &err) == KW_ERR_OK, "poll: %s", err.msg);
        for (size_t i = 0; i < n; i++)
            collect(g, m[i]);
        kw_consumer_msgs_release(m, n);
        added += n;
    }
    return added;
}

void
kwt_assign1(kw_consumer *k, const char *topic, int32_t partition, int64_t offset)
{
    kw_topic_partition tp = {topic, partition, offset, -1, NULL, KW_ERR_OK, 0};
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_consumer_incremental_assign(k, &tp, 1, &err) == KW_ERR_OK, "%s", err.msg);
}

void
kwt_assign_all(kw_consumer *k, const char *topic, int32_t n, int64_t offset)
{
    kw_topic_partition tp[64];
    ck_assert_int_le(n, 64);
    for (int32_t i = 0; i < n; i++)
        tp[i] = (kw_topic_partition){topic, i, offset, -1, NULL, KW_ERR_OK, 0};
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_consumer_assign(k, tp, (size_t)n, &err) == KW_ERR_OK, "%s", err.msg);
}

void
kwt_check_stored(kw_mock *m, const kwt_got *g, const char *topic, int32_t partition, int64_t from,
                 size_t count)
{
    kwt_stored s;
    kwt_mock_read_all(m, topic, partition, &s);
    size_t si = 0;
    while (si < s.n && s.offsets[si] < from)
        si++;
    size_t seen = 0;
    for (size_t i = 0; i < g->n; i++) {
        const kwt_msg *o = &g->v[i];
        if (o->err != KW_ERR_OK || o->partition != partition || strcmp(o->topic, topic) != 0)
            continue;
        KWT_CHECK(si < s.n, "%s [%d]: message at offset %lld beyond what is stored", topic,
                  partition, (long long)o->offset);
        KWT_CHECK(o->offset == s.offsets[si], "%s [%d]: offset %lld, stored %lld", topic, partition,
                  (long long)o->offset, (long long)s.offsets[si]);
        KWT_CHECK((o->key == NULL) == (s.keys[si] == NULL) &&
                      (!o->key || strcmp(o->key, s.keys[si]) == 0),
                  "%s [%d] @%lld: key", topic, partition, (long long)o->offset);
        KWT_CHECK((o->value == NULL) == (s.values[si] == NULL) &&
                      (!o->value || strcmp(o->value, s.values[si]) == 0),
                  "%s [%d] @%lld: value %s vs %s", topic, partition, (long long)o->offset,
                  o->value ? o->value : "(null)", s.values[si] ? s.values[si] : "(null)");
        KWT_CHECK(o->ts == s.ts[si], "%s [%d] @%lld: timestamp %lld vs %lld", topic, partition,
                  (long long)o->offset, (long long)o->ts, (long long)s.ts[si]);
        if (s.hdr0) {
            KWT_CHECK((o->hdrs != NULL) == (s.hdr0[si] != NULL), "@%lld: headers",
                      (long long)o->offset);
            if (o->hdrs) {
                size_t l = strcspn(o->hdrs, ";");
                KWT_CHECK(strlen(s.hdr0[si]) == l && strncmp(o->hdrs, s.hdr0[si], l) == 0,
                          "@%lld: first header %s vs %s", (long long)o->offset, o->hdrs,
                          s.hdr0[si]);
            }
        }
        si++;
        seen++;
    }
    KWT_CHECK(seen == count, "%s [%d]: %zu messages, expected %zu", topic, partition, seen, count);
    kwt_stored_fini(&s);
}

void
kwt_append(kw_mock *m, const char *topic, int32_t partition, int first, int n, int64_t ts0)
{
    for (int i = first; i < first + n; i++) {
        char k[32], v[32];
        snprintf(k, sizeof(k), "k%d", i);
        snprintf(v, sizeof(v), "v%d", i);
        kwt_fx_append(m, topic, partition, k, v, ts0 + i);
    }
}
