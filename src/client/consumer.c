/* The consumer's public face: creation, the assigned partitions, positions, seek, pause and
 * resume, lag, statistics, and the internal API of the group part. See kwire/consumer.h for
 * the contract and consumer_int.h for the layout.
 *
 * Every entry point takes the client's loop lock (recursive). Work for the loop (running the
 * fetcher) is armed directly on the reactor when the caller is inside a step; from outside,
 * one submit entry wakes the loop, as the producer does. */
#include <string.h>
#include <time.h>

#include "client/consumer_int.h"

/* The submit entry that runs the fetcher from outside the loop. Allocated apart from the
 * consumer: it may still sit in the client's queue when the consumer is freed. */
typedef struct kwi_ckick {
    kwi_submit sub;
    kw_consumer *k; /* NULL once the consumer is gone */
    kw_client *c;
    bool queued;
} kwi_ckick;

int64_t
kwi_cons_now(kw_consumer *k)
{
    return kwi_reactor_now_ms(kwi_client_reactor(k->c));
}

void *
kwi_cons_alloc(kw_consumer *k, size_t n)
{
    return k->a->alloc(k->a->ud, n);
}

void
kwi_cons_free_mem(kw_consumer *k, void *p, size_t n)
{
    if (p)
        k->a->free(k->a->ud, p, n);
}

void
kw_consumer_opts_init(kw_consumer_opts *o)
{
    memset(o, 0, sizeof(*o));
}

/* ---- waking the fetcher ------------------------------------------------------------------ */

static void
kick_run(kw_client *c, kwi_submit *s)
{
    kwi_ckick *q = (kwi_ckick *)s;
    q->queued = false;
    if (!q->k) {
        kwi_client_mem_free(c, q, sizeof(*q));
        return;
    }
    q->k->next_run = INT64_MAX;
    kwi_fetch_run(q->k);
}

static void
kick_cancel(kw_client *c, kwi_submit *s)
{
    kwi_ckick *q = (kwi_ckick *)s;
    q->queued = false;
    if (!q->k)
        kwi_client_mem_free(c, q, sizeof(*q));
}

static void
on_timer(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kw_consumer *k = ud;
    k->next_run = INT64_MAX;
    kwi_fetch_run(k);
}

void
kwi_cons_wake_at(kw_consumer *k, int64_t at)
{
    if (at >= k->next_run || k->closing)
        return;
    k->next_run = at;
    if (k->c->in_step > 0) {
        kwi_reactor_timer_start_at(k->t_run, at);
    } else if (!k->kick->queued) {
        k->kick->queued = true;
        kwi_client_submit(k->c, &k->kick->sub);
    }
}

int64_t
kwi_cons_backoff(kw_consumer *k, int32_t failures)
{
    int64_t b = k->backoff_ms;
    for (int32_t i = 1; i < failures && b < k->backoff_max_ms; i++)
        b *= 2;
    return b > k->backoff_max_ms ? k->backoff_max_ms : b;
}

void
kwi_cons_retry(kw_consumer *k, kwi_ctp *tp, int16_t code)
{
    tp->failures++;
    tp->backoff_to = kwi_cons_now(k) + kwi_cons_backoff(k, tp->failures);
    /* The pass that called this may have no other timer left (a request that could not be
     * sent is no response to wait for): without a wake-up the partition would never retry. */
    kwi_cons_wake_at(k, tp->backoff_to);
    if (code)
        kwi_client_on_partition_error(k->c, tp->topic, tp->tlen, tp->partition, code);
    else {
        const char *names[1] = {tp->topic};
        size_t lens[1] = {tp->tlen};
        kwi_client_refresh(k->c, names, lens, 1);
    }
}

int
kwi_cons_cmp_cand(const void *a, const void *b)
{
    const kwi_ccand *x = a, *y = b;
    if (x->leader != y->leader)
        return x->leader < y->leader ? -1 : 1;
    int c = strcmp(x->tp->topic, y->tp->topic);
    if (c)
        return c;
    return x->tp->partition < y->tp->partition ? -1 : x->tp->partition > y->tp->partition;
}

