/* See asg_support.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asg_support.h"

uint32_t
w_rand(uint32_t *s)
{
    uint32_t x = *s ? *s : 2463534242u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

int32_t
w_range(uint32_t *s, int32_t lo, int32_t hi)
{
    return lo + (int32_t)(w_rand(s) % (uint32_t)(hi - lo + 1));
}

world *
w_new(int32_t n_topics, const int32_t *counts)
{
    world *w = calloc(1, sizeof(*w));
    ck_assert_ptr_nonnull(w);
    W_CHECK((n_topics) <= (W_MAXT));
    w->n_topics = n_topics;
    for (int32_t t = 0; t < n_topics; t++) {
        snprintf(w->tname[t], sizeof(w->tname[t]), "t%02d", (int)t);
        w->count[t] = counts[t];
        w->tbase[t + 1] = w->tbase[t] + counts[t];
    }
    w->n_parts = w->tbase[n_topics];
    return w;
}

void
w_free(world *w)
{
    for (int32_t m = 0; m < w->n_members; m++)
        free(w->m[m].owned);
    free(w);
}

int32_t
w_add(world *w, const char *id, const char *inst)
{
    W_CHECK((w->n_members) < (W_MAXM));
    w_member *m = &w->m[w->n_members];
    memset(m, 0, sizeof(*m));
    snprintf(m->id, sizeof(m->id), "%s", id);
    snprintf(m->inst, sizeof(m->inst), "%s", inst ? inst : "");
    m->generation = -1;
    m->present = true;
    return w->n_members++;
}

void
w_sub_all(world *w, int32_t m)
{
    for (int32_t t = 0; t < w->n_topics; t++)
        w->m[m].sub[t] = true;
}

void
w_own(world *w, int32_t mi, int32_t gp)
{
    w_member *m = &w->m[mi];
    if (m->n_owned == m->cap_owned) {
        m->cap_owned = m->cap_owned ? 2 * m->cap_owned : 16;
        m->owned = realloc(m->owned, (size_t)m->cap_owned * sizeof(*m->owned));
        ck_assert_ptr_nonnull(m->owned);
    }
    m->owned[m->n_owned++] = gp;
}

void
w_clear_owned(world *w, int32_t m)
{
    w->m[m].n_owned = 0;
}

int32_t
w_topic_of(const world *w, int32_t gp)
{
    for (int32_t t = 0; t < w->n_topics; t++)
        if (gp < w->tbase[t + 1])
            return t;
    return -1;
}

/* ---------------------------------------------------------------- building input */

typedef struct built {
    int32_t n;      /* present members fed */
    int32_t *midx;  /* input position -> world member */
    int32_t *tperm; /* input position -> topic */
    void *blocks[4 * W_MAXM + 8];
    int n_blocks;
} built;

static void *
b_alloc(built *b, size_t n)
{
    W_CHECK((b->n_blocks) < ((int)(sizeof(b->blocks) / sizeof(b->blocks[0]))));
    void *p = calloc(1, n ? n : 1);
    ck_assert_ptr_nonnull(p);
    b->blocks[b->n_blocks++] = p;
    return p;
}

static void
b_free(built *b)
{
    for (int i = 0; i < b->n_blocks; i++)
        free(b->blocks[i]);
}

