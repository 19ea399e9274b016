/* The sender: decides which batches go to which broker, builds the Produce requests, and
 * handles their responses (success, retry, failure).
 *
 * One pass of the sender (kwi_send_run) runs when a batch becomes ready, when a timer it set
 * fires (linger.ms, a retry backoff, a delivery timeout, a connection it waits for), when a
 * response or metadata arrives. It
 *   1. moves records that waited for metadata into batches, and asks for the metadata still
 *      missing;
 *   2. fails what passed delivery.timeout.ms;
 *   3. drives the idempotent producer's InitProducerId;
 *   4. drains: for each partition whose head batch is ready (full, or linger.ms passed, or a
 *      flush asks, or it is a retry whose backoff passed), and whose leader is known and
 *      connected with room for another request, the batch joins that leader's request. Each
 *      request takes at most one batch per partition (as Java) and stays within
 *      max.request.size; draining repeats while requests go out, so a busy partition keeps up
 *      to max.in.flight.requests.per.connection requests in flight. The partition list
 *      rotates after each round so that, when a request fills up, the partitions at the end
 *      get their turn first next time;
 *   5. arms its timer for the earliest thing it waits for, and runs the due delivery reports.
 *
 * A batch being retried goes back into its partition's queue in creation order and waits
 * for retry.backoff.ms (doubling per attempt up to retry.backoff.max.ms, with ±20% jitter).
 * It is sent again only when nothing else of its partition is in flight, so the order of the
 * partition's records holds even when a pipeline of requests fails part way. */
#include <string.h>

#include "client/producer_int.h"

#define CONNECT_POLL_MS 5  /* a connection is being set up */
#define BACKOFF_POLL_MS 50 /* a connection waits out its reconnect backoff */

static void link_req(kw_producer *p, kwi_preq *q);
static void unlink_req(kw_producer *p, kwi_preq *q);

int64_t
kwi_send_backoff(kw_producer *p, int32_t attempt)
{
    int64_t b = p->backoff_ms;
    for (int32_t i = 1; i < attempt && b < p->backoff_max_ms; i++)
        b *= 2;
    if (b > p->backoff_max_ms)
        b = p->backoff_max_ms;
    /* ±20% jitter (Java's ExponentialBackoff), so producers that failed together do not
     * retry together. */
    int64_t span = b / 5;
    if (span > 0)
        b += (int64_t)(kwi_prod_rand(&p->rng) % (uint64_t)(2 * span + 1)) - span;
    if (b > p->backoff_max_ms)
        b = p->backoff_max_ms;
    return b < 0 ? 0 : b;
}

/* ---- metadata -------------------------------------------------------------------------------- */

static void
on_md(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)err;
    (void)detail;
    (void)md;
    kwi_md_wait *w = ud;
    kw_producer *p = w->p;
    kwi_client_mem_free(c, w, sizeof(*w));
    if (!p)
        return;
    p->md = NULL;
    kwi_send_run(p);
}

static void
want_md(kwi_ptopic *t)
{
    t->want_md = true;
}

/* Asks for the topics that need metadata, at most one call at a time and one per
 * retry.backoff.ms. Returns when it wants to run again. */
static int64_t
md_request(kw_producer *p, int64_t now)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_buckets; i++)
        for (kwi_ptopic *t = p->buckets[i]; t; t = t->next)
            n += t->want_md;
    if (n == 0 || p->md)
        return INT64_MAX;
    if (now < p->md_next)
        return p->md_next;
    const char **names = kwi_prod_alloc(p, n * sizeof(*names));
    kwi_md_wait *w = kwi_client_alloc(p->c, sizeof(*w));
    if (!names || !w) {
        kwi_prod_free_mem(p, names, n * sizeof(*names));
        kwi_client_mem_free(p->c, w, sizeof(*w));
        return now + p->backoff_ms;
    }
    size_t j = 0;
    for (size_t i = 0; i < p->n_buckets; i++)
        for (kwi_ptopic *t = p->buckets[i]; t; t = t->next)
            if (t->want_md) {
                names[j++] = t->name;
                t->want_md = false;
            }
    w->p = p;
    w->c = p->c;
    kw_error err;
    kw_error_init(&err);
    kw_err e = kw_client_metadata(p->c, names, n, (int)p->request_timeout_ms, on_md, w, &err);
    kwi_prod_free_mem(p, names, n * sizeof(*names));
    p->md_next = now + (p->backoff_ms > 10 ? p->backoff_ms : 10);
    if (e != KW_ERR_OK) {
        kwi_client_mem_free(p->c, w, sizeof(*w));
        return p->md_next;
    }
    p->md = w;
    return INT64_MAX;
}

