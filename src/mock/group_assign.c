/* KIP-848 on the coordinator side: topic-partition sets, subscription resolution (names and
 * regular expressions against the topics that exist now), target assignments through
 * src/group's server assignors, and reconciliation of a member towards its target.
 *
 * Reconciliation is Kafka's CurrentAssignmentBuilder. A member offered a new target keeps its
 * epoch and is given assigned := assigned ∩ target; the rest of what it had is "revoking".
 * While anything is revoking the member is UNREVOKED: its epoch does not move and nothing new
 * is given to it, until a heartbeat's TopicPartitions no longer lists any revoking partition
 * (a heartbeat without TopicPartitions counts as still owning them). Then its epoch becomes
 * the target epoch and it receives the target partitions nobody owns; partitions another
 * member still owns or revokes are withheld (UNRELEASED) and handed over in a later heartbeat,
 * after their owner released them. So a partition never has two owners.
 *
 * Regular expressions. Kafka compiles SubscribedTopicRegex with Google RE2/J and matches whole
 * topic names. The mock uses POSIX extended expressions (regcomp, which allocates through
 * libc rather than the kw_allocator), anchored at both ends, after translating RE2's \d \w \s
 * and their negations \D \W \S outside brackets (and \d \w \s inside them). RE2 syntax POSIX
 * lacks, such as (?i) flags or lazy quantifiers, is rejected as INVALID_REGULAR_EXPRESSION. */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "group.h"

/* ---------------------------------------------------------------- topic-partition sets */

static int
tp_cmp(const void *a, const void *b)
{
    const kwi_mtp *x = a, *y = b;
    int c = memcmp(x->topic.b, y->topic.b, sizeof(x->topic.b));
    return c ? c : (x->part > y->part) - (x->part < y->part);
}

void
kwi_mtps_fini(kw_mock *m, kwi_mtps *s)
{
    kwi_gfree(m, s->v, (size_t)s->cap * sizeof(*s->v));
    s->v = NULL;
    s->n = s->cap = 0;
}

static kw_err
mtps_push(kw_mock *m, kwi_mtps *s, const kw_uuid *topic, int32_t part)
{
    if (kwi_grow(m, (void **)&s->v, &s->cap, s->n + 1, sizeof(*s->v)))
        return KW_ERR_NOMEM;
    s->v[s->n].topic = *topic;
    s->v[s->n].part = part;
    s->n++;
    return KW_ERR_OK;
}

static void
mtps_normalize(kwi_mtps *s)
{
    if (s->n < 2)
        return;
    qsort(s->v, (size_t)s->n, sizeof(*s->v), tp_cmp);
    int32_t o = 1;
    for (int32_t i = 1; i < s->n; i++)
        if (tp_cmp(&s->v[i], &s->v[o - 1]) != 0)
            s->v[o++] = s->v[i];
    s->n = o;
}

/* Replaces *dst by *src (moved: src is left empty). */
static void
mtps_move(kw_mock *m, kwi_mtps *dst, kwi_mtps *src)
{
    kwi_mtps_fini(m, dst);
    *dst = *src;
    memset(src, 0, sizeof(*src));
}

bool
kwi_mtps_has(const kwi_mtps *s, const kw_uuid *topic, int32_t part)
{
    kwi_mtp key = {*topic, part};
    return s->n && bsearch(&key, s->v, (size_t)s->n, sizeof(*s->v), tp_cmp) != NULL;
}

bool
kwi_mtps_equal(const kwi_mtps *a, const kwi_mtps *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->v, b->v, (size_t)a->n * sizeof(*a->v)) == 0);
}

kw_err
kwi_mtps_copy(kw_mock *m, kwi_mtps *dst, const kwi_mtps *src)
{
    kwi_mtps n = {NULL, 0, 0};
    if (src->n && kwi_grow(m, (void **)&n.v, &n.cap, src->n, sizeof(*n.v)))
        return KW_ERR_NOMEM;
    if (src->n)
        memcpy(n.v, src->v, (size_t)src->n * sizeof(*n.v));
    n.n = src->n;
    mtps_move(m, dst, &n);
    return KW_ERR_OK;
}

kw_err
kwi_mtps_from_req(kw_mock *m, kwi_mtps *dst, const kw_consumer_group_heartbeat_topic_partitions *tp,
                  int32_t n)
{
    kwi_mtps s = {NULL, 0, 0};
    for (int32_t i = 0; i < n; i++)
        for (int32_t k = 0; k < tp[i].n_partitions; k++)
            if (mtps_push(m, &s, &tp[i].topic_id, tp[i].partitions[k])) {
                kwi_mtps_fini(m, &s);
                return KW_ERR_NOMEM;
            }
    mtps_normalize(&s);
    mtps_move(m, dst, &s);
    return KW_ERR_OK;
}

