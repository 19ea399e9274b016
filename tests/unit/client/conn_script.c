/* See conn_script.h. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn_script.h"
#include "kwire/client.h"

#define SB_STEPS_MAX 2000

static int64_t
vclock(void *ud)
{
    return *(const int64_t *)ud;
}

static void
sc_init(sconn *s)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
    s->cap = 1u << 16;
    s->buf = malloc(s->cap);
}

void
tw_init(tworld *w)
{
    memset(w, 0, sizeof(*w));
    w->now = 1000000;
    kwi_reactor_opts o;
    kwi_reactor_opts_init(&o);
    o.clock.now = vclock;
    o.clock.ud = &w->now;
    ck_assert_int_eq(kwi_reactor_new(&o, &w->r), KW_ERR_OK);
    sc_init(&w->b.c);
    w->b.fd = -1;
    w->b.lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(w->b.lfd, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(w->b.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(w->b.lfd, 8), 0);
    socklen_t len = sizeof(a);
    ck_assert_int_eq(getsockname(w->b.lfd, (struct sockaddr *)&a, &len), 0);
    w->b.port = ntohs(a.sin_port);
}

void
sc_close(sconn *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->len = s->consumed = 0;
}

void
tw_fini(tworld *w)
{
    sc_close(&w->b.c);
    free(w->b.c.buf);
    if (w->b.lfd >= 0)
        close(w->b.lfd);
    kwi_reactor_free(w->r);
}

void
tw_step(tworld *w)
{
    if (w->client) {
        kw_error err;
        ck_assert_int_eq(kw_client_step(w->client, 5, &err), KW_ERR_OK);
        return;
    }
    ck_assert_int_eq(kwi_reactor_step(w->r, 5), KW_ERR_OK);
}

void
tw_advance(tworld *w, int64_t ms)
{
    w->now += ms;
    tw_step(w);
}

void
tw_opts(tworld *w, kwi_conn_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->reactor = w->r;
    o->node_id = 7;
    o->host = "127.0.0.1";
    o->port = w->b.port;
    o->client_id = "cid";
    o->idle_ms = -1;
}

void
sc_accept(tworld *w, sconn *s)
{
    if (!s->buf)
        sc_init(s);
    for (int i = 0; i < SB_STEPS_MAX; i++) {
        int fd = accept4(w->b.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            sc_close(s);
            s->fd = fd;
            return;
        }
        ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
        tw_step(w);
    }
    ck_abort_msg("the connection never connected");
}

void
sb_accept(tworld *w)
{
    sc_accept(w, &w->b.c);
    w->b.fd = w->b.c.fd;
}

static uint32_t
be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Reads what is there; returns bytes read, 0 for nothing, -1 for EOF. */
static ssize_t
pull(sconn *s)
{
    if (s->cap - s->len < 65536) {
        s->cap *= 2;
        s->buf = realloc(s->buf, s->cap);
    }
    ssize_t n = recv(s->fd, s->buf + s->len, s->cap - s->len, MSG_DONTWAIT);
    if (n > 0) {
        s->len += (size_t)n;
        return n;
    }
    if (n == 0)
        return -1;
    ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNRESET, "recv: %d",
                  errno);
    return errno == ECONNRESET ? -1 : 0;
}

static void
parse_frame(sconn *s, sframe *f)
{
    size_t size = be32(s->buf);
    memset(f, 0, sizeof(*f));
    f->frame_len = size;
    kw_rd r;
    kw_rd_init(&r, s->buf + 4, size);
    int16_t key = (int16_t)((s->buf[4] << 8) | s->buf[5]);
    int16_t ver = (int16_t)((s->buf[6] << 8) | s->buf[7]);
    const kw_msgdef *d = kw_msgdef_by_key(key, false);
    ck_assert_ptr_nonnull(d);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_req_hdr h;
    ck_assert_int_eq(kw_req_hdr_decode(&r, kw_req_hdr_version(d, ver), &ar, &h), KW_ERR_OK);
    f->api_key = h.api_key;
    f->api_version = h.api_version;
    f->corr = h.correlation_id;
    if (h.client_id.len > 0 && h.client_id.len < 64)
        memcpy(f->client_id, h.client_id.ptr, (size_t)h.client_id.len);
    kw_arena_fini(&ar);
    f->body = r.p;
    f->body_len = kw_rd_remain(&r);
    s->consumed = 4 + size;
}

void
sc_read(tworld *w, sconn *s, sframe *f)
{
    if (s->consumed) {
        memmove(s->buf, s->buf + s->consumed, s->len - s->consumed);
        s->len -= s->consumed;
        s->consumed = 0;
    }
    for (int i = 0; i < SB_STEPS_MAX; i++) {
        if (s->len >= 4 && s->len - 4 >= be32(s->buf)) {
            parse_frame(s, f);
            return;
        }
        ssize_t n = pull(s);
        ck_assert_msg(n >= 0, "the client closed the connection");
        if (n == 0)
            tw_step(w);
    }
    ck_abort_msg("no request frame arrived");
}

void
sb_read(tworld *w, sframe *f)
{
    sc_read(w, &w->b.c, f);
}

