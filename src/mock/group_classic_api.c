/* The classic group APIs: JoinGroup (v0-9), SyncGroup (v0-5), Heartbeat (v0-4) and LeaveGroup
 * (v0-5), validated in Kafka's order (GroupCoordinatorService, GroupMetadataManager
 * classicGroupJoin/Sync/Heartbeat/Leave). The state changes themselves are group_classic.c's.
 *
 * JoinGroup paths:
 *   unknown member (MemberId ""): a static member (GroupInstanceId set) replaces the member
 *     holding that instance id, fencing it, or joins as new; a dynamic member at v4+ gets
 *     MEMBER_ID_REQUIRED with a generated id (KIP-394) and is pending until it rejoins with it;
 *     below v4 it joins at once;
 *   known member: pending members join; others are validated (UNKNOWN_MEMBER_ID,
 *     FENCED_INSTANCE_ID) and then, by state, rejoin the rebalance (Preparing), get the current
 *     generation back when nothing changed (Completing, Stable followers), or trigger a
 *     rebalance (changed metadata, or the leader rejoining a Stable group). */
#include <string.h>

#include "group.h"

static kwi_gmod *
gmod(kwi_mock_req *req)
{
    return kwi_gmod_get(req->m);
}

static kw_slice
nonnull(kw_slice s)
{
    return s.len < 0 ? kw_slice_str("") : s;
}

/* ---------------------------------------------------------------- JoinGroup */

static kw_err
join_error(kwi_mock_req *req, int16_t ver, int16_t err, kw_slice member_id)
{
    kw_join_group_resp r;
    memset(&r, 0, sizeof(r));
    r.error_code = err;
    r.generation_id = -1;
    r.protocol_type = KW_SLICE_NULL;
    r.protocol_name = ver >= 7 ? KW_SLICE_NULL : kw_slice_str("");
    r.leader = kw_slice_str("");
    r.member_id = nonnull(member_id);
    return kwi_mock_reply(req, &r);
}

static bool
accept_joining(const kwi_grp *g, kw_slice member_id)
{
    int32_t max = g->gm->conf.max_size;
    const kwi_cmember *mem = kwi_cm_find(g, member_id);
    switch (g->state) {
    case KWI_CG_EMPTY:
        return true;
    case KWI_CG_PREPARING: {
        /* Awaiting members, not the group size, so the last rejoiners are the ones refused. */
        int32_t awaiting = 0;
        for (int32_t i = 0; i < g->n_cm; i++)
            awaiting += g->cm[i]->awaiting_join;
        return (mem && mem->awaiting_join) || awaiting < max;
    }
    case KWI_CG_COMPLETING:
    case KWI_CG_STABLE:
        return mem || g->n_cm < max;
    }
    return false;
}

/* A new member (its id already made) joins and waits for the rebalance. */
static kw_err
add_and_join(kwi_mock_req *req, int16_t ver, const kw_join_group_req *rq, kwi_grp *g, kwi_gstr *id,
             kw_slice instance)
{
    kw_mock *m = req->m;
    kwi_cmember *mem = kwi_cm_new(g);
    if (!mem)
        return KW_ERR_NOMEM;
    if (kwi_gstr_set(m, &mem->instance_id, instance) ||
        kwi_gstr_set(m, &mem->client_id, nonnull(req->hdr.client_id)) ||
        kwi_cm_update(mem, rq, ver) || kwi_cg_reserve_member(g, rq->protocol_type)) {
        kwi_cm_free(mem);
        return KW_ERR_NOMEM;
    }
    mem->id = *id;
    id->p = NULL;
    id->len = -1;
    kwi_mock_logf(m, KW_MOCK_LOG_INFO, "group %s: member %s joins (%s, client %s)", g->id.p,
                  mem->id.p, instance.len >= 0 ? "static" : "dynamic", mem->client_id.p);
    kwi_cm_park_join(mem, req);
    kwi_cg_add_member(g, mem);
    return KW_ERR_OK;
}

/* A static member rejoins under a new member id: the old id is fenced. In a Stable group whose
 * protocol does not change this completes at once, without a rebalance (KIP-345); the
 * leader's answer then keeps the assignment (v9 SkipAssignment, KIP-814) or, before v9, names
 * the old leader id so the new member does not run the assignor. */
