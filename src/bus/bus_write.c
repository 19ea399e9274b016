/* The event bus runtime: writes of consumed events (DLQ records and republished retries) and
 * what happens when the broker does not take one.
 *
 * An event given up on is finished only when the DLQ holds it. So a DLQ write that fails (the
 * broker refused it, the topic is missing, the producer's delivery timeout passed, its queue
 * was full) is sent again after min(retry_base_delay * 2^n, retry_max_delay) +/- jitter, n =
 * failures so far, for as long as the bus runs and owns the partition. Meanwhile the event's
 * offset stays pending (no commit passes it) and its partition stays paused at the next event
 * (kwi_busr_hold_for_write), so the aggregate's later events are handled only after the DLQ
 * has the earlier one, as eventsource-py's send_and_wait gives. A shutdown or a revocation
 * leaves the event uncommitted: the group hands it out again and it is handled anew.
 *
 * A republished retry (KW_BUS_RETRY_REPUBLISH) is resent the same way when its report is a
 * failure, without holding its partition (that mode does not keep order anyway); a copy that
 * cannot even be queued goes to the DLQ as republish_failed, as in eventsource-py. */
#include <string.h>

#include "bus/bus_rt.h"

static void
wrec_free(kw_bus *bus, kwi_bus_wrec *w)
{
    kw_arena_fini(&w->arena);
    kwi_busr_free(bus, w, sizeof(*w));
}

bool
kwi_busr_copy_slice(kw_arena *ar, kw_slice in, kw_slice *out)
{
    *out = in;
    if (in.len < 0)
        return true;
    if (in.len == 0) {
        out->ptr = (const uint8_t *)"";
        return true;
    }
    uint8_t *p = kw_arena_alloc(ar, (size_t)in.len);
    if (!p)
        return false;
    memcpy(p, in.ptr, (size_t)in.len);
    out->ptr = p;
    return true;
}

/* The record to send, copied into the write's own arena (the consumed message and the
 * scratch arena it was built in are gone by the time it is sent again). */
static bool
copy_record(kwi_bus_wrec *w, const kw_consumer_msg *m, const kw_header *h, int32_t nh)
{
    if (!kwi_busr_copy_slice(&w->arena, m->key, &w->key) ||
        !kwi_busr_copy_slice(&w->arena, m->value, &w->value))
        return false;
    w->headers = nh > 0 ? kw_arena_calloc(&w->arena, (size_t)nh, sizeof(*w->headers)) : NULL;
    if (nh > 0 && !w->headers)
        return false;
    for (int32_t i = 0; i < nh; i++) {
        if (!kwi_busr_copy_slice(&w->arena, h[i].key, &w->headers[i].key) ||
            !kwi_busr_copy_slice(&w->arena, h[i].value, &w->headers[i].value))
            return false;
    }
    w->n_headers = nh;
    return true;
}

/* The event_type header, for the publish.errors label of a failed DLQ write. */
static void
note_event_type(kwi_bus_wrec *w, const kw_consumer_msg *m)
{
    const kw_header *h = kwi_bus_header_find(m->headers, m->n_headers, "event_type");
    if (!h || h->value.len <= 0) {
        snprintf(w->event_type, sizeof(w->event_type), "unknown");
        return;
    }
    size_t l = kwi_bus_utf8_prefix((const char *)h->value.ptr, (size_t)h->value.len,
                                   sizeof(w->event_type) - 1);
    memcpy(w->event_type, h->value.ptr, l);
    w->event_type[l] = '\0';
}

/* One attempt to queue the write (never waits: a full queue is a failure like any other). */
static kw_err
send_once(kw_bus *bus, kwi_bus_wrec *w, kw_error *err)
{
    kw_message out;
    kw_message_init(&out);
    out.topic = w->topic;
    out.key = w->key;
    out.value = w->value;
    out.headers = w->headers;
    out.n_headers = w->n_headers;
    out.opaque = w;
    return kw_producer_send(bus->prod, &out, err);
}

static const char *
kind_name(const kwi_bus_wrec *w)
{
    return w->kind == KWI_BUS_REC_DLQ ? "DLQ write" : "republished retry";
}

/* A send or a report failed: count it, log it, and wait for the next attempt. */
static void
failed_attempt(kw_bus *bus, kwi_bus_wrec *w, kw_err e, const kw_error *detail)
{
    w->failures++;
    int64_t delay = kwi_bus_retry_delay_ms(&bus->retry, w->failures - 1, &bus->rng);
    w->due_ms = kwi_busr_mono_ms() + delay;
    w->next = bus->waiting;
    bus->waiting = w;
    pthread_mutex_lock(&bus->mu);
    if (w->kind == KWI_BUS_REC_DLQ)
        bus->st.dlq_write_errors++;
    bus->st.last_error_at_us = kw_bus_time_now_us();
    pthread_mutex_unlock(&bus->mu);
    if (bus->cfg.enable_metrics) {
        const char *lab[] = {w->topic, w->event_type, kw_err_name(e)};
        kwi_bus_metrics_add(bus->metrics, KWI_BUS_M_PUBLISH_ERRORS, lab, 1);
    }
    kwi_busr_log(bus, KW_LOG_WARN,
                 "%s of %s [%d] offset %lld to %s failed (attempt %d): %s: %s; next attempt in "
                 "%lld ms, the partition's commits wait for it",
                 kind_name(w), bus->topic, (int)w->partition, (long long)w->offset, w->topic,
                 (int)w->failures, kw_err_name(e), detail && detail->msg[0] ? detail->msg : "-",
                 (long long)delay);
}

