/* The group test helpers of group_util.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group_util.h"

static int64_t
vclock(void *ud)
{
    return *(int64_t *)ud;
}

kw_mock *
gt_mock(int32_t brokers, int64_t *now, const kw_mock_group_conf *gconf)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.brokers = brokers;
    conf.clock = vclock;
    conf.clock_ud = now;
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(&conf, &m, NULL), KW_ERR_OK);
    if (gconf)
        ck_assert_int_eq(kw_mock_group_conf_set(m, gconf), KW_ERR_OK);
    return m;
}

void
gt_settle(kw_mock *m)
{
    /* Loopback writes are in the mock's socket buffers when send() returns; a few steps accept,
     * read and dispatch them. */
    for (int i = 0; i < 20; i++)
        ck_assert_int_eq(kw_mock_step(m, 1), KW_ERR_OK);
}

void
gt_advance(kw_mock *m, int64_t *now, int64_t ms)
{
    gt_settle(m);
    *now += ms;
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(kw_mock_step(m, 0), KW_ERR_OK);
}

mc *
gt_coord(kw_mock *m, const char *group)
{
    int32_t node = kw_mock_coordinator(m, KW_MOCK_COORD_GROUP, group);
    ck_assert_int_ge(node, 1);
    return mc_connect(m, node, false);
}

static void
copy_str(char *dst, size_t cap, kw_slice s, bool *is_null)
{
    if (is_null)
        *is_null = s.len < 0;
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    ck_assert_uint_lt(n, cap);
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

void
gt_join_args_init(gt_join_args *a, const char *group, const char *member)
{
    memset(a, 0, sizeof(*a));
    a->group = group;
    a->member = member;
    a->session_ms = 10000;
    a->rebalance_ms = 20000;
    a->protocol_type = "consumer";
    a->protocols[0] = "range";
    a->n_protocols = 1;
    static const uint8_t dflt[] = {0, 3, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
    a->meta = dflt;
    a->meta_len = sizeof(dflt);
}

int32_t
gt_join_send(mc *c, int16_t ver, const gt_join_args *a)
{
    kw_join_group_req_protocol p[4];
    memset(p, 0, sizeof(p));
    for (int i = 0; i < a->n_protocols; i++) {
        p[i].name = kw_slice_str(a->protocols[i]);
        p[i].metadata = (kw_slice){a->meta, a->meta_len};
    }
    kw_join_group_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.group_id = kw_slice_str(a->group);
    rq.session_timeout_ms = a->session_ms;
    rq.rebalance_timeout_ms = a->rebalance_ms;
    rq.member_id = kw_slice_str(a->member);
    rq.group_instance_id = a->instance ? kw_slice_str(a->instance) : KW_SLICE_NULL;
    rq.protocol_type = kw_slice_str(a->protocol_type);
    rq.protocols = p;
    rq.n_protocols = a->n_protocols;
    rq.reason = KW_SLICE_NULL;
    return mc_send(c, &kw_msg_join_group_req, ver, &rq);
}

void
gt_join_recv(mc *c, int16_t ver, int32_t corr, gt_join *out)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_join_group_resp r;
    uint8_t *f;
    mc_recv(c, &kw_msg_join_group_resp, ver, corr, &ar, &r, &f);
    memset(out, 0, sizeof(*out));
    out->error = r.error_code;
    out->generation = r.generation_id;
    copy_str(out->member_id, sizeof(out->member_id), r.member_id, NULL);
    copy_str(out->leader, sizeof(out->leader), r.leader, NULL);
    copy_str(out->protocol_name, sizeof(out->protocol_name), r.protocol_name,
             &out->protocol_name_null);
    copy_str(out->protocol_type, sizeof(out->protocol_type), r.protocol_type,
             &out->protocol_type_null);
    out->skip_assignment = r.skip_assignment;
    ck_assert_int_le(r.n_members, GT_MAX_MEMBERS);
    out->n_members = r.n_members;
    for (int32_t i = 0; i < r.n_members; i++) {
        gt_join_member *m = &out->members[i];
        copy_str(m->id, sizeof(m->id), r.members[i].member_id, NULL);
        copy_str(m->instance, sizeof(m->instance), r.members[i].group_instance_id, NULL);
        m->has_instance = r.members[i].group_instance_id.len >= 0;
        ck_assert_int_le(r.members[i].metadata.len, (int32_t)sizeof(m->meta));
        m->meta_len = r.members[i].metadata.len;
        if (m->meta_len > 0)
            memcpy(m->meta, r.members[i].metadata.ptr, (size_t)m->meta_len);
    }
    free(f);
    kw_arena_fini(&ar);
}

gt_join
gt_join_call(mc *c, int16_t ver, const gt_join_args *a)
{
    gt_join j;
    gt_join_recv(c, ver, gt_join_send(c, ver, a), &j);
    return j;
}

int32_t
gt_join_new(mc *c, const gt_join_args *a, char *id)
{
    gt_join j = gt_join_call(c, 5, a);
    ck_assert_int_eq(j.error, 79); /* MEMBER_ID_REQUIRED */
    ck_assert_int_gt(strlen(j.member_id), 0);
    strcpy(id, j.member_id);
    gt_join_args b = *a;
    b.member = id;
    return gt_join_send(c, 5, &b);
}

int32_t
gt_sync_send(mc *c, int16_t ver, const char *group, int32_t gen, const char *member,
             const char *instance, const gt_assign *a, int n)
{
    kw_sync_group_req_assignment as[GT_MAX_MEMBERS];
    memset(as, 0, sizeof(as));
    ck_assert_int_le(n, GT_MAX_MEMBERS);
    for (int i = 0; i < n; i++) {
        as[i].member_id = kw_slice_str(a[i].member);
        as[i].assignment = (kw_slice){a[i].bytes, a[i].len};
    }
    kw_sync_group_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.group_id = kw_slice_str(group);
    rq.generation_id = gen;
    rq.member_id = kw_slice_str(member);
    rq.group_instance_id = instance ? kw_slice_str(instance) : KW_SLICE_NULL;
    rq.protocol_type = kw_slice_str("consumer");
    rq.protocol_name = kw_slice_str("range");
    rq.assignments = as;
    rq.n_assignments = n;
    return mc_send(c, &kw_msg_sync_group_req, ver, &rq);
}

int16_t
gt_sync_recv(mc *c, int16_t ver, int32_t corr, uint8_t *buf, int32_t cap, int32_t *len)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_sync_group_resp r;
    uint8_t *f;
    mc_recv(c, &kw_msg_sync_group_resp, ver, corr, &ar, &r, &f);
    int16_t e = r.error_code;
    int32_t n = r.assignment.len > 0 ? r.assignment.len : 0;
    if (buf) {
        ck_assert_int_le(n, cap);
        if (n)
            memcpy(buf, r.assignment.ptr, (size_t)n);
    }
    if (len)
        *len = n;
    if (ver >= 5 && !e) {
        ck_assert(kw_slice_eq(r.protocol_type, "consumer"));
        ck_assert_int_ge(r.protocol_name.len, 0);
    }
    free(f);
    kw_arena_fini(&ar);
    return e;
}

