/* kwire: message structures, kip848 family (the KIP-848 consumer group protocol). Included
 * through kwire/proto.h. */
#ifndef KWIRE_MSG_KIP848_H
#define KWIRE_MSG_KIP848_H

#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- ConsumerGroupHeartbeat (68) */

/* ConsumerGroupHeartbeatRequest.TopicPartitions[] and ConsumerGroupHeartbeatResponse
 * .Assignment.TopicPartitions[] (TopicPartitions) v0-1. */
typedef struct kw_consumer_group_heartbeat_topic_partitions {
    kw_uuid topic_id;
    int32_t *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_consumer_group_heartbeat_topic_partitions;

/* ConsumerGroupHeartbeatRequest (API 68) v0-1; v1+ SubscribedTopicRegex; always flexible.
 * Nullable fields are null when unchanged since the last heartbeat. */
typedef struct kw_consumer_group_heartbeat_req {
    kw_slice group_id;
    kw_slice member_id;
    int32_t member_epoch;
    kw_slice instance_id;             /* default null */
    kw_slice rack_id;                 /* default null */
    int32_t rebalance_timeout_ms;     /* default -1 */
    kw_slice *subscribed_topic_names; /* n -1 = null (the default) */
    int32_t n_subscribed_topic_names;
    kw_slice subscribed_topic_regex;                                /* v1+, default null */
    kw_slice server_assignor;                                       /* default null */
    kw_consumer_group_heartbeat_topic_partitions *topic_partitions; /* n -1 = null (default) */
    int32_t n_topic_partitions;
    kw_tags unknown_tags;
} kw_consumer_group_heartbeat_req;

/* ConsumerGroupHeartbeatResponse.Assignment (Assignment) v0-1. */
typedef struct kw_consumer_group_heartbeat_assignment {
    kw_consumer_group_heartbeat_topic_partitions *topic_partitions;
    int32_t n_topic_partitions;
    kw_tags unknown_tags;
} kw_consumer_group_heartbeat_assignment;

/* ConsumerGroupHeartbeatResponse (API 68) v0-1; always flexible; Assignment is a nullable
 * struct (has_assignment). */
typedef struct kw_consumer_group_heartbeat_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    kw_slice error_message; /* default null */
    kw_slice member_id;     /* default null */
    int32_t member_epoch;
    int32_t heartbeat_interval_ms;
    bool has_assignment; /* false = null (the default) */
    kw_consumer_group_heartbeat_assignment assignment;
    kw_tags unknown_tags;
} kw_consumer_group_heartbeat_resp;

/* ---------------------------------------------------------------- ConsumerGroupDescribe (69) */

/* ConsumerGroupDescribeRequest (API 69) v0-1; always flexible. */
typedef struct kw_consumer_group_describe_req {
    kw_slice *group_ids;
    int32_t n_group_ids;
    bool include_authorized_operations;
    kw_tags unknown_tags;
} kw_consumer_group_describe_req;

/* ConsumerGroupDescribeResponse ...Assignment.TopicPartitions[] (TopicPartitions) v0-1. */
typedef struct kw_consumer_group_describe_topic_partitions {
    kw_uuid topic_id;
    kw_slice topic_name;
    int32_t *partitions;
    int32_t n_partitions;
    kw_tags unknown_tags;
} kw_consumer_group_describe_topic_partitions;

/* ConsumerGroupDescribeResponse ...Members[].Assignment / .TargetAssignment (Assignment) v0-1. */
typedef struct kw_consumer_group_describe_assignment {
    kw_consumer_group_describe_topic_partitions *topic_partitions;
    int32_t n_topic_partitions;
    kw_tags unknown_tags;
} kw_consumer_group_describe_assignment;

/* ConsumerGroupDescribeResponse.Groups[].Members[] (Member) v0-1; v1+ MemberType. */
typedef struct kw_consumer_group_describe_member {
    kw_slice member_id;
    kw_slice instance_id; /* default null */
    kw_slice rack_id;     /* default null */
    int32_t member_epoch;
    kw_slice client_id;
    kw_slice client_host;
    kw_slice *subscribed_topic_names;
    int32_t n_subscribed_topic_names;
    kw_slice subscribed_topic_regex; /* default null */
    kw_consumer_group_describe_assignment assignment;
    kw_consumer_group_describe_assignment target_assignment;
    int8_t member_type; /* v1+, default -1 (-1 unknown, 0 classic, 1 consumer) */
    kw_tags unknown_tags;
} kw_consumer_group_describe_member;

/* ConsumerGroupDescribeResponse.Groups[] (DescribedGroup) v0-1. */
typedef struct kw_consumer_group_described_group {
    int16_t error_code;
    kw_slice error_message; /* default null */
    kw_slice group_id;
    kw_slice group_state;
    int32_t group_epoch;
    int32_t assignment_epoch;
    kw_slice assignor_name;
    kw_consumer_group_describe_member *members;
    int32_t n_members;
    int32_t authorized_operations; /* default INT32_MIN */
    kw_tags unknown_tags;
} kw_consumer_group_described_group;

/* ConsumerGroupDescribeResponse (API 69) v0-1; always flexible. */
typedef struct kw_consumer_group_describe_resp {
    int32_t throttle_time_ms;
    kw_consumer_group_described_group *groups;
    int32_t n_groups;
    kw_tags unknown_tags;
} kw_consumer_group_describe_resp;

KW_API extern const kw_msgdef kw_msg_consumer_group_heartbeat_req;
KW_API extern const kw_msgdef kw_msg_consumer_group_heartbeat_resp;
KW_API extern const kw_msgdef kw_msg_consumer_group_describe_req;
KW_API extern const kw_msgdef kw_msg_consumer_group_describe_resp;

#ifdef __cplusplus
}
#endif
#endif
