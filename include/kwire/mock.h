/* kwire-mock: an in-memory, Kafka-compatible test broker.
 *
 * A kw_mock is a cluster of N brokers (node ids 1..N), each listening on 127.0.0.1 on a fixed or
 * ephemeral port and speaking the Kafka protocol with the server side of kwire's codec. It is a
 * test double, not a production broker: topics and partitions live in memory, each partition is
 * stored once (replicas are names in Metadata, not copies), and every write is committed at
 * once, so the high watermark is the log end and acks=all behaves like acks=1.
 *
 * What it serves (API key: versions, which are the codec's full ranges unless overridden with
 * kw_mock_api_versions_set):
 *   ApiVersions (18), Metadata (3), DescribeCluster (60), Produce (0), Fetch (1), ListOffsets (2),
 *   DeleteRecords (21), CreateTopics (19), DeleteTopics (20), CreatePartitions (37),
 *   DescribeConfigs (32), InitProducerId (22), AddPartitionsToTxn (24), AddOffsetsToTxn (25),
 *   EndTxn (26), TxnOffsetCommit (28).
 * ApiVersions advertises exactly the APIs it serves. A request for an API it does not serve, or
 * for a version outside the advertised range, closes the connection, as a real broker does; an
 * ApiVersions request above the advertised maximum gets error 35 (UNSUPPORTED_VERSION) with a v0
 * body listing the supported ranges (KIP-511).
 *
 * Behaviour that a client can observe and that differs from a real broker is documented here:
 *   - Fetch sessions (KIP-227) are never created: a full fetch (SessionId 0) is answered with
 *     SessionId 0, which tells the client to keep sending full fetches; a request naming a
 *     session gets FETCH_SESSION_ID_NOT_FOUND. Sessionless fetches (epoch -1) are plain.
 *   - Auto-creation is synchronous: a Metadata or Produce request that creates a topic sees it
 *     at once (a real broker first answers LEADER_NOT_AVAILABLE).
 *   - retention.bytes drops whole batches, oldest first, never the newest one (Kafka drops whole
 *     segments, never the active one). retention.ms and cleanup.policy are stored and reported
 *     but nothing expires or compacts (a compacted topic does reject records without a key).
 *   - Like Kafka, each connection handles one request at a time by default (the broker "mutes"
 *     the socket until the response is sent); pipelined requests are read later and answered in
 *     order. A Fetch that waits for data (max wait, min bytes) holds its connection meanwhile.
 *   - Idempotent producers: sequences are checked per producer id and partition as Kafka 2.5+
 *     does (duplicates of the last five batches get their original offsets, gaps
 *     OUT_OF_ORDER_SEQUENCE_NUMBER, stale epochs INVALID_PRODUCER_EPOCH, a producer the partition
 *     does not know may start at any sequence), so UNKNOWN_PRODUCER_ID is never returned.
 *   - Transactions: every broker is the coordinator of every transactional id unless a group
 *     module places coordinators (FindCoordinator); markers are written when EndTxn is answered
 *     unless txn_marker_delay_ms is set; a timed-out transaction is aborted at its deadline
 *     (Kafka scans every 10 s); transactional ids never expire; two-phase commit (KIP-939) is
 *     refused as on a broker with transaction.two.phase.commit.enable=false; Produce v12+ adds
 *     the partition to the transaction by itself (transaction version 2), older versions need
 *     AddPartitionsToTxn (Kafka's transaction.partition.verification.enable=true).
 *
 * Threads: the cluster runs on its own reactor and does nothing unless stepped. Either the
 * caller drives it from its loop (kw_mock_fd, kw_mock_timeout_ms, kw_mock_step), in which case
 * every function must be called from that one thread; or kw_mock_thread_start starts one thread
 * that steps it, after which every function here may be called from any thread (they take the
 * cluster's lock), except kw_mock_step, which is then refused. No thread is ever started
 * otherwise, and no function here calls back into the caller except the log hook, which runs
 * on whichever thread steps the cluster (or calls the function that logs).
 *
 * Memory: everything comes from the kw_allocator in the configuration. Out of memory while
 * serving a request closes that connection; it never aborts. */
#ifndef KWIRE_MOCK_H
#define KWIRE_MOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "error.h"
#include "export.h"
#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An opaque mock cluster. */
typedef struct kw_mock kw_mock;

