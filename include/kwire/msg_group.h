/* kwire: message structures, group family. Included through kwire/proto.h. */
#ifndef KWIRE_MSG_GROUP_H
#define KWIRE_MSG_GROUP_H

#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* HeartbeatRequest (API 12) v0-4; v3+ GroupInstanceId; v4+ flexible. */
typedef struct kw_heartbeat_req {
    kw_slice group_id;
    int32_t generation_id;
    kw_slice member_id;
    kw_slice group_instance_id; /* v3+, default null */
    kw_tags unknown_tags;
} kw_heartbeat_req;

/* HeartbeatResponse (API 12) v0-4. */
typedef struct kw_heartbeat_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    kw_tags unknown_tags;
} kw_heartbeat_resp;

KW_API extern const kw_msgdef kw_msg_heartbeat_req;
KW_API extern const kw_msgdef kw_msg_heartbeat_resp;

/* ---------------------------------------------------------------- FindCoordinator (10) */

/* FindCoordinatorRequest (API 10) v0-6; v1+ KeyType; v0-3 Key, v4+ batched CoordinatorKeys
 * (KIP-699); v3+ flexible. */
typedef struct kw_find_coordinator_req {
    kw_slice key;               /* v0-3 */
    int8_t key_type;            /* v1+: 0 group, 1 transaction, 2 share */
    kw_slice *coordinator_keys; /* v4+ */
    int32_t n_coordinator_keys;
    kw_tags unknown_tags;
} kw_find_coordinator_req;

/* FindCoordinatorResponse.Coordinators[] (Coordinator) v4-6. */
typedef struct kw_find_coordinator_coordinator {
    kw_slice key;
    int32_t node_id;
    kw_slice host;
    int32_t port;
    int16_t error_code;
    kw_slice error_message; /* nullable */
    kw_tags unknown_tags;
} kw_find_coordinator_coordinator;

/* FindCoordinatorResponse (API 10) v0-6; v1+ ThrottleTimeMs; v0-3 one coordinator at the top
 * level (v1-3 ErrorMessage); v4+ Coordinators[] with a per-key error; v3+ flexible. */
typedef struct kw_find_coordinator_resp {
    int32_t throttle_time_ms;                      /* v1+ */
    int16_t error_code;                            /* v0-3 */
    kw_slice error_message;                        /* v1-3, nullable */
    int32_t node_id;                               /* v0-3 */
    kw_slice host;                                 /* v0-3 */
    int32_t port;                                  /* v0-3 */
    kw_find_coordinator_coordinator *coordinators; /* v4+ */
    int32_t n_coordinators;
    kw_tags unknown_tags;
} kw_find_coordinator_resp;

/* ---------------------------------------------------------------- JoinGroup (11) */

/* JoinGroupRequest.Protocols[] (JoinGroupRequestProtocol) v0-9. */
typedef struct kw_join_group_req_protocol {
    kw_slice name;
    kw_slice metadata; /* bytes: a ConsumerProtocolSubscription for "consumer" groups */
    kw_tags unknown_tags;
} kw_join_group_req_protocol;

/* JoinGroupRequest (API 11) v0-9; v1+ RebalanceTimeoutMs; v5+ GroupInstanceId (KIP-345);
 * v6+ flexible; v8+ Reason (KIP-800). */
typedef struct kw_join_group_req {
    kw_slice group_id;
    int32_t session_timeout_ms;
    int32_t rebalance_timeout_ms; /* v1+, default -1 */
    kw_slice member_id;
    kw_slice group_instance_id; /* v5+, default null */
    kw_slice protocol_type;
    kw_join_group_req_protocol *protocols;
    int32_t n_protocols;
    kw_slice reason; /* v8+, default null */
    kw_tags unknown_tags;
} kw_join_group_req;

/* JoinGroupResponse.Members[] (JoinGroupResponseMember) v0-9. */
typedef struct kw_join_group_resp_member {
    kw_slice member_id;
    kw_slice group_instance_id; /* v5+, default null */
    kw_slice metadata;          /* bytes */
    kw_tags unknown_tags;
} kw_join_group_resp_member;

