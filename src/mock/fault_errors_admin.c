/* Injected errors, continued (see fault_errors.c): the admin, cluster and SASL APIs. */
#include <string.h>

#include "mock_fault.h"

enum { E_UNSUPPORTED_VERSION = 35 };

kw_err
kwi_mock_ferr_api_versions(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    (void)msg;
    kw_api_versions_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.error_code = code;
    resp.finalized_features_epoch = -1;
    /* Kafka lists its ranges with UNSUPPORTED_VERSION only (KIP-511); otherwise none. */
    if (code == E_UNSUPPORTED_VERSION &&
        kwi_mock_api_list(req->m, &req->resp, &resp.api_keys, &resp.n_api_keys))
        return KW_ERR_NOMEM;
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_ferr_sasl_handshake(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    (void)msg;
    kw_sasl_handshake_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.error_code = code;
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_ferr_sasl_authenticate(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    (void)msg;
    kw_sasl_authenticate_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.error_code = code;
    resp.error_message = kw_slice_str(kw_broker_err_name(code));
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_ferr_describe_cluster(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    const kw_describe_cluster_req *r = msg;
    kw_describe_cluster_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.error_code = code;
    resp.error_message = KW_SLICE_NULL;
    resp.endpoint_type = r->endpoint_type;
    resp.controller_id = -1;
    resp.cluster_authorized_operations = INT32_MIN;
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_ferr_create_topics(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    const kw_create_topics_req *r = msg;
    kw_create_topics_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.topics = KWI_MOCK_ALLOC(req, r->n_topics, kw_creatable_topic_result);
    if (!resp.topics)
        return KW_ERR_NOMEM;
    resp.n_topics = r->n_topics > 0 ? r->n_topics : 0;
    for (int32_t i = 0; i < resp.n_topics; i++) {
        kw_creatable_topic_result *t = &resp.topics[i];
        t->name = r->topics[i].name;
        t->error_code = code;
        t->error_message = KW_SLICE_NULL;
        t->num_partitions = -1;
        t->replication_factor = -1;
        t->n_configs = -1;
    }
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_ferr_delete_topics(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    const kw_delete_topics_req *r = msg;
    kw_delete_topics_resp resp;
    memset(&resp, 0, sizeof(resp));
    int32_t n = ver >= 6 ? r->n_topics : r->n_topic_names;
    resp.responses = KWI_MOCK_ALLOC(req, n, kw_deletable_topic_result);
    if (!resp.responses)
        return KW_ERR_NOMEM;
    resp.n_responses = n > 0 ? n : 0;
    for (int32_t i = 0; i < resp.n_responses; i++) {
        kw_deletable_topic_result *t = &resp.responses[i];
        if (ver >= 6) {
            t->name = r->topics[i].name;
            t->topic_id = r->topics[i].topic_id;
        } else {
            t->name = r->topic_names[i];
        }
        t->error_code = code;
        t->error_message = KW_SLICE_NULL;
    }
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_ferr_create_partitions(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    const kw_create_partitions_req *r = msg;
    kw_create_partitions_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.results = KWI_MOCK_ALLOC(req, r->n_topics, kw_create_partitions_topic_result);
    if (!resp.results)
        return KW_ERR_NOMEM;
    resp.n_results = r->n_topics > 0 ? r->n_topics : 0;
    for (int32_t i = 0; i < resp.n_results; i++) {
        resp.results[i].name = r->topics[i].name;
        resp.results[i].error_code = code;
        resp.results[i].error_message = KW_SLICE_NULL;
    }
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_ferr_describe_configs(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    const kw_describe_configs_req *r = msg;
    kw_describe_configs_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.results = KWI_MOCK_ALLOC(req, r->n_resources, kw_describe_configs_result);
    if (!resp.results)
        return KW_ERR_NOMEM;
    resp.n_results = r->n_resources > 0 ? r->n_resources : 0;
    for (int32_t i = 0; i < resp.n_results; i++) {
        kw_describe_configs_result *o = &resp.results[i];
        o->error_code = code;
        o->error_message = KW_SLICE_NULL;
        o->resource_type = r->resources[i].resource_type;
        o->resource_name = r->resources[i].resource_name;
    }
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_ferr_delete_records(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    const kw_delete_records_req *r = msg;
    kw_delete_records_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.topics = KWI_MOCK_ALLOC(req, r->n_topics, kw_delete_records_resp_topic);
    if (!resp.topics)
        return KW_ERR_NOMEM;
    resp.n_topics = r->n_topics > 0 ? r->n_topics : 0;
    for (int32_t i = 0; i < resp.n_topics; i++) {
        const kw_delete_records_req_topic *t = &r->topics[i];
        kw_delete_records_resp_topic *o = &resp.topics[i];
        o->name = t->name;
        o->partitions = KWI_MOCK_ALLOC(req, t->n_partitions, kw_delete_records_resp_partition);
        if (!o->partitions)
            return KW_ERR_NOMEM;
        o->n_partitions = t->n_partitions > 0 ? t->n_partitions : 0;
        for (int32_t j = 0; j < o->n_partitions; j++) {
            o->partitions[j].partition_index = t->partitions[j].partition_index;
            o->partitions[j].low_watermark = -1;
            o->partitions[j].error_code = code;
        }
    }
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_ferr_offset_for_leader_epoch(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    const kw_offset_for_leader_epoch_req *r = msg;
    kw_offset_for_leader_epoch_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.topics = KWI_MOCK_ALLOC(req, r->n_topics, kw_offset_for_leader_epoch_resp_topic);
    if (!resp.topics)
        return KW_ERR_NOMEM;
    resp.n_topics = r->n_topics > 0 ? r->n_topics : 0;
    for (int32_t i = 0; i < resp.n_topics; i++) {
        const kw_offset_for_leader_epoch_req_topic *t = &r->topics[i];
        kw_offset_for_leader_epoch_resp_topic *o = &resp.topics[i];
        o->topic = t->topic;
        o->partitions =
            KWI_MOCK_ALLOC(req, t->n_partitions, kw_offset_for_leader_epoch_resp_partition);
        if (!o->partitions)
            return KW_ERR_NOMEM;
        o->n_partitions = t->n_partitions > 0 ? t->n_partitions : 0;
        for (int32_t j = 0; j < o->n_partitions; j++) {
            o->partitions[j].error_code = code;
            o->partitions[j].partition = t->partitions[j].partition;
            o->partitions[j].leader_epoch = -1;
            o->partitions[j].end_offset = -1;
        }
    }
    return kwi_mock_reply(req, &resp);
}
