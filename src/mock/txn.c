/* The transaction coordinator: producer ids, transactional-id state, InitProducerId (22) v0-6,
 * EndTxn (26) v0-5, transaction timeouts and the markers that end a transaction.
 *
 * InitProducerId follows Kafka's TransactionCoordinator.handleInitProducerId:
 *   - no transactional id: a fresh producer id with epoch 0, nothing remembered (idempotence
 *     only);
 *   - otherwise the transactional id's state is created on first use and its epoch bumped on
 *     every call, which fences the previous holder of the id (its requests then get
 *     PRODUCER_FENCED, INVALID_PRODUCER_EPOCH before InitProducerId v4 and the v2 versions of
 *     the other transaction APIs). An epoch at INT16_MAX - 1 or above is exhausted: the next
 *     InitProducerId hands out a new producer id with epoch 0;
 *   - KIP-360 (v3+): a request carrying the producer id and epoch it holds is a recovery, not a
 *     new instance. The epoch it names must be the current or the previous one (a retry of a
 *     bump whose answer was lost), otherwise PRODUCER_FENCED;
 *   - an open transaction is aborted first, with a bumped epoch, and the caller gets
 *     CONCURRENT_TRANSACTIONS and retries; a transaction whose markers are still being written
 *     also gives CONCURRENT_TRANSACTIONS.
 * v6 (KIP-939) asks for two-phase commit, which kwire-mock, like a Kafka broker with the
 * default transaction.two.phase.commit.enable=false, refuses with
 * TRANSACTIONAL_ID_AUTHORIZATION_FAILED.
 *
 * EndTxn follows handleEndTransaction: from ONGOING to PREPARE_COMMIT/ABORT, then markers into
 * every partition of the transaction and the held-back TxnOffsetCommit offsets applied to
 * their groups (commit) or dropped (abort), then COMPLETE_COMMIT/ABORT. A retried EndTxn of a
 * completed transaction with the same outcome succeeds again; the other outcome, or any outcome
 * from EMPTY, is INVALID_TXN_STATE. EndTxn v5 is transaction version 2 (KIP-890 part 2): the
 * epoch is bumped by every transaction (the markers carry the new one) and returned.
 *
 * A transaction still ONGOING transaction_timeout_ms after its first partition was added is
 * aborted by the coordinator with a bumped epoch, which fences the producer (Kafka checks every
 * transaction.abort.timed.out.transaction.cleanup.interval.ms, 10 s by default; here the abort
 * happens at the deadline itself, on the reactor's clock). Transactional ids never expire
 * (transactional.id.expiration.ms). */
#include <string.h>

#include "txn_int.h"

#define INIT_PRODUCER_ID_KEY 22

static kwi_txn_mod *
mod(kw_mock *m)
{
    return m->mod[KWI_MOCK_MOD_TXN];
}

/* ---------------------------------------------------------------- strings and arrays */

static kw_err
str_set(kw_mock *m, kwi_txn_str *d, kw_slice s)
{
    d->s = NULL;
    d->len = s.len < 0 ? -1 : s.len;
    if (s.len < 0)
        return KW_ERR_OK;
    d->s = m->a->alloc(m->a->ud, (size_t)s.len + 1);
    if (!d->s)
        return KW_ERR_NOMEM;
    if (s.len)
        memcpy(d->s, s.ptr, (size_t)s.len);
    d->s[s.len] = '\0';
    return KW_ERR_OK;
}

static void
str_free(kw_mock *m, kwi_txn_str *d)
{
    if (d->s)
        m->a->free(m->a->ud, d->s, (size_t)d->len + 1);
    d->s = NULL;
    d->len = -1;
}

static kw_slice
str_slice(const kwi_txn_str *d)
{
    return d->len < 0 ? KW_SLICE_NULL : (kw_slice){(const uint8_t *)d->s, d->len};
}

bool
kwi_txn_str_eq(const kwi_txn_str *a, kw_slice s)
{
    if (a->len < 0 || s.len < 0)
        return a->len < 0 && s.len < 0;
    return a->len == s.len && (s.len == 0 || memcmp(a->s, s.ptr, (size_t)s.len) == 0);
}

