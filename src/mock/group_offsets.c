/* Committed offsets: the per-group store, OffsetCommit (v2-10) and OffsetFetch (v1-10).
 *
 * OffsetCommit follows KafkaApis and OffsetMetadataManager: partitions of topics that do not
 * exist get UNKNOWN_TOPIC_OR_PARTITION (v10, by topic id: UNKNOWN_TOPIC_ID); the rest share the
 * group's verdict:
 *   - no group: generation/epoch < 0 creates a "simple" group (an empty classic group without
 *     protocol type, as an assign()-only consumer or an admin client makes); otherwise
 *     GROUP_ID_NOT_FOUND from v9, ILLEGAL_GENERATION before;
 *   - classic group (ClassicGroup.validateOffsetCommit): generation < 0 is accepted only while
 *     the group is Empty; a member must exist (UNKNOWN_MEMBER_ID), own its instance id
 *     (FENCED_INSTANCE_ID) and send the current generation (ILLEGAL_GENERATION); during
 *     CompletingRebalance the answer is REBALANCE_IN_PROGRESS, while a commit during
 *     PreparingRebalance is accepted (eager members commit in onPartitionsRevoked). A commit
 *     keeps the member's session alive in Stable and PreparingRebalance;
 *   - consumer group (ConsumerGroup.validateOffsetCommit): epoch < 0 only while empty; the
 *     member must exist, use v9+ (UNSUPPORTED_VERSION) and send its current epoch
 *     (STALE_MEMBER_EPOCH);
 *   - metadata longer than offset.metadata.max.bytes: OFFSET_METADATA_TOO_LARGE.
 * OffsetFetch returns -1 for partitions without an offset (and for unknown groups), all of a
 * group's offsets when Topics is null (v2+), per-group errors from v8, and with RequireStable
 * (v7+) UNSTABLE_OFFSET_COMMIT for a partition an open transaction has an offset pending for
 * (KIP-447). v9 checks MemberId/MemberEpoch of consumer groups (UNKNOWN_MEMBER_ID,
 * STALE_MEMBER_EPOCH). */
#include <string.h>

#include "group.h"

#define KWI_E_UNSTABLE_OFFSET_COMMIT 88

/* ---------------------------------------------------------------- the store */

static int
cmp_key(kw_slice topic, int32_t part, const kwi_goffset *o)
{
    int32_t n = topic.len < o->topic.len ? topic.len : o->topic.len;
    int c = n > 0 ? memcmp(topic.ptr, o->topic.p, (size_t)n) : 0;
    if (c)
        return c;
    if (topic.len != o->topic.len)
        return topic.len < o->topic.len ? -1 : 1;
    return (part > o->part) - (part < o->part);
}

/* The index of (topic, part), or of where it would go (then *found is false). */
static int32_t
search(const kwi_grp *g, kw_slice topic, int32_t part, bool *found)
{
    int32_t lo = 0, hi = g->n_off;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = cmp_key(topic, part, &g->off[mid]);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    *found = false;
    return lo;
}

const kwi_goffset *
kwi_grp_offset_find(const kwi_grp *g, kw_slice topic, int32_t part)
{
    bool found;
    int32_t i = search(g, topic, part, &found);
    return found ? &g->off[i] : NULL;
}

int16_t
kwi_grp_offset_put(kwi_grp *g, kw_slice topic, int32_t part, int64_t offset, int32_t leader_epoch,
                   kw_slice metadata)
{
    kw_mock *m = g->gm->m;
    kwi_gstr md = {NULL, -1};
    /* Kafka stores a null metadata as "" (OffsetAndMetadata.NO_METADATA). */
    if (kwi_gstr_set(m, &md, metadata.len < 0 ? kw_slice_str("") : metadata))
        return -1;
    bool found;
    int32_t i = search(g, topic, part, &found);
    if (!found) {
        kwi_gstr t = {NULL, -1};
        if (kwi_grow(m, (void **)&g->off, &g->cap_off, g->n_off + 1, sizeof(*g->off)) ||
            kwi_gstr_set(m, &t, topic.len < 0 ? kw_slice_str("") : topic)) {
            kwi_gstr_free(m, &md);
            return -1;
        }
        memmove(&g->off[i + 1], &g->off[i], (size_t)(g->n_off - i) * sizeof(*g->off));
        g->n_off++;
        memset(&g->off[i], 0, sizeof(g->off[i]));
        g->off[i].topic = t;
        g->off[i].part = part;
        g->off[i].metadata.len = -1;
    }
    kwi_goffset *o = &g->off[i];
    kwi_gstr_free(m, &o->metadata);
    o->metadata = md;
    o->offset = offset;
    o->leader_epoch = leader_epoch;
    return KWI_E_NONE;
}

