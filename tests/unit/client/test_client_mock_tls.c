/* The kwire client over TLS against kwire-mock, end to end: the public configuration
 * (security.protocol, ssl.*, sasl.*) and a Metadata round trip through kw_client_metadata,
 * with certificates made by the openssl command line at test time (tests/unit/mock/pki_util
 * plus a few bad ones made here). Covered: a valid certificate (by IP address and by the name
 * localhost); an expired one; one for another host name (and the same with
 * ssl.endpoint.identification.algorithm=none); one from a CA the client does not trust; a
 * listener that requires a client certificate, with one (plain and encrypted key) and
 * without; SASL_SSL with SCRAM-SHA-512, right and wrong password.
 *
 * Every rejected certificate and every failed login must fail the waiting call at once with
 * KW_ERR_AUTH and the reason (the TLS engine marks them fatal), not at the call's timeout, and
 * the client must not reconnect before reconnect.backoff.max.ms: the mock's log counts the
 * connections it accepted.
 *
 * The mock runs on its own thread; the client is stepped by the test. Without the openssl
 * command, or in a build without TLS, the suite is skipped visibly (exit 77). */
#include <check.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kw_config.h"
#include "kwire/client.h"
#include "kwire/conf.h"
#include "kwire/mock.h"
#include "../mock/pki_util.h"

/* A generous bound on a call that must finish long before it: a loaded 2-core machine. */
#define CALL_TIMEOUT_MS 30000
#define BACKOFF_MAX_MS  "20000"

static kw_mock *g_mock;
static atomic_int g_accepts; /* connections the mock accepted (from its log, on its thread) */

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
mock_log(void *ud, int level, const char *msg)
{
    (void)ud;
    (void)level;
    if (strstr(msg, " accepted"))
        atomic_fetch_add(&g_accepts, 1);
}

/* Starts a one-broker mock whose listener uses cert/key; client_auth needs client_ca. */
static void
mock_start(const char *cert, const char *key, kw_mock_tls_client_auth auth)
{
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    mc.log = mock_log;
    mc.log_level = KW_MOCK_LOG_DEBUG;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_new(&mc, &g_mock, &err) == KW_ERR_OK, "%s", err.msg);
    kw_mock_tls_conf tc;
    kw_mock_tls_conf_init(&tc);
    tc.cert_file = pki_path(cert);
    tc.key_file = pki_path(key);
    tc.client_auth = auth;
    if (auth != KW_MOCK_TLS_CLIENT_AUTH_NONE)
        tc.client_ca_file = pki_path("ca.pem");
    ck_assert_msg(kw_mock_tls_set(g_mock, 0, &tc, &err) == KW_ERR_OK, "%s", err.msg);
    atomic_store(&g_accepts, 0);
}

static void
mock_run(void)
{
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_thread_start(g_mock, &err) == KW_ERR_OK, "%s", err.msg);
}

static void
teardown(void)
{
    kw_mock_free(g_mock);
    g_mock = NULL;
}

/* A client for the mock's broker as `host`, with SSL and the test CA unless `kv` (NULL-ended
 * key, value pairs) says otherwise. */
static kw_client *
client_new(const char *host, const char *const *kv)
{
    kw_conf *conf;
    ck_assert_int_eq(kw_conf_new(NULL, &conf), KW_ERR_OK);
    char bootstrap[300];
    snprintf(bootstrap, sizeof(bootstrap), "%s:%d", host, (int)kw_mock_broker_port(g_mock, 1));
    const char *const base[] = {"bootstrap.servers",
                                bootstrap,
                                "security.protocol",
                                "SSL",
                                "ssl.ca.location",
                                pki_path("ca.pem"),
                                "reconnect.backoff.ms",
                                "50",
                                "reconnect.backoff.max.ms",
                                BACKOFF_MAX_MS,
                                NULL};
    kw_error err;
    kw_error_init(&err);
    for (size_t i = 0; base[i]; i += 2)
        ck_assert_msg(kw_conf_set(conf, base[i], base[i + 1], &err) == KW_ERR_OK, "%s", err.msg);
    for (size_t i = 0; kv && kv[i]; i += 2)
        ck_assert_msg(kw_conf_set(conf, kv[i], kv[i + 1], &err) == KW_ERR_OK, "%s: %s", kv[i],
                      err.msg);
    kw_client *c;
    ck_assert_msg(kw_client_new(conf, &c, &err) == KW_ERR_OK, "%s", err.msg);
    return c;
}

typedef struct md_res {
    bool done;
    kw_err err;
    int32_t n_brokers;
    char msg[256];
} md_res;

static void
md_cb(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    md_res *r = ud;
    r->done = true;
    r->err = err;
    snprintf(r->msg, sizeof(r->msg), "%s", detail ? detail->msg : "");
    r->n_brokers = md ? md->n_brokers : -1;
}

