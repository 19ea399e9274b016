/* kwire's own byte-level mutator: the fallback for inputs that do not decode, and the
 * KW_MUT_BYTES family. The operations are libFuzzer's classics, chosen for Kafka frames:
 * big-endian interesting integers (lengths and counts are big-endian int16/int32). */
#include <string.h>

#include "mut_int.h"

static void
put_be(uint8_t *p, uint32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

/* One operation; returns the new size. */
static size_t
one_op(kwm_rng *r, uint8_t *d, size_t size, size_t max)
{
    static const uint32_t interesting[] = {0,          1,          0x7f,       0x80,
                                           0xff,       0x7fff,     0x8000,     0xffff,
                                           0x7fffffff, 0x80000000, 0xffffffff, 0x10000};
    size_t at = kwm_below(r, (uint32_t)(size ? size : 1));
    switch (kwm_below(r, 8)) {
    case 0: /* flip a bit */
        if (size)
            d[at] ^= (uint8_t)(1u << kwm_below(r, 8));
        return size;
    case 1: /* a random byte */
        if (size)
            d[at] = (uint8_t)kwm_next(r);
        return size;
    case 2: { /* an interesting int16 or int32, big-endian */
        int w = kwm_below(r, 2) ? 4 : 2;
        if (size >= (size_t)w) {
            at = kwm_below(r, (uint32_t)(size - (size_t)w + 1));
            put_be(d + at, interesting[kwm_below(r, 12)], w);
        }
        return size;
    }
    case 3: { /* insert a few bytes */
        size_t n = 1 + kwm_below(r, 8);
        if (size + n > max)
            return size;
        memmove(d + at + n, d + at, size - at);
        for (size_t i = 0; i < n; i++)
            d[at + i] = (uint8_t)kwm_next(r);
        return size + n;
    }
    case 4: { /* erase a range */
        if (size < 2)
            return size;
        size_t n = 1 + kwm_below(r, (uint32_t)(size - at < 16 ? size - at : 16));
        if (n > size - at)
            n = size - at;
        memmove(d + at, d + at + n, size - at - n);
        return size - n;
    }
    case 5: { /* copy a chunk over another place */
        if (size < 2)
            return size;
        size_t from = kwm_below(r, (uint32_t)size);
        size_t n = 1 + kwm_below(r, 16);
        if (n > size - from)
            n = size - from;
        if (n > size - at)
            n = size - at;
        memmove(d + at, d + from, n);
        return size;
    }
    case 6: /* truncate: a cut-short frame */
        return at;
    default: /* add or subtract a small amount from a byte */
        if (size)
            d[at] = (uint8_t)(d[at] + (kwm_below(r, 2) ? 1 : -1) * (int)(1 + kwm_below(r, 16)));
        return size;
    }
}

size_t
kw_mutate_bytes(uint8_t *data, size_t size, size_t max_size, uint32_t seed, void *ud)
{
    (void)ud;
    if (!data || max_size == 0)
        return 0;
    if (size > max_size)
        size = max_size;
    kwm_rng r = {(uint64_t)seed * 0xd1b54a32d192ed03ull + 1};
    if (size == 0) {
        data[0] = (uint8_t)kwm_next(&r);
        return 1;
    }
    int ops = 1 + (int)kwm_below(&r, 3);
    size_t orig = size;
    for (int i = 0; i < ops; i++)
        size = one_op(&r, data, size, max_size);
    /* A mutation must change something: fall back to a bit flip when the ops cancelled. */
    if (size == orig && size > 0 && kwm_below(&r, 1) == 0)
        data[kwm_below(&r, (uint32_t)size)] ^= 1;
    return size;
}
