/* The read cursor. Every bounds check is in subtraction form, (end - p) < n, so a length taken
 * off the wire cannot wrap a pointer. Errors are sticky: after the first one every read returns
 * zero or an empty slice and the cursor does not move. */
#include <string.h>

#include "kwire/proto.h"

/* A non-null address for empty input: NULL + 0 is undefined behaviour in C. */
static const uint8_t empty_input[1];

void
kw_rd_init(kw_rd *r, const void *buf, size_t len)
{
    if (!buf) {
        buf = empty_input;
        len = 0;
    }
    r->base = r->p = buf;
    r->end = r->base + len;
    r->err = KW_ERR_OK;
    r->flags = 0;
}

size_t
kw_rd_remain(const kw_rd *r)
{
    return r->err ? 0 : (size_t)(r->end - r->p);
}

size_t
kw_rd_pos(const kw_rd *r)
{
    return (size_t)(r->p - r->base);
}

kw_err
kw_rd_fail(kw_rd *r, kw_err e)
{
    if (!r->err)
        r->err = e;
    return r->err;
}

void
kw_rd_set_flex(kw_rd *r, bool flex)
{
    if (flex)
        r->flags |= KW_RD_FLEX;
    else
        r->flags &= ~KW_RD_FLEX;
}

kw_err
kw_rd_finish(const kw_rd *r)
{
    return r->err;
}

/* Returns a pointer to n readable bytes and advances, or NULL with the cursor failed. */
static const uint8_t *
take(kw_rd *r, size_t n)
{
    if (r->err)
        return NULL;
    if ((size_t)(r->end - r->p) < n) {
        r->err = KW_ERR_TRUNCATED;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    return p;
}

static uint64_t
be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

int8_t
kw_rd_i8(kw_rd *r)
{
    const uint8_t *p = take(r, 1);
    return p ? (int8_t)p[0] : 0;
}

int16_t
kw_rd_i16(kw_rd *r)
{
    const uint8_t *p = take(r, 2);
    return p ? (int16_t)(uint16_t)be(p, 2) : 0;
}

int32_t
kw_rd_i32(kw_rd *r)
{
    const uint8_t *p = take(r, 4);
    return p ? (int32_t)(uint32_t)be(p, 4) : 0;
}

int64_t
kw_rd_i64(kw_rd *r)
{
    const uint8_t *p = take(r, 8);
    return p ? (int64_t)be(p, 8) : 0;
}

uint16_t
kw_rd_u16(kw_rd *r)
{
    const uint8_t *p = take(r, 2);
    return p ? (uint16_t)be(p, 2) : 0;
}

uint32_t
kw_rd_u32(kw_rd *r)
{
    const uint8_t *p = take(r, 4);
    return p ? (uint32_t)be(p, 4) : 0;
}

double
kw_rd_f64(kw_rd *r)
{
    const uint8_t *p = take(r, 8);
    uint64_t bits = p ? be(p, 8) : 0;
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

bool
kw_rd_bool(kw_rd *r)
{
    return kw_rd_i8(r) != 0;
}

kw_uuid
kw_rd_uuid(kw_rd *r)
{
    kw_uuid u;
    const uint8_t *p = take(r, 16);
    if (p)
        memcpy(u.b, p, 16);
    else
        memset(u.b, 0, 16);
    return u;
}

/* LEB128 with at most max_bytes bytes. A final byte of zero after the first (a form with a
 * redundant high group) is overlong and rejected, as are bits beyond the value's width. */
static uint64_t
leb(kw_rd *r, unsigned max_bytes, unsigned width)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < max_bytes; i++) {
        const uint8_t *p = take(r, 1);
        if (!p)
            return 0;
        uint8_t b = *p;
        unsigned shift = 7 * i;
        if (i == max_bytes - 1 && (b >> (width - shift)) != 0) {
            kw_rd_fail(r, KW_ERR_OVERLONG);
            return 0;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && i > 0) {
                kw_rd_fail(r, KW_ERR_OVERLONG);
                return 0;
            }
            return v;
        }
    }
    kw_rd_fail(r, KW_ERR_OVERLONG);
    return 0;
}

uint32_t
kw_rd_uvarint(kw_rd *r)
{
    return (uint32_t)leb(r, 5, 32);
}

uint64_t
kw_rd_uvarlong(kw_rd *r)
{
    return leb(r, 10, 64);
}

int32_t
kw_rd_varint(kw_rd *r)
{
    uint32_t u = kw_rd_uvarint(r);
    return (int32_t)((u >> 1) ^ (~(u & 1) + 1));
}

int64_t
kw_rd_varlong(kw_rd *r)
{
    uint64_t u = kw_rd_uvarlong(r);
    return (int64_t)((u >> 1) ^ (~(u & 1) + 1));
}

const uint8_t *
kw_rd_raw(kw_rd *r, size_t n)
{
    return take(r, n);
}

static kw_slice
slice_of(kw_rd *r, int64_t len)
{
    kw_slice s = {NULL, -1};
    if (r->err)
        return s;
    if (len < 0) {
        if (len != -1)
            kw_rd_fail(r, KW_ERR_MALFORMED);
        return s;
    }
    if (len > INT32_MAX) {
        kw_rd_fail(r, KW_ERR_MALFORMED);
        return s;
    }
    const uint8_t *p = take(r, (size_t)len);
    if (!p)
        return s;
    s.ptr = p;
    s.len = (int32_t)len;
    return s;
}

kw_slice
kw_rd_str(kw_rd *r)
{
    if (r->flags & KW_RD_FLEX)
        return slice_of(r, (int64_t)kw_rd_uvarint(r) - 1);
    return slice_of(r, kw_rd_i16(r));
}

kw_slice
kw_rd_bytes(kw_rd *r)
{
    if (r->flags & KW_RD_FLEX)
        return slice_of(r, (int64_t)kw_rd_uvarint(r) - 1);
    return slice_of(r, kw_rd_i32(r));
}

int32_t
kw_rd_array_len(kw_rd *r, size_t min_elem)
{
    int64_t n;
    if (r->flags & KW_RD_FLEX)
        n = (int64_t)kw_rd_uvarint(r) - 1;
    else
        n = kw_rd_i32(r);
    if (r->err)
        return 0;
    if (n < -1 || n > INT32_MAX) {
        kw_rd_fail(r, KW_ERR_MALFORMED);
        return 0;
    }
    if (n <= 0)
        return (int32_t)n;
    if (min_elem == 0)
        min_elem = 1;
    /* Each element needs at least min_elem bytes: a count that cannot fit is truncation, and
     * after this check the count may size an allocation. */
    if ((size_t)n > (size_t)(r->end - r->p) / min_elem) {
        kw_rd_fail(r, KW_ERR_TRUNCATED);
        return 0;
    }
    return (int32_t)n;
}

kw_rd
kw_rd_child(kw_rd *r, size_t n)
{
    kw_rd c;
    const uint8_t *p = take(r, n);
    kw_rd_init(&c, p ? p : r->p, p ? n : 0);
    c.flags = r->flags;
    if (!p)
        c.err = r->err;
    return c;
}

void
kw_rd_tagged_skip(kw_rd *r)
{
    uint32_t n = kw_rd_uvarint(r);
    for (uint32_t i = 0; i < n && !r->err; i++) {
        (void)kw_rd_uvarint(r);
        uint32_t size = kw_rd_uvarint(r);
        (void)take(r, size);
    }
}
