/* Partitioners: which partition a record sent with KW_PARTITION_ANY goes to.
 *
 * Keyed records are hashed over all partitions of the topic, with or without a leader, so a key
 * keeps its partition while a broker is down (Java's BuiltInPartitioner, librdkafka's hashing
 * partitioners). The hash is the `partitioner` property's:
 *   murmur2_random, murmur2       Java's murmur2, masked to positive (kwire/hash.h)
 *   consistent_random, consistent CRC-32
 *   fnv1a_random, fnv1a           FNV-1a as Sarama
 *   random                        none: every record goes to a random available partition
 * Keyless records: the *_random variants use sticky partitioning (KIP-480 as refined by
 * KIP-794): all of them go to one partition until batch.size bytes went there, then the next
 * partition is drawn among those with a leader, weighted towards shorter queues (a partition
 * whose queue is shorter by k batches gets k more chances). The others hash the empty key, as
 * librdkafka does. */
#include "client/producer_int.h"
#include "kwire/hash.h"

uint64_t
kwi_prod_rand(uint64_t *state)
{
    /* splitmix64: fast, and good enough to spread partitions and jitter backoffs. */
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int32_t
kwi_part_hash(int partitioner, kw_slice key, int32_t n_parts)
{
    bool null_key = key.len < 0;
    const void *k = key.len > 0 ? key.ptr : NULL;
    size_t len = key.len > 0 ? (size_t)key.len : 0;
    switch (partitioner) {
    case KWI_PARTITIONER_MURMUR2_RANDOM:
        return null_key ? -1 : kw_murmur2_partition(k, len, n_parts);
    case KWI_PARTITIONER_MURMUR2:
        return kw_murmur2_partition(k, len, n_parts);
    case KWI_PARTITIONER_CONSISTENT_RANDOM:
        return null_key ? -1 : kw_consistent_partition(k, len, n_parts);
    case KWI_PARTITIONER_CONSISTENT:
        return kw_consistent_partition(k, len, n_parts);
    case KWI_PARTITIONER_FNV1A_RANDOM:
        return null_key ? -1 : kw_fnv1a_partition(k, len, n_parts);
    case KWI_PARTITIONER_FNV1A:
        return kw_fnv1a_partition(k, len, n_parts);
    default: /* random */
        return -1;
    }
}

int32_t
kwi_part_weighted(const int32_t *avail, const int32_t *queue, int32_t n, uint64_t r)
{
    if (n <= 0)
        return -1;
    int64_t max = 0, total = 0;
    for (int32_t i = 0; i < n; i++)
        if (queue[i] > max)
            max = queue[i];
    for (int32_t i = 0; i < n; i++)
        total += max + 1 - queue[i];
    int64_t x = (int64_t)(r % (uint64_t)total);
    for (int32_t i = 0; i < n; i++) {
        x -= max + 1 - queue[i];
        if (x < 0)
            return avail[i];
    }
    return avail[n - 1];
}

/* A random partition, preferring those with a leader. */
static int32_t
random_part(kw_producer *p, const kwi_ptopic *t, int32_t n_parts)
{
    uint64_t r = kwi_prod_rand(&p->rng);
    if (t->n_avail > 0)
        return t->avail[r % (uint64_t)t->n_avail];
    return (int32_t)(r % (uint64_t)n_parts);
}

/* KIP-794: the next sticky partition, weighted by queue length among available partitions. */
static int32_t
next_sticky(kw_producer *p, kwi_ptopic *t, int32_t n_parts)
{
    if (t->n_avail <= 1)
        return random_part(p, t, n_parts);
    int32_t small[64];
    int32_t *queue = small;
    size_t qsz = (size_t)t->n_avail * sizeof(*queue);
    if (t->n_avail > 64 && !(queue = kwi_prod_alloc(p, qsz)))
        return random_part(p, t, n_parts);
    for (int32_t i = 0; i < t->n_avail; i++) {
        int32_t id = t->avail[i];
        const kwi_ptp *tp = id < t->n_parts ? t->parts[id] : NULL;
        queue[i] = tp ? tp->n_queued : 0;
    }
    int32_t part = kwi_part_weighted(t->avail, queue, t->n_avail, kwi_prod_rand(&p->rng));
    if (queue != small)
        kwi_prod_free_mem(p, queue, qsz);
    return part;
}

int32_t
kwi_prod_partition(kw_producer *p, kwi_ptopic *t, int32_t n_parts, kw_slice key, kw_error *err)
{
    if (p->o.partitioner) {
        int32_t r =
            p->o.partitioner(t->name, key, n_parts, t->avail, t->n_avail, p->o.partitioner_ud);
        if (r < 0 || r >= n_parts) {
            kw_error_set(err, KW_ERR_INVALID_ARG,
                         "the partitioner chose partition %d of topic %s, which has %d", (int)r,
                         t->name, (int)n_parts);
            return -1;
        }
        return r;
    }
    int32_t h = kwi_part_hash(p->partitioner, key, n_parts);
    if (h >= 0)
        return h;
    if (p->partitioner == KWI_PARTITIONER_RANDOM)
        return random_part(p, t, n_parts);
    if (t->sticky < 0 || t->sticky >= n_parts) {
        t->sticky = next_sticky(p, t, n_parts);
        t->sticky_bytes = 0;
    }
    return t->sticky;
}

void
kwi_prod_sticky_update(kw_producer *p, kwi_ptopic *t, int32_t part, size_t bytes)
{
    if (part != t->sticky)
        return;
    t->sticky_bytes += (int64_t)bytes;
    if (t->sticky_bytes >= p->batch_size)
        t->sticky = -1; /* the next keyless record draws a new one */
}
