/* The client runtime against librdkafka's mock cluster (3 brokers), an independent broker
 * implementation: bootstrap and metadata, a broker going down and coming back, a leader move
 * seen through a targeted refresh, added round-trip time, errors injected into Metadata,
 * every broker down then up (re-bootstrap), the optional kwire thread and a wakeup from
 * another thread. Each test starts its own cluster on ephemeral ports. */
#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "rdk_util.h"

static kwt_rdk mock;

static void
cluster_up(void)
{
    kwt_rdk_start(&mock, 3);
    kwt_rdk_cmd(&mock, "create t1 6 3");
    kwt_rdk_cmd(&mock, "create t2 3 1");
    kwt_rdk_cmd(&mock, "leader t1 0 2");
    kwt_rdk_cmd(&mock, "leader t1 1 3");
    kwt_rdk_cmd(&mock, "leader t1 2 1");
    kwt_rdk_cmd(&mock, "leader t2 2 1");
}

static void
cluster_down(void)
{
    kwt_rdk_stop(&mock);
}

/* ---- bootstrap and metadata ------------------------------------------------------------- */

START_TEST(test_bootstrap_metadata)
{
    kw_client *c = kwt_client(mock.bootstrap, NULL);
    kwt_md md;
    kwt_metadata(c, NULL, 0, 0, &md);
    ck_assert_msg(md.err == KW_ERR_OK, "%s", md.msg);

    /* The three brokers, sorted by id, at the ports the mock listens on. */
    ck_assert_int_eq(md.n_brokers, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(md.broker_ids[i], i + 1);
        ck_assert_int_eq(md.broker_ports[i], kwt_rdk_port(&mock, i + 1));
    }
    const kwt_topic *t1 = kwt_md_topic(&md, "t1"), *t2 = kwt_md_topic(&md, "t2");
    ck_assert_ptr_nonnull(t1);
    ck_assert_ptr_nonnull(t2);
    ck_assert_int_eq(t1->error, 0);
    ck_assert_int_eq(t1->n_parts, 6);
    for (int i = 0; i < 6; i++) {
        ck_assert_int_eq(t1->parts[i].id, i);
        ck_assert_int_eq(t1->parts[i].n_replicas, 3);
        ck_assert(t1->parts[i].leader >= 1 && t1->parts[i].leader <= 3);
    }
    ck_assert_int_eq(t1->parts[0].leader, 2);
    ck_assert_int_eq(t1->parts[1].leader, 3);
    ck_assert_int_eq(t1->parts[2].leader, 1);
    ck_assert_int_eq(t2->n_parts, 3);
    ck_assert_int_eq(t2->parts[2].leader, 1);
    /* (librdkafka's mock gives every partition min(its default RF, brokers) replicas,
     * whatever the create command asked for.) */
    ck_assert_int_ge(t2->parts[0].n_replicas, 1);
    ck_assert_ptr_nonnull(strstr(md.json, "\"name\":\"t1\""));

    /* Named topics: only those come back; the cache now knows t2's leaders. */
    const char *names[] = {"t2"};
    kwt_metadata(c, names, 1, 0, &md);
    ck_assert_msg(md.err == KW_ERR_OK, "%s", md.msg);
    ck_assert_int_eq(md.n_topics, 1);
    ck_assert_str_eq(md.topics[0].name, "t2");
    int32_t leader, epoch;
    int16_t code;
    ck_assert_int_eq(kwi_client_leader(c, "t2", 2, 2, &leader, &epoch, &code), KW_ERR_OK);
    ck_assert_int_eq(leader, 1);

    /* Something was really exchanged with the broker that answered. */
    kw_broker_stats bs = kwt_broker_stats(c, md.broker_id);
    ck_assert_uint_ge(bs.connects, 1);
    ck_assert_uint_ge(bs.responses, 2); /* ApiVersions (maybe twice) and Metadata */
    ck_assert_uint_gt(bs.bytes_in, 0);
    ck_assert_uint_gt(bs.bytes_out, 0);
    ck_assert_str_eq(bs.state, "READY");
    kw_client_free(c);
}
END_TEST

