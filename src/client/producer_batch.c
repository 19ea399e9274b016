/* Producer batches on the wire: records encoded into a batch as they are sent, the batch
 * sealed (compressed) when it first goes out, and the Produce request body written straight
 * into the connection's output buffer when the connection sends it.
 *
 * The records area uses the v2 record format (../shared/kafka-protocol/README.md §5):
 *   length varint, attributes int8 (0), timestampDelta varlong, offsetDelta varint,
 *   key (varint length, -1 = null), value (same), header count varint, then per header
 *   key (varint length) and value (varint length, -1 = null).
 * kw_batch_builder writes the same bytes; this file exists because a borrowed value
 * (kw_producer_send_zc) must be left out of the area and spliced in when the request is
 * encoded, and because the 61-byte header is written anew on every attempt (the producer id,
 * epoch and sequence may change between attempts; the CRC covers them). */
#include <string.h>

#include "client/producer_int.h"
#include "kwire/codec.h"
#include "util/crc32c.h"

static size_t
uvar_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static uint64_t
zz64(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static uint32_t
zz32(int32_t v)
{
    return ((uint32_t)v << 1) ^ (uint32_t)(v >> 31);
}

static uint8_t *
put_uvar(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

static uint8_t *
put_bytes(uint8_t *p, kw_slice s)
{
    p = put_uvar(p, zz32(s.len < 0 ? -1 : s.len));
    if (s.len > 0) {
        memcpy(p, s.ptr, (size_t)s.len);
        p += s.len;
    }
    return p;
}

static size_t
vbytes_size(int32_t len)
{
    return len < 0 ? 1 : uvar_size(zz32(len)) + (size_t)len;
}

static bool
bad_slice(kw_slice s)
{
    return s.len < -1 || (s.len > 0 && !s.ptr);
}

size_t
kwi_batch_record_size(int64_t ts_delta, int32_t off_delta, kw_slice key, int32_t val_len,
                      const kw_header *h, int32_t nh, size_t *body)
{
    if (bad_slice(key) || val_len < -1 || nh < 0 || (nh > 0 && !h))
        return 0;
    size_t n = 1 + uvar_size(zz64(ts_delta)) + uvar_size(zz32(off_delta)) + vbytes_size(key.len) +
               vbytes_size(val_len) + uvar_size(zz32(nh));
    for (int32_t i = 0; i < nh && n <= INT32_MAX; i++) {
        if (h[i].key.len < 0 || bad_slice(h[i].key) || bad_slice(h[i].value))
            return 0;
        n += vbytes_size(h[i].key.len) + vbytes_size(h[i].value.len);
    }
    if (n > INT32_MAX - 5)
        return 0;
    *body = n;
    return uvar_size(zz32((int32_t)n)) + n;
}

static kw_err
grow_array(const kw_allocator *a, void **arr, int32_t *cap, size_t esz, int32_t need)
{
    if (need <= *cap)
        return KW_ERR_OK;
    int32_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > INT32_MAX / 2)
            return KW_ERR_NOMEM;
        ncap *= 2;
    }
    void *n = *arr ? a->realloc(a->ud, *arr, (size_t)*cap * esz, (size_t)ncap * esz)
                   : a->alloc(a->ud, (size_t)ncap * esz);
    if (!n)
        return KW_ERR_NOMEM;
    *arr = n;
    *cap = ncap;
    return KW_ERR_OK;
}

