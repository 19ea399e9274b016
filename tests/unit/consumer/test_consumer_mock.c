/* The consumer end to end against kwire-mock (in-process, on its own thread). Records written
 * by kwire's producer (or appended to the mock directly) are consumed back and compared one for
 * one with what the broker stored: keys, values, headers, timestamps, offsets, order. Covers
 * every codec, seek by offset / beginning / end / time, pause and resume, position, lag and
 * watermarks, auto.offset.reset earliest / latest / none (no offset and out of range), the
 * memory budget with a slow poller on the kwire thread, and the manual assignment calls. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cons_util.h"
#include "../../support/mockfix.h"
#include "kwire/codec.h"
#include "kwire/mock_control.h"

static kw_mock *mock;

static void
setup(void)
{
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    mc.brokers = 3;
    mc.default_partitions = 4;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_new(&mc, &mock, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(kw_mock_topic_create(mock, "t6", 6, 3, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_thread_start(mock, &err), KW_ERR_OK);
}

static void
teardown(void)
{
    kw_mock_free(mock);
    mock = NULL;
}

static int64_t
hw_of(const char *topic, int32_t part)
{
    kw_mock_partition_info pi;
    ck_assert_int_eq(kw_mock_partition_info_get(mock, topic, part, &pi), KW_ERR_OK);
    return pi.high_watermark;
}

/* Sends n records with key k<i>, value v<i>, headers id=<i> and nul (null value), timestamp
 * T0 + i, to `partition` (KW_PARTITION_ANY = by key), then flushes. */
static void
produce(kw_producer *p, const char *topic, int32_t partition, int first, int n, int vsize)
{
    char *val = malloc((size_t)vsize + 32);
    for (int i = first; i < first + n; i++) {
        char k[32], h[32];
        snprintf(k, sizeof(k), "k%d", i);
        snprintf(h, sizeof(h), "%d", i);
        int vl = snprintf(val, 32, "v%d", i);
        for (; vl < vsize; vl++)
            val[vl] = (char)('a' + (i + vl) % 26);
        val[vl] = '\0';
        kw_header hd[2] = {{kw_slice_str("id"), kw_slice_str(h)},
                           {kw_slice_str("nul"), KW_SLICE_NULL}};
        kw_message m;
        kw_message_init(&m);
        m.topic = topic;
        m.partition = partition;
        m.key = kw_slice_str(k);
        m.value = kw_slice_str(val);
        m.headers = hd;
        m.n_headers = 2;
        m.timestamp = 1600000000000LL + i;
        m.opaque = (void *)(uintptr_t)(i + 1);
        kw_error err;
        kw_err e;
        while ((e = kw_producer_send(p, &m, &err)) == KW_ERR_QUEUE_FULL)
            kwt_step_for(kw_producer_client(p), 5);
        ck_assert_msg(e == KW_ERR_OK, "send: %s", err.msg);
    }
    kw_error err;
    ck_assert_msg(kw_producer_flush(p, KWT_PROD_DEADLINE_MS, &err) == KW_ERR_OK, "%s", err.msg);
    free(val);
}

static void
produce_with(const char *const *extra, const char *topic, int32_t partition, int first, int n,
             int vsize)
{
    kwt_drs d;
    kwt_drs_init(&d, (size_t)(first + n));
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_producer *p = kwt_producer(c, &d);
    produce(p, topic, partition, first, n, vsize);
    ck_assert_uint_eq(d.ok, (size_t)n);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}

