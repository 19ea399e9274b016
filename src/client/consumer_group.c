/* The consumer's group part, application side: the group section of kwire/consumer.h
 * (subscribe, unsubscribe, commits, committed offsets, close), the delivery of rebalance
 * callbacks on the polling thread, and waiting for results. See cgroup.h. */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "client/cgroup.h"
#include "util/conf_int.h"

/* ---------------------------------------------------------------- creation and teardown */

static kw_err on_poll(kw_consumer *k, kw_error *err);
static void on_free(kw_consumer *k);
static int64_t mono_ms(void);

static void
group_free(kwi_cgroup *g)
{
    kwi_cgdrv_free(g->d);
    kwi_reactor_timer_free(g->t_auto);
    kwi_reactor_timer_free(g->t_retry);
    while (g->ops)
        kwi_cg_op_free(g, g->ops);
    while (g->cb_head) {
        kwi_cg_cb *cb = g->cb_head;
        g->cb_head = cb->next;
        kwi_cg_list_fini(g, &cb->parts);
        g->a->free(g->a->ud, cb, sizeof(*cb));
    }
    kwi_tpset_fini(&g->owned);
    kwi_tpset_fini(&g->revoking);
    kwi_tpset_fini(&g->reassign);
    if (g->cond_ok)
        pthread_cond_destroy(&g->cond);
    g->a->free(g->a->ud, g, sizeof(*g));
}

/* The group part, made on first use. Lock held. */
static kw_err
group_get(kw_consumer *k, kwi_cgroup **out, kw_error *err)
{
    if (k->grp) {
        *out = k->grp;
        return KW_ERR_OK;
    }
    *out = NULL;
    const kw_conf *conf = kwi_client_conf(k->c);
    const char *gid = kwi_conf_str(conf, KWI_CONF_GROUP_ID);
    if (!gid || !gid[0])
        return kw_error_set(err, KW_ERR_CONFIG, "group.id is not set: no consumer group");
    kwi_cgroup *g = k->a->alloc(k->a->ud, sizeof(*g));
    if (!g)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    memset(g, 0, sizeof(*g));
    g->k = k;
    g->c = k->c;
    g->a = k->a;
    kwi_tpset_init(&g->owned, g->a);
    kwi_tpset_init(&g->revoking, g->a);
    kwi_tpset_init(&g->reassign, g->a);
    kw_error_init(&g->last_err);
    g->auto_commit = kwi_conf_bool(conf, KWI_CONF_ENABLE_AUTO_COMMIT);
    g->auto_ms = kwi_conf_int(conf, KWI_CONF_AUTO_COMMIT_INTERVAL_MS);
    if (g->auto_ms <= 0)
        g->auto_ms = 1;
    g->retry_ms = kwi_conf_int(conf, KWI_CONF_RETRY_BACKOFF_MS);
    if (g->retry_ms <= 0)
        g->retry_ms = 1;
    g->cond_ok = pthread_cond_init(&g->cond, NULL) == 0;
    kwi_cgdrv_hooks h = {kwi_cg_on_event, kwi_cg_on_op_response, g};
    kwi_reactor *r = kwi_client_reactor(k->c);
    kw_err e = g->cond_ok ? KW_ERR_OK : KW_ERR_NOMEM;
    if (!e)
        e = kwi_cgdrv_new(k->c, &h, &g->d, err);
    if (!e && (kwi_reactor_timer_new(r, kwi_cg_auto_timer, g, &g->t_auto) ||
               kwi_reactor_timer_new(r, kwi_cg_retry_timer, g, &g->t_retry)))
        e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    if (e) {
        group_free(g);
        return e;
    }
    g->m = kwi_cgdrv_member(g->d);
    kwi_cons_hooks hooks = {on_poll, on_free};
    kwi_cons_set_hooks(k, &hooks);
    k->grp = g;
    *out = g;
    return KW_ERR_OK;
}

/* kw_consumer_free without kw_consumer_close: a best-effort leave. The LeaveGroup (or leave
 * heartbeat) is queued; whether it reaches the broker before the connection closes is not
 * waited for (freeing never blocks). No application callback runs any more. */
