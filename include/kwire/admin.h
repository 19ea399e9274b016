/* kwire: the admin API.
 *
 * A kw_admin runs cluster administration calls over a kw_client (kwire/client.h), which it
 * shares and which drives it: every request, retry timer and callback runs inside
 * kw_client_step (or on the kwire thread). Every call is asynchronous and ends with exactly
 * one callback:
 *
 *     kw_admin *ad;
 *     kw_admin_new(client, &ad, &err);
 *
 *     kw_new_topic t;
 *     kw_new_topic_init(&t);
 *     t.name = "orders";
 *     t.partitions = 6;
 *     t.replication_factor = 3;                     -1 = the broker's default
 *     kw_admin_config cfg[] = {{"retention.ms", "86400000"}, {"cleanup.policy", "compact"}};
 *     t.configs = cfg;
 *     t.n_configs = 2;
 *     kw_admin_create_topics(ad, &t, 1, NULL, created, NULL, &err);
 *
 *     kw_admin_wait(ad, 30000, &err);               optional: step until every call ended
 *
 *     static void created(kw_admin *ad, kw_err e, const kw_error *detail,
 *                         const kw_admin_result *r, void *ud)
 *     {
 *         for (int32_t i = 0; r && i < r->n_topics; i++)
 *             if (r->topics[i].error->code != KW_ERR_OK) ... one error per topic
 *     }
 *
 * Errors: each topic, partition, group, broker or config resource of a result carries its own
 * error (`error`, never NULL: KW_ERR_OK, or KW_ERR_BROKER with the broker's error code in
 * broker_code and its message, KW_ERR_TIMED_OUT with the last error seen, ...). Creating an
 * existing topic therefore fails that topic only (TOPIC_ALREADY_EXISTS) while the others of
 * the call succeed. The callback's own `err` is not KW_ERR_OK only when the call as a whole
 * could not run: KW_ERR_CANCELED (the admin or its client was freed), KW_ERR_NOMEM, or, for
 * the calls that ask the cluster for "everything" (kw_admin_list_groups, and
 * kw_admin_describe_topics of every topic), no broker answered: KW_ERR_TIMED_OUT when none
 * could be reached before the call's timeout (dead bootstrap servers, every broker down; the
 * message names the last error, e.g. the connection failure), or the first broker's error
 * when every broker ListGroups asked failed. Then `res` is NULL, so an empty result always
 * means "none", never "could not ask". Items that could not be completed before the call's
 * timeout end with KW_ERR_TIMED_OUT (whose message names the last error).
 *
 * Routing, as the Java AdminClient does it: CreateTopics, DeleteTopics and CreatePartitions
 * go to the controller (Metadata's ControllerId), and NOT_CONTROLLER is retried after a
 * metadata refresh; group calls go to the group's coordinator (FindCoordinator), retried on
 * NOT_COORDINATOR and while the coordinator loads; per-partition calls (ListOffsets,
 * DeleteRecords) are split by partition leader and merged, and NOT_LEADER_OR_FOLLOWER and the
 * other stale-metadata errors are retried after a refresh; a broker config is described by
 * that broker. Retries back off from retry.backoff.ms to retry.backoff.max.ms until the
 * call's timeout. Versions are negotiated per broker (ApiVersions); a call that needs a
 * feature the broker lacks (a group state filter before ListGroups v4, the max-timestamp
 * spec before ListOffsets v7) fails that item with KW_ERR_UNSUPPORTED_VERSION.
 *
 * Topic metadata is read with allow_auto_topic_creation=false, so describing or listing the
 * offsets of a missing topic reports UNKNOWN_TOPIC_OR_PARTITION instead of creating it (a
 * broker that only speaks Metadata v0-3 may still auto-create, as the protocol gives no
 * choice there).
 *
 * Lifetime of results: everything a kw_admin_result points to is owned by kwire and valid
 * only during the callback. Copy what you keep.
 *
 * Threads: every function may be called from any thread (calls go through the client's
 * submit queue and take the loop lock); callbacks fire on the loop's thread, inside
 * kw_client_step or on the kwire thread, never inside the call that started them. A callback
 * may start new admin calls. */
#ifndef KWIRE_ADMIN_H
#define KWIRE_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"
#include "error.h"
#include "export.h"
#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kw_admin kw_admin;

