/* ListGroups (v0-5), DescribeGroups (v0-6) and ConsumerGroupDescribe (v0-1).
 *
 * Like a Kafka broker, each broker lists and describes only the groups it coordinates; admin
 * clients ask every broker. ListGroups filters by state (v4+, KIP-518) and type (v5+, KIP-848),
 * both case-insensitively as Kafka 3.8+ does, and lists groups in creation order.
 * DescribeGroups describes classic groups (members' metadata and assignments only when
 * Stable, as Kafka does); a missing or consumer group is "Dead", with GROUP_ID_NOT_FOUND from
 * v6 (KIP-1043). ConsumerGroupDescribe describes consumer groups; anything else is
 * GROUP_ID_NOT_FOUND. Without an authorizer every operation is allowed, so a requested
 * AuthorizedOperations is READ, DESCRIBE, DELETE, DESCRIBE_CONFIGS and ALTER_CONFIGS. */
#include <limits.h>
#include <string.h>
#include <strings.h>

#include "group.h"

/* AclOperation codes: READ 3, DELETE 6, DESCRIBE 8, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11. */
#define GROUP_OPS   ((1 << 3) | (1 << 6) | (1 << 8) | (1 << 10) | (1 << 11))
#define CLIENT_HOST "/127.0.0.1"

static bool
here(const kwi_mock_req *req, const kwi_grp *g)
{
    return kwi_grp_here(req, kwi_gstr_slice(&g->id));
}

static const char *
state_name(const kwi_grp *g)
{
    return g->type == KWI_GRP_CLASSIC ? kwi_cg_state_name(g->state) : kwi_kg_state_name(g);
}

static const char *
type_name(const kwi_grp *g)
{
    return g->type == KWI_GRP_CLASSIC ? "classic" : "consumer";
}

static bool
in_filter(const kw_slice *f, int32_t n, const char *value)
{
    if (n <= 0)
        return true;
    size_t len = strlen(value);
    for (int32_t i = 0; i < n; i++)
        if (f[i].len == (int32_t)len && strncasecmp((const char *)f[i].ptr, value, len) == 0)
            return true;
    return false;
}

static bool
listed(const kwi_mock_req *req, int16_t ver, const kw_list_groups_req *rq, const kwi_grp *g)
{
    return here(req, g) &&
           (ver < 4 || in_filter(rq->states_filter, rq->n_states_filter, state_name(g))) &&
           (ver < 5 || in_filter(rq->types_filter, rq->n_types_filter, type_name(g)));
}

static kw_err
list_groups(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_list_groups_req *rq = msg;
    kwi_gmod *gm = kwi_gmod_get(req->m);
    kw_list_groups_resp r;
    memset(&r, 0, sizeof(r));
    int32_t n = 0;
    for (int32_t i = 0; i < gm->n_groups; i++)
        n += listed(req, ver, rq, gm->groups[i]);
    r.groups = kwi_mock_req_alloc(req, (size_t)n, sizeof(*r.groups));
    if (!r.groups)
        return KW_ERR_NOMEM;
    for (int32_t i = 0; i < gm->n_groups; i++) {
        const kwi_grp *g = gm->groups[i];
        if (!listed(req, ver, rq, g))
            continue;
        kw_listed_group *o = &r.groups[r.n_groups++];
        o->group_id = kwi_gstr_slice(&g->id);
        if (g->type == KWI_GRP_CONSUMER)
            o->protocol_type = kw_slice_str("consumer");
        else
            o->protocol_type =
                g->protocol_type.p ? kwi_gstr_slice(&g->protocol_type) : kw_slice_str("");
        o->group_state = kw_slice_str(state_name(g));
        o->group_type = kw_slice_str(type_name(g));
    }
    return kwi_mock_reply(req, &r);
}

/* ---------------------------------------------------------------- DescribeGroups */