void
kwi_grp_offsets_free(kwi_grp *g)
{
    kw_mock *m = g->gm->m;
    for (int32_t i = 0; i < g->n_off; i++) {
        kwi_gstr_free(m, &g->off[i].topic);
        kwi_gstr_free(m, &g->off[i].metadata);
    }
    kwi_gfree(m, g->off, (size_t)g->cap_off * sizeof(*g->off));
    g->off = NULL;
    g->n_off = g->cap_off = 0;
}

/* ---------------------------------------------------------------- OffsetCommit */

/* The group's verdict for a commit (Kafka's validateOffsetCommit); may create a simple group. */
static int16_t
commit_check(kwi_mock_req *req, int16_t ver, const kw_offset_commit_req *rq, kwi_grp **out)
{
    kwi_gmod *gm = kwi_gmod_get(req->m);
    int32_t gen = rq->generation_id_or_member_epoch;
    kw_slice instance = ver >= 7 ? rq->group_instance_id : KW_SLICE_NULL;
    if (rq->group_id.len <= 0)
        return KWI_E_INVALID_GROUP_ID;
    if (!kwi_grp_here(req, rq->group_id))
        return KWI_E_NOT_COORDINATOR;
    kwi_grp *g = kwi_grp_find(gm, rq->group_id);
    if (!g) {
        if (gen >= 0)
            return ver >= 9 ? KWI_E_GROUP_ID_NOT_FOUND : KWI_E_ILLEGAL_GENERATION;
        g = kwi_grp_create(gm, rq->group_id, KWI_GRP_CLASSIC);
        if (!g)
            return -1;
        *out = g;
        return KWI_E_NONE;
    }
    *out = g;
    if (g->type == KWI_GRP_CONSUMER) {
        if (gen < 0 && g->n_km == 0)
            return KWI_E_NONE;
        for (int32_t i = 0; i < g->n_km; i++)
            if (kwi_gstr_eq(&g->km[i]->id, rq->member_id)) {
                if (ver < 9)
                    return KWI_E_UNSUPPORTED_VERSION;
                return gen == g->km[i]->epoch ? KWI_E_NONE : KWI_E_STALE_MEMBER_EPOCH;
            }
        return KWI_E_UNKNOWN_MEMBER_ID;
    }
    if (gen < 0 && g->state == KWI_CG_EMPTY)
        return KWI_E_NONE;
    if (gen >= 0 || rq->member_id.len > 0 || instance.len >= 0) {
        int16_t e = kwi_cg_validate_member(g, rq->member_id, instance);
        if (e)
            return e;
        if (gen != g->generation)
            return KWI_E_ILLEGAL_GENERATION;
    } else if (g->state != KWI_CG_EMPTY) {
        return KWI_E_UNKNOWN_MEMBER_ID;
    }
    if (g->state == KWI_CG_COMPLETING)
        return KWI_E_REBALANCE_IN_PROGRESS;
    kwi_cmember *mem = kwi_cm_find(g, rq->member_id);
    if (mem && (g->state == KWI_CG_STABLE || g->state == KWI_CG_PREPARING))
        kwi_cm_touch(mem);
    return KWI_E_NONE;
}

/* The topic a commit names, or NULL (then *err says why). */
static kwi_mock_topic *
commit_topic(kwi_mock_req *req, int16_t ver, const kw_offset_commit_req_topic *t, int16_t *err)
{
    kwi_mock_topic *topic = ver >= 10 ? kwi_mock_topic_find_id(req->m, &t->topic_id)
                                      : kwi_mock_topic_find(req->m, t->name);
    *err = topic ? KWI_E_NONE
                 : (ver >= 10 ? KWI_E_UNKNOWN_TOPIC_ID : KWI_E_UNKNOWN_TOPIC_OR_PARTITION);
    return topic;
}

