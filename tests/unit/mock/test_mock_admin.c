/* kwire-mock admin APIs: CreateTopics (validation, configs, manual assignments, validate-only,
 * topic ids), DeleteTopics (by name and, v6, by id), CreatePartitions, DescribeConfigs (topic
 * and broker resources, sources, synonyms, types). */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock_client.h"

static kw_mock *
new_mock(int brokers)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.brokers = brokers;
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(&conf, &m, NULL), KW_ERR_OK);
    return m;
}

static kw_creatable_topic
topic(const char *name, int32_t parts, int16_t rf)
{
    kw_creatable_topic t;
    memset(&t, 0, sizeof(t));
    t.name = kw_slice_str(name);
    t.num_partitions = parts;
    t.replication_factor = rf;
    return t;
}

static kw_create_topics_resp
create(mc *c, int16_t ver, kw_creatable_topic *ts, int32_t n, bool validate_only, kw_arena *ar,
       uint8_t **f)
{
    kw_create_topics_req rq = {ts, n, 30000, validate_only, {NULL, 0}};
    kw_create_topics_resp r;
    mc_call(c, &kw_msg_create_topics_req, &kw_msg_create_topics_resp, ver, &rq, ar, &r, f);
    ck_assert_int_eq(r.n_topics, n);
    return r;
}

static const kw_creatable_topic_configs *
result_config(const kw_creatable_topic_result *r, const char *name)
{
    for (int32_t i = 0; i < r->n_configs; i++)
        if (kw_slice_eq(r->configs[i].name, name))
            return &r->configs[i];
    return NULL;
}

