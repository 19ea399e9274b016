/* DescribeConfigs (topic resources at any broker, a broker's own configs at that broker) and
 * describe topics: the topics' Metadata (leaders, replicas, ISR) and their configs in one
 * call. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/admin_int.h"

/* ---- DescribeConfigs --------------------------------------------------------------------- */

typedef struct dc_item {
    kwi_aitem h;
    int8_t type;
    const char *name;
    kw_slice *keys; /* n_keys -1 = all */
    int32_t n_keys;
    kw_config_entry *configs;
    int32_t n_configs;
} dc_item;

/* The node that must answer: a broker resource is described by that broker. */
static int32_t
dc_node(const dc_item *it, int32_t any)
{
    if (it->type != KW_RESOURCE_BROKER || !it->name[0])
        return any;
    char *end;
    long id = strtol(it->name, &end, 10);
    return *end || id < 0 || id > INT32_MAX ? any : (int32_t)id;
}

static void
on_describe_configs(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp)
{
    const kw_describe_configs_resp *m = resp->body;
    for (int32_t i = 0; i < m->n_results; i++) {
        const kw_describe_configs_result *res = &m->results[i];
        int32_t j = kwi_areq_match(op, rq, offsetof(dc_item, name), res->resource_name, i);
        if (j < 0)
            continue;
        dc_item *it = kwi_aop_item(op, j);
        if (it->type != res->resource_type)
            continue;
        kwi_aitem_broker(&it->h, res->error_code, res->error_message, "DescribeConfigs", "%s %s",
                         it->type == KW_RESOURCE_BROKER ? "broker" : "topic", it->name);
        if (res->error_code == 0) {
            it->configs = kwi_aop_configs(op, res->configs, res->n_configs, &it->n_configs);
            if (!it->configs)
                kwi_aitem_fail(&it->h, KW_ERR_NOMEM, "out of memory");
        }
    }
    kwi_areq_left_out(op, rq, "DescribeConfigs", "resource");
}

/* The resource an item asks about: its type, name and config keys. */
typedef kw_describe_configs_resource (*resource_fn)(kwi_aop *op, int32_t i);

/* One DescribeConfigs request to `node` for the pending items placed there (dest == node),
 * shared by DescribeConfigs and describe topics. */
static kwi_areq *
send_configs(kwi_aop *op, int32_t node, kwi_areq_fn fn, kwi_areq_err_fn on_error, resource_fn res)
{
    int32_t n = 0;
    for (int32_t i = 0; i < op->n_items; i++)
        n += !kwi_aop_hdr(op, i)->done && kwi_aop_hdr(op, i)->dest == node;
    kwi_areq *rq = n ? kwi_areq_new(op, fn, n) : NULL;
    if (!rq) {
        if (n)
            kw_error_set(&op->last, KW_ERR_NOMEM, "out of memory");
        return NULL;
    }
    rq->node = node;
    rq->on_error = on_error;
    kw_describe_configs_req *m = kwi_areq_alloc(rq, 1, sizeof(*m));
    kw_describe_configs_resource *v = kwi_areq_alloc(rq, (size_t)n, sizeof(*v));
    for (int32_t i = 0; i < op->n_items; i++) {
        kwi_aitem *h = kwi_aop_hdr(op, i);
        if (h->done || h->dest != node)
            continue;
        if (v)
            v[rq->n_idx] = res(op, i);
        rq->idx[rq->n_idx++] = i;
    }
    if (m && v) {
        m->resources = v;
        m->n_resources = rq->n_idx;
    }
    kwi_areq_send_or_fail(op, rq, KWI_API_DESCRIBE_CONFIG, m && v ? m : NULL, 0);
    return rq;
}

static kw_describe_configs_resource
dc_resource(kwi_aop *op, int32_t i)
{
    const dc_item *it = kwi_aop_item(op, i);
    return (kw_describe_configs_resource){
        it->type, kw_slice_str(it->name), it->keys, it->n_keys, {NULL, 0}};
}

