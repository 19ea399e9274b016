/* Manual assignment with a group.id, against an in-process kwire-mock: commits go to the
 * group coordinator as a "simple" consumer group's (generation -1, no member id), for both
 * group.protocol settings; committed() reads them back through OffsetFetch; a second consumer
 * assigned with KW_OFFSET_STORED starts at the committed offsets; enable.auto.commit commits
 * periodically and on close; a coordinator move is followed (the synchronous commit retries
 * within its timeout). Also: a group member's fatal error reaches kw_consumer_poll. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_util.h"

#define TOPIC "man"

static int64_t
committed(kw_mock *mk, const char *group, int32_t p)
{
    int64_t off = -1;
    if (kw_mock_committed_offset(mk, group, TOPIC, p, &off, NULL) != KW_ERR_OK)
        return -1;
    return off;
}

static bool
ledger_full(void *ud)
{
    return cgt_ledger_missing(ud) == 0;
}

static void
assign_all(cgt_member *m, int64_t offset)
{
    kw_topic_partition tp[4];
    for (int32_t p = 0; p < 4; p++)
        tp[p] = (kw_topic_partition){
            .topic = TOPIC, .partition = p, .offset = offset, .leader_epoch = -1};
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_consumer_assign(m->k, tp, 4, &err) == KW_ERR_OK, "assign: %s", err.msg);
}

typedef struct async_result {
    int calls;
    kw_err err;
    int64_t offsets[4];
} async_result;

static void
on_async(kw_consumer *k, kw_err err, const kw_error *detail, const kw_topic_partition *offsets,
         size_t n, void *ud)
{
    (void)k;
    (void)detail;
    async_result *r = ud;
    r->calls++;
    r->err = err;
    for (size_t i = 0; i < n; i++)
        if (offsets[i].partition >= 0 && offsets[i].partition < 4)
            r->offsets[offsets[i].partition] = offsets[i].offset;
}

static bool
async_done(void *ud)
{
    return ((async_result *)ud)->calls > 0;
}

static const char *const protocols[] = {"group.protocol=classic", "group.protocol=consumer"};

/* Consume everything by manual assignment, commit it (sync, async with metadata), read it
 * back with committed() sync and async; a second consumer resumes at the committed offsets
 * and gets exactly the new messages. */
START_TEST(test_manual_commit)
{
    kw_mock *mk = cgt_mock(3, TOPIC, 4);
    cgt_mock_produce(mk, TOPIC, 4, 0, 200);
    cgt_ledger l;
    cgt_ledger_init(&l, 260);
    l.n_ids = 200;
    const char *const extra[] = {"enable.auto.commit=false", protocols[_i], NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "gm", NULL, &l, extra);
    assign_all(a, KW_OFFSET_BEGINNING);
    cgt_member *v[] = {a};
    cgt_until(v, 1, ledger_full, &l, "200 messages by manual assignment");
    kw_error err;
    kw_error_init(&err);
    kw_topic_partition mine = {
        .topic = TOPIC, .partition = 2, .offset = 7, .leader_epoch = -1, .metadata = "seven"};
    async_result ar = {0};
    ck_assert_msg(kw_consumer_commit_async(a->k, &mine, 1, on_async, &ar, &err) == KW_ERR_OK,
                  "commit_async: %s", err.msg);
    cgt_until(v, 1, async_done, &ar, "the asynchronous commit");
    ck_assert_int_eq(ar.err, KW_ERR_OK);
    ck_assert_int_eq(committed(mk, "gm", 2), 7);
    /* Everything handed out: 50 per partition. */
    ck_assert_msg(kw_consumer_commit(a->k, NULL, 0, 20000, &err) == KW_ERR_OK, "commit: %s",
                  err.msg);
    for (int32_t p = 0; p < 4; p++)
        ck_assert_int_eq(committed(mk, "gm", p), 50);
    kw_topic_partition q[4];
    for (int32_t p = 0; p < 4; p++)
        q[p] = (kw_topic_partition){.topic = TOPIC, .partition = p, .offset = -1};
    ck_assert_msg(kw_consumer_committed(a->k, q, 4, 20000, &err) == KW_ERR_OK, "committed: %s",
                  err.msg);
    for (int32_t p = 0; p < 4; p++) {
        ck_assert_int_eq(q[p].offset, 50);
        ck_assert_int_eq(q[p].err, KW_ERR_OK);
    }
    async_result fr = {0};
    ck_assert_msg(kw_consumer_committed_async(a->k, q, 4, on_async, &fr, &err) == KW_ERR_OK, "%s",
                  err.msg);
    cgt_until(v, 1, async_done, &fr, "committed_async");
    ck_assert_int_eq(fr.err, KW_ERR_OK);
    for (int32_t p = 0; p < 4; p++)
        ck_assert_int_eq(fr.offsets[p], 50);
    ck_assert_int_eq(a->n_ev, 0); /* no group membership: no rebalance callback */
    ck_assert_int_eq(kw_consumer_generation(a->k), -1);
    cgt_member_close(a);

    cgt_mock_produce(mk, TOPIC, 4, 200, 60);
    l.n_ids = 260;
    cgt_member *b = cgt_member_new("b", kw_mock_bootstrap(mk), "gm", NULL, &l, extra);
    assign_all(b, KW_OFFSET_STORED);
    cgt_member *w[] = {b};
    cgt_until(w, 1, ledger_full, &l, "the 60 new messages from the committed offsets");
    cgt_poll_for(w, 1, 300);
    ck_assert_uint_eq(b->consumed, 60);
    ck_assert_uint_eq(l.dups, 0);
    cgt_member_close(b);
    cgt_ledger_fini(&l);
    kw_mock_free(mk);
}
END_TEST

