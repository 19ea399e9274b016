/* cooperative-sticky (KIP-429): exact small cases (fresh group, a join that withholds moved
 * partitions for one round, generation conflicts, an unsubscribed topic, hostile owned
 * lists, a chain that only a multi-hop move balances), then properties over many randomized
 * histories of joins, leaves, subscription changes, partition growth and stale or duplicate
 * claims: nothing goes to a new owner while another member still holds it, everything is
 * assigned once the follow-up rounds are done, members with the same subscription end within
 * one partition of each other, and with identical subscriptions exactly as many owned
 * partitions stay put as any balanced assignment can keep. Large groups finish. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/assign.h"
#include "asg_support.h"

static const kwi_assignor *const coop = &kwi_assignor_cooperative_sticky;

static int32_t *
owners(const world *w)
{
    int32_t *o = calloc((size_t)w->n_parts + 1, sizeof(int32_t));
    ck_assert_ptr_nonnull(o);
    return o;
}

/* Partition (topic t, number p) of world w is owned by member m in o. */
#define OWNS(w, o, t, p, m) W_CHECK(((o)[(w)->tbase[t] + (p)]) == ((m)))

START_TEST(fresh_group)
{
    int32_t counts[] = {3, 3};
    world *w = w_new(2, counts);
    int32_t c0 = w_add(w, "C0", NULL), c1 = w_add(w, "C1", NULL);
    w_sub_all(w, c0);
    w_sub_all(w, c1);
    int32_t *o = owners(w);
    W_CHECK((w_run_client(w, coop, NULL, o)) == (0));
    /* Dealt round robin in topic, partition order. */
    OWNS(w, o, 0, 0, c0);
    OWNS(w, o, 0, 1, c1);
    OWNS(w, o, 0, 2, c0);
    OWNS(w, o, 1, 0, c1);
    OWNS(w, o, 1, 1, c0);
    OWNS(w, o, 1, 2, c1);

    /* C2 joins: each of C0 and C1 gives up one partition, but C2 does not get them until they
     * have been revoked (the follow-up round). C0 keeps t0-0 and t1-1: a spread over topics,
     * taken in (partition number, topic) order. */
    w_apply(w, o, 1);
    int32_t c2 = w_add(w, "C2", NULL);
    w_sub_all(w, c2);
    W_CHECK((w_run_client(w, coop, NULL, o)) == (2));
    OWNS(w, o, 0, 0, c0);
    OWNS(w, o, 1, 1, c0);
    OWNS(w, o, 0, 1, c1);
    OWNS(w, o, 1, 0, c1);
    OWNS(w, o, 0, 2, -1);
    OWNS(w, o, 1, 2, -1);
    w_apply(w, o, 2);
    W_CHECK((w_run_client(w, coop, NULL, o)) == (0));
    OWNS(w, o, 0, 2, c2);
    OWNS(w, o, 1, 2, c2);
    OWNS(w, o, 0, 0, c0);
    OWNS(w, o, 1, 0, c1);

    /* C1 leaves: nobody claims its partitions any more, so they move in one round. */
    w_apply(w, o, 3);
    w->m[c1].present = false;
    W_CHECK((w_run_client(w, coop, NULL, o)) == (0));
    w_check_complete(w, o);
    w_check_balanced(w, o);
    OWNS(w, o, 0, 0, c0);
    OWNS(w, o, 1, 1, c0);
    OWNS(w, o, 0, 2, c2);
    OWNS(w, o, 1, 2, c2);
    free(o);
    w_free(w);
}
END_TEST

/* Two members claiming one partition: the higher generation keeps it (a stale claim is
 * ignored); at equal generations neither does, and it is held back until both let go. */
