/* The KIP-848 consumer group protocol (GROUPS.md 5): one ConsumerGroupHeartbeat loop carries
 * membership, subscription and assignment; the coordinator computes the assignment.
 *
 * States used: UNSUBSCRIBED, JOINING, STABLE, RECONCILING, ACKNOWLEDGING, STALE, LEAVING,
 * CLOSED, FATAL (Java's MemberState, GROUPS.md 5.12, with FENCED and PREPARE_LEAVING folded
 * into the transitions that pass through them).
 *
 *   JOINING        a full heartbeat at epoch 0 (TopicPartitions=[]), at once.
 *   STABLE         heartbeats every HeartbeatIntervalMs (from the broker) after the last send;
 *                  only changed fields are sent, and everything after any error (Java's
 *                  resetHeartbeatState).
 *   RECONCILING    the target (by topic id) has ids the metadata cannot name yet: those
 *                  partitions are assigned but not owned; a NEED_METADATA event asks for them.
 *   ACKNOWLEDGING  reconciled: COMMIT_POINT, REVOKED (owned - target, if any), ASSIGNED (target -
 *                  owned, always) were emitted; once the gate opens (callbacks ran, commits
 *                  answered, at most the rebalance timeout) the next heartbeat goes at once with
 *                  TopicPartitions = owned, which tells the coordinator the revocation is done.
 *
 * Fencing (110 FENCED_MEMBER_EPOCH, 25 UNKNOWN_MEMBER_ID): LOST, epoch 0, same member id,
 * JOINING. Leaving: epoch -1, or -2 for a static member (a temporary leave that keeps its
 * assignment until the session times out), sent once, the answer ignored. */
#include <stdlib.h>
#include <string.h>

#include "group/member_int.h"

bool
kwi_kip848_in_group(const kwi_member *m)
{
    switch (m->state) {
    case KWI_MEMBER_JOINING:
    case KWI_MEMBER_STABLE:
    case KWI_MEMBER_RECONCILING:
    case KWI_MEMBER_ACKNOWLEDGING:
        return true;
    default:
        return false;
    }
}

static int32_t
leave_epoch(const kwi_member *m)
{
    return m->cfg.group_instance_id ? -2 : -1;
}

/* ---------------------------------------------------------------- the target */

static void
target_free(kwi_member *m, target_topic *t, int32_t cap)
{
    for (int32_t i = 0; i < cap; i++)
        if (t[i].parts)
            m->a->free(m->a->ud, t[i].parts, (size_t)t[i].cap * sizeof(int32_t) + 1);
    if (t)
        m->a->free(m->a->ud, t, (size_t)cap * sizeof(*t) + 1);
}

static void
target_clear(kwi_member *m)
{
    target_free(m, m->target, m->cap_target);
    m->target = NULL;
    m->n_target = m->cap_target = 0;
    m->has_target = false;
    if (m->unresolved)
        m->a->free(m->a->ud, m->unresolved, (size_t)m->n_unresolved * sizeof(kw_uuid));
    m->unresolved = NULL;
    m->n_unresolved = 0;
}

void
kwi_kip848_fini(kwi_member *m)
{
    target_clear(m);
}

static int
cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int
cmp_target(const void *a, const void *b)
{
    return memcmp(&((const target_topic *)a)->id, &((const target_topic *)b)->id, sizeof(kw_uuid));
}

/* Copies a response assignment in canonical form (topics by id, partitions sorted and unique,
 * negative partitions dropped: the list comes off the wire). Returns whether it differs from
 * the current target. */