/* ---- the partition table ----------------------------------------------------------------- */

static uint32_t
tp_hash(const char *s, size_t n, int32_t partition)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return (h ^ (uint32_t)partition) * 16777619u;
}

kwi_ctp *
kwi_cons_find(kw_consumer *k, const char *topic, size_t len, int32_t partition)
{
    if (k->n_buckets == 0)
        return NULL;
    uint32_t h = tp_hash(topic, len, partition);
    for (kwi_ctp *tp = k->buckets[h % k->n_buckets]; tp; tp = tp->hnext)
        if (tp->hash == h && tp->partition == partition && tp->tlen == len &&
            memcmp(tp->topic, topic, len) == 0)
            return tp;
    return NULL;
}

/* Grows the table and the array so `extra` more partitions fit. */
static kw_err
reserve_parts(kw_consumer *k, size_t extra)
{
    size_t want = k->n_parts + extra;
    if (want > k->cap_parts) {
        size_t cap = k->cap_parts ? k->cap_parts : 16;
        while (cap < want)
            cap *= 2;
        kwi_ctp **p = kwi_cons_alloc(k, cap * sizeof(*p));
        if (!p)
            return KW_ERR_NOMEM;
        if (k->n_parts)
            memcpy(p, k->parts, k->n_parts * sizeof(*p));
        kwi_cons_free_mem(k, k->parts, k->cap_parts * sizeof(*p));
        k->parts = p;
        k->cap_parts = cap;
    }
    if (want * 2 <= k->n_buckets)
        return KW_ERR_OK;
    size_t nb = k->n_buckets ? k->n_buckets : 32;
    while (nb < want * 2)
        nb *= 2;
    kwi_ctp **b = kwi_cons_alloc(k, nb * sizeof(*b));
    if (!b)
        return KW_ERR_NOMEM;
    memset(b, 0, nb * sizeof(*b));
    for (size_t i = 0; i < k->n_parts; i++) {
        kwi_ctp *tp = k->parts[i];
        tp->hnext = b[tp->hash % nb];
        b[tp->hash % nb] = tp;
    }
    kwi_cons_free_mem(k, k->buckets, k->n_buckets * sizeof(*b));
    k->buckets = b;
    k->n_buckets = nb;
    return KW_ERR_OK;
}

/* Adds a partition (room reserved by reserve_parts). */
static kwi_ctp *
tp_add(kw_consumer *k, const char *topic, size_t len, int32_t partition)
{
    kwi_ctp *tp = kwi_cons_alloc(k, sizeof(*tp));
    if (!tp)
        return NULL;
    memset(tp, 0, sizeof(*tp));
    tp->topic = kwi_client_strndup(k->c, topic, len, &tp->topic_sz);
    if (!tp->topic) {
        kwi_cons_free_mem(k, tp, sizeof(*tp));
        return NULL;
    }
    tp->tlen = len;
    tp->partition = partition;
    tp->hash = tp_hash(topic, len, partition);
    tp->pos = tp->fetch_pos = KW_OFFSET_INVALID;
    tp->pos_epoch = tp->fetch_epoch = -1;
    tp->hw = tp->lso = tp->log_start = -1;
    tp->hnext = k->buckets[tp->hash % k->n_buckets];
    k->buckets[tp->hash % k->n_buckets] = tp;
    k->parts[k->n_parts++] = tp;
    return tp;
}

static void
ready_unlink(kw_consumer *k, kwi_ctp *tp)
{
    if (!tp->ready)
        return;
    kwi_ctp **pp = &k->ready_head;
    kwi_ctp *prev = NULL;
    while (*pp && *pp != tp) {
        prev = *pp;
        pp = &(*pp)->rnext;
    }
    if (*pp)
        *pp = tp->rnext;
    if (k->ready_tail == tp)
        k->ready_tail = prev;
    tp->rnext = NULL;
    tp->ready = false;
}