START_TEST(generation_conflicts)
{
    int32_t counts[] = {3};
    world *w = w_new(1, counts);
    int32_t a = w_add(w, "A", NULL), b = w_add(w, "B", NULL);
    w_sub_all(w, a);
    w_sub_all(w, b);
    int32_t *o = owners(w);

    w->m[a].generation = 3;
    w_own(w, a, 0);
    w_own(w, a, 1);
    w->m[b].generation = 2;
    w_own(w, b, 1);
    w_own(w, b, 2);
    W_CHECK((w_run_client(w, coop, NULL, o)) == (0));
    OWNS(w, o, 0, 0, a);
    OWNS(w, o, 0, 1, a);
    OWNS(w, o, 0, 2, b);

    /* The same claims at one generation: t0-1 is contested. */
    w->m[b].generation = 3;
    W_CHECK((w_run_client(w, coop, NULL, o)) == (1));
    OWNS(w, o, 0, 0, a);
    OWNS(w, o, 0, 1, -1);
    OWNS(w, o, 0, 2, b);
    w_apply(w, o, 4);
    W_CHECK((w_run_client(w, coop, NULL, o)) == (0));
    OWNS(w, o, 0, 1, a);
    OWNS(w, o, 0, 2, b);

    /* A third member with the highest generation beats two tied ones. */
    int32_t c = w_add(w, "C", NULL);
    w_sub_all(w, c);
    w_clear_owned(w, a);
    w_clear_owned(w, b);
    w->m[a].generation = w->m[b].generation = 5;
    w->m[c].generation = 7;
    w_own(w, a, 0);
    w_own(w, b, 0);
    w_own(w, c, 0);
    W_CHECK((w_run_client(w, coop, NULL, o)) == (0));
    OWNS(w, o, 0, 0, c);
    /* A generation of -1 (a v0/v1 peer without UserData) loses to any real one. */
    w->m[c].generation = -1;
    w->m[a].generation = 0;
    w_clear_owned(w, b);
    W_CHECK((w_run_client(w, coop, NULL, o)) == (0));
    OWNS(w, o, 0, 0, a);
    free(o);
    w_free(w);
}
END_TEST

/* A member that unsubscribes from a topic still holds its partitions until it revokes them,
 * so the new owner gets them one round later. */
START_TEST(unsubscribed_topic_is_revoked_first)
{
    int32_t counts[] = {2, 2};
    world *w = w_new(2, counts);
    int32_t a = w_add(w, "A", NULL), b = w_add(w, "B", NULL);
    w_sub_all(w, a);
    w->m[b].sub[0] = true;
    int32_t *o = owners(w);
    W_CHECK((w_run_client(w, coop, NULL, o)) == (0));
    OWNS(w, o, 1, 0, a);
    OWNS(w, o, 1, 1, a);
    OWNS(w, o, 0, 0, b);
    OWNS(w, o, 0, 1, b);
    /* The subscriptions swap: A keeps only t00, B takes both. Balance needs B's t00
     * partitions at A and A's t01 partitions at B: all four are held back one round, since
     * each is still consumed by its old owner. */
    w_apply(w, o, 1);
    w->m[a].sub[1] = false;
    w->m[b].sub[1] = true;
    W_CHECK((w_run_client(w, coop, NULL, o)) == (4));
    for (int32_t gp = 0; gp < w->n_parts; gp++)
        W_CHECK((o[gp]) == (-1));
    w_apply(w, o, 2);
    W_CHECK((w_run_client(w, coop, NULL, o)) == (0));
    w_check_complete(w, o);
    w_check_balanced(w, o);
    OWNS(w, o, 0, 0, a);
    OWNS(w, o, 0, 1, a);
    OWNS(w, o, 1, 0, b);
    OWNS(w, o, 1, 1, b);
    free(o);
    w_free(w);
}
END_TEST

/* Owned lists straight off the wire: unknown topics, negative and out-of-range partitions,
 * duplicates, and a member claiming a topic it does not subscribe to. */
