/* The consumer against librdkafka's mock cluster (3 brokers, an independent broker
 * implementation): 100,000 records written by kwire's producer over 6 partitions, read back by
 * a manual-assignment consumer while the cluster moves leaders, fails Fetch requests
 * (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, NETWORK_EXCEPTION, FENCED_LEADER_EPOCH)
 * and takes a broker down and up: every record arrives exactly once, in order per partition, at
 * the offset the producer was told. A second test reads legacy message sets (magic 1, plain
 * and gzip-compressed) that kcat writes with an old protocol version. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "kwire/codec.h"
#include "../../unit/consumer/cons_util.h"
#include "kcat_util.h"
#include "rdk_launch.h"

static kwt_rdk rdk;

static void
setup(void)
{
    kwt_rdk_start(&rdk, 3);
}

static void
teardown(void)
{
    kwt_rdk_stop(&rdk);
}

START_TEST(test_100k_with_faults_exactly_once)
{
    enum { N = 100000, PARTS = 6 };
    kwt_rdk_cmd(&rdk, "create c100k %d 3", PARTS);
    kwt_drs d;
    kwt_drs_init(&d, N);
    /* One request per partition in flight: librdkafka's mock does not check sequences, so
     * this keeps the written order the sent order (see test_producer_rdk.c). */
    const char *pextra[] = {"max.in.flight.requests.per.connection=1", "linger.ms=5", NULL};
    kw_client *pc = kwt_prod_client(rdk.bootstrap, pextra);
    kw_producer *p = kwt_producer(pc, &d);
    for (uint32_t id = 0; id < N; id++)
        kwt_send(p, "c100k", (int32_t)(id % PARTS), id, true);
    kwt_drain(p, &d, N);
    ck_assert_uint_eq(d.ok, N);
    kw_producer_free(p);
    kw_client_free(pc);

    kw_client *c = kwt_prod_client(rdk.bootstrap, NULL);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign_all(k, "c100k", PARTS, KW_OFFSET_BEGINNING);
    kwt_got g;
    kwt_got_init(&g);
    static const int codes[] = {6, 3, 13, 74};
    int round = 0;
    while (g.n < N) {
        size_t want = N - g.n < 5000 ? N - g.n : 5000;
        ck_assert_uint_eq(kwt_poll_until(k, &g, want, 500, KWT_CONS_DEADLINE_MS), want);
        switch (round % 4) {
        case 0:
            kwt_rdk_cmd(&rdk, "error 1 3 %d", codes[(round / 4) % 4]);
            break;
        case 1:
            for (int part = 0; part < PARTS; part++)
                kwt_rdk_cmd(&rdk, "leader c100k %d %d", part, (part + round) % 3 + 1);
            break;
        case 2:
            /* The mock keeps a down broker as leader: consume what the others lead while it
             * is away (its connections fail), then bring it back. */
            kwt_rdk_cmd(&rdk, "down %d", round % 3 + 1);
            kwt_poll_for(k, &g, 500);
            kwt_rdk_cmd(&rdk, "up %d", round % 3 + 1);
            break;
        default:
            kwt_rdk_cmd(&rdk, "error 1 2 %d", codes[(round / 4 + 1) % 4]);
            break;
        }
        round++;
    }
    for (int b = 1; b <= 3; b++)
        kwt_rdk_cmd(&rdk, "up %d", b);
    ck_assert_uint_eq(kwt_poll_for(k, &g, 300), 0);
    ck_assert_uint_eq(g.errors, 0);
    uint8_t *seen = calloc(N, 1);
    long last[PARTS];
    int64_t next[PARTS];
    for (int i = 0; i < PARTS; i++)
        last[i] = -1, next[i] = 0;
    for (size_t i = 0; i < g.n; i++) {
        const kwt_msg *m = &g.v[i];
        long id = atol(m->value + 1);
        KWT_CHECK(id >= 0 && id < N, "v%ld", id);
        KWT_CHECK(!seen[id], "v%ld handed out twice", id);
        seen[id] = 1;
        int32_t part = m->partition;
        KWT_CHECK(part == id % PARTS, "v%ld in partition %d", id, part);
        KWT_CHECK(id > last[part], "partition %d: v%ld after v%ld", part, id, last[part]);
        last[part] = id;
        KWT_CHECK(m->offset == next[part], "partition %d: offset %lld, want %lld", part,
                  (long long)m->offset, (long long)next[part]);
        next[part]++;
        KWT_CHECK(d.v[id].offset == m->offset, "v%ld: offset %lld, producer said %lld", id,
                  (long long)m->offset, (long long)d.v[id].offset);
        KWT_CHECK(atol(m->key + 1) == id, "v%ld: key %s", id, m->key);
    }
    free(seen);
    kw_consumer_stats st;
    kw_consumer_stats_get(k, &st);
    fprintf(stderr, "100k: %d fault rounds, %llu fetches, %llu fetch errors\n", round,
            (unsigned long long)st.fetch_requests, (unsigned long long)st.fetch_errors);
    ck_assert_uint_eq(st.records, N);
    ck_assert_uint_ge(st.fetch_errors, 1);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
    kwt_drs_fini(&d);
}
END_TEST