static bool
target_set(kwi_member *m, const kw_consumer_group_heartbeat_assignment *as)
{
    int32_t n = as->n_topic_partitions > 0 ? as->n_topic_partitions : 0;
    target_topic *t = m->a->alloc(m->a->ud, (size_t)n * sizeof(*t) + 1);
    if (!t) {
        m->nomem = true;
        return false;
    }
    memset(t, 0, (size_t)n * sizeof(*t));
    for (int32_t i = 0; i < n; i++) {
        const kw_consumer_group_heartbeat_topic_partitions *tp = &as->topic_partitions[i];
        int32_t np = tp->n_partitions > 0 ? tp->n_partitions : 0;
        t[i].id = tp->topic_id;
        t[i].parts = m->a->alloc(m->a->ud, (size_t)np * sizeof(int32_t) + 1);
        if (!t[i].parts) {
            m->nomem = true;
            target_free(m, t, n);
            return false;
        }
        t[i].cap = np;
        for (int32_t j = 0; j < np; j++)
            if (tp->partitions[j] >= 0)
                t[i].parts[t[i].n++] = tp->partitions[j];
        qsort(t[i].parts, (size_t)t[i].n, sizeof(int32_t), cmp_i32);
        int32_t w = 0;
        for (int32_t j = 0; j < t[i].n; j++)
            if (w == 0 || t[i].parts[w - 1] != t[i].parts[j])
                t[i].parts[w++] = t[i].parts[j];
        t[i].n = w;
    }
    qsort(t, (size_t)n, sizeof(*t), cmp_target);
    bool differs = !m->has_target || n != m->n_target;
    for (int32_t i = 0; !differs && i < n; i++)
        differs =
            memcmp(&t[i].id, &m->target[i].id, sizeof(kw_uuid)) || t[i].n != m->target[i].n ||
            (t[i].n && memcmp(t[i].parts, m->target[i].parts, (size_t)t[i].n * sizeof(int32_t)));
    target_free(m, m->target, m->cap_target);
    m->target = t;
    m->n_target = m->cap_target = n;
    m->has_target = true;
    return differs;
}

/* ---------------------------------------------------------------- reconciliation */

static bool
same_ids(const kw_uuid *a, int32_t na, const kw_uuid *b, int32_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, (size_t)na * sizeof(kw_uuid)) == 0);
}

/* Names the target through the metadata table. Ids it cannot name are collected in *ids (the
 * caller frees them); a new set of them is asked for with NEED_METADATA. */
static void
resolve(kwi_member *m, kwi_tpset *resolved, kw_uuid **ids, int32_t *n_ids)
{
    *ids = NULL;
    *n_ids = 0;
    if (m->n_target) {
        *ids = m->a->alloc(m->a->ud, (size_t)m->n_target * sizeof(kw_uuid));
        if (!*ids) {
            m->nomem = true;
            return;
        }
    }
    for (int32_t i = 0; i < m->n_target; i++) {
        const target_topic *t = &m->target[i];
        const md_entry *md = kwi_member_md_find_id(m, &t->id);
        if (!md) {
            if (t->n && (*n_ids == 0 || memcmp(&(*ids)[*n_ids - 1], &t->id, sizeof(kw_uuid))))
                (*ids)[(*n_ids)++] = t->id;
            continue;
        }
        kw_slice name = {(const uint8_t *)md->name, (int32_t)md->len};
        for (int32_t j = 0; j < t->n; j++)
            if (kwi_tpset_add(resolved, name, t->parts[j]))
                m->nomem = true;
        if (t->n)
            kwi_tpset_set_id(resolved, name, &t->id);
    }
}

static void
remember_unresolved(kwi_member *m, kw_uuid *ids, int32_t n)
{
    if (same_ids(ids, n, m->unresolved, m->n_unresolved)) {
        if (ids)
            m->a->free(m->a->ud, ids, (size_t)m->n_target * sizeof(kw_uuid));
        return;
    }
    kwi_member_emit_need_metadata(m, NULL, 0, ids, (size_t)n);
    if (m->unresolved)
        m->a->free(m->a->ud, m->unresolved, (size_t)m->n_unresolved * sizeof(kw_uuid));
    m->unresolved = NULL;
    m->n_unresolved = 0;
    if (n) {
        m->unresolved = m->a->alloc(m->a->ud, (size_t)n * sizeof(kw_uuid));
        if (m->unresolved) {
            memcpy(m->unresolved, ids, (size_t)n * sizeof(kw_uuid));
            m->n_unresolved = n;
        } else {
            m->nomem = true;
        }
    }
    if (ids)
        m->a->free(m->a->ud, ids, (size_t)m->n_target * sizeof(kw_uuid));
}

