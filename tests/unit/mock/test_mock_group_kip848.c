/* kwire-mock's group coordinator, KIP-848 consumer protocol: members joining and reconciling
 * to a balanced assignment with revocation before reassignment (no partition ever has two
 * owners), epochs and fencing (FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID, session and rebalance
 * timeouts on the virtual clock), leaving (-1) and static members (-2, replacement,
 * UNRELEASED_INSTANCE_ID), regular expressions, request validation, ConsumerGroupDescribe,
 * offsets of consumer groups, and the classic/consumer boundary. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group_util.h"

#define MAXP 32

/* A set of topic partitions as a member reports or receives it. */
typedef struct tps {
    int n;
    kw_uuid t[MAXP];
    int32_t p[MAXP];
} tps;

typedef struct hb {
    const char *group, *member, *instance, *regex, *assignor;
    int32_t epoch, rebalance_ms;
    const char *topics[4];
    int n_topics;     /* -1: null (unchanged) */
    const tps *owned; /* NULL: null */
} hb;

typedef struct hb_res {
    int16_t error;
    char msg[160];
    char member_id[64];
    int32_t epoch, interval;
    bool has_assignment;
    tps a;
} hb_res;

static hb
hb_join(const char *group, const char *member, const char *topic)
{
    static const tps none = {0};
    hb h = {group, member, NULL, NULL, NULL, 0, 30000, {topic}, 1, &none};
    return h;
}

static hb_res
beat(mc *c, int16_t ver, const hb *h)
{
    kw_slice names[4];
    for (int i = 0; i < h->n_topics; i++)
        names[i] = kw_slice_str(h->topics[i]);
    kw_consumer_group_heartbeat_topic_partitions tp[MAXP];
    int32_t parts[MAXP];
    int32_t ntp = 0;
    if (h->owned)
        for (int i = 0; i < h->owned->n; i++) {
            /* one entry per partition: the coordinator must merge them */
            parts[i] = h->owned->p[i];
            tp[ntp] = (kw_consumer_group_heartbeat_topic_partitions){
                h->owned->t[i], &parts[i], 1, {NULL, 0}};
            ntp++;
        }
    kw_consumer_group_heartbeat_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.group_id = kw_slice_str(h->group);
    rq.member_id = kw_slice_str(h->member);
    rq.member_epoch = h->epoch;
    rq.instance_id = h->instance ? kw_slice_str(h->instance) : KW_SLICE_NULL;
    rq.rack_id = KW_SLICE_NULL;
    rq.rebalance_timeout_ms = h->rebalance_ms;
    rq.subscribed_topic_names = h->n_topics >= 0 ? names : NULL;
    rq.n_subscribed_topic_names = h->n_topics;
    rq.subscribed_topic_regex = h->regex ? kw_slice_str(h->regex) : KW_SLICE_NULL;
    rq.server_assignor = h->assignor ? kw_slice_str(h->assignor) : KW_SLICE_NULL;
    rq.topic_partitions = h->owned ? tp : NULL;
    rq.n_topic_partitions = h->owned ? ntp : -1;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_consumer_group_heartbeat_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_consumer_group_heartbeat_req, &kw_msg_consumer_group_heartbeat_resp, ver,
            &rq, &ar, &r, &f);
    hb_res o;
    memset(&o, 0, sizeof(o));
    o.error = r.error_code;
    snprintf(o.msg, sizeof(o.msg), "%.*s", (int)(r.error_message.len > 0 ? r.error_message.len : 0),
             (const char *)r.error_message.ptr);
    snprintf(o.member_id, sizeof(o.member_id), "%.*s",
             (int)(r.member_id.len > 0 ? r.member_id.len : 0), (const char *)r.member_id.ptr);
    o.epoch = r.member_epoch;
    o.interval = r.heartbeat_interval_ms;
    o.has_assignment = r.has_assignment;
    for (int32_t i = 0; r.has_assignment && i < r.assignment.n_topic_partitions; i++)
        for (int32_t k = 0; k < r.assignment.topic_partitions[i].n_partitions; k++) {
            ck_assert_int_lt(o.a.n, MAXP);
            o.a.t[o.a.n] = r.assignment.topic_partitions[i].topic_id;
            o.a.p[o.a.n++] = r.assignment.topic_partitions[i].partitions[k];
        }
    free(f);
    kw_arena_fini(&ar);
    return o;
}