START_TEST(test_roundtrip_exact)
{
    produce_with(NULL, "t6", KW_PARTITION_ANY, 0, 3000, 20);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign_all(k, "t6", 6, KW_OFFSET_BEGINNING);
    kwt_got g;
    kwt_got_init(&g);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 3000, 500, KWT_CONS_DEADLINE_MS), 3000);
    ck_assert_uint_eq(g.errors, 0);
    size_t total = 0;
    for (int32_t part = 0; part < 6; part++) {
        int64_t hw = hw_of("t6", part);
        kwt_check_stored(mock, &g, "t6", part, 0, (size_t)hw);
        total += (size_t)hw;
        int64_t pos, lag;
        ck_assert_int_eq(kw_consumer_position(k, "t6", part, &pos, NULL), KW_ERR_OK);
        ck_assert_int_eq(pos, hw);
        ck_assert_int_eq(kw_consumer_lag(k, "t6", part, &lag, NULL), KW_ERR_OK);
        ck_assert_int_eq(lag, 0);
    }
    ck_assert_uint_eq(total, 3000);
    for (size_t i = 0; i < g.n; i++) {
        const kwt_msg *m = &g.v[i];
        long id = strtol(m->key + 1, NULL, 10);
        char want[64];
        snprintf(want, sizeof(want), "id=%ld;nul=~;", id);
        KWT_CHECK(strcmp(m->hdrs, want) == 0, "headers %s, want %s", m->hdrs, want);
        KWT_CHECK(m->ts == 1600000000000LL + id, "timestamp");
        KWT_CHECK(m->ts_type == KW_TIMESTAMP_CREATE_TIME, "timestamp type");
        KWT_CHECK(m->leader_epoch >= 0, "leader epoch");
    }
    /* Nothing more arrives, nothing is held once everything was released. */
    ck_assert_uint_eq(kwt_poll_for(k, &g, 200), 0);
    kw_consumer_stats st;
    kw_consumer_stats_get(k, &st);
    ck_assert_uint_eq(st.records, 3000);
    ck_assert_uint_eq(st.out_msgs, 0);
    ck_assert_uint_eq(st.buffered_msgs, 0);
    ck_assert_uint_eq(st.mem, 0);
    ck_assert_uint_ge(st.fetch_requests, 1);
    ck_assert_uint_eq(st.assigned, 6);
    kw_partition_list l;
    ck_assert_int_eq(kw_consumer_assignment(k, &l, NULL), KW_ERR_OK);
    ck_assert_uint_eq(l.n, 6);
    for (size_t i = 0; i < l.n; i++) {
        ck_assert_str_eq(l.items[i].topic, "t6");
        ck_assert_int_eq(l.items[i].offset, hw_of("t6", l.items[i].partition));
    }
    kw_partition_list_free(&l);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

START_TEST(test_every_codec)
{
    const char *codecs[] = {"gzip", "snappy", "lz4", "zstd"};
    const int ids[] = {KW_CODEC_GZIP, KW_CODEC_SNAPPY, KW_CODEC_LZ4, KW_CODEC_ZSTD};
    ck_assert_int_eq(kw_mock_topic_create(mock, "tz", 4, 1, NULL), KW_ERR_OK);
    for (int z = 0; z < 4; z++) {
        char ct[64];
        /* A codec not built in (-Dauto_features=disabled): that partition gets plain batches. */
        if (!kw_codec_available(ids[z]))
            fprintf(stderr, "SKIP part: %s is not built in\n", codecs[z]);
        snprintf(ct, sizeof(ct), "compression.type=%s",
                 kw_codec_available(ids[z]) ? codecs[z] : "none");
        const char *extra[] = {ct, NULL};
        produce_with(extra, "tz", z, z * 1000, 800, 200);
    }
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign_all(k, "tz", 4, 0);
    kwt_got g;
    kwt_got_init(&g);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 3200, 300, KWT_CONS_DEADLINE_MS), 3200);
    for (int z = 0; z < 4; z++)
        kwt_check_stored(mock, &g, "tz", z, 0, 800);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

/* The first record collected for partition 0 from index `from` on. */
static const kwt_msg *
first_of(const kwt_got *g, size_t from)
{
    return from < g->n ? &g->v[from] : NULL;
}

