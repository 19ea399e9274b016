/* The classic eager assignors, range and roundrobin, against the examples in Java's
 * RangeAssignor and RoundRobinAssignor documentation, unequal subscriptions, static members
 * (sorted by group.instance.id, so a restart under a new member id changes nothing), input
 * order independence, and bad input. Also the consumer-protocol helpers around the assignors:
 * our Subscription bytes, decoding members from a JoinGroup response, the generation hidden in
 * UserData (Java's and librdkafka's formats), and SyncGroup assignments. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/assign.h"
#include "asg_support.h"

/* "t0:0,1;t1:2" for an assignment. */
static const char *
fmt(const kw_consumer_protocol_assignment *a, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (int32_t i = 0; i < a->n_assigned_partitions; i++) {
        const kw_consumer_protocol_topic_partition *tp = &a->assigned_partitions[i];
        n += (size_t)snprintf(buf + n, cap - n, "%s%.*s:", i ? ";" : "", (int)tp->topic.len,
                              (const char *)tp->topic.ptr);
        for (int32_t j = 0; j < tp->n_partitions && n < cap; j++)
            n += (size_t)snprintf(buf + n, cap - n, "%s%d", j ? "," : "", (int)tp->partitions[j]);
    }
    return buf;
}

typedef struct spec {
    const char *id;
    const char *inst;
    const char *topics[4];
} spec;

/* Runs `as` over members given as specs and topics as (name, count) and compares each
 * member's assignment with want[i]. */
static void
expect(const kwi_assignor *as, const spec *sp, int n, const kwi_assign_topic *topics, int nt,
       const char *const *want)
{
    kwi_assign_member mem[8];
    kw_slice subs[8][4];
    for (int i = 0; i < n; i++) {
        int k = 0;
        while (k < 4 && sp[i].topics[k]) {
            subs[i][k] = kw_slice_str(sp[i].topics[k]);
            k++;
        }
        mem[i] = (kwi_assign_member){kw_slice_str(sp[i].id),
                                     sp[i].inst ? kw_slice_str(sp[i].inst) : KW_SLICE_NULL,
                                     KW_SLICE_NULL,
                                     subs[i],
                                     k,
                                     NULL,
                                     0,
                                     -1};
    }
    kwi_assign_in in = {mem, n, topics, nt, NULL};
    kwi_assign_out out;
    ck_assert_int_eq(kwi_assign_run(as, &in, &out), KW_ERR_OK);
    ck_assert_int_eq(out.n_members, n);
    ck_assert_int_eq(out.n_withheld, 0);
    for (int i = 0; i < n; i++) {
        char buf[256];
        ck_assert_msg(strcmp(fmt(&out.assignments[i], buf, sizeof(buf)), want[i]) == 0,
                      "%s %s: got '%s' want '%s'", as->name, sp[i].id, buf, want[i]);
    }
    kwi_assign_out_fini(&out);
}

static const kwi_assign_topic two_by_three[] = {{{(const uint8_t *)"t0", 2}, 3, NULL},
                                                {{(const uint8_t *)"t1", 2}, 3, NULL}};

/* RangeAssignor javadoc: C0 and C1, t0 and t1 with 3 partitions each. */
START_TEST(range_java_example)
{
    spec sp[] = {{"C0", NULL, {"t0", "t1"}}, {"C1", NULL, {"t0", "t1"}}};
    const char *want[] = {"t0:0,1;t1:0,1", "t0:2;t1:2"};
    expect(&kwi_assignor_range, sp, 2, two_by_three, 2, want);
}
END_TEST

/* RoundRobinAssignor javadoc, first example. */
START_TEST(roundrobin_java_example)
{
    spec sp[] = {{"C0", NULL, {"t0", "t1"}}, {"C1", NULL, {"t0", "t1"}}};
    const char *want[] = {"t0:0,2;t1:1", "t0:1;t1:0,2"};
    expect(&kwi_assignor_roundrobin, sp, 2, two_by_three, 2, want);
}
END_TEST

/* RoundRobinAssignor javadoc, unequal subscriptions: t0, t1, t2 with 1, 2, 3 partitions; C0
 * takes t0, C1 t0 and t1, C2 all three. */