START_TEST(test_bootstrap_by_host_name)
{
    /* "localhost" goes through the resolver (hosts file or RFC 6761), never blocking. */
    char bs[64];
    snprintf(bs, sizeof(bs), "localhost:%d", kwt_rdk_port(&mock, 2));
    kw_client *c = kwt_client(bs, NULL);
    kwt_md md;
    kwt_metadata(c, NULL, 0, 0, &md);
    ck_assert_msg(md.err == KW_ERR_OK, "%s", md.msg);
    ck_assert_int_eq(md.n_brokers, 3);
    ck_assert_int_eq(md.broker_id, -1); /* answered over the bootstrap link */
    kw_client_free(c);
}
END_TEST

/* ---- helpers for requests sent straight to one broker ------------------------------------ */

typedef struct req_res {
    bool done;
    int calls;
    kw_err err;
    char msg[256];
    int16_t ver;
    int32_t n_brokers;
} req_res;

static void
req_cb(kw_err err, const kw_error *detail, const kwi_resp *resp, void *ud)
{
    req_res *r = ud;
    r->calls++;
    r->done = true;
    r->err = err;
    r->ver = resp->ver;
    snprintf(r->msg, sizeof(r->msg), "%s", detail->msg);
    if (err == KW_ERR_OK && resp->api_key == 3)
        r->n_brokers = ((const kw_metadata_resp *)resp->body)->n_brokers;
}

static bool
req_done(void *ud)
{
    return ((req_res *)ud)->done;
}

/* A Metadata request for brokers only (v1+: an empty topic list means none). */
static kw_metadata_req brokers_only;

static void
send_md(kw_client *c, int32_t node, int64_t timeout_ms, req_res *r)
{
    memset(r, 0, sizeof(*r));
    kwi_req_opts o;
    kwi_req_opts_init(&o);
    o.timeout_ms = timeout_ms;
    o.min_ver = 1;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kwi_client_send(c, node, 3, &brokers_only, &o, req_cb, r, &err) == KW_ERR_OK,
                  "%s", err.msg);
    ck_assert(!r->done);
}

static kw_client *
client_with_metadata(const char *const *extra)
{
    kw_client *c = kwt_client(mock.bootstrap, extra);
    kwt_md md;
    kwt_metadata(c, NULL, 0, 0, &md);
    ck_assert_msg(md.err == KW_ERR_OK, "%s", md.msg);
    ck_assert_int_eq(md.n_brokers, 3);
    return c;
}

typedef struct stat_wait {
    kw_client *c;
    int32_t node;
    uint64_t attempts;
    const char *state;
} stat_wait;

static bool
attempts_reached(void *ud)
{
    stat_wait *w = ud;
    return kwt_broker_stats(w->c, w->node).connect_attempts >= w->attempts;
}

static bool
state_is(void *ud)
{
    stat_wait *w = ud;
    return strcmp(kwt_broker_stats(w->c, w->node).state, w->state) == 0;
}

/* ---- a broker goes down and comes back ---------------------------------------------------- */

