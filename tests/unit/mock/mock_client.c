/* The raw test client of mock_client.h. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mock_client.h"

int64_t
mc_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

mc *
mc_connect(kw_mock *m, int32_t node_id, bool threaded)
{
    mc *c = calloc(1, sizeof(*c));
    ck_assert_ptr_nonnull(c);
    c->m = m;
    c->threaded = threaded;
    c->corr = 100;
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(c->fd, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)kw_mock_broker_port(m, node_id));
    /* The listener is already listening: connect completes through the backlog without the
     * mock being stepped. */
    ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    ck_assert_int_eq(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);
    return c;
}

void
mc_close(mc *c)
{
    if (!c)
        return;
    close(c->fd);
    free(c->buf);
    free(c);
}

void
mc_pump(mc *c, int ms)
{
    if (c->threaded) {
        struct pollfd p = {c->fd, POLLIN, 0};
        poll(&p, 1, ms);
        return;
    }
    ck_assert_int_eq(kw_mock_step(c->m, ms), KW_ERR_OK);
}

void
mc_write(mc *c, const void *p, size_t n)
{
    const uint8_t *b = p;
    int64_t deadline = mc_now_ms() + MC_WAIT_MS;
    while (n) {
        ssize_t k = send(c->fd, b, n, MSG_NOSIGNAL);
        if (k > 0) {
            b += k;
            n -= (size_t)k;
            continue;
        }
        ck_assert_msg(k < 0 && (errno == EAGAIN || errno == EINTR), "send: %s", strerror(errno));
        ck_assert_msg(mc_now_ms() < deadline, "the mock does not read");
        mc_pump(c, 5);
    }
}

int32_t
mc_frame(mc *c, kw_wr *w, const kw_msgdef *req, int16_t ver, const void *msg)
{
    size_t start = kw_wr_len(w);
    kw_wr_i32(w, 0);
    kw_req_hdr h = {req->api_key, ver, ++c->corr, kw_slice_str("kwire-test"), {NULL, 0}};
    ck_assert_int_eq(kw_req_hdr_encode(w, kw_req_hdr_version(req, ver), &h), KW_ERR_OK);
    ck_assert_int_eq(kw_msg_encode(req, ver, w, msg), KW_ERR_OK);
    kw_wr_patch_i32(w, start, (int32_t)(kw_wr_len(w) - start - 4));
    return c->corr;
}

int32_t
mc_send(mc *c, const kw_msgdef *req, int16_t ver, const void *msg)
{
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1u << 30);
    int32_t corr = mc_frame(c, &w, req, ver, msg);
    mc_write(c, w.base, kw_wr_len(&w));
    kw_wr_fini(&w);
    return corr;
}

/* Reads what is there; false on EOF. */
static void
fill(mc *c)
{
    for (;;) {
        if (c->cap - c->len < 65536) {
            c->cap = c->cap ? c->cap * 2 : 131072;
            c->buf = realloc(c->buf, c->cap);
            ck_assert_ptr_nonnull(c->buf);
        }
        ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (n > 0) {
            c->len += (size_t)n;
            continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EINTR && errno != EWOULDBLOCK))
            c->eof = true;
        return;
    }
}

static uint8_t *
take_frame(mc *c, size_t *len)
{
    if (c->len < 4)
        return NULL;
    uint32_t n = (uint32_t)c->buf[0] << 24 | (uint32_t)c->buf[1] << 16 | (uint32_t)c->buf[2] << 8 |
                 c->buf[3];
    if (c->len - 4 < n)
        return NULL;
    uint8_t *f = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(f);
    memcpy(f, c->buf + 4, n);
    memmove(c->buf, c->buf + 4 + n, c->len - 4 - n);
    c->len -= 4 + n;
    *len = n;
    return f;
}

uint8_t *
mc_recv_frame(mc *c, int timeout_ms, size_t *len)
{
    int64_t deadline = mc_now_ms() + timeout_ms;
    for (;;) {
        uint8_t *f = take_frame(c, len);
        if (f)
            return f;
        fill(c);
        f = take_frame(c, len);
        if (f || c->eof || mc_now_ms() >= deadline)
            return f;
        mc_pump(c, 5);
    }
}

void
mc_recv(mc *c, const kw_msgdef *resp, int16_t ver, int32_t corr, kw_arena *ar, void *out,
        uint8_t **frame)
{
    size_t len;
    uint8_t *f = mc_recv_frame(c, MC_WAIT_MS, &len);
    ck_assert_msg(f != NULL, "no %s (eof %d)", resp->name, (int)c->eof);
    kw_rd rd;
    kw_rd_init(&rd, f, len);
    kw_resp_hdr h;
    ck_assert_int_eq(kw_resp_hdr_decode(&rd, kw_resp_hdr_version(resp, ver), ar, &h), KW_ERR_OK);
    ck_assert_int_eq(h.correlation_id, corr);
    kw_err e = kw_msg_decode(resp, ver, &rd, ar, out);
    ck_assert_msg(e == KW_ERR_OK, "%s v%d: %s", resp->name, (int)ver, kw_err_name(e));
    *frame = f;
}

void
mc_call(mc *c, const kw_msgdef *req, const kw_msgdef *resp, int16_t ver, const void *msg,
        kw_arena *ar, void *out, uint8_t **frame)
{
    int32_t corr = mc_send(c, req, ver, msg);
    mc_recv(c, resp, ver, corr, ar, out, frame);
}

bool
mc_wait_closed(mc *c, int timeout_ms)
{
    size_t len;
    uint8_t *f = mc_recv_frame(c, timeout_ms, &len);
    if (f) {
        free(f);
        return false;
    }
    return c->eof;
}

bool
mc_quiet(mc *c, int ms)
{
    int64_t deadline = mc_now_ms() + ms;
    while (mc_now_ms() < deadline) {
        mc_pump(c, 2);
        fill(c);
        if (c->len >= 4 || c->eof)
            return false;
    }
    return true;
}

void
mc_batch(kw_wr *w, int n, const char *kprefix, const char *vprefix, int64_t ts, int codec)
{
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    o.attributes = (int16_t)codec;
    kw_batch_builder b;
    ck_assert_int_eq(kw_batch_builder_init(&b, w, &o), KW_ERR_OK);
    for (int i = 0; i < n; i++) {
        char k[64], v[64];
        snprintf(k, sizeof(k), "%s%d", kprefix, i);
        snprintf(v, sizeof(v), "%s%d", vprefix, i);
        ck_assert_int_eq(
            kw_batch_builder_add(&b, ts + i, kw_slice_str(k), kw_slice_str(v), NULL, 0), KW_ERR_OK);
    }
    ck_assert_int_eq(kw_batch_builder_finish(&b, NULL), KW_ERR_OK);
}
