/* Metadata: the requests (public kw_client_metadata calls and the cache's own refreshes) and
 * the cache they fill.
 *
 * A call goes to the least-loaded READY broker. With none ready it waits for a link (and asks
 * broker.c to make one, which may re-bootstrap); after a failure it waits retry.backoff.ms,
 * doubling up to retry.backoff.max.ms, and tries again, possibly elsewhere, until its deadline.
 *
 * The cache keeps the topics someone asked about, by name in a chained hash table, with their
 * partitions in an array indexed by partition id, so a leader lookup is a hash and an index.
 * It refreshes on its own: the topics marked stale (a caller asked, a partition has no leader,
 * a response carried an error that calls for it), coalesced into one request at a time, and
 * every cached topic once metadata.max.age.ms has passed. A partition whose cached leader
 * epoch is newer than the response's keeps its cached state: the answering broker is behind
 * (KIP-320). */
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"

#define ERR_UNKNOWN_TOPIC    3
#define ERR_REBOOTSTRAP_REQD 129

struct kwi_md_call {
    kwi_submit sub; /* first: the submit queue carries public calls to the loop thread */
    kwi_md_call *prev, *next;
    kw_client *c;
    bool internal;
    bool all;
    bool full; /* internal: covers every cached topic (resets the age) */
    kw_metadata_req_topic *topics;
    int32_t n_topics;
    size_t blk_sz; /* this struct + topics + names, one allocation */
    int64_t deadline_ms;
    int64_t retry_at_ms;
    int attempts;
    bool in_flight;
    kw_error last;
    kwi_timer *t;
    kw_metadata_cb cb;
    void *ud;
};

kw_err kwi_md_view_build(kw_client *c, const kw_metadata_resp *m, int32_t node, void **blk,
                         size_t *blk_sz, kw_metadata *out);

static int64_t
now_ms(kw_client *c)
{
    return kwi_reactor_now_ms(c->r);
}

/* ---- the cache ------------------------------------------------------------------------------ */

static uint32_t
fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (uint8_t)s[i];
        h *= 16777619u;
    }
    return h;
}

kwi_md_topic *
kwi_md_topic_find(kw_client *c, const char *name, size_t len)
{
    if (!c->md.n_buckets)
        return NULL;
    uint32_t h = fnv1a(name, len);
    for (kwi_md_topic *t = c->md.buckets[h & (c->md.n_buckets - 1)]; t; t = t->next)
        if (t->hash == h && t->len == len && memcmp(t->name, name, len) == 0)
            return t;
    return NULL;
}

static void
parts_free(kw_client *c, kwi_md_part *p, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        kwi_client_mem_free(c, p[i].nodes,
                            (size_t)(p[i].n_replicas + p[i].n_isr + p[i].n_offline) *
                                sizeof(int32_t));
    kwi_client_mem_free(c, p, (size_t)n * sizeof(*p));
}

static bool
rehash(kw_client *c)
{
    size_t n = c->md.n_buckets ? c->md.n_buckets * 2 : 16;
    kwi_md_topic **b = kwi_client_alloc(c, n * sizeof(*b));
    if (!b)
        return false;
    memset(b, 0, n * sizeof(*b));
    for (size_t i = 0; i < c->md.n_buckets; i++) {
        kwi_md_topic *t = c->md.buckets[i];
        while (t) {
            kwi_md_topic *next = t->next;
            t->next = b[t->hash & (n - 1)];
            b[t->hash & (n - 1)] = t;
            t = next;
        }
    }
    kwi_client_mem_free(c, c->md.buckets, c->md.n_buckets * sizeof(*b));
    c->md.buckets = b;
    c->md.n_buckets = n;
    return true;
}

static kwi_md_topic *
topic_get(kw_client *c, const char *name, size_t len)
{
    kwi_md_topic *t = kwi_md_topic_find(c, name, len);
    if (t)
        return t;
    if (c->md.n_topics >= c->md.n_buckets && !rehash(c))
        return NULL;
    t = kwi_client_alloc(c, sizeof(*t));
    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    size_t sz;
    t->name = kwi_client_strndup(c, name, len, &sz);
    if (!t->name) {
        kwi_client_mem_free(c, t, sizeof(*t));
        return NULL;
    }
    t->len = len;
    t->hash = fnv1a(name, len);
    size_t bi = t->hash & (c->md.n_buckets - 1);
    t->next = c->md.buckets[bi];
    c->md.buckets[bi] = t;
    c->md.n_topics++;
    return t;
}