START_TEST(test_broker_down_up)
{
    kw_client *c = client_with_metadata(NULL);
    req_res r;
    send_md(c, 2, 0, &r);
    kwt_run_until(c, req_done, &r, "a request to broker 2");
    ck_assert_msg(r.err == KW_ERR_OK, "%s", r.msg);
    ck_assert_int_eq(r.n_brokers, 3);
    kw_broker_stats before = kwt_broker_stats(c, 2);
    ck_assert_uint_eq(before.connects, 1);

    /* Down: the mock drops the connection and every new one. A request sent now waits for
     * the link while the client keeps trying, each time after a (growing) backoff. */
    kwt_rdk_cmd(&mock, "down 2");
    send_md(c, 2, 60000, &r);
    stat_wait w = {c, 2, before.connect_attempts + 4, NULL};
    kwt_run_until(c, attempts_reached, &w, "four reconnect attempts to broker 2");
    ck_assert(!r.done);
    kw_broker_stats during = kwt_broker_stats(c, 2);
    ck_assert_uint_eq(during.connects, 1);
    ck_assert_uint_ge(during.errors, 4);

    /* Up: the next attempt succeeds and the waiting request completes on the new link. */
    kwt_rdk_cmd(&mock, "up 2");
    kwt_run_until(c, req_done, &r, "the request after broker 2 came back");
    ck_assert_msg(r.err == KW_ERR_OK, "%s", r.msg);
    ck_assert_int_eq(r.calls, 1);
    kw_broker_stats after = kwt_broker_stats(c, 2);
    ck_assert_uint_eq(after.connects, 2);
    ck_assert_uint_eq(after.reconnects, 1);
    ck_assert_uint_ge(after.disconnects, 1);
    ck_assert_str_eq(after.state, "READY");
    kw_client_free(c);
}
END_TEST

START_TEST(test_request_on_wire_fails_when_link_drops)
{
    kw_client *c = client_with_metadata(NULL);
    req_res r;
    send_md(c, 3, 0, &r);
    kwt_run_until(c, req_done, &r, "a first request to broker 3");
    ck_assert_int_eq(r.err, KW_ERR_OK);

    /* The response is held back by the broker's RTT while the link goes down: the request
     * was on the wire, so it fails (retriable) rather than being silently resent. */
    kwt_rdk_cmd(&mock, "rtt 3 5000");
    send_md(c, 3, 60000, &r);
    stat_wait w = {c, 3, 0, NULL};
    while (kwt_broker_stats(c, 3).in_flight == 0 || kwt_broker_stats(c, 3).bytes_out == 0) {
        kw_error err;
        ck_assert_int_eq(kw_client_step(c, 50, &err), KW_ERR_OK);
    }
    (void)w;
    kwt_rdk_cmd(&mock, "down 3");
    kwt_run_until(c, req_done, &r, "the failure of the request on the wire");
    ck_assert_int_eq(r.err, KW_ERR_IO);
    ck_assert_int_eq(r.calls, 1);
    ck_assert(kw_err_retriable(r.err));
    kwt_rdk_cmd(&mock, "rtt 3 0");
    kwt_rdk_cmd(&mock, "up 3");
    send_md(c, 3, 60000, &r);
    kwt_run_until(c, req_done, &r, "a request after the broker came back");
    ck_assert_msg(r.err == KW_ERR_OK, "%s", r.msg);
    kw_client_free(c);
}
END_TEST

START_TEST(test_request_timeout_closes_link)
{
    const char *extra[] = {"request.timeout.ms=1000", NULL};
    kw_client *c = client_with_metadata(extra);
    req_res r;
    send_md(c, 1, 0, &r);
    kwt_run_until(c, req_done, &r, "a request that sets up the link to broker 1");
    ck_assert_int_eq(r.err, KW_ERR_OK);
    kwt_rdk_cmd(&mock, "rtt 1 4000");
    send_md(c, 1, 0, &r);
    kwt_run_until(c, req_done, &r, "the timeout");
    ck_assert_int_eq(r.err, KW_ERR_TIMED_OUT);
    ck_assert_msg(strstr(r.msg, "sent, no response") != NULL, "%s", r.msg);
    /* The late response cannot be skipped on the stream: the link was closed. */
    kw_broker_stats s = kwt_broker_stats(c, 1);
    ck_assert_uint_ge(s.timeouts, 1);
    ck_assert_uint_ge(s.disconnects, 1);
    kwt_rdk_cmd(&mock, "rtt 1 0");
    send_md(c, 1, 30000, &r);
    kwt_run_until(c, req_done, &r, "a request on a new link");
    ck_assert_msg(r.err == KW_ERR_OK, "%s", r.msg);
    ck_assert_uint_ge(kwt_broker_stats(c, 1).connects, 2);
    kw_client_free(c);
}
END_TEST

