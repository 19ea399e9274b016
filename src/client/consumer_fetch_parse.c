/* One partition of a Fetch response into a chunk of messages.
 *
 * The records bytes are copied once out of the connection's receive buffer (which the
 * connection reuses after the callback) into the chunk; uncompressed records then point into
 * that copy, and each compressed batch is decompressed once into an area the chunk owns. The
 * kw_consumer_msg array is built in place in the chunk, sized up front from the batch headers'
 * record counts (grown only when compressed batches hold more), so each message is written
 * once. Both blocks come from the consumer's block cache.
 *
 * Decompressed areas of all chunks alive together stay within max(fetch.queue.max.bytes,
 * 16 MiB): a batch that does not fit next to what is held is left for a later fetch
 * (KW_ERR_AGAIN, no error), and one that inflates past the whole bound with nothing else held
 * is a bomb: an in-band KW_ERR_BOMB error for its partition.
 *
 * What is skipped, with the position still moving past it:
 *   - batches and records below the fetch position (a batch may start before it: the broker
 *     returns whole batches, and compacted or compressed data starts where the batch does);
 *   - control batches (transaction markers), never handed out;
 *   - with read_committed, batches of aborted transactions. As Java's CompletedFetch does: the
 *     response's aborted list, ordered by first offset, adds a producer id to the set of
 *     aborted producers once a batch reaches that offset; a transactional batch of a producer
 *     in the set is dropped; that producer's ABORT marker takes it out of the set again.
 * A trailing partial batch (the response was cut at max bytes) is left for the next fetch. */
#include <stdlib.h>
#include <string.h>

#include "client/consumer_int.h"

void
kwi_parse_fini(kw_consumer *k)
{
    for (size_t i = 0; i < k->n_sbufs; i++)
        kwi_cons_free_mem(k, k->sbufs[i], k->sbuf_caps[i]);
    kwi_cons_free_mem(k, k->sbufs, k->cap_sbufs * sizeof(*k->sbufs));
    kwi_cons_free_mem(k, k->sbuf_caps, k->cap_sbufs * sizeof(*k->sbuf_caps));
    k->sbufs = NULL;
    k->sbuf_caps = NULL;
    k->cap_sbufs = k->n_sbufs = 0;
    kw_codec_ctx_free(k->zctx);
    k->zctx = NULL;
    kwi_cons_pool_trim(k, SIZE_MAX);
}

/* Frees the decompressed areas in scratch (a parse that ends without a chunk). */
static void
drop_bufs(kw_consumer *k)
{
    for (size_t i = 0; i < k->n_sbufs; i++)
        kwi_cons_free_mem(k, k->sbufs[i], k->sbuf_caps[i]);
    k->n_sbufs = 0;
}

/* The read_committed filter's state for one partition of one response. */
typedef struct txn_filter {
    const kw_fetch_aborted_txn **list; /* sorted by first offset */
    int32_t n, next;
    int64_t *aborted; /* producer ids currently aborted */
    int32_t n_aborted;
} txn_filter;

static int
cmp_first_offset(const void *a, const void *b)
{
    const kw_fetch_aborted_txn *x = *(const kw_fetch_aborted_txn *const *)a;
    const kw_fetch_aborted_txn *y = *(const kw_fetch_aborted_txn *const *)b;
    return x->first_offset < y->first_offset ? -1 : x->first_offset > y->first_offset;
}

static bool
txn_init(kw_consumer *k, txn_filter *f, const kw_fetch_resp_partition *rp)
{
    memset(f, 0, sizeof(*f));
    if (!k->isolation || rp->n_aborted_transactions <= 0)
        return true;
    size_t n = (size_t)rp->n_aborted_transactions;
    f->list = kwi_cons_alloc(k, n * sizeof(*f->list));
    f->aborted = kwi_cons_alloc(k, n * sizeof(*f->aborted));
    if (!f->list || !f->aborted)
        return false;
    for (size_t i = 0; i < n; i++)
        f->list[i] = &rp->aborted_transactions[i];
    qsort(f->list, n, sizeof(*f->list), cmp_first_offset);
    f->n = rp->n_aborted_transactions;
    return true;
}

