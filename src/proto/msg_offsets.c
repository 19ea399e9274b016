/* Walks for the offsets family of messages: committing and fetching group offsets, listing and
 * describing groups. */
#include "kwire/proto.h"
#include "msgtab.h"

/* ---------------------------------------------------------------- OffsetCommit */

/* OffsetCommitRequest.Topics[].Partitions[] v2-10. */
static void
offset_commit_req_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_commit_req_partition *m = p;
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    kw_io_i64(io, "CommittedOffset", &m->committed_offset);
    if (ver >= 6)
        kw_io_i32(io, "CommittedLeaderEpoch", &m->committed_leader_epoch);
    else if (kw_io_decoding(io))
        m->committed_leader_epoch = -1;
    kw_io_str(io, "CommittedMetadata", &m->committed_metadata);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetCommitRequest.Topics[] v2-10; Name v2-9, TopicId v10+. */
static void
offset_commit_req_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_commit_req_topic *m = p;
    if (ver <= 9)
        kw_io_str(io, "Name", &m->name);
    if (ver >= 10)
        kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                offset_commit_req_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetCommitRequest v2-10. */
static void
offset_commit_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_commit_req *m = p;
    kw_io_str(io, "GroupId", &m->group_id);
    kw_io_i32(io, "GenerationIdOrMemberEpoch", &m->generation_id_or_member_epoch);
    kw_io_str(io, "MemberId", &m->member_id);
    if (ver >= 7)
        kw_io_str(io, "GroupInstanceId", &m->group_instance_id);
    else if (kw_io_decoding(io))
        m->group_instance_id = KW_SLICE_NULL;
    if (ver >= 2 && ver <= 4)
        kw_io_i64(io, "RetentionTimeMs", &m->retention_time_ms);
    else if (kw_io_decoding(io))
        m->retention_time_ms = -1;
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                offset_commit_req_topic_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetCommitResponse.Topics[].Partitions[] v2-10. */
static void
offset_commit_resp_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_commit_resp_partition *m = p;
    (void)ver;
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetCommitResponse.Topics[] v2-10; Name v2-9, TopicId v10+. */
static void
offset_commit_resp_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_commit_resp_topic *m = p;
    if (ver <= 9)
        kw_io_str(io, "Name", &m->name);
    if (ver >= 10)
        kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                offset_commit_resp_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetCommitResponse v2-10. */
static void
offset_commit_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_commit_resp *m = p;
    if (ver >= 3)
        kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                offset_commit_resp_topic_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

const kw_msgdef kw_msg_offset_commit_req = {
    "OffsetCommitRequest", 8, false, 2, 10, 8, sizeof(kw_offset_commit_req), offset_commit_req_io,
};
const kw_msgdef kw_msg_offset_commit_resp = {
    "OffsetCommitResponse", 8, true, 2, 10, 8, sizeof(kw_offset_commit_resp), offset_commit_resp_io,
};

/* ---------------------------------------------------------------- OffsetFetch */