/* GROUPS.md 5.6. `fresh`: the target just changed (else metadata arrived). Revocation comes
 * before assignment, both before the acknowledgement; the application may commit the revoked
 * partitions' offsets in its callback while the member still holds the epoch they belong to. */
static void
reconcile(kwi_member *m, bool fresh)
{
    if (!m->has_target || (m->state != KWI_MEMBER_STABLE && m->state != KWI_MEMBER_RECONCILING))
        return;
    kwi_tpset resolved, revoked, added;
    kwi_tpset_init(&resolved, m->a);
    kwi_tpset_init(&revoked, m->a);
    kwi_tpset_init(&added, m->a);
    kw_uuid *ids;
    int32_t n_ids;
    resolve(m, &resolved, &ids, &n_ids);
    remember_unresolved(m, ids, n_ids);
    if (kwi_tpset_equal(&resolved, &m->owned)) {
        /* Nothing to hand over. A new target is still acknowledged (Java bumps its local
         * epoch and acks the resolvable part); a metadata update that named nothing new
         * changes nothing. */
        if (fresh)
            kwi_member_enter(m, KWI_MEMBER_ACKNOWLEDGING);
        else if (m->n_unresolved == 0 && m->state == KWI_MEMBER_RECONCILING)
            kwi_member_enter(m, KWI_MEMBER_STABLE);
    } else if (!m->nomem && !kwi_tpset_diff(&revoked, &m->owned, &resolved) &&
               !kwi_tpset_diff(&added, &resolved, &m->owned)) {
        /* Only whole sets are announced, and only what was announced is owned: after a
         * failed allocation (the member turns FATAL) its LOST event names exactly the
         * partitions the application was told about. */
        kwi_member_emit_parts(m, KWI_MEMBER_EV_COMMIT_POINT, &m->owned);
        if (revoked.n && !m->nomem)
            kwi_member_emit_parts(m, KWI_MEMBER_EV_REVOKED, &revoked);
        bool revoked_told = revoked.n && !m->nomem;
        if (!m->nomem)
            kwi_member_emit_parts(m, KWI_MEMBER_EV_ASSIGNED, &added);
        if (m->nomem) {
            for (int32_t i = 0; revoked_told && i < revoked.n; i++) {
                kw_slice t = {(const uint8_t *)revoked.t[i].name, (int32_t)revoked.t[i].name_len};
                for (int32_t j = 0; j < revoked.t[i].n; j++)
                    kwi_tpset_remove(&m->owned, t, revoked.t[i].parts[j]);
            }
        } else {
            kwi_tpset_fini(&m->owned);
            m->owned = resolved;
            kwi_tpset_init(&resolved, m->a);
            kwi_member_enter(m, KWI_MEMBER_ACKNOWLEDGING);
        }
    } else {
        m->nomem = true;
    }
    kwi_tpset_fini(&resolved);
    kwi_tpset_fini(&revoked);
    kwi_tpset_fini(&added);
}

void
kwi_kip848_on_metadata(kwi_member *m)
{
    if (m->n_unresolved)
        reconcile(m, false);
}

/* ---------------------------------------------------------------- heartbeats */

