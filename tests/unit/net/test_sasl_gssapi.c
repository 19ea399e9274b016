/* SASL GSSAPI (sasl_gssapi.c) against a real MIT Kerberos KDC and cyrus-sasl's server side.
 *
 * The "kdc" case's fixture builds the realm KWIRE.TEST with tests/support/krb5_kdc.c (a real
 * krb5kdc on an ephemeral loopback port, principals kafka/localhost and kwsvc/localhost, a
 * ticket for client@KWIRE.TEST from kinit). Each test then runs kwire's client mechanism against
 * cyrus-sasl's GSSAPI server (sasl_server_new("kafka", "localhost"), keytab from KRB5_KTNAME)
 * in-process: an independent acceptor that checks our AP-REQ and security-layer answer.
 * Covered: the ticket cache, a client keytab (KRB5_CLIENT_KTNAME), sasl.kerberos.service.name,
 * no credentials, an unknown service principal, a tampered server token, a server that demands
 * a security layer, the empty answer after the final message, a server that never finishes,
 * argument checks and an allocation-failure sweep.
 *
 * Skips (with the reason on stderr): a build without -Dsasl_gssapi (then the test checks the
 * KW_ERR_CONFIG that sasl.h gives instead), missing KDC programs (Debian krb5-kdc,
 * krb5-admin-server, krb5-user) or a missing cyrus GSSAPI plugin
 * (libsasl2-modules-gssapi-mit). The KDC is stopped by the fixture's teardown, or at exit or
 * death of the runner process, whatever happens to a test. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kw_config.h"
#include "net/sasl.h"

#if KW_HAVE_SASL_GSSAPI
#include <pthread.h>
#include <sasl/sasl.h>

#include "../../support/krb5_kdc.h"

/* LeakSanitizer's hook (used by ASan builds, ignored otherwise). cyrus-sasl 2.1.28's GSSAPI
 * client does not release the unwrapped security-layer offer when it finds no acceptable layer
 * (its SASL_TOOWEAK return): 4 bytes per refused login, which gssapi_layer_required provokes on
 * purpose. Nothing else is suppressed. */
__attribute__((visibility("default"))) const char *__lsan_default_suppressions(void);
const char *
__lsan_default_suppressions(void)
{
    return "leak:gss_krb5int_unseal_token_v3\n";
}

/* ---- the realm ---------------------------------------------------------------------------- */

static kwt_kdc K;
static int kdc_state; /* kwt_kdc_start's result */

/* The unchecked fixture: runs once in the runner process, before the tests' forks. */
static void
kdc_setup(void)
{
    static const char *const services[] = {"kafka/localhost", "kwsvc/localhost", NULL};
    kdc_state = kwt_kdc_start(&K, services);
    if (kdc_state == 1)
        fprintf(stderr, "test_sasl_gssapi: realm " KWT_REALM ", krb5kdc on 127.0.0.1:%d in %s\n",
                K.port, K.dir);
}

static void
kdc_teardown(void)
{
    kwt_kdc_stop(&K);
}

/* Returns 1 when the test can use the realm; 0 after printing SKIP; fails on a broken setup. */
static int
need_kdc(const char *test)
{
    if (kdc_state == 0) {
        fprintf(stderr, "SKIP %s: %s\n", test, K.skip);
        return 0;
    }
    ck_assert_msg(kdc_state == 1, "Kerberos realm setup failed: %s", K.fail);
    return 1;
}

/* ---- cyrus-sasl's server side ------------------------------------------------------------- */

static char srv_log[512];

static int
srv_getopt(void *ctx, const char *plugin, const char *option, const char **result, unsigned *len)
{
    (void)ctx;
    (void)plugin;
    if (strcmp(option, "mech_list") != 0)
        return SASL_FAIL;
    *result = "GSSAPI";
    if (len)
        *len = 6;
    return SASL_OK;
}

static int
srv_logcb(void *ctx, int level, const char *message)
{
    (void)ctx;
    if (level <= SASL_LOG_WARN)
        snprintf(srv_log, sizeof(srv_log), "%s", message);
    return SASL_OK;
}

typedef int (*cy_proc)(void);
static const sasl_callback_t srv_cbs[] = {
    {SASL_CB_GETOPT, (cy_proc)(void (*)(void))srv_getopt, NULL},
    {SASL_CB_LOG, (cy_proc)(void (*)(void))srv_logcb, NULL},
    {SASL_CB_LIST_END, NULL, NULL},
};

