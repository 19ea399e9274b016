/* kwire-soak: the producer thread and the consumer group member threads.
 *
 * Each thread owns one kw_client and drives it itself (kw_client_step for the producer,
 * kw_consumer_poll for the members), as a daemon embedding kwire in its own loop would: no
 * kwire thread is started. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/client.h"
#include "kwire/consumer.h"
#include "kwire/producer.h"
#include "soak.h"

/* ------------------------------------------------------------------ producer */

/* Sequence numbers whose delivery failed, sent again by the producer thread. A failed report
 * does not prove the record is absent from the log (a request may time out after the broker
 * wrote it), so a resend can make a duplicate, never a loss: at-least-once, as an application
 * that retries does it. */
typedef struct resend_q {
    uint64_t *v;
    size_t head, len, cap;
} resend_q;

typedef struct prod_ctx {
    soak *s;
    resend_q q;
    uint8_t *buf;
    kw_producer *p;
} prod_ctx;

static bool
q_push(resend_q *q, uint64_t seq)
{
    if (q->len == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 1024;
        uint64_t *v = malloc(cap * sizeof(*v));
        if (!v)
            return false;
        for (size_t i = 0; i < q->len; i++)
            v[i] = q->v[(q->head + i) % q->cap];
        free(q->v);
        q->v = v;
        q->head = 0;
        q->cap = cap;
    }
    q->v[(q->head + q->len) % q->cap] = seq;
    q->len++;
    return true;
}

/* Runs inside kw_client_step on the producer thread. */
static void
on_delivery(kw_producer *p, const kw_delivery *d, void *ud)
{
    (void)p;
    prod_ctx *x = ud;
    soak *s = x->s;
    uint64_t seq = (uint64_t)(uintptr_t)d->opaque;
    if (d->err == KW_ERR_OK) {
        if (atomic_exchange(&s->acked[seq], 1) == 0)
            atomic_fetch_add(&s->delivered, 1);
        return;
    }
    atomic_fetch_add(&s->delivery_failed, 1);
    if (atomic_load(&s->acked[seq]))
        return; /* an earlier copy was delivered already */
    if (d->err != KW_ERR_CANCELED && !q_push(&x->q, seq))
        soak_note_error(s, "resend queue: out of memory");
    if (d->err != KW_ERR_CANCELED && atomic_load(&s->delivery_failed) <= 3)
        soak_note_error(s, "delivery of %" PRIu64 " failed: %s (%s)", seq, kw_err_name(d->err),
                        d->detail->msg);
}

/* Sends one record; false on back-pressure or an error (counted). */
static bool
send_one(prod_ctx *x, uint64_t seq)
{
    soak *s = x->s;
    char key[24];
    kw_message m;
    kw_error err;
    kw_error_init(&err);
    kw_message_init(&m);
    snprintf(key, sizeof(key), "k%" PRIu64, seq % 1000);
    soak_value(s, seq, x->buf);
    m.topic = s->topic;
    m.key = kw_slice_str(key);
    m.value = (kw_slice){x->buf, s->value_size};
    m.opaque = (void *)(uintptr_t)seq;
    kw_err e = kw_producer_send(x->p, &m, &err);
    if (e == KW_ERR_OK)
        return true;
    if (e != KW_ERR_QUEUE_FULL) {
        atomic_fetch_add(&s->send_errors, 1);
        soak_note_error(s, "send: %s (%s)", kw_err_name(e), err.msg);
    }
    return false;
}

/* Sends what the schedule asks for by now (resends first); returns false when a send failed
 * (back-pressure), so the loop steps before trying again. */
static bool
send_due(prod_ctx *x, int64_t t0, uint64_t *next)
{
    soak *s = x->s;
    while (x->q.len) {
        uint64_t seq = x->q.v[x->q.head];
        if (!atomic_load(&s->acked[seq]) && !send_one(x, seq))
            return false;
        x->q.head = (x->q.head + 1) % x->q.cap;
        x->q.len--;
        atomic_fetch_add(&s->resent, 1);
    }
    if (atomic_load(&s->stop_produce))
        return true;
    uint64_t due = (uint64_t)((double)(soak_now_ms() - t0) * s->rate / 1000.0);
    if (due > s->max_seq)
        due = s->max_seq;
    while (*next < due) {
        if (!send_one(x, *next))
            return false;
        (*next)++;
        atomic_fetch_add(&s->sent, 1);
    }
    return true;
}

static void
produce_loop(prod_ctx *x, kw_client *c)
{
    soak *s = x->s;
    kw_error err;
    uint64_t next = 0;
    int64_t t0 = soak_now_ms(), deadline = -1;
    for (;;) {
        send_due(x, t0, &next);
        if (atomic_load(&s->stop_produce)) {
            if (deadline < 0)
                deadline = soak_now_ms() + (int64_t)s->drain_s * 1000;
            if (!x->q.len && kw_producer_outstanding(x->p) == 0)
                break;
            if (soak_now_ms() > deadline)
                break;
            kw_producer_flush(x->p, 0, &err); /* linger no longer waits */
        }
        kw_error_init(&err);
        if (kw_client_step(c, 5, &err) != KW_ERR_OK) {
            atomic_fetch_add(&s->client_errors, 1);
            soak_note_error(s, "producer step: %s", err.msg);
        }
    }
    atomic_store(&s->unresolved, kw_producer_outstanding(x->p) + x->q.len);
}