/** Options shared by the calls. */
typedef struct kw_admin_opts {
    /** Give up on items not done after this long; <= 0 = request.timeout.ms. It is also the
     *  broker-side TimeoutMs of CreateTopics, DeleteTopics, CreatePartitions, DeleteRecords. */
    int timeout_ms;
    /** CreateTopics / CreatePartitions: only check what would happen (the broker validates
     *  and answers, nothing changes). */
    bool validate_only;
    /** ListOffsets (and the end offsets of a group's lag): read_committed, i.e. the last
     *  stable offset instead of the high watermark. */
    bool read_committed;
} kw_admin_opts;

/** @brief Defaults: timeout from request.timeout.ms, not validate-only, read_uncommitted. */
KW_API void kw_admin_opts_init(kw_admin_opts *o);

/** A config name and value (a topic config of CreateTopics). */
typedef struct kw_admin_config {
    const char *name;
    const char *value; /**< NULL = null (the broker's default) */
} kw_admin_config;

/** A config entry as a broker describes it (DescribeConfigs, CreateTopics v5+). */
typedef struct kw_config_entry {
    const char *name;
    const char *value; /**< NULL for a sensitive or unset value */
    bool read_only;
    bool is_default; /**< the value comes from a default, not from the resource itself */
    bool sensitive;
    int8_t source; /**< Kafka's ConfigSource: 1 dynamic topic, 2 dynamic broker, 4 static
                        broker, 5 default, ...; -1 unknown */
} kw_config_entry;

/* ---------------------------------------------------------------- results */

/** Result of one topic: create, delete, create partitions. */
typedef struct kw_topic_result {
    const char *name;
    const kw_error *error;
    kw_uuid id;                     /**< CreateTopics v7+; else all zero */
    int32_t partitions;             /**< CreateTopics v5+: the count created; else -1 */
    int16_t replication_factor;     /**< CreateTopics v5+; else -1 */
    const kw_config_entry *configs; /**< CreateTopics v5+: the topic's configs */
    int32_t n_configs;
} kw_topic_result;

/** A described topic: Metadata plus its configs (DescribeConfigs). */
typedef struct kw_topic_description {
    const char *name;
    const kw_error *error; /**< e.g. UNKNOWN_TOPIC_OR_PARTITION */
    kw_uuid id;
    bool internal;
    const kw_partition_info *partitions; /**< sorted by id (client.h) */
    int32_t n_partitions;
    const kw_error *config_error; /**< the DescribeConfigs outcome of this topic */
    const kw_config_entry *configs;
    int32_t n_configs;
} kw_topic_description;

/** Config resource types (Kafka's ConfigResource.Type). */
#define KW_RESOURCE_TOPIC  2
#define KW_RESOURCE_BROKER 4

/** A resource to describe. */
typedef struct kw_config_resource {
    int8_t type;             /**< KW_RESOURCE_TOPIC or KW_RESOURCE_BROKER */
    const char *name;        /**< a topic name, or a broker id in decimal */
    const char *const *keys; /**< only these configs; NULL = all */
    int32_t n_keys;
} kw_config_resource;

/** A described resource. */
typedef struct kw_config_resource_result {
    int8_t type;
    const char *name;
    const kw_error *error;
    const kw_config_entry *configs;
    int32_t n_configs;
} kw_config_resource_result;

/** Offset specs of kw_partition_offset_req.spec; any value >= 0 is a timestamp in ms (the
 *  first offset whose timestamp is at least that). */
#define KW_OFFSET_LATEST        (-1)
#define KW_OFFSET_EARLIEST      (-2)
#define KW_OFFSET_MAX_TIMESTAMP (-3) /**< the record with the highest timestamp (v7+) */

/** One partition of a ListOffsets or DeleteRecords call. */
typedef struct kw_partition_offset_req {
    const char *topic;
    int32_t partition;
    /** ListOffsets: a KW_OFFSET_* spec or a timestamp. DeleteRecords: delete every record
     *  before this offset; -1 = up to the high watermark. */
    int64_t spec;
} kw_partition_offset_req;

