/* The reader and writer cursors, the headers and the arena, primitive by primitive: exact wire
 * bytes both ways (README section 2), every failure mode (truncation, overlong varints, null and
 * negative lengths, hostile counts, no space), sticky errors, and decoding truncated frames that
 * end at a PROT_NONE page so any read past the end faults. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kwire/proto.h"
#include "../../support/guard.h"

/* ---------------------------------------------------------------- helpers */

static int
nib(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Hex with optional spaces ("80 01") into out; returns the byte count. */
static size_t
hx(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ') {
            s++;
            continue;
        }
        int a = nib(s[0]), b = nib(s[1]);
        ck_assert_msg(a >= 0 && b >= 0, "bad hex in test: %s", s);
        out[n++] = (uint8_t)(a << 4 | b);
        s += 2;
    }
    return n;
}

/* A reader over hex bytes kept in buf. */
static kw_rd
rdx(const char *hex, uint8_t *buf)
{
    kw_rd r;
    kw_rd_init(&r, buf, hx(hex, buf));
    return r;
}

/* Whether the writer's output is exactly the given hex. */
static void
assert_wr_hex(const kw_wr *w, const char *hex)
{
    uint8_t want[256];
    size_t n = hx(hex, want);
    ck_assert_msg(kw_wr_len(w) == n, "wrote %zu bytes, want %zu (%s)", kw_wr_len(w), n, hex);
    ck_assert_msg(n == 0 || memcmp(w->base, want, n) == 0, "bytes differ from %s", hex);
}

/* An allocator that counts live blocks and bytes, checks sized frees, and can fail. */
typedef struct track {
    long live_blocks;
    size_t live_bytes;
    long allocs;
    long fail_after; /* fail every request once this many have succeeded; -1 never */
} track;

static void *
tr_alloc(void *ud, size_t size)
{
    track *t = ud;
    if (t->fail_after >= 0 && t->allocs >= t->fail_after)
        return NULL;
    /* Refuse absurd sizes as malloc would, without tripping a sanitizer's size check. */
    if (size > (size_t)1 << 40)
        return NULL;
    /* A size header in front lets free check the size it is given. */
    size_t *p = malloc(sizeof(size_t) * 2 + size);
    if (!p)
        return NULL;
    p[0] = size;
    t->allocs++;
    t->live_blocks++;
    t->live_bytes += size;
    return p + 2;
}

static void *
tr_realloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    track *t = ud;
    if (t->fail_after >= 0 && t->allocs >= t->fail_after)
        return NULL;
    if (new_size > (size_t)1 << 40)
        return NULL;
    size_t *h = (size_t *)ptr - 2;
    ck_assert_uint_eq(h[0], old_size);
    size_t *p = realloc(h, sizeof(size_t) * 2 + new_size);
    if (!p)
        return NULL;
    p[0] = new_size;
    t->allocs++;
    t->live_bytes = t->live_bytes - old_size + new_size;
    return p + 2;
}

static void
tr_free(void *ud, void *ptr, size_t size)
{
    track *t = ud;
    if (!ptr)
        return;
    size_t *h = (size_t *)ptr - 2;
    ck_assert_uint_eq(h[0], size);
    t->live_blocks--;
    t->live_bytes -= size;
    free(h);
}

static kw_allocator
tracker(track *t, long fail_after)
{
    memset(t, 0, sizeof(*t));
    t->fail_after = fail_after;
    kw_allocator a = {tr_alloc, tr_realloc, tr_free, t};
    return a;
}

/* ---------------------------------------------------------------- fixed-width integers */

START_TEST(rd_fixed_width)
{
    uint8_t b[128];
    kw_rd r = rdx("7f 80"
                  "12 34 ff fe"
                  "12 34 56 78 80 00 00 00"
                  "01 02 03 04 05 06 07 08 ff ff ff ff ff ff ff ff"
                  "ff ff ff ff ff ff"
                  "3f f0 00 00 00 00 00 00 80 00 00 00 00 00 00 00"
                  "00 01 02"
                  "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f",
                  b);
    ck_assert_int_eq(kw_rd_i8(&r), 127);
    ck_assert_int_eq(kw_rd_i8(&r), -128);
    ck_assert_int_eq(kw_rd_i16(&r), 0x1234);
    ck_assert_int_eq(kw_rd_i16(&r), -2);
    ck_assert_int_eq(kw_rd_i32(&r), 0x12345678);
    ck_assert_int_eq(kw_rd_i32(&r), INT32_MIN);
    ck_assert(kw_rd_i64(&r) == INT64_C(0x0102030405060708));
    ck_assert(kw_rd_i64(&r) == -1);
    ck_assert_uint_eq(kw_rd_u16(&r), 0xffff);
    ck_assert_uint_eq(kw_rd_u32(&r), 0xffffffffu);
    ck_assert(kw_rd_f64(&r) == 1.0);
    double nz = kw_rd_f64(&r);
    ck_assert(nz == 0.0 && signbit(nz));
    ck_assert(!kw_rd_bool(&r));
    ck_assert(kw_rd_bool(&r));
    ck_assert(kw_rd_bool(&r)); /* any nonzero byte is true */
    kw_uuid u = kw_rd_uuid(&r);
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq(u.b[i], i);
    ck_assert_uint_eq(kw_rd_remain(&r), 0);
    ck_assert_uint_eq(kw_rd_pos(&r), 71);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
    /* One more byte is one too many. */
    ck_assert_int_eq(kw_rd_i8(&r), 0);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
}
END_TEST

START_TEST(wr_fixed_width)
{
    uint8_t buf[128];
    kw_wr w;
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_wr_i8(&w, 127);
    kw_wr_i8(&w, -128);
    kw_wr_i16(&w, 0x1234);
    kw_wr_i16(&w, -2);
    kw_wr_i32(&w, 0x12345678);
    kw_wr_i32(&w, INT32_MIN);
    kw_wr_i64(&w, INT64_C(0x0102030405060708));
    kw_wr_i64(&w, -1);
    kw_wr_u16(&w, 0xffff);
    kw_wr_u32(&w, 0xffffffffu);
    kw_wr_f64(&w, 1.0);
    kw_wr_f64(&w, -0.0);
    kw_wr_bool(&w, false);
    kw_wr_bool(&w, true);
    kw_uuid u;
    for (int i = 0; i < 16; i++)
        u.b[i] = (uint8_t)i;
    kw_wr_uuid(&w, &u);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);
    assert_wr_hex(&w, "7f 80 12 34 ff fe 12 34 56 78 80 00 00 00"
                      "01 02 03 04 05 06 07 08 ff ff ff ff ff ff ff ff"
                      "ff ff ff ff ff ff"
                      "3f f0 00 00 00 00 00 00 80 00 00 00 00 00 00 00"
                      "00 01"
                      "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f");
}
END_TEST

/* ---------------------------------------------------------------- varints */

static const struct {
    int32_t v;
    const char *hex;
} zigzag32[] = {
    {0, "00"},
    {-1, "01"},
    {1, "02"},
    {63, "7e"},
    {-64, "7f"},
    {64, "80 01"},
    {-65, "81 01"},
    {150, "ac 02"},
    {8191, "fe 7f"},
    {-8192, "ff 7f"},
    {8192, "80 80 01"},
    {INT32_MAX, "fe ff ff ff 0f"},
    {INT32_MIN, "ff ff ff ff 0f"},
};

static const struct {
    int64_t v;
    const char *hex;
} zigzag64[] = {
    {0, "00"},
    {-1, "01"},
    {1, "02"},
    {63, "7e"},
    {64, "80 01"},
    {INT64_C(2147483647), "fe ff ff ff 0f"},
    {INT64_C(-2147483648), "ff ff ff ff 0f"},
    {INT64_C(2147483648), "80 80 80 80 10"},
    {INT64_MAX, "fe ff ff ff ff ff ff ff ff 01"},
    {INT64_MIN, "ff ff ff ff ff ff ff ff ff 01"},
};

START_TEST(zigzag_varint)
{
    for (size_t i = 0; i < sizeof(zigzag32) / sizeof(zigzag32[0]); i++) {
        uint8_t b[16], o[16];
        kw_rd r = rdx(zigzag32[i].hex, b);
        size_t n = kw_rd_remain(&r);
        ck_assert_int_eq(kw_rd_varint(&r), zigzag32[i].v);
        ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
        ck_assert_uint_eq(kw_rd_remain(&r), 0);
        kw_wr w;
        kw_wr_init_fixed(&w, o, sizeof(o));
        kw_wr_varint(&w, zigzag32[i].v);
        ck_assert_uint_eq(kw_wr_len(&w), n);
        assert_wr_hex(&w, zigzag32[i].hex);
    }
}
END_TEST

