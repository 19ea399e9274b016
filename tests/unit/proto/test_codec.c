/* Compression codecs: round trips, data made by the codecs' own command-line tools
 * (tests/vectors/codec, see its README), hand-assembled snappy, the framing Kafka expects,
 * decompression bombs, corrupt and truncated input, full writers. A codec that is not built in
 * prints "SKIP: ..." and checks that it reports KW_ERR_UNSUPPORTED_CODEC instead. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kw_config.h"
#include "kwire/codec.h"
#include "../../support/hex.h"

#define PLAIN_LEN 84000u

static const int all_codecs[] = {KW_CODEC_NONE, KW_CODEC_GZIP, KW_CODEC_SNAPPY, KW_CODEC_LZ4,
                                 KW_CODEC_ZSTD};
#define N_CODECS (sizeof(all_codecs) / sizeof(all_codecs[0]))

/* The fixtures' input, as the README's shell loop makes it. */
static uint8_t *
make_plain(void)
{
    uint8_t *buf = malloc(PLAIN_LEN + 100);
    size_t n = 0;
    for (int i = 0; i < 1200; i++)
        n += (size_t)snprintf((char *)buf + n, 100,
                              "kwire fixture line %05d: the quick brown fox jumps over the "
                              "lazy dog\n",
                              i);
    ck_assert_uint_eq(n, PLAIN_LEN);
    return buf;
}

static uint8_t *
make_noise(size_t n)
{
    uint8_t *buf = malloc(n ? n : 1);
    uint32_t x = 88172645u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    return buf;
}

static uint8_t *
fixture(const char *name, size_t *len)
{
    const char *dir = getenv("KW_VECTORS_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/codec/%s", dir ? dir : "tests/vectors", name);
    uint8_t *p = (uint8_t *)kwt_read_file(path, len);
    ck_assert_msg(p != NULL, "cannot read fixture %s", path);
    return p;
}

static kw_slice
sl(const void *p, size_t n)
{
    return (kw_slice){p, (int32_t)n};
}

static kw_slice
wr_slice(const kw_wr *w)
{
    return sl(w->base, kw_wr_len(w));
}

/* False (after saying why on stderr) when the codec is not built in; then also checks that
 * both directions report it as unsupported rather than doing anything else. */
static bool
have(int codec, const char *test)
{
    if (kw_codec_available(codec))
        return true;
    fprintf(stderr, "SKIP: %s: %s is not built in (library not found or -D%s=disabled)\n", test,
            kw_codec_name(codec), codec == KW_CODEC_GZIP ? "zlib" : kw_codec_name(codec));
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1 << 20);
    ck_assert_int_eq(kw_compress(codec, KW_CODEC_LEVEL_DEFAULT, sl("abc", 3), &w),
                     KW_ERR_UNSUPPORTED_CODEC);
    ck_assert_int_eq(kw_decompress(codec, sl("abc", 3), &w, 100), KW_ERR_UNSUPPORTED_CODEC);
    kw_wr_fini(&w);
    return false;
}

/* Decompress `in` with bound max_out; returns the error, output in *out (caller finis). */
static kw_err
inflate_to(int codec, kw_slice in, size_t max_out, kw_wr *out)
{
    kw_wr_init_dyn(out, NULL, 1u << 30);
    return kw_decompress(codec, in, out, max_out);
}

static void
round_trip(int codec, int level, const uint8_t *p, size_t n)
{
    kw_wr c, d;
    kw_wr_init_dyn(&c, NULL, 1u << 26);
    kw_err e = kw_compress(codec, level, sl(p, n), &c);
    ck_assert_msg(e == KW_ERR_OK, "%s level %d size %zu: compress %s", kw_codec_name(codec), level,
                  n, kw_err_name(e));
    /* A bound of exactly the original size must fit. */
    e = inflate_to(codec, wr_slice(&c), n, &d);
    ck_assert_msg(e == KW_ERR_OK, "%s level %d size %zu: decompress %s", kw_codec_name(codec),
                  level, n, kw_err_name(e));
    ck_assert_uint_eq(kw_wr_len(&d), n);
    ck_assert(n == 0 || memcmp(d.base, p, n) == 0);
    kw_wr_fini(&d);
    if (n > 0) {
        e = inflate_to(codec, wr_slice(&c), n - 1, &d);
        ck_assert_msg(e == KW_ERR_BOMB, "%s size %zu with bound n-1: %s", kw_codec_name(codec), n,
                      kw_err_name(e));
        ck_assert_uint_le(kw_wr_len(&d), n - 1);
        kw_wr_fini(&d);
    }
    kw_wr_fini(&c);
}

