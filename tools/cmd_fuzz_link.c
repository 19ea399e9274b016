/* kwire fuzz: a blocking connection to the broker under test.
 *
 * The fuzzer needs what the client's connection layer (src/net/conn.c) deliberately refuses
 * to do: send bytes it did not encode itself, keep reading after a response it cannot match,
 * and report exactly which frames came back in which order. So it has its own small blocking
 * connection (poll with deadlines; a command-line tool may block), but it reuses the
 * project's TLS engine (kwi_tls) and SASL mechanisms (kwi_sasl) rather than a second
 * implementation of either: security.protocol, ssl.* and sasl.* mean exactly what they mean
 * for kw_client. */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd_fuzz_int.h"
#include "util/conf_int.h"

int64_t
fz_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- settings ------------------------------------------------------------------------------ */

static kw_err
parse_broker(fz_net *n, const char *broker, kw_error *err)
{
    /* One host:port ([v6]:port). A list is accepted and its first entry used: the fuzzer
     * talks to one broker, the one whose robustness is tested. */
    const char *end = strchr(broker, ',');
    size_t len = end ? (size_t)(end - broker) : strlen(broker);
    const char *h = broker, *colon;
    size_t hl;
    if (len > 0 && h[0] == '[') {
        const char *rb = memchr(h, ']', len);
        if (!rb || rb + 1 >= h + len || rb[1] != ':')
            return kw_error_set(err, KW_ERR_CONFIG, "bad broker address '%.*s'", (int)len, h);
        h++;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = NULL;
        for (size_t i = len; i > 0; i--) {
            if (h[i - 1] == ':') {
                colon = h + i - 1;
                break;
            }
        }
        if (!colon)
            return kw_error_set(err, KW_ERR_CONFIG, "broker '%.*s' needs host:port", (int)len, h);
        hl = (size_t)(colon - h);
    }
    char port[8];
    size_t pl = (size_t)(broker + len - (colon + 1));
    if (hl == 0 || hl >= sizeof(n->host) || pl == 0 || pl >= sizeof(port))
        return kw_error_set(err, KW_ERR_CONFIG, "bad broker address '%.*s'", (int)len, broker);
    memcpy(n->host, h, hl);
    n->host[hl] = '\0';
    memcpy(port, colon + 1, pl);
    port[pl] = '\0';
    char *e;
    long p = strtol(port, &e, 10);
    if (*e || p <= 0 || p > 65535)
        return kw_error_set(err, KW_ERR_CONFIG, "bad port in broker '%.*s'", (int)len, broker);
    n->port = (uint16_t)p;
    return KW_ERR_OK;
}

static kw_err
setup_tls(fz_net *n, const kw_conf *conf, kw_error *err)
{
    kwi_tls_conf t;
    kwi_tls_conf_init(&t);
    const char *ca = kwi_conf_str(conf, KWI_CONF_SSL_CA_LOCATION);
    struct stat st;
    if (ca && *ca && stat(ca, &st) == 0 && S_ISDIR(st.st_mode))
        t.ca_dir = ca;
    else if (ca && *ca)
        t.ca_file = ca;
    const char *cert = kwi_conf_str(conf, KWI_CONF_SSL_CERTIFICATE_LOCATION);
    const char *key = kwi_conf_str(conf, KWI_CONF_SSL_KEY_LOCATION);
    const char *pw = kwi_conf_str(conf, KWI_CONF_SSL_KEY_PASSWORD);
    t.cert_file = cert && *cert ? cert : NULL;
    t.key_file = key && *key ? key : NULL;
    t.key_password = pw && *pw ? pw : NULL;
    t.verify_peer = true;
    t.verify_hostname = kwi_conf_int(conf, KWI_CONF_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM) ==
                        KWI_SSL_ENDPOINT_HTTPS;
    return kwi_tls_ctx_new(&t, &n->tls, err);
}

