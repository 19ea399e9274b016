/* The producer end to end against kwire-mock (in-process, on its own thread): what the broker
 * stored is read back and compared record by record (key, value, headers, timestamp, order,
 * partition), and every record gets exactly one delivery report. Covers keyed (Java's
 * partitions) and keyless (sticky) partitioning, a user partitioner, acks 0/1/all, every
 * codec, borrowed values, back-pressure at buffer.memory, delivery timeouts, unknown topics,
 * flush and purge, freeing with records outstanding, and the optional kwire thread. */
#include <check.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/codec.h"
#include "kwire/hash.h"
#include "kwire/mock_control.h"
#include "prod_util.h"

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

/* Every stored value of topic t6 is "v<id>", the partition its key says, in id order within
 * the partition; returns the number of records found. */
static size_t
check_t6(uint32_t n, bool keyed, const kwt_drs *d)
{
    size_t total = 0;
    for (int32_t part = 0; part < 6; part++) {
        kwt_stored s;
        kwt_mock_read_all(mock, "t6", part, &s);
        long last = -1;
        for (size_t i = 0; i < s.n; i++) {
            KWT_CHECK(s.values[i], "a null value");
            long id = strtol(s.values[i] + 1, NULL, 10);
            KWT_CHECK(id > last, "partition %d: v%ld after v%ld", part, id, last);
            last = id;
            KWT_CHECK(id < (long)n, "v%ld", id);
            const kwt_dr *r = &d->v[id];
            KWT_CHECK(r->err == KW_ERR_OK, "v%ld reported %s", id, kw_err_name(r->err));
            KWT_CHECK(r->partition == part, "v%ld: reported partition %d", id, r->partition);
            KWT_CHECK(r->offset < 0 || r->offset == s.offsets[i], "v%ld: reported offset", id);
            if (keyed) {
                char k[32];
                snprintf(k, sizeof(k), "k%ld", id);
                KWT_CHECK(s.keys[i] && strcmp(s.keys[i], k) == 0, "v%ld: key", id);
                KWT_CHECK(kw_murmur2_partition(k, strlen(k), 6) == part, "%s: partition", k);
            } else {
                KWT_CHECK(!s.keys[i], "v%ld: a key", id);
            }
        }
        total += s.n;
        kwt_stored_fini(&s);
    }
    return total;
}

START_TEST(test_keyed_exact_partitions_and_contents)
{
    kwt_drs d;
    kwt_drs_init(&d, 3000);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_producer *p = kwt_producer(c, &d);
    for (uint32_t i = 0; i < 3000; i++)
        kwt_send(p, "t6", KW_PARTITION_ANY, i, true);
    kwt_drain(p, &d, 3000);
    ck_assert_uint_eq(d.ok, 3000);
    ck_assert_uint_eq(check_t6(3000, true, &d), 3000);
    kw_producer_stats st;
    kw_producer_stats_get(p, &st);
    ck_assert_uint_eq(st.sent, 3000);
    ck_assert_uint_eq(st.delivered, 3000);
    ck_assert_int_ge(st.producer_id, 0); /* idempotent by default */
    ck_assert_uint_eq(st.memory, 0);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

static kw_err
try_new(const char *const *extra, kw_error *err)
{
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_producer *p = NULL;
    kw_err e = kw_producer_new(c, NULL, &p, err);
    kw_producer_free(p);
    kw_client_free(c);
    return e;
}

START_TEST(test_configuration_rules)
{
    kw_error err;
    const char *bad1[] = {"enable.idempotence=true", "acks=1", NULL};
    ck_assert_int_eq(try_new(bad1, &err), KW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "acks"));
    const char *bad2[] = {"delivery.timeout.ms=1000", "request.timeout.ms=5000", NULL};
    ck_assert_int_eq(try_new(bad2, &err), KW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "delivery.timeout.ms"));
    const char *bad3[] = {"transactional.id=tx", NULL};
    ck_assert_int_eq(try_new(bad3, &err), KW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "transactional.id"));
    ck_assert_int_eq(kw_producer_new(NULL, NULL, NULL, &err), KW_ERR_INVALID_ARG);
    /* Idempotence left at its default gives way to an explicit acks=1, as in Java: no
     * producer id is asked for. */
    const char *ok[] = {"acks=1", NULL};
    kwt_drs d;
    kwt_drs_init(&d, 5);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), ok);
    kw_producer *p = kwt_producer(c, &d);
    for (uint32_t i = 0; i < 5; i++)
        kwt_send(p, "t6", KW_PARTITION_ANY, i, true);
    kwt_drain(p, &d, 5);
    kw_producer_stats st;
    kw_producer_stats_get(p, &st);
    ck_assert_int_eq(st.producer_id, -1);
    ck_assert_uint_eq(d.ok, 5);
    ck_assert_ptr_eq(kw_producer_client(p), c);
    kw_producer_free(p);
    kw_producer_free(NULL);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

