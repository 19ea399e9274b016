/* kwire-mock's group coordinator: committed offsets (OffsetCommit v2-10, OffsetFetch v1-10 in
 * the single- and multi-group forms, all topics, leader epochs and metadata, the group and
 * member checks, coordinator errors), and ListGroups / DescribeGroups / ConsumerGroupDescribe
 * contents and filters. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group_util.h"

/* A classic group of one dynamic member at generation 1, Stable. */
static void
one_member_group(kw_mock *m, int64_t *now, mc *c, const char *group, char *id)
{
    gt_join_args a;
    gt_join_args_init(&a, group, "");
    int32_t corr = gt_join_new(c, &a, id);
    gt_advance(m, now, 3000);
    gt_join j;
    gt_join_recv(c, 5, corr, &j);
    ck_assert_int_eq(j.error, 0);
    ck_assert_int_eq(j.generation, 1);
    int32_t s = gt_sync_send(c, 5, group, 1, id, NULL, NULL, 0);
    ck_assert_int_eq(gt_sync_recv(c, 5, s, NULL, 0, NULL), 0);
}

START_TEST(test_simple_commit_fetch_every_version)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(1, &now, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 3, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "u", 1, 1, NULL), KW_ERR_OK);
    mc *c = gt_coord(m, "simple");
    /* An assign()-only consumer (generation -1) commits at every version; the group is
     * created on the way (a "simple" group). */
    for (int16_t v = 2; v <= 10; v++) {
        char md[16];
        snprintf(md, sizeof(md), "m%d", v);
        ck_assert_int_eq(gt_commit(c, v, "simple", -1, "", NULL, "t", v % 3, 100 + v, 7, md), 0);
    }
    /* Last writers: partition 0 by v9, 1 by v10, 2 by v8; epochs exist from v6. */
    static const int64_t want[3] = {109, 110, 108};
    for (int16_t v = 1; v <= 10; v++)
        for (int32_t p = 0; p < 3; p++) {
            gt_offset o = gt_fetch(c, v, "simple", "t", p);
            ck_assert_int_eq(o.error, 0);
            ck_assert_int_eq(o.group_error, 0);
            ck_assert_int_eq(o.offset, want[p]);
            char md[16];
            snprintf(md, sizeof(md), "m%d", (int)(want[p] - 100));
            ck_assert_str_eq(o.metadata, md);
            if (v >= 5)
                ck_assert_int_eq(o.leader_epoch, 7);
        }
    int64_t off;
    int32_t epoch;
    ck_assert_int_eq(kw_mock_committed_offset(m, "simple", "t", 1, &off, &epoch), KW_ERR_OK);
    ck_assert_int_eq(off, 110);
    ck_assert_int_eq(epoch, 7);
    ck_assert_int_eq(kw_mock_committed_offset(m, "simple", "u", 0, &off, NULL), KW_ERR_NOT_FOUND);
    /* v2-5 commits carry no leader epoch: stored as -1. A null metadata is stored as "". */
    ck_assert_int_eq(gt_commit(c, 5, "simple", -1, "", NULL, "u", 0, 42, 9, NULL), 0);
    gt_offset o = gt_fetch(c, 8, "simple", "u", 0);
    ck_assert_int_eq(o.offset, 42);
    ck_assert_int_eq(o.leader_epoch, -1);
    ck_assert_str_eq(o.metadata, "");
    ck_assert(!o.metadata_null);
    /* No offset: -1; an unknown group is not an error. */
    o = gt_fetch(c, 6, "simple", "t", 2 + 7);
    ck_assert_int_eq(o.error, 0);
    ck_assert_int_eq(o.offset, -1);
    o = gt_fetch(c, 8, "nobody", "t", 0);
    ck_assert_int_eq(o.group_error, 0);
    ck_assert_int_eq(o.offset, -1);
    /* Unknown topics and partitions, too much metadata. */
    ck_assert_int_eq(gt_commit(c, 7, "simple", -1, "", NULL, "nosuch", 0, 1, -1, NULL), 3);
    ck_assert_int_eq(gt_commit(c, 7, "simple", -1, "", NULL, "t", 3, 1, -1, NULL), 3);
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(gt_commit(c, 8, "simple", -1, "", NULL, "t", 0, 1, -1, big), 12);
    ck_assert_int_eq(gt_fetch(c, 8, "simple", "t", 0).offset, 109);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* OffsetFetch with a null topic list: every committed offset of the group. */
