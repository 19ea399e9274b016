/* The KIP-848 consumer-protocol member on virtual time against a scripted coordinator: the
 * join heartbeat, assignment by topic id resolved through metadata (unknown ids asked for and
 * reconciled when they arrive), revoke-before-assign with a commit inside the revoke callback
 * before the acknowledgement, the heartbeat cadence and which fields each heartbeat carries,
 * fencing, the leave epochs (-1, -2 static), the poll timeout, and error handling. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "member_support.h"

/* "1:0,1 2:0": topic mt_uuid(1) partitions 0 and 1, topic mt_uuid(2) partition 0. */
static kw_consumer_group_heartbeat_assignment
id_assignment(mt *t, const char *spec)
{
    kw_consumer_group_heartbeat_assignment a;
    memset(&a, 0, sizeof(a));
    a.topic_partitions = kw_arena_calloc(&t->ar, 8, sizeof(*a.topic_partitions));
    char buf[128];
    strncpy(buf, spec, sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = '\0';
    char *save = NULL;
    for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        kw_consumer_group_heartbeat_topic_partitions *tp =
            &a.topic_partitions[a.n_topic_partitions++];
        tp->topic_id = mt_uuid((uint8_t)atoi(tok));
        tp->partitions = kw_arena_calloc(&t->ar, 16, sizeof(int32_t));
        char *s2 = NULL;
        for (char *p = strtok_r(strchr(tok, ':') + 1, ",", &s2); p; p = strtok_r(NULL, ",", &s2))
            tp->partitions[tp->n_partitions++] = atoi(p);
    }
    return a;
}

/* Answer the last heartbeat: error `code`, epoch, interval, and an assignment spec or NULL. */
static void
hb_reply(mt *t, int16_t code, int32_t epoch, int32_t interval, const char *spec)
{
    kw_consumer_group_heartbeat_resp r;
    memset(&r, 0, sizeof(r));
    r.error_code = code;
    r.error_message = KW_SLICE_NULL;
    r.member_id = code ? KW_SLICE_NULL : kw_slice_str("MEMBER-A");
    r.member_epoch = epoch;
    r.heartbeat_interval_ms = interval;
    if (spec) {
        r.has_assignment = true;
        r.assignment = id_assignment(t, spec);
    }
    mt_reply(t, 1, &r);
}

/* The request's TopicPartitions: "null", "" (empty) or "1:0,1 2:0". */
static void
tps_eq(const kw_consumer_group_heartbeat_req *q, const char *want)
{
    if (!strcmp(want, "null")) {
        ck_assert_int_eq(q->n_topic_partitions, -1);
        return;
    }
    char got[256] = "";
    size_t n = 0;
    for (int32_t i = 0; i < q->n_topic_partitions; i++) {
        n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%d:", i ? " " : "",
                              q->topic_partitions[i].topic_id.b[0]);
        for (int32_t j = 0; j < q->topic_partitions[i].n_partitions; j++)
            n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%d", j ? "," : "",
                                  q->topic_partitions[i].partitions[j]);
    }
    ck_assert_str_eq(got, want);
}

static void
names_eq(const kw_consumer_group_heartbeat_req *q, const char *want)
{
    if (!strcmp(want, "null")) {
        ck_assert_int_eq(q->n_subscribed_topic_names, -1);
        return;
    }
    char got[256] = "";
    size_t n = 0;
    for (int32_t i = 0; i < q->n_subscribed_topic_names; i++)
        n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%.*s", i ? "," : "",
                              q->subscribed_topic_names[i].len,
                              (const char *)q->subscribed_topic_names[i].ptr);
    ck_assert_str_eq(got, want);
}

/* A heartbeat carrying only the identity (nothing changed). */
static void
minimal(const kw_consumer_group_heartbeat_req *q)
{
    ck_assert_int_eq(q->rebalance_timeout_ms, -1);
    names_eq(q, "null");
    mt_str(q->subscribed_topic_regex, NULL);
    mt_str(q->server_assignor, NULL);
    mt_str(q->rack_id, NULL);
}

