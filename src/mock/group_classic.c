/* The classic group state machine (Kafka's ClassicGroup and the classic half of
 * GroupMetadataManager): members, generations, protocol selection, the delayed initial join,
 * rebalance and sync timeouts, session expiry, and the answers to parked JoinGroup and
 * SyncGroup requests.
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

/* ---------------------------------------------------------------- members */

static void on_session(kwi_reactor *r, kwi_timer *t, void *ud);

kwi_cmember *
kwi_cm_new(kwi_grp *g)
{
    kw_mock *m = gm_mock(g);
    kwi_cmember *mem = kwi_galloc(m, sizeof(*mem));
    if (!mem)
        return NULL;
    mem->g = g;
    mem->id.len = mem->instance_id.len = mem->client_id.len = -1;
    if (kwi_reactor_timer_new(m->r, on_session, mem, &mem->session)) {
        kwi_gfree(m, mem, sizeof(*mem));
        return NULL;
    }
    return mem;
}

static void
protos_free(kw_mock *m, kwi_cproto *p, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        kwi_gstr_free(m, &p[i].name);
        kwi_gfree(m, p[i].meta, (size_t)p[i].len);
    }
    kwi_gfree(m, p, (size_t)n * sizeof(*p));
}

static void
assignment_set(kwi_cmember *mem, uint8_t *bytes, int32_t len)
{
    kwi_gfree(gm_mock(mem->g), mem->assignment, (size_t)mem->assignment_len);
    mem->assignment = bytes;
    mem->assignment_len = len;
}

void
kwi_cm_free(kwi_cmember *mem)
{
    if (!mem)
        return;
    kw_mock *m = gm_mock(mem->g);
    kwi_reactor_timer_free(mem->session);
    kwi_gstr_free(m, &mem->id);
    kwi_gstr_free(m, &mem->instance_id);
    kwi_gstr_free(m, &mem->client_id);
    protos_free(m, mem->protos, mem->n_protos);
    assignment_set(mem, NULL, 0);
    kwi_gfree(m, mem, sizeof(*mem));
}

kwi_cmember *
kwi_cm_find(const kwi_grp *g, kw_slice id)
{
    for (int32_t i = 0; i < g->n_cm; i++)
        if (kwi_gstr_eq(&g->cm[i]->id, id))
            return g->cm[i];
    return NULL;
}

kwi_cmember *
kwi_cm_find_pending(const kwi_grp *g, kw_slice id)
{
    for (int32_t i = 0; i < g->n_pend; i++)
        if (kwi_gstr_eq(&g->pend[i]->id, id))
            return g->pend[i];
    return NULL;
}

kwi_cmember *
kwi_cm_find_static(const kwi_grp *g, kw_slice instance_id)
{
    if (instance_id.len < 0)
        return NULL;
    for (int32_t i = 0; i < g->n_cm; i++)
        if (g->cm[i]->instance_id.p && kwi_gstr_eq(&g->cm[i]->instance_id, instance_id))
            return g->cm[i];
    return NULL;
}

static void
arm_session(kwi_cmember *mem, int32_t ms)
{
    kwi_reactor_timer_start(mem->session, ms);
}

void
kwi_cm_touch(kwi_cmember *mem)
{
    arm_session(mem, mem->session_timeout_ms);
}

bool
kwi_cm_matches(const kwi_cmember *mem, const kw_join_group_req_protocol *p, int32_t n)
{
    if (mem->n_protos != n)
        return false;
    for (int32_t i = 0; i < n; i++) {
        const kwi_cproto *c = &mem->protos[i];
        if (!kwi_gstr_eq(&c->name, p[i].name) || c->len != (p[i].metadata.len > 0 ? p[i].metadata.len : 0) ||
            (c->len && memcmp(c->meta, p[i].metadata.ptr, (size_t)c->len) != 0))
            return false;
    }
    return true;
}

