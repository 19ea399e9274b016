/* The producer state of a partition: idempotent sequence checks, duplicate detection, open
 * transactions and their markers, the last stable offset and the aborted-transaction index.
 *
 * The checks are Kafka's ProducerAppendInfo, in its order, for batches from clients:
 *   1. A duplicate of one of the producer's last five batches (same epoch, same first and last
 *      sequence) is answered with the offsets it got the first time, and nothing is appended.
 *   2. An epoch below the producer's current one: INVALID_PRODUCER_EPOCH (Kafka answers
 *      Produce with it since 2.7, rather than PRODUCER_FENCED).
 *   3. A new epoch must start at sequence 0, unless the partition knows no epoch for the
 *      producer; within an epoch the first sequence must follow the last one (INT32_MAX wraps
 *      to 0). Otherwise OUT_OF_ORDER_SEQUENCE_NUMBER.
 *   4. A non-transactional batch while the producer's transaction is open: INVALID_TXN_STATE.
 * A producer the partition does not know (never seen, or expired after
 * producer_id_expiration_ms without writes and with no open transaction) may start at any
 * sequence. That is what Kafka does since KIP-360 (2.5): it keeps producer state when
 * retention or DeleteRecords removes the producer's batches, and accepts any sequence from a
 * producer it has no state for. Brokers before that answered UNKNOWN_PRODUCER_ID to a non-zero
 * sequence from a producer whose batches were all deleted; kwire-mock emulates current brokers
 * and never returns it.
 *
 * Transactional batches are first verified with the transaction coordinator (txn_api.c,
 * KIP-890), then checked as above; the first one of a transaction on the partition opens it
 * there, which holds the last stable offset at its offset until the COMMIT or ABORT marker is
 * written (kwi_mock_idem_marker). Aborted transactions are indexed (producer id, first offset,
 * marker offset) for read_committed Fetches, which get those overlapping what they read. */
#include <string.h>

#include "txn_int.h"

static int16_t
fail(kwi_mock_append_res *res, int16_t ec, const char *msg)
{
    res->msg = msg;
    return ec;
}

/* The sequence of the record `inc` after `seq`, wrapping at INT32_MAX to 0
 * (DefaultRecordBatch.incrementSequence). */
static int32_t
seq_add(int32_t seq, int32_t inc)
{
    if (seq > INT32_MAX - inc)
        return inc - (INT32_MAX - seq) - 1;
    return seq + inc;
}

static bool
in_sequence(int32_t last, int32_t next)
{
    return (int64_t)next == (int64_t)last + 1 || (next == 0 && last == INT32_MAX);
}

/* ---------------------------------------------------------------- the table */

static kwi_mock_pstate *
pstate_get(kw_mock *m, kwi_mock_part *p)
{
    if (p->pstate)
        return p->pstate;
    kwi_mock_pstate *ps = m->a->alloc(m->a->ud, sizeof(*ps));
    if (ps)
        memset(ps, 0, sizeof(*ps));
    p->pstate = ps;
    return ps;
}

void
kwi_mock_pstate_free(kw_mock *m, kwi_mock_part *p)
{
    kwi_mock_pstate *ps = p->pstate;
    if (!ps)
        return;
    if (ps->e)
        m->a->free(m->a->ud, ps->e, ps->cap * sizeof(*ps->e));
    if (ps->ab)
        m->a->free(m->a->ud, ps->ab, ps->ab_cap * sizeof(*ps->ab));
    m->a->free(m->a->ud, ps, sizeof(*ps));
    p->pstate = NULL;
}

/* Index of pid, or of where it would be inserted. */
static size_t
entry_pos(const kwi_mock_pstate *ps, int64_t pid)
{
    size_t lo = 0, hi = ps->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ps->e[mid].pid < pid)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static kwi_mock_pentry *
entry_find(kwi_mock_pstate *ps, int64_t pid)
{
    if (!ps)
        return NULL;
    size_t i = entry_pos(ps, pid);
    return i < ps->n && ps->e[i].pid == pid ? &ps->e[i] : NULL;
}

