/* Internal: base64 with the standard alphabet and '=' padding (RFC 4648 section 4), as SCRAM
 * uses it for salts, proofs and signatures. Internal to kwire.
 *
 * Decoding is strict, because its input comes off the wire: the length must be a multiple of
 * four, only the 64 alphabet characters may appear before the padding, padding is zero, one or
 * two '=' at the very end, and the unused low bits of the last character must be zero (RFC 4648
 * section 3.5), so every byte string has exactly one accepted encoding. No whitespace, no line
 * breaks, no URL-safe alphabet. Neither direction allocates or writes past the capacity given;
 * neither writes a NUL terminator. */
#ifndef KWI_UTIL_BASE64_H
#define KWI_UTIL_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "kwire/error.h"

/* Characters that encoding n bytes produces (4 * ceil(n / 3)), or 0 when that does not fit in
 * a size_t (n > (SIZE_MAX / 4) * 3 - 2, which no real caller reaches). */
size_t kwi_base64_encoded_len(size_t n);

/* The most bytes that decoding n characters can produce (3 * (n / 4)); the exact count also
 * depends on the padding. */
size_t kwi_base64_decoded_max(size_t n);

/* Encodes in[0..n) into out[0..cap). Returns KW_ERR_OK and sets *out_len, or KW_ERR_NOSPACE
 * when cap < kwi_base64_encoded_len(n) (nothing written) or KW_ERR_TOO_LARGE when that length
 * overflows. */
kw_err kwi_base64_encode(const void *in, size_t n, char *out, size_t cap, size_t *out_len);

/* Decodes in[0..n) into out[0..cap). Returns KW_ERR_OK and sets *out_len; KW_ERR_MALFORMED for
 * a length that is not a multiple of four, a character outside the alphabet, misplaced or
 * excess padding, or non-zero trailing bits; KW_ERR_NOSPACE when the decoded bytes do not fit
 * in cap. On error the contents of out[0..cap) are unspecified (some bytes may have been
 * written) and *out_len is 0. An empty input decodes to zero bytes. */
kw_err kwi_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *out_len);

#endif
