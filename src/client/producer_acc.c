/* The accumulator: topics and partitions, their queues of batches, records waiting for a
 * topic's metadata, and the delivery timeout of everything queued.
 *
 * A partition's queue holds its batches oldest first: the open batch (the tail) takes new
 * records until batch.size bytes or batch.num.messages records, then it is full and a new one
 * opens. A batch coming back for a retry goes back to its place by creation order, which is
 * also sequence order, so the partition's records keep their order across retries.
 *
 * A record for a topic the metadata cache does not know yet cannot be partitioned. It is
 * stored as it came (kwi_pend, key, value, headers) in the topic's pending buffer and moved
 * into batches when the metadata arrives; later records of the topic queue behind it, so the
 * order of the records of a partition is the order in which they were sent. */
#include <string.h>

#include "client/producer_int.h"

static uint32_t
name_hash(const char *s, size_t n)
{
    uint32_t h = 0x811c9dc5u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 0x01000193u;
    return h;
}

static void
rehash(kw_producer *p)
{
    size_t nb = p->n_buckets ? p->n_buckets * 2 : 16;
    kwi_ptopic **b = kwi_prod_alloc(p, nb * sizeof(*b));
    if (!b)
        return; /* the old table keeps working, with longer chains */
    memset(b, 0, nb * sizeof(*b));
    for (size_t i = 0; i < p->n_buckets; i++) {
        kwi_ptopic *t = p->buckets[i];
        while (t) {
            kwi_ptopic *next = t->next;
            t->next = b[t->hash & (nb - 1)];
            b[t->hash & (nb - 1)] = t;
            t = next;
        }
    }
    kwi_prod_free_mem(p, p->buckets, p->n_buckets * sizeof(*b));
    p->buckets = b;
    p->n_buckets = nb;
}

kwi_ptopic *
kwi_acc_topic(kw_producer *p, const char *name, size_t len, bool create)
{
    uint32_t h = name_hash(name, len);
    if (p->n_buckets) {
        for (kwi_ptopic *t = p->buckets[h & (p->n_buckets - 1)]; t; t = t->next)
            if (t->hash == h && t->len == len && memcmp(t->name, name, len) == 0)
                return t;
    }
    if (!create)
        return NULL;
    if (p->n_topics >= p->n_buckets)
        rehash(p);
    if (!p->n_buckets)
        return NULL;
    kwi_ptopic *t = kwi_prod_alloc(p, sizeof(*t));
    char *copy = kwi_prod_alloc(p, len + 1);
    if (!t || !copy) {
        kwi_prod_free_mem(p, t, sizeof(*t));
        kwi_prod_free_mem(p, copy, len + 1);
        return NULL;
    }
    memset(t, 0, sizeof(*t));
    memcpy(copy, name, len);
    copy[len] = '\0';
    t->name = copy;
    t->len = len;
    t->hash = h;
    t->sticky = -1;
    kw_wr_init_dyn(&t->pend, p->a, SIZE_MAX / 2);
    t->next = p->buckets[h & (p->n_buckets - 1)];
    p->buckets[h & (p->n_buckets - 1)] = t;
    p->n_topics++;
    return t;
}

kwi_ptp *
kwi_acc_tp(kw_producer *p, kwi_ptopic *t, int32_t part)
{
    if (part < 0)
        return NULL;
    if (part >= t->n_parts) {
        int32_t n = part + 1;
        if (n < t->n_parts * 2)
            n = t->n_parts * 2;
        kwi_ptp **np = kwi_prod_alloc(p, (size_t)n * sizeof(*np));
        if (!np)
            return NULL;
        memset(np, 0, (size_t)n * sizeof(*np));
        if (t->n_parts)
            memcpy(np, t->parts, (size_t)t->n_parts * sizeof(*np));
        kwi_prod_free_mem(p, t->parts, (size_t)t->n_parts * sizeof(*np));
        t->parts = np;
        t->n_parts = n;
    }
    kwi_ptp *tp = t->parts[part];
    if (!tp) {
        tp = kwi_prod_alloc(p, sizeof(*tp));
        if (!tp)
            return NULL;
        memset(tp, 0, sizeof(*tp));
        tp->t = t;
        tp->id = part;
        tp->last_acked = -1;
        t->parts[part] = tp;
    }
    return tp;
}

