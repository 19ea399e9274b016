/* The timer heap against a reference model: random inserts, re-keys, removes and pops must
 * always agree with a linear scan for the minimum (deadline, seq), every node's stored index
 * must stay right, and allocation failure must leave the heap exactly as it was. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/heap.h"

/* ---- a counting allocator that can be told to fail -------------------------------------- */

typedef struct test_alloc {
    long calls;      /* alloc + realloc calls so far */
    long fail_at;    /* the call with this number fails; -1 = never */
    int fail_always; /* every call fails */
    unsigned fail_pct;
    unsigned rng;
    size_t live; /* bytes outstanding */
} test_alloc;

static unsigned
rng_next(unsigned *s)
{
    /* xorshift32: deterministic across libcs, unlike rand(). */
    unsigned x = *s ? *s : 2463534242u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static int
should_fail(test_alloc *t)
{
    long n = t->calls++;
    if (t->fail_always || n == t->fail_at)
        return 1;
    return t->fail_pct && rng_next(&t->rng) % 100 < t->fail_pct;
}

static void *
ta_alloc(void *ud, size_t size)
{
    test_alloc *t = ud;
    if (should_fail(t))
        return NULL;
    void *p = malloc(size);
    if (p)
        t->live += size;
    return p;
}

static void *
ta_realloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    test_alloc *t = ud;
    if (should_fail(t))
        return NULL;
    void *p = realloc(ptr, new_size);
    if (p)
        t->live = t->live - old_size + new_size;
    return p;
}

static void
ta_free(void *ud, void *ptr, size_t size)
{
    test_alloc *t = ud;
    t->live -= size;
    free(ptr);
}

static kw_allocator
make_alloc(test_alloc *t)
{
    memset(t, 0, sizeof(*t));
    t->fail_at = -1;
    kw_allocator a = {ta_alloc, ta_realloc, ta_free, t};
    return a;
}

/* ---- reference model ---------------------------------------------------------------------- */

#define POOL 300

typedef struct model {
    kwi_heap_node nodes[POOL];
    int queued[POOL];
    int64_t deadline[POOL];
    uint64_t seq[POOL];
    uint64_t next_seq;
    size_t len;
} model;

static void
model_init(model *m)
{
    memset(m, 0, sizeof(*m));
    for (int i = 0; i < POOL; i++)
        kwi_heap_node_init(&m->nodes[i]);
}

/* The index of the smallest queued node by linear scan, or -1. */
static int
model_min(const model *m)
{
    int best = -1;
    for (int i = 0; i < POOL; i++) {
        if (!m->queued[i])
            continue;
        if (best < 0 || m->deadline[i] < m->deadline[best] ||
            (m->deadline[i] == m->deadline[best] && m->seq[i] < m->seq[best]))
            best = i;
    }
    return best;
}

/* The model helpers return NULL when heap and model agree, else what disagreed. They avoid
 * ck_assert in the hot loop: Check records a mark point per assertion, which would make a run
 * of a few hundred thousand operations take minutes. */
static const char *
model_insert(model *m, kwi_heap *h, int i, int64_t deadline)
{
    int was = m->queued[i];
    kw_err e = kwi_heap_insert(h, &m->nodes[i], deadline);
    if (e) {
        /* Only growth can fail, and then nothing may have changed. */
        if (e != KW_ERR_NOMEM || was)
            return "insert failed with a wrong error, or for a queued node";
        if (kwi_heap_node_queued(&m->nodes[i]) || kwi_heap_len(h) != m->len)
            return "failed insert changed the heap";
        return NULL;
    }
    if (!was)
        m->len++;
    m->queued[i] = 1;
    m->deadline[i] = deadline;
    m->seq[i] = m->next_seq++;
    return m->nodes[i].seq == m->seq[i] ? NULL : "sequence number differs from the model";
}

static const char *
model_check(const model *m, const kwi_heap *h)
{
    if (!kwi_heap_check(h))
        return "heap property or stored index broken";
    if (kwi_heap_len(h) != m->len)
        return "length differs from the model";
    int best = model_min(m);
    if (kwi_heap_peek(h) != (best < 0 ? NULL : &m->nodes[best]))
        return "peek is not the model's minimum";
    for (int i = 0; i < POOL; i++)
        if (kwi_heap_node_queued(&m->nodes[i]) != m->queued[i])
            return "queued flag differs from the model";
    return NULL;
}

/* One random operation, then a full comparison. Deadlines come from a small range so ties
 * (and the seq tie-break) are common. */