static bool
tps_has(const tps *s, const kw_uuid *t, int32_t p)
{
    for (int i = 0; i < s->n; i++)
        if (s->p[i] == p && memcmp(&s->t[i], t, sizeof(*t)) == 0)
            return true;
    return false;
}

static bool
tps_disjoint(const tps *a, const tps *b)
{
    for (int i = 0; i < a->n; i++)
        if (tps_has(b, &a->t[i], a->p[i]))
            return false;
    return true;
}

/* A steady member: heartbeats with its epoch and what it owns (its last assignment), as Java's
 * consumer does once it has reconciled. */
typedef struct member {
    char id[64];
    int32_t epoch;
    tps owns;
} member;

static hb_res
tick(mc *c, const char *group, member *mb)
{
    hb h = {group, mb->id, NULL, NULL, NULL, mb->epoch, -1, {NULL}, -1, &mb->owns};
    hb_res r = beat(c, 1, &h);
    ck_assert_msg(r.error == 0, "heartbeat of %s: %d %s", mb->id, r.error, r.msg);
    mb->epoch = r.epoch;
    if (r.has_assignment)
        mb->owns = r.a; /* revoke and assign at once, then report it */
    return r;
}

/* Heartbeats every member in turn until all are at the group epoch with nothing pending,
 * checking after every answer that no partition is owned by two members. */
static void
converge(mc *c, const char *group, member *mbs, int n)
{
    for (int round = 0; round < 10; round++) {
        bool done = true;
        for (int i = 0; i < n; i++) {
            int32_t before = mbs[i].epoch;
            tps had = mbs[i].owns;
            tick(c, group, &mbs[i]);
            for (int k = 0; k < n; k++)
                if (k != i)
                    ck_assert(tps_disjoint(&mbs[i].owns, &mbs[k].owns));
            done &= before == mbs[i].epoch && had.n == mbs[i].owns.n;
        }
        if (done && round > 0)
            return;
    }
    ck_abort_msg("the group did not converge");
}

/* ConsumerGroupDescribe after the three members converged: Stable at epoch 3 with each
 * member's subscription, assignment and target. */
static void
check_described(mc *c, int16_t v, const member *all, const kw_uuid *tid)
{
    kw_slice gid = kw_slice_str("k");
    kw_consumer_group_describe_req dq = {&gid, 1, true, {NULL, 0}};
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_consumer_group_describe_resp dr;
    uint8_t *f;
    mc_call(c, &kw_msg_consumer_group_describe_req, &kw_msg_consumer_group_describe_resp, v, &dq,
            &ar, &dr, &f);
    ck_assert_int_eq(dr.n_groups, 1);
    const kw_consumer_group_described_group *g = &dr.groups[0];
    ck_assert_int_eq(g->error_code, 0);
    ck_assert(kw_slice_eq(g->group_state, "Stable"));
    ck_assert_int_eq(g->group_epoch, 3);
    ck_assert_int_eq(g->assignment_epoch, 3);
    ck_assert(kw_slice_eq(g->assignor_name, "uniform"));
    ck_assert_int_ne(g->authorized_operations, INT32_MIN);
    ck_assert_int_eq(g->n_members, 3);
    for (int i = 0; i < 3; i++) {
        const kw_consumer_group_describe_member *d = &g->members[i];
        ck_assert(kw_slice_eq(d->member_id, all[i].id));
        ck_assert_int_eq(d->member_epoch, 3);
        ck_assert(kw_slice_eq(d->client_id, "kwire-test"));
        ck_assert(kw_slice_eq(d->client_host, "/127.0.0.1"));
        ck_assert_int_eq(d->n_subscribed_topic_names, 1);
        ck_assert(kw_slice_eq(d->subscribed_topic_names[0], "t"));
        ck_assert_int_eq(d->subscribed_topic_regex.len, -1);
        ck_assert_int_eq(d->assignment.n_topic_partitions, 1);
        const kw_consumer_group_describe_topic_partitions *tp = &d->assignment.topic_partitions[0];
        ck_assert(kw_slice_eq(tp->topic_name, "t"));
        ck_assert_int_eq(tp->n_partitions, 2);
        for (int k = 0; k < 2; k++)
            ck_assert(tps_has(&all[i].owns, tid, tp->partitions[k]));
        ck_assert_int_eq(d->target_assignment.topic_partitions[0].n_partitions, 2);
        if (v >= 1)
            ck_assert_int_eq(d->member_type, 1);
    }
    free(f);
    kw_arena_fini(&ar);
}

