/* The TLS engine on OpenSSL 3 (built when meson finds OpenSSL: KW_HAVE_TLS).
 *
 * Design notes:
 *   - Socket I/O goes through a small BIO of our own rather than BIO_s_socket, because
 *     BIO_s_socket writes with write(2): a broker that resets the connection would raise
 *     SIGPIPE and kill a daemon that never asked for TLS to touch its signal handling. Ours
 *     uses send(MSG_NOSIGNAL) and records errno, so the error message can say what the socket
 *     said even after OpenSSL has called other functions that clobber errno.
 *   - Each context owns its BIO_METHOD. BIO_get_new_index() is a process-wide counter with
 *     about 127 values, so a fresh index per context would run out; the type number is fixed.
 *   - OpenSSL's error queue is per thread and shared with the application. We clear it before
 *     each call (so SSL_get_error sees only our errors) and drain it after each failure (so a
 *     stale error never lands in another connection's report).
 *   - No read-ahead: OpenSSL then reads exactly one record at a time from the socket, so
 *     SSL_pending() counts every byte that is readable without the socket becoming readable.
 *     (SSL_has_pending() would also count a partial record, and a reactor that trusted it
 *     would spin on a read that returns AGAIN.) */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "net/tls.h"

#define HOST_MAX 253 /* longest DNS name */

struct kwi_tls_ctx {
    kw_allocator alloc;
    SSL_CTX *ssl;
    BIO_METHOD *meth;
    unsigned refs; /* the caller's reference plus one per live session */
    bool verify_peer;
    bool verify_hostname;
    bool server; /* made by kwi_tls_server_ctx_new: sessions accept instead of connect */
};

struct kwi_tls {
    kwi_tls_ctx *ctx;
    SSL *ssl;
    int fd;
    int sock_errno;   /* errno of the last failed recv/send, 0 if none */
    bool eof;         /* recv returned 0 */
    bool established; /* the handshake completed once */
    kwi_tls_rc dead;  /* KWI_TLS_OK while usable, else the status that ended it */
    kw_err dead_code;
    /* The first certificate the verify callback rejected. */
    long verify_code;
    int verify_depth;
    char verify_subject[128];
    char verify_names[128]; /* the leaf's SAN entries, filled on a host-name mismatch */
    char host[HOST_MAX + 1];
    char peer_subject[256]; /* server sessions: the verified client certificate's subject */
};

/* ---- small helpers -------------------------------------------------------------------- */

static const char *
errno_text(int e, char *buf, size_t len)
{
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    return strerror_r(e, buf, len);
#else
    if (strerror_r(e, buf, len) != 0)
        snprintf(buf, len, "errno %d", e);
    return buf;
#endif
}

/* Pops the whole error queue: the first entry (the root cause; later ones are the callers
 * that passed it up) is described in buf, and its code returned (0 = the queue was empty). */
static unsigned long
ossl_reason(char *buf, size_t len)
{
    const char *data = NULL;
    int flags = 0;
    unsigned long first = ERR_get_error_all(NULL, NULL, NULL, &data, &flags);
    if (first == 0) {
        snprintf(buf, len, "unknown OpenSSL error");
        return 0;
    }
    char eb[96];
    /* System errors carry errno as their reason, and OpenSSL 3.0 has no text for it. */
    const char *reason = ERR_SYSTEM_ERROR(first) ? errno_text(ERR_GET_REASON(first), eb, sizeof(eb))
                                                 : ERR_reason_error_string(first);
    if (!reason)
        snprintf(buf, len, "OpenSSL error 0x%08lx", first);
    else if ((flags & ERR_TXT_STRING) && data && *data && !ERR_SYSTEM_ERROR(first))
        snprintf(buf, len, "%s (%s)", reason, data);
    else
        snprintf(buf, len, "%s", reason);
    ERR_clear_error();
    return first;
}

/* ---- the socket BIO --------------------------------------------------------------------- */

static int
bio_read(BIO *b, char *buf, int len)
{
    kwi_tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    ssize_t n;
    do {
        n = recv(t->fd, buf, (size_t)len, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0)
        return (int)n;
    if (n == 0) {
        t->eof = true;
        return 0;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        BIO_set_retry_read(b);
        return -1;
    }
    t->sock_errno = errno;
    return -1;
}

static int
bio_write(BIO *b, const char *buf, int len)
{
    kwi_tls *t = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len <= 0)
        return 0;
    ssize_t n;
    do {
        n = send(t->fd, buf, (size_t)len, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n >= 0)
        return (int)n;
    /* A connect still in progress answers EAGAIN too: wait for writability. */
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        BIO_set_retry_write(b);
        return -1;
    }
    t->sock_errno = errno;
    return -1;
}