static void
fetch_all(mc *c, int16_t ver, const char *group, int32_t *n_topics, char (*names)[16],
          int32_t *n_parts, int64_t (*offsets)[4])
{
    kw_offset_fetch_req_group g;
    memset(&g, 0, sizeof(g));
    g.group_id = kw_slice_str(group);
    g.member_id = KW_SLICE_NULL;
    g.member_epoch = -1;
    g.topics = NULL;
    g.n_topics = -1;
    kw_offset_fetch_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.group_id = kw_slice_str(group);
    rq.n_topics = -1;
    rq.groups = &g;
    rq.n_groups = 1;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_offset_fetch_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_offset_fetch_req, &kw_msg_offset_fetch_resp, ver, &rq, &ar, &r, &f);
    const kw_offset_fetch_resp_topic *t = ver >= 8 ? r.groups[0].topics : r.topics;
    *n_topics = ver >= 8 ? r.groups[0].n_topics : r.n_topics;
    for (int32_t i = 0; i < *n_topics; i++) {
        snprintf(names[i], 16, "%.*s", (int)t[i].name.len, (const char *)t[i].name.ptr);
        n_parts[i] = t[i].n_partitions;
        for (int32_t k = 0; k < t[i].n_partitions && k < 4; k++) {
            ck_assert_int_eq(t[i].partitions[k].partition_index, k);
            offsets[i][k] = t[i].partitions[k].committed_offset;
        }
    }
    free(f);
    kw_arena_fini(&ar);
}

START_TEST(test_fetch_all_topics)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(1, &now, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "b", 2, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "a", 1, 1, NULL), KW_ERR_OK);
    mc *c = gt_coord(m, "all");
    ck_assert_int_eq(gt_commit(c, 8, "all", -1, "", NULL, "b", 1, 21, -1, NULL), 0);
    ck_assert_int_eq(gt_commit(c, 8, "all", -1, "", NULL, "b", 0, 20, -1, NULL), 0);
    ck_assert_int_eq(gt_commit(c, 8, "all", -1, "", NULL, "a", 0, 10, -1, NULL), 0);
    for (int16_t v = 2; v <= 10; v++) {
        int32_t nt, np[4];
        char names[4][16];
        int64_t off[4][4];
        fetch_all(c, v, "all", &nt, names, np, off);
        ck_assert_int_eq(nt, 2); /* topic name order, then partitions */
        ck_assert_str_eq(names[0], v >= 10 ? "" : "a");
        ck_assert_int_eq(np[0], 1);
        ck_assert_int_eq(off[0][0], 10);
        ck_assert_int_eq(np[1], 2);
        ck_assert_int_eq(off[1][0], 20);
        ck_assert_int_eq(off[1][1], 21);
    }
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_member_checks_and_coordinator)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(2, &now, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_coordinator_set(m, KW_MOCK_COORD_GROUP, "cg", 1), KW_ERR_OK);
    mc *c = gt_coord(m, "cg");
    char id[GT_ID];
    one_member_group(m, &now, c, "cg", id);
    ck_assert_int_eq(gt_commit(c, 7, "cg", -1, "", NULL, "t", 0, 1, -1, NULL), 25);
    ck_assert_int_eq(gt_commit(c, 7, "cg", 1, "stranger", NULL, "t", 0, 1, -1, NULL), 25);
    ck_assert_int_eq(gt_commit(c, 7, "cg", 2, id, NULL, "t", 0, 1, -1, NULL), 22);
    ck_assert_int_eq(gt_commit(c, 7, "cg", 1, id, "inst", "t", 0, 1, -1, NULL), 25);
    ck_assert_int_eq(gt_commit(c, 7, "cg", 1, id, NULL, "t", 0, 77, 3, "meta"), 0);
    ck_assert_int_eq(gt_fetch(c, 7, "cg", "t", 0).offset, 77);
    /* No such group with a generation: ILLEGAL_GENERATION before v9, GROUP_ID_NOT_FOUND from
     * v9 (OffsetMetadataManager). */
    ck_assert_int_eq(kw_mock_coordinator_set(m, KW_MOCK_COORD_GROUP, "ghost", 1), KW_ERR_OK);
    ck_assert_int_eq(gt_commit(c, 8, "ghost", 3, "x", NULL, "t", 0, 1, -1, NULL), 22);
    ck_assert_int_eq(gt_commit(c, 9, "ghost", 3, "x", NULL, "t", 0, 1, -1, NULL), 69);
    /* The wrong broker: every form reports NOT_COORDINATOR where its version can. */
    mc *o = mc_connect(m, 2, false);
    ck_assert_int_eq(gt_commit(o, 7, "cg", 1, id, NULL, "t", 0, 1, -1, NULL), 16);
    gt_offset f = gt_fetch(o, 1, "cg", "t", 0);
    ck_assert_int_eq(f.error, 16); /* v1: in the partition */
    ck_assert_int_eq(f.offset, -1);
    for (int16_t v = 2; v <= 10; v++) {
        f = gt_fetch(o, v, "cg", "t", 0);
        ck_assert_int_eq(f.group_error, 16);
        ck_assert_int_eq(f.offset, -2); /* no topics in the answer */
    }
    ck_assert_int_eq(gt_heartbeat(o, 4, "cg", 1, id, NULL), 16);
    int16_t top;
    gt_leave(o, 4, "cg", id, NULL, &top);
    ck_assert_int_eq(top, 16);
    mc_close(o);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* OffsetFetch v8+: several groups at once; each has its own error. */
