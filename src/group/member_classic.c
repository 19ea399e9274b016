/* The classic group protocol (GROUPS.md 1): JoinGroup, SyncGroup, Heartbeat, LeaveGroup.
 *
 * States used: UNSUBSCRIBED, PREPARING, JOINING, ASSIGNING (leader), SYNCING, STABLE, STALE,
 * LEAVING, CLOSED, FATAL.
 *
 *   PREPARING  Java's onJoinPrepare: COMMIT_POINT, then REVOKED (eager: everything, even when
 *              empty; cooperative: partitions of topics no longer subscribed), then wait for the
 *              gate (callbacks ran, their commits answered) at most the rebalance timeout.
 *              Entered only while the member holds a generation; after a reset (22, 25, poll
 *              timeout) the owned partitions are LOST at once and the member goes to JOINING.
 *   JOINING    JoinGroup; MEMBER_ID_REQUIRED / UNKNOWN_MEMBER_ID / REBALANCE_IN_PROGRESS retry
 *              at once, COORDINATOR_LOAD_IN_PROGRESS after backoff.
 *   ASSIGNING  the leader waits (at most request.timeout.ms) for the metadata of every topic
 *              the members subscribe to, then runs the assignor.
 *   SYNCING    SyncGroup in flight; a lost SyncGroup means rejoin.
 *   STABLE     heartbeats every heartbeat.interval.ms.
 *
 * Heartbeats run while the member holds a generation and no JoinGroup is outstanding (the
 * parked JoinGroup is the liveness), i.e. in PREPARING, ASSIGNING, SYNCING, STABLE and LEAVING
 * until the LeaveGroup goes. A session without a heartbeat answer for session.timeout.ms marks
 * the coordinator unknown (Java; librdkafka would reset the member instead). */
#include <string.h>

#include "group/member_int.h"

#define PROTOCOL_TYPE "consumer"

static bool
has_generation(const kwi_member *m)
{
    return m->generation >= 0 && m->member_id[0] != '\0';
}

bool
kwi_classic_heartbeating(const kwi_member *m)
{
    if (!has_generation(m) || m->join_seq)
        return false;
    switch (m->state) {
    case KWI_MEMBER_PREPARING:
    case KWI_MEMBER_ASSIGNING:
    case KWI_MEMBER_SYNCING:
    case KWI_MEMBER_STABLE:
        return true;
    case KWI_MEMBER_LEAVING:
        return !m->leave_sent;
    default:
        return false;
    }
}

/* Where max.poll.interval.ms is enforced: Java's heartbeat thread checks the poll timer only
 * once the member has joined (COMPLETING_REBALANCE, STABLE); during a parked JoinGroup the
 * broker's rebalance timeout (the same value) governs. */
bool
kwi_classic_in_group(const kwi_member *m)
{
    return kwi_classic_heartbeating(m) && m->state != KWI_MEMBER_LEAVING;
}

static void
request_rejoin(kwi_member *m, const char *why)
{
    if (m->state != KWI_MEMBER_STABLE)
        return; /* a join in progress re-checks the subscription when it completes */
    m->rejoin_reason = why;
    kwi_member_enter(m, KWI_MEMBER_PREPARING);
}

/* Java's onJoinPrepare, with a valid generation (the reset case emitted LOST already). */
static void
join_prepare(kwi_member *m)
{
    m->t_gate = m->now + m->cfg.max_poll_interval_ms;
    if (!has_generation(m)) {
        if (m->owned.n)
            kwi_member_emit_parts(m, KWI_MEMBER_EV_LOST, &m->owned);
        kwi_tpset_clear(&m->owned);
        return;
    }
    kwi_member_emit_parts(m, KWI_MEMBER_EV_COMMIT_POINT, &m->owned);
    if (!m->cooperative) {
        /* Eager: everything goes back, and Java calls onPartitionsRevoked even when empty. */
        kwi_member_emit_parts(m, KWI_MEMBER_EV_REVOKED, &m->owned);
        kwi_tpset_clear(&m->owned);
        return;
    }
    /* Cooperative: only what the subscription no longer covers; the rest stays owned and is
     * consumed throughout the rebalance. */
    kwi_tpset gone;
    kwi_tpset_init(&gone, m->a);
    for (int32_t i = 0; i < m->owned.n; i++) {
        const kwi_tpset_topic *t = &m->owned.t[i];
        kw_slice name = {(const uint8_t *)t->name, (int32_t)t->name_len};
        if (kwi_member_subscribed_to(m, name))
            continue;
        for (int32_t j = 0; j < t->n; j++)
            if (kwi_tpset_add(&gone, name, t->parts[j]))
                m->nomem = true;
    }
    if (gone.n) {
        kwi_member_emit_parts(m, KWI_MEMBER_EV_REVOKED, &gone);
        kwi_tpset owned;
        kwi_tpset_init(&owned, m->a);
        if (kwi_tpset_diff(&owned, &m->owned, &gone))
            m->nomem = true;
        kwi_tpset_fini(&m->owned);
        m->owned = owned;
    }
    kwi_tpset_fini(&gone);
}