static long
bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)num;
    kwi_tls *t = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1; /* nothing is buffered here */
    case BIO_CTRL_EOF:
        /* Lets OpenSSL report SSL_R_UNEXPECTED_EOF_WHILE_READING instead of a bare
         * SSL_ERROR_SYSCALL when the peer closes without close_notify. */
        return t && t->eof;
    case BIO_C_GET_FD:
        if (!t)
            return -1;
        if (ptr)
            *(int *)ptr = t->fd;
        return t->fd;
    default:
        return 0;
    }
}

static BIO_METHOD *
bio_method_new(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "kwire socket");
    if (!m)
        return NULL;
    if (!BIO_meth_set_read(m, bio_read) || !BIO_meth_set_write(m, bio_write) ||
        !BIO_meth_set_ctrl(m, bio_ctrl)) {
        BIO_meth_free(m);
        return NULL;
    }
    return m;
}

/* ---- context ------------------------------------------------------------------------------ */

bool
kwi_tls_available(void)
{
    return true;
}

void
kwi_tls_conf_init(kwi_tls_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->verify_peer = true;
    c->verify_hostname = true;
}

typedef struct key_pass {
    const char *pw;
    bool asked;
} key_pass;

/* Always installed, so OpenSSL never falls back to prompting on a terminal. */
static int
pass_cb(char *buf, int size, int rwflag, void *ud)
{
    (void)rwflag;
    key_pass *p = ud;
    if (!p)
        return -1;
    p->asked = true;
    if (!p->pw || size <= 0)
        return -1;
    size_t n = strlen(p->pw);
    if (n > (size_t)size)
        return -1;
    memcpy(buf, p->pw, n);
    return (int)n;
}

static int
verify_cb(int ok, X509_STORE_CTX *sctx)
{
    if (ok)
        return 1;
    SSL *ssl = X509_STORE_CTX_get_ex_data(sctx, SSL_get_ex_data_X509_STORE_CTX_idx());
    kwi_tls *t = ssl ? SSL_get_app_data(ssl) : NULL;
    if (!t || t->verify_code != X509_V_OK)
        return 0;
    t->verify_code = X509_STORE_CTX_get_error(sctx);
    t->verify_depth = X509_STORE_CTX_get_error_depth(sctx);
    X509 *cert = X509_STORE_CTX_get_current_cert(sctx);
    if (cert)
        X509_NAME_oneline(X509_get_subject_name(cert), t->verify_subject,
                          (int)sizeof(t->verify_subject));
    if (cert && (t->verify_code == X509_V_ERR_HOSTNAME_MISMATCH ||
                 t->verify_code == X509_V_ERR_IP_ADDRESS_MISMATCH)) {
        /* Say which names the certificate does carry: the usual fix is a SAN entry. */
        GENERAL_NAMES *names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
        size_t used = 0;
        for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
            const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
            char ip[INET6_ADDRSTRLEN] = "";
            const char *kind = NULL, *val = NULL;
            if (g->type == GEN_DNS) {
                kind = "DNS";
                val = (const char *)ASN1_STRING_get0_data(g->d.dNSName);
            } else if (g->type == GEN_IPADD) {
                int len = ASN1_STRING_length(g->d.iPAddress);
                const unsigned char *a = ASN1_STRING_get0_data(g->d.iPAddress);
                if (len == 4 || len == 16)
                    inet_ntop(len == 4 ? AF_INET : AF_INET6, a, ip, sizeof(ip));
                kind = "IP";
                val = ip;
            }
            if (!kind || used >= sizeof(t->verify_names))
                continue;
            int w = snprintf(t->verify_names + used, sizeof(t->verify_names) - used, "%s%s:%s",
                             used ? ", " : "", kind, val ? val : "?");
            if (w > 0)
                used += (size_t)w;
        }
        GENERAL_NAMES_free(names);
        if (!names)
            snprintf(t->verify_names, sizeof(t->verify_names), "no subjectAltName");
    }
    return 0;
}