/* Subscribe to t0 (id 1, 3 partitions, known) and join with `spec`, acknowledged; STABLE. */
static void
joined(mt *t, int32_t epoch, const char *spec, const char *owned)
{
    mt_metadata(t, "t0", 3, 1);
    mt_subscribe(t, "t0", NULL);
    mt_find_coordinator(t, 1);
    mt_req(t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    hb_reply(t, 0, epoch, 5000, spec);
    mt_ev(t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_parts(mt_ev(t, KWI_MEMBER_EV_ASSIGNED)->parts, owned);
    const kw_consumer_group_heartbeat_req *q = mt_req(t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    ck_assert_int_eq(q->member_epoch, epoch);
    hb_reply(t, 0, epoch, 5000, NULL);
    ck_assert_int_eq(kwi_member_state_get(t->m), KWI_MEMBER_STABLE);
}

START_TEST(join_and_resolve_topic_ids)
{
    kwi_member_cfg cfg;
    mt_cfg_consumer(&cfg);
    cfg.remote_assignor = "uniform";
    cfg.client_rack = "rack-1";
    mt t;
    mt_init(&t, &cfg);
    mt_metadata(&t, "t0", 3, 1);
    mt_subscribe(&t, "t1", "t0", NULL);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_JOINING);
    mt_find_coordinator(&t, 1);
    const kw_consumer_group_heartbeat_req *q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    ck_assert_int_eq(t.req.node_id, 1);
    mt_str(q->group_id, "g");
    mt_str(q->member_id, "MEMBER-A");
    ck_assert_int_eq(q->member_epoch, 0);
    mt_str(q->instance_id, NULL);
    mt_str(q->rack_id, "rack-1");
    ck_assert_int_eq(q->rebalance_timeout_ms, 300000);
    names_eq(q, "t0,t1");
    mt_str(q->subscribed_topic_regex, NULL);
    mt_str(q->server_assignor, "uniform");
    tps_eq(q, ""); /* epoch 0 carries [] */

    /* t1's id is unknown: its partition is assigned but not owned until metadata names it. */
    hb_reply(&t, 0, 1, 5000, "2:0 1:1,0");
    ck_assert_int_eq(kwi_member_generation(t.m), 1);
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_NEED_METADATA);
    ck_assert_int_eq(ev->n_topics, 0);
    ck_assert_int_eq(ev->n_topic_ids, 1);
    ck_assert(!memcmp(&ev->topic_ids[0],
                      &(kw_uuid){{2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2}},
                      sizeof(kw_uuid)));
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT)->parts, "");
    ev = mt_ev(&t, KWI_MEMBER_EV_ASSIGNED);
    mt_parts(ev->parts, "t0:0,1");
    ck_assert_int_eq(ev->generation, 1);
    mt_no_ev(&t);
    q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    ck_assert_int_eq(q->member_epoch, 1);
    tps_eq(q, "1:0,1");
    minimal(q);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_RECONCILING);
    hb_reply(&t, 0, 1, 5000, NULL);
    mt_no_req(&t);

    /* The metadata arrives: reconcile again, and acknowledge at once. */
    mt_metadata(&t, "t1", 1, 2);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT)->parts, "t0:0,1");
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_ASSIGNED)->parts, "t1:0");
    mt_no_ev(&t);
    q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    tps_eq(q, "1:0,1 2:0");
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_STABLE);
    hb_reply(&t, 0, 2, 5000, NULL);
    ck_assert_int_eq(kwi_member_generation(t.m), 2);
    mt_parts(kwi_member_owned(t.m), "t0:0,1 t1:0");
    mt_fini(&t);
}
END_TEST

