/* Walks for the admin family of messages: creating and deleting topics, adding partitions and
 * describing configurations. */
#include "kwire/proto.h"
#include "msgtab.h"

/* ---------------------------------------------------------------- CreateTopics */

/* CreateTopicsRequest.Topics[].Assignments[] (CreatableReplicaAssignment) v2-7. */
static void
creatable_replica_assignment_io(kw_io *io, int16_t ver, void *p)
{
    kw_creatable_replica_assignment *m = p;
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    kw_io_array(io, "BrokerIds", &m->broker_ids, &m->n_broker_ids, sizeof(*m->broker_ids),
                kw_io_elem_i32, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* CreateTopicsRequest.Topics[].Configs[] (CreatableTopicConfig) v2-7. */
static void
creatable_topic_config_io(kw_io *io, int16_t ver, void *p)
{
    kw_creatable_topic_config *m = p;
    (void)ver;
    kw_io_str(io, "Name", &m->name);
    kw_io_str(io, "Value", &m->value);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* CreateTopicsRequest.Topics[] (CreatableTopic) v2-7. */
static void
creatable_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_creatable_topic *m = p;
    kw_io_str(io, "Name", &m->name);
    kw_io_i32(io, "NumPartitions", &m->num_partitions);
    kw_io_i16(io, "ReplicationFactor", &m->replication_factor);
    kw_io_array(io, "Assignments", &m->assignments, &m->n_assignments, sizeof(*m->assignments),
                creatable_replica_assignment_io, ver);
    kw_io_array(io, "Configs", &m->configs, &m->n_configs, sizeof(*m->configs),
                creatable_topic_config_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* CreateTopicsRequest v2-7. */
static void
create_topics_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_create_topics_req *m = p;
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics), creatable_topic_io,
                ver);
    kw_io_i32(io, "timeoutMs", &m->timeout_ms);
    kw_io_bool(io, "validateOnly", &m->validate_only);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* CreateTopicsResponse.Topics[].Configs[] (CreatableTopicConfigs) v5-7. */
static void
creatable_topic_configs_io(kw_io *io, int16_t ver, void *p)
{
    kw_creatable_topic_configs *m = p;
    (void)ver;
    kw_io_str(io, "Name", &m->name);
    kw_io_str(io, "Value", &m->value);
    kw_io_bool(io, "ReadOnly", &m->read_only);
    kw_io_i8(io, "ConfigSource", &m->config_source);
    kw_io_bool(io, "IsSensitive", &m->is_sensitive);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* CreateTopicsResponse.Topics[] (CreatableTopicResult) v2-7; v5+ NumPartitions,
 * ReplicationFactor, Configs and the tagged TopicConfigErrorCode (tag 0); v7+ TopicId. */
static void
creatable_topic_result_io(kw_io *io, int16_t ver, void *p)
{
    kw_creatable_topic_result *m = p;
    kw_io_str(io, "Name", &m->name);
    if (ver >= 7)
        kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_str(io, "ErrorMessage", &m->error_message);
    if (ver >= 5) {
        kw_io_i32(io, "NumPartitions", &m->num_partitions);
        kw_io_i16(io, "ReplicationFactor", &m->replication_factor);
        kw_io_array(io, "Configs", &m->configs, &m->n_configs, sizeof(*m->configs),
                    creatable_topic_configs_io, ver);
    } else if (kw_io_decoding(io)) {
        m->num_partitions = -1;
        m->replication_factor = -1;
    }
    if (io->flex) {
        kw_tagsec ts;
        kw_io_tags_begin(io, &ts);
        if (ver >= 5 && kw_io_tag(io, &ts, 0, m->topic_config_error_code != 0)) {
            kw_io_i16(io, "TopicConfigErrorCode", &m->topic_config_error_code);
            kw_io_tag_end(io, &ts);
        }
        kw_io_tags_end(io, &ts, &m->unknown_tags);
    }
}

/* CreateTopicsResponse v2-7. */
static void
create_topics_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_create_topics_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                creatable_topic_result_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

const kw_msgdef kw_msg_create_topics_req = {
    "CreateTopicsRequest", 19, false, 2, 7, 5, sizeof(kw_create_topics_req), create_topics_req_io,
};
const kw_msgdef kw_msg_create_topics_resp = {
    "CreateTopicsResponse", 19, true, 2, 7, 5, sizeof(kw_create_topics_resp), create_topics_resp_io,
};

/* ---------------------------------------------------------------- DeleteTopics */

/* DeleteTopicsRequest.Topics[] (DeleteTopicState) v6. */
static void
delete_topic_state_io(kw_io *io, int16_t ver, void *p)
{
    kw_delete_topic_state *m = p;
    (void)ver;
    kw_io_str(io, "Name", &m->name);
    kw_io_uuid(io, "TopicId", &m->topic_id);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DeleteTopicsRequest v1-6: TopicNames[] up to v5, Topics[] from v6. */
static void
delete_topics_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_delete_topics_req *m = p;
    if (ver >= 6)
        kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                    delete_topic_state_io, ver);
    if (ver <= 5)
        kw_io_array(io, "TopicNames", &m->topic_names, &m->n_topic_names, sizeof(*m->topic_names),
                    kw_io_elem_str, ver);
    kw_io_i32(io, "TimeoutMs", &m->timeout_ms);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DeleteTopicsResponse.Responses[] (DeletableTopicResult) v1-6; v5+ ErrorMessage; v6+ TopicId. */
static void
deletable_topic_result_io(kw_io *io, int16_t ver, void *p)
{
    kw_deletable_topic_result *m = p;
    kw_io_str(io, "Name", &m->name);
    if (ver >= 6)
        kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (ver >= 5)
        kw_io_str(io, "ErrorMessage", &m->error_message);
    else if (kw_io_decoding(io))
        m->error_message = KW_SLICE_NULL;
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DeleteTopicsResponse v1-6. */
static void
delete_topics_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_delete_topics_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_array(io, "Responses", &m->responses, &m->n_responses, sizeof(*m->responses),
                deletable_topic_result_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

const kw_msgdef kw_msg_delete_topics_req = {
    "DeleteTopicsRequest", 20, false, 1, 6, 4, sizeof(kw_delete_topics_req), delete_topics_req_io,
};
const kw_msgdef kw_msg_delete_topics_resp = {
    "DeleteTopicsResponse", 20, true, 1, 6, 4, sizeof(kw_delete_topics_resp), delete_topics_resp_io,
};

/* ---------------------------------------------------------------- CreatePartitions */

/* CreatePartitionsRequest.Topics[].Assignments[] (CreatePartitionsAssignment) v0-3. */
static void
create_partitions_assignment_io(kw_io *io, int16_t ver, void *p)
{
    kw_create_partitions_assignment *m = p;
    kw_io_array(io, "BrokerIds", &m->broker_ids, &m->n_broker_ids, sizeof(*m->broker_ids),
                kw_io_elem_i32, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* CreatePartitionsRequest.Topics[] (CreatePartitionsTopic) v0-3. */
static void
create_partitions_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_create_partitions_topic *m = p;
    kw_io_str(io, "Name", &m->name);
    kw_io_i32(io, "Count", &m->count);
    kw_io_array(io, "Assignments", &m->assignments, &m->n_assignments, sizeof(*m->assignments),
                create_partitions_assignment_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* CreatePartitionsRequest v0-3. */
static void
create_partitions_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_create_partitions_req *m = p;
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics),
                create_partitions_topic_io, ver);
    kw_io_i32(io, "TimeoutMs", &m->timeout_ms);
    kw_io_bool(io, "ValidateOnly", &m->validate_only);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* CreatePartitionsResponse.Results[] (CreatePartitionsTopicResult) v0-3. */
static void
create_partitions_topic_result_io(kw_io *io, int16_t ver, void *p)
{
    kw_create_partitions_topic_result *m = p;
    (void)ver;
    kw_io_str(io, "Name", &m->name);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_str(io, "ErrorMessage", &m->error_message);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* CreatePartitionsResponse v0-3. */
static void
create_partitions_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_create_partitions_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_array(io, "Results", &m->results, &m->n_results, sizeof(*m->results),
                create_partitions_topic_result_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

const kw_msgdef kw_msg_create_partitions_req = {
    "CreatePartitionsRequest", 37, false, 0, 3, 2, sizeof(kw_create_partitions_req),
    create_partitions_req_io,
};
const kw_msgdef kw_msg_create_partitions_resp = {
    "CreatePartitionsResponse", 37, true, 0, 3, 2, sizeof(kw_create_partitions_resp),
    create_partitions_resp_io,
};

/* ---------------------------------------------------------------- DescribeConfigs */

/* DescribeConfigsRequest.Resources[] (DescribeConfigsResource) v1-4. */
static void
describe_configs_resource_io(kw_io *io, int16_t ver, void *p)
{
    kw_describe_configs_resource *m = p;
    kw_io_i8(io, "ResourceType", &m->resource_type);
    kw_io_str(io, "ResourceName", &m->resource_name);
    kw_io_array(io, "ConfigurationKeys", &m->configuration_keys, &m->n_configuration_keys,
                sizeof(*m->configuration_keys), kw_io_elem_str, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DescribeConfigsRequest v1-4; v3+ IncludeDocumentation. */
static void
describe_configs_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_describe_configs_req *m = p;
    kw_io_array(io, "Resources", &m->resources, &m->n_resources, sizeof(*m->resources),
                describe_configs_resource_io, ver);
    kw_io_bool(io, "IncludeSynonyms", &m->include_synonyms);
    if (ver >= 3)
        kw_io_bool(io, "IncludeDocumentation", &m->include_documentation);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DescribeConfigsResponse.Results[].Configs[].Synonyms[] (DescribeConfigsSynonym) v1-4. */
static void
describe_configs_synonym_io(kw_io *io, int16_t ver, void *p)
{
    kw_describe_configs_synonym *m = p;
    (void)ver;
    kw_io_str(io, "Name", &m->name);
    kw_io_str(io, "Value", &m->value);
    kw_io_i8(io, "Source", &m->source);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DescribeConfigsResponse.Results[].Configs[] (DescribeConfigsResourceResult) v1-4; v3+
 * ConfigType and Documentation. */
static void
describe_configs_resource_result_io(kw_io *io, int16_t ver, void *p)
{
    kw_describe_configs_resource_result *m = p;
    kw_io_str(io, "Name", &m->name);
    kw_io_str(io, "Value", &m->value);
    kw_io_bool(io, "ReadOnly", &m->read_only);
    kw_io_i8(io, "ConfigSource", &m->config_source);
    kw_io_bool(io, "IsSensitive", &m->is_sensitive);
    kw_io_array(io, "Synonyms", &m->synonyms, &m->n_synonyms, sizeof(*m->synonyms),
                describe_configs_synonym_io, ver);
    if (ver >= 3) {
        kw_io_i8(io, "ConfigType", &m->config_type);
        kw_io_str(io, "Documentation", &m->documentation);
    }
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DescribeConfigsResponse.Results[] (DescribeConfigsResult) v1-4. */
static void
describe_configs_result_io(kw_io *io, int16_t ver, void *p)
{
    kw_describe_configs_result *m = p;
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_str(io, "ErrorMessage", &m->error_message);
    kw_io_i8(io, "ResourceType", &m->resource_type);
    kw_io_str(io, "ResourceName", &m->resource_name);
    kw_io_array(io, "Configs", &m->configs, &m->n_configs, sizeof(*m->configs),
                describe_configs_resource_result_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DescribeConfigsResponse v1-4. */
static void
describe_configs_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_describe_configs_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_array(io, "Results", &m->results, &m->n_results, sizeof(*m->results),
                describe_configs_result_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

const kw_msgdef kw_msg_describe_configs_req = {
    "DescribeConfigsRequest", 32, false, 1, 4, 4, sizeof(kw_describe_configs_req),
    describe_configs_req_io,
};
const kw_msgdef kw_msg_describe_configs_resp = {
    "DescribeConfigsResponse", 32, true, 1, 4, 4, sizeof(kw_describe_configs_resp),
    describe_configs_resp_io,
};

const kw_msgdef *const kwi_family_admin[] = {
    &kw_msg_create_topics_req,    &kw_msg_create_topics_resp,    &kw_msg_delete_topics_req,
    &kw_msg_delete_topics_resp,   &kw_msg_create_partitions_req, &kw_msg_create_partitions_resp,
    &kw_msg_describe_configs_req, &kw_msg_describe_configs_resp, NULL,
};
