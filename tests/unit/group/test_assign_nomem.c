/* Out of memory, at every allocation: each assignor (eager, cooperative-sticky on both its
 * identical-subscription and general paths, uniform, server range) and each protocol helper
 * is run with an allocator that fails its n-th call, for n = 0, 1, 2, ... until the run
 * succeeds. Every failing run must return KW_ERR_NOMEM, hand back an empty result and leave
 * no byte allocated; the run that succeeds must give exactly the result of an unlimited
 * allocator. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "group/assign.h"

typedef struct fail_alloc {
    long calls;
    long fail_at; /* -1: never */
    long live_blocks;
    size_t live_bytes;
} fail_alloc;

static void *
fa_alloc(void *ud, size_t size)
{
    fail_alloc *f = ud;
    if (f->calls++ == f->fail_at)
        return NULL;
    void *p = malloc(size);
    if (p) {
        f->live_blocks++;
        f->live_bytes += size;
    }
    return p;
}

static void *
fa_realloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    fail_alloc *f = ud;
    if (f->calls++ == f->fail_at)
        return NULL;
    void *p = realloc(ptr, new_size);
    if (p) {
        if (!ptr)
            f->live_blocks++;
        f->live_bytes += new_size;
        f->live_bytes -= old_size;
    }
    return p;
}

static void
fa_free(void *ud, void *ptr, size_t size)
{
    fail_alloc *f = ud;
    if (!ptr)
        return;
    f->live_blocks--;
    f->live_bytes -= size;
    free(ptr);
}

/* ---------------------------------------------------------------- inputs */

static const char *const topic_names[] = {"t0", "t1", "t2"};
static kwi_assign_topic topics[3];
static kw_slice subs_all[3], subs_t0[1], subs_t1[1], subs_t01[2];
static int32_t parts_a[] = {0, 1, 2, 3, 4, 5, 6, 7}, parts_b[] = {1, 2}, parts_c[] = {0, 3, 3};
static kw_consumer_protocol_topic_partition owned_a[1], owned_b[2], owned_c[2];

static void
setup_inputs(void)
{
    for (int i = 0; i < 3; i++) {
        topics[i] = (kwi_assign_topic){kw_slice_str(topic_names[i]), 8 - 2 * i, NULL};
        subs_all[i] = kw_slice_str(topic_names[i]);
    }
    subs_t0[0] = subs_all[0];
    subs_t1[0] = subs_all[1];
    subs_t01[0] = subs_all[0];
    subs_t01[1] = subs_all[1];
    owned_a[0] = (kw_consumer_protocol_topic_partition){subs_all[0], parts_a, 8};
    owned_b[0] = (kw_consumer_protocol_topic_partition){subs_all[0], parts_b, 2};
    owned_b[1] = (kw_consumer_protocol_topic_partition){subs_all[1], parts_b, 2};
    owned_c[0] = (kw_consumer_protocol_topic_partition){subs_all[1], parts_c, 3};
    owned_c[1] = (kw_consumer_protocol_topic_partition){kw_slice_str("gone"), parts_c, 3};
}

/* Mixed subscriptions with claims that conflict and need multi-hop balancing. */
static void
members_mixed(kwi_assign_member *m)
{
    m[0] = (kwi_assign_member){
        kw_slice_str("a"), KW_SLICE_NULL, KW_SLICE_NULL, subs_t0, 1, owned_a, 1, 4};
    m[1] = (kwi_assign_member){
        kw_slice_str("b"), kw_slice_str("sb"), KW_SLICE_NULL, subs_t01, 2, owned_b, 2, 4};
    m[2] = (kwi_assign_member){
        kw_slice_str("c"), KW_SLICE_NULL, KW_SLICE_NULL, subs_t1, 1, owned_c, 2, 3};
    m[3] = (kwi_assign_member){
        kw_slice_str("d"), KW_SLICE_NULL, KW_SLICE_NULL, subs_all, 3, NULL, 0, -1};
}

/* Identical subscriptions, with claims. */
static void
members_same(kwi_assign_member *m)
{
    members_mixed(m);
    for (int i = 0; i < 4; i++) {
        m[i].topics = subs_all;
        m[i].n_topics = 3;
    }
}

/* "member:topic:p,p;...|" for a whole result. */
static void
signature(const kwi_assign_out *out, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (int32_t i = 0; i < out->n_members; i++) {
        const kw_consumer_protocol_assignment *a = &out->assignments[i];
        n += (size_t)snprintf(buf + n, cap - n, "%d:", (int)i);
        for (int32_t k = 0; k < a->n_assigned_partitions; k++) {
            const kw_consumer_protocol_topic_partition *tp = &a->assigned_partitions[k];
            n += (size_t)snprintf(buf + n, cap - n, "%.*s=", (int)tp->topic.len,
                                  (const char *)tp->topic.ptr);
            for (int32_t j = 0; j < tp->n_partitions; j++)
                n += (size_t)snprintf(buf + n, cap - n, "%d,", (int)tp->partitions[j]);
        }
        n += (size_t)snprintf(buf + n, cap - n, "|");
    }
    n += (size_t)snprintf(buf + n, cap - n, "w%d", (int)out->n_withheld);
    ck_assert_uint_lt(n, cap);
}

