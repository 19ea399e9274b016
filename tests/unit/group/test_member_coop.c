/* The classic member with cooperative rebalancing (KIP-429) and with static membership
 * (KIP-345), on virtual time against a scripted coordinator: the two-phase rebalance (revoke
 * what was taken away, commit inside the callback, rejoin, then get the rest), a cooperative
 * leader running the real cooperative-sticky assignor over owned partitions, the revocation of
 * unsubscribed topics, and a static member's join, close without LeaveGroup, poll timeout and
 * fencing. */
#include <check.h>
#include <string.h>

#include "member_support.h"

static void
hb_reply(mt *t, int16_t code)
{
    kw_heartbeat_resp r = {0, code, {0}};
    mt_reply(t, 4, &r);
}

static void
join_reply(mt *t, int32_t gen, const char *member, const char *leader)
{
    kw_join_group_resp r;
    memset(&r, 0, sizeof(r));
    r.generation_id = gen;
    r.protocol_type = kw_slice_str("consumer");
    r.protocol_name = kw_slice_str(t->proto);
    r.leader = kw_slice_str(leader);
    r.member_id = kw_slice_str(member);
    mt_reply(t, 9, &r);
}

static void
sync_reply(mt *t, const char *spec)
{
    kw_sync_group_resp r;
    memset(&r, 0, sizeof(r));
    r.protocol_type = kw_slice_str("consumer");
    r.protocol_name = kw_slice_str(t->proto);
    r.assignment = mt_assignment(t, spec);
    mt_reply(t, 5, &r);
}

/* The subscription a JoinGroup carries for its first protocol. */
static void
join_sub(mt *t, const kw_join_group_req *q, kw_consumer_protocol_subscription *s)
{
    mt_str(q->protocols[0].name, "cooperative-sticky");
    mt_decode_subscription(t, q->protocols[0].metadata, s);
}

static kwi_tpset
owned_of(const kw_consumer_protocol_subscription *s)
{
    kwi_tpset o;
    kwi_tpset_init(&o, NULL);
    for (int32_t i = 0; i < s->n_owned_partitions; i++)
        for (int32_t j = 0; j < s->owned_partitions[i].n_partitions; j++)
            kwi_tpset_add(&o, s->owned_partitions[i].topic, s->owned_partitions[i].partitions[j]);
    return o;
}

START_TEST(two_phase_rebalance)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "cooperative-sticky", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 5, "t0:0,1,2");

    /* A rebalance starts: cooperative keeps consuming; only the commit point fires. */
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    hb_reply(&t, 27);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT)->parts, "t0:0,1,2");
    mt_no_ev(&t);
    mt_parts(kwi_member_owned(t.m), "t0:0,1,2");
    const kw_join_group_req *q = mt_req(&t, KWI_API_JOIN_GROUP);
    kw_consumer_protocol_subscription s;
    join_sub(&t, q, &s);
    kwi_tpset o = owned_of(&s);
    mt_parts(&o, "t0:0,1,2");
    kwi_tpset_fini(&o);
    ck_assert_int_eq(s.generation_id, 5);
    ck_assert_int_eq(s.user_data.len, 4); /* Java's cooperative-sticky UserData: the generation */

    /* Phase one: t0-2 moves to another member, so it is held back and must be revoked. */
    join_reply(&t, 6, "m-1", "leader");
    mt_req(&t, KWI_API_SYNC_GROUP);
    sync_reply(&t, "t0:0,1");
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_REVOKED);
    mt_parts(ev->parts, "t0:2");
    ck_assert_int_eq(ev->generation, 6);
    /* The application commits t0-2 in its callback, with the new generation. */
    kwi_member_offset off = {kw_slice_str("t0"), 2, 1234, 7, KW_SLICE_NULL};
    ck_assert_int_eq(kwi_member_commit(t.m, &off, 1, NULL), KW_ERR_OK);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_ASSIGNED)->parts, ""); /* always called, even empty */
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT)->parts, "t0:0,1"); /* the rejoin */
    mt_no_ev(&t);
    const kw_offset_commit_req *cq = mt_req(&t, KWI_API_OFFSET_COMMIT);
    ck_assert_int_eq(cq->generation_id_or_member_epoch, 6);
    ck_assert_int_eq(cq->topics[0].partitions[0].partition_index, 2);
    ck_assert_int_eq(cq->topics[0].partitions[0].committed_offset, 1234);
    mt_no_req(&t); /* the rejoin waits for the commit */
    kw_offset_commit_resp cr = {0};
    mt_reply(&t, 8, &cr);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_DONE);
    q = mt_req(&t, KWI_API_JOIN_GROUP);
    mt_str(q->reason, "partitions were revoked and must be released (KIP-429)");
    join_sub(&t, q, &s);
    o = owned_of(&s);
    mt_parts(&o, "t0:0,1");
    kwi_tpset_fini(&o);
    ck_assert_int_eq(s.generation_id, 6);

    /* Phase two: the freed partition went elsewhere; this member keeps its two. */
    join_reply(&t, 7, "m-1", "leader");
    mt_req(&t, KWI_API_SYNC_GROUP);
    sync_reply(&t, "t0:0,1");
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_ASSIGNED)->parts, "");
    mt_no_ev(&t);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_STABLE);
    mt_no_req(&t);

    /* A later rebalance that adds a partition hands out only the addition. */
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    hb_reply(&t, 27);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_req(&t, KWI_API_JOIN_GROUP);
    join_reply(&t, 8, "m-1", "leader");
    mt_req(&t, KWI_API_SYNC_GROUP);
    sync_reply(&t, "t0:0,1,3");
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_ASSIGNED)->parts, "t0:3");
    mt_parts(kwi_member_owned(t.m), "t0:0,1,3");
    mt_fini(&t);
}
END_TEST

