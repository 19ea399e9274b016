/* What both protocols share around the membership itself: finding the coordinator, committing
 * and fetching offsets through it, and the table of topic metadata the member knows.
 *
 * Coordinator discovery (GROUPS.md 1.1): FindCoordinator with KeyType 0 to any broker, Key for
 * v0-3 and CoordinatorKeys=[group] for v4+ (both are filled; the connection layer picks the
 * version). Any error but GROUP_AUTHORIZATION_FAILED is retried with exponential backoff.
 * "Coordinator lost" never touches the member id or generation. */
#include <stdlib.h>
#include <string.h>

#include "group/member_int.h"

/* ---------------------------------------------------------------- coordinator */

static bool
needs_coordinator(const kwi_member *m)
{
    if (m->n_ops)
        return true;
    switch (m->state) {
    case KWI_MEMBER_UNSUBSCRIBED:
    case KWI_MEMBER_STALE:
    case KWI_MEMBER_CLOSED:
    case KWI_MEMBER_FATAL:
        return false;
    case KWI_MEMBER_LEAVING:
        return !m->leave_sent;
    default:
        return true;
    }
}

int64_t
kwi_member_coord_deadline(const kwi_member *m)
{
    return m->cstate == COORD_UNKNOWN && needs_coordinator(m) ? m->coord_retry_at : KWI_NEVER;
}

void
kwi_member_coord_step(kwi_member *m)
{
    if (m->cstate != COORD_UNKNOWN || !needs_coordinator(m) || m->now < m->coord_retry_at)
        return;
    req_node *r = kwi_member_req_new(m, RK_FIND, &kw_msg_find_coordinator_req,
                                     sizeof(kw_find_coordinator_req));
    if (!r)
        return;
    kw_find_coordinator_req *q = (kw_find_coordinator_req *)r->out.body;
    q->key = kwi_member_arena_str(m, r, m->cfg.group_id);
    q->key_type = 0;
    q->coordinator_keys = kw_arena_alloc(&r->arena, sizeof(kw_slice));
    if (!q->coordinator_keys) {
        m->nomem = true;
        kwi_member_req_drop(m, r);
        return;
    }
    q->coordinator_keys[0] = q->key;
    q->n_coordinator_keys = 1;
    m->find_seq = r->out.seq;
    m->cstate = COORD_LOOKUP;
    kwi_member_req_push(m, r);
}

/* Everything in flight at the old coordinator is abandoned: protocol requests are re-created
 * by the protocol's step once the coordinator is known again (a SyncGroup is not: the member
 * rejoins, as Java does on NOT_COORDINATOR), queued commits wait for the new coordinator, and
 * commits already sent fail as retriable so the application can commit again. */
void
kwi_member_coord_lost(kwi_member *m, const char *why)
{
    if (m->cstate == COORD_KNOWN) {
        m->cstate = COORD_UNKNOWN;
        m->coord_id = -1;
        m->coord_retry_at = m->now; /* the first lookup goes at once; failures back off */
    }
    kwi_member_purge_coordinator_requests(m);
    m->join_seq = m->sync_seq = m->hb_seq = m->leave_seq = m->cghb_seq = 0;
    m->full_hb = true; /* KIP-848: a transport failure resets the heartbeat state */
    kwi_member_fail_ops(m, true, KW_ERR_IO, why);
}

void
kwi_member_coord_conn_lost(kwi_member *m, const char *why)
{
    bool known = m->cstate == COORD_KNOWN;
    kwi_member_coord_lost(m, why);
    if (!known)
        return;
    /* A coordinator whose connection fails soon after it was found (a broker that refuses
     * connections while FindCoordinator still names it) is looked up again after a backoff
     * that grows, as Java's per-node reconnect backoff does: at once, lookup, connect and
     * refusal would repeat in a tight loop for as long as the broker is down. */
    if (m->now - m->coord_found_at >= m->cfg.retry_backoff_max_ms) {
        m->coord_conn_fails = 0;
        return;
    }
    m->coord_retry_at = m->now + kwi_member_backoff(m, m->coord_conn_fails);
    if (m->coord_conn_fails < 30)
        m->coord_conn_fails++;
}

static void
coord_retry(kwi_member *m)
{
    m->cstate = COORD_UNKNOWN;
    m->coord_retry_at = m->now + kwi_member_backoff(m, m->coord_attempts);
    if (m->coord_attempts < 30)
        m->coord_attempts++;
}

