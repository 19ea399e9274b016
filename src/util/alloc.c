/* The default allocator and the bump arena used for decoded frames. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/alloc.h"

static void *
std_alloc(void *ud, size_t size)
{
    (void)ud;
    return malloc(size);
}

static void *
std_realloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    (void)ud;
    (void)old_size;
    return realloc(ptr, new_size);
}

static void
std_free(void *ud, void *ptr, size_t size)
{
    (void)ud;
    (void)size;
    free(ptr);
}

static const kw_allocator std_allocator = {std_alloc, std_realloc, std_free, NULL};

const kw_allocator *
kw_allocator_default(void)
{
    return &std_allocator;
}

/* Chunks form a list, newest first. The first chunk ever allocated is kept across resets so a
 * connection decoding one frame after another does not call the allocator for each. */
struct kw_arena_chunk {
    kw_arena_chunk *next;
    size_t size; /* usable bytes after the header */
    size_t off;
};

#define ARENA_MIN_CHUNK 4096u
#define ARENA_HDR       ((sizeof(kw_arena_chunk) + 15u) & ~(size_t)15u)

void
kw_arena_init(kw_arena *ar, const kw_allocator *a, size_t cap)
{
    memset(ar, 0, sizeof(*ar));
    ar->a = a ? a : &std_allocator;
    ar->cap = cap;
}

void *
kw_arena_alloc(kw_arena *ar, size_t size)
{
    size_t need = (size + 7u) & ~(size_t)7u;
    if (need < size)
        return NULL;
    if (ar->cap && (need > ar->cap || ar->used > ar->cap - need))
        return NULL;
    kw_arena_chunk *c = ar->head;
    if (!c || c->size - c->off < need) {
        size_t csize = need > ARENA_MIN_CHUNK ? need : ARENA_MIN_CHUNK;
        if (c && c->size * 2 > csize && c->size < (SIZE_MAX - ARENA_HDR) / 2)
            csize = c->size * 2;
        if (csize > SIZE_MAX - ARENA_HDR)
            return NULL;
        kw_arena_chunk *n = ar->a->alloc(ar->a->ud, ARENA_HDR + csize);
        if (!n)
            return NULL;
        n->next = c;
        n->size = csize;
        n->off = 0;
        ar->head = c = n;
    }
    uint8_t *p = (uint8_t *)c + ARENA_HDR + c->off;
    c->off += need;
    ar->used += need;
    memset(p, 0, size);
    return p;
}

void *
kw_arena_calloc(kw_arena *ar, size_t n, size_t sz)
{
    if (sz && n > SIZE_MAX / sz)
        return NULL;
    size_t total = n * sz;
    return kw_arena_alloc(ar, total ? total : 1);
}

void
kw_arena_reset(kw_arena *ar)
{
    kw_arena_chunk *c = ar->head;
    while (c && c->next) {
        kw_arena_chunk *next = c->next;
        ar->a->free(ar->a->ud, c, ARENA_HDR + c->size);
        c = next;
    }
    if (c)
        c->off = 0;
    ar->head = c;
    ar->used = 0;
}

void
kw_arena_fini(kw_arena *ar)
{
    kw_arena_chunk *c = ar->head;
    while (c) {
        kw_arena_chunk *next = c->next;
        ar->a->free(ar->a->ud, c, ARENA_HDR + c->size);
        c = next;
    }
    ar->head = NULL;
    ar->used = 0;
}
