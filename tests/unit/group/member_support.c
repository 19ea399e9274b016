/* Test support for the group member: see member_support.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "member_support.h"

void
mt_cfg_classic(kwi_member_cfg *cfg, const char *assignor, ...)
{
    kwi_member_cfg_init(cfg);
    cfg->group_id = "g";
    va_list ap;
    va_start(ap, assignor);
    for (const char *a = assignor; a; a = va_arg(ap, const char *)) {
        const kwi_assignor *as = kwi_assignor_find(kw_slice_str(a));
        ck_assert_msg(as != NULL, "no assignor %s", a);
        cfg->assignors[cfg->n_assignors++] = as;
    }
    va_end(ap);
}

void
mt_cfg_consumer(kwi_member_cfg *cfg)
{
    kwi_member_cfg_init(cfg);
    cfg->protocol = KWI_MEMBER_CONSUMER;
    cfg->group_id = "g";
    cfg->member_id = "MEMBER-A";
}

void
mt_init(mt *t, const kwi_member_cfg *cfg)
{
    memset(t, 0, sizeof(*t));
    t->now = 1000000;
    kw_arena_init(&t->ar, NULL, 0);
    kw_error err;
    kw_error_init(&err);
    t->proto = cfg->n_assignors ? cfg->assignors[0]->name : NULL;
    kw_err e = kwi_member_new(cfg, &t->m, &err);
    ck_assert_msg(e == KW_ERR_OK, "kwi_member_new: %s", err.msg);
}

void
mt_fini(mt *t)
{
    kwi_member_free(t->m);
    kw_arena_fini(&t->ar);
}

void
mt_subscribe(mt *t, const char *topic, ...)
{
    kw_slice v[32];
    size_t n = 0;
    va_list ap;
    va_start(ap, topic);
    for (const char *s = topic; s; s = va_arg(ap, const char *))
        v[n++] = kw_slice_str(s);
    va_end(ap);
    ck_assert_int_eq(kwi_member_subscribe(t->m, t->now, v, n), KW_ERR_OK);
}

void
mt_at(mt *t, int64_t at)
{
    if (at > t->now)
        t->now = at;
    ck_assert_int_eq(kwi_member_on_timer(t->m, t->now), KW_ERR_OK);
}

void
mt_deadline(mt *t)
{
    int64_t d = kwi_member_next_deadline(t->m);
    ck_assert_msg(d != INT64_MAX, "no deadline in state %s",
                  kwi_member_state_name(kwi_member_state_get(t->m)));
    mt_at(t, d);
}

static const char *
api_name(int16_t api)
{
    const kw_msgdef *d = kw_msgdef_by_key(api, false);
    return d ? d->name : "?";
}

const void *
mt_req(mt *t, int16_t api)
{
    ck_assert_msg(kwi_member_next_request(t->m, &t->req), "expected %s, no request (state %s)",
                  api_name(api), kwi_member_state_name(kwi_member_state_get(t->m)));
    ck_assert_msg(t->req.api_key == api, "expected %s, got %s", api_name(api),
                  api_name(t->req.api_key));
    ck_assert_ptr_eq(t->req.def, kw_msgdef_by_key(api, false));
    ck_assert_int_ge(t->req.min_version, t->req.def->min_ver);
    ck_assert_int_le(t->req.min_version, t->req.def->max_ver);
    /* Every version the member allows must be encodable. */
    for (int16_t v = t->req.min_version; v <= t->req.def->max_ver; v++) {
        kw_wr w;
        kw_wr_init_dyn(&w, NULL, 1u << 20);
        kw_err e = kw_msg_encode(t->req.def, v, &w, t->req.body);
        ck_assert_msg(e == KW_ERR_OK, "%s v%d does not encode: %s", t->req.def->name, v,
                      kw_err_name(e));
        kw_wr_fini(&w);
    }
    if (api == KWI_API_FIND_COORDINATOR)
        ck_assert_int_eq(t->req.node_id, -1);
    else
        ck_assert_int_eq(t->req.node_id, kwi_member_coordinator(t->m));
    return t->req.body;
}

void
mt_no_req(mt *t)
{
    kwi_member_request r;
    bool got = kwi_member_next_request(t->m, &r);
    ck_assert_msg(!got, "unexpected request %s", got ? api_name(r.api_key) : "");
}

void
mt_reply_to(mt *t, uint64_t seq, int16_t api, int16_t version, const void *body)
{
    kwi_member_resp r = {seq, api, version, KW_ERR_OK, body};
    ck_assert_int_eq(kwi_member_on_response(t->m, t->now, &r), KW_ERR_OK);
}

void
mt_reply(mt *t, int16_t version, const void *body)
{
    mt_reply_to(t, t->req.seq, t->req.api_key, version, body);
}

void
mt_reply_err(mt *t, kw_err err)
{
    kwi_member_resp r = {t->req.seq, t->req.api_key, 0, err, NULL};
    ck_assert_int_eq(kwi_member_on_response(t->m, t->now, &r), KW_ERR_OK);
}

