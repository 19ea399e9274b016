/* Injected errors: the response a Kafka broker sends when a request fails with a given error
 * code, built from the decoded request (Kafka's AbstractRequest.getErrorResponse, API by API).
 *
 * The code goes where the API carries errors: per partition for Produce, Fetch, ListOffsets,
 * DeleteRecords, OffsetForLeaderEpoch, OffsetCommit, TxnOffsetCommit, AddPartitionsToTxn v0-3,
 * OffsetFetch v1-7; per topic or resource for Metadata, CreateTopics, DeleteTopics,
 * CreatePartitions, DescribeConfigs; per group for DescribeGroups, OffsetFetch v8+ and
 * ConsumerGroupDescribe; per key for FindCoordinator v4+; at the top for the rest. Offsets,
 * epochs and ids carry Kafka's "unknown" values (-1). Two choices differ from Kafka's own
 * getErrorResponse because they make injected errors more useful to a client under test, and
 * are documented in docs/mock.md: a Metadata answer still lists the brokers, and a Fetch
 * answer puts the code on every partition (also at the top for session errors, v7+), where
 * Kafka 3.x+ would put some codes only at the top. */
#include <string.h>

#include "mock_fault.h"

enum {
    E_FETCH_SESSION_ID_NOT_FOUND = 70,
    E_INVALID_FETCH_SESSION_EPOCH = 71,
    E_FETCH_SESSION_TOPIC_ID_ERROR = 106,
};

typedef kwi_mock_ferr_fn builder;

static kw_err
produce(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    const kw_produce_req *r = msg;
    if (r->acks == 0)
        return KW_ERR_IO; /* no answer is expected: Kafka closes the connection instead */
    kw_produce_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.responses = KWI_MOCK_ALLOC(req, r->n_topic_data, kw_produce_resp_topic);
    if (!resp.responses)
        return KW_ERR_NOMEM;
    resp.n_responses = r->n_topic_data > 0 ? r->n_topic_data : 0;
    for (int32_t i = 0; i < resp.n_responses; i++) {
        const kw_produce_req_topic *t = &r->topic_data[i];
        kw_produce_resp_topic *o = &resp.responses[i];
        o->name = t->name;
        o->topic_id = t->topic_id;
        o->partition_responses =
            KWI_MOCK_ALLOC(req, t->n_partition_data, kw_produce_resp_partition);
        if (!o->partition_responses)
            return KW_ERR_NOMEM;
        o->n_partition_responses = t->n_partition_data > 0 ? t->n_partition_data : 0;
        for (int32_t j = 0; j < o->n_partition_responses; j++) {
            kw_produce_resp_partition *p = &o->partition_responses[j];
            p->index = t->partition_data[j].index;
            p->error_code = code;
            p->base_offset = -1;
            p->log_append_time_ms = -1;
            p->log_start_offset = -1;
            p->error_message = KW_SLICE_NULL;
            p->current_leader.leader_id = -1;
            p->current_leader.leader_epoch = -1;
        }
    }
    return kwi_mock_reply(req, &resp);
}

static bool
fetch_session_error(int16_t code)
{
    return code == E_FETCH_SESSION_ID_NOT_FOUND || code == E_INVALID_FETCH_SESSION_EPOCH ||
           code == E_FETCH_SESSION_TOPIC_ID_ERROR;
}

