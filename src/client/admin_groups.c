/* Group administration: ListGroups (every broker, merged), describing groups at their
 * coordinators (DescribeGroups for classic groups, ConsumerGroupDescribe for KIP-848 ones),
 * and a group's committed offsets (OffsetFetch) with their lag (a second phase: ListOffsets
 * latest at the partition leaders, admin_offsets.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin_int.h"

/* ---- ListGroups -------------------------------------------------------------------------- */

typedef struct lg_item {
    kwi_aitem h;
    int32_t node;
    kw_group_listing *groups;
    int32_t n_groups;
} lg_item;

typedef struct lg_state {
    kw_slice *states, *types;
    int32_t n_states, n_types;
    bool placed; /* the items (brokers) exist */
} lg_state;

static void
on_list_groups(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp)
{
    lg_item *it = kwi_aop_item(op, rq->idx[0]);
    const kw_list_groups_resp *m = resp->body;
    kwi_aitem_broker(&it->h, m->error_code, KW_SLICE_NULL, "ListGroups", "broker %d",
                     (int)it->node);
    if (m->error_code)
        return;
    it->groups =
        kwi_aop_alloc(op, (size_t)(m->n_groups > 0 ? m->n_groups : 0), sizeof(*it->groups));
    if (!it->groups) {
        kwi_aitem_fail(&it->h, KW_ERR_NOMEM, "out of memory");
        return;
    }
    for (int32_t i = 0; i < m->n_groups; i++) {
        const kw_listed_group *g = &m->groups[i];
        kw_group_listing *o = &it->groups[i];
        o->group_id = kwi_aop_slicedup(op, g->group_id);
        o->protocol_type = kwi_aop_slicedup(op, g->protocol_type);
        o->state = resp->ver >= 4 ? kwi_aop_slicedup(op, g->group_state) : NULL;
        o->type = resp->ver >= 5 ? kwi_aop_slicedup(op, g->group_type) : NULL;
        o->coordinator = it->node;
        if (!o->group_id)
            o->group_id = "";
        if (!o->protocol_type)
            o->protocol_type = "";
    }
    it->n_groups = m->n_groups > 0 ? m->n_groups : 0;
}

static void
lg_dispatch(kwi_aop *op, const kwi_amd *md)
{
    lg_state *st = op->st;
    if (!st->placed) {
        /* The brokers of the first answer are the ones asked; a broker that joins later is
         * not, as in Java's listConsumerGroups. */
        int32_t n = md->view->n_brokers;
        lg_item *v = kwi_aop_alloc(op, (size_t)n, sizeof(*v));
        if (!v) {
            kw_error_set(&op->last, KW_ERR_NOMEM, "out of memory");
            return;
        }
        for (int32_t i = 0; i < n; i++) {
            v[i].h.dest = -1;
            v[i].node = md->view->brokers[i].id;
        }
        kwi_aop_rephase(op, v, n, sizeof(*v));
        op->now = false;
        op->unplaced = false;
        st->placed = true;
    }
    int16_t min_ver = st->n_types > 0 ? 5 : st->n_states > 0 ? 4 : 0;
    for (int32_t i = 0; i < op->n_items; i++) {
        lg_item *it = kwi_aop_item(op, i);
        if (it->h.done)
            continue;
        kwi_areq *rq = kwi_areq_new(op, on_list_groups, 1);
        kw_list_groups_req *m = rq ? kwi_areq_alloc(rq, 1, sizeof(*m)) : NULL;
        if (!rq) {
            kw_error_set(&op->last, KW_ERR_NOMEM, "out of memory");
            return;
        }
        rq->idx[rq->n_idx++] = i;
        rq->node = it->node;
        it->h.dest = it->node;
        if (m) {
            m->states_filter = st->states;
            m->n_states_filter = st->n_states;
            m->types_filter = st->types;
            m->n_types_filter = st->n_types;
        }
        kwi_areq_send_or_fail(op, rq, KWI_API_LIST_GROUPS, m, min_ver);
    }
}

static int
listing_cmp(const void *a, const void *b)
{
    const kw_group_listing *x = a, *y = b;
    return strcmp(x->group_id, y->group_id);
}