START_TEST(test_headers_timestamps_nulls)
{
    kwt_drs d;
    kwt_drs_init(&d, 4);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_producer *p = kwt_producer(c, &d);
    kw_header h[2] = {{kw_slice_str("trace"), kw_slice_str("abc")},
                      {kw_slice_str("empty"), KW_SLICE_NULL}};
    kw_message m;
    kw_error err;
    for (int i = 0; i < 4; i++) {
        kw_message_init(&m);
        m.topic = "t6";
        m.partition = 2;
        m.key = i == 1 ? kw_slice_str("") : i == 2 ? KW_SLICE_NULL : kw_slice_str("key");
        m.value = i == 3 ? KW_SLICE_NULL : kw_slice_str(i == 0 ? "first" : "x");
        m.headers = i == 0 ? h : NULL;
        m.n_headers = i == 0 ? 2 : 0;
        m.timestamp = 1600000000000 + i * 1000;
        m.opaque = (void *)(uintptr_t)(i + 1);
        ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_OK);
    }
    kwt_drain(p, &d, 4);
    kwt_stored s;
    ck_assert_uint_eq(kwt_mock_read_all(mock, "t6", 2, &s), 4);
    ck_assert_str_eq(s.keys[0], "key");
    ck_assert_str_eq(s.values[0], "first");
    ck_assert_int_eq(s.n_headers[0], 2);
    ck_assert_str_eq(s.hdr0[0], "trace=abc");
    ck_assert_str_eq(s.keys[1], "");
    ck_assert_ptr_null(s.keys[2]);
    ck_assert_ptr_null(s.values[3]);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(s.ts[i], 1600000000000 + i * 1000);
        ck_assert_int_eq(d.v[i].ts, 1600000000000 + i * 1000);
        ck_assert_int_eq(d.v[i].offset, s.offsets[i]);
        ck_assert_int_eq(d.v[i].partition, 2);
    }
    kwt_stored_fini(&s);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