START_TEST(revoke_commit_then_assign_then_ack)
{
    kwi_member_cfg cfg;
    mt_cfg_consumer(&cfg);
    mt t;
    mt_init(&t, &cfg);
    mt_metadata(&t, "t1", 2, 2);
    joined(&t, 4, "1:0,1,2", "t0:0,1,2");

    /* The regular heartbeat, one interval after the last send, carries only the identity. */
    mt_deadline(&t);
    const kw_consumer_group_heartbeat_req *q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    ck_assert_int_eq(q->member_epoch, 4);
    minimal(q);
    tps_eq(q, "null");
    hb_reply(&t, 0, 4, 5000, "1:0,1 2:0");

    mt_parts(mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT)->parts, "t0:0,1,2");
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_REVOKED);
    mt_parts(ev->parts, "t0:2");
    ck_assert_int_eq(ev->generation, 4);
    /* The revoke callback commits t0-2 with the epoch it still holds. */
    kwi_member_offset off = {kw_slice_str("t0"), 2, 77, 1, KW_SLICE_NULL};
    uint64_t cseq;
    ck_assert_int_eq(kwi_member_commit(t.m, &off, 1, &cseq), KW_ERR_OK);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_ASSIGNED)->parts, "t1:0");
    mt_no_ev(&t);
    const kw_offset_commit_req *cq = mt_req(&t, KWI_API_OFFSET_COMMIT);
    ck_assert_int_eq(t.req.min_version, 9); /* KIP-848 members need OffsetCommit v9 */
    ck_assert_int_eq(cq->generation_id_or_member_epoch, 4);
    mt_str(cq->member_id, "MEMBER-A");
    ck_assert(!memcmp(&cq->topics[0].topic_id,
                      &(kw_uuid){{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
                      sizeof(kw_uuid)));
    /* The acknowledgement waits for the commit. */
    mt_no_req(&t);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_ACKNOWLEDGING);
    kw_offset_commit_resp_partition rp = {2, 0, {0}};
    kw_offset_commit_resp_topic rt = {kw_slice_str("t0"), {{0}}, &rp, 1, {0}};
    kw_offset_commit_resp cr = {0, &rt, 1, {0}};
    mt_reply(&t, 9, &cr);
    ck_assert(mt_ev(&t, KWI_MEMBER_EV_COMMIT_DONE)->seq == cseq);
    q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    ck_assert_int_eq(q->member_epoch, 4);
    tps_eq(q, "1:0,1 2:0");
    hb_reply(&t, 0, 5, 5000, NULL);
    ck_assert_int_eq(kwi_member_generation(t.m), 5);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_STABLE);
    mt_parts(kwi_member_owned(t.m), "t0:0,1 t1:0");

    /* The same target again changes nothing; a smaller one revokes without assigning. */
    mt_deadline(&t);
    mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    hb_reply(&t, 0, 5, 5000, "2:0 1:0,1");
    mt_no_ev(&t);
    mt_no_req(&t);
    mt_deadline(&t);
    mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    hb_reply(&t, 0, 5, 5000, "1:0");
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_REVOKED)->parts, "t0:1 t1:0");
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_ASSIGNED)->parts, "");
    q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    tps_eq(q, "1:0");
    mt_fini(&t);
}
END_TEST

START_TEST(cadence_and_changed_fields)
{
    kwi_member_cfg cfg;
    mt_cfg_consumer(&cfg);
    mt t;
    mt_init(&t, &cfg);
    joined(&t, 1, "1:0", "t0:0");
    int64_t sent = t.now;
    mt_deadline(&t);
    ck_assert_int_eq(t.now, sent + 5000);
    mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    sent = t.now;
    t.now += 300;
    hb_reply(&t, 0, 1, 7000, NULL); /* the broker's interval wins */
    ck_assert_int_eq(kwi_member_next_deadline(t.m), sent + 7000);

    /* A subscription change goes out at once, with only the names. */
    mt_subscribe(&t, "t0", "t2", NULL);
    const kw_consumer_group_heartbeat_req *q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    names_eq(q, "t0,t2");
    ck_assert_int_eq(q->rebalance_timeout_ms, -1);
    tps_eq(q, "null");
    hb_reply(&t, 0, 1, 7000, NULL);
    mt_deadline(&t);
    q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    minimal(q);
    mt_fini(&t);
}
END_TEST