/* ---- requests -------------------------------------------------------------------------------- */

static kw_err
encode_cb(kw_wr *w, int16_t ver, void *ud)
{
    kwi_preq *q = ud;
    if (!q->p)
        return KW_ERR_CANCELED; /* the producer is gone: its topics with it */
    return kwi_batch_produce_encode(w, ver, q);
}

static void
batch_free_orphan(kw_client *c, kwi_pbatch *b)
{
    for (int32_t i = 0; i < b->n_refs; i++)
        if (b->refs[i].fn)
            b->refs[i].fn((void *)b->refs[i].ptr, b->refs[i].ud);
    kw_wr_fini(&b->rec);
    kw_wr_fini(&b->z);
    kwi_client_mem_free(c, b->msgs, (size_t)b->cap * sizeof(*b->msgs));
    kwi_client_mem_free(c, b->refs, (size_t)b->cap_refs * sizeof(*b->refs));
    kwi_client_mem_free(c, b, sizeof(*b));
}

void
kwi_send_req_free(kw_client *c, kwi_preq *q)
{
    if (!q->p)
        for (int32_t i = 0; i < q->n; i++)
            batch_free_orphan(c, q->b[i]);
    kwi_client_mem_free(c, q->b, q->cap * sizeof(*q->b));
    kwi_client_mem_free(c, q, sizeof(*q));
}

static void
retry_or_fail(kw_producer *p, kwi_pbatch *b, int64_t now, bool retriable, bool ambiguous)
{
    b->ambiguous = b->ambiguous || ambiguous;
    if (retriable && !p->closing && b->attempts <= p->retries &&
        now < b->created_ms + p->delivery_timeout_ms && p->idem != KWI_IDEM_FATAL) {
        b->retry_at = now + kwi_send_backoff(p, b->attempts);
        p->st.retries++;
        kwi_acc_requeue(p, b);
        return;
    }
    if (b->base_seq >= 0)
        kwi_idem_on_local_fail(p, b);
    kwi_prod_batch_done(p, b, b->last.code, &b->last, -1, -1);
}

