/* The group member: lifecycle, the inputs, the one state transition function, and queries.
 *
 * Every input sets the member's notion of `now` (never backwards), lets the protocol react,
 * then "pumps": the poll timer, the coordinator lookup and the protocol's step function run
 * until the state stops changing. An allocation failure anywhere sets a sticky flag and the
 * input ends in FATAL with KW_ERR_NOMEM, so no half-applied transition is ever acted upon. */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "group/member_int.h"
#include "util/base64.h"

static const char *const state_names[] = {
    [KWI_MEMBER_UNSUBSCRIBED] = "UNSUBSCRIBED",
    [KWI_MEMBER_PREPARING] = "PREPARING",
    [KWI_MEMBER_JOINING] = "JOINING",
    [KWI_MEMBER_ASSIGNING] = "ASSIGNING",
    [KWI_MEMBER_SYNCING] = "SYNCING",
    [KWI_MEMBER_STABLE] = "STABLE",
    [KWI_MEMBER_RECONCILING] = "RECONCILING",
    [KWI_MEMBER_ACKNOWLEDGING] = "ACKNOWLEDGING",
    [KWI_MEMBER_STALE] = "STALE",
    [KWI_MEMBER_LEAVING] = "LEAVING",
    [KWI_MEMBER_CLOSED] = "CLOSED",
    [KWI_MEMBER_FATAL] = "FATAL",
};

const char *
kwi_member_state_name(kwi_member_state s)
{
    if ((size_t)s < sizeof(state_names) / sizeof(state_names[0]) && state_names[s])
        return state_names[s];
    return "UNKNOWN";
}

void
kwi_member_cfg_init(kwi_member_cfg *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->protocol = KWI_MEMBER_CLASSIC;
    cfg->session_timeout_ms = 45000;
    cfg->heartbeat_interval_ms = 3000;
    cfg->max_poll_interval_ms = 300000;
    cfg->request_timeout_ms = 30000;
    cfg->retry_backoff_ms = 100;
    cfg->retry_backoff_max_ms = 1000;
}

/* ---------------------------------------------------------------- helpers */

kw_err
kwi_member_set_str(kwi_member *m, char **dst, kw_slice src)
{
    size_t len = src.len > 0 ? (size_t)src.len : 0;
    /* A wire string may hold a NUL (a hostile member id or host): the copy is a C string and
     * is freed with strlen() + 1, so it must end at the first NUL (found by fuzz_client). */
    const uint8_t *nul = len ? memchr(src.ptr, 0, len) : NULL;
    if (nul)
        len = (size_t)(nul - src.ptr);
    char *s = m->a->alloc(m->a->ud, len + 1);
    if (!s) {
        m->nomem = true;
        return KW_ERR_NOMEM;
    }
    if (len)
        memcpy(s, src.ptr, len);
    s[len] = '\0';
    if (*dst)
        m->a->free(m->a->ud, *dst, strlen(*dst) + 1);
    *dst = s;
    return KW_ERR_OK;
}

int64_t
kwi_member_backoff(const kwi_member *m, int attempts)
{
    /* retry.backoff.ms 0 would retry a persistent error in a tight loop: take 1 ms. */
    int64_t b = m->cfg.retry_backoff_ms > 0 ? m->cfg.retry_backoff_ms : 1;
    int64_t max = m->cfg.retry_backoff_max_ms > b ? m->cfg.retry_backoff_max_ms : b;
    for (int i = 0; i < attempts && b < max; i++)
        b *= 2;
    return b < max ? b : max;
}