START_TEST(roundrobin_unequal_subscriptions)
{
    kwi_assign_topic topics[] = {{kw_slice_str("t2"), 3, NULL},
                                 {kw_slice_str("t0"), 1, NULL},
                                 {kw_slice_str("t1"), 2, NULL}};
    spec sp[] = {
        {"C2", NULL, {"t0", "t1", "t2"}}, {"C0", NULL, {"t0"}}, {"C1", NULL, {"t0", "t1"}}};
    const char *want[] = {"t1:1;t2:0,1,2", "t0:0", "t1:0"};
    expect(&kwi_assignor_roundrobin, sp, 3, topics, 3, want);
}
END_TEST

/* Range with unequal subscriptions: each topic is split over its own subscribers only; a
 * member with no partitions still gets an (empty) assignment; unknown topics and topics with
 * no partitions are ignored. */
START_TEST(range_unequal_subscriptions)
{
    kwi_assign_topic topics[] = {{kw_slice_str("t0"), 3, NULL},
                                 {kw_slice_str("t1"), 2, NULL},
                                 {kw_slice_str("empty"), 0, NULL}};
    spec sp[] = {{"C0", NULL, {"t0", "nope"}},
                 {"C1", NULL, {"t1", "t0", "empty"}},
                 {"C2", NULL, {"t1"}},
                 {"C3", NULL, {"nope"}}};
    const char *want[] = {"t0:0,1", "t0:2;t1:0", "t1:1", ""};
    expect(&kwi_assignor_range, sp, 4, topics, 3, want);

    /* More subscribers than partitions: the last ones get nothing. */
    kwi_assign_topic one[] = {{kw_slice_str("t0"), 2, NULL}};
    spec sp2[] = {{"b", NULL, {"t0"}}, {"c", NULL, {"t0"}}, {"a", NULL, {"t0"}}};
    const char *want2[] = {"t0:1", "", "t0:0"};
    expect(&kwi_assignor_range, sp2, 3, one, 1, want2);
}
END_TEST

/* Java sorts members with a group.instance.id first, by instance id, then dynamic members by
 * member id (AbstractPartitionAssignor.MemberInfo), so a static member that restarts with a
 * new member id gets the same partitions. */
START_TEST(static_members_sorted_by_instance_id)
{
    kwi_assign_topic topics[] = {{kw_slice_str("t0"), 6, NULL}};
    spec sp[] = {{"z-1", "i-a", {"t0"}}, {"a-1", NULL, {"t0"}}, {"m-1", "i-b", {"t0"}}};
    const char *want[] = {"t0:0,1", "t0:4,5", "t0:2,3"};
    expect(&kwi_assignor_range, sp, 3, topics, 1, want);
    /* i-a restarts as member "0-new", which would sort first by member id. */
    spec sp2[] = {{"0-new", "i-a", {"t0"}}, {"a-1", NULL, {"t0"}}, {"m-1", "i-b", {"t0"}}};
    expect(&kwi_assignor_range, sp2, 3, topics, 1, want);

    const char *want_rr[] = {"t0:0,3", "t0:2,5", "t0:1,4"};
    expect(&kwi_assignor_roundrobin, sp, 3, topics, 1, want_rr);
    expect(&kwi_assignor_roundrobin, sp2, 3, topics, 1, want_rr);
}
END_TEST

/* The same group fed in any member and topic order gives the same assignment. */
START_TEST(order_independent)
{
    uint32_t seed = 12345;
    for (int round = 0; round < 40; round++) {
        int32_t counts[6];
        int32_t nt = w_range(&seed, 1, 6);
        for (int32_t t = 0; t < nt; t++)
            counts[t] = w_range(&seed, 0, 9);
        world *w = w_new(nt, counts);
        int32_t nm = w_range(&seed, 1, 9);
        for (int32_t i = 0; i < nm; i++) {
            char id[16], inst[16];
            snprintf(id, sizeof(id), "m%u", (unsigned)(w_rand(&seed) % 1000));
            snprintf(inst, sizeof(inst), "i%d", (int)i);
            bool dup = false;
            for (int32_t k = 0; k < w->n_members; k++)
                dup |= strcmp(w->m[k].id, id) == 0;
            if (dup)
                continue;
            int32_t m = w_add(w, id, w_rand(&seed) % 2 ? inst : NULL);
            for (int32_t t = 0; t < nt; t++)
                w->m[m].sub[t] = w_rand(&seed) % 3 != 0;
        }
        const kwi_assignor *as[] = {&kwi_assignor_range, &kwi_assignor_roundrobin};
        for (int k = 0; k < 2; k++) {
            int32_t *a = calloc((size_t)w->n_parts + 1, sizeof(int32_t));
            int32_t *b = calloc((size_t)w->n_parts + 1, sizeof(int32_t));
            w_run_client(w, as[k], NULL, a);
            uint32_t shuffle = seed ^ 0x9e3779b9u;
            w_run_client(w, as[k], &shuffle, b);
            ck_assert(memcmp(a, b, (size_t)w->n_parts * sizeof(int32_t)) == 0);
            w_check_subscribed(w, a);
            w_check_complete(w, a);
            free(a);
            free(b);
        }
        w_free(w);
    }
}
END_TEST

