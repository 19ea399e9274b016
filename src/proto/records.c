/* Record batches, message format v2 (README §5): the batch iterator (which also hands legacy
 * entries to legacy.c), the record and header iterators, control records and the batch builder.
 *
 * Every length here comes off the wire: the batch iterator checks a batch's stated length
 * against the bytes that remain before looking inside it, each batch is read through a cursor
 * that ends where the batch ends, each record through a child cursor that ends where the record
 * ends, and a record count is compared with the bytes that could hold it. Nothing is allocated
 * from a wire count; the only memory used is the caller's scratch writer for decompression. */
#include <string.h>

#include "kwire/records.h"
#include "legacy.h"
#include "util/crc32c.h"

#define V2_MAGIC      2
#define CRC_POS       17 /* the crc field; it covers attributes (byte 21) to the end */
#define ATTR_POS      21
#define MIN_RECORD    7  /* length, attributes, ts delta, offset delta, key, value, headers */
#define MIN_HEADER    2  /* key length, value length */
#define HDR_MAGIC_END 17 /* bytes needed to see the magic byte of any format */

/* Two's complement addition without signed overflow: hostile deltas wrap, as in Java. */
static int64_t
add64(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static void
put_be(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
}

/* A cursor over p[0..n). A null p (an empty writer, a null slice) becomes an empty range over
 * a static byte: NULL + 0 is undefined behaviour in C, and UBSan reports it. */
void
kwi_rd_over(kw_rd *r, const uint8_t *p, size_t n)
{
    static const uint8_t none[1];
    kw_rd_init(r, p ? p : none, p ? n : 0);
}

/* ---------------------------------------------------------------- batch iterator */

void
kw_batch_iter_init(kw_batch_iter *it, kw_slice records)
{
    kwi_rd_over(&it->rd, records.ptr, records.len > 0 ? (size_t)records.len : 0);
    it->partial = false;
}

kw_err
kw_batch_iter_err(const kw_batch_iter *it)
{
    return it->rd.err;
}

/* The v2 batch p[0..n), n = 12 + batchLength. */
static kw_err
decode_v2(const uint8_t *p, size_t n, kw_batch *out)
{
    if (n < KW_BATCH_HEADER_SIZE)
        return KW_ERR_MALFORMED;
    kw_rd r;
    kw_rd_init(&r, p, n);
    out->base_offset = kw_rd_i64(&r);
    out->batch_length = kw_rd_i32(&r);
    out->partition_leader_epoch = kw_rd_i32(&r);
    out->magic = kw_rd_i8(&r);
    out->crc = kw_rd_u32(&r);
    out->attributes = kw_rd_i16(&r);
    out->last_offset_delta = kw_rd_i32(&r);
    out->base_timestamp = kw_rd_i64(&r);
    out->max_timestamp = kw_rd_i64(&r);
    out->producer_id = kw_rd_i64(&r);
    out->producer_epoch = kw_rd_i16(&r);
    out->base_sequence = kw_rd_i32(&r);
    out->record_count = kw_rd_i32(&r);
    if (kwi_crc32c(0, p + ATTR_POS, n - ATTR_POS) != out->crc)
        return KW_ERR_CRC;
    if (out->record_count < 0)
        return KW_ERR_MALFORMED;
    out->raw = (kw_slice){p, (int32_t)n};
    out->records = (kw_slice){p + KW_BATCH_HEADER_SIZE, (int32_t)(n - KW_BATCH_HEADER_SIZE)};
    return kw_rd_finish(&r);
}

/* Mirrors Java's ByteBufferLogInputStream: a length below the smallest legacy message is
 * corrupt; a batch that does not fit what remains is the cut-off tail of a fetch. */
bool
kw_batch_iter_next(kw_batch_iter *it, kw_batch *out)
{
    memset(out, 0, sizeof(*out));
    kw_rd *r = &it->rd;
    if (r->err)
        return false;
    size_t remain = (size_t)(r->end - r->p);
    if (remain == 0)
        return false;
    if (remain < KW_BATCH_LOG_OVERHEAD) {
        it->partial = true;
        return false;
    }
    kw_rd peek = *r;
    (void)kw_rd_i64(&peek);
    int32_t len = kw_rd_i32(&peek);
    if (len < KWI_LEGACY_MIN_V0) {
        kw_rd_fail(r, KW_ERR_MALFORMED);
        return false;
    }
    if (remain < HDR_MAGIC_END) {
        it->partial = true;
        return false;
    }
    int8_t magic = (int8_t)r->p[16];
    if (magic < 0 || magic > V2_MAGIC) {
        kw_rd_fail(r, KW_ERR_UNSUPPORTED_VERSION);
        return false;
    }
    if (remain - KW_BATCH_LOG_OVERHEAD < (size_t)len) {
        it->partial = true;
        return false;
    }
    size_t n = KW_BATCH_LOG_OVERHEAD + (size_t)len;
    kw_err e = magic == V2_MAGIC ? decode_v2(r->p, n, out) : kwi_legacy_decode(r->p, n, out);
    if (e) {
        kw_rd_fail(r, e);
        memset(out, 0, sizeof(*out));
        return false;
    }
    (void)kw_rd_raw(r, n);
    return true;
}

/* ---------------------------------------------------------------- record iterator */

bool
kwi_records_fail(kw_record_iter *it, kw_err e)
{
    if (!it->err)
        it->err = e;
    return false;
}

kw_err
kwi_records_inflate(kw_record_iter *it, int codec, unsigned flags, kw_slice in, kw_wr *scratch,
                    size_t max_out)
{
    if (!scratch)
        return KW_ERR_INVALID_ARG;
    scratch->p = scratch->base;
    scratch->err = KW_ERR_OK;
    kw_err e = kw_decompress_ctx(it->zctx, codec, flags, in, scratch, max_out);
    if (e)
        return e;
    kwi_rd_over(&it->rd, scratch->base, kw_wr_len(scratch));
    return KW_ERR_OK;
}

static kw_err
v2_iter_init(kw_record_iter *it, kw_wr *scratch, size_t max_out)
{
    const kw_batch *b = &it->b;
    int codec = kw_batch_codec(b);
    if (b->record_count == 0) {
        /* The log cleaner keeps emptied batches (for producer state) with their original
         * attributes and no records area; like Java, do not try to decompress one. */
        kwi_rd_over(&it->rd, NULL, 0);
        return KW_ERR_OK;
    }
    if (codec == KW_CODEC_NONE) {
        kwi_rd_over(&it->rd, b->records.ptr, b->records.len > 0 ? (size_t)b->records.len : 0);
    } else {
        kw_err e = kwi_records_inflate(it, codec, 0, b->records, scratch, max_out);
        if (e)
            return e;
    }
    it->left = b->record_count;
    if (it->left < 0 || (size_t)it->left > kw_rd_remain(&it->rd) / MIN_RECORD)
        return KW_ERR_MALFORMED;
    return KW_ERR_OK;
}

kw_err
kw_record_iter_init(kw_record_iter *it, const kw_batch *b, kw_wr *scratch, size_t max_out)
{
    return kw_record_iter_init_ctx(it, b, scratch, max_out, NULL);
}

kw_err
kw_record_iter_init_ctx(kw_record_iter *it, const kw_batch *b, kw_wr *scratch, size_t max_out,
                        kw_codec_ctx *zctx)
{
    memset(it, 0, sizeof(*it));
    it->b = *b;
    it->zctx = zctx;
    kw_err e = b->magic == V2_MAGIC ? v2_iter_init(it, scratch, max_out)
                                    : kwi_legacy_iter_init(it, scratch, max_out);
    if (e) {
        kwi_rd_over(&it->rd, NULL, 0);
        it->err = e;
    }
    return e;
}

kw_err
kw_record_iter_err(const kw_record_iter *it)
{
    return it->err;
}

/* Record bytes: zigzag varint length, -1 for null. */
static kw_slice
var_bytes(kw_rd *r)
{
    kw_slice s = KW_SLICE_NULL;
    int32_t n = kw_rd_varint(r);
    if (r->err || n == -1)
        return s;
    if (n < -1) {
        kw_rd_fail(r, KW_ERR_MALFORMED);
        return s;
    }
    const uint8_t *p = kw_rd_raw(r, (size_t)n);
    if (p) {
        s.ptr = p;
        s.len = n;
    }
    return s;
}

/* The headers of a record, checked once so kw_header_iter cannot fail later. */
static void
read_headers(kw_rd *c, kw_record *out)
{
    int32_t nh = kw_rd_varint(c);
    if (!c->err && (nh < 0 || (size_t)nh > kw_rd_remain(c) / MIN_HEADER))
        kw_rd_fail(c, KW_ERR_MALFORMED);
    const uint8_t *start = c->p;
    for (int32_t i = 0; i < nh && !c->err; i++) {
        kw_slice k = var_bytes(c);
        if (!c->err && k.len < 0)
            kw_rd_fail(c, KW_ERR_MALFORMED);
        (void)var_bytes(c);
    }
    if (c->err)
        return;
    out->n_headers = nh;
    out->headers = (kw_slice){start, (int32_t)(c->p - start)};
}

static kw_err
read_record(kw_record_iter *it, kw_record *out)
{
    kw_rd *r = &it->rd;
    int32_t len = kw_rd_varint(r);
    if (!r->err && len < 0)
        kw_rd_fail(r, KW_ERR_MALFORMED);
    kw_rd c = kw_rd_child(r, len > 0 ? (size_t)len : 0);
    if (c.err)
        return c.err;
    out->attributes = kw_rd_i8(&c);
    int64_t ts_delta = kw_rd_varlong(&c);
    int32_t off_delta = kw_rd_varint(&c);
    out->key = var_bytes(&c);
    out->value = var_bytes(&c);
    read_headers(&c, out);
    if (!c.err && kw_rd_remain(&c) != 0)
        kw_rd_fail(&c, KW_ERR_MALFORMED); /* the record is longer than its fields */
    if (c.err)
        return c.err;
    const kw_batch *b = &it->b;
    out->offset = add64(b->base_offset, off_delta);
    out->timestamp =
        kw_batch_log_append_time(b) ? b->max_timestamp : add64(b->base_timestamp, ts_delta);
    return KW_ERR_OK;
}

/* The fast path: the cursor's varint reader takes a call and a bounds check per byte, which is
 * most of the cost of a small record. Here a varint is decoded straight from the bytes, with the
 * same rules (at most 5 or 10 bytes, no overlong form, no bits past the width). It accepts only
 * records that are wholly well formed and otherwise reports nothing: the caller then reads the
 * record again through the cursor, which finds and reports the error, so both paths give the same
 * result for every input. */
static inline __attribute__((always_inline)) bool
fast_uvar(const uint8_t **pp, const uint8_t *end, unsigned max_bytes, unsigned width, uint64_t *out)
{
    const uint8_t *p = *pp;
    if (p != end && *p < 0x80) {
        *out = *p;
        *pp = p + 1;
        return true;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < max_bytes && p != end; i++) {
        uint8_t b = *p++;
        unsigned shift = 7 * i;
        if (i == max_bytes - 1 && (b >> (width - shift)) != 0)
            return false;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && i > 0)
                return false;
            *out = v;
            *pp = p;
            return true;
        }
    }
    return false;
}

