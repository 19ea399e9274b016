/* The client's metadata handling against scripted brokers on loopback sockets, where every
 * byte of the answers is the test's choice: brokers appearing, leaving and moving (requests to
 * a vanished broker fail, its connection closes), leader epochs going backwards (KIP-320),
 * hostile partition indices and broker addresses, topic ids, refreshes on their own
 * (metadata.max.age.ms) and on request, creation errors, logging, and SASL PLAIN over both
 * framings. Each scripted broker is one accepted connection on the same listener: the
 * addresses in the answers all point at it. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/client_int.h"
#include "kw_config.h"
#include "conn_script.h"
#include "../../support/slow.h"

static tworld w;

static const kw_api_version modern[] = {
    {3, 0, 12, {0}}, {18, 0, 3, {0}}, {17, 0, 1, {0}}, {36, 0, 2, {0}}, {0, 3, 9, {0}}};
#define N_MODERN 5

static void
setup(void)
{
    tw_init(&w);
}

static void
teardown(void)
{
    if (w.client)
        kw_client_free(w.client);
    w.client = NULL;
    tw_fini(&w);
}

static kw_client *
client_new(const char *const *extra)
{
    kw_conf *conf;
    kw_error err;
    char bs[64];
    snprintf(bs, sizeof(bs), "127.0.0.1:%u", (unsigned)w.b.port);
    ck_assert_int_eq(kw_conf_new(NULL, &conf), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "bootstrap.servers", bs, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "reconnect.backoff.ms", "10", &err), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "retry.backoff.ms", "10", &err), KW_ERR_OK);
    for (size_t i = 0; extra && extra[i]; i += 2)
        ck_assert_msg(kw_conf_set(conf, extra[i], extra[i + 1], &err) == KW_ERR_OK, "%s", err.msg);
    kw_client *c = NULL;
    ck_assert_msg(kw_client_new(conf, &c, &err) == KW_ERR_OK, "%s", err.msg);
    w.client = c;
    return c;
}

/* Accepts a connection and answers its ApiVersions. */
static void
handshake(sconn *s)
{
    sc_accept(&w, s);
    sframe f;
    sc_read(&w, s, &f);
    sc_apiversions(&w, s, &f, modern, N_MODERN);
}

typedef struct tp {
    const char *name;
    int16_t err;
    int32_t n;
    int32_t idx[4], leader[4], epoch[4];
    uint8_t id; /* topic id = 16 bytes of this value; 0 = none */
} tp;

typedef struct bk {
    int32_t id;
    int32_t port; /* 0 = the listener's */
} bk;

static void
reply_md(sconn *s, const sframe *f, const bk *bks, int nb, const tp *tps, int nt)
{
    kw_metadata_resp_broker br[8];
    kw_metadata_resp_topic t[8];
    kw_metadata_resp_partition p[8][4];
    int32_t reps[1] = {1};
    memset(br, 0, sizeof(br));
    memset(t, 0, sizeof(t));
    memset(p, 0, sizeof(p));
    for (int i = 0; i < nb; i++) {
        br[i].node_id = bks[i].id;
        br[i].host = kw_slice_str("127.0.0.1");
        br[i].port = bks[i].port ? bks[i].port : w.b.port;
        br[i].rack = KW_SLICE_NULL;
    }
    for (int i = 0; i < nt; i++) {
        t[i].name = kw_slice_str(tps[i].name);
        t[i].error_code = tps[i].err;
        memset(t[i].topic_id.b, tps[i].id, 16);
        t[i].partitions = p[i];
        t[i].n_partitions = tps[i].n;
        t[i].topic_authorized_operations = INT32_MIN;
        for (int j = 0; j < tps[i].n; j++) {
            p[i][j].partition_index = tps[i].idx[j];
            p[i][j].leader_id = tps[i].leader[j];
            p[i][j].leader_epoch = tps[i].epoch[j];
            p[i][j].replica_nodes = reps;
            p[i][j].n_replica_nodes = 1;
            p[i][j].isr_nodes = reps;
            p[i][j].n_isr_nodes = 1;
        }
    }
    kw_metadata_resp m;
    memset(&m, 0, sizeof(m));
    m.brokers = br;
    m.n_brokers = nb;
    m.cluster_id = kw_slice_str("scripted");
    m.controller_id = 1;
    m.topics = t;
    m.n_topics = nt;
    m.cluster_authorized_operations = INT32_MIN;
    uint8_t buf[8192];
    size_t len = sb_encode(&kw_msg_metadata_resp, f->api_version, &m, buf, sizeof(buf));
    if (f->api_version >= 9)
        sc_reply_flex(&w, s, f->corr, buf, len);
    else
        sc_reply(&w, s, f->corr, buf, len);
}