void
mt_find_coordinator(mt *t, int32_t node)
{
    const kw_find_coordinator_req *q = mt_req(t, KWI_API_FIND_COORDINATOR);
    mt_str(q->key, "g");
    ck_assert_int_eq(q->key_type, 0);
    ck_assert_int_eq(q->n_coordinator_keys, 1);
    mt_str(q->coordinator_keys[0], "g");
    char *host = kw_arena_alloc(&t->ar, 32);
    snprintf(host, 32, "broker%d", node);
    kw_find_coordinator_resp resp = {0};
    resp.node_id = node;
    resp.host = kw_slice_str(host);
    resp.port = 9092;
    mt_reply(t, 3, &resp);
    ck_assert_int_eq(kwi_member_coordinator(t->m), node);
}

static const char *const ev_names[] = {
    "?",           "ASSIGNED",   "REVOKED", "LOST",  "COMMIT_POINT", "NEED_METADATA",
    "COMMIT_DONE", "FETCH_DONE", "ERROR",   "CLOSED"};

const kwi_member_event *
mt_ev(mt *t, kwi_member_ev_type type)
{
    ck_assert_msg(kwi_member_next_event(t->m, &t->ev), "expected event %s, none", ev_names[type]);
    ck_assert_msg(t->ev.type == type, "expected event %s, got %s (%s)", ev_names[type],
                  ev_names[t->ev.type], t->ev.err.msg);
    ck_assert_ptr_nonnull(t->ev.parts);
    return &t->ev;
}

void
mt_no_ev(mt *t)
{
    kwi_member_event e;
    bool got = kwi_member_next_event(t->m, &e);
    ck_assert_msg(!got, "unexpected event %s (%s)", got ? ev_names[e.type] : "",
                  got ? e.err.msg : "");
}

void
mt_set(kwi_tpset *s, const char *spec)
{
    kwi_tpset_init(s, NULL);
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", spec);
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(tok, ':');
        ck_assert_ptr_nonnull(colon);
        *colon = '\0';
        char *s2 = NULL;
        for (char *p = strtok_r(colon + 1, ",", &s2); p; p = strtok_r(NULL, ",", &s2))
            ck_assert_int_eq(kwi_tpset_add(s, kw_slice_str(tok), atoi(p)), KW_ERR_OK);
    }
}

static void
set_str(const kwi_tpset *s, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int32_t i = 0; i < s->n; i++) {
        n += (size_t)snprintf(out + n, cap - n, "%s%s:", i ? " " : "", s->t[i].name);
        for (int32_t j = 0; j < s->t[i].n && n < cap; j++)
            n += (size_t)snprintf(out + n, cap - n, "%s%d", j ? "," : "", s->t[i].parts[j]);
        if (n >= cap)
            break;
    }
}

void
mt_parts(const kwi_tpset *s, const char *spec)
{
    kwi_tpset want;
    mt_set(&want, spec);
    char got[512], exp[512];
    set_str(s, got, sizeof(got));
    set_str(&want, exp, sizeof(exp));
    ck_assert_msg(kwi_tpset_equal(s, &want), "partitions: got \"%s\", want \"%s\"", got, exp);
    kwi_tpset_fini(&want);
}

static kw_slice
arena_copy(mt *t, const kw_wr *w)
{
    uint8_t *p = kw_arena_alloc(&t->ar, kw_wr_len(w) + 1);
    memcpy(p, w->base, kw_wr_len(w));
    return (kw_slice){p, (int32_t)kw_wr_len(w)};
}

static kw_consumer_protocol_topic_partition *
wire_parts(mt *t, const kwi_tpset *s)
{
    kw_consumer_protocol_topic_partition *v = kw_arena_calloc(&t->ar, (size_t)s->n + 1, sizeof(*v));
    for (int32_t i = 0; i < s->n; i++) {
        v[i].topic = kw_slice_str(s->t[i].name);
        v[i].n_partitions = s->t[i].n;
        v[i].partitions = kw_arena_calloc(&t->ar, (size_t)s->t[i].n + 1, sizeof(int32_t));
        memcpy(v[i].partitions, s->t[i].parts, (size_t)s->t[i].n * sizeof(int32_t));
        v[i].topic.ptr = kw_arena_alloc(&t->ar, s->t[i].name_len + 1);
        memcpy((void *)v[i].topic.ptr, s->t[i].name, s->t[i].name_len);
    }
    return v;
}

kw_slice
mt_assignment(mt *t, const char *spec)
{
    kwi_tpset s;
    mt_set(&s, spec);
    kw_consumer_protocol_assignment a = {wire_parts(t, &s), s.n, KW_SLICE_NULL};
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1u << 20);
    ck_assert_int_eq(kw_consumer_protocol_encode(&kw_msg_consumer_protocol_assignment, 3, &w, &a),
                     KW_ERR_OK);
    kw_slice out = arena_copy(t, &w);
    kw_wr_fini(&w);
    kwi_tpset_fini(&s);
    return out;
}