static kw_err
entries_reserve(kw_mock *m, kwi_mock_pstate *ps, size_t more)
{
    if (ps->cap - ps->n >= more)
        return KW_ERR_OK;
    size_t ncap = ps->cap ? ps->cap : 4;
    while (ncap - ps->n < more)
        ncap *= 2;
    kwi_mock_pentry *ne = m->a->alloc(m->a->ud, ncap * sizeof(*ne));
    if (!ne)
        return KW_ERR_NOMEM;
    if (ps->n)
        memcpy(ne, ps->e, ps->n * sizeof(*ne));
    if (ps->e)
        m->a->free(m->a->ud, ps->e, ps->cap * sizeof(*ps->e));
    ps->e = ne;
    ps->cap = ncap;
    return KW_ERR_OK;
}

/* Replaces or inserts `v` (room reserved), keeping n_open right. */
static void
entry_put(kwi_mock_pstate *ps, const kwi_mock_pentry *v)
{
    size_t i = entry_pos(ps, v->pid);
    if (i < ps->n && ps->e[i].pid == v->pid) {
        ps->n_open -= ps->e[i].txn_first >= 0;
    } else {
        memmove(&ps->e[i + 1], &ps->e[i], (ps->n - i) * sizeof(*ps->e));
        ps->n++;
    }
    ps->e[i] = *v;
    ps->n_open += v->txn_first >= 0;
}

static bool
expired(const kw_mock *m, const kwi_mock_pentry *e)
{
    return e->txn_first < 0 && m->conf.producer_id_expiration_ms >= 0 &&
           kwi_mock_now_ms(m) - e->last_ms >= m->conf.producer_id_expiration_ms;
}

/* Drops the producers that expired (Kafka removes them every
 * producer.id.expiration.check.interval.ms; here whenever a new producer arrives). */
static void
sweep(kw_mock *m, kwi_mock_pstate *ps)
{
    size_t k = 0;
    for (size_t i = 0; i < ps->n; i++)
        if (!expired(m, &ps->e[i]))
            ps->e[k++] = ps->e[i];
    ps->n = k;
}

/* The producer's committed state, NULL if the partition has none (or it expired). */
static const kwi_mock_pentry *
lookup(kw_mock *m, kwi_mock_part *p, int64_t pid)
{
    kwi_mock_pentry *e = entry_find(p->pstate, pid);
    return e && !expired(m, e) ? e : NULL;
}

int64_t
kwi_mock_pstate_first_open(const kwi_mock_part *p)
{
    const kwi_mock_pstate *ps = p->pstate;
    if (!ps || ps->n_open == 0)
        return -1;
    int64_t first = -1;
    for (size_t i = 0; i < ps->n; i++) {
        int64_t f = ps->e[i].txn_first;
        if (f >= 0 && (first < 0 || f < first))
            first = f;
    }
    /* Retention or DeleteRecords may have removed the transaction's first batches. */
    return first >= 0 && first < p->log.log_start ? p->log.log_start : first;
}

/* ---------------------------------------------------------------- appends */

static void
add_batch(kwi_mock_pentry *e, int16_t epoch, int32_t first_seq, int32_t last_seq, int64_t first_off,
          int64_t last_off)
{
    if (e->epoch != epoch) {
        /* A new epoch starts a new sequence: the old batches can no longer be duplicates. */
        e->epoch = epoch;
        e->n_b = 0;
    }
    if (e->n_b == KWI_IDEM_BATCHES) {
        memmove(&e->b[0], &e->b[1], (KWI_IDEM_BATCHES - 1) * sizeof(e->b[0]));
        e->n_b--;
    }
    e->b[e->n_b++] = (kwi_mock_pbatch){first_seq, last_seq, first_off, last_off};
}

