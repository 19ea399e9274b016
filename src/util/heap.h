/* Internal: a binary min-heap of timer nodes keyed by (deadline_ms, seq).
 *
 * The heap is intrusive: the caller embeds a kwi_heap_node in its own timer struct and the heap
 * stores pointers to nodes. Each node records its own index in the heap, so a timer can be
 * removed or re-keyed in O(log n) without searching. The sequence number is assigned on every
 * insert and breaks ties between equal deadlines, so timers due at the same millisecond fire in
 * the order they were armed, and the reactor can tell "armed before this step began" from "armed
 * during this step".
 *
 * Storage is one pointer array that grows through the kw_allocator. Growth failure is
 * KW_ERR_NOMEM and leaves the heap unchanged. A caller that must never fail on insert (a timer
 * re-armed from its own callback) reserves capacity in advance with kwi_heap_reserve().
 *
 * Single-threaded; no locks. */
#ifndef KWI_UTIL_HEAP_H
#define KWI_UTIL_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "kwire/alloc.h"
#include "kwire/error.h"

/* A node's index while it is not in any heap. */
#define KWI_HEAP_NONE SIZE_MAX

typedef struct kwi_heap_node {
    int64_t deadline_ms;
    uint64_t seq; /* assigned by kwi_heap_insert */
    size_t idx;   /* position in the heap array, or KWI_HEAP_NONE */
} kwi_heap_node;

typedef struct kwi_heap {
    const kw_allocator *a;
    kwi_heap_node **v;
    size_t len, cap;
    uint64_t next_seq;
} kwi_heap;

/* Prepares a node that is in no heap. Call once before the first insert. */
void kwi_heap_node_init(kwi_heap_node *n);

/* Whether the node is currently in a heap. */
static inline int
kwi_heap_node_queued(const kwi_heap_node *n)
{
    return n->idx != KWI_HEAP_NONE;
}

/* Initialises an empty heap; `a` NULL means the default allocator. Allocates nothing. */
void kwi_heap_init(kwi_heap *h, const kw_allocator *a);

/* Releases the array. The nodes are the caller's and are not touched. Safe on a zeroed or
 * finished heap. */
void kwi_heap_fini(kwi_heap *h);

/* Ensures room for `n` nodes in total, so that inserts up to that many cannot fail.
 * Returns KW_ERR_OK or KW_ERR_NOMEM (heap unchanged). */
kw_err kwi_heap_reserve(kwi_heap *h, size_t n);

/* Inserts `n` with the given deadline and a fresh sequence number. If `n` is already in this
 * heap it is re-keyed in place (this never allocates, so never fails). Returns KW_ERR_OK or
 * KW_ERR_NOMEM when the array had to grow and could not (heap and node unchanged). */
kw_err kwi_heap_insert(kwi_heap *h, kwi_heap_node *n, int64_t deadline_ms);

/* Removes `n` if it is in the heap. Returns 1 if it was removed, 0 if it was not queued. */
int kwi_heap_remove(kwi_heap *h, kwi_heap_node *n);

/* The node with the smallest (deadline_ms, seq), or NULL when empty. */
static inline kwi_heap_node *
kwi_heap_peek(const kwi_heap *h)
{
    return h->len ? h->v[0] : NULL;
}

/* Removes and returns the smallest node, or NULL when empty. */
kwi_heap_node *kwi_heap_pop(kwi_heap *h);

static inline size_t
kwi_heap_len(const kwi_heap *h)
{
    return h->len;
}

/* The sequence number the next insert will receive. */
static inline uint64_t
kwi_heap_next_seq(const kwi_heap *h)
{
    return h->next_seq;
}

/* Verifies the heap property and every node's stored index. Returns 1 if consistent. For tests
 * and debugging: O(n). */
int kwi_heap_check(const kwi_heap *h);

#endif
