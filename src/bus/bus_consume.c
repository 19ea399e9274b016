/* The event bus runtime: the consume loop. Poll, decode, dispatch to the handlers of the
 * event's type and then to the subscribe_all handlers, retry failures (in place or by
 * republishing), send what cannot be handled to the DLQ, and commit only offsets below which
 * every event is finished (bus_track.h). */
#include <string.h>
#include <sys/epoll.h>

#include "bus/bus_rt.h"

#define POLL_BATCH      64
#define COMMIT_EVERY_MS 100

static kw_topic_partition
tp_of(kw_bus *bus, int32_t partition, int64_t offset)
{
    kw_topic_partition tp;
    memset(&tp, 0, sizeof(tp));
    tp.topic = bus->topic;
    tp.partition = partition;
    tp.offset = offset;
    tp.leader_epoch = -1;
    return tp;
}

kw_err
kwi_busr_consume_start(kw_bus *bus, kw_error *err)
{
    if (bus->consuming) {
        atomic_store(&bus->stop, false);
        return KW_ERR_OK;
    }
    const char *topics[] = {bus->topic};
    kw_err e = kw_consumer_subscribe(bus->cons, topics, 1, err);
    if (e != KW_ERR_OK)
        return e;
    atomic_store(&bus->stop, false);
    pthread_mutex_lock(&bus->mu);
    bus->consuming = true;
    pthread_mutex_unlock(&bus->mu);
    return KW_ERR_OK;
}

int
kwi_busr_timeout(const kw_bus *bus)
{
    int t = kw_client_timeout_ms(bus->client);
    int tc = kw_client_timeout_ms(bus->cclient);
    if (tc >= 0 && (t < 0 || tc < t))
        t = tc;
    if (!bus->consuming)
        return t;
    kw_consumer_stats cs;
    kw_consumer_stats_get(bus->cons, &cs);
    if (cs.buffered_msgs > 0)
        return 0;
    int64_t due = kwi_track_next_due(&bus->track);
    int64_t wdue = kwi_busr_writes_next_due(bus);
    if (wdue >= 0 && (due < 0 || wdue < due))
        due = wdue;
    if (due >= 0) {
        int64_t d = due - kwi_busr_mono_ms();
        int di = d < 0 ? 0 : (d > 60000 ? 60000 : (int)d);
        t = t < 0 || di < t ? di : t;
    }
    return t;
}

/* ---------------------------------------------------------------- retries */

/* Hold the partition at `offset` until `due`: pause it (dropping what is buffered after the
 * event) and move its position back to the event, so resuming hands it out again first. */
void
kwi_busr_hold_at(kw_bus *bus, kwi_ptrack *p, int64_t offset, int32_t count, int64_t due)
{
    kw_topic_partition tp = tp_of(bus, p->partition, offset);
    kw_consumer_pause(bus->cons, &tp, 1, NULL);
    kw_consumer_seek(bus->cons, bus->topic, p->partition, offset, NULL);
    kwi_ptrack_retry_set(p, offset, count, due);
    p->paused = true;
}

void
kwi_busr_resume_if_ready(kw_bus *bus, kwi_ptrack *p, int64_t now_ms)
{
    if (!kwi_ptrack_may_resume(p, now_ms))
        return;
    kw_topic_partition tp = tp_of(bus, p->partition, -1);
    kw_consumer_resume(bus->cons, &tp, 1, NULL);
    p->paused = false; /* retry_offset and retry_count stay until the event finishes */
}

void
kwi_busr_hold_for_write(kw_bus *bus, kwi_ptrack *p)
{
    p->writes++;
    if (p->paused)
        return; /* already held where it must resume */
    /* Hold at the next event: what is buffered after the written one is dropped and fetched
     * again once the DLQ has acknowledged the write. */
    kw_topic_partition tp = tp_of(bus, p->partition, p->next);
    kw_consumer_pause(bus->cons, &tp, 1, NULL);
    kw_consumer_seek(bus->cons, bus->topic, p->partition, p->next, NULL);
    p->paused = true;
}

static void
resume_due(kw_bus *bus)
{
    int64_t now = kwi_busr_mono_ms();
    for (size_t i = 0; i < bus->track.n; i++)
        kwi_busr_resume_if_ready(bus, &bus->track.p[i], now);
}

