/* The event bus runtime: writing consumed events to the dead-letter topic, and the DLQ tools
 * (list, count, replay).
 *
 * Like eventsource-py's throwaway consumers, every DLQ tool runs on a client of its own,
 * built from the bus's configuration and stepped on the calling thread: a tool never
 * disturbs the bus's consumer group (no group id: manual assignment, nothing committed) and
 * may be called whichever thread drives the bus. */
#include <stdlib.h>
#include <string.h>

#include "bus/bus_rt.h"

kw_err
kwi_busr_dlq_write(kw_bus *bus, const kw_consumer_msg *m, kwi_bus_dlq_reason reason,
                   const kw_bus_failure *why, int32_t retries)
{
    kwi_ptrack *p = kwi_track_get(&bus->track, m->partition);
    if (!p)
        return KW_ERR_OK;
    if (!bus->cfg.enable_dlq) {
        pthread_mutex_lock(&bus->mu);
        bus->st.events_dropped++;
        pthread_mutex_unlock(&bus->mu);
        kwi_ptrack_done(p, m->offset);
        return KW_ERR_OK;
    }
    kwi_bus_dlq_info info;
    memset(&info, 0, sizeof(info));
    info.reason = reason;
    info.error_type = why->type;
    info.error_message = why->message;
    info.error_message_len = strlen(why->message);
    info.retry_count = retries;
    info.timestamp_us = kw_bus_time_now_us();
    info.original_topic = bus->topic;
    info.original_partition = m->partition;
    info.original_offset = m->offset;
    info.consumer_group = bus->cfg.consumer_group;
    kw_header *h = NULL;
    int32_t nh = 0;
    kw_err e = kwi_bus_dlq_headers(m->headers, m->n_headers, &info, &bus->scratch, &h, &nh, NULL);
    if (e == KW_ERR_OK)
        e = kwi_busr_write(bus, p, KWI_BUS_REC_DLQ, m, bus->dlq_topic, h, nh, reason, why->type,
                           true);
    if (e != KW_ERR_OK) {
        /* Out of memory: nothing is pending, so the partition goes back to the event and
         * hands it out again after a backoff rather than let a commit pass it. */
        kwi_busr_hold_at(bus, p, m->offset, 0,
                         kwi_busr_mono_ms() + kwi_bus_retry_delay_ms(&bus->retry, 0, &bus->rng));
        kwi_busr_error_at(bus);
        kwi_busr_log(bus, KW_LOG_ERROR, "DLQ write of %s [%d] offset %lld: %s", bus->topic,
                     (int)m->partition, (long long)m->offset, kw_err_name(e));
    }
    return e;
}

/* ---------------------------------------------------------------- the tools' own client */

typedef struct tool {
    kw_bus *bus;
    kw_client *c;
    kw_consumer *k;
    kw_admin *ad;
    kw_producer *prod;
    int64_t deadline;
    bool done;
    kw_err err;
    kw_error detail;
    int32_t n_parts;
    int64_t *lo, *hi; /* per partition: earliest and latest offsets */
} tool;

static void
tool_fini(tool *t)
{
    kw_consumer_free(t->k);
    kw_admin_free(t->ad);
    kw_producer_free(t->prod);
    kw_client_free(t->c);
    if (t->lo)
        kwi_busr_free(t->bus, t->lo, (size_t)t->n_parts * sizeof(int64_t) * 2);
}

static kw_err
tool_init(tool *t, kw_bus *bus, int timeout_ms, bool produce, kw_error *err)
{
    memset(t, 0, sizeof(*t));
    t->bus = bus;
    t->deadline = kwi_busr_mono_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
    kw_err e = kwi_busr_client_new(bus, KW_BUS_CONF_CONSUMER | (produce ? KW_BUS_CONF_PRODUCER : 0),
                                   false, &t->c, err);
    if (e == KW_ERR_OK)
        e = kw_consumer_new(t->c, NULL, &t->k, err);
    if (e == KW_ERR_OK)
        e = kw_admin_new(t->c, &t->ad, err);
    if (e == KW_ERR_OK && produce)
        e = kw_producer_new(t->c, NULL, &t->prod, err);
    if (e != KW_ERR_OK)
        tool_fini(t);
    return e;
}

