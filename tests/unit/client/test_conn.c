/* One broker connection against a scripted broker on a loopback socket, with a virtual clock
 * for its timers: the ApiVersions dance (librdkafka mock's malformed answer, a v0-only
 * broker), the bytes of a request on the wire, hostile frame sizes, correlation mismatches,
 * the in-flight window, timeouts, idle close, reconnect backoff with jitter, unusable APIs,
 * large requests written in parts, and the exactly-once callback rule. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conn_script.h"

static tworld w;

static void
setup(void)
{
    tw_init(&w);
}

static void
teardown(void)
{
    tw_fini(&w);
}

/* Metadata 0-12, ApiVersions 0-3, Produce 0-9: a 3.x-like broker. */
static const kw_api_version modern[] = {
    {3, 0, 12, {0}}, {18, 0, 3, {0}}, {0, 0, 9, {0}}, {17, 0, 1, {0}}, {36, 0, 2, {0}}};

typedef struct res {
    int calls;
    kw_err err;
    char msg[256];
    int16_t ver;
    int32_t n_brokers;
    int order;
    kwi_conn *free_me; /* the callback frees this connection */
} res;

static int completion_order;

static void
cb(kw_err err, const kw_error *detail, const kwi_resp *resp, void *ud)
{
    res *r = ud;
    r->calls++;
    r->err = err;
    r->ver = resp->ver;
    r->order = ++completion_order;
    snprintf(r->msg, sizeof(r->msg), "%s", detail->msg);
    if (err == KW_ERR_OK && resp->body && resp->api_key == 3)
        r->n_brokers = ((const kw_metadata_resp *)resp->body)->n_brokers;
    if (r->free_me) {
        kwi_conn *c = r->free_me;
        r->free_me = NULL;
        kwi_conn_free(c);
    }
}

static kw_metadata_req md_req; /* all-zero: no topics */

static kwi_conn *
new_conn(void (*tweak)(kwi_conn_opts *))
{
    kwi_conn_opts o;
    tw_opts(&w, &o);
    if (tweak)
        tweak(&o);
    kwi_conn *c = NULL;
    ck_assert_int_eq(kwi_conn_new(&o, &c), KW_ERR_OK);
    return c;
}

static void
send_md(kwi_conn *c, res *r, int64_t timeout_ms)
{
    memset(r, 0, sizeof(*r));
    kwi_req_opts o;
    kwi_req_opts_init(&o);
    o.timeout_ms = timeout_ms;
    kw_error err;
    ck_assert_int_eq(kwi_conn_send(c, 3, &md_req, &o, cb, r, &err), KW_ERR_OK);
    ck_assert_int_eq(r->calls, 0); /* never inside the call */
}

static void
reply_md(const sframe *f, int32_t n_brokers)
{
    kw_metadata_resp_broker br[4];
    memset(br, 0, sizeof(br));
    for (int i = 0; i < n_brokers; i++) {
        br[i].node_id = i + 1;
        br[i].host = kw_slice_str("h");
        br[i].port = 9092;
        br[i].rack = KW_SLICE_NULL;
    }
    kw_metadata_resp m;
    memset(&m, 0, sizeof(m));
    m.brokers = br;
    m.n_brokers = n_brokers;
    m.cluster_id = KW_SLICE_NULL;
    m.controller_id = -1;
    uint8_t buf[1024];
    size_t len = sb_encode(&kw_msg_metadata_resp, f->api_version, &m, buf, sizeof(buf));
    if (f->api_version >= 9)
        sb_reply_flex(&w, f->corr, buf, len);
    else
        sb_reply(&w, f->corr, buf, len);
}

static void
step_until_calls(res *r, int n)
{
    for (int i = 0; i < 2000 && r->calls < n; i++)
        tw_step(&w);
    ck_assert_int_eq(r->calls, n);
}

/* ---- negotiation and the bytes of a request --------------------------------------------- */

