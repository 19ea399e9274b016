/* The event bus runtime: publishing events, waiting for their acknowledgements, and the
 * producer's delivery reports for everything the bus sends. */
#include <string.h>
#include <time.h>

#include "bus/bus_rt.h"

kw_err
kwi_busr_send(kw_bus *bus, const kw_message *m, int64_t deadline_ms, kw_error *err)
{
    for (;;) {
        kw_err e = kw_producer_send(bus->prod, m, err);
        if (e != KW_ERR_QUEUE_FULL || kwi_busr_mono_ms() >= deadline_ms)
            return e;
        /* buffer.memory is used up: let deliveries drain it. On the loop's thread that
         * means stepping; elsewhere the loop's own thread drains it while we nap. */
        if (!kwi_busr_on_loop(bus) || kw_client_step(bus->client, 10, NULL) == KW_ERR_STATE) {
            struct timespec ts = {0, 1000000L};
            nanosleep(&ts, NULL);
        }
    }
}

static void
pubop_free(kw_bus *bus, kwi_bus_pubop *op)
{
    kwi_busr_free(bus, op->results, op->n * sizeof(*op->results));
    kwi_busr_free(bus, op, sizeof(*op));
}

/* One event's outcome is known (a report, or a send that failed): count it and wake the
 * waiting caller. Called with bus->mu held. Returns whether the op should be freed. */
static bool
pubop_settle(kw_bus *bus, kwi_bus_pubop *op)
{
    op->remaining--;
    if (op->remaining > 0)
        return false;
    if (op->async || op->abandoned)
        return true;
    pthread_cond_broadcast(&bus->cond);
    return false;
}

static void
event_reported(kw_bus *bus, kwi_bus_pubrec *r, const kw_delivery *d)
{
    int64_t now = kw_bus_time_now_us();
    const char *type = r->event_type;
    if (bus->cfg.enable_metrics) {
        const char *lab[] = {bus->topic, type, kw_err_name(d->err)};
        if (d->err == KW_ERR_OK)
            kwi_bus_metrics_add(bus->metrics, KWI_BUS_M_PUBLISHED, lab, 1);
        else
            kwi_bus_metrics_add(bus->metrics, KWI_BUS_M_PUBLISH_ERRORS, lab, 1);
        const char *dl[] = {bus->topic};
        kwi_bus_metrics_observe(bus->metrics, KWI_BUS_M_PUBLISH_DURATION, dl,
                                (double)(now - r->t0_us) / 1000.0);
    }
    if (r->span) {
        kw_bus_failure f;
        if (d->err == KW_ERR_OK) {
            kwi_bus_span_attr_int(r->span, "messaging.kafka.partition", d->partition);
            kwi_bus_span_attr_int(r->span, "messaging.kafka.offset", d->offset);
        }
        if (d->err != KW_ERR_OK)
            kw_bus_failure_set(&f, kw_err_name(d->err), "%s", d->detail->msg);
        kwi_bus_span_end(r->span, &bus->opts.tracer, d->err == KW_ERR_OK ? NULL : &f, now);
    }
    pthread_mutex_lock(&bus->mu);
    if (d->err == KW_ERR_OK) {
        bus->st.events_published++;
        bus->st.last_publish_at_us = now;
    } else {
        bus->st.publish_errors++;
        bus->st.last_error_at_us = now;
    }
    kwi_bus_pubop *op = r->op;
    kw_bus_publish_result *res = &op->results[r->index];
    res->err = d->err;
    res->partition = d->partition;
    res->offset = d->offset;
    res->detail = *d->detail;
    res->detail.code = d->err;
    bool free_op = pubop_settle(bus, op);
    pthread_mutex_unlock(&bus->mu);
    if (free_op)
        pubop_free(bus, op);
    kwi_busr_free(bus, r->span, sizeof(*r->span));
    kwi_busr_free(bus, r, sizeof(*r));
}

void
kwi_busr_on_delivery(kw_producer *p, const kw_delivery *d, void *ud)
{
    (void)p;
    kw_bus *bus = ud;
    kwi_bus_rec_kind *kind = d->opaque;
    if (!kind)
        return;
    if (*kind == KWI_BUS_REC_EVENT)
        event_reported(bus, (kwi_bus_pubrec *)kind, d);
    else
        kwi_busr_wrec_done(bus, (kwi_bus_wrec *)kind, d);
}

