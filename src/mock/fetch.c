/* Fetch (1), v4-18.
 *
 * A Fetch is answered at once when it has an error to report, asks for no wait, or finds at
 * least min_bytes; otherwise it waits, deferred on its connection, until data arrives (every
 * append calls kwi_mock_data_arrived, which re-evaluates the waiters) or max_wait passes on the
 * reactor's clock. Like Kafka's DelayedFetch, a waiter is also released early when one of its
 * partitions turns into an error (deleted topic, moved leader).
 *
 * Limits: the response holds at most min(max_bytes, fetch.max.bytes) bytes of records and each
 * partition at most its partition_max_bytes, except that the first batch of the response is
 * always returned whole so a consumer can make progress past a batch larger than its limits
 * (KIP-74); see kwi_mock_log_read for the partial batch that may end a partition's data.
 *
 * Fetch sessions (KIP-227): the broker never creates one. A full fetch (SessionId 0, epoch 0 or
 * -1) is answered with SessionId 0, which per KIP-227 tells the client that no session exists and
 * it must keep sending full fetches; a request for an incremental fetch (SessionId != 0) gets
 * FETCH_SESSION_ID_NOT_FOUND, and SessionId 0 with a positive epoch INVALID_FETCH_SESSION_EPOCH,
 * which every client answers by falling back to a full fetch. */
#include <string.h>

#include "mock_int.h"

struct kwi_mock_waiter {
    kw_mock *m;
    kwi_mock_req *req;
    kwi_timer *timer;
    kwi_mock_waiter *prev, *next;
};

/* Where one requested partition stands. */
typedef struct part_view {
    kwi_mock_topic *t;
    kwi_mock_part *p;
    int16_t ec;
    int64_t upto; /* the end of what this isolation level may read */
} part_view;

static kwi_mock_topic *
req_topic(kw_mock *m, int16_t ver, const kw_fetch_req_topic *ft)
{
    return ver >= 13 ? kwi_mock_topic_find_id(m, &ft->topic_id) : kwi_mock_topic_find(m, ft->topic);
}

static part_view
view(kwi_mock_req *req, int16_t ver, const kw_fetch_req *rq, kwi_mock_topic *t,
     const kw_fetch_req_partition *fp)
{
    part_view v = {t, kwi_mock_part_get(t, fp->partition), KWI_E_NONE, -1};
    if (!t)
        v.ec = ver >= 13 ? KWI_E_UNKNOWN_TOPIC_ID : KWI_E_UNKNOWN_TOPIC_OR_PARTITION;
    else if (!v.p)
        v.ec = KWI_E_UNKNOWN_TOPIC_OR_PARTITION;
    else if (!kwi_mock_is_leader(v.p, req->broker))
        v.ec = KWI_E_NOT_LEADER_OR_FOLLOWER;
    else if (fp->current_leader_epoch >= 0 && fp->current_leader_epoch < v.p->leader_epoch)
        v.ec = KWI_E_FENCED_LEADER_EPOCH;
    else if (fp->current_leader_epoch > v.p->leader_epoch)
        v.ec = KWI_E_UNKNOWN_LEADER_EPOCH;
    else if (fp->fetch_offset < v.p->log.log_start || fp->fetch_offset > v.p->log.hw)
        v.ec = KWI_E_OFFSET_OUT_OF_RANGE;
    if (!v.ec)
        v.upto = rq->isolation_level == 1 ? kwi_mock_part_lso(v.p) : v.p->log.hw;
    return v;
}

/* Bytes the request could get now, and whether any partition has an error to report. */
static int64_t
readable(kwi_mock_req *req, int16_t ver, const kw_fetch_req *rq, bool *urgent)
{
    int64_t total = 0;
    *urgent = false;
    for (int32_t i = 0; i < rq->n_topics; i++) {
        const kw_fetch_req_topic *ft = &rq->topics[i];
        kwi_mock_topic *t = req_topic(req->m, ver, ft);
        for (int32_t k = 0; k < ft->n_partitions; k++) {
            const kw_fetch_req_partition *fp = &ft->partitions[k];
            part_view v = view(req, ver, rq, t, fp);
            if (v.ec) {
                *urgent = true;
                continue;
            }
            int64_t a = kwi_mock_log_avail(&v.p->log, fp->fetch_offset, v.upto);
            int64_t cap = fp->partition_max_bytes > 0 ? fp->partition_max_bytes : 0;
            total += a < cap ? a : cap;
        }
    }
    return total;
}