START_TEST(test_apiversions_rdk_fallback_then_request)
{
    kwi_conn *c = new_conn(NULL);
    res r;
    send_md(c, &r, 0);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_DOWN); /* connecting waits for a step */
    sb_accept(&w);
    sframe f;
    sb_read(&w, &f);
    /* The first ApiVersions is kwire's highest (v4), with client id and software name. */
    ck_assert_int_eq(f.api_key, 18);
    ck_assert_int_eq(f.api_version, 4);
    ck_assert_str_eq(f.client_id, "cid");
    ck_assert_ptr_nonnull(memmem(f.body, f.body_len, "kwire", 5));
    /* librdkafka mock 2.0.2's answer: error 35 and a body that is not a v0 body. */
    const uint8_t rdk[] = {0x00, 0x23, 0x01, 0x00, 0x12, 0x00, 0x00,
                           0x00, 0x02, 0x00, 0x00, 0x00, 0x00};
    sb_reply(&w, f.corr, rdk, sizeof(rdk));
    sframe f2;
    sb_read(&w, &f2);
    ck_assert_int_eq(f2.api_key, 18);
    ck_assert_int_eq(f2.api_version, 0);
    ck_assert_int_ne(f2.corr, f.corr);
    const kw_api_version keys[] = {{3, 0, 5, {0}}, {18, 0, 2, {0}}};
    sb_apiversions(&w, &f2, keys, 2);
    /* READY: the queued Metadata goes out at the highest common version, 5. */
    sframe f3;
    sb_read(&w, &f3);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_READY);
    ck_assert_int_eq(f3.api_key, 3);
    ck_assert_int_eq(f3.api_version, 5);
    ck_assert_int_eq(f3.corr, f2.corr + 1);
    ck_assert_int_eq(kwi_conn_apiver(c)->use[3], 5);
    reply_md(&f3, 2);
    step_until_calls(&r, 1);
    ck_assert_int_eq(r.err, KW_ERR_OK);
    ck_assert_int_eq(r.ver, 5);
    ck_assert_int_eq(r.n_brokers, 2);
    kwi_conn_stats st;
    kwi_conn_stats_get(c, &st);
    ck_assert_uint_eq(st.requests, 3);
    ck_assert_uint_eq(st.responses, 3);
    ck_assert_uint_eq(st.connects, 1);
    ck_assert_int_eq(st.rtt_samples, 3);
    kwi_conn_free(c);
    ck_assert_int_eq(r.calls, 1);
}
END_TEST

START_TEST(test_apiversions_kip511_and_v0_only)
{
    kwi_conn *c = new_conn(NULL);
    kwi_conn_connect(c);
    sb_accept(&w);
    sframe f;
    sb_read(&w, &f);
    /* A broker that knows only ApiVersions v0 says so in a v0 body (KIP-511). */
    const uint8_t kip511[] = {0x00, 0x23, 0x00, 0x00, 0x00, 0x01,
                              0x00, 0x12, 0x00, 0x00, 0x00, 0x00};
    sb_reply(&w, f.corr, kip511, sizeof(kip511));
    sb_read(&w, &f);
    ck_assert_int_eq(f.api_version, 0);
    const kw_api_version keys[] = {{3, 0, 1, {0}}, {18, 0, 0, {0}}};
    sb_apiversions(&w, &f, keys, 2);
    for (int i = 0; i < 100 && kwi_conn_state_get(c) != KWI_CONN_READY; i++)
        tw_step(&w);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_READY);
    res r;
    send_md(c, &r, 0);
    sb_read(&w, &f);
    ck_assert_int_eq(f.api_version, 1);
    kwi_conn_free(c);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.err, KW_ERR_CANCELED);
}
END_TEST

/* ---- hostile frames ------------------------------------------------------------------------ */

static void
small_frames(kwi_conn_opts *o)
{
    o->max_frame = 1000;
}