/* Reads a Metadata request and returns how many topics it names (-1 = every topic), with
 * the first name in `first`. */
static int32_t
read_md(sconn *s, sframe *f, char *first, size_t cap)
{
    sc_read(&w, s, f);
    ck_assert_int_eq(f->api_key, 3);
    kw_metadata_req m;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_rd r;
    kw_rd_init(&r, f->body, f->body_len);
    ck_assert_int_eq(kw_msg_decode(&kw_msg_metadata_req, f->api_version, &r, &ar, &m), 0);
    if (first && cap) {
        first[0] = '\0';
        if (m.n_topics > 0)
            snprintf(first, cap, "%.*s", (int)m.topics[0].name.len,
                     (const char *)m.topics[0].name.ptr);
    }
    kw_arena_fini(&ar);
    return m.n_topics;
}

typedef struct mdres {
    int calls;
    kw_err err;
    int32_t n_brokers, n_topics;
    char msg[256];
} mdres;

static void
md_cb(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    mdres *r = ud;
    r->calls++;
    r->err = err;
    snprintf(r->msg, sizeof(r->msg), "%s", detail->msg);
    if (md) {
        r->n_brokers = md->n_brokers;
        r->n_topics = md->n_topics;
    }
}

static void
ask_md(mdres *r, int timeout_ms)
{
    memset(r, 0, sizeof(*r));
    kw_error err;
    ck_assert_int_eq(kw_client_metadata(w.client, NULL, 0, timeout_ms, md_cb, r, &err), 0);
}

static void
until_md(mdres *r)
{
    for (int i = 0; i < 4000 && !r->calls; i++)
        tw_step(&w);
    ck_assert_int_eq(r->calls, 1);
}

typedef struct rq {
    int calls;
    kw_err err;
    char msg[256];
} rq;

static void
rq_cb(kw_err err, const kw_error *detail, const kwi_resp *resp, void *ud)
{
    (void)resp;
    rq *r = ud;
    r->calls++;
    r->err = err;
    snprintf(r->msg, sizeof(r->msg), "%s", detail->msg);
}

static kw_metadata_req none_req;

static kw_err
send_to(int32_t node, rq *r)
{
    memset(r, 0, sizeof(*r));
    kw_error err;
    return kwi_client_send(w.client, node, 3, &none_req, NULL, rq_cb, r, &err);
}

static void
until_rq(rq *r)
{
    for (int i = 0; i < 4000 && !r->calls; i++)
        tw_step(&w);
    ck_assert_int_eq(r->calls, 1);
}

static int32_t
leader_of(const char *topic, int32_t part, kw_err *e)
{
    int32_t leader, epoch;
    int16_t code;
    *e = kwi_client_leader(w.client, topic, strlen(topic), part, &leader, &epoch, &code);
    return leader;
}

/* ---- brokers appearing, leaving, moving ----------------------------------------------------- */