/** A partition's outcome: ListOffsets, DeleteRecords, a group's committed offsets and lag. */
typedef struct kw_partition_offset {
    const char *topic;
    int32_t partition;
    const kw_error *error;
    /** ListOffsets: the offset found (-1 when none, e.g. a timestamp after the last record).
     *  DeleteRecords: the new log start offset (low watermark). Group offsets: the committed
     *  offset (-1 = none). */
    int64_t offset;
    int64_t timestamp;         /**< ListOffsets: the record's timestamp, or -1 */
    int32_t leader_epoch;      /**< ListOffsets v4+ / OffsetFetch v5+: the epoch, or -1 */
    const char *metadata;      /**< group offsets: the commit's metadata string (NULL = none) */
    int64_t end_offset;        /**< group offsets: the partition's end offset, or -1 */
    int64_t lag;               /**< group offsets: end_offset - offset, or -1 when unknown */
    const kw_error *end_error; /**< group offsets: why end_offset is unknown (else OK) */
} kw_partition_offset;

/** A group as ListGroups lists it. */
typedef struct kw_group_listing {
    const char *group_id;
    const char *protocol_type; /**< "consumer", "" for a group with no members yet ... */
    const char *state;         /**< ListGroups v4+; NULL before */
    const char *type;          /**< "classic" or "consumer" (KIP-848), v5+; NULL before */
    int32_t coordinator;       /**< the broker that listed it */
} kw_group_listing;

/** One broker's part of a ListGroups call: its listings are in the result when error is
 *  KW_ERR_OK; otherwise the listing is partial, without the groups this broker coordinates
 *  (KW_ERR_TIMED_OUT for a broker that could not be reached, KW_ERR_BROKER for an error
 *  code in its answer, ...). */
typedef struct kw_broker_status {
    int32_t node_id;
    const kw_error *error;
} kw_broker_status;

/** A topic and some of its partitions (a member's assignment). */
typedef struct kw_topic_partitions {
    const char *topic;
    const int32_t *partitions;
    int32_t n_partitions;
} kw_topic_partitions;

/** A group member. */
typedef struct kw_group_member {
    const char *member_id;
    const char *instance_id; /**< static membership; NULL when none */
    const char *client_id;
    const char *host;
    /** Its assigned partitions: decoded from the ConsumerProtocolAssignment of a classic
     *  "consumer" group, or ConsumerGroupDescribe's Assignment of a KIP-848 group. */
    const kw_topic_partitions *assignment;
    int32_t n_assignment;
    int32_t member_epoch; /**< KIP-848 groups; -1 for classic ones */
} kw_group_member;

/** A described group. */
typedef struct kw_group_description {
    const char *group_id;
    const kw_error *error;     /**< GROUP_ID_NOT_FOUND for an unknown group */
    const char *type;          /**< "classic" or "consumer" */
    const char *state;         /**< "Stable", "Empty", "PreparingRebalance", "Assigning", ... */
    const char *protocol_type; /**< classic groups: "consumer", "connect", ...; "" if none */
    const char *protocol;      /**< the assignor: classic groups' protocol, or KIP-848's */
    int32_t coordinator;
    int32_t group_epoch; /**< KIP-848 groups; -1 for classic ones */
    const kw_group_member *members;
    int32_t n_members;
} kw_group_description;

/** Committed offsets (and lag) of one group. */
typedef struct kw_group_offsets {
    const char *group_id;
    const kw_error *error; /**< the group's own error (e.g. not authorized) */
    int32_t coordinator;
    const kw_partition_offset *partitions; /**< sorted by topic, then partition */
    int32_t n_partitions;
} kw_group_offsets;

/** Which call a result belongs to. */
typedef enum kw_admin_op {
    KW_ADMIN_CREATE_TOPICS = 1,
    KW_ADMIN_DELETE_TOPICS,
    KW_ADMIN_CREATE_PARTITIONS,
    KW_ADMIN_DESCRIBE_TOPICS,
    KW_ADMIN_DESCRIBE_CONFIGS,
    KW_ADMIN_LIST_GROUPS,
    KW_ADMIN_DESCRIBE_GROUPS,
    KW_ADMIN_GROUP_OFFSETS,
    KW_ADMIN_DELETE_RECORDS,
    KW_ADMIN_LIST_OFFSETS
} kw_admin_op;

/** A call's result: the arrays of its kind are filled, in the order of the call's input
 *  (ListGroups: brokers by id, groups by id). Valid only during the callback. */
typedef struct kw_admin_result {
    kw_admin_op op;
    const kw_topic_result *topics; /**< create/delete topics, create partitions */
    int32_t n_topics;
    const kw_topic_description *descriptions; /**< describe topics */
    int32_t n_descriptions;
    const kw_config_resource_result *resources; /**< describe configs */
    int32_t n_resources;
    const kw_group_listing *listings; /**< list groups */
    int32_t n_listings;
    const kw_broker_status *brokers; /**< list groups: every broker asked */
    int32_t n_brokers;
    const kw_group_description *groups; /**< describe groups */
    int32_t n_groups;
    const kw_group_offsets *offsets; /**< group offsets */
    int32_t n_offsets;
    const kw_partition_offset *partitions; /**< list offsets, delete records */
    int32_t n_partitions;
} kw_admin_result;

