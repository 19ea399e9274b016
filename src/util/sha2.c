/* SHA-256 and SHA-512 as FIPS 180-4 specifies them, HMAC (RFC 2104) and PBKDF2 (RFC 8018).
 *
 * Words are loaded and stored big-endian one byte at a time, so the code is the same on any
 * byte order and alignment. The round constants are the first 32 (SHA-256) or 64 (SHA-512)
 * bits of the fractional parts of the cube roots of the first 64 (80) primes, and the initial
 * hash values those of the square roots of the first 8 primes (FIPS 180-4 sections 4.2 and
 * 5.3); tests/unit/util/test_sha2.c checks the result against the NIST example vectors. */
#include <assert.h>
#include <string.h>

#include "sha2.h"

/* clang-format off */
static const uint32_t k256[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u,
    0x923f82a4u, 0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u,
    0x72be5d74u, 0x80deb1feu, 0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u,
    0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu, 0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau,
    0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u, 0xc6e00bf3u, 0xd5a79147u,
    0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu, 0x53380d13u,
    0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u,
    0x19a4c116u, 0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au,
    0x5b9cca4fu, 0x682e6ff3u, 0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u,
    0x90befffau, 0xa4506cebu, 0xbef9a3f7u, 0xc67178f2u
};

static const uint32_t h256_init[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u
};

static const uint64_t k512[80] = {
    0x428a2f98d728ae22ull, 0x7137449123ef65cdull, 0xb5c0fbcfec4d3b2full,
    0xe9b5dba58189dbbcull, 0x3956c25bf348b538ull, 0x59f111f1b605d019ull,
    0x923f82a4af194f9bull, 0xab1c5ed5da6d8118ull, 0xd807aa98a3030242ull,
    0x12835b0145706fbeull, 0x243185be4ee4b28cull, 0x550c7dc3d5ffb4e2ull,
    0x72be5d74f27b896full, 0x80deb1fe3b1696b1ull, 0x9bdc06a725c71235ull,
    0xc19bf174cf692694ull, 0xe49b69c19ef14ad2ull, 0xefbe4786384f25e3ull,
    0x0fc19dc68b8cd5b5ull, 0x240ca1cc77ac9c65ull, 0x2de92c6f592b0275ull,
    0x4a7484aa6ea6e483ull, 0x5cb0a9dcbd41fbd4ull, 0x76f988da831153b5ull,
    0x983e5152ee66dfabull, 0xa831c66d2db43210ull, 0xb00327c898fb213full,
    0xbf597fc7beef0ee4ull, 0xc6e00bf33da88fc2ull, 0xd5a79147930aa725ull,
    0x06ca6351e003826full, 0x142929670a0e6e70ull, 0x27b70a8546d22ffcull,
    0x2e1b21385c26c926ull, 0x4d2c6dfc5ac42aedull, 0x53380d139d95b3dfull,
    0x650a73548baf63deull, 0x766a0abb3c77b2a8ull, 0x81c2c92e47edaee6ull,
    0x92722c851482353bull, 0xa2bfe8a14cf10364ull, 0xa81a664bbc423001ull,
    0xc24b8b70d0f89791ull, 0xc76c51a30654be30ull, 0xd192e819d6ef5218ull,
    0xd69906245565a910ull, 0xf40e35855771202aull, 0x106aa07032bbd1b8ull,
    0x19a4c116b8d2d0c8ull, 0x1e376c085141ab53ull, 0x2748774cdf8eeb99ull,
    0x34b0bcb5e19b48a8ull, 0x391c0cb3c5c95a63ull, 0x4ed8aa4ae3418acbull,
    0x5b9cca4f7763e373ull, 0x682e6ff3d6b2b8a3ull, 0x748f82ee5defb2fcull,
    0x78a5636f43172f60ull, 0x84c87814a1f0ab72ull, 0x8cc702081a6439ecull,
    0x90befffa23631e28ull, 0xa4506cebde82bde9ull, 0xbef9a3f7b2c67915ull,
    0xc67178f2e372532bull, 0xca273eceea26619cull, 0xd186b8c721c0c207ull,
    0xeada7dd6cde0eb1eull, 0xf57d4f7fee6ed178ull, 0x06f067aa72176fbaull,
    0x0a637dc5a2c898a6ull, 0x113f9804bef90daeull, 0x1b710b35131c471bull,
    0x28db77f523047d84ull, 0x32caab7b40c72493ull, 0x3c9ebe0a15c9bebcull,
    0x431d67c49c100d4cull, 0x4cc5d4becb3e42b6ull, 0x597f299cfc657e2aull,
    0x5fcb6fab3ad6faecull, 0x6c44198c4a475817ull
};

