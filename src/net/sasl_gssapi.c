/* SASL GSSAPI (RFC 4752, Kerberos V5) client through cyrus-sasl, as Kafka uses it (KIP-12):
 * authentication only, no security layer.
 *
 *   client  AP-REQ for <service>/<host>@REALM       (kwi_sasl_start)
 *   server  AP-REP (mutual authentication)
 *   client  empty message
 *   server  wrapped 4 bytes: the security layers it offers and its maximum buffer size
 *   client  wrapped 4 bytes: layer 1 ("none"), buffer size 0, no authorization id  (out.last)
 *   server  empty SaslAuthenticate answer (nothing at all with the legacy raw framing)
 *
 * The Kerberos work is cyrus-sasl's GSSAPI plugin over the system's GSS-API library (MIT krb5
 * on Debian: libsasl2-modules-gssapi-mit). Credentials come from the environment as for any
 * Kerberos program: the ticket cache (KRB5CCNAME, else the default cache), or a client keytab
 * (KRB5_CLIENT_KTNAME, else the default client keytab), from which MIT krb5 obtains and caches
 * a ticket by itself; krb5.conf (KRB5_CONFIG) names the realm and its KDCs. The context is only
 * complete once the server's AP-REP has been verified, so a server that does not hold the
 * service key cannot complete the exchange.
 *
 * The security layer: kwire leaves cyrus no strength to add (no_security_layer), so it
 * chooses layer "none" whatever else the server offers. Kafka never wraps its traffic (a Java
 * broker offers "auth" only unless configured otherwise), and a connection that negotiated
 * integrity or confidentiality would expect every later Kafka frame wrapped. A server that
 * offers no "none" layer is an authentication error that says so.
 *
 * Where this mechanism departs from the other SASL mechanisms' rules, and why:
 * - It does I/O. gss_init_sec_context, inside kwi_sasl_start, asks the KDC for a service
 *   ticket (TGS exchange) unless the cache holds one, and krb5 may resolve the KDC's and the
 *   broker's names; both block the calling thread, bounded by krb5.conf's timeouts. Every
 *   Kerberos client library does this (librdkafka too); the ticket is cached, so it happens
 *   once per broker per ticket lifetime.
 * - cyrus-sasl and krb5 allocate with malloc, not kw_allocator: cyrus's allocator hook is
 *   process-wide (sasl_set_alloc) and cannot follow a per-client allocator. kwire's own session
 *   memory does use kw_allocator.
 * - cyrus-sasl keeps process-wide state. The client side is initialised once per process with
 *   sasl_client_init under pthread_once, so any number of kwire clients, on any threads, may
 *   create sessions concurrently. kwire never calls sasl_client_done (the plugins stay loaded
 *   until exit), because another user of cyrus in the process may still need them. If the
 *   application initialised the cyrus client side first, cyrus keeps its global callbacks and
 *   counts ours as one more reference; kwire needs none of the global ones, since every session
 *   passes its own.
 * - Locking. cyrus 2.1.28 walks and frees its global mechanism list without a lock in
 *   sasl_client_new, sasl_client_start and sasl_dispose (cyrus-sasl issue 715: a crash with
 *   concurrent clients), so those three calls run under one process-wide mutex, as librdkafka
 *   does; sasl_client_start holds it during the KDC exchange, so threads that authenticate at
 *   the same moment take turns. kwire does not install cyrus mutexes: sasl_set_mutex must
 *   precede every cyrus initialisation in the process, and replacing the hooks after another
 *   user allocated a mutex with the old ones breaks that user. cyrus's default mutexes are
 *   no-ops, which is safe here because the GSSAPI plugin takes its mutex only around GSS-API
 *   calls and MIT's GSS-API library is thread-safe. An application that needs real cyrus
 *   mutexes for other plugins calls sasl_set_mutex before it creates its first kwire client.
 * - cyrus's default log callback writes to syslog, and the library must never print: the
 *   global and per-session callbacks both discard log lines. The reasons for a failure come
 *   from sasl_errdetail into kw_error instead. */
#include <pthread.h>
#include <sasl/sasl.h>

#include "net/sasl.h"

/* Server messages in one exchange: an AP-REP and a security-layer offer, and the empty answer
 * to the final message. cyrus restarts the exchange when the server answers the first token
 * with nothing (IMAP once discarded it); the limit stops a server that keeps doing that. */
#define GSSAPI_MAX_ROUNDS 8u
/* Longest accepted service or host name (a DNS name is at most 253 bytes). */
#define GSSAPI_MAX_NAME 255u

typedef enum gss_phase { EXCHANGE, FINAL_SENT } gss_phase;

