/* The event bus runtime: making sure the main topic and the DLQ topic exist when the bus
 * connects.
 *
 * The topics are described first (Metadata without auto-creation where the broker's version
 * allows it). A missing topic is created through CreateTopics with the configured partitions
 * and replication factor; TOPIC_ALREADY_EXISTS (another bus won the race) is success. A broker
 * that does not serve CreateTopics (librdkafka's mock cluster, very old brokers) gets a
 * Metadata request that lets it auto-create the topic instead. */
#include <string.h>

#include "bus/bus_rt.h"

#define UNKNOWN_TOPIC_OR_PARTITION 3
#define TOPIC_ALREADY_EXISTS       36

typedef struct ensure {
    kw_bus *bus;
    bool done;
    kw_err err;
    kw_error detail;
    bool exists[2];   /* main, dlq */
    int32_t parts[2]; /* partition counts when they exist */
    bool unsupported; /* CreateTopics is not served */
    /* A call is outstanding; when the wait gives up (deadline, failed step) the state is
     * abandoned instead of freed, and the call's callback frees it: the callback still comes
     * (at the latest when the bus frees its admin handle and client) and must not write into
     * freed memory or a returned stack frame. */
    bool pending, abandoned;
} ensure;

/* Every callback starts here: the call is over. False when the callback has nothing more to
 * do: the state was abandoned (and is now freed), or the call failed (its error is kept). */
static bool
begin(ensure *s, kw_err e, const kw_error *detail)
{
    s->pending = false;
    if (s->abandoned) {
        kwi_busr_free(s->bus, s, sizeof(*s));
        return false;
    }
    s->done = true;
    s->err = e;
    if (e != KW_ERR_OK)
        s->detail = *detail;
    return e == KW_ERR_OK;
}

static int
which(const kw_bus *bus, const char *name)
{
    if (strcmp(name, bus->topic) == 0)
        return 0;
    if (strcmp(name, bus->dlq_topic) == 0)
        return 1;
    return -1;
}

static void
on_describe(kw_admin *ad, kw_err e, const kw_error *detail, const kw_admin_result *r, void *ud)
{
    (void)ad;
    ensure *s = ud;
    if (!begin(s, e, detail))
        return;
    for (int32_t i = 0; i < r->n_descriptions; i++) {
        const kw_topic_description *d = &r->descriptions[i];
        int w = which(s->bus, d->name);
        if (w < 0)
            continue;
        if (d->error->code == KW_ERR_OK && d->n_partitions > 0) {
            s->exists[w] = true;
            s->parts[w] = d->n_partitions;
        } else if (d->error->code != KW_ERR_OK &&
                   !(d->error->code == KW_ERR_BROKER &&
                     d->error->broker_code == UNKNOWN_TOPIC_OR_PARTITION)) {
            s->err = d->error->code;
            s->detail = *d->error;
        }
    }
}

static void
on_create(kw_admin *ad, kw_err e, const kw_error *detail, const kw_admin_result *r, void *ud)
{
    (void)ad;
    ensure *s = ud;
    if (!begin(s, e, detail))
        return;
    for (int32_t i = 0; i < r->n_topics; i++) {
        const kw_error *te = r->topics[i].error;
        if (te->code == KW_ERR_OK ||
            (te->code == KW_ERR_BROKER && te->broker_code == TOPIC_ALREADY_EXISTS))
            continue;
        if (te->code == KW_ERR_UNSUPPORTED_VERSION) {
            s->unsupported = true;
            continue;
        }
        s->err = te->code;
        s->detail = *te;
    }
}

static void
on_md(kw_client *c, kw_err e, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    (void)md;
    begin(ud, e, detail);
}

static kw_err
wait_done(kw_bus *bus, ensure *s, int64_t deadline, kw_error *err)
{
    while (!s->done) {
        int64_t left = deadline - kwi_busr_mono_ms();
        if (left <= 0)
            return kw_error_set(err, KW_ERR_TIMED_OUT, "topics %s and %s not ready in time",
                                bus->topic, bus->dlq_topic);
        kw_err e = kw_client_step(bus->client, left < 100 ? (int)left : 100, err);
        if (e != KW_ERR_OK)
            return e;
    }
    s->done = false;
    if (s->err != KW_ERR_OK && err)
        *err = s->detail;
    return s->err;
}

static kw_err
describe(kw_bus *bus, ensure *s, int64_t deadline, kw_error *err)
{
    const char *names[] = {bus->topic, bus->dlq_topic};
    kw_admin_opts o;
    kw_admin_opts_init(&o);
    o.timeout_ms = (int)(deadline - kwi_busr_mono_ms());
    if (o.timeout_ms <= 0)
        return kw_error_set(err, KW_ERR_TIMED_OUT, "topics not ready in time");
    kw_err e = kw_admin_describe_topics(bus->admin, names, 2, &o, on_describe, s, err);
    s->pending = e == KW_ERR_OK;
    return e == KW_ERR_OK ? wait_done(bus, s, deadline, err) : e;
}