/* A batch's attempt ended with broker error `code` (or `err` from the connection). */
static void
batch_result(kw_producer *p, kwi_pbatch *b, int64_t now, kw_err err, const kw_error *detail,
             const kw_produce_resp_partition *r, int32_t node)
{
    b->in_req = false;
    b->tp->in_flight--;
    if (b->purged) {
        /* Reported as canceled already (or in the pending reports, which free it). */
        if (b->reported)
            kwi_acc_batch_free(p, b);
        return;
    }
    kwi_ptopic *t = b->tp->t;
    if (err != KW_ERR_OK) {
        kw_error_set(&b->last, err, "%s [%d]: %s", t->name, (int)b->tp->id, detail->msg);
        /* The connection broke or timed out: the broker may have written the batch. */
        bool amb = err == KW_ERR_IO || err == KW_ERR_TIMED_OUT;
        if (amb)
            want_md(t);
        retry_or_fail(p, b, now, kw_err_retriable(err), amb);
        return;
    }
    int16_t code = r ? r->error_code : 0;
    if (!r) {
        /* Acks=0 (no response expected) or an answer that skipped the partition. */
        if (p->acks == 0) {
            kwi_prod_batch_done(p, b, KW_ERR_OK, NULL, -1, -1);
            return;
        }
        kw_error_set(&b->last, KW_ERR_MALFORMED, "%s [%d]: broker %d did not answer for it",
                     t->name, (int)b->tp->id, (int)node);
        retry_or_fail(p, b, now, true, true);
        return;
    }
    if (r->current_leader.leader_epoch >= 0)
        kwi_client_on_leader_epoch(p->c, t->name, t->len, b->tp->id,
                                   r->current_leader.leader_epoch);
    if (code == KWI_BE_NONE || code == KWI_BE_DUPLICATE_SEQ) {
        /* DUPLICATE_SEQUENCE_NUMBER: a retry of a batch the broker already has. */
        kwi_idem_acked(p, b);
        kwi_prod_batch_done(p, b, KW_ERR_OK, NULL, code ? -1 : r->base_offset,
                            r->log_append_time_ms);
        return;
    }
    kw_error_set(&b->last, KW_ERR_BROKER, "%s [%d]: %s from broker %d%s%.*s", t->name,
                 (int)b->tp->id, kw_broker_err_name(code), (int)node,
                 r->error_message.len > 0 ? ": " : "",
                 r->error_message.len > 0 ? (int)r->error_message.len : 0,
                 r->error_message.len > 0 ? (const char *)r->error_message.ptr : "");
    b->last.broker_code = code;
    b->last.retriable = kw_broker_err_retriable(code);
    if (kw_broker_err_refresh_metadata(code)) {
        kwi_client_on_partition_error(p->c, t->name, t->len, b->tp->id, code);
        want_md(t);
    }
    if (code == KWI_BE_CLUSTER_AUTH || code == KWI_BE_TXN_ID_AUTH ||
        code == KWI_BE_INVALID_PID_MAPPING || code == KWI_BE_PRODUCER_FENCED) {
        kw_error fatal = b->last;
        fatal.fatal = true;
        kwi_prod_batch_done(p, b, KW_ERR_BROKER, &b->last, -1, -1);
        kwi_prod_set_fatal(p, &fatal);
        return;
    }
    if (code == KWI_BE_MESSAGE_TOO_LARGE && !p->closing && kwi_split_batch(p, b)) {
        p->st.retries++; /* sent again, in smaller batches */
        return;
    }
    bool retriable = kw_broker_err_retriable(code);
    if (code == KWI_BE_OUT_OF_ORDER || code == KWI_BE_UNKNOWN_PRODUCER_ID ||
        code == KWI_BE_INVALID_EPOCH)
        retriable = kwi_idem_on_error(p, b, code);
    /* Errors after which the broker may have written the batch anyway. */
    bool amb = code == KWI_BE_REQUEST_TIMED_OUT || code == KWI_BE_NOT_ENOUGH_REPLICAS_AA ||
               code == KWI_BE_NETWORK_EXCEPTION;
    retry_or_fail(p, b, now, retriable, amb);
}

/* Finds the batch a partition response is about: same topic (by name, or id from v13) and
 * partition, not yet matched. */
static int32_t
match(const kwi_preq *q, const bool *seen, const kw_produce_resp_topic *rt, int16_t ver,
      int32_t part)
{
    for (int32_t i = 0; i < q->n; i++) {
        const kwi_pbatch *b = q->b[i];
        if (seen[i] || b->tp->id != part)
            continue;
        const kwi_ptopic *t = b->tp->t;
        bool same = ver >= 13 ? memcmp(&t->id, &rt->topic_id, sizeof(t->id)) == 0
                              : (size_t)rt->name.len == t->len &&
                                    memcmp(rt->name.ptr, t->name, t->len) == 0;
        if (same)
            return i;
    }
    return -1;
}

static void
on_produce(kw_err err, const kw_error *detail, const kwi_resp *resp, void *ud)
{
    kwi_preq *q = ud;
    kw_producer *p = q->p;
    if (!p) {
        kwi_send_req_free(q->c, q);
        return;
    }
    unlink_req(p, q);
    int64_t now = kwi_prod_now(p);
    bool small[64];
    bool *seen = q->n <= 64 ? small : kwi_prod_alloc(p, (size_t)q->n);
    kw_error nomem;
    if (!seen && err == KW_ERR_OK && p->acks != 0) {
        /* Cannot match without memory: treat as a failed attempt (retried). */
        kw_error_init(&nomem);
        err = kw_error_set(&nomem, KW_ERR_NOMEM, "out of memory");
        detail = &nomem;
    }
    if (seen)
        memset(seen, 0, (size_t)q->n);
    if (err == KW_ERR_OK && p->acks != 0) {
        const kw_produce_resp *r = resp->body;
        for (int32_t i = 0; i < r->n_responses; i++) {
            const kw_produce_resp_topic *rt = &r->responses[i];
            for (int32_t j = 0; j < rt->n_partition_responses; j++) {
                const kw_produce_resp_partition *rp = &rt->partition_responses[j];
                int32_t k = match(q, seen, rt, resp->ver, rp->index);
                if (k < 0)
                    continue;
                seen[k] = true;
                batch_result(p, q->b[k], now, KW_ERR_OK, NULL, rp, q->node);
            }
        }
    }
    for (int32_t i = 0; i < q->n; i++)
        if (!seen || !seen[i])
            batch_result(p, q->b[i], now, err, detail, NULL, q->node);
    if (seen && seen != small)
        kwi_prod_free_mem(p, seen, (size_t)q->n);
    q->n = 0;
    kwi_send_req_free(p->c, q);
    kwi_send_run(p);
}