START_TEST(test_brokers_come_and_go)
{
    client_new(NULL);
    sconn s0 = {0}, s1 = {0}, s2 = {0}, s3 = {0};
    mdres m;
    ask_md(&m, 0);
    handshake(&s0);
    sframe f;
    ck_assert_int_eq(read_md(&s0, &f, NULL, 0), -1); /* every topic */
    const bk two[] = {{1, 0}, {2, 0}};
    const tp t = {"t", 0, 2, {0, 1}, {1, 2}, {5, 5}, 0};
    reply_md(&s0, &f, two, 2, &t, 1);
    until_md(&m);
    ck_assert_int_eq(m.err, KW_ERR_OK);
    ck_assert_int_eq(m.n_brokers, 2);
    /* The bootstrap link is no longer needed: it closes once idle. */
    ck_assert(sc_eof(&w, &s0));

    /* Links to both brokers; a request to broker 2 stays unanswered. */
    rq r1, r2;
    ck_assert_int_eq(send_to(1, &r1), KW_ERR_OK);
    handshake(&s1);
    sc_read(&w, &s1, &f);
    reply_md(&s1, &f, two, 2, &t, 1);
    until_rq(&r1);
    ck_assert_int_eq(send_to(2, &r2), KW_ERR_OK);
    handshake(&s2);
    sc_read(&w, &s2, &f);

    /* The next metadata (to broker 1, the least loaded) no longer lists broker 2. */
    ask_md(&m, 0);
    read_md(&s1, &f, NULL, 0);
    const bk one_three[] = {{1, 0}, {3, 0}};
    reply_md(&s1, &f, one_three, 2, &t, 1);
    until_md(&m);
    until_rq(&r2);
    ck_assert_int_eq(r2.err, KW_ERR_IO);
    ck_assert_msg(strstr(r2.msg, "broker 2 left the cluster") != NULL, "%s", r2.msg);
    ck_assert(sc_eof(&w, &s2));
    ck_assert_int_eq(send_to(2, &r2), KW_ERR_NOT_FOUND);
    /* Broker 3 appeared: it can be used. */
    ck_assert_int_eq(send_to(3, &r2), KW_ERR_OK);
    handshake(&s3);
    sc_read(&w, &s3, &f);
    reply_md(&s3, &f, one_three, 2, &t, 1);
    until_rq(&r2);
    ck_assert_int_eq(r2.err, KW_ERR_OK);

    /* Broker 1 moves to another port, announced over its own link: that link closes from
     * inside its own response, and the new address is used from then on. */
    ask_md(&m, 0);
    sconn *on = NULL;
    for (int i = 0; i < 200 && !on; i++) {
        tw_step(&w);
        on = sc_quiet(&w, &s1) ? (sc_quiet(&w, &s3) ? NULL : &s3) : &s1;
    }
    ck_assert_ptr_nonnull(on);
    read_md(on, &f, NULL, 0);
    const bk moved[] = {{1, 1}, {3, 0}}; /* port 1: nothing listens there */
    reply_md(on, &f, moved, 2, &t, 1);
    until_md(&m);
    ck_assert_int_eq(m.err, KW_ERR_OK);
    ck_assert(sc_eof(&w, &s1));
    kw_broker_stats st[8];
    kw_stats tot;
    ck_assert_int_eq(kw_client_stats(w.client, &tot, st, 8), KW_ERR_OK);
    bool found = false;
    for (size_t i = 0; i < tot.n_brokers && i < 8; i++)
        if (st[i].node_id == 1 && st[i].port == 1)
            found = true;
    ck_assert(found);
    sc_close(&s0);
    sc_close(&s1);
    sc_close(&s2);
    sc_close(&s3);
    free(s0.buf);
    free(s1.buf);
    free(s2.buf);
    free(s3.buf);
}
END_TEST

/* ---- the cache: epochs, hostile answers, topic ids, refreshes ------------------------------- */

