/* kwire-mock's group coordinator, classic protocol: FindCoordinator placement and overrides, a
 * full join of three members (member-id-required, the delayed initial join, protocol votes,
 * the leader's view, SyncGroup distributing the leader's bytes), rebalances on join, leave,
 * session expiry and rebalance timeout (virtual clock), static membership (replacement
 * without rebalance, fencing of the old id, KIP-814 SkipAssignment), and error answers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group_util.h"

/* ---------------------------------------------------------------- FindCoordinator */

typedef struct fc_answer {
    int16_t error;
    int32_t node, port;
    char host[32];
} fc_answer;

static fc_answer
find_coordinator(mc *c, int16_t ver, int8_t type, const char *key, const char *key2,
                 fc_answer *second)
{
    kw_slice keys[2] = {kw_slice_str(key), kw_slice_str(key2 ? key2 : "")};
    kw_find_coordinator_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.key = keys[0];
    rq.key_type = type;
    rq.coordinator_keys = keys;
    rq.n_coordinator_keys = key2 ? 2 : 1;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_find_coordinator_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_find_coordinator_req, &kw_msg_find_coordinator_resp, ver, &rq, &ar, &r, &f);
    fc_answer a[2];
    memset(a, 0, sizeof(a));
    if (ver < 4) {
        a[0].error = r.error_code;
        a[0].node = r.node_id;
        a[0].port = r.port;
        snprintf(a[0].host, sizeof(a[0].host), "%.*s", (int)r.host.len, (const char *)r.host.ptr);
    } else {
        ck_assert_int_eq(r.n_coordinators, key2 ? 2 : 1);
        for (int32_t i = 0; i < r.n_coordinators; i++) {
            ck_assert(kw_slice_eq(r.coordinators[i].key, i ? key2 : key));
            a[i].error = r.coordinators[i].error_code;
            a[i].node = r.coordinators[i].node_id;
            a[i].port = r.coordinators[i].port;
            snprintf(a[i].host, sizeof(a[i].host), "%.*s", (int)r.coordinators[i].host.len,
                     (const char *)r.coordinators[i].host.ptr);
        }
    }
    if (second)
        *second = a[1];
    free(f);
    kw_arena_fini(&ar);
    return a[0];
}

START_TEST(test_find_coordinator)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(3, &now, NULL);
    /* Kafka's placement: abs(String.hashCode) % 50, here spread as partition % 3 + 1. Values
     * computed with Java's hash: "my-group" -1906497762 (partition 12), "orders" -1008770331
     * (31), "grüße" 98768023 (23), an emoji key 1276929186 (36, a surrogate pair). */
    ck_assert_int_eq(kw_mock_coordinator(m, KW_MOCK_COORD_GROUP, "my-group"), 1);
    ck_assert_int_eq(kw_mock_coordinator(m, KW_MOCK_COORD_GROUP, "orders"), 2);
    ck_assert_int_eq(kw_mock_coordinator(m, KW_MOCK_COORD_GROUP,
                                         "gr\xc3\xbc\xc3\x9f"
                                         "e"),
                     3);
    ck_assert_int_eq(kw_mock_coordinator(m, KW_MOCK_COORD_GROUP, "\xf0\x9f\x98\x80grp"), 1);
    ck_assert_int_eq(kw_mock_coordinator(m, KW_MOCK_COORD_TXN, "orders"), 2);
    mc *c = mc_connect(m, 1, false);
    for (int16_t v = 0; v <= 6; v++) {
        fc_answer b;
        fc_answer a = find_coordinator(c, v, 0, "orders",
                                       v >= 4 ? "gr\xc3\xbc\xc3\x9f"
                                                "e"
                                              : NULL,
                                       &b);
        ck_assert_int_eq(a.error, 0);
        ck_assert_int_eq(a.node, 2);
        ck_assert_int_eq(a.port, kw_mock_broker_port(m, 2));
        ck_assert_str_eq(a.host, "127.0.0.1");
        if (v >= 4) {
            ck_assert_int_eq(b.node, 3);
            ck_assert_int_eq(b.port, kw_mock_broker_port(m, 3));
        }
        if (v >= 1) {
            ck_assert_int_eq(find_coordinator(c, v, 1, "orders", NULL, NULL).node, 2);
            a = find_coordinator(c, v, 9, "orders", NULL, NULL);
            ck_assert_int_eq(a.error, 42); /* INVALID_REQUEST: no such key type */
            ck_assert_int_eq(a.node, -1);
        }
    }
    /* Moving a coordinator (groups and transactional ids separately), and back. */
    ck_assert_int_eq(kw_mock_coordinator_set(m, KW_MOCK_COORD_GROUP, "orders", 3), KW_ERR_OK);
    ck_assert_int_eq(find_coordinator(c, 3, 0, "orders", NULL, NULL).node, 3);
    ck_assert_int_eq(find_coordinator(c, 3, 1, "orders", NULL, NULL).node, 2);
    ck_assert_int_eq(kw_mock_coordinator_set(m, KW_MOCK_COORD_GROUP, "orders", -1), KW_ERR_OK);
    ck_assert_int_eq(find_coordinator(c, 6, 0, "orders", NULL, NULL).node, 2);
    ck_assert_int_eq(kw_mock_coordinator_set(m, KW_MOCK_COORD_GROUP, "orders", 4),
                     KW_ERR_NOT_FOUND);
    ck_assert_int_eq(kw_mock_coordinator_set(m, 5, "orders", 1), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_mock_coordinator_set(m, 0, NULL, 1), KW_ERR_INVALID_ARG);
    /* Group requests that reach another broker: NOT_COORDINATOR. */
    gt_join_args a;
    gt_join_args_init(&a, "orders", "");
    ck_assert_int_eq(gt_join_call(c, 5, &a).error, 16);
    ck_assert_int_eq(gt_heartbeat(c, 3, "orders", 1, "x", NULL), 16);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(gt_commit(c, 7, "orders", -1, "", NULL, "t", 0, 1, -1, NULL), 16);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- a full join */

