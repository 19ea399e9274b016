/* The classic group member on virtual time against a scripted coordinator: a full join as
 * follower and as leader (with the real range assignor), MEMBER_ID_REQUIRED, heartbeat timing
 * and the session timer, REBALANCE_IN_PROGRESS, coordinator moves, UNKNOWN_MEMBER_ID and
 * ILLEGAL_GENERATION, the poll timer, LeaveGroup on close, and fatal errors. Every request is
 * checked field by field and encoded at every version the member allows. */
#include <check.h>
#include <string.h>

#include "member_support.h"

static kw_join_group_resp
join_ok(int32_t gen, const char *member, const char *leader, const char *proto)
{
    kw_join_group_resp r;
    memset(&r, 0, sizeof(r));
    r.generation_id = gen;
    r.protocol_type = kw_slice_str("consumer");
    r.protocol_name = kw_slice_str(proto);
    r.leader = kw_slice_str(leader);
    r.member_id = kw_slice_str(member);
    return r;
}

static kw_sync_group_resp
sync_ok(mt *t, const char *spec)
{
    kw_sync_group_resp r;
    memset(&r, 0, sizeof(r));
    r.protocol_type = kw_slice_str("consumer");
    r.protocol_name = kw_slice_str(t->proto);
    r.assignment = mt_assignment(t, spec);
    return r;
}

static void
hb_reply(mt *t, int16_t code)
{
    kw_heartbeat_resp r = {0, code, {0}};
    mt_reply(t, 4, &r);
}

START_TEST(follower_join)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", "roundrobin", NULL);
    mt t;
    mt_init(&t, &cfg);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_UNSUBSCRIBED);
    ck_assert(kwi_member_next_deadline(t.m) == INT64_MAX);
    mt_no_req(&t);

    mt_subscribe(&t, "t1", "t0", "t1", NULL);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_JOINING);
    mt_find_coordinator(&t, 1);
    const kw_join_group_req *q = mt_req(&t, KWI_API_JOIN_GROUP);
    ck_assert_int_eq(t.req.node_id, 1);
    mt_str(t.req.host, "broker1");
    ck_assert_int_eq(t.req.port, 9092);
    ck_assert_int_eq(t.req.min_version, 0);
    ck_assert_int_eq(t.req.timeout_ms, 300000 + 5000); /* the join phase, not request.timeout */
    mt_str(q->group_id, "g");
    ck_assert_int_eq(q->session_timeout_ms, 45000);
    ck_assert_int_eq(q->rebalance_timeout_ms, 300000);
    mt_str(q->member_id, "");
    mt_str(q->group_instance_id, NULL);
    mt_str(q->protocol_type, "consumer");
    mt_str(q->reason, NULL);
    ck_assert_int_eq(q->n_protocols, 2);
    mt_str(q->protocols[0].name, "range");
    mt_str(q->protocols[1].name, "roundrobin");
    for (int i = 0; i < 2; i++) {
        kw_consumer_protocol_subscription s;
        mt_decode_subscription(&t, q->protocols[i].metadata, &s);
        ck_assert_int_eq(s.n_topics, 2); /* sorted, duplicates gone */
        mt_str(s.topics[0], "t0");
        mt_str(s.topics[1], "t1");
        ck_assert_int_eq(s.n_owned_partitions, 0);
        ck_assert_int_eq(s.generation_id, -1);
        mt_str(s.rack_id, NULL);
    }

    /* KIP-394: the first JoinGroup of a dynamic member gets an id to use, and the member
     * rejoins at once: no timer, no backoff. */
    kw_join_group_resp jr = join_ok(-1, "m-1", "", "");
    jr.error_code = 79;
    jr.protocol_type = KW_SLICE_NULL;
    jr.protocol_name = KW_SLICE_NULL;
    mt_reply(&t, 9, &jr);
    q = mt_req(&t, KWI_API_JOIN_GROUP);
    mt_str(q->member_id, "m-1");
    mt_no_req(&t);

    t.now += 40;
    jr = join_ok(7, "m-1", "leader-x", "range");
    mt_reply(&t, 9, &jr);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_SYNCING);
    ck_assert(!kwi_member_is_leader(t.m));
    const kw_sync_group_req *sq = mt_req(&t, KWI_API_SYNC_GROUP);
    mt_str(sq->group_id, "g");
    ck_assert_int_eq(sq->generation_id, 7);
    mt_str(sq->member_id, "m-1");
    mt_str(sq->group_instance_id, NULL);
    mt_str(sq->protocol_type, "consumer");
    mt_str(sq->protocol_name, "range");
    ck_assert_int_eq(sq->n_assignments, 0); /* followers send none */
    mt_no_req(&t);
    mt_no_ev(&t);

    kw_sync_group_resp sr = sync_ok(&t, "t0:0,1 t1:1");
    mt_reply(&t, 5, &sr);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_STABLE);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_ASSIGNED)->parts, "t0:0,1 t1:1");
    ck_assert_int_eq(t.ev.generation, 7);
    mt_no_ev(&t);
    ck_assert_int_eq(kwi_member_generation(t.m), 7);
    mt_str(kw_slice_str(kwi_member_id(t.m)), "m-1");

    mt_fini(&t);
}
END_TEST