typedef struct gssapi {
    kwi_sasl base; /* first: the session handle points here */
    sasl_conn_t *conn;
    sasl_callback_t cbs[3]; /* cyrus keeps a pointer to them until sasl_dispose */
    char *service;
    size_t service_size;
    char *host;
    size_t host_size;
    gss_phase phase;
    unsigned rounds;
} gssapi;

/* An empty client message still has to be sent: out.ptr is NULL only when there is nothing. */
static const uint8_t empty_msg[1];

/* ---- process-wide cyrus state ------------------------------------------------------------- */

static pthread_once_t cyrus_once = PTHREAD_ONCE_INIT;
static int cyrus_init_rc = SASL_FAIL;
static pthread_mutex_t cyrus_lock = PTHREAD_MUTEX_INITIALIZER; /* see the top of the file */

static int
discard_log(void *ctx, int level, const char *message)
{
    (void)ctx;
    (void)level;
    (void)message;
    return SASL_OK;
}

/* Kafka sends no authorization id (the Java client's is null and a broker refuses one that
 * differs from the principal), so the answer is the empty string rather than cyrus's default,
 * which would be taken from the environment. */
static int
get_user(void *ctx, int id, const char **result, unsigned *len)
{
    (void)ctx;
    if (id != SASL_CB_USER)
        return SASL_BADPARAM;
    *result = "";
    if (len)
        *len = 0;
    return SASL_OK;
}

/* sasl_callback_t stores every callback as int (*)(void); going through void (*)(void) says
 * the conversion is intended (cyrus calls each one through its real type, chosen by id). */
#define CYRUS_CB(f) ((int (*)(void))(void (*)(void))(f))