START_TEST(cooperative_leader_withholds_moves)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "cooperative-sticky", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_metadata(&t, "t0", 4, 0);
    mt_find_coordinator(&t, 1);
    mt_req(&t, KWI_API_JOIN_GROUP);
    kw_join_group_resp jr;
    memset(&jr, 0, sizeof(jr));
    jr.generation_id = 11;
    jr.protocol_type = kw_slice_str("consumer");
    jr.protocol_name = kw_slice_str("cooperative-sticky");
    jr.leader = kw_slice_str("m-1");
    jr.member_id = kw_slice_str("m-1");
    kw_join_group_resp_member mem[2];
    memset(mem, 0, sizeof(mem));
    mem[0] = (kw_join_group_resp_member){
        kw_slice_str("m-1"), KW_SLICE_NULL, mt_subscription(&t, "", -1, "t0", NULL), {0}};
    mem[1] = (kw_join_group_resp_member){
        kw_slice_str("m-2"), KW_SLICE_NULL, mt_subscription(&t, "t0:0,1,2,3", 10, "t0", NULL), {0}};
    jr.members = mem;
    jr.n_members = 2;
    mt_reply(&t, 9, &jr);
    mt_no_ev(&t); /* t0 is known: no metadata wanted */
    const kw_sync_group_req *sq = mt_req(&t, KWI_API_SYNC_GROUP);
    ck_assert_int_eq(sq->n_assignments, 2);
    for (int i = 0; i < 2; i++) {
        kwi_tpset got;
        mt_decode_assignment(&t, sq->assignments[i].assignment, &got);
        if (kw_slice_eq(sq->assignments[i].member_id, "m-1")) {
            /* Two of m-2's partitions will be m-1's, but not while m-2 still owns them. */
            mt_parts(&got, "");
        } else {
            ck_assert_int_eq(kwi_tpset_count(&got), 2);
        }
        kwi_tpset_fini(&got);
    }
    mt_fini(&t);
}
END_TEST

START_TEST(unsubscribed_topic_is_revoked_before_join)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "cooperative-sticky", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", "t1", NULL);
    mt_classic_join(&t, 2, "t0:0 t1:0,1");
    mt_subscribe(&t, "t0", NULL);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_REVOKED)->parts, "t1:0,1");
    mt_parts(kwi_member_owned(t.m), "t0:0");
    const kw_join_group_req *q = mt_req(&t, KWI_API_JOIN_GROUP);
    kw_consumer_protocol_subscription s;
    join_sub(&t, q, &s);
    ck_assert_int_eq(s.n_topics, 1);
    kwi_tpset o = owned_of(&s);
    mt_parts(&o, "t0:0");
    kwi_tpset_fini(&o);
    mt_fini(&t);
}
END_TEST

