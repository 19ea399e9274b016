/* A binary min-heap of intrusive timer nodes; see heap.h for the contract. */
#include <stdint.h>

#include "heap.h"

/* The first allocation holds this many pointers; a client usually has a handful of timers per
 * connection, so this avoids several tiny reallocations at start-up. */
#define HEAP_MIN_CAP 16u

static int
less(const kwi_heap_node *a, const kwi_heap_node *b)
{
    if (a->deadline_ms != b->deadline_ms)
        return a->deadline_ms < b->deadline_ms;
    return a->seq < b->seq;
}

static void
place(kwi_heap *h, size_t i, kwi_heap_node *n)
{
    h->v[i] = n;
    n->idx = i;
}

/* Moves the node at i towards the root until its parent is not larger. */
static void
sift_up(kwi_heap *h, size_t i)
{
    kwi_heap_node *n = h->v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!less(n, h->v[parent]))
            break;
        place(h, i, h->v[parent]);
        i = parent;
    }
    place(h, i, n);
}

/* Moves the node at i towards the leaves until no child is smaller. */
static void
sift_down(kwi_heap *h, size_t i)
{
    kwi_heap_node *n = h->v[i];
    for (;;) {
        size_t left = 2 * i + 1;
        if (left >= h->len || left < i) /* second test: index overflow on absurd sizes */
            break;
        size_t child = left;
        if (left + 1 < h->len && less(h->v[left + 1], h->v[left]))
            child = left + 1;
        if (!less(h->v[child], n))
            break;
        place(h, i, h->v[child]);
        i = child;
    }
    place(h, i, n);
}

/* Restores order after the node at i changed key in either direction. */
static void
fix(kwi_heap *h, size_t i)
{
    if (i > 0 && less(h->v[i], h->v[(i - 1) / 2]))
        sift_up(h, i);
    else
        sift_down(h, i);
}

void
kwi_heap_node_init(kwi_heap_node *n)
{
    n->deadline_ms = 0;
    n->seq = 0;
    n->idx = KWI_HEAP_NONE;
}

void
kwi_heap_init(kwi_heap *h, const kw_allocator *a)
{
    h->a = a ? a : kw_allocator_default();
    h->v = NULL;
    h->len = 0;
    h->cap = 0;
    h->next_seq = 0;
}

void
kwi_heap_fini(kwi_heap *h)
{
    if (h->v)
        h->a->free(h->a->ud, h->v, h->cap * sizeof(*h->v));
    h->v = NULL;
    h->len = 0;
    h->cap = 0;
}

kw_err
kwi_heap_reserve(kwi_heap *h, size_t n)
{
    if (n <= h->cap)
        return KW_ERR_OK;
    size_t cap = h->cap ? h->cap : HEAP_MIN_CAP;
    while (cap < n) {
        if (cap > SIZE_MAX / 2)
            return KW_ERR_NOMEM;
        cap *= 2;
    }
    if (cap > SIZE_MAX / sizeof(*h->v))
        return KW_ERR_NOMEM;
    /* A user allocator's realloc need not accept NULL, so the first block comes from alloc. */
    kwi_heap_node **v;
    if (h->v)
        v = h->a->realloc(h->a->ud, h->v, h->cap * sizeof(*v), cap * sizeof(*v));
    else
        v = h->a->alloc(h->a->ud, cap * sizeof(*v));
    if (!v)
        return KW_ERR_NOMEM;
    h->v = v;
    h->cap = cap;
    return KW_ERR_OK;
}

kw_err
kwi_heap_insert(kwi_heap *h, kwi_heap_node *n, int64_t deadline_ms)
{
    if (kwi_heap_node_queued(n)) {
        /* Re-keying in place keeps re-arming allocation-free. */
        n->deadline_ms = deadline_ms;
        n->seq = h->next_seq++;
        fix(h, n->idx);
        return KW_ERR_OK;
    }
    if (h->len == h->cap) {
        if (h->len == SIZE_MAX)
            return KW_ERR_NOMEM;
        kw_err e = kwi_heap_reserve(h, h->len + 1);
        if (e)
            return e;
    }
    n->deadline_ms = deadline_ms;
    n->seq = h->next_seq++;
    place(h, h->len, n);
    h->len++;
    sift_up(h, h->len - 1);
    return KW_ERR_OK;
}

int
kwi_heap_remove(kwi_heap *h, kwi_heap_node *n)
{
    size_t i = n->idx;
    if (i == KWI_HEAP_NONE || i >= h->len || h->v[i] != n)
        return 0; /* not queued here: removing twice is harmless */
    n->idx = KWI_HEAP_NONE;
    h->len--;
    if (i == h->len)
        return 1;
    /* Fill the hole with the last node, which may belong above or below it. */
    place(h, i, h->v[h->len]);
    fix(h, i);
    return 1;
}

kwi_heap_node *
kwi_heap_pop(kwi_heap *h)
{
    kwi_heap_node *n = kwi_heap_peek(h);
    if (n)
        kwi_heap_remove(h, n);
    return n;
}

int
kwi_heap_check(const kwi_heap *h)
{
    if (h->len > h->cap)
        return 0;
    for (size_t i = 0; i < h->len; i++) {
        if (!h->v[i] || h->v[i]->idx != i)
            return 0;
        if (i > 0 && less(h->v[i], h->v[(i - 1) / 2]))
            return 0;
    }
    return 1;
}