kw_err
kwi_mtps_to_resp(kwi_mock_req *req, const kwi_mtps *s,
                 kw_consumer_group_heartbeat_topic_partitions **out, int32_t *n_out)
{
    int32_t nt = 0;
    for (int32_t i = 0; i < s->n; i++)
        nt += i == 0 || memcmp(&s->v[i].topic, &s->v[i - 1].topic, sizeof(kw_uuid)) != 0;
    kw_consumer_group_heartbeat_topic_partitions *t =
        kwi_mock_req_alloc(req, (size_t)nt, sizeof(*t));
    if (!t)
        return KW_ERR_NOMEM;
    int32_t k = -1;
    for (int32_t i = 0; i < s->n;) {
        int32_t j = i;
        while (j < s->n && memcmp(&s->v[j].topic, &s->v[i].topic, sizeof(kw_uuid)) == 0)
            j++;
        k++;
        t[k].topic_id = s->v[i].topic;
        t[k].partitions = kwi_mock_req_alloc(req, (size_t)(j - i), sizeof(int32_t));
        if (!t[k].partitions)
            return KW_ERR_NOMEM;
        t[k].n_partitions = j - i;
        for (int32_t p = i; p < j; p++)
            t[k].partitions[p - i] = s->v[p].part;
        i = j;
    }
    *out = t;
    *n_out = nt;
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- regular expressions */

/* RE2 shorthand classes in POSIX bracket form; `in` selects the inside-a-bracket spelling. */
static const char *
shorthand(char c, bool in)
{
    switch (c) {
    case 'd':
        return in ? "0-9" : "[0-9]";
    case 'w':
        return in ? "A-Za-z0-9_" : "[A-Za-z0-9_]";
    case 's':
        return in ? "[:space:]" : "[[:space:]]";
    case 'D':
        return in ? NULL : "[^0-9]";
    case 'W':
        return in ? NULL : "[^A-Za-z0-9_]";
    case 'S':
        return in ? NULL : "[^[:space:]]";
    }
    return "";
}

/* "^(" pattern ")$" with the shorthands translated, or NULL (out of memory or a negated class
 * inside brackets). *cap receives the buffer size to free. */
static char *
translate(kw_mock *m, kw_slice re, size_t *cap)
{
    size_t n = re.len > 0 ? (size_t)re.len : 0;
    *cap = n * 7 + 8;
    char *out = kwi_galloc(m, *cap);
    if (!out)
        return NULL;
    size_t o = 0;
    out[o++] = '^';
    out[o++] = '(';
    bool in = false;
    for (size_t i = 0; i < n; i++) {
        char c = (char)re.ptr[i];
        if (c == '\\' && i + 1 < n) {
            const char *t = shorthand((char)re.ptr[i + 1], in);
            if (!t) {
                kwi_gfree(m, out, *cap);
                return NULL;
            }
            if (*t) {
                memcpy(out + o, t, strlen(t));
                o += strlen(t);
            } else {
                out[o++] = c;
                out[o++] = (char)re.ptr[i + 1];
            }
            i++;
            continue;
        }
        if (c == '[' && !in) {
            in = true;
            out[o++] = c;
            /* A ']' right after '[' or '[^' is a literal. */
            if (i + 1 < n && re.ptr[i + 1] == '^')
                out[o++] = (char)re.ptr[++i];
            if (i + 1 < n && re.ptr[i + 1] == ']')
                out[o++] = (char)re.ptr[++i];
            continue;
        }
        if (c == ']' && in)
            in = false;
        out[o++] = c;
    }
    out[o++] = ')';
    out[o++] = '$';
    out[o] = '\0';
    return out;
}

static bool
regex_compile(kw_mock *m, kw_slice re, regex_t *rx)
{
    if (re.len > 0 && memchr(re.ptr, '\0', (size_t)re.len))
        return false;
    size_t cap;
    char *p = translate(m, re, &cap);
    if (!p)
        return false;
    int rc = regcomp(rx, p, REG_EXTENDED | REG_NOSUB);
    kwi_gfree(m, p, cap);
    return rc == 0;
}

bool
kwi_regex_valid(kw_mock *m, kw_slice regex)
{
    regex_t rx;
    if (!regex_compile(m, regex, &rx))
        return false;
    regfree(&rx);
    return true;
}

/* ---------------------------------------------------------------- subscriptions */

/* Whether the member names topic t (its names are sorted: a binary search). */
static bool
names_have(const kwi_kmember *mem, const kwi_mock_topic *t)
{
    kw_slice name = {(const uint8_t *)t->name, (int32_t)t->name_len};
    int32_t lo = 0, hi = mem->n_topics;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        const kwi_gstr *s = &mem->topics[mid];
        int32_t n = s->len < name.len ? s->len : name.len;
        int c = n > 0 ? memcmp(s->p, name.ptr, (size_t)n) : 0;
        if (!c)
            c = (s->len > name.len) - (s->len < name.len);
        if (!c)
            return true;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Whether the member subscribes to topic t; `rx` is its compiled regex or NULL. */
static bool
subscribes(const kwi_kmember *mem, const regex_t *rx, const kwi_mock_topic *t)
{
    return names_have(mem, t) || (rx && regexec(rx, t->name, 0, NULL, 0) == 0);
}

/* Marks used[t] for every topic (index into m->topics) the member subscribes to, and writes
 * their ids to `ids` when it is not NULL; returns how many there are. */
static int32_t
member_topics(kw_mock *m, const kwi_kmember *mem, kw_uuid *ids, bool *used)
{
    regex_t rx;
    bool has_rx =
        mem->regex.p && mem->regex.len > 0 && regex_compile(m, kwi_gstr_slice(&mem->regex), &rx);
    int32_t n = 0;
    for (int32_t i = 0; i < m->n_topics; i++)
        if (subscribes(mem, has_rx ? &rx : NULL, m->topics[i])) {
            if (ids)
                ids[n] = m->topics[i]->id;
            if (used)
                used[i] = true;
            n++;
        }
    if (has_rx)
        regfree(&rx);
    return n;
}

static int
sub_cmp(const void *a, const void *b)
{
    return memcmp(((const kwi_sub_topic *)a)->id.b, ((const kwi_sub_topic *)b)->id.b, 16);
}

kw_err
kwi_kg_refresh_subscriptions(kwi_grp *g, bool *changed)
{
    kw_mock *m = g->gm->m;
    *changed = false;
    int32_t nt = m->n_topics;
    bool *used = kwi_galloc(m, (size_t)nt * sizeof(*used));
    kwi_sub_topic *sub = kwi_galloc(m, (size_t)nt * sizeof(*sub));
    if (!used || !sub) {
        kwi_gfree(m, used, (size_t)nt * sizeof(*used));
        kwi_gfree(m, sub, (size_t)nt * sizeof(*sub));
        return KW_ERR_NOMEM;
    }
    for (int32_t i = 0; i < g->n_km; i++)
        member_topics(m, g->km[i], NULL, used);
    int32_t ns = 0;
    for (int32_t t = 0; t < nt; t++)
        if (used[t])
            sub[ns++] = (kwi_sub_topic){m->topics[t]->id, m->topics[t]->n_parts};
    qsort(sub, (size_t)ns, sizeof(*sub), sub_cmp);
    *changed = ns != g->n_sub || (ns && memcmp(sub, g->sub, (size_t)ns * sizeof(*sub)) != 0);
    kw_err e = KW_ERR_OK;
    if (*changed && !(e = kwi_grow(m, (void **)&g->sub, &g->cap_sub, ns, sizeof(*g->sub)))) {
        if (ns)
            memcpy(g->sub, sub, (size_t)ns * sizeof(*sub));
        g->n_sub = ns;
    }
    kwi_gfree(m, used, (size_t)nt * sizeof(*used));
    kwi_gfree(m, sub, (size_t)nt * sizeof(*sub));
    return e;
}

/* ---------------------------------------------------------------- target assignment */

/* The set as assignor input (topic_partitions arrays in `ar`). */
static kw_err
to_tps(kw_arena *ar, const kwi_mtps *s, kw_consumer_group_heartbeat_topic_partitions **out,
       int32_t *n_out)
{
    int32_t nt = 0;
    for (int32_t i = 0; i < s->n; i++)
        nt += i == 0 || memcmp(&s->v[i].topic, &s->v[i - 1].topic, sizeof(kw_uuid)) != 0;
    kw_consumer_group_heartbeat_topic_partitions *t =
        kw_arena_calloc(ar, (size_t)(nt ? nt : 1), sizeof(*t));
    if (!t)
        return KW_ERR_NOMEM;
    int32_t k = -1;
    for (int32_t i = 0; i < s->n;) {
        int32_t j = i;
        while (j < s->n && memcmp(&s->v[j].topic, &s->v[i].topic, sizeof(kw_uuid)) == 0)
            j++;
        k++;
        t[k].topic_id = s->v[i].topic;
        t[k].partitions = kw_arena_calloc(ar, (size_t)(j - i), sizeof(int32_t));
        if (!t[k].partitions)
            return KW_ERR_NOMEM;
        t[k].n_partitions = j - i;
        for (int32_t p = i; p < j; p++)
            t[k].partitions[p - i] = s->v[p].part;
        i = j;
    }
    *out = t;
    *n_out = nt;
    return KW_ERR_OK;
}

static kw_err
build_input(kwi_grp *g, kw_arena *ar, kwi_assign_sv_in *in)
{
    kw_mock *m = g->gm->m;
    kwi_assign_sv_member *mem = kw_arena_calloc(ar, (size_t)(g->n_km ? g->n_km : 1), sizeof(*mem));
    kwi_assign_sv_topic *top = kw_arena_calloc(ar, (size_t)(g->n_sub ? g->n_sub : 1), sizeof(*top));
    if (!mem || !top)
        return KW_ERR_NOMEM;
    int32_t nt = 0;
    for (int32_t i = 0; i < g->n_sub; i++) {
        kwi_mock_topic *t = kwi_mock_topic_find_id(m, &g->sub[i].id);
        if (!t)
            continue;
        top[nt].id = t->id;
        top[nt].name = (kw_slice){(const uint8_t *)t->name, (int32_t)t->name_len};
        top[nt].n_partitions = t->n_parts;
        nt++;
    }
    for (int32_t i = 0; i < g->n_km; i++) {
        kwi_kmember *km = g->km[i];
        kw_uuid *ids = kw_arena_calloc(ar, (size_t)(m->n_topics ? m->n_topics : 1), sizeof(*ids));
        if (!ids)
            return KW_ERR_NOMEM;
        mem[i].member_id = kwi_gstr_slice(&km->id);
        mem[i].topics = ids;
        mem[i].n_topics = member_topics(m, km, ids, NULL);
        kw_consumer_group_heartbeat_topic_partitions *cur;
        if (to_tps(ar, &km->target, &cur, &mem[i].n_current))
            return KW_ERR_NOMEM;
        mem[i].current = cur;
    }
    in->members = mem;
    in->n_members = g->n_km;
    in->topics = top;
    in->n_topics = nt;
    in->a = m->a;
    return KW_ERR_OK;
}

kw_err
kwi_kg_compute_targets(kwi_grp *g)
{
    kw_mock *m = g->gm->m;
    kw_arena ar;
    kw_arena_init(&ar, m->a, 0);
    kwi_assign_sv_in in;
    memset(&in, 0, sizeof(in));
    kwi_assign_sv_out out;
    memset(&out, 0, sizeof(out));
    kw_err e = build_input(g, &ar, &in);
    const kwi_assign_sv_assignor *as = kwi_kg_assignor(g);
    if (!e)
        e = kwi_assign_sv_run(as, &in, &out);
    /* New targets are built aside and swapped in only when all of them exist. */
    kwi_mtps *nt = e ? NULL : kwi_galloc(m, (size_t)g->n_km * sizeof(*nt));
    if (!e && !nt)
        e = KW_ERR_NOMEM;
    for (int32_t i = 0; !e && i < g->n_km; i++) {
        const kwi_assign_sv_target *t = &out.targets[i];
        for (int32_t k = 0; !e && k < t->n_tps; k++)
            for (int32_t p = 0; !e && p < t->tps[k].n_partitions; p++)
                e = mtps_push(m, &nt[i], &t->tps[k].topic_id, t->tps[k].partitions[p]);
        mtps_normalize(&nt[i]);
    }
    if (!e) {
        for (int32_t i = 0; i < g->n_km; i++)
            mtps_move(m, &g->km[i]->target, &nt[i]);
        g->assignment_epoch = g->epoch;
        kwi_mock_logf(m, KW_MOCK_LOG_INFO,
                      "group %s: target assignment for epoch %d (%s, %d members)", g->id.p,
                      (int)g->epoch, as->name, (int)g->n_km);
    }
    if (nt) {
        for (int32_t i = 0; i < g->n_km; i++)
            kwi_mtps_fini(m, &nt[i]);
        kwi_gfree(m, nt, (size_t)g->n_km * sizeof(*nt));
    }
    if (out.targets)
        kwi_assign_sv_out_fini(&out);
    kw_arena_fini(&ar);
    return e == KW_ERR_INVALID_ARG || e == KW_ERR_TOO_LARGE ? KW_ERR_NOMEM : e;
}

/* ---------------------------------------------------------------- reconciliation */

/* Whether any member (this one included) still owns or revokes the partition. */
static bool
owned_by_any(const kwi_grp *g, const kwi_mtp *tp)
{
    for (int32_t i = 0; i < g->n_km; i++)
        if (kwi_mtps_has(&g->km[i]->assigned, &tp->topic, tp->part) ||
            kwi_mtps_has(&g->km[i]->revoking, &tp->topic, tp->part))
            return true;
    return false;
}

static bool
owns_revoked(const kwi_kmember *mem, const kwi_mtps *owned)
{
    if (!owned)
        return true; /* no TopicPartitions: it may still own them */
    for (int32_t i = 0; i < owned->n; i++)
        if (kwi_mtps_has(&mem->revoking, &owned->v[i].topic, owned->v[i].part))
            return true;
    return false;
}

static void
update_epoch(kwi_kmember *mem, int32_t epoch)
{
    mem->prev_epoch = mem->epoch;
    mem->epoch = epoch;
}

/* CurrentAssignmentBuilder.computeNextAssignment. */
static kw_err
next_assignment(kwi_kmember *mem, int32_t member_epoch)
{
    kwi_grp *g = mem->g;
    kw_mock *m = g->gm->m;
    kwi_mtps keep = {NULL, 0, 0}, revoke = {NULL, 0, 0}, add = {NULL, 0, 0};
    bool unreleased = false;
    kw_err e = KW_ERR_OK;
    for (int32_t i = 0; !e && i < mem->assigned.n; i++) {
        const kwi_mtp *tp = &mem->assigned.v[i];
        e = mtps_push(m, kwi_mtps_has(&mem->target, &tp->topic, tp->part) ? &keep : &revoke,
                      &tp->topic, tp->part);
    }
    for (int32_t i = 0; !e && i < mem->target.n; i++) {
        const kwi_mtp *tp = &mem->target.v[i];
        if (kwi_mtps_has(&mem->assigned, &tp->topic, tp->part))
            continue;
        if (owned_by_any(g, tp))
            unreleased = true;
        else
            e = mtps_push(m, &add, &tp->topic, tp->part);
    }
    if (!e && revoke.n == 0)
        for (int32_t i = 0; !e && i < add.n; i++)
            e = mtps_push(m, &keep, &add.v[i].topic, add.v[i].part);
    if (!e) {
        mtps_normalize(&keep);
        if (revoke.n) {
            /* Revoke first; the epoch stays until the member confirms. */
            mem->state = KWI_KM_UNREVOKED;
            update_epoch(mem, member_epoch);
        } else {
            mem->state = unreleased ? KWI_KM_UNRELEASED : KWI_KM_STABLE;
            update_epoch(mem, g->assignment_epoch);
        }
        mtps_move(m, &mem->assigned, &keep);
        mtps_move(m, &mem->revoking, &revoke);
    }
    kwi_mtps_fini(m, &keep);
    kwi_mtps_fini(m, &revoke);
    kwi_mtps_fini(m, &add);
    return e;
}

kw_err
kwi_km_reconcile(kwi_kmember *mem, const kwi_mtps *owned)
{
    kwi_grp *g = mem->g;
    int32_t target_epoch = g->assignment_epoch;
    if (mem->state == KWI_KM_STABLE && mem->epoch == target_epoch)
        return KW_ERR_OK;
    kwi_km_state was = mem->state;
    int32_t was_epoch = mem->epoch;
    kw_err e = KW_ERR_OK;
    switch (mem->state) {
    case KWI_KM_STABLE:
    case KWI_KM_UNRELEASED:
        e = next_assignment(mem, mem->epoch);
        break;
    case KWI_KM_UNREVOKED:
        if (owns_revoked(mem, owned))
            return KW_ERR_OK;
        e = next_assignment(mem, mem->epoch);
        break;
    }
    if (e)
        return e;
    /* A member that keeps partitions others wait for is fenced after its rebalance timeout. */
    if (mem->state == KWI_KM_UNREVOKED) {
        if (was != KWI_KM_UNREVOKED || was_epoch != mem->epoch ||
            !kwi_reactor_timer_armed(mem->rebalance))
            kwi_reactor_timer_start(mem->rebalance, mem->rebalance_timeout_ms);
    } else {
        kwi_reactor_timer_stop(mem->rebalance);
    }
    return KW_ERR_OK;
}
