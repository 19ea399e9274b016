/* The balanced, sticky assignment behind cooperative-sticky (client) and uniform (KIP-848
 * server). Input: each member's subscription and prev[], the owner each partition should stay
 * with if balance allows (already cleaned of stale and contested claims). Output: owner[].
 *
 * Balance comes first, then stickiness (the order of Java's AbstractStickyAssignor and the
 * group coordinator's uniform builders):
 *
 * Identical subscriptions (the common case): P partitions over M members means every member
 * gets minQ = P / M or minQ + 1, and exactly P % M members get the extra one. The extra slots
 * go first to members that already own more than minQ (they keep one more), then to the
 * emptiest members (who have to receive partitions anyway, so fewer members see a change).
 * Each member keeps up to its quota of what it owned, taken in (partition number, topic)
 * order so a member that must give some up keeps a spread over topics; the rest is dealt
 * round robin. This keeps the most owned partitions any balanced assignment can keep.
 * It also makes cooperative-sticky's follow-up round complete: after a round every member
 * holds at most its quota (what it kept and was dealt, less what was withheld), so at most
 * P % M members hold minQ + 1; with the same members and partitions those get the extra slots
 * in the follow-up, everyone keeps all they hold, and only unheld partitions are dealt, so
 * nothing is withheld again.
 *
 * Different subscriptions: keep every owned partition, give each unowned one to the least
 * loaded member that can take it (topics with the fewest subscribers first), then remove
 * every "cost-reducing path": a chain of members m0 -> m1 -> ... -> mk where each mi holds a
 * partition of a topic m(i+1) subscribes to and load(m0) >= load(mk) + 2. Shifting one
 * partition along the chain lowers the sum of squared loads by at least 2, so this ends, and
 * an assignment without such a path is optimally balanced in every sense at once (Harvey,
 * Ladner, Lovasz, Tamir, "Semi-matchings for bipartite graphs and load balancing", 2003). In
 * particular two members with the same subscription end within one partition of each other,
 * and an optimally balanced previous assignment that is still valid is returned unchanged.
 * Java's general builder stops at a local optimum instead; the result here is never worse.
 * Along a path, each hop moves back to its previous owner if it can, else a partition its
 * holder did not own before, else the lowest-numbered one. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "group/assign_int.h"

/* ---------------------------------------------------------------- identical subscriptions */

static bool
homogeneous(const kwi_asg *g)
{
    for (int32_t m = 1; m < g->n_members; m++)
        if (g->n_msubs[m] != g->n_msubs[0] ||
            (g->n_msubs[0] &&
             memcmp(g->msubs[m], g->msubs[0], (size_t)g->n_msubs[0] * sizeof(int32_t)) != 0))
            return false;
    return true;
}

/* The subscribed partitions in (partition number, topic) order, by a counting sort on the
 * partition number that keeps topic order within each number. */
static int32_t *
by_number_order(kwi_asg *g, int32_t n_parts)
{
    const int32_t *subs = g->msubs[0];
    int32_t ns = g->n_msubs[0], maxn = 0;
    for (int32_t i = 0; i < ns; i++) {
        int32_t n = g->tbase[subs[i] + 1] - g->tbase[subs[i]];
        maxn = n > maxn ? n : maxn;
    }
    int32_t *pos = kwi_asg_alloc(g, (size_t)maxn + 1, sizeof(*pos));
    int32_t *ord = kwi_asg_alloc(g, (size_t)n_parts, sizeof(*ord));
    if (!pos || !ord)
        return NULL;
    for (int32_t i = 0; i < ns; i++)
        pos[g->tbase[subs[i] + 1] - g->tbase[subs[i]]]++; /* topics with exactly n partitions */
    /* Number k appears once per topic with more than k partitions. */
    int32_t above = ns, at = 0;
    for (int32_t k = 0; k < maxn; k++) {
        above -= pos[k];
        pos[k] = at;
        at += above;
    }
    for (int32_t i = 0; i < ns; i++)
        for (int32_t p = g->tbase[subs[i]]; p < g->tbase[subs[i] + 1]; p++)
            ord[pos[p - g->tbase[subs[i]]]++] = p;
    return ord;
}

typedef struct owned_rank {
    int32_t owned;
    int32_t m;
} owned_rank;

static int
cmp_owned_rank(const void *a, const void *b)
{
    const owned_rank *x = a, *y = b;
    if (x->owned != y->owned)
        return x->owned < y->owned ? -1 : 1;
    return (x->m > y->m) - (x->m < y->m);
}

