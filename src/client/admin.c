/* The admin handle and the life of a call: submission to the loop, attempts (cluster
 * metadata, the kind's own topic metadata, dispatch), retries with backoff, the end, and
 * sending requests on a call's behalf. See admin_int.h for the model and kwire/admin.h for
 * the contract. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/admin_int.h"
#include "util/clock.h"

static void attempt(kwi_aop *op);
static void attempt_end(kwi_aop *op);

static int64_t
now_ms(kwi_aop *op)
{
    return kwi_reactor_now_ms(kwi_client_reactor(op->c));
}

/* ---- the life of a call ------------------------------------------------------------------ */

static void
op_free(kwi_aop *op)
{
    kw_client *c = op->c;
    kwi_reactor_timer_free(op->t);
    kw_arena_fini(&op->ar);
    kwi_client_mem_free(c, op, sizeof(*op));
}

static void
op_unlink(kwi_aop *op)
{
    kw_admin *ad = op->ad;
    if (!ad)
        return;
    if (op->prev)
        op->prev->next = op->next;
    else if (ad->ops == op)
        ad->ops = op->next;
    if (op->next)
        op->next->prev = op->prev;
    op->prev = op->next = NULL;
    ad->outstanding--;
    if (ad->waiting)
        pthread_cond_broadcast(&ad->cond);
}

/* Runs the callback once and releases the call (at once, or when its last request ends). */
static void
op_end(kwi_aop *op, kw_err code, const kw_error *why)
{
    if (op->ended)
        return;
    op->ended = true;
    kwi_reactor_timer_stop(op->t);
    kw_admin *ad = op->ad;
    op_unlink(op);
    op->ad = NULL;
    kw_error d;
    kw_error_init(&d);
    kw_admin_result r;
    memset(&r, 0, sizeof(r));
    r.op = op->k->op;
    kw_error failed;
    if (code == KW_ERR_OK && op->k->failed && op->k->failed(op, &failed)) {
        code = failed.code;
        why = &failed;
    }
    if (code == KW_ERR_OK && op->k->result(op, &r) != KW_ERR_OK)
        code = kw_error_set(&d, KW_ERR_NOMEM, "out of memory building the %s result", op->k->name);
    else if (code != KW_ERR_OK)
        d = *why;
    d.code = code;
    if (op->cb)
        op->cb(ad, code, &d, code == KW_ERR_OK ? &r : NULL, op->ud);
    if (op->inflight == 0 && !op->queued)
        op_free(op);
}

static int32_t
pending(kwi_aop *op)
{
    int32_t n = 0;
    for (int32_t i = 0; i < op->n_items; i++)
        n += !kwi_aop_hdr(op, i)->done;
    return n;
}

/* The deadline passed: every pending item ends with KW_ERR_TIMED_OUT naming what it saw. */
static void
expire(kwi_aop *op)
{
    for (int32_t i = 0; i < op->n_items; i++) {
        kwi_aitem *it = kwi_aop_hdr(op, i);
        if (it->done)
            continue;
        /* The message names the last failure; copied first, since it is rewritten. */
        char why[sizeof(it->e.msg)];
        snprintf(why, sizeof(why), "%s", it->e.msg[0] ? it->e.msg : op->last.msg);
        int16_t bc = it->e.broker_code;
        kw_error_set(&it->e, KW_ERR_TIMED_OUT, "timed out after %d attempt%s%s%s", op->attempts,
                     op->attempts == 1 ? "" : "s", why[0] ? ": " : "", why);
        it->e.broker_code = bc;
        it->e.retriable = true;
        it->done = true;
    }
}

/* The deadline passed before any broker told the call what its items are (the brokers to
 * ask, the topics to describe): the call fails as a whole, since an empty result would read
 * as "none" where the truth is "could not ask". */
static void
unreached(kwi_aop *op)
{
    kw_error d;
    kw_error_init(&d);
    const char *why = op->last.msg[0] ? op->last.msg : "no answer";
    kw_error_set(&d, KW_ERR_TIMED_OUT, "%s: no broker answered within %d ms (%d attempt%s): %s",
                 op->k->name, op->o.timeout_ms, op->attempts, op->attempts == 1 ? "" : "s", why);
    d.broker_code = op->last.broker_code;
    d.retriable = true;
    op_end(op, KW_ERR_TIMED_OUT, &d);
}

static int64_t
backoff(kwi_aop *op)
{
    const kw_conf *f = kwi_client_conf(op->c);
    int64_t d = kwi_conf_int(f, KWI_CONF_RETRY_BACKOFF_MS);
    int64_t max = kwi_conf_int(f, KWI_CONF_RETRY_BACKOFF_MAX_MS);
    for (int i = 1; i < op->attempts && d < max; i++)
        d *= 2;
    return d > max ? max : d;
}