static void
cache_free(kw_client *c)
{
    for (size_t i = 0; i < c->md.n_buckets; i++) {
        kwi_md_topic *t = c->md.buckets[i];
        while (t) {
            kwi_md_topic *next = t->next;
            parts_free(c, t->parts, t->n_parts);
            kwi_client_mem_free(c, t->name, t->len + 1);
            kwi_client_mem_free(c, t, sizeof(*t));
            t = next;
        }
    }
    kwi_client_mem_free(c, c->md.buckets, c->md.n_buckets * sizeof(*c->md.buckets));
    kwi_client_mem_free(c, c->md.cluster_id, c->md.cluster_id_sz);
    c->md.buckets = NULL;
    c->md.n_buckets = c->md.n_topics = 0;
}

static bool
part_set(kw_client *c, kwi_md_part *dst, const kw_metadata_resp_partition *p)
{
    int32_t nr = p->n_replica_nodes > 0 ? p->n_replica_nodes : 0;
    int32_t ni = p->n_isr_nodes > 0 ? p->n_isr_nodes : 0;
    int32_t no = p->n_offline_replicas > 0 ? p->n_offline_replicas : 0;
    size_t total = (size_t)nr + (size_t)ni + (size_t)no;
    memset(dst, 0, sizeof(*dst));
    dst->id = p->partition_index;
    dst->leader = p->leader_id;
    dst->leader_epoch = p->leader_epoch;
    dst->error = p->error_code;
    if (total == 0)
        return true;
    dst->nodes = kwi_client_alloc(c, total * sizeof(int32_t));
    if (!dst->nodes)
        return false;
    if (nr)
        memcpy(dst->nodes, p->replica_nodes, (size_t)nr * sizeof(int32_t));
    if (ni)
        memcpy(dst->nodes + nr, p->isr_nodes, (size_t)ni * sizeof(int32_t));
    if (no)
        memcpy(dst->nodes + nr + ni, p->offline_replicas, (size_t)no * sizeof(int32_t));
    dst->n_replicas = nr;
    dst->n_isr = ni;
    dst->n_offline = no;
    return true;
}

/* Replaces a topic's partitions with a response's, keeping a cached partition whose leader
 * epoch is newer than the answer's. Returns false on out of memory (topic unchanged). */
static bool
topic_set_parts(kw_client *c, kwi_md_topic *t, const kw_metadata_resp_topic *rt)
{
    int32_t n = rt->n_partitions > 0 ? rt->n_partitions : 0;
    kwi_md_part *v = n ? kwi_client_alloc(c, (size_t)n * sizeof(*v)) : NULL;
    if (n && !v)
        return false;
    for (int32_t i = 0; i < n; i++) {
        memset(&v[i], 0, sizeof(v[i]));
        v[i].id = i;
        v[i].leader = -1;
        v[i].leader_epoch = -1;
        v[i].error = 5; /* LEADER_NOT_AVAILABLE until the response names the partition */
    }
    bool ok = true;
    for (int32_t i = 0; i < n && ok; i++) {
        const kw_metadata_resp_partition *p = &rt->partitions[i];
        int32_t idx = p->partition_index;
        if (idx < 0 || idx >= n)
            continue; /* hostile or inconsistent: indices must be 0..n-1 */
        kwi_md_part *old = idx < t->n_parts ? &t->parts[idx] : NULL;
        if (old && p->leader_epoch >= 0 && old->leader_epoch > p->leader_epoch) {
            v[idx] = *old; /* take over the cached one, nodes included */
            old->nodes = NULL;
            old->n_replicas = old->n_isr = old->n_offline = 0;
            continue;
        }
        kwi_client_mem_free(c, v[idx].nodes,
                            (size_t)(v[idx].n_replicas + v[idx].n_isr + v[idx].n_offline) *
                                sizeof(int32_t));
        ok = part_set(c, &v[idx], p);
    }
    if (!ok) {
        parts_free(c, v, n);
        return false;
    }
    parts_free(c, t->parts, t->n_parts);
    t->parts = v;
    t->n_parts = n;
    return true;
}