START_TEST(round_trips)
{
    uint8_t *plain = make_plain();
    uint8_t *noise = make_noise(200000);
    size_t sizes[] = {0, 1, 100, 70000};
    for (size_t i = 0; i < N_CODECS; i++) {
        int codec = all_codecs[i];
        if (!have(codec, "round_trips"))
            continue;
        for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++)
            round_trip(codec, KW_CODEC_LEVEL_DEFAULT, plain, sizes[k]);
        round_trip(codec, KW_CODEC_LEVEL_DEFAULT, plain, PLAIN_LEN);
        round_trip(codec, KW_CODEC_LEVEL_DEFAULT, noise, 200000);
    }
    int gz[] = {-1, 0, 1, 9}, lz[] = {1, 3, 9, 12, 17}, zs[] = {-5, 1, 19};
    for (size_t k = 0; kw_codec_available(KW_CODEC_GZIP) && k < 4; k++)
        round_trip(KW_CODEC_GZIP, gz[k], plain, PLAIN_LEN);
    for (size_t k = 0; kw_codec_available(KW_CODEC_LZ4) && k < 5; k++)
        round_trip(KW_CODEC_LZ4, lz[k], plain, PLAIN_LEN);
    for (size_t k = 0; kw_codec_available(KW_CODEC_ZSTD) && k < 3; k++)
        round_trip(KW_CODEC_ZSTD, zs[k], plain, PLAIN_LEN);
    free(plain);
    free(noise);
}
END_TEST

START_TEST(bad_arguments)
{
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1 << 20);
    ck_assert_int_eq(kw_compress(5, 0, sl("a", 1), &w), KW_ERR_UNSUPPORTED_CODEC);
    ck_assert_int_eq(kw_compress(-1, 0, sl("a", 1), &w), KW_ERR_UNSUPPORTED_CODEC);
    ck_assert_int_eq(kw_decompress(7, sl("a", 1), &w, 10), KW_ERR_UNSUPPORTED_CODEC);
    ck_assert_int_eq(kw_compress(KW_CODEC_NONE, 0, (kw_slice){NULL, 3}, &w), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_decompress(KW_CODEC_NONE, (kw_slice){(const uint8_t *)"a", -2}, &w, 9),
                     KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_decompress(KW_CODEC_NONE, sl("abcd", 4), &w, 3), KW_ERR_BOMB);
    ck_assert_int_eq(kw_decompress(KW_CODEC_NONE, KW_SLICE_NULL, &w, 0), KW_ERR_OK);
    ck_assert_uint_eq(kw_wr_len(&w), 0);
    if (kw_codec_available(KW_CODEC_GZIP)) {
        ck_assert_int_eq(kw_compress(KW_CODEC_GZIP, 10, sl("a", 1), &w), KW_ERR_INVALID_ARG);
        ck_assert_int_eq(kw_compress(KW_CODEC_GZIP, -2, sl("a", 1), &w), KW_ERR_INVALID_ARG);
    }
    if (kw_codec_available(KW_CODEC_LZ4)) {
        ck_assert_int_eq(kw_compress(KW_CODEC_LZ4, 0, sl("a", 1), &w), KW_ERR_INVALID_ARG);
        ck_assert_int_eq(kw_compress(KW_CODEC_LZ4, 18, sl("a", 1), &w), KW_ERR_INVALID_ARG);
    }
    if (kw_codec_available(KW_CODEC_ZSTD))
        ck_assert_int_eq(kw_compress(KW_CODEC_ZSTD, 23, sl("a", 1), &w), KW_ERR_INVALID_ARG);
    ck_assert_str_eq(kw_codec_name(KW_CODEC_LZ4), "lz4");
    ck_assert_str_eq(kw_codec_name(9), "unknown");
    ck_assert(kw_codec_available(KW_CODEC_NONE));
    ck_assert(!kw_codec_available(5));
    kw_wr_fini(&w);
}
END_TEST

/* Output is appended after what the writer already holds. */
START_TEST(appends_to_writer)
{
    for (size_t i = 0; i < N_CODECS; i++) {
        int codec = all_codecs[i];
        if (!have(codec, "appends_to_writer"))
            continue;
        kw_wr c, d;
        kw_wr_init_dyn(&c, NULL, 1 << 20);
        kw_wr_raw(&c, "HDR", 3);
        ck_assert_int_eq(kw_compress(codec, KW_CODEC_LEVEL_DEFAULT, sl("payload", 7), &c), 0);
        kw_wr_init_dyn(&d, NULL, 1 << 20);
        kw_wr_raw(&d, "xy", 2);
        ck_assert_int_eq(kw_decompress(codec, sl(c.base + 3, kw_wr_len(&c) - 3), &d, 7), 0);
        ck_assert_uint_eq(kw_wr_len(&d), 9);
        ck_assert(memcmp(d.base, "xypayload", 9) == 0);
        kw_wr_fini(&c);
        kw_wr_fini(&d);
    }
}
END_TEST