/* Initialises the server side; 0 (after printing SKIP) when cyrus has no GSSAPI plugin. */
static int
server_init(const char *test)
{
    ck_assert_int_eq(sasl_server_init(srv_cbs, "kwire-test"), SASL_OK);
    const char **m = sasl_global_listmech();
    for (; m && *m; m++) {
        if (strcmp(*m, "GSSAPI") == 0)
            return 1;
    }
    fprintf(stderr, "SKIP %s: cyrus-sasl has no GSSAPI plugin (libsasl2-modules-gssapi-mit)\n",
            test);
    return 0;
}

/* One exchange between kwire's client and a cyrus server. */
typedef struct xchg {
    const char *service;     /* client's sasl.kerberos.service.name; NULL = default */
    const char *host;        /* NULL = "localhost" */
    const char *srv_service; /* NULL = "kafka" */
    unsigned srv_min_ssf;
    int srv_auth_only; /* the server offers layer "none" only, like a Java broker (qop=auth) */
    int tamper;        /* flip a byte in this server message (1-based); 0 = none */
    /* results */
    kwi_sasl *s;
    kw_err start_rc, step_rc;
    kw_error err;
    int srv_rc;        /* the server's last result */
    int msgs;          /* client messages the server received */
    int last_flag;     /* out.last was set on the final client message */
    size_t msg_len[8]; /* their lengths */
    char user[128];    /* the server's SASL_USERNAME after success */
    unsigned ssf;      /* the server's negotiated SSF */
} xchg;

/* Runs the exchange until the server succeeds or one side fails. On server success the client
 * has sent its final message and waits for the (empty) answer: the caller feeds it. */
static void
exchange(xchg *x)
{
    kwi_sasl_conf c;
    kwi_sasl_conf_init(&c);
    c.mech = KWI_SASL_GSSAPI;
    c.kerberos_service_name = x->service;
    c.host = x->host ? x->host : "localhost";
    kw_error_init(&x->err);
    ck_assert_int_eq(kwi_sasl_new(&c, &x->s, &x->err), KW_ERR_OK);
    ck_assert_str_eq(kwi_sasl_name(x->s), "GSSAPI");
    kwi_sasl_out o;
    x->start_rc = kwi_sasl_start(x->s, &o, &x->err);
    x->srv_rc = SASL_CONTINUE;
    if (x->start_rc != KW_ERR_OK)
        return;

    sasl_conn_t *sc = NULL;
    ck_assert_int_eq(sasl_server_new(x->srv_service ? x->srv_service : "kafka", "localhost", NULL,
                                     NULL, NULL, NULL, 0, &sc),
                     SASL_OK);
    /* Unless told otherwise the server allows every layer up to full confidentiality: kwire must
     * still pick none. */
    sasl_security_properties_t sp;
    memset(&sp, 0, sizeof(sp));
    sp.min_ssf = x->srv_min_ssf;
    sp.max_ssf = x->srv_auth_only ? 0 : 256;
    sp.maxbufsize = 65536;
    ck_assert_int_eq(sasl_setprop(sc, SASL_SEC_PROPS, &sp), SASL_OK);
    const char *so = NULL;
    unsigned slen = 0;
    uint8_t buf[4096];
    for (int round = 0; round < 8; round++) {
        ck_assert_ptr_nonnull(o.ptr); /* an empty message is still a message */
        ck_assert(!o.done);
        x->msg_len[x->msgs++] = o.len;
        x->last_flag = o.last;
        if (round == 0)
            x->srv_rc =
                sasl_server_start(sc, "GSSAPI", (const char *)o.ptr, (unsigned)o.len, &so, &slen);
        else
            x->srv_rc = sasl_server_step(sc, (const char *)o.ptr, (unsigned)o.len, &so, &slen);
        if (x->srv_rc != SASL_CONTINUE)
            break;
        ck_assert_uint_le(slen, sizeof(buf));
        memcpy(buf, so, slen);
        if (x->tamper == round + 1 && slen)
            buf[slen / 2] ^= 0x20;
        x->step_rc = kwi_sasl_step(x->s, buf, slen, &o, &x->err);
        if (x->step_rc != KW_ERR_OK)
            break;
    }
    if (x->srv_rc == SASL_OK) {
        const void *p = NULL;
        ck_assert_int_eq(sasl_getprop(sc, SASL_USERNAME, &p), SASL_OK);
        snprintf(x->user, sizeof(x->user), "%s", (const char *)p);
        ck_assert_int_eq(sasl_getprop(sc, SASL_SSF, &p), SASL_OK);
        x->ssf = *(const sasl_ssf_t *)p;
    }
    sasl_dispose(&sc);
}