static kw_err
describe_members(kwi_mock_req *req, const kwi_grp *g, kw_described_group *o)
{
    o->members = kwi_mock_req_alloc(req, (size_t)g->n_cm, sizeof(*o->members));
    if (!o->members)
        return KW_ERR_NOMEM;
    o->n_members = g->n_cm;
    bool stable = g->state == KWI_CG_STABLE;
    kw_slice proto = kwi_cg_pname(g);
    for (int32_t i = 0; i < g->n_cm; i++) {
        const kwi_cmember *mem = g->cm[i];
        kw_described_group_member *d = &o->members[i];
        d->member_id = kwi_gstr_slice(&mem->id);
        d->group_instance_id = kwi_gstr_slice(&mem->instance_id);
        d->client_id = mem->client_id.p ? kwi_gstr_slice(&mem->client_id) : kw_slice_str("");
        d->client_host = kw_slice_str(CLIENT_HOST);
        d->member_metadata = kw_slice_str("");
        d->member_assignment = kw_slice_str("");
        if (!stable)
            continue;
        for (int32_t k = 0; k < mem->n_protos; k++)
            if (kwi_gstr_eq(&mem->protos[k].name, proto))
                d->member_metadata = (kw_slice){mem->protos[k].meta, mem->protos[k].len};
        d->member_assignment = (kw_slice){mem->assignment, mem->assignment_len};
    }
    return KW_ERR_OK;
}

static kw_err
describe_one(kwi_mock_req *req, int16_t ver, kw_slice id, bool ops, kw_described_group *o)
{
    o->group_id = id;
    o->error_message = KW_SLICE_NULL;
    o->group_state = o->protocol_type = o->protocol_data = kw_slice_str("");
    o->authorized_operations = INT32_MIN;
    if (id.len <= 0) {
        o->error_code = KWI_E_INVALID_GROUP_ID;
        return KW_ERR_OK;
    }
    if (!kwi_grp_here(req, id)) {
        o->error_code = KWI_E_NOT_COORDINATOR;
        return KW_ERR_OK;
    }
    const kwi_grp *g = kwi_grp_find(kwi_gmod_get(req->m), id);
    if (!g || g->type != KWI_GRP_CLASSIC) {
        o->group_state = kw_slice_str("Dead");
        if (ver >= 6) {
            o->error_code = KWI_E_GROUP_ID_NOT_FOUND;
            o->error_message =
                kw_slice_str(g ? "The group is not a classic group." : "Group not found.");
        }
        return KW_ERR_OK;
    }
    o->group_state = kw_slice_str(kwi_cg_state_name(g->state));
    o->protocol_type = g->protocol_type.p ? kwi_gstr_slice(&g->protocol_type) : kw_slice_str("");
    if (g->state == KWI_CG_STABLE && g->pname_len >= 0)
        o->protocol_data = kwi_cg_pname(g);
    if (ops)
        o->authorized_operations = GROUP_OPS;
    return describe_members(req, g, o);
}

static kw_err
describe_groups(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_describe_groups_req *rq = msg;
    kw_describe_groups_resp r;
    memset(&r, 0, sizeof(r));
    int32_t n = rq->n_groups > 0 ? rq->n_groups : 0;
    r.groups = kwi_mock_req_alloc(req, (size_t)n, sizeof(*r.groups));
    if (!r.groups)
        return KW_ERR_NOMEM;
    r.n_groups = n;
    bool ops = ver >= 3 && rq->include_authorized_operations;
    for (int32_t i = 0; i < n; i++)
        if (describe_one(req, ver, rq->groups[i], ops, &r.groups[i]))
            return KW_ERR_NOMEM;
    return kwi_mock_reply(req, &r);
}

/* ---------------------------------------------------------------- ConsumerGroupDescribe */

/* A set as described TopicPartitions, with topic names; topics that no longer exist are left
 * out, as Kafka does. */
static kw_err
describe_set(kwi_mock_req *req, const kwi_mtps *s, kw_consumer_group_describe_assignment *out)
{
    kw_consumer_group_heartbeat_topic_partitions *tps;
    int32_t n;
    if (kwi_mtps_to_resp(req, s, &tps, &n))
        return KW_ERR_NOMEM;
    out->topic_partitions = kwi_mock_req_alloc(req, (size_t)n, sizeof(*out->topic_partitions));
    if (!out->topic_partitions)
        return KW_ERR_NOMEM;
    for (int32_t i = 0; i < n; i++) {
        const kwi_mock_topic *t = kwi_mock_topic_find_id(req->m, &tps[i].topic_id);
        if (!t)
            continue;
        kw_consumer_group_describe_topic_partitions *o =
            &out->topic_partitions[out->n_topic_partitions++];
        o->topic_id = tps[i].topic_id;
        o->topic_name = (kw_slice){(const uint8_t *)t->name, (int32_t)t->name_len};
        o->partitions = tps[i].partitions;
        o->n_partitions = tps[i].n_partitions;
    }
    return KW_ERR_OK;
}

