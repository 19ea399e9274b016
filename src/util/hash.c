/* Partitioner hashes: Kafka's murmur2 and librdkafka's fnv1a and consistent (CRC-32). Each must
 * match its reference bit for bit, or keyed records land on a different partition than the
 * same key sent by a Java or librdkafka producer, which breaks per-key ordering. */
#include "kwire/hash.h"
#include "util/crc32c.h"

/* Kafka Utils.murmur2. Java reads every byte as `b & 0xff` and works in int with wrapping
 * multiplication and logical shifts (>>>), which is uint32_t arithmetic here. */
int32_t
kw_murmur2(const void *key, size_t len)
{
    const uint32_t seed = 0x9747b28cu;
    const uint32_t m = 0x5bd1e995u;
    const unsigned r = 24;
    const uint8_t *b = key;
    /* Java passes the length as an int; keys longer than INT32_MAX cannot exist there. */
    uint32_t h = seed ^ (uint32_t)len;
    size_t blocks = len / 4;

    for (size_t i = 0; i < blocks; i++) {
        const uint8_t *q = b + 4 * i;
        uint32_t k =
            (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
        k *= m;
        k ^= k >> r;
        k *= m;
        h *= m;
        h ^= k;
    }

    /* Indexing (not a tail pointer) keeps a NULL key of length 0 free of pointer arithmetic. */
    size_t t = 4 * blocks;
    switch (len & 3) {
    case 3:
        h ^= (uint32_t)b[t + 2] << 16;
        /* fall through */
    case 2:
        h ^= (uint32_t)b[t + 1] << 8;
        /* fall through */
    case 1:
        h ^= b[t];
        h *= m;
        break;
    default:
        break;
    }

    h ^= h >> 13;
    h *= m;
    h ^= h >> 15;
    return (int32_t)h;
}

int32_t
kw_murmur2_partition(const void *key, size_t len, int32_t partitions)
{
    if (partitions <= 0)
        return -1;
    /* toPositive() masks the sign bit; abs() would differ for negative hashes. */
    return (int32_t)(((uint32_t)kw_murmur2(key, len) & 0x7fffffffu) % (uint32_t)partitions);
}

uint32_t
kw_fnv1a(const void *key, size_t len)
{
    const uint8_t *b = key;
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < len; i++) {
        h ^= b[i];
        h *= 0x01000193u;
    }
    /* librdkafka's rd_fnv1a negates a negative int32 result (Sarama's NewHashPartitioner takes
     * the absolute value). Negating in unsigned arithmetic gives the same bits without the
     * signed overflow, and leaves 0x80000000 as it is, as two's complement negation does. */
    if (h & 0x80000000u)
        h = 0u - h;
    return h;
}

int32_t
kw_fnv1a_partition(const void *key, size_t len, int32_t partitions)
{
    if (partitions <= 0)
        return -1;
    return (int32_t)(kw_fnv1a(key, len) % (uint32_t)partitions);
}

uint32_t
kw_consistent_hash(const void *key, size_t len)
{
    return kwi_crc32(0, key, len);
}

int32_t
kw_consistent_partition(const void *key, size_t len, int32_t partitions)
{
    if (partitions <= 0)
        return -1;
    return (int32_t)(kw_consistent_hash(key, len) % (uint32_t)partitions);
}
