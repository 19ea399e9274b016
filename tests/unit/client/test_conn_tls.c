/* A broker connection over TLS: the scripted broker runs OpenSSL's server side in the test
 * itself (non-blocking, stepped between the client's steps) with a certificate the test
 * generates. Checks that the connection walks CONNECTING -> TLS -> APIVERSIONS -> READY,
 * that requests and responses cross the TLS layer intact (including one larger than a TLS
 * record), and that a certificate for another host name fails the setup with the reason.
 * The host-name failure is fatal: the waiting request fails at once with KW_ERR_AUTH and the
 * next attempt waits the maximum backoff. */
#include <check.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn_script.h"
#include "kw_config.h"

static tworld w;
static char ca_path[64];
static EVP_PKEY *key;
static X509 *cert;

/* A self-signed certificate for `san` (e.g. "IP:127.0.0.1"), written as the client's CA. */
static void
make_cert(const char *san)
{
    key = EVP_EC_gen("P-256");
    ck_assert_ptr_nonnull(key);
    cert = X509_new();
    X509_set_version(cert, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
    X509_set_pubkey(cert, key);
    X509_NAME *name = X509_get_subject_name(cert);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"kwire test", -1,
                               -1, 0);
    X509_set_issuer_name(cert, name);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
    ck_assert_ptr_nonnull(ext);
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_basic_constraints, "critical,CA:TRUE");
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    ck_assert_int_gt(X509_sign(cert, key, EVP_sha256()), 0);
    snprintf(ca_path, sizeof(ca_path), "/tmp/kwire-tls-ca-XXXXXX");
    int fd = mkstemp(ca_path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    PEM_write_X509(f, cert);
    fclose(f);
}

static void
setup(void)
{
    tw_init(&w);
}

static void
teardown(void)
{
    tw_fini(&w);
    if (ca_path[0])
        unlink(ca_path);
    ca_path[0] = '\0';
    X509_free(cert);
    EVP_PKEY_free(key);
    cert = NULL;
    key = NULL;
}

static SSL *
server_accept(SSL_CTX **sctx)
{
    *sctx = SSL_CTX_new(TLS_server_method());
    SSL_CTX_use_certificate(*sctx, cert);
    SSL_CTX_use_PrivateKey(*sctx, key);
    sb_accept(&w);
    SSL *s = SSL_new(*sctx);
    SSL_set_fd(s, w.b.c.fd);
    return s;
}