/* Files written by gzip, lz4 and zstd themselves. */
START_TEST(cli_fixtures)
{
    static const struct {
        const char *file;
        int codec;
        int copies;
    } fx[] = {
        {"text.gz", KW_CODEC_GZIP, 1},    {"concat.gz", KW_CODEC_GZIP, 1},
        {"kafka.lz4", KW_CODEC_LZ4, 1},   {"default.lz4", KW_CODEC_LZ4, 1},
        {"csize.lz4", KW_CODEC_LZ4, 1},   {"text.zst", KW_CODEC_ZSTD, 1},
        {"stream.zst", KW_CODEC_ZSTD, 1},
    };
    uint8_t *plain = make_plain();
    for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
        if (!have(fx[i].codec, fx[i].file))
            continue;
        size_t len;
        uint8_t *data = fixture(fx[i].file, &len);
        kw_wr d;
        kw_err e = inflate_to(fx[i].codec, sl(data, len), PLAIN_LEN, &d);
        ck_assert_msg(e == KW_ERR_OK, "%s: %s", fx[i].file, kw_err_name(e));
        ck_assert_uint_eq(kw_wr_len(&d), PLAIN_LEN);
        ck_assert_msg(memcmp(d.base, plain, PLAIN_LEN) == 0, "%s: output differs", fx[i].file);
        kw_wr_fini(&d);
        free(data);
    }
    free(plain);
}
END_TEST

/* Two frames back to back decode to both outputs (lz4 and zstd allow it, like gzip members). */
START_TEST(concatenated_frames)
{
    const char *pairs[][2] = {{"kafka.lz4", "default.lz4"}, {"text.zst", "stream.zst"}};
    int codecs[] = {KW_CODEC_LZ4, KW_CODEC_ZSTD};
    uint8_t *plain = make_plain();
    for (size_t i = 0; i < 2; i++) {
        if (!have(codecs[i], "concatenated_frames"))
            continue;
        size_t la, lb;
        uint8_t *a = fixture(pairs[i][0], &la), *b = fixture(pairs[i][1], &lb);
        uint8_t *ab = malloc(la + lb);
        memcpy(ab, a, la);
        memcpy(ab + la, b, lb);
        kw_wr d;
        ck_assert_int_eq(inflate_to(codecs[i], sl(ab, la + lb), 2 * PLAIN_LEN, &d), KW_ERR_OK);
        ck_assert_uint_eq(kw_wr_len(&d), 2 * PLAIN_LEN);
        ck_assert(memcmp(d.base + PLAIN_LEN, plain, PLAIN_LEN) == 0);
        kw_wr_fini(&d);
        free(a);
        free(b);
        free(ab);
    }
    free(plain);
}
END_TEST

/* What Kafka's Java reader expects: the exact LZ4 frame header, gzip and zstd magic, xerial
 * snappy framing with blocks of at most 32 KiB of input. */