static void
owned_by_id(kwi_member *m, req_node *r, kw_consumer_group_heartbeat_req *q)
{
    q->topic_partitions =
        kw_arena_calloc(&r->arena, (size_t)m->owned.n + 1, sizeof(*q->topic_partitions));
    if (!q->topic_partitions) {
        m->nomem = true;
        return;
    }
    q->n_topic_partitions = 0;
    for (int32_t i = 0; i < m->owned.n; i++) {
        const kwi_tpset_topic *t = &m->owned.t[i];
        kw_uuid id = t->id;
        if (kwi_uuid_is_zero(&id)) {
            const md_entry *md =
                kwi_member_md_find(m, (kw_slice){(const uint8_t *)t->name, (int32_t)t->name_len});
            if (!md)
                continue;
            id = md->id;
        }
        kw_consumer_group_heartbeat_topic_partitions *o =
            &q->topic_partitions[q->n_topic_partitions++];
        o->topic_id = id;
        o->partitions = kw_arena_calloc(&r->arena, (size_t)t->n, sizeof(int32_t));
        if (!o->partitions) {
            m->nomem = true;
            return;
        }
        memcpy(o->partitions, t->parts, (size_t)t->n * sizeof(int32_t));
        o->n_partitions = t->n;
    }
}

typedef enum hb_kind { HB_REGULAR, HB_ACK, HB_LEAVE } hb_kind;

/* GROUPS.md 5.2: GroupId, MemberId, MemberEpoch and InstanceId always; the rest only when
 * joining, after an error (full), when changed, or (TopicPartitions) to acknowledge. A leave
 * carries only the identity, as librdkafka's does. */
static void
send_hb(kwi_member *m, hb_kind kind)
{
    req_node *r = kwi_member_req_new(m, RK_CGHB, &kw_msg_consumer_group_heartbeat_req,
                                     sizeof(kw_consumer_group_heartbeat_req));
    if (!r)
        return;
    kw_consumer_group_heartbeat_req *q = (kw_consumer_group_heartbeat_req *)r->out.body;
    bool joining = m->state == KWI_MEMBER_JOINING;
    bool full = kind != HB_LEAVE && (joining || m->full_hb);
    q->group_id = kwi_member_arena_str(m, r, m->cfg.group_id);
    q->member_id = kwi_member_arena_str(m, r, m->member_id);
    q->member_epoch = kind == HB_LEAVE ? leave_epoch(m) : joining ? 0 : m->generation;
    q->instance_id = kwi_member_arena_str(m, r, m->cfg.group_instance_id);
    q->rack_id = joining ? kwi_member_arena_str(m, r, m->cfg.client_rack) : KW_SLICE_NULL;
    q->rebalance_timeout_ms = full ? m->cfg.max_poll_interval_ms : -1;
    q->n_subscribed_topic_names = -1;
    if (kind != HB_LEAVE && (full || m->subs_dirty)) {
        q->subscribed_topic_names =
            kw_arena_calloc(&r->arena, (size_t)m->n_topics + 1, sizeof(kw_slice));
        if (!q->subscribed_topic_names)
            m->nomem = true;
        for (int32_t i = 0; q->subscribed_topic_names && i < m->n_topics; i++)
            q->subscribed_topic_names[i] = kwi_member_arena_str(m, r, m->topics[i]);
        q->n_subscribed_topic_names = m->n_topics;
    }
    q->subscribed_topic_regex = KW_SLICE_NULL;
    q->server_assignor = full ? kwi_member_arena_str(m, r, m->cfg.remote_assignor) : KW_SLICE_NULL;
    q->n_topic_partitions = -1;
    if (joining) {
        q->topic_partitions = NULL; /* epoch 0 must carry [] */
        q->n_topic_partitions = 0;
    } else if (kind == HB_ACK || (full && m->state != KWI_MEMBER_ACKNOWLEDGING)) {
        /* While callbacks still run, TopicPartitions stays null ("unchanged"): sending the
         * new set early would tell the coordinator the revocation is done before it is. */
        owned_by_id(m, r, q);
    }
    if (m->nomem) {
        kwi_member_req_drop(m, r);
        return;
    }
    m->cghb_seq = r->out.seq;
    m->cghb_epoch = q->member_epoch;
    m->hb_sent_at = m->now;
    if (kind != HB_LEAVE) {
        m->t_hb_due = m->now + m->hb_interval_ms;
        m->full_hb = false;
        m->subs_dirty = false;
    }
    kwi_member_req_push(m, r);
}

