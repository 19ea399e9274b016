/* See cg_util.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../support/mockfix.h"
#include "cg_util.h"
#include "client/cgroup.h" /* kwi_consumer_group_halt: a crash without LeaveGroup */

bool cgt_use_thread;

int64_t
cgt_now_ms(void)
{
    return kwt_fx_now_ms();
}

/* ---------------------------------------------------------------- ledger */

void
cgt_ledger_init(cgt_ledger *l, size_t n_ids)
{
    memset(l, 0, sizeof(*l));
    l->count = calloc(n_ids ? n_ids : 1, sizeof(*l->count));
    l->n_ids = n_ids;
}

void
cgt_ledger_fini(cgt_ledger *l)
{
    free(l->count);
    memset(l, 0, sizeof(*l));
}

size_t
cgt_ledger_missing(const cgt_ledger *l)
{
    size_t n = 0;
    for (size_t i = 0; i < l->n_ids; i++)
        n += l->count[i] == 0;
    return n;
}

/* ---------------------------------------------------------------- partition specs */

static int
cmp_tp(const void *a, const void *b)
{
    const kw_topic_partition *x = a, *y = b;
    int c = strcmp(x->topic, y->topic);
    return c ? c : (x->partition > y->partition) - (x->partition < y->partition);
}

static void
spec(const kw_topic_partition *parts, size_t n, char *buf, size_t cap)
{
    kw_topic_partition *v = calloc(n ? n : 1, sizeof(*v));
    if (n)
        memcpy(v, parts, n * sizeof(*v));
    qsort(v, n, sizeof(*v), cmp_tp);
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && off < cap; i++) {
        bool same = i > 0 && strcmp(v[i].topic, v[i - 1].topic) == 0;
        int w = same ? snprintf(buf + off, cap - off, ",%d", (int)v[i].partition)
                     : snprintf(buf + off, cap - off, "%s%s:%d", i ? " " : "", v[i].topic,
                                (int)v[i].partition);
        off += w > 0 ? (size_t)w : 0;
    }
    free(v);
}

/* ---------------------------------------------------------------- members */

static void
on_rebalance(kw_consumer *k, kw_rebalance_kind kind, const kw_topic_partition *parts, size_t n,
             void *ud)
{
    cgt_member *m = ud;
    ck_assert_msg(m->n_ev < CGT_MAX_EV, "%s: too many rebalance callbacks", m->name);
    cgt_ev *e = &m->ev[m->n_ev++];
    e->kind = kind;
    e->generation = kw_consumer_generation(k);
    spec(parts, n, e->spec, sizeof(e->spec));
    if (kind == KW_REBALANCE_REVOKED && m->commit_in_revoke) {
        /* Commit what was consumed of the revoked partitions, synchronously, as a Java
         * application does in onPartitionsRevoked. */
        kw_topic_partition *v = calloc(n ? n : 1, sizeof(*v));
        size_t k2 = 0;
        for (size_t i = 0; i < n; i++) {
            int64_t pos = -1;
            if (kw_consumer_position(k, parts[i].topic, parts[i].partition, &pos, NULL) ==
                    KW_ERR_OK &&
                pos >= 0) {
                v[k2] = parts[i];
                v[k2].offset = pos;
                v[k2].metadata = "revoked";
                k2++;
            }
        }
        if (k2) {
            kw_error err;
            kw_error_init(&err);
            m->last_revoke_commit = kw_consumer_commit(k, v, k2, 20000, &err);
            m->revoke_commits++;
            if (m->last_revoke_commit) {
                m->revoke_commit_fails++;
                snprintf(m->last_revoke_err, sizeof(m->last_revoke_err), "%s", err.msg);
            }
        }
        free(v);
    }
    if (m->on_rebalance)
        m->on_rebalance(m, kind, parts, n);
}

static void
on_commit(kw_consumer *k, kw_err err, const kw_error *detail, const kw_topic_partition *offsets,
          size_t n, void *ud)
{
    (void)k;
    (void)offsets;
    (void)n;
    cgt_member *m = ud;
    m->auto_commits++;
    if (err) {
        m->auto_commit_fails++;
        snprintf(m->last_commit_err, sizeof(m->last_commit_err), "%s", detail->msg);
    }
}

/* The member's settings: fast backoffs and group timings, minus those that `extra` sets
 * itself and, for a KIP-848 member, the classic timeouts (which Java rejects there). */