void
kwi_classic_enter(kwi_member *m, kwi_member_state from)
{
    (void)from;
    switch (m->state) {
    case KWI_MEMBER_PREPARING:
        join_prepare(m);
        break;
    case KWI_MEMBER_JOINING:
        m->sync_seq = 0; /* a SyncGroup in flight belongs to an abandoned generation */
        m->leader = false;
        m->t_retry = m->now;
        break;
    case KWI_MEMBER_STALE:
    case KWI_MEMBER_UNSUBSCRIBED:
        m->join_seq = m->sync_seq = m->hb_seq = 0;
        m->t_session = KWI_NEVER;
        break;
    case KWI_MEMBER_LEAVING:
        m->join_seq = m->sync_seq = 0; /* a join under way is abandoned */
        break;
    default:
        break;
    }
}

/* ---------------------------------------------------------------- requests */

static void
owned_as_wire(kwi_member *m, req_node *r, kw_consumer_protocol_topic_partition **out, int32_t *n)
{
    *n = 0;
    *out = NULL;
    if (!m->owned.n)
        return;
    *out = kw_arena_calloc(&r->arena, (size_t)m->owned.n, sizeof(**out));
    if (!*out) {
        m->nomem = true;
        return;
    }
    for (int32_t i = 0; i < m->owned.n; i++) {
        (*out)[i].topic =
            (kw_slice){(const uint8_t *)m->owned.t[i].name, (int32_t)m->owned.t[i].name_len};
        (*out)[i].partitions = m->owned.t[i].parts;
        (*out)[i].n_partitions = m->owned.t[i].n;
    }
    *n = m->owned.n;
}

/* One Subscription per offered assignor (its UserData differs), as Java's metadata(). */
static kw_slice
subscription_bytes(kwi_member *m, req_node *r, const kwi_assignor *as)
{
    kw_slice *topics = kw_arena_calloc(&r->arena, (size_t)m->n_topics + 1, sizeof(kw_slice));
    if (!topics) {
        m->nomem = true;
        return KW_SLICE_NULL;
    }
    for (int32_t i = 0; i < m->n_topics; i++)
        topics[i] = kw_slice_str(m->topics[i]);
    kwi_assign_sub_in in = {topics, m->n_topics,   NULL,
                            0,      m->generation, kw_slice_str(m->cfg.client_rack)};
    owned_as_wire(m, r, (kw_consumer_protocol_topic_partition **)&in.owned, &in.n_owned);
    kw_wr w;
    kw_wr_init_dyn(&w, m->a, (size_t)INT32_MAX);
    kw_err e = kwi_assign_subscription_encode(as, &in, m->a, &w);
    kw_slice out = KW_SLICE_NULL;
    if (e == KW_ERR_OK)
        out = kwi_member_arena_bytes(m, r, (kw_slice){w.base, (int32_t)kw_wr_len(&w)});
    else
        m->nomem = true;
    kw_wr_fini(&w);
    return out;
}

