/* kwire-mock's TLS listeners, checked by two TLS clients: kwire's own TLS engine (client side,
 * src/net/tls.h, driven over a non-blocking socket with poll() as a reactor would) and the
 * openssl command line (`openssl s_client`). Covered: a TLS listener with certificate
 * verification of the broker by IP address; Kafka requests and answers through it; s_client's
 * verified handshake, and an ApiVersions exchange through s_client byte for byte; mutual TLS
 * (a client without a certificate, or with one from an untrusted CA, is rejected; with a good
 * one it is served); SASL_SSL with SCRAM-SHA-512; a plaintext client on a TLS port; turning
 * TLS off again; and configuration errors. The mock runs on its own thread.
 *
 * Without the openssl command the suite is skipped visibly (exit 77); a build without TLS
 * checks that kw_mock_tls_set says so and is skipped too. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <unistd.h>

#include "fault_util.h"
#include "kw_config.h"
#include "net/sasl.h"
#include "net/tls.h"
#include "pki_util.h"

#define TLS_WAIT_MS 10000

/* ---------------------------------------------------------------- a TLS client */

typedef struct tc {
    int fd;
    kwi_tls_ctx *ctx;
    kwi_tls *t;
    kw_error err;
    int32_t corr;
} tc;

static bool
tc_wait(tc *c, kwi_tls_rc rc, int64_t deadline)
{
    struct pollfd p = {c->fd, rc == KWI_TLS_AGAIN_WRITE ? POLLOUT : POLLIN, 0};
    int left = (int)(deadline - mc_now_ms());
    return left > 0 && poll(&p, 1, left) >= 0;
}

/* Connects to broker node_id with TLS (client certificate optional) and completes the
 * handshake; false with c->err set when the handshake fails. */
static bool
tc_open(tc *c, kw_mock *m, int32_t node_id, const char *cert, const char *key)
{
    memset(c, 0, sizeof(*c));
    kw_error_init(&c->err);
    kwi_tls_conf conf;
    kwi_tls_conf_init(&conf);
    conf.ca_file = pki_path("ca.pem");
    conf.cert_file = cert;
    conf.key_file = key;
    ck_assert_msg(kwi_tls_ctx_new(&conf, &c->ctx, &c->err) == KW_ERR_OK, "%s", c->err.msg);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)kw_mock_broker_port(m, node_id));
    ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    fcntl(c->fd, F_SETFL, O_NONBLOCK);
    ck_assert_int_eq(kwi_tls_new(c->ctx, c->fd, "127.0.0.1", &c->t, &c->err), KW_ERR_OK);
    int64_t deadline = mc_now_ms() + TLS_WAIT_MS;
    for (;;) {
        kwi_tls_rc rc = kwi_tls_handshake(c->t, &c->err);
        if (rc == KWI_TLS_OK)
            return true;
        if (rc != KWI_TLS_AGAIN_READ && rc != KWI_TLS_AGAIN_WRITE)
            return false;
        ck_assert_msg(tc_wait(c, rc, deadline), "TLS handshake timed out");
    }
}

static void
tc_close(tc *c)
{
    kwi_tls_free(c->t);
    kwi_tls_ctx_free(c->ctx);
    close(c->fd);
}

/* Writes all of p; false (c->err says why) when the session fails. */
static bool
tc_write(tc *c, const uint8_t *p, size_t n)
{
    int64_t deadline = mc_now_ms() + TLS_WAIT_MS;
    while (n) {
        size_t put;
        kwi_tls_rc rc = kwi_tls_write(c->t, p, n, &put, &c->err);
        if (rc == KWI_TLS_OK) {
            p += put;
            n -= put;
            continue;
        }
        if (rc != KWI_TLS_AGAIN_READ && rc != KWI_TLS_AGAIN_WRITE)
            return false;
        ck_assert(tc_wait(c, rc, deadline));
    }
    return true;
}

