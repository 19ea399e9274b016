/* ConsumerGroupHeartbeat (v0-1, KIP-848): request validation, members (dynamic and static),
 * group and member epochs, leaving, session and rebalance timeouts. Assignment work is
 * group_assign.c's.
 *
 * One heartbeat, as Kafka's GroupMetadataManager.consumerGroupHeartbeat:
 *   1. find or create the group and the member; check the member epoch (FENCED_MEMBER_EPOCH
 *      unless it is the current one, or the previous one with TopicPartitions inside the
 *      current assignment: a lost response);
 *   2. apply the fields that are set (null = unchanged); a new group or a changed subscription
 *      (names or regex) bumps the group epoch, and so does a change in the subscribed topics'
 *      metadata (a topic created, deleted or grown), which the mock checks on every heartbeat;
 *   3. when the group epoch is ahead of the assignment epoch, run the assignor for all members;
 *   4. reconcile the member towards its target (revocations first);
 *   5. answer with the member's epoch, the heartbeat interval, and its assignment when the
 *      request was "full" or the assignment changed.
 * Differences from Kafka 4.0: a member rejoining with epoch 0 under an id the group still holds
 * starts over (its partitions are released and its target kept), as Kafka 4.2 does
 * (KAFKA-19233); 4.0 answers FENCED_MEMBER_EPOCH until the old entry expires. */
#include <stdlib.h>
#include <string.h>

#include "group.h"

static kw_err
hb_error(kwi_mock_req *req, int16_t err, const char *msg)
{
    kw_consumer_group_heartbeat_resp r;
    memset(&r, 0, sizeof(r));
    r.error_code = err;
    r.error_message = msg ? kw_slice_str(msg) : KW_SLICE_NULL;
    r.member_id = KW_SLICE_NULL;
    return kwi_mock_reply(req, &r);
}

/* ---------------------------------------------------------------- members */

static void on_session(kwi_reactor *r, kwi_timer *t, void *ud);
static void on_rebalance(kwi_reactor *r, kwi_timer *t, void *ud);

static void
topics_free(kw_mock *m, kwi_gstr *t, int32_t n, int32_t cap)
{
    for (int32_t i = 0; i < n; i++)
        kwi_gstr_free(m, &t[i]);
    kwi_gfree(m, t, (size_t)cap * sizeof(*t));
}

void
kwi_km_free(kwi_kmember *mem)
{
    if (!mem)
        return;
    kw_mock *m = mem->g->gm->m;
    kwi_reactor_timer_free(mem->session);
    kwi_reactor_timer_free(mem->rebalance);
    kwi_gstr_free(m, &mem->id);
    kwi_gstr_free(m, &mem->instance_id);
    kwi_gstr_free(m, &mem->rack_id);
    kwi_gstr_free(m, &mem->client_id);
    kwi_gstr_free(m, &mem->regex);
    kwi_gstr_free(m, &mem->assignor);
    topics_free(m, mem->topics, mem->n_topics, mem->cap_topics);
    kwi_mtps_fini(m, &mem->assigned);
    kwi_mtps_fini(m, &mem->revoking);
    kwi_mtps_fini(m, &mem->target);
    kwi_gfree(m, mem, sizeof(*mem));
}

static kwi_kmember *
km_new(kwi_grp *g, kw_slice id)
{
    kw_mock *m = g->gm->m;
    if (kwi_grow(m, (void **)&g->km, &g->cap_km, g->n_km + 1, sizeof(*g->km)))
        return NULL;
    kwi_kmember *mem = kwi_galloc(m, sizeof(*mem));
    if (!mem)
        return NULL;
    mem->g = g;
    mem->id.len = mem->instance_id.len = mem->rack_id.len = mem->client_id.len = -1;
    mem->regex.len = mem->assignor.len = -1;
    if (kwi_gstr_set(m, &mem->id, id) ||
        kwi_reactor_timer_new(m->r, on_session, mem, &mem->session) ||
        kwi_reactor_timer_new(m->r, on_rebalance, mem, &mem->rebalance)) {
        kwi_km_free(mem);
        return NULL;
    }
    g->km[g->n_km++] = mem;
    kwi_reactor_timer_start(mem->session, g->gm->conf.consumer_session_timeout_ms);
    return mem;
}