kw_slice
mt_subscription(mt *t, const char *owned_spec, int32_t gen, const char *topic, ...)
{
    kw_slice *topics = kw_arena_calloc(&t->ar, 32, sizeof(kw_slice));
    int32_t n = 0;
    va_list ap;
    va_start(ap, topic);
    for (const char *s = topic; s; s = va_arg(ap, const char *))
        topics[n++] = kw_slice_str(s);
    va_end(ap);
    kwi_tpset owned;
    mt_set(&owned, owned_spec);
    kw_consumer_protocol_subscription sub = {topics,  n,   KW_SLICE_NULL, wire_parts(t, &owned),
                                             owned.n, gen, KW_SLICE_NULL};
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1u << 20);
    ck_assert_int_eq(
        kw_consumer_protocol_encode(&kw_msg_consumer_protocol_subscription, 3, &w, &sub),
        KW_ERR_OK);
    kw_slice out = arena_copy(t, &w);
    kw_wr_fini(&w);
    kwi_tpset_fini(&owned);
    return out;
}

void
mt_decode_subscription(mt *t, kw_slice bytes, kw_consumer_protocol_subscription *out)
{
    kw_rd rd;
    kw_rd_init(&rd, bytes.ptr, (size_t)bytes.len);
    ck_assert_int_eq(
        kw_consumer_protocol_decode(&kw_msg_consumer_protocol_subscription, &rd, &t->ar, out, NULL),
        KW_ERR_OK);
}

void
mt_decode_assignment(mt *t, kw_slice bytes, kwi_tpset *out)
{
    kwi_tpset_init(out, NULL);
    kw_consumer_protocol_assignment a;
    kw_rd rd;
    kw_rd_init(&rd, bytes.ptr, (size_t)bytes.len);
    ck_assert_int_eq(
        kw_consumer_protocol_decode(&kw_msg_consumer_protocol_assignment, &rd, &t->ar, &a, NULL),
        KW_ERR_OK);
    for (int32_t i = 0; i < a.n_assigned_partitions; i++)
        for (int32_t j = 0; j < a.assigned_partitions[i].n_partitions; j++)
            ck_assert_int_eq(kwi_tpset_add(out, a.assigned_partitions[i].topic,
                                           a.assigned_partitions[i].partitions[j]),
                             KW_ERR_OK);
}

void
mt_str(kw_slice s, const char *want)
{
    if (!want) {
        ck_assert_msg(s.len == -1, "expected null, got \"%.*s\"", s.len, (const char *)s.ptr);
        return;
    }
    ck_assert_msg(kw_slice_eq(s, want), "expected \"%s\", got \"%.*s\" (len %d)", want,
                  s.len > 0 ? s.len : 0, s.len > 0 ? (const char *)s.ptr : "", s.len);
}

kw_uuid
mt_uuid(uint8_t b)
{
    kw_uuid u;
    memset(u.b, b, sizeof(u.b));
    return u;
}

void
mt_metadata(mt *t, const char *name, int32_t parts, uint8_t idb)
{
    kwi_member_topic_md md = {kw_slice_str(name), idb ? mt_uuid(idb) : (kw_uuid){{0}}, parts};
    ck_assert_int_eq(kwi_member_on_metadata(t->m, t->now, &md, 1), KW_ERR_OK);
}

void
mt_classic_join(mt *t, int32_t gen, const char *spec)
{
    mt_find_coordinator(t, 1);
    const kw_join_group_req *jq = mt_req(t, KWI_API_JOIN_GROUP);
    mt_str(jq->member_id, "");
    kw_join_group_resp jr = {0};
    jr.error_code = 79; /* MEMBER_ID_REQUIRED */
    jr.generation_id = -1;
    jr.member_id = kw_slice_str("m-1");
    jr.protocol_name = KW_SLICE_NULL;
    jr.protocol_type = KW_SLICE_NULL;
    mt_reply(t, 9, &jr);
    jq = mt_req(t, KWI_API_JOIN_GROUP);
    mt_str(jq->member_id, "m-1");
    memset(&jr, 0, sizeof(jr));
    jr.generation_id = gen;
    jr.protocol_type = kw_slice_str("consumer");
    jr.protocol_name = kw_slice_str(t->proto);
    jr.leader = kw_slice_str("leader");
    jr.member_id = kw_slice_str("m-1");
    mt_reply(t, 9, &jr);
    const kw_sync_group_req *sq = mt_req(t, KWI_API_SYNC_GROUP);
    ck_assert_int_eq(sq->generation_id, gen);
    mt_str(sq->member_id, "m-1");
    ck_assert_int_eq(sq->n_assignments, 0);
    kw_sync_group_resp sr = {0};
    sr.protocol_type = kw_slice_str("consumer");
    sr.protocol_name = jr.protocol_name;
    sr.assignment = mt_assignment(t, spec);
    mt_reply(t, 5, &sr);
    ck_assert_int_eq(kwi_member_state_get(t->m), KWI_MEMBER_STABLE);
    mt_parts(mt_ev(t, KWI_MEMBER_EV_ASSIGNED)->parts, spec);
    ck_assert_int_eq(t->ev.generation, gen);
    mt_parts(kwi_member_owned(t->m), spec);
}
