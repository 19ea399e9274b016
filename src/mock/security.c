/* Security of kwire-mock's listeners: TLS per broker and the per-connection state that carries
 * a TLS session and the SASL exchange (sasl_server.c).
 *
 * A connection gets a kwi_mock_sec when its broker listens with TLS or the cluster has SASL
 * users; otherwise it has none and every hook here is a plain recv/send, so PLAINTEXT costs
 * nothing. The TLS engine (src/net/tls.h) does the socket I/O itself and never blocks; this
 * file maps its "again" results to errno EAGAIN for the connection layer and remembers when a
 * read waits for writability (or a write for readability), which the connection layer then
 * adds to its epoll interest. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "mock_sec.h"

/* ---------------------------------------------------------------- module state */

kw_err
kwi_mock_security_init(kw_mock *m)
{
    kwi_mock_secstate *st = m->a->alloc(m->a->ud, sizeof(*st));
    if (!st)
        return KW_ERR_NOMEM;
    memset(st, 0, sizeof(*st));
    st->n_tls = m->conf.brokers;
    st->tls = m->a->alloc(m->a->ud, (size_t)st->n_tls * sizeof(*st->tls));
    if (!st->tls) {
        m->a->free(m->a->ud, st, sizeof(*st));
        return KW_ERR_NOMEM;
    }
    memset(st->tls, 0, (size_t)st->n_tls * sizeof(*st->tls));
    m->mod[KWI_MOCK_MOD_SECURITY] = st;
    return KW_ERR_OK;
}

void
kwi_mock_security_fini(kw_mock *m)
{
    kwi_mock_secstate *st = m->mod[KWI_MOCK_MOD_SECURITY];
    if (!st)
        return;
    for (int32_t i = 0; i < st->n_tls; i++)
        kwi_tls_ctx_free(st->tls[i]);
    m->a->free(m->a->ud, st->tls, (size_t)st->n_tls * sizeof(*st->tls));
    kwi_mock_sasl_users_free(m, st);
    m->a->free(m->a->ud, st, sizeof(*st));
    m->mod[KWI_MOCK_MOD_SECURITY] = NULL;
}

kwi_mock_secstate *
kwi_mock_secstate_of(kw_mock *m)
{
    return m->mod[KWI_MOCK_MOD_SECURITY];
}

/* ---------------------------------------------------------------- TLS configuration */

void
kw_mock_tls_conf_init(kw_mock_tls_conf *c)
{
    memset(c, 0, sizeof(*c));
}

static void
lock(kw_mock *m)
{
    pthread_mutex_lock(&m->lock);
}

static void
unlock(kw_mock *m)
{
    pthread_mutex_unlock(&m->lock);
}

/* Builds the server context of one listener from the public settings. */
static kw_err
tls_ctx_make(kw_mock *m, const kw_mock_tls_conf *conf, kwi_tls_ctx **out, kw_error *err)
{
    kwi_tls_server_conf sc;
    kwi_tls_server_conf_init(&sc);
    sc.cert_file = conf->cert_file;
    sc.key_file = conf->key_file;
    sc.key_password = conf->key_password;
    sc.client_ca_file = conf->client_ca_file;
    switch (conf->client_auth) {
    case KW_MOCK_TLS_CLIENT_AUTH_NONE:
        sc.client_auth = KWI_TLS_CLIENT_AUTH_NONE;
        break;
    case KW_MOCK_TLS_CLIENT_AUTH_REQUESTED:
        sc.client_auth = KWI_TLS_CLIENT_AUTH_REQUESTED;
        break;
    case KW_MOCK_TLS_CLIENT_AUTH_REQUIRED:
        sc.client_auth = KWI_TLS_CLIENT_AUTH_REQUIRED;
        break;
    default:
        return kw_error_set(err, KW_ERR_INVALID_ARG, "unknown client_auth %d",
                            (int)conf->client_auth);
    }
    sc.alloc = m->a;
    return kwi_tls_server_ctx_new(&sc, out, err);
}