static void
count_retry(kw_bus *bus)
{
    pthread_mutex_lock(&bus->mu);
    bus->st.events_retried++;
    pthread_mutex_unlock(&bus->mu);
}

/* KW_BUS_RETRY_REPUBLISH: a copy with retry_count/retry_after goes to the tail of the topic;
 * the original's offset is finished once the copy is acknowledged. */
static void
republish(kw_bus *bus, kwi_ptrack *p, const kw_consumer_msg *m, int32_t count, int64_t delay_ms,
          const kw_bus_failure *why)
{
    kw_header *h = NULL;
    int32_t nh = 0;
    int64_t after_us = kw_bus_time_now_us() + delay_ms * 1000;
    kw_err e =
        kwi_bus_retry_headers(m->headers, m->n_headers, count, after_us, &bus->scratch, &h, &nh);
    if (e == KW_ERR_OK)
        e = kwi_busr_write(bus, p, KWI_BUS_REC_RETRY, m, bus->topic, h, nh,
                           KWI_BUS_DLQ_REPUBLISH_FAILED, why->type, false);
    if (e == KW_ERR_OK) {
        count_retry(bus);
        return;
    }
    /* The copy could not be sent: the event goes to the DLQ (republish_failed). */
    kwi_busr_error_at(bus);
    kwi_busr_dlq_write(bus, m, KWI_BUS_DLQ_REPUBLISH_FAILED, why, count - 1);
}

/* A failed attempt: retry, or give up (DLQ or drop). `n` retries were made before. */
static void
failed(kw_bus *bus, kwi_ptrack *p, const kw_consumer_msg *m, int32_t n, const kw_bus_failure *why)
{
    if (kwi_bus_retry_again(&bus->retry, n)) {
        int64_t delay = kwi_bus_retry_delay_ms(&bus->retry, n, &bus->rng);
        if (bus->cfg.retry_mode == KW_BUS_RETRY_REPUBLISH) {
            republish(bus, p, m, n + 1, delay, why);
        } else {
            kwi_busr_hold_at(bus, p, m->offset, n + 1, kwi_busr_mono_ms() + delay);
            count_retry(bus);
        }
        return;
    }
    if (p->retry_offset == m->offset)
        kwi_ptrack_retry_clear(p);
    kwi_busr_dlq_write(bus, m, KWI_BUS_DLQ_MAX_RETRIES, why, n);
}

/* ---------------------------------------------------------------- dispatch */

/* Run one handler, with its metrics. Returns 0 on success. */
static int
run_handler(kw_bus *bus, const kwi_bus_sub *s, const kw_bus_event *ev, const kw_bus_msg_info *info,
            kw_bus_failure *fail)
{
    int64_t t0 = kw_bus_time_now_us();
    fail->type[0] = '\0';
    fail->message[0] = '\0';
    int rc = s->fn(bus, ev, info, fail, s->ud);
    if (rc != 0 && !fail->type[0])
        snprintf(fail->type, sizeof(fail->type), "HandlerError");
    if (rc != 0 && !fail->message[0])
        snprintf(fail->message, sizeof(fail->message), "handler %s failed with %d", s->name, rc);
    if (bus->cfg.enable_metrics) {
        const char *lab[] = {s->name, ev->event_type, fail->type};
        kwi_bus_metrics_add(bus->metrics, KWI_BUS_M_HANDLER_CALLS, lab, 1);
        kwi_bus_metrics_observe(bus->metrics, KWI_BUS_M_HANDLER_DURATION, lab,
                                (double)(kw_bus_time_now_us() - t0) / 1000.0);
        if (rc != 0)
            kwi_bus_metrics_add(bus->metrics, KWI_BUS_M_HANDLER_ERRORS, lab, 1);
    }
    return rc;
}

/* Every handler of the type, then every subscribe_all handler; each runs even when an
 * earlier one failed (eventsource-py does the same). Returns how many failed; `first` gets
 * the first failure. */