bool
kwi_member_subscribed_to(const kwi_member *m, kw_slice topic)
{
    int32_t lo = 0, hi = m->n_topics;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        size_t len = strlen(m->topics[mid]);
        size_t tl = (size_t)(topic.len > 0 ? topic.len : 0);
        int c = memcmp(m->topics[mid], topic.ptr, len < tl ? len : tl);
        if (!c)
            c = (len > tl) - (len < tl);
        if (!c)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Forget the generation (and the member id): the owned partitions are lost (GROUPS.md 4; the
 * callback fires at once rather than at the next onJoinPrepare, as librdkafka does). KIP-848
 * members are fenced by kip848.c instead. */
void
kwi_member_reset_generation(kwi_member *m, bool clear_member_id)
{
    if (m->owned.n)
        kwi_member_emit_parts(m, KWI_MEMBER_EV_LOST, &m->owned);
    kwi_tpset_clear(&m->owned);
    m->generation = -1;
    m->leader = false;
    m->hb_seq = 0;
    if (clear_member_id)
        kwi_member_set_str(m, &m->member_id, kw_slice_str(""));
}

bool
kwi_member_can_commit(const kwi_member *m)
{
    if (m->state == KWI_MEMBER_LEAVING && m->leave_sent)
        return false;
    if (m->cfg.protocol == KWI_MEMBER_CONSUMER) {
        if (m->generation <= 0)
            return false;
        switch (m->state) {
        case KWI_MEMBER_STABLE:
        case KWI_MEMBER_RECONCILING:
        case KWI_MEMBER_ACKNOWLEDGING:
        case KWI_MEMBER_LEAVING:
            return true;
        default:
            return false;
        }
    }
    if (m->generation < 0 || !m->member_id[0])
        return false;
    /* Java commits only with the stable generation; PREPARING is Java's STABLE state while
     * onJoinPrepare runs, which is where an eager member commits in onPartitionsRevoked. */
    return m->state == KWI_MEMBER_STABLE || m->state == KWI_MEMBER_PREPARING ||
           m->state == KWI_MEMBER_LEAVING;
}

void
kwi_member_fail(kwi_member *m, kw_err code, int16_t broker_code, const char *what)
{
    if (m->state == KWI_MEMBER_FATAL)
        return;
    if (m->owned.n)
        kwi_member_emit_parts(m, KWI_MEMBER_EV_LOST, &m->owned);
    kwi_tpset_clear(&m->owned);
    kw_error_init(&m->fatal_err);
    kw_error_set(&m->fatal_err, code, "group %s: %s failed%s%s", m->cfg.group_id, what,
                 code == KW_ERR_BROKER ? ": " : "",
                 code == KW_ERR_BROKER ? kw_broker_err_name(broker_code) : "");
    m->fatal_err.broker_code = broker_code;
    m->fatal_err.fatal = true;
    m->fatal_pending = true;
    kwi_member_enter(m, KWI_MEMBER_FATAL);
}

/* ---------------------------------------------------------------- the transition function */

static void
drop_protocol_requests(kwi_member *m)
{
    kwi_member_purge_coordinator_requests(m);
    m->join_seq = m->sync_seq = m->hb_seq = m->cghb_seq = 0;
}

/* The only place the state changes. Entry actions both protocols share run here; the
 * protocol's own follow. */
void
kwi_member_enter(kwi_member *m, kwi_member_state s)
{
    kwi_member_state from = m->state;
    m->state = s;
    switch (s) {
    case KWI_MEMBER_LEAVING:
        m->leave_sent = false;
        m->t_gate = m->now + m->cfg.max_poll_interval_ms;
        break;
    case KWI_MEMBER_CLOSED:
    case KWI_MEMBER_FATAL:
        /* Nothing more goes out; commits still waiting are answered as canceled. */
        drop_protocol_requests(m);
        m->leave_seq = 0;
        m->t_session = KWI_NEVER;
        kwi_member_fail_ops(m, false, KW_ERR_CANCELED,
                            s == KWI_MEMBER_FATAL ? "the member failed" : "the member left");
        if (s == KWI_MEMBER_CLOSED)
            kwi_member_emit(m, KWI_MEMBER_EV_CLOSED);
        return;
    default:
        break;
    }
    if (m->cfg.protocol == KWI_MEMBER_CLASSIC)
        kwi_classic_enter(m, from);
    else
        kwi_kip848_enter(m, from);
}

static bool
in_group(const kwi_member *m)
{
    return m->cfg.protocol == KWI_MEMBER_CLASSIC ? kwi_classic_in_group(m) : kwi_kip848_in_group(m);
}

static void
pump(kwi_member *m)
{
    /* A transition may enable the next one (PREPARING -> JOINING -> JoinGroup); a handful of
     * rounds covers every chain, and each round is cheap. */
    for (int round = 0; round < 8 && !m->nomem; round++) {
        kwi_member_state before = m->state;
        coord_state cbefore = m->cstate;
        if (m->state == KWI_MEMBER_FATAL || m->state == KWI_MEMBER_CLOSED)
            break;
        if (in_group(m) && m->now - m->last_poll >= m->cfg.max_poll_interval_ms) {
            if (m->cfg.protocol == KWI_MEMBER_CLASSIC)
                kwi_classic_poll_expired(m);
            else
                kwi_kip848_poll_expired(m);
        }
        kwi_member_coord_step(m);
        if (m->cfg.protocol == KWI_MEMBER_CLASSIC)
            kwi_classic_step(m);
        else
            kwi_kip848_step(m);
        if (m->state == before && m->cstate == cbefore)
            break;
    }
}

/* Ends every input: an allocation failure anywhere makes the member FATAL. */
static kw_err
finish(kwi_member *m)
{
    if (!m->nomem) {
        pump(m);
        if (!m->nomem)
            return KW_ERR_OK;
    }
    m->nomem = false;
    /* FATAL needs no allocation: the error event lives in the structure, and the LOST event
     * kwi_member_fail would emit is skipped when even that cannot be allocated. */
    kwi_member_fail(m, KW_ERR_NOMEM, 0, "an allocation");
    m->nomem = false;
    return KW_ERR_NOMEM;
}

void
kwi_member_after_drain(kwi_member *m)
{
    (void)finish(m);
}

static void
advance(kwi_member *m, int64_t now)
{
    if (now > m->now)
        m->now = now;
}

/* ---------------------------------------------------------------- lifecycle */

/* KIP-1082: the client makes its member id, 16 random bytes in URL-safe base64 without
 * padding (22 characters), as Java's Uuid.randomUuid().toString(). */
static kw_err
make_member_id(char *out, size_t cap)
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof(b)) {
        ssize_t n = getrandom(b + got, sizeof(b) - got, 0);
        if (n <= 0)
            return KW_ERR_IO;
        got += (size_t)n;
    }
    size_t len = 0;
    kw_err e = kwi_base64_encode(b, sizeof(b), out, cap, &len);
    if (e)
        return e;
    while (len && out[len - 1] == '=')
        len--;
    for (size_t i = 0; i < len; i++)
        out[i] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    out[len] = '\0';
    return KW_ERR_OK;
}

