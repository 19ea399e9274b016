/* Helpers of the admin calls: copies into a call's arena, item errors, lookups in a Metadata
 * response, version checks. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MAX_ITEMS 100000

#include "client/admin_int.h"

void *
kwi_aop_alloc(kwi_aop *op, size_t n, size_t sz)
{
    return kw_arena_calloc(&op->ar, n ? n : 1, sz);
}

char *
kwi_aop_strdup(kwi_aop *op, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    char *d = kw_arena_alloc(&op->ar, n + 1);
    if (d && n)
        memcpy(d, s, n);
    return d;
}

char *
kwi_aop_slicedup(kwi_aop *op, kw_slice s)
{
    if (s.len < 0)
        return NULL;
    char *d = kw_arena_alloc(&op->ar, (size_t)s.len + 1);
    if (d && s.len > 0)
        memcpy(d, s.ptr, (size_t)s.len);
    return d;
}

void
kwi_aitem_ok(kwi_aitem *it)
{
    kw_error_init(&it->e);
    it->done = true;
    it->dest = -1;
}

/* Codes that mean "ask again, maybe elsewhere": the retriable ones (Java's
 * RetriableException) and the routing ones, which Java retries after finding the node again. */
static bool
retry_code(int16_t code)
{
    /* UNKNOWN_TOPIC_OR_PARTITION is retriable for Java, but an admin call about a topic that
     * does not exist must say so rather than retry until its timeout. */
    if (code == KWI_E_UNKNOWN_TOPIC)
        return false;
    return kw_broker_err_retriable(code) || code == KWI_E_NOT_CONTROLLER ||
           code == KWI_E_NOT_COORDINATOR || code == KWI_E_COORD_LOADING || code == KWI_E_COORD_NA;
}

void
kwi_aitem_broker(kwi_aitem *it, int16_t code, kw_slice msg, const char *api, const char *what_fmt,
                 ...)
{
    if (code == 0) {
        kwi_aitem_ok(it);
        return;
    }
    char what[300];
    va_list ap;
    va_start(ap, what_fmt);
    vsnprintf(what, sizeof(what), what_fmt, ap);
    va_end(ap);
    if (msg.len > 0)
        kw_error_set(&it->e, KW_ERR_BROKER, "%s: %s %s: %.*s", what, api, kw_broker_err_name(code),
                     (int)(msg.len > 200 ? 200 : msg.len), (const char *)msg.ptr);
    else
        kw_error_set(&it->e, KW_ERR_BROKER, "%s: %s %s", what, api, kw_broker_err_name(code));
    it->e.broker_code = code;
    it->e.retriable = retry_code(code);
    it->done = !it->e.retriable;
    it->dest = -1; /* answered: not one of the request's missing items */
}

void
kwi_aitem_fail(kwi_aitem *it, kw_err code, const char *msg)
{
    kw_error_set(&it->e, code, "%s", msg);
    /* NOT_FOUND: the node left the metadata; a refresh may name another. */
    it->e.retriable = kw_err_retriable(code) || code == KW_ERR_NOT_FOUND;
    it->done = !it->e.retriable;
    it->dest = -1;
}

const kw_metadata_resp_topic *
kwi_amd_topic(const kw_metadata_resp *m, const char *name)
{
    for (int32_t i = 0; m && i < m->n_topics; i++)
        if (kw_slice_eq(m->topics[i].name, name))
            return &m->topics[i];
    return NULL;
}

bool
kwi_admin_node_supports(kw_client *c, int32_t node, int16_t api_key)
{
    kwi_broker *b = kwi_broker_find(c, node);
    if (!b || kwi_conn_state_get(b->conn) != KWI_CONN_READY)
        return false;
    return kwi_apiver_get(kwi_conn_apiver(b->conn), api_key) >= 0;
}

kw_config_entry *
kwi_aop_configs(kwi_aop *op, const kw_describe_configs_resource_result *in, int32_t n,
                int32_t *n_out)
{
    *n_out = 0;
    kw_config_entry *v = kwi_aop_alloc(op, (size_t)(n > 0 ? n : 0), sizeof(*v));
    if (!v)
        return NULL;
    for (int32_t i = 0; i < n; i++) {
        kw_config_entry *e = &v[i];
        e->name = kwi_aop_slicedup(op, in[i].name);
        e->value = kwi_aop_slicedup(op, in[i].value);
        e->read_only = in[i].read_only;
        e->sensitive = in[i].is_sensitive;
        e->source = in[i].config_source;
        /* DEFAULT_CONFIG (5) and STATIC_BROKER_CONFIG (4) for a topic are defaults. */
        e->is_default = in[i].config_source == 5;
        if (!e->name)
            return NULL;
    }
    *n_out = n > 0 ? n : 0;
    return v;
}

/* ---- requests carrying the pending items --------------------------------------------- */

/* Finds the pending item of a request whose name matches; items keep the request's order, so
 * the position `hint` is tried first. */
int32_t
kwi_areq_match(kwi_aop *op, const kwi_areq *rq, size_t name_off, kw_slice name, int32_t hint)
{
    for (int32_t k = 0; k < rq->n_idx; k++) {
        int32_t j = rq->idx[(hint + k) % rq->n_idx];
        kwi_aitem *it = kwi_aop_hdr(op, j);
        const char *n = *(const char *const *)((const char *)it + name_off);
        if (!it->done && it->dest == rq->node && kw_slice_eq(name, n))
            return j;
    }
    return -1;
}