static kw_err
fetch(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    const kw_fetch_req *r = msg;
    kw_fetch_resp resp;
    memset(&resp, 0, sizeof(resp));
    if (ver >= 7 && fetch_session_error(code))
        resp.error_code = code;
    resp.session_id = 0;
    resp.responses = KWI_MOCK_ALLOC(req, r->n_topics, kw_fetch_resp_topic);
    if (!resp.responses)
        return KW_ERR_NOMEM;
    resp.n_responses = r->n_topics > 0 ? r->n_topics : 0;
    for (int32_t i = 0; i < resp.n_responses; i++) {
        const kw_fetch_req_topic *t = &r->topics[i];
        kw_fetch_resp_topic *o = &resp.responses[i];
        o->topic = t->topic;
        o->topic_id = t->topic_id;
        o->partitions = KWI_MOCK_ALLOC(req, t->n_partitions, kw_fetch_resp_partition);
        if (!o->partitions)
            return KW_ERR_NOMEM;
        o->n_partitions = t->n_partitions > 0 ? t->n_partitions : 0;
        for (int32_t j = 0; j < o->n_partitions; j++) {
            kw_fetch_resp_partition *p = &o->partitions[j];
            p->partition_index = t->partitions[j].partition;
            p->error_code = code;
            p->high_watermark = -1;
            p->last_stable_offset = -1;
            p->log_start_offset = -1;
            p->diverging_epoch.epoch = -1;
            p->diverging_epoch.end_offset = -1;
            p->current_leader.leader_id = -1;
            p->current_leader.leader_epoch = -1;
            p->snapshot_id.end_offset = -1;
            p->snapshot_id.epoch = -1;
            p->n_aborted_transactions = -1;
            p->preferred_read_replica = -1;
            p->records = (kw_slice){NULL, 0};
        }
    }
    return kwi_mock_reply(req, &resp);
}

static kw_err
list_offsets(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    const kw_list_offsets_req *r = msg;
    kw_list_offsets_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.topics = KWI_MOCK_ALLOC(req, r->n_topics, kw_list_offsets_resp_topic);
    if (!resp.topics)
        return KW_ERR_NOMEM;
    resp.n_topics = r->n_topics > 0 ? r->n_topics : 0;
    for (int32_t i = 0; i < resp.n_topics; i++) {
        const kw_list_offsets_req_topic *t = &r->topics[i];
        kw_list_offsets_resp_topic *o = &resp.topics[i];
        o->name = t->name;
        o->partitions = KWI_MOCK_ALLOC(req, t->n_partitions, kw_list_offsets_resp_partition);
        if (!o->partitions)
            return KW_ERR_NOMEM;
        o->n_partitions = t->n_partitions > 0 ? t->n_partitions : 0;
        for (int32_t j = 0; j < o->n_partitions; j++) {
            kw_list_offsets_resp_partition *p = &o->partitions[j];
            p->partition_index = t->partitions[j].partition_index;
            p->error_code = code;
            p->timestamp = -1;
            p->offset = -1;
            p->leader_epoch = -1;
        }
    }
    return kwi_mock_reply(req, &resp);
}

static kw_err
metadata(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    const kw_metadata_req *r = msg;
    kw_mock *m = req->m;
    kw_metadata_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.brokers = KWI_MOCK_ALLOC(req, m->n_brokers, kw_metadata_resp_broker);
    resp.topics = KWI_MOCK_ALLOC(req, r->n_topics, kw_metadata_resp_topic);
    char *cid = kwi_mock_req_strdup(req, kw_slice_str(m->cluster_id));
    if (!resp.brokers || !resp.topics || !cid)
        return KW_ERR_NOMEM;
    resp.n_brokers = m->n_brokers;
    for (int32_t i = 0; i < m->n_brokers; i++) {
        resp.brokers[i].node_id = m->brokers[i].node_id;
        resp.brokers[i].host = kw_slice_str("127.0.0.1");
        resp.brokers[i].port = m->brokers[i].port;
        resp.brokers[i].rack = KW_SLICE_NULL;
    }
    resp.cluster_id = kw_slice_str(cid);
    resp.controller_id = m->brokers[0].node_id;
    resp.cluster_authorized_operations = INT32_MIN;
    if (ver >= 13)
        resp.error_code = code;
    resp.n_topics = r->n_topics > 0 ? r->n_topics : 0;
    for (int32_t i = 0; i < resp.n_topics; i++) {
        kw_metadata_resp_topic *o = &resp.topics[i];
        o->error_code = code;
        o->name = r->topics[i].name;
        o->topic_id = r->topics[i].topic_id;
        o->topic_authorized_operations = INT32_MIN;
    }
    return kwi_mock_reply(req, &resp);
}

