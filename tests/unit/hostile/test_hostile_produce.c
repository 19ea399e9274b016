/* The hostile-broker suite, producer half: a whole client and kw_producer (acks=1, no
 * idempotence, no retries, so the first attempt's outcome is the record's) against a scripted
 * broker that answers Produce with a 2 GiB frame, an oversized partition count, a response that
 * skips the partition, or never answers while the producer fills buffer.memory. Each record
 * gets exactly one report with a clear error that names the cause; the next record goes
 * through an honest broker; the memory peak stays under a bound derived from buffer.memory and
 * receive.message.max.bytes, and nothing is left allocated. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "hbroker.h"
#include "kwire/msg_produce.h"
#include "kwire/producer.h"

#define RECV_MAX  66048u
#define BUF_MEM   1048576u
#define MEM_BOUND (2u * (18u * RECV_MAX + 65536u) + 2u * BUF_MEM + (2u << 20))

typedef struct dres {
    int reports;
    kw_err err;
    char msg[512];
    int64_t offset;
    bool one; /* the awaited record was reported */
} dres;

static void
on_delivery(kw_producer *p, const kw_delivery *d, void *ud)
{
    (void)p;
    dres *r = ud;
    r->reports++;
    r->err = d->err;
    r->offset = d->offset;
    snprintf(r->msg, sizeof(r->msg), "%s", d->detail->msg);
    r->one = true;
}

static kw_producer *
producer(hb *b, dres *r, const char *const *extra)
{
    static const char *const base[] = {
        "acks",      "1", "enable.idempotence",  "false", "retries", "0",
        "linger.ms", "0", "delivery.timeout.ms", "4000",  NULL};
    const char *all[32];
    size_t n = 0;
    for (size_t i = 0; base[i]; i++)
        all[n++] = base[i];
    for (size_t i = 0; extra && extra[i] && n < 30; i++)
        all[n++] = extra[i];
    all[n] = NULL;
    hb_client(b, all);
    kw_producer_opts o;
    kw_producer_opts_init(&o);
    o.on_delivery = on_delivery;
    o.delivery_ud = r;
    kw_producer *p = NULL;
    kw_error err;
    ck_assert_msg(kw_producer_new(b->c, &o, &p, &err) == KW_ERR_OK, "%s", err.msg);
    return p;
}

static kw_err
send1(kw_producer *p, dres *r, size_t len)
{
    static uint8_t value[65536];
    kw_message m;
    kw_message_init(&m);
    m.topic = "t";
    m.partition = 0;
    m.value = (kw_slice){value, (int32_t)len};
    kw_error err;
    r->one = false;
    return kw_producer_send(p, &m, &err);
}

/* Serves the setup (ApiVersions, Metadata, on whichever connection) until a Produce request
 * arrives. */
static void
until_produce(hb *b, hframe *f)
{
    uint8_t out[1024];
    for (int i = 0; i < 200; i++) {
        int got = hb_read(b, f, 100);
        if (got == 1 && f->api_key == 0)
            return;
        if (got == 1 && f->api_key == 3)
            hb_reply(b, f->corr, out, hb_metadata(b, f, out, sizeof(out)));
        else if (got == 1)
            ck_abort_msg("unexpected request %d", f->api_key);
        else if (got < 0 || b->fd < 0)
            ck_assert_msg(hb_handshake(b, 5000), "no connection:\n%s", b->log);
        else
            hb_handshake(b, 50); /* the producer may have opened the link to broker 1 */
    }
    ck_abort_msg("no Produce request");
}

static size_t
produce_ok(const hframe *f, int64_t offset, uint8_t *out, size_t cap)
{
    kw_produce_resp_partition pr;
    memset(&pr, 0, sizeof(pr));
    pr.base_offset = offset;
    pr.log_append_time_ms = -1;
    pr.error_message = KW_SLICE_NULL;
    kw_produce_resp_topic t;
    memset(&t, 0, sizeof(t));
    t.name = kw_slice_str("t");
    t.partition_responses = &pr;
    t.n_partition_responses = 1;
    kw_produce_resp m;
    memset(&m, 0, sizeof(m));
    m.responses = &t;
    m.n_responses = 1;
    return hb_encode(0, f->ver, &m, out, cap);
}

/* The next record goes through an honest broker. */
static void
recover(hb *b, kw_producer *p, dres *r)
{
    ck_assert_int_eq(send1(p, r, 100), KW_ERR_OK);
    hframe f;
    until_produce(b, &f);
    uint8_t out[256];
    ck_assert(hb_reply(b, f.corr, out, produce_ok(&f, 77, out, sizeof(out))));
    ck_assert(hb_wait(b, &r->one, 10000));
    ck_assert_msg(r->err == KW_ERR_OK, "recovery failed: %s", r->msg);
    ck_assert_int_eq(r->offset, 77);
}

static void
finish(hb *b, kw_producer *p, dres *r, int want_reports, const char *name)
{
    kw_producer_free(p);
    ck_assert_int_eq(r->reports, want_reports);
    fprintf(stderr, "hostile %s: peak %zu bytes (bound %u)\n", name, b->mem.peak, MEM_BOUND);
    ck_assert_msg(b->mem.peak < MEM_BOUND, "%s: peak %zu", name, b->mem.peak);
    hb_fini(b);
}

