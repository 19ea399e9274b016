/* Walks for the fetch family of messages: Fetch, ListOffsets, OffsetForLeaderEpoch and
 * DeleteRecords. */
#include <string.h>

#include "kwire/proto.h"
#include "msgtab.h"

/* Element walk of a primitive []int32. */
static bool
uuid_is_zero(const kw_uuid *u)
{
    static const kw_uuid zero;
    return memcmp(u->b, zero.b, sizeof(zero.b)) == 0;
}

/* ---------------------------------------------------------------- Fetch request */

/* FetchRequest.ReplicaState v15-18. */
static void
fetch_replica_state_io(kw_io *io, int16_t ver, void *p)
{
    kw_fetch_replica_state *m = p;
    (void)ver;
    kw_io_i32(io, "ReplicaId", &m->replica_id);
    kw_io_i64(io, "ReplicaEpoch", &m->replica_epoch);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* FetchRequest.Topics[].Partitions[] v4-18. */
static void
fetch_req_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_fetch_req_partition *m = p;
    kw_io_i32(io, "Partition", &m->partition);
    if (ver >= 9)
        kw_io_i32(io, "CurrentLeaderEpoch", &m->current_leader_epoch);
    else if (kw_io_decoding(io))
        m->current_leader_epoch = -1;
    kw_io_i64(io, "FetchOffset", &m->fetch_offset);
    if (ver >= 12)
        kw_io_i32(io, "LastFetchedEpoch", &m->last_fetched_epoch);
    else if (kw_io_decoding(io))
        m->last_fetched_epoch = -1;
    if (ver >= 5)
        kw_io_i64(io, "LogStartOffset", &m->log_start_offset);
    else if (kw_io_decoding(io))
        m->log_start_offset = -1;
    kw_io_i32(io, "PartitionMaxBytes", &m->partition_max_bytes);
    if (io->flex) {
        kw_tagsec ts;
        kw_io_tags_begin(io, &ts);
        if (ver >= 17 && kw_io_tag(io, &ts, 0, !uuid_is_zero(&m->replica_directory_id))) {
            kw_io_uuid(io, "ReplicaDirectoryId", &m->replica_directory_id);
            kw_io_tag_end(io, &ts);
        }
        if (ver >= 18 && kw_io_tag(io, &ts, 1, m->high_watermark != INT64_MAX)) {
            kw_io_i64(io, "HighWatermark", &m->high_watermark);
            kw_io_tag_end(io, &ts);
        } else if (kw_io_decoding(io)) {
            m->high_watermark = INT64_MAX;
        }
        kw_io_tags_end(io, &ts, &m->unknown_tags);
    } else if (kw_io_decoding(io)) {
        m->high_watermark = INT64_MAX;
    }
}

/* FetchRequest.Topics[] v4-18. */
static void
fetch_req_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_fetch_req_topic *m = p;
    if (ver <= 12)
        kw_io_str(io, "Topic", &m->topic);
    if (ver >= 13)
        kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                fetch_req_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* FetchRequest.ForgottenTopicsData[] v7-18. */
static void
fetch_forgotten_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_fetch_forgotten_topic *m = p;
    if (ver <= 12)
        kw_io_str(io, "Topic", &m->topic);
    if (ver >= 13)
        kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                kw_io_elem_i32, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

static bool
replica_state_is_default(const kw_fetch_replica_state *m)
{
    return m->replica_id == -1 && m->replica_epoch == -1 && m->unknown_tags.n == 0;
}

/* FetchRequest v4-18. */
static void
fetch_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_fetch_req *m = p;
    if (ver <= 14)
        kw_io_i32(io, "ReplicaId", &m->replica_id);
    else if (kw_io_decoding(io))
        m->replica_id = -1;
    kw_io_i32(io, "MaxWaitMs", &m->max_wait_ms);
    kw_io_i32(io, "MinBytes", &m->min_bytes);
    kw_io_i32(io, "MaxBytes", &m->max_bytes);
    kw_io_i8(io, "IsolationLevel", &m->isolation_level);
    if (ver >= 7) {
        kw_io_i32(io, "SessionId", &m->session_id);
        kw_io_i32(io, "SessionEpoch", &m->session_epoch);
    } else if (kw_io_decoding(io)) {
        m->session_epoch = -1;
    }
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics), fetch_req_topic_io,
                ver);
    if (ver >= 7)
        kw_io_array(io, "ForgottenTopicsData", &m->forgotten_topics_data,
                    &m->n_forgotten_topics_data, sizeof(*m->forgotten_topics_data),
                    fetch_forgotten_topic_io, ver);
    if (ver >= 11)
        kw_io_str(io, "RackId", &m->rack_id);
    if (io->flex) {
        kw_tagsec ts;
        kw_io_tags_begin(io, &ts);
        if (kw_io_tag(io, &ts, 0, m->cluster_id.len >= 0)) {
            kw_io_str(io, "ClusterId", &m->cluster_id);
            kw_io_tag_end(io, &ts);
        } else if (kw_io_decoding(io)) {
            m->cluster_id = KW_SLICE_NULL;
        }
        if (ver >= 15 && kw_io_tag(io, &ts, 1, !replica_state_is_default(&m->replica_state))) {
            kw_io_struct(io, "ReplicaState", &m->replica_state, fetch_replica_state_io, ver);
            kw_io_tag_end(io, &ts);
        } else if (kw_io_decoding(io)) {
            m->replica_state.replica_id = -1;
            m->replica_state.replica_epoch = -1;
        }
        kw_io_tags_end(io, &ts, &m->unknown_tags);
    } else if (kw_io_decoding(io)) {
        m->cluster_id = KW_SLICE_NULL;
        m->replica_state.replica_id = -1;
        m->replica_state.replica_epoch = -1;
    }
}

