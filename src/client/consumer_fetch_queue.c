/* The consumer's buffer: chunks of fetched records, the per-partition queues, in-band errors,
 * kw_consumer_poll and the release of messages, and the cache of freed blocks.
 *
 * A chunk is one allocation (the struct, the topic name and an optional error text; for an
 * in-band error also its one message) plus what it owns: the records bytes and the message
 * array (blocks from the cache), the headers and the decompressed areas. Its references are the
 * partition queue's (while it has messages to hand out) and one per message handed out and not yet
 * released. The bytes of every chunk alive count in k->mem against the budget
 * (fetch.queue.max.bytes); when the last reference goes, the bytes are returned and a fetcher
 * stalled on the budget is woken. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/consumer_int.h"

static size_t
align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

kwi_cchunk *
kwi_cons_chunk_new(kw_consumer *k, kwi_ctp *tp, size_t n, size_t nh, size_t nbufs, size_t extra)
{
    size_t off_msgs = align8(sizeof(kwi_cchunk));
    size_t off_hdrs = off_msgs + align8(n * sizeof(kw_consumer_msg));
    size_t off_bufs = off_hdrs + align8(nh * sizeof(kw_header));
    size_t off_caps = off_bufs + nbufs * sizeof(uint8_t *);
    size_t off_name = off_caps + nbufs * sizeof(size_t);
    size_t size = off_name + tp->tlen + 1 + extra;
    uint8_t *p = kwi_cons_alloc(k, size);
    if (!p)
        return NULL;
    kwi_cchunk *ch = (kwi_cchunk *)p;
    memset(ch, 0, sizeof(*ch));
    ch->k = k;
    ch->c = k->c;
    ch->alloc = size;
    ch->mem = size;
    ch->refs = 1;
    ch->msgs = (kw_consumer_msg *)(p + off_msgs);
    ch->n = n;
    ch->hdrs = (kw_header *)(p + off_hdrs);
    ch->n_hdrs = nh;
    ch->bufs = (uint8_t **)(p + off_bufs);
    ch->buf_caps = (size_t *)(p + off_caps);
    ch->n_bufs = nbufs;
    ch->topic = (char *)(p + off_name);
    memcpy(ch->topic, tp->topic, tp->tlen + 1);
    ch->extra = extra ? ch->topic + tp->tlen + 1 : NULL;
    ch->end_pos = -1;
    ch->end_epoch = -1;
    /* Alive from now on: it counts against the budget. */
    ch->lnext = k->live;
    if (k->live)
        k->live->lprev = ch;
    k->live = ch;
    k->mem += size;
    if (k->mem > k->st.mem_peak)
        k->st.mem_peak = k->mem;
    return ch;
}

/* Adds bytes the chunk owns (records copy, decompressed areas) to its charge. */
/* ---- the block cache --------------------------------------------------------------------- */

static size_t
round_block(size_t n)
{
    return n < KWI_POOL_MIN ? n : (n + KWI_POOL_MIN - 1) & ~(KWI_POOL_MIN - 1);
}

void *
kwi_cons_block_get(kw_consumer *k, size_t need, size_t *cap)
{
    /* The smallest cached block that fits, unless it would waste more than half of itself. */
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < k->n_pool; i++)
        if (k->pool[i].cap >= need && k->pool[i].cap / 2 <= need &&
            (best == SIZE_MAX || k->pool[i].cap < k->pool[best].cap))
            best = i;
    if (best != SIZE_MAX) {
        void *p = k->pool[best].p;
        *cap = k->pool[best].cap;
        k->pooled -= *cap;
        k->pool[best] = k->pool[--k->n_pool];
        return p;
    }
    size_t n = round_block(need);
    void *p = kwi_cons_alloc(k, n ? n : 1);
    *cap = p ? (n ? n : 1) : 0;
    return p;
}

void
kwi_cons_block_put(kw_consumer *k, const kw_allocator *a, void *p, size_t cap)
{
    if (!p)
        return;
    if (k && !k->closing && cap >= KWI_POOL_MIN && k->n_pool < KWI_POOL_N &&
        k->pooled + cap <= k->budget / 4) {
        k->pool[k->n_pool].p = p;
        k->pool[k->n_pool].cap = cap;
        k->n_pool++;
        k->pooled += cap;
        return;
    }
    a->free(a->ud, p, cap);
}

