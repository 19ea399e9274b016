/* DescribeConfigs (32): topic resources (every config of config.c, with its source: set on the
 * topic, or the broker default) and broker resources (the broker settings kw_mock_conf stands
 * for, plus identity and listeners).
 *
 * As on a real broker, a BROKER resource must name the broker that receives the request (or be
 * empty, meaning the cluster-wide dynamic defaults, of which there are none); BROKER_LOGGER
 * likewise, and it lists no loggers. */
#include <stdio.h>
#include <string.h>

#include "mock_int.h"

#define RES_TOPIC         2
#define RES_BROKER        4
#define RES_BROKER_LOGGER 8

#define SRC_DYNAMIC_TOPIC 1
#define SRC_STATIC_BROKER 4
#define SRC_DEFAULT       5

#define T_BOOLEAN 1
#define T_STRING  2
#define T_INT     3
#define T_LONG    5
#define T_LIST    7

typedef enum bcfg {
    B_BROKER_ID,
    B_NODE_ID,
    B_LISTENERS,
    B_ADVERTISED_LISTENERS,
    B_NUM_PARTITIONS,
    B_DEFAULT_RF,
    B_AUTO_CREATE,
    B_DELETE_TOPIC,
    B_RETENTION_BYTES,
    B_RETENTION_MS,
    B_MESSAGE_MAX_BYTES,
    B_SOCKET_REQUEST_MAX,
    B_FETCH_MAX_BYTES,
    B_TIMESTAMP_TYPE,
    B_CLEANUP_POLICY,
    B_COMPRESSION,
    B_MIN_ISR,
    B_SEGMENT_BYTES,
    B__COUNT
} bcfg;

typedef struct bcfg_def {
    const char *name;
    int8_t type;
    const char *kafka_default; /* NULL: always configured (identity, listeners) */
} bcfg_def;

static const bcfg_def bdefs[B__COUNT] = {
    [B_BROKER_ID] = {"broker.id", T_INT, NULL},
    [B_NODE_ID] = {"node.id", T_INT, NULL},
    [B_LISTENERS] = {"listeners", T_STRING, NULL},
    [B_ADVERTISED_LISTENERS] = {"advertised.listeners", T_STRING, NULL},
    [B_NUM_PARTITIONS] = {"num.partitions", T_INT, "1"},
    [B_DEFAULT_RF] = {"default.replication.factor", T_INT, "1"},
    [B_AUTO_CREATE] = {"auto.create.topics.enable", T_BOOLEAN, "true"},
    [B_DELETE_TOPIC] = {"delete.topic.enable", T_BOOLEAN, "true"},
    [B_RETENTION_BYTES] = {"log.retention.bytes", T_LONG, "-1"},
    [B_RETENTION_MS] = {"log.retention.ms", T_LONG, "604800000"},
    [B_MESSAGE_MAX_BYTES] = {"message.max.bytes", T_INT, "1048588"},
    [B_SOCKET_REQUEST_MAX] = {"socket.request.max.bytes", T_INT, "104857600"},
    [B_FETCH_MAX_BYTES] = {"fetch.max.bytes", T_INT, "57671680"},
    [B_TIMESTAMP_TYPE] = {"log.message.timestamp.type", T_STRING, "CreateTime"},
    [B_CLEANUP_POLICY] = {"log.cleanup.policy", T_LIST, "delete"},
    [B_COMPRESSION] = {"compression.type", T_STRING, "producer"},
    [B_MIN_ISR] = {"min.insync.replicas", T_INT, "1"},
    [B_SEGMENT_BYTES] = {"log.segment.bytes", T_INT, "1073741824"},
};

