/* kwire: the consumer.
 *
 * A kw_consumer reads records from Kafka over a kw_client (kwire/client.h), which drives it:
 * every fetch, timer and response runs inside kw_client_step (or on the kwire thread).
 *
 *     kw_consumer_opts o;
 *     kw_consumer_opts_init(&o);
 *     kw_consumer_new(client, &o, &k, &err);
 *
 *     kw_topic_partition tp[] = {{.topic = "events", .partition = 0,
 *                                 .offset = KW_OFFSET_BEGINNING}};
 *     kw_consumer_assign(k, tp, 1, &err);          manual assignment (or subscribe: groups)
 *
 *     kw_consumer_msg *m[64];
 *     size_t n;
 *     kw_consumer_poll(k, m, 64, 1000, &n, &err);  up to 64 messages, waiting up to 1 s
 *     for (size_t i = 0; i < n; i++)
 *         if (m[i]->err == KW_ERR_OK) use(m[i]->key, m[i]->value);
 *     kw_consumer_msgs_release(m, n);              the bytes stay valid until released
 *
 *     kw_consumer_free(k);
 *     kw_client_free(client);
 *
 * Fetching: one Fetch request per leader broker at a time carries every assigned partition
 * that broker leads (fetch.min.bytes, fetch.max.wait.ms, fetch.max.bytes,
 * max.partition.fetch.bytes); a second one may be in flight while the first response's
 * records wait to be polled, as long as the buffered bytes stay under the fetch memory budget
 * (fetch.queue.max.bytes, or queued.max.messages.kbytes in KiB). A full budget stops
 * fetching until the application polls and releases messages: back-pressure, never a crash.
 * Records of transactions are filtered by isolation.level (read_committed hands out only
 * committed data; control records are never handed out, the position moves past them).
 * Compressed batches (every codec built in) and legacy message sets (magic 0 and 1) are read.
 * Leader changes, fetch errors and lost connections refresh the metadata and fetch again from
 * the same position: nothing is skipped and nothing is handed out twice. The preferred read
 * replica of KIP-392 is ignored: kwire always fetches from the leader. Every batch's CRC is
 * verified whatever check.crcs says (the record iterator always checks; CRC-32C is cheap), and
 * a corrupt batch is an in-band KW_ERR_CRC.
 *
 * Zero copy: the records of one partition in one fetch response are kept in one refcounted
 * chunk (one bulk copy out of the connection's receive buffer, or the output of
 * decompression); every kw_consumer_msg points into it. A chunk is freed when the last of its
 * messages is released and the consumer no longer needs it; until then its bytes count
 * against the fetch memory budget, so holding messages for long stalls fetching.
 *
 * Errors reach the application in-band: kw_consumer_poll returns a message with `err` set
 * (topic and partition filled in, no key or value), for example KW_ERR_BROKER with broker code
 * 1 OFFSET_OUT_OF_RANGE when auto.offset.reset=none, 29 TOPIC_AUTHORIZATION_FAILED, or a
 * corrupt batch (KW_ERR_CRC). Such a message is released like any other.
 *
 * Threads: every function may be called from any thread (they take the client's loop lock),
 * except where noted. kw_consumer_poll works in both modes of the client: with no kwire
 * thread it steps the client itself while nothing is buffered; with the kwire thread it waits
 * on a condition variable. Callbacks (rebalance, commit) never fire inside the call that
 * registered them. */
#ifndef KWIRE_CONSUMER_H
#define KWIRE_CONSUMER_H

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

typedef struct kw_consumer kw_consumer;

/** Logical offsets, as librdkafka numbers them. */
#define KW_OFFSET_BEGINNING (-2)    /**< the log start offset (ListOffsets earliest) */
#define KW_OFFSET_END       (-1)    /**< the high watermark / last stable offset (latest) */
#define KW_OFFSET_STORED    (-1000) /**< the committed offset (groups), else auto.offset.reset */
#define KW_OFFSET_INVALID   (-1001) /**< no offset */

