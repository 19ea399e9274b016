/* ListOffsets: where a partition starts when it seeks to its beginning, its end or a time, and
 * when auto.offset.reset applies (no start offset, OFFSET_OUT_OF_RANGE).
 *
 * Partitions in KWI_CTP_RESET are grouped by leader into one request per broker; the answer
 * moves the partition to the offset (through kwi_cons_move, so a seek made meanwhile wins:
 * the answer is then for an old gen and is ignored). The end is the high watermark with
 * read_uncommitted and the last stable offset with read_committed (the request's isolation
 * level, v2+). A time with no record at or after it answers offset -1: the partition then
 * goes to its end, as Java's seek to a missing time leaves the consumer at the end.
 *
 * Also here: the public calls that read or move positions (seek, position, lag, watermarks,
 * pause and resume). */
#include <stdlib.h>
#include <string.h>

#include "client/consumer_int.h"

static size_t
align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

static void
list_retry(kw_consumer *k, kwi_ctp *tp, int16_t code)
{
    tp->state = KWI_CTP_RESET;
    tp->in_flight = false;
    kwi_cons_retry(k, tp, code);
}

static void
list_partition(kw_consumer *k, kwi_cfreq *q, const kw_slice *topic,
               const kw_list_offsets_resp_partition *rp)
{
    kwi_ctp *tp =
        kwi_cons_find(k, (const char *)topic->ptr, (size_t)topic->len, rp->partition_index);
    if (!tp || tp->state != KWI_CTP_LISTING || !tp->in_flight || tp->req_serial != q->serial)
        return;
    int16_t code = rp->error_code;
    const kwi_log *lg = kwi_client_log(k->c);
    if (kwi_log_on(lg, KW_LOG_DEBUG))
        kwi_log_write(lg, KW_LOG_DEBUG, "consumer", "%s [%d]: offset for %lld is %lld (%s)",
                      tp->topic, (int)tp->partition, (long long)tp->reset_to, (long long)rp->offset,
                      kw_broker_err_name(code));
    if (code == 0 && rp->offset < 0 && tp->reset_to >= 0) {
        /* No record at or after that time: go to the end. */
        tp->state = KWI_CTP_RESET;
        tp->in_flight = false;
        tp->reset_to = KWI_RESET_LATEST;
    } else if (code == 0 && rp->offset >= 0) {
        kwi_cons_move(k, tp, rp->offset, false, 0);
        tp->pos_epoch = tp->fetch_epoch = rp->leader_epoch;
        tp->failures = 0;
    } else if (code == 0 || kw_broker_err_retriable(code) || kw_broker_err_refresh_metadata(code)) {
        list_retry(k, tp, code);
    } else {
        if (tp->last_err != code)
            kwi_cons_error(k, tp, KW_ERR_BROKER, code, "looking up the offset of %s [%d]: %s",
                           tp->topic, (int)tp->partition, kw_broker_err_name(code));
        tp->last_err = code;
        list_retry(k, tp, 0);
        tp->backoff_to = kwi_cons_now(k) + k->backoff_max_ms;
    }
}

/* A response did not parse at the version used (librdkafka 2.0.2's mock cluster answers
 * ListOffsets v4/v5 without fields the schema has): ask one version lower next time, down to
 * v1, the first with timestamps. The version used was the connection's negotiated one, capped
 * by the earlier step-downs. */
static void
step_down(kw_consumer *k, int32_t node)
{
    kwi_broker *b = kwi_broker_find(k->c, node);
    int16_t v = -1;
    if (b && b->conn && kwi_conn_state_get(b->conn) == KWI_CONN_READY)
        v = kwi_conn_apiver(b->conn)->use[KWI_API_LIST_OFFSETS];
    if (k->lo_max_ver >= 0 && (v < 0 || k->lo_max_ver < v))
        v = k->lo_max_ver;
    if (v > 1)
        k->lo_max_ver = (int16_t)(v - 1);
}

static void
on_list(kw_err err, const kw_error *detail, const kwi_resp *resp, void *ud)
{
    kwi_cfreq *q = ud;
    kw_consumer *k = q->k;
    if (!k) {
        kwi_req_free(q);
        return;
    }
    const kw_list_offsets_resp *r = err == KW_ERR_OK ? resp->body : NULL;
    const kwi_log *lg = kwi_client_log(k->c);
    if (!r && kwi_log_on(lg, KW_LOG_DEBUG))
        kwi_log_write(lg, KW_LOG_DEBUG, "consumer", "ListOffsets to broker %d failed: %s",
                      (int)q->node, detail->msg);
    if (!r && (err == KW_ERR_MALFORMED || err == KW_ERR_TRUNCATED))
        step_down(k, q->node);
    if (r)
        for (int32_t i = 0; i < r->n_topics; i++)
            for (int32_t j = 0; j < r->topics[i].n_partitions; j++)
                list_partition(k, q, &r->topics[i].name, &r->topics[i].partitions[j]);
    /* Partitions not answered (or the whole request failed): try again. */
    for (size_t i = 0; i < k->n_parts; i++) {
        kwi_ctp *tp = k->parts[i];
        if (tp->in_flight && tp->req_serial == q->serial)
            list_retry(k, tp, 0);
    }
    kwi_req_free(q);
    kwi_fetch_run(k);
}