/* JoinGroupResponse (API 11) v0-9; v2+ ThrottleTimeMs; v6+ flexible; v7+ ProtocolType (and
 * ProtocolName nullable, KIP-559); v9+ SkipAssignment. */
typedef struct kw_join_group_resp {
    int32_t throttle_time_ms; /* v2+ */
    int16_t error_code;
    int32_t generation_id;  /* schema default -1 */
    kw_slice protocol_type; /* v7+, default null */
    kw_slice protocol_name; /* nullable v7+ */
    kw_slice leader;
    bool skip_assignment; /* v9+ */
    kw_slice member_id;
    kw_join_group_resp_member *members;
    int32_t n_members;
    kw_tags unknown_tags;
} kw_join_group_resp;

/* ---------------------------------------------------------------- SyncGroup (14) */

/* SyncGroupRequest.Assignments[] (SyncGroupRequestAssignment) v0-5. */
typedef struct kw_sync_group_req_assignment {
    kw_slice member_id;
    kw_slice assignment; /* bytes: a ConsumerProtocolAssignment for "consumer" groups */
    kw_tags unknown_tags;
} kw_sync_group_req_assignment;

/* SyncGroupRequest (API 14) v0-5; v3+ GroupInstanceId; v4+ flexible; v5+ ProtocolType and
 * ProtocolName (KIP-559). */
typedef struct kw_sync_group_req {
    kw_slice group_id;
    int32_t generation_id;
    kw_slice member_id;
    kw_slice group_instance_id; /* v3+, default null */
    kw_slice protocol_type;     /* v5+, default null */
    kw_slice protocol_name;     /* v5+, default null */
    kw_sync_group_req_assignment *assignments;
    int32_t n_assignments;
    kw_tags unknown_tags;
} kw_sync_group_req;

/* SyncGroupResponse (API 14) v0-5; v1+ ThrottleTimeMs; v4+ flexible; v5+ ProtocolType and
 * ProtocolName. */
typedef struct kw_sync_group_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    kw_slice protocol_type; /* v5+, default null */
    kw_slice protocol_name; /* v5+, default null */
    kw_slice assignment;    /* bytes */
    kw_tags unknown_tags;
} kw_sync_group_resp;

/* ---------------------------------------------------------------- LeaveGroup (13) */

/* LeaveGroupRequest.Members[] (MemberIdentity) v3-5. */
typedef struct kw_leave_group_member_identity {
    kw_slice member_id;
    kw_slice group_instance_id; /* default null */
    kw_slice reason;            /* v5+, default null */
    kw_tags unknown_tags;
} kw_leave_group_member_identity;

/* LeaveGroupRequest (API 13) v0-5; v0-2 MemberId; v3+ batched Members[] (KIP-345); v4+
 * flexible; v5+ per-member Reason. */
typedef struct kw_leave_group_req {
    kw_slice group_id;
    kw_slice member_id;                      /* v0-2 */
    kw_leave_group_member_identity *members; /* v3+ */
    int32_t n_members;
    kw_tags unknown_tags;
} kw_leave_group_req;

/* LeaveGroupResponse.Members[] (MemberResponse) v3-5. */
typedef struct kw_leave_group_member_response {
    kw_slice member_id;
    kw_slice group_instance_id; /* nullable */
    int16_t error_code;
    kw_tags unknown_tags;
} kw_leave_group_member_response;

/* LeaveGroupResponse (API 13) v0-5; v1+ ThrottleTimeMs; v3+ Members[]; v4+ flexible. */
typedef struct kw_leave_group_resp {
    int32_t throttle_time_ms; /* v1+ */
    int16_t error_code;
    kw_leave_group_member_response *members; /* v3+ */
    int32_t n_members;
    kw_tags unknown_tags;
} kw_leave_group_resp;

/* ---------------------------------------------------------------- consumer embedded protocol */

/* ConsumerProtocolSubscription.OwnedPartitions[] and ConsumerProtocolAssignment
 * .AssignedPartitions[] (TopicPartition) v0-3. */
