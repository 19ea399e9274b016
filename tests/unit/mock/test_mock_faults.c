/* kwire-mock fault injection, observed over real sockets with frames built by kwire's codec:
 * per-API error sequences (per broker and cluster-wide; no side effect while an error is
 * injected; acks=0 closes), dropped connections (after N requests, on an API), latency and
 * partial writes on a virtual clock (nothing arrives early, each piece arrives when due), a
 * broker taken down (connections closed, connecting refused) and brought up on the same port,
 * and fault clearing. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#include "fault_util.h"

/* ---------------------------------------------------------------- produce helpers */

typedef struct produce_one {
    kw_produce_req rq;
    kw_produce_req_topic t;
    kw_produce_req_partition p;
    kw_wr batch;
} produce_one;

static void
produce_init(produce_one *po, const char *topic, int16_t acks)
{
    memset(po, 0, sizeof(*po));
    kw_wr_init_dyn(&po->batch, NULL, 1u << 20);
    mc_batch(&po->batch, 2, "k", "v", 1700000000000, 0);
    po->p.index = 0;
    po->p.records = (kw_slice){po->batch.base, (int32_t)kw_wr_len(&po->batch)};
    po->t.name = kw_slice_str(topic);
    po->t.partition_data = &po->p;
    po->t.n_partition_data = 1;
    po->rq.transactional_id = KW_SLICE_NULL;
    po->rq.acks = acks;
    po->rq.timeout_ms = 30000;
    po->rq.topic_data = &po->t;
    po->rq.n_topic_data = 1;
}

/* One Produce v9; returns the partition's error code (base offset in *base). */
static int16_t
produce(mc *c, produce_one *po, int64_t *base)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_produce_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_produce_req, &kw_msg_produce_resp, 9, &po->rq, &ar, &r, &f);
    ck_assert_int_eq(r.n_responses, 1);
    ck_assert(kw_slice_eq(r.responses[0].name, "t"));
    ck_assert_int_eq(r.responses[0].n_partition_responses, 1);
    kw_produce_resp_partition p = r.responses[0].partition_responses[0];
    ck_assert_int_eq(p.index, 0);
    *base = p.base_offset;
    free(f);
    kw_arena_fini(&ar);
    return p.error_code;
}

static int64_t
high_watermark(kw_mock *m, const char *topic)
{
    kw_mock_partition_info pi;
    ck_assert_int_eq(kw_mock_partition_info_get(m, topic, 0, &pi), KW_ERR_OK);
    return pi.high_watermark;
}

/* ---------------------------------------------------------------- errors */