void
kwi_member_coord_on_response(kwi_member *m, const kwi_member_resp *r)
{
    m->find_seq = 0;
    if (m->cstate != COORD_LOOKUP)
        return;
    if (r->err) {
        coord_retry(m);
        return;
    }
    const kw_find_coordinator_resp *resp = r->body;
    int16_t code = resp->error_code;
    int32_t node = resp->node_id, port = resp->port;
    kw_slice host = resp->host;
    if (r->version >= 4) {
        code = 15; /* COORDINATOR_NOT_AVAILABLE unless our key is answered */
        for (int32_t i = 0; i < resp->n_coordinators; i++) {
            const kw_find_coordinator_coordinator *c = &resp->coordinators[i];
            if (kw_slice_eq(c->key, m->cfg.group_id)) {
                code = c->error_code;
                node = c->node_id;
                host = c->host;
                port = c->port;
                break;
            }
        }
    }
    if (code == 0 && (node < 0 || host.len <= 0 || port <= 0 || port > 65535))
        code = 15; /* an answer no one can connect to */
    if (code == 30) {
        kwi_member_fail(m, KW_ERR_BROKER, code, "FindCoordinator");
        return;
    }
    if (code != 0) {
        coord_retry(m);
        return;
    }
    if (kwi_member_set_str(m, &m->coord_host, host))
        return;
    m->cstate = COORD_KNOWN;
    m->coord_id = node;
    m->coord_port = port;
    m->coord_attempts = 0;
    m->coord_found_at = m->now;
    /* Java restarts the session timer when it finds the coordinator. */
    if (m->t_session != KWI_NEVER)
        m->t_session = m->now + m->cfg.session_timeout_ms;
}

/* ---------------------------------------------------------------- commits */

static int
cmp_offset_ptr(const void *a, const void *b)
{
    const kwi_member_offset *x = *(const kwi_member_offset *const *)a;
    const kwi_member_offset *y = *(const kwi_member_offset *const *)b;
    int32_t n = x->topic.len < y->topic.len ? x->topic.len : y->topic.len;
    int c = n ? memcmp(x->topic.ptr, y->topic.ptr, (size_t)n) : 0;
    if (!c)
        c = (x->topic.len > y->topic.len) - (x->topic.len < y->topic.len);
    if (!c)
        c = (x->partition > y->partition) - (x->partition < y->partition);
    /* Equal partitions keep the caller's order, so the later offset wins below. */
    return c ? c : (x > y) - (x < y);
}

static bool
same_topic(const kwi_member_offset *a, const kwi_member_offset *b)
{
    return a->topic.len == b->topic.len &&
           !memcmp(a->topic.ptr, b->topic.ptr, (size_t)a->topic.len);
}

/* Fills the commit's topics from the sorted pointers; a partition listed twice is committed
 * once, with the offset given last. */
static void
commit_fill(kwi_member *m, req_node *r, kw_offset_commit_req *q, const kwi_member_offset **v,
            size_t n)
{
    int32_t nt = 0;
    for (size_t i = 0; i < n; i++)
        nt += i == 0 || !same_topic(v[i - 1], v[i]);
    q->topics = kw_arena_calloc(&r->arena, (size_t)nt, sizeof(*q->topics));
    if (!q->topics) {
        m->nomem = true;
        return;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && same_topic(v[i], v[j]))
            j++;
        kw_offset_commit_req_topic *t = &q->topics[q->n_topics++];
        t->name = kwi_member_arena_bytes(m, r, v[i]->topic);
        const md_entry *md = kwi_member_md_find(m, v[i]->topic);
        if (md)
            t->topic_id = md->id;
        t->partitions = kw_arena_calloc(&r->arena, j - i, sizeof(*t->partitions));
        if (!t->partitions) {
            m->nomem = true;
            return;
        }
        for (size_t k = i; k < j; k++) {
            if (k + 1 < j && v[k + 1]->partition == v[k]->partition)
                continue;
            kw_offset_commit_req_partition *p = &t->partitions[t->n_partitions++];
            p->partition_index = v[k]->partition;
            p->committed_offset = v[k]->offset;
            p->committed_leader_epoch = v[k]->leader_epoch;
            p->committed_metadata = kwi_member_arena_bytes(m, r, v[k]->metadata);
        }
        i = j;
    }
}