static kw_err
setup_sasl(fz_net *n, const kw_conf *conf, kw_error *err)
{
    kwi_sasl_conf_init(&n->sasl);
    int64_t mech = kwi_conf_int(conf, KWI_CONF_SASL_MECHANISM);
    if (mech == KWI_SASL_GSSAPI) {
        n->sasl.mech = KWI_SASL_GSSAPI;
        n->sasl.kerberos_service_name = kwi_conf_str(conf, KWI_CONF_SASL_KERBEROS_SERVICE_NAME);
        n->sasl.host = n->host;
        n->use_sasl = true;
        return KW_ERR_OK;
    }
    if (mech != KWI_SASL_PLAIN && mech != KWI_SASL_SCRAM_SHA_256 && mech != KWI_SASL_SCRAM_SHA_512)
        return kw_error_set(err, KW_ERR_CONFIG, "security.protocol %s needs sasl.mechanism",
                            kwi_conf_str(conf, KWI_CONF_SECURITY_PROTOCOL));
    n->sasl.mech = (kwi_sasl_mech)mech;
    const char *u = kwi_conf_str(conf, KWI_CONF_SASL_USERNAME);
    const char *p = kwi_conf_str(conf, KWI_CONF_SASL_PASSWORD);
    if (!u || !*u || !p || !*p)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "sasl.mechanism %s needs sasl.username and "
                            "sasl.password",
                            kwi_conf_str(conf, KWI_CONF_SASL_MECHANISM));
    n->sasl_user = strdup(u);
    n->sasl_pass = strdup(p);
    if (!n->sasl_user || !n->sasl_pass)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    n->sasl.username = n->sasl_user;
    n->sasl.password = n->sasl_pass;
    n->use_sasl = true;
    return KW_ERR_OK;
}

kw_err
fz_net_init(fz_net *n, const char *broker, const kw_conf *conf, kw_error *err)
{
    memset(n, 0, sizeof(*n));
    kw_err e = parse_broker(n, broker, err);
    if (e != KW_ERR_OK)
        return e;
    int64_t sec = kwi_conf_int(conf, KWI_CONF_SECURITY_PROTOCOL);
    if (sec == KWI_SECURITY_SSL || sec == KWI_SECURITY_SASL_SSL)
        e = setup_tls(n, conf, err);
    if (e == KW_ERR_OK && (sec == KWI_SECURITY_SASL_PLAINTEXT || sec == KWI_SECURITY_SASL_SSL))
        e = setup_sasl(n, conf, err);
    return e;
}

void
fz_net_fini(fz_net *n)
{
    kwi_tls_ctx_free(n->tls);
    if (n->sasl_pass)
        memset(n->sasl_pass, 0, strlen(n->sasl_pass));
    free(n->sasl_user);
    free(n->sasl_pass);
    memset(n, 0, sizeof(*n));
}

/* ---- socket -------------------------------------------------------------------------------- */

void
fz_link_init(fz_link *l)
{
    memset(l, 0, sizeof(*l));
    l->fd = -1;
    l->next_corr = 1;
}

void
fz_link_close(fz_link *l)
{
    if (l->tls) {
        kw_error e;
        kw_error_init(&e);
        kwi_tls_shutdown(l->tls, &e);
        kwi_tls_free(l->tls);
        l->tls = NULL;
    }
    if (l->fd >= 0)
        close(l->fd);
    l->fd = -1;
    l->in_len = 0;
    l->consumed = 0;
}

void
fz_link_fini(fz_link *l)
{
    fz_link_close(l);
    free(l->in);
    l->in = NULL;
    l->in_cap = 0;
}

/* Waits for `events` on the socket until the deadline. */
static kw_err
wait_fd(fz_link *l, short events, int64_t deadline_ms, kw_error *err)
{
    for (;;) {
        int64_t left = deadline_ms - fz_now_ms();
        if (left <= 0)
            return kw_error_set(err, KW_ERR_TIMED_OUT, "timed out");
        struct pollfd p = {l->fd, events, 0};
        int rc = poll(&p, 1, (int)(left > 60000 ? 60000 : left));
        if (rc > 0)
            return KW_ERR_OK;
        if (rc < 0 && errno != EINTR)
            return kw_error_set(err, KW_ERR_IO, "poll: %s", strerror(errno));
    }
}