START_TEST(heartbeat_timing)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    int64_t joined = t.now;
    mt_classic_join(&t, 7, "t0:0");
    /* Heartbeats: heartbeat.interval.ms after the join, then after each send. */
    ck_assert_int_eq(kwi_member_next_deadline(t.m), joined + 3000);
    mt_at(&t, joined + 2999);
    mt_no_req(&t);
    mt_at(&t, joined + 3000);
    const kw_heartbeat_req *hq = mt_req(&t, KWI_API_HEARTBEAT);
    mt_str(hq->group_id, "g");
    ck_assert_int_eq(hq->generation_id, 7);
    mt_str(hq->member_id, "m-1");
    mt_str(hq->group_instance_id, NULL);
    mt_at(&t, joined + 3500);
    mt_no_req(&t); /* one in flight at a time */
    hb_reply(&t, 0);
    ck_assert_int_eq(kwi_member_next_deadline(t.m), joined + 6000);
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    mt_fini(&t);
}
END_TEST

START_TEST(leader_join_runs_assignor)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_find_coordinator(&t, 1);
    mt_req(&t, KWI_API_JOIN_GROUP);

    /* Elected leader of two: the other member also wants t1, which this one has never seen. */
    kw_join_group_resp jr = join_ok(3, "m-1", "m-1", "range");
    kw_join_group_resp_member members[2];
    memset(members, 0, sizeof(members));
    members[0].member_id = kw_slice_str("m-1");
    members[0].group_instance_id = KW_SLICE_NULL;
    members[0].metadata = mt_subscription(&t, "", -1, "t0", NULL);
    members[1].member_id = kw_slice_str("m-2");
    members[1].group_instance_id = KW_SLICE_NULL;
    members[1].metadata = mt_subscription(&t, "", -1, "t0", "t1", NULL);
    jr.members = members;
    jr.n_members = 2;
    mt_reply(&t, 9, &jr);
    ck_assert(kwi_member_is_leader(t.m));
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_ASSIGNING);
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_NEED_METADATA);
    ck_assert_int_eq(ev->n_topics, 2);
    ck_assert_str_eq(ev->topics[0], "t0");
    ck_assert_str_eq(ev->topics[1], "t1");
    mt_no_req(&t); /* no SyncGroup before the metadata */

    mt_metadata(&t, "t0", 3, 0);
    mt_no_req(&t);
    mt_metadata(&t, "t1", 2, 0);
    const kw_sync_group_req *sq = mt_req(&t, KWI_API_SYNC_GROUP);
    ck_assert_int_eq(sq->generation_id, 3);
    mt_str(sq->protocol_name, "range");
    ck_assert_int_eq(sq->n_assignments, 2);
    /* Range: t0's three partitions over m-1, m-2 (m-1 takes the extra one); t1 only m-2. */
    for (int i = 0; i < 2; i++) {
        kwi_tpset got;
        mt_decode_assignment(&t, sq->assignments[i].assignment, &got);
        if (kw_slice_eq(sq->assignments[i].member_id, "m-1"))
            mt_parts(&got, "t0:0,1");
        else {
            mt_str(sq->assignments[i].member_id, "m-2");
            mt_parts(&got, "t0:2 t1:0,1");
        }
        kwi_tpset_fini(&got);
    }
    kw_sync_group_resp sr = sync_ok(&t, "t0:0,1");
    mt_reply(&t, 5, &sr);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_ASSIGNED)->parts, "t0:0,1");

    /* Only the leader watches metadata: t1 grows, so it rejoins (eager: revoke everything,
     * after the commit point). */
    mt_metadata(&t, "t0", 3, 0);
    mt_no_ev(&t);
    mt_metadata(&t, "t1", 4, 0);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_PREPARING);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT)->parts, "t0:0,1");
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_REVOKED)->parts, "t0:0,1");
    const kw_join_group_req *q = mt_req(&t, KWI_API_JOIN_GROUP);
    mt_str(q->member_id, "m-1");
    mt_str(q->reason, "the partitions of a subscribed topic changed");
    mt_fini(&t);
}
END_TEST

START_TEST(leader_waits_for_metadata_at_most_request_timeout)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_find_coordinator(&t, 1);
    mt_req(&t, KWI_API_JOIN_GROUP);
    kw_join_group_resp jr = join_ok(1, "m-1", "m-1", "range");
    kw_join_group_resp_member mem = {
        kw_slice_str("m-1"), KW_SLICE_NULL, mt_subscription(&t, "", -1, "t0", NULL), {0}};
    jr.members = &mem;
    jr.n_members = 1;
    int64_t start = t.now;
    mt_reply(&t, 9, &jr);
    mt_ev(&t, KWI_MEMBER_EV_NEED_METADATA);
    /* The leader heartbeats while it waits (it holds a generation). */
    kwi_member_request r;
    for (;;) {
        mt_deadline(&t);
        ck_assert(kwi_member_next_request(t.m, &r));
        if (r.api_key == KWI_API_SYNC_GROUP)
            break;
        ck_assert_int_eq(r.api_key, KWI_API_HEARTBEAT);
        t.req = r;
        hb_reply(&t, 0);
    }
    ck_assert_int_eq(t.now, start + 30000);
    /* No metadata came: the topic counts as absent and the member gets nothing. */
    const kw_sync_group_req *sq = r.body;
    ck_assert_int_eq(sq->n_assignments, 1);
    kwi_tpset got;
    mt_decode_assignment(&t, sq->assignments[0].assignment, &got);
    mt_parts(&got, "");
    kwi_tpset_fini(&got);
    mt_fini(&t);
}
END_TEST