static const sasl_callback_t global_cbs[] = {
    {SASL_CB_LOG, CYRUS_CB(discard_log), NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

static void
cyrus_init(void)
{
    cyrus_init_rc = sasl_client_init(global_cbs);
}

/* ---- errors ------------------------------------------------------------------------------- */

/* The informative part of cyrus's detail, which reads "SASL(-1): generic failure: GSSAPI Error:
 * <major status>.  Minor code may provide more information (<krb5's reason>)". The reason in
 * parentheses is what a user needs ("No Kerberos credentials available", "Server ... not found
 * in Kerberos database"); without one (minor status 0 prints "(Success)") the major status is.
 * kw_error holds 256 bytes, so the rest goes. */
static const char *
detail_reason(const char *d, int *len)
{
    static const char minor[] = "Minor code may provide more information (";
    static const char gss[] = "GSSAPI Error: ";
    static const char ok_minor[] = " (Success)";
    const char *m = strstr(d, minor);
    size_t n;
    if (m) {
        const char *r = m + sizeof(minor) - 1;
        n = strlen(r);
        if (n > 1 && r[n - 1] == ')') {
            *len = (int)(n - 1 > 200 ? 200 : n - 1);
            return r;
        }
    }
    if (strncmp(d, "SASL(", 5) == 0) { /* "SASL(%d): <sasl_errstring>: <detail>" */
        const char *c = strstr(d, "): ");
        const char *c2 = c ? strstr(c + 3, ": ") : NULL;
        if (c2 && c2[2])
            d = c2 + 2;
        else if (c)
            d = c + 3;
    }
    if (strncmp(d, gss, sizeof(gss) - 1) == 0)
        d += sizeof(gss) - 1;
    n = strlen(d);
    if (n >= sizeof(ok_minor) - 1 && strcmp(d + n - (sizeof(ok_minor) - 1), ok_minor) == 0)
        n -= sizeof(ok_minor) - 1;
    *len = (int)(n > 200 ? 200 : n);
    return d;
}

/* A cyrus result as a kw_error. Authentication failures (no ticket, unknown service principal,
 * expired ticket, a server token that does not verify) all arrive as SASL_FAIL with the
 * GSS-API reason in the detail. */
static kw_err
cyrus_error(const gssapi *g, int r, kw_error *err)
{
    const char *d = g->conn ? sasl_errdetail(g->conn) : sasl_errstring(r, NULL, NULL);
    int dl = 0;
    const char *why = detail_reason(d ? d : "", &dl);
    switch (r) {
    case SASL_NOMEM:
        return kw_error_set(err, KW_ERR_NOMEM, "GSSAPI: out of memory");
    case SASL_NOMECH:
        return kw_error_set(err, KW_ERR_CONFIG,
                            "GSSAPI: cyrus-sasl has no GSSAPI plugin (install "
                            "libsasl2-modules-gssapi-mit or the Heimdal one)");
    case SASL_TOOWEAK:
    case SASL_ENCRYPT:
        return kw_error_set(err, KWI_SASL_ERR_AUTH,
                            "GSSAPI: %s/%s offers only a security layer (integrity or "
                            "confidentiality); Kafka runs without one and kwire authenticates "
                            "only",
                            g->service, g->host);
    case SASL_INTERACT:
        return kw_error_set(err, KW_ERR_CONFIG,
                            "GSSAPI: cyrus-sasl asked for interactive input, which kwire "
                            "cannot give: %.*s",
                            dl, why);
    case SASL_BADPROT:
        return kw_error_set(err, KW_ERR_MALFORMED, "GSSAPI: the server broke the protocol: %.*s",
                            dl, why);
    default:
        return kw_error_set(err, KWI_SASL_ERR_AUTH, "GSSAPI: authentication to %s/%s failed: %.*s",
                            g->service, g->host, dl, why);
    }
}

/* ---- the exchange ------------------------------------------------------------------------- */

static void
emit(kwi_sasl_out *out, const char *o, unsigned olen)
{
    out->ptr = olen ? (const uint8_t *)o : empty_msg;
    out->len = olen;
}

/* cyrus finished its side: check that no security layer was negotiated, then either send the
 * final message (and expect the server's empty answer) or, with nothing to send, be done. */
static kw_err
finish(gssapi *g, const char *o, unsigned olen, kwi_sasl_out *out, kw_error *err)
{
    const void *p = NULL;
    if (sasl_getprop(g->conn, SASL_SSF, &p) != SASL_OK || !p || *(const sasl_ssf_t *)p != 0)
        return kw_error_set(err, KWI_SASL_ERR_AUTH,
                            "GSSAPI: a security layer was negotiated with %s/%s; Kafka carries "
                            "none",
                            g->service, g->host);
    if (!o && olen == 0) {
        out->done = true;
        return KW_ERR_OK;
    }
    emit(out, o, olen);
    out->last = true;
    g->phase = FINAL_SENT;
    return KW_ERR_OK;
}

static kw_err
gss_start(kwi_sasl *s, kwi_sasl_out *out, kw_error *err)
{
    gssapi *g = (gssapi *)s;
    const char *o = NULL, *mech = NULL;
    unsigned olen = 0;
    /* Kerberos talks to the KDC here (see the top of the file). */
    pthread_mutex_lock(&cyrus_lock);
    int r = sasl_client_start(g->conn, "GSSAPI", NULL, &o, &olen, &mech);
    pthread_mutex_unlock(&cyrus_lock);
    if (r == SASL_CONTINUE) {
        emit(out, o, olen);
        return KW_ERR_OK;
    }
    if (r == SASL_OK)
        return finish(g, o, olen, out, err);
    return cyrus_error(g, r, err);
}

static kw_err
gss_step(kwi_sasl *s, const uint8_t *in, size_t n, kwi_sasl_out *out, kw_error *err)
{
    gssapi *g = (gssapi *)s;
    if (g->phase == FINAL_SENT) {
        /* Kafka answers the final message with empty auth_bytes (a rejection is an error code
         * in the SaslAuthenticate response, which the connection layer reports). */
        if (n != 0)
            return kw_error_set(err, KW_ERR_MALFORMED,
                                "GSSAPI: the server sent %zu bytes after the final message", n);
        out->done = true;
        return KW_ERR_OK;
    }
    if (++g->rounds > GSSAPI_MAX_ROUNDS)
        return kw_error_set(err, KW_ERR_MALFORMED, "GSSAPI: no result after %u server messages",
                            GSSAPI_MAX_ROUNDS);
    const char *o = NULL;
    unsigned olen = 0;
    /* n <= KWI_SASL_MAX_SERVER_MSG (checked by kwi_sasl_step): it fits an unsigned. */
    int r = sasl_client_step(g->conn, n ? (const char *)in : NULL, (unsigned)n, NULL, &o, &olen);
    if (r == SASL_CONTINUE) {
        emit(out, o, olen);
        return KW_ERR_OK;
    }
    if (r == SASL_OK)
        return finish(g, o, olen, out, err);
    return cyrus_error(g, r, err);
}

/* ---- lifetime ----------------------------------------------------------------------------- */

static void
gss_destroy(kwi_sasl *s)
{
    gssapi *g = (gssapi *)s;
    const kw_allocator *a = s->a;
    if (g->conn) {
        pthread_mutex_lock(&cyrus_lock);
        sasl_dispose(&g->conn);
        pthread_mutex_unlock(&cyrus_lock);
    }
    if (g->service)
        a->free(a->ud, g->service, g->service_size);
    if (g->host)
        a->free(a->ud, g->host, g->host_size);
    a->free(a->ud, g, sizeof(*g));
}

static const kwi_sasl_ops gssapi_ops = {"GSSAPI", gss_start, gss_step, gss_destroy};

/* A Kerberos name part: 1..GSSAPI_MAX_NAME printable ASCII bytes without '@' or '/', which
 * would change which principal the name denotes. */
static kw_err
check_name(const char *what, const char *v, size_t *len, kw_error *err)
{
    size_t n = v ? strnlen(v, GSSAPI_MAX_NAME + 1) : 0;
    if (n == 0)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "GSSAPI: %s is empty", what);
    if (n > GSSAPI_MAX_NAME)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "GSSAPI: %s is longer than %u bytes", what,
                            GSSAPI_MAX_NAME);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)v[i];
        if (ch <= 0x20 || ch >= 0x7f || ch == '@' || ch == '/')
            return kw_error_set(err, KW_ERR_INVALID_ARG,
                                "GSSAPI: %s \"%.*s\" contains a space, control character, '@' "
                                "or '/'",
                                what, (int)n, v);
    }
    *len = n;
    return KW_ERR_OK;
}

