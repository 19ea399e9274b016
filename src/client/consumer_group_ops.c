/* The consumer's group part, loop side: member events move the consumer's assignment, and
 * commits and offset fetches are tracked to their results. See cgroup.h. Everything here runs
 * with the loop lock held. */
#include <string.h>

#include "client/cgroup.h"
#include "util/conf_int.h"

/* ---------------------------------------------------------------- owned partition lists */

void
kwi_cg_list_fini(kwi_cgroup *g, kwi_cg_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        if (l->v[i].topic)
            g->a->free(g->a->ud, (void *)l->v[i].topic, strlen(l->v[i].topic) + 1);
        if (l->v[i].metadata)
            g->a->free(g->a->ud, (void *)l->v[i].metadata, strlen(l->v[i].metadata) + 1);
    }
    if (l->v)
        g->a->free(g->a->ud, l->v, l->n * sizeof(*l->v));
    l->v = NULL;
    l->n = 0;
}

static char *
dup_str(kwi_cgroup *g, const char *s, size_t len)
{
    char *d = g->a->alloc(g->a->ud, len + 1);
    if (d) {
        memcpy(d, s, len);
        d[len] = '\0';
    }
    return d;
}

static kw_err
list_alloc(kwi_cgroup *g, kwi_cg_list *l, size_t n)
{
    l->v = NULL;
    l->n = 0;
    if (!n)
        return KW_ERR_OK;
    l->v = g->a->alloc(g->a->ud, n * sizeof(*l->v));
    if (!l->v)
        return KW_ERR_NOMEM;
    memset(l->v, 0, n * sizeof(*l->v));
    l->n = n;
    return KW_ERR_OK;
}

kw_err
kwi_cg_list_copy(kwi_cgroup *g, kwi_cg_list *dst, const kw_topic_partition *src, size_t n)
{
    if (list_alloc(g, dst, n))
        return KW_ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        dst->v[i] = src[i];
        dst->v[i].topic = dup_str(g, src[i].topic, strlen(src[i].topic));
        dst->v[i].metadata =
            src[i].metadata ? dup_str(g, src[i].metadata, strlen(src[i].metadata)) : NULL;
        dst->v[i].err = KW_ERR_OK;
        dst->v[i].error_code = 0;
        if (!dst->v[i].topic || (src[i].metadata && !dst->v[i].metadata)) {
            kwi_cg_list_fini(g, dst);
            return KW_ERR_NOMEM;
        }
    }
    return KW_ERR_OK;
}

kw_err
kwi_cg_list_from_set(kwi_cgroup *g, kwi_cg_list *dst, const kwi_tpset *s, int64_t offset)
{
    if (list_alloc(g, dst, (size_t)kwi_tpset_count(s)))
        return KW_ERR_NOMEM;
    size_t k = 0;
    for (int32_t i = 0; i < s->n; i++) {
        for (int32_t j = 0; j < s->t[i].n; j++, k++) {
            kw_topic_partition *tp = &dst->v[k];
            tp->topic = dup_str(g, s->t[i].name, s->t[i].name_len);
            tp->partition = s->t[i].parts[j];
            tp->offset = offset;
            tp->leader_epoch = -1;
            if (!tp->topic) {
                kwi_cg_list_fini(g, dst);
                return KW_ERR_NOMEM;
            }
        }
    }
    return KW_ERR_OK;
}

static kw_topic_partition *
list_find(kwi_cg_list *l, kw_slice topic, int32_t partition)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].partition == partition && kw_slice_eq(topic, l->v[i].topic))
            return &l->v[i];
    return NULL;
}

/* ---------------------------------------------------------------- operations */

void
kwi_cg_signal(kwi_cgroup *g)
{
    if (g->cond_ok)
        pthread_cond_broadcast(&g->cond);
}

void
kwi_cg_op_free(kwi_cgroup *g, kwi_cg_op *op)
{
    for (kwi_cg_op **pp = &g->ops; *pp; pp = &(*pp)->next) {
        if (*pp == op) {
            *pp = op->next;
            break;
        }
    }
    kwi_cg_list_fini(g, &op->parts);
    g->a->free(g->a->ud, op, sizeof(*op));
}