START_TEST(test_seek)
{
    ck_assert_int_eq(kw_mock_topic_create(mock, "s", 1, 1, NULL), KW_ERR_OK);
    kwt_append(mock, "s", 0, 0, 100, 10000); /* timestamps 10000 + i */
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign1(k, "s", 0, 50);
    kwt_got g;
    kwt_got_init(&g);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 10, 10, KWT_CONS_DEADLINE_MS), 10);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(g.v[i].offset, 50 + i);
    int64_t pos;
    ck_assert_int_eq(kw_consumer_position(k, "s", 0, &pos, NULL), KW_ERR_OK);
    ck_assert_int_eq(pos, 60);

    /* Beginning: buffered records past 60 are dropped, the next one is offset 0. */
    size_t at = g.n;
    ck_assert_int_eq(kw_consumer_seek(k, "s", 0, KW_OFFSET_BEGINNING, NULL), KW_ERR_OK);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 100, 7, KWT_CONS_DEADLINE_MS), 100);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(g.v[at + (size_t)i].offset, i);

    /* A time: the first record at or after it. */
    at = g.n;
    ck_assert_int_eq(kw_consumer_seek_timestamp(k, "s", 0, 10030, NULL), KW_ERR_OK);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 5, 5, KWT_CONS_DEADLINE_MS), 5);
    ck_assert_int_eq(first_of(&g, at)->offset, 30);
    ck_assert_int_eq(first_of(&g, at)->ts, 10030);

    /* End, then a time past every record (also the end): only new records arrive. */
    for (int round = 0; round < 2; round++) {
        if (round == 0)
            ck_assert_int_eq(kw_consumer_seek(k, "s", 0, KW_OFFSET_END, NULL), KW_ERR_OK);
        else
            ck_assert_int_eq(kw_consumer_seek_timestamp(k, "s", 0, 99999999, NULL), KW_ERR_OK);
        at = g.n;
        /* The ListOffsets answer may queue behind a Fetch the broker holds for
         * fetch.max.wait.ms: wait for the position to resolve, then nothing is handed out. */
        int64_t hw = hw_of("s", 0), end = kwt_mono_ms() + KWT_CONS_DEADLINE_MS;
        do {
            ck_assert_uint_eq(kwt_poll_for(k, &g, 50), 0);
            ck_assert_int_eq(kw_consumer_position(k, "s", 0, &pos, NULL), KW_ERR_OK);
        } while (pos == KW_OFFSET_INVALID && kwt_mono_ms() < end);
        ck_assert_int_eq(pos, hw);
        ck_assert_uint_eq(kwt_poll_for(k, &g, 100), 0);
        kwt_append(mock, "s", 0, 100 + round, 1, 20000);
        ck_assert_uint_eq(kwt_poll_until(k, &g, 1, 1, KWT_CONS_DEADLINE_MS), 1);
        ck_assert_int_eq(first_of(&g, at)->offset, hw);
    }
    /* Offsets: back to 42 after reaching the end. */
    at = g.n;
    ck_assert_int_eq(kw_consumer_seek(k, "s", 0, 42, NULL), KW_ERR_OK);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 3, 3, KWT_CONS_DEADLINE_MS), 3);
    ck_assert_int_eq(first_of(&g, at)->offset, 42);
    ck_assert_str_eq(first_of(&g, at)->value, "v42");

    /* Misuse is an error, not a crash. */
    kw_error err;
    ck_assert_int_eq(kw_consumer_seek(k, "s", 1, 0, &err), KW_ERR_NOT_FOUND);
    ck_assert_int_eq(kw_consumer_seek(k, "s", 0, -7, &err), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_consumer_seek_timestamp(k, "s", 0, -1, &err), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_consumer_position(k, "nope", 0, &pos, &err), KW_ERR_NOT_FOUND);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

/* Offsets of partition `part` in g from index `from`, checked to be first, first+1, ... */
static size_t
check_run(const kwt_got *g, size_t from, int32_t part, int64_t first)
{
    size_t n = 0;
    for (size_t i = from; i < g->n; i++)
        if (g->v[i].partition == part) {
            KWT_CHECK(g->v[i].offset == first + (int64_t)n, "partition %d: offset %lld, want %lld",
                      part, (long long)g->v[i].offset, (long long)(first + (int64_t)n));
            n++;
        }
    return n;
}