START_TEST(test_idle_connection_closed)
{
    const char *extra[] = {"connections.max.idle.ms=300", NULL};
    kw_client *c = client_with_metadata(extra);
    req_res r;
    send_md(c, 1, 0, &r);
    kwt_run_until(c, req_done, &r, "a request to broker 1");
    ck_assert_int_eq(r.err, KW_ERR_OK);
    stat_wait w = {c, 1, 0, "DOWN"};
    kwt_run_until(c, state_is, &w, "the idle close of broker 1's link");
    ck_assert_uint_eq(kwt_broker_stats(c, 1).disconnects, 1);
    ck_assert_uint_eq(kwt_broker_stats(c, 1).errors, 0);
    /* Needed again: it reconnects at once (an idle close is not a failure). */
    send_md(c, 1, 0, &r);
    kwt_run_until(c, req_done, &r, "a request after the idle close");
    ck_assert_int_eq(r.err, KW_ERR_OK);
    ck_assert_uint_eq(kwt_broker_stats(c, 1).connects, 2);
    kw_client_free(c);
}
END_TEST

START_TEST(test_unusable_api_fails_clearly)
{
    /* Cap what the cluster advertises for Produce at v0-2 (below Kafka 4.0's floor of 3). */
    kwt_rdk_cmd(&mock, "apiversion 0 0 2");
    kw_client *c = client_with_metadata(NULL);
    kw_produce_req pr;
    memset(&pr, 0, sizeof(pr));
    pr.acks = -1;
    pr.timeout_ms = 1000;
    pr.transactional_id = KW_SLICE_NULL;
    req_res r;
    memset(&r, 0, sizeof(r));
    kw_error err;
    ck_assert_int_eq(kwi_client_send(c, 1, 0, &pr, NULL, req_cb, &r, &err), KW_ERR_OK);
    kwt_run_until(c, req_done, &r, "the Produce failure");
    ck_assert_int_eq(r.err, KW_ERR_UNSUPPORTED_VERSION);
    ck_assert_ptr_nonnull(strstr(r.msg, "Produce v0-2"));
    /* The link itself is fine: other requests still work. */
    send_md(c, 1, 0, &r);
    kwt_run_until(c, req_done, &r, "Metadata on the same link");
    ck_assert_int_eq(r.err, KW_ERR_OK);
    kw_client_free(c);
}
END_TEST

/* ---- leader moves and targeted refresh ------------------------------------------------------ */

typedef struct leader_wait {
    kw_client *c;
    const char *topic;
    int32_t partition, want;
} leader_wait;

static bool
leader_is(void *ud)
{
    leader_wait *w = ud;
    int32_t leader, epoch;
    int16_t code;
    kw_err e =
        kwi_client_leader(w->c, w->topic, strlen(w->topic), w->partition, &leader, &epoch, &code);
    return e == KW_ERR_OK && leader == w->want;
}