static kw_err
lg_result(kwi_aop *op, kw_admin_result *r)
{
    int32_t total = 0;
    for (int32_t i = 0; i < op->n_items; i++)
        total += ((lg_item *)kwi_aop_item(op, i))->n_groups;
    kw_group_listing *v = kwi_aop_alloc(op, (size_t)total, sizeof(*v));
    kw_broker_status *b = kwi_aop_alloc(op, (size_t)op->n_items, sizeof(*b));
    if (!v || !b)
        return KW_ERR_NOMEM;
    int32_t k = 0;
    for (int32_t i = 0; i < op->n_items; i++) {
        lg_item *it = kwi_aop_item(op, i);
        b[i] = (kw_broker_status){it->node, &it->h.e};
        for (int32_t j = 0; j < it->n_groups; j++)
            v[k++] = it->groups[j];
    }
    qsort(v, (size_t)total, sizeof(*v), listing_cmp);
    r->listings = v;
    r->n_listings = total;
    r->brokers = b;
    r->n_brokers = op->n_items;
    return KW_ERR_OK;
}

/* Every broker asked failed: the call fails rather than list no groups, with the first
 * broker's error, and the message names each broker's (as far as it fits). A cluster that
 * lists no brokers at all has, truly, no groups. */
static bool
lg_failed(kwi_aop *op, kw_error *why)
{
    if (op->n_items == 0)
        return false;
    for (int32_t i = 0; i < op->n_items; i++)
        if (((lg_item *)kwi_aop_item(op, i))->h.e.code == KW_ERR_OK)
            return false;
    const lg_item *first = kwi_aop_item(op, 0);
    char msg[sizeof(why->msg)];
    size_t off = (size_t)snprintf(msg, sizeof(msg), "ListGroups failed on every broker");
    for (int32_t i = 0; i < op->n_items && off < sizeof(msg); i++) {
        const lg_item *it = kwi_aop_item(op, i);
        char who[32];
        snprintf(who, sizeof(who), "broker %d: ", (int)it->node);
        /* A broker's own error code already names the broker (kwi_aitem_broker). */
        bool named = strncmp(it->h.e.msg, who, strlen(who)) == 0;
        off += (size_t)snprintf(msg + off, sizeof(msg) - off, "%s %s%.100s", i ? ";" : ":",
                                named ? "" : who, it->h.e.msg);
    }
    *why = first->h.e;
    kw_error_set(why, first->h.e.code, "%s", msg);
    why->retriable = first->h.e.retriable;
    return true;
}

static const kwi_akind k_list_groups = {
    KW_ADMIN_LIST_GROUPS, "ListGroups", false, lg_dispatch, NULL, lg_result, lg_failed};

static kw_slice *
slices(kwi_aop *op, const char *const *v, size_t n, int32_t *n_out)
{
    kw_slice *s = kwi_aop_alloc(op, n, sizeof(*s));
    for (size_t i = 0; s && i < n; i++)
        s[i] = kw_slice_str(kwi_aop_strdup(op, v[i] ? v[i] : ""));
    *n_out = s ? (int32_t)n : 0;
    return s;
}

kw_err
kw_admin_list_groups(kw_admin *ad, const char *const *states, size_t n_states,
                     const char *const *types, size_t n_types, const kw_admin_opts *o,
                     kw_admin_cb cb, void *ud, kw_error *err)
{
    if ((n_states && !states) || (n_types && !types) || n_states > 64 || n_types > 64)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bad state or type filter");
    kwi_aop *op = kwi_admin_begin(ad, &k_list_groups, 0, sizeof(lg_item), o, cb, ud, err);
    if (!op)
        return err ? err->code : KW_ERR_INVALID_ARG;
    lg_state *st = kwi_aop_alloc(op, 1, sizeof(*st));
    kw_err e = KW_ERR_OK;
    if (st) {
        st->states = slices(op, states, n_states, &st->n_states);
        st->types = slices(op, types, n_types, &st->n_types);
    }
    if (!st || !st->states || !st->types)
        e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    op->st = st;
    op->unplaced = true; /* the brokers to ask come from the first Metadata answer */
    return kwi_admin_end(op, e);
}

/* ---- finding coordinators ---------------------------------------------------------------- */

/* Every group item begins with this. */
typedef struct grp_head {
    kwi_aitem h;
    const char *group;
    int32_t coordinator;
} grp_head;

static void at_coordinator(kwi_aop *op, int32_t i, int32_t node);