static kwi_cg_op *
op_new(kwi_cgroup *g, kwi_cg_list *l, kwi_cg_op_kind kind, kw_commit_fn cb, void *ud)
{
    kwi_cg_op *op = g->a->alloc(g->a->ud, sizeof(*op));
    if (!op) {
        kwi_cg_list_fini(g, l);
        return NULL;
    }
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->parts = *l;
    l->v = NULL;
    l->n = 0;
    op->cb = cb;
    op->ud = ud;
    kw_error_init(&op->detail);
    return op;
}

kw_err
kwi_cg_commit(kwi_cgroup *g, kwi_cg_list *l, kwi_cg_op_kind kind, kw_commit_fn cb, void *ud,
              kwi_cg_op **out, kw_error *err)
{
    if (out)
        *out = NULL;
    kwi_cg_op *op = op_new(g, l, kind, cb, ud);
    if (!op)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    size_t n = op->parts.n;
    kwi_member_offset *v = n ? g->a->alloc(g->a->ud, n * sizeof(*v)) : NULL;
    if (n && !v) {
        kwi_cg_op_free(g, op);
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const kw_topic_partition *tp = &op->parts.v[i];
        v[i].topic = kw_slice_str(tp->topic);
        v[i].partition = tp->partition;
        v[i].offset = tp->offset;
        v[i].leader_epoch = tp->leader_epoch;
        v[i].metadata = kw_slice_str(tp->metadata ? tp->metadata : "");
    }
    kw_err e = kwi_member_commit(g->m, v, n, &op->seq);
    if (v)
        g->a->free(g->a->ud, v, n * sizeof(*v));
    if (e) {
        kwi_cg_op_free(g, op);
        if (e == KW_ERR_STATE)
            return kw_error_set(err, e, "group %s: not a member with a valid generation (%s)",
                                kw_consumer_group_id(g->k),
                                kwi_member_state_name(kwi_member_state_get(g->m)));
        return kw_error_set(err, e, "commit refused: %s", kw_err_str(e));
    }
    op->next = g->ops;
    g->ops = op;
    if (out)
        *out = op;
    /* A commit made inside a revoke callback closes the member's gate by itself (member.h),
     * so the driver may go on: a synchronous commit must get out. */
    if (g->in_cb && kwi_cgdrv_paused(g->d))
        kwi_cgdrv_resume(g->d);
    else
        kwi_cgdrv_run(g->d);
    return KW_ERR_OK;
}

kw_err
kwi_cg_fetch(kwi_cgroup *g, kwi_cg_list *l, kwi_cg_op_kind kind, kw_commit_fn cb, void *ud,
             kwi_cg_op **out, kw_error *err)
{
    if (out)
        *out = NULL;
    kwi_tpset set;
    kwi_tpset_init(&set, g->a);
    kw_err e = KW_ERR_OK;
    for (size_t i = 0; i < l->n && !e; i++)
        e = kwi_tpset_add(&set, kw_slice_str(l->v[i].topic), l->v[i].partition);
    kwi_cg_op *op = e ? NULL : op_new(g, l, kind, cb, ud);
    if (!op) {
        kwi_cg_list_fini(g, l);
        kwi_tpset_fini(&set);
        return kw_error_set(err, e ? e : KW_ERR_NOMEM, "cannot fetch offsets: %s",
                            kw_err_str(e ? e : KW_ERR_NOMEM));
    }
    e = kwi_member_fetch_offsets(g->m, &set, &op->seq);
    kwi_tpset_fini(&set);
    if (e) {
        kwi_cg_op_free(g, op);
        return kw_error_set(err, e, "group %s: cannot fetch offsets (%s)",
                            kw_consumer_group_id(g->k), kw_err_str(e));
    }
    op->next = g->ops;
    g->ops = op;
    if (out)
        *out = op;
    kwi_cgdrv_run(g->d);
    return KW_ERR_OK;
}