static kw_err
check_cfg(const kwi_member_cfg *c, kw_error *err)
{
    const char *bad = NULL;
    if (!c->group_id || !c->group_id[0])
        bad = "group.id is required";
    else if (c->group_instance_id && !c->group_instance_id[0])
        bad = "group.instance.id must not be empty";
    else if (c->protocol != KWI_MEMBER_CLASSIC && c->protocol != KWI_MEMBER_CONSUMER)
        bad = "group.protocol must be classic or consumer";
    else if (c->max_poll_interval_ms <= 0 || c->request_timeout_ms <= 0)
        bad = "max.poll.interval.ms and request.timeout.ms must be positive";
    else if (c->retry_backoff_ms < 0 || c->retry_backoff_max_ms < c->retry_backoff_ms)
        bad = "retry.backoff.ms must be at least 0 and at most retry.backoff.max.ms";
    else if (c->protocol == KWI_MEMBER_CLASSIC &&
             (c->heartbeat_interval_ms <= 0 || c->session_timeout_ms <= c->heartbeat_interval_ms))
        bad = "heartbeat.interval.ms must be positive and below session.timeout.ms";
    else if (c->protocol == KWI_MEMBER_CLASSIC &&
             (c->n_assignors == 0 || c->n_assignors > KWI_MEMBER_MAX_ASSIGNORS))
        bad = "partition.assignment.strategy needs at least one assignor";
    for (size_t i = 0; !bad && c->protocol == KWI_MEMBER_CLASSIC && i < c->n_assignors; i++)
        if (!c->assignors[i] || !c->assignors[i]->name || !c->assignors[i]->assign)
            bad = "an assignor is incomplete";
    if (!bad && c->member_id && (!c->member_id[0] || strlen(c->member_id) > 255))
        bad = "the member id must be 1 to 255 characters";
    if (!bad)
        return KW_ERR_OK;
    if (err)
        kw_error_set(err, KW_ERR_CONFIG, "consumer group: %s", bad);
    return KW_ERR_CONFIG;
}

