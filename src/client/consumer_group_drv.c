/* The consumer-group driver: runs a kwi_member on the client's loop. See cgdrv.h for the
 * design (one coordinator connection, request memory held until encoded, metadata from the
 * cache). */
#include <string.h>

#include "client/cgdrv.h"
#include "util/conf_int.h"

/* One request handed to a connection. Allocated apart from the driver: a FindCoordinator may
 * still be on a broker connection when the driver is freed, so its callback finds g NULL. */
typedef struct cg_req cg_req;
struct cg_req {
    cg_req *next, *prev;
    kwi_cgdrv *g; /* NULL once the driver is gone */
    const kw_allocator *a;
    uint64_t seq;
    int16_t api_key;
    const kw_msgdef *def;
    const void *body; /* the member's memory, until encoded */
    uint64_t conn_gen;
    bool on_coord;
};

/* Metadata the member asked about or is subscribed to: names copied, NUL-terminated. */
typedef struct cg_name {
    char *s;
    size_t len;
} cg_name;

struct kwi_cgdrv {
    kw_client *c;
    const kw_allocator *a;
    kwi_member *m;
    kwi_cgdrv_hooks h;
    kwi_timer *t_member; /* the member's deadline */
    kwi_timer *t_kick;   /* zero delay: drain again after an asynchronous encode or failure */
    kwi_timer *t_md;     /* metadata: waiting for a refresh, then every metadata.max.age.ms */

    kwi_conn *coord; /* the coordinator connection, or NULL */
    int32_t coord_node;
    char coord_host[256];
    int32_t coord_port;
    uint64_t conn_gen;   /* bumped whenever coord is dropped */
    uint64_t failed_gen; /* conn_gen of a coordinator connection that failed; 0 = none */

    cg_req *held; /* drained but not yet encoded: no further request may be drained */
    cg_req *reqs; /* every request whose callback has not fired */

    cg_name *names;
    size_t n_names, cap_names;
    kw_uuid *ids;
    size_t n_ids, cap_ids;
    bool md_pending;
    bool md_stuck;          /* md_ev could not be recorded: draining waits (need_metadata) */
    kwi_member_event md_ev; /* valid while md_stuck: the member keeps it until the next drain */
    int64_t md_since;
    int64_t md_period;
    int64_t md_backoff_ms; /* after a failed feed; 0 = none */
    int64_t retry_ms, retry_max_ms;

    bool running, again, halted;
    bool paused, paused_hold; /* see kwi_cgdrv_hooks.on_event */
    /* The leader's SyncGroup, drained and held back until a metadata refresh answered (see
     * run()); its body is the member's memory, valid until the next drain. */
    kwi_member_request sync;
    bool sync_held;
};

static void run(kwi_cgdrv *g);

/* ---------------------------------------------------------------- small helpers */

int64_t
kwi_cgdrv_now(const kwi_cgdrv *g)
{
    return kwi_reactor_now_ms(kwi_client_reactor(g->c));
}

kwi_member *
kwi_cgdrv_member(kwi_cgdrv *g)
{
    return g->m;
}

kw_client *
kwi_cgdrv_client(kwi_cgdrv *g)
{
    return g->c;
}

bool
kwi_cgdrv_halted(const kwi_cgdrv *g)
{
    return g->halted;
}

static void
req_unlink(kwi_cgdrv *g, cg_req *q)
{
    if (q->prev)
        q->prev->next = q->next;
    else if (g && g->reqs == q)
        g->reqs = q->next;
    if (q->next)
        q->next->prev = q->prev;
    q->next = q->prev = NULL;
}

static void
req_free(cg_req *q)
{
    q->a->free(q->a->ud, q, sizeof(*q));
}

/* Close the coordinator connection: its requests are abandoned (the member has already
 * forgotten them, or is being freed). Their CANCELED callbacks run inside kwi_conn_free and
 * see a stale conn_gen. */
static void
drop_coord(kwi_cgdrv *g)
{
    if (!g->coord)
        return;
    kwi_conn *conn = g->coord;
    g->coord = NULL;
    g->conn_gen++;
    kwi_conn_free(conn);
}

/* ---------------------------------------------------------------- sending */