/* Makes cyrus choose security layer "none" (see the top of the file). The plain way, a maximum
 * strength of 0, takes a path in cyrus-sasl 2.1.28's GSSAPI client that acquires a credential
 * itself (to clear the integrity and confidentiality flags) and never releases it: about 17 KB
 * lost per authentication with MIT krb5, which re-authentication (KIP-368) repeats for as long
 * as the client runs. Declaring that an external layer already provides the whole allowed
 * strength gets the same choice by cyrus's own arithmetic, allowed = max_ssf - external_ssf =
 * 0, without that path. The declaration only feeds that arithmetic and the mechanism filter
 * (one mechanism here); the server still has to prove itself with the AP-REP, because the
 * plugin always asks Kerberos for mutual authentication. */
static int
no_security_layer(sasl_conn_t *conn)
{
    sasl_ssf_t ext = 256;
    sasl_security_properties_t sp;
    memset(&sp, 0, sizeof(sp));
    sp.min_ssf = 0;
    sp.max_ssf = ext;
    sp.maxbufsize = 0;
    sp.security_flags = SASL_SEC_MUTUAL_AUTH;
    int r = sasl_setprop(conn, SASL_SSF_EXTERNAL, &ext);
    return r == SASL_OK ? sasl_setprop(conn, SASL_SEC_PROPS, &sp) : r;
}

static char *
dup_str(const kw_allocator *a, const char *p, size_t n, size_t *size)
{
    char *d = a->alloc(a->ud, n + 1);
    if (d) {
        memcpy(d, p, n);
        d[n] = '\0';
        *size = n + 1;
    }
    return d;
}

kw_err
kwi_sasl_gssapi_new(const kwi_sasl_conf *c, kwi_sasl **out, kw_error *err)
{
    const kw_allocator *a = c->alloc ? c->alloc : kw_allocator_default();
    const char *svc =
        c->kerberos_service_name && *c->kerberos_service_name ? c->kerberos_service_name : "kafka";
    size_t slen = 0, hlen = 0;
    *out = NULL;
    kw_err e = check_name("sasl.kerberos.service.name", svc, &slen, err);
    if (e == KW_ERR_OK)
        e = check_name("the broker host name", c->host, &hlen, err);
    if (e != KW_ERR_OK)
        return e;
    pthread_once(&cyrus_once, cyrus_init);
    if (cyrus_init_rc != SASL_OK)
        return kw_error_set(err, KW_ERR_CONFIG, "GSSAPI: cyrus-sasl failed to initialise: %s",
                            sasl_errstring(cyrus_init_rc, NULL, NULL));

    gssapi *g = a->alloc(a->ud, sizeof(*g));
    if (!g)
        return kw_error_set(err, KW_ERR_NOMEM, "GSSAPI: out of memory");
    memset(g, 0, sizeof(*g));
    g->base.ops = &gssapi_ops;
    g->base.a = a;
    g->base.state = KWI_SASL_NEW;
    g->phase = EXCHANGE;
    g->service = dup_str(a, svc, slen, &g->service_size);
    g->host = dup_str(a, c->host, hlen, &g->host_size);
    if (!g->service || !g->host) {
        gss_destroy(&g->base);
        return kw_error_set(err, KW_ERR_NOMEM, "GSSAPI: out of memory");
    }
    g->cbs[0] = (sasl_callback_t){SASL_CB_LOG, CYRUS_CB(discard_log), NULL};
    g->cbs[1] = (sasl_callback_t){SASL_CB_USER, CYRUS_CB(get_user), NULL};
    g->cbs[2] = (sasl_callback_t){SASL_CB_LIST_END, NULL, NULL};

    /* No local or remote address: only the Kerberos V4 and DIGEST mechanisms use them. */
    pthread_mutex_lock(&cyrus_lock);
    int r = sasl_client_new(g->service, g->host, NULL, NULL, g->cbs, 0, &g->conn);
    pthread_mutex_unlock(&cyrus_lock);
    if (r == SASL_OK)
        r = no_security_layer(g->conn);
    if (r != SASL_OK) {
        e = cyrus_error(g, r, err);
        gss_destroy(&g->base);
        return e;
    }
    *out = &g->base;
    return KW_ERR_OK;
}