static kw_err
copy_topics(kwi_member *m, char ***dst, int32_t *n_dst, char *const *src, int32_t n)
{
    for (int32_t i = 0; i < *n_dst; i++)
        if ((*dst)[i])
            m->a->free(m->a->ud, (*dst)[i], strlen((*dst)[i]) + 1);
    if (*dst)
        m->a->free(m->a->ud, *dst, (size_t)*n_dst * sizeof(char *));
    *dst = NULL;
    *n_dst = 0;
    if (!n)
        return KW_ERR_OK;
    *dst = m->a->alloc(m->a->ud, (size_t)n * sizeof(char *));
    if (!*dst)
        return KW_ERR_NOMEM;
    memset(*dst, 0, (size_t)n * sizeof(char *));
    *n_dst = n;
    for (int32_t i = 0; i < n; i++) {
        size_t len = strlen(src[i]);
        (*dst)[i] = m->a->alloc(m->a->ud, len + 1);
        if (!(*dst)[i])
            return KW_ERR_NOMEM;
        memcpy((*dst)[i], src[i], len + 1);
    }
    return KW_ERR_OK;
}

static bool
subscription_changed_since_join(const kwi_member *m)
{
    if (m->n_topics != m->n_joined_topics)
        return true;
    for (int32_t i = 0; i < m->n_topics; i++)
        if (!m->joined_topics[i] || strcmp(m->topics[i], m->joined_topics[i]) != 0)
            return true;
    return false;
}

static void
send_join(kwi_member *m)
{
    req_node *r = kwi_member_req_new(m, RK_JOIN, &kw_msg_join_group_req, sizeof(kw_join_group_req));
    if (!r)
        return;
    kw_join_group_req *q = (kw_join_group_req *)r->out.body;
    q->group_id = kwi_member_arena_str(m, r, m->cfg.group_id);
    q->session_timeout_ms = m->cfg.session_timeout_ms;
    q->rebalance_timeout_ms = m->cfg.max_poll_interval_ms; /* Java: max.poll.interval.ms */
    q->member_id = kwi_member_arena_str(m, r, m->member_id);
    q->group_instance_id = kwi_member_arena_str(m, r, m->cfg.group_instance_id);
    q->protocol_type = kwi_member_arena_str(m, r, PROTOCOL_TYPE);
    q->protocols = kw_arena_calloc(&r->arena, m->cfg.n_assignors, sizeof(*q->protocols));
    if (!q->protocols)
        m->nomem = true;
    for (size_t i = 0; q->protocols && i < m->cfg.n_assignors; i++) {
        q->protocols[i].name = kwi_member_arena_str(m, r, m->cfg.assignors[i]->name);
        q->protocols[i].metadata = subscription_bytes(m, r, m->cfg.assignors[i]);
        q->n_protocols++;
    }
    q->reason = kwi_member_arena_str(m, r, m->rejoin_reason);
    /* The broker parks a JoinGroup until the join phase ends (up to the rebalance timeout). */
    int64_t t = (int64_t)m->cfg.max_poll_interval_ms + 5000;
    r->out.timeout_ms = (int32_t)(t > m->cfg.request_timeout_ms ? (t > INT32_MAX ? INT32_MAX : t)
                                                                : m->cfg.request_timeout_ms);
    r->out.min_version = m->cfg.group_instance_id ? 5 : 0; /* GroupInstanceId: v5+ */
    if (copy_topics(m, &m->joined_topics, &m->n_joined_topics, m->topics, m->n_topics))
        m->nomem = true;
    if (m->nomem) {
        kwi_member_req_drop(m, r);
        return;
    }
    m->join_seq = r->out.seq;
    kwi_member_req_push(m, r);
}

static req_node *
new_sync(kwi_member *m)
{
    req_node *r = kwi_member_req_new(m, RK_SYNC, &kw_msg_sync_group_req, sizeof(kw_sync_group_req));
    if (!r)
        return NULL;
    kw_sync_group_req *q = (kw_sync_group_req *)r->out.body;
    q->group_id = kwi_member_arena_str(m, r, m->cfg.group_id);
    q->generation_id = m->generation;
    q->member_id = kwi_member_arena_str(m, r, m->member_id);
    q->group_instance_id = kwi_member_arena_str(m, r, m->cfg.group_instance_id);
    q->protocol_type = kwi_member_arena_str(m, r, PROTOCOL_TYPE);
    q->protocol_name = kwi_member_arena_str(m, r, m->protocol_name);
    r->out.min_version = m->cfg.group_instance_id ? 3 : 0;
    return r;
}