static kw_err
load_trust(kwi_tls_ctx *ctx, const kwi_tls_conf *c, kw_error *err)
{
    char why[160];
    bool has_file = c->ca_file && *c->ca_file;
    bool has_dir = c->ca_dir && *c->ca_dir;
    if (has_file && SSL_CTX_load_verify_file(ctx->ssl, c->ca_file) != 1) {
        ossl_reason(why, sizeof(why));
        return kw_error_set(err, KW_ERR_CONFIG,
                            "ssl.ca.location: cannot load CA certificates from %s: %s", c->ca_file,
                            why);
    }
    if (has_dir) {
        /* OpenSSL looks into the directory lazily and never complains; check it now. */
        struct stat st;
        if (stat(c->ca_dir, &st) != 0 || !S_ISDIR(st.st_mode))
            return kw_error_set(err, KW_ERR_CONFIG, "ssl.ca.location: %s is not a directory",
                                c->ca_dir);
        if (SSL_CTX_load_verify_dir(ctx->ssl, c->ca_dir) != 1) {
            ossl_reason(why, sizeof(why));
            return kw_error_set(err, KW_ERR_CONFIG,
                                "ssl.ca.location: cannot use CA directory %s: %s", c->ca_dir, why);
        }
    }
    if (!has_file && !has_dir && c->verify_peer &&
        SSL_CTX_set_default_verify_paths(ctx->ssl) != 1) {
        ossl_reason(why, sizeof(why));
        return kw_error_set(err, KW_ERR_CONFIG, "cannot load the system's default CA store: %s",
                            why);
    }
    return KW_ERR_OK;
}

static kw_err
load_identity(kwi_tls_ctx *ctx, const kwi_tls_conf *c, kw_error *err)
{
    char why[160];
    bool has_cert = c->cert_file && *c->cert_file;
    bool has_key = c->key_file && *c->key_file;
    if (!has_cert) {
        if (has_key)
            return kw_error_set(err, KW_ERR_CONFIG,
                                "ssl.key.location is set but ssl.certificate.location is not");
        return KW_ERR_OK;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx->ssl, c->cert_file) != 1) {
        ossl_reason(why, sizeof(why));
        return kw_error_set(err, KW_ERR_CONFIG,
                            "ssl.certificate.location: cannot load a certificate chain from "
                            "%s: %s",
                            c->cert_file, why);
    }
    const char *key = has_key ? c->key_file : c->cert_file;
    key_pass pass = {c->key_password, false};
    SSL_CTX_set_default_passwd_cb_userdata(ctx->ssl, &pass);
    int ok = SSL_CTX_use_PrivateKey_file(ctx->ssl, key, SSL_FILETYPE_PEM);
    SSL_CTX_set_default_passwd_cb_userdata(ctx->ssl, NULL);
    if (ok != 1) {
        unsigned long code = ossl_reason(why, sizeof(why));
        if (ERR_GET_LIB(code) == ERR_LIB_X509 &&
            (ERR_GET_REASON(code) == X509_R_KEY_VALUES_MISMATCH ||
             ERR_GET_REASON(code) == X509_R_KEY_TYPE_MISMATCH))
            return kw_error_set(err, KW_ERR_CONFIG,
                                "ssl.key.location: the private key in %s does not match the "
                                "certificate in %s",
                                key, c->cert_file);
        if (pass.asked && !c->key_password)
            return kw_error_set(err, KW_ERR_CONFIG,
                                "ssl.key.location: the private key in %s is encrypted and "
                                "ssl.key.password is not set",
                                key);
        if (pass.asked)
            return kw_error_set(err, KW_ERR_CONFIG,
                                "ssl.key.password: cannot decrypt the private key in %s (wrong "
                                "password?): %s",
                                key, why);
        if (!has_key)
            return kw_error_set(err, KW_ERR_CONFIG,
                                "ssl.key.location is not set and no private key could be loaded "
                                "from the certificate file %s: %s",
                                key, why);
        return kw_error_set(err, KW_ERR_CONFIG,
                            "ssl.key.location: cannot load a private key from %s: %s", key, why);
    }
    if (SSL_CTX_check_private_key(ctx->ssl) != 1) {
        ERR_clear_error();
        return kw_error_set(err, KW_ERR_CONFIG,
                            "ssl.key.location: the private key in %s does not match the "
                            "certificate in %s",
                            key, c->cert_file);
    }
    return KW_ERR_OK;
}

static void
ctx_unref(kwi_tls_ctx *ctx)
{
    if (--ctx->refs > 0)
        return;
    SSL_CTX_free(ctx->ssl);
    BIO_meth_free(ctx->meth);
    kw_allocator a = ctx->alloc;
    a.free(a.ud, ctx, sizeof(*ctx));
}