/* Removes and frees a partition: its queue is dropped; requests in flight see the gen. */
static void
tp_remove(kw_consumer *k, kwi_ctp *tp)
{
    kwi_cons_drop_queue(k, tp);
    ready_unlink(k, tp);
    kwi_ctp **pp = &k->buckets[tp->hash % k->n_buckets];
    while (*pp != tp)
        pp = &(*pp)->hnext;
    *pp = tp->hnext;
    for (size_t i = 0; i < k->n_parts; i++)
        if (k->parts[i] == tp) {
            memmove(&k->parts[i], &k->parts[i + 1], (k->n_parts - i - 1) * sizeof(*k->parts));
            k->n_parts--;
            break;
        }
    kwi_client_mem_free(k->c, tp->topic, tp->topic_sz);
    kwi_cons_free_mem(k, tp, sizeof(*tp));
}

/* ---- moving partitions ------------------------------------------------------------------- */

void
kwi_cons_move(kw_consumer *k, kwi_ctp *tp, int64_t offset, bool reset, int64_t reset_to)
{
    tp->gen++;
    kwi_cons_drop_queue(k, tp);
    tp->in_flight = false; /* a response for the old gen is ignored */
    tp->failures = 0;
    tp->backoff_to = 0;
    tp->last_err = 0;
    tp->reset_auto = false;
    if (reset) {
        tp->state = KWI_CTP_RESET;
        tp->reset_to = reset_to;
        tp->pos = tp->fetch_pos = KW_OFFSET_INVALID;
    } else {
        tp->state = KWI_CTP_FETCH;
        tp->pos = tp->fetch_pos = offset;
    }
    tp->pos_epoch = tp->fetch_epoch = -1;
    kwi_cons_wake_at(k, kwi_cons_now(k));
}

void
kwi_cons_auto_reset(kw_consumer *k, kwi_ctp *tp, int16_t code, const char *why)
{
    if (k->reset == KWI_OFFSET_RESET_NONE) {
        /* Java's NoOffsetForPartitionException / OffsetOutOfRangeException: the partition
         * stops until the application seeks. */
        tp->gen++;
        kwi_cons_drop_queue(k, tp);
        tp->in_flight = false;
        tp->state = KWI_CTP_STOPPED;
        kwi_cons_error(k, tp, code ? KW_ERR_BROKER : KW_ERR_NOT_FOUND, code,
                       "%s: %s [%d] has no valid position and auto.offset.reset is none; seek "
                       "to continue",
                       why, tp->topic, (int)tp->partition);
        return;
    }
    int64_t to = k->reset == KWI_OFFSET_RESET_EARLIEST ? KWI_RESET_EARLIEST : KWI_RESET_LATEST;
    kwi_cons_move(k, tp, 0, true, to);
    tp->reset_auto = true;
}

/* Starts a partition from a kw_topic_partition offset. */
void
kwi_cons_start(kw_consumer *k, kwi_ctp *tp, int64_t offset)
{
    if (offset >= 0)
        kwi_cons_move(k, tp, offset, false, 0);
    else if (offset == KW_OFFSET_BEGINNING)
        kwi_cons_move(k, tp, 0, true, KWI_RESET_EARLIEST);
    else if (offset == KW_OFFSET_END)
        kwi_cons_move(k, tp, 0, true, KWI_RESET_LATEST);
    else if (offset == KW_OFFSET_STORED && k->grp) {
        tp->gen++;
        kwi_cons_drop_queue(k, tp);
        tp->state = KWI_CTP_WAIT_POS;
        tp->pos = tp->fetch_pos = KW_OFFSET_INVALID;
    } else
        kwi_cons_auto_reset(k, tp, 0, "no start offset");
}

