/* The fetcher: Fetch requests, one per leader broker at a time, and their responses.
 *
 * A pass (kwi_fetch_run) looks at every assigned partition that has a position, is not
 * paused, not in flight and not backing off, finds its leader in the metadata cache and groups
 * the partitions by leader. A broker with no Fetch in flight gets one request for all of its
 * partitions. The response's records become chunks on the partition queues while the next
 * request is already out: that is the pipelining, and its bound is the memory budget: a
 * request may bring at most max_bytes, which is reserved against fetch.queue.max.bytes until
 * the response is parsed, so buffered plus reserved bytes stay within the budget (a broker
 * may exceed max_bytes by one batch for progress, KIP-74, and decompressed data counts once it
 * exists). A partition with two chunks waiting is not fetched again until the application has
 * taken one, so one fast partition does not crowd out the others.
 *
 * Errors, per partition: NOT_LEADER_OR_FOLLOWER, FENCED/UNKNOWN_LEADER_EPOCH,
 * UNKNOWN_TOPIC_OR_PARTITION, unknown topic id and the like refresh the metadata and fetch
 * again from the same offset after a backoff; OFFSET_OUT_OF_RANGE applies auto.offset.reset;
 * TOPIC_AUTHORIZATION_FAILED and other errors that retrying cannot fix reach the application
 * in-band (once per streak) and are retried after retry.backoff.max.ms. A failed request (lost
 * connection, timeout) does the same as a leader error for all of its partitions. Fetch
 * sessions (KIP-227) are not used: every request is a full one (session epoch -1). */
#include <stdlib.h>
#include <string.h>

#include "client/consumer_int.h"

static size_t
align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* ---- requests ---------------------------------------------------------------------------- */

kwi_cfreq *
kwi_req_new(kw_consumer *k, int16_t api, int32_t node, size_t extra)
{
    size_t size = align8(sizeof(kwi_cfreq)) + extra;
    kwi_cfreq *q = kwi_client_alloc(k->c, size);
    if (!q)
        return NULL;
    memset(q, 0, size);
    q->k = k;
    q->c = k->c;
    q->api = api;
    q->node = node;
    q->serial = ++k->serial;
    q->alloc = size;
    q->next = k->reqs;
    if (k->reqs)
        k->reqs->prev = q;
    k->reqs = q;
    return q;
}

void
kwi_req_free(kwi_cfreq *q)
{
    kw_consumer *k = q->k;
    if (k) {
        if (q->prev)
            q->prev->next = q->next;
        else
            k->reqs = q->next;
        if (q->next)
            q->next->prev = q->prev;
        k->reserved = q->reserved > k->reserved ? 0 : k->reserved - q->reserved;
    }
    kwi_client_mem_free(q->c, q, q->alloc);
}

void
kwi_req_clear(kw_consumer *k, uint64_t serial)
{
    for (size_t i = 0; i < k->n_parts; i++)
        if (k->parts[i]->in_flight && k->parts[i]->req_serial == serial)
            k->parts[i]->in_flight = false;
}

void
kwi_fetch_fini(kw_consumer *k)
{
    /* Requests in flight complete into nothing (their callbacks see q->k == NULL). */
    for (kwi_cfreq *q = k->reqs; q; q = q->next)
        q->k = NULL;
    k->reqs = NULL;
}

static bool
fetch_in_flight(kw_consumer *k, int32_t node)
{
    for (kwi_cfreq *q = k->reqs; q; q = q->next)
        if (q->api == KWI_API_FETCH && q->node == node)
            return true;
    return false;
}

/* ---- responses --------------------------------------------------------------------------- */

/* A retriable partition failure: refresh the topic's metadata and retry after a backoff. */
static void
retry_later(kw_consumer *k, kwi_ctp *tp, int16_t code)
{
    k->st.fetch_errors++;
    kwi_cons_retry(k, tp, code);
}

static bool
is_metadata_error(int16_t code)
{
    switch (code) {
    case KWI_CE_UNKNOWN_TOPIC:
    case KWI_CE_LEADER_NOT_AVAILABLE:
    case KWI_CE_NOT_LEADER:
    case KWI_CE_REPLICA_NOT_AVAILABLE:
    case KWI_CE_KAFKA_STORAGE_ERROR:
    case KWI_CE_FENCED_LEADER_EPOCH:
    case KWI_CE_UNKNOWN_LEADER_EPOCH:
    case KWI_CE_UNKNOWN_TOPIC_ID:
    case KWI_CE_INCONSISTENT_TOPIC_ID:
    case KWI_CE_OFFSET_NOT_AVAILABLE:
        return true;
    default:
        return kw_broker_err_refresh_metadata(code);
    }
}