static void
dc_dispatch(kwi_aop *op, const kwi_amd *md)
{
    int32_t any = md->view->broker_id;
    /* One request per node: the first pending item not yet placed names the next node, and
     * every pending item for that node goes with it. */
    for (int32_t i = 0; i < op->n_items; i++) {
        dc_item *it = kwi_aop_item(op, i);
        if (it->h.done || it->h.dest >= 0)
            continue;
        int32_t node = dc_node(it, any);
        if (node < 0) {
            kw_error_set(&op->last, KW_ERR_NOT_FOUND, "no broker to ask for configs");
            return;
        }
        for (int32_t k = i; k < op->n_items; k++) {
            dc_item *o = kwi_aop_item(op, k);
            if (!o->h.done && o->h.dest < 0 && dc_node(o, any) == node)
                o->h.dest = node;
        }
        send_configs(op, node, on_describe_configs, NULL, dc_resource);
    }
}

static kw_err
dc_result(kwi_aop *op, kw_admin_result *r)
{
    kw_config_resource_result *v = kwi_aop_alloc(op, (size_t)op->n_items, sizeof(*v));
    if (!v)
        return KW_ERR_NOMEM;
    for (int32_t i = 0; i < op->n_items; i++) {
        dc_item *it = kwi_aop_item(op, i);
        v[i] =
            (kw_config_resource_result){it->type, it->name, &it->h.e, it->configs, it->n_configs};
    }
    r->resources = v;
    r->n_resources = op->n_items;
    return KW_ERR_OK;
}

static const kwi_akind k_describe_configs = {
    KW_ADMIN_DESCRIBE_CONFIGS, "DescribeConfigs", false, dc_dispatch, NULL, dc_result, NULL};

static kw_err
dc_copy(kwi_aop *op, void *item, const void *entry, kw_error *err)
{
    dc_item *it = item;
    const kw_config_resource *in = entry;
    if (!in->name || (in->type != KW_RESOURCE_TOPIC && in->type != KW_RESOURCE_BROKER))
        return kw_error_set(err, KW_ERR_INVALID_ARG,
                            "a resource needs a name and type KW_RESOURCE_TOPIC or _BROKER");
    if (in->n_keys < 0 || (in->n_keys > 0 && !in->keys))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "resource %s: bad key count", in->name);
    it->type = in->type;
    it->name = kwi_aop_strdup(op, in->name);
    it->n_keys = -1;
    if (in->keys) {
        it->keys = kwi_aop_alloc(op, (size_t)in->n_keys, sizeof(kw_slice));
        for (int32_t k = 0; it->keys && k < in->n_keys; k++)
            it->keys[k] = kw_slice_str(kwi_aop_strdup(op, in->keys[k] ? in->keys[k] : ""));
        it->n_keys = in->n_keys;
        if (!it->keys)
            return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    return it->name ? KW_ERR_OK : kw_error_set(err, KW_ERR_NOMEM, "out of memory");
}

kw_err
kw_admin_describe_configs(kw_admin *ad, const kw_config_resource *res, size_t n,
                          const kw_admin_opts *o, kw_admin_cb cb, void *ud, kw_error *err)
{
    const kwi_acall call = {&k_describe_configs, sizeof(dc_item), res,           n,
                            sizeof(*res),        dc_copy,         "no resources"};
    return kwi_admin_call(ad, &call, o, cb, ud, err);
}

/* ---- describe topics --------------------------------------------------------------------- */

typedef struct tdesc_item {
    kwi_aitem h;
    const char *name;
    bool have_md; /* the Metadata part is in; the configs are what is pending */
    kw_uuid id;
    bool internal;
    kw_partition_info *parts;
    int32_t n_parts;
    kw_error cfg_e;
    kw_config_entry *configs;
    int32_t n_configs;
} tdesc_item;