START_TEST(test_leader_epochs_and_hostile_answers)
{
    client_new(NULL);
    kw_err e;
    ck_assert_int_eq(leader_of("t", 0, &e), -1);
    ck_assert_int_eq(e, KW_ERR_NOT_FOUND); /* asks for t */
    sconn s = {0};
    handshake(&s);
    sframe f;
    char first[32];
    ck_assert_int_eq(read_md(&s, &f, first, sizeof(first)), 1);
    ck_assert_str_eq(first, "t");
    const bk b1[] = {{1, 0}};
    tp t = {"t", 0, 2, {0, 1}, {1, 1}, {5, 5}, 0x42};
    reply_md(&s, &f, b1, 1, &t, 1);
    for (int i = 0; i < 1000 && leader_of("t", 1, &e) != 1; i++)
        tw_step(&w);
    ck_assert_int_eq(e, KW_ERR_OK);
    kwi_md_topic *mt = kwi_md_topic_find(w.client, "t", 1);
    ck_assert_ptr_nonnull(mt);
    ck_assert_int_eq(mt->id.b[0], 0x42); /* Metadata v10+: the topic id is kept */
    ck_assert_int_eq(mt->id.b[15], 0x42);

    /* A lagging broker answers with older epochs: the cache keeps what it knows. */
    const char *names[] = {"t"};
    kwi_client_refresh(w.client, names, NULL, 1);
    sconn s1 = {0};
    handshake(&s1); /* the refresh goes to broker 1 (a new link, the bootstrap one closed) */
    read_md(&s1, &f, NULL, 0);
    tp lag = {"t", 0, 2, {0, 1}, {2, 2}, {4, 6}, 0x42};
    reply_md(&s1, &f, b1, 1, &lag, 1);
    for (int i = 0; i < 1000 && leader_of("t", 1, &e) != 2; i++)
        tw_step(&w);
    ck_assert_int_eq(leader_of("t", 0, &e), 1); /* epoch 4 < 5: ignored */
    ck_assert_int_eq(leader_of("t", 1, &e), 2); /* epoch 6 > 5: taken */

    /* Hostile: a partition index outside 0..n-1 is ignored and leaves a hole with no
     * leader, which is then asked for again; a broker with port 0 is not added. */
    kwi_client_refresh(w.client, names, NULL, 1);
    read_md(&s1, &f, NULL, 0);
    const bk bad[] = {{1, 0}, {9, 70000}};
    tp hole = {"t", 0, 2, {0, 7}, {1, 1}, {9, 9}, 0x42};
    reply_md(&s1, &f, bad, 2, &hole, 1);
    for (int i = 0; i < 1000 && leader_of("t", 1, &e) != -1; i++)
        tw_step(&w);
    ck_assert_int_eq(e, KW_ERR_AGAIN);
    rq r;
    ck_assert_int_eq(send_to(9, &r), KW_ERR_NOT_FOUND);
    read_md(&s1, &f, NULL, 0); /* the hole made the cache ask again on its own */
    tp fixed = {"t", 0, 2, {0, 1}, {1, 1}, {9, 9}, 0x42};
    reply_md(&s1, &f, b1, 1, &fixed, 1);
    for (int i = 0; i < 1000 && leader_of("t", 1, &e) != 1; i++)
        tw_step(&w);
    ck_assert_int_eq(e, KW_ERR_OK);

    /* A topic error voids the partitions and is reported by the lookup. */
    kwi_client_refresh(w.client, names, NULL, 1);
    read_md(&s1, &f, NULL, 0);
    tp denied = {"t", 29, 2, {0, 1}, {1, 1}, {9, 9}, 0x42};
    reply_md(&s1, &f, b1, 1, &denied, 1);
    int16_t code = 0;
    int32_t leader, epoch;
    for (int i = 0; i < 1000; i++) {
        tw_step(&w);
        if (kwi_client_leader(w.client, "t", 1, 0, &leader, &epoch, &code) == KW_ERR_BROKER)
            break;
    }
    ck_assert_int_eq(code, 29);
    ck_assert_int_eq(kwi_client_partitions(w.client, "t", 1), -1);
    sc_close(&s);
    sc_close(&s1);
    free(s.buf);
    free(s1.buf);
}
END_TEST

START_TEST(test_refresh_on_age_and_coalesced)
{
    const char *extra[] = {"metadata.max.age.ms", "300", NULL};
    client_new(extra);
    const char *names[] = {"a", "b", "c"};
    kwi_client_refresh(w.client, names, NULL, 3); /* one request for all three */
    sconn s = {0};
    handshake(&s);
    sframe f;
    ck_assert_int_eq(read_md(&s, &f, NULL, 0), 3);
    const bk b1[] = {{1, 0}};
    tp tps[3] = {{"a", 0, 1, {0}, {1}, {1}, 0},
                 {"b", 0, 1, {0}, {1}, {1}, 0},
                 {"c", 0, 1, {0}, {1}, {1}, 0}};
    reply_md(&s, &f, b1, 1, tps, 3);
    /* metadata.max.age.ms later the cache refreshes every topic it holds, unasked. */
    sconn s1 = {0};
    handshake(&s1);
    ck_assert_int_eq(read_md(&s1, &f, NULL, 0), 3);
    reply_md(&s1, &f, b1, 1, tps, 3);
    /* A targeted refresh names only the topic asked for. */
    const char *one[] = {"b"};
    kwi_client_refresh(w.client, one, NULL, 1);
    char first[8];
    ck_assert_int_eq(read_md(&s1, &f, first, sizeof(first)), 1);
    ck_assert_str_eq(first, "b");
    reply_md(&s1, &f, b1, 1, &tps[1], 1);
    kw_stats st;
    kw_client_stats(w.client, &st, NULL, 0);
    ck_assert_uint_eq(st.metadata_requests, 3);
    sc_close(&s);
    sc_close(&s1);
    free(s.buf);
    free(s1.buf);
}
END_TEST