START_TEST(test_pause_resume)
{
    ck_assert_int_eq(kw_mock_topic_create(mock, "p", 2, 1, NULL), KW_ERR_OK);
    kwt_append(mock, "p", 0, 0, 40, 1000);
    kwt_append(mock, "p", 1, 0, 40, 1000);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign_all(k, "p", 2, KW_OFFSET_BEGINNING);
    kwt_got g;
    kwt_got_init(&g);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 10, 10, KWT_CONS_DEADLINE_MS), 10);
    kw_topic_partition p0 = {"p", 0, 0, -1, NULL, KW_ERR_OK, 0};
    ck_assert_int_eq(kw_consumer_pause(k, &p0, 1, NULL), KW_ERR_OK);
    int64_t pos0;
    ck_assert_int_eq(kw_consumer_position(k, "p", 0, &pos0, NULL), KW_ERR_OK);
    /* Everything of partition 1, and nothing of the paused partition 0, even new records. */
    kwt_append(mock, "p", 0, 40, 10, 1000);
    size_t at = g.n;
    kwt_poll_for(k, &g, 500);
    for (size_t i = at; i < g.n; i++)
        ck_assert_int_eq(g.v[i].partition, 1);
    ck_assert_uint_eq(check_run(&g, 0, 1, 0), 40);
    int64_t still;
    ck_assert_int_eq(kw_consumer_position(k, "p", 0, &still, NULL), KW_ERR_OK);
    ck_assert_int_eq(still, pos0);
    /* Resume: partition 0 continues exactly at its position (nothing skipped or repeated). */
    ck_assert_int_eq(kw_consumer_resume(k, &p0, 1, NULL), KW_ERR_OK);
    size_t had0 = check_run(&g, 0, 0, 0);
    ck_assert_int_eq((int64_t)had0, pos0);
    ck_assert_uint_eq(kwt_poll_until(k, &g, (size_t)(50 - pos0), 8, KWT_CONS_DEADLINE_MS),
                      (size_t)(50 - pos0));
    ck_assert_uint_eq(check_run(&g, 0, 0, 0), 50);
    kw_topic_partition bad = {"p", 7, 0, -1, NULL, KW_ERR_OK, 0};
    ck_assert_int_eq(kw_consumer_pause(k, &bad, 1, NULL), KW_ERR_NOT_FOUND);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

START_TEST(test_lag_and_watermarks)
{
    ck_assert_int_eq(kw_mock_topic_create(mock, "l", 1, 1, NULL), KW_ERR_OK);
    kwt_append(mock, "l", 0, 0, 100, 1000);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_consumer *k = kwt_consumer(c);
    int64_t lag = 0;
    kwt_assign1(k, "l", 0, KW_OFFSET_BEGINNING);
    ck_assert_int_eq(kw_consumer_lag(k, "l", 0, &lag, NULL), KW_ERR_OK);
    ck_assert_int_eq(lag, -1); /* nothing known yet */
    kwt_got g;
    kwt_got_init(&g);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 30, 30, KWT_CONS_DEADLINE_MS), 30);
    ck_assert_int_eq(kw_consumer_lag(k, "l", 0, &lag, NULL), KW_ERR_OK);
    ck_assert_int_eq(lag, 70);
    int64_t lo, hi, st;
    ck_assert_int_eq(kw_consumer_watermarks(k, "l", 0, &lo, &hi, &st, NULL), KW_ERR_OK);
    ck_assert_int_eq(lo, 0);
    ck_assert_int_eq(hi, 100);
    ck_assert_int_eq(st, 100);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 70, 100, KWT_CONS_DEADLINE_MS), 70);
    ck_assert_int_eq(kw_consumer_lag(k, "l", 0, &lag, NULL), KW_ERR_OK);
    ck_assert_int_eq(lag, 0);
    ck_assert_int_eq(kw_consumer_lag(k, "l", 3, &lag, NULL), KW_ERR_NOT_FOUND);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

/* One auto.offset.reset case: start at `start` with the policy, 10 records stored. Returns the
 * first message (record or error). */
static kwt_msg
reset_case(const char *policy, int64_t start, const char *topic)
{
    char pol[64];
    snprintf(pol, sizeof(pol), "auto.offset.reset=%s", policy);
    const char *extra[] = {pol, NULL};
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign1(k, topic, 0, start);
    kwt_got g;
    kwt_got_init(&g);
    if (strcmp(policy, "latest") == 0) {
        ck_assert_uint_eq(kwt_poll_for(k, &g, 300), 0); /* waits at the end */
        kwt_append(mock, topic, 0, 1000, 1, 1000);
    }
    ck_assert_uint_eq(kwt_poll_until(k, &g, 1, 1, KWT_CONS_DEADLINE_MS), 1);
    kwt_msg m = g.v[0];
    g.v[0].key = g.v[0].value = g.v[0].hdrs = NULL;
    if (m.err != KW_ERR_OK) {
        /* With none the partition stops until a seek, which then works. */
        ck_assert_uint_eq(kwt_poll_for(k, &g, 200), 0);
        ck_assert_int_eq(kw_consumer_seek(k, topic, 0, 3, NULL), KW_ERR_OK);
        ck_assert_uint_eq(kwt_poll_until(k, &g, 1, 1, KWT_CONS_DEADLINE_MS), 1);
        ck_assert_int_eq(g.v[1].offset, 3);
    }
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
    return m;
}

