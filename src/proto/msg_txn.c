/* Walks for the txn family of messages: transactional producers (KIP-98, KIP-447, KIP-890). */
#include "kwire/proto.h"
#include "msgtab.h"

/* Element walk of []int32. */
/* ---------------------------------------------------------------- AddPartitionsToTxn */

/* AddPartitionsToTxnTopic v0-5. */
static void
add_partitions_to_txn_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_add_partitions_to_txn_topic *m = p;
    kw_io_str(io, "Name", &m->name);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                kw_io_elem_i32, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* AddPartitionsToTxnRequest.Transactions[] v4-5. */
static void
add_partitions_to_txn_transaction_io(kw_io *io, int16_t ver, void *p)
{
    kw_add_partitions_to_txn_transaction *m = p;
    kw_io_str(io, "TransactionalId", &m->transactional_id);
    kw_io_i64(io, "ProducerId", &m->producer_id);
    kw_io_i16(io, "ProducerEpoch", &m->producer_epoch);
    kw_io_bool(io, "VerifyOnly", &m->verify_only);
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                add_partitions_to_txn_topic_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* AddPartitionsToTxnRequest v0-5: v0-3 one transaction (V3AndBelow*), v4+ Transactions[]. */
static void
add_partitions_to_txn_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_add_partitions_to_txn_req *m = p;
    if (ver >= 4)
        kw_io_array(io, "Transactions", &m->transactions, &m->n_transactions,
                    sizeof(*m->transactions), add_partitions_to_txn_transaction_io, ver);
    if (ver <= 3) {
        kw_io_str(io, "V3AndBelowTransactionalId", &m->v3_and_below_transactional_id);
        kw_io_i64(io, "V3AndBelowProducerId", &m->v3_and_below_producer_id);
        kw_io_i16(io, "V3AndBelowProducerEpoch", &m->v3_and_below_producer_epoch);
        kw_io_array(io, "V3AndBelowTopics", &m->v3_and_below_topics, &m->n_v3_and_below_topics,
                    sizeof(*m->v3_and_below_topics), add_partitions_to_txn_topic_io, ver);
    }
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* AddPartitionsToTxnPartitionResult v0-5. */
static void
add_partitions_to_txn_partition_result_io(kw_io *io, int16_t ver, void *p)
{
    kw_add_partitions_to_txn_partition_result *m = p;
    (void)ver;
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    kw_io_i16(io, "PartitionErrorCode", &m->partition_error_code);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* AddPartitionsToTxnTopicResult v0-5. */
static void
add_partitions_to_txn_topic_result_io(kw_io *io, int16_t ver, void *p)
{
    kw_add_partitions_to_txn_topic_result *m = p;
    kw_io_str(io, "Name", &m->name);
    kw_io_array(io, "ResultsByPartition", &m->results_by_partition, &m->n_results_by_partition,
                sizeof(*m->results_by_partition), add_partitions_to_txn_partition_result_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* AddPartitionsToTxnResponse.ResultsByTransaction[] v4-5. */
static void
add_partitions_to_txn_result_io(kw_io *io, int16_t ver, void *p)
{
    kw_add_partitions_to_txn_result *m = p;
    kw_io_str(io, "TransactionalId", &m->transactional_id);
    kw_io_array(io, "TopicResults", &m->topic_results, &m->n_topic_results,
                sizeof(*m->topic_results), add_partitions_to_txn_topic_result_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* AddPartitionsToTxnResponse v0-5. */
static void
add_partitions_to_txn_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_add_partitions_to_txn_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    if (ver >= 4) {
        kw_io_i16(io, "ErrorCode", &m->error_code);
        kw_io_array(io, "ResultsByTransaction", &m->results_by_transaction,
                    &m->n_results_by_transaction, sizeof(*m->results_by_transaction),
                    add_partitions_to_txn_result_io, ver);
    }
    if (ver <= 3)
        kw_io_array(io, "ResultsByTopicV3AndBelow", &m->results_by_topic_v3_and_below,
                    &m->n_results_by_topic_v3_and_below, sizeof(*m->results_by_topic_v3_and_below),
                    add_partitions_to_txn_topic_result_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- AddOffsetsToTxn */

/* AddOffsetsToTxnRequest v0-4. */
static void
add_offsets_to_txn_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_add_offsets_to_txn_req *m = p;
    (void)ver;
    kw_io_str(io, "TransactionalId", &m->transactional_id);
    kw_io_i64(io, "ProducerId", &m->producer_id);
    kw_io_i16(io, "ProducerEpoch", &m->producer_epoch);
    kw_io_str(io, "GroupId", &m->group_id);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* AddOffsetsToTxnResponse v0-4. */
static void
add_offsets_to_txn_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_add_offsets_to_txn_resp *m = p;
    (void)ver;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- EndTxn */

/* EndTxnRequest v0-5. */
static void
end_txn_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_end_txn_req *m = p;
    (void)ver;
    kw_io_str(io, "TransactionalId", &m->transactional_id);
    kw_io_i64(io, "ProducerId", &m->producer_id);
    kw_io_i16(io, "ProducerEpoch", &m->producer_epoch);
    kw_io_bool(io, "Committed", &m->committed);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* EndTxnResponse v0-5. */
static void
end_txn_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_end_txn_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (ver >= 5) {
        kw_io_i64(io, "ProducerId", &m->producer_id);
        kw_io_i16(io, "ProducerEpoch", &m->producer_epoch);
    } else if (kw_io_decoding(io)) {
        m->producer_id = -1;
        m->producer_epoch = -1;
    }
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- TxnOffsetCommit */

/* TxnOffsetCommitRequest.Topics[].Partitions[] v0-5. */
static void
txn_offset_commit_req_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_txn_offset_commit_req_partition *m = p;
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    kw_io_i64(io, "CommittedOffset", &m->committed_offset);
    if (ver >= 2)
        kw_io_i32(io, "CommittedLeaderEpoch", &m->committed_leader_epoch);
    else if (kw_io_decoding(io))
        m->committed_leader_epoch = -1;
    kw_io_str(io, "CommittedMetadata", &m->committed_metadata);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* TxnOffsetCommitRequest.Topics[] v0-5. */
static void
txn_offset_commit_req_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_txn_offset_commit_req_topic *m = p;
    kw_io_str(io, "Name", &m->name);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                txn_offset_commit_req_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* TxnOffsetCommitRequest v0-5. */
static void
txn_offset_commit_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_txn_offset_commit_req *m = p;
    kw_io_str(io, "TransactionalId", &m->transactional_id);
    kw_io_str(io, "GroupId", &m->group_id);
    kw_io_i64(io, "ProducerId", &m->producer_id);
    kw_io_i16(io, "ProducerEpoch", &m->producer_epoch);
    if (ver >= 3) {
        kw_io_i32(io, "GenerationId", &m->generation_id);
        kw_io_str(io, "MemberId", &m->member_id);
        kw_io_str(io, "GroupInstanceId", &m->group_instance_id);
    } else if (kw_io_decoding(io)) {
        m->generation_id = -1;
        m->group_instance_id = KW_SLICE_NULL;
    }
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                txn_offset_commit_req_topic_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* TxnOffsetCommitResponse.Topics[].Partitions[] v0-5. */
static void
txn_offset_commit_resp_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_txn_offset_commit_resp_partition *m = p;
    (void)ver;
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* TxnOffsetCommitResponse.Topics[] v0-5. */
static void
txn_offset_commit_resp_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_txn_offset_commit_resp_topic *m = p;
    kw_io_str(io, "Name", &m->name);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                txn_offset_commit_resp_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* TxnOffsetCommitResponse v0-5. */
static void
txn_offset_commit_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_txn_offset_commit_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                txn_offset_commit_resp_topic_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

const kw_msgdef kw_msg_add_partitions_to_txn_req = {
    "AddPartitionsToTxnRequest",  24, false, 0, 5, 3, sizeof(kw_add_partitions_to_txn_req),
    add_partitions_to_txn_req_io,
};
const kw_msgdef kw_msg_add_partitions_to_txn_resp = {
    "AddPartitionsToTxnResponse",  24, true, 0, 5, 3, sizeof(kw_add_partitions_to_txn_resp),
    add_partitions_to_txn_resp_io,
};
const kw_msgdef kw_msg_add_offsets_to_txn_req = {
    "AddOffsetsToTxnRequest",  25, false, 0, 4, 3, sizeof(kw_add_offsets_to_txn_req),
    add_offsets_to_txn_req_io,
};
const kw_msgdef kw_msg_add_offsets_to_txn_resp = {
    "AddOffsetsToTxnResponse",  25, true, 0, 4, 3, sizeof(kw_add_offsets_to_txn_resp),
    add_offsets_to_txn_resp_io,
};
const kw_msgdef kw_msg_end_txn_req = {
    "EndTxnRequest", 26, false, 0, 5, 3, sizeof(kw_end_txn_req), end_txn_req_io,
};
const kw_msgdef kw_msg_end_txn_resp = {
    "EndTxnResponse", 26, true, 0, 5, 3, sizeof(kw_end_txn_resp), end_txn_resp_io,
};
const kw_msgdef kw_msg_txn_offset_commit_req = {
    "TxnOffsetCommitRequest", 28, false, 0, 5, 3, sizeof(kw_txn_offset_commit_req),
    txn_offset_commit_req_io,
};
const kw_msgdef kw_msg_txn_offset_commit_resp = {
    "TxnOffsetCommitResponse", 28, true, 0, 5, 3, sizeof(kw_txn_offset_commit_resp),
    txn_offset_commit_resp_io,
};

const kw_msgdef *const kwi_family_txn[] = {
    &kw_msg_add_partitions_to_txn_req,
    &kw_msg_add_partitions_to_txn_resp,
    &kw_msg_add_offsets_to_txn_req,
    &kw_msg_add_offsets_to_txn_resp,
    &kw_msg_end_txn_req,
    &kw_msg_end_txn_resp,
    &kw_msg_txn_offset_commit_req,
    &kw_msg_txn_offset_commit_resp,
    NULL,
};
