/* Consumer groups wired into the consumer, classic protocol, against an in-process kwire-mock
 * (its own thread, real time, short group timeouts): subscribe, consume, commit and resume;
 * each assignor splitting partitions between two members; cooperative-sticky keeping what does
 * not move; the order and content of rebalance callbacks; a commit inside the revoke callback
 * reaching the coordinator before the rejoin; max.poll.interval.ms; static membership. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cg_util.h"

#define TOPIC "cg"

typedef struct two {
    cgt_member **v;
    int n, total, each;
} two;

static bool
balanced(void *ud)
{
    two *t = ud;
    return cgt_balanced(t->v, t->n, t->total, t->each);
}

typedef struct all_in {
    cgt_ledger *l;
} all_in;

static bool
ledger_full(void *ud)
{
    cgt_ledger *l = ud;
    return cgt_ledger_missing(l) == 0;
}

static int64_t
committed(kw_mock *mk, const char *group, int32_t p)
{
    int64_t off = -1;
    if (kw_mock_committed_offset(mk, group, TOPIC, p, &off, NULL) != KW_ERR_OK)
        return -1;
    return off;
}

typedef struct async_result {
    int calls;
    kw_err err;
    size_t n;
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
    r->n = n;
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(offsets[i].err, KW_ERR_OK);
}

static bool
async_done(void *ud)
{
    return ((async_result *)ud)->calls > 0;
}

/* Subscribe, consume everything, commit synchronously (what was handed out), close; a new
 * member of the group resumes at the committed offsets: it gets exactly the new messages. */
START_TEST(test_consume_commit_restart)
{
    kw_mock *mk = cgt_mock(3, TOPIC, 4);
    cgt_mock_produce(mk, TOPIC, 4, 0, 200);
    cgt_ledger l;
    cgt_ledger_init(&l, 260);
    l.n_ids = 200; /* the first member must get the first 200 */
    static const char *const manual[] = {"enable.auto.commit=false", NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "g1", TOPIC, &l, manual);
    cgt_member *v[] = {a};
    cgt_until(v, 1, ledger_full, &l, "the first 200 messages");
    ck_assert_uint_eq(l.dups, 0);
    kw_error err;
    kw_error_init(&err);
    /* An asynchronous commit of explicit offsets with metadata: the callback reports it once,
     * inside a later step, with per-partition results. */
    kw_topic_partition mine[2] = {
        {.topic = TOPIC, .partition = 0, .offset = 10, .leader_epoch = -1, .metadata = "m0"},
        {.topic = TOPIC, .partition = 1, .offset = 20, .leader_epoch = -1, .metadata = "m1"}};
    async_result ar = {0};
    ck_assert_msg(kw_consumer_commit_async(a->k, mine, 2, on_async, &ar, &err) == KW_ERR_OK, "%s",
                  err.msg);
    ck_assert_int_eq(ar.calls, 0);
    cgt_until(v, 1, async_done, &ar, "the asynchronous commit's callback");
    ck_assert_int_eq(ar.calls, 1);
    ck_assert_int_eq(ar.err, KW_ERR_OK);
    ck_assert_uint_eq(ar.n, 2);
    ck_assert_int_eq(committed(mk, "g1", 0), 10);
    ck_assert_int_eq(committed(mk, "g1", 1), 20);
    /* A synchronous commit of everything consumed (what was handed out). */
    ck_assert_msg(kw_consumer_commit(a->k, NULL, 0, 20000, &err) == KW_ERR_OK, "%s", err.msg);
    for (int32_t p = 0; p < 4; p++)
        ck_assert_int_eq(committed(mk, "g1", p), 50);
    /* committed() reads what the coordinator stored, through OffsetFetch. */
    kw_topic_partition q[4];
    for (int32_t p = 0; p < 4; p++)
        q[p] = (kw_topic_partition){.topic = TOPIC, .partition = p, .offset = -1};
    ck_assert_msg(kw_consumer_committed(a->k, q, 4, 20000, &err) == KW_ERR_OK, "%s", err.msg);
    for (int32_t p = 0; p < 4; p++)
        ck_assert_int_eq(q[p].offset, 50);
    ck_assert_int_eq(a->n_ev, 1);
    ck_assert_int_eq(a->ev[0].kind, KW_REBALANCE_ASSIGNED);
    ck_assert_str_eq(a->ev[0].spec, TOPIC ":0,1,2,3");
    cgt_member_close(a);

    cgt_mock_produce(mk, TOPIC, 4, 200, 60);
    l.n_ids = 260;
    cgt_member *b = cgt_member_new("b", kw_mock_bootstrap(mk), "g1", TOPIC, &l, manual);
    cgt_member *w[] = {b};
    cgt_until(w, 1, ledger_full, &l, "the 60 new messages");
    cgt_poll_for(w, 1, 300);
    ck_assert_uint_eq(b->consumed, 60); /* resumed at 50 per partition, nothing again */
    ck_assert_uint_eq(l.dups, 0);
    cgt_member_close(b);
    cgt_ledger_fini(&l);
    kw_mock_free(mk);
}
END_TEST

