/* The KIP-848 server-side assignors. uniform: balanced (members with the same subscription
 * within one partition, no partition movable to a subscriber holding two fewer), complete,
 * sticky (identical subscriptions keep as much as any balanced assignment can; a settled
 * assignment is returned unchanged; joins only take, leaves only give), with homogeneous and
 * heterogeneous groups. range: exact ranges on a fresh group, per-topic quotas, stickiness to
 * the lowest partitions held, and co-partitioning of topics with the same partition count and
 * subscribers through any history of joins and leaves. Topics are identified by id (whose
 * order differs from the names') and input order never matters. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/assign.h"
#include "asg_support.h"

static const kwi_assign_sv_assignor *const uniform = &kwi_assignor_sv_uniform;
static const kwi_assign_sv_assignor *const srange = &kwi_assignor_sv_range;

static int32_t *
owners(const world *w)
{
    int32_t *o = calloc((size_t)w->n_parts + 1, sizeof(int32_t));
    ck_assert_ptr_nonnull(o);
    return o;
}

#define OWNS(w, o, t, p, m) W_CHECK(((o)[(w)->tbase[t] + (p)]) == ((m)))

/* One round: the members' current assignment is what they own in the world. */
static void
round_trip(world *w, const kwi_assign_sv_assignor *as, uint32_t *seed, int32_t *o)
{
    w_run_server(w, as, seed, o);
    w_check_subscribed(w, o);
    w_check_complete(w, o);
    w_apply(w, o, 0);
}

START_TEST(uniform_fresh_and_join)
{
    int32_t counts[] = {3, 3};
    world *w = w_new(2, counts);
    int32_t a = w_add(w, "a", NULL), b = w_add(w, "b", NULL);
    w_sub_all(w, a);
    w_sub_all(w, b);
    int32_t *o = owners(w);
    uint32_t seed = 5;
    round_trip(w, uniform, &seed, o);
    OWNS(w, o, 0, 0, a);
    OWNS(w, o, 0, 1, b);
    OWNS(w, o, 0, 2, a);
    OWNS(w, o, 1, 0, b);
    OWNS(w, o, 1, 1, a);
    OWNS(w, o, 1, 2, b);
    /* c joins: the server gives the target at once (the coordinator withholds unreleased
     * partitions itself); a and b keep a spread over both topics. */
    int32_t c = w_add(w, "c", NULL);
    w_sub_all(w, c);
    round_trip(w, uniform, &seed, o);
    OWNS(w, o, 0, 0, a);
    OWNS(w, o, 1, 1, a);
    OWNS(w, o, 0, 1, b);
    OWNS(w, o, 1, 0, b);
    OWNS(w, o, 0, 2, c);
    OWNS(w, o, 1, 2, c);
    free(o);
    w_free(w);
}
END_TEST

/* A current assignment that lists one partition under two members (never produced by a
 * coordinator, but input is input): neither keeps it, the result stays valid. */
START_TEST(uniform_conflicting_current)
{
    int32_t counts[] = {4};
    world *w = w_new(1, counts);
    int32_t a = w_add(w, "a", NULL), b = w_add(w, "b", NULL);
    w_sub_all(w, a);
    w_sub_all(w, b);
    w_own(w, a, 0);
    w_own(w, a, 1);
    w_own(w, b, 1);
    w_own(w, b, 3);
    int32_t *o = owners(w);
    w_run_server(w, uniform, NULL, o);
    OWNS(w, o, 0, 0, a);
    OWNS(w, o, 0, 3, b);
    w_check_complete(w, o);
    w_check_balanced(w, o);
    free(o);
    w_free(w);
}
END_TEST

static bool
identical(const world *w)
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