static bool
any_valid(kwi_mock_req *req, int16_t ver, const kw_offset_commit_req *rq)
{
    for (int32_t i = 0; i < rq->n_topics; i++) {
        int16_t e;
        kwi_mock_topic *t = commit_topic(req, ver, &rq->topics[i], &e);
        for (int32_t k = 0; t && k < rq->topics[i].n_partitions; k++)
            if (kwi_mock_part_get(t, rq->topics[i].partitions[k].partition_index))
                return true;
    }
    return false;
}

static kw_err
offset_commit(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_offset_commit_req *rq = msg;
    kwi_gmod *gm = kwi_gmod_get(req->m);
    kw_offset_commit_resp resp;
    memset(&resp, 0, sizeof(resp));
    int32_t nt = rq->n_topics > 0 ? rq->n_topics : 0;
    resp.topics = kwi_mock_req_alloc(req, (size_t)nt, sizeof(*resp.topics));
    if (!resp.topics)
        return KW_ERR_NOMEM;
    resp.n_topics = nt;
    kwi_grp *g = NULL;
    /* Kafka sends nothing to the coordinator when no partition exists. */
    int16_t gerr = any_valid(req, ver, rq) ? commit_check(req, ver, rq, &g) : KWI_E_NONE;
    if (gerr < 0)
        return KW_ERR_NOMEM;
    for (int32_t i = 0; i < nt; i++) {
        const kw_offset_commit_req_topic *in = &rq->topics[i];
        kw_offset_commit_resp_topic *out = &resp.topics[i];
        out->name = in->name;
        out->topic_id = in->topic_id;
        int32_t np = in->n_partitions > 0 ? in->n_partitions : 0;
        out->partitions = kwi_mock_req_alloc(req, (size_t)np, sizeof(*out->partitions));
        if (!out->partitions)
            return KW_ERR_NOMEM;
        out->n_partitions = np;
        int16_t terr;
        kwi_mock_topic *t = commit_topic(req, ver, in, &terr);
        for (int32_t k = 0; k < np; k++) {
            const kw_offset_commit_req_partition *p = &in->partitions[k];
            int16_t e = terr;
            if (!e && !kwi_mock_part_get(t, p->partition_index))
                e = ver >= 10 ? KWI_E_UNKNOWN_TOPIC_ID : KWI_E_UNKNOWN_TOPIC_OR_PARTITION;
            if (!e)
                e = gerr;
            if (!e && p->committed_metadata.len > gm->conf.offset_metadata_max_bytes)
                e = KWI_E_OFFSET_METADATA_TOO_LARGE;
            if (!e) {
                kw_slice name = {(const uint8_t *)t->name, (int32_t)t->name_len};
                int32_t epoch = ver >= 6 ? p->committed_leader_epoch : -1;
                if (kwi_grp_offset_put(g, name, p->partition_index, p->committed_offset, epoch,
                                       p->committed_metadata) < 0)
                    return KW_ERR_NOMEM;
            }
            out->partitions[k].partition_index = p->partition_index;
            out->partitions[k].error_code = e;
        }
    }
    return kwi_mock_reply(req, &resp);
}

/* ---------------------------------------------------------------- OffsetFetch */

typedef struct fetch_in {
    kw_slice group_id;
    kw_slice member_id; /* v9+, null otherwise */
    int32_t member_epoch;
    const kw_offset_fetch_req_topic *topics; /* NULL with n -1: all topics */
    int32_t n_topics;
    bool require_stable;
} fetch_in;

