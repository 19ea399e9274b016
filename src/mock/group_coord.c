/* The group coordinator module: its state, coordinator placement, FindCoordinator (v0-6), the
 * group table, small helpers shared by group*.c, and the public C API of kwire/mock.h's group
 * block.
 *
 * Placement. Kafka coordinates a group on the leader of partition
 * abs(groupId.hashCode()) % offsets.topic.num.partitions (50) of __consumer_offsets, and a
 * transactional id on the leader of the same function over __transaction_state. The mock
 * computes the same partition (Java's String.hashCode over the UTF-16 code units of the key)
 * and spreads those 50 partitions over the brokers round-robin (partition p on broker
 * p % brokers + 1), so a group's coordinator is fixed for a given cluster size and different
 * groups land on different brokers. kw_mock_coordinator_set overrides it per key.
 *
 * State is shared by all brokers (Kafka would reload a group from __consumer_offsets on its new
 * coordinator): moving a coordinator keeps members, generations and offsets; only the parked
 * requests on the old coordinator are answered with NOT_COORDINATOR, as Kafka does when it
 * unloads a group. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "group.h"

#define INTERNAL_PARTITIONS                                                                        \
    50 /* offsets.topic.num.partitions, transaction.state.log.num.partitions */

/* ---------------------------------------------------------------- helpers */

kwi_gmod *
kwi_gmod_get(kw_mock *m)
{
    return m->mod[KWI_MOCK_MOD_GROUP];
}

void *
kwi_galloc(kw_mock *m, size_t n)
{
    void *p = m->a->alloc(m->a->ud, n ? n : 1);
    if (p)
        memset(p, 0, n ? n : 1);
    return p;
}

void
kwi_gfree(kw_mock *m, void *p, size_t n)
{
    if (p)
        m->a->free(m->a->ud, p, n ? n : 1);
}

kw_err
kwi_grow(kw_mock *m, void **arr, int32_t *cap, int32_t need, size_t esz)
{
    if (need <= *cap)
        return KW_ERR_OK;
    if (need > INT32_MAX / 2 || (size_t)need > SIZE_MAX / 2 / esz)
        return KW_ERR_NOMEM;
    int32_t ncap = *cap ? *cap : 4;
    while (ncap < need)
        ncap *= 2;
    void *n = *arr ? m->a->realloc(m->a->ud, *arr, (size_t)*cap * esz, (size_t)ncap * esz)
                   : m->a->alloc(m->a->ud, (size_t)ncap * esz);
    if (!n)
        return KW_ERR_NOMEM;
    *arr = n;
    *cap = ncap;
    return KW_ERR_OK;
}

kw_err
kwi_gstr_set(kw_mock *m, kwi_gstr *s, kw_slice v)
{
    kwi_gstr n = {NULL, -1};
    if (v.len >= 0) {
        n.p = kwi_galloc(m, (size_t)v.len + 1);
        if (!n.p)
            return KW_ERR_NOMEM;
        if (v.len)
            memcpy(n.p, v.ptr, (size_t)v.len);
        n.len = v.len;
    }
    kwi_gstr_free(m, s);
    *s = n;
    return KW_ERR_OK;
}

void
kwi_gstr_free(kw_mock *m, kwi_gstr *s)
{
    if (s->p)
        kwi_gfree(m, s->p, (size_t)s->len + 1);
    s->p = NULL;
    s->len = -1;
}

kw_slice
kwi_gstr_slice(const kwi_gstr *s)
{
    if (!s->p)
        return KW_SLICE_NULL;
    return (kw_slice){(const uint8_t *)s->p, s->len};
}

bool
kwi_gstr_eq(const kwi_gstr *s, kw_slice v)
{
    if (!s->p || v.len < 0)
        return !s->p && v.len < 0;
    return s->len == v.len && (v.len == 0 || memcmp(s->p, v.ptr, (size_t)v.len) == 0);
}