START_TEST(test_keyless_sticky_switches_after_batch_size)
{
    const char *extra[] = {"batch.size=4096", "linger.ms=0", NULL};
    kwt_drs d;
    kwt_drs_init(&d, 2000);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_producer *p = kwt_producer(c, &d);
    char v[100];
    memset(v, 'x', sizeof(v));
    for (uint32_t i = 0; i < 2000; i++) {
        kw_message m;
        kw_message_init(&m);
        m.topic = "t6";
        snprintf(v, sizeof(v), "v%u", i);
        v[strlen(v)] = 'x';
        m.value = (kw_slice){(const uint8_t *)v, sizeof(v)};
        m.opaque = (void *)(uintptr_t)(i + 1);
        kw_error err;
        ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_OK);
        if (i % 100 == 0)
            kw_client_step(c, 0, NULL);
    }
    kwt_drain(p, &d, 2000);
    ck_assert_uint_eq(d.ok, 2000);
    /* Runs of consecutive records on one partition: the partition changes after batch.size
     * bytes, i.e. every `period` records (the new one may be the same partition again, so a
     * run is a multiple of it), except for the last run. */
    size_t rsize =
        kw_record_size(0, 0, KW_SLICE_NULL, (kw_slice){(const uint8_t *)v, 100}, NULL, 0);
    uint32_t period = (uint32_t)((4096 + rsize - 1) / rsize);
    int parts_used[6] = {0};
    uint32_t run = 0, switches = 0;
    for (uint32_t i = 0; i < 2000; i++) {
        parts_used[d.v[i].partition] = 1;
        if (i > 0 && d.v[i].partition != d.v[i - 1].partition) {
            ck_assert_msg(run % period == 0, "a sticky run of %u records (period %u)", run, period);
            run = 0;
            switches++;
        }
        run++;
    }
    ck_assert_uint_ge(switches, 5);
    int used = 0;
    for (int i = 0; i < 6; i++)
        used += parts_used[i];
    ck_assert_int_ge(used, 3);
    ck_assert_uint_eq(check_t6(2000, false, &d), 2000);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

static int32_t
last_partition(const char *topic, kw_slice key, int32_t partitions, const int32_t *avail,
               int32_t n_avail, void *ud)
{
    (void)topic;
    (void)key;
    (void)avail;
    *(int32_t *)ud = n_avail;
    return partitions - 1;
}

START_TEST(test_user_partitioner_and_explicit_partition)
{
    kwt_drs d;
    kwt_drs_init(&d, 20);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    int32_t seen_avail = -1;
    kw_producer_opts o;
    kw_producer_opts_init(&o);
    o.on_delivery = kwt_dr_cb;
    o.delivery_ud = &d;
    o.partitioner = last_partition;
    o.partitioner_ud = &seen_avail;
    kw_producer *p = NULL;
    kw_error err;
    ck_assert_int_eq(kw_producer_new(c, &o, &p, &err), KW_ERR_OK);
    for (uint32_t i = 0; i < 20; i++)
        kwt_send(p, "t6", i < 10 ? KW_PARTITION_ANY : 1, i, true);
    kwt_drain(p, &d, 20);
    for (uint32_t i = 0; i < 20; i++)
        ck_assert_int_eq(d.v[i].partition, i < 10 ? 5 : 1);
    ck_assert_int_eq(seen_avail, 6);
    /* A partition the topic does not have, once its metadata is known: refused at once. */
    kw_message m;
    kw_message_init(&m);
    m.topic = "t6";
    m.partition = 6;
    ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_INVALID_ARG);
    m.partition = -2;
    ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_INVALID_ARG);
    m.partition = KW_PARTITION_ANY;
    m.topic = "bad/name";
    ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_INVALID_ARG);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

