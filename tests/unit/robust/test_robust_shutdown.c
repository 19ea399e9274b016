/* Shutdown in every state (issue 9): a client freed while its connection is still connecting
 * (a listener whose accept queue is full, so the SYN goes unanswered), in the TLS handshake (a
 * listener that accepts and never answers the ClientHello), in SASL (kwire-mock with SASL whose
 * SaslHandshake is never answered), and a producer freed with a full produce queue (a small
 * buffer.memory and a broker that reads requests and never answers). Each state is checked
 * through the client's statistics (or the bytes the client sent) before the free. Every free
 * must return promptly (measured with CLOCK_MONOTONIC against a generous bound), fire every
 * outstanding callback exactly once with KW_ERR_CANCELED, and leave no byte allocated. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kwire/mock.h"
#include "kwire/producer.h"
#include "robust_util.h"

/* A free must not wait for a broker that will never answer: 5 s is far above what it takes
 * and far below any request or connection timeout configured here (60 s). */
#define FREE_BOUND_MS 5000

static const char *const slow_timeouts[] = {"socket.connection.setup.timeout.ms",
                                            "60000",
                                            "request.timeout.ms",
                                            "60000",
                                            NULL};

/* Asks for metadata (60 s timeout), steps until the bootstrap connection reaches `state` (or
 * fails the test), then frees the client and checks the promises of kw_client_free. */
static void
free_in_state(kwt_fa *fa, kw_client *c, int port, const char *state,
              void (*between)(kw_client *c, void *ud), void *ud)
{
    kwt_cbrec rec = {0, KW_ERR_OK};
    kw_error err;
    ck_assert_int_eq(kw_client_metadata(c, NULL, 0, 60000, kwt_md_cb, &rec, &err), KW_ERR_OK);
    char buf[16];
    int64_t end = kwt_now_ms() + 30000;
    while (strcmp(kwt_conn_state(c, port, buf), state) != 0) {
        ck_assert_msg(kwt_now_ms() < end, "never reached %s (state %s)", state, buf);
        ck_assert_int_eq(kw_client_step(c, 10, NULL), KW_ERR_OK);
        if (between)
            between(c, ud);
    }
    /* It stays there: nothing answers. */
    for (int i = 0; i < 10; i++)
        kw_client_step(c, 10, NULL);
    ck_assert_str_eq(kwt_conn_state(c, port, buf), state);
    ck_assert_int_eq(rec.calls, 0);
    int64_t t0 = kwt_now_ms();
    kw_client_free(c);
    int64_t took = kwt_now_ms() - t0;
    ck_assert_msg(took < FREE_BOUND_MS, "kw_client_free took %lld ms", (long long)took);
    ck_assert_int_eq(rec.calls, 1);
    ck_assert_int_eq(rec.err, KW_ERR_CANCELED);
    ck_assert(!fa->f.size_mismatch);
    ck_assert_msg(fa->f.live == 0, "%lld bytes leaked", fa->f.live);
}