START_TEST(hostile_owned_partitions)
{
    kwi_assign_topic topics[] = {{kw_slice_str("t"), 4, NULL}};
    kw_slice subs[] = {kw_slice_str("t")};
    int32_t junk[] = {-1, 4, 2147483647, 1, 1, -2147483647 - 1, 3};
    kw_consumer_protocol_topic_partition owned[] = {{kw_slice_str("t"), junk, 7},
                                                    {kw_slice_str("ghost"), junk, 7},
                                                    {KW_SLICE_NULL, junk, 3},
                                                    {kw_slice_str("t"), NULL, 0},
                                                    {kw_slice_str("t"), junk, -5}};
    kwi_assign_member mem[] = {
        {kw_slice_str("a"), KW_SLICE_NULL, KW_SLICE_NULL, subs, 1, owned, 5, 9},
        {kw_slice_str("b"), KW_SLICE_NULL, KW_SLICE_NULL, subs, 1, NULL, 0, 9},
        {kw_slice_str("c"), KW_SLICE_NULL, KW_SLICE_NULL, NULL, 0, owned, 1, 1},
    };
    kwi_assign_in in = {mem, 3, topics, 1, NULL};
    kwi_assign_out out;
    W_CHECK((kwi_assign_run(coop, &in, &out)) == (KW_ERR_OK));
    /* a keeps t-1 and t-3 (the only valid claims, at the highest generation); b gets 0, 2;
     * c (no subscription) gets nothing and its stale claim on t-1 is ignored. */
    W_CHECK((out.n_withheld) == (0));
    W_CHECK((out.assignments[0].n_assigned_partitions) == (1));
    W_CHECK((out.assignments[0].assigned_partitions[0].n_partitions) == (2));
    W_CHECK((out.assignments[0].assigned_partitions[0].partitions[0]) == (1));
    W_CHECK((out.assignments[0].assigned_partitions[0].partitions[1]) == (3));
    W_CHECK((out.assignments[1].assigned_partitions[0].partitions[0]) == (0));
    W_CHECK((out.assignments[1].assigned_partitions[0].partitions[1]) == (2));
    W_CHECK((out.assignments[2].n_assigned_partitions) == (0));
    kwi_assign_out_fini(&out);
}
END_TEST

/* A sits at 11 with only t1, B at 10 with both topics, C at 9 with only t2. No single move
 * helps (each step is a difference of one), but A -> B -> C does: the result is 10/10/10
 * with exactly two partitions moved, both held back for a round. */
START_TEST(chain_balance)
{
    int32_t counts[] = {20, 10};
    world *w = w_new(2, counts);
    int32_t a = w_add(w, "A", NULL), b = w_add(w, "B", NULL), c = w_add(w, "C", NULL);
    w->m[a].sub[0] = true;
    w->m[b].sub[0] = w->m[b].sub[1] = true;
    w->m[c].sub[1] = true;
    int32_t *o = owners(w), *before = owners(w);
    for (int32_t p = 0; p < 20; p++)
        before[w->tbase[0] + p] = p < 11 ? a : b;
    for (int32_t p = 0; p < 10; p++)
        before[w->tbase[1] + p] = p < 1 ? b : c;
    w_apply(w, before, 1);
    W_CHECK((w_run_client(w, coop, NULL, o)) == (2));
    int32_t load[3];
    w_apply(w, o, 2);
    W_CHECK((w_run_client(w, coop, NULL, o)) == (0));
    w_loads(w, o, load);
    W_CHECK((load[a]) == (10));
    W_CHECK((load[b]) == (10));
    W_CHECK((load[c]) == (10));
    int32_t moved = 0;
    for (int32_t gp = 0; gp < w->n_parts; gp++)
        moved += o[gp] != before[gp];
    W_CHECK((moved) == (2));
    free(o);
    free(before);
    w_free(w);
}
END_TEST

/* ---------------------------------------------------------------- randomized histories */

typedef struct stats {
    long rounds, withholding_rounds, scenarios, max_rounds;
} stats;

/* The most owned partitions any balanced assignment keeps, when every member subscribes to
 * the same topics: each keeps up to minQ, and extra slots go to members owning more. */
static int32_t
homog_best_kept(const world *w, const int32_t *valid_count, int32_t n_present, int32_t np)
{
    int32_t minq = np / n_present, extra = np % n_present, best = 0, over = 0;
    for (int32_t m = 0; m < w->n_members; m++) {
        if (!w->m[m].present)
            continue;
        best += valid_count[m] < minq ? valid_count[m] : minq;
        over += valid_count[m] > minq;
    }
    return best + (over < extra ? over : extra);
}

static bool
identical_subscriptions(const world *w)
{
    int32_t first = -1;
    for (int32_t m = 0; m < w->n_members; m++) {
        if (!w->m[m].present)
            continue;
        if (first < 0)
            first = m;
        else if (memcmp(w->m[m].sub, w->m[first].sub, sizeof(w->m[m].sub)) != 0)
            return false;
    }
    return true;
}

