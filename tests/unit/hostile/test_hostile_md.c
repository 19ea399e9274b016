/* The hostile-broker suite, metadata half: a whole kw_client against a scripted broker that
 * answers its Metadata request with absurd frame lengths (2 GiB, negative), negative and
 * oversized array counts, a string longer than its frame, a wrong or repeated correlation id,
 * a truncated frame, a response to a request never sent, silence (before and after the
 * handshake) and a trickle. For each: the call fails with a clear error naming the cause (the
 * call's error is TIMED_OUT by contract, its message carries the attempt's cause; the
 * connection's own failure is in the log), the client recovers (the next call succeeds
 * against an honest broker, on the same or a new connection), and the memory it allocated
 * (every byte goes through a counting allocator) stays under a bound derived from
 * receive.message.max.bytes and buffer.memory, and drops to zero when the client is freed. */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "hbroker.h"
#include "kwire/msg_meta.h"

/* receive.message.max.bytes and buffer.memory as hb_client sets them, and what the client may
 * hold at most with them: per connection (two at most here: the old one closing, the new one)
 * a frame buffer and its decoding arena (16x the frame, see conn_io.c), the produce queue
 * twice over, and a fixed allowance for the structures of the client. */
#define RECV_MAX  66048u
#define BUF_MEM   1048576u
#define MEM_BOUND (2u * (18u * RECV_MAX + 65536u) + 2u * BUF_MEM + (2u << 20))

typedef struct mdres {
    bool done;
    kw_err err;
    char msg[512];
    int32_t n_topics;
} mdres;

static void
md_cb(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    mdres *r = ud;
    ck_assert_msg(!r->done, "the metadata callback fired twice");
    r->done = true;
    r->err = err;
    snprintf(r->msg, sizeof(r->msg), "%s", detail->msg);
    r->n_topics = md ? md->n_topics : -1;
}

static void
md_call(hb *b, mdres *r, int timeout_ms)
{
    static const char *const topics[] = {"t"};
    kw_error err;
    memset(r, 0, sizeof(*r));
    ck_assert_int_eq(kw_client_metadata(b->c, topics, 1, timeout_ms, md_cb, r, &err), KW_ERR_OK);
}

/* A new call succeeds against an honest broker, on the open connection or the next one. */
static void
md_recover(hb *b)
{
    mdres r;
    md_call(b, &r, 5000);
    uint8_t out[1024];
    hframe f;
    while (!r.done) {
        int got = hb_read(b, &f, 200);
        if (r.done)
            break; /* answered: the client may have moved to broker 1 and closed this one */
        if (got < 0 || (got == 0 && b->fd < 0)) {
            ck_assert_msg(hb_handshake(b, 5000), "the client did not reconnect:\n%s", b->log);
            continue;
        }
        if (got == 1 && f.api_key == 3) /* stale retries first, in order, then ours */
            hb_reply(b, f.corr, out, hb_metadata(b, &f, out, sizeof(out)));
        else if (got == 1)
            ck_abort_msg("unexpected request %d", f.api_key);
        hb_step(b);
    }
    ck_assert_msg(r.err == KW_ERR_OK, "recovery failed: %s", r.msg);
    ck_assert_int_eq(r.n_topics, 1);
}

static void
check_memory(hb *b, const char *name)
{
    fprintf(stderr, "hostile %s: peak %zu bytes (bound %u)\n", name, b->mem.peak, MEM_BOUND);
    ck_assert_msg(b->mem.peak < MEM_BOUND, "%s: peak %zu over %u", name, b->mem.peak, MEM_BOUND);
}

/* An honest Metadata v4 body for the request, for cases that patch it. */
static size_t
honest_body(hb *b, const hframe *f, uint8_t *out, size_t cap)
{
    ck_assert_int_eq(f->ver, 4); /* the offsets below are Metadata v4's */
    return hb_metadata(b, f, out, cap);
}

static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

enum fault {
    F_FRAME_2GIB,
    F_FRAME_NEG,
    F_ARRAY_NEG,
    F_ARRAY_HUGE,
    F_STRING_LONG,
    F_WRONG_CORR,
    F_TRUNCATED,
    F_SILENT,
    F_TRICKLE,
};