/* Two members split six partitions 3/3 with each assignor, and every message is consumed
 * once (auto-commit on, nothing redelivered when the second member takes partitions over:
 * the pre-rebalance commit covers what was handed out). */
static const char *const assignors[] = {"range", "roundrobin", "cooperative-sticky"};

START_TEST(test_assignors_split)
{
    kw_mock *mk = cgt_mock(2, TOPIC, 6);
    cgt_mock_produce(mk, TOPIC, 6, 0, 300);
    cgt_ledger l;
    cgt_ledger_init(&l, 300);
    char strat[96];
    snprintf(strat, sizeof(strat), "partition.assignment.strategy=%s", assignors[_i]);
    const char *const extra[] = {strat, "auto.commit.interval.ms=200", NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "g2", TOPIC, &l, extra);
    cgt_member *v[2] = {a, NULL};
    two one = {v, 1, 6, 6};
    cgt_until(v, 1, balanced, &one, "the first member owning all six");
    cgt_poll_for(v, 1, 200);
    v[1] = cgt_member_new("b", kw_mock_bootstrap(mk), "g2", TOPIC, &l, extra);
    two both = {v, 2, 6, 3};
    cgt_until(v, 2, balanced, &both, "a 3/3 split");
    cgt_until(v, 2, ledger_full, &l, "every message");
    cgt_poll_for(v, 2, 500);
    /* At-least-once: duplicates only for records handed out after the last commit of a
     * partition that moved; with the pre-rebalance commit there are none here. */
    ck_assert_msg(l.dups == 0, "%s: %llu duplicates", assignors[_i], (unsigned long long)l.dups);
    cgt_member_close(v[1]);
    cgt_member_close(a);
    cgt_ledger_fini(&l);
    kw_mock_free(mk);
}
END_TEST

/* Cooperative-sticky (KIP-429): when the second member joins, the first is told to give up
 * only the partitions that move; it never revokes or loses the three it keeps, and its
 * callbacks are incremental. */
START_TEST(test_cooperative_keeps)
{
    kw_mock *mk = cgt_mock(1, TOPIC, 6);
    static const char *const extra[] = {"partition.assignment.strategy=cooperative-sticky", NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "g3", TOPIC, NULL, extra);
    cgt_member *v[2] = {a, NULL};
    two one = {v, 1, 6, 6};
    cgt_until(v, 1, balanced, &one, "the first member owning all six");
    v[1] = cgt_member_new("b", kw_mock_bootstrap(mk), "g3", TOPIC, NULL, extra);
    two both = {v, 2, 6, 3};
    cgt_until(v, 2, balanced, &both, "a 3/3 split");
    cgt_poll_for(v, 2, 300);
    char kept[512];
    cgt_assigned(a, kept, sizeof(kept));
    ck_assert_int_eq(a->ev[0].kind, KW_REBALANCE_ASSIGNED);
    ck_assert_str_eq(a->ev[0].spec, TOPIC ":0,1,2,3,4,5");
    int revoked = 0;
    for (int i = 1; i < a->n_ev; i++) {
        ck_assert_msg(a->ev[i].kind != KW_REBALANCE_LOST, "a lost partitions: %s", a->ev[i].spec);
        if (a->ev[i].kind != KW_REBALANCE_REVOKED)
            continue;
        revoked++;
        /* Only moved partitions: none of what a still owns. */
        const char *list = strchr(a->ev[i].spec, ':');
        ck_assert_ptr_nonnull(list);
        for (const char *p = list + 1; *p;) {
            int part = atoi(p);
            char needle[16];
            snprintf(needle, sizeof(needle), "%d", part);
            const char *kl = strchr(kept, ':') + 1;
            for (const char *q = kl; *q;) {
                ck_assert_msg(atoi(q) != part, "kept partition %d was revoked", part);
                q = strchr(q, ',') ? strchr(q, ',') + 1 : q + strlen(q);
            }
            p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p);
        }
        ck_assert_int_eq((int)strlen(a->ev[i].spec) > 0, 1);
    }
    ck_assert_int_eq(revoked, 1);
    /* b's first callback lists nothing (the moving partitions were still owned), a later one
     * its three. */
    char bspec[512];
    cgt_assigned(v[1], bspec, sizeof(bspec));
    bool got = false;
    for (int i = 0; i < v[1]->n_ev; i++)
        got |= v[1]->ev[i].kind == KW_REBALANCE_ASSIGNED && strcmp(v[1]->ev[i].spec, bspec) == 0;
    ck_assert_msg(got, "b's assigned callbacks do not name %s", bspec);
    cgt_member_close(v[1]);
    cgt_member_close(a);
    kw_mock_free(mk);
}
END_TEST

