/* Test support: a counting allocator for out-of-memory sweeps. With `left` = N the N-th
 * allocation (counting from 0) fails; -1 never fails. It tracks the bytes outstanding, so a
 * sweep can assert no leak, and checks that every free and realloc names the size that was
 * allocated (kwire's allocator hook passes sizes). */
#ifndef KW_TEST_FAILALLOC_H
#define KW_TEST_FAILALLOC_H

#include <stdbool.h>

#include "kwire/alloc.h"

typedef struct failing {
    long left;          /* allocations until the failure; -1 = never fail */
    long calls;         /* allocations attempted */
    long long live;     /* bytes outstanding */
    bool size_mismatch; /* a free or realloc named the wrong size */
} failing;

/* An allocator hook over `f`. */
kw_allocator kwt_failing_allocator(failing *f);

#endif