int16_t
gt_heartbeat(mc *c, int16_t ver, const char *group, int32_t gen, const char *member,
             const char *instance)
{
    kw_heartbeat_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.group_id = kw_slice_str(group);
    rq.generation_id = gen;
    rq.member_id = kw_slice_str(member);
    rq.group_instance_id = instance ? kw_slice_str(instance) : KW_SLICE_NULL;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_heartbeat_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_heartbeat_req, &kw_msg_heartbeat_resp, ver, &rq, &ar, &r, &f);
    free(f);
    kw_arena_fini(&ar);
    return r.error_code;
}

int16_t
gt_leave(mc *c, int16_t ver, const char *group, const char *member, const char *instance,
         int16_t *top)
{
    kw_leave_group_member_identity id;
    memset(&id, 0, sizeof(id));
    id.member_id = kw_slice_str(member);
    id.group_instance_id = instance ? kw_slice_str(instance) : KW_SLICE_NULL;
    id.reason = KW_SLICE_NULL;
    kw_leave_group_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.group_id = kw_slice_str(group);
    rq.member_id = kw_slice_str(member);
    rq.members = &id;
    rq.n_members = 1;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_leave_group_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_leave_group_req, &kw_msg_leave_group_resp, ver, &rq, &ar, &r, &f);
    if (top)
        *top = r.error_code;
    int16_t e = r.error_code;
    if (ver >= 3 && !e) {
        ck_assert_int_eq(r.n_members, 1);
        ck_assert(kw_slice_eq(r.members[0].member_id, member));
        e = r.members[0].error_code;
    }
    free(f);
    kw_arena_fini(&ar);
    return e;
}

int32_t
gt_subscription(uint8_t *buf, size_t cap, const char *topic)
{
    kw_slice t = kw_slice_str(topic);
    kw_consumer_protocol_subscription s;
    memset(&s, 0, sizeof(s));
    s.topics = &t;
    s.n_topics = 1;
    s.user_data = KW_SLICE_NULL;
    s.generation_id = -1;
    s.rack_id = KW_SLICE_NULL;
    kw_wr w;
    kw_wr_init_fixed(&w, buf, cap);
    ck_assert_int_eq(kw_consumer_protocol_encode(&kw_msg_consumer_protocol_subscription, 3, &w, &s),
                     KW_ERR_OK);
    return (int32_t)kw_wr_len(&w);
}

int32_t
gt_assignment(uint8_t *buf, size_t cap, const char *topic, const int32_t *parts, int n)
{
    kw_consumer_protocol_topic_partition tp = {kw_slice_str(topic), (int32_t *)parts, n};
    kw_consumer_protocol_assignment a;
    memset(&a, 0, sizeof(a));
    a.assigned_partitions = &tp;
    a.n_assigned_partitions = 1;
    a.user_data = KW_SLICE_NULL;
    kw_wr w;
    kw_wr_init_fixed(&w, buf, cap);
    ck_assert_int_eq(kw_consumer_protocol_encode(&kw_msg_consumer_protocol_assignment, 3, &w, &a),
                     KW_ERR_OK);
    return (int32_t)kw_wr_len(&w);
}