kw_err
kwi_cg_consumed(kwi_cgroup *g, const kwi_tpset *only, kwi_cg_list *out)
{
    out->v = NULL;
    out->n = 0;
    size_t n = kwi_cons_consumed(g->k, NULL, 0);
    if (!n)
        return KW_ERR_OK;
    kw_topic_partition *tmp = g->a->alloc(g->a->ud, n * sizeof(*tmp));
    if (!tmp)
        return KW_ERR_NOMEM;
    n = kwi_cons_consumed(g->k, tmp, n);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        kw_slice t = kw_slice_str(tmp[i].topic);
        /* Subscribed: only what the group assigned; manual: every assigned partition. */
        bool mine = !g->subscribed || kwi_tpset_contains(&g->owned, t, tmp[i].partition);
        if (tmp[i].offset >= 0 && mine && (!only || kwi_tpset_contains(only, t, tmp[i].partition)))
            tmp[k++] = tmp[i];
    }
    kw_err e = kwi_cg_list_copy(g, out, tmp, k);
    g->a->free(g->a->ud, tmp, n * sizeof(*tmp));
    return e;
}

/* ---------------------------------------------------------------- results */

static void
commit_results(kwi_cg_op *op, const kw_offset_commit_resp *r)
{
    for (int32_t i = 0; i < r->n_topics; i++) {
        const kw_offset_commit_resp_topic *t = &r->topics[i];
        for (int32_t j = 0; j < t->n_partitions; j++) {
            kw_topic_partition *tp =
                list_find(&op->parts, t->name, t->partitions[j].partition_index);
            if (tp && t->partitions[j].error_code) {
                tp->err = KW_ERR_BROKER;
                tp->error_code = t->partitions[j].error_code;
            }
        }
    }
}

static void
fetch_results(kwi_cg_op *op, const kw_offset_fetch_resp *r, int16_t version)
{
    const kw_offset_fetch_resp_topic *topics = r->topics;
    int32_t n = r->n_topics;
    if (version >= 8) {
        topics = r->n_groups > 0 ? r->groups[0].topics : NULL;
        n = r->n_groups > 0 ? r->groups[0].n_topics : 0;
    }
    for (int32_t i = 0; i < n; i++) {
        for (int32_t j = 0; j < topics[i].n_partitions; j++) {
            const kw_offset_fetch_resp_partition *p = &topics[i].partitions[j];
            kw_topic_partition *tp = list_find(&op->parts, topics[i].name, p->partition_index);
            if (!tp)
                continue;
            tp->offset = p->committed_offset >= 0 ? p->committed_offset : KW_OFFSET_INVALID;
            tp->leader_epoch = p->committed_leader_epoch;
            tp->err = p->error_code ? KW_ERR_BROKER : KW_ERR_OK;
            tp->error_code = p->error_code;
        }
    }
}

void
kwi_cg_on_op_response(kwi_cgdrv *d, uint64_t seq, int16_t api_key, int16_t version,
                      const void *body, void *ud)
{
    (void)d;
    kwi_cgroup *g = ud;
    for (kwi_cg_op *op = g->ops; op; op = op->next) {
        if (op->seq != seq || op->done)
            continue;
        if (api_key == KWI_API_OFFSET_COMMIT)
            commit_results(op, body);
        else
            fetch_results(op, body, version);
        return;
    }
}

/* Committed offsets arrived for partitions waiting to start. A retriable failure (the
 * coordinator moving, 88 UNSTABLE_OFFSET_COMMIT while a transaction commits offsets) retries
 * the whole fetch after retry.backoff.ms, as Java does. */