static void
link_req(kw_producer *p, kwi_preq *q)
{
    q->prev = NULL;
    q->next = p->reqs;
    if (p->reqs)
        p->reqs->prev = q;
    p->reqs = q;
    p->reqs_in_flight++;
}

static void
unlink_req(kw_producer *p, kwi_preq *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else
        p->reqs = q->next;
    if (q->next)
        q->next->prev = q->prev;
    q->prev = q->next = NULL;
    p->reqs_in_flight--;
}

/* ---- draining -------------------------------------------------------------------------------- */

/* The request being built for one broker during a round. */
typedef struct node_req {
    int32_t node;
    kwi_preq *q;
    size_t size;
    bool full;
} node_req;

typedef struct round {
    node_req small[8];
    node_req *v;
    int32_t n, cap;
} round;

static node_req *
round_node(kw_producer *p, round *r, int32_t node)
{
    for (int32_t i = 0; i < r->n; i++)
        if (r->v[i].node == node)
            return &r->v[i];
    if (r->n == r->cap) {
        int32_t ncap = r->cap * 2;
        node_req *nv = kwi_prod_alloc(p, (size_t)ncap * sizeof(*nv));
        if (!nv)
            return NULL;
        memcpy(nv, r->v, (size_t)r->n * sizeof(*nv));
        if (r->v != r->small)
            kwi_prod_free_mem(p, r->v, (size_t)r->cap * sizeof(*nv));
        r->v = nv;
        r->cap = ncap;
    }
    node_req *nr = &r->v[r->n++];
    memset(nr, 0, sizeof(*nr));
    nr->node = node;
    return nr;
}

static bool
req_add(kw_producer *p, node_req *nr, kwi_pbatch *b)
{
    kwi_preq *q = nr->q;
    if (!q) {
        q = kwi_prod_alloc(p, sizeof(*q));
        if (!q)
            return false;
        memset(q, 0, sizeof(*q));
        q->p = p;
        q->c = p->c;
        q->node = nr->node;
        q->acks = p->acks;
        q->timeout_ms =
            (int32_t)(p->request_timeout_ms > INT32_MAX ? INT32_MAX : p->request_timeout_ms);
        q->txn_id = KW_SLICE_NULL;
        nr->q = q;
        nr->size = 64; /* header, acks, timeout, array counts */
    }
    if ((size_t)q->n == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 8;
        kwi_pbatch **nb = kwi_prod_alloc(p, ncap * sizeof(*nb));
        if (!nb)
            return false;
        if (q->n)
            memcpy(nb, q->b, (size_t)q->n * sizeof(*nb));
        kwi_prod_free_mem(p, q->b, q->cap * sizeof(*nb));
        q->b = nb;
        q->cap = ncap;
    }
    q->b[q->n++] = b;
    return true;
}

/* Sorts a request's batches by topic (stable), so each topic is written once. */
static void
group_by_topic(kwi_preq *q)
{
    for (int32_t i = 1; i < q->n; i++) {
        kwi_pbatch *b = q->b[i];
        int32_t j = i - 1;
        /* Move b back behind the last batch of the same topic, if there is one earlier. */
        int32_t k = -1;
        for (int32_t m = j; m >= 0; m--)
            if (q->b[m]->tp->t == b->tp->t) {
                k = m;
                break;
            }
        if (k < 0 || k == j)
            continue;
        memmove(&q->b[k + 2], &q->b[k + 1], (size_t)(i - k - 1) * sizeof(*q->b));
        q->b[k + 1] = b;
    }
}