kw_err
kwi_batch_add(kwi_pbatch *b, const kw_allocator *a, int64_t ts, kw_slice key, kw_slice value,
              bool zc, const kw_header *h, int32_t nh, size_t body0)
{
    if (b->n == INT32_MAX)
        return KW_ERR_VALUE_RANGE;
    int64_t base = b->n == 0 ? ts : b->base_ts;
    int64_t delta = (int64_t)((uint64_t)ts - (uint64_t)base);
    size_t body, size;
    if (body0 > 0) {
        /* The caller sized the record with zero deltas (one byte each); adjust. */
        body = body0 - 2 + uvar_size(zz64(delta)) + uvar_size(zz32(b->n));
        size = body <= INT32_MAX - 5 ? uvar_size(zz32((int32_t)body)) + body : 0;
    } else {
        size = kwi_batch_record_size(delta, b->n, key, value.len, h, nh, &body);
    }
    if (size == 0 || bad_slice(value))
        return KW_ERR_INVALID_ARG;
    if (grow_array(a, (void **)&b->msgs, &b->cap, sizeof(*b->msgs), b->n + 1))
        return KW_ERR_NOMEM;
    size_t borrowed = zc && value.len > 0 ? (size_t)value.len : 0;
    if (zc && grow_array(a, (void **)&b->refs, &b->cap_refs, sizeof(*b->refs), b->n_refs + 1))
        return KW_ERR_NOMEM;
    uint8_t *p = kw_wr_reserve(&b->rec, size - borrowed);
    if (!p) {
        kw_err e = kw_wr_finish(&b->rec);
        b->rec.err = KW_ERR_OK; /* the batch stays usable: nothing was written */
        return e;
    }
    p = put_uvar(p, zz32((int32_t)body));
    *p++ = 0; /* attributes */
    p = put_uvar(p, zz64(delta));
    p = put_uvar(p, zz32(b->n));
    p = put_bytes(p, key);
    if (zc) {
        /* Every borrowed value gets an entry, even a null or empty one, so that its free
         * function runs; only non-empty ones splice bytes in. */
        p = put_uvar(p, zz32(value.len < 0 ? -1 : value.len));
        kwi_pref *r = &b->refs[b->n_refs++];
        memset(r, 0, sizeof(*r));
        r->pos = (size_t)(p - b->rec.base);
        r->ptr = value.ptr;
        r->len = (int32_t)borrowed;
        b->ref_bytes += borrowed;
    } else {
        p = put_bytes(p, value);
    }
    p = put_uvar(p, zz32(nh));
    for (int32_t i = 0; i < nh; i++) {
        p = put_bytes(p, h[i].key);
        p = put_bytes(p, h[i].value);
    }
    b->msgs[b->n].ts = ts;
    b->msgs[b->n].opaque = NULL;
    if (b->n == 0 || ts > b->max_ts)
        b->max_ts = ts;
    b->base_ts = base;
    b->n++;
    return KW_ERR_OK;
}

size_t
kwi_batch_area_size(const kwi_pbatch *b)
{
    if (b->sealed && b->codec != KW_CODEC_NONE)
        return kw_wr_len(&b->z);
    return kw_wr_len(&b->rec) + b->ref_bytes;
}

/* Writes the uncompressed records area with the borrowed values spliced in. */
static void
write_area(const kwi_pbatch *b, kw_wr *w)
{
    size_t at = 0;
    for (int32_t i = 0; i < b->n_refs; i++) {
        const kwi_pref *r = &b->refs[i];
        kw_wr_raw(w, b->rec.base + at, r->pos - at);
        kw_wr_raw(w, r->ptr, (size_t)r->len);
        at = r->pos;
    }
    kw_wr_raw(w, b->rec.base + at, kw_wr_len(&b->rec) - at);
}

kw_err
kwi_batch_seal(kwi_pbatch *b, const kw_allocator *a, kw_codec_ctx *zctx, kw_wr *scratch, int level)
{
    if (b->sealed)
        return KW_ERR_OK;
    if (b->codec != KW_CODEC_NONE) {
        kw_slice in;
        if (b->n_refs > 0) {
            scratch->p = scratch->base;
            scratch->err = KW_ERR_OK;
            write_area(b, scratch);
            if (kw_wr_finish(scratch))
                return kw_wr_finish(scratch);
            in = (kw_slice){scratch->base, (int32_t)kw_wr_len(scratch)};
        } else {
            in = (kw_slice){b->rec.base, (int32_t)kw_wr_len(&b->rec)};
        }
        if (!b->z.a)
            kw_wr_init_dyn(&b->z, a, INT32_MAX);
        b->z.p = b->z.base;
        b->z.err = KW_ERR_OK;
        kw_err e =
            kw_compress_ctx(zctx, b->codec, level < 0 ? KW_CODEC_LEVEL_DEFAULT : level, in, &b->z);
        if (e)
            return e;
    }
    b->sealed = true;
    return KW_ERR_OK;
}