START_TEST(test_error_sequence_per_broker)
{
    kw_mock *m = fu_mock(2, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    kw_mock_partition_leader_set(m, "t", 0, 1);
    /* Broker 1: NOT_LEADER_OR_FOLLOWER, then one that passes (0), then REQUEST_TIMED_OUT. */
    const int16_t codes[] = {6, 0, 7};
    ck_assert_int_eq(kw_mock_fault_errors(m, 1, 0, codes, 3), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    produce_one po;
    produce_init(&po, "t", -1);
    int64_t base;
    ck_assert_int_eq(produce(c, &po, &base), 6);
    ck_assert_int_eq(base, -1);
    ck_assert_int_eq(high_watermark(m, "t"), 0); /* an injected error has no effect */
    ck_assert_int_eq(produce(c, &po, &base), 0);
    ck_assert_int_eq(base, 0);
    ck_assert_int_eq(high_watermark(m, "t"), 2);
    ck_assert_int_eq(produce(c, &po, &base), 7);
    ck_assert_int_eq(high_watermark(m, "t"), 2);
    ck_assert_int_eq(produce(c, &po, &base), 0); /* the sequence is used up */
    ck_assert_int_eq(base, 2);
    /* Argument checks. */
    ck_assert_int_eq(kw_mock_fault_errors(m, 3, 0, codes, 1), KW_ERR_NOT_FOUND);
    ck_assert_int_eq(kw_mock_fault_errors(m, 1, 0, codes, 0), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_mock_fault_errors(m, 1, 127, codes, 1), KW_ERR_INVALID_ARG);
    kw_wr_fini(&po.batch);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_error_cluster_wide_metadata)
{
    kw_mock *m = fu_mock(2, NULL);
    const int16_t code = 3; /* UNKNOWN_TOPIC_OR_PARTITION */
    ck_assert_int_eq(kw_mock_fault_errors(m, 0, 3, &code, 1), KW_ERR_OK);
    mc *c = mc_connect(m, 2, false);
    kw_metadata_req rq;
    kw_metadata_req_topic t;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_metadata_resp r;
    uint8_t *f;
    int32_t corr = fu_send_metadata(c, 12, "fresh", &t, &rq);
    mc_recv(c, &kw_msg_metadata_resp, 12, corr, &ar, &r, &f);
    /* The topic carries the error; the brokers are still listed. Nothing was created. */
    ck_assert_int_eq(r.n_topics, 1);
    ck_assert_int_eq(r.topics[0].error_code, 3);
    ck_assert(kw_slice_eq(r.topics[0].name, "fresh"));
    ck_assert_int_eq(r.topics[0].n_partitions, 0);
    ck_assert_int_eq(r.n_brokers, 2);
    ck_assert_int_eq(r.brokers[1].port, kw_mock_broker_port(m, 2));
    ck_assert(kw_slice_eq(r.cluster_id, "kwire-fault-test"));
    ck_assert_int_eq(kw_mock_topic_partitions(m, "fresh"), -1);
    free(f);
    /* Used up: the next one auto-creates as usual. */
    corr = fu_send_metadata(c, 12, "fresh", &t, &rq);
    mc_recv(c, &kw_msg_metadata_resp, 12, corr, &ar, &r, &f);
    ck_assert_int_eq(r.topics[0].error_code, 0);
    ck_assert_int_eq(r.topics[0].n_partitions, 1);
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_error_top_level_and_list_offsets)
{
    kw_mock *m = fu_mock(1, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 2, 1, NULL), KW_ERR_OK);
    const int16_t nc = 15; /* COORDINATOR_NOT_AVAILABLE */
    ck_assert_int_eq(kw_mock_fault_errors(m, 1, 22, &nc, 1), KW_ERR_OK);
    const int16_t lo = 75; /* UNKNOWN_LEADER_EPOCH */
    ck_assert_int_eq(kw_mock_fault_errors(m, 1, 2, &lo, 1), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    /* InitProducerId: the error at the top, no producer id. */
    kw_init_producer_id_req ip;
    memset(&ip, 0, sizeof(ip));
    ip.transactional_id = KW_SLICE_NULL;
    ip.transaction_timeout_ms = 60000;
    ip.producer_id = -1;
    ip.producer_epoch = -1;
    kw_init_producer_id_resp ipr;
    mc_call(c, &kw_msg_init_producer_id_req, &kw_msg_init_producer_id_resp, 4, &ip, &ar, &ipr, &f);
    ck_assert_int_eq(ipr.error_code, 15);
    ck_assert_int_eq(ipr.producer_id, -1);
    ck_assert_int_eq(ipr.producer_epoch, -1);
    free(f);
    /* ListOffsets: every partition asked for carries it. */
    kw_list_offsets_req_partition ps[2] = {{0, -1, -1, {NULL, 0}}, {1, -1, -2, {NULL, 0}}};
    kw_list_offsets_req_topic lt = {kw_slice_str("t"), ps, 2, {NULL, 0}};
    kw_list_offsets_req lr;
    memset(&lr, 0, sizeof(lr));
    lr.replica_id = -1;
    lr.topics = &lt;
    lr.n_topics = 1;
    kw_list_offsets_resp lres;
    mc_call(c, &kw_msg_list_offsets_req, &kw_msg_list_offsets_resp, 7, &lr, &ar, &lres, &f);
    ck_assert_int_eq(lres.n_topics, 1);
    ck_assert_int_eq(lres.topics[0].n_partitions, 2);
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(lres.topics[0].partitions[i].partition_index, i);
        ck_assert_int_eq(lres.topics[0].partitions[i].error_code, 75);
        ck_assert_int_eq(lres.topics[0].partitions[i].offset, -1);
    }
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_error_acks_zero_closes)
{
    kw_mock *m = fu_mock(1, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    const int16_t code = 6;
    ck_assert_int_eq(kw_mock_fault_errors(m, 1, 0, &code, 1), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    produce_one po;
    produce_init(&po, "t", 0);
    mc_send(c, &kw_msg_produce_req, 9, &po.rq);
    /* acks=0 has no answer to carry the error: Kafka closes the connection. */
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    ck_assert_int_eq(high_watermark(m, "t"), 0);
    kw_wr_fini(&po.batch);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- drops */

START_TEST(test_drop_after_requests_of_an_api)
{
    kw_mock *m = fu_mock(1, NULL);
    /* The second Metadata request closes its connection; other APIs do not count. */
    ck_assert_int_eq(kw_mock_fault_drop(m, 1, 3, 1), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    size_t len;
    fu_send_api_versions(c, 3);
    f = mc_recv_frame(c, MC_WAIT_MS, &len);
    ck_assert_ptr_nonnull(f);
    free(f);
    kw_metadata_req rq;
    kw_metadata_req_topic t;
    kw_metadata_resp r;
    int32_t corr = fu_send_metadata(c, 12, "a", &t, &rq);
    mc_recv(c, &kw_msg_metadata_resp, 12, corr, &ar, &r, &f);
    free(f);
    fu_send_api_versions(c, 3);
    f = mc_recv_frame(c, MC_WAIT_MS, &len);
    ck_assert_ptr_nonnull(f);
    free(f);
    fu_send_metadata(c, 12, "a", &t, &rq);
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    mc_close(c);
    /* One-shot: a new connection is served. */
    c = mc_connect(m, 1, false);
    corr = fu_send_metadata(c, 12, "a", &t, &rq);
    mc_recv(c, &kw_msg_metadata_resp, 12, corr, &ar, &r, &f);
    free(f);
    /* Any API, at once. */
    ck_assert_int_eq(kw_mock_fault_drop(m, 1, -1, 0), KW_ERR_OK);
    fu_send_api_versions(c, 0);
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    ck_assert_int_eq(kw_mock_fault_drop(m, 1, 3, -1), KW_ERR_INVALID_ARG);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- pacing */

START_TEST(test_rtt_virtual_clock)
{
    int64_t now = 1000000;
    kw_mock *m = fu_mock(2, &now);
    ck_assert_int_eq(kw_mock_broker_rtt(m, 1, 500), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    fu_send_api_versions(c, 3);
    /* Nothing before the virtual clock moves, however long we wait in real time. */
    ck_assert(mc_quiet(c, 200));
    now += 499;
    ck_assert(mc_quiet(c, 100));
    now += 1;
    size_t len;
    uint8_t *f = mc_recv_frame(c, MC_WAIT_MS, &len);
    ck_assert_ptr_nonnull(f);
    free(f);
    /* Broker 2 is not delayed; rtt 0 turns it off on broker 1. */
    mc *c2 = mc_connect(m, 2, false);
    fu_send_api_versions(c2, 3);
    f = mc_recv_frame(c2, MC_WAIT_MS, &len);
    ck_assert_ptr_nonnull(f);
    free(f);
    ck_assert_int_eq(kw_mock_broker_rtt(m, 1, 0), KW_ERR_OK);
    fu_send_api_versions(c, 3);
    f = mc_recv_frame(c, MC_WAIT_MS, &len);
    ck_assert_ptr_nonnull(f);
    free(f);
    ck_assert_int_eq(kw_mock_broker_rtt(m, 1, -1), KW_ERR_INVALID_ARG);
    mc_close(c);
    mc_close(c2);
    kw_mock_free(m);
}
END_TEST

/* How many bytes arrive within `ms` of real time (stepping the mock). */
static size_t
bytes_within(mc *c, uint8_t *buf, size_t cap, int ms)
{
    bool eof;
    return fu_read(c, buf, cap, ms, &eof);
}

START_TEST(test_partial_writes_and_trickle)
{
    int64_t now = 5000;
    kw_mock *m = fu_mock(1, &now);
    ck_assert_int_eq(kw_mock_broker_chunked(m, 1, 10, 250), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    fu_send_api_versions(c, 0);
    uint8_t buf[4096];
    size_t got = bytes_within(c, buf, sizeof(buf), 200);
    ck_assert_int_eq(got, 10); /* the first piece goes at once, the next waits */
    uint32_t total = 4 + fu_be32(buf);
    ck_assert_uint_gt(total, 30);
    now += 250;
    ck_assert_int_eq(bytes_within(c, buf + 10, sizeof(buf) - 10, 200), 10);
    /* Each due piece, and only it, arrives as the clock moves. */
    size_t have = 20;
    while (have < total) {
        now += 250;
        size_t n = bytes_within(c, buf + have, sizeof(buf) - have, 200);
        ck_assert_uint_eq(n, total - have < 10 ? total - have : 10);
        have += n;
    }
    /* The pieces make the ordinary response. */
    kw_rd rd;
    kw_rd_init(&rd, buf + 8, total - 8);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_api_versions_resp r;
    ck_assert_int_eq(kw_msg_decode(&kw_msg_api_versions_resp, 0, &rd, &ar, &r), KW_ERR_OK);
    ck_assert_int_eq(r.error_code, 0);
    kw_arena_fini(&ar);
    /* Trickle: one byte per 1000 ms. */
    ck_assert_int_eq(kw_mock_broker_chunked(m, 1, 1, 1000), KW_ERR_OK);
    fu_send_api_versions(c, 0);
    ck_assert_int_eq(bytes_within(c, buf, sizeof(buf), 200), 1);
    now += 999;
    ck_assert_int_eq(bytes_within(c, buf + 1, sizeof(buf) - 1, 100), 0);
    now += 1;
    ck_assert_int_eq(bytes_within(c, buf + 1, sizeof(buf) - 1, 200), 1);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- down and up */

static int
try_connect(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(fd, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    int e = rc == 0 ? 0 : errno;
    close(fd);
    return e;
}

START_TEST(test_broker_down_and_up)
{
    kw_mock *m = fu_mock(2, NULL);
    int port = kw_mock_broker_port(m, 2);
    mc *c = mc_connect(m, 2, false);
    mc *c1 = mc_connect(m, 1, false);
    fu_send_api_versions(c, 3);
    size_t len;
    uint8_t *f = mc_recv_frame(c, MC_WAIT_MS, &len);
    ck_assert_ptr_nonnull(f);
    free(f);
    ck_assert_int_eq(kw_mock_broker_down(m, 2), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_broker_down(m, 2), KW_ERR_OK); /* idempotent */
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    ck_assert_int_eq(try_connect(port), ECONNREFUSED);
    /* Broker 1 is untouched. */
    fu_send_api_versions(c1, 3);
    f = mc_recv_frame(c1, MC_WAIT_MS, &len);
    ck_assert_ptr_nonnull(f);
    free(f);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_mock_broker_up(m, 2, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_broker_port(m, 2), port); /* the same port again */
    mc_close(c);
    c = mc_connect(m, 2, false);
    fu_send_api_versions(c, 3);
    f = mc_recv_frame(c, MC_WAIT_MS, &len);
    ck_assert_ptr_nonnull(f);
    free(f);
    ck_assert_int_eq(kw_mock_broker_down(m, 3), KW_ERR_NOT_FOUND);
    ck_assert_int_eq(kw_mock_broker_up(m, 0, &err), KW_ERR_NOT_FOUND);
    mc_close(c);
    mc_close(c1);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_clear)
{
    int64_t now = 0;
    kw_mock *m = fu_mock(1, &now);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    const int16_t code = 6;
    ck_assert_int_eq(kw_mock_fault_errors(m, 1, 0, &code, 1), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_broker_rtt(m, 1, 100000), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_fault_drop(m, 1, 0, 0), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_fault_hostile(m, 1, KW_MOCK_HOSTILE_LENGTH, -1, 0), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_fault_clear(m, 1), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    produce_one po;
    produce_init(&po, "t", -1);
    int64_t base;
    ck_assert_int_eq(produce(c, &po, &base), 0); /* no error, no delay, no drop, no rewrite */
    ck_assert_int_eq(kw_mock_fault_clear(m, 2), KW_ERR_NOT_FOUND);
    kw_wr_fini(&po.batch);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_faults");
    TCase *tc = tcase_create("faults");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_error_sequence_per_broker);
    tcase_add_test(tc, test_error_cluster_wide_metadata);
    tcase_add_test(tc, test_error_top_level_and_list_offsets);
    tcase_add_test(tc, test_error_acks_zero_closes);
    tcase_add_test(tc, test_drop_after_requests_of_an_api);
    tcase_add_test(tc, test_rtt_virtual_clock);
    tcase_add_test(tc, test_partial_writes_and_trickle);
    tcase_add_test(tc, test_broker_down_and_up);
    tcase_add_test(tc, test_clear);
    suite_add_tcase(s, tc);
    return s;
}
