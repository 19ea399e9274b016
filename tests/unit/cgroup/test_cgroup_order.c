/* The rebalance callbacks' ordering guarantee (kwire/consumer.h), against an in-process
 * kwire-mock: no record of a partition is handed out before the ASSIGNED callback that gives
 * it has returned, nor after the REVOKED or LOST callback that takes it has started. Members
 * join and leave one after another while records keep arriving, with the eager (range) and
 * cooperative-sticky classic protocols and KIP-848, auto-commit on, and the client driven by
 * the polling thread or by the kwire thread. Every record is checked against what the
 * member's callbacks said it owns at that moment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cg_util.h"

#define TOPIC "ord"
#define PARTS 6

typedef struct owner {
    bool owned[PARTS];
    uint64_t checked, assigned_cbs;
} owner;

static void
track(cgt_member *m, kw_rebalance_kind kind, const kw_topic_partition *parts, size_t n)
{
    owner *o = m->ud;
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(parts[i].topic, TOPIC);
        ck_assert_int_lt(parts[i].partition, PARTS);
        o->owned[parts[i].partition] = kind == KW_REBALANCE_ASSIGNED;
    }
    o->assigned_cbs += kind == KW_REBALANCE_ASSIGNED;
}

/* One poll of each member; every record must belong to a partition its callbacks own. */
static void
round_checked(cgt_member **v, int n)
{
    for (int i = 0; i < n; i++) {
        if (!v[i])
            continue;
        kw_consumer_msg *msgs[256];
        size_t got = 0;
        kw_error err;
        kw_error_init(&err);
        kw_err e = kw_consumer_poll(v[i]->k, msgs, 256, 10, &got, &err);
        ck_assert_msg(e == KW_ERR_OK, "%s: poll: %s", v[i]->name, err.msg);
        owner *o = v[i]->ud;
        for (size_t j = 0; j < got; j++) {
            if (msgs[j]->err != KW_ERR_OK)
                continue;
            ck_assert_msg(o->owned[msgs[j]->partition],
                          "%s: a record of partition %d at offset %lld was handed out while "
                          "the callbacks did not give that partition",
                          v[i]->name, (int)msgs[j]->partition, (long long)msgs[j]->offset);
            o->checked++;
            v[i]->consumed++;
        }
        kw_consumer_msgs_release(msgs, got);
    }
}

/* Poll rounds for `ms`, appending a record to every partition each round. */
static void
run_for(kw_mock *mk, cgt_member **v, int n, int ms, size_t *next)
{
    int64_t end = cgt_now_ms() + ms;
    while (cgt_now_ms() < end) {
        cgt_mock_produce(mk, TOPIC, PARTS, *next, PARTS);
        *next += PARTS;
        round_checked(v, n);
    }
}

static const char *const *
settings(int i)
{
    static const char *const eager[] = {"partition.assignment.strategy=range",
                                        "auto.commit.interval.ms=200", NULL};
    static const char *const coop[] = {"partition.assignment.strategy=cooperative-sticky",
                                       "auto.commit.interval.ms=200", NULL};
    static const char *const kip848[] = {"group.protocol=consumer", "auto.commit.interval.ms=200",
                                         NULL};
    return i % 3 == 0 ? eager : i % 3 == 1 ? coop : kip848;
}

static cgt_member *
member(kw_mock *mk, const char *name, int i, owner *o)
{
    cgt_member *m = cgt_member_new(name, kw_mock_bootstrap(mk), "gord", NULL, NULL, settings(i));
    m->on_rebalance = track;
    m->ud = o;
    cgt_member_subscribe(m, TOPIC);
    return m;
}

static bool
has_parts(void *ud)
{
    return cgt_assigned(ud, NULL, 0) > 0;
}

typedef struct trio {
    cgt_member **v;
    int n;
} trio;

/* Every partition assigned to exactly one member: no rebalance under way. A member is closed
 * only then: a JoinGroup parked at the coordinator would hold its LeaveGroup back while the
 * other members, driven by this same thread, are not polled. */
static bool
balanced(void *ud)
{
    trio *t = ud;
    return cgt_balanced(t->v, t->n, PARTS, 0);
}

/* Runs 0-2: eager, cooperative-sticky, KIP-848 on the polling thread; 3-5: the same on the
 * kwire thread. */