static void
member_base(const char *const *extra, const char **out, size_t cap)
{
    static const char *const base[] = {"reconnect.backoff.ms=10",    "reconnect.backoff.max.ms=200",
                                       "retry.backoff.ms=20",        "retry.backoff.max.ms=200",
                                       "auto.offset.reset=earliest", "fetch.max.wait.ms=100",
                                       "session.timeout.ms=6000",    "heartbeat.interval.ms=500",
                                       "metadata.max.age.ms=2000",   NULL};
    bool kip848 = false;
    for (size_t j = 0; extra && extra[j]; j++)
        kip848 |= strcmp(extra[j], "group.protocol=consumer") == 0;
    size_t n = 0;
    for (size_t i = 0; base[i] && n + 1 < cap; i++) {
        size_t kl = (size_t)(strchr(base[i], '=') - base[i]);
        bool overridden = false;
        for (size_t j = 0; extra && extra[j]; j++)
            overridden |= strncmp(extra[j], base[i], kl + 1) == 0;
        bool classic = strncmp(base[i], "session.timeout.ms=", kl + 1) == 0 ||
                       strncmp(base[i], "heartbeat.interval.ms=", kl + 1) == 0;
        if (!overridden && !(kip848 && classic))
            out[n++] = base[i];
    }
    out[n] = NULL;
}

cgt_member *
cgt_member_new(const char *name, const char *bootstrap, const char *group, const char *topic,
               cgt_ledger *ledger, const char *const *extra)
{
    cgt_member *m = calloc(1, sizeof(*m));
    snprintf(m->name, sizeof(m->name), "%s", name);
    m->ledger = ledger;
    char gid[160], cid[64];
    snprintf(gid, sizeof(gid), "group.id=%s", group);
    snprintf(cid, sizeof(cid), "client.id=%s", name);
    const char *base[16] = {gid, cid};
    member_base(extra, base + 2, sizeof(base) / sizeof(base[0]) - 2);
    m->c = kwt_fx_client(kwt_fx_conf(NULL, bootstrap, base, extra), m->name);
    kw_error err;
    kw_error_init(&err);
    if (cgt_use_thread)
        ck_assert_int_eq(kw_client_thread_start(m->c, &err), KW_ERR_OK);
    kw_consumer_opts o;
    kw_consumer_opts_init(&o);
    o.on_rebalance = on_rebalance;
    o.rebalance_ud = m;
    o.on_commit = on_commit;
    o.commit_ud = m;
    m->k = kwt_fx_consumer(m->c, &o);
    if (topic)
        cgt_member_subscribe(m, topic);
    return m;
}

void
cgt_member_subscribe(cgt_member *m, const char *topic)
{
    kw_error err;
    kw_error_init(&err);
    const char *topics[] = {topic};
    ck_assert_msg(kw_consumer_subscribe(m->k, topics, 1, &err) == KW_ERR_OK, "subscribe: %s",
                  err.msg);
}

void
cgt_member_close(cgt_member *m)
{
    if (!m)
        return;
    kw_error err;
    kw_error_init(&err);
    kw_err e = kw_consumer_close(m->k, 20000, &err);
    ck_assert_msg(e == KW_ERR_OK, "%s: close: %s", m->name, err.msg);
    kw_consumer_free(m->k);
    kw_client_free(m->c);
    free(m);
}

void
cgt_member_crash(cgt_member *m)
{
    if (!m)
        return;
    kwi_consumer_group_halt(m->k);
    kw_consumer_free(m->k);
    kw_client_free(m->c);
    free(m);
}

/* ---------------------------------------------------------------- polling */

static void
count(cgt_member *m, kw_consumer_msg *msg)
{
    if (msg->err != KW_ERR_OK)
        return;
    m->consumed++;
    if (!m->ledger)
        return;
    char buf[32];
    int len = msg->value.len > 0 && msg->value.len < 31 ? msg->value.len : 0;
    memcpy(buf, msg->value.ptr, (size_t)len);
    buf[len] = '\0';
    char *end = NULL;
    unsigned long id = strtoul(buf, &end, 10);
    if (!len || *end || id >= m->ledger->n_ids)
        ck_abort_msg("%s: foreign message value '%s'", m->name, buf);
    if (m->ledger->count[id]++)
        m->ledger->dups++;
    m->ledger->delivered++;
}