typedef struct at_least {
    kw_mock *mk;
    int64_t want;
    const cgt_member *m; /* and its on_commit reported an auto-commit */
} at_least;

/* The mock stores a commit before the member reads the answer: wait for both. */
static bool
all_committed(void *ud)
{
    at_least *a = ud;
    for (int32_t p = 0; p < 4; p++)
        if (committed(a->mk, "ga", p) != a->want)
            return false;
    return a->m->auto_commits > 0;
}

/* enable.auto.commit with a manual assignment: the periodic commit stores what was handed
 * out, and close commits the rest. */
START_TEST(test_manual_auto_commit)
{
    kw_mock *mk = cgt_mock(1, TOPIC, 4);
    cgt_mock_produce(mk, TOPIC, 4, 0, 200);
    cgt_ledger l;
    cgt_ledger_init(&l, 220);
    l.n_ids = 200;
    const char *const extra[] = {"enable.auto.commit=true", "auto.commit.interval.ms=100",
                                 protocols[_i], NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "ga", NULL, &l, extra);
    assign_all(a, KW_OFFSET_BEGINNING);
    cgt_member *v[] = {a};
    cgt_until(v, 1, ledger_full, &l, "200 messages");
    at_least al = {mk, 50, a};
    cgt_until(v, 1, all_committed, &al, "the auto-commit of 50 per partition");
    ck_assert_int_gt(a->auto_commits, 0);
    ck_assert_int_eq(a->auto_commit_fails, 0);
    cgt_mock_produce(mk, TOPIC, 4, 200, 20);
    l.n_ids = 220;
    cgt_until(v, 1, ledger_full, &l, "20 more");
    cgt_member_close(a); /* commits 55 per partition whatever the timer did */
    for (int32_t p = 0; p < 4; p++)
        ck_assert_int_eq(committed(mk, "ga", p), 55);
    cgt_ledger_fini(&l);
    kw_mock_free(mk);
}
END_TEST

/* The group's coordinator moves: the next synchronous commit may meet NOT_COORDINATOR at the
 * old one; it looks the coordinator up again and retries there within its timeout. */
