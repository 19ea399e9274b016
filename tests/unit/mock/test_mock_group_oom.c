/* kwire-mock's group coordinator under memory pressure: the N-th allocation fails, for every N
 * a group scenario makes (FindCoordinator, a classic join with MEMBER_ID_REQUIRED and a
 * completion from a timer, SyncGroup, Heartbeat, OffsetCommit, OffsetFetch of all topics,
 * ListGroups, DescribeGroups, KIP-848 heartbeats with an assignment, ConsumerGroupDescribe,
 * LeaveGroup, cluster teardown with groups alive). The broker must never crash, never swallow a
 * request (each gets an answer or a closed connection), and free exactly what it allocated with
 * the sizes it allocated. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../support/failalloc.h"
#include "group_util.h"

/* Sends one request and returns its answer frame (the caller frees it), or NULL if the
 * connection closed. Fails the test if neither happens. */
static uint8_t *
exchange(mc *c, const kw_msgdef *req, int16_t ver, const void *msg, size_t *n)
{
    if (c->eof)
        return NULL;
    mc_send(c, req, ver, msg);
    uint8_t *f = mc_recv_frame(c, MC_WAIT_MS, n);
    ck_assert_msg(f || c->eof, "%s was neither answered nor refused", req->name);
    return f;
}

static bool
call(mc *c, const kw_msgdef *req, int16_t ver, const void *msg)
{
    size_t n;
    uint8_t *f = exchange(c, req, ver, msg, &n);
    free(f);
    return f != NULL;
}

/* A JoinGroup v5; copies the answer's member id to id (when answered). */
static bool
join(mc *c, const char *member, char *id)
{
    static const uint8_t meta[] = {0, 3, 0, 0, 0, 1, 0, 1, 't', 0xff, 0xff, 0xff, 0xff};
    kw_join_group_req_protocol p = {kw_slice_str("range"), {meta, sizeof(meta)}, {NULL, 0}};
    kw_join_group_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.group_id = kw_slice_str("g");
    rq.session_timeout_ms = 10000;
    rq.rebalance_timeout_ms = 10000;
    rq.member_id = kw_slice_str(member);
    rq.group_instance_id = rq.reason = KW_SLICE_NULL;
    rq.protocol_type = kw_slice_str("consumer");
    rq.protocols = &p;
    rq.n_protocols = 1;
    size_t n;
    uint8_t *f = exchange(c, &kw_msg_join_group_req, 5, &rq, &n);
    if (!f)
        return false;
    kw_rd rd;
    kw_rd_init(&rd, f, n);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_resp_hdr h;
    kw_join_group_resp r;
    ck_assert_int_eq(kw_resp_hdr_decode(&rd, 0, &ar, &h), KW_ERR_OK);
    ck_assert_int_eq(kw_msg_decode(&kw_msg_join_group_resp, 5, &rd, &ar, &r), KW_ERR_OK);
    if (r.member_id.len > 0 && r.member_id.len < GT_ID) {
        memcpy(id, r.member_id.ptr, (size_t)r.member_id.len);
        id[r.member_id.len] = '\0';
    }
    kw_arena_fini(&ar);
    free(f);
    return true;
}