static inline __attribute__((always_inline)) bool
fast_var32(const uint8_t **pp, const uint8_t *end, int32_t *out)
{
    uint64_t u;
    if (!fast_uvar(pp, end, 5, 32, &u))
        return false;
    uint32_t x = (uint32_t)u;
    *out = (int32_t)((x >> 1) ^ (~(x & 1) + 1));
    return true;
}

/* Record bytes: a length (-1 null) and that many bytes before `end`. */
static inline __attribute__((always_inline)) bool
fast_bytes(const uint8_t **pp, const uint8_t *end, kw_slice *out)
{
    int32_t n;
    if (!fast_var32(pp, end, &n) || n < -1)
        return false;
    if (n == -1) {
        *out = KW_SLICE_NULL;
        return true;
    }
    if ((size_t)(end - *pp) < (size_t)n)
        return false;
    *out = (kw_slice){*pp, n};
    *pp += n;
    return true;
}

static bool
fast_record(kw_record_iter *it, kw_record *out)
{
    const uint8_t *p = it->rd.p, *end = it->rd.end;
    int32_t len, off_delta, nh;
    uint64_t zts;
    if (it->rd.err || !fast_var32(&p, end, &len) || len < 1 || (size_t)(end - p) < (size_t)len)
        return false;
    const uint8_t *rend = p + len;
    out->attributes = (int8_t)*p++;
    if (!fast_uvar(&p, rend, 10, 64, &zts) || !fast_var32(&p, rend, &off_delta) ||
        !fast_bytes(&p, rend, &out->key) || !fast_bytes(&p, rend, &out->value) ||
        !fast_var32(&p, rend, &nh) || nh < 0 || (size_t)nh > (size_t)(rend - p) / MIN_HEADER)
        return false;
    const uint8_t *hstart = p;
    for (int32_t i = 0; i < nh; i++) {
        kw_slice hk, hv;
        if (!fast_bytes(&p, rend, &hk) || hk.len < 0 || !fast_bytes(&p, rend, &hv))
            return false;
    }
    if (p != rend)
        return false;
    out->n_headers = nh;
    out->headers = (kw_slice){hstart, (int32_t)(p - hstart)};
    int64_t ts_delta = (int64_t)((zts >> 1) ^ (~(zts & 1) + 1));
    const kw_batch *b = &it->b;
    out->offset = add64(b->base_offset, off_delta);
    out->timestamp =
        kw_batch_log_append_time(b) ? b->max_timestamp : add64(b->base_timestamp, ts_delta);
    it->rd.p = rend;
    it->left--;
    return true;
}