/* One round and every check that holds for any round. Returns n_withheld. */
static int32_t
checked_round(world *w, uint32_t *seed, int32_t *o)
{
    int32_t *valid = calloc((size_t)w->n_parts + 1, sizeof(int32_t));
    int32_t *vcount = calloc((size_t)w->n_members + 1, sizeof(int32_t));
    bool *contested = calloc((size_t)w->n_parts + 1, sizeof(bool));
    W_CHECK(valid && vcount && contested);
    for (int32_t gp = 0; gp < w->n_parts; gp++) {
        valid[gp] = w_valid_owner(w, gp, &contested[gp]);
        if (valid[gp] >= 0)
            vcount[valid[gp]]++;
    }
    int32_t withheld = w_run_client(w, coop, seed, o);
    w_check_subscribed(w, o);
    int32_t assignable = 0, assigned = 0, kept = 0, n_present = 0;
    for (int32_t gp = 0; gp < w->n_parts; gp++) {
        int32_t t = w_topic_of(w, gp);
        bool wanted = false;
        for (int32_t m = 0; m < w->n_members && !wanted; m++)
            wanted = w->m[m].present && w->m[m].sub[t];
        assignable += wanted;
        assigned += o[gp] >= 0;
        kept += o[gp] >= 0 && o[gp] == valid[gp];
        if (o[gp] < 0)
            continue;
        /* KIP-429: never to a new owner while another member holds a current claim. */
        W_CHECK_MSG(!contested[gp], "contested partition %d handed out", (int)gp);
        int32_t top = -1;
        for (int32_t m = 0; m < w->n_members; m++) {
            if (!w->m[m].present)
                continue;
            for (int32_t i = 0; i < w->m[m].n_owned; i++)
                if (w->m[m].owned[i] == gp &&
                    (top < 0 || w->m[m].generation > w->m[top].generation))
                    top = m;
        }
        W_CHECK_MSG(top < 0 || top == o[gp], "partition %d moved from %s to %s in one round",
                    (int)gp, w->m[top].id, w->m[o[gp]].id);
    }
    W_CHECK((assigned + withheld) == (assignable));
    for (int32_t m = 0; m < w->n_members; m++)
        n_present += w->m[m].present;
    if (identical_subscriptions(w) && n_present > 0 && assignable > 0) {
        W_CHECK((kept) == (homog_best_kept(w, vcount, n_present, assignable)));
        /* A member owning no more than minQ keeps all it owned. */
        int32_t minq = assignable / n_present;
        for (int32_t gp = 0; gp < w->n_parts; gp++)
            if (valid[gp] >= 0 && vcount[valid[gp]] <= minq)
                W_CHECK((o[gp]) == (valid[gp]));
    }
    free(valid);
    free(vcount);
    free(contested);
    return withheld;
}

/* Rounds until nothing is held back; each round's result becomes what members own. */
static void
settle(world *w, uint32_t *seed, int32_t *o, int32_t *gen, stats *st)
{
    bool homog = identical_subscriptions(w);
    long rounds = 0;
    for (;;) {
        int32_t withheld = checked_round(w, seed, o);
        rounds++;
        w_apply(w, o, ++*gen);
        if (withheld == 0)
            break;
        st->withholding_rounds++;
        /* Identical subscriptions: the follow-up round always completes. Otherwise a
         * follow-up can itself rebalance; it must still converge quickly. */
        W_CHECK((rounds) <= (homog ? 1 : 4));
    }
    st->rounds += rounds;
    st->max_rounds = rounds > st->max_rounds ? rounds : st->max_rounds;
    w_check_complete(w, o);
    w_check_balanced(w, o);
}

