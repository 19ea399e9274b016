/* CreateTopics (19), DeleteTopics (20) and CreatePartitions (37), with Kafka's checks and error
 * messages: names, duplicate entries in one request, partition counts, replication factors
 * within the broker count, manual replica assignments, and topic configs. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "mock_int.h"

#define SRC_DYNAMIC_TOPIC 1
#define SRC_DEFAULT       5

/* A formatted message in the request's memory; null when out of memory. */
static kw_slice fmt_msg(kwi_mock_req *req, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static kw_slice
fmt_msg(kwi_mock_req *req, const char *fmt, ...)
{
    char buf[384];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return KW_SLICE_NULL;
    if (n >= (int)sizeof(buf))
        n = (int)sizeof(buf) - 1;
    char *p = kwi_mock_req_strdup(req, (kw_slice){(const uint8_t *)buf, n});
    return p ? kw_slice_str(p) : KW_SLICE_NULL;
}

/* printf arguments for a wire string: "%.*s", NLEN(s), NPTR(s). */
#define NLEN(s) ((int)((s).len > 0 ? (s).len : 0))
#define NPTR(s) ((s).ptr ? (const char *)(s).ptr : "")

static bool
same_name(kw_slice a, kw_slice b)
{
    return a.len >= 0 && a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

/* Kafka rejects every entry of a name that appears twice in one request. */
static bool
duplicated(const void *arr, int32_t n, size_t esz, size_t name_off, int32_t i)
{
    const kw_slice *mine = (const kw_slice *)((const char *)arr + (size_t)i * esz + name_off);
    for (int32_t k = 0; k < n; k++) {
        const kw_slice *other = (const kw_slice *)((const char *)arr + (size_t)k * esz + name_off);
        if (k != i && same_name(*mine, *other))
            return true;
    }
    return false;
}

/* A replica row: 1..brokers distinct known broker ids of length rf (rf 0 = any). */
static bool
row_ok(kw_mock *m, const int32_t *ids, int32_t n, int32_t rf)
{
    if (n < 1 || n > m->n_brokers || (rf && n != rf))
        return false;
    for (int32_t i = 0; i < n; i++) {
        if (!kwi_mock_broker_by_id(m, ids[i]))
            return false;
        for (int32_t k = 0; k < i; k++)
            if (ids[k] == ids[i])
                return false;
    }
    return true;
}

/* ---------------------------------------------------------------- CreateTopics */

static kw_err
result_configs(kwi_mock_req *req, const kw_creatable_topic *in, kw_creatable_topic_result *out)
{
    out->configs = kwi_mock_req_alloc(req, KWI_CFG__COUNT, sizeof(*out->configs));
    if (!out->configs)
        return KW_ERR_NOMEM;
    out->n_configs = KWI_CFG__COUNT;
    for (int id = 0; id < KWI_CFG__COUNT; id++) {
        kw_creatable_topic_configs *c = &out->configs[id];
        c->name = kw_slice_str(kwi_mock_cfg_name((kwi_mock_cfg_id)id));
        c->config_source = SRC_DEFAULT;
        for (int32_t k = 0; k < in->n_configs; k++)
            if (kwi_mock_cfg_lookup(in->configs[k].name) == id) {
                c->value = in->configs[k].value;
                c->config_source = SRC_DYNAMIC_TOPIC;
            }
        if (c->config_source == SRC_DEFAULT) {
            char buf[32];
            bool dflt;
            const char *v =
                kwi_mock_cfg_value(req->m, NULL, (kwi_mock_cfg_id)id, buf, sizeof(buf), &dflt);
            char *copy = kwi_mock_req_strdup(req, kw_slice_str(v));
            if (!copy)
                return KW_ERR_NOMEM;
            c->value = kw_slice_str(copy);
        }
    }
    return KW_ERR_OK;
}

/* Manual assignments: rows for partitions 0..n-1, each of the same number of distinct, known
 * brokers; the counts must then be left to the broker (-1). */
static int16_t
check_assignments(kwi_mock_req *req, const kw_creatable_topic *in, int32_t *parts, int16_t *rf,
                  const int32_t ***rows, kw_slice *msg)
{
    if (in->num_partitions != -1 || in->replication_factor != -1) {
        *msg = kw_slice_str("Both numPartitions or replicationFactor and replicasAssignments "
                            "were set. Both cannot be used at the same time.");
        return KWI_E_INVALID_REQUEST;
    }
    const int32_t **r = kwi_mock_req_alloc(req, (size_t)in->n_assignments, sizeof(*r));
    if (!r)
        return -1;
    *parts = in->n_assignments;
    /* A hostile count is caught by row_ok (at most the broker count), whatever the cast. */
    *rf = (int16_t)in->assignments[0].n_broker_ids;
    for (int32_t k = 0; k < in->n_assignments; k++) {
        const kw_creatable_replica_assignment *a = &in->assignments[k];
        if (a->partition_index < 0 || a->partition_index >= *parts || r[a->partition_index] ||
            !row_ok(req->m, a->broker_ids, a->n_broker_ids, *rf)) {
            *msg = kw_slice_str("Invalid replica assignment: partitions must be 0..n-1, each "
                                "with the same number of distinct, known brokers.");
            return KWI_E_INVALID_REPLICA_ASSIGNMENT;
        }
        r[a->partition_index] = a->broker_ids;
    }
    *rows = r;
    return KWI_E_NONE;
}

/* Checks one topic; returns its error and message, or NONE with the resolved counts and the
 * assignment rows (from the arena, or NULL for the default spread). */
static int16_t
check_create(kwi_mock_req *req, const kw_create_topics_req *rq, int32_t i, int32_t *parts,
             int16_t *rf, const int32_t ***rows, kw_slice *msg)
{
    kw_mock *m = req->m;
    const kw_creatable_topic *in = &rq->topics[i];
    *rows = NULL;
    if (duplicated(rq->topics, rq->n_topics, sizeof(*in), offsetof(kw_creatable_topic, name), i)) {
        *msg = fmt_msg(req,
                       "Create topics request from client contains multiple requests for "
                       "the topic %.*s",
                       NLEN(in->name), NPTR(in->name));
        return KWI_E_INVALID_REQUEST;
    }
    const char *why = kwi_mock_topic_name_invalid(in->name);
    if (why) {
        *msg = kw_slice_str(why);
        return KWI_E_INVALID_TOPIC;
    }
    if (kwi_mock_topic_find(m, in->name)) {
        *msg = fmt_msg(req, "Topic '%.*s' already exists.", NLEN(in->name), NPTR(in->name));
        return KWI_E_TOPIC_ALREADY_EXISTS;
    }
    for (int32_t k = 0; k < in->n_configs; k++) {
        int id = kwi_mock_cfg_lookup(in->configs[k].name);
        why = id < 0 ? "Unknown topic config name"
                     : kwi_mock_cfg_check((kwi_mock_cfg_id)id, in->configs[k].value);
        if (why) {
            kw_slice cn = in->configs[k].name;
            *msg = fmt_msg(req, "Invalid config %.*s: %s", NLEN(cn), NPTR(cn), why);
            return KWI_E_INVALID_CONFIG;
        }
    }
    *parts = in->num_partitions == -1 ? m->conf.default_partitions : in->num_partitions;
    *rf =
        in->replication_factor == -1 ? m->conf.default_replication_factor : in->replication_factor;
    if (in->n_assignments > 0)
        return check_assignments(req, in, parts, rf, rows, msg);
    if (*parts < 1 || *parts > KW_MOCK_MAX_PARTITIONS) {
        *msg = *parts < 1 ? kw_slice_str("Number of partitions must be larger than 0.")
                          : kw_slice_str("More partitions than kwire-mock allows in one topic.");
        return KWI_E_INVALID_PARTITIONS;
    }
    if (*rf < 1) {
        *msg = kw_slice_str("Replication factor must be larger than 0.");
        return KWI_E_INVALID_REPLICATION_FACTOR;
    }
    if (*rf > m->n_brokers) {
        *msg = fmt_msg(req, "Replication factor: %d larger than available brokers: %d.", (int)*rf,
                       (int)m->n_brokers);
        return KWI_E_INVALID_REPLICATION_FACTOR;
    }
    return KWI_E_NONE;
}

static int16_t
create_one(kwi_mock_req *req, const kw_create_topics_req *rq, int32_t i,
           kw_creatable_topic_result *out)
{
    kw_mock *m = req->m;
    const kw_creatable_topic *in = &rq->topics[i];
    int32_t parts = -1;
    int16_t rf = -1;
    const int32_t **rows;
    int16_t ec = check_create(req, rq, i, &parts, &rf, &rows, &out->error_message);
    if (ec)
        return ec;
    out->num_partitions = parts;
    out->replication_factor = rf;
    if (rq->validate_only)
        return KWI_E_NONE;
    kwi_mock_topic *t;
    ec = kwi_mock_topic_create(m, in->name, parts, rf, rows, &t);
    if (ec)
        return ec;
    for (int32_t k = 0; k < in->n_configs; k++) {
        int id = kwi_mock_cfg_lookup(in->configs[k].name);
        if (kwi_mock_cfg_set(m, t, (kwi_mock_cfg_id)id, in->configs[k].value)) {
            kwi_mock_topic_delete(m, t);
            return -1; /* checked above, so only out of memory */
        }
    }
    out->topic_id = t->id;
    return KWI_E_NONE;
}

static kw_err
create_topics(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_create_topics_req *rq = msg;
    kw_create_topics_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.topics = kwi_mock_req_alloc(req, (size_t)rq->n_topics, sizeof(*resp.topics));
    if (!resp.topics)
        return KW_ERR_NOMEM;
    resp.n_topics = rq->n_topics;
    for (int32_t i = 0; i < rq->n_topics; i++) {
        kw_creatable_topic_result *out = &resp.topics[i];
        out->name = rq->topics[i].name;
        out->error_message = KW_SLICE_NULL;
        out->num_partitions = -1;
        out->replication_factor = -1;
        out->n_configs = -1;
        int16_t ec = create_one(req, rq, i, out);
        if (ec < 0) {
            ec = KWI_E_UNKNOWN_SERVER;
            out->error_message = kw_slice_str("out of memory");
        }
        out->error_code = ec;
        if (ec) {
            out->num_partitions = out->replication_factor = -1;
        } else if (ver >= 5 && result_configs(req, &rq->topics[i], out)) {
            return KW_ERR_NOMEM;
        }
    }
    return kwi_mock_reply(req, &resp);
}

/* ---------------------------------------------------------------- DeleteTopics */

static int16_t
delete_one(kwi_mock_req *req, kw_slice name, const kw_uuid *id, kw_deletable_topic_result *out)
{
    kw_mock *m = req->m;
    bool by_id = id && !kwi_mock_uuid_zero(id);
    if (by_id && name.len >= 0) {
        out->error_message = kw_slice_str("A topic is named by both name and id.");
        return KWI_E_INVALID_REQUEST;
    }
    if (!by_id && name.len < 0) {
        out->error_message = kw_slice_str("A topic is named by neither name nor id.");
        return KWI_E_INVALID_REQUEST;
    }
    kwi_mock_topic *t = by_id ? kwi_mock_topic_find_id(m, id) : kwi_mock_topic_find(m, name);
    if (!t) {
        out->error_message =
            kw_slice_str(by_id ? "This server does not host this topic ID."
                               : "This server does not host this topic-partition.");
        return by_id ? KWI_E_UNKNOWN_TOPIC_ID : KWI_E_UNKNOWN_TOPIC_OR_PARTITION;
    }
    out->topic_id = t->id;
    if (by_id) {
        char *copy =
            kwi_mock_req_strdup(req, (kw_slice){(const uint8_t *)t->name, (int32_t)t->name_len});
        if (!copy)
            return -1;
        out->name = kw_slice_str(copy);
    }
    kwi_mock_topic_delete(m, t);
    return KWI_E_NONE;
}

static kw_err
delete_topics(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_delete_topics_req *rq = msg;
    int32_t n = ver >= 6 ? rq->n_topics : rq->n_topic_names;
    kw_delete_topics_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.responses = kwi_mock_req_alloc(req, (size_t)(n > 0 ? n : 0), sizeof(*resp.responses));
    if (!resp.responses)
        return KW_ERR_NOMEM;
    resp.n_responses = n > 0 ? n : 0;
    for (int32_t i = 0; i < resp.n_responses; i++) {
        kw_deletable_topic_result *out = &resp.responses[i];
        kw_slice name = ver >= 6 ? rq->topics[i].name : rq->topic_names[i];
        out->name = name;
        out->error_message = KW_SLICE_NULL;
        int16_t ec = delete_one(req, name, ver >= 6 ? &rq->topics[i].topic_id : NULL, out);
        out->error_code = ec < 0 ? KWI_E_UNKNOWN_SERVER : ec;
    }
    return kwi_mock_reply(req, &resp);
}

/* ---------------------------------------------------------------- CreatePartitions */

static int16_t
grow_one(kwi_mock_req *req, const kw_create_partitions_req *rq, int32_t i, kw_slice *msg)
{
    kw_mock *m = req->m;
    const kw_create_partitions_topic *in = &rq->topics[i];
    if (duplicated(rq->topics, rq->n_topics, sizeof(*in),
                   offsetof(kw_create_partitions_topic, name), i)) {
        *msg = kw_slice_str("Duplicate topic in request.");
        return KWI_E_INVALID_REQUEST;
    }
    kwi_mock_topic *t = kwi_mock_topic_find(m, in->name);
    if (!t) {
        *msg = fmt_msg(req, "The topic '%.*s' does not exist.", NLEN(in->name), NPTR(in->name));
        return KWI_E_UNKNOWN_TOPIC_OR_PARTITION;
    }
    if (in->count < t->n_parts) {
        *msg = fmt_msg(req,
                       "Topic currently has %d partitions, which is higher than the "
                       "requested %d.",
                       (int)t->n_parts, (int)in->count);
        return KWI_E_INVALID_PARTITIONS;
    }
    if (in->count > KW_MOCK_MAX_PARTITIONS) {
        *msg = fmt_msg(req, "More than %d partitions in one topic.", KW_MOCK_MAX_PARTITIONS);
        return KWI_E_INVALID_PARTITIONS;
    }
    if (in->count == t->n_parts) {
        *msg = fmt_msg(req, "Topic already has %d partitions.", (int)t->n_parts);
        return KWI_E_INVALID_PARTITIONS;
    }
    const int32_t **rows = NULL;
    if (in->n_assignments >= 0) {
        int32_t add = in->count - t->n_parts;
        rows = kwi_mock_req_alloc(req, (size_t)add, sizeof(*rows));
        if (!rows)
            return -1;
        bool ok = in->n_assignments == add;
        for (int32_t k = 0; ok && k < add; k++) {
            ok = row_ok(m, in->assignments[k].broker_ids, in->assignments[k].n_broker_ids,
                        t->replication_factor);
            rows[k] = in->assignments[k].broker_ids;
        }
        if (!ok) {
            *msg = kw_slice_str("Invalid assignment: one row per new partition, each with the "
                                "topic's replication factor of distinct, known brokers.");
            return KWI_E_INVALID_REPLICA_ASSIGNMENT;
        }
    }
    if (rq->validate_only)
        return KWI_E_NONE;
    return kwi_mock_topic_grow(m, t, in->count, rows) ? -1 : KWI_E_NONE;
}

static kw_err
create_partitions(kwi_mock_req *req, int16_t ver, void *msg)
{
    (void)ver;
    const kw_create_partitions_req *rq = msg;
    kw_create_partitions_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.results = kwi_mock_req_alloc(req, (size_t)rq->n_topics, sizeof(*resp.results));
    if (!resp.results)
        return KW_ERR_NOMEM;
    resp.n_results = rq->n_topics;
    for (int32_t i = 0; i < rq->n_topics; i++) {
        kw_create_partitions_topic_result *out = &resp.results[i];
        out->name = rq->topics[i].name;
        out->error_message = KW_SLICE_NULL;
        int16_t ec = grow_one(req, rq, i, &out->error_message);
        if (ec < 0) {
            ec = KWI_E_UNKNOWN_SERVER;
            out->error_message = kw_slice_str("out of memory");
        }
        out->error_code = ec;
    }
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_admin_init(kw_mock *m)
{
    kw_err e = kwi_mock_api_register(m, &kw_msg_create_topics_req, -1, -1, create_topics, NULL);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_delete_topics_req, -1, -1, delete_topics, NULL);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_create_partitions_req, -1, -1, create_partitions,
                                  NULL);
    return e;
}
