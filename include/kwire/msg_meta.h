/* kwire: message structures, meta family. Included through kwire/proto.h. */
#ifndef KWIRE_MSG_META_H
#define KWIRE_MSG_META_H

#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- ApiVersions (18) */

/* ApiVersionsRequest (API 18) v0-4; v3+ client software name/version; v3+ flexible. */
typedef struct kw_api_versions_req {
    kw_slice client_software_name;    /* v3+ */
    kw_slice client_software_version; /* v3+ */
    kw_tags unknown_tags;
} kw_api_versions_req;

/* ApiVersionsResponse.ApiKeys[] (ApiVersion) v0-4. */
typedef struct kw_api_version {
    int16_t api_key;
    int16_t min_version;
    int16_t max_version;
    kw_tags unknown_tags;
} kw_api_version;

/* ApiVersionsResponse.SupportedFeatures[] (SupportedFeatureKey) v3-4. */
typedef struct kw_supported_feature_key {
    kw_slice name;
    int16_t min_version;
    int16_t max_version;
    kw_tags unknown_tags;
} kw_supported_feature_key;

/* ApiVersionsResponse.FinalizedFeatures[] (FinalizedFeatureKey) v3-4. */
typedef struct kw_finalized_feature_key {
    kw_slice name;
    int16_t max_version_level;
    int16_t min_version_level;
    kw_tags unknown_tags;
} kw_finalized_feature_key;

/* ApiVersionsResponse (API 18) v0-4; v1+ ThrottleTimeMs; v3+ flexible with tagged
 * SupportedFeatures (0), FinalizedFeaturesEpoch (1), FinalizedFeatures (2), ZkMigrationReady (3).
 * The response header is always v0. */
typedef struct kw_api_versions_resp {
    int16_t error_code;
    kw_api_version *api_keys;
    int32_t n_api_keys;
    int32_t throttle_time_ms;                     /* v1+ */
    kw_supported_feature_key *supported_features; /* v3+, tag 0 */
    int32_t n_supported_features;
    int64_t finalized_features_epoch;             /* v3+, tag 1, default -1 */
    kw_finalized_feature_key *finalized_features; /* v3+, tag 2 */
    int32_t n_finalized_features;
    bool zk_migration_ready; /* v3+, tag 3 */
    kw_tags unknown_tags;
} kw_api_versions_resp;

/* ---------------------------------------------------------------- Metadata (3) */

/* MetadataRequest.Topics[] (MetadataRequestTopic) v0-13; v10+ TopicId; Name nullable v10+. */
typedef struct kw_metadata_req_topic {
    kw_uuid topic_id; /* v10+ */
    kw_slice name;
    kw_tags unknown_tags;
} kw_metadata_req_topic;

/* MetadataRequest (API 3) v0-13; Topics nullable v1+ (v0: empty = all topics; v1+: null =
 * all, empty = none: a caller concern); v4+ AllowAutoTopicCreation; v8-10
 * IncludeClusterAuthorizedOperations; v8+ IncludeTopicAuthorizedOperations; v9+ flexible. */
typedef struct kw_metadata_req {
    kw_metadata_req_topic *topics; /* n_topics -1 = null (v1+) */
    int32_t n_topics;
    bool allow_auto_topic_creation;             /* v4+, default true */
    bool include_cluster_authorized_operations; /* v8-10 */
    bool include_topic_authorized_operations;   /* v8+ */
    kw_tags unknown_tags;
} kw_metadata_req;

/* MetadataResponse.Brokers[] (MetadataResponseBroker) v0-13; v1+ Rack. */
typedef struct kw_metadata_resp_broker {
    int32_t node_id;
    kw_slice host;
    int32_t port;
    kw_slice rack; /* v1+, default null */
    kw_tags unknown_tags;
} kw_metadata_resp_broker;

/* MetadataResponse.Topics[].Partitions[] (MetadataResponsePartition) v0-13; v5+ OfflineReplicas;
 * v7+ LeaderEpoch. */
typedef struct kw_metadata_resp_partition {
    int16_t error_code;
    int32_t partition_index;
    int32_t leader_id;
    int32_t leader_epoch; /* v7+, default -1 */
    int32_t *replica_nodes;
    int32_t n_replica_nodes;
    int32_t *isr_nodes;
    int32_t n_isr_nodes;
    int32_t *offline_replicas; /* v5+ */
    int32_t n_offline_replicas;
    kw_tags unknown_tags;
} kw_metadata_resp_partition;

/* MetadataResponse.Topics[] (MetadataResponseTopic) v0-13; v1+ IsInternal; v8+
 * TopicAuthorizedOperations; v10+ TopicId; Name nullable v12+. */