int16_t
gt_commit(mc *c, int16_t ver, const char *group, int32_t gen, const char *member,
          const char *instance, const char *topic, int32_t part, int64_t offset,
          int32_t leader_epoch, const char *metadata)
{
    kw_offset_commit_req_partition p;
    memset(&p, 0, sizeof(p));
    p.partition_index = part;
    p.committed_offset = offset;
    p.committed_leader_epoch = leader_epoch;
    p.committed_metadata = metadata ? kw_slice_str(metadata) : KW_SLICE_NULL;
    kw_offset_commit_req_topic t;
    memset(&t, 0, sizeof(t));
    t.name = kw_slice_str(topic);
    if (ver >= 10)
        ck_assert_int_eq(kw_mock_topic_id(c->m, topic, &t.topic_id), KW_ERR_OK);
    t.partitions = &p;
    t.n_partitions = 1;
    kw_offset_commit_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.group_id = kw_slice_str(group);
    rq.generation_id_or_member_epoch = gen;
    rq.member_id = kw_slice_str(member);
    rq.group_instance_id = instance ? kw_slice_str(instance) : KW_SLICE_NULL;
    rq.retention_time_ms = -1;
    rq.topics = &t;
    rq.n_topics = 1;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_offset_commit_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_offset_commit_req, &kw_msg_offset_commit_resp, ver, &rq, &ar, &r, &f);
    ck_assert_int_eq(r.n_topics, 1);
    ck_assert_int_eq(r.topics[0].n_partitions, 1);
    ck_assert_int_eq(r.topics[0].partitions[0].partition_index, part);
    int16_t e = r.topics[0].partitions[0].error_code;
    free(f);
    kw_arena_fini(&ar);
    return e;
}

gt_offset
gt_fetch(mc *c, int16_t ver, const char *group, const char *topic, int32_t part)
{
    kw_offset_fetch_req_topic t;
    memset(&t, 0, sizeof(t));
    t.name = kw_slice_str(topic);
    if (ver >= 10 && kw_mock_topic_id(c->m, topic, &t.topic_id) != KW_ERR_OK)
        memset(&t.topic_id, 0x5a, sizeof(t.topic_id));
    t.partition_indexes = &part;
    t.n_partition_indexes = 1;
    kw_offset_fetch_req_group g;
    memset(&g, 0, sizeof(g));
    g.group_id = kw_slice_str(group);
    g.member_id = KW_SLICE_NULL;
    g.member_epoch = -1;
    g.topics = &t;
    g.n_topics = 1;
    kw_offset_fetch_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.group_id = kw_slice_str(group);
    rq.topics = &t;
    rq.n_topics = 1;
    rq.groups = &g;
    rq.n_groups = 1;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_offset_fetch_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_offset_fetch_req, &kw_msg_offset_fetch_resp, ver, &rq, &ar, &r, &f);
    gt_offset o;
    memset(&o, 0, sizeof(o));
    const kw_offset_fetch_resp_topic *rt = r.topics;
    int32_t nt = r.n_topics;
    o.group_error = r.error_code;
    if (ver >= 8) {
        ck_assert_int_eq(r.n_groups, 1);
        ck_assert(kw_slice_eq(r.groups[0].group_id, group));
        o.group_error = r.groups[0].error_code;
        rt = r.groups[0].topics;
        nt = r.groups[0].n_topics;
    }
    o.offset = -2;
    if (nt > 0) {
        ck_assert_int_eq(nt, 1);
        ck_assert_int_eq(rt[0].n_partitions, 1);
        const kw_offset_fetch_resp_partition *p = &rt[0].partitions[0];
        ck_assert_int_eq(p->partition_index, part);
        o.error = p->error_code;
        o.offset = p->committed_offset;
        o.leader_epoch = p->committed_leader_epoch;
        copy_str(o.metadata, sizeof(o.metadata), p->metadata, &o.metadata_null);
    }
    free(f);
    kw_arena_fini(&ar);
    return o;
}

int16_t
gt_describe(mc *c, const char *group, char *state, size_t cap, int32_t *n_members)
{
    kw_slice id = kw_slice_str(group);
    kw_describe_groups_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.groups = &id;
    rq.n_groups = 1;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_describe_groups_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_describe_groups_req, &kw_msg_describe_groups_resp, 5, &rq, &ar, &r, &f);
    ck_assert_int_eq(r.n_groups, 1);
    int16_t e = r.groups[0].error_code;
    if (state)
        copy_str(state, cap, r.groups[0].group_state, NULL);
    if (n_members)
        *n_members = r.groups[0].n_members;
    free(f);
    kw_arena_fini(&ar);
    return e;
}
