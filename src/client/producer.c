/* The producer's public face: creation, send, flush, purge, free, delivery reports and the
 * memory budget. See kwire/producer.h for the contract and producer_int.h for the layout.
 *
 * Every entry point takes the client's loop lock (recursive, so a delivery report may send).
 * Work that needs the loop (arming the sender's timer) is done directly when the caller is
 * inside a step; from outside, a send that needs the sender sooner than it is scheduled
 * queues one submit entry (kwi_client_submit), which wakes the loop. That happens about once
 * per batch, not per record: the sender's next run time is remembered and a send only kicks
 * when it needs an earlier one. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "client/producer_int.h"

/* The submit entry that runs the sender from outside the loop. Allocated apart from the
 * producer: it may still sit in the client's queue when the producer is freed. */
typedef struct kwi_kick {
    kwi_submit sub;
    kw_producer *p; /* NULL once the producer is gone */
    kw_client *c;
    bool queued;
} kwi_kick;

void *
kwi_prod_alloc(kw_producer *p, size_t n)
{
    return p->a->alloc(p->a->ud, n);
}

void
kwi_prod_free_mem(kw_producer *p, void *ptr, size_t n)
{
    if (ptr)
        p->a->free(p->a->ud, ptr, n);
}

int64_t
kwi_prod_now(kw_producer *p)
{
    return kwi_reactor_now_ms(kwi_client_reactor(p->c));
}

static int64_t
wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
kw_message_init(kw_message *m)
{
    memset(m, 0, sizeof(*m));
    m->partition = KW_PARTITION_ANY;
    m->key = KW_SLICE_NULL;
    m->value = KW_SLICE_NULL;
    m->timestamp = KW_TIMESTAMP_NOW;
}

void
kw_producer_opts_init(kw_producer_opts *o)
{
    memset(o, 0, sizeof(*o));
}

/* ---- waking the sender ------------------------------------------------------------------- */

static void
kick_run(kw_client *c, kwi_submit *s)
{
    kwi_kick *k = (kwi_kick *)s;
    k->queued = false;
    if (!k->p) {
        kwi_client_mem_free(c, k, sizeof(*k));
        return;
    }
    kwi_send_run(k->p);
}

static void
kick_cancel(kw_client *c, kwi_submit *s)
{
    kwi_kick *k = (kwi_kick *)s;
    k->queued = false;
    if (!k->p)
        kwi_client_mem_free(c, k, sizeof(*k));
}

static void
on_timer(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kw_producer *p = ud;
    p->next_run = INT64_MAX;
    kwi_send_run(p);
}

void
kwi_prod_wake_at(kw_producer *p, int64_t at)
{
    if (at >= p->next_run || p->closing)
        return;
    p->next_run = at;
    if (p->c->in_step > 0) {
        /* Inside a step on the loop's thread (the lock is held and a step is running). */
        kwi_reactor_timer_start_at(p->t_run, at);
    } else if (!p->kick->queued) {
        p->kick->queued = true;
        kwi_client_submit(p->c, &p->kick->sub);
    }
}

/* ---- delivery reports -------------------------------------------------------------------- */

void
kwi_prod_release(kw_producer *p, size_t mem, size_t msgs)
{
    p->mem_used = mem > p->mem_used ? 0 : p->mem_used - mem;
    p->outstanding = msgs > p->outstanding ? 0 : p->outstanding - msgs;
    if (msgs && p->outstanding == 0) {
        p->flush_all = false;
        pthread_cond_broadcast(&p->cond);
    }
}

void
kwi_prod_batch_done(kw_producer *p, kwi_pbatch *b, kw_err err, const kw_error *detail,
                    int64_t base_offset, int64_t append_time)
{
    b->result = err;
    b->base_offset = base_offset;
    b->append_time = append_time;
    if (err != KW_ERR_OK && detail && detail != &b->last)
        b->last = *detail;
    else if (err != KW_ERR_OK && !detail)
        kw_error_set(&b->last, err, "%s", kw_err_str(err));
    if (err != KW_ERR_OK)
        b->last.code = err;
    b->next = NULL;
    if (p->done_tail)
        p->done_tail->next = b;
    else
        p->done_head = b;
    p->done_tail = b;
}