static kwi_kmember *
km_find(const kwi_grp *g, kw_slice id)
{
    for (int32_t i = 0; i < g->n_km; i++)
        if (kwi_gstr_eq(&g->km[i]->id, id))
            return g->km[i];
    return NULL;
}

static kwi_kmember *
km_find_static(const kwi_grp *g, kw_slice instance)
{
    if (instance.len < 0)
        return NULL;
    for (int32_t i = 0; i < g->n_km; i++)
        if (g->km[i]->instance_id.p && kwi_gstr_eq(&g->km[i]->instance_id, instance))
            return g->km[i];
    return NULL;
}

static void
km_unlink(kwi_grp *g, kwi_kmember *mem)
{
    for (int32_t i = 0; i < g->n_km; i++)
        if (g->km[i] == mem) {
            memmove(&g->km[i], &g->km[i + 1], (size_t)(g->n_km - i - 1) * sizeof(*g->km));
            g->n_km--;
            return;
        }
}

/* Removes a member and bumps the group epoch (consumerGroupFenceMember): its partitions are
 * free at once; the other members get a new target at their next heartbeat. */
static void
fence(kwi_kmember *mem, const char *why)
{
    kwi_grp *g = mem->g;
    kwi_mock_logf(g->gm->m, KW_MOCK_LOG_INFO, "group %s: member %s leaves (%s)", g->id.p, mem->id.p,
                  why);
    km_unlink(g, mem);
    kwi_km_free(mem);
    g->epoch++;
}

static void
on_session(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    fence(ud, "session expired");
}

static void
on_rebalance(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_kmember *mem = ud;
    if (mem->state == KWI_KM_UNREVOKED)
        fence(mem, "it did not revoke its partitions within the rebalance timeout");
}

void
kwi_kg_clear(kwi_grp *g)
{
    kw_mock *m = g->gm->m;
    for (int32_t i = 0; i < g->n_km; i++)
        kwi_km_free(g->km[i]);
    kwi_gfree(m, g->km, (size_t)g->cap_km * sizeof(*g->km));
    kwi_gfree(m, g->sub, (size_t)g->cap_sub * sizeof(*g->sub));
    g->km = NULL;
    g->sub = NULL;
    g->n_km = g->cap_km = g->n_sub = g->cap_sub = 0;
}

const char *
kwi_kg_state_name(const kwi_grp *g)
{
    if (g->n_km == 0)
        return "Empty";
    if (g->epoch > g->assignment_epoch)
        return "Assigning";
    for (int32_t i = 0; i < g->n_km; i++)
        if (g->km[i]->epoch != g->assignment_epoch || g->km[i]->state != KWI_KM_STABLE)
            return "Reconciling";
    return "Stable";
}

/* The assignor the members prefer most (ties: name order), else the broker's default. */
const kwi_assign_sv_assignor *
kwi_kg_assignor(const kwi_grp *g)
{
    const kwi_assign_sv_assignor *best = g->gm->default_assignor;
    int32_t best_n = 0;
    for (int32_t i = 0; i < g->n_km; i++) {
        const kwi_assign_sv_assignor *as =
            g->km[i]->assignor.p ? kwi_assign_sv_find(kwi_gstr_slice(&g->km[i]->assignor)) : NULL;
        if (!as)
            continue;
        int32_t n = 0;
        for (int32_t k = 0; k < g->n_km; k++)
            n += g->km[k]->assignor.p && kwi_gstr_eq(&g->km[k]->assignor, kw_slice_str(as->name));
        if (n > best_n || (n == best_n && strcmp(as->name, best->name) < 0)) {
            best = as;
            best_n = n;
        }
    }
    return best;
}

/* ---------------------------------------------------------------- validation */