START_TEST(test_fetch_multi_group)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(2, &now, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 3, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "u", 1, 1, NULL), KW_ERR_OK);
    static const char *const groups[3] = {"ga", "gb", "gc"};
    static const int32_t node[3] = {1, 1, 2};
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(kw_mock_coordinator_set(m, KW_MOCK_COORD_GROUP, groups[i], node[i]),
                         KW_ERR_OK);
    mc *c1 = mc_connect(m, 1, false), *c2 = mc_connect(m, 2, false);
    ck_assert_int_eq(gt_commit(c1, 8, "ga", -1, "", NULL, "t", 0, 5, -1, NULL), 0);
    ck_assert_int_eq(gt_commit(c1, 8, "ga", -1, "", NULL, "t", 1, 6, -1, NULL), 0);
    ck_assert_int_eq(gt_commit(c1, 8, "gb", -1, "", NULL, "u", 0, 7, -1, NULL), 0);
    ck_assert_int_eq(gt_commit(c2, 8, "gc", -1, "", NULL, "t", 0, 9, -1, NULL), 0);
    for (int16_t v = 8; v <= 10; v++) {
        int32_t parts[3] = {0, 1, 2};
        kw_offset_fetch_req_topic t;
        memset(&t, 0, sizeof(t));
        t.name = kw_slice_str("t");
        ck_assert_int_eq(kw_mock_topic_id(m, "t", &t.topic_id), KW_ERR_OK);
        t.partition_indexes = parts;
        t.n_partition_indexes = 3;
        kw_offset_fetch_req_group g[3];
        memset(g, 0, sizeof(g));
        for (int i = 0; i < 3; i++) {
            g[i].group_id = kw_slice_str(groups[i]);
            g[i].member_id = KW_SLICE_NULL;
            g[i].member_epoch = -1;
            g[i].topics = &t;
            g[i].n_topics = 1;
        }
        g[1].topics = NULL; /* all of gb's offsets */
        g[1].n_topics = -1;
        kw_offset_fetch_req rq;
        memset(&rq, 0, sizeof(rq));
        rq.groups = g;
        rq.n_groups = 3;
        rq.require_stable = true;
        kw_arena ar;
        kw_arena_init(&ar, NULL, 0);
        kw_offset_fetch_resp r;
        uint8_t *f;
        mc_call(c1, &kw_msg_offset_fetch_req, &kw_msg_offset_fetch_resp, v, &rq, &ar, &r, &f);
        ck_assert_int_eq(r.n_groups, 3);
        const kw_offset_fetch_resp_group *a = &r.groups[0], *b = &r.groups[1], *cc = &r.groups[2];
        ck_assert(kw_slice_eq(a->group_id, "ga"));
        ck_assert_int_eq(a->error_code, 0);
        ck_assert_int_eq(a->n_topics, 1);
        if (v >= 10)
            ck_assert(memcmp(&a->topics[0].topic_id, &t.topic_id, sizeof(kw_uuid)) == 0);
        ck_assert_int_eq(a->topics[0].n_partitions, 3);
        ck_assert_int_eq(a->topics[0].partitions[0].committed_offset, 5);
        ck_assert_int_eq(a->topics[0].partitions[1].committed_offset, 6);
        ck_assert_int_eq(a->topics[0].partitions[2].committed_offset, -1);
        ck_assert_int_eq(b->error_code, 0);
        ck_assert_int_eq(b->n_topics, 1);
        if (v < 10)
            ck_assert(kw_slice_eq(b->topics[0].name, "u"));
        ck_assert_int_eq(b->topics[0].partitions[0].committed_offset, 7);
        ck_assert_int_eq(cc->error_code, 16);
        ck_assert_int_eq(cc->n_topics, 0);
        free(f);
        kw_arena_fini(&ar);
    }
    mc_close(c1);
    mc_close(c2);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- listing and describing */