static int
dispatch(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *info, kw_bus_failure *first)
{
    kwi_bus_type *t = kwi_bus_registry_find(&bus->reg, ev->event_type, strlen(ev->event_type));
    kwi_bus_subs *lists[2] = {t ? t->slot : NULL, &bus->all};
    int failures = 0;
    kw_bus_failure f;
    for (int l = 0; l < 2; l++) {
        for (size_t i = 0; lists[l] && i < lists[l]->n; i++) {
            kwi_bus_sub s = lists[l]->v[i]; /* a handler may unsubscribe */
            if (run_handler(bus, &s, ev, info, &f) != 0 && failures++ == 0)
                *first = f;
        }
    }
    return failures;
}

static void
count_consumed(kw_bus *bus, const kw_consumer_msg *m)
{
    pthread_mutex_lock(&bus->mu);
    bus->st.events_consumed++;
    bus->st.last_consume_at_us = kw_bus_time_now_us();
    pthread_mutex_unlock(&bus->mu);
    if (!bus->cfg.enable_metrics)
        return;
    char pbuf[16], tbuf[KWI_BUS_TOPIC_MAX];
    snprintf(pbuf, sizeof(pbuf), "%d", (int)m->partition);
    const kw_header *h = kwi_bus_header_find(m->headers, m->n_headers, "event_type");
    if (h && h->value.len > 0) {
        size_t l =
            kwi_bus_utf8_prefix((const char *)h->value.ptr, (size_t)h->value.len, sizeof(tbuf) - 1);
        memcpy(tbuf, h->value.ptr, l);
        tbuf[l] = '\0';
    } else {
        snprintf(tbuf, sizeof(tbuf), "unknown");
    }
    const char *lab[] = {bus->topic, pbuf, tbuf};
    kwi_bus_metrics_add(bus->metrics, KWI_BUS_M_CONSUMED, lab, 1);
}

static void
count_outcome(kw_bus *bus, bool ok, int handler_failures)
{
    pthread_mutex_lock(&bus->mu);
    if (ok) {
        bus->st.events_processed_success++;
    } else {
        bus->st.events_processed_failed++;
        bus->st.handler_errors += (uint64_t)handler_failures;
        bus->st.last_error_at_us = kw_bus_time_now_us();
    }
    pthread_mutex_unlock(&bus->mu);
}

/* Decode and check the envelope; false (after sending it to the DLQ) when it cannot be
 * dispatched. */
static bool
decode(kw_bus *bus, const kw_consumer_msg *m, kw_bus_event *ev)
{
    kw_error derr;
    kw_error_init(&derr);
    kw_bus_failure why;
    if (kw_bus_event_decode(m->key, m->value, m->headers, m->n_headers, &bus->scratch, ev, &derr) !=
        KW_ERR_OK) {
        kw_bus_failure_set(&why, "DeserializationError", "%s", derr.msg);
        kwi_busr_dlq_write(bus, m, KWI_BUS_DLQ_DESERIALIZATION, &why, 0);
        return false;
    }
    if (kwi_bus_registry_check(&bus->reg, ev, &why) != KW_ERR_OK) {
        kwi_busr_dlq_write(bus, m, KWI_BUS_DLQ_DESERIALIZATION, &why, 0);
        return false;
    }
    return true;
}

/* The retries already made for this delivery; in republish mode, false when the copy's
 * retry_after has not come yet (the partition then waits for it). */
static bool
attempt_of(kw_bus *bus, kwi_ptrack *p, const kw_consumer_msg *m, int32_t *n)
{
    if (bus->cfg.retry_mode != KW_BUS_RETRY_REPUBLISH) {
        *n = kwi_ptrack_retries_of(p, m->offset);
        return true;
    }
    *n = kwi_bus_retry_count(m->headers, m->n_headers);
    int64_t after_us;
    if (kwi_bus_retry_after(m->headers, m->n_headers, &after_us)) {
        int64_t wait_ms = (after_us - kw_bus_time_now_us()) / 1000;
        if (wait_ms > 0 && p->retry_offset != m->offset) {
            kwi_busr_hold_at(bus, p, m->offset, *n, kwi_busr_mono_ms() + wait_ms);
            return false;
        }
    }
    return true;
}

