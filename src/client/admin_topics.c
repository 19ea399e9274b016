/* Topic administration: CreateTopics, DeleteTopics and CreatePartitions (at the controller,
 * retrying NOT_CONTROLLER after a metadata refresh; DescribeConfigs and describe topics are in
 * admin_configs.c). Each request carries every item still pending; the response is matched
 * back by name (kwi_areq_topic_result). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin_int.h"

#define MAX_NEW_PARTS 100000
#define MAX_RF        64

/* ---- CreateTopics ------------------------------------------------------------------------ */

typedef struct ct_item {
    kwi_aitem h;
    const char *name;
    kw_creatable_topic t; /* the request entry, pointing into the call's arena */
    kw_topic_result r;
} ct_item;

/* CreateTopics v5+ returns each new topic's partitions, replication factor and configs. */
static void
ct_copy_result(kwi_aop *op, ct_item *it, const kw_creatable_topic_result *t, int16_t ver)
{
    it->r.id = t->topic_id;
    it->r.partitions = ver >= 5 ? t->num_partitions : -1;
    it->r.replication_factor = ver >= 5 ? t->replication_factor : -1;
    if (ver < 5 || t->n_configs <= 0)
        return;
    kw_config_entry *v = kwi_aop_alloc(op, (size_t)t->n_configs, sizeof(*v));
    for (int32_t k = 0; v && k < t->n_configs; k++) {
        v[k].name = kwi_aop_slicedup(op, t->configs[k].name);
        v[k].value = kwi_aop_slicedup(op, t->configs[k].value);
        v[k].read_only = t->configs[k].read_only;
        v[k].sensitive = t->configs[k].is_sensitive;
        v[k].source = t->configs[k].config_source;
        v[k].is_default = t->configs[k].config_source == 5;
    }
    it->r.configs = v;
    it->r.n_configs = v ? t->n_configs : 0;
}

static void
on_create(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp)
{
    const kw_create_topics_resp *m = resp->body;
    for (int32_t i = 0; i < m->n_topics; i++) {
        const kw_creatable_topic_result *t = &m->topics[i];
        ct_item *it = kwi_areq_topic_result(op, rq, offsetof(ct_item, name), i, t->name,
                                            t->error_code, t->error_message, "CreateTopics");
        if (it && t->error_code == 0)
            ct_copy_result(op, it, t, resp->ver);
    }
    kwi_areq_left_out(op, rq, "CreateTopics", "topic");
}

static void
create_dispatch(kwi_aop *op, const kwi_amd *md)
{
    kwi_areq *rq = kwi_aop_collect(op, on_create, md->view->controller_id);
    if (!rq)
        return;
    kw_create_topics_req *m = kwi_areq_alloc(rq, 1, sizeof(*m));
    kw_creatable_topic *v = kwi_areq_alloc(rq, (size_t)rq->n_idx, sizeof(*v));
    if (!m || !v) {
        kwi_areq_send_or_fail(op, rq, KWI_API_CREATE_TOPICS, NULL, 0);
        return;
    }
    int16_t min_ver = 0;
    for (int32_t k = 0; k < rq->n_idx; k++) {
        ct_item *it = kwi_aop_item(op, rq->idx[k]);
        v[k] = it->t;
        /* "Broker default" partitions or replication factor exist from v4 (KIP-464). */
        if (it->t.n_assignments == 0 && (it->t.num_partitions < 0 || it->t.replication_factor < 0))
            min_ver = 4;
    }
    m->topics = v;
    m->n_topics = rq->n_idx;
    m->timeout_ms = op->o.timeout_ms;
    m->validate_only = op->o.validate_only;
    kwi_areq_send_or_fail(op, rq, KWI_API_CREATE_TOPICS, m, min_ver);
}