START_TEST(zigzag_varlong)
{
    for (size_t i = 0; i < sizeof(zigzag64) / sizeof(zigzag64[0]); i++) {
        uint8_t b[16], o[16];
        kw_rd r = rdx(zigzag64[i].hex, b);
        ck_assert(kw_rd_varlong(&r) == zigzag64[i].v);
        ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
        ck_assert_uint_eq(kw_rd_remain(&r), 0);
        kw_wr w;
        kw_wr_init_fixed(&w, o, sizeof(o));
        kw_wr_varlong(&w, zigzag64[i].v);
        assert_wr_hex(&w, zigzag64[i].hex);
    }
}
END_TEST

START_TEST(unsigned_varint)
{
    static const struct {
        uint32_t v;
        const char *hex;
    } t[] = {
        {0, "00"},
        {1, "01"},
        {127, "7f"},
        {128, "80 01"},
        {300, "ac 02"},
        {16383, "ff 7f"},
        {16384, "80 80 01"},
        {2097151, "ff ff 7f"},
        {2097152, "80 80 80 01"},
        {268435455, "ff ff ff 7f"},
        {268435456, "80 80 80 80 01"},
        {UINT32_MAX, "ff ff ff ff 0f"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        uint8_t b[16], o[16];
        kw_rd r = rdx(t[i].hex, b);
        size_t n = kw_rd_remain(&r);
        ck_assert_uint_eq(kw_rd_uvarint(&r), t[i].v);
        ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
        ck_assert_uint_eq(kw_uvarint_size(t[i].v), n);
        kw_wr w;
        kw_wr_init_fixed(&w, o, sizeof(o));
        kw_wr_uvarint(&w, t[i].v);
        assert_wr_hex(&w, t[i].hex);
        /* The same bytes read as a varlong give the same value. */
        r = rdx(t[i].hex, b);
        ck_assert(kw_rd_uvarlong(&r) == t[i].v);
    }
    uint8_t b[16], o[16];
    kw_rd r = rdx("ff ff ff ff ff ff ff ff ff 01", b);
    ck_assert(kw_rd_uvarlong(&r) == UINT64_MAX);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
    kw_wr w;
    kw_wr_init_fixed(&w, o, sizeof(o));
    kw_wr_uvarlong(&w, UINT64_MAX);
    assert_wr_hex(&w, "ff ff ff ff ff ff ff ff ff 01");
    r = rdx("80 80 80 80 80 80 80 80 80 01", b);
    ck_assert(kw_rd_uvarlong(&r) == UINT64_C(1) << 63);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
}
END_TEST

START_TEST(overlong_varints_rejected)
{
    static const char *bad32[] = {
        "80 00", /* a redundant zero group */
        "ff 00", /* the same after a nonzero group */
        "80 80 00",
        "80 80 80 80 00",    /* five bytes for zero */
        "80 80 80 80 80 01", /* a fifth byte with the continuation bit */
        "ff ff ff ff 10",    /* a fifth byte with bits past 32 */
        "ff ff ff ff 1f",
        "ff ff ff ff 7f",
        "ff ff ff ff ff ff ff", /* never ends within five bytes */
    };
    for (size_t i = 0; i < sizeof(bad32) / sizeof(bad32[0]); i++) {
        uint8_t b[16];
        kw_rd r = rdx(bad32[i], b);
        ck_assert_uint_eq(kw_rd_uvarint(&r), 0);
        ck_assert_msg(kw_rd_finish(&r) == KW_ERR_OVERLONG, "%s: %s", bad32[i],
                      kw_err_name(kw_rd_finish(&r)));
        r = rdx(bad32[i], b);
        ck_assert_int_eq(kw_rd_varint(&r), 0);
        ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OVERLONG);
    }
    static const char *bad64[] = {
        "80 00",
        "80 80 80 80 80 80 80 80 80 00",
        "ff ff ff ff ff ff ff ff ff 02", /* bit 64 */
        "ff ff ff ff ff ff ff ff ff 81 00",
        "80 80 80 80 80 80 80 80 80 80 01",
    };
    for (size_t i = 0; i < sizeof(bad64) / sizeof(bad64[0]); i++) {
        uint8_t b[16];
        kw_rd r = rdx(bad64[i], b);
        ck_assert(kw_rd_uvarlong(&r) == 0);
        ck_assert_msg(kw_rd_finish(&r) == KW_ERR_OVERLONG, "%s: %s", bad64[i],
                      kw_err_name(kw_rd_finish(&r)));
        r = rdx(bad64[i], b);
        ck_assert(kw_rd_varlong(&r) == 0);
        ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OVERLONG);
    }
    /* Running out of bytes inside a varint is truncation, not overlong. */
    static const char *cut[] = {"", "80", "ff ff", "80 80 80 80"};
    for (size_t i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
        uint8_t b[16];
        kw_rd r = rdx(cut[i], b);
        ck_assert_uint_eq(kw_rd_uvarint(&r), 0);
        ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
        r = rdx(cut[i], b);
        ck_assert(kw_rd_uvarlong(&r) == 0);
        ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
    }
}
END_TEST

/* Deterministic pseudo-random values: encode, check the size, decode. */
START_TEST(varint_round_trip)
{
    uint64_t x = 0x9e3779b97f4a7c15u;
    uint8_t buf[64];
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int shift = (int)(x % 64);
        uint64_t v = x >> shift;
        kw_wr w;
        kw_wr_init_fixed(&w, buf, sizeof(buf));
        kw_wr_uvarint(&w, (uint32_t)v);
        size_t n32 = kw_wr_len(&w);
        ck_assert_uint_eq(n32, kw_uvarint_size((uint32_t)v));
        kw_wr_varint(&w, (int32_t)(uint32_t)v);
        kw_wr_uvarlong(&w, v);
        kw_wr_varlong(&w, (int64_t)v);
        ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);
        kw_rd r;
        kw_rd_init(&r, buf, kw_wr_len(&w));
        ck_assert_uint_eq(kw_rd_uvarint(&r), (uint32_t)v);
        ck_assert_uint_eq(kw_rd_pos(&r), n32);
        ck_assert_int_eq(kw_rd_varint(&r), (int32_t)(uint32_t)v);
        ck_assert(kw_rd_uvarlong(&r) == v);
        ck_assert(kw_rd_varlong(&r) == (int64_t)v);
        ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
        ck_assert_uint_eq(kw_rd_remain(&r), 0);
    }
}
END_TEST

/* ---------------------------------------------------------------- sticky errors */

/* After a failure every read yields zero/empty and the cursor stays where it is. */
static void
assert_dead(kw_rd *r, kw_err want)
{
    size_t pos = kw_rd_pos(r);
    ck_assert_int_eq(kw_rd_finish(r), want);
    ck_assert_uint_eq(kw_rd_remain(r), 0);
    ck_assert_int_eq(kw_rd_i8(r), 0);
    ck_assert_int_eq(kw_rd_i16(r), 0);
    ck_assert_int_eq(kw_rd_i32(r), 0);
    ck_assert(kw_rd_i64(r) == 0);
    ck_assert_uint_eq(kw_rd_u16(r), 0);
    ck_assert_uint_eq(kw_rd_u32(r), 0);
    ck_assert(kw_rd_f64(r) == 0.0);
    ck_assert(!kw_rd_bool(r));
    kw_uuid u = kw_rd_uuid(r);
    static const kw_uuid zero;
    ck_assert(memcmp(&u, &zero, sizeof(u)) == 0);
    ck_assert_uint_eq(kw_rd_uvarint(r), 0);
    ck_assert(kw_rd_uvarlong(r) == 0);
    ck_assert_int_eq(kw_rd_varint(r), 0);
    ck_assert(kw_rd_varlong(r) == 0);
    ck_assert_ptr_null(kw_rd_raw(r, 0));
    ck_assert_ptr_null(kw_rd_raw(r, 1));
    kw_slice s = kw_rd_str(r);
    ck_assert(s.ptr == NULL && s.len == -1);
    s = kw_rd_bytes(r);
    ck_assert(s.ptr == NULL && s.len == -1);
    ck_assert_int_eq(kw_rd_array_len(r, 1), 0);
    kw_rd c = kw_rd_child(r, 0);
    ck_assert_int_eq(kw_rd_finish(&c), want);
    ck_assert_uint_eq(kw_rd_remain(&c), 0);
    kw_rd_tagged_skip(r);
    kw_rd_set_flex(r, true);
    s = kw_rd_str(r);
    ck_assert(s.ptr == NULL && s.len == -1);
    ck_assert_int_eq(kw_rd_array_len(r, 1), 0);
    kw_rd_set_flex(r, false);
    /* A later failure does not replace the first. */
    ck_assert_int_eq(kw_rd_fail(r, KW_ERR_NOMEM), want);
    ck_assert_int_eq(kw_rd_finish(r), want);
    ck_assert_uint_eq(kw_rd_pos(r), pos);
}