static const char *
random_op(model *m, kwi_heap *h, unsigned *rng)
{
    int i = (int)(rng_next(rng) % POOL);
    int64_t deadline = (int64_t)(rng_next(rng) % 64) - 8;
    const char *why = NULL;
    switch (rng_next(rng) % 5) {
    case 0:
    case 1: /* insert, or re-key when already queued */
        why = model_insert(m, h, i, deadline);
        break;
    case 2: { /* remove by handle */
        int removed = kwi_heap_remove(h, &m->nodes[i]);
        if (removed != m->queued[i])
            return "remove disagrees with the model about membership";
        if (removed)
            m->len--;
        m->queued[i] = 0;
        break;
    }
    case 3: { /* pop must return the model's minimum */
        int best = model_min(m);
        kwi_heap_node *n = kwi_heap_pop(h);
        if (n != (best < 0 ? NULL : &m->nodes[best]))
            return "pop is not the model's minimum";
        if (best >= 0) {
            m->queued[best] = 0;
            m->len--;
        }
        break;
    }
    default: /* peek is compared by model_check after every op */
        break;
    }
    return why ? why : model_check(m, h);
}

static void
run_model(model *m, kwi_heap *h, unsigned seed, int ops)
{
    unsigned rng = seed;
    for (int k = 0; k < ops; k++) {
        const char *why = random_op(m, h, &rng);
        if (why)
            ck_abort_msg("seed %u, operation %d: %s", seed, k, why);
    }
}

static void
drain_in_order(model *m, kwi_heap *h)
{
    int64_t last_d = INT64_MIN;
    uint64_t last_s = 0;
    kwi_heap_node *n;
    int ordered = 1;
    while ((n = kwi_heap_pop(h)) != NULL) {
        ordered &= n->deadline_ms > last_d || (n->deadline_ms == last_d && n->seq > last_s);
        last_d = n->deadline_ms;
        last_s = n->seq;
        m->queued[n - m->nodes] = 0;
        m->len--;
    }
    ck_assert(ordered);
    ck_assert_uint_eq(m->len, 0);
}

START_TEST(test_heap_empty)
{
    kwi_heap h;
    kwi_heap_init(&h, NULL);
    kwi_heap_node n;
    kwi_heap_node_init(&n);
    ck_assert_ptr_null(kwi_heap_peek(&h));
    ck_assert_ptr_null(kwi_heap_pop(&h));
    ck_assert_int_eq(kwi_heap_remove(&h, &n), 0);
    ck_assert(kwi_heap_check(&h));
    kwi_heap_fini(&h);
    kwi_heap_fini(&h); /* twice is harmless */
}
END_TEST

START_TEST(test_heap_random_model)
{
    /* Several seeds, each a long mixed run followed by a full ordered drain. */
    for (unsigned seed = 1; seed <= 8; seed++) {
        test_alloc t;
        kw_allocator a = make_alloc(&t);
        kwi_heap h;
        kwi_heap_init(&h, &a);
        static model m;
        model_init(&m);
        run_model(&m, &h, seed * 7919u, 20000);
        drain_in_order(&m, &h);
        kwi_heap_fini(&h);
        ck_assert_uint_eq(t.live, 0);
    }
}
END_TEST

START_TEST(test_heap_ties_fifo)
{
    kwi_heap h;
    kwi_heap_init(&h, NULL);
    kwi_heap_node n[40];
    for (int i = 0; i < 40; i++) {
        kwi_heap_node_init(&n[i]);
        ck_assert_int_eq(kwi_heap_insert(&h, &n[i], i % 2 ? 5 : 7), KW_ERR_OK);
    }
    /* Deadline 5 first (odd indices in insertion order), then deadline 7 (even). */
    for (int i = 1; i < 40; i += 2)
        ck_assert_ptr_eq(kwi_heap_pop(&h), &n[i]);
    for (int i = 0; i < 40; i += 2)
        ck_assert_ptr_eq(kwi_heap_pop(&h), &n[i]);
    /* Re-keying an earlier node to the same deadline moves it behind the others. */
    for (int i = 0; i < 3; i++)
        kwi_heap_insert(&h, &n[i], 1);
    kwi_heap_insert(&h, &n[0], 1);
    ck_assert_ptr_eq(kwi_heap_pop(&h), &n[1]);
    ck_assert_ptr_eq(kwi_heap_pop(&h), &n[2]);
    ck_assert_ptr_eq(kwi_heap_pop(&h), &n[0]);
    kwi_heap_fini(&h);
}
END_TEST