static void
attempt_end(kwi_aop *op)
{
    if (op->inflight > 0 || op->ended)
        return;
    if (!op->unplaced && pending(op) == 0 && !(op->k->next_phase && op->k->next_phase(op))) {
        op_end(op, KW_ERR_OK, NULL);
        return;
    }
    int64_t now = now_ms(op);
    if (now >= op->deadline_ms && op->unplaced) {
        unreached(op);
        return;
    }
    if (now >= op->deadline_ms) {
        expire(op);
        op_end(op, KW_ERR_OK, NULL);
        return;
    }
    int64_t d = op->now ? 0 : backoff(op);
    op->now = false;
    if (now + d > op->deadline_ms)
        d = op->deadline_ms - now;
    kwi_reactor_timer_start(op->t, d);
}

static void
on_timer(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    attempt(ud);
}

/* ---- an attempt: cluster metadata, topic metadata, dispatch ------------------------------ */

/* The broker for requests any broker may serve: a READY one, else the one that answered. */
static int32_t
any_broker(kwi_aop *op, const kw_metadata *view)
{
    kwi_broker *b = kwi_broker_least_loaded(op->c);
    if (b && b->id >= 0)
        return b->id;
    if (view && view->broker_id >= 0)
        return view->broker_id;
    return view && view->n_brokers > 0 ? view->brokers[0].id : -1;
}

/* A failure of the attempt's own Metadata is the attempt's (op->last): it has no items. */
static void
on_topic_md_error(kwi_aop *op, kwi_areq *rq, const kw_error *d)
{
    (void)rq;
    op->last = *d;
}

static void
on_topic_md(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp)
{
    (void)rq;
    const kw_metadata_resp *m = resp->body;
    if (m->error_code != 0) {
        kw_error_set(&op->last, KW_ERR_BROKER, "Metadata from broker %d failed: %s",
                     (int)resp->node_id, kw_broker_err_name(m->error_code));
        op->last.broker_code = m->error_code;
        return;
    }
    kw_metadata view;
    memset(&view, 0, sizeof(view));
    view.controller_id = m->controller_id;
    view.broker_id = resp->node_id;
    kwi_amd md = {&view, m, resp->ver};
    op->k->dispatch(op, &md);
}

static void
send_topic_md(kwi_aop *op, const kw_metadata *view)
{
    kwi_areq *rq = kwi_areq_new(op, on_topic_md, 0);
    kw_metadata_req *m = rq ? kwi_areq_alloc(rq, 1, sizeof(*m)) : NULL;
    if (rq)
        rq->on_error = on_topic_md_error;
    if (!m) {
        if (rq)
            kwi_areq_send(rq, -1, -1, NULL, 0, NULL); /* frees it */
        kw_error_set(&op->last, KW_ERR_NOMEM, "out of memory");
        return;
    }
    m->n_topics = -1;
    if (!op->md_all) {
        m->topics = kwi_areq_alloc(rq, (size_t)op->n_md_topics + 1, sizeof(*m->topics));
        for (int32_t i = 0; m->topics && i < op->n_md_topics; i++)
            m->topics[i].name = op->md_topics[i];
        m->n_topics = m->topics ? op->n_md_topics : 0;
    }
    /* Describing a topic must not create it (the Java AdminClient sends false too). */
    m->allow_auto_topic_creation = false;
    kw_error e;
    kw_error_init(&e);
    if (kwi_areq_send(rq, any_broker(op, view), KWI_API_METADATA, m, 0, &e) != KW_ERR_OK)
        op->last = e;
}

static void
on_cluster_md(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    kwi_aop *op = ud;
    op->inflight--;
    if (op->ended) {
        if (op->inflight == 0 && !op->queued)
            op_free(op);
        return;
    }
    if (err == KW_ERR_CANCELED) {
        op_end(op, KW_ERR_CANCELED, detail);
        return;
    }
    if (err != KW_ERR_OK) {
        op->last = *detail;
    } else if (op->topic_md) {
        send_topic_md(op, md);
    } else {
        kw_metadata view = *md;
        view.broker_id = any_broker(op, md);
        if (view.controller_id < 0)
            view.controller_id = view.broker_id; /* Metadata v0 names no controller */
        kwi_amd amd = {&view, NULL, -1};
        op->k->dispatch(op, &amd);
    }
    attempt_end(op);
}