void *
soak_producer_main(void *arg)
{
    soak *s = arg;
    prod_ctx x = {.s = s};
    kw_client *c = NULL;
    kw_error err;
    kw_error_init(&err);
    kw_conf *conf = soak_conf(s, "soak-producer");
    x.buf = malloc((size_t)s->value_size);
    /* librdkafka's mock answers a Fetch with one batch per partition: with batches of one
     * record (linger 5 ms at these rates) a group that fell behind in a rebalance can never
     * catch up. 100 ms makes batches of several records, as a real producer under load has. */
    if (!conf || !x.buf || !soak_default(s, conf, "linger.ms", "100")) {
        kw_conf_free(conf);
        goto out;
    }
    if (kw_client_new(conf, &c, &err) != KW_ERR_OK) {
        soak_note_error(s, "producer client: %s", err.msg);
        goto out;
    }
    soak_log_attach(s, c, "soak-producer");
    kw_producer_opts o;
    kw_producer_opts_init(&o);
    o.on_delivery = on_delivery;
    o.delivery_ud = &x;
    if (kw_producer_new(c, &o, &x.p, &err) != KW_ERR_OK) {
        soak_note_error(s, "producer: %s", err.msg);
        goto out;
    }
    produce_loop(&x, c);
out:
    kw_producer_free(x.p);
    kw_client_free(c);
    free(x.q.v);
    free(x.buf);
    atomic_store(&s->produce_done, 1);
    return NULL;
}

/* ------------------------------------------------------------------ members */

typedef struct member_ctx {
    soak_member *m;
    bool manual; /* commits itself (else enable.auto.commit) */
    char id[64]; /* client.id of the current incarnation */
    int64_t last_commit_ms;
    long since_commit;
} member_ctx;

static void
on_commit(kw_consumer *k, kw_err e, const kw_error *detail, const kw_topic_partition *offsets,
          size_t n, void *ud)
{
    (void)k;
    (void)offsets;
    (void)n;
    (void)detail;
    member_ctx *x = ud;
    atomic_fetch_add(e == KW_ERR_OK ? &x->m->s->commits_ok : &x->m->s->commits_failed, 1);
}

/* Runs inside kw_consumer_poll / kw_consumer_close on the member's thread. */
static void
on_rebalance(kw_consumer *k, kw_rebalance_kind kind, const kw_topic_partition *parts, size_t n,
             void *ud)
{
    (void)parts;
    member_ctx *x = ud;
    soak *s = x->m->s;
    kw_error err;
    kw_error_init(&err);
    atomic_store(&x->m->generation, kw_consumer_generation(k));
    if (kind == KW_REBALANCE_ASSIGNED) {
        atomic_fetch_add(&s->assigned_cb, 1);
        atomic_fetch_add(&x->m->assigned, (int)n);
        return;
    }
    atomic_fetch_sub(&x->m->assigned, (int)n);
    if (kind == KW_REBALANCE_LOST) {
        atomic_fetch_add(&s->lost_cb, 1);
        return; /* another member may own them already: committing would be wrong */
    }
    atomic_fetch_add(&s->revoked_cb, 1);
    if (!x->manual)
        return; /* enable.auto.commit commits at the revoke itself */
    /* Still ours until this returns: commit what was processed so the next owner starts
     * right after it. A failure (coordinator moved, generation gone) only costs duplicates. */
    kw_err e = kw_consumer_commit(k, NULL, 0, 10000, &err);
    atomic_fetch_add(e == KW_ERR_OK ? &s->commits_ok : &s->commits_failed, 1);
    x->since_commit = 0;
}

static void
take(member_ctx *x, const kw_consumer_msg *msg)
{
    soak *s = x->m->s;
    if (msg->err != KW_ERR_OK) {
        atomic_fetch_add(&s->inband_errors, 1);
        return;
    }
    bool corrupt = false;
    uint64_t seq = soak_check_value(s, msg->value.ptr, msg->value.len, &corrupt);
    atomic_fetch_add(&s->consumed, 1);
    x->since_commit++;
    if (seq == UINT64_MAX) {
        atomic_fetch_add(corrupt ? &s->corrupt : &s->foreign, 1);
        if (corrupt)
            soak_note_error(s, "corrupt value at %s[%" PRId32 "]@%" PRId64, msg->topic,
                            msg->partition, msg->offset);
        return;
    }
    if (atomic_fetch_add(&s->seen[seq], 1) == 0)
        atomic_fetch_add(&s->unique, 1);
    else
        atomic_fetch_add(&s->dups, 1);
}