/* Each member's quota: minQ, plus one for `extra` of them (see the file comment). */
static kw_err
homog_quotas(kwi_asg *g, const int32_t *owned, int32_t minq, int32_t extra, int32_t *quota)
{
    int32_t nm = g->n_members;
    for (int32_t m = 0; m < nm; m++) {
        quota[m] = minq;
        if (extra > 0 && owned[m] > minq) {
            quota[m]++;
            extra--;
        }
    }
    if (extra == 0)
        return KW_ERR_OK;
    owned_rank *r = kwi_asg_alloc(g, (size_t)nm, sizeof(*r));
    if (!r)
        return KW_ERR_NOMEM;
    int32_t n = 0;
    for (int32_t m = 0; m < nm; m++)
        if (quota[m] == minq)
            r[n++] = (owned_rank){owned[m], m};
    qsort(r, (size_t)n, sizeof(*r), cmp_owned_rank);
    for (int32_t i = 0; i < extra && i < n; i++)
        quota[r[i].m]++;
    return KW_ERR_OK;
}

/* Deals the unowned subscribed partitions (topic, then partition order) one at a time over
 * the members still below their quota, in member order, round after round. */
static kw_err
homog_deal(kwi_asg *g, int32_t *kept, const int32_t *quota)
{
    int32_t nm = g->n_members, n = 0;
    int32_t *needy = kwi_asg_alloc(g, (size_t)nm, sizeof(*needy));
    if (!needy)
        return KW_ERR_NOMEM;
    for (int32_t m = 0; m < nm; m++)
        if (kept[m] < quota[m])
            needy[n++] = m;
    const int32_t *subs = g->msubs[0];
    int32_t si = 0, p = n > 0 && g->n_msubs[0] > 0 ? g->tbase[subs[0]] : 0;
    while (n > 0) {
        int32_t w = 0;
        for (int32_t i = 0; i < n; i++) {
            /* The next unowned partition of a subscribed topic. */
            while (si < g->n_msubs[0] && (p >= g->tbase[subs[si] + 1] || g->owner[p] >= 0)) {
                if (p >= g->tbase[subs[si] + 1]) {
                    if (++si < g->n_msubs[0])
                        p = g->tbase[subs[si]];
                } else {
                    p++;
                }
            }
            if (si >= g->n_msubs[0])
                return KW_ERR_OK; /* quotas add up to the partitions: cannot happen */
            int32_t m = needy[i];
            g->owner[p++] = m;
            if (++kept[m] < quota[m])
                needy[w++] = m;
        }
        n = w;
    }
    return KW_ERR_OK;
}

static kw_err
sticky_homogeneous(kwi_asg *g)
{
    int32_t nm = g->n_members, np = 0;
    for (int32_t i = 0; i < g->n_msubs[0]; i++)
        np += g->tbase[g->msubs[0][i] + 1] - g->tbase[g->msubs[0][i]];
    if (np == 0)
        return KW_ERR_OK;
    int32_t *owned = kwi_asg_alloc(g, (size_t)nm, sizeof(*owned));
    int32_t *quota = kwi_asg_alloc(g, (size_t)nm, sizeof(*quota));
    int32_t *kept = kwi_asg_alloc(g, (size_t)nm, sizeof(*kept));
    int32_t *ord = by_number_order(g, np);
    if (!owned || !quota || !kept || !ord)
        return KW_ERR_NOMEM;
    for (int32_t i = 0; i < np; i++)
        if (g->prev[ord[i]] >= 0)
            owned[g->prev[ord[i]]]++;
    kw_err e = homog_quotas(g, owned, np / nm, np % nm, quota);
    if (e)
        return e;
    for (int32_t i = 0; i < np; i++) {
        int32_t p = ord[i], m = g->prev[p];
        if (m >= 0 && kept[m] < quota[m]) {
            g->owner[p] = m;
            kept[m]++;
        }
    }
    return homog_deal(g, kept, quota);
}

/* ---------------------------------------------------------------- different subscriptions */

typedef struct general {
    kwi_asg *g;
    int32_t *load;   /* partitions held per member */
    int32_t *hoff;   /* n_members + 1 offsets into hold */
    int32_t *hold;   /* per member and subscription slot: partitions of that topic held */
    int32_t *mseen;  /* BFS stamps per member */
    int32_t *tseen;  /* BFS stamps per topic */
    int32_t *parent; /* BFS tree: who passes a partition to this member */
    int32_t *via;    /* ... of which topic */
    int32_t *queue;
    int32_t *done; /* member cannot start a path while version is unchanged */
    int32_t stamp;
    int32_t version;
} general;

