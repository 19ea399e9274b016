/* A broker connection's setup: resolve the host, connect, TLS handshake, ApiVersions with its
 * fallback dance, then SASL (SaslHandshake v1 + SaslAuthenticate, or the raw-token form after
 * SaslHandshake v0), and READY. Every step fails into kwi_conn_fail, which closes the socket
 * and backs off; the whole setup is bounded by socket.connection.setup.timeout.ms. */
#include <stdio.h>
#include <string.h>

#include "kw_config.h"
#include "net/conn_int.h"

static void
fail_with(kwi_conn *c, kw_error *err, bool fatal)
{
    if (fatal) {
        err->fatal = true;
        err->retriable = false;
    }
    kwi_conn_fail(c, err);
}

/* ---- resolve and connect ------------------------------------------------------------------ */

static void
open_socket(kwi_conn *c)
{
    kw_error err;
    kw_error_init(&err);
    if (kwi_conn_io_open(c, &err) != KW_ERR_OK) {
        fail_with(c, &err, false);
        return;
    }
    kwi_conn_set_state(c, KWI_CONN_CONNECTING, NULL);
}

static void
set_addrs(kwi_conn *c, const kwi_dns_addr *v, size_t n)
{
    c->n_addrs = 0;
    for (size_t i = 0; i < n && c->n_addrs < KWI_CONN_ADDRS_MAX; i++) {
        kwi_sockaddr *s = &c->addrs[c->n_addrs];
        memset(s, 0, sizeof(*s));
        s->len = kwi_dns_addr_sockaddr(&v[i], c->o.port, &s->ss);
        if (s->len > 0)
            c->n_addrs++;
    }
    c->addr_next = 0;
}

static void
on_resolved(kwi_dns_req *q, kw_err rc, const kwi_dns_result *res, const kw_error *derr, void *ud)
{
    (void)q;
    kwi_conn *c = ud;
    /* A cancel comes from kwi_conn_setup_reset, which already left RESOLVING. */
    if (rc == KW_ERR_CANCELED)
        return;
    kwi_conn_enter(c);
    c->dns_req = NULL;
    if (c->state == KWI_CONN_RESOLVING) {
        if (rc == KW_ERR_OK && res)
            set_addrs(c, res->addr, res->n);
        if (c->n_addrs > 0) {
            open_socket(c);
        } else {
            kw_error err;
            kw_error_init(&err);
            kw_error_set(&err, rc == KW_ERR_OK ? KW_ERR_NOT_FOUND : rc, "cannot resolve \"%s\": %s",
                         c->host, derr && derr->msg[0] ? derr->msg : kw_err_str(rc));
            fail_with(c, &err, false);
        }
    }
    kwi_conn_leave(c);
}

void
kwi_conn_setup_start(kwi_conn *c)
{
    kw_error err;
    kw_error_init(&err);
    c->st.connect_attempts++;
    kwi_reactor_timer_start(c->t_state, c->o.setup_timeout_ms);
    if (c->n_addrs > 0) {
        open_socket(c);
        return;
    }
    kwi_dns_addr lit;
    if (kwi_dns_literal(c->host, strlen(c->host), &lit)) {
        set_addrs(c, &lit, 1);
        open_socket(c);
        return;
    }
    if (!c->o.dns) {
        kw_error_set(&err, KW_ERR_NOT_FOUND, "cannot resolve \"%s\": no resolver", c->host);
        fail_with(c, &err, false);
        return;
    }
    if (kwi_dns_resolve(c->o.dns, c->r, c->host, on_resolved, c, &c->dns_req, &err) != KW_ERR_OK) {
        fail_with(c, &err, err.code == KW_ERR_INVALID_ARG);
        return;
    }
    kwi_conn_set_state(c, KWI_CONN_RESOLVING, NULL);
}

void
kwi_conn_setup_reset(kwi_conn *c)
{
    if (c->dns_req) {
        kwi_dns_req *q = c->dns_req;
        c->dns_req = NULL;
        kwi_dns_req_cancel(q);
    }
    if (c->sasl) {
        kwi_sasl_free(c->sasl);
        c->sasl = NULL;
    }
    c->sasl_step = 0;
}

/* ---- ApiVersions ------------------------------------------------------------------------- */

static void send_apiversions(kwi_conn *c);
static void start_sasl(kwi_conn *c);