/* ---------------------------------------------------------------- Fetch response */

/* FetchResponse...DivergingEpoch v12-18. */
static void
fetch_epoch_end_offset_io(kw_io *io, int16_t ver, void *p)
{
    kw_fetch_epoch_end_offset *m = p;
    (void)ver;
    kw_io_i32(io, "Epoch", &m->epoch);
    kw_io_i64(io, "EndOffset", &m->end_offset);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* FetchResponse...CurrentLeader v12-18. */
static void
fetch_leader_io(kw_io *io, int16_t ver, void *p)
{
    kw_leader_id_and_epoch *m = p;
    (void)ver;
    kw_io_i32(io, "LeaderId", &m->leader_id);
    kw_io_i32(io, "LeaderEpoch", &m->leader_epoch);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* FetchResponse...SnapshotId v12-18. */
static void
fetch_snapshot_id_io(kw_io *io, int16_t ver, void *p)
{
    kw_fetch_snapshot_id *m = p;
    (void)ver;
    kw_io_i64(io, "EndOffset", &m->end_offset);
    kw_io_i32(io, "Epoch", &m->epoch);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* FetchResponse...AbortedTransactions[] v4-18. */
static void
fetch_aborted_txn_io(kw_io *io, int16_t ver, void *p)
{
    kw_fetch_aborted_txn *m = p;
    (void)ver;
    kw_io_i64(io, "ProducerId", &m->producer_id);
    kw_io_i64(io, "FirstOffset", &m->first_offset);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* The three tagged structures of a partition default to all -1 and are sent when they differ
 * (unknown tags inside count as a difference, so a decoded one re-encodes exactly). */
static void
fetch_resp_partition_tag_defaults(kw_fetch_resp_partition *m)
{
    m->diverging_epoch.epoch = -1;
    m->diverging_epoch.end_offset = -1;
    m->current_leader.leader_id = -1;
    m->current_leader.leader_epoch = -1;
    m->snapshot_id.end_offset = -1;
    m->snapshot_id.epoch = -1;
}

/* FetchResponse.Responses[].Partitions[] v4-18: the hot path of a consumer. */
static void
fetch_resp_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_fetch_resp_partition *m = p;
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_i64(io, "HighWatermark", &m->high_watermark);
    kw_io_i64(io, "LastStableOffset", &m->last_stable_offset);
    if (ver >= 5)
        kw_io_i64(io, "LogStartOffset", &m->log_start_offset);
    else if (kw_io_decoding(io))
        m->log_start_offset = -1;
    kw_io_array(io, "AbortedTransactions", &m->aborted_transactions, &m->n_aborted_transactions,
                sizeof(*m->aborted_transactions), fetch_aborted_txn_io, ver);
    if (ver >= 11)
        kw_io_i32(io, "PreferredReadReplica", &m->preferred_read_replica);
    else if (kw_io_decoding(io))
        m->preferred_read_replica = -1;
    kw_io_records(io, "Records", &m->records);
    if (io->flex) {
        kw_tagsec ts;
        if (kw_io_decoding(io))
            fetch_resp_partition_tag_defaults(m);
        kw_io_tags_begin(io, &ts);
        const kw_fetch_epoch_end_offset *de = &m->diverging_epoch;
        if (kw_io_tag(io, &ts, 0,
                      de->epoch != -1 || de->end_offset != -1 || de->unknown_tags.n != 0)) {
            kw_io_struct(io, "DivergingEpoch", &m->diverging_epoch, fetch_epoch_end_offset_io, ver);
            kw_io_tag_end(io, &ts);
        }
        const kw_leader_id_and_epoch *cl = &m->current_leader;
        if (kw_io_tag(io, &ts, 1,
                      cl->leader_id != -1 || cl->leader_epoch != -1 || cl->unknown_tags.n != 0)) {
            kw_io_struct(io, "CurrentLeader", &m->current_leader, fetch_leader_io, ver);
            kw_io_tag_end(io, &ts);
        }
        const kw_fetch_snapshot_id *si = &m->snapshot_id;
        if (kw_io_tag(io, &ts, 2,
                      si->end_offset != -1 || si->epoch != -1 || si->unknown_tags.n != 0)) {
            kw_io_struct(io, "SnapshotId", &m->snapshot_id, fetch_snapshot_id_io, ver);
            kw_io_tag_end(io, &ts);
        }
        kw_io_tags_end(io, &ts, &m->unknown_tags);
    } else if (kw_io_decoding(io)) {
        fetch_resp_partition_tag_defaults(m);
    }
}

/* FetchResponse.Responses[] v4-18. */
static void
fetch_resp_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_fetch_resp_topic *m = p;
    if (ver <= 12)
        kw_io_str(io, "Topic", &m->topic);
    if (ver >= 13)
        kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                fetch_resp_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* FetchResponse.NodeEndpoints[] v16-18. */
static void
fetch_node_endpoint_io(kw_io *io, int16_t ver, void *p)
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

/* FetchResponse v4-18. */
static void
fetch_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_fetch_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    if (ver >= 7) {
        kw_io_i16(io, "ErrorCode", &m->error_code);
        kw_io_i32(io, "SessionId", &m->session_id);
    }
    kw_io_array(io, "Responses", &m->responses, &m->n_responses, sizeof(*m->responses),
                fetch_resp_topic_io, ver);
    if (io->flex) {
        kw_tagsec ts;
        kw_io_tags_begin(io, &ts);
        if (ver >= 16 && kw_io_tag(io, &ts, 0, m->n_node_endpoints != 0)) {
            kw_io_array(io, "NodeEndpoints", &m->node_endpoints, &m->n_node_endpoints,
                        sizeof(*m->node_endpoints), fetch_node_endpoint_io, ver);
            kw_io_tag_end(io, &ts);
        }
        kw_io_tags_end(io, &ts, &m->unknown_tags);
    }
}

/* ---------------------------------------------------------------- ListOffsets */

/* ListOffsetsRequest.Topics[].Partitions[] v1-10. */
static void
list_offsets_req_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_list_offsets_req_partition *m = p;
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    if (ver >= 4)
        kw_io_i32(io, "CurrentLeaderEpoch", &m->current_leader_epoch);
    else if (kw_io_decoding(io))
        m->current_leader_epoch = -1;
    kw_io_i64(io, "Timestamp", &m->timestamp);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ListOffsetsRequest.Topics[] v1-10. */
static void
list_offsets_req_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_list_offsets_req_topic *m = p;
    kw_io_str(io, "Name", &m->name);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                list_offsets_req_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ListOffsetsRequest v1-10. */
static void
list_offsets_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_list_offsets_req *m = p;
    kw_io_i32(io, "ReplicaId", &m->replica_id);
    if (ver >= 2)
        kw_io_i8(io, "IsolationLevel", &m->isolation_level);
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                list_offsets_req_topic_io, ver);
    if (ver >= 10)
        kw_io_i32(io, "TimeoutMs", &m->timeout_ms);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ListOffsetsResponse.Topics[].Partitions[] v1-10. */
static void
list_offsets_resp_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_list_offsets_resp_partition *m = p;
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_i64(io, "Timestamp", &m->timestamp);
    kw_io_i64(io, "Offset", &m->offset);
    if (ver >= 4)
        kw_io_i32(io, "LeaderEpoch", &m->leader_epoch);
    else if (kw_io_decoding(io))
        m->leader_epoch = -1;
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ListOffsetsResponse.Topics[] v1-10. */
static void
list_offsets_resp_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_list_offsets_resp_topic *m = p;
    kw_io_str(io, "Name", &m->name);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                list_offsets_resp_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ListOffsetsResponse v1-10. */
static void
list_offsets_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_list_offsets_resp *m = p;
    if (ver >= 2)
        kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                list_offsets_resp_topic_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- OffsetForLeaderEpoch */

/* OffsetForLeaderEpochRequest.Topics[].Partitions[] v2-4. */
static void
offset_for_leader_epoch_req_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_for_leader_epoch_req_partition *m = p;
    (void)ver;
    kw_io_i32(io, "Partition", &m->partition);
    kw_io_i32(io, "CurrentLeaderEpoch", &m->current_leader_epoch);
    kw_io_i32(io, "LeaderEpoch", &m->leader_epoch);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetForLeaderEpochRequest.Topics[] v2-4. */
static void
offset_for_leader_epoch_req_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_for_leader_epoch_req_topic *m = p;
    kw_io_str(io, "Topic", &m->topic);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                offset_for_leader_epoch_req_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetForLeaderEpochRequest v2-4. */
static void
offset_for_leader_epoch_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_for_leader_epoch_req *m = p;
    if (ver >= 3)
        kw_io_i32(io, "ReplicaId", &m->replica_id);
    else if (kw_io_decoding(io))
        m->replica_id = -2;
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                offset_for_leader_epoch_req_topic_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetForLeaderEpochResponse.Topics[].Partitions[] v2-4. */
static void
offset_for_leader_epoch_resp_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_for_leader_epoch_resp_partition *m = p;
    (void)ver;
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_i32(io, "Partition", &m->partition);
    kw_io_i32(io, "LeaderEpoch", &m->leader_epoch);
    kw_io_i64(io, "EndOffset", &m->end_offset);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetForLeaderEpochResponse.Topics[] v2-4. */
static void
offset_for_leader_epoch_resp_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_for_leader_epoch_resp_topic *m = p;
    kw_io_str(io, "Topic", &m->topic);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                offset_for_leader_epoch_resp_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetForLeaderEpochResponse v2-4. */
static void
offset_for_leader_epoch_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_for_leader_epoch_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                offset_for_leader_epoch_resp_topic_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- DeleteRecords */

/* DeleteRecordsRequest.Topics[].Partitions[] v0-2. */
static void
delete_records_req_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_delete_records_req_partition *m = p;
    (void)ver;
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    kw_io_i64(io, "Offset", &m->offset);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DeleteRecordsRequest.Topics[] v0-2. */
static void
delete_records_req_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_delete_records_req_topic *m = p;
    kw_io_str(io, "Name", &m->name);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                delete_records_req_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DeleteRecordsRequest v0-2. */
static void
delete_records_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_delete_records_req *m = p;
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                delete_records_req_topic_io, ver);
    kw_io_i32(io, "TimeoutMs", &m->timeout_ms);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DeleteRecordsResponse.Topics[].Partitions[] v0-2. */
