/* kwire: message structures, txn family. Included through kwire/proto.h. */
#ifndef KWIRE_MSG_TXN_H
#define KWIRE_MSG_TXN_H

#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- AddPartitionsToTxn (24) */

/* AddPartitionsToTxnRequest.Transactions[].Topics[] and .V3AndBelowTopics[]
 * (AddPartitionsToTxnTopic) v0-5. */
typedef struct kw_add_partitions_to_txn_topic {
    kw_slice name;
    int32_t *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_add_partitions_to_txn_topic;

/* AddPartitionsToTxnRequest.Transactions[] (AddPartitionsToTxnTransaction) v4-5. */
typedef struct kw_add_partitions_to_txn_transaction {
    kw_slice transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    bool verify_only;
    kw_add_partitions_to_txn_topic *topics;
    int32_t n_topics;
    kw_tags unknown_tags;
} kw_add_partitions_to_txn_transaction;

/* AddPartitionsToTxnRequest (API 24) v0-5; v3+ flexible. Clients use v0-3, the V3AndBelow*
 * fields; v4+ is the broker-only batched form with Transactions[] (KIP-890). */
typedef struct kw_add_partitions_to_txn_req {
    kw_add_partitions_to_txn_transaction *transactions; /* v4+ */
    int32_t n_transactions;
    kw_slice v3_and_below_transactional_id;              /* v0-3 */
    int64_t v3_and_below_producer_id;                    /* v0-3 */
    int16_t v3_and_below_producer_epoch;                 /* v0-3 */
    kw_add_partitions_to_txn_topic *v3_and_below_topics; /* v0-3 */
    int32_t n_v3_and_below_topics;
    kw_tags unknown_tags;
} kw_add_partitions_to_txn_req;

/* AddPartitionsToTxnTopicResult.ResultsByPartition[] (AddPartitionsToTxnPartitionResult) v0-5. */
typedef struct kw_add_partitions_to_txn_partition_result {
    int32_t partition_index;
    int16_t partition_error_code;
    kw_tags unknown_tags;
} kw_add_partitions_to_txn_partition_result;

/* AddPartitionsToTxnResponse.ResultsByTopicV3AndBelow[] and .ResultsByTransaction[]
 * .TopicResults[] (AddPartitionsToTxnTopicResult) v0-5. */
typedef struct kw_add_partitions_to_txn_topic_result {
    kw_slice name;
    kw_add_partitions_to_txn_partition_result *results_by_partition;
    int32_t n_results_by_partition;
    kw_tags unknown_tags;
} kw_add_partitions_to_txn_topic_result;

/* AddPartitionsToTxnResponse.ResultsByTransaction[] (AddPartitionsToTxnResult) v4-5. */
typedef struct kw_add_partitions_to_txn_result {
    kw_slice transactional_id;
    kw_add_partitions_to_txn_topic_result *topic_results;
    int32_t n_topic_results;
    kw_tags unknown_tags;
} kw_add_partitions_to_txn_result;

/* AddPartitionsToTxnResponse (API 24) v0-5; v3+ flexible; v0-3 ResultsByTopicV3AndBelow[];
 * v4+ top-level ErrorCode and ResultsByTransaction[]. */
typedef struct kw_add_partitions_to_txn_resp {
    int32_t throttle_time_ms;
    int16_t error_code;                                      /* v4+ */
    kw_add_partitions_to_txn_result *results_by_transaction; /* v4+ */
    int32_t n_results_by_transaction;
    kw_add_partitions_to_txn_topic_result *results_by_topic_v3_and_below; /* v0-3 */
    int32_t n_results_by_topic_v3_and_below;
    kw_tags unknown_tags;
} kw_add_partitions_to_txn_resp;

/* ---------------------------------------------------------------- AddOffsetsToTxn (25) */

/* AddOffsetsToTxnRequest (API 25) v0-4; v3+ flexible. */
typedef struct kw_add_offsets_to_txn_req {
    kw_slice transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    kw_slice group_id;
    kw_tags unknown_tags;
} kw_add_offsets_to_txn_req;

/* AddOffsetsToTxnResponse (API 25) v0-4; v3+ flexible. */
typedef struct kw_add_offsets_to_txn_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    kw_tags unknown_tags;
} kw_add_offsets_to_txn_resp;