/* The plan's copy of the producer's state, made on first use. NULL when out of memory. */
static kwi_mock_pentry *
plan_entry(kw_mock *m, kwi_mock_idem_plan *plan, int64_t pid, const kwi_mock_pentry *cur)
{
    for (size_t i = 0; i < plan->n; i++)
        if (plan->upd[i].pid == pid)
            return &plan->upd[i];
    if (plan->n == plan->cap) {
        size_t ncap = plan->cap ? plan->cap * 2 : 2;
        kwi_mock_pentry *nu = m->a->alloc(m->a->ud, ncap * sizeof(*nu));
        if (!nu)
            return NULL;
        if (plan->n)
            memcpy(nu, plan->upd, plan->n * sizeof(*nu));
        if (plan->upd)
            m->a->free(m->a->ud, plan->upd, plan->cap * sizeof(*plan->upd));
        plan->upd = nu;
        plan->cap = ncap;
    }
    kwi_mock_pentry *e = &plan->upd[plan->n++];
    if (cur) {
        *e = *cur;
    } else {
        memset(e, 0, sizeof(*e));
        e->pid = pid;
        e->epoch = -1;
        e->coord_epoch = -1;
        e->txn_first = -1;
    }
    return e;
}

void
kwi_mock_idem_plan_fini(kw_mock *m, kwi_mock_idem_plan *plan)
{
    if (plan->upd)
        m->a->free(m->a->ud, plan->upd, plan->cap * sizeof(*plan->upd));
    plan->upd = NULL;
    plan->n = plan->cap = 0;
}

/* Steps 2 and 3 of the header comment. `cur` is the committed state (NULL: unknown producer),
 * `upd` the state including the earlier batches of this append. */
static int16_t
check_sequence(const kwi_mock_pentry *cur, const kwi_mock_pentry *upd, const kw_batch *b,
               const char **msg)
{
    if (b->producer_epoch < upd->epoch) {
        *msg = "the producer epoch is older than the partition's (fenced producer)";
        return KWI_TXE_INVALID_PRODUCER_EPOCH;
    }
    if (b->producer_epoch != upd->epoch) {
        if (b->base_sequence != 0 && upd->epoch != -1) {
            *msg = "a new producer epoch must start at sequence 0";
            return KWI_TXE_OUT_OF_ORDER_SEQUENCE_NUMBER;
        }
        return KWI_E_NONE;
    }
    int32_t last = upd->n_b ? upd->b[upd->n_b - 1].last_seq : -1;
    /* Kafka accepts any sequence while the partition has no epoch for the producer. */
    if ((cur ? cur->epoch : -1) != -1 && !in_sequence(last, b->base_sequence)) {
        *msg = "the base sequence does not follow the producer's last sequence";
        return KWI_TXE_OUT_OF_ORDER_SEQUENCE_NUMBER;
    }
    return KWI_E_NONE;
}

static const kwi_mock_pbatch *
find_duplicate(const kwi_mock_pentry *cur, const kw_batch *b, int32_t last_seq)
{
    if (!cur || cur->epoch != b->producer_epoch)
        return NULL;
    for (int32_t i = 0; i < cur->n_b; i++)
        if (cur->b[i].first_seq == b->base_sequence && cur->b[i].last_seq == last_seq)
            return &cur->b[i];
    return NULL;
}

/* One batch with a producer id: returns NONE, an error (with *msg), -1 out of memory, or
 * 1 for a duplicate (res->base_offset set). */
static int
check_batch(kw_mock *m, kwi_mock_part *p, kw_slice txn_id, int16_t ver, const kw_batch *b,
            int64_t first, kwi_mock_idem_plan *plan, kwi_mock_append_res *res)
{
    bool txnl = kw_batch_is_transactional(b);
    if (txnl) {
        /* KafkaApis refuses transactional records without a TransactionalId to authorize. */
        if (txn_id.len < 0)
            return fail(res, KWI_TXE_TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                        "transactional records need the request's TransactionalId");
        int16_t ec =
            kwi_txn_verify_produce(m, txn_id, b->producer_id, b->producer_epoch, p, ver, &res->msg);
        if (ec)
            return ec;
    }
    const kwi_mock_pentry *cur = lookup(m, p, b->producer_id);
    int32_t last_seq = seq_add(b->base_sequence, b->last_offset_delta);
    const kwi_mock_pbatch *dup = find_duplicate(cur, b, last_seq);
    if (dup) {
        res->base_offset = dup->first_off;
        return 1;
    }
    kwi_mock_pentry *upd = plan_entry(m, plan, b->producer_id, cur);
    if (!upd)
        return -1;
    int16_t ec = check_sequence(cur, upd, b, &res->msg);
    if (ec)
        return ec;
    if (upd->txn_first >= 0 && !txnl)
        return fail(res, KWI_TXE_INVALID_TXN_STATE,
                    "a non-transactional batch from a producer with an open transaction");
    int64_t last = first + b->last_offset_delta;
    add_batch(upd, b->producer_epoch, b->base_sequence, last_seq, first, last);
    if (txnl && upd->txn_first < 0)
        upd->txn_first = first;
    upd->last_ms = kwi_mock_now_ms(m);
    return KWI_E_NONE;
}