static void
sweep_client(const kwi_assignor *as, kwi_assign_member *mem, int n)
{
    kwi_assign_in in = {mem, n, topics, 3, NULL};
    kwi_assign_out out;
    char want[1024], got[1024];
    ck_assert_int_eq(kwi_assign_run(as, &in, &out), KW_ERR_OK);
    signature(&out, want, sizeof(want));
    kwi_assign_out_fini(&out);

    fail_alloc f = {0};
    kw_allocator a = {fa_alloc, fa_realloc, fa_free, &f};
    in.a = &a;
    long fail_at = 0;
    for (;; fail_at++) {
        f = (fail_alloc){.fail_at = fail_at};
        kw_err e = kwi_assign_run(as, &in, &out);
        if (e == KW_ERR_OK) {
            signature(&out, got, sizeof(got));
            ck_assert_str_eq(got, want);
            kwi_assign_out_fini(&out);
            ck_assert_int_eq(f.live_blocks, 0);
            break;
        }
        ck_assert_msg(e == KW_ERR_NOMEM, "%s: call %ld failed with %s", as->name, fail_at,
                      kw_err_name(e));
        ck_assert_ptr_null(out.assignments);
        ck_assert_int_eq(out.n_members, 0);
        kwi_assign_out_fini(&out);
        ck_assert_msg(f.live_blocks == 0 && f.live_bytes == 0, "%s: leak after failing call %ld",
                      as->name, fail_at);
    }
    ck_assert_int_gt(fail_at, 1); /* there were allocations to fail */
}

START_TEST(client_assignors)
{
    setup_inputs();
    kwi_assign_member mem[4];
    const kwi_assignor *all[] = {&kwi_assignor_range, &kwi_assignor_roundrobin,
                                 &kwi_assignor_cooperative_sticky};
    for (int k = 0; k < 3; k++) {
        members_mixed(mem);
        sweep_client(all[k], mem, 4);
        members_same(mem);
        sweep_client(all[k], mem, 4);
    }
    /* Rack-aware range (KIP-881): racks on members and replicas. */
    static const kw_slice rk[] = {{(const uint8_t *)"r0", 2}, {(const uint8_t *)"r1", 2}};
    kwi_assign_racks pr[3][8];
    for (int t = 0; t < 3; t++) {
        for (int p = 0; p < topics[t].n_partitions; p++)
            pr[t][p] = (kwi_assign_racks){&rk[(p + t) % 2], 1};
        topics[t].racks = pr[t];
    }
    members_same(mem);
    mem[0].rack = rk[1];
    mem[2].rack = rk[0];
    sweep_client(&kwi_assignor_range, mem, 4);
    for (int t = 0; t < 3; t++)
        topics[t].racks = NULL;
}
END_TEST

START_TEST(server_assignors)
{
    kw_uuid ids[3] = {{{3}}, {{1}}, {{2}}};
    kwi_assign_sv_topic st[3];
    for (int i = 0; i < 3; i++)
        st[i] = (kwi_assign_sv_topic){ids[i], kw_slice_str(topic_names[i]), 7 - 2 * i};
    int32_t cur_parts[] = {0, 1, 2, 3, 4, 5, 6};
    kw_consumer_group_heartbeat_topic_partitions cur[] = {{ids[0], cur_parts, 7, {0}},
                                                          {ids[1], cur_parts, 2, {0}}};
    const kwi_assign_sv_assignor *all[] = {&kwi_assignor_sv_uniform, &kwi_assignor_sv_range};
    for (int k = 0; k < 2; k++)
        for (int same = 0; same < 2; same++) {
            kwi_assign_sv_member mem[] = {
                {kw_slice_str("x"), ids, same ? 3 : 1, cur, 2},
                {kw_slice_str("y"), ids, 3, cur + 1, 1},
                {kw_slice_str("z"), same ? ids : ids + 1, same ? 3 : 2, NULL, 0},
                {kw_slice_str("w"), ids, 3, NULL, 0}};
            kwi_assign_sv_in in = {mem, 4, st, 3, NULL};
            kwi_assign_sv_out ref, out;
            ck_assert_int_eq(kwi_assign_sv_run(all[k], &in, &ref), KW_ERR_OK);
            fail_alloc f = {0};
            kw_allocator a = {fa_alloc, fa_realloc, fa_free, &f};
            in.a = &a;
            long fail_at = 0;
            for (;; fail_at++) {
                f = (fail_alloc){.fail_at = fail_at};
                kw_err e = kwi_assign_sv_run(all[k], &in, &out);
                if (e == KW_ERR_OK)
                    break;
                ck_assert_int_eq(e, KW_ERR_NOMEM);
                ck_assert_ptr_null(out.targets);
                kwi_assign_sv_out_fini(&out);
                ck_assert_int_eq(f.live_blocks, 0);
            }
            ck_assert_int_gt(fail_at, 1);
            for (int i = 0; i < 4; i++) {
                ck_assert_int_eq(out.targets[i].n_tps, ref.targets[i].n_tps);
                for (int j = 0; j < out.targets[i].n_tps; j++) {
                    const kw_consumer_group_heartbeat_topic_partitions *x = &out.targets[i].tps[j],
                                                                       *y = &ref.targets[i].tps[j];
                    ck_assert(memcmp(x->topic_id.b, y->topic_id.b, 16) == 0);
                    ck_assert_int_eq(x->n_partitions, y->n_partitions);
                    ck_assert(memcmp(x->partitions, y->partitions,
                                     (size_t)x->n_partitions * sizeof(int32_t)) == 0);
                }
            }
            kwi_assign_sv_out_fini(&out);
            kwi_assign_sv_out_fini(&ref);
            ck_assert_int_eq(f.live_blocks, 0);
        }
}
END_TEST