START_TEST(rebalance_in_progress_revokes_commits_then_rejoins)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 5, "t0:0,1");
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    hb_reply(&t, 27);

    /* Eager: the commit point, then everything is revoked before JoinGroup. */
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_PREPARING);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT)->parts, "t0:0,1");
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_REVOKED);
    mt_parts(ev->parts, "t0:0,1");
    ck_assert_int_eq(ev->generation, 5);
    /* Inside the revoke callback the application commits, with the old generation. */
    kwi_member_offset offs[] = {
        {kw_slice_str("t0"), 1, 42, 3, KW_SLICE_NULL},
        {kw_slice_str("t0"), 0, 17, -1, kw_slice_str("meta")},
    };
    uint64_t cseq = 0;
    ck_assert_int_eq(kwi_member_commit(t.m, offs, 2, &cseq), KW_ERR_OK);
    mt_no_ev(&t);
    const kw_offset_commit_req *cq = mt_req(&t, KWI_API_OFFSET_COMMIT);
    ck_assert(t.req.seq == cseq);
    mt_str(cq->group_id, "g");
    ck_assert_int_eq(cq->generation_id_or_member_epoch, 5);
    mt_str(cq->member_id, "m-1");
    mt_str(cq->group_instance_id, NULL);
    ck_assert_int_eq(cq->n_topics, 1);
    mt_str(cq->topics[0].name, "t0");
    ck_assert_int_eq(cq->topics[0].n_partitions, 2);
    ck_assert_int_eq(cq->topics[0].partitions[0].partition_index, 0);
    ck_assert_int_eq(cq->topics[0].partitions[0].committed_offset, 17);
    ck_assert_int_eq(cq->topics[0].partitions[0].committed_leader_epoch, -1);
    mt_str(cq->topics[0].partitions[0].committed_metadata, "meta");
    ck_assert_int_eq(cq->topics[0].partitions[1].partition_index, 1);
    ck_assert_int_eq(cq->topics[0].partitions[1].committed_offset, 42);
    ck_assert_int_eq(cq->topics[0].partitions[1].committed_leader_epoch, 3);
    /* The JoinGroup waits for the commit's answer. */
    mt_no_req(&t);
    kw_offset_commit_resp_partition rp[2] = {{0, 0, {0}}, {1, 0, {0}}};
    kw_offset_commit_resp_topic rt = {kw_slice_str("t0"), {{0}}, rp, 2, {0}};
    kw_offset_commit_resp cr = {0, &rt, 1, {0}};
    mt_reply(&t, 8, &cr);
    ev = mt_ev(&t, KWI_MEMBER_EV_COMMIT_DONE);
    ck_assert(ev->seq == cseq);
    ck_assert_int_eq(ev->err.code, KW_ERR_OK);
    const kw_join_group_req *q = mt_req(&t, KWI_API_JOIN_GROUP);
    mt_str(q->member_id, "m-1"); /* 27 keeps the id */
    mt_str(q->reason, "the group is rebalancing");
    kw_consumer_protocol_subscription s;
    mt_decode_subscription(&t, q->protocols[0].metadata, &s);
    ck_assert_int_eq(s.n_owned_partitions, 0); /* eager gave everything back */
    ck_assert_int_eq(s.generation_id, 5);
    /* Committing now is refused: the generation is being replaced. */
    ck_assert_int_eq(kwi_member_commit(t.m, offs, 1, NULL), KW_ERR_STATE);
    mt_fini(&t);
}
END_TEST

START_TEST(rejoin_gate_is_bounded_by_the_rebalance_timeout)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    cfg.max_poll_interval_ms = 60000;
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 5, "t0:0");
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    int64_t at = t.now;
    hb_reply(&t, 27);
    /* The application never runs its callbacks: the JoinGroup still goes after 60 s, and
     * heartbeats keep the generation alive meanwhile. */
    mt_no_req(&t);
    ck_assert_int_le(kwi_member_next_deadline(t.m), at + 60000);
    while (t.now < at + 60000) {
        ck_assert_int_eq(kwi_member_on_poll(t.m, t.now), KW_ERR_OK);
        mt_deadline(&t);
        kwi_member_request r;
        while (kwi_member_next_request(t.m, &r)) {
            if (r.api_key == KWI_API_JOIN_GROUP)
                goto joined;
            ck_assert_int_eq(r.api_key, KWI_API_HEARTBEAT);
            t.req = r;
            hb_reply(&t, 27);
        }
    }
    ck_abort_msg("no JoinGroup after the rebalance timeout");
