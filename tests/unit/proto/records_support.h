/* Shared helpers of the record-batch tests (test_records.c, test_records_legacy.c): golden
 * bytes, a bitwise CRC reference, hand builders for v2 batches, legacy messages and stored gzip
 * members, and a walk over everything a payload holds. */
#ifndef KWT_RECORDS_SUPPORT_H
#define KWT_RECORDS_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwire/records.h"

#define KWT_T0 INT64_C(1700000000000)

extern const char kwt_golden_hex[];
extern const char kwt_legacy_v0_hex[];
extern const char kwt_legacy_v1_hex[];

typedef struct kwt_walk {
    int batches, records;
    kw_err batch_err, rec_err;
    bool partial;
    kw_record rec[64];
    kw_batch last;
} kwt_walk;

size_t kwt_rec_unhex(const char *h, uint8_t *out);
kw_slice kwt_sl(const void *p, size_t n);
/* CRC bit by bit: poly 0x82F63B78 (CRC-32C) or 0xEDB88320 (CRC-32). */
uint32_t kwt_crc_bits(const uint8_t *p, size_t n, uint32_t poly);
void kwt_put32(uint8_t *p, uint32_t v);
/* Recompute a v2 batch's CRC-32C after the test edited it. */
void kwt_refresh_crc(uint8_t *b, size_t n);
/* A v2 batch (the golden header, adjusted) around a records area given as bytes. */
size_t kwt_raw_batch(uint8_t *out, const uint8_t *recs, size_t n, int32_t count, int16_t attrs);
/* A legacy entry with its CRC-32 from the bitwise reference. */
void kwt_legacy_msg(kw_wr *w, int64_t offset, int magic, int attr, int64_t ts, kw_slice key,
                    kw_slice value);
/* A gzip member made by hand from one deflate "stored" block (n <= 65535). */
void kwt_gzip_stored(kw_wr *w, const uint8_t *p, size_t n);
/* Iterates everything in `data`, keeping the first 64 records. */
void kwt_walk_all(kw_slice data, kw_wr *scratch, size_t max_out, kwt_walk *wk);
bool kwt_slice_is(kw_slice s, const char *str);

#endif