START_TEST(bad_input)
{
    kwi_assign_topic topics[] = {{kw_slice_str("t0"), 3, NULL}, {kw_slice_str("t0"), 1, NULL}};
    kw_slice subs[] = {kw_slice_str("t0")};
    kwi_assign_member mem[] = {
        {kw_slice_str("a"), KW_SLICE_NULL, KW_SLICE_NULL, subs, 1, NULL, 0, -1},
        {kw_slice_str("a"), KW_SLICE_NULL, KW_SLICE_NULL, subs, 1, NULL, 0, -1},
    };
    const kwi_assignor *all[] = {&kwi_assignor_range, &kwi_assignor_roundrobin,
                                 &kwi_assignor_cooperative_sticky};
    for (int k = 0; k < 3; k++) {
        kwi_assign_out out;
        kwi_assign_in dup_members = {mem, 2, topics, 1, NULL};
        ck_assert_int_eq(kwi_assign_run(all[k], &dup_members, &out), KW_ERR_INVALID_ARG);
        ck_assert_ptr_null(out.assignments);
        kwi_assign_out_fini(&out);
        kwi_assign_in dup_topics = {mem, 1, topics, 2, NULL};
        ck_assert_int_eq(kwi_assign_run(all[k], &dup_topics, &out), KW_ERR_INVALID_ARG);
        kwi_assign_out_fini(&out);
        kwi_assign_topic neg[] = {{kw_slice_str("t0"), -1, NULL}};
        kwi_assign_in negative = {mem, 1, neg, 1, NULL};
        ck_assert_int_eq(kwi_assign_run(all[k], &negative, &out), KW_ERR_INVALID_ARG);
        kwi_assign_out_fini(&out);
        /* Checked before anything is allocated for them. */
        kwi_assign_topic huge[] = {{kw_slice_str("a"), 1 << 29, NULL},
                                   {kw_slice_str("b"), 1 << 29, NULL},
                                   {kw_slice_str("c"), 1, NULL}};
        kwi_assign_in too_large = {mem, 1, huge, 3, NULL};
        ck_assert_int_eq(kwi_assign_run(all[k], &too_large, &out), KW_ERR_TOO_LARGE);
        kwi_assign_out_fini(&out);
        kwi_assign_in bad_count = {mem, -1, topics, 1, NULL};
        ck_assert_int_eq(kwi_assign_run(all[k], &bad_count, &out), KW_ERR_INVALID_ARG);
        kwi_assign_out_fini(&out);
        /* Nobody in the group: an empty result. */
        kwi_assign_in empty = {NULL, 0, topics, 1, NULL};
        ck_assert_int_eq(kwi_assign_run(all[k], &empty, &out), KW_ERR_OK);
        ck_assert_int_eq(out.n_members, 0);
        kwi_assign_out_fini(&out);
        kwi_assign_out_fini(&out); /* twice is harmless */
    }
    kwi_assign_out out;
    kwi_assign_in in = {mem, 1, topics, 1, NULL};
    ck_assert_int_eq(kwi_assign_run(NULL, &in, &out), KW_ERR_INVALID_ARG);
    kwi_assign_out_fini(&out);
}
END_TEST