static void
apply_topic(kw_client *c, const kw_metadata_resp_topic *rt, int16_t ver)
{
    if (rt->name.len <= 0)
        return; /* Metadata v12+ answers by topic id only when asked by id; we ask by name */
    kwi_md_topic *t = topic_get(c, (const char *)rt->name.ptr, (size_t)rt->name.len);
    if (!t)
        return;
    t->error = rt->error_code;
    t->internal = rt->is_internal;
    t->updated_ms = now_ms(c);
    if (ver >= 10)
        t->id = rt->topic_id;
    if (rt->error_code != 0) {
        /* As the Java client: a topic-level error voids the topic's partitions, whatever
         * the response lists with it. LEADER_NOT_AVAILABLE while a topic is created comes
         * back quickly; an unknown topic is refreshed when a caller asks again, not in a
         * loop. */
        parts_free(c, t->parts, t->n_parts);
        t->parts = NULL;
        t->n_parts = 0;
        if (kw_broker_err_retriable(rt->error_code) && rt->error_code != ERR_UNKNOWN_TOPIC)
            t->stale = true;
        return;
    }
    if (!topic_set_parts(c, t, rt)) {
        t->stale = true;
        return;
    }
    for (int32_t i = 0; i < t->n_parts; i++)
        if (t->parts[i].leader < 0)
            t->stale = true;
}

static void
apply(kw_client *c, const kw_metadata_resp *m, int16_t ver)
{
    kwi_broker_update(c, m);
    if (m->cluster_id.len >= 0) {
        kwi_client_mem_free(c, c->md.cluster_id, c->md.cluster_id_sz);
        c->md.cluster_id = kwi_client_strndup(c, (const char *)m->cluster_id.ptr,
                                              (size_t)m->cluster_id.len, &c->md.cluster_id_sz);
    }
    c->md.controller_id = m->controller_id;
    for (int32_t i = 0; i < m->n_topics; i++)
        apply_topic(c, &m->topics[i], ver);
    c->md.known = true;
    c->stats.metadata_updates++;
}

/* ---- calls ---------------------------------------------------------------------------------- */

static void call_try(kw_client *c, kwi_md_call *k);
static void refresh_done(kw_client *c, kwi_md_call *k, kw_err e);

static void
call_unlink(kw_client *c, kwi_md_call *k)
{
    if (k->prev)
        k->prev->next = k->next;
    else if (c->md.calls == k)
        c->md.calls = k->next;
    if (k->next)
        k->next->prev = k->prev;
    k->prev = k->next = NULL;
}

static void
call_free(kw_client *c, kwi_md_call *k)
{
    kwi_reactor_timer_free(k->t);
    kwi_client_mem_free(c, k, k->blk_sz);
}

/* Completes a call: a public one calls back (with a view of `m` on success). */
static void
call_finish(kw_client *c, kwi_md_call *k, kw_err e, const kw_error *detail,
            const kw_metadata_resp *m, int32_t node)
{
    call_unlink(c, k);
    if (k->internal) {
        refresh_done(c, k, e);
        call_free(c, k);
        return;
    }
    kw_error d;
    kw_error_init(&d);
    if (detail)
        d = *detail;
    else if (e != KW_ERR_OK)
        kw_error_set(&d, e, "%s", kw_err_str(e));
    d.code = e;
    kw_metadata view;
    void *blk = NULL;
    size_t blk_sz = 0;
    if (e == KW_ERR_OK) {
        e = kwi_md_view_build(c, m, node, &blk, &blk_sz, &view);
        if (e != KW_ERR_OK)
            kw_error_set(&d, e, "out of memory building the metadata view");
    }
    kw_metadata_cb cb = k->cb;
    void *ud = k->ud;
    call_free(c, k);
    cb(c, e, &d, e == KW_ERR_OK ? &view : NULL, ud);
    kwi_client_mem_free(c, blk, blk_sz);
}