/* ---------------------------------------------------------------- state entry */

void
kwi_kip848_enter(kwi_member *m, kwi_member_state from)
{
    (void)from;
    switch (m->state) {
    case KWI_MEMBER_JOINING:
        m->generation = 0;
        m->full_hb = true;
        m->cghb_seq = 0; /* a leave heartbeat still out (poll timeout) is answered to no one */
        m->t_hb_due = m->now;
        m->t_retry = m->now;
        target_clear(m);
        break;
    case KWI_MEMBER_ACKNOWLEDGING:
        m->t_gate = m->now + m->cfg.max_poll_interval_ms;
        break;
    case KWI_MEMBER_STALE:
    case KWI_MEMBER_UNSUBSCRIBED:
        target_clear(m);
        m->t_hb_due = KWI_NEVER;
        break;
    default:
        break;
    }
}

/* ---------------------------------------------------------------- responses */

static bool
fatal_hb_error(int16_t code)
{
    switch (code) {
    case 111: /* UNRELEASED_INSTANCE_ID */
    case 82:  /* FENCED_INSTANCE_ID */
    case 81:  /* GROUP_MAX_SIZE_REACHED */
    case 112: /* UNSUPPORTED_ASSIGNOR */
    case 42:  /* INVALID_REQUEST */
    case 128: /* INVALID_REGULAR_EXPRESSION */
    case 30:  /* GROUP_AUTHORIZATION_FAILED */
    case 35:  /* UNSUPPORTED_VERSION: the consumer protocol is disabled on the broker */
    case 69:  /* GROUP_ID_NOT_FOUND */
        return true;
    default:
        return false;
    }
}

static void
backoff(kwi_member *m)
{
    m->full_hb = true;
    m->t_hb_due = m->now; /* the heartbeat was lost: resend once the backoff has passed */
    m->t_retry = m->now + kwi_member_backoff(m, m->retry_attempts);
    if (m->retry_attempts < 30)
        m->retry_attempts++;
}

static void
finish_leave(kwi_member *m)
{
    m->generation = 0;
    kwi_member_enter(m, m->closing    ? KWI_MEMBER_CLOSED
                        : m->n_topics ? KWI_MEMBER_JOINING
                                      : KWI_MEMBER_UNSUBSCRIBED);
}

static void
fenced(kwi_member *m)
{
    /* Fenced at epoch 0 itself (a 4.0/4.1 coordinator still holding this member id at a
     * higher epoch answers 110 until that entry expires): back off instead of spinning. */
    bool joining = m->cghb_epoch == 0;
    if (m->owned.n)
        kwi_member_emit_parts(m, KWI_MEMBER_EV_LOST, &m->owned);
    kwi_tpset_clear(&m->owned);
    kwi_member_enter(m, KWI_MEMBER_JOINING);
    if (joining) {
        m->t_retry = m->now + kwi_member_backoff(m, m->retry_attempts);
        if (m->retry_attempts < 30)
            m->retry_attempts++;
    }
}

static void
hb_ok(kwi_member *m, const kw_consumer_group_heartbeat_resp *resp)
{
    m->retry_attempts = 0;
    m->t_retry = 0;
    if (resp->member_id.len > 0 && !kw_slice_eq(resp->member_id, m->member_id) &&
        kwi_member_set_str(m, &m->member_id, resp->member_id))
        return;
    m->generation = resp->member_epoch;
    if (resp->heartbeat_interval_ms > 0)
        m->hb_interval_ms = resp->heartbeat_interval_ms;
    m->t_hb_due = m->hb_sent_at + m->hb_interval_ms;
    if (m->state == KWI_MEMBER_JOINING)
        kwi_member_enter(m, KWI_MEMBER_STABLE);
    if (resp->has_assignment && target_set(m, &resp->assignment))
        reconcile(m, true);
}

