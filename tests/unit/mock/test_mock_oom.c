/* kwire-mock under memory pressure: the N-th allocation fails, for every N a whole scenario
 * makes (create, topic, connection, Produce, Fetch, Metadata with auto-creation, DescribeConfigs,
 * free). The broker must never crash, never swallow a request (each gets an answer or a closed
 * connection), free exactly what it allocated with the sizes it allocated (checked by the
 * allocator itself), and serve normally once memory is back. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../support/failalloc.h"
#include "mock_client.h"

/* Sends one request; true if it was answered, false if the connection closed. Fails the test
 * if neither happens (a swallowed request). */
static bool
exchange(mc *c, const kw_msgdef *req, int16_t ver, const void *msg)
{
    if (c->eof)
        return false;
    mc_send(c, req, ver, msg);
    size_t n;
    uint8_t *f = mc_recv_frame(c, MC_WAIT_MS, &n);
    ck_assert_msg(f || c->eof, "%s was neither answered nor refused", req->name);
    free(f);
    return f != NULL;
}

/* The scenario; returns whether every request was answered. */
static bool
scenario(failing *fa)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    kw_allocator a = kwt_failing_allocator(fa);
    conf.alloc = &a;
    conf.brokers = 2;
    kw_mock *m = NULL;
    if (kw_mock_new(&conf, &m, NULL) != KW_ERR_OK) {
        ck_assert_ptr_null(m);
        return false;
    }
    bool all = kw_mock_topic_create(m, "t", 2, 1, NULL) == KW_ERR_OK;
    mc *c = mc_connect(m, 1, false);
    kw_wr b;
    kw_wr_init_dyn(&b, NULL, 1 << 20);
    mc_batch(&b, 3, "k", "v", 1, 0);
    kw_produce_req_partition pp = {0, {b.base, (int32_t)kw_wr_len(&b)}, {NULL, 0}};
    kw_produce_req_topic pt = {kw_slice_str("t"), {{0}}, &pp, 1, {NULL, 0}};
    kw_produce_req pq = {KW_SLICE_NULL, -1, 1000, &pt, 1, {NULL, 0}};
    all &= exchange(c, &kw_msg_produce_req, 9, &pq);
    kw_fetch_req_partition fp = {0, -1, 0, -1, -1, 1 << 20, {{0}}, INT64_MAX, {NULL, 0}};
    kw_fetch_req_topic ft = {kw_slice_str("t"), {{0}}, &fp, 1, {NULL, 0}};
    kw_fetch_req fq;
    memset(&fq, 0, sizeof(fq));
    fq.cluster_id = KW_SLICE_NULL;
    fq.replica_id = -1;
    fq.replica_state.replica_id = -1;
    fq.replica_state.replica_epoch = -1;
    fq.max_bytes = 1 << 20;
    fq.session_epoch = -1;
    fq.topics = &ft;
    fq.n_topics = 1;
    all &= exchange(c, &kw_msg_fetch_req, 12, &fq);
    kw_metadata_req_topic mt = {{{0}}, kw_slice_str("auto"), {NULL, 0}};
    kw_metadata_req mq = {&mt, 1, true, false, false, {NULL, 0}};
    all &= exchange(c, &kw_msg_metadata_req, 12, &mq);
    kw_describe_configs_resource res = {2, kw_slice_str("t"), NULL, -1, {NULL, 0}};
    kw_describe_configs_req dq = {&res, 1, true, true, {NULL, 0}};
    all &= exchange(c, &kw_msg_describe_configs_req, 4, &dq);
    mc_close(c);
    kw_wr_fini(&b);
    kw_mock_free(m);
    return all;
}

START_TEST(test_allocation_failures)
{
    failing clean = {-1, 0, 0, false};
    ck_assert(scenario(&clean));
    ck_assert_int_eq(clean.live, 0);
    ck_assert(!clean.size_mismatch);
    ck_assert_int_gt(clean.calls, 20);
    for (long n = 0; n < clean.calls; n++) {
        failing fa = {n, 0, 0, false};
        scenario(&fa);
        ck_assert_msg(fa.live == 0, "failing allocation %ld: %lld bytes leaked", n, fa.live);
        ck_assert_msg(!fa.size_mismatch, "failing allocation %ld: a free named the wrong size", n);
    }
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_oom");
    TCase *tc = tcase_create("oom");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
