/* The classic group state machine (Kafka's ClassicGroup and the classic half of
 * GroupMetadataManager): adding and removing members, generations, the delayed initial join,
 * rebalance and sync timeouts, session expiry. Members, protocol selection and the answers to
 * parked requests are group_member.c's.
 *
 *   Empty --member joins--> PreparingRebalance (initial: wait group.initial.rebalance.delay.ms,
 *         extended while members keep arriving, at most the rebalance timeout)
 *   PreparingRebalance --all members rejoined, or the rebalance timeout--> CompletingRebalance
 *         (generation + 1, protocol chosen, every parked JoinGroup answered, the leader gets the
 *         members' metadata; dynamic members that did not rejoin are dropped)
 *   CompletingRebalance --leader's SyncGroup--> Stable (every parked SyncGroup answered)
 *   Stable/Completing --member joins, leaves, expires, changes metadata; leader rejoins-->
 *         PreparingRebalance
 *   a rebalance with no member left --> Empty (generation + 1)
 *
 * Members are kept in join order: the leader is the first member to join an empty group, a
 * departed leader is replaced by the first remaining member, and the JoinGroup answer lists
 * members in that order, so a test can predict every answer. (Kafka uses hash map order.) */
#include <string.h>

#include "group.h"

static kw_mock *
gm_mock(const kwi_grp *g)
{
    return g->gm->m;
}

const char *
kwi_cg_state_name(kwi_cg_state s)
{
    switch (s) {
    case KWI_CG_EMPTY:
        return "Empty";
    case KWI_CG_PREPARING:
        return "PreparingRebalance";
    case KWI_CG_COMPLETING:
        return "CompletingRebalance";
    case KWI_CG_STABLE:
        return "Stable";
    }
    return "Dead";
}

static void
set_state(kwi_grp *g, kwi_cg_state s)
{
    kwi_mock_logf(gm_mock(g), KW_MOCK_LOG_DEBUG, "group %s: %s -> %s (generation %d)", g->id.p,
                  kwi_cg_state_name(g->state), kwi_cg_state_name(s), (int)g->generation);
    g->prev_state = g->state;
    g->state = s;
}

/* ---------------------------------------------------------------- rebalancing */

static int32_t
rebalance_timeout(const kwi_grp *g)
{
    int32_t t = 0;
    for (int32_t i = 0; i < g->n_cm; i++)
        if (g->cm[i]->rebalance_timeout_ms > t)
            t = g->cm[i]->rebalance_timeout_ms;
    return t;
}

static bool
all_joined(const kwi_grp *g)
{
    if (g->n_pend)
        return false;
    for (int32_t i = 0; i < g->n_cm; i++)
        if (!g->cm[i]->awaiting_join)
            return false;
    return true;
}

static void
clear_pending_sync(kwi_grp *g)
{
    for (int32_t i = 0; i < g->n_cm; i++)
        g->cm[i]->pending_sync = false;
    kwi_reactor_timer_stop(g->sync_timer);
}

static void complete_join(kwi_grp *g);

void
kwi_cg_prepare_rebalance(kwi_grp *g)
{
    /* Members waiting for the leader's assignment must rejoin (resetAndPropagate...). */
    if (g->state == KWI_CG_COMPLETING) {
        for (int32_t i = 0; i < g->n_cm; i++)
            kwi_cm_set_assignment(g->cm[i], NULL, 0);
        kwi_cg_propagate(g, KWI_E_REBALANCE_IN_PROGRESS);
    }
    clear_pending_sync(g);
    bool initial = g->state == KWI_CG_EMPTY;
    set_state(g, KWI_CG_PREPARING);
    if (initial) {
        /* The group is new: give the other members time to join (KIP-134). */
        int32_t delay = g->gm->conf.initial_rebalance_delay_ms;
        int32_t rt = rebalance_timeout(g);
        g->initial_join = true;
        g->new_member_added = false;
        g->initial_delay_ms = delay;
        g->initial_remaining_ms = rt > delay ? rt - delay : 0;
        kwi_reactor_timer_start(g->join_timer, delay);
        return;
    }
    g->initial_join = false;
    if (all_joined(g))
        complete_join(g);
    else
        kwi_reactor_timer_start(g->join_timer, rebalance_timeout(g));
}

void
kwi_cg_maybe_complete_join(kwi_grp *g)
{
    if (g->state == KWI_CG_PREPARING && all_joined(g) && g->prev_state != KWI_CG_EMPTY)
        complete_join(g);
}

void
kwi_cg_rebalance_or_complete(kwi_grp *g)
{
    if (g->state == KWI_CG_PREPARING)
        kwi_cg_maybe_complete_join(g);
    else
        kwi_cg_prepare_rebalance(g);
}