/** The most brokers one cluster can have. */
#define KW_MOCK_MAX_BROKERS 64
/** The most partitions one topic can have: a bound on what one request can make the broker
 *  allocate (a CreatePartitions count of 2^31 is refused with INVALID_PARTITIONS). */
#define KW_MOCK_MAX_PARTITIONS 100000

/** Log levels of the log hook (syslog's numbers). */
#define KW_MOCK_LOG_ERR     3
#define KW_MOCK_LOG_WARNING 4
#define KW_MOCK_LOG_INFO    6
#define KW_MOCK_LOG_DEBUG   7

/** Cluster settings. A value type: kw_mock_conf_init fills in the defaults named below (the
 *  broker property each one stands for is in parentheses). kw_mock_new copies what it needs;
 *  strings need not outlive the call. */
typedef struct kw_mock_conf {
    const kw_allocator *alloc; /**< NULL = kw_allocator_default() */
    int32_t brokers;           /**< 1..KW_MOCK_MAX_BROKERS; default 1 */
    /** 0 (default): every broker gets an ephemeral port. Otherwise broker i (1-based) listens
     *  on port + i - 1, which must all be free. */
    int32_t port;
    bool auto_create_topics;            /**< (auto.create.topics.enable) default true */
    int32_t default_partitions;         /**< (num.partitions) default 1, at most
                                             KW_MOCK_MAX_PARTITIONS */
    int16_t default_replication_factor; /**< (default.replication.factor) default 1 */
    int64_t retention_bytes;            /**< (log.retention.bytes) per partition; -1 = none */
    int64_t retention_ms;               /**< (log.retention.ms) reported only; default 7 days */
    int32_t message_max_bytes;          /**< (message.max.bytes) largest batch; 1048588 */
    int32_t max_request_bytes;          /**< (socket.request.max.bytes) 104857600 */
    int32_t fetch_max_bytes;            /**< (fetch.max.bytes) cap per Fetch response; 57671680 */
    bool log_append_time; /**< (log.message.timestamp.type=LogAppendTime) default false */
    /** Requests one connection may have in progress before the broker stops reading from it.
     *  1 (default) is Kafka's behaviour; more lets tests pipeline past a waiting Fetch. */
    int32_t max_inflight;
    /** (transaction.max.timeout.ms) the largest transaction timeout InitProducerId accepts;
     *  default 900000 */
    int32_t transaction_max_timeout_ms;
    /** (producer.id.expiration.ms) a partition forgets a producer that wrote nothing for this
     *  long and has no open transaction; default 86400000, -1 = never */
    int64_t producer_id_expiration_ms;
    /** Milliseconds between a transaction's end (EndTxn, a timeout) and its COMMIT/ABORT
     *  markers being written. 0 (default) writes them before EndTxn is answered; more
     *  behaves like a Kafka coordinator that answers first and writes the markers after,
     *  so that clients see CONCURRENT_TRANSACTIONS in between. */
    int32_t txn_marker_delay_ms;
    const char *cluster_id; /**< NULL = a random 22-character id, as Kafka makes */
    /** Milliseconds on a monotonic scale for every timer (Fetch max wait). NULL = the system's
     *  CLOCK_MONOTONIC. Tests install a virtual clock here; it must never go backwards. */
    int64_t (*clock)(void *ud);
    void *clock_ud;
    /** Wall-clock milliseconds since the epoch, used for LogAppendTime. NULL = CLOCK_REALTIME. */
    int64_t (*wall_clock)(void *ud);
    void *wall_clock_ud;
    /** Log hook; NULL = silent. `msg` is valid only during the call. Called with the cluster's
     *  lock held: it must not call back into this cluster. */
    void (*log)(void *ud, int level, const char *msg);
    void *log_ud;
    int log_level; /**< the most verbose level passed to `log`; default KW_MOCK_LOG_INFO */
} kw_mock_conf;

/** @brief Fill in the defaults. */
KW_API void kw_mock_conf_init(kw_mock_conf *conf);

/**
 * @brief Create a cluster and start listening (the sockets accept from now on, but nothing is
 *        served until the cluster is stepped or its thread runs).
 * @param conf NULL = defaults.
 * @param out receives the cluster; NULL on failure.
 * @param err optional detail.
 * @return KW_ERR_OK; KW_ERR_INVALID_ARG (a setting out of range); KW_ERR_IO (a port cannot be
 *         bound, or out of file descriptors); KW_ERR_NOMEM.
 */
KW_API kw_err kw_mock_new(const kw_mock_conf *conf, kw_mock **out, kw_error *err);