static kw_err
replace_static(kwi_mock_req *req, int16_t ver, const kw_join_group_req *rq, kwi_grp *g,
               kwi_cmember *old, kwi_gstr *new_id)
{
    kw_slice old_leader = KW_SLICE_NULL;
    if (g->leader) {
        char *p = kwi_mock_req_strdup(req, kwi_gstr_slice(&g->leader->id));
        if (!p)
            return KW_ERR_NOMEM;
        old_leader = (kw_slice){(const uint8_t *)p, g->leader->id.len};
    }
    if (kwi_cm_update(old, rq, ver))
        return KW_ERR_NOMEM;
    kwi_cmember *mem = kwi_cg_replace_static(g, old, new_id);
    kwi_cm_park_join(mem, req);
    switch (g->state) {
    case KWI_CG_STABLE: {
        kw_slice next = kwi_cg_select_protocol(g), cur = kwi_cg_pname(g);
        if (next.len != cur.len || (cur.len > 0 && memcmp(next.ptr, cur.ptr, (size_t)cur.len))) {
            kwi_cg_prepare_rebalance(g);
            break;
        }
        bool leader = g->leader == mem;
        if (ver >= 9)
            kwi_cm_answer_join_as(mem, kwi_gstr_slice(&g->leader->id), leader, leader);
        else
            kwi_cm_answer_join_as(mem, old_leader, false, false);
        mem->awaiting_join = false;
        break;
    }
    case KWI_CG_COMPLETING:
        /* The leader may be assigning for the old id: start over. */
        kwi_cg_prepare_rebalance(g);
        break;
    default:
        kwi_cg_maybe_complete_join(g);
        break;
    }
    return KW_ERR_OK;
}

static kw_err
join_new(kwi_mock_req *req, int16_t ver, const kw_join_group_req *rq, kwi_grp *g, kw_slice instance)
{
    kw_mock *m = req->m;
    if (!kwi_cg_supports(g, rq->protocol_type, rq->protocols, rq->n_protocols))
        return join_error(req, ver, KWI_E_INCONSISTENT_GROUP_PROTOCOL, kw_slice_str(""));
    kwi_gstr id = {NULL, -1};
    if (kwi_gen_member_id(m, instance.len >= 0 ? instance : nonnull(req->hdr.client_id), &id))
        return KW_ERR_NOMEM;
    kw_err e = KW_ERR_OK;
    kwi_cmember *old = kwi_cm_find_static(g, instance);
    if (old) {
        e = replace_static(req, ver, rq, g, old, &id);
    } else if (instance.len < 0 && ver >= 4) {
        /* KIP-394: the member must come back with the id it is given. */
        kwi_cmember *mem = kwi_cm_new(g);
        if (!mem || kwi_gstr_set(m, &mem->client_id, nonnull(req->hdr.client_id))) {
            kwi_cm_free(mem);
            e = KW_ERR_NOMEM;
        } else {
            mem->id = id;
            id.p = NULL;
            mem->session_timeout_ms = rq->session_timeout_ms;
            e = kwi_cg_add_pending(g, mem);
            if (e)
                kwi_cm_free(mem);
            else
                e = join_error(req, ver, KWI_E_MEMBER_ID_REQUIRED, kwi_gstr_slice(&mem->id));
        }
    } else {
        e = add_and_join(req, ver, rq, g, &id, instance);
    }
    kwi_gstr_free(m, &id);
    return e;
}