/* One Metadata call (brokers only) with timeout_ms, stepped until its callback fires. */
static md_res
metadata(kw_client *c, int timeout_ms)
{
    md_res r;
    memset(&r, 0, sizeof(r));
    kw_error err;
    kw_error_init(&err);
    const char *none[1] = {NULL};
    ck_assert_msg(kw_client_metadata(c, none, 0, timeout_ms, md_cb, &r, &err) == KW_ERR_OK, "%s",
                  err.msg);
    int64_t deadline = now_ms() + timeout_ms + 10000;
    while (!r.done && now_ms() < deadline)
        kw_client_step(c, 50, NULL);
    ck_assert_msg(r.done, "the Metadata call never finished");
    return r;
}

static void
expect_ok(kw_client *c)
{
    md_res r = metadata(c, CALL_TIMEOUT_MS);
    ck_assert_msg(r.err == KW_ERR_OK, "%s: %s", kw_err_name(r.err), r.msg);
    ck_assert_int_eq(r.n_brokers, 1);
}

/* The call fails with KW_ERR_AUTH naming `phrase`, at once: a timeout would mean the
 * failure was not fatal and the client kept retrying. Then a second call that waits a while
 * must not make the client reconnect before the maximum backoff. */
static void
expect_auth_failure(kw_client *c, const char *phrase, const char *phrase2)
{
    md_res r = metadata(c, CALL_TIMEOUT_MS);
    ck_assert_msg(r.err == KW_ERR_AUTH, "%s: %s", kw_err_name(r.err), r.msg);
    ck_assert_msg(strstr(r.msg, phrase) != NULL, "no \"%s\" in: %s", phrase, r.msg);
    ck_assert_msg(!phrase2 || strstr(r.msg, phrase2) != NULL, "no \"%s\" in: %s", phrase2, r.msg);
    int seen = atomic_load(&g_accepts);
    ck_assert_int_eq(seen, 1);
    /* Within this window reconnect.backoff.ms (50) would allow several attempts; the maximum
     * backoff allows none. */
    r = metadata(c, 1500);
    ck_assert_int_ne(r.err, KW_ERR_OK);
    ck_assert_int_eq(atomic_load(&g_accepts), 1);
    kw_broker_stats bs[4];
    kw_stats st;
    ck_assert_int_eq(kw_client_stats(c, &st, bs, 4), KW_ERR_OK);
    uint64_t attempts = 0, connects = 0;
    for (size_t i = 0; i < st.n_brokers && i < 4; i++) {
        attempts += bs[i].connect_attempts;
        connects += bs[i].connects;
    }
    ck_assert_uint_eq(attempts, 1);
    ck_assert_uint_eq(connects, 0);
}

/* ---------------------------------------------------------------- (a) valid */

START_TEST(test_valid_certificate)
{
    mock_start("server.pem", "server.key", KW_MOCK_TLS_CLIENT_AUTH_NONE);
    mock_run();
    kw_client *c = client_new("127.0.0.1", NULL); /* SAN IP:127.0.0.1 */
    expect_ok(c);
    kw_client_free(c);
    c = client_new("localhost", NULL); /* SAN DNS:localhost, and SNI */
    expect_ok(c);
    kw_client_free(c);
}
END_TEST

/* ---------------------------------------------------------------- (b) expired */

START_TEST(test_expired_certificate)
{
    mock_start("expired.pem", "server.key", KW_MOCK_TLS_CLIENT_AUTH_NONE);
    mock_run();
    kw_client *c = client_new("127.0.0.1", NULL);
    expect_auth_failure(c, "certificate has expired", "CN=localhost");
    kw_client_free(c);
}
END_TEST

/* ---------------------------------------------------------------- (c) wrong host name */

START_TEST(test_wrong_host_name)
{
    mock_start("otherhost.pem", "server.key", KW_MOCK_TLS_CLIENT_AUTH_NONE);
    mock_run();
    kw_client *c = client_new("localhost", NULL);
    expect_auth_failure(c, "hostname mismatch",
                        "valid for DNS:kafka.example.com, not for \"localhost\"");
    kw_client_free(c);
    atomic_store(&g_accepts, 0);
    c = client_new("127.0.0.1", NULL);
    expect_auth_failure(c, "IP address mismatch",
                        "valid for DNS:kafka.example.com, not for \"127.0.0.1\"");
    kw_client_free(c);
    /* Host-name checking off: the chain is still verified, and it is good. */
    const char *const off[] = {"ssl.endpoint.identification.algorithm", "none", NULL};
    c = client_new("127.0.0.1", off);
    expect_ok(c);
    kw_client_free(c);
}
END_TEST

/* ---------------------------------------------------------------- (d) untrusted CA */

START_TEST(test_untrusted_ca)
{
    /* rogue.pem names localhost and 127.0.0.1 but comes from a CA the client does not trust. */
    mock_start("rogue.pem", "rogue.key", KW_MOCK_TLS_CLIENT_AUTH_NONE);
    mock_run();
    kw_client *c = client_new("127.0.0.1", NULL);
    expect_auth_failure(c, "certificate verification failed",
                        "unable to get local issuer certificate");
    kw_client_free(c);
}
END_TEST

/* ---------------------------------------------------------------- (e) mutual TLS */