START_TEST(test_auto_offset_reset)
{
    ck_assert_int_eq(kw_mock_topic_create(mock, "r", 1, 1, NULL), KW_ERR_OK);
    kwt_append(mock, "r", 0, 0, 10, 1000);
    /* No start offset (manual assignment with KW_OFFSET_INVALID) and out of range (1000). */
    int64_t starts[2] = {KW_OFFSET_INVALID, 1000};
    for (int s = 0; s < 2; s++) {
        kwt_msg m = reset_case("earliest", starts[s], "r");
        ck_assert_int_eq(m.err, KW_ERR_OK);
        ck_assert_int_eq(m.offset, 0);
        free(m.key), free(m.value), free(m.hdrs);
        int64_t hw = hw_of("r", 0);
        m = reset_case("latest", starts[s], "r");
        ck_assert_int_eq(m.err, KW_ERR_OK);
        ck_assert_int_eq(m.offset, hw);
        free(m.key), free(m.value), free(m.hdrs);
        m = reset_case("none", starts[s], "r");
        if (s == 0) {
            ck_assert_int_eq(m.err, KW_ERR_NOT_FOUND);
        } else {
            ck_assert_int_eq(m.err, KW_ERR_BROKER);
            ck_assert_int_eq(m.code, 1); /* OFFSET_OUT_OF_RANGE */
        }
        ck_assert_str_eq(m.topic, "r");
        ck_assert_ptr_nonnull(strstr(m.errstr, "auto.offset.reset"));
    }
}
END_TEST

/* A slow poller on the kwire thread: fetching stops at the budget and resumes as messages are
 * released; every record still arrives exactly once, in order. */