/* Reads exactly n bytes; false (c->err says why) when the session ends first. */
static bool
tc_read(tc *c, uint8_t *p, size_t n)
{
    int64_t deadline = mc_now_ms() + TLS_WAIT_MS;
    while (n) {
        size_t got;
        kwi_tls_rc rc = kwi_tls_read(c->t, p, n, &got, &c->err);
        if (rc == KWI_TLS_OK) {
            p += got;
            n -= got;
            continue;
        }
        if (rc != KWI_TLS_AGAIN_READ && rc != KWI_TLS_AGAIN_WRITE)
            return false;
        ck_assert_msg(tc_wait(c, rc, deadline), "TLS read timed out");
    }
    return true;
}

/* Sends a request and decodes the answer into out (slices into *frame); false when the
 * connection ended instead. */
static bool
tc_call(tc *c, const kw_msgdef *req, const kw_msgdef *resp, int16_t ver, const void *msg,
        kw_arena *ar, void *out, uint8_t **frame)
{
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1u << 20);
    kw_wr_i32(&w, 0);
    kw_req_hdr h = {req->api_key, ver, ++c->corr, kw_slice_str("kwire-tls-test"), {NULL, 0}};
    ck_assert_int_eq(kw_req_hdr_encode(&w, kw_req_hdr_version(req, ver), &h), KW_ERR_OK);
    ck_assert_int_eq(kw_msg_encode(req, ver, &w, msg), KW_ERR_OK);
    kw_wr_patch_i32(&w, 0, (int32_t)(kw_wr_len(&w) - 4));
    bool sent = tc_write(c, w.base, kw_wr_len(&w));
    kw_wr_fini(&w);
    uint8_t sz[4];
    if (!sent || !tc_read(c, sz, 4))
        return false;
    size_t n = fu_be32(sz);
    *frame = malloc(n ? n : 1);
    if (!tc_read(c, *frame, n)) {
        free(*frame);
        return false;
    }
    kw_rd rd;
    kw_rd_init(&rd, *frame, n);
    kw_resp_hdr rh;
    ck_assert_int_eq(kw_resp_hdr_decode(&rd, kw_resp_hdr_version(resp, ver), ar, &rh), KW_ERR_OK);
    ck_assert_int_eq(rh.correlation_id, c->corr);
    ck_assert_int_eq(kw_msg_decode(resp, ver, &rd, ar, out), KW_ERR_OK);
    return true;
}

static bool
tc_api_versions(tc *c)
{
    kw_api_versions_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.client_software_name = kw_slice_str("kwire-tls-test");
    rq.client_software_version = kw_slice_str("1");
    kw_api_versions_resp r;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f = NULL;
    bool ok = tc_call(c, &kw_msg_api_versions_req, &kw_msg_api_versions_resp, 3, &rq, &ar, &r, &f);
    if (ok)
        ck_assert_int_eq(r.error_code, 0);
    free(f);
    kw_arena_fini(&ar);
    return ok;
}

/* ---------------------------------------------------------------- setup */