static void
start_done(kwi_cgroup *g, kwi_cg_op *op, const kw_error *e)
{
    const kwi_log *log = kwi_client_log(g->c);
    if (kwi_log_on(log, KWI_LOG_DEBUG))
        kwi_log_write(log, KWI_LOG_DEBUG, "group", "committed offsets of %zu partitions: %s",
                      op->parts.n, e->code ? e->msg : "ok");
    if (e->code != KW_ERR_OK && e->retriable && !g->fatal) {
        if (!kwi_reactor_timer_armed(g->t_retry))
            kwi_reactor_timer_start(g->t_retry, g->retry_ms);
        return;
    }
    for (size_t i = 0; i < op->parts.n; i++) {
        const kw_topic_partition *tp = &op->parts.v[i];
        if (g->subscribed && !kwi_tpset_contains(&g->owned, kw_slice_str(tp->topic), tp->partition))
            continue; /* revoked meanwhile */
        int64_t off = tp->err == KW_ERR_OK && tp->offset >= 0 ? tp->offset : -1;
        kwi_cons_set_start(g->k, tp->topic, strlen(tp->topic), tp->partition, off,
                           tp->leader_epoch);
    }
}

static void
op_done(kwi_cgroup *g, const kwi_member_event *ev)
{
    kwi_cg_op *op = g->ops;
    while (op && (op->seq != ev->seq || op->done))
        op = op->next;
    if (!op)
        return;
    op->done = true;
    op->err = ev->err.code;
    op->detail = ev->err;
    switch (op->kind) {
    case KWI_CG_OP_FETCH_START:
        start_done(g, op, &ev->err);
        kwi_cg_op_free(g, op);
        break;
    case KWI_CG_OP_COMMIT_ASYNC:
    case KWI_CG_OP_FETCH_ASYNC:
    case KWI_CG_OP_COMMIT_AUTO: {
        kw_commit_fn cb = op->kind == KWI_CG_OP_COMMIT_AUTO ? g->k->o.on_commit : op->cb;
        void *ud = op->kind == KWI_CG_OP_COMMIT_AUTO ? g->k->o.commit_ud : op->ud;
        /* Unlink before the callback: it may commit again. */
        for (kwi_cg_op **pp = &g->ops; *pp; pp = &(*pp)->next)
            if (*pp == op) {
                *pp = op->next;
                break;
            }
        op->next = NULL;
        if (cb && !g->freeing)
            cb(g->k, op->err, &op->detail, op->parts.v, op->parts.n, ud);
        kwi_cg_list_fini(g, &op->parts);
        g->a->free(g->a->ud, op, sizeof(*op));
        break;
    }
    default: /* a waiter collects it */
        if (op->abandoned)
            kwi_cg_op_free(g, op);
        else
            kwi_cg_signal(g);
        break;
    }
}

void
kwi_cg_retry_timer(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_cgroup *g = ud;
    /* Every partition still waiting for its start position: those the group assigned and
     * those assigned manually with KW_OFFSET_STORED. A failed allocation or fetch tries again
     * after the backoff, so no partition waits forever. */
    kwi_tpset w;
    kwi_tpset_init(&w, g->a);
    kw_err e = KW_ERR_OK;
    kw_consumer *k = g->k;
    for (size_t i = 0; i < k->n_parts && !e; i++) {
        const kwi_ctp *tp = k->parts[i];
        if (tp->state == KWI_CTP_WAIT_POS)
            e = kwi_tpset_add(&w, (kw_slice){(const uint8_t *)tp->topic, (int32_t)tp->tlen},
                              tp->partition);
    }
    kwi_cg_list l;
    if (!e && kwi_tpset_count(&w)) {
        e = kwi_cg_list_from_set(g, &l, &w, KW_OFFSET_INVALID);
        if (!e)
            e = kwi_cg_fetch(g, &l, KWI_CG_OP_FETCH_START, NULL, NULL, NULL, NULL);
    }
    kwi_tpset_fini(&w);
    if (e == KW_ERR_NOMEM)
        kwi_reactor_timer_start(g->t_retry, g->retry_ms);
}

/* ---------------------------------------------------------------- assignment changes */

