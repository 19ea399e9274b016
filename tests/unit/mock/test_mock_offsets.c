/* kwire-mock: ListOffsets (earliest, latest, by timestamp, max timestamp, the tiered-storage
 * specials, leader epochs, isolation) and retention by size (the log start moves, fetches below
 * it are out of range, ListOffsets follows). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_client.h"

typedef struct lo_one {
    kw_list_offsets_req rq;
    kw_list_offsets_req_topic t;
    kw_list_offsets_req_partition p;
} lo_one;

/* ListOffsets for one partition at `ts`; returns the partition's answer. */
static kw_list_offsets_resp_partition
list_offsets(mc *c, int16_t ver, const char *topic, int32_t part, int64_t ts, int8_t isolation)
{
    lo_one lo;
    memset(&lo, 0, sizeof(lo));
    lo.p.partition_index = part;
    lo.p.current_leader_epoch = -1;
    lo.p.timestamp = ts;
    lo.t.name = kw_slice_str(topic);
    lo.t.partitions = &lo.p;
    lo.t.n_partitions = 1;
    lo.rq.replica_id = -1;
    lo.rq.isolation_level = isolation;
    lo.rq.topics = &lo.t;
    lo.rq.n_topics = 1;
    lo.rq.timeout_ms = 1000;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_list_offsets_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_list_offsets_req, &kw_msg_list_offsets_resp, ver, &lo.rq, &ar, &r, &f);
    ck_assert_int_eq(r.n_topics, 1);
    ck_assert(kw_slice_eq(r.topics[0].name, topic));
    ck_assert_int_eq(r.topics[0].n_partitions, 1);
    kw_list_offsets_resp_partition out = r.topics[0].partitions[0];
    free(f);
    kw_arena_fini(&ar);
    return out;
}

/* Three batches: offsets 0-2 at 1000, 1001, 1002; 3-5 at 5000, 5001, 5002; 6-7 at 3000, 3001
 * (timestamps are not monotonic, as producers may send). */