static int16_t
fetch_check(const kwi_grp *g, const fetch_in *in)
{
    /* ConsumerGroup.validateOffsetFetch; a classic group checks nothing. */
    if (!g || g->type != KWI_GRP_CONSUMER || (in->member_id.len < 0 && in->member_epoch < 0))
        return KWI_E_NONE;
    for (int32_t i = 0; i < g->n_km; i++)
        if (kwi_gstr_eq(&g->km[i]->id, in->member_id))
            return g->km[i]->epoch == in->member_epoch ? KWI_E_NONE : KWI_E_STALE_MEMBER_EPOCH;
    return KWI_E_UNKNOWN_MEMBER_ID;
}

static void
fill_partition(kwi_mock_req *req, const kwi_grp *g, const fetch_in *in, kw_slice topic,
               int32_t part, kw_offset_fetch_resp_partition *out)
{
    const kwi_goffset *o = g ? kwi_grp_offset_find(g, topic, part) : NULL;
    out->partition_index = part;
    out->committed_offset = -1;
    out->committed_leader_epoch = -1;
    out->metadata = kw_slice_str("");
    if (in->require_stable && kwi_mock_txn_offset_pending(req->m, in->group_id, topic, part)) {
        out->error_code = KWI_E_UNSTABLE_OFFSET_COMMIT;
        return;
    }
    if (o) {
        out->committed_offset = o->offset;
        out->committed_leader_epoch = o->leader_epoch;
        out->metadata = kwi_gstr_slice(&o->metadata);
    }
}

/* Every offset the group holds, one response topic per topic name. */
static kw_err
fetch_all(kwi_mock_req *req, int16_t ver, const kwi_grp *g, const fetch_in *in,
          kw_offset_fetch_resp_topic **out, int32_t *n_out)
{
    int32_t n = 0;
    for (int32_t i = 0; g && i < g->n_off; i++)
        n += i == 0 || !kwi_gstr_eq(&g->off[i - 1].topic, kwi_gstr_slice(&g->off[i].topic));
    kw_offset_fetch_resp_topic *t = kwi_mock_req_alloc(req, (size_t)n, sizeof(*t));
    if (!t)
        return KW_ERR_NOMEM;
    int32_t k = -1;
    for (int32_t i = 0; i < (g ? g->n_off : 0);) {
        kw_slice name = kwi_gstr_slice(&g->off[i].topic);
        int32_t j = i;
        while (j < g->n_off && kwi_gstr_eq(&g->off[j].topic, name))
            j++;
        kwi_mock_topic *mt = ver >= 10 ? kwi_mock_topic_find(req->m, name) : NULL;
        if (ver < 10 || mt) { /* v10 names topics by id: offsets of deleted topics are left out */
            k++;
            t[k].name = name;
            if (mt)
                t[k].topic_id = mt->id;
            t[k].partitions = kwi_mock_req_alloc(req, (size_t)(j - i), sizeof(*t[k].partitions));
            if (!t[k].partitions)
                return KW_ERR_NOMEM;
            t[k].n_partitions = j - i;
            for (int32_t p = i; p < j; p++)
                fill_partition(req, g, in, name, g->off[p].part, &t[k].partitions[p - i]);
        }
        i = j;
    }
    *out = t;
    *n_out = k + 1;
    return KW_ERR_OK;
}

/* The requested partitions; `err` (a group-level error of v0-1) goes into each of them. */
static kw_err
fetch_some(kwi_mock_req *req, int16_t ver, const kwi_grp *g, const fetch_in *in, int16_t err,
           kw_offset_fetch_resp_topic **out, int32_t *n_out)
{
    int32_t n = in->n_topics > 0 ? in->n_topics : 0;
    kw_offset_fetch_resp_topic *t = kwi_mock_req_alloc(req, (size_t)n, sizeof(*t));
    if (!t)
        return KW_ERR_NOMEM;
    for (int32_t i = 0; i < n; i++) {
        const kw_offset_fetch_req_topic *rt = &in->topics[i];
        kw_slice name = rt->name;
        int16_t terr = err;
        if (ver >= 10) {
            kwi_mock_topic *mt = kwi_mock_topic_find_id(req->m, &rt->topic_id);
            name =
                mt ? (kw_slice){(const uint8_t *)mt->name, (int32_t)mt->name_len} : KW_SLICE_NULL;
            if (!mt && !terr)
                terr = KWI_E_UNKNOWN_TOPIC_ID;
        }
        t[i].name = rt->name;
        t[i].topic_id = rt->topic_id;
        int32_t np = rt->n_partition_indexes > 0 ? rt->n_partition_indexes : 0;
        t[i].partitions = kwi_mock_req_alloc(req, (size_t)np, sizeof(*t[i].partitions));
        if (!t[i].partitions)
            return KW_ERR_NOMEM;
        t[i].n_partitions = np;
        for (int32_t k = 0; k < np; k++) {
            kw_offset_fetch_resp_partition *p = &t[i].partitions[k];
            if (terr) {
                p->partition_index = rt->partition_indexes[k];
                p->committed_offset = -1;
                p->committed_leader_epoch = -1;
                p->metadata = kw_slice_str("");
                p->error_code = terr;
            } else {
                fill_partition(req, g, in, name, rt->partition_indexes[k], p);
            }
        }
    }
    *out = t;
    *n_out = n;
    return KW_ERR_OK;
}