void
kwi_fetch_apply(kw_consumer *k, kwi_ctp *tp, const kw_fetch_resp_partition *rp)
{
    tp->hw = rp->high_watermark;
    tp->lso = rp->last_stable_offset >= 0 ? rp->last_stable_offset : rp->high_watermark;
    if (rp->log_start_offset >= 0)
        tp->log_start = rp->log_start_offset;
    kw_error d;
    kw_error_init(&d);
    kw_err bad;
    int64_t from = tp->fetch_pos;
    kwi_cchunk *ch = kwi_parse_partition(k, tp, rp, &bad, &d);
    const kwi_log *lg = kwi_client_log(k->c);
    if (kwi_log_on(lg, KW_LOG_DEBUG))
        kwi_log_write(lg, KW_LOG_DEBUG, "consumer",
                      "%s [%d] from %lld: %d bytes, %zu messages, next %lld, hw %lld: %s",
                      tp->topic, (int)tp->partition, (long long)from, (int)rp->records.len,
                      ch ? ch->n : 0, (long long)tp->fetch_pos, (long long)tp->hw,
                      kw_err_name(bad));
    kwi_cons_enqueue(k, tp, ch);
    if (bad == KW_ERR_NOMEM) {
        retry_later(k, tp, 0);
    } else if (bad == KW_ERR_AGAIN) {
        /* The next batch inflates past what the memory bound leaves while other chunks are
         * held: try again once the application had time to release some. */
        tp->backoff_to = kwi_cons_now(k) + k->backoff_ms;
        kwi_cons_wake_at(k, tp->backoff_to);
    } else if (bad != KW_ERR_OK) {
        /* A corrupt batch: the records before it go out, then the error; the partition
         * stops there until the application seeks (Java raises it on every poll). */
        tp->state = KWI_CTP_STOPPED;
        k->st.fetch_errors++;
        kwi_cons_error(k, tp, bad, 0, "%s", d.msg);
    } else {
        tp->failures = 0;
        tp->last_err = 0;
    }
}

static void
partition_resp(kw_consumer *k, kwi_cfreq *q, const char *topic, size_t len,
               const kw_fetch_resp_partition *rp)
{
    kwi_ctp *tp = kwi_cons_find(k, topic, len, rp->partition_index);
    if (!tp || !tp->in_flight || tp->req_serial != q->serial || tp->state != KWI_CTP_FETCH)
        return; /* moved, paused, unassigned meanwhile: the answer is for an old position */
    tp->in_flight = false;
    int16_t code = rp->error_code;
    if (code == 0) {
        kwi_fetch_apply(k, tp, rp);
    } else if (code == KWI_CE_OFFSET_OUT_OF_RANGE) {
        k->st.fetch_errors++;
        kwi_cons_auto_reset(k, tp, code, "offset out of range");
    } else if (is_metadata_error(code) || kw_broker_err_retriable(code)) {
        const kwi_log *lg = kwi_client_log(k->c);
        if (kwi_log_on(lg, KW_LOG_DEBUG))
            kwi_log_write(lg, KW_LOG_DEBUG, "consumer", "%s [%d] at %lld: %s, retrying", tp->topic,
                          (int)tp->partition, (long long)tp->fetch_pos, kw_broker_err_name(code));
        if (rp->current_leader.leader_epoch >= 0)
            kwi_client_on_leader_epoch(k->c, tp->topic, tp->tlen, tp->partition,
                                       rp->current_leader.leader_epoch);
        retry_later(k, tp, code);
    } else {
        k->st.fetch_errors++;
        if (tp->last_err != code)
            kwi_cons_error(k, tp, KW_ERR_BROKER, code, "fetching %s [%d] at offset %lld: %s",
                           tp->topic, (int)tp->partition, (long long)tp->fetch_pos,
                           kw_broker_err_name(code));
        tp->last_err = code;
        tp->failures++;
        tp->backoff_to = kwi_cons_now(k) + k->backoff_max_ms;
    }
}

/* The request's topic name for a response topic (by name below v13, by id from v13). */
static const kw_fetch_req_topic *
req_topic(const kwi_cfreq *q, int16_t ver, const kw_fetch_resp_topic *rt)
{
    const kw_fetch_req *r = &q->req.fetch;
    for (int32_t i = 0; i < r->n_topics; i++) {
        const kw_fetch_req_topic *t = &r->topics[i];
        if (ver >= 13 ? memcmp(&t->topic_id, &rt->topic_id, sizeof(kw_uuid)) == 0
                      : (t->topic.len == rt->topic.len &&
                         memcmp(t->topic.ptr, rt->topic.ptr, (size_t)t->topic.len) == 0))
            return t;
    }
    return NULL;
}