static kw_err
topics_result(kwi_aop *op, kw_admin_result *r, size_t name_off, size_t res_off)
{
    kw_topic_result *v = kwi_aop_alloc(op, (size_t)op->n_items, sizeof(*v));
    if (!v)
        return KW_ERR_NOMEM;
    for (int32_t i = 0; i < op->n_items; i++) {
        kwi_aitem *it = kwi_aop_hdr(op, i);
        if (res_off)
            v[i] = *(const kw_topic_result *)((const char *)it + res_off);
        else
            v[i].partitions = v[i].replication_factor = -1;
        v[i].name = *(const char *const *)((const char *)it + name_off);
        v[i].error = &it->e;
    }
    r->topics = v;
    r->n_topics = op->n_items;
    return KW_ERR_OK;
}

static kw_err
create_result(kwi_aop *op, kw_admin_result *r)
{
    return topics_result(op, r, offsetof(ct_item, name), offsetof(ct_item, r));
}

static const kwi_akind k_create = {
    KW_ADMIN_CREATE_TOPICS, "CreateTopics", false, create_dispatch, NULL, create_result, NULL};

void
kw_new_topic_init(kw_new_topic *t)
{
    memset(t, 0, sizeof(*t));
    t->partitions = -1;
    t->replication_factor = -1;
}

static kw_err
copy_new_topic(kwi_aop *op, void *item, const void *entry, kw_error *err)
{
    ct_item *it = item;
    const kw_new_topic *in = entry;
    if (in->assignment && (in->partitions > MAX_NEW_PARTS || in->replication_factor > MAX_RF))
        return kw_error_set(err, KW_ERR_INVALID_ARG,
                            "an assignment of more than %d partitions or %d replicas",
                            MAX_NEW_PARTS, MAX_RF);
    if (!in->name)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "a topic without a name");
    if (in->n_configs < 0 || (in->n_configs > 0 && !in->configs))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "topic %s: bad config count", in->name);
    if (in->assignment && (in->partitions <= 0 || in->replication_factor <= 0))
        return kw_error_set(err, KW_ERR_INVALID_ARG,
                            "topic %s: a replica assignment needs positive partitions and "
                            "replication_factor (its shape)",
                            in->name);
    it->name = kwi_aop_strdup(op, in->name);
    it->t.name = kw_slice_str(it->name);
    it->t.num_partitions = in->assignment ? -1 : in->partitions;
    it->t.replication_factor = in->assignment ? -1 : in->replication_factor;
    it->r.partitions = it->r.replication_factor = -1;
    if (in->assignment) {
        int32_t rf = in->replication_factor, np = in->partitions;
        it->t.assignments = kwi_aop_alloc(op, (size_t)np, sizeof(*it->t.assignments));
        int32_t *ids = kwi_aop_alloc(op, (size_t)np * (size_t)rf, sizeof(int32_t));
        if (!it->t.assignments || !ids)
            return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        memcpy(ids, in->assignment, (size_t)np * (size_t)rf * sizeof(int32_t));
        for (int32_t p = 0; p < np; p++)
            it->t.assignments[p] =
                (kw_creatable_replica_assignment){p, ids + (size_t)p * rf, rf, {NULL, 0}};
        it->t.n_assignments = np;
    }
    if (in->n_configs > 0) {
        it->t.configs = kwi_aop_alloc(op, (size_t)in->n_configs, sizeof(*it->t.configs));
        if (!it->t.configs)
            return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        for (int32_t k = 0; k < in->n_configs; k++) {
            if (!in->configs[k].name)
                return kw_error_set(err, KW_ERR_INVALID_ARG, "topic %s: a config without a name",
                                    in->name);
            it->t.configs[k].name = kw_slice_str(kwi_aop_strdup(op, in->configs[k].name));
            it->t.configs[k].value = in->configs[k].value
                                         ? kw_slice_str(kwi_aop_strdup(op, in->configs[k].value))
                                         : KW_SLICE_NULL;
        }
        it->t.n_configs = in->n_configs;
    }
    return it->name ? KW_ERR_OK : kw_error_set(err, KW_ERR_NOMEM, "out of memory");
}