static void
on_apiversions(kwi_conn *c, kwi_req *q, const uint8_t *body, size_t len)
{
    kw_error err;
    kw_error_init(&err);
    int16_t retry = -1;
    switch (kwi_apiver_response(&c->av, q->ver, body, len, &c->arena, &retry, &err)) {
    case KWI_APIVER_DONE:
        if (c->o.sasl)
            start_sasl(c);
        else
            kwi_conn_became_ready(c);
        break;
    case KWI_APIVER_RETRY:
        if (kwi_log_on(c->log, KWI_LOG_DEBUG))
            kwi_log_write(c->log, KWI_LOG_DEBUG, "conn",
                          "broker %d (%s) rejected ApiVersions v%d; retrying at v%d",
                          (int)c->o.node_id, c->peer, (int)q->ver, (int)retry);
        c->av_ver = retry;
        send_apiversions(c);
        break;
    case KWI_APIVER_FAIL:
        fail_with(c, &err, false);
        break;
    }
}

static void
send_apiversions(kwi_conn *c)
{
    /* v3+ names the client; the broker checks both against [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*...). */
    kw_api_versions_req m;
    memset(&m, 0, sizeof(m));
    m.client_software_name = kw_slice_str("kwire");
    m.client_software_version = kw_slice_str(KW_VERSION);
    kw_error err;
    kw_error_init(&err);
    if (kwi_conn_send_internal(c, KWI_API_API_VERSIONS, c->av_ver, &m, on_apiversions, &err) !=
        KW_ERR_OK)
        fail_with(c, &err, false);
}

static void
start_apiversions(kwi_conn *c)
{
    c->av_ver = KWI_APIVER_FIRST;
    kwi_conn_set_state(c, KWI_CONN_APIVERSIONS, NULL);
    send_apiversions(c);
}

/* ---- TLS ------------------------------------------------------------------------------------ */

void
kwi_conn_setup_tls(kwi_conn *c)
{
    kw_error err;
    kw_error_init(&err);
    switch (kwi_tls_handshake(c->tls, &err)) {
    case KWI_TLS_OK:
        if (kwi_log_on(c->log, KWI_LOG_DEBUG))
            kwi_log_write(c->log, KWI_LOG_DEBUG, "conn", "broker %d (%s): %s, %s",
                          (int)c->o.node_id, c->peer, kwi_tls_protocol(c->tls),
                          kwi_tls_cipher(c->tls));
        start_apiversions(c);
        break;
    case KWI_TLS_AGAIN_READ:
        c->tls_hs_want = KWI_IO_READ;
        break;
    case KWI_TLS_AGAIN_WRITE:
        c->tls_hs_want = KWI_IO_WRITE;
        break;
    case KWI_TLS_CLOSED:
        if (!err.msg[0])
            kw_error_set(&err, KW_ERR_IO, "%s closed the connection during the TLS handshake",
                         c->peer);
        fail_with(c, &err, false);
        break;
    case KWI_TLS_ERROR:
        fail_with(c, &err, err.fatal);
        break;
    }
}

void
kwi_conn_setup_connected(kwi_conn *c)
{
    if (!c->o.tls) {
        start_apiversions(c);
        return;
    }
    kw_error err;
    kw_error_init(&err);
    if (kwi_tls_new(c->o.tls, c->fd, c->host, &c->tls, &err) != KW_ERR_OK) {
        fail_with(c, &err, err.code == KW_ERR_CONFIG);
        return;
    }
    c->tls_hs_want = KWI_IO_WRITE;
    kwi_conn_set_state(c, KWI_CONN_TLS, NULL);
    kwi_conn_setup_tls(c);
}

/* ---- SASL ---------------------------------------------------------------------------------- */

/* KIP-368: re-authenticate at a random point between 85% and 95% of the session lifetime
 * the broker granted, as the Java client does, so the broker never has to cut the link. */
static void
schedule_reauth(kwi_conn *c)
{
    if (c->sasl_lifetime_ms <= 0)
        return;
    int64_t lo = c->sasl_lifetime_ms * 85 / 100, span = c->sasl_lifetime_ms / 10;
    int64_t at = lo + (span > 0 ? (int64_t)((uint64_t)kwi_conn_now_us() % (uint64_t)span) : 0);
    kwi_reactor_timer_start(c->t_reauth, at);
}