static void
handle(kw_bus *bus, const kw_consumer_msg *m)
{
    /* The consumer hands out a partition's records only after its assigned callback returned
     * and none after its revocation (consumer.h), so the track normally exists; adding it here
     * covers an assigned callback that could not allocate the track. */
    kwi_ptrack *p = kwi_track_add(&bus->track, m->partition);
    if (!p || p->paused || (p->next >= 0 && m->offset < p->next))
        return; /* waiting for a retry, or already handled */
    int32_t n = 0;
    if (!attempt_of(bus, p, m, &n))
        return;
    int64_t t0 = kw_bus_time_now_us();
    count_consumed(bus, m);
    kw_bus_event ev;
    if (!decode(bus, m, &ev))
        return;
    kw_bus_span span;
    char tp[KW_BUS_TRACEPARENT_SIZE];
    kw_bus_msg_info info = {bus->topic, m->partition, m->offset, m->timestamp, n, NULL};
    if (bus->cfg.enable_tracing) {
        kwi_bus_span_consume(&span, &bus->opts.tracer, &ev, ev.event_type, ev.traceparent,
                             ev.tracestate, bus->topic, m->partition, m->offset,
                             bus->cfg.consumer_group, &bus->rng, t0);
        info.traceparent = kwi_bus_span_traceparent(&span, tp);
    }
    kw_bus_failure first;
    int failures = dispatch(bus, &ev, &info, &first);
    if (bus->cfg.enable_tracing)
        kwi_bus_span_end(&span, &bus->opts.tracer, failures ? &first : NULL, kw_bus_time_now_us());
    count_outcome(bus, failures == 0, failures);
    if (failures == 0) {
        if (p->retry_offset == m->offset)
            kwi_ptrack_retry_clear(p);
        kwi_ptrack_done(p, m->offset);
    } else {
        failed(bus, p, m, n, &first);
    }
    if (bus->cfg.enable_metrics) {
        const char *lab[] = {bus->topic};
        kwi_bus_metrics_observe(bus->metrics, KWI_BUS_M_CONSUME_DURATION, lab,
                                (double)(kw_bus_time_now_us() - t0) / 1000.0);
    }
}

/* ---------------------------------------------------------------- commits */

static size_t
gather_commits(kw_bus *bus, kw_topic_partition *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < bus->track.n && k < cap; i++) {
        kwi_ptrack *p = &bus->track.p[i];
        if (kwi_ptrack_need_commit(p))
            out[k++] = tp_of(bus, p->partition, kwi_ptrack_commit_pos(p));
    }
    return k;
}

static void
apply_commits(kw_bus *bus, const kw_topic_partition *offs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (offs[i].err != KW_ERR_OK || strcmp(offs[i].topic, bus->topic) != 0)
            continue;
        kwi_ptrack *p = kwi_track_get(&bus->track, offs[i].partition);
        if (p && offs[i].offset > p->committed)
            p->committed = offs[i].offset;
    }
}

static void
on_commit(kw_consumer *k, kw_err err, const kw_error *detail, const kw_topic_partition *offs,
          size_t n, void *ud)
{
    (void)k;
    (void)detail;
    kw_bus *bus = ud;
    for (size_t i = 0; i < bus->track.n; i++)
        bus->track.p[i].commit_inflight = false;
    if (err != KW_ERR_OK && err != KW_ERR_BROKER)
        kwi_busr_error_at(bus);
    if (offs)
        apply_commits(bus, offs, n);
}

static void
commit_due(kw_bus *bus)
{
    for (size_t i = 0; i < bus->track.n; i++)
        if (bus->track.p[i].commit_inflight)
            return; /* one commit at a time keeps them in order */
    int64_t now = kwi_busr_mono_ms();
    if (now - bus->last_commit_ms < COMMIT_EVERY_MS)
        return;
    kw_topic_partition offs[256];
    size_t k = gather_commits(bus, offs, 256);
    if (k == 0)
        return;
    bus->last_commit_ms = now;
    if (kw_consumer_commit_async(bus->cons, offs, k, on_commit, bus, NULL) != KW_ERR_OK)
        return;
    for (size_t i = 0; i < k; i++)
        kwi_track_get(&bus->track, offs[i].partition)->commit_inflight = true;
}