typedef struct build_ctx {
    kwi_mock_req *req;
    int16_t ver;
    const kw_fetch_req *rq;
    int64_t left;   /* response bytes left */
    bool have_data; /* a batch is already in the response: no more oversized first batches */
    int32_t *leaders;
    int32_t n_leaders;
} build_ctx;

static void
build_partition(build_ctx *bc, kwi_mock_topic *t, const kw_fetch_req_partition *fp,
                kw_fetch_resp_partition *out)
{
    part_view v = view(bc->req, bc->ver, bc->rq, t, fp);
    out->partition_index = fp->partition;
    out->error_code = v.ec;
    out->high_watermark = -1;
    out->last_stable_offset = -1;
    out->log_start_offset = -1;
    out->preferred_read_replica = -1;
    out->diverging_epoch.epoch = -1;
    out->diverging_epoch.end_offset = -1;
    out->current_leader.leader_id = -1;
    out->current_leader.leader_epoch = -1;
    out->snapshot_id.end_offset = -1;
    out->snapshot_id.epoch = -1;
    out->n_aborted_transactions = -1;
    if (v.ec == KWI_E_NOT_LEADER_OR_FOLLOWER) {
        out->current_leader.leader_id = v.p->leader;
        out->current_leader.leader_epoch = v.p->leader_epoch;
        int32_t i = 0;
        while (i < bc->n_leaders && bc->leaders[i] != v.p->leader)
            i++;
        if (i == bc->n_leaders)
            bc->leaders[bc->n_leaders++] = v.p->leader;
    }
    if (v.ec)
        return;
    out->high_watermark = v.p->log.hw;
    out->last_stable_offset = kwi_mock_part_lso(v.p);
    out->log_start_offset = v.p->log.log_start;
    int64_t limit = fp->partition_max_bytes < bc->left ? fp->partition_max_bytes : bc->left;
    out->records = kwi_mock_log_read(&v.p->log, fp->fetch_offset, v.upto, limit, !bc->have_data);
    /* Kafka sends a null list to read_uncommitted consumers and the aborted transactions that
     * overlap the returned records to read_committed ones (idem.c). */
    if (bc->rq->isolation_level == 1)
        kwi_mock_fetch_aborted(bc->req, v.p, fp->fetch_offset, out);
    if (out->records.len > 0) {
        bc->have_data = true;
        bc->left -= out->records.len;
        if (bc->left < 0)
            bc->left = 0;
    }
}

static kw_err
node_endpoints(build_ctx *bc, kw_fetch_resp *resp)
{
    if (bc->n_leaders == 0 || bc->ver < 16)
        return KW_ERR_OK;
    resp->node_endpoints =
        kwi_mock_req_alloc(bc->req, (size_t)bc->n_leaders, sizeof(*resp->node_endpoints));
    if (!resp->node_endpoints)
        return KW_ERR_NOMEM;
    resp->n_node_endpoints = bc->n_leaders;
    for (int32_t i = 0; i < bc->n_leaders; i++) {
        resp->node_endpoints[i].node_id = bc->leaders[i];
        resp->node_endpoints[i].host = kw_slice_str("127.0.0.1");
        resp->node_endpoints[i].port = kw_mock_broker_port(bc->req->m, bc->leaders[i]);
        resp->node_endpoints[i].rack = KW_SLICE_NULL;
    }
    return KW_ERR_OK;
}