START_TEST(test_leader_move_targeted_refresh)
{
    kw_client *c = kwt_client(mock.bootstrap, NULL);
    int32_t leader, epoch;
    int16_t code;
    /* Unknown to the cache: the lookup asks for the topic and says so. */
    ck_assert_int_eq(kwi_client_leader(c, "t1", 2, 0, &leader, &epoch, &code), KW_ERR_NOT_FOUND);
    leader_wait w = {c, "t1", 0, 2};
    kwt_run_until(c, leader_is, &w, "t1/0 led by broker 2");
    ck_assert_int_eq(kwi_client_partitions(c, "t1", 2), 6);
    kw_stats s0 = kwt_stats(c);

    kwt_rdk_cmd(&mock, "leader t1 0 3");
    /* A produce or fetch response said NOT_LEADER_OR_FOLLOWER for t1/0. */
    kwi_client_on_partition_error(c, "t1", 2, 0, 6);
    w.want = 3;
    kwt_run_until(c, leader_is, &w, "t1/0 led by broker 3");
    kw_stats s1 = kwt_stats(c);
    ck_assert_uint_ge(s1.metadata_requests, s0.metadata_requests + 1);
    ck_assert_uint_le(s1.metadata_requests, s0.metadata_requests + 3);

    /* FENCED_LEADER_EPOCH and a newer leader epoch seen elsewhere refresh too; an error
     * that says nothing about metadata does not. */
    kwt_rdk_cmd(&mock, "leader t1 0 1");
    kwi_client_on_partition_error(c, "t1", 2, 0, 74);
    w.want = 1;
    kwt_run_until(c, leader_is, &w, "t1/0 led by broker 1");
    kwt_rdk_cmd(&mock, "leader t1 0 2");
    kwi_client_on_leader_epoch(c, "t1", 2, 0, 1000);
    w.want = 2;
    kwt_run_until(c, leader_is, &w, "t1/0 led by broker 2 again");
    kw_stats s2 = kwt_stats(c);
    kwi_client_on_partition_error(c, "t1", 2, 0, 87); /* INVALID_RECORD */
    for (int i = 0; i < 5; i++) {
        kw_error err;
        ck_assert_int_eq(kw_client_step(c, 20, &err), KW_ERR_OK);
    }
    ck_assert_uint_eq(kwt_stats(c).metadata_requests, s2.metadata_requests);
    kw_client_free(c);
}
END_TEST

/* ---- round-trip time ------------------------------------------------------------------------ */

START_TEST(test_added_rtt)
{
    for (int b = 1; b <= 3; b++)
        kwt_rdk_cmd(&mock, "rtt %d 250", b);
    kw_client *c = kwt_client(mock.bootstrap, NULL);
    kwt_md md;
    kwt_metadata(c, NULL, 0, 0, &md);
    ck_assert_msg(md.err == KW_ERR_OK, "%s", md.msg);
    ck_assert_int_eq(md.n_brokers, 3);
    req_res r;
    send_md(c, 2, 0, &r);
    kwt_run_until(c, req_done, &r, "a request to a slow broker");
    ck_assert_int_eq(r.err, KW_ERR_OK);
    /* Every answer waited for the broker's added delay: the measured RTT says so. */
    kw_broker_stats s = kwt_broker_stats(c, 2);
    ck_assert_int_ge(s.rtt_samples, 2);
    ck_assert_int_ge(s.rtt_p50_us, 250000);
    ck_assert_int_ge(s.rtt_p99_us, s.rtt_p50_us);
    char json[8192];
    size_t len = sizeof(json);
    ck_assert_int_eq(kw_client_stats_json(c, json, &len), KW_ERR_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"rtt_p50_us\":"));
    ck_assert_ptr_nonnull(strstr(json, "\"node_id\":2"));
    kw_client_free(c);
}
END_TEST

/* ---- errors injected into Metadata -------------------------------------------------------- */

typedef struct upd_wait {
    kw_client *c;
    uint64_t updates;
} upd_wait;

static bool
updates_reached(void *ud)
{
    upd_wait *w = ud;
    return kwt_stats(w->c).metadata_updates >= w->updates;
}

START_TEST(test_metadata_errors_retried)
{
    kw_client *c = kwt_client(mock.bootstrap, NULL);
    /* The topic reports LEADER_NOT_AVAILABLE: the cache keeps asking, with backoff. */
    kwt_rdk_cmd(&mock, "topicerror t2 5");
    const char *names[] = {"t2"};
    size_t lens[] = {2};
    kwi_client_refresh(c, names, lens, 1);
    upd_wait u = {c, 3};
    kwt_run_until(c, updates_reached, &u, "three Metadata answers for a leaderless topic");
    int32_t leader, epoch;
    int16_t code;
    ck_assert_int_eq(kwi_client_leader(c, "t2", 2, 2, &leader, &epoch, &code), KW_ERR_BROKER);
    ck_assert_int_eq(code, 5);
    /* The error clears: the next retry finds the leader. */
    kwt_rdk_cmd(&mock, "topicerror t2 0");
    leader_wait w = {c, "t2", 2, 1};
    kwt_run_until(c, leader_is, &w, "t2/2's leader after the error cleared");

    /* A public call meeting a topic error still completes, reporting it per topic. */
    kwt_rdk_cmd(&mock, "topicerror t1 29");
    const char *n1[] = {"t1"};
    kwt_md md;
    kwt_metadata(c, n1, 1, 0, &md);
    ck_assert_int_eq(md.err, KW_ERR_OK);
    ck_assert_int_eq(md.topics[0].error, 29);
    kwt_rdk_cmd(&mock, "topicerror t1 0");
    kw_client_free(c);
}
END_TEST