/* GroupMetadataManager.throwIfConsumerGroupHeartbeatRequestIsInvalid; NULL when valid. */
static const char *
invalid_request(int16_t ver, const kw_consumer_group_heartbeat_req *rq)
{
    int32_t epoch = rq->member_epoch;
    if ((ver >= 1 || epoch > 0 || epoch == -1) && rq->member_id.len <= 0)
        return "MemberId can't be empty.";
    if (rq->group_id.len <= 0)
        return "GroupId can't be empty.";
    if (rq->instance_id.len == 0)
        return "InstanceId can't be empty.";
    if (rq->rack_id.len == 0)
        return "RackId can't be empty.";
    if (epoch == 0) {
        if (rq->rebalance_timeout_ms == -1)
            return "RebalanceTimeoutMs must be provided in first request.";
        if (rq->n_topic_partitions != 0)
            return "TopicPartitions must be empty when (re-)joining.";
        if (rq->n_subscribed_topic_names < 0 && rq->subscribed_topic_regex.len < 0)
            return "Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when "
                   "(re-)joining.";
    } else if (epoch == -2 && rq->instance_id.len < 0) {
        return "InstanceId can't be null.";
    } else if (epoch < -2) {
        return "MemberEpoch is invalid.";
    }
    return NULL;
}

static bool
is_subset(const kwi_mtps *owned, const kwi_mtps *assigned)
{
    for (int32_t i = 0; owned && i < owned->n; i++)
        if (!kwi_mtps_has(assigned, &owned->v[i].topic, owned->v[i].part))
            return false;
    return owned != NULL;
}

static int16_t
check_epoch(const kwi_kmember *mem, int32_t epoch, const kwi_mtps *owned)
{
    if (epoch > mem->epoch)
        return KWI_E_FENCED_MEMBER_EPOCH;
    if (epoch < mem->epoch && (epoch != mem->prev_epoch || !is_subset(owned, &mem->assigned)))
        return KWI_E_FENCED_MEMBER_EPOCH;
    return KWI_E_NONE;
}

/* ---------------------------------------------------------------- updating a member */

/* The request's fields, copied first so that applying them cannot fail halfway. */
typedef struct km_update {
    kwi_gstr instance, rack, client, regex, assignor;
    kwi_gstr *topics;
    int32_t n_topics, cap_topics;
    bool set_instance, set_rack, set_regex, set_assignor, set_topics;
} km_update;

static void
update_fini(kw_mock *m, km_update *u)
{
    kwi_gstr_free(m, &u->instance);
    kwi_gstr_free(m, &u->rack);
    kwi_gstr_free(m, &u->client);
    kwi_gstr_free(m, &u->regex);
    kwi_gstr_free(m, &u->assignor);
    topics_free(m, u->topics, u->n_topics, u->cap_topics);
}

