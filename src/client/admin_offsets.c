/* ListOffsets and DeleteRecords: the partitions are split by leader (from the attempt's own
 * Metadata), one request per leader, and the answers merged back into the items. Stale
 * metadata errors (NOT_LEADER_OR_FOLLOWER, LEADER_NOT_AVAILABLE, the epoch errors) keep an
 * item pending, so the next attempt routes it with fresh metadata. The same dispatch serves
 * the lag phase of group offsets (admin_groups.c). */
#include <stdio.h>
#include <string.h>

#include "client/admin_int.h"

/* Settles the item of rq that answers (topic, partition) from its broker code and returns
 * it; NULL when none does. The request's order is tried first (hint). */
static kwi_poff_item *
answer(kwi_aop *op, const kwi_areq *rq, kw_slice topic, int32_t part, int32_t *hint, int16_t code,
       const char *api)
{
    for (int32_t k = 0; k < rq->n_idx; k++) {
        int32_t pos = (*hint + k) % rq->n_idx;
        kwi_poff_item *it = kwi_aop_item(op, rq->idx[pos]);
        if (it->partition == part && it->h.dest == rq->node && !it->h.done &&
            kw_slice_eq(topic, it->topic)) {
            *hint = pos + 1;
            kwi_aitem_broker(&it->h, code, KW_SLICE_NULL, api, "%s [%d]", it->topic,
                             (int)it->partition);
            return it;
        }
    }
    return NULL;
}

static void
on_list_offsets(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp)
{
    const kw_list_offsets_resp *m = resp->body;
    int32_t hint = 0;
    for (int32_t i = 0; i < m->n_topics; i++) {
        const kw_list_offsets_resp_topic *t = &m->topics[i];
        for (int32_t k = 0; k < t->n_partitions; k++) {
            const kw_list_offsets_resp_partition *p = &t->partitions[k];
            kwi_poff_item *it =
                answer(op, rq, t->name, p->partition_index, &hint, p->error_code, "ListOffsets");
            if (!it)
                continue;
            it->offset = p->offset;
            it->timestamp = p->timestamp;
            it->leader_epoch = resp->ver >= 4 ? p->leader_epoch : -1;
        }
    }
    kwi_areq_left_out(op, rq, "ListOffsets", "partition");
}

static void
on_delete_records(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp)
{
    const kw_delete_records_resp *m = resp->body;
    int32_t hint = 0;
    for (int32_t i = 0; i < m->n_topics; i++) {
        const kw_delete_records_resp_topic *t = &m->topics[i];
        for (int32_t k = 0; k < t->n_partitions; k++) {
            const kw_delete_records_resp_partition *p = &t->partitions[k];
            kwi_poff_item *it =
                answer(op, rq, t->name, p->partition_index, &hint, p->error_code, "DeleteRecords");
            if (it)
                it->offset = p->low_watermark;
        }
    }
    kwi_areq_left_out(op, rq, "DeleteRecords", "partition");
}

/* Places item i on its leader, or settles it from the Metadata (unknown topic or partition:
 * final; no leader: pending). Returns the leader or -1. */
static int32_t
route(kwi_aop *op, const kw_metadata_resp *md, kwi_poff_item *it)
{
    const kw_metadata_resp_topic *t = kwi_amd_topic(md, it->topic);
    int16_t code = !t ? KWI_E_UNKNOWN_TOPIC : t->error_code;
    const kw_metadata_resp_partition *p = NULL;
    for (int32_t k = 0; t && !code && k < t->n_partitions && !p; k++)
        if (t->partitions[k].partition_index == it->partition)
            p = &t->partitions[k];
    if (t && !code && !p)
        code = KWI_E_UNKNOWN_TOPIC;
    if (!code && p->leader_id < 0)
        code = KWI_E_LEADER_NA;
    if (code) {
        kwi_aitem_broker(&it->h, code, KW_SLICE_NULL, "Metadata", "%s [%d]", it->topic,
                         (int)it->partition);
        /* The topic or partition does not exist (the Metadata asked creates nothing). */
        it->h.done = it->h.done || code == KWI_E_UNKNOWN_TOPIC;
        return -1;
    }
    (void)op;
    return p->leader_id;
}