/** A partition, with an offset whose meaning the function says (start position, position,
 *  commit, committed). Used for lists given to and returned by the consumer. */
typedef struct kw_topic_partition {
    const char *topic;    /**< NUL-terminated */
    int32_t partition;    /**< >= 0 */
    int64_t offset;       /**< an offset >= 0 or a KW_OFFSET_* value */
    int32_t leader_epoch; /**< -1 = unknown */
    const char *metadata; /**< commit metadata; NULL = none ("") */
    kw_err err;           /**< per-partition result where a function reports one */
    int16_t error_code;   /**< broker code behind err == KW_ERR_BROKER, else 0 */
} kw_topic_partition;

/** A list the consumer allocated (kw_consumer_assignment, kw_consumer_paused ...): items
 *  and their topic names in one block. Free with kw_partition_list_free. */
typedef struct kw_partition_list {
    kw_topic_partition *items;
    size_t n;
    const kw_allocator *alloc_; /**< private */
    size_t size_;               /**< private */
} kw_partition_list;

/** @brief Free a list's memory (the struct itself is the caller's). NULL or an empty list
 *  does nothing. Any thread; valid after its consumer is freed, not after its client. */
KW_API void kw_partition_list_free(kw_partition_list *l);

/** Where a message's timestamp comes from. */
typedef enum kw_timestamp_type {
    KW_TIMESTAMP_NONE = 0,           /**< magic 0 data: no timestamp (timestamp is -1) */
    KW_TIMESTAMP_CREATE_TIME = 1,    /**< set by the producer */
    KW_TIMESTAMP_LOG_APPEND_TIME = 2 /**< set by the broker */
} kw_timestamp_type;

/** One consumed record, or an in-band error (err != KW_ERR_OK). Everything it points to
 *  (topic, key, value, headers) stays valid until it is released. Read-only for the
 *  application. */
typedef struct kw_consumer_msg {
    const char *topic;
    int32_t partition;
    int64_t offset;    /**< the record's offset; for an error, the position it concerns */
    int64_t timestamp; /**< ms since the epoch; -1 with KW_TIMESTAMP_NONE */
    kw_timestamp_type timestamp_type;
    int32_t leader_epoch; /**< the batch's partition leader epoch; -1 when unknown */
    kw_slice key;         /**< len -1: null */
    kw_slice value;       /**< len -1: null */
    const kw_header *headers;
    int32_t n_headers;
    kw_err err;         /**< KW_ERR_OK for a record */
    int16_t error_code; /**< broker code when err == KW_ERR_BROKER */
    const char *errstr; /**< why, when err is set; "" otherwise; never NULL */
    void *chunk_;       /**< private: the buffer chunk this message belongs to */
} kw_consumer_msg;

/** @brief Release one message: its bytes may be freed. NULL does nothing. Any thread; each
 *  message exactly once. Every message must be released before kw_client_free (messages
 *  may outlive their consumer). */
KW_API void kw_consumer_msg_release(kw_consumer_msg *m);

/** @brief Release n messages (as returned by kw_consumer_poll); NULL entries are skipped. */
KW_API void kw_consumer_msgs_release(kw_consumer_msg **m, size_t n);

/* ---- consumer groups: types shared with the group section below ---- */

/** What a rebalance callback reports. */
typedef enum kw_rebalance_kind {
    KW_REBALANCE_ASSIGNED = 1, /**< partitions added to the assignment */
    KW_REBALANCE_REVOKED = 2,  /**< partitions taken away; their offsets may still be committed */
    KW_REBALANCE_LOST = 3      /**< partitions lost (fenced, session expired): do not commit */
} kw_rebalance_kind;

/**
 * A rebalance callback. For the eager classic protocol the lists are the whole assignment
 * (ASSIGNED) and everything owned (REVOKED); for cooperative-sticky and KIP-848 they are
 * incremental (only what is added or taken away). It runs on the thread that calls
 * kw_consumer_poll (or kw_consumer_close / kw_consumer_unsubscribe), inside that call, with no
 * lock held, so it may call kw_consumer_commit (also synchronously), seek, pause, and
 * position. The consumer applies the change itself (kwire assigns and unassigns; the
 * application does not call assign from here).
 */