static int
gstr_cmp(const kwi_gstr *a, const kwi_gstr *b)
{
    int32_t n = a->len < b->len ? a->len : b->len;
    int c = n > 0 ? memcmp(a->p, b->p, (size_t)n) : 0;
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

static int
gstr_qcmp(const void *a, const void *b)
{
    return gstr_cmp(a, b);
}

static kw_err
copy_topics(kw_mock *m, const kw_consumer_group_heartbeat_req *rq, km_update *u)
{
    int32_t n = rq->n_subscribed_topic_names;
    u->topics = kwi_galloc(m, (size_t)n * sizeof(*u->topics));
    if (!u->topics)
        return KW_ERR_NOMEM;
    u->cap_topics = n;
    for (int32_t i = 0; i < n; i++) {
        kw_slice t = rq->subscribed_topic_names[i];
        u->topics[i].len = -1;
        if (kwi_gstr_set(m, &u->topics[i], t.len < 0 ? kw_slice_str("") : t))
            return KW_ERR_NOMEM;
        u->n_topics = i + 1;
    }
    /* Sorted and unique: the list comes off the wire, so no quadratic insertion. */
    qsort(u->topics, (size_t)n, sizeof(*u->topics), gstr_qcmp);
    int32_t o = 0;
    for (int32_t i = 0; i < n; i++) {
        if (o > 0 && gstr_cmp(&u->topics[o - 1], &u->topics[i]) == 0)
            kwi_gstr_free(m, &u->topics[i]);
        else
            u->topics[o++] = u->topics[i];
    }
    u->n_topics = o;
    return KW_ERR_OK;
}

static kw_err
update_prepare(kwi_mock_req *req, const kw_consumer_group_heartbeat_req *rq, km_update *u)
{
    kw_mock *m = req->m;
    memset(u, 0, sizeof(*u));
    u->instance.len = u->rack.len = u->client.len = u->regex.len = u->assignor.len = -1;
    u->set_instance = rq->instance_id.len >= 0;
    u->set_rack = rq->rack_id.len >= 0;
    u->set_regex = rq->subscribed_topic_regex.len >= 0;
    u->set_assignor = rq->server_assignor.len >= 0;
    u->set_topics = rq->n_subscribed_topic_names >= 0;
    kw_slice client = req->hdr.client_id.len >= 0 ? req->hdr.client_id : kw_slice_str("");
    if ((u->set_instance && kwi_gstr_set(m, &u->instance, rq->instance_id)) ||
        (u->set_rack && kwi_gstr_set(m, &u->rack, rq->rack_id)) ||
        kwi_gstr_set(m, &u->client, client) ||
        /* "" clears the regex */
        (u->set_regex && rq->subscribed_topic_regex.len > 0 &&
         kwi_gstr_set(m, &u->regex, rq->subscribed_topic_regex)) ||
        (u->set_assignor && kwi_gstr_set(m, &u->assignor, rq->server_assignor)) ||
        (u->set_topics && copy_topics(m, rq, u))) {
        update_fini(m, u);
        return KW_ERR_NOMEM;
    }
    return KW_ERR_OK;
}

static bool
same_topics(const kwi_kmember *mem, const km_update *u)
{
    if (mem->n_topics != u->n_topics)
        return false;
    for (int32_t i = 0; i < u->n_topics; i++)
        if (gstr_cmp(&mem->topics[i], &u->topics[i]) != 0)
            return false;
    return true;
}

static void
swap_str(kwi_gstr *a, kwi_gstr *b)
{
    kwi_gstr t = *a;
    *a = *b;
    *b = t;
}

/* Applies the update (moving its strings in); returns whether the subscription changed. */
static bool
update_apply(kwi_kmember *mem, km_update *u, int32_t rebalance_timeout_ms)
{
    bool changed = false;
    if (u->set_instance)
        swap_str(&mem->instance_id, &u->instance);
    if (u->set_rack)
        swap_str(&mem->rack_id, &u->rack);
    swap_str(&mem->client_id, &u->client);
    if (u->set_assignor)
        swap_str(&mem->assignor, &u->assignor);
    if (u->set_regex) {
        changed |=
            !(mem->regex.p ? kwi_gstr_eq(&mem->regex, kwi_gstr_slice(&u->regex)) : !u->regex.p);
        swap_str(&mem->regex, &u->regex);
    }
    if (u->set_topics) {
        changed |= !same_topics(mem, u);
        kwi_gstr *t = mem->topics;
        int32_t n = mem->n_topics, cap = mem->cap_topics;
        mem->topics = u->topics;
        mem->n_topics = u->n_topics;
        mem->cap_topics = u->cap_topics;
        u->topics = t;
        u->n_topics = n;
        u->cap_topics = cap;
    }
    if (rebalance_timeout_ms >= 0)
        mem->rebalance_timeout_ms = rebalance_timeout_ms;
    return changed;
}

/* ---------------------------------------------------------------- joining */

/* Kafka's generated member ids (v0, MemberId ""): Uuid.randomUuid().toString(), 22 characters
 * of URL-safe base64. */
static kw_err
gen_uuid_id(kw_mock *m, kwi_gstr *out)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t u[16];
    kwi_mock_random(u, sizeof(u));
    char s[23];
    uint32_t acc = 0;
    int bits = 0, o = 0;
    for (int i = 0; i < 16; i++) {
        acc = (acc << 8) | u[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            s[o++] = b64[(acc >> bits) & 63];
        }
    }
    s[o++] = b64[(acc << (6 - bits)) & 63];
    s[o] = '\0';
    return kwi_gstr_set(m, out, kw_slice_str(s));
}