START_TEST(find_by_name)
{
    ck_assert_ptr_eq(kwi_assignor_find(kw_slice_str("range")), &kwi_assignor_range);
    ck_assert_ptr_eq(kwi_assignor_find(kw_slice_str("roundrobin")), &kwi_assignor_roundrobin);
    ck_assert_ptr_eq(kwi_assignor_find(kw_slice_str("cooperative-sticky")),
                     &kwi_assignor_cooperative_sticky);
    ck_assert_ptr_null(kwi_assignor_find(kw_slice_str("sticky")));
    ck_assert_ptr_null(kwi_assignor_find(kw_slice_str("Range")));
    ck_assert_ptr_null(kwi_assignor_find(KW_SLICE_NULL));
    ck_assert_uint_eq(kwi_assignor_range.protocols, KWI_ASSIGN_EAGER);
    ck_assert_uint_eq(kwi_assignor_cooperative_sticky.protocols,
                      KWI_ASSIGN_EAGER | KWI_ASSIGN_COOPERATIVE);
    ck_assert_ptr_eq(kwi_assign_sv_find(kw_slice_str("uniform")), &kwi_assignor_sv_uniform);
    ck_assert_ptr_eq(kwi_assign_sv_find(kw_slice_str("range")), &kwi_assignor_sv_range);
    ck_assert_ptr_null(kwi_assign_sv_find(kw_slice_str("simple")));
}
END_TEST

/* ---------------------------------------------------------------- rack-aware range */

/* Partition p of a topic has its replicas on the racks named by layout[p]: "0" = r0,
 * "01" = r0 and r1, "" = no rack. */
typedef struct rack_topic {
    const char *name;
    const char *layout[8];
    int n;
} rack_topic;

static const kw_slice rack_names[] = {
    {(const uint8_t *)"r0", 2}, {(const uint8_t *)"r1", 2}, {(const uint8_t *)"r2", 2}};

/* Members c0, c1, ... with racks[i] ("" = none) subscribing to every topic. */
static void
expect_racks(const rack_topic *rt, int nt, const char *const *racks, int nm,
             const char *const *want)
{
    kwi_assign_topic topics[4];
    kwi_assign_racks pr[4][8];
    kw_slice names[4][8][3];
    kw_slice subs[4];
    for (int t = 0; t < nt; t++) {
        for (int p = 0; p < rt[t].n; p++) {
            int k = 0;
            for (const char *c = rt[t].layout[p]; *c; c++)
                names[t][p][k++] = rack_names[*c - '0'];
            pr[t][p] = (kwi_assign_racks){names[t][p], k};
        }
        topics[t] = (kwi_assign_topic){kw_slice_str(rt[t].name), rt[t].n, pr[t]};
        subs[t] = kw_slice_str(rt[t].name);
    }
    kwi_assign_member mem[4];
    char ids[4][16];
    for (int i = 0; i < nm; i++) {
        snprintf(ids[i], sizeof(ids[i]), "c%d", i);
        mem[i] = (kwi_assign_member){
            kw_slice_str(ids[i]), KW_SLICE_NULL, kw_slice_str(racks[i]), subs, nt, NULL, 0, -1};
    }
    kwi_assign_in in = {mem, nm, topics, nt, NULL};
    kwi_assign_out out;
    ck_assert_int_eq(kwi_assign_run(&kwi_assignor_range, &in, &out), KW_ERR_OK);
    for (int i = 0; i < nm; i++) {
        char buf[256];
        ck_assert_msg(strcmp(fmt(&out.assignments[i], buf, sizeof(buf)), want[i]) == 0,
                      "c%d: got '%s' want '%s'", i, buf, want[i]);
    }
    kwi_assign_out_fini(&out);
    /* roundrobin ignores racks (as Java's does). */
    ck_assert_int_eq(kwi_assign_run(&kwi_assignor_roundrobin, &in, &out), KW_ERR_OK);
    kwi_assign_out_fini(&out);
}

/* Replicas spread over three racks, one consumer per rack: each consumer gets exactly its
 * own rack's partitions, within range's quotas. */
START_TEST(rack_aware_range_local)
{
    rack_topic t = {"t", {"0", "1", "2", "0", "1", "2"}, 6};
    const char *racks[] = {"r0", "r1", "r2"};
    const char *want[] = {"t:0,3", "t:1,4", "t:2,5"};
    expect_racks(&t, 1, racks, 3, want);
    /* Quotas come first: c0 (r0) may take 3 of 5 but only 2 are on r0; c1 (r1) takes its
     * three, which uses up the extra slot. */
    rack_topic t5 = {"t", {"1", "1", "1", "0", "0"}, 5};
    const char *r2[] = {"r0", "r1"};
    const char *want5[] = {"t:3,4", "t:0,1,2"};
    expect_racks(&t5, 1, r2, 2, want5);
    /* c0's rack holds no replica: it gets what is left after c1 took its own. */
    rack_topic t4 = {"t", {"0", "0", "0", "1"}, 4};
    const char *r3[] = {"r2", "r0"};
    const char *want4[] = {"t:2,3", "t:0,1"};
    expect_racks(&t4, 1, r3, 2, want4);
}
END_TEST