static kw_err
ctx_setup(kwi_tls_ctx *ctx, const kwi_tls_conf *c, kw_error *err)
{
    ctx->ssl = SSL_CTX_new(TLS_client_method());
    ctx->meth = bio_method_new();
    if (!ctx->ssl || !ctx->meth)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory creating a TLS context");
    if (SSL_CTX_set_min_proto_version(ctx->ssl, TLS1_2_VERSION) != 1)
        return kw_error_set(err, KW_ERR_CONFIG, "cannot require TLS 1.2 or newer");
    /* Kafka brokers never renegotiate; refusing it removes a class of attacks. */
    SSL_CTX_set_options(ctx->ssl, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    /* One record per write call, and the caller's buffer may move between retries (a
     * connection's output queue is compacted while a write waits). */
    SSL_CTX_set_mode(ctx->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_default_passwd_cb(ctx->ssl, pass_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx->ssl, NULL);
    SSL_CTX_set_verify(ctx->ssl, c->verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE,
                       c->verify_peer ? verify_cb : NULL);
    kw_err e = load_trust(ctx, c, err);
    if (e == KW_ERR_OK)
        e = load_identity(ctx, c, err);
    return e;
}

kw_err
kwi_tls_ctx_new(const kwi_tls_conf *c, kwi_tls_ctx **out, kw_error *err)
{
    if (out)
        *out = NULL;
    if (!c || !out)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kwi_tls_ctx_new: NULL argument");
    const kw_allocator *a = c->alloc ? c->alloc : kw_allocator_default();
    kwi_tls_ctx *ctx = a->alloc(a->ud, sizeof(*ctx));
    if (!ctx)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory creating a TLS context");
    memset(ctx, 0, sizeof(*ctx));
    ctx->alloc = *a;
    ctx->refs = 1;
    ctx->verify_peer = c->verify_peer;
    ctx->verify_hostname = c->verify_peer && c->verify_hostname;
    ERR_clear_error();
    kw_err e = ctx_setup(ctx, c, err);
    ERR_clear_error();
    if (e != KW_ERR_OK) {
        ctx_unref(ctx);
        return e;
    }
    *out = ctx;
    return KW_ERR_OK;
}

void
kwi_tls_ctx_free(kwi_tls_ctx *ctx)
{
    if (ctx)
        ctx_unref(ctx);
}

/* ---- server context ------------------------------------------------------------------------ */

void
kwi_tls_server_conf_init(kwi_tls_server_conf *c)
{
    memset(c, 0, sizeof(*c));
}

/* Client certificates: verified against client_ca_file, whose subjects are also announced as
 * the acceptable issuers (so a client holding several certificates picks the right one). */
static kw_err
load_client_cas(kwi_tls_ctx *ctx, const kwi_tls_server_conf *c, kw_error *err)
{
    char why[160];
    if (c->client_auth == KWI_TLS_CLIENT_AUTH_NONE) {
        SSL_CTX_set_verify(ctx->ssl, SSL_VERIFY_NONE, NULL);
        return KW_ERR_OK;
    }
    if (!c->client_ca_file || !*c->client_ca_file)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "TLS listener: client authentication needs a client CA file");
    if (SSL_CTX_load_verify_file(ctx->ssl, c->client_ca_file) != 1) {
        ossl_reason(why, sizeof(why));
        return kw_error_set(err, KW_ERR_CONFIG,
                            "TLS listener: cannot load client CA certificates from %s: %s",
                            c->client_ca_file, why);
    }
    STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(c->client_ca_file);
    if (!names) {
        ossl_reason(why, sizeof(why));
        return kw_error_set(err, KW_ERR_CONFIG, "TLS listener: no CA names in %s: %s",
                            c->client_ca_file, why);
    }
    SSL_CTX_set_client_CA_list(ctx->ssl, names); /* takes ownership */
    int mode = SSL_VERIFY_PEER;
    if (c->client_auth == KWI_TLS_CLIENT_AUTH_REQUIRED)
        mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx->ssl, mode, verify_cb);
    return KW_ERR_OK;
}