static void
txn_fini(kw_consumer *k, txn_filter *f, const kw_fetch_resp_partition *rp)
{
    size_t n = rp->n_aborted_transactions > 0 ? (size_t)rp->n_aborted_transactions : 0;
    kwi_cons_free_mem(k, f->list, n * sizeof(*f->list));
    kwi_cons_free_mem(k, f->aborted, n * sizeof(*f->aborted));
}

static bool
txn_is_aborted(const txn_filter *f, int64_t pid)
{
    for (int32_t i = 0; i < f->n_aborted; i++)
        if (f->aborted[i] == pid)
            return true;
    return false;
}

/* Whether the batch is dropped by read_committed (control batches are handled apart). */
static bool
txn_skip(txn_filter *f, const kw_batch *b)
{
    if (!f->list)
        return false;
    int64_t last = kw_batch_last_offset(b);
    while (f->next < f->n && f->list[f->next]->first_offset <= last) {
        int64_t pid = f->list[f->next++]->producer_id;
        if (!txn_is_aborted(f, pid))
            f->aborted[f->n_aborted++] = pid; /* bounded by n: one entry per list item */
    }
    if (kw_batch_is_control(b)) {
        /* An ABORT (or COMMIT) marker ends that producer's transaction. */
        for (int32_t i = 0; i < f->n_aborted; i++)
            if (f->aborted[i] == b->producer_id) {
                f->aborted[i] = f->aborted[--f->n_aborted];
                break;
            }
        return false;
    }
    return kw_batch_is_transactional(b) && txn_is_aborted(f, b->producer_id);
}

/* An upper bound of the records in `data`, to size the message array once: the record counts
 * of the batch headers, each capped by what its bytes can hold (a count is hostile), a legacy
 * entry counting one. A compressed batch may hold more than its size suggests: the array then
 * grows. Batch CRCs are checked by the real pass. */
static size_t
count_records(const uint8_t *p, size_t len)
{
    size_t n = 0;
    while (len >= KW_BATCH_LOG_OVERHEAD + 5) {
        uint32_t blen = (uint32_t)p[8] << 24 | (uint32_t)p[9] << 16 | (uint32_t)p[10] << 8 | p[11];
        if (blen > INT32_MAX || len - KW_BATCH_LOG_OVERHEAD < blen)
            break;
        size_t size = KW_BATCH_LOG_OVERHEAD + blen;
        if (p[16] == 2 && size >= KW_BATCH_HEADER_SIZE) {
            uint32_t rc =
                (uint32_t)p[57] << 24 | (uint32_t)p[58] << 16 | (uint32_t)p[59] << 8 | p[60];
            size_t cap =
                (size - KW_BATCH_HEADER_SIZE) / ((p[22] & KW_BATCH_ATTR_CODEC_MASK) ? 1 : 7);
            n += rc > INT32_MAX ? 0 : rc < cap ? rc : cap;
        } else {
            n++;
        }
        p += size;
        len -= size;
    }
    return n;
}

/* Makes room for one more message in the chunk's array. */
static bool
msgs_room(kw_consumer *k, kwi_cchunk *ch)
{
    if ((ch->n + 1) * sizeof(kw_consumer_msg) <= ch->msgs_cap)
        return true;
    size_t want = ch->msgs_cap ? ch->msgs_cap * 2 : 64 * sizeof(kw_consumer_msg), cap;
    kw_consumer_msg *m = kwi_cons_block_get(k, want, &cap);
    if (!m)
        return false;
    if (ch->n)
        memcpy(m, ch->msgs, ch->n * sizeof(*m));
    if (ch->msgs_cap)
        kwi_cons_block_put(k, k->a, ch->msgs, ch->msgs_cap);
    ch->msgs = m;
    ch->msgs_cap = cap;
    return true;
}

/* Appends a record's headers to the chunk's header array. */
static bool
add_headers(kw_consumer *k, kwi_cchunk *ch, const kw_record *rec)
{
    size_t need = (ch->n_hdrs + (size_t)rec->n_headers) * sizeof(kw_header);
    if (need > ch->hdrs_cap) {
        size_t cap = ch->hdrs_cap ? ch->hdrs_cap : 64 * sizeof(kw_header);
        while (cap < need)
            cap *= 2;
        kw_header *h = kwi_cons_alloc(k, cap);
        if (!h)
            return false;
        if (ch->n_hdrs)
            memcpy(h, ch->hdrs, ch->n_hdrs * sizeof(*h));
        if (ch->hdrs_cap)
            kwi_cons_free_mem(k, ch->hdrs, ch->hdrs_cap);
        ch->hdrs = h;
        ch->hdrs_cap = cap;
    }
    kw_header_iter hi;
    kw_header_iter_init(&hi, rec);
    kw_header h;
    while (kw_header_iter_next(&hi, &h))
        ch->hdrs[ch->n_hdrs++] = h;
    return true;
}