static void
shuffle(int32_t *v, int32_t n, uint32_t *seed)
{
    if (!seed)
        return;
    for (int32_t i = n - 1; i > 0; i--) {
        int32_t j = (int32_t)(w_rand(seed) % (uint32_t)(i + 1)), t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

static void
b_orders(built *b, const world *w, uint32_t *seed)
{
    b->midx = b_alloc(b, (size_t)w->n_members * sizeof(int32_t));
    b->tperm = b_alloc(b, (size_t)w->n_topics * sizeof(int32_t));
    for (int32_t m = 0; m < w->n_members; m++)
        if (w->m[m].present)
            b->midx[b->n++] = m;
    for (int32_t t = 0; t < w->n_topics; t++)
        b->tperm[t] = t;
    shuffle(b->midx, b->n, seed);
    shuffle(b->tperm, w->n_topics, seed);
}

/* Owned partitions as one TopicPartition entry per claim, in the order claimed: topics come
 * repeated and unsorted on purpose. */
static kw_consumer_protocol_topic_partition *
b_owned(built *b, const world *w, const w_member *m)
{
    kw_consumer_protocol_topic_partition *o = b_alloc(b, (size_t)m->n_owned * sizeof(*o));
    int32_t *parts = b_alloc(b, (size_t)m->n_owned * sizeof(int32_t));
    for (int32_t i = 0; i < m->n_owned; i++) {
        int32_t gp = m->owned[i], t = w_topic_of(w, gp);
        parts[i] = gp - w->tbase[t];
        o[i] = (kw_consumer_protocol_topic_partition){kw_slice_str(w->tname[t]), &parts[i], 1};
    }
    return o;
}

static int32_t
world_topic_named(const world *w, kw_slice name)
{
    for (int32_t t = 0; t < w->n_topics; t++)
        if (kw_slice_eq(name, w->tname[t]))
            return t;
    return -1;
}

/* Records that partition (t, p) went to member m, checking it is new and in range. */
static void
note(const world *w, int32_t *owner, int32_t m, int32_t t, int32_t p)
{
    W_CHECK((t) >= (0));
    W_CHECK((p) >= (0));
    W_CHECK((p) < (w->count[t]));
    int32_t gp = w->tbase[t] + p;
    W_CHECK_MSG(owner[gp] == -1, "%s-%d assigned twice", w->tname[t], (int)p);
    owner[gp] = m;
}

int32_t
w_run_client(world *w, const kwi_assignor *as, uint32_t *seed, int32_t *owner)
{
    built b = {0};
    b_orders(&b, w, seed);
    kwi_assign_topic *topics = b_alloc(&b, (size_t)w->n_topics * sizeof(*topics));
    for (int32_t i = 0; i < w->n_topics; i++)
        topics[i] =
            (kwi_assign_topic){kw_slice_str(w->tname[b.tperm[i]]), w->count[b.tperm[i]], NULL};
    kwi_assign_member *mem = b_alloc(&b, (size_t)b.n * sizeof(*mem));
    for (int32_t i = 0; i < b.n; i++) {
        const w_member *m = &w->m[b.midx[i]];
        kw_slice *subs = b_alloc(&b, (size_t)w->n_topics * sizeof(*subs));
        int32_t ns = 0;
        for (int32_t k = 0; k < w->n_topics; k++)
            if (m->sub[b.tperm[k]])
                subs[ns++] = kw_slice_str(w->tname[b.tperm[k]]);
        mem[i] = (kwi_assign_member){
            .member_id = kw_slice_str(m->id),
            .instance_id = m->inst[0] ? kw_slice_str(m->inst) : KW_SLICE_NULL,
            .rack = KW_SLICE_NULL,
            .topics = subs,
            .n_topics = ns,
            .owned = b_owned(&b, w, m),
            .n_owned = m->n_owned,
            .generation = m->generation,
        };
    }
    kwi_assign_in in = {mem, b.n, topics, w->n_topics, NULL};
    kwi_assign_out out;
    W_CHECK((kwi_assign_run(as, &in, &out)) == (KW_ERR_OK));
    W_CHECK((out.n_members) == (b.n));
    for (int32_t gp = 0; gp < w->n_parts; gp++)
        owner[gp] = -1;
    for (int32_t i = 0; i < b.n; i++) {
        const kw_consumer_protocol_assignment *a = &out.assignments[i];
        W_CHECK((a->user_data.len) == (-1));
        for (int32_t k = 0; k < a->n_assigned_partitions; k++) {
            const kw_consumer_protocol_topic_partition *tp = &a->assigned_partitions[k];
            W_CHECK((tp->n_partitions) > (0));
            if (k > 0) /* topics in name order (t00, t01, ...), once each */
                W_CHECK((world_topic_named(w, a->assigned_partitions[k - 1].topic)) <
                        (world_topic_named(w, tp->topic)));
            for (int32_t j = 0; j < tp->n_partitions; j++) {
                if (j > 0)
                    W_CHECK((tp->partitions[j - 1]) < (tp->partitions[j]));
                note(w, owner, b.midx[i], world_topic_named(w, tp->topic), tp->partitions[j]);
            }
        }
    }
    int32_t withheld = out.n_withheld;
    kwi_assign_out_fini(&out);
    b_free(&b);
    return withheld;
}

static kw_uuid
topic_uuid(int32_t t)
{
    kw_uuid u;
    /* Ids whose order differs from the name order. */
    for (int i = 0; i < 16; i++)
        u.b[i] = (uint8_t)((t * 37 + i * 11 + 5) & 0xff);
    u.b[0] = (uint8_t)(255 - t);
    return u;
}

static int32_t
world_topic_by_id(const world *w, kw_uuid id)
{
    for (int32_t t = 0; t < w->n_topics; t++) {
        kw_uuid u = topic_uuid(t);
        if (memcmp(u.b, id.b, 16) == 0)
            return t;
    }
    return -1;
}

void
w_run_server(world *w, const kwi_assign_sv_assignor *as, uint32_t *seed, int32_t *owner)
{
    built b = {0};
    b_orders(&b, w, seed);
    kwi_assign_sv_topic *topics = b_alloc(&b, (size_t)w->n_topics * sizeof(*topics));
    for (int32_t i = 0; i < w->n_topics; i++) {
        int32_t t = b.tperm[i];
        topics[i] = (kwi_assign_sv_topic){topic_uuid(t), kw_slice_str(w->tname[t]), w->count[t]};
    }
    kwi_assign_sv_member *mem = b_alloc(&b, (size_t)b.n * sizeof(*mem));
    for (int32_t i = 0; i < b.n; i++) {
        const w_member *m = &w->m[b.midx[i]];
        kw_uuid *subs = b_alloc(&b, (size_t)w->n_topics * sizeof(*subs));
        int32_t ns = 0;
        for (int32_t k = 0; k < w->n_topics; k++)
            if (m->sub[b.tperm[k]])
                subs[ns++] = topic_uuid(b.tperm[k]);
        kw_consumer_group_heartbeat_topic_partitions *cur =
            b_alloc(&b, (size_t)m->n_owned * sizeof(*cur));
        int32_t *parts = b_alloc(&b, (size_t)m->n_owned * sizeof(int32_t));
        for (int32_t k = 0; k < m->n_owned; k++) {
            int32_t t = w_topic_of(w, m->owned[k]);
            parts[k] = m->owned[k] - w->tbase[t];
            cur[k].topic_id = topic_uuid(t);
            cur[k].partitions = &parts[k];
            cur[k].n_partitions = 1;
        }
        mem[i] = (kwi_assign_sv_member){kw_slice_str(m->id), subs, ns, cur, m->n_owned};
    }
    kwi_assign_sv_in in = {mem, b.n, topics, w->n_topics, NULL};
    kwi_assign_sv_out out;
    W_CHECK((kwi_assign_sv_run(as, &in, &out)) == (KW_ERR_OK));
    W_CHECK((out.n_members) == (b.n));
    for (int32_t gp = 0; gp < w->n_parts; gp++)
        owner[gp] = -1;
    for (int32_t i = 0; i < b.n; i++) {
        const kwi_assign_sv_target *tg = &out.targets[i];
        for (int32_t k = 0; k < tg->n_tps; k++) {
            const kw_consumer_group_heartbeat_topic_partitions *tp = &tg->tps[k];
            W_CHECK((tp->n_partitions) > (0));
            for (int32_t j = 0; j < tp->n_partitions; j++) {
                if (j > 0)
                    W_CHECK((tp->partitions[j - 1]) < (tp->partitions[j]));
                note(w, owner, b.midx[i], world_topic_by_id(w, tp->topic_id), tp->partitions[j]);
            }
        }
    }
    kwi_assign_sv_out_fini(&out);
    b_free(&b);
}

void
w_apply(world *w, const int32_t *owner, int32_t generation)
{
    for (int32_t m = 0; m < w->n_members; m++) {
        w_clear_owned(w, m);
        w->m[m].generation = generation;
    }
    for (int32_t gp = 0; gp < w->n_parts; gp++)
        if (owner[gp] >= 0)
            w_own(w, owner[gp], gp);
}

/* ---------------------------------------------------------------- properties */

int32_t
w_valid_owner(const world *w, int32_t gp, bool *contested)
{
    int32_t best = INT32_MIN, who = -1, n_at_best = 0;
    for (int32_t m = 0; m < w->n_members; m++) {
        const w_member *mm = &w->m[m];
        if (!mm->present)
            continue;
        bool claims = false;
        for (int32_t i = 0; i < mm->n_owned && !claims; i++)
            claims = mm->owned[i] == gp;
        if (!claims)
            continue;
        if (mm->generation > best) {
            best = mm->generation;
            who = m;
            n_at_best = 1;
        } else if (mm->generation == best) {
            n_at_best++;
        }
    }
    if (contested)
        *contested = n_at_best > 1;
    if (n_at_best != 1 || !w->m[who].sub[w_topic_of(w, gp)])
        return -1;
    return who;
}

void
w_check_subscribed(const world *w, const int32_t *owner)
{
    for (int32_t gp = 0; gp < w->n_parts; gp++) {
        int32_t m = owner[gp];
        if (m < 0)
            continue;
        W_CHECK(w->m[m].present);
        W_CHECK_MSG(w->m[m].sub[w_topic_of(w, gp)], "%s got a partition of an unsubscribed topic",
                    w->m[m].id);
    }
}

void
w_check_complete(const world *w, const int32_t *owner)
{
    for (int32_t gp = 0; gp < w->n_parts; gp++) {
        int32_t t = w_topic_of(w, gp);
        bool wanted = false;
        for (int32_t m = 0; m < w->n_members && !wanted; m++)
            wanted = w->m[m].present && w->m[m].sub[t];
        W_CHECK_MSG(!wanted || owner[gp] >= 0, "%s-%d left unassigned", w->tname[t],
                    (int)(gp - w->tbase[t]));
    }
}

void
w_loads(const world *w, const int32_t *owner, int32_t *load)
{
    for (int32_t m = 0; m < w->n_members; m++)
        load[m] = 0;
    for (int32_t gp = 0; gp < w->n_parts; gp++)
        if (owner[gp] >= 0)
            load[owner[gp]]++;
}

void
w_check_balanced(const world *w, const int32_t *owner)
{
    int32_t *load = calloc((size_t)w->n_members + 1, sizeof(*load));
    ck_assert_ptr_nonnull(load);
    w_loads(w, owner, load);
    for (int32_t a = 0; a < w->n_members; a++) {
        if (!w->m[a].present)
            continue;
        for (int32_t b = 0; b < w->n_members; b++) {
            if (!w->m[b].present || a == b)
                continue;
            if (memcmp(w->m[a].sub, w->m[b].sub, sizeof(w->m[a].sub)) == 0)
                W_CHECK_MSG(load[a] - load[b] <= 1, "%s has %d, %s has %d (same topics)",
                            w->m[a].id, (int)load[a], w->m[b].id, (int)load[b]);
        }
    }
    /* No single move from a member to a subscriber holding at least 2 fewer. */
    for (int32_t gp = 0; gp < w->n_parts; gp++) {
        int32_t a = owner[gp], t = w_topic_of(w, gp);
        if (a < 0)
            continue;
        for (int32_t b = 0; b < w->n_members; b++)
            if (w->m[b].present && w->m[b].sub[t])
                W_CHECK_MSG(load[a] - load[b] <= 1, "%s (%d) could give %s-%d to %s (%d)",
                            w->m[a].id, (int)load[a], w->tname[t], (int)(gp - w->tbase[t]),
                            w->m[b].id, (int)load[b]);
    }
    /* No chain of moves either (small groups; brute force): from each member, the members
     * reachable by "holds a partition of a topic the next one subscribes to" all hold at
     * least one fewer. An assignment with no such chain is optimally balanced. */
    if (w->n_members <= 64) {
        bool holds[64][W_MAXT];
        memset(holds, 0, sizeof(holds));
        for (int32_t gp = 0; gp < w->n_parts; gp++)
            if (owner[gp] >= 0)
                holds[owner[gp]][w_topic_of(w, gp)] = true;
        for (int32_t a = 0; a < w->n_members; a++) {
            if (!w->m[a].present)
                continue;
            bool seen[64] = {false};
            int32_t queue[64], head = 0, tail = 0;
            seen[a] = true;
            queue[tail++] = a;
            while (head < tail) {
                int32_t x = queue[head++];
                for (int32_t y = 0; y < w->n_members; y++) {
                    if (seen[y] || !w->m[y].present)
                        continue;
                    bool edge = false;
                    for (int32_t t = 0; t < w->n_topics && !edge; t++)
                        edge = holds[x][t] && w->m[y].sub[t];
                    if (!edge)
                        continue;
                    W_CHECK_MSG(load[y] >= load[a] - 1, "%s (%d) reaches %s (%d) by a chain",
                                w->m[a].id, (int)load[a], w->m[y].id, (int)load[y]);
                    seen[y] = true;
                    queue[tail++] = y;
                }
            }
        }
    }
    free(load);
}
