/* The hostile-broker suite's scripted broker and counting client; see hbroker.h. */
#include "hbroker.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kwire/conf.h"
#include "kwire/msg_meta.h"

const kw_api_version hb_versions[] = {{0, 3, 7, {0}}, {1, 4, 11, {0}}, {2, 1, 5, {0}},
                                      {3, 0, 4, {0}}, {18, 0, 3, {0}}, {22, 0, 1, {0}}};
const int32_t hb_n_versions = 6;

static void *
c_alloc(void *ud, size_t n)
{
    hcount *m = ud;
    void *p = malloc(n ? n : 1);
    if (p && (m->in_use += n) > m->peak)
        m->peak = m->in_use;
    return p;
}

static void *
c_realloc(void *ud, void *p, size_t old, size_t n)
{
    hcount *m = ud;
    void *q = realloc(p, n ? n : 1);
    if (q && (m->in_use = m->in_use - old + n) > m->peak)
        m->peak = m->in_use;
    return q;
}

static void
c_free(void *ud, void *p, size_t n)
{
    hcount *m = ud;
    if (p) {
        free(p);
        m->in_use -= n;
    }
}

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
hb_init(hb *b)
{
    memset(b, 0, sizeof(*b));
    b->fd = -1;
    b->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(b->lfd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(bind(b->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    socklen_t len = sizeof(a);
    ck_assert_int_eq(getsockname(b->lfd, (struct sockaddr *)&a, &len), 0);
    ck_assert_int_eq(listen(b->lfd, 16), 0);
    b->port = ntohs(a.sin_port);
    b->alloc = (kw_allocator){c_alloc, c_realloc, c_free, &b->mem};
}

void
hb_fini(hb *b)
{
    kw_client_free(b->c);
    b->c = NULL;
    if (b->fd >= 0)
        close(b->fd);
    close(b->lfd);
    free(b->buf);
    ck_assert_msg(b->mem.in_use == 0, "%zu bytes left allocated", b->mem.in_use);
}

static void
on_log(void *ud, kw_log_level level, const char *sub, const char *msg)
{
    hb *b = ud;
    (void)level;
    int n = snprintf(b->log + b->log_len, sizeof(b->log) - b->log_len, "%s: %s\n", sub, msg);
    if (n > 0 && (size_t)n < sizeof(b->log) - b->log_len)
        b->log_len += (size_t)n;
}

kw_client *
hb_client(hb *b, const char *const *extra)
{
    kw_conf *conf;
    kw_error err;
    char bs[32];
    snprintf(bs, sizeof(bs), "127.0.0.1:%u", (unsigned)b->port);
    ck_assert_int_eq(kw_conf_new(&b->alloc, &conf), KW_ERR_OK);
    const char *base[] = {"bootstrap.servers",
                          bs,
                          "reconnect.backoff.ms",
                          "10",
                          "reconnect.backoff.max.ms",
                          "50",
                          "retry.backoff.ms",
                          "10",
                          "fetch.max.bytes",
                          "65536",
                          "receive.message.max.bytes",
                          "66048",
                          "buffer.memory",
                          "1048576",
                          "request.timeout.ms",
                          "2000",
                          NULL};
    for (size_t i = 0; base[i]; i += 2)
        ck_assert_int_eq(kw_conf_set(conf, base[i], base[i + 1], &err), KW_ERR_OK);
    for (size_t i = 0; extra && extra[i]; i += 2)
        ck_assert_msg(kw_conf_set(conf, extra[i], extra[i + 1], &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_msg(kw_client_new(conf, &b->c, &err) == KW_ERR_OK, "%s", err.msg);
    kw_client_set_log(b->c, KW_LOG_DEBUG, on_log, b);
    return b->c;
}

void
hb_step(hb *b)
{
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_client_step(b->c, 5, &err), KW_ERR_OK);
}

bool
hb_wait(hb *b, const bool *flag, int ms)
{
    int64_t end = mono_ms() + ms;
    while (!*flag && mono_ms() < end)
        hb_step(b);
    return *flag;
}

bool
hb_accept(hb *b, int ms)
{
    int64_t end = mono_ms() + ms;
    for (;;) {
        int fd = accept4(b->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            if (b->fd >= 0)
                close(b->fd);
            b->fd = fd;
            b->len = b->consumed = 0;
            return true;
        }
        ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
        if (mono_ms() >= end)
            return false;
        hb_step(b);
    }
}

static uint32_t
be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* > 0 bytes read, 0 nothing now, -1 closed. */
static ssize_t
pull(hb *b)
{
    if (b->cap - b->len < 65536) {
        b->cap = b->cap ? b->cap * 2 : 131072;
        b->buf = realloc(b->buf, b->cap);
        ck_assert_ptr_nonnull(b->buf);
    }
    ssize_t n = recv(b->fd, b->buf + b->len, b->cap - b->len, 0);
    if (n > 0) {
        b->len += (size_t)n;
        return n;
    }
    if (n == 0 || errno == ECONNRESET)
        return -1;
    ck_assert(errno == EAGAIN || errno == EWOULDBLOCK);
    return 0;
}

static void
parse(hb *b, hframe *f)
{
    size_t size = be32(b->buf);
    int16_t key = (int16_t)(b->buf[4] << 8 | b->buf[5]);
    int16_t ver = (int16_t)(b->buf[6] << 8 | b->buf[7]);
    const kw_msgdef *d = kw_msgdef_by_key(key, false);
    ck_assert_ptr_nonnull(d);
    kw_rd r;
    kw_rd_init(&r, b->buf + 4, size);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_req_hdr h;
    ck_assert_int_eq(kw_req_hdr_decode(&r, kw_req_hdr_version(d, ver), &ar, &h), KW_ERR_OK);
    kw_arena_fini(&ar);
    f->api_key = key;
    f->ver = ver;
    f->corr = h.correlation_id;
    f->body = r.p;
    f->body_len = kw_rd_remain(&r);
    b->consumed = 4 + size;
}

int
hb_read(hb *b, hframe *f, int ms)
{
    if (b->fd < 0)
        return -1;
    if (b->consumed) {
        memmove(b->buf, b->buf + b->consumed, b->len - b->consumed);
        b->len -= b->consumed;
        b->consumed = 0;
    }
    int64_t end = mono_ms() + ms;
    for (;;) {
        if (b->len >= 4 && b->len - 4 >= be32(b->buf)) {
            parse(b, f);
            return 1;
        }
        ssize_t n = pull(b);
        if (n < 0)
            return -1;
        if (n == 0) {
            if (mono_ms() >= end)
                return 0;
            hb_step(b);
        }
    }
}

size_t
hb_encode(int16_t api_key, int16_t ver, const void *msg, uint8_t *out, size_t cap)
{
    const kw_msgdef *d = kw_msgdef_by_key(api_key, true);
    kw_wr w;
    kw_wr_init_fixed(&w, out, cap);
    if (kw_resp_hdr_version(d, ver) >= 1)
        kw_wr_uvarint(&w, 0);
    ck_assert_int_eq(kw_msg_encode(d, ver, &w, msg), KW_ERR_OK);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);
    return kw_wr_len(&w);
}

static bool
answer_apiversions(hb *b, const hframe *f)
{
    kw_api_versions_resp r;
    memset(&r, 0, sizeof(r));
    r.api_keys = (kw_api_version *)hb_versions;
    r.n_api_keys = hb_n_versions;
    r.finalized_features_epoch = -1;
    uint8_t out[512];
    size_t n = hb_encode(18, f->ver, &r, out, sizeof(out));
    return hb_reply(b, f->corr, out, n);
}

bool
hb_handshake(hb *b, int ms)
{
    int64_t end = mono_ms() + ms;
    while (mono_ms() < end) {
        if (!hb_accept(b, (int)(end - mono_ms())))
            return false;
        hframe f;
        int r = hb_read(b, &f, (int)(end - mono_ms()));
        if (r == 1) {
            ck_assert_int_eq(f.api_key, 18);
            if (answer_apiversions(b, &f))
                return true;
        }
        /* A socket the client gave up on before we accepted it: take the next one. */
    }
    return false;
}

bool
hb_expect(hb *b, int16_t api_key, hframe *f, int ms)
{
    int64_t end = mono_ms() + ms;
    while (mono_ms() < end) {
        if (hb_read(b, f, (int)(end - mono_ms())) != 1)
            return false;
        if (f->api_key == api_key)
            return true;
        if (f->api_key == 18)
            answer_apiversions(b, f);
    }
    return false;
}

bool
hb_eof(hb *b, int ms)
{
    int64_t end = mono_ms() + ms;
    while (mono_ms() < end) {
        if (pull(b) < 0)
            return true;
        hb_step(b);
    }
    return false;
}

bool
hb_raw(hb *b, const void *p, size_t n)
{
    const uint8_t *q = p;
    while (n) {
        ssize_t w = send(b->fd, q, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EPIPE || errno == ECONNRESET))
            return false; /* the client closed the connection */
        if (w < 0) {
            ck_assert_msg(errno == EAGAIN || errno == EWOULDBLOCK, "send: %s", strerror(errno));
            hb_step(b); /* the client reads meanwhile */
            continue;
        }
        q += w;
        n -= (size_t)w;
    }
    return true;
}

bool
hb_reply(hb *b, int32_t corr, const void *body, size_t n)
{
    uint8_t h[8];
    uint32_t size = (uint32_t)n + 4;
    h[0] = (uint8_t)(size >> 24), h[1] = (uint8_t)(size >> 16), h[2] = (uint8_t)(size >> 8);
    h[3] = (uint8_t)size;
    h[4] = (uint8_t)((uint32_t)corr >> 24), h[5] = (uint8_t)((uint32_t)corr >> 16);
    h[6] = (uint8_t)((uint32_t)corr >> 8), h[7] = (uint8_t)corr;
    return hb_raw(b, h, 8) && hb_raw(b, body, n);
}

size_t
hb_metadata(hb *b, const hframe *f, uint8_t *out, size_t cap)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_rd r;
    kw_rd_init(&r, f->body, f->body_len);
    kw_metadata_req q;
    ck_assert_int_eq(kw_msg_decode(kw_msgdef_by_key(3, false), f->ver, &r, &ar, &q), KW_ERR_OK);
    kw_metadata_resp_broker br = {1, kw_slice_str("127.0.0.1"), b->port, KW_SLICE_NULL, {0}};
    int32_t nodes[] = {1};
    kw_metadata_resp_partition part = {0, 0, 1, 0, nodes, 1, nodes, 1, NULL, 0, {0}};
    kw_metadata_resp_topic topics[4];
    memset(topics, 0, sizeof(topics));
    int32_t n = q.n_topics < 0 ? 1 : q.n_topics > 4 ? 4 : q.n_topics;
    for (int32_t i = 0; i < n; i++) {
        topics[i].name = q.n_topics < 0 ? kw_slice_str("t") : q.topics[i].name;
        topics[i].partitions = &part;
        topics[i].n_partitions = 1;
        topics[i].topic_authorized_operations = INT32_MIN;
    }
    kw_metadata_resp m;
    memset(&m, 0, sizeof(m));
    m.brokers = &br;
    m.n_brokers = 1;
    m.cluster_id = kw_slice_str("hostile");
    m.controller_id = 1;
    m.topics = topics;
    m.n_topics = n;
    m.cluster_authorized_operations = INT32_MIN;
    size_t len = hb_encode(3, f->ver, &m, out, cap);
    kw_arena_fini(&ar);
    return len;
}

bool
hb_logged(const hb *b, const char *s)
{
    return strstr(b->log, s) != NULL;
}
