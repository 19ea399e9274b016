/* Topic administration: CreateTopics, DeleteTopics and CreatePartitions (at the controller,
 * retrying NOT_CONTROLLER after a metadata refresh), DescribeConfigs (topic resources at any
 * broker, broker resources at that broker) and describe topics (Metadata plus DescribeConfigs).
 * Each request carries every item still pending; the response is matched back by name. */
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

static void
on_create(kwi_aop *op, kwi_areq *rq, kw_err err, const kw_error *d, const kwi_resp *resp)
{
    if (err != KW_ERR_OK) {
        kwi_areq_fail_rest(op, rq, err, d->msg);
        return;
    }
    const kw_create_topics_resp *m = resp->body;
    for (int32_t i = 0; i < m->n_topics; i++) {
        const kw_creatable_topic_result *t = &m->topics[i];
        int32_t j = kwi_areq_match(op, rq, offsetof(ct_item, name), t->name, i);
        if (j < 0)
            continue;
        ct_item *it = kwi_aop_item(op, j);
        char what[300];
        snprintf(what, sizeof(what), "topic %s", it->name);
        kwi_aitem_broker(&it->h, t->error_code, t->error_message, "CreateTopics", what);
        if (t->error_code != 0)
            continue;
        it->r.id = t->topic_id;
        it->r.partitions = resp->ver >= 5 ? t->num_partitions : -1;
        it->r.replication_factor = resp->ver >= 5 ? t->replication_factor : -1;
        if (resp->ver >= 5 && t->n_configs > 0) {
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
    }
    kwi_areq_fail_rest(op, rq, KW_ERR_MALFORMED,
                       "the broker's CreateTopics response left the topic out");
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

static const kwi_akind k_create = {KW_ADMIN_CREATE_TOPICS, "CreateTopics", false,
                                   create_dispatch,        NULL,           create_result};

void
kw_new_topic_init(kw_new_topic *t)
{
    memset(t, 0, sizeof(*t));
    t->partitions = -1;
    t->replication_factor = -1;
}

static kw_err
copy_new_topic(kwi_aop *op, ct_item *it, const kw_new_topic *in, kw_error *err)
{
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
    if (n > 0 && !topics)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no topics");
    kwi_aop *op = kwi_admin_begin(ad, &k_create, n, sizeof(ct_item), o, cb, ud, err);
    if (!op)
        return err ? err->code : KW_ERR_INVALID_ARG;
    kw_err e = KW_ERR_OK;
    for (size_t i = 0; i < n && e == KW_ERR_OK; i++)
        e = copy_new_topic(op, kwi_aop_item(op, (int32_t)i), &topics[i], err);
    return kwi_admin_end(op, e);
}

/* ---- DeleteTopics ------------------------------------------------------------------------ */

typedef struct dt_item {
    kwi_aitem h;
    const char *name;
} dt_item;

static void
on_delete(kwi_aop *op, kwi_areq *rq, kw_err err, const kw_error *d, const kwi_resp *resp)
{
    if (err != KW_ERR_OK) {
        kwi_areq_fail_rest(op, rq, err, d->msg);
        return;
    }
    const kw_delete_topics_resp *m = resp->body;
    for (int32_t i = 0; i < m->n_responses; i++) {
        const kw_deletable_topic_result *t = &m->responses[i];
        int32_t j = kwi_areq_match(op, rq, offsetof(dt_item, name), t->name, i);
        if (j < 0)
            continue;
        dt_item *it = kwi_aop_item(op, j);
        char what[300];
        snprintf(what, sizeof(what), "topic %s", it->name);
        kwi_aitem_broker(&it->h, t->error_code, t->error_message, "DeleteTopics", what);
    }
    kwi_areq_fail_rest(op, rq, KW_ERR_MALFORMED,
                       "the broker's DeleteTopics response left the topic out");
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

static const kwi_akind k_delete = {KW_ADMIN_DELETE_TOPICS, "DeleteTopics", false,
                                   delete_dispatch,        NULL,           delete_result};

kw_err
kw_admin_delete_topics(kw_admin *ad, const char *const *names, size_t n, const kw_admin_opts *o,
                       kw_admin_cb cb, void *ud, kw_error *err)
{
    if (n > 0 && !names)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no topics");
    for (size_t i = 0; i < n; i++)
        if (!names[i] || !*names[i])
            return kw_error_set(err, KW_ERR_INVALID_ARG, "topic %zu has no name", i);
    kwi_aop *op = kwi_admin_begin(ad, &k_delete, n, sizeof(dt_item), o, cb, ud, err);
    if (!op)
        return err ? err->code : KW_ERR_INVALID_ARG;
    kw_err e = KW_ERR_OK;
    for (size_t i = 0; i < n && e == KW_ERR_OK; i++) {
        dt_item *it = kwi_aop_item(op, (int32_t)i);
        if (!(it->name = kwi_aop_strdup(op, names[i])))
            e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    return kwi_admin_end(op, e);
}

/* ---- CreatePartitions -------------------------------------------------------------------- */

typedef struct cp_item {
    kwi_aitem h;
    const char *name;
    kw_create_partitions_topic t;
} cp_item;

static void
on_create_parts(kwi_aop *op, kwi_areq *rq, kw_err err, const kw_error *d, const kwi_resp *resp)
{
    if (err != KW_ERR_OK) {
        kwi_areq_fail_rest(op, rq, err, d->msg);
        return;
    }
    const kw_create_partitions_resp *m = resp->body;
    for (int32_t i = 0; i < m->n_results; i++) {
        const kw_create_partitions_topic_result *t = &m->results[i];
        int32_t j = kwi_areq_match(op, rq, offsetof(cp_item, name), t->name, i);
        if (j < 0)
            continue;
        cp_item *it = kwi_aop_item(op, j);
        char what[300];
        snprintf(what, sizeof(what), "topic %s", it->name);
        kwi_aitem_broker(&it->h, t->error_code, t->error_message, "CreatePartitions", what);
    }
    kwi_areq_fail_rest(op, rq, KW_ERR_MALFORMED,
                       "the broker's CreatePartitions response left the topic out");
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

static const kwi_akind k_create_parts = {
    KW_ADMIN_CREATE_PARTITIONS, "CreatePartitions", false, create_parts_dispatch, NULL,
    create_parts_result};

static kw_err
copy_new_parts(kwi_aop *op, cp_item *it, const kw_new_partitions *in, kw_error *err)
{
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
    if (n > 0 && !parts)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no topics");
    kwi_aop *op = kwi_admin_begin(ad, &k_create_parts, n, sizeof(cp_item), o, cb, ud, err);
    if (!op)
        return err ? err->code : KW_ERR_INVALID_ARG;
    kw_err e = KW_ERR_OK;
    for (size_t i = 0; i < n && e == KW_ERR_OK; i++)
        e = copy_new_parts(op, kwi_aop_item(op, (int32_t)i), &parts[i], err);
    return kwi_admin_end(op, e);
}