int32_t
kwi_acc_topic_md(kw_producer *p, kwi_ptopic *t)
{
    /* The cache changes only when a Metadata response is applied, which the client counts:
     * while the count stands, the snapshot (partition count, partitions with a leader, topic
     * id) is current and the lookup is skipped, as it would be for every record. */
    uint64_t gen = p->c->stats.metadata_updates;
    if (t->md_gen == gen && t->md_parts > 0)
        return t->md_parts;
    kwi_md_topic *m = kwi_md_topic_find(p->c, t->name, t->len);
    if (!m || m->n_parts <= 0)
        return -1;
    if (m->n_parts > t->cap_avail) {
        int32_t *na = kwi_prod_alloc(p, (size_t)m->n_parts * sizeof(*na));
        if (!na)
            return m->n_parts; /* the old list stays, and is built again next time */
        kwi_prod_free_mem(p, t->avail, (size_t)t->cap_avail * sizeof(*na));
        t->avail = na;
        t->cap_avail = m->n_parts;
    }
    t->n_avail = 0;
    for (int32_t i = 0; i < m->n_parts; i++)
        if (m->parts[i].leader >= 0)
            t->avail[t->n_avail++] = i;
    t->id = m->id;
    t->md_parts = m->n_parts;
    t->md_gen = gen;
    return m->n_parts;
}

/* ---- batches -------------------------------------------------------------------------------- */

kwi_pbatch *
kwi_acc_batch_new(kw_producer *p, kwi_ptp *tp)
{
    kwi_pbatch *b = p->pool;
    kw_wr rec, z;
    kwi_pmsg *msgs = NULL;
    kwi_pref *refs = NULL;
    int32_t cap = 0, cap_refs = 0;
    if (b) {
        p->pool = b->next;
        p->n_pool--;
        p->pool_bytes -= (size_t)(b->rec.end - b->rec.base) + (size_t)(b->z.end - b->z.base);
        rec = b->rec;
        z = b->z;
        msgs = b->msgs;
        cap = b->cap;
        refs = b->refs;
        cap_refs = b->cap_refs;
    } else {
        b = kwi_prod_alloc(p, sizeof(*b));
        if (!b)
            return NULL;
        kw_wr_init_dyn(&rec, p->a, (size_t)p->max_request);
        memset(&z, 0, sizeof(z));
    }
    memset(b, 0, sizeof(*b));
    b->rec = rec;
    b->rec.p = b->rec.base;
    b->rec.err = KW_ERR_OK;
    b->z = z;
    b->msgs = msgs;
    b->cap = cap;
    b->refs = refs;
    b->cap_refs = cap_refs;
    b->tp = tp;
    b->codec = p->codec;
    b->pid = -1;
    b->epoch = -1;
    b->base_seq = -1;
    b->base_offset = -1;
    b->append_time = -1;
    b->created_ms = kwi_prod_now(p);
    /* Each batch owns a range of order numbers, so that the pieces of a split one can take
     * its place (producer_split.c). */
    b->order = tp->next_order;
    b->span = (uint64_t)1 << 24;
    tp->next_order += b->span;
    kw_error_init(&b->last);
    return b;
}