/* Drives SSL_accept; returns 1 done, 0 failed (the client gave up), stepping meanwhile. */
static int
server_handshake(SSL *s)
{
    for (int i = 0; i < 4000; i++) {
        int rc = SSL_accept(s);
        if (rc == 1)
            return 1;
        int e = SSL_get_error(s, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
            return 0;
        tw_step(&w);
    }
    return 0;
}

static size_t
server_read_frame(SSL *s, uint8_t *buf, size_t cap)
{
    size_t have = 0;
    for (int i = 0; i < 8000; i++) {
        if (have >= 4) {
            size_t need =
                ((size_t)buf[0] << 24 | (size_t)buf[1] << 16 | (size_t)buf[2] << 8 | buf[3]) + 4;
            ck_assert_uint_le(need, cap);
            if (have >= need)
                return need;
        }
        int n = SSL_read(s, buf + have, (int)(cap - have));
        if (n > 0) {
            have += (size_t)n;
            continue;
        }
        int e = SSL_get_error(s, n);
        ck_assert_msg(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE, "SSL_read: %d", e);
        tw_step(&w);
    }
    ck_abort_msg("no frame over TLS");
    return 0;
}

static void
server_write(SSL *s, const uint8_t *p, size_t n)
{
    while (n) {
        int rc = SSL_write(s, p, (int)n);
        if (rc > 0) {
            p += rc;
            n -= (size_t)rc;
            continue;
        }
        int e = SSL_get_error(s, rc);
        ck_assert(e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE);
        tw_step(&w);
    }
}

/* Sends a response: size, correlation id, an optional flexible header byte, then body. */
static void
server_reply(SSL *s, int32_t corr, bool flex, const uint8_t *body, size_t len)
{
    size_t total = 4 + 4 + (flex ? 1 : 0) + len;
    uint8_t *p = malloc(total);
    uint32_t size = (uint32_t)(total - 4);
    p[0] = (uint8_t)(size >> 24);
    p[1] = (uint8_t)(size >> 16);
    p[2] = (uint8_t)(size >> 8);
    p[3] = (uint8_t)size;
    p[4] = (uint8_t)((uint32_t)corr >> 24);
    p[5] = (uint8_t)((uint32_t)corr >> 16);
    p[6] = (uint8_t)((uint32_t)corr >> 8);
    p[7] = (uint8_t)corr;
    if (flex)
        p[8] = 0;
    memcpy(p + 8 + (flex ? 1 : 0), body, len);
    server_write(s, p, total);
    free(p);
}

static int32_t
frame_corr(const uint8_t *f)
{
    return (int32_t)((uint32_t)f[8] << 24 | (uint32_t)f[9] << 16 | (uint32_t)f[10] << 8 | f[11]);
}

typedef struct res {
    int calls;
    kw_err err;
    int32_t n_brokers;
    char msg[256];
} res;

static void
cb(kw_err err, const kw_error *detail, const kwi_resp *resp, void *ud)
{
    res *r = ud;
    r->calls++;
    r->err = err;
    snprintf(r->msg, sizeof(r->msg), "%s", detail->msg);
    if (err == KW_ERR_OK)
        r->n_brokers = ((const kw_metadata_resp *)resp->body)->n_brokers;
}

static kwi_conn *
tls_conn(kwi_tls_ctx **ctx, int64_t backoff_max)
{
    kwi_tls_conf tc;
    kwi_tls_conf_init(&tc);
    tc.ca_file = ca_path;
    kw_error err;
    ck_assert_msg(kwi_tls_ctx_new(&tc, ctx, &err) == KW_ERR_OK, "%s", err.msg);
    unlink(ca_path); /* loaded: the file is not needed any more, even if the test fails */
    kwi_conn_opts o;
    tw_opts(&w, &o);
    o.tls = *ctx;
    o.backoff_ms = 50;
    o.backoff_max_ms = backoff_max;
    kwi_conn *c;
    ck_assert_int_eq(kwi_conn_new(&o, &c), KW_ERR_OK);
    return c;
}

START_TEST(test_tls_round_trip)
{
    if (!KW_HAVE_TLS)
        return;
    make_cert("IP:127.0.0.1");
    kwi_tls_ctx *ctx;
    kwi_conn *c = tls_conn(&ctx, 1000);
    /* A request naming 300 topics of 100 bytes: ~30 KB, over two TLS records. */
    static kw_metadata_req_topic topics[300];
    static char names[300][100];
    for (int i = 0; i < 300; i++) {
        memset(names[i], 'a' + i % 26, 100);
        topics[i].name.ptr = (const uint8_t *)names[i];
        topics[i].name.len = 100;
    }
    kw_metadata_req m;
    memset(&m, 0, sizeof(m));
    m.topics = topics;
    m.n_topics = 300;
    res r = {0};
    kw_error err;
    ck_assert_int_eq(kwi_conn_send(c, 3, &m, NULL, cb, &r, &err), KW_ERR_OK);
    SSL_CTX *sctx;
    SSL *s = server_accept(&sctx);
    ck_assert_int_eq(server_handshake(s), 1);
    static uint8_t buf[1 << 16];
    size_t n = server_read_frame(s, buf, sizeof(buf));
    ck_assert_uint_gt(n, 12);
    ck_assert_int_eq(buf[5], 18); /* ApiVersions, inside TLS */
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_APIVERSIONS);
    kw_api_version keys[] = {{3, 0, 8, {0}}, {18, 0, 2, {0}}};
    kw_api_versions_resp av;
    memset(&av, 0, sizeof(av));
    av.api_keys = keys;
    av.n_api_keys = 2;
    uint8_t body[4096];
    size_t len = sb_encode(&kw_msg_api_versions_resp, 0, &av, body, sizeof(body));
    /* Answer as a broker that only knows v0-2 would: error 35 for v4, then v0. */
    const uint8_t e35[] = {0x00, 0x23, 0x00, 0x00, 0x00, 0x01, 0x00, 0x12, 0x00, 0x00, 0x00, 0x02};
    server_reply(s, frame_corr(buf), false, e35, sizeof(e35));
    n = server_read_frame(s, buf, sizeof(buf));
    ck_assert_int_eq(buf[7], 2); /* the version the broker named */
    len = sb_encode(&kw_msg_api_versions_resp, 2, &av, body, sizeof(body));
    server_reply(s, frame_corr(buf), false, body, len);
    n = server_read_frame(s, buf, sizeof(buf));
    ck_assert_int_eq(buf[5], 3);
    ck_assert_uint_gt(n, 300 * 100); /* the whole request arrived */
    kw_metadata_resp_broker br = {1, kw_slice_str("h"), 9093, KW_SLICE_NULL, {0}};
    kw_metadata_resp mr;
    memset(&mr, 0, sizeof(mr));
    mr.brokers = &br;
    mr.n_brokers = 1;
    mr.cluster_id = KW_SLICE_NULL;
    len = sb_encode(&kw_msg_metadata_resp, 8, &mr, body, sizeof(body));
    server_reply(s, frame_corr(buf), false, body, len);
    for (int i = 0; i < 4000 && !r.calls; i++)
        tw_step(&w);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_msg(r.err == KW_ERR_OK, "%s", r.msg);
    ck_assert_int_eq(r.n_brokers, 1);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_READY);
    kwi_conn_free(c);
    kwi_tls_ctx_free(ctx);
    SSL_free(s);
    SSL_CTX_free(sctx);
}
END_TEST