/* The partition state a write still belongs to, or NULL when the partition was revoked
 * since (and maybe assigned again: then it is another generation). */
static kwi_ptrack *
owner(kw_bus *bus, const kwi_bus_wrec *w)
{
    kwi_ptrack *p = kwi_track_get(&bus->track, w->partition);
    return p && p->gen == w->gen ? p : NULL;
}

kw_err
kwi_busr_write(kw_bus *bus, kwi_ptrack *p, kwi_bus_rec_kind kind, const kw_consumer_msg *m,
               const char *topic, const kw_header *h, int32_t nh, kwi_bus_dlq_reason reason,
               const char *error_type, bool persist)
{
    kwi_bus_wrec *w = kwi_busr_alloc(bus, sizeof(*w));
    if (!w)
        return KW_ERR_NOMEM;
    kw_arena_init(&w->arena, bus->a, 0);
    w->kind = kind;
    w->partition = m->partition;
    w->offset = m->offset;
    w->gen = p->gen;
    w->reason = reason;
    w->topic = topic;
    snprintf(w->error_type, sizeof(w->error_type), "%s",
             error_type && error_type[0] ? error_type : "HandlerError");
    note_event_type(w, m);
    /* Pending from here on: whatever happens to the write, no commit passes this event
     * until the broker has acknowledged it. */
    if (!copy_record(w, m, h, nh) || kwi_ptrack_pend(p, bus->a, m->offset) != KW_ERR_OK) {
        wrec_free(bus, w);
        return KW_ERR_NOMEM;
    }
    kw_error detail;
    kw_error_init(&detail);
    kw_err e = send_once(bus, w, &detail);
    if (e != KW_ERR_OK && !persist) {
        kwi_ptrack_unpend(p, m->offset);
        wrec_free(bus, w);
        return e;
    }
    if (kind == KWI_BUS_REC_DLQ)
        kwi_busr_hold_for_write(bus, p);
    if (e != KW_ERR_OK)
        failed_attempt(bus, w, e, &detail);
    return KW_ERR_OK;
}

static void
count_dlq(kw_bus *bus, const kwi_bus_wrec *w)
{
    pthread_mutex_lock(&bus->mu);
    bus->st.messages_sent_to_dlq++;
    pthread_mutex_unlock(&bus->mu);
    if (bus->cfg.enable_metrics) {
        const char *lab[] = {kwi_bus_dlq_reason_name(w->reason), w->error_type};
        kwi_bus_metrics_add(bus->metrics, KWI_BUS_M_DLQ, lab, 1);
    }
    if (w->failures > 0)
        kwi_busr_log(bus, KW_LOG_INFO,
                     "DLQ write of %s [%d] offset %lld arrived after %d failed "
                     "attempts",
                     bus->topic, (int)w->partition, (long long)w->offset, (int)w->failures);
}

/* The write is over (acknowledged, or abandoned with its partition): release what it held. */
static void
finish(kw_bus *bus, kwi_bus_wrec *w, kwi_ptrack *p)
{
    if (p) {
        kwi_ptrack_unpend(p, w->offset);
        if (w->kind == KWI_BUS_REC_DLQ && p->writes > 0) {
            p->writes--;
            kwi_busr_resume_if_ready(bus, p, kwi_busr_mono_ms());
        }
    }
    wrec_free(bus, w);
}

void
kwi_busr_wrec_done(kw_bus *bus, kwi_bus_wrec *w, const kw_delivery *d)
{
    kwi_ptrack *p = owner(bus, w);
    if (d->err == KW_ERR_OK) {
        /* It arrived even if the partition went elsewhere meanwhile (the new owner may write
         * the event again: at-least-once). */
        if (w->kind == KWI_BUS_REC_DLQ)
            count_dlq(bus, w);
        finish(bus, w, p);
        return;
    }
    if (!p || bus->closed) {
        /* Not ours any more, or the bus is being freed: the event stays uncommitted and the
         * group hands it out again. */
        wrec_free(bus, w);
        return;
    }
    failed_attempt(bus, w, d->err, d->detail);
}

void
kwi_busr_writes_resend(kw_bus *bus)
{
    if (!bus->waiting)
        return;
    int64_t now = kwi_busr_mono_ms();
    /* Take the due ones off the list first: a send that fails puts its write back. */
    kwi_bus_wrec *due = NULL, **link = &bus->waiting;
    while (*link) {
        kwi_bus_wrec *w = *link;
        if (w->due_ms <= now || !owner(bus, w)) {
            *link = w->next;
            w->next = due;
            due = w;
        } else {
            link = &w->next;
        }
    }
    while (due) {
        kwi_bus_wrec *w = due;
        due = w->next;
        w->next = NULL;
        if (!owner(bus, w)) {
            wrec_free(bus, w);
            continue;
        }
        kw_error detail;
        kw_error_init(&detail);
        kw_err e = send_once(bus, w, &detail);
        if (e != KW_ERR_OK)
            failed_attempt(bus, w, e, &detail);
    }
}

int64_t
kwi_busr_writes_next_due(const kw_bus *bus)
{
    int64_t best = -1;
    for (const kwi_bus_wrec *w = bus->waiting; w; w = w->next)
        if (best < 0 || w->due_ms < best)
            best = w->due_ms;
    return best;
}

void
kwi_busr_writes_free(kw_bus *bus)
{
    while (bus->waiting) {
        kwi_bus_wrec *w = bus->waiting;
        bus->waiting = w->next;
        wrec_free(bus, w);
    }
}