START_TEST(test_create_topics)
{
    kw_mock *m = new_mock(3);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;

    kw_creatable_topic_config cfgs[2] = {
        {kw_slice_str("retention.bytes"), kw_slice_str("1000"), {NULL, 0}},
        {kw_slice_str("cleanup.policy"), kw_slice_str("compact"), {NULL, 0}},
    };
    kw_creatable_topic ts[8];
    ts[0] = topic("good", 4, 2);
    ts[0].configs = cfgs;
    ts[0].n_configs = 2;
    ts[1] = topic("dup", 1, 1);
    ts[2] = topic("dup", 1, 1);
    ts[3] = topic("bad name", 1, 1);
    ts[4] = topic("zero", 0, 1);
    ts[5] = topic("rf4", 1, 4);
    kw_creatable_topic_config bad_cfg[1] = {
        {kw_slice_str("no.such.config"), kw_slice_str("1"), {NULL, 0}}};
    ts[6] = topic("badcfg", 1, 1);
    ts[6].configs = bad_cfg;
    ts[6].n_configs = 1;
    kw_creatable_topic_config bad_val[1] = {
        {kw_slice_str("retention.ms"), kw_slice_str("soon"), {NULL, 0}}};
    ts[7] = topic("badval", 1, 1);
    ts[7].configs = bad_val;
    ts[7].n_configs = 1;
    kw_create_topics_resp r = create(c, 7, ts, 8, false, &ar, &f);
    ck_assert_int_eq(r.topics[0].error_code, 0);
    ck_assert_int_eq(r.topics[0].num_partitions, 4);
    ck_assert_int_eq(r.topics[0].replication_factor, 2);
    kw_uuid id;
    ck_assert_int_eq(kw_mock_topic_id(m, "good", &id), KW_ERR_OK);
    ck_assert_mem_eq(r.topics[0].topic_id.b, id.b, 16);
    const kw_creatable_topic_configs *rc = result_config(&r.topics[0], "retention.bytes");
    ck_assert_ptr_nonnull(rc);
    ck_assert(kw_slice_eq(rc->value, "1000"));
    ck_assert_int_eq(rc->config_source, 1);
    rc = result_config(&r.topics[0], "segment.bytes");
    ck_assert_ptr_nonnull(rc);
    ck_assert_int_eq(rc->config_source, 5);
    ck_assert_int_eq(r.topics[1].error_code, 42);
    ck_assert_int_eq(r.topics[2].error_code, 42);
    ck_assert_int_eq(r.topics[3].error_code, 17);
    ck_assert_int_eq(r.topics[4].error_code, 37);
    ck_assert_int_eq(r.topics[5].error_code, 38);
    ck_assert_int_gt(r.topics[5].error_message.len, 0);
    ck_assert_int_eq(r.topics[6].error_code, 40);
    ck_assert_int_eq(r.topics[7].error_code, 40);
    free(f);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "good"), 4);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "dup"), -1);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "zero"), -1);
    /* The stored config takes effect: a compacted topic refuses records without a key. */
    kw_error err;
    ck_assert_int_eq(
        kw_mock_append_record(m, "good", 0, KW_SLICE_NULL, kw_slice_str("v"), 1, NULL, &err),
        KW_ERR_BROKER);
    ck_assert_int_eq(err.broker_code, 87);
    kw_mock_partition_info info;
    ck_assert_int_eq(kw_mock_partition_info_get(m, "good", 0, &info), KW_ERR_OK);

    /* Again: already exists; '.' vs '_' collision; v2 (no configs in the result). */
    kw_creatable_topic again[2] = {topic("good", 1, 1), topic("a.b", 1, 1)};
    r = create(c, 2, again, 1, false, &ar, &f);
    ck_assert_int_eq(r.topics[0].error_code, 36);
    free(f);
    r = create(c, 4, &again[1], 1, false, &ar, &f);
    ck_assert_int_eq(r.topics[0].error_code, 0);
    free(f);
    kw_creatable_topic clash = topic("a_b", 1, 1);
    r = create(c, 4, &clash, 1, false, &ar, &f);
    ck_assert_int_eq(r.topics[0].error_code, 17);
    free(f);

    kw_creatable_topic huge = topic("huge", INT32_MAX, 1);
    r = create(c, 7, &huge, 1, false, &ar, &f);
    ck_assert_int_eq(r.topics[0].error_code, 37);
    free(f);
    /* Defaults (-1/-1), and validate-only creates nothing. */
    kw_creatable_topic dflt = topic("dflt", -1, -1);
    r = create(c, 5, &dflt, 1, true, &ar, &f);
    ck_assert_int_eq(r.topics[0].error_code, 0);
    ck_assert_int_eq(r.topics[0].num_partitions, 1);
    ck_assert_int_eq(r.topics[0].replication_factor, 1);
    free(f);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "dflt"), -1);
    r = create(c, 5, &dflt, 1, false, &ar, &f);
    free(f);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "dflt"), 1);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_create_topics_assignments)
{
    kw_mock *m = new_mock(3);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    int32_t row0[2] = {3, 1}, row1[2] = {2, 3};
    kw_creatable_replica_assignment as[2] = {{1, row1, 2, {NULL, 0}}, {0, row0, 2, {NULL, 0}}};
    kw_creatable_topic t = topic("manual", -1, -1);
    t.assignments = as;
    t.n_assignments = 2;
    kw_create_topics_resp r = create(c, 6, &t, 1, false, &ar, &f);
    ck_assert_int_eq(r.topics[0].error_code, 0);
    free(f);
    kw_mock_partition_info info;
    ck_assert_int_eq(kw_mock_partition_info_get(m, "manual", 0, &info), KW_ERR_OK);
    ck_assert_int_eq(info.leader, 3);
    ck_assert_int_eq(kw_mock_partition_info_get(m, "manual", 1, &info), KW_ERR_OK);
    ck_assert_int_eq(info.leader, 2);
    /* Invalid: counts given too; unknown broker; duplicate broker in a row; gap in indexes. */
    t = topic("m2", 2, -1);
    t.assignments = as;
    t.n_assignments = 2;
    r = create(c, 6, &t, 1, false, &ar, &f);
    ck_assert_int_eq(r.topics[0].error_code, 42);
    free(f);
    int32_t unknown[2] = {1, 9}, dupe[2] = {2, 2};
    kw_creatable_replica_assignment bad[3][1] = {
        {{0, unknown, 2, {NULL, 0}}}, {{0, dupe, 2, {NULL, 0}}}, {{1, row0, 2, {NULL, 0}}}};
    for (int i = 0; i < 3; i++) {
        t = topic("m3", -1, -1);
        t.assignments = bad[i];
        t.n_assignments = 1;
        r = create(c, 6, &t, 1, false, &ar, &f);
        ck_assert_int_eq(r.topics[0].error_code, 39);
        free(f);
    }
    ck_assert_int_eq(kw_mock_topic_partitions(m, "m3"), -1);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_delete_topics)
{
    kw_mock *m = new_mock(1);
    ck_assert_int_eq(kw_mock_topic_create(m, "a", 1, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "b", 1, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "c", 1, 1, NULL), KW_ERR_OK);
    kw_uuid bid;
    ck_assert_int_eq(kw_mock_topic_id(m, "b", &bid), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    /* v1-5: by name. */
    kw_slice names[2] = {kw_slice_str("a"), kw_slice_str("nope")};
    kw_delete_topics_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.topic_names = names;
    rq.n_topic_names = 2;
    rq.timeout_ms = 1000;
    kw_delete_topics_resp r;
    mc_call(c, &kw_msg_delete_topics_req, &kw_msg_delete_topics_resp, 5, &rq, &ar, &r, &f);
    ck_assert_int_eq(r.n_responses, 2);
    ck_assert_int_eq(r.responses[0].error_code, 0);
    ck_assert_int_eq(r.responses[1].error_code, 3);
    ck_assert_int_gt(r.responses[1].error_message.len, 0);
    free(f);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "a"), -1);
    /* v6: by id (the name comes back), by name, an unknown id, both set. */
    kw_delete_topic_state st[4] = {{KW_SLICE_NULL, bid, {NULL, 0}},
                                   {kw_slice_str("c"), {{0}}, {NULL, 0}},
                                   {KW_SLICE_NULL, {{1, 2, 3}}, {NULL, 0}},
                                   {kw_slice_str("x"), {{4}}, {NULL, 0}}};
    memset(&rq, 0, sizeof(rq));
    rq.topics = st;
    rq.n_topics = 4;
    mc_call(c, &kw_msg_delete_topics_req, &kw_msg_delete_topics_resp, 6, &rq, &ar, &r, &f);
    ck_assert_int_eq(r.n_responses, 4);
    ck_assert_int_eq(r.responses[0].error_code, 0);
    ck_assert(kw_slice_eq(r.responses[0].name, "b"));
    ck_assert_mem_eq(r.responses[0].topic_id.b, bid.b, 16);
    ck_assert_int_eq(r.responses[1].error_code, 0);
    ck_assert_int_eq(r.responses[2].error_code, 100);
    ck_assert_int_eq(r.responses[3].error_code, 42);
    free(f);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "b"), -1);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "c"), -1);
    /* A deleted topic is gone for metadata too (and can be created again with a new id). */
    ck_assert_int_eq(kw_mock_topic_create(m, "b", 2, 1, NULL), KW_ERR_OK);
    kw_uuid nid;
    ck_assert_int_eq(kw_mock_topic_id(m, "b", &nid), KW_ERR_OK);
    ck_assert(memcmp(nid.b, bid.b, 16) != 0);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