static int32_t
assign_bytes(uint8_t *buf, size_t cap, int first, int n)
{
    int32_t parts[8];
    for (int i = 0; i < n; i++)
        parts[i] = first + i;
    return gt_assignment(buf, cap, "t", parts, n);
}

/* DescribeGroups after the three-member join: Stable, the protocol, and each member's
 * metadata and assignment exactly as sent. */
static void
check_described(mc *c, char (*id)[GT_ID], uint8_t (*meta)[64], const int32_t *meta_len,
                uint8_t (*asg)[64], const int32_t *asg_len)
{
    kw_slice gid = kw_slice_str("grp");
    kw_describe_groups_req dq = {&gid, 1, true, {NULL, 0}};
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_describe_groups_resp dr;
    uint8_t *f;
    mc_call(c, &kw_msg_describe_groups_req, &kw_msg_describe_groups_resp, 5, &dq, &ar, &dr, &f);
    ck_assert_int_eq(dr.n_groups, 1);
    const kw_described_group *g = &dr.groups[0];
    ck_assert_int_eq(g->error_code, 0);
    ck_assert(kw_slice_eq(g->group_state, "Stable"));
    ck_assert(kw_slice_eq(g->protocol_type, "consumer"));
    ck_assert(kw_slice_eq(g->protocol_data, "range"));
    ck_assert_int_ne(g->authorized_operations, INT32_MIN);
    ck_assert_int_eq(g->n_members, 3);
    for (int i = 0; i < 3; i++) {
        const kw_described_group_member *d = &g->members[i];
        ck_assert(kw_slice_eq(d->member_id, id[i]));
        ck_assert(kw_slice_eq(d->client_id, "kwire-test"));
        ck_assert(kw_slice_eq(d->client_host, "/127.0.0.1"));
        ck_assert_int_eq(d->member_metadata.len, meta_len[i]);
        ck_assert(memcmp(d->member_metadata.ptr, meta[i], (size_t)meta_len[i]) == 0);
        ck_assert_int_eq(d->member_assignment.len, asg_len[i]);
        ck_assert(memcmp(d->member_assignment.ptr, asg[i], (size_t)asg_len[i]) == 0);
    }
    free(f);
    kw_arena_fini(&ar);
}