/* A member rejoining at epoch 0 under an id the group holds: it dropped its partitions. */
static void
restart(kwi_kmember *mem)
{
    kw_mock *m = mem->g->gm->m;
    kwi_mtps_fini(m, &mem->assigned);
    kwi_mtps_fini(m, &mem->revoking);
    mem->state = KWI_KM_STABLE;
    mem->epoch = mem->prev_epoch = 0;
    kwi_reactor_timer_stop(mem->rebalance);
}

/* A static member takes over from the one that left with epoch -2: its assignment, target
 * and subscription carry over, so nothing is reassigned (KIP-848 static membership). */
static kwi_kmember *
replace_static(kwi_grp *g, kwi_kmember *old, kw_slice member_id)
{
    kw_mock *m = g->gm->m;
    kwi_kmember *mem = km_new(g, member_id);
    if (!mem)
        return NULL;
    kwi_mtps a = {NULL, 0, 0}, t = {NULL, 0, 0};
    kwi_gstr *topics = kwi_galloc(m, (size_t)old->n_topics * sizeof(*topics));
    kw_err e = topics ? kwi_mtps_copy(m, &a, &old->assigned) : KW_ERR_NOMEM;
    if (!e)
        e = kwi_mtps_copy(m, &t, &old->target);
    for (int32_t i = 0; !e && i < old->n_topics; i++) {
        topics[i].len = -1;
        e = kwi_gstr_set(m, &topics[i], kwi_gstr_slice(&old->topics[i]));
    }
    kwi_gstr rx = {NULL, -1};
    if (!e)
        e = kwi_gstr_set(m, &rx, kwi_gstr_slice(&old->regex));
    if (e) {
        kwi_mtps_fini(m, &a);
        kwi_mtps_fini(m, &t);
        if (topics)
            topics_free(m, topics, old->n_topics, old->n_topics);
        km_unlink(g, mem);
        kwi_km_free(mem);
        return NULL;
    }
    kwi_mock_logf(m, KW_MOCK_LOG_INFO, "group %s: static member %s replaces %s (instance %s)",
                  g->id.p, mem->id.p, old->id.p, old->instance_id.p);
    mem->assigned = a;
    mem->target = t;
    mem->topics = topics;
    mem->n_topics = mem->cap_topics = old->n_topics;
    mem->regex = rx;
    mem->rebalance_timeout_ms = old->rebalance_timeout_ms;
    km_unlink(g, old);
    kwi_km_free(old);
    return mem;
}

/* Finds or creates the member a heartbeat (epoch >= 0) is for; *err set when refused. */
static kwi_kmember *
member_for(kwi_mock_req *req, int16_t ver, kwi_grp *g, const kw_consumer_group_heartbeat_req *rq,
           const kwi_mtps *owned, int16_t *err)
{
    kw_slice id = rq->member_id;
    kwi_gstr gen = {NULL, -1};
    *err = KWI_E_NONE;
    if (rq->member_epoch == 0 && id.len <= 0 && ver == 0) {
        if (gen_uuid_id(req->m, &gen))
            return NULL;
        id = kwi_gstr_slice(&gen);
    }
    kwi_kmember *mem = NULL;
    kwi_kmember *st = km_find_static(g, rq->instance_id);
    if (rq->member_epoch != 0) {
        mem = rq->instance_id.len >= 0 ? st : km_find(g, id);
        if (!mem)
            *err = KWI_E_UNKNOWN_MEMBER_ID;
        else if (rq->instance_id.len >= 0 && !kwi_gstr_eq(&st->id, id))
            *err = KWI_E_FENCED_INSTANCE_ID;
        else
            *err = check_epoch(mem, rq->member_epoch, owned);
        return *err ? NULL : mem;
    }
    mem = km_find(g, id);
    if (!mem && g->n_km >= g->gm->conf.max_size)
        *err = KWI_E_GROUP_MAX_SIZE_REACHED;
    else if (st && st != mem && st->epoch != -2)
        *err = KWI_E_UNRELEASED_INSTANCE_ID; /* the holder is still active */
    else if (st && st != mem)
        mem = replace_static(g, st, id);
    else if (mem && mem->epoch == -2)
        mem->epoch = mem->prev_epoch = 0; /* back from a temporary leave: it kept its partitions */
    else if (mem)
        restart(mem);
    else
        mem = km_new(g, id);
    kwi_gstr_free(req->m, &gen);
    return *err ? NULL : mem;
}