kw_err
kwi_member_commit(kwi_member *m, const kwi_member_offset *offsets, size_t n, uint64_t *seq_out)
{
    if (!offsets || n == 0 || n > INT32_MAX)
        return KW_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (offsets[i].offset < 0 || offsets[i].partition < 0 || offsets[i].topic.len <= 0 ||
            offsets[i].topic.len > INT16_MAX)
            return KW_ERR_INVALID_ARG;
    /* A member that never subscribed (manual assignment) commits as Kafka's "simple"
     * consumer group does: generation -1, an empty member id and no instance id, which the
     * coordinator accepts while the group has no members (Java's and librdkafka's commits
     * after assign()). */
    bool simple = m->state == KWI_MEMBER_UNSUBSCRIBED;
    if (!simple && !kwi_member_can_commit(m))
        return KW_ERR_STATE;
    const kwi_member_offset **v = m->a->alloc(m->a->ud, n * sizeof(*v));
    if (!v)
        return KW_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        v[i] = &offsets[i];
    qsort(v, n, sizeof(*v), cmp_offset_ptr);
    req_node *r =
        kwi_member_req_new(m, RK_COMMIT, &kw_msg_offset_commit_req, sizeof(kw_offset_commit_req));
    kw_err e = KW_ERR_NOMEM;
    if (r) {
        kw_offset_commit_req *q = (kw_offset_commit_req *)r->out.body;
        q->group_id = kwi_member_arena_str(m, r, m->cfg.group_id);
        q->generation_id_or_member_epoch = simple ? -1 : m->generation;
        q->member_id = kwi_member_arena_str(m, r, simple ? "" : m->member_id);
        q->group_instance_id =
            simple ? KW_SLICE_NULL : kwi_member_arena_str(m, r, m->cfg.group_instance_id);
        q->retention_time_ms = -1;
        commit_fill(m, r, q, v, n);
        /* KIP-848 members must use OffsetCommit v9+ (else UNSUPPORTED_VERSION); a static
         * classic member needs v7 for GroupInstanceId. A simple commit fits every version. */
        if (!simple && m->cfg.protocol == KWI_MEMBER_CONSUMER)
            r->out.min_version = 9;
        else if (!simple && m->cfg.group_instance_id)
            r->out.min_version = 7;
        if (!m->nomem) {
            kwi_member_op_add(m, r->out.seq, RK_COMMIT);
            if (!m->nomem) {
                if (seq_out)
                    *seq_out = r->out.seq;
                kwi_member_req_push(m, r);
                r = NULL;
                e = KW_ERR_OK;
            }
        }
        kwi_member_req_drop(m, r);
    }
    m->a->free(m->a->ud, v, n * sizeof(*v));
    /* A failed allocation here refuses this commit; it does not break the member. */
    m->nomem = false;
    if (e == KW_ERR_OK)
        kwi_member_coord_step(m);
    return e;
}

kw_err
kwi_member_fetch_offsets(kwi_member *m, const kwi_tpset *parts, uint64_t *seq_out)
{
    if (!parts || parts->n == 0)
        return KW_ERR_INVALID_ARG;
    if (m->state == KWI_MEMBER_CLOSED || m->state == KWI_MEMBER_FATAL)
        return KW_ERR_STATE;
    req_node *r =
        kwi_member_req_new(m, RK_FETCH, &kw_msg_offset_fetch_req, sizeof(kw_offset_fetch_req));
    if (!r) {
        m->nomem = false;
        return KW_ERR_NOMEM;
    }
    kw_offset_fetch_req *q = (kw_offset_fetch_req *)r->out.body;
    kw_offset_fetch_req_topic *topics =
        kw_arena_calloc(&r->arena, (size_t)parts->n, sizeof(*topics));
    kw_offset_fetch_req_group *g = kw_arena_calloc(&r->arena, 1, sizeof(*g));
    if (!topics || !g)
        m->nomem = true;
    for (int32_t i = 0; !m->nomem && i < parts->n; i++) {
        const kwi_tpset_topic *t = &parts->t[i];
        topics[i].name = kwi_member_arena_str(m, r, t->name);
        topics[i].topic_id = t->id;
        topics[i].partition_indexes = kw_arena_calloc(&r->arena, (size_t)t->n, sizeof(int32_t));
        if (!topics[i].partition_indexes) {
            m->nomem = true;
            break;
        }
        memcpy(topics[i].partition_indexes, t->parts, (size_t)t->n * sizeof(int32_t));
        topics[i].n_partition_indexes = t->n;
    }
    if (!m->nomem) {
        /* v1-7 single-group form and the v8+ Groups[] form, both filled. KIP-848 members name
         * themselves (v9) only while they hold an epoch; -1 / null means "not a member". */
        q->group_id = kwi_member_arena_str(m, r, m->cfg.group_id);
        q->topics = topics;
        q->n_topics = parts->n;
        q->require_stable = true;
        g->group_id = q->group_id;
        bool named = m->cfg.protocol == KWI_MEMBER_CONSUMER && m->generation > 0;
        g->member_id = named ? kwi_member_arena_str(m, r, m->member_id) : KW_SLICE_NULL;
        g->member_epoch = named ? m->generation : -1;
        g->topics = topics;
        g->n_topics = parts->n;
        q->groups = g;
        q->n_groups = 1;
        r->out.min_version = 1;
        kwi_member_op_add(m, r->out.seq, RK_FETCH);
    }
    if (m->nomem) {
        m->nomem = false;
        kwi_member_req_drop(m, r);
        return KW_ERR_NOMEM;
    }
    if (seq_out)
        *seq_out = r->out.seq;
    kwi_member_req_push(m, r);
    kwi_member_coord_step(m);
    return KW_ERR_OK;
}