static kw_create_partitions_resp
grow(mc *c, kw_create_partitions_topic *ts, int32_t n, bool validate_only, kw_arena *ar,
     uint8_t **f)
{
    kw_create_partitions_req rq = {ts, n, 1000, validate_only, {NULL, 0}};
    kw_create_partitions_resp r;
    mc_call(c, &kw_msg_create_partitions_req, &kw_msg_create_partitions_resp, 3, &rq, ar, &r, f);
    ck_assert_int_eq(r.n_results, n);
    return r;
}

START_TEST(test_create_partitions)
{
    kw_mock *m = new_mock(2);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(
        kw_mock_append_record(m, "t", 0, kw_slice_str("k"), kw_slice_str("v"), 1, NULL, NULL),
        KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_create_partitions_topic ts[1] = {{kw_slice_str("t"), 3, NULL, -1, {NULL, 0}}};
    kw_create_partitions_resp r = grow(c, ts, 1, true, &ar, &f);
    ck_assert_int_eq(r.results[0].error_code, 0);
    free(f);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "t"), 1);
    r = grow(c, ts, 1, false, &ar, &f);
    ck_assert_int_eq(r.results[0].error_code, 0);
    free(f);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "t"), 3);
    /* The old partition keeps its data; the new ones are empty and have leaders. */
    kw_mock_partition_info info;
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", 0, &info), KW_ERR_OK);
    ck_assert_int_eq(info.high_watermark, 1);
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", 2, &info), KW_ERR_OK);
    ck_assert_int_eq(info.high_watermark, 0);
    ck_assert(info.leader == 1 || info.leader == 2);
    /* Not an increase; unknown topic; a wrong number of assignment rows; explicit rows. */
    ts[0].count = 2;
    r = grow(c, ts, 1, false, &ar, &f);
    ck_assert_int_eq(r.results[0].error_code, 37);
    free(f);
    ts[0].count = 3;
    r = grow(c, ts, 1, false, &ar, &f);
    ck_assert_int_eq(r.results[0].error_code, 37);
    free(f);
    /* A hostile count is refused before anything is allocated. */
    ts[0].count = INT32_MAX;
    r = grow(c, ts, 1, false, &ar, &f);
    ck_assert_int_eq(r.results[0].error_code, 37);
    free(f);
    ck_assert_int_eq(kw_mock_topic_partitions(m, "t"), 3);
    kw_create_partitions_topic nope = {kw_slice_str("nope"), 3, NULL, -1, {NULL, 0}};
    r = grow(c, &nope, 1, false, &ar, &f);
    ck_assert_int_eq(r.results[0].error_code, 3);
    free(f);
    int32_t b2[1] = {2};
    kw_create_partitions_assignment rows[1] = {{b2, 1, {NULL, 0}}};
    ts[0].count = 5;
    ts[0].assignments = rows;
    ts[0].n_assignments = 1;
    r = grow(c, ts, 1, false, &ar, &f);
    ck_assert_int_eq(r.results[0].error_code, 39);
    free(f);
    ts[0].count = 4;
    r = grow(c, ts, 1, false, &ar, &f);
    ck_assert_int_eq(r.results[0].error_code, 0);
    free(f);
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", 3, &info), KW_ERR_OK);
    ck_assert_int_eq(info.leader, 2);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

