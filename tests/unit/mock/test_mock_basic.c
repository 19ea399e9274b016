/* kwire-mock, connection level: ApiVersions (every version, the KIP-511 fallback above the
 * maximum, version emulation, the software-name check), requests the broker does not serve and
 * bad frame sizes closing the connection, responses in request order (pipelined, and behind a
 * waiting Fetch), Metadata (auto-creation, topic ids, every topic, leaders spread over the
 * brokers), DescribeCluster, the optional thread, and configuration errors. Everything goes
 * over real loopback sockets with frames built by kwire's codec. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_client.h"

static kw_mock *
new_mock(int brokers, int partitions)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.brokers = brokers;
    conf.default_partitions = partitions;
    conf.cluster_id = "kwire-test-cluster";
    kw_mock *m = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_new(&conf, &m, &err) == KW_ERR_OK, "%s", err.msg);
    return m;
}

static kw_api_versions_resp
api_versions(mc *c, int16_t ver, kw_arena *ar, uint8_t **frame)
{
    kw_api_versions_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.client_software_name = kw_slice_str("kwire-test");
    rq.client_software_version = kw_slice_str("0.1.0");
    kw_api_versions_resp resp;
    mc_call(c, &kw_msg_api_versions_req, &kw_msg_api_versions_resp, ver, &rq, ar, &resp, frame);
    return resp;
}

static const kw_api_version *
find_api(const kw_api_versions_resp *r, int16_t key)
{
    for (int32_t i = 0; i < r->n_api_keys; i++)
        if (r->api_keys[i].api_key == key)
            return &r->api_keys[i];
    return NULL;
}

/* Writes a frame with any header fields and a raw body: for versions the codec cannot encode. */
static int32_t
raw_request(mc *c, int16_t key, int16_t ver, int16_t hdr_ver, const void *body, size_t n)
{
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1u << 20);
    kw_wr_i32(&w, 0);
    kw_req_hdr h = {key, ver, ++c->corr, kw_slice_str("raw"), {NULL, 0}};
    ck_assert_int_eq(kw_req_hdr_encode(&w, hdr_ver, &h), KW_ERR_OK);
    kw_wr_raw(&w, body, n);
    kw_wr_patch_i32(&w, 0, (int32_t)(kw_wr_len(&w) - 4));
    mc_write(c, w.base, kw_wr_len(&w));
    kw_wr_fini(&w);
    return c->corr;
}