START_TEST(test_acks_and_codecs)
{
    static const char *acks[] = {"acks=0", "acks=1", "acks=all"};
    static const char *codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    uint32_t base = 0;
    for (int a = 0; a < 3; a++)
        for (int z = 0; z < 5; z++) {
            if (z > 0 && !kw_codec_available(z))
                continue;
            char ct[64];
            snprintf(ct, sizeof(ct), "compression.type=%s", codecs[z]);
            const char *extra[] = {acks[a], ct, NULL};
            kwt_drs d;
            kwt_drs_init(&d, base + 200);
            kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
            kw_producer *p = kwt_producer(c, &d);
            for (uint32_t i = base; i < base + 200; i++)
                kwt_send(p, "t6", KW_PARTITION_ANY, i, true);
            kwt_drain(p, &d, 200);
            ck_assert_uint_eq(d.ok, 200);
            for (uint32_t i = base; i < base + 200; i++)
                ck_assert(a == 0 ? d.v[i].offset == -1 : d.v[i].offset >= 0);
            /* acks=0 reports when written: wait until the broker has them all before the
             * connection closes. */
            for (int64_t end = kwt_mono_ms() + 10000;;) {
                int64_t tot = 0;
                for (int32_t part = 0; part < 6; part++) {
                    kw_mock_partition_info pi;
                    ck_assert_int_eq(kw_mock_partition_info_get(mock, "t6", part, &pi), KW_ERR_OK);
                    tot += pi.high_watermark;
                }
                if (tot == base + 200)
                    break;
                ck_assert_msg(kwt_mono_ms() < end, "stored %lld of %u", (long long)tot, base + 200);
                kw_client_step(c, 5, NULL);
            }
            kw_producer_free(p);
            kw_client_free(c);
            base += 200;
            kwt_drs_fini(&d);
        }
    /* Every record of every run is there exactly once. */
    size_t total = 0;
    for (int32_t part = 0; part < 6; part++) {
        kwt_stored s;
        kwt_mock_read_all(mock, "t6", part, &s);
        for (size_t i = 0; i < s.n; i++) {
            char k[32];
            snprintf(k, sizeof(k), "k%s", s.values[i] + 1);
            ck_assert_str_eq(s.keys[i], k);
            ck_assert_int_eq(kw_murmur2_partition(k, strlen(k), 6), part);
            if (i > 0)
                ck_assert_int_lt(atol(s.values[i - 1] + 1), atol(s.values[i] + 1));
        }
        total += s.n;
        kwt_stored_fini(&s);
    }
    ck_assert_uint_eq(total, base);
}
END_TEST

START_TEST(test_zstd_needs_produce_v7)
{
    /* A broker with Produce v3-6 (Kafka before 2.1): zstd batches cannot go, and say why;
     * gzip goes. Every Produce version 3-13 is used by some run below. */
    if (!kw_codec_available(KW_CODEC_ZSTD) || !kw_codec_available(KW_CODEC_GZIP))
        return;
    for (int16_t ver = 3; ver <= 13; ver++) {
        ck_assert_int_eq(kw_mock_api_versions_set(mock, 0, 3, ver), KW_ERR_OK);
        for (int z = 0; z < 2; z++) {
            const char *extra[] = {z ? "compression.type=zstd" : "compression.type=gzip",
                                   "delivery.timeout.ms=2000", "request.timeout.ms=500", NULL};
            kwt_drs d;
            kwt_drs_init(&d, 10);
            kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
            kw_producer *p = kwt_producer(c, &d);
            for (uint32_t i = 0; i < 10; i++)
                kwt_send(p, "t6", KW_PARTITION_ANY, i, true);
            kwt_drain(p, &d, 10);
            if (z && ver < 7) {
                ck_assert_uint_eq(d.failed, 10);
                ck_assert_int_eq(d.v[0].err, KW_ERR_UNSUPPORTED_VERSION);
            } else {
                ck_assert_msg(d.ok == 10, "v%d %s: %s", ver, z ? "zstd" : "gzip", d.last_msg);
            }
            kw_producer_free(p);
            kw_client_free(c);
            kwt_drs_fini(&d);
        }
    }
    ck_assert_int_eq(kw_mock_api_versions_reset(mock, 0), KW_ERR_OK);
}
END_TEST

typedef struct zc_state {
    int freed[64];
    const kwt_drs *d;
    bool freed_before_report;
} zc_state;

static void
zc_free(void *ptr, void *ud)
{
    zc_state *z = ud;
    char *s = ptr;
    int id = atoi(s + 1);
    if (z->d->v[id].calls != 1)
        z->freed_before_report = true;
    z->freed[id]++;
    free(s);
}

