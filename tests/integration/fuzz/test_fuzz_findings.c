/* Regression tests for what the whole-client fuzzer (fuzz/fuzz_client.c) found, each against an
 * in-process kwire-mock so that the outcome is asserted end to end; the inputs that found them
 * are in fuzz/corpus/fuzz_client/ as well.
 *
 *   kip848_unsupported  a member with group.protocol=consumer whose coordinator does not offer
 *                       ConsumerGroupHeartbeat (a broker before Kafka 4.0, or with the new
 *                       protocol disabled) rediscovered the coordinator forever and never
 *                       told the application. It must fail with a clear error instead, as
 *                       Java's consumer does (UnsupportedVersionException). Found by
 *                       seed-old-16 (a KIP-848 member against the generator's legacy broker).
 *   auto_commit_bounded a coordinator that does not answer OffsetCommit for a while made the
 *                       consumer queue one more auto-commit every auto.commit.interval.ms,
 *                       without bound: memory that grows for as long as the coordinator is
 *                       slow or gone. Found replaying seed-old-18 in a build without lz4 (the
 *                       recorded answers no longer match the requests, the broker falls
 *                       silent): 26 auto-commits were canceled at the leave after 20 s of
 *                       virtual time. At most one waits now.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../support/mockfix.h"
#include "kwire/consumer.h"
#include "kwire/mock.h"
#include "kwire/mock_control.h"

#define TOPIC "ff"

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int commits_seen;

static void
count_commit(kw_consumer *k, kw_err err, const kw_error *detail, const kw_topic_partition *offsets,
             size_t n, void *ud)
{
    (void)k, (void)err, (void)detail, (void)offsets, (void)n, (void)ud;
    commits_seen++;
    if (getenv("FF_DEBUG"))
        fprintf(stderr, "%lld commit %s %s\n", (long long)mono_ms(), kw_err_name(err), detail->msg);
}

/* Polls for `ms` of real time; returns the messages (not errors) handed out. */
static int
poll_for(kw_consumer *k, int64_t ms)
{
    int got = 0;
    int64_t end = mono_ms() + ms;
    while (mono_ms() < end) {
        kw_consumer_msg *m[16];
        size_t n = 0;
        kw_error err;
        kw_error_init(&err);
        kw_consumer_poll(k, m, 16, 50, &n, &err);
        for (size_t i = 0; i < n; i++)
            got += m[i]->err == KW_ERR_OK;
        kw_consumer_msgs_release(m, n);
    }
    return got;
}

START_TEST(test_auto_commit_bounded)
{
    kwt_fx_mock_opts mo;
    kwt_fx_mock_opts_init(&mo);
    mo.topic = TOPIC;
    mo.partitions = 1;
    mo.groups.initial_rebalance_delay_ms = 0;
    kw_mock *mk = kwt_fx_mock(&mo);
    for (int i = 0; i < 10; i++)
        kwt_fx_append(mk, TOPIC, 0, NULL, "v", -1);
    const char *const extra[] = {"group.id=ff-auto", "auto.offset.reset=earliest",
                                 "enable.auto.commit=true", "auto.commit.interval.ms=50", NULL};
    kw_client *c = kwt_fx_client(kwt_fx_conf(NULL, kw_mock_bootstrap(mk), NULL, extra), NULL);
    kw_consumer_opts o;
    kw_consumer_opts_init(&o);
    o.on_commit = count_commit;
    kw_consumer *k = kwt_fx_consumer(c, &o);
    const char *topics[] = {TOPIC};
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_consumer_subscribe(k, topics, 1, &err), KW_ERR_OK);
    int got = 0;
    int64_t end = mono_ms() + 60000;
    while (got < 10 && mono_ms() < end)
        got += poll_for(k, 100);
    ck_assert_int_eq(got, 10);

    /* Every answer now takes 1.5 s. Over 4.5 s of ticks every 50 ms, one auto-commit waits at
     * a time; before the fix one more queued at every tick. Then the consumer closes at once
     * (no more ticks): whatever is still queued is answered or canceled, each with a callback.
     * So the callbacks count the auto-commits made: about four now, about ninety before
     * (measured). A slower machine only gives fewer. */
    ck_assert_int_eq(kw_mock_broker_rtt(mk, 0, 1500), KW_ERR_OK);
    poll_for(k, 200); /* an auto-commit sent before the delay may still be answered at once */
    commits_seen = 0;
    poll_for(k, 4500);
    ck_assert_int_eq(kw_mock_broker_rtt(mk, 0, 0), KW_ERR_OK);
    kw_consumer_close(k, 10000, &err);
    ck_assert_msg(commits_seen >= 1 && commits_seen <= 8,
                  "%d auto-commits for 4.5 s of a coordinator answering in 1.5 s", commits_seen);
    kw_consumer_free(k);
    kw_client_free(c);
    kw_mock_free(mk);
}
END_TEST

START_TEST(test_kip848_unsupported)
{
    kwt_fx_mock_opts mo;
    kwt_fx_mock_opts_init(&mo);
    mo.topic = TOPIC;
    mo.partitions = 2;
    kw_mock *mk = kwt_fx_mock(&mo);
    /* Hidden: not advertised, and a request for it would close the connection. */
    ck_assert_int_eq(kw_mock_api_versions_set(mk, 68, -1, -1), KW_ERR_OK);
    const char *const extra[] = {"group.id=ff-group",          "group.protocol=consumer",
                                 "retry.backoff.ms=20",        "retry.backoff.max.ms=100",
                                 "reconnect.backoff.ms=20",    "reconnect.backoff.max.ms=100",
                                 "auto.offset.reset=earliest", NULL};
    kw_client *c = kwt_fx_client(kwt_fx_conf(NULL, kw_mock_bootstrap(mk), NULL, extra), NULL);
    kw_consumer *k = kwt_fx_consumer(c, NULL);
    const char *topics[] = {TOPIC};
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_consumer_subscribe(k, topics, 1, &err), KW_ERR_OK);

    /* Before the fix no poll ever failed: the member looked up the coordinator, could not send
     * its heartbeat, dropped the coordinator and started over, silently. The bound is only
     * there so that a regression fails instead of hanging; the error comes after one
     * coordinator lookup. */
    kw_err got = KW_ERR_OK;
    int64_t end = mono_ms() + 60000;
    while (got == KW_ERR_OK && mono_ms() < end) {
        kw_consumer_msg *m[8];
        size_t n = 0;
        kw_error_init(&err);
        got = kw_consumer_poll(k, m, 8, 100, &n, &err);
        kw_consumer_msgs_release(m, n);
    }
    ck_assert_msg(got == KW_ERR_UNSUPPORTED_VERSION, "poll: %s %s", kw_err_name(got), err.msg);
    ck_assert_msg(strstr(err.msg, "ConsumerGroupHeartbeat") &&
                      strstr(err.msg, "group.protocol=classic"),
                  "the error does not name the cause and the way out: %s", err.msg);
    ck_assert(err.fatal);

    kw_consumer_close(k, 1000, &err);
    kw_consumer_free(k);
    kw_client_free(c);
    kw_mock_free(mk);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("fuzz_findings");
    TCase *tc = tcase_create("findings");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_kip848_unsupported);
    tcase_add_test(tc, test_auto_commit_bounded);
    suite_add_tcase(s, tc);
    return s;
}