static void
sasl_done(kwi_conn *c)
{
    if (kwi_log_on(c->log, KWI_LOG_INFO))
        kwi_log_write(c->log, KWI_LOG_INFO, "conn", "broker %d (%s): %s with %s", (int)c->o.node_id,
                      c->peer, c->reauth ? "re-authenticated" : "authenticated",
                      kwi_sasl_name(c->sasl));
    kwi_sasl_free(c->sasl);
    c->sasl = NULL;
    c->sasl_step = 0;
    schedule_reauth(c);
    if (c->reauth) {
        c->reauth = false;
        kwi_conn_io_pump(c);
        return;
    }
    kwi_conn_became_ready(c);
}

static void on_sasl_auth(kwi_conn *c, kwi_req *q, const uint8_t *body, size_t len);
static void sasl_feed(kwi_conn *c, const uint8_t *p, size_t n, bool raw);

static void
send_token(kwi_conn *c, const kwi_sasl_out *out, bool raw)
{
    kw_error err;
    kw_error_init(&err);
    kw_err e;
    if (raw) {
        c->sasl_step = SASL_RAW;
        e = kwi_conn_io_encode_raw(c, out->ptr, out->len, &err);
        kwi_conn_io_update_interest(c);
        if (e == KW_ERR_OK && out->last) {
            /* The mechanism's final message (GSSAPI): with raw framing the broker sends
             * nothing back, so the exchange ends here; anything sent next queues behind the
             * token on the wire. */
            sasl_feed(c, NULL, 0, true);
            return;
        }
    } else {
        kw_sasl_authenticate_req m;
        memset(&m, 0, sizeof(m));
        m.auth_bytes.ptr = out->ptr;
        m.auth_bytes.len = (int32_t)out->len;
        c->sasl_step = SASL_AUTH;
        e = kwi_conn_send_internal(c, KWI_API_SASL_AUTH, c->sasl_auth_ver, &m, on_sasl_auth, &err);
    }
    if (e != KW_ERR_OK)
        fail_with(c, &err, false);
}

/* One server message into the mechanism; then done, or the next client message. */
static void
sasl_feed(kwi_conn *c, const uint8_t *p, size_t n, bool raw)
{
    kw_error err;
    kw_error_init(&err);
    kwi_sasl_out out;
    if (kwi_sasl_step(c->sasl, p, n, &out, &err) != KW_ERR_OK) {
        fail_with(c, &err, true);
        return;
    }
    if (out.done)
        sasl_done(c);
    else
        send_token(c, &out, raw);
}

static void
on_sasl_auth(kwi_conn *c, kwi_req *q, const uint8_t *body, size_t len)
{
    kw_error err;
    kw_error_init(&err);
    kw_sasl_authenticate_resp m;
    kw_rd r;
    kw_rd_init(&r, body, len);
    if (kw_msg_decode(&kw_msg_sasl_authenticate_resp, q->ver, &r, &c->arena, &m) != KW_ERR_OK) {
        kw_error_set(&err, KW_ERR_MALFORMED, "SaslAuthenticate v%d response does not parse",
                     (int)q->ver);
        fail_with(c, &err, false);
        return;
    }
    if (m.error_code != 0) {
        int ml =
            m.error_message.len > 0 ? (m.error_message.len > 160 ? 160 : m.error_message.len) : 0;
        kw_error_set(&err, KWI_SASL_ERR_AUTH, "SASL authentication with broker %d failed: %s%s%.*s",
                     (int)c->o.node_id, kw_broker_err_name(m.error_code), ml ? ": " : "", ml,
                     ml ? (const char *)m.error_message.ptr : "");
        err.broker_code = m.error_code;
        fail_with(c, &err, true);
        return;
    }
    c->sasl_lifetime_ms = m.session_lifetime_ms;
    size_t n = m.auth_bytes.len > 0 ? (size_t)m.auth_bytes.len : 0;
    sasl_feed(c, n ? m.auth_bytes.ptr : NULL, n, false);
}

void
kwi_conn_setup_sasl_raw(kwi_conn *c, const uint8_t *p, size_t n)
{
    sasl_feed(c, n ? p : NULL, n, true);
}

