/* The idempotent producer (KIP-98, with KIP-360's recovery): a producer id and epoch from
 * InitProducerId, and per partition a sequence number for every record, so that the broker
 * writes a retried batch only once and refuses one that would leave a gap.
 *
 * Sequences are assigned when a batch first goes into a request, in queue order; a batch keeps
 * its sequence across retries and goes back to its place in the queue. A batch being sent
 * again waits until the partition has nothing else in flight, so batches reach the broker in
 * sequence order even after a failure in the middle of a pipeline.
 *
 * A new epoch (or a new id) is needed when the broker lost the producer's state
 * (UNKNOWN_PRODUCER_ID), when it reports a real gap (OUT_OF_ORDER_SEQUENCE_NUMBER for the batch
 * right after the last acknowledged one, nothing older pending), when our epoch is stale
 * (INVALID_PRODUCER_EPOCH), and when a batch that had a sequence failed locally (delivery
 * timeout, purge, a non-retriable error), which leaves a gap the broker would refuse to skip.
 * Java bumps the epoch of an idempotent producer locally; brokers that check epochs strictly
 * (librdkafka's mock) refuse that, so kwire asks for it with InitProducerId: v3+ carries the
 * current id and epoch (KIP-360), and a broker that does not bump simply hands out a new id,
 * which is just as good. The request goes out only once no Produce request is in flight, so
 * no batch of the old epoch is still on its way. Then every partition starts again at
 * sequence 0 and the queued batches get new sequences in order; a batch whose last attempt
 * may have been written (no definite answer) is failed instead of being sent again, because
 * under a new epoch the broker could no longer recognise it as a duplicate.
 *
 * Errors InitProducerId cannot recover from (authorization) make the producer fatal. */
#include <stdio.h>
#include <string.h>

#include "client/producer_int.h"

struct kwi_idem_call {
    kw_producer *p; /* NULL once the producer is gone */
    kw_client *c;
    kw_init_producer_id_req req;
};

bool
kwi_idem_ready(kw_producer *p)
{
    return p->idem == KWI_IDEM_OFF || p->idem == KWI_IDEM_READY;
}

static int32_t
seq_add(int32_t seq, int32_t inc)
{
    /* Sequences wrap from INT32_MAX to 0 (DefaultRecordBatch.incrementSequence). */
    if (seq > INT32_MAX - inc)
        return inc - (INT32_MAX - seq) - 1;
    return seq + inc;
}

void
kwi_idem_bump(kw_producer *p, const char *why)
{
    if (p->idem != KWI_IDEM_READY)
        return;
    const kwi_log *log = kwi_client_log(p->c);
    if (kwi_log_on(log, KWI_LOG_INFO))
        kwi_log_write(log, KWI_LOG_INFO, "producer",
                      "producer id %lld epoch %d: a new epoch is needed: %s", (long long)p->pid,
                      (int)p->epoch, why);
    p->idem = KWI_IDEM_NEED;
    p->idem_retry_at = 0;
    kwi_prod_wake_at(p, 0);
}

void
kwi_idem_assign(kw_producer *p, kwi_pbatch *b)
{
    if (p->idem == KWI_IDEM_OFF || b->base_seq >= 0)
        return;
    b->pid = p->pid;
    b->epoch = p->epoch;
    b->base_seq = b->tp->next_seq;
    b->tp->next_seq = seq_add(b->tp->next_seq, b->n);
}

void
kwi_idem_acked(kw_producer *p, kwi_pbatch *b)
{
    if (p->idem == KWI_IDEM_OFF || b->base_seq < 0 || b->pid != p->pid || b->epoch != p->epoch)
        return;
    b->tp->last_acked = seq_add(b->base_seq, b->n - 1);
}

/* Whether a batch older than b (by creation order) of the same partition waits in its queue,
 * i.e. b's predecessors have not all been acknowledged. */
static bool
older_pending(const kwi_pbatch *b)
{
    return b->tp->head && b->tp->head->order < b->order;
}

