#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "failalloc.h"

/* Each block carries its size in front, so frees and reallocs can be checked. */
#define HDR 16

static void *
f_alloc(void *ud, size_t size)
{
    failing *f = ud;
    f->calls++;
    if (f->left >= 0 && f->left-- == 0)
        return NULL;
    uint8_t *p = malloc(size + HDR);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof(size));
    f->live += (long long)size;
    return p + HDR;
}

static void
f_free(void *ud, void *ptr, size_t size)
{
    failing *f = ud;
    if (!ptr)
        return;
    uint8_t *p = (uint8_t *)ptr - HDR;
    size_t had;
    memcpy(&had, p, sizeof(had));
    if (had != size)
        f->size_mismatch = true;
    f->live -= (long long)had;
    free(p);
}

static void *
f_realloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    failing *f = ud;
    if (!ptr)
        return f_alloc(ud, new_size);
    f->calls++;
    if (f->left >= 0 && f->left-- == 0)
        return NULL;
    uint8_t *p = (uint8_t *)ptr - HDR;
    size_t had;
    memcpy(&had, p, sizeof(had));
    if (had != old_size)
        f->size_mismatch = true;
    uint8_t *n = realloc(p, new_size + HDR);
    if (!n)
        return NULL;
    memcpy(n, &new_size, sizeof(new_size));
    f->live += (long long)new_size - (long long)had;
    return n + HDR;
}

kw_allocator
kwt_failing_allocator(failing *f)
{
    kw_allocator a = {f_alloc, f_realloc, f_free, f};
    return a;
}