static void
push_sync(kwi_member *m, req_node *r)
{
    if (m->nomem) {
        kwi_member_req_drop(m, r);
        return;
    }
    m->sync_seq = r->out.seq;
    kwi_member_req_push(m, r);
    kwi_member_enter(m, KWI_MEMBER_SYNCING);
}

static void
send_heartbeat(kwi_member *m)
{
    req_node *r = kwi_member_req_new(m, RK_HB, &kw_msg_heartbeat_req, sizeof(kw_heartbeat_req));
    if (!r)
        return;
    kw_heartbeat_req *q = (kw_heartbeat_req *)r->out.body;
    q->group_id = kwi_member_arena_str(m, r, m->cfg.group_id);
    q->generation_id = m->generation;
    q->member_id = kwi_member_arena_str(m, r, m->member_id);
    q->group_instance_id = kwi_member_arena_str(m, r, m->cfg.group_instance_id);
    r->out.min_version = m->cfg.group_instance_id ? 3 : 0;
    if (m->nomem) {
        kwi_member_req_drop(m, r);
        return;
    }
    m->hb_seq = r->out.seq;
    m->hb_generation = m->generation;
    m->t_hb_due = m->now + m->cfg.heartbeat_interval_ms; /* one interval from this send */
    kwi_member_req_push(m, r);
}

/* LeaveGroup, best effort, never retried: v3+ Members[] and the v0-2 top-level MemberId. */
static void
send_leave(kwi_member *m, const char *reason)
{
    req_node *r =
        kwi_member_req_new(m, RK_LEAVE, &kw_msg_leave_group_req, sizeof(kw_leave_group_req));
    if (!r)
        return;
    kw_leave_group_req *q = (kw_leave_group_req *)r->out.body;
    q->group_id = kwi_member_arena_str(m, r, m->cfg.group_id);
    q->member_id = kwi_member_arena_str(m, r, m->member_id);
    q->members = kw_arena_calloc(&r->arena, 1, sizeof(*q->members));
    if (!q->members) {
        m->nomem = true;
        kwi_member_req_drop(m, r);
        return;
    }
    q->members[0].member_id = q->member_id;
    q->members[0].group_instance_id = KW_SLICE_NULL;
    q->members[0].reason = kwi_member_arena_str(m, r, reason);
    q->n_members = 1;
    if (m->nomem) {
        kwi_member_req_drop(m, r);
        return;
    }
    m->leave_seq = r->out.seq;
    kwi_member_req_push(m, r);
}

/* ---------------------------------------------------------------- responses */

static bool
fatal_join_error(int16_t code)
{
    switch (code) {
    case 82: /* FENCED_INSTANCE_ID */
    case 23: /* INCONSISTENT_GROUP_PROTOCOL */
    case 24: /* INVALID_GROUP_ID */
    case 26: /* INVALID_SESSION_TIMEOUT */
    case 30: /* GROUP_AUTHORIZATION_FAILED */
    case 81: /* GROUP_MAX_SIZE_REACHED */
    case 35: /* UNSUPPORTED_VERSION */
        return true;
    default:
        return false;
    }
}

static void
retry_later(kwi_member *m, int16_t code, const char *what)
{
    if (!kw_broker_err_retriable(code))
        kwi_member_emit_error(m, KW_ERR_BROKER, code, false, what);
    m->t_retry = m->now + kwi_member_backoff(m, m->retry_attempts);
    if (m->retry_attempts < 30)
        m->retry_attempts++;
}

static const kwi_assignor *
assignor_named(const kwi_member *m, kw_slice name)
{
    for (size_t i = 0; i < m->cfg.n_assignors; i++)
        if (kw_slice_eq(name, m->cfg.assignors[i]->name))
            return m->cfg.assignors[i];
    return NULL;
}