static void
send_req(kw_producer *p, kwi_preq *q)
{
    group_by_topic(q);
    kwi_req_opts o;
    kwi_req_opts_init(&o);
    o.timeout_ms = p->request_timeout_ms;
    o.no_response = p->acks == 0;
    o.encode = encode_cb;
    o.encode_ud = q;
    bool ids = true;
    for (int32_t i = 0; i < q->n; i++) {
        if (q->b[i]->codec == KW_CODEC_ZSTD)
            o.min_ver = 7; /* zstd arrived with Produce v7 (KIP-110) */
        static const kw_uuid zero;
        if (memcmp(&q->b[i]->tp->t->id, &zero, sizeof(zero)) == 0)
            ids = false;
    }
    if (!ids)
        o.max_ver = 12; /* v13 names topics by id only */
    kw_error err;
    kw_error_init(&err);
    link_req(p, q);
    p->st.requests++;
    p->st.batches += (uint64_t)q->n;
    if (kwi_client_send(p->c, q->node, KWI_API_PRODUCE, NULL, &o, on_produce, q, &err) == KW_ERR_OK)
        return;
    /* Not sent (the broker left the metadata, out of memory): the batches go back to their
     * queues as if this had not happened, and the leader is looked up again. */
    unlink_req(p, q);
    p->st.requests--;
    p->st.batches -= (uint64_t)q->n;
    int64_t now = kwi_prod_now(p);
    for (int32_t i = 0; i < q->n; i++) {
        kwi_pbatch *b = q->b[i];
        b->in_req = false;
        b->tp->in_flight--;
        b->attempts--;
        b->retry_at = now + p->backoff_ms;
        b->last = err;
        want_md(b->tp->t);
        kwi_acc_requeue(p, b);
    }
    q->n = 0;
    kwi_send_req_free(p->c, q);
}

/* Whether the head batch of a partition may go now; sets *at when it will later. */
static bool
head_ready(kw_producer *p, kwi_ptp *tp, int64_t now, int64_t *at)
{
    kwi_pbatch *b = tp->head;
    bool ready = b->next || b->full || b->attempts > 0 || b->sealed || p->flush_all ||
                 p->flushing > 0 || p->closing || now >= b->created_ms + p->linger_ms;
    if (!ready) {
        *at = b->created_ms + p->linger_ms;
        return false;
    }
    if (b->retry_at > now) {
        *at = b->retry_at;
        return false;
    }
    /* A batch sent before goes again only when nothing of its partition is in flight. */
    if (b->attempts > 0 && tp->in_flight > 0)
        return false;
    /* With max.in.flight.requests.per.connection=1 a partition has one batch in flight at a
     * time, on any connection (Java's guaranteeMessageOrder): after a leader move the next
     * batch must not overtake one still on its way to the old leader. */
    if (p->max_in_flight == 1 && tp->in_flight > 0)
        return false;
    /* The first batch of a producer id or epoch on a partition goes alone: a broker accepts
     * any sequence from a producer it does not know (KIP-360), so if that batch failed while
     * the next one was already on its way, the next one would be written first. */
    if (p->idem != KWI_IDEM_OFF && tp->last_acked < 0 && tp->in_flight > 0)
        return false;
    return true;
}

/* The leader's request for this round, when the leader is connected and has room. */
static node_req *
leader_req(kw_producer *p, round *r, kwi_ptp *tp, int64_t now, int64_t *at)
{
    kwi_ptopic *t = tp->t;
    int32_t leader, epoch;
    int16_t code;
    kw_err e = kwi_client_leader(p->c, t->name, t->len, tp->id, &leader, &epoch, &code);
    if (e != KW_ERR_OK) {
        /* Unknown topic or partition, no leader, a topic error: the cache refreshes; batches
         * wait (up to delivery.timeout.ms). */
        want_md(t);
        *at = now + p->backoff_ms;
        return NULL;
    }
    kwi_broker *b = kwi_broker_find(p->c, leader);
    if (!b) {
        want_md(t);
        *at = now + p->backoff_ms;
        return NULL;
    }
    kwi_conn_state st = kwi_conn_state_get(b->conn);
    if (st != KWI_CONN_READY) {
        kwi_conn_connect(b->conn);
        *at = now +
              (st == KWI_CONN_BACKOFF || st == KWI_CONN_DOWN ? BACKOFF_POLL_MS : CONNECT_POLL_MS);
        return NULL;
    }
    node_req *nr = round_node(p, r, leader);
    if (!nr) {
        *at = now + p->backoff_ms; /* out of memory: try again */
        return NULL;
    }
    if (nr->full)
        return NULL;
    if (!nr->q && kwi_conn_in_flight(b->conn) + kwi_conn_queued(b->conn) >= p->max_in_flight)
        return NULL; /* a response will run the sender again */
    return nr;
}