/* Builds the response from the log as it is now and sends it. */
static kw_err
respond(kwi_mock_req *req, int16_t ver, const kw_fetch_req *rq)
{
    kw_mock *m = req->m;
    int64_t max = rq->max_bytes < m->conf.fetch_max_bytes ? rq->max_bytes : m->conf.fetch_max_bytes;
    build_ctx bc = {req, ver, rq, max < 0 ? 0 : max, false, NULL, 0};
    bc.leaders = kwi_mock_req_alloc(req, (size_t)m->n_brokers, sizeof(int32_t));
    kw_fetch_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.responses = kwi_mock_req_alloc(req, (size_t)rq->n_topics, sizeof(*resp.responses));
    if (!bc.leaders || !resp.responses)
        return KW_ERR_NOMEM;
    resp.n_responses = rq->n_topics;
    for (int32_t i = 0; i < rq->n_topics; i++) {
        const kw_fetch_req_topic *ft = &rq->topics[i];
        kw_fetch_resp_topic *out = &resp.responses[i];
        out->topic = ft->topic;
        out->topic_id = ft->topic_id;
        out->partitions =
            kwi_mock_req_alloc(req, (size_t)ft->n_partitions, sizeof(*out->partitions));
        if (!out->partitions)
            return KW_ERR_NOMEM;
        out->n_partitions = ft->n_partitions;
        kwi_mock_topic *t = req_topic(m, ver, ft);
        for (int32_t k = 0; k < ft->n_partitions; k++)
            build_partition(&bc, t, &ft->partitions[k], &out->partitions[k]);
    }
    kw_err e = node_endpoints(&bc, &resp);
    if (e)
        return e;
    return kwi_mock_reply(req, &resp);
}

static void
waiter_free(kwi_mock_waiter *w)
{
    kw_mock *m = w->m;
    if (w->prev)
        w->prev->next = w->next;
    else
        m->waiters = w->next;
    if (w->next)
        w->next->prev = w->prev;
    kwi_reactor_timer_free(w->timer);
    m->a->free(m->a->ud, w, sizeof(*w));
}

/* Answers a waiting request and forgets it. */
static void
release(kwi_mock_waiter *w)
{
    kwi_mock_req *req = w->req;
    req->cancel = NULL; /* its cancel data is gone, even if answering fails below */
    waiter_free(w);
    if (respond(req, req->hdr.api_version, req->msg))
        kwi_mock_req_abort(req);
}

static void
on_cancel(kwi_mock_req *req, void *ud)
{
    (void)req;
    waiter_free(ud);
}

static void
on_timeout(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    release(ud);
}

void
kwi_mock_data_arrived(kw_mock *m)
{
    for (kwi_mock_waiter *w = m->waiters, *next; w; w = next) {
        next = w->next; /* release() frees w, never another waiter */
        const kw_fetch_req *rq = w->req->msg;
        bool urgent;
        int64_t n = readable(w->req, w->req->hdr.api_version, rq, &urgent);
        if (urgent || n >= rq->min_bytes)
            release(w);
    }
}

void
kwi_mock_waiters_free(kw_mock *m)
{
    while (m->waiters)
        waiter_free(m->waiters);
}

static kw_err
fetch(kwi_mock_req *req, int16_t ver, void *msg)
{
    kw_mock *m = req->m;
    const kw_fetch_req *rq = msg;
    if (ver >= 7 && (rq->session_id != 0 || rq->session_epoch > 0)) {
        kw_fetch_resp resp;
        memset(&resp, 0, sizeof(resp));
        resp.error_code = rq->session_id != 0 ? KWI_E_FETCH_SESSION_ID_NOT_FOUND
                                              : KWI_E_INVALID_FETCH_SESSION_EPOCH;
        return kwi_mock_reply(req, &resp);
    }
    bool urgent;
    int64_t n = readable(req, ver, rq, &urgent);
    bool any = false;
    for (int32_t i = 0; i < rq->n_topics && !any; i++)
        any = rq->topics[i].n_partitions > 0;
    if (rq->max_wait_ms <= 0 || urgent || !any || n >= rq->min_bytes)
        return respond(req, ver, rq);
    kwi_mock_waiter *w = m->a->alloc(m->a->ud, sizeof(*w));
    if (!w)
        return KW_ERR_NOMEM;
    memset(w, 0, sizeof(*w));
    if (kwi_reactor_timer_new(m->r, on_timeout, w, &w->timer)) {
        m->a->free(m->a->ud, w, sizeof(*w));
        return KW_ERR_NOMEM;
    }
    w->m = m;
    w->req = req;
    w->next = m->waiters;
    if (m->waiters)
        m->waiters->prev = w;
    m->waiters = w;
    kwi_reactor_timer_start(w->timer, rq->max_wait_ms);
    kwi_mock_defer(req, on_cancel, w);
    return KW_ERR_OK;
}

kw_err
kwi_mock_fetch_init(kw_mock *m)
{
    return kwi_mock_api_register(m, &kw_msg_fetch_req, -1, -1, fetch, NULL);
}