joined:
    ck_assert_int_eq(t.now, at + 60000);
    mt_fini(&t);
}
END_TEST

START_TEST(coordinator_moves)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 2, "t0:0");

    /* NOT_COORDINATOR on a heartbeat: look it up again; membership kept. */
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    hb_reply(&t, 16);
    ck_assert_int_eq(kwi_member_coordinator(t.m), -1);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_STABLE);
    mt_no_ev(&t);
    /* A commit made now waits for the new coordinator. */
    kwi_member_offset off = {kw_slice_str("t0"), 0, 5, -1, KW_SLICE_NULL};
    ck_assert_int_eq(kwi_member_commit(t.m, &off, 1, NULL), KW_ERR_OK);
    /* A first lookup failure backs off retry.backoff.ms. */
    mt_req(&t, KWI_API_FIND_COORDINATOR);
    kw_find_coordinator_resp fr = {0};
    fr.error_code = 15;
    mt_reply(&t, 3, &fr);
    mt_no_req(&t);
    int64_t before = t.now;
    mt_deadline(&t);
    ck_assert_int_eq(t.now - before, 100);
    /* v4+ answers come in Coordinators[]; ours is picked by key. */
    mt_req(&t, KWI_API_FIND_COORDINATOR);
    kw_find_coordinator_coordinator cs[2] = {
        {kw_slice_str("other"), 9, kw_slice_str("nine"), 1, 0, KW_SLICE_NULL, {0}},
        {kw_slice_str("g"), 2, kw_slice_str("broker2"), 9093, 0, KW_SLICE_NULL, {0}},
    };
    memset(&fr, 0, sizeof(fr));
    fr.coordinators = cs;
    fr.n_coordinators = 2;
    mt_reply(&t, 4, &fr);
    ck_assert_int_eq(kwi_member_coordinator(t.m), 2);
    mt_req(&t, KWI_API_OFFSET_COMMIT);
    ck_assert_int_eq(t.req.node_id, 2);
    mt_str(t.req.host, "broker2");
    ck_assert_int_eq(t.req.port, 9093);
    mt_no_req(&t);
    mt_deadline(&t); /* the heartbeat interval */
    const kw_heartbeat_req *hq = mt_req(&t, KWI_API_HEARTBEAT);
    ck_assert_int_eq(hq->generation_id, 2);

    /* The connection breaks with the heartbeat and the commit's answer in flight: the commit
     * fails as retriable, the late heartbeat answer is ignored. */
    uint64_t old_hb = t.req.seq;
    ck_assert_int_eq(kwi_member_on_coordinator_lost(t.m, t.now), KW_ERR_OK);
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_COMMIT_DONE);
    ck_assert_int_eq(ev->err.code, KW_ERR_IO);
    ck_assert(ev->err.retriable);
    kw_heartbeat_resp hr = {0, 22, {0}};
    mt_reply_to(&t, old_hb, KWI_API_HEARTBEAT, 4, &hr);
    ck_assert_int_eq(kwi_member_generation(t.m), 2);
    mt_find_coordinator(&t, 3);
    mt_deadline(&t);
    hq = mt_req(&t, KWI_API_HEARTBEAT);
    ck_assert_int_eq(t.req.node_id, 3);

    /* A JoinGroup lost with the coordinator is sent again to the next one. */
    hb_reply(&t, 27);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_ev(&t, KWI_MEMBER_EV_REVOKED);
    mt_req(&t, KWI_API_JOIN_GROUP);
    mt_reply_err(&t, KW_ERR_IO);
    mt_find_coordinator(&t, 4);
    const kw_join_group_req *q = mt_req(&t, KWI_API_JOIN_GROUP);
    ck_assert_int_eq(t.req.node_id, 4);
    mt_str(q->member_id, "m-1");
    mt_fini(&t);
}
END_TEST

/* A coordinator whose connection fails right after it was found (its broker is down while
 * FindCoordinator still names it) is looked up again after a growing backoff (found by
 * scripts/soak: lookup, connect and refusal looped thousands of times a second). One whose
 * connection lasted is looked up again at once. */
START_TEST(coordinator_refusing_backs_off)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 2, "t0:0");
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    ck_assert_int_eq(kwi_member_on_coordinator_lost(t.m, t.now), KW_ERR_OK);
    mt_find_coordinator(&t, 2);
    const int64_t want[] = {100, 200, 400, 800, 1000, 1000};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ck_assert_int_eq(kwi_member_on_coordinator_lost(t.m, t.now), KW_ERR_OK);
        mt_no_req(&t);
        int64_t before = t.now;
        mt_deadline(&t);
        ck_assert_int_eq(t.now - before, want[i]);
        mt_find_coordinator(&t, 2);
    }
    /* This one lasts longer than retry.backoff.max.ms: the next loss looks up at once. */
    mt_at(&t, t.now + 1000);
    ck_assert_int_eq(kwi_member_on_coordinator_lost(t.m, t.now), KW_ERR_OK);
    int64_t before = t.now;
    mt_find_coordinator(&t, 3);
    ck_assert_int_eq(t.now, before);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_STABLE);
    ck_assert_int_eq(kwi_member_generation(t.m), 2);
    mt_fini(&t);
}
END_TEST

