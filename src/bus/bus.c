/* The event bus runtime: creation, connection, subscriptions, the ways of driving the loop,
 * shutdown, statistics. See kwire/bus.h for the contract and bus_rt.h for the layout. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus_rt.h"

void *
kwi_busr_alloc(kw_bus *bus, size_t n)
{
    void *p = bus->a->alloc(bus->a->ud, n);
    if (p)
        memset(p, 0, n);
    return p;
}

void
kwi_busr_free(kw_bus *bus, void *p, size_t n)
{
    if (p)
        bus->a->free(bus->a->ud, p, n);
}

int64_t
kwi_busr_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
kwi_busr_on_loop(kw_bus *bus)
{
    if (bus->thread_running || atomic_load(&bus->in_loop))
        return pthread_equal(pthread_self(), bus->loop_owner) != 0;
    return true;
}

void
kwi_busr_error_at(kw_bus *bus)
{
    pthread_mutex_lock(&bus->mu);
    bus->st.last_error_at_us = kw_bus_time_now_us();
    pthread_mutex_unlock(&bus->mu);
}

void
kw_bus_opts_init(kw_bus_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->log_level = KW_LOG_WARN;
}

void
kwi_busr_log(kw_bus *bus, kw_log_level level, const char *fmt, ...)
{
    if (!bus->opts.log || level > bus->opts.log_level)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    bus->opts.log(bus->opts.log_ud, level, "bus", line);
}

kw_err
kwi_busr_client_new(kw_bus *bus, unsigned roles, bool with_group, kw_client **out, kw_error *err)
{
    kw_conf *conf = NULL;
    *out = NULL;
    if (kw_conf_new(bus->a, &conf) != KW_ERR_OK)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    kw_err e = kw_bus_config_to_conf(&bus->cfg, roles, conf, err);
    if (e == KW_ERR_OK && !with_group && (roles & KW_BUS_CONF_CONSUMER))
        e = kw_conf_set(conf, "group.id", NULL, err);
    if (e != KW_ERR_OK) {
        kw_conf_free(conf);
        return e;
    }
    return kw_client_new(conf, out, err); /* takes conf, also on failure */
}

