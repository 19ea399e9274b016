/* kwire: the producer.
 *
 * A kw_producer sends records to Kafka over a kw_client (kwire/client.h), which it shares and
 * which drives it: every timer and response of the producer runs inside kw_client_step (or
 * on the kwire thread). Sending never blocks and never waits for the network:
 *
 *     kw_producer_opts o;
 *     kw_producer_opts_init(&o);
 *     o.on_delivery = delivered;              one report per record, exactly once
 *     kw_producer_new(client, &o, &p, &err);
 *
 *     kw_message m;
 *     kw_message_init(&m);
 *     m.topic = "events";
 *     m.key = kw_slice_str("user-42");
 *     m.value = (kw_slice){buf, len};
 *     e = kw_producer_send(p, &m, &err);      KW_ERR_QUEUE_FULL = back-pressure: step, retry
 *
 *     kw_producer_flush(p, 10000, &err);      send everything now, wait for the reports
 *     kw_producer_free(p);
 *     kw_client_free(client);
 *
 * What it does, as the Java client does it:
 *   - Partitioning (`partitioner`): an explicit partition wins; a user partitioner function
 *     comes next; otherwise keyed records go to murmur2(key) % partitions (the Java client's
 *     partition for the same key) and keyless ones stick to one partition until batch.size
 *     bytes went there, then switch, preferring partitions with shorter queues (KIP-480,
 *     KIP-794). librdkafka's consistent, fnv1a and random partitioners are there too.
 *   - Batching per partition: a batch is sent when it holds batch.size bytes or linger.ms has
 *     passed; a request carries at most one batch per partition and at most max.request.size
 *     bytes. Records are encoded once, into the batch, without an allocation per record.
 *   - compression.type gzip, snappy, lz4 or zstd (zstd needs Produce v7, Kafka 2.1).
 *   - acks 0, 1 or all; retries with exponential backoff and jitter (retry.backoff.ms up to
 *     retry.backoff.max.ms), bounded by `retries` and delivery.timeout.ms; the order of a
 *     partition's records is kept across retries.
 *   - The idempotent producer (enable.idempotence, on by default): a producer id, sequence
 *     numbers per partition, so a retried batch is never written twice. When the broker loses
 *     the producer's state (UNKNOWN_PRODUCER_ID), reports a gap (OUT_OF_ORDER_SEQUENCE_NUMBER)
 *     or a newer epoch (INVALID_PRODUCER_EPOCH), the producer takes a new epoch or id once
 *     nothing is in flight, and continues; a batch whose fate it cannot know is then reported
 *     as failed rather than sent again. Errors nothing can recover from (authorization, a
 *     producer id the broker will not give) make the producer fatal: see kw_producer_fatal.
 *   - A topic the cache does not know is looked up; its records wait for it up to
 *     delivery.timeout.ms.
 *
 * Memory: the records waiting for delivery (queued, in flight, or waiting for metadata) are
 * bounded by buffer.memory (also settable as queue.buffering.max.kbytes); a send that would
 * exceed it fails with KW_ERR_QUEUE_FULL and changes nothing, so the caller can step the loop
 * and try again.
 *
 * Threads: every function here may be called from any thread; they take the client's loop
 * lock. Delivery reports run on the loop's thread, inside kw_client_step or on the kwire
 * thread, never inside the call that sent the record (except kw_producer_free, which reports
 * what it cancels). A delivery report may send records. */
#ifndef KWIRE_PRODUCER_H
#define KWIRE_PRODUCER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "error.h"
#include "export.h"
#include "proto.h"
#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kw_producer kw_producer;

/** kw_message.partition: let the partitioner choose. */
#define KW_PARTITION_ANY (-1)
/** kw_message.timestamp: the current wall-clock time. */
#define KW_TIMESTAMP_NOW (-1)

/** One record to send. Everything it points to is copied by kw_producer_send (the value is
 *  borrowed instead by kw_producer_send_zc) and may be reused when the call returns. */