int16_t
kwi_mock_idem_check(kw_mock *m, kwi_mock_part *p, kw_slice txn_id, kw_slice records, int16_t ver,
                    kwi_mock_idem_plan *plan, kwi_mock_append_res *res)
{
    memset(plan, 0, sizeof(*plan));
    int64_t next = p->log.hw; /* the offsets the batches will get */
    kw_batch_iter it;
    kw_batch b;
    kw_batch_iter_init(&it, records);
    while (kw_batch_iter_next(&it, &b)) {
        int64_t first = next;
        next += (int64_t)b.last_offset_delta + 1;
        if (b.producer_id < 0) {
            if (kw_batch_is_transactional(&b)) {
                kwi_mock_idem_plan_fini(m, plan);
                return fail(res, KWI_E_INVALID_RECORD, "a transactional batch needs a producer id");
            }
            continue;
        }
        int rc = check_batch(m, p, txn_id, ver, &b, first, plan, res);
        if (rc == 1) {
            /* Kafka answers with the stored batch's offsets and appends none of the request. */
            kwi_mock_idem_plan_fini(m, plan);
            plan->duplicate = true;
            return KWI_E_NONE;
        }
        if (rc) {
            kwi_mock_idem_plan_fini(m, plan);
            return (int16_t)rc;
        }
    }
    if (plan->n == 0)
        return KWI_E_NONE;
    /* Reserve the table now so that the commit after the log append cannot fail. */
    kwi_mock_pstate *ps = pstate_get(m, p);
    if (ps && plan->n > ps->cap - ps->n)
        sweep(m, ps);
    if (!ps || entries_reserve(m, ps, plan->n)) {
        kwi_mock_idem_plan_fini(m, plan);
        return -1;
    }
    return KWI_E_NONE;
}

void
kwi_mock_idem_commit(kw_mock *m, kwi_mock_part *p, kwi_mock_idem_plan *plan)
{
    for (size_t i = 0; i < plan->n; i++)
        entry_put(p->pstate, &plan->upd[i]);
    kwi_mock_idem_plan_fini(m, plan);
}

/* ---------------------------------------------------------------- markers */

/* Aborted transactions below the log start can no longer be read. */
static void
prune_aborted(kwi_mock_pstate *ps, int64_t log_start)
{
    size_t k = 0;
    while (k < ps->n_ab && ps->ab[k].last < log_start)
        k++;
    if (k) {
        memmove(ps->ab, ps->ab + k, (ps->n_ab - k) * sizeof(*ps->ab));
        ps->n_ab -= k;
    }
}

static kw_err
aborted_reserve(kw_mock *m, kwi_mock_pstate *ps)
{
    if (ps->n_ab < ps->ab_cap)
        return KW_ERR_OK;
    size_t ncap = ps->ab_cap ? ps->ab_cap * 2 : 8;
    kwi_mock_aborted *na = m->a->alloc(m->a->ud, ncap * sizeof(*na));
    if (!na)
        return KW_ERR_NOMEM;
    if (ps->n_ab)
        memcpy(na, ps->ab, ps->n_ab * sizeof(*na));
    if (ps->ab)
        m->a->free(m->a->ud, ps->ab, ps->ab_cap * sizeof(*ps->ab));
    ps->ab = na;
    ps->ab_cap = ncap;
    return KW_ERR_OK;
}