/* ---- creation ---------------------------------------------------------------------------- */

static void consumer_destroy(kw_consumer *k);

static kw_err
read_conf(kw_consumer *k, kw_error *err)
{
    /* Checked and derived on a copy (as the producer does): the client's configuration may be
     * shared with other roles. */
    kw_conf *f = NULL;
    if (kw_conf_dup(k->c->conf, &f) != KW_ERR_OK)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    kw_err e = kwi_conf_validate(f, KWI_CONF_ROLE_CONSUMER, err);
    if (e == KW_ERR_OK) {
        k->min_bytes = (int32_t)kwi_conf_int(f, KWI_CONF_FETCH_MIN_BYTES);
        k->max_wait_ms = (int32_t)kwi_conf_int(f, KWI_CONF_FETCH_MAX_WAIT_MS);
        k->max_bytes = (int32_t)kwi_conf_int(f, KWI_CONF_FETCH_MAX_BYTES);
        k->part_max_bytes = (int32_t)kwi_conf_int(f, KWI_CONF_MAX_PARTITION_FETCH_BYTES);
        k->isolation =
            kwi_conf_int(f, KWI_CONF_ISOLATION_LEVEL) == KWI_ISOLATION_READ_COMMITTED ? 1 : 0;
        k->reset = (int)kwi_conf_int(f, KWI_CONF_AUTO_OFFSET_RESET);
        k->budget = (size_t)kwi_conf_int(f, KWI_CONF_FETCH_QUEUE_MAX_BYTES);
        k->backoff_ms = kwi_conf_int(f, KWI_CONF_RETRY_BACKOFF_MS);
        k->backoff_max_ms = kwi_conf_int(f, KWI_CONF_RETRY_BACKOFF_MAX_MS);
        if (k->backoff_ms < 1)
            k->backoff_ms = 1;
        if (k->backoff_max_ms < k->backoff_ms)
            k->backoff_max_ms = k->backoff_ms;
        k->request_timeout_ms = kwi_conf_int(f, KWI_CONF_REQUEST_TIMEOUT_MS);
        const char *rack = kwi_conf_str(f, KWI_CONF_CLIENT_RACK);
        k->rack = kwi_client_strndup(k->c, rack ? rack : "", rack ? strlen(rack) : 0, &k->rack_sz);
        if (!k->rack)
            e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    kw_conf_free(f);
    return e;
}

static kw_err
consumer_init(kw_consumer *k, kw_error *err)
{
    kw_err e = read_conf(k, err);
    if (e != KW_ERR_OK)
        return e;
    k->next_run = INT64_MAX;
    k->lo_max_ver = -1;
    k->st.fetch_version = -1;
    k->st.mem_budget = k->budget;
    k->kick = kwi_client_alloc(k->c, sizeof(*k->kick));
    if (!k->kick)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    memset(k->kick, 0, sizeof(*k->kick));
    k->kick->k = k;
    k->kick->c = k->c;
    k->kick->sub.run = kick_run;
    k->kick->sub.cancel = kick_cancel;
    if (kwi_reactor_timer_new(kwi_client_reactor(k->c), on_timer, k, &k->t_run) != KW_ERR_OK)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    if (pthread_cond_init(&k->cond, NULL) != 0)
        return kw_error_set(err, KW_ERR_NOMEM, "cannot create a condition variable");
    k->cond_ok = true;
    if (reserve_parts(k, 1) != KW_ERR_OK)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    return KW_ERR_OK;
}

kw_err
kw_consumer_new(kw_client *c, const kw_consumer_opts *o, kw_consumer **out, kw_error *err)
{
    if (out)
        *out = NULL;
    if (!c || !out)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "client and out are required");
    pthread_mutex_lock(&c->lock);
    kw_consumer *k = kwi_client_alloc(c, sizeof(*k));
    if (!k) {
        pthread_mutex_unlock(&c->lock);
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    memset(k, 0, sizeof(*k));
    k->c = c;
    k->a = c->a;
    if (o)
        k->o = *o;
    kw_err e = consumer_init(k, err);
    if (e != KW_ERR_OK) {
        consumer_destroy(k);
        pthread_mutex_unlock(&c->lock);
        return e;
    }
    *out = k;
    pthread_mutex_unlock(&c->lock);
    return KW_ERR_OK;
}

static void
consumer_destroy(kw_consumer *k)
{
    k->closing = true;
    if (k->hooks.on_free)
        k->hooks.on_free(k);
    while (k->n_parts > 0)
        tp_remove(k, k->parts[k->n_parts - 1]);
    kwi_fetch_fini(k);
    kwi_parse_fini(k);
    /* Chunks still referenced by messages the application holds live on without us. */
    for (kwi_cchunk *ch = k->live; ch; ch = ch->lnext)
        ch->k = NULL;
    k->live = NULL;
    if (k->t_run)
        kwi_reactor_timer_free(k->t_run);
    if (k->kick) {
        if (k->kick->queued)
            k->kick->k = NULL; /* freed when the client runs or cancels it */
        else
            kwi_client_mem_free(k->c, k->kick, sizeof(*k->kick));
    }
    if (k->cond_ok)
        pthread_cond_destroy(&k->cond);
    kwi_cons_free_mem(k, k->parts, k->cap_parts * sizeof(*k->parts));
    kwi_cons_free_mem(k, k->buckets, k->n_buckets * sizeof(*k->buckets));
    kwi_client_mem_free(k->c, k->rack, k->rack_sz);
    kwi_client_mem_free(k->c, k, sizeof(*k));
}

void
kw_consumer_free(kw_consumer *k)
{
    if (!k)
        return;
    kw_client *c = k->c;
    pthread_mutex_lock(&c->lock);
    if (c->in_step > 0) {
        pthread_mutex_unlock(&c->lock); /* the contract: not from inside a callback */
        return;
    }
    consumer_destroy(k);
    pthread_mutex_unlock(&c->lock);
}

kw_client *
kw_consumer_client(kw_consumer *k)
{
    return k ? k->c : NULL;
}

void
kwi_cons_set_hooks(kw_consumer *k, const kwi_cons_hooks *h)
{
    k->hooks = *h;
}

/* ---- assignment -------------------------------------------------------------------------- */

bool
kwi_cons_topic_ok(const char *s, size_t *len)
{
    if (!s)
        return false;
    size_t n = strnlen(s, 250);
    if (n == 0 || n > 249)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '-'))
            return false;
    }
    *len = n;
    return true;
}