static kw_mock *
tls_mock(int brokers, kw_mock_tls_client_auth auth)
{
    kw_mock *m = fu_mock(brokers, NULL);
    kw_mock_tls_conf tc;
    kw_mock_tls_conf_init(&tc);
    tc.cert_file = pki_path("server.pem");
    tc.key_file = pki_path("server.key");
    tc.client_ca_file = auth ? pki_path("ca.pem") : NULL;
    tc.client_auth = auth;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_tls_set(m, 0, &tc, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(kw_mock_thread_start(m, NULL), KW_ERR_OK);
    return m;
}

/* ---------------------------------------------------------------- tests */

START_TEST(test_kwire_client_over_tls)
{
    kw_mock *m = tls_mock(2, KW_MOCK_TLS_CLIENT_AUTH_NONE);
    for (int32_t node = 1; node <= 2; node++) {
        tc c;
        ck_assert_msg(tc_open(&c, m, node, NULL, NULL), "%s", c.err.msg);
        ck_assert_str_eq(kwi_tls_protocol(c.t), "TLSv1.3");
        ck_assert(tc_api_versions(&c));
        /* Produce and fetch a record through the TLS session. */
        kw_metadata_req_topic t;
        memset(&t, 0, sizeof(t));
        t.name = kw_slice_str("tls-topic");
        kw_metadata_req rq;
        memset(&rq, 0, sizeof(rq));
        rq.topics = &t;
        rq.n_topics = 1;
        rq.allow_auto_topic_creation = true;
        kw_metadata_resp r;
        kw_arena ar;
        kw_arena_init(&ar, NULL, 0);
        uint8_t *f;
        ck_assert(tc_call(&c, &kw_msg_metadata_req, &kw_msg_metadata_resp, 12, &rq, &ar, &r, &f));
        ck_assert_int_eq(r.n_topics, 1);
        ck_assert_int_eq(r.topics[0].error_code, 0);
        free(f);
        kw_arena_fini(&ar);
        tc_close(&c);
    }
    kw_mock_free(m);
}
END_TEST

/* openssl s_client, talking Kafka: an ApiVersions v0 request, then an API the broker does not
 * serve, which makes it close the connection, which ends s_client; its stdout (-quiet) is the
 * broker's answer. */
START_TEST(test_openssl_s_client)
{
    kw_mock *m = tls_mock(1, KW_MOCK_TLS_CLIENT_AUTH_NONE);
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", kw_mock_broker_port(m, 1));
    static const uint8_t req[] = {
        0, 0, 0, 14, 0, 18,  0, 0, 0, 0, 0, 7, 0, 4, 't', 'e', 's', 't', /* ApiVersions v0 */
        0, 0, 0, 8,  0, 127, 0, 0, 0, 0, 0, 8,                           /* API 127: close */
    };
    FILE *in = fopen(pki_path("req.bin"), "wb");
    ck_assert_ptr_nonnull(in);
    ck_assert_uint_eq(fwrite(req, 1, sizeof(req), in), sizeof(req));
    fclose(in);
    const char *const argv[] = {"openssl",
                                "s_client",
                                "-connect",
                                addr,
                                "-CAfile",
                                pki_path("ca.pem"),
                                "-verify_return_error",
                                "-verify_ip",
                                "127.0.0.1",
                                "-quiet",
                                "-ign_eof",
                                NULL};
    remove(pki_path("s_client.out"));
    int rc = pki_run(argv, pki_path("req.bin"), pki_path("s_client.out"), 60);
    ck_assert_int_eq(rc, 0);
    FILE *out = fopen(pki_path("s_client.out"), "rb");
    ck_assert_ptr_nonnull(out);
    uint8_t buf[8192];
    size_t n = fread(buf, 1, sizeof(buf), out);
    fclose(out);
    /* -quiet still prints the verification lines on stderr (merged here) before the data:
     * find the frame by its correlation id 7. */
    size_t at = 0;
    while (at + 8 <= n && !(fu_be32(buf + at + 4) == 7 && fu_be32(buf + at) < 4096 &&
                            fu_be32(buf + at) + 4 <= n - at))
        at++;
    ck_assert_msg(at + 8 <= n, "no ApiVersions answer in s_client's output");
    size_t len = fu_be32(buf + at);
    kw_rd rd;
    kw_rd_init(&rd, buf + at + 8, len - 4);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_api_versions_resp r;
    ck_assert_int_eq(kw_msg_decode(&kw_msg_api_versions_resp, 0, &rd, &ar, &r), KW_ERR_OK);
    ck_assert_int_eq(r.error_code, 0);
    ck_assert_int_gt(r.n_api_keys, 10);
    kw_arena_fini(&ar);
    ck_assert_ptr_nonnull(memmem(buf, n, "verify return:1", 15));
    kw_mock_free(m);
}
END_TEST

START_TEST(test_mutual_tls)
{
    kw_mock *m = tls_mock(1, KW_MOCK_TLS_CLIENT_AUTH_REQUIRED);
    /* No certificate: TLS 1.3 lets the client finish first; the broker's alert is what the
     * first read finds. */
    tc c;
    uint8_t b;
    if (tc_open(&c, m, 1, NULL, NULL))
        ck_assert(!tc_read(&c, &b, 1));
    ck_assert_int_eq(c.err.code, KW_ERR_AUTH);
    ck_assert_msg(strstr(c.err.msg, "certificate required"), "%s", c.err.msg);
    tc_close(&c);
    /* A certificate from a CA the broker does not trust. */
    if (tc_open(&c, m, 1, pki_path("rogue.pem"), pki_path("rogue.key")))
        ck_assert(!tc_read(&c, &b, 1));
    ck_assert_int_eq(c.err.code, KW_ERR_AUTH);
    ck_assert_msg(strstr(c.err.msg, "unknown ca"), "%s", c.err.msg);
    tc_close(&c);
    /* The right one. */
    ck_assert_msg(tc_open(&c, m, 1, pki_path("client.pem"), pki_path("client.key")), "%s",
                  c.err.msg);
    ck_assert(tc_api_versions(&c));
    tc_close(&c);
    /* s_client without a certificate, TLS 1.2 (the server decides inside the handshake). */
    char addr[64];
    snprintf(addr, sizeof(addr), "127.0.0.1:%d", kw_mock_broker_port(m, 1));
    const char *const argv[] = {"openssl",          "s_client", "-connect", addr, "-CAfile",
                                pki_path("ca.pem"), "-tls1_2",  "-brief",   NULL};
    ck_assert_int_ne(pki_run(argv, NULL, NULL, 60), 0);
    const char *const with[] = {"openssl",  "s_client",
                                "-connect", addr,
                                "-CAfile",  pki_path("ca.pem"),
                                "-tls1_2",  "-brief",
                                "-cert",    pki_path("client.pem"),
                                "-key",     pki_path("client.key"),
                                NULL};
    ck_assert_int_eq(pki_run(with, NULL, NULL, 60), 0);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_sasl_ssl_scram_512)
{
    kw_mock *m = tls_mock(1, KW_MOCK_TLS_CLIENT_AUTH_NONE);
    ck_assert_int_eq(kw_mock_sasl_user_add(m, "SCRAM-SHA-512", "app", "app-secret", NULL),
                     KW_ERR_OK);
    tc c;
    ck_assert_msg(tc_open(&c, m, 1, NULL, NULL), "%s", c.err.msg);
    ck_assert(tc_api_versions(&c)); /* allowed before authenticating */
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_sasl_handshake_req hq = {kw_slice_str("SCRAM-SHA-512")};
    kw_sasl_handshake_resp hr;
    ck_assert(
        tc_call(&c, &kw_msg_sasl_handshake_req, &kw_msg_sasl_handshake_resp, 1, &hq, &ar, &hr, &f));
    ck_assert_int_eq(hr.error_code, 0);
    free(f);
    kwi_sasl_conf sc;
    kwi_sasl_conf_init(&sc);
    sc.mech = KWI_SASL_SCRAM_SHA_512;
    sc.username = "app";
    sc.password = "app-secret";
    kwi_sasl *s;
    ck_assert_int_eq(kwi_sasl_new(&sc, &s, NULL), KW_ERR_OK);
    kwi_sasl_out out;
    ck_assert_int_eq(kwi_sasl_start(s, &out, NULL), KW_ERR_OK);
    while (!out.done) {
        kw_sasl_authenticate_req aq;
        memset(&aq, 0, sizeof(aq));
        aq.auth_bytes = (kw_slice){out.ptr, (int32_t)out.len};
        kw_sasl_authenticate_resp ar_;
        ck_assert(tc_call(&c, &kw_msg_sasl_authenticate_req, &kw_msg_sasl_authenticate_resp, 2, &aq,
                          &ar, &ar_, &f));
        ck_assert_int_eq(ar_.error_code, 0);
        ck_assert_int_eq(
            kwi_sasl_step(s, ar_.auth_bytes.ptr, (size_t)ar_.auth_bytes.len, &out, NULL),
            KW_ERR_OK);
        free(f);
    }
    kwi_sasl_free(s);
    ck_assert(tc_api_versions(&c));
    kw_arena_fini(&ar);
    tc_close(&c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_plaintext_client_and_tls_off)
{
    kw_mock *m = tls_mock(1, KW_MOCK_TLS_CLIENT_AUTH_NONE);
    mc *c = mc_connect(m, 1, true);
    fu_send_api_versions(c, 3); /* not a TLS ClientHello: the broker drops the connection */
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    mc_close(c);
    /* TLS off again: new connections are plaintext. */
    ck_assert_int_eq(kw_mock_tls_set(m, 1, NULL, NULL), KW_ERR_OK);
    c = mc_connect(m, 1, true);
    fu_send_api_versions(c, 3);
    size_t len;
    uint8_t *f = mc_recv_frame(c, MC_WAIT_MS, &len);
    ck_assert_ptr_nonnull(f);
    free(f);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_config_errors)
{
    kw_mock *m = fu_mock(1, NULL);
    kw_mock_tls_conf tc;
    kw_mock_tls_conf_init(&tc);
    kw_error err;
    kw_error_init(&err);
    tc.cert_file = pki_path("missing.pem");
    tc.key_file = pki_path("server.key");
    ck_assert_int_eq(kw_mock_tls_set(m, 1, &tc, &err), KW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "missing.pem"));
    tc.cert_file = pki_path("server.pem");
    tc.key_file = pki_path("client.key"); /* not the certificate's key */
    ck_assert_int_eq(kw_mock_tls_set(m, 1, &tc, &err), KW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "does not match"));
    tc.key_file = pki_path("server.key");
    tc.client_auth = KW_MOCK_TLS_CLIENT_AUTH_REQUIRED;
    ck_assert_int_eq(kw_mock_tls_set(m, 1, &tc, &err), KW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "client CA"));
    ck_assert_int_eq(kw_mock_tls_set(m, 2, &tc, &err), KW_ERR_NOT_FOUND);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