START_TEST(kafka_framing)
{
    uint8_t *plain = make_plain();
    kw_wr c;
    if (have(KW_CODEC_LZ4, "kafka_framing")) {
        kw_wr_init_dyn(&c, NULL, 1 << 20);
        ck_assert_int_eq(
            kw_compress(KW_CODEC_LZ4, KW_CODEC_LEVEL_DEFAULT, sl(plain, PLAIN_LEN), &c), 0);
        static const uint8_t hdr[7] = {0x04, 0x22, 0x4D, 0x18, 0x60, 0x40, 0x82};
        ck_assert(memcmp(c.base, hdr, 7) == 0);
        /* Blocks: uint32 LE size (high bit: stored), data; then the 0 end mark. */
        size_t pos = 7, blocks = 0;
        for (;;) {
            ck_assert_uint_le(pos + 4, kw_wr_len(&c));
            uint32_t sz = (uint32_t)c.base[pos] | (uint32_t)c.base[pos + 1] << 8 |
                          (uint32_t)c.base[pos + 2] << 16 | (uint32_t)c.base[pos + 3] << 24;
            pos += 4;
            if (sz == 0)
                break;
            pos += sz & 0x7fffffffu;
            blocks++;
        }
        ck_assert_uint_eq(pos, kw_wr_len(&c));
        ck_assert_uint_eq(blocks, 2); /* 84000 bytes in 64 KiB blocks */
        kw_wr_fini(&c);
    }
    if (have(KW_CODEC_SNAPPY, "kafka_framing")) {
        kw_wr_init_dyn(&c, NULL, 1 << 20);
        ck_assert_int_eq(kw_compress(KW_CODEC_SNAPPY, 0, sl(plain, PLAIN_LEN), &c), 0);
        static const uint8_t hdr[16] = {0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0,
                                        0,    0,   0,   1,   0,   0,   0,   1};
        ck_assert(memcmp(c.base, hdr, 16) == 0);
        size_t pos = 16, blocks = 0;
        while (pos < kw_wr_len(&c)) {
            uint32_t sz = (uint32_t)c.base[pos] << 24 | (uint32_t)c.base[pos + 1] << 16 |
                          (uint32_t)c.base[pos + 2] << 8 | c.base[pos + 3];
            pos += 4 + sz;
            blocks++;
        }
        ck_assert_uint_eq(pos, kw_wr_len(&c));
        ck_assert_uint_eq(blocks, 3); /* 32768 + 32768 + 18464 */
        kw_wr_fini(&c);
    }
    if (have(KW_CODEC_GZIP, "kafka_framing")) {
        kw_wr_init_dyn(&c, NULL, 1 << 20);
        ck_assert_int_eq(kw_compress(KW_CODEC_GZIP, KW_CODEC_LEVEL_DEFAULT, sl("x", 1), &c), 0);
        ck_assert(c.base[0] == 0x1f && c.base[1] == 0x8b && c.base[2] == 8);
        kw_wr_fini(&c);
    }
    if (have(KW_CODEC_ZSTD, "kafka_framing")) {
        kw_wr_init_dyn(&c, NULL, 1 << 20);
        ck_assert_int_eq(kw_compress(KW_CODEC_ZSTD, KW_CODEC_LEVEL_DEFAULT, sl("x", 1), &c), 0);
        ck_assert(memcmp(c.base, "\x28\xb5\x2f\xfd", 4) == 0);
        kw_wr_fini(&c);
    }
    free(plain);
}
END_TEST

/* Raw snappy blocks assembled by hand: literal and 1-byte-offset copy (overlapping), literal and
 * 2-byte-offset copy. */
static const char snappy_a[] = "0d"
                               "08616263" /* literal "abc" */
                               "1503"     /* copy len 9, offset 3 */
                               "0058";    /* literal "X" */
static const char snappy_b[] = "19"
                               "3068656c6c6f20776f726c642c20" /* literal "hello world, " */
                               "2a0d00"                       /* copy len 11, offset 13 */
                               "0021";                        /* literal "!" */
#define SNAPPY_OUT "abcabcabcabcXhello world, hello world!"

static size_t
unhex(const char *h, uint8_t *out)
{
    long n = kwt_unhex(h, strlen(h), out);
    ck_assert(n >= 0);
    return (size_t)n;
}