size_t
sc_read_raw(tworld *w, sconn *s, const uint8_t **p)
{
    if (s->consumed) {
        memmove(s->buf, s->buf + s->consumed, s->len - s->consumed);
        s->len -= s->consumed;
        s->consumed = 0;
    }
    for (int i = 0; i < SB_STEPS_MAX; i++) {
        if (s->len >= 4 && s->len - 4 >= be32(s->buf)) {
            size_t n = be32(s->buf);
            *p = s->buf + 4;
            s->consumed = 4 + n;
            return n;
        }
        ssize_t n = pull(s);
        ck_assert_msg(n >= 0, "the client closed the connection");
        if (n == 0)
            tw_step(w);
    }
    ck_abort_msg("no raw frame arrived");
    return 0;
}

bool
sc_quiet(tworld *w, sconn *s)
{
    size_t before = s->len - s->consumed;
    for (int i = 0; i < 20; i++) {
        tw_step(w);
        if (pull(s) != 0)
            break;
    }
    return s->len - s->consumed == before;
}

bool
sb_quiet(tworld *w)
{
    return sc_quiet(w, &w->b.c);
}

void
sc_raw(tworld *w, sconn *s, const void *p, size_t len)
{
    const uint8_t *q = p;
    while (len) {
        ssize_t n = send(s->fd, q, len, MSG_NOSIGNAL);
        if (n < 0) {
            ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
            tw_step(w);
            continue;
        }
        q += n;
        len -= (size_t)n;
    }
}

void
sb_raw(tworld *w, const void *p, size_t len)
{
    sc_raw(w, &w->b.c, p, len);
}

void
sc_reply(tworld *w, sconn *s, int32_t corr, const void *body, size_t len)
{
    uint8_t hdr[8];
    uint32_t size = (uint32_t)(len + 4);
    hdr[0] = (uint8_t)(size >> 24);
    hdr[1] = (uint8_t)(size >> 16);
    hdr[2] = (uint8_t)(size >> 8);
    hdr[3] = (uint8_t)size;
    hdr[4] = (uint8_t)((uint32_t)corr >> 24);
    hdr[5] = (uint8_t)((uint32_t)corr >> 16);
    hdr[6] = (uint8_t)((uint32_t)corr >> 8);
    hdr[7] = (uint8_t)corr;
    sc_raw(w, s, hdr, sizeof(hdr));
    if (len)
        sc_raw(w, s, body, len);
}

void
sc_reply_flex(tworld *w, sconn *s, int32_t corr, const void *body, size_t len)
{
    uint8_t *p = malloc(len + 1);
    p[0] = 0; /* response header v1: an empty tagged-field section */
    memcpy(p + 1, body, len);
    sc_reply(w, s, corr, p, len + 1);
    free(p);
}

void
sb_reply(tworld *w, int32_t corr, const void *body, size_t len)
{
    sc_reply(w, &w->b.c, corr, body, len);
}

void
sb_reply_flex(tworld *w, int32_t corr, const void *body, size_t len)
{
    sc_reply_flex(w, &w->b.c, corr, body, len);
}

bool
sc_eof(tworld *w, sconn *s)
{
    for (int i = 0; i < SB_STEPS_MAX; i++) {
        ssize_t n = pull(s);
        if (n < 0)
            return true;
        if (n == 0)
            tw_step(w);
    }
    return false;
}

bool
sb_eof(tworld *w)
{
    return sc_eof(w, &w->b.c);
}

void
sb_close_client(tworld *w)
{
    sc_close(&w->b.c);
    w->b.fd = -1;
}

size_t
sb_encode(const kw_msgdef *d, int16_t ver, const void *m, uint8_t *buf, size_t cap)
{
    kw_wr wr;
    kw_wr_init_fixed(&wr, buf, cap);
    ck_assert_int_eq(kw_msg_encode(d, ver, &wr, m), KW_ERR_OK);
    return kw_wr_len(&wr);
}

void
sc_apiversions(tworld *w, sconn *s, const sframe *f, const kw_api_version *keys, int32_t n)
{
    ck_assert_int_eq(f->api_key, 18);
    kw_api_versions_resp m;
    memset(&m, 0, sizeof(m));
    m.api_keys = (kw_api_version *)keys;
    m.n_api_keys = n;
    m.finalized_features_epoch = -1;
    uint8_t buf[4096];
    size_t len = sb_encode(&kw_msg_api_versions_resp, f->api_version, &m, buf, sizeof(buf));
    sc_reply(w, s, f->corr, buf, len); /* ApiVersions: header v0 even when flexible */
}

void
sb_apiversions(tworld *w, const sframe *f, const kw_api_version *keys, int32_t n)
{
    sc_apiversions(w, &w->b.c, f, keys, n);
}

void
sb_ready(tworld *w, kwi_conn *c, const kw_api_version *keys, int32_t n)
{
    kwi_conn_connect(c);
    sb_accept(w);
    sframe f;
    sb_read(w, &f);
    sb_apiversions(w, &f, keys, n);
    for (int i = 0; i < SB_STEPS_MAX && kwi_conn_state_get(c) != KWI_CONN_READY; i++)
        tw_step(w);
    ck_assert_str_eq(kwi_conn_state_name(kwi_conn_state_get(c)), "READY");
}