void
kwi_cons_pool_trim(kw_consumer *k, size_t bytes)
{
    while (k->n_pool > 0) {
        size_t used = kwi_cons_used(k);
        if (bytes != SIZE_MAX && used < k->budget && k->budget - used >= bytes)
            return;
        /* The largest first: the fewest frees for the room. */
        size_t big = 0;
        for (size_t i = 1; i < k->n_pool; i++)
            if (k->pool[i].cap > k->pool[big].cap)
                big = i;
        kwi_cons_free_mem(k, k->pool[big].p, k->pool[big].cap);
        k->pooled -= k->pool[big].cap;
        k->pool[big] = k->pool[--k->n_pool];
    }
}

/* ---- chunks ------------------------------------------------------------------------------ */

void
kwi_cons_chunk_charge(kwi_cchunk *ch, size_t bytes)
{
    ch->mem += bytes;
    if (ch->k) {
        ch->k->mem += bytes;
        if (ch->k->mem > ch->k->st.mem_peak)
            ch->k->st.mem_peak = ch->k->mem;
    }
}

static void
chunk_free(kwi_cchunk *ch)
{
    const kw_allocator *a = ch->c->a;
    kwi_cons_block_put(ch->k, a, ch->data, ch->data_cap);
    if (ch->msgs_cap)
        kwi_cons_block_put(ch->k, a, ch->msgs, ch->msgs_cap);
    if (ch->hdrs_cap)
        a->free(a->ud, ch->hdrs, ch->hdrs_cap);
    for (size_t i = 0; i < ch->n_bufs; i++)
        if (ch->bufs[i])
            a->free(a->ud, ch->bufs[i], ch->buf_caps[i]);
    if (ch->bufs_slots) {
        a->free(a->ud, ch->bufs, ch->bufs_slots * sizeof(*ch->bufs));
        a->free(a->ud, ch->buf_caps, ch->bufs_slots * sizeof(*ch->buf_caps));
    }
    a->free(a->ud, ch, ch->alloc);
}

void
kwi_cons_chunk_unref(kwi_cchunk *ch)
{
    if (--ch->refs > 0)
        return;
    kw_consumer *k = ch->k;
    if (k) {
        if (ch->lprev)
            ch->lprev->lnext = ch->lnext;
        else
            k->live = ch->lnext;
        if (ch->lnext)
            ch->lnext->lprev = ch->lprev;
        k->mem = ch->mem > k->mem ? 0 : k->mem - ch->mem;
        /* Memory came back: a fetcher waiting for room may go on. */
        if (k->stalled)
            kwi_cons_wake_at(k, kwi_cons_now(k));
    }
    chunk_free(ch);
}

/* ---- partition queues -------------------------------------------------------------------- */

static void
ready_push(kw_consumer *k, kwi_ctp *tp)
{
    if (tp->ready)
        return;
    tp->ready = true;
    tp->rnext = NULL;
    if (k->ready_tail)
        k->ready_tail->rnext = tp;
    else
        k->ready_head = tp;
    k->ready_tail = tp;
}

static kwi_ctp *
ready_pop(kw_consumer *k)
{
    kwi_ctp *tp = k->ready_head;
    if (!tp)
        return NULL;
    k->ready_head = tp->rnext;
    if (!k->ready_head)
        k->ready_tail = NULL;
    tp->rnext = NULL;
    tp->ready = false;
    return tp;
}

/* Takes the head chunk off its partition's queue; the position moves past what it covered. */
static void
queue_pop(kw_consumer *k, kwi_ctp *tp)
{
    kwi_cchunk *ch = tp->qhead;
    tp->qhead = ch->next;
    if (!tp->qhead)
        tp->qtail = NULL;
    if (ch->end_pos > tp->pos) {
        tp->pos = ch->end_pos;
        if (ch->end_epoch >= 0)
            tp->pos_epoch = ch->end_epoch;
    }
    k->buffered -= ch->n - ch->taken;
    ch->taken = ch->n;
    ch->tp = NULL;
    ch->queued = false;
    kwi_cons_chunk_unref(ch);
    /* A partition with two chunks waiting is not fetched: now it may be again. */
    if (tp->state == KWI_CTP_FETCH && !tp->in_flight && !tp->paused && !k->closing)
        kwi_cons_wake_at(k, kwi_cons_now(k));
}

void
kwi_cons_drop_queue(kw_consumer *k, kwi_ctp *tp)
{
    int64_t pos = tp->pos;
    int32_t epoch = tp->pos_epoch;
    while (tp->qhead)
        queue_pop(k, tp);
    /* Dropped data was never handed out: the position stays where the application is. */
    tp->pos = pos;
    tp->pos_epoch = epoch;
    if (tp->ready) {
        kwi_ctp **pp = &k->ready_head;
        kwi_ctp *prev = NULL;
        while (*pp != tp) {
            prev = *pp;
            pp = &(*pp)->rnext;
        }
        *pp = tp->rnext;
        if (k->ready_tail == tp)
            k->ready_tail = prev;
        tp->rnext = NULL;
        tp->ready = false;
    }
}