static void
on_free(kw_consumer *k)
{
    kwi_cgroup *g = k->grp;
    if (!g)
        return;
    g->freeing = true;
    if (!g->closed && !kwi_cgdrv_halted(g->d)) {
        kwi_member_leave(g->m, kwi_cgdrv_now(g->d));
        if (kwi_cgdrv_paused(g->d))
            kwi_cgdrv_resume(g->d);
        else
            kwi_cgdrv_run(g->d);
        /* Give the leave a short, bounded chance to go out when this thread drives the loop
         * (the consumer has stopped fetching: closing is set before this hook). */
        kw_client *c = k->c;
        int64_t end = mono_ms() + 300;
        while (!g->closed && c->in_step == 0 && mono_ms() < end &&
               kwi_member_state_get(g->m) != KWI_MEMBER_CLOSED) {
            if (c->thread_on) {
                /* The kwire thread sends it; the loop lock is held once here. */
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                ts.tv_nsec += 20 * 1000000;
                if (ts.tv_nsec >= 1000000000) {
                    ts.tv_sec++;
                    ts.tv_nsec -= 1000000000;
                }
                pthread_cond_timedwait(&g->cond, &c->lock, &ts);
            } else {
                kw_client_step(c, 10, NULL);
            }
        }
    }
    k->grp = NULL;
    group_free(g);
}

void
kwi_consumer_group_halt(kw_consumer *k)
{
    pthread_mutex_lock(&k->c->lock);
    if (k->grp) {
        kwi_cgdrv_halt(k->grp->d);
        kwi_reactor_timer_stop(k->grp->t_auto);
        kwi_reactor_timer_stop(k->grp->t_retry);
    }
    pthread_mutex_unlock(&k->c->lock);
}

/* ---------------------------------------------------------------- waiting */

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait (lock held exactly once by the caller) until done() or the timeout. Without the kwire
 * thread the loop is stepped here; with it, the condition variable is waited on. */
static kw_err
wait_for(kwi_cgroup *g, bool (*done)(kwi_cgroup *, void *), void *arg, int timeout_ms)
{
    kw_client *c = g->c;
    int64_t end = timeout_ms < 0 ? INT64_MAX : mono_ms() + timeout_ms;
    while (!done(g, arg)) {
        int64_t left = end == INT64_MAX ? 1000 : end - mono_ms();
        if (left <= 0)
            return KW_ERR_TIMED_OUT;
        if (left > 1000)
            left = 1000;
        if (c->thread_on) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += left / 1000;
            ts.tv_nsec += (left % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&g->cond, &c->lock, &ts);
        } else {
            pthread_mutex_unlock(&c->lock);
            kw_client_step(c, (int)left, NULL);
            pthread_mutex_lock(&c->lock);
        }
    }
    return KW_ERR_OK;
}

static bool
op_is_done(kwi_cgroup *g, void *arg)
{
    kwi_cg_op *op = arg;
    return op->done || g->fatal;
}

/* A synchronous call may wait only where stepping the loop is possible. */
static kw_err
can_wait(kw_consumer *k, kw_error *err)
{
    if (k->c->in_step > 0)
        return kw_error_set(err, KW_ERR_STATE,
                            "a synchronous group call inside a client callback would deadlock");
    return KW_ERR_OK;
}

/* Collect a synchronous operation's result; frees it (or leaves it to free itself). */
static kw_err
finish_op(kwi_cgroup *g, kwi_cg_op *op, kw_err waited, kw_topic_partition *out, size_t n,
          kw_error *err)
{
    if (waited != KW_ERR_OK || !op->done) {
        op->abandoned = true;
        if (g->fatal && !op->done)
            return kw_error_set(err, KW_ERR_STATE, "%s", g->last_err.msg);
        return kw_error_set(err, KW_ERR_TIMED_OUT, "group %s: no answer in time",
                            kw_consumer_group_id(g->k));
    }
    kw_err e = op->err;
    if (out) {
        for (size_t i = 0; i < n && i < op->parts.n; i++) {
            out[i].offset =
                op->kind == KWI_CG_OP_FETCH_SYNC ? op->parts.v[i].offset : out[i].offset;
            if (op->kind == KWI_CG_OP_FETCH_SYNC)
                out[i].leader_epoch = op->parts.v[i].leader_epoch;
            out[i].err = op->parts.v[i].err;
            out[i].error_code = op->parts.v[i].error_code;
        }
    }
    if (e && err)
        *err = op->detail;
    kwi_cg_op_free(g, op);
    return e;
}