static void
expect_frame_rejected(const uint8_t *hdr, size_t len, const char *needle)
{
    kwi_conn *c = new_conn(small_frames);
    sb_ready(&w, c, modern, 5);
    res r;
    send_md(c, &r, 0);
    sframe f;
    sb_read(&w, &f);
    sb_raw(&w, hdr, len);
    step_until_calls(&r, 1);
    ck_assert_int_eq(r.err, KW_ERR_IO);
    ck_assert_msg(strstr(r.msg, needle) != NULL, "message: %s", r.msg);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_BACKOFF);
    ck_assert(sb_eof(&w));
    kwi_conn_free(c);
    ck_assert_int_eq(r.calls, 1);
}

START_TEST(test_frame_over_limit_closes)
{
    const uint8_t big[] = {0x00, 0x00, 0x03, 0xe9}; /* 1001 > 1000 */
    expect_frame_rejected(big, sizeof(big), "receive.message.max.bytes");
}
END_TEST

START_TEST(test_frame_negative_or_tiny_closes)
{
    const uint8_t neg[] = {0xff, 0xff, 0xff, 0xfe};
    expect_frame_rejected(neg, sizeof(neg), "invalid frame size -2");
    tw_fini(&w);
    tw_init(&w);
    const uint8_t tiny[] = {0x00, 0x00, 0x00, 0x02, 0x00, 0x00};
    expect_frame_rejected(tiny, sizeof(tiny), "invalid frame size 2");
}
END_TEST

START_TEST(test_frame_at_limit_accepted)
{
    kwi_conn *c = new_conn(small_frames);
    sb_ready(&w, c, modern, 5);
    res r;
    send_md(c, &r, 0);
    sframe f;
    sb_read(&w, &f);
    /* Exactly 1000 bytes (correlation id + 996 bytes that do not decode): the frame is
     * accepted, only the request fails, and the link stays up. */
    uint8_t body[996];
    memset(body, 0x7f, sizeof(body));
    sb_reply(&w, f.corr, body, sizeof(body));
    step_until_calls(&r, 1);
    ck_assert(r.err == KW_ERR_MALFORMED || r.err == KW_ERR_TRUNCATED);
    ck_assert_ptr_nonnull(strstr(r.msg, "does not parse"));
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_READY);
    kwi_conn_free(c);
}
END_TEST

START_TEST(test_correlation_mismatch_closes)
{
    kwi_conn *c = new_conn(NULL);
    sb_ready(&w, c, modern, 5);
    res a, b;
    send_md(c, &a, 0);
    send_md(c, &b, 0);
    sframe fa, fb;
    sb_read(&w, &fa);
    sb_read(&w, &fb);
    /* The second's answer first: out of order. Both fail; the link goes. */
    reply_md(&fb, 1);
    step_until_calls(&a, 1);
    step_until_calls(&b, 1);
    ck_assert_int_eq(a.err, KW_ERR_IO);
    ck_assert_int_eq(b.err, KW_ERR_IO);
    ck_assert_msg(strstr(a.msg, "expected") != NULL, "%s", a.msg);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_BACKOFF);
    ck_assert(sb_eof(&w));
    kwi_conn_free(c);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(b.calls, 1);
}
END_TEST

typedef struct state_log {
    int n;
    kwi_conn_state to[16];
    char why[256];
} state_log;

static state_log slog;

static void
on_state(kwi_conn *c, kwi_conn_state from, kwi_conn_state to, const kw_error *why, void *ud)
{
    (void)c;
    (void)from;
    (void)ud;
    if (slog.n < 16)
        slog.to[slog.n++] = to;
    if (why)
        snprintf(slog.why, sizeof(slog.why), "%s", why->msg);
}

static void
with_state_log(kwi_conn_opts *o)
{
    memset(&slog, 0, sizeof(slog));
    o->on_state = on_state;
}

START_TEST(test_unsolicited_response_closes)
{
    kwi_conn *c = new_conn(with_state_log);
    sb_ready(&w, c, modern, 5);
    sb_reply(&w, 12345, "x", 1);
    for (int i = 0; i < 200 && kwi_conn_state_get(c) == KWI_CONN_READY; i++)
        tw_step(&w);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_BACKOFF);
    ck_assert_msg(strstr(slog.why, "no request is waiting") != NULL, "%s", slog.why);
    kwi_conn_free(c);
}
END_TEST