static void
give(general *s, int32_t p, int32_t to)
{
    kwi_asg *g = s->g;
    int32_t t = g->ptopic[p], from = g->owner[p];
    if (from >= 0) {
        s->load[from]--;
        s->hold[s->hoff[from] + kwi_asg_slot(g, from, t)]--;
    }
    g->owner[p] = to;
    s->load[to]++;
    s->hold[s->hoff[to] + kwi_asg_slot(g, to, t)]++;
}

/* A binary min-heap of members keyed by (load, member). */
static void
heap_down(const int32_t *load, int32_t *h, int32_t n, int32_t i)
{
    for (;;) {
        int32_t l = 2 * i + 1, best = i;
        for (int32_t c = l; c <= l + 1 && c < n; c++)
            if (load[h[c]] < load[h[best]] || (load[h[c]] == load[h[best]] && h[c] < h[best]))
                best = c;
        if (best == i)
            return;
        int32_t tmp = h[i];
        h[i] = h[best];
        h[best] = tmp;
        i = best;
    }
}

typedef struct topic_rank {
    int32_t subs;
    int32_t t;
} topic_rank;

static int
cmp_topic_rank(const void *a, const void *b)
{
    const topic_rank *x = a, *y = b;
    if (x->subs != y->subs)
        return x->subs < y->subs ? -1 : 1;
    return (x->t > y->t) - (x->t < y->t);
}

/* Gives every unowned partition to its least loaded subscriber, most constrained topics
 * first. */
static kw_err
general_fill(general *s)
{
    kwi_asg *g = s->g;
    topic_rank *tr = kwi_asg_alloc(g, (size_t)g->n_topics, sizeof(*tr));
    int32_t *h = kwi_asg_alloc(g, (size_t)g->n_members, sizeof(*h));
    if (!tr || !h)
        return KW_ERR_NOMEM;
    int32_t nt = 0;
    for (int32_t t = 0; t < g->n_topics; t++)
        if (g->n_tsubs[t] > 0)
            tr[nt++] = (topic_rank){g->n_tsubs[t], t};
    qsort(tr, (size_t)nt, sizeof(*tr), cmp_topic_rank);
    for (int32_t i = 0; i < nt; i++) {
        int32_t t = tr[i].t, n = g->n_tsubs[t];
        memcpy(h, g->tsubs[t], (size_t)n * sizeof(*h));
        for (int32_t k = n / 2 - 1; k >= 0; k--)
            heap_down(s->load, h, n, k);
        for (int32_t p = g->tbase[t]; p < g->tbase[t + 1]; p++) {
            if (g->owner[p] >= 0)
                continue;
            give(s, p, h[0]);
            heap_down(s->load, h, n, 0);
        }
    }
    return KW_ERR_OK;
}

/* Breadth-first search from u for the nearest member holding at least 2 fewer partitions.
 * Edges: w -> x when w holds a partition of a topic x subscribes to. Returns it or -1;
 * *n_seen receives how many members were reached (they are queue[0..n_seen-1]). */
static int32_t
general_bfs(general *s, int32_t u, int32_t *n_seen)
{
    kwi_asg *g = s->g;
    int32_t stamp = ++s->stamp, head = 0, tail = 0, target = s->load[u] - 2;
    s->mseen[u] = stamp;
    s->queue[tail++] = u;
    while (head < tail) {
        int32_t w = s->queue[head++];
        for (int32_t i = 0; i < g->n_msubs[w]; i++) {
            int32_t t = g->msubs[w][i];
            if (s->hold[s->hoff[w] + i] == 0 || s->tseen[t] == stamp || g->n_tsubs[t] < 2)
                continue;
            s->tseen[t] = stamp; /* every subscriber of t is now reached */
            for (int32_t j = 0; j < g->n_tsubs[t]; j++) {
                int32_t x = g->tsubs[t][j];
                if (s->mseen[x] == stamp)
                    continue;
                s->mseen[x] = stamp;
                s->parent[x] = w;
                s->via[x] = t;
                s->queue[tail++] = x;
                if (s->load[x] <= target) {
                    *n_seen = tail;
                    return x;
                }
            }
        }
    }
    *n_seen = tail;
    return -1;
}

/* The partition of topic t that w passes to x: x's own previous one if w holds it, else one
 * w did not own before, else the lowest. */
static int32_t
pick(const kwi_asg *g, int32_t w, int32_t x, int32_t t)
{
    int32_t best = -1, best_rank = 3;
    for (int32_t p = g->tbase[t]; p < g->tbase[t + 1]; p++) {
        if (g->owner[p] != w)
            continue;
        int32_t rank = g->prev[p] == x ? 0 : g->prev[p] != w ? 1 : 2;
        if (rank < best_rank) {
            best = p;
            best_rank = rank;
            if (rank == 0)
                break;
        }
    }
    return best;
}