/** @brief Stop the thread if it runs, close every socket and free everything. NULL does
 *  nothing. Not from the log hook. */
KW_API void kw_mock_free(kw_mock *m);

/** @brief The bootstrap list "127.0.0.1:p1,127.0.0.1:p2,..." in node id order. Valid until
 *  kw_mock_free. */
KW_API const char *kw_mock_bootstrap(const kw_mock *m);
/** @brief Number of brokers. */
KW_API int32_t kw_mock_broker_count(const kw_mock *m);
/** @brief The port of broker `node_id` (1-based), or -1 for an unknown id. */
KW_API int32_t kw_mock_broker_port(const kw_mock *m, int32_t node_id);

/* ---------------------------------------------------------------- running */

/** @brief A descriptor that becomes readable when kw_mock_step has work (epoll). */
KW_API int kw_mock_fd(const kw_mock *m);
/** @brief Milliseconds until kw_mock_step must be called even if the fd stays quiet; -1 = no
 *  timer pending, 0 = now. */
KW_API int kw_mock_timeout_ms(const kw_mock *m);
/**
 * @brief Serve: wait up to `timeout_ms` (negative = no limit, 0 = poll; never past the next
 *        timer) for socket events, then handle a bounded amount of work.
 * @return KW_ERR_OK (also when woken or interrupted); KW_ERR_STATE while the cluster's thread
 *         runs; KW_ERR_IO if epoll fails.
 */
KW_API kw_err kw_mock_step(kw_mock *m, int timeout_ms);
/** @brief Make a blocking kw_mock_step return soon. Any thread, also a signal handler. */
KW_API kw_err kw_mock_wakeup(kw_mock *m);

/**
 * @brief Start the one thread that steps the cluster until kw_mock_thread_stop or
 *        kw_mock_free. From then on every function here may be called from any thread.
 * @return KW_ERR_OK; KW_ERR_STATE if it already runs; KW_ERR_IO if the thread cannot start.
 */
KW_API kw_err kw_mock_thread_start(kw_mock *m, kw_error *err);
/** @brief Stop and join the thread (not from the log hook). KW_ERR_STATE if none runs. The
 *  cluster keeps its state and can be stepped again by the caller. */
KW_API kw_err kw_mock_thread_stop(kw_mock *m);

/* ---------------------------------------------------------------- versions */

/**
 * @brief Override the range advertised for one API (version emulation).
 *
 * The broker advertises [min, max] in ApiVersions and accepts the part of it that it can
 * serve; a request outside the accepted part closes the connection. This mirrors Kafka 4.0,
 * which advertises Produce 0-12 but serves only 3-12. min = max = -1 hides the API: it is not
 * advertised and its requests close the connection. An override on ApiVersions itself changes
 * when the error-35 fallback answer is given.
 * @return KW_ERR_OK; KW_ERR_INVALID_ARG (min > max, a negative bound other than -1/-1, an
 *         API the codec does not know); KW_ERR_NOT_FOUND if the broker does not serve the API.
 */
KW_API kw_err kw_mock_api_versions_set(kw_mock *m, int16_t api_key, int16_t min, int16_t max);
/** @brief Back to the served range. */
KW_API kw_err kw_mock_api_versions_reset(kw_mock *m, int16_t api_key);

/* ---------------------------------------------------------------- topics and data */

/**
 * @brief Create a topic as CreateTopics would.
 * @param partitions -1 = the default partition count.
 * @param replication_factor -1 = the default; at most the number of brokers.
 * @return KW_ERR_OK; KW_ERR_STATE (it exists); KW_ERR_INVALID_ARG (a name Kafka rejects, a
 *         count out of range); KW_ERR_NOMEM.
 */
KW_API kw_err kw_mock_topic_create(kw_mock *m, const char *topic, int32_t partitions,
                                   int16_t replication_factor, kw_error *err);
/** @brief Delete a topic and its data. KW_ERR_OK or KW_ERR_NOT_FOUND. */
KW_API kw_err kw_mock_topic_delete(kw_mock *m, const char *topic);
/**
 * @brief Set (value non-NULL) or remove (value NULL) a topic config, as CreateTopics'
 *        Configs do: retention.bytes, retention.ms, cleanup.policy, max.message.bytes,
 *        message.timestamp.type and the other names DescribeConfigs lists for a topic.
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND (no topic); KW_ERR_CONFIG (unknown name or bad value,
 *         explained in err); KW_ERR_NOMEM. A lower retention.bytes applies at once.
 */
