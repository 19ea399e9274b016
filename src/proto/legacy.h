/* Internal: the legacy (magic 0/1) half of the record iterators, split from records.c. */
#ifndef KWI_PROTO_LEGACY_H
#define KWI_PROTO_LEGACY_H

#include "kwire/records.h"

/* Legacy messages are at least crc + magic + attributes + key length + value length. */
#define KWI_LEGACY_MIN_V0 14
#define KWI_LEGACY_MIN_V1 22

/* Decode and CRC-check the legacy entry p[0..n): offset, size, message. n = 12 + size and
 * size >= KWI_LEGACY_MIN_V0 are checked by the caller. */
kw_err kwi_legacy_decode(const uint8_t *p, size_t n, kw_batch *out);
/* The magic 0/1 halves of kw_record_iter_init and kw_record_iter_next (it->b is set). */
kw_err kwi_legacy_iter_init(kw_record_iter *it, kw_wr *scratch, size_t max_out);
bool kwi_legacy_iter_next(kw_record_iter *it, kw_record *out);
/* Rewind `scratch` and decompress `in` into it; on success it->rd reads the result. */
kw_err kwi_records_inflate(kw_record_iter *it, int codec, unsigned flags, kw_slice in,
                           kw_wr *scratch, size_t max_out);
/* kw_rd_init that accepts a null pointer (as an empty range). */
void kwi_rd_over(kw_rd *r, const uint8_t *p, size_t n);
/* Sets the iterator's sticky error; returns false so a next() can end with it. */
bool kwi_records_fail(kw_record_iter *it, kw_err e);

#endif
