/* kwire: message structures, admin family. Included through kwire/proto.h. */
#ifndef KWIRE_MSG_ADMIN_H
#define KWIRE_MSG_ADMIN_H

#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- CreateTopics (19) */

/* CreateTopicsRequest.Topics[].Assignments[] (CreatableReplicaAssignment) v2-7. */
typedef struct kw_creatable_replica_assignment {
    int32_t partition_index;
    int32_t *broker_ids;
    int32_t n_broker_ids;
    kw_tags unknown_tags;
} kw_creatable_replica_assignment;

/* CreateTopicsRequest.Topics[].Configs[] (CreatableTopicConfig) v2-7. */
typedef struct kw_creatable_topic_config {
    kw_slice name;
    kw_slice value; /* nullable */
    kw_tags unknown_tags;
} kw_creatable_topic_config;

/* CreateTopicsRequest.Topics[] (CreatableTopic) v2-7. NumPartitions and ReplicationFactor may
 * be -1 (broker default, v4+) or -1 with manual Assignments. */
typedef struct kw_creatable_topic {
    kw_slice name;
    int32_t num_partitions;
    int16_t replication_factor;
    kw_creatable_replica_assignment *assignments;
    int32_t n_assignments;
    kw_creatable_topic_config *configs;
    int32_t n_configs;
    kw_tags unknown_tags;
} kw_creatable_topic;

/* CreateTopicsRequest (API 19) v2-7; v5+ flexible. */
typedef struct kw_create_topics_req {
    kw_creatable_topic *topics;
    int32_t n_topics;
    int32_t timeout_ms; /* schema default 60000 */
    bool validate_only;
    kw_tags unknown_tags;
} kw_create_topics_req;

/* CreateTopicsResponse.Topics[].Configs[] (CreatableTopicConfigs) v5-7. */
typedef struct kw_creatable_topic_configs {
    kw_slice name;
    kw_slice value; /* nullable */
    bool read_only;
    int8_t config_source; /* default -1 */
    bool is_sensitive;
    kw_tags unknown_tags;
} kw_creatable_topic_configs;

/* CreateTopicsResponse.Topics[] (CreatableTopicResult) v2-7; v5+ NumPartitions,
 * ReplicationFactor, Configs and tagged TopicConfigErrorCode (tag 0); v7+ TopicId. */
typedef struct kw_creatable_topic_result {
    kw_slice name;
    kw_uuid topic_id; /* v7+ */
    int16_t error_code;
    kw_slice error_message;              /* nullable */
    int16_t topic_config_error_code;     /* v5+, tag 0 */
    int32_t num_partitions;              /* v5+, default -1 */
    int16_t replication_factor;          /* v5+, default -1 */
    kw_creatable_topic_configs *configs; /* v5+, nullable */
    int32_t n_configs;
    kw_tags unknown_tags;
} kw_creatable_topic_result;

/* CreateTopicsResponse (API 19) v2-7; v5+ flexible. */
typedef struct kw_create_topics_resp {
    int32_t throttle_time_ms;
    kw_creatable_topic_result *topics;
    int32_t n_topics;
    kw_tags unknown_tags;
} kw_create_topics_resp;

KW_API extern const kw_msgdef kw_msg_create_topics_req;
KW_API extern const kw_msgdef kw_msg_create_topics_resp;

/* ---------------------------------------------------------------- DeleteTopics (20) */

/* DeleteTopicsRequest.Topics[] (DeleteTopicState) v6. */
typedef struct kw_delete_topic_state {
    kw_slice name; /* nullable, default null */
    kw_uuid topic_id;
    kw_tags unknown_tags;
} kw_delete_topic_state;

/* DeleteTopicsRequest (API 20) v1-6; v4+ flexible; v1-5 TopicNames[], v6+ Topics[] (by name
 * or id). */
typedef struct kw_delete_topics_req {
    kw_delete_topic_state *topics; /* v6+ */
    int32_t n_topics;
    kw_slice *topic_names; /* v1-5 */
    int32_t n_topic_names;
    int32_t timeout_ms;
    kw_tags unknown_tags;
} kw_delete_topics_req;

/* DeleteTopicsResponse.Responses[] (DeletableTopicResult) v1-6; v5+ ErrorMessage; v6+
 * TopicId and a nullable Name. */
typedef struct kw_deletable_topic_result {
    kw_slice name;    /* nullable v6+ */
    kw_uuid topic_id; /* v6+ */
    int16_t error_code;
    kw_slice error_message; /* v5+, default null */
    kw_tags unknown_tags;
} kw_deletable_topic_result;

/* DeleteTopicsResponse (API 20) v1-6; v4+ flexible. */
typedef struct kw_delete_topics_resp {
    int32_t throttle_time_ms;
    kw_deletable_topic_result *responses;
    int32_t n_responses;
    kw_tags unknown_tags;
} kw_delete_topics_resp;