START_TEST(sticky_errors)
{
    uint8_t b[64];
    kw_rd r = rdx("00 01 02", b);
    ck_assert_int_eq(kw_rd_i16(&r), 1);
    ck_assert_int_eq(kw_rd_i32(&r), 0); /* one byte left: fails without moving */
    ck_assert_uint_eq(kw_rd_pos(&r), 2);
    assert_dead(&r, KW_ERR_TRUNCATED);

    r = rdx("80 00 05 05 05 05", b);
    ck_assert_uint_eq(kw_rd_uvarint(&r), 0);
    assert_dead(&r, KW_ERR_OVERLONG);

    r = rdx("ff fe 41 41 41 41", b);
    kw_slice s = kw_rd_str(&r);
    ck_assert(s.ptr == NULL && s.len == -1);
    assert_dead(&r, KW_ERR_MALFORMED);

    /* kw_rd_fail on a healthy cursor kills it too. */
    r = rdx("01 02 03 04", b);
    ck_assert_int_eq(kw_rd_fail(&r, KW_ERR_CRC), KW_ERR_CRC);
    assert_dead(&r, KW_ERR_CRC);

    /* An empty buffer (even a NULL one) is just truncated. */
    kw_rd_init(&r, NULL, 0);
    ck_assert_uint_eq(kw_rd_remain(&r), 0);
    ck_assert_int_eq(kw_rd_i8(&r), 0);
    assert_dead(&r, KW_ERR_TRUNCATED);
}
END_TEST

/* ---------------------------------------------------------------- strings, bytes, arrays */

static void
assert_slice(kw_slice s, const char *want)
{
    if (!want) {
        ck_assert_int_eq(s.len, -1);
        ck_assert_ptr_null(s.ptr);
        return;
    }
    ck_assert_int_eq(s.len, (int32_t)strlen(want));
    ck_assert_ptr_nonnull(s.ptr);
    ck_assert(memcmp(s.ptr, want, strlen(want)) == 0);
}

START_TEST(rd_classic_strings)
{
    uint8_t b[64];
    kw_rd r = rdx("00 03 61 62 63 00 00 ff ff", b);
    assert_slice(kw_rd_str(&r), "abc");
    assert_slice(kw_rd_str(&r), ""); /* empty is not null */
    assert_slice(kw_rd_str(&r), NULL);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
    /* The slice borrows the frame. */
    r = rdx("00 01 7a", b);
    ck_assert_ptr_eq(kw_rd_str(&r).ptr, b + 2);

    static const char *malformed[] = {"ff fe", "80 00", "ff 00 61"};
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        r = rdx(malformed[i], b);
        assert_slice(kw_rd_str(&r), NULL);
        ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_MALFORMED);
    }
    r = rdx("00 05 61 62", b);
    assert_slice(kw_rd_str(&r), NULL);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
    r = rdx("7f ff", b);
    assert_slice(kw_rd_str(&r), NULL);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
    r = rdx("00", b);
    assert_slice(kw_rd_str(&r), NULL);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
}
END_TEST

START_TEST(rd_classic_bytes)
{
    uint8_t b[64];
    kw_rd r = rdx("00 00 00 03 61 62 63 00 00 00 00 ff ff ff ff", b);
    assert_slice(kw_rd_bytes(&r), "abc");
    assert_slice(kw_rd_bytes(&r), "");
    assert_slice(kw_rd_bytes(&r), NULL);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
    static const char *malformed[] = {"ff ff ff fe", "80 00 00 00", "ff 00 00 00 61"};
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        r = rdx(malformed[i], b);
        assert_slice(kw_rd_bytes(&r), NULL);
        ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_MALFORMED);
    }
    r = rdx("7f ff ff ff 61", b);
    assert_slice(kw_rd_bytes(&r), NULL);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
}
END_TEST

START_TEST(rd_compact_strings_bytes)
{
    uint8_t b[64];
    kw_rd r = rdx("04 61 62 63 01 00", b);
    kw_rd_set_flex(&r, true);
    assert_slice(kw_rd_str(&r), "abc");
    assert_slice(kw_rd_str(&r), "");
    assert_slice(kw_rd_str(&r), NULL);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);

    r = rdx("04 61 62 63 01 00", b);
    kw_rd_set_flex(&r, true);
    assert_slice(kw_rd_bytes(&r), "abc");
    assert_slice(kw_rd_bytes(&r), "");
    assert_slice(kw_rd_bytes(&r), NULL);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);

    /* Lengths past INT32_MAX cannot be a slice. */
    static const char *malformed[] = {"ff ff ff ff 0f", "81 80 80 80 08"};
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        r = rdx(malformed[i], b);
        kw_rd_set_flex(&r, true);
        assert_slice(kw_rd_str(&r), NULL);
        ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_MALFORMED);
        r = rdx(malformed[i], b);
        kw_rd_set_flex(&r, true);
        assert_slice(kw_rd_bytes(&r), NULL);
        ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_MALFORMED);
    }
    r = rdx("80 80 80 80 08", b); /* length INT32_MAX, 0 bytes left */
    kw_rd_set_flex(&r, true);
    assert_slice(kw_rd_bytes(&r), NULL);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
    r = rdx("06 61 62", b);
    kw_rd_set_flex(&r, true);
    assert_slice(kw_rd_str(&r), NULL);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
    r = rdx("80 00", b);
    kw_rd_set_flex(&r, true);
    assert_slice(kw_rd_str(&r), NULL);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OVERLONG);

    /* Switching back to classic reads int16 lengths again. */
    r = rdx("02 61 00 01 62", b);
    kw_rd_set_flex(&r, true);
    assert_slice(kw_rd_str(&r), "a");
    kw_rd_set_flex(&r, false);
    assert_slice(kw_rd_str(&r), "b");
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
}
END_TEST

START_TEST(rd_arrays)
{
    uint8_t b[64];
    kw_rd r = rdx("ff ff ff ff 00 00 00 00 00 00 00 03 aa bb cc", b);
    ck_assert_int_eq(kw_rd_array_len(&r, 1), -1);
    ck_assert_int_eq(kw_rd_array_len(&r, 1), 0);
    ck_assert_int_eq(kw_rd_array_len(&r, 1), 3); /* exactly enough bytes */
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
    ck_assert_uint_eq(kw_rd_remain(&r), 3);

    r = rdx("00 00 00 03 aa bb cc", b);
    ck_assert_int_eq(kw_rd_array_len(&r, 0), 3); /* 0 counts as 1 */
    r = rdx("00 00 00 03 aa bb cc", b);
    ck_assert_int_eq(kw_rd_array_len(&r, 2), 0); /* 3 elements of 2 bytes need 6 */
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
    r = rdx("00 00 00 01 aa", b);
    ck_assert_int_eq(kw_rd_array_len(&r, SIZE_MAX), 0);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);

    /* Hostile counts fail before anyone could allocate from them. */
    r = rdx("7f ff ff ff 00 00 00 00", b);
    ck_assert_int_eq(kw_rd_array_len(&r, 1), 0);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
    r = rdx("ff ff ff fe", b);
    ck_assert_int_eq(kw_rd_array_len(&r, 1), 0);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_MALFORMED);
    r = rdx("80 00 00 00", b);
    ck_assert_int_eq(kw_rd_array_len(&r, 1), 0);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_MALFORMED);

    /* Compact: count + 1, 0 is null. */
    r = rdx("00 01 04 aa bb cc", b);
    kw_rd_set_flex(&r, true);
    ck_assert_int_eq(kw_rd_array_len(&r, 1), -1);
    ck_assert_int_eq(kw_rd_array_len(&r, 1), 0);
    ck_assert_int_eq(kw_rd_array_len(&r, 1), 3);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
    r = rdx("80 80 80 80 08", b); /* count INT32_MAX */
    kw_rd_set_flex(&r, true);
    ck_assert_int_eq(kw_rd_array_len(&r, 1), 0);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
    r = rdx("ff ff ff ff 0f", b); /* count past INT32_MAX */
    kw_rd_set_flex(&r, true);
    ck_assert_int_eq(kw_rd_array_len(&r, 1), 0);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_MALFORMED);
    r = rdx("80 00", b);
    kw_rd_set_flex(&r, true);
    ck_assert_int_eq(kw_rd_array_len(&r, 1), 0);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OVERLONG);
}
END_TEST

