/* Shutdown in every state (issue 9): a client freed while its connection is still connecting
 * (a listener whose accept queue is full, so the SYN goes unanswered), in the TLS handshake (a
 * listener that accepts and never answers the ClientHello), in SASL (kwire-mock with SASL whose
 * SaslHandshake is never answered), and a producer freed with a full produce queue (a small
 * buffer.memory and a broker that reads requests and never answers); a group member closed
 * mid-rebalance (every SyncGroup answered REBALANCE_IN_PROGRESS, so it rejoins forever); and an
 * event bus shut down while a handler runs on its background thread. Each state is checked
 * through the client's statistics (or the bytes the client sent) before the free. Every free
 * must return promptly (measured with CLOCK_MONOTONIC against a generous bound), fire every
 * outstanding callback exactly once with KW_ERR_CANCELED, and leave no byte allocated. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "kwire/bus.h"
#include "kwire/codec.h"
#include "kwire/consumer.h"
#include "kwire/mock.h"
#include "kwire/producer.h"
#include "robust_util.h"

/* A free must not wait for a broker that will never answer: 5 s is far above what it takes
 * and far below any request or connection timeout configured here (60 s). */
#define FREE_BOUND_MS 5000

static const char *const slow_timeouts[] = {"socket.connection.setup.timeout.ms", "60000",
                                            "request.timeout.ms", "60000", NULL};

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
    const char *const extra[] = {
        "buffer.memory",       "4096",   "linger.ms", "0", "request.timeout.ms", "60000",
        "delivery.timeout.ms", "120000", NULL};
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

/* ---------------------------------------------------------------- mid-rebalance */

static void
count_rebalance(kw_consumer *k, kw_rebalance_kind kind, const kw_topic_partition *parts, size_t n,
                void *ud)
{
    (void)k;
    (void)parts;
    (void)n;
    int *assigned = ud;
    if (kind == KW_REBALANCE_ASSIGNED)
        (*assigned)++;
}

/* Every SyncGroup is answered REBALANCE_IN_PROGRESS (27), so the member rejoins again and
 * again: it is always mid-rebalance. kw_consumer_close with a timeout must return by then. */
START_TEST(test_close_mid_rebalance)
{
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    kw_error err;
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(&mc, &m, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 2, 1, &err), KW_ERR_OK);
    kw_mock_group_conf gc;
    kw_mock_group_conf_init(&gc);
    gc.initial_rebalance_delay_ms = 0;
    ck_assert_int_eq(kw_mock_group_conf_set(m, &gc), KW_ERR_OK);
    static int16_t codes[1000];
    for (int i = 0; i < 1000; i++)
        codes[i] = 27;
    ck_assert_int_eq(kw_mock_fault_errors(m, 0, 14, codes, 1000), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_thread_start(m, &err), KW_ERR_OK);
    const char *const extra[] = {
        "group.id", "g", "session.timeout.ms", "6000", "heartbeat.interval.ms", "500", NULL};
    kwt_fa fa;
    kwt_fa_init(&fa);
    kw_client *c = kwt_fa_client(&fa, kw_mock_bootstrap(m), extra);
    int assigned = 0;
    kw_consumer_opts o;
    kw_consumer_opts_init(&o);
    o.on_rebalance = count_rebalance;
    o.rebalance_ud = &assigned;
    kw_consumer *k = NULL;
    ck_assert_int_eq(kw_consumer_new(c, &o, &k, &err), KW_ERR_OK);
    const char *topics[] = {"t"};
    ck_assert_int_eq(kw_consumer_subscribe(k, topics, 1, &err), KW_ERR_OK);
    /* Poll until the member has joined at least once (it has a generation from JoinGroup) */
    int64_t end = kwt_now_ms() + 30000;
    while (kw_consumer_generation(k) <= 0) {
        ck_assert_msg(kwt_now_ms() < end, "the member never joined");
        kw_consumer_msg *msgs[4];
        size_t got = 0;
        ck_assert_int_eq(kw_consumer_poll(k, msgs, 4, 10, &got, &err), KW_ERR_OK);
        kw_consumer_msgs_release(msgs, got);
    }
    for (int i = 0; i < 10; i++) {
        kw_consumer_msg *msgs[4];
        size_t got = 0;
        kw_consumer_poll(k, msgs, 4, 10, &got, &err);
        kw_consumer_msgs_release(msgs, got);
    }
    ck_assert_int_eq(assigned, 0); /* SyncGroup never succeeded */
    int64_t t0 = kwt_now_ms();
    kw_err e = kw_consumer_close(k, 1000, &err);
    int64_t took = kwt_now_ms() - t0;
    ck_assert_msg(e == KW_ERR_OK || e == KW_ERR_TIMED_OUT, "close: %s", kw_err_name(e));
    ck_assert_msg(took < 1000 + FREE_BOUND_MS, "kw_consumer_close(1000) took %lld ms",
                  (long long)took);
    kw_consumer_free(k);
    kw_client_free(c);
    ck_assert_int_eq(assigned, 0);
    ck_assert(!fa.f.size_mismatch);
    ck_assert_msg(fa.f.live == 0, "%lld bytes leaked", fa.f.live);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- bus handlers running */