/* Answers the Metadata request `f` with fault `k`. */
static void
misbehave(hb *b, const hframe *f, enum fault k)
{
    uint8_t body[1024];
    size_t n = honest_body(b, f, body, sizeof(body));
    uint8_t raw[64];
    switch (k) {
    case F_FRAME_2GIB:
        put32(raw, 0x7fffffffu);
        put32(raw + 4, (uint32_t)f->corr);
        hb_raw(b, raw, 8);
        break;
    case F_FRAME_NEG:
        put32(raw, 0x80000000u);
        hb_raw(b, raw, 4);
        break;
    case F_ARRAY_NEG: /* Brokers[] count after ThrottleTimeMs */
        put32(body + 4, (uint32_t)-2);
        hb_reply(b, f->corr, body, n);
        break;
    case F_ARRAY_HUGE:
        put32(body + 4, 0x7fffffffu);
        hb_reply(b, f->corr, body, n);
        break;
    case F_STRING_LONG: /* Brokers[0].Host: int16 length 32767, but few bytes follow */
        body[12] = 0x7f, body[13] = 0xff;
        hb_reply(b, f->corr, body, 40);
        break;
    case F_WRONG_CORR:
        hb_reply(b, f->corr + 1000, body, n);
        break;
    case F_TRUNCATED:
        put32(raw, 200);
        put32(raw + 4, (uint32_t)f->corr);
        hb_raw(b, raw, 8);
        hb_raw(b, body, 40);
        shutdown(b->fd, SHUT_WR);
        break;
    case F_SILENT:
        break;
    case F_TRICKLE: { /* a byte every 20 ms against request.timeout.ms 300 */
        uint8_t fr[1100];
        put32(fr, (uint32_t)n + 4);
        put32(fr + 4, (uint32_t)f->corr);
        memcpy(fr + 8, body, n);
        for (size_t i = 0; i < 30; i++) {
            if (!hb_raw(b, fr + i, 1))
                break; /* the request timed out and the client closed the connection */
            for (int j = 0; j < 4; j++)
                hb_step(b);
        }
        break;
    }
    }
}

/* One case: the call fails with TIMED_OUT and a message naming `cause`; the log holds `logged`
 * (the connection's or the attempt's own error); then the client recovers. */
static void
run_case(enum fault k, const char *name, const char *cause, const char *logged,
         const char *const *extra)
{
    hb b;
    hb_init(&b);
    hb_client(&b, extra);
    mdres r;
    md_call(&b, &r, 1000);
    hframe f;
    ck_assert(hb_handshake(&b, 5000));
    ck_assert(hb_expect(&b, 3, &f, 5000));
    misbehave(&b, &f, k);
    /* Retries on this connection get the same treatment; reconnections are not accepted, so
     * the cause of the last attempt is this fault, and the call reports it. */
    for (int i = 0; i < 2000 && !r.done; i++) {
        if (hb_read(&b, &f, 5) == 1 && f.api_key == 3)
            misbehave(&b, &f, k);
    }
    ck_assert(hb_wait(&b, &r.done, 10000));
    ck_assert_msg(r.err == KW_ERR_TIMED_OUT, "%s: %s %s", name, kw_err_name(r.err), r.msg);
    ck_assert_msg(strstr(r.msg, cause), "%s: the error does not name the cause: %s", name, r.msg);
    ck_assert_msg(hb_logged(&b, logged), "%s: not logged: %s\n%s", name, logged, b.log);
    md_recover(&b);
    check_memory(&b, name);
    hb_fini(&b);
}

START_TEST(frame_2gib)
{
    run_case(F_FRAME_2GIB, "frame_2gib", "broker sent a frame of 2147483647 bytes",
             "over receive.message.max.bytes (66048)", NULL);
}
END_TEST

START_TEST(frame_negative)
{
    run_case(F_FRAME_NEG, "frame_negative", "invalid frame size -2147483648", "invalid frame size",
             NULL);
}
END_TEST

START_TEST(array_negative)
{
    run_case(F_ARRAY_NEG, "array_negative", "Metadata v4 response from broker -1 does not parse",
             "attempt 1 failed: Metadata v4 response", NULL);
}
END_TEST