START_TEST(test_manual_coordinator_moves)
{
    kw_mock *mk = cgt_mock(3, TOPIC, 4);
    cgt_mock_produce(mk, TOPIC, 4, 0, 40);
    cgt_ledger l;
    cgt_ledger_init(&l, 40);
    const char *const extra[] = {"enable.auto.commit=false", protocols[_i], NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "gc", NULL, &l, extra);
    assign_all(a, KW_OFFSET_BEGINNING);
    cgt_member *v[] = {a};
    cgt_until(v, 1, ledger_full, &l, "40 messages");
    kw_error err;
    kw_error_init(&err);
    kw_topic_partition tp = {.topic = TOPIC, .partition = 0, .offset = 3, .leader_epoch = -1};
    ck_assert_msg(kw_consumer_commit(a->k, &tp, 1, 20000, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(committed(mk, "gc", 0), 3);
    for (int round = 1; round <= 3; round++) {
        int32_t old = kw_mock_coordinator(mk, KW_MOCK_COORD_GROUP, "gc");
        ck_assert_int_gt(old, 0);
        ck_assert_int_eq(kw_mock_coordinator_set(mk, KW_MOCK_COORD_GROUP, "gc", old % 3 + 1),
                         KW_ERR_OK);
        tp.offset = 3 + round;
        ck_assert_msg(kw_consumer_commit(a->k, &tp, 1, 20000, &err) == KW_ERR_OK,
                      "commit after move %d: %s", round, err.msg);
        ck_assert_int_eq(committed(mk, "gc", 0), 3 + round);
        kw_topic_partition q = {.topic = TOPIC, .partition = 0, .offset = -1};
        ck_assert_msg(kw_consumer_committed(a->k, &q, 1, 20000, &err) == KW_ERR_OK, "%s", err.msg);
        ck_assert_int_eq(q.offset, 3 + round);
    }
    cgt_member_close(a);
    cgt_ledger_fini(&l);
    kw_mock_free(mk);
}
END_TEST

/* A subscribed member that fails for good (GROUP_AUTHORIZATION_FAILED on its JoinGroup or
 * KIP-848 heartbeat) stops: kw_consumer_poll says so with the member's error, marked fatal,
 * on every call; synchronous group calls fail with KW_ERR_STATE. */
START_TEST(test_fatal_reported_by_poll)
{
    kw_mock *mk = cgt_mock(1, TOPIC, 4);
    int16_t code = 30;
    int16_t api = _i == 0 ? 11 : 68; /* JoinGroup, ConsumerGroupHeartbeat */
    ck_assert_int_eq(kw_mock_fault_errors(mk, 1, api, &code, 1), KW_ERR_OK);
    const char *const extra[] = {protocols[_i], NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "gf", TOPIC, NULL, extra);
    kw_error err;
    kw_error_init(&err);
    kw_err e = KW_ERR_OK;
    int64_t end = cgt_now_ms() + CGT_DEADLINE_MS;
    while (e == KW_ERR_OK && cgt_now_ms() < end) {
        kw_consumer_msg *msgs[16];
        size_t n = 0;
        e = kw_consumer_poll(a->k, msgs, 16, 50, &n, &err);
        kw_consumer_msgs_release(msgs, n);
    }
    ck_assert_int_eq(e, KW_ERR_BROKER);
    ck_assert_int_eq(err.broker_code, 30);
    ck_assert(err.fatal);
    ck_assert_msg(strstr(err.msg, "GROUP_AUTHORIZATION_FAILED") != NULL, "%s", err.msg);
    /* Again on the next poll, and synchronous group calls fail. */
    kw_error_init(&err);
    size_t n = 0;
    ck_assert_int_eq(kw_consumer_poll(a->k, NULL, 0, 0, &n, &err), KW_ERR_BROKER);
    ck_assert(err.fatal);
    kw_topic_partition q = {.topic = TOPIC, .partition = 0, .offset = -1};
    ck_assert_int_eq(kw_consumer_committed(a->k, &q, 1, 1000, &err), KW_ERR_STATE);
    ck_assert_int_eq(kw_consumer_close(a->k, 5000, &err), KW_ERR_OK);
    kw_consumer_free(a->k);
    kw_client_free(a->c);
    free(a);
    kw_mock_free(mk);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("cgroup_manual");
    TCase *tc = tcase_create("manual");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_manual_commit, 0, 2);
    tcase_add_loop_test(tc, test_manual_auto_commit, 0, 2);
    tcase_add_loop_test(tc, test_manual_coordinator_moves, 0, 2);
    tcase_add_loop_test(tc, test_fatal_reported_by_poll, 0, 2);
    suite_add_tcase(s, tc);
    return s;
}