/* ---------------------------------------------------------------- child cursors, tags */

START_TEST(rd_child)
{
    uint8_t b[64];
    kw_rd r = rdx("00 00 00 07 aa bb 00 09", b);
    kw_rd_set_flex(&r, true);
    kw_rd c = kw_rd_child(&r, 6);
    ck_assert(c.flags & KW_RD_FLEX); /* inherits the encoding */
    ck_assert_uint_eq(kw_rd_pos(&r), 6);
    ck_assert_uint_eq(kw_rd_remain(&c), 6);
    ck_assert_int_eq(kw_rd_i32(&c), 7);
    ck_assert_int_eq(kw_rd_i32(&c), 0); /* 2 bytes left in the child, though 4 in memory */
    ck_assert_int_eq(kw_rd_finish(&c), KW_ERR_TRUNCATED);
    ck_assert_uint_eq(kw_rd_pos(&c), 4);
    /* The parent is untouched by the child's failure. */
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
    ck_assert_int_eq(kw_rd_i16(&r), 9);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);

    /* A child longer than what is left fails the parent, and the child is dead too. */
    r = rdx("01 02 03", b);
    c = kw_rd_child(&r, 4);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
    ck_assert_int_eq(kw_rd_finish(&c), KW_ERR_TRUNCATED);
    ck_assert_uint_eq(kw_rd_remain(&c), 0);
    ck_assert_int_eq(kw_rd_i8(&c), 0);
    r = rdx("01 02 03", b);
    c = kw_rd_child(&r, SIZE_MAX);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
    ck_assert_uint_eq(kw_rd_remain(&c), 0);

    /* A zero-length child is empty, not failed. */
    r = rdx("01", b);
    c = kw_rd_child(&r, 0);
    ck_assert_int_eq(kw_rd_finish(&c), KW_ERR_OK);
    ck_assert_uint_eq(kw_rd_remain(&c), 0);
    ck_assert_int_eq(kw_rd_i8(&r), 1);

    /* A child's child. */
    r = rdx("01 02 03 04", b);
    c = kw_rd_child(&r, 3);
    kw_rd g = kw_rd_child(&c, 2);
    ck_assert_int_eq(kw_rd_i16(&g), 0x0102);
    ck_assert_int_eq(kw_rd_i8(&g), 0);
    ck_assert_int_eq(kw_rd_finish(&g), KW_ERR_TRUNCATED);
    ck_assert_int_eq(kw_rd_i8(&c), 3);
    ck_assert_int_eq(kw_rd_finish(&c), KW_ERR_OK);
}
END_TEST

START_TEST(rd_tagged_skip)
{
    uint8_t b[64];
    kw_rd r = rdx("00 07", b);
    kw_rd_tagged_skip(&r);
    ck_assert_uint_eq(kw_rd_pos(&r), 1);
    ck_assert_int_eq(kw_rd_i8(&r), 7);

    r = rdx("02 00 02 aa bb 81 01 00 07", b); /* tag 0 (2 bytes), tag 129 (empty) */
    kw_rd_tagged_skip(&r);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
    ck_assert_int_eq(kw_rd_i8(&r), 7);

    r = rdx("01 00 05 aa bb", b);
    kw_rd_tagged_skip(&r);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
    r = rdx("ff ff ff ff 0f 00 00", b); /* hostile count: stops at the end */
    kw_rd_tagged_skip(&r);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
    r = rdx("01 00 ff ff ff ff 0f", b); /* hostile size */
    kw_rd_tagged_skip(&r);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_TRUNCATED);
    r = rdx("01 80 00 00", b);
    kw_rd_tagged_skip(&r);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OVERLONG);
}
END_TEST

/* ---------------------------------------------------------------- writer */

START_TEST(wr_fixed_nospace)
{
    uint8_t buf[8];
    memset(buf, 0xee, sizeof(buf));
    kw_wr w;
    kw_wr_init_fixed(&w, buf, 3);
    kw_wr_i16(&w, 0x0102);
    kw_wr_i16(&w, 0x0304); /* needs 2, has 1 */
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_NOSPACE);
    ck_assert_uint_eq(kw_wr_len(&w), 2);
    kw_wr_i8(&w, 5); /* would fit, but the error is sticky */
    kw_wr_raw(&w, "", 0);
    kw_wr_uvarint(&w, 1);
    ck_assert_ptr_null(kw_wr_reserve(&w, 0));
    ck_assert_uint_eq(kw_wr_len(&w), 2);
    ck_assert_uint_eq(buf[2], 0xee);
    ck_assert_uint_eq(buf[3], 0xee);
    ck_assert_int_eq(kw_wr_fail(&w, KW_ERR_NOMEM), KW_ERR_NOSPACE);
    kw_wr_fini(&w); /* leaves a fixed buffer alone */

    /* Exactly full is fine. */
    kw_wr_init_fixed(&w, buf, 4);
    kw_wr_i32(&w, -1);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);
    ck_assert_uint_eq(kw_wr_len(&w), 4);
    kw_wr_i8(&w, 0);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_NOSPACE);

    /* A varint that does not fit writes none of its bytes. */
    kw_wr_init_fixed(&w, buf, 2);
    kw_wr_uvarint(&w, 300000);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_NOSPACE);
    ck_assert_uint_eq(kw_wr_len(&w), 0);

    /* A zero-capacity buffer. */
    kw_wr_init_fixed(&w, NULL, 0);
    ck_assert_ptr_null(kw_wr_reserve(&w, 1));
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_NOSPACE);
}
END_TEST

START_TEST(wr_dyn_max)
{
    track t;
    kw_allocator a = tracker(&t, -1);
    kw_wr w;
    /* A maximum below the first growth step must still hold. */
    kw_wr_init_dyn(&w, &a, 10);
    kw_wr_i32(&w, 1);
    kw_wr_i32(&w, 2);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);
    kw_wr_i32(&w, 3); /* 12 > 10 */
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_NOSPACE);
    ck_assert_uint_eq(kw_wr_len(&w), 8);
    ck_assert_uint_le((size_t)(w.end - w.base), 10);
    kw_wr_fini(&w);
    ck_assert_int_eq(t.live_blocks, 0);

    kw_wr_init_dyn(&w, &a, 10);
    for (int i = 0; i < 10; i++)
        kw_wr_i8(&w, (int8_t)i);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);
    kw_wr_i8(&w, 10);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_NOSPACE);
    ck_assert_uint_eq(kw_wr_len(&w), 10);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(w.base[i], i);
    kw_wr_fini(&w);

    /* Growing over many reallocations keeps the contents, up to exactly the maximum. */
    const size_t max = 100000;
    kw_wr_init_dyn(&w, &a, max);
    for (size_t i = 0; i < max; i++)
        kw_wr_i8(&w, (int8_t)(i * 7));
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);
    ck_assert_uint_le((size_t)(w.end - w.base), max);
    for (size_t i = 0; i < max; i++)
        ck_assert_int_eq(w.base[i], (uint8_t)(i * 7));
    kw_wr_i8(&w, 0);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_NOSPACE);
    kw_wr_fini(&w);
    ck_assert_int_eq(t.live_blocks, 0);
    ck_assert_uint_eq(t.live_bytes, 0);

    /* One request larger than the maximum, and a size that would wrap. */
    kw_wr_init_dyn(&w, &a, 64);
    ck_assert_ptr_null(kw_wr_reserve(&w, 65));
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_NOSPACE);
    kw_wr_fini(&w);
    kw_wr_init_dyn(&w, &a, SIZE_MAX);
    kw_wr_i8(&w, 1);
    ck_assert_ptr_null(kw_wr_reserve(&w, SIZE_MAX));
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_NOSPACE);
    kw_wr_fini(&w);
    ck_assert_int_eq(t.live_blocks, 0);

    /* The default allocator. */
    kw_wr_init_dyn(&w, NULL, 1 << 20);
    kw_wr_raw(&w, "hello", 5);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);
    ck_assert(memcmp(w.base, "hello", 5) == 0);
    kw_wr_fini(&w);
    kw_wr_fini(&w); /* twice is harmless */
}
END_TEST