START_TEST(fenced_rejoins_at_epoch_zero)
{
    static const int16_t codes[] = {110, 25};
    for (size_t i = 0; i < 2; i++) {
        kwi_member_cfg cfg;
        mt_cfg_consumer(&cfg);
        mt t;
        mt_init(&t, &cfg);
        joined(&t, 6, "1:0,2", "t0:0,2");
        mt_deadline(&t);
        mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
        hb_reply(&t, codes[i], 0, 0, NULL);
        const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_LOST);
        mt_parts(ev->parts, "t0:0,2");
        mt_no_ev(&t);
        ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_JOINING);
        const kw_consumer_group_heartbeat_req *q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
        ck_assert_int_eq(q->member_epoch, 0);
        mt_str(q->member_id, "MEMBER-A"); /* the same id */
        names_eq(q, "t0");
        ck_assert_int_eq(q->rebalance_timeout_ms, 300000);
        tps_eq(q, "");
        kwi_member_offset off = {kw_slice_str("t0"), 0, 1, -1, KW_SLICE_NULL};
        ck_assert_int_eq(kwi_member_commit(t.m, &off, 1, NULL), KW_ERR_STATE);
        /* Fenced again at epoch 0 (a 4.0 coordinator still holding the old entry): no spin,
         * the next try waits retry.backoff.ms. */
        int64_t at = t.now;
        hb_reply(&t, codes[i], 0, 0, NULL);
        mt_no_ev(&t);
        mt_no_req(&t);
        mt_deadline(&t);
        ck_assert_int_eq(t.now, at + 100);
        q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
        ck_assert_int_eq(q->member_epoch, 0);
        hb_reply(&t, 0, 7, 5000, "1:1");
        mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
        mt_parts(mt_ev(&t, KWI_MEMBER_EV_ASSIGNED)->parts, "t0:1");
        mt_fini(&t);
    }
}
END_TEST

START_TEST(leave_dynamic_epoch_minus_one)
{
    kwi_member_cfg cfg;
    mt_cfg_consumer(&cfg);
    mt t;
    mt_init(&t, &cfg);
    joined(&t, 3, "1:0", "t0:0");
    ck_assert_int_eq(kwi_member_leave(t.m, t.now), KW_ERR_OK);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_REVOKED)->parts, "t0:0");
    const kw_consumer_group_heartbeat_req *q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    ck_assert_int_eq(q->member_epoch, -1);
    mt_str(q->member_id, "MEMBER-A");
    mt_str(q->instance_id, NULL);
    minimal(q);
    tps_eq(q, "null");
    mt_no_ev(&t);
    hb_reply(&t, 0, -1, 0, NULL);
    mt_ev(&t, KWI_MEMBER_EV_CLOSED);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_CLOSED);
    mt_no_req(&t);
    mt_fini(&t);
}
END_TEST

START_TEST(leave_static_epoch_minus_two)
{
    kwi_member_cfg cfg;
    mt_cfg_consumer(&cfg);
    cfg.group_instance_id = "inst-7";
    mt t;
    mt_init(&t, &cfg);
    mt_metadata(&t, "t0", 3, 1);
    mt_subscribe(&t, "t0", NULL);
    mt_find_coordinator(&t, 1);
    const kw_consumer_group_heartbeat_req *q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    mt_str(q->instance_id, "inst-7");
    hb_reply(&t, 0, 2, 5000, "1:2");
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_ev(&t, KWI_MEMBER_EV_ASSIGNED);
    q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    mt_str(q->instance_id, "inst-7"); /* in every heartbeat */
    hb_reply(&t, 0, 2, 5000, NULL);
    ck_assert_int_eq(kwi_member_leave(t.m, t.now), KW_ERR_OK);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    mt_ev(&t, KWI_MEMBER_EV_REVOKED);
    q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    ck_assert_int_eq(q->member_epoch, -2); /* a temporary leave: the assignment is kept */
    mt_str(q->instance_id, "inst-7");
    mt_reply_err(&t, KW_ERR_TIMED_OUT); /* answered or not, the leave is done */
    mt_ev(&t, KWI_MEMBER_EV_CLOSED);
    mt_fini(&t);
}
END_TEST