bool
kw_record_iter_next(kw_record_iter *it, kw_record *out)
{
    if (it->b.magic == V2_MAGIC && it->left > 0 && !it->err && fast_record(it, out))
        return true;
    memset(out, 0, sizeof(*out));
    if (it->err)
        return false;
    if (it->b.magic != V2_MAGIC)
        return kwi_legacy_iter_next(it, out);
    if (it->left == 0) {
        if (kw_rd_remain(&it->rd) != 0)
            kwi_records_fail(it, KW_ERR_MALFORMED); /* bytes after the last record */
        return false;
    }
    kw_err e = read_record(it, out);
    if (e) {
        memset(out, 0, sizeof(*out));
        return kwi_records_fail(it, e);
    }
    it->left--;
    return true;
}

void
kw_header_iter_init(kw_header_iter *it, const kw_record *rec)
{
    kwi_rd_over(&it->rd, rec->headers.ptr, rec->headers.len > 0 ? (size_t)rec->headers.len : 0);
    it->left = rec->n_headers;
}

bool
kw_header_iter_next(kw_header_iter *it, kw_header *out)
{
    if (it->left <= 0 || it->rd.err)
        return false;
    out->key = var_bytes(&it->rd);
    out->value = var_bytes(&it->rd);
    it->left--;
    return !it->rd.err;
}