/* The group-level error of an answer, else the first partition error. */
static int16_t
commit_error(const kw_offset_commit_resp *resp)
{
    for (int32_t i = 0; i < resp->n_topics; i++)
        for (int32_t j = 0; j < resp->topics[i].n_partitions; j++)
            if (resp->topics[i].partitions[j].error_code)
                return resp->topics[i].partitions[j].error_code;
    return 0;
}

static int16_t
fetch_error(const kw_offset_fetch_resp *resp, int16_t version)
{
    const kw_offset_fetch_resp_topic *topics = resp->topics;
    int32_t n = resp->n_topics;
    if (version >= 8) {
        if (resp->n_groups < 1)
            return -1; /* UNKNOWN_SERVER_ERROR: our group is not answered */
        if (resp->groups[0].error_code)
            return resp->groups[0].error_code;
        topics = resp->groups[0].topics;
        n = resp->groups[0].n_topics;
    } else if (resp->error_code) {
        return resp->error_code;
    }
    for (int32_t i = 0; i < n; i++)
        for (int32_t j = 0; j < topics[i].n_partitions; j++)
            if (topics[i].partitions[j].error_code)
                return topics[i].partitions[j].error_code;
    return 0;
}

/* What a commit's error says about the membership (GROUPS.md 1.7, 5.10). */
static void
commit_reaction(kwi_member *m, const pending_op *op, int16_t code)
{
    bool same_gen = op->generation == m->generation;
    switch (code) {
    case 15: /* COORDINATOR_NOT_AVAILABLE */
    case 16: /* NOT_COORDINATOR */
    case 7:  /* REQUEST_TIMED_OUT */
        kwi_member_coord_lost(m, "the coordinator moved");
        break;
    case 30: /* GROUP_AUTHORIZATION_FAILED */
        kwi_member_fail(m, KW_ERR_BROKER, code, "OffsetCommit");
        break;
    case 27: /* REBALANCE_IN_PROGRESS: rejoin, nothing reset */
        if (m->cfg.protocol == KWI_MEMBER_CLASSIC && m->state == KWI_MEMBER_STABLE) {
            m->rejoin_reason = "a commit found the group rebalancing";
            kwi_member_enter(m, KWI_MEMBER_PREPARING);
        }
        break;
    case 22: /* ILLEGAL_GENERATION */
    case 25: /* UNKNOWN_MEMBER_ID */
        if (m->cfg.protocol == KWI_MEMBER_CLASSIC && same_gen && m->generation >= 0) {
            kwi_member_reset_generation(m, code == 25);
            kwi_member_enter(m, KWI_MEMBER_JOINING);
        }
        break;
    case 82: /* FENCED_INSTANCE_ID */
        if (same_gen)
            kwi_member_fail(m, KW_ERR_BROKER, code, "OffsetCommit");
        break;
    case 113: /* STALE_MEMBER_EPOCH: heartbeat at once to learn the epoch (librdkafka) */
        if (m->cfg.protocol == KWI_MEMBER_CONSUMER)
            m->t_hb_due = m->now;
        break;
    default:
        break;
    }
}