static kw_err
tcp_connect(fz_link *l, const fz_net *n, int64_t deadline_ms, kw_error *err)
{
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)n->port);
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(n->host, port, &hints, &res);
    if (g != 0)
        return kw_error_set(err, KW_ERR_IO, "cannot resolve %s: %s", n->host, gai_strerror(g));
    kw_err e = kw_error_set(err, KW_ERR_IO, "%s:%u: no address", n->host, (unsigned)n->port);
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        l->fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (l->fd < 0)
            continue;
        int rc = connect(l->fd, a->ai_addr, a->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            e = wait_fd(l, POLLOUT, deadline_ms, err);
            int soerr = 0;
            socklen_t sl = sizeof(soerr);
            if (e == KW_ERR_OK && getsockopt(l->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) == 0)
                rc = soerr ? -1 : 0;
            errno = soerr;
        }
        if (rc == 0) {
            /* A case and its probe are two writes: without TCP_NODELAY the probe would wait
             * for the case's ACK (Nagle against delayed ACK, 40 ms a case). */
            int one = 1;
            setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            e = KW_ERR_OK;
            break;
        }
        if (e != KW_ERR_TIMED_OUT)
            e = kw_error_set(err, KW_ERR_IO, "connect to %s:%u: %s", n->host, (unsigned)n->port,
                             strerror(errno));
        close(l->fd);
        l->fd = -1;
    }
    freeaddrinfo(res);
    return e;
}

static kw_err
tls_handshake(fz_link *l, const fz_net *n, int64_t deadline_ms, kw_error *err)
{
    kw_err e = kwi_tls_new(n->tls, l->fd, n->host, &l->tls, err);
    while (e == KW_ERR_OK) {
        kwi_tls_rc rc = kwi_tls_handshake(l->tls, err);
        if (rc == KWI_TLS_OK)
            return KW_ERR_OK;
        if (rc == KWI_TLS_AGAIN_READ || rc == KWI_TLS_AGAIN_WRITE)
            e = wait_fd(l, rc == KWI_TLS_AGAIN_READ ? POLLIN : POLLOUT, deadline_ms, err);
        else
            e = err->code != KW_ERR_OK ? err->code
                                       : kw_error_set(err, KW_ERR_IO, "TLS handshake failed");
    }
    return e;
}

kw_err
fz_link_write(fz_link *l, const void *buf, size_t len, int64_t deadline_ms, kw_error *err)
{
    const uint8_t *p = buf;
    while (len > 0) {
        if (l->fd < 0)
            return kw_error_set(err, KW_ERR_IO, "not connected");
        size_t n = 0;
        short want = POLLOUT;
        if (l->tls) {
            kwi_tls_rc rc = kwi_tls_write(l->tls, p, len, &n, err);
            if (rc == KWI_TLS_AGAIN_READ)
                want = POLLIN;
            else if (rc == KWI_TLS_CLOSED || rc == KWI_TLS_ERROR)
                return kw_error_set(err, KW_ERR_IO, "the broker closed the connection");
        } else {
            ssize_t w = send(l->fd, p, len, MSG_NOSIGNAL);
            if (w < 0 && errno != EAGAIN && errno != EINTR)
                return kw_error_set(err, KW_ERR_IO, "send: %s", strerror(errno));
            n = w > 0 ? (size_t)w : 0;
        }
        p += n;
        len -= n;
        if (len > 0 && n == 0) {
            kw_err e = wait_fd(l, want, deadline_ms, err);
            if (e != KW_ERR_OK)
                return e;
        }
    }
    return KW_ERR_OK;
}

/* Reads what is available into l->in; waits until the deadline for at least one byte. */
static kw_err
fill(fz_link *l, int64_t deadline_ms, kw_error *err)
{
    if (l->in_cap - l->in_len < 65536) {
        size_t cap = l->in_cap ? l->in_cap * 2 : 131072;
        uint8_t *nb = realloc(l->in, cap);
        if (!nb)
            return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        l->in = nb;
        l->in_cap = cap;
    }
    for (;;) {
        size_t n = 0;
        short want = POLLIN;
        uint8_t *dst = l->in + l->in_len;
        size_t room = l->in_cap - l->in_len;
        if (l->tls) {
            kwi_tls_rc rc = kwi_tls_read(l->tls, dst, room, &n, err);
            if (rc == KWI_TLS_OK && n > 0) {
                l->in_len += n;
                return KW_ERR_OK;
            }
            if (rc == KWI_TLS_CLOSED || rc == KWI_TLS_ERROR)
                return kw_error_set(err, KW_ERR_IO, "the broker closed the connection");
            if (rc == KWI_TLS_AGAIN_WRITE)
                want = POLLOUT;
        } else {
            ssize_t r = recv(l->fd, dst, room, 0);
            if (r > 0) {
                l->in_len += (size_t)r;
                return KW_ERR_OK;
            }
            if (r == 0)
                return kw_error_set(err, KW_ERR_IO, "the broker closed the connection");
            if (errno != EAGAIN && errno != EINTR)
                return kw_error_set(err, KW_ERR_IO, "recv: %s", strerror(errno));
        }
        kw_err e = wait_fd(l, want, deadline_ms, err);
        if (e != KW_ERR_OK)
            return e;
    }
}