/* kcat with an old protocol (no ApiVersions, 0.10.0 fallback) writes magic-1 message sets. */
static void
kcat_legacy_produce(const char *topic, const char *codec, int first, int n)
{
    char path[] = "/tmp/kwt-legacy-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    for (int i = first; i < first + n; i++)
        fprintf(f, "k%d:v%d\n", i, i);
    fclose(f);
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "kcat -P -b %s -t %s -p 0 -K: -z %s -X api.version.request=false "
             "-X broker.version.fallback=0.10.0 -X linger.ms=50 < %s",
             rdk.bootstrap, topic, codec, path);
    int rc = system(cmd);
    unlink(path);
    ck_assert_msg(WIFEXITED(rc) && WEXITSTATUS(rc) == 0, "kcat failed: %s", cmd);
}

START_TEST(test_legacy_message_sets_from_kcat)
{
    if (!kw_codec_available(KW_CODEC_GZIP)) {
        fprintf(stderr, "SKIP: test_legacy_message_sets_from_kcat: gzip is not built in\n");
        return;
    }
    kwt_rdk_cmd(&rdk, "create legacy 1 1");
    kcat_legacy_produce("legacy", "none", 0, 50);
    kcat_legacy_produce("legacy", "gzip", 50, 50);
    kw_client *c = kwt_prod_client(rdk.bootstrap, NULL);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign1(k, "legacy", 0, 20);
    kwt_got g;
    kwt_got_init(&g);
    ck_assert_uint_eq(kwt_poll_until(k, &g, 80, 100, KWT_CONS_DEADLINE_MS), 80);
    ck_assert_uint_eq(g.errors, 0);
    for (int i = 0; i < 80; i++) {
        char kk[16], vv[16];
        snprintf(kk, sizeof(kk), "k%d", 20 + i);
        snprintf(vv, sizeof(vv), "v%d", 20 + i);
        ck_assert_int_eq(g.v[i].offset, 20 + i);
        ck_assert_str_eq(g.v[i].key, kk);
        ck_assert_str_eq(g.v[i].value, vv);
        ck_assert_int_eq(g.v[i].ts_type, KW_TIMESTAMP_CREATE_TIME);
        ck_assert_int_gt(g.v[i].ts, 0);
    }
    ck_assert_uint_eq(kwt_poll_for(k, &g, 200), 0);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

Suite *
kw_test_suite(void)
{
    kcat_require();
    Suite *s = suite_create("consumer_rdk");
    TCase *tc = tcase_create("rdk");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_100k_with_faults_exactly_once);
    tcase_add_test(tc, test_legacy_message_sets_from_kcat);
    suite_add_tcase(s, tc);
    return s;
}
