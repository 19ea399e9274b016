/* The hostile-broker suite, consumer half: a whole client and kw_consumer (assigned t/0 from
 * offset 0, no group) against a scripted broker whose first Fetch answer is a record batch
 * with a corrupt CRC, or a decompression bomb (a zstd batch that inflates to 64 MiB from a few
 * KB). The consumer hands out an in-band error that names the cause, stays within its memory
 * budget (the bomb is stopped at the decompression bound, never inflated), and, once the
 * application seeks past the bad batch, consumes the honest one the broker sends next. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/codec.h"
#include "hbroker.h"
#include "kwire/consumer.h"
#include "kwire/msg_fetch.h"
#include "kwire/records.h"

#define BOMB_SIZE ((size_t)64 << 20)

typedef struct cres {
    int records, errors;
    kw_err err;
    char errstr[512];
    int64_t offset;
    bool seeked;
} cres;

static void
poll_once(kw_consumer *k, cres *r)
{
    kw_consumer_msg *m[16];
    size_t n = 0;
    kw_error err;
    ck_assert_int_eq(kw_consumer_poll(k, m, 16, 0, &n, &err), KW_ERR_OK);
    for (size_t i = 0; i < n; i++) {
        if (m[i]->err == KW_ERR_OK) {
            r->records++;
            r->offset = m[i]->offset;
            ck_assert_int_eq(m[i]->value.len, 5);
        } else {
            r->errors++;
            r->err = m[i]->err;
            snprintf(r->errstr, sizeof(r->errstr), "%s", m[i]->errstr);
        }
    }
    kw_consumer_msgs_release(m, n);
}

/* One batch of one 5-byte record (or `big` bytes of zeros, zstd) at `base`. */
static size_t
batch(uint8_t *out, size_t cap, int64_t base, size_t big)
{
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, big + 65536); /* the uncompressed records go here first */
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    o.base_offset = base;
    o.partition_leader_epoch = 0;
    o.attributes = big ? 4 : 0; /* zstd */
    kw_batch_builder b;
    ck_assert_int_eq(kw_batch_builder_init(&b, &w, &o), KW_ERR_OK);
    uint8_t *zeros = big ? calloc(1, big) : NULL;
    kw_slice v = big ? (kw_slice){zeros, (int32_t)big} : kw_slice_str("hello");
    ck_assert_int_eq(kw_batch_builder_add(&b, 1700000000000, KW_SLICE_NULL, v, NULL, 0), KW_ERR_OK);
    ck_assert_int_eq(kw_batch_builder_finish(&b, NULL), KW_ERR_OK);
    free(zeros);
    size_t n = kw_wr_len(&w);
    ck_assert_uint_le(n, cap);
    memcpy(out, w.base, n);
    kw_wr_fini(&w);
    return n;
}

static void
reply_fetch(hb *b, const hframe *f, const uint8_t *recs, size_t n)
{
    kw_fetch_resp_partition p;
    memset(&p, 0, sizeof(p));
    p.high_watermark = 100;
    p.last_stable_offset = 100;
    p.n_aborted_transactions = -1;
    p.preferred_read_replica = -1;
    p.records = n ? (kw_slice){recs, (int32_t)n} : KW_SLICE_NULL;
    kw_fetch_resp_topic t;
    memset(&t, 0, sizeof(t));
    t.topic = kw_slice_str("t");
    t.partitions = &p;
    t.n_partitions = 1;
    kw_fetch_resp m;
    memset(&m, 0, sizeof(m));
    m.responses = &t;
    m.n_responses = 1;
    static uint8_t out[1 << 20];
    hb_reply(b, f->corr, out, hb_encode(1, f->ver, &m, out, sizeof(out)));
}

/* The fetch offset of the request's only partition. */
static int64_t
fetch_offset(const hframe *f)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_rd r;
    kw_rd_init(&r, f->body, f->body_len);
    kw_fetch_req q;
    ck_assert_int_eq(kw_msg_decode(kw_msgdef_by_key(1, false), f->ver, &r, &ar, &q), KW_ERR_OK);
    int64_t off = q.n_topics > 0 && q.topics[0].n_partitions > 0
                      ? q.topics[0].partitions[0].fetch_offset
                      : -1;
    kw_arena_fini(&ar);
    return off;
}