START_TEST(test_no_record_outside_callbacks)
{
    cgt_use_thread = _i >= 3;
    kw_mock *mk = cgt_mock(1, TOPIC, PARTS);
    size_t next = 0;
    owner oa = {0}, ob = {0}, oc = {0};
    cgt_member *v[3] = {NULL, NULL, NULL};
    v[0] = member(mk, "a", _i, &oa);
    run_for(mk, v, 3, 200, &next);
    v[1] = member(mk, "b", _i, &ob);
    run_for(mk, v, 3, 200, &next);
    v[2] = member(mk, "c", _i, &oc);
    cgt_until(v, 3, has_parts, v[2], "c receiving partitions");
    run_for(mk, v, 3, 500, &next);
    trio all = {v, 3};
    cgt_until(v, 3, balanced, &all, "a settled group of three");
    cgt_member_close(v[1]);
    v[1] = NULL;
    run_for(mk, v, 3, 500, &next);
    cgt_until(v, 3, balanced, &all, "a settled group of two");
    cgt_member_close(v[2]);
    v[2] = NULL;
    run_for(mk, v, 3, 300, &next);
    ck_assert_uint_gt(oa.checked, 0);
    ck_assert_uint_gt(oc.checked, 0);
    ck_assert_uint_gt(oa.assigned_cbs, 1);
    cgt_member_close(v[0]);
    cgt_use_thread = false;
    kw_mock_free(mk);
}
END_TEST

/* A slow REVOKED callback (a synchronous commit, then more work) on the kwire thread: the
 * rebalance completes while it runs and gives back some of the revoked partitions. After the
 * callback the consumer must own exactly what the ASSIGNED callback said (unassigning the
 * revoked partitions must not drop the ones assigned again meanwhile), and every record is
 * consumed. */
static void
slow_revoke(cgt_member *m, kw_rebalance_kind kind, const kw_topic_partition *parts, size_t n)
{
    track(m, kind, parts, n);
    if (kind != KW_REBALANCE_REVOKED || n == 0)
        return;
    int64_t end = cgt_now_ms() + 1500;
    while (cgt_now_ms() < end) {
        struct timespec ts = {0, 10 * 1000000};
        nanosleep(&ts, NULL);
    }
}

typedef struct settle {
    cgt_member **v;
    owner *o[2];
} settle;

/* Both members own, in the consumer, what their callbacks say, and together all PARTS. */
static bool
settled(void *ud)
{
    settle *s = ud;
    int total = 0;
    for (int i = 0; i < 2; i++) {
        kw_partition_list l;
        memset(&l, 0, sizeof(l));
        ck_assert_int_eq(kw_consumer_assignment(s->v[i]->k, &l, NULL), KW_ERR_OK);
        int cb = 0;
        for (int p = 0; p < PARTS; p++)
            cb += s->o[i]->owned[p];
        bool same = (int)l.n == cb;
        for (size_t j = 0; j < l.n; j++)
            same = same && s->o[i]->owned[l.items[j].partition];
        total += (int)l.n;
        kw_partition_list_free(&l);
        if (!same || cb == 0)
            return false;
    }
    return total == PARTS;
}

START_TEST(test_reassigned_during_revoke)
{
    cgt_use_thread = true;
    kw_mock *mk = cgt_mock(1, TOPIC, PARTS);
    static const char *const extra[] = {"partition.assignment.strategy=range",
                                        "enable.auto.commit=false", NULL};
    owner oa = {0}, ob = {0};
    cgt_member *a = cgt_member_new("a", kw_mock_bootstrap(mk), "gslow", NULL, NULL, extra);
    a->on_rebalance = slow_revoke;
    a->ud = &oa;
    a->commit_in_revoke = true;
    cgt_member_subscribe(a, TOPIC);
    cgt_member *v[2] = {a, NULL};
    size_t next = 0;
    run_for(mk, v, 2, 300, &next);
    cgt_until(v, 1, has_parts, a, "a receiving partitions");
    cgt_member *b = cgt_member_new("b", kw_mock_bootstrap(mk), "gslow", NULL, NULL, extra);
    b->on_rebalance = track;
    b->ud = &ob;
    cgt_member_subscribe(b, TOPIC);
    v[1] = b;
    settle st = {v, {&oa, &ob}};
    int64_t end = cgt_now_ms() + CGT_DEADLINE_MS;
    while (!settled(&st)) {
        ck_assert_msg(cgt_now_ms() < end, "the consumers never owned what their callbacks said");
        cgt_mock_produce(mk, TOPIC, PARTS, next, PARTS);
        next += PARTS;
        round_checked(v, 2);
    }
    ck_assert_int_eq(a->revoke_commit_fails, 0);
    cgt_member_close(b);
    cgt_member_close(a);
    cgt_use_thread = false;
    kw_mock_free(mk);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("cgroup_order");
    TCase *tc = tcase_create("order");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_no_record_outside_callbacks, 0, 6);
    tcase_add_test(tc, test_reassigned_during_revoke);
    suite_add_tcase(s, tc);
    return s;
}