/* The items of one request grouped by topic: topics in first-seen order, each item's topic
 * index in `tof` (request order), the partition count per topic in `tcount`. */
typedef struct by_topic {
    int32_t nt;
    int32_t *tfirst, *tcount, *tof;
} by_topic;

static const char *
topic_of(kwi_aop *op, int32_t i)
{
    return ((kwi_poff_item *)kwi_aop_item(op, i))->topic;
}

/* Fills rq->idx with the items placed on rq->node and groups them by topic. */
static bool
group_items(kwi_aop *op, kwi_areq *rq, int32_t n, by_topic *g, bool *max_ts)
{
    g->nt = 0;
    g->tfirst = kwi_areq_alloc(rq, (size_t)n, sizeof(int32_t));
    g->tcount = kwi_areq_alloc(rq, (size_t)n, sizeof(int32_t));
    g->tof = kwi_areq_alloc(rq, (size_t)n, sizeof(int32_t));
    if (!g->tfirst || !g->tcount || !g->tof)
        return false;
    for (int32_t i = 0; i < op->n_items && rq->n_idx < n; i++) {
        kwi_poff_item *it = kwi_aop_item(op, i);
        if (it->h.done || it->h.dest != rq->node)
            continue;
        int32_t t = 0;
        while (t < g->nt && strcmp(topic_of(op, g->tfirst[t]), it->topic))
            t++;
        if (t == g->nt)
            g->tfirst[g->nt++] = i;
        g->tcount[t]++;
        g->tof[rq->n_idx] = t;
        rq->idx[rq->n_idx++] = i;
        *max_ts = *max_ts || it->spec == KW_OFFSET_MAX_TIMESTAMP;
    }
    return true;
}

static void *
build_list_offsets(kwi_aop *op, kwi_areq *rq, const by_topic *g)
{
    kw_list_offsets_req *m = kwi_areq_alloc(rq, 1, sizeof(*m));
    kw_list_offsets_req_topic *tv = kwi_areq_alloc(rq, (size_t)g->nt, sizeof(*tv));
    if (!m || !tv)
        return NULL;
    for (int32_t t = 0; t < g->nt; t++) {
        tv[t].name = kw_slice_str(topic_of(op, g->tfirst[t]));
        tv[t].partitions = kwi_areq_alloc(rq, (size_t)g->tcount[t], sizeof(*tv[t].partitions));
        if (!tv[t].partitions)
            return NULL;
    }
    for (int32_t k = 0; k < rq->n_idx; k++) {
        kwi_poff_item *it = kwi_aop_item(op, rq->idx[k]);
        kw_list_offsets_req_topic *t = &tv[g->tof[k]];
        t->partitions[t->n_partitions++] =
            (kw_list_offsets_req_partition){it->partition, -1, it->spec, {NULL, 0}};
    }
    m->replica_id = -1;
    m->isolation_level = op->o.read_committed ? 1 : 0;
    m->topics = tv;
    m->n_topics = g->nt;
    m->timeout_ms = op->o.timeout_ms;
    return m;
}

static void *
build_delete_records(kwi_aop *op, kwi_areq *rq, const by_topic *g)
{
    kw_delete_records_req *m = kwi_areq_alloc(rq, 1, sizeof(*m));
    kw_delete_records_req_topic *tv = kwi_areq_alloc(rq, (size_t)g->nt, sizeof(*tv));
    if (!m || !tv)
        return NULL;
    for (int32_t t = 0; t < g->nt; t++) {
        tv[t].name = kw_slice_str(topic_of(op, g->tfirst[t]));
        tv[t].partitions = kwi_areq_alloc(rq, (size_t)g->tcount[t], sizeof(*tv[t].partitions));
        if (!tv[t].partitions)
            return NULL;
    }
    for (int32_t k = 0; k < rq->n_idx; k++) {
        kwi_poff_item *it = kwi_aop_item(op, rq->idx[k]);
        kw_delete_records_req_topic *t = &tv[g->tof[k]];
        t->partitions[t->n_partitions++] =
            (kw_delete_records_req_partition){it->partition, it->spec, {NULL, 0}};
    }
    m->topics = tv;
    m->n_topics = g->nt;
    m->timeout_ms = op->o.timeout_ms;
    return m;
}