kw_err
kw_admin_create_topics(kw_admin *ad, const kw_new_topic *topics, size_t n, const kw_admin_opts *o,
                       kw_admin_cb cb, void *ud, kw_error *err)
{
    const kwi_acall call = {&k_create,       sizeof(ct_item), topics,     n,
                            sizeof(*topics), copy_new_topic,  "no topics"};
    return kwi_admin_call(ad, &call, o, cb, ud, err);
}

/* ---- DeleteTopics ------------------------------------------------------------------------ */

typedef struct dt_item {
    kwi_aitem h;
    const char *name;
} dt_item;

static void
on_delete(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp)
{
    const kw_delete_topics_resp *m = resp->body;
    for (int32_t i = 0; i < m->n_responses; i++) {
        const kw_deletable_topic_result *t = &m->responses[i];
        kwi_areq_topic_result(op, rq, offsetof(dt_item, name), i, t->name, t->error_code,
                              t->error_message, "DeleteTopics");
    }
    kwi_areq_left_out(op, rq, "DeleteTopics", "topic");
}

static void
delete_dispatch(kwi_aop *op, const kwi_amd *md)
{
    kwi_areq *rq = kwi_aop_collect(op, on_delete, md->view->controller_id);
    if (!rq)
        return;
    kw_delete_topics_req *m = kwi_areq_alloc(rq, 1, sizeof(*m));
    kw_delete_topic_state *v = kwi_areq_alloc(rq, (size_t)rq->n_idx, sizeof(*v));
    kw_slice *names = kwi_areq_alloc(rq, (size_t)rq->n_idx, sizeof(*names));
    if (!m || !v || !names) {
        kwi_areq_send_or_fail(op, rq, KWI_API_DELETE_TOPICS, NULL, 0);
        return;
    }
    /* Both forms: v6+ sends Topics[] (name or id), v1-5 TopicNames[]; the connection picks. */
    for (int32_t k = 0; k < rq->n_idx; k++) {
        dt_item *it = kwi_aop_item(op, rq->idx[k]);
        names[k] = kw_slice_str(it->name);
        v[k].name = names[k];
    }
    m->topics = v;
    m->n_topics = rq->n_idx;
    m->topic_names = names;
    m->n_topic_names = rq->n_idx;
    m->timeout_ms = op->o.timeout_ms;
    kwi_areq_send_or_fail(op, rq, KWI_API_DELETE_TOPICS, m, 0);
}

static kw_err
delete_result(kwi_aop *op, kw_admin_result *r)
{
    return topics_result(op, r, offsetof(dt_item, name), 0);
}

static const kwi_akind k_delete = {
    KW_ADMIN_DELETE_TOPICS, "DeleteTopics", false, delete_dispatch, NULL, delete_result, NULL};

static kw_err
copy_delete(kwi_aop *op, void *item, const void *entry, kw_error *err)
{
    dt_item *it = item;
    it->name = kwi_aop_strdup(op, *(const char *const *)entry);
    return it->name ? KW_ERR_OK : kw_error_set(err, KW_ERR_NOMEM, "out of memory");
}

kw_err
kw_admin_delete_topics(kw_admin *ad, const char *const *names, size_t n, const kw_admin_opts *o,
                       kw_admin_cb cb, void *ud, kw_error *err)
{
    kw_err e = kwi_admin_check_names(names, n, "topic", "name", err);
    const kwi_acall call = {&k_delete,      sizeof(dt_item), names,      n,
                            sizeof(*names), copy_delete,     "no topics"};
    return e != KW_ERR_OK ? e : kwi_admin_call(ad, &call, o, cb, ud, err);
}

/* ---- CreatePartitions -------------------------------------------------------------------- */

typedef struct cp_item {
    kwi_aitem h;
    const char *name;
    kw_create_partitions_topic t;
} cp_item;