/* Eager (range): a alone gets ASSIGNED(all); when b joins, a sees REVOKED(all) and then
 * ASSIGNED(its half), in that order, generations increasing. Closing b gives a REVOKED(half)
 * then ASSIGNED(all). */
START_TEST(test_callbacks_eager_order)
{
    kw_mock *mk = cgt_mock(1, TOPIC, 4);
    static const char *const extra[] = {"partition.assignment.strategy=range", NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "g4", TOPIC, NULL, extra);
    cgt_member *v[2] = {a, NULL};
    two one = {v, 1, 4, 4};
    cgt_until(v, 1, balanced, &one, "a owning all four");
    v[1] = cgt_member_new("b", kw_mock_bootstrap(mk), "g4", TOPIC, NULL, extra);
    two both = {v, 2, 4, 2};
    cgt_until(v, 2, balanced, &both, "a 2/2 split");
    cgt_poll_for(v, 2, 200);
    ck_assert_int_eq(a->n_ev, 3);
    ck_assert_int_eq(a->ev[0].kind, KW_REBALANCE_ASSIGNED);
    ck_assert_str_eq(a->ev[0].spec, TOPIC ":0,1,2,3");
    ck_assert_int_eq(a->ev[1].kind, KW_REBALANCE_REVOKED);
    ck_assert_str_eq(a->ev[1].spec, TOPIC ":0,1,2,3");
    ck_assert_int_eq(a->ev[2].kind, KW_REBALANCE_ASSIGNED);
    ck_assert_int_gt(a->ev[2].generation, a->ev[0].generation);
    /* Range over members sorted by id: each gets two consecutive partitions. */
    ck_assert_msg(strcmp(a->ev[2].spec, TOPIC ":0,1") == 0 ||
                      strcmp(a->ev[2].spec, TOPIC ":2,3") == 0,
                  "a got %s", a->ev[2].spec);
    ck_assert_int_eq(v[1]->n_ev, 1);
    ck_assert_int_eq(v[1]->ev[0].kind, KW_REBALANCE_ASSIGNED);
    cgt_member_close(v[1]);
    v[1] = NULL;
    cgt_until(v, 1, balanced, &one, "a owning all four again");
    cgt_poll_for(v, 1, 300); /* the callback comes with the poll after the assignment */
    ck_assert_int_eq(a->n_ev, 5);
    ck_assert_int_eq(a->ev[3].kind, KW_REBALANCE_REVOKED);
    ck_assert_str_eq(a->ev[3].spec, a->ev[2].spec);
    ck_assert_int_eq(a->ev[4].kind, KW_REBALANCE_ASSIGNED);
    ck_assert_str_eq(a->ev[4].spec, TOPIC ":0,1,2,3");
    cgt_member_close(a);
    kw_mock_free(mk);
}
END_TEST

/* A synchronous commit inside the revoke callback succeeds: it reached the coordinator with
 * the old generation before the JoinGroup that ends it (a commit after the rejoin would get
 * ILLEGAL_GENERATION or REBALANCE_IN_PROGRESS). The offsets are stored with their metadata,
 * and the member that takes the partitions over starts exactly there. */
