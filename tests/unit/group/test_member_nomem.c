/* The group member under allocation failure: whole scripted lives of a classic leader
 * (MEMBER_ID_REQUIRED, the assignor, a rebalance with a commit in the revoke callback, close)
 * and of a KIP-848 member (join, topic-id resolution, revoke, fencing, leave) run once with
 * every allocation succeeding, then again with allocation k failing, for every k. Each run must
 * end without a crash or a leak, and an input that reports KW_ERR_NOMEM must leave the member
 * FATAL with that error. The allocator also checks that every free gets the size that was
 * allocated (kw_allocator frees are sized). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "group/member.h"

typedef struct fail_alloc {
    long n;       /* allocations so far */
    long fail_at; /* the allocation number that fails; -1 never */
    long live;
    bool failed;
} fail_alloc;

/* Each block carries its size in a 16-byte header so free can check it. */
static void *
fa_alloc(void *ud, size_t size)
{
    fail_alloc *f = ud;
    if (f->n++ == f->fail_at) {
        f->failed = true;
        return NULL;
    }
    size_t *p = malloc(size + 16);
    if (!p)
        return NULL;
    p[0] = size;
    f->live++;
    return (char *)p + 16;
}

static void
fa_free(void *ud, void *ptr, size_t size)
{
    fail_alloc *f = ud;
    if (!ptr)
        return;
    size_t *p = (size_t *)((char *)ptr - 16);
    ck_assert_msg(p[0] == size, "freed %zu bytes of a %zu-byte block", size, p[0]);
    f->live--;
    free(p);
}

static void *
fa_realloc(void *ud, void *ptr, size_t old, size_t size)
{
    void *n = fa_alloc(ud, size);
    if (!n)
        return NULL;
    if (ptr) {
        memcpy(n, ptr, old < size ? old : size);
        fa_free(ud, ptr, old);
    }
    return n;
}

typedef struct run {
    kwi_member *m;
    int64_t now;
    kw_arena ar;
    int hb27;      /* classic: answer the first heartbeat with REBALANCE_IN_PROGRESS */
    int32_t epoch; /* KIP-848 */
    int cghb;      /* KIP-848 heartbeats answered */
    bool nomem_seen;
    bool nomem_reported;
    int seen[70]; /* requests by API key */
} run;

static void
check(run *r, kw_err e)
{
    if (e == KW_ERR_NOMEM) {
        r->nomem_seen = true;
        ck_assert_int_eq(kwi_member_state_get(r->m), KWI_MEMBER_FATAL);
    } else {
        ck_assert_int_eq(e, KW_ERR_OK);
    }
}

static kw_slice
sub_bytes(run *r, const char *t0, const char *t1)
{
    kw_slice topics[2] = {kw_slice_str(t0), kw_slice_str(t1)};
    kw_consumer_protocol_subscription s = {topics, t1 ? 2 : 1, KW_SLICE_NULL, NULL,
                                           0,      -1,         KW_SLICE_NULL};
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 4096);
    kw_consumer_protocol_encode(&kw_msg_consumer_protocol_subscription, 3, &w, &s);
    uint8_t *p = kw_arena_alloc(&r->ar, kw_wr_len(&w) + 1);
    memcpy(p, w.base, kw_wr_len(&w));
    kw_slice out = {p, (int32_t)kw_wr_len(&w)};
    kw_wr_fini(&w);
    return out;
}

static kw_slice
asg_bytes(run *r)
{
    int32_t parts[1] = {0};
    kw_consumer_protocol_topic_partition tp = {kw_slice_str("t0"), parts, 1};
    kw_consumer_protocol_assignment a = {&tp, 1, KW_SLICE_NULL};
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 4096);
    kw_consumer_protocol_encode(&kw_msg_consumer_protocol_assignment, 3, &w, &a);
    uint8_t *p = kw_arena_alloc(&r->ar, kw_wr_len(&w) + 1);
    memcpy(p, w.base, kw_wr_len(&w));
    kw_slice out = {p, (int32_t)kw_wr_len(&w)};
    kw_wr_fini(&w);
    return out;
}