kw_err
fz_link_read(fz_link *l, int64_t deadline_ms, const uint8_t **frame, size_t *len, kw_error *err)
{
    if (l->consumed) {
        memmove(l->in, l->in + l->consumed, l->in_len - l->consumed);
        l->in_len -= l->consumed;
        l->consumed = 0;
    }
    for (;;) {
        if (l->fd < 0)
            return kw_error_set(err, KW_ERR_IO, "not connected");
        if (l->in_len >= 4) {
            int32_t sz = (int32_t)((uint32_t)l->in[0] << 24 | (uint32_t)l->in[1] << 16 |
                                   (uint32_t)l->in[2] << 8 | l->in[3]);
            if (sz < 0 || sz > FZ_MAX_FRAME)
                return kw_error_set(err, KW_ERR_MALFORMED, "response frame size %d", (int)sz);
            if (l->in_len - 4 >= (size_t)sz) {
                *frame = l->in + 4;
                *len = (size_t)sz;
                l->consumed = 4 + (size_t)sz;
                return KW_ERR_OK;
            }
            if (l->in_cap < 4 + (size_t)sz + 65536) {
                uint8_t *nb = realloc(l->in, 4 + (size_t)sz + 65536);
                if (!nb)
                    return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
                l->in = nb;
                l->in_cap = 4 + (size_t)sz + 65536;
            }
        }
        kw_err e = fill(l, deadline_ms, err);
        if (e != KW_ERR_OK)
            return e;
    }
}

/* ---- setup exchanges ----------------------------------------------------------------------- */

kw_err
fz_link_call(fz_link *l, const kw_msgdef *req, int16_t ver, const void *m, void *resp, kw_arena *ar,
             int64_t deadline_ms, kw_error *err)
{
    const kw_msgdef *rd = kw_msgdef_by_key(req->api_key, true);
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, FZ_MAX_REQUEST);
    kw_req_hdr h = {req->api_key, ver, l->next_corr++, kw_slice_str(FZ_CLIENT_ID), {NULL, 0}};
    kw_wr_i32(&w, 0);
    kw_req_hdr_encode(&w, kw_req_hdr_version(req, ver), &h);
    kw_err e = kw_msg_encode(req, ver, &w, m);
    if (e == KW_ERR_OK && kw_wr_finish(&w) == KW_ERR_OK) {
        kw_wr_patch_i32(&w, 0, (int32_t)(kw_wr_len(&w) - 4));
        e = fz_link_write(l, w.base, kw_wr_len(&w), deadline_ms, err);
    } else {
        e = kw_error_set(err, e ? e : kw_wr_finish(&w), "cannot encode %s v%d", req->name, ver);
    }
    kw_wr_fini(&w);
    const uint8_t *f;
    size_t n;
    if (e == KW_ERR_OK)
        e = fz_link_read(l, deadline_ms, &f, &n, err);
    if (e != KW_ERR_OK)
        return e;
    kw_rd r;
    kw_rd_init(&r, f, n);
    kw_resp_hdr rh;
    if (kw_resp_hdr_decode(&r, kw_resp_hdr_version(rd, ver), ar, &rh) != KW_ERR_OK ||
        rh.correlation_id != h.correlation_id)
        return kw_error_set(err, KW_ERR_MALFORMED, "%s v%d: bad response header", rd->name, ver);
    if (kw_msg_decode(rd, ver, &r, ar, resp) != KW_ERR_OK)
        return kw_error_set(err, KW_ERR_MALFORMED, "%s v%d does not parse", rd->name, ver);
    return KW_ERR_OK;
}