static kw_err
join_existing(kwi_mock_req *req, int16_t ver, const kw_join_group_req *rq, kwi_grp *g,
              kw_slice instance)
{
    kw_slice member_id = rq->member_id;
    if (!kwi_cg_supports(g, rq->protocol_type, rq->protocols, rq->n_protocols))
        return join_error(req, ver, KWI_E_INCONSISTENT_GROUP_PROTOCOL, member_id);
    kwi_cmember *pend = kwi_cm_find_pending(g, member_id);
    if (pend) {
        if (instance.len >= 0) /* Kafka: IllegalStateException (a pending member is dynamic) */
            return join_error(req, ver, KWI_E_UNKNOWN_SERVER, member_id);
        if (kwi_cm_update(pend, rq, ver) || kwi_cg_reserve_member(g, rq->protocol_type))
            return KW_ERR_NOMEM;
        kwi_cg_unpend(g, pend);
        kwi_mock_logf(req->m, KW_MOCK_LOG_INFO, "group %s: member %s joins (dynamic, client %s)",
                      g->id.p, pend->id.p, pend->client_id.p);
        kwi_cm_park_join(pend, req);
        kwi_cg_add_member(g, pend);
        return KW_ERR_OK;
    }
    int16_t err = kwi_cg_validate_member(g, member_id, instance);
    if (err)
        return join_error(req, ver, err, member_id);
    kwi_cmember *mem = kwi_cm_find(g, member_id);
    bool same = kwi_cm_matches(mem, rq->protocols, rq->n_protocols);
    switch (g->state) {
    case KWI_CG_EMPTY:
        return join_error(req, ver, KWI_E_UNKNOWN_MEMBER_ID, member_id);
    case KWI_CG_PREPARING:
        if (kwi_cm_update(mem, rq, ver))
            return KW_ERR_NOMEM;
        kwi_cm_park_join(mem, req);
        kwi_cg_maybe_complete_join(g);
        return KW_ERR_OK;
    case KWI_CG_COMPLETING:
    case KWI_CG_STABLE:
        if (same && (g->state == KWI_CG_COMPLETING || g->leader != mem)) {
            /* Nothing changed (a lost answer, or a follower's rejoin): the current generation. */
            kwi_cm_park_join(mem, req);
            kwi_cm_answer_join(mem, 0, false);
            mem->awaiting_join = false;
            return KW_ERR_OK;
        }
        if (kwi_cm_update(mem, rq, ver))
            return KW_ERR_NOMEM;
        kwi_cm_park_join(mem, req);
        kwi_cg_prepare_rebalance(g);
        return KW_ERR_OK;
    }
    return join_error(req, ver, KWI_E_UNKNOWN_SERVER, member_id);
}

static kw_err
join_group(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_join_group_req *rq = msg;
    kwi_gmod *gm = gmod(req);
    kw_slice instance = ver >= 5 ? rq->group_instance_id : KW_SLICE_NULL;
    kw_slice member_id = nonnull(rq->member_id);
    /* Validation comes before routing, as in GroupCoordinatorService. */
    if (rq->group_id.len <= 0)
        return join_error(req, ver, KWI_E_INVALID_GROUP_ID, member_id);
    if (rq->session_timeout_ms < gm->conf.min_session_timeout_ms ||
        rq->session_timeout_ms > gm->conf.max_session_timeout_ms)
        return join_error(req, ver, KWI_E_INVALID_SESSION_TIMEOUT, member_id);
    if (!kwi_grp_here(req, rq->group_id))
        return join_error(req, ver, KWI_E_NOT_COORDINATOR, member_id);
    kwi_grp *g = kwi_grp_find(gm, rq->group_id);
    bool unknown = member_id.len == 0;
    if (g && g->type == KWI_GRP_CONSUMER) {
        if (!kwi_grp_empty(g))
            return join_error(req, ver, KWI_E_INCONSISTENT_GROUP_PROTOCOL, kw_slice_str(""));
        kwi_grp_convert(g, KWI_GRP_CLASSIC);
    }
    if (!g) {
        /* Only a member without an id creates the group. */
        if (!unknown)
            return join_error(req, ver, KWI_E_UNKNOWN_MEMBER_ID, member_id);
        g = kwi_grp_create(gm, rq->group_id, KWI_GRP_CLASSIC);
        if (!g)
            return KW_ERR_NOMEM;
    }
    if (!accept_joining(g, member_id)) {
        kwi_cmember *mem = kwi_cm_find(g, member_id);
        if (mem)
            kwi_cg_remove_member(g, mem);
        return join_error(req, ver, KWI_E_GROUP_MAX_SIZE_REACHED, kw_slice_str(""));
    }
    if (unknown)
        return join_new(req, ver, rq, g, instance);
    return join_existing(req, ver, rq, g, instance);
}

/* ---------------------------------------------------------------- SyncGroup */