typedef struct slow_handler {
    atomic_int entered, left;
} slow_handler;

/* Runs on the bus's background thread and takes 300 ms, so the shutdown below meets it. */
static int
slow(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *msg, kw_bus_failure *fail,
     void *ud)
{
    (void)bus;
    (void)ev;
    (void)msg;
    (void)fail;
    slow_handler *h = ud;
    atomic_fetch_add(&h->entered, 1);
    usleep(300000);
    atomic_fetch_add(&h->left, 1);
    return 0;
}

START_TEST(test_bus_shutdown_with_handler_running)
{
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    kw_error err;
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(&mc, &m, &err), KW_ERR_OK);
    kw_mock_group_conf gc;
    kw_mock_group_conf_init(&gc);
    gc.initial_rebalance_delay_ms = 0;
    ck_assert_int_eq(kw_mock_group_conf_set(m, &gc), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_thread_start(m, &err), KW_ERR_OK);
    kwt_fa fa;
    kwt_fa_init(&fa);
    kw_bus_config bc;
    kw_bus_config_init(&bc);
    snprintf(bc.bootstrap_servers, sizeof(bc.bootstrap_servers), "%s", kw_mock_bootstrap(m));
    snprintf(bc.topic_prefix, sizeof(bc.topic_prefix), "sd");
    snprintf(bc.consumer_group, sizeof(bc.consumer_group), "sdg");
    if (!kw_codec_available(KW_CODEC_GZIP)) /* the default codec, missing without zlib */
        snprintf(bc.compression_type, sizeof(bc.compression_type), "none");
    bc.session_timeout_ms = 6000;
    bc.heartbeat_interval_ms = 500;
    bc.linger_ms = 1;
    kw_bus_opts o;
    kw_bus_opts_init(&o);
    o.allocator = &fa.a;
    kw_bus *bus = NULL;
    ck_assert_int_eq(kw_bus_new(&bc, &o, &bus, &err), KW_ERR_OK);
    ck_assert_msg(kw_bus_connect(bus, 30000, &err) == KW_ERR_OK, "%s", err.msg);
    slow_handler h;
    atomic_init(&h.entered, 0);
    atomic_init(&h.left, 0);
    ck_assert_int_eq(kw_bus_subscribe(bus, "Slow", slow, &h, &err), KW_ERR_OK);
    kw_bus_event ev[5];
    for (int i = 0; i < 5; i++) {
        kw_bus_event_init(&ev[i]);
        ev[i].event_type = "Slow";
        ev[i].aggregate_type = "Robust";
        ev[i].aggregate_id = ev[0].correlation_id; /* one partition, in order */
        ev[i].aggregate_version = i + 1;
        ev[i].payload = kw_slice_str("{}");
    }
    ck_assert_msg(kw_bus_publish(bus, ev, 5, NULL, 30000, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(kw_bus_start_consuming_in_background(bus, &err), KW_ERR_OK);
    int64_t end = kwt_now_ms() + 30000;
    while (atomic_load(&h.entered) == 0) {
        ck_assert_msg(kwt_now_ms() < end, "no handler ran");
        usleep(1000); /* waiting for another thread's progress, with a deadline */
    }
    int64_t t0 = kwt_now_ms();
    kw_err e = kw_bus_shutdown(bus, 3000, &err);
    int64_t took = kwt_now_ms() - t0;
    ck_assert_msg(e == KW_ERR_OK || e == KW_ERR_TIMED_OUT, "shutdown: %s (%s)", kw_err_name(e),
                  err.msg);
    ck_assert_msg(took < 3000 + FREE_BOUND_MS, "kw_bus_shutdown(3000) took %lld ms",
                  (long long)took);
    /* The event in hand finished; no handler runs after the shutdown returned. */
    int entered = atomic_load(&h.entered);
    ck_assert_int_eq(atomic_load(&h.left), entered);
    ck_assert_int_lt(entered, 5);
    kw_bus_free(bus);
    ck_assert_int_eq(atomic_load(&h.entered), entered);
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
    tcase_add_test(tc, test_close_mid_rebalance);
    tcase_add_test(tc, test_bus_shutdown_with_handler_running);
    suite_add_tcase(s, tc);
    return s;
}