typedef struct kw_consumer_protocol_topic_partition {
    kw_slice topic;
    int32_t *partitions;
    int32_t n_partitions;
} kw_consumer_protocol_topic_partition;

/* ConsumerProtocolSubscription (data, the "consumer" JoinGroup protocol metadata) v0-3; never
 * flexible; v1+ OwnedPartitions; v2+ GenerationId; v3+ RackId. */
typedef struct kw_consumer_protocol_subscription {
    kw_slice *topics;
    int32_t n_topics;
    kw_slice user_data;                                     /* nullable bytes, default null */
    kw_consumer_protocol_topic_partition *owned_partitions; /* v1+ */
    int32_t n_owned_partitions;
    int32_t generation_id; /* v2+, default -1 */
    kw_slice rack_id;      /* v3+, default null */
} kw_consumer_protocol_subscription;

/* ConsumerProtocolAssignment (data, the "consumer" SyncGroup assignment) v0-3; never flexible;
 * the same fields in every version. */
typedef struct kw_consumer_protocol_assignment {
    kw_consumer_protocol_topic_partition *assigned_partitions;
    int32_t n_assigned_partitions;
    kw_slice user_data; /* nullable bytes, default null */
} kw_consumer_protocol_assignment;

/** @brief Decode a ConsumerProtocolSubscription or ConsumerProtocolAssignment with the int16
 *  version that Java writes in front of it (the whole of JoinGroup Protocols[].Metadata /
 *  SyncGroup Assignment bytes).
 *
 *  Lenient like Java's ConsumerProtocol: a version above 3 is decoded as v3 (newer versions
 *  only append fields), bytes after the known fields are skipped, and when the data ends
 *  exactly where a field of v1+ would begin, that field and the rest take their defaults
 *  (@platformatic/kafka 1.35 sends version 1 with only the v0 fields). A field cut in the
 *  middle is still KW_ERR_TRUNCATED.
 *  @param d     &kw_msg_consumer_protocol_subscription or &kw_msg_consumer_protocol_assignment
 *               (anything else is KW_ERR_INVALID_ARG)
 *  @param r     cursor over exactly the embedded bytes; left at its end on success
 *  @param arena arrays come from here; strings and bytes borrow r's buffer
 *  @param out   the structure (zeroed first)
 *  @param ver_out NULL, or receives the version decoded as (the wire version capped at 3), so
 *               a decode→encode round trip can reuse it
 *  @return KW_ERR_OK, KW_ERR_UNSUPPORTED_VERSION for a negative version, or the cursor's error */
KW_API kw_err kw_consumer_protocol_decode(const kw_msgdef *d, kw_rd *r, kw_arena *arena, void *out,
                                          int16_t *ver_out);
/** @brief Encode a ConsumerProtocolSubscription or ConsumerProtocolAssignment preceded by its
 *  int16 version, as Java writes it. Versions outside 0-3 are KW_ERR_UNSUPPORTED_VERSION and
 *  write nothing.
 *  @return KW_ERR_OK or the writer's error */
KW_API kw_err kw_consumer_protocol_encode(const kw_msgdef *d, int16_t ver, kw_wr *w, const void *m);

KW_API extern const kw_msgdef kw_msg_find_coordinator_req;
KW_API extern const kw_msgdef kw_msg_find_coordinator_resp;
KW_API extern const kw_msgdef kw_msg_join_group_req;
KW_API extern const kw_msgdef kw_msg_join_group_resp;
KW_API extern const kw_msgdef kw_msg_sync_group_req;
KW_API extern const kw_msgdef kw_msg_sync_group_resp;
KW_API extern const kw_msgdef kw_msg_leave_group_req;
KW_API extern const kw_msgdef kw_msg_leave_group_resp;
KW_API extern const kw_msgdef kw_msg_consumer_protocol_subscription;
KW_API extern const kw_msgdef kw_msg_consumer_protocol_assignment;

#ifdef __cplusplus
}
#endif
#endif