KW_API kw_err kw_mock_topic_config_set(kw_mock *m, const char *topic, const char *name,
                                       const char *value, kw_error *err);
/** @brief The topic's id. KW_ERR_OK or KW_ERR_NOT_FOUND. */
KW_API kw_err kw_mock_topic_id(kw_mock *m, const char *topic, kw_uuid *out);
/** @brief The topic's partition count, or -1 if there is no such topic. */
KW_API int32_t kw_mock_topic_partitions(kw_mock *m, const char *topic);

/** The state of one partition (kw_mock_partition_info). */
typedef struct kw_mock_partition_info {
    int32_t leader;             /**< node id */
    int32_t leader_epoch;       /**< 0 at creation, +1 per leader change */
    int64_t log_start_offset;   /**< the first offset that can be fetched */
    int64_t high_watermark;     /**< the offset the next record will get */
    int64_t last_stable_offset; /**< the first offset of the oldest open transaction, or the
                                     high watermark when none is open */
    int64_t bytes;              /**< bytes of stored batches */
    int32_t batches;            /**< stored batches */
} kw_mock_partition_info;

/** @brief Describe a partition. KW_ERR_OK or KW_ERR_NOT_FOUND. */
KW_API kw_err kw_mock_partition_info_get(kw_mock *m, const char *topic, int32_t partition,
                                         kw_mock_partition_info *out);

/**
 * @brief Move a partition's leadership to `node_id`, bumping its leader epoch. Clients that
 *        then produce or fetch on the old leader get NOT_LEADER_OR_FOLLOWER.
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND (topic, partition or broker).
 */
KW_API kw_err kw_mock_partition_leader_set(kw_mock *m, const char *topic, int32_t partition,
                                           int32_t node_id);

/**
 * @brief Append record batches to a partition, as if a client produced them.
 *
 * `batches` holds one or more magic-2 batches; each is validated as Produce does (CRC,
 * record count and structure, size limit, the sequence of an idempotent producer; a
 * transactional batch is refused, as a Produce without TransactionalId) and stored with the
 * next offsets; a duplicate of a stored idempotent batch is not stored again (*base_offset is
 * then the stored batch's). Appending wakes
 * Fetches that wait for data.
 * @param base_offset receives the first batch's assigned offset (may be NULL).
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND (topic or partition); KW_ERR_BROKER with
 *         err->broker_code set to the Produce error a client would get (nothing is stored
 *         when any batch is rejected); KW_ERR_NOMEM.
 */
KW_API kw_err kw_mock_append(kw_mock *m, const char *topic, int32_t partition, kw_slice batches,
                             int64_t *base_offset, kw_error *err);

/** @brief Append one record (a batch of one, uncompressed, CreateTime `timestamp`; -1 means
 *  the wall clock). key/value len -1 = null. Same results as kw_mock_append. */
KW_API kw_err kw_mock_append_record(kw_mock *m, const char *topic, int32_t partition, kw_slice key,
                                    kw_slice value, int64_t timestamp, int64_t *offset,
                                    kw_error *err);

/**
 * @brief Copy stored batches, exactly as a Fetch would return them, into a writer.
 *
 * Starts with the batch that holds `offset` (so the first records may lie before it, as in a
 * Fetch) and copies whole batches while the total stays within `max_bytes` (at least one
 * batch is copied if there is one). Read them back with kwire/records.h.
 * @param next_offset receives the offset after the last copied batch (may be NULL).
 * @return KW_ERR_OK (nothing copied when offset == high watermark); KW_ERR_NOT_FOUND;
 *         KW_ERR_INVALID_ARG (offset outside [log start, high watermark]); the writer's error.
 */
KW_API kw_err kw_mock_read(kw_mock *m, const char *topic, int32_t partition, int64_t offset,
                           size_t max_bytes, kw_wr *out, int64_t *next_offset);

