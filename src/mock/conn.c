/* Connections: server-side framing, request dispatch and in-order responses.
 *
 * A frame is an int32 size and that many bytes. A size below the smallest header or above
 * max_request_bytes closes the connection before its body is read (Kafka's
 * socket.request.max.bytes check). A complete frame is copied into a request, whose (key,
 * version) is checked against the dispatch table before anything is decoded: a request the
 * broker does not serve closes the connection, as Kafka's parseRequestHeader does; ApiVersions
 * above the advertised maximum is the one exception (KIP-511), answered with error 35 and a v0
 * body.
 *
 * Requests queue on their connection in arrival order and responses leave in that order, even
 * when a later request is answered first. Like Kafka, the broker stops reading from a
 * connection that has max_inflight requests in progress (1 by default: Kafka "mutes" the
 * channel until the response is sent), which also bounds what one client can make it buffer.
 *
 * Re-entrancy. Answering a request never frees a connection and never dispatches a new frame:
 * a handler can answer requests of other connections (a Produce waking Fetches) without any
 * connection disappearing under it. Closing is deferred to a zero-delay timer unless it happens
 * in the connection's own top-level callback, and frames buffered behind a muted connection are
 * dispatched from that timer too. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mock_int.h"

enum { REQ_PENDING = 0, REQ_DEFERRED = 1, REQ_READY = 2 };

#define RBUF_MIN        16384u
#define MIN_FRAME       8   /* api key, version, correlation id */
#define READS_PER_EVENT 4   /* bounded work per callback; level-triggered epoll comes back */
#define ARENA_PER_FRAME 64u /* decoded structures per wire byte, at most */
#define ARENA_SLACK     (1u << 20)
#define RESP_MAX        ((size_t)INT32_MAX)

struct kwi_mock_conn {
    kw_mock *m;
    kwi_mock_broker *b;
    uint64_t id;
    int fd;
    kwi_io *io;
    kwi_timer *kick; /* deferred close, and frames left behind while muted */
    uint8_t *rbuf;
    size_t rcap, rlen;
    kwi_mock_req *qhead, *qtail;
    int32_t nq;
    kwi_mock_req *dispatching; /* the request whose handler runs, until it answers */
    bool closing, want_write;
    kwi_mock_conn *prev, *next;
    kwi_mock_sec *sec; /* TLS session and SASL state (security.c); NULL when neither */
};

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
req_free(kw_mock *m, kwi_mock_req *q)
{
    kw_arena_fini(&q->arena);
    kw_arena_fini(&q->resp);
    kw_wr_fini(&q->out);
    if (q->frame)
        m->a->free(m->a->ud, q->frame, q->frame_len);
    m->a->free(m->a->ud, q, sizeof(*q));
}

void
kwi_mock_conn_free(kwi_mock_conn *c)
{
    kw_mock *m = c->m;
    for (kwi_mock_req *q = c->qhead, *next; q; q = next) {
        next = q->next;
        if (q->state == REQ_DEFERRED && q->cancel)
            q->cancel(q, q->cancel_ud);
        req_free(m, q);
    }
    kwi_mock_sec_free(c->sec); /* sends TLS close_notify, so before the fd goes */
    kwi_reactor_io_free(c->io);
    kwi_reactor_timer_free(c->kick);
    if (c->fd >= 0)
        close(c->fd);
    if (c->rbuf)
        m->a->free(m->a->ud, c->rbuf, c->rcap);
    if (c->prev)
        c->prev->next = c->next;
    else
        m->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    kwi_mock_logf(m, KW_MOCK_LOG_DEBUG, "broker %d: connection %llu closed", (int)c->b->node_id,
                  (unsigned long long)c->id);
    m->a->free(m->a->ud, c, sizeof(*c));
}

void
kwi_mock_conns_free(kw_mock *m)
{
    while (m->conns)
        kwi_mock_conn_free(m->conns);
}

static void
set_interest(kwi_mock_conn *c)
{
    if (c->closing)
        return;
    unsigned want = 0;
    if (c->nq < c->m->conf.max_inflight)
        want |= KWI_IO_READ;
    if (c->want_write)
        want |= KWI_IO_WRITE;
    want |= kwi_mock_sec_interest(c->sec);
    if (kwi_reactor_io_interest(c->io) != want)
        kwi_reactor_io_modify(c->io, want);
}