static kw_err
encode_req(kw_wr *w, int16_t ver, void *ud)
{
    cg_req *q = ud;
    kwi_cgdrv *g = q->g;
    if (!g || !q->body)
        return KW_ERR_CANCELED; /* the driver is gone: the member's memory with it */
    kw_err e = kw_msg_encode(q->def, ver, w, q->body);
    q->body = NULL;
    if (g->held == q) {
        g->held = NULL;
        if (!g->running)
            kwi_reactor_timer_start(g->t_kick, 0);
    }
    return e;
}

static void
on_resp(kw_err err, const kw_error *detail, const kwi_resp *resp, void *ud)
{
    (void)detail;
    cg_req *q = ud;
    kwi_cgdrv *g = q->g;
    req_unlink(g, q);
    if (!g) {
        req_free(q);
        return;
    }
    if (g->held == q)
        g->held = NULL;
    bool stale = q->on_coord && q->conn_gen != g->conn_gen;
    if (g->halted || stale || err == KW_ERR_CANCELED) {
        req_free(q);
        if (!g->running && !g->halted)
            kwi_reactor_timer_start(g->t_kick, 0);
        return;
    }
    int64_t now = kwi_cgdrv_now(g);
    if (err == KW_ERR_OK && !resp->body)
        err = KW_ERR_MALFORMED;
    if (err == KW_ERR_OK && g->h.on_op_response &&
        (q->api_key == KWI_API_OFFSET_COMMIT || q->api_key == KWI_API_OFFSET_FETCH))
        g->h.on_op_response(g, q->seq, q->api_key, resp->ver, resp->body, g->h.ud);
    kwi_member_resp r = {q->seq, q->api_key, resp ? resp->ver : 0, err,
                         err == KW_ERR_OK ? resp->body : NULL};
    req_free(q);
    kwi_member_on_response(g->m, now, &r);
    run(g);
}

static void
on_coord_state(kwi_conn *conn, kwi_conn_state from, kwi_conn_state to, const kw_error *why,
               void *ud)
{
    (void)conn;
    (void)from;
    kwi_cgdrv *g = ud;
    /* A connection that fails (never connects, or breaks) means the coordinator is unknown
     * again (GROUPS.md 1.1: "mark coordinator unknown" on disconnect). Acted on from the kick
     * timer: this callback must not free the connection. */
    if (why && to == KWI_CONN_BACKOFF && g->coord) {
        g->failed_gen = g->conn_gen;
        kwi_reactor_timer_start(g->t_kick, 0);
    }
}

static kw_err
ensure_coord(kwi_cgdrv *g, const kwi_member_request *r)
{
    bool same = g->coord && g->coord_node == r->node_id && g->coord_port == r->port &&
                r->host.len >= 0 && strlen(g->coord_host) == (size_t)r->host.len &&
                memcmp(g->coord_host, r->host.ptr, (size_t)r->host.len) == 0;
    if (same)
        return KW_ERR_OK;
    drop_coord(g);
    if (r->host.len <= 0 || (size_t)r->host.len >= sizeof(g->coord_host) || r->port <= 0 ||
        r->port > 65535)
        return KW_ERR_INVALID_ARG;
    memcpy(g->coord_host, r->host.ptr, (size_t)r->host.len);
    g->coord_host[r->host.len] = '\0';
    g->coord_node = r->node_id;
    g->coord_port = r->port;
    kwi_conn_opts o = g->c->copts;
    o.node_id = r->node_id;
    o.host = g->coord_host;
    o.port = (uint16_t)r->port;
    o.on_state = on_coord_state;
    o.ud = g;
    o.seed ^= (uint64_t)(uint32_t)r->node_id * 0xD1B54A32D192ED03ULL;
    return kwi_conn_new(&o, &g->coord);
}