kw_err
kwi_gen_member_id(kw_mock *m, kw_slice prefix, kwi_gstr *out)
{
    uint8_t u[16];
    kwi_mock_random(u, sizeof(u));
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4, as UUID.randomUUID() */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80);
    char uuid[37];
    static const char hex[] = "0123456789abcdef";
    int o = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            uuid[o++] = '-';
        uuid[o++] = hex[u[i] >> 4];
        uuid[o++] = hex[u[i] & 15];
    }
    uuid[o] = '\0';
    int32_t plen = prefix.len > 0 ? prefix.len : 0;
    if (plen > 1000)
        plen = 1000; /* a client id is at most 32767 bytes; keep ids reasonable */
    size_t n = (size_t)plen + 1 + 36;
    char *p = kwi_galloc(m, n + 1);
    if (!p)
        return KW_ERR_NOMEM;
    if (plen)
        memcpy(p, prefix.ptr, (size_t)plen);
    p[plen] = '-';
    memcpy(p + plen + 1, uuid, 36);
    kwi_gstr_free(m, out);
    out->p = p;
    out->len = (int32_t)n;
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- placement */

/* Java's String.hashCode: the key is UTF-8 on the wire, a UTF-16 string in Java. Malformed
 * bytes count as U+FFFD, as Java's decoder replaces them. */
static int32_t
java_hash(kw_slice key)
{
    uint32_t h = 0;
    const uint8_t *p = key.ptr;
    int32_t n = key.len > 0 ? key.len : 0;
    for (int32_t i = 0; i < n;) {
        uint32_t c = p[i], need = 0;
        if (c < 0x80)
            need = 0;
        else if ((c & 0xe0) == 0xc0)
            need = 1, c &= 0x1f;
        else if ((c & 0xf0) == 0xe0)
            need = 2, c &= 0x0f;
        else if ((c & 0xf8) == 0xf0)
            need = 3, c &= 0x07;
        else
            need = 9;
        bool ok = need != 9 && n - i > (int32_t)need;
        for (uint32_t k = 1; ok && k <= need; k++) {
            if ((p[i + (int32_t)k] & 0xc0) != 0x80)
                ok = false;
            else
                c = (c << 6) | (p[i + (int32_t)k] & 0x3f);
        }
        if (!ok) {
            c = 0xfffd;
            need = 0;
        }
        i += (int32_t)need + 1;
        if (c >= 0x10000) {
            c -= 0x10000;
            h = 31 * h + (0xd800 + (c >> 10));
            h = 31 * h + (0xdc00 + (c & 0x3ff));
        } else {
            h = 31 * h + c;
        }
    }
    return (int32_t)h;
}

static kwi_coord_ovr *
ovr_find(kwi_gmod *gm, int8_t key_type, kw_slice key)
{
    for (int32_t i = 0; i < gm->n_ovr; i++)
        if (gm->ovr[i].key_type == key_type && kwi_gstr_eq(&gm->ovr[i].key, key))
            return &gm->ovr[i];
    return NULL;
}

int32_t
kwi_mock_coordinator_node(kw_mock *m, int8_t key_type, kw_slice key)
{
    kwi_gmod *gm = kwi_gmod_get(m);
    kwi_coord_ovr *o = gm ? ovr_find(gm, key_type, key) : NULL;
    if (o)
        return o->node_id;
    int32_t h = java_hash(key);
    int32_t part = (h == INT32_MIN ? 0 : (h < 0 ? -h : h)) % INTERNAL_PARTITIONS; /* Utils.abs */
    return part % m->n_brokers + 1;
}

bool
kwi_grp_here(const kwi_mock_req *req, kw_slice id)
{
    return kwi_mock_coordinator_node(req->m, KWI_COORD_GROUP, id) == req->broker->node_id;
}

/* ---------------------------------------------------------------- FindCoordinator */

typedef struct coord_answer {
    int16_t error;
    const char *msg;
    int32_t node;
    int32_t port;
} coord_answer;