/* ---------------------------------------------------------------- reconciliation */

START_TEST(test_join_and_reconcile)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(1, &now, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 6, 1, NULL), KW_ERR_OK);
    kw_uuid tid;
    ck_assert_int_eq(kw_mock_topic_id(m, "t", &tid), KW_ERR_OK);
    mc *c = gt_coord(m, "k");
    member a = {"member-a", 0, {0}}, b = {"member-b", 0, {0}}, cm = {"member-c", 0, {0}};
    hb h = hb_join("k", a.id, "t");
    hb_res r = beat(c, 1, &h);
    ck_assert_int_eq(r.error, 0);
    ck_assert_str_eq(r.member_id, "member-a");
    ck_assert_int_eq(r.epoch, 1);
    ck_assert_int_eq(r.interval, 5000);
    ck_assert(r.has_assignment);
    ck_assert_int_eq(r.a.n, 6);
    a.epoch = r.epoch;
    a.owns = r.a;
    /* B joins: epoch 2, but everything is A's until A gives it up. */
    h = hb_join("k", b.id, "t");
    r = beat(c, 1, &h);
    ck_assert_int_eq(r.epoch, 2);
    ck_assert(r.has_assignment);
    ck_assert_int_eq(r.a.n, 0);
    b.epoch = 2;
    /* A learns its new assignment (3 kept) and stays at epoch 1 until it acknowledges. */
    hb ha = {"k", a.id, NULL, NULL, NULL, 1, -1, {NULL}, -1, &a.owns};
    r = beat(c, 1, &ha);
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(r.epoch, 1);
    ck_assert(r.has_assignment);
    ck_assert_int_eq(r.a.n, 3);
    tps kept = r.a;
    /* B asks again: still nothing, A still owns them. A repeats without revoking: no change. */
    hb hb_ = {"k", b.id, NULL, NULL, NULL, 2, -1, {NULL}, -1, &b.owns};
    r = beat(c, 1, &hb_);
    ck_assert(!r.has_assignment);
    ck_assert_int_eq(r.epoch, 2);
    r = beat(c, 1, &ha);
    ck_assert(!r.has_assignment);
    ck_assert_int_eq(r.epoch, 1);
    /* A heartbeat without TopicPartitions counts as still owning them. */
    hb hnull = {"k", a.id, NULL, NULL, NULL, 1, -1, {NULL}, -1, NULL};
    r = beat(c, 1, &hnull);
    ck_assert_int_eq(r.epoch, 1);
    /* A acknowledges the revocation: epoch 2; then B gets the rest. */
    a.owns = kept;
    r = beat(c, 1, &ha);
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(r.epoch, 2);
    ck_assert(!r.has_assignment);
    a.epoch = 2;
    r = beat(c, 1, &hb_);
    ck_assert_int_eq(r.epoch, 2);
    ck_assert(r.has_assignment);
    ck_assert_int_eq(r.a.n, 3);
    b.owns = r.a;
    ck_assert(tps_disjoint(&a.owns, &b.owns));
    /* C joins; everyone converges to 2 partitions each, never sharing one. */
    h = hb_join("k", cm.id, "t");
    r = beat(c, 1, &h);
    ck_assert_int_eq(r.epoch, 3);
    cm.epoch = r.epoch;
    cm.owns = r.a;
    member all[3] = {a, b, cm};
    converge(c, "k", all, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(all[i].epoch, 3);
        ck_assert_int_eq(all[i].owns.n, 2);
        for (int k = 0; k < all[i].owns.n; k++)
            ck_assert(memcmp(&all[i].owns.t[k], &tid, sizeof(tid)) == 0);
    }
    for (int16_t v = 0; v <= 1; v++)
        check_described(c, v, all, &tid);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- epochs, fencing */