START_TEST(test_api_versions_every_version)
{
    kw_mock *m = new_mock(1, 1);
    mc *c = mc_connect(m, 1, false);
    for (int16_t v = 0; v <= 4; v++) {
        kw_arena ar;
        kw_arena_init(&ar, NULL, 0);
        uint8_t *f;
        kw_api_versions_resp r = api_versions(c, v, &ar, &f);
        ck_assert_int_eq(r.error_code, 0);
        /* The served APIs at the codec's full ranges, sorted by key. */
        const kw_api_version *a = find_api(&r, 0);
        ck_assert_ptr_nonnull(a);
        ck_assert_int_eq(a->min_version, kw_msg_produce_req.min_ver);
        ck_assert_int_eq(a->max_version, kw_msg_produce_req.max_ver);
        a = find_api(&r, 1);
        ck_assert_ptr_nonnull(a);
        ck_assert_int_eq(a->min_version, 4);
        ck_assert_int_eq(a->max_version, kw_msg_fetch_req.max_ver);
        static const int16_t served[] = {
            0,  1,  2, 3, 18, 19, 20, 21, 22, 24, 25, 26, 28, 32,
            37, 60, 8, 9, 10, 11, 12, 13, 14, 15, 16, 68, 69, /* + groups */
            17, 36};                                          /* + SASL (sasl_server.c) */
        for (size_t i = 0; i < sizeof(served) / sizeof(served[0]); i++)
            ck_assert_msg(find_api(&r, served[i]), "API %d not advertised", served[i]);
        ck_assert_int_eq(r.n_api_keys, (int32_t)(sizeof(served) / sizeof(served[0])));
        ck_assert_ptr_null(find_api(&r, 23)); /* OffsetForLeaderEpoch: not served (yet) */
        for (int32_t i = 1; i < r.n_api_keys; i++)
            ck_assert_int_lt(r.api_keys[i - 1].api_key, r.api_keys[i].api_key);
        if (v >= 3)
            ck_assert_int_eq(r.finalized_features_epoch, -1);
        free(f);
        kw_arena_fini(&ar);
    }
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* KIP-511: a version above the maximum gets error 35 and a v0 body (header v0) listing the
 * ranges, so the client can retry at a version both know. */
START_TEST(test_api_versions_too_high)
{
    kw_mock *m = new_mock(1, 1);
    mc *c = mc_connect(m, 1, false);
    /* v9 has no schema: the body is whatever a future client sends. */
    static const uint8_t body[] = {0x05, 'f', 'u', 't', 'u', 0x02, '9', 0x00, 0x42};
    int32_t corr = raw_request(c, 18, 9, 2, body, sizeof(body));
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_api_versions_resp r;
    uint8_t *f;
    mc_recv(c, &kw_msg_api_versions_resp, 0, corr, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 35);
    const kw_api_version *a = find_api(&r, 18);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(a->min_version, 0);
    ck_assert_int_eq(a->max_version, 4);
    ck_assert_ptr_nonnull(find_api(&r, 3));
    free(f);

    /* Emulating a broker whose ApiVersions stops at v2: a v3 request gets the same fallback,
     * and the list shows the emulated range. */
    ck_assert_int_eq(kw_mock_api_versions_set(m, 18, 0, 2), KW_ERR_OK);
    kw_api_versions_req v3 = {kw_slice_str("kwire-test"), kw_slice_str("0.1.0"), {NULL, 0}};
    corr = mc_send(c, &kw_msg_api_versions_req, 3, &v3);
    mc_recv(c, &kw_msg_api_versions_resp, 0, corr, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 35);
    ck_assert_int_eq(find_api(&r, 18)->max_version, 2);
    free(f);
    corr = mc_send(c, &kw_msg_api_versions_req, 2, &(kw_api_versions_req){0});
    mc_recv(c, &kw_msg_api_versions_resp, 2, corr, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 0);
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_api_versions_bad_software_name)
{
    kw_mock *m = new_mock(1, 1);
    mc *c = mc_connect(m, 1, false);
    kw_api_versions_req rq = {kw_slice_str("-leading-dash"), kw_slice_str("1.0"), {NULL, 0}};
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_api_versions_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_api_versions_req, &kw_msg_api_versions_resp, 3, &rq, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 42); /* INVALID_REQUEST */
    ck_assert_int_eq(r.n_api_keys, 0);
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* Emulation: the advertised range changes, and versions outside it close the connection, as
 * a real broker of that release would. Hiding an API removes it entirely. */
START_TEST(test_version_emulation)
{
    kw_mock *m = new_mock(1, 1);
    ck_assert_int_eq(kw_mock_api_versions_set(m, 3, 0, 8), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_api_versions_set(m, 60, -1, -1), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_api_versions_set(m, 23, 0, 5), KW_ERR_NOT_FOUND); /* not served */
    ck_assert_int_eq(kw_mock_api_versions_set(m, 3, 5, 2), KW_ERR_INVALID_ARG);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_api_versions_resp r = api_versions(c, 3, &ar, &f);
    ck_assert_int_eq(find_api(&r, 3)->max_version, 8);
    ck_assert_ptr_null(find_api(&r, 60));
    free(f);
    kw_metadata_resp md;
    kw_metadata_req mq = {NULL, -1, true, false, false, {NULL, 0}};
    mc_call(c, &kw_msg_metadata_req, &kw_msg_metadata_resp, 8, &mq, &ar, &md, &f);
    free(f);
    mc_send(c, &kw_msg_metadata_req, 9, &mq);
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    mc_close(c);

    ck_assert_int_eq(kw_mock_api_versions_reset(m, 3), KW_ERR_OK);
    c = mc_connect(m, 1, false);
    mc_call(c, &kw_msg_metadata_req, &kw_msg_metadata_resp, 12, &mq, &ar, &md, &f);
    free(f);
    mc_close(c);
    kw_arena_fini(&ar);
    kw_mock_free(m);
}
END_TEST

/* A request the broker does not serve closes the connection without an answer. */
START_TEST(test_unserved_requests_close)
{
    kw_mock *m = new_mock(1, 1);
    static const uint8_t junk[] = {0, 0, 0, 0, 0, 0, 0, 0};
    struct {
        int16_t key, ver, hdr;
    } cases[] = {
        {0, 2, 1},   /* Produce v2: below the floor (KIP-896) */
        {1, 3, 1},   /* Fetch v3 */
        {23, 4, 1},  /* OffsetForLeaderEpoch: not served yet */
        {999, 0, 1}, /* no such API */
        {-1, 0, 1},  /* negative key */
        {3, -1, 1},  /* negative version */
        {3, 200, 2}, /* Metadata far above the maximum */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        mc *c = mc_connect(m, 1, false);
        raw_request(c, cases[i].key, cases[i].ver, cases[i].hdr, junk, sizeof(junk));
        ck_assert_msg(mc_wait_closed(c, MC_WAIT_MS), "case %zu was not closed", i);
        mc_close(c);
    }
    /* A body that does not decode closes too (the version is fine). */
    mc *c = mc_connect(m, 1, false);
    static const uint8_t bad_body[] = {0x7f, 0xff, 0xff, 0xff}; /* topic count, no topics */
    raw_request(c, 3, 1, 1, bad_body, sizeof(bad_body));
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_bad_frame_sizes_close)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.max_request_bytes = 1024;
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(&conf, &m, NULL), KW_ERR_OK);
    static const int32_t sizes[] = {1025, 0x7fffffff, -1, 4, 0};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        mc *c = mc_connect(m, 1, false);
        uint8_t hdr[4] = {(uint8_t)(sizes[i] >> 24), (uint8_t)(sizes[i] >> 16),
                          (uint8_t)(sizes[i] >> 8), (uint8_t)sizes[i]};
        /* Only the size: the broker must not wait for a body it refuses to buffer. */
        mc_write(c, hdr, sizeof(hdr));
        ck_assert_msg(mc_wait_closed(c, MC_WAIT_MS), "size %d was not refused", sizes[i]);
        mc_close(c);
    }
    /* A frame just under the limit is served. */
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_api_versions_resp r = api_versions(c, 3, &ar, &f);
    ck_assert_int_eq(r.error_code, 0);
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* Three requests in one write: three responses, in order, with their correlation ids. */
START_TEST(test_pipelined_in_order)
{
    kw_mock *m = new_mock(1, 1);
    mc *c = mc_connect(m, 1, false);
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1u << 20);
    kw_metadata_req mq = {NULL, -1, true, false, false, {NULL, 0}};
    int32_t c1 = mc_frame(c, &w, &kw_msg_metadata_req, 12, &mq);
    int32_t c2 = mc_frame(c, &w, &kw_msg_api_versions_req, 0, &(kw_api_versions_req){0});
    int32_t c3 = mc_frame(c, &w, &kw_msg_metadata_req, 1, &mq);
    mc_write(c, w.base, kw_wr_len(&w));
    kw_wr_fini(&w);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f1, *f2, *f3;
    kw_metadata_resp md;
    kw_api_versions_resp av;
    mc_recv(c, &kw_msg_metadata_resp, 12, c1, &ar, &md, &f1);
    mc_recv(c, &kw_msg_api_versions_resp, 0, c2, &ar, &av, &f2);
    mc_recv(c, &kw_msg_metadata_resp, 1, c3, &ar, &md, &f3);
    ck_assert_int_eq(av.error_code, 0);
    free(f1);
    free(f2);
    free(f3);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