bool
kwi_idem_on_error(kw_producer *p, kwi_pbatch *b, int16_t code)
{
    if (p->idem == KWI_IDEM_OFF)
        return false;
    char why[160];
    switch (code) {
    case KWI_BE_UNKNOWN_PRODUCER_ID:
        /* The broker has no state for us (expired or truncated away): the batch was not
         * written; a new epoch lets it start again at sequence 0. */
        b->ambiguous = false;
        if (b->pid == p->pid && b->epoch == p->epoch) {
            snprintf(why, sizeof(why), "UNKNOWN_PRODUCER_ID for %s [%d]", b->tp->t->name,
                     (int)b->tp->id);
            kwi_idem_bump(p, why);
        }
        return true;
    case KWI_BE_OUT_OF_ORDER:
        /* Not written (the broker expects an earlier sequence). When an earlier batch of the
         * partition is still pending, it is a consequence of that batch's failure: just
         * retry in order. Otherwise the sequence really has a gap. */
        b->ambiguous = false;
        if (!older_pending(b) && b->pid == p->pid && b->epoch == p->epoch &&
            b->base_seq == seq_add(b->tp->last_acked, 1)) {
            snprintf(why, sizeof(why), "OUT_OF_ORDER_SEQUENCE_NUMBER for %s [%d] at sequence %d",
                     b->tp->t->name, (int)b->tp->id, (int)b->base_seq);
            kwi_idem_bump(p, why);
        }
        return true;
    case KWI_BE_INVALID_EPOCH:
        /* Our epoch is older than the broker's: ask for a new id (a bump of a stale epoch
         * would be refused too). The batch was not written. */
        b->ambiguous = false;
        if (b->pid == p->pid && b->epoch == p->epoch) {
            snprintf(why, sizeof(why), "INVALID_PRODUCER_EPOCH for %s [%d]", b->tp->t->name,
                     (int)b->tp->id);
            kwi_idem_bump(p, why);
            p->pid = -1;
        }
        return true;
    default:
        return false;
    }
}

void
kwi_idem_on_local_fail(kw_producer *p, kwi_pbatch *b)
{
    if (p->idem == KWI_IDEM_OFF || b->base_seq < 0 || b->pid != p->pid || b->epoch != p->epoch)
        return;
    char why[160];
    snprintf(why, sizeof(why), "a batch of %s [%d] with sequence %d was dropped", b->tp->t->name,
             (int)b->tp->id, (int)b->base_seq);
    kwi_idem_bump(p, why);
}

/* A new id or epoch: every partition starts again at sequence 0. */
static void
resequence(kw_producer *p)
{
    for (size_t i = 0; i < p->n_buckets; i++)
        for (kwi_ptopic *t = p->buckets[i]; t; t = t->next)
            for (int32_t j = 0; j < t->n_parts; j++) {
                kwi_ptp *tp = t->parts[j];
                if (!tp)
                    continue;
                tp->next_seq = 0;
                tp->last_acked = -1;
                kwi_pbatch *keep = NULL, **tail = &keep, *b;
                int32_t kept = 0;
                while ((b = kwi_acc_pop(p, tp))) {
                    if (b->base_seq >= 0 && b->ambiguous) {
                        kw_error d;
                        kw_error_init(&d);
                        kw_error_set(&d, b->last.code ? b->last.code : KW_ERR_IO,
                                     "%s [%d]: may or may not have been written (%s); not sent "
                                     "again under a new producer epoch, where the broker could "
                                     "not recognise a duplicate",
                                     t->name, (int)tp->id, b->last.msg);
                        d.broker_code = b->last.broker_code;
                        kwi_prod_batch_done(p, b, d.code, &d, -1, -1);
                        continue;
                    }
                    b->base_seq = -1;
                    b->pid = -1;
                    b->epoch = -1;
                    *tail = b;
                    tail = &b->next;
                    kept++;
                }
                tp->head = keep;
                tp->tail = NULL;
                for (b = keep; b; b = b->next)
                    tp->tail = b;
                tp->n_queued = kept;
            }
}