void
kwi_cg_unassign(kwi_cgroup *g, const kwi_tpset *parts)
{
    kwi_cg_list l;
    kwi_tpset mine;
    kwi_tpset_init(&mine, g->a);
    /* Only what the group part assigned and still has. */
    for (int32_t i = 0; i < parts->n; i++) {
        kw_slice t = {(const uint8_t *)parts->t[i].name, (int32_t)parts->t[i].name_len};
        for (int32_t j = 0; j < parts->t[i].n; j++)
            if (kwi_tpset_contains(&g->owned, t, parts->t[i].parts[j]))
                kwi_tpset_add(&mine, t, parts->t[i].parts[j]);
    }
    if (kwi_tpset_count(&mine) && kwi_cg_list_from_set(g, &l, &mine, 0) == KW_ERR_OK) {
        kw_consumer_incremental_unassign(g->k, l.v, l.n, NULL);
        kwi_cg_list_fini(g, &l);
    }
    for (int32_t i = 0; i < mine.n; i++) {
        kw_slice t = {(const uint8_t *)mine.t[i].name, (int32_t)mine.t[i].name_len};
        for (int32_t j = 0; j < mine.t[i].n; j++)
            kwi_tpset_remove(&g->owned, t, mine.t[i].parts[j]);
    }
    kwi_tpset_fini(&mine);
}

/* Partitions of `parts` that are in `in` (out := parts ∩ in). */
static kw_err
intersect(kwi_tpset *out, const kwi_tpset *parts, const kwi_tpset *in)
{
    kw_err e = KW_ERR_OK;
    for (int32_t i = 0; i < parts->n && !e; i++) {
        kw_slice t = {(const uint8_t *)parts->t[i].name, (int32_t)parts->t[i].name_len};
        for (int32_t j = 0; j < parts->t[i].n && !e; j++)
            if (kwi_tpset_contains(in, t, parts->t[i].parts[j]))
                e = kwi_tpset_add(out, t, parts->t[i].parts[j]);
    }
    return e;
}

static void
remove_all(kwi_tpset *s, const kwi_tpset *parts)
{
    for (int32_t i = 0; i < parts->n; i++) {
        kw_slice t = {(const uint8_t *)parts->t[i].name, (int32_t)parts->t[i].name_len};
        for (int32_t j = 0; j < parts->t[i].n; j++)
            kwi_tpset_remove(s, t, parts->t[i].parts[j]);
    }
}

static void assigned(kwi_cgroup *g, const kwi_tpset *parts);

void
kwi_cg_revoke_done(kwi_cgroup *g, const kwi_tpset *parts)
{
    kwi_cg_unassign(g, parts);
    remove_all(&g->revoking, parts);
    kwi_tpset again;
    kwi_tpset_init(&again, g->a);
    if (intersect(&again, parts, &g->reassign) == KW_ERR_OK && kwi_tpset_count(&again)) {
        remove_all(&g->reassign, &again);
        assigned(g, &again); /* their ASSIGNED callback is queued: the hold stays on */
    }
    kwi_tpset_fini(&again);
}

static void
assigned(kwi_cgroup *g, const kwi_tpset *parts)
{
    /* Partitions assigned again while their REVOKED callback has not returned (a rebalance
     * that completed during a slow callback, on the kwire thread or through a commit it
     * made): they are still assigned and are unassigned when the callback returns, so they
     * are assigned anew then (kwi_cg_revoke_done), from their committed offsets. */
    kwi_tpset again;
    kwi_tpset_init(&again, g->a);
    if (intersect(&again, parts, &g->revoking) == KW_ERR_OK)
        kwi_tpset_add_all(&g->reassign, &again);
    kwi_tpset_fini(&again);
    kwi_tpset add;
    kwi_tpset_init(&add, g->a);
    kwi_cg_list l = {0};
    if (kwi_tpset_diff(&add, parts, &g->owned) == KW_ERR_OK && kwi_tpset_count(&add) &&
        kwi_cg_list_from_set(g, &l, &add, KW_OFFSET_STORED) == KW_ERR_OK) {
        kw_error err;
        kw_error_init(&err);
        if (kw_consumer_incremental_assign(g->k, l.v, l.n, &err) == KW_ERR_OK) {
            kwi_tpset_add_all(&g->owned, &add);
            /* A failed fetch leaves them waiting: the retry timer asks again. */
            if (kwi_cg_fetch(g, &l, KWI_CG_OP_FETCH_START, NULL, NULL, NULL, NULL) != KW_ERR_OK)
                kwi_reactor_timer_start(g->t_retry, g->retry_ms);
        } else {
            kwi_cg_list_fini(g, &l);
        }
    }
    kwi_tpset_fini(&add);
}