static int64_t
vclock(void *ud)
{
    return *(int64_t *)ud;
}

static kw_fetch_req
waiting_fetch(kw_fetch_req_topic *ft, kw_fetch_req_partition *fp, const char *topic)
{
    memset(fp, 0, sizeof(*fp));
    fp->current_leader_epoch = -1;
    fp->last_fetched_epoch = -1;
    fp->log_start_offset = -1;
    fp->partition_max_bytes = 1 << 20;
    fp->high_watermark = INT64_MAX;
    memset(ft, 0, sizeof(*ft));
    ft->topic = kw_slice_str(topic);
    ft->partitions = fp;
    ft->n_partitions = 1;
    kw_fetch_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.cluster_id = KW_SLICE_NULL;
    rq.replica_id = -1;
    rq.replica_state.replica_id = -1;
    rq.replica_state.replica_epoch = -1;
    rq.max_wait_ms = 60000;
    rq.min_bytes = 1;
    rq.max_bytes = 1 << 20;
    rq.session_epoch = -1;
    rq.topics = ft;
    rq.n_topics = 1;
    return rq;
}

/* A Metadata request pipelined behind a Fetch that waits for data is answered after it. With
 * Kafka's one-request-at-a-time (max_inflight 1) it is not even read before; with more in
 * flight it is handled at once but its answer is held back. */