static void
on_init_resp(kw_err err, const kw_error *detail, const kwi_resp *resp, void *ud)
{
    kwi_idem_call *call = ud;
    kw_producer *p = call->p;
    kw_client *c = call->c;
    kwi_client_mem_free(c, call, sizeof(*call));
    if (!p)
        return;
    p->idem_call = NULL;
    int64_t now = kwi_prod_now(p);
    const kwi_log *log = kwi_client_log(p->c);
    int16_t code = 0;
    if (err == KW_ERR_OK)
        code = ((const kw_init_producer_id_resp *)resp->body)->error_code;
    if (err == KW_ERR_OK && code == 0) {
        const kw_init_producer_id_resp *r = resp->body;
        if (p->st.producer_id >= 0)
            p->st.epoch_bumps++;
        p->pid = r->producer_id;
        p->epoch = r->producer_epoch;
        p->st.producer_id = p->pid;
        p->st.producer_epoch = p->epoch;
        p->idem_failures = 0;
        resequence(p);
        p->idem = KWI_IDEM_READY;
        if (kwi_log_on(log, KWI_LOG_DEBUG))
            kwi_log_write(log, KWI_LOG_DEBUG, "producer", "producer id %lld epoch %d",
                          (long long)p->pid, (int)p->epoch);
        kwi_send_run(p);
        return;
    }
    kw_error d;
    kw_error_init(&d);
    bool retry = err != KW_ERR_OK ? kw_err_retriable(err) : kw_broker_err_retriable(code);
    if (err == KW_ERR_OK && (code == KWI_BE_INVALID_EPOCH || code == KWI_BE_UNKNOWN_PRODUCER_ID ||
                             code == KWI_BE_PRODUCER_FENCED)) {
        /* The id or epoch we tried to bump is not the broker's current one: start over with
         * a new id, which is always allowed for a producer without a transactional id. */
        p->pid = -1;
        retry = true;
    }
    if (err != KW_ERR_OK)
        kw_error_set(&d, err, "InitProducerId: %s", detail->msg);
    else {
        kw_error_set(&d, KW_ERR_BROKER, "InitProducerId: %s", kw_broker_err_name(code));
        d.broker_code = code;
    }
    if (!retry) {
        d.fatal = true;
        kwi_prod_set_fatal(p, &d);
        kwi_send_run(p);
        return;
    }
    p->idem_failures++;
    p->idem = KWI_IDEM_NEED;
    p->idem_retry_at = now + kwi_send_backoff(p, p->idem_failures);
    if (kwi_log_on(log, KWI_LOG_WARN))
        kwi_log_write(log, KWI_LOG_WARN, "producer", "%s; retrying", d.msg);
    kwi_send_run(p);
}

static int64_t
ask(kw_producer *p, int64_t now)
{
    kwi_broker *b = kwi_broker_least_loaded(p->c);
    if (!b) {
        kwi_broker_ensure_link(p->c);
        return now + 20; /* no broker is ready yet: look again soon */
    }
    kwi_idem_call *call = kwi_client_alloc(p->c, sizeof(*call));
    if (!call)
        return now + kwi_send_backoff(p, 1);
    memset(call, 0, sizeof(*call));
    call->p = p;
    call->c = p->c;
    call->req.transactional_id = KW_SLICE_NULL;
    /* As Java for a producer without transactions: no transaction timeout applies. */
    call->req.transaction_timeout_ms = INT32_MAX;
    bool bump = p->pid >= 0 && p->epoch < INT16_MAX;
    call->req.producer_id = bump ? p->pid : -1;
    call->req.producer_epoch = bump ? p->epoch : -1;
    kwi_req_opts o;
    kwi_req_opts_init(&o);
    kw_error err;
    kw_error_init(&err);
    if (kwi_client_send(p->c, b->id, KWI_API_INIT_PRODUCER_ID, &call->req, &o, on_init_resp, call,
                        &err) != KW_ERR_OK) {
        kwi_client_mem_free(p->c, call, sizeof(*call));
        return now + kwi_send_backoff(p, 1);
    }
    p->idem_call = call;
    p->idem = KWI_IDEM_ASKING;
    return INT64_MAX;
}

int64_t
kwi_idem_run(kw_producer *p, int64_t now)
{
    if (p->idem == KWI_IDEM_NEED || p->idem == KWI_IDEM_WAIT) {
        if (p->reqs_in_flight > 0) {
            p->idem = KWI_IDEM_WAIT; /* their responses run the sender again */
            return INT64_MAX;
        }
        if (now < p->idem_retry_at)
            return p->idem_retry_at;
        return ask(p, now);
    }
    return INT64_MAX;
}

void
kwi_idem_fini(kw_producer *p)
{
    if (p->idem_call)
        p->idem_call->p = NULL; /* its response frees it */
    p->idem_call = NULL;
}