/* Hand request r to a connection. On failure the member hears a transport error. */
static void
send_one(kwi_cgdrv *g, const kwi_member_request *r)
{
    cg_req *q = g->a->alloc(g->a->ud, sizeof(*q));
    kw_err e = q ? KW_ERR_OK : KW_ERR_NOMEM;
    kwi_conn *conn = NULL;
    if (q) {
        memset(q, 0, sizeof(*q));
        q->g = g;
        q->a = g->a;
        q->seq = r->seq;
        q->api_key = r->api_key;
        q->def = r->def;
        q->body = r->body;
        q->on_coord = r->node_id >= 0;
        if (q->on_coord) {
            e = ensure_coord(g, r);
            conn = g->coord;
            q->conn_gen = g->conn_gen;
        } else {
            kwi_broker *b = kwi_broker_least_loaded(g->c);
            if (!b) {
                /* No broker is ready: ask for one; the member backs off and retries. */
                kwi_broker_ensure_link(g->c);
                e = KW_ERR_IO;
            } else {
                conn = b->conn;
            }
        }
    }
    if (e == KW_ERR_OK) {
        kwi_req_opts o;
        kwi_req_opts_init(&o);
        o.timeout_ms = r->timeout_ms > 0 ? r->timeout_ms : 0;
        o.min_ver = r->min_version;
        /* OffsetCommit / OffsetFetch v10 name topics by id only and are unstable in Kafka
         * 4.1 (Java does not send them); the member fills names, so stay at v9. */
        if (r->api_key == KWI_API_OFFSET_COMMIT || r->api_key == KWI_API_OFFSET_FETCH)
            o.max_ver = 9;
        o.encode = encode_req;
        o.encode_ud = q;
        q->next = g->reqs;
        if (g->reqs)
            g->reqs->prev = q;
        g->reqs = q;
        if (q->body)
            g->held = q;
        e = kwi_conn_send(conn, r->api_key, NULL, &o, on_resp, q, NULL);
        if (e != KW_ERR_OK) {
            if (g->held == q)
                g->held = NULL;
            req_unlink(g, q);
        }
    }
    if (e != KW_ERR_OK) {
        if (q)
            req_free(q);
        kwi_member_resp resp = {r->seq, r->api_key, 0, e == KW_ERR_NOMEM ? KW_ERR_NOMEM : KW_ERR_IO,
                                NULL};
        kwi_member_on_response(g->m, kwi_cgdrv_now(g), &resp);
    }
}

/* ---------------------------------------------------------------- metadata */

static kw_err
name_add(kwi_cgdrv *g, const char *s, size_t len)
{
    for (size_t i = 0; i < g->n_names; i++)
        if (g->names[i].len == len && memcmp(g->names[i].s, s, len) == 0)
            return KW_ERR_OK;
    if (g->n_names == g->cap_names) {
        size_t cap = g->cap_names ? g->cap_names * 2 : 8;
        cg_name *v = g->a->alloc(g->a->ud, cap * sizeof(*v));
        if (!v)
            return KW_ERR_NOMEM;
        if (g->n_names)
            memcpy(v, g->names, g->n_names * sizeof(*v));
        if (g->names)
            g->a->free(g->a->ud, g->names, g->cap_names * sizeof(*v));
        g->names = v;
        g->cap_names = cap;
    }
    char *d = g->a->alloc(g->a->ud, len + 1);
    if (!d)
        return KW_ERR_NOMEM;
    memcpy(d, s, len);
    d[len] = '\0';
    g->names[g->n_names++] = (cg_name){d, len};
    return KW_ERR_OK;
}

static kw_err
id_add(kwi_cgdrv *g, const kw_uuid *id)
{
    for (size_t i = 0; i < g->n_ids; i++)
        if (memcmp(&g->ids[i], id, sizeof(*id)) == 0)
            return KW_ERR_OK;
    if (g->n_ids == g->cap_ids) {
        size_t cap = g->cap_ids ? g->cap_ids * 2 : 8;
        kw_uuid *v = g->a->alloc(g->a->ud, cap * sizeof(*v));
        if (!v)
            return KW_ERR_NOMEM;
        if (g->n_ids)
            memcpy(v, g->ids, g->n_ids * sizeof(*v));
        if (g->ids)
            g->a->free(g->a->ud, g->ids, g->cap_ids * sizeof(*v));
        g->ids = v;
        g->cap_ids = cap;
    }
    g->ids[g->n_ids++] = *id;
    return KW_ERR_OK;
}

static void
refresh_names(kwi_cgdrv *g)
{
    for (size_t i = 0; i < g->n_names; i++)
        kwi_client_refresh(g->c, (const char *const *)&g->names[i].s, &g->names[i].len, 1);
}