START_TEST(test_metadata_call_retries_and_times_out)
{
    client_new(NULL);
    mdres m;
    ask_md(&m, 0);
    sconn s = {0};
    handshake(&s);
    sframe f;
    read_md(&s, &f, NULL, 0);
    /* An answer that does not parse: the call tries again (a new link, after a backoff). */
    sc_reply_flex(&w, &s, f.corr, "\x01\x02", 2);
    read_md(&s, &f, NULL, 0);
    const bk b1[] = {{1, 0}};
    reply_md(&s, &f, b1, 1, NULL, 0);
    until_md(&m);
    ck_assert_int_eq(m.err, KW_ERR_OK);
    kw_stats st;
    kw_client_stats(w.client, &st, NULL, 0);
    ck_assert_uint_eq(st.metadata_errors, 1);
    ck_assert_uint_eq(st.metadata_requests, 2);

    /* Nobody answers: the call ends at its deadline with what went wrong. */
    close(w.b.lfd);
    w.b.lfd = -1;
    sc_close(&s);
    ask_md(&m, 300);
    until_md(&m);
    ck_assert_int_eq(m.err, KW_ERR_TIMED_OUT);
    ck_assert_msg(strstr(m.msg, "timed out") != NULL, "%s", m.msg);
    free(s.buf);
}
END_TEST

/* ---- creation, logging, SASL ------------------------------------------------------------- */

static kw_err
try_new(const char *const *kv, kw_error *err)
{
    kw_conf *conf;
    ck_assert_int_eq(kw_conf_new(NULL, &conf), KW_ERR_OK);
    for (size_t i = 0; kv[i]; i += 2)
        ck_assert_msg(kw_conf_set(conf, kv[i], kv[i + 1], err) == KW_ERR_OK, "%s", err->msg);
    kw_client *c = NULL;
    kw_err e = kw_client_new(conf, &c, err);
    kw_client_free(c);
    return e;
}

START_TEST(test_creation_errors)
{
    kw_error err;
    const char *none[] = {"client.id", "x", NULL};
    ck_assert_int_eq(try_new(none, &err), KW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "bootstrap.servers"));
    const char *sasl[] = {"bootstrap.servers", "127.0.0.1:9", "security.protocol", "SASL_PLAINTEXT",
                          NULL};
    ck_assert_int_eq(try_new(sasl, &err), KW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "sasl.mechanism"));
    const char *nouser[] = {"bootstrap.servers",
                            "127.0.0.1:9",
                            "security.protocol",
                            "SASL_PLAINTEXT",
                            "sasl.mechanism",
                            "PLAIN",
                            NULL};
    ck_assert_int_eq(try_new(nouser, &err), KW_ERR_CONFIG);
    const char *ca[] = {
        "bootstrap.servers",   "127.0.0.1:9", "security.protocol", "SSL", "ssl.ca.location",
        "/nonexistent/ca.pem", NULL};
    ck_assert_int_eq(try_new(ca, &err), KW_ERR_CONFIG);
#if KW_HAVE_TLS
    ck_assert_ptr_nonnull(strstr(err.msg, "/nonexistent/ca.pem"));
#else
    ck_assert_ptr_nonnull(strstr(err.msg, "needs a kwire built with TLS"));
#endif
    /* NULL conf or out: an error, and the conf is still freed (ASan checks). */
    kw_client *c;
    ck_assert_int_eq(kw_client_new(NULL, &c, &err), KW_ERR_INVALID_ARG);
    kw_conf *conf;
    kw_conf_new(NULL, &conf);
    ck_assert_int_eq(kw_client_new(conf, NULL, &err), KW_ERR_INVALID_ARG);
    kw_client_free(NULL);
}
END_TEST

typedef struct logcap {
    int lines, warn_or_worse;
    char all[16384];
    size_t len;
} logcap;