/* ---------------------------------------------------------------- the heartbeat */

static kw_err
leave(kwi_mock_req *req, kwi_grp *g, const kw_consumer_group_heartbeat_req *rq)
{
    kwi_kmember *mem;
    if (rq->instance_id.len < 0) {
        mem = km_find(g, rq->member_id);
        if (!mem)
            return hb_error(req, KWI_E_UNKNOWN_MEMBER_ID, NULL);
    } else {
        mem = km_find_static(g, rq->instance_id);
        if (!mem)
            return hb_error(req, KWI_E_UNKNOWN_MEMBER_ID, "unknown instance id");
        if (!kwi_gstr_eq(&mem->id, rq->member_id))
            return hb_error(req, KWI_E_FENCED_INSTANCE_ID, NULL);
    }
    kw_consumer_group_heartbeat_resp r;
    memset(&r, 0, sizeof(r));
    r.error_message = KW_SLICE_NULL;
    r.member_id = rq->member_id;
    r.member_epoch = rq->member_epoch;
    if (rq->member_epoch == -2) {
        /* A static member's temporary leave: it keeps its assignment until its session ends
         * or its instance rejoins; what it was revoking is free now. */
        kwi_mock_logf(req->m, KW_MOCK_LOG_INFO, "group %s: static member %s leaves temporarily",
                      g->id.p, mem->id.p);
        mem->epoch = -2;
        kwi_mtps_fini(req->m, &mem->revoking);
        kwi_reactor_timer_stop(mem->rebalance);
    } else {
        fence(mem, "leave heartbeat");
    }
    return kwi_mock_reply(req, &r);
}

/* The group a heartbeat is for: found, created, or converted from an empty classic group. */
static kwi_grp *
group_for(kwi_mock_req *req, const kw_consumer_group_heartbeat_req *rq, int16_t *err,
          const char **msg)
{
    kwi_gmod *gm = kwi_gmod_get(req->m);
    kwi_grp *g = kwi_grp_find(gm, rq->group_id);
    *err = KWI_E_NONE;
    if (g && g->type == KWI_GRP_CLASSIC) {
        /* Empty (members that only got MEMBER_ID_REQUIRED do not count): converted. */
        if (rq->member_epoch == 0 && g->state == KWI_CG_EMPTY && g->n_cm == 0) {
            kwi_grp_convert(g, KWI_GRP_CONSUMER);
            return g;
        }
        *err = KWI_E_GROUP_ID_NOT_FOUND;
        *msg = rq->member_epoch == 0
                   ? "Cannot upgrade a non-empty classic group to a consumer group."
                   : "The group is not a consumer group.";
        return NULL;
    }
    if (!g && rq->member_epoch != 0) {
        *err = KWI_E_GROUP_ID_NOT_FOUND;
        *msg = "Consumer group not found.";
        return NULL;
    }
    if (!g)
        g = kwi_grp_create(gm, rq->group_id, KWI_GRP_CONSUMER);
    return g;
}

static kw_err
answer(kwi_mock_req *req, const kwi_kmember *mem, bool full, bool changed)
{
    kw_consumer_group_heartbeat_resp r;
    memset(&r, 0, sizeof(r));
    r.error_message = KW_SLICE_NULL;
    r.member_id = kwi_gstr_slice(&mem->id);
    r.member_epoch = mem->epoch;
    r.heartbeat_interval_ms = mem->g->gm->conf.consumer_heartbeat_interval_ms;
    if (full || changed) {
        r.has_assignment = true;
        if (kwi_mtps_to_resp(req, &mem->assigned, &r.assignment.topic_partitions,
                             &r.assignment.n_topic_partitions))
            return KW_ERR_NOMEM;
    }
    return kwi_mock_reply(req, &r);
}