/* ---- every broker down, then up: re-bootstrap ---------------------------------------------- */

START_TEST(test_all_down_rebootstrap)
{
    kw_client *c = client_with_metadata(NULL);
    ck_assert_uint_eq(kwt_stats(c).rebootstraps, 0);
    for (int b = 1; b <= 3; b++)
        kwt_rdk_cmd(&mock, "down %d", b);
    kwt_md md;
    memset(&md, 0, sizeof(md));
    kw_error err;
    ck_assert_int_eq(kw_client_metadata(c, NULL, 0, 60000, kwt_md_cb, &md, &err), KW_ERR_OK);
    upd_wait u = {c, 0};
    (void)u;
    while (kwt_stats(c).rebootstraps == 0) {
        ck_assert(!md.done);
        ck_assert_int_eq(kw_client_step(c, 50, &err), KW_ERR_OK);
    }
    for (int b = 1; b <= 3; b++)
        kwt_rdk_cmd(&mock, "up %d", b);
    kwt_run_until(c, kwt_md_done, &md, "metadata after the cluster came back");
    ck_assert_msg(md.err == KW_ERR_OK, "%s", md.msg);
    ck_assert_int_eq(md.n_brokers, 3);
    ck_assert_uint_ge(kwt_stats(c).rebootstraps, 1);
    kw_client_free(c);
}
END_TEST

/* ---- the optional kwire thread, and a wakeup from another thread ----------------------------- */

typedef struct thread_md {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    kwt_md md;
    pthread_t cb_thread;
} thread_md;

static void
thread_cb(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    thread_md *t = ud;
    pthread_mutex_lock(&t->mu);
    kwt_md_cb(c, err, detail, md, &t->md);
    t->cb_thread = pthread_self();
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
}