static void
report_batch(kw_producer *p, kwi_pbatch *b)
{
    kw_error ok;
    kw_error_init(&ok);
    kw_delivery d;
    memset(&d, 0, sizeof(d));
    d.topic = b->tp->t->name;
    d.partition = b->tp->id;
    d.err = b->result;
    d.detail = b->result == KW_ERR_OK ? &ok : &b->last;
    for (int32_t i = 0; i < b->n; i++) {
        d.offset = b->result == KW_ERR_OK && b->base_offset >= 0 ? b->base_offset + i : -1;
        d.timestamp = b->append_time >= 0 ? b->append_time : b->msgs[i].ts;
        d.opaque = b->msgs[i].opaque;
        if (p->o.on_delivery)
            p->o.on_delivery(p, &d, p->o.delivery_ud);
    }
    if (b->result == KW_ERR_OK)
        p->st.delivered += (uint64_t)b->n;
    else
        p->st.failed += (uint64_t)b->n;
}

void
kwi_prod_reports(kw_producer *p)
{
    kwi_pbatch *b;
    while ((b = p->done_head)) {
        p->done_head = b->next;
        if (!p->done_head)
            p->done_tail = NULL;
        b->next = NULL;
        report_batch(p, b);
        kwi_prod_release(p, 0, (size_t)b->n);
        if (b->in_req)
            b->reported = true; /* its request still reads it; freed when that ends */
        else
            kwi_acc_batch_free(p, b);
    }
}

void
kwi_prod_report_one(kw_producer *p, const char *topic, int32_t partition, void *opaque, int64_t ts,
                    kw_err err, const kw_error *detail)
{
    kw_delivery d;
    memset(&d, 0, sizeof(d));
    d.topic = topic;
    d.partition = partition;
    d.offset = -1;
    d.timestamp = ts;
    d.err = err;
    d.detail = detail;
    d.opaque = opaque;
    if (p->o.on_delivery)
        p->o.on_delivery(p, &d, p->o.delivery_ud);
    p->st.failed++;
    kwi_prod_release(p, 0, 1);
}

void
kwi_prod_set_fatal(kw_producer *p, const kw_error *why)
{
    if (p->idem == KWI_IDEM_FATAL)
        return;
    p->fatal = *why;
    p->fatal.fatal = true;
    p->idem = KWI_IDEM_FATAL;
    const kwi_log *log = kwi_client_log(p->c);
    if (kwi_log_on(log, KWI_LOG_ERROR))
        kwi_log_write(log, KWI_LOG_ERROR, "producer", "fatal: %s", why->msg);
    kwi_acc_fail_all(p, why->code, &p->fatal);
    kwi_prod_wake_at(p, 0);
}

/* ---- creation ---------------------------------------------------------------------------- */

static void
read_conf(kw_producer *p, const kw_conf *f)
{
    p->acks = (int16_t)kwi_conf_int(f, KWI_CONF_ACKS);
    int64_t bs = kwi_conf_int(f, KWI_CONF_BATCH_SIZE);
    p->batch_size = bs > INT32_MAX ? INT32_MAX : (int32_t)bs;
    p->batch_max_msgs = (int32_t)kwi_conf_int(f, KWI_CONF_BATCH_NUM_MESSAGES);
    p->linger_ms = kwi_conf_int(f, KWI_CONF_LINGER_MS);
    p->max_request = kwi_conf_int(f, KWI_CONF_MAX_REQUEST_SIZE);
    p->buffer_memory = kwi_conf_int(f, KWI_CONF_BUFFER_MEMORY);
    p->codec = (int16_t)kwi_conf_int(f, KWI_CONF_COMPRESSION_TYPE);
    p->level = (int32_t)kwi_conf_int(f, KWI_CONF_COMPRESSION_LEVEL);
    p->delivery_timeout_ms = kwi_conf_int(f, KWI_CONF_DELIVERY_TIMEOUT_MS);
    p->request_timeout_ms = kwi_conf_int(f, KWI_CONF_REQUEST_TIMEOUT_MS);
    p->retries = (int32_t)kwi_conf_int(f, KWI_CONF_RETRIES);
    p->backoff_ms = kwi_conf_int(f, KWI_CONF_RETRY_BACKOFF_MS);
    p->backoff_max_ms = kwi_conf_int(f, KWI_CONF_RETRY_BACKOFF_MAX_MS);
    if (p->backoff_max_ms < p->backoff_ms)
        p->backoff_max_ms = p->backoff_ms;
    p->max_in_flight = (int32_t)kwi_conf_int(f, KWI_CONF_MAX_IN_FLIGHT);
    p->partitioner = (int)kwi_conf_int(f, KWI_CONF_PARTITIONER);
    p->idem = kwi_conf_bool(f, KWI_CONF_ENABLE_IDEMPOTENCE) ? KWI_IDEM_NEED : KWI_IDEM_OFF;
}