/* The manual-commit members commit asynchronously every 1,000 records or second. */
static void
maybe_commit(member_ctx *x, kw_consumer *k)
{
    int64_t now = soak_now_ms();
    if (!x->manual || !x->since_commit ||
        (x->since_commit < 1000 && now - x->last_commit_ms < 1000))
        return;
    kw_error err;
    kw_error_init(&err);
    kw_err e = kw_consumer_commit_async(k, NULL, 0, on_commit, x, &err);
    if (e != KW_ERR_OK && e != KW_ERR_STATE) /* STATE: nothing assigned right now */
        atomic_fetch_add(&x->m->s->commits_failed, 1);
    x->last_commit_ms = now;
    x->since_commit = 0;
}

static kw_consumer *
member_open(member_ctx *x, int incarnation)
{
    soak *s = x->m->s;
    snprintf(x->id, sizeof(x->id), "soak-m%d-%d", x->m->slot, incarnation);
    kw_conf *conf = soak_conf(s, x->id);
    if (!conf)
        return NULL;
    if (!soak_default(s, conf, "group.id", s->group) ||
        !soak_default(s, conf, "auto.offset.reset", "earliest") ||
        !soak_default(s, conf, "enable.auto.commit", x->manual ? "false" : "true") ||
        !soak_default(s, conf, "auto.commit.interval.ms", "1000") ||
        !soak_default(s, conf, "session.timeout.ms", "10000") ||
        !soak_default(s, conf, "heartbeat.interval.ms", "1000")) {
        kw_conf_free(conf);
        return NULL;
    }
    kw_client *c = NULL;
    kw_consumer *k = NULL;
    kw_error err;
    kw_error_init(&err);
    if (kw_client_new(conf, &c, &err) != KW_ERR_OK) {
        soak_note_error(s, "member client: %s", err.msg);
        return NULL;
    }
    soak_log_attach(s, c, x->id);
    kw_consumer_opts o;
    kw_consumer_opts_init(&o);
    o.on_rebalance = on_rebalance;
    o.rebalance_ud = x;
    o.on_commit = on_commit;
    o.commit_ud = x;
    const char *topics[] = {s->topic};
    if (kw_consumer_new(c, &o, &k, &err) != KW_ERR_OK ||
        kw_consumer_subscribe(k, topics, 1, &err) != KW_ERR_OK) {
        soak_note_error(s, "member %d: %s", x->m->slot, err.msg);
        kw_consumer_free(k);
        kw_client_free(c);
        return NULL;
    }
    atomic_fetch_add(&s->joins, 1);
    return k;
}

static void
member_close(member_ctx *x, kw_consumer *k)
{
    soak *s = x->m->s;
    kw_error err;
    kw_error_init(&err);
    /* Manual members commit what they processed before leaving; auto-commit members are
     * committed by close itself. */
    if (x->manual && kw_consumer_commit(k, NULL, 0, 10000, &err) != KW_ERR_OK)
        atomic_fetch_add(&s->commits_failed, 1);
    kw_error_init(&err);
    if (kw_consumer_close(k, 30000, &err) != KW_ERR_OK) {
        atomic_fetch_add(&s->close_errors, 1);
        soak_note_error(s, "member %d close: %s", x->m->slot, err.msg);
    }
    kw_client *c = kw_consumer_client(k);
    kw_consumer_free(k);
    kw_client_free(c);
    atomic_store(&x->m->assigned, 0);
    atomic_store(&x->m->active_ms, soak_now_ms());
}

void *
soak_member_main(void *arg)
{
    soak_member *m = arg;
    soak *s = m->s;
    member_ctx x = {.m = m, .manual = (m->slot % 2) == 1};
    kw_consumer_msg *msgs[256];
    for (int inc = 0; !atomic_load(&s->stop_all); inc++) {
        kw_consumer *k = member_open(&x, inc);
        if (!k)
            break;
        x.last_commit_ms = soak_now_ms();
        while (!atomic_load(&s->stop_all) && !atomic_load(&m->restart)) {
            size_t n = 0;
            kw_error err;
            kw_error_init(&err);
            kw_err e = kw_consumer_poll(k, msgs, 256, 200, &n, &err);
            atomic_store(&m->active_ms, soak_now_ms());
            if (e != KW_ERR_OK) {
                atomic_fetch_add(&s->client_errors, 1);
                soak_note_error(s, "member %d poll: %s", m->slot, err.msg);
            }
            for (size_t i = 0; i < n; i++)
                take(&x, msgs[i]);
            kw_consumer_msgs_release(msgs, n);
            maybe_commit(&x, k);
        }
        member_close(&x, k);
        if (atomic_exchange(&m->restart, 0))
            atomic_fetch_add(&s->restarts, 1);
    }
    atomic_store(&m->done, 1);
    return NULL;
}
