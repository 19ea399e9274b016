/* The producer against librdkafka's mock cluster (3 brokers, an independent broker), with
 * kcat (an independent consumer) reading every topic back from the beginning, CRCs checked:
 * exact keys, values, headers, timestamps, partitions and order; every codec and acks level;
 * the same partition per key as librdkafka's murmur2_random partitioner (kcat producing the
 * same keys); and exactly-once delivery, in order, while the mock injects retriable errors,
 * moves leaders, and takes a broker down and up.
 *
 * librdkafka's mock checks sequence numbers only for transactional producers. A Kafka broker
 * refuses a batch that does not follow the last one it wrote (OUT_OF_ORDER_SEQUENCE_NUMBER),
 * which is what keeps a pipelined idempotent producer in order when a batch in the middle of
 * the pipeline fails; the mock writes it instead, and would write a retried batch twice when
 * it wrote it before the connection broke. The fault tests here therefore run with
 * max.in.flight.requests.per.connection=1 (one batch per partition in flight, Java's
 * ordering guarantee without help from the broker) and with faults after which the broker has
 * not written the batch (injected errors are answered without appending; a broker taken down
 * is taken down between rounds, with the loop quiet). The pipelined idempotent producer under
 * the same faults, dropped connections included, is tested against kwire-mock, which checks
 * sequences as Kafka does (tests/unit/producer/test_producer_faults.c). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kcat_util.h"
#include "kwire/codec.h"
#include "kwire/hash.h"
#include "prod_util.h"
#include "rdk_launch.h"

static kwt_rdk rdk;
static int64_t t_start;

static void
setup(void)
{
    kwt_rdk_start(&rdk, 3);
    t_start = kwt_mono_ms();
}

static void
teardown(void)
{
    if (getenv("KWT_TIMES"))
        fprintf(stderr, "test took %lld ms\n", (long long)(kwt_mono_ms() - t_start));
    kwt_rdk_stop(&rdk);
}

/* Sends records id0..id0+n-1 with key "k<id>", value "v<id>", timestamp base+id and the
 * headers id=<id>, e= (empty value). */
static void
send_range(kw_producer *p, const char *topic, uint32_t id0, uint32_t n)
{
    for (uint32_t id = id0; id < id0 + n; id++) {
        char k[32], v[32], hv[32];
        snprintf(k, sizeof(k), "k%u", id);
        snprintf(v, sizeof(v), "v%u", id);
        snprintf(hv, sizeof(hv), "%u", id);
        kw_header h[2] = {{kw_slice_str("id"), kw_slice_str(hv)},
                          {kw_slice_str("e"), kw_slice_str("")}};
        kw_message m;
        kw_message_init(&m);
        m.topic = topic;
        m.key = kw_slice_str(k);
        m.value = kw_slice_str(v);
        m.headers = h;
        m.n_headers = 2;
        m.timestamp = 1700000000000 + id;
        m.opaque = (void *)(uintptr_t)(id + 1);
        for (int64_t end = kwt_mono_ms() + KWT_PROD_DEADLINE_MS;;) {
            kw_error err;
            kw_error_init(&err);
            kw_err e = kw_producer_send(p, &m, &err);
            if (e == KW_ERR_OK)
                break;
            ck_assert_msg(e == KW_ERR_QUEUE_FULL, "send: %s", err.msg);
            ck_assert(kwt_mono_ms() < end);
            kw_client_step(kw_producer_client(p), 10, NULL);
        }
    }
}

/* kcat read back exactly records 0..n-1 of send_range, each once, in id order per partition,
 * at the partition Java's murmur2 gives, with the offset its report named. */
