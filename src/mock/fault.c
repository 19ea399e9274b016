/* Fault injection: per-broker state armed through the C API (or the control channel,
 * control.c) and consulted by two hooks of the connection layer.
 *
 *   kwi_mock_fault_request, before a request's handler: a silent broker leaves the request
 *   unanswered; an armed drop closes the connection; a queued error code answers the request
 *   with that error (fault_errors.c builds the response Kafka would send) without running the
 *   handler, so nothing is produced, committed or joined.
 *   kwi_mock_fault_response, on every encoded response: latency (not_before), partial writes
 *   (chunk, chunk_delay_ms) and the armed hostile rewrite (fault_hostile.c).
 *
 * Slot 0 of the per-broker array holds the cluster-wide error queue (node id 0), consulted
 * after a broker's own. The C API takes the cluster's lock and wakes the cluster's thread, like
 * data.c, since a change can arm timers or close connections. */
#include <string.h>
#include <unistd.h>

#include "mock_fault.h"

static void
lock(kw_mock *m)
{
    pthread_mutex_lock(&m->lock);
}

static void
unlock(kw_mock *m)
{
    bool wake = m->thread_running;
    pthread_mutex_unlock(&m->lock);
    if (wake)
        kwi_reactor_wakeup(m->r);
}

kw_err
kwi_mock_fault_init(kw_mock *m)
{
    kwi_mock_faults *f = m->a->alloc(m->a->ud, sizeof(*f));
    if (!f)
        return KW_ERR_NOMEM;
    memset(f, 0, sizeof(*f));
    f->n = m->conf.brokers + 1;
    f->b = m->a->alloc(m->a->ud, (size_t)f->n * sizeof(*f->b));
    if (!f->b) {
        m->a->free(m->a->ud, f, sizeof(*f));
        return KW_ERR_NOMEM;
    }
    memset(f->b, 0, (size_t)f->n * sizeof(*f->b));
    m->mod[KWI_MOCK_MOD_FAULT] = f;
    return KW_ERR_OK;
}

static void
errs_free(kw_mock *m, kwi_mock_fbroker *fb)
{
    for (int32_t i = 0; i < fb->n_errs; i++)
        m->a->free(m->a->ud, fb->errs[i].codes, (size_t)fb->errs[i].cap * sizeof(int16_t));
    if (fb->errs)
        m->a->free(m->a->ud, fb->errs, (size_t)fb->cap_errs * sizeof(*fb->errs));
    fb->errs = NULL;
    fb->n_errs = fb->cap_errs = 0;
}

void
kwi_mock_fault_fini(kw_mock *m)
{
    kwi_mock_faults *f = m->mod[KWI_MOCK_MOD_FAULT];
    if (!f)
        return;
    for (int32_t i = 0; i < f->n; i++)
        errs_free(m, &f->b[i]);
    m->a->free(m->a->ud, f->b, (size_t)f->n * sizeof(*f->b));
    m->a->free(m->a->ud, f, sizeof(*f));
    m->mod[KWI_MOCK_MOD_FAULT] = NULL;
}

static kwi_mock_fbroker *
fbroker(kw_mock *m, int32_t node_id)
{
    kwi_mock_faults *f = m->mod[KWI_MOCK_MOD_FAULT];
    return f && node_id >= 0 && node_id < f->n ? &f->b[node_id] : NULL;
}

static bool
node_ok(const kw_mock *m, int32_t node_id, bool zero_ok)
{
    return (zero_ok && node_id == 0) || (node_id >= 1 && node_id <= m->n_brokers);
}

/* ---------------------------------------------------------------- error sequences */

static kwi_mock_errq *
errq_get(kw_mock *m, kwi_mock_fbroker *fb, int16_t api, bool create)
{
    for (int32_t i = 0; i < fb->n_errs; i++)
        if (fb->errs[i].api == api)
            return &fb->errs[i];
    if (!create)
        return NULL;
    if (fb->n_errs == fb->cap_errs) {
        int32_t cap = fb->cap_errs ? fb->cap_errs * 2 : 4;
        kwi_mock_errq *nv =
            fb->errs ? m->a->realloc(m->a->ud, fb->errs, (size_t)fb->cap_errs * sizeof(*nv),
                                     (size_t)cap * sizeof(*nv))
                     : m->a->alloc(m->a->ud, (size_t)cap * sizeof(*nv));
        if (!nv)
            return NULL;
        fb->errs = nv;
        fb->cap_errs = cap;
    }
    kwi_mock_errq *q = &fb->errs[fb->n_errs++];
    memset(q, 0, sizeof(*q));
    q->api = api;
    return q;
}

