/* A broker connection's life cycle: states, timers, reconnect backoff and the bookkeeping of
 * requests. The bytes (socket, framing, encoding, matching) are in conn_io.c. See conn.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "net/conn_int.h"

#define FREE_REQS_MAX 64

static void *
mem_alloc(const kwi_conn *c, size_t n)
{
    return c->a->alloc(c->a->ud, n);
}

static void
mem_free(const kwi_conn *c, void *p, size_t n)
{
    if (p)
        c->a->free(c->a->ud, p, n);
}

void
kwi_req_opts_init(kwi_req_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_ver = -1;
}

const char *
kwi_conn_state_name(kwi_conn_state s)
{
    switch (s) {
    case KWI_CONN_DOWN:
        return "DOWN";
    case KWI_CONN_BACKOFF:
        return "BACKOFF";
    case KWI_CONN_RESOLVING:
        return "RESOLVING";
    case KWI_CONN_CONNECTING:
        return "CONNECTING";
    case KWI_CONN_TLS:
        return "TLS";
    case KWI_CONN_APIVERSIONS:
        return "APIVERSIONS";
    case KWI_CONN_SASL:
        return "SASL";
    case KWI_CONN_READY:
        return "READY";
    }
    return "UNKNOWN";
}

int64_t
kwi_conn_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
now_ms(const kwi_conn *c)
{
    return kwi_reactor_now_ms(c->r);
}

/* ---- request lists ------------------------------------------------------------------------ */

void
kwi_conn_list_push(req_list *l, kwi_req *q)
{
    q->list = l;
    q->next = NULL;
    q->prev = l->tail;
    if (l->tail)
        l->tail->next = q;
    else
        l->head = q;
    l->tail = q;
    l->n++;
}

void
kwi_conn_list_unlink(req_list *l, kwi_req *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        l->head = q->next;
    if (q->next)
        q->next->prev = q->prev;
    else
        l->tail = q->prev;
    q->prev = q->next = NULL;
    q->list = NULL;
    l->n--;
}

static void
req_detach(kwi_conn *c, kwi_req *q)
{
    if (q->list)
        kwi_conn_list_unlink(q->list, q);
    kwi_heap_remove(&c->deadlines, &q->node);
}

static kwi_req *
req_alloc(kwi_conn *c)
{
    kwi_req *q = c->free_reqs;
    if (q) {
        c->free_reqs = q->next;
        c->n_free_reqs--;
    } else {
        q = mem_alloc(c, sizeof(*q));
        if (!q)
            return NULL;
    }
    memset(q, 0, sizeof(*q));
    kwi_heap_node_init(&q->node);
    q->ver = -1;
    q->max_ver = -1;
    return q;
}

void
kwi_conn_req_release(kwi_conn *c, kwi_req *q)
{
    req_detach(c, q);
    if (c->n_free_reqs < FREE_REQS_MAX && !c->doomed) {
        q->next = c->free_reqs;
        c->free_reqs = q;
        c->n_free_reqs++;
    } else {
        mem_free(c, q, sizeof(*q));
    }
}

void
kwi_conn_complete(kwi_conn *c, kwi_req *q, kw_err e, const kw_error *detail, const kwi_resp *resp)
{
    kwi_resp r;
    if (resp) {
        r = *resp;
    } else {
        memset(&r, 0, sizeof(r));
        r.api_key = q->api_key;
        r.ver = q->ver;
        r.node_id = c->o.node_id;
    }
    /* Copy what the callback needs, then release the request first: the callback may send
     * new requests, which can reuse it. */
    kw_error d;
    if (detail) {
        d = *detail;
    } else {
        kw_error_init(&d);
        if (e != KW_ERR_OK)
            kw_error_set(&d, e, "%s", kw_err_str(e));
    }
    d.code = e;
    if (e != KW_ERR_OK && e != KW_ERR_CANCELED) {
        c->st.errors++;
        if (e == KW_ERR_TIMED_OUT)
            c->st.timeouts++;
    }
    kwi_resp_cb cb = q->cb;
    void *ud = q->ud;
    bool internal = q->internal;
    kwi_conn_req_release(c, q);
    if (!internal && cb)
        cb(e, &d, &r, ud);
}

/* Moves a request to the done list with its outcome; kwi_conn_deliver runs the callback. */
static void
req_finish_later(kwi_conn *c, kwi_req *q, kw_err e, const char *msg)
{
    req_detach(c, q);
    q->done_err = e;
    kw_error_init(&q->detail);
    kw_error_set(&q->detail, e, "%s", msg);
    kwi_conn_list_push(&c->done, q);
}

