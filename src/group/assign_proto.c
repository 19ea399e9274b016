/* The consumer embedded protocol around the classic assignors: decoded
 * ConsumerProtocolSubscriptions become assignor input, the leader's own Subscription is
 * written the way Java writes it, and assignor output becomes SyncGroup Assignments[]. */
#include <stdlib.h>
#include <string.h>

#include "group/assign.h"
#include "group/assign_int.h"

/* The largest embedded Subscription or Assignment we write: far above any real group, and a
 * bound so a runaway input fails cleanly instead of growing a buffer without end. */
#define EMBEDDED_MAX ((size_t)1 << 30)

/* librdkafka's sticky UserData: [{topic string, partitions [int32]}] then int32 generation
 * (the eager StickyAssignor's format, which librdkafka also sends for cooperative-sticky).
 * Returns whether the bytes are exactly that, with the generation in *gen. */
static bool
rdk_sticky_generation(kw_slice ud, int32_t *gen)
{
    kw_rd r;
    kw_rd_init(&r, ud.ptr, (size_t)ud.len);
    int32_t n = kw_rd_array_len(&r, 2 + 4);
    for (int32_t i = 0; i < n; i++) {
        kw_rd_str(&r);
        int32_t np = kw_rd_array_len(&r, 4);
        for (int32_t j = 0; j < np; j++)
            kw_rd_i32(&r);
    }
    *gen = kw_rd_i32(&r);
    return n >= 0 && kw_rd_finish(&r) == KW_ERR_OK && kw_rd_remain(&r) == 0;
}

int32_t
kwi_assign_userdata_generation(kw_slice ud)
{
    if (ud.len == 4)
        return (int32_t)((uint32_t)ud.ptr[0] << 24 | (uint32_t)ud.ptr[1] << 16 |
                         (uint32_t)ud.ptr[2] << 8 | ud.ptr[3]);
    int32_t gen;
    if (ud.len > 4 && rdk_sticky_generation(ud, &gen))
        return gen;
    return -1;
}

void
kwi_assign_member_from_subscription(kwi_assign_member *m, kw_slice member_id, kw_slice instance_id,
                                    const kw_consumer_protocol_subscription *s)
{
    memset(m, 0, sizeof(*m));
    m->member_id = member_id;
    m->instance_id = instance_id;
    m->rack = s->rack_id;
    m->topics = s->topics;
    m->n_topics = s->n_topics > 0 ? s->n_topics : 0;
    m->owned = s->owned_partitions;
    m->n_owned = s->n_owned_partitions > 0 ? s->n_owned_partitions : 0;
    m->generation =
        s->generation_id >= 0 ? s->generation_id : kwi_assign_userdata_generation(s->user_data);
}

kw_err
kwi_assign_members_decode(const kw_join_group_resp_member *jm, int32_t n, kw_arena *arena,
                          kwi_assign_member *members, kw_error *err)
{
    for (int32_t i = 0; i < n; i++) {
        kw_consumer_protocol_subscription *s = kw_arena_alloc(arena, sizeof(*s));
        if (!s)
            return KW_ERR_NOMEM;
        kw_slice md = jm[i].metadata;
        kw_rd r;
        kw_rd_init(&r, md.ptr, md.len > 0 ? (size_t)md.len : 0);
        kw_err e =
            kw_consumer_protocol_decode(&kw_msg_consumer_protocol_subscription, &r, arena, s, NULL);
        if (e) {
            if (err) {
                int len = jm[i].member_id.len > 0 && jm[i].member_id.len < 200
                              ? (int)jm[i].member_id.len
                              : 0;
                kw_error_set(err, e, "subscription of member '%.*s': %s", len,
                             len ? (const char *)jm[i].member_id.ptr : "", kw_err_str(e));
            }
            return e;
        }
        kwi_assign_member_from_subscription(&members[i], jm[i].member_id, jm[i].group_instance_id,
                                            s);
    }
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- our own Subscription */

typedef struct tp_key {
    kw_slice topic;
    int32_t partition;
} tp_key;

static int
cmp_slice(const void *a, const void *b)
{
    return kwi_asg_slice_cmp(*(const kw_slice *)a, *(const kw_slice *)b);
}

static int
cmp_tp_key(const void *a, const void *b)
{
    const tp_key *x = a, *y = b;
    int c = kwi_asg_slice_cmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

/* Sorted, unique topics into s (memory from ar). */
static kw_err
sorted_topics(const kwi_assign_sub_in *in, kw_arena *ar, kw_consumer_protocol_subscription *s)
{
    kw_slice *t = kw_arena_calloc(ar, (size_t)in->n_topics, sizeof(*t));
    if (!t)
        return KW_ERR_NOMEM;
    if (in->n_topics > 0)
        memcpy(t, in->topics, (size_t)in->n_topics * sizeof(*t));
    qsort(t, (size_t)in->n_topics, sizeof(*t), cmp_slice);
    int32_t n = 0;
    for (int32_t i = 0; i < in->n_topics; i++)
        if (n == 0 || kwi_asg_slice_cmp(t[n - 1], t[i]) != 0)
            t[n++] = t[i];
    s->topics = t;
    s->n_topics = n;
    return KW_ERR_OK;
}

/* OwnedPartitions sorted by topic then partition, duplicates merged (memory from ar). */
static kw_err
sorted_owned(const kwi_assign_sub_in *in, kw_arena *ar, kw_consumer_protocol_subscription *s)
{
    size_t total = 0;
    for (int32_t i = 0; i < in->n_owned; i++)
        total += in->owned[i].n_partitions > 0 ? (size_t)in->owned[i].n_partitions : 0;
    tp_key *k = kw_arena_calloc(ar, total, sizeof(*k));
    int32_t *parts = kw_arena_calloc(ar, total, sizeof(*parts));
    kw_consumer_protocol_topic_partition *tps = kw_arena_calloc(ar, total, sizeof(*tps));
    if (!k || !parts || !tps)
        return KW_ERR_NOMEM;
    size_t n = 0;
    for (int32_t i = 0; i < in->n_owned; i++)
        for (int32_t j = 0; j < in->owned[i].n_partitions; j++)
            k[n++] = (tp_key){in->owned[i].topic, in->owned[i].partitions[j]};
    qsort(k, n, sizeof(*k), cmp_tp_key);
    int32_t ntp = 0;
    size_t np = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && cmp_tp_key(&k[i - 1], &k[i]) == 0)
            continue;
        if (ntp == 0 || kwi_asg_slice_cmp(tps[ntp - 1].topic, k[i].topic) != 0)
            tps[ntp++] = (kw_consumer_protocol_topic_partition){k[i].topic, parts + np, 0};
        tps[ntp - 1].n_partitions++;
        parts[np++] = k[i].partition;
    }
    s->owned_partitions = tps;
    s->n_owned_partitions = ntp;
    return KW_ERR_OK;
}