static void
fail_request(kw_consumer *k, kwi_cfreq *q, int16_t code)
{
    for (size_t i = 0; i < k->n_parts; i++) {
        kwi_ctp *tp = k->parts[i];
        if (tp->in_flight && tp->req_serial == q->serial) {
            tp->in_flight = false;
            retry_later(k, tp, code);
        }
    }
}

static void
on_fetch(kw_err err, const kw_error *detail, const kwi_resp *resp, void *ud)
{
    kwi_cfreq *q = ud;
    kw_consumer *k = q->k;
    if (!k) {
        kwi_req_free(q);
        return;
    }
    const kw_fetch_resp *r = err == KW_ERR_OK ? resp->body : NULL;
    const kwi_log *lg = kwi_client_log(k->c);
    if (!r) {
        if (kwi_log_on(lg, KW_LOG_DEBUG))
            kwi_log_write(lg, KW_LOG_DEBUG, "consumer", "Fetch to broker %d failed: %s",
                          (int)q->node, detail->msg);
        fail_request(k, q, 0);
    } else if (r->error_code != 0) {
        if (kwi_log_on(lg, KW_LOG_DEBUG))
            kwi_log_write(lg, KW_LOG_DEBUG, "consumer", "Fetch to broker %d: %s", (int)q->node,
                          kw_broker_err_name(r->error_code));
        fail_request(k, q, r->error_code);
    } else {
        k->st.fetch_responses++;
        k->st.fetch_version = resp->ver;
        for (int32_t i = 0; i < r->n_responses; i++) {
            const kw_fetch_resp_topic *rt = &r->responses[i];
            const kw_fetch_req_topic *t = req_topic(q, resp->ver, rt);
            if (!t)
                continue; /* a topic we did not ask for: ignore */
            for (int32_t j = 0; j < rt->n_partitions; j++)
                partition_resp(k, q, (const char *)t->topic.ptr, (size_t)t->topic.len,
                               &rt->partitions[j]);
        }
        /* Partitions the broker left out are fetched again on the next pass. */
        kwi_req_clear(k, q->serial);
    }
    kwi_req_free(q);
    kwi_fetch_run(k);
}

/* ---- sending ----------------------------------------------------------------------------- */

typedef kwi_ccand cand;

/* Whether a partition may go into a Fetch now; sets *wait to when it may otherwise. */
static bool
fetchable(kw_consumer *k, kwi_ctp *tp, int64_t now, int64_t *wait)
{
    if (tp->state != KWI_CTP_FETCH || tp->paused || tp->in_flight)
        return false;
    if (tp->qhead && tp->qhead != tp->qtail)
        return false; /* two chunks waiting: the application polls first */
    if (tp->backoff_to > now) {
        if (tp->backoff_to < *wait)
            *wait = tp->backoff_to;
        return false;
    }
    (void)k;
    return true;
}

/* Fills the request body of q (its trailing memory laid out by send_fetch: topics, then
 * partitions at off_parts, then names and the rack at off_names) and marks the partitions in
 * flight. Returns whether every topic has an id (Fetch v13+ names topics by id). */
