/* Shared helpers of the record-batch tests; see records_support.h. The golden bytes were
 * computed by hand from the README layout, their CRCs with a bitwise reference. */
#include <check.h>
#include <string.h>

#include "records_support.h"
#include "../../support/hex.h"

/* The golden v2 batch, field by field as in README §5 (byte offsets on the left). The CRC-32C
 * was computed over bytes 21..87 with a bitwise reference; T0 = 1700000000000. */
const char kwt_golden_hex[] = "0000000000000000" /*  0 baseOffset 0 */
                              "0000004c"         /*  8 batchLength 76 (88 - 12) */
                              "ffffffff"         /* 12 partitionLeaderEpoch -1 */
                              "02"               /* 16 magic 2 */
                              "30bdd1df"         /* 17 crc */
                              "0000"             /* 21 attributes: none, CreateTime */
                              "00000001"         /* 23 lastOffsetDelta 1 */
                              "0000018bcfe56800" /* 27 baseTimestamp T0 */
                              "0000018bcfe56805" /* 35 maxTimestamp T0 + 5 */
                              "ffffffffffffffff" /* 43 producerId -1 */
                              "ffff"             /* 51 producerEpoch -1 */
                              "ffffffff"         /* 53 baseSequence -1 */
                              "00000002"         /* 57 recordsCount 2 */
                              "14"               /* 61 record 0: length 10 (zigzag) */
                              "00"               /*    attributes */
                              "00"               /*    timestampDelta 0 */
                              "00"               /*    offsetDelta 0 */
                              "04"               /*    keyLength 2 */
                              "6b30"             /*    key "k0" */
                              "04"               /*    valueLength 2 */
                              "7630"             /*    value "v0" */
                              "00"               /*    headerCount 0 */
                              "1e"               /* 72 record 1: length 15 */
                              "00"               /*    attributes */
                              "0a"               /*    timestampDelta 5 */
                              "02"               /*    offsetDelta 1 */
                              "01"               /*    keyLength -1: null */
                              "0a"               /*    valueLength 5 */
                              "68656c6c6f"       /*    value "hello" */
                              "02"               /*    headerCount 1 */
                              "02"               /*    header keyLength 1 */
                              "68"               /*    "h" */
                              "02"               /*    header valueLength 1 */
                              "78";              /*    "x" */

/* Legacy v0 (CRC-32 over bytes 16..28, bitwise reference). */
const char kwt_legacy_v0_hex[] = "0000000000000007" /*  0 offset 7 */
                                 "00000011"         /*  8 messageSize 17 */
                                 "165764b1"         /* 12 crc */
                                 "00"               /* 16 magic 0 */
                                 "00"               /* 17 attributes */
                                 "00000001"         /* 18 key length 1 */
                                 "6b"               /*    "k" */
                                 "00000002"         /*    value length 2 */
                                 "7630";            /*    "v0" */

/* Legacy v1 (CRC-32 over bytes 16..35). */
const char kwt_legacy_v1_hex[] = "0000000000000008" /*  0 offset 8 */
                                 "00000018"         /*  8 messageSize 24 */
                                 "6a5500fb"         /* 12 crc */
                                 "01"               /* 16 magic 1 */
                                 "00"               /* 17 attributes: CreateTime */
                                 "0000018bcfe56800" /* 18 timestamp T0 */
                                 "ffffffff"         /* 26 key length -1: null */
                                 "00000002"         /* 30 value length 2 */
                                 "7631";            /*    "v1" */

size_t
kwt_rec_unhex(const char *h, uint8_t *out)
{
    long n = kwt_unhex(h, strlen(h), out);
    ck_assert(n >= 0);
    return (size_t)n;
}

kw_slice
kwt_sl(const void *p, size_t n)
{
    return (kw_slice){p, (int32_t)n};
}

uint32_t
kwt_crc_bits(const uint8_t *p, size_t n, uint32_t poly)
{
    uint32_t c = 0xffffffffu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (poly & (0u - (c & 1)));
    }
    return ~c;
}