static kw_err
describe_kmember(kwi_mock_req *req, const kwi_kmember *mem, kw_consumer_group_describe_member *d)
{
    d->member_id = kwi_gstr_slice(&mem->id);
    d->instance_id = kwi_gstr_slice(&mem->instance_id);
    d->rack_id = kwi_gstr_slice(&mem->rack_id);
    d->member_epoch = mem->epoch;
    d->client_id = mem->client_id.p ? kwi_gstr_slice(&mem->client_id) : kw_slice_str("");
    d->client_host = kw_slice_str(CLIENT_HOST);
    d->subscribed_topic_names = kwi_mock_req_alloc(req, (size_t)mem->n_topics, sizeof(kw_slice));
    if (!d->subscribed_topic_names)
        return KW_ERR_NOMEM;
    d->n_subscribed_topic_names = mem->n_topics;
    for (int32_t i = 0; i < mem->n_topics; i++)
        d->subscribed_topic_names[i] = kwi_gstr_slice(&mem->topics[i]);
    d->subscribed_topic_regex = kwi_gstr_slice(&mem->regex);
    d->member_type = 1; /* consumer (KIP-1099); classic members never join consumer groups here */
    if (describe_set(req, &mem->assigned, &d->assignment) ||
        describe_set(req, &mem->target, &d->target_assignment))
        return KW_ERR_NOMEM;
    return KW_ERR_OK;
}

static kw_err
cg_describe_one(kwi_mock_req *req, kw_slice id, bool ops, kw_consumer_group_described_group *o)
{
    o->group_id = id;
    o->error_message = KW_SLICE_NULL;
    o->group_state = o->assignor_name = kw_slice_str("");
    o->authorized_operations = INT32_MIN;
    if (!kwi_grp_here(req, id)) {
        o->error_code = KWI_E_NOT_COORDINATOR;
        return KW_ERR_OK;
    }
    const kwi_grp *g = kwi_grp_find(kwi_gmod_get(req->m), id);
    if (!g || g->type != KWI_GRP_CONSUMER) {
        o->error_code = KWI_E_GROUP_ID_NOT_FOUND;
        o->error_message =
            kw_slice_str(g ? "The group is not a consumer group." : "Group not found.");
        return KW_ERR_OK;
    }
    o->group_state = kw_slice_str(kwi_kg_state_name(g));
    o->group_epoch = g->epoch;
    o->assignment_epoch = g->assignment_epoch;
    o->assignor_name = kw_slice_str(kwi_kg_assignor(g)->name);
    if (ops)
        o->authorized_operations = GROUP_OPS;
    o->members = kwi_mock_req_alloc(req, (size_t)g->n_km, sizeof(*o->members));
    if (!o->members)
        return KW_ERR_NOMEM;
    o->n_members = g->n_km;
    for (int32_t i = 0; i < g->n_km; i++)
        if (describe_kmember(req, g->km[i], &o->members[i]))
            return KW_ERR_NOMEM;
    return KW_ERR_OK;
}

static kw_err
consumer_group_describe(kwi_mock_req *req, int16_t ver, void *msg)
{
    (void)ver;
    const kw_consumer_group_describe_req *rq = msg;
    kw_consumer_group_describe_resp r;
    memset(&r, 0, sizeof(r));
    int32_t n = rq->n_group_ids > 0 ? rq->n_group_ids : 0;
    r.groups = kwi_mock_req_alloc(req, (size_t)n, sizeof(*r.groups));
    if (!r.groups)
        return KW_ERR_NOMEM;
    r.n_groups = n;
    for (int32_t i = 0; i < n; i++)
        if (cg_describe_one(req, rq->group_ids[i], rq->include_authorized_operations, &r.groups[i]))
            return KW_ERR_NOMEM;
    return kwi_mock_reply(req, &r);
}

kw_err
kwi_mock_group_list_register(kw_mock *m)
{
    kwi_gmod *gm = kwi_gmod_get(m);
    kw_err e = kwi_mock_api_register(m, &kw_msg_list_groups_req, -1, -1, list_groups, gm);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_describe_groups_req, -1, -1, describe_groups, gm);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_consumer_group_describe_req, -1, -1,
                                  consumer_group_describe, gm);
    return e;
}