START_TEST(test_zero_copy_values)
{
    kwt_drs d;
    kwt_drs_init(&d, 64);
    zc_state z;
    memset(&z, 0, sizeof(z));
    z.d = &d;
    const char *extra[] = {"compression.type=none", NULL};
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_producer *p = kwt_producer(c, &d);
    for (int i = 0; i < 64; i++) {
        char *v = malloc(600);
        memset(v, 'z', 599);
        v[599] = '\0';
        int n = snprintf(v, 600, "v%d", i);
        v[n] = 'z';
        kw_message m;
        kw_message_init(&m);
        m.topic = "t6";
        m.partition = i % 2;
        m.key = kw_slice_str("k");
        m.value = (kw_slice){(const uint8_t *)v, 599};
        m.opaque = (void *)(uintptr_t)(i + 1);
        kw_error err;
        ck_assert_int_eq(kw_producer_send_zc(p, &m, zc_free, &z, &err), KW_ERR_OK);
    }
    kwt_drain(p, &d, 64);
    kwt_step_for(c, 20);
    for (int i = 0; i < 64; i++)
        ck_assert_int_eq(z.freed[i], 1);
    ck_assert(!z.freed_before_report);
    for (int32_t part = 0; part < 2; part++) {
        kwt_stored s;
        ck_assert_uint_eq(kwt_mock_read_all(mock, "t6", part, &s), 32);
        for (size_t i = 0; i < s.n; i++) {
            ck_assert_uint_eq(strlen(s.values[i]), 599);
            ck_assert_int_eq(atoi(s.values[i] + 1) % 2, part);
            ck_assert_int_eq(s.values[i][598], 'z');
        }
        kwt_stored_fini(&s);
    }
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

START_TEST(test_queue_full_back_pressure)
{
    const char *extra[] = {"buffer.memory=20000", "linger.ms=50", NULL};
    kwt_drs d;
    kwt_drs_init(&d, 10000);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_producer *p = kwt_producer(c, &d);
    char v[200];
    memset(v, 'q', sizeof(v));
    uint32_t sent = 0;
    kw_err e = KW_ERR_OK;
    kw_error err;
    /* Without stepping, the budget runs out. */
    while (sent < 10000) {
        kw_message m;
        kw_message_init(&m);
        m.topic = "t6";
        m.value = (kw_slice){(const uint8_t *)v, sizeof(v)};
        m.opaque = (void *)(uintptr_t)(sent + 1);
        if ((e = kw_producer_send(p, &m, &err)) != KW_ERR_OK)
            break;
        sent++;
    }
    ck_assert_int_eq(e, KW_ERR_QUEUE_FULL);
    ck_assert_uint_gt(sent, 50);
    ck_assert_uint_lt(sent, 100);
    kw_producer_stats st;
    kw_producer_stats_get(p, &st);
    ck_assert_uint_le(st.memory, 20000);
    ck_assert_uint_eq(st.outstanding, sent);
    /* A record larger than the whole budget can never fit. */
    static char big[30000];
    kw_message m;
    kw_message_init(&m);
    m.topic = "t6";
    m.value = (kw_slice){(const uint8_t *)big, sizeof(big)};
    ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_TOO_LARGE);
    /* Once reports free memory, sends succeed again. */
    kwt_drain(p, &d, sent);
    m.value = (kw_slice){(const uint8_t *)v, sizeof(v)};
    m.opaque = (void *)(uintptr_t)(sent + 1);
    ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_OK);
    kwt_drain(p, &d, sent + 1);
    ck_assert_uint_eq(d.ok, sent + 1);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