static kwi_md_topic *
find_id(kw_client *c, const kw_uuid *id)
{
    for (size_t i = 0; i < c->md.n_buckets; i++)
        for (kwi_md_topic *t = c->md.buckets[i]; t; t = t->next)
            if (memcmp(&t->id, id, sizeof(*id)) == 0)
                return t;
    return NULL;
}

/* Whether the cache has answered for every topic of interest since the refresh began. */
static bool
md_ready(kwi_cgdrv *g)
{
    for (size_t i = 0; i < g->n_names; i++) {
        kwi_md_topic *t = kwi_md_topic_find(g->c, g->names[i].s, g->names[i].len);
        if (!t || t->updated_ms < g->md_since)
            return false;
    }
    for (size_t i = 0; i < g->n_ids; i++)
        if (!find_id(g->c, &g->ids[i]))
            return false;
    return true;
}

/* Feeds the member what the cache knows of the topics of interest. KW_ERR_NOMEM when that
 * failed: the caller tries again after a backoff (the member may be waiting for it to assign
 * or reconcile, so waiting for the periodic refresh would stall the group). */
static kw_err
md_feed(kwi_cgdrv *g)
{
    for (size_t i = 0; i < g->n_ids; i++) {
        kwi_md_topic *t = find_id(g->c, &g->ids[i]);
        if (t && name_add(g, t->name, t->len) != KW_ERR_OK)
            return KW_ERR_NOMEM;
    }
    if (!g->n_names)
        return KW_ERR_OK;
    kwi_member_topic_md *v = g->a->alloc(g->a->ud, g->n_names * sizeof(*v));
    if (!v)
        return KW_ERR_NOMEM;
    size_t n = 0;
    for (size_t i = 0; i < g->n_names; i++) {
        kwi_md_topic *t = kwi_md_topic_find(g->c, g->names[i].s, g->names[i].len);
        if (!t || (t->n_parts == 0 && t->error != 3))
            continue; /* not known yet, or a transient error (LEADER_NOT_AVAILABLE ...) */
        v[n].name = (kw_slice){(const uint8_t *)t->name, (int32_t)t->len};
        v[n].id = t->id;
        v[n].partitions = t->n_parts > 0 ? t->n_parts : -1;
        n++;
    }
    kw_err e = n ? kwi_member_on_metadata(g->m, kwi_cgdrv_now(g), v, n) : KW_ERR_OK;
    g->a->free(g->a->ud, v, g->n_names * sizeof(*v));
    return e == KW_ERR_NOMEM ? KW_ERR_NOMEM : KW_ERR_OK;
}

/* The delay before feeding again after a failed allocation: retry.backoff.ms doubling up to
 * retry.backoff.max.ms. */
static int64_t
md_backoff(kwi_cgdrv *g)
{
    int64_t d = g->md_backoff_ms ? g->md_backoff_ms * 2 : g->retry_ms;
    g->md_backoff_ms = d < g->retry_max_ms ? d : g->retry_max_ms;
    return g->md_backoff_ms;
}

static void
on_md_timer(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_cgdrv *g = ud;
    if (g->halted)
        return;
    int64_t now = kwi_cgdrv_now(g);
    if (g->md_pending && !md_ready(g) && now - g->md_since < (g->sync_held ? 1000 : 10000)) {
        kwi_reactor_timer_start(g->t_md, 20);
        return;
    }
    if (!g->md_pending)
        refresh_names(g); /* the periodic pass: the leader notices partition changes */
    g->md_pending = false;
    if (md_feed(g) == KW_ERR_OK) {
        g->md_backoff_ms = 0;
        kwi_reactor_timer_start(g->t_md, g->md_period);
    } else {
        kwi_reactor_timer_start(g->t_md, md_backoff(g)); /* not the next periodic pass */
    }
    if (g->sync_held) {
        g->sync_held = false;
        send_one(g, &g->sync);
    }
    run(g);
}

/* Records the topics the member asks about and starts a refresh. When a name cannot be
 * recorded (out of memory) the event is kept (not drained: its memory stays valid) and the
 * driver stops draining until on_kick records it after a backoff: dropping it would leave the
 * member waiting for metadata it never gets. */