typedef struct kw_message {
    const char *topic;        /**< NUL-terminated, 1-249 characters of [a-zA-Z0-9._-] */
    int32_t partition;        /**< KW_PARTITION_ANY or a partition of the topic */
    kw_slice key;             /**< len -1: null key */
    kw_slice value;           /**< len -1: null value (a tombstone on a compacted topic) */
    const kw_header *headers; /**< n_headers entries; keys must not be null, values may */
    int32_t n_headers;
    int64_t timestamp; /**< CreateTime in ms since the epoch; KW_TIMESTAMP_NOW = now */
    void *opaque;      /**< handed back in the delivery report */
} kw_message;

/** @brief Empty message: no topic, KW_PARTITION_ANY, null key and value, no headers,
 *  KW_TIMESTAMP_NOW, opaque NULL. */
KW_API void kw_message_init(kw_message *m);

/** The outcome of one record. Pointers are valid only during the callback. */
typedef struct kw_delivery {
    const char *topic;
    int32_t partition;      /**< -1 if it failed before a partition was chosen */
    int64_t offset;         /**< its offset; -1 on error, with acks=0, or when a retry found it
                                 already written (DUPLICATE_SEQUENCE_NUMBER, offset not returned) */
    int64_t timestamp;      /**< its CreateTime, or the broker's time for LogAppendTime topics */
    kw_err err;             /**< KW_ERR_OK: written (acknowledged as `acks` asks) */
    const kw_error *detail; /**< why it failed (broker_code for KW_ERR_BROKER); never NULL */
    void *opaque;
} kw_delivery;

/** Called once per record on the loop's thread. It may send records; it must not free the
 *  producer or its client, nor call kw_producer_flush with a timeout. */
typedef void (*kw_delivery_fn)(kw_producer *p, const kw_delivery *d, void *ud);

/**
 * A user partitioner for records sent with KW_PARTITION_ANY.
 * @param topic the topic name.
 * @param key the key (len -1 for null).
 * @param partitions the topic's partition count (> 0).
 * @param available the partitions that have a leader now, ascending (n_available may be 0).
 * @return a partition in [0, partitions); anything else fails the send with
 *         KW_ERR_INVALID_ARG.
 */
typedef int32_t (*kw_partitioner_fn)(const char *topic, kw_slice key, int32_t partitions,
                                     const int32_t *available, int32_t n_available, void *ud);

/** Frees a value given to kw_producer_send_zc. */
typedef void (*kw_free_fn)(void *ptr, void *ud);

typedef struct kw_producer_opts {
    kw_delivery_fn on_delivery; /**< NULL = no reports */
    void *delivery_ud;
    kw_partitioner_fn partitioner; /**< NULL = the `partitioner` property */
    void *partitioner_ud;
} kw_producer_opts;

/** @brief No callbacks: the partitioner property decides, no delivery reports. */
KW_API void kw_producer_opts_init(kw_producer_opts *o);

/**
 * @brief Create a producer on a client.
 *
 * Reads the producer properties of the client's configuration (acks, linger.ms, batch.size,
 * compression.type, enable.idempotence, ...) and checks their combination as the Java client
 * does (an explicit enable.idempotence=true with acks=1 is an error that names both). The
 * producer must be freed before its client.
 *
 * @param o NULL = kw_producer_opts_init defaults.
 * @return KW_ERR_OK; KW_ERR_CONFIG; KW_ERR_INVALID_ARG (c or out NULL); KW_ERR_NOMEM.
 */
KW_API kw_err kw_producer_new(kw_client *c, const kw_producer_opts *o, kw_producer **out,
                              kw_error *err);

/**
 * @brief Free the producer without waiting: every record not yet reported is reported with
 *        KW_ERR_CANCELED before this returns (call kw_producer_flush first to deliver them).
 *        Requests already on the wire are left to complete into nothing; values of
 *        kw_producer_send_zc still in such a request are freed when it completes, at the
 *        latest inside kw_client_free. NULL does nothing. Not from inside a callback.
 */
KW_API void kw_producer_free(kw_producer *p);

/**
 * @brief Queue a record. Never blocks; the delivery report comes later, exactly once.
 * @return KW_ERR_OK (the report will come); KW_ERR_QUEUE_FULL (buffer.memory is used up: step
 *         the loop and retry); KW_ERR_TOO_LARGE (the record alone exceeds max.request.size
 *         or buffer.memory); KW_ERR_INVALID_ARG (no or bad topic name, a negative partition
 *         other than KW_PARTITION_ANY, a partition the topic does not have, a null header
 *         key, a length below -1, a timestamp below -1, a user partitioner's bad answer);
 *         KW_ERR_STATE (the producer hit a fatal error, see kw_producer_fatal, or is being
 *         freed); KW_ERR_NOMEM. On failure nothing is queued and no report will come.
 */