static void producer_destroy(kw_producer *p);

static kw_err
producer_init(kw_producer *p, kw_error *err)
{
    kw_client *c = p->c;
    /* The producer's settings are checked and derived (as Java's ProducerConfig does) on a
     * copy: the client's own configuration, which other roles may share, stays as it is. */
    kw_conf *f = NULL;
    if (kw_conf_dup(c->conf, &f) != KW_ERR_OK)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    kw_err e = kwi_conf_validate(f, KWI_CONF_ROLE_PRODUCER, err);
    if (e == KW_ERR_OK && kwi_conf_str(f, KWI_CONF_TRANSACTIONAL_ID))
        e = kw_error_set(err, KW_ERR_CONFIG,
                         "transactional.id: this kwire producer does not support transactions "
                         "yet (the idempotent producer works without it)");
    if (e == KW_ERR_OK)
        read_conf(p, f);
    kw_conf_free(f);
    if (e != KW_ERR_OK)
        return e;
    p->rng = (uint64_t)wall_ms() ^ ((uint64_t)(uintptr_t)p << 16) ^ (uint64_t)kwi_prod_now(p);
    p->pid = -1;
    p->epoch = -1;
    p->st.producer_id = -1;
    p->st.producer_epoch = -1;
    p->next_run = INT64_MAX;
    kw_wr_init_dyn(&p->scratch, p->a, INT32_MAX);
    if (p->codec != KW_CODEC_NONE && kw_codec_ctx_new(p->a, &p->zctx) != KW_ERR_OK)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    p->kick = kwi_client_alloc(c, sizeof(*p->kick));
    if (!p->kick)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    memset(p->kick, 0, sizeof(*p->kick));
    p->kick->p = p;
    p->kick->c = c;
    p->kick->sub.run = kick_run;
    p->kick->sub.cancel = kick_cancel;
    if (kwi_reactor_timer_new(kwi_client_reactor(c), on_timer, p, &p->t_run) != KW_ERR_OK)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    if (pthread_cond_init(&p->cond, NULL) != 0)
        return kw_error_set(err, KW_ERR_NOMEM, "cannot create a condition variable");
    return KW_ERR_OK;
}

kw_err
kw_producer_new(kw_client *c, const kw_producer_opts *o, kw_producer **out, kw_error *err)
{
    if (out)
        *out = NULL;
    if (!c || !out)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "client and out are required");
    pthread_mutex_lock(&c->lock);
    kw_producer *p = kwi_client_alloc(c, sizeof(*p));
    if (!p) {
        pthread_mutex_unlock(&c->lock);
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    memset(p, 0, sizeof(*p));
    p->c = c;
    p->a = c->a;
    if (o)
        p->o = *o;
    kw_err e = producer_init(p, err);
    if (e != KW_ERR_OK) {
        producer_destroy(p);
        pthread_mutex_unlock(&c->lock);
        return e;
    }
    p->cond_ok = true;
    /* The idempotent producer asks for its id right away, as Java does. */
    if (p->idem != KWI_IDEM_OFF)
        kwi_prod_wake_at(p, 0);
    *out = p;
    pthread_mutex_unlock(&c->lock);
    return KW_ERR_OK;
}

static void
producer_destroy(kw_producer *p)
{
    kw_client *c = p->c;
    p->closing = true;
    kwi_idem_fini(p);
    if (p->md)
        p->md->p = NULL; /* its callback frees it */
    if (p->kick) {
        if (p->kick->queued)
            p->kick->p = NULL; /* the submit queue frees it */
        else
            kwi_client_mem_free(c, p->kick, sizeof(*p->kick));
    }
    kwi_reactor_timer_free(p->t_run);
    kwi_acc_fini(p);
    kw_wr_fini(&p->scratch);
    kw_codec_ctx_free(p->zctx);
    if (p->cond_ok)
        pthread_cond_destroy(&p->cond);
    kwi_client_mem_free(c, p, sizeof(*p));
}

