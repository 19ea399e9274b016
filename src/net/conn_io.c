/* A broker connection's bytes: the socket (plain or through the TLS engine), framing with a
 * hard size limit, encoding requests straight into the output buffer, partial writes, and
 * matching responses to requests by correlation id. See conn.h for the contract. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/conn_int.h"

/* Bytes one readiness callback may read or write, so one busy connection cannot starve the
 * others in a step (the reactor bounds the number of callbacks, this bounds each one). */
#define READ_BUDGET  (1u << 20)
#define WRITE_BUDGET (1u << 20)
/* Receive buffer: grown per frame, shrunk back when a large frame is done. */
#define IN_CHUNK     65536u
#define IN_KEEP_MAX  (1u << 20)
#define OUT_KEEP_MAX (1u << 20)
#define OUT_COMPACT  (1u << 20)

static uint32_t
be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static bool
gone(const kwi_conn *c)
{
    return c->doomed || c->fd < 0;
}

static bool
out_pending(const kwi_conn *c)
{
    return kw_wr_len(&c->out) > c->out_off;
}

static void
fail_msg(kwi_conn *c, kw_err code, const char *fmt, const char *a, const char *b)
{
    kw_error err;
    kw_error_init(&err);
    kw_error_set(&err, code, fmt, a, b);
    kwi_conn_fail(c, &err);
}

void
kwi_conn_io_format_addr(const kwi_sockaddr *a, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)&a->ss;
        inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
        snprintf(buf, len, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    } else {
        const struct sockaddr_in *in = (const struct sockaddr_in *)&a->ss;
        inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
        snprintf(buf, len, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
    }
}

/* ---- socket life ------------------------------------------------------------------------ */

static void on_io(kwi_reactor *r, kwi_io *io, unsigned events, void *ud);