START_TEST(test_join_three_members)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(1, &now, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 6, 1, NULL), KW_ERR_OK);
    mc *c[3];
    char id[3][GT_ID];
    uint8_t meta[3][64];
    int32_t meta_len[3];
    gt_join_args a[3];
    /* Distinct metadata per member, so the leader's view can be checked member by member. */
    static const char *const topics[3] = {"t", "t-other", "t-third"};
    /* Votes: range, roundrobin (m2 prefers it), range: range wins. */
    static const char *const prefs[3][2] = {
        {"range", "roundrobin"}, {"roundrobin", "range"}, {"range", "roundrobin"}};
    for (int i = 0; i < 3; i++) {
        c[i] = gt_coord(m, "grp");
        meta_len[i] = gt_subscription(meta[i], sizeof(meta[i]), topics[i]);
        gt_join_args_init(&a[i], "grp", "");
        a[i].protocols[0] = prefs[i][0];
        a[i].protocols[1] = prefs[i][1];
        a[i].n_protocols = 2;
        a[i].meta = meta[i];
        a[i].meta_len = meta_len[i];
    }
    int32_t corr[3];
    corr[0] = gt_join_new(c[0], &a[0], id[0]);
    ck_assert_int_eq(strncmp(id[0], "kwire-test-", 11), 0); /* client id + "-" + UUID */
    ck_assert_int_eq(strlen(id[0]), 11 + 36);
    gt_advance(m, &now, 1000);
    corr[1] = gt_join_new(c[1], &a[1], id[1]);
    corr[2] = gt_join_new(c[2], &a[2], id[2]);
    /* The initial delay (3000) ends at +3000 but members arrived meanwhile: one more delay. */
    gt_advance(m, &now, 2000);
    for (int i = 0; i < 3; i++)
        ck_assert(mc_quiet(c[i], 20));
    gt_advance(m, &now, 3000);
    gt_join j[3];
    for (int i = 0; i < 3; i++) {
        gt_join_recv(c[i], 5, corr[i], &j[i]);
        ck_assert_int_eq(j[i].error, 0);
        ck_assert_int_eq(j[i].generation, 1);
        ck_assert_str_eq(j[i].member_id, id[i]);
        ck_assert_str_eq(j[i].leader, id[0]);
        ck_assert_str_eq(j[i].protocol_name, "range");
    }
    /* The leader sees every member, in join order, with the metadata it sent. */
    ck_assert_int_eq(j[0].n_members, 3);
    ck_assert_int_eq(j[1].n_members, 0);
    ck_assert_int_eq(j[2].n_members, 0);
    for (int i = 0; i < 3; i++) {
        ck_assert_str_eq(j[0].members[i].id, id[i]);
        ck_assert(!j[0].members[i].has_instance);
        ck_assert_int_eq(j[0].members[i].meta_len, meta_len[i]);
        ck_assert(memcmp(j[0].members[i].meta, meta[i], (size_t)meta_len[i]) == 0);
    }
    /* Followers wait in SyncGroup until the leader's assignment arrives. */
    int32_t s1 = gt_sync_send(c[1], 3, "grp", 1, id[1], NULL, NULL, 0);
    int32_t s2 = gt_sync_send(c[2], 4, "grp", 1, id[2], NULL, NULL, 0);
    gt_settle(m);
    ck_assert(mc_quiet(c[1], 20));
    ck_assert(mc_quiet(c[2], 20));
    uint8_t asg[3][64];
    int32_t asg_len[3];
    gt_assign as[3];
    for (int i = 0; i < 3; i++) {
        asg_len[i] = assign_bytes(asg[i], sizeof(asg[i]), 2 * i, 2);
        as[i] = (gt_assign){id[i], asg[i], asg_len[i]};
    }
    int32_t s0 = gt_sync_send(c[0], 5, "grp", 1, id[0], NULL, as, 3);
    int32_t sc[3] = {s0, s1, s2};
    int16_t sv[3] = {5, 3, 4};
    for (int i = 0; i < 3; i++) {
        uint8_t got[64];
        int32_t len;
        ck_assert_int_eq(gt_sync_recv(c[i], sv[i], sc[i], got, sizeof(got), &len), 0);
        ck_assert_int_eq(len, asg_len[i]);
        ck_assert(memcmp(got, asg[i], (size_t)len) == 0);
    }
    check_described(c[0], id, meta, meta_len, asg, asg_len);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(gt_heartbeat(c[i], 4, "grp", 1, id[i], NULL), 0);
        ck_assert_int_eq(gt_heartbeat(c[i], 0, "grp", 0, id[i], NULL), 22); /* ILLEGAL_GENERATION */
        mc_close(c[i]);
    }
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- member ids */

START_TEST(test_member_id_required)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(1, &now, NULL);
    mc *c = mc_connect(m, 1, false);
    gt_join_args a;
    gt_join_args_init(&a, "p", "");
    /* v4+: a dynamic member gets an id and must come back with it (KIP-394). */
    for (int16_t v = 4; v <= 9; v++) {
        gt_join j = gt_join_call(c, v, &a);
        ck_assert_int_eq(j.error, 79);
        ck_assert_int_eq(j.generation, -1);
        ck_assert_int_eq(strncmp(j.member_id, "kwire-test-", 11), 0);
        ck_assert_int_eq(j.n_members, 0);
        if (v >= 7)
            ck_assert(j.protocol_name_null);
    }
    /* A pending id expires after the session timeout; coming back with it is then unknown. */
    gt_join j = gt_join_call(c, 5, &a);
    char id[GT_ID];
    strcpy(id, j.member_id);
    gt_advance(m, &now, a.session_ms + 1);
    gt_join_args b = a;
    b.member = id;
    ck_assert_int_eq(gt_join_call(c, 5, &b).error, 25);
    /* Before v4 the member joins at once, with a generated id. */
    gt_join_args_init(&a, "old", "");
    int32_t corr = gt_join_send(c, 3, &a);
    gt_advance(m, &now, 3000);
    gt_join_recv(c, 3, corr, &j);
    ck_assert_int_eq(j.error, 0);
    ck_assert_int_eq(j.generation, 1);
    ck_assert_int_eq(strncmp(j.member_id, "kwire-test-", 11), 0);
    ck_assert_str_eq(j.leader, j.member_id);
    ck_assert_int_eq(j.n_members, 1);
    /* A known member id on a group that does not exist. */
    gt_join_args_init(&a, "nope", "someone");
    j = gt_join_call(c, 5, &a);
    ck_assert_int_eq(j.error, 25);
    ck_assert_str_eq(j.member_id, "someone");
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- rebalances */