/* ---------------------------------------------------------------- EndTxn (26) */

/* EndTxnRequest (API 26) v0-5; v3+ flexible. */
typedef struct kw_end_txn_req {
    kw_slice transactional_id;
    int64_t producer_id;
    int16_t producer_epoch;
    bool committed;
    kw_tags unknown_tags;
} kw_end_txn_req;

/* EndTxnResponse (API 26) v0-5; v3+ flexible; v5+ ProducerId and ProducerEpoch (KIP-890). */
typedef struct kw_end_txn_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    int64_t producer_id;    /* v5+, default -1 */
    int16_t producer_epoch; /* v5+, default -1 */
    kw_tags unknown_tags;
} kw_end_txn_resp;

/* ---------------------------------------------------------------- TxnOffsetCommit (28) */

/* TxnOffsetCommitRequest.Topics[].Partitions[] (TxnOffsetCommitRequestPartition) v0-5. */
typedef struct kw_txn_offset_commit_req_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch; /* v2+, default -1 */
    kw_slice committed_metadata;    /* nullable */
    kw_tags unknown_tags;
} kw_txn_offset_commit_req_partition;

/* TxnOffsetCommitRequest.Topics[] (TxnOffsetCommitRequestTopic) v0-5. */
typedef struct kw_txn_offset_commit_req_topic {
    kw_slice name;
    kw_txn_offset_commit_req_partition *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_txn_offset_commit_req_topic;

/* TxnOffsetCommitRequest (API 28) v0-5; v2+ CommittedLeaderEpoch; v3+ flexible, and
 * GenerationId, MemberId and GroupInstanceId (KIP-447). */
typedef struct kw_txn_offset_commit_req {
    kw_slice transactional_id;
    kw_slice group_id;
    int64_t producer_id;
    int16_t producer_epoch;
    int32_t generation_id;      /* v3+, default -1 */
    kw_slice member_id;         /* v3+, default "" */
    kw_slice group_instance_id; /* v3+, default null */
    kw_txn_offset_commit_req_topic *topics;
    int32_t n_topics;
    kw_tags unknown_tags;
} kw_txn_offset_commit_req;

/* TxnOffsetCommitResponse.Topics[].Partitions[] (TxnOffsetCommitResponsePartition) v0-5. */
typedef struct kw_txn_offset_commit_resp_partition {
    int32_t partition_index;
    int16_t error_code;
    kw_tags unknown_tags;
} kw_txn_offset_commit_resp_partition;

/* TxnOffsetCommitResponse.Topics[] (TxnOffsetCommitResponseTopic) v0-5. */
typedef struct kw_txn_offset_commit_resp_topic {
    kw_slice name;
    kw_txn_offset_commit_resp_partition *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_txn_offset_commit_resp_topic;

/* TxnOffsetCommitResponse (API 28) v0-5; v3+ flexible. */
typedef struct kw_txn_offset_commit_resp {
    int32_t throttle_time_ms;
    kw_txn_offset_commit_resp_topic *topics;
    int32_t n_topics;
    kw_tags unknown_tags;
} kw_txn_offset_commit_resp;

KW_API extern const kw_msgdef kw_msg_add_partitions_to_txn_req;
KW_API extern const kw_msgdef kw_msg_add_partitions_to_txn_resp;
KW_API extern const kw_msgdef kw_msg_add_offsets_to_txn_req;
KW_API extern const kw_msgdef kw_msg_add_offsets_to_txn_resp;
KW_API extern const kw_msgdef kw_msg_end_txn_req;
KW_API extern const kw_msgdef kw_msg_end_txn_resp;
KW_API extern const kw_msgdef kw_msg_txn_offset_commit_req;
KW_API extern const kw_msgdef kw_msg_txn_offset_commit_resp;

#ifdef __cplusplus
}
#endif
#endif