static void
random_event(world *w, uint32_t *seed, bool homog, int32_t *next_id)
{
    int32_t kind = w->n_members == 0 ? 0 : w_range(seed, 0, 9);
    int32_t m = w->n_members == 0 ? -1 : w_range(seed, 0, w->n_members - 1);
    if (kind <= 2) { /* join */
        if (w->n_members >= 40)
            return;
        char id[16];
        snprintf(id, sizeof(id), "m%03d", (int)(*next_id)++);
        int32_t j = w_add(w, id, NULL);
        for (int32_t t = 0; t < w->n_topics; t++)
            w->m[j].sub[t] = homog || w_rand(seed) % 2;
    } else if (kind <= 4) { /* leave (or come back) */
        w->m[m].present = !w->m[m].present;
        w_clear_owned(w, m);
    } else if (kind == 5 && !homog) { /* subscription change */
        int32_t t = w_range(seed, 0, w->n_topics - 1);
        w->m[m].sub[t] = !w->m[m].sub[t];
    } else if (kind == 6) { /* stale claims: a zombie at an older generation */
        w->m[m].generation -= 1 + w_range(seed, 0, 2);
        for (int32_t k = w_range(seed, 0, 4); k > 0 && w->n_parts > 0; k--)
            w_own(w, m, w_range(seed, 0, w->n_parts - 1));
    } else if (kind == 7 && w->n_parts > 0) { /* a duplicate claim at the same generation */
        int32_t gp = w_range(seed, 0, w->n_parts - 1);
        w_own(w, m, gp);
        w_own(w, m, gp);
    }
    /* kind 8, 9 (and the skipped cases): nothing changes; the assignment must stay put. */
}

static void
random_histories(uint32_t seed, int scenarios, bool homog, stats *st)
{
    for (int s = 0; s < scenarios; s++) {
        int32_t counts[6], nt = w_range(&seed, 1, 6);
        for (int32_t t = 0; t < nt; t++)
            counts[t] = w_range(&seed, 0, 12);
        world *w = w_new(nt, counts);
        int32_t next_id = 0, gen = 0;
        for (int32_t n = w_range(&seed, 1, 8); n > 0; n--)
            random_event(w, &seed, homog, &next_id);
        if (w->n_members == 0) {
            int32_t j = w_add(w, "solo", NULL);
            w_sub_all(w, j);
        }
        int32_t *o = owners(w);
        settle(w, &seed, o, &gen, st);
        for (int step = 0; step < 12; step++) {
            random_event(w, &seed, homog, &next_id);
            settle(w, &seed, o, &gen, st);
        }
        st->scenarios++;
        free(o);
        w_free(w);
    }
}

START_TEST(random_identical_subscriptions)
{
    stats st = {0};
    random_histories(0xC0FFEEu, 300, true, &st);
    W_CHECK((st.withholding_rounds) > (0)); /* the scenarios did exercise KIP-429 */
}
END_TEST

START_TEST(random_different_subscriptions)
{
    stats st = {0};
    random_histories(0xBADC0DEu, 300, false, &st);
    W_CHECK((st.withholding_rounds) > (0));
}
END_TEST

/* A settled assignment run again with nothing changed is returned as is. */
START_TEST(stable_when_nothing_changes)
{
    uint32_t seed = 99;
    for (int s = 0; s < 60; s++) {
        int32_t counts[5], nt = w_range(&seed, 1, 5);
        for (int32_t t = 0; t < nt; t++)
            counts[t] = w_range(&seed, 1, 15);
        world *w = w_new(nt, counts);
        for (int32_t n = w_range(&seed, 1, 10), i = 0; i < n; i++) {
            char id[16];
            snprintf(id, sizeof(id), "x%d", (int)i);
            int32_t m = w_add(w, id, NULL);
            for (int32_t t = 0; t < nt; t++)
                w->m[m].sub[t] = s % 2 == 0 || w_rand(&seed) % 2;
        }
        int32_t *o = owners(w), *again = owners(w), gen = 0;
        stats st = {0};
        settle(w, &seed, o, &gen, &st);
        W_CHECK((w_run_client(w, coop, &seed, again)) == (0));
        W_CHECK(memcmp(o, again, (size_t)w->n_parts * sizeof(int32_t)) == 0);
        free(o);
        free(again);
        w_free(w);
    }
}
END_TEST

/* Identical subscriptions: after a join, old members only lose partitions; after a leave,
 * the others only gain. */