/* When it cannot help, it is plain range: every partition on the same racks, or no consumer
 * with a rack. */
START_TEST(rack_aware_range_falls_back)
{
    rack_topic same = {"t", {"01", "01", "01", "01", "01", "01"}, 6};
    const char *racks[] = {"r1", "r0", "r2"};
    const char *plain[] = {"t:0,1", "t:2,3", "t:4,5"};
    expect_racks(&same, 1, racks, 3, plain);
    rack_topic spread = {"t", {"0", "1", "2", "0", "1", "2"}, 6};
    const char *none[] = {"", "", ""};
    expect_racks(&spread, 1, none, 3, plain);
    /* A consumer without a rack matches everything (Java racksMatch). */
    rack_topic t4 = {"t", {"1", "0", "1", "0"}, 4};
    const char *mixed[] = {"", "r1"};
    const char *want[] = {"t:0,1", "t:2,3"};
    expect_racks(&t4, 1, mixed, 2, want);
}
END_TEST

/* Topics with the same partition count and subscribers are matched together, so they stay
 * co-partitioned: partition p of both goes to one consumer. */
START_TEST(rack_aware_range_copartitioned)
{
    rack_topic t[] = {{"a", {"0", "1", "0", "1"}, 4}, {"b", {"0", "1", "0", "1"}, 4}};
    const char *racks[] = {"r1", "r0"};
    const char *want[] = {"a:1,3;b:1,3", "a:0,2;b:0,2"};
    expect_racks(t, 2, racks, 2, want);
    /* b's replicas sit on the other rack: no consumer matches both, so nothing is matched
     * and plain range keeps them co-partitioned. */
    rack_topic u[] = {{"a", {"0", "1", "0", "1"}, 4}, {"b", {"1", "0", "1", "0"}, 4}};
    const char *want_u[] = {"a:0,1;b:0,1", "a:2,3;b:2,3"};
    expect_racks(u, 2, racks, 2, want_u);
}
END_TEST

/* Random racks and subscriptions: every partition of a subscribed topic is assigned once, to a
 * subscriber; each topic keeps range's quotas (n / k each, exactly n % k subscribers with one
 * more); topics with equal partition counts and subscribers stay co-partitioned. */