static void
attempt(kwi_aop *op)
{
    if (op->ended)
        return;
    int64_t now = now_ms(op);
    if (op->attempts > 0 && now >= op->deadline_ms) {
        attempt_end(op);
        return;
    }
    op->attempts++;
    for (int32_t i = 0; i < op->n_items; i++)
        kwi_aop_hdr(op, i)->dest = -1;
    static const char *const none[1] = {NULL};
    kw_error e;
    kw_error_init(&e);
    op->inflight++;
    /* The brokers and the controller; no topics, so nothing is auto-created. */
    if (kw_client_metadata(op->c, none, 0, (int)(op->deadline_ms - now), on_cluster_md, op, &e) !=
        KW_ERR_OK) {
        op->inflight--;
        if (e.code == KW_ERR_STATE) {
            op_end(op, KW_ERR_CANCELED, &e);
            return;
        }
        op->last = e;
        attempt_end(op);
    }
}

/* ---- requests on behalf of a call -------------------------------------------------------- */

kwi_areq *
kwi_areq_new(kwi_aop *op, kwi_areq_fn fn, int32_t n_idx)
{
    kwi_areq *rq = kwi_client_alloc(op->c, sizeof(*rq));
    if (!rq)
        return NULL;
    memset(rq, 0, sizeof(*rq));
    rq->op = op;
    rq->fn = fn;
    rq->node = -1;
    kw_arena_init(&rq->ar, op->c->a, 0);
    if (n_idx > 0 && !(rq->idx = kw_arena_calloc(&rq->ar, (size_t)n_idx, sizeof(int32_t)))) {
        kw_arena_fini(&rq->ar);
        kwi_client_mem_free(op->c, rq, sizeof(*rq));
        return NULL;
    }
    return rq;
}

void *
kwi_areq_alloc(kwi_areq *rq, size_t n, size_t sz)
{
    return kw_arena_calloc(&rq->ar, n ? n : 1, sz);
}

static void
areq_free(kwi_areq *rq)
{
    kw_client *c = rq->op->c;
    kw_arena_fini(&rq->ar);
    kwi_client_mem_free(c, rq, sizeof(*rq));
}

static kwi_acap *
cap_find(kw_admin *ad, int32_t node, int16_t api)
{
    for (int i = 0; ad && i < ad->n_caps; i++)
        if (ad->caps[i].node == node && ad->caps[i].api == api)
            return &ad->caps[i];
    return NULL;
}

/* A response that does not parse at version v: the broker may encode that version wrongly
 * (librdkafka's mock 2.0.2 does for ListOffsets v4+). Its items are retried one version
 * lower, down to the lowest kwire sends; returns false when there is no lower version. */
static bool
step_down(kwi_aop *op, int32_t node, int16_t api, int16_t v, kw_error *d)
{
    int16_t lo, hi;
    kw_admin *ad = op->ad;
    if (!ad || v < 0 || !kwi_apiver_client_range(api, &lo, &hi) || v - 1 < lo)
        return false;
    kwi_acap *cap = cap_find(ad, node, api);
    if (!cap) {
        cap = &ad->caps[ad->next_cap];
        ad->next_cap = (ad->next_cap + 1) % KWI_ACAPS;
        if (ad->n_caps < KWI_ACAPS)
            ad->n_caps++;
    }
    *cap = (kwi_acap){node, api, (int16_t)(v - 1)};
    char was[sizeof(d->msg)];
    memcpy(was, d->msg, sizeof(was)); /* d->msg is rewritten from it */
    kw_error_set(d, KW_ERR_AGAIN, "%.200s; retrying at v%d", was, v - 1);
    const kwi_log *log = kwi_client_log(op->c);
    if (kwi_log_on(log, KWI_LOG_WARN))
        kwi_log_write(log, KWI_LOG_WARN, "admin", "%s", d->msg);
    return true;
}

static void
on_areq(kw_err err, const kw_error *detail, const kwi_resp *resp, void *ud)
{
    kwi_areq *rq = ud;
    kwi_aop *op = rq->op;
    bool canceled = err == KW_ERR_CANCELED || op->c->closing;
    kw_error d = *detail;
    if ((err == KW_ERR_MALFORMED || err == KW_ERR_TRUNCATED) && !op->ended &&
        step_down(op, rq->node, resp->api_key, resp->ver, &d))
        err = KW_ERR_AGAIN; /* retriable: the next attempt asks at the lower version */
    d.code = err;
    if (!op->ended && !canceled) {
        if (err == KW_ERR_OK)
            rq->fn(op, rq, resp);
        else if (rq->on_error)
            rq->on_error(op, rq, &d);
        else
            kwi_areq_fail_rest(op, rq, err, d.msg);
    }
    areq_free(rq);
    op->inflight--;
    if (op->ended) {
        if (op->inflight == 0 && !op->queued)
            op_free(op);
        return;
    }
    if (canceled) {
        op_end(op, KW_ERR_CANCELED, detail);
        return;
    }
    attempt_end(op);
}