static void
on_create_parts(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp)
{
    const kw_create_partitions_resp *m = resp->body;
    for (int32_t i = 0; i < m->n_results; i++) {
        const kw_create_partitions_topic_result *t = &m->results[i];
        kwi_areq_topic_result(op, rq, offsetof(cp_item, name), i, t->name, t->error_code,
                              t->error_message, "CreatePartitions");
    }
    kwi_areq_left_out(op, rq, "CreatePartitions", "topic");
}

static void
create_parts_dispatch(kwi_aop *op, const kwi_amd *md)
{
    kwi_areq *rq = kwi_aop_collect(op, on_create_parts, md->view->controller_id);
    if (!rq)
        return;
    kw_create_partitions_req *m = kwi_areq_alloc(rq, 1, sizeof(*m));
    kw_create_partitions_topic *v = kwi_areq_alloc(rq, (size_t)rq->n_idx, sizeof(*v));
    if (!m || !v) {
        kwi_areq_send_or_fail(op, rq, KWI_API_CREATE_PARTS, NULL, 0);
        return;
    }
    for (int32_t k = 0; k < rq->n_idx; k++)
        v[k] = ((cp_item *)kwi_aop_item(op, rq->idx[k]))->t;
    m->topics = v;
    m->n_topics = rq->n_idx;
    m->timeout_ms = op->o.timeout_ms;
    m->validate_only = op->o.validate_only;
    kwi_areq_send_or_fail(op, rq, KWI_API_CREATE_PARTS, m, 0);
}

static kw_err
create_parts_result(kwi_aop *op, kw_admin_result *r)
{
    return topics_result(op, r, offsetof(cp_item, name), 0);
}

static const kwi_akind k_create_parts = {KW_ADMIN_CREATE_PARTITIONS,
                                         "CreatePartitions",
                                         false,
                                         create_parts_dispatch,
                                         NULL,
                                         create_parts_result,
                                         NULL};

static kw_err
copy_new_parts(kwi_aop *op, void *item, const void *entry, kw_error *err)
{
    cp_item *it = item;
    const kw_new_partitions *in = entry;
    if (!in->topic || !*in->topic)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "a topic without a name");
    it->name = kwi_aop_strdup(op, in->topic);
    it->t.name = kw_slice_str(it->name);
    it->t.count = in->total;
    it->t.n_assignments = -1; /* null: the broker places the new partitions */
    if (in->assignment) {
        int32_t rf = in->replication_factor, nn = in->n_new;
        if (rf <= 0 || nn <= 0 || nn > MAX_NEW_PARTS || rf > MAX_RF)
            return kw_error_set(err, KW_ERR_INVALID_ARG,
                                "topic %s: an assignment needs n_new and replication_factor > 0",
                                in->topic);
        it->t.assignments = kwi_aop_alloc(op, (size_t)nn, sizeof(*it->t.assignments));
        int32_t *ids = kwi_aop_alloc(op, (size_t)nn * (size_t)rf, sizeof(int32_t));
        if (!it->t.assignments || !ids)
            return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        memcpy(ids, in->assignment, (size_t)nn * (size_t)rf * sizeof(int32_t));
        for (int32_t p = 0; p < nn; p++)
            it->t.assignments[p] =
                (kw_create_partitions_assignment){ids + (size_t)p * rf, rf, {NULL, 0}};
        it->t.n_assignments = nn;
    }
    return it->name ? KW_ERR_OK : kw_error_set(err, KW_ERR_NOMEM, "out of memory");
}

kw_err
kw_admin_create_partitions(kw_admin *ad, const kw_new_partitions *parts, size_t n,
                           const kw_admin_opts *o, kw_admin_cb cb, void *ud, kw_error *err)
{
    const kwi_acall call = {&k_create_parts, sizeof(cp_item), parts,      n,
                            sizeof(*parts),  copy_new_parts,  "no topics"};
    return kwi_admin_call(ad, &call, o, cb, ud, err);
}
