/* The member's outputs: the event queue (rebalance callbacks and notices), the request queue
 * (each request with its own arena, so a handed-out body stays valid while the machine moves
 * on), the commits and offset fetches in flight, and the gate that holds a JoinGroup / KIP-848
 * acknowledgement / leave back while the application may still be committing.
 *
 * Allocation failures set m->nomem (sticky); the input call that caused them ends in FATAL
 * (member.c), so callers here do not check every step. */
#include <string.h>

#include "group/member_int.h"

/* ---------------------------------------------------------------- requests */

static void drop_queued(kwi_member *m, uint64_t seq);
static void release_handed_event(kwi_member *m);

req_node *
kwi_member_req_new(kwi_member *m, req_kind kind, const kw_msgdef *def, size_t body_size)
{
    req_node *r = m->a->alloc(m->a->ud, sizeof(*r));
    if (!r) {
        m->nomem = true;
        return NULL;
    }
    memset(r, 0, sizeof(*r));
    kw_arena_init(&r->arena, m->a, 0);
    void *body = kw_arena_alloc(&r->arena, body_size);
    if (!body) {
        kw_arena_fini(&r->arena);
        m->a->free(m->a->ud, r, sizeof(*r));
        m->nomem = true;
        return NULL;
    }
    r->kind = kind;
    r->coord = kind != RK_FIND;
    r->out.seq = ++m->next_seq;
    r->out.api_key = def->api_key;
    r->out.def = def;
    r->out.min_version = def->min_ver;
    r->out.timeout_ms = m->cfg.request_timeout_ms;
    r->out.node_id = -1;
    r->out.host = KW_SLICE_NULL;
    r->out.body = body;
    return r;
}

void
kwi_member_req_drop(kwi_member *m, req_node *r)
{
    if (!r)
        return;
    kw_arena_fini(&r->arena);
    m->a->free(m->a->ud, r, sizeof(*r));
}

void
kwi_member_req_push(kwi_member *m, req_node *r)
{
    r->next = NULL;
    if (m->rq_tail)
        m->rq_tail->next = r;
    else
        m->rq_head = r;
    m->rq_tail = r;
}

/* The coordinator moved or vanished: protocol requests not yet handed out are dropped (the
 * protocol re-creates what it still needs once the coordinator is known again), while queued
 * commits and offset fetches stay queued for the new coordinator, in order. */
void
kwi_member_purge_coordinator_requests(kwi_member *m)
{
    req_node **pp = &m->rq_head;
    m->rq_tail = NULL;
    while (*pp) {
        req_node *r = *pp;
        if (r->coord && r->kind != RK_COMMIT && r->kind != RK_FETCH) {
            *pp = r->next;
            kwi_member_req_drop(m, r);
        } else {
            m->rq_tail = r;
            pp = &r->next;
        }
    }
}

kw_slice
kwi_member_arena_bytes(kwi_member *m, req_node *r, kw_slice s)
{
    if (s.len < 0)
        return KW_SLICE_NULL;
    uint8_t *p = kw_arena_alloc(&r->arena, (size_t)s.len + 1);
    if (!p) {
        m->nomem = true;
        return KW_SLICE_NULL;
    }
    if (s.len)
        memcpy(p, s.ptr, (size_t)s.len);
    return (kw_slice){p, s.len};
}

kw_slice
kwi_member_arena_str(kwi_member *m, req_node *r, const char *s)
{
    return s ? kwi_member_arena_bytes(m, r, kw_slice_str(s)) : KW_SLICE_NULL;
}

/* Requests for the coordinator wait while it is unknown; the others (FindCoordinator) may pass
 * them. Among themselves coordinator requests keep their order. The destination is stamped
 * here, so a request queued before a coordinator move goes to the new one. */
bool
kwi_member_next_request(kwi_member *m, kwi_member_request *out)
{
    release_handed_event(m);
    if (m->rq_handed) {
        kwi_member_req_drop(m, m->rq_handed);
        m->rq_handed = NULL;
    }
    req_node **pp = &m->rq_head, *prev = NULL;
    while (*pp && (*pp)->coord && m->cstate != COORD_KNOWN) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    req_node *r = *pp;
    if (!r)
        return false;
    if (r->coord) {
        r->out.node_id = m->coord_id;
        r->out.host = kwi_member_arena_str(m, r, m->coord_host);
        r->out.port = m->coord_port;
        if (r->kind == RK_COMMIT || r->kind == RK_FETCH) {
            pending_op *op = kwi_member_op_find(m, r->out.seq);
            if (op)
                op->sent = true;
        }
    }
    *pp = r->next;
    if (m->rq_tail == r)
        m->rq_tail = prev;
    m->rq_handed = r;
    *out = r->out;
    return true;
}

/* ---------------------------------------------------------------- events */

static bool
is_hold(kwi_member_ev_type t)
{
    return t == KWI_MEMBER_EV_REVOKED || t == KWI_MEMBER_EV_COMMIT_POINT;
}