/* ---------------------------------------------------------------- rebalance callbacks */

/* Run the queued rebalance callbacks on this thread, lock held once by the caller and
 * released around each callback. */
static void
deliver(kwi_cgroup *g)
{
    if (g->delivering)
        return; /* a callback polled: the outer delivery goes on */
    g->delivering = true;
    kw_consumer *k = g->k;
    kwi_cg_cb *cb;
    while ((cb = g->cb_head) && k->grp == g) {
        g->cb_head = cb->next;
        if (!g->cb_head)
            g->cb_tail = NULL;
        g->in_cb = true;
        pthread_mutex_unlock(&k->c->lock);
        if (k->o.on_rebalance && !g->freeing)
            k->o.on_rebalance(k, cb->kind, cb->parts.v, cb->parts.n, k->o.rebalance_ud);
        pthread_mutex_lock(&k->c->lock);
        g->in_cb = false;
        if (cb->unassign_after) {
            kwi_tpset s;
            kwi_tpset_init(&s, g->a);
            for (size_t i = 0; i < cb->parts.n; i++)
                kwi_tpset_add(&s, kw_slice_str(cb->parts.v[i].topic), cb->parts.v[i].partition);
            kwi_cg_revoke_done(g, &s);
            kwi_tpset_fini(&s);
        }
        kwi_cg_update_hold(g);
        kwi_cg_list_fini(g, &cb->parts);
        g->a->free(g->a->ud, cb, sizeof(*cb));
        if (kwi_cgdrv_paused(g->d))
            kwi_cgdrv_resume(g->d);
    }
    g->delivering = false;
}

/* The polling thread's turn: the member hears the application polled, queued rebalance
 * callbacks run. A subscribed member that failed for good (kwi_member_fail: out of memory,
 * GROUP_AUTHORIZATION_FAILED, FENCED_INSTANCE_ID ...) has lost its partitions and will get no
 * more; every poll says so (after the LOST callback ran) until the consumer is closed. A
 * manual assignment keeps consuming: only its commits fail then. */
static kw_err
on_poll(kw_consumer *k, kw_error *err)
{
    pthread_mutex_lock(&k->c->lock);
    kwi_cgroup *g = k->grp;
    kw_err e = KW_ERR_OK;
    if (g && !kwi_cgdrv_halted(g->d)) {
        kwi_member_on_poll(g->m, kwi_cgdrv_now(g->d));
        kwi_cgdrv_run(g->d);
        deliver(g);
    }
    if (g && k->grp == g) {
        if (g->fatal && g->subscribed) {
            e = g->last_err.code ? g->last_err.code : KW_ERR_STATE;
            if (err) {
                *err = g->last_err;
                err->code = e;
                err->fatal = true;
            }
        }
    }
    pthread_mutex_unlock(&k->c->lock);
    return e;
}

/* ---------------------------------------------------------------- subscribe */

KW_API kw_err
kw_consumer_subscribe(kw_consumer *k, const char *const *topics, size_t n, kw_error *err)
{
    if (!k || !topics || !n)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no topics to subscribe to");
    for (size_t i = 0; i < n; i++) {
        size_t len = topics[i] ? strlen(topics[i]) : 0;
        if (len == 0 || len > 249)
            return kw_error_set(err, KW_ERR_INVALID_ARG, "topic %zu: not a valid topic name", i);
    }
    pthread_mutex_lock(&k->c->lock);
    kwi_cgroup *g = k->grp;
    kw_err e = KW_ERR_OK;
    if (k->n_parts > 0 && !(g && g->subscribed))
        e = kw_error_set(err, KW_ERR_STATE,
                         "partitions are assigned manually: unassign before subscribing");
    if (!e)
        e = group_get(k, &g, err);
    if (!e && kwi_cgdrv_halted(g->d))
        e = kw_error_set(err, KW_ERR_STATE, "the group member was halted");
    kw_slice *v = NULL;
    if (!e && !(v = g->a->alloc(g->a->ud, n * sizeof(*v))))
        e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    if (!e) {
        for (size_t i = 0; i < n; i++)
            v[i] = kw_slice_str(topics[i]);
        e = kwi_cgdrv_subscribe(g->d, v, n);
        g->a->free(g->a->ud, v, n * sizeof(*v));
        if (e)
            kw_error_set(err, e, "subscribe failed: %s", kw_err_str(e));
        else
            g->subscribed = true;
    }
    pthread_mutex_unlock(&k->c->lock);
    return e;
}