static void
finish(xchg *x)
{
    kwi_sasl_free(x->s);
    x->s = NULL;
}

/* ---- tests against the KDC ---------------------------------------------------------------- */

/* The whole exchange with the ticket from kinit and the default service name "kafka". */
START_TEST(gssapi_ticket_cache)
{
    if (!need_kdc("gssapi_ticket_cache") || !server_init("gssapi_ticket_cache"))
        return;
    kwt_kdc_client_env(&K, "client.cc", NULL);
    xchg x = {0};
    exchange(&x);
    ck_assert_msg(x.start_rc == KW_ERR_OK && x.step_rc == KW_ERR_OK, "kwire failed: %s", x.err.msg);
    ck_assert_msg(x.srv_rc == SASL_OK, "cyrus server: %d (%s)", x.srv_rc, srv_log);
    /* AP-REQ, the empty answer to the AP-REP, the wrapped security-layer choice. */
    ck_assert_int_eq(x.msgs, 3);
    ck_assert_uint_gt(x.msg_len[0], 100);
    ck_assert_uint_eq(x.msg_len[1], 0);
    ck_assert_uint_gt(x.msg_len[2], 4);
    ck_assert(x.last_flag);
    ck_assert_str_eq(x.user, "client"); /* cyrus drops the default realm */
    ck_assert_uint_eq(x.ssf, 0);        /* authentication only */
    ck_assert_int_eq(kwi_sasl_get_state(x.s), KWI_SASL_RUNNING);

    /* Kafka answers the final message with empty auth_bytes. */
    kwi_sasl_out o;
    ck_assert_int_eq(kwi_sasl_step(x.s, NULL, 0, &o, &x.err), KW_ERR_OK);
    ck_assert(o.done);
    ck_assert_ptr_null(o.ptr);
    ck_assert_int_eq(kwi_sasl_get_state(x.s), KWI_SASL_DONE);
    ck_assert_int_eq(kwi_sasl_step(x.s, NULL, 0, &o, &x.err), KW_ERR_STATE);
    finish(&x);
    sasl_server_done();
}
END_TEST

/* No ticket in the cache: MIT krb5 gets one from the client keytab by itself. The server offers
 * no security layer at all, as a Kafka broker does by default. */
START_TEST(gssapi_client_keytab)
{
    if (!need_kdc("gssapi_client_keytab") || !server_init("gssapi_client_keytab"))
        return;
    kwt_kdc_client_env(&K, "from_keytab.cc", "client.keytab");
    xchg x = {.srv_auth_only = 1};
    exchange(&x);
    ck_assert_msg(x.start_rc == KW_ERR_OK && x.step_rc == KW_ERR_OK, "kwire failed: %s", x.err.msg);
    ck_assert_msg(x.srv_rc == SASL_OK, "cyrus server: %d (%s)", x.srv_rc, srv_log);
    ck_assert_str_eq(x.user, "client"); /* cyrus drops the default realm */
    ck_assert_int_eq(x.msgs, 3);
    ck_assert(x.last_flag);
    ck_assert_uint_eq(x.ssf, 0);
    finish(&x);
    sasl_server_done();
}
END_TEST

/* sasl.kerberos.service.name picks the service principal: kwsvc/localhost here. */
START_TEST(gssapi_service_name)
{
    if (!need_kdc("gssapi_service_name") || !server_init("gssapi_service_name"))
        return;
    kwt_kdc_client_env(&K, "client.cc", NULL);
    xchg x = {.service = "kwsvc", .srv_service = "kwsvc"};
    exchange(&x);
    ck_assert_msg(x.start_rc == KW_ERR_OK && x.step_rc == KW_ERR_OK, "kwire failed: %s", x.err.msg);
    ck_assert_msg(x.srv_rc == SASL_OK, "cyrus server: %d (%s)", x.srv_rc, srv_log);
    finish(&x);

    /* A ticket for kwsvc/localhost is no use to a server that is kafka/localhost. */
    xchg y = {.service = "kwsvc", .srv_service = "kafka"};
    exchange(&y);
    ck_assert_int_eq(y.start_rc, KW_ERR_OK);
    ck_assert_int_ne(y.srv_rc, SASL_OK);
    ck_assert_int_ne(y.srv_rc, SASL_CONTINUE);
    finish(&y);
    sasl_server_done();
}
END_TEST