typedef struct load_rank {
    int32_t load;
    int32_t m;
} load_rank;

static int
cmp_load_desc(const void *a, const void *b)
{
    const load_rank *x = a, *y = b;
    if (x->load != y->load)
        return x->load > y->load ? -1 : 1;
    return (x->m > y->m) - (x->m < y->m);
}

/* The lowest load among members that can take anything (INT32_MAX if none can). */
static int32_t
min_load(const general *s)
{
    int32_t best = INT32_MAX;
    for (int32_t m = 0; m < s->g->n_members; m++)
        if (s->g->n_msubs[m] > 0 && s->load[m] < best)
            best = s->load[m];
    return best;
}

/* Tries to start paths from u until it has none. Returns whether anything moved. */
static bool
general_drain(general *s, int32_t u, int32_t *gmin)
{
    bool moved = false;
    while (s->done[u] != s->version && s->load[u] - 2 >= *gmin) {
        int32_t n_seen;
        int32_t x = general_bfs(s, u, &n_seen);
        if (x < 0) {
            /* Everyone u reaches holds at least load(u) - 1; a reached member w with no more
             * than load(u) reaches only members of that set, so w has no path either. */
            for (int32_t i = 0; i < n_seen; i++)
                if (s->load[s->queue[i]] <= s->load[u])
                    s->done[s->queue[i]] = s->version;
            break;
        }
        /* Shift one partition along the path, sink first, so each member gives before it
         * receives and gives one of the partitions the search saw it hold. */
        while (x != u) {
            int32_t w = s->parent[x];
            int32_t p = pick(s->g, w, x, s->via[x]);
            assert(p >= 0); /* the search only follows topics w holds */
            give(s, p, x);
            x = w;
        }
        s->version++;
        *gmin = min_load(s);
        moved = true;
    }
    return moved;
}

static kw_err
general_balance(general *s)
{
    kwi_asg *g = s->g;
    int32_t nm = g->n_members;
    load_rank *order = kwi_asg_alloc(g, (size_t)nm, sizeof(*order));
    if (!order)
        return KW_ERR_NOMEM;
    for (;;) {
        for (int32_t m = 0; m < nm; m++)
            order[m] = (load_rank){s->load[m], m};
        qsort(order, (size_t)nm, sizeof(*order), cmp_load_desc);
        int32_t gmin = min_load(s);
        bool moved = false;
        for (int32_t i = 0; i < nm && order[i].load - 2 >= gmin; i++)
            moved |= general_drain(s, order[i].m, &gmin);
        if (!moved)
            return KW_ERR_OK;
    }
}

static kw_err
sticky_general(kwi_asg *g)
{
    general s = {.g = g};
    int32_t nm = g->n_members;
    s.load = kwi_asg_alloc(g, (size_t)nm, sizeof(int32_t));
    s.hoff = kwi_asg_alloc(g, (size_t)nm + 1, sizeof(int32_t));
    s.mseen = kwi_asg_alloc(g, (size_t)nm, sizeof(int32_t));
    s.tseen = kwi_asg_alloc(g, (size_t)g->n_topics, sizeof(int32_t));
    s.parent = kwi_asg_alloc(g, (size_t)nm, sizeof(int32_t));
    s.via = kwi_asg_alloc(g, (size_t)nm, sizeof(int32_t));
    s.queue = kwi_asg_alloc(g, (size_t)nm, sizeof(int32_t));
    s.done = kwi_asg_alloc(g, (size_t)nm, sizeof(int32_t));
    if (!s.load || !s.hoff || !s.mseen || !s.tseen || !s.parent || !s.via || !s.queue || !s.done)
        return KW_ERR_NOMEM;
    for (int32_t m = 0; m < nm; m++) {
        s.hoff[m + 1] = s.hoff[m] + g->n_msubs[m];
        s.done[m] = -1;
    }
    s.hold = kwi_asg_alloc(g, (size_t)s.hoff[nm], sizeof(int32_t));
    if (!s.hold)
        return KW_ERR_NOMEM;
    /* Keep everything still owned (prev[] only names members subscribed to the topic). */
    for (int32_t p = 0; p < g->n_parts; p++)
        if (g->prev[p] >= 0)
            give(&s, p, g->prev[p]);
    kw_err e = general_fill(&s);
    return e ? e : general_balance(&s);
}

kw_err
kwi_asg_sticky(kwi_asg *g)
{
    if (g->n_members == 0)
        return KW_ERR_OK;
    return homogeneous(g) ? sticky_homogeneous(g) : sticky_general(g);
}