static void
join_ok(kwi_member *m, const kw_join_group_resp *resp)
{
    /* KIP-559: a group of another protocol type is INCONSISTENT_GROUP_PROTOCOL. */
    const kwi_assignor *as = assignor_named(m, resp->protocol_name);
    if ((resp->protocol_type.len >= 0 && !kw_slice_eq(resp->protocol_type, PROTOCOL_TYPE)) || !as) {
        kwi_member_fail(m, KW_ERR_BROKER, 23,
                        "JoinGroup chose a protocol this member does not offer");
        return;
    }
    if (kwi_member_set_str(m, &m->member_id, resp->member_id) ||
        kwi_member_set_str(m, &m->protocol_name, resp->protocol_name))
        return;
    m->generation = resp->generation_id;
    m->chosen = as;
    m->leader = resp->leader.len > 0 && kw_slice_eq(resp->leader, m->member_id);
    m->retry_attempts = 0;
    m->rejoin_reason = NULL;
    m->t_session = m->now + m->cfg.session_timeout_ms;
    m->t_hb_due = m->now + m->cfg.heartbeat_interval_ms;
    m->hb_attempts = 0;
    if (m->leader && !resp->skip_assignment) {
        kwi_leader_begin(m, resp);
        kwi_member_enter(m, KWI_MEMBER_ASSIGNING);
        return;
    }
    /* Followers, and a static leader told to skip the assignment (KIP-814), send none. */
    req_node *r = new_sync(m);
    if (r)
        push_sync(m, r);
}

static void
on_join(kwi_member *m, const kwi_member_resp *r)
{
    m->join_seq = 0;
    if (r->err) {
        kwi_member_coord_lost(m, "JoinGroup failed");
        return;
    }
    const kw_join_group_resp *resp = r->body;
    int16_t code = resp->error_code;
    switch (code) {
    case 0:
        join_ok(m, resp);
        break;
    case 79: /* MEMBER_ID_REQUIRED (KIP-394): adopt the id, rejoin at once */
        if (kwi_member_set_str(m, &m->member_id, resp->member_id))
            return;
        m->t_retry = m->now;
        break;
    case 25: /* UNKNOWN_MEMBER_ID */
        kwi_member_reset_generation(m, true);
        m->t_retry = m->now;
        break;
    case 27: /* REBALANCE_IN_PROGRESS */
    case 22: /* ILLEGAL_GENERATION */
        m->t_retry = m->now;
        break;
    case 15:
    case 16:
        kwi_member_coord_lost(m, "JoinGroup: the coordinator moved");
        break;
    default:
        if (fatal_join_error(code))
            kwi_member_fail(m, KW_ERR_BROKER, code, "JoinGroup");
        else
            retry_later(m, code, "JoinGroup");
        break;
    }
}

/* Applies a SyncGroup assignment (GROUPS.md 4): eager hands out the whole assignment;
 * cooperative revokes owned - assigned first (then rejoins), assigns assigned - owned. */
static void
apply_assignment(kwi_member *m, const kwi_tpset *assigned)
{
    for (int32_t i = 0; i < assigned->n; i++) {
        kw_slice name = {(const uint8_t *)assigned->t[i].name, (int32_t)assigned->t[i].name_len};
        if (!kwi_member_subscribed_to(m, name)) {
            /* Java: a rejoin without applying an assignment that does not match. */
            kwi_member_enter(m, KWI_MEMBER_STABLE);
            request_rejoin(m, "the assignment does not match the subscription");
            return;
        }
    }
    /* Everything is computed before anything is emitted or owned: after a failed allocation
     * (the member turns FATAL) no ASSIGNED event may announce a partial assignment, and the
     * LOST event of kwi_member_fail must name only partitions announced before. */
    bool revoked_any = false;
    kwi_tpset next, revoked, added;
    kwi_tpset_init(&next, m->a);
    kwi_tpset_init(&revoked, m->a);
    kwi_tpset_init(&added, m->a);
    if (kwi_tpset_copy(&next, assigned) ||
        (m->cooperative && (kwi_tpset_diff(&revoked, &m->owned, assigned) ||
                            kwi_tpset_diff(&added, assigned, &m->owned)))) {
        m->nomem = true;
        kwi_tpset_fini(&next);
        kwi_tpset_fini(&revoked);
        kwi_tpset_fini(&added);
        return;
    }
    if (!m->cooperative) {
        kwi_member_emit_parts(m, KWI_MEMBER_EV_ASSIGNED, &next);
    } else {
        revoked_any = revoked.n > 0;
        if (revoked_any)
            kwi_member_emit_parts(m, KWI_MEMBER_EV_REVOKED, &revoked);
        kwi_member_emit_parts(m, KWI_MEMBER_EV_ASSIGNED, &added);
    }
    kwi_tpset_fini(&revoked);
    kwi_tpset_fini(&added);
    if (m->nomem) {
        kwi_tpset_fini(&next); /* not announced: not owned */
        return;
    }
    kwi_tpset_fini(&m->owned);
    m->owned = next;
    kwi_member_enter(m, KWI_MEMBER_STABLE);
    if (revoked_any)
        request_rejoin(m, "partitions were revoked and must be released (KIP-429)");
    else if (subscription_changed_since_join(m))
        request_rejoin(m, "the subscription changed during the rebalance");
}