START_TEST(sync_lost_with_coordinator_rejoins)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_find_coordinator(&t, 1);
    mt_req(&t, KWI_API_JOIN_GROUP);
    kw_join_group_resp jr = join_ok(4, "m-9", "x", "range");
    mt_reply(&t, 9, &jr);
    mt_req(&t, KWI_API_SYNC_GROUP);
    kw_sync_group_resp sr = {0};
    sr.error_code = 16;
    mt_reply(&t, 5, &sr);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_JOINING);
    mt_find_coordinator(&t, 2);
    const kw_join_group_req *q = mt_req(&t, KWI_API_JOIN_GROUP);
    mt_str(q->member_id, "m-9");
    mt_fini(&t);
}
END_TEST

START_TEST(unknown_member_id_loses_partitions)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 8, "t0:0,2");
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    hb_reply(&t, 25);
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_LOST);
    mt_parts(ev->parts, "t0:0,2");
    mt_no_ev(&t);
    mt_parts(kwi_member_owned(t.m), "");
    ck_assert_int_eq(kwi_member_generation(t.m), -1);
    const kw_join_group_req *q = mt_req(&t, KWI_API_JOIN_GROUP);
    mt_str(q->member_id, "");
    kw_consumer_protocol_subscription s;
    mt_decode_subscription(&t, q->protocols[0].metadata, &s);
    ck_assert_int_eq(s.generation_id, -1);
    ck_assert_int_eq(s.n_owned_partitions, 0);
    /* No commit is possible without a generation. */
    kwi_member_offset off = {kw_slice_str("t0"), 0, 1, -1, KW_SLICE_NULL};
    ck_assert_int_eq(kwi_member_commit(t.m, &off, 1, NULL), KW_ERR_STATE);
    mt_fini(&t);
}
END_TEST

START_TEST(illegal_generation_keeps_member_id)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 8, "t0:1");
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    hb_reply(&t, 22);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_LOST)->parts, "t0:1");
    const kw_join_group_req *q = mt_req(&t, KWI_API_JOIN_GROUP);
    mt_str(q->member_id, "m-1");
    /* SyncGroup with ILLEGAL_GENERATION resets the generation as well. */
    kw_join_group_resp jr = join_ok(9, "m-1", "x", "range");
    mt_reply(&t, 9, &jr);
    mt_req(&t, KWI_API_SYNC_GROUP);
    kw_sync_group_resp sr = {0};
    sr.error_code = 22;
    mt_reply(&t, 5, &sr);
    ck_assert_int_eq(kwi_member_generation(t.m), -1);
    q = mt_req(&t, KWI_API_JOIN_GROUP);
    mt_str(q->member_id, "m-1");
    mt_fini(&t);
}
END_TEST

START_TEST(session_timeout_rediscovers)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    cfg.session_timeout_ms = 10000;
    cfg.heartbeat_interval_ms = 3000;
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    int64_t joined = t.now;
    mt_classic_join(&t, 1, "t0:0");
    /* Heartbeats go unanswered (the request timeout is longer than the session). */
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    ck_assert_int_eq(kwi_member_next_deadline(t.m), joined + 10000);
    mt_deadline(&t);
    /* Java: the coordinator is marked unknown; the membership is kept. */
    ck_assert_int_eq(kwi_member_coordinator(t.m), -1);
    ck_assert_int_eq(kwi_member_generation(t.m), 1);
    mt_find_coordinator(&t, 1);
    const kw_heartbeat_req *hq = mt_req(&t, KWI_API_HEARTBEAT);
    ck_assert_int_eq(hq->generation_id, 1);
    mt_fini(&t);
}
END_TEST

START_TEST(heartbeat_errors_back_off)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 1, "t0:0");
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    int64_t at = t.now;
    hb_reply(&t, 14); /* COORDINATOR_LOAD_IN_PROGRESS */
    ck_assert_int_eq(kwi_member_next_deadline(t.m), at + 100);
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    at = t.now;
    hb_reply(&t, 14);
    ck_assert_int_eq(kwi_member_next_deadline(t.m), at + 200);
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    at = t.now;
    hb_reply(&t, 0);
    ck_assert_int_eq(kwi_member_next_deadline(t.m), at + 3000); /* from the send */
    mt_fini(&t);
}
END_TEST