static void
deliver_done(kwi_conn *c)
{
    kwi_req *q;
    while ((q = c->done.head)) {
        kw_error d = q->detail;
        kwi_conn_complete(c, q, q->done_err, &d, NULL);
    }
}

static void
kick(kwi_conn *c)
{
    if (!c->doomed && !kwi_reactor_timer_armed(c->t_kick))
        kwi_reactor_timer_start(c->t_kick, 0);
}

/* Outcomes are delivered at once inside this connection's own entry points (we are inside a
 * step); otherwise on the zero-delay timer, so nothing fires inside a caller's call. */
static void
deliver_or_defer(kwi_conn *c)
{
    if (c->depth > 0)
        deliver_done(c);
    else if (c->done.head)
        kick(c);
}

void
kwi_conn_enter(kwi_conn *c)
{
    c->depth++;
}

static void conn_destroy(kwi_conn *c);

void
kwi_conn_leave(kwi_conn *c)
{
    if (--c->depth == 0 && c->doomed)
        conn_destroy(c);
}

void
kwi_conn_touch(kwi_conn *c)
{
    c->last_active_ms = now_ms(c);
}

void
kwi_conn_rearm_deadline(kwi_conn *c)
{
    const kwi_heap_node *n = kwi_heap_peek(&c->deadlines);
    if (n)
        kwi_reactor_timer_start_at(c->t_req, n->deadline_ms);
    else
        kwi_reactor_timer_stop(c->t_req);
}

/* ---- states ------------------------------------------------------------------------------- */

void
kwi_conn_set_state(kwi_conn *c, kwi_conn_state to, const kw_error *why)
{
    kwi_conn_state from = c->state;
    if (from == to)
        return;
    c->state = to;
    if (kwi_log_on(c->log, KWI_LOG_DEBUG))
        kwi_log_write(c->log, KWI_LOG_DEBUG, "conn", "broker %d (%s:%u): %s -> %s%s%s",
                      (int)c->o.node_id, c->host, (unsigned)c->o.port, kwi_conn_state_name(from),
                      kwi_conn_state_name(to), why ? ": " : "", why ? why->msg : "");
    if (c->o.on_state)
        c->o.on_state(c, from, to, why, c->o.ud);
}