START_TEST(test_free_while_connecting)
{
    /* With backlog 0 the accept queue holds one connection; two of the test's own fill it,
     * and Linux then drops the client's SYN: its connect() stays in progress. */
    int port;
    int lfd = kwt_listen(0, &port);
    char bootstrap[64];
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", port);
    int fill[2];
    for (int i = 0; i < 2; i++) {
        fill[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        ck_assert_int_eq(getsockname(lfd, (struct sockaddr *)&ss, &len), 0);
        connect(fill[i], (struct sockaddr *)&ss, len); /* EINPROGRESS or done */
    }
    usleep(50000); /* lets the kernel finish the first handshake; not a synchronisation */
    kwt_fa fa;
    kwt_fa_init(&fa);
    kw_client *c = kwt_fa_client(&fa, bootstrap, slow_timeouts);
    free_in_state(&fa, c, port, "CONNECTING", NULL, NULL);
    for (int i = 0; i < 2; i++)
        close(fill[i]);
    close(lfd);
}
END_TEST

/* Accepts the client's connection once it is there (a listener that never answers). */
static void
accept_one(kw_client *c, void *ud)
{
    (void)c;
    int *fds = ud;
    if (fds[1] < 0)
        fds[1] = accept4(fds[0], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

START_TEST(test_free_in_tls_handshake)
{
    int port;
    int fds[2] = {kwt_listen(4, &port), -1};
    char bootstrap[64];
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", port);
    const char *const extra[] = {"security.protocol",
                                 "SSL",
                                 "socket.connection.setup.timeout.ms",
                                 "60000",
                                 "request.timeout.ms",
                                 "60000",
                                 NULL};
    kwt_fa fa;
    kwt_fa_init(&fa);
    kw_conf *conf = kwt_fa_conf(&fa, bootstrap, extra);
    kw_client *c = NULL;
    kw_error err;
    kw_err e = kw_client_new(conf, &c, &err);
    if (e == KW_ERR_CONFIG && strstr(err.msg, "TLS")) {
        close(fds[0]);
        fprintf(stderr, "skipped: %s\n", err.msg);
        return; /* a build without TLS: nothing to shut down */
    }
    ck_assert_msg(e == KW_ERR_OK, "%s", err.msg);
    free_in_state(&fa, c, port, "TLS", accept_one, fds);
    /* What the client sent was a TLS handshake record (content type 22), then it was closed. */
    ck_assert_int_ge(fds[1], 0);
    uint8_t b[1];
    ck_assert_int_eq(recv(fds[1], b, 1, 0), 1);
    ck_assert_uint_eq(b[0], 22);
    close(fds[1]);
    close(fds[0]);
}
END_TEST

/* The mock runs on the test's thread so that the SaslHandshake can be held back exactly: the
 * moment the client's connection enters SASL (its ApiVersions was answered, the handshake is
 * on its way) the broker is made silent before it steps again. */
typedef struct sasl_ctx {
    kw_mock *m;
    int port;
    bool silenced;
} sasl_ctx;

static void
step_sasl_mock(kw_client *c, void *ud)
{
    sasl_ctx *s = ud;
    char buf[16];
    if (!s->silenced && strcmp(kwt_conn_state(c, s->port, buf), "SASL") == 0) {
        ck_assert_int_eq(kw_mock_fault_hostile(s->m, 1, KW_MOCK_HOSTILE_SILENT, -1, 0), KW_ERR_OK);
        s->silenced = true;
    }
    kw_mock_step(s->m, 0);
}

START_TEST(test_free_in_sasl)
{
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    kw_error err;
    sasl_ctx s = {NULL, 0, false};
    ck_assert_int_eq(kw_mock_new(&mc, &s.m, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_sasl_user_add(s.m, "PLAIN", "alice", "secret", &err), KW_ERR_OK);
    s.port = kw_mock_broker_port(s.m, 1);
    const char *const extra[] = {"security.protocol",
                                 "SASL_PLAINTEXT",
                                 "sasl.mechanism",
                                 "PLAIN",
                                 "sasl.username",
                                 "alice",
                                 "sasl.password",
                                 "secret",
                                 "socket.connection.setup.timeout.ms",
                                 "60000",
                                 "request.timeout.ms",
                                 "60000",
                                 NULL};
    kwt_fa fa;
    kwt_fa_init(&fa);
    kw_client *c = kwt_fa_client(&fa, kw_mock_bootstrap(s.m), extra);
    /* The bootstrap entry is kept under the name given, which is the mock's port. */
    free_in_state(&fa, c, s.port, "SASL", step_sasl_mock, &s);
    ck_assert(s.silenced);
    kw_mock_free(s.m);
}
END_TEST

/* ---------------------------------------------------------------- a full produce queue */

typedef struct reports {
    int n, canceled, other;
    int per[512];
} reports;

static void
on_delivery(kw_producer *p, const kw_delivery *d, void *ud)
{
    (void)p;
    reports *r = ud;
    r->n++;
    uintptr_t id = (uintptr_t)d->opaque;
    if (id < 512)
        r->per[id]++;
    if (d->err == KW_ERR_CANCELED)
        r->canceled++;
    else
        r->other++;
}

START_TEST(test_free_with_full_produce_queue)
{
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    kw_error err;
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(&mc, &m, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 2, 1, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_thread_start(m, &err), KW_ERR_OK);
    const char *const extra[] = {"buffer.memory",      "4096", "linger.ms", "0",
                                 "request.timeout.ms", "60000", "delivery.timeout.ms", "120000",
                                 NULL};
    kwt_fa fa;
    kwt_fa_init(&fa);
    kw_client *c = kwt_fa_client(&fa, kw_mock_bootstrap(m), extra);
    reports r;
    memset(&r, 0, sizeof(r));
    kw_producer_opts o;
    kw_producer_opts_init(&o);
    o.on_delivery = on_delivery;
    o.delivery_ud = &r;
    kw_producer *p = NULL;
    ck_assert_int_eq(kw_producer_new(c, &o, &p, &err), KW_ERR_OK);
    /* One record delivered first, so metadata and the connection are up. */
    kw_message msg;
    kw_message_init(&msg);
    msg.topic = "t";
    msg.value = kw_slice_str("warm");
    ck_assert_int_eq(kw_producer_send(p, &msg, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_producer_flush(p, 30000, &err), KW_ERR_OK);
    ck_assert_int_eq(r.n, 1);
    ck_assert_int_eq(r.other, 1);
    memset(&r, 0, sizeof(r));
    /* Now the broker reads and never answers; records pile up until buffer.memory is used. */
    ck_assert_int_eq(kw_mock_fault_hostile(m, 1, KW_MOCK_HOSTILE_SILENT, -1, 0), KW_ERR_OK);
    static char value[200];
    memset(value, 'x', sizeof(value));
    msg.value = (kw_slice){(const uint8_t *)value, (int32_t)sizeof(value)};
    int accepted = 0;
    kw_err e = KW_ERR_OK;
    int64_t end = kwt_now_ms() + 30000;
    while (e != KW_ERR_QUEUE_FULL) {
        ck_assert_msg(kwt_now_ms() < end, "the queue never filled");
        ck_assert_int_lt(accepted, 511);
        msg.opaque = (void *)(uintptr_t)(accepted + 1);
        e = kw_producer_send(p, &msg, &err);
        ck_assert(e == KW_ERR_OK || e == KW_ERR_QUEUE_FULL);
        if (e == KW_ERR_OK)
            accepted++;
        kw_client_step(c, 0, NULL); /* some go on the wire, to a broker that keeps them */
    }
    ck_assert_int_gt(accepted, 2);
    ck_assert_int_eq(r.n, 0);
    int64_t t0 = kwt_now_ms();
    kw_producer_free(p);
    kw_client_free(c);
    int64_t took = kwt_now_ms() - t0;
    ck_assert_msg(took < FREE_BOUND_MS, "freeing took %lld ms", (long long)took);
    ck_assert_int_eq(r.n, accepted);
    ck_assert_int_eq(r.canceled, accepted);
    for (int i = 1; i <= accepted; i++)
        ck_assert_int_eq(r.per[i], 1);
    ck_assert(!fa.f.size_mismatch);
    ck_assert_msg(fa.f.live == 0, "%lld bytes leaked", fa.f.live);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("robust_shutdown");
    TCase *tc = tcase_create("shutdown");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_free_while_connecting);
    tcase_add_test(tc, test_free_in_tls_handshake);
    tcase_add_test(tc, test_free_in_sasl);
    tcase_add_test(tc, test_free_with_full_produce_queue);
    suite_add_tcase(s, tc);
    return s;
}