static void
broker_value(const kw_mock *m, const kwi_mock_broker *b, bcfg id, char *buf, size_t cap)
{
    const kw_mock_conf *c = &m->conf;
    switch (id) {
    case B_BROKER_ID:
    case B_NODE_ID:
        snprintf(buf, cap, "%d", (int)b->node_id);
        return;
    case B_LISTENERS:
    case B_ADVERTISED_LISTENERS:
        snprintf(buf, cap, "PLAINTEXT://127.0.0.1:%d", b->port);
        return;
    case B_NUM_PARTITIONS:
        snprintf(buf, cap, "%d", (int)c->default_partitions);
        return;
    case B_DEFAULT_RF:
        snprintf(buf, cap, "%d", (int)c->default_replication_factor);
        return;
    case B_AUTO_CREATE:
        snprintf(buf, cap, "%s", c->auto_create_topics ? "true" : "false");
        return;
    case B_RETENTION_BYTES:
        snprintf(buf, cap, "%lld", (long long)c->retention_bytes);
        return;
    case B_RETENTION_MS:
        snprintf(buf, cap, "%lld", (long long)c->retention_ms);
        return;
    case B_MESSAGE_MAX_BYTES:
        snprintf(buf, cap, "%d", (int)c->message_max_bytes);
        return;
    case B_SOCKET_REQUEST_MAX:
        snprintf(buf, cap, "%d", (int)c->max_request_bytes);
        return;
    case B_FETCH_MAX_BYTES:
        snprintf(buf, cap, "%d", (int)c->fetch_max_bytes);
        return;
    case B_TIMESTAMP_TYPE:
        snprintf(buf, cap, "%s", c->log_append_time ? "LogAppendTime" : "CreateTime");
        return;
    default:
        snprintf(buf, cap, "%s", bdefs[id].kafka_default);
        return;
    }
}

static bool
wanted(const kw_describe_configs_resource *res, const char *name)
{
    if (res->n_configuration_keys < 0)
        return true;
    for (int32_t i = 0; i < res->n_configuration_keys; i++)
        if (kw_slice_eq(res->configuration_keys[i], name))
            return true;
    return false;
}

static kw_slice
dup(kwi_mock_req *req, const char *s)
{
    char *p = kwi_mock_req_strdup(req, kw_slice_str(s));
    return p ? kw_slice_str(p) : KW_SLICE_NULL;
}

static kw_err
topic_configs(kwi_mock_req *req, const kw_describe_configs_req *rq,
              const kw_describe_configs_resource *res, kw_describe_configs_result *out)
{
    kwi_mock_topic *t = kwi_mock_topic_find(req->m, res->resource_name);
    if (!t) {
        out->error_code = KWI_E_UNKNOWN_TOPIC_OR_PARTITION;
        out->error_message = kw_slice_str("The topic does not exist.");
        return KW_ERR_OK;
    }
    out->configs = kwi_mock_req_alloc(req, KWI_CFG__COUNT, sizeof(*out->configs));
    if (!out->configs)
        return KW_ERR_NOMEM;
    for (int id = 0; id < KWI_CFG__COUNT; id++) {
        const char *name = kwi_mock_cfg_name((kwi_mock_cfg_id)id);
        if (!wanted(res, name))
            continue;
        char buf[32], dbuf[32];
        bool dflt, unused;
        const char *v = kwi_mock_cfg_value(req->m, t, (kwi_mock_cfg_id)id, buf, sizeof(buf), &dflt);
        const char *d =
            kwi_mock_cfg_value(req->m, NULL, (kwi_mock_cfg_id)id, dbuf, sizeof(dbuf), &unused);
        kw_describe_configs_resource_result *c = &out->configs[out->n_configs++];
        c->name = kw_slice_str(name);
        c->value = dup(req, v);
        c->config_source = dflt ? SRC_DEFAULT : SRC_DYNAMIC_TOPIC;
        c->config_type = kwi_mock_cfg_type((kwi_mock_cfg_id)id);
        c->documentation = KW_SLICE_NULL;
        if (!rq->include_synonyms)
            continue;
        /* Synonyms in order of precedence: the topic's own value, then the broker default. */
        c->synonyms = kwi_mock_req_alloc(req, 2, sizeof(*c->synonyms));
        if (!c->synonyms)
            return KW_ERR_NOMEM;
        if (!dflt)
            c->synonyms[c->n_synonyms++] =
                (kw_describe_configs_synonym){c->name, c->value, SRC_DYNAMIC_TOPIC, {NULL, 0}};
        c->synonyms[c->n_synonyms++] =
            (kw_describe_configs_synonym){kw_slice_str(kwi_mock_cfg_synonym((kwi_mock_cfg_id)id)),
                                          dup(req, d),
                                          SRC_DEFAULT,
                                          {NULL, 0}};
    }
    return KW_ERR_OK;
}