/* Checks a list: names, partitions, offsets, duplicates within it. */
kw_err
kwi_cons_check_list(const kw_topic_partition *parts, size_t n, bool offsets, kw_error *err)
{
    if (n > 0 && !parts)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no partition list");
    for (size_t i = 0; i < n; i++) {
        size_t len;
        if (!kwi_cons_topic_ok(parts[i].topic, &len))
            return kw_error_set(err, KW_ERR_INVALID_ARG, "entry %zu: invalid topic name", i);
        if (parts[i].partition < 0)
            return kw_error_set(err, KW_ERR_INVALID_ARG, "%s: negative partition %d",
                                parts[i].topic, (int)parts[i].partition);
        int64_t o = parts[i].offset;
        if (offsets && o < 0 && o != KW_OFFSET_BEGINNING && o != KW_OFFSET_END &&
            o != KW_OFFSET_STORED && o != KW_OFFSET_INVALID)
            return kw_error_set(err, KW_ERR_INVALID_ARG, "%s [%d]: invalid offset %lld",
                                parts[i].topic, (int)parts[i].partition, (long long)o);
        for (size_t j = 0; j < i; j++)
            if (parts[j].partition == parts[i].partition &&
                strcmp(parts[j].topic, parts[i].topic) == 0)
                return kw_error_set(err, KW_ERR_INVALID_ARG, "%s [%d] is listed twice",
                                    parts[i].topic, (int)parts[i].partition);
    }
    return KW_ERR_OK;
}