START_TEST(join_errors)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_find_coordinator(&t, 1);
    mt_req(&t, KWI_API_JOIN_GROUP);
    kw_join_group_resp jr = join_ok(-1, "", "", "");
    jr.error_code = 14; /* COORDINATOR_LOAD_IN_PROGRESS: backoff */
    int64_t at = t.now;
    mt_reply(&t, 9, &jr);
    mt_no_req(&t);
    mt_deadline(&t);
    ck_assert_int_eq(t.now - at, 100);
    mt_req(&t, KWI_API_JOIN_GROUP);
    jr.error_code = 27; /* REBALANCE_IN_PROGRESS: at once */
    mt_reply(&t, 9, &jr);
    mt_req(&t, KWI_API_JOIN_GROUP);
    jr.error_code = 15; /* COORDINATOR_NOT_AVAILABLE: rediscover */
    mt_reply(&t, 9, &jr);
    mt_find_coordinator(&t, 2);
    mt_req(&t, KWI_API_JOIN_GROUP);
    jr.error_code = 26; /* INVALID_SESSION_TIMEOUT: fatal */
    mt_reply(&t, 9, &jr);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_FATAL);
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_ERROR);
    ck_assert(ev->err.fatal);
    ck_assert_int_eq(ev->err.code, KW_ERR_BROKER);
    ck_assert_int_eq(ev->err.broker_code, 26);
    mt_no_ev(&t);
    mt_no_req(&t);
    ck_assert(kwi_member_next_deadline(t.m) == INT64_MAX);
    /* Closing a failed member just reports it closed. */
    ck_assert_int_eq(kwi_member_leave(t.m, t.now), KW_ERR_OK);
    mt_ev(&t, KWI_MEMBER_EV_CLOSED);
    mt_fini(&t);
}
END_TEST

START_TEST(wrong_protocol_type_is_fatal)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 1, "t0:0");
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    hb_reply(&t, 27);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_ev(&t, KWI_MEMBER_EV_REVOKED);
    mt_req(&t, KWI_API_JOIN_GROUP);
    kw_join_group_resp jr = join_ok(2, "m-1", "x", "range");
    jr.protocol_type = kw_slice_str("connect"); /* KIP-559 */
    mt_reply(&t, 9, &jr);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_FATAL);
    ck_assert_int_eq(mt_ev(&t, KWI_MEMBER_EV_ERROR)->err.broker_code, 23);
    mt_fini(&t);
}
END_TEST

START_TEST(poll_timeout_leaves_and_rejoins_on_poll)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    cfg.max_poll_interval_ms = 20000;
    mt t;
    mt_init(&t, &cfg);
    int64_t polled = t.now;
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 4, "t0:0,1");
    ck_assert_int_eq(kwi_member_on_poll(t.m, t.now), KW_ERR_OK);
    polled = t.now;
    /* Heartbeats are answered but the application stops polling. */
    for (;;) {
        mt_deadline(&t);
        kwi_member_request r;
        if (!kwi_member_next_request(t.m, &r))
            break;
        t.req = r;
        if (r.api_key != KWI_API_HEARTBEAT)
            break;
        hb_reply(&t, 0);
    }
    ck_assert_int_eq(t.now, polled + 20000);
    ck_assert_int_eq(t.req.api_key, KWI_API_LEAVE_GROUP);
    const kw_leave_group_req *lq = t.req.body;
    mt_str(lq->group_id, "g");
    mt_str(lq->member_id, "m-1");
    ck_assert_int_eq(lq->n_members, 1);
    mt_str(lq->members[0].member_id, "m-1");
    mt_str(lq->members[0].group_instance_id, NULL);
    mt_str(lq->members[0].reason, "consumer poll timeout has expired");
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_ERROR);
    ck_assert(!ev->err.fatal);
    ck_assert_int_eq(ev->err.code, KW_ERR_TIMED_OUT);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_LOST)->parts, "t0:0,1");
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_STALE);
    ck_assert(kwi_member_next_deadline(t.m) == INT64_MAX);
    mt_no_req(&t);
    /* Much later the application polls again: a fresh join. */
    t.now += 600000;
    ck_assert_int_eq(kwi_member_on_poll(t.m, t.now), KW_ERR_OK);
    const kw_join_group_req *q = mt_req(&t, KWI_API_JOIN_GROUP);
    mt_str(q->member_id, "");
    mt_fini(&t);
}
END_TEST

START_TEST(close_revokes_then_leaves)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 3, "t0:0");
    ck_assert_int_eq(kwi_member_leave(t.m, t.now), KW_ERR_OK);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_LEAVING);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_REVOKED)->parts, "t0:0");
    kwi_member_offset off = {kw_slice_str("t0"), 0, 99, -1, KW_SLICE_NULL};
    ck_assert_int_eq(kwi_member_commit(t.m, &off, 1, NULL), KW_ERR_OK);
    const kw_offset_commit_req *cq = mt_req(&t, KWI_API_OFFSET_COMMIT);
    ck_assert_int_eq(cq->generation_id_or_member_epoch, 3);
    mt_no_req(&t);
    kw_offset_commit_resp cr = {0};
    mt_reply(&t, 8, &cr);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_DONE);
    const kw_leave_group_req *lq = mt_req(&t, KWI_API_LEAVE_GROUP);
    mt_str(lq->member_id, "m-1");
    mt_str(lq->members[0].reason, "the consumer is being closed");
    mt_no_ev(&t);
    kw_leave_group_resp lr = {0};
    mt_reply(&t, 5, &lr);
    mt_ev(&t, KWI_MEMBER_EV_CLOSED);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_CLOSED);
    mt_no_req(&t);
    ck_assert(kwi_member_next_deadline(t.m) == INT64_MAX);
    mt_fini(&t);
}
END_TEST

