/* Internal: SHA-256 and SHA-512 (FIPS 180-4), HMAC over either (RFC 2104), PBKDF2-HMAC
 * (RFC 8018 section 5.2), a constant-time comparison and a zeroing that the compiler cannot
 * remove. Internal to kwire.
 *
 * These exist so that SCRAM-SHA-256/512 work in a build with no OpenSSL (-Dtls=disabled or
 * -Dauto_features=disabled): the code is plain portable C with no dependency. It is not
 * hardened against cache-timing side channels beyond what SHA-2's design already gives (SHA-2
 * has no secret-indexed tables), which is what SCRAM needs. Speed is a non-goal: SCRAM hashes a
 * few kilobytes per login plus the PBKDF2 iterations.
 *
 * Streaming contexts are value types: _init, any number of _update calls, then _final, which
 * also wipes the context. Nothing here allocates and nothing can fail except PBKDF2 on bad
 * arguments. */
#ifndef KWI_UTIL_SHA2_H
#define KWI_UTIL_SHA2_H

#include <stddef.h>
#include <stdint.h>

#include "kwire/error.h"

#define KWI_SHA256_LEN   32
#define KWI_SHA512_LEN   64
#define KWI_SHA256_BLOCK 64
#define KWI_SHA512_BLOCK 128
/* The largest digest of any kwi_hash_alg, for stack buffers. */
#define KWI_HASH_MAX_LEN KWI_SHA512_LEN

typedef struct kwi_sha256_ctx {
    uint32_t h[8];
    uint64_t nbytes; /* total message length so far */
    uint8_t buf[KWI_SHA256_BLOCK];
    size_t nbuf;
} kwi_sha256_ctx;

typedef struct kwi_sha512_ctx {
    uint64_t h[8];
    uint64_t nbytes; /* 2^64 bytes is far beyond any input kwire hashes; the 128-bit length
                      * field's high half is therefore nbytes >> 61 */
    uint8_t buf[KWI_SHA512_BLOCK];
    size_t nbuf;
} kwi_sha512_ctx;

void kwi_sha256_init(kwi_sha256_ctx *c);
void kwi_sha256_update(kwi_sha256_ctx *c, const void *p, size_t n);
/* Writes KWI_SHA256_LEN bytes and wipes the context. */
void kwi_sha256_final(kwi_sha256_ctx *c, uint8_t out[KWI_SHA256_LEN]);
/* One-shot SHA-256 of p[0..n). */
void kwi_sha256_once(const void *p, size_t n, uint8_t out[KWI_SHA256_LEN]);

void kwi_sha512_init(kwi_sha512_ctx *c);
void kwi_sha512_update(kwi_sha512_ctx *c, const void *p, size_t n);
/* Writes KWI_SHA512_LEN bytes and wipes the context. */
void kwi_sha512_final(kwi_sha512_ctx *c, uint8_t out[KWI_SHA512_LEN]);
void kwi_sha512_once(const void *p, size_t n, uint8_t out[KWI_SHA512_LEN]);

/* A hash chosen at run time, so HMAC, PBKDF2 and SCRAM are written once for both. */
typedef enum kwi_hash_alg { KWI_HASH_SHA256 = 1, KWI_HASH_SHA512 = 2 } kwi_hash_alg;

typedef struct kwi_hash_ctx {
    kwi_hash_alg alg;
    union {
        kwi_sha256_ctx s256;
        kwi_sha512_ctx s512;
    } u;
} kwi_hash_ctx;

/* Digest length in bytes (32 or 64); 0 for a value that is not a kwi_hash_alg. */
size_t kwi_hash_len(kwi_hash_alg alg);
/* Block length in bytes (64 or 128); 0 for a value that is not a kwi_hash_alg. */
size_t kwi_hash_block_len(kwi_hash_alg alg);
/* `alg` must be valid (kwi_hash_len(alg) != 0); callers check once when they choose it. */
void kwi_hash_init(kwi_hash_ctx *c, kwi_hash_alg alg);
void kwi_hash_update(kwi_hash_ctx *c, const void *p, size_t n);
/* Writes kwi_hash_len(alg) bytes and wipes the context. */
void kwi_hash_final(kwi_hash_ctx *c, uint8_t *out);
void kwi_hash_once(kwi_hash_alg alg, const void *p, size_t n, uint8_t *out);

/* HMAC (RFC 2104): the inner and outer hash states after absorbing the padded key. A keyed
 * context can be copied by value and reused for many messages (PBKDF2 does that), so the key
 * is hashed once. Keys longer than a block are hashed first, as RFC 2104 says. */
typedef struct kwi_hmac_ctx {
    kwi_hash_ctx inner, outer;
} kwi_hmac_ctx;

void kwi_hmac_init(kwi_hmac_ctx *c, kwi_hash_alg alg, const void *key, size_t klen);
void kwi_hmac_update(kwi_hmac_ctx *c, const void *p, size_t n);
/* Writes kwi_hash_len(alg) bytes and wipes the context. */
void kwi_hmac_final(kwi_hmac_ctx *c, uint8_t *out);
void kwi_hmac_once(kwi_hash_alg alg, const void *key, size_t klen, const void *msg, size_t n,
                   uint8_t *out);

/* PBKDF2 with HMAC-<alg> as the PRF (RFC 8018 section 5.2): derives out[0..dklen) from the
 * password, salt and iteration count. This is SCRAM's Hi() when dklen == kwi_hash_len(alg).
 * Returns KW_ERR_INVALID_ARG for an unknown alg, iterations == 0 or dklen == 0 (out
 * untouched), else KW_ERR_OK. The cost is 2 * iterations * ceil(dklen / hlen) compressions:
 * callers that take the count from the network must bound it first. */
kw_err kwi_pbkdf2_hmac(kwi_hash_alg alg, const void *pass, size_t plen, const void *salt,
                       size_t slen, uint32_t iterations, uint8_t *out, size_t dklen);

/* 1 when a[0..n) == b[0..n), else 0, in time that depends only on n (no early exit). For
 * comparing MACs and signatures; the length itself is not secret. */
int kwi_ct_equal(const void *a, const void *b, size_t n);

/* Sets p[0..n) to zero in a way the optimiser may not drop as a dead store: for passwords and
 * keys about to be freed or going out of scope. NULL or n == 0 does nothing. */
void kwi_secure_zero(void *p, size_t n);

#endif