static kw_err
offset_commit(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    const kw_offset_commit_req *r = msg;
    kw_offset_commit_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.topics = KWI_MOCK_ALLOC(req, r->n_topics, kw_offset_commit_resp_topic);
    if (!resp.topics)
        return KW_ERR_NOMEM;
    resp.n_topics = r->n_topics > 0 ? r->n_topics : 0;
    for (int32_t i = 0; i < resp.n_topics; i++) {
        const kw_offset_commit_req_topic *t = &r->topics[i];
        kw_offset_commit_resp_topic *o = &resp.topics[i];
        o->name = t->name;
        o->topic_id = t->topic_id;
        o->partitions = KWI_MOCK_ALLOC(req, t->n_partitions, kw_offset_commit_resp_partition);
        if (!o->partitions)
            return KW_ERR_NOMEM;
        o->n_partitions = t->n_partitions > 0 ? t->n_partitions : 0;
        for (int32_t j = 0; j < o->n_partitions; j++) {
            o->partitions[j].partition_index = t->partitions[j].partition_index;
            o->partitions[j].error_code = code;
        }
    }
    return kwi_mock_reply(req, &resp);
}

static kw_err
fetch_topics(kwi_mock_req *req, const kw_offset_fetch_req_topic *in, int32_t n, int16_t code,
             kw_offset_fetch_resp_topic **out, int32_t *n_out)
{
    *out = KWI_MOCK_ALLOC(req, n, kw_offset_fetch_resp_topic);
    if (!*out)
        return KW_ERR_NOMEM;
    *n_out = n > 0 ? n : 0;
    for (int32_t i = 0; i < *n_out; i++) {
        kw_offset_fetch_resp_topic *o = &(*out)[i];
        o->name = in[i].name;
        o->topic_id = in[i].topic_id;
        o->partitions =
            KWI_MOCK_ALLOC(req, in[i].n_partition_indexes, kw_offset_fetch_resp_partition);
        if (!o->partitions)
            return KW_ERR_NOMEM;
        o->n_partitions = in[i].n_partition_indexes > 0 ? in[i].n_partition_indexes : 0;
        for (int32_t j = 0; j < o->n_partitions; j++) {
            kw_offset_fetch_resp_partition *p = &o->partitions[j];
            p->partition_index = in[i].partition_indexes[j];
            p->committed_offset = -1;
            p->committed_leader_epoch = -1;
            p->metadata = (kw_slice){NULL, 0};
            p->error_code = code;
        }
    }
    return KW_ERR_OK;
}

static kw_err
offset_fetch(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    const kw_offset_fetch_req *r = msg;
    kw_offset_fetch_resp resp;
    memset(&resp, 0, sizeof(resp));
    if (ver >= 8) {
        resp.groups = KWI_MOCK_ALLOC(req, r->n_groups, kw_offset_fetch_resp_group);
        if (!resp.groups)
            return KW_ERR_NOMEM;
        resp.n_groups = r->n_groups > 0 ? r->n_groups : 0;
        for (int32_t i = 0; i < resp.n_groups; i++) {
            resp.groups[i].group_id = r->groups[i].group_id;
            resp.groups[i].error_code = code;
        }
        return kwi_mock_reply(req, &resp);
    }
    if (ver >= 2)
        resp.error_code = code;
    kw_err e = fetch_topics(req, r->topics, r->n_topics, code, &resp.topics, &resp.n_topics);
    return e ? e : kwi_mock_reply(req, &resp);
}

static kw_err
find_coordinator(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    const kw_find_coordinator_req *r = msg;
    kw_find_coordinator_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.error_code = code;
    resp.error_message = KW_SLICE_NULL;
    resp.node_id = -1;
    resp.port = -1;
    if (ver >= 4) {
        resp.coordinators =
            KWI_MOCK_ALLOC(req, r->n_coordinator_keys, kw_find_coordinator_coordinator);
        if (!resp.coordinators)
            return KW_ERR_NOMEM;
        resp.n_coordinators = r->n_coordinator_keys > 0 ? r->n_coordinator_keys : 0;
        for (int32_t i = 0; i < resp.n_coordinators; i++) {
            kw_find_coordinator_coordinator *c = &resp.coordinators[i];
            c->key = r->coordinator_keys[i];
            c->node_id = -1;
            c->port = -1;
            c->error_code = code;
            c->error_message = KW_SLICE_NULL;
        }
    }
    return kwi_mock_reply(req, &resp);
}