/* Copies cfg's strings into one block so the member owns them. */
static kw_err
own_strings(kwi_member *m, const kwi_member_cfg *c, const char *member_id)
{
    const char *src[] = {c->group_id, c->group_instance_id, c->client_rack, c->remote_assignor,
                         member_id};
    const char **dst[] = {&m->cfg.group_id, &m->cfg.group_instance_id, &m->cfg.client_rack,
                          &m->cfg.remote_assignor, &m->cfg.member_id};
    size_t total = 0;
    for (size_t i = 0; i < 5; i++)
        total += src[i] ? strlen(src[i]) + 1 : 0;
    m->strs = m->a->alloc(m->a->ud, total + 1);
    if (!m->strs)
        return KW_ERR_NOMEM;
    m->strs_len = total + 1;
    char *p = m->strs;
    for (size_t i = 0; i < 5; i++) {
        if (!src[i]) {
            *dst[i] = NULL;
            continue;
        }
        size_t n = strlen(src[i]) + 1;
        memcpy(p, src[i], n);
        *dst[i] = p;
        p += n;
    }
    return KW_ERR_OK;
}

kw_err
kwi_member_new(const kwi_member_cfg *cfg, kwi_member **out, kw_error *err)
{
    if (!cfg || !out)
        return KW_ERR_INVALID_ARG;
    *out = NULL;
    kw_err e = check_cfg(cfg, err);
    if (e)
        return e;
    char idbuf[32];
    const char *member_id = cfg->member_id;
    if (cfg->protocol == KWI_MEMBER_CONSUMER && !member_id) {
        e = make_member_id(idbuf, sizeof(idbuf));
        if (e) {
            if (err)
                kw_error_set(err, e, "consumer group: cannot make a member id: %s", kw_err_str(e));
            return e;
        }
        member_id = idbuf;
    }
    const kw_allocator *a = cfg->alloc ? cfg->alloc : kw_allocator_default();
    kwi_member *m = a->alloc(a->ud, sizeof(*m));
    if (!m)
        return KW_ERR_NOMEM;
    memset(m, 0, sizeof(*m));
    m->a = a;
    m->cfg = *cfg;
    m->cfg.alloc = a;
    kwi_tpset_init(&m->owned, a);
    kw_arena_init(&m->join_ar, a, 0);
    m->generation = -1;
    m->coord_id = -1;
    m->hb_interval_ms = 5000; /* KIP-848: the broker's default until it says otherwise */
    m->state = KWI_MEMBER_UNSUBSCRIBED;
    m->t_gate = m->t_retry = m->t_hb_due = m->t_session = m->t_md_wait = KWI_NEVER;
    m->cooperative = cfg->protocol == KWI_MEMBER_CLASSIC;
    for (size_t i = 0; i < cfg->n_assignors; i++)
        if (!(cfg->assignors[i]->protocols & KWI_ASSIGN_COOPERATIVE))
            m->cooperative = false;
    if (own_strings(m, cfg, member_id) ||
        kwi_member_set_str(m, &m->member_id,
                           kw_slice_str(cfg->protocol == KWI_MEMBER_CONSUMER ? member_id : ""))) {
        kwi_member_free(m);
        return KW_ERR_NOMEM;
    }
    *out = m;
    return KW_ERR_OK;
}