kw_err
kw_mock_tls_set(kw_mock *m, int32_t node_id, const kw_mock_tls_conf *conf, kw_error *err)
{
    if (node_id < 0 || node_id > m->n_brokers)
        return kw_error_set(err, KW_ERR_NOT_FOUND, "no broker %d", (int)node_id);
    int32_t first = node_id ? node_id : 1, last = node_id ? node_id : m->n_brokers;
    /* One context per listener, all built (files loaded, key checked) before any listener
     * changes and outside the lock, so a bad file leaves every listener as it was. */
    kwi_tls_ctx *ctx[KW_MOCK_MAX_BROKERS];
    memset(ctx, 0, sizeof(ctx));
    for (int32_t i = first; conf && i <= last; i++) {
        kw_err e = tls_ctx_make(m, conf, &ctx[i - first], err);
        if (e) {
            for (int32_t j = first; j < i; j++)
                kwi_tls_ctx_free(ctx[j - first]);
            return e;
        }
    }
    lock(m);
    kwi_mock_secstate *st = kwi_mock_secstate_of(m);
    for (int32_t i = first; i <= last; i++) {
        /* The old context lives on in its sessions (reference counted, not atomically): drop
         * this reference under the lock, which the thread that frees sessions holds too. */
        kwi_tls_ctx_free(st->tls[i - 1]);
        st->tls[i - 1] = ctx[i - first];
    }
    unlock(m);
    if (node_id)
        kwi_mock_logf(m, KW_MOCK_LOG_INFO, "broker %d: TLS %s", (int)node_id,
                      conf ? "enabled" : "disabled");
    else
        kwi_mock_logf(m, KW_MOCK_LOG_INFO, "every broker: TLS %s", conf ? "enabled" : "disabled");
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- connections */

static void
peer_name(int fd, char *buf, size_t cap)
{
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    char ip[INET_ADDRSTRLEN] = "?";
    if (getpeername(fd, (struct sockaddr *)&sa, &sl) == 0 && sa.sin_family == AF_INET)
        inet_ntop(AF_INET, &sa.sin_addr, ip, sizeof(ip));
    snprintf(buf, cap, "%s:%d", ip, sl == sizeof(sa) ? (int)ntohs(sa.sin_port) : 0);
}

kw_err
kwi_mock_sec_accept(kwi_mock_broker *b, int fd, uint64_t conn_id, kwi_mock_sec **out)
{
    kw_mock *m = b->m;
    kwi_mock_secstate *st = kwi_mock_secstate_of(m);
    *out = NULL;
    kwi_tls_ctx *ctx = st && b->node_id <= st->n_tls ? st->tls[b->node_id - 1] : NULL;
    bool sasl = st && st->n_users > 0;
    if (!ctx && !sasl)
        return KW_ERR_OK;
    kwi_mock_sec *s = m->a->alloc(m->a->ud, sizeof(*s));
    if (!s)
        return KW_ERR_NOMEM;
    memset(s, 0, sizeof(*s));
    s->m = m;
    s->b = b;
    s->conn_id = conn_id;
    s->sasl_state = sasl ? KWI_SASL_ST_INITIAL : KWI_SASL_ST_NONE;
    if (ctx) {
        char peer[64];
        peer_name(fd, peer, sizeof(peer));
        kw_error err;
        kw_error_init(&err);
        if (kwi_tls_accept(ctx, fd, peer, &s->tls, &err)) {
            m->a->free(m->a->ud, s, sizeof(*s));
            return KW_ERR_NOMEM;
        }
    }
    *out = s;
    return KW_ERR_OK;
}

void
kwi_mock_sec_free(kwi_mock_sec *s)
{
    if (!s)
        return;
    if (s->tls) {
        kwi_tls_shutdown(s->tls, NULL); /* close_notify if the socket takes it; never waits */
        kwi_tls_free(s->tls);
    }
    kwi_mock_sasl_conn_fini(s);
    s->m->a->free(s->m->a->ud, s, sizeof(*s));
}

/* The TLS engine's verdict on a failed session, once per connection, at INFO: a rejected
 * client certificate or a plaintext client on a TLS port is what a test wants to read. */
static void
tls_failed(kwi_mock_sec *s, const kw_error *err)
{
    if (s->tls_logged)
        return;
    s->tls_logged = true;
    kwi_mock_logf(s->m, KW_MOCK_LOG_INFO, "broker %d: connection %llu: %s", (int)s->b->node_id,
                  (unsigned long long)s->conn_id, err->msg);
}

ssize_t
kwi_mock_sec_recv(kwi_mock_sec *s, int fd, void *buf, size_t n)
{
    if (!s || !s->tls)
        return recv(fd, buf, n, 0);
    s->read_wants_write = false;
    size_t got = 0;
    kw_error err;
    kw_error_init(&err);
    switch (kwi_tls_read(s->tls, buf, n, &got, &err)) {
    case KWI_TLS_OK:
        if (!s->tls_up) {
            s->tls_up = true;
            kwi_mock_logf(s->m, KW_MOCK_LOG_DEBUG, "broker %d: connection %llu: %s %s",
                          (int)s->b->node_id, (unsigned long long)s->conn_id,
                          kwi_tls_protocol(s->tls), kwi_tls_cipher(s->tls));
        }
        return (ssize_t)got;
    case KWI_TLS_AGAIN_WRITE:
        s->read_wants_write = true;
        /* fall through */
    case KWI_TLS_AGAIN_READ:
        errno = EAGAIN;
        return -1;
    case KWI_TLS_CLOSED:
        return 0;
    default:
        tls_failed(s, &err);
        errno = ECONNRESET;
        return -1;
    }
}

ssize_t
kwi_mock_sec_send(kwi_mock_sec *s, int fd, const void *buf, size_t n)
{
    if (!s || !s->tls)
        return send(fd, buf, n, MSG_NOSIGNAL);
    s->write_wants_read = false;
    size_t put = 0;
    kw_error err;
    kw_error_init(&err);
    switch (kwi_tls_write(s->tls, buf, n, &put, &err)) {
    case KWI_TLS_OK:
        return (ssize_t)put;
    case KWI_TLS_AGAIN_READ:
        s->write_wants_read = true;
        /* fall through */
    case KWI_TLS_AGAIN_WRITE:
        errno = EAGAIN;
        return -1;
    default:
        tls_failed(s, &err);
        errno = ECONNRESET;
        return -1;
    }
}

unsigned
kwi_mock_sec_interest(const kwi_mock_sec *s)
{
    if (!s)
        return 0;
    return (s->read_wants_write ? KWI_IO_WRITE : 0u) | (s->write_wants_read ? KWI_IO_READ : 0u);
}

void
kwi_mock_sec_events(const kwi_mock_sec *s, unsigned events, bool *read, bool *write)
{
    *read = (events & KWI_IO_READ) != 0;
    *write = (events & KWI_IO_WRITE) != 0;
    if (!s)
        return;
    if (s->read_wants_write && *write)
        *read = true;
    if (s->write_wants_read && *read)
        *write = true;
}

bool
kwi_mock_sec_pending(const kwi_mock_sec *s)
{
    return s && s->tls && kwi_tls_pending(s->tls) > 0;
}