static kw_err
server_setup(kwi_tls_ctx *ctx, const kwi_tls_server_conf *c, kw_error *err)
{
    ctx->ssl = SSL_CTX_new(TLS_server_method());
    ctx->meth = bio_method_new();
    if (!ctx->ssl || !ctx->meth)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory creating a TLS context");
    if (SSL_CTX_set_min_proto_version(ctx->ssl, TLS1_2_VERSION) != 1)
        return kw_error_set(err, KW_ERR_CONFIG, "cannot require TLS 1.2 or newer");
    SSL_CTX_set_options(ctx->ssl,
                        SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx->ssl, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_mode(ctx->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_default_passwd_cb(ctx->ssl, pass_cb);
    SSL_CTX_set_default_passwd_cb_userdata(ctx->ssl, NULL);
    if (!c->cert_file || !*c->cert_file)
        return kw_error_set(err, KW_ERR_CONFIG, "TLS listener: no certificate file");
    kwi_tls_conf id;
    kwi_tls_conf_init(&id);
    id.cert_file = c->cert_file;
    id.key_file = c->key_file;
    id.key_password = c->key_password;
    kw_err e = load_identity(ctx, &id, err);
    if (e != KW_ERR_OK && err && strncmp(err->msg, "ssl.", 4) == 0) {
        /* The messages name the client's properties ("ssl.key.location: ..."): keep the
         * reason, say whose files they are. */
        const char *why = strstr(err->msg, ": ");
        char buf[sizeof(err->msg)];
        snprintf(buf, sizeof(buf), "%s", why ? why + 2 : err->msg);
        kw_error_set(err, e, "TLS listener: %s", buf);
    }
    if (e == KW_ERR_OK)
        e = load_client_cas(ctx, c, err);
    return e;
}

kw_err
kwi_tls_server_ctx_new(const kwi_tls_server_conf *c, kwi_tls_ctx **out, kw_error *err)
{
    if (out)
        *out = NULL;
    if (!c || !out)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kwi_tls_server_ctx_new: NULL argument");
    const kw_allocator *a = c->alloc ? c->alloc : kw_allocator_default();
    kwi_tls_ctx *ctx = a->alloc(a->ud, sizeof(*ctx));
    if (!ctx)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory creating a TLS context");
    memset(ctx, 0, sizeof(*ctx));
    ctx->alloc = *a;
    ctx->refs = 1;
    ctx->server = true;
    ctx->verify_peer = c->client_auth != KWI_TLS_CLIENT_AUTH_NONE;
    ERR_clear_error();
    kw_err e = server_setup(ctx, c, err);
    ERR_clear_error();
    if (e != KW_ERR_OK) {
        ctx_unref(ctx);
        return e;
    }
    *out = ctx;
    return KW_ERR_OK;
}

/* ---- session ------------------------------------------------------------------------------ */

static bool
is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static kw_err
session_setup(kwi_tls *t, const char *host)
{
    t->ssl = SSL_new(t->ctx->ssl);
    if (!t->ssl)
        return KW_ERR_NOMEM;
    SSL_set_app_data(t->ssl, t);
    BIO *bio = BIO_new(t->ctx->meth);
    if (!bio)
        return KW_ERR_NOMEM;
    BIO_set_data(bio, t);
    BIO_set_init(bio, 1);
    SSL_set_bio(t->ssl, bio, bio); /* the SSL owns the one reference */
    bool ip = host && *host && is_ip_literal(host);
    /* RFC 6066 §3: SNI carries DNS names only, never an address literal. */
    if (host && *host && !ip && SSL_set_tlsext_host_name(t->ssl, host) != 1)
        return KW_ERR_NOMEM;
    if (t->ctx->verify_hostname) {
        int ok;
        if (ip) {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl), host);
        } else {
            SSL_set_hostflags(t->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            ok = SSL_set1_host(t->ssl, host);
        }
        if (ok != 1)
            return KW_ERR_NOMEM;
    }
    SSL_set_connect_state(t->ssl);
    return KW_ERR_OK;
}

kw_err
kwi_tls_new(kwi_tls_ctx *ctx, int fd, const char *host, kwi_tls **out, kw_error *err)
{
    if (out)
        *out = NULL;
    if (!ctx || !out || fd < 0)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kwi_tls_new: %s",
                            fd < 0 ? "negative fd" : "NULL argument");
    size_t hlen = host ? strlen(host) : 0;
    if (hlen > HOST_MAX)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "TLS host name is longer than %d bytes",
                            HOST_MAX);
    if (ctx->verify_hostname && hlen == 0)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "TLS host name verification needs the broker's host name");
    kwi_tls *t = ctx->alloc.alloc(ctx->alloc.ud, sizeof(*t));
    if (!t)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory creating a TLS session");
    memset(t, 0, sizeof(*t));
    t->ctx = ctx;
    ctx->refs++;
    t->fd = fd;
    t->dead = KWI_TLS_OK;
    t->verify_code = X509_V_OK;
    if (hlen)
        memcpy(t->host, host, hlen + 1);
    else
        snprintf(t->host, sizeof(t->host), "(unnamed host)");
    ERR_clear_error();
    kw_err e = session_setup(t, hlen ? host : NULL);
    ERR_clear_error();
    if (e != KW_ERR_OK) {
        kwi_tls_free(t);
        return kw_error_set(err, e, "out of memory creating a TLS session for %s",
                            hlen ? host : "(unnamed host)");
    }
    *out = t;
    return KW_ERR_OK;
}

void
kwi_tls_free(kwi_tls *t)
{
    if (!t)
        return;
    kwi_tls_ctx *ctx = t->ctx;
    SSL_free(t->ssl);
    ctx->alloc.free(ctx->alloc.ud, t, sizeof(*t));
    ctx_unref(ctx);
}