/* Serves the consumer: Metadata honestly, the first Fetch with `first` (its own length), every
 * later Fetch with an honest batch at the requested offset; polls between requests until a
 * record arrives after an error. */
static void
serve(hb *b, kw_consumer *k, cres *r, const uint8_t *first, size_t first_len)
{
    uint8_t out[4096];
    bool sent_first = false;
    for (int i = 0; i < 400 && !(r->errors > 0 && r->records > 0); i++) {
        hframe f;
        int got = hb_read(b, &f, 20);
        if (got == 1 && f.api_key == 3) {
            hb_reply(b, f.corr, out, hb_metadata(b, &f, out, sizeof(out)));
        } else if (got == 1 && f.api_key == 1) {
            int64_t off = fetch_offset(&f);
            if (!sent_first)
                reply_fetch(b, &f, first, first_len);
            else
                reply_fetch(b, &f, out, batch(out, sizeof(out), off, 0));
            sent_first = true;
        } else if (got == 1) {
            ck_abort_msg("unexpected request %d", f.api_key);
        } else if (got < 0 || b->fd < 0) {
            ck_assert_msg(hb_handshake(b, 5000), "no connection:\n%s", b->log);
        } else {
            hb_handshake(b, 20); /* the consumer may have opened its link to broker 1 */
        }
        poll_once(k, r);
        if (r->errors > 0 && !r->seeked) {
            /* Java and librdkafka leave a corrupt batch to the application, which skips it;
             * kwire hands out the error and waits for that seek too. */
            kw_error err;
            ck_assert_int_eq(kw_consumer_seek(k, "t", 0, 1, &err), KW_ERR_OK);
            r->seeked = true;
        }
    }
}

static kw_consumer *
consumer(hb *b)
{
    static const char *const extra[] = {"fetch.max.bytes",
                                        "1048576",
                                        "receive.message.max.bytes",
                                        "1049088",
                                        "fetch.queue.max.bytes",
                                        "1048576",
                                        "check.crcs",
                                        "true",
                                        "fetch.max.wait.ms",
                                        "100",
                                        NULL};
    hb_client(b, extra);
    kw_consumer *k = NULL;
    kw_error err;
    ck_assert_msg(kw_consumer_new(b->c, NULL, &k, &err) == KW_ERR_OK, "%s", err.msg);
    kw_topic_partition tp;
    memset(&tp, 0, sizeof(tp));
    tp.topic = "t";
    tp.leader_epoch = -1;
    ck_assert_int_eq(kw_consumer_assign(k, &tp, 1, &err), KW_ERR_OK);
    return k;
}

START_TEST(corrupt_crc)
{
    hb b;
    hb_init(&b);
    kw_consumer *k = consumer(&b);
    uint8_t bad[256];
    size_t n = batch(bad, sizeof(bad), 0, 0);
    bad[n - 3] ^= 0x20; /* inside the record's value, after the CRC was computed */
    cres r = {0};
    serve(&b, k, &r, bad, n);
    ck_assert_msg(r.errors >= 1, "no error for a corrupt batch:\n%s", b.log);
    ck_assert_msg(r.err == KW_ERR_CRC, "%s: %s", kw_err_name(r.err), r.errstr);
    ck_assert_msg(strstr(r.errstr, "t [0]") && strstr(r.errstr, kw_err_str(KW_ERR_CRC)), "%s",
                  r.errstr);
    ck_assert_msg(r.records >= 1, "no recovery:\n%s", b.log);
    kw_consumer_free(k);
    fprintf(stderr, "hostile corrupt_crc: peak %zu bytes\n", b.mem.peak);
    ck_assert_msg(b.mem.peak < ((size_t)8 << 20), "peak %zu", b.mem.peak);
    hb_fini(&b);
}
END_TEST