/* ---- the in-flight window and the callback rule ----------------------------------------- */

static void
window_of_two(kwi_conn_opts *o)
{
    o->max_in_flight = 2;
}

START_TEST(test_in_flight_window)
{
    kwi_conn *c = new_conn(window_of_two);
    sb_ready(&w, c, modern, 5);
    res r[5];
    completion_order = 0;
    for (int i = 0; i < 5; i++)
        send_md(c, &r[i], 0);
    sframe f[5];
    sb_read(&w, &f[0]);
    sb_read(&w, &f[1]);
    ck_assert(sb_quiet(&w)); /* a third would exceed the window */
    ck_assert_int_eq(kwi_conn_in_flight(c), 2);
    ck_assert_int_eq(kwi_conn_queued(c), 3);
    reply_md(&f[0], 1);
    sb_read(&w, &f[2]);
    ck_assert(sb_quiet(&w));
    reply_md(&f[1], 1);
    reply_md(&f[2], 1);
    sb_read(&w, &f[3]);
    sb_read(&w, &f[4]);
    reply_md(&f[3], 1);
    reply_md(&f[4], 1);
    step_until_calls(&r[4], 1);
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(r[i].calls, 1);
        ck_assert_int_eq(r[i].err, KW_ERR_OK);
        ck_assert_int_eq(r[i].order, i + 1);
        if (i)
            ck_assert_int_eq(f[i].corr, f[i - 1].corr + 1);
    }
    kwi_conn_free(c);
}
END_TEST

START_TEST(test_free_cancels_and_free_inside_callback)
{
    kwi_conn *c = new_conn(NULL);
    sb_ready(&w, c, modern, 5);
    res a, b, q;
    send_md(c, &a, 0);
    send_md(c, &b, 0);
    sframe fa, fb;
    sb_read(&w, &fa);
    sb_read(&w, &fb);
    /* The first callback frees the connection: the second, on the wire, is canceled. */
    a.free_me = c;
    reply_md(&fa, 1);
    step_until_calls(&a, 1);
    ck_assert_int_eq(a.err, KW_ERR_OK);
    ck_assert_int_eq(b.calls, 1);
    ck_assert_int_eq(b.err, KW_ERR_CANCELED);

    /* A queued request, never sent, is canceled too. */
    kwi_conn *c2 = new_conn(NULL);
    send_md(c2, &q, 0);
    kwi_conn_free(c2);
    ck_assert_int_eq(q.calls, 1);
    ck_assert_int_eq(q.err, KW_ERR_CANCELED);
    kwi_conn_free(NULL);
}
END_TEST

START_TEST(test_send_refusals)
{
    kwi_conn *c = new_conn(NULL);
    kw_error err;
    res r;
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(kwi_conn_send(c, 999, &md_req, NULL, cb, &r, &err), KW_ERR_UNKNOWN_API);
    ck_assert_int_eq(kwi_conn_send(c, 3, NULL, NULL, cb, &r, &err), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kwi_conn_send(c, 3, &md_req, NULL, NULL, &r, &err), KW_ERR_INVALID_ARG);
    for (int i = 0; i < 5; i++)
        tw_step(&w);
    ck_assert_int_eq(r.calls, 0);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_DOWN); /* nothing needed a link */
    kwi_conn_free(c);
    ck_assert_int_eq(r.calls, 0);
}
END_TEST

/* ---- versions ------------------------------------------------------------------------------ */