/* Step the tool's client until the current call is done. */
static kw_err
tool_wait(tool *t, kw_error *err)
{
    while (!t->done) {
        int64_t left = t->deadline - kwi_busr_mono_ms();
        if (left <= 0)
            return kw_error_set(err, KW_ERR_TIMED_OUT, "the DLQ tool timed out");
        kw_err e = kw_client_step(t->c, left < 100 ? (int)left : 100, err);
        if (e != KW_ERR_OK)
            return e;
    }
    t->done = false;
    if (t->err != KW_ERR_OK && err)
        *err = t->detail;
    return t->err;
}

/* Every callback of a tool starts here: the call is over; false when it failed (the error is
 * kept for tool_wait). */
static bool
tool_done(tool *t, kw_err e, const kw_error *detail)
{
    t->done = true;
    t->err = e;
    if (e != KW_ERR_OK)
        t->detail = *detail;
    return e == KW_ERR_OK;
}

static void
on_md(kw_client *c, kw_err e, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    tool *t = ud;
    if (!tool_done(t, e, detail))
        return;
    t->n_parts = 0;
    for (int32_t i = 0; i < md->n_topics; i++)
        if (strcmp(md->topics[i].name, t->bus->dlq_topic) == 0 && md->topics[i].error == 0)
            t->n_parts = md->topics[i].n_partitions;
}

static void
on_offsets(kw_admin *ad, kw_err e, const kw_error *detail, const kw_admin_result *r, void *ud)
{
    (void)ad;
    tool *t = ud;
    if (!tool_done(t, e, detail))
        return;
    /* The request listed every partition twice: earliest first, then latest. */
    for (int32_t i = 0; i < r->n_partitions && i < 2 * t->n_parts; i++) {
        const kw_partition_offset *po = &r->partitions[i];
        if (po->error->code != KW_ERR_OK) {
            t->err = po->error->code;
            t->detail = *po->error;
            return;
        }
        (i < t->n_parts ? t->lo : t->hi)[po->partition] = po->offset;
    }
}

/* The DLQ's partitions and their earliest and latest offsets. */
static kw_err
tool_ranges(tool *t, kw_error *err)
{
    const char *topics[] = {t->bus->dlq_topic};
    kw_err e = kw_client_metadata(t->c, topics, 1, 0, on_md, t, err);
    if (e == KW_ERR_OK)
        e = tool_wait(t, err);
    if (e != KW_ERR_OK || t->n_parts == 0)
        return e;
    t->lo = kwi_busr_alloc(t->bus, (size_t)t->n_parts * sizeof(int64_t) * 2);
    if (!t->lo)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    t->hi = t->lo + t->n_parts;
    kw_partition_offset_req *req = kwi_busr_alloc(t->bus, (size_t)t->n_parts * 2 * sizeof(*req));
    if (!req)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < 2 * t->n_parts; i++) {
        req[i].topic = t->bus->dlq_topic;
        req[i].partition = i % t->n_parts;
        req[i].spec = i < t->n_parts ? KW_OFFSET_EARLIEST : KW_OFFSET_LATEST;
    }
    kw_admin_opts o;
    kw_admin_opts_init(&o);
    o.timeout_ms = (int)(t->deadline - kwi_busr_mono_ms());
    e = kw_admin_list_offsets(t->ad, req, (size_t)t->n_parts * 2, &o, on_offsets, t, err);
    kwi_busr_free(t->bus, req, (size_t)t->n_parts * 2 * sizeof(*req));
    return e == KW_ERR_OK ? tool_wait(t, err) : e;
}

kw_err
kw_bus_get_dlq_message_count(kw_bus *bus, int timeout_ms, int64_t *out, kw_error *err)
{
    if (!bus || !out)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bus and out are required");
    *out = 0;
    tool t;
    kw_err e = tool_init(&t, bus, timeout_ms, false, err);
    if (e != KW_ERR_OK)
        return e;
    e = tool_ranges(&t, err);
    for (int32_t i = 0; e == KW_ERR_OK && i < t.n_parts; i++)
        if (t.hi[i] > t.lo[i])
            *out += t.hi[i] - t.lo[i];
    tool_fini(&t);
    return e;
}

/* ---------------------------------------------------------------- listing */