kw_err
kw_mock_fault_errors(kw_mock *m, int32_t node_id, int16_t api_key, const int16_t *codes, int32_t n)
{
    if (!node_ok(m, node_id, true))
        return KW_ERR_NOT_FOUND;
    if (n < 1 || !codes || !kwi_mock_fault_error_supported(api_key))
        return KW_ERR_INVALID_ARG;
    lock(m);
    kwi_mock_fbroker *fb = fbroker(m, node_id);
    kwi_mock_errq *q = errq_get(m, fb, api_key, true);
    kw_err e = q ? KW_ERR_OK : KW_ERR_NOMEM;
    if (q) {
        /* Compact away what was consumed, then append. */
        int32_t left = q->n - q->head;
        if (q->head)
            memmove(q->codes, q->codes + q->head, (size_t)left * sizeof(int16_t));
        q->n = left;
        q->head = 0;
        if (left + n > KWI_MOCK_FAULT_MAX_CODES)
            e = KW_ERR_INVALID_ARG;
        else if (left + n > q->cap) {
            int32_t cap = left + n;
            int16_t *nc = q->codes
                              ? m->a->realloc(m->a->ud, q->codes, (size_t)q->cap * sizeof(int16_t),
                                              (size_t)cap * sizeof(int16_t))
                              : m->a->alloc(m->a->ud, (size_t)cap * sizeof(int16_t));
            if (!nc)
                e = KW_ERR_NOMEM;
            else {
                q->codes = nc;
                q->cap = cap;
            }
        }
        if (!e) {
            memcpy(q->codes + q->n, codes, (size_t)n * sizeof(int16_t));
            q->n += n;
        }
    }
    unlock(m);
    return e;
}

/* The next queued code for the request's API on its broker, then cluster-wide; -32768 none. */
static int32_t
next_code(kw_mock *m, kwi_mock_broker *b, int16_t api)
{
    int32_t nodes[2] = {b->node_id, 0};
    for (int i = 0; i < 2; i++) {
        kwi_mock_errq *q = errq_get(m, fbroker(m, nodes[i]), api, false);
        if (q && q->head < q->n)
            return q->codes[q->head++];
    }
    return KWI_MOCK_NO_CODE;
}

/* ---------------------------------------------------------------- other faults */

kw_err
kw_mock_fault_drop(kw_mock *m, int32_t node_id, int16_t api_key, int32_t skip)
{
    if (!node_ok(m, node_id, false))
        return KW_ERR_NOT_FOUND;
    if (skip < 0 || api_key < -1 || api_key >= KWI_MOCK_API_MAX)
        return KW_ERR_INVALID_ARG;
    lock(m);
    kwi_mock_fbroker *fb = fbroker(m, node_id);
    fb->drop_armed = true;
    fb->drop_api = api_key;
    fb->drop_skip = skip;
    unlock(m);
    return KW_ERR_OK;
}

kw_err
kw_mock_broker_rtt(kw_mock *m, int32_t node_id, int32_t ms)
{
    if (!node_ok(m, node_id, true))
        return KW_ERR_NOT_FOUND;
    if (ms < 0)
        return KW_ERR_INVALID_ARG;
    lock(m);
    for (int32_t i = 1; i <= m->n_brokers; i++)
        if (node_id == 0 || node_id == i)
            fbroker(m, i)->rtt_ms = ms;
    unlock(m);
    return KW_ERR_OK;
}

kw_err
kw_mock_broker_chunked(kw_mock *m, int32_t node_id, int32_t chunk, int32_t delay_ms)
{
    if (!node_ok(m, node_id, true))
        return KW_ERR_NOT_FOUND;
    if (chunk < 0 || delay_ms < 0)
        return KW_ERR_INVALID_ARG;
    lock(m);
    for (int32_t i = 1; i <= m->n_brokers; i++)
        if (node_id == 0 || node_id == i) {
            fbroker(m, i)->chunk = chunk;
            fbroker(m, i)->chunk_delay_ms = delay_ms;
        }
    unlock(m);
    return KW_ERR_OK;
}

kw_err
kw_mock_broker_down(kw_mock *m, int32_t node_id)
{
    if (!node_ok(m, node_id, false))
        return KW_ERR_NOT_FOUND;
    lock(m);
    kwi_mock_broker *b = kwi_mock_broker_by_id(m, node_id);
    kwi_mock_fbroker *fb = fbroker(m, node_id);
    if (!fb->down) {
        fb->down = true;
        kwi_reactor_io_free(b->lio);
        b->lio = NULL;
        if (b->lfd >= 0)
            close(b->lfd);
        b->lfd = -1;
        kwi_mock_conns_drop(m, b);
        kwi_mock_logf(m, KW_MOCK_LOG_INFO, "broker %d: down", (int)node_id);
    }
    unlock(m);
    return KW_ERR_OK;
}

kw_err
kw_mock_broker_up(kw_mock *m, int32_t node_id, kw_error *err)
{
    if (!node_ok(m, node_id, false))
        return kw_error_set(err, KW_ERR_NOT_FOUND, "no broker %d", (int)node_id);
    lock(m);
    kwi_mock_broker *b = kwi_mock_broker_by_id(m, node_id);
    kwi_mock_fbroker *fb = fbroker(m, node_id);
    kw_err e = KW_ERR_OK;
    if (fb->down) {
        e = kwi_mock_broker_listen(b, b->port, err);
        if (!e) {
            fb->down = false;
            kwi_mock_logf(m, KW_MOCK_LOG_INFO, "broker %d: up on port %d", (int)node_id, b->port);
        }
    }
    unlock(m);
    return e;
}