START_TEST(rack_aware_range_properties)
{
    uint32_t seed = 31337;
    for (int round = 0; round < 300; round++) {
        int nt = w_range(&seed, 1, 4), nm = w_range(&seed, 1, 4);
        kwi_assign_topic topics[4];
        kwi_assign_racks pr[4][8];
        kw_slice rk[4][8][3];
        kw_slice subs[4][4];
        int32_t nsub[4] = {0};
        char names[4][16];
        for (int t = 0; t < nt; t++) {
            snprintf(names[t], sizeof(names[t]), "t%d", t);
            int n = w_range(&seed, 0, 8);
            if (t > 0 && w_rand(&seed) % 2)
                n = topics[0].n_partitions; /* invite co-partitioning */
            for (int p = 0; p < n; p++) {
                int k = 0;
                for (int r = 0; r < 3; r++)
                    if (w_rand(&seed) % 3 == 0)
                        rk[t][p][k++] = rack_names[r];
                pr[t][p] = (kwi_assign_racks){rk[t][p], k};
            }
            topics[t] = (kwi_assign_topic){kw_slice_str(names[t]), n, pr[t]};
        }
        kwi_assign_member mem[4];
        char ids[4][16];
        bool sub[4][4];
        for (int i = 0; i < nm; i++) {
            snprintf(ids[i], sizeof(ids[i]), "c%d", i);
            for (int t = 0; t < nt; t++)
                if ((sub[i][t] = w_rand(&seed) % 4 != 0))
                    subs[i][nsub[i]++] = kw_slice_str(names[t]);
            int r = w_range(&seed, -1, 2);
            mem[i] = (kwi_assign_member){kw_slice_str(ids[i]),
                                         KW_SLICE_NULL,
                                         r < 0 ? KW_SLICE_NULL : rack_names[r],
                                         subs[i],
                                         nsub[i],
                                         NULL,
                                         0,
                                         -1};
        }
        kwi_assign_in in = {mem, nm, topics, nt, NULL};
        kwi_assign_out out;
        ck_assert_int_eq(kwi_assign_run(&kwi_assignor_range, &in, &out), KW_ERR_OK);
        int32_t owner[4][8];
        memset(owner, 0xff, sizeof(owner));
        for (int i = 0; i < nm; i++)
            for (int k = 0; k < out.assignments[i].n_assigned_partitions; k++) {
                const kw_consumer_protocol_topic_partition *tp =
                    &out.assignments[i].assigned_partitions[k];
                int t = tp->topic.ptr[1] - '0';
                ck_assert(sub[i][t]);
                for (int j = 0; j < tp->n_partitions; j++) {
                    ck_assert_int_eq(owner[t][tp->partitions[j]], -1);
                    owner[t][tp->partitions[j]] = i;
                }
            }
        for (int t = 0; t < nt; t++) {
            int k = 0, got[4] = {0}, n = topics[t].n_partitions, over = 0;
            for (int i = 0; i < nm; i++)
                k += sub[i][t];
            for (int p = 0; p < n; p++) {
                ck_assert(k == 0 || owner[t][p] >= 0);
                if (owner[t][p] >= 0)
                    got[owner[t][p]]++;
            }
            for (int i = 0; i < nm && k > 0; i++) {
                if (!sub[i][t])
                    continue;
                ck_assert(got[i] == n / k || got[i] == n / k + 1);
                over += got[i] == n / k + 1;
            }
            ck_assert(k == 0 || over == n % k);
            for (int u = 0; u < t; u++) {
                bool same = topics[u].n_partitions == n;
                for (int i = 0; i < nm; i++)
                    same = same && sub[i][u] == sub[i][t];
                for (int p = 0; same && p < n; p++)
                    ck_assert_int_eq(owner[u][p], owner[t][p]);
            }
        }
        kwi_assign_out_fini(&out);
    }
}
END_TEST

/* ---------------------------------------------------------------- protocol helpers */

/* Java's bytes for our subscription: version 3, topics sorted and unique, UserData the
 * 4-byte generation for cooperative-sticky (null for range), OwnedPartitions sorted and
 * merged, GenerationId, RackId. */
START_TEST(subscription_bytes)
{
    kw_slice topics[] = {kw_slice_str("b"), kw_slice_str("a"), kw_slice_str("b")};
    int32_t p1[] = {2, 0}, p2[] = {1}, p3[] = {0};
    kw_consumer_protocol_topic_partition owned[] = {
        {kw_slice_str("b"), p1, 2}, {kw_slice_str("a"), p2, 1}, {kw_slice_str("b"), p3, 1}};
    kwi_assign_sub_in in = {topics, 3, owned, 3, 7, kw_slice_str("r1")};
    static const uint8_t want[] = {
        0, 3,                                                /* version */
        0, 0, 0,   2,   0, 1, 'a', 0, 1, 'b',                /* Topics */
        0, 0, 0,   4,   0, 0, 0,   7,                        /* UserData: generation */
        0, 0, 0,   2,                                        /* OwnedPartitions */
        0, 1, 'a', 0,   0, 0, 1,   0, 0, 0,   1,             /* a: [1] */
        0, 1, 'b', 0,   0, 0, 2,   0, 0, 0,   0, 0, 0, 0, 2, /* b: [0, 2] */
        0, 0, 0,   7,                                        /* GenerationId */
        0, 2, 'r', '1',                                      /* RackId */
    };
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1 << 16);
    ck_assert_int_eq(
        kwi_assign_subscription_encode(&kwi_assignor_cooperative_sticky, &in, NULL, &w), KW_ERR_OK);
    ck_assert_uint_eq(kw_wr_len(&w), sizeof(want));
    ck_assert(memcmp(w.base, want, sizeof(want)) == 0);
    kw_wr_fini(&w);

    /* range: UserData null; no rack, no generation. */
    kwi_assign_sub_in in2 = {topics, 1, NULL, 0, -1, KW_SLICE_NULL};
    static const uint8_t want2[] = {0,    3, 0, 0, 0, 1,    0,    1,    'b',  0xff, 0xff, 0xff,
                                    0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    kw_wr_init_dyn(&w, NULL, 1 << 16);
    ck_assert_int_eq(kwi_assign_subscription_encode(&kwi_assignor_range, &in2, NULL, &w),
                     KW_ERR_OK);
    ck_assert_uint_eq(kw_wr_len(&w), sizeof(want2));
    ck_assert(memcmp(w.base, want2, sizeof(want2)) == 0);
    kw_wr_fini(&w);

    kwi_assign_sub_in bad = {topics, -1, NULL, 0, -1, KW_SLICE_NULL};
    kw_wr_init_dyn(&w, NULL, 1 << 16);
    ck_assert_int_eq(kwi_assign_subscription_encode(&kwi_assignor_range, &bad, NULL, &w),
                     KW_ERR_INVALID_ARG);
    kw_wr_fini(&w);
}
END_TEST