static void
sync_ok(kwi_member *m, const kw_sync_group_resp *resp)
{
    if ((resp->protocol_type.len >= 0 && !kw_slice_eq(resp->protocol_type, PROTOCOL_TYPE)) ||
        (resp->protocol_name.len >= 0 && !kw_slice_eq(resp->protocol_name, m->protocol_name))) {
        kwi_member_fail(m, KW_ERR_BROKER, 23, "SyncGroup answered for another protocol");
        return;
    }
    kwi_tpset assigned;
    kwi_tpset_init(&assigned, m->a);
    kw_err e = KW_ERR_OK;
    /* Empty bytes: a member the leader left out. Java throws; librdkafka (and kwire) take it
     * as an empty assignment. */
    if (resp->assignment.len > 0) {
        kw_arena ar;
        kw_arena_init(&ar, m->a, 0);
        kw_consumer_protocol_assignment asg;
        kw_rd rd;
        kw_rd_init(&rd, resp->assignment.ptr, (size_t)resp->assignment.len);
        e = kw_consumer_protocol_decode(&kw_msg_consumer_protocol_assignment, &rd, &ar, &asg, NULL);
        for (int32_t i = 0; !e && i < asg.n_assigned_partitions; i++) {
            const kw_consumer_protocol_topic_partition *tp = &asg.assigned_partitions[i];
            for (int32_t j = 0; !e && j < tp->n_partitions; j++)
                e = kwi_tpset_add(&assigned, tp->topic, tp->partitions[j]);
        }
        kw_arena_fini(&ar);
    }
    if (e == KW_ERR_NOMEM) {
        m->nomem = true;
    } else if (e) {
        kwi_member_emit_error(m, KW_ERR_MALFORMED, 0, false,
                              "SyncGroup carried an assignment that does not decode; rejoining");
        kwi_member_enter(m, KWI_MEMBER_JOINING);
        retry_later(m, 0, "SyncGroup");
    } else {
        apply_assignment(m, &assigned);
    }
    kwi_tpset_fini(&assigned);
}

static void
on_sync(kwi_member *m, const kwi_member_resp *r)
{
    m->sync_seq = 0;
    if (r->err) {
        kwi_member_coord_lost(m, "SyncGroup failed");
        kwi_member_enter(m, KWI_MEMBER_JOINING);
        return;
    }
    const kw_sync_group_resp *resp = r->body;
    int16_t code = resp->error_code;
    switch (code) {
    case 0:
        sync_ok(m, resp);
        break;
    case 27: /* rejoin, id and generation kept */
        kwi_member_enter(m, KWI_MEMBER_JOINING);
        break;
    case 25:
    case 22: /* 25 resets the member id too, 22 only the generation */
        kwi_member_reset_generation(m, code == 25);
        kwi_member_enter(m, KWI_MEMBER_JOINING);
        break;
    case 15:
    case 16:
        kwi_member_coord_lost(m, "SyncGroup: the coordinator moved");
        kwi_member_enter(m, KWI_MEMBER_JOINING);
        break;
    case 82:
    case 30:
        kwi_member_fail(m, KW_ERR_BROKER, code, "SyncGroup");
        break;
    default:
        kwi_member_enter(m, KWI_MEMBER_JOINING);
        retry_later(m, code, "SyncGroup");
        break;
    }
}