START_TEST(unsubscribe_leaves_and_can_resubscribe)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 3, "t0:0");
    ck_assert_int_eq(kwi_member_subscribe(t.m, t.now, NULL, 0), KW_ERR_OK);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_REVOKED)->parts, "t0:0");
    const kw_leave_group_req *lq = mt_req(&t, KWI_API_LEAVE_GROUP);
    mt_str(lq->members[0].reason, "the consumer unsubscribed");
    mt_reply_err(&t, KW_ERR_TIMED_OUT); /* best effort: a failure changes nothing */
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_UNSUBSCRIBED);
    mt_no_ev(&t);
    mt_subscribe(&t, "t1", NULL);
    const kw_join_group_req *q = mt_req(&t, KWI_API_JOIN_GROUP); /* coordinator still known */
    mt_str(q->member_id, "");
    mt_fini(&t);
}
END_TEST

START_TEST(subscription_change_rejoins)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 3, "t0:0");
    mt_subscribe(&t, "t0", NULL); /* unchanged: nothing happens */
    mt_no_ev(&t);
    mt_no_req(&t);
    mt_subscribe(&t, "t0", "t1", NULL);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_ev(&t, KWI_MEMBER_EV_REVOKED);
    const kw_join_group_req *q = mt_req(&t, KWI_API_JOIN_GROUP);
    kw_consumer_protocol_subscription s;
    mt_decode_subscription(&t, q->protocols[0].metadata, &s);
    ck_assert_int_eq(s.n_topics, 2);
    mt_fini(&t);
}
END_TEST

START_TEST(assignment_outside_subscription_rejoins)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_find_coordinator(&t, 1);
    mt_req(&t, KWI_API_JOIN_GROUP);
    kw_join_group_resp jr = join_ok(2, "m-1", "x", "range");
    mt_reply(&t, 9, &jr);
    mt_req(&t, KWI_API_SYNC_GROUP);
    kw_sync_group_resp sr = sync_ok(&t, "t0:0 zz:1");
    mt_reply(&t, 5, &sr);
    /* Not applied (no ASSIGNED): Java rejoins instead. */
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_REVOKED)->parts, "");
    mt_no_ev(&t);
    mt_parts(kwi_member_owned(t.m), "");
    mt_req(&t, KWI_API_JOIN_GROUP);
    mt_fini(&t);
}
END_TEST

START_TEST(empty_and_broken_assignments)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_find_coordinator(&t, 1);
    mt_req(&t, KWI_API_JOIN_GROUP);
    kw_join_group_resp jr = join_ok(2, "m-1", "x", "range");
    mt_reply(&t, 9, &jr);
    mt_req(&t, KWI_API_SYNC_GROUP);
    /* Empty bytes: left out by the leader; librdkafka's reading, an empty assignment. */
    kw_sync_group_resp sr = {0};
    sr.protocol_type = KW_SLICE_NULL;
    sr.protocol_name = KW_SLICE_NULL;
    sr.assignment = (kw_slice){(const uint8_t *)"", 0};
    mt_reply(&t, 3, &sr);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_ASSIGNED)->parts, "");
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_STABLE);
    /* A broken one: reported, and the member rejoins after a backoff. */
    mt_deadline(&t);
    mt_req(&t, KWI_API_HEARTBEAT);
    hb_reply(&t, 27);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_ev(&t, KWI_MEMBER_EV_REVOKED);
    mt_req(&t, KWI_API_JOIN_GROUP);
    jr.generation_id = 3;
    mt_reply(&t, 9, &jr);
    mt_req(&t, KWI_API_SYNC_GROUP);
    static const uint8_t junk[] = {0, 3, 0, 0, 0, 9, 0};
    sr.assignment = (kw_slice){junk, sizeof(junk)};
    mt_reply(&t, 3, &sr);
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_ERROR);
    ck_assert(!ev->err.fatal);
    ck_assert_int_eq(ev->err.code, KW_ERR_MALFORMED);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_JOINING);
    mt_no_req(&t);
    mt_deadline(&t);
    mt_req(&t, KWI_API_JOIN_GROUP);
    mt_fini(&t);
}
END_TEST

START_TEST(stale_and_foreign_responses_are_ignored)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_classic_join(&t, 3, "t0:0");
    kw_heartbeat_resp hr = {0, 25, {0}};
    mt_reply_to(&t, 12345, KWI_API_HEARTBEAT, 4, &hr);
    mt_reply_to(&t, 0, KWI_API_HEARTBEAT, 4, &hr);
    ck_assert_int_eq(kwi_member_generation(t.m), 3);
    mt_no_ev(&t);
    kwi_member_resp bad = {1, KWI_API_HEARTBEAT, 4, KW_ERR_OK, NULL};
    ck_assert_int_eq(kwi_member_on_response(t.m, t.now, &bad), KW_ERR_INVALID_ARG);
    mt_fini(&t);
}
END_TEST