typedef void (*kw_rebalance_fn)(kw_consumer *k, kw_rebalance_kind kind,
                                const kw_topic_partition *parts, size_t n, void *ud);

/** The result of an asynchronous commit (also of auto-commits, through
 *  kw_consumer_opts.on_commit) or of kw_consumer_committed_async. `offsets` holds the
 *  per-partition results (err, error_code) and, for committed, the offsets; valid only during
 *  the call. Runs on the loop's thread (inside kw_client_step or on the kwire thread). */
typedef void (*kw_commit_fn)(kw_consumer *k, kw_err err, const kw_error *detail,
                             const kw_topic_partition *offsets, size_t n, void *ud);

typedef struct kw_consumer_opts {
    kw_rebalance_fn on_rebalance; /**< NULL = none */
    void *rebalance_ud;
    kw_commit_fn on_commit; /**< results of auto-commits; NULL = none */
    void *commit_ud;
} kw_consumer_opts;

/** @brief No callbacks. */
KW_API void kw_consumer_opts_init(kw_consumer_opts *o);

/**
 * @brief Create a consumer on a client. Reads the consumer properties of the client's
 *        configuration (fetch.*, max.partition.fetch.bytes, isolation.level,
 *        auto.offset.reset, check.crcs, fetch.queue.max.bytes, group.id ...). It must be
 *        freed before its client.
 * @param o NULL = kw_consumer_opts_init defaults.
 * @return KW_ERR_OK; KW_ERR_CONFIG; KW_ERR_INVALID_ARG (c or out NULL); KW_ERR_NOMEM.
 */
KW_API kw_err kw_consumer_new(kw_client *c, const kw_consumer_opts *o, kw_consumer **out,
                              kw_error *err);

/**
 * @brief Free the consumer without waiting: stops fetching, drops buffered records (messages
 *        already handed out stay valid until released). With a group, call kw_consumer_close
 *        first to leave it cleanly. NULL does nothing. Not from inside a callback, nor while
 *        another thread is in kw_consumer_poll.
 */
KW_API void kw_consumer_free(kw_consumer *k);

/** @brief The client the consumer runs on. */
KW_API kw_client *kw_consumer_client(kw_consumer *k);

/* ---- manual assignment ---- */

/**
 * @brief Replace the assignment with `parts` (n 0 = unassign everything). Each offset is
 *        where that partition starts: an offset >= 0, KW_OFFSET_BEGINNING, KW_OFFSET_END, or
 *        KW_OFFSET_STORED (with a group.id: the group's committed offset, looked up
 *        asynchronously; else auto.offset.reset) or KW_OFFSET_INVALID (auto.offset.reset).
 *        With a group.id, commits go to the group's coordinator (see the group section). Partitions
 *        kept from the old assignment restart at the given offset too. Buffered records of
 *        removed partitions are dropped.
 * @return KW_ERR_OK; KW_ERR_INVALID_ARG (a NULL or invalid topic name, a negative partition, a
 *         duplicate, an offset below -2 other than STORED/INVALID); KW_ERR_NOMEM. On failure
 *         the assignment is unchanged.
 */
KW_API kw_err kw_consumer_assign(kw_consumer *k, const kw_topic_partition *parts, size_t n,
                                 kw_error *err);

/** @brief Add partitions to the assignment (offsets as for kw_consumer_assign).
 *  KW_ERR_INVALID_ARG also when one is already assigned (nothing changes then). */
KW_API kw_err kw_consumer_incremental_assign(kw_consumer *k, const kw_topic_partition *parts,
                                             size_t n, kw_error *err);

/** @brief Remove partitions from the assignment (offsets ignored), dropping their buffered
 *  records. KW_ERR_INVALID_ARG when one is not assigned (nothing changes then). */
KW_API kw_err kw_consumer_incremental_unassign(kw_consumer *k, const kw_topic_partition *parts,
                                               size_t n, kw_error *err);