kw_err
kwi_busr_commit_sync(kw_bus *bus, int timeout_ms, kw_error *err)
{
    kw_topic_partition offs[256];
    size_t k = gather_commits(bus, offs, 256);
    if (k == 0)
        return KW_ERR_OK;
    kw_err e = kw_consumer_commit(bus->cons, offs, k, timeout_ms > 0 ? timeout_ms : 1, err);
    if (e == KW_ERR_OK) {
        for (size_t i = 0; i < k; i++)
            offs[i].err = KW_ERR_OK;
        apply_commits(bus, offs, k);
    }
    return e;
}

/* ---------------------------------------------------------------- rebalances */

void
kwi_busr_on_rebalance(kw_consumer *k, kw_rebalance_kind kind, const kw_topic_partition *parts,
                      size_t n, void *ud)
{
    (void)k;
    kw_bus *bus = ud;
    if (kind != KW_REBALANCE_ASSIGNED && n == 0)
        return; /* an eager member's empty revocation before its first assignment */
    pthread_mutex_lock(&bus->mu);
    bus->st.rebalance_count++;
    pthread_mutex_unlock(&bus->mu);
    if (bus->cfg.enable_metrics) {
        const char *lab[] = {bus->cfg.consumer_group};
        kwi_bus_metrics_add(bus->metrics, KWI_BUS_M_REBALANCES, lab, 1);
    }
    if (kind == KW_REBALANCE_ASSIGNED) {
        for (size_t i = 0; i < n; i++)
            if (strcmp(parts[i].topic, bus->topic) == 0)
                kwi_track_add(&bus->track, parts[i].partition);
        return;
    }
    if (kind == KW_REBALANCE_REVOKED) {
        /* What finished on these partitions is committed before another member takes them,
         * so it does not handle those events again. */
        kw_topic_partition offs[256];
        size_t c = 0;
        for (size_t i = 0; i < n && c < 256; i++) {
            kwi_ptrack *p = kwi_track_get(&bus->track, parts[i].partition);
            if (p && strcmp(parts[i].topic, bus->topic) == 0 && kwi_ptrack_need_commit(p))
                offs[c++] = tp_of(bus, p->partition, kwi_ptrack_commit_pos(p));
        }
        if (c > 0)
            kw_consumer_commit(bus->cons, offs, c, 10000, NULL);
    }
    for (size_t i = 0; i < n; i++)
        if (strcmp(parts[i].topic, bus->topic) == 0)
            kwi_track_remove(&bus->track, parts[i].partition);
    if (bus->cfg.enable_metrics)
        kwi_bus_metrics_clear(bus->metrics, KWI_BUS_M_CONSUMER_LAG);
}

/* ---------------------------------------------------------------- the step */

/* Wait on both clients' descriptors (at most timeout_ms), then serve both without waiting. */
static kw_err
wait_and_serve(kw_bus *bus, int timeout_ms, kw_error *err)
{
    int t = kwi_busr_timeout(bus);
    if (timeout_ms >= 0 && (t < 0 || timeout_ms < t))
        t = timeout_ms;
    if (t != 0) {
        struct epoll_event ev[2];
        epoll_wait(bus->epfd, ev, 2, t); /* EINTR: serve what is ready */
    }
    kw_err e = kw_client_step(bus->client, 0, err);
    kw_err e2 = kw_client_step(bus->cclient, 0, err);
    return e != KW_ERR_OK ? e : e2;
}

kw_err
kwi_busr_step(kw_bus *bus, int timeout_ms, kw_error *err)
{
    if (!bus->consuming)
        return wait_and_serve(bus, timeout_ms, err);
    resume_due(bus);
    kwi_busr_writes_resend(bus);
    kw_err e = wait_and_serve(bus, timeout_ms, err);
    if (e != KW_ERR_OK)
        return e;
    kw_consumer_msg *msgs[POLL_BATCH];
    size_t n = 0;
    e = kw_consumer_poll(bus->cons, msgs, POLL_BATCH, 0, &n, err);
    for (size_t i = 0; i < n; i++) {
        /* After a stop request the rest is left unhandled: not committed, so the group
         * hands it out again later. */
        if (msgs[i]->err == KW_ERR_OK && !atomic_load(&bus->stop))
            handle(bus, msgs[i]);
        else if (msgs[i]->err != KW_ERR_OK)
            kwi_busr_error_at(bus);
        kw_arena_reset(&bus->scratch);
        kw_consumer_msg_release(msgs[i]);
    }
    commit_due(bus);
    return e;
}