void
kwi_cg_update_hold(kwi_cgroup *g)
{
    /* in_cb: a callback runs (its entry already dequeued); what it concerns stays held. */
    bool on = g->commit_hold || g->cb_head != NULL || g->in_cb;
    if (g->held != on) {
        g->held = on;
        kwi_cons_hold(g->k, on);
    }
}

static void
hold(kwi_cgroup *g, bool on)
{
    g->commit_hold = on;
    kwi_cg_update_hold(g);
}

/* A rebalance callback could not be queued (out of memory): the application would no longer
 * know what it owns, so the group part stops for good, as the member does on its own failed
 * allocations (member.h): every partition it assigned is dropped, the member sends nothing
 * more (the coordinator expires it), and kw_consumer_poll reports the fatal error. */
static void
fail_oom(kwi_cgroup *g, const char *what)
{
    kwi_tpset all = g->owned;
    kwi_tpset_init(&g->owned, g->a);
    for (int32_t i = 0; i < all.n; i++) {
        for (int32_t j = 0; j < all.t[i].n; j++) {
            kw_topic_partition tp = {.topic = all.t[i].name, .partition = all.t[i].parts[j]};
            kw_consumer_incremental_unassign(g->k, &tp, 1, NULL);
        }
    }
    kwi_tpset_fini(&all);
    kwi_tpset_clear(&g->revoking);
    kwi_tpset_clear(&g->reassign);
    kwi_cgdrv_halt(g->d);
    kwi_reactor_timer_stop(g->t_auto);
    kwi_reactor_timer_stop(g->t_retry);
    kw_error_init(&g->last_err);
    kw_error_set(&g->last_err, KW_ERR_NOMEM, "group %s: an allocation failed (%s)",
                 kw_consumer_group_id(g->k), what);
    g->last_err.fatal = true;
    g->fatal = true;
    g->k->wakeups++;
    kwi_cons_signal(g->k);
    kwi_cg_signal(g);
    const kwi_log *log = kwi_client_log(g->c);
    if (kwi_log_on(log, KWI_LOG_WARN))
        kwi_log_write(log, KWI_LOG_WARN, "group", "%s", g->last_err.msg);
}

static bool
queue_cb(kwi_cgroup *g, kw_rebalance_kind kind, const kwi_tpset *parts, bool unassign_after)
{
    kwi_cg_cb *cb = g->a->alloc(g->a->ud, sizeof(*cb));
    if (!cb) {
        fail_oom(g, "a rebalance callback");
        return false;
    }
    memset(cb, 0, sizeof(*cb));
    cb->kind = kind;
    cb->unassign_after = unassign_after;
    if (kwi_cg_list_from_set(g, &cb->parts, parts, KW_OFFSET_INVALID)) {
        g->a->free(g->a->ud, cb, sizeof(*cb));
        fail_oom(g, "a rebalance callback");
        return false;
    }
    if (g->cb_tail)
        g->cb_tail->next = cb;
    else
        g->cb_head = cb;
    g->cb_tail = cb;
    /* Records must not reach the application before the callback that assigns their
     * partition (or after the one that revokes it): hold the consumer, and make the current
     * kw_consumer_poll return so the next one delivers the callback first. */
    kwi_cg_update_hold(g);
    g->k->wakeups++;
    kwi_cons_signal(g->k);
    return true;
}