/** The callback of every call: exactly once, on the loop's thread. `res` is NULL when `err`
 *  is not KW_ERR_OK (the call as a whole failed; `detail` says why). */
typedef void (*kw_admin_cb)(kw_admin *ad, kw_err err, const kw_error *detail,
                            const kw_admin_result *res, void *ud);

/* ---------------------------------------------------------------- the handle */

/**
 * @brief Create an admin handle on a client. It must be freed before its client.
 * @return KW_ERR_OK; KW_ERR_INVALID_ARG (c or out NULL); KW_ERR_NOMEM.
 */
KW_API kw_err kw_admin_new(kw_client *c, kw_admin **out, kw_error *err);

/** @brief Free the handle: every call not yet ended gets its callback with KW_ERR_CANCELED
 *  before this returns. NULL does nothing. Not from inside a callback. */
KW_API void kw_admin_free(kw_admin *ad);

/**
 * @brief Wait until every call of this handle has ended (its callback ran), at most
 *        timeout_ms (negative = as long as it takes; each call ends by its own timeout).
 *
 * Without a kwire thread this steps the client on the calling thread, so the callbacks run
 * inside this call; with the kwire thread running it sleeps until the thread has run them.
 * @return KW_ERR_OK (nothing outstanding); KW_ERR_TIMED_OUT; KW_ERR_STATE (called from a
 *         callback, where waiting would deadlock); the error of kw_client_step.
 */
KW_API kw_err kw_admin_wait(kw_admin *ad, int timeout_ms, kw_error *err);

/** @brief Calls started and not yet ended. */
KW_API size_t kw_admin_outstanding(kw_admin *ad);

/** @brief The client the handle runs on. */
KW_API kw_client *kw_admin_client(kw_admin *ad);

/* ---------------------------------------------------------------- the calls
 *
 * Every call copies its input (the caller may reuse it when the call returns) and returns
 * KW_ERR_OK, after which the callback fires exactly once; or KW_ERR_INVALID_ARG (a NULL or
 * bad argument, explained in err), KW_ERR_STATE (the handle is being freed) or KW_ERR_NOMEM,
 * and the callback never fires. `o` NULL = kw_admin_opts_init defaults. */

/** A topic to create. */
typedef struct kw_new_topic {
    const char *name;
    int32_t partitions;         /**< -1 = the broker's num.partitions (CreateTopics v4+) */
    int16_t replication_factor; /**< -1 = default.replication.factor (v4+) */
    /** Manual placement: partitions rows of replication_factor broker ids (row i = partition
     *  i, leader first). When set, partitions and replication_factor give the shape and must
     *  be positive. NULL = the broker places replicas. */
    const int32_t *assignment;
    const kw_admin_config *configs; /**< e.g. retention.ms, cleanup.policy */
    int32_t n_configs;
} kw_new_topic;

/** @brief Broker defaults: no name, partitions -1, replication -1, no assignment or configs. */
KW_API void kw_new_topic_init(kw_new_topic *t);

/** @brief CreateTopics, to the controller. Result: `topics`, one per input topic. */
KW_API kw_err kw_admin_create_topics(kw_admin *ad, const kw_new_topic *topics, size_t n,
                                     const kw_admin_opts *o, kw_admin_cb cb, void *ud,
                                     kw_error *err);

/** @brief DeleteTopics by name, to the controller. Result: `topics`. */
KW_API kw_err kw_admin_delete_topics(kw_admin *ad, const char *const *names, size_t n,
                                     const kw_admin_opts *o, kw_admin_cb cb, void *ud,
                                     kw_error *err);

/** Partitions to add to a topic. */
typedef struct kw_new_partitions {
    const char *topic;
    int32_t total; /**< the partition count after the call (more than now) */
    /** NULL (the broker places them), or n_new rows of replication_factor broker ids, one
     *  row per new partition, leader first; n_new must be total minus the current count
     *  (the broker checks it). */
    const int32_t *assignment;
    int32_t n_new;
    int32_t replication_factor;
} kw_new_partitions;