static kw_err
join_group(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    (void)msg;
    kw_join_group_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.error_code = code;
    resp.generation_id = -1;
    resp.protocol_type = KW_SLICE_NULL;
    resp.protocol_name = KW_SLICE_NULL;
    return kwi_mock_reply(req, &resp);
}

static kw_err
sync_group(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    (void)msg;
    kw_sync_group_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.error_code = code;
    resp.protocol_type = KW_SLICE_NULL;
    resp.protocol_name = KW_SLICE_NULL;
    return kwi_mock_reply(req, &resp);
}

/* Responses whose only error is a top-level ErrorCode right after ThrottleTimeMs. */
static kw_err
top_only(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    (void)msg;
    union {
        kw_heartbeat_resp hb;
        kw_leave_group_resp lg;
        kw_list_groups_resp lgr;
        kw_add_offsets_to_txn_resp ao;
    } u;
    memset(&u, 0, sizeof(u));
    switch (req->api->req_def->api_key) {
    case 12:
        u.hb.error_code = code;
        break;
    case 13:
        u.lg.error_code = code;
        break;
    case 16:
        u.lgr.error_code = code;
        break;
    case 25:
        u.ao.error_code = code;
        break;
    default:
        return KW_ERR_INVALID_ARG;
    }
    return kwi_mock_reply(req, &u);
}

static kw_err
init_producer_id(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    (void)msg;
    kw_init_producer_id_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.error_code = code;
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    resp.ongoing_txn_producer_id = -1;
    resp.ongoing_txn_producer_epoch = -1;
    return kwi_mock_reply(req, &resp);
}

static kw_err
end_txn(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    (void)msg;
    kw_end_txn_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.error_code = code;
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    return kwi_mock_reply(req, &resp);
}

static kw_err
add_partitions_to_txn(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    const kw_add_partitions_to_txn_req *r = msg;
    kw_add_partitions_to_txn_resp resp;
    memset(&resp, 0, sizeof(resp));
    if (ver >= 4) {
        resp.error_code = code;
        return kwi_mock_reply(req, &resp);
    }
    int32_t nt = r->n_v3_and_below_topics > 0 ? r->n_v3_and_below_topics : 0;
    resp.results_by_topic_v3_and_below =
        KWI_MOCK_ALLOC(req, nt, kw_add_partitions_to_txn_topic_result);
    if (!resp.results_by_topic_v3_and_below)
        return KW_ERR_NOMEM;
    resp.n_results_by_topic_v3_and_below = nt;
    for (int32_t i = 0; i < nt; i++) {
        const kw_add_partitions_to_txn_topic *t = &r->v3_and_below_topics[i];
        kw_add_partitions_to_txn_topic_result *o = &resp.results_by_topic_v3_and_below[i];
        o->name = t->name;
        o->results_by_partition =
            KWI_MOCK_ALLOC(req, t->n_partitions, kw_add_partitions_to_txn_partition_result);
        if (!o->results_by_partition)
            return KW_ERR_NOMEM;
        o->n_results_by_partition = t->n_partitions > 0 ? t->n_partitions : 0;
        for (int32_t j = 0; j < o->n_results_by_partition; j++) {
            o->results_by_partition[j].partition_index = t->partitions[j];
            o->results_by_partition[j].partition_error_code = code;
        }
    }
    return kwi_mock_reply(req, &resp);
}

static kw_err
txn_offset_commit(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    const kw_txn_offset_commit_req *r = msg;
    kw_txn_offset_commit_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.topics = KWI_MOCK_ALLOC(req, r->n_topics, kw_txn_offset_commit_resp_topic);
    if (!resp.topics)
        return KW_ERR_NOMEM;
    resp.n_topics = r->n_topics > 0 ? r->n_topics : 0;
    for (int32_t i = 0; i < resp.n_topics; i++) {
        const kw_txn_offset_commit_req_topic *t = &r->topics[i];
        kw_txn_offset_commit_resp_topic *o = &resp.topics[i];
        o->name = t->name;
        o->partitions = KWI_MOCK_ALLOC(req, t->n_partitions, kw_txn_offset_commit_resp_partition);
        if (!o->partitions)
            return KW_ERR_NOMEM;
        o->n_partitions = t->n_partitions > 0 ? t->n_partitions : 0;
        for (int32_t j = 0; j < o->n_partitions; j++) {
            o->partitions[j].partition_index = t->partitions[j].partition_index;
            o->partitions[j].error_code = code;
        }
    }
    return kwi_mock_reply(req, &resp);
}

