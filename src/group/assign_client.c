/* The classic (client-side) assignors: the group leader's input (member ids, instance ids,
 * subscriptions by topic name, owned partitions with generations) becomes an assign_int.h
 * problem, an algorithm runs, and the owners become one ConsumerProtocolAssignment per
 * member.
 *
 * Member order is Java's: range and roundrobin sort by AbstractPartitionAssignor.MemberInfo
 * (members with a group.instance.id first, by instance id; then the rest by member id), so a
 * static member that restarts under a new member id keeps its place and its partitions;
 * cooperative-sticky sorts by member id (stickiness comes from OwnedPartitions instead). */
#include <stdlib.h>
#include <string.h>

#include "group/assign.h"
#include "group/assign_int.h"

typedef enum client_alg { ALG_RANGE, ALG_ROUNDROBIN, ALG_COOP_STICKY } client_alg;

typedef struct named {
    kw_slice name;
    int32_t idx;
} named;

static int
cmp_named(const void *a, const void *b)
{
    const named *x = a, *y = b;
    int c = kwi_asg_slice_cmp(x->name, y->name);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

typedef struct member_key {
    kw_slice instance_id; /* len <= 0: dynamic */
    kw_slice member_id;
    int32_t idx;
} member_key;

/* Java MemberInfo.compareTo; equal instance ids (which the broker never lets happen) fall
 * back to the member id so the order stays total. */
static int
cmp_member_info(const void *a, const void *b)
{
    const member_key *x = a, *y = b;
    bool xs = x->instance_id.len > 0, ys = y->instance_id.len > 0;
    if (xs != ys)
        return xs ? -1 : 1;
    int c = xs ? kwi_asg_slice_cmp(x->instance_id, y->instance_id) : 0;
    return c ? c : kwi_asg_slice_cmp(x->member_id, y->member_id);
}

static int
cmp_member_id(const void *a, const void *b)
{
    const member_key *x = a, *y = b;
    return kwi_asg_slice_cmp(x->member_id, y->member_id);
}

/* The topic index of `name` in the name-sorted table, or -1. */
static int32_t
topic_find(const named *sorted, int32_t n, kw_slice name)
{
    int32_t lo = 0, hi = n;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = kwi_asg_slice_cmp(sorted[mid].name, name);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

typedef struct client_ctx {
    const kwi_assign_in *in;
    kwi_asg g;
    named *topics;     /* name order: core topic t is in->topics[topics[t].idx] */
    member_key *order; /* core member m is in->members[order[m].idx] */
} client_ctx;

static kw_err
check_input(const kwi_assign_in *in, int32_t *counts_total)
{
    if (in->n_members < 0 || in->n_topics < 0 || (in->n_members > 0 && !in->members) ||
        (in->n_topics > 0 && !in->topics))
        return KW_ERR_INVALID_ARG;
    int64_t total = 0;
    for (int32_t i = 0; i < in->n_topics; i++) {
        if (in->topics[i].n_partitions < 0)
            return KW_ERR_INVALID_ARG;
        total += in->topics[i].n_partitions;
    }
    if (total > KWI_ASG_MAX_PARTS)
        return KW_ERR_TOO_LARGE;
    for (int32_t i = 0; i < in->n_members; i++) {
        const kwi_assign_member *m = &in->members[i];
        if (m->n_topics < 0 || m->n_owned < 0 || (m->n_topics > 0 && !m->topics) ||
            (m->n_owned > 0 && !m->owned))
            return KW_ERR_INVALID_ARG;
    }
    *counts_total = (int32_t)total;
    return KW_ERR_OK;
}

/* Sorts topics by name and members into the algorithm's order; sets up the problem. */
static kw_err
build_tables(client_ctx *c, client_alg alg)
{
    const kwi_assign_in *in = c->in;
    kw_arena tmp;
    kw_arena_init(&tmp, in->a, 0);
    named *topics = kw_arena_calloc(&tmp, (size_t)in->n_topics, sizeof(*topics));
    int32_t *counts = kw_arena_calloc(&tmp, (size_t)in->n_topics, sizeof(*counts));
    if (!topics || !counts) {
        kw_arena_fini(&tmp);
        return KW_ERR_NOMEM;
    }
    for (int32_t i = 0; i < in->n_topics; i++)
        topics[i] = (named){in->topics[i].name, i};
    qsort(topics, (size_t)in->n_topics, sizeof(*topics), cmp_named);
    kw_err e = KW_ERR_OK;
    for (int32_t t = 0; t < in->n_topics; t++) {
        counts[t] = in->topics[topics[t].idx].n_partitions;
        if (t > 0 && kwi_asg_slice_cmp(topics[t - 1].name, topics[t].name) == 0)
            e = KW_ERR_INVALID_ARG;
    }
    if (!e)
        e = kwi_asg_init(&c->g, in->a, in->n_members, in->n_topics, counts);
    if (!e) {
        /* The sorted table moves into the problem's arena so it lives as long as the rest. */
        c->topics = kwi_asg_alloc(&c->g, (size_t)in->n_topics, sizeof(*topics));
        c->order = kwi_asg_alloc(&c->g, (size_t)in->n_members, sizeof(*c->order));
        if (!c->topics || !c->order)
            e = KW_ERR_NOMEM;
        else if (in->n_topics > 0)
            memcpy(c->topics, topics, (size_t)in->n_topics * sizeof(*topics));
    }
    kw_arena_fini(&tmp);
    if (e)
        return e;
    for (int32_t i = 0; i < in->n_members; i++)
        c->order[i] = (member_key){in->members[i].instance_id, in->members[i].member_id, i};
    qsort(c->order, (size_t)in->n_members, sizeof(*c->order), cmp_member_id);
    for (int32_t i = 1; i < in->n_members; i++)
        if (cmp_member_id(&c->order[i - 1], &c->order[i]) == 0)
            return KW_ERR_INVALID_ARG;
    if (alg != ALG_COOP_STICKY)
        qsort(c->order, (size_t)in->n_members, sizeof(*c->order), cmp_member_info);
    return KW_ERR_OK;
}

/* Each member's subscription as topic indices; unknown topics are dropped. */
static kw_err
build_subs(client_ctx *c)
{
    const kwi_assign_in *in = c->in;
    for (int32_t m = 0; m < in->n_members; m++) {
        const kwi_assign_member *mem = &in->members[c->order[m].idx];
        int32_t *v = kwi_asg_alloc(&c->g, (size_t)mem->n_topics, sizeof(*v));
        if (!v)
            return KW_ERR_NOMEM;
        int32_t n = 0;
        for (int32_t i = 0; i < mem->n_topics; i++) {
            int32_t t = topic_find(c->topics, in->n_topics, mem->topics[i]);
            if (t >= 0)
                v[n++] = t;
        }
        kwi_asg_set_subs(&c->g, m, v, n);
    }
    return kwi_asg_index_subs(&c->g);
}

static int
cmp_slice(const void *a, const void *b)
{
    return kwi_asg_slice_cmp(*(const kw_slice *)a, *(const kw_slice *)b);
}

static int32_t
rack_find(const kw_slice *racks, int32_t n, kw_slice r)
{
    int32_t lo = 0, hi = n;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = kwi_asg_slice_cmp(racks[mid], r);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

/* The racks as a sorted table of unique names (empty names mean "no rack", as in Java). */
static kw_slice *
rack_table(client_ctx *c, int32_t *n_out)
{
    const kwi_assign_in *in = c->in;
    size_t n = 0;
    for (int32_t i = 0; i < in->n_members; i++)
        n += in->members[i].rack.len > 0;
    for (int32_t t = 0; t < in->n_topics; t++)
        for (int32_t p = 0; in->topics[t].racks && p < in->topics[t].n_partitions; p++)
            n += in->topics[t].racks[p].racks && in->topics[t].racks[p].n > 0
                     ? (size_t)in->topics[t].racks[p].n
                     : 0;
    kw_slice *all = kwi_asg_alloc(&c->g, n, sizeof(*all));
    if (!all)
        return NULL;
    size_t k = 0;
    for (int32_t i = 0; i < in->n_members; i++)
        if (in->members[i].rack.len > 0)
            all[k++] = in->members[i].rack;
    for (int32_t t = 0; t < in->n_topics; t++)
        for (int32_t p = 0; in->topics[t].racks && p < in->topics[t].n_partitions; p++) {
            const kwi_assign_racks *r = &in->topics[t].racks[p];
            for (int32_t j = 0; r->racks && j < r->n; j++)
                if (r->racks[j].len > 0)
                    all[k++] = r->racks[j];
        }
    qsort(all, k, sizeof(*all), cmp_slice);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || kwi_asg_slice_cmp(all[u - 1], all[i]) != 0)
            all[u++] = all[i];
    *n_out = (int32_t)u;
    return all;
}

/* One partition's replica racks as ascending unique ids at prack[*pos...]. */
static void
partition_racks(kwi_asg *g, const kw_slice *table, const kwi_assign_racks *r, int32_t *pos)
{
    int32_t start = *pos;
    for (int32_t j = 0; r->racks && j < r->n; j++) {
        int32_t id = r->racks[j].len > 0 ? rack_find(table, g->n_racks, r->racks[j]) : -1;
        int32_t at = *pos;
        while (at > start && g->prack[at - 1] > id)
            at--;
        if (id < 0 || (at > start && g->prack[at - 1] == id))
            continue;
        memmove(&g->prack[at + 1], &g->prack[at], (size_t)(*pos - at) * sizeof(int32_t));
        g->prack[at] = id;
        (*pos)++;
    }
}

/* KIP-881 input for rack-aware range: member racks and each partition's replica racks,
 * interned. Left unset (plain range) when no member has a rack or no topic has rack data. */
static kw_err
build_racks(client_ctx *c)
{
    const kwi_assign_in *in = c->in;
    kwi_asg *g = &c->g;
    bool member_rack = false, topic_racks = false;
    for (int32_t i = 0; i < in->n_members; i++)
        member_rack = member_rack || in->members[i].rack.len > 0;
    for (int32_t t = 0; t < in->n_topics; t++)
        topic_racks = topic_racks || (in->topics[t].racks && in->topics[t].n_partitions > 0);
    if (!member_rack || !topic_racks)
        return KW_ERR_OK;
    int32_t nr = 0;
    kw_slice *table = rack_table(c, &nr);
    g->mrack = kwi_asg_alloc(g, (size_t)g->n_members, sizeof(int32_t));
    g->proff = kwi_asg_alloc(g, (size_t)g->n_parts + 1, sizeof(int32_t));
    if (!table || !g->mrack || !g->proff)
        return KW_ERR_NOMEM;
    g->n_racks = nr;
    size_t entries = 0;
    for (int32_t t = 0; t < in->n_topics; t++)
        for (int32_t p = 0; in->topics[t].racks && p < in->topics[t].n_partitions; p++) {
            const kwi_assign_racks *r = &in->topics[t].racks[p];
            entries += r->racks && r->n > 0 ? (size_t)r->n : 0;
        }
    g->prack = kwi_asg_alloc(g, entries, sizeof(int32_t));
    if (!g->prack)
        return KW_ERR_NOMEM;
    for (int32_t m = 0; m < g->n_members; m++) {
        kw_slice r = in->members[c->order[m].idx].rack;
        g->mrack[m] = r.len > 0 ? rack_find(table, nr, r) : -1;
    }
    int32_t pos = 0;
    for (int32_t t = 0; t < g->n_topics; t++) {
        const kwi_assign_topic *tp = &in->topics[c->topics[t].idx];
        for (int32_t k = 0; k < tp->n_partitions; k++) {
            g->proff[g->tbase[t] + k] = pos;
            if (tp->racks)
                partition_racks(g, table, &tp->racks[k], &pos);
        }
    }
    g->proff[g->n_parts] = pos;
    return KW_ERR_OK;
}

/* cooperative-sticky: every member's OwnedPartitions claim their partitions at its
 * generation. Partitions of unknown topics or out of range are ignored. */
static kw_err
build_claims(client_ctx *c)
{
    kw_err e = kwi_asg_claims_begin(&c->g);
    if (e)
        return e;
    for (int32_t m = 0; m < c->in->n_members; m++) {
        const kwi_assign_member *mem = &c->in->members[c->order[m].idx];
        for (int32_t i = 0; i < mem->n_owned; i++) {
            const kw_consumer_protocol_topic_partition *tp = &mem->owned[i];
            int32_t t = topic_find(c->topics, c->in->n_topics, tp->topic);
            if (t < 0 || tp->n_partitions <= 0 || !tp->partitions)
                continue;
            int32_t n = c->g.tbase[t + 1] - c->g.tbase[t];
            for (int32_t j = 0; j < tp->n_partitions; j++)
                if (tp->partitions[j] >= 0 && tp->partitions[j] < n)
                    kwi_asg_claim(&c->g, m, c->g.tbase[t] + tp->partitions[j], mem->generation);
        }
    }
    kwi_asg_claims_end(&c->g);
    return KW_ERR_OK;
}

/* Writes member m's partitions (global indices list[0..n-1], ascending) as topic runs. */
static kw_err
emit_member(client_ctx *c, kwi_assign_out *out, int32_t m, const int32_t *list, int32_t n)
{
    kw_consumer_protocol_assignment *as = &out->assignments[c->order[m].idx];
    as->user_data = KW_SLICE_NULL;
    int32_t runs = 0;
    for (int32_t i = 0; i < n; i++)
        if (i == 0 || c->g.ptopic[list[i]] != c->g.ptopic[list[i - 1]])
            runs++;
    as->assigned_partitions =
        kw_arena_calloc(&out->arena, (size_t)runs, sizeof(*as->assigned_partitions));
    int32_t *parts = kw_arena_calloc(&out->arena, (size_t)n, sizeof(*parts));
    if (!as->assigned_partitions || !parts)
        return KW_ERR_NOMEM;
    kw_consumer_protocol_topic_partition *tp = NULL;
    for (int32_t i = 0; i < n; i++) {
        int32_t t = c->g.ptopic[list[i]];
        if (!tp || t != c->g.ptopic[list[i - 1]]) {
            tp = &as->assigned_partitions[as->n_assigned_partitions++];
            tp->topic = c->in->topics[c->topics[t].idx].name;
            tp->partitions = parts + i;
        }
        tp->partitions[tp->n_partitions++] = list[i] - c->g.tbase[t];
    }
    return KW_ERR_OK;
}

static kw_err
emit(client_ctx *c, kwi_assign_out *out)
{
    int32_t *start, *list;
    kw_err e = kwi_asg_by_member(&c->g, &start, &list);
    if (e)
        return e;
    out->n_members = c->in->n_members;
    out->assignments =
        kw_arena_calloc(&out->arena, (size_t)out->n_members, sizeof(*out->assignments));
    if (!out->assignments)
        return KW_ERR_NOMEM;
    for (int32_t m = 0; m < c->in->n_members && !e; m++)
        e = emit_member(c, out, m, list + start[m], start[m + 1] - start[m]);
    return e;
}

static kw_err
run_client(const kwi_assign_in *in, kwi_assign_out *out, client_alg alg)
{
    memset(out, 0, sizeof(*out));
    kw_arena_init(&out->arena, in ? in->a : NULL, 0);
    if (!in)
        return KW_ERR_INVALID_ARG;
    int32_t total;
    kw_err e = check_input(in, &total);
    if (e)
        return e;
    client_ctx c = {.in = in};
    e = build_tables(&c, alg);
    if (!e)
        e = build_subs(&c);
    if (!e && alg == ALG_COOP_STICKY)
        e = build_claims(&c);
    if (!e && alg == ALG_RANGE)
        e = build_racks(&c);
    if (!e) {
        if (alg == ALG_RANGE)
            e = kwi_asg_range_racks(&c.g);
        else if (alg == ALG_ROUNDROBIN)
            kwi_asg_roundrobin(&c.g);
        else
            e = kwi_asg_sticky(&c.g);
    }
    if (!e && alg == ALG_COOP_STICKY)
        out->n_withheld = kwi_asg_withhold(&c.g);
    if (!e)
        e = emit(&c, out);
    kwi_asg_fini(&c.g);
    if (e)
        kwi_assign_out_fini(out);
    return e;
}

static kw_err
assign_range(const kwi_assign_in *in, kwi_assign_out *out)
{
    return run_client(in, out, ALG_RANGE);
}

static kw_err
assign_roundrobin(const kwi_assign_in *in, kwi_assign_out *out)
{
    return run_client(in, out, ALG_ROUNDROBIN);
}

static kw_err
assign_coop_sticky(const kwi_assign_in *in, kwi_assign_out *out)
{
    return run_client(in, out, ALG_COOP_STICKY);
}

const kwi_assignor kwi_assignor_range = {"range", KWI_ASSIGN_EAGER, assign_range};
const kwi_assignor kwi_assignor_roundrobin = {"roundrobin", KWI_ASSIGN_EAGER, assign_roundrobin};
const kwi_assignor kwi_assignor_cooperative_sticky = {
    "cooperative-sticky", KWI_ASSIGN_EAGER | KWI_ASSIGN_COOPERATIVE, assign_coop_sticky};

const kwi_assignor *
kwi_assignor_find(kw_slice name)
{
    static const kwi_assignor *const all[] = {&kwi_assignor_range, &kwi_assignor_roundrobin,
                                              &kwi_assignor_cooperative_sticky};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (name.len >= 0 && kw_slice_eq(name, all[i]->name))
            return all[i];
    return NULL;
}

kw_err
kwi_assign_run(const kwi_assignor *as, const kwi_assign_in *in, kwi_assign_out *out)
{
    if (!as) {
        memset(out, 0, sizeof(*out));
        kw_arena_init(&out->arena, in ? in->a : NULL, 0);
        return KW_ERR_INVALID_ARG;
    }
    return as->assign(in, out);
}

void
kwi_assign_out_fini(kwi_assign_out *out)
{
    if (!out->arena.a) /* zeroed, never initialised */
        return;
    kw_arena_fini(&out->arena);
    out->assignments = NULL;
    out->n_members = 0;
    out->n_withheld = 0;
}