kw_err
kw_mock_fault_hostile(kw_mock *m, int32_t node_id, kw_mock_hostile kind, int16_t api_key,
                      int64_t arg)
{
    if (!node_ok(m, node_id, false))
        return KW_ERR_NOT_FOUND;
    if (kind < KW_MOCK_HOSTILE_LENGTH || kind > KW_MOCK_HOSTILE_STRING || api_key < -1 ||
        api_key >= KWI_MOCK_API_MAX || !kwi_mock_hostile_arg_ok(kind, arg))
        return KW_ERR_INVALID_ARG;
    lock(m);
    kwi_mock_fbroker *fb = fbroker(m, node_id);
    kw_err e = KW_ERR_OK;
    if (kind == KW_MOCK_HOSTILE_SILENT) {
        fb->silent = true;
    } else if (fb->n_hostile == KWI_MOCK_FAULT_MAX_HOSTILE) {
        e = KW_ERR_INVALID_ARG;
    } else {
        if (kind == KW_MOCK_HOSTILE_CRC || kind == KW_MOCK_HOSTILE_BOMB)
            api_key = 1; /* they rewrite record batches: Fetch */
        if (kind == KW_MOCK_HOSTILE_STRING)
            api_key = 3; /* a Metadata broker's host */
        fb->hostile[fb->n_hostile++] = (kwi_mock_hostile_arm){(int)kind, api_key, arg};
    }
    unlock(m);
    return e;
}

kw_err
kw_mock_fault_clear(kw_mock *m, int32_t node_id)
{
    if (!node_ok(m, node_id, true))
        return KW_ERR_NOT_FOUND;
    lock(m);
    for (int32_t i = 0; i <= m->n_brokers; i++) {
        if (node_id != 0 && i != node_id)
            continue;
        kwi_mock_fbroker *fb = fbroker(m, i);
        bool down = fb->down;
        errs_free(m, fb);
        memset(fb, 0, sizeof(*fb));
        fb->down = down;
    }
    unlock(m);
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- the hooks */

bool
kwi_mock_fault_request(kwi_mock_req *req, kw_err *e)
{
    kw_mock *m = req->m;
    kwi_mock_fbroker *fb = fbroker(m, req->broker->node_id);
    int16_t key = req->api->req_def->api_key;
    *e = KW_ERR_OK;
    if (!fb)
        return false;
    if (fb->silent) {
        kwi_mock_logf(m, KW_MOCK_LOG_DEBUG, "broker %d: silent: %s correlation %d unanswered",
                      (int)req->broker->node_id, req->api->req_def->name,
                      (int)req->hdr.correlation_id);
        kwi_mock_defer(req, NULL, NULL); /* freed with its connection */
        return true;
    }
    if (fb->drop_armed && (fb->drop_api < 0 || fb->drop_api == key)) {
        if (fb->drop_skip > 0) {
            fb->drop_skip--;
        } else {
            fb->drop_armed = false;
            kwi_mock_logf(m, KW_MOCK_LOG_INFO, "broker %d: dropping the connection of %s",
                          (int)req->broker->node_id, req->api->req_def->name);
            *e = KW_ERR_IO;
            return true;
        }
    }
    int32_t code = next_code(m, req->broker, key);
    if (code == KWI_MOCK_NO_CODE || code == 0)
        return false;
    kwi_mock_logf(m, KW_MOCK_LOG_INFO, "broker %d: injecting %s into %s correlation %d",
                  (int)req->broker->node_id, kw_broker_err_name((int16_t)code),
                  req->api->req_def->name, (int)req->hdr.correlation_id);
    *e = kwi_mock_fault_error_reply(req, (int16_t)code);
    return true;
}

kw_err
kwi_mock_fault_response(kwi_mock_req *req)
{
    kw_mock *m = req->m;
    kwi_mock_fbroker *fb = fbroker(m, req->broker->node_id);
    if (!fb)
        return KW_ERR_OK;
    if (fb->rtt_ms)
        req->not_before = kwi_mock_now_ms(m) + fb->rtt_ms;
    if (fb->chunk) {
        req->chunk = (uint32_t)fb->chunk;
        req->chunk_delay_ms = fb->chunk_delay_ms;
    }
    int16_t key = req->api->req_def->api_key;
    for (int32_t i = 0; i < fb->n_hostile; i++) {
        kwi_mock_hostile_arm *h = &fb->hostile[i];
        if (h->api >= 0 && h->api != key)
            continue;
        bool applied = false;
        kw_err e = kwi_mock_hostile_apply(req, h->kind, h->arg, &applied);
        if (e)
            return e;
        if (!applied)
            continue; /* this response cannot carry it (no records, no array): keep it armed */
        kwi_mock_logf(m, KW_MOCK_LOG_INFO, "broker %d: hostile %s in the %s response",
                      (int)req->broker->node_id, kwi_mock_hostile_name(h->kind),
                      req->api->resp_def->name);
        memmove(h, h + 1, (size_t)(fb->n_hostile - i - 1) * sizeof(*h));
        fb->n_hostile--;
        break; /* one rewrite per response */
    }
    return KW_ERR_OK;
}