static bool
copy_msg(kw_bus *bus, kw_bus_dlq_list *l, const kw_consumer_msg *m)
{
    kw_bus_dlq_message *d = &l->messages[l->n];
    memset(d, 0, sizeof(*d));
    d->topic = bus->dlq_topic;
    d->partition = m->partition;
    d->offset = m->offset;
    d->timestamp_ms = m->timestamp;
    kw_header *h =
        m->n_headers > 0 ? kw_arena_calloc(&l->arena, (size_t)m->n_headers, sizeof(*h)) : NULL;
    if (m->n_headers > 0 && !h)
        return false;
    for (int32_t i = 0; i < m->n_headers; i++)
        if (!kwi_busr_copy_slice(&l->arena, m->headers[i].key, &h[i].key) ||
            !kwi_busr_copy_slice(&l->arena, m->headers[i].value, &h[i].value))
            return false;
    d->headers = h;
    d->n_headers = m->n_headers;
    if (kwi_bus_dlq_replay_count(h, m->n_headers, &d->replay_count) != KW_ERR_OK)
        d->replay_count = 0;
    if (!kwi_busr_copy_slice(&l->arena, m->key, &d->key) ||
        !kwi_busr_copy_slice(&l->arena, m->value, &d->payload))
        return false;
    l->n++;
    return true;
}

static int
cmp_dlq(const void *a, const void *b)
{
    const kw_bus_dlq_message *x = a, *y = b;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return x->offset < y->offset ? -1 : (x->offset > y->offset);
}

/* Read every partition from its earliest to its latest offset as of the start, or until
 * `limit` messages were copied. */
static kw_err
read_all(tool *t, size_t limit, kw_bus_dlq_list *l, kw_error *err)
{
    size_t na = 0;
    kw_topic_partition *tp = kwi_busr_alloc(t->bus, (size_t)t->n_parts * sizeof(*tp));
    if (!tp)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    for (int32_t i = 0; i < t->n_parts; i++) {
        if (t->hi[i] <= t->lo[i])
            continue;
        memset(&tp[na], 0, sizeof(tp[na]));
        tp[na].topic = t->bus->dlq_topic;
        tp[na].partition = i;
        tp[na].offset = t->lo[i];
        tp[na].leader_epoch = -1;
        na++;
    }
    kw_err e = na ? kw_consumer_assign(t->k, tp, na, err) : KW_ERR_OK;
    kwi_busr_free(t->bus, tp, (size_t)t->n_parts * sizeof(*tp));
    size_t open = na;
    while (e == KW_ERR_OK && open > 0 && l->n < limit) {
        int64_t left = t->deadline - kwi_busr_mono_ms();
        if (left <= 0)
            return kw_error_set(err, KW_ERR_TIMED_OUT, "the DLQ was not read within the timeout");
        kw_consumer_msg *msgs[64];
        size_t n = 0;
        e = kw_consumer_poll(t->k, msgs, 64, left < 200 ? (int)left : 200, &n, err);
        for (size_t i = 0; i < n; i++) {
            const kw_consumer_msg *m = msgs[i];
            if (m->err == KW_ERR_OK && m->partition >= 0 && m->partition < t->n_parts &&
                m->offset < t->hi[m->partition] && l->n < limit) {
                if (!copy_msg(t->bus, l, m))
                    e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
                if (m->offset + 1 >= t->hi[m->partition])
                    open--;
            }
        }
        kw_consumer_msgs_release(msgs, n);
    }
    return e;
}

kw_err
kw_bus_get_dlq_messages(kw_bus *bus, size_t limit, int timeout_ms, kw_bus_dlq_list *out,
                        kw_error *err)
{
    if (!bus || !out)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bus and out are required");
    memset(out, 0, sizeof(*out));
    kw_arena_init(&out->arena, bus->a, 0);
    if (limit == 0)
        return KW_ERR_OK;
    tool t;
    kw_err e = tool_init(&t, bus, timeout_ms, false, err);
    if (e != KW_ERR_OK)
        return e;
    e = tool_ranges(&t, err);
    if (e == KW_ERR_OK && t.n_parts > 0) {
        int64_t total = 0;
        for (int32_t i = 0; i < t.n_parts; i++)
            total += t.hi[i] > t.lo[i] ? t.hi[i] - t.lo[i] : 0;
        size_t cap = (size_t)total < limit ? (size_t)total : limit;
        out->messages = cap ? kw_arena_calloc(&out->arena, cap, sizeof(*out->messages)) : NULL;
        if (cap && !out->messages)
            e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        if (e == KW_ERR_OK && cap)
            e = read_all(&t, cap, out, err);
        if (out->n > 1)
            qsort(out->messages, out->n, sizeof(*out->messages), cmp_dlq);
    }
    tool_fini(&t);
    if (e != KW_ERR_OK)
        kw_bus_dlq_list_free(out);
    return e;
}

