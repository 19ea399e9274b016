/* Partitioner hashes against independent references: Kafka's published UtilsTest vectors for
 * murmur2, librdkafka's own rd_fnv1a unit-test vectors (computed with Go's hash/fnv), the
 * CRC-32 check value, and partitions that librdkafka 2.0.2's rd_kafka_msg_partitioner_murmur2,
 * _fnv1a and _consistent returned for the same keys (called through ctypes). */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "kwire/hash.h"

static int32_t
mm(const char *s)
{
    return kw_murmur2(s, strlen(s));
}

static uint32_t
fnv(const char *s)
{
    return kw_fnv1a(s, strlen(s));
}

static uint32_t
crc(const char *s)
{
    return kw_consistent_hash(s, strlen(s));
}

START_TEST(murmur2_kafka_vectors)
{
    /* Kafka UtilsTest.testMurmur2. */
    ck_assert_int_eq(mm("21"), -973932308);
    ck_assert_int_eq(mm("foobar"), -790332482);
    ck_assert_int_eq(mm("a-little-bit-long-string"), -985981536);
    ck_assert_int_eq(mm("a-little-bit-longer-string"), -1486304829);
    ck_assert_int_eq(mm("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
    ck_assert_int_eq(mm("abc"), 479470107);
    /* The empty key is hashed like any other (README section 7). */
    ck_assert_int_eq(mm(""), 275646681);
    ck_assert_int_eq(kw_murmur2(NULL, 0), 275646681);
}
END_TEST

START_TEST(murmur2_tails_and_high_bytes)
{
    /* Every tail length (len % 4 = 0..3), computed with an independent Python port that
     * matches all the Kafka vectors above. */
    ck_assert_int_eq(mm("a"), -1563381124);
    ck_assert_int_eq(mm("ab"), 316155434);
    ck_assert_int_eq(mm("123456789"), -1822237082);
    ck_assert_int_eq(mm("kafka"), -798503068);
    /* Bytes >= 0x80 must be read unsigned (Java's b & 0xff). */
    static const uint8_t hi[] = {0xff, 0xfe, 0x80, 0x7f};
    ck_assert_int_eq(kw_murmur2(hi, sizeof(hi)), 1152161877);
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    ck_assert_int_eq(kw_murmur2(all, sizeof(all)), -1948347274);
}
END_TEST

START_TEST(murmur2_partition_masks)
{
    /* murmur2("21") is negative: toPositive masks the sign bit, abs() would not. */
    int32_t h = mm("21");
    ck_assert_int_eq(kw_murmur2_partition("21", 2, 7), (int32_t)(((uint32_t)h & 0x7fffffffu) % 7));
    ck_assert_int_eq(kw_murmur2_partition("21", 2, 7), 3);
    ck_assert_int_ne(kw_murmur2_partition("21", 2, 7), (int32_t)((-(int64_t)h) % 7));
    ck_assert_int_eq(kw_murmur2_partition("21", 2, 1), 0);
    ck_assert_int_eq(kw_murmur2_partition("21", 2, INT32_MAX), 1173551340);
    ck_assert_int_eq(kw_murmur2_partition("21", 2, 0), -1);
    ck_assert_int_eq(kw_murmur2_partition("21", 2, -3), -1);
    ck_assert_int_eq(kw_murmur2_partition(NULL, 0, 12), 9);
}
END_TEST

START_TEST(fnv1a_librdkafka_vectors)
{
    /* librdkafka rdfnv1a.c unittest_fnv1a: Go hash/fnv New32a, then abs() as Sarama does. */
    static const char short_unaligned[] = "1234";
    static const char unaligned[] = "PreAmbleWillBeRemoved,ThePrePartThatIs";
    ck_assert_uint_eq(fnv("kafka"), 0x0d33c4e1u);
    ck_assert_uint_eq(fnv("giberish123456789"), 0x77a58295u);
    ck_assert_uint_eq(fnv(short_unaligned), 0x023bdd03u);
    ck_assert_uint_eq(fnv(short_unaligned + 1), 0x2dea3cd2u);
    ck_assert_uint_eq(fnv(short_unaligned + 2), 0x740fa83eu);
    ck_assert_uint_eq(fnv(short_unaligned + 3), 0x310ca263u);
    ck_assert_uint_eq(fnv(unaligned), 0x65cbd69cu);
    ck_assert_uint_eq(fnv(unaligned + 1), 0x6e49c79au);
    ck_assert_uint_eq(fnv(unaligned + 2), 0x69eed356u);
    ck_assert_uint_eq(fnv(unaligned + 3), 0x6abcc023u);
    /* The offset basis 0x811c9dc5 is negative as an int32, so "" gives its negation. */
    ck_assert_uint_eq(fnv(""), 0x7ee3623bu);
    ck_assert_uint_eq(kw_fnv1a(NULL, 0), 0x7ee3623bu);
}
END_TEST

START_TEST(fnv1a_is_fnv1a_then_abs)
{
    /* Plain 32-bit FNV-1a, computed here, then the librdkafka sign rule. */
    const char *keys[] = {"a", "abc", "foobar", "user-1001", "\xff\x80", "The quick brown fox"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        uint32_t h = 0x811c9dc5u;
        for (const char *p = keys[i]; *p; p++) {
            h ^= (uint8_t)*p;
            h *= 0x01000193u;
        }
        uint32_t want = (h & 0x80000000u) ? 0u - h : h;
        ck_assert_uint_eq(fnv(keys[i]), want);
        ck_assert_uint_lt(fnv(keys[i]), 0x80000000u);
    }
    ck_assert_int_eq(kw_fnv1a_partition("kafka", 5, 0), -1);
}
END_TEST

START_TEST(consistent_is_crc32)
{
    /* The CRC-32 (IEEE) check value, and values from Python's zlib.crc32. */
    ck_assert_uint_eq(crc("123456789"), 0xcbf43926u);
    ck_assert_uint_eq(crc("The quick brown fox jumps over the lazy dog"), 0x414fa339u);
    ck_assert_uint_eq(crc("a"), 0xe8b7be43u);
    ck_assert_uint_eq(crc("kafka"), 0x5bbc7517u);
    ck_assert_uint_eq(crc(""), 0);
    ck_assert_uint_eq(kw_consistent_hash(NULL, 0), 0);
    ck_assert_int_eq(kw_consistent_partition("kafka", 5, 0), -1);
    ck_assert_int_eq(kw_consistent_partition("kafka", 5, 1), 0);
}
END_TEST

/* Partition of each key as librdkafka 2.0.2 computed it, per partitioner. */
static const struct {
    const char *key;
    int32_t n, murmur2, fnv1a, consistent;
} rdk_parts[] = {
    {"", 3, 0, 0, 0},
    {"", 12, 9, 3, 0},
    {"", 100, 81, 35, 0},
    {"a", 3, 1, 0, 0},
    {"a", 12, 4, 0, 3},
    {"a", 100, 24, 76, 7},
    {"abc", 3, 0, 2, 0},
    {"abc", 12, 3, 11, 6},
    {"abc", 100, 7, 31, 78},
    {"21", 3, 0, 0, 1},
    {"21", 12, 0, 0, 4},
    {"21", 100, 40, 52, 32},
    {"foobar", 3, 0, 0, 2},
    {"foobar", 12, 6, 0, 5},
    {"foobar", 100, 66, 76, 69},
    {"kafka", 3, 1, 2, 2},
    {"kafka", 12, 4, 5, 11},
    {"kafka", 100, 80, 45, 99},
    {"user-1001", 3, 1, 1, 0},
    {"user-1001", 12, 10, 1, 3},
    {"user-1001", 100, 30, 81, 51},
    {"order:42", 3, 2, 2, 2},
    {"order:42", 12, 8, 5, 11},
    {"order:42", 100, 4, 21, 3},
    {"a-little-bit-longer-string", 3, 2, 0, 2},
    {"a-little-bit-longer-string", 12, 11, 9, 2},
    {"a-little-bit-longer-string", 100, 19, 13, 90},
};

START_TEST(partitions_match_librdkafka)
{
    for (size_t i = 0; i < sizeof(rdk_parts) / sizeof(rdk_parts[0]); i++) {
        const char *k = rdk_parts[i].key;
        size_t len = strlen(k);
        int32_t n = rdk_parts[i].n;
        ck_assert_msg(kw_murmur2_partition(k, len, n) == rdk_parts[i].murmur2, "murmur2 \"%s\" %d",
                      k, (int)n);
        ck_assert_msg(kw_fnv1a_partition(k, len, n) == rdk_parts[i].fnv1a, "fnv1a \"%s\" %d", k,
                      (int)n);
        ck_assert_msg(kw_consistent_partition(k, len, n) == rdk_parts[i].consistent,
                      "consistent \"%s\" %d", k, (int)n);
    }
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("hash");
    TCase *tc = tcase_create("hash");
    tcase_add_test(tc, murmur2_kafka_vectors);
    tcase_add_test(tc, murmur2_tails_and_high_bytes);
    tcase_add_test(tc, murmur2_partition_masks);
    tcase_add_test(tc, fnv1a_librdkafka_vectors);
    tcase_add_test(tc, fnv1a_is_fnv1a_then_abs);
    tcase_add_test(tc, consistent_is_crc32);
    tcase_add_test(tc, partitions_match_librdkafka);
    suite_add_tcase(s, tc);
    return s;
}