void
kwi_cons_enqueue(kw_consumer *k, kwi_ctp *tp, kwi_cchunk *ch)
{
    if (!ch || ch->n == 0) {
        /* Nothing to hand out (control records, aborted data, records below the position):
         * the position moves past it once everything before it has been handed out. */
        if (tp->qtail) {
            tp->qtail->end_pos = tp->fetch_pos;
            tp->qtail->end_epoch = tp->fetch_epoch;
        } else if (tp->fetch_pos > tp->pos) {
            tp->pos = tp->fetch_pos;
            if (tp->fetch_epoch >= 0)
                tp->pos_epoch = tp->fetch_epoch;
        }
        if (ch) {
            ch->queued = false;
            kwi_cons_chunk_unref(ch);
        }
        return;
    }
    ch->tp = tp;
    ch->queued = true;
    ch->taken = 0;
    if (tp->qtail)
        tp->qtail->next = ch;
    else
        tp->qhead = ch;
    tp->qtail = ch;
    k->buffered += ch->n;
    ready_push(k, tp);
    kwi_cons_signal(k);
}

void
kwi_cons_error(kw_consumer *k, kwi_ctp *tp, kw_err e, int16_t code, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int len = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    size_t n = len < 0 ? 0 : (size_t)len >= sizeof(text) ? sizeof(text) - 1 : (size_t)len;
    kwi_cchunk *ch = kwi_cons_chunk_new(k, tp, 1, 0, 0, n + 1);
    if (!ch)
        return; /* out of memory: the partition's state still tells (it stopped or retries) */
    memcpy(ch->extra, text, n);
    ch->extra[n] = '\0';
    kw_consumer_msg *m = &ch->msgs[0];
    memset(m, 0, sizeof(*m));
    m->topic = ch->topic;
    m->partition = tp->partition;
    m->offset = tp->fetch_pos >= 0 ? tp->fetch_pos : tp->pos; /* where the error is */
    m->timestamp = -1;
    m->leader_epoch = -1;
    m->key = KW_SLICE_NULL;
    m->value = KW_SLICE_NULL;
    m->err = e;
    m->error_code = code;
    m->errstr = ch->extra;
    m->chunk_ = ch;
    ch->errs = true;
    kwi_cons_enqueue(k, tp, ch);
}

/* ---- poll -------------------------------------------------------------------------------- */

void
kwi_cons_signal(kw_consumer *k)
{
    if (k->cond_ok)
        pthread_cond_broadcast(&k->cond);
}

/* Hands out up to max messages, a chunk at a time, partitions in turn. Lock held. A chunk
 * holds either records or in-band errors, so the counters and the position move once per run
 * of messages, not per message. */
static size_t
take(kw_consumer *k, kw_consumer_msg **msgs, size_t max)
{
    size_t n = 0;
    while (n < max && !k->held && k->ready_head) {
        kwi_ctp *tp = ready_pop(k);
        kwi_cchunk *ch = tp->qhead;
        size_t run = ch->n - ch->taken;
        if (run > max - n)
            run = max - n;
        kw_consumer_msg *m = &ch->msgs[ch->taken];
        for (size_t i = 0; i < run; i++)
            msgs[n + i] = &m[i];
        n += run;
        ch->taken += run;
        ch->refs += run;
        k->buffered -= run;
        k->st.out_msgs += run;
        if (run > 0 && ch->errs) {
            k->st.errors += run;
        } else if (run > 0) {
            tp->pos = m[run - 1].offset + 1;
            tp->pos_epoch = m[run - 1].leader_epoch;
            k->st.records += run;
        }
        if (ch->taken == ch->n)
            queue_pop(k, tp);
        if (tp->qhead)
            ready_push(k, tp); /* to the back: the next partition's turn */
    }
    return n;
}

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Waits for messages with the kwire thread running (lock held; the cond releases it). */
static size_t
wait_thread(kw_consumer *k, kw_consumer_msg **msgs, size_t max, int timeout_ms, int64_t deadline)
{
    size_t n = 0;
    while ((n = take(k, msgs, max)) == 0 && k->wakeups == 0 && k->c->thread_on) {
        int64_t rem = deadline - mono_ms();
        if (timeout_ms > 0 && rem <= 0)
            break;
        int64_t slice = timeout_ms < 0 || rem > 100 ? 100 : rem;
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        int64_t ns = now.tv_nsec + slice * 1000000;
        struct timespec abst = {now.tv_sec + ns / 1000000000, ns % 1000000000};
        int rc = pthread_cond_timedwait(&k->cond, &k->c->lock, &abst);
        if (rc != 0 && rc != ETIMEDOUT)
            break;
    }
    return n;
}