START_TEST(test_fencing_and_timeouts)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(1, &now, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 4, 1, NULL), KW_ERR_OK);
    mc *c = gt_coord(m, "f");
    member a = {"fa", 0, {0}}, b = {"fb", 0, {0}};
    hb h = hb_join("f", a.id, "t");
    hb_res r = beat(c, 1, &h);
    a.epoch = r.epoch;
    a.owns = r.a;
    /* Epochs the coordinator does not know: fenced. Unknown members: 25. */
    hb bad = {"f", a.id, NULL, NULL, NULL, 5, -1, {NULL}, -1, NULL};
    ck_assert_int_eq(beat(c, 1, &bad).error, 110);
    bad.member = "nobody";
    bad.epoch = 1;
    ck_assert_int_eq(beat(c, 1, &bad).error, 25);
    h = hb_join("f", b.id, "t");
    r = beat(c, 1, &h);
    b.epoch = r.epoch;
    member both[2] = {a, b};
    converge(c, "f", both, 2);
    a = both[0];
    b = both[1];
    ck_assert_int_eq(a.epoch, 2);
    /* The previous epoch with partitions it still has is a lost response: accepted. */
    hb prev = {"f", a.id, NULL, NULL, NULL, 1, -1, {NULL}, -1, &a.owns};
    r = beat(c, 1, &prev);
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(r.epoch, 2);
    tps wrong = b.owns; /* not A's */
    prev.owned = &wrong;
    ck_assert_int_eq(beat(c, 1, &prev).error, 110);
    /* B goes silent: after the session timeout (45000) it is fenced and A gets everything. */
    for (int i = 0; i < 3; i++) {
        gt_advance(m, &now, 15001);
        tick(c, "f", &a);
    }
    tick(c, "f", &a);
    ck_assert_int_eq(a.owns.n, 4);
    ck_assert_int_eq(a.epoch, 3);
    hb hbb = {"f", b.id, NULL, NULL, NULL, b.epoch, -1, {NULL}, -1, &b.owns};
    ck_assert_int_eq(beat(c, 1, &hbb).error, 25);
    /* B rejoins with its id and epoch 0: a new member again. */
    h = hb_join("f", b.id, "t");
    r = beat(c, 1, &h);
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(r.epoch, 4);
    b.epoch = r.epoch;
    b.owns = r.a;
    /* A never acknowledges its revocation: after its rebalance timeout (30000) it is fenced
     * and B gets everything. A keeps its session alive meanwhile. */
    hb stubborn = {"f", a.id, NULL, NULL, NULL, a.epoch, -1, {NULL}, -1, &a.owns};
    r = beat(c, 1, &stubborn);
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(r.a.n, 2); /* told to keep 2 and revoke 2 */
    for (int i = 0; i < 2; i++) {
        gt_advance(m, &now, 14000);
        ck_assert_int_eq(beat(c, 1, &stubborn).error, 0);
    }
    gt_advance(m, &now, 2001);
    ck_assert_int_eq(beat(c, 1, &stubborn).error, 25);
    tick(c, "f", &b);
    tick(c, "f", &b);
    ck_assert_int_eq(b.owns.n, 4);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- leaving, static members */

START_TEST(test_leave_and_static_members)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(1, &now, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 4, 1, NULL), KW_ERR_OK);
    mc *c = gt_coord(m, "l");
    member a = {"la", 0, {0}}, s = {"ls-1", 0, {0}};
    hb h = hb_join("l", a.id, "t");
    hb_res r = beat(c, 1, &h);
    a.epoch = r.epoch;
    a.owns = r.a;
    h = hb_join("l", s.id, "t");
    h.instance = "inst";
    r = beat(c, 1, &h);
    s.epoch = r.epoch;
    member two[2] = {a, s};
    converge(c, "l", two, 2);
    a = two[0];
    s = two[1];
    /* A leaves (-1): the group epoch moves, the static member gets everything. */
    hb lv = {"l", a.id, NULL, NULL, NULL, -1, -1, {NULL}, -1, NULL};
    r = beat(c, 1, &lv);
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(r.epoch, -1);
    ck_assert_str_eq(r.member_id, a.id);
    ck_assert_int_eq(beat(c, 1, &lv).error, 25);
    hb hs = {"l", s.id, "inst", NULL, NULL, s.epoch, -1, {NULL}, -1, &s.owns};
    r = beat(c, 1, &hs);
    ck_assert_int_eq(r.error, 0);
    s.epoch = r.epoch;
    s.owns = r.a;
    ck_assert_int_eq(s.owns.n, 4);
    /* The static member leaves temporarily (-2): it keeps its partitions. */
    hb lv2 = {"l", s.id, "inst", NULL, NULL, -2, -1, {NULL}, -1, NULL};
    r = beat(c, 1, &lv2);
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(r.epoch, -2);
    /* Its next instance (a new member id) takes over at once, with the same partitions. */
    h = hb_join("l", "ls-2", "t");
    h.instance = "inst";
    r = beat(c, 1, &h);
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(r.epoch, s.epoch);
    ck_assert_int_eq(r.a.n, 4);
    /* A third instance while ls-2 is active: UNRELEASED_INSTANCE_ID. The old id: fenced. */
    h.member = "ls-3";
    ck_assert_int_eq(beat(c, 1, &h).error, 111);
    hs.epoch = r.epoch;
    ck_assert_int_eq(beat(c, 1, &hs).error, 82);
    /* -2 without an instance id is invalid; so are other negative epochs. */
    hb inv = {"l", "ls-2", NULL, NULL, NULL, -2, -1, {NULL}, -1, NULL};
    ck_assert_int_eq(beat(c, 1, &inv).error, 42);
    inv.epoch = -3;
    ck_assert_int_eq(beat(c, 1, &inv).error, 42);
    /* The static member's session ends while away: it is gone. */
    lv2.member = "ls-2";
    ck_assert_int_eq(beat(c, 1, &lv2).epoch, -2);
    gt_advance(m, &now, 45001);
    hb back = {"l", "ls-2", "inst", NULL, NULL, s.epoch, -1, {NULL}, -1, NULL};
    ck_assert_int_eq(beat(c, 1, &back).error, 25);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- regex, validation, assignors */