START_TEST(snappy_hand_assembled)
{
    if (!have(KW_CODEC_SNAPPY, "snappy_hand_assembled"))
        return;
    uint8_t a[64], b[64], x[160];
    size_t na = unhex(snappy_a, a), nb = unhex(snappy_b, b);
    kw_wr d;
    /* A bare raw block, as SnappyInputStream accepts without the xerial magic. */
    ck_assert_int_eq(inflate_to(KW_CODEC_SNAPPY, sl(a, na), 100, &d), 0);
    ck_assert_uint_eq(kw_wr_len(&d), 13);
    ck_assert(memcmp(d.base, "abcabcabcabcX", 13) == 0);
    kw_wr_fini(&d);
    /* xerial: magic, version 1, compat 1, two length-prefixed blocks. */
    size_t n = unhex("82534e41505059000000000100000001", x);
    x[n++] = 0, x[n++] = 0, x[n++] = 0, x[n++] = (uint8_t)na;
    memcpy(x + n, a, na), n += na;
    x[n++] = 0, x[n++] = 0, x[n++] = 0, x[n++] = (uint8_t)nb;
    memcpy(x + n, b, nb), n += nb;
    ck_assert_int_eq(inflate_to(KW_CODEC_SNAPPY, sl(x, n), 100, &d), 0);
    ck_assert_uint_eq(kw_wr_len(&d), strlen(SNAPPY_OUT));
    ck_assert(memcmp(d.base, SNAPPY_OUT, strlen(SNAPPY_OUT)) == 0);
    kw_wr_fini(&d);
    /* The second block pushes past the bound. */
    ck_assert_int_eq(inflate_to(KW_CODEC_SNAPPY, sl(x, n), 20, &d), KW_ERR_BOMB);
    kw_wr_fini(&d);
    /* A block length past the end, and a cut length field. */
    x[16 + 3] = (uint8_t)(na + 100);
    ck_assert_int_eq(inflate_to(KW_CODEC_SNAPPY, sl(x, n), 100, &d), KW_ERR_DECOMPRESS);
    kw_wr_fini(&d);
    x[16 + 3] = (uint8_t)na;
    ck_assert_int_eq(inflate_to(KW_CODEC_SNAPPY, sl(x, 16 + 4 + na + 2), 100, &d),
                     KW_ERR_DECOMPRESS);
    kw_wr_fini(&d);
    /* A header alone is an empty stream. */
    ck_assert_int_eq(inflate_to(KW_CODEC_SNAPPY, sl(x, 16), 100, &d), 0);
    ck_assert_uint_eq(kw_wr_len(&d), 0);
    kw_wr_fini(&d);
    /* A copy before any output, and a 4 GiB length claim (refused before allocating). */
    n = unhex("051503", x);
    ck_assert_int_eq(inflate_to(KW_CODEC_SNAPPY, sl(x, n), 100, &d), KW_ERR_DECOMPRESS);
    kw_wr_fini(&d);
    n = unhex("ffffffff0f00", x);
    ck_assert_int_eq(inflate_to(KW_CODEC_SNAPPY, sl(x, n), 1 << 20, &d), KW_ERR_BOMB);
    ck_assert_uint_eq(kw_wr_len(&d), 0);
    kw_wr_fini(&d);
    n = unhex("ffffffffff", x);
    ck_assert_int_eq(inflate_to(KW_CODEC_SNAPPY, sl(x, n), 100, &d), KW_ERR_DECOMPRESS);
    kw_wr_fini(&d);
}
END_TEST

/* 1 MiB of zeros compresses to a few hundred bytes; with a 64 KiB bound every codec stops with
 * KW_ERR_BOMB having used no more than the bound, and a bound of exactly 1 MiB fits. */
START_TEST(bombs)
{
    size_t big = 1u << 20, bound = 64u << 10;
    uint8_t *zeros = calloc(1, big);
    for (size_t i = 1; i < N_CODECS; i++) {
        int codec = all_codecs[i];
        if (!have(codec, "bombs"))
            continue;
        kw_wr c, d;
        kw_wr_init_dyn(&c, NULL, 1 << 22);
        ck_assert_int_eq(kw_compress(codec, KW_CODEC_LEVEL_DEFAULT, sl(zeros, big), &c), 0);
        ck_assert_uint_lt(kw_wr_len(&c), big / 16);
        kw_err e = inflate_to(codec, wr_slice(&c), bound, &d);
        ck_assert_msg(e == KW_ERR_BOMB, "%s: %s", kw_codec_name(codec), kw_err_name(e));
        ck_assert_uint_le(kw_wr_len(&d), bound);
        ck_assert_uint_le((size_t)(d.end - d.base), 2 * bound);
        kw_wr_fini(&d);
        ck_assert_int_eq(inflate_to(codec, wr_slice(&c), big, &d), KW_ERR_OK);
        ck_assert_uint_eq(kw_wr_len(&d), big);
        kw_wr_fini(&d);
        kw_wr_fini(&c);
    }
    free(zeros);
}
END_TEST

/* A zstd frame that declares a 256 MiB window for 1000 bytes of data: the decoder would
 * allocate the window, so under a small bound it is refused as a bomb. */
START_TEST(zstd_window_bomb)
{
    if (!have(KW_CODEC_ZSTD, "zstd_window_bomb"))
        return;
    size_t len;
    uint8_t *data = fixture("window256m.zst", &len);
    kw_wr d;
    ck_assert_int_eq(inflate_to(KW_CODEC_ZSTD, sl(data, len), 1 << 20, &d), KW_ERR_BOMB);
    kw_wr_fini(&d);
    free(data);
}
END_TEST

/* Every prefix of each fixture fails (never succeeds with partial output, never crashes):
 * gzip members end with a trailer, lz4 frames with an end mark, zstd frames with a last block.
 * Each prefix gets its own allocation so ASan sees any over-read. */