START_TEST(test_delivery_timeout_reports_each_record)
{
    /* The leader of every partition is down: nothing can be delivered. */
    kw_error err;
    ck_assert_int_eq(kw_mock_topic_create(mock, "dead", 2, 1, &err), KW_ERR_OK);
    for (int32_t i = 0; i < 2; i++)
        ck_assert_int_eq(kw_mock_partition_leader_set(mock, "dead", i, 3), KW_ERR_OK);
    const char *extra[] = {"delivery.timeout.ms=1500", "request.timeout.ms=500", NULL};
    kwt_drs d;
    kwt_drs_init(&d, 100);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_producer *p = kwt_producer(c, &d);
    kwt_send(p, "t6", 0, 0, true); /* warm up: metadata and producer id */
    kwt_drain(p, &d, 1);
    ck_assert_int_eq(kw_mock_broker_down(mock, 3), KW_ERR_OK);
    int64_t t0 = kwt_mono_ms();
    for (uint32_t i = 1; i < 100; i++)
        kwt_send(p, "dead", KW_PARTITION_ANY, i, true);
    kwt_drain(p, &d, 100);
    ck_assert_int_ge(kwt_mono_ms() - t0, 1400);
    ck_assert_uint_eq(d.failed, 99);
    for (uint32_t i = 1; i < 100; i++)
        ck_assert_int_eq(d.v[i].err, KW_ERR_TIMED_OUT);
    ck_assert_ptr_nonnull(strstr(d.last_msg, "delivery.timeout.ms"));
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

START_TEST(test_unknown_topic_waits_then_times_out)
{
    kw_mock_free(mock);
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    mc.auto_create_topics = false;
    kw_error err;
    ck_assert_int_eq(kw_mock_new(&mc, &mock, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_thread_start(mock, &err), KW_ERR_OK);
    const char *extra[] = {"delivery.timeout.ms=1500", "request.timeout.ms=500", NULL};
    kwt_drs d;
    kwt_drs_init(&d, 40);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_producer *p = kwt_producer(c, &d);
    /* "later" is created while its records wait; "never" is not. */
    for (uint32_t i = 0; i < 20; i++)
        kwt_send(p, "later", i % 3 == 0 ? 1 : KW_PARTITION_ANY, i, true);
    for (uint32_t i = 20; i < 40; i++)
        kwt_send(p, "never", KW_PARTITION_ANY, i, true);
    kwt_step_for(c, 300);
    ck_assert_uint_eq(d.reports, 0);
    ck_assert_int_eq(kw_mock_topic_create(mock, "later", 3, 1, &err), KW_ERR_OK);
    kwt_drain(p, &d, 40);
    for (uint32_t i = 0; i < 20; i++) {
        ck_assert_int_eq(d.v[i].err, KW_ERR_OK);
        if (i % 3 == 0)
            ck_assert_int_eq(d.v[i].partition, 1);
    }
    for (uint32_t i = 20; i < 40; i++)
        ck_assert_int_eq(d.v[i].err, KW_ERR_TIMED_OUT);
    size_t n = 0;
    for (int32_t part = 0; part < 3; part++) {
        kwt_stored s;
        n += kwt_mock_read_all(mock, "later", part, &s);
        kwt_stored_fini(&s);
    }
    ck_assert_uint_eq(n, 20);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

/* A delivery report that sends: each report of a record below `limit` sends record id + 20
 * to the same topic (for the unknown topic, while its waiting records are being failed). */
typedef struct chain {
    kwt_drs d;
    uint32_t limit;
    const char *topic;
} chain;

static void
chain_cb(kw_producer *p, const kw_delivery *dl, void *ud)
{
    chain *ch = ud;
    kwt_dr_cb(p, dl, &ch->d);
    uint32_t id = (uint32_t)(uintptr_t)dl->opaque - 1;
    if (id < ch->limit) {
        char k[16], v[16];
        snprintf(k, sizeof(k), "k%u", id + 20);
        snprintf(v, sizeof(v), "v%u", id + 20);
        kw_message m;
        kw_message_init(&m);
        m.topic = ch->topic;
        m.key = kw_slice_str(k);
        m.value = kw_slice_str(v);
        m.opaque = (void *)(uintptr_t)(id + 21);
        kw_error err;
        KWT_CHECK(kw_producer_send(p, &m, &err) == KW_ERR_OK, "send from a report: %s", err.msg);
    }
}

START_TEST(test_reports_may_send)
{
    const char *extra[] = {"delivery.timeout.ms=800", "request.timeout.ms=300", NULL};
    for (int pass = 0; pass < 2; pass++) {
        chain ch;
        kwt_drs_init(&ch.d, 40);
        ch.limit = 20;
        ch.topic = pass == 0 ? "t6" : "no-such-topic";
        if (pass == 1) {
            kw_mock_conf mc;
            kw_mock_free(mock);
            kw_mock_conf_init(&mc);
            mc.auto_create_topics = false;
            kw_error err;
            ck_assert_int_eq(kw_mock_new(&mc, &mock, &err), KW_ERR_OK);
            ck_assert_int_eq(kw_mock_thread_start(mock, &err), KW_ERR_OK);
        }
        kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
        kw_producer_opts o;
        kw_producer_opts_init(&o);
        o.on_delivery = chain_cb;
        o.delivery_ud = &ch;
        kw_producer *p = NULL;
        kw_error err;
        ck_assert_int_eq(kw_producer_new(c, &o, &p, &err), KW_ERR_OK);
        for (uint32_t i = 0; i < 20; i++)
            kwt_send(p, ch.topic, KW_PARTITION_ANY, i, true);
        kwt_drain(p, &ch.d, 40);
        if (pass == 0) {
            /* (Records 20-39 were sent in report order, not id order: count them only.) */
            ck_assert_uint_eq(ch.d.ok, 40);
            int seen[40] = {0};
            for (int32_t part = 0; part < 6; part++) {
                kwt_stored st;
                kwt_mock_read_all(mock, "t6", part, &st);
                for (size_t i = 0; i < st.n; i++)
                    seen[atoi(st.values[i] + 1)]++;
                kwt_stored_fini(&st);
            }
            for (int i = 0; i < 40; i++)
                ck_assert_int_eq(seen[i], 1);
        } else {
            ck_assert_uint_eq(ch.d.failed, 40);
            for (uint32_t i = 0; i < 40; i++)
                ck_assert_int_eq(ch.d.v[i].err, KW_ERR_TIMED_OUT);
        }
        kw_producer_free(p);
        kw_client_free(c);
        kwt_drs_fini(&ch.d);
    }
}
END_TEST

START_TEST(test_flush_and_purge)
{
    const char *extra[] = {"linger.ms=60000", "batch.size=1000000", NULL};
    kwt_drs d;
    kwt_drs_init(&d, 300);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_producer *p = kwt_producer(c, &d);
    for (uint32_t i = 0; i < 100; i++)
        kwt_send(p, "t6", KW_PARTITION_ANY, i, true);
    /* linger.ms holds them; flush sends them now and waits for the reports. */
    kwt_step_for(c, 100);
    ck_assert_uint_eq(d.reports, 0);
    kw_error err;
    ck_assert_int_eq(kw_producer_flush(p, 30000, &err), KW_ERR_OK);
    ck_assert_uint_eq(d.ok, 100);
    /* Purge: queued records are reported canceled in a later step, never sent. */
    for (uint32_t i = 100; i < 200; i++)
        kwt_send(p, "t6", KW_PARTITION_ANY, i, true);
    ck_assert_int_eq(kw_producer_purge(p, KW_PURGE_QUEUED, &err), KW_ERR_OK);
    ck_assert_uint_eq(d.reports, 100); /* not inside the call */
    kwt_drain(p, &d, 200);
    for (uint32_t i = 100; i < 200; i++)
        ck_assert_int_eq(d.v[i].err, KW_ERR_CANCELED);
    ck_assert_uint_eq(check_t6(300, true, &d), 100);
    /* flush(0) only starts sending. */
    for (uint32_t i = 200; i < 300; i++)
        kwt_send(p, "t6", KW_PARTITION_ANY, i, true);
    ck_assert_int_eq(kw_producer_flush(p, 0, &err), KW_ERR_TIMED_OUT);
    kwt_drain(p, &d, 300);
    ck_assert_uint_eq(check_t6(300, true, &d), 200);
    ck_assert_int_eq(kw_producer_purge(p, 0, &err), KW_ERR_INVALID_ARG);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

START_TEST(test_free_reports_outstanding)
{
    const char *extra[] = {"linger.ms=60000", NULL};
    kwt_drs d;
    kwt_drs_init(&d, 50);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_producer *p = kwt_producer(c, &d);
    for (uint32_t i = 0; i < 50; i++)
        kwt_send(p, "t6", KW_PARTITION_ANY, i, true);
    kw_producer_free(p);
    ck_assert_uint_eq(d.reports, 50);
    for (uint32_t i = 0; i < 50; i++)
        ck_assert_int_eq(d.v[i].err, KW_ERR_CANCELED);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

/* ---- the kwire thread -------------------------------------------------------------------- */

typedef struct thr_drs {
    kwt_drs d;
    pthread_t loop;
    atomic_bool known;
    atomic_bool wrong_thread;
} thr_drs;

static void
thr_cb(kw_producer *p, const kw_delivery *dl, void *ud)
{
    thr_drs *t = ud;
    if (!pthread_equal(pthread_self(), t->loop))
        t->wrong_thread = true;
    kwt_dr_cb(p, dl, &t->d);
}

static void
note_thread(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    (void)err;
    (void)detail;
    (void)md;
    thr_drs *t = ud;
    t->loop = pthread_self();
    atomic_store(&t->known, true);
}

START_TEST(test_kwire_thread_and_blocking_flush)
{
    thr_drs t;
    memset(&t, 0, sizeof(t));
    kwt_drs_init(&t.d, 2000);
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), NULL);
    kw_producer_opts o;
    kw_producer_opts_init(&o);
    o.on_delivery = thr_cb;
    o.delivery_ud = &t;
    kw_producer *p = NULL;
    kw_error err;
    ck_assert_int_eq(kw_producer_new(c, &o, &p, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_client_thread_start(c, &err), KW_ERR_OK);
    /* Learn which thread runs the loop. */
    ck_assert_int_eq(kw_client_metadata(c, NULL, 0, 0, note_thread, &t, &err), KW_ERR_OK);
    while (!atomic_load(&t.known))
        sched_yield();
    for (uint32_t i = 0; i < 2000; i++) {
        char k[16], v[16];
        snprintf(k, sizeof(k), "k%u", i);
        snprintf(v, sizeof(v), "v%u", i);
        kw_message m;
        kw_message_init(&m);
        m.topic = "t6";
        m.key = kw_slice_str(k);
        m.value = kw_slice_str(v);
        m.opaque = (void *)(uintptr_t)(i + 1);
        ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_OK);
    }
    ck_assert_int_eq(kw_producer_flush(p, 30000, &err), KW_ERR_OK);
    ck_assert_uint_eq(kw_producer_outstanding(p), 0);
    ck_assert_int_eq(kw_client_thread_stop(c), KW_ERR_OK);
    ck_assert_uint_eq(t.d.ok, 2000);
    ck_assert(!t.wrong_thread);
    ck_assert_uint_eq(check_t6(2000, true, &t.d), 2000);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&t.d);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("producer_mock");
    TCase *tc = tcase_create("basic");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_keyed_exact_partitions_and_contents);
    tcase_add_test(tc, test_configuration_rules);
    tcase_add_test(tc, test_headers_timestamps_nulls);
    tcase_add_test(tc, test_keyless_sticky_switches_after_batch_size);
    tcase_add_test(tc, test_user_partitioner_and_explicit_partition);
    tcase_add_test(tc, test_acks_and_codecs);
    tcase_add_test(tc, test_zstd_needs_produce_v7);
    tcase_add_test(tc, test_zero_copy_values);
    tcase_add_test(tc, test_queue_full_back_pressure);
    tcase_add_test(tc, test_delivery_timeout_reports_each_record);
    tcase_add_test(tc, test_unknown_topic_waits_then_times_out);
    tcase_add_test(tc, test_reports_may_send);
    tcase_add_test(tc, test_flush_and_purge);
    tcase_add_test(tc, test_free_reports_outstanding);
    tcase_add_test(tc, test_kwire_thread_and_blocking_flush);
    suite_add_tcase(s, tc);
    return s;
}