/* ---------------------------------------------------------------- consumer groups (group*.c)
 *
 * The group coordinator serves FindCoordinator (10), JoinGroup (11), Heartbeat (12),
 * LeaveGroup (13), SyncGroup (14), DescribeGroups (15), ListGroups (16), OffsetCommit (8),
 * OffsetFetch (9), ConsumerGroupHeartbeat (68, KIP-848) and ConsumerGroupDescribe (69), as
 * Kafka 4.x's group coordinator does. Differences a client can observe:
 *   - Groups are never deleted: an empty group stays (state Empty) with its offsets; a classic
 *     group that empties can become a consumer (KIP-848) group and back, as in Kafka.
 *   - A group is classic or consumer: a classic member joining a non-empty consumer group gets
 *     INCONSISTENT_GROUP_PROTOCOL, a consumer member joining a non-empty classic group
 *     GROUP_ID_NOT_FOUND (Kafka with group.consumer.migration.policy=disabled).
 *   - KIP-848 regular expressions are POSIX extended ones (regcomp) matched against the whole
 *     topic name, with RE2's \d \w \s (and upper-case negations) translated; RE2-only syntax
 *     such as (?i) or lazy quantifiers is INVALID_REGULAR_EXPRESSION. They are resolved on
 *     every heartbeat, so new topics are seen at once.
 *   - Member host names are "/127.0.0.1": every listener is on loopback. */

/** FindCoordinator key types. */
#define KW_MOCK_COORD_GROUP 0
#define KW_MOCK_COORD_TXN   1

/** Group coordinator settings; kw_mock_group_conf_init fills in Kafka's defaults (the broker
 *  property is in parentheses). */
typedef struct kw_mock_group_conf {
    int32_t initial_rebalance_delay_ms; /**< (group.initial.rebalance.delay.ms) 3000 */
    int32_t min_session_timeout_ms;     /**< (group.min.session.timeout.ms) 6000 */
    int32_t max_session_timeout_ms;     /**< (group.max.session.timeout.ms) 1800000 */
    int32_t max_size;                   /**< (group.max.size) INT32_MAX members */
    /** How long a new classic member's parked JoinGroup may wait (Kafka's fixed 300000). */
    int32_t new_member_join_timeout_ms;
    int32_t consumer_heartbeat_interval_ms; /**< (group.consumer.heartbeat.interval.ms) 5000 */
    int32_t consumer_session_timeout_ms;    /**< (group.consumer.session.timeout.ms) 45000 */
    /** (group.consumer.assignors, its first entry) "uniform" or "range"; NULL = "uniform" */
    const char *consumer_default_assignor;
    int32_t offset_metadata_max_bytes; /**< (offset.metadata.max.bytes) 4096 */
} kw_mock_group_conf;

/** @brief Fill in the defaults. */
KW_API void kw_mock_group_conf_init(kw_mock_group_conf *conf);
/**
 * @brief Change the group coordinator's settings. They apply to what happens from now on
 *        (timers already running keep their deadlines).
 * @return KW_ERR_OK; KW_ERR_INVALID_ARG (a negative time, min > max session timeout, a
 *         heartbeat interval or session timeout below 1, max_size below 1, an unknown assignor).
 */
KW_API kw_err kw_mock_group_conf_set(kw_mock *m, const kw_mock_group_conf *conf);

/**
 * @brief Move the coordinator of a group (KW_MOCK_COORD_GROUP) or transactional id
 *        (KW_MOCK_COORD_TXN) to broker `node_id`; -1 restores the default placement (Kafka's:
 *        the key's Java hashCode modulo 50 internal-topic partitions, spread over the brokers).
 *        Group requests that reach another broker get NOT_COORDINATOR; parked JoinGroup and
 *        SyncGroup requests on the old coordinator are answered with NOT_COORDINATOR at once.
 * @return KW_ERR_OK; KW_ERR_INVALID_ARG (unknown key type, NULL key); KW_ERR_NOT_FOUND (no such
 *         broker); KW_ERR_NOMEM.
 */
KW_API kw_err kw_mock_coordinator_set(kw_mock *m, int8_t key_type, const char *key,
                                      int32_t node_id);
/** @brief The node that coordinates `key` (what FindCoordinator answers), or -1 for an unknown
 *  key type or a NULL key. */
KW_API int32_t kw_mock_coordinator(kw_mock *m, int8_t key_type, const char *key);

/**
 * @brief The offset group `group` committed for a partition, as OffsetFetch returns it.
 * @param leader_epoch receives the committed leader epoch (-1 unknown); may be NULL.
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND (no such group or no offset for the partition).
 */
KW_API kw_err kw_mock_committed_offset(kw_mock *m, const char *group, const char *topic,
                                       int32_t partition, int64_t *offset, int32_t *leader_epoch);

#ifdef __cplusplus
}
#endif

/* TLS listeners and SASL users; release emulation, fault injection and the control channel. */
#include "mock_security.h"
#include "mock_control.h"
#endif