START_TEST(test_regex_and_validation)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(2, &now, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t-1", 2, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "t-2", 2, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "xt-9", 1, 1, NULL), KW_ERR_OK);
    mc *c = gt_coord(m, "rx");
    /* A whole-name match (t-\d), RE2 shorthand included; "xt-9" does not match. */
    hb h = {"rx", "r1", NULL, "t-\\d", NULL, 0, 30000, {NULL}, -1, NULL};
    static const tps none = {0};
    h.owned = &none;
    hb_res r = beat(c, 1, &h);
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(r.a.n, 4);
    int32_t e1 = r.epoch;
    /* A new matching topic is picked up at the next heartbeat (a new group epoch). */
    ck_assert_int_eq(kw_mock_topic_create(m, "t-3", 1, 1, NULL), KW_ERR_OK);
    hb again = {"rx", "r1", NULL, NULL, NULL, e1, -1, {NULL}, -1, &r.a};
    r = beat(c, 1, &again);
    ck_assert_int_eq(r.epoch, e1 + 1);
    ck_assert_int_eq(r.a.n, 5);
    tps some = r.a;
    kw_slice gid = kw_slice_str("rx");
    kw_consumer_group_describe_req dq = {&gid, 1, false, {NULL, 0}};
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_consumer_group_describe_resp dr;
    uint8_t *f;
    mc_call(c, &kw_msg_consumer_group_describe_req, &kw_msg_consumer_group_describe_resp, 1, &dq,
            &ar, &dr, &f);
    ck_assert(kw_slice_eq(dr.groups[0].members[0].subscribed_topic_regex, "t-\\d"));
    ck_assert_int_eq(dr.groups[0].members[0].n_subscribed_topic_names, 0);
    ck_assert_int_eq(dr.groups[0].members[0].assignment.n_topic_partitions, 3);
    ck_assert_int_eq(dr.groups[0].authorized_operations, INT32_MIN);
    free(f);
    kw_arena_fini(&ar);
    /* Invalid expressions, assignors and requests. */
    hb j = {"rx", "r2", NULL, "(?i)t", NULL, 0, 30000, {NULL}, -1, &none};
    ck_assert_int_eq(beat(c, 1, &j).error, 128);
    j.regex = "t-[";
    ck_assert_int_eq(beat(c, 1, &j).error, 128);
    j = hb_join("rx", "r2", "t-1");
    j.assignor = "sticky";
    r = beat(c, 1, &j);
    ck_assert_int_eq(r.error, 112);
    ck_assert_int_gt(strlen(r.msg), 0);
    j = hb_join("rx", "", "t-1");
    ck_assert_int_eq(beat(c, 1, &j).error, 42); /* v1 needs a member id */
    j = hb_join("rx", "r2", "t-1");
    j.rebalance_ms = -1;
    ck_assert_int_eq(beat(c, 1, &j).error, 42);
    j = hb_join("rx", "r2", "t-1");
    j.owned = &some;
    ck_assert_int_eq(beat(c, 1, &j).error, 42); /* owned partitions while joining */
    j = hb_join("rx", "r2", "t-1");
    j.n_topics = -1;
    ck_assert_int_eq(beat(c, 1, &j).error, 42); /* no subscription at all */
    j = hb_join("", "r2", "t-1");
    ck_assert_int_eq(beat(c, 1, &j).error, 42);
    j = hb_join("rx", "r2", "t-1");
    j.instance = "";
    ck_assert_int_eq(beat(c, 1, &j).error, 42);
    /* v0: an empty member id at epoch 0 gets one generated (22 characters, Uuid's form). */
    j = hb_join("rx", "", "t-1");
    r = beat(c, 0, &j);
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(strlen(r.member_id), 22);
    /* The wrong broker. */
    int32_t other = kw_mock_coordinator(m, KW_MOCK_COORD_GROUP, "rx") == 1 ? 2 : 1;
    mc *o = mc_connect(m, other, false);
    j.member = "r3";
    ck_assert_int_eq(beat(o, 1, &j).error, 16);
    mc_close(o);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* The range assignor: contiguous ranges per topic. */
START_TEST(test_range_assignor)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(1, &now, NULL);
    hb j;
    hb_res r;
    mc *c2 = gt_coord(m, "rg");
    member ra = {"ra", 0, {0}}, rb = {"rb", 0, {0}};
    ck_assert_int_eq(kw_mock_topic_create(m, "six", 6, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "five", 5, 1, NULL), KW_ERR_OK);
    j = hb_join("rg", ra.id, "six");
    j.assignor = "range";
    /* Duplicates and any order: stored sorted and unique. */
    j.topics[1] = "five";
    j.topics[2] = "six";
    j.n_topics = 3;
    r = beat(c2, 1, &j);
    ck_assert_int_eq(r.a.n, 11);
    kw_slice gid = kw_slice_str("rg");
    kw_consumer_group_describe_req dq = {&gid, 1, false, {NULL, 0}};
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_consumer_group_describe_resp dr;
    uint8_t *f;
    mc_call(c2, &kw_msg_consumer_group_describe_req, &kw_msg_consumer_group_describe_resp, 1, &dq,
            &ar, &dr, &f);
    const kw_consumer_group_describe_member *d = &dr.groups[0].members[0];
    ck_assert(kw_slice_eq(dr.groups[0].assignor_name, "range"));
    ck_assert_int_eq(d->n_subscribed_topic_names, 2);
    ck_assert(kw_slice_eq(d->subscribed_topic_names[0], "five"));
    ck_assert(kw_slice_eq(d->subscribed_topic_names[1], "six"));
    free(f);
    kw_arena_fini(&ar);
    j.n_topics = 1;
    r = beat(c2, 1, &j);
    ra.epoch = r.epoch;
    ra.owns = r.a;
    j.member = rb.id;
    r = beat(c2, 1, &j);
    rb.epoch = r.epoch;
    rb.owns = r.a;
    member rr[2] = {ra, rb};
    converge(c2, "rg", rr, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(rr[i].owns.n, 3);
        int32_t lo = 99, hi = -1;
        for (int k = 0; k < 3; k++) {
            lo = rr[i].owns.p[k] < lo ? rr[i].owns.p[k] : lo;
            hi = rr[i].owns.p[k] > hi ? rr[i].owns.p[k] : hi;
        }
        ck_assert_int_eq(hi - lo, 2);
    }
    mc_close(c2);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- offsets, mixing */

static int16_t
fetch_as_member(mc *c, int16_t ver, const char *group, const char *member, int32_t epoch,
                const char *topic, int64_t *offset)
{
    int32_t part = 0;
    kw_offset_fetch_req_topic t;
    memset(&t, 0, sizeof(t));
    t.name = kw_slice_str(topic);
    t.partition_indexes = &part;
    t.n_partition_indexes = 1;
    kw_offset_fetch_req_group g;
    memset(&g, 0, sizeof(g));
    g.group_id = kw_slice_str(group);
    g.member_id = kw_slice_str(member);
    g.member_epoch = epoch;
    g.topics = &t;
    g.n_topics = 1;
    kw_offset_fetch_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.groups = &g;
    rq.n_groups = 1;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_offset_fetch_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_offset_fetch_req, &kw_msg_offset_fetch_resp, ver, &rq, &ar, &r, &f);
    int16_t e = r.groups[0].error_code;
    if (!e)
        *offset = r.groups[0].topics[0].partitions[0].committed_offset;
    free(f);
    kw_arena_fini(&ar);
    return e;
}