/* Encode and send one event. On failure nothing was sent and no report will come. */
static kw_err
send_event(kw_bus *bus, kwi_bus_pubop *op, size_t i, const kw_bus_event *ev, kw_arena *ar,
           kwi_bus_rng *rng, int64_t deadline, kw_error *err)
{
    kwi_bus_pubrec *r = kwi_busr_alloc(bus, sizeof(*r));
    if (!r)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    r->kind = KWI_BUS_REC_EVENT;
    r->op = op;
    r->index = i;
    r->t0_us = kw_bus_time_now_us();
    snprintf(r->event_type, sizeof(r->event_type), "%s", ev->event_type ? ev->event_type : "");
    kw_bus_span local, *sp = &local;
    char tp[KW_BUS_TRACEPARENT_SIZE];
    const char *traceparent = NULL, *tracestate = NULL;
    if (bus->cfg.enable_tracing) {
        if (bus->opts.tracer.span_end) {
            r->span = kwi_busr_alloc(bus, sizeof(*r->span));
            if (!r->span) {
                kwi_busr_free(bus, r, sizeof(*r));
                return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
            }
            sp = r->span;
        }
        kwi_bus_span_publish(sp, &bus->opts.tracer, ev, bus->topic, rng, r->t0_us);
        traceparent = kwi_bus_span_traceparent(sp, tp);
        tracestate = sp->tracestate;
    }
    kw_bus_record rec;
    kw_err e = kw_bus_event_encode(ev, traceparent, tracestate, ar, &rec, err);
    if (e == KW_ERR_OK) {
        kw_message m;
        kw_message_init(&m);
        m.topic = bus->topic;
        m.key = rec.key;
        m.value = rec.value;
        m.headers = rec.headers;
        m.n_headers = rec.n_headers;
        m.timestamp = ev->occurred_at_us > 0 ? ev->occurred_at_us / 1000 : KW_TIMESTAMP_NOW;
        m.opaque = r;
        e = kwi_busr_send(bus, &m, deadline, err);
    }
    kw_arena_reset(ar);
    if (e != KW_ERR_OK) {
        if (r->span) {
            kw_bus_failure f;
            kw_bus_failure_set(&f, kw_err_name(e), "%s", err ? err->msg : kw_err_str(e));
            kwi_bus_span_end(r->span, &bus->opts.tracer, &f, kw_bus_time_now_us());
        }
        kwi_busr_free(bus, r->span, sizeof(*r->span));
        kwi_busr_free(bus, r, sizeof(*r));
    }
    return e;
}

static kw_err
publish_begin(kw_bus *bus, const kw_bus_event *events, size_t n, bool async, int64_t deadline,
              kwi_bus_pubop **out, kw_error *err)
{
    *out = NULL;
    if (!bus || (!events && n > 0))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bus and events are required");
    if (!bus->connected || bus->closed)
        return kw_error_set(err, KW_ERR_STATE, "the bus is not connected");
    kwi_bus_pubop *op = kwi_busr_alloc(bus, sizeof(*op));
    if (!op)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    op->results = kwi_busr_alloc(bus, (n ? n : 1) * sizeof(*op->results));
    if (!op->results) {
        kwi_busr_free(bus, op, sizeof(*op));
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        /* What an event still in flight reports when the caller stops waiting. */
        op->results[i].err = KW_ERR_TIMED_OUT;
        op->results[i].partition = -1;
        op->results[i].offset = -1;
        kw_error_set(&op->results[i].detail, KW_ERR_TIMED_OUT, "not acknowledged yet");
    }
    op->n = n;
    op->async = async;
    /* One extra count held by this call, so the op cannot complete (and, async, be freed)
     * while events are still being sent. */
    op->remaining = n + 1;
    if (bus->cfg.enable_metrics)
        kwi_bus_metrics_observe(bus->metrics, KWI_BUS_M_BATCH_SIZE, NULL, (double)n);
    /* The arena and generator are this call's own: publish may run on any thread while the
     * loop's thread uses the bus's. */
    kw_arena ar;
    kw_arena_init(&ar, bus->a, 0);
    kwi_bus_rng rng;
    kwi_bus_rng_seed_random(&rng);
    kw_err first = KW_ERR_OK;
    for (size_t i = 0; i < n; i++) {
        kw_error e1;
        kw_error_init(&e1);
        kw_err e = send_event(bus, op, i, &events[i], &ar, &rng, deadline, &e1);
        if (e == KW_ERR_OK)
            continue;
        pthread_mutex_lock(&bus->mu);
        op->results[i].err = e;
        op->results[i].partition = -1;
        op->results[i].offset = -1;
        op->results[i].detail = e1;
        op->remaining--;
        bus->st.publish_errors++;
        bus->st.last_error_at_us = kw_bus_time_now_us();
        pthread_mutex_unlock(&bus->mu);
        if (bus->cfg.enable_metrics) {
            const char *lab[] = {bus->topic, events[i].event_type ? events[i].event_type : "",
                                 kw_err_name(e)};
            kwi_bus_metrics_add(bus->metrics, KWI_BUS_M_PUBLISH_ERRORS, lab, 1);
        }
        if (first == KW_ERR_OK) {
            first = e;
            if (err)
                *err = e1;
        }
    }
    kw_arena_fini(&ar);
    *out = op;
    return first;
}