static void
behind_waiting_fetch(int max_inflight)
{
    int64_t now = 1000;
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.clock = vclock;
    conf.clock_ud = &now;
    conf.max_inflight = max_inflight;
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(&conf, &m, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "w", 1, 1, NULL), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_fetch_req_topic ft;
    kw_fetch_req_partition fp;
    kw_fetch_req fq = waiting_fetch(&ft, &fp, "w");
    kw_metadata_req mq = {NULL, -1, true, false, false, {NULL, 0}};
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1u << 20);
    int32_t cf = mc_frame(c, &w, &kw_msg_fetch_req, 11, &fq);
    int32_t cm = mc_frame(c, &w, &kw_msg_metadata_req, 9, &mq);
    mc_write(c, w.base, kw_wr_len(&w));
    kw_wr_fini(&w);
    ck_assert(mc_quiet(c, 100));
    /* Data arrives: the Fetch answers with it, then the Metadata. */
    int64_t off;
    ck_assert_int_eq(
        kw_mock_append_record(m, "w", 0, kw_slice_str("k"), kw_slice_str("v"), 5, &off, NULL),
        KW_ERR_OK);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f1, *f2;
    kw_fetch_resp fr;
    kw_metadata_resp md;
    mc_recv(c, &kw_msg_fetch_resp, 11, cf, &ar, &fr, &f1);
    ck_assert_int_eq(fr.responses[0].partitions[0].high_watermark, 1);
    ck_assert_int_gt(fr.responses[0].partitions[0].records.len, 0);
    mc_recv(c, &kw_msg_metadata_resp, 9, cm, &ar, &md, &f2);
    ck_assert_int_eq(md.n_topics, 1);
    free(f1);
    free(f2);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}

START_TEST(test_in_order_behind_waiting_fetch)
{
    behind_waiting_fetch(1);
    behind_waiting_fetch(4);
}
END_TEST

static kw_metadata_resp
metadata(mc *c, int16_t ver, kw_metadata_req_topic *topics, int32_t n, bool auto_create,
         kw_arena *ar, uint8_t **f)
{
    kw_metadata_req mq = {topics, n, auto_create, false, false, {NULL, 0}};
    kw_metadata_resp md;
    mc_call(c, &kw_msg_metadata_req, &kw_msg_metadata_resp, ver, &mq, ar, &md, f);
    return md;
}

