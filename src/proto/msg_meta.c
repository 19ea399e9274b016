/* Walks for the meta family of messages: version negotiation, cluster metadata and SASL. */
#include "kwire/proto.h"
#include "msgtab.h"

/* ---------------------------------------------------------------- ApiVersions */

/* ApiVersionsRequest v0-4. */
static void
api_versions_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_api_versions_req *m = p;
    if (ver >= 3) {
        kw_io_str(io, "ClientSoftwareName", &m->client_software_name);
        kw_io_str(io, "ClientSoftwareVersion", &m->client_software_version);
    }
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ApiVersionsResponse.ApiKeys[] v0-4. */
static void
api_version_io(kw_io *io, int16_t ver, void *p)
{
    kw_api_version *m = p;
    (void)ver;
    kw_io_i16(io, "ApiKey", &m->api_key);
    kw_io_i16(io, "MinVersion", &m->min_version);
    kw_io_i16(io, "MaxVersion", &m->max_version);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ApiVersionsResponse.SupportedFeatures[] v3-4. */
static void
supported_feature_key_io(kw_io *io, int16_t ver, void *p)
{
    kw_supported_feature_key *m = p;
    (void)ver;
    kw_io_str(io, "Name", &m->name);
    kw_io_i16(io, "MinVersion", &m->min_version);
    kw_io_i16(io, "MaxVersion", &m->max_version);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ApiVersionsResponse.FinalizedFeatures[] v3-4. */
static void
finalized_feature_key_io(kw_io *io, int16_t ver, void *p)
{
    kw_finalized_feature_key *m = p;
    (void)ver;
    kw_io_str(io, "Name", &m->name);
    kw_io_i16(io, "MaxVersionLevel", &m->max_version_level);
    kw_io_i16(io, "MinVersionLevel", &m->min_version_level);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ApiVersionsResponse v0-4; tagged fields 0-3 in v3+. */
static void
api_versions_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_api_versions_resp *m = p;
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_array(io, "ApiKeys", &m->api_keys, &m->n_api_keys, sizeof(*m->api_keys), api_version_io,
                ver);
    if (ver >= 1)
        kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    if (io->flex) {
        kw_tagsec ts;
        kw_io_tags_begin(io, &ts);
        if (ver >= 3 && kw_io_tag(io, &ts, 0, m->n_supported_features != 0)) {
            kw_io_array(io, "SupportedFeatures", &m->supported_features, &m->n_supported_features,
                        sizeof(*m->supported_features), supported_feature_key_io, ver);
            kw_io_tag_end(io, &ts);
        }
        if (ver >= 3 && kw_io_tag(io, &ts, 1, m->finalized_features_epoch != -1)) {
            kw_io_i64(io, "FinalizedFeaturesEpoch", &m->finalized_features_epoch);
            kw_io_tag_end(io, &ts);
        } else if (kw_io_decoding(io)) {
            m->finalized_features_epoch = -1;
        }
        if (ver >= 3 && kw_io_tag(io, &ts, 2, m->n_finalized_features != 0)) {
            kw_io_array(io, "FinalizedFeatures", &m->finalized_features, &m->n_finalized_features,
                        sizeof(*m->finalized_features), finalized_feature_key_io, ver);
            kw_io_tag_end(io, &ts);
        }
        if (ver >= 3 && kw_io_tag(io, &ts, 3, m->zk_migration_ready)) {
            kw_io_bool(io, "ZkMigrationReady", &m->zk_migration_ready);
            kw_io_tag_end(io, &ts);
        }
        kw_io_tags_end(io, &ts, &m->unknown_tags);
    } else if (kw_io_decoding(io)) {
        m->finalized_features_epoch = -1;
    }
}

/* ---------------------------------------------------------------- Metadata */

/* MetadataRequest.Topics[] v0-13. */
static void
metadata_req_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_metadata_req_topic *m = p;
    if (ver >= 10)
        kw_io_uuid(io, "TopicId", &m->topic_id);
    kw_io_str(io, "Name", &m->name);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* MetadataRequest v0-13. */
static void
metadata_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_metadata_req *m = p;
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics), metadata_req_topic_io,
                ver);
    if (ver >= 4)
        kw_io_bool(io, "AllowAutoTopicCreation", &m->allow_auto_topic_creation);
    else if (kw_io_decoding(io))
        m->allow_auto_topic_creation = true;
    if (ver >= 8 && ver <= 10)
        kw_io_bool(io, "IncludeClusterAuthorizedOperations",
                   &m->include_cluster_authorized_operations);
    if (ver >= 8)
        kw_io_bool(io, "IncludeTopicAuthorizedOperations", &m->include_topic_authorized_operations);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* MetadataResponse.Brokers[] v0-13. */
