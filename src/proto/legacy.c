/* Legacy message sets, magic 0 and 1 (README §5, "Legacy message sets").
 *
 * Entry: offset int64, size int32, then the message: crc uint32, magic int8, attributes int8,
 * timestamp int64 (magic 1 only), key and value as int32-length bytes (-1 null). The CRC is
 * CRC-32 (IEEE) over magic through the end of the message.
 *
 * A compressed entry is a wrapper whose value is a compressed message set of uncompressed inner
 * messages. Following Java's AbstractLegacyRecordBatch: in magic 1 the inner offsets are
 * relative (absolute = wrapper offset - last inner offset + inner offset; a wrapper offset of 0,
 * written by some librdkafka versions, means the inner offsets are used as they are); in magic
 * 0 they are absolute. An inner magic-1 message of a wrapper with LogAppendTime takes the
 * wrapper's timestamp. A wrapper needs a non-null value and at least one inner message, may not
 * use zstd (which came with magic 2), and its inner messages may not be compressed. Inner
 * messages are CRC-checked like outer ones. The inner set is decompressed whole and walked once
 * up front to find the last inner offset, so iteration itself cannot meet a framing error. */
#include <string.h>

#include "legacy.h"
#include "util/crc32c.h"

#define LEGACY_CRC_FROM 16 /* offset + size + crc: the CRC covers what follows */

kw_err
kwi_legacy_decode(const uint8_t *p, size_t n, kw_batch *out)
{
    kw_rd r;
    kw_rd_init(&r, p, n);
    out->base_offset = kw_rd_i64(&r);
    out->batch_length = kw_rd_i32(&r);
    out->crc = kw_rd_u32(&r);
    out->magic = kw_rd_i8(&r);
    int8_t attr = kw_rd_i8(&r);
    int64_t ts = out->magic == 1 ? kw_rd_i64(&r) : -1;
    if (r.err || out->magic < 0 || out->magic > 1 ||
        (out->magic == 1 && out->batch_length < KWI_LEGACY_MIN_V1))
        return KW_ERR_MALFORMED;
    if (kwi_crc32(0, p + LEGACY_CRC_FROM, n - LEGACY_CRC_FROM) != out->crc)
        return KW_ERR_CRC;
    const uint8_t *body = r.p;
    (void)kw_rd_bytes(&r); /* key */
    (void)kw_rd_bytes(&r); /* value */
    if (!r.err && kw_rd_remain(&r) != 0)
        kw_rd_fail(&r, KW_ERR_MALFORMED); /* bytes after the value */
    if (r.err)
        return r.err;
    /* Only the codec bits, and in magic 1 the timestamp-type bit, exist in legacy attributes;
     * masking keeps the v2 transactional/control bits of kw_batch false. */
    out->attributes = (int16_t)((uint8_t)attr & (out->magic == 1 ? 0x0f : 0x07));
    out->partition_leader_epoch = -1;
    out->last_offset_delta = 0;
    out->base_timestamp = out->max_timestamp = ts;
    out->producer_id = -1;
    out->producer_epoch = -1;
    out->base_sequence = -1;
    out->record_count = kw_batch_codec(out) == KW_CODEC_NONE ? 1 : -1;
    out->raw = (kw_slice){p, (int32_t)n};
    out->records = (kw_slice){body, (int32_t)(r.end - body)};
    return KW_ERR_OK;
}

/* One inner entry's framing: offset and a size that fits the rest of the inner set. */
static kw_err
inner_frame(kw_rd *r, int64_t *offset, size_t *n)
{
    const uint8_t *start = r->p;
    *offset = kw_rd_i64(r);
    int32_t size = kw_rd_i32(r);
    if (r->err)
        return KW_ERR_MALFORMED; /* a partial entry inside decompressed data */
    if (size < KWI_LEGACY_MIN_V0 || kw_rd_remain(r) < (size_t)size)
        return KW_ERR_MALFORMED;
    *n = KW_BATCH_LOG_OVERHEAD + (size_t)size;
    r->p = start;
    return KW_ERR_OK;
}

/* Walks the inner set once: every entry is framed correctly, there is at least one, and
 * *last is the offset of the last. */
static kw_err
inner_scan(kw_rd r, int64_t *last)
{
    size_t count = 0;
    while (kw_rd_remain(&r) > 0) {
        size_t n;
        kw_err e = inner_frame(&r, last, &n);
        if (e)
            return e;
        (void)kw_rd_raw(&r, n);
        count++;
    }
    return count ? KW_ERR_OK : KW_ERR_MALFORMED;
}

kw_err
kwi_legacy_iter_init(kw_record_iter *it, kw_wr *scratch, size_t max_out)
{
    const kw_batch *b = &it->b;
    int codec = kw_batch_codec(b);
    kwi_rd_over(&it->rd, b->records.ptr, b->records.len > 0 ? (size_t)b->records.len : 0);
    if (codec == KW_CODEC_NONE) {
        it->single = true;
        return KW_ERR_OK;
    }
    if (codec == KW_CODEC_ZSTD)
        return KW_ERR_MALFORMED;
    (void)kw_rd_bytes(&it->rd); /* the wrapper's key, unused */
    kw_slice value = kw_rd_bytes(&it->rd);
    if (value.len < 0)
        return KW_ERR_MALFORMED;
    /* Kafka 0.8-0.9 wrote a wrong LZ4 header checksum in magic 0; Java skips it there. */
    unsigned flags = b->magic == 0 ? KW_DECOMPRESS_LZ4_LEGACY_HC : 0;
    kw_err e = kwi_records_inflate(it, codec, flags, value, scratch, max_out);
    if (e)
        return e;
    int64_t last = 0;
    if ((e = inner_scan(it->rd, &last)))
        return e;
    it->deep = true;
    if (b->magic == 1 && b->base_offset != 0) {
        if (b->base_offset < last)
            return KW_ERR_MALFORMED;
        it->rel_base = b->base_offset - last;
    }
    return KW_ERR_OK;
}

static void
fill_plain(const kw_batch *m, kw_record *out)
{
    kw_rd r;
    kwi_rd_over(&r, m->records.ptr, (size_t)m->records.len);
    out->offset = m->base_offset;
    out->timestamp = m->max_timestamp;
    out->attributes = (int8_t)m->attributes;
    out->key = kw_rd_bytes(&r);
    out->value = kw_rd_bytes(&r);
    out->n_headers = 0;
    out->headers = (kw_slice){NULL, 0};
}

static bool
deep_next(kw_record_iter *it, kw_record *out)
{
    if (kw_rd_remain(&it->rd) == 0)
        return false;
    int64_t off;
    size_t n;
    kw_batch m;
    memset(&m, 0, sizeof(m));
    kw_err e = inner_frame(&it->rd, &off, &n);
    if (!e)
        e = kwi_legacy_decode(kw_rd_raw(&it->rd, n), n, &m);
    if (!e && kw_batch_codec(&m) != KW_CODEC_NONE)
        e = KW_ERR_MALFORMED;
    if (e)
        return kwi_records_fail(it, e);
    fill_plain(&m, out);
    const kw_batch *w = &it->b;
    if (w->magic == 1)
        out->offset = (int64_t)((uint64_t)it->rel_base + (uint64_t)m.base_offset);
    if (m.magic == 1 && w->magic == 1 && kw_batch_log_append_time(w))
        out->timestamp = w->max_timestamp;
    return true;
}

bool
kwi_legacy_iter_next(kw_record_iter *it, kw_record *out)
{
    if (it->deep)
        return deep_next(it, out);
    if (!it->single)
        return false;
    it->single = false;
    fill_plain(&it->b, out);
    return true;
}