static coord_answer
coordinator_for(kwi_mock_req *req, int8_t key_type, kw_slice key)
{
    coord_answer a = {0, NULL, -1, -1};
    if (key_type != KWI_COORD_GROUP && key_type != KWI_COORD_TXN) {
        a.error = KWI_E_INVALID_REQUEST;
        a.msg = key_type == 2 ? "share groups are not supported" : "unknown coordinator key type";
        return a;
    }
    a.node = kwi_mock_coordinator_node(req->m, key_type, key);
    a.port = kw_mock_broker_port(req->m, a.node);
    return a;
}

/* FindCoordinator v0-6: v0-3 one Key (v0 implies KeyType group), v4+ CoordinatorKeys[]. */
static kw_err
find_coordinator(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_find_coordinator_req *rq = msg;
    kw_find_coordinator_resp resp;
    memset(&resp, 0, sizeof(resp));
    int8_t type = ver >= 1 ? rq->key_type : KWI_COORD_GROUP;
    kw_slice host = kw_slice_str("127.0.0.1");
    if (ver < 4) {
        coord_answer a = coordinator_for(req, type, rq->key);
        resp.error_code = a.error;
        resp.error_message = a.msg ? kw_slice_str(a.msg) : KW_SLICE_NULL;
        resp.node_id = a.node;
        resp.host = a.error ? kw_slice_str("") : host;
        resp.port = a.port;
        return kwi_mock_reply(req, &resp);
    }
    int32_t n = rq->n_coordinator_keys > 0 ? rq->n_coordinator_keys : 0;
    resp.coordinators = kwi_mock_req_alloc(req, (size_t)n, sizeof(*resp.coordinators));
    if (!resp.coordinators)
        return KW_ERR_NOMEM;
    resp.n_coordinators = n;
    for (int32_t i = 0; i < n; i++) {
        kw_find_coordinator_coordinator *c = &resp.coordinators[i];
        coord_answer a = coordinator_for(req, type, rq->coordinator_keys[i]);
        c->key = rq->coordinator_keys[i];
        c->node_id = a.node;
        c->host = a.error ? kw_slice_str("") : host;
        c->port = a.port;
        c->error_code = a.error;
        c->error_message = a.msg ? kw_slice_str(a.msg) : KW_SLICE_NULL;
    }
    return kwi_mock_reply(req, &resp);
}

/* ---------------------------------------------------------------- the group table */

kwi_grp *
kwi_grp_find(kwi_gmod *gm, kw_slice id)
{
    for (int32_t i = 0; i < gm->n_groups; i++)
        if (kwi_gstr_eq(&gm->groups[i]->id, id))
            return gm->groups[i];
    return NULL;
}

static void on_join_timer(kwi_reactor *r, kwi_timer *t, void *ud);
static void on_sync_timer(kwi_reactor *r, kwi_timer *t, void *ud);

static void
grp_free(kwi_grp *g)
{
    kw_mock *m = g->gm->m;
    kwi_cg_clear(g, 0);
    kwi_kg_clear(g);
    kwi_grp_offsets_free(g);
    kwi_reactor_timer_free(g->join_timer);
    kwi_reactor_timer_free(g->sync_timer);
    kwi_gstr_free(m, &g->id);
    kwi_gstr_free(m, &g->protocol_type);
    kwi_gfree(m, g, sizeof(*g));
}