/* A transport failure (or a response with no entry for an item) for every item of rq. */
void
kwi_areq_fail_rest(kwi_aop *op, const kwi_areq *rq, kw_err code, const char *msg)
{
    for (int32_t k = 0; k < rq->n_idx; k++) {
        kwi_aitem *it = kwi_aop_hdr(op, rq->idx[k]);
        if (!it->done && it->dest == rq->node) {
            kwi_aitem_fail(it, code, msg);
            it->dest = -1;
        }
    }
}

void
kwi_areq_left_out(kwi_aop *op, const kwi_areq *rq, const char *api, const char *noun)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "the broker's %s response left the %s out", api, noun);
    kwi_areq_fail_rest(op, rq, KW_ERR_MALFORMED, msg);
}

void *
kwi_areq_topic_result(kwi_aop *op, const kwi_areq *rq, size_t name_off, int32_t hint, kw_slice name,
                      int16_t code, kw_slice msg, const char *api)
{
    int32_t j = kwi_areq_match(op, rq, name_off, name, hint);
    if (j < 0)
        return NULL;
    kwi_aitem *it = kwi_aop_hdr(op, j);
    const char *n = *(const char *const *)((const char *)it + name_off);
    kwi_aitem_broker(it, code, msg, api, "topic %s", n);
    return it;
}

/* Starts a request for the pending items; returns it with idx filled, or NULL. */
kwi_areq *
kwi_aop_collect(kwi_aop *op, kwi_areq_fn fn, int32_t node)
{
    int32_t n = 0;
    for (int32_t i = 0; i < op->n_items; i++)
        n += !kwi_aop_hdr(op, i)->done;
    if (n == 0)
        return NULL;
    kwi_areq *rq = kwi_areq_new(op, fn, n);
    if (!rq) {
        kw_error_set(&op->last, KW_ERR_NOMEM, "out of memory");
        return NULL;
    }
    rq->node = node;
    for (int32_t i = 0; i < op->n_items; i++) {
        kwi_aitem *it = kwi_aop_hdr(op, i);
        if (!it->done) {
            it->dest = node;
            rq->idx[rq->n_idx++] = i;
        }
    }
    return rq;
}

void
kwi_areq_send_or_fail(kwi_aop *op, kwi_areq *rq, int16_t api, const void *msg, int16_t min_ver)
{
    kw_error e;
    kw_error_init(&e);
    int32_t node = rq->node;
    if (kwi_areq_send(rq, node, api, msg, min_ver, &e) == KW_ERR_OK)
        return;
    /* rq is gone; an attempt sends one request per node, so its items are those bound for
     * that node. */
    op->last = e;
    for (int32_t i = 0; i < op->n_items; i++) {
        kwi_aitem *it = kwi_aop_hdr(op, i);
        if (!it->done && it->dest == node) {
            kwi_aitem_fail(it, e.code, e.msg);
            it->dest = -1;
        }
    }
}

/* The common start of a call: checks, the loop lock, a new op. On success the lock is held. */
kwi_aop *
kwi_admin_begin(kw_admin *ad, const kwi_akind *k, size_t n, size_t item_sz, const kw_admin_opts *o,
                kw_admin_cb cb, void *ud, kw_error *err)
{
    if (!ad) {
        kw_error_set(err, KW_ERR_INVALID_ARG, "no admin handle");
        return NULL;
    }
    if (n > MAX_ITEMS) {
        kw_error_set(err, KW_ERR_INVALID_ARG, "%s: %zu items, at most %d", k->name, n, MAX_ITEMS);
        return NULL;
    }
    pthread_mutex_lock(&ad->c->lock);
    if (ad->closing) {
        pthread_mutex_unlock(&ad->c->lock);
        kw_error_set(err, KW_ERR_STATE, "the admin handle is being freed");
        return NULL;
    }
    kwi_aop *op = kwi_aop_new(ad, k, n, item_sz, o, cb, ud);
    if (!op) {
        pthread_mutex_unlock(&ad->c->lock);
        kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    return op;
}

/* Ends the start: submits (e OK) or discards the op, and releases the lock. */
kw_err
kwi_admin_end(kwi_aop *op, kw_err e)
{
    kw_client *c = op->c;
    if (e == KW_ERR_OK)
        kwi_aop_submit(op);
    else
        kwi_aop_discard(op);
    pthread_mutex_unlock(&c->lock);
    return e;
}

kw_err
kwi_admin_check_names(const char *const *names, size_t n, const char *noun, const char *field,
                      kw_error *err)
{
    if (n > 0 && !names)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no %ss", noun);
    for (size_t i = 0; i < n; i++)
        if (!names[i] || !*names[i])
            return kw_error_set(err, KW_ERR_INVALID_ARG, "%s %zu has no %s", noun, i, field);
    return KW_ERR_OK;
}

kw_err
kwi_admin_call(kw_admin *ad, const kwi_acall *call, const kw_admin_opts *o, kw_admin_cb cb,
               void *ud, kw_error *err)
{
    kw_error local; /* begin's failure (no memory ...) is returned even without err */
    if (!err) {
        kw_error_init(&local);
        err = &local;
    }
    if (call->n > 0 && !call->in)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "%s", call->none);
    kwi_aop *op = kwi_admin_begin(ad, call->k, call->n, call->item_sz, o, cb, ud, err);
    if (!op)
        return err->code;
    kw_err e = KW_ERR_OK;
    for (size_t i = 0; i < call->n && e == KW_ERR_OK; i++)
        e = call->copy(op, kwi_aop_item(op, (int32_t)i), (const char *)call->in + i * call->in_sz,
                       err);
    return kwi_admin_end(op, e);
}
