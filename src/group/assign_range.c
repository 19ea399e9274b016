/* The per-topic and dealing assignors: classic range (with KIP-881 racks) and roundrobin
 * (eager, not sticky), and the KIP-848 server range (sticky).
 *
 * Members arrive sorted the way Java sorts them (assign_client.c / assign_server.c), so the
 * i-th subscriber of every topic is the same member, which is what makes topics with equal
 * partition counts and equal subscribers co-partitioned: member i gets the same partition
 * numbers of each. */
#include <stdlib.h>
#include <string.h>

#include "group/assign_int.h"

/* Java RangeAssignor: per topic, with k subscribers and n partitions, subscriber i takes
 * n / k consecutive partitions, and the first n % k subscribers one more. */
void
kwi_asg_range(kwi_asg *g)
{
    for (int32_t t = 0; t < g->n_topics; t++) {
        int32_t k = g->n_tsubs[t], n = g->tbase[t + 1] - g->tbase[t];
        if (k == 0)
            continue;
        int32_t minq = n / k, extra = n % k;
        for (int32_t i = 0; i < k; i++) {
            int32_t start = i * minq + (i < extra ? i : extra);
            int32_t len = minq + (i < extra ? 1 : 0);
            for (int32_t j = 0; j < len; j++)
                g->owner[g->tbase[t] + start + j] = g->tsubs[t][i];
        }
    }
}

/* Java RoundRobinAssignor: every partition in (topic name, partition) order goes to the next
 * member of a circular list that subscribes to its topic; members that do not are skipped. */
void
kwi_asg_roundrobin(kwi_asg *g)
{
    int32_t cur = 0, nm = g->n_members;
    for (int32_t t = 0; t < g->n_topics; t++) {
        if (g->n_tsubs[t] == 0)
            continue;
        for (int32_t p = g->tbase[t]; p < g->tbase[t + 1]; p++) {
            while (kwi_asg_slot(g, cur, t) < 0)
                cur = (cur + 1) % nm;
            g->owner[p] = cur;
            cur = (cur + 1) % nm;
        }
    }
}

/* One topic of the server range: quotas as classic range, but each subscriber first keeps
 * the lowest-numbered partitions it holds, up to its quota; subscribers that hold more than
 * the minimum take the extra slots first, in member order. The partitions left over are
 * handed out in ascending ranges to the subscribers below quota, in member order. With no
 * previous assignment this is exactly classic range. */
static void
range_topic(kwi_asg *g, int32_t t, int32_t *cur, int32_t *quota, int32_t *kept)
{
    const int32_t *subs = g->tsubs[t];
    int32_t k = g->n_tsubs[t], lo = g->tbase[t], hi = g->tbase[t + 1];
    int32_t minq = (hi - lo) / k, extra = (hi - lo) % k;
    for (int32_t i = 0; i < k; i++)
        cur[subs[i]] = kept[subs[i]] = 0;
    for (int32_t p = lo; p < hi; p++)
        if (g->prev[p] >= 0)
            cur[g->prev[p]]++;
    for (int32_t i = 0; i < k; i++) {
        int32_t m = subs[i];
        quota[m] = minq;
        if (cur[m] > minq && extra > 0) {
            quota[m]++;
            extra--;
        }
    }
    for (int32_t i = 0; i < k && extra > 0; i++)
        if (quota[subs[i]] == minq && cur[subs[i]] <= minq) {
            quota[subs[i]]++;
            extra--;
        }
    for (int32_t p = lo; p < hi; p++) {
        int32_t m = g->prev[p];
        if (m >= 0 && kept[m] < quota[m]) {
            g->owner[p] = m;
            kept[m]++;
        }
    }
    int32_t p = lo;
    for (int32_t i = 0; i < k; i++) {
        int32_t m = subs[i];
        while (kept[m] < quota[m]) {
            while (g->owner[p] >= 0)
                p++;
            g->owner[p++] = m;
            kept[m]++;
        }
    }
}