START_TEST(userdata_generation)
{
    static const uint8_t java[] = {0, 0, 1, 2};
    ck_assert_int_eq(kwi_assign_userdata_generation((kw_slice){java, 4}), 258);
    static const uint8_t neg[] = {0xff, 0xff, 0xff, 0xfe};
    ck_assert_int_eq(kwi_assign_userdata_generation((kw_slice){neg, 4}), -2);
    /* librdkafka: [{"t", [0, 1]}] then generation 9. */
    static const uint8_t rdk[] = {0, 0, 0, 1, 0, 1, 't', 0, 0, 0, 2, 0,
                                  0, 0, 0, 0, 0, 0, 1,   0, 0, 0, 9};
    ck_assert_int_eq(kwi_assign_userdata_generation((kw_slice){rdk, sizeof(rdk)}), 9);
    /* Trailing junk, a short read, an absurd count, nothing at all: unknown. */
    static const uint8_t rdk_long[] = {0, 0, 0, 0, 0, 0, 0, 9, 1};
    ck_assert_int_eq(kwi_assign_userdata_generation((kw_slice){rdk_long, sizeof(rdk_long)}), -1);
    ck_assert_int_eq(kwi_assign_userdata_generation((kw_slice){rdk, sizeof(rdk) - 1}), -1);
    static const uint8_t absurd[] = {0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 9};
    ck_assert_int_eq(kwi_assign_userdata_generation((kw_slice){absurd, sizeof(absurd)}), -1);
    ck_assert_int_eq(kwi_assign_userdata_generation(KW_SLICE_NULL), -1);
    ck_assert_int_eq(kwi_assign_userdata_generation((kw_slice){java, 3}), -1);
}
END_TEST

/* A JoinGroup response's members become assignor input: the v2+ GenerationId wins over
 * UserData; a v1 subscription's generation comes from UserData; broken metadata names the
 * member. */