kwi_grp *
kwi_grp_create(kwi_gmod *gm, kw_slice id, kwi_grp_type type)
{
    kw_mock *m = gm->m;
    if (kwi_grow(m, (void **)&gm->groups, &gm->cap_groups, gm->n_groups + 1, sizeof(kwi_grp *)))
        return NULL;
    kwi_grp *g = kwi_galloc(m, sizeof(*g));
    if (!g)
        return NULL;
    g->gm = gm;
    g->type = type;
    g->id.len = g->protocol_type.len = -1;
    g->pname_len = -1;
    if (kwi_gstr_set(m, &g->id, id) ||
        kwi_reactor_timer_new(m->r, on_join_timer, g, &g->join_timer) ||
        kwi_reactor_timer_new(m->r, on_sync_timer, g, &g->sync_timer)) {
        grp_free(g);
        return NULL;
    }
    gm->groups[gm->n_groups++] = g;
    kwi_mock_logf(m, KW_MOCK_LOG_DEBUG, "group %s created (%s)", g->id.p,
                  type == KWI_GRP_CLASSIC ? "classic" : "consumer");
    return g;
}

bool
kwi_grp_empty(const kwi_grp *g)
{
    return g->type == KWI_GRP_CLASSIC ? g->n_cm == 0 : g->n_km == 0;
}

void
kwi_grp_convert(kwi_grp *g, kwi_grp_type type)
{
    if (g->type == type)
        return;
    kwi_cg_clear(g, KWI_E_UNKNOWN_MEMBER_ID); /* pending members only: the group is empty */
    kwi_kg_clear(g);
    kw_mock *m = g->gm->m;
    kwi_gstr_free(m, &g->protocol_type);
    g->pname_len = -1;
    g->state = g->prev_state = KWI_CG_EMPTY;
    g->generation = 0;
    g->epoch = g->assignment_epoch = 0;
    g->type = type;
    kwi_mock_logf(m, KW_MOCK_LOG_INFO, "group %s converted to a %s group", g->id.p,
                  type == KWI_GRP_CLASSIC ? "classic" : "consumer");
}

/* The join and sync timers live with the group; what they do is group_classic.c's. */
static void
on_join_timer(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_cg_join_timer_fired(ud);
}

static void
on_sync_timer(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_cg_sync_timer_fired(ud);
}

void
kwi_grp_cancel(kwi_mock_req *req, void *ud)
{
    kwi_gmod *gm = ud;
    for (int32_t i = 0; i < gm->n_groups; i++) {
        kwi_grp *g = gm->groups[i];
        for (int32_t k = 0; k < g->n_cm; k++) {
            if (g->cm[k]->join_req == req)
                g->cm[k]->join_req = NULL;
            if (g->cm[k]->sync_req == req)
                g->cm[k]->sync_req = NULL;
        }
        for (int32_t k = 0; k < g->n_pend; k++)
            if (g->pend[k]->join_req == req)
                g->pend[k]->join_req = NULL;
    }
}

/* ---------------------------------------------------------------- the transaction seam */

static int16_t
txn_member_check(kw_mock *m, kw_slice group, int32_t generation, kw_slice member, kw_slice instance)
{
    kwi_grp *g = kwi_grp_find(kwi_gmod_get(m), group);
    if (!g)
        return generation < 0 ? KWI_E_NONE : KWI_E_ILLEGAL_GENERATION;
    if (g->type == KWI_GRP_CONSUMER) {
        /* ConsumerGroup.validateOffsetCommit; a stale epoch becomes ILLEGAL_GENERATION for
         * TxnOffsetCommit (OffsetMetadataManager.validateTransactionalOffsetCommit). */
        if (generation < 0 && g->n_km == 0)
            return KWI_E_NONE;
        for (int32_t i = 0; i < g->n_km; i++)
            if (kwi_gstr_eq(&g->km[i]->id, member))
                return g->km[i]->epoch == generation ? KWI_E_NONE : KWI_E_ILLEGAL_GENERATION;
        return KWI_E_UNKNOWN_MEMBER_ID;
    }
    if (generation < 0 && g->state == KWI_CG_EMPTY)
        return KWI_E_NONE;
    if (generation >= 0 || member.len > 0 || instance.len >= 0) {
        int16_t e = kwi_cg_validate_member(g, member, instance);
        if (e)
            return e;
        if (generation != g->generation)
            return KWI_E_ILLEGAL_GENERATION;
    }
    return KWI_E_NONE;
}