START_TEST(gssapi_no_credentials)
{
    if (!need_kdc("gssapi_no_credentials") || !server_init("gssapi_no_credentials"))
        return;
    kwt_kdc_client_env(&K, "empty.cc", NULL);
    xchg x = {0};
    exchange(&x);
    ck_assert_int_eq(x.start_rc, KW_ERR_AUTH);
    ck_assert(x.err.fatal);
    ck_assert(!x.err.retriable);
    ck_assert_msg(strstr(x.err.msg, "GSSAPI: authentication to kafka/localhost failed") &&
                      strstr(x.err.msg, "No Kerberos credentials available"),
                  "%s", x.err.msg);
    ck_assert_int_eq(kwi_sasl_get_state(x.s), KWI_SASL_FAILED);
    kwi_sasl_out o;
    ck_assert_int_eq(kwi_sasl_step(x.s, NULL, 0, &o, &x.err), KW_ERR_STATE);
    finish(&x);
    sasl_server_done();
}
END_TEST

START_TEST(gssapi_unknown_service)
{
    if (!need_kdc("gssapi_unknown_service") || !server_init("gssapi_unknown_service"))
        return;
    kwt_kdc_client_env(&K, "client.cc", NULL);
    xchg x = {.host = "nohost.kwire.test"};
    exchange(&x);
    ck_assert_int_eq(x.start_rc, KW_ERR_AUTH);
    ck_assert_msg(strstr(x.err.msg, "kafka/nohost.kwire.test") &&
                      strstr(x.err.msg, "not found in Kerberos database"),
                  "%s", x.err.msg);
    finish(&x);
    sasl_server_done();
}
END_TEST

/* A changed byte in the AP-REP (the server's proof that it holds the service key) or in the
 * wrapped security-layer offer fails the login. */
START_TEST(gssapi_tampered_server_token)
{
    if (!need_kdc("gssapi_tampered_server_token") || !server_init("gssapi_tampered_server_token"))
        return;
    kwt_kdc_client_env(&K, "client.cc", NULL);
    for (int msg = 1; msg <= 2; msg++) {
        xchg x = {.tamper = msg};
        exchange(&x);
        ck_assert_int_eq(x.start_rc, KW_ERR_OK);
        ck_assert_msg(x.step_rc == KW_ERR_AUTH, "server message %d: %d %s", msg, x.step_rc,
                      x.err.msg);
        ck_assert(strstr(x.err.msg, "GSSAPI: authentication to kafka/localhost failed: "));
        ck_assert_msg(!strstr(x.err.msg, "SASL(") && !strstr(x.err.msg, "(Success)"), "%s",
                      x.err.msg); /* cyrus's boilerplate is trimmed */
        ck_assert_int_eq(x.msgs, msg);
        ck_assert_int_eq(kwi_sasl_get_state(x.s), KWI_SASL_FAILED);
        finish(&x);
    }
    sasl_server_done();
}
END_TEST

/* Kafka carries no security layer: a server that insists on one is refused, by name. */
START_TEST(gssapi_layer_required)
{
    if (!need_kdc("gssapi_layer_required") || !server_init("gssapi_layer_required"))
        return;
    kwt_kdc_client_env(&K, "client.cc", NULL);
    xchg x = {.srv_min_ssf = 1};
    exchange(&x);
    ck_assert_int_eq(x.step_rc, KW_ERR_AUTH);
    ck_assert_msg(strstr(x.err.msg, "security layer"), "%s", x.err.msg);
    ck_assert_int_eq(x.msgs, 2);
    finish(&x);
    sasl_server_done();
}
END_TEST

START_TEST(gssapi_data_after_final)
{
    if (!need_kdc("gssapi_data_after_final") || !server_init("gssapi_data_after_final"))
        return;
    kwt_kdc_client_env(&K, "client.cc", NULL);
    xchg x = {0};
    exchange(&x);
    ck_assert_msg(x.srv_rc == SASL_OK, "%s %s", x.err.msg, srv_log);
    kwi_sasl_out o;
    ck_assert_int_eq(kwi_sasl_step(x.s, (const uint8_t *)"x", 1, &o, &x.err), KW_ERR_MALFORMED);
    ck_assert_msg(strstr(x.err.msg, "after the final message"), "%s", x.err.msg);
    ck_assert_int_eq(kwi_sasl_get_state(x.s), KWI_SASL_FAILED);
    finish(&x);
    sasl_server_done();
}
END_TEST