START_TEST(truncation)
{
    static const struct {
        const char *file;
        int codec;
    } fx[] = {{"text.gz", KW_CODEC_GZIP},
              {"kafka.lz4", KW_CODEC_LZ4},
              {"csize.lz4", KW_CODEC_LZ4},
              {"stream.zst", KW_CODEC_ZSTD}};
    for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
        if (!have(fx[i].codec, "truncation"))
            continue;
        size_t len;
        uint8_t *data = fixture(fx[i].file, &len);
        for (size_t cut = 0; cut < len; cut += (cut < 64 || len - cut < 64) ? 1 : 13) {
            uint8_t *pre = malloc(cut ? cut : 1);
            memcpy(pre, data, cut);
            kw_wr d;
            kw_err e = inflate_to(fx[i].codec, sl(pre, cut), PLAIN_LEN, &d);
            ck_assert_msg(e == KW_ERR_DECOMPRESS, "%s cut at %zu of %zu: %s", fx[i].file, cut, len,
                          kw_err_name(e));
            kw_wr_fini(&d);
            free(pre);
        }
        free(data);
    }
}
END_TEST

/* A flipped byte is caught by the gzip CRC, the lz4 content checksum or the zstd checksum (or
 * earlier, by the format); trailing garbage after a member or frame is an error. */
START_TEST(corruption)
{
    static const struct {
        const char *file;
        int codec;
    } fx[] = {{"text.gz", KW_CODEC_GZIP},
              {"default.lz4", KW_CODEC_LZ4},
              {"kafka.lz4", KW_CODEC_LZ4},
              {"stream.zst", KW_CODEC_ZSTD}};
    for (size_t i = 0; i < sizeof(fx) / sizeof(fx[0]); i++) {
        if (!have(fx[i].codec, "corruption"))
            continue;
        size_t len;
        uint8_t *data = fixture(fx[i].file, &len);
        kw_wr d;
        if (fx[i].codec != KW_CODEC_LZ4 || strcmp(fx[i].file, "kafka.lz4") != 0) {
            /* Kafka's lz4 frame has no checksum, so only the others detect a flipped byte. */
            for (size_t pos = 12; pos < len - 4; pos += len / 7) {
                data[pos] ^= 0x5a;
                /* A generous bound: a damaged stream may well decode to more than before. */
                kw_err e = inflate_to(fx[i].codec, sl(data, len), 1u << 24, &d);
                ck_assert_msg(e == KW_ERR_DECOMPRESS, "%s flipped at %zu: %s", fx[i].file, pos,
                              kw_err_name(e));
                kw_wr_fini(&d);
                data[pos] ^= 0x5a;
            }
        }
        uint8_t *tail = malloc(len + 5);
        memcpy(tail, data, len);
        memcpy(tail + len, "junk!", 5);
        kw_err e = inflate_to(fx[i].codec, sl(tail, len + 5), 2 * PLAIN_LEN, &d);
        ck_assert_msg(e == KW_ERR_DECOMPRESS, "%s + junk: %s", fx[i].file, kw_err_name(e));
        kw_wr_fini(&d);
        e = inflate_to(fx[i].codec, sl("\x01\x02\x03\x04\x05\x06\x07\x08\x09", 9), 100, &d);
        ck_assert_msg(e == KW_ERR_DECOMPRESS, "%s garbage: %s", fx[i].file, kw_err_name(e));
        kw_wr_fini(&d);
        e = inflate_to(fx[i].codec, sl("", 0), 100, &d);
        ck_assert_msg(e == KW_ERR_DECOMPRESS, "%s empty: %s", fx[i].file, kw_err_name(e));
        kw_wr_fini(&d);
        free(tail);
        free(data);
    }
}
END_TEST

/* A fixed writer exactly the size of the output is enough (the bound is probed, not the
 * writer); one byte less is KW_ERR_NOSPACE, not a bomb. */
START_TEST(writer_limits)
{
    uint8_t *plain = make_plain();
    uint8_t *buf = malloc(PLAIN_LEN);
    for (size_t i = 1; i < N_CODECS; i++) {
        int codec = all_codecs[i];
        if (!have(codec, "writer_limits"))
            continue;
        kw_wr c, d;
        kw_wr_init_dyn(&c, NULL, 1 << 20);
        ck_assert_int_eq(kw_compress(codec, KW_CODEC_LEVEL_DEFAULT, sl(plain, PLAIN_LEN), &c), 0);
        kw_wr_init_fixed(&d, buf, PLAIN_LEN);
        kw_err e = kw_decompress(codec, wr_slice(&c), &d, 1u << 30);
        ck_assert_msg(e == KW_ERR_OK, "%s exact fixed writer: %s", kw_codec_name(codec),
                      kw_err_name(e));
        ck_assert(memcmp(buf, plain, PLAIN_LEN) == 0);
        kw_wr_init_fixed(&d, buf, PLAIN_LEN - 1);
        e = kw_decompress(codec, wr_slice(&c), &d, 1u << 30);
        ck_assert_msg(e == KW_ERR_NOSPACE, "%s short fixed writer: %s", kw_codec_name(codec),
                      kw_err_name(e));
        /* A growing writer with a maximum behaves the same way. */
        kw_wr_init_dyn(&d, NULL, PLAIN_LEN);
        ck_assert_int_eq(kw_decompress(codec, wr_slice(&c), &d, 1u << 30), KW_ERR_OK);
        kw_wr_fini(&d);
        kw_wr_init_fixed(&d, buf, 10);
        ck_assert_int_eq(kw_compress(codec, KW_CODEC_LEVEL_DEFAULT, sl(plain, PLAIN_LEN), &d),
                         KW_ERR_NOSPACE);
        kw_wr_fini(&c);
    }
    free(buf);
    free(plain);
}
END_TEST