START_TEST(test_memory_budget)
{
    ck_assert_int_eq(kw_mock_topic_create(mock, "b", 4, 1, NULL), KW_ERR_OK);
    for (int32_t part = 0; part < 4; part++)
        produce_with(NULL, "b", part, part * 1000, 1000, 1000);
    const size_t budget = 256 * 1024;
    const char *extra[] = {"fetch.queue.max.bytes=262144", "max.partition.fetch.bytes=32768", NULL};
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_consumer *k = kwt_consumer(c);
    ck_assert_int_eq(kw_client_thread_start(c, NULL), KW_ERR_OK);
    kwt_assign_all(k, "b", 4, KW_OFFSET_BEGINNING);
    kwt_got g;
    kwt_got_init(&g);
    size_t max_mem = 0;
    int64_t end = kwt_mono_ms() + KWT_CONS_DEADLINE_MS;
    while (g.n < 4000 && kwt_mono_ms() < end) {
        ck_assert_uint_eq(kwt_poll_until(k, &g, 20, 20, KWT_CONS_DEADLINE_MS), 20);
        kw_consumer_stats st;
        kw_consumer_stats_get(k, &st);
        if (st.mem > max_mem)
            max_mem = st.mem;
        struct timespec ts = {0, 2000000}; /* the application is slow */
        nanosleep(&ts, NULL);
    }
    ck_assert_uint_eq(g.n, 4000);
    for (int32_t part = 0; part < 4; part++)
        kwt_check_stored(mock, &g, "b", part, 0, 1000);
    kw_consumer_stats st;
    kw_consumer_stats_get(k, &st);
    /* 4 MB went through a 256 KiB budget. The bound: the budget, plus the message descriptors
     * of the responses in flight and one batch a broker may add past max bytes (KIP-74). */
    fprintf(stderr, "budget %zu: peak %zu (sampled %zu), stalls %llu, %llu fetches, %llu bytes\n",
            budget, st.mem_peak, max_mem, (unsigned long long)st.budget_stalls,
            (unsigned long long)st.fetch_requests, (unsigned long long)st.bytes);
    ck_assert_uint_ge(st.bytes, 4000 * 1000);
    ck_assert_uint_le(st.mem_peak, budget + 64 * 1024);
    ck_assert_uint_ge(st.budget_stalls, 1);
    ck_assert_uint_eq(st.mem_budget, budget);
    ck_assert_int_eq(kw_client_thread_stop(c), KW_ERR_OK);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

/* An allocator that counts the blocks of 64 KiB and more (the block cache's size). */
static size_t big_allocs;
static void *
cnt_alloc(void *ud, size_t n)
{
    (void)ud;
    big_allocs += n >= 65536;
    return malloc(n);
}
static void *
cnt_realloc(void *ud, void *p, size_t old, size_t n)
{
    (void)ud;
    (void)old;
    big_allocs += n >= 65536;
    return realloc(p, n);
}
static void
cnt_free(void *ud, void *p, size_t n)
{
    (void)ud;
    (void)n;
    free(p);
}

/* The records copies and message arrays of a steady consumer come back from its block cache:
 * 8 MB through a 1 MiB budget in responses of 128 KiB a partition take a few fresh blocks,
 * not two per response partition; every record still arrives once, in order, and nothing is
 * left charged once all is released. */
START_TEST(test_block_cache)
{
    ck_assert_int_eq(kw_mock_topic_create(mock, "bc", 2, 1, NULL), KW_ERR_OK);
    for (int32_t part = 0; part < 2; part++)
        produce_with(NULL, "bc", part, part * 4000, 4000, 1000);
    static const kw_allocator a = {cnt_alloc, cnt_realloc, cnt_free, NULL};
    static const char *const base[] = {"fetch.queue.max.bytes=1048576",
                                       "max.partition.fetch.bytes=131072", NULL};
    kw_client *c = kwt_fx_client(kwt_fx_conf(&a, kw_mock_bootstrap(mock), base, NULL), NULL);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign_all(k, "bc", 2, KW_OFFSET_BEGINNING);
    big_allocs = 0;
    kwt_got g;
    kwt_got_init(&g);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 8000, 500, KWT_CONS_DEADLINE_MS), 8000);
    for (int32_t part = 0; part < 2; part++)
        kwt_check_stored(mock, &g, "bc", part, 0, 4000);
    kw_consumer_stats st;
    kw_consumer_stats_get(k, &st);
    fprintf(stderr, "block cache: %llu fetch responses, %zu allocations of 64 KiB or more\n",
            (unsigned long long)st.fetch_responses, big_allocs);
    /* At least 8 MB / 256 KiB = 32 responses of two partitions, each a records copy of 128 KiB;
     * without the cache every one of them would be a fresh block. */
    ck_assert_uint_ge(st.fetch_responses, 32);
    ck_assert_uint_lt(big_allocs, st.fetch_responses);
    ck_assert_uint_eq(st.mem, 0);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