void
kwi_kip848_on_response(kwi_member *m, const kwi_member_resp *r)
{
    if (r->api_key != KWI_API_CONSUMER_GROUP_HEARTBEAT || r->seq != m->cghb_seq)
        return;
    m->cghb_seq = 0;
    if (m->state == KWI_MEMBER_STALE)
        return; /* the answer to the poll-timeout leave */
    if (m->state == KWI_MEMBER_LEAVING) {
        /* Answered or not, a sent leave is done; anything else said while leaving is moot. */
        if (m->leave_sent)
            finish_leave(m);
        return;
    }
    if (r->err == KW_ERR_UNSUPPORTED_VERSION) {
        /* The coordinator does not offer the API at all: retrying only rediscovers the same
         * coordinator forever. Fatal, as Java's UnsupportedVersionException here. */
        kwi_member_fail(m, KW_ERR_UNSUPPORTED_VERSION, 35,
                        "joining (the coordinator does not support ConsumerGroupHeartbeat, "
                        "KIP-848; use group.protocol=classic)");
        return;
    }
    if (r->err) {
        kwi_member_coord_lost(m, "ConsumerGroupHeartbeat failed");
        backoff(m);
        return;
    }
    const kw_consumer_group_heartbeat_resp *resp = r->body;
    int16_t code = resp->error_code;
    switch (code) {
    case 0:
        hb_ok(m, resp);
        break;
    case 15:
    case 16: /* rediscover; the next heartbeat goes as soon as it is found, full */
        kwi_member_coord_lost(m, "ConsumerGroupHeartbeat: the coordinator moved");
        m->t_hb_due = m->now;
        break;
    case 110: /* FENCED_MEMBER_EPOCH */
    case 25:  /* UNKNOWN_MEMBER_ID */
        fenced(m);
        break;
    case 29: /* TOPIC_AUTHORIZATION_FAILED: reported, the member stays */
        kwi_member_emit_error(m, KW_ERR_BROKER, code, false, "ConsumerGroupHeartbeat");
        m->full_hb = true;
        m->t_hb_due = m->now + m->hb_interval_ms;
        break;
    default:
        if (fatal_hb_error(code) || !kw_broker_err_retriable(code))
            kwi_member_fail(m, KW_ERR_BROKER, code, "ConsumerGroupHeartbeat");
        else
            backoff(m);
        break;
    }
}

/* ---------------------------------------------------------------- other inputs */

void
kwi_kip848_poll_expired(kwi_member *m)
{
    kwi_member_emit_error(m, KW_ERR_TIMED_OUT, 0, false,
                          "max.poll.interval.ms passed without a poll: leaving the group");
    if (m->owned.n)
        kwi_member_emit_parts(m, KWI_MEMBER_EV_LOST, &m->owned);
    kwi_tpset_clear(&m->owned);
    kwi_member_purge_coordinator_requests(m);
    m->cghb_seq = 0;
    if (m->cstate == COORD_KNOWN)
        send_hb(m, HB_LEAVE);
    m->generation = 0;
    kwi_member_enter(m, KWI_MEMBER_STALE);
}

void
kwi_kip848_subscription_changed(kwi_member *m)
{
    switch (m->state) {
    case KWI_MEMBER_UNSUBSCRIBED:
        kwi_member_enter(m, KWI_MEMBER_JOINING);
        break;
    case KWI_MEMBER_JOINING:
    case KWI_MEMBER_STABLE:
    case KWI_MEMBER_RECONCILING:
    case KWI_MEMBER_ACKNOWLEDGING:
        m->subs_dirty = true;
        m->t_hb_due = m->now; /* tell the coordinator at once (librdkafka expedites too) */
        break;
    default:
        break;
    }
}