START_TEST(config_is_checked)
{
    kwi_member_cfg cfg;
    kwi_member *m = NULL;
    kw_error err;
    kwi_member_cfg_init(&cfg);
    ck_assert_int_eq(kwi_member_new(&cfg, &m, &err), KW_ERR_CONFIG);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(err.msg, "group.id"));
    cfg.group_id = "g";
    ck_assert_int_eq(kwi_member_new(&cfg, &m, &err), KW_ERR_CONFIG); /* no assignor */
    mt_cfg_classic(&cfg, "range", NULL);
    cfg.heartbeat_interval_ms = cfg.session_timeout_ms;
    ck_assert_int_eq(kwi_member_new(&cfg, &m, &err), KW_ERR_CONFIG);
    mt_cfg_classic(&cfg, "range", NULL);
    cfg.group_instance_id = "";
    ck_assert_int_eq(kwi_member_new(&cfg, &m, &err), KW_ERR_CONFIG);
    kwi_member_free(NULL);
}
END_TEST

START_TEST(config_from_properties)
{
    kw_conf *c = NULL;
    ck_assert_int_eq(kw_conf_new(NULL, &c), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(c, "group.id", "orders", NULL), KW_ERR_OK);
    ck_assert_int_eq(
        kw_conf_set(c, "partition.assignment.strategy", "roundrobin,range,roundrobin", NULL),
        KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(c, "group.instance.id", "host-1", NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(c, "session.timeout.ms", "10000", NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(c, "max.poll.interval.ms", "60000", NULL), KW_ERR_OK);
    kwi_member_cfg cfg;
    ck_assert_int_eq(kwi_member_cfg_from_conf(&cfg, c, NULL), KW_ERR_OK);
    ck_assert_int_eq(cfg.protocol, KWI_MEMBER_CLASSIC);
    ck_assert_str_eq(cfg.group_id, "orders");
    ck_assert_str_eq(cfg.group_instance_id, "host-1");
    ck_assert_ptr_null(cfg.client_rack); /* "" is unset */
    ck_assert_int_eq(cfg.session_timeout_ms, 10000);
    ck_assert_int_eq(cfg.heartbeat_interval_ms, 3000);
    ck_assert_int_eq(cfg.max_poll_interval_ms, 60000);
    ck_assert_int_eq(cfg.n_assignors, 2);
    ck_assert_str_eq(cfg.assignors[0]->name, "roundrobin");
    ck_assert_str_eq(cfg.assignors[1]->name, "range");
    kwi_member *m = NULL;
    ck_assert_int_eq(kwi_member_new(&cfg, &m, NULL), KW_ERR_OK);
    kwi_member_free(m);

    ck_assert_int_eq(kw_conf_set(c, "partition.assignment.strategy", NULL, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(c, "session.timeout.ms", NULL, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(c, "group.protocol", "consumer", NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(c, "group.remote.assignor", "uniform", NULL), KW_ERR_OK);
    ck_assert_int_eq(kwi_member_cfg_from_conf(&cfg, c, NULL), KW_ERR_OK);
    ck_assert_int_eq(cfg.protocol, KWI_MEMBER_CONSUMER);
    ck_assert_int_eq(cfg.n_assignors, 0);
    ck_assert_str_eq(cfg.remote_assignor, "uniform");
    ck_assert_int_eq(kwi_member_new(&cfg, &m, NULL), KW_ERR_OK);
    ck_assert_int_eq(strlen(kwi_member_id(m)), 22);
    kwi_member_free(m);
    kw_conf_free(c);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("group_member_classic");
    TCase *tc = tcase_create("classic");
    tcase_add_test(tc, follower_join);
    tcase_add_test(tc, heartbeat_timing);
    tcase_add_test(tc, leader_join_runs_assignor);
    tcase_add_test(tc, leader_waits_for_metadata_at_most_request_timeout);
    tcase_add_test(tc, rebalance_in_progress_revokes_commits_then_rejoins);
    tcase_add_test(tc, rejoin_gate_is_bounded_by_the_rebalance_timeout);
    tcase_add_test(tc, coordinator_moves);
    tcase_add_test(tc, coordinator_refusing_backs_off);
    tcase_add_test(tc, sync_lost_with_coordinator_rejoins);
    tcase_add_test(tc, unknown_member_id_loses_partitions);
    tcase_add_test(tc, illegal_generation_keeps_member_id);
    tcase_add_test(tc, session_timeout_rediscovers);
    tcase_add_test(tc, heartbeat_errors_back_off);
    tcase_add_test(tc, join_errors);
    tcase_add_test(tc, wrong_protocol_type_is_fatal);
    tcase_add_test(tc, poll_timeout_leaves_and_rejoins_on_poll);
    tcase_add_test(tc, close_revokes_then_leaves);
    tcase_add_test(tc, unsubscribe_leaves_and_can_resubscribe);
    tcase_add_test(tc, subscription_change_rejoins);
    tcase_add_test(tc, assignment_outside_subscription_rejoins);
    tcase_add_test(tc, empty_and_broken_assignments);
    tcase_add_test(tc, stale_and_foreign_responses_are_ignored);
    tcase_add_test(tc, config_is_checked);
    tcase_add_test(tc, config_from_properties);
    suite_add_tcase(s, tc);
    return s;
}
