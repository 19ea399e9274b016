/* The write cursor: a fixed caller buffer or a growing one with a hard maximum. Errors are
 * sticky; after one, writes are dropped. Lengths that are only known after a body is written
 * are back-patched (int32) or inserted (varints of tagged sections). */
#include <string.h>

#include "kwire/proto.h"

void
kw_wr_init_fixed(kw_wr *w, void *buf, size_t cap)
{
    memset(w, 0, sizeof(*w));
    if (!buf) /* no buffer: every write fails with NOSPACE, without arithmetic on NULL */
        return;
    w->base = w->p = buf;
    w->end = w->base + cap;
    w->max = cap;
}

void
kw_wr_init_dyn(kw_wr *w, const kw_allocator *a, size_t max)
{
    memset(w, 0, sizeof(*w));
    w->a = a ? a : kw_allocator_default();
    w->max = max;
}

void
kw_wr_fini(kw_wr *w)
{
    if (w->a && w->base)
        w->a->free(w->a->ud, w->base, (size_t)(w->end - w->base));
    w->base = w->p = w->end = NULL;
}

size_t
kw_wr_len(const kw_wr *w)
{
    return (size_t)(w->p - w->base);
}

kw_err
kw_wr_finish(const kw_wr *w)
{
    return w->err;
}

kw_err
kw_wr_fail(kw_wr *w, kw_err e)
{
    if (!w->err)
        w->err = e;
    return w->err;
}

void
kw_wr_set_flex(kw_wr *w, bool flex)
{
    if (flex)
        w->flags |= KW_RD_FLEX;
    else
        w->flags &= ~KW_RD_FLEX;
}

static bool
grow(kw_wr *w, size_t n)
{
    size_t len = kw_wr_len(w);
    size_t cap = (size_t)(w->end - w->base);
    if (!w->a || n > w->max || len > w->max - n) {
        kw_wr_fail(w, KW_ERR_NOSPACE);
        return false;
    }
    size_t ncap = cap ? cap : 256;
    /* The first block must not exceed the maximum either: reserve() only calls grow() when
     * the buffer is full, so capacity beyond max would let writes pass the hard maximum. */
    if (ncap > w->max)
        ncap = w->max;
    while (ncap - len < n)
        ncap = ncap > w->max / 2 ? w->max : ncap * 2;
    uint8_t *nb =
        w->base ? w->a->realloc(w->a->ud, w->base, cap, ncap) : w->a->alloc(w->a->ud, ncap);
    if (!nb) {
        kw_wr_fail(w, KW_ERR_NOMEM);
        return false;
    }
    w->base = nb;
    w->p = nb + len;
    w->end = nb + ncap;
    return true;
}

uint8_t *
kw_wr_reserve(kw_wr *w, size_t n)
{
    if (w->err)
        return NULL;
    if (n == 0) /* an empty growing writer has no buffer yet: no arithmetic on NULL */
        return w->p;
    if ((size_t)(w->end - w->p) < n && !grow(w, n))
        return NULL;
    uint8_t *p = w->p;
    w->p += n;
    return p;
}