START_TEST(test_metadata_auto_create)
{
    kw_mock *m = new_mock(3, 3);
    mc *c = mc_connect(m, 2, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_metadata_req_topic want = {{{0}}, kw_slice_str("auto1"), {NULL, 0}};
    kw_metadata_resp md = metadata(c, 12, &want, 1, true, &ar, &f);
    ck_assert_int_eq(md.n_brokers, 3);
    for (int32_t i = 0; i < 3; i++) {
        ck_assert_int_eq(md.brokers[i].node_id, i + 1);
        ck_assert(kw_slice_eq(md.brokers[i].host, "127.0.0.1"));
        ck_assert_int_eq(md.brokers[i].port, kw_mock_broker_port(m, i + 1));
    }
    ck_assert_int_eq(md.controller_id, 1);
    ck_assert(kw_slice_eq(md.cluster_id, "kwire-test-cluster"));
    ck_assert_int_eq(md.n_topics, 1);
    kw_metadata_resp_topic *t = &md.topics[0];
    ck_assert_int_eq(t->error_code, 0);
    ck_assert(kw_slice_eq(t->name, "auto1"));
    ck_assert_int_eq(t->n_partitions, 3);
    /* Leaders spread over every broker; epoch 0; replicas = ISR = the leader. */
    unsigned seen = 0;
    for (int32_t p = 0; p < 3; p++) {
        ck_assert_int_eq(t->partitions[p].partition_index, p);
        ck_assert_int_eq(t->partitions[p].leader_epoch, 0);
        ck_assert_int_eq(t->partitions[p].n_replica_nodes, 1);
        ck_assert_int_eq(t->partitions[p].replica_nodes[0], t->partitions[p].leader_id);
        ck_assert_int_eq(t->partitions[p].isr_nodes[0], t->partitions[p].leader_id);
        seen |= 1u << t->partitions[p].leader_id;
    }
    ck_assert_uint_eq(seen, 0xeu);
    kw_uuid id;
    ck_assert_int_eq(kw_mock_topic_id(m, "auto1", &id), KW_ERR_OK);
    ck_assert_mem_eq(t->topic_id.b, id.b, 16);
    static const kw_uuid zero;
    ck_assert(memcmp(id.b, zero.b, 16) != 0);
    free(f);

    /* By topic id (v12), and an unknown id. */
    kw_metadata_req_topic by_id[2] = {{id, KW_SLICE_NULL, {NULL, 0}},
                                      {{{9, 9, 9}}, KW_SLICE_NULL, {NULL, 0}}};
    md = metadata(c, 12, by_id, 2, false, &ar, &f);
    ck_assert_int_eq(md.topics[0].error_code, 0);
    ck_assert(kw_slice_eq(md.topics[0].name, "auto1"));
    ck_assert_int_eq(md.topics[1].error_code, 100); /* UNKNOWN_TOPIC_ID */
    free(f);

    /* v4+ with auto-creation refused by the request, and a name Kafka rejects. */
    kw_metadata_req_topic two[2] = {{{{0}}, kw_slice_str("nope"), {NULL, 0}},
                                    {{{0}}, kw_slice_str("bad name!"), {NULL, 0}}};
    md = metadata(c, 9, two, 2, false, &ar, &f);
    ck_assert_int_eq(md.topics[0].error_code, 3);
    free(f);
    md = metadata(c, 9, &two[1], 1, true, &ar, &f);
    ck_assert_int_eq(md.topics[0].error_code, 17);
    free(f);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "nope"), -1);

    /* All topics: v0 with an empty list, v1+ with a null one; v1 with an empty list: none. */
    md = metadata(c, 0, NULL, 0, true, &ar, &f);
    ck_assert_int_eq(md.n_topics, 1);
    free(f);
    md = metadata(c, 13, NULL, -1, true, &ar, &f);
    ck_assert_int_eq(md.n_topics, 1);
    ck_assert_int_eq(md.error_code, 0);
    free(f);
    md = metadata(c, 1, NULL, 0, true, &ar, &f);
    ck_assert_int_eq(md.n_topics, 0);
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_metadata_no_auto_create)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.auto_create_topics = false;
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(&conf, &m, NULL), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_metadata_req_topic want = {{{0}}, kw_slice_str("t"), {NULL, 0}};
    kw_metadata_resp md = metadata(c, 3, &want, 1, true, &ar, &f); /* v3: always "allowed" */
    ck_assert_int_eq(md.topics[0].error_code, 3);
    ck_assert_int_eq(md.topics[0].n_partitions, 0);
    free(f);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "t"), -1);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_describe_cluster)
{
    kw_mock *m = new_mock(2, 1);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    for (int16_t v = 0; v <= 2; v++) {
        kw_describe_cluster_req rq = {true, 1, false, {NULL, 0}};
        kw_describe_cluster_resp r;
        uint8_t *f;
        mc_call(c, &kw_msg_describe_cluster_req, &kw_msg_describe_cluster_resp, v, &rq, &ar, &r,
                &f);
        ck_assert_int_eq(r.error_code, 0);
        ck_assert(kw_slice_eq(r.cluster_id, "kwire-test-cluster"));
        ck_assert_int_eq(r.n_brokers, 2);
        ck_assert_int_eq(r.brokers[1].broker_id, 2);
        ck_assert_int_eq(r.brokers[1].port, kw_mock_broker_port(m, 2));
        ck_assert_int_ne(r.cluster_authorized_operations, INT32_MIN);
        free(f);
    }
    kw_describe_cluster_req rq = {false, 2, false, {NULL, 0}};
    kw_describe_cluster_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_describe_cluster_req, &kw_msg_describe_cluster_resp, 1, &rq, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 119); /* UNSUPPORTED_ENDPOINT_TYPE */
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* The optional thread serves while the test thread blocks; the C API works meanwhile. */
START_TEST(test_thread_mode)
{
    kw_mock *m = new_mock(1, 2);
    ck_assert_int_eq(kw_mock_thread_start(m, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_thread_start(m, NULL), KW_ERR_STATE);
    ck_assert_int_eq(kw_mock_step(m, 0), KW_ERR_STATE);
    mc *c = mc_connect(m, 1, true);
    ck_assert_int_eq(kw_mock_topic_create(m, "from-api", 4, 1, NULL), KW_ERR_OK);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_metadata_req_topic want = {{{0}}, kw_slice_str("from-api"), {NULL, 0}};
    kw_metadata_resp md = metadata(c, 12, &want, 1, false, &ar, &f);
    ck_assert_int_eq(md.topics[0].n_partitions, 4);
    free(f);
    ck_assert_int_eq(kw_mock_thread_stop(m), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_thread_stop(m), KW_ERR_STATE);
    /* Stepped by the caller again. */
    c->threaded = false;
    md = metadata(c, 12, &want, 1, false, &ar, &f);
    ck_assert_int_eq(md.topics[0].n_partitions, 4);
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    /* Freed while the thread runs: free stops it. */
    ck_assert_int_eq(kw_mock_thread_start(m, NULL), KW_ERR_OK);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_new_errors)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    kw_mock *m = (kw_mock *)1;
    kw_error err;
    conf.brokers = 0;
    ck_assert_int_eq(kw_mock_new(&conf, &m, &err), KW_ERR_INVALID_ARG);
    ck_assert_ptr_null(m);
    kw_mock_conf_init(&conf);
    conf.default_replication_factor = 2;
    ck_assert_int_eq(kw_mock_new(&conf, &m, &err), KW_ERR_INVALID_ARG);
    kw_mock_conf_init(&conf);
    conf.port = 65535;
    conf.brokers = 2;
    ck_assert_int_eq(kw_mock_new(&conf, &m, &err), KW_ERR_INVALID_ARG);

    /* A port that is taken. */
    kw_mock *a = new_mock(1, 1);
    kw_mock_conf_init(&conf);
    conf.port = kw_mock_broker_port(a, 1);
    ck_assert_int_eq(kw_mock_new(&conf, &m, &err), KW_ERR_IO);
    ck_assert_ptr_null(m);
    ck_assert_ptr_nonnull(strstr(err.msg, "127.0.0.1"));
    /* The bootstrap list names every broker in node order. */
    kw_mock *b = new_mock(3, 1);
    char want[128];
    snprintf(want, sizeof(want), "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d",
             kw_mock_broker_port(b, 1), kw_mock_broker_port(b, 2), kw_mock_broker_port(b, 3));
    ck_assert_str_eq(kw_mock_bootstrap(b), want);
    ck_assert_int_eq(kw_mock_broker_port(b, 4), -1);
    kw_mock_free(a);
    kw_mock_free(b);
    kw_mock_free(NULL);
}
END_TEST