/** @brief CreatePartitions, to the controller. Result: `topics`. */
KW_API kw_err kw_admin_create_partitions(kw_admin *ad, const kw_new_partitions *parts, size_t n,
                                         const kw_admin_opts *o, kw_admin_cb cb, void *ud,
                                         kw_error *err);

/**
 * @brief Describe topics: partitions with leaders, replicas and ISR (Metadata), and each
 *        topic's configs (DescribeConfigs). Result: `descriptions`, one per name. A named
 *        topic no broker could describe ends with KW_ERR_TIMED_OUT as its error.
 * @param names NULL with n 0 = every topic of the cluster (internal ones included); then the
 *        call fails with KW_ERR_TIMED_OUT (res NULL) when no broker answered the Metadata
 *        request within the timeout, rather than describe no topics.
 */
KW_API kw_err kw_admin_describe_topics(kw_admin *ad, const char *const *names, size_t n,
                                       const kw_admin_opts *o, kw_admin_cb cb, void *ud,
                                       kw_error *err);

/** @brief DescribeConfigs of topics and brokers (a broker resource is asked of that broker).
 *  Result: `resources`, one per input. */
KW_API kw_err kw_admin_describe_configs(kw_admin *ad, const kw_config_resource *res, size_t n,
                                        const kw_admin_opts *o, kw_admin_cb cb, void *ud,
                                        kw_error *err);

/**
 * @brief ListGroups on every broker, merged. Result: `listings` and `brokers` (each broker's
 *        outcome: a broker that cannot answer makes the listing partial, not the call fail;
 *        check `brokers` before reading a listing as complete). The call fails (res NULL)
 *        when no broker answered: KW_ERR_TIMED_OUT when the cluster could not be reached
 *        within the timeout, or the first broker's error when every broker asked failed.
 * @param states only groups in these states ("Stable", "Empty", ...; ListGroups v4+); NULL
 *        or n_states 0 = any.
 * @param types only groups of these types ("classic", "consumer"; v5+); NULL = any.
 */
KW_API kw_err kw_admin_list_groups(kw_admin *ad, const char *const *states, size_t n_states,
                                   const char *const *types, size_t n_types, const kw_admin_opts *o,
                                   kw_admin_cb cb, void *ud, kw_error *err);

/**
 * @brief Describe groups at their coordinators: classic groups with DescribeGroups, KIP-848
 *        consumer groups with ConsumerGroupDescribe when the coordinator serves it. Result:
 *        `groups`, one per id; an unknown group has GROUP_ID_NOT_FOUND.
 */
KW_API kw_err kw_admin_describe_groups(kw_admin *ad, const char *const *group_ids, size_t n,
                                       const kw_admin_opts *o, kw_admin_cb cb, void *ud,
                                       kw_error *err);

/**
 * @brief A group's committed offsets (OffsetFetch at its coordinator) and, with `lag`, each
 *        partition's end offset (ListOffsets at the leaders) and lag = end - committed.
 *        Result: `offsets`, one per group, partitions sorted by topic and partition.
 * @param topics only the partitions of these topics (every partition of each, committed or
 *        not: an uncommitted one has offset -1); NULL with n_topics 0 = every partition the
 *        group committed. Brokers that cannot list a group's offsets (OffsetFetch v1,
 *        librdkafka's mock cluster) need the topics named.
 */
KW_API kw_err kw_admin_group_offsets(kw_admin *ad, const char *const *group_ids, size_t n,
                                     const char *const *topics, size_t n_topics, bool lag,
                                     const kw_admin_opts *o, kw_admin_cb cb, void *ud,
                                     kw_error *err);

/** @brief DeleteRecords: move each partition's log start offset up to `spec` (-1 = the high
 *  watermark), at the partition leaders. Result: `partitions`, in input order. */
KW_API kw_err kw_admin_delete_records(kw_admin *ad, const kw_partition_offset_req *parts, size_t n,
                                      const kw_admin_opts *o, kw_admin_cb cb, void *ud,
                                      kw_error *err);

/** @brief ListOffsets: the earliest, latest or max-timestamp offset, or the offset for a
 *  timestamp, of each partition, at the leaders. Result: `partitions`, in input order. */
KW_API kw_err kw_admin_list_offsets(kw_admin *ad, const kw_partition_offset_req *parts, size_t n,
                                    const kw_admin_opts *o, kw_admin_cb cb, void *ud,
                                    kw_error *err);

#ifdef __cplusplus
}
#endif
#endif
