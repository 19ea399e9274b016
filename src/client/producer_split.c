/* Splitting a batch the broker refused as too large (MESSAGE_TOO_LARGE): its topic's
 * max.message.bytes (or the broker's message.max.bytes) is below the batch, which happens when
 * batch.size is set above it. As Java's ProducerBatch.split does, the records are moved into
 * smaller batches that take the refused batch's place in its partition's queue, and are sent
 * again. A batch of one record cannot be split; it fails.
 *
 * The records are read back from the batch's uncompressed records area (never from the
 * compressed form), and borrowed values (kw_producer_send_zc) move to the new batches without
 * a copy, with their free functions, so they are still freed after their delivery reports.
 * The new batches sit where the old one was in creation order: every batch owns a range of
 * order numbers and its pieces divide it. */
#include <string.h>

#include "client/producer_int.h"

/* One piece under construction. */
typedef struct piece_set {
    kwi_pbatch *v[64];
    int32_t n;
} piece_set;

static kwi_pbatch *
new_piece(kw_producer *p, const kwi_pbatch *b, piece_set *s)
{
    if (s->n == (int32_t)(sizeof(s->v) / sizeof(s->v[0])))
        return NULL;
    kwi_pbatch *x = kwi_acc_batch_new(p, b->tp);
    if (!x)
        return NULL;
    x->created_ms = b->created_ms; /* delivery.timeout.ms still counts from the first try */
    x->last = b->last;
    s->v[s->n++] = x;
    return x;
}

/* Reads record i of b (its value possibly borrowed, ref *ri) and appends it to `to`. */
static kw_err
move_record(kw_producer *p, const kwi_pbatch *b, kw_rd *r, int32_t *ri, int32_t i, kwi_pbatch *to,
            kw_header **hdrs, int32_t *cap)
{
    kw_rd_i8(r); /* attributes (the length was read by the caller) */
    int64_t ts = (int64_t)((uint64_t)b->base_ts + (uint64_t)kw_rd_varlong(r));
    kw_rd_varint(r); /* offset delta */
    int32_t kl = kw_rd_varint(r);
    const uint8_t *kp = kl > 0 ? kw_rd_raw(r, (size_t)kl) : NULL;
    int32_t vl = kw_rd_varint(r);
    kw_slice value;
    const kwi_pref *ref = NULL;
    if (*ri < b->n_refs && b->refs[*ri].pos == kw_rd_pos(r)) {
        ref = &b->refs[(*ri)++];
        value = (kw_slice){ref->ptr, vl};
    } else {
        value = (kw_slice){vl > 0 ? kw_rd_raw(r, (size_t)vl) : NULL, vl};
    }
    int32_t nh = kw_rd_varint(r);
    if (nh > *cap) {
        kw_header *nv = kwi_prod_alloc(p, (size_t)nh * sizeof(*nv));
        if (!nv)
            return KW_ERR_NOMEM;
        kwi_prod_free_mem(p, *hdrs, (size_t)*cap * sizeof(**hdrs));
        *hdrs = nv;
        *cap = nh;
    }
    for (int32_t h = 0; h < nh && kw_rd_finish(r) == KW_ERR_OK; h++) {
        int32_t hk = kw_rd_varint(r);
        (*hdrs)[h].key = (kw_slice){hk > 0 ? kw_rd_raw(r, (size_t)hk) : NULL, hk};
        int32_t hv = kw_rd_varint(r);
        (*hdrs)[h].value = (kw_slice){hv > 0 ? kw_rd_raw(r, (size_t)hv) : NULL, hv};
    }
    if (kw_rd_finish(r) != KW_ERR_OK)
        return KW_ERR_MALFORMED; /* our own encoding: cannot happen */
    kw_err e = kwi_batch_add(to, p->a, ts, (kw_slice){kp, kl}, value, ref != NULL,
                             nh ? *hdrs : NULL, nh, 0);
    if (e != KW_ERR_OK)
        return e;
    to->msgs[to->n - 1] = b->msgs[i];
    if (ref) {
        to->refs[to->n_refs - 1].fn = ref->fn;
        to->refs[to->n_refs - 1].ud = ref->ud;
    }
    return KW_ERR_OK;
}

/* Frees pieces after a failed split: their borrowed values stay with the original batch. */
static void
drop_pieces(kw_producer *p, piece_set *s)
{
    for (int32_t i = 0; i < s->n; i++) {
        s->v[i]->n_refs = 0;
        kwi_acc_batch_free(p, s->v[i]);
    }
    s->n = 0;
}

bool
kwi_split_batch(kw_producer *p, kwi_pbatch *b)
{
    if (b->n < 2 || b->span < 2)
        return false;
    /* Pieces of at most half the refused batch, and of batch.size at most. */
    size_t total = kw_wr_len(&b->rec) + b->ref_bytes, target = total / 2;
    if (target > (size_t)p->batch_size && p->batch_size > 0)
        target = (size_t)p->batch_size;
    if (target < total / 48 + 1)
        target = total / 48 + 1; /* at most ~50 pieces (piece_set holds 64) */
    piece_set s;
    s.n = 0;
    kw_header *hdrs = NULL;
    int32_t cap = 0, ri = 0;
    kw_rd r;
    kw_rd_init(&r, b->rec.base, kw_wr_len(&b->rec));
    kwi_pbatch *cur = NULL;
    kw_err e = KW_ERR_OK;
    for (int32_t i = 0; i < b->n && e == KW_ERR_OK; i++) {
        /* A record goes into a new piece when it would take the current one past the target
         * (the record's length prefix counts the borrowed value too). */
        size_t rsize = (size_t)kw_rd_varint(&r);
        if (!cur || (cur->n > 0 && kw_wr_len(&cur->rec) + cur->ref_bytes + rsize > target))
            cur = new_piece(p, b, &s);
        e = cur ? move_record(p, b, &r, &ri, i, cur, &hdrs, &cap) : KW_ERR_NOMEM;
    }
    kwi_prod_free_mem(p, hdrs, (size_t)cap * sizeof(*hdrs));
    if (e != KW_ERR_OK || s.n < 2 || b->span / (uint64_t)s.n == 0) {
        drop_pieces(p, &s);
        return false;
    }
    /* The pieces take the old batch's place: its order range, its memory charge. */
    uint64_t step = b->span / (uint64_t)s.n;
    size_t mem_left = b->mem;
    for (int32_t j = 0; j < s.n; j++) {
        kwi_pbatch *x = s.v[j];
        x->order = b->order + (uint64_t)j * step;
        x->span = step;
        x->mem = j == s.n - 1 ? mem_left : b->mem / (size_t)b->n * (size_t)x->n;
        mem_left -= x->mem;
        x->full = true;
        kwi_acc_requeue(p, x);
    }
    if (b->base_seq >= 0)
        kwi_idem_on_local_fail(p, b); /* its sequence numbers are not used: a gap */
    b->n_refs = 0;                    /* moved */
    b->mem = 0;
    kwi_acc_batch_free(p, b);
    return true;
}