/* Sends `frame` (a whole request, size prefix included) with its body cut to `body_len` bytes,
 * or with one byte flipped; the broker must answer or close, never crash (ASan and UBSan watch
 * the mock in this process), and keep serving others. */
static bool
hostile_one(kw_mock *m, const uint8_t *frame, size_t len)
{
    mc *c = mc_connect(m, 1, false);
    mc_write(c, frame, len);
    size_t n;
    /* A mutated Fetch may wait (its max wait on the virtual clock never passes): give up soon. */
    uint8_t *f = mc_recv_frame(c, 100, &n);
    bool closed = !f && c->eof;
    free(f);
    mc_close(c);
    return closed;
}

START_TEST(test_hostile_frames)
{
    int64_t now = 0;
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.clock = vclock;
    conf.clock_ud = &now;
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(&conf, &m, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 2, 1, NULL), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false); /* only for framing */
    kw_wr frames[4];
    for (int i = 0; i < 4; i++)
        kw_wr_init_dyn(&frames[i], NULL, 1u << 20);
    kw_wr batch;
    kw_wr_init_dyn(&batch, NULL, 1u << 20);
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    kw_batch_builder bb;
    ck_assert_int_eq(kw_batch_builder_init(&bb, &batch, &o), KW_ERR_OK);
    kw_batch_builder_add(&bb, 5, kw_slice_str("k"), kw_slice_str("v"), NULL, 0);
    kw_batch_builder_add(&bb, 6, kw_slice_str("k2"), kw_slice_str("v2"), NULL, 0);
    ck_assert_int_eq(kw_batch_builder_finish(&bb, NULL), KW_ERR_OK);
    kw_produce_req_partition pp = {0, {batch.base, (int32_t)kw_wr_len(&batch)}, {NULL, 0}};
    kw_produce_req_topic pt = {kw_slice_str("t"), {{0}}, &pp, 1, {NULL, 0}};
    kw_produce_req pq = {KW_SLICE_NULL, -1, 1000, &pt, 1, {NULL, 0}};
    mc_frame(c, &frames[0], &kw_msg_produce_req, 9, &pq);
    kw_fetch_req_topic ft;
    kw_fetch_req_partition fp;
    kw_fetch_req fq = waiting_fetch(&ft, &fp, "t");
    fq.max_wait_ms = 0;
    mc_frame(c, &frames[1], &kw_msg_fetch_req, 12, &fq);
    kw_metadata_req_topic mt = {{{0}}, kw_slice_str("t"), {NULL, 0}};
    kw_metadata_req mq = {&mt, 1, true, false, false, {NULL, 0}};
    mc_frame(c, &frames[2], &kw_msg_metadata_req, 12, &mq);
    kw_creatable_topic ct;
    memset(&ct, 0, sizeof(ct));
    ct.name = kw_slice_str("made");
    ct.num_partitions = 2;
    ct.replication_factor = 1;
    kw_create_topics_req cq = {&ct, 1, 1000, false, {NULL, 0}};
    mc_frame(c, &frames[3], &kw_msg_create_topics_req, 7, &cq);
    mc_close(c);

    unsigned seed = 1;
    for (int i = 0; i < 4; i++) {
        size_t len = kw_wr_len(&frames[i]);
        uint8_t *copy = malloc(len);
        /* Every truncation of the body, announced as a whole frame. */
        for (size_t cut = 8; cut < len - 4; cut++) {
            memcpy(copy, frames[i].base, 4 + cut);
            copy[0] = (uint8_t)(cut >> 24);
            copy[1] = (uint8_t)(cut >> 16);
            copy[2] = (uint8_t)(cut >> 8);
            copy[3] = (uint8_t)cut;
            ck_assert_msg(hostile_one(m, copy, 4 + cut), "frame %d cut at %zu was answered", i,
                          cut);
        }
        /* Random byte changes after the size. */
        for (int k = 0; k < 150; k++) {
            memcpy(copy, frames[i].base, len);
            seed = seed * 1103515245u + 12345u;
            size_t pos = 4 + (seed >> 8) % (len - 4);
            seed = seed * 1103515245u + 12345u;
            copy[pos] ^= (uint8_t)(1u + (seed >> 16) % 255u);
            hostile_one(m, copy, len);
        }
        free(copy);
        kw_wr_fini(&frames[i]);
    }
    kw_wr_fini(&batch);
    /* Still serving. */
    c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_api_versions_resp r = api_versions(c, 3, &ar, &f);
    ck_assert_int_eq(r.error_code, 0);
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_basic");
    TCase *tc = tcase_create("basic");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_api_versions_every_version);
    tcase_add_test(tc, test_api_versions_too_high);
    tcase_add_test(tc, test_api_versions_bad_software_name);
    tcase_add_test(tc, test_version_emulation);
    tcase_add_test(tc, test_unserved_requests_close);
    tcase_add_test(tc, test_bad_frame_sizes_close);
    tcase_add_test(tc, test_pipelined_in_order);
    tcase_add_test(tc, test_in_order_behind_waiting_fetch);
    tcase_add_test(tc, test_metadata_auto_create);
    tcase_add_test(tc, test_metadata_no_auto_create);
    tcase_add_test(tc, test_describe_cluster);
    tcase_add_test(tc, test_thread_mode);
    tcase_add_test(tc, test_new_errors);
    tcase_add_test(tc, test_hostile_frames);
    suite_add_tcase(s, tc);
    return s;
}