/* Drop this call's own count; frees the op when it is async and every report came. */
static void
publish_release(kw_bus *bus, kwi_bus_pubop *op)
{
    pthread_mutex_lock(&bus->mu);
    bool free_op = pubop_settle(bus, op);
    pthread_mutex_unlock(&bus->mu);
    if (free_op)
        pubop_free(bus, op);
}

/* Wait until every event of op is reported or the deadline passes. On timeout the results so
 * far are copied into `results` and the op is left to the last report to free. */
static bool
publish_wait(kw_bus *bus, kwi_bus_pubop *op, int64_t deadline, kw_bus_publish_result *results)
{
    kw_producer_flush(bus->prod, 0, NULL); /* linger.ms no longer waits */
    bool on_loop = kwi_busr_on_loop(bus);
    pthread_mutex_lock(&bus->mu);
    while (op->remaining > 0) {
        int64_t left = deadline - kwi_busr_mono_ms();
        if (left <= 0)
            break;
        int slice = left < 100 ? (int)left : 100;
        if (on_loop) {
            pthread_mutex_unlock(&bus->mu);
            kw_err e = kw_client_step(bus->client, slice, NULL);
            pthread_mutex_lock(&bus->mu);
            if (e == KW_ERR_STATE)
                break; /* inside a client callback: waiting would deadlock */
            continue;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        int64_t ns = ts.tv_nsec + (int64_t)slice * 1000000L;
        ts.tv_sec += ns / 1000000000L;
        ts.tv_nsec = ns % 1000000000L;
        pthread_cond_timedwait(&bus->cond, &bus->mu, &ts);
    }
    bool done = op->remaining == 0;
    if (!done) {
        for (size_t i = 0; results && i < op->n; i++)
            results[i] = op->results[i];
        op->abandoned = true;
    }
    pthread_mutex_unlock(&bus->mu);
    return done;
}

kw_err
kw_bus_publish(kw_bus *bus, const kw_bus_event *events, size_t n, kw_bus_publish_result *results,
               int timeout_ms, kw_error *err)
{
    int64_t deadline = kwi_busr_mono_ms() + (timeout_ms >= 0 ? timeout_ms : 30000);
    kwi_bus_pubop *op = NULL;
    kw_err first = publish_begin(bus, events, n, false, deadline, &op, err);
    if (!op)
        return first;
    pthread_mutex_lock(&bus->mu);
    op->remaining--; /* this call's own count: wait for the reports only */
    pthread_mutex_unlock(&bus->mu);
    if (!publish_wait(bus, op, deadline, results)) {
        /* Events still in flight report KW_ERR_TIMED_OUT; nothing is written into the
         * caller's array after this return. */
        return kw_error_set(err, KW_ERR_TIMED_OUT, "events not acknowledged within %d ms",
                            timeout_ms);
    }
    kw_err e = KW_ERR_OK;
    for (size_t i = 0; i < n; i++) {
        if (results)
            results[i] = op->results[i];
        if (op->results[i].err != KW_ERR_OK && e == KW_ERR_OK) {
            e = op->results[i].err;
            if (err)
                *err = op->results[i].detail;
        }
    }
    pubop_free(bus, op);
    return e;
}

kw_err
kw_bus_publish_async(kw_bus *bus, const kw_bus_event *events, size_t n, kw_error *err)
{
    kwi_bus_pubop *op = NULL;
    kw_err e = publish_begin(bus, events, n, true, kwi_busr_mono_ms() + 30000, &op, err);
    if (op)
        publish_release(bus, op);
    return e;
}