static void
log_fn(void *ud, kw_log_level level, const char *sub, const char *msg)
{
    logcap *l = ud;
    l->lines++;
    if (level <= KW_LOG_WARN)
        l->warn_or_worse++;
    int n = snprintf(l->all + l->len, sizeof(l->all) - l->len, "%s: %s\n", sub, msg);
    if (n > 0 && (size_t)n < sizeof(l->all) - l->len)
        l->len += (size_t)n;
}

START_TEST(test_sasl_plain_v1_and_logging)
{
    const char *extra[] = {"security.protocol",
                           "SASL_PLAINTEXT",
                           "sasl.mechanism",
                           "PLAIN",
                           "sasl.username",
                           "alice",
                           "sasl.password",
                           "s3cr3t-pw",
                           NULL};
    client_new(extra);
    logcap lc;
    memset(&lc, 0, sizeof(lc));
    kw_client_set_log(w.client, KW_LOG_DEBUG, log_fn, &lc);
    mdres m;
    ask_md(&m, 0);
    sconn s = {0};
    handshake(&s);
    sframe f;
    sc_read(&w, &s, &f);
    ck_assert_int_eq(f.api_key, 17);
    ck_assert_int_eq(f.api_version, 1);
    ck_assert_ptr_nonnull(memmem(f.body, f.body_len, "PLAIN", 5));
    /* Handshake accepted; then the token travels in SaslAuthenticate. */
    const uint8_t hs_ok[] = {0, 0, 0, 0, 0, 1, 0, 5, 'P', 'L', 'A', 'I', 'N'};
    sc_reply(&w, &s, f.corr, hs_ok, sizeof(hs_ok));
    sc_read(&w, &s, &f);
    ck_assert_int_eq(f.api_key, 36);
    ck_assert_int_eq(f.api_version, 2);
    ck_assert_ptr_nonnull(memmem(f.body, f.body_len, "\0alice\0s3cr3t-pw", 16));
    kw_sasl_authenticate_resp ar;
    memset(&ar, 0, sizeof(ar));
    ar.error_message = KW_SLICE_NULL;
    ar.session_lifetime_ms = 3600000;
    uint8_t buf[64];
    size_t len = sb_encode(&kw_msg_sasl_authenticate_resp, 2, &ar, buf, sizeof(buf));
    sc_reply_flex(&w, &s, f.corr, buf, len);
    read_md(&s, &f, NULL, 0);
    const bk b1[] = {{1, 0}};
    reply_md(&s, &f, b1, 1, NULL, 0);
    until_md(&m);
    ck_assert_int_eq(m.err, KW_ERR_OK);
    ck_assert_ptr_nonnull(strstr(lc.all, "authenticated with PLAIN"));
    ck_assert_ptr_nonnull(strstr(lc.all, "conn: "));
    ck_assert_ptr_null(strstr(lc.all, "s3cr3t-pw"));
    sc_close(&s);
    free(s.buf);
}
END_TEST