static kw_err
api_versions(fz_link *l, fz_versions *v, int64_t deadline_ms, kw_error *err)
{
    /* v0: every broker answers it, whatever it supports (librdkafka's mock answers v3+ with a
     * malformed body), and it lists every key. */
    kw_api_versions_req q;
    kw_api_versions_resp p;
    memset(&q, 0, sizeof(q));
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_err e = fz_link_call(l, &kw_msg_api_versions_req, 0, &q, &p, &ar, deadline_ms, err);
    if (e == KW_ERR_OK && p.error_code != 0)
        e = kw_error_set(err, KW_ERR_BROKER, "ApiVersions: broker error %d", p.error_code);
    if (e == KW_ERR_OK && v) {
        for (int i = 0; i < FZ_MAX_KEYS; i++)
            v->min[i] = v->max[i] = -1;
        for (int32_t i = 0; i < p.n_api_keys; i++) {
            const kw_api_version *a = &p.api_keys[i];
            if (a->api_key >= 0 && a->api_key < FZ_MAX_KEYS && a->min_version >= 0 &&
                a->min_version <= a->max_version) {
                v->min[a->api_key] = a->min_version;
                v->max[a->api_key] = a->max_version;
            }
        }
    }
    kw_arena_fini(&ar);
    return e;
}

/* SaslHandshake v1 then SaslAuthenticate v0 (KIP-152), each token produced by kwire's SASL
 * mechanism. */
static kw_err
sasl_auth(fz_link *l, const fz_net *n, int64_t deadline_ms, kw_error *err)
{
    kwi_sasl *s = NULL;
    kw_err e = kwi_sasl_new(&n->sasl, &s, err);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_sasl_handshake_req hq = {kw_slice_str(e == KW_ERR_OK ? kwi_sasl_name(s) : "")};
    kw_sasl_handshake_resp hp;
    if (e == KW_ERR_OK)
        e = fz_link_call(l, &kw_msg_sasl_handshake_req, 1, &hq, &hp, &ar, deadline_ms, err);
    if (e == KW_ERR_OK && hp.error_code != 0)
        e = kw_error_set(err, KW_ERR_AUTH, "SaslHandshake: broker error %d (%s)", hp.error_code,
                         kw_broker_err_name(hp.error_code));
    kwi_sasl_out out;
    if (e == KW_ERR_OK)
        e = kwi_sasl_start(s, &out, err);
    while (e == KW_ERR_OK && !out.done) {
        kw_sasl_authenticate_req aq = {{out.ptr, (int32_t)out.len}, {NULL, 0}};
        kw_sasl_authenticate_resp ap;
        kw_arena_reset(&ar);
        e = fz_link_call(l, &kw_msg_sasl_authenticate_req, 0, &aq, &ap, &ar, deadline_ms, err);
        if (e == KW_ERR_OK && ap.error_code != 0)
            e = kw_error_set(err, KW_ERR_AUTH, "SASL authentication failed: %s %.*s",
                             kw_broker_err_name(ap.error_code),
                             ap.error_message.len > 0 ? (int)ap.error_message.len : 0,
                             ap.error_message.len > 0 ? (const char *)ap.error_message.ptr : "");
        if (e == KW_ERR_OK)
            e = kwi_sasl_step(s, ap.auth_bytes.len > 0 ? ap.auth_bytes.ptr : NULL,
                              ap.auth_bytes.len > 0 ? (size_t)ap.auth_bytes.len : 0, &out, err);
    }
    kwi_sasl_free(s);
    kw_arena_fini(&ar);
    return e;
}

kw_err
fz_link_open(fz_link *l, const fz_net *n, fz_versions *v, int64_t deadline_ms, kw_error *err)
{
    fz_link_close(l);
    kw_err e = tcp_connect(l, n, deadline_ms, err);
    if (e == KW_ERR_OK && n->tls)
        e = tls_handshake(l, n, deadline_ms, err);
    if (e == KW_ERR_OK)
        e = api_versions(l, v, deadline_ms, err);
    if (e == KW_ERR_OK && n->use_sasl)
        e = sasl_auth(l, n, deadline_ms, err);
    if (e != KW_ERR_OK)
        fz_link_close(l);
    return e;
}