/* Forms a Stable group of n dynamic members (first is the leader); returns the generation. */
static int32_t
form(kw_mock *m, int64_t *now, const char *group, int n, mc **c, char (*id)[GT_ID])
{
    int32_t corr[GT_MAX_MEMBERS];
    for (int i = 0; i < n; i++) {
        c[i] = gt_coord(m, group);
        gt_join_args a;
        gt_join_args_init(&a, group, "");
        corr[i] = gt_join_new(c[i], &a, id[i]);
    }
    /* The initial delay, once more when others joined during it (KIP-134). */
    gt_advance(m, now, 3000);
    if (n > 1)
        gt_advance(m, now, 3000);
    int32_t gen = -1;
    for (int i = 0; i < n; i++) {
        gt_join j;
        gt_join_recv(c[i], 5, corr[i], &j);
        ck_assert_int_eq(j.error, 0);
        gen = j.generation;
    }
    int32_t sc[GT_MAX_MEMBERS];
    for (int i = n - 1; i >= 0; i--) /* the leader last: followers wait for it */
        sc[i] = gt_sync_send(c[i], 5, group, gen, id[i], NULL, NULL, 0);
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(gt_sync_recv(c[i], 5, sc[i], NULL, 0, NULL), 0);
    return gen;
}

/* Rejoins members `who` (indexes) after a rebalance started; returns the new generation and
 * checks the leader and that it sees `total` members. */
static int32_t
rejoin(mc **c, char (*id)[GT_ID], const char *group, const int *who, int n, int leader, int total)
{
    int32_t corr[GT_MAX_MEMBERS];
    for (int i = 0; i < n; i++) {
        gt_join_args a;
        gt_join_args_init(&a, group, id[who[i]]);
        corr[i] = gt_join_send(c[who[i]], 5, &a);
    }
    int32_t gen = -1;
    for (int i = 0; i < n; i++) {
        gt_join j;
        gt_join_recv(c[who[i]], 5, corr[i], &j);
        ck_assert_int_eq(j.error, 0);
        ck_assert_str_eq(j.leader, id[leader]);
        ck_assert_int_eq(j.n_members, who[i] == leader ? total : 0);
        gen = j.generation;
    }
    return gen;
}