kw_err
kwi_asg_range_sticky(kwi_asg *g)
{
    int32_t nm = g->n_members;
    int32_t *cur = kwi_asg_alloc(g, (size_t)nm, sizeof(*cur));
    int32_t *quota = kwi_asg_alloc(g, (size_t)nm, sizeof(*quota));
    int32_t *kept = kwi_asg_alloc(g, (size_t)nm, sizeof(*kept));
    if (!cur || !quota || !kept)
        return KW_ERR_NOMEM;
    for (int32_t t = 0; t < g->n_topics; t++)
        if (g->n_tsubs[t] > 0)
            range_topic(g, t, cur, quota, kept);
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- rack-aware range
 *
 * Rack-aware range (KIP-881; Java RangeAssignor since 3.5). The per-topic quotas of plain
 * range stay exactly as they are, so balance and co-partitioning never suffer; within them,
 * partitions whose replicas include a consumer's rack go to that consumer first, and the rest
 * are handed out as plain range hands them out.
 *
 * A topic takes part only when it helps (Java useRackAwareAssignment): some subscriber has a
 * rack, some replica is on one of those racks, and the partitions do not all sit on the same
 * set of racks (then every placement is equally local). If no topic takes part, this is plain
 * range. Otherwise, following Java:
 *   - topics with the same subscribers and the same partition count (co-partitioned) are
 *     matched together: partition p of all of them goes to the first subscriber whose rack is
 *     among the replicas of p in every one of those topics and who still has room in each;
 *   - a topic on its own that takes part: each subscriber in order takes, up to its room, the
 *     lowest unassigned partitions on its rack;
 *   - then every topic: each subscriber in order takes, up to its room, the lowest unassigned
 *     partitions.
 * A subscriber's room is minQ, or minQ + 1 while fewer than n % k subscribers have taken the
 * extra one. A consumer without a rack matches every partition (as in Java). */
typedef struct rack_state {
    kwi_asg *g;
    int32_t *toff;  /* n_topics + 1 offsets into cnt */
    int32_t *cnt;   /* per topic and subscriber slot: partitions taken */
    int32_t *extra; /* per topic: subscribers that may still take minQ + 1 */
} rack_state;

static int32_t
minq(const kwi_asg *g, int32_t t)
{
    return (g->tbase[t + 1] - g->tbase[t]) / g->n_tsubs[t];
}

static int32_t
room(const rack_state *s, int32_t t, int32_t slot)
{
    int32_t v = minq(s->g, t) + (s->extra[t] > 0 ? 1 : 0) - s->cnt[s->toff[t] + slot];
    return v > 0 ? v : 0;
}

static void
took(rack_state *s, int32_t t, int32_t slot, int32_t n)
{
    s->cnt[s->toff[t] + slot] += n;
    if (s->cnt[s->toff[t] + slot] > minq(s->g, t))
        s->extra[t]--;
}

static bool
racks_match(const kwi_asg *g, int32_t m, int32_t p)
{
    int32_t r = g->mrack[m];
    if (r < 0)
        return true;
    for (int32_t i = g->proff[p]; i < g->proff[p + 1]; i++)
        if (g->prack[i] == r)
            return true;
    return false;
}

/* Java useRackAwareAssignment for one topic. `mark` is n_racks of scratch. */
static bool
topic_needs_racks(const kwi_asg *g, int32_t t, int32_t *mark, int32_t stamp)
{
    int32_t n_union = 0;
    for (int32_t p = g->tbase[t]; p < g->tbase[t + 1]; p++)
        for (int32_t i = g->proff[p]; i < g->proff[p + 1]; i++)
            if (mark[g->prack[i]] != stamp) {
                mark[g->prack[i]] = stamp;
                n_union++;
            }
    bool overlap = false;
    for (int32_t i = 0; i < g->n_tsubs[t] && !overlap; i++) {
        int32_t r = g->mrack[g->tsubs[t][i]];
        overlap = r >= 0 && mark[r] == stamp;
    }
    if (!overlap)
        return false;
    /* Each partition's racks are a subset of the union: equal sets have equal sizes. */
    for (int32_t p = g->tbase[t]; p < g->tbase[t + 1]; p++)
        if (g->proff[p + 1] - g->proff[p] != n_union)
            return true;
    return false;
}

/* Each subscriber in order takes up to its room of the lowest unassigned partitions (on its
 * rack, with `match`). */
static void
take_ranges(rack_state *s, int32_t t, bool match)
{
    kwi_asg *g = s->g;
    for (int32_t i = 0; i < g->n_tsubs[t]; i++) {
        int32_t m = g->tsubs[t][i], want = room(s, t, i), n = 0;
        for (int32_t p = g->tbase[t]; p < g->tbase[t + 1] && n < want; p++)
            if (g->owner[p] < 0 && (!match || racks_match(g, m, p))) {
                g->owner[p] = m;
                n++;
            }
        if (n > 0)
            took(s, t, i, n);
    }
}

/* Co-partitioned topics grp[0..n-1] (same subscribers, same partition count). */
static void
match_copartitioned(rack_state *s, const int32_t *grp, int32_t n, bool *gone)
{
    kwi_asg *g = s->g;
    int32_t t0 = grp[0], k = g->n_tsubs[t0], left = k;
    for (int32_t i = 0; i < k; i++)
        gone[i] = false;
    for (int32_t p = 0; p < g->tbase[t0 + 1] - g->tbase[t0] && left > 0; p++) {
        for (int32_t i = 0; i < k; i++) {
            int32_t m = g->tsubs[t0][i];
            bool ok = !gone[i];
            for (int32_t j = 0; j < n && ok; j++)
                ok = racks_match(g, m, g->tbase[grp[j]] + p) && room(s, grp[j], i) > 0;
            if (!ok)
                continue;
            bool full = true;
            for (int32_t j = 0; j < n; j++) {
                g->owner[g->tbase[grp[j]] + p] = m;
                took(s, grp[j], i, 1);
                full = full && room(s, grp[j], i) == 0;
            }
            if (full) {
                gone[i] = true;
                left--;
            }
            break;
        }
    }
}

typedef struct topic_key {
    int32_t count;
    int32_t n_subs;
    const int32_t *subs;
    int32_t t;
} topic_key;

static int
cmp_topic_key(const void *a, const void *b)
{
    const topic_key *x = a, *y = b;
    if (x->count != y->count)
        return x->count < y->count ? -1 : 1;
    if (x->n_subs != y->n_subs)
        return x->n_subs < y->n_subs ? -1 : 1;
    int c = x->n_subs ? memcmp(x->subs, y->subs, (size_t)x->n_subs * sizeof(int32_t)) : 0;
    if (c)
        return c;
    return (x->t > y->t) - (x->t < y->t);
}

static bool
same_group(const topic_key *x, const topic_key *y)
{
    return x->count == y->count && x->n_subs == y->n_subs &&
           memcmp(x->subs, y->subs, (size_t)x->n_subs * sizeof(int32_t)) == 0;
}

/* The matching passes over every group of co-partitioned topics and every lone topic that
 * takes part. */
static kw_err
match_all(rack_state *s, const bool *needs)
{
    kwi_asg *g = s->g;
    topic_key *keys = kwi_asg_alloc(g, (size_t)g->n_topics, sizeof(*keys));
    int32_t *grp = kwi_asg_alloc(g, (size_t)g->n_topics, sizeof(*grp));
    bool *gone = kwi_asg_alloc(g, (size_t)g->n_members, sizeof(*gone));
    if (!keys || !grp || !gone)
        return KW_ERR_NOMEM;
    int32_t nk = 0;
    for (int32_t t = 0; t < g->n_topics; t++)
        if (g->n_tsubs[t] > 0)
            keys[nk++] = (topic_key){g->tbase[t + 1] - g->tbase[t], g->n_tsubs[t], g->tsubs[t], t};
    qsort(keys, (size_t)nk, sizeof(*keys), cmp_topic_key);
    for (int32_t i = 0; i < nk;) {
        int32_t n = 0;
        while (i + n < nk && same_group(&keys[i], &keys[i + n])) {
            grp[n] = keys[i + n].t;
            n++;
        }
        if (n > 1)
            match_copartitioned(s, grp, n, gone);
        else if (needs[grp[0]])
            take_ranges(s, grp[0], true);
        i += n;
    }
    return KW_ERR_OK;
}

kw_err
kwi_asg_range_racks(kwi_asg *g)
{
    if (!g->mrack || g->n_racks == 0) {
        kwi_asg_range(g);
        return KW_ERR_OK;
    }
    rack_state s = {.g = g};
    s.toff = kwi_asg_alloc(g, (size_t)g->n_topics + 1, sizeof(int32_t));
    s.extra = kwi_asg_alloc(g, (size_t)g->n_topics, sizeof(int32_t));
    bool *needs = kwi_asg_alloc(g, (size_t)g->n_topics, sizeof(bool));
    int32_t *mark = kwi_asg_alloc(g, (size_t)g->n_racks, sizeof(int32_t));
    if (!s.toff || !s.extra || !needs || !mark)
        return KW_ERR_NOMEM;
    bool any = false;
    for (int32_t t = 0; t < g->n_topics; t++) {
        s.toff[t + 1] = s.toff[t] + g->n_tsubs[t];
        if (g->n_tsubs[t] == 0)
            continue;
        s.extra[t] = (g->tbase[t + 1] - g->tbase[t]) % g->n_tsubs[t];
        needs[t] = topic_needs_racks(g, t, mark, t + 1);
        any = any || needs[t];
    }
    if (!any) {
        kwi_asg_range(g);
        return KW_ERR_OK;
    }
    s.cnt = kwi_asg_alloc(g, (size_t)s.toff[g->n_topics], sizeof(int32_t));
    if (!s.cnt)
        return KW_ERR_NOMEM;
    kw_err e = match_all(&s, needs);
    if (e)
        return e;
    for (int32_t t = 0; t < g->n_topics; t++)
        if (g->n_tsubs[t] > 0)
            take_ranges(&s, t, false);
    return KW_ERR_OK;
}