static void
need_metadata(kwi_cgdrv *g, const kwi_member_event *ev)
{
    bool failed = false;
    for (int32_t i = 0; i < ev->n_topics; i++)
        failed |= name_add(g, ev->topics[i], strlen(ev->topics[i])) != KW_ERR_OK;
    for (int32_t i = 0; i < ev->n_topic_ids; i++)
        failed |= id_add(g, &ev->topic_ids[i]) != KW_ERR_OK;
    g->md_stuck = failed;
    if (failed) {
        g->md_ev = *ev;
        kwi_reactor_timer_start(g->t_kick, md_backoff(g));
        return;
    }
    refresh_names(g);
    g->md_pending = true;
    g->md_since = kwi_cgdrv_now(g);
    kwi_reactor_timer_start(g->t_md, 5);
}

/* ---------------------------------------------------------------- the drain loop */

static void
arm_member_timer(kwi_cgdrv *g)
{
    int64_t d = kwi_member_next_deadline(g->m);
    if (d == INT64_MAX)
        kwi_reactor_timer_stop(g->t_member);
    else
        kwi_reactor_timer_start_at(g->t_member, d);
}

static void
run(kwi_cgdrv *g)
{
    if (g->halted)
        return;
    if (g->running) {
        g->again = true;
        return;
    }
    g->running = true;
    do {
        g->again = false;
        kwi_member_event ev;
        while (!g->halted && !g->paused && !g->md_stuck && kwi_member_next_event(g->m, &ev)) {
            if (ev.type == KWI_MEMBER_EV_NEED_METADATA) {
                need_metadata(g, &ev);
            } else if (g->h.on_event && g->h.on_event(g, &ev, g->h.ud)) {
                g->paused = true;
                g->paused_hold =
                    ev.type == KWI_MEMBER_EV_REVOKED || ev.type == KWI_MEMBER_EV_COMMIT_POINT;
            }
        }
        /* The member forgot the coordinator (moved, failed): abandon the old connection. */
        if (g->coord && kwi_member_coordinator(g->m) != g->coord_node)
            drop_coord(g);
        kwi_member_request r;
        while (!g->halted && !g->held && !g->sync_held && !(g->paused && g->paused_hold) &&
               !g->md_stuck && kwi_member_next_request(g->m, &r)) {
            if (r.api_key == KWI_API_SYNC_GROUP && kwi_member_is_leader(g->m)) {
                /* As librdkafka's leader: refresh the group's topics before the leader's
                 * SyncGroup goes out, and feed the answer to the member first (a change makes
                 * the leader rejoin at once). The round trip also lets the followers'
                 * SyncGroups arrive before the leader's, which librdkafka's mock cluster
                 * needs (it completes the sync on the leader's request and refuses later
                 * ones with INVALID_REQUEST). */
                g->sync = r;
                g->sync_held = true;
                refresh_names(g);
                g->md_pending = true;
                g->md_since = kwi_cgdrv_now(g);
                kwi_reactor_timer_start(g->t_md, 5);
                break;
            }
            send_one(g, &r);
            g->again = true; /* a failed send fed the member: events may be waiting */
        }
    } while (g->again && !g->halted);
    g->running = false;
    if (!g->halted)
        arm_member_timer(g);
    /* Called from an application thread (subscribe, commit, poll) while the kwire thread
     * sleeps: timers and requests changed under the lock; make it look again. */
    if (g->c->thread_on && g->c->in_step == 0)
        kw_client_wakeup(g->c);
}

void
kwi_cgdrv_run(kwi_cgdrv *g)
{
    run(g);
}

void
kwi_cgdrv_resume(kwi_cgdrv *g)
{
    g->paused = g->paused_hold = false;
    run(g);
}

bool
kwi_cgdrv_paused(const kwi_cgdrv *g)
{
    return g->paused;
}

bool
kwi_cgdrv_idle(const kwi_cgdrv *g)
{
    return !g->held &&
           (!g->coord || (kwi_conn_in_flight(g->coord) == 0 && kwi_conn_queued(g->coord) == 0));
}

static void
on_member_timer(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_cgdrv *g = ud;
    kwi_member_on_timer(g->m, kwi_cgdrv_now(g));
    run(g);
}