static kw_err
describe_groups(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    const kw_describe_groups_req *r = msg;
    kw_describe_groups_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.groups = KWI_MOCK_ALLOC(req, r->n_groups, kw_described_group);
    if (!resp.groups)
        return KW_ERR_NOMEM;
    resp.n_groups = r->n_groups > 0 ? r->n_groups : 0;
    for (int32_t i = 0; i < resp.n_groups; i++) {
        kw_described_group *g = &resp.groups[i];
        g->error_code = code;
        g->error_message = KW_SLICE_NULL;
        g->group_id = r->groups[i];
        g->authorized_operations = INT32_MIN;
    }
    return kwi_mock_reply(req, &resp);
}

static kw_err
consumer_group_heartbeat(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    (void)msg;
    kw_consumer_group_heartbeat_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.error_code = code;
    resp.error_message = KW_SLICE_NULL;
    resp.member_id = KW_SLICE_NULL;
    return kwi_mock_reply(req, &resp);
}

static kw_err
consumer_group_describe(kwi_mock_req *req, int16_t ver, const void *msg, int16_t code)
{
    (void)ver;
    const kw_consumer_group_describe_req *r = msg;
    kw_consumer_group_describe_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.groups = KWI_MOCK_ALLOC(req, r->n_group_ids, kw_consumer_group_described_group);
    if (!resp.groups)
        return KW_ERR_NOMEM;
    resp.n_groups = r->n_group_ids > 0 ? r->n_group_ids : 0;
    for (int32_t i = 0; i < resp.n_groups; i++) {
        resp.groups[i].error_code = code;
        resp.groups[i].error_message = KW_SLICE_NULL;
        resp.groups[i].group_id = r->group_ids[i];
        resp.groups[i].authorized_operations = INT32_MIN;
    }
    return kwi_mock_reply(req, &resp);
}

static const struct {
    int16_t key;
    builder fn;
} builders[] = {
    {0, produce},
    {1, fetch},
    {2, list_offsets},
    {3, metadata},
    {8, offset_commit},
    {9, offset_fetch},
    {10, find_coordinator},
    {11, join_group},
    {12, top_only},
    {13, top_only},
    {14, sync_group},
    {15, describe_groups},
    {16, top_only},
    {17, kwi_mock_ferr_sasl_handshake},
    {18, kwi_mock_ferr_api_versions},
    {19, kwi_mock_ferr_create_topics},
    {20, kwi_mock_ferr_delete_topics},
    {21, kwi_mock_ferr_delete_records},
    {22, init_producer_id},
    {23, kwi_mock_ferr_offset_for_leader_epoch},
    {24, add_partitions_to_txn},
    {25, top_only},
    {26, end_txn},
    {28, txn_offset_commit},
    {32, kwi_mock_ferr_describe_configs},
    {36, kwi_mock_ferr_sasl_authenticate},
    {37, kwi_mock_ferr_create_partitions},
    {60, kwi_mock_ferr_describe_cluster},
    {68, consumer_group_heartbeat},
    {69, consumer_group_describe},
};

static builder
find_builder(int16_t key)
{
    for (size_t i = 0; i < sizeof(builders) / sizeof(builders[0]); i++)
        if (builders[i].key == key)
            return builders[i].fn;
    return NULL;
}

bool
kwi_mock_fault_error_supported(int16_t api_key)
{
    return find_builder(api_key) != NULL;
}

kw_err
kwi_mock_fault_error_reply(kwi_mock_req *req, int16_t code)
{
    builder fn = find_builder(req->api->req_def->api_key);
    if (!fn)
        return KW_ERR_INVALID_ARG;
    return fn(req, req->hdr.api_version, req->msg, code);
}