static kw_err
md_encode(kw_wr *w, int16_t ver, void *ud)
{
    kwi_md_call *k = ud;
    kw_metadata_req m;
    memset(&m, 0, sizeof(m));
    m.topics = k->topics;
    m.n_topics = k->n_topics;
    /* "Every topic" is an empty list in v0 and a null one from v1, where empty means none.
     * A v0 broker cannot be asked for no topics; it then returns them all. */
    if (k->all)
        m.n_topics = ver == 0 ? 0 : -1;
    m.allow_auto_topic_creation = kwi_conf_bool(k->c->conf, KWI_CONF_ALLOW_AUTO_CREATE_TOPICS);
    return kw_msg_encode(&kw_msg_metadata_req, ver, w, &m);
}

static int64_t
retry_delay(kw_client *c, int attempts)
{
    int64_t d = kwi_conf_int(c->conf, KWI_CONF_RETRY_BACKOFF_MS);
    int64_t max = kwi_conf_int(c->conf, KWI_CONF_RETRY_BACKOFF_MAX_MS);
    for (int i = 1; i < attempts && d < max; i++)
        d *= 2;
    return d > max ? max : d;
}

static void
on_md_resp(kw_err err, const kw_error *detail, const kwi_resp *resp, void *ud)
{
    kwi_md_call *k = ud;
    kw_client *c = k->c;
    k->in_flight = false;
    if (err == KW_ERR_CANCELED || c->closing) {
        call_finish(c, k, KW_ERR_CANCELED, detail, NULL, -1);
        return;
    }
    const kw_metadata_resp *m = resp ? resp->body : NULL;
    if (err == KW_ERR_OK && m && m->error_code != 0) {
        /* Metadata v13 (KIP-1102): the broker tells the client to start over. */
        kw_error_set(&k->last, KW_ERR_BROKER, "Metadata from broker %d failed: %s",
                     (int)resp->node_id, kw_broker_err_name(m->error_code));
        k->last.broker_code = m->error_code;
        if (m->error_code == ERR_REBOOTSTRAP_REQD)
            for (size_t i = 0; i < c->n_brokers; i++)
                if (!c->brokers[i]->bootstrap)
                    kwi_conn_close(c->brokers[i]->conn, KW_ERR_IO, true,
                                   "the broker asked for a re-bootstrap");
        err = KW_ERR_BROKER;
    } else if (err != KW_ERR_OK) {
        k->last = *detail;
    }
    if (err != KW_ERR_OK) {
        c->stats.metadata_errors++;
        if (kwi_log_on(&c->log, KWI_LOG_DEBUG))
            kwi_log_write(&c->log, KWI_LOG_DEBUG, "metadata", "attempt %d failed: %s", k->attempts,
                          k->last.msg);
        k->retry_at_ms = now_ms(c) + retry_delay(c, k->attempts);
        call_try(c, k);
        return;
    }
    apply(c, m, resp->ver);
    call_finish(c, k, KW_ERR_OK, NULL, m, resp->node_id);
}

static void
call_timer(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_md_call *k = ud;
    call_try(k->c, k);
}

static void
call_try(kw_client *c, kwi_md_call *k)
{
    if (k->in_flight || c->closing)
        return;
    int64_t now = now_ms(c);
    if (now >= k->deadline_ms) {
        kw_error d;
        kw_error_init(&d);
        const char *why = k->last.msg[0] ? k->last.msg : c->link_err.msg;
        kw_error_set(&d, KW_ERR_TIMED_OUT, "metadata request timed out after %d attempt%s%s%s",
                     k->attempts, k->attempts == 1 ? "" : "s", why[0] ? ": " : "", why);
        call_finish(c, k, KW_ERR_TIMED_OUT, &d, NULL, -1);
        return;
    }
    if (now < k->retry_at_ms) {
        kwi_reactor_timer_start_at(k->t, k->retry_at_ms);
        return;
    }
    kwi_broker *b = kwi_broker_least_loaded(c);
    if (!b) {
        /* Woken by kwi_md_on_link when a broker becomes ready, or at the deadline. */
        kwi_reactor_timer_start_at(k->t, k->deadline_ms);
        kwi_broker_ensure_link(c);
        return;
    }
    kwi_req_opts o;
    kwi_req_opts_init(&o);
    int64_t rt = kwi_conf_int(c->conf, KWI_CONF_REQUEST_TIMEOUT_MS);
    o.timeout_ms = k->deadline_ms - now < rt ? k->deadline_ms - now : rt;
    o.encode = md_encode;
    o.encode_ud = k;
    kw_error err;
    kw_error_init(&err);
    if (kwi_conn_send(b->conn, KWI_API_METADATA, NULL, &o, on_md_resp, k, &err) != KW_ERR_OK) {
        call_finish(c, k, err.code, &err, NULL, -1);
        return;
    }
    kwi_reactor_timer_stop(k->t);
    k->in_flight = true;
    k->attempts++;
    c->stats.metadata_requests++;
}