typedef kwi_ccand lcand;

/* One ListOffsets for c[0..n), all led by the same broker, sorted by topic. */
static void
send_list(kw_consumer *k, const lcand *c, size_t n)
{
    size_t n_topics = 0, names = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(c[i].tp->topic, c[i - 1].tp->topic) != 0) {
            n_topics++;
            names += c[i].tp->tlen;
        }
    size_t off_parts = align8(n_topics * sizeof(kw_list_offsets_req_topic));
    size_t off_names = off_parts + align8(n * sizeof(kw_list_offsets_req_partition));
    kwi_cfreq *q = kwi_req_new(k, KWI_API_LIST_OFFSETS, c[0].leader, off_names + names);
    if (!q)
        return;
    uint8_t *base = (uint8_t *)q + align8(sizeof(kwi_cfreq));
    kw_list_offsets_req_topic *topics = (kw_list_offsets_req_topic *)base;
    kw_list_offsets_req_partition *parts = (kw_list_offsets_req_partition *)(base + off_parts);
    char *nm = (char *)(base + off_names);
    int32_t ti = -1;
    for (size_t i = 0; i < n; i++) {
        kwi_ctp *tp = c[i].tp;
        if (i == 0 || strcmp(tp->topic, c[i - 1].tp->topic) != 0) {
            ti++;
            memcpy(nm, tp->topic, tp->tlen);
            topics[ti].name = (kw_slice){(const uint8_t *)nm, (int32_t)tp->tlen};
            topics[ti].partitions = &parts[i];
            nm += tp->tlen;
        }
        topics[ti].n_partitions++;
        parts[i].partition_index = tp->partition;
        parts[i].current_leader_epoch = c[i].epoch;
        parts[i].timestamp = tp->reset_to;
        tp->state = KWI_CTP_LISTING;
        tp->in_flight = true;
        tp->req_serial = q->serial;
    }
    kw_list_offsets_req *r = &q->req.lo;
    r->replica_id = -1;
    r->isolation_level = k->isolation;
    r->topics = topics;
    r->n_topics = (int32_t)n_topics;
    r->timeout_ms = (int32_t)k->request_timeout_ms;
    kwi_req_opts o;
    kwi_req_opts_init(&o);
    o.min_ver = 1;
    o.max_ver = k->lo_max_ver;
    kw_error e;
    kw_error_init(&e);
    if (kwi_client_send(k->c, c[0].leader, KWI_API_LIST_OFFSETS, r, &o, on_list, q, &e) !=
        KW_ERR_OK) {
        for (size_t i = 0; i < n; i++)
            list_retry(k, c[i].tp, 0);
        kwi_req_free(q);
        return;
    }
    k->st.list_offsets++;
}

int64_t
kwi_offsets_run(kw_consumer *k, int64_t now)
{
    int64_t wait = INT64_MAX;
    size_t want = 0;
    for (size_t i = 0; i < k->n_parts; i++)
        if (k->parts[i]->state == KWI_CTP_RESET)
            want++;
    if (want == 0)
        return wait;
    lcand *c = kwi_cons_alloc(k, want * sizeof(*c));
    if (!c)
        return now + k->backoff_ms;
    size_t n = 0;
    for (size_t i = 0; i < k->n_parts; i++) {
        kwi_ctp *tp = k->parts[i];
        if (tp->state != KWI_CTP_RESET)
            continue;
        if (tp->backoff_to > now) {
            wait = tp->backoff_to < wait ? tp->backoff_to : wait;
            continue;
        }
        int32_t leader, epoch;
        int16_t code = 0;
        if (kwi_client_leader(k->c, tp->topic, tp->tlen, tp->partition, &leader, &epoch, &code) ==
            KW_ERR_OK) {
            c[n++] = (lcand){tp, leader, epoch};
            continue;
        }
        tp->backoff_to = now + k->backoff_ms;
        wait = tp->backoff_to < wait ? tp->backoff_to : wait;
    }
    qsort(c, n, sizeof(*c), kwi_cons_cmp_cand);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && c[j].leader == c[i].leader)
            j++;
        send_list(k, &c[i], j - i);
        i = j;
    }
    kwi_cons_free_mem(k, c, want * sizeof(*c));
    return wait;
}

/* ---- the public position calls: seek, position, lag, watermarks, pause/resume
 * --------------------------------------------------------------------------- */

/* Looks up an assigned partition for a public call; NULL with err set. Lock held. */
kwi_ctp *
kwi_cons_lookup(kw_consumer *k, const char *topic, int32_t partition, kw_error *err)
{
    size_t len;
    if (!kwi_cons_topic_ok(topic, &len) || partition < 0) {
        kw_error_set(err, KW_ERR_INVALID_ARG, "invalid topic or partition");
        return NULL;
    }
    kwi_ctp *tp = kwi_cons_find(k, topic, len, partition);
    if (!tp)
        kw_error_set(err, KW_ERR_NOT_FOUND, "%s [%d] is not assigned", topic, (int)partition);
    return tp;
}

