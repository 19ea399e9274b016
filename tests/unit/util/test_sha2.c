/* SHA-256/512, HMAC, PBKDF2 and base64 against published vectors: the FIPS 180-4 / NIST
 * example messages ("abc", the 448- and 896-bit messages, one million 'a'), RFC 4231's HMAC
 * test cases 1-7, RFC 7914 section 11's PBKDF2-HMAC-SHA256 vectors plus the RFC 6070 inputs
 * run through PBKDF2-HMAC-SHA256/512 (expected values computed with Python's hashlib, an
 * independent implementation), and RFC 4648 section 10's base64 vectors. When the build has
 * OpenSSL, random inputs are also checked against OpenSSL's EVP digests, HMAC, PBKDF2 and
 * EVP_EncodeBlock; without it that case says SKIP on stderr. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kw_config.h"
#include "../../support/hex.h"
#include "util/base64.h"
#include "util/sha2.h"

#if KW_HAVE_TLS
#include <openssl/evp.h>
#include <openssl/hmac.h>
#endif

/* Compares out[0..n) with a hex string of 2n digits. */
static void
check_hex(const uint8_t *out, size_t n, const char *hex)
{
    uint8_t want[256];
    ck_assert_uint_eq(strlen(hex), 2 * n);
    ck_assert_int_eq(kwt_unhex(hex, 2 * n, want), (long)n);
    if (memcmp(out, want, n) != 0) {
        char got[513];
        for (size_t i = 0; i < n; i++)
            snprintf(got + 2 * i, 3, "%02x", out[i]);
        ck_abort_msg("digest mismatch:\n got  %s\n want %s", got, hex);
    }
}

static void
check_digests(const void *msg, size_t n, const char *h256, const char *h512)
{
    uint8_t out[KWI_SHA512_LEN];
    kwi_sha256_once(msg, n, out);
    check_hex(out, KWI_SHA256_LEN, h256);
    kwi_sha512_once(msg, n, out);
    check_hex(out, KWI_SHA512_LEN, h512);
    /* The run-time dispatch gives the same answers. */
    kwi_hash_once(KWI_HASH_SHA256, msg, n, out);
    check_hex(out, KWI_SHA256_LEN, h256);
    kwi_hash_once(KWI_HASH_SHA512, msg, n, out);
    check_hex(out, KWI_SHA512_LEN, h512);
}