void
kwi_cg_join_timer_fired(kwi_grp *g)
{
    if (g->type != KWI_GRP_CLASSIC || g->state != KWI_CG_PREPARING)
        return;
    if (g->initial_join && g->new_member_added && g->initial_remaining_ms != 0) {
        /* Members keep arriving: wait once more, within the rebalance timeout. */
        int32_t delay = g->gm->conf.initial_rebalance_delay_ms;
        if (delay > g->initial_remaining_ms)
            delay = g->initial_remaining_ms;
        int32_t rem = g->initial_remaining_ms - g->initial_delay_ms;
        g->new_member_added = false;
        g->initial_delay_ms = delay;
        g->initial_remaining_ms = rem > 0 ? rem : 0;
        kwi_reactor_timer_start(g->join_timer, delay);
        return;
    }
    complete_join(g);
}

static void
unlink_member(kwi_grp *g, kwi_cmember *mem)
{
    int32_t i = 0;
    while (i < g->n_cm && g->cm[i] != mem)
        i++;
    if (i == g->n_cm)
        return;
    memmove(&g->cm[i], &g->cm[i + 1], (size_t)(g->n_cm - i - 1) * sizeof(*g->cm));
    g->n_cm--;
    if (g->leader == mem)
        g->leader = g->n_cm ? g->cm[0] : NULL;
}

/* Drops a member that is leaving anyway: its parked requests are told it is unknown. */
static void
drop_member(kwi_grp *g, kwi_cmember *mem)
{
    kwi_cm_answer_join(mem, KWI_E_UNKNOWN_MEMBER_ID, false);
    kwi_cm_answer_sync(mem, KWI_E_UNKNOWN_MEMBER_ID);
    unlink_member(g, mem);
    kwi_cm_free(mem);
}

/* Kafka's maybeElectNewJoinedLeader: the leader must be among the members that rejoined. */
static bool
elect_joined_leader(kwi_grp *g)
{
    if (!g->leader)
        return false;
    if (g->leader->awaiting_join)
        return true;
    for (int32_t i = 0; i < g->n_cm; i++)
        if (g->cm[i]->awaiting_join) {
            g->leader = g->cm[i];
            return true;
        }
    return false;
}

static void
complete_join(kwi_grp *g)
{
    kw_mock *m = gm_mock(g);
    kwi_reactor_timer_stop(g->join_timer);
    g->initial_join = false;
    /* Dynamic members that did not rejoin in time are dropped; static ones stay. */
    for (int32_t i = 0; i < g->n_cm;) {
        kwi_cmember *mem = g->cm[i];
        if (!mem->awaiting_join && !mem->instance_id.p) {
            kwi_mock_logf(m, KW_MOCK_LOG_INFO, "group %s: member %s did not rejoin in time",
                          g->id.p, mem->id.p);
            drop_member(g, mem);
            continue;
        }
        i++;
    }
    if (!elect_joined_leader(g) && g->n_cm > 0) {
        /* Only static members that have not rejoined are left: wait for them again. */
        kwi_reactor_timer_start(g->join_timer, rebalance_timeout(g));
        return;
    }
    g->generation++;
    clear_pending_sync(g);
    if (g->n_cm == 0) {
        g->pname_len = -1;
        set_state(g, KWI_CG_EMPTY);
        return;
    }
    kwi_cg_set_pname(g, kwi_cg_select_protocol(g));
    set_state(g, KWI_CG_COMPLETING);
    kwi_mock_logf(m, KW_MOCK_LOG_INFO, "group %s: generation %d with %d members, leader %s",
                  g->id.p, (int)g->generation, (int)g->n_cm, g->leader->id.p);
    for (int32_t i = 0; i < g->n_cm; i++) {
        kwi_cmember *mem = g->cm[i];
        kwi_cm_answer_join(mem, 0, false);
        mem->awaiting_join = false;
        mem->is_new = false;
        mem->pending_sync = true;
        kwi_cm_touch(mem);
    }
    /* Members that never send SyncGroup are removed after the rebalance timeout. */
    kwi_reactor_timer_start(g->sync_timer, rebalance_timeout(g));
}

void
kwi_cg_sync_timer_fired(kwi_grp *g)
{
    if (g->type != KWI_GRP_CLASSIC || (g->state != KWI_CG_COMPLETING && g->state != KWI_CG_STABLE))
        return;
    bool any = false;
    for (int32_t i = 0; i < g->n_cm;) {
        kwi_cmember *mem = g->cm[i];
        if (mem->pending_sync) {
            kwi_mock_logf(gm_mock(g), KW_MOCK_LOG_INFO, "group %s: member %s sent no SyncGroup",
                          g->id.p, mem->id.p);
            drop_member(g, mem);
            any = true;
            continue;
        }
        i++;
    }
    if (any)
        kwi_cg_prepare_rebalance(g);
}