/* OffsetFetchRequest.Topics[] (OffsetFetchRequestTopic) v1-7. */
static void
offset_fetch_req_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_fetch_req_topic *m = p;
    kw_io_str(io, "Name", &m->name);
    kw_io_array(io, "PartitionIndexes", &m->partition_indexes, &m->n_partition_indexes,
                sizeof(*m->partition_indexes), kw_io_elem_i32, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetFetchRequest.Groups[].Topics[] (OffsetFetchRequestTopics) v8-10; Name v8-9,
 * TopicId v10+. */
static void
offset_fetch_req_group_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_fetch_req_topic *m = p;
    if (ver <= 9)
        kw_io_str(io, "Name", &m->name);
    if (ver >= 10)
        kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_array(io, "PartitionIndexes", &m->partition_indexes, &m->n_partition_indexes,
                sizeof(*m->partition_indexes), kw_io_elem_i32, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetFetchRequest.Groups[] (OffsetFetchRequestGroup) v8-10; v9+ MemberId, MemberEpoch. */
static void
offset_fetch_req_group_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_fetch_req_group *m = p;
    kw_io_str(io, "GroupId", &m->group_id);
    if (ver >= 9) {
        kw_io_str(io, "MemberId", &m->member_id);
        kw_io_i32(io, "MemberEpoch", &m->member_epoch);
    } else if (kw_io_decoding(io)) {
        m->member_id = KW_SLICE_NULL;
        m->member_epoch = -1;
    }
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                offset_fetch_req_group_topic_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetFetchRequest v1-10: the single-group form up to v7, the Groups[] form from v8. */
static void
offset_fetch_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_fetch_req *m = p;
    if (ver <= 7) {
        kw_io_str(io, "GroupId", &m->group_id);
        kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                    offset_fetch_req_topic_io, ver);
    }
    if (ver >= 8)
        kw_io_array(io, "Groups", &m->groups, &m->n_groups, sizeof(*m->groups),
                    offset_fetch_req_group_io, ver);
    if (ver >= 7)
        kw_io_bool(io, "RequireStable", &m->require_stable);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetFetchResponse.Topics[].Partitions[] (OffsetFetchResponsePartition) v1-7;
 * v5+ CommittedLeaderEpoch. */
static void
offset_fetch_resp_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_fetch_resp_partition *m = p;
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    kw_io_i64(io, "CommittedOffset", &m->committed_offset);
    if (ver >= 5)
        kw_io_i32(io, "CommittedLeaderEpoch", &m->committed_leader_epoch);
    else if (kw_io_decoding(io))
        m->committed_leader_epoch = -1;
    kw_io_str(io, "Metadata", &m->metadata);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetFetchResponse.Topics[] (OffsetFetchResponseTopic) v1-7. */
static void
offset_fetch_resp_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_fetch_resp_topic *m = p;
    kw_io_str(io, "Name", &m->name);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                offset_fetch_resp_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetFetchResponse.Groups[].Topics[].Partitions[] (OffsetFetchResponsePartitions) v8-10. */
static void
offset_fetch_resp_group_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_fetch_resp_partition *m = p;
    (void)ver;
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    kw_io_i64(io, "CommittedOffset", &m->committed_offset);
    kw_io_i32(io, "CommittedLeaderEpoch", &m->committed_leader_epoch);
    kw_io_str(io, "Metadata", &m->metadata);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetFetchResponse.Groups[].Topics[] (OffsetFetchResponseTopics) v8-10; Name v8-9,
 * TopicId v10+. */
static void
offset_fetch_resp_group_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_fetch_resp_topic *m = p;
    if (ver <= 9)
        kw_io_str(io, "Name", &m->name);
    if (ver >= 10)
        kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                offset_fetch_resp_group_partition_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetFetchResponse.Groups[] (OffsetFetchResponseGroup) v8-10. */
static void
offset_fetch_resp_group_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_fetch_resp_group *m = p;
    kw_io_str(io, "GroupId", &m->group_id);
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                offset_fetch_resp_group_topic_io, ver);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* OffsetFetchResponse v1-10: Topics[] and ErrorCode up to v7, Groups[] from v8. */
static void
offset_fetch_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_offset_fetch_resp *m = p;
    if (ver >= 3)
        kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    if (ver <= 7)
        kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                    offset_fetch_resp_topic_io, ver);
    if (ver >= 2 && ver <= 7)
        kw_io_i16(io, "ErrorCode", &m->error_code);
    if (ver >= 8)
        kw_io_array(io, "Groups", &m->groups, &m->n_groups, sizeof(*m->groups),
                    offset_fetch_resp_group_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

const kw_msgdef kw_msg_offset_fetch_req = {
    "OffsetFetchRequest", 9, false, 1, 10, 6, sizeof(kw_offset_fetch_req), offset_fetch_req_io,
};
const kw_msgdef kw_msg_offset_fetch_resp = {
    "OffsetFetchResponse", 9, true, 1, 10, 6, sizeof(kw_offset_fetch_resp), offset_fetch_resp_io,
};

/* ---------------------------------------------------------------- ListGroups */

/* ListGroupsRequest v0-5. */
static void
list_groups_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_list_groups_req *m = p;
    if (ver >= 4)
        kw_io_array(io, "StatesFilter", &m->states_filter, &m->n_states_filter,
                    sizeof(*m->states_filter), kw_io_elem_str, ver);
    if (ver >= 5)
        kw_io_array(io, "TypesFilter", &m->types_filter, &m->n_types_filter,
                    sizeof(*m->types_filter), kw_io_elem_str, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ListGroupsResponse.Groups[] (ListedGroup) v0-5; v4+ GroupState; v5+ GroupType. */
static void
listed_group_io(kw_io *io, int16_t ver, void *p)
{
    kw_listed_group *m = p;
    kw_io_str(io, "GroupId", &m->group_id);
    kw_io_str(io, "ProtocolType", &m->protocol_type);
    if (ver >= 4)
        kw_io_str(io, "GroupState", &m->group_state);
    if (ver >= 5)
        kw_io_str(io, "GroupType", &m->group_type);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ListGroupsResponse v0-5. */
static void
list_groups_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_list_groups_resp *m = p;
    if (ver >= 1)
        kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_array(io, "Groups", &m->groups, &m->n_groups, sizeof(*m->groups), listed_group_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

const kw_msgdef kw_msg_list_groups_req = {
    "ListGroupsRequest", 16, false, 0, 5, 3, sizeof(kw_list_groups_req), list_groups_req_io,
};
const kw_msgdef kw_msg_list_groups_resp = {
    "ListGroupsResponse", 16, true, 0, 5, 3, sizeof(kw_list_groups_resp), list_groups_resp_io,
};

/* ---------------------------------------------------------------- DescribeGroups */

/* DescribeGroupsRequest v0-6. */
static void
describe_groups_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_describe_groups_req *m = p;
    kw_io_array(io, "Groups", &m->groups, &m->n_groups, sizeof(*m->groups), kw_io_elem_str, ver);
    if (ver >= 3)
        kw_io_bool(io, "IncludeAuthorizedOperations", &m->include_authorized_operations);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DescribeGroupsResponse.Groups[].Members[] (DescribedGroupMember) v0-6; v4+ GroupInstanceId. */
static void
described_group_member_io(kw_io *io, int16_t ver, void *p)
{
    kw_described_group_member *m = p;
    kw_io_str(io, "MemberId", &m->member_id);
    if (ver >= 4)
        kw_io_str(io, "GroupInstanceId", &m->group_instance_id);
    else if (kw_io_decoding(io))
        m->group_instance_id = KW_SLICE_NULL;
    kw_io_str(io, "ClientId", &m->client_id);
    kw_io_str(io, "ClientHost", &m->client_host);
    kw_io_bytes(io, "MemberMetadata", &m->member_metadata);
    kw_io_bytes(io, "MemberAssignment", &m->member_assignment);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DescribeGroupsResponse.Groups[] (DescribedGroup) v0-6; v3+ AuthorizedOperations; v6+
 * ErrorMessage. */
static void
described_group_io(kw_io *io, int16_t ver, void *p)
{
    kw_described_group *m = p;
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (ver >= 6)
        kw_io_str(io, "ErrorMessage", &m->error_message);
    else if (kw_io_decoding(io))
        m->error_message = KW_SLICE_NULL;
    kw_io_str(io, "GroupId", &m->group_id);
    kw_io_str(io, "GroupState", &m->group_state);
    kw_io_str(io, "ProtocolType", &m->protocol_type);
    kw_io_str(io, "ProtocolData", &m->protocol_data);
    kw_io_array(io, "Members", &m->members, &m->n_members, sizeof(*m->members),
                described_group_member_io, ver);
    if (ver >= 3)
        kw_io_i32(io, "AuthorizedOperations", &m->authorized_operations);
    else if (kw_io_decoding(io))
        m->authorized_operations = INT32_MIN;
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DescribeGroupsResponse v0-6. */
static void
describe_groups_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_describe_groups_resp *m = p;
    if (ver >= 1)
        kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_array(io, "Groups", &m->groups, &m->n_groups, sizeof(*m->groups), described_group_io,
                ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

const kw_msgdef kw_msg_describe_groups_req = {
    "DescribeGroupsRequest", 15, false, 0, 6, 5, sizeof(kw_describe_groups_req),
    describe_groups_req_io,
};
const kw_msgdef kw_msg_describe_groups_resp = {
    "DescribeGroupsResponse", 15, true, 0, 6, 5, sizeof(kw_describe_groups_resp),
    describe_groups_resp_io,
};

const kw_msgdef *const kwi_family_offsets[] = {
    &kw_msg_offset_commit_req,   &kw_msg_offset_commit_resp,   &kw_msg_offset_fetch_req,
    &kw_msg_offset_fetch_resp,   &kw_msg_list_groups_req,      &kw_msg_list_groups_resp,
    &kw_msg_describe_groups_req, &kw_msg_describe_groups_resp, NULL,
};