static int16_t
offset_store(kw_mock *m, kw_slice group, kw_slice topic, int32_t partition, int64_t offset,
             int32_t leader_epoch, kw_slice metadata)
{
    kwi_gmod *gm = kwi_gmod_get(m);
    kwi_grp *g = kwi_grp_find(gm, group);
    if (!g)
        g = kwi_grp_create(gm, group, KWI_GRP_CLASSIC);
    if (!g)
        return -1;
    return kwi_grp_offset_put(g, topic, partition, offset, leader_epoch, metadata);
}

/* ---------------------------------------------------------------- the module */

void
kw_mock_group_conf_init(kw_mock_group_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->initial_rebalance_delay_ms = 3000;
    c->min_session_timeout_ms = 6000;
    c->max_session_timeout_ms = 1800000;
    c->max_size = INT32_MAX;
    c->new_member_join_timeout_ms = 300000;
    c->consumer_heartbeat_interval_ms = 5000;
    c->consumer_session_timeout_ms = 45000;
    c->consumer_default_assignor = NULL;
    c->offset_metadata_max_bytes = 4096;
}

static const kwi_assign_sv_assignor *
conf_check(const kw_mock_group_conf *c)
{
    const kwi_assign_sv_assignor *as = kwi_assign_sv_find(
        kw_slice_str(c->consumer_default_assignor ? c->consumer_default_assignor : "uniform"));
    if (!as || c->initial_rebalance_delay_ms < 0 || c->min_session_timeout_ms < 0 ||
        c->max_session_timeout_ms < c->min_session_timeout_ms || c->max_size < 1 ||
        c->new_member_join_timeout_ms < 1 || c->consumer_heartbeat_interval_ms < 1 ||
        c->consumer_session_timeout_ms < 1 || c->offset_metadata_max_bytes < 0)
        return NULL;
    return as;
}

kw_err
kwi_mock_group_init(kw_mock *m)
{
    kwi_gmod *gm = kwi_galloc(m, sizeof(*gm));
    if (!gm)
        return KW_ERR_NOMEM;
    gm->m = m;
    kw_mock_group_conf_init(&gm->conf);
    gm->default_assignor = conf_check(&gm->conf);
    m->mod[KWI_MOCK_MOD_GROUP] = gm;
    m->group_ops.coordinator = kwi_mock_coordinator_node;
    m->group_ops.txn_member_check = txn_member_check;
    m->group_ops.offset_store = offset_store;
    kw_err e = kwi_mock_api_register(m, &kw_msg_find_coordinator_req, -1, -1, find_coordinator, gm);
    if (!e)
        e = kwi_mock_group_classic_register(m);
    if (!e)
        e = kwi_mock_group_consumer_register(m);
    if (!e)
        e = kwi_mock_group_offsets_register(m);
    if (!e)
        e = kwi_mock_group_list_register(m);
    return e;
}

void
kwi_mock_group_fini(kw_mock *m)
{
    kwi_gmod *gm = kwi_gmod_get(m);
    if (!gm)
        return;
    for (int32_t i = 0; i < gm->n_groups; i++)
        grp_free(gm->groups[i]);
    kwi_gfree(m, gm->groups, (size_t)gm->cap_groups * sizeof(*gm->groups));
    for (int32_t i = 0; i < gm->n_ovr; i++)
        kwi_gstr_free(m, &gm->ovr[i].key);
    kwi_gfree(m, gm->ovr, (size_t)gm->cap_ovr * sizeof(*gm->ovr));
    memset(&m->group_ops, 0, sizeof(m->group_ops));
    kwi_gfree(m, gm, sizeof(*gm));
    m->mod[KWI_MOCK_MOD_GROUP] = NULL;
}

/* ---------------------------------------------------------------- the C API */

static void
lock(kw_mock *m)
{
    pthread_mutex_lock(&m->lock);
}