static void
on_heartbeat(kwi_member *m, const kwi_member_resp *r)
{
    m->hb_seq = 0;
    if (r->err) {
        kwi_member_coord_lost(m, "Heartbeat failed");
        return;
    }
    int16_t code = ((const kw_heartbeat_resp *)r->body)->error_code;
    bool same_gen = m->hb_generation == m->generation;
    switch (code) {
    case 0:
        m->t_session = m->now + m->cfg.session_timeout_ms;
        m->hb_attempts = 0;
        break;
    case 27: /* the group is rebalancing: rejoin (counts as a live answer) */
        m->t_session = m->now + m->cfg.session_timeout_ms;
        m->hb_attempts = 0;
        request_rejoin(m, "the group is rebalancing");
        break;
    case 22:
    case 25:
        if (!same_gen)
            break;
        kwi_member_reset_generation(m, code == 25);
        kwi_member_enter(m, KWI_MEMBER_JOINING);
        break;
    case 82:
        if (same_gen)
            kwi_member_fail(m, KW_ERR_BROKER, code, "Heartbeat");
        break;
    case 15:
    case 16:
        kwi_member_coord_lost(m, "Heartbeat: the coordinator moved");
        break;
    default:
        m->t_hb_due = m->now + kwi_member_backoff(m, m->hb_attempts);
        if (m->hb_attempts < 30)
            m->hb_attempts++;
        break;
    }
}

void
kwi_classic_on_response(kwi_member *m, const kwi_member_resp *r)
{
    if (r->seq == m->join_seq && r->api_key == KWI_API_JOIN_GROUP)
        on_join(m, r);
    else if (r->seq == m->sync_seq && r->api_key == KWI_API_SYNC_GROUP)
        on_sync(m, r);
    else if (r->seq == m->hb_seq && r->api_key == KWI_API_HEARTBEAT)
        on_heartbeat(m, r);
    else if (r->seq == m->leave_seq && r->api_key == KWI_API_LEAVE_GROUP)
        m->leave_seq = 0; /* best effort: the answer changes nothing */
}

/* ---------------------------------------------------------------- other inputs */

void
kwi_classic_poll_expired(kwi_member *m)
{
    kwi_member_emit_error(m, KW_ERR_TIMED_OUT, 0, false,
                          "max.poll.interval.ms passed without a poll: leaving the group");
    kwi_member_purge_coordinator_requests(m);
    /* Static members never send LeaveGroup (KIP-345); dynamic ones do, once. */
    if (!m->cfg.group_instance_id && m->cstate == COORD_KNOWN && m->member_id[0])
        send_leave(m, "consumer poll timeout has expired");
    kwi_member_reset_generation(m, true);
    kwi_member_enter(m, KWI_MEMBER_STALE);
}

void
kwi_classic_subscription_changed(kwi_member *m)
{
    if (m->state == KWI_MEMBER_UNSUBSCRIBED)
        kwi_member_enter(m, KWI_MEMBER_JOINING);
    else if (m->state == KWI_MEMBER_STABLE && subscription_changed_since_join(m))
        request_rejoin(m, "the subscription changed");
}

/* Only the leader watches metadata: it rejoins when a group topic's partition count changes. */
void
kwi_classic_on_metadata(kwi_member *m)
{
    if (m->state == KWI_MEMBER_STABLE && m->leader && kwi_leader_metadata_changed(m))
        request_rejoin(m, "the partitions of a subscribed topic changed");
}

void
kwi_classic_leave(kwi_member *m)
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
    /* Java's close: commit, then onLeavePrepare (Revoked, or Lost when the generation is
     * gone or a join is under way), then LeaveGroup. */
    bool live =
        has_generation(m) && (m->state == KWI_MEMBER_STABLE || m->state == KWI_MEMBER_PREPARING);
    if (has_generation(m))
        kwi_member_emit_parts(m, KWI_MEMBER_EV_COMMIT_POINT, &m->owned);
    if (m->owned.n)
        kwi_member_emit_parts(m, live ? KWI_MEMBER_EV_REVOKED : KWI_MEMBER_EV_LOST, &m->owned);
    kwi_tpset_clear(&m->owned);
    kwi_member_enter(m, KWI_MEMBER_LEAVING);
}