static const char msg448[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
static const char msg896[] = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                             "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

START_TEST(sha2_nist_vectors)
{
    check_digests("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                  "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                  "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
    check_digests("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                  "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
                  "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e");
    check_digests(msg448, strlen(msg448),
                  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
                  "204a8fc6dda82f0a0ced7beb8e08a41657c16ef468b228a8279be331a703c335"
                  "96fd15c13b1b07f9aa1d3bea57789ca031ad85c7a71dd70354ec631238ca3445");
    check_digests(msg896, strlen(msg896),
                  "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
                  "8e959b75dae313da8cf4f72814fc143f8f7779c6eb9f7fa17299aeadb6889018"
                  "501d289e4900f7e4331b99dec4b5433ac7d329eeb6dd26545e96e55b874be909");
}
END_TEST

START_TEST(sha2_million_a)
{
    static const char h256[] = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    static const char h512[] = "e718483d0ce769644e2e42c7bc15b4638e1f98b13b2044285632a803afa973eb"
                               "de0ff244877ea60a4cb0432ce577c31beb009c5c2c49aa2e4eadb217ad8cc09b";
    size_t n = 1000000;
    char *m = malloc(n);
    ck_assert_ptr_nonnull(m);
    memset(m, 'a', n);
    check_digests(m, n, h256, h512);
    /* Streaming in uneven pieces (1, 2, ..., 300 bytes, repeating) gives the same digest. */
    kwi_sha256_ctx c256;
    kwi_sha512_ctx c512;
    kwi_sha256_init(&c256);
    kwi_sha512_init(&c512);
    size_t off = 0, step = 1;
    while (off < n) {
        size_t take = n - off < step ? n - off : step;
        kwi_sha256_update(&c256, m + off, take);
        kwi_sha512_update(&c512, m + off, take);
        off += take;
        step = step % 300 + 1;
    }
    uint8_t out[KWI_SHA512_LEN];
    kwi_sha256_final(&c256, out);
    check_hex(out, KWI_SHA256_LEN, h256);
    kwi_sha512_final(&c512, out);
    check_hex(out, KWI_SHA512_LEN, h512);
    free(m);
}
END_TEST

START_TEST(sha2_padding_boundaries)
{
    /* Every length around one and two blocks, where the padding spills into an extra block:
     * streaming byte by byte must equal one-shot. (Cross-checked against OpenSSL below.) */
    uint8_t msg[300], a[KWI_SHA512_LEN], b[KWI_SHA512_LEN];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 7 + 3);
    for (size_t n = 0; n <= sizeof(msg); n++) {
        kwi_hash_alg algs[2] = {KWI_HASH_SHA256, KWI_HASH_SHA512};
        for (int k = 0; k < 2; k++) {
            kwi_hash_ctx c;
            kwi_hash_init(&c, algs[k]);
            for (size_t i = 0; i < n; i++)
                kwi_hash_update(&c, msg + i, 1);
            kwi_hash_final(&c, a);
            kwi_hash_once(algs[k], msg, n, b);
            ck_assert_mem_eq(a, b, kwi_hash_len(algs[k]));
        }
    }
    ck_assert_uint_eq(kwi_hash_len(KWI_HASH_SHA256), 32);
    ck_assert_uint_eq(kwi_hash_len(KWI_HASH_SHA512), 64);
    ck_assert_uint_eq(kwi_hash_len((kwi_hash_alg)99), 0);
    ck_assert_uint_eq(kwi_hash_block_len(KWI_HASH_SHA512), 128);
}
END_TEST

/* RFC 4231 section 4: test cases 1-7 for HMAC-SHA-256 and HMAC-SHA-512. */
struct hmac_case {
    const char *key_hex;
    const char *data; /* text, or hex when data_hex */
    int data_hex;
    size_t out_len; /* 16 for the truncated case 5 */
    const char *h256, *h512;
};

static const struct hmac_case hmac_cases[] = {
    {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "Hi There", 0, 0,
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7",
     "87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cde"
     "daa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854"},
    {"4a656665", "what do ya want for nothing?", 0, 0,
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
     "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
     "dddddddddd",
     1, 0, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe",
     "fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39"
     "bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb"},
    {"0102030405060708090a0b0c0d0e0f10111213141516171819",
     "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd"
     "cdcdcdcdcd",
     1, 0, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b",
     "b0ba465637458c6990e5a8c5f61d4af7e576d97ff94b872de76f8050361ee3db"
     "a91ca5c11aa25eb4d679275cc5788063a5f19741120c4f2de2adebeb10a298dd"},
    {"0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c", "Test With Truncation", 0, 16,
     "a3b6167473100ee06e0c796c2955552b", "415fad6271580a531d4179bc891d87a6"},
    {NULL, "Test Using Larger Than Block-Size Key - Hash Key First", 0, 0,
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
     "80b24263c7c1a3ebb71493c1dd7be8b49b46d1f41b4aeec1121b013783f8f352"
     "6b56d037e05f2598bd0fd2215d6a1e5295e64f73f63f0aec8b915a985d786598"},
    {NULL,
     "This is a test using a larger than block-size key and a larger than block-size data. The "
     "key needs to be hashed before being used by the HMAC algorithm.",
     0, 0, "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2",
     "e37b6a775dc87dbaa4dfa9f96e5e3ffddebd71f8867289865df5a32d20cdc944"
     "b6022cac3c4982b10d5eeb55c3e4de15134676fb6de0446065c97440fa8c6a58"},
};

START_TEST(hmac_rfc4231)
{
    for (size_t i = 0; i < sizeof(hmac_cases) / sizeof(hmac_cases[0]); i++) {
        const struct hmac_case *t = &hmac_cases[i];
        uint8_t key[200], data[200], out[KWI_SHA512_LEN];
        size_t klen, dlen;
        if (t->key_hex) {
            klen = (size_t)kwt_unhex(t->key_hex, strlen(t->key_hex), key);
        } else {
            klen = 131; /* cases 6 and 7: 131 bytes of 0xaa, longer than either block */
            memset(key, 0xaa, klen);
        }
        if (t->data_hex) {
            dlen = (size_t)kwt_unhex(t->data, strlen(t->data), data);
        } else {
            dlen = strlen(t->data);
            memcpy(data, t->data, dlen);
        }
        kwi_hmac_once(KWI_HASH_SHA256, key, klen, data, dlen, out);
        check_hex(out, t->out_len ? t->out_len : KWI_SHA256_LEN, t->h256);
        kwi_hmac_once(KWI_HASH_SHA512, key, klen, data, dlen, out);
        check_hex(out, t->out_len ? t->out_len : KWI_SHA512_LEN, t->h512);
        /* Streaming the data in two pieces is the same. */
        kwi_hmac_ctx c;
        kwi_hmac_init(&c, KWI_HASH_SHA256, key, klen);
        kwi_hmac_update(&c, data, dlen / 2);
        kwi_hmac_update(&c, data + dlen / 2, dlen - dlen / 2);
        kwi_hmac_final(&c, out);
        check_hex(out, t->out_len ? t->out_len : KWI_SHA256_LEN, t->h256);
    }
}
END_TEST

struct pbkdf2_case {
    kwi_hash_alg alg;
    const char *pass;
    size_t plen;
    const char *salt;
    size_t slen;
    uint32_t iter;
    const char *dk;
};

#define S(x) x, sizeof(x) - 1
static const struct pbkdf2_case pbkdf2_cases[] = {
    /* RFC 7914 section 11. */
    {KWI_HASH_SHA256, S("passwd"), S("salt"), 1,
     "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
     "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"},
    {KWI_HASH_SHA256, S("Password"), S("NaCl"), 80000,
     "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
     "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d"},
    /* RFC 6070's inputs with SHA-256 and SHA-512 as the PRF. */
    {KWI_HASH_SHA256, S("password"), S("salt"), 1,
     "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"},
    {KWI_HASH_SHA256, S("password"), S("salt"), 2,
     "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43"},
    {KWI_HASH_SHA256, S("password"), S("salt"), 4096,
     "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"},
    {KWI_HASH_SHA256, S("passwordPASSWORDpassword"), S("saltSALTsaltSALTsaltSALTsaltSALTsalt"),
     4096, "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9"},
    {KWI_HASH_SHA256, S("pass\0word"), S("sa\0lt"), 4096, "89b69d0516f829893c696226650a8687"},
    {KWI_HASH_SHA512, S("password"), S("salt"), 1,
     "867f70cf1ade02cff3752599a3a53dc4af34c7a669815ae5d513554e1c8cf252"
     "c02d470a285a0501bad999bfe943c08f050235d7d68b1da55e63f73b60a57fce"},
    {KWI_HASH_SHA512, S("password"), S("salt"), 4096,
     "d197b1b33db0143e018b12f3d1d1479e6cdebdcc97c5c0f87f6902e072f457b5"
     "143f30602641b3d55cd335988cb36b84376060ecd532e039b742a239434af2d5"},
    {KWI_HASH_SHA512, S("passwordPASSWORDpassword"), S("saltSALTsaltSALTsaltSALTsaltSALTsalt"),
     4096,
     "8c0511f4c6e597c6ac6315d8f0362e225f3c501495ba23b868c005174dc4ee71"
     "115b59f9e60cd9532fa33e0f75aefe30225c583a186cd82bd4daea9724a3d3b8"},
};
#undef S

START_TEST(pbkdf2_vectors)
{
    for (size_t i = 0; i < sizeof(pbkdf2_cases) / sizeof(pbkdf2_cases[0]); i++) {
        const struct pbkdf2_case *t = &pbkdf2_cases[i];
        uint8_t out[128];
        size_t dklen = strlen(t->dk) / 2;
        ck_assert_int_eq(
            kwi_pbkdf2_hmac(t->alg, t->pass, t->plen, t->salt, t->slen, t->iter, out, dklen),
            KW_ERR_OK);
        check_hex(out, dklen, t->dk);
    }
}
END_TEST

START_TEST(pbkdf2_bad_args)
{
    uint8_t out[32];
    memset(out, 0x5a, sizeof(out));
    ck_assert_int_eq(kwi_pbkdf2_hmac(KWI_HASH_SHA256, "p", 1, "s", 1, 0, out, 32),
                     KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kwi_pbkdf2_hmac(KWI_HASH_SHA256, "p", 1, "s", 1, 1, out, 0),
                     KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kwi_pbkdf2_hmac((kwi_hash_alg)7, "p", 1, "s", 1, 1, out, 32),
                     KW_ERR_INVALID_ARG);
    for (size_t i = 0; i < sizeof(out); i++)
        ck_assert_uint_eq(out[i], 0x5a);
}
END_TEST

START_TEST(ct_equal_and_zero)
{
    uint8_t a[64], b[64];
    for (int i = 0; i < 64; i++)
        a[i] = b[i] = (uint8_t)(i * 31);
    ck_assert_int_eq(kwi_ct_equal(a, b, 64), 1);
    ck_assert_int_eq(kwi_ct_equal(a, b, 0), 1);
    /* A difference in any position and in any bit is seen. */
    for (int i = 0; i < 64; i++) {
        for (int bit = 0; bit < 8; bit++) {
            b[i] ^= (uint8_t)(1u << bit);
            ck_assert_int_eq(kwi_ct_equal(a, b, 64), 0);
            b[i] ^= (uint8_t)(1u << bit);
        }
    }
    kwi_secure_zero(a, sizeof(a));
    for (int i = 0; i < 64; i++)
        ck_assert_uint_eq(a[i], 0);
    kwi_secure_zero(NULL, 10);
    kwi_secure_zero(b, 0);
    ck_assert_uint_eq(b[1], 31);
}
END_TEST

/* ---- base64 ------------------------------------------------------------------------------ */

static void
check_b64(const char *plain, const char *enc)
{
    char out[64];
    uint8_t dec[64];
    size_t n;
    ck_assert_uint_eq(kwi_base64_encoded_len(strlen(plain)), strlen(enc));
    ck_assert_int_eq(kwi_base64_encode(plain, strlen(plain), out, sizeof(out), &n), KW_ERR_OK);
    ck_assert_uint_eq(n, strlen(enc));
    ck_assert_mem_eq(out, enc, n);
    ck_assert_int_eq(kwi_base64_decode(enc, strlen(enc), dec, sizeof(dec), &n), KW_ERR_OK);
    ck_assert_uint_eq(n, strlen(plain));
    ck_assert_mem_eq(dec, plain, n);
    /* An exact-size buffer is enough in both directions. */
    ck_assert_int_eq(kwi_base64_encode(plain, strlen(plain), out, strlen(enc), &n), KW_ERR_OK);
    ck_assert_int_eq(kwi_base64_decode(enc, strlen(enc), dec, strlen(plain), &n), KW_ERR_OK);
}

START_TEST(base64_rfc4648)
{
    check_b64("", "");
    check_b64("f", "Zg==");
    check_b64("fo", "Zm8=");
    check_b64("foo", "Zm9v");
    check_b64("foob", "Zm9vYg==");
    check_b64("fooba", "Zm9vYmE=");
    check_b64("foobar", "Zm9vYmFy");
}
END_TEST

START_TEST(base64_strict_decode)
{
    static const char *bad[] = {
        "Zg=",          /* length not a multiple of 4 */
        "Zg",           /* unpadded */
        "Zm9vY",        /* length 5 */
        "Zh==",         /* non-zero trailing bits (canonical form is Zg==) */
        "Zm9=",         /* non-zero trailing bits (canonical form is Zm8=) */
        "Z===",         /* three padding characters */
        "====",         /* only padding */
        "=Zm9",         /* padding first */
        "Zg==Zg==",     /* padding before the end */
        "Zm=v",         /* padding inside a group */
        "Zm9v\n",       /* line break */
        "Zm 9",         /* space */
        "Zm-_",         /* URL-safe alphabet */
        "Zm9v\0\0\0\0", /* NUL bytes (length given explicitly below) */
        "Zm\x80v",      /* high byte */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t out[16];
        size_t n = 99;
        size_t len = i == 13 ? 8 : strlen(bad[i]);
        ck_assert_msg(kwi_base64_decode(bad[i], len, out, sizeof(out), &n) == KW_ERR_MALFORMED,
                      "accepted bad base64 #%zu", i);
        ck_assert_uint_eq(n, 0);
    }
}
END_TEST

START_TEST(base64_bounded_output)
{
    uint8_t out[8];
    char enc[8];
    size_t n;
    memset(out, 0xee, sizeof(out));
    /* "foobar" is 6 bytes: a 5-byte buffer is refused before anything is written. */
    ck_assert_int_eq(kwi_base64_decode("Zm9vYmFy", 8, out, 5, &n), KW_ERR_NOSPACE);
    ck_assert_uint_eq(n, 0);
    ck_assert_uint_eq(out[0], 0xee);
    ck_assert_int_eq(kwi_base64_decode("Zm9vYg==", 8, out, 3, &n), KW_ERR_NOSPACE);
    ck_assert_int_eq(kwi_base64_decode("Zm9vYg==", 8, out, 4, &n), KW_ERR_OK);
    ck_assert_uint_eq(n, 4);
    ck_assert_int_eq(kwi_base64_encode("foobar", 6, enc, 7, &n), KW_ERR_NOSPACE);
    ck_assert_int_eq(kwi_base64_encode("f", 1, enc, 3, &n), KW_ERR_NOSPACE);
    ck_assert_uint_eq(kwi_base64_decoded_max(8), 6);
    ck_assert_uint_eq(kwi_base64_encoded_len(SIZE_MAX), 0);
    ck_assert_int_eq(kwi_base64_encode("x", SIZE_MAX, enc, sizeof(enc), &n), KW_ERR_TOO_LARGE);
}
END_TEST

START_TEST(base64_round_trip)
{
    uint8_t in[300], dec[300];
    char enc[404];
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (uint8_t)(i * 131 + 17);
    for (size_t n = 0; n <= sizeof(in); n++) {
        size_t el, dl;
        ck_assert_int_eq(kwi_base64_encode(in, n, enc, sizeof(enc), &el), KW_ERR_OK);
        ck_assert_int_eq(kwi_base64_decode(enc, el, dec, sizeof(dec), &dl), KW_ERR_OK);
        ck_assert_uint_eq(dl, n);
        ck_assert_mem_eq(dec, in, n);
    }
}
END_TEST

/* ---- OpenSSL cross-check ------------------------------------------------------------------ */

#if KW_HAVE_TLS
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t
rng(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

static void
rng_fill(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(rng() >> 56);
}
#endif

START_TEST(cross_check_openssl)
{
#if KW_HAVE_TLS
    static uint8_t msg[2048], key[300];
    uint8_t a[KWI_SHA512_LEN * 3], b[KWI_SHA512_LEN * 3];
    const EVP_MD *mds[2] = {EVP_sha256(), EVP_sha512()};
    kwi_hash_alg algs[2] = {KWI_HASH_SHA256, KWI_HASH_SHA512};
    for (int round = 0; round < 400; round++) {
        size_t n = (size_t)(rng() % sizeof(msg));
        size_t kl = (size_t)(rng() % sizeof(key));
        rng_fill(msg, n);
        rng_fill(key, kl);
        for (int k = 0; k < 2; k++) {
            unsigned int ol = 0;
            size_t hl = kwi_hash_len(algs[k]);
            kwi_hash_once(algs[k], msg, n, a);
            ck_assert_int_eq(EVP_Digest(msg, n, b, &ol, mds[k], NULL), 1);
            ck_assert_uint_eq(ol, hl);
            ck_assert_mem_eq(a, b, hl);
            kwi_hmac_once(algs[k], key, kl, msg, n, a);
            ck_assert_ptr_nonnull(HMAC(mds[k], key, (int)kl, msg, n, b, &ol));
            ck_assert_mem_eq(a, b, hl);
            if (round % 20 == 0) {
                /* PBKDF2 with a dkLen that is not a multiple of the digest length. */
                uint32_t it = 1 + (uint32_t)(rng() % 50);
                size_t dk = 1 + (size_t)(rng() % sizeof(a));
                ck_assert_int_eq(kwi_pbkdf2_hmac(algs[k], key, kl, msg, n % 100, it, a, dk),
                                 KW_ERR_OK);
                ck_assert_int_eq(PKCS5_PBKDF2_HMAC((const char *)key, (int)kl, msg, (int)(n % 100),
                                                   (int)it, mds[k], (int)dk, b),
                                 1);
                ck_assert_mem_eq(a, b, dk);
            }
        }
        /* base64 against EVP_EncodeBlock (standard alphabet, padded, NUL-terminated). */
        size_t bn = n % 200;
        char enc[300];
        unsigned char ref[300];
        uint8_t dec[200];
        size_t el, dl;
        int rl = EVP_EncodeBlock(ref, msg, (int)bn);
        ck_assert_int_eq(kwi_base64_encode(msg, bn, enc, sizeof(enc), &el), KW_ERR_OK);
        ck_assert_uint_eq(el, (size_t)rl);
        ck_assert_mem_eq(enc, ref, el);
        ck_assert_int_eq(kwi_base64_decode(enc, el, dec, sizeof(dec), &dl), KW_ERR_OK);
        ck_assert_uint_eq(dl, bn);
        ck_assert_mem_eq(dec, msg, bn);
    }
#else
    fprintf(stderr, "SKIP util_sha2 cross_check_openssl: built without OpenSSL (tls disabled)\n");
#endif
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("util_sha2");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sha2_nist_vectors);
    tcase_add_test(tc, sha2_million_a);
    tcase_add_test(tc, sha2_padding_boundaries);
    tcase_add_test(tc, hmac_rfc4231);
    tcase_add_test(tc, pbkdf2_vectors);
    tcase_add_test(tc, pbkdf2_bad_args);
    tcase_add_test(tc, ct_equal_and_zero);
    tcase_add_test(tc, base64_rfc4648);
    tcase_add_test(tc, base64_strict_decode);
    tcase_add_test(tc, base64_bounded_output);
    tcase_add_test(tc, base64_round_trip);
    tcase_add_test(tc, cross_check_openssl);
    suite_add_tcase(s, tc);
    return s;
}