kw_err
kwi_tls_accept(kwi_tls_ctx *ctx, int fd, const char *peer, kwi_tls **out, kw_error *err)
{
    if (out)
        *out = NULL;
    if (!ctx || !out || fd < 0 || !ctx->server)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kwi_tls_accept: %s",
                            fd < 0 ? "negative fd" : "NULL argument or a client context");
    if (peer && strlen(peer) > HOST_MAX)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "TLS peer name is longer than %d bytes",
                            HOST_MAX);
    kwi_tls *t = ctx->alloc.alloc(ctx->alloc.ud, sizeof(*t));
    if (!t)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory creating a TLS session");
    memset(t, 0, sizeof(*t));
    t->ctx = ctx;
    ctx->refs++;
    t->fd = fd;
    t->dead = KWI_TLS_OK;
    t->verify_code = X509_V_OK;
    snprintf(t->host, sizeof(t->host), "client %s", peer ? peer : "");
    ERR_clear_error();
    kw_err e = KW_ERR_NOMEM;
    BIO *bio = NULL;
    t->ssl = SSL_new(ctx->ssl);
    if (t->ssl)
        bio = BIO_new(ctx->meth);
    if (bio) {
        SSL_set_app_data(t->ssl, t);
        BIO_set_data(bio, t);
        BIO_set_init(bio, 1);
        SSL_set_bio(t->ssl, bio, bio);
        SSL_set_accept_state(t->ssl);
        e = KW_ERR_OK;
    }
    ERR_clear_error();
    if (e != KW_ERR_OK) {
        kw_error_set(err, e, "out of memory creating a TLS session for %s", t->host);
        kwi_tls_free(t);
        return e;
    }
    *out = t;
    return KW_ERR_OK;
}

const char *
kwi_tls_peer_subject(kwi_tls *t)
{
    if (!t || !t->established || !t->ssl)
        return NULL;
    if (!t->peer_subject[0]) {
        X509 *cert = SSL_get0_peer_certificate(t->ssl);
        if (!cert || SSL_get_verify_result(t->ssl) != X509_V_OK)
            return NULL;
        X509_NAME_oneline(X509_get_subject_name(cert), t->peer_subject,
                          (int)sizeof(t->peer_subject));
    }
    return t->peer_subject;
}

/* What a failed call was doing, for messages: until the handshake is done, "handshake with". */
static const char *
op_name(const kwi_tls *t, const char *op)
{
    return t->established ? op : "handshake with";
}

/* Certificate and protocol problems do not go away by reconnecting. */
static void
not_retriable(kw_error *err)
{
    if (err)
        err->retriable = false;
}

static void
verify_error(kwi_tls *t, kw_error *err)
{
    long v = t->verify_code != X509_V_OK ? t->verify_code : SSL_get_verify_result(t->ssl);
    const char *vs = X509_verify_cert_error_string(v);
    const char *subject = t->verify_subject[0] ? t->verify_subject : "?";
    /* KW_ERR_AUTH, not retriable, like SASL failures: the connection layer must not hammer
     * a broker whose certificate we reject (Java: SslAuthenticationException). */
    if (t->ctx->server)
        kw_error_set(err, KW_ERR_AUTH,
                     "TLS handshake with %s failed: the client's certificate did not verify: %s "
                     "(depth %d, subject %s)",
                     t->host, vs, t->verify_depth, subject);
    else if (v == X509_V_ERR_HOSTNAME_MISMATCH || v == X509_V_ERR_IP_ADDRESS_MISMATCH)
        kw_error_set(err, KW_ERR_AUTH,
                     "TLS handshake with %s failed: %s: the broker's certificate (%s) is valid "
                     "for %s, not for \"%s\"",
                     t->host, vs, subject, t->verify_names[0] ? t->verify_names : "?", t->host);
    else
        kw_error_set(err, KW_ERR_AUTH,
                     "TLS handshake with %s failed: certificate verification failed: %s (depth "
                     "%d, subject %s)",
                     t->host, vs, t->verify_depth, subject);
    not_retriable(err);
}

/* Alerts by which the peer rejects our certificate, or us: authentication failures. */
static bool
cert_alert(int alert)
{
    switch (alert) {
    case SSL_AD_HANDSHAKE_FAILURE: /* what TLS 1.2 servers send for a missing client cert */
    case SSL_AD_BAD_CERTIFICATE:
    case SSL_AD_UNSUPPORTED_CERTIFICATE:
    case SSL_AD_CERTIFICATE_REVOKED:
    case SSL_AD_CERTIFICATE_EXPIRED:
    case SSL_AD_CERTIFICATE_UNKNOWN:
    case SSL_AD_UNKNOWN_CA:
    case SSL_AD_ACCESS_DENIED:
    case SSL_AD_CERTIFICATE_REQUIRED:
        return true;
    default:
        return false;
    }
}