kw_err
kw_bus_new(const kw_bus_config *c, const kw_bus_opts *o, kw_bus **out, kw_error *err)
{
    if (!c || !out)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kw_bus_new: config and out are required");
    *out = NULL;
    kw_err e = kw_bus_config_validate(c, err);
    if (e != KW_ERR_OK)
        return e;
    const kw_allocator *a = o && o->allocator ? o->allocator : kw_allocator_default();
    kw_bus *bus = a->alloc(a->ud, sizeof(*bus));
    if (!bus)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    memset(bus, 0, sizeof(*bus));
    bus->a = a;
    bus->cfg = *c;
    if (o)
        bus->opts = *o;
    bus->opts.allocator = a;
    size_t len = sizeof(bus->topic);
    kw_bus_config_topic(c, bus->topic, &len);
    len = sizeof(bus->dlq_topic);
    kw_bus_config_dlq_topic(c, bus->dlq_topic, &len);
    bus->partitions = -1;
    bus->epfd = -1;
    kwi_bus_registry_init(&bus->reg, a);
    kwi_bus_retry_init(&bus->retry, c);
    kwi_bus_rng_seed_random(&bus->rng);
    kwi_track_init(&bus->track, a);
    kw_arena_init(&bus->scratch, a, 0);
    kw_bus_stats_init(&bus->st);
    pthread_mutex_init(&bus->mu, NULL);
    pthread_cond_init(&bus->cond, NULL);
    atomic_init(&bus->stop, false);
    atomic_init(&bus->in_loop, false);
    if (kwi_bus_metrics_new(a, &bus->metrics) != KW_ERR_OK) {
        kw_bus_free(bus);
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    *out = bus;
    return KW_ERR_OK;
}

static kw_err
watch(kw_bus *bus, kw_client *c, kw_error *err)
{
    struct epoll_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.events = EPOLLIN;
    if (epoll_ctl(bus->epfd, EPOLL_CTL_ADD, kw_client_fd(c), &ev) != 0)
        return kw_error_set(err, KW_ERR_IO, "epoll_ctl: %s", strerror(errno));
    return KW_ERR_OK;
}

static kw_err
connect_roles(kw_bus *bus, kw_error *err)
{
    bus->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (bus->epfd < 0)
        return kw_error_set(err, KW_ERR_IO, "epoll_create1: %s", strerror(errno));
    kw_err e = kwi_busr_client_new(bus, KW_BUS_CONF_PRODUCER, false, &bus->client, err);
    if (e == KW_ERR_OK)
        e = kwi_busr_client_new(bus, KW_BUS_CONF_CONSUMER, true, &bus->cclient, err);
    if (e == KW_ERR_OK && bus->opts.log) {
        kw_client_set_log(bus->client, bus->opts.log_level, bus->opts.log, bus->opts.log_ud);
        kw_client_set_log(bus->cclient, bus->opts.log_level, bus->opts.log, bus->opts.log_ud);
    }
    if (e == KW_ERR_OK)
        e = watch(bus, bus->client, err);
    if (e == KW_ERR_OK)
        e = watch(bus, bus->cclient, err);
    if (e != KW_ERR_OK)
        return e;
    kw_producer_opts po;
    kw_producer_opts_init(&po);
    po.on_delivery = kwi_busr_on_delivery;
    po.delivery_ud = bus;
    e = kw_producer_new(bus->client, &po, &bus->prod, err);
    if (e == KW_ERR_OK)
        e = kw_admin_new(bus->client, &bus->admin, err);
    if (e == KW_ERR_OK) {
        kw_consumer_opts co;
        kw_consumer_opts_init(&co);
        co.on_rebalance = kwi_busr_on_rebalance;
        co.rebalance_ud = bus;
        e = kw_consumer_new(bus->cclient, &co, &bus->cons, err);
    }
    return e;
}

static void
drop_roles(kw_bus *bus)
{
    kw_consumer_free(bus->cons);
    kw_admin_free(bus->admin);
    kw_producer_free(bus->prod);
    kw_client_free(bus->cclient);
    kw_client_free(bus->client);
    if (bus->epfd >= 0)
        close(bus->epfd);
    bus->epfd = -1;
    bus->cons = NULL;
    bus->admin = NULL;
    bus->prod = NULL;
    bus->client = NULL;
    bus->cclient = NULL;
}

kw_err
kw_bus_connect(kw_bus *bus, int timeout_ms, kw_error *err)
{
    if (!bus)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kw_bus_connect: bus is NULL");
    if (bus->closed)
        return kw_error_set(err, KW_ERR_STATE, "the bus was shut down");
    if (bus->connected)
        return KW_ERR_OK;
    int64_t deadline = kwi_busr_mono_ms() + (timeout_ms > 0 ? timeout_ms : 30000);
    kw_err e = connect_roles(bus, err);
    if (e == KW_ERR_OK)
        e = kwi_busr_topics_ensure(bus, deadline, err);
    if (e != KW_ERR_OK) {
        drop_roles(bus);
        kwi_busr_error_at(bus);
        return e;
    }
    pthread_mutex_lock(&bus->mu);
    bus->connected = true;
    bus->st.connected_at_us = kw_bus_time_now_us();
    pthread_mutex_unlock(&bus->mu);
    kwi_busr_sample(bus, true);
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- subscriptions */

static kw_err
subs_add(kw_bus *bus, kwi_bus_subs *s, kw_bus_handler_fn fn, void *ud, kw_error *err)
{
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 4;
        kwi_bus_sub *nv =
            bus->a->realloc(bus->a->ud, s->v, s->cap * sizeof(*s->v), ncap * sizeof(*s->v));
        if (!nv)
            return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        s->v = nv;
        s->cap = ncap;
    }
    kwi_bus_sub *sub = &s->v[s->n++];
    sub->fn = fn;
    sub->ud = ud;
    sub->seq = ++bus->sub_seq;
    snprintf(sub->name, sizeof(sub->name), "handler-%u", sub->seq);
    return KW_ERR_OK;
}

static void
subs_free(kw_bus *bus, kwi_bus_subs *s)
{
    if (s && s->v)
        bus->a->free(bus->a->ud, s->v, s->cap * sizeof(*s->v));
}

kw_err
kw_bus_register_event_type(kw_bus *bus, const char *event_type, kw_bus_validate_fn validate,
                           void *ud, kw_error *err)
{
    if (!bus || !event_type)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bus and event_type are required");
    return kwi_bus_registry_add(&bus->reg, event_type, validate, ud, err);
}

kw_err
kw_bus_subscribe(kw_bus *bus, const char *event_type, kw_bus_handler_fn handler, void *ud,
                 kw_error *err)
{
    if (!bus || !event_type || !handler)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bus, event_type and handler are required");
    kwi_bus_type *t = NULL;
    kw_err e = kwi_bus_registry_ensure(&bus->reg, event_type, &t, err);
    if (e != KW_ERR_OK)
        return e;
    if (!t->slot) {
        t->slot = kwi_busr_alloc(bus, sizeof(kwi_bus_subs));
        if (!t->slot)
            return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    return subs_add(bus, t->slot, handler, ud, err);
}

static kw_err
subs_remove(kwi_bus_subs *s, kw_bus_handler_fn fn, void *ud)
{
    for (size_t i = 0; s && i < s->n; i++) {
        if (s->v[i].fn == fn && s->v[i].ud == ud) {
            memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof(*s->v));
            s->n--;
            return KW_ERR_OK;
        }
    }
    return KW_ERR_NOT_FOUND;
}

kw_err
kw_bus_unsubscribe(kw_bus *bus, const char *event_type, kw_bus_handler_fn handler, void *ud)
{
    if (!bus || !handler)
        return KW_ERR_INVALID_ARG;
    if (!event_type)
        return subs_remove(&bus->all, handler, ud);
    kwi_bus_type *t = kwi_bus_registry_find(&bus->reg, event_type, strlen(event_type));
    return t ? subs_remove(t->slot, handler, ud) : KW_ERR_NOT_FOUND;
}

kw_err
kw_bus_subscribe_all(kw_bus *bus, kw_bus_handler_fn handler, void *ud, kw_error *err)
{
    if (!bus || !handler)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bus and handler are required");
    return subs_add(bus, &bus->all, handler, ud, err);
}

/* ---------------------------------------------------------------- driving the loop */

int
kw_bus_fd(const kw_bus *bus)
{
    return bus && bus->client ? bus->epfd : -1;
}

int
kw_bus_timeout_ms(const kw_bus *bus)
{
    return bus && bus->client ? kwi_busr_timeout(bus) : -1;
}

kw_err
kw_bus_step(kw_bus *bus, int timeout_ms, kw_error *err)
{
    if (!bus)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bus is NULL");
    if (!bus->connected || bus->closed)
        return kw_error_set(err, KW_ERR_STATE, "the bus is not connected");
    if (!kwi_busr_on_loop(bus))
        return kw_error_set(err, KW_ERR_STATE, "another thread drives the bus");
    kw_err e = kwi_busr_step(bus, timeout_ms, err);
    kwi_busr_sample(bus, false);
    return e;
}

kw_err
kw_bus_consume(kw_bus *bus, kw_error *err)
{
    if (!bus)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bus is NULL");
    if (!bus->connected || bus->closed)
        return kw_error_set(err, KW_ERR_STATE, "connect the bus first");
    return kwi_busr_consume_start(bus, err);
}

kw_err
kw_bus_start_consuming(kw_bus *bus, kw_error *err)
{
    kw_err e = kw_bus_consume(bus, err);
    if (e != KW_ERR_OK)
        return e;
    if (bus->thread_running || atomic_load(&bus->in_loop))
        return kw_error_set(err, KW_ERR_STATE, "the bus is already consuming on a thread");
    bus->loop_owner = pthread_self();
    atomic_store(&bus->in_loop, true);
    while (e == KW_ERR_OK && !atomic_load(&bus->stop))
        e = kw_bus_step(bus, 1000, err);
    pthread_mutex_lock(&bus->mu);
    atomic_store(&bus->in_loop, false);
    pthread_cond_broadcast(&bus->cond);
    pthread_mutex_unlock(&bus->mu);
    return e;
}

kw_err
kw_bus_stop_consuming(kw_bus *bus)
{
    if (!bus)
        return KW_ERR_INVALID_ARG;
    atomic_store(&bus->stop, true);
    if (bus->cons)
        kw_consumer_wakeup(bus->cons);
    if (bus->client)
        kw_client_wakeup(bus->client);
    if (bus->cclient)
        kw_client_wakeup(bus->cclient);
    return KW_ERR_OK;
}

static void *
bg_main(void *arg)
{
    kw_bus *bus = arg;
    kw_error err;
    kw_error_init(&err);
    while (!atomic_load(&bus->stop)) {
        if (kwi_busr_step(bus, 1000, &err) != KW_ERR_OK)
            kwi_busr_error_at(bus);
        kwi_busr_sample(bus, false);
    }
    pthread_mutex_lock(&bus->mu);
    atomic_store(&bus->in_loop, false);
    pthread_cond_broadcast(&bus->cond);
    pthread_mutex_unlock(&bus->mu);
    return NULL;
}

kw_err
kw_bus_start_consuming_in_background(kw_bus *bus, kw_error *err)
{
    kw_err e = kw_bus_consume(bus, err);
    if (e != KW_ERR_OK)
        return e;
    if (bus->thread_running || atomic_load(&bus->in_loop))
        return kw_error_set(err, KW_ERR_STATE, "the bus is already consuming on a thread");
    atomic_store(&bus->in_loop, true);
    bus->thread_running = true;
    if (pthread_create(&bus->thread, NULL, bg_main, bus) != 0) {
        atomic_store(&bus->in_loop, false);
        bus->thread_running = false;
        return kw_error_set(err, KW_ERR_IO, "cannot start the consumer thread");
    }
    bus->loop_owner = bus->thread;
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- shutdown */

static int
left_ms(int64_t deadline)
{
    int64_t d = deadline - kwi_busr_mono_ms();
    return d > 0 ? (int)d : 0;
}

/* Take the loop back from whichever thread drives it: join the background thread, or wait
 * for kw_bus_start_consuming on another thread to return. */
static kw_err
reclaim_loop(kw_bus *bus, int64_t deadline, kw_error *err)
{
    kw_bus_stop_consuming(bus);
    if (bus->thread_running) {
        if (pthread_equal(pthread_self(), bus->thread))
            return kw_error_set(err, KW_ERR_STATE, "shutdown from a handler");
        pthread_join(bus->thread, NULL);
        bus->thread_running = false;
        return KW_ERR_OK;
    }
    pthread_mutex_lock(&bus->mu);
    while (atomic_load(&bus->in_loop)) {
        if (pthread_equal(pthread_self(), bus->loop_owner)) {
            pthread_mutex_unlock(&bus->mu);
            return kw_error_set(err, KW_ERR_STATE, "shutdown from a handler");
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 50 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&bus->cond, &bus->mu, &ts);
        if (kwi_busr_mono_ms() >= deadline && atomic_load(&bus->in_loop)) {
            pthread_mutex_unlock(&bus->mu);
            return kw_error_set(err, KW_ERR_TIMED_OUT, "the consuming thread did not stop");
        }
    }
    pthread_mutex_unlock(&bus->mu);
    return KW_ERR_OK;
}

kw_err
kw_bus_shutdown(kw_bus *bus, int timeout_ms, kw_error *err)
{
    if (!bus)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bus is NULL");
    if (bus->closed)
        return KW_ERR_OK;
    int64_t deadline = kwi_busr_mono_ms() + (timeout_ms >= 0 ? timeout_ms : 30000);
    kw_err e = reclaim_loop(bus, deadline, err);
    if (e != KW_ERR_OK)
        return e;
    kw_err first = KW_ERR_OK;
    if (bus->prod) {
        /* Publishes, DLQ writes and republished retries: their reports decide what may be
         * committed, so they come first. */
        e = kw_producer_flush(bus->prod, left_ms(deadline), err);
        if (e != KW_ERR_OK)
            first = e;
    }
    if (bus->consuming) {
        e = kwi_busr_commit_sync(bus, left_ms(deadline), err);
        if (e != KW_ERR_OK && first == KW_ERR_OK)
            first = e;
        /* Leaving runs the revoked callback, which commits again only what moved since. */
        e = kw_consumer_close(bus->cons, left_ms(deadline) > 0 ? left_ms(deadline) : 1, err);
        if (e != KW_ERR_OK && first == KW_ERR_OK)
            first = e;
        bus->consuming = false;
    }
    bus->closed = true;
    pthread_mutex_lock(&bus->mu);
    bus->connected = false;
    pthread_mutex_unlock(&bus->mu);
    return first;
}

void
kw_bus_free(kw_bus *bus)
{
    if (!bus)
        return;
    if (!bus->closed && bus->client) {
        double t = bus->cfg.shutdown_timeout;
        int ms = t > 0 ? (t > 86400.0 ? 86400000 : (int)(t * 1000.0)) : 0;
        kw_bus_shutdown(bus, ms, NULL);
    } else if (bus->thread_running) {
        kw_bus_stop_consuming(bus);
        pthread_join(bus->thread, NULL);
    }
    drop_roles(bus);
    kwi_busr_writes_free(bus);
    for (size_t i = 0; i < bus->reg.n; i++) {
        kwi_bus_subs *s = bus->reg.types[i].slot;
        subs_free(bus, s);
        kwi_busr_free(bus, s, sizeof(*s));
    }
    subs_free(bus, &bus->all);
    kwi_bus_registry_fini(&bus->reg);
    kwi_track_fini(&bus->track);
    kw_arena_fini(&bus->scratch);
    kwi_bus_metrics_free(bus->metrics);
    pthread_mutex_destroy(&bus->mu);
    pthread_cond_destroy(&bus->cond);
    bus->a->free(bus->a->ud, bus, sizeof(*bus));
}

/* ---------------------------------------------------------------- observation */

void
kwi_busr_sample(kw_bus *bus, bool force)
{
    if (!bus->client)
        return;
    int64_t now = kwi_busr_mono_ms();
    if (!force && now < bus->next_sample_ms)
        return;
    bus->next_sample_ms = now + 1000;
    uint64_t reconnects = 0;
    double ready = 0;
    kw_client *cl[2] = {bus->client, bus->cclient};
    for (int k = 0; k < 2; k++) {
        kw_stats tot;
        kw_broker_stats br[32];
        if (!cl[k] || kw_client_stats(cl[k], &tot, br, 32) != KW_ERR_OK)
            continue;
        size_t n = tot.n_brokers < 32 ? tot.n_brokers : 32;
        for (size_t i = 0; i < n; i++) {
            reconnects += br[i].reconnects;
            if (strcmp(br[i].state, "READY") == 0 || strcmp(br[i].state, "UP") == 0)
                ready++;
        }
    }
    const char *grp[] = {bus->cfg.consumer_group};
    if (bus->cfg.enable_metrics) {
        kwi_bus_metrics_set(bus->metrics, KWI_BUS_M_CONNECTIONS, grp, ready);
        if (reconnects > bus->reconnect_base)
            kwi_bus_metrics_add(bus->metrics, KWI_BUS_M_RECONNECTIONS, NULL,
                                (double)(reconnects - bus->reconnect_base));
    }
    pthread_mutex_lock(&bus->mu);
    if (reconnects > bus->reconnect_base)
        bus->st.reconnections += reconnects - bus->reconnect_base;
    pthread_mutex_unlock(&bus->mu);
    if (reconnects > bus->reconnect_base)
        bus->reconnect_base = reconnects;
    for (size_t i = 0; bus->cons && bus->cfg.enable_metrics && i < bus->track.n; i++) {
        int64_t lag = -1;
        int32_t p = bus->track.p[i].partition;
        if (kw_consumer_lag(bus->cons, bus->topic, p, &lag, NULL) != KW_ERR_OK || lag < 0)
            continue;
        char pbuf[16];
        snprintf(pbuf, sizeof(pbuf), "%d", (int)p);
        const char *lab[] = {bus->topic, pbuf};
        kwi_bus_metrics_set(bus->metrics, KWI_BUS_M_CONSUMER_LAG, lab, (double)lag);
    }
}

kw_err
kw_bus_get_stats(kw_bus *bus, kw_bus_stats *out)
{
    if (!bus || !out)
        return KW_ERR_INVALID_ARG;
    pthread_mutex_lock(&bus->mu);
    *out = bus->st;
    pthread_mutex_unlock(&bus->mu);
    return KW_ERR_OK;
}

kw_bus_metrics *
kw_bus_metrics_of(kw_bus *bus)
{
    return bus ? bus->metrics : NULL;
}

kw_err
kw_bus_get_topic_info(kw_bus *bus, kw_bus_topic_info *out, kw_error *err)
{
    if (!bus || !out)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bus and out are required");
    memset(out, 0, sizeof(*out));
    snprintf(out->topic, sizeof(out->topic), "%s", bus->topic);
    snprintf(out->consumer_group, sizeof(out->consumer_group), "%s", bus->cfg.consumer_group);
    pthread_mutex_lock(&bus->mu);
    out->partitions = bus->partitions;
    out->connected = bus->connected;
    out->consuming = bus->consuming && !bus->closed;
    pthread_mutex_unlock(&bus->mu);
    return KW_ERR_OK;
}