START_TEST(test_rebalance_on_join_and_leave)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(1, &now, NULL);
    mc *c[3];
    char id[3][GT_ID];
    int32_t gen = form(m, &now, "r", 2, c, id);
    ck_assert_int_eq(gen, 1);
    /* A third member joins: the others are told to rejoin; the join completes when they do. */
    c[2] = gt_coord(m, "r");
    gt_join_args a;
    gt_join_args_init(&a, "r", "");
    int32_t corr = gt_join_new(c[2], &a, id[2]);
    gt_settle(m);
    ck_assert_int_eq(gt_heartbeat(c[0], 4, "r", 1, id[0], NULL), 27);
    ck_assert_int_eq(gt_heartbeat(c[1], 4, "r", 1, id[1], NULL), 27);
    char state[32];
    ck_assert_int_eq(gt_describe(c[0], "r", state, sizeof(state), NULL), 0);
    ck_assert_str_eq(state, "PreparingRebalance");
    /* A commit with the current generation is still accepted while preparing. */
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(gt_commit(c[0], 7, "r", 1, id[0], NULL, "t", 0, 5, -1, NULL), 0);
    static const int ab[] = {0, 1};
    int32_t g2 = rejoin(c, id, "r", ab, 2, 0, 3);
    gt_join j;
    gt_join_recv(c[2], 5, corr, &j);
    ck_assert_int_eq(j.generation, 2);
    ck_assert_int_eq(g2, 2);
    /* Completing: a commit is refused with REBALANCE_IN_PROGRESS until the sync. */
    ck_assert_int_eq(gt_commit(c[0], 7, "r", 2, id[0], NULL, "t", 0, 6, -1, NULL), 27);
    int32_t s1 = gt_sync_send(c[1], 5, "r", 2, id[1], NULL, NULL, 0);
    int32_t s2 = gt_sync_send(c[2], 5, "r", 2, id[2], NULL, NULL, 0);
    int32_t s0 = gt_sync_send(c[0], 5, "r", 2, id[0], NULL, NULL, 0);
    ck_assert_int_eq(gt_sync_recv(c[0], 5, s0, NULL, 0, NULL), 0);
    ck_assert_int_eq(gt_sync_recv(c[1], 5, s1, NULL, 0, NULL), 0);
    ck_assert_int_eq(gt_sync_recv(c[2], 5, s2, NULL, 0, NULL), 0);
    /* Member 1 leaves (v3 batch form): the rest rebalance without it. */
    ck_assert_int_eq(gt_leave(c[1], 3, "r", id[1], NULL, NULL), 0);
    ck_assert_int_eq(gt_heartbeat(c[1], 4, "r", 2, id[1], NULL), 25);
    ck_assert_int_eq(gt_heartbeat(c[2], 4, "r", 2, id[2], NULL), 27);
    static const int ac[] = {0, 2};
    ck_assert_int_eq(rejoin(c, id, "r", ac, 2, 0, 2), 3);
    /* The leader leaves (v0 form): member 2 leads generation 4 alone. */
    int16_t top;
    ck_assert_int_eq(gt_leave(c[0], 0, "r", id[0], NULL, &top), 0);
    ck_assert_int_eq(top, 0);
    static const int solo[] = {2};
    ck_assert_int_eq(rejoin(c, id, "r", solo, 1, 2, 1), 4);
    /* Unknown members and groups. */
    ck_assert_int_eq(gt_leave(c[0], 3, "r", id[0], NULL, &top), 25);
    ck_assert_int_eq(gt_leave(c[0], 1, "r", id[0], NULL, &top), 25);
    ck_assert_int_eq(gt_leave(c[0], 4, "none", "x", NULL, &top), 25);
    ck_assert_int_eq(top, 25);
    for (int i = 0; i < 3; i++)
        mc_close(c[i]);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_session_expiry_and_rebalance_timeout)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(1, &now, NULL);
    mc *c[3];
    char id[3][GT_ID];
    form(m, &now, "s", 2, c, id);
    /* Session 10000: member 0 heartbeats, member 1 goes silent and expires. */
    gt_advance(m, &now, 6000);
    ck_assert_int_eq(gt_heartbeat(c[0], 4, "s", 1, id[0], NULL), 0);
    gt_advance(m, &now, 4001);
    ck_assert_int_eq(gt_heartbeat(c[0], 4, "s", 1, id[0], NULL), 27);
    ck_assert_int_eq(gt_heartbeat(c[1], 4, "s", 1, id[1], NULL), 25);
    static const int solo[] = {0};
    ck_assert_int_eq(rejoin(c, id, "s", solo, 1, 0, 1), 2);
    int32_t s0 = gt_sync_send(c[0], 5, "s", 2, id[0], NULL, NULL, 0);
    ck_assert_int_eq(gt_sync_recv(c[0], 5, s0, NULL, 0, NULL), 0);
    /* Rebalance timeout: member 1 rejoins as new, member 0 keeps heartbeating (27) but never
     * rejoins; at the rebalance timeout (20000) the join completes without it. */
    gt_join_args a;
    gt_join_args_init(&a, "s", "");
    int32_t corr = gt_join_new(c[1], &a, id[1]);
    gt_settle(m);
    for (int i = 0; i < 2; i++) {
        gt_advance(m, &now, 9000);
        ck_assert_int_eq(gt_heartbeat(c[0], 4, "s", 2, id[0], NULL), 27);
        ck_assert(mc_quiet(c[1], 10));
    }
    gt_advance(m, &now, 2000);
    gt_join j;
    gt_join_recv(c[1], 5, corr, &j);
    ck_assert_int_eq(j.error, 0);
    ck_assert_int_eq(j.generation, 3);
    ck_assert_str_eq(j.leader, id[1]);
    ck_assert_int_eq(j.n_members, 1);
    ck_assert_int_eq(gt_heartbeat(c[0], 4, "s", 2, id[0], NULL), 25);
    /* A member that never sends SyncGroup is removed after the rebalance timeout. */
    gt_advance(m, &now, 20001);
    char state[32];
    int32_t n;
    ck_assert_int_eq(gt_describe(c[1], "s", state, sizeof(state), &n), 0);
    ck_assert_str_eq(state, "Empty");
    ck_assert_int_eq(n, 0);
    for (int i = 0; i < 2; i++)
        mc_close(c[i]);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- static membership */