void
kwi_acc_batch_free(kw_producer *p, kwi_pbatch *b)
{
    /* Borrowed values go back to their owners once nothing can read them any more. */
    for (int32_t i = 0; i < b->n_refs; i++)
        if (b->refs[i].fn)
            b->refs[i].fn((void *)b->refs[i].ptr, b->refs[i].ud);
    kwi_prod_release(p, b->mem, 0);
    /* Batches are kept for reuse (a reused buffer costs neither an allocation nor the page
     * faults of fresh memory, which dominate with large values), unless one grew far past
     * batch.size (a large record). The pool stays outside buffer.memory, so its capacity is
     * bounded by a quarter of it as well: with a large batch.size 64 batches could otherwise
     * hold 64 times that. */
    size_t cap = (size_t)(b->rec.end - b->rec.base) + (size_t)(b->z.end - b->z.base);
    if (p->n_pool < 64 && !p->closing && cap <= 2 * (size_t)p->batch_size + 4096 &&
        p->pool_bytes + cap <= (size_t)p->buffer_memory / 4) {
        b->next = p->pool;
        p->pool = b;
        p->n_pool++;
        p->pool_bytes += cap;
        return;
    }
    kw_wr_fini(&b->rec);
    kw_wr_fini(&b->z);
    kwi_prod_free_mem(p, b->msgs, (size_t)b->cap * sizeof(*b->msgs));
    kwi_prod_free_mem(p, b->refs, (size_t)b->cap_refs * sizeof(*b->refs));
    kwi_prod_free_mem(p, b, sizeof(*b));
}

void
kwi_acc_activate(kw_producer *p, kwi_ptp *tp)
{
    if (tp->active)
        return;
    tp->active = true;
    tp->next_active = p->active;
    p->active = tp;
}

static void
push_tail(kwi_ptp *tp, kwi_pbatch *b)
{
    b->next = NULL;
    if (tp->tail)
        tp->tail->next = b;
    else
        tp->head = b;
    tp->tail = b;
    tp->n_queued++;
}

kwi_pbatch *
kwi_acc_pop(kw_producer *p, kwi_ptp *tp)
{
    (void)p;
    kwi_pbatch *b = tp->head;
    if (!b)
        return NULL;
    tp->head = b->next;
    if (!tp->head)
        tp->tail = NULL;
    b->next = NULL;
    tp->n_queued--;
    return b;
}

void
kwi_acc_requeue(kw_producer *p, kwi_pbatch *b)
{
    kwi_ptp *tp = b->tp;
    kwi_pbatch **pp = &tp->head;
    while (*pp && (*pp)->order < b->order)
        pp = &(*pp)->next;
    b->next = *pp;
    *pp = b;
    if (!b->next)
        tp->tail = b;
    tp->n_queued++;
    kwi_acc_activate(p, tp);
}

/* Whether a batch can take one more record of `size` bytes. */
static bool
fits(const kw_producer *p, const kwi_pbatch *b, size_t size)
{
    if (b->full || b->sealed || b->base_seq >= 0 || b->attempts > 0)
        return false;
    if (b->n == 0)
        return true;
    size_t cur = kw_wr_len(&b->rec) + b->ref_bytes;
    return b->n < p->batch_max_msgs && cur + size <= (size_t)p->batch_size;
}

kw_err
kwi_acc_append(kw_producer *p, kwi_ptp *tp, const kw_message *m, int64_t ts, bool zc, kw_free_fn fn,
               void *fud, size_t mem, size_t size, size_t body0, kw_error *err)
{
    kw_slice value = m->value;
    kwi_pbatch *b = tp->tail;
    bool fresh = false;
    if (!b || !fits(p, b, size)) {
        if (b)
            b->full = true;
        b = kwi_acc_batch_new(p, tp);
        if (!b)
            return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        fresh = true;
    }
    kw_err e = kwi_batch_add(b, p->a, ts, m->key, value, zc, m->headers, m->n_headers, body0);
    if (e == KW_ERR_OK && zc) {
        kwi_pref *r = &b->refs[b->n_refs - 1];
        r->fn = fn;
        r->ud = fud;
    }
    if (e != KW_ERR_OK) {
        if (fresh)
            kwi_acc_batch_free(p, b);
        return kw_error_set(err, e, "cannot add the record to a batch: %s", kw_err_str(e));
    }
    b->msgs[b->n - 1].opaque = m->opaque;
    b->mem += mem;
    if (fresh) {
        if (tp->tail)
            tp->tail->full = true;
        push_tail(tp, b);
        kwi_acc_activate(p, tp);
    }
    size_t cur = kw_wr_len(&b->rec) + b->ref_bytes;
    if (cur >= (size_t)p->batch_size || b->n >= p->batch_max_msgs)
        b->full = true;
    /* The sender must look at this partition: now if a batch is ready, else when the new
     * batch's linger.ms has passed. */
    if (b->full || (fresh && tp->head != b))
        kwi_prod_wake_at(p, 0);
    else if (fresh)
        kwi_prod_wake_at(p, b->created_ms + p->linger_ms);
    return KW_ERR_OK;
}