static void
metadata_resp_broker_io(kw_io *io, int16_t ver, void *p)
{
    kw_metadata_resp_broker *m = p;
    kw_io_i32(io, "NodeId", &m->node_id);
    kw_io_str(io, "Host", &m->host);
    kw_io_i32(io, "Port", &m->port);
    if (ver >= 1)
        kw_io_str(io, "Rack", &m->rack);
    else if (kw_io_decoding(io))
        m->rack = KW_SLICE_NULL;
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* MetadataResponse.Topics[].Partitions[] v0-13. */
static void
metadata_resp_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_metadata_resp_partition *m = p;
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_i32(io, "PartitionIndex", &m->partition_index);
    kw_io_i32(io, "LeaderId", &m->leader_id);
    if (ver >= 7)
        kw_io_i32(io, "LeaderEpoch", &m->leader_epoch);
    else if (kw_io_decoding(io))
        m->leader_epoch = -1;
    kw_io_array(io, "ReplicaNodes", &m->replica_nodes, &m->n_replica_nodes,
                sizeof(*m->replica_nodes), kw_io_elem_i32, ver);
    kw_io_array(io, "IsrNodes", &m->isr_nodes, &m->n_isr_nodes, sizeof(*m->isr_nodes),
                kw_io_elem_i32, ver);
    if (ver >= 5)
        kw_io_array(io, "OfflineReplicas", &m->offline_replicas, &m->n_offline_replicas,
                    sizeof(*m->offline_replicas), kw_io_elem_i32, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* MetadataResponse.Topics[] v0-13. */
static void
metadata_resp_topic_io(kw_io *io, int16_t ver, void *p)
{
    kw_metadata_resp_topic *m = p;
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_str(io, "Name", &m->name);
    if (ver >= 10)
        kw_io_uuid(io, "TopicId", &m->topic_id);
    if (ver >= 1)
        kw_io_bool(io, "IsInternal", &m->is_internal);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                metadata_resp_partition_io, ver);
    if (ver >= 8)
        kw_io_i32(io, "TopicAuthorizedOperations", &m->topic_authorized_operations);
    else if (kw_io_decoding(io))
        m->topic_authorized_operations = INT32_MIN;
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* MetadataResponse v0-13. */
static void
metadata_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_metadata_resp *m = p;
    if (ver >= 3)
        kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_array(io, "Brokers", &m->brokers, &m->n_brokers, sizeof(*m->brokers),
                metadata_resp_broker_io, ver);
    if (ver >= 2)
        kw_io_str(io, "ClusterId", &m->cluster_id);
    else if (kw_io_decoding(io))
        m->cluster_id = KW_SLICE_NULL;
    if (ver >= 1)
        kw_io_i32(io, "ControllerId", &m->controller_id);
    else if (kw_io_decoding(io))
        m->controller_id = -1;
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics), metadata_resp_topic_io,
                ver);
    if (ver >= 8 && ver <= 10)
        kw_io_i32(io, "ClusterAuthorizedOperations", &m->cluster_authorized_operations);
    else if (kw_io_decoding(io))
        m->cluster_authorized_operations = INT32_MIN;
    if (ver >= 13)
        kw_io_i16(io, "ErrorCode", &m->error_code);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- DescribeCluster */

/* DescribeClusterRequest v0-2. */
static void
describe_cluster_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_describe_cluster_req *m = p;
    kw_io_bool(io, "IncludeClusterAuthorizedOperations", &m->include_cluster_authorized_operations);
    if (ver >= 1)
        kw_io_i8(io, "EndpointType", &m->endpoint_type);
    else if (kw_io_decoding(io))
        m->endpoint_type = 1;
    if (ver >= 2)
        kw_io_bool(io, "IncludeFencedBrokers", &m->include_fenced_brokers);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DescribeClusterResponse.Brokers[] v0-2. */