static void
on_find_coord(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp)
{
    grp_head *it = kwi_aop_item(op, rq->idx[0]);
    const kw_find_coordinator_resp *m = resp->body;
    int16_t code = m->error_code;
    kw_slice msg = m->error_message;
    int32_t node = m->node_id;
    if (resp->ver >= 4) {
        /* Batched form (KIP-699): one entry per key asked. */
        const kw_find_coordinator_coordinator *e = m->n_coordinators > 0 ? m->coordinators : NULL;
        code = e ? e->error_code : KWI_E_COORD_NA;
        msg = e ? e->error_message : KW_SLICE_NULL;
        node = e ? e->node_id : -1;
    }
    if (code != 0) {
        kwi_aitem_broker(&it->h, code, msg, "FindCoordinator", "group %s", it->group);
        return;
    }
    it->coordinator = node;
    it->h.dest = node;
    at_coordinator(op, rq->idx[0], node);
}

/* FindCoordinator for every pending group: one request per group, so every version works
 * (v0-3 take one key; v4+ would batch). */
static void
find_coordinators(kwi_aop *op, const kwi_amd *md)
{
    for (int32_t i = 0; i < op->n_items; i++) {
        grp_head *it = kwi_aop_item(op, i);
        if (it->h.done)
            continue;
        kwi_areq *rq = kwi_areq_new(op, on_find_coord, 1);
        kw_find_coordinator_req *m = rq ? kwi_areq_alloc(rq, 1, sizeof(*m)) : NULL;
        kw_slice *keys = rq ? kwi_areq_alloc(rq, 1, sizeof(*keys)) : NULL;
        if (!rq) {
            kw_error_set(&op->last, KW_ERR_NOMEM, "out of memory");
            return;
        }
        rq->idx[rq->n_idx++] = i;
        rq->node = md->view->broker_id;
        it->h.dest = rq->node;
        if (m && keys) {
            m->key = kw_slice_str(it->group);
            m->key_type = 0;
            keys[0] = m->key;
            m->coordinator_keys = keys;
            m->n_coordinator_keys = 1;
        }
        kwi_areq_send_or_fail(op, rq, KWI_API_FIND_COORD, m && keys ? m : NULL, 0);
    }
}

/* Sends a one-group request to the coordinator; failures settle the item. */
static void
send_group(kwi_aop *op, int32_t i, int32_t node, kwi_areq_fn fn, int16_t api,
           void *(*build)(kwi_aop *op, kwi_areq *rq, grp_head *it), int16_t min_ver)
{
    grp_head *it = kwi_aop_item(op, i);
    kwi_areq *rq = kwi_areq_new(op, fn, 1);
    if (!rq) {
        kwi_aitem_fail(&it->h, KW_ERR_NOMEM, "out of memory");
        return;
    }
    rq->idx[rq->n_idx++] = i;
    rq->node = node;
    it->h.dest = node;
    kwi_areq_send_or_fail(op, rq, api, build(op, rq, it), min_ver);
}

/* ---- describe groups --------------------------------------------------------------------- */

typedef struct dg_item {
    grp_head g;
    kw_group_description d;
} dg_item;

static kw_topic_partitions *
assignment_classic(kwi_aop *op, kw_slice bytes, int32_t *n)
{
    *n = 0;
    if (bytes.len <= 0)
        return NULL;
    kw_arena ar;
    kw_arena_init(&ar, op->c->a, 0);
    kw_rd r;
    kw_rd_init(&r, bytes.ptr, (size_t)bytes.len);
    kw_consumer_protocol_assignment a;
    kw_topic_partitions *v = NULL;
    if (kw_consumer_protocol_decode(&kw_msg_consumer_protocol_assignment, &r, &ar, &a, NULL) ==
            KW_ERR_OK &&
        (v = kwi_aop_alloc(op, (size_t)a.n_assigned_partitions, sizeof(*v)))) {
        for (int32_t i = 0; i < a.n_assigned_partitions; i++) {
            const kw_consumer_protocol_topic_partition *t = &a.assigned_partitions[i];
            int32_t np = t->n_partitions > 0 ? t->n_partitions : 0;
            int32_t *p = kwi_aop_alloc(op, (size_t)np, sizeof(int32_t));
            if (p && np)
                memcpy(p, t->partitions, (size_t)np * sizeof(int32_t));
            v[i] = (kw_topic_partitions){kwi_aop_slicedup(op, t->topic), p, p ? np : 0};
        }
        *n = a.n_assigned_partitions;
    }
    kw_arena_fini(&ar);
    return v;
}

