/* CRC-32C and CRC-32: published check values, and the SSE4.2 and table paths agreeing at every
 * alignment and length. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "util/crc32c.h"

/* RFC 3720 (iSCSI) appendix B.4 CRC-32C examples. */
START_TEST(crc32c_rfc3720_vectors)
{
    uint8_t buf[32];
    uint32_t (*fn[])(uint32_t, const void *, size_t) = {kwi_crc32c, kwi_crc32c_sw, kwi_crc32c_hw};
    for (size_t f = 0; f < sizeof(fn) / sizeof(fn[0]); f++) {
        memset(buf, 0, sizeof(buf));
        ck_assert_uint_eq(fn[f](0, buf, 32), 0x8A9136AAu);
        memset(buf, 0xff, sizeof(buf));
        ck_assert_uint_eq(fn[f](0, buf, 32), 0x62A8AB43u);
        for (int i = 0; i < 32; i++)
            buf[i] = (uint8_t)i;
        ck_assert_uint_eq(fn[f](0, buf, 32), 0x46DD794Eu);
        for (int i = 0; i < 32; i++)
            buf[i] = (uint8_t)(31 - i);
        ck_assert_uint_eq(fn[f](0, buf, 32), 0x113FDB5Cu);
        ck_assert_uint_eq(fn[f](0, "123456789", 9), 0xE3069283u);
        ck_assert_uint_eq(fn[f](0, "", 0), 0);
    }
}
END_TEST

START_TEST(crc32_ieee_vectors)
{
    ck_assert_uint_eq(kwi_crc32(0, "123456789", 9), 0xCBF43926u);
    ck_assert_uint_eq(kwi_crc32(0, "", 0), 0);
    ck_assert_uint_eq(kwi_crc32(0, "a", 1), 0xE8B7BE43u);
    ck_assert_uint_eq(kwi_crc32(0, "The quick brown fox jumps over the lazy dog", 43), 0x414FA339u);
    /* Incremental use equals one call. */
    uint32_t c = kwi_crc32(0, "12345", 5);
    ck_assert_uint_eq(kwi_crc32(c, "6789", 4), 0xCBF43926u);
}
END_TEST

START_TEST(crc32c_incremental)
{
    const char *s = "123456789";
    for (size_t cut = 0; cut <= 9; cut++) {
        uint32_t c = kwi_crc32c(0, s, cut);
        ck_assert_uint_eq(kwi_crc32c(c, &s[cut], 9 - cut), 0xE3069283u);
        c = kwi_crc32c_sw(0, s, cut);
        ck_assert_uint_eq(kwi_crc32c_hw(c, &s[cut], 9 - cut), 0xE3069283u);
    }
}
END_TEST

/* Every start alignment 0..15 and every length 0..300 (covering the byte loops before and after
 * the 8-byte loops of both paths), plus one long run. */
START_TEST(crc32c_hw_sw_agree)
{
    if (!kwi_crc32c_hw_available())
        fprintf(stderr, "SKIP: no SSE4.2 here; kwi_crc32c_hw falls back to the table path, so "
                        "this only checks that the fallback agrees with itself\n");
    static uint8_t buf[4096 + 16];
    uint32_t x = 2463534242u;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    for (size_t align = 0; align < 16; align++) {
        for (size_t len = 0; len <= 300; len++) {
            uint32_t sw = kwi_crc32c_sw(0x12345678u, buf + align, len);
            uint32_t hw = kwi_crc32c_hw(0x12345678u, buf + align, len);
            ck_assert_msg(sw == hw, "align %zu len %zu: sw %08x hw %08x", align, len, sw, hw);
        }
    }
    ck_assert_uint_eq(kwi_crc32c_sw(0, buf + 3, 4096), kwi_crc32c_hw(0, buf + 3, 4096));
    /* Lengths around the hardware path's three-stream blocks (768 bytes, joined by a shift
     * table): none, one and several blocks, with every tail length. */
    for (size_t align = 0; align < 8; align += 3)
        for (size_t len = 700; len <= 2400; len++) {
            uint32_t sw = kwi_crc32c_sw(0xCAFEF00Du, buf + align, len);
            uint32_t hw = kwi_crc32c_hw(0xCAFEF00Du, buf + align, len);
            ck_assert_msg(sw == hw, "align %zu len %zu: sw %08x hw %08x", align, len, sw, hw);
        }
}
END_TEST

/* The slicing CRC-32 agrees with a bit-at-a-time reference at every alignment and length. */
static uint32_t
crc32_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static uint32_t
crc32c_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
    }
    return ~c;
}

START_TEST(tables_match_bitwise)
{
    uint8_t buf[200];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    for (size_t align = 0; align < 8; align++) {
        for (size_t len = 0; len + align <= sizeof(buf) && len < 64; len++) {
            ck_assert_uint_eq(kwi_crc32(0, buf + align, len), crc32_bitwise(buf + align, len));
            ck_assert_uint_eq(kwi_crc32c_sw(0, buf + align, len), crc32c_bitwise(buf + align, len));
        }
    }
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("util_crc");
    TCase *tc = tcase_create("crc");
    tcase_add_test(tc, crc32c_rfc3720_vectors);
    tcase_add_test(tc, crc32_ieee_vectors);
    tcase_add_test(tc, crc32c_incremental);
    tcase_add_test(tc, crc32c_hw_sw_agree);
    tcase_add_test(tc, tables_match_bitwise);
    suite_add_tcase(s, tc);
    return s;
}