static void
put_be(kw_wr *w, uint64_t v, size_t n)
{
    uint8_t *p = kw_wr_reserve(w, n);
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void
kw_wr_i8(kw_wr *w, int8_t v)
{
    put_be(w, (uint8_t)v, 1);
}

void
kw_wr_i16(kw_wr *w, int16_t v)
{
    put_be(w, (uint16_t)v, 2);
}

void
kw_wr_i32(kw_wr *w, int32_t v)
{
    put_be(w, (uint32_t)v, 4);
}

void
kw_wr_i64(kw_wr *w, int64_t v)
{
    put_be(w, (uint64_t)v, 8);
}

void
kw_wr_u16(kw_wr *w, uint16_t v)
{
    put_be(w, v, 2);
}

void
kw_wr_u32(kw_wr *w, uint32_t v)
{
    put_be(w, v, 4);
}

void
kw_wr_f64(kw_wr *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    put_be(w, bits, 8);
}

void
kw_wr_bool(kw_wr *w, bool v)
{
    put_be(w, v ? 1 : 0, 1);
}

void
kw_wr_uuid(kw_wr *w, const kw_uuid *v)
{
    kw_wr_raw(w, v->b, 16);
}

static size_t
leb_encode(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

size_t
kw_uvarint_size(uint32_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

void
kw_wr_uvarlong(kw_wr *w, uint64_t v)
{
    uint8_t tmp[10];
    kw_wr_raw(w, tmp, leb_encode(tmp, v));
}

void
kw_wr_uvarint(kw_wr *w, uint32_t v)
{
    kw_wr_uvarlong(w, v);
}

void
kw_wr_varint(kw_wr *w, int32_t v)
{
    kw_wr_uvarint(w, ((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

void
kw_wr_varlong(kw_wr *w, int64_t v)
{
    kw_wr_uvarlong(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void
kw_wr_raw(kw_wr *w, const void *src, size_t n)
{
    uint8_t *p = kw_wr_reserve(w, n);
    if (p && n)
        memcpy(p, src, n);
}

void
kw_wr_str(kw_wr *w, kw_slice s)
{
    if (s.len < -1) {
        kw_wr_fail(w, KW_ERR_VALUE_RANGE);
        return;
    }
    if (w->flags & KW_RD_FLEX) {
        kw_wr_uvarint(w, (uint32_t)s.len + 1u);
    } else {
        if (s.len > INT16_MAX) {
            kw_wr_fail(w, KW_ERR_VALUE_RANGE);
            return;
        }
        kw_wr_i16(w, (int16_t)s.len);
    }
    if (s.len > 0)
        kw_wr_raw(w, s.ptr, (size_t)s.len);
}

void
kw_wr_bytes(kw_wr *w, kw_slice s)
{
    if (s.len < -1) {
        kw_wr_fail(w, KW_ERR_VALUE_RANGE);
        return;
    }
    if (w->flags & KW_RD_FLEX)
        kw_wr_uvarint(w, (uint32_t)s.len + 1u);
    else
        kw_wr_i32(w, s.len);
    if (s.len > 0)
        kw_wr_raw(w, s.ptr, (size_t)s.len);
}

void
kw_wr_array_len(kw_wr *w, int32_t n)
{
    if (n < -1) {
        kw_wr_fail(w, KW_ERR_VALUE_RANGE);
        return;
    }
    if (w->flags & KW_RD_FLEX)
        kw_wr_uvarint(w, (uint32_t)n + 1u);
    else
        kw_wr_i32(w, n);
}

void
kw_wr_insert_uvarint(kw_wr *w, size_t pos, uint32_t v)
{
    uint8_t tmp[5];
    size_t n = leb_encode(tmp, v);
    size_t len = kw_wr_len(w);
    if (w->err)
        return;
    if (pos > len) {
        kw_wr_fail(w, KW_ERR_INVALID_ARG);
        return;
    }
    if (!kw_wr_reserve(w, n))
        return;
    memmove(w->base + pos + n, w->base + pos, len - pos);
    memcpy(w->base + pos, tmp, n);
}

void
kw_wr_patch_i32(kw_wr *w, size_t pos, int32_t v)
{
    if (w->err)
        return;
    if (pos > kw_wr_len(w) || kw_wr_len(w) - pos < 4) {
        kw_wr_fail(w, KW_ERR_INVALID_ARG);
        return;
    }
    uint32_t u = (uint32_t)v;
    uint8_t *p = w->base + pos;
    p[0] = (uint8_t)(u >> 24);
    p[1] = (uint8_t)(u >> 16);
    p[2] = (uint8_t)(u >> 8);
    p[3] = (uint8_t)u;
}