static kw_err
add_parts(kw_consumer *k, const kw_topic_partition *parts, size_t n, kw_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (kwi_cons_find(k, parts[i].topic, strlen(parts[i].topic), parts[i].partition))
            return kw_error_set(err, KW_ERR_INVALID_ARG, "%s [%d] is already assigned",
                                parts[i].topic, (int)parts[i].partition);
    if (reserve_parts(k, n) != KW_ERR_OK)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    size_t added = 0;
    for (; added < n; added++)
        if (!tp_add(k, parts[added].topic, strlen(parts[added].topic), parts[added].partition))
            break;
    if (added < n) {
        /* All or nothing. */
        while (added-- > 0)
            tp_remove(k, k->parts[k->n_parts - 1]);
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        kwi_cons_start(k, k->parts[k->n_parts - n + i], parts[i].offset);
    return KW_ERR_OK;
}

kw_err
kw_consumer_incremental_assign(kw_consumer *k, const kw_topic_partition *parts, size_t n,
                               kw_error *err)
{
    if (!k)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer");
    kw_err e = kwi_cons_check_list(parts, n, true, err);
    if (e != KW_ERR_OK)
        return e;
    pthread_mutex_lock(&k->c->lock);
    e = kwi_cg_manual_assign(k, err);
    if (e == KW_ERR_OK)
        e = add_parts(k, parts, n, err);
    k->st.assigned = k->n_parts;
    pthread_mutex_unlock(&k->c->lock);
    return e;
}

kw_err
kw_consumer_incremental_unassign(kw_consumer *k, const kw_topic_partition *parts, size_t n,
                                 kw_error *err)
{
    if (!k)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer");
    kw_err e = kwi_cons_check_list(parts, n, false, err);
    if (e != KW_ERR_OK)
        return e;
    pthread_mutex_lock(&k->c->lock);
    for (size_t i = 0; i < n && e == KW_ERR_OK; i++)
        if (!kwi_cons_find(k, parts[i].topic, strlen(parts[i].topic), parts[i].partition))
            e = kw_error_set(err, KW_ERR_INVALID_ARG, "%s [%d] is not assigned", parts[i].topic,
                             (int)parts[i].partition);
    for (size_t i = 0; i < n && e == KW_ERR_OK; i++)
        tp_remove(k, kwi_cons_find(k, parts[i].topic, strlen(parts[i].topic), parts[i].partition));
    k->st.assigned = k->n_parts;
    pthread_mutex_unlock(&k->c->lock);
    return e;
}

kw_err
kw_consumer_unassign(kw_consumer *k, kw_error *err)
{
    if (!k)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer");
    pthread_mutex_lock(&k->c->lock);
    while (k->n_parts > 0)
        tp_remove(k, k->parts[k->n_parts - 1]);
    k->st.assigned = 0;
    pthread_mutex_unlock(&k->c->lock);
    return KW_ERR_OK;
}

kw_err
kw_consumer_assign(kw_consumer *k, const kw_topic_partition *parts, size_t n, kw_error *err)
{
    if (!k)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer");
    kw_err e = kwi_cons_check_list(parts, n, true, err);
    if (e != KW_ERR_OK)
        return e;
    pthread_mutex_lock(&k->c->lock);
    e = kwi_cg_manual_assign(k, err);
    if (e != KW_ERR_OK) {
        pthread_mutex_unlock(&k->c->lock);
        return e;
    }
    /* Room first, so the swap below cannot fail half way. */
    if (reserve_parts(k, n) != KW_ERR_OK) {
        pthread_mutex_unlock(&k->c->lock);
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    while (k->n_parts > 0)
        tp_remove(k, k->parts[k->n_parts - 1]);
    e = add_parts(k, parts, n, err);
    k->st.assigned = k->n_parts;
    pthread_mutex_unlock(&k->c->lock);
    return e;
}

/* Builds a list of every assigned partition with its position. */
kw_err
kw_consumer_assignment(kw_consumer *k, kw_partition_list *out, kw_error *err)
{
    if (!k || !out)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "consumer and out are required");
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&k->c->lock);
    size_t size = k->n_parts * sizeof(kw_topic_partition);
    for (size_t i = 0; i < k->n_parts; i++)
        size += k->parts[i]->tlen + 1;
    uint8_t *mem = size ? kwi_cons_alloc(k, size) : NULL;
    if (size && !mem) {
        pthread_mutex_unlock(&k->c->lock);
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    kw_topic_partition *items = (kw_topic_partition *)mem;
    char *names = (char *)(mem + k->n_parts * sizeof(kw_topic_partition));
    for (size_t i = 0; i < k->n_parts; i++) {
        kwi_ctp *tp = k->parts[i];
        memcpy(names, tp->topic, tp->tlen + 1);
        items[i] =
            (kw_topic_partition){names, tp->partition, tp->pos, tp->pos_epoch, NULL, KW_ERR_OK, 0};
        names += tp->tlen + 1;
    }
    out->items = items;
    out->n = k->n_parts;
    out->alloc_ = k->a;
    out->size_ = size;
    pthread_mutex_unlock(&k->c->lock);
    return KW_ERR_OK;
}

void
kw_partition_list_free(kw_partition_list *l)
{
    if (!l || !l->items)
        return;
    l->alloc_->free(l->alloc_->ud, l->items, l->size_);
    memset(l, 0, sizeof(*l));
}

void
kw_consumer_stats_get(kw_consumer *k, kw_consumer_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!k)
        return;
    pthread_mutex_lock(&k->c->lock);
    *out = k->st;
    out->buffered_msgs = k->buffered;
    out->mem = k->mem;
    out->assigned = k->n_parts;
    pthread_mutex_unlock(&k->c->lock);
}