static void
dg_copy_classic(kwi_aop *op, dg_item *it, const kw_described_group *g)
{
    kw_group_description *d = &it->d;
    d->type = "classic";
    d->state = kwi_aop_slicedup(op, g->group_state);
    d->protocol_type = kwi_aop_slicedup(op, g->protocol_type);
    d->protocol = kwi_aop_slicedup(op, g->protocol_data);
    d->group_epoch = -1;
    int32_t n = g->n_members > 0 ? g->n_members : 0;
    kw_group_member *m = kwi_aop_alloc(op, (size_t)n, sizeof(*m));
    bool consumer = kw_slice_eq(g->protocol_type, "consumer");
    for (int32_t i = 0; m && i < n; i++) {
        const kw_described_group_member *s = &g->members[i];
        m[i].member_id = kwi_aop_slicedup(op, s->member_id);
        m[i].instance_id = kwi_aop_slicedup(op, s->group_instance_id);
        m[i].client_id = kwi_aop_slicedup(op, s->client_id);
        m[i].host = kwi_aop_slicedup(op, s->client_host);
        m[i].member_epoch = -1;
        if (consumer)
            m[i].assignment = assignment_classic(op, s->member_assignment, &m[i].n_assignment);
    }
    d->members = m;
    d->n_members = m ? n : 0;
}

static void
dg_copy_consumer(kwi_aop *op, dg_item *it, const kw_consumer_group_described_group *g)
{
    kw_group_description *d = &it->d;
    d->type = "consumer";
    d->state = kwi_aop_slicedup(op, g->group_state);
    d->protocol_type = "consumer";
    d->protocol = kwi_aop_slicedup(op, g->assignor_name);
    d->group_epoch = g->group_epoch;
    int32_t n = g->n_members > 0 ? g->n_members : 0;
    kw_group_member *m = kwi_aop_alloc(op, (size_t)n, sizeof(*m));
    for (int32_t i = 0; m && i < n; i++) {
        const kw_consumer_group_describe_member *s = &g->members[i];
        m[i].member_id = kwi_aop_slicedup(op, s->member_id);
        m[i].instance_id = kwi_aop_slicedup(op, s->instance_id);
        m[i].client_id = kwi_aop_slicedup(op, s->client_id);
        m[i].host = kwi_aop_slicedup(op, s->client_host);
        m[i].member_epoch = s->member_epoch;
        int32_t nt = s->assignment.n_topic_partitions;
        kw_topic_partitions *tp = kwi_aop_alloc(op, (size_t)(nt > 0 ? nt : 0), sizeof(*tp));
        for (int32_t k = 0; tp && k < nt; k++) {
            const kw_consumer_group_describe_topic_partitions *t =
                &s->assignment.topic_partitions[k];
            int32_t np = t->n_partitions > 0 ? t->n_partitions : 0;
            int32_t *p = kwi_aop_alloc(op, (size_t)np, sizeof(int32_t));
            if (p && np)
                memcpy(p, t->partitions, (size_t)np * sizeof(int32_t));
            tp[k] = (kw_topic_partitions){kwi_aop_slicedup(op, t->topic_name), p, p ? np : 0};
        }
        m[i].assignment = tp;
        m[i].n_assignment = tp && nt > 0 ? nt : 0;
    }
    d->members = m;
    d->n_members = m ? n : 0;
}

static void *
cgd_build(kwi_aop *op, kwi_areq *rq, grp_head *it)
{
    (void)op;
    kw_consumer_group_describe_req *m = kwi_areq_alloc(rq, 1, sizeof(*m));
    kw_slice *ids = kwi_areq_alloc(rq, 1, sizeof(*ids));
    if (!m || !ids)
        return NULL;
    ids[0] = kw_slice_str(it->group);
    m->group_ids = ids;
    m->n_group_ids = 1;
    return m;
}

static void
on_cgd(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp)
{
    dg_item *it = kwi_aop_item(op, rq->idx[0]);
    const kw_consumer_group_describe_resp *m = resp->body;
    if (m->n_groups < 1) {
        kwi_aitem_fail(&it->g.h, KW_ERR_MALFORMED, "ConsumerGroupDescribe: no group in answer");
        return;
    }
    const kw_consumer_group_described_group *g = &m->groups[0];
    kwi_aitem_broker(&it->g.h, g->error_code, g->error_message, "ConsumerGroupDescribe", "group %s",
                     it->g.group);
    if (g->error_code == 0)
        dg_copy_consumer(op, it, g);
}

