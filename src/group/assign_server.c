/* The KIP-848 server-side assignors (uniform, range) for the mock broker's
 * ConsumerGroupHeartbeat: members by member id, topics by id and name, and each member's
 * current target assignment as the stickiness input. The coordinator, not the assignor,
 * withholds partitions that are not yet released (GROUPS.md 5.6), so the result here is the
 * plain target.
 *
 * Members are numbered in member id order and topics in name order, so the result does not
 * depend on the order of the input (Java iterates hash maps; its exact choices differ). */
#include <stdlib.h>
#include <string.h>

#include "group/assign.h"
#include "group/assign_int.h"

typedef struct id_key {
    kw_uuid id;
    int32_t t; /* core topic index */
} id_key;

static int
cmp_id_key(const void *a, const void *b)
{
    const id_key *x = a, *y = b;
    return memcmp(x->id.b, y->id.b, sizeof(x->id.b));
}

typedef struct name_key {
    kw_slice name;
    int32_t idx;
} name_key;

static int
cmp_name_key(const void *a, const void *b)
{
    const name_key *x = a, *y = b;
    int c = kwi_asg_slice_cmp(x->name, y->name);
    return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

typedef struct server_ctx {
    const kwi_assign_sv_in *in;
    kwi_asg g;
    name_key *topics;  /* core topic t is in->topics[topics[t].idx] */
    id_key *by_id;     /* sorted by id */
    name_key *members; /* core member m is in->members[members[m].idx] */
} server_ctx;

static int32_t
topic_by_id(const server_ctx *c, kw_uuid id)
{
    int32_t lo = 0, hi = c->in->n_topics;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int r = memcmp(c->by_id[mid].id.b, id.b, sizeof(id.b));
        if (r == 0)
            return c->by_id[mid].t;
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static kw_err
check_input(const kwi_assign_sv_in *in)
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
        const kwi_assign_sv_member *m = &in->members[i];
        if (m->n_topics < 0 || m->n_current < 0 || (m->n_topics > 0 && !m->topics) ||
            (m->n_current > 0 && !m->current))
            return KW_ERR_INVALID_ARG;
    }
    return KW_ERR_OK;
}

static kw_err
build_tables(server_ctx *c)
{
    const kwi_assign_sv_in *in = c->in;
    int32_t nt = in->n_topics, nm = in->n_members;
    kw_arena tmp;
    kw_arena_init(&tmp, in->a, 0);
    name_key *topics = kw_arena_calloc(&tmp, (size_t)nt, sizeof(*topics));
    int32_t *counts = kw_arena_calloc(&tmp, (size_t)nt, sizeof(*counts));
    kw_err e = topics && counts ? KW_ERR_OK : KW_ERR_NOMEM;
    if (!e) {
        for (int32_t i = 0; i < nt; i++)
            topics[i] = (name_key){in->topics[i].name, i};
        qsort(topics, (size_t)nt, sizeof(*topics), cmp_name_key);
        for (int32_t t = 0; t < nt; t++) {
            counts[t] = in->topics[topics[t].idx].n_partitions;
            if (t > 0 && kwi_asg_slice_cmp(topics[t - 1].name, topics[t].name) == 0)
                e = KW_ERR_INVALID_ARG;
        }
    }
    if (!e)
        e = kwi_asg_init(&c->g, in->a, nm, nt, counts);
    if (!e) {
        c->topics = kwi_asg_alloc(&c->g, (size_t)nt, sizeof(*c->topics));
        c->by_id = kwi_asg_alloc(&c->g, (size_t)nt, sizeof(*c->by_id));
        c->members = kwi_asg_alloc(&c->g, (size_t)nm, sizeof(*c->members));
        if (!c->topics || !c->by_id || !c->members)
            e = KW_ERR_NOMEM;
        else if (nt > 0)
            memcpy(c->topics, topics, (size_t)nt * sizeof(*topics));
    }
    kw_arena_fini(&tmp);
    if (e)
        return e;
    for (int32_t t = 0; t < nt; t++)
        c->by_id[t] = (id_key){in->topics[c->topics[t].idx].id, t};
    qsort(c->by_id, (size_t)nt, sizeof(*c->by_id), cmp_id_key);
    for (int32_t t = 1; t < nt; t++)
        if (cmp_id_key(&c->by_id[t - 1], &c->by_id[t]) == 0)
            return KW_ERR_INVALID_ARG;
    for (int32_t m = 0; m < nm; m++)
        c->members[m] = (name_key){in->members[m].member_id, m};
    qsort(c->members, (size_t)nm, sizeof(*c->members), cmp_name_key);
    for (int32_t m = 1; m < nm; m++)
        if (kwi_asg_slice_cmp(c->members[m - 1].name, c->members[m].name) == 0)
            return KW_ERR_INVALID_ARG;
    return KW_ERR_OK;
}

/* Subscriptions (unknown topic ids dropped) and the current assignment as claims of one
 * generation: a partition listed by two members belongs to neither. */