static void ev_free(kwi_member *m, ev_node *e);

static ev_node *
ev_alloc(kwi_member *m, kwi_member_ev_type type)
{
    ev_node *e = m->a->alloc(m->a->ud, sizeof(*e));
    if (!e) {
        m->nomem = true;
        return NULL;
    }
    memset(e, 0, sizeof(*e));
    kwi_tpset_init(&e->parts, m->a);
    kw_error_init(&e->ev.err);
    e->ev.type = type;
    e->ev.generation = m->generation;
    e->ev.parts = &e->parts;
    return e;
}

static void
ev_link(kwi_member *m, ev_node *e)
{
    kwi_member_ev_type type = e->ev.type;
    if (m->eq_tail)
        m->eq_tail->next = e;
    else
        m->eq_head = e;
    m->eq_tail = e;
    if (is_hold(type))
        m->holds++;
}

ev_node *
kwi_member_emit(kwi_member *m, kwi_member_ev_type type)
{
    ev_node *e = ev_alloc(m, type);
    if (e)
        ev_link(m, e);
    return e;
}

/* The event is queued only with its whole partition set: a partial ASSIGNED or REVOKED would
 * misinform the application (the member turns FATAL on the failed allocation instead). */
void
kwi_member_emit_parts(kwi_member *m, kwi_member_ev_type type, const kwi_tpset *parts)
{
    ev_node *e = ev_alloc(m, type);
    if (!e)
        return;
    if (parts && kwi_tpset_copy(&e->parts, parts)) {
        ev_free(m, e);
        m->nomem = true;
        return;
    }
    ev_link(m, e);
}

void
kwi_member_emit_error(kwi_member *m, kw_err code, int16_t broker_code, bool fatal, const char *what)
{
    ev_node *e = kwi_member_emit(m, KWI_MEMBER_EV_ERROR);
    if (!e)
        return;
    kw_error_set(&e->ev.err, code, "group %s: %s%s%s", m->cfg.group_id, what,
                 code == KW_ERR_BROKER ? ": " : "",
                 code == KW_ERR_BROKER ? kw_broker_err_name(broker_code) : "");
    e->ev.err.broker_code = broker_code;
    e->ev.err.fatal = fatal;
    e->ev.err.retriable = !fatal && (code == KW_ERR_BROKER ? kw_broker_err_retriable(broker_code)
                                                           : kw_err_retriable(code));
}

void
kwi_member_emit_need_metadata(kwi_member *m, const kw_slice *names, size_t n_names,
                              const kw_uuid *ids, size_t n_ids)
{
    if (n_names == 0 && n_ids == 0)
        return;
    ev_node *e = kwi_member_emit(m, KWI_MEMBER_EV_NEED_METADATA);
    if (!e)
        return;
    if (n_names) {
        e->topics = m->a->alloc(m->a->ud, n_names * sizeof(char *));
        if (!e->topics) {
            m->nomem = true;
            return;
        }
        e->cap_topics = (int32_t)n_names;
        for (size_t i = 0; i < n_names; i++) {
            e->topics[i] = m->a->alloc(m->a->ud, (size_t)names[i].len + 1);
            if (!e->topics[i]) {
                m->nomem = true;
                return;
            }
            memcpy(e->topics[i], names[i].ptr, (size_t)names[i].len);
            e->topics[i][names[i].len] = '\0';
            e->n_topics++;
        }
    }
    if (n_ids) {
        e->ids = m->a->alloc(m->a->ud, n_ids * sizeof(kw_uuid));
        if (!e->ids) {
            m->nomem = true;
            return;
        }
        memcpy(e->ids, ids, n_ids * sizeof(kw_uuid));
        e->n_ids = (int32_t)n_ids;
    }
    e->ev.topics = (const char *const *)e->topics;
    e->ev.n_topics = e->n_topics;
    e->ev.topic_ids = e->ids;
    e->ev.n_topic_ids = e->n_ids;
}

static void
ev_free(kwi_member *m, ev_node *e)
{
    if (!e)
        return;
    kwi_tpset_fini(&e->parts);
    if (e->topics) {
        for (int32_t i = 0; i < e->n_topics; i++)
            m->a->free(m->a->ud, e->topics[i], strlen(e->topics[i]) + 1);
        m->a->free(m->a->ud, e->topics, (size_t)e->cap_topics * sizeof(char *));
    }
    if (e->ids)
        m->a->free(m->a->ud, e->ids, (size_t)e->n_ids * sizeof(kw_uuid));
    m->a->free(m->a->ud, e, sizeof(*e));
}

/* The event handed out last is released when the caller comes back for the next event or
 * for a request: by then its callback has returned (callbacks run synchronously on the
 * caller's thread), so whatever it committed is queued. Only then does its hold on the gate
 * end: releasing at hand-out would let a JoinGroup overtake the commit the callback is about
 * to make. */