static void
mechanisms_list(const kw_sasl_handshake_resp *m, char *buf, size_t len)
{
    size_t off = 0;
    buf[0] = '\0';
    for (int32_t i = 0; i < m->n_mechanisms && off + 1 < len; i++) {
        int ml = m->mechanisms[i].len > 0 ? m->mechanisms[i].len : 0;
        int w = snprintf(buf + off, len - off, "%s%.*s", i ? ", " : "", ml,
                         ml ? (const char *)m->mechanisms[i].ptr : "");
        if (w < 0)
            break;
        off += (size_t)w;
    }
}

static void
on_sasl_handshake(kwi_conn *c, kwi_req *q, const uint8_t *body, size_t len)
{
    kw_error err;
    kw_error_init(&err);
    kw_sasl_handshake_resp m;
    kw_rd r;
    kw_rd_init(&r, body, len);
    if (kw_msg_decode(&kw_msg_sasl_handshake_resp, q->ver, &r, &c->arena, &m) != KW_ERR_OK) {
        kw_error_set(&err, KW_ERR_MALFORMED, "SaslHandshake v%d response does not parse",
                     (int)q->ver);
        fail_with(c, &err, false);
        return;
    }
    if (m.error_code != 0) {
        char mechs[128];
        mechanisms_list(&m, mechs, sizeof(mechs));
        kw_error_set(&err, KWI_SASL_ERR_AUTH,
                     "broker %d refused SASL mechanism %s (%s); it enables: %s", (int)c->o.node_id,
                     kwi_sasl_name(c->sasl), kw_broker_err_name(m.error_code),
                     mechs[0] ? mechs : "none");
        err.broker_code = m.error_code;
        fail_with(c, &err, true);
        return;
    }
    kwi_sasl_out out;
    if (kwi_sasl_start(c->sasl, &out, &err) != KW_ERR_OK) {
        fail_with(c, &err, true);
        return;
    }
    /* Handshake v1 (KIP-152): tokens travel in SaslAuthenticate requests. v0: raw frames,
     * which a re-authentication cannot use (KIP-368 needs SaslAuthenticate v1+). */
    bool raw = q->ver < 1 && !c->reauth;
    if (!raw) {
        c->sasl_auth_ver = kwi_apiver_get(&c->av, KWI_API_SASL_AUTH);
        if (c->sasl_auth_ver < 0) {
            kw_error_set(&err, KW_ERR_UNSUPPORTED_VERSION,
                         "broker %d offers SaslHandshake v1 but no SaslAuthenticate",
                         (int)c->o.node_id);
            fail_with(c, &err, true);
            return;
        }
    }
    send_token(c, &out, raw);
}

static void
start_sasl(kwi_conn *c)
{
    kw_error err;
    kw_error_init(&err);
    if (!c->reauth)
        kwi_conn_set_state(c, KWI_CONN_SASL, NULL);
    if (kwi_sasl_new(&c->sasl_conf, &c->sasl, &err) != KW_ERR_OK) {
        fail_with(c, &err, true);
        return;
    }
    int16_t hv = kwi_apiver_get(&c->av, KWI_API_SASL_HS);
    if (hv < 0) {
        kw_error_set(&err, KW_ERR_UNSUPPORTED_VERSION, "broker %d does not offer SaslHandshake",
                     (int)c->o.node_id);
        fail_with(c, &err, true);
        return;
    }
    kw_sasl_handshake_req m;
    m.mechanism = kw_slice_str(kwi_sasl_name(c->sasl));
    c->sasl_step = SASL_HANDSHAKE;
    if (kwi_conn_send_internal(c, KWI_API_SASL_HS, hv, &m, on_sasl_handshake, &err) != KW_ERR_OK)
        fail_with(c, &err, false);
}

void
kwi_conn_setup_reauth(kwi_conn *c)
{
    if (!c->o.sasl || c->sasl)
        return;
    c->reauth = true;
    /* Responses in flight are read first: the exchange must not interleave with them. */
    if (c->wire.n > 0 || c->noack.n > 0)
        return;
    if (kwi_log_on(c->log, KWI_LOG_DEBUG))
        kwi_log_write(c->log, KWI_LOG_DEBUG, "conn", "broker %d (%s): re-authenticating",
                      (int)c->o.node_id, c->peer);
    start_sasl(c);
}