static void
free_topics(kwi_member *m, char **v, int32_t n, int32_t cap)
{
    for (int32_t i = 0; i < n; i++)
        if (v[i])
            m->a->free(m->a->ud, v[i], strlen(v[i]) + 1);
    if (v)
        m->a->free(m->a->ud, v, (size_t)cap * sizeof(char *));
}

void
kwi_member_free(kwi_member *m)
{
    if (!m)
        return;
    kwi_member_queues_fini(m);
    kwi_leader_fini(m);
    kwi_kip848_fini(m);
    kwi_member_md_fini(m);
    kwi_tpset_fini(&m->owned);
    free_topics(m, m->topics, m->n_topics, m->cap_topics);
    free_topics(m, m->joined_topics, m->n_joined_topics, m->n_joined_topics);
    char **strs[] = {&m->member_id, &m->protocol_name, &m->coord_host};
    for (size_t i = 0; i < 3; i++)
        if (*strs[i])
            m->a->free(m->a->ud, *strs[i], strlen(*strs[i]) + 1);
    if (m->strs)
        m->a->free(m->a->ud, m->strs, m->strs_len);
    m->a->free(m->a->ud, m, sizeof(*m));
}

/* ---------------------------------------------------------------- inputs */

static bool
done(const kwi_member *m)
{
    return m->state == KWI_MEMBER_CLOSED;
}

static int
cstr_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

kw_err
kwi_member_subscribe(kwi_member *m, int64_t now, const kw_slice *topics, size_t n)
{
    if (n > INT16_MAX || (n && !topics))
        return KW_ERR_INVALID_ARG;
    for (size_t i = 0; i < n; i++)
        if (topics[i].len <= 0 || topics[i].len > 249 ||
            memchr(topics[i].ptr, 0, (size_t)topics[i].len))
            return KW_ERR_INVALID_ARG;
    if (done(m) || m->state == KWI_MEMBER_FATAL || (m->state == KWI_MEMBER_LEAVING && m->closing))
        return KW_ERR_STATE;
    advance(m, now);
    char **v = n ? m->a->alloc(m->a->ud, n * sizeof(char *)) : NULL;
    if (n && !v)
        return KW_ERR_NOMEM;
    int32_t k = 0;
    for (size_t i = 0; i < n; i++) {
        v[k] = m->a->alloc(m->a->ud, (size_t)topics[i].len + 1);
        if (!v[k]) {
            free_topics(m, v, k, (int32_t)n);
            return KW_ERR_NOMEM;
        }
        memcpy(v[k], topics[i].ptr, (size_t)topics[i].len);
        v[k][topics[i].len] = '\0';
        k++;
    }
    if (k > 1)
        qsort(v, (size_t)k, sizeof(char *), cstr_cmp);
    int32_t u = 0;
    for (int32_t i = 0; i < k; i++) {
        if (u && strcmp(v[u - 1], v[i]) == 0)
            m->a->free(m->a->ud, v[i], strlen(v[i]) + 1);
        else
            v[u++] = v[i];
    }
    bool changed = u != m->n_topics;
    for (int32_t i = 0; !changed && i < u; i++)
        changed = strcmp(v[i], m->topics[i]) != 0;
    free_topics(m, m->topics, m->n_topics, m->cap_topics);
    m->topics = v;
    m->n_topics = u;
    m->cap_topics = k;
    if (!changed && m->state != KWI_MEMBER_UNSUBSCRIBED)
        return finish(m);
    if (m->state == KWI_MEMBER_UNSUBSCRIBED || m->state == KWI_MEMBER_STALE)
        m->last_poll = m->now;
    if (u == 0) {
        m->closing = false;
        if (m->cfg.protocol == KWI_MEMBER_CLASSIC)
            kwi_classic_leave(m);
        else
            kwi_kip848_leave(m);
    } else if (m->cfg.protocol == KWI_MEMBER_CLASSIC) {
        kwi_classic_subscription_changed(m);
    } else {
        kwi_kip848_subscription_changed(m);
    }
    return finish(m);
}