static kw_err
broker_configs(kwi_mock_req *req, const kw_describe_configs_req *rq,
               const kw_describe_configs_resource *res, kw_describe_configs_result *out)
{
    if (res->resource_name.len == 0)
        return KW_ERR_OK; /* cluster-wide dynamic defaults: none are set */
    char own[16];
    snprintf(own, sizeof(own), "%d", (int)req->broker->node_id);
    if (!kw_slice_eq(res->resource_name, own)) {
        out->error_code = KWI_E_INVALID_REQUEST;
        out->error_message = kw_slice_str("Unexpected broker id: a broker describes only itself.");
        return KW_ERR_OK;
    }
    if (res->resource_type == RES_BROKER_LOGGER)
        return KW_ERR_OK;
    out->configs = kwi_mock_req_alloc(req, B__COUNT, sizeof(*out->configs));
    if (!out->configs)
        return KW_ERR_NOMEM;
    for (int id = 0; id < B__COUNT; id++) {
        const bcfg_def *d = &bdefs[id];
        if (!wanted(res, d->name))
            continue;
        char buf[64];
        broker_value(req->m, req->broker, (bcfg)id, buf, sizeof(buf));
        bool dflt = d->kafka_default && strcmp(buf, d->kafka_default) == 0;
        kw_describe_configs_resource_result *c = &out->configs[out->n_configs++];
        c->name = kw_slice_str(d->name);
        c->value = dup(req, buf);
        c->read_only = !d->kafka_default;
        c->config_source = dflt ? SRC_DEFAULT : SRC_STATIC_BROKER;
        c->config_type = d->type;
        c->documentation = KW_SLICE_NULL;
        if (rq->include_synonyms) {
            c->synonyms = kwi_mock_req_alloc(req, 1, sizeof(*c->synonyms));
            if (!c->synonyms)
                return KW_ERR_NOMEM;
            c->n_synonyms = 1;
            c->synonyms[0] =
                (kw_describe_configs_synonym){c->name, c->value, c->config_source, {NULL, 0}};
        }
    }
    return KW_ERR_OK;
}

static kw_err
describe_configs(kwi_mock_req *req, int16_t ver, void *msg)
{
    (void)ver;
    const kw_describe_configs_req *rq = msg;
    kw_describe_configs_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.results = kwi_mock_req_alloc(req, (size_t)rq->n_resources, sizeof(*resp.results));
    if (!resp.results)
        return KW_ERR_NOMEM;
    resp.n_results = rq->n_resources;
    for (int32_t i = 0; i < rq->n_resources; i++) {
        const kw_describe_configs_resource *res = &rq->resources[i];
        kw_describe_configs_result *out = &resp.results[i];
        out->resource_type = res->resource_type;
        out->resource_name = res->resource_name;
        out->error_message = KW_SLICE_NULL;
        kw_err e = KW_ERR_OK;
        if (res->resource_type == RES_TOPIC)
            e = topic_configs(req, rq, res, out);
        else if (res->resource_type == RES_BROKER || res->resource_type == RES_BROKER_LOGGER)
            e = broker_configs(req, rq, res, out);
        else {
            out->error_code = KWI_E_INVALID_REQUEST;
            out->error_message = kw_slice_str("Unsupported resource type.");
        }
        if (e)
            return e;
    }
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_configs_init(kw_mock *m)
{
    return kwi_mock_api_register(m, &kw_msg_describe_configs_req, -1, -1, describe_configs, NULL);
}