static void
put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

START_TEST(produce_frame_2gib)
{
    hb b;
    hb_init(&b);
    dres r = {0};
    kw_producer *p = producer(&b, &r, NULL);
    ck_assert_int_eq(send1(p, &r, 100), KW_ERR_OK);
    hframe f;
    until_produce(&b, &f);
    uint8_t raw[8];
    put32(raw, 0x7fffffffu);
    put32(raw + 4, (uint32_t)f.corr);
    hb_raw(&b, raw, 8);
    ck_assert(hb_wait(&b, &r.one, 10000));
    ck_assert_msg(r.err == KW_ERR_IO, "%s %s", kw_err_name(r.err), r.msg);
    ck_assert_msg(strstr(r.msg, "t [0]: connection to broker 1 lost: broker sent a frame of "
                                "2147483647 bytes, over receive.message.max.bytes"),
                  "%s", r.msg);
    recover(&b, p, &r);
    finish(&b, p, &r, 2, "produce_frame_2gib");
}
END_TEST

START_TEST(produce_count_oversized)
{
    hb b;
    hb_init(&b);
    dres r = {0};
    kw_producer *p = producer(&b, &r, NULL);
    ck_assert_int_eq(send1(p, &r, 100), KW_ERR_OK);
    hframe f;
    until_produce(&b, &f);
    uint8_t out[256];
    size_t n = produce_ok(&f, 5, out, sizeof(out));
    /* Produce v3-8: Responses[] count, Name, then PartitionResponses[] count. */
    ck_assert_int_lt(f.ver, 9);
    put32(out + 4 + 2 + 1, 0x7fffffffu);
    ck_assert(hb_reply(&b, f.corr, out, n));
    ck_assert(hb_wait(&b, &r.one, 10000));
    ck_assert_msg(r.err == KW_ERR_TRUNCATED || r.err == KW_ERR_MALFORMED, "%s %s",
                  kw_err_name(r.err), r.msg);
    ck_assert_msg(strstr(r.msg, "response from broker 1 does not parse"), "%s", r.msg);
    recover(&b, p, &r);
    finish(&b, p, &r, 2, "produce_count_oversized");
}
END_TEST

START_TEST(produce_partition_missing)
{
    hb b;
    hb_init(&b);
    dres r = {0};
    kw_producer *p = producer(&b, &r, NULL);
    ck_assert_int_eq(send1(p, &r, 100), KW_ERR_OK);
    hframe f;
    until_produce(&b, &f);
    kw_produce_resp m;
    memset(&m, 0, sizeof(m)); /* no topic at all */
    uint8_t out[64];
    ck_assert(hb_reply(&b, f.corr, out, hb_encode(0, f.ver, &m, out, sizeof(out))));
    ck_assert(hb_wait(&b, &r.one, 10000));
    ck_assert_int_eq(r.err, KW_ERR_MALFORMED);
    ck_assert_msg(strstr(r.msg, "did not answer for it"), "%s", r.msg);
    recover(&b, p, &r);
    finish(&b, p, &r, 2, "produce_partition_missing");
}
END_TEST

/* The broker takes every Produce and never answers: the producer fills buffer.memory, gets
 * back-pressure (QUEUE_FULL), stays within its budget, and every record times out with one
 * report. */
START_TEST(produce_never_answers)
{
    static const char *const extra[] = {"request.timeout.ms",
                                        "1000",
                                        "delivery.timeout.ms",
                                        "1500",
                                        "max.in.flight.requests.per.connection",
                                        "2",
                                        NULL};
    hb b;
    hb_init(&b);
    dres r = {0};
    kw_producer *p = producer(&b, &r, extra);
    ck_assert_int_eq(send1(p, &r, 100), KW_ERR_OK);
    hframe f;
    until_produce(&b, &f);
    int sent = 1, full = 0;
    for (int i = 0; i < 200 && full < 3; i++) {
        kw_err e = send1(p, &r, 60000);
        if (e == KW_ERR_QUEUE_FULL) {
            full++;
        } else {
            ck_assert_int_eq(e, KW_ERR_OK);
            sent++;
        }
        hb_step(&b);
    }
    ck_assert_int_ge(full, 1);
    ck_assert_int_le(sent, (int)(BUF_MEM / 60000) + 2);
    /* Everything reported within delivery.timeout.ms (plus the request in flight). */
    for (int i = 0; i < 2000 && r.reports < sent; i++)
        hb_step(&b);
    ck_assert_int_eq(r.reports, sent);
    ck_assert_msg(r.err == KW_ERR_TIMED_OUT, "%s %s", kw_err_name(r.err), r.msg);
    /* The queue is the budget: what it holds plus a small fixed overhead, not a multiple. */
    ck_assert_msg(b.mem.peak < BUF_MEM + (512u << 10), "peak %zu", b.mem.peak);
    finish(&b, p, &r, sent, "produce_never_answers");
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("hostile_produce");
    TCase *t = tcase_create("produce");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, produce_frame_2gib);
    tcase_add_test(t, produce_count_oversized);
    tcase_add_test(t, produce_partition_missing);
    tcase_add_test(t, produce_never_answers);
    suite_add_tcase(s, t);
    return s;
}
