/* A member that never subscribes (the consumer's manual assignment with a group.id): its
 * commits go to the group coordinator as Kafka's "simple" consumer group commits them
 * (generation -1, empty member id, no instance id), for both group protocols; it finds the
 * coordinator first, follows it when it moves, and fetches committed offsets. Virtual time,
 * scripted coordinator. */
#include <check.h>
#include <string.h>

#include "member_support.h"

static void
commit_ok(mt *t)
{
    kw_offset_commit_resp_partition rp = {3, 0, {0}};
    kw_offset_commit_resp_topic rt = {kw_slice_str("t0"), {{0}}, &rp, 1, {0}};
    kw_offset_commit_resp cr = {0, &rt, 1, {0}};
    mt_reply(t, 8, &cr);
}

/* One simple commit from an unsubscribed member configured by `cfg`. */
static void
simple_commit(const kwi_member_cfg *cfg)
{
    mt t;
    mt_init(&t, cfg);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_UNSUBSCRIBED);
    mt_no_req(&t);
    kwi_member_offset off = {kw_slice_str("t0"), 3, 41, 2, kw_slice_str("md")};
    uint64_t seq = 0;
    ck_assert_int_eq(kwi_member_commit(t.m, &off, 1, &seq), KW_ERR_OK);
    /* The coordinator is unknown: FindCoordinator first, then the commit. */
    mt_find_coordinator(&t, 2);
    const kw_offset_commit_req *q = mt_req(&t, KWI_API_OFFSET_COMMIT);
    ck_assert(t.req.seq == seq);
    ck_assert_int_eq(t.req.node_id, 2);
    ck_assert_int_eq(t.req.min_version, t.req.def->min_ver); /* any version will do */
    mt_str(q->group_id, "g");
    ck_assert_int_eq(q->generation_id_or_member_epoch, -1);
    mt_str(q->member_id, "");
    mt_str(q->group_instance_id, NULL);
    ck_assert_int_eq(q->n_topics, 1);
    ck_assert_int_eq(q->topics[0].partitions[0].partition_index, 3);
    ck_assert_int_eq(q->topics[0].partitions[0].committed_offset, 41);
    ck_assert_int_eq(q->topics[0].partitions[0].committed_leader_epoch, 2);
    mt_str(q->topics[0].partitions[0].committed_metadata, "md");
    commit_ok(&t);
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_COMMIT_DONE);
    ck_assert(ev->seq == seq);
    ck_assert_int_eq(ev->err.code, KW_ERR_OK);
    mt_no_ev(&t);
    mt_no_req(&t);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_UNSUBSCRIBED);

    /* The coordinator moved: the commit fails as retriable, the next one finds the new one. */
    ck_assert_int_eq(kwi_member_commit(t.m, &off, 1, &seq), KW_ERR_OK);
    mt_req(&t, KWI_API_OFFSET_COMMIT);
    kw_offset_commit_resp_partition rp = {3, 16, {0}}; /* NOT_COORDINATOR */
    kw_offset_commit_resp_topic rt = {kw_slice_str("t0"), {{0}}, &rp, 1, {0}};
    kw_offset_commit_resp cr = {0, &rt, 1, {0}};
    mt_reply(&t, 8, &cr);
    ev = mt_ev(&t, KWI_MEMBER_EV_COMMIT_DONE);
    ck_assert_int_eq(ev->err.code, KW_ERR_BROKER);
    ck_assert_int_eq(ev->err.broker_code, 16);
    ck_assert(ev->err.retriable);
    ck_assert_int_eq(kwi_member_coordinator(t.m), -1);
    ck_assert_int_eq(kwi_member_commit(t.m, &off, 1, &seq), KW_ERR_OK);
    mt_find_coordinator(&t, 3);
    q = mt_req(&t, KWI_API_OFFSET_COMMIT);
    ck_assert_int_eq(t.req.node_id, 3);
    ck_assert_int_eq(q->generation_id_or_member_epoch, -1);
    commit_ok(&t);
    ck_assert_int_eq(mt_ev(&t, KWI_MEMBER_EV_COMMIT_DONE)->err.code, KW_ERR_OK);

    /* OffsetFetch goes to the same coordinator, naming no member. */
    kwi_tpset s;
    mt_set(&s, "t0:3");
    ck_assert_int_eq(kwi_member_fetch_offsets(t.m, &s, &seq), KW_ERR_OK);
    kwi_tpset_fini(&s);
    const kw_offset_fetch_req *fq = mt_req(&t, KWI_API_OFFSET_FETCH);
    ck_assert_int_eq(t.req.node_id, 3);
    mt_str(fq->group_id, "g");
    ck_assert_int_eq(fq->groups[0].member_epoch, -1);
    mt_str(fq->groups[0].member_id, NULL);
    mt_no_ev(&t);
    mt_fini(&t);
}

START_TEST(simple_commit_classic)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    cfg.group_instance_id = "static-1"; /* a simple commit never names it */
    simple_commit(&cfg);
}
END_TEST

START_TEST(simple_commit_consumer)
{
    kwi_member_cfg cfg;
    mt_cfg_consumer(&cfg);
    simple_commit(&cfg);
}
END_TEST

/* Once subscribed, commits need a generation again (Java's CommitFailedException while
 * joining); after unsubscribing, simple commits are back. */
START_TEST(subscribed_commits_need_generation)
{
    kwi_member_cfg cfg;
    mt_cfg_classic(&cfg, "range", NULL);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    kwi_member_offset off = {kw_slice_str("t0"), 0, 1, -1, KW_SLICE_NULL};
    ck_assert_int_eq(kwi_member_commit(t.m, &off, 1, NULL), KW_ERR_STATE);
    ck_assert_int_eq(kwi_member_subscribe(t.m, t.now, NULL, 0), KW_ERR_OK);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_UNSUBSCRIBED);
    uint64_t seq = 0;
    ck_assert_int_eq(kwi_member_commit(t.m, &off, 1, &seq), KW_ERR_OK);
    mt_fini(&t);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("group_member_simple");
    TCase *tc = tcase_create("simple");
    tcase_add_test(tc, simple_commit_classic);
    tcase_add_test(tc, simple_commit_consumer);
    tcase_add_test(tc, subscribed_commits_need_generation);
    suite_add_tcase(s, tc);
    return s;
}