static void
check_recs(kcat_recs *rp, uint32_t n, int32_t parts, const kwt_drs *d, bool offsets)
{
    kcat_recs r = *rp;
    ck_assert_uint_eq(r.n, n);
    uint8_t *seen = calloc(n, 1);
    long *last = calloc((size_t)parts, sizeof(*last));
    for (int32_t i = 0; i < parts; i++)
        last[i] = -1;
    for (size_t i = 0; i < r.n; i++) {
        const kcat_rec *x = &r.v[i];
        KWT_CHECK(x->value[0] == 'v', "value %s", x->value);
        long id = atol(x->value + 1);
        KWT_CHECK(id < (long)n, "v%ld", id);
        KWT_CHECK(!seen[id], "v%ld read twice", id);
        seen[id] = 1;
        char want[64];
        snprintf(want, sizeof(want), "k%ld", id);
        KWT_CHECK(strcmp(x->key, want) == 0, "key %s, want %s", x->key, want);
        KWT_CHECK(x->partition == kw_murmur2_partition(want, strlen(want), parts),
                  "%s in partition %d", want, x->partition);
        KWT_CHECK(id > last[x->partition], "partition %d: v%ld after v%ld", x->partition, id,
                  last[x->partition]);
        last[x->partition] = id;
        KWT_CHECK(x->ts == 1700000000000 + id, "v%ld: timestamp %lld", id, (long long)x->ts);
        snprintf(want, sizeof(want), "id=%ld,e=", id);
        KWT_CHECK(strcmp(x->headers, want) == 0, "headers %s, want %s", x->headers, want);
        KWT_CHECK(d->v[id].partition == x->partition, "v%ld: reported partition", id);
        if (offsets)
            KWT_CHECK(d->v[id].offset == x->offset, "v%ld: reported offset %lld, read at %lld", id,
                      (long long)d->v[id].offset, (long long)x->offset);
    }
    free(seen);
    free(last);
    kcat_recs_fini(rp);
}

static void
check_topic(const char *topic, uint32_t n, int32_t parts, const kwt_drs *d, bool offsets)
{
    kcat_recs r;
    kcat_consume(rdk.bootstrap, topic, &r);
    check_recs(&r, n, parts, d, offsets);
}

