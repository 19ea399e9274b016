/* kwire: the key hashes that partitioners use.
 *
 * Pure functions of the key bytes: no state, no allocation, safe from any thread. A key may be
 * NULL only when len is 0. Partition helpers return -1 when `partitions` is not positive. */
#ifndef KWIRE_HASH_H
#define KWIRE_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "export.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @brief MurmurHash2 (32-bit) exactly as Kafka's Java `Utils.murmur2`, the hash of the Java
 *  producer's default partitioner and of librdkafka's `murmur2` partitioner.
 *  @param key the serialized key bytes (an empty key is hashed like any other)
 *  @param len number of bytes
 *  @return the hash as Java's signed int, e.g. "21" gives -973932308 */
KW_API int32_t kw_murmur2(const void *key, size_t len);

/** @brief The Java producer's partition for a non-null key:
 *  `(murmur2(key) & 0x7fffffff) % partitions` (a mask, not abs()).
 *  @param partitions all partitions of the topic, with or without a leader
 *  @return a partition in [0, partitions), or -1 if partitions <= 0 */
KW_API int32_t kw_murmur2_partition(const void *key, size_t len, int32_t partitions);

/** @brief librdkafka's `fnv1a` hash (rd_fnv1a): 32-bit FNV-1a (offset basis 0x811C9DC5, prime
 *  0x01000193), then, to match Sarama's NewHashPartitioner, the absolute value of the result
 *  read as a signed int32. So this is *not* plain FNV-1a when the top bit is set: "" gives
 *  0x7ee3623b, not 0x811c9dc5. 0x80000000 has no positive counterpart and is returned as is. */
KW_API uint32_t kw_fnv1a(const void *key, size_t len);

/** @brief librdkafka's `fnv1a` partitioner: `kw_fnv1a(key) % partitions`.
 *  @return a partition in [0, partitions), or -1 if partitions <= 0 */
KW_API int32_t kw_fnv1a_partition(const void *key, size_t len, int32_t partitions);

/** @brief librdkafka's `consistent` hash: the CRC-32 (IEEE 802.3, as zlib's crc32()) of the key
 *  bytes. "123456789" gives 0xcbf43926; the empty key gives 0. */
KW_API uint32_t kw_consistent_hash(const void *key, size_t len);

/** @brief librdkafka's `consistent` partitioner: `kw_consistent_hash(key) % partitions`.
 *  @return a partition in [0, partitions), or -1 if partitions <= 0 */
KW_API int32_t kw_consistent_partition(const void *key, size_t len, int32_t partitions);

#ifdef __cplusplus
}
#endif
#endif