START_TEST(wr_dyn_nomem)
{
    track t;
    kw_allocator a = tracker(&t, 0);
    kw_wr w;
    kw_wr_init_dyn(&w, &a, 1 << 20);
    kw_wr_i32(&w, 1);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_NOMEM);
    ck_assert_uint_eq(kw_wr_len(&w), 0);
    kw_wr_fini(&w);

    /* Failure on a later growth keeps what was written and frees it on fini. */
    a = tracker(&t, 1);
    kw_wr_init_dyn(&w, &a, 1 << 20);
    for (int i = 0; i < 100000 && !kw_wr_finish(&w); i++)
        kw_wr_i8(&w, 1);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_NOMEM);
    ck_assert_uint_gt(kw_wr_len(&w), 0);
    ck_assert_int_eq(t.live_blocks, 1);
    kw_wr_fini(&w);
    ck_assert_int_eq(t.live_blocks, 0);
}
END_TEST

START_TEST(wr_strings_bytes_arrays)
{
    uint8_t buf[64];
    kw_wr w;
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_wr_str(&w, kw_slice_str("abc"));
    kw_wr_str(&w, kw_slice_str(""));
    kw_wr_str(&w, KW_SLICE_NULL);
    kw_wr_bytes(&w, kw_slice_str("ab"));
    kw_wr_bytes(&w, kw_slice_str(""));
    kw_wr_bytes(&w, KW_SLICE_NULL);
    kw_wr_array_len(&w, 2);
    kw_wr_array_len(&w, 0);
    kw_wr_array_len(&w, -1);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);
    assert_wr_hex(&w, "00 03 61 62 63 00 00 ff ff"
                      "00 00 00 02 61 62 00 00 00 00 ff ff ff ff"
                      "00 00 00 02 00 00 00 00 ff ff ff ff");

    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_wr_set_flex(&w, true);
    kw_wr_str(&w, kw_slice_str("abc"));
    kw_wr_str(&w, kw_slice_str(""));
    kw_wr_str(&w, KW_SLICE_NULL);
    kw_wr_bytes(&w, kw_slice_str("ab"));
    kw_wr_bytes(&w, kw_slice_str(""));
    kw_wr_bytes(&w, KW_SLICE_NULL);
    kw_wr_array_len(&w, 2);
    kw_wr_array_len(&w, 0);
    kw_wr_array_len(&w, -1);
    kw_wr_array_len(&w, 200);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);
    assert_wr_hex(&w, "04 61 62 63 01 00 03 61 62 01 00 03 01 00 c9 01");

    /* Lengths the encoding cannot carry. */
    static const char big[40000];
    kw_slice s = {(const uint8_t *)big, 40000};
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_wr_str(&w, s);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_VALUE_RANGE);
    ck_assert_uint_eq(kw_wr_len(&w), 0);
    kw_slice bad = {(const uint8_t *)"x", -2};
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_wr_str(&w, bad);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_VALUE_RANGE);
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_wr_bytes(&w, bad);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_VALUE_RANGE);
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_wr_array_len(&w, -2);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_VALUE_RANGE);
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_wr_set_flex(&w, true);
    kw_wr_array_len(&w, INT32_MIN);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_VALUE_RANGE);

    /* A compact string has no int16 limit. */
    uint8_t *dyn_buf;
    kw_wr_init_dyn(&w, NULL, 1 << 20);
    kw_wr_set_flex(&w, true);
    kw_wr_str(&w, s);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);
    ck_assert_uint_eq(kw_wr_len(&w), 3 + 40000);
    dyn_buf = w.base;
    kw_rd r;
    kw_rd_init(&r, dyn_buf, kw_wr_len(&w));
    kw_rd_set_flex(&r, true);
    ck_assert_int_eq(kw_rd_str(&r).len, 40000);
    ck_assert_int_eq(kw_rd_finish(&r), KW_ERR_OK);
    kw_wr_fini(&w);
}
END_TEST

START_TEST(wr_insert_uvarint)
{
    uint8_t buf[16];
    kw_wr w;
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_wr_raw(&w, "AB", 2);
    kw_wr_insert_uvarint(&w, 1, 300);
    assert_wr_hex(&w, "41 ac 02 42");
    kw_wr_insert_uvarint(&w, 0, 0);
    assert_wr_hex(&w, "00 41 ac 02 42");
    kw_wr_insert_uvarint(&w, kw_wr_len(&w), UINT32_MAX); /* at the end: an append */
    assert_wr_hex(&w, "00 41 ac 02 42 ff ff ff ff 0f");
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);

    kw_wr_insert_uvarint(&w, kw_wr_len(&w) + 1, 1);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_INVALID_ARG);
    assert_wr_hex(&w, "00 41 ac 02 42 ff ff ff ff 0f");

    /* No room: nothing moves. */
    kw_wr_init_fixed(&w, buf, 4);
    kw_wr_raw(&w, "ABC", 3);
    kw_wr_insert_uvarint(&w, 0, 128);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_NOSPACE);
    assert_wr_hex(&w, "41 42 43");

    /* In a growing buffer the insertion may reallocate. */
    kw_wr_init_dyn(&w, NULL, 1 << 20);
    for (int i = 0; i < 256; i++)
        kw_wr_i8(&w, (int8_t)i);
    kw_wr_insert_uvarint(&w, 128, 16384);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);
    ck_assert_uint_eq(kw_wr_len(&w), 259);
    ck_assert_uint_eq(w.base[127], 127);
    ck_assert_uint_eq(w.base[128], 0x80);
    ck_assert_uint_eq(w.base[129], 0x80);
    ck_assert_uint_eq(w.base[130], 0x01);
    ck_assert_uint_eq(w.base[131], 128);
    ck_assert_uint_eq(w.base[258], 255);
    kw_wr_fini(&w);
}
END_TEST

START_TEST(wr_patch_i32)
{
    uint8_t buf[16];
    kw_wr w;
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_wr_i32(&w, 0);
    kw_wr_raw(&w, "xyz", 3);
    kw_wr_patch_i32(&w, 0, (int32_t)(kw_wr_len(&w) - 4));
    assert_wr_hex(&w, "00 00 00 03 78 79 7a");
    kw_wr_patch_i32(&w, 3, -1); /* the last four bytes */
    assert_wr_hex(&w, "00 00 00 ff ff ff ff");
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_OK);
    kw_wr_patch_i32(&w, 4, 0); /* would run past the written bytes */
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_INVALID_ARG);
    assert_wr_hex(&w, "00 00 00 ff ff ff ff");

    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_wr_i32(&w, 0);
    kw_wr_patch_i32(&w, SIZE_MAX, 0);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_INVALID_ARG);
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_wr_i16(&w, 0);
    kw_wr_patch_i32(&w, 0, 0);
    ck_assert_int_eq(kw_wr_finish(&w), KW_ERR_INVALID_ARG);
}
END_TEST

/* ---------------------------------------------------------------- headers */