/* A coordinator that says yes (with a few detours) to everything. */
static void
answer(run *r, const kwi_member_request *q)
{
    union {
        kw_find_coordinator_resp fc;
        kw_join_group_resp jg;
        kw_sync_group_resp sg;
        kw_heartbeat_resp hb;
        kw_leave_group_resp lg;
        kw_offset_commit_resp oc;
        kw_offset_fetch_resp of;
        kw_consumer_group_heartbeat_resp cg;
    } u;
    memset(&u, 0, sizeof(u));
    kw_join_group_resp_member mem[2];
    kw_consumer_group_heartbeat_topic_partitions tps[2];
    int32_t p0[2] = {0, 1}, p1[1] = {0};
    int16_t ver = q->def->max_ver;
    r->seen[q->api_key]++;
    switch (q->api_key) {
    case KWI_API_FIND_COORDINATOR:
        u.fc.node_id = 1;
        u.fc.host = kw_slice_str("b1");
        u.fc.port = 9092;
        ver = 3;
        break;
    case KWI_API_JOIN_GROUP: {
        const kw_join_group_req *jq = q->body;
        if (jq->member_id.len == 0) {
            u.jg.error_code = 79;
            u.jg.member_id = kw_slice_str("m-1");
            break;
        }
        u.jg.generation_id = 1;
        u.jg.protocol_type = kw_slice_str("consumer");
        u.jg.protocol_name = kw_slice_str("range");
        u.jg.leader = kw_slice_str("m-1");
        u.jg.member_id = kw_slice_str("m-1");
        mem[0] = (kw_join_group_resp_member){
            kw_slice_str("m-1"), KW_SLICE_NULL, sub_bytes(r, "t0", NULL), {0}};
        mem[1] = (kw_join_group_resp_member){
            kw_slice_str("m-2"), kw_slice_str("i-2"), sub_bytes(r, "t0", "t1"), {0}};
        u.jg.members = mem;
        u.jg.n_members = 2;
        break;
    }
    case KWI_API_SYNC_GROUP:
        u.sg.protocol_type = KW_SLICE_NULL;
        u.sg.protocol_name = KW_SLICE_NULL;
        u.sg.assignment = asg_bytes(r);
        break;
    case KWI_API_HEARTBEAT:
        u.hb.error_code = r->hb27++ == 0 ? 27 : 0;
        break;
    case KWI_API_CONSUMER_GROUP_HEARTBEAT: {
        const kw_consumer_group_heartbeat_req *cq = q->body;
        if (cq->member_epoch < 0)
            break;
        r->cghb++;
        if (r->cghb == 4) {
            u.cg.error_code = 110; /* fenced once */
            break;
        }
        u.cg.member_epoch = ++r->epoch;
        u.cg.heartbeat_interval_ms = 5000;
        u.cg.has_assignment = true;
        tps[0] =
            (kw_consumer_group_heartbeat_topic_partitions){{{1}}, p0, r->cghb == 2 ? 1 : 2, {0}};
        tps[1] = (kw_consumer_group_heartbeat_topic_partitions){{{2}}, p1, 1, {0}};
        u.cg.assignment.topic_partitions = tps;
        u.cg.assignment.n_topic_partitions = 2;
        break;
    }
    default:
        break;
    }
    kwi_member_resp resp = {q->seq, q->api_key, ver, KW_ERR_OK, &u};
    check(r, kwi_member_on_response(r->m, r->now, &resp));
}

static void
on_event(run *r, const kwi_member_event *ev)
{
    if (ev->type == KWI_MEMBER_EV_ERROR && ev->err.code == KW_ERR_NOMEM) {
        ck_assert(ev->err.fatal);
        r->nomem_reported = true;
    } else if (ev->type == KWI_MEMBER_EV_NEED_METADATA) {
        kwi_member_topic_md md[2] = {{kw_slice_str("t0"), {{1}}, 2},
                                     {kw_slice_str("t1"), {{2}}, 1}};
        check(r, kwi_member_on_metadata(r->m, r->now, md, 2));
    } else if (ev->type == KWI_MEMBER_EV_REVOKED && ev->parts->n) {
        kwi_member_offset off = {kw_slice_str(ev->parts->t[0].name), ev->parts->t[0].parts[0], 5,
                                 -1, KW_SLICE_NULL};
        kw_err e = kwi_member_commit(r->m, &off, 1, NULL);
        ck_assert(e == KW_ERR_OK || e == KW_ERR_NOMEM || e == KW_ERR_STATE);
    } else if (ev->type == KWI_MEMBER_EV_ASSIGNED && ev->parts->n) {
        kw_err e = kwi_member_fetch_offsets(r->m, ev->parts, NULL);
        ck_assert(e == KW_ERR_OK || e == KW_ERR_NOMEM || e == KW_ERR_STATE);
    }
}

/* As a client loop would: run the callbacks, then send one request and feed its answer, or
 * when nothing is to be sent, wait for the next deadline. */