#if !KW_HAVE_TLS
    kw_mock *m = NULL; /* no ck_assert here: this runs outside any test */
    if (kw_mock_new(NULL, &m, NULL)) {
        fprintf(stderr, "FAIL: cannot create a mock cluster\n");
        exit(1);
    }
    kw_mock_tls_conf conf;
    kw_mock_tls_conf_init(&conf);
    conf.cert_file = "x";
    kw_error err;
    kw_error_init(&err);
    kw_err e = kw_mock_tls_set(m, 0, &conf, &err);
    kw_mock_free(m);
    if (e != KW_ERR_CONFIG || !strstr(err.msg, "without TLS")) {
        fprintf(stderr, "FAIL: a build without TLS accepted a TLS listener\n");
        exit(1);
    }
    fprintf(stderr, "SKIP: mock_tls: kwire was built without TLS\n");
    exit(77);
#endif
    const char *const version[] = {"openssl", "version", NULL};
    if (pki_run(version, NULL, NULL, 30) != 0) {
        fprintf(stderr, "SKIP: mock_tls: the openssl command is not installed (Debian: openssl)\n");
        exit(77);
    }
    if (!pki_make()) {
        pki_remove();
        exit(1);
    }
    Suite *s = suite_create("mock_tls");
    TCase *tc = tcase_create("tls");
    tcase_add_unchecked_fixture(tc, NULL, pki_remove);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_kwire_client_over_tls);
    tcase_add_test(tc, test_openssl_s_client);
    tcase_add_test(tc, test_mutual_tls);
    tcase_add_test(tc, test_sasl_ssl_scram_512);
    tcase_add_test(tc, test_plaintext_client_and_tls_off);
    tcase_add_test(tc, test_config_errors);
    suite_add_tcase(s, tc);
    return s;
}