/* One request to `node` with the n items placed there. */
static void
send_leader(kwi_aop *op, int32_t node, int32_t n, bool del)
{
    kwi_areq *rq = kwi_areq_new(op, del ? on_delete_records : on_list_offsets, n);
    if (!rq) {
        kw_error_set(&op->last, KW_ERR_NOMEM, "out of memory");
        return;
    }
    rq->node = node;
    by_topic g;
    bool max_ts = false;
    void *msg = NULL;
    if (group_items(op, rq, n, &g, &max_ts))
        msg = del ? build_delete_records(op, rq, &g) : build_list_offsets(op, rq, &g);
    /* The max-timestamp spec exists from ListOffsets v7 (KIP-734); the isolation level from
     * v2 (v1, the KIP-896 floor, would silently read uncommitted). */
    int16_t min_ver = max_ts ? 7 : (!del && op->o.read_committed ? 2 : 0);
    kwi_areq_send_or_fail(op, rq, del ? KWI_API_DELETE_RECORDS : KWI_API_LIST_OFFSETS, msg,
                          min_ver);
}

void
kwi_poff_dispatch(kwi_aop *op, const kwi_amd *md, bool del)
{
    for (int32_t i = 0; i < op->n_items; i++) {
        kwi_poff_item *it = kwi_aop_item(op, i);
        if (it->h.done)
            continue;
        it->h.dest = route(op, md->tmd, it);
        /* A partition may appear once per request (Kafka answers INVALID_REQUEST to a
         * duplicate): a second spec for it waits for the next attempt, which starts at once. */
        for (int32_t k = 0; k < i && it->h.dest >= 0; k++) {
            kwi_poff_item *o = kwi_aop_item(op, k);
            if (!o->h.done && o->h.dest >= 0 && o->partition == it->partition &&
                strcmp(o->topic, it->topic) == 0) {
                it->h.dest = -1;
                op->now = true;
            }
        }
    }
    /* One request per leader, in the order leaders first appear. */
    for (int32_t i = 0; i < op->n_items; i++) {
        kwi_poff_item *it = kwi_aop_item(op, i);
        if (it->h.done || it->h.dest < 0)
            continue;
        bool seen = false;
        int32_t n = 0;
        for (int32_t k = 0; k < op->n_items; k++) {
            kwi_poff_item *o = kwi_aop_item(op, k);
            if (!o->h.done && o->h.dest == it->h.dest) {
                seen = seen || k < i;
                n++;
            }
        }
        if (!seen)
            send_leader(op, it->h.dest, n, del);
    }
}

bool
kwi_poff_md_topics(kwi_aop *op, const void *items, int32_t n, size_t item_sz)
{
    op->md_topics = kwi_aop_alloc(op, (size_t)n, sizeof(kw_slice));
    if (!op->md_topics)
        return false;
    op->n_md_topics = 0;
    for (int32_t i = 0; i < n; i++) {
        const kwi_poff_item *it = (const void *)((const char *)items + (size_t)i * item_sz);
        bool dup = false;
        for (int32_t k = 0; k < op->n_md_topics && !dup; k++)
            dup = kw_slice_eq(op->md_topics[k], it->topic);
        if (!dup)
            op->md_topics[op->n_md_topics++] = kw_slice_str(it->topic);
    }
    op->md_all = false;
    return true;
}

/* ---- the public calls -------------------------------------------------------------------- */