/* ---- records waiting for metadata ----------------------------------------------------------- */

#define PEND_ALIGN 8

kw_err
kwi_acc_pend(kw_producer *p, kwi_ptopic *t, const kw_message *m, int64_t ts, bool zc, kw_free_fn fn,
             void *fud, size_t mem, kw_error *err)
{
    size_t size = sizeof(kwi_pend) + (m->key.len > 0 ? (size_t)m->key.len : 0);
    if (!zc && m->value.len > 0)
        size += (size_t)m->value.len;
    for (int32_t i = 0; i < m->n_headers; i++)
        size += 8 + (size_t)m->headers[i].key.len +
                (m->headers[i].value.len > 0 ? (size_t)m->headers[i].value.len : 0);
    size = (size + PEND_ALIGN - 1) & ~(size_t)(PEND_ALIGN - 1);
    uint8_t *w = kw_wr_reserve(&t->pend, size);
    if (!w) {
        t->pend.err = KW_ERR_OK;
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    kwi_pend h;
    memset(&h, 0, sizeof(h));
    h.partition = m->partition;
    h.key_len = m->key.len;
    h.val_len = m->value.len;
    h.n_headers = m->n_headers;
    h.ts = ts;
    h.created_ms = kwi_prod_now(p);
    h.opaque = m->opaque;
    h.zc = zc;
    h.zc_ptr = zc ? m->value.ptr : NULL;
    h.fn = fn;
    h.fud = fud;
    h.mem = mem;
    h.size = size;
    memcpy(w, &h, sizeof(h));
    uint8_t *q = w + sizeof(h);
    if (m->key.len > 0)
        memcpy(q, m->key.ptr, (size_t)m->key.len), q += m->key.len;
    if (!zc && m->value.len > 0)
        memcpy(q, m->value.ptr, (size_t)m->value.len), q += m->value.len;
    for (int32_t i = 0; i < m->n_headers; i++) {
        const kw_header *hd = &m->headers[i];
        memcpy(q, &hd->key.len, 4);
        memcpy(q + 4, &hd->value.len, 4);
        q += 8;
        if (hd->key.len > 0)
            memcpy(q, hd->key.ptr, (size_t)hd->key.len), q += hd->key.len;
        if (hd->value.len > 0)
            memcpy(q, hd->value.ptr, (size_t)hd->value.len), q += hd->value.len;
    }
    t->n_pend++;
    kwi_prod_wake_at(p, 0);
    return KW_ERR_OK;
}

/* Rebuilds a pending record as a kw_message; `hdrs` must hold n_headers entries. */
static void
pend_message(kwi_ptopic *t, const kwi_pend *h, const uint8_t *q, kw_header *hdrs, kw_message *m)
{
    kw_message_init(m);
    m->topic = t->name;
    m->partition = h->partition;
    m->opaque = h->opaque;
    m->key = (kw_slice){h->key_len > 0 ? q : NULL, h->key_len};
    q += h->key_len > 0 ? h->key_len : 0;
    if (h->zc) {
        m->value = (kw_slice){h->zc_ptr, h->val_len};
    } else {
        m->value = (kw_slice){h->val_len > 0 ? q : NULL, h->val_len};
        q += h->val_len > 0 ? h->val_len : 0;
    }
    for (int32_t i = 0; i < h->n_headers; i++) {
        int32_t kl, vl;
        memcpy(&kl, q, 4);
        memcpy(&vl, q + 4, 4);
        q += 8;
        hdrs[i].key = (kw_slice){q, kl};
        q += kl;
        hdrs[i].value = (kw_slice){vl > 0 ? q : NULL, vl};
        q += vl > 0 ? vl : 0;
    }
    m->headers = h->n_headers ? hdrs : NULL;
    m->n_headers = h->n_headers;
}

/* Reports a pending record as failed and gives its value back. */
static void
pend_fail(kw_producer *p, kwi_ptopic *t, const kwi_pend *h, kw_err e, const kw_error *d)
{
    kwi_prod_report_one(p, t->name, h->partition, h->opaque, h->ts, e, d);
    if (h->zc && h->fn)
        h->fn((void *)h->zc_ptr, h->fud);
    kwi_prod_release(p, h->mem, 0);
}

/* Moves one pending record into a batch (or fails it). */
static void
pend_place(kw_producer *p, kwi_ptopic *t, int32_t n_parts, const kwi_pend *h)
{
    kw_header small[8];
    kw_header *hdrs = small;
    size_t hsz = (size_t)h->n_headers * sizeof(*hdrs);
    kw_error err;
    kw_error_init(&err);
    if (h->n_headers > 8 && !(hdrs = kwi_prod_alloc(p, hsz))) {
        kw_error_set(&err, KW_ERR_NOMEM, "out of memory");
        pend_fail(p, t, h, KW_ERR_NOMEM, &err);
        return;
    }
    kw_message m;
    pend_message(t, h, (const uint8_t *)(h + 1), hdrs, &m);
    int32_t part = m.partition;
    kw_err e = KW_ERR_OK;
    if (part >= n_parts) {
        e = kw_error_set(&err, KW_ERR_NOT_FOUND, "topic %s has %d partitions, not %d", t->name,
                         (int)n_parts, (int)part + 1);
    } else if (part == KW_PARTITION_ANY) {
        part = kwi_prod_partition(p, t, n_parts, m.key, &err);
        if (part < 0)
            e = err.code;
    }
    kwi_ptp *tp = e ? NULL : kwi_acc_tp(p, t, part);
    if (!e && !tp)
        e = kw_error_set(&err, KW_ERR_NOMEM, "out of memory");
    size_t body0 = 0;
    size_t rsize = kwi_batch_record_size(0, 0, m.key, m.value.len, m.headers, m.n_headers, &body0);
    if (!e)
        e = kwi_acc_append(p, tp, &m, h->ts, h->zc, h->fn, h->fud, h->mem, rsize, body0, &err);
    if (!e && m.partition == KW_PARTITION_ANY && m.key.len < 0 && !p->o.partitioner)
        kwi_prod_sticky_update(p, t, part, rsize);
    if (hdrs != small)
        kwi_prod_free_mem(p, hdrs, hsz);
    if (e) {
        kwi_pend copy = *h;
        copy.partition = part >= 0 ? part : h->partition;
        pend_fail(p, t, &copy, e, &err);
    }
}

/* A topic error the producer cannot wait out. */
static bool
topic_error_fatal(int16_t code)
{
    return code != 0 && code != KWI_BE_UNKNOWN_TOPIC && code != KWI_BE_LEADER_NOT_AVAILABLE &&
           !kw_broker_err_retriable(code);
}

/* Puts what is left of the walked pending buffer `old` (from `off`) back in front of the
 * records sent while it was walked (a delivery report may send). */
static void
pend_merge(kw_producer *p, kwi_ptopic *t, kw_wr *old, size_t off, size_t left_n)
{
    size_t left = kw_wr_len(old) - off;
    if (left == 0) {
        kw_wr_fini(old);
        return;
    }
    memmove(old->base, old->base + off, left);
    old->p = old->base + left;
    size_t fresh = kw_wr_len(&t->pend), fresh_n = t->n_pend;
    if (fresh > 0)
        kw_wr_raw(old, t->pend.base, fresh);
    if (kw_wr_finish(old) != KW_ERR_OK) {
        /* No memory to keep both: the newer records fail, the order of the rest holds. */
        old->err = KW_ERR_OK;
        old->p = old->base + left;
        kw_error d;
        kw_error_init(&d);
        kw_error_set(&d, KW_ERR_NOMEM, "out of memory while %s waited for metadata", t->name);
        for (size_t o = 0; o < fresh;) {
            const kwi_pend *h = (const kwi_pend *)(t->pend.base + o);
            o += h->size;
            pend_fail(p, t, h, KW_ERR_NOMEM, &d);
        }
        fresh_n = 0;
    }
    kw_wr_fini(&t->pend);
    t->pend = *old;
    t->n_pend = left_n + fresh_n;
}

static int64_t
pending_topic(kw_producer *p, kwi_ptopic *t, int64_t now)
{
    int32_t n = kwi_acc_topic_md(p, t);
    kwi_md_topic *m = n > 0 ? NULL : kwi_md_topic_find(p->c, t->name, t->len);
    int16_t code = m ? m->error : 0;
    /* The buffer is walked detached: delivery reports fired on the way may send records of
     * this topic, which queue in a fresh buffer behind these (t->placing keeps them there
     * even once the topic is known, so they cannot overtake). */
    kw_wr old = t->pend;
    size_t left_n = t->n_pend, off = 0, end = kw_wr_len(&old);
    kw_wr_init_dyn(&t->pend, p->a, SIZE_MAX / 2);
    t->n_pend = 0;
    t->placing = true;
    int64_t next = INT64_MAX;
    /* Records are placed (or failed) in order; a record that is not due yet stops the walk,
     * so what remains is a suffix. */
    while (off < end) {
        const kwi_pend *h = (const kwi_pend *)(old.base + off);
        if (t->purge_pend > 0) {
            kw_error d;
            kw_error_init(&d);
            kw_error_set(&d, KW_ERR_CANCELED, "purged before it was sent");
            t->purge_pend--;
            pend_fail(p, t, h, KW_ERR_CANCELED, &d);
        } else if (n > 0) {
            pend_place(p, t, n, h);
        } else if (topic_error_fatal(code)) {
            kw_error d;
            kw_error_init(&d);
            kw_error_set(&d, KW_ERR_BROKER, "topic %s: %s", t->name, kw_broker_err_name(code));
            d.broker_code = code;
            pend_fail(p, t, h, KW_ERR_BROKER, &d);
        } else if (h->created_ms + p->delivery_timeout_ms <= now) {
            kw_error d;
            kw_error_init(&d);
            kw_error_set(&d, KW_ERR_TIMED_OUT,
                         "topic %s not in the metadata after %lld ms (delivery.timeout.ms)%s%s",
                         t->name, (long long)p->delivery_timeout_ms, code ? ": " : "",
                         code ? kw_broker_err_name(code) : "");
            pend_fail(p, t, h, KW_ERR_TIMED_OUT, &d);
        } else {
            next = h->created_ms + p->delivery_timeout_ms;
            break;
        }
        off += h->size;
        left_n--;
    }
    t->placing = false;
    pend_merge(p, t, &old, off, left_n);
    t->want_md = t->n_pend > 0;
    if (t->n_pend > 0) {
        if (next == INT64_MAX)
            next = 0; /* records sent meanwhile: another pass places them */
    }
    return next;
}

int64_t
kwi_acc_pending_run(kw_producer *p, int64_t now)
{
    int64_t next = INT64_MAX;
    for (size_t i = 0; i < p->n_buckets; i++)
        for (kwi_ptopic *t = p->buckets[i]; t; t = t->next) {
            if (t->n_pend == 0)
                continue;
            int64_t at = pending_topic(p, t, now);
            if (at < next)
                next = at;
        }
    return next;
}

/* ---- expiry and failure --------------------------------------------------------------------- */

static void
fail_batch(kw_producer *p, kwi_pbatch *b, kw_err e, const kw_error *d)
{
    if (b->base_seq >= 0)
        kwi_idem_on_local_fail(p, b);
    kwi_prod_batch_done(p, b, e, d, -1, -1);
}

int64_t
kwi_acc_expire(kw_producer *p, int64_t now)
{
    int64_t next = INT64_MAX;
    for (kwi_ptp *tp = p->active; tp; tp = tp->next_active) {
        kwi_pbatch *b;
        while ((b = tp->head) && b->created_ms + p->delivery_timeout_ms <= now) {
            kwi_acc_pop(p, tp);
            kw_error d;
            kw_error_init(&d);
            if (b->last.code != KW_ERR_OK)
                kw_error_set(&d, KW_ERR_TIMED_OUT,
                             "%s [%d]: not delivered within delivery.timeout.ms (%lld ms); last "
                             "error: %s",
                             tp->t->name, (int)tp->id, (long long)p->delivery_timeout_ms,
                             b->last.msg);
            else
                kw_error_set(&d, KW_ERR_TIMED_OUT,
                             "%s [%d]: not delivered within delivery.timeout.ms (%lld ms)",
                             tp->t->name, (int)tp->id, (long long)p->delivery_timeout_ms);
            fail_batch(p, b, KW_ERR_TIMED_OUT, &d);
        }
        if (b && b->created_ms + p->delivery_timeout_ms < next)
            next = b->created_ms + p->delivery_timeout_ms;
    }
    return next;
}

void
kwi_acc_purge(kw_producer *p, const kw_error *why)
{
    for (kwi_ptp *tp = p->active; tp; tp = tp->next_active) {
        kwi_pbatch *b;
        while ((b = kwi_acc_pop(p, tp)))
            fail_batch(p, b, KW_ERR_CANCELED, why);
    }
    for (size_t i = 0; i < p->n_buckets; i++)
        for (kwi_ptopic *t = p->buckets[i]; t; t = t->next)
            t->purge_pend = t->n_pend;
}

void
kwi_acc_fail_all(kw_producer *p, kw_err err, const kw_error *detail)
{
    for (kwi_ptp *tp = p->active; tp; tp = tp->next_active) {
        kwi_pbatch *b;
        while ((b = kwi_acc_pop(p, tp)))
            fail_batch(p, b, err, detail);
    }
    for (size_t i = 0; i < p->n_buckets; i++)
        for (kwi_ptopic *t = p->buckets[i]; t; t = t->next) {
            size_t off = 0, end = kw_wr_len(&t->pend);
            while (off < end) {
                const kwi_pend *h = (const kwi_pend *)(t->pend.base + off);
                pend_fail(p, t, h, err, detail);
                off += h->size;
            }
            t->pend.p = t->pend.base;
            t->n_pend = 0;
            t->purge_pend = 0;
            t->want_md = false;
        }
}

void
kwi_acc_fini(kw_producer *p)
{
    while (p->pool) {
        kwi_pbatch *b = p->pool;
        p->pool = b->next;
        kw_wr_fini(&b->rec);
        kw_wr_fini(&b->z);
        kwi_prod_free_mem(p, b->msgs, (size_t)b->cap * sizeof(*b->msgs));
        kwi_prod_free_mem(p, b->refs, (size_t)b->cap_refs * sizeof(*b->refs));
        kwi_prod_free_mem(p, b, sizeof(*b));
    }
    p->n_pool = 0;
    p->pool_bytes = 0;
    for (size_t i = 0; i < p->n_buckets; i++) {
        kwi_ptopic *t = p->buckets[i];
        while (t) {
            kwi_ptopic *next = t->next;
            for (int32_t j = 0; j < t->n_parts; j++)
                kwi_prod_free_mem(p, t->parts[j], sizeof(kwi_ptp));
            kwi_prod_free_mem(p, t->parts, (size_t)t->n_parts * sizeof(*t->parts));
            kwi_prod_free_mem(p, t->avail, (size_t)t->cap_avail * sizeof(*t->avail));
            kw_wr_fini(&t->pend);
            kwi_prod_free_mem(p, t->name, t->len + 1);
            kwi_prod_free_mem(p, t, sizeof(*t));
            t = next;
        }
    }
    kwi_prod_free_mem(p, p->buckets, p->n_buckets * sizeof(*p->buckets));
    p->buckets = NULL;
    p->n_buckets = p->n_topics = 0;
    p->active = NULL;
}