static const kw_describe_configs_resource_result *
entry(const kw_describe_configs_result *r, const char *name)
{
    for (int32_t i = 0; i < r->n_configs; i++)
        if (kw_slice_eq(r->configs[i].name, name))
            return &r->configs[i];
    return NULL;
}

START_TEST(test_describe_configs)
{
    kw_mock *m = new_mock(2);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_config_set(m, "t", "retention.bytes", "4096", NULL), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_slice keys[2] = {kw_slice_str("retention.bytes"), kw_slice_str("max.message.bytes")};
    kw_describe_configs_resource res[6] = {
        {2, kw_slice_str("t"), NULL, -1, {NULL, 0}},
        {2, kw_slice_str("t"), keys, 2, {NULL, 0}},
        {4, kw_slice_str("1"), NULL, -1, {NULL, 0}},
        {4, kw_slice_str("2"), NULL, -1, {NULL, 0}},
        {2, kw_slice_str("nope"), NULL, -1, {NULL, 0}},
        {99, kw_slice_str("x"), NULL, -1, {NULL, 0}},
    };
    for (int16_t v = 1; v <= 4; v++) {
        kw_describe_configs_req rq = {res, 6, true, v >= 3, {NULL, 0}};
        kw_describe_configs_resp r;
        mc_call(c, &kw_msg_describe_configs_req, &kw_msg_describe_configs_resp, v, &rq, &ar, &r,
                &f);
        ck_assert_int_eq(r.n_results, 6);
        /* Every topic config, the one set on the topic with source DYNAMIC_TOPIC_CONFIG. */
        ck_assert_int_eq(r.results[0].error_code, 0);
        ck_assert_int_ge(r.results[0].n_configs, 10);
        const kw_describe_configs_resource_result *e = entry(&r.results[0], "retention.bytes");
        ck_assert_ptr_nonnull(e);
        ck_assert(kw_slice_eq(e->value, "4096"));
        ck_assert_int_eq(e->config_source, 1);
        ck_assert_int_eq(e->n_synonyms, 2);
        ck_assert(kw_slice_eq(e->synonyms[1].name, "log.retention.bytes"));
        ck_assert(kw_slice_eq(e->synonyms[1].value, "-1"));
        if (v >= 3)
            ck_assert_int_eq(e->config_type, 5); /* LONG */
        e = entry(&r.results[0], "max.message.bytes");
        ck_assert(kw_slice_eq(e->value, "1048588"));
        ck_assert_int_eq(e->config_source, 5);
        e = entry(&r.results[0], "cleanup.policy");
        ck_assert(kw_slice_eq(e->value, "delete"));
        /* Only the keys asked for. */
        ck_assert_int_eq(r.results[1].n_configs, 2);
        /* The receiving broker describes itself. */
        ck_assert_int_eq(r.results[2].error_code, 0);
        e = entry(&r.results[2], "broker.id");
        ck_assert(kw_slice_eq(e->value, "1"));
        ck_assert(e->read_only);
        e = entry(&r.results[2], "num.partitions");
        ck_assert(kw_slice_eq(e->value, "1"));
        ck_assert_int_eq(e->config_source, 5);
        char lst[64];
        snprintf(lst, sizeof(lst), "PLAINTEXT://127.0.0.1:%d", kw_mock_broker_port(m, 1));
        ck_assert(kw_slice_eq(entry(&r.results[2], "listeners")->value, lst));
        ck_assert_int_eq(r.results[3].error_code, 42); /* another broker's id */
        ck_assert_int_eq(r.results[4].error_code, 3);
        ck_assert_int_eq(r.results[5].error_code, 42);
        free(f);
    }
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_admin");
    TCase *tc = tcase_create("admin");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_create_topics);
    tcase_add_test(tc, test_create_topics_assignments);
    tcase_add_test(tc, test_delete_topics);
    tcase_add_test(tc, test_create_partitions);
    tcase_add_test(tc, test_describe_configs);
    suite_add_tcase(s, tc);
    return s;
}