START_TEST(poll_timeout_leaves_then_rejoins)
{
    kwi_member_cfg cfg;
    mt_cfg_consumer(&cfg);
    cfg.max_poll_interval_ms = 12000;
    mt t;
    mt_init(&t, &cfg);
    joined(&t, 3, "1:0,1", "t0:0,1");
    int64_t until = t.now + 12000;
    const kw_consumer_group_heartbeat_req *q = NULL;
    while (t.now < until + 1) {
        mt_deadline(&t);
        q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
        if (q->member_epoch < 0)
            break;
        hb_reply(&t, 0, 3, 5000, NULL);
    }
    ck_assert_int_eq(q->member_epoch, -1);
    mt_ev(&t, KWI_MEMBER_EV_ERROR);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_LOST)->parts, "t0:0,1");
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_STALE);
    ck_assert(kwi_member_next_deadline(t.m) == INT64_MAX);
    hb_reply(&t, 0, -1, 0, NULL); /* ignored */
    mt_no_req(&t);
    ck_assert_int_eq(kwi_member_on_poll(t.m, t.now + 50000), KW_ERR_OK);
    q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    ck_assert_int_eq(q->member_epoch, 0);
    mt_str(q->member_id, "MEMBER-A");
    mt_fini(&t);
}
END_TEST

START_TEST(errors)
{
    kwi_member_cfg cfg;
    mt_cfg_consumer(&cfg);
    mt t;
    mt_init(&t, &cfg);
    joined(&t, 3, "1:0", "t0:0");

    /* NOT_COORDINATOR: rediscover, then a full heartbeat without backoff. */
    mt_deadline(&t);
    mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    hb_reply(&t, 16, 0, 0, NULL);
    mt_find_coordinator(&t, 2);
    const kw_consumer_group_heartbeat_req *q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    ck_assert_int_eq(t.req.node_id, 2);
    ck_assert_int_eq(q->member_epoch, 3);
    ck_assert_int_eq(q->rebalance_timeout_ms, 300000);
    names_eq(q, "t0");
    tps_eq(q, "1:0");
    hb_reply(&t, 0, 3, 5000, NULL);

    /* COORDINATOR_LOAD_IN_PROGRESS: backoff, then full. */
    mt_deadline(&t);
    mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    int64_t at = t.now;
    hb_reply(&t, 14, 0, 0, NULL);
    mt_no_req(&t);
    mt_deadline(&t);
    ck_assert_int_eq(t.now, at + 100);
    q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    ck_assert_int_eq(q->rebalance_timeout_ms, 300000);
    hb_reply(&t, 0, 3, 5000, NULL);

    /* TOPIC_AUTHORIZATION_FAILED is reported; the member stays. */
    mt_deadline(&t);
    mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    hb_reply(&t, 29, 0, 0, NULL);
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_ERROR);
    ck_assert(!ev->err.fatal);
    ck_assert_int_eq(ev->err.broker_code, 29);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_STABLE);

    /* A transport failure: rediscover, with backoff. */
    mt_deadline(&t);
    mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    mt_reply_err(&t, KW_ERR_IO);
    ck_assert_int_eq(kwi_member_coordinator(t.m), -1);
    mt_find_coordinator(&t, 1);
    mt_no_req(&t);
    mt_deadline(&t);
    mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);

    /* UNRELEASED_INSTANCE_ID is fatal: the partitions are lost. */
    hb_reply(&t, 111, 0, 0, NULL);
    mt_parts(mt_ev(&t, KWI_MEMBER_EV_LOST)->parts, "t0:0");
    ev = mt_ev(&t, KWI_MEMBER_EV_ERROR);
    ck_assert(ev->err.fatal);
    ck_assert_int_eq(ev->err.broker_code, 111);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_FATAL);
    mt_no_req(&t);
    mt_fini(&t);
}
END_TEST

START_TEST(unsupported_version_is_fatal)
{
    kwi_member_cfg cfg;
    mt_cfg_consumer(&cfg);
    mt t;
    mt_init(&t, &cfg);
    mt_subscribe(&t, "t0", NULL);
    mt_find_coordinator(&t, 1);
    mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    hb_reply(&t, 35, 0, 0, NULL); /* group.version < 1: the consumer protocol is off */
    ck_assert_int_eq(mt_ev(&t, KWI_MEMBER_EV_ERROR)->err.broker_code, 35);
    ck_assert_int_eq(kwi_member_state_get(t.m), KWI_MEMBER_FATAL);
    mt_fini(&t);
}
END_TEST