kw_err
kwi_assign_subscription_encode(const kwi_assignor *as, const kwi_assign_sub_in *in,
                               const kw_allocator *a, kw_wr *w)
{
    if (!as || !in || in->n_topics < 0 || in->n_owned < 0 || (in->n_topics > 0 && !in->topics) ||
        (in->n_owned > 0 && !in->owned))
        return KW_ERR_INVALID_ARG;
    for (int32_t i = 0; i < in->n_owned; i++)
        if (in->owned[i].n_partitions < 0 ||
            (in->owned[i].n_partitions > 0 && !in->owned[i].partitions))
            return KW_ERR_INVALID_ARG;
    kw_arena ar;
    kw_arena_init(&ar, a, 0);
    kw_consumer_protocol_subscription s = {0};
    uint8_t ud[4];
    s.user_data = KW_SLICE_NULL;
    if (as->protocols & KWI_ASSIGN_COOPERATIVE) {
        /* Java's CooperativeStickyAssignor.subscriptionUserData: the generation, so leaders
         * that only read UserData (subscription v0/v1 peers) still see it. */
        uint32_t g = (uint32_t)in->generation;
        ud[0] = (uint8_t)(g >> 24);
        ud[1] = (uint8_t)(g >> 16);
        ud[2] = (uint8_t)(g >> 8);
        ud[3] = (uint8_t)g;
        s.user_data = (kw_slice){ud, 4};
    }
    s.generation_id = in->generation;
    s.rack_id = in->rack.len > 0 ? in->rack : KW_SLICE_NULL;
    kw_err e = sorted_topics(in, &ar, &s);
    if (!e)
        e = sorted_owned(in, &ar, &s);
    if (!e)
        e = kw_consumer_protocol_encode(&kw_msg_consumer_protocol_subscription, 3, w, &s);
    kw_arena_fini(&ar);
    return e;
}

/* ---------------------------------------------------------------- SyncGroup assignments */

kw_err
kwi_assign_sync_assignments(const kwi_assign_in *in, const kwi_assign_out *out, kw_arena *arena,
                            kw_sync_group_req_assignment **res)
{
    *res = NULL;
    if (!in || !out || out->n_members != in->n_members)
        return KW_ERR_INVALID_ARG;
    kw_sync_group_req_assignment *v = kw_arena_calloc(arena, (size_t)out->n_members, sizeof(*v));
    if (!v)
        return KW_ERR_NOMEM;
    for (int32_t i = 0; i < out->n_members; i++) {
        kw_wr w;
        kw_wr_init_dyn(&w, in->a, EMBEDDED_MAX);
        kw_err e = kw_consumer_protocol_encode(&kw_msg_consumer_protocol_assignment, 3, &w,
                                               &out->assignments[i]);
        uint8_t *bytes = e ? NULL : kw_arena_alloc(arena, kw_wr_len(&w));
        if (!e && !bytes)
            e = KW_ERR_NOMEM;
        if (!e) {
            memcpy(bytes, w.base, kw_wr_len(&w));
            v[i].member_id = in->members[i].member_id;
            v[i].assignment = (kw_slice){bytes, (int32_t)kw_wr_len(&w)};
        }
        kw_wr_fini(&w);
        if (e)
            return e;
    }
    *res = v;
    return KW_ERR_OK;
}