/* Describes an SSL_ERROR_SSL whose first queued error is `code` (text `why`). */
static void
ssl_error(kwi_tls *t, unsigned long code, const char *why, const char *op, kw_error *err)
{
    int reason = ERR_GET_LIB(code) == ERR_LIB_SSL ? ERR_GET_REASON(code) : 0;
    if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        verify_error(t, err);
    } else if (t->ctx->server && reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
        kw_error_set(err, KW_ERR_AUTH,
                     "TLS handshake with %s failed: the client sent no certificate and this "
                     "listener requires one",
                     t->host);
        not_retriable(err);
    } else if (t->ctx->server && reason >= SSL_AD_REASON_OFFSET &&
               reason < SSL_AD_REASON_OFFSET + 256) {
        const char *name = ERR_reason_error_string(code);
        const char *p = name ? strstr(name, "alert ") : NULL;
        name = p ? p + 6 : SSL_alert_desc_string_long(reason - SSL_AD_REASON_OFFSET);
        kw_error_set(err, cert_alert(reason - SSL_AD_REASON_OFFSET) ? KW_ERR_AUTH : KW_ERR_IO,
                     "TLS %s %s failed: the client sent the alert \"%s\"", op_name(t, op), t->host,
                     name);
        not_retriable(err);
    } else if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
        int alert = reason - SSL_AD_REASON_OFFSET;
        const char *hint = "";
        if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED)
            hint = ": the broker requires a client certificate (ssl.certificate.location)";
        else if (alert == SSL_AD_PROTOCOL_VERSION)
            hint = ": the broker does not accept TLS 1.2 or newer";
        else if (alert == SSL_AD_UNKNOWN_CA)
            hint = ": the broker does not trust the issuer of our client certificate";
        /* The reason string ("tlsv13 alert certificate required") knows the TLS 1.3 alerts,
         * which SSL_alert_desc_string_long() of OpenSSL 3.0 calls "unknown". */
        const char *name = ERR_reason_error_string(code);
        const char *p = name ? strstr(name, "alert ") : NULL;
        name = p ? p + 6 : SSL_alert_desc_string_long(alert);
        kw_error_set(err, cert_alert(alert) ? KW_ERR_AUTH : KW_ERR_IO,
                     "TLS %s %s failed: the broker sent the alert \"%s\"%s", op_name(t, op),
                     t->host, name, hint);
        not_retriable(err);
    } else if (!t->established &&
               (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
                reason == SSL_R_RECORD_LENGTH_MISMATCH)) {
        kw_error_set(err, KW_ERR_IO,
                     t->ctx->server ? "TLS handshake with %s failed: %s: the client does not speak "
                                      "TLS (security.protocol PLAINTEXT against an SSL listener?)"
                                    : "TLS handshake with %s failed: %s: the peer does not speak "
                                      "TLS (a PLAINTEXT listener? check security.protocol and the "
                                      "port)",
                     t->host, why);
        not_retriable(err);
    } else {
        kw_error_set(err, KW_ERR_IO, "TLS %s %s failed: %s", op_name(t, op), t->host, why);
    }
}

/* Classifies a failed SSL_* call; `op` names it for the message ("read from", ...). Anything
 * but AGAIN ends the session. */
static kwi_tls_rc
fail(kwi_tls *t, int ret, const char *op, kw_error *err)
{
    int e = SSL_get_error(t->ssl, ret);
    if (e == SSL_ERROR_WANT_READ)
        return KWI_TLS_AGAIN_READ;
    if (e == SSL_ERROR_WANT_WRITE)
        return KWI_TLS_AGAIN_WRITE;

    char why[200];
    unsigned long code = 0;
    bool eof;
    if (e == SSL_ERROR_SSL) {
        code = ossl_reason(why, sizeof(why));
        eof = ERR_GET_LIB(code) == ERR_LIB_SSL &&
              ERR_GET_REASON(code) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
    } else {
        ERR_clear_error();
        eof = e == SSL_ERROR_SYSCALL && t->sock_errno == 0;
    }

    kwi_tls_rc rc = KWI_TLS_ERROR;
    if (e == SSL_ERROR_ZERO_RETURN) {
        rc = KWI_TLS_CLOSED;
        kw_error_set(err, KW_ERR_IO, "TLS peer %s closed the session (close_notify)", t->host);
    } else if (!t->established && (t->sock_errno == EPIPE || t->sock_errno == ECONNRESET)) {
        char eb[96];
        kw_error_set(err, KW_ERR_IO,
                     "TLS handshake with %s failed: the peer closed the connection (%s; not a "
                     "TLS listener, or it rejected this client)",
                     t->host, errno_text(t->sock_errno, eb, sizeof(eb)));
    } else if (t->sock_errno != 0) {
        char eb[96];
        kw_error_set(err, KW_ERR_IO, "TLS %s %s failed: %s", op_name(t, op), t->host,
                     errno_text(t->sock_errno, eb, sizeof(eb)));
    } else if (eof && t->established) {
        rc = KWI_TLS_CLOSED;
        kw_error_set(err, KW_ERR_IO, "TLS peer %s closed the connection (without close_notify)",
                     t->host);
    } else if (eof) {
        kw_error_set(err, KW_ERR_IO,
                     "TLS handshake with %s failed: the peer closed the connection (not a TLS "
                     "listener, or it rejected this client)",
                     t->host);
    } else if (e == SSL_ERROR_SSL) {
        ssl_error(t, code, why, op, err);
    } else {
        kw_error_set(err, KW_ERR_IO, "TLS %s %s failed: OpenSSL error class %d", op_name(t, op),
                     t->host, e);
    }
    /* An authentication failure (a certificate that does not verify, a host-name mismatch,
     * the peer rejecting our certificate) does not fix itself: mark it fatal as tls.h
     * promises, so the connection layer fails the waiting requests at once and retries
     * only at the slowest backoff instead of hammering the broker. */
    if (err && err->code == KW_ERR_AUTH) {
        err->fatal = true;
        err->retriable = false;
    }
    t->dead = rc;
    t->dead_code = err ? err->code : KW_ERR_IO;
    return rc;
}