static void
lo_dispatch(kwi_aop *op, const kwi_amd *md)
{
    kwi_poff_dispatch(op, md, false);
}

static void
dr_dispatch(kwi_aop *op, const kwi_amd *md)
{
    kwi_poff_dispatch(op, md, true);
}

static kw_err
poff_result(kwi_aop *op, kw_admin_result *r)
{
    kw_partition_offset *v = kwi_aop_alloc(op, (size_t)op->n_items, sizeof(*v));
    if (!v)
        return KW_ERR_NOMEM;
    for (int32_t i = 0; i < op->n_items; i++) {
        kwi_poff_item *it = kwi_aop_item(op, i);
        v[i].topic = it->topic;
        v[i].partition = it->partition;
        v[i].error = &it->h.e;
        v[i].offset = it->h.e.code == KW_ERR_OK ? it->offset : -1;
        v[i].timestamp = it->h.e.code == KW_ERR_OK ? it->timestamp : -1;
        v[i].leader_epoch = it->h.e.code == KW_ERR_OK ? it->leader_epoch : -1;
        v[i].end_offset = v[i].lag = -1;
        v[i].end_error = &it->h.e;
    }
    r->partitions = v;
    r->n_partitions = op->n_items;
    return KW_ERR_OK;
}

static const kwi_akind k_list_offsets = {
    KW_ADMIN_LIST_OFFSETS, "ListOffsets", true, lo_dispatch, NULL, poff_result, NULL};
static const kwi_akind k_delete_records = {
    KW_ADMIN_DELETE_RECORDS, "DeleteRecords", true, dr_dispatch, NULL, poff_result, NULL};

static kw_err
poff_call(kw_admin *ad, const kwi_akind *k, const kw_partition_offset_req *parts, size_t n,
          const kw_admin_opts *o, kw_admin_cb cb, void *ud, kw_error *err)
{
    if (n > 0 && !parts)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no partitions");
    for (size_t i = 0; i < n; i++) {
        if (!parts[i].topic || !*parts[i].topic || parts[i].partition < 0)
            return kw_error_set(err, KW_ERR_INVALID_ARG,
                                "partition %zu: a topic and a partition >= 0 are required", i);
        if (parts[i].spec < (k == &k_delete_records ? -1 : KW_OFFSET_MAX_TIMESTAMP))
            return kw_error_set(err, KW_ERR_INVALID_ARG, "%s [%d]: bad offset spec %lld",
                                parts[i].topic, (int)parts[i].partition, (long long)parts[i].spec);
    }
    kwi_aop *op = kwi_admin_begin(ad, k, n, sizeof(kwi_poff_item), o, cb, ud, err);
    if (!op)
        return err ? err->code : KW_ERR_INVALID_ARG;
    kw_err e = KW_ERR_OK;
    for (size_t i = 0; i < n && e == KW_ERR_OK; i++) {
        kwi_poff_item *it = kwi_aop_item(op, (int32_t)i);
        it->partition = parts[i].partition;
        it->spec = parts[i].spec;
        it->offset = it->timestamp = -1;
        it->leader_epoch = -1;
        if (!(it->topic = kwi_aop_strdup(op, parts[i].topic)))
            e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    if (e == KW_ERR_OK && !kwi_poff_md_topics(op, op->items, op->n_items, op->item_sz))
        e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    return kwi_admin_end(op, e);
}

kw_err
kw_admin_list_offsets(kw_admin *ad, const kw_partition_offset_req *parts, size_t n,
                      const kw_admin_opts *o, kw_admin_cb cb, void *ud, kw_error *err)
{
    return poff_call(ad, &k_list_offsets, parts, n, o, cb, ud, err);
}

kw_err
kw_admin_delete_records(kw_admin *ad, const kw_partition_offset_req *parts, size_t n,
                        const kw_admin_opts *o, kw_admin_cb cb, void *ud, kw_error *err)
{
    return poff_call(ad, &k_delete_records, parts, n, o, cb, ud, err);
}