static void
release_handed_event(kwi_member *m)
{
    ev_node *e = m->eq_handed;
    if (!e)
        return;
    m->eq_handed = NULL;
    bool hold = is_hold(e->ev.type);
    ev_free(m, e);
    if (hold) {
        m->holds--;
        kwi_member_after_drain(m);
    }
}

bool
kwi_member_next_event(kwi_member *m, kwi_member_event *out)
{
    release_handed_event(m);
    ev_node *e = m->eq_head;
    if (!e) {
        if (!m->fatal_pending)
            return false;
        /* The fatal error lives in the structure: reporting out-of-memory needs no memory. */
        static const kwi_tpset empty;
        memset(out, 0, sizeof(*out));
        out->type = KWI_MEMBER_EV_ERROR;
        out->parts = &empty;
        out->generation = m->generation;
        out->err = m->fatal_err;
        m->fatal_pending = false;
        return true;
    }
    m->eq_head = e->next;
    if (!m->eq_head)
        m->eq_tail = NULL;
    m->eq_handed = e;
    *out = e->ev;
    return true;
}

/* ---------------------------------------------------------------- commits and fetches */

void
kwi_member_op_add(kwi_member *m, uint64_t seq, req_kind kind)
{
    if (m->n_ops == m->cap_ops) {
        size_t ncap = m->cap_ops ? m->cap_ops * 2 : 4;
        pending_op *n =
            m->ops ? m->a->realloc(m->a->ud, m->ops, m->cap_ops * sizeof(*n), ncap * sizeof(*n))
                   : m->a->alloc(m->a->ud, ncap * sizeof(*n));
        if (!n) {
            m->nomem = true;
            return;
        }
        m->ops = n;
        m->cap_ops = ncap;
    }
    m->ops[m->n_ops++] = (pending_op){seq, kind, false, m->generation};
}

pending_op *
kwi_member_op_find(kwi_member *m, uint64_t seq)
{
    for (size_t i = 0; i < m->n_ops; i++)
        if (m->ops[i].seq == seq)
            return &m->ops[i];
    return NULL;
}

void
kwi_member_op_remove(kwi_member *m, pending_op *op)
{
    size_t i = (size_t)(op - m->ops);
    memmove(&m->ops[i], &m->ops[i + 1], (m->n_ops - i - 1) * sizeof(*op));
    m->n_ops--;
}

/* Commits and fetches fail with `code`: those already handed out when `sent_only` (the
 * coordinator they went to is gone, so no answer is coming), else all of them (the member is
 * done). The application learns of each exactly once. Queued requests of failed ops are
 * dropped. */
void
kwi_member_fail_ops(kwi_member *m, bool sent_only, kw_err code, const char *what)
{
    size_t i = 0;
    while (i < m->n_ops) {
        pending_op op = m->ops[i];
        if (sent_only && !op.sent) {
            i++;
            continue;
        }
        kwi_member_op_remove(m, &m->ops[i]);
        if (!op.sent)
            drop_queued(m, op.seq);
        ev_node *e = kwi_member_emit(m, op.kind == RK_COMMIT ? KWI_MEMBER_EV_COMMIT_DONE
                                                             : KWI_MEMBER_EV_FETCH_DONE);
        if (!e)
            return;
        e->ev.seq = op.seq;
        e->ev.generation = op.generation;
        kw_error_set(&e->ev.err, code, "group %s: %s", m->cfg.group_id, what);
        e->ev.err.retriable = kw_err_retriable(code);
    }
}

static void
drop_queued(kwi_member *m, uint64_t seq)
{
    req_node **pp = &m->rq_head, *prev = NULL;
    while (*pp && (*pp)->out.seq != seq) {
        prev = *pp;
        pp = &(*pp)->next;
    }
    req_node *r = *pp;
    if (!r)
        return;
    *pp = r->next;
    if (m->rq_tail == r)
        m->rq_tail = prev;
    kwi_member_req_drop(m, r);
}

/* The gate: nothing the application might still commit from. Events that allow a commit
 * (REVOKED, COMMIT_POINT) must have been handed out (their callbacks ran, synchronously, before
 * the caller drains again), and every commit made so far must be answered. */
bool
kwi_member_gate_open(const kwi_member *m)
{
    if (m->holds > 0)
        return false;
    for (size_t i = 0; i < m->n_ops; i++)
        if (m->ops[i].kind == RK_COMMIT)
            return false;
    return true;
}

void
kwi_member_queues_fini(kwi_member *m)
{
    while (m->rq_head) {
        req_node *r = m->rq_head;
        m->rq_head = r->next;
        kwi_member_req_drop(m, r);
    }
    kwi_member_req_drop(m, m->rq_handed);
    while (m->eq_head) {
        ev_node *e = m->eq_head;
        m->eq_head = e->next;
        ev_free(m, e);
    }
    ev_free(m, m->eq_handed);
    if (m->ops)
        m->a->free(m->a->ud, m->ops, m->cap_ops * sizeof(*m->ops));
    m->rq_handed = NULL;
    m->eq_handed = NULL;
    m->ops = NULL;
}