static kw_err
beat(kwi_mock_req *req, int16_t ver, kwi_grp *g, const kw_consumer_group_heartbeat_req *rq,
     const kwi_mtps *owned)
{
    km_update u;
    if (update_prepare(req, rq, &u))
        return KW_ERR_NOMEM;
    int16_t err;
    kwi_kmember *mem = member_for(req, ver, g, rq, owned, &err);
    if (!mem) {
        update_fini(req->m, &u);
        return err ? hb_error(req, err, NULL) : KW_ERR_NOMEM;
    }
    kwi_mtps before = {NULL, 0, 0};
    kw_err e = kwi_mtps_copy(req->m, &before, &mem->assigned);
    bool bump = g->epoch == 0;
    if (!e)
        bump |= update_apply(mem, &u, rq->rebalance_timeout_ms);
    update_fini(req->m, &u);
    bool meta_changed = false;
    if (!e)
        e = kwi_kg_refresh_subscriptions(g, &meta_changed);
    if (!e && (bump || meta_changed))
        g->epoch++;
    if (!e && g->epoch > g->assignment_epoch)
        e = kwi_kg_compute_targets(g);
    if (!e && mem->epoch != -2)
        e = kwi_km_reconcile(mem, owned);
    kwi_reactor_timer_start(mem->session, g->gm->conf.consumer_session_timeout_ms);
    /* Kafka's "full" request: a (re)join, or every field a full heartbeat carries. */
    bool full = rq->member_epoch == 0 ||
                (rq->rebalance_timeout_ms != -1 &&
                 (rq->n_subscribed_topic_names >= 0 || rq->subscribed_topic_regex.len >= 0) &&
                 rq->n_topic_partitions >= 0);
    bool changed = !kwi_mtps_equal(&before, &mem->assigned);
    kwi_mtps_fini(req->m, &before);
    if (e)
        return e;
    return answer(req, mem, full, changed);
}

static kw_err
consumer_group_heartbeat(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_consumer_group_heartbeat_req *rq = msg;
    /* Validation comes before routing, as in GroupCoordinatorService. */
    const char *why = invalid_request(ver, rq);
    if (why)
        return hb_error(req, KWI_E_INVALID_REQUEST, why);
    if (rq->server_assignor.len >= 0 && !kwi_assign_sv_find(rq->server_assignor))
        return hb_error(req, KWI_E_UNSUPPORTED_ASSIGNOR,
                        "Supported server assignors: uniform, range.");
    if (!kwi_grp_here(req, rq->group_id))
        return hb_error(req, KWI_E_NOT_COORDINATOR, NULL);
    if (rq->subscribed_topic_regex.len > 0 && !kwi_regex_valid(req->m, rq->subscribed_topic_regex))
        return hb_error(req, KWI_E_INVALID_REGULAR_EXPRESSION, "Invalid regular expression.");
    int16_t err;
    const char *gmsg = NULL;
    if (rq->member_epoch < 0) {
        kwi_grp *g = kwi_grp_find(kwi_gmod_get(req->m), rq->group_id);
        if (!g || g->type != KWI_GRP_CONSUMER)
            return hb_error(req, KWI_E_GROUP_ID_NOT_FOUND, "Consumer group not found.");
        return leave(req, g, rq);
    }
    kwi_grp *g = group_for(req, rq, &err, &gmsg);
    if (!g)
        return err ? hb_error(req, err, gmsg) : KW_ERR_NOMEM;
    kw_mock *m = req->m; /* answering may free req */
    kwi_mtps owned = {NULL, 0, 0};
    bool has_owned = rq->n_topic_partitions >= 0;
    if (has_owned && kwi_mtps_from_req(m, &owned, rq->topic_partitions, rq->n_topic_partitions))
        return KW_ERR_NOMEM;
    kw_err e = beat(req, ver, g, rq, has_owned ? &owned : NULL);
    kwi_mtps_fini(m, &owned);
    return e;
}

kw_err
kwi_mock_group_consumer_register(kw_mock *m)
{
    return kwi_mock_api_register(m, &kw_msg_consumer_group_heartbeat_req, -1, -1,
                                 consumer_group_heartbeat, kwi_gmod_get(m));
}
