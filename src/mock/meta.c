/* ApiVersions (18), Metadata (3) and DescribeCluster (60). */
#include <string.h>

#include "mock_int.h"

/* AclOperation bits of what an unauthenticated client may do when no authorizer is configured
 * (everything): READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8, DESCRIBE_CONFIGS 10,
 * ALTER_CONFIGS 11 for topics; CREATE, ALTER, DESCRIBE, CLUSTER_ACTION 9, DESCRIBE_CONFIGS,
 * ALTER_CONFIGS, IDEMPOTENT_WRITE 12, CREATE_TOKENS 13, DESCRIBE_TOKENS 14 for the cluster. */
#define TOPIC_OPS         0x0df8
#define CLUSTER_OPS       0x7fa0
#define OPS_NOT_REQUESTED INT32_MIN

/* KIP-511's rule for ClientSoftwareName/Version: [a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])? */
static bool
software_ok(kw_slice s)
{
    if (s.len <= 0)
        return false;
    for (int32_t i = 0; i < s.len; i++) {
        uint8_t c = s.ptr[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        bool inner = c == '-' || c == '.';
        if (!alnum && !(inner && i > 0 && i < s.len - 1))
            return false;
    }
    return true;
}

static kw_err
api_versions(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_api_versions_req *rq = msg;
    kw_api_versions_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.finalized_features_epoch = -1;
    if (ver >= 3 &&
        (!software_ok(rq->client_software_name) || !software_ok(rq->client_software_version))) {
        resp.error_code = KWI_E_INVALID_REQUEST;
        return kwi_mock_reply(req, &resp);
    }
    kw_err e = kwi_mock_api_list(req->m, &req->resp, &resp.api_keys, &resp.n_api_keys);
    if (e)
        return e;
    return kwi_mock_reply(req, &resp);
}

static kw_err
fill_brokers(kwi_mock_req *req, kw_metadata_resp *resp)
{
    kw_mock *m = req->m;
    resp->brokers = kwi_mock_req_alloc(req, (size_t)m->n_brokers, sizeof(*resp->brokers));
    if (!resp->brokers)
        return KW_ERR_NOMEM;
    resp->n_brokers = m->n_brokers;
    for (int32_t i = 0; i < m->n_brokers; i++) {
        kw_metadata_resp_broker *b = &resp->brokers[i];
        b->node_id = m->brokers[i].node_id;
        b->host = kw_slice_str("127.0.0.1");
        b->port = m->brokers[i].port;
        b->rack = KW_SLICE_NULL;
    }
    return KW_ERR_OK;
}

static kw_err
fill_topic(kwi_mock_req *req, kw_metadata_resp_topic *rt, const kwi_mock_topic *t, bool ops)
{
    rt->name = (kw_slice){(const uint8_t *)t->name, (int32_t)t->name_len};
    rt->topic_id = t->id;
    rt->topic_authorized_operations = ops ? TOPIC_OPS : OPS_NOT_REQUESTED;
    rt->partitions = kwi_mock_req_alloc(req, (size_t)t->n_parts, sizeof(*rt->partitions));
    if (!rt->partitions)
        return KW_ERR_NOMEM;
    rt->n_partitions = t->n_parts;
    for (int32_t i = 0; i < t->n_parts; i++) {
        const kwi_mock_part *p = t->parts[i];
        kw_metadata_resp_partition *rp = &rt->partitions[i];
        rp->partition_index = p->index;
        rp->leader_id = p->leader;
        rp->leader_epoch = p->leader_epoch;
        /* One copy serves every replica, so each replica is always in sync. */
        rp->replica_nodes = p->replicas;
        rp->n_replica_nodes = p->n_replicas;
        rp->isr_nodes = p->replicas;
        rp->n_isr_nodes = p->n_replicas;
    }
    return KW_ERR_OK;
}

/* One requested topic: by id (v10+ with a non-zero id) or by name, auto-created if allowed. */
static kw_err
requested_topic(kwi_mock_req *req, int16_t ver, const kw_metadata_req *rq,
                const kw_metadata_req_topic *want, kw_metadata_resp_topic *rt)
{
    kw_mock *m = req->m;
    rt->topic_authorized_operations = OPS_NOT_REQUESTED;
    rt->name = want->name;
    if (ver >= 10 && !kwi_mock_uuid_zero(&want->topic_id)) {
        kwi_mock_topic *t = kwi_mock_topic_find_id(m, &want->topic_id);
        if (!t) {
            rt->error_code = KWI_E_UNKNOWN_TOPIC_ID;
            rt->topic_id = want->topic_id;
            rt->name = KW_SLICE_NULL;
            return KW_ERR_OK;
        }
        return fill_topic(req, rt, t, rq->include_topic_authorized_operations);
    }
    if (want->name.len < 0) {
        rt->error_code = KWI_E_INVALID_REQUEST;
        return KW_ERR_OK;
    }
    int16_t ec;
    bool allow = ver < 4 || rq->allow_auto_topic_creation;
    kwi_mock_topic *t = kwi_mock_topic_auto(m, want->name, allow, &ec);
    if (ec < 0)
        return KW_ERR_NOMEM;
    if (!t) {
        rt->error_code = ec;
        return KW_ERR_OK;
    }
    return fill_topic(req, rt, t, rq->include_topic_authorized_operations);
}

static kw_err
metadata(kwi_mock_req *req, int16_t ver, void *msg)
{
    kw_mock *m = req->m;
    const kw_metadata_req *rq = msg;
    kw_metadata_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.cluster_id = kw_slice_str(m->cluster_id);
    resp.controller_id = m->brokers[0].node_id;
    resp.cluster_authorized_operations =
        rq->include_cluster_authorized_operations ? CLUSTER_OPS : OPS_NOT_REQUESTED;
    kw_err e = fill_brokers(req, &resp);
    if (e)
        return e;
    /* v0: an empty list means every topic; v1+: null means every topic, empty means none. */
    bool all = rq->n_topics < 0 || (ver == 0 && rq->n_topics == 0);
    int32_t n = all ? m->n_topics : rq->n_topics;
    resp.topics = kwi_mock_req_alloc(req, (size_t)n, sizeof(*resp.topics));
    if (!resp.topics)
        return KW_ERR_NOMEM;
    resp.n_topics = n;
    for (int32_t i = 0; i < n && !e; i++) {
        if (all)
            e = fill_topic(req, &resp.topics[i], m->topics[i],
                           rq->include_topic_authorized_operations);
        else
            e = requested_topic(req, ver, rq, &rq->topics[i], &resp.topics[i]);
    }
    if (e)
        return e;
    return kwi_mock_reply(req, &resp);
}

static kw_err
describe_cluster(kwi_mock_req *req, int16_t ver, void *msg)
{
    (void)ver;
    kw_mock *m = req->m;
    const kw_describe_cluster_req *rq = msg;
    kw_describe_cluster_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.error_message = KW_SLICE_NULL;
    resp.endpoint_type = rq->endpoint_type;
    resp.cluster_id = kw_slice_str(m->cluster_id);
    resp.controller_id = -1;
    resp.cluster_authorized_operations =
        rq->include_cluster_authorized_operations ? CLUSTER_OPS : OPS_NOT_REQUESTED;
    /* KIP-919: a broker listener serves broker endpoints (1); controller endpoints (2) are
     * answered only by controllers. */
    if (rq->endpoint_type != 1) {
        resp.error_code = KWI_E_UNSUPPORTED_ENDPOINT_TYPE;
        resp.error_message = kw_slice_str("The request was sent to a broker, not a controller.");
        return kwi_mock_reply(req, &resp);
    }
    resp.controller_id = m->brokers[0].node_id;
    resp.brokers = kwi_mock_req_alloc(req, (size_t)m->n_brokers, sizeof(*resp.brokers));
    if (!resp.brokers)
        return KW_ERR_NOMEM;
    resp.n_brokers = m->n_brokers;
    for (int32_t i = 0; i < m->n_brokers; i++) {
        resp.brokers[i].broker_id = m->brokers[i].node_id;
        resp.brokers[i].host = kw_slice_str("127.0.0.1");
        resp.brokers[i].port = m->brokers[i].port;
        resp.brokers[i].rack = KW_SLICE_NULL;
    }
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_meta_init(kw_mock *m)
{
    kw_err e = kwi_mock_api_register(m, &kw_msg_api_versions_req, -1, -1, api_versions, NULL);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_metadata_req, -1, -1, metadata, NULL);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_describe_cluster_req, -1, -1, describe_cluster, NULL);
    return e;
}