START_TEST(req_hdr_v1_v2)
{
    uint8_t buf[64];
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_req_hdr h = {3, 12, 7, kw_slice_str("kw"), {NULL, 0}};
    kw_wr w;
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    ck_assert_int_eq(kw_req_hdr_encode(&w, 1, &h), KW_ERR_OK);
    assert_wr_hex(&w, "00 03 00 0c 00 00 00 07 00 02 6b 77");

    /* v2: ClientId stays a classic int16 string even in a flexible writer; then tags. */
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_wr_set_flex(&w, true);
    ck_assert_int_eq(kw_req_hdr_encode(&w, 2, &h), KW_ERR_OK);
    assert_wr_hex(&w, "00 03 00 0c 00 00 00 07 00 02 6b 77 00");
    ck_assert(w.flags & KW_RD_FLEX); /* the caller's mode is restored */

    kw_tag_raw tag = {5, kw_slice_str("xy")};
    h.tags.v = &tag;
    h.tags.n = 1;
    h.client_id = KW_SLICE_NULL;
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    ck_assert_int_eq(kw_req_hdr_encode(&w, 2, &h), KW_ERR_OK);
    assert_wr_hex(&w, "00 03 00 0c 00 00 00 07 ff ff 01 05 02 78 79");

    kw_req_hdr d;
    kw_rd r;
    kw_rd_init(&r, buf, kw_wr_len(&w));
    kw_rd_set_flex(&r, true);
    ck_assert_int_eq(kw_req_hdr_decode(&r, 2, &ar, &d), KW_ERR_OK);
    ck_assert(r.flags & KW_RD_FLEX);
    ck_assert_int_eq(d.api_key, 3);
    ck_assert_int_eq(d.api_version, 12);
    ck_assert_int_eq(d.correlation_id, 7);
    assert_slice(d.client_id, NULL);
    ck_assert_int_eq(d.tags.n, 1);
    ck_assert_uint_eq(d.tags.v[0].tag, 5);
    assert_slice(d.tags.v[0].data, "xy");
    ck_assert_uint_eq(kw_rd_remain(&r), 0);

    /* A compact ClientId (length+1 = 3) is not what v2 carries: read classically, 0x036b is a
     * length far past the end. */
    r = rdx("00 12 00 03 00 00 00 01 03 6b 77 00", buf);
    ck_assert_int_eq(kw_req_hdr_decode(&r, 2, &ar, &d), KW_ERR_TRUNCATED);

    r = rdx("00 03 00 0c 00 00 00 07 00 02 6b 77", buf);
    ck_assert_int_eq(kw_req_hdr_decode(&r, 1, &ar, &d), KW_ERR_OK);
    assert_slice(d.client_id, "kw");
    ck_assert_int_eq(d.tags.n, 0);

    /* v0: no ClientId at all. */
    r = rdx("00 07 00 00 00 00 00 09", buf);
    ck_assert_int_eq(kw_req_hdr_decode(&r, 0, &ar, &d), KW_ERR_OK);
    ck_assert_int_eq(d.api_key, 7);
    ck_assert_int_eq(d.correlation_id, 9);
    assert_slice(d.client_id, NULL);
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    h.client_id = kw_slice_str("ignored");
    ck_assert_int_eq(kw_req_hdr_encode(&w, 0, &h), KW_ERR_OK);
    assert_wr_hex(&w, "00 03 00 0c 00 00 00 07");

    kw_wr_init_fixed(&w, buf, sizeof(buf));
    ck_assert_int_eq(kw_req_hdr_encode(&w, 3, &h), KW_ERR_UNSUPPORTED_VERSION);
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    ck_assert_int_eq(kw_req_hdr_encode(&w, -1, &h), KW_ERR_UNSUPPORTED_VERSION);
    r = rdx("00 03 00 0c 00 00 00 07 00 00 00", buf);
    ck_assert_int_eq(kw_req_hdr_decode(&r, 3, &ar, &d), KW_ERR_UNSUPPORTED_VERSION);
    kw_arena_fini(&ar);
}
END_TEST

START_TEST(resp_hdr_v0_v1)
{
    uint8_t buf[64];
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_resp_hdr h = {0x01020304, {NULL, 0}};
    kw_wr w;
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    ck_assert_int_eq(kw_resp_hdr_encode(&w, 0, &h), KW_ERR_OK);
    assert_wr_hex(&w, "01 02 03 04");
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    ck_assert_int_eq(kw_resp_hdr_encode(&w, 1, &h), KW_ERR_OK);
    assert_wr_hex(&w, "01 02 03 04 00");
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    ck_assert_int_eq(kw_resp_hdr_encode(&w, 2, &h), KW_ERR_UNSUPPORTED_VERSION);

    kw_resp_hdr d;
    kw_rd r = rdx("01 02 03 04", buf);
    ck_assert_int_eq(kw_resp_hdr_decode(&r, 0, &ar, &d), KW_ERR_OK);
    ck_assert_int_eq(d.correlation_id, 0x01020304);
    r = rdx("01 02 03 04 01 00 00", buf);
    ck_assert_int_eq(kw_resp_hdr_decode(&r, 1, &ar, &d), KW_ERR_OK);
    ck_assert_int_eq(d.tags.n, 1);
    ck_assert_uint_eq(d.tags.v[0].tag, 0);
    ck_assert_int_eq(d.tags.v[0].data.len, 0);
    r = rdx("01 02 03 04", buf);
    ck_assert_int_eq(kw_resp_hdr_decode(&r, 1, &ar, &d), KW_ERR_TRUNCATED);
    r = rdx("01 02 03 04 00", buf);
    ck_assert_int_eq(kw_resp_hdr_decode(&r, -1, &ar, &d), KW_ERR_UNSUPPORTED_VERSION);
    kw_arena_fini(&ar);
}
END_TEST

START_TEST(hdr_versions)
{
    const kw_msgdef *avreq = kw_msgdef_by_key(18, false);
    const kw_msgdef *avresp = kw_msgdef_by_key(18, true);
    ck_assert_ptr_nonnull(avreq);
    ck_assert_ptr_nonnull(avresp);
    ck_assert_int_eq(avresp->flex_ver, 3);
    /* KIP-511: the ApiVersions response header is v0 even for flexible bodies. */
    for (int16_t v = avresp->min_ver; v <= avresp->max_ver; v++)
        ck_assert_int_eq(kw_resp_hdr_version(avresp, v), 0);
    ck_assert_int_eq(kw_req_hdr_version(avreq, 2), 1);
    ck_assert_int_eq(kw_req_hdr_version(avreq, 3), 2);

    ck_assert_int_eq(kw_req_hdr_version(&kw_msg_heartbeat_req, 0), 1);
    ck_assert_int_eq(kw_req_hdr_version(&kw_msg_heartbeat_req, 3), 1);
    ck_assert_int_eq(kw_req_hdr_version(&kw_msg_heartbeat_req, 4), 2);
    ck_assert_int_eq(kw_resp_hdr_version(&kw_msg_heartbeat_resp, 3), 0);
    ck_assert_int_eq(kw_resp_hdr_version(&kw_msg_heartbeat_resp, 4), 1);
}
END_TEST

/* ---------------------------------------------------------------- arena */

START_TEST(arena_cap)
{
    track t;
    kw_allocator a = tracker(&t, -1);
    kw_arena ar;
    kw_arena_init(&ar, &a, 64);
    ck_assert_int_eq(t.allocs, 0);                  /* init allocates nothing */
    ck_assert_ptr_nonnull(kw_arena_alloc(&ar, 60)); /* 64 after rounding */
    ck_assert_uint_eq(ar.used, 64);
    ck_assert_ptr_null(kw_arena_alloc(&ar, 1));
    ck_assert_ptr_null(kw_arena_calloc(&ar, 1, 1));
    kw_arena_reset(&ar);
    ck_assert_uint_eq(ar.used, 0);
    ck_assert_ptr_nonnull(kw_arena_alloc(&ar, 64));
    kw_arena_reset(&ar);
    ck_assert_ptr_null(kw_arena_alloc(&ar, 65));
    ck_assert_ptr_null(kw_arena_calloc(&ar, 9, 8));
    ck_assert_ptr_nonnull(kw_arena_calloc(&ar, 8, 8));
    kw_arena_fini(&ar);
    ck_assert_int_eq(t.live_blocks, 0);
}
END_TEST

START_TEST(arena_overflow)
{
    track t;
    kw_allocator a = tracker(&t, -1);
    kw_arena ar;
    kw_arena_init(&ar, &a, 0);
    ck_assert_ptr_null(kw_arena_calloc(&ar, SIZE_MAX / 2 + 1, 2));
    ck_assert_ptr_null(kw_arena_calloc(&ar, SIZE_MAX, SIZE_MAX));
    ck_assert_ptr_null(kw_arena_calloc(&ar, 2, SIZE_MAX / 2 + 1));
    ck_assert_ptr_null(kw_arena_alloc(&ar, SIZE_MAX));
    ck_assert_ptr_null(kw_arena_alloc(&ar, SIZE_MAX - 7));
    ck_assert_int_eq(t.allocs, 0); /* rejected before asking the allocator */
    /* Representable but absurd: the allocator says no, the arena passes that on. */
    ck_assert_ptr_null(kw_arena_alloc(&ar, SIZE_MAX - 64));
    ck_assert_uint_eq(ar.used, 0);
    /* Zero elements still give a valid pointer. */
    ck_assert_ptr_nonnull(kw_arena_calloc(&ar, 0, 16));
    ck_assert_ptr_nonnull(kw_arena_calloc(&ar, 16, 0));
    kw_arena_fini(&ar);
    ck_assert_int_eq(t.live_blocks, 0);
}
END_TEST