static void
close_later(kwi_mock_conn *c)
{
    if (c->closing)
        return;
    c->closing = true;
    kwi_reactor_io_modify(c->io, 0);
    kwi_reactor_timer_start(c->kick, 0);
}

/* Writes the ready responses at the head of the queue; frees each once it is sent. */
static void
flush(kwi_mock_conn *c)
{
    c->want_write = false;
    while (!c->closing && c->qhead && c->qhead->state == REQ_READY) {
        kwi_mock_req *q = c->qhead;
        size_t len = kw_wr_len(&q->out);
        while (q->sent < len) {
            /* Latency and partial writes (fault.c): wait, or send one piece. */
            int64_t now = kwi_mock_now_ms(c->m);
            if (q->not_before > now) {
                kwi_reactor_timer_start(c->kick, q->not_before - now);
                set_interest(c);
                return;
            }
            size_t want = len - q->sent;
            if (q->chunk && want > q->chunk)
                want = q->chunk;
            ssize_t n = kwi_mock_sec_send(c->sec, c->fd, q->out.base + q->sent, want);
            if (n > 0) {
                q->sent += (size_t)n;
                if (q->chunk)
                    q->not_before = now + q->chunk_delay_ms;
                continue;
            }
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                c->want_write = true;
                set_interest(c);
                return;
            }
            close_later(c);
            return;
        }
        c->qhead = q->next;
        if (!c->qhead)
            c->qtail = NULL;
        c->nq--;
        bool close_after = q->close_after;
        req_free(c->m, q);
        if (close_after) { /* a SASL failure, a truncated frame: the last word was said */
            close_later(c);
            return;
        }
    }
    set_interest(c);
    /* Unmuted with frames already buffered (also inside TLS): dispatch them from the kick
     * timer, not from here (this may run inside another connection's handler). */
    if (!c->closing && c->nq < c->m->conf.max_inflight &&
        (c->rlen >= 4 || kwi_mock_sec_pending(c->sec)))
        kwi_reactor_timer_start(c->kick, 0);
}

void *
kwi_mock_req_alloc(kwi_mock_req *req, size_t n, size_t size)
{
    return kw_arena_calloc(&req->resp, n ? n : 1, size);
}

char *
kwi_mock_req_strdup(kwi_mock_req *req, kw_slice s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    char *p = kw_arena_alloc(&req->resp, n + 1);
    if (p && n)
        memcpy(p, s.ptr, n);
    return p;
}

static void
answered(kwi_mock_req *req)
{
    if (req->conn->dispatching == req)
        req->conn->dispatching = NULL;
}

kw_err
kwi_mock_reply_ver(kwi_mock_req *req, int16_t ver, const void *resp)
{
    kwi_mock_conn *c = req->conn;
    const kw_msgdef *d = req->api->resp_def;
    answered(req);
    kw_wr_init_dyn(&req->out, c->m->a, RESP_MAX);
    kw_wr_reserve(&req->out, 4);
    kw_resp_hdr h = {req->hdr.correlation_id, {NULL, 0}};
    kw_resp_hdr_encode(&req->out, kw_resp_hdr_version(d, ver), &h);
    kw_err e = kw_wr_finish(&req->out);
    if (!e)
        e = kw_msg_encode(d, ver, &req->out, resp);
    if (e) {
        kwi_mock_logf(c->m, KW_MOCK_LOG_ERR, "broker %d: cannot encode %s v%d: %s",
                      (int)c->b->node_id, d->name, (int)ver, kw_err_name(e));
        kw_wr_fini(&req->out);
        req->state = REQ_DEFERRED; /* still unanswered: closing the connection drops it */
        req->cancel = NULL;
        close_later(c);
        return e;
    }
    kw_wr_patch_i32(&req->out, 0, (int32_t)(kw_wr_len(&req->out) - 4));
    e = kwi_mock_fault_response(req); /* latency, partial writes, hostile rewrites */
    if (e) {
        req->state = REQ_DEFERRED;
        req->cancel = NULL;
        close_later(c);
        return e;
    }
    req->state = REQ_READY;
    req->sent = 0;
    if (c->qhead == req)
        flush(c);
    return KW_ERR_OK;
}