/* An empty answer to the AP-REQ makes cyrus start over with a new one; a server that keeps
 * answering so is cut off. */
START_TEST(gssapi_server_never_finishes)
{
    if (!need_kdc("gssapi_server_never_finishes") || !server_init("gssapi_server_never_finishes"))
        return;
    kwt_kdc_client_env(&K, "client.cc", NULL);
    kwi_sasl_conf c;
    kwi_sasl_conf_init(&c);
    c.mech = KWI_SASL_GSSAPI;
    c.host = "localhost";
    kwi_sasl *s = NULL;
    kw_error err;
    kw_error_init(&err);
    kwi_sasl_out o;
    ck_assert_int_eq(kwi_sasl_new(&c, &s, &err), KW_ERR_OK);
    ck_assert_int_eq(kwi_sasl_start(s, &o, &err), KW_ERR_OK);
    kw_err e = KW_ERR_OK;
    int rounds = 0;
    while (e == KW_ERR_OK && rounds < 100) {
        e = kwi_sasl_step(s, NULL, 0, &o, &err);
        rounds++;
        if (e == KW_ERR_OK)
            ck_assert_uint_gt(o.len, 100); /* a fresh AP-REQ */
    }
    ck_assert_int_eq(e, KW_ERR_MALFORMED);
    ck_assert_int_eq(rounds, 9);
    ck_assert_msg(strstr(err.msg, "no result after 8 server messages"), "%s", err.msg);
    kwi_sasl_free(s);
    sasl_server_done();
}
END_TEST

/* Several threads creating, starting and freeing sessions at once: kwire serialises the cyrus
 * calls that share its global mechanism list (sasl_gssapi.c). Each start builds a real AP-REQ
 * from the ticket cache. */
static void *
session_churn(void *arg)
{
    int *failures = arg;
    for (int i = 0; i < 8; i++) {
        kwi_sasl_conf c;
        kwi_sasl_conf_init(&c);
        c.mech = KWI_SASL_GSSAPI;
        c.host = "localhost";
        kwi_sasl *s = NULL;
        kw_error err;
        kw_error_init(&err);
        kwi_sasl_out o;
        if (kwi_sasl_new(&c, &s, &err) != KW_ERR_OK || kwi_sasl_start(s, &o, &err) != KW_ERR_OK ||
            o.len < 100)
            (*failures)++;
        kwi_sasl_free(s);
    }
    return NULL;
}

START_TEST(gssapi_concurrent_sessions)
{
    if (!need_kdc("gssapi_concurrent_sessions"))
        return;
    kwt_kdc_client_env(&K, "client.cc", NULL);
    pthread_t t[4];
    int failures[4] = {0};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, session_churn, &failures[i]), 0);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
        ck_assert_int_eq(failures[i], 0);
    }
}
END_TEST

/* ---- without a KDC ------------------------------------------------------------------------ */

static kw_err
try_new(const char *service, const char *host, kw_error *err)
{
    kwi_sasl_conf c;
    kwi_sasl_conf_init(&c);
    c.mech = KWI_SASL_GSSAPI;
    c.kerberos_service_name = service;
    c.host = host;
    kwi_sasl *s = (kwi_sasl *)&c; /* must be reset to NULL on failure */
    kw_error_init(err);
    kw_err e = kwi_sasl_new(&c, &s, err);
    if (e == KW_ERR_OK)
        kwi_sasl_free(s);
    else
        ck_assert_ptr_null(s);
    return e;
}