/* xorshift64*: jitter only, no need for quality beyond "not in lockstep". */
static uint64_t
rng_next(kwi_conn *c)
{
    uint64_t x = c->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    c->rng = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Java's exponential reconnect backoff: backoff * 2^(failures-1), capped at the maximum, then
 * +-20% jitter so clients that lost a broker together do not return in lockstep. */
static int64_t
backoff_delay(kwi_conn *c)
{
    int64_t base = c->o.backoff_ms, max = c->o.backoff_max_ms;
    if (max < base)
        max = base;
    int shift = c->failures > 1 ? c->failures - 1 : 0;
    int64_t d = base;
    while (shift-- > 0 && d < max)
        d *= 2;
    if (d > max)
        d = max;
    int64_t span = d / 5;
    if (span > 0)
        d += (int64_t)(rng_next(c) % (uint64_t)(2 * span + 1)) - span;
    /* As Java's ExponentialBackoff: the cap applies after the jitter. */
    if (d > max)
        d = max;
    return d < 0 ? 0 : d;
}

/* Closes the socket; requests on the wire move to the done list with `code`. */
static void
drop_socket(kwi_conn *c, kw_err code, const char *msg)
{
    if (c->state == KWI_CONN_READY)
        c->st.disconnects++;
    kwi_conn_io_close(c);
    kwi_conn_setup_reset(c);
    kwi_apiver_reset(&c->av);
    kwi_reactor_timer_stop(c->t_reauth);
    c->reauth = false;
    kwi_req *q;
    while ((q = c->wire.head)) {
        if (q->internal)
            kwi_conn_req_release(c, q);
        else
            req_finish_later(c, q, code, msg);
    }
    while ((q = c->noack.head))
        req_finish_later(c, q, code, msg);
}

static void
enter_backoff(kwi_conn *c, const kw_error *why, int64_t delay)
{
    kwi_reactor_timer_start(c->t_state, delay);
    kwi_conn_set_state(c, KWI_CONN_BACKOFF, why);
}

void
kwi_conn_fail(kwi_conn *c, const kw_error *why)
{
    if (kwi_log_on(c->log, KWI_LOG_WARN))
        kwi_log_write(c->log, KWI_LOG_WARN, "conn", "broker %d (%s:%u): %s", (int)c->o.node_id,
                      c->host, (unsigned)c->o.port, why->msg);
    bool was_ready = c->state == KWI_CONN_READY;
    c->st.errors++;
    c->failures++;
    /* The next attempt tries the next resolved address (IPv4 then IPv6 for localhost ...);
     * after the last one the name is resolved again, in case the broker moved. */
    if (!was_ready && c->n_addrs > 0 && ++c->addr_next >= c->n_addrs) {
        c->n_addrs = 0;
        c->addr_next = 0;
        if (c->o.dns)
            kwi_dns_cache_forget(c->o.dns, c->host);
    }
    char msg[sizeof(why->msg) + 64];
    snprintf(msg, sizeof(msg), "connection to broker %d lost: %s", (int)c->o.node_id, why->msg);
    drop_socket(c, KW_ERR_IO, msg);
    int64_t delay = backoff_delay(c);
    if (why->fatal) {
        /* Wrong credentials or an untrusted certificate do not fix themselves: tell whoever
         * waits (their requests fail with the reason) and retry only at the slowest pace. */
        delay = c->o.backoff_max_ms > delay ? c->o.backoff_max_ms : delay;
        kwi_req *q;
        while ((q = c->queue.head))
            req_finish_later(c, q, why->code, why->msg);
        kwi_conn_rearm_deadline(c);
    }
    enter_backoff(c, why, delay);
    deliver_or_defer(c);
}

void
kwi_conn_became_ready(kwi_conn *c)
{
    c->failures = 0;
    c->want = false;
    c->st.connects++;
    kwi_conn_touch(c);
    if (c->o.idle_ms > 0)
        kwi_reactor_timer_start(c->t_state, c->o.idle_ms);
    else
        kwi_reactor_timer_stop(c->t_state);
    if (kwi_log_on(c->log, KWI_LOG_INFO))
        kwi_log_write(c->log, KWI_LOG_INFO, "conn", "broker %d (%s): connected, ApiVersions v%d",
                      (int)c->o.node_id, c->peer, (int)c->av_ver);
    kwi_conn_set_state(c, KWI_CONN_READY, NULL);
    if (!c->doomed)
        kwi_conn_io_pump(c);
}

static bool
needed(const kwi_conn *c)
{
    return c->queue.n > 0 || c->want;
}

/* ---- timers ------------------------------------------------------------------------------- */

static void
on_kick(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_conn *c = ud;
    kwi_conn_enter(c);
    deliver_done(c);
    if (!c->doomed && c->read_more && c->fd >= 0)
        kwi_conn_io_read(c); /* TLS had decrypted bytes left when the read budget ran out */
    if (!c->doomed && c->state == KWI_CONN_DOWN && needed(c))
        kwi_conn_setup_start(c);
    if (!c->doomed && c->state == KWI_CONN_READY)
        kwi_conn_io_pump(c);
    kwi_conn_leave(c);
}

static void
setup_timed_out(kwi_conn *c)
{
    kw_error err;
    kw_error_init(&err);
    kw_error_set(&err, KW_ERR_TIMED_OUT,
                 "connection setup to %s timed out after %lld ms (socket.connection.setup."
                 "timeout.ms) in state %s",
                 c->peer[0] ? c->peer : c->host, (long long)c->o.setup_timeout_ms,
                 kwi_conn_state_name(c->state));
    kwi_conn_fail(c, &err);
}

static void
idle_check(kwi_conn *c)
{
    int64_t idle_for = now_ms(c) - c->last_active_ms;
    if (c->wire.n || c->noack.n || c->queue.n || idle_for < c->o.idle_ms) {
        int64_t left = c->o.idle_ms - idle_for;
        kwi_reactor_timer_start(c->t_state, left > 0 ? left : c->o.idle_ms);
        return;
    }
    if (kwi_log_on(c->log, KWI_LOG_DEBUG))
        kwi_log_write(c->log, KWI_LOG_DEBUG, "conn",
                      "broker %d (%s): idle for %lld ms, closing (connections.max.idle.ms)",
                      (int)c->o.node_id, c->peer, (long long)idle_for);
    drop_socket(c, KW_ERR_IO, "idle connection closed");
    kwi_conn_set_state(c, KWI_CONN_DOWN, NULL);
}

static void
on_state_timer(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_conn *c = ud;
    kwi_conn_enter(c);
    switch (c->state) {
    case KWI_CONN_RESOLVING:
    case KWI_CONN_CONNECTING:
    case KWI_CONN_TLS:
    case KWI_CONN_APIVERSIONS:
    case KWI_CONN_SASL:
        setup_timed_out(c);
        break;
    case KWI_CONN_BACKOFF:
        kwi_conn_set_state(c, KWI_CONN_DOWN, NULL);
        if (!c->doomed && c->state == KWI_CONN_DOWN && needed(c))
            kwi_conn_setup_start(c);
        break;
    case KWI_CONN_READY:
        if (c->o.idle_ms > 0)
            idle_check(c);
        break;
    case KWI_CONN_DOWN:
        break;
    }
    kwi_conn_leave(c);
}

static void
on_reauth(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_conn *c = ud;
    kwi_conn_enter(c);
    if (c->state == KWI_CONN_READY)
        kwi_conn_setup_reauth(c);
    kwi_conn_leave(c);
}

static void
request_timed_out(kwi_conn *c, kwi_req *q)
{
    char api[32];
    kw_error err;
    kw_error_init(&err);
    bool on_wire = q->list == &c->wire || q->list == &c->noack;
    kw_error_set(&err, KW_ERR_TIMED_OUT, "%s request to broker %d timed out (%s, state %s)",
                 kwi_api_name(q->api_key, api, sizeof(api)), (int)c->o.node_id,
                 on_wire ? "sent, no response" : "never sent", kwi_conn_state_name(c->state));
    kwi_conn_complete(c, q, KW_ERR_TIMED_OUT, &err, NULL);
    if (on_wire && !c->doomed && c->state != KWI_CONN_DOWN && c->state != KWI_CONN_BACKOFF) {
        /* Its response may still come; the stream cannot skip it, so the socket must go. */
        kw_error why;
        kw_error_init(&why);
        kw_error_set(&why, KW_ERR_TIMED_OUT, "%s", err.msg);
        kwi_conn_fail(c, &why);
    }
}

static void
on_deadline(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_conn *c = ud;
    kwi_conn_enter(c);
    int64_t now = now_ms(c);
    kwi_heap_node *n;
    while (!c->doomed && (n = kwi_heap_peek(&c->deadlines)) && n->deadline_ms <= now) {
        kwi_req *q = (kwi_req *)((char *)n - offsetof(kwi_req, node));
        request_timed_out(c, q);
    }
    if (!c->doomed)
        kwi_conn_rearm_deadline(c);
    kwi_conn_leave(c);
}

/* ---- public ------------------------------------------------------------------------------- */

static char *
dup_str(kwi_conn *c, const char *s, size_t *sz)
{
    *sz = strlen(s) + 1;
    char *d = mem_alloc(c, *sz);
    if (d)
        memcpy(d, s, *sz);
    return d;
}

static void
apply_defaults(kwi_conn_opts *o)
{
    if (o->request_timeout_ms <= 0)
        o->request_timeout_ms = KWI_CONN_DEF_REQ_TIMEOUT;
    if (o->setup_timeout_ms <= 0)
        o->setup_timeout_ms = KWI_CONN_DEF_SETUP_TIMEOUT;
    if (o->backoff_ms <= 0)
        o->backoff_ms = KWI_CONN_DEF_BACKOFF;
    if (o->backoff_max_ms <= 0)
        o->backoff_max_ms = KWI_CONN_DEF_BACKOFF_MAX;
    if (o->max_in_flight <= 0)
        o->max_in_flight = KWI_CONN_DEF_IN_FLIGHT;
    if (o->max_frame <= 0)
        o->max_frame = KWI_CONN_DEF_MAX_FRAME;
    if (o->max_request == 0)
        o->max_request = KWI_CONN_DEF_MAX_REQUEST;
}

kw_err
kwi_conn_new(const kwi_conn_opts *o, kwi_conn **out)
{
    *out = NULL;
    if (!o || !o->reactor || !o->host || !o->host[0] || o->port == 0)
        return KW_ERR_INVALID_ARG;
    const kw_allocator *a = o->alloc ? o->alloc : kw_allocator_default();
    kwi_conn *c = a->alloc(a->ud, sizeof(*c));
    if (!c)
        return KW_ERR_NOMEM;
    memset(c, 0, sizeof(*c));
    c->a = a;
    c->r = o->reactor;
    c->o = *o;
    apply_defaults(&c->o);
    c->log = o->log;
    c->fd = -1;
    c->next_corr = 1;
    c->rng = (o->seed ^ (uint64_t)(uintptr_t)c ^ (uint64_t)kwi_conn_now_us()) | 1u;
    kwi_apiver_reset(&c->av);
    kwi_heap_init(&c->deadlines, a);
    kw_wr_init_dyn(&c->out, a, c->o.max_request);
    kw_arena_init(&c->arena, a, 0);
    c->host = dup_str(c, o->host, &c->host_sz);
    if (o->client_id)
        c->client_id = dup_str(c, o->client_id, &c->client_id_sz);
    c->o.host = c->host;
    c->o.client_id = c->client_id;
    if (o->sasl) {
        c->sasl_conf = *o->sasl;
        if (!c->sasl_conf.alloc)
            c->sasl_conf.alloc = a;
        c->sasl_conf.host = c->host; /* GSSAPI: the principal's host part */
        c->o.sasl = &c->sasl_conf;
    }
    bool ok = c->host && (!o->client_id || c->client_id) &&
              kwi_reactor_timer_new(c->r, on_deadline, c, &c->t_req) == KW_ERR_OK &&
              kwi_reactor_timer_new(c->r, on_state_timer, c, &c->t_state) == KW_ERR_OK &&
              kwi_reactor_timer_new(c->r, on_kick, c, &c->t_kick) == KW_ERR_OK &&
              kwi_reactor_timer_new(c->r, on_reauth, c, &c->t_reauth) == KW_ERR_OK;
    if (!ok) {
        conn_destroy(c);
        return KW_ERR_NOMEM;
    }
    *out = c;
    return KW_ERR_OK;
}

static void
conn_destroy(kwi_conn *c)
{
    kwi_conn_io_close(c);
    kwi_conn_setup_reset(c);
    kwi_reactor_timer_free(c->t_req);
    kwi_reactor_timer_free(c->t_state);
    kwi_reactor_timer_free(c->t_kick);
    kwi_reactor_timer_free(c->t_reauth);
    kwi_req *q;
    while ((q = c->free_reqs)) {
        c->free_reqs = q->next;
        mem_free(c, q, sizeof(*q));
    }
    kwi_heap_fini(&c->deadlines);
    kw_wr_fini(&c->out);
    kw_arena_fini(&c->arena);
    mem_free(c, c->in, c->in_cap);
    mem_free(c, c->host, c->host_sz);
    mem_free(c, c->client_id, c->client_id_sz);
    const kw_allocator *a = c->a;
    a->free(a->ud, c, sizeof(*c));
}

void
kwi_conn_free(kwi_conn *c)
{
    if (!c || c->doomed)
        return;
    kwi_conn_enter(c);
    c->doomed = true;
    kwi_reactor_timer_stop(c->t_req);
    kwi_reactor_timer_stop(c->t_state);
    kwi_reactor_timer_stop(c->t_kick);
    kwi_reactor_timer_stop(c->t_reauth);
    char msg[96];
    snprintf(msg, sizeof(msg), "connection to broker %d closed by the client", (int)c->o.node_id);
    drop_socket(c, KW_ERR_CANCELED, msg);
    kwi_req *q;
    while ((q = c->queue.head))
        req_finish_later(c, q, KW_ERR_CANCELED, msg);
    deliver_done(c);
    kwi_conn_leave(c);
}

kw_err
kwi_conn_send(kwi_conn *c, int16_t api_key, const void *msg, const kwi_req_opts *o, kwi_resp_cb cb,
              void *ud, kw_error *err)
{
    if (!c || !cb || c->doomed)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no connection or no callback");
    kwi_req_opts def;
    if (!o) {
        kwi_req_opts_init(&def);
        o = &def;
    }
    if (!kw_msgdef_by_key(api_key, false) || !kw_msgdef_by_key(api_key, true))
        return kw_error_set(err, KW_ERR_UNKNOWN_API, "no codec for API key %d", (int)api_key);
    if (!msg && !o->encode)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no message and no encoder");
    kwi_req *q = req_alloc(c);
    if (!q)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    q->api_key = api_key;
    q->min_ver = o->min_ver;
    q->max_ver = o->max_ver;
    q->no_response = o->no_response;
    q->msg = msg;
    q->encode = o->encode;
    q->encode_ud = o->encode_ud;
    q->cb = cb;
    q->ud = ud;
    int64_t timeout = o->timeout_ms > 0 ? o->timeout_ms : c->o.request_timeout_ms;
    q->deadline_ms = now_ms(c) + timeout;
    if (kwi_heap_insert(&c->deadlines, &q->node, q->deadline_ms) != KW_ERR_OK) {
        kwi_conn_req_release(c, q);
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    kwi_conn_list_push(&c->queue, q);
    kwi_conn_rearm_deadline(c);
    kick(c);
    return KW_ERR_OK;
}

void
kwi_conn_connect(kwi_conn *c)
{
    if (!c || c->doomed)
        return;
    c->want = true;
    if (c->state == KWI_CONN_DOWN)
        kick(c);
}

void
kwi_conn_close(kwi_conn *c, kw_err code, bool backoff, const char *msg)
{
    if (!c || c->doomed || c->state == KWI_CONN_DOWN || c->state == KWI_CONN_BACKOFF)
        return;
    kw_error why;
    kw_error_init(&why);
    kw_error_set(&why, code, "%s", msg);
    if (backoff) {
        kwi_conn_fail(c, &why);
        return;
    }
    drop_socket(c, code, msg);
    kwi_reactor_timer_stop(c->t_state);
    kwi_conn_set_state(c, KWI_CONN_DOWN, &why);
    if (needed(c))
        kick(c);
    deliver_or_defer(c);
}

void
kwi_conn_fail_all(kwi_conn *c, kw_err code, const char *msg)
{
    if (!c || c->doomed)
        return;
    kwi_req *q;
    while ((q = c->queue.head))
        req_finish_later(c, q, code, msg);
    c->want = false;
    if (c->state != KWI_CONN_DOWN && c->state != KWI_CONN_BACKOFF) {
        kw_error why;
        kw_error_init(&why);
        kw_error_set(&why, code, "%s", msg);
        drop_socket(c, code, msg);
        kwi_conn_set_state(c, KWI_CONN_DOWN, &why);
    }
    kwi_reactor_timer_stop(c->t_state);
    if (c->state == KWI_CONN_BACKOFF)
        kwi_conn_set_state(c, KWI_CONN_DOWN, NULL);
    kwi_conn_rearm_deadline(c);
    deliver_or_defer(c);
}

kwi_conn_state
kwi_conn_state_get(const kwi_conn *c)
{
    return c->state;
}

int32_t
kwi_conn_node_id(const kwi_conn *c)
{
    return c->o.node_id;
}

const char *
kwi_conn_host(const kwi_conn *c)
{
    return c->host;
}

uint16_t
kwi_conn_port(const kwi_conn *c)
{
    return c->o.port;
}

int
kwi_conn_in_flight(const kwi_conn *c)
{
    return c->wire.n + c->noack.n;
}

int
kwi_conn_queued(const kwi_conn *c)
{
    return c->queue.n;
}

int
kwi_conn_failures(const kwi_conn *c)
{
    return c->failures;
}

const kwi_apiver *
kwi_conn_apiver(const kwi_conn *c)
{
    return &c->av;
}

static int
cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

void
kwi_conn_stats_get(const kwi_conn *c, kwi_conn_stats *out)
{
    *out = c->st;
    out->in_flight = c->wire.n + c->noack.n;
    out->queued = c->queue.n;
    uint32_t n = c->rtt_n < KWI_RTT_WINDOW ? c->rtt_n : KWI_RTT_WINDOW;
    out->rtt_samples = (int32_t)n;
    out->rtt_p50_us = out->rtt_p99_us = -1;
    if (n == 0)
        return;
    int32_t v[KWI_RTT_WINDOW];
    memcpy(v, c->rtt, n * sizeof(v[0]));
    qsort(v, n, sizeof(v[0]), cmp_i32);
    /* Nearest rank: the smallest sample with at least p% of the samples at or below it. */
    out->rtt_p50_us = v[(n * 50 + 99) / 100 - 1];
    out->rtt_p99_us = v[(n * 99 + 99) / 100 - 1];
}

kw_err
kwi_conn_send_internal(kwi_conn *c, int16_t api_key, int16_t ver, const void *msg,
                       void (*on)(kwi_conn *, kwi_req *, const uint8_t *, size_t), kw_error *err)
{
    kwi_req *q = req_alloc(c);
    if (!q)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    q->internal = true;
    q->on_internal = on;
    q->api_key = api_key;
    q->msg = msg;
    kw_err e = kwi_conn_io_encode(c, q, ver, err);
    if (e != KW_ERR_OK) {
        kwi_conn_req_release(c, q);
        return e;
    }
    kwi_conn_list_push(&c->wire, q);
    q->sent_us = kwi_conn_now_us();
    c->st.requests++;
    kwi_conn_io_update_interest(c);
    return KW_ERR_OK;
}