kw_err
kwi_mock_reply_raw(kwi_mock_req *req, const void *p, size_t n)
{
    kwi_mock_conn *c = req->conn;
    answered(req);
    kw_wr_i32(&req->out, (int32_t)n);
    kw_wr_raw(&req->out, p, n);
    kw_err e = kw_wr_finish(&req->out);
    if (e) {
        req->state = REQ_DEFERRED;
        req->cancel = NULL;
        close_later(c);
        return e;
    }
    req->state = REQ_READY;
    req->sent = 0;
    if (c->qhead == req)
        flush(c);
    return KW_ERR_OK;
}

kwi_mock_sec *
kwi_mock_req_sec(kwi_mock_req *req)
{
    return req->conn->sec;
}

void
kwi_mock_conns_drop(kw_mock *m, kwi_mock_broker *b)
{
    for (kwi_mock_conn *c = m->conns; c; c = c->next)
        if (!b || c->b == b)
            close_later(c);
}

kw_err
kwi_mock_reply(kwi_mock_req *req, const void *resp)
{
    return kwi_mock_reply_ver(req, req->hdr.api_version, resp);
}

void
kwi_mock_noreply(kwi_mock_req *req)
{
    kwi_mock_conn *c = req->conn;
    answered(req);
    kwi_mock_req **pp = &c->qhead, *prev = NULL;
    while (*pp && *pp != req) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    if (*pp) {
        *pp = req->next;
        if (c->qtail == req)
            c->qtail = prev;
        c->nq--;
    }
    req_free(c->m, req);
    flush(c); /* the request may have been the one keeping later answers back */
}

void
kwi_mock_defer(kwi_mock_req *req, kwi_mock_cancel_fn cancel, void *ud)
{
    answered(req);
    req->state = REQ_DEFERRED;
    req->cancel = cancel;
    req->cancel_ud = ud;
}

void
kwi_mock_req_abort(kwi_mock_req *req)
{
    close_later(req->conn);
}

static kwi_mock_req *
req_new(kwi_mock_conn *c, const uint8_t *frame, size_t len)
{
    kw_mock *m = c->m;
    kwi_mock_req *q = m->a->alloc(m->a->ud, sizeof(*q));
    if (!q)
        return NULL;
    memset(q, 0, sizeof(*q));
    q->frame = m->a->alloc(m->a->ud, len);
    if (!q->frame) {
        m->a->free(m->a->ud, q, sizeof(*q));
        return NULL;
    }
    memcpy(q->frame, frame, len);
    q->frame_len = len;
    q->m = m;
    q->conn = c;
    q->broker = c->b;
    kw_arena_init(&q->arena, m->a, len * ARENA_PER_FRAME + ARENA_SLACK);
    kw_arena_init(&q->resp, m->a, 0);
    kw_wr_init_dyn(&q->out, m->a, RESP_MAX);
    return q;
}

static void
enqueue(kwi_mock_conn *c, kwi_mock_req *q)
{
    if (c->qtail)
        c->qtail->next = q;
    else
        c->qhead = q;
    c->qtail = q;
    c->nq++;
}

/* KIP-511: an ApiVersions request newer than the broker knows is answered as v0 with error 35
 * and the supported ranges, so the client can retry with a version both sides know. The body
 * is not parsed: its schema is unknown at that version. */
static kw_err
api_versions_fallback(kwi_mock_req *q)
{
    kw_api_versions_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.error_code = KWI_E_UNSUPPORTED_VERSION;
    resp.finalized_features_epoch = -1;
    if (kwi_mock_api_list(q->m, &q->resp, &resp.api_keys, &resp.n_api_keys))
        return KW_ERR_NOMEM;
    return kwi_mock_reply_ver(q, 0, &resp);
}