void
kwi_kip848_leave(kwi_member *m)
{
    switch (m->state) {
    case KWI_MEMBER_LEAVING:
    case KWI_MEMBER_CLOSED:
        return;
    case KWI_MEMBER_UNSUBSCRIBED:
    case KWI_MEMBER_STALE:
    case KWI_MEMBER_FATAL:
        kwi_member_enter(m, m->closing ? KWI_MEMBER_CLOSED : KWI_MEMBER_UNSUBSCRIBED);
        return;
    default:
        break;
    }
    /* Java's close: commit, then Revoked if the member holds an epoch (Lost if not), then the
     * leave heartbeat. */
    bool live = m->generation > 0;
    if (live)
        kwi_member_emit_parts(m, KWI_MEMBER_EV_COMMIT_POINT, &m->owned);
    if (m->owned.n)
        kwi_member_emit_parts(m, live ? KWI_MEMBER_EV_REVOKED : KWI_MEMBER_EV_LOST, &m->owned);
    kwi_tpset_clear(&m->owned);
    target_clear(m);
    kwi_member_enter(m, KWI_MEMBER_LEAVING);
}

static void
leaving_step(kwi_member *m)
{
    if (m->leave_sent) {
        if (!m->cghb_seq)
            finish_leave(m);
        return;
    }
    bool gate = kwi_member_gate_open(m) || m->now >= m->t_gate;
    if (!gate || (m->cstate != COORD_KNOWN && m->now < m->t_gate))
        return;
    m->leave_sent = true;
    if (m->cstate != COORD_KNOWN) {
        finish_leave(m);
        return;
    }
    kwi_member_purge_coordinator_requests(m);
    send_hb(m, HB_LEAVE);
}

/* ---------------------------------------------------------------- the step */

static bool
may_send(const kwi_member *m)
{
    return !m->cghb_seq && m->cstate == COORD_KNOWN && m->now >= m->t_retry;
}

void
kwi_kip848_step(kwi_member *m)
{
    switch (m->state) {
    case KWI_MEMBER_JOINING:
    case KWI_MEMBER_STABLE:
    case KWI_MEMBER_RECONCILING:
        if (may_send(m) && m->now >= m->t_hb_due)
            send_hb(m, HB_REGULAR);
        break;
    case KWI_MEMBER_ACKNOWLEDGING:
        if (!may_send(m))
            break;
        if (kwi_member_gate_open(m) || m->now >= m->t_gate) {
            send_hb(m, HB_ACK);
            kwi_member_enter(m, m->n_unresolved ? KWI_MEMBER_RECONCILING : KWI_MEMBER_STABLE);
            reconcile(m, false); /* a target that arrived meanwhile */
        } else if (m->now >= m->t_hb_due) {
            send_hb(m, HB_REGULAR); /* stay alive while the callbacks run */
        }
        break;
    case KWI_MEMBER_LEAVING:
        leaving_step(m);
        break;
    default:
        break;
    }
}

int64_t
kwi_kip848_deadline(const kwi_member *m)
{
    int64_t retry = m->t_retry;
    switch (m->state) {
    case KWI_MEMBER_JOINING:
    case KWI_MEMBER_STABLE:
    case KWI_MEMBER_RECONCILING:
        if (m->cghb_seq || m->cstate != COORD_KNOWN)
            return KWI_NEVER;
        return m->t_hb_due > retry ? m->t_hb_due : retry;
    case KWI_MEMBER_ACKNOWLEDGING:
        if (m->cghb_seq || m->cstate != COORD_KNOWN)
            return KWI_NEVER;
        if (!kwi_member_gate_open(m)) {
            int64_t hb = m->t_hb_due > retry ? m->t_hb_due : retry;
            return hb < m->t_gate ? hb : m->t_gate;
        }
        return retry;
    case KWI_MEMBER_LEAVING:
        return m->leave_sent ? KWI_NEVER : m->t_gate;
    default:
        return KWI_NEVER;
    }
}