void
kwi_member_op_on_response(kwi_member *m, pending_op *found, const kwi_member_resp *r)
{
    pending_op op = *found;
    kwi_member_op_remove(m, found);
    int16_t code = 0;
    if (!r->err)
        code = op.kind == RK_COMMIT ? commit_error(r->body) : fetch_error(r->body, r->version);
    ev_node *e = kwi_member_emit(m, op.kind == RK_COMMIT ? KWI_MEMBER_EV_COMMIT_DONE
                                                         : KWI_MEMBER_EV_FETCH_DONE);
    if (e) {
        e->ev.seq = op.seq;
        e->ev.generation = op.generation;
        if (r->err)
            kw_error_set(&e->ev.err, r->err, "group %s: %s failed: %s", m->cfg.group_id,
                         op.kind == RK_COMMIT ? "OffsetCommit" : "OffsetFetch", kw_err_str(r->err));
        else if (code)
            kw_error_set(&e->ev.err, KW_ERR_BROKER, "group %s: %s: %s", m->cfg.group_id,
                         op.kind == RK_COMMIT ? "OffsetCommit" : "OffsetFetch",
                         kw_broker_err_name(code));
        e->ev.err.broker_code = code;
        e->ev.err.retriable = r->err ? kw_err_retriable(r->err) : kw_broker_err_retriable(code);
    }
    if (r->err)
        kwi_member_coord_lost(m, "the coordinator connection failed");
    else if (op.kind == RK_COMMIT)
        commit_reaction(m, &op, code);
    else if (code == 15 || code == 16)
        kwi_member_coord_lost(m, "the coordinator moved");
    else if (code == 30)
        kwi_member_fail(m, KW_ERR_BROKER, code, "OffsetFetch");
}

/* ---------------------------------------------------------------- metadata table */

static int
md_cmp(const md_entry *e, kw_slice name)
{
    size_t bl = (size_t)name.len;
    size_t n = e->len < bl ? e->len : bl;
    int c = n ? memcmp(e->name, name.ptr, n) : 0;
    return c ? c : (e->len > bl) - (e->len < bl);
}

static size_t
md_lower(const kwi_member *m, kw_slice name)
{
    size_t lo = 0, hi = m->n_md;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (md_cmp(&m->md[mid], name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const md_entry *
kwi_member_md_find(const kwi_member *m, kw_slice name)
{
    if (name.len < 0)
        return NULL;
    size_t i = md_lower(m, name);
    return i < m->n_md && md_cmp(&m->md[i], name) == 0 ? &m->md[i] : NULL;
}

const md_entry *
kwi_member_md_find_id(const kwi_member *m, const kw_uuid *id)
{
    if (kwi_uuid_is_zero(id))
        return NULL;
    for (size_t i = 0; i < m->n_md; i++)
        if (m->md[i].partitions >= 0 && !memcmp(&m->md[i].id, id, sizeof(*id)))
            return &m->md[i];
    return NULL;
}

static kw_err
md_insert(kwi_member *m, size_t at, kw_slice name)
{
    if (m->n_md == m->cap_md) {
        size_t ncap = m->cap_md ? m->cap_md * 2 : 8;
        md_entry *n =
            m->md ? m->a->realloc(m->a->ud, m->md, m->cap_md * sizeof(*n), ncap * sizeof(*n))
                  : m->a->alloc(m->a->ud, ncap * sizeof(*n));
        if (!n)
            return KW_ERR_NOMEM;
        m->md = n;
        m->cap_md = ncap;
    }
    char *s = m->a->alloc(m->a->ud, (size_t)name.len + 1);
    if (!s)
        return KW_ERR_NOMEM;
    memcpy(s, name.ptr, (size_t)name.len);
    s[name.len] = '\0';
    memmove(&m->md[at + 1], &m->md[at], (m->n_md - at) * sizeof(*m->md));
    m->md[at] = (md_entry){s, (size_t)name.len, {{0}}, -1};
    m->n_md++;
    return KW_ERR_OK;
}

kw_err
kwi_member_md_merge(kwi_member *m, const kwi_member_topic_md *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (t[i].name.len <= 0 || t[i].name.len > INT16_MAX)
            return KW_ERR_INVALID_ARG;
        size_t at = md_lower(m, t[i].name);
        if (at == m->n_md || md_cmp(&m->md[at], t[i].name) != 0) {
            kw_err e = md_insert(m, at, t[i].name);
            if (e)
                return e;
        }
        md_entry *d = &m->md[at];
        d->partitions = t[i].partitions < 0 ? -1 : t[i].partitions;
        /* A topic that is gone loses its id: a re-created topic gets a new one. */
        if (!kwi_uuid_is_zero(&t[i].id) || t[i].partitions < 0)
            d->id = t[i].id;
    }
    return KW_ERR_OK;
}

void
kwi_member_md_fini(kwi_member *m)
{
    for (size_t i = 0; i < m->n_md; i++)
        m->a->free(m->a->ud, m->md[i].name, m->md[i].len + 1);
    if (m->md)
        m->a->free(m->a->ud, m->md, m->cap_md * sizeof(*m->md));
    m->md = NULL;
    m->n_md = m->cap_md = 0;
}