kw_err
kwi_conn_io_open(kwi_conn *c, kw_error *err)
{
    const kwi_sockaddr *a = &c->addrs[c->addr_next];
    kwi_conn_io_format_addr(a, c->peer, sizeof(c->peer));
    const kwi_transport *t = c->o.transport;
    int fd;
    if (t) {
        fd = t->open(t->ud, (const struct sockaddr *)&a->ss, a->len);
        if (fd < 0)
            return kw_error_set(err, KW_ERR_IO, "connect to %s: %s", c->peer, strerror(errno));
    } else {
        fd = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return kw_error_set(err, KW_ERR_IO, "socket for %s: %s", c->peer, strerror(errno));
        int one = 1;
        /* Requests are written whole; Nagle would only hold back the tail of a frame. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, (const struct sockaddr *)&a->ss, a->len) < 0 && errno != EINPROGRESS) {
            int e = errno;
            close(fd);
            return kw_error_set(err, KW_ERR_IO, "connect to %s: %s", c->peer, strerror(e));
        }
    }
    kw_err e = kwi_reactor_io_new(c->r, fd, KWI_IO_WRITE, on_io, c, &c->io);
    if (e != KW_ERR_OK) {
        kwi_transport_close(t, fd);
        return kw_error_set(err, e, "registering the socket for %s: %s", c->peer, kw_err_str(e));
    }
    c->fd = fd;
    c->out.p = c->out.base;
    c->out.err = KW_ERR_OK;
    c->out_off = 0;
    c->out_written = 0;
    c->in_len = c->in_off = 0;
    return KW_ERR_OK;
}

void
kwi_conn_io_close(kwi_conn *c)
{
    if (c->tls) {
        kwi_tls_free(c->tls);
        c->tls = NULL;
    }
    if (c->io) {
        kwi_reactor_io_free(c->io);
        c->io = NULL;
    }
    if (c->fd >= 0) {
        kwi_transport_close(c->o.transport, c->fd);
        c->fd = -1;
    }
    c->tls_read_wants_w = c->tls_write_wants_r = c->read_more = false;
    c->in_len = c->in_off = 0;
    if (c->in_cap > IN_KEEP_MAX) {
        c->a->free(c->a->ud, c->in, c->in_cap);
        c->in = NULL;
        c->in_cap = 0;
    }
    if ((size_t)(c->out.end - c->out.base) > OUT_KEEP_MAX) {
        kw_wr_fini(&c->out);
        kw_wr_init_dyn(&c->out, c->a, c->o.max_request);
    }
    c->out.p = c->out.base;
    c->out.err = KW_ERR_OK;
    c->out_off = 0;
    kw_arena_reset(&c->arena);
}

kw_err
kwi_conn_set_transport(kwi_conn *c, const kwi_transport *t)
{
    if (c->fd >= 0)
        return KW_ERR_STATE;
    c->o.transport = t;
    return KW_ERR_OK;
}

void
kwi_conn_io_update_interest(kwi_conn *c)
{
    if (gone(c) || !c->io)
        return;
    unsigned want;
    if (c->state == KWI_CONN_CONNECTING)
        want = KWI_IO_WRITE;
    else if (c->state == KWI_CONN_TLS)
        want = c->tls_hs_want;
    else
        want = KWI_IO_READ | (out_pending(c) || c->tls_read_wants_w ? KWI_IO_WRITE : 0u);
    if (want != kwi_reactor_io_interest(c->io))
        kwi_reactor_io_modify(c->io, want);
}

/* ---- transport: plain socket or TLS session --------------------------------------------- */

/* > 0 bytes moved, 0 = would block, -1 = the connection failed (already handled). */
static ssize_t
xport_recv(kwi_conn *c, uint8_t *buf, size_t len)
{
    if (c->tls) {
        size_t n = 0;
        kw_error err;
        kw_error_init(&err);
        c->tls_read_wants_w = false;
        switch (kwi_tls_read(c->tls, buf, len, &n, &err)) {
        case KWI_TLS_OK:
            return (ssize_t)n;
        case KWI_TLS_AGAIN_READ:
            return 0;
        case KWI_TLS_AGAIN_WRITE:
            c->tls_read_wants_w = true;
            return 0;
        case KWI_TLS_CLOSED:
            fail_msg(c, KW_ERR_IO, "%s%s closed the TLS session", "broker at ", c->peer);
            return -1;
        case KWI_TLS_ERROR:
            kwi_conn_fail(c, &err);
            return -1;
        }
        return -1;
    }
    for (;;) {
        ssize_t n = kwi_transport_recv(c->o.transport, c->fd, buf, len);
        if (n > 0)
            return n;
        if (n == 0) {
            fail_msg(c, KW_ERR_IO, "%s%s closed the connection", "broker at ", c->peer);
            return -1;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        fail_msg(c, KW_ERR_IO, "receiving from %s: %s", c->peer, strerror(errno));
        return -1;
    }
}

static ssize_t
xport_send(kwi_conn *c, const uint8_t *buf, size_t len)
{
    if (c->tls) {
        size_t n = 0;
        kw_error err;
        kw_error_init(&err);
        c->tls_write_wants_r = false;
        switch (kwi_tls_write(c->tls, buf, len, &n, &err)) {
        case KWI_TLS_OK:
            return (ssize_t)n;
        case KWI_TLS_AGAIN_READ:
            c->tls_write_wants_r = true;
            return 0;
        case KWI_TLS_AGAIN_WRITE:
            return 0;
        case KWI_TLS_CLOSED:
            fail_msg(c, KW_ERR_IO, "%s%s closed the TLS session", "broker at ", c->peer);
            return -1;
        case KWI_TLS_ERROR:
            kwi_conn_fail(c, &err);
            return -1;
        }
        return -1;
    }
    for (;;) {
        ssize_t n = kwi_transport_send(c->o.transport, c->fd, buf, len);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        fail_msg(c, KW_ERR_IO, "sending to %s: %s", c->peer, strerror(errno));
        return -1;
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

static void
complete_noacks(kwi_conn *c)
{
    kwi_req *q;
    while (!c->doomed && (q = c->noack.head) && q->out_end <= c->out_written) {
        kwi_resp r = {q->api_key, q->ver, NULL, c->o.node_id, 0};
        kwi_conn_complete(c, q, KW_ERR_OK, NULL, &r);
    }
}

void
kwi_conn_io_flush(kwi_conn *c)
{
    size_t budget = WRITE_BUDGET;
    while (!gone(c) && out_pending(c) && budget > 0) {
        size_t n = kw_wr_len(&c->out) - c->out_off;
        if (n > budget)
            n = budget;
        ssize_t w = xport_send(c, c->out.base + c->out_off, n);
        if (w <= 0)
            break;
        c->out_off += (size_t)w;
        c->out_written += (uint64_t)w;
        c->st.bytes_out += (uint64_t)w;
        budget -= (size_t)w;
        kwi_conn_touch(c);
    }
    if (gone(c))
        return;
    size_t len = kw_wr_len(&c->out);
    if (c->out_off == len) {
        c->out.p = c->out.base;
        c->out_off = 0;
    } else if (c->out_off >= OUT_COMPACT && c->out_off * 2 >= len) {
        /* Keep the buffer from creeping forward forever under steady load. */
        memmove(c->out.base, c->out.base + c->out_off, len - c->out_off);
        c->out.p = c->out.base + (len - c->out_off);
        c->out_off = 0;
    }
    complete_noacks(c);
    if (!gone(c) && c->reauth && !c->sasl && c->wire.n == 0 && c->noack.n == 0)
        kwi_conn_setup_reauth(c);
    if (!gone(c))
        kwi_conn_io_update_interest(c);
}

static void
rollback(kw_wr *w, size_t start)
{
    w->p = w->base + start;
    w->err = KW_ERR_OK;
    w->flags = 0;
}

kw_err
kwi_conn_io_encode(kwi_conn *c, kwi_req *q, int16_t ver, kw_error *err)
{
    const kw_msgdef *d = kw_msgdef_by_key(q->api_key, false);
    kw_wr *w = &c->out;
    size_t start = kw_wr_len(w);
    kw_req_hdr h;
    memset(&h, 0, sizeof(h));
    h.api_key = q->api_key;
    h.api_version = ver;
    h.correlation_id = c->next_corr;
    h.client_id = c->client_id ? kw_slice_str(c->client_id) : KW_SLICE_NULL;
    kw_wr_set_flex(w, false);
    kw_wr_i32(w, 0); /* the size, patched below */
    kw_err e = kw_req_hdr_encode(w, kw_req_hdr_version(d, ver), &h);
    if (e == KW_ERR_OK)
        e = q->encode ? q->encode(w, ver, q->encode_ud) : kw_msg_encode(d, ver, w, q->msg);
    if (e == KW_ERR_OK)
        e = kw_wr_finish(w);
    size_t size = kw_wr_len(w) - start - 4;
    if (e == KW_ERR_OK && size > INT32_MAX)
        e = KW_ERR_TOO_LARGE;
    if (e != KW_ERR_OK) {
        rollback(w, start);
        char api[32];
        return kw_error_set(err, e, "cannot encode %s v%d for broker %d: %s",
                            kwi_api_name(q->api_key, api, sizeof(api)), (int)ver, (int)c->o.node_id,
                            kw_err_str(e));
    }
    kw_wr_patch_i32(w, start, (int32_t)size);
    kw_wr_set_flex(w, false);
    q->corr = c->next_corr;
    c->next_corr = c->next_corr == INT32_MAX ? 0 : c->next_corr + 1;
    q->ver = ver;
    q->out_end = c->out_written + (kw_wr_len(w) - c->out_off);
    return KW_ERR_OK;
}

kw_err
kwi_conn_io_encode_raw(kwi_conn *c, const uint8_t *p, size_t n, kw_error *err)
{
    kw_wr *w = &c->out;
    size_t start = kw_wr_len(w);
    if (n > INT32_MAX)
        return kw_error_set(err, KW_ERR_TOO_LARGE, "SASL token too large");
    kw_wr_i32(w, (int32_t)n);
    kw_wr_raw(w, p, n);
    kw_err e = kw_wr_finish(w);
    if (e != KW_ERR_OK) {
        rollback(w, start);
        return kw_error_set(err, e, "cannot queue a SASL token: %s", kw_err_str(e));
    }
    return KW_ERR_OK;
}

/* Picks the version for a request: the negotiated one, capped by the request, never below
 * kwire's floor, the broker's minimum or the request's minimum. */
static bool
pick_version(kwi_conn *c, const kwi_req *q, int16_t *out, kw_error *err)
{
    char api[32];
    kwi_api_name(q->api_key, api, sizeof(api));
    int16_t kmin, kmax;
    if (!kwi_apiver_client_range(q->api_key, &kmin, &kmax)) {
        kw_error_set(err, KW_ERR_UNSUPPORTED_VERSION, "kwire does not send %s", api);
        return false;
    }
    int16_t bmin = c->av.broker_min[q->api_key], bmax = c->av.broker_max[q->api_key];
    int16_t v = kwi_apiver_get(&c->av, q->api_key);
    if (v < 0) {
        if (bmax < 0)
            kw_error_set(err, KW_ERR_UNSUPPORTED_VERSION, "broker %d does not support %s",
                         (int)c->o.node_id, api);
        else
            kw_error_set(err, KW_ERR_UNSUPPORTED_VERSION,
                         "broker %d supports %s v%d-%d but kwire needs v%d-%d", (int)c->o.node_id,
                         api, bmin, bmax, kmin, kmax);
        return false;
    }
    if (q->max_ver >= 0 && v > q->max_ver)
        v = q->max_ver;
    int16_t lo = kmin > bmin ? kmin : bmin;
    if (q->min_ver > lo)
        lo = q->min_ver;
    if (v < lo) {
        kw_error_set(err, KW_ERR_UNSUPPORTED_VERSION,
                     "broker %d supports %s v%d-%d (kwire v%d-%d) but this request needs "
                     "v%d-%d",
                     (int)c->o.node_id, api, bmin, bmax, kmin, kmax, q->min_ver,
                     q->max_ver >= 0 ? q->max_ver : kmax);
        return false;
    }
    *out = v;
    return true;
}

void
kwi_conn_io_pump(kwi_conn *c)
{
    kwi_req *q;
    /* While a re-authentication waits or runs (KIP-368), nothing new goes out. */
    while (!gone(c) && c->state == KWI_CONN_READY && !c->reauth && (q = c->queue.head) &&
           c->wire.n + c->noack.n < c->o.max_in_flight) {
        kw_error err;
        kw_error_init(&err);
        int16_t ver;
        if (!pick_version(c, q, &ver, &err)) {
            kwi_conn_complete(c, q, err.code, &err, NULL);
            continue;
        }
        if (kwi_conn_io_encode(c, q, ver, &err) != KW_ERR_OK) {
            kwi_conn_complete(c, q, err.code, &err, NULL);
            continue;
        }
        kwi_conn_list_unlink(&c->queue, q);
        kwi_conn_list_push(q->no_response ? &c->noack : &c->wire, q);
        q->sent_us = kwi_conn_now_us();
        c->st.requests++;
    }
    if (!gone(c) && out_pending(c))
        kwi_conn_io_flush(c);
}

/* ---- reading ------------------------------------------------------------------------------ */

static void
record_rtt(kwi_conn *c, int64_t us)
{
    c->rtt[c->rtt_n % KWI_RTT_WINDOW] = us > INT32_MAX ? INT32_MAX : (int32_t)us;
    c->rtt_n++;
}

static void
deliver_response(kwi_conn *c, kwi_req *q, const uint8_t *p, size_t len, int64_t rtt)
{
    const kw_msgdef *d = kw_msgdef_by_key(q->api_key, true);
    char api[32];
    kw_rd r;
    kw_rd_init(&r, p, len);
    kw_resp_hdr h;
    /* Decoders allocate only from this arena, bounded by a multiple of the frame size. */
    c->arena.cap = len * 16 + 65536;
    kw_err e = kw_resp_hdr_decode(&r, kw_resp_hdr_version(d, q->ver), &c->arena, &h);
    void *body = NULL;
    if (e == KW_ERR_OK) {
        body = kw_arena_alloc(&c->arena, d->size);
        e = body ? kw_msg_decode(d, q->ver, &r, &c->arena, body) : KW_ERR_NOMEM;
    }
    if (e != KW_ERR_OK) {
        kw_error err;
        kw_error_init(&err);
        kw_error_set(&err, e, "%s v%d response from broker %d does not parse: %s",
                     kwi_api_name(q->api_key, api, sizeof(api)), (int)q->ver, (int)c->o.node_id,
                     kw_err_str(e));
        err.offset = (int64_t)kw_rd_pos(&r);
        kwi_conn_complete(c, q, e, &err, NULL);
    } else {
        kwi_resp resp = {q->api_key, q->ver, body, c->o.node_id, rtt};
        kwi_conn_complete(c, q, KW_ERR_OK, NULL, &resp);
    }
    kw_arena_reset(&c->arena);
}

/* One complete frame. Returns false when the connection closed meanwhile. */
static bool
handle_frame(kwi_conn *c, const uint8_t *p, size_t len)
{
    if (c->state == KWI_CONN_SASL && c->sasl_step == SASL_RAW) {
        kwi_conn_setup_sasl_raw(c, p, len);
        return !gone(c);
    }
    char a[24], b[24];
    int32_t corr = (int32_t)be32(p);
    kwi_req *q = c->wire.head;
    if (!q) {
        snprintf(a, sizeof(a), "%d", (int)corr);
        fail_msg(c, KW_ERR_MALFORMED, "response with correlation id %s but %s", a,
                 "no request is waiting for one");
        return false;
    }
    if (q->corr != corr) {
        snprintf(a, sizeof(a), "%d", (int)corr);
        snprintf(b, sizeof(b), "%d", (int)q->corr);
        fail_msg(c, KW_ERR_MALFORMED,
                 "response with correlation id %s, expected %s (out of order or unknown)", a, b);
        return false;
    }
    kwi_conn_list_unlink(&c->wire, q);
    int64_t rtt = kwi_conn_now_us() - q->sent_us;
    record_rtt(c, rtt);
    c->st.responses++;
    if (q->internal) {
        const kw_msgdef *d = kw_msgdef_by_key(q->api_key, true);
        kw_rd r;
        kw_rd_init(&r, p, len);
        kw_resp_hdr h;
        if (kw_resp_hdr_decode(&r, kw_resp_hdr_version(d, q->ver), &c->arena, &h) != KW_ERR_OK)
            fail_msg(c, KW_ERR_MALFORMED, "%s%s", "malformed response header from ", c->peer);
        else
            q->on_internal(c, q, r.p, kw_rd_remain(&r));
        kw_arena_reset(&c->arena);
        kwi_conn_req_release(c, q);
    } else {
        deliver_response(c, q, p, len, rtt);
        if (!gone(c) && c->reauth && !c->sasl && c->wire.n == 0 && c->noack.n == 0)
            kwi_conn_setup_reauth(c);
    }
    return !gone(c);
}

/* Checks the size at the head of a frame. Returns false (connection failed) if hostile. */
static bool
frame_size_ok(kwi_conn *c, int32_t size)
{
    char a[24], b[48];
    bool raw = c->state == KWI_CONN_SASL && c->sasl_step == SASL_RAW;
    if (size < 0 || (!raw && size < 4)) {
        snprintf(a, sizeof(a), "%d", (int)size);
        fail_msg(c, KW_ERR_MALFORMED, "broker sent an invalid frame size %s%s", a,
                 " (negative or no room for a correlation id)");
        return false;
    }
    if (size > c->o.max_frame) {
        snprintf(a, sizeof(a), "%d", (int)size);
        snprintf(b, sizeof(b), "%d", (int)c->o.max_frame);
        fail_msg(c, KW_ERR_TOO_LARGE,
                 "broker sent a frame of %s bytes, over receive.message.max.bytes (%s)", a, b);
        return false;
    }
    return true;
}

static bool
process_frames(kwi_conn *c)
{
    while (c->in_len - c->in_off >= 4) {
        int32_t size = (int32_t)be32(c->in + c->in_off);
        if (!frame_size_ok(c, size))
            return false;
        if (c->in_len - c->in_off - 4 < (size_t)size)
            break;
        const uint8_t *p = c->in + c->in_off + 4;
        c->in_off += 4 + (size_t)size;
        kwi_conn_touch(c);
        if (!handle_frame(c, p, (size_t)size))
            return false;
    }
    if (c->in_off == c->in_len) {
        c->in_off = c->in_len = 0;
        /* Do not hold on to a large frame's buffer between large frames. */
        if (c->in_cap > IN_KEEP_MAX) {
            c->a->free(c->a->ud, c->in, c->in_cap);
            c->in = NULL;
            c->in_cap = 0;
        }
    }
    return true;
}

/* Makes room for `need` more bytes after in_len; false on out of memory. */
static bool
in_reserve(kwi_conn *c, size_t need)
{
    if (c->in_cap - c->in_len >= need)
        return true;
    if (c->in_off > 0) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
        if (c->in_cap - c->in_len >= need)
            return true;
    }
    size_t cap = c->in_len + need;
    if (cap < IN_CHUNK)
        cap = IN_CHUNK;
    uint8_t *p =
        c->in ? c->a->realloc(c->a->ud, c->in, c->in_cap, cap) : c->a->alloc(c->a->ud, cap);
    if (!p)
        return false;
    c->in = p;
    c->in_cap = cap;
    return true;
}

void
kwi_conn_io_read(kwi_conn *c)
{
    size_t budget = READ_BUDGET;
    c->read_more = false;
    while (!gone(c) && budget > 0) {
        size_t have = c->in_len - c->in_off, room = IN_CHUNK;
        if (have >= 4) {
            int32_t size = (int32_t)be32(c->in + c->in_off);
            if (!frame_size_ok(c, size))
                return;
            /* Room for the rest of this frame in one go (bounded by the checked size). */
            if (4 + (size_t)size > have && 4 + (size_t)size - have > room)
                room = 4 + (size_t)size - have;
        }
        if (!in_reserve(c, room)) {
            fail_msg(c, KW_ERR_NOMEM, "%s%s", "out of memory receiving from ", c->peer);
            return;
        }
        room = c->in_cap - c->in_len;
        if (room > budget)
            room = budget;
        ssize_t n = xport_recv(c, c->in + c->in_len, room);
        if (n <= 0)
            return;
        c->in_len += (size_t)n;
        c->st.bytes_in += (uint64_t)n;
        budget -= (size_t)n;
        if (!process_frames(c))
            return;
        if (!c->tls && (size_t)n < room)
            return; /* drained: a short read means the socket is empty */
    }
    if (!gone(c) && c->tls && kwi_tls_pending(c->tls) > 0) {
        /* Decrypted bytes do not make the socket readable: come back on the next step. */
        c->read_more = true;
        kwi_reactor_timer_start(c->t_kick, 0);
    }
}

static void
connect_done(kwi_conn *c)
{
    int so = 0;
    socklen_t len = sizeof(so);
    if (c->o.transport)
        so = c->o.transport->connect_error(c->o.transport->ud, c->fd);
    else if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &so, &len) < 0)
        so = errno;
    if (so != 0) {
        fail_msg(c, KW_ERR_IO, "connect to %s: %s", c->peer, strerror(so));
        return;
    }
    kwi_conn_setup_connected(c);
}

static void
on_io(kwi_reactor *r, kwi_io *io, unsigned events, void *ud)
{
    (void)r;
    (void)io;
    kwi_conn *c = ud;
    kwi_conn_enter(c);
    if (c->state == KWI_CONN_CONNECTING) {
        connect_done(c);
    } else if (c->state == KWI_CONN_TLS) {
        kwi_conn_setup_tls(c);
    } else {
        if (events & (KWI_IO_READ | KWI_IO_HUP | KWI_IO_ERROR) ||
            (c->tls_write_wants_r && (events & KWI_IO_READ)))
            kwi_conn_io_read(c);
        if (!gone(c) && (events & KWI_IO_WRITE) && c->tls_read_wants_w)
            kwi_conn_io_read(c);
        if (!gone(c) && out_pending(c))
            kwi_conn_io_flush(c);
        if (!gone(c) && c->state == KWI_CONN_READY && c->queue.n)
            kwi_conn_io_pump(c);
    }
    if (!gone(c))
        kwi_conn_io_update_interest(c);
    kwi_conn_leave(c);
}