kw_err
kw_consumer_seek(kw_consumer *k, const char *topic, int32_t partition, int64_t offset,
                 kw_error *err)
{
    if (!k)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer");
    if (offset < 0 && offset != KW_OFFSET_BEGINNING && offset != KW_OFFSET_END)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "invalid offset %lld", (long long)offset);
    pthread_mutex_lock(&k->c->lock);
    kwi_ctp *tp = kwi_cons_lookup(k, topic, partition, err);
    if (tp)
        kwi_cons_start(k, tp, offset);
    pthread_mutex_unlock(&k->c->lock);
    return tp ? KW_ERR_OK : err ? err->code : KW_ERR_NOT_FOUND;
}

kw_err
kw_consumer_seek_timestamp(kw_consumer *k, const char *topic, int32_t partition,
                           int64_t timestamp_ms, kw_error *err)
{
    if (!k)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer");
    if (timestamp_ms < 0)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "negative timestamp");
    pthread_mutex_lock(&k->c->lock);
    kwi_ctp *tp = kwi_cons_lookup(k, topic, partition, err);
    if (tp)
        kwi_cons_move(k, tp, 0, true, timestamp_ms);
    pthread_mutex_unlock(&k->c->lock);
    return tp ? KW_ERR_OK : err ? err->code : KW_ERR_NOT_FOUND;
}

kw_err
kw_consumer_position(kw_consumer *k, const char *topic, int32_t partition, int64_t *offset,
                     kw_error *err)
{
    if (!k || !offset)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "consumer and offset are required");
    pthread_mutex_lock(&k->c->lock);
    kwi_ctp *tp = kwi_cons_lookup(k, topic, partition, err);
    *offset = tp ? tp->pos : KW_OFFSET_INVALID;
    pthread_mutex_unlock(&k->c->lock);
    return tp ? KW_ERR_OK : err ? err->code : KW_ERR_NOT_FOUND;
}

kw_err
kw_consumer_lag(kw_consumer *k, const char *topic, int32_t partition, int64_t *lag, kw_error *err)
{
    if (!k || !lag)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "consumer and lag are required");
    pthread_mutex_lock(&k->c->lock);
    kwi_ctp *tp = kwi_cons_lookup(k, topic, partition, err);
    *lag = -1;
    if (tp) {
        int64_t end = k->isolation ? tp->lso : tp->hw;
        if (end >= 0 && tp->pos >= 0)
            *lag = end > tp->pos ? end - tp->pos : 0;
    }
    pthread_mutex_unlock(&k->c->lock);
    return tp ? KW_ERR_OK : err ? err->code : KW_ERR_NOT_FOUND;
}

kw_err
kw_consumer_watermarks(kw_consumer *k, const char *topic, int32_t partition, int64_t *low,
                       int64_t *high, int64_t *stable, kw_error *err)
{
    if (!k)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer");
    pthread_mutex_lock(&k->c->lock);
    kwi_ctp *tp = kwi_cons_lookup(k, topic, partition, err);
    if (low)
        *low = tp ? tp->log_start : -1;
    if (high)
        *high = tp ? tp->hw : -1;
    if (stable)
        *stable = tp ? tp->lso : -1;
    pthread_mutex_unlock(&k->c->lock);
    return tp ? KW_ERR_OK : err ? err->code : KW_ERR_NOT_FOUND;
}

static kw_err
set_paused(kw_consumer *k, const kw_topic_partition *parts, size_t n, bool on, kw_error *err)
{
    if (!k)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer");
    kw_err e = kwi_cons_check_list(parts, n, false, err);
    if (e != KW_ERR_OK)
        return e;
    pthread_mutex_lock(&k->c->lock);
    for (size_t i = 0; i < n && e == KW_ERR_OK; i++)
        if (!kwi_cons_lookup(k, parts[i].topic, parts[i].partition, err))
            e = KW_ERR_NOT_FOUND;
    for (size_t i = 0; i < n && e == KW_ERR_OK; i++) {
        kwi_ctp *tp = kwi_cons_lookup(k, parts[i].topic, parts[i].partition, NULL);
        if (tp->paused == on)
            continue;
        tp->paused = on;
        if (on && tp->state == KWI_CTP_FETCH) {
            /* Drop what is buffered and what is in flight: resume fetches again from the
             * position the application has reached, so memory is not held while paused. */
            tp->gen++;
            kwi_cons_drop_queue(k, tp);
            tp->in_flight = false;
            tp->fetch_pos = tp->pos;
            tp->fetch_epoch = tp->pos_epoch;
        }
    }
    if (e == KW_ERR_OK && !on)
        kwi_cons_wake_at(k, kwi_cons_now(k));
    pthread_mutex_unlock(&k->c->lock);
    return e;
}

kw_err
kw_consumer_pause(kw_consumer *k, const kw_topic_partition *parts, size_t n, kw_error *err)
{
    return set_paused(k, parts, n, true, err);
}

kw_err
kw_consumer_resume(kw_consumer *k, const kw_topic_partition *parts, size_t n, kw_error *err)
{
    return set_paused(k, parts, n, false, err);
}
