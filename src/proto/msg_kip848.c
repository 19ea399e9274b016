/* Walks for the kip848 family of messages: the KIP-848 consumer group protocol. */
#include "kwire/proto.h"
#include "msgtab.h"

/* ---------------------------------------------------------------- ConsumerGroupHeartbeat */

/* ConsumerGroupHeartbeat{Request,Response} TopicPartitions v0-1. */
static void
heartbeat_topic_partitions_io(kw_io *io, int16_t ver, void *p)
{
    kw_consumer_group_heartbeat_topic_partitions *m = p;
    kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                kw_io_elem_i32, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ConsumerGroupHeartbeatRequest v0-1. */
static void
heartbeat_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_consumer_group_heartbeat_req *m = p;
    kw_io_str(io, "GroupId", &m->group_id);
    kw_io_str(io, "MemberId", &m->member_id);
    kw_io_i32(io, "MemberEpoch", &m->member_epoch);
    kw_io_str(io, "InstanceId", &m->instance_id);
    kw_io_str(io, "RackId", &m->rack_id);
    kw_io_i32(io, "RebalanceTimeoutMs", &m->rebalance_timeout_ms);
    kw_io_array(io, "SubscribedTopicNames", &m->subscribed_topic_names,
                &m->n_subscribed_topic_names, sizeof(*m->subscribed_topic_names), kw_io_elem_str,
                ver);
    if (ver >= 1)
        kw_io_str(io, "SubscribedTopicRegex", &m->subscribed_topic_regex);
    else if (kw_io_decoding(io))
        m->subscribed_topic_regex = KW_SLICE_NULL;
    kw_io_str(io, "ServerAssignor", &m->server_assignor);
    kw_io_array(io, "TopicPartitions", &m->topic_partitions, &m->n_topic_partitions,
                sizeof(*m->topic_partitions), heartbeat_topic_partitions_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ConsumerGroupHeartbeatResponse.Assignment v0-1. */
static void
heartbeat_assignment_io(kw_io *io, int16_t ver, void *p)
{
    kw_consumer_group_heartbeat_assignment *m = p;
    kw_io_array(io, "TopicPartitions", &m->topic_partitions, &m->n_topic_partitions,
                sizeof(*m->topic_partitions), heartbeat_topic_partitions_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ConsumerGroupHeartbeatResponse v0-1. */
static void
heartbeat_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_consumer_group_heartbeat_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_str(io, "ErrorMessage", &m->error_message);
    kw_io_str(io, "MemberId", &m->member_id);
    kw_io_i32(io, "MemberEpoch", &m->member_epoch);
    kw_io_i32(io, "HeartbeatIntervalMs", &m->heartbeat_interval_ms);
    kw_io_struct_nullable(io, "Assignment", &m->has_assignment, &m->assignment,
                          heartbeat_assignment_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- ConsumerGroupDescribe */

/* ConsumerGroupDescribeRequest v0-1. */
static void
describe_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_consumer_group_describe_req *m = p;
    kw_io_array(io, "GroupIds", &m->group_ids, &m->n_group_ids, sizeof(*m->group_ids),
                kw_io_elem_str, ver);
    kw_io_bool(io, "IncludeAuthorizedOperations", &m->include_authorized_operations);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ConsumerGroupDescribeResponse TopicPartitions v0-1. */
static void
describe_topic_partitions_io(kw_io *io, int16_t ver, void *p)
{
    kw_consumer_group_describe_topic_partitions *m = p;
    kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_str(io, "TopicName", &m->topic_name);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                kw_io_elem_i32, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ConsumerGroupDescribeResponse Assignment v0-1. */
static void
describe_assignment_io(kw_io *io, int16_t ver, void *p)
{
    kw_consumer_group_describe_assignment *m = p;
    kw_io_array(io, "TopicPartitions", &m->topic_partitions, &m->n_topic_partitions,
                sizeof(*m->topic_partitions), describe_topic_partitions_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ConsumerGroupDescribeResponse.Groups[].Members[] v0-1. */
static void
describe_member_io(kw_io *io, int16_t ver, void *p)
{
    kw_consumer_group_describe_member *m = p;
    kw_io_str(io, "MemberId", &m->member_id);
    kw_io_str(io, "InstanceId", &m->instance_id);
    kw_io_str(io, "RackId", &m->rack_id);
    kw_io_i32(io, "MemberEpoch", &m->member_epoch);
    kw_io_str(io, "ClientId", &m->client_id);
    kw_io_str(io, "ClientHost", &m->client_host);
    kw_io_array(io, "SubscribedTopicNames", &m->subscribed_topic_names,
                &m->n_subscribed_topic_names, sizeof(*m->subscribed_topic_names), kw_io_elem_str,
                ver);
    kw_io_str(io, "SubscribedTopicRegex", &m->subscribed_topic_regex);
    kw_io_struct(io, "Assignment", &m->assignment, describe_assignment_io, ver);
    kw_io_struct(io, "TargetAssignment", &m->target_assignment, describe_assignment_io, ver);
    if (ver >= 1)
        kw_io_i8(io, "MemberType", &m->member_type);
    else if (kw_io_decoding(io))
        m->member_type = -1;
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ConsumerGroupDescribeResponse.Groups[] v0-1. */
static void
described_group_io(kw_io *io, int16_t ver, void *p)
{
    kw_consumer_group_described_group *m = p;
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_str(io, "ErrorMessage", &m->error_message);
    kw_io_str(io, "GroupId", &m->group_id);
    kw_io_str(io, "GroupState", &m->group_state);
    kw_io_i32(io, "GroupEpoch", &m->group_epoch);
    kw_io_i32(io, "AssignmentEpoch", &m->assignment_epoch);
    kw_io_str(io, "AssignorName", &m->assignor_name);
    kw_io_array(io, "Members", &m->members, &m->n_members, sizeof(*m->members), describe_member_io,
                ver);
    kw_io_i32(io, "AuthorizedOperations", &m->authorized_operations);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ConsumerGroupDescribeResponse v0-1. */
static void
describe_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_consumer_group_describe_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_array(io, "Groups", &m->groups, &m->n_groups, sizeof(*m->groups), described_group_io,
                ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- msgdefs */

const kw_msgdef kw_msg_consumer_group_heartbeat_req = {
    "ConsumerGroupHeartbeatRequest",
    68,
    false,
    0,
    1,
    0,
    sizeof(kw_consumer_group_heartbeat_req),
    heartbeat_req_io,
};
const kw_msgdef kw_msg_consumer_group_heartbeat_resp = {
    "ConsumerGroupHeartbeatResponse",
    68,
    true,
    0,
    1,
    0,
    sizeof(kw_consumer_group_heartbeat_resp),
    heartbeat_resp_io,
};
const kw_msgdef kw_msg_consumer_group_describe_req = {
    "ConsumerGroupDescribeRequest",
    69,
    false,
    0,
    1,
    0,
    sizeof(kw_consumer_group_describe_req),
    describe_req_io,
};
const kw_msgdef kw_msg_consumer_group_describe_resp = {
    "ConsumerGroupDescribeResponse",
    69,
    true,
    0,
    1,
    0,
    sizeof(kw_consumer_group_describe_resp),
    describe_resp_io,
};

const kw_msgdef *const kwi_family_kip848[] = {
    &kw_msg_consumer_group_heartbeat_req,
    &kw_msg_consumer_group_heartbeat_resp,
    &kw_msg_consumer_group_describe_req,
    &kw_msg_consumer_group_describe_resp,
    NULL,
};