static kw_err
build_members(server_ctx *c)
{
    for (int32_t m = 0; m < c->in->n_members; m++) {
        const kwi_assign_sv_member *mem = &c->in->members[c->members[m].idx];
        int32_t *v = kwi_asg_alloc(&c->g, (size_t)mem->n_topics, sizeof(*v));
        if (!v)
            return KW_ERR_NOMEM;
        int32_t n = 0;
        for (int32_t i = 0; i < mem->n_topics; i++) {
            int32_t t = topic_by_id(c, mem->topics[i]);
            if (t >= 0)
                v[n++] = t;
        }
        kwi_asg_set_subs(&c->g, m, v, n);
    }
    kw_err e = kwi_asg_index_subs(&c->g);
    if (!e)
        e = kwi_asg_claims_begin(&c->g);
    if (e)
        return e;
    for (int32_t m = 0; m < c->in->n_members; m++) {
        const kwi_assign_sv_member *mem = &c->in->members[c->members[m].idx];
        for (int32_t i = 0; i < mem->n_current; i++) {
            const kw_consumer_group_heartbeat_topic_partitions *tp = &mem->current[i];
            int32_t t = topic_by_id(c, tp->topic_id);
            if (t < 0 || tp->n_partitions <= 0 || !tp->partitions)
                continue;
            int32_t n = c->g.tbase[t + 1] - c->g.tbase[t];
            for (int32_t j = 0; j < tp->n_partitions; j++)
                if (tp->partitions[j] >= 0 && tp->partitions[j] < n)
                    kwi_asg_claim(&c->g, m, c->g.tbase[t] + tp->partitions[j], 0);
        }
    }
    kwi_asg_claims_end(&c->g);
    return KW_ERR_OK;
}

static kw_err
emit_member(server_ctx *c, kwi_assign_sv_out *out, int32_t m, const int32_t *list, int32_t n)
{
    kwi_assign_sv_target *tg = &out->targets[c->members[m].idx];
    int32_t runs = 0;
    for (int32_t i = 0; i < n; i++)
        if (i == 0 || c->g.ptopic[list[i]] != c->g.ptopic[list[i - 1]])
            runs++;
    tg->tps = kw_arena_calloc(&out->arena, (size_t)runs, sizeof(*tg->tps));
    int32_t *parts = kw_arena_calloc(&out->arena, (size_t)n, sizeof(*parts));
    if (!tg->tps || !parts)
        return KW_ERR_NOMEM;
    kw_consumer_group_heartbeat_topic_partitions *tp = NULL;
    for (int32_t i = 0; i < n; i++) {
        int32_t t = c->g.ptopic[list[i]];
        if (!tp || t != c->g.ptopic[list[i - 1]]) {
            tp = &tg->tps[tg->n_tps++];
            tp->topic_id = c->in->topics[c->topics[t].idx].id;
            tp->partitions = parts + i;
        }
        tp->partitions[tp->n_partitions++] = list[i] - c->g.tbase[t];
    }
    return KW_ERR_OK;
}

static kw_err
emit(server_ctx *c, kwi_assign_sv_out *out)
{
    int32_t *start, *list;
    kw_err e = kwi_asg_by_member(&c->g, &start, &list);
    if (e)
        return e;
    out->n_members = c->in->n_members;
    out->targets = kw_arena_calloc(&out->arena, (size_t)out->n_members, sizeof(*out->targets));
    if (!out->targets)
        return KW_ERR_NOMEM;
    for (int32_t m = 0; m < c->in->n_members && !e; m++)
        e = emit_member(c, out, m, list + start[m], start[m + 1] - start[m]);
    return e;
}

static kw_err
run_server(const kwi_assign_sv_in *in, kwi_assign_sv_out *out, bool range)
{
    memset(out, 0, sizeof(*out));
    kw_arena_init(&out->arena, in ? in->a : NULL, 0);
    if (!in)
        return KW_ERR_INVALID_ARG;
    kw_err e = check_input(in);
    if (e)
        return e;
    server_ctx c = {.in = in};
    e = build_tables(&c);
    if (!e)
        e = build_members(&c);
    if (!e)
        e = range ? kwi_asg_range_sticky(&c.g) : kwi_asg_sticky(&c.g);
    if (!e)
        e = emit(&c, out);
    kwi_asg_fini(&c.g);
    if (e)
        kwi_assign_sv_out_fini(out);
    return e;
}

static kw_err
assign_uniform(const kwi_assign_sv_in *in, kwi_assign_sv_out *out)
{
    return run_server(in, out, false);
}

static kw_err
assign_range(const kwi_assign_sv_in *in, kwi_assign_sv_out *out)
{
    return run_server(in, out, true);
}

const kwi_assign_sv_assignor kwi_assignor_sv_uniform = {"uniform", assign_uniform};
const kwi_assign_sv_assignor kwi_assignor_sv_range = {"range", assign_range};

const kwi_assign_sv_assignor *
kwi_assign_sv_find(kw_slice name)
{
    if (name.len < 0)
        return NULL;
    if (kw_slice_eq(name, "uniform"))
        return &kwi_assignor_sv_uniform;
    if (kw_slice_eq(name, "range"))
        return &kwi_assignor_sv_range;
    return NULL;
}

kw_err
kwi_assign_sv_run(const kwi_assign_sv_assignor *as, const kwi_assign_sv_in *in,
                  kwi_assign_sv_out *out)
{
    if (!as) {
        memset(out, 0, sizeof(*out));
        kw_arena_init(&out->arena, in ? in->a : NULL, 0);
        return KW_ERR_INVALID_ARG;
    }
    return as->assign(in, out);
}

void
kwi_assign_sv_out_fini(kwi_assign_sv_out *out)
{
    if (!out->arena.a)
        return;
    kw_arena_fini(&out->arena);
    out->targets = NULL;
    out->n_members = 0;
}