START_TEST(test_roundtrip_read_by_kcat)
{
    kwt_rdk_cmd(&rdk, "create rt 6 3");
    kwt_drs d;
    kwt_drs_init(&d, 5000);
    kw_client *c = kwt_prod_client(rdk.bootstrap, NULL);
    kw_producer *p = kwt_producer(c, &d);
    send_range(p, "rt", 0, 5000);
    kwt_drain(p, &d, 5000);
    ck_assert_uint_eq(d.ok, 5000);
    /* (The reports' timestamps are not checked here: this mock answers every Produce with a
     * LogAppendTime of 1234, which a client must report, as Java does.) */
    check_topic("rt", 5000, 6, &d, true);
    kw_producer_stats st;
    kw_producer_stats_get(p, &st);
    ck_assert_int_ge(st.producer_id, 0);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

START_TEST(test_codecs_and_acks_read_by_kcat)
{
    static const char *codecs[] = {"none", "gzip", "snappy", "lz4", "zstd"};
    static const char *acks[] = {"0", "1", "all"};
    /* Every codec with acks=all; acks 0 and 1 without compression and with zstd. */
    for (int z = 0; z < 5; z++)
        for (int a = 0; a < 3; a++) {
            if ((z > 0 && !kw_codec_available(z)) || (a < 2 && z != 0 && z != 4))
                continue;
            char topic[64], ct[64], ak[32];
            snprintf(topic, sizeof(topic), "c-%s-%s", codecs[z], acks[a]);
            snprintf(ct, sizeof(ct), "compression.type=%s", codecs[z]);
            snprintf(ak, sizeof(ak), "acks=%s", acks[a]);
            kwt_rdk_cmd(&rdk, "create %s 3 3", topic);
            const char *extra[] = {ct, ak, NULL};
            kwt_drs d;
            kwt_drs_init(&d, 500);
            kw_client *c = kwt_prod_client(rdk.bootstrap, extra);
            kw_producer *p = kwt_producer(c, &d);
            send_range(p, topic, 0, 500);
            kwt_drain(p, &d, 500);
            ck_assert_uint_eq(d.ok, 500);
            /* acks=0 reports once written: step a little so the broker has read it all
             * before the connection closes. */
            if (a == 0)
                kwt_step_for(c, 200);
            kw_producer_free(p);
            kw_client_free(c);
            check_topic(topic, 500, 3, &d, a != 0);
            /* kafka-python reads it too (Debian's lacks the lz4, snappy and zstd modules:
             * those are reported and skipped). */
            if (a == 2 && kpy_available()) {
                kcat_recs r;
                if (kpy_consume(rdk.bootstrap, topic, &r))
                    check_recs(&r, 500, 3, &d, true);
                else
                    fprintf(stderr, "NOTE: kafka-python cannot read %s here\n", codecs[z]);
            } else if (a == 2) {
                fprintf(stderr, "NOTE: kafka-python (python3-kafka) not installed\n");
            }
            kwt_drs_fini(&d);
        }
}
END_TEST

START_TEST(test_same_partitions_as_librdkafka)
{
    kwt_rdk_cmd(&rdk, "create by-kcat 7 1");
    kwt_rdk_cmd(&rdk, "create by-kwire 7 1");
    enum { N = 300 };
    char *keys[N];
    for (int i = 0; i < N; i++) {
        keys[i] = malloc(48);
        snprintf(keys[i], 48, "user-%d-%x", i, i * 2654435761u);
    }
    kcat_produce_keyed(rdk.bootstrap, "by-kcat", (const char *const *)keys, N);
    kwt_drs d;
    kwt_drs_init(&d, N);
    kw_client *c = kwt_prod_client(rdk.bootstrap, NULL);
    kw_producer *p = kwt_producer(c, &d);
    for (int i = 0; i < N; i++) {
        kw_message m;
        kw_message_init(&m);
        m.topic = "by-kwire";
        m.key = kw_slice_str(keys[i]);
        m.value = kw_slice_str(keys[i]);
        m.opaque = (void *)(uintptr_t)(i + 1);
        kw_error err;
        ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_OK);
    }
    kwt_drain(p, &d, N);
    kcat_recs a, b;
    kcat_consume(rdk.bootstrap, "by-kcat", &a);
    kcat_consume(rdk.bootstrap, "by-kwire", &b);
    ck_assert_uint_eq(a.n, N);
    ck_assert_uint_eq(b.n, N);
    int parts_used[7] = {0};
    for (size_t i = 0; i < a.n; i++) {
        size_t j = 0;
        while (j < b.n && strcmp(a.v[i].key, b.v[j].key) != 0)
            j++;
        ck_assert_msg(j < b.n, "key %s missing", a.v[i].key);
        ck_assert_msg(a.v[i].partition == b.v[j].partition, "key %s: librdkafka %d, kwire %d",
                      a.v[i].key, a.v[i].partition, b.v[j].partition);
        parts_used[a.v[i].partition] = 1;
    }
    for (int i = 0; i < 7; i++)
        ck_assert(parts_used[i]);
    kcat_recs_fini(&a);
    kcat_recs_fini(&b);
    for (int i = 0; i < N; i++)
        free(keys[i]);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

/* Streams n records in rounds, running fault(round) before each round. */
static void
stream(kw_producer *p, const char *topic, uint32_t n, int rounds, void (*fault)(int round))
{
    for (int round = 0; round < rounds; round++) {
        fault(round);
        uint32_t per = n / (uint32_t)rounds;
        send_range(p, topic, per * (uint32_t)round, per);
        kwt_step_for(kw_producer_client(p), 20);
    }
}

static void
errors_and_moves(int round)
{
    /* 6 NOT_LEADER_OR_FOLLOWER, 7 REQUEST_TIMED_OUT, 13 NETWORK_EXCEPTION,
     * 19 NOT_ENOUGH_REPLICAS: retriable; the mock answers without appending. */
    static const int codes[] = {6, 7, 13, 19};
    if (round % 2 == 0)
        kwt_rdk_cmd(&rdk, "error 0 3 %d", codes[(round / 2) % 4]);
    if (round % 5 == 4)
        for (int part = 0; part < 6; part++)
            kwt_rdk_cmd(&rdk, "leader fe %d %d", part, (part + round) % 3 + 1);
}

START_TEST(test_errors_and_leader_moves_exactly_once)
{
    kwt_rdk_cmd(&rdk, "create fe 6 3");
    kwt_drs d;
    kwt_drs_init(&d, 30000);
    const char *extra[] = {"max.in.flight.requests.per.connection=1", NULL};
    kw_client *c = kwt_prod_client(rdk.bootstrap, extra);
    kw_producer *p = kwt_producer(c, &d);
    stream(p, "fe", 30000, 20, errors_and_moves);
    kwt_drain(p, &d, 30000);
    ck_assert_msg(d.ok == 30000, "%zu failed: %s", d.failed, d.last_msg);
    kw_producer_stats st;
    kw_producer_stats_get(p, &st);
    ck_assert_uint_gt(st.retries, 0);
    check_topic("fe", 30000, 6, &d, true);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

static kw_producer *bd_producer;

static void
down_up(int round)
{
    /* A broker goes down between rounds once the loop is quiet (nothing in flight), then
     * records queue for it while the others take theirs, then it is back. */
    if (round == 4 || round == 12) {
        kw_error err;
        ck_assert_int_eq(kw_producer_flush(bd_producer, 30000, &err), KW_ERR_OK);
    }
    if (round == 4)
        kwt_rdk_cmd(&rdk, "down 2");
    if (round == 9)
        kwt_rdk_cmd(&rdk, "up 2");
    if (round == 12)
        kwt_rdk_cmd(&rdk, "down 3");
    if (round == 13)
        for (int part = 0; part < 6; part++)
            kwt_rdk_cmd(&rdk, "leader bd %d %d", part, part % 2 + 1);
    if (round == 16)
        kwt_rdk_cmd(&rdk, "up 3");
}

START_TEST(test_broker_down_and_up_no_loss)
{
    kwt_rdk_cmd(&rdk, "create bd 6 3");
    kwt_drs d;
    kwt_drs_init(&d, 20000);
    const char *extra[] = {"max.in.flight.requests.per.connection=1", NULL};
    kw_client *c = kwt_prod_client(rdk.bootstrap, extra);
    kw_producer *p = kwt_producer(c, &d);
    bd_producer = p;
    stream(p, "bd", 20000, 20, down_up);
    kwt_drain(p, &d, 20000);
    ck_assert_msg(d.ok == 20000, "%zu failed: %s", d.failed, d.last_msg);
    check_topic("bd", 20000, 6, &d, true);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

/* Records id0.. with key "k<id>" and value "v<id>", nothing else (small, so that a million
 * fit the mock's per-partition retention). */
static void
send_small(kw_producer *p, const char *topic, uint32_t id0, uint32_t n)
{
    for (uint32_t id = id0; id < id0 + n; id++) {
        char k[16], v[16];
        snprintf(k, sizeof(k), "k%u", id);
        snprintf(v, sizeof(v), "v%u", id);
        kw_message m;
        kw_message_init(&m);
        m.topic = topic;
        m.key = kw_slice_str(k);
        m.value = kw_slice_str(v);
        m.opaque = (void *)(uintptr_t)(id + 1);
        for (int64_t end = kwt_mono_ms() + KWT_PROD_DEADLINE_MS;;) {
            kw_error err;
            kw_err e = kw_producer_send(p, &m, &err);
            if (e == KW_ERR_OK)
                break;
            ck_assert_msg(e == KW_ERR_QUEUE_FULL, "send: %s", err.msg);
            ck_assert(kwt_mono_ms() < end);
            kw_client_step(kw_producer_client(p), 10, NULL);
        }
    }
}

START_TEST(test_million_with_faults_exactly_once)
{
    enum { N = 1000000, PARTS = 32, ROUNDS = 40 };
    int64_t tc = kwt_mono_ms();
    kwt_rdk_cmd(&rdk, "create big %d 3", PARTS);
    if (getenv("KWT_TIMES"))
        fprintf(stderr, "created in %lld ms\n", (long long)(kwt_mono_ms() - tc));
    kwt_drs d;
    kwt_drs_init(&d, N);
    const char *extra[] = {"max.in.flight.requests.per.connection=1", "linger.ms=5",
                           "batch.size=65536", NULL};
    kw_client *c = kwt_prod_client(rdk.bootstrap, extra);
    kw_producer *p = kwt_producer(c, &d);
    static const int codes[] = {6, 7, 13, 19};
    int64_t t0 = kwt_mono_ms();
    for (int round = 0; round < ROUNDS; round++) {
        if (round % 4 == 1)
            kwt_rdk_cmd(&rdk, "error 0 2 %d", codes[(round / 4) % 4]);
        if (round % 10 == 5)
            for (int part = 0; part < PARTS; part += 5)
                kwt_rdk_cmd(&rdk, "leader big %d %d", part, (part + round) % 3 + 1);
        send_small(p, "big", (uint32_t)(N / ROUNDS * round), N / ROUNDS);
        kw_client_step(c, 0, NULL);
    }
    kwt_drain(p, &d, N);
    int64_t t1 = kwt_mono_ms();
    ck_assert_msg(d.ok == N, "%zu failed: %s", d.failed, d.last_msg);
    kcat_recs r;
    kcat_consume(rdk.bootstrap, "big", &r);
    int64_t t2 = kwt_mono_ms();
    if (getenv("KWT_TIMES")) {
        kw_producer_stats st;
        kw_producer_stats_get(p, &st);
        fprintf(stderr,
                "produce %lld ms, kcat %lld ms; %llu requests, %llu batches, %llu "
                "retries\n",
                (long long)(t1 - t0), (long long)(t2 - t1), (unsigned long long)st.requests,
                (unsigned long long)st.batches, (unsigned long long)st.retries);
    }
    ck_assert_uint_eq(r.n, N);
    uint8_t *seen = calloc(N, 1);
    long last[PARTS];
    for (int i = 0; i < PARTS; i++)
        last[i] = -1;
    for (size_t i = 0; i < r.n; i++) {
        long id = atol(r.v[i].value + 1);
        KWT_CHECK(id >= 0 && id < N, "v%ld", id);
        KWT_CHECK(!seen[id], "v%ld read twice", id);
        seen[id] = 1;
        int32_t part = r.v[i].partition;
        KWT_CHECK(id > last[part], "partition %d: v%ld after v%ld", part, id, last[part]);
        last[part] = id;
        KWT_CHECK(d.v[id].partition == part, "v%ld: reported partition", id);
        KWT_CHECK(d.v[id].offset == r.v[i].offset, "v%ld: reported offset", id);
        KWT_CHECK(atol(r.v[i].key + 1) == id, "v%ld: key %s", id, r.v[i].key);
    }
    free(seen);
    if (getenv("KWT_TIMES"))
        fprintf(stderr, "checked after %lld ms\n", (long long)(kwt_mono_ms() - t2));
    kcat_recs_fini(&r);
    kw_producer_free(p);
    kw_client_free(c);
    kwt_drs_fini(&d);
    if (getenv("KWT_TIMES"))
        fprintf(stderr, "freed after %lld ms\n", (long long)(kwt_mono_ms() - t2));
}
END_TEST

Suite *
kw_test_suite(void)
{
    kcat_require();
    Suite *s = suite_create("producer_rdk");
    TCase *tc = tcase_create("rdk");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_roundtrip_read_by_kcat);
    tcase_add_test(tc, test_codecs_and_acks_read_by_kcat);
    tcase_add_test(tc, test_same_partitions_as_librdkafka);
    tcase_add_test(tc, test_errors_and_leader_moves_exactly_once);
    tcase_add_test(tc, test_broker_down_and_up_no_loss);
    tcase_add_test(tc, test_million_with_faults_exactly_once);
    suite_add_tcase(s, tc);
    return s;
}