static void
drive(run *r, int rounds)
{
    for (int i = 0; i < rounds; i++) {
        kwi_member_event ev;
        while (kwi_member_next_event(r->m, &ev))
            on_event(r, &ev);
        kwi_member_request q;
        if (kwi_member_next_request(r->m, &q)) {
            kwi_member_request copy = q;
            answer(r, &copy);
            continue;
        }
        int64_t d = kwi_member_next_deadline(r->m);
        if (d == INT64_MAX)
            return;
        r->now = d > r->now ? d : r->now;
        check(r, kwi_member_on_timer(r->m, r->now));
    }
}

/* One life; returns whether any allocation failed. */
static bool
life(kwi_member_protocol proto, long fail_at)
{
    fail_alloc f = {0, fail_at, 0, false};
    kw_allocator a = {fa_alloc, fa_realloc, fa_free, &f};
    kwi_member_cfg cfg;
    kwi_member_cfg_init(&cfg);
    cfg.alloc = &a;
    cfg.group_id = "g";
    cfg.protocol = proto;
    cfg.member_id = proto == KWI_MEMBER_CONSUMER ? "MEMBER-A" : NULL;
    cfg.assignors[0] = kwi_assignor_find(kw_slice_str("range"));
    cfg.n_assignors = 1;
    run r;
    memset(&r, 0, sizeof(r));
    r.now = 1000;
    kw_arena_init(&r.ar, NULL, 0);
    kw_err e = kwi_member_new(&cfg, &r.m, NULL);
    if (e == KW_ERR_NOMEM) {
        ck_assert(f.failed);
        ck_assert_int_eq(f.live, 0);
        kw_arena_fini(&r.ar);
        return true;
    }
    ck_assert_int_eq(e, KW_ERR_OK);
    kw_slice topics[2] = {kw_slice_str("t0"), kw_slice_str("t1")};
    e = kwi_member_subscribe(r.m, r.now, topics, proto == KWI_MEMBER_CONSUMER ? 2 : 1);
    /* The subscription's own copy failing changes nothing; a failure after it is FATAL. */
    if (e == KW_ERR_NOMEM)
        r.nomem_seen = kwi_member_state_get(r.m) == KWI_MEMBER_FATAL;
    else
        ck_assert_int_eq(e, KW_ERR_OK);
    drive(&r, 60);
    check(&r, kwi_member_on_poll(r.m, r.now));
    check(&r, kwi_member_leave(r.m, r.now));
    drive(&r, 20);
    kwi_member_state s = kwi_member_state_get(r.m);
    if (!f.failed) {
        ck_assert_msg(s == KWI_MEMBER_CLOSED, "a clean life ends CLOSED, not %s",
                      kwi_member_state_name(s));
        /* The clean life covers what the sweep is meant to break. */
        if (proto == KWI_MEMBER_CLASSIC) {
            ck_assert_int_ge(r.seen[KWI_API_JOIN_GROUP], 3);
            ck_assert_int_ge(r.seen[KWI_API_SYNC_GROUP], 2);
            ck_assert_int_ge(r.seen[KWI_API_HEARTBEAT], 2);
            ck_assert_int_ge(r.seen[KWI_API_OFFSET_COMMIT], 1);
            ck_assert_int_eq(r.seen[KWI_API_LEAVE_GROUP], 1);
        } else {
            ck_assert_int_ge(r.seen[KWI_API_CONSUMER_GROUP_HEARTBEAT], 6);
            ck_assert_int_ge(r.seen[KWI_API_OFFSET_COMMIT], 1);
        }
        ck_assert_int_ge(r.seen[KWI_API_OFFSET_FETCH], 1);
    } else
        ck_assert(s == KWI_MEMBER_CLOSED || s == KWI_MEMBER_FATAL);
    /* An input that ran out of memory reported it as the fatal error. */
    kwi_member_event ev;
    while (kwi_member_next_event(r.m, &ev))
        on_event(&r, &ev);
    if (r.nomem_seen)
        ck_assert_msg(r.nomem_reported, "allocation %ld failed; no fatal NOMEM event", fail_at);
    kwi_member_free(r.m);
    kw_arena_fini(&r.ar);
    ck_assert_int_eq(f.live, 0);
    return f.failed;
}

static void
sweep(kwi_member_protocol proto)
{
    ck_assert(!life(proto, -1));
    long k = 0;
    while (life(proto, k))
        k++;
    ck_assert_int_gt(k, 50); /* the script really allocates */
}

START_TEST(classic_sweep)
{
    sweep(KWI_MEMBER_CLASSIC);
}
END_TEST

START_TEST(consumer_sweep)
{
    sweep(KWI_MEMBER_CONSUMER);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("group_member_nomem");
    TCase *tc = tcase_create("nomem");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, classic_sweep);
    tcase_add_test(tc, consumer_sweep);
    suite_add_tcase(s, tc);
    return s;
}