static void
on_kick(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kwi_cgdrv *g = ud;
    if (g->md_stuck)
        need_metadata(g, &g->md_ev);
    if (g->failed_gen && g->failed_gen == g->conn_gen && g->coord) {
        g->failed_gen = 0;
        kwi_member_on_coordinator_lost(g->m, kwi_cgdrv_now(g));
        drop_coord(g);
    }
    run(g);
}

/* ---------------------------------------------------------------- lifecycle */

kw_err
kwi_cgdrv_subscribe(kwi_cgdrv *g, const kw_slice *topics, size_t n)
{
    if (g->halted)
        return KW_ERR_STATE;
    for (size_t i = 0; i < n; i++)
        if (topics[i].len > 0 && name_add(g, (const char *)topics[i].ptr, (size_t)topics[i].len))
            return KW_ERR_NOMEM;
    kw_err e = kwi_member_subscribe(g->m, kwi_cgdrv_now(g), topics, n);
    if (e == KW_ERR_OK && n) {
        refresh_names(g);
        if (!kwi_reactor_timer_armed(g->t_md))
            kwi_reactor_timer_start(g->t_md, 0);
    }
    run(g);
    return e;
}

void
kwi_cgdrv_halt(kwi_cgdrv *g)
{
    g->halted = true;
    g->sync_held = false;
    kwi_reactor_timer_stop(g->t_member);
    kwi_reactor_timer_stop(g->t_kick);
    kwi_reactor_timer_stop(g->t_md);
    drop_coord(g);
}

kw_err
kwi_cgdrv_new(kw_client *c, const kwi_cgdrv_hooks *hooks, kwi_cgdrv **out, kw_error *err)
{
    *out = NULL;
    const kw_conf *conf = kwi_client_conf(c);
    kwi_member_cfg cfg;
    kw_err e = kwi_member_cfg_from_conf(&cfg, conf, err);
    if (e)
        return e;
    if (!cfg.group_id) {
        if (err)
            kw_error_set(err, KW_ERR_CONFIG, "group.id is required to subscribe");
        return KW_ERR_CONFIG;
    }
    kwi_cgdrv *g = kwi_client_alloc(c, sizeof(*g));
    if (!g)
        return KW_ERR_NOMEM;
    memset(g, 0, sizeof(*g));
    g->c = c;
    g->a = c->a;
    g->coord_node = -1;
    g->conn_gen = 1;
    if (hooks)
        g->h = *hooks;
    int64_t age = kwi_conf_int(conf, KWI_CONF_METADATA_MAX_AGE_MS);
    g->md_period = age > 0 && age < 300000 ? age : 300000;
    g->retry_ms = cfg.retry_backoff_ms > 0 ? cfg.retry_backoff_ms : 1;
    g->retry_max_ms =
        cfg.retry_backoff_max_ms > g->retry_ms ? cfg.retry_backoff_max_ms : g->retry_ms;
    kwi_reactor *r = kwi_client_reactor(c);
    e = kwi_member_new(&cfg, &g->m, err);
    if (!e && (kwi_reactor_timer_new(r, on_member_timer, g, &g->t_member) ||
               kwi_reactor_timer_new(r, on_kick, g, &g->t_kick) ||
               kwi_reactor_timer_new(r, on_md_timer, g, &g->t_md)))
        e = KW_ERR_NOMEM;
    if (e) {
        kwi_cgdrv_free(g);
        return e;
    }
    *out = g;
    return KW_ERR_OK;
}

void
kwi_cgdrv_free(kwi_cgdrv *g)
{
    if (!g)
        return;
    for (cg_req *q = g->reqs; q; q = q->next)
        q->g = NULL;
    g->reqs = NULL;
    g->held = NULL;
    drop_coord(g);
    kwi_reactor_timer_free(g->t_member);
    kwi_reactor_timer_free(g->t_kick);
    kwi_reactor_timer_free(g->t_md);
    kwi_member_free(g->m);
    for (size_t i = 0; i < g->n_names; i++)
        g->a->free(g->a->ud, g->names[i].s, g->names[i].len + 1);
    if (g->names)
        g->a->free(g->a->ud, g->names, g->cap_names * sizeof(*g->names));
    if (g->ids)
        g->a->free(g->a->ud, g->ids, g->cap_ids * sizeof(*g->ids));
    kwi_client_mem_free(g->c, g, sizeof(*g));
}