kw_err
kwi_member_on_poll(kwi_member *m, int64_t now)
{
    advance(m, now);
    m->last_poll = m->now;
    if (m->state == KWI_MEMBER_STALE && m->n_topics > 0)
        kwi_member_enter(m, KWI_MEMBER_JOINING);
    return finish(m);
}

kw_err
kwi_member_on_timer(kwi_member *m, int64_t now)
{
    advance(m, now);
    return finish(m);
}

kw_err
kwi_member_on_response(kwi_member *m, int64_t now, const kwi_member_resp *r)
{
    if (!r || (r->err == KW_ERR_OK && !r->body))
        return KW_ERR_INVALID_ARG;
    advance(m, now);
    pending_op *op;
    if (r->seq && r->seq == m->find_seq && r->api_key == KWI_API_FIND_COORDINATOR)
        kwi_member_coord_on_response(m, r);
    else if (r->seq && (op = kwi_member_op_find(m, r->seq)) &&
             r->api_key == (op->kind == RK_COMMIT ? KWI_API_OFFSET_COMMIT : KWI_API_OFFSET_FETCH))
        kwi_member_op_on_response(m, op, r);
    else if (r->seq == 0 || m->state == KWI_MEMBER_FATAL || done(m))
        return KW_ERR_OK;
    else if (m->cfg.protocol == KWI_MEMBER_CLASSIC)
        kwi_classic_on_response(m, r);
    else
        kwi_kip848_on_response(m, r);
    return finish(m);
}

kw_err
kwi_member_on_metadata(kwi_member *m, int64_t now, const kwi_member_topic_md *topics, size_t n)
{
    if (n && !topics)
        return KW_ERR_INVALID_ARG;
    advance(m, now);
    kw_err e = kwi_member_md_merge(m, topics, n);
    if (e == KW_ERR_NOMEM)
        m->nomem = true;
    else if (e)
        return e;
    else if (m->cfg.protocol == KWI_MEMBER_CLASSIC)
        kwi_classic_on_metadata(m);
    else
        kwi_kip848_on_metadata(m);
    return finish(m);
}

kw_err
kwi_member_on_coordinator_lost(kwi_member *m, int64_t now)
{
    advance(m, now);
    kwi_member_coord_conn_lost(m, "the coordinator connection was lost");
    return finish(m);
}

kw_err
kwi_member_leave(kwi_member *m, int64_t now)
{
    if (done(m) || (m->state == KWI_MEMBER_LEAVING && m->closing))
        return KW_ERR_OK;
    advance(m, now);
    m->closing = true;
    if (m->state == KWI_MEMBER_FATAL)
        kwi_member_enter(m, KWI_MEMBER_CLOSED);
    else if (m->cfg.protocol == KWI_MEMBER_CLASSIC)
        kwi_classic_leave(m);
    else
        kwi_kip848_leave(m);
    return finish(m);
}

/* ---------------------------------------------------------------- queries */

int64_t
kwi_member_next_deadline(const kwi_member *m)
{
    if (m->state == KWI_MEMBER_FATAL || m->state == KWI_MEMBER_CLOSED)
        return KWI_NEVER;
    int64_t d =
        m->cfg.protocol == KWI_MEMBER_CLASSIC ? kwi_classic_deadline(m) : kwi_kip848_deadline(m);
    int64_t c = kwi_member_coord_deadline(m);
    if (c < d)
        d = c;
    if (in_group(m)) {
        int64_t p = m->last_poll + m->cfg.max_poll_interval_ms;
        if (p < d)
            d = p;
    }
    return d;
}

kwi_member_state
kwi_member_state_get(const kwi_member *m)
{
    return m->state;
}

int32_t
kwi_member_generation(const kwi_member *m)
{
    return m->generation;
}

const char *
kwi_member_id(const kwi_member *m)
{
    return m->member_id;
}

bool
kwi_member_is_leader(const kwi_member *m)
{
    return m->leader;
}

const kwi_tpset *
kwi_member_owned(const kwi_member *m)
{
    return &m->owned;
}

int32_t
kwi_member_coordinator(const kwi_member *m)
{
    return m->cstate == COORD_KNOWN ? m->coord_id : -1;
}