kw_err
kwi_areq_send(kwi_areq *rq, int32_t node, int16_t api_key, const void *msg, int16_t min_ver,
              kw_error *err)
{
    kwi_aop *op = rq->op;
    if (!msg) {
        areq_free(rq);
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    kwi_req_opts o;
    kwi_req_opts_init(&o);
    o.min_ver = min_ver;
    /* OffsetFetch v10 (unstable in Kafka 4.1) names topics by id only; the admin reports
     * names, so it stays at v9. */
    if (api_key == KWI_API_OFFSET_FETCH)
        o.max_ver = 9;
    const kwi_acap *cap = cap_find(op->ad, node, api_key);
    if (cap && (o.max_ver < 0 || cap->max < o.max_ver))
        o.max_ver = cap->max;
    /* A request never outlives the call: its timeout is what is left of the call's. */
    int64_t left = op->deadline_ms - now_ms(op);
    int64_t rt = kwi_conf_int(kwi_client_conf(op->c), KWI_CONF_REQUEST_TIMEOUT_MS);
    o.timeout_ms = left < 1 ? 1 : (left < rt ? left : rt);
    rq->node = node;
    kw_err e = kwi_client_send(op->c, node, api_key, msg, &o, on_areq, rq, err);
    if (e != KW_ERR_OK) {
        areq_free(rq);
        return e;
    }
    op->inflight++;
    return KW_ERR_OK;
}

/* ---- creating and submitting calls ------------------------------------------------------- */

kwi_aop *
kwi_aop_new(kw_admin *ad, const kwi_akind *k, size_t n, size_t item_sz, const kw_admin_opts *o,
            kw_admin_cb cb, void *ud)
{
    kw_client *c = ad->c;
    kwi_aop *op = kwi_client_alloc(c, sizeof(*op));
    if (!op)
        return NULL;
    memset(op, 0, sizeof(*op));
    op->c = c;
    op->ad = ad;
    op->k = k;
    op->topic_md = k->topic_md;
    op->cb = cb;
    op->ud = ud;
    kw_arena_init(&op->ar, c->a, 0);
    if (o)
        op->o = *o;
    else
        kw_admin_opts_init(&op->o);
    if (op->o.timeout_ms <= 0)
        op->o.timeout_ms = (int)kwi_conf_int(kwi_client_conf(c), KWI_CONF_REQUEST_TIMEOUT_MS);
    op->item_sz = item_sz;
    op->n_items = (int32_t)n;
    op->items = kw_arena_calloc(&op->ar, n ? n : 1, item_sz);
    if (!op->items || kwi_reactor_timer_new(kwi_client_reactor(c), on_timer, op, &op->t)) {
        kwi_aop_discard(op);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        kwi_aop_hdr(op, (int32_t)i)->dest = -1;
    return op;
}

void
kwi_aop_discard(kwi_aop *op)
{
    if (op)
        op_free(op);
}

bool
kwi_aop_rephase(kwi_aop *op, void *items, int32_t n, size_t item_sz)
{
    op->items = items;
    op->n_items = n;
    op->item_sz = item_sz;
    op->now = true;
    return true;
}

static void
sub_run(kw_client *c, kwi_submit *s)
{
    (void)c;
    kwi_aop *op = (kwi_aop *)s;
    op->queued = false;
    if (op->ended) {
        if (op->inflight == 0)
            op_free(op);
        return;
    }
    op->deadline_ms = now_ms(op) + op->o.timeout_ms;
    attempt(op);
}

static void
sub_cancel(kw_client *c, kwi_submit *s)
{
    (void)c;
    kwi_aop *op = (kwi_aop *)s;
    op->queued = false;
    if (!op->ended) {
        kw_error d;
        kw_error_init(&d);
        kw_error_set(&d, KW_ERR_CANCELED, "the client was freed");
        op_end(op, KW_ERR_CANCELED, &d);
        return;
    }
    if (op->inflight == 0)
        op_free(op);
}

kw_err
kwi_aop_submit(kwi_aop *op)
{
    kw_admin *ad = op->ad;
    op->next = ad->ops;
    if (ad->ops)
        ad->ops->prev = op;
    ad->ops = op;
    ad->outstanding++;
    op->queued = true;
    op->sub.run = sub_run;
    op->sub.cancel = sub_cancel;
    kwi_client_submit(op->c, &op->sub);
    return KW_ERR_OK;
}

/* ---- the handle -------------------------------------------------------------------------- */

void
kw_admin_opts_init(kw_admin_opts *o)
{
    memset(o, 0, sizeof(*o));
}

kw_err
kw_admin_new(kw_client *c, kw_admin **out, kw_error *err)
{
    if (out)
        *out = NULL;
    if (!c || !out)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "client and out are required");
    kw_admin *ad = kwi_client_alloc(c, sizeof(*ad));
    if (!ad)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    memset(ad, 0, sizeof(*ad));
    ad->c = c;
    if (pthread_cond_init(&ad->cond, NULL) != 0) {
        kwi_client_mem_free(c, ad, sizeof(*ad));
        return kw_error_set(err, KW_ERR_NOMEM, "cannot create a condition variable");
    }
    *out = ad;
    return KW_ERR_OK;
}

void
kw_admin_free(kw_admin *ad)
{
    if (!ad)
        return;
    kw_client *c = ad->c;
    pthread_mutex_lock(&c->lock);
    ad->closing = true;
    kw_error d;
    kw_error_init(&d);
    kw_error_set(&d, KW_ERR_CANCELED, "the admin handle was freed");
    /* Each call reports now; its requests still in flight (or its submit entry) free it
     * when they end, at the latest inside kw_client_free. */
    while (ad->ops)
        op_end(ad->ops, KW_ERR_CANCELED, &d);
    pthread_cond_destroy(&ad->cond);
    kwi_client_mem_free(c, ad, sizeof(*ad));
    pthread_mutex_unlock(&c->lock);
}

size_t
kw_admin_outstanding(kw_admin *ad)
{
    if (!ad)
        return 0;
    pthread_mutex_lock(&ad->c->lock);
    size_t n = ad->outstanding;
    pthread_mutex_unlock(&ad->c->lock);
    return n;
}

kw_client *
kw_admin_client(kw_admin *ad)
{
    return ad ? ad->c : NULL;
}

/* kw_admin_wait's deadline is the caller's, on CLOCK_MONOTONIC, not the reactor's clock. */
static int64_t
mono_ms(void)
{
    return kwi_clock_now_ms(NULL);
}

/* With the kwire thread: sleep on the condition (with the loop lock) until it is done. */
static size_t
wait_thread(kw_admin *ad, int timeout_ms, int64_t deadline)
{
    kw_client *c = ad->c;
    ad->waiting++;
    while (ad->outstanding > 0) {
        int64_t rem = deadline - mono_ms();
        if (timeout_ms >= 0 && rem <= 0)
            break;
        int64_t slice = timeout_ms < 0 || rem > 100 ? 100 : rem;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t ns = now.tv_nsec + slice * 1000000;
        struct timespec abst = {now.tv_sec + ns / 1000000000, ns % 1000000000};
        int rc = pthread_cond_timedwait(&ad->cond, &c->lock, &abst);
        if (rc != 0 && rc != ETIMEDOUT)
            break;
    }
    ad->waiting--;
    return ad->outstanding;
}

kw_err
kw_admin_wait(kw_admin *ad, int timeout_ms, kw_error *err)
{
    if (!ad)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no admin handle");
    kw_client *c = ad->c;
    int64_t deadline = mono_ms() + timeout_ms;
    pthread_mutex_lock(&c->lock);
    if (ad->outstanding == 0) {
        pthread_mutex_unlock(&c->lock);
        return KW_ERR_OK;
    }
    if (c->in_step) {
        pthread_mutex_unlock(&c->lock);
        return kw_error_set(err, KW_ERR_STATE, "kw_admin_wait from a callback would deadlock");
    }
    if (c->thread_on) {
        size_t n = wait_thread(ad, timeout_ms, deadline);
        pthread_mutex_unlock(&c->lock);
        return n == 0 ? KW_ERR_OK
                      : kw_error_set(err, KW_ERR_TIMED_OUT, "%zu admin calls outstanding", n);
    }
    pthread_mutex_unlock(&c->lock);
    /* No kwire thread: this thread runs the loop until every call has ended. */
    for (;;) {
        size_t n = kw_admin_outstanding(ad);
        if (n == 0)
            return KW_ERR_OK;
        int64_t rem = deadline - mono_ms();
        if (timeout_ms >= 0 && rem <= 0)
            return kw_error_set(err, KW_ERR_TIMED_OUT, "%zu admin calls outstanding", n);
        kw_err e = kw_client_step(c, timeout_ms < 0 || rem > 100 ? 100 : (int)rem, err);
        if (e != KW_ERR_OK)
            return e;
    }
}