static void
on_dg(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp)
{
    dg_item *it = kwi_aop_item(op, rq->idx[0]);
    const kw_describe_groups_resp *m = resp->body;
    if (m->n_groups < 1) {
        kwi_aitem_fail(&it->g.h, KW_ERR_MALFORMED, "DescribeGroups: no group in the answer");
        return;
    }
    const kw_described_group *g = &m->groups[0];
    /* Before DescribeGroups v6 an unknown group is answered as state Dead, no error. A group
     * unknown to the classic protocol may be a KIP-848 consumer group. */
    bool unknown = g->error_code == KWI_E_GROUP_NOT_FOUND ||
                   (g->error_code == 0 && kw_slice_eq(g->group_state, "Dead"));
    if (unknown && kwi_admin_node_supports(op->c, rq->node, KWI_API_CG_DESCRIBE)) {
        send_group(op, rq->idx[0], rq->node, on_cgd, KWI_API_CG_DESCRIBE, cgd_build, 0);
        return;
    }
    kwi_aitem_broker(&it->g.h, unknown ? KWI_E_GROUP_NOT_FOUND : g->error_code, g->error_message,
                     "DescribeGroups", "group %s", it->g.group);
    if (!unknown && g->error_code == 0)
        dg_copy_classic(op, it, g);
}

static void *
dg_build(kwi_aop *op, kwi_areq *rq, grp_head *it)
{
    (void)op;
    kw_describe_groups_req *m = kwi_areq_alloc(rq, 1, sizeof(*m));
    kw_slice *ids = kwi_areq_alloc(rq, 1, sizeof(*ids));
    if (!m || !ids)
        return NULL;
    ids[0] = kw_slice_str(it->group);
    m->groups = ids;
    m->n_groups = 1;
    return m;
}

static void
dg_at_coord(kwi_aop *op, int32_t i, int32_t node)
{
    send_group(op, i, node, on_dg, KWI_API_DESCRIBE_GROUPS, dg_build, 0);
}

static void
dg_dispatch(kwi_aop *op, const kwi_amd *md)
{
    find_coordinators(op, md);
}

static kw_err
dg_result(kwi_aop *op, kw_admin_result *r)
{
    kw_group_description *v = kwi_aop_alloc(op, (size_t)op->n_items, sizeof(*v));
    if (!v)
        return KW_ERR_NOMEM;
    for (int32_t i = 0; i < op->n_items; i++) {
        dg_item *it = kwi_aop_item(op, i);
        v[i] = it->d;
        v[i].group_id = it->g.group;
        v[i].error = &it->g.h.e;
        v[i].coordinator = it->g.coordinator;
        if (!v[i].state)
            v[i].state = "";
        if (!v[i].protocol_type)
            v[i].protocol_type = "";
        if (!v[i].protocol)
            v[i].protocol = "";
        if (!v[i].type)
            v[i].type = "";
    }
    r->groups = v;
    r->n_groups = op->n_items;
    return KW_ERR_OK;
}

static const kwi_akind k_describe_groups = {
    KW_ADMIN_DESCRIBE_GROUPS, "DescribeGroups", false, dg_dispatch, NULL, dg_result, NULL};

static kw_err
groups_call(kw_admin *ad, const kwi_akind *k, size_t item_sz, const char *const *ids, size_t n,
            const kw_admin_opts *o, kw_admin_cb cb, void *ud, kw_error *err, kwi_aop **out)
{
    *out = NULL;
    kw_err e = kwi_admin_check_names(ids, n, "group", "id", err);
    if (e != KW_ERR_OK)
        return e;
    kwi_aop *op = kwi_admin_begin(ad, k, n, item_sz, o, cb, ud, err);
    if (!op)
        return err ? err->code : KW_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++) {
        grp_head *it = kwi_aop_item(op, (int32_t)i);
        it->coordinator = -1;
        if (!(it->group = kwi_aop_strdup(op, ids[i])))
            return kwi_admin_end(op, kw_error_set(err, KW_ERR_NOMEM, "out of memory"));
    }
    *out = op;
    return KW_ERR_OK;
}