void
cgt_poll_round(cgt_member **v, int n, int timeout_ms)
{
    for (int i = 0; i < n; i++) {
        if (!v[i])
            continue;
        kw_consumer_msg *msgs[256];
        size_t got = 0;
        kw_error err;
        kw_error_init(&err);
        kw_err e = kw_consumer_poll(v[i]->k, msgs, 256, timeout_ms, &got, &err);
        ck_assert_msg(e == KW_ERR_OK, "%s: poll: %s", v[i]->name, err.msg);
        for (size_t j = 0; j < got; j++)
            count(v[i], msgs[j]);
        kw_consumer_msgs_release(msgs, got);
    }
}

void
cgt_until(cgt_member **v, int n, bool (*cond)(void *), void *ud, const char *what)
{
    int64_t end = cgt_now_ms() + CGT_DEADLINE_MS;
    while (!cond(ud)) {
        if (cgt_now_ms() > end) {
            for (int i = 0; i < n; i++) {
                char buf[512] = "";
                if (v[i]) {
                    cgt_assigned(v[i], buf, sizeof(buf));
                    kw_consumer_stats st;
                    kw_consumer_stats_get(v[i]->k, &st);
                    fprintf(stderr,
                            "%s: gen %d assigned [%s] fetches %llu/%llu records %llu "
                            "buffered %zu consumed %llu\n",
                            v[i]->name, kw_consumer_generation(v[i]->k), buf,
                            (unsigned long long)st.fetch_requests,
                            (unsigned long long)st.fetch_responses, (unsigned long long)st.records,
                            st.buffered_msgs, (unsigned long long)v[i]->consumed);
                    kw_partition_list pl;
                    memset(&pl, 0, sizeof(pl));
                    kw_consumer_assignment(v[i]->k, &pl, NULL);
                    for (size_t j = 0; j < pl.n; j++)
                        fprintf(stderr, "  %s:%d position %lld\n", pl.items[j].topic,
                                (int)pl.items[j].partition, (long long)pl.items[j].offset);
                    kw_partition_list_free(&pl);
                }
            }
            ck_abort_msg("timed out waiting for %s", what);
        }
        cgt_poll_round(v, n, 10);
    }
}

void
cgt_poll_for(cgt_member **v, int n, int ms)
{
    int64_t end = cgt_now_ms() + ms;
    while (cgt_now_ms() < end)
        cgt_poll_round(v, n, 10);
}

int
cgt_assigned(cgt_member *m, char *buf, size_t cap)
{
    kw_partition_list l;
    memset(&l, 0, sizeof(l));
    ck_assert_int_eq(kw_consumer_assignment(m->k, &l, NULL), KW_ERR_OK);
    if (buf)
        spec(l.items, l.n, buf, cap);
    int n = (int)l.n;
    kw_partition_list_free(&l);
    return n;
}

bool
cgt_balanced(cgt_member **v, int n, int total, int each)
{
    int sum = 0;
    char seen[4096];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < n; i++) {
        if (!v[i])
            continue;
        kw_partition_list l;
        memset(&l, 0, sizeof(l));
        if (kw_consumer_assignment(v[i]->k, &l, NULL) != KW_ERR_OK)
            return false;
        bool ok = each <= 0 || (int)l.n == each;
        for (size_t j = 0; j < l.n; j++) {
            int32_t p = l.items[j].partition;
            if (p < 0 || p >= (int32_t)sizeof(seen) || seen[p]++)
                ok = false; /* one topic per test: partition numbers identify */
        }
        sum += (int)l.n;
        kw_partition_list_free(&l);
        if (!ok)
            return false;
    }
    return sum == total;
}

/* ---------------------------------------------------------------- kwire-mock */

void
cgt_mock_produce(kw_mock *mk, const char *topic, int32_t parts, size_t first, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char v[32];
        snprintf(v, sizeof(v), "%zu", first + i);
        kwt_fx_append(mk, topic, (int32_t)((first + i) % (size_t)parts), NULL, v, -1);
    }
}

kw_mock *
cgt_mock(int32_t brokers, const char *topic, int32_t parts)
{
    kwt_fx_mock_opts o;
    kwt_fx_mock_opts_init(&o);
    o.conf.brokers = brokers;
    o.groups.initial_rebalance_delay_ms = 200;
    o.groups.min_session_timeout_ms = 1000;
    o.groups.consumer_heartbeat_interval_ms = 300;
    o.groups.consumer_session_timeout_ms = 6000;
    o.topic = topic;
    o.partitions = parts;
    return kwt_fx_mock(&o);
}