START_TEST(gssapi_arguments)
{
    kw_error err;
    kwi_sasl_mech m;
    ck_assert_int_eq(kwi_sasl_mech_parse("GSSAPI", &m), KW_ERR_OK);
    ck_assert_int_eq(m, KWI_SASL_GSSAPI);
    ck_assert_int_eq(try_new(NULL, "broker1.example.com", &err), KW_ERR_OK);
    ck_assert_int_eq(try_new("", "broker1.example.com", &err), KW_ERR_OK); /* "" = kafka */
    ck_assert_int_eq(try_new(NULL, NULL, &err), KW_ERR_INVALID_ARG);
    ck_assert_str_eq(err.msg, "GSSAPI: the broker host name is empty");
    ck_assert(err.fatal);
    ck_assert_int_eq(try_new(NULL, "evil@OTHER.REALM", &err), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(try_new("kafka/x", "localhost", &err), KW_ERR_INVALID_ARG);
    ck_assert(strstr(err.msg, "sasl.kerberos.service.name"));
    ck_assert_int_eq(try_new(NULL, "bro ker", &err), KW_ERR_INVALID_ARG);
    char longhost[300];
    memset(longhost, 'a', sizeof(longhost) - 1);
    longhost[sizeof(longhost) - 1] = '\0';
    ck_assert_int_eq(try_new(NULL, longhost, &err), KW_ERR_INVALID_ARG);
}
END_TEST

/* An allocator that fails the n-th allocation and counts what is outstanding. */
typedef struct fail_alloc {
    int left; /* allocations that succeed before one fails; < 0 = never fail */
    long live;
} fail_alloc;

static void *
fa_alloc(void *ud, size_t n)
{
    fail_alloc *f = ud;
    if (f->left == 0)
        return NULL;
    f->left--;
    f->live += (long)n;
    return malloc(n);
}

static void *
fa_realloc(void *ud, void *p, size_t old, size_t n)
{
    (void)ud;
    (void)p;
    (void)old;
    (void)n;
    ck_abort_msg("realloc is not expected");
    return NULL;
}

static void
fa_free(void *ud, void *p, size_t n)
{
    fail_alloc *f = ud;
    f->live -= (long)n;
    free(p);
}

START_TEST(gssapi_alloc_failures)
{
    int ok_at = -1;
    for (int k = 0; k < 16 && ok_at < 0; k++) {
        fail_alloc f = {k, 0};
        kw_allocator a = {fa_alloc, fa_realloc, fa_free, &f};
        kwi_sasl_conf c;
        kwi_sasl_conf_init(&c);
        c.alloc = &a;
        c.mech = KWI_SASL_GSSAPI;
        c.host = "localhost";
        kwi_sasl *s = NULL;
        kw_error err;
        kw_error_init(&err);
        kw_err e = kwi_sasl_new(&c, &s, &err);
        if (e == KW_ERR_OK) {
            ok_at = k;
            kwi_sasl_free(s);
        } else {
            ck_assert_int_eq(e, KW_ERR_NOMEM);
            ck_assert(err.retriable);
            ck_assert_ptr_null(s);
        }
        ck_assert_int_eq(f.live, 0);
    }
    ck_assert_int_eq(ok_at, 3); /* the session, the service and the host */
}
END_TEST

#else /* !KW_HAVE_SASL_GSSAPI */

START_TEST(gssapi_not_built)
{
    kwi_sasl_conf c;
    kwi_sasl_conf_init(&c);
    c.mech = KWI_SASL_GSSAPI;
    c.host = "localhost";
    kwi_sasl *s = (kwi_sasl *)&c;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kwi_sasl_new(&c, &s, &err), KW_ERR_CONFIG);
    ck_assert_ptr_null(s);
    ck_assert_str_eq(err.msg, "kwire was built without GSSAPI (-Dsasl_gssapi=disabled)");
    ck_assert(err.fatal);
    kwi_sasl_mech m;
    ck_assert_int_eq(kwi_sasl_mech_parse("GSSAPI", &m), KW_ERR_OK);
    fprintf(stderr, "SKIP test_sasl_gssapi: kwire was built without GSSAPI; the Kerberos "
                    "tests did not run\n");
}
END_TEST

#endif

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("sasl_gssapi");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
#if KW_HAVE_SASL_GSSAPI
    tcase_add_test(tc, gssapi_arguments);
    tcase_add_test(tc, gssapi_alloc_failures);
    suite_add_tcase(s, tc);
    /* One realm for all the Kerberos cases: the fixture runs in the runner, before the forks. */
    TCase *kt = tcase_create("kdc");
    tcase_set_timeout(kt, 120);
    tcase_add_unchecked_fixture(kt, kdc_setup, kdc_teardown);
    tcase_add_test(kt, gssapi_ticket_cache);
    tcase_add_test(kt, gssapi_client_keytab);
    tcase_add_test(kt, gssapi_service_name);
    tcase_add_test(kt, gssapi_no_credentials);
    tcase_add_test(kt, gssapi_unknown_service);
    tcase_add_test(kt, gssapi_tampered_server_token);
    tcase_add_test(kt, gssapi_layer_required);
    tcase_add_test(kt, gssapi_data_after_final);
    tcase_add_test(kt, gssapi_server_never_finishes);
    tcase_add_test(kt, gssapi_concurrent_sessions);
    suite_add_tcase(s, kt);
#else
    tcase_add_test(tc, gssapi_not_built);
    suite_add_tcase(s, tc);
#endif
    return s;
}
