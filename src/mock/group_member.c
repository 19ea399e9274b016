/* Classic group members: creation, lookup, their protocols and the group's protocol choice
 * (ClassicGroup.selectProtocol, supportsProtocols), and the answers to their parked JoinGroup
 * and SyncGroup requests. The state machine that decides when to answer is group_classic.c. */
#include <string.h>

#include "group.h"

static kw_mock *
gm_mock(const kwi_grp *g)
{
    return g->gm->m;
}

/* ---------------------------------------------------------------- members */

kwi_cmember *
kwi_cm_new(kwi_grp *g)
{
    kw_mock *m = gm_mock(g);
    kwi_cmember *mem = kwi_galloc(m, sizeof(*mem));
    if (!mem)
        return NULL;
    mem->g = g;
    mem->id.len = mem->instance_id.len = mem->client_id.len = -1;
    if (kwi_reactor_timer_new(m->r, kwi_cg_on_session, mem, &mem->session)) {
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

void
kwi_cm_set_assignment(kwi_cmember *mem, uint8_t *bytes, int32_t len)
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
    kwi_cm_set_assignment(mem, NULL, 0);
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

void
kwi_cm_arm_session(kwi_cmember *mem, int32_t ms)
{
    kwi_reactor_timer_start(mem->session, ms);
}

void
kwi_cm_touch(kwi_cmember *mem)
{
    kwi_cm_arm_session(mem, mem->session_timeout_ms);
}

bool
kwi_cm_matches(const kwi_cmember *mem, const kw_join_group_req_protocol *p, int32_t n)
{
    if (mem->n_protos != n)
        return false;
    for (int32_t i = 0; i < n; i++) {
        const kwi_cproto *c = &mem->protos[i];
        if (!kwi_gstr_eq(&c->name, p[i].name) ||
            c->len != (p[i].metadata.len > 0 ? p[i].metadata.len : 0) ||
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
        if (!p[i].meta ||
            kwi_gstr_set(m, &p[i].name, in->name.len >= 0 ? in->name : kw_slice_str(""))) {
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
kwi_cg_select_protocol(kwi_grp *g)
{
    /* Each member votes once (the vote is kept in the member: no allocation, as this runs from
     * a timer); the most votes wins (ClassicGroup.selectProtocol). A tie goes to the protocol
     * whose first vote came from the earliest member, where Kafka's answer depends on a hash
     * map. */
    for (int32_t i = 0; i < g->n_cm; i++)
        g->cm[i]->vote = vote(g, g->cm[i]);
    kw_slice best = KW_SLICE_NULL;
    int32_t best_votes = 0;
    for (int32_t i = 0; i < g->n_cm; i++) {
        kw_slice v = g->cm[i]->vote;
        bool seen = v.len < 0;
        for (int32_t k = 0; k < i && !seen; k++)
            seen = slice_eq(g->cm[k]->vote, v);
        if (seen)
            continue;
        int32_t votes = 0;
        for (int32_t k = i; k < g->n_cm; k++)
            votes += slice_eq(g->cm[k]->vote, v);
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

void
kwi_cg_set_pname(kwi_grp *g, kw_slice name)
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

void
kwi_cg_propagate(kwi_grp *g, int16_t err)
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