static bool
classic_part(mc *c)
{
    kw_slice key = kw_slice_str("g");
    kw_find_coordinator_req fq = {key, 0, &key, 1, {NULL, 0}};
    bool all = call(c, &kw_msg_find_coordinator_req, 4, &fq);
    char id[GT_ID] = "";
    all &= join(c, "", id);
    all &= join(c, id, id);
    uint8_t asg[64];
    int32_t parts[2] = {0, 1};
    int32_t alen = gt_assignment(asg, sizeof(asg), "t", parts, 2);
    kw_sync_group_req_assignment sa = {kw_slice_str(id), {asg, alen}, {NULL, 0}};
    kw_sync_group_req sq = {kw_slice_str("g"),
                            1,
                            kw_slice_str(id),
                            KW_SLICE_NULL,
                            kw_slice_str("consumer"),
                            kw_slice_str("range"),
                            &sa,
                            1,
                            {NULL, 0}};
    all &= call(c, &kw_msg_sync_group_req, 5, &sq);
    kw_heartbeat_req hq = {kw_slice_str("g"), 1, kw_slice_str(id), KW_SLICE_NULL, {NULL, 0}};
    all &= call(c, &kw_msg_heartbeat_req, 4, &hq);
    kw_offset_commit_req_partition cp = {0, 42, 3, kw_slice_str("md"), {NULL, 0}};
    kw_offset_commit_req_topic ct = {kw_slice_str("t"), {{0}}, &cp, 1, {NULL, 0}};
    kw_offset_commit_req cq = {kw_slice_str("g"), 1, kw_slice_str(id), KW_SLICE_NULL, -1, &ct, 1,
                               {NULL, 0}};
    all &= call(c, &kw_msg_offset_commit_req, 8, &cq);
    kw_offset_fetch_req_group og = {kw_slice_str("g"), KW_SLICE_NULL, -1, NULL, -1, {NULL, 0}};
    kw_offset_fetch_req oq;
    memset(&oq, 0, sizeof(oq));
    oq.groups = &og;
    oq.n_groups = 1;
    all &= call(c, &kw_msg_offset_fetch_req, 8, &oq);
    kw_list_groups_req lq = {NULL, 0, NULL, 0, {NULL, 0}};
    all &= call(c, &kw_msg_list_groups_req, 5, &lq);
    kw_describe_groups_req dq = {&key, 1, true, {NULL, 0}};
    all &= call(c, &kw_msg_describe_groups_req, 5, &dq);
    return all;
}

static bool
consumer_part(mc *c)
{
    kw_slice names[1] = {kw_slice_str("t")};
    kw_consumer_group_heartbeat_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.group_id = kw_slice_str("k");
    rq.member_id = kw_slice_str("m1");
    rq.instance_id = rq.rack_id = rq.server_assignor = KW_SLICE_NULL;
    rq.subscribed_topic_regex = kw_slice_str("t.*");
    rq.rebalance_timeout_ms = 10000;
    rq.subscribed_topic_names = names;
    rq.n_subscribed_topic_names = 1;
    rq.n_topic_partitions = 0;
    bool all = call(c, &kw_msg_consumer_group_heartbeat_req, 1, &rq);
    rq.member_id = kw_slice_str("m2");
    all &= call(c, &kw_msg_consumer_group_heartbeat_req, 1, &rq);
    kw_slice key = kw_slice_str("k");
    kw_consumer_group_describe_req dq = {&key, 1, true, {NULL, 0}};
    all &= call(c, &kw_msg_consumer_group_describe_req, 1, &dq);
    kw_leave_group_member_identity li = {
        kw_slice_str("nobody"), KW_SLICE_NULL, KW_SLICE_NULL, {NULL, 0}};
    kw_leave_group_req lq = {kw_slice_str("g"), KW_SLICE_NULL, &li, 1, {NULL, 0}};
    all &= call(c, &kw_msg_leave_group_req, 4, &lq);
    return all;
}

static bool
scenario(failing *fa)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    kw_allocator a = kwt_failing_allocator(fa);
    conf.alloc = &a;
    kw_mock *m = NULL;
    if (kw_mock_new(&conf, &m, NULL) != KW_ERR_OK) {
        ck_assert_ptr_null(m);
        return false;
    }
    kw_mock_group_conf gc;
    kw_mock_group_conf_init(&gc);
    gc.initial_rebalance_delay_ms = 0; /* the join completes from a timer at once */
    ck_assert_int_eq(kw_mock_group_conf_set(m, &gc), KW_ERR_OK);
    bool all = kw_mock_topic_create(m, "t", 2, 1, NULL) == KW_ERR_OK;
    mc *c = mc_connect(m, 1, false);
    all &= classic_part(c);
    mc_close(c);
    c = mc_connect(m, 1, false);
    all &= consumer_part(c);
    mc_close(c);
    kw_mock_free(m);
    return all;
}

START_TEST(test_group_allocation_failures)
{
    failing clean = {-1, 0, 0, false};
    ck_assert(scenario(&clean));
    ck_assert_int_eq(clean.live, 0);
    ck_assert(!clean.size_mismatch);
    ck_assert_int_gt(clean.calls, 50);
    for (long n = 0; n < clean.calls; n++) {
        failing fa = {n, 0, 0, false};
        scenario(&fa);
        ck_assert_msg(fa.live == 0, "failing allocation %ld: %lld bytes leaked", n, fa.live);
        ck_assert_msg(!fa.size_mismatch, "failing allocation %ld: a free named the wrong size", n);
    }
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_group_oom");
    TCase *tc = tcase_create("oom");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_group_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