static void
auto_commit(kwi_cgroup *g, const kwi_tpset *only)
{
    kwi_cg_list l;
    if (!g->auto_commit || kwi_cg_consumed(g, only, &l) != KW_ERR_OK || !l.n) {
        return;
    }
    kwi_cg_commit(g, &l, KWI_CG_OP_COMMIT_AUTO, NULL, NULL, NULL, NULL);
}

/* An auto-commit not answered yet. While one waits (a coordinator that is slow, silent or
 * unknown), the next tick skips: queuing one per interval would grow without bound, and the
 * tick after the answer commits the newest positions anyway. */
static bool
auto_pending(const kwi_cgroup *g)
{
    for (const kwi_cg_op *op = g->ops; op; op = op->next)
        if (op->kind == KWI_CG_OP_COMMIT_AUTO && !op->done)
            return true;
    return false;
}

void
kwi_cg_auto_timer(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    kwi_cgroup *g = ud;
    kwi_member_state st = kwi_member_state_get(g->m);
    if (((st == KWI_MEMBER_STABLE && !g->held) ||
         (!g->subscribed && st == KWI_MEMBER_UNSUBSCRIBED)) &&
        !auto_pending(g))
        auto_commit(g, NULL);
    kwi_reactor_timer_start(t, g->auto_ms);
}

bool
kwi_cg_on_event(kwi_cgdrv *d, const kwi_member_event *ev, void *ud)
{
    (void)d;
    kwi_cgroup *g = ud;
    bool app = g->k->o.on_rebalance && !g->freeing;
    const kwi_log *log = kwi_client_log(g->c);
    if (kwi_log_on(log, KWI_LOG_DEBUG))
        kwi_log_write(log, KWI_LOG_DEBUG, "group", "event %d: %d partitions, generation %d",
                      (int)ev->type, (int)kwi_tpset_count(ev->parts), (int)ev->generation);
    switch (ev->type) {
    case KWI_MEMBER_EV_ASSIGNED:
        assigned(g, ev->parts);
        hold(g, false);
        if (app)
            queue_cb(g, KW_REBALANCE_ASSIGNED, ev->parts, false);
        if (g->auto_commit)
            kwi_reactor_timer_start(g->t_auto, g->auto_ms); /* restarts after an assignment */
        return false;
    case KWI_MEMBER_EV_REVOKED:
        if (app) {
            kwi_tpset_add_all(&g->revoking, ev->parts);
            /* Paused until the callback returned (consumer_group.c). */
            return queue_cb(g, KW_REBALANCE_REVOKED, ev->parts, true);
        }
        kwi_cg_unassign(g, ev->parts);
        return false;
    case KWI_MEMBER_EV_LOST:
        kwi_cg_unassign(g, ev->parts);
        remove_all(&g->revoking, ev->parts); /* gone already: nothing to redo after the */
        remove_all(&g->reassign, ev->parts); /* REVOKED callback */
        if (app && kwi_tpset_count(ev->parts))
            queue_cb(g, KW_REBALANCE_LOST, ev->parts, false);
        return false;
    case KWI_MEMBER_EV_COMMIT_POINT:
        if (g->auto_commit) {
            auto_commit(g, ev->parts);
            hold(g, true);
        }
        return false;
    case KWI_MEMBER_EV_COMMIT_DONE:
    case KWI_MEMBER_EV_FETCH_DONE:
        op_done(g, ev);
        return false;
    case KWI_MEMBER_EV_ERROR:
        g->last_err = ev->err;
        if (ev->err.fatal) {
            g->fatal = true;
            kwi_cg_signal(g);
        }
        {
            const kwi_log *log = kwi_client_log(g->c);
            if (kwi_log_on(log, KWI_LOG_WARN))
                kwi_log_write(log, KWI_LOG_WARN, "group", "%s", ev->err.msg);
        }
        return false;
    case KWI_MEMBER_EV_CLOSED:
        g->closed = true;
        kwi_cg_signal(g);
        kwi_cons_signal(g->k);
        return false;
    default:
        return false;
    }
}