START_TEST(arena_reset_fini)
{
    track t;
    kw_allocator a = tracker(&t, -1);
    kw_arena ar;
    kw_arena_init(&ar, &a, 0);
    uint8_t *first = NULL;
    for (int i = 0; i < 40; i++) {
        size_t sz = (size_t)(1 + i * 97);
        uint8_t *p = kw_arena_alloc(&ar, sz);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq((uintptr_t)p % 8, 0);
        for (size_t k = 0; k < sz; k++)
            ck_assert_uint_eq(p[k], 0);
        memset(p, 0xab, sz);
        if (!first)
            first = p;
    }
    ck_assert_int_gt(t.live_blocks, 1);
    kw_arena_reset(&ar);
    ck_assert_int_eq(t.live_blocks, 1); /* the first chunk is kept for the next frame */
    ck_assert_uint_eq(ar.used, 0);
    long allocs = t.allocs;
    uint8_t *p = kw_arena_alloc(&ar, 100);
    ck_assert_ptr_eq(p, first);
    ck_assert_int_eq(t.allocs, allocs);
    for (int k = 0; k < 100; k++)
        ck_assert_uint_eq(p[k], 0); /* zeroed again */
    kw_arena_fini(&ar);
    ck_assert_int_eq(t.live_blocks, 0);
    ck_assert_uint_eq(t.live_bytes, 0);
    kw_arena_fini(&ar); /* twice is harmless */
    /* A finished arena can be used again. */
    ck_assert_ptr_nonnull(kw_arena_alloc(&ar, 8));
    kw_arena_fini(&ar);
    ck_assert_int_eq(t.live_blocks, 0);

    kw_arena zero;
    memset(&zero, 0, sizeof(zero));
    kw_arena_fini(&zero);
    kw_arena_reset(&zero);

    /* An allocator that fails: NULL, and the arena stays usable once memory is back. */
    a = tracker(&t, 0);
    kw_arena_init(&ar, &a, 0);
    ck_assert_ptr_null(kw_arena_alloc(&ar, 8));
    ck_assert_uint_eq(ar.used, 0);
    t.fail_after = -1;
    ck_assert_ptr_nonnull(kw_arena_alloc(&ar, 8));
    kw_arena_fini(&ar);
    ck_assert_int_eq(t.live_blocks, 0);
}
END_TEST

/* ---------------------------------------------------------------- guard page */

/* The helper itself: the last byte is readable and the byte after it is not. The probe is a
 * write(2) from that address into a pipe, which fails with EFAULT instead of raising SIGSEGV,
 * so it works the same under AddressSanitizer (which takes over SIGSEGV). */
static bool
readable(const void *p)
{
    int fd[2];
    ck_assert_int_eq(pipe(fd), 0);
    errno = 0;
    ssize_t n = write(fd[1], p, 1);
    int err = errno;
    close(fd[0]);
    close(fd[1]);
    ck_assert(n == 1 || err == EFAULT);
    return n == 1;
}

START_TEST(guard_page_faults)
{
    static const size_t lens[] = {0, 1, 3, 4095, 4096, 4097, 10000};
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        kwt_guard g;
        ck_assert_ptr_nonnull(kwt_guard_init(&g, NULL, lens[i]));
        ck_assert_uint_eq(g.len, lens[i]);
        if (lens[i]) {
            ck_assert(readable(g.data));
            ck_assert(readable(g.data + lens[i] - 1));
            ck_assert_uint_eq(g.data[lens[i] - 1], 0);
        }
        ck_assert(!readable(g.data + lens[i]));
        kwt_guard_fini(&g);
        ck_assert_ptr_null(g.data);
        kwt_guard_fini(&g); /* twice is harmless */
    }
    kwt_guard g;
    ck_assert_ptr_nonnull(kwt_guard_init(&g, "abc", 3));
    ck_assert(memcmp(g.data, "abc", 3) == 0);
    kwt_guard_fini(&g);
}
END_TEST

typedef enum op {
    OP_I16,
    OP_I32,
    OP_I64,
    OP_F64,
    OP_UUID,
    OP_UVARINT,
    OP_UVARLONG,
    OP_VARINT,
    OP_VARLONG,
    OP_STR,
    OP_CSTR,
    OP_BYTES,
    OP_CBYTES,
    OP_ARRAY,
    OP_CARRAY,
    OP_CHILD,
    OP_TAGS,
} op;

/* Runs one primitive twice over data ending at the guard page: on the whole input (must
 * succeed and consume everything) and on each proper prefix (must fail, never fault). */
static void
guard_op(op o, const char *hex, kw_err prefix_err)
{
    uint8_t b[64];
    size_t n = hx(hex, b);
    for (size_t len = 0; len <= n; len++) {
        kwt_guard g;
        ck_assert_ptr_nonnull(kwt_guard_init(&g, b, len));
        kw_rd r;
        kw_rd_init(&r, g.data, len);
        kw_rd_set_flex(&r, o == OP_CSTR || o == OP_CBYTES || o == OP_CARRAY);
        switch (o) {
        case OP_I16:
            (void)kw_rd_i16(&r);
            break;
        case OP_I32:
            (void)kw_rd_i32(&r);
            break;
        case OP_I64:
            (void)kw_rd_i64(&r);
            break;
        case OP_F64:
            (void)kw_rd_f64(&r);
            break;
        case OP_UUID:
            (void)kw_rd_uuid(&r);
            break;
        case OP_UVARINT:
            (void)kw_rd_uvarint(&r);
            break;
        case OP_UVARLONG:
            (void)kw_rd_uvarlong(&r);
            break;
        case OP_VARINT:
            (void)kw_rd_varint(&r);
            break;
        case OP_VARLONG:
            (void)kw_rd_varlong(&r);
            break;
        case OP_STR:
        case OP_CSTR:
            (void)kw_rd_str(&r);
            break;
        case OP_BYTES:
        case OP_CBYTES:
            (void)kw_rd_bytes(&r);
            break;
        case OP_ARRAY:
        case OP_CARRAY: {
            int32_t cnt = kw_rd_array_len(&r, 4);
            for (int32_t i = 0; i < cnt; i++)
                (void)kw_rd_i32(&r);
            break;
        }
        case OP_CHILD: {
            int32_t sz = kw_rd_i32(&r);
            kw_rd c = kw_rd_child(&r, sz < 0 ? 0 : (size_t)sz);
            while (kw_rd_remain(&c))
                (void)kw_rd_i8(&c);
            break;
        }
        case OP_TAGS:
            kw_rd_tagged_skip(&r);
            break;
        }
        if (len == n) {
            ck_assert_msg(kw_rd_finish(&r) == KW_ERR_OK, "op %d on %s: %s", (int)o, hex,
                          kw_err_name(kw_rd_finish(&r)));
            ck_assert_uint_eq(kw_rd_pos(&r), n);
        } else {
            ck_assert_msg(kw_rd_finish(&r) == prefix_err, "op %d on %zu bytes of %s: %s", (int)o,
                          len, hex, kw_err_name(kw_rd_finish(&r)));
        }
        kwt_guard_fini(&g);
    }
}

START_TEST(guard_page_primitives)
{
    guard_op(OP_I16, "12 34", KW_ERR_TRUNCATED);
    guard_op(OP_I32, "12 34 56 78", KW_ERR_TRUNCATED);
    guard_op(OP_I64, "01 02 03 04 05 06 07 08", KW_ERR_TRUNCATED);
    guard_op(OP_F64, "3f f0 00 00 00 00 00 00", KW_ERR_TRUNCATED);
    guard_op(OP_UUID, "00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f", KW_ERR_TRUNCATED);
    guard_op(OP_UVARINT, "ff ff ff ff 0f", KW_ERR_TRUNCATED);
    guard_op(OP_UVARLONG, "ff ff ff ff ff ff ff ff ff 01", KW_ERR_TRUNCATED);
    guard_op(OP_VARINT, "ff ff ff ff 0f", KW_ERR_TRUNCATED);
    guard_op(OP_VARLONG, "80 80 80 80 80 80 80 80 80 01", KW_ERR_TRUNCATED);
    guard_op(OP_STR, "00 05 61 62 63 64 65", KW_ERR_TRUNCATED);
    guard_op(OP_CSTR, "06 61 62 63 64 65", KW_ERR_TRUNCATED);
    guard_op(OP_BYTES, "00 00 00 03 61 62 63", KW_ERR_TRUNCATED);
    guard_op(OP_CBYTES, "04 61 62 63", KW_ERR_TRUNCATED);
    guard_op(OP_ARRAY, "00 00 00 02 00 00 00 01 00 00 00 02", KW_ERR_TRUNCATED);
    guard_op(OP_CARRAY, "03 00 00 00 01 00 00 00 02", KW_ERR_TRUNCATED);
    guard_op(OP_CHILD, "00 00 00 03 61 62 63", KW_ERR_TRUNCATED);
    guard_op(OP_TAGS, "02 00 02 aa bb 81 01 01 cc", KW_ERR_TRUNCATED);
}
END_TEST

