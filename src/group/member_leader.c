/* The classic group leader (GROUPS.md 1.2, 3): it decodes every member's Subscription from the
 * JoinGroup response, makes sure it has metadata for the union of their topics, runs the
 * assignor the group chose (src/group/assign.h) and sends one Assignment per member in
 * SyncGroup. It also remembers the partition counts it assigned with: only the leader watches
 * metadata, and a change makes it rejoin (Java's ConsumerCoordinator).
 *
 * The JoinGroup response frame is gone by the time metadata arrives, so everything the
 * assignment needs is copied into m->join_ar, which lives until the next generation. */
#include <stdlib.h>
#include <string.h>

#include "group/member_int.h"

static int
slice_cmp(const void *a, const void *b)
{
    const kw_slice *x = a, *y = b;
    int32_t n = x->len < y->len ? x->len : y->len;
    int c = n > 0 ? memcmp(x->ptr, y->ptr, (size_t)n) : 0;
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static kw_slice
join_copy(kwi_member *m, kw_slice s)
{
    if (s.len < 0)
        return KW_SLICE_NULL;
    uint8_t *p = kw_arena_alloc(&m->join_ar, (size_t)s.len + 1);
    if (!p) {
        m->nomem = true;
        return KW_SLICE_NULL;
    }
    if (s.len)
        memcpy(p, s.ptr, (size_t)s.len);
    return (kw_slice){p, s.len};
}

/* A member's metadata, decoded leniently; metadata that does not decode at all (another
 * client's bug) leaves that member with an empty subscription instead of failing everyone's
 * rebalance: it still gets its (empty) assignment. */
static const kw_consumer_protocol_subscription *
decode_sub(kwi_member *m, kw_slice meta)
{
    kw_consumer_protocol_subscription *sub = kw_arena_alloc(&m->join_ar, sizeof(*sub));
    if (!sub) {
        m->nomem = true;
        return NULL;
    }
    kw_err e = KW_ERR_MALFORMED;
    if (meta.len > 0) {
        kw_rd rd;
        kw_rd_init(&rd, meta.ptr, (size_t)meta.len);
        e = kw_consumer_protocol_decode(&kw_msg_consumer_protocol_subscription, &rd, &m->join_ar,
                                        sub, NULL);
    }
    if (e == KW_ERR_NOMEM)
        m->nomem = true;
    if (e) {
        memset(sub, 0, sizeof(*sub));
        sub->user_data = KW_SLICE_NULL;
        sub->rack_id = KW_SLICE_NULL;
        sub->generation_id = -1;
    }
    return sub;
}

/* The sorted union of the members' topics. */
static void
collect_topics(kwi_member *m)
{
    size_t total = 0;
    for (int32_t i = 0; i < m->n_jm; i++)
        total += (size_t)m->jm[i].n_topics;
    m->group_topics = kw_arena_calloc(&m->join_ar, total + 1, sizeof(kw_slice));
    if (!m->group_topics) {
        m->nomem = true;
        return;
    }
    size_t n = 0;
    for (int32_t i = 0; i < m->n_jm; i++)
        for (int32_t j = 0; j < m->jm[i].n_topics; j++)
            if (m->jm[i].topics[j].len > 0)
                m->group_topics[n++] = m->jm[i].topics[j];
    qsort(m->group_topics, n, sizeof(kw_slice), slice_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || slice_cmp(&m->group_topics[u - 1], &m->group_topics[i]) != 0)
            m->group_topics[u++] = m->group_topics[i];
    m->n_group_topics = (int32_t)u;
}

void
kwi_leader_begin(kwi_member *m, const kw_join_group_resp *resp)
{
    kw_arena_reset(&m->join_ar);
    m->jm = NULL;
    m->n_jm = 0;
    m->group_topics = NULL;
    m->n_group_topics = 0;
    int32_t n = resp->n_members > 0 ? resp->n_members : 0;
    m->jm = kw_arena_calloc(&m->join_ar, (size_t)n + 1, sizeof(*m->jm));
    if (!m->jm) {
        m->nomem = true;
        return;
    }
    for (int32_t i = 0; i < n && !m->nomem; i++) {
        const kw_join_group_resp_member *jm = &resp->members[i];
        kw_slice mid = join_copy(m, jm->member_id);
        kw_slice iid = join_copy(m, jm->group_instance_id);
        kw_slice meta = join_copy(m, jm->metadata);
        const kw_consumer_protocol_subscription *sub = decode_sub(m, meta);
        if (!sub)
            return;
        kwi_assign_member_from_subscription(&m->jm[i], mid, iid, sub);
        m->n_jm++;
    }
    collect_topics(m);
    m->t_md_wait = m->now + m->cfg.request_timeout_ms;
    /* Ask for the topics the member has never heard of (Java's leader extends its metadata
     * to the group's subscription and waits for it). */
    kw_slice *missing =
        kw_arena_calloc(&m->join_ar, (size_t)m->n_group_topics + 1, sizeof(kw_slice));
    if (!missing) {
        m->nomem = true;
        return;
    }
    size_t nm = 0;
    for (int32_t i = 0; i < m->n_group_topics; i++)
        if (!kwi_member_md_find(m, m->group_topics[i]))
            missing[nm++] = m->group_topics[i];
    kwi_member_emit_need_metadata(m, missing, nm, NULL, 0);
}

bool
kwi_leader_metadata_ready(const kwi_member *m)
{
    for (int32_t i = 0; i < m->n_group_topics; i++)
        if (!kwi_member_md_find(m, m->group_topics[i]))
            return false;
    return true;
}

static void
snapshot_free(kwi_member *m)
{
    for (size_t i = 0; i < m->n_lsnap; i++)
        m->a->free(m->a->ud, m->lsnap[i].name, m->lsnap[i].len + 1);
    if (m->lsnap)
        m->a->free(m->a->ud, m->lsnap, m->cap_lsnap * sizeof(*m->lsnap));
    m->lsnap = NULL;
    m->n_lsnap = m->cap_lsnap = 0;
}

static void
snapshot_take(kwi_member *m, const kwi_assign_topic *t, int32_t n)
{
    snapshot_free(m);
    if (n == 0)
        return;
    m->lsnap = m->a->alloc(m->a->ud, (size_t)n * sizeof(*m->lsnap));
    if (!m->lsnap) {
        m->nomem = true;
        return;
    }
    m->cap_lsnap = (size_t)n;
    for (int32_t i = 0; i < n; i++) {
        char *s = m->a->alloc(m->a->ud, (size_t)t[i].name.len + 1);
        if (!s) {
            m->nomem = true;
            return;
        }
        memcpy(s, t[i].name.ptr, (size_t)t[i].name.len);
        s[t[i].name.len] = '\0';
        m->lsnap[i] = (md_entry){s, (size_t)t[i].name.len, {{0}}, t[i].n_partitions};
        m->n_lsnap++;
    }
}

kw_err
kwi_leader_assign(kwi_member *m, req_node *r, kw_sync_group_req *q)
{
    kwi_assign_topic *topics =
        kw_arena_calloc(&m->join_ar, (size_t)m->n_group_topics + 1, sizeof(*topics));
    if (!topics)
        return KW_ERR_NOMEM;
    for (int32_t i = 0; i < m->n_group_topics; i++) {
        const md_entry *md = kwi_member_md_find(m, m->group_topics[i]);
        topics[i].name = m->group_topics[i];
        topics[i].n_partitions = md && md->partitions > 0 ? md->partitions : 0;
    }
    kwi_assign_in in = {m->jm, m->n_jm, topics, m->n_group_topics, m->a};
    kwi_assign_out out;
    kw_err e = kwi_assign_run(m->chosen, &in, &out);
    if (e)
        return e;
    e = kwi_assign_sync_assignments(&in, &out, &r->arena, &q->assignments);
    if (e == KW_ERR_OK) {
        q->n_assignments = out.n_members;
        /* The ids borrowed from the join arena must live as long as the request. */
        for (int32_t i = 0; i < q->n_assignments; i++)
            q->assignments[i].member_id = kwi_member_arena_bytes(m, r, q->assignments[i].member_id);
        snapshot_take(m, topics, m->n_group_topics);
    }
    kwi_assign_out_fini(&out);
    return m->nomem ? KW_ERR_NOMEM : e;
}

bool
kwi_leader_metadata_changed(const kwi_member *m)
{
    for (size_t i = 0; i < m->n_lsnap; i++) {
        const md_entry *md = kwi_member_md_find(
            m, (kw_slice){(const uint8_t *)m->lsnap[i].name, (int32_t)m->lsnap[i].len});
        int32_t now = md && md->partitions > 0 ? md->partitions : 0;
        if (md && now != m->lsnap[i].partitions)
            return true;
    }
    return false;
}

void
kwi_leader_fini(kwi_member *m)
{
    kw_arena_fini(&m->join_ar);
    m->jm = NULL;
    m->n_jm = 0;
    m->group_topics = NULL;
    m->n_group_topics = 0;
    snapshot_free(m);
}