/* Messages outlive a partition's unassignment and the consumer itself until released. */
START_TEST(test_assignment_calls_and_release_after_free)
{
    ck_assert_int_eq(kw_mock_topic_create(mock, "a", 3, 1, NULL), KW_ERR_OK);
    for (int32_t part = 0; part < 3; part++)
        kwt_append(mock, "a", part, 0, 5, 1000);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_consumer *k = kwt_consumer(c);
    kw_topic_partition tp[3] = {{"a", 0, 0, -1, NULL, 0, 0},
                                {"a", 1, 2, -1, NULL, 0, 0},
                                {"a", 2, KW_OFFSET_END, -1, NULL, 0, 0}};
    kw_error err;
    ck_assert_int_eq(kw_consumer_assign(k, tp, 2, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_consumer_incremental_assign(k, &tp[1], 1, &err), KW_ERR_INVALID_ARG);
    kw_topic_partition dup[2] = {tp[0], tp[0]};
    ck_assert_int_eq(kw_consumer_assign(k, dup, 2, &err), KW_ERR_INVALID_ARG);
    kw_topic_partition badname = {"a b", 0, 0, -1, NULL, 0, 0};
    ck_assert_int_eq(kw_consumer_assign(k, &badname, 1, &err), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_consumer_incremental_unassign(k, &tp[2], 1, &err), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_consumer_incremental_assign(k, &tp[2], 1, NULL), KW_ERR_OK);
    kw_consumer_msg *m[16];
    size_t n = 0, got = 0;
    int64_t end = kwt_mono_ms() + KWT_CONS_DEADLINE_MS;
    while (got < 8 && kwt_mono_ms() < end) {
        ck_assert_int_eq(kw_consumer_poll(k, m + got, 8 - got, 100, &n, NULL), KW_ERR_OK);
        got += n;
    }
    ck_assert_uint_eq(got, 8); /* 5 of partition 0, 3 of partition 1 (from offset 2) */
    ck_assert_int_eq(kw_consumer_incremental_unassign(k, &tp[0], 1, NULL), KW_ERR_OK);
    kw_partition_list l;
    ck_assert_int_eq(kw_consumer_assignment(k, &l, NULL), KW_ERR_OK);
    ck_assert_uint_eq(l.n, 2);
    kw_partition_list_free(&l);
    kw_consumer_stats st;
    kw_consumer_stats_get(k, &st);
    ck_assert_uint_eq(st.out_msgs, 8);
    ck_assert_uint_gt(st.mem, 0);
    kw_consumer_free(k);
    /* Still readable after the consumer is gone. */
    int p0 = 0, p1 = 0;
    for (size_t i = 0; i < got; i++) {
        char want[16];
        snprintf(want, sizeof(want), "v%lld", (long long)m[i]->offset);
        ck_assert_int_eq(m[i]->value.len, (int32_t)strlen(want));
        ck_assert_int_eq(memcmp(m[i]->value.ptr, want, strlen(want)), 0);
        ck_assert_str_eq(m[i]->topic, "a");
        if (m[i]->partition == 0)
            p0++;
        else
            p1++;
    }
    ck_assert_int_eq(p0, 5);
    ck_assert_int_eq(p1, 3);
    kw_consumer_msgs_release(m, got);
    kw_consumer_msg_release(NULL);
    kw_consumer_free(NULL);
    kw_client_free(c);
}
END_TEST

/* Every Fetch version the mock serves: v4 (no log start offset), v7 (sessions), v11 (rack),
 * v12 (flexible), v13+ (topic ids instead of names). */
START_TEST(test_fetch_versions)
{
    ck_assert_int_eq(kw_mock_topic_create(mock, "v", 2, 1, NULL), KW_ERR_OK);
    kwt_append(mock, "v", 0, 0, 30, 1000);
    kwt_append(mock, "v", 1, 0, 30, 1000);
    int16_t caps[] = {4, 7, 11, 12, 13, -1};
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        if (caps[i] >= 0)
            ck_assert_int_eq(kw_mock_api_versions_set(mock, 1, 4, caps[i]), KW_ERR_OK);
        else
            ck_assert_int_eq(kw_mock_api_versions_reset(mock, 1), KW_ERR_OK);
        const char *extra[] = {"client.rack=r1", NULL};
        kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
        kw_consumer *k = kwt_consumer(c);
        kwt_assign_all(k, "v", 2, KW_OFFSET_BEGINNING);
        kwt_got g;
        kwt_got_init(&g);
        ck_assert_uint_eq(kwt_poll_until(k, &g, 60, 100, KWT_CONS_DEADLINE_MS), 60);
        kwt_check_stored(mock, &g, "v", 0, 0, 30);
        kwt_check_stored(mock, &g, "v", 1, 0, 30);
        kw_consumer_stats st;
        kw_consumer_stats_get(k, &st);
        if (caps[i] >= 0)
            ck_assert_int_eq(st.fetch_version, caps[i]);
        else
            ck_assert_int_ge(st.fetch_version, 13);
        kwt_got_fini(&g);
        kw_consumer_free(k);
        kw_client_free(c);
    }
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("consumer_mock");
    TCase *tc = tcase_create("mock");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_roundtrip_exact);
    tcase_add_test(tc, test_every_codec);
    tcase_add_test(tc, test_seek);
    tcase_add_test(tc, test_pause_resume);
    tcase_add_test(tc, test_lag_and_watermarks);
    tcase_add_test(tc, test_auto_offset_reset);
    tcase_add_test(tc, test_assignment_calls_and_release_after_free);
    tcase_add_test(tc, test_fetch_versions);
    tcase_add_test(tc, test_block_cache);
    suite_add_tcase(s, tc);
    tc = tcase_create("budget");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_memory_budget);
    suite_add_tcase(s, tc);
    return s;
}
