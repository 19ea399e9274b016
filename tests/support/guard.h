/* Guard-page buffers: data that ends exactly where an inaccessible (PROT_NONE) page begins, so
 * a decoder that reads even one byte past the end faults at once instead of reading whatever
 * happens to follow in the heap. */
#ifndef KW_TEST_GUARD_H
#define KW_TEST_GUARD_H

#include <stddef.h>
#include <stdint.h>

typedef struct kwt_guard {
    uint8_t *data; /* data[0..len) is readable and writable; data[len] is in the guard page */
    size_t len;
    void *map; /* the whole mapping, for kwt_guard_fini */
    size_t map_len;
} kwt_guard;

/* Maps a guarded buffer of len bytes (0 is allowed: data then points at the guard page) and
 * copies src into it, or zero-fills when src is NULL. Returns g->data, or NULL if mmap or
 * mprotect failed (g is then zeroed). */
uint8_t *kwt_guard_init(kwt_guard *g, const void *src, size_t len);
/* Unmaps the buffer; a zeroed or finished guard is left alone. */
void kwt_guard_fini(kwt_guard *g);

#endif