/* Decodes and dispatches one frame. Anything but KW_ERR_OK closes the connection. */
static kw_err
dispatch(kwi_mock_conn *c, const uint8_t *frame, size_t len)
{
    kw_mock *m = c->m;
    /* SASL (sasl_server.c): before authentication only some requests pass, and after a
     * SaslHandshake v0 the frames are raw tokens. */
    switch (kwi_mock_sasl_gate(c->sec, frame, len)) {
    case KWI_MOCK_SASL_CLOSE:
        return KW_ERR_AUTH;
    case KWI_MOCK_SASL_RAW: {
        kwi_mock_req *raw = req_new(c, frame, len);
        if (!raw)
            return KW_ERR_NOMEM;
        enqueue(c, raw);
        return kwi_mock_sasl_raw(raw, raw->frame, len);
    }
    default:
        break;
    }
    int16_t key = (int16_t)(frame[0] << 8 | frame[1]);
    int16_t ver = (int16_t)(frame[2] << 8 | frame[3]);
    const kwi_mock_api *api = key >= 0 && key < KWI_MOCK_API_MAX ? &m->apis[key] : NULL;
    bool fallback = api && api->fn && key == 18 && api->adv_min >= 0 && ver > api->adv_max;
    if (!fallback && !kwi_mock_api_accepts(m, key, ver)) {
        kwi_mock_logf(m, KW_MOCK_LOG_INFO,
                      "broker %d: closing connection %llu: API %d v%d is not served",
                      (int)c->b->node_id, (unsigned long long)c->id, (int)key, (int)ver);
        return KW_ERR_UNSUPPORTED_VERSION;
    }
    kwi_mock_req *q = req_new(c, frame, len);
    if (!q)
        return KW_ERR_NOMEM;
    q->api = api;
    kw_rd rd;
    kw_rd_init(&rd, q->frame, len);
    kw_err e = kw_req_hdr_decode(&rd, kw_req_hdr_version(api->req_def, ver), &q->arena, &q->hdr);
    enqueue(c, q); /* from here the connection owns it */
    if (e)
        return e;
    c->dispatching = q;
    if (fallback) {
        e = api_versions_fallback(q);
    } else {
        q->msg = kw_arena_alloc(&q->arena, api->req_def->size);
        e = q->msg ? kw_msg_decode(api->req_def, ver, &rd, &q->arena, q->msg) : KW_ERR_NOMEM;
        if (e) {
            kwi_mock_logf(m, KW_MOCK_LOG_INFO, "broker %d: closing connection %llu: %s v%d: %s",
                          (int)c->b->node_id, (unsigned long long)c->id, api->req_def->name,
                          (int)ver, kw_err_name(e));
            return e;
        }
        kwi_mock_logf(m, KW_MOCK_LOG_DEBUG, "broker %d: conn %llu: %s v%d correlation %d",
                      (int)c->b->node_id, (unsigned long long)c->id, api->req_def->name, (int)ver,
                      (int)q->hdr.correlation_id);
        bool taken = kwi_mock_fault_request(q, &e); /* injected errors, drops (fault.c) */
        if (!taken)
            e = api->fn(q, ver, q->msg);
        if (e)
            kwi_mock_logf(m, KW_MOCK_LOG_INFO, "broker %d: closing connection %llu after %s: %s",
                          (int)c->b->node_id, (unsigned long long)c->id, api->req_def->name,
                          kw_err_name(e));
    }
    if (!e && c->dispatching) {
        /* q is still alive: only answering frees a request before its connection closes. */
        kwi_mock_logf(m, KW_MOCK_LOG_ERR, "broker %d: the %s handler did not answer",
                      (int)c->b->node_id, api->req_def->name);
        e = KW_ERR_STATE;
    }
    c->dispatching = NULL;
    return e;
}

/* Bytes needed before the next frame can be dispatched; 0 when the size is invalid. */
static size_t
frame_need(const kwi_mock_conn *c)
{
    if (c->rlen < 4)
        return 4;
    int32_t size = (int32_t)be32(c->rbuf);
    int32_t min = kwi_mock_sasl_raw_mode(c->sec) ? 1 : MIN_FRAME; /* raw SASL tokens */
    if (size < min || size > c->m->conf.max_request_bytes)
        return 0;
    return 4 + (size_t)size;
}

/* Dispatches complete frames while the connection may take more requests. */
static kw_err
process(kwi_mock_conn *c)
{
    while (!c->closing && c->nq < c->m->conf.max_inflight) {
        size_t need = frame_need(c);
        if (need == 0) {
            kwi_mock_logf(c->m, KW_MOCK_LOG_INFO,
                          "broker %d: closing connection %llu: frame size %d out of range",
                          (int)c->b->node_id, (unsigned long long)c->id, (int)be32(c->rbuf));
            return KW_ERR_TOO_LARGE;
        }
        if (c->rlen < need || need == 4)
            break;
        kw_err e = dispatch(c, c->rbuf + 4, need - 4);
        if (e)
            return e;
        memmove(c->rbuf, c->rbuf + need, c->rlen - need);
        c->rlen -= need;
    }
    set_interest(c);
    return KW_ERR_OK;
}