typedef struct listed {
    char id[32], type[16], state[32], gtype[16];
} listed;

static int32_t
list_groups(mc *c, int16_t ver, const char *state, const char *type, listed *out)
{
    kw_slice sf = kw_slice_str(state), tf = kw_slice_str(type);
    kw_list_groups_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.states_filter = state ? &sf : NULL;
    rq.n_states_filter = state ? 1 : 0;
    rq.types_filter = type ? &tf : NULL;
    rq.n_types_filter = type ? 1 : 0;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_list_groups_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_list_groups_req, &kw_msg_list_groups_resp, ver, &rq, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 0);
    for (int32_t i = 0; i < r.n_groups; i++) {
        const kw_listed_group *g = &r.groups[i];
        snprintf(out[i].id, sizeof(out[i].id), "%.*s", (int)g->group_id.len,
                 (const char *)g->group_id.ptr);
        snprintf(out[i].type, sizeof(out[i].type), "%.*s", (int)g->protocol_type.len,
                 (const char *)g->protocol_type.ptr);
        snprintf(out[i].state, sizeof(out[i].state), "%.*s", (int)g->group_state.len,
                 (const char *)g->group_state.ptr);
        snprintf(out[i].gtype, sizeof(out[i].gtype), "%.*s", (int)g->group_type.len,
                 (const char *)g->group_type.ptr);
    }
    int32_t n = r.n_groups;
    free(f);
    kw_arena_fini(&ar);
    return n;
}

/* One consumer-group member joining (ConsumerGroupHeartbeat v1, epoch 0). */
static void
consumer_join(mc *c, const char *group, const char *member, const char *topic)
{
    kw_slice names[1] = {kw_slice_str(topic)};
    kw_consumer_group_heartbeat_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.group_id = kw_slice_str(group);
    rq.member_id = kw_slice_str(member);
    rq.instance_id = rq.rack_id = rq.subscribed_topic_regex = rq.server_assignor = KW_SLICE_NULL;
    rq.rebalance_timeout_ms = 30000;
    rq.subscribed_topic_names = names;
    rq.n_subscribed_topic_names = 1;
    rq.topic_partitions = NULL;
    rq.n_topic_partitions = 0;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_consumer_group_heartbeat_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_consumer_group_heartbeat_req, &kw_msg_consumer_group_heartbeat_resp, 1, &rq,
            &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 0);
    free(f);
    kw_arena_fini(&ar);
}