static bool
fill_fetch(kw_consumer *k, kwi_cfreq *q, const cand *c, size_t n, size_t n_topics, size_t off_parts,
           size_t off_names, int32_t max_bytes)
{
    size_t rack_len = strlen(k->rack);
    uint8_t *base = (uint8_t *)q + align8(sizeof(kwi_cfreq));
    kw_fetch_req_topic *topics = (kw_fetch_req_topic *)base;
    kw_fetch_req_partition *parts = (kw_fetch_req_partition *)(base + off_parts);
    char *nm = (char *)(base + off_names);
    bool ids = true;
    int32_t ti = -1;
    for (size_t i = 0; i < n; i++) {
        kwi_ctp *tp = c[i].tp;
        if (ti < 0 || i == 0 || tp->tlen != c[i - 1].tp->tlen ||
            strcmp(tp->topic, c[i - 1].tp->topic) != 0) {
            ti++;
            memcpy(nm, tp->topic, tp->tlen);
            topics[ti].topic = (kw_slice){(const uint8_t *)nm, (int32_t)tp->tlen};
            nm += tp->tlen;
            kwi_md_topic *mt = kwi_md_topic_find(k->c, tp->topic, tp->tlen);
            static const kw_uuid zero;
            if (mt && memcmp(&mt->id, &zero, sizeof(zero)) != 0)
                topics[ti].topic_id = mt->id;
            else
                ids = false;
            topics[ti].partitions = &parts[i];
        }
        topics[ti].n_partitions++;
        kw_fetch_req_partition *p = &parts[i];
        p->partition = tp->partition;
        p->current_leader_epoch = c[i].epoch;
        p->fetch_offset = tp->fetch_pos;
        p->last_fetched_epoch = -1;
        p->log_start_offset = -1;
        p->partition_max_bytes = k->part_max_bytes < max_bytes ? k->part_max_bytes : max_bytes;
        p->high_watermark = INT64_MAX;
        tp->in_flight = true;
        tp->req_serial = q->serial;
    }
    memcpy(nm, k->rack, rack_len + 1);
    kw_fetch_req *r = &q->req.fetch;
    r->cluster_id = KW_SLICE_NULL;
    r->replica_id = -1;
    r->replica_state.replica_id = -1;
    r->replica_state.replica_epoch = -1;
    r->max_wait_ms = k->max_wait_ms;
    r->min_bytes = k->min_bytes;
    r->max_bytes = max_bytes;
    r->isolation_level = k->isolation;
    r->session_id = 0;
    r->session_epoch = -1; /* no fetch session: a full request every time */
    r->topics = topics;
    r->n_topics = (int32_t)n_topics;
    r->rack_id = (kw_slice){(const uint8_t *)nm, (int32_t)rack_len};
    return ids;
}

/* Builds and sends one Fetch for partitions c[0..n) led by the same broker. */
static void
send_fetch(kw_consumer *k, const cand *c, size_t n, int32_t max_bytes)
{
    /* Topics: consecutive runs of the same name (c is sorted). */
    size_t n_topics = 0, names = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || c[i].tp->tlen != c[i - 1].tp->tlen ||
            strcmp(c[i].tp->topic, c[i - 1].tp->topic) != 0) {
            n_topics++;
            names += c[i].tp->tlen;
        }
    size_t off_parts = align8(n_topics * sizeof(kw_fetch_req_topic));
    size_t off_names = off_parts + align8(n * sizeof(kw_fetch_req_partition));
    size_t rack_len = strlen(k->rack);
    kwi_cfreq *q = kwi_req_new(k, KWI_API_FETCH, c[0].leader, off_names + names + rack_len + 1);
    if (!q) {
        /* Out of memory: the next pass tries again, and a timer makes sure there is one. */
        kwi_cons_wake_at(k, kwi_cons_now(k) + k->backoff_ms);
        return;
    }
    bool ids = fill_fetch(k, q, c, n, n_topics, off_parts, off_names, max_bytes);
    kw_fetch_req *r = &q->req.fetch;
    q->reserved = (size_t)max_bytes;
    k->reserved += q->reserved;
    kwi_req_opts o;
    kwi_req_opts_init(&o);
    /* The broker may hold the request for max wait: the timeout must come on top of it. */
    o.timeout_ms = k->request_timeout_ms + k->max_wait_ms;
    if (!ids)
        o.max_ver = 12; /* topic ids unknown (old metadata): name the topics */
    kw_error e;
    kw_error_init(&e);
    if (kwi_client_send(k->c, c[0].leader, KWI_API_FETCH, r, &o, on_fetch, q, &e) != KW_ERR_OK) {
        /* The leader left the metadata meanwhile: retry after a refresh. */
        for (size_t i = 0; i < n; i++) {
            c[i].tp->in_flight = false;
            retry_later(k, c[i].tp, 0);
        }
        kwi_req_free(q);
        return;
    }
    k->st.fetch_requests++;
    const kwi_log *lg = kwi_client_log(k->c);
    if (kwi_log_on(lg, KW_LOG_DEBUG))
        kwi_log_write(lg, KW_LOG_DEBUG, "consumer", "Fetch to broker %d: %zu partitions, %d bytes",
                      (int)c[0].leader, n, (int)max_bytes);
}