/* The uniform checks for one round, given what members held before. */
static void
uniform_checked(world *w, uint32_t *seed, int32_t *o)
{
    int32_t *held = owners(w), *count = calloc((size_t)w->n_members + 1, sizeof(int32_t));
    ck_assert_ptr_nonnull(count);
    for (int32_t gp = 0; gp < w->n_parts; gp++) {
        held[gp] = w_valid_owner(w, gp, NULL);
        if (held[gp] >= 0)
            count[held[gp]]++;
    }
    round_trip(w, uniform, seed, o);
    w_check_balanced(w, o);
    int32_t n_present = 0, np = 0, kept = 0, over = 0, best = 0;
    for (int32_t m = 0; m < w->n_members; m++)
        n_present += w->m[m].present;
    for (int32_t gp = 0; gp < w->n_parts; gp++) {
        np += o[gp] >= 0;
        kept += o[gp] >= 0 && o[gp] == held[gp];
    }
    if (identical(w) && n_present > 0 && np > 0) {
        int32_t minq = np / n_present;
        for (int32_t m = 0; m < w->n_members; m++)
            if (w->m[m].present) {
                best += count[m] < minq ? count[m] : minq;
                over += count[m] > minq;
            }
        best += over < np % n_present ? over : np % n_present;
        W_CHECK((kept) == (best));
    }
    free(held);
    free(count);
}

static void
random_event(world *w, uint32_t *seed, bool homog, int32_t *next_id)
{
    int32_t kind = w->n_members == 0 ? 0 : w_range(seed, 0, 7);
    int32_t m = w->n_members == 0 ? -1 : w_range(seed, 0, w->n_members - 1);
    if (kind <= 2) {
        if (w->n_members >= 40)
            return;
        char id[16];
        snprintf(id, sizeof(id), "s%03d", (int)(*next_id)++);
        int32_t j = w_add(w, id, NULL);
        for (int32_t t = 0; t < w->n_topics; t++)
            w->m[j].sub[t] = homog || w_rand(seed) % 2;
    } else if (kind <= 4) {
        w->m[m].present = !w->m[m].present;
        w_clear_owned(w, m);
    } else if (kind == 5 && !homog) {
        int32_t t = w_range(seed, 0, w->n_topics - 1);
        w->m[m].sub[t] = !w->m[m].sub[t];
    }
}

static void
uniform_histories(uint32_t seed, int scenarios, bool homog)
{
    for (int s = 0; s < scenarios; s++) {
        int32_t counts[6], nt = w_range(&seed, 1, 6);
        for (int32_t t = 0; t < nt; t++)
            counts[t] = w_range(&seed, 0, 14);
        world *w = w_new(nt, counts);
        int32_t next = 0;
        for (int32_t n = w_range(&seed, 1, 8); n > 0; n--)
            random_event(w, &seed, homog, &next);
        int32_t *o = owners(w), *again = owners(w);
        for (int step = 0; step < 12; step++) {
            uniform_checked(w, &seed, o);
            /* Settled: asking again changes nothing. */
            w_run_server(w, uniform, &seed, again);
            W_CHECK(memcmp(o, again, (size_t)w->n_parts * sizeof(int32_t)) == 0);
            random_event(w, &seed, homog, &next);
        }
        free(o);
        free(again);
        w_free(w);
    }
}

START_TEST(uniform_random_homogeneous)
{
    uniform_histories(0x5eed1u, 300, true);
}
END_TEST

START_TEST(uniform_random_heterogeneous)
{
    uniform_histories(0x5eed2u, 300, false);
}
END_TEST

/* ---------------------------------------------------------------- range */

START_TEST(range_fresh_and_sticky)
{
    int32_t counts[] = {3, 3, 4};
    world *w = w_new(3, counts);
    int32_t m1 = w_add(w, "m1", NULL), m2 = w_add(w, "m2", NULL), m3 = w_add(w, "m3", NULL);
    w_sub_all(w, m1);
    w_sub_all(w, m2);
    w_sub_all(w, m3);
    int32_t *o = owners(w);
    uint32_t seed = 77;
    round_trip(w, srange, &seed, o);
    for (int t = 0; t < 2; t++) {
        OWNS(w, o, t, 0, m1);
        OWNS(w, o, t, 1, m2);
        OWNS(w, o, t, 2, m3);
    }
    OWNS(w, o, 2, 0, m1);
    OWNS(w, o, 2, 1, m1);
    OWNS(w, o, 2, 2, m2);
    OWNS(w, o, 2, 3, m3);
    /* m2 leaves: its partitions go to the first subscribers below quota; m1 and m3 keep
     * theirs, and t00/t01 stay co-partitioned. */
    w->m[m2].present = false;
    w_clear_owned(w, m2);
    round_trip(w, srange, &seed, o);
    for (int t = 0; t < 2; t++) {
        OWNS(w, o, t, 0, m1);
        OWNS(w, o, t, 1, m1);
        OWNS(w, o, t, 2, m3);
    }
    OWNS(w, o, 2, 0, m1);
    OWNS(w, o, 2, 1, m1);
    OWNS(w, o, 2, 2, m3);
    OWNS(w, o, 2, 3, m3);
    /* Unequal subscriptions: each topic only over its own subscribers. */
    w->m[m2].present = true;
    w->m[m2].sub[0] = w->m[m2].sub[1] = false;
    round_trip(w, srange, &seed, o);
    OWNS(w, o, 0, 0, m1);
    OWNS(w, o, 0, 1, m1);
    OWNS(w, o, 0, 2, m3);
    /* t02: m1 keeps two (it held more than the minimum and the one extra slot is its), m3
     * keeps its lowest, and m2 gets what is left. */
    OWNS(w, o, 2, 0, m1);
    OWNS(w, o, 2, 1, m1);
    OWNS(w, o, 2, 2, m3);
    OWNS(w, o, 2, 3, m2);
    free(o);
    w_free(w);
}
END_TEST