START_TEST(test_sasl_rejected_is_clear_and_slow)
{
    const char *extra[] = {"security.protocol",
                           "SASL_PLAINTEXT",
                           "sasl.mechanism",
                           "PLAIN",
                           "sasl.username",
                           "alice",
                           "sasl.password",
                           "s3cr3t-pw",
                           "reconnect.backoff.max.ms",
                           "5000",
                           NULL};
    client_new(extra);
    logcap lc;
    memset(&lc, 0, sizeof(lc));
    kw_client_set_log(w.client, KW_LOG_WARN, log_fn, &lc);
    mdres m;
    ask_md(&m, 400 * kwt_slow_factor());
    sconn s = {0};
    handshake(&s);
    sframe f;
    sc_read(&w, &s, &f);
    ck_assert_int_eq(f.api_key, 17);
    /* UNSUPPORTED_SASL_MECHANISM; the broker enables SCRAM-SHA-256 only. */
    const uint8_t hs_no[] = {0,   33,  0,   0,   0,   1,   0,   13,  'S', 'C', 'R',
                             'A', 'M', '-', 'S', 'H', 'A', '-', '2', '5', '6'};
    sc_reply(&w, &s, f.corr, hs_no, sizeof(hs_no));
    until_md(&m);
    ck_assert_int_eq(m.err, KW_ERR_AUTH); /* at once, not at the deadline */
    ck_assert_msg(strstr(m.msg, "refused SASL mechanism PLAIN") != NULL, "%s", m.msg);
    ck_assert_msg(strstr(m.msg, "SCRAM-SHA-256") != NULL, "%s", m.msg);
    ck_assert(sc_eof(&w, &s));
    /* Not hammered: the next attempt waits for the maximum backoff after an authentication
     * failure, so a second call in the next 400 ms sees no new attempt (not scaled for slow
     * runs: it must stay well inside the 5 s backoff). */
    ask_md(&m, 400);
    until_md(&m);
    ck_assert_int_eq(m.err, KW_ERR_TIMED_OUT);
    ck_assert_msg(strstr(m.msg, "refused SASL mechanism PLAIN") != NULL, "%s", m.msg);
    kw_broker_stats bs[4];
    kw_stats tot;
    kw_client_stats(w.client, &tot, bs, 4);
    ck_assert_uint_eq(bs[0].connect_attempts, 1);
    ck_assert_ptr_nonnull(strstr(lc.all, "refused SASL mechanism"));
    ck_assert_ptr_null(strstr(lc.all, "s3cr3t-pw"));
    ck_assert_int_eq(lc.lines, lc.warn_or_worse); /* nothing below the level asked for */
    sc_close(&s);
    free(s.buf);
}
END_TEST

START_TEST(test_sasl_plain_handshake_v0_raw_tokens)
{
    const char *extra[] = {"security.protocol",
                           "SASL_PLAINTEXT",
                           "sasl.mechanism",
                           "PLAIN",
                           "sasl.username",
                           "bob",
                           "sasl.password",
                           "pw",
                           NULL};
    client_new(extra);
    mdres m;
    ask_md(&m, 0);
    sconn s = {0};
    sc_accept(&w, &s);
    sframe f;
    sc_read(&w, &s, &f);
    /* An old broker: SaslHandshake v0 only, so tokens go raw, without Kafka headers. */
    const kw_api_version old[] = {{3, 0, 5, {0}}, {18, 0, 0, {0}}, {17, 0, 0, {0}}};
    sc_apiversions(&w, &s, &f, old, 3);
    sc_read(&w, &s, &f); /* a v0 request after the fallback? no: the first answer was v4 */
    if (f.api_key == 18) {
        sc_apiversions(&w, &s, &f, old, 3);
        sc_read(&w, &s, &f);
    }
    ck_assert_int_eq(f.api_key, 17);
    ck_assert_int_eq(f.api_version, 0);
    const uint8_t hs_ok[] = {0, 0, 0, 0, 0, 1, 0, 5, 'P', 'L', 'A', 'I', 'N'};
    sc_reply(&w, &s, f.corr, hs_ok, sizeof(hs_ok));
    const uint8_t *tok;
    size_t n = sc_read_raw(&w, &s, &tok);
    ck_assert_uint_eq(n, 7);
    ck_assert(memcmp(tok, "\0bob\0pw", 7) == 0);
    const uint8_t empty[4] = {0, 0, 0, 0}; /* the broker's empty answer: done */
    sc_raw(&w, &s, empty, 4);
    ck_assert_int_eq(read_md(&s, &f, NULL, 0), -1);
    ck_assert_int_eq(f.api_version, 5);
    const bk b1[] = {{1, 0}};
    reply_md(&s, &f, b1, 1, NULL, 0);
    until_md(&m);
    ck_assert_int_eq(m.err, KW_ERR_OK);
    sc_close(&s);
    free(s.buf);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("client_md");
    TCase *tc = tcase_create("md");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_brokers_come_and_go);
    tcase_add_test(tc, test_leader_epochs_and_hostile_answers);
    tcase_add_test(tc, test_refresh_on_age_and_coalesced);
    tcase_add_test(tc, test_metadata_call_retries_and_times_out);
    tcase_add_test(tc, test_creation_errors);
    tcase_add_test(tc, test_sasl_plain_v1_and_logging);
    tcase_add_test(tc, test_sasl_rejected_is_clear_and_slow);
    tcase_add_test(tc, test_sasl_plain_handshake_v0_raw_tokens);
    suite_add_tcase(s, tc);
    return s;
}
