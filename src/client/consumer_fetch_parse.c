/* One partition of a Fetch response into a chunk of messages.
 *
 * The records bytes are copied once out of the connection's receive buffer (which the
 * connection reuses after the callback) into the chunk; uncompressed records then point into
 * that copy, and each compressed batch is decompressed once into an area the chunk owns. The
 * kw_consumer_msg array is built in scratch vectors kept by the consumer across responses,
 * then copied into the chunk at its final size.
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

/* Grows a scratch vector so `need` elements fit. */
static bool
grow(kw_consumer *k, void **arr, size_t *cap, size_t elem, size_t need)
{
    if (need <= *cap)
        return true;
    size_t nc = *cap ? *cap : 64;
    while (nc < need)
        nc *= 2;
    void *p = kwi_cons_alloc(k, nc * elem);
    if (!p)
        return false;
    if (*arr && *cap)
        memcpy(p, *arr, *cap * elem);
    kwi_cons_free_mem(k, *arr, *cap * elem);
    *arr = p;
    *cap = nc;
    return true;
}

void
kwi_parse_fini(kw_consumer *k)
{
    kwi_cons_free_mem(k, k->smsgs, k->cap_smsgs * sizeof(*k->smsgs));
    kwi_cons_free_mem(k, k->shdrs, k->cap_shdrs * sizeof(*k->shdrs));
    for (size_t i = 0; i < k->n_sbufs; i++)
        kwi_cons_free_mem(k, k->sbufs[i], k->sbuf_caps[i]);
    kwi_cons_free_mem(k, k->sbufs, k->cap_sbufs * sizeof(*k->sbufs));
    kwi_cons_free_mem(k, k->sbuf_caps, k->cap_sbufs * sizeof(*k->sbuf_caps));
    k->smsgs = NULL;
    k->shdrs = NULL;
    k->sbufs = NULL;
    k->sbuf_caps = NULL;
    k->cap_smsgs = k->cap_shdrs = k->cap_sbufs = k->n_sbufs = 0;
    kw_codec_ctx_free(k->zctx);
    k->zctx = NULL;
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

/* Appends one record to the scratch vectors. */
static kw_err
add_record(kw_consumer *k, const kw_batch *b, const kw_record *rec)
{
    if (!grow(k, (void **)&k->smsgs, &k->cap_smsgs, sizeof(*k->smsgs), k->n_smsgs + 1) ||
        !grow(k, (void **)&k->shdrs, &k->cap_shdrs, sizeof(*k->shdrs),
              k->n_shdrs + (size_t)rec->n_headers))
        return KW_ERR_NOMEM;
    kw_consumer_msg *m = &k->smsgs[k->n_smsgs++];
    memset(m, 0, sizeof(*m));
    m->offset = rec->offset;
    if (b->magic == 0) {
        m->timestamp = -1;
        m->timestamp_type = KW_TIMESTAMP_NONE;
    } else if (kw_batch_log_append_time(b)) {
        /* v2: the broker's time is the batch's max timestamp, not the producer's deltas. */
        m->timestamp = b->magic >= 2 ? b->max_timestamp : rec->timestamp;
        m->timestamp_type = KW_TIMESTAMP_LOG_APPEND_TIME;
    } else {
        m->timestamp = rec->timestamp;
        m->timestamp_type = KW_TIMESTAMP_CREATE_TIME;
    }
    m->leader_epoch = b->magic >= 2 ? b->partition_leader_epoch : -1;
    m->key = rec->key;
    m->value = rec->value;
    m->n_headers = rec->n_headers;
    kw_header_iter hi;
    kw_header_iter_init(&hi, rec);
    kw_header h;
    while (kw_header_iter_next(&hi, &h))
        k->shdrs[k->n_shdrs++] = h;
    m->errstr = "";
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

/* The records of one batch at or above the fetch position. */
static kw_err
read_batch(kw_consumer *k, kwi_ctp *tp, const kw_batch *b, kw_error *detail)
{
    kw_wr w;
    bool compressed = kw_batch_codec(b) != 0;
    /* A decompressed area is bounded by the budget (and at least 16 MiB): a batch that
     * inflates past it is a bomb, not data. */
    size_t max_out = k->budget > ((size_t)16 << 20) ? k->budget : (size_t)16 << 20;
    if (compressed) {
        kw_wr_init_dyn(&w, k->a, max_out);
        /* Library contexts are kept across batches (a fresh zstd or lz4 context per batch
         * costs more than decompressing a small one); without one, each batch makes its own. */
        if (!k->zctx && kw_codec_ctx_new(k->a, &k->zctx) != KW_ERR_OK)
            k->zctx = NULL;
    }
    kw_record_iter ri;
    kw_record_iter_init_ctx(&ri, b, compressed ? &w : NULL, max_out, k->zctx);
    kw_record rec;
    size_t before = k->n_smsgs;
    kw_err e = KW_ERR_OK;
    while (e == KW_ERR_OK && kw_record_iter_next(&ri, &rec))
        if (rec.offset >= tp->fetch_pos)
            e = add_record(k, b, &rec);
    if (e == KW_ERR_OK && (e = kw_record_iter_err(&ri)) != KW_ERR_OK)
        kw_error_set(detail, e, "%s [%d]: the batch at offset %lld is unreadable: %s", tp->topic,
                     (int)tp->partition, (long long)b->base_offset, kw_err_str(e));
    if (compressed) {
        if (k->n_smsgs > before && e != KW_ERR_NOMEM && keep_buf(k, &w) == KW_ERR_OK)
            return e; /* the records point into w: the chunk owns it now */
        kw_wr_fini(&w);
        if (k->n_smsgs > before) {
            k->n_smsgs = before; /* cannot keep the area its records point into */
            return KW_ERR_NOMEM;
        }
    }
    return e;
}

/* Builds the chunk from the scratch vectors. NULL on out of memory (scratch dropped). */
static kwi_cchunk *
build_chunk(kw_consumer *k, kwi_ctp *tp, uint8_t *data, size_t data_len)
{
    kwi_cchunk *ch = kwi_cons_chunk_new(k, tp, k->n_smsgs, k->n_shdrs, k->n_sbufs, 0);
    if (!ch)
        return NULL;
    ch->data = data;
    ch->data_len = data_len;
    size_t bytes = data_len;
    for (size_t i = 0; i < k->n_sbufs; i++) {
        ch->bufs[i] = k->sbufs[i];
        ch->buf_caps[i] = k->sbuf_caps[i];
        bytes += k->sbuf_caps[i];
    }
    k->n_sbufs = 0;
    kwi_cons_chunk_charge(ch, bytes);
    memcpy(ch->msgs, k->smsgs, k->n_smsgs * sizeof(*ch->msgs));
    if (k->n_shdrs)
        memcpy(ch->hdrs, k->shdrs, k->n_shdrs * sizeof(*ch->hdrs));
    size_t h = 0;
    for (size_t i = 0; i < ch->n; i++) {
        kw_consumer_msg *m = &ch->msgs[i];
        m->topic = ch->topic;
        m->partition = tp->partition;
        m->headers = m->n_headers ? &ch->hdrs[h] : NULL;
        h += (size_t)m->n_headers;
        m->chunk_ = ch;
    }
    ch->end_pos = tp->fetch_pos;
    ch->end_epoch = tp->fetch_epoch;
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
    uint8_t *data = kwi_cons_alloc(k, len);
    txn_filter f;
    if (!data || !txn_init(k, &f, rp)) {
        kwi_cons_free_mem(k, data, len);
        *bad = kw_error_set(detail, KW_ERR_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(data, rp->records.ptr, len);
    k->st.bytes += len;
    k->n_smsgs = k->n_shdrs = 0;
    int64_t start = tp->fetch_pos;
    int32_t start_epoch = tp->fetch_epoch;
    kw_batch_iter bi;
    kw_batch_iter_init(&bi, (kw_slice){data, (int32_t)len});
    kw_batch b;
    kw_err e = KW_ERR_OK;
    while (e == KW_ERR_OK && kw_batch_iter_next(&bi, &b)) {
        int64_t last = kw_batch_last_offset(&b);
        if (last < tp->fetch_pos)
            continue;
        if (txn_skip(&f, &b)) {
            k->st.aborted += b.record_count > 0 ? (uint64_t)b.record_count : 0;
        } else if (!kw_batch_is_control(&b)) {
            e = read_batch(k, tp, &b, detail);
            if (e != KW_ERR_OK)
                break; /* the position stays at this batch */
        }
        tp->fetch_pos = last + 1;
        if (b.magic >= 2)
            tp->fetch_epoch = b.partition_leader_epoch;
    }
    if (e == KW_ERR_OK && (e = kw_batch_iter_err(&bi)) != KW_ERR_OK)
        kw_error_set(detail, e, "%s [%d]: corrupt record batch after offset %lld: %s", tp->topic,
                     (int)tp->partition, (long long)tp->fetch_pos, kw_err_str(e));
    txn_fini(k, &f, rp);
    kwi_cchunk *ch = NULL;
    if (k->n_smsgs > 0 && e != KW_ERR_NOMEM)
        ch = build_chunk(k, tp, data, len);
    if (!ch) {
        kwi_cons_free_mem(k, data, len);
        drop_bufs(k);
        if (k->n_smsgs > 0 || e == KW_ERR_NOMEM) {
            /* Out of memory: nothing of this response is kept; fetch it again later. */
            tp->fetch_pos = start;
            tp->fetch_epoch = start_epoch;
            e = kw_error_set(detail, KW_ERR_NOMEM, "out of memory buffering fetched records");
        }
    }
    *bad = e;
    return ch;
}