kw_err
kw_consumer_poll(kw_consumer *k, kw_consumer_msg **msgs, size_t max, int timeout_ms, size_t *n,
                 kw_error *err)
{
    if (n)
        *n = 0;
    if (!k || !n || (max > 0 && !msgs))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "consumer, msgs and n are required");
    kw_client *c = k->c;
    kw_err he = k->hooks.on_poll ? k->hooks.on_poll(k, err) : KW_ERR_OK;
    if (he != KW_ERR_OK)
        return he;
    pthread_mutex_lock(&c->lock);
    bool drive = !c->thread_on && c->in_step == 0;
    pthread_mutex_unlock(&c->lock);
    /* Without the kwire thread, serve what is ready first (responses, the next Fetch), so
     * fetching runs ahead while the application works through buffered messages. */
    if (drive) {
        kw_err e = kw_client_step(c, 0, err);
        if (e != KW_ERR_OK)
            return e;
    }
    pthread_mutex_lock(&c->lock);
    size_t got = take(k, msgs, max);
    if (got > 0 || timeout_ms == 0 || max == 0 || k->wakeups > 0) {
        k->wakeups = 0;
        *n = got;
        pthread_mutex_unlock(&c->lock);
        return KW_ERR_OK;
    }
    if (c->in_step > 0) {
        pthread_mutex_unlock(&c->lock);
        return kw_error_set(err, KW_ERR_STATE,
                            "kw_consumer_poll with a timeout from a callback would deadlock");
    }
    int64_t deadline = mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    kw_err e = KW_ERR_OK;
    for (;;) {
        if (c->thread_on) {
            got = wait_thread(k, msgs, max, timeout_ms, deadline);
            if (got > 0 || k->wakeups > 0 || c->thread_on)
                break;
            continue; /* the thread stopped while waiting: drive the loop here */
        }
        /* No kwire thread: this thread runs the loop until something arrives. */
        int64_t rem = deadline - mono_ms();
        if (timeout_ms > 0 && rem <= 0)
            break;
        pthread_mutex_unlock(&c->lock);
        e = kw_client_step(c, timeout_ms < 0 || rem > 100 ? 100 : (int)rem, err);
        pthread_mutex_lock(&c->lock);
        if (e != KW_ERR_OK)
            break;
        got = take(k, msgs, max);
        if (got > 0 || k->wakeups > 0)
            break;
    }
    k->wakeups = 0;
    *n = got;
    pthread_mutex_unlock(&c->lock);
    return e;
}

void
kw_consumer_wakeup(kw_consumer *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->c->lock);
    k->wakeups++;
    kwi_cons_signal(k);
    pthread_mutex_unlock(&k->c->lock);
    kw_client_wakeup(k->c);
}

/* ---- release ----------------------------------------------------------------------------- */

static void
release_locked(kw_consumer_msg *m)
{
    kwi_cchunk *ch = m->chunk_;
    if (ch->k && ch->k->st.out_msgs > 0)
        ch->k->st.out_msgs--;
    kwi_cons_chunk_unref(ch);
}

void
kw_consumer_msg_release(kw_consumer_msg *m)
{
    if (!m || !m->chunk_)
        return;
    kw_client *c = ((kwi_cchunk *)m->chunk_)->c;
    pthread_mutex_lock(&c->lock);
    release_locked(m);
    pthread_mutex_unlock(&c->lock);
}

/* Drops `n` references of a chunk at once (messages released together). */
static void
release_run(kwi_cchunk *ch, size_t n)
{
    if (ch->k)
        ch->k->st.out_msgs = ch->k->st.out_msgs > n ? ch->k->st.out_msgs - n : 0;
    ch->refs -= n - 1;
    kwi_cons_chunk_unref(ch);
}

void
kw_consumer_msgs_release(kw_consumer_msg **m, size_t n)
{
    if (!m)
        return;
    kw_client *locked = NULL;
    for (size_t i = 0; i < n;) {
        if (!m[i] || !m[i]->chunk_) {
            i++;
            continue;
        }
        kwi_cchunk *ch = m[i]->chunk_;
        /* Messages polled together mostly come from the same chunk: one unref per run. */
        size_t j = i + 1;
        while (j < n && m[j] && m[j]->chunk_ == ch)
            j++;
        kw_client *c = ch->c;
        if (c != locked) {
            if (locked)
                pthread_mutex_unlock(&locked->lock);
            pthread_mutex_lock(&c->lock);
            locked = c;
        }
        release_run(ch, j - i);
        i = j;
    }
    if (locked)
        pthread_mutex_unlock(&locked->lock);
}