/* Room for one more element in an array of `size`-byte elements. */
static kw_err
grow(kw_mock *m, void **arr, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return KW_ERR_OK;
    size_t ncap = *cap ? *cap * 2 : 4;
    void *na = m->a->alloc(m->a->ud, ncap * size);
    if (!na)
        return KW_ERR_NOMEM;
    if (n)
        memcpy(na, *arr, n * size);
    if (*arr)
        m->a->free(m->a->ud, *arr, *cap * size);
    *arr = na;
    *cap = ncap;
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- the transaction table */

kwi_txn *
kwi_txn_find(kw_mock *m, kw_slice id)
{
    kwi_txn_mod *tm = mod(m);
    for (size_t i = 0; i < tm->n; i++)
        if (kwi_txn_str_eq(&tm->txns[i]->id, id))
            return tm->txns[i];
    return NULL;
}

int64_t
kwi_txn_new_pid(kw_mock *m)
{
    return mod(m)->next_pid++;
}

bool
kwi_txn_is_coordinator(kwi_mock_req *req, int8_t key_type, kw_slice key)
{
    kw_mock *m = req->m;
    if (!m->group_ops.coordinator)
        return true; /* no group module: every broker coordinates every key */
    return m->group_ops.coordinator(m, key_type, key) == req->broker->node_id;
}

bool
kwi_txn_has_partition(const kwi_txn *t, const kw_uuid *topic_id, int32_t partition)
{
    for (size_t i = 0; i < t->n_tps; i++)
        if (t->tps[i].partition == partition &&
            memcmp(&t->tps[i].topic_id, topic_id, sizeof(*topic_id)) == 0)
            return true;
    return false;
}

bool
kwi_txn_has_group(const kwi_txn *t, kw_slice group)
{
    for (size_t i = 0; i < t->n_groups; i++)
        if (kwi_txn_str_eq(&t->groups[i], group))
            return true;
    return false;
}

static void on_timer(kwi_reactor *r, kwi_timer *tm, void *ud);

/* Starts the transaction if it is not ongoing: the timeout counts from its first partition. */
static void
begin(kwi_txn *t)
{
    if (t->state == KWI_TXN_ONGOING)
        return;
    t->state = KWI_TXN_ONGOING;
    t->start_ms = kwi_mock_now_ms(t->m);
    kwi_reactor_timer_start(t->timer, t->timeout_ms);
}

kw_err
kwi_txn_add_partition(kwi_txn *t, const kw_uuid *topic_id, int32_t partition)
{
    if (!kwi_txn_has_partition(t, topic_id, partition)) {
        if (grow(t->m, (void **)&t->tps, t->n_tps, &t->cap_tps, sizeof(*t->tps)))
            return KW_ERR_NOMEM;
        t->tps[t->n_tps++] = (kwi_txn_tp){*topic_id, partition};
    }
    begin(t);
    return KW_ERR_OK;
}

kw_err
kwi_txn_add_group(kwi_txn *t, kw_slice group)
{
    if (!kwi_txn_has_group(t, group)) {
        if (grow(t->m, (void **)&t->groups, t->n_groups, &t->cap_groups, sizeof(*t->groups)) ||
            str_set(t->m, &t->groups[t->n_groups], group))
            return KW_ERR_NOMEM;
        t->n_groups++;
    }
    begin(t);
    return KW_ERR_OK;
}

static void
offset_free(kw_mock *m, kwi_txn_offset *o)
{
    str_free(m, &o->group);
    str_free(m, &o->topic);
    str_free(m, &o->metadata);
}

kw_err
kwi_txn_put_offset(kwi_txn *t, kw_slice group, kw_slice topic, int32_t partition, int64_t offset,
                   int32_t leader_epoch, kw_slice metadata)
{
    kw_mock *m = t->m;
    kwi_txn_offset o = {{NULL, -1}, {NULL, -1}, {NULL, -1}, partition, offset, leader_epoch};
    if (str_set(m, &o.group, group) || str_set(m, &o.topic, topic) ||
        str_set(m, &o.metadata, metadata)) {
        offset_free(m, &o);
        return KW_ERR_NOMEM;
    }
    /* A later commit of the same partition in the same transaction replaces the earlier one. */
    for (size_t i = 0; i < t->n_offs; i++) {
        kwi_txn_offset *x = &t->offs[i];
        if (x->partition == partition && kwi_txn_str_eq(&x->group, group) &&
            kwi_txn_str_eq(&x->topic, topic)) {
            offset_free(m, x);
            *x = o;
            return KW_ERR_OK;
        }
    }
    if (grow(m, (void **)&t->offs, t->n_offs, &t->cap_offs, sizeof(*t->offs))) {
        offset_free(m, &o);
        return KW_ERR_NOMEM;
    }
    t->offs[t->n_offs++] = o;
    return KW_ERR_OK;
}

bool
kwi_mock_txn_offset_pending(kw_mock *m, kw_slice group, kw_slice topic, int32_t partition)
{
    kwi_txn_mod *tm = mod(m);
    for (size_t i = 0; i < tm->n; i++) {
        const kwi_txn *t = tm->txns[i];
        for (size_t k = 0; k < t->n_offs; k++)
            if (t->offs[k].partition == partition && kwi_txn_str_eq(&t->offs[k].group, group) &&
                kwi_txn_str_eq(&t->offs[k].topic, topic))
                return true;
    }
    return false;
}

static kwi_txn *
txn_new(kw_mock *m, kw_slice id)
{
    kwi_txn_mod *tm = mod(m);
    if (grow(m, (void **)&tm->txns, tm->n, &tm->cap, sizeof(*tm->txns)))
        return NULL;
    kwi_txn *t = m->a->alloc(m->a->ud, sizeof(*t));
    if (!t)
        return NULL;
    memset(t, 0, sizeof(*t));
    t->m = m;
    if (str_set(m, &t->id, id) || kwi_reactor_timer_new(m->r, on_timer, t, &t->timer)) {
        str_free(m, &t->id);
        m->a->free(m->a->ud, t, sizeof(*t));
        return NULL;
    }
    t->pid = kwi_txn_new_pid(m);
    t->epoch = -1;
    t->last_pid = -1;
    t->last_epoch = -1;
    t->next_pid = -1;
    t->state = KWI_TXN_EMPTY;
    tm->txns[tm->n++] = t;
    return t;
}

static void
txn_free(kw_mock *m, kwi_txn *t)
{
    kwi_reactor_timer_free(t->timer);
    for (size_t i = 0; i < t->n_groups; i++)
        str_free(m, &t->groups[i]);
    for (size_t i = 0; i < t->n_offs; i++)
        offset_free(m, &t->offs[i]);
    if (t->tps)
        m->a->free(m->a->ud, t->tps, t->cap_tps * sizeof(*t->tps));
    if (t->groups)
        m->a->free(m->a->ud, t->groups, t->cap_groups * sizeof(*t->groups));
    if (t->offs)
        m->a->free(m->a->ud, t->offs, t->cap_offs * sizeof(*t->offs));
    str_free(m, &t->id);
    m->a->free(m->a->ud, t, sizeof(*t));
}

/* ---------------------------------------------------------------- ending a transaction */

/* The offsets of a committed transaction go to their groups (the group module's store). */
static void
apply_offsets(kwi_txn *t)
{
    kw_mock *m = t->m;
    for (size_t i = 0; i < t->n_offs; i++) {
        const kwi_txn_offset *o = &t->offs[i];
        int16_t ec = -1;
        if (m->group_ops.offset_store)
            ec = m->group_ops.offset_store(m, str_slice(&o->group), str_slice(&o->topic),
                                           o->partition, o->offset, o->leader_epoch,
                                           str_slice(&o->metadata));
        if (ec != KWI_E_NONE)
            kwi_mock_logf(m, KW_MOCK_LOG_WARNING,
                          "transaction %s: the offset of group %s for %s-%d is lost (%s)", t->id.s,
                          o->group.s, o->topic.s, (int)o->partition,
                          m->group_ops.offset_store ? "out of memory" : "no group coordinator");
    }
}

/* Writes the markers and completes the transaction (PREPARE_* -> COMPLETE_*). A partition
 * whose marker cannot be written for want of memory keeps its transaction open, which a real
 * broker would retry; here it is logged. */
static void
complete(kwi_txn *t)
{
    kw_mock *m = t->m;
    bool commit = t->state == KWI_TXN_PREPARE_COMMIT;
    for (size_t i = 0; i < t->n_tps; i++) {
        kwi_mock_topic *tp = kwi_mock_topic_find_id(m, &t->tps[i].topic_id);
        kwi_mock_part *p = kwi_mock_part_get(tp, t->tps[i].partition);
        if (!p)
            continue; /* deleted meanwhile: nothing to mark */
        if (kwi_mock_idem_marker(m, p, t->pid, t->epoch, commit, 0))
            kwi_mock_logf(m, KW_MOCK_LOG_ERR,
                          "transaction %s: out of memory for the marker in %s-%d", t->id.s,
                          tp->name, (int)p->index);
    }
    if (commit)
        apply_offsets(t);
    for (size_t i = 0; i < t->n_offs; i++)
        offset_free(m, &t->offs[i]);
    for (size_t i = 0; i < t->n_groups; i++)
        str_free(m, &t->groups[i]);
    t->n_offs = t->n_groups = t->n_tps = 0;
    t->state = commit ? KWI_TXN_COMPLETE_COMMIT : KWI_TXN_COMPLETE_ABORT;
    if (t->next_pid >= 0) {
        t->pid = t->next_pid;
        t->epoch = 0;
        t->next_pid = -1;
    }
    kwi_mock_logf(m, KW_MOCK_LOG_DEBUG, "transaction %s: %s (producer %lld epoch %d)", t->id.s,
                  commit ? "committed" : "aborted", (long long)t->pid, (int)t->epoch);
    kwi_mock_data_arrived(m); /* the last stable offsets moved */
}

/* ONGOING -> PREPARE_COMMIT/ABORT, and the markers now or after the configured delay. */
static void
prepare(kwi_txn *t, bool commit)
{
    t->state = commit ? KWI_TXN_PREPARE_COMMIT : KWI_TXN_PREPARE_ABORT;
    kwi_reactor_timer_stop(t->timer);
    if (t->m->conf.txn_marker_delay_ms > 0)
        kwi_reactor_timer_start(t->timer, t->m->conf.txn_marker_delay_ms);
    else
        complete(t);
}

/* The coordinator aborts an ongoing transaction on its own (timeout, or a new InitProducerId):
 * the epoch is bumped first, so the producer that held it is fenced (prepareFenceProducerEpoch).
 * The producer's last epoch is forgotten: it can no longer recover with it. */
static void
fence_and_abort(kwi_txn *t)
{
    if (t->epoch < INT16_MAX)
        t->epoch++;
    t->last_epoch = -1;
    prepare(t, false);
}

static void
on_timer(kwi_reactor *r, kwi_timer *tm, void *ud)
{
    (void)r;
    (void)tm;
    kwi_txn *t = ud;
    if (t->state == KWI_TXN_ONGOING) {
        kwi_mock_logf(t->m, KW_MOCK_LOG_INFO, "transaction %s timed out after %d ms: aborting",
                      t->id.s, (int)t->timeout_ms);
        fence_and_abort(t);
    } else if (t->state == KWI_TXN_PREPARE_COMMIT || t->state == KWI_TXN_PREPARE_ABORT) {
        complete(t);
    }
}

/* ---------------------------------------------------------------- InitProducerId */

static bool
epoch_exhausted(int16_t epoch)
{
    return epoch >= INT16_MAX - 1;
}

/* Kafka's isValidProducerId for a KIP-360 request naming (pid, epoch). */
static bool
valid_recovery(const kwi_txn *t, int64_t pid, int16_t epoch)
{
    return t->epoch == -1 || pid == t->pid || (pid == t->last_pid && epoch_exhausted(epoch));
}

/* prepareInitProducerIdTransit for EMPTY and COMPLETE_*: a new producer id when the epoch is
 * exhausted, else the epoch bumped (or, for a retried recovery, kept). */
static int16_t
init_transit(kwi_txn *t, int32_t timeout_ms, bool recovery, int16_t expect_epoch)
{
    if (epoch_exhausted(t->epoch) && (!recovery || expect_epoch == t->epoch)) {
        t->last_pid = t->pid;
        t->last_epoch = recovery ? t->epoch : -1;
        t->pid = kwi_txn_new_pid(t->m);
        t->epoch = 0;
    } else if (!recovery || t->epoch == -1 || expect_epoch == t->epoch) {
        t->last_epoch = recovery ? t->epoch : -1;
        t->epoch++;
    } else if (expect_epoch != t->last_epoch) {
        return KWI_TXE_PRODUCER_FENCED;
    }
    /* else: a retry of a bump whose answer was lost; the current epoch is the answer. */
    t->timeout_ms = timeout_ms;
    t->state = KWI_TXN_EMPTY;
    return KWI_E_NONE;
}

static int16_t
init_transactional(kwi_mock_req *req, int16_t ver, const kw_init_producer_id_req *rq,
                   kw_init_producer_id_resp *resp)
{
    kw_mock *m = req->m;
    if (rq->transactional_id.len == 0)
        return KWI_E_INVALID_REQUEST;
    if (!kwi_txn_is_coordinator(req, 1, rq->transactional_id))
        return KWI_TXE_NOT_COORDINATOR;
    if (rq->transaction_timeout_ms <= 0 ||
        rq->transaction_timeout_ms > m->conf.transaction_max_timeout_ms)
        return KWI_TXE_INVALID_TRANSACTION_TIMEOUT;
    if (ver >= 6 && (rq->enable_2pc || rq->keep_prepared_txn))
        return KWI_TXE_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
    int64_t pid = ver >= 3 ? rq->producer_id : -1;
    int16_t epoch = ver >= 3 ? rq->producer_epoch : -1;
    if ((pid == -1) != (epoch == -1))
        return KWI_E_INVALID_REQUEST;
    bool recovery = pid != -1;
    kwi_txn *t = kwi_txn_find(m, rq->transactional_id);
    if (!t && !(t = txn_new(m, rq->transactional_id)))
        return -1;
    if (recovery && !valid_recovery(t, pid, epoch))
        return KWI_TXE_PRODUCER_FENCED;
    switch (t->state) {
    case KWI_TXN_PREPARE_COMMIT:
    case KWI_TXN_PREPARE_ABORT:
        return KWI_TXE_CONCURRENT_TRANSACTIONS;
    case KWI_TXN_ONGOING:
        /* Abort the open transaction under a new epoch; the client retries and gets the epoch
         * bumped once more (or a new producer id if that exhausted it). */
        fence_and_abort(t);
        return KWI_TXE_CONCURRENT_TRANSACTIONS;
    default:
        break;
    }
    int16_t ec = init_transit(t, rq->transaction_timeout_ms, recovery, epoch);
    if (!ec) {
        resp->producer_id = t->pid;
        resp->producer_epoch = t->epoch;
    }
    return ec;
}

static kw_err
init_producer_id(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_init_producer_id_req *rq = msg;
    kw_init_producer_id_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    resp.ongoing_txn_producer_id = -1;
    resp.ongoing_txn_producer_epoch = -1;
    int16_t ec = KWI_E_NONE;
    if (rq->transactional_id.len < 0) {
        /* Idempotence only: any broker hands out a producer id and forgets it. */
        resp.producer_id = kwi_txn_new_pid(req->m);
        resp.producer_epoch = 0;
    } else {
        ec = init_transactional(req, ver, rq, &resp);
        if (ec == -1)
            return KW_ERR_NOMEM;
    }
    if (ec == KWI_TXE_PRODUCER_FENCED && ver < 4)
        ec = KWI_TXE_INVALID_PRODUCER_EPOCH; /* older clients do not know PRODUCER_FENCED */
    resp.error_code = ec;
    return kwi_mock_reply(req, &resp);
}

/* ---------------------------------------------------------------- EndTxn */

/* KIP-890 part 2: a transaction version 2 client's retried EndTxn names the epoch it had before
 * the bump (or the producer id before a rotation). */
static bool
tv2_retry(const kwi_txn *t, const kw_end_txn_req *rq)
{
    if (rq->producer_id == t->pid)
        return rq->producer_epoch == t->epoch - 1;
    return rq->producer_id == t->last_pid && rq->producer_epoch == t->last_epoch;
}

static int16_t
end_checks(kwi_txn *t, int16_t ver, const kw_end_txn_req *rq)
{
    bool same_outcome = (t->state == KWI_TXN_COMPLETE_COMMIT && rq->committed) ||
                        (t->state == KWI_TXN_COMPLETE_ABORT && !rq->committed);
    bool preparing_same = (t->state == KWI_TXN_PREPARE_COMMIT && rq->committed) ||
                          (t->state == KWI_TXN_PREPARE_ABORT && !rq->committed);
    if (ver >= 5 && (same_outcome || preparing_same) && tv2_retry(t, rq))
        return same_outcome ? KWI_E_NONE : KWI_TXE_CONCURRENT_TRANSACTIONS;
    if (rq->producer_id != t->pid)
        return KWI_TXE_INVALID_PRODUCER_ID_MAPPING;
    if (rq->producer_epoch != t->epoch)
        return KWI_TXE_PRODUCER_FENCED;
    switch (t->state) {
    case KWI_TXN_ONGOING:
        if (ver >= 5) {
            /* Transaction version 2: every transaction ends with a new epoch; the markers
             * carry it, and an exhausted epoch moves to a new producer id afterwards. */
            t->last_pid = t->pid;
            t->last_epoch = t->epoch;
            t->epoch++;
            if (epoch_exhausted(t->epoch))
                t->next_pid = kwi_txn_new_pid(t->m);
        }
        prepare(t, rq->committed);
        return KWI_E_NONE;
    case KWI_TXN_PREPARE_COMMIT:
    case KWI_TXN_PREPARE_ABORT:
        return preparing_same ? KWI_TXE_CONCURRENT_TRANSACTIONS : KWI_TXE_INVALID_TXN_STATE;
    default:
        return same_outcome ? KWI_E_NONE : KWI_TXE_INVALID_TXN_STATE;
    }
}

static kw_err
end_txn(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_end_txn_req *rq = msg;
    kw_end_txn_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.producer_id = -1;
    resp.producer_epoch = -1;
    kwi_txn *t = NULL;
    int16_t ec;
    if (rq->transactional_id.len <= 0)
        ec = KWI_E_INVALID_REQUEST;
    else if (!kwi_txn_is_coordinator(req, 1, rq->transactional_id))
        ec = KWI_TXE_NOT_COORDINATOR;
    else if (!(t = kwi_txn_find(req->m, rq->transactional_id)))
        ec = KWI_TXE_INVALID_PRODUCER_ID_MAPPING;
    else
        ec = end_checks(t, ver, rq);
    if (ver >= 5 && t && ec == KWI_E_NONE) {
        /* The producer id and epoch of the next transaction. */
        resp.producer_id = t->next_pid >= 0 ? t->next_pid : t->pid;
        resp.producer_epoch = t->next_pid >= 0 ? 0 : t->epoch;
    }
    if (ec == KWI_TXE_PRODUCER_FENCED && ver < 2)
        ec = KWI_TXE_INVALID_PRODUCER_EPOCH;
    resp.error_code = ec;
    return kwi_mock_reply(req, &resp);
}

/* ---------------------------------------------------------------- the module */

kw_err
kwi_mock_txn_init(kw_mock *m)
{
    kwi_txn_mod *tm = m->a->alloc(m->a->ud, sizeof(*tm));
    if (!tm)
        return KW_ERR_NOMEM;
    memset(tm, 0, sizeof(*tm));
    /* Kafka's first producer id block starts at 0; 1000 keeps ids apart from small counts. */
    tm->next_pid = 1000;
    m->mod[KWI_MOCK_MOD_TXN] = tm;
    kw_err e =
        kwi_mock_api_register(m, &kw_msg_init_producer_id_req, -1, -1, init_producer_id, NULL);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_end_txn_req, -1, -1, end_txn, NULL);
    if (!e)
        e = kwi_mock_txn_api_init(m);
    return e;
}

void
kwi_mock_txn_fini(kw_mock *m)
{
    kwi_txn_mod *tm = mod(m);
    if (!tm)
        return;
    for (size_t i = 0; i < tm->n; i++)
        txn_free(m, tm->txns[i]);
    if (tm->txns)
        m->a->free(m->a->ud, tm->txns, tm->cap * sizeof(*tm->txns));
    m->a->free(m->a->ud, tm, sizeof(*tm));
    m->mod[KWI_MOCK_MOD_TXN] = NULL;
}
