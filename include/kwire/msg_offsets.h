/* kwire: message structures, offsets family. Included through kwire/proto.h. */
#ifndef KWIRE_MSG_OFFSETS_H
#define KWIRE_MSG_OFFSETS_H

#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- OffsetCommit (8) */

/* OffsetCommitRequest.Topics[].Partitions[] (OffsetCommitRequestPartition) v2-10. */
typedef struct kw_offset_commit_req_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch; /* v6+, default -1 */
    kw_slice committed_metadata;    /* nullable */
    kw_tags unknown_tags;
} kw_offset_commit_req_partition;

/* OffsetCommitRequest.Topics[] (OffsetCommitRequestTopic) v2-10; Name v2-9, TopicId v10+. */
typedef struct kw_offset_commit_req_topic {
    kw_slice name;    /* v2-9 */
    kw_uuid topic_id; /* v10+ */
    kw_offset_commit_req_partition *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_offset_commit_req_topic;

/* OffsetCommitRequest (API 8) v2-10; v2-4 RetentionTimeMs; v7+ GroupInstanceId; v8+ flexible;
 * v10 (unstable in 4.1) topic ids instead of names. */
typedef struct kw_offset_commit_req {
    kw_slice group_id;
    int32_t generation_id_or_member_epoch; /* default -1 */
    kw_slice member_id;
    kw_slice group_instance_id; /* v7+, default null */
    int64_t retention_time_ms;  /* v2-4, default -1 */
    kw_offset_commit_req_topic *topics;
    int32_t n_topics;
    kw_tags unknown_tags;
} kw_offset_commit_req;

/* OffsetCommitResponse.Topics[].Partitions[] (OffsetCommitResponsePartition) v2-10. */
typedef struct kw_offset_commit_resp_partition {
    int32_t partition_index;
    int16_t error_code;
    kw_tags unknown_tags;
} kw_offset_commit_resp_partition;

/* OffsetCommitResponse.Topics[] (OffsetCommitResponseTopic) v2-10; Name v2-9, TopicId v10+. */
typedef struct kw_offset_commit_resp_topic {
    kw_slice name;    /* v2-9 */
    kw_uuid topic_id; /* v10+ */
    kw_offset_commit_resp_partition *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_offset_commit_resp_topic;

/* OffsetCommitResponse (API 8) v2-10; v3+ ThrottleTimeMs; v8+ flexible; v10 topic ids. */
typedef struct kw_offset_commit_resp {
    int32_t throttle_time_ms; /* v3+ */
    kw_offset_commit_resp_topic *topics;
    int32_t n_topics;
    kw_tags unknown_tags;
} kw_offset_commit_resp;

KW_API extern const kw_msgdef kw_msg_offset_commit_req;
KW_API extern const kw_msgdef kw_msg_offset_commit_resp;

/* ---------------------------------------------------------------- OffsetFetch (9) */

/* A topic of an OffsetFetchRequest: both the v1-7 top-level Topics[] (OffsetFetchRequestTopic:
 * Name, PartitionIndexes) and the v8+ Groups[].Topics[] (OffsetFetchRequestTopics: Name v8-9,
 * TopicId v10+, PartitionIndexes), so one type serves every version. */
typedef struct kw_offset_fetch_req_topic {
    kw_slice name;    /* v1-9 */
    kw_uuid topic_id; /* v10+ (group form only) */
    int32_t *partition_indexes;
    int32_t n_partition_indexes;
    kw_tags unknown_tags;
} kw_offset_fetch_req_topic;

/* OffsetFetchRequest.Groups[] (OffsetFetchRequestGroup) v8-10. */
typedef struct kw_offset_fetch_req_group {
    kw_slice group_id;
    kw_slice member_id;                /* v9+, default null */
    int32_t member_epoch;              /* v9+, default -1 */
    kw_offset_fetch_req_topic *topics; /* nullable: null = all topics */
    int32_t n_topics;
    kw_tags unknown_tags;
} kw_offset_fetch_req_group;

/* OffsetFetchRequest (API 9) v1-10; v1-7 the single-group form (GroupId, Topics, nullable from
 * v2 for "all topics"); v6+ flexible; v7+ RequireStable; v8+ the Groups[] form; v9 member
 * id/epoch (KIP-848); v10 (unstable in 4.1) topic ids. */
typedef struct kw_offset_fetch_req {
    kw_slice group_id;                 /* v1-7 */
    kw_offset_fetch_req_topic *topics; /* v1-7, nullable v2-7 */
    int32_t n_topics;
    kw_offset_fetch_req_group *groups; /* v8+ */
    int32_t n_groups;
    bool require_stable; /* v7+ */
    kw_tags unknown_tags;
} kw_offset_fetch_req;

/* A partition of an OffsetFetchResponse: the v1-7 OffsetFetchResponsePartition and the v8+
 * OffsetFetchResponsePartitions have the same fields (CommittedLeaderEpoch from v5). */
typedef struct kw_offset_fetch_resp_partition {
    int32_t partition_index;
    int64_t committed_offset;
    int32_t committed_leader_epoch; /* v5+, default -1 */
    kw_slice metadata;              /* nullable */
    int16_t error_code;
    kw_tags unknown_tags;
} kw_offset_fetch_resp_partition;

/* A topic of an OffsetFetchResponse: the v1-7 OffsetFetchResponseTopic (Name) and the v8+
 * OffsetFetchResponseTopics (Name v8-9, TopicId v10+). */
typedef struct kw_offset_fetch_resp_topic {
    kw_slice name;    /* v1-9 */
    kw_uuid topic_id; /* v10+ */
    kw_offset_fetch_resp_partition *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_offset_fetch_resp_topic;

/* OffsetFetchResponse.Groups[] (OffsetFetchResponseGroup) v8-10. */
typedef struct kw_offset_fetch_resp_group {
    kw_slice group_id;
    kw_offset_fetch_resp_topic *topics;
    int32_t n_topics;
    int16_t error_code;
    kw_tags unknown_tags;
} kw_offset_fetch_resp_group;

/* OffsetFetchResponse (API 9) v1-10; v1-7 Topics[] (+ v2-7 top-level ErrorCode); v3+
 * ThrottleTimeMs; v6+ flexible; v8+ Groups[] with per-group errors; v10 topic ids. */
typedef struct kw_offset_fetch_resp {
    int32_t throttle_time_ms;           /* v3+ */
    kw_offset_fetch_resp_topic *topics; /* v1-7 */
    int32_t n_topics;
    int16_t error_code;                 /* v2-7 */
    kw_offset_fetch_resp_group *groups; /* v8+ */
    int32_t n_groups;
    kw_tags unknown_tags;
} kw_offset_fetch_resp;

KW_API extern const kw_msgdef kw_msg_offset_fetch_req;
KW_API extern const kw_msgdef kw_msg_offset_fetch_resp;

/* ---------------------------------------------------------------- ListGroups (16) */

/* ListGroupsRequest (API 16) v0-5; v3+ flexible; v4+ StatesFilter; v5+ TypesFilter. */
typedef struct kw_list_groups_req {
    kw_slice *states_filter; /* v4+ */
    int32_t n_states_filter;
    kw_slice *types_filter; /* v5+ */
    int32_t n_types_filter;
    kw_tags unknown_tags;
} kw_list_groups_req;

/* ListGroupsResponse.Groups[] (ListedGroup) v0-5. */
typedef struct kw_listed_group {
    kw_slice group_id;
    kw_slice protocol_type;
    kw_slice group_state; /* v4+ */
    kw_slice group_type;  /* v5+ */
    kw_tags unknown_tags;
} kw_listed_group;

/* ListGroupsResponse (API 16) v0-5; v1+ ThrottleTimeMs; v3+ flexible. */
typedef struct kw_list_groups_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    kw_listed_group *groups;
    int32_t n_groups;
    kw_tags unknown_tags;
} kw_list_groups_resp;

KW_API extern const kw_msgdef kw_msg_list_groups_req;
KW_API extern const kw_msgdef kw_msg_list_groups_resp;

/* ---------------------------------------------------------------- DescribeGroups (15) */

/* DescribeGroupsRequest (API 15) v0-6; v3+ IncludeAuthorizedOperations; v5+ flexible. */
typedef struct kw_describe_groups_req {
    kw_slice *groups;
    int32_t n_groups;
    bool include_authorized_operations; /* v3+ */
    kw_tags unknown_tags;
} kw_describe_groups_req;

/* DescribeGroupsResponse.Groups[].Members[] (DescribedGroupMember) v0-6. */
typedef struct kw_described_group_member {
    kw_slice member_id;
    kw_slice group_instance_id; /* v4+, default null */
    kw_slice client_id;
    kw_slice client_host;
    kw_slice member_metadata;   /* bytes */
    kw_slice member_assignment; /* bytes */
    kw_tags unknown_tags;
} kw_described_group_member;

/* DescribeGroupsResponse.Groups[] (DescribedGroup) v0-6. */
typedef struct kw_described_group {
    int16_t error_code;
    kw_slice error_message; /* v6+, default null */
    kw_slice group_id;
    kw_slice group_state;
    kw_slice protocol_type;
    kw_slice protocol_data;
    kw_described_group_member *members;
    int32_t n_members;
    int32_t authorized_operations; /* v3+, default INT32_MIN */
    kw_tags unknown_tags;
} kw_described_group;

/* DescribeGroupsResponse (API 15) v0-6; v1+ ThrottleTimeMs; v3+ AuthorizedOperations; v4+
 * member GroupInstanceId; v5+ flexible; v6+ per-group ErrorMessage (KIP-1043). */
typedef struct kw_describe_groups_resp {
    int32_t throttle_time_ms; /* v1+ */
    kw_described_group *groups;
    int32_t n_groups;
    kw_tags unknown_tags;
} kw_describe_groups_resp;

KW_API extern const kw_msgdef kw_msg_describe_groups_req;
KW_API extern const kw_msgdef kw_msg_describe_groups_resp;

#ifdef __cplusplus
}
#endif
#endif