static kw_err
rbuf_reserve(kwi_mock_conn *c, size_t want)
{
    if (c->rcap >= want)
        return KW_ERR_OK;
    uint8_t *nb = c->rbuf ? c->m->a->realloc(c->m->a->ud, c->rbuf, c->rcap, want)
                          : c->m->a->alloc(c->m->a->ud, want);
    if (!nb)
        return KW_ERR_NOMEM;
    c->rbuf = nb;
    c->rcap = want;
    return KW_ERR_OK;
}

/* Reads what the socket has, growing the buffer only as far as the frame being read needs. */
static kw_err
read_some(kwi_mock_conn *c)
{
    for (int i = 0; i < READS_PER_EVENT; i++) {
        size_t need = frame_need(c);
        if (need == 0)
            return KW_ERR_OK; /* process() reports it */
        if (rbuf_reserve(c, need > RBUF_MIN ? need : RBUF_MIN))
            return KW_ERR_NOMEM;
        if (c->rlen == c->rcap)
            return KW_ERR_OK; /* a whole frame is buffered */
        ssize_t n = kwi_mock_sec_recv(c->sec, c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
        if (n > 0) {
            c->rlen += (size_t)n;
            continue;
        }
        if (n == 0)
            return KW_ERR_IO;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return KW_ERR_OK;
        return KW_ERR_IO;
    }
    return KW_ERR_OK;
}

static void
on_io(kwi_reactor *r, kwi_io *io, unsigned events, void *ud)
{
    (void)r;
    (void)io;
    kwi_mock_conn *c = ud;
    if (c->closing)
        return;
    /* An error or a hang-up in both directions: nobody is left to answer. */
    if (events & (KWI_IO_ERROR | KWI_IO_HUP)) {
        kwi_mock_conn_free(c);
        return;
    }
    bool rd, wr; /* TLS may need the other readiness than the work it does (security.c) */
    kwi_mock_sec_events(c->sec, events, &rd, &wr);
    if (wr) {
        flush(c);
        if (c->closing)
            return;
    }
    if (rd) {
        kw_err e = read_some(c);
        if (!e)
            e = process(c);
        if (e) {
            kwi_mock_conn_free(c);
            return;
        }
        /* Records decrypted but not yet read do not make the fd readable again. */
        if (!c->closing && kwi_mock_sec_pending(c->sec) && c->nq < c->m->conf.max_inflight)
            kwi_reactor_timer_start(c->kick, 0);
    }
}

static void
on_kick(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_mock_conn *c = ud;
    if (c->closing) {
        kwi_mock_conn_free(c);
        return;
    }
    /* A delayed response (fault.c) may be due. Only then: flush re-arms this timer while a
     * frame is buffered, and a partial one must not keep the timer spinning. */
    if (c->qhead && c->qhead->state == REQ_READY)
        flush(c);
    kw_err e = KW_ERR_OK;
    if (!c->closing && kwi_mock_sec_pending(c->sec) && c->nq < c->m->conf.max_inflight)
        e = read_some(c);
    if (c->closing || e || process(c))
        kwi_mock_conn_free(c);
}

kw_err
kwi_mock_conn_accept(kwi_mock_broker *b, int fd)
{
    kw_mock *m = b->m;
    kwi_mock_conn *c = m->a->alloc(m->a->ud, sizeof(*c));
    if (!c)
        return KW_ERR_NOMEM;
    memset(c, 0, sizeof(*c));
    c->m = m;
    c->b = b;
    c->fd = -1;
    if (kwi_reactor_timer_new(m->r, on_kick, c, &c->kick) ||
        kwi_reactor_io_new(m->r, fd, KWI_IO_READ, on_io, c, &c->io)) {
        kwi_reactor_timer_free(c->kick);
        m->a->free(m->a->ud, c, sizeof(*c));
        return KW_ERR_NOMEM;
    }
    c->fd = fd;
    c->id = ++m->n_conns_total;
    if (kwi_mock_sec_accept(b, fd, c->id, &c->sec)) { /* TLS session, SASL state */
        kwi_reactor_io_free(c->io);
        kwi_reactor_timer_free(c->kick);
        m->a->free(m->a->ud, c, sizeof(*c));
        return KW_ERR_NOMEM;
    }
    c->next = m->conns;
    if (m->conns)
        m->conns->prev = c;
    m->conns = c;
    kwi_mock_logf(m, KW_MOCK_LOG_DEBUG, "broker %d: connection %llu accepted", (int)b->node_id,
                  (unsigned long long)c->id);
    return KW_ERR_OK;
}