START_TEST(test_client_certificate_required)
{
    mock_start("server.pem", "server.key", KW_MOCK_TLS_CLIENT_AUTH_REQUIRED);
    mock_run();
    const char *const plain[] = {"ssl.certificate.location", pki_path("client.pem"),
                                 "ssl.key.location", pki_path("client.key"), NULL};
    kw_client *c = client_new("127.0.0.1", plain);
    expect_ok(c);
    kw_client_free(c);
    const char *const enc[] = {"ssl.certificate.location",
                               pki_path("client.pem"),
                               "ssl.key.location",
                               pki_path("client-enc.key"),
                               "ssl.key.password",
                               "kw-key-secret",
                               NULL};
    c = client_new("127.0.0.1", enc);
    expect_ok(c);
    kw_client_free(c);
    /* Without a certificate: TLS 1.3 servers reject it after the client's handshake is done,
     * with the certificate_required alert, which the first read reports. */
    atomic_store(&g_accepts, 0);
    c = client_new("127.0.0.1", NULL);
    expect_auth_failure(c, "certificate required",
                        "the broker requires a client certificate (ssl.certificate.location)");
    kw_client_free(c);
}
END_TEST

/* ---------------------------------------------------------------- (f) SASL_SSL */

START_TEST(test_sasl_ssl_scram_512)
{
    mock_start("server.pem", "server.key", KW_MOCK_TLS_CLIENT_AUTH_NONE);
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_sasl_user_add(g_mock, "SCRAM-SHA-512", "alice", "alice-pw", &err) ==
                      KW_ERR_OK,
                  "%s", err.msg);
    mock_run();
    const char *const good[] = {"security.protocol", "SASL_SSL",      "sasl.mechanism",
                                "SCRAM-SHA-512",     "sasl.username", "alice",
                                "sasl.password",     "alice-pw",      NULL};
    kw_client *c = client_new("localhost", good);
    expect_ok(c);
    kw_client_free(c);
    atomic_store(&g_accepts, 0);
    const char *const bad[] = {"security.protocol", "SASL_SSL",      "sasl.mechanism",
                               "SCRAM-SHA-512",     "sasl.username", "alice",
                               "sasl.password",     "not-alice-pw",  NULL};
    c = client_new("localhost", bad);
    expect_auth_failure(c,
                        "Authentication failed during authentication due to invalid "
                        "credentials with SASL mechanism SCRAM-SHA-512",
                        NULL);
    kw_client_free(c);
}
END_TEST

/* ---------------------------------------------------------------- the bad certificates */

static const char other_cnf[] = "basicConstraints = CA:FALSE\n"
                                "keyUsage = critical,digitalSignature\n"
                                "extendedKeyUsage = serverAuth\n"
                                "subjectAltName = DNS:kafka.example.com\n";

static bool
make_bad_certs(void)
{
    FILE *f = fopen(pki_path("other.cnf"), "w");
    if (!f)
        return false;
    bool ok = fputs(other_cnf, f) >= 0;
    if (fclose(f) != 0 || !ok)
        return false;
    /* clang-format off */
    const char *const cmds[][24] = {
        /* -days -1 puts notAfter a day before notBefore (now): expired at once. */
        {"openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-set_serial", "10", "-extfile", "pki.cnf", "-extensions", "v3_leaf", "-days", "-1",
         "-out", "expired.pem", NULL},
        {"openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
         "-set_serial", "11", "-extfile", "other.cnf", "-days", "2", "-out", "otherhost.pem",
         NULL},
        {"openssl", "pkey", "-in", "client.key", "-aes256", "-passout", "pass:kw-key-secret",
         "-out", "client-enc.key", NULL},
    };
    /* clang-format on */
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (pki_run(cmds[i], NULL, pki_path("gen.log"), 60) != 0) {
            fprintf(stderr, "making the test certificates failed at: openssl %s (see %s)\n",
                    cmds[i][1], pki_path("gen.log"));
            return false;
        }
    return true;
}

Suite *
kw_test_suite(void)
{
    if (!KW_HAVE_TLS) {
        fprintf(stderr, "SKIP: client_mock_tls: kwire was built without TLS\n");
        exit(77);
    }
    const char *const version[] = {"openssl", "version", NULL};
    if (pki_run(version, NULL, NULL, 30) != 0) {
        fprintf(stderr,
                "SKIP: client_mock_tls: the openssl command is not installed (Debian: openssl)\n");
        exit(77);
    }
    if (!pki_make() || !make_bad_certs()) {
        pki_remove();
        exit(1);
    }
    Suite *s = suite_create("client_mock_tls");
    TCase *tc = tcase_create("tls");
    tcase_add_unchecked_fixture(tc, NULL, pki_remove);
    tcase_add_checked_fixture(tc, NULL, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_valid_certificate);
    tcase_add_test(tc, test_expired_certificate);
    tcase_add_test(tc, test_wrong_host_name);
    tcase_add_test(tc, test_untrusted_ca);
    tcase_add_test(tc, test_client_certificate_required);
    tcase_add_test(tc, test_sasl_ssl_scram_512);
    suite_add_tcase(s, tc);
    return s;
}