static kw_err
sync_error(kwi_mock_req *req, int16_t err)
{
    kw_sync_group_resp r;
    memset(&r, 0, sizeof(r));
    r.error_code = err;
    r.protocol_type = r.protocol_name = KW_SLICE_NULL;
    return kwi_mock_reply(req, &r);
}

/* Kafka's isProtocolInconsistent: both present and different. */
static bool
inconsistent(kw_slice req, kw_slice group)
{
    return req.len >= 0 && group.len >= 0 &&
           (req.len != group.len || (req.len && memcmp(req.ptr, group.ptr, (size_t)req.len)));
}

static kw_err
sync_group(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_sync_group_req *rq = msg;
    /* From v5 ProtocolType and ProtocolName are mandatory (KafkaApis). */
    if (ver >= 5 && (rq->protocol_type.len < 0 || rq->protocol_name.len < 0))
        return sync_error(req, KWI_E_INCONSISTENT_GROUP_PROTOCOL);
    if (rq->group_id.len <= 0)
        return sync_error(req, KWI_E_INVALID_GROUP_ID);
    if (!kwi_grp_here(req, rq->group_id))
        return sync_error(req, KWI_E_NOT_COORDINATOR);
    kwi_grp *g = kwi_grp_find(gmod(req), rq->group_id);
    if (!g || g->type != KWI_GRP_CLASSIC)
        return sync_error(req, KWI_E_UNKNOWN_MEMBER_ID);
    kw_slice instance = ver >= 3 ? rq->group_instance_id : KW_SLICE_NULL;
    int16_t err = kwi_cg_validate_member(g, rq->member_id, instance);
    if (err)
        return sync_error(req, err);
    if (rq->generation_id != g->generation)
        return sync_error(req, KWI_E_ILLEGAL_GENERATION);
    if (ver >= 5 && (inconsistent(rq->protocol_type, kwi_gstr_slice(&g->protocol_type)) ||
                     inconsistent(rq->protocol_name, kwi_cg_pname(g))))
        return sync_error(req, KWI_E_INCONSISTENT_GROUP_PROTOCOL);
    kwi_cmember *mem = kwi_cm_find(g, rq->member_id);
    switch (g->state) {
    case KWI_CG_EMPTY:
        return sync_error(req, KWI_E_UNKNOWN_MEMBER_ID);
    case KWI_CG_PREPARING:
        return sync_error(req, KWI_E_REBALANCE_IN_PROGRESS);
    case KWI_CG_COMPLETING:
        kwi_cm_park_sync(mem, req);
        kwi_cg_sync_received(g, mem);
        if (g->leader == mem)
            return kwi_cg_set_assignment(g, rq);
        return KW_ERR_OK;
    case KWI_CG_STABLE:
        kwi_cg_sync_received(g, mem);
        kwi_cm_park_sync(mem, req);
        mem->awaiting_sync = false;
        kwi_cm_answer_sync(mem, 0);
        return KW_ERR_OK;
    }
    return sync_error(req, KWI_E_UNKNOWN_SERVER);
}

/* ---------------------------------------------------------------- Heartbeat */

static kw_err
heartbeat_reply(kwi_mock_req *req, int16_t err)
{
    kw_heartbeat_resp r;
    memset(&r, 0, sizeof(r));
    r.error_code = err;
    return kwi_mock_reply(req, &r);
}