typedef struct kw_metadata_resp_topic {
    int16_t error_code;
    kw_slice name;
    kw_uuid topic_id; /* v10+ */
    bool is_internal; /* v1+ */
    kw_metadata_resp_partition *partitions;
    int32_t n_partitions;
    int32_t topic_authorized_operations; /* v8+, default INT32_MIN */
    kw_tags unknown_tags;
} kw_metadata_resp_topic;

/* MetadataResponse (API 3) v0-13; v1+ ControllerId; v2+ ClusterId; v3+ ThrottleTimeMs; v8-10
 * ClusterAuthorizedOperations; v9+ flexible; v13+ top-level ErrorCode. */
typedef struct kw_metadata_resp {
    int32_t throttle_time_ms; /* v3+ */
    kw_metadata_resp_broker *brokers;
    int32_t n_brokers;
    kw_slice cluster_id;   /* v2+, default null */
    int32_t controller_id; /* v1+, default -1 */
    kw_metadata_resp_topic *topics;
    int32_t n_topics;
    int32_t cluster_authorized_operations; /* v8-10, default INT32_MIN */
    int16_t error_code;                    /* v13+ */
    kw_tags unknown_tags;
} kw_metadata_resp;

/* ---------------------------------------------------------------- DescribeCluster (60) */

/* DescribeClusterRequest (API 60) v0-2; v1+ EndpointType; v2+ IncludeFencedBrokers;
 * always flexible. */
typedef struct kw_describe_cluster_req {
    bool include_cluster_authorized_operations;
    int8_t endpoint_type;        /* v1+, default 1 */
    bool include_fenced_brokers; /* v2+ */
    kw_tags unknown_tags;
} kw_describe_cluster_req;

/* DescribeClusterResponse.Brokers[] (DescribeClusterBroker) v0-2; v2+ IsFenced. */
typedef struct kw_describe_cluster_broker {
    int32_t broker_id;
    kw_slice host;
    int32_t port;
    kw_slice rack;  /* default null */
    bool is_fenced; /* v2+ */
    kw_tags unknown_tags;
} kw_describe_cluster_broker;

/* DescribeClusterResponse (API 60) v0-2; v1+ EndpointType; always flexible. */
typedef struct kw_describe_cluster_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    kw_slice error_message; /* default null */
    int8_t endpoint_type;   /* v1+, default 1 */
    kw_slice cluster_id;
    int32_t controller_id; /* default -1 */
    kw_describe_cluster_broker *brokers;
    int32_t n_brokers;
    int32_t cluster_authorized_operations; /* default INT32_MIN */
    kw_tags unknown_tags;
} kw_describe_cluster_resp;

/* ---------------------------------------------------------------- SaslHandshake (17) */

/* SaslHandshakeRequest (API 17) v0-1; never flexible (v1: use SaslAuthenticate). */
typedef struct kw_sasl_handshake_req {
    kw_slice mechanism;
} kw_sasl_handshake_req;

/* SaslHandshakeResponse (API 17) v0-1; never flexible. */
typedef struct kw_sasl_handshake_resp {
    int16_t error_code;
    kw_slice *mechanisms;
    int32_t n_mechanisms;
} kw_sasl_handshake_resp;

/* ---------------------------------------------------------------- SaslAuthenticate (36) */

/* SaslAuthenticateRequest (API 36) v0-2; v2+ flexible. */
typedef struct kw_sasl_authenticate_req {
    kw_slice auth_bytes;
    kw_tags unknown_tags;
} kw_sasl_authenticate_req;

/* SaslAuthenticateResponse (API 36) v0-2; v1+ SessionLifetimeMs; v2+ flexible. */
typedef struct kw_sasl_authenticate_resp {
    int16_t error_code;
    kw_slice error_message;
    kw_slice auth_bytes;
    int64_t session_lifetime_ms; /* v1+ */
    kw_tags unknown_tags;
} kw_sasl_authenticate_resp;

KW_API extern const kw_msgdef kw_msg_api_versions_req;
KW_API extern const kw_msgdef kw_msg_api_versions_resp;
KW_API extern const kw_msgdef kw_msg_metadata_req;
KW_API extern const kw_msgdef kw_msg_metadata_resp;
KW_API extern const kw_msgdef kw_msg_describe_cluster_req;
KW_API extern const kw_msgdef kw_msg_describe_cluster_resp;
KW_API extern const kw_msgdef kw_msg_sasl_handshake_req;
KW_API extern const kw_msgdef kw_msg_sasl_handshake_resp;
KW_API extern const kw_msgdef kw_msg_sasl_authenticate_req;
KW_API extern const kw_msgdef kw_msg_sasl_authenticate_resp;

#ifdef __cplusplus
}
#endif
#endif