static kwi_tls_rc
dead(kwi_tls *t, kw_error *err)
{
    kw_error_set(err, t->dead_code, "TLS session with %s has already %s", t->host,
                 t->dead == KWI_TLS_CLOSED ? "been closed" : "failed");
    if (err && t->dead_code == KW_ERR_AUTH) {
        err->fatal = true;
        err->retriable = false;
    }
    return t->dead;
}

kwi_tls_rc
kwi_tls_handshake(kwi_tls *t, kw_error *err)
{
    if (t->dead != KWI_TLS_OK)
        return dead(t, err);
    if (t->established)
        return KWI_TLS_OK;
    ERR_clear_error();
    int ret = SSL_do_handshake(t->ssl);
    if (ret == 1) {
        t->established = true;
        ERR_clear_error();
        return KWI_TLS_OK;
    }
    return fail(t, ret, "handshake with", err);
}

kwi_tls_rc
kwi_tls_read(kwi_tls *t, void *buf, size_t len, size_t *n, kw_error *err)
{
    *n = 0;
    if (t->dead != KWI_TLS_OK)
        return dead(t, err);
    if (len == 0)
        return KWI_TLS_OK;
    ERR_clear_error();
    int ret = SSL_read_ex(t->ssl, buf, len, n);
    if (ret == 1) {
        t->established = true;
        return KWI_TLS_OK;
    }
    *n = 0;
    if (SSL_is_init_finished(t->ssl))
        t->established = true;
    return fail(t, ret, "read from", err);
}

kwi_tls_rc
kwi_tls_write(kwi_tls *t, const void *buf, size_t len, size_t *n, kw_error *err)
{
    *n = 0;
    if (t->dead != KWI_TLS_OK)
        return dead(t, err);
    if (len == 0)
        return KWI_TLS_OK;
    ERR_clear_error();
    int ret = SSL_write_ex(t->ssl, buf, len, n);
    if (ret == 1) {
        t->established = true;
        return KWI_TLS_OK;
    }
    *n = 0;
    if (SSL_is_init_finished(t->ssl))
        t->established = true;
    return fail(t, ret, "write to", err);
}

kwi_tls_rc
kwi_tls_shutdown(kwi_tls *t, kw_error *err)
{
    /* OpenSSL forbids SSL_shutdown after a fatal error, and before the handshake there is no
     * session to close. */
    if (t->dead != KWI_TLS_OK || !t->established)
        return KWI_TLS_OK;
    ERR_clear_error();
    int ret = SSL_shutdown(t->ssl);
    if (ret >= 0) {
        ERR_clear_error();
        t->dead = KWI_TLS_CLOSED;
        t->dead_code = KW_ERR_IO;
        return KWI_TLS_OK;
    }
    kwi_tls_rc rc = fail(t, ret, "close_notify to", err);
    if (rc == KWI_TLS_AGAIN_READ) /* a one-way close never waits for the peer */
        rc = KWI_TLS_OK;
    return rc == KWI_TLS_CLOSED ? KWI_TLS_OK : rc;
}

size_t
kwi_tls_pending(const kwi_tls *t)
{
    if (!t || t->dead != KWI_TLS_OK)
        return 0;
    int n = SSL_pending(t->ssl);
    return n > 0 ? (size_t)n : 0;
}

const char *
kwi_tls_protocol(const kwi_tls *t)
{
    return t && t->established ? SSL_get_version(t->ssl) : "none";
}

const char *
kwi_tls_cipher(const kwi_tls *t)
{
    const char *c = t && t->established ? SSL_get_cipher_name(t->ssl) : NULL;
    return c ? c : "none";
}