static void
put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

void
kwi_batch_write(const kwi_pbatch *b, kw_wr *w)
{
    size_t start = kw_wr_len(w);
    if (!kw_wr_reserve(w, KW_BATCH_HEADER_SIZE))
        return;
    if (b->sealed && b->codec != KW_CODEC_NONE)
        kw_wr_raw(w, b->z.base, kw_wr_len(&b->z));
    else
        write_area(b, w);
    if (kw_wr_finish(w))
        return;
    size_t total = kw_wr_len(w) - start;
    uint8_t *h = w->base + start;
    int16_t attrs = (int16_t)(b->sealed ? b->codec : KW_CODEC_NONE);
    put_be(h, 0, 8); /* base offset: the broker assigns it */
    put_be(h + 8, total - KW_BATCH_LOG_OVERHEAD, 4);
    put_be(h + 12, (uint32_t)-1, 4); /* partition leader epoch */
    h[16] = 2;                       /* magic */
    put_be(h + 21, (uint16_t)attrs, 2);
    put_be(h + 23, (uint32_t)(b->n - 1), 4); /* last offset delta */
    put_be(h + 27, (uint64_t)b->base_ts, 8);
    put_be(h + 35, (uint64_t)b->max_ts, 8);
    put_be(h + 43, (uint64_t)b->pid, 8);
    put_be(h + 51, (uint16_t)b->epoch, 2);
    put_be(h + 53, (uint32_t)b->base_seq, 4);
    put_be(h + 57, (uint32_t)b->n, 4);
    put_be(h + 17, kwi_crc32c(0, h + 21, total - 21), 4);
}

kw_err
kwi_batch_produce_encode(kw_wr *w, int16_t ver, const kwi_preq *q)
{
    bool flex = ver >= 9;
    kw_wr_set_flex(w, flex);
    kw_wr_str(w, q->txn_id);
    kw_wr_i16(w, q->acks);
    kw_wr_i32(w, q->timeout_ms);
    int32_t n_topics = 0;
    for (int32_t i = 0; i < q->n; i++)
        n_topics += i == 0 || q->b[i]->tp->t != q->b[i - 1]->tp->t;
    kw_wr_array_len(w, n_topics);
    for (int32_t i = 0; i < q->n;) {
        const kwi_ptopic *t = q->b[i]->tp->t;
        int32_t j = i;
        while (j < q->n && q->b[j]->tp->t == t)
            j++;
        if (ver <= 12)
            kw_wr_str(w, (kw_slice){(const uint8_t *)t->name, (int32_t)t->len});
        else
            kw_wr_uuid(w, &t->id);
        kw_wr_array_len(w, j - i);
        for (; i < j; i++) {
            const kwi_pbatch *b = q->b[i];
            size_t len = KW_BATCH_HEADER_SIZE + kwi_batch_area_size(b);
            if (len > INT32_MAX - 1)
                return kw_wr_fail(w, KW_ERR_TOO_LARGE);
            kw_wr_i32(w, b->tp->id);
            if (flex)
                kw_wr_uvarint(w, (uint32_t)len + 1u);
            else
                kw_wr_i32(w, (int32_t)len);
            kwi_batch_write(b, w);
            if (flex)
                kw_wr_uvarint(w, 0); /* no tagged fields */
        }
        if (flex)
            kw_wr_uvarint(w, 0);
    }
    if (flex)
        kw_wr_uvarint(w, 0);
    return kw_wr_finish(w);
}