START_TEST(test_heap_nomem_growth)
{
    test_alloc t;
    kw_allocator a = make_alloc(&t);
    kwi_heap h;
    kwi_heap_init(&h, &a);
    kwi_heap_node n[64];
    for (int i = 0; i < 64; i++)
        kwi_heap_node_init(&n[i]);

    /* The very first allocation fails: nothing queued, nothing leaked. */
    t.fail_always = 1;
    ck_assert_int_eq(kwi_heap_insert(&h, &n[0], 1), KW_ERR_NOMEM);
    ck_assert(!kwi_heap_node_queued(&n[0]));
    ck_assert_uint_eq(kwi_heap_len(&h), 0);
    ck_assert_int_eq(kwi_heap_reserve(&h, 4), KW_ERR_NOMEM);

    /* Fill whatever the first block holds, then make the growth (a realloc) fail. */
    t.fail_always = 0;
    int i = 0;
    ck_assert_int_eq(kwi_heap_insert(&h, &n[i++], 100), KW_ERR_OK);
    while (kwi_heap_len(&h) < h.cap) {
        ck_assert_int_eq(kwi_heap_insert(&h, &n[i], 100 - i), KW_ERR_OK);
        i++;
    }
    size_t full = kwi_heap_len(&h);
    kwi_heap_node *top = kwi_heap_peek(&h);
    t.fail_always = 1;
    ck_assert_int_eq(kwi_heap_insert(&h, &n[i], 0), KW_ERR_NOMEM);
    ck_assert_uint_eq(kwi_heap_len(&h), full);
    ck_assert_ptr_eq(kwi_heap_peek(&h), top);
    ck_assert(!kwi_heap_node_queued(&n[i]));
    ck_assert(kwi_heap_check(&h));
    /* Re-keying a queued node never allocates, so it works while the allocator is failing. */
    ck_assert_int_eq(kwi_heap_insert(&h, &n[0], -5), KW_ERR_OK);
    ck_assert_ptr_eq(kwi_heap_peek(&h), &n[0]);
    /* Once memory is back, the same insert succeeds. */
    t.fail_always = 0;
    ck_assert_int_eq(kwi_heap_insert(&h, &n[i], -10), KW_ERR_OK);
    ck_assert_ptr_eq(kwi_heap_peek(&h), &n[i]);
    ck_assert(kwi_heap_check(&h));
    kwi_heap_fini(&h);
    ck_assert_uint_eq(t.live, 0);
}
END_TEST

START_TEST(test_heap_reserve_makes_insert_infallible)
{
    test_alloc t;
    kw_allocator a = make_alloc(&t);
    kwi_heap h;
    kwi_heap_init(&h, &a);
    static kwi_heap_node n[100];
    ck_assert_int_eq(kwi_heap_reserve(&h, 100), KW_ERR_OK);
    t.fail_always = 1;
    for (int i = 0; i < 100; i++) {
        kwi_heap_node_init(&n[i]);
        ck_assert_int_eq(kwi_heap_insert(&h, &n[i], (i * 37) % 11), KW_ERR_OK);
    }
    ck_assert(kwi_heap_check(&h));
    ck_assert_int_eq(kwi_heap_reserve(&h, 50), KW_ERR_OK); /* already enough: no call */
    kwi_heap_fini(&h);
    ck_assert_uint_eq(t.live, 0);
}
END_TEST

START_TEST(test_heap_random_failing_alloc)
{
    /* The model run again with 30% of allocations failing: every failed insert must leave the
     * heap identical to the model, and nothing may leak. */
    for (unsigned seed = 1; seed <= 4; seed++) {
        test_alloc t;
        kw_allocator a = make_alloc(&t);
        t.fail_pct = 30;
        t.rng = seed;
        kwi_heap h;
        kwi_heap_init(&h, &a);
        static model m;
        model_init(&m);
        run_model(&m, &h, seed * 104729u, 10000);
        drain_in_order(&m, &h);
        kwi_heap_fini(&h);
        ck_assert_uint_eq(t.live, 0);
    }
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("util_heap");
    TCase *tc = tcase_create("heap");
    tcase_add_test(tc, test_heap_empty);
    tcase_add_test(tc, test_heap_random_model);
    tcase_add_test(tc, test_heap_ties_fifo);
    tcase_add_test(tc, test_heap_nomem_growth);
    tcase_add_test(tc, test_heap_reserve_makes_insert_infallible);
    tcase_add_test(tc, test_heap_random_failing_alloc);
    suite_add_tcase(s, tc);
    return s;
}