void
kw_producer_free(kw_producer *p)
{
    if (!p)
        return;
    kw_client *c = p->c;
    pthread_mutex_lock(&c->lock);
    p->closing = true; /* nothing is scheduled from here on */
    kw_error d;
    kw_error_init(&d);
    kw_error_set(&d, KW_ERR_CANCELED, "the producer was freed");
    /* Requests on the wire keep their batches; their records are reported now and the
     * requests free them when they end. */
    for (kwi_preq *q = p->reqs; q; q = q->next) {
        for (int32_t i = 0; i < q->n; i++)
            if (!q->b[i]->purged) {
                q->b[i]->purged = true;
                kwi_prod_batch_done(p, q->b[i], KW_ERR_CANCELED, &d, -1, -1);
            }
    }
    kwi_acc_fail_all(p, KW_ERR_CANCELED, &d);
    kwi_prod_reports(p);
    for (kwi_preq *q = p->reqs, *next; q; q = next) {
        next = q->next;
        q->p = NULL;
        /* Reported batches were kept for the request; it frees them on its own now. */
        for (int32_t i = 0; i < q->n; i++)
            q->b[i]->mem = 0;
    }
    p->reqs = NULL;
    producer_destroy(p);
    pthread_mutex_unlock(&c->lock);
}

/* ---- sending ----------------------------------------------------------------------------- */

static bool
topic_name_ok(const char *s, size_t *len)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char ch = s[n];
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok || n >= 249)
            return false;
    }
    *len = n;
    return n > 0 && strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static bool
slice_ok(kw_slice s)
{
    return s.len >= -1 && (s.len <= 0 || s.ptr);
}

static kw_err
check_message(const kw_message *m, size_t *tlen, kw_error *err)
{
    if (!m)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no message");
    if (!m->topic || !topic_name_ok(m->topic, tlen))
        return kw_error_set(err, KW_ERR_INVALID_ARG,
                            "a topic name has 1-249 characters of [a-zA-Z0-9._-] (and is not "
                            "\".\" or \"..\")");
    if (m->partition < KW_PARTITION_ANY)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "partition %d is negative", (int)m->partition);
    if (!slice_ok(m->key) || !slice_ok(m->value))
        return kw_error_set(err, KW_ERR_INVALID_ARG,
                            "a key or value length below -1, or a "
                            "length without data");
    if (m->n_headers < 0 || (m->n_headers > 0 && !m->headers))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bad header count");
    for (int32_t i = 0; i < m->n_headers; i++)
        if (m->headers[i].key.len < 0 || !slice_ok(m->headers[i].key) ||
            !slice_ok(m->headers[i].value))
            return kw_error_set(err, KW_ERR_INVALID_ARG, "header %d: a key must not be null",
                                (int)i);
    if (m->timestamp < KW_TIMESTAMP_NOW)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "timestamp %lld is negative",
                            (long long)m->timestamp);
    return KW_ERR_OK;
}

/* The record goes into a batch now, or waits for its topic's metadata. */
static kw_err
place(kw_producer *p, kwi_ptopic *t, const kw_message *m, int64_t ts, bool zc, kw_free_fn fn,
      void *fud, size_t mem, size_t rsize, size_t body0, kw_error *err)
{
    int32_t n = t->n_pend == 0 && !t->placing ? kwi_acc_topic_md(p, t) : -1;
    if (n <= 0)
        return kwi_acc_pend(p, t, m, ts, zc, fn, fud, mem, err);
    int32_t part = m->partition;
    if (part >= n)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "topic %s has %d partitions, not %d", t->name,
                            (int)n, (int)part + 1);
    bool sticky = part == KW_PARTITION_ANY && m->key.len < 0 && !p->o.partitioner;
    if (part == KW_PARTITION_ANY && (part = kwi_prod_partition(p, t, n, m->key, err)) < 0)
        return err ? err->code : KW_ERR_INVALID_ARG;
    kwi_ptp *tp = kwi_acc_tp(p, t, part);
    if (!tp)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    kw_err e = kwi_acc_append(p, tp, m, ts, zc, fn, fud, mem, rsize, body0, err);
    if (e == KW_ERR_OK && sticky)
        kwi_prod_sticky_update(p, t, part, rsize);
    return e;
}