/* ---- the group part's API ---------------------------------------------------------------- */

kw_err
kwi_cons_set_start(kw_consumer *k, const char *topic, size_t len, int32_t partition, int64_t offset,
                   int32_t leader_epoch)
{
    kwi_ctp *tp = kwi_cons_find(k, topic, len, partition);
    if (!tp)
        return KW_ERR_NOT_FOUND;
    if (tp->state != KWI_CTP_WAIT_POS)
        return KW_ERR_STATE;
    if (offset < 0) {
        kwi_cons_auto_reset(k, tp, 0, "no committed offset");
        return KW_ERR_OK;
    }
    kwi_cons_move(k, tp, offset, false, 0);
    tp->pos_epoch = tp->fetch_epoch = leader_epoch;
    return KW_ERR_OK;
}

size_t
kwi_cons_consumed(kw_consumer *k, kw_topic_partition *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < k->n_parts; i++) {
        kwi_ctp *tp = k->parts[i];
        if (tp->pos < 0)
            continue;
        if (n < cap)
            out[n] = (kw_topic_partition){tp->topic, tp->partition, tp->pos, tp->pos_epoch,
                                          NULL,      KW_ERR_OK,     0};
        n++;
    }
    return n;
}

kw_err
kwi_cons_position(kw_consumer *k, const char *topic, size_t len, int32_t partition, int64_t *offset,
                  int32_t *leader_epoch)
{
    kwi_ctp *tp = kwi_cons_find(k, topic, len, partition);
    if (!tp)
        return KW_ERR_NOT_FOUND;
    if (offset)
        *offset = tp->pos;
    if (leader_epoch)
        *leader_epoch = tp->pos_epoch;
    return KW_ERR_OK;
}

void
kwi_cons_hold(kw_consumer *k, bool on)
{
    k->held = on;
    if (!on)
        kwi_cons_signal(k);
}