/* The fields every message of a batch shares. */
static void
batch_template(kwi_cchunk *ch, const kwi_ctp *tp, const kw_batch *b, kw_consumer_msg *t)
{
    memset(t, 0, sizeof(*t));
    t->topic = ch->topic;
    t->partition = tp->partition;
    if (b->magic == 0)
        t->timestamp_type = KW_TIMESTAMP_NONE;
    else if (kw_batch_log_append_time(b))
        t->timestamp_type = KW_TIMESTAMP_LOG_APPEND_TIME;
    else
        t->timestamp_type = KW_TIMESTAMP_CREATE_TIME;
    t->leader_epoch = b->magic >= 2 ? b->partition_leader_epoch : -1;
    t->errstr = "";
    t->chunk_ = ch;
}

/* Appends one record to the chunk. Header pointers are set once the array is final. */
static kw_err
add_record(kw_consumer *k, kwi_cchunk *ch, const kw_consumer_msg *t, const kw_record *rec)
{
    if (!msgs_room(k, ch) || (rec->n_headers > 0 && !add_headers(k, ch, rec)))
        return KW_ERR_NOMEM;
    kw_consumer_msg *m = &ch->msgs[ch->n++];
    *m = *t;
    m->offset = rec->offset;
    /* With log append time the iterator already gives the batch's time (v2: max_timestamp). */
    m->timestamp = t->timestamp_type == KW_TIMESTAMP_NONE ? -1 : rec->timestamp;
    m->key = rec->key;
    m->value = rec->value;
    m->n_headers = rec->n_headers;
    return KW_ERR_OK;
}

/* Takes over a decompression area for the chunk. */
static kw_err
keep_buf(kw_consumer *k, kw_wr *w)
{
    if (k->n_sbufs == k->cap_sbufs) {
        size_t nc = k->cap_sbufs ? k->cap_sbufs * 2 : 16;
        uint8_t **b = kwi_cons_alloc(k, nc * sizeof(*b));
        size_t *c = kwi_cons_alloc(k, nc * sizeof(*c));
        if (!b || !c) {
            kwi_cons_free_mem(k, b, nc * sizeof(*b));
            kwi_cons_free_mem(k, c, nc * sizeof(*c));
            return KW_ERR_NOMEM;
        }
        if (k->n_sbufs) {
            memcpy(b, k->sbufs, k->n_sbufs * sizeof(*b));
            memcpy(c, k->sbuf_caps, k->n_sbufs * sizeof(*c));
        }
        kwi_cons_free_mem(k, k->sbufs, k->cap_sbufs * sizeof(*b));
        kwi_cons_free_mem(k, k->sbuf_caps, k->cap_sbufs * sizeof(*c));
        k->sbufs = b;
        k->sbuf_caps = c;
        k->cap_sbufs = nc;
    }
    k->sbufs[k->n_sbufs] = w->base;
    k->sbuf_caps[k->n_sbufs] = (size_t)(w->end - w->base);
    k->n_sbufs++;
    return KW_ERR_OK;
}

/* What decompressed data may take at most, all chunks together: the budget, and at least
 * 16 MiB so that a small budget still reads an honest large batch. */
static size_t
inflate_cap(const kw_consumer *k)
{
    return k->budget > ((size_t)16 << 20) ? k->budget : (size_t)16 << 20;
}

/* The records of one batch at or above the fetch position. `held` is what this parse holds so
 * far (records copy, array, decompressed areas). KW_ERR_AGAIN: the batch does not fit next to
 * what is held now; it is left for a later fetch. */