START_TEST(test_unusable_api_and_caps)
{
    const kw_api_version old[] = {{3, 0, 12, {0}}, {18, 0, 3, {0}}, {0, 0, 2, {0}}};
    kwi_conn *c = new_conn(NULL);
    sb_ready(&w, c, old, 3);
    kw_produce_req pr;
    memset(&pr, 0, sizeof(pr));
    pr.transactional_id = KW_SLICE_NULL;
    res r;
    memset(&r, 0, sizeof(r));
    kw_error err;
    ck_assert_int_eq(kwi_conn_send(c, 0, &pr, NULL, cb, &r, &err), KW_ERR_OK);
    step_until_calls(&r, 1);
    ck_assert_int_eq(r.err, KW_ERR_UNSUPPORTED_VERSION);
    ck_assert_msg(strstr(r.msg, "supports Produce v0-2 but kwire needs v3") != NULL, "%s", r.msg);
    ck_assert(sb_quiet(&w)); /* nothing was sent */

    /* A request's own cap and floor: Metadata capped at v4 goes out as v4; one that needs
     * v13 cannot go to a v12 broker. */
    kwi_req_opts o;
    kwi_req_opts_init(&o);
    o.max_ver = 4;
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(kwi_conn_send(c, 3, &md_req, &o, cb, &r, &err), KW_ERR_OK);
    sframe f;
    sb_read(&w, &f);
    ck_assert_int_eq(f.api_version, 4);
    reply_md(&f, 1);
    step_until_calls(&r, 1);
    ck_assert_int_eq(r.ver, 4);
    kwi_req_opts_init(&o);
    o.min_ver = 13;
    memset(&r, 0, sizeof(r));
    ck_assert_int_eq(kwi_conn_send(c, 3, &md_req, &o, cb, &r, &err), KW_ERR_OK);
    step_until_calls(&r, 1);
    ck_assert_int_eq(r.err, KW_ERR_UNSUPPORTED_VERSION);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_READY);
    kwi_conn_free(c);
}
END_TEST

/* ---- timers: request timeout, setup timeout, idle close, backoff ---------------------------- */

START_TEST(test_request_timeout_on_wire_closes)
{
    kwi_conn *c = new_conn(NULL);
    sb_ready(&w, c, modern, 5);
    res r;
    send_md(c, &r, 1000);
    sframe f;
    sb_read(&w, &f);
    tw_advance(&w, 999);
    ck_assert_int_eq(r.calls, 0);
    tw_advance(&w, 1);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.err, KW_ERR_TIMED_OUT);
    ck_assert_ptr_nonnull(strstr(r.msg, "sent, no response"));
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_BACKOFF);
    ck_assert(sb_eof(&w));
    kwi_conn_stats st;
    kwi_conn_stats_get(c, &st);
    ck_assert_uint_eq(st.timeouts, 1);
    kwi_conn_free(c);
    ck_assert_int_eq(r.calls, 1);
}
END_TEST

static void
setup_5s(kwi_conn_opts *o)
{
    o->setup_timeout_ms = 5000;
}

START_TEST(test_unsent_timeout_then_setup_timeout)
{
    kwi_conn *c = new_conn(setup_5s);
    res r;
    send_md(c, &r, 1000);
    sb_accept(&w);
    sframe f;
    sb_read(&w, &f); /* ApiVersions, never answered */
    tw_advance(&w, 1000);
    ck_assert_int_eq(r.calls, 1);
    ck_assert_int_eq(r.err, KW_ERR_TIMED_OUT);
    ck_assert_ptr_nonnull(strstr(r.msg, "never sent"));
    /* Nothing of it was on the wire: the setup goes on... */
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_APIVERSIONS);
    /* ...until socket.connection.setup.timeout.ms. */
    tw_advance(&w, 4000);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_BACKOFF);
    ck_assert(sb_eof(&w));
    kwi_conn_free(c);
}
END_TEST

static void
idle_5s(kwi_conn_opts *o)
{
    memset(&slog, 0, sizeof(slog));
    o->on_state = on_state;
    o->idle_ms = 5000;
}