/* One group's answer: its error (group level), and its topics when there is none. */
static kw_err
fetch_group(kwi_mock_req *req, int16_t ver, const fetch_in *in, int16_t *err,
            kw_offset_fetch_resp_topic **topics, int32_t *n)
{
    *topics = NULL;
    *n = 0;
    *err = KWI_E_NONE;
    if (in->group_id.len <= 0)
        *err = KWI_E_INVALID_GROUP_ID;
    else if (!kwi_grp_here(req, in->group_id))
        *err = KWI_E_NOT_COORDINATOR;
    const kwi_grp *g = *err ? NULL : kwi_grp_find(kwi_gmod_get(req->m), in->group_id);
    if (!*err)
        *err = fetch_check(g, in);
    if (*err) {
        /* v0-1 have no group-level error: it goes into every requested partition. */
        return ver < 2 ? fetch_some(req, ver, NULL, in, *err, topics, n) : KW_ERR_OK;
    }
    if (in->n_topics < 0 && ver >= 2)
        return fetch_all(req, ver, g, in, topics, n);
    return fetch_some(req, ver, g, in, KWI_E_NONE, topics, n);
}

static kw_err
offset_fetch(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_offset_fetch_req *rq = msg;
    kw_offset_fetch_resp resp;
    memset(&resp, 0, sizeof(resp));
    if (ver < 8) {
        fetch_in in = {rq->group_id, KW_SLICE_NULL, -1,
                       rq->topics,   rq->n_topics,  ver >= 7 && rq->require_stable};
        int16_t err;
        kw_err e = fetch_group(req, ver, &in, &err, &resp.topics, &resp.n_topics);
        if (e)
            return e;
        resp.error_code = ver >= 2 ? err : KWI_E_NONE;
        return kwi_mock_reply(req, &resp);
    }
    int32_t ng = rq->n_groups > 0 ? rq->n_groups : 0;
    resp.groups = kwi_mock_req_alloc(req, (size_t)ng, sizeof(*resp.groups));
    if (!resp.groups)
        return KW_ERR_NOMEM;
    resp.n_groups = ng;
    for (int32_t i = 0; i < ng; i++) {
        const kw_offset_fetch_req_group *rg = &rq->groups[i];
        fetch_in in = {rg->group_id,
                       ver >= 9 ? rg->member_id : KW_SLICE_NULL,
                       ver >= 9 ? rg->member_epoch : -1,
                       rg->topics,
                       rg->n_topics,
                       rq->require_stable};
        kw_offset_fetch_resp_group *og = &resp.groups[i];
        og->group_id = rg->group_id;
        kw_err e = fetch_group(req, ver, &in, &og->error_code, &og->topics, &og->n_topics);
        if (e)
            return e;
    }
    return kwi_mock_reply(req, &resp);
}

kw_err
kwi_mock_group_offsets_register(kw_mock *m)
{
    kwi_gmod *gm = kwi_gmod_get(m);
    kw_err e = kwi_mock_api_register(m, &kw_msg_offset_commit_req, -1, -1, offset_commit, gm);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_offset_fetch_req, -1, -1, offset_fetch, gm);
    return e;
}