START_TEST(join_leave_only_moves_what_it_must)
{
    int32_t counts[] = {7, 5, 11};
    world *w = w_new(3, counts);
    uint32_t seed = 4242;
    int32_t *o = owners(w), *before = owners(w), gen = 0, next = 0;
    stats st = {0};
    for (int i = 0; i < 3; i++) {
        char id[16];
        snprintf(id, sizeof(id), "n%02d", next++);
        w_sub_all(w, w_add(w, id, NULL));
    }
    settle(w, &seed, o, &gen, &st);
    for (int step = 0; step < 30; step++) {
        memcpy(before, o, (size_t)w->n_parts * sizeof(int32_t));
        int32_t present = 0, who = -1;
        for (int32_t m = 0; m < w->n_members; m++)
            present += w->m[m].present;
        bool join = (w_rand(&seed) % 2 || present <= 1) && next < 20;
        if (join) {
            char id[16];
            snprintf(id, sizeof(id), "n%02d", next++);
            who = w_add(w, id, NULL);
            w_sub_all(w, who);
        } else if (present > 1) {
            do
                who = w_range(&seed, 0, w->n_members - 1);
            while (!w->m[who].present);
            w->m[who].present = false;
            w_clear_owned(w, who);
        }
        settle(w, &seed, o, &gen, &st);
        for (int32_t gp = 0; gp < w->n_parts; gp++) {
            if (join)
                W_CHECK(o[gp] == before[gp] || o[gp] == who);
            else if (before[gp] != who)
                W_CHECK((o[gp]) == (before[gp]));
        }
    }
    free(o);
    free(before);
    w_free(w);
}
END_TEST

/* 500 members over 2000 partitions, then a leave and a join; and a large group with mixed
 * subscriptions. Only correctness is asserted, never time. */
START_TEST(large_groups)
{
    int32_t counts[20];
    for (int t = 0; t < 20; t++)
        counts[t] = 100;
    world *w = w_new(20, counts);
    for (int i = 0; i < 500; i++) {
        char id[16];
        snprintf(id, sizeof(id), "member-%04d", i);
        w_sub_all(w, w_add(w, id, NULL));
    }
    uint32_t seed = 7;
    int32_t *o = owners(w), gen = 0, load[W_MAXM];
    stats st = {0};
    settle(w, &seed, o, &gen, &st);
    w_loads(w, o, load);
    for (int i = 0; i < 500; i++)
        W_CHECK((load[i]) == (4));
    w->m[17].present = false;
    w_clear_owned(w, 17);
    settle(w, &seed, o, &gen, &st);
    w_sub_all(w, w_add(w, "member-new", NULL));
    settle(w, &seed, o, &gen, &st);
    free(o);
    w_free(w);

    int32_t counts2[40];
    for (int t = 0; t < 40; t++)
        counts2[t] = 10 + (t * 7) % 90;
    w = w_new(40, counts2);
    for (int i = 0; i < 300; i++) {
        char id[16];
        snprintf(id, sizeof(id), "h-%04d", i);
        int32_t m = w_add(w, id, NULL);
        for (int t = 0; t < 40; t++)
            w->m[m].sub[t] = w_rand(&seed) % 4 == 0 || t == i % 40;
    }
    o = owners(w);
    settle(w, &seed, o, &gen, &st);
    for (int i = 0; i < 300; i += 37) {
        w->m[i].present = false;
        w_clear_owned(w, i);
    }
    settle(w, &seed, o, &gen, &st);
    free(o);
    w_free(w);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("group_assign_coop");
    TCase *tc = tcase_create("exact");
    tcase_add_test(tc, fresh_group);
    tcase_add_test(tc, generation_conflicts);
    tcase_add_test(tc, unsubscribed_topic_is_revoked_first);
    tcase_add_test(tc, hostile_owned_partitions);
    tcase_add_test(tc, chain_balance);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("properties");
    tcase_add_test(tp, random_identical_subscriptions);
    tcase_add_test(tp, random_different_subscriptions);
    tcase_add_test(tp, stable_when_nothing_changes);
    tcase_add_test(tp, join_leave_only_moves_what_it_must);
    tcase_add_test(tp, large_groups);
    suite_add_tcase(s, tp);
    return s;
}