/* Per-topic quotas, stickiness to the lowest held partitions, and co-partitioning of
 * t00/t01 (same count, same subscribers) and of t02/t03 through joins and leaves. */
START_TEST(range_random_histories)
{
    uint32_t seed = 0xabcdef;
    for (int s = 0; s < 200; s++) {
        int32_t c1 = w_range(&seed, 1, 12), c2 = w_range(&seed, 1, 12);
        int32_t counts[] = {c1, c1, c2, c2, w_range(&seed, 0, 9)};
        world *w = w_new(5, counts);
        int32_t *o = owners(w), *before = owners(w);
        for (int step = 0; step < 15; step++) {
            int32_t kind = w->n_members == 0 ? 0 : w_range(&seed, 0, 2);
            if (kind == 0 && w->n_members < 30) {
                char id[16];
                snprintf(id, sizeof(id), "r%03d", (int)(w_rand(&seed) % 997));
                bool dup = false;
                for (int32_t k = 0; k < w->n_members; k++)
                    dup |= strcmp(w->m[k].id, id) == 0;
                if (!dup) {
                    int32_t m = w_add(w, id, NULL);
                    w->m[m].sub[0] = w->m[m].sub[1] = true;
                    w->m[m].sub[2] = w->m[m].sub[3] = w_rand(&seed) % 2;
                    w->m[m].sub[4] = w_rand(&seed) % 2;
                }
            } else if (w->n_members > 0) {
                int32_t m = w_range(&seed, 0, w->n_members - 1);
                w->m[m].present = !w->m[m].present;
                w_clear_owned(w, m);
            }
            for (int32_t gp = 0; gp < w->n_parts; gp++)
                before[gp] = w_valid_owner(w, gp, NULL);
            round_trip(w, srange, &seed, o);
            for (int32_t t = 0; t < 5; t++) {
                int32_t k = 0, at_max = 0;
                for (int32_t m = 0; m < w->n_members; m++)
                    k += w->m[m].present && w->m[m].sub[t];
                if (k == 0)
                    continue;
                int32_t minq = counts[t] / k;
                for (int32_t m = 0; m < w->n_members; m++) {
                    if (!w->m[m].present || !w->m[m].sub[t])
                        continue;
                    int32_t got = 0, kept = 0;
                    for (int32_t p = 0; p < counts[t]; p++) {
                        int32_t gp = w->tbase[t] + p;
                        got += o[gp] == m;
                        /* The lowest min(had, minQ) held partitions are kept. */
                        if (before[gp] == m && kept < minq) {
                            W_CHECK((o[gp]) == (m));
                            kept++;
                        }
                    }
                    W_CHECK(got == minq || got == minq + 1);
                    at_max += got == minq + 1;
                }
                W_CHECK((at_max) == (counts[t] % k));
            }
            for (int32_t p = 0; p < c1; p++)
                W_CHECK((o[w->tbase[0] + p]) == (o[w->tbase[1] + p]));
            for (int32_t p = 0; p < c2; p++)
                W_CHECK((o[w->tbase[2] + p]) == (o[w->tbase[3] + p]));
        }
        free(o);
        free(before);
        w_free(w);
    }
}
END_TEST