static void
static_join(mt *t, int32_t gen, const char *spec)
{
    mt_find_coordinator(t, 1);
    const kw_join_group_req *q = mt_req(t, KWI_API_JOIN_GROUP);
    ck_assert_int_eq(t->req.min_version, 5); /* GroupInstanceId */
    mt_str(q->group_instance_id, "inst-1");
    mt_str(q->member_id, "");
    /* Static members never get MEMBER_ID_REQUIRED. */
    join_reply(t, gen, "inst-1-abc", "other");
    const kw_sync_group_req *sq = mt_req(t, KWI_API_SYNC_GROUP);
    ck_assert_int_eq(t->req.min_version, 3);
    mt_str(sq->group_instance_id, "inst-1");
    sync_reply(t, spec);
    mt_parts(mt_ev(t, KWI_MEMBER_EV_ASSIGNED)->parts, spec);
}

START_TEST(static_member_closes_without_leaving)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    cfg.group_instance_id = "inst-1";
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    static_join(&t, 3, "t0:0");
    mt_deadline(&t);
    const kw_heartbeat_req *hq = mt_req(&t, KWI_API_HEARTBEAT);
    ck_assert_int_eq(t.req.min_version, 3);
    mt_str(hq->group_instance_id, "inst-1");
    mt_str(hq->member_id, "inst-1-abc");
    hb_reply(&t, 0);
    kwi_member_offset off = {kw_slice_str("t0"), 0, 8, -1, KW_SLICE_NULL};
    ck_assert_int_eq(kwi_member_commit(t.m, &off, 1, NULL), KW_ERR_OK);
    const kw_offset_commit_req *cq = mt_req(&t, KWI_API_OFFSET_COMMIT);
    ck_assert_int_eq(t.req.min_version, 7);
    mt_str(cq->group_instance_id, "inst-1");
    kw_offset_commit_resp cr = {0};
    mt_reply(&t, 8, &cr);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_DONE);

    ck_assert_int_eq(kwi_member_leave(t.m, t.now), KW_ERR_OK);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_REVOKED)->parts, "t0:0");
    mt_ev(&t, KWI_MEMBER_EV_CLOSED); /* KIP-345: no LeaveGroup */
    mt_no_req(&t);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_CLOSED);
    mt_fini(&t);
}
END_TEST

START_TEST(static_member_fenced)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    cfg.group_instance_id = "inst-1";
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    static_join(&t, 3, "t0:0,1");
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    hb_reply(&t, 82); /* FENCED_INSTANCE_ID: another process took the instance id */
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_LOST)->parts, "t0:0,1");
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_ERROR);
    ck_assert(ev->err.fatal);
    ck_assert_int_eq(ev->err.broker_code, 82);
    mt_no_ev(&t);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_FATAL);
    mt_no_req(&t);
    ck_assert(kwi_member_next_deadline(t.m) == INT64_MAX);
    kwi_member_offset off = {kw_slice_str("t0"), 0, 8, -1, KW_SLICE_NULL};
    ck_assert_int_eq(kwi_member_commit(t.m, &off, 1, NULL), KW_ERR_STATE);
    ck_assert_int_eq(kwi_member_on_poll(t.m, t.now + 1000), KW_ERR_OK);
    mt_no_req(&t);
    mt_fini(&t);
}
END_TEST

START_TEST(static_member_poll_timeout)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    cfg.group_instance_id = "inst-1";
    cfg.max_poll_interval_ms = 10000;
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    static_join(&t, 3, "t0:0");
    int64_t until = t.now + 10000;
    while (t.now < until) {
        mt_deadline(&t);
        kwi_member_request r;
        while (kwi_member_next_request(t.m, &r)) {
            ck_assert_int_eq(r.api_key, KWI_API_HEARTBEAT); /* never a LeaveGroup */
            t.req = r;
            hb_reply(&t, 0);
        }
    }
    mt_ev(&t, KWI_MEMBER_EV_ERROR);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_LOST)->parts, "t0:0");
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_STALE);
    ck_assert_int_eq(kwi_member_on_poll(t.m, t.now), KW_ERR_OK);
    const kw_join_group_req *q = mt_req(&t, KWI_API_JOIN_GROUP);
    mt_str(q->group_instance_id, "inst-1");
    mt_str(q->member_id, ""); /* Java resets the member id on a poll timeout, static too */
    mt_fini(&t);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("group_member_coop");
    TCase *tc = tcase_create("coop_static");
    tcase_add_test(tc, two_phase_rebalance);
    tcase_add_test(tc, cooperative_leader_withholds_moves);
    tcase_add_test(tc, unsubscribed_topic_is_revoked_before_join);
    tcase_add_test(tc, static_member_closes_without_leaving);
    tcase_add_test(tc, static_member_fenced);
    tcase_add_test(tc, static_member_poll_timeout);
    suite_add_tcase(s, tc);
    return s;
}