START_TEST(test_idle_close)
{
    kwi_conn *c = new_conn(idle_5s);
    sb_ready(&w, c, modern, 5);
    res r;
    send_md(c, &r, 0);
    sframe f;
    sb_read(&w, &f);
    tw_advance(&w, 4000);
    reply_md(&f, 1); /* activity: the idle period starts again */
    step_until_calls(&r, 1);
    tw_advance(&w, 4000);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_READY);
    tw_advance(&w, 1001);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_DOWN);
    ck_assert(sb_eof(&w));
    kwi_conn_stats st;
    kwi_conn_stats_get(c, &st);
    ck_assert_uint_eq(st.disconnects, 1);
    ck_assert_uint_eq(st.errors, 0);
    ck_assert_int_eq(kwi_conn_failures(c), 0);
    /* The next request reconnects at once. */
    send_md(c, &r, 0);
    sb_accept(&w);
    sb_read(&w, &f);
    ck_assert_int_eq(f.api_key, 18);
    kwi_conn_free(c);
}
END_TEST

static uint16_t closed_port;

static void
to_closed_port(kwi_conn_opts *o)
{
    o->port = closed_port;
    o->backoff_ms = 100;
    o->backoff_max_ms = 1000;
}

START_TEST(test_reconnect_backoff_grows_with_jitter)
{
    /* A port nothing listens on: every attempt is refused. */
    closed_port = w.b.port;
    close(w.b.lfd);
    w.b.lfd = -1;
    kwi_conn *c = new_conn(to_closed_port);
    res r;
    send_md(c, &r, 1000000);
    int64_t lo[] = {80, 160, 320, 640, 800, 800};
    int64_t hi[] = {120, 240, 480, 960, 1000, 1000};
    for (int n = 0; n < 6; n++) {
        for (int i = 0; i < 2000 && kwi_conn_state_get(c) != KWI_CONN_BACKOFF; i++)
            tw_step(&w);
        ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_BACKOFF);
        ck_assert_int_eq(kwi_conn_failures(c), n + 1);
        int t = kwi_reactor_timeout_ms(w.r);
        ck_assert_msg(t >= lo[n] && t <= hi[n], "backoff %d after %d failures", t, n + 1);
        tw_advance(&w, t);
    }
    kwi_conn_stats st;
    kwi_conn_stats_get(c, &st);
    ck_assert_uint_ge(st.connect_attempts, 6);
    ck_assert_int_eq(r.calls, 0); /* still waiting for a link */
    kwi_conn_free(c);
    ck_assert_int_eq(r.err, KW_ERR_CANCELED);
}
END_TEST

/* ---- big requests, no-response requests ---------------------------------------------------- */

START_TEST(test_large_request_partial_writes)
{
    kwi_conn *c = new_conn(NULL);
    sb_ready(&w, c, modern, 5);
    /* About 4 MB of topic names: far more than the socket buffers take at once. */
    enum { N = 40000 };
    kw_metadata_req_topic *t = calloc(N, sizeof(*t));
    char *names = malloc((size_t)N * 100);
    for (int i = 0; i < N; i++) {
        memset(names + (size_t)i * 100, 'a' + i % 26, 100);
        t[i].name.ptr = (const uint8_t *)names + (size_t)i * 100;
        t[i].name.len = 100;
    }
    kw_metadata_req m;
    memset(&m, 0, sizeof(m));
    m.topics = t;
    m.n_topics = N;
    res r;
    memset(&r, 0, sizeof(r));
    kw_error err;
    ck_assert_int_eq(kwi_conn_send(c, 3, &m, NULL, cb, &r, &err), KW_ERR_OK);
    sframe f;
    sb_read(&w, &f);
    ck_assert_int_eq(f.api_key, 3);
    ck_assert_uint_gt(f.frame_len, (size_t)N * 100);
    /* The body decodes: every name arrived intact and in order. */
    kw_metadata_req got;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_rd rd;
    kw_rd_init(&rd, f.body, f.body_len);
    ck_assert_int_eq(kw_msg_decode(&kw_msg_metadata_req, f.api_version, &rd, &ar, &got), KW_ERR_OK);
    ck_assert_int_eq(got.n_topics, N);
    ck_assert(memcmp(got.topics[N - 1].name.ptr, names + (size_t)(N - 1) * 100, 100) == 0);
    kw_arena_fini(&ar);
    reply_md(&f, 1);
    step_until_calls(&r, 1);
    ck_assert_int_eq(r.err, KW_ERR_OK);
    kwi_conn_free(c);
    free(t);
    free(names);
}
END_TEST