/** @brief Remove every partition. */
KW_API kw_err kw_consumer_unassign(kw_consumer *k, kw_error *err);

/** @brief The current assignment, each with its position (KW_OFFSET_INVALID while it is
 *  still being resolved). `out` is filled and must be freed with kw_partition_list_free. */
KW_API kw_err kw_consumer_assignment(kw_consumer *k, kw_partition_list *out, kw_error *err);

/* ---- positions ---- */

/**
 * @brief Move an assigned partition to `offset` (>= 0, KW_OFFSET_BEGINNING or KW_OFFSET_END).
 *        Buffered records of the partition are dropped and a fetch in flight for it is
 *        ignored; BEGINNING and END are resolved with ListOffsets, asynchronously: the
 *        partition fetches once its offset is known. The next record handed out for it is at
 *        the new position.
 * @return KW_ERR_OK; KW_ERR_INVALID_ARG (bad offset); KW_ERR_NOT_FOUND (not assigned).
 */
KW_API kw_err kw_consumer_seek(kw_consumer *k, const char *topic, int32_t partition, int64_t offset,
                               kw_error *err);

/**
 * @brief Move an assigned partition to the first record whose timestamp is >= `timestamp_ms`
 *        (ListOffsets by time, asynchronous as for seek). When no record is that recent, the
 *        partition goes to its end.
 * @return KW_ERR_OK; KW_ERR_INVALID_ARG (negative timestamp); KW_ERR_NOT_FOUND.
 */
KW_API kw_err kw_consumer_seek_timestamp(kw_consumer *k, const char *topic, int32_t partition,
                                         int64_t timestamp_ms, kw_error *err);

/**
 * @brief The position of an assigned partition: the offset of the next record poll will hand
 *        out (the last handed out + 1, or the start position). KW_OFFSET_INVALID while a seek
 *        or reset is being resolved.
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND (not assigned).
 */
KW_API kw_err kw_consumer_position(kw_consumer *k, const char *topic, int32_t partition,
                                   int64_t *offset, kw_error *err);

/**
 * @brief How far behind the partition's end the application is: end − position, where end is
 *        the high watermark (read_uncommitted) or last stable offset (read_committed) from the
 *        latest fetch response. -1 when either is not known yet.
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND (not assigned).
 */
KW_API kw_err kw_consumer_lag(kw_consumer *k, const char *topic, int32_t partition, int64_t *lag,
                              kw_error *err);

/** @brief The log start offset, high watermark and last stable offset the latest fetch
 *  response reported for an assigned partition (-1 each when unknown). Any may be NULL. */
KW_API kw_err kw_consumer_watermarks(kw_consumer *k, const char *topic, int32_t partition,
                                     int64_t *low, int64_t *high, int64_t *stable, kw_error *err);

/**
 * @brief Stop fetching assigned partitions until resumed; their buffered records are dropped
 *        (the position stays, so resume continues exactly where the application is).
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND (one is not assigned: nothing changes).
 */
KW_API kw_err kw_consumer_pause(kw_consumer *k, const kw_topic_partition *parts, size_t n,
                                kw_error *err);

/** @brief Resume fetching paused partitions (resuming one not paused is not an error). */
KW_API kw_err kw_consumer_resume(kw_consumer *k, const kw_topic_partition *parts, size_t n,
                                 kw_error *err);

/* ---- polling ---- */

