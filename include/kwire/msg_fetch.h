/* kwire: message structures, fetch family. Included through kwire/proto.h. */
#ifndef KWIRE_MSG_FETCH_H
#define KWIRE_MSG_FETCH_H

#include "proto.h"
#include "msg_produce.h" /* kw_leader_id_and_epoch, kw_node_endpoint */

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- Fetch (1) */

/* FetchRequest.ReplicaState (ReplicaState) v15+, tagged (tag 1); both default -1. */
typedef struct kw_fetch_replica_state {
    int32_t replica_id;    /* default -1 */
    int64_t replica_epoch; /* default -1 */
    kw_tags unknown_tags;
} kw_fetch_replica_state;

/* FetchRequest.Topics[].Partitions[] (FetchPartition) v4-18; v5+ LogStartOffset; v9+
 * CurrentLeaderEpoch; v12+ LastFetchedEpoch; v17+ tagged ReplicaDirectoryId (tag 0); v18+
 * tagged HighWatermark (tag 1, default INT64_MAX). */
typedef struct kw_fetch_req_partition {
    int32_t partition;
    int32_t current_leader_epoch; /* v9+, default -1 */
    int64_t fetch_offset;
    int32_t last_fetched_epoch; /* v12+, default -1 */
    int64_t log_start_offset;   /* v5+, default -1 */
    int32_t partition_max_bytes;
    kw_uuid replica_directory_id; /* v17+, tag 0 */
    int64_t high_watermark;       /* v18+, tag 1, default INT64_MAX */
    kw_tags unknown_tags;
} kw_fetch_req_partition;