void
kwi_cg_sync_received(kwi_grp *g, kwi_cmember *mem)
{
    mem->pending_sync = false;
    for (int32_t i = 0; i < g->n_cm; i++)
        if (g->cm[i]->pending_sync)
            return;
    kwi_reactor_timer_stop(g->sync_timer);
}

kw_err
kwi_cg_set_assignment(kwi_grp *g, const kw_sync_group_req *rq)
{
    kw_mock *m = gm_mock(g);
    /* Copy every member's bytes first, so that running out of memory changes nothing. */
    uint8_t **bytes = kwi_galloc(m, (size_t)g->n_cm * sizeof(*bytes));
    int32_t *lens = kwi_galloc(m, (size_t)g->n_cm * sizeof(*lens));
    bool ok = bytes && lens;
    for (int32_t i = 0; ok && i < g->n_cm; i++) {
        kw_slice a = kw_slice_str("");
        for (int32_t k = 0; k < rq->n_assignments; k++) /* the last entry for a member wins */
            if (kwi_gstr_eq(&g->cm[i]->id, rq->assignments[k].member_id))
                a = rq->assignments[k].assignment;
        lens[i] = a.len > 0 ? a.len : 0;
        bytes[i] = kwi_galloc(m, (size_t)lens[i]);
        ok = bytes[i] != NULL;
        if (ok && lens[i])
            memcpy(bytes[i], a.ptr, (size_t)lens[i]);
    }
    for (int32_t i = 0; i < g->n_cm && bytes && lens; i++) {
        if (ok)
            kwi_cm_set_assignment(g->cm[i], bytes[i], lens[i]);
        else
            kwi_gfree(m, bytes[i], (size_t)lens[i]);
    }
    kwi_gfree(m, bytes, (size_t)g->n_cm * sizeof(*bytes));
    kwi_gfree(m, lens, (size_t)g->n_cm * sizeof(*lens));
    if (!ok)
        return KW_ERR_NOMEM;
    kwi_cg_propagate(g, 0);
    set_state(g, KWI_CG_STABLE);
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- membership changes */

kw_err
kwi_cg_reserve_member(kwi_grp *g, kw_slice protocol_type)
{
    kw_mock *m = gm_mock(g);
    if (kwi_grow(m, (void **)&g->cm, &g->cap_cm, g->n_cm + 1, sizeof(*g->cm)))
        return KW_ERR_NOMEM;
    /* The first member of an empty group sets its protocol type. */
    if (g->n_cm == 0 && kwi_gstr_set(m, &g->protocol_type, protocol_type))
        return KW_ERR_NOMEM;
    return KW_ERR_OK;
}

void
kwi_cg_add_member(kwi_grp *g, kwi_cmember *mem)
{
    mem->is_new = true;
    mem->pending = false;
    if (g->state == KWI_CG_PREPARING && g->prev_state == KWI_CG_EMPTY)
        g->new_member_added = true;
    g->cm[g->n_cm++] = mem;
    if (!g->leader)
        g->leader = mem;
    /* A new member cannot heartbeat and a parked JoinGroup shows no disconnect: Kafka expires
     * it after a fixed time if the join never completes. */
    kwi_cm_arm_session(mem, g->gm->conf.new_member_join_timeout_ms);
    kwi_cg_rebalance_or_complete(g);
}

kw_err
kwi_cg_add_pending(kwi_grp *g, kwi_cmember *mem)
{
    if (kwi_grow(gm_mock(g), (void **)&g->pend, &g->cap_pend, g->n_pend + 1, sizeof(*g->pend)))
        return KW_ERR_NOMEM;
    mem->pending = true;
    g->pend[g->n_pend++] = mem;
    kwi_cm_touch(mem);
    return KW_ERR_OK;
}

static void
unlink_pending(kwi_grp *g, kwi_cmember *mem)
{
    for (int32_t i = 0; i < g->n_pend; i++)
        if (g->pend[i] == mem) {
            memmove(&g->pend[i], &g->pend[i + 1], (size_t)(g->n_pend - i - 1) * sizeof(*g->pend));
            g->n_pend--;
            return;
        }
}

void
kwi_cg_remove_pending(kwi_grp *g, kwi_cmember *mem)
{
    unlink_pending(g, mem);
    kwi_cm_free(mem);
}

/* Takes a pending member out of the pending list (it rejoined with its id). */
void
kwi_cg_unpend(kwi_grp *g, kwi_cmember *mem)
{
    unlink_pending(g, mem);
    mem->pending = false;
}

void
kwi_cg_remove_member(kwi_grp *g, kwi_cmember *mem)
{
    drop_member(g, mem);
    switch (g->state) {
    case KWI_CG_EMPTY:
        break;
    case KWI_CG_STABLE:
    case KWI_CG_COMPLETING:
        kwi_cg_prepare_rebalance(g);
        break;
    case KWI_CG_PREPARING:
        kwi_cg_maybe_complete_join(g);
        break;
    }
}

int16_t
kwi_cg_validate_member(const kwi_grp *g, kw_slice member_id, kw_slice instance_id)
{
    if (instance_id.len >= 0) {
        const kwi_cmember *st = kwi_cm_find_static(g, instance_id);
        if (!st)
            return KWI_E_UNKNOWN_MEMBER_ID;
        return kwi_gstr_eq(&st->id, member_id) ? KWI_E_NONE : KWI_E_FENCED_INSTANCE_ID;
    }
    return kwi_cm_find(g, member_id) ? KWI_E_NONE : KWI_E_UNKNOWN_MEMBER_ID;
}

kwi_cmember *
kwi_cg_replace_static(kwi_grp *g, kwi_cmember *old, kwi_gstr *new_id)
{
    /* The member object stays (its place in the join order, leadership, assignment and
     * pending sync carry over, as in ClassicGroup.replaceStaticMember); requests parked
     * under the old id are fenced at once. */
    kwi_mock_logf(gm_mock(g), KW_MOCK_LOG_INFO,
                  "group %s: static member %s replaces %s (instance %s)", g->id.p, new_id->p,
                  old->id.p, old->instance_id.p);
    kwi_cm_answer_join(old, KWI_E_FENCED_INSTANCE_ID, false);
    kwi_cm_answer_sync(old, KWI_E_FENCED_INSTANCE_ID);
    old->awaiting_join = old->awaiting_sync = false;
    kwi_gstr_free(gm_mock(g), &old->id);
    old->id = *new_id;
    new_id->p = NULL;
    new_id->len = -1;
    kwi_cm_touch(old);
    return old;
}

void
kwi_cg_clear(kwi_grp *g, int16_t err)
{
    kw_mock *m = gm_mock(g);
    for (int32_t i = 0; i < g->n_pend; i++)
        kwi_cm_free(g->pend[i]);
    for (int32_t i = 0; i < g->n_cm; i++) {
        if (err) {
            kwi_cm_answer_join(g->cm[i], err, false);
            kwi_cm_answer_sync(g->cm[i], err);
        }
        kwi_cm_free(g->cm[i]);
    }
    kwi_gfree(m, g->pend, (size_t)g->cap_pend * sizeof(*g->pend));
    kwi_gfree(m, g->cm, (size_t)g->cap_cm * sizeof(*g->cm));
    kwi_gfree(m, g->pname, (size_t)g->pname_cap);
    g->pend = NULL;
    g->cm = NULL;
    g->pname = NULL;
    g->n_pend = g->cap_pend = g->n_cm = g->cap_cm = g->pname_cap = 0;
    g->pname_len = -1;
    g->leader = NULL;
    if (g->join_timer)
        kwi_reactor_timer_stop(g->join_timer);
    if (g->sync_timer)
        kwi_reactor_timer_stop(g->sync_timer);
}

void
kwi_cg_coordinator_moved(kwi_grp *g)
{
    if (g->type != KWI_GRP_CLASSIC)
        return;
    int32_t node = kwi_mock_coordinator_node(gm_mock(g), KWI_COORD_GROUP, kwi_gstr_slice(&g->id));
    for (int32_t i = 0; i < g->n_cm; i++) {
        kwi_cmember *mem = g->cm[i];
        if (mem->join_req && mem->join_req->broker->node_id != node) {
            kwi_cm_answer_join(mem, KWI_E_NOT_COORDINATOR, false);
            mem->awaiting_join = false;
        }
        if (mem->sync_req && mem->sync_req->broker->node_id != node) {
            kwi_cm_answer_sync(mem, KWI_E_NOT_COORDINATOR);
            mem->awaiting_sync = false;
        }
    }
}

/* ---------------------------------------------------------------- session expiry */

void
kwi_cg_on_session(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_cmember *mem = ud;
    kwi_grp *g = mem->g;
    if (mem->pending) {
        kwi_cg_remove_pending(g, mem);
        kwi_cg_maybe_complete_join(g);
        return;
    }
    /* A member parked in JoinGroup or SyncGroup is alive (hasSatisfiedHeartbeat), unless it is
     * new: then this is the new-member join timeout. */
    if (!mem->is_new && (mem->awaiting_join || mem->awaiting_sync)) {
        kwi_cm_touch(mem);
        return;
    }
    kwi_mock_logf(gm_mock(g), KW_MOCK_LOG_INFO, "group %s: member %s session expired", g->id.p,
                  mem->id.p);
    kwi_cg_remove_member(g, mem);
}