/* One allocation: the call, then the request's topic array, then the names. */
static kwi_md_call *
call_new(kw_client *c, const char *const *names, const size_t *lens, size_t n, bool all)
{
    size_t sz = sizeof(kwi_md_call) + n * sizeof(kw_metadata_req_topic);
    for (size_t i = 0; i < n; i++)
        sz += (lens ? lens[i] : strlen(names[i]));
    kwi_md_call *k = kwi_client_alloc(c, sz);
    if (!k)
        return NULL;
    memset(k, 0, sizeof(*k));
    k->blk_sz = sz;
    k->c = c;
    k->all = all;
    k->topics = (kw_metadata_req_topic *)(k + 1);
    char *p = (char *)(k->topics + n);
    for (size_t i = 0; i < n; i++) {
        size_t len = lens ? lens[i] : strlen(names[i]);
        memset(&k->topics[i], 0, sizeof(k->topics[i]));
        memcpy(p, names[i], len);
        k->topics[i].name.ptr = (const uint8_t *)p;
        k->topics[i].name.len = (int32_t)len;
        p += len;
    }
    k->n_topics = (int32_t)n;
    kw_error_init(&k->last);
    return k;
}

static kw_err
call_start(kw_client *c, kwi_md_call *k, int64_t timeout_ms)
{
    if (kwi_reactor_timer_new(c->r, call_timer, k, &k->t) != KW_ERR_OK)
        return KW_ERR_NOMEM;
    k->deadline_ms = now_ms(c) + timeout_ms;
    k->next = c->md.calls;
    if (k->next)
        k->next->prev = k;
    c->md.calls = k;
    call_try(c, k);
    return KW_ERR_OK;
}

void
kwi_md_on_link(kw_client *c)
{
    if (c->closing)
        return;
    int64_t now = now_ms(c);
    /* call_try may finish (and free) a call, so walk from a saved next pointer; a finished
     * call never frees another. */
    kwi_md_call *k = c->md.calls;
    while (k) {
        kwi_md_call *next = k->next;
        if (!k->in_flight && now >= k->retry_at_ms)
            call_try(c, k);
        k = next;
    }
}

void
kwi_md_on_fatal(kw_client *c, const kw_error *why)
{
    kwi_md_call *k = c->md.calls;
    while (k) {
        kwi_md_call *next = k->next;
        if (!k->internal && !k->in_flight)
            call_finish(c, k, why->code, why, NULL, -1);
        k = next;
    }
}

/* ---- the cache's own refresh ----------------------------------------------------------------- */

static void
schedule(kw_client *c, int64_t delay)
{
    if (c->closing)
        return;
    int64_t at = now_ms(c) + delay;
    if (!kwi_reactor_timer_armed(c->md.t_refresh) ||
        kwi_reactor_timer_deadline(c->md.t_refresh) > at)
        kwi_reactor_timer_start_at(c->md.t_refresh, at);
}