KW_API kw_err kw_producer_send(kw_producer *p, const kw_message *m, kw_error *err);

/**
 * @brief kw_producer_send without copying the value: kwire reads m->value until the record
 *        has been delivered or has failed, then calls free_fn(value.ptr, free_ud), after the
 *        delivery report. The key and headers are copied. If this call fails, free_fn is
 *        not called and the value stays the caller's (so a KW_ERR_QUEUE_FULL can be retried
 *        with the same buffer). free_fn may be NULL for a value that outlives the producer.
 */
KW_API kw_err kw_producer_send_zc(kw_producer *p, const kw_message *m, kw_free_fn free_fn,
                                  void *free_ud, kw_error *err);

/**
 * @brief Send every queued record now (linger.ms no longer waits) and wait up to timeout_ms
 *        for all their delivery reports.
 *
 * With timeout_ms 0 it only starts sending and returns: the daemon keeps stepping its loop
 * and watches kw_producer_outstanding(). A negative timeout waits as long as it takes (each
 * record ends by delivery.timeout.ms anyway). With a timeout it waits: stepping the loop itself
 * when no kwire thread runs (so reports fire inside this call), or sleeping until the kwire
 * thread has reported everything.
 * @return KW_ERR_OK (nothing outstanding); KW_ERR_TIMED_OUT (records are still outstanding,
 *         also for timeout 0 with records queued); KW_ERR_STATE (a timeout given from inside
 *         a callback, where waiting would deadlock).
 */
KW_API kw_err kw_producer_flush(kw_producer *p, int timeout_ms, kw_error *err);

/** Purge flags. */
#define KW_PURGE_QUEUED 0x1u /**< records not yet sent (or waiting to be sent again) */
#define KW_PURGE_INFLIGHT                                                                          \
    0x2u /**< records in requests awaiting a response: they may still be                           \
              written by the broker, but are reported as canceled */

/**
 * @brief Drop records: each is reported with KW_ERR_CANCELED in a later step. With the
 *        idempotent producer, dropping records that already have sequence numbers makes it
 *        take a new epoch before it sends more.
 * @return KW_ERR_OK or KW_ERR_INVALID_ARG (no flag).
 */
KW_API kw_err kw_producer_purge(kw_producer *p, unsigned flags, kw_error *err);

/** @brief Records sent but not yet reported. */
KW_API size_t kw_producer_outstanding(kw_producer *p);

/** @brief The client the producer runs on. */
KW_API kw_client *kw_producer_client(kw_producer *p);

/**
 * @brief Whether the producer hit an error it cannot recover from (an authorization error,
 *        a fenced producer, a producer id it cannot get). Every record is then reported with
 *        that error and sends fail with KW_ERR_STATE.
 * @param out receives the error (may be NULL).
 * @return true when fatal.
 */
KW_API bool kw_producer_fatal(kw_producer *p, kw_error *out);

/** Counters since the producer was created. */
typedef struct kw_producer_stats {
    uint64_t sent;        /**< records accepted by kw_producer_send(_zc) */
    uint64_t delivered;   /**< reports with KW_ERR_OK */
    uint64_t failed;      /**< reports with an error (canceled ones included) */
    uint64_t batches;     /**< batches sent, retries included */
    uint64_t requests;    /**< Produce requests sent */
    uint64_t retries;     /**< batches queued again after a retriable error */
    uint64_t epoch_bumps; /**< new producer epochs or ids after the first */
    int64_t producer_id;  /**< -1 when not idempotent or not yet known */
    int16_t producer_epoch;
    size_t outstanding; /**< records not yet reported */
    size_t memory;      /**< bytes counted against buffer.memory */
} kw_producer_stats;

/** @brief Read the counters. */
KW_API void kw_producer_stats_get(kw_producer *p, kw_producer_stats *out);

#ifdef __cplusplus
}
#endif
#endif