START_TEST(decompression_bomb)
{
    if (!kw_codec_available(KW_CODEC_ZSTD)) {
        fprintf(stderr, "SKIP: decompression_bomb: zstd is not built in\n");
        return;
    }
    hb b;
    hb_init(&b);
    kw_consumer *k = consumer(&b);
    static uint8_t bomb[1 << 20];
    size_t n = batch(bomb, sizeof(bomb), 0, BOMB_SIZE);
    ck_assert_uint_lt(n, 65536); /* a few KB on the wire */
    cres r = {0};
    serve(&b, k, &r, bomb, n);
    ck_assert_msg(r.errors >= 1, "no error for a bomb:\n%s", b.log);
    ck_assert_msg(strstr(r.errstr, "t [0]: the batch at offset 0 is unreadable"), "%s: %s",
                  kw_err_name(r.err), r.errstr);
    ck_assert_msg(r.records >= 1, "no recovery:\n%s", b.log);
    kw_consumer_free(k);
    /* The decompression bound is max(fetch.queue.max.bytes, 16 MiB): the consumer stops
     * there, far below what the batch claims. */
    fprintf(stderr, "hostile decompression_bomb: peak %zu bytes (bomb %zu)\n", b.mem.peak,
            BOMB_SIZE);
    ck_assert_msg(b.mem.peak < ((size_t)16 << 20) + ((size_t)8 << 20), "peak %zu", b.mem.peak);
    hb_fini(&b);
}
END_TEST

/* A bomb spread thin: one response of four zstd batches that each inflate to 10 MiB of real
 * data, 40 MiB together, past the bound of max(fetch.queue.max.bytes, 16 MiB). The consumer
 * keeps the first batch, leaves the rest for later fetches without an error, and hands out
 * every record in order while its memory stays near the bound. */
START_TEST(decompression_bomb_spread)
{
    if (!kw_codec_available(KW_CODEC_ZSTD)) {
        fprintf(stderr, "SKIP: decompression_bomb_spread: zstd is not built in\n");
        return;
    }
    hb b;
    hb_init(&b);
    kw_consumer *k = consumer(&b);
    static uint8_t resp[1 << 20];
    size_t big = (size_t)10 << 20, n = 0;
    for (int64_t i = 0; i < 4; i++)
        n += batch(resp + n, sizeof(resp) - n, i, big);
    uint8_t out[4096];
    int64_t next = 0, fetches_at_0 = 0;
    for (int i = 0; i < 400 && next < 4; i++) {
        hframe f;
        int got = hb_read(&b, &f, 20);
        if (got == 1 && f.api_key == 3) {
            hb_reply(&b, f.corr, out, hb_metadata(&b, &f, out, sizeof(out)));
        } else if (got == 1 && f.api_key == 1) {
            /* Whatever offset is asked for, the batches from there on. */
            int64_t off = fetch_offset(&f);
            size_t skip = 0;
            for (int64_t j = 0; j < off && j < 4; j++) {
                kw_batch_iter bi;
                kw_batch_iter_init(&bi, (kw_slice){resp + skip, (int32_t)(n - skip)});
                kw_batch bt;
                ck_assert(kw_batch_iter_next(&bi, &bt));
                skip += (size_t)bt.raw.len;
            }
            fetches_at_0 += off == 0;
            reply_fetch(&b, &f, resp + skip, n - skip);
        } else if (got < 0 || b.fd < 0) {
            ck_assert_msg(hb_handshake(&b, 5000), "no connection:\n%s", b.log);
        } else if (got != 1) {
            hb_handshake(&b, 20);
        }
        kw_consumer_msg *m[4];
        size_t got_n = 0;
        kw_error err;
        ck_assert_int_eq(kw_consumer_poll(k, m, 4, 0, &got_n, &err), KW_ERR_OK);
        for (size_t j = 0; j < got_n; j++) {
            ck_assert_msg(m[j]->err == KW_ERR_OK, "%s: %s", kw_err_name(m[j]->err), m[j]->errstr);
            ck_assert_int_eq(m[j]->offset, next);
            ck_assert_int_eq(m[j]->value.len, (int32_t)big);
            next++;
        }
        kw_consumer_msgs_release(m, got_n);
    }
    ck_assert_msg(next == 4, "consumed %lld of 4:\n%s", (long long)next, b.log);
    ck_assert_int_eq(fetches_at_0, 1);
    kw_consumer_free(k);
    fprintf(stderr, "hostile decompression_bomb_spread: peak %zu bytes\n", b.mem.peak);
    ck_assert_msg(b.mem.peak < ((size_t)16 << 20) + ((size_t)8 << 20), "peak %zu", b.mem.peak);
    hb_fini(&b);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("hostile_consume");
    TCase *t = tcase_create("consume");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, corrupt_crc);
    tcase_add_test(t, decompression_bomb);
    tcase_add_test(t, decompression_bomb_spread);
    suite_add_tcase(s, t);
    return s;
}