static int
part_cmp(const void *a, const void *b)
{
    const kw_partition_info *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

static int32_t *
ids_dup(kwi_aop *op, const int32_t *v, int32_t n)
{
    int32_t *d = kwi_aop_alloc(op, (size_t)(n > 0 ? n : 0), sizeof(int32_t));
    if (d && n > 0)
        memcpy(d, v, (size_t)n * sizeof(int32_t));
    return d;
}

static bool
copy_md(kwi_aop *op, tdesc_item *it, const kw_metadata_resp_topic *t)
{
    it->id = t->topic_id;
    it->internal = t->is_internal;
    int32_t n = t->n_partitions > 0 ? t->n_partitions : 0;
    it->parts = kwi_aop_alloc(op, (size_t)n, sizeof(*it->parts));
    if (!it->parts)
        return false;
    for (int32_t i = 0; i < n; i++) {
        const kw_metadata_resp_partition *p = &t->partitions[i];
        kw_partition_info *o = &it->parts[i];
        o->id = p->partition_index;
        o->leader = p->leader_id;
        o->leader_epoch = p->leader_epoch;
        o->error = p->error_code;
        o->replicas = ids_dup(op, p->replica_nodes, p->n_replica_nodes);
        o->n_replicas = p->n_replica_nodes > 0 ? p->n_replica_nodes : 0;
        o->isr = ids_dup(op, p->isr_nodes, p->n_isr_nodes);
        o->n_isr = p->n_isr_nodes > 0 ? p->n_isr_nodes : 0;
        o->offline = ids_dup(op, p->offline_replicas, p->n_offline_replicas);
        o->n_offline = p->n_offline_replicas > 0 ? p->n_offline_replicas : 0;
        if (!o->replicas || !o->isr || !o->offline)
            return false;
    }
    qsort(it->parts, (size_t)n, sizeof(*it->parts), part_cmp);
    it->n_parts = n;
    it->have_md = true;
    return true;
}

/* The topics are described; only their configs failed. A retriable failure asks again;
 * another one (no DescribeConfigs on the broker) is the configs' outcome. */
static void
topic_configs_failed(kwi_aop *op, kwi_areq *rq, const kw_error *d)
{
    for (int32_t k = 0; k < rq->n_idx; k++) {
        tdesc_item *it = kwi_aop_item(op, rq->idx[k]);
        if (it->h.done || it->h.dest != rq->node)
            continue;
        kwi_aitem_fail(&it->h, d->code, d->msg);
        if (it->h.done) {
            it->cfg_e = it->h.e;
            kwi_aitem_ok(&it->h);
        }
    }
}

static void
on_topic_configs(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp)
{
    const kw_describe_configs_resp *m = resp->body;
    for (int32_t i = 0; i < m->n_results; i++) {
        const kw_describe_configs_result *res = &m->results[i];
        int32_t j = kwi_areq_match(op, rq, offsetof(tdesc_item, name), res->resource_name, i);
        if (j < 0)
            continue;
        tdesc_item *it = kwi_aop_item(op, j);
        kwi_aitem tmp = {false, -1, it->cfg_e};
        kwi_aitem_broker(&tmp, res->error_code, res->error_message, "DescribeConfigs", "topic %s",
                         it->name);
        it->cfg_e = tmp.e;
        if (!tmp.done) {
            it->h.e = tmp.e; /* retriable: the next attempt asks again */
            it->h.dest = -1;
            continue;
        }
        if (res->error_code == 0 &&
            !(it->configs = kwi_aop_configs(op, res->configs, res->n_configs, &it->n_configs)))
            kw_error_set(&it->cfg_e, KW_ERR_NOMEM, "out of memory");
        kwi_aitem_ok(&it->h); /* the topic is described; its config outcome is cfg_e */
    }
    for (int32_t k = 0; k < rq->n_idx; k++) {
        tdesc_item *it = kwi_aop_item(op, rq->idx[k]);
        if (!it->h.done && it->h.dest == rq->node)
            kw_error_set(&it->h.e, KW_ERR_MALFORMED, "topic %s: no DescribeConfigs result",
                         it->name);
    }
}

static kw_describe_configs_resource
tdesc_resource(kwi_aop *op, int32_t i)
{
    const tdesc_item *it = kwi_aop_item(op, i);
    return (kw_describe_configs_resource){
        KW_RESOURCE_TOPIC, kw_slice_str(it->name), NULL, -1, {NULL, 0}};
}

/* Every topic of the cluster, when the call named none: the items come from the Metadata. */
static bool
tdesc_all(kwi_aop *op, const kw_metadata_resp *m)
{
    int32_t n = m->n_topics > 0 ? m->n_topics : 0;
    tdesc_item *v = kwi_aop_alloc(op, (size_t)n, sizeof(*v));
    if (!v)
        return false;
    for (int32_t i = 0; i < n; i++) {
        v[i].h.dest = -1;
        if (!(v[i].name = kwi_aop_slicedup(op, m->topics[i].name)))
            return false;
    }
    op->md_all = false;
    op->unplaced = false;
    kwi_aop_rephase(op, v, n, sizeof(*v));
    op->now = false;
    /* Later attempts (a retriable error) ask for these topics by name. */
    op->md_topics = kwi_aop_alloc(op, (size_t)n, sizeof(kw_slice));
    for (int32_t i = 0; op->md_topics && i < n; i++)
        op->md_topics[i] = kw_slice_str(v[i].name);
    op->n_md_topics = op->md_topics ? n : 0;
    return op->md_topics != NULL;
}

static void
tdesc_dispatch(kwi_aop *op, const kwi_amd *md)
{
    if (op->md_all && !tdesc_all(op, md->tmd)) {
        kw_error_set(&op->last, KW_ERR_NOMEM, "out of memory");
        return;
    }
    for (int32_t i = 0; i < op->n_items; i++) {
        tdesc_item *it = kwi_aop_item(op, i);
        if (it->h.done)
            continue;
        const kw_metadata_resp_topic *t = kwi_amd_topic(md->tmd, it->name);
        int16_t code = t ? t->error_code : KWI_E_UNKNOWN_TOPIC;
        if (code != 0) {
            kwi_aitem_broker(&it->h, code, KW_SLICE_NULL, "Metadata", "topic %s", it->name);
            /* An unknown topic is final here: nothing was auto-created. */
            it->h.done = it->h.done || code == KWI_E_UNKNOWN_TOPIC;
            continue;
        }
        if (!copy_md(op, it, t))
            kwi_aitem_fail(&it->h, KW_ERR_NOMEM, "out of memory");
    }
    /* Then the configs of the topics that exist, from the broker that answered. */
    for (int32_t i = 0; i < op->n_items; i++)
        if (!kwi_aop_hdr(op, i)->done)
            kwi_aop_hdr(op, i)->dest = md->view->broker_id;
    send_configs(op, md->view->broker_id, on_topic_configs, topic_configs_failed, tdesc_resource);
}

static kw_err
tdesc_result(kwi_aop *op, kw_admin_result *r)
{
    kw_topic_description *v = kwi_aop_alloc(op, (size_t)op->n_items, sizeof(*v));
    if (!v)
        return KW_ERR_NOMEM;
    for (int32_t i = 0; i < op->n_items; i++) {
        tdesc_item *it = kwi_aop_item(op, i);
        /* Config errors of a topic whose Metadata failed are that failure. */
        if (!it->have_md || it->h.e.code != KW_ERR_OK)
            it->cfg_e = it->h.e;
        v[i] = (kw_topic_description){it->name,    &it->h.e,   it->id,      it->internal, it->parts,
                                      it->n_parts, &it->cfg_e, it->configs, it->n_configs};
        /* A topic described but whose configs never came: the timeout is the config's. */
        if (it->have_md && it->h.e.code == KW_ERR_TIMED_OUT) {
            it->cfg_e = it->h.e;
            kw_error_init(&it->h.e);
        }
    }
    r->descriptions = v;
    r->n_descriptions = op->n_items;
    return KW_ERR_OK;
}

static const kwi_akind k_describe_topics = {
    KW_ADMIN_DESCRIBE_TOPICS, "DescribeTopics", true, tdesc_dispatch, NULL, tdesc_result, NULL};

kw_err
kw_admin_describe_topics(kw_admin *ad, const char *const *names, size_t n, const kw_admin_opts *o,
                         kw_admin_cb cb, void *ud, kw_error *err)
{
    kw_err e = kwi_admin_check_names(names, n, "topic", "name", err);
    if (e != KW_ERR_OK)
        return e;
    kwi_aop *op = kwi_admin_begin(ad, &k_describe_topics, n, sizeof(tdesc_item), o, cb, ud, err);
    if (!op)
        return err ? err->code : KW_ERR_INVALID_ARG;
    /* Every topic: the items are the topics of the first Metadata answer. */
    op->md_all = op->unplaced = n == 0;
    op->md_topics = kwi_aop_alloc(op, n, sizeof(kw_slice));
    if (!op->md_topics)
        e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && e == KW_ERR_OK; i++) {
        tdesc_item *it = kwi_aop_item(op, (int32_t)i);
        if (!(it->name = kwi_aop_strdup(op, names[i])))
            e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        else
            op->md_topics[i] = kw_slice_str(it->name);
    }
    op->n_md_topics = (int32_t)n;
    return kwi_admin_end(op, e);
}