static void
delete_records_resp_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_delete_records_resp_partition *m = p;
    (void)ver;
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    kw_io_i64(io, "LowWatermark", &m->low_watermark);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DeleteRecordsResponse.Topics[] v0-2. */
static void
delete_records_resp_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_delete_records_resp_topic *m = p;
    kw_io_str(io, "Name", &m->name);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                delete_records_resp_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DeleteRecordsResponse v0-2. */
static void
delete_records_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_delete_records_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                delete_records_resp_topic_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- message table */

const kw_msgdef kw_msg_fetch_req = {
    "FetchRequest", 1, false, 4, 18, 12, sizeof(kw_fetch_req), fetch_req_io,
};
const kw_msgdef kw_msg_fetch_resp = {
    "FetchResponse", 1, true, 4, 18, 12, sizeof(kw_fetch_resp), fetch_resp_io,
};
const kw_msgdef kw_msg_list_offsets_req = {
    "ListOffsetsRequest", 2, false, 1, 10, 6, sizeof(kw_list_offsets_req), list_offsets_req_io,
};
const kw_msgdef kw_msg_list_offsets_resp = {
    "ListOffsetsResponse", 2, true, 1, 10, 6, sizeof(kw_list_offsets_resp), list_offsets_resp_io,
};
const kw_msgdef kw_msg_offset_for_leader_epoch_req = {
    "OffsetForLeaderEpochRequest",  23, false, 2, 4, 4, sizeof(kw_offset_for_leader_epoch_req),
    offset_for_leader_epoch_req_io,
};
const kw_msgdef kw_msg_offset_for_leader_epoch_resp = {
    "OffsetForLeaderEpochResponse",  23, true, 2, 4, 4, sizeof(kw_offset_for_leader_epoch_resp),
    offset_for_leader_epoch_resp_io,
};
const kw_msgdef kw_msg_delete_records_req = {
    "DeleteRecordsRequest", 21, false, 0, 2, 2, sizeof(kw_delete_records_req),
    delete_records_req_io,
};
const kw_msgdef kw_msg_delete_records_resp = {
    "DeleteRecordsResponse", 21, true, 0, 2, 2, sizeof(kw_delete_records_resp),
    delete_records_resp_io,
};

const kw_msgdef *const kwi_family_fetch[] = {
    &kw_msg_fetch_req,
    &kw_msg_fetch_resp,
    &kw_msg_list_offsets_req,
    &kw_msg_list_offsets_resp,
    &kw_msg_offset_for_leader_epoch_req,
    &kw_msg_offset_for_leader_epoch_resp,
    &kw_msg_delete_records_req,
    &kw_msg_delete_records_resp,
    NULL,
};