kw_err
kw_admin_describe_groups(kw_admin *ad, const char *const *group_ids, size_t n,
                         const kw_admin_opts *o, kw_admin_cb cb, void *ud, kw_error *err)
{
    kwi_aop *op;
    kw_err e =
        groups_call(ad, &k_describe_groups, sizeof(dg_item), group_ids, n, o, cb, ud, err, &op);
    return op ? kwi_admin_end(op, KW_ERR_OK) : e;
}

/* ---- group offsets and lag --------------------------------------------------------------- */

typedef struct go_item {
    grp_head g;
    kw_partition_offset *parts; /* sorted by topic, partition */
    int32_t n_parts;
    kw_error *end_e; /* per partition: the lag phase's outcome */
} go_item;

/* The lag phase's items: a partition of a group, with ListOffsets' answer. */
typedef struct lag_item {
    kwi_poff_item p;
    int32_t group, index;
} lag_item;

typedef struct go_state {
    bool lag;
    int phase; /* 1: OffsetFetch; 2: end offsets */
    /* The topics asked for (n_asked 0 = all the group committed) and, per attempt, their
     * partitions from the attempt's Metadata, as OffsetFetch wants them. */
    kw_slice *asked;
    int32_t n_asked;
    kw_offset_fetch_req_topic *req;
    int32_t n_req;
    go_item *groups;
    int32_t n_groups;
} go_state;