static kw_err
read_batch(kw_consumer *k, kwi_ctp *tp, kwi_cchunk *ch, const kw_batch *b, size_t held,
           kw_error *detail)
{
    kw_wr w;
    bool compressed = kw_batch_codec(b) != 0;
    /* A decompressed area is bounded by what the cap leaves next to every chunk alive and
     * this parse, so a response of many batches that each inflate a lot (a bomb spread thin)
     * cannot take more than the cap either. With nothing else held the whole cap is there: a
     * batch that inflates past it is a bomb, not data. */
    size_t used = k->mem - ch->mem + held, cap = inflate_cap(k);
    size_t max_out = used < cap ? cap - used : 0;
    bool alone = ch->n == 0 && k->mem == ch->mem;
    if (compressed) {
        kw_wr_init_dyn(&w, k->a, max_out);
        /* Library contexts are kept across batches (a fresh zstd or lz4 context per batch
         * costs more than decompressing a small one); without one, each batch makes its own. */
        if (!k->zctx && kw_codec_ctx_new(k->a, &k->zctx) != KW_ERR_OK)
            k->zctx = NULL;
    }
    kw_record_iter ri;
    kw_record_iter_init_ctx(&ri, b, compressed ? &w : NULL, max_out, k->zctx);
    if (compressed && !alone && kw_record_iter_err(&ri) == KW_ERR_BOMB) {
        kw_wr_fini(&w);
        return KW_ERR_AGAIN;
    }
    kw_record rec;
    size_t before = ch->n;
    kw_consumer_msg t;
    batch_template(ch, tp, b, &t);
    kw_err e = KW_ERR_OK;
    while (e == KW_ERR_OK && kw_record_iter_next(&ri, &rec))
        if (rec.offset >= tp->fetch_pos)
            e = add_record(k, ch, &t, &rec);
    if (e == KW_ERR_OK && (e = kw_record_iter_err(&ri)) != KW_ERR_OK)
        kw_error_set(detail, e, "%s [%d]: the batch at offset %lld is unreadable: %s%s", tp->topic,
                     (int)tp->partition, (long long)b->base_offset, kw_err_str(e),
                     e == KW_ERR_BOMB ? " (it inflates past the consumer's memory bound)" : "");
    if (compressed) {
        if (ch->n > before && e != KW_ERR_NOMEM && keep_buf(k, &w) == KW_ERR_OK)
            return e; /* the records point into w: the chunk owns it now */
        kw_wr_fini(&w);
        if (ch->n > before) {
            ch->n = before; /* cannot keep the area its records point into */
            return KW_ERR_NOMEM;
        }
    }
    return e;
}

/* Completes a chunk with records: takes over the decompressed areas, points the messages at
 * their headers, charges the budget. false on out of memory (the chunk is then dropped). */
static bool
finish_chunk(kw_consumer *k, kwi_ctp *tp, kwi_cchunk *ch)
{
    if (k->n_sbufs) {
        ch->bufs = kwi_cons_alloc(k, k->n_sbufs * sizeof(*ch->bufs));
        ch->buf_caps = kwi_cons_alloc(k, k->n_sbufs * sizeof(*ch->buf_caps));
        if (!ch->bufs || !ch->buf_caps) {
            kwi_cons_free_mem(k, ch->bufs, k->n_sbufs * sizeof(*ch->bufs));
            kwi_cons_free_mem(k, ch->buf_caps, k->n_sbufs * sizeof(*ch->buf_caps));
            ch->bufs = NULL;
            ch->buf_caps = NULL;
            return false;
        }
        ch->bufs_slots = k->n_sbufs;
    }
    size_t bytes = ch->data_cap + ch->msgs_cap + ch->hdrs_cap +
                   ch->bufs_slots * (sizeof(*ch->bufs) + sizeof(*ch->buf_caps));
    for (size_t i = 0; i < k->n_sbufs; i++) {
        ch->bufs[i] = k->sbufs[i];
        ch->buf_caps[i] = k->sbuf_caps[i];
        bytes += k->sbuf_caps[i];
    }
    ch->n_bufs = k->n_sbufs;
    k->n_sbufs = 0;
    kwi_cons_chunk_charge(ch, bytes);
    if (ch->n_hdrs) {
        size_t h = 0;
        for (size_t i = 0; i < ch->n; i++) {
            kw_consumer_msg *m = &ch->msgs[i];
            m->headers = m->n_headers ? &ch->hdrs[h] : NULL;
            h += (size_t)m->n_headers;
        }
    }
    ch->end_pos = tp->fetch_pos;
    ch->end_epoch = tp->fetch_epoch;
    return true;
}