static bool
not_in_group(kwi_cgroup *g, void *arg)
{
    (void)arg;
    kwi_member_state s = kwi_member_state_get(g->m);
    return s == KWI_MEMBER_UNSUBSCRIBED || s == KWI_MEMBER_CLOSED || s == KWI_MEMBER_FATAL ||
           g->closed;
}

KW_API kw_err
kw_consumer_unsubscribe(kw_consumer *k, kw_error *err)
{
    if (!k)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer");
    pthread_mutex_lock(&k->c->lock);
    kwi_cgroup *g = k->grp;
    if (!g || !g->subscribed) {
        pthread_mutex_unlock(&k->c->lock);
        return KW_ERR_OK;
    }
    kw_err e = kwi_cgdrv_subscribe(g->d, NULL, 0);
    deliver(g);
    g->subscribed = false;
    /* Let the LeaveGroup go out when this thread drives the loop; bounded, best effort. */
    if (!e && !k->c->in_step && !k->c->thread_on)
        wait_for(g, not_in_group, NULL, 1000);
    deliver(g);
    kwi_tpset all;
    kwi_tpset_init(&all, g->a);
    if (kwi_tpset_copy(&all, &g->owned) == KW_ERR_OK)
        kwi_cg_unassign(g, &all);
    kwi_tpset_fini(&all);
    g->commit_hold = false;
    kwi_cg_update_hold(g);
    pthread_mutex_unlock(&k->c->lock);
    return e ? kw_error_set(err, e, "unsubscribe failed: %s", kw_err_str(e)) : KW_ERR_OK;
}

/* ---------------------------------------------------------------- manual assignment */

/* Wakes the kwire thread after timers changed from an application thread. */
static void
wake_loop(kw_client *c)
{
    if (c->thread_on && c->in_step == 0)
        kw_client_wakeup(c);
}