START_TEST(members_decode)
{
    kw_slice topics[] = {kw_slice_str("t0")};
    int32_t parts[] = {1};
    kw_consumer_protocol_topic_partition owned[] = {{kw_slice_str("t0"), parts, 1}};
    uint8_t ud[4] = {0, 0, 0, 4};
    kw_consumer_protocol_subscription s1 = {topics, 1, {ud, 4}, owned, 1, 6, KW_SLICE_NULL};
    kw_consumer_protocol_subscription s2 = {topics, 1, {ud, 4}, owned, 1, -1, KW_SLICE_NULL};
    kw_wr w1, w2;
    kw_wr_init_dyn(&w1, NULL, 1 << 16);
    kw_wr_init_dyn(&w2, NULL, 1 << 16);
    ck_assert_int_eq(
        kw_consumer_protocol_encode(&kw_msg_consumer_protocol_subscription, 3, &w1, &s1),
        KW_ERR_OK);
    ck_assert_int_eq(
        kw_consumer_protocol_encode(&kw_msg_consumer_protocol_subscription, 1, &w2, &s2),
        KW_ERR_OK);
    kw_join_group_resp_member jm[2] = {
        {kw_slice_str("m1"), kw_slice_str("inst"), {w1.base, (int32_t)kw_wr_len(&w1)}, {0}},
        {kw_slice_str("m2"), KW_SLICE_NULL, {w2.base, (int32_t)kw_wr_len(&w2)}, {0}},
    };
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kwi_assign_member mem[2];
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kwi_assign_members_decode(jm, 2, &ar, mem, &err), KW_ERR_OK);
    ck_assert(kw_slice_eq(mem[0].member_id, "m1"));
    ck_assert(kw_slice_eq(mem[0].instance_id, "inst"));
    ck_assert_int_eq(mem[0].generation, 6);
    ck_assert_int_eq(mem[1].generation, 4);
    ck_assert_int_eq(mem[1].instance_id.len, -1);
    ck_assert_int_eq(mem[0].n_topics, 1);
    ck_assert_int_eq(mem[0].n_owned, 1);
    ck_assert_int_eq(mem[0].owned[0].partitions[0], 1);

    /* The decoded members run through cooperative-sticky: m1 (generation 6) keeps t0-1. */
    kwi_assign_topic tt[] = {{kw_slice_str("t0"), 2, NULL}};
    kwi_assign_in in = {mem, 2, tt, 1, NULL};
    kwi_assign_out out;
    ck_assert_int_eq(kwi_assign_run(&kwi_assignor_cooperative_sticky, &in, &out), KW_ERR_OK);
    char buf[64];
    ck_assert_str_eq(fmt(&out.assignments[0], buf, sizeof(buf)), "t0:1");
    ck_assert_str_eq(fmt(&out.assignments[1], buf, sizeof(buf)), "t0:0");

    /* SyncGroup assignments decode back to the same thing. */
    kw_sync_group_req_assignment *sync;
    ck_assert_int_eq(kwi_assign_sync_assignments(&in, &out, &ar, &sync), KW_ERR_OK);
    for (int i = 0; i < 2; i++) {
        ck_assert(kw_slice_eq(sync[i].member_id, i ? "m2" : "m1"));
        kw_rd r;
        kw_rd_init(&r, sync[i].assignment.ptr, (size_t)sync[i].assignment.len);
        ck_assert_uint_eq(kw_rd_i16(&r), 3); /* the version Java writes */
        kw_rd_init(&r, sync[i].assignment.ptr, (size_t)sync[i].assignment.len);
        kw_consumer_protocol_assignment a;
        int16_t ver;
        ck_assert_int_eq(
            kw_consumer_protocol_decode(&kw_msg_consumer_protocol_assignment, &r, &ar, &a, &ver),
            KW_ERR_OK);
        ck_assert_int_eq(a.user_data.len, -1);
        ck_assert_str_eq(fmt(&a, buf, sizeof(buf)), i ? "t0:0" : "t0:1");
    }
    kwi_assign_out_fini(&out);

    /* Broken metadata: the error names the member. */
    jm[1].metadata.len = 5;
    ck_assert_int_eq(kwi_assign_members_decode(jm, 2, &ar, mem, &err), KW_ERR_TRUNCATED);
    ck_assert_ptr_nonnull(strstr(err.msg, "m2"));
    jm[1].metadata = KW_SLICE_NULL;
    ck_assert_int_ne(kwi_assign_members_decode(jm, 2, &ar, mem, NULL), KW_ERR_OK);
    kw_arena_fini(&ar);
    kw_wr_fini(&w1);
    kw_wr_fini(&w2);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("group_assign_eager");
    TCase *tc = tcase_create("eager");
    tcase_add_test(tc, range_java_example);
    tcase_add_test(tc, roundrobin_java_example);
    tcase_add_test(tc, roundrobin_unequal_subscriptions);
    tcase_add_test(tc, range_unequal_subscriptions);
    tcase_add_test(tc, static_members_sorted_by_instance_id);
    tcase_add_test(tc, order_independent);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, find_by_name);
    tcase_add_test(tc, rack_aware_range_local);
    tcase_add_test(tc, rack_aware_range_falls_back);
    tcase_add_test(tc, rack_aware_range_copartitioned);
    tcase_add_test(tc, rack_aware_range_properties);
    suite_add_tcase(s, tc);
    TCase *tp = tcase_create("protocol");
    tcase_add_test(tp, subscription_bytes);
    tcase_add_test(tp, userdata_generation);
    tcase_add_test(tp, members_decode);
    suite_add_tcase(s, tp);
    return s;
}