static kw_err
create_missing(kw_bus *bus, ensure *s, int64_t deadline, kw_error *err)
{
    kw_new_topic t[2];
    size_t n = 0;
    for (int w = 0; w < 2; w++) {
        if (s->exists[w])
            continue;
        kw_new_topic_init(&t[n]);
        t[n].name = w == 0 ? bus->topic : bus->dlq_topic;
        t[n].partitions = bus->cfg.topic_partitions;
        t[n].replication_factor = bus->cfg.topic_replication_factor;
        n++;
    }
    kw_admin_opts o;
    kw_admin_opts_init(&o);
    o.timeout_ms = (int)(deadline - kwi_busr_mono_ms());
    if (o.timeout_ms <= 0)
        return kw_error_set(err, KW_ERR_TIMED_OUT, "topics not ready in time");
    kw_err e = kw_admin_create_topics(bus->admin, t, n, &o, on_create, s, err);
    s->pending = e == KW_ERR_OK;
    if (e == KW_ERR_OK)
        e = wait_done(bus, s, deadline, err);
    if (e == KW_ERR_OK && s->unsupported) {
        /* No CreateTopics: a Metadata request that lets the broker auto-create them. */
        const char *names[] = {bus->topic, bus->dlq_topic};
        e = kw_client_metadata(bus->client, names, 2, o.timeout_ms, on_md, s, err);
        s->pending = e == KW_ERR_OK;
        if (e == KW_ERR_OK)
            e = wait_done(bus, s, deadline, err);
    }
    return e;
}

static kw_err
ensure_run(kw_bus *bus, ensure *s, int64_t deadline_ms, kw_error *err)
{
    kw_err e = describe(bus, s, deadline_ms, err);
    if (e == KW_ERR_OK && (!s->exists[0] || !s->exists[1]) && !bus->cfg.create_topics) {
        /* Not ours to create: a Metadata request lets a broker with auto-creation make them
         * (the describe above did not ask for that); a broker without it keeps answering
         * UNKNOWN_TOPIC_OR_PARTITION, so this waits only briefly. */
        const char *names[] = {bus->topic, bus->dlq_topic};
        int64_t left = deadline_ms - kwi_busr_mono_ms();
        int64_t until = kwi_busr_mono_ms() + (left < 2000 ? left : 2000);
        if (kw_client_metadata(bus->client, names, 2, (int)(until - kwi_busr_mono_ms()), on_md, s,
                               NULL) == KW_ERR_OK) {
            s->pending = true;
            wait_done(bus, s, until + 100, NULL);
            if (s->pending) /* gave up: the describe below must not share the state */
                return kw_error_set(err, KW_ERR_TIMED_OUT, "topics %s and %s not ready in time",
                                    bus->topic, bus->dlq_topic);
        }
        s->err = KW_ERR_OK;
        e = describe(bus, s, deadline_ms, err);
        if (e == KW_ERR_OK && (!s->exists[0] || !s->exists[1]))
            return kw_error_set(err, KW_ERR_NOT_FOUND,
                                "topic %s does not exist and create_topics is off",
                                s->exists[0] ? bus->dlq_topic : bus->topic);
    } else if (e == KW_ERR_OK && (!s->exists[0] || !s->exists[1])) {
        e = create_missing(bus, s, deadline_ms, err);
        /* A created topic may take a moment to appear in every broker's metadata. */
        while (e == KW_ERR_OK && (!s->exists[0] || !s->exists[1])) {
            if (kwi_busr_mono_ms() >= deadline_ms)
                return kw_error_set(err, KW_ERR_NOT_FOUND, "topic %s was not created in time",
                                    s->exists[0] ? bus->dlq_topic : bus->topic);
            kw_client_step(bus->client, 50, NULL);
            e = describe(bus, s, deadline_ms, err);
        }
    }
    if (e != KW_ERR_OK)
        return e;
    pthread_mutex_lock(&bus->mu);
    bus->partitions = s->parts[0];
    pthread_mutex_unlock(&bus->mu);
    return KW_ERR_OK;
}

kw_err
kwi_busr_topics_ensure(kw_bus *bus, int64_t deadline_ms, kw_error *err)
{
    ensure *s = kwi_busr_alloc(bus, sizeof(*s));
    if (!s)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    memset(s, 0, sizeof(*s));
    s->bus = bus;
    kw_err e = ensure_run(bus, s, deadline_ms, err);
    if (s->pending)
        s->abandoned = true; /* its callback frees it */
    else
        kwi_busr_free(bus, s, sizeof(*s));
    return e;
}