/* FetchRequest.Topics[] (FetchTopic) v4-18; v0-12 Topic, v13+ TopicId. */
typedef struct kw_fetch_req_topic {
    kw_slice topic;   /* v0-12 */
    kw_uuid topic_id; /* v13+ */
    kw_fetch_req_partition *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_fetch_req_topic;

/* FetchRequest.ForgottenTopicsData[] (ForgottenTopic) v7-18; v7-12 Topic, v13+ TopicId. */
typedef struct kw_fetch_forgotten_topic {
    kw_slice topic;   /* v7-12 */
    kw_uuid topic_id; /* v13+ */
    int32_t *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_fetch_forgotten_topic;

/* FetchRequest (API 1) v4-18; v7+ fetch sessions (KIP-227); v11+ RackId; v12+ flexible with
 * tagged ClusterId (tag 0); v13+ topics by TopicId; v0-14 ReplicaId, v15+ tagged ReplicaState
 * (tag 1). */
typedef struct kw_fetch_req {
    kw_slice cluster_id;                  /* v12+, tag 0, nullable, default null */
    int32_t replica_id;                   /* v0-14, default -1 */
    kw_fetch_replica_state replica_state; /* v15+, tag 1 */
    int32_t max_wait_ms;
    int32_t min_bytes;
    int32_t max_bytes;      /* default 0x7fffffff */
    int8_t isolation_level; /* 0 read_uncommitted, 1 read_committed */
    int32_t session_id;     /* v7+ */
    int32_t session_epoch;  /* v7+, default -1 */
    kw_fetch_req_topic *topics;
    int32_t n_topics;
    kw_fetch_forgotten_topic *forgotten_topics_data; /* v7+ */
    int32_t n_forgotten_topics_data;
    kw_slice rack_id; /* v11+ */
    kw_tags unknown_tags;
} kw_fetch_req;

/* FetchResponse...DivergingEpoch (EpochEndOffset) v12+, tagged (tag 0); both default -1. */
typedef struct kw_fetch_epoch_end_offset {
    int32_t epoch;      /* default -1 */
    int64_t end_offset; /* default -1 */
    kw_tags unknown_tags;
} kw_fetch_epoch_end_offset;

/* FetchResponse...SnapshotId (SnapshotId) v12+, tagged (tag 2); both default -1. */
typedef struct kw_fetch_snapshot_id {
    int64_t end_offset; /* default -1 */
    int32_t epoch;      /* default -1 */
    kw_tags unknown_tags;
} kw_fetch_snapshot_id;

/* FetchResponse...AbortedTransactions[] (AbortedTransaction) v4-18. */
typedef struct kw_fetch_aborted_txn {
    int64_t producer_id;
    int64_t first_offset;
    kw_tags unknown_tags;
} kw_fetch_aborted_txn;

/* FetchResponse.Responses[].Partitions[] (PartitionData) v4-18; v5+ LogStartOffset; v11+
 * PreferredReadReplica; v12+ tagged DivergingEpoch (0), CurrentLeader (1), SnapshotId (2). */
typedef struct kw_fetch_resp_partition {
    int32_t partition_index;
    int16_t error_code;
    int64_t high_watermark;
    int64_t last_stable_offset;                 /* default -1 */
    int64_t log_start_offset;                   /* v5+, default -1 */
    kw_fetch_epoch_end_offset diverging_epoch;  /* v12+, tag 0 */
    kw_leader_id_and_epoch current_leader;      /* v12+, tag 1 */
    kw_fetch_snapshot_id snapshot_id;           /* v12+, tag 2 */
    kw_fetch_aborted_txn *aborted_transactions; /* nullable (n -1) */
    int32_t n_aborted_transactions;
    int32_t preferred_read_replica; /* v11+, default -1 */
    kw_slice records;               /* nullable; raw record batches, last may be partial */
    kw_tags unknown_tags;
} kw_fetch_resp_partition;

/* FetchResponse.Responses[] (FetchableTopicResponse) v4-18; v0-12 Topic, v13+ TopicId. */
typedef struct kw_fetch_resp_topic {
    kw_slice topic;   /* v0-12 */
    kw_uuid topic_id; /* v13+ */
    kw_fetch_resp_partition *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_fetch_resp_topic;

/* FetchResponse (API 1) v4-18; v7+ ErrorCode and SessionId; v12+ flexible; v16+ tagged
 * NodeEndpoints (tag 0). */
typedef struct kw_fetch_resp {
    int32_t throttle_time_ms;
    int16_t error_code; /* v7+ */
    int32_t session_id; /* v7+ */
    kw_fetch_resp_topic *responses;
    int32_t n_responses;
    kw_node_endpoint *node_endpoints; /* v16+, tag 0 */
    int32_t n_node_endpoints;
    kw_tags unknown_tags;
} kw_fetch_resp;

KW_API extern const kw_msgdef kw_msg_fetch_req;
KW_API extern const kw_msgdef kw_msg_fetch_resp;

/* ---------------------------------------------------------------- ListOffsets (2) */

/* ListOffsetsRequest.Topics[].Partitions[] (ListOffsetsPartition) v1-10; v4+ CurrentLeaderEpoch. */
typedef struct kw_list_offsets_req_partition {
    int32_t partition_index;
    int32_t current_leader_epoch; /* v4+, default -1 */
    int64_t timestamp;            /* -1 latest, -2 earliest, or a time (see KIP-734/1005) */
    kw_tags unknown_tags;
} kw_list_offsets_req_partition;

/* ListOffsetsRequest.Topics[] (ListOffsetsTopic) v1-10. */
typedef struct kw_list_offsets_req_topic {
    kw_slice name;
    kw_list_offsets_req_partition *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_list_offsets_req_topic;

/* ListOffsetsRequest (API 2) v1-10; v2+ IsolationLevel; v6+ flexible; v10+ TimeoutMs. */
typedef struct kw_list_offsets_req {
    int32_t replica_id;
    int8_t isolation_level; /* v2+ */
    kw_list_offsets_req_topic *topics;
    int32_t n_topics;
    int32_t timeout_ms; /* v10+ */
    kw_tags unknown_tags;
} kw_list_offsets_req;

/* ListOffsetsResponse.Topics[].Partitions[] (ListOffsetsPartitionResponse) v1-10; v4+
 * LeaderEpoch. */
typedef struct kw_list_offsets_resp_partition {
    int32_t partition_index;
    int16_t error_code;
    int64_t timestamp;    /* default -1 */
    int64_t offset;       /* default -1 */
    int32_t leader_epoch; /* v4+, default -1 */
    kw_tags unknown_tags;
} kw_list_offsets_resp_partition;

/* ListOffsetsResponse.Topics[] (ListOffsetsTopicResponse) v1-10. */
typedef struct kw_list_offsets_resp_topic {
    kw_slice name;
    kw_list_offsets_resp_partition *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_list_offsets_resp_topic;

/* ListOffsetsResponse (API 2) v1-10; v2+ ThrottleTimeMs; v6+ flexible. */
typedef struct kw_list_offsets_resp {
    int32_t throttle_time_ms; /* v2+ */
    kw_list_offsets_resp_topic *topics;
    int32_t n_topics;
    kw_tags unknown_tags;
} kw_list_offsets_resp;

KW_API extern const kw_msgdef kw_msg_list_offsets_req;
KW_API extern const kw_msgdef kw_msg_list_offsets_resp;

/* ---------------------------------------------------------------- OffsetForLeaderEpoch (23) */

/* OffsetForLeaderEpochRequest.Topics[].Partitions[] (OffsetForLeaderPartition) v2-4. */
typedef struct kw_offset_for_leader_epoch_req_partition {
    int32_t partition;
    int32_t current_leader_epoch; /* default -1 */
    int32_t leader_epoch;
    kw_tags unknown_tags;
} kw_offset_for_leader_epoch_req_partition;

/* OffsetForLeaderEpochRequest.Topics[] (OffsetForLeaderTopic) v2-4. */
typedef struct kw_offset_for_leader_epoch_req_topic {
    kw_slice topic;
    kw_offset_for_leader_epoch_req_partition *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_offset_for_leader_epoch_req_topic;

/* OffsetForLeaderEpochRequest (API 23) v2-4; v3+ ReplicaId; v4+ flexible. */
typedef struct kw_offset_for_leader_epoch_req {
    int32_t replica_id; /* v3+, default -2 (consumers send -1) */
    kw_offset_for_leader_epoch_req_topic *topics;
    int32_t n_topics;
    kw_tags unknown_tags;
} kw_offset_for_leader_epoch_req;

/* OffsetForLeaderEpochResponse.Topics[].Partitions[] (EpochEndOffset) v2-4. */
typedef struct kw_offset_for_leader_epoch_resp_partition {
    int16_t error_code;
    int32_t partition;
    int32_t leader_epoch; /* default -1 */
    int64_t end_offset;   /* default -1 */
    kw_tags unknown_tags;
} kw_offset_for_leader_epoch_resp_partition;

/* OffsetForLeaderEpochResponse.Topics[] (OffsetForLeaderTopicResult) v2-4. */
typedef struct kw_offset_for_leader_epoch_resp_topic {
    kw_slice topic;
    kw_offset_for_leader_epoch_resp_partition *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_offset_for_leader_epoch_resp_topic;

/* OffsetForLeaderEpochResponse (API 23) v2-4; v4+ flexible. */
typedef struct kw_offset_for_leader_epoch_resp {
    int32_t throttle_time_ms;
    kw_offset_for_leader_epoch_resp_topic *topics;
    int32_t n_topics;
    kw_tags unknown_tags;
} kw_offset_for_leader_epoch_resp;

KW_API extern const kw_msgdef kw_msg_offset_for_leader_epoch_req;
KW_API extern const kw_msgdef kw_msg_offset_for_leader_epoch_resp;

/* ---------------------------------------------------------------- DeleteRecords (21) */

/* DeleteRecordsRequest.Topics[].Partitions[] (DeleteRecordsPartition) v0-2. */
typedef struct kw_delete_records_req_partition {
    int32_t partition_index;
    int64_t offset; /* -1 deletes up to the high watermark */
    kw_tags unknown_tags;
} kw_delete_records_req_partition;

/* DeleteRecordsRequest.Topics[] (DeleteRecordsTopic) v0-2. */
typedef struct kw_delete_records_req_topic {
    kw_slice name;
    kw_delete_records_req_partition *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_delete_records_req_topic;

/* DeleteRecordsRequest (API 21) v0-2; v2+ flexible. */
typedef struct kw_delete_records_req {
    kw_delete_records_req_topic *topics;
    int32_t n_topics;
    int32_t timeout_ms;
    kw_tags unknown_tags;
} kw_delete_records_req;

/* DeleteRecordsResponse.Topics[].Partitions[] (DeleteRecordsPartitionResult) v0-2. */
typedef struct kw_delete_records_resp_partition {
    int32_t partition_index;
    int64_t low_watermark;
    int16_t error_code;
    kw_tags unknown_tags;
} kw_delete_records_resp_partition;

/* DeleteRecordsResponse.Topics[] (DeleteRecordsTopicResult) v0-2. */
typedef struct kw_delete_records_resp_topic {
    kw_slice name;
    kw_delete_records_resp_partition *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_delete_records_resp_topic;

/* DeleteRecordsResponse (API 21) v0-2; v2+ flexible. */
typedef struct kw_delete_records_resp {
    int32_t throttle_time_ms;
    kw_delete_records_resp_topic *topics;
    int32_t n_topics;
    kw_tags unknown_tags;
} kw_delete_records_resp;

KW_API extern const kw_msgdef kw_msg_delete_records_req;
KW_API extern const kw_msgdef kw_msg_delete_records_resp;

#ifdef __cplusplus
}
#endif
#endif