START_TEST(test_kwire_thread)
{
    kw_client *c = kwt_client(mock.bootstrap, NULL);
    kw_error err;
    ck_assert_int_eq(kw_client_thread_start(c, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_client_thread_start(c, &err), KW_ERR_STATE);
    ck_assert_int_eq(kw_client_step(c, 0, &err), KW_ERR_STATE);

    thread_md t;
    memset(&t, 0, sizeof(t));
    pthread_mutex_init(&t.mu, NULL);
    pthread_cond_init(&t.cv, NULL);
    ck_assert_int_eq(kw_client_metadata(c, NULL, 0, 30000, thread_cb, &t, &err), KW_ERR_OK);
    pthread_mutex_lock(&t.mu);
    while (!t.md.done)
        pthread_cond_wait(&t.cv, &t.mu);
    pthread_mutex_unlock(&t.mu);
    ck_assert_msg(t.md.err == KW_ERR_OK, "%s", t.md.msg);
    ck_assert_int_eq(t.md.n_brokers, 3);
    ck_assert(!pthread_equal(t.cb_thread, pthread_self()));
    /* Statistics from this thread while the kwire thread runs. */
    ck_assert_uint_ge(kwt_stats(c).metadata_updates, 1);

    ck_assert_int_eq(kw_client_thread_stop(c), KW_ERR_OK);
    ck_assert_int_eq(kw_client_thread_stop(c), KW_ERR_OK);
    /* Back to stepping by hand. */
    kwt_md md;
    kwt_metadata(c, NULL, 0, 0, &md);
    ck_assert_int_eq(md.err, KW_ERR_OK);
    pthread_mutex_destroy(&t.mu);
    pthread_cond_destroy(&t.cv);
    kw_client_free(c);
}
END_TEST

typedef struct waker {
    kw_client *c;
    kwt_md md;
    kw_err submit;
} waker;

static void *
wake_main(void *arg)
{
    waker *w = arg;
    kw_error err;
    w->submit = kw_client_metadata(w->c, NULL, 0, 30000, kwt_md_cb, &w->md, &err);
    return NULL;
}

static void *
wake_only(void *arg)
{
    kw_client_wakeup(arg);
    return NULL;
}

START_TEST(test_wakeup_from_another_thread)
{
    kw_client *c = kwt_client(mock.bootstrap, NULL);
    kw_error err;
    /* Nothing pending: a step with no timeout blocks until someone wakes it. */
    ck_assert_int_eq(kw_client_timeout_ms(c), -1);
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, wake_only, c), 0);
    ck_assert_int_eq(kw_client_step(c, -1, &err), KW_ERR_OK);
    pthread_join(th, NULL);

    /* A submission from another thread wakes the blocked loop, which then serves it. */
    waker w;
    memset(&w, 0, sizeof(w));
    w.c = c;
    ck_assert_int_eq(pthread_create(&th, NULL, wake_main, &w), 0);
    while (!w.md.done)
        ck_assert_int_eq(kw_client_step(c, -1, &err), KW_ERR_OK);
    pthread_join(th, NULL);
    ck_assert_int_eq(w.submit, KW_ERR_OK);
    ck_assert_msg(w.md.err == KW_ERR_OK, "%s", w.md.msg);
    kw_client_free(c);
}
END_TEST

START_TEST(test_free_cancels_outstanding)
{
    kwt_rdk_cmd(&mock, "rtt 1 5000");
    kwt_rdk_cmd(&mock, "rtt 2 5000");
    kwt_rdk_cmd(&mock, "rtt 3 5000");
    kw_client *c = kwt_client(mock.bootstrap, NULL);
    kwt_md a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    kw_error err;
    ck_assert_int_eq(kw_client_metadata(c, NULL, 0, 30000, kwt_md_cb, &a, &err), KW_ERR_OK);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(kw_client_step(c, 20, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_client_metadata(c, NULL, 0, 30000, kwt_md_cb, &b, &err), KW_ERR_OK);
    ck_assert(!a.done && !b.done);
    kw_client_free(c);
    /* Once each: the one in flight and the one still in the submit queue. */
    ck_assert(a.done && b.done);
    ck_assert_int_eq(a.err, KW_ERR_CANCELED);
    ck_assert_int_eq(b.err, KW_ERR_CANCELED);
}
END_TEST

Suite *
kw_test_suite(void)
{
    kwt_rdk_require();
    Suite *s = suite_create("client_rdk");
    TCase *tc = tcase_create("rdk");
    tcase_add_checked_fixture(tc, cluster_up, cluster_down);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_bootstrap_metadata);
    tcase_add_test(tc, test_bootstrap_by_host_name);
    tcase_add_test(tc, test_broker_down_up);
    tcase_add_test(tc, test_request_on_wire_fails_when_link_drops);
    tcase_add_test(tc, test_request_timeout_closes_link);
    tcase_add_test(tc, test_idle_connection_closed);
    tcase_add_test(tc, test_unusable_api_fails_clearly);
    tcase_add_test(tc, test_leader_move_targeted_refresh);
    tcase_add_test(tc, test_added_rtt);
    tcase_add_test(tc, test_metadata_errors_retried);
    tcase_add_test(tc, test_all_down_rebootstrap);
    tcase_add_test(tc, test_kwire_thread);
    tcase_add_test(tc, test_wakeup_from_another_thread);
    tcase_add_test(tc, test_free_cancels_outstanding);
    suite_add_tcase(s, tc);
    return s;
}