static void
finish_leave(kwi_member *m)
{
    kwi_member_reset_generation(m, true);
    /* An unsubscribe followed by a new subscription before the leave finished joins again. */
    kwi_member_enter(m, m->closing    ? KWI_MEMBER_CLOSED
                        : m->n_topics ? KWI_MEMBER_JOINING
                                      : KWI_MEMBER_UNSUBSCRIBED);
}

static void
leaving_step(kwi_member *m)
{
    if (m->leave_sent) {
        if (!m->leave_seq)
            finish_leave(m);
        return;
    }
    bool gate = kwi_member_gate_open(m) || m->now >= m->t_gate;
    bool want = !m->cfg.group_instance_id && m->member_id[0];
    if (!gate || (want && m->cstate != COORD_KNOWN && m->now < m->t_gate))
        return;
    m->leave_sent = true;
    m->hb_seq = 0;
    if (want && m->cstate == COORD_KNOWN)
        send_leave(m, m->closing ? "the consumer is being closed" : "the consumer unsubscribed");
    else
        finish_leave(m);
}

/* ---------------------------------------------------------------- the step */

void
kwi_classic_step(kwi_member *m)
{
    switch (m->state) {
    case KWI_MEMBER_PREPARING:
        if (kwi_member_gate_open(m) || m->now >= m->t_gate)
            kwi_member_enter(m, KWI_MEMBER_JOINING);
        break;
    case KWI_MEMBER_JOINING:
        if (!m->join_seq && m->cstate == COORD_KNOWN && m->now >= m->t_retry)
            send_join(m);
        break;
    case KWI_MEMBER_ASSIGNING:
        if (kwi_leader_metadata_ready(m) || m->now >= m->t_md_wait) {
            req_node *r = new_sync(m);
            if (!r)
                break;
            kw_err e = kwi_leader_assign(m, r, (kw_sync_group_req *)r->out.body);
            if (e == KW_ERR_OK) {
                push_sync(m, r);
                break;
            }
            kwi_member_req_drop(m, r);
            if (e == KW_ERR_NOMEM) {
                m->nomem = true;
                break;
            }
            kwi_member_emit_error(m, e, 0, false, "the assignor failed; rejoining");
            kwi_member_enter(m, KWI_MEMBER_JOINING);
            retry_later(m, 0, "assignor");
        }
        break;
    case KWI_MEMBER_SYNCING:
        if (!m->sync_seq) /* abandoned when the coordinator was lost: rejoin */
            kwi_member_enter(m, KWI_MEMBER_JOINING);
        break;
    case KWI_MEMBER_LEAVING:
        leaving_step(m);
        break;
    default:
        break;
    }
    if (!kwi_classic_heartbeating(m))
        return;
    if (m->now >= m->t_session) {
        m->t_session = m->now + m->cfg.session_timeout_ms;
        kwi_member_coord_lost(m, "no heartbeat answer within session.timeout.ms");
        return;
    }
    if (!m->hb_seq && m->cstate == COORD_KNOWN && m->now >= m->t_hb_due)
        send_heartbeat(m);
}

static int64_t
min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

int64_t
kwi_classic_deadline(const kwi_member *m)
{
    int64_t d = KWI_NEVER;
    switch (m->state) {
    case KWI_MEMBER_PREPARING:
        d = m->t_gate;
        break;
    case KWI_MEMBER_JOINING:
        if (!m->join_seq && m->cstate == COORD_KNOWN)
            d = m->t_retry;
        break;
    case KWI_MEMBER_ASSIGNING:
        d = m->t_md_wait;
        break;
    case KWI_MEMBER_LEAVING:
        if (!m->leave_sent)
            d = m->t_gate;
        break;
    default:
        break;
    }
    if (kwi_classic_heartbeating(m)) {
        d = min64(d, m->t_session);
        if (!m->hb_seq && m->cstate == COORD_KNOWN)
            d = min64(d, m->t_hb_due);
    }
    return d;
}