/* Finds the leader of every fetchable partition; returns the candidates sorted by leader. */
static size_t
collect(kw_consumer *k, cand *out, int64_t now, int64_t *wait)
{
    size_t n = 0;
    for (size_t i = 0; i < k->n_parts; i++) {
        kwi_ctp *tp = k->parts[i];
        if (!fetchable(k, tp, now, wait))
            continue;
        int32_t leader, epoch;
        int16_t code = 0;
        kw_err e =
            kwi_client_leader(k->c, tp->topic, tp->tlen, tp->partition, &leader, &epoch, &code);
        if (e == KW_ERR_OK) {
            out[n++] = (cand){tp, leader, epoch};
            continue;
        }
        /* Unknown or leaderless: the cache refreshes; look again after a backoff. */
        if (e == KW_ERR_BROKER && code != tp->last_err) {
            kwi_cons_error(k, tp, KW_ERR_BROKER, code, "%s: %s", tp->topic,
                           kw_broker_err_name(code));
            tp->last_err = code;
        }
        tp->backoff_to = now + (e == KW_ERR_BROKER ? k->backoff_max_ms : k->backoff_ms);
        if (tp->backoff_to < *wait)
            *wait = tp->backoff_to;
    }
    qsort(out, n, sizeof(*out), kwi_cons_cmp_cand);
    return n;
}

/* Whether a Fetch of c[0..n) (one leader) would only park at the broker while partitions with
 * data wait behind it: every candidate is at its high watermark (the broker holds such a request
 * for fetch.max.wait.ms), and a partition of the same leader is left out only for a while: two
 * chunks wait for poll, or a short backoff (a batch that did not fit the memory bound yet). A
 * broker gets one Fetch at a time, so sending it would keep that partition from being fetched for
 * the whole wait once it could; the poll that drains it, or the end of the backoff, wakes the
 * fetcher, and both go in one request then. */
static bool
would_park(kw_consumer *k, const cand *c, size_t n, int64_t now)
{
    for (size_t i = 0; i < n; i++) {
        const kwi_ctp *tp = c[i].tp;
        int64_t end = k->isolation ? tp->lso : tp->hw;
        if (end < 0 || tp->fetch_pos < end)
            return false;
    }
    for (size_t i = 0; i < k->n_parts; i++) {
        kwi_ctp *tp = k->parts[i];
        bool queued = tp->qhead && tp->qhead != tp->qtail;
        if (tp->state != KWI_CTP_FETCH || tp->paused || tp->in_flight ||
            (!queued && tp->backoff_to <= now))
            continue;
        int32_t leader, epoch;
        int16_t code = 0;
        if (kwi_client_leader(k->c, tp->topic, tp->tlen, tp->partition, &leader, &epoch, &code) ==
                KW_ERR_OK &&
            leader == c[0].leader)
            return true;
    }
    return false;
}

/* Sends what the budget allows; returns when it needs to run again for backoffs. */
static int64_t
fetch_send(kw_consumer *k, int64_t now)
{
    int64_t wait = INT64_MAX;
    if (k->n_parts == 0)
        return wait;
    cand *c = kwi_cons_alloc(k, k->n_parts * sizeof(*c));
    if (!c)
        return now + k->backoff_ms;
    size_t n = collect(k, c, now, &wait);
    bool stalled = false;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && c[j].leader == c[i].leader)
            j++;
        if (!fetch_in_flight(k, c[i].leader) && !would_park(k, &c[i], j - i, now)) {
            /* What this request can bring at most, and what the budget leaves for it. */
            size_t natural = (j - i) * (size_t)k->part_max_bytes;
            if (natural > (size_t)k->max_bytes)
                natural = (size_t)k->max_bytes;
            size_t least = k->budget / 16 > 1024 ? k->budget / 16 : 1024;
            if (least > natural)
                least = natural;
            /* Cached blocks give way before fetching stalls. */
            kwi_cons_pool_trim(k, least);
            size_t used = kwi_cons_used(k);
            size_t avail = used < k->budget ? k->budget - used : 0;
            /* A smaller request is fine; a tiny one is not worth it: wait for room, unless
             * nothing at all is held (a budget below one batch must still make progress). */
            if (avail < least && used > 0) {
                stalled = true;
                break;
            }
            size_t mb = avail < natural ? avail : natural;
            if (mb < 1024)
                mb = 1024;
            send_fetch(k, &c[i], j - i, (int32_t)mb);
        }
        i = j;
    }
    if (stalled && !k->stalled)
        k->st.budget_stalls++;
    k->stalled = stalled;
    kwi_cons_free_mem(k, c, k->n_parts * sizeof(*c));
    return wait;
}

void
kwi_fetch_run(kw_consumer *k)
{
    if (k->closing)
        return;
    int64_t now = kwi_cons_now(k);
    int64_t next = kwi_offsets_run(k, now);
    int64_t w = fetch_send(k, now);
    if (w < next)
        next = w;
    if (next != INT64_MAX)
        kwi_cons_wake_at(k, next);
}