START_TEST(test_static_membership)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(1, &now, NULL);
    mc *s = gt_coord(m, "st"), *d = gt_coord(m, "st");
    gt_join_args a;
    gt_join_args_init(&a, "st", "");
    a.instance = "i1";
    /* A static member never gets MEMBER_ID_REQUIRED; its id starts with its instance id. */
    int32_t cs = gt_join_send(s, 5, &a);
    gt_settle(m);
    gt_join_args b;
    gt_join_args_init(&b, "st", "");
    char did[GT_ID];
    int32_t cd = gt_join_new(d, &b, did);
    gt_advance(m, &now, 3000);
    gt_advance(m, &now, 3000);
    gt_join js, jd;
    gt_join_recv(s, 5, cs, &js);
    gt_join_recv(d, 5, cd, &jd);
    ck_assert_int_eq(js.error, 0);
    ck_assert_int_eq(strncmp(js.member_id, "i1-", 3), 0);
    ck_assert_str_eq(js.leader, js.member_id);
    ck_assert_int_eq(js.n_members, 2);
    ck_assert(js.members[0].has_instance);
    ck_assert_str_eq(js.members[0].instance, "i1");
    uint8_t asg[64];
    int32_t alen = assign_bytes(asg, sizeof(asg), 0, 1);
    gt_assign as[1] = {{js.member_id, asg, alen}};
    int32_t sd = gt_sync_send(d, 5, "st", 1, did, NULL, NULL, 0);
    int32_t ss = gt_sync_send(s, 5, "st", 1, js.member_id, "i1", as, 1);
    ck_assert_int_eq(gt_sync_recv(s, 5, ss, NULL, 0, NULL), 0);
    ck_assert_int_eq(gt_sync_recv(d, 5, sd, NULL, 0, NULL), 0);
    /* The static member restarts (v5): a new id, no rebalance, the old id is fenced. The
     * answer names the old leader id so the new instance does not run the assignor. */
    mc *s2 = gt_coord(m, "st");
    gt_join j = gt_join_call(s2, 5, &a);
    ck_assert_int_eq(j.error, 0);
    ck_assert_int_eq(j.generation, 1);
    ck_assert_str_ne(j.member_id, js.member_id);
    ck_assert_int_eq(strncmp(j.member_id, "i1-", 3), 0);
    ck_assert_str_eq(j.leader, js.member_id);
    ck_assert_int_eq(j.n_members, 0);
    ck_assert_int_eq(gt_heartbeat(d, 4, "st", 1, did, NULL), 0); /* no rebalance */
    ck_assert_int_eq(gt_heartbeat(s, 4, "st", 1, js.member_id, "i1"), 82);
    ck_assert_int_eq(gt_commit(s, 7, "st", 1, js.member_id, "i1", "t", 0, 1, -1, NULL), 3);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(gt_commit(s, 7, "st", 1, js.member_id, "i1", "t", 0, 1, -1, NULL), 82);
    ck_assert_int_eq(gt_heartbeat(s2, 4, "st", 1, j.member_id, "i1"), 0);
    ck_assert_int_eq(gt_heartbeat(s2, 4, "st", 1, j.member_id, "i2"), 25); /* unknown instance */
    /* The new id syncs in the Stable group and gets the assignment the old one had. */
    uint8_t got[64];
    int32_t glen;
    int32_t s2c = gt_sync_send(s2, 5, "st", 1, j.member_id, "i1", NULL, 0);
    ck_assert_int_eq(gt_sync_recv(s2, 5, s2c, got, sizeof(got), &glen), 0);
    ck_assert_int_eq(glen, alen);
    ck_assert(memcmp(got, asg, (size_t)alen) == 0);
    /* v9 (KIP-814): the restarted leader learns it leads but must not reassign. */
    char prev[GT_ID];
    strcpy(prev, j.member_id);
    j = gt_join_call(s, 9, &a);
    ck_assert_int_eq(j.error, 0);
    ck_assert(j.skip_assignment);
    ck_assert_str_eq(j.leader, j.member_id);
    ck_assert_int_eq(j.n_members, 2);
    ck_assert_int_eq(gt_heartbeat(s2, 4, "st", 1, prev, "i1"), 82);
    /* A parked JoinGroup of an instance that gets replaced is fenced at once: a new member
     * starts a rebalance, the static member's current id rejoins (parked, the dynamic member
     * has not rejoined yet), then a new instance with the same instance id replaces it. */
    mc *e = gt_coord(m, "st");
    gt_join_args_init(&b, "st", "");
    char eid[GT_ID];
    int32_t ce = gt_join_new(e, &b, eid);
    gt_join_args c1 = a;
    c1.member = j.member_id;
    int32_t parked = gt_join_send(s, 5, &c1);
    gt_settle(m);
    ck_assert(mc_quiet(s, 10));
    int32_t crep = gt_join_send(s2, 5, &a);
    gt_join jo;
    gt_join_recv(s, 5, parked, &jo);
    ck_assert_int_eq(jo.error, 82);
    ck_assert_str_eq(jo.member_id, j.member_id);
    /* The dynamic member rejoins: generation 2 with the three current members. */
    gt_join_args_init(&b, "st", did);
    int32_t cd2 = gt_join_send(d, 5, &b);
    gt_join rep, je;
    gt_join_recv(s2, 5, crep, &rep);
    gt_join_recv(e, 5, ce, &je);
    gt_join_recv(d, 5, cd2, &jo);
    ck_assert_int_eq(rep.error, 0);
    ck_assert_int_eq(rep.generation, 2);
    ck_assert_int_eq(je.generation, 2);
    ck_assert_int_eq(jo.generation, 2);
    ck_assert_str_eq(jo.leader, rep.member_id); /* the static member kept the leadership */
    ck_assert_int_eq(rep.n_members, 3);
    mc_close(e);
    mc_close(s);
    mc_close(s2);
    mc_close(d);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- errors */