/* Appends the control batch; *off receives its offset. */
static kw_err
append_marker(kw_mock *m, kwi_mock_part *p, int64_t pid, int16_t epoch, bool commit,
              int32_t coord_epoch, int64_t *off)
{
    uint8_t buf[256];
    kw_wr w;
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    o.producer_id = pid;
    o.producer_epoch = epoch;
    int64_t now = kwi_mock_wall_ms(m);
    kw_err e = kw_control_batch_encode(&w, &o, now, commit ? KW_CONTROL_COMMIT : KW_CONTROL_ABORT,
                                       coord_epoch);
    if (e)
        return e;
    kw_batch_iter it;
    kw_batch b;
    kw_batch_iter_init(&it, (kw_slice){buf, (int32_t)kw_wr_len(&w)});
    if (!kw_batch_iter_next(&it, &b))
        return KW_ERR_MALFORMED; /* the builder's own output: cannot happen */
    return kwi_mock_log_append(&p->log, &b, p->leader_epoch, p->topic->log_append_time ? now : -1,
                               off);
}

kw_err
kwi_mock_idem_marker(kw_mock *m, kwi_mock_part *p, int64_t pid, int16_t epoch, bool commit,
                     int32_t coord_epoch)
{
    kwi_mock_pstate *ps = pstate_get(m, p);
    if (!ps || entries_reserve(m, ps, 1) || aborted_reserve(m, ps))
        return KW_ERR_NOMEM;
    int64_t off;
    kw_err e = append_marker(m, p, pid, epoch, commit, coord_epoch, &off);
    if (e)
        return e;
    kwi_mock_pentry v, *cur = entry_find(ps, pid);
    if (cur) {
        v = *cur;
    } else {
        memset(&v, 0, sizeof(v));
        v.pid = pid;
        v.epoch = -1;
        v.txn_first = -1;
    }
    if (v.txn_first >= 0 && !commit)
        ps->ab[ps->n_ab++] = (kwi_mock_aborted){pid, v.txn_first, off};
    v.txn_first = -1;
    if (v.epoch != epoch) {
        v.epoch = epoch;
        v.n_b = 0;
    }
    v.coord_epoch = coord_epoch;
    v.last_ms = kwi_mock_now_ms(m);
    entry_put(ps, &v);
    kwi_mock_log_retain(&p->log, p->topic->retention_bytes);
    prune_aborted(ps, p->log.log_start);
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- read_committed fetches */

/* The offset after the records a Fetch returns: the base of the first stored batch that starts
 * at or after the end of the slice (Kafka's fetchUpperBoundOffset), or the high watermark. */
static int64_t
fetch_upper(const kwi_mock_log *l, int64_t fetch_offset, int32_t len)
{
    size_t i = kwi_mock_log_find(l, fetch_offset);
    if (i >= l->n)
        return l->hw;
    uint64_t end = kwi_mock_log_batch(l, i)->pos + (uint64_t)len;
    while (i < l->n && kwi_mock_log_batch(l, i)->pos < end)
        i++;
    return i < l->n ? kwi_mock_log_batch(l, i)->base : l->hw;
}

void
kwi_mock_fetch_aborted(kwi_mock_req *req, const kwi_mock_part *p, int64_t fetch_offset,
                       kw_fetch_resp_partition *out)
{
    out->aborted_transactions = NULL;
    out->n_aborted_transactions = 0;
    const kwi_mock_pstate *ps = p->pstate;
    if (!ps || ps->n_ab == 0 || out->records.len <= 0)
        return;
    int64_t upper = fetch_upper(&p->log, fetch_offset, out->records.len);
    /* Kafka's collectAbortedTransactions: every aborted transaction whose range overlaps
     * [fetch_offset, upper). */
    int32_t n = 0;
    for (size_t i = 0; i < ps->n_ab; i++)
        n += ps->ab[i].last >= fetch_offset && ps->ab[i].first < upper;
    if (n == 0)
        return;
    kw_fetch_aborted_txn *a = kwi_mock_req_alloc(req, (size_t)n, sizeof(*a));
    if (!a) {
        out->error_code = KWI_E_UNKNOWN_SERVER;
        out->records = KW_SLICE_NULL;
        out->n_aborted_transactions = -1;
        return;
    }
    int32_t k = 0;
    for (size_t i = 0; i < ps->n_ab; i++) {
        if (ps->ab[i].last >= fetch_offset && ps->ab[i].first < upper) {
            a[k].producer_id = ps->ab[i].pid;
            a[k].first_offset = ps->ab[i].first;
            k++;
        }
    }
    out->aborted_transactions = a;
    out->n_aborted_transactions = n;
}