/* Kafka 0.8-0.9 computed the lz4 header checksum of magic-0 messages over the magic number as
 * well: for Kafka's header 04 22 4D 18 60 40 that byte is 0x1A instead of 0x82 (XXH32 of the
 * six bytes, computed for this test by an independent Python XXH32 that reproduces the header
 * checksums of all three lz4 fixtures). */
START_TEST(lz4_legacy_header_checksum)
{
    if (!have(KW_CODEC_LZ4, "lz4_legacy_header_checksum"))
        return;
    size_t len;
    uint8_t *data = fixture("kafka.lz4", &len);
    ck_assert_uint_eq(data[6], 0x82);
    data[6] = 0x1a;
    kw_wr d;
    ck_assert_int_eq(inflate_to(KW_CODEC_LZ4, sl(data, len), PLAIN_LEN, &d), KW_ERR_DECOMPRESS);
    kw_wr_fini(&d);
    kw_wr_init_dyn(&d, NULL, 1 << 20);
    ck_assert_int_eq(
        kw_decompress_ex(KW_CODEC_LZ4, KW_DECOMPRESS_LZ4_LEGACY_HC, sl(data, len), &d, PLAIN_LEN),
        KW_ERR_OK);
    ck_assert_uint_eq(kw_wr_len(&d), PLAIN_LEN);
    kw_wr_fini(&d);
    /* Exactly two header checksums pass with the flag (right and legacy), one without. */
    int with = 0, without = 0;
    for (int v = 0; v < 256; v++) {
        data[6] = (uint8_t)v;
        kw_wr_init_dyn(&d, NULL, 1 << 20);
        with += kw_decompress_ex(KW_CODEC_LZ4, KW_DECOMPRESS_LZ4_LEGACY_HC, sl(data, len), &d,
                                 PLAIN_LEN) == KW_ERR_OK;
        kw_wr_fini(&d);
        kw_wr_init_dyn(&d, NULL, 1 << 20);
        without += kw_decompress(KW_CODEC_LZ4, sl(data, len), &d, PLAIN_LEN) == KW_ERR_OK;
        kw_wr_fini(&d);
    }
    ck_assert_int_eq(with, 2);
    ck_assert_int_eq(without, 1);
    free(data);
}
END_TEST

/* Says, once per run, which codecs this build has, so a skipped codec is visible in the log. */
/* One context through every codec, level changes, failures and both directions: each output
 * is byte-identical to the context-free call, and a context that saw an error (a corrupt
 * frame, a bomb, a full writer) works as new afterwards. */
static void
ctx_compress_same(kw_codec_ctx *ctx, int codec, int level, kw_slice in)
{
    kw_wr a, b;
    kw_wr_init_dyn(&a, NULL, 1u << 26);
    kw_wr_init_dyn(&b, NULL, 1u << 26);
    ck_assert_int_eq(kw_compress(codec, level, in, &a), KW_ERR_OK);
    ck_assert_int_eq(kw_compress_ctx(ctx, codec, level, in, &b), KW_ERR_OK);
    ck_assert_msg(kw_wr_len(&a) == kw_wr_len(&b) && memcmp(a.base, b.base, kw_wr_len(&a)) == 0,
                  "%s level %d: context output differs", kw_codec_name(codec), level);
    kw_wr d;
    kw_wr_init_dyn(&d, NULL, 1u << 26);
    ck_assert_int_eq(kw_decompress_ctx(ctx, codec, 0, wr_slice(&b), &d, (size_t)in.len), KW_ERR_OK);
    ck_assert_uint_eq(kw_wr_len(&d), (size_t)in.len);
    ck_assert(in.len == 0 || memcmp(d.base, in.ptr, (size_t)in.len) == 0);
    kw_wr_fini(&d);
    kw_wr_fini(&a);
    kw_wr_fini(&b);
}