/* ---------------------------------------------------------------- control records */

kw_err
kw_control_decode(const kw_record *rec, kw_control *out)
{
    out->key_version = out->type = -1;
    out->value_version = -1;
    out->coordinator_epoch = -1;
    if (rec->key.len < 4)
        return KW_ERR_MALFORMED;
    kw_rd r;
    kw_rd_init(&r, rec->key.ptr, (size_t)rec->key.len);
    out->key_version = kw_rd_i16(&r);
    out->type = kw_rd_i16(&r);
    if (out->key_version < 0)
        return KW_ERR_MALFORMED;
    if (out->type != KW_CONTROL_ABORT && out->type != KW_CONTROL_COMMIT)
        return KW_ERR_OK;
    if (rec->value.len < 6)
        return KW_ERR_MALFORMED;
    kw_rd_init(&r, rec->value.ptr, (size_t)rec->value.len);
    out->value_version = kw_rd_i16(&r);
    out->coordinator_epoch = kw_rd_i32(&r);
    return out->value_version < 0 ? KW_ERR_MALFORMED : KW_ERR_OK;
}

/* ---------------------------------------------------------------- batch builder */

void
kw_batch_opts_init(kw_batch_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->partition_leader_epoch = -1;
    o->producer_id = -1;
    o->producer_epoch = -1;
    o->base_sequence = -1;
    o->level = KW_CODEC_LEVEL_DEFAULT;
    o->log_append_time = -1;
}

