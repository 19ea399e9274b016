/* The TLS engine of a build without TLS (-Dtls=disabled, or OpenSSL not found): no OpenSSL
 * anywhere. Contexts and sessions cannot be created, so the session calls are unreachable in
 * practice; they still answer with the same clear error instead of crashing. */
#include <string.h>

#include "net/tls.h"

#define NO_TLS "kwire was built without TLS (-Dtls=disabled)"

bool
kwi_tls_available(void)
{
    return false;
}

void
kwi_tls_conf_init(kwi_tls_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->verify_peer = true;
    c->verify_hostname = true;
}

kw_err
kwi_tls_ctx_new(const kwi_tls_conf *c, kwi_tls_ctx **out, kw_error *err)
{
    (void)c;
    if (out)
        *out = NULL;
    return kw_error_set(err, KW_ERR_CONFIG, NO_TLS);
}

void
kwi_tls_ctx_free(kwi_tls_ctx *ctx)
{
    (void)ctx;
}

kw_err
kwi_tls_new(kwi_tls_ctx *ctx, int fd, const char *host, kwi_tls **out, kw_error *err)
{
    (void)ctx;
    (void)fd;
    (void)host;
    if (out)
        *out = NULL;
    return kw_error_set(err, KW_ERR_CONFIG, NO_TLS);
}

void
kwi_tls_free(kwi_tls *t)
{
    (void)t;
}

static kwi_tls_rc
unsupported(kw_error *err)
{
    kw_error_set(err, KW_ERR_CONFIG, NO_TLS);
    return KWI_TLS_ERROR;
}

kwi_tls_rc
kwi_tls_handshake(kwi_tls *t, kw_error *err)
{
    (void)t;
    return unsupported(err);
}

kwi_tls_rc
kwi_tls_read(kwi_tls *t, void *buf, size_t len, size_t *n, kw_error *err)
{
    (void)t;
    (void)buf;
    (void)len;
    *n = 0;
    return unsupported(err);
}

kwi_tls_rc
kwi_tls_write(kwi_tls *t, const void *buf, size_t len, size_t *n, kw_error *err)
{
    (void)t;
    (void)buf;
    (void)len;
    *n = 0;
    return unsupported(err);
}

kwi_tls_rc
kwi_tls_shutdown(kwi_tls *t, kw_error *err)
{
    (void)t;
    return unsupported(err);
}

size_t
kwi_tls_pending(const kwi_tls *t)
{
    (void)t;
    return 0;
}

const char *
kwi_tls_protocol(const kwi_tls *t)
{
    (void)t;
    return "none";
}

const char *
kwi_tls_cipher(const kwi_tls *t)
{
    (void)t;
    return "none";
}

void
kwi_tls_server_conf_init(kwi_tls_server_conf *c)
{
    memset(c, 0, sizeof(*c));
}

kw_err
kwi_tls_server_ctx_new(const kwi_tls_server_conf *c, kwi_tls_ctx **out, kw_error *err)
{
    (void)c;
    if (out)
        *out = NULL;
    return kw_error_set(err, KW_ERR_CONFIG, NO_TLS);
}

kw_err
kwi_tls_accept(kwi_tls_ctx *ctx, int fd, const char *peer, kwi_tls **out, kw_error *err)
{
    (void)ctx;
    (void)fd;
    (void)peer;
    if (out)
        *out = NULL;
    return kw_error_set(err, KW_ERR_CONFIG, NO_TLS);
}

const char *
kwi_tls_peer_subject(kwi_tls *t)
{
    (void)t;
    return NULL;
}