static const uint64_t h512_init[8] = {
    0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull,
    0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull,
    0x510e527fade682d1ull, 0x9b05688c2b3e6c1full,
    0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull
};
/* clang-format on */

static uint32_t
rotr32(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32u - n));
}

static uint64_t
rotr64(uint64_t x, unsigned n)
{
    return (x >> n) | (x << (64u - n));
}

static uint32_t
load32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t
load64(const uint8_t *p)
{
    return (uint64_t)load32(p) << 32 | load32(p + 4);
}

static void
store32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void
store64(uint8_t *p, uint64_t v)
{
    store32(p, (uint32_t)(v >> 32));
    store32(p + 4, (uint32_t)v);
}

/* ---- SHA-256 (FIPS 180-4 section 6.2) ------------------------------------------------------ */

/* One compression. `w` is the caller's message-schedule scratch, so a caller that compresses
 * many blocks (PBKDF2) wipes the schedule, which is derived from secret data, once at the end
 * rather than after every block. */
static void
sha256_block(uint32_t h[8], const uint8_t *blk, uint32_t w[64])
{
    for (unsigned t = 0; t < 16; t++)
        w[t] = load32(blk + 4 * t);
    for (unsigned t = 16; t < 64; t++) {
        uint32_t s0 = rotr32(w[t - 15], 7) ^ rotr32(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr32(w[t - 2], 17) ^ rotr32(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (unsigned t = 0; t < 64; t++) {
        uint32_t S1 = rotr32(e, 6) ^ rotr32(e, 11) ^ rotr32(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + k256[t] + w[t];
        uint32_t S0 = rotr32(a, 2) ^ rotr32(a, 13) ^ rotr32(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void
kwi_sha256_init(kwi_sha256_ctx *c)
{
    memcpy(c->h, h256_init, sizeof(c->h));
    c->nbytes = 0;
    c->nbuf = 0;
}

void
kwi_sha256_update(kwi_sha256_ctx *c, const void *p, size_t n)
{
    const uint8_t *in = p;
    uint32_t w[64];
    int used = 0;
    c->nbytes += n;
    if (c->nbuf) {
        size_t take = KWI_SHA256_BLOCK - c->nbuf;
        if (take > n)
            take = n;
        memcpy(c->buf + c->nbuf, in, take);
        c->nbuf += take;
        in += take;
        n -= take;
        if (c->nbuf < KWI_SHA256_BLOCK)
            return;
        sha256_block(c->h, c->buf, w);
        c->nbuf = 0;
        used = 1;
    }
    for (; n >= KWI_SHA256_BLOCK; in += KWI_SHA256_BLOCK, n -= KWI_SHA256_BLOCK) {
        sha256_block(c->h, in, w);
        used = 1;
    }
    if (n) {
        memcpy(c->buf, in, n);
        c->nbuf = n;
    }
    if (used)
        kwi_secure_zero(w, sizeof(w));
}

void
kwi_sha256_final(kwi_sha256_ctx *c, uint8_t out[KWI_SHA256_LEN])
{
    uint32_t w[64];
    /* Padding (section 5.1.1): 0x80, zeros up to 56 mod 64, then the bit length. */
    uint64_t bits = c->nbytes << 3;
    c->buf[c->nbuf++] = 0x80;
    if (c->nbuf > KWI_SHA256_BLOCK - 8) {
        memset(c->buf + c->nbuf, 0, KWI_SHA256_BLOCK - c->nbuf);
        sha256_block(c->h, c->buf, w);
        c->nbuf = 0;
    }
    memset(c->buf + c->nbuf, 0, KWI_SHA256_BLOCK - 8 - c->nbuf);
    store64(c->buf + KWI_SHA256_BLOCK - 8, bits);
    sha256_block(c->h, c->buf, w);
    for (unsigned i = 0; i < 8; i++)
        store32(out + 4 * i, c->h[i]);
    kwi_secure_zero(w, sizeof(w));
    kwi_secure_zero(c, sizeof(*c));
}

void
kwi_sha256_once(const void *p, size_t n, uint8_t out[KWI_SHA256_LEN])
{
    kwi_sha256_ctx c;
    kwi_sha256_init(&c);
    kwi_sha256_update(&c, p, n);
    kwi_sha256_final(&c, out);
}

/* ---- SHA-512 (FIPS 180-4 section 6.4) ------------------------------------------------------ */

/* One compression. `w` is the caller's message-schedule scratch, so a caller that compresses
 * many blocks (PBKDF2) wipes the schedule, which is derived from secret data, once at the end
 * rather than after every block. */
static void
sha512_block(uint64_t h[8], const uint8_t *blk, uint64_t w[80])
{
    for (unsigned t = 0; t < 16; t++)
        w[t] = load64(blk + 8 * t);
    for (unsigned t = 16; t < 80; t++) {
        uint64_t s0 = rotr64(w[t - 15], 1) ^ rotr64(w[t - 15], 8) ^ (w[t - 15] >> 7);
        uint64_t s1 = rotr64(w[t - 2], 19) ^ rotr64(w[t - 2], 61) ^ (w[t - 2] >> 6);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint64_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (unsigned t = 0; t < 80; t++) {
        uint64_t S1 = rotr64(e, 14) ^ rotr64(e, 18) ^ rotr64(e, 41);
        uint64_t ch = (e & f) ^ (~e & g);
        uint64_t t1 = hh + S1 + ch + k512[t] + w[t];
        uint64_t S0 = rotr64(a, 28) ^ rotr64(a, 34) ^ rotr64(a, 39);
        uint64_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint64_t t2 = S0 + maj;
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void
kwi_sha512_init(kwi_sha512_ctx *c)
{
    memcpy(c->h, h512_init, sizeof(c->h));
    c->nbytes = 0;
    c->nbuf = 0;
}

void
kwi_sha512_update(kwi_sha512_ctx *c, const void *p, size_t n)
{
    const uint8_t *in = p;
    uint64_t w[80];
    int used = 0;
    c->nbytes += n;
    if (c->nbuf) {
        size_t take = KWI_SHA512_BLOCK - c->nbuf;
        if (take > n)
            take = n;
        memcpy(c->buf + c->nbuf, in, take);
        c->nbuf += take;
        in += take;
        n -= take;
        if (c->nbuf < KWI_SHA512_BLOCK)
            return;
        sha512_block(c->h, c->buf, w);
        c->nbuf = 0;
        used = 1;
    }
    for (; n >= KWI_SHA512_BLOCK; in += KWI_SHA512_BLOCK, n -= KWI_SHA512_BLOCK) {
        sha512_block(c->h, in, w);
        used = 1;
    }
    if (n) {
        memcpy(c->buf, in, n);
        c->nbuf = n;
    }
    if (used)
        kwi_secure_zero(w, sizeof(w));
}

void
kwi_sha512_final(kwi_sha512_ctx *c, uint8_t out[KWI_SHA512_LEN])
{
    uint64_t w[80];
    /* Padding (section 5.1.2): 0x80, zeros up to 112 mod 128, then the 128-bit bit length. */
    uint64_t hi = c->nbytes >> 61, lo = c->nbytes << 3;
    c->buf[c->nbuf++] = 0x80;
    if (c->nbuf > KWI_SHA512_BLOCK - 16) {
        memset(c->buf + c->nbuf, 0, KWI_SHA512_BLOCK - c->nbuf);
        sha512_block(c->h, c->buf, w);
        c->nbuf = 0;
    }
    memset(c->buf + c->nbuf, 0, KWI_SHA512_BLOCK - 16 - c->nbuf);
    store64(c->buf + KWI_SHA512_BLOCK - 16, hi);
    store64(c->buf + KWI_SHA512_BLOCK - 8, lo);
    sha512_block(c->h, c->buf, w);
    for (unsigned i = 0; i < 8; i++)
        store64(out + 8 * i, c->h[i]);
    kwi_secure_zero(w, sizeof(w));
    kwi_secure_zero(c, sizeof(*c));
}

void
kwi_sha512_once(const void *p, size_t n, uint8_t out[KWI_SHA512_LEN])
{
    kwi_sha512_ctx c;
    kwi_sha512_init(&c);
    kwi_sha512_update(&c, p, n);
    kwi_sha512_final(&c, out);
}

/* ---- run-time choice ----------------------------------------------------------------------- */

size_t
kwi_hash_len(kwi_hash_alg alg)
{
    switch (alg) {
    case KWI_HASH_SHA256:
        return KWI_SHA256_LEN;
    case KWI_HASH_SHA512:
        return KWI_SHA512_LEN;
    }
    return 0;
}

size_t
kwi_hash_block_len(kwi_hash_alg alg)
{
    switch (alg) {
    case KWI_HASH_SHA256:
        return KWI_SHA256_BLOCK;
    case KWI_HASH_SHA512:
        return KWI_SHA512_BLOCK;
    }
    return 0;
}

void
kwi_hash_init(kwi_hash_ctx *c, kwi_hash_alg alg)
{
    assert(kwi_hash_len(alg) != 0);
    c->alg = alg;
    if (alg == KWI_HASH_SHA512)
        kwi_sha512_init(&c->u.s512);
    else
        kwi_sha256_init(&c->u.s256);
}

void
kwi_hash_update(kwi_hash_ctx *c, const void *p, size_t n)
{
    if (c->alg == KWI_HASH_SHA512)
        kwi_sha512_update(&c->u.s512, p, n);
    else
        kwi_sha256_update(&c->u.s256, p, n);
}

void
kwi_hash_final(kwi_hash_ctx *c, uint8_t *out)
{
    if (c->alg == KWI_HASH_SHA512)
        kwi_sha512_final(&c->u.s512, out);
    else
        kwi_sha256_final(&c->u.s256, out);
    kwi_secure_zero(c, sizeof(*c));
}

void
kwi_hash_once(kwi_hash_alg alg, const void *p, size_t n, uint8_t *out)
{
    kwi_hash_ctx c;
    kwi_hash_init(&c, alg);
    kwi_hash_update(&c, p, n);
    kwi_hash_final(&c, out);
}

/* ---- HMAC (RFC 2104) ----------------------------------------------------------------------- */

void
kwi_hmac_init(kwi_hmac_ctx *c, kwi_hash_alg alg, const void *key, size_t klen)
{
    uint8_t k[KWI_SHA512_BLOCK]; /* the largest block */
    size_t bl = kwi_hash_block_len(alg);
    memset(k, 0, sizeof(k));
    if (klen > bl)
        kwi_hash_once(alg, key, klen, k);
    else if (klen)
        memcpy(k, key, klen);
    for (size_t i = 0; i < bl; i++)
        k[i] ^= 0x36;
    kwi_hash_init(&c->inner, alg);
    kwi_hash_update(&c->inner, k, bl);
    for (size_t i = 0; i < bl; i++)
        k[i] ^= 0x36 ^ 0x5c;
    kwi_hash_init(&c->outer, alg);
    kwi_hash_update(&c->outer, k, bl);
    kwi_secure_zero(k, sizeof(k));
}

void
kwi_hmac_update(kwi_hmac_ctx *c, const void *p, size_t n)
{
    kwi_hash_update(&c->inner, p, n);
}

void
kwi_hmac_final(kwi_hmac_ctx *c, uint8_t *out)
{
    uint8_t ih[KWI_HASH_MAX_LEN];
    size_t hl = kwi_hash_len(c->inner.alg);
    kwi_hash_final(&c->inner, ih);
    kwi_hash_update(&c->outer, ih, hl);
    kwi_hash_final(&c->outer, out);
    kwi_secure_zero(ih, sizeof(ih));
    kwi_secure_zero(c, sizeof(*c));
}

void
kwi_hmac_once(kwi_hash_alg alg, const void *key, size_t klen, const void *msg, size_t n,
              uint8_t *out)
{
    kwi_hmac_ctx c;
    kwi_hmac_init(&c, alg, key, klen);
    kwi_hmac_update(&c, msg, n);
    kwi_hmac_final(&c, out);
}

/* ---- PBKDF2 (RFC 8018 section 5.2) --------------------------------------------------------- */

/* The iterations U_j = HMAC(P, U_j-1), j = 2..count, XORed into t. U has the digest's length,
 * so after the key block both the inner and the outer hash process exactly one more block
 * whose padding never changes: each iteration is two compressions starting from the saved
 * key states, with none of the streaming bookkeeping. (Half the cost of the generic path;
 * this loop is all of SCRAM's CPU time.) */
static void
pbkdf2_iterate256(const kwi_hmac_ctx *keyed, const uint8_t *u1, uint8_t *t, uint32_t count)
{
    uint8_t blk[KWI_SHA256_BLOCK];
    uint32_t w[64], h[8];
    memset(blk, 0, sizeof(blk));
    memcpy(blk, u1, KWI_SHA256_LEN);
    blk[KWI_SHA256_LEN] = 0x80;
    store64(blk + KWI_SHA256_BLOCK - 8, (uint64_t)(KWI_SHA256_BLOCK + KWI_SHA256_LEN) * 8);
    for (uint32_t j = 1; j < count; j++) {
        memcpy(h, keyed->inner.u.s256.h, sizeof(h));
        sha256_block(h, blk, w);
        for (unsigned i = 0; i < 8; i++)
            store32(blk + 4 * i, h[i]);
        memcpy(h, keyed->outer.u.s256.h, sizeof(h));
        sha256_block(h, blk, w);
        for (unsigned i = 0; i < 8; i++)
            store32(blk + 4 * i, h[i]);
        for (unsigned i = 0; i < KWI_SHA256_LEN; i++)
            t[i] ^= blk[i];
    }
    kwi_secure_zero(blk, sizeof(blk));
    kwi_secure_zero(w, sizeof(w));
    kwi_secure_zero(h, sizeof(h));
}

static void
pbkdf2_iterate512(const kwi_hmac_ctx *keyed, const uint8_t *u1, uint8_t *t, uint32_t count)
{
    uint8_t blk[KWI_SHA512_BLOCK];
    uint64_t w[80], h[8];
    memset(blk, 0, sizeof(blk));
    memcpy(blk, u1, KWI_SHA512_LEN);
    blk[KWI_SHA512_LEN] = 0x80;
    /* The 128-bit length's high half stays zero. */
    store64(blk + KWI_SHA512_BLOCK - 8, (uint64_t)(KWI_SHA512_BLOCK + KWI_SHA512_LEN) * 8);
    for (uint32_t j = 1; j < count; j++) {
        memcpy(h, keyed->inner.u.s512.h, sizeof(h));
        sha512_block(h, blk, w);
        for (unsigned i = 0; i < 8; i++)
            store64(blk + 8 * i, h[i]);
        memcpy(h, keyed->outer.u.s512.h, sizeof(h));
        sha512_block(h, blk, w);
        for (unsigned i = 0; i < 8; i++)
            store64(blk + 8 * i, h[i]);
        for (unsigned i = 0; i < KWI_SHA512_LEN; i++)
            t[i] ^= blk[i];
    }
    kwi_secure_zero(blk, sizeof(blk));
    kwi_secure_zero(w, sizeof(w));
    kwi_secure_zero(h, sizeof(h));
}

kw_err
kwi_pbkdf2_hmac(kwi_hash_alg alg, const void *pass, size_t plen, const void *salt, size_t slen,
                uint32_t iterations, uint8_t *out, size_t dklen)
{
    size_t hl = kwi_hash_len(alg);
    if (!hl || iterations == 0 || dklen == 0)
        return KW_ERR_INVALID_ARG;
    /* RFC 8018: dkLen must not exceed (2^32 - 1) * hLen (the block index is 32 bits). */
    if ((dklen - 1) / hl >= UINT32_MAX)
        return KW_ERR_INVALID_ARG;
    /* The password is hashed into the HMAC key states once; every PRF call starts from them.
     * After kwi_hmac_init both states have absorbed exactly one block (nbuf == 0), which the
     * fast iteration loops rely on. */
    kwi_hmac_ctx keyed, c;
    uint8_t u[KWI_HASH_MAX_LEN], t[KWI_HASH_MAX_LEN], idx[4];
    kwi_hmac_init(&keyed, alg, pass, plen);
    for (uint32_t block = 1; dklen; block++) {
        store32(idx, block);
        c = keyed;
        kwi_hmac_update(&c, salt, slen);
        kwi_hmac_update(&c, idx, 4);
        kwi_hmac_final(&c, u); /* U_1 = HMAC(P, S || INT(block)) */
        memcpy(t, u, hl);
        if (alg == KWI_HASH_SHA512)
            pbkdf2_iterate512(&keyed, u, t, iterations);
        else
            pbkdf2_iterate256(&keyed, u, t, iterations);
        size_t take = dklen < hl ? dklen : hl;
        memcpy(out, t, take);
        out += take;
        dklen -= take;
    }
    kwi_secure_zero(&keyed, sizeof(keyed));
    kwi_secure_zero(u, sizeof(u));
    kwi_secure_zero(t, sizeof(t));
    return KW_ERR_OK;
}

/* ---- comparison and wiping ----------------------------------------------------------------- */

int
kwi_ct_equal(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;
    /* Accumulate every difference, then turn "all zero" into 1 without a data-dependent
     * branch: (d - 1) >> 8 has its low bit set only when d was 0. */
    uint32_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint32_t)(x[i] ^ y[i]);
    return (int)(((d - 1u) >> 8) & 1u);
}

void
kwi_secure_zero(void *p, size_t n)
{
    if (!p || !n)
        return;
#if defined(__GNUC__) || defined(__clang__)
    memset(p, 0, n);
    /* The empty asm claims to read the memory through p, so the memset is not a dead store. */
    __asm__ __volatile__("" : : "r"(p) : "memory");
#else
    volatile uint8_t *v = p;
    while (n--)
        *v++ = 0;
#endif
}