static kw_err
reserve_pname(kwi_grp *g, int32_t len)
{
    if (len < g->pname_cap)
        return KW_ERR_OK;
    kw_mock *m = gm_mock(g);
    char *p = kwi_galloc(m, (size_t)len + 1);
    if (!p)
        return KW_ERR_NOMEM;
    if (g->pname_len > 0)
        memcpy(p, g->pname, (size_t)g->pname_len);
    kwi_gfree(m, g->pname, (size_t)g->pname_cap);
    g->pname = p;
    g->pname_cap = len + 1;
    return KW_ERR_OK;
}

kw_err
kwi_cm_update(kwi_cmember *mem, const kw_join_group_req *rq, int16_t ver)
{
    kw_mock *m = gm_mock(mem->g);
    int32_t n = rq->n_protocols > 0 ? rq->n_protocols : 0;
    kwi_cproto *p = kwi_galloc(m, (size_t)n * sizeof(*p));
    if (!p)
        return KW_ERR_NOMEM;
    int32_t longest = 0;
    for (int32_t i = 0; i < n; i++) {
        const kw_join_group_req_protocol *in = &rq->protocols[i];
        p[i].name.len = -1;
        p[i].len = in->metadata.len > 0 ? in->metadata.len : 0;
        p[i].meta = kwi_galloc(m, (size_t)p[i].len);
        if (!p[i].meta || kwi_gstr_set(m, &p[i].name, in->name.len >= 0 ? in->name : kw_slice_str(""))) {
            protos_free(m, p, i + 1);
            return KW_ERR_NOMEM;
        }
        if (p[i].len)
            memcpy(p[i].meta, in->metadata.ptr, (size_t)p[i].len);
        if (p[i].name.len > longest)
            longest = p[i].name.len;
    }
    if (reserve_pname(mem->g, longest)) {
        protos_free(m, p, n);
        return KW_ERR_NOMEM;
    }
    protos_free(m, mem->protos, mem->n_protos);
    mem->protos = p;
    mem->n_protos = n;
    mem->session_timeout_ms = rq->session_timeout_ms;
    /* v0 has no rebalance timeout: Kafka uses the session timeout. */
    mem->rebalance_timeout_ms = ver >= 1 && rq->rebalance_timeout_ms >= 0 ? rq->rebalance_timeout_ms
                                                                           : rq->session_timeout_ms;
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- protocols */

static bool
member_lists(const kwi_cmember *mem, kw_slice name)
{
    for (int32_t i = 0; i < mem->n_protos; i++)
        if (kwi_gstr_eq(&mem->protos[i].name, name))
            return true;
    return false;
}

static bool
all_list(const kwi_grp *g, kw_slice name)
{
    for (int32_t i = 0; i < g->n_cm; i++)
        if (!member_lists(g->cm[i], name))
            return false;
    return true;
}

bool
kwi_cg_supports(const kwi_grp *g, kw_slice type, const kw_join_group_req_protocol *p, int32_t n)
{
    if (g->n_cm == 0)
        return type.len > 0 && n > 0;
    if (!kwi_gstr_eq(&g->protocol_type, type))
        return false;
    for (int32_t i = 0; i < n; i++)
        if (all_list(g, p[i].name))
            return true;
    return false;
}

/* A member's vote: its first protocol that every member lists (ClassicGroupMember.vote). */
static kw_slice
vote(const kwi_grp *g, const kwi_cmember *mem)
{
    for (int32_t i = 0; i < mem->n_protos; i++) {
        kw_slice s = kwi_gstr_slice(&mem->protos[i].name);
        if (all_list(g, s))
            return s;
    }
    return KW_SLICE_NULL;
}

static bool
slice_eq(kw_slice a, kw_slice b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

kw_slice
kwi_cg_select_protocol(const kwi_grp *g)
{
    /* The most votes wins (ClassicGroup.selectProtocol); a tie goes to the protocol whose
     * first vote came from the earliest member, where Kafka's answer depends on a hash map. */
    kw_slice best = KW_SLICE_NULL;
    int32_t best_votes = 0;
    for (int32_t i = 0; i < g->n_cm; i++) {
        kw_slice v = vote(g, g->cm[i]);
        if (v.len < 0)
            continue;
        bool seen = false;
        for (int32_t k = 0; k < i && !seen; k++)
            seen = slice_eq(vote(g, g->cm[k]), v);
        if (seen)
            continue;
        int32_t votes = 0;
        for (int32_t k = i; k < g->n_cm; k++)
            votes += slice_eq(vote(g, g->cm[k]), v);
        if (votes > best_votes) {
            best = v;
            best_votes = votes;
        }
    }
    return best;
}

kw_slice
kwi_cg_pname(const kwi_grp *g)
{
    if (g->pname_len < 0 || !g->pname)
        return KW_SLICE_NULL;
    return (kw_slice){(const uint8_t *)g->pname, g->pname_len};
}

static void
set_pname(kwi_grp *g, kw_slice name)
{
    /* Reserved in kwi_cm_update for every protocol name a member lists. */
    if (name.len < 0 || name.len >= g->pname_cap) {
        g->pname_len = -1;
        return;
    }
    if (name.len)
        memcpy(g->pname, name.ptr, (size_t)name.len);
    g->pname[name.len] = '\0';
    g->pname_len = name.len;
}

/* ---------------------------------------------------------------- answers */

static void
answer_failed(kwi_mock_req *req)
{
    /* Out of memory for the answer: close the connection (the client retries elsewhere). */
    kwi_mock_defer(req, NULL, NULL);
    kwi_mock_req_abort(req);
}

static kw_err
leader_members(kwi_mock_req *req, const kwi_grp *g, kw_join_group_resp *r)
{
    r->members = kwi_mock_req_alloc(req, (size_t)g->n_cm, sizeof(*r->members));
    if (!r->members)
        return KW_ERR_NOMEM;
    r->n_members = g->n_cm;
    kw_slice proto = kwi_cg_pname(g);
    for (int32_t i = 0; i < g->n_cm; i++) {
        const kwi_cmember *mem = g->cm[i];
        kw_join_group_resp_member *o = &r->members[i];
        o->member_id = kwi_gstr_slice(&mem->id);
        o->group_instance_id = kwi_gstr_slice(&mem->instance_id);
        o->metadata = kw_slice_str("");
        for (int32_t k = 0; k < mem->n_protos; k++)
            if (kwi_gstr_eq(&mem->protos[k].name, proto))
                o->metadata = (kw_slice){mem->protos[k].meta, mem->protos[k].len};
    }
    return KW_ERR_OK;
}

static void
answer_join(kwi_cmember *mem, int16_t err, kw_slice leader, bool with_members, bool skip)
{
    kwi_mock_req *req = mem->join_req;
    if (!req)
        return;
    mem->join_req = NULL;
    const kwi_grp *g = mem->g;
    int16_t ver = req->hdr.api_version;
    kw_join_group_resp r;
    memset(&r, 0, sizeof(r));
    r.error_code = err;
    r.generation_id = err ? -1 : g->generation;
    r.protocol_type = err ? KW_SLICE_NULL : kwi_gstr_slice(&g->protocol_type);
    r.protocol_name = err ? KW_SLICE_NULL : kwi_cg_pname(g);
    if (ver < 7) /* non-nullable before KIP-559 */
        r.protocol_name = r.protocol_name.len < 0 ? kw_slice_str("") : r.protocol_name;
    r.leader = err || leader.len < 0 ? kw_slice_str("") : leader;
    r.skip_assignment = skip;
    r.member_id = err == KWI_E_UNKNOWN_MEMBER_ID ? kw_slice_str("") : kwi_gstr_slice(&mem->id);
    if (!err && with_members && leader_members(req, g, &r)) {
        answer_failed(req);
        return;
    }
    kwi_mock_reply(req, &r);
}

void
kwi_cm_answer_join(kwi_cmember *mem, int16_t err, bool skip_assignment)
{
    const kwi_grp *g = mem->g;
    kw_slice leader = g->leader ? kwi_gstr_slice(&g->leader->id) : KW_SLICE_NULL;
    answer_join(mem, err, leader, g->leader == mem, skip_assignment);
}

void
kwi_cm_answer_join_as(kwi_cmember *mem, kw_slice leader, bool with_members, bool skip)
{
    answer_join(mem, 0, leader, with_members, skip);
}

void
kwi_cm_answer_sync(kwi_cmember *mem, int16_t err)
{
    kwi_mock_req *req = mem->sync_req;
    if (!req)
        return;
    mem->sync_req = NULL;
    kw_sync_group_resp r;
    memset(&r, 0, sizeof(r));
    r.error_code = err;
    r.protocol_type = err ? KW_SLICE_NULL : kwi_gstr_slice(&mem->g->protocol_type);
    r.protocol_name = err ? KW_SLICE_NULL : kwi_cg_pname(mem->g);
    r.assignment = err ? kw_slice_str("") : (kw_slice){mem->assignment, mem->assignment_len};
    kwi_mock_reply(req, &r);
}

static void
park(kwi_mock_req **slot, kwi_mock_req *req, kwi_gmod *gm)
{
    kwi_mock_defer(req, kwi_grp_cancel, gm);
    *slot = req;
}

void
kwi_cm_park_join(kwi_cmember *mem, kwi_mock_req *req)
{
    /* A second JoinGroup while one is parked (a client that timed out and retried on another
     * connection): the old one is told to rejoin; Kafka would leave it unanswered. */
    if (mem->join_req && mem->join_req != req)
        kwi_cm_answer_join(mem, KWI_E_REBALANCE_IN_PROGRESS, false);
    park(&mem->join_req, req, mem->g->gm);
    mem->awaiting_join = true;
}

void
kwi_cm_park_sync(kwi_cmember *mem, kwi_mock_req *req)
{
    if (mem->sync_req && mem->sync_req != req)
        kwi_cm_answer_sync(mem, KWI_E_REBALANCE_IN_PROGRESS);
    park(&mem->sync_req, req, mem->g->gm);
    mem->awaiting_sync = true;
}

/* Answers every member awaiting a SyncGroup (ClassicGroup propagateAssignment). */
static void
propagate(kwi_grp *g, int16_t err)
{
    for (int32_t i = 0; i < g->n_cm; i++) {
        kwi_cmember *mem = g->cm[i];
        if (!mem->awaiting_sync)
            continue;
        mem->awaiting_sync = false;
        kwi_cm_answer_sync(mem, err);
        /* A session that expired while the member waited was ignored: restart it. */
        kwi_cm_touch(mem);
    }
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
            assignment_set(g->cm[i], NULL, 0);
        propagate(g, KWI_E_REBALANCE_IN_PROGRESS);
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
    set_pname(g, kwi_cg_select_protocol(g));
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
    if (g->type != KWI_GRP_CLASSIC ||
        (g->state != KWI_CG_COMPLETING && g->state != KWI_CG_STABLE))
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
            assignment_set(g->cm[i], bytes[i], lens[i]);
        else
            kwi_gfree(m, bytes[i], (size_t)lens[i]);
    }
    kwi_gfree(m, bytes, (size_t)g->n_cm * sizeof(*bytes));
    kwi_gfree(m, lens, (size_t)g->n_cm * sizeof(*lens));
    if (!ok)
        return KW_ERR_NOMEM;
    propagate(g, 0);
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
    arm_session(mem, g->gm->conf.new_member_join_timeout_ms);
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

static void
on_session(kwi_reactor *r, kwi_timer *t, void *ud)
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
