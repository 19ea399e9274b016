/* The problem shared by every assignor (assign_int.h): members, topics, global partition
 * numbers, subscriptions both ways, ownership claims, and the grouping of a result by member.
 * Everything comes from one scratch arena, so a failure anywhere is one kw_arena_fini. */
#include <stdlib.h>
#include <string.h>

#include "group/assign_int.h"

void *
kwi_asg_alloc(kwi_asg *g, size_t n, size_t sz)
{
    return kw_arena_calloc(&g->scratch, n, sz);
}

static int32_t *
alloc_i32(kwi_asg *g, int32_t n, int32_t fill)
{
    int32_t *v = kwi_asg_alloc(g, (size_t)n, sizeof(*v));
    if (v && fill != 0)
        for (int32_t i = 0; i < n; i++)
            v[i] = fill;
    return v;
}

kw_err
kwi_asg_init(kwi_asg *g, const kw_allocator *a, int32_t n_members, int32_t n_topics,
             const int32_t *counts)
{
    memset(g, 0, sizeof(*g));
    kw_arena_init(&g->scratch, a, 0);
    g->n_members = n_members;
    g->n_topics = n_topics;
    g->tbase = alloc_i32(g, n_topics + 1, 0);
    g->msubs = kwi_asg_alloc(g, (size_t)n_members, sizeof(*g->msubs));
    g->n_msubs = alloc_i32(g, n_members, 0);
    g->tsubs = kwi_asg_alloc(g, (size_t)n_topics, sizeof(*g->tsubs));
    g->n_tsubs = alloc_i32(g, n_topics, 0);
    if (!g->tbase || !g->msubs || !g->n_msubs || !g->tsubs || !g->n_tsubs)
        goto nomem;
    for (int32_t t = 0; t < n_topics; t++)
        g->tbase[t + 1] = g->tbase[t] + counts[t];
    g->n_parts = g->tbase[n_topics];
    g->ptopic = alloc_i32(g, g->n_parts, 0);
    g->prev = alloc_i32(g, g->n_parts, -1);
    g->owner = alloc_i32(g, g->n_parts, -1);
    if (!g->ptopic || !g->prev || !g->owner)
        goto nomem;
    for (int32_t t = 0; t < n_topics; t++)
        for (int32_t p = g->tbase[t]; p < g->tbase[t + 1]; p++)
            g->ptopic[p] = t;
    return KW_ERR_OK;
nomem:
    kwi_asg_fini(g);
    return KW_ERR_NOMEM;
}

void
kwi_asg_fini(kwi_asg *g)
{
    kw_arena_fini(&g->scratch);
    memset(g, 0, sizeof(*g));
}

static int
cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

void
kwi_asg_set_subs(kwi_asg *g, int32_t m, int32_t *topics, int32_t n)
{
    if (n > 1)
        qsort(topics, (size_t)n, sizeof(*topics), cmp_i32);
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++) {
        int32_t t = topics[i];
        if (g->tbase[t + 1] == g->tbase[t] || (k > 0 && topics[k - 1] == t))
            continue;
        topics[k++] = t;
    }
    g->msubs[m] = topics;
    g->n_msubs[m] = k;
}

kw_err
kwi_asg_index_subs(kwi_asg *g)
{
    for (int32_t m = 0; m < g->n_members; m++)
        for (int32_t i = 0; i < g->n_msubs[m]; i++)
            g->n_tsubs[g->msubs[m][i]]++;
    for (int32_t t = 0; t < g->n_topics; t++) {
        g->tsubs[t] = alloc_i32(g, g->n_tsubs[t], 0);
        if (!g->tsubs[t])
            return KW_ERR_NOMEM;
        g->n_tsubs[t] = 0;
    }
    /* Members are visited in ascending order, so every subscriber list comes out sorted. */
    for (int32_t m = 0; m < g->n_members; m++)
        for (int32_t i = 0; i < g->n_msubs[m]; i++) {
            int32_t t = g->msubs[m][i];
            g->tsubs[t][g->n_tsubs[t]++] = m;
        }
    return KW_ERR_OK;
}

int32_t
kwi_asg_slot(const kwi_asg *g, int32_t m, int32_t t)
{
    const int32_t *v = g->msubs[m];
    int32_t lo = 0, hi = g->n_msubs[m];
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (v[mid] < t)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->n_msubs[m] && v[lo] == t ? lo : -1;
}

kw_err
kwi_asg_claims_begin(kwi_asg *g)
{
    g->cl_gen = alloc_i32(g, g->n_parts, INT32_MIN);
    g->cl_own = alloc_i32(g, g->n_parts, KWI_ASG_NONE);
    return g->cl_gen && g->cl_own ? KW_ERR_OK : KW_ERR_NOMEM;
}

void
kwi_asg_claim(kwi_asg *g, int32_t m, int32_t p, int32_t generation)
{
    /* The highest generation wins (Java AbstractStickyAssignor: a claim from an older
     * generation is stale; its member missed a rebalance and will be told to revoke). Two
     * members claiming one partition at the same generation cannot both be right, so neither
     * keeps it and whoever gets it waits until both have let go. A member listing a partition
     * twice is one claim. */
    if (generation > g->cl_gen[p]) {
        g->cl_gen[p] = generation;
        g->cl_own[p] = m;
    } else if (generation == g->cl_gen[p] && g->cl_own[p] != m) {
        g->cl_own[p] = KWI_ASG_MULTI;
    }
}

void
kwi_asg_claims_end(kwi_asg *g)
{
    for (int32_t p = 0; p < g->n_parts; p++) {
        int32_t m = g->cl_own[p];
        g->prev[p] = m >= 0 && kwi_asg_slot(g, m, g->ptopic[p]) >= 0 ? m : -1;
    }
}

int32_t
kwi_asg_withhold(kwi_asg *g)
{
    int32_t n = 0;
    for (int32_t p = 0; p < g->n_parts; p++) {
        int32_t o = g->owner[p], c = g->cl_own[p];
        if (o >= 0 && c != KWI_ASG_NONE && c != o) {
            g->owner[p] = -1;
            n++;
        }
    }
    return n;
}

kw_err
kwi_asg_by_member(kwi_asg *g, int32_t **start, int32_t **list)
{
    int32_t *s = alloc_i32(g, g->n_members + 1, 0);
    int32_t *l = alloc_i32(g, g->n_parts, 0);
    int32_t *fill = alloc_i32(g, g->n_members, 0);
    if (!s || !l || !fill)
        return KW_ERR_NOMEM;
    for (int32_t p = 0; p < g->n_parts; p++)
        if (g->owner[p] >= 0)
            s[g->owner[p] + 1]++;
    for (int32_t m = 0; m < g->n_members; m++) {
        s[m + 1] += s[m];
        fill[m] = s[m];
    }
    for (int32_t p = 0; p < g->n_parts; p++)
        if (g->owner[p] >= 0)
            l[fill[g->owner[p]]++] = p;
    *start = s;
    *list = l;
    return KW_ERR_OK;
}

int
kwi_asg_slice_cmp(kw_slice a, kw_slice b)
{
    size_t al = a.len > 0 ? (size_t)a.len : 0, bl = b.len > 0 ? (size_t)b.len : 0;
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c)
        return c;
    return (al > bl) - (al < bl);
}