void
kwt_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* Recompute a v2 batch's CRC-32C after the test edited it. */
void
kwt_refresh_crc(uint8_t *b, size_t n)
{
    kwt_put32(b + 17, kwt_crc_bits(b + 21, n - 21, 0x82F63B78u));
}

/* A v2 batch around a records area given as bytes. */
size_t
kwt_raw_batch(uint8_t *out, const uint8_t *recs, size_t n, int32_t count, int16_t attrs)
{
    uint8_t hdr[128];
    kwt_rec_unhex(kwt_golden_hex, hdr); /* borrow the golden header, then adjust */
    memcpy(out, hdr, 61);
    kwt_put32(out + 8, (uint32_t)(49 + n));
    out[21] = (uint8_t)(attrs >> 8), out[22] = (uint8_t)attrs;
    kwt_put32(out + 57, (uint32_t)count);
    if (n)
        memcpy(out + 61, recs, n);
    kwt_refresh_crc(out, 61 + n);
    return 61 + n;
}

/* A legacy entry with its CRC-32 from the bitwise reference. */
void
kwt_legacy_msg(kw_wr *w, int64_t offset, int magic, int attr, int64_t ts, kw_slice key,
               kw_slice value)
{
    size_t start = kw_wr_len(w);
    kw_wr_i64(w, offset);
    kw_wr_i32(w, 0);
    kw_wr_u32(w, 0);
    kw_wr_i8(w, (int8_t)magic);
    kw_wr_i8(w, (int8_t)attr);
    if (magic == 1)
        kw_wr_i64(w, ts);
    kw_wr_bytes(w, key);
    kw_wr_bytes(w, value);
    ck_assert_int_eq(kw_wr_finish(w), 0);
    size_t n = kw_wr_len(w) - start;
    kwt_put32(w->base + start + 8, (uint32_t)(n - 12));
    kwt_put32(w->base + start + 12, kwt_crc_bits(w->base + start + 16, n - 16, 0xEDB88320u));
}

/* A gzip member made by hand: one deflate "stored" block, so no compressor is involved. */
void
kwt_gzip_stored(kw_wr *w, const uint8_t *p, size_t n)
{
    static const uint8_t hdr[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    ck_assert_uint_le(n, 65535);
    kw_wr_raw(w, hdr, 10);
    uint8_t blk[5] = {1, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)~n, (uint8_t)(~n >> 8)};
    kw_wr_raw(w, blk, 5);
    kw_wr_raw(w, p, n);
    uint32_t c = kwt_crc_bits(p, n, 0xEDB88320u);
    uint8_t tr[8] = {(uint8_t)c,
                     (uint8_t)(c >> 8),
                     (uint8_t)(c >> 16),
                     (uint8_t)(c >> 24),
                     (uint8_t)n,
                     (uint8_t)(n >> 8),
                     0,
                     0};
    kw_wr_raw(w, tr, 8);
}

/* Iterates everything in `data`, keeping the first 64 records. */
void
kwt_walk_all(kw_slice data, kw_wr *scratch, size_t max_out, kwt_walk *wk)
{
    memset(wk, 0, sizeof(*wk));
    kw_batch_iter bi;
    kw_batch b;
    kw_batch_iter_init(&bi, data);
    while (kw_batch_iter_next(&bi, &b)) {
        wk->batches++;
        wk->last = b;
        kw_record_iter ri;
        kw_record r;
        kw_record_iter_init(&ri, &b, scratch, max_out);
        while (kw_record_iter_next(&ri, &r))
            if (wk->records < 64)
                wk->rec[wk->records++] = r;
        if (!wk->rec_err)
            wk->rec_err = kw_record_iter_err(&ri);
    }
    wk->batch_err = kw_batch_iter_err(&bi);
    wk->partial = bi.partial;
}

bool
kwt_slice_is(kw_slice s, const char *str)
{
    return kw_slice_eq(s, str);
}