START_TEST(generated_member_id_and_offset_fetch)
{
    kwi_member_cfg cfg;
    mt_cfg_consumer(&cfg);
    cfg.member_id = NULL;
    mt t;
    mt_init(&t, &cfg);
    const char *id = kwi_member_id(t.m);
    ck_assert_int_eq(strlen(id), 22); /* 16 random bytes, URL-safe base64, no padding */
    for (const char *p = id; *p; p++)
        ck_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", *p));
    char first[23];
    strcpy(first, id);
    mt_metadata(&t, "t0", 3, 1);
    mt_subscribe(&t, "t0", NULL);
    mt_find_coordinator(&t, 1);
    const kw_consumer_group_heartbeat_req *q = mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    mt_str(q->member_id, first);
    kw_consumer_group_heartbeat_resp r;
    memset(&r, 0, sizeof(r));
    r.member_id = kw_slice_str(first);
    r.member_epoch = 9;
    r.heartbeat_interval_ms = 5000;
    r.has_assignment = true;
    r.assignment = id_assignment(&t, "1:0,2");
    mt_reply(&t, 1, &r);
    mt_ev(&t, KWI_MEMBER_EV_COMMIT_POINT);
    const kwi_member_event *ev = mt_ev(&t, KWI_MEMBER_EV_ASSIGNED);
    /* The application fetches the committed offsets of what it was given. */
    uint64_t fseq;
    ck_assert_int_eq(kwi_member_fetch_offsets(t.m, ev->parts, &fseq), KW_ERR_OK);
    mt_req(&t, KWI_API_CONSUMER_GROUP_HEARTBEAT);
    const kw_offset_fetch_req *fq = mt_req(&t, KWI_API_OFFSET_FETCH);
    ck_assert(t.req.seq == fseq);
    ck_assert(fq->require_stable);
    mt_str(fq->group_id, "g");
    ck_assert_int_eq(fq->n_groups, 1);
    mt_str(fq->groups[0].member_id, first);
    ck_assert_int_eq(fq->groups[0].member_epoch, 9);
    ck_assert_int_eq(fq->groups[0].n_topics, 1);
    mt_str(fq->groups[0].topics[0].name, "t0");
    ck_assert_int_eq(fq->groups[0].topics[0].n_partition_indexes, 2);
    ck_assert_int_eq(fq->groups[0].topics[0].partition_indexes[1], 2);
    kw_offset_fetch_resp_group g = {kw_slice_str("g"), NULL, 0, 113, {0}};
    kw_offset_fetch_resp fr = {0};
    fr.groups = &g;
    fr.n_groups = 1;
    mt_reply(&t, 9, &fr);
    ev = mt_ev(&t, KWI_MEMBER_EV_FETCH_DONE);
    ck_assert(ev->seq == fseq);
    ck_assert_int_eq(ev->err.code, KW_ERR_BROKER);
    ck_assert_int_eq(ev->err.broker_code, 113);
    mt_fini(&t);

    /* Two members never share a generated id. */
    mt t2, t3;
    mt_init(&t2, &cfg);
    mt_init(&t3, &cfg);
    ck_assert_str_ne(kwi_member_id(t2.m), kwi_member_id(t3.m));
    mt_fini(&t2);
    mt_fini(&t3);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("group_member_kip848");
    TCase *tc = tcase_create("kip848");
    tcase_add_test(tc, join_and_resolve_topic_ids);
    tcase_add_test(tc, revoke_commit_then_assign_then_ack);
    tcase_add_test(tc, cadence_and_changed_fields);
    tcase_add_test(tc, fenced_rejoins_at_epoch_zero);
    tcase_add_test(tc, leave_dynamic_epoch_minus_one);
    tcase_add_test(tc, leave_static_epoch_minus_two);
    tcase_add_test(tc, poll_timeout_leaves_then_rejoins);
    tcase_add_test(tc, errors);
    tcase_add_test(tc, unsupported_version_is_fatal);
    tcase_add_test(tc, generated_member_id_and_offset_fetch);
    suite_add_tcase(s, tc);
    return s;
}