START_TEST(test_commit_in_revoke)
{
    kw_mock *mk = cgt_mock(1, TOPIC, 4);
    cgt_mock_produce(mk, TOPIC, 4, 0, 400);
    cgt_ledger l;
    cgt_ledger_init(&l, 400);
    static const char *const extra[] = {"enable.auto.commit=false",
                                        "partition.assignment.strategy=range", NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "g5", TOPIC, &l, extra);
    a->commit_in_revoke = true;
    cgt_member *v[2] = {a, NULL};
    cgt_until(v, 1, ledger_full, &l, "a consuming everything");
    v[1] = cgt_member_new("b", kw_mock_bootstrap(mk), "g5", TOPIC, &l, extra);
    v[1]->commit_in_revoke = true;
    two both = {v, 2, 4, 2};
    cgt_until(v, 2, balanced, &both, "a 2/2 split");
    cgt_poll_for(v, 2, 300);
    ck_assert_int_ge(a->revoke_commits, 1);
    ck_assert_msg(a->revoke_commit_fails == 0, "commit in revoke failed: %s", a->last_revoke_err);
    for (int32_t p = 0; p < 4; p++)
        ck_assert_int_eq(committed(mk, "g5", p), 100);
    /* b started at the committed offsets: it consumed nothing again. */
    ck_assert_uint_eq(v[1]->consumed, 0);
    ck_assert_uint_eq(l.dups, 0);
    kw_topic_partition q = {.topic = TOPIC, .partition = 0, .offset = -1};
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_consumer_committed(a->k, &q, 1, 20000, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(q.offset, 100);
    cgt_member_close(v[1]);
    cgt_member_close(a);
    cgt_ledger_fini(&l);
    kw_mock_free(mk);
}
END_TEST

/* max.poll.interval.ms: the loop keeps running (the client is stepped) but the application
 * stops polling; the member leaves, the other member takes every partition; when the
 * application polls again it gets LOST, rejoins, and the group splits again. */
START_TEST(test_max_poll_interval)
{
    kw_mock *mk = cgt_mock(1, TOPIC, 4);
    static const char *const extra[] = {"max.poll.interval.ms=1500", "session.timeout.ms=1200",
                                        "heartbeat.interval.ms=300",
                                        "partition.assignment.strategy=range", NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "g6", TOPIC, NULL, extra);
    cgt_member *b = cgt_member_new("b", kw_mock_bootstrap(mk), "g6", TOPIC, NULL, extra);
    cgt_member *v[2] = {a, b};
    two both = {v, 2, 4, 2};
    cgt_until(v, 2, balanced, &both, "a 2/2 split");
    cgt_poll_for(v, 2, 300);
    int a_before = a->n_ev;
    /* a's loop runs without polls for longer than max.poll.interval.ms; b polls. */
    int64_t end = cgt_now_ms() + 3000;
    cgt_member *only_b[1] = {b};
    while (cgt_now_ms() < end) {
        kw_client_step(a->c, 5, NULL);
        cgt_poll_round(only_b, 1, 5);
    }
    ck_assert_int_eq(kw_consumer_generation(a->k), -1);
    cgt_member *bv[2] = {b, NULL};
    two one = {bv, 1, 4, 4};
    cgt_until(only_b, 1, balanced, &one, "b owning all four");
    /* a polls again: LOST first, then it rejoins. */
    cgt_until(v, 2, balanced, &both, "a 2/2 split after a polled again");
    cgt_poll_for(v, 2, 300);
    ck_assert_int_gt(a->n_ev, a_before);
    ck_assert_int_eq(a->ev[a_before].kind, KW_REBALANCE_LOST);
    ck_assert_int_eq(a->ev[a->n_ev - 1].kind, KW_REBALANCE_ASSIGNED);
    cgt_member_close(b);
    cgt_member_close(a);
    kw_mock_free(mk);
}
END_TEST

/* Static membership (KIP-345): a static member that crashes and comes back with the same
 * group.instance.id within the session timeout gets its partitions back without the other
 * member noticing a rebalance. */
START_TEST(test_static_rejoin)
{
    kw_mock *mk = cgt_mock(1, TOPIC, 4);
    static const char *const sa[] = {"group.instance.id=inst-a",
                                     "partition.assignment.strategy=range", NULL};
    static const char *const sb[] = {"group.instance.id=inst-b",
                                     "partition.assignment.strategy=range", NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "g7", TOPIC, NULL, sa);
    cgt_member *b = cgt_member_new("b", kw_mock_bootstrap(mk), "g7", TOPIC, NULL, sb);
    cgt_member *v[2] = {a, b};
    two both = {v, 2, 4, 2};
    cgt_until(v, 2, balanced, &both, "a 2/2 split");
    cgt_poll_for(v, 2, 300);
    char before[512];
    cgt_assigned(a, before, sizeof(before));
    int b_ev = b->n_ev;
    cgt_member_crash(a);
    v[0] = cgt_member_new("a2", kw_mock_bootstrap(mk), "g7", TOPIC, NULL, sa);
    cgt_until(v, 2, balanced, &both, "the static member back");
    cgt_poll_for(v, 2, 1000);
    char after[512];
    cgt_assigned(v[0], after, sizeof(after));
    ck_assert_str_eq(after, before);
    ck_assert_int_eq(b->n_ev, b_ev); /* b saw no rebalance */
    cgt_member_close(b);
    cgt_member_close(v[0]);
    kw_mock_free(mk);
}
END_TEST

/* The group's coordinator moves to another broker (NOT_COORDINATOR on the old one, parked
 * requests answered at once): the members find the new one over a new coordinator
 * connection, keep their partitions (no LOST), go on consuming, and commit there. */
START_TEST(test_coordinator_moves)
{
    kw_mock *mk = cgt_mock(3, TOPIC, 4);
    cgt_ledger l;
    cgt_ledger_init(&l, 200);
    l.n_ids = 100;
    cgt_mock_produce(mk, TOPIC, 4, 0, 100);
    static const char *const extra[] = {"enable.auto.commit=false",
                                        "partition.assignment.strategy=range", NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "g8", TOPIC, &l, extra);
    cgt_member *b = cgt_member_new("b", kw_mock_bootstrap(mk), "g8", TOPIC, &l, extra);
    cgt_member *v[2] = {a, b};
    two both = {v, 2, 4, 2};
    cgt_until(v, 2, balanced, &both, "a 2/2 split");
    cgt_until(v, 2, ledger_full, &l, "the first 100 messages");
    int32_t old = kw_mock_coordinator(mk, KW_MOCK_COORD_GROUP, "g8");
    int32_t moved = old % 3 + 1;
    ck_assert_int_eq(kw_mock_coordinator_set(mk, KW_MOCK_COORD_GROUP, "g8", moved), KW_ERR_OK);
    int a_ev = a->n_ev, b_ev = b->n_ev;
    cgt_mock_produce(mk, TOPIC, 4, 100, 100);
    l.n_ids = 200;
    cgt_until(v, 2, ledger_full, &l, "100 more after the coordinator moved");
    /* Commits go to the new coordinator. One may first fail with the retriable
     * NOT_COORDINATOR from the old one, which makes the member look the coordinator up. */
    for (int i = 0; i < 2; i++) {
        kw_error err;
        kw_error_init(&err);
        int64_t end = cgt_now_ms() + CGT_DEADLINE_MS;
        kw_err e;
        while ((e = kw_consumer_commit(v[i]->k, NULL, 0, 5000, &err)) != KW_ERR_OK &&
               cgt_now_ms() < end) {
            ck_assert_msg(err.retriable || e == KW_ERR_TIMED_OUT, "%s", err.msg);
            cgt_poll_round(v, 2, 10);
        }
        ck_assert_msg(e == KW_ERR_OK, "commit after the move: %s", err.msg);
    }
    for (int32_t p = 0; p < 4; p++)
        ck_assert_int_eq(committed(mk, "g8", p), 50);
    ck_assert_uint_eq(l.dups, 0);
    for (int i = a_ev; i < a->n_ev; i++)
        ck_assert_int_ne(a->ev[i].kind, KW_REBALANCE_LOST);
    for (int i = b_ev; i < b->n_ev; i++)
        ck_assert_int_ne(b->ev[i].kind, KW_REBALANCE_LOST);
    cgt_member_close(b);
    cgt_member_close(a);
    cgt_ledger_fini(&l);
    kw_mock_free(mk);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("cgroup_classic");
    TCase *tc = tcase_create("classic");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_consume_commit_restart);
    tcase_add_loop_test(tc, test_assignors_split, 0, 3);
    tcase_add_test(tc, test_cooperative_keeps);
    tcase_add_test(tc, test_callbacks_eager_order);
    tcase_add_test(tc, test_commit_in_revoke);
    tcase_add_test(tc, test_max_poll_interval);
    tcase_add_test(tc, test_static_rejoin);
    tcase_add_test(tc, test_coordinator_moves);
    suite_add_tcase(s, tc);
    return s;
}