static kw_err
send_one(kw_producer *p, const kw_message *m, bool zc, kw_free_fn fn, void *fud, kw_error *err)
{
    size_t tlen = 0;
    if (!p)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no producer");
    kw_err e = check_message(m, &tlen, err);
    if (e != KW_ERR_OK)
        return e;
    size_t body;
    size_t rsize =
        kwi_batch_record_size(0, 0, m->key, m->value.len, m->headers, m->n_headers, &body);
    if (rsize == 0)
        return kw_error_set(err, KW_ERR_TOO_LARGE, "the record exceeds 2 GiB");
    /* Java's check: the record with its batch and request framing must fit a request. */
    size_t framing = KW_BATCH_HEADER_SIZE + 64 + tlen + 16;
    size_t mem = rsize + sizeof(kwi_pmsg);
    pthread_mutex_lock(&p->c->lock);
    if (p->closing) {
        e = kw_error_set(err, KW_ERR_STATE, "the producer is being freed");
    } else if (p->idem == KWI_IDEM_FATAL) {
        e = kw_error_set(err, KW_ERR_STATE, "the producer hit a fatal error: %s", p->fatal.msg);
    } else if (rsize + framing > (size_t)p->max_request) {
        e = kw_error_set(err, KW_ERR_TOO_LARGE,
                         "the record takes %zu bytes, more than max.request.size (%lld)",
                         rsize + framing, (long long)p->max_request);
    } else if (mem > (size_t)p->buffer_memory) {
        e = kw_error_set(err, KW_ERR_TOO_LARGE,
                         "the record takes %zu bytes, more than buffer.memory (%lld)", mem,
                         (long long)p->buffer_memory);
    } else if (p->mem_used + mem > (size_t)p->buffer_memory) {
        e = kw_error_set(err, KW_ERR_QUEUE_FULL,
                         "buffer.memory is used up (%zu of %lld bytes): step the loop and retry",
                         p->mem_used, (long long)p->buffer_memory);
    } else {
        kwi_ptopic *t = kwi_acc_topic(p, m->topic, tlen, true);
        int64_t ts = m->timestamp == KW_TIMESTAMP_NOW ? wall_ms() : m->timestamp;
        if (!t)
            e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        else
            e = place(p, t, m, ts, zc, fn, fud, mem, rsize, body, err);
        if (e == KW_ERR_OK) {
            p->mem_used += mem;
            p->outstanding++;
            p->st.sent++;
        }
    }
    pthread_mutex_unlock(&p->c->lock);
    return e;
}

kw_err
kw_producer_send(kw_producer *p, const kw_message *m, kw_error *err)
{
    return send_one(p, m, false, NULL, NULL, err);
}

kw_err
kw_producer_send_zc(kw_producer *p, const kw_message *m, kw_free_fn free_fn, void *free_ud,
                    kw_error *err)
{
    return send_one(p, m, true, free_fn, free_ud, err);
}

/* ---- flush, purge, state ------------------------------------------------------------------ */

static size_t
outstanding(kw_producer *p)
{
    pthread_mutex_lock(&p->c->lock);
    size_t n = p->outstanding;
    pthread_mutex_unlock(&p->c->lock);
    return n;
}