static void
describe_cluster_broker_io(kw_io *io, int16_t ver, void *p)
{
    kw_describe_cluster_broker *m = p;
    kw_io_i32(io, "BrokerId", &m->broker_id);
    kw_io_str(io, "Host", &m->host);
    kw_io_i32(io, "Port", &m->port);
    kw_io_str(io, "Rack", &m->rack);
    if (ver >= 2)
        kw_io_bool(io, "IsFenced", &m->is_fenced);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* DescribeClusterResponse v0-2. */
static void
describe_cluster_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_describe_cluster_resp *m = p;
    kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_str(io, "ErrorMessage", &m->error_message);
    if (ver >= 1)
        kw_io_i8(io, "EndpointType", &m->endpoint_type);
    else if (kw_io_decoding(io))
        m->endpoint_type = 1;
    kw_io_str(io, "ClusterId", &m->cluster_id);
    kw_io_i32(io, "ControllerId", &m->controller_id);
    kw_io_array(io, "Brokers", &m->brokers, &m->n_brokers, sizeof(*m->brokers),
                describe_cluster_broker_io, ver);
    kw_io_i32(io, "ClusterAuthorizedOperations", &m->cluster_authorized_operations);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- SaslHandshake */

/* SaslHandshakeRequest v0-1. */
static void
sasl_handshake_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_sasl_handshake_req *m = p;
    (void)ver;
    kw_io_str(io, "Mechanism", &m->mechanism);
}

/* SaslHandshakeResponse v0-1. */
static void
sasl_handshake_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_sasl_handshake_resp *m = p;
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_array(io, "Mechanisms", &m->mechanisms, &m->n_mechanisms, sizeof(*m->mechanisms),
                kw_io_elem_str, ver);
}

/* ---------------------------------------------------------------- SaslAuthenticate */

/* SaslAuthenticateRequest v0-2. */
static void
sasl_authenticate_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_sasl_authenticate_req *m = p;
    (void)ver;
    kw_io_bytes(io, "AuthBytes", &m->auth_bytes);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* SaslAuthenticateResponse v0-2. */
static void
sasl_authenticate_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_sasl_authenticate_resp *m = p;
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_str(io, "ErrorMessage", &m->error_message);
    kw_io_bytes(io, "AuthBytes", &m->auth_bytes);
    if (ver >= 1)
        kw_io_i64(io, "SessionLifetimeMs", &m->session_lifetime_ms);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- msgdefs */

const kw_msgdef kw_msg_api_versions_req = {
    "ApiVersionsRequest", 18, false, 0, 4, 3, sizeof(kw_api_versions_req), api_versions_req_io,
};
const kw_msgdef kw_msg_api_versions_resp = {
    "ApiVersionsResponse", 18, true, 0, 4, 3, sizeof(kw_api_versions_resp), api_versions_resp_io,
};
const kw_msgdef kw_msg_metadata_req = {
    "MetadataRequest", 3, false, 0, 13, 9, sizeof(kw_metadata_req), metadata_req_io,
};
const kw_msgdef kw_msg_metadata_resp = {
    "MetadataResponse", 3, true, 0, 13, 9, sizeof(kw_metadata_resp), metadata_resp_io,
};
const kw_msgdef kw_msg_describe_cluster_req = {
    "DescribeClusterRequest", 60, false, 0, 2, 0, sizeof(kw_describe_cluster_req),
    describe_cluster_req_io,
};
const kw_msgdef kw_msg_describe_cluster_resp = {
    "DescribeClusterResponse", 60, true, 0, 2, 0, sizeof(kw_describe_cluster_resp),
    describe_cluster_resp_io,
};
const kw_msgdef kw_msg_sasl_handshake_req = {
    "SaslHandshakeRequest", 17, false, 0, 1, -1, sizeof(kw_sasl_handshake_req),
    sasl_handshake_req_io,
};
const kw_msgdef kw_msg_sasl_handshake_resp = {
    "SaslHandshakeResponse", 17, true, 0, 1, -1, sizeof(kw_sasl_handshake_resp),
    sasl_handshake_resp_io,
};
const kw_msgdef kw_msg_sasl_authenticate_req = {
    "SaslAuthenticateRequest", 36, false, 0, 2, 2, sizeof(kw_sasl_authenticate_req),
    sasl_authenticate_req_io,
};
const kw_msgdef kw_msg_sasl_authenticate_resp = {
    "SaslAuthenticateResponse", 36, true, 0, 2, 2, sizeof(kw_sasl_authenticate_resp),
    sasl_authenticate_resp_io,
};

const kw_msgdef *const kwi_family_meta[] = {
    &kw_msg_api_versions_req,
    &kw_msg_api_versions_resp,
    &kw_msg_metadata_req,
    &kw_msg_metadata_resp,
    &kw_msg_describe_cluster_req,
    &kw_msg_describe_cluster_resp,
    &kw_msg_sasl_handshake_req,
    &kw_msg_sasl_handshake_resp,
    &kw_msg_sasl_authenticate_req,
    &kw_msg_sasl_authenticate_resp,
    NULL,
};