/* One round: at most one batch per partition into at most one request per broker. Returns
 * whether a request went out. */
static bool
drain_round(kw_producer *p, int64_t now, int64_t *wake)
{
    round r;
    memset(&r, 0, sizeof(r));
    r.v = r.small;
    r.cap = 8;
    kwi_ptp **pp = &p->active;
    while (*pp) {
        kwi_ptp *tp = *pp;
        if (!tp->head) {
            *pp = tp->next_active; /* nothing queued: leaves the list */
            tp->active = false;
            continue;
        }
        pp = &tp->next_active;
        int64_t at = INT64_MAX;
        node_req *nr = NULL;
        if (head_ready(p, tp, now, &at))
            nr = leader_req(p, &r, tp, now, &at);
        if (at < *wake)
            *wake = at;
        if (!nr)
            continue;
        kwi_pbatch *b = tp->head;
        kw_err e = kwi_batch_seal(b, p->a, p->zctx, &p->scratch, p->level);
        if (e == KW_ERR_NOMEM) {
            /* Out of memory while compressing: the batch waits and tries again. */
            if (now + p->backoff_ms < *wake)
                *wake = now + p->backoff_ms;
            continue;
        }
        if (e != KW_ERR_OK) {
            kwi_acc_pop(p, tp);
            kw_error d;
            kw_error_init(&d);
            kw_error_set(&d, e, "%s [%d]: cannot compress the batch: %s", tp->t->name, (int)tp->id,
                         kw_err_str(e));
            if (b->base_seq >= 0)
                kwi_idem_on_local_fail(p, b);
            kwi_prod_batch_done(p, b, e, &d, -1, -1);
            continue;
        }
        size_t size = KW_BATCH_HEADER_SIZE + kwi_batch_area_size(b) + tp->t->len + 16;
        if (nr->q && nr->size + size > (size_t)p->max_request) {
            nr->full = true; /* the next round takes it */
            continue;
        }
        if (!req_add(p, nr, b)) {
            if (now + p->backoff_ms < *wake) /* out of memory: try again */
                *wake = now + p->backoff_ms;
            continue;
        }
        nr->size += size;
        kwi_acc_pop(p, tp);
        kwi_idem_assign(p, b);
        b->in_req = true;
        b->attempts++;
        tp->in_flight++;
    }
    bool sent = false;
    for (int32_t i = 0; i < r.n; i++)
        if (r.v[i].q) {
            send_req(p, r.v[i].q);
            sent = true;
        }
    if (r.v != r.small)
        kwi_prod_free_mem(p, r.v, (size_t)r.cap * sizeof(*r.v));
    /* Rotate: the first partition goes to the end of the list. */
    kwi_ptp *first = p->active;
    if (sent && first && first->next_active) {
        kwi_ptp *last = first;
        while (last->next_active)
            last = last->next_active;
        p->active = first->next_active;
        first->next_active = NULL;
        last->next_active = first;
    }
    return sent;
}

void
kwi_send_run(kw_producer *p)
{
    if (p->closing)
        return;
    int64_t now = kwi_prod_now(p);
    p->next_run = INT64_MAX;
    int64_t wake = kwi_acc_pending_run(p, now), at;
    if ((at = kwi_acc_expire(p, now)) < wake)
        wake = at;
    if ((at = kwi_idem_run(p, now)) < wake)
        wake = at;
    if (p->idem == KWI_IDEM_FATAL) {
        kwi_acc_fail_all(p, p->fatal.code, &p->fatal);
    } else if (kwi_idem_ready(p)) {
        int rounds = 0;
        while (drain_round(p, now, &wake) && ++rounds < 64)
            ;
        if (rounds == 64)
            wake = now;
    }
    if ((at = md_request(p, now)) < wake)
        wake = at;
    if (wake != INT64_MAX)
        kwi_prod_wake_at(p, wake < now ? now : wake);
    else
        kwi_reactor_timer_stop(p->t_run);
    kwi_prod_reports(p);
}