START_TEST(contexts_reuse)
{
    uint8_t *plain = make_plain();
    uint8_t *noise = make_noise(70000);
    kw_codec_ctx *ctx;
    ck_assert_int_eq(kw_codec_ctx_new(NULL, &ctx), KW_ERR_OK);
    static const int levels[][3] = {{0, 0, 0}, {-1, 1, 9}, {0, 0, 0}, {9, 3, 9}, {3, 1, 3}};
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < N_CODECS; i++) {
            int codec = all_codecs[i];
            if (!have(codec, "contexts_reuse"))
                continue;
            for (int k = 0; k < 3; k++) {
                int level = codec == KW_CODEC_SNAPPY || codec == KW_CODEC_NONE
                                ? KW_CODEC_LEVEL_DEFAULT
                                : levels[codec][k];
                ctx_compress_same(ctx, codec, level, sl(plain, 100 + 1000 * (size_t)k));
                ctx_compress_same(ctx, codec, level, sl(noise, 70000));
            }
            if (codec == KW_CODEC_NONE)
                continue;
            /* Failures leave the context usable: a bomb, a corrupt frame, a full writer. */
            kw_wr c, d;
            kw_wr_init_dyn(&c, NULL, 1u << 24);
            ck_assert_int_eq(
                kw_compress_ctx(ctx, codec, KW_CODEC_LEVEL_DEFAULT, sl(plain, PLAIN_LEN), &c),
                KW_ERR_OK);
            kw_wr_init_dyn(&d, NULL, 1u << 24);
            ck_assert_int_eq(kw_decompress_ctx(ctx, codec, 0, wr_slice(&c), &d, 1000), KW_ERR_BOMB);
            kw_wr_fini(&d);
            kw_wr_init_dyn(&d, NULL, 1u << 24);
            kw_err e =
                kw_decompress_ctx(ctx, codec, 0, sl(c.base, kw_wr_len(&c) / 2), &d, PLAIN_LEN);
            ck_assert_msg(e == KW_ERR_DECOMPRESS, "%s truncated: %s", kw_codec_name(codec),
                          kw_err_name(e));
            kw_wr_fini(&d);
            uint8_t small[64];
            kw_wr_init_fixed(&d, small, sizeof(small));
            ck_assert_int_ne(
                kw_compress_ctx(ctx, codec, KW_CODEC_LEVEL_DEFAULT, sl(noise, 70000), &d),
                KW_ERR_OK);
            kw_wr_fini(&c);
            ctx_compress_same(ctx, codec, KW_CODEC_LEVEL_DEFAULT, sl(plain, PLAIN_LEN));
        }
    kw_codec_ctx_free(ctx);
    kw_codec_ctx_free(NULL);
    ck_assert_int_eq(kw_codec_ctx_new(NULL, NULL), KW_ERR_INVALID_ARG);
    free(plain);
    free(noise);
}
END_TEST

START_TEST(build_report)
{
    for (size_t i = 1; i < N_CODECS; i++)
        if (!kw_codec_available(all_codecs[i]))
            fprintf(stderr,
                    "SKIP: %s is not built in: its tests only check "
                    "KW_ERR_UNSUPPORTED_CODEC\n",
                    kw_codec_name(all_codecs[i]));
    ck_assert_int_eq(kw_codec_available(KW_CODEC_GZIP), KW_HAVE_ZLIB);
    ck_assert_int_eq(kw_codec_available(KW_CODEC_SNAPPY), KW_HAVE_SNAPPY);
    ck_assert_int_eq(kw_codec_available(KW_CODEC_LZ4), KW_HAVE_LZ4);
    ck_assert_int_eq(kw_codec_available(KW_CODEC_ZSTD), KW_HAVE_ZSTD);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("proto_codec");
    TCase *tc = tcase_create("codec");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, build_report);
    tcase_add_test(tc, round_trips);
    tcase_add_test(tc, contexts_reuse);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, appends_to_writer);
    tcase_add_test(tc, cli_fixtures);
    tcase_add_test(tc, concatenated_frames);
    tcase_add_test(tc, kafka_framing);
    tcase_add_test(tc, snappy_hand_assembled);
    tcase_add_test(tc, bombs);
    tcase_add_test(tc, zstd_window_bomb);
    tcase_add_test(tc, truncation);
    tcase_add_test(tc, corruption);
    tcase_add_test(tc, writer_limits);
    tcase_add_test(tc, lz4_legacy_header_checksum);
    suite_add_tcase(s, tc);
    return s;
}