START_TEST(array_oversized)
{
    run_case(F_ARRAY_HUGE, "array_oversized", "Metadata v4 response from broker -1 does not parse",
             "does not parse", NULL);
}
END_TEST

START_TEST(string_past_frame)
{
    run_case(F_STRING_LONG, "string_past_frame",
             "does not parse: data ends before the structure it announces", "does not parse", NULL);
}
END_TEST

START_TEST(wrong_correlation_id)
{
    run_case(F_WRONG_CORR, "wrong_correlation_id", "out of order or unknown",
             "out of order or unknown", NULL);
}
END_TEST

START_TEST(truncated_frame)
{
    run_case(F_TRUNCATED, "truncated_frame", "closed the connection", "closed the connection",
             NULL);
}
END_TEST

START_TEST(never_answers)
{
    static const char *const extra[] = {"request.timeout.ms", "300", NULL};
    run_case(F_SILENT, "never_answers", "Metadata request to broker -1 timed out (sent",
             "timed out (sent, no response", extra);
}
END_TEST

START_TEST(trickle)
{
    static const char *const extra[] = {"request.timeout.ms", "300", NULL};
    run_case(F_TRICKLE, "trickle", "Metadata request to broker -1 timed out",
             "timed out (sent, no response", extra);
}
END_TEST

/* Accepts and never answers even ApiVersions: the setup timeout closes the socket. */
START_TEST(silent_handshake)
{
    static const char *const extra[] = {"socket.connection.setup.timeout.ms", "300", NULL};
    hb b;
    hb_init(&b);
    hb_client(&b, extra);
    mdres r;
    md_call(&b, &r, 1000);
    ck_assert(hb_accept(&b, 5000));
    hframe f;
    ck_assert_int_eq(hb_read(&b, &f, 5000), 1);
    ck_assert_int_eq(f.api_key, 18);
    ck_assert(hb_wait(&b, &r.done, 10000));
    ck_assert_int_eq(r.err, KW_ERR_TIMED_OUT);
    ck_assert_msg(strstr(r.msg, "timed out after 300 ms"), "%s", r.msg);
    md_recover(&b);
    check_memory(&b, "silent_handshake");
    hb_fini(&b);
}
END_TEST

/* A correct answer sent twice: the call succeeds, the second copy answers nothing and closes
 * the connection; then a response nobody asked for does the same. Both recover. */
START_TEST(repeated_and_unsolicited)
{
    hb b;
    hb_init(&b);
    hb_client(&b, NULL);
    mdres r;
    md_call(&b, &r, 5000);
    hframe f;
    ck_assert(hb_handshake(&b, 5000));
    ck_assert(hb_expect(&b, 3, &f, 5000));
    uint8_t out[1024];
    size_t n = hb_metadata(&b, &f, out, sizeof(out));
    hb_reply(&b, f.corr, out, n);
    hb_reply(&b, f.corr, out, n);
    ck_assert(hb_wait(&b, &r.done, 5000));
    ck_assert_msg(r.err == KW_ERR_OK, "%s", r.msg);
    ck_assert(hb_eof(&b, 5000));
    ck_assert_msg(hb_logged(&b, "no request is waiting for one"), "%s", b.log);
    md_recover(&b);
    /* Now idle and READY: a frame out of nowhere. */
    hb_reply(&b, 424242, out, n);
    ck_assert(hb_eof(&b, 5000));
    ck_assert_msg(hb_logged(&b, "correlation id 424242 but no request is waiting"), "%s", b.log);
    md_recover(&b);
    check_memory(&b, "repeated_and_unsolicited");
    hb_fini(&b);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("hostile_md");
    TCase *t = tcase_create("metadata");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, frame_2gib);
    tcase_add_test(t, frame_negative);
    tcase_add_test(t, array_negative);
    tcase_add_test(t, array_oversized);
    tcase_add_test(t, string_past_frame);
    tcase_add_test(t, wrong_correlation_id);
    tcase_add_test(t, truncated_frame);
    tcase_add_test(t, never_answers);
    tcase_add_test(t, trickle);
    tcase_add_test(t, silent_handshake);
    tcase_add_test(t, repeated_and_unsolicited);
    suite_add_tcase(s, t);
    return s;
}