KW_API extern const kw_msgdef kw_msg_delete_topics_req;
KW_API extern const kw_msgdef kw_msg_delete_topics_resp;

/* ---------------------------------------------------------------- CreatePartitions (37) */

/* CreatePartitionsRequest.Topics[].Assignments[] (CreatePartitionsAssignment) v0-3. */
typedef struct kw_create_partitions_assignment {
    int32_t *broker_ids;
    int32_t n_broker_ids;
    kw_tags unknown_tags;
} kw_create_partitions_assignment;

/* CreatePartitionsRequest.Topics[] (CreatePartitionsTopic) v0-3. */
typedef struct kw_create_partitions_topic {
    kw_slice name;
    int32_t count;
    kw_create_partitions_assignment *assignments; /* nullable */
    int32_t n_assignments;
    kw_tags unknown_tags;
} kw_create_partitions_topic;

/* CreatePartitionsRequest (API 37) v0-3; v2+ flexible. */
typedef struct kw_create_partitions_req {
    kw_create_partitions_topic *topics;
    int32_t n_topics;
    int32_t timeout_ms;
    bool validate_only;
    kw_tags unknown_tags;
} kw_create_partitions_req;

/* CreatePartitionsResponse.Results[] (CreatePartitionsTopicResult) v0-3. */
typedef struct kw_create_partitions_topic_result {
    kw_slice name;
    int16_t error_code;
    kw_slice error_message; /* nullable, default null */
    kw_tags unknown_tags;
} kw_create_partitions_topic_result;

/* CreatePartitionsResponse (API 37) v0-3; v2+ flexible. */
typedef struct kw_create_partitions_resp {
    int32_t throttle_time_ms;
    kw_create_partitions_topic_result *results;
    int32_t n_results;
    kw_tags unknown_tags;
} kw_create_partitions_resp;

KW_API extern const kw_msgdef kw_msg_create_partitions_req;
KW_API extern const kw_msgdef kw_msg_create_partitions_resp;

/* ---------------------------------------------------------------- DescribeConfigs (32) */

/* DescribeConfigsRequest.Resources[] (DescribeConfigsResource) v1-4. */
typedef struct kw_describe_configs_resource {
    int8_t resource_type;
    kw_slice resource_name;
    kw_slice *configuration_keys; /* nullable: null = all keys */
    int32_t n_configuration_keys;
    kw_tags unknown_tags;
} kw_describe_configs_resource;

/* DescribeConfigsRequest (API 32) v1-4; v3+ IncludeDocumentation; v4+ flexible. */
typedef struct kw_describe_configs_req {
    kw_describe_configs_resource *resources;
    int32_t n_resources;
    bool include_synonyms;
    bool include_documentation; /* v3+ */
    kw_tags unknown_tags;
} kw_describe_configs_req;

/* DescribeConfigsResponse.Results[].Configs[].Synonyms[] (DescribeConfigsSynonym) v1-4. */
typedef struct kw_describe_configs_synonym {
    kw_slice name;
    kw_slice value; /* nullable */
    int8_t source;
    kw_tags unknown_tags;
} kw_describe_configs_synonym;

/* DescribeConfigsResponse.Results[].Configs[] (DescribeConfigsResourceResult) v1-4; v3+
 * ConfigType and Documentation. */
typedef struct kw_describe_configs_resource_result {
    kw_slice name;
    kw_slice value; /* nullable */
    bool read_only;
    int8_t config_source; /* default -1 */
    bool is_sensitive;
    kw_describe_configs_synonym *synonyms;
    int32_t n_synonyms;
    int8_t config_type;     /* v3+ */
    kw_slice documentation; /* v3+, nullable */
    kw_tags unknown_tags;
} kw_describe_configs_resource_result;

/* DescribeConfigsResponse.Results[] (DescribeConfigsResult) v1-4. */
typedef struct kw_describe_configs_result {
    int16_t error_code;
    kw_slice error_message; /* nullable */
    int8_t resource_type;
    kw_slice resource_name;
    kw_describe_configs_resource_result *configs;
    int32_t n_configs;
    kw_tags unknown_tags;
} kw_describe_configs_result;

/* DescribeConfigsResponse (API 32) v1-4; v4+ flexible. */
typedef struct kw_describe_configs_resp {
    int32_t throttle_time_ms;
    kw_describe_configs_result *results;
    int32_t n_results;
    kw_tags unknown_tags;
} kw_describe_configs_resp;

KW_API extern const kw_msgdef kw_msg_describe_configs_req;
KW_API extern const kw_msgdef kw_msg_describe_configs_resp;

#ifdef __cplusplus
}
#endif
#endif