START_TEST(test_no_response_request)
{
    kwi_conn *c = new_conn(NULL);
    sb_ready(&w, c, modern, 5);
    kwi_req_opts o;
    kwi_req_opts_init(&o);
    o.no_response = true;
    res r;
    memset(&r, 0, sizeof(r));
    kw_error err;
    ck_assert_int_eq(kwi_conn_send(c, 3, &md_req, &o, cb, &r, &err), KW_ERR_OK);
    step_until_calls(&r, 1);
    ck_assert_int_eq(r.err, KW_ERR_OK);
    sframe f;
    sb_read(&w, &f);
    ck_assert_int_eq(f.api_key, 3);
    ck_assert_int_eq(kwi_conn_in_flight(c), 0);
    /* The next request with a response still matches its own correlation id. */
    res r2;
    send_md(c, &r2, 0);
    sframe f2;
    sb_read(&w, &f2);
    reply_md(&f2, 3);
    step_until_calls(&r2, 1);
    ck_assert_int_eq(r2.n_brokers, 3);
    kwi_conn_free(c);
}
END_TEST

START_TEST(test_broker_closes_then_reconnect)
{
    kwi_conn *c = new_conn(NULL);
    sb_ready(&w, c, modern, 5);
    res r;
    send_md(c, &r, 0);
    sframe f;
    sb_read(&w, &f);
    sb_close_client(&w);
    step_until_calls(&r, 1);
    ck_assert_int_eq(r.err, KW_ERR_IO);
    ck_assert_ptr_nonnull(strstr(r.msg, "closed the connection"));
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_BACKOFF);
    /* A queued request brings the link back after the backoff. */
    send_md(c, &r, 0);
    tw_advance(&w, 2000);
    sb_accept(&w);
    sb_read(&w, &f);
    ck_assert_int_eq(f.api_key, 18);
    sb_apiversions(&w, &f, modern, 5);
    sb_read(&w, &f);
    reply_md(&f, 1);
    step_until_calls(&r, 1);
    ck_assert_int_eq(r.err, KW_ERR_OK);
    kwi_conn_stats st;
    kwi_conn_stats_get(c, &st);
    ck_assert_uint_eq(st.connects, 2);
    ck_assert_uint_eq(st.disconnects, 1);
    kwi_conn_free(c);
}
END_TEST

/* ---- IPv6 -------------------------------------------------------------------------------- */

static uint16_t v6_port;

static void
to_v6(kwi_conn_opts *o)
{
    o->host = "::1";
    o->port = v6_port;
}

START_TEST(test_ipv6_literal)
{
    int l = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_addr = in6addr_loopback;
    if (l < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 4) != 0) {
        fprintf(stderr, "SKIP test_ipv6_literal: no IPv6 loopback here\n");
        if (l >= 0)
            close(l);
        return;
    }
    socklen_t len = sizeof(a);
    getsockname(l, (struct sockaddr *)&a, &len);
    v6_port = ntohs(a.sin6_port);
    kwi_conn *c = new_conn(to_v6);
    res r;
    send_md(c, &r, 0);
    int fd = -1;
    for (int i = 0; i < 2000 && fd < 0; i++) {
        fd = accept4(l, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            tw_step(&w);
    }
    ck_assert_int_ge(fd, 0);
    /* The ApiVersions request arrives over IPv6. */
    uint8_t buf[64];
    ssize_t n = -1;
    for (int i = 0; i < 2000 && n <= 0; i++) {
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0)
            tw_step(&w);
    }
    ck_assert_int_gt(n, 8);
    ck_assert_int_eq(buf[5], 18);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_APIVERSIONS);
    kwi_conn_free(c);
    close(fd);
    close(l);
}
END_TEST

/* ---- SASL re-authentication (KIP-368) ------------------------------------------------------- */

static kwi_sasl_conf plain_conf;

static void
with_plain(kwi_conn_opts *o)
{
    kwi_sasl_conf_init(&plain_conf);
    plain_conf.mech = KWI_SASL_PLAIN;
    plain_conf.username = "u";
    plain_conf.password = "p";
    o->sasl = &plain_conf;
}