START_TEST(protocol_helpers)
{
    setup_inputs();
    fail_alloc f = {0};
    kw_allocator a = {fa_alloc, fa_realloc, fa_free, &f};

    /* Our Subscription: sorting scratch and the growing writer both use the allocator. */
    kwi_assign_sub_in sub = {subs_all, 3, owned_b, 2, 12, kw_slice_str("rack")};
    long fail_at;
    for (fail_at = 0;; fail_at++) {
        f = (fail_alloc){.fail_at = fail_at};
        kw_wr w;
        kw_wr_init_dyn(&w, &a, 1 << 20);
        kw_err e = kwi_assign_subscription_encode(&kwi_assignor_cooperative_sticky, &sub, &a, &w);
        kw_wr_fini(&w);
        ck_assert_int_eq(f.live_blocks, 0);
        if (e == KW_ERR_OK)
            break;
        ck_assert_int_eq(e, KW_ERR_NOMEM);
    }
    ck_assert_int_gt(fail_at, 0);

    /* SyncGroup assignments and JoinGroup member decoding, arena on the same allocator. */
    kwi_assign_member mem[4];
    members_mixed(mem);
    kwi_assign_in in = {mem, 4, topics, 3, NULL};
    kwi_assign_out out;
    ck_assert_int_eq(kwi_assign_run(&kwi_assignor_cooperative_sticky, &in, &out), KW_ERR_OK);
    in.a = &a;
    for (fail_at = 0;; fail_at++) {
        f = (fail_alloc){.fail_at = fail_at};
        kw_arena ar;
        kw_arena_init(&ar, &a, 0);
        kw_sync_group_req_assignment *sync;
        kw_err e = kwi_assign_sync_assignments(&in, &out, &ar, &sync);
        if (e == KW_ERR_OK) {
            ck_assert_ptr_nonnull(sync);
            kw_join_group_resp_member jm[4];
            kwi_assign_member back[4];
            for (int i = 0; i < 4; i++)
                jm[i] = (kw_join_group_resp_member){sync[i].member_id, KW_SLICE_NULL, {0}, {0}};
            /* Reuse the encoded subscriptions from the members' topics for decoding. */
            kw_wr w[4];
            bool ok = true;
            for (int i = 0; i < 4 && ok; i++) {
                kwi_assign_sub_in si = {mem[i].topics,  mem[i].n_topics,   mem[i].owned,
                                        mem[i].n_owned, mem[i].generation, KW_SLICE_NULL};
                kw_wr_init_dyn(&w[i], NULL, 1 << 20);
                ok = kwi_assign_subscription_encode(&kwi_assignor_cooperative_sticky, &si, NULL,
                                                    &w[i]) == KW_ERR_OK;
                jm[i].metadata = (kw_slice){w[i].base, (int32_t)kw_wr_len(&w[i])};
            }
            ck_assert(ok);
            long dec_fail;
            for (dec_fail = 0;; dec_fail++) {
                kw_arena dar;
                f.fail_at = f.calls + dec_fail;
                kw_arena_init(&dar, &a, 0);
                kw_err de = kwi_assign_members_decode(jm, 4, &dar, back, NULL);
                kw_arena_fini(&dar);
                if (de == KW_ERR_OK)
                    break;
                ck_assert_int_eq(de, KW_ERR_NOMEM);
            }
            ck_assert_int_gt(dec_fail, 0);
            for (int i = 0; i < 4; i++)
                kw_wr_fini(&w[i]);
            kw_arena_fini(&ar);
            ck_assert_int_eq(f.live_blocks, 0);
            break;
        }
        ck_assert_int_eq(e, KW_ERR_NOMEM);
        kw_arena_fini(&ar);
        ck_assert_int_eq(f.live_blocks, 0);
    }
    ck_assert_int_gt(fail_at, 1);
    kwi_assign_out_fini(&out);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("group_assign_nomem");
    TCase *tc = tcase_create("nomem");
    tcase_add_test(tc, client_assignors);
    tcase_add_test(tc, server_assignors);
    tcase_add_test(tc, protocol_helpers);
    suite_add_tcase(s, tc);
    return s;
}