kw_err
kw_batch_builder_init(kw_batch_builder *b, kw_wr *w, const kw_batch_opts *o)
{
    memset(b, 0, sizeof(*b));
    b->w = w;
    b->o = *o;
    b->start = kw_wr_len(w);
    b->base_ts = b->max_ts = -1;
    if (!kw_codec_available(o->attributes & KW_BATCH_ATTR_CODEC_MASK))
        return b->err = KW_ERR_UNSUPPORTED_CODEC;
    uint8_t *p = kw_wr_reserve(w, KW_BATCH_HEADER_SIZE);
    if (p)
        memset(p, 0, KW_BATCH_HEADER_SIZE);
    return b->err = kw_wr_finish(w);
}

size_t
kw_batch_builder_size(const kw_batch_builder *b)
{
    size_t len = kw_wr_len(b->w);
    return len > b->start ? len - b->start : 0;
}

static size_t
uvarlong_size(uint64_t u)
{
    size_t n = 1;
    while (u >= 0x80) {
        u >>= 7;
        n++;
    }
    return n;
}

static size_t
zz32_size(int32_t v)
{
    return kw_uvarint_size(((uint32_t)v << 1) ^ (uint32_t)(v >> 31));
}

static size_t
zz64_size(int64_t v)
{
    return uvarlong_size(((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static size_t
vbytes_size(kw_slice s)
{
    return s.len < 0 ? 1 : zz32_size(s.len) + (size_t)s.len;
}

static bool
bad_slice(kw_slice s)
{
    return s.len < -1 || (s.len > 0 && !s.ptr);
}

/* Size of a record after its length prefix: 0 for invalid arguments, SIZE_MAX past
 * INT32_MAX. */
static size_t
record_body_size(int64_t ts_delta, int32_t off_delta, kw_slice key, kw_slice value,
                 const kw_header *h, int32_t nh)
{
    if (bad_slice(key) || bad_slice(value) || nh < 0 || (nh > 0 && !h))
        return 0;
    size_t n = 1 + zz64_size(ts_delta) + zz32_size(off_delta) + vbytes_size(key) +
               vbytes_size(value) + zz32_size(nh);
    for (int32_t i = 0; i < nh && n <= INT32_MAX; i++) {
        if (h[i].key.len < 0 || bad_slice(h[i].key) || bad_slice(h[i].value))
            return 0;
        n += vbytes_size(h[i].key) + vbytes_size(h[i].value);
    }
    return n <= INT32_MAX ? n : SIZE_MAX;
}

size_t
kw_record_size(int64_t timestamp_delta, int32_t offset_delta, kw_slice key, kw_slice value,
               const kw_header *headers, int32_t n_headers)
{
    size_t body = record_body_size(timestamp_delta, offset_delta, key, value, headers, n_headers);
    if (body == 0 || body == SIZE_MAX)
        return 0;
    size_t n = zz32_size((int32_t)body) + body;
    return n <= INT32_MAX ? n : 0;
}

static void
wr_vbytes(kw_wr *w, kw_slice s)
{
    kw_wr_varint(w, s.len < 0 ? -1 : s.len);
    if (s.len > 0)
        kw_wr_raw(w, s.ptr, (size_t)s.len);
}

kw_err
kw_batch_builder_add(kw_batch_builder *b, int64_t timestamp, kw_slice key, kw_slice value,
                     const kw_header *headers, int32_t n_headers)
{
    if (b->err)
        return b->err;
    if (b->count == INT32_MAX)
        return b->err = KW_ERR_VALUE_RANGE;
    int64_t base = b->count == 0 ? timestamp : b->base_ts;
    int64_t ts_delta = (int64_t)((uint64_t)timestamp - (uint64_t)base);
    size_t body = record_body_size(ts_delta, b->count, key, value, headers, n_headers);
    if (body == 0 || body == SIZE_MAX)
        return b->err = body ? KW_ERR_VALUE_RANGE : KW_ERR_INVALID_ARG;
    kw_wr *w = b->w;
    kw_wr_varint(w, (int32_t)body);
    kw_wr_i8(w, 0);
    kw_wr_varlong(w, ts_delta);
    kw_wr_varint(w, b->count);
    wr_vbytes(w, key);
    wr_vbytes(w, value);
    kw_wr_varint(w, n_headers);
    for (int32_t i = 0; i < n_headers; i++) {
        wr_vbytes(w, headers[i].key);
        wr_vbytes(w, headers[i].value);
    }
    if ((b->err = kw_wr_finish(w)))
        return b->err;
    if (b->count == 0 || timestamp > b->max_ts)
        b->max_ts = timestamp;
    b->base_ts = base;
    b->count++;
    return KW_ERR_OK;
}

/* Replace the records area (everything after the header) by its compressed form. */
static kw_err
compress_records(kw_batch_builder *b, kw_wr *scratch)
{
    kw_wr *w = b->w;
    size_t from = b->start + KW_BATCH_HEADER_SIZE;
    size_t n = kw_wr_len(w) - from;
    if (n > INT32_MAX)
        return KW_ERR_VALUE_RANGE;
    kw_wr tmp;
    kw_wr *s = scratch;
    if (!s) {
        kw_wr_init_dyn(&tmp, w->a, INT32_MAX);
        s = &tmp;
    }
    s->p = s->base;
    s->err = KW_ERR_OK;
    kw_slice area = {w->base + from, (int32_t)n};
    kw_err e = kw_compress(b->o.attributes & KW_BATCH_ATTR_CODEC_MASK, b->o.level, area, s);
    if (!e) {
        w->p = w->base + from;
        kw_wr_raw(w, s->base, kw_wr_len(s));
        e = kw_wr_finish(w);
    }
    if (!scratch)
        kw_wr_fini(&tmp);
    return e;
}

kw_err
kw_batch_builder_finish(kw_batch_builder *b, kw_wr *scratch)
{
    if (b->err || (b->err = kw_wr_finish(b->w)))
        return b->err;
    const kw_batch_opts *o = &b->o;
    if ((o->attributes & KW_BATCH_ATTR_CODEC_MASK) != KW_CODEC_NONE &&
        (b->err = compress_records(b, scratch)))
        return b->err;
    size_t total = kw_batch_builder_size(b);
    if (total - KW_BATCH_LOG_OVERHEAD > INT32_MAX)
        return b->err = KW_ERR_VALUE_RANGE;
    bool lat = (o->attributes & KW_BATCH_ATTR_LOG_APPEND_TIME) != 0;
    uint8_t *p = b->w->base + b->start;
    put_be(p, (uint64_t)o->base_offset, 8);
    put_be(p + 8, total - KW_BATCH_LOG_OVERHEAD, 4);
    put_be(p + 12, (uint32_t)o->partition_leader_epoch, 4);
    p[16] = V2_MAGIC;
    put_be(p + 21, (uint16_t)o->attributes, 2);
    put_be(p + 23, (uint32_t)(b->count - 1), 4);
    put_be(p + 27, (uint64_t)b->base_ts, 8);
    put_be(p + 35, (uint64_t)(lat ? o->log_append_time : b->max_ts), 8);
    put_be(p + 43, (uint64_t)o->producer_id, 8);
    put_be(p + 51, (uint16_t)o->producer_epoch, 2);
    put_be(p + 53, (uint32_t)o->base_sequence, 4);
    put_be(p + 57, (uint32_t)b->count, 4);
    put_be(p + CRC_POS, kwi_crc32c(0, p + ATTR_POS, total - ATTR_POS), 4);
    return KW_ERR_OK;
}

kw_err
kw_control_batch_encode(kw_wr *w, const kw_batch_opts *o, int64_t timestamp, int16_t type,
                        int32_t coordinator_epoch)
{
    bool marker = type == KW_CONTROL_ABORT || type == KW_CONTROL_COMMIT;
    kw_batch_opts co = *o;
    co.attributes = (int16_t)((o->attributes & ~KW_BATCH_ATTR_CODEC_MASK) | KW_BATCH_ATTR_CONTROL |
                              (marker ? KW_BATCH_ATTR_TRANSACTIONAL : 0));
    uint8_t key[4] = {0, 0, (uint8_t)((uint16_t)type >> 8), (uint8_t)type};
    uint8_t val[6] = {0, 0};
    put_be(val + 2, (uint32_t)coordinator_epoch, 4);
    kw_slice value = marker ? (kw_slice){val, 6} : KW_SLICE_NULL;
    kw_batch_builder b;
    kw_batch_builder_init(&b, w, &co);
    kw_batch_builder_add(&b, timestamp, (kw_slice){key, 4}, value, NULL, 0);
    return kw_batch_builder_finish(&b, NULL);
}