static int
part_cmp(const void *a, const void *b)
{
    const kw_partition_offset *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static void
go_copy(kwi_aop *op, go_item *it, const kw_offset_fetch_resp_topic *topics, int32_t nt)
{
    int32_t n = 0;
    for (int32_t t = 0; t < nt; t++)
        n += topics[t].n_partitions > 0 ? topics[t].n_partitions : 0;
    it->parts = kwi_aop_alloc(op, (size_t)n, sizeof(*it->parts));
    it->end_e = kwi_aop_alloc(op, (size_t)n, sizeof(*it->end_e));
    if (!it->parts || !it->end_e) {
        kwi_aitem_fail(&it->g.h, KW_ERR_NOMEM, "out of memory");
        return;
    }
    kw_error *pe = kwi_aop_alloc(op, (size_t)n, sizeof(*pe));
    int32_t k = 0;
    for (int32_t t = 0; pe && t < nt; t++) {
        const char *name = kwi_aop_slicedup(op, topics[t].name);
        for (int32_t j = 0; j < topics[t].n_partitions; j++, k++) {
            const kw_offset_fetch_resp_partition *p = &topics[t].partitions[j];
            kw_partition_offset *o = &it->parts[k];
            o->topic = name ? name : "";
            o->partition = p->partition_index;
            o->offset = p->committed_offset;
            o->leader_epoch = p->committed_leader_epoch;
            o->metadata = kwi_aop_slicedup(op, p->metadata);
            o->end_offset = o->lag = -1;
            o->timestamp = -1;
            kw_error_init(&pe[k]);
            if (p->error_code) {
                kw_error_set(&pe[k], KW_ERR_BROKER, "%s [%d]: OffsetFetch %s", o->topic,
                             (int)o->partition, kw_broker_err_name(p->error_code));
                pe[k].broker_code = p->error_code;
            }
            o->error = &pe[k];
            kw_error_init(&it->end_e[k]);
            o->end_error = &it->end_e[k];
        }
    }
    if (!pe) {
        kwi_aitem_fail(&it->g.h, KW_ERR_NOMEM, "out of memory");
        return;
    }
    qsort(it->parts, (size_t)n, sizeof(*it->parts), part_cmp);
    it->n_parts = n;
}

static void
on_offset_fetch(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp)
{
    go_item *it = kwi_aop_item(op, rq->idx[0]);
    const kw_offset_fetch_resp *m = resp->body;
    int16_t code = m->error_code;
    const kw_offset_fetch_resp_topic *topics = m->topics;
    int32_t nt = m->n_topics;
    if (resp->ver >= 8) {
        const kw_offset_fetch_resp_group *g = m->n_groups > 0 ? m->groups : NULL;
        code = g ? g->error_code : KWI_E_COORD_NA;
        topics = g ? g->topics : NULL;
        nt = g ? g->n_topics : 0;
    }
    /* A partition that is still being committed (UNSTABLE_OFFSET_COMMIT, retriable) makes
     * the group's answer incomplete: ask again. */
    for (int32_t t = 0; !code && t < nt; t++)
        for (int32_t j = 0; j < topics[t].n_partitions && !code; j++)
            if (kw_broker_err_retriable(topics[t].partitions[j].error_code))
                code = topics[t].partitions[j].error_code;
    kwi_aitem_broker(&it->g.h, code, KW_SLICE_NULL, "OffsetFetch", "group %s", it->g.group);
    if (code == 0)
        go_copy(op, it, topics, nt > 0 ? nt : 0);
}

static void *
of_build(kwi_aop *op, kwi_areq *rq, grp_head *it)
{
    go_state *st = op->st;
    kw_offset_fetch_req *m = kwi_areq_alloc(rq, 1, sizeof(*m));
    kw_offset_fetch_req_group *g = kwi_areq_alloc(rq, 1, sizeof(*g));
    if (!m || !g)
        return NULL;
    /* Both forms: v1-7 GroupId/Topics, v8+ Groups[]; null topics = all (v2+). The topic
     * list lives in the call's arena, which outlives the request. */
    m->group_id = kw_slice_str(it->group);
    m->topics = st->req;
    m->n_topics = st->n_asked ? st->n_req : -1;
    g->group_id = m->group_id;
    g->member_id = KW_SLICE_NULL;
    g->member_epoch = -1;
    g->topics = m->topics;
    g->n_topics = m->n_topics;
    m->groups = g;
    m->n_groups = 1;
    return m;
}

static void
go_at_coord(kwi_aop *op, int32_t i, int32_t node)
{
    /* "All topics" (a null list) needs OffsetFetch v2. */
    go_state *st = op->st;
    send_group(op, i, node, on_offset_fetch, KWI_API_OFFSET_FETCH, of_build, st->n_asked ? 0 : 2);
}

/* The asked topics' partitions from this attempt's Metadata; a missing topic has none. */
static bool
go_asked_partitions(kwi_aop *op, const kw_metadata_resp *md)
{
    go_state *st = op->st;
    st->req = kwi_aop_alloc(op, (size_t)st->n_asked, sizeof(*st->req));
    if (!st->req)
        return false;
    st->n_req = 0;
    for (int32_t t = 0; t < st->n_asked; t++) {
        const kw_metadata_resp_topic *mt = NULL;
        for (int32_t k = 0; md && k < md->n_topics && !mt; k++)
            if (md->topics[k].name.len == st->asked[t].len &&
                memcmp(md->topics[k].name.ptr, st->asked[t].ptr, (size_t)st->asked[t].len) == 0)
                mt = &md->topics[k];
        if (!mt || mt->error_code || mt->n_partitions <= 0)
            continue;
        kw_offset_fetch_req_topic *r = &st->req[st->n_req++];
        r->name = st->asked[t];
        r->partition_indexes = kwi_aop_alloc(op, (size_t)mt->n_partitions, sizeof(int32_t));
        if (!r->partition_indexes)
            return false;
        for (int32_t p = 0; p < mt->n_partitions; p++)
            r->partition_indexes[p] = mt->partitions[p].partition_index;
        r->n_partition_indexes = mt->n_partitions;
    }
    return true;
}

/* What a group call sends once the group's coordinator is known. */
static void
at_coordinator(kwi_aop *op, int32_t i, int32_t node)
{
    if (op->k->op == KW_ADMIN_DESCRIBE_GROUPS)
        dg_at_coord(op, i, node);
    else
        go_at_coord(op, i, node);
}

static void
go_dispatch(kwi_aop *op, const kwi_amd *md)
{
    go_state *st = op->st;
    if (st->phase == 2) {
        kwi_poff_dispatch(op, md, false);
        return;
    }
    if (st->n_asked && !go_asked_partitions(op, md->tmd)) {
        kw_error_set(&op->last, KW_ERR_NOMEM, "out of memory");
        return;
    }
    find_coordinators(op, md);
}

/* Every group has its offsets: with lag asked, the end offsets of their partitions next. */
static bool
go_next(kwi_aop *op)
{
    go_state *st = op->st;
    if (st->phase != 1 || !st->lag)
        return false;
    int32_t n = 0;
    for (int32_t g = 0; g < op->n_items; g++)
        n += ((go_item *)kwi_aop_item(op, g))->n_parts;
    lag_item *v = n ? kwi_aop_alloc(op, (size_t)n, sizeof(*v)) : NULL;
    if (!v)
        return false; /* no partition (or no memory for the lag): the offsets alone */
    st->groups = op->items;
    st->n_groups = op->n_items;
    st->phase = 2;
    int32_t k = 0;
    for (int32_t g = 0; g < st->n_groups; g++)
        for (int32_t j = 0; j < st->groups[g].n_parts; j++, k++) {
            v[k].p.h.dest = -1;
            v[k].p.topic = st->groups[g].parts[j].topic;
            v[k].p.partition = st->groups[g].parts[j].partition;
            v[k].p.spec = KW_OFFSET_LATEST;
            v[k].p.offset = v[k].p.timestamp = -1;
            v[k].group = g;
            v[k].index = j;
        }
    kwi_aop_rephase(op, v, n, sizeof(*v));
    op->topic_md = true;
    return kwi_poff_md_topics(op, v, n, sizeof(*v));
}

static kw_err
go_result(kwi_aop *op, kw_admin_result *r)
{
    go_state *st = op->st;
    if (st->phase == 1 || !st->groups) {
        st->groups = op->items;
        st->n_groups = op->n_items;
    } else {
        /* Merge the end offsets into the groups' partitions. */
        for (int32_t i = 0; i < op->n_items; i++) {
            lag_item *l = kwi_aop_item(op, i);
            go_item *g = &st->groups[l->group];
            kw_partition_offset *p = &g->parts[l->index];
            g->end_e[l->index] = l->p.h.e;
            if (l->p.h.e.code != KW_ERR_OK)
                continue;
            p->end_offset = l->p.offset;
            p->lag = p->offset >= 0 && p->end_offset >= 0
                         ? (p->end_offset > p->offset ? p->end_offset - p->offset : 0)
                         : -1;
        }
    }
    kw_group_offsets *v = kwi_aop_alloc(op, (size_t)st->n_groups, sizeof(*v));
    if (!v)
        return KW_ERR_NOMEM;
    for (int32_t g = 0; g < st->n_groups; g++) {
        go_item *it = &st->groups[g];
        v[g] =
            (kw_group_offsets){it->g.group, &it->g.h.e, it->g.coordinator, it->parts, it->n_parts};
    }
    r->offsets = v;
    r->n_offsets = st->n_groups;
    return KW_ERR_OK;
}

static const kwi_akind k_group_offsets = {
    KW_ADMIN_GROUP_OFFSETS, "GroupOffsets", false, go_dispatch, go_next, go_result, NULL};

kw_err
kw_admin_group_offsets(kw_admin *ad, const char *const *group_ids, size_t n,
                       const char *const *topics, size_t n_topics, bool lag, const kw_admin_opts *o,
                       kw_admin_cb cb, void *ud, kw_error *err)
{
    if ((n_topics && !topics) || n_topics > 100000)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bad topic list");
    kw_err e = kwi_admin_check_names(topics, n_topics, "topic", "name", err);
    if (e != KW_ERR_OK)
        return e;
    kwi_aop *op;
    e = groups_call(ad, &k_group_offsets, sizeof(go_item), group_ids, n, o, cb, ud, err, &op);
    if (!op)
        return e;
    go_state *st = kwi_aop_alloc(op, 1, sizeof(*st));
    kw_slice *asked = kwi_aop_alloc(op, n_topics, sizeof(kw_slice));
    if (!st || !asked)
        return kwi_admin_end(op, kw_error_set(err, KW_ERR_NOMEM, "out of memory"));
    st->lag = lag;
    st->phase = 1;
    for (size_t i = 0; i < n_topics; i++) {
        const char *d = kwi_aop_strdup(op, topics[i]);
        if (!d)
            return kwi_admin_end(op, kw_error_set(err, KW_ERR_NOMEM, "out of memory"));
        asked[i] = kw_slice_str(d);
    }
    st->asked = asked;
    st->n_asked = (int32_t)n_topics;
    op->st = st;
    if (n_topics) {
        /* The partitions of the topics asked come from each attempt's Metadata. */
        op->topic_md = true;
        op->md_topics = asked;
        op->n_md_topics = (int32_t)n_topics;
    }
    return kwi_admin_end(op, KW_ERR_OK);
}