START_TEST(bad_input)
{
    kw_uuid id1 = {{1}}, id2 = {{2}};
    kwi_assign_sv_topic dup_id[] = {{id1, kw_slice_str("a"), 2}, {id1, kw_slice_str("b"), 2}};
    kwi_assign_sv_topic dup_name[] = {{id1, kw_slice_str("a"), 2}, {id2, kw_slice_str("a"), 2}};
    kwi_assign_sv_topic neg[] = {{id1, kw_slice_str("a"), -2}};
    kwi_assign_sv_topic ok[] = {{id1, kw_slice_str("a"), 2}};
    kw_uuid subs[] = {id1, id2}; /* id2 is unknown: ignored */
    kwi_assign_sv_member mem[] = {{kw_slice_str("x"), subs, 2, NULL, 0},
                                  {kw_slice_str("x"), subs, 2, NULL, 0}};
    const kwi_assign_sv_assignor *all[] = {uniform, srange};
    for (int k = 0; k < 2; k++) {
        kwi_assign_sv_out out;
        kwi_assign_sv_in in = {mem, 1, dup_id, 2, NULL};
        W_CHECK((kwi_assign_sv_run(all[k], &in, &out)) == (KW_ERR_INVALID_ARG));
        kwi_assign_sv_out_fini(&out);
        in = (kwi_assign_sv_in){mem, 1, dup_name, 2, NULL};
        W_CHECK((kwi_assign_sv_run(all[k], &in, &out)) == (KW_ERR_INVALID_ARG));
        kwi_assign_sv_out_fini(&out);
        in = (kwi_assign_sv_in){mem, 1, neg, 1, NULL};
        W_CHECK((kwi_assign_sv_run(all[k], &in, &out)) == (KW_ERR_INVALID_ARG));
        kwi_assign_sv_out_fini(&out);
        in = (kwi_assign_sv_in){mem, 2, ok, 1, NULL};
        W_CHECK((kwi_assign_sv_run(all[k], &in, &out)) == (KW_ERR_INVALID_ARG));
        kwi_assign_sv_out_fini(&out);
        in = (kwi_assign_sv_in){mem, 1, ok, 1, NULL};
        W_CHECK((kwi_assign_sv_run(all[k], &in, &out)) == (KW_ERR_OK));
        W_CHECK((out.targets[0].n_tps) == (1));
        W_CHECK((out.targets[0].tps[0].n_partitions) == (2));
        W_CHECK(memcmp(out.targets[0].tps[0].topic_id.b, id1.b, 16) == 0);
        kwi_assign_sv_out_fini(&out);
    }
    kwi_assign_sv_out out;
    kwi_assign_sv_in in = {mem, 1, ok, 1, NULL};
    W_CHECK((kwi_assign_sv_run(NULL, &in, &out)) == (KW_ERR_INVALID_ARG));
    kwi_assign_sv_out_fini(&out);
}
END_TEST

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
    uint32_t seed = 11;
    int32_t *o = owners(w), load[W_MAXM];
    for (int k = 0; k < 2; k++) {
        const kwi_assign_sv_assignor *as = k ? srange : uniform;
        for (int32_t m = 0; m < w->n_members; m++)
            w_clear_owned(w, m);
        round_trip(w, as, &seed, o);
        w_loads(w, o, load);
        /* uniform spreads 2000 over 500; range splits each topic of 100 over the first 100
         * members (sorted by id), the same ones for every topic. */
        for (int i = 0; i < 500; i++)
            W_CHECK((load[i]) == (k ? (i < 100 ? 20 : 0) : 4));
        w->m[3].present = false;
        w_clear_owned(w, 3);
        round_trip(w, as, &seed, o);
        w->m[3].present = true;
        round_trip(w, as, &seed, o);
        if (!k)
            w_check_balanced(w, o);
    }
    free(o);
    w_free(w);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("group_assign_server");
    TCase *tu = tcase_create("uniform");
    tcase_add_test(tu, uniform_fresh_and_join);
    tcase_add_test(tu, uniform_conflicting_current);
    tcase_add_test(tu, uniform_random_homogeneous);
    tcase_add_test(tu, uniform_random_heterogeneous);
    suite_add_tcase(s, tu);
    TCase *tr = tcase_create("range");
    tcase_add_test(tr, range_fresh_and_sticky);
    tcase_add_test(tr, range_random_histories);
    tcase_add_test(tr, bad_input);
    tcase_add_test(tr, large_groups);
    suite_add_tcase(s, tr);
    return s;
}
