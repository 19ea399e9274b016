/* Consumer groups with the KIP-848 consumer protocol (group.protocol=consumer) against an
 * in-process kwire-mock: join and server-side assignment, a second member taking half
 * (revoke before assign, incremental callbacks), leave, the remote assignor, and commits with
 * the member epoch (OffsetCommit v9+). */
#include <stdio.h>
#include <string.h>

#include "cg_util.h"

#define TOPIC "k8"

typedef struct bal {
    cgt_member **v;
    int n, total, each;
} bal;

static bool
balanced(void *ud)
{
    bal *t = ud;
    return cgt_balanced(t->v, t->n, t->total, t->each);
}

static bool
ledger_full(void *ud)
{
    return cgt_ledger_missing(ud) == 0;
}

static void
run_join_split_leave(const char *assignor)
{
    kw_mock *mk = cgt_mock(2, TOPIC, 6);
    cgt_mock_produce(mk, TOPIC, 6, 0, 120);
    cgt_ledger l;
    cgt_ledger_init(&l, 120);
    char ra[64];
    snprintf(ra, sizeof(ra), "group.remote.assignor=%s", assignor);
    const char *const extra[] = {"group.protocol=consumer", ra, "auto.commit.interval.ms=200",
                                 NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "k1", TOPIC, &l, extra);
    cgt_member *v[2] = {a, NULL};
    bal one = {v, 1, 6, 6};
    cgt_until(v, 1, balanced, &one, "a owning all six");
    cgt_until(v, 1, ledger_full, &l, "a consuming everything");
    ck_assert_int_ge(kw_consumer_generation(a->k), 1); /* the member epoch */
    ck_assert_int_eq(a->ev[0].kind, KW_REBALANCE_ASSIGNED);
    ck_assert_str_eq(a->ev[0].spec, TOPIC ":0,1,2,3,4,5");

    v[1] = cgt_member_new("b", kw_mock_bootstrap(mk), "k1", TOPIC, &l, extra);
    bal both = {v, 2, 6, 3};
    cgt_until(v, 2, balanced, &both, "a 3/3 split");
    cgt_poll_for(v, 2, 300);
    /* a revoked exactly three partitions, once, and never lost any. */
    int revoked = 0;
    for (int i = 1; i < a->n_ev; i++) {
        ck_assert_int_ne(a->ev[i].kind, KW_REBALANCE_LOST);
        if (a->ev[i].kind == KW_REBALANCE_REVOKED) {
            revoked++;
            int commas = 0;
            for (const char *p = a->ev[i].spec; *p; p++)
                commas += *p == ',';
            ck_assert_msg(commas == 2, "revoked %s", a->ev[i].spec);
        }
    }
    ck_assert_int_eq(revoked, 1);
    /* b consumed nothing again: a's auto-commit before the revocation covered it all. */
    ck_assert_uint_eq(l.dups, 0);
    /* A manual commit carries the member epoch (the mock checks it exactly). */
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_consumer_commit(a->k, NULL, 0, 20000, &err) == KW_ERR_OK, "%s", err.msg);

    /* b leaves (epoch -1): a gets all six back. */
    cgt_member_close(v[1]);
    v[1] = NULL;
    cgt_until(v, 1, balanced, &one, "a owning all six again");
    cgt_member_close(a);
    cgt_ledger_fini(&l);
    kw_mock_free(mk);
}

START_TEST(test_kip848_uniform)
{
    run_join_split_leave("uniform");
}
END_TEST

START_TEST(test_kip848_range)
{
    run_join_split_leave("range");
}
END_TEST

/* A member that crashes (no leave heartbeat) is fenced when its session ends; the survivor
 * then owns everything, and what the crashed member consumed but had not committed comes
 * again (at-least-once), nothing is skipped. */
START_TEST(test_kip848_crash)
{
    kw_mock *mk = cgt_mock(1, TOPIC, 4);
    cgt_ledger l;
    cgt_ledger_init(&l, 80);
    static const char *const extra[] = {"group.protocol=consumer", "enable.auto.commit=false",
                                        NULL};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "k2", TOPIC, &l, extra);
    cgt_member *b = cgt_member_new("b", kw_mock_bootstrap(mk), "k2", TOPIC, &l, extra);
    cgt_member *v[2] = {a, b};
    bal both = {v, 2, 4, 2};
    cgt_until(v, 2, balanced, &both, "a 2/2 split");
    cgt_mock_produce(mk, TOPIC, 4, 0, 80);
    cgt_until(v, 2, ledger_full, &l, "everything consumed");
    uint64_t b_consumed = b->consumed;
    cgt_member_crash(b);
    v[1] = NULL;
    bal one = {v, 1, 4, 4};
    cgt_until(v, 1, balanced, &one, "a owning all four after b's session ended");
    cgt_poll_for(v, 1, 500);
    /* b committed nothing: a consumed b's share again. */
    ck_assert_uint_eq(l.dups, b_consumed);
    cgt_member_close(a);
    cgt_ledger_fini(&l);
    kw_mock_free(mk);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("cgroup_kip848");
    TCase *tc = tcase_create("kip848");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_kip848_uniform);
    tcase_add_test(tc, test_kip848_range);
    tcase_add_test(tc, test_kip848_crash);
    suite_add_tcase(s, tc);
    return s;
}