/**
 * @brief Hand out up to `max` buffered messages (records and in-band errors), oldest first
 *        per partition, taking partitions in turn.
 *
 * When nothing is buffered it waits up to timeout_ms (0 = do not wait, negative = until a
 * message, a wakeup or an error): with no kwire thread it steps the client itself (as
 * rd_kafka_consume_batch does), so callbacks of the client run inside this call; with the
 * kwire thread it waits on a condition variable. Every call counts as the application polling
 * (max.poll.interval.ms), and group events (rebalance callbacks) are delivered here.
 *
 * @param msgs receives *n message pointers, each to be released (kw_consumer_msg_release).
 * @param n receives how many (0 when the timeout passed).
 * @return KW_ERR_OK (also with *n 0 after the timeout or kw_consumer_wakeup); KW_ERR_STATE
 *         (called from inside a client callback, where waiting would deadlock, with a
 *         non-zero timeout); KW_ERR_INVALID_ARG; an error of kw_client_step; the group
 *         member's fatal error (see below).
 *
 * A subscribed group member that fails for good (out of memory inside the member: KW_ERR_NOMEM;
 * GROUP_AUTHORIZATION_FAILED, FENCED_INSTANCE_ID, INVALID_SESSION_TIMEOUT ...: KW_ERR_BROKER
 * with err->broker_code) has lost its partitions (the LOST callback runs first) and gets no
 * more: every later poll returns that error with err->fatal set and hands out nothing, and
 * synchronous group calls fail with KW_ERR_STATE. Close and free the consumer (and make a new
 * one to rejoin). A manual assignment is not stopped by it; only its commits fail.
 */
KW_API kw_err kw_consumer_poll(kw_consumer *k, kw_consumer_msg **msgs, size_t max, int timeout_ms,
                               size_t *n, kw_error *err);

/** @brief Make a kw_consumer_poll that waits return now (with what it has). Any thread. */
KW_API void kw_consumer_wakeup(kw_consumer *k);

/** Counters and gauges since the consumer was created. */
typedef struct kw_consumer_stats {
    uint64_t fetch_requests;  /**< Fetch requests sent */
    uint64_t fetch_responses; /**< Fetch responses processed */
    uint64_t fetch_errors;    /**< partition errors and failed Fetch requests */
    uint64_t records;         /**< records handed to the application */
    uint64_t errors;          /**< in-band error messages handed to the application */
    uint64_t bytes;           /**< record batch bytes received (compressed size) */
    uint64_t aborted;         /**< records dropped as aborted (read_committed) */
    uint64_t list_offsets;    /**< ListOffsets requests sent (seek, reset) */
    uint64_t budget_stalls;   /**< times fetching stopped because the budget was full */
    size_t buffered_msgs;     /**< messages waiting to be polled */
    size_t mem;               /**< bytes of chunks alive (buffered or handed out, not released) */
    size_t mem_peak;          /**< the most `mem` has been */
    size_t mem_budget;        /**< fetch.queue.max.bytes */
    size_t out_msgs;          /**< messages handed out and not yet released */
    size_t assigned;          /**< partitions assigned */
    int16_t fetch_version;    /**< version of the last Fetch response; -1 before the first */
} kw_consumer_stats;

/** @brief Read the counters. Any thread. */
KW_API void kw_consumer_stats_get(kw_consumer *k, kw_consumer_stats *out);

/* ---- consumer groups: implemented in src/client/consumer_group.c ----
 *
 * Commits without subscribing: a consumer with a group.id that assigns partitions itself
 * (kw_consumer_assign) commits to the group's coordinator as a "simple" consumer group does
 * (generation -1, no member id; Kafka accepts it while no member is subscribed in the group):
 * kw_consumer_commit / commit_async (NULL = the positions of every assigned partition),
 * kw_consumer_committed, enable.auto.commit (every auto.commit.interval.ms and in
 * kw_consumer_close), and KW_OFFSET_STORED in an assignment starts at the committed offset
 * (auto.offset.reset when there is none).
 *
 * Ordering guarantee of the rebalance callbacks: no record of a partition is handed out by
 * kw_consumer_poll before the ASSIGNED callback that gives it has returned, and none after the
 * REVOKED or LOST callback that takes it away has started. Records fetched meanwhile stay
 * buffered (an ASSIGNED callback that seeks or pauses decides where they start).
 */

/**
 * @brief Join the group (group.id) and consume the partitions it assigns from `topics`
 *        (replacing an earlier subscription). Joining happens in the loop; assignments arrive
 *        through the rebalance callback, inside kw_consumer_poll. Partitions start at their
 *        committed offset, else by auto.offset.reset. Manual assignment and subscription do
 *        not mix.
 * @param topics names, copied.
 * @return KW_ERR_OK; KW_ERR_CONFIG (no group.id); KW_ERR_INVALID_ARG (no topics, a bad name);
 *         KW_ERR_STATE (partitions are assigned manually); KW_ERR_NOMEM.
 */
