/* Walks for the produce family of messages: Produce and InitProducerId. */
#include "kwire/proto.h"
#include "msgtab.h"

/* ---------------------------------------------------------------- shared leader hints */

/* LeaderIdAndEpoch (ProduceResponse CurrentLeader) v10+. */
static void
leader_id_and_epoch_io(kw_io *io, int16_t ver, void *p)
{
    kw_leader_id_and_epoch *m = p;
    (void)ver;
    kw_io_i32(io, "LeaderId", &m->leader_id);
    kw_io_i32(io, "LeaderEpoch", &m->leader_epoch);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* A tagged LeaderIdAndEpoch is sent when it differs from its default (unknown tags inside
 * count as a difference, so a decoded one re-encodes exactly). */
static bool
leader_is_default(const kw_leader_id_and_epoch *m)
{
    return m->leader_id == -1 && m->leader_epoch == -1 && m->unknown_tags.n == 0;
}

static void
leader_set_default(kw_leader_id_and_epoch *m)
{
    m->leader_id = -1;
    m->leader_epoch = -1;
}

/* ProduceResponse.NodeEndpoints[] v10+. */
static void
node_endpoint_io(kw_io *io, int16_t ver, void *p)
{
    kw_node_endpoint *m = p;
    (void)ver;
    kw_io_i32(io, "NodeId", &m->node_id);
    kw_io_str(io, "Host", &m->host);
    kw_io_i32(io, "Port", &m->port);
    kw_io_str(io, "Rack", &m->rack);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- Produce */

/* ProduceRequest.TopicData[].PartitionData[] v3-13. */
static void
produce_req_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_produce_req_partition *m = p;
    (void)ver;
    kw_io_i32(io, "Index", &m->index);
    kw_io_records(io, "Records", &m->records);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ProduceRequest.TopicData[] v3-13. */
static void
produce_req_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_produce_req_topic *m = p;
    if (ver <= 12)
        kw_io_str(io, "Name", &m->name);
    if (ver >= 13)
        kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_array(io, "PartitionData", &m->partition_data, &m->n_partition_data,
                sizeof(*m->partition_data), produce_req_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ProduceRequest v3-13. */
static void
produce_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_produce_req *m = p;
    kw_io_str(io, "TransactionalId", &m->transactional_id);
    kw_io_i16(io, "Acks", &m->acks);
    kw_io_i32(io, "TimeoutMs", &m->timeout_ms);
    kw_io_array(io, "TopicData", &m->topic_data, &m->n_topic_data, sizeof(*m->topic_data),
                produce_req_topic_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ProduceResponse...RecordErrors[] v8-13. */
static void
produce_record_error_io(kw_io *io, int16_t ver, void *p)
{
    kw_produce_record_error *m = p;
    (void)ver;
    kw_io_i32(io, "BatchIndex", &m->batch_index);
    kw_io_str(io, "BatchIndexErrorMessage", &m->batch_index_error_message);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ProduceResponse.Responses[].PartitionResponses[] v3-13. */
static void
produce_resp_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_produce_resp_partition *m = p;
    kw_io_i32(io, "Index", &m->index);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_i64(io, "BaseOffset", &m->base_offset);
    kw_io_i64(io, "LogAppendTimeMs", &m->log_append_time_ms);
    if (ver >= 5)
        kw_io_i64(io, "LogStartOffset", &m->log_start_offset);
    else if (kw_io_decoding(io))
        m->log_start_offset = -1;
    if (ver >= 8) {
        kw_io_array(io, "RecordErrors", &m->record_errors, &m->n_record_errors,
                    sizeof(*m->record_errors), produce_record_error_io, ver);
        kw_io_str(io, "ErrorMessage", &m->error_message);
    } else if (kw_io_decoding(io)) {
        m->error_message = KW_SLICE_NULL;
    }
    if (io->flex) {
        kw_tagsec ts;
        kw_io_tags_begin(io, &ts);
        if (ver >= 10 && kw_io_tag(io, &ts, 0, !leader_is_default(&m->current_leader))) {
            kw_io_struct(io, "CurrentLeader", &m->current_leader, leader_id_and_epoch_io, ver);
            kw_io_tag_end(io, &ts);
        } else if (kw_io_decoding(io)) {
            leader_set_default(&m->current_leader);
        }
        kw_io_tags_end(io, &ts, &m->unknown_tags);
    } else if (kw_io_decoding(io)) {
        leader_set_default(&m->current_leader);
    }
}

/* ProduceResponse.Responses[] v3-13. */
static void
produce_resp_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_produce_resp_topic *m = p;
    if (ver <= 12)
        kw_io_str(io, "Name", &m->name);
    if (ver >= 13)
        kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_array(io, "PartitionResponses", &m->partition_responses, &m->n_partition_responses,
                sizeof(*m->partition_responses), produce_resp_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ProduceResponse v3-13. */
static void
produce_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_produce_resp *m = p;
    kw_io_array(io, "Responses", &m->responses, &m->n_responses, sizeof(*m->responses),
                produce_resp_topic_io, ver);
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    if (io->flex) {
        kw_tagsec ts;
        kw_io_tags_begin(io, &ts);
        if (ver >= 10 && kw_io_tag(io, &ts, 0, m->n_node_endpoints != 0)) {
            kw_io_array(io, "NodeEndpoints", &m->node_endpoints, &m->n_node_endpoints,
                        sizeof(*m->node_endpoints), node_endpoint_io, ver);
            kw_io_tag_end(io, &ts);
        }
        kw_io_tags_end(io, &ts, &m->unknown_tags);
    }
}

/* ---------------------------------------------------------------- InitProducerId */

/* InitProducerIdRequest v0-6. */
static void
init_producer_id_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_init_producer_id_req *m = p;
    kw_io_str(io, "TransactionalId", &m->transactional_id);
    kw_io_i32(io, "TransactionTimeoutMs", &m->transaction_timeout_ms);
    if (ver >= 3) {
        kw_io_i64(io, "ProducerId", &m->producer_id);
        kw_io_i16(io, "ProducerEpoch", &m->producer_epoch);
    } else if (kw_io_decoding(io)) {
        m->producer_id = -1;
        m->producer_epoch = -1;
    }
    if (ver >= 6) {
        kw_io_bool(io, "Enable2Pc", &m->enable_2pc);
        kw_io_bool(io, "KeepPreparedTxn", &m->keep_prepared_txn);
    }
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* InitProducerIdResponse v0-6. */
static void
init_producer_id_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_init_producer_id_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_i64(io, "ProducerId", &m->producer_id);
    kw_io_i16(io, "ProducerEpoch", &m->producer_epoch);
    if (ver >= 6) {
        kw_io_i64(io, "OngoingTxnProducerId", &m->ongoing_txn_producer_id);
        kw_io_i16(io, "OngoingTxnProducerEpoch", &m->ongoing_txn_producer_epoch);
    } else if (kw_io_decoding(io)) {
        m->ongoing_txn_producer_id = -1;
        m->ongoing_txn_producer_epoch = -1;
    }
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- message table */

const kw_msgdef kw_msg_produce_req = {
    "ProduceRequest", 0, false, 3, 13, 9, sizeof(kw_produce_req), produce_req_io,
};
const kw_msgdef kw_msg_produce_resp = {
    "ProduceResponse", 0, true, 3, 13, 9, sizeof(kw_produce_resp), produce_resp_io,
};
const kw_msgdef kw_msg_init_producer_id_req = {
    "InitProducerIdRequest", 22, false, 0, 6, 2, sizeof(kw_init_producer_id_req),
    init_producer_id_req_io,
};
const kw_msgdef kw_msg_init_producer_id_resp = {
    "InitProducerIdResponse", 22, true, 0, 6, 2, sizeof(kw_init_producer_id_resp),
    init_producer_id_resp_io,
};

const kw_msgdef *const kwi_family_produce[] = {
    &kw_msg_produce_req,
    &kw_msg_produce_resp,
    &kw_msg_init_producer_id_req,
    &kw_msg_init_producer_id_resp,
    NULL,
};