START_TEST(test_offsets_and_group_types)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(1, &now, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    hb h = hb_join("k", "ka", "t");
    hb_res r = beat(c, 1, &h);
    int32_t ep = r.epoch;
    ck_assert_int_eq(gt_commit(c, 9, "k", ep, "ka", NULL, "t", 0, 11, -1, NULL), 0);
    ck_assert_int_eq(gt_commit(c, 9, "k", ep + 1, "ka", NULL, "t", 0, 12, -1, NULL), 113);
    ck_assert_int_eq(gt_commit(c, 8, "k", ep, "ka", NULL, "t", 0, 12, -1, NULL), 35);
    ck_assert_int_eq(gt_commit(c, 9, "k", ep, "stranger", NULL, "t", 0, 12, -1, NULL), 25);
    ck_assert_int_eq(gt_commit(c, 9, "k", -1, "", NULL, "t", 0, 12, -1, NULL), 25);
    int64_t off = 0;
    ck_assert_int_eq(fetch_as_member(c, 9, "k", "ka", ep, "t", &off), 0);
    ck_assert_int_eq(off, 11);
    ck_assert_int_eq(fetch_as_member(c, 9, "k", "ka", ep + 1, "t", &off), 113);
    ck_assert_int_eq(fetch_as_member(c, 9, "k", "stranger", ep, "t", &off), 25);
    /* The classic protocol cannot join a consumer group with members. */
    gt_join_args ja;
    gt_join_args_init(&ja, "k", "");
    gt_join j = gt_join_call(c, 5, &ja);
    ck_assert_int_eq(j.error, 23);
    ck_assert_str_eq(j.member_id, "");
    ck_assert_int_eq(gt_heartbeat(c, 4, "k", ep, "ka", NULL), 25);
    ck_assert_int_eq(gt_leave(c, 4, "k", "ka", NULL, NULL), 25);
    /* When the last member leaves, a classic member converts the group back; offsets stay. */
    hb lv = {"k", "ka", NULL, NULL, NULL, -1, -1, {NULL}, -1, NULL};
    ck_assert_int_eq(beat(c, 1, &lv).error, 0);
    ck_assert_int_eq(gt_join_call(c, 5, &ja).error, 79);
    ck_assert_int_eq(gt_fetch(c, 8, "k", "t", 0).offset, 11);
    char state[32];
    ck_assert_int_eq(gt_describe(c, "k", state, sizeof(state), NULL), 0);
    ck_assert_str_eq(state, "Empty");
    /* A consumer member joining an empty classic group (here one that only holds offsets)
     * converts it; a non-empty classic group refuses with GROUP_ID_NOT_FOUND. */
    ck_assert_int_eq(gt_commit(c, 7, "simple", -1, "", NULL, "t", 0, 3, -1, NULL), 0);
    h = hb_join("simple", "sa", "t");
    r = beat(c, 1, &h);
    ck_assert_int_eq(r.error, 0);
    ck_assert_int_eq(gt_fetch(c, 8, "simple", "t", 0).offset, 3);
    char id[GT_ID];
    gt_join_args_init(&ja, "cls", "");
    int32_t corr = gt_join_new(c, &ja, id);
    gt_advance(m, &now, 3000);
    gt_join_recv(c, 5, corr, &j);
    ck_assert_int_eq(j.error, 0);
    h = hb_join("cls", "x", "t");
    r = beat(c, 1, &h);
    ck_assert_int_eq(r.error, 69);
    ck_assert_int_gt(strlen(r.msg), 0);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_group_kip848");
    TCase *tc = tcase_create("kip848");
    tcase_add_test(tc, test_join_and_reconcile);
    tcase_add_test(tc, test_fencing_and_timeouts);
    tcase_add_test(tc, test_leave_and_static_members);
    tcase_add_test(tc, test_regex_and_validation);
    tcase_add_test(tc, test_range_assignor);
    tcase_add_test(tc, test_offsets_and_group_types);
    suite_add_tcase(s, tc);
    return s;
}