static char why_msg[256];
static kw_error why_last;
static int backoffs;

static void
on_state(kwi_conn *c, kwi_conn_state from, kwi_conn_state to, const kw_error *why, void *ud)
{
    (void)c;
    (void)from;
    (void)ud;
    if (to == KWI_CONN_BACKOFF && why) {
        backoffs++;
        snprintf(why_msg, sizeof(why_msg), "%s", why->msg);
        why_last = *why;
    }
}

START_TEST(test_tls_wrong_host_fails_clearly)
{
    if (!KW_HAVE_TLS)
        return;
    make_cert("IP:127.0.0.2");
    kwi_tls_conf tc;
    kwi_tls_conf_init(&tc);
    tc.ca_file = ca_path;
    kw_error err;
    kwi_tls_ctx *ctx;
    ck_assert_msg(kwi_tls_ctx_new(&tc, &ctx, &err) == KW_ERR_OK, "%s", err.msg);
    unlink(ca_path);
    kwi_conn_opts o;
    tw_opts(&w, &o);
    o.tls = ctx;
    o.on_state = on_state;
    o.backoff_ms = 50;
    o.backoff_max_ms = 60000;
    backoffs = 0;
    kwi_conn *c;
    ck_assert_int_eq(kwi_conn_new(&o, &c), KW_ERR_OK);
    kw_metadata_req m;
    memset(&m, 0, sizeof(m));
    res r = {0};
    ck_assert_int_eq(kwi_conn_send(c, 3, &m, NULL, cb, &r, &err), KW_ERR_OK);
    SSL_CTX *sctx;
    SSL *s = server_accept(&sctx);
    server_handshake(s);
    for (int i = 0; i < 4000 && !backoffs; i++)
        tw_step(&w);
    /* The certificate names 127.0.0.2, the connection 127.0.0.1: the setup fails in TLS,
     * with the reason, before any Kafka byte is sent. */
    ck_assert_int_eq(backoffs, 1);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_BACKOFF);
    ck_assert_msg(strstr(why_msg, "127.0.0.1") != NULL, "%s", why_msg);
    ck_assert_msg(strstr(why_msg, "valid for IP:127.0.0.2") != NULL, "%s", why_msg);
    ck_assert_int_eq(why_last.code, KW_ERR_AUTH);
    ck_assert(why_last.fatal);
    ck_assert(!why_last.retriable);
    /* Fatal: the waiting request failed at once with the reason, not at its timeout. */
    for (int i = 0; i < 100 && !r.calls; i++)
        tw_step(&w);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.err, KW_ERR_AUTH);
    ck_assert_msg(strstr(r.msg, "IP address mismatch") != NULL, "%s", r.msg);
    /* ... and the next attempt waits the maximum backoff, not reconnect.backoff.ms. */
    tw_advance(&w, 59000);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_BACKOFF);
    ck_assert_int_eq(backoffs, 1);
    kwi_conn_stats st;
    kwi_conn_stats_get(c, &st);
    ck_assert_uint_eq(st.requests, 0);
    ck_assert_uint_eq(st.connects, 0);
    kwi_conn_free(c);
    ck_assert_int_eq(r.calls, 1);
    kwi_tls_ctx_free(ctx);
    SSL_free(s);
    SSL_CTX_free(sctx);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("conn_tls");
    TCase *tc = tcase_create("tls");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_tls_round_trip);
    tcase_add_test(tc, test_tls_wrong_host_fails_clearly);
    suite_add_tcase(s, tc);
    return s;
}