static kw_err
heartbeat(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_heartbeat_req *rq = msg;
    if (rq->group_id.len <= 0)
        return heartbeat_reply(req, KWI_E_INVALID_GROUP_ID);
    if (!kwi_grp_here(req, rq->group_id))
        return heartbeat_reply(req, KWI_E_NOT_COORDINATOR);
    kwi_grp *g = kwi_grp_find(gmod(req), rq->group_id);
    if (!g || g->type != KWI_GRP_CLASSIC)
        return heartbeat_reply(req, KWI_E_UNKNOWN_MEMBER_ID);
    kw_slice instance = ver >= 3 ? rq->group_instance_id : KW_SLICE_NULL;
    int16_t err = kwi_cg_validate_member(g, rq->member_id, instance);
    if (err)
        return heartbeat_reply(req, err);
    if (rq->generation_id != g->generation)
        return heartbeat_reply(req, KWI_E_ILLEGAL_GENERATION);
    kwi_cmember *mem = kwi_cm_find(g, rq->member_id);
    switch (g->state) {
    case KWI_CG_EMPTY:
        return heartbeat_reply(req, KWI_E_UNKNOWN_MEMBER_ID);
    case KWI_CG_PREPARING:
        /* The heartbeat keeps the session and tells the member to rejoin. */
        kwi_cm_touch(mem);
        return heartbeat_reply(req, KWI_E_REBALANCE_IN_PROGRESS);
    case KWI_CG_COMPLETING:
    case KWI_CG_STABLE:
        kwi_cm_touch(mem);
        return heartbeat_reply(req, KWI_E_NONE);
    }
    return heartbeat_reply(req, KWI_E_UNKNOWN_SERVER);
}

/* ---------------------------------------------------------------- LeaveGroup */

static int16_t
leave_one(kwi_grp *g, kw_slice member_id, kw_slice instance)
{
    if (g->type != KWI_GRP_CLASSIC)
        return KWI_E_UNKNOWN_MEMBER_ID; /* no member of a consumer group uses this protocol */
    kwi_mock_logf(g->gm->m, KW_MOCK_LOG_INFO, "group %s: member %.*s leaves", g->id.p,
                  (int)(member_id.len > 0 ? member_id.len : 0), (const char *)member_id.ptr);
    if (member_id.len <= 0) {
        /* Administrative removal by instance id (KIP-345). */
        kwi_cmember *st = kwi_cm_find_static(g, instance);
        if (!st)
            return KWI_E_UNKNOWN_MEMBER_ID;
        kwi_cg_remove_member(g, st);
        return KWI_E_NONE;
    }
    kwi_cmember *pend = kwi_cm_find_pending(g, member_id);
    if (pend) {
        kwi_cg_remove_pending(g, pend);
        kwi_cg_maybe_complete_join(g);
        return KWI_E_NONE;
    }
    int16_t err = kwi_cg_validate_member(g, member_id, instance);
    if (err)
        return err;
    kwi_cg_remove_member(g, kwi_cm_find(g, member_id));
    return KWI_E_NONE;
}

static kw_err
leave_group(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_leave_group_req *rq = msg;
    kw_leave_group_resp r;
    memset(&r, 0, sizeof(r));
    kwi_grp *g = NULL;
    if (rq->group_id.len <= 0)
        r.error_code = KWI_E_INVALID_GROUP_ID;
    else if (!kwi_grp_here(req, rq->group_id))
        r.error_code = KWI_E_NOT_COORDINATOR;
    else if (!(g = kwi_grp_find(gmod(req), rq->group_id)))
        r.error_code = KWI_E_UNKNOWN_MEMBER_ID;
    if (r.error_code)
        return kwi_mock_reply(req, &r);
    if (ver < 3) {
        /* One member at the top level; its error is the response's. */
        r.error_code = leave_one(g, rq->member_id, KW_SLICE_NULL);
        return kwi_mock_reply(req, &r);
    }
    int32_t n = rq->n_members > 0 ? rq->n_members : 0;
    r.members = kwi_mock_req_alloc(req, (size_t)n, sizeof(*r.members));
    if (!r.members)
        return KW_ERR_NOMEM;
    r.n_members = n;
    for (int32_t i = 0; i < n; i++) {
        const kw_leave_group_member_identity *in = &rq->members[i];
        r.members[i].member_id = nonnull(in->member_id);
        r.members[i].group_instance_id = in->group_instance_id;
        r.members[i].error_code = leave_one(g, in->member_id, in->group_instance_id);
    }
    return kwi_mock_reply(req, &r);
}

kw_err
kwi_mock_group_classic_register(kw_mock *m)
{
    kwi_gmod *gm = kwi_gmod_get(m);
    kw_err e = kwi_mock_api_register(m, &kw_msg_join_group_req, -1, -1, join_group, gm);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_sync_group_req, -1, -1, sync_group, gm);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_heartbeat_req, -1, -1, heartbeat, gm);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_leave_group_req, -1, -1, leave_group, gm);
    return e;
}