/* Encodes a message, then decodes the whole frame and every proper prefix of it from a guarded
 * buffer. Returns the full frame's decode result in out (caller compares fields). */
static void
guard_msg(const kw_msgdef *d, int16_t ver, const void *m, void *out)
{
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1 << 16);
    ck_assert_int_eq(kw_msg_encode(d, ver, &w, m), KW_ERR_OK);
    size_t n = kw_wr_len(&w);
    ck_assert_uint_gt(n, 0);
    void *tmp = calloc(1, d->size);
    for (size_t len = 0; len <= n; len++) {
        kwt_guard g;
        ck_assert_ptr_nonnull(kwt_guard_init(&g, w.base, len));
        kw_arena ar;
        kw_arena_init(&ar, NULL, 0);
        kw_rd r;
        kw_rd_init(&r, g.data, len);
        kw_err e = kw_msg_decode(d, ver, &r, &ar, len == n ? out : tmp);
        if (len == n)
            ck_assert_msg(e == KW_ERR_OK, "%s v%d: %s", d->name, ver, kw_err_name(e));
        else
            ck_assert_msg(e == KW_ERR_TRUNCATED, "%s v%d, %zu of %zu bytes: %s", d->name, ver, len,
                          n, kw_err_name(e));
        /* Decoded slices and arrays point into the frame and the arena, both gone after this:
         * the caller checks only scalars, lengths and counts. */
        kw_arena_fini(&ar);
        kwt_guard_fini(&g);
    }
    free(tmp);
    kw_wr_fini(&w);
}

START_TEST(guard_page_heartbeat)
{
    kw_tag_raw tag = {7, kw_slice_str("zz")};
    for (int16_t v = 0; v <= 4; v++) {
        kw_heartbeat_req q;
        memset(&q, 0, sizeof(q));
        q.group_id = kw_slice_str("group-a");
        q.generation_id = 42;
        q.member_id = kw_slice_str("member-1");
        q.group_instance_id = v >= 3 ? kw_slice_str("inst") : KW_SLICE_NULL;
        if (v >= 4) {
            q.unknown_tags.v = &tag;
            q.unknown_tags.n = 1;
        }
        kw_heartbeat_req dq;
        guard_msg(&kw_msg_heartbeat_req, v, &q, &dq);
        ck_assert_int_eq(dq.generation_id, 42);
        ck_assert_int_eq(dq.group_id.len, 7);
        ck_assert_int_eq(dq.member_id.len, 8);
        ck_assert_int_eq(dq.group_instance_id.len, v >= 3 ? 4 : -1);
        ck_assert_int_eq(dq.unknown_tags.n, v >= 4 ? 1 : 0);

        kw_heartbeat_resp p;
        memset(&p, 0, sizeof(p));
        p.throttle_time_ms = v >= 1 ? 100 : 0;
        p.error_code = 27;
        if (v >= 4) {
            p.unknown_tags.v = &tag;
            p.unknown_tags.n = 1;
        }
        kw_heartbeat_resp dp;
        guard_msg(&kw_msg_heartbeat_resp, v, &p, &dp);
        ck_assert_int_eq(dp.throttle_time_ms, v >= 1 ? 100 : 0);
        ck_assert_int_eq(dp.error_code, 27);
        ck_assert_int_eq(dp.unknown_tags.n, v >= 4 ? 1 : 0);
    }
}
END_TEST

/* A whole request (header then body) cut at every byte, ending at the guard page. */
START_TEST(guard_page_request_frames)
{
    for (int16_t v = 0; v <= 4; v++) {
        kw_heartbeat_req q;
        memset(&q, 0, sizeof(q));
        q.group_id = kw_slice_str("g");
        q.generation_id = -1;
        q.member_id = kw_slice_str("");
        q.group_instance_id = KW_SLICE_NULL;
        int16_t hv = kw_req_hdr_version(&kw_msg_heartbeat_req, v);
        kw_req_hdr h = {12, v, 99, kw_slice_str("kwire-test"), {NULL, 0}};
        kw_wr w;
        kw_wr_init_dyn(&w, NULL, 4096);
        ck_assert_int_eq(kw_req_hdr_encode(&w, hv, &h), KW_ERR_OK);
        ck_assert_int_eq(kw_msg_encode(&kw_msg_heartbeat_req, v, &w, &q), KW_ERR_OK);
        size_t n = kw_wr_len(&w);
        for (size_t len = 0; len <= n; len++) {
            kwt_guard g;
            ck_assert_ptr_nonnull(kwt_guard_init(&g, w.base, len));
            kw_arena ar;
            kw_arena_init(&ar, NULL, 0);
            kw_rd r;
            kw_rd_init(&r, g.data, len);
            kw_req_hdr dh;
            kw_heartbeat_req dq;
            kw_err e = kw_req_hdr_decode(&r, hv, &ar, &dh);
            if (!e)
                e = kw_msg_decode(&kw_msg_heartbeat_req, dh.api_version, &r, &ar, &dq);
            if (len == n) {
                ck_assert_int_eq(e, KW_ERR_OK);
                ck_assert_int_eq(dh.correlation_id, 99);
                ck_assert(kw_slice_eq(dh.client_id, "kwire-test"));
                ck_assert(kw_slice_eq(dq.group_id, "g"));
                ck_assert_int_eq(dq.generation_id, -1);
            } else {
                ck_assert_msg(e == KW_ERR_TRUNCATED, "v%d %zu/%zu: %s", v, len, n, kw_err_name(e));
            }
            kw_arena_fini(&ar);
            kwt_guard_fini(&g);
        }
        kw_wr_fini(&w);
    }
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("cursor");
    TCase *tc = tcase_create("reader");
    tcase_add_test(tc, rd_fixed_width);
    tcase_add_test(tc, zigzag_varint);
    tcase_add_test(tc, zigzag_varlong);
    tcase_add_test(tc, unsigned_varint);
    tcase_add_test(tc, overlong_varints_rejected);
    tcase_add_test(tc, varint_round_trip);
    tcase_add_test(tc, sticky_errors);
    tcase_add_test(tc, rd_classic_strings);
    tcase_add_test(tc, rd_classic_bytes);
    tcase_add_test(tc, rd_compact_strings_bytes);
    tcase_add_test(tc, rd_arrays);
    tcase_add_test(tc, rd_child);
    tcase_add_test(tc, rd_tagged_skip);
    suite_add_tcase(s, tc);

    tc = tcase_create("writer");
    tcase_add_test(tc, wr_fixed_width);
    tcase_add_test(tc, wr_fixed_nospace);
    tcase_add_test(tc, wr_dyn_max);
    tcase_add_test(tc, wr_dyn_nomem);
    tcase_add_test(tc, wr_strings_bytes_arrays);
    tcase_add_test(tc, wr_insert_uvarint);
    tcase_add_test(tc, wr_patch_i32);
    suite_add_tcase(s, tc);

    tc = tcase_create("headers");
    tcase_add_test(tc, req_hdr_v1_v2);
    tcase_add_test(tc, resp_hdr_v0_v1);
    tcase_add_test(tc, hdr_versions);
    suite_add_tcase(s, tc);

    tc = tcase_create("arena");
    tcase_add_test(tc, arena_cap);
    tcase_add_test(tc, arena_overflow);
    tcase_add_test(tc, arena_reset_fini);
    suite_add_tcase(s, tc);

    tc = tcase_create("guard");
    tcase_add_test(tc, guard_page_faults);
    tcase_add_test(tc, guard_page_primitives);
    tcase_add_test(tc, guard_page_heartbeat);
    tcase_add_test(tc, guard_page_request_frames);
    suite_add_tcase(s, tc);
    return s;
}