static void
unlock(kw_mock *m)
{
    bool wake = m->thread_running;
    pthread_mutex_unlock(&m->lock);
    if (wake)
        kwi_reactor_wakeup(m->r);
}

kw_err
kw_mock_group_conf_set(kw_mock *m, const kw_mock_group_conf *conf)
{
    const kwi_assign_sv_assignor *as = conf ? conf_check(conf) : NULL;
    if (!as)
        return KW_ERR_INVALID_ARG;
    lock(m);
    kwi_gmod *gm = kwi_gmod_get(m);
    gm->conf = *conf;
    gm->conf.consumer_default_assignor = NULL; /* the caller's string need not outlive this */
    gm->default_assignor = as;
    unlock(m);
    return KW_ERR_OK;
}

static kw_err
coordinator_set_locked(kwi_gmod *gm, int8_t key_type, kw_slice key, int32_t node_id)
{
    kw_mock *m = gm->m;
    kwi_coord_ovr *o = ovr_find(gm, key_type, key);
    if (node_id < 0) {
        if (o) {
            kwi_gstr_free(m, &o->key);
            *o = gm->ovr[--gm->n_ovr];
        }
    } else if (o) {
        o->node_id = node_id;
    } else {
        if (kwi_grow(m, (void **)&gm->ovr, &gm->cap_ovr, gm->n_ovr + 1, sizeof(*gm->ovr)))
            return KW_ERR_NOMEM;
        kwi_coord_ovr n = {key_type, {NULL, -1}, node_id};
        if (kwi_gstr_set(m, &n.key, key))
            return KW_ERR_NOMEM;
        gm->ovr[gm->n_ovr++] = n;
    }
    kwi_grp *g = key_type == KWI_COORD_GROUP ? kwi_grp_find(gm, key) : NULL;
    if (g)
        kwi_cg_coordinator_moved(g);
    kwi_mock_logf(m, KW_MOCK_LOG_INFO, "%s %.*s: coordinator is now broker %d",
                  key_type == KWI_COORD_GROUP ? "group" : "transactional id", (int)key.len,
                  (const char *)key.ptr, (int)kwi_mock_coordinator_node(m, key_type, key));
    return KW_ERR_OK;
}

kw_err
kw_mock_coordinator_set(kw_mock *m, int8_t key_type, const char *key, int32_t node_id)
{
    if (!key || (key_type != KWI_COORD_GROUP && key_type != KWI_COORD_TXN))
        return KW_ERR_INVALID_ARG;
    if (node_id != -1 && (node_id < 1 || node_id > kw_mock_broker_count(m)))
        return KW_ERR_NOT_FOUND;
    lock(m);
    kw_err e = coordinator_set_locked(kwi_gmod_get(m), key_type, kw_slice_str(key), node_id);
    unlock(m);
    return e;
}

int32_t
kw_mock_coordinator(kw_mock *m, int8_t key_type, const char *key)
{
    if (!key || (key_type != KWI_COORD_GROUP && key_type != KWI_COORD_TXN))
        return -1;
    lock(m);
    int32_t n = kwi_mock_coordinator_node(m, key_type, kw_slice_str(key));
    unlock(m);
    return n;
}

kw_err
kw_mock_committed_offset(kw_mock *m, const char *group, const char *topic, int32_t partition,
                         int64_t *offset, int32_t *leader_epoch)
{
    if (!group || !topic)
        return KW_ERR_INVALID_ARG;
    lock(m);
    kwi_grp *g = kwi_grp_find(kwi_gmod_get(m), kw_slice_str(group));
    const kwi_goffset *o = g ? kwi_grp_offset_find(g, kw_slice_str(topic), partition) : NULL;
    if (o) {
        if (offset)
            *offset = o->offset;
        if (leader_epoch)
            *leader_epoch = o->leader_epoch;
    }
    unlock(m);
    return o ? KW_ERR_OK : KW_ERR_NOT_FOUND;
}
