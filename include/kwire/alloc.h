/* kwire: the allocator hook. Every allocation kwire makes goes through one of these. */
#ifndef KWIRE_ALLOC_H
#define KWIRE_ALLOC_H

#include <stddef.h>
#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An allocator: alloc/realloc/sized free plus user data. Any function may return NULL, which
 *  kwire reports as KW_ERR_NOMEM. `free` receives the size that was allocated. */
typedef struct kw_allocator {
    void *(*alloc)(void *ud, size_t size);
    void *(*realloc)(void *ud, void *ptr, size_t old_size, size_t new_size);
    void (*free)(void *ud, void *ptr, size_t size);
    void *ud;
} kw_allocator;

/** @brief The default allocator (libc malloc/realloc/free). */
KW_API const kw_allocator *kw_allocator_default(void);

/** A bump arena: many small allocations freed at once (per decoded frame). Memory comes from
 *  the allocator in chunks; `cap` bounds the total (0 = no bound). Value type: _init/_fini. */
typedef struct kw_arena_chunk kw_arena_chunk;
typedef struct kw_arena {
    const kw_allocator *a;
    kw_arena_chunk *head;
    size_t used; /**< bytes handed out since the last reset */
    size_t cap;
} kw_arena;

/** @brief Initialise; `a` NULL means the default allocator. Allocates nothing. */
KW_API void kw_arena_init(kw_arena *ar, const kw_allocator *a, size_t cap);
/** @brief Zeroed, 8-byte aligned memory, or NULL (out of memory or over cap). */
KW_API void *kw_arena_alloc(kw_arena *ar, size_t size);
/** @brief Zeroed array of n elements of size sz; NULL on overflow, out of memory or over cap. */
KW_API void *kw_arena_calloc(kw_arena *ar, size_t n, size_t sz);
/** @brief Forget every allocation but keep the first chunk for reuse. */
KW_API void kw_arena_reset(kw_arena *ar);
/** @brief Release all memory. kw_arena_fini on a zeroed or finished arena does nothing. */
KW_API void kw_arena_fini(kw_arena *ar);

#ifdef __cplusplus
}
#endif
#endif