KW_API kw_err kw_consumer_subscribe(kw_consumer *k, const char *const *topics, size_t n,
                                    kw_error *err);

/** @brief Leave the group's subscription: the revoked (or lost) callback runs inside this call
 *  and the member leaves the group. Offsets are not committed automatically here (as Java). */
KW_API kw_err kw_consumer_unsubscribe(kw_consumer *k, kw_error *err);

/**
 * @brief Commit offsets and wait up to timeout_ms for the coordinator's answer. While the
 *        coordinator moves, is loading or does not answer, the commit is sent again (after
 *        retry.backoff.ms) until the timeout, as Java's commitSync.
 * @param offsets the offsets to commit (the next offset to read, with optional metadata);
 *        NULL = the position of every assigned partition, i.e. exactly what was handed to the
 *        application.
 * @return KW_ERR_OK; KW_ERR_TIMED_OUT; KW_ERR_BROKER (a partition or group error: per
 *         partition results are in `offsets` when given); KW_ERR_STATE (the subscribed
 *         member holds no valid generation, or it failed for good); KW_ERR_CONFIG (no
 *         group.id); KW_ERR_NOMEM.
 */
KW_API kw_err kw_consumer_commit(kw_consumer *k, const kw_topic_partition *offsets, size_t n,
                                 int timeout_ms, kw_error *err);

/** @brief kw_consumer_commit without waiting: cb runs once with the result inside a later
 *  step (or on the kwire thread). On failure cb never runs. */
KW_API kw_err kw_consumer_commit_async(kw_consumer *k, const kw_topic_partition *offsets, size_t n,
                                       kw_commit_fn cb, void *ud, kw_error *err);

/**
 * @brief The committed offsets of `parts` (OffsetFetch to the group coordinator), written into
 *        parts[i].offset (KW_OFFSET_INVALID when none), leader_epoch and per-partition err.
 *        Waits up to timeout_ms.
 * @return KW_ERR_OK; KW_ERR_TIMED_OUT; KW_ERR_CONFIG (no group.id); KW_ERR_STATE (the member
 *         failed for good); KW_ERR_BROKER.
 */
KW_API kw_err kw_consumer_committed(kw_consumer *k, kw_topic_partition *parts, size_t n,
                                    int timeout_ms, kw_error *err);

/** @brief kw_consumer_committed without waiting: cb receives the offsets. */
KW_API kw_err kw_consumer_committed_async(kw_consumer *k, const kw_topic_partition *parts, size_t n,
                                          kw_commit_fn cb, void *ud, kw_error *err);

/**
 * @brief Leave cleanly: commits (with enable.auto.commit), runs the revoked callback, sends
 *        LeaveGroup, stops fetching; waits up to timeout_ms. Then call kw_consumer_free.
 *        A manual assignment with a group.id commits its positions (enable.auto.commit) and
 *        unassigns; without a group.id it only unassigns.
 */
KW_API kw_err kw_consumer_close(kw_consumer *k, int timeout_ms, kw_error *err);

/** @brief group.id, or NULL when none. Valid until the consumer is freed. */
KW_API const char *kw_consumer_group_id(kw_consumer *k);

/**
 * @brief Copy the member id the coordinator gave this member ("" before joining).
 * @param len in: size of buf; out: bytes needed including the NUL.
 * @return KW_ERR_OK; KW_ERR_NOSPACE (nothing useful written); KW_ERR_STATE (no group).
 */
KW_API kw_err kw_consumer_member_id(kw_consumer *k, char *buf, size_t *len);

/** @brief The group generation (classic) or member epoch (KIP-848); -1 when not in a group. */
KW_API int32_t kw_consumer_generation(kw_consumer *k);

#ifdef __cplusplus
}
#endif
#endif