START_TEST(test_errors)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(1, &now, NULL);
    mc *c[2];
    char id[2][GT_ID];
    form(m, &now, "e", 2, c, id);
    ck_assert_int_eq(gt_heartbeat(c[0], 4, "missing", 1, id[0], NULL), 25);
    ck_assert_int_eq(gt_heartbeat(c[0], 4, "", 1, id[0], NULL), 24);
    ck_assert_int_eq(gt_heartbeat(c[0], 4, "e", 1, "stranger", NULL), 25);
    ck_assert_int_eq(gt_heartbeat(c[0], 4, "e", 7, id[0], NULL), 22);
    gt_join_args a;
    gt_join_args_init(&a, "e", "");
    a.session_ms = 1000; /* below group.min.session.timeout.ms */
    ck_assert_int_eq(gt_join_call(c[0], 5, &a).error, 26);
    gt_join_args_init(&a, "e", "");
    a.protocol_type = "connect";
    ck_assert_int_eq(gt_join_call(c[0], 5, &a).error, 23);
    gt_join_args_init(&a, "e", "");
    a.protocols[0] = "sticky"; /* no protocol in common with the members */
    ck_assert_int_eq(gt_join_call(c[0], 5, &a).error, 23);
    gt_join_args_init(&a, "fresh", "");
    a.protocol_type = "";
    ck_assert_int_eq(gt_join_call(c[0], 5, &a).error, 23);
    gt_join_args_init(&a, "", "");
    ck_assert_int_eq(gt_join_call(c[0], 5, &a).error, 24);
    /* SyncGroup: wrong generation, unknown member, v5 protocol name mismatch, v5 without one. */
    int32_t s = gt_sync_send(c[0], 4, "e", 9, id[0], NULL, NULL, 0);
    ck_assert_int_eq(gt_sync_recv(c[0], 4, s, NULL, 0, NULL), 22);
    s = gt_sync_send(c[0], 4, "e", 1, "stranger", NULL, NULL, 0);
    ck_assert_int_eq(gt_sync_recv(c[0], 4, s, NULL, 0, NULL), 25);
    kw_sync_group_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.group_id = kw_slice_str("e");
    rq.generation_id = 1;
    rq.member_id = kw_slice_str(id[0]);
    rq.group_instance_id = KW_SLICE_NULL;
    rq.protocol_type = kw_slice_str("consumer");
    rq.protocol_name = kw_slice_str("roundrobin");
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_sync_group_resp r;
    uint8_t *f;
    mc_call(c[0], &kw_msg_sync_group_req, &kw_msg_sync_group_resp, 5, &rq, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 23);
    ck_assert_int_eq(r.protocol_name.len, -1);
    free(f);
    rq.protocol_name = KW_SLICE_NULL;
    mc_call(c[0], &kw_msg_sync_group_req, &kw_msg_sync_group_resp, 5, &rq, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 23);
    free(f);
    kw_arena_fini(&ar);
    /* Member 1 leaves: a rebalance starts and waits for member 0 to rejoin; meanwhile
     * SyncGroup and Heartbeat say REBALANCE_IN_PROGRESS. */
    ck_assert_int_eq(gt_leave(c[1], 4, "e", id[1], NULL, NULL), 0);
    s = gt_sync_send(c[0], 4, "e", 1, id[0], NULL, NULL, 0);
    ck_assert_int_eq(gt_sync_recv(c[0], 4, s, NULL, 0, NULL), 27);
    ck_assert_int_eq(gt_heartbeat(c[0], 4, "e", 1, id[0], NULL), 27);
    for (int i = 0; i < 2; i++)
        mc_close(c[i]);
    kw_mock_free(m);
}
END_TEST