static void
refresh_start(kw_client *c)
{
    if (c->md.refresh || c->closing || c->md.n_topics == 0)
        return;
    int64_t now = now_ms(c), age = kwi_conf_int(c->conf, KWI_CONF_METADATA_MAX_AGE_MS);
    bool full = c->md.last_full_ms < 0 || now - c->md.last_full_ms >= age;
    size_t n = 0;
    for (size_t i = 0; i < c->md.n_buckets; i++)
        for (kwi_md_topic *t = c->md.buckets[i]; t; t = t->next)
            n += full || t->stale;
    if (n == 0) {
        schedule(c, c->md.last_full_ms + age - now);
        return;
    }
    const char **names = kwi_client_alloc(c, n * sizeof(*names));
    size_t *lens = kwi_client_alloc(c, n * sizeof(*lens));
    kwi_md_call *k = NULL;
    if (names && lens) {
        size_t j = 0;
        for (size_t i = 0; i < c->md.n_buckets; i++)
            for (kwi_md_topic *t = c->md.buckets[i]; t; t = t->next)
                if (full || t->stale) {
                    /* Asked for now: a caller that wants it again from here on (even
                     * while this request is out) marks it stale again. */
                    t->stale = false;
                    names[j] = t->name;
                    lens[j++] = t->len;
                }
        k = call_new(c, names, lens, n, false);
    }
    kwi_client_mem_free(c, names, n * sizeof(*names));
    kwi_client_mem_free(c, lens, n * sizeof(*lens));
    if (!k) {
        schedule(c, retry_delay(c, 1));
        return;
    }
    k->internal = true;
    k->full = full;
    c->md.refresh = k;
    if (call_start(c, k, kwi_conf_int(c->conf, KWI_CONF_REQUEST_TIMEOUT_MS)) != KW_ERR_OK) {
        c->md.refresh = NULL;
        call_free(c, k);
        schedule(c, retry_delay(c, 1));
    }
}

static void
refresh_done(kw_client *c, kwi_md_call *k, kw_err e)
{
    c->md.refresh = NULL;
    if (c->closing)
        return;
    if (e != KW_ERR_OK) {
        /* Whatever it asked for is still wanted. */
        for (int32_t i = 0; i < k->n_topics; i++) {
            kwi_md_topic *t = kwi_md_topic_find(c, (const char *)k->topics[i].name.ptr,
                                                (size_t)k->topics[i].name.len);
            if (t)
                t->stale = true;
        }
        c->md.refresh_failures++;
        if (kwi_log_on(&c->log, KWI_LOG_WARN))
            kwi_log_write(&c->log, KWI_LOG_WARN, "metadata", "refresh failed: %s",
                          k->last.msg[0] ? k->last.msg : kw_err_str(e));
        schedule(c, retry_delay(c, c->md.refresh_failures));
        return;
    }
    c->md.refresh_failures = 0;
    if (k->full)
        c->md.last_full_ms = now_ms(c);
    bool stale = false;
    for (size_t i = 0; i < c->md.n_buckets && !stale; i++)
        for (kwi_md_topic *t = c->md.buckets[i]; t && !stale; t = t->next)
            stale = t->stale;
    if (stale)
        schedule(c, retry_delay(c, 1));
    else
        schedule(c, c->md.last_full_ms + kwi_conf_int(c->conf, KWI_CONF_METADATA_MAX_AGE_MS) -
                        now_ms(c));
}

static void
on_refresh_timer(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    refresh_start(ud);
}

kw_err
kwi_md_init(kw_client *c)
{
    c->md.controller_id = -1;
    c->md.last_full_ms = -1;
    return kwi_reactor_timer_new(c->r, on_refresh_timer, c, &c->md.t_refresh);
}

void
kwi_md_fini(kw_client *c)
{
    kwi_md_call *k;
    while ((k = c->md.calls)) {
        kw_error d;
        kw_error_init(&d);
        kw_error_set(&d, KW_ERR_CANCELED, "the client is shutting down");
        call_finish(c, k, KW_ERR_CANCELED, &d, NULL, -1);
    }
    kwi_reactor_timer_free(c->md.t_refresh);
    c->md.t_refresh = NULL;
    cache_free(c);
}

/* ---- the internal API -------------------------------------------------------------------------
 */

static void
want(kw_client *c, const char *topic, size_t len)
{
    kwi_md_topic *t = topic_get(c, topic, len);
    if (t && !t->stale) {
        t->stale = true;
        schedule(c, 0);
    }
}

void
kwi_client_refresh(kw_client *c, const char *const *topics, const size_t *lens, size_t n)
{
    for (size_t i = 0; i < n; i++)
        want(c, topics[i], lens ? lens[i] : strlen(topics[i]));
}