/* Answers SaslHandshake v1 and one SaslAuthenticate v2 granting `lifetime` ms. */
static void
answer_plain(int64_t lifetime)
{
    sframe f;
    sb_read(&w, &f);
    ck_assert_int_eq(f.api_key, 17);
    const uint8_t hs_ok[] = {0, 0, 0, 0, 0, 1, 0, 5, 'P', 'L', 'A', 'I', 'N'};
    sb_reply(&w, f.corr, hs_ok, sizeof(hs_ok));
    sb_read(&w, &f);
    ck_assert_int_eq(f.api_key, 36);
    ck_assert_ptr_nonnull(memmem(f.body, f.body_len, "\0u\0p", 4));
    kw_sasl_authenticate_resp ar;
    memset(&ar, 0, sizeof(ar));
    ar.error_message = KW_SLICE_NULL;
    ar.session_lifetime_ms = lifetime;
    uint8_t buf[64];
    size_t len = sb_encode(&kw_msg_sasl_authenticate_resp, f.api_version, &ar, buf, sizeof(buf));
    sb_reply_flex(&w, f.corr, buf, len);
}

START_TEST(test_sasl_reauthentication)
{
    kwi_conn *c = new_conn(with_plain);
    res r;
    send_md(c, &r, 100000);
    sb_accept(&w);
    sframe f;
    sb_read(&w, &f);
    sb_apiversions(&w, &f, modern, 5);
    answer_plain(10000);
    sb_read(&w, &f);
    ck_assert_int_eq(f.api_key, 3);
    /* A request still on the wire when the re-authentication is due: it is answered first,
     * and nothing new goes out until the exchange is done. */
    tw_advance(&w, 9600);
    res r2;
    send_md(c, &r2, 100000);
    ck_assert(sb_quiet(&w));
    reply_md(&f, 1);
    step_until_calls(&r, 1);
    ck_assert_int_eq(r.err, KW_ERR_OK);
    answer_plain(10000);
    sb_read(&w, &f);
    ck_assert_int_eq(f.api_key, 3);
    reply_md(&f, 2);
    step_until_calls(&r2, 1);
    ck_assert_int_eq(r2.n_brokers, 2);
    ck_assert_int_eq(kwi_conn_state_get(c), KWI_CONN_READY);
    kwi_conn_stats st;
    kwi_conn_stats_get(c, &st);
    ck_assert_uint_eq(st.connects, 1); /* the same link throughout */
    kwi_conn_free(c);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("conn");
    TCase *tc = tcase_create("conn");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_apiversions_rdk_fallback_then_request);
    tcase_add_test(tc, test_apiversions_kip511_and_v0_only);
    tcase_add_test(tc, test_frame_over_limit_closes);
    tcase_add_test(tc, test_frame_negative_or_tiny_closes);
    tcase_add_test(tc, test_frame_at_limit_accepted);
    tcase_add_test(tc, test_correlation_mismatch_closes);
    tcase_add_test(tc, test_unsolicited_response_closes);
    tcase_add_test(tc, test_in_flight_window);
    tcase_add_test(tc, test_free_cancels_and_free_inside_callback);
    tcase_add_test(tc, test_send_refusals);
    tcase_add_test(tc, test_unusable_api_and_caps);
    tcase_add_test(tc, test_request_timeout_on_wire_closes);
    tcase_add_test(tc, test_unsent_timeout_then_setup_timeout);
    tcase_add_test(tc, test_idle_close);
    tcase_add_test(tc, test_reconnect_backoff_grows_with_jitter);
    tcase_add_test(tc, test_large_request_partial_writes);
    tcase_add_test(tc, test_no_response_request);
    tcase_add_test(tc, test_broker_closes_then_reconnect);
    tcase_add_test(tc, test_sasl_reauthentication);
    tcase_add_test(tc, test_ipv6_literal);
    suite_add_tcase(s, tc);
    return s;
}