/* A chunk for the records of `len` bytes copied into a cached block; NULL on out of memory. */
static kwi_cchunk *
start_chunk(kw_consumer *k, kwi_ctp *tp, const kw_fetch_resp_partition *rp)
{
    size_t len = (size_t)rp->records.len;
    kwi_cchunk *ch = kwi_cons_chunk_new(k, tp, 0, 0, 0, 0);
    if (!ch)
        return NULL;
    ch->data = kwi_cons_block_get(k, len, &ch->data_cap);
    if (!ch->data) {
        kwi_cons_chunk_unref(ch);
        return NULL;
    }
    memcpy(ch->data, rp->records.ptr, len);
    /* The array at its final size in one go for the common case; never more than the budget
     * from counts off the wire. */
    size_t n = count_records(ch->data, len);
    if (n > k->budget / sizeof(kw_consumer_msg))
        n = k->budget / sizeof(kw_consumer_msg);
    if (n > 0) {
        ch->msgs = kwi_cons_block_get(k, n * sizeof(kw_consumer_msg), &ch->msgs_cap);
        if (!ch->msgs) {
            kwi_cons_chunk_unref(ch);
            return NULL;
        }
    }
    return ch;
}

kwi_cchunk *
kwi_parse_partition(kw_consumer *k, kwi_ctp *tp, const kw_fetch_resp_partition *rp, kw_err *bad,
                    kw_error *detail)
{
    *bad = KW_ERR_OK;
    if (rp->records.len <= 0)
        return NULL;
    size_t len = (size_t)rp->records.len;
    txn_filter f;
    kwi_cchunk *ch = txn_init(k, &f, rp) ? start_chunk(k, tp, rp) : NULL;
    if (!ch) {
        txn_fini(k, &f, rp);
        *bad = kw_error_set(detail, KW_ERR_NOMEM, "out of memory");
        return NULL;
    }
    k->st.bytes += len;
    k->n_sbufs = 0;
    int64_t start = tp->fetch_pos;
    int32_t start_epoch = tp->fetch_epoch;
    kw_batch_iter bi;
    kw_batch_iter_init(&bi, (kw_slice){ch->data, (int32_t)len});
    kw_batch b;
    kw_err e = KW_ERR_OK;
    size_t held = ch->data_cap;
    while (e == KW_ERR_OK && kw_batch_iter_next(&bi, &b)) {
        int64_t last = kw_batch_last_offset(&b);
        if (last < tp->fetch_pos)
            continue;
        if (txn_skip(&f, &b)) {
            k->st.aborted += b.record_count > 0 ? (uint64_t)b.record_count : 0;
        } else if (!kw_batch_is_control(&b)) {
            e = read_batch(k, tp, ch, &b, held + ch->msgs_cap + ch->hdrs_cap, detail);
            if (e != KW_ERR_OK)
                break; /* the position stays at this batch */
            held += k->n_sbufs ? k->sbuf_caps[k->n_sbufs - 1] : 0;
        }
        tp->fetch_pos = last + 1;
        if (b.magic >= 2)
            tp->fetch_epoch = b.partition_leader_epoch;
    }
    if (e == KW_ERR_OK && (e = kw_batch_iter_err(&bi)) != KW_ERR_OK)
        kw_error_set(detail, e, "%s [%d]: corrupt record batch after offset %lld: %s", tp->topic,
                     (int)tp->partition, (long long)tp->fetch_pos, kw_err_str(e));
    txn_fini(k, &f, rp);
    if (e == KW_ERR_AGAIN && ch->n > 0)
        e = KW_ERR_OK; /* the rest comes with the next fetch */
    bool keep = ch->n > 0 && e != KW_ERR_NOMEM && finish_chunk(k, tp, ch);
    if (!keep) {
        bool had = ch->n > 0;
        drop_bufs(k);
        kwi_cons_chunk_unref(ch);
        ch = NULL;
        if (had || e == KW_ERR_NOMEM) {
            /* Out of memory: nothing of this response is kept; fetch it again later. */
            tp->fetch_pos = start;
            tp->fetch_epoch = start_epoch;
            e = kw_error_set(detail, KW_ERR_NOMEM, "out of memory buffering fetched records");
        }
    }
    *bad = e;
    return ch;
}