/* LeaveGroup v3+ batches members (KIP-345), and a coordinator move answers parked requests. */
START_TEST(test_batch_leave_and_coordinator_move)
{
    int64_t now = 1000;
    kw_mock *m = gt_mock(2, &now, NULL);
    ck_assert_int_eq(kw_mock_coordinator_set(m, KW_MOCK_COORD_GROUP, "mv", 1), KW_ERR_OK);
    mc *c[3];
    char id[3][GT_ID];
    form(m, &now, "mv", 3, c, id);
    kw_leave_group_member_identity who[4];
    memset(who, 0, sizeof(who));
    const char *mids[4] = {id[1], id[2], "ghost", ""};
    for (int i = 0; i < 4; i++) {
        who[i].member_id = kw_slice_str(mids[i]);
        who[i].group_instance_id = i == 3 ? kw_slice_str("nope") : KW_SLICE_NULL;
        who[i].reason = kw_slice_str("test");
    }
    kw_leave_group_req lq = {kw_slice_str("mv"), KW_SLICE_NULL, who, 4, {NULL, 0}};
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_leave_group_resp lr;
    uint8_t *f;
    mc_call(c[0], &kw_msg_leave_group_req, &kw_msg_leave_group_resp, 5, &lq, &ar, &lr, &f);
    ck_assert_int_eq(lr.error_code, 0);
    ck_assert_int_eq(lr.n_members, 4);
    static const int16_t want[4] = {0, 0, 25, 25};
    for (int i = 0; i < 4; i++) {
        ck_assert(kw_slice_eq(lr.members[i].member_id, mids[i]));
        ck_assert_int_eq(lr.members[i].error_code, want[i]);
    }
    ck_assert(kw_slice_eq(lr.members[3].group_instance_id, "nope"));
    free(f);
    kw_arena_fini(&ar);
    static const int solo[] = {0};
    ck_assert_int_eq(rejoin(c, id, "mv", solo, 1, 0, 1), 2);
    int32_t s0 = gt_sync_send(c[0], 5, "mv", 2, id[0], NULL, NULL, 0);
    ck_assert_int_eq(gt_sync_recv(c[0], 5, s0, NULL, 0, NULL), 0);
    /* A new member parks in JoinGroup (member 0 has not rejoined); the coordinator moves: the
     * parked request is answered NOT_COORDINATOR and the group is served by broker 2. */
    gt_join_args a;
    gt_join_args_init(&a, "mv", "");
    char nid[GT_ID];
    int32_t corr = gt_join_new(c[1], &a, nid);
    gt_settle(m);
    ck_assert(mc_quiet(c[1], 10));
    ck_assert_int_eq(kw_mock_coordinator_set(m, KW_MOCK_COORD_GROUP, "mv", 2), KW_ERR_OK);
    gt_join j;
    gt_join_recv(c[1], 5, corr, &j);
    ck_assert_int_eq(j.error, 16);
    ck_assert_str_eq(j.member_id, nid);
    ck_assert_int_eq(gt_heartbeat(c[0], 4, "mv", 2, id[0], NULL), 16);
    mc *o = mc_connect(m, 2, false);
    ck_assert_int_eq(gt_heartbeat(o, 4, "mv", 2, id[0], NULL), 27); /* state kept: rebalancing */
    a.member = nid;
    corr = gt_join_send(o, 5, &a);
    gt_join_args b;
    gt_join_args_init(&b, "mv", id[0]);
    mc *o2 = mc_connect(m, 2, false);
    int32_t corr2 = gt_join_send(o2, 5, &b);
    gt_join_recv(o, 5, corr, &j);
    ck_assert_int_eq(j.error, 0);
    ck_assert_int_eq(j.generation, 3);
    gt_join_recv(o2, 5, corr2, &j);
    ck_assert_int_eq(j.n_members, 2);
    mc_close(o);
    mc_close(o2);
    for (int i = 0; i < 3; i++)
        mc_close(c[i]);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_group");
    TCase *tc = tcase_create("classic");
    tcase_add_test(tc, test_find_coordinator);
    tcase_add_test(tc, test_join_three_members);
    tcase_add_test(tc, test_member_id_required);
    tcase_add_test(tc, test_rebalance_on_join_and_leave);
    tcase_add_test(tc, test_session_expiry_and_rebalance_timeout);
    tcase_add_test(tc, test_static_membership);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_batch_leave_and_coordinator_move);
    suite_add_tcase(s, tc);
    return s;
}