kw_err
kwi_client_leader(kw_client *c, const char *topic, size_t len, int32_t partition, int32_t *leader,
                  int32_t *epoch, int16_t *err_code)
{
    *leader = -1;
    *epoch = -1;
    *err_code = 0;
    kwi_md_topic *t = kwi_md_topic_find(c, topic, len);
    if (!t || (t->n_parts == 0 && t->error == 0)) {
        want(c, topic, len);
        return KW_ERR_NOT_FOUND;
    }
    if (t->n_parts == 0) {
        *err_code = t->error;
        if (t->error == ERR_UNKNOWN_TOPIC)
            want(c, topic, len);
        return t->error == ERR_UNKNOWN_TOPIC ? KW_ERR_NOT_FOUND : KW_ERR_BROKER;
    }
    if (partition < 0 || partition >= t->n_parts) {
        want(c, topic, len);
        return KW_ERR_NOT_FOUND;
    }
    const kwi_md_part *p = &t->parts[partition];
    *epoch = p->leader_epoch;
    if (p->leader < 0) {
        *err_code = p->error;
        want(c, topic, len);
        return KW_ERR_AGAIN;
    }
    *leader = p->leader;
    return KW_ERR_OK;
}

int32_t
kwi_client_partitions(kw_client *c, const char *topic, size_t len)
{
    kwi_md_topic *t = kwi_md_topic_find(c, topic, len);
    if (!t || t->n_parts == 0) {
        want(c, topic, len);
        return -1;
    }
    return t->n_parts;
}

void
kwi_client_on_partition_error(kw_client *c, const char *topic, size_t len, int32_t partition,
                              int16_t code)
{
    (void)partition;
    if (kw_broker_err_refresh_metadata(code))
        want(c, topic, len);
}

void
kwi_client_on_leader_epoch(kw_client *c, const char *topic, size_t len, int32_t partition,
                           int32_t epoch)
{
    kwi_md_topic *t = kwi_md_topic_find(c, topic, len);
    if (!t || partition < 0 || partition >= t->n_parts || t->parts[partition].leader_epoch < epoch)
        want(c, topic, len);
}

/* ---- the public call ----------------------------------------------------------------------------
 */

static void
submit_run(kw_client *c, kwi_submit *s)
{
    kwi_md_call *k = (kwi_md_call *)s;
    int64_t timeout = k->deadline_ms; /* carried the timeout until now */
    if (call_start(c, k, timeout) != KW_ERR_OK) {
        kw_error d;
        kw_error_init(&d);
        kw_error_set(&d, KW_ERR_NOMEM, "out of memory");
        kw_metadata_cb cb = k->cb;
        void *ud = k->ud;
        call_free(c, k);
        cb(c, KW_ERR_NOMEM, &d, NULL, ud);
    }
}

static void
submit_cancel(kw_client *c, kwi_submit *s)
{
    kwi_md_call *k = (kwi_md_call *)s;
    kw_error d;
    kw_error_init(&d);
    kw_error_set(&d, KW_ERR_CANCELED, "the client is shutting down");
    kw_metadata_cb cb = k->cb;
    void *ud = k->ud;
    call_free(c, k);
    cb(c, KW_ERR_CANCELED, &d, NULL, ud);
}

kw_err
kw_client_metadata(kw_client *c, const char *const *topics, size_t n_topics, int timeout_ms,
                   kw_metadata_cb cb, void *ud, kw_error *err)
{
    if (!c || !cb)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "client and callback are required");
    if (c->closing)
        return kw_error_set(err, KW_ERR_STATE, "the client is shutting down");
    if (n_topics > 100000)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "too many topics");
    for (size_t i = 0; topics && i < n_topics; i++) {
        size_t len = topics[i] ? strlen(topics[i]) : 0;
        if (len == 0 || len > 249)
            return kw_error_set(err, KW_ERR_INVALID_ARG, "topic %zu: a name has 1-249 bytes", i);
    }
    kwi_md_call *k = call_new(c, topics, NULL, topics ? n_topics : 0, topics == NULL);
    if (!k)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    k->cb = cb;
    k->ud = ud;
    k->deadline_ms =
        timeout_ms > 0 ? timeout_ms : kwi_conf_int(c->conf, KWI_CONF_REQUEST_TIMEOUT_MS);
    k->sub.run = submit_run;
    k->sub.cancel = submit_cancel;
    kwi_client_submit(c, &k->sub);
    return KW_ERR_OK;
}