kw_err
kw_producer_flush(kw_producer *p, int timeout_ms, kw_error *err)
{
    if (!p)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no producer");
    kw_client *c = p->c;
    pthread_mutex_lock(&c->lock);
    if (p->outstanding == 0) {
        pthread_mutex_unlock(&c->lock);
        return KW_ERR_OK;
    }
    p->flush_all = true;
    kwi_prod_wake_at(p, 0);
    if (timeout_ms == 0 || c->in_step) {
        size_t n = p->outstanding;
        pthread_mutex_unlock(&c->lock);
        if (timeout_ms != 0)
            return kw_error_set(err, KW_ERR_STATE,
                                "kw_producer_flush with a timeout from a "
                                "callback would deadlock");
        return kw_error_set(err, KW_ERR_TIMED_OUT, "%zu records outstanding", n);
    }
    struct timespec end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    int64_t deadline = (int64_t)end.tv_sec * 1000 + end.tv_nsec / 1000000 + timeout_ms;
    p->flushing++;
    if (c->thread_on) {
        /* The kwire thread reports; wait for it (the cond uses the loop lock, held once). */
        while (p->outstanding > 0) {
            struct timespec mono, now;
            clock_gettime(CLOCK_MONOTONIC, &mono);
            int64_t rem = deadline - ((int64_t)mono.tv_sec * 1000 + mono.tv_nsec / 1000000);
            if (timeout_ms > 0 && rem <= 0)
                break;
            int64_t slice = timeout_ms < 0 || rem > 100 ? 100 : rem;
            clock_gettime(CLOCK_REALTIME, &now);
            int64_t ns = now.tv_nsec + slice * 1000000;
            struct timespec abst = {now.tv_sec + ns / 1000000000, ns % 1000000000};
            int rc = pthread_cond_timedwait(&p->cond, &c->lock, &abst);
            if (rc != 0 && rc != ETIMEDOUT)
                break;
        }
        p->flushing--;
        size_t n = p->outstanding;
        pthread_mutex_unlock(&c->lock);
        return n == 0 ? KW_ERR_OK
                      : kw_error_set(err, KW_ERR_TIMED_OUT, "%zu records outstanding", n);
    }
    pthread_mutex_unlock(&c->lock);
    /* No kwire thread: this thread runs the loop until everything is reported. */
    kw_err e = KW_ERR_OK;
    for (;;) {
        if (outstanding(p) == 0)
            break;
        struct timespec mono;
        clock_gettime(CLOCK_MONOTONIC, &mono);
        int64_t rem = deadline - ((int64_t)mono.tv_sec * 1000 + mono.tv_nsec / 1000000);
        if (timeout_ms > 0 && rem <= 0)
            break;
        e = kw_client_step(c, timeout_ms < 0 || rem > 100 ? 100 : (int)rem, err);
        if (e != KW_ERR_OK)
            break;
    }
    pthread_mutex_lock(&c->lock);
    p->flushing--;
    size_t n = p->outstanding;
    pthread_mutex_unlock(&c->lock);
    if (e != KW_ERR_OK)
        return e;
    return n == 0 ? KW_ERR_OK : kw_error_set(err, KW_ERR_TIMED_OUT, "%zu records outstanding", n);
}

kw_err
kw_producer_purge(kw_producer *p, unsigned flags, kw_error *err)
{
    if (!p || !(flags & (KW_PURGE_QUEUED | KW_PURGE_INFLIGHT)))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no purge flag");
    pthread_mutex_lock(&p->c->lock);
    kw_error d;
    kw_error_init(&d);
    if (flags & KW_PURGE_INFLIGHT) {
        kw_error_set(&d, KW_ERR_CANCELED, "purged while in flight (it may have been written)");
        for (kwi_preq *q = p->reqs; q; q = q->next)
            for (int32_t i = 0; i < q->n; i++) {
                kwi_pbatch *b = q->b[i];
                if (b->purged)
                    continue;
                kwi_idem_on_local_fail(p, b);
                b->purged = true; /* reported once, now; its response is ignored */
                kwi_prod_batch_done(p, b, KW_ERR_CANCELED, &d, -1, -1);
            }
    }
    if (flags & KW_PURGE_QUEUED) {
        kw_error_set(&d, KW_ERR_CANCELED, "purged before it was sent");
        kwi_acc_purge(p, &d);
    }
    kwi_prod_wake_at(p, 0);
    pthread_mutex_unlock(&p->c->lock);
    return KW_ERR_OK;
}

size_t
kw_producer_outstanding(kw_producer *p)
{
    return p ? outstanding(p) : 0;
}

kw_client *
kw_producer_client(kw_producer *p)
{
    return p ? p->c : NULL;
}

bool
kw_producer_fatal(kw_producer *p, kw_error *out)
{
    if (!p)
        return false;
    pthread_mutex_lock(&p->c->lock);
    bool fatal = p->idem == KWI_IDEM_FATAL;
    if (fatal && out)
        *out = p->fatal;
    pthread_mutex_unlock(&p->c->lock);
    return fatal;
}

void
kw_producer_stats_get(kw_producer *p, kw_producer_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!p)
        return;
    pthread_mutex_lock(&p->c->lock);
    *out = p->st;
    out->outstanding = p->outstanding;
    out->memory = p->mem_used;
    pthread_mutex_unlock(&p->c->lock);
}