void
kw_bus_dlq_list_free(kw_bus_dlq_list *l)
{
    if (!l)
        return;
    kw_arena_fini(&l->arena);
    l->messages = NULL;
    l->n = 0;
}

/* ---------------------------------------------------------------- replay */

static kw_err
fetch_one(tool *t, int32_t partition, int64_t offset, kw_consumer_msg **out, kw_error *err)
{
    kw_topic_partition tp;
    memset(&tp, 0, sizeof(tp));
    tp.topic = t->bus->dlq_topic;
    tp.partition = partition;
    tp.offset = offset;
    tp.leader_epoch = -1;
    kw_err e = kw_consumer_assign(t->k, &tp, 1, err);
    while (e == KW_ERR_OK) {
        int64_t left = t->deadline - kwi_busr_mono_ms();
        if (left <= 0)
            return kw_error_set(err, KW_ERR_NOT_FOUND, "no DLQ record at partition %d offset %lld",
                                (int)partition, (long long)offset);
        kw_consumer_msg *m[1];
        size_t n = 0;
        e = kw_consumer_poll(t->k, m, 1, left < 200 ? (int)left : 200, &n, err);
        if (e != KW_ERR_OK || n == 0)
            continue;
        if (m[0]->err == KW_ERR_OK && m[0]->offset == offset) {
            *out = m[0];
            return KW_ERR_OK;
        }
        kw_err me = m[0]->err;
        kw_consumer_msg_release(m[0]);
        /* A later offset: the record was deleted or compacted away. An error: the offset is
         * out of range. */
        return kw_error_set(err, KW_ERR_NOT_FOUND, "no DLQ record at partition %d offset %lld%s",
                            (int)partition, (long long)offset,
                            me != KW_ERR_OK ? " (offset out of range)" : "");
    }
    return e;
}

kw_err
kw_bus_replay_dlq_message(kw_bus *bus, int32_t partition, int64_t offset, bool force,
                          int timeout_ms, kw_error *err)
{
    if (!bus || partition < 0 || offset < 0)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "a bus, a partition and an offset >= 0");
    tool t;
    kw_err e = tool_init(&t, bus, timeout_ms, true, err);
    if (e != KW_ERR_OK)
        return e;
    kw_consumer_msg *m = NULL;
    e = fetch_one(&t, partition, offset, &m, err);
    kw_arena ar;
    kw_arena_init(&ar, bus->a, 0);
    kw_header *h = NULL;
    int32_t nh = 0, count = 0;
    if (e == KW_ERR_OK)
        e = kwi_bus_dlq_replay_headers(m->headers, m->n_headers, bus->cfg.dlq_max_replay_attempts,
                                       force, &ar, &h, &nh, &count, err);
    if (e == KW_ERR_OK) {
        kw_message out;
        kw_message_init(&out);
        out.topic = bus->topic;
        out.key = m->key;
        out.value = m->value;
        out.headers = h;
        out.n_headers = nh;
        e = kw_producer_send(t.prod, &out, err);
    }
    kw_consumer_msg_release(m);
    kw_arena_fini(&ar);
    if (e == KW_ERR_OK) {
        int left = (int)(t.deadline - kwi_busr_mono_ms());
        e = kw_producer_flush(t.prod, left > 0 ? left : 1, err);
        kw_producer_stats ps;
        kw_producer_stats_get(t.prod, &ps);
        if (e == KW_ERR_OK && ps.delivered != 1)
            e = kw_error_set(err, KW_ERR_IO, "the replayed record was not acknowledged");
    }
    tool_fini(&t);
    return e;
}