kw_err
kwi_cg_manual_assign(kw_consumer *k, kw_error *err)
{
    if ((k->grp && k->grp->subscribed) || !kw_consumer_group_id(k))
        return KW_ERR_OK; /* the group part's own assignment, or no group at all */
    kwi_cgroup *g = NULL;
    kw_err e = group_get(k, &g, err);
    if (e != KW_ERR_OK || kwi_cgdrv_halted(g->d))
        return e;
    /* Partitions given KW_OFFSET_STORED wait for their committed offsets: the retry timer's
     * scan fetches them once the assignment is in place (after this call returns). */
    kwi_reactor_timer_start(g->t_retry, 0);
    if (g->auto_commit && !kwi_reactor_timer_armed(g->t_auto))
        kwi_reactor_timer_start(g->t_auto, g->auto_ms);
    wake_loop(k->c);
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- commits */

static kw_err
commit_list(kw_consumer *k, kwi_cgroup *g, const kw_topic_partition *offsets, size_t n,
            kwi_cg_list *l, kw_error *err)
{
    if (offsets) {
        for (size_t i = 0; i < n; i++)
            if (!offsets[i].topic || offsets[i].partition < 0 || offsets[i].offset < 0)
                return kw_error_set(err, KW_ERR_INVALID_ARG,
                                    "offset %zu: a topic, a partition >= 0 and an offset >= 0 "
                                    "are needed",
                                    i);
        if (kwi_cg_list_copy(g, l, offsets, n))
            return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        return KW_ERR_OK;
    }
    (void)k;
    if (kwi_cg_consumed(g, NULL, l))
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    return KW_ERR_OK;
}

/* Whether a failed commit or offset fetch may simply be sent again: the coordinator moved,
 * is loading or did not answer. Java's commitSync retries these until its timeout; other
 * errors (ILLEGAL_GENERATION, REBALANCE_IN_PROGRESS, authorization) go to the application. */
static bool
worth_retry(const kwi_cg_op *op)
{
    if (op->err == KW_ERR_BROKER) {
        int16_t c = op->detail.broker_code;
        return c == 7 || c == 14 || c == 15 || c == 16;
    }
    return op->err == KW_ERR_IO || op->err == KW_ERR_TIMED_OUT;
}

static bool
never(kwi_cgroup *g, void *arg)
{
    (void)arg;
    return g->fatal;
}

/* A synchronous commit (kw_consumer_commit, close), retried within timeout_ms while the
 * coordinator moves. Lock held once; can_wait checked by the caller. */
static kw_err
sync_commit(kwi_cgroup *g, const kw_topic_partition *offsets, size_t n, int timeout_ms,
            kw_error *err)
{
    int64_t end = timeout_ms < 0 ? INT64_MAX : mono_ms() + timeout_ms;
    for (;;) {
        kwi_cg_list l = {0};
        kwi_cg_op *op = NULL;
        kw_err e = commit_list(g->k, g, offsets, n, &l, err);
        if (e || l.n == 0)
            return e; /* nothing consumed: nothing to commit */
        e = kwi_cg_commit(g, &l, KWI_CG_OP_COMMIT_SYNC, NULL, NULL, &op, err);
        if (e)
            return e;
        int64_t left = end == INT64_MAX ? -1 : end - mono_ms();
        kw_err w = wait_for(g, op_is_done, op, left < 0 && end != INT64_MAX ? 0 : (int)left);
        left = end == INT64_MAX ? INT64_MAX : end - mono_ms();
        if (w != KW_ERR_OK || !op->done || !worth_retry(op) || left <= g->retry_ms)
            return finish_op(g, op, w, NULL, 0, err);
        kwi_cg_op_free(g, op);
        wait_for(g, never, NULL, (int)g->retry_ms);
        if (g->fatal)
            return kw_error_set(err, KW_ERR_STATE, "%s", g->last_err.msg);
    }
}

KW_API kw_err
kw_consumer_commit(kw_consumer *k, const kw_topic_partition *offsets, size_t n, int timeout_ms,
                   kw_error *err)
{
    if (!k || (n && !offsets))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer or no offsets");
    pthread_mutex_lock(&k->c->lock);
    kwi_cgroup *g = NULL;
    kw_err e = group_get(k, &g, err);
    if (!e)
        e = can_wait(k, err);
    if (!e)
        e = sync_commit(g, offsets, n, timeout_ms, err);
    pthread_mutex_unlock(&k->c->lock);
    return e;
}

KW_API kw_err
kw_consumer_commit_async(kw_consumer *k, const kw_topic_partition *offsets, size_t n,
                         kw_commit_fn cb, void *ud, kw_error *err)
{
    if (!k || (n && !offsets))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer or no offsets");
    pthread_mutex_lock(&k->c->lock);
    kwi_cgroup *g = NULL;
    kwi_cg_list l = {0};
    kw_err e = group_get(k, &g, err);
    if (!e)
        e = commit_list(k, g, offsets, n, &l, err);
    if (!e)
        e = kwi_cg_commit(g, &l, KWI_CG_OP_COMMIT_ASYNC, cb, ud, NULL, err);
    pthread_mutex_unlock(&k->c->lock);
    return e;
}

static kw_err
committed_start(kw_consumer *k, const kw_topic_partition *parts, size_t n, kwi_cg_op_kind kind,
                kw_commit_fn cb, void *ud, kwi_cgroup **gout, kwi_cg_op **op, kw_error *err)
{
    if (!k || !parts || !n)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no partitions");
    for (size_t i = 0; i < n; i++)
        if (!parts[i].topic || parts[i].partition < 0)
            return kw_error_set(err, KW_ERR_INVALID_ARG, "partition %zu: bad topic or partition",
                                i);
    kwi_cg_list l;
    kw_err e = group_get(k, gout, err);
    if (!e && kwi_cg_list_copy(*gout, &l, parts, n))
        e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    if (!e)
        e = kwi_cg_fetch(*gout, &l, kind, cb, ud, op, err);
    return e;
}

KW_API kw_err
kw_consumer_committed(kw_consumer *k, kw_topic_partition *parts, size_t n, int timeout_ms,
                      kw_error *err)
{
    if (!k)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer");
    pthread_mutex_lock(&k->c->lock);
    kwi_cgroup *g = NULL;
    kwi_cg_op *op = NULL;
    kw_err e = can_wait(k, err);
    if (!e)
        e = committed_start(k, parts, n, KWI_CG_OP_FETCH_SYNC, NULL, NULL, &g, &op, err);
    if (!e)
        e = finish_op(g, op, wait_for(g, op_is_done, op, timeout_ms), parts, n, err);
    pthread_mutex_unlock(&k->c->lock);
    return e;
}

KW_API kw_err
kw_consumer_committed_async(kw_consumer *k, const kw_topic_partition *parts, size_t n,
                            kw_commit_fn cb, void *ud, kw_error *err)
{
    if (!k)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer");
    pthread_mutex_lock(&k->c->lock);
    kwi_cgroup *g = NULL;
    kw_err e = committed_start(k, parts, n, KWI_CG_OP_FETCH_ASYNC, cb, ud, &g, NULL, err);
    pthread_mutex_unlock(&k->c->lock);
    return e;
}

/* ---------------------------------------------------------------- close and queries */

static bool
is_closed(kwi_cgroup *g, void *arg)
{
    (void)arg;
    return g->closed || g->fatal || kwi_cgdrv_halted(g->d) ||
           kwi_member_state_get(g->m) == KWI_MEMBER_CLOSED;
}

/* A manual assignment with enable.auto.commit commits what was consumed on close, as Java's
 * close does whether or not the consumer subscribed. */
/* A manual assignment with enable.auto.commit commits what was consumed on close, as Java's
 * close does whether or not the consumer subscribed. */
static kw_err
close_commit(kwi_cgroup *g, int timeout_ms, kw_error *err)
{
    return sync_commit(g, NULL, 0, timeout_ms, err);
}

KW_API kw_err
kw_consumer_close(kw_consumer *k, int timeout_ms, kw_error *err)
{
    if (!k)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no consumer");
    pthread_mutex_lock(&k->c->lock);
    kwi_cgroup *g = k->grp;
    kw_err e = KW_ERR_OK;
    if (g && !kwi_cgdrv_halted(g->d)) {
        e = can_wait(k, err);
        if (!e && !g->subscribed && g->auto_commit)
            e = close_commit(g, timeout_ms, err);
        if (!e) {
            /* The member emits COMMIT_POINT (auto-commit), REVOKED (the callback runs here)
             * and holds the LeaveGroup until those commits are answered (member.h). */
            kwi_member_leave(g->m, kwi_cgdrv_now(g->d));
            kwi_cgdrv_run(g->d);
            int64_t end = mono_ms() + (timeout_ms < 0 ? 3600000 : timeout_ms);
            while (!is_closed(g, NULL) && e == KW_ERR_OK) {
                deliver(g);
                int64_t left = end - mono_ms();
                e = left > 0 ? wait_for(g, is_closed, NULL, left > 50 ? 50 : (int)left)
                             : KW_ERR_TIMED_OUT;
                if (e == KW_ERR_TIMED_OUT && mono_ms() < end)
                    e = KW_ERR_OK;
            }
            deliver(g);
            if (e)
                kw_error_set(err, e, "group %s: the member did not leave in time",
                             kw_consumer_group_id(k));
            g->subscribed = false;
        }
    }
    pthread_mutex_unlock(&k->c->lock);
    kw_consumer_unassign(k, NULL);
    return e;
}

KW_API const char *
kw_consumer_group_id(kw_consumer *k)
{
    if (!k)
        return NULL;
    const char *gid = kwi_conf_str(kwi_client_conf(k->c), KWI_CONF_GROUP_ID);
    return gid && gid[0] ? gid : NULL;
}

KW_API kw_err
kw_consumer_member_id(kw_consumer *k, char *buf, size_t *len)
{
    if (!k || !len)
        return KW_ERR_INVALID_ARG;
    pthread_mutex_lock(&k->c->lock);
    kw_err e = KW_ERR_STATE;
    if (k->grp) {
        const char *id = kwi_member_id(k->grp->m);
        size_t need = strlen(id) + 1;
        e = buf && *len >= need ? KW_ERR_OK : KW_ERR_NOSPACE;
        if (!e)
            memcpy(buf, id, need);
        *len = need;
    }
    pthread_mutex_unlock(&k->c->lock);
    return e;
}

KW_API int32_t
kw_consumer_generation(kw_consumer *k)
{
    if (!k)
        return -1;
    pthread_mutex_lock(&k->c->lock);
    int32_t gen = k->grp ? kwi_member_generation(k->grp->m) : -1;
    pthread_mutex_unlock(&k->c->lock);
    return gen;
}