static kw_mock *
fixture(void)
{
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(NULL, &m, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    static const int64_t bases[] = {1000, 5000, 3000};
    static const int counts[] = {3, 3, 2};
    for (int i = 0; i < 3; i++) {
        kw_wr w;
        kw_wr_init_dyn(&w, NULL, 1 << 20);
        mc_batch(&w, counts[i], "k", "v", bases[i], 0);
        ck_assert_int_eq(
            kw_mock_append(m, "t", 0, (kw_slice){w.base, (int32_t)kw_wr_len(&w)}, NULL, NULL),
            KW_ERR_OK);
        kw_wr_fini(&w);
    }
    return m;
}

START_TEST(test_list_offsets)
{
    kw_mock *m = fixture();
    mc *c = mc_connect(m, 1, false);
    for (int16_t v = 1; v <= 10; v++) {
        kw_list_offsets_resp_partition p = list_offsets(c, v, "t", 0, -2, 0);
        ck_assert_int_eq(p.error_code, 0);
        ck_assert_int_eq(p.offset, 0);
        ck_assert_int_eq(p.timestamp, -1);
        p = list_offsets(c, v, "t", 0, -1, 0);
        ck_assert_int_eq(p.offset, 8);
        if (v >= 4)
            ck_assert_int_eq(p.leader_epoch, 0);
        /* The first record at or after the time, not the first batch. */
        p = list_offsets(c, v, "t", 0, 1001, 0);
        ck_assert_int_eq(p.offset, 1);
        ck_assert_int_eq(p.timestamp, 1001);
        p = list_offsets(c, v, "t", 0, 2000, 0);
        ck_assert_int_eq(p.offset, 3); /* 5000 is the first at or after 2000 */
        ck_assert_int_eq(p.timestamp, 5000);
        p = list_offsets(c, v, "t", 0, 5002, 0);
        ck_assert_int_eq(p.offset, 5);
        p = list_offsets(c, v, "t", 0, 9999, 0);
        ck_assert_int_eq(p.error_code, 0);
        ck_assert_int_eq(p.offset, -1);
        ck_assert_int_eq(p.timestamp, -1);
    }
    /* KIP-734 max timestamp; KIP-405/1005 specials with nothing tiered. */
    kw_list_offsets_resp_partition p = list_offsets(c, 7, "t", 0, -3, 0);
    ck_assert_int_eq(p.offset, 5);
    ck_assert_int_eq(p.timestamp, 5002);
    p = list_offsets(c, 8, "t", 0, -4, 0);
    ck_assert_int_eq(p.offset, 0);
    p = list_offsets(c, 9, "t", 0, -5, 0);
    ck_assert_int_eq(p.offset, -1);
    /* read_committed: the last stable offset (== high watermark without transactions). */
    p = list_offsets(c, 2, "t", 0, -1, 1);
    ck_assert_int_eq(p.offset, 8);
    /* Errors: unknown topic, unknown partition, not the leader. */
    ck_assert_int_eq(list_offsets(c, 7, "nope", 0, -1, 0).error_code, 3);
    ck_assert_int_eq(list_offsets(c, 7, "t", 4, -1, 0).error_code, 3);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_list_offsets_not_leader_and_epochs)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.brokers = 2;
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(&conf, &m, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    kw_mock_partition_info info;
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", 0, &info), KW_ERR_OK);
    int32_t other = info.leader == 1 ? 2 : 1;
    mc *c = mc_connect(m, other, false);
    ck_assert_int_eq(list_offsets(c, 5, "t", 0, -1, 0).error_code, 6);
    ck_assert_int_eq(
        kw_mock_append_record(m, "t", 0, kw_slice_str("a"), kw_slice_str("b"), 7, NULL, NULL),
        KW_ERR_OK);
    ck_assert_int_eq(kw_mock_partition_leader_set(m, "t", 0, other), KW_ERR_OK);
    ck_assert_int_eq(
        kw_mock_append_record(m, "t", 0, kw_slice_str("a"), kw_slice_str("b"), 8, NULL, NULL),
        KW_ERR_OK);
    /* Each found offset carries the epoch its batch was written in. */
    kw_list_offsets_resp_partition p = list_offsets(c, 6, "t", 0, -2, 0);
    ck_assert_int_eq(p.offset, 0);
    ck_assert_int_eq(p.leader_epoch, 0);
    p = list_offsets(c, 6, "t", 0, 8, 0);
    ck_assert_int_eq(p.offset, 1);
    ck_assert_int_eq(p.leader_epoch, 1);
    p = list_offsets(c, 6, "t", 0, -1, 0);
    ck_assert_int_eq(p.offset, 2);
    ck_assert_int_eq(p.leader_epoch, 1);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* retention.bytes drops the oldest batches (never the newest) and moves the log start. */
START_TEST(test_retention_by_size)
{
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(NULL, &m, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1 << 20);
    mc_batch(&w, 10, "key", "value", 0, 0);
    int32_t bl = (int32_t)kw_wr_len(&w);
    char limit[32];
    snprintf(limit, sizeof(limit), "%d", 2 * bl + bl / 2); /* room for two batches */
    ck_assert_int_eq(kw_mock_topic_config_set(m, "t", "retention.bytes", limit, NULL), KW_ERR_OK);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(kw_mock_append(m, "t", 0, (kw_slice){w.base, bl}, NULL, NULL), KW_ERR_OK);
    kw_mock_partition_info info;
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", 0, &info), KW_ERR_OK);
    ck_assert_int_eq(info.batches, 2);
    ck_assert_int_eq(info.bytes, 2 * bl);
    ck_assert_int_eq(info.log_start_offset, 30);
    ck_assert_int_eq(info.high_watermark, 50);
    mc *c = mc_connect(m, 1, false);
    ck_assert_int_eq(list_offsets(c, 5, "t", 0, -2, 0).offset, 30);
    /* What is left reads back from the log start. */
    kw_wr out;
    kw_wr_init_dyn(&out, NULL, 1 << 20);
    ck_assert_int_eq(kw_mock_read(m, "t", 0, 0, 1 << 20, &out, NULL), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_mock_read(m, "t", 0, 30, 1 << 20, &out, NULL), KW_ERR_OK);
    ck_assert_int_eq((int32_t)kw_wr_len(&out), 2 * bl);
    kw_wr_fini(&out);
    /* A limit below one batch keeps the newest batch; lowering it applies at once. */
    ck_assert_int_eq(kw_mock_topic_config_set(m, "t", "retention.bytes", "1", NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", 0, &info), KW_ERR_OK);
    ck_assert_int_eq(info.batches, 1);
    ck_assert_int_eq(info.log_start_offset, 40);
    /* Many appends under retention keep memory bounded (the buffer is reused). */
    for (int i = 0; i < 2000; i++)
        ck_assert_int_eq(kw_mock_append(m, "t", 0, (kw_slice){w.base, bl}, NULL, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", 0, &info), KW_ERR_OK);
    ck_assert_int_eq(info.batches, 1);
    ck_assert_int_eq(info.high_watermark, 20050);
    ck_assert_int_eq(info.log_start_offset, 20040);
    ck_assert_int_eq(kw_mock_topic_config_set(m, "t", "retention.bytes", "x", NULL), KW_ERR_CONFIG);
    ck_assert_int_eq(kw_mock_topic_config_set(m, "t", "retention.nope", "1", NULL), KW_ERR_CONFIG);
    kw_wr_fini(&w);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* A cluster-wide retention default applies to new topics. */
START_TEST(test_retention_default)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.retention_bytes = 0;
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(&conf, &m, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(
            kw_mock_append_record(m, "t", 0, kw_slice_str("k"), kw_slice_str("v"), 1, NULL, NULL),
            KW_ERR_OK);
    kw_mock_partition_info info;
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", 0, &info), KW_ERR_OK);
    ck_assert_int_eq(info.batches, 1);
    ck_assert_int_eq(info.log_start_offset, 2);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_offsets");
    TCase *tc = tcase_create("offsets");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_list_offsets);
    tcase_add_test(tc, test_list_offsets_not_leader_and_epochs);
    tcase_add_test(tc, test_retention_by_size);
    tcase_add_test(tc, test_retention_default);
    suite_add_tcase(s, tc);
    return s;
}