START_TEST(test_list_and_describe)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(2, &now, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 2, 1, NULL), KW_ERR_OK);
    static const char *const ids[4] = {"cls", "simple", "kg", "other"};
    static const int32_t nodes[4] = {1, 1, 1, 2};
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(kw_mock_coordinator_set(m, KW_MOCK_COORD_GROUP, ids[i], nodes[i]),
                         KW_ERR_OK);
    mc *c = mc_connect(m, 1, false), *o = mc_connect(m, 2, false);
    char id[GT_ID];
    one_member_group(m, &now, c, "cls", id);
    ck_assert_int_eq(gt_commit(c, 7, "simple", -1, "", NULL, "t", 0, 1, -1, NULL), 0);
    consumer_join(c, "kg", "member-1", "t");
    ck_assert_int_eq(gt_commit(o, 7, "other", -1, "", NULL, "t", 0, 1, -1, NULL), 0);
    listed l[8];
    for (int16_t v = 0; v <= 5; v++) {
        ck_assert_int_eq(list_groups(c, v, NULL, NULL, l), 3); /* creation order, this broker's */
        ck_assert_str_eq(l[0].id, "cls");
        ck_assert_str_eq(l[0].type, "consumer");
        ck_assert_str_eq(l[1].id, "simple");
        ck_assert_str_eq(l[1].type, "");
        ck_assert_str_eq(l[2].id, "kg");
        ck_assert_str_eq(l[2].type, "consumer");
        if (v >= 4) {
            ck_assert_str_eq(l[0].state, "Stable");
            ck_assert_str_eq(l[1].state, "Empty");
            ck_assert_str_eq(l[2].state, "Stable");
        }
        if (v >= 5) {
            ck_assert_str_eq(l[0].gtype, "classic");
            ck_assert_str_eq(l[2].gtype, "consumer");
        }
    }
    ck_assert_int_eq(list_groups(c, 4, "STABLE", NULL, l), 2); /* case does not matter */
    ck_assert_str_eq(l[1].id, "kg");
    ck_assert_int_eq(list_groups(c, 5, NULL, "Consumer", l), 1);
    ck_assert_str_eq(l[0].id, "kg");
    ck_assert_int_eq(list_groups(c, 5, "empty", "classic", l), 1);
    ck_assert_str_eq(l[0].id, "simple");
    ck_assert_int_eq(list_groups(c, 5, "Dead", NULL, l), 0);
    ck_assert_int_eq(list_groups(o, 5, NULL, NULL, l), 1);
    ck_assert_str_eq(l[0].id, "other");
    /* DescribeGroups: missing and consumer groups are Dead (GROUP_ID_NOT_FOUND from v6). */
    for (int16_t v = 0; v <= 6; v++) {
        kw_slice q[5] = {kw_slice_str("missing"), kw_slice_str("kg"), kw_slice_str("simple"),
                         kw_slice_str("cls"), kw_slice_str("other")};
        kw_describe_groups_req rq = {q, 5, false, {NULL, 0}};
        kw_arena ar;
        kw_arena_init(&ar, NULL, 0);
        kw_describe_groups_resp r;
        uint8_t *f;
        mc_call(c, &kw_msg_describe_groups_req, &kw_msg_describe_groups_resp, v, &rq, &ar, &r, &f);
        ck_assert_int_eq(r.n_groups, 5);
        for (int i = 0; i < 2; i++) {
            ck_assert(kw_slice_eq(r.groups[i].group_state, "Dead"));
            ck_assert_int_eq(r.groups[i].error_code, v >= 6 ? 69 : 0);
            if (v >= 6)
                ck_assert_int_gt(r.groups[i].error_message.len, 0);
        }
        ck_assert(kw_slice_eq(r.groups[2].group_state, "Empty"));
        ck_assert(kw_slice_eq(r.groups[2].protocol_type, ""));
        ck_assert_int_eq(r.groups[2].n_members, 0);
        ck_assert(kw_slice_eq(r.groups[3].group_state, "Stable"));
        ck_assert_int_eq(r.groups[3].n_members, 1);
        ck_assert(kw_slice_eq(r.groups[3].members[0].member_id, id));
        ck_assert_int_eq(r.groups[3].authorized_operations, INT32_MIN); /* not asked for */
        ck_assert_int_eq(r.groups[4].error_code, 16);
        free(f);
        kw_arena_fini(&ar);
    }
    /* ConsumerGroupDescribe refuses classic and unknown groups. */
    kw_slice q[3] = {kw_slice_str("cls"), kw_slice_str("missing"), kw_slice_str("other")};
    kw_consumer_group_describe_req dq = {q, 3, false, {NULL, 0}};
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_consumer_group_describe_resp dr;
    uint8_t *f;
    mc_call(c, &kw_msg_consumer_group_describe_req, &kw_msg_consumer_group_describe_resp, 1, &dq,
            &ar, &dr, &f);
    ck_assert_int_eq(dr.n_groups, 3);
    ck_assert_int_eq(dr.groups[0].error_code, 69);
    ck_assert_int_eq(dr.groups[1].error_code, 69);
    ck_assert_int_eq(dr.groups[2].error_code, 16);
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    mc_close(o);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_group_offsets");
    TCase *tc = tcase_create("offsets");
    tcase_add_test(tc, test_simple_commit_fetch_every_version);
    tcase_add_test(tc, test_fetch_all_topics);
    tcase_add_test(tc, test_member_checks_and_coordinator);
    tcase_add_test(tc, test_fetch_multi_group);
    tcase_add_test(tc, test_list_and_describe);
    suite_add_tcase(s, tc);
    return s;
}
