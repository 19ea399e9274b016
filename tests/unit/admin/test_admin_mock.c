/* The admin API against kwire-mock (in-process, on its own thread), topic and offset calls:
 * created topics exist in the broker with the partitions, replication and configs asked and are
 * described back (Metadata + DescribeConfigs); per-topic errors (an existing topic, invalid
 * partitions) next to successes; deletion; more partitions; broker and topic configs;
 * ListOffsets earliest/latest/timestamp and DeleteRecords moving the log start offset, split
 * over several leaders; NOT_CONTROLLER and NOT_LEADER_OR_FOLLOWER retried with fresh metadata;
 * a missing topic reported, not auto-created; the kwire thread with kw_admin_wait; freeing
 * with calls outstanding. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_util.h"
#include "kwire/mock_control.h"

static kw_mock *mock;
static kw_client *cli;
static kw_admin *ad;

static void
setup(void)
{
    mock = kwt_adm_mock(3);
    cli = kwt_adm_client(kw_mock_bootstrap(mock));
    kw_error err;
    ck_assert_int_eq(kw_admin_new(cli, &ad, &err), KW_ERR_OK);
}

static void
teardown(void)
{
    kw_admin_free(ad);
    kw_client_free(cli);
    kw_mock_free(mock);
}

/* ---- create, describe, delete ------------------------------------------------------------ */

static void
check_create(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    char b[64];
    ck_assert_int_eq(r->op, KW_ADMIN_CREATE_TOPICS);
    ck_assert_int_eq(r->n_topics, 3);
    ck_assert_str_eq(r->topics[0].name, "orders");
    ck_assert_str_eq(kwt_err_tag(r->topics[0].error, b, sizeof(b)), "OK");
    ck_assert_int_eq(r->topics[0].partitions, 3); /* CreateTopics v5+ reports them */
    ck_assert_int_eq(r->topics[0].replication_factor, 2);
    ck_assert_str_eq(r->topics[1].name, "exists");
    ck_assert_str_eq(kwt_err_tag(r->topics[1].error, b, sizeof(b)), "BROKER:TOPIC_ALREADY_EXISTS");
    ck_assert_str_eq(r->topics[2].name, "bad");
    ck_assert_str_eq(kwt_err_tag(r->topics[2].error, b, sizeof(b)), "BROKER:INVALID_PARTITIONS");
    ck_assert_ptr_nonnull(strstr(r->topics[2].error->msg, "bad"));
}

static const char *
cfg(const kw_config_entry *v, int32_t n, const char *name)
{
    for (int32_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return v[i].value ? v[i].value : "(null)";
    return NULL;
}

static void
check_describe(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    char b[64];
    ck_assert_int_eq(r->n_descriptions, 2);
    const kw_topic_description *d = &r->descriptions[0];
    ck_assert_str_eq(d->name, "orders");
    ck_assert_str_eq(kwt_err_tag(d->error, b, sizeof(b)), "OK");
    ck_assert_int_eq(d->n_partitions, 3);
    for (int32_t p = 0; p < 3; p++) {
        ck_assert_int_eq(d->partitions[p].id, p);
        ck_assert_int_eq(d->partitions[p].n_replicas, 2);
        ck_assert_int_eq(d->partitions[p].n_isr, 2);
        ck_assert_int_eq(d->partitions[p].leader, d->partitions[p].replicas[0]);
        kw_mock_partition_info pi;
        ck_assert_int_eq(kw_mock_partition_info_get(mock, "orders", p, &pi), KW_ERR_OK);
        ck_assert_int_eq(d->partitions[p].leader, pi.leader);
    }
    ck_assert_str_eq(kwt_err_tag(d->config_error, b, sizeof(b)), "OK");
    ck_assert_str_eq(cfg(d->configs, d->n_configs, "retention.ms"), "3600000");
    ck_assert_str_eq(cfg(d->configs, d->n_configs, "cleanup.policy"), "compact");
    ck_assert_str_eq(r->descriptions[1].name, "nosuch");
    ck_assert_str_eq(kwt_err_tag(r->descriptions[1].error, b, sizeof(b)),
                     "BROKER:UNKNOWN_TOPIC_OR_PARTITION");
}

START_TEST(test_create_describe_delete)
{
    kw_error err;
    ck_assert_int_eq(kw_mock_topic_create(mock, "exists", 1, 1, &err), KW_ERR_OK);
    kw_admin_config cfgs[] = {{"retention.ms", "3600000"}, {"cleanup.policy", "compact"}};
    kw_new_topic t[3];
    for (int i = 0; i < 3; i++)
        kw_new_topic_init(&t[i]);
    t[0].name = "orders";
    t[0].partitions = 3;
    t[0].replication_factor = 2;
    t[0].configs = cfgs;
    t[0].n_configs = 2;
    t[1].name = "exists";
    t[1].partitions = 1;
    t[2].name = "bad";
    t[2].partitions = 0;
    kwt_call k = {0};
    k.check = check_create;
    ck_assert_int_eq(kw_admin_create_topics(ad, t, 3, NULL, kwt_adm_cb, &k, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.err, KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_partitions(mock, "orders"), 3);
    ck_assert_int_eq(kw_mock_topic_partitions(mock, "bad"), -1);

    const char *names[] = {"orders", "nosuch"};
    kwt_call d = {0};
    d.check = check_describe;
    ck_assert_int_eq(kw_admin_describe_topics(ad, names, 2, NULL, kwt_adm_cb, &d, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(d.calls, 1);
    ck_assert_int_eq(d.err, KW_ERR_OK);
    /* Describing it did not create it. */
    ck_assert_int_eq(kw_mock_topic_partitions(mock, "nosuch"), -1);

    const char *del[] = {"orders", "nosuch"};
    kwt_call x = {0};
    ck_assert_int_eq(kw_admin_delete_topics(ad, del, 2, NULL, kwt_adm_cb, &x, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(x.calls, 1);
    ck_assert_int_eq(kw_mock_topic_partitions(mock, "orders"), -1);
}
END_TEST

static void
check_validate(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    ck_assert_int_eq(r->n_topics, 1);
    ck_assert_int_eq(r->topics[0].error->code, KW_ERR_OK);
}

static void
check_delete(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    char b[64];
    ck_assert_int_eq(r->n_topics, 2);
    ck_assert_str_eq(kwt_err_tag(r->topics[0].error, b, sizeof(b)), "OK");
    ck_assert_str_eq(kwt_err_tag(r->topics[1].error, b, sizeof(b)),
                     "BROKER:UNKNOWN_TOPIC_OR_PARTITION");
}

START_TEST(test_validate_only_delete_errors_and_assignment)
{
    kw_error err;
    kw_new_topic t;
    kw_new_topic_init(&t);
    t.name = "dry";
    t.partitions = 2;
    kw_admin_opts o;
    kw_admin_opts_init(&o);
    o.validate_only = true;
    kwt_call k = {0};
    k.check = check_validate;
    ck_assert_int_eq(kw_admin_create_topics(ad, &t, 1, &o, kwt_adm_cb, &k, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(kw_mock_topic_partitions(mock, "dry"), -1); /* validated, not created */

    /* A manual placement: partition 0 on 3 then 1, partition 1 on 2 then 3. */
    int32_t rows[] = {3, 1, 2, 3};
    t.name = "placed";
    t.assignment = rows;
    t.replication_factor = 2;
    kwt_call p = {0};
    ck_assert_int_eq(kw_admin_create_topics(ad, &t, 1, NULL, kwt_adm_cb, &p, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    kw_mock_partition_info pi;
    ck_assert_int_eq(kw_mock_partition_info_get(mock, "placed", 0, &pi), KW_ERR_OK);
    ck_assert_int_eq(pi.leader, 3);
    ck_assert_int_eq(kw_mock_partition_info_get(mock, "placed", 1, &pi), KW_ERR_OK);
    ck_assert_int_eq(pi.leader, 2);

    const char *del[] = {"placed", "never"};
    kwt_call x = {0};
    x.check = check_delete;
    ck_assert_int_eq(kw_admin_delete_topics(ad, del, 2, NULL, kwt_adm_cb, &x, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(x.calls, 1);

    /* Bad arguments fail the call itself, and no callback comes. */
    kwt_call bad = {0};
    ck_assert_int_eq(kw_admin_create_topics(ad, NULL, 1, NULL, kwt_adm_cb, &bad, &err),
                     KW_ERR_INVALID_ARG);
    kw_new_topic_init(&t);
    ck_assert_int_eq(kw_admin_create_topics(ad, &t, 1, NULL, kwt_adm_cb, &bad, &err),
                     KW_ERR_INVALID_ARG);
    const char *none[] = {NULL};
    ck_assert_int_eq(kw_admin_delete_topics(ad, none, 1, NULL, kwt_adm_cb, &bad, &err),
                     KW_ERR_INVALID_ARG);
    kwt_adm_wait(ad);
    ck_assert_int_eq(bad.calls, 0);
}
END_TEST

static void
check_parts(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    char b[64];
    ck_assert_int_eq(r->n_topics, 2);
    ck_assert_str_eq(kwt_err_tag(r->topics[0].error, b, sizeof(b)), "OK");
    ck_assert_str_eq(kwt_err_tag(r->topics[1].error, b, sizeof(b)), "BROKER:INVALID_PARTITIONS");
}

START_TEST(test_create_partitions)
{
    kw_error err;
    ck_assert_int_eq(kw_mock_topic_create(mock, "grow", 3, 1, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(mock, "shrink", 3, 1, &err), KW_ERR_OK);
    kw_new_partitions np[2] = {{"grow", 5, NULL, 0, 0}, {"shrink", 2, NULL, 0, 0}};
    kwt_call k = {0};
    k.check = check_parts;
    ck_assert_int_eq(kw_admin_create_partitions(ad, np, 2, NULL, kwt_adm_cb, &k, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(kw_mock_topic_partitions(mock, "grow"), 5);
    ck_assert_int_eq(kw_mock_topic_partitions(mock, "shrink"), 3);
}
END_TEST

/* ---- configs ----------------------------------------------------------------------------- */

static void
check_configs(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    char b[64];
    ck_assert_int_eq(r->n_resources, 3);
    const kw_config_resource_result *t = &r->resources[0];
    ck_assert_int_eq(t->type, KW_RESOURCE_TOPIC);
    ck_assert_str_eq(kwt_err_tag(t->error, b, sizeof(b)), "OK");
    ck_assert_str_eq(cfg(t->configs, t->n_configs, "retention.ms"), "1234");
    ck_assert_ptr_null(cfg(t->configs, t->n_configs, "cleanup.policy")); /* keys asked only */
    const kw_config_resource_result *br = &r->resources[1];
    ck_assert_int_eq(br->type, KW_RESOURCE_BROKER);
    ck_assert_str_eq(br->name, "2");
    ck_assert_str_eq(kwt_err_tag(br->error, b, sizeof(b)), "OK");
    ck_assert_int_gt(br->n_configs, 0);
    ck_assert_str_eq(kwt_err_tag(r->resources[2].error, b, sizeof(b)),
                     "BROKER:UNKNOWN_TOPIC_OR_PARTITION");
}

START_TEST(test_describe_configs)
{
    kw_error err;
    ck_assert_int_eq(kw_mock_topic_create(mock, "cfg", 1, 1, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_config_set(mock, "cfg", "retention.ms", "1234", &err),
                     KW_ERR_OK);
    const char *keys[] = {"retention.ms"};
    kw_config_resource res[3] = {{KW_RESOURCE_TOPIC, "cfg", keys, 1},
                                 {KW_RESOURCE_BROKER, "2", NULL, 0},
                                 {KW_RESOURCE_TOPIC, "gone", NULL, 0}};
    kwt_call k = {0};
    k.check = check_configs;
    ck_assert_int_eq(kw_admin_describe_configs(ad, res, 3, NULL, kwt_adm_cb, &k, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.err, KW_ERR_OK);
}
END_TEST

/* ---- offsets ----------------------------------------------------------------------------- */

typedef struct offs {
    int n;
    int64_t off[8];
    kw_err e[8];
    int16_t bc[8];
} offs;

static void
grab_offsets(const kw_admin_result *r, void *ctx)
{
    offs *o = ctx;
    o->n = r->n_partitions;
    for (int32_t i = 0; i < r->n_partitions && i < 8; i++) {
        o->off[i] = r->partitions[i].offset;
        o->e[i] = r->partitions[i].error->code;
        o->bc[i] = r->partitions[i].error->broker_code;
    }
}

static void
list_offsets(const kw_partition_offset_req *q, size_t n, offs *o)
{
    kw_error err;
    kwt_call k = {0};
    k.check = grab_offsets;
    k.ctx = o;
    memset(o, 0, sizeof(*o));
    ck_assert_int_eq(kw_admin_list_offsets(ad, q, n, NULL, kwt_adm_cb, &k, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.err, KW_ERR_OK);
}

static void
fill(const char *topic, int32_t part, int n, int64_t ts0)
{
    kw_error err;
    for (int i = 0; i < n; i++)
        ck_assert_int_eq(kw_mock_append_record(mock, topic, part, kw_slice_str("k"),
                                               kw_slice_str("v"), ts0 + i * 1000, NULL, &err),
                         KW_ERR_OK);
}

START_TEST(test_list_offsets_and_delete_records)
{
    kw_error err;
    ck_assert_int_eq(kw_mock_topic_create(mock, "logs", 3, 1, &err), KW_ERR_OK);
    /* Leaders on different brokers, so the requests are split and merged. */
    ck_assert_int_eq(kw_mock_partition_leader_set(mock, "logs", 0, 1), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_partition_leader_set(mock, "logs", 1, 2), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_partition_leader_set(mock, "logs", 2, 3), KW_ERR_OK);
    fill("logs", 0, 10, 1000000);
    fill("logs", 1, 4, 1000000);
    kw_partition_offset_req q[] = {{"logs", 0, KW_OFFSET_EARLIEST},
                                   {"logs", 0, KW_OFFSET_LATEST},
                                   {"logs", 1, KW_OFFSET_LATEST},
                                   {"logs", 2, KW_OFFSET_LATEST},
                                   {"logs", 0, 1005000},
                                   {"logs", 7, KW_OFFSET_LATEST},
                                   {"nope", 0, KW_OFFSET_LATEST}};
    offs o;
    list_offsets(q, 7, &o);
    ck_assert_int_eq(o.n, 7);
    ck_assert_int_eq(o.off[0], 0);
    ck_assert_int_eq(o.off[1], 10);
    ck_assert_int_eq(o.off[2], 4);
    ck_assert_int_eq(o.off[3], 0);
    ck_assert_int_eq(o.off[4], 5); /* the first record at or after the timestamp */
    ck_assert_int_eq(o.e[5], KW_ERR_BROKER);
    ck_assert_int_eq(o.bc[5], 3);
    ck_assert_int_eq(o.e[6], KW_ERR_BROKER);
    ck_assert_int_eq(o.bc[6], 3);
    ck_assert_int_eq(kw_mock_topic_partitions(mock, "nope"), -1);

    kw_partition_offset_req d[] = {{"logs", 0, 4}, {"logs", 1, -1}, {"logs", 2, 9}};
    kwt_call k = {0};
    offs dr;
    k.check = grab_offsets;
    k.ctx = &dr;
    ck_assert_int_eq(kw_admin_delete_records(ad, d, 3, NULL, kwt_adm_cb, &k, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(dr.off[0], 4);
    ck_assert_int_eq(dr.off[1], 4); /* -1: up to the high watermark */
    ck_assert_int_eq(dr.e[2], KW_ERR_BROKER);
    ck_assert_int_eq(dr.bc[2], 1); /* OFFSET_OUT_OF_RANGE: past the end */
    kw_partition_offset_req e[] = {{"logs", 0, KW_OFFSET_EARLIEST},
                                   {"logs", 1, KW_OFFSET_EARLIEST}};
    list_offsets(e, 2, &o);
    ck_assert_int_eq(o.off[0], 4);
    ck_assert_int_eq(o.off[1], 4);
    kw_mock_partition_info pi;
    ck_assert_int_eq(kw_mock_partition_info_get(mock, "logs", 0, &pi), KW_ERR_OK);
    ck_assert_int_eq(pi.log_start_offset, 4);
}
END_TEST

/* ---- routing faults ---------------------------------------------------------------------- */

START_TEST(test_not_controller_and_not_leader_retried)
{
    kw_error err;
    /* The controller (broker 1) answers NOT_CONTROLLER twice: the call refreshes and retries. */
    int16_t nc[] = {41, 41};
    ck_assert_int_eq(kw_mock_fault_errors(mock, 1, 19, nc, 2), KW_ERR_OK);
    kw_new_topic t;
    kw_new_topic_init(&t);
    t.name = "retried";
    t.partitions = 2;
    t.replication_factor = 1;
    kwt_call k = {0};
    k.check = check_validate;
    ck_assert_int_eq(kw_admin_create_topics(ad, &t, 1, NULL, kwt_adm_cb, &k, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(kw_mock_topic_partitions(mock, "retried"), 2);

    /* A leader that says NOT_LEADER_OR_FOLLOWER, then the answer after a refresh. */
    ck_assert_int_eq(kw_mock_partition_leader_set(mock, "retried", 0, 2), KW_ERR_OK);
    fill("retried", 0, 3, 1000);
    int16_t nl[] = {6};
    ck_assert_int_eq(kw_mock_fault_errors(mock, 2, 2, nl, 1), KW_ERR_OK);
    kw_partition_offset_req q[] = {{"retried", 0, KW_OFFSET_LATEST}};
    offs o;
    list_offsets(q, 1, &o);
    ck_assert_int_eq(o.e[0], KW_ERR_OK);
    ck_assert_int_eq(o.off[0], 3);

    /* An error that never clears ends as a timeout naming it, per item. */
    int16_t many[64];
    for (int i = 0; i < 64; i++)
        many[i] = 6;
    ck_assert_int_eq(kw_mock_fault_errors(mock, 2, 2, many, 64), KW_ERR_OK);
    kw_admin_opts op;
    kw_admin_opts_init(&op);
    op.timeout_ms = 500;
    kwt_call k2 = {0};
    k2.check = grab_offsets;
    k2.ctx = &o;
    ck_assert_int_eq(kw_admin_list_offsets(ad, q, 1, &op, kwt_adm_cb, &k2, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k2.err, KW_ERR_OK);
    ck_assert_int_eq(o.e[0], KW_ERR_TIMED_OUT);
    ck_assert_int_eq(o.bc[0], 6);
    kw_mock_fault_clear(mock, 0);
}
END_TEST

/* ---- threads and lifetime ---------------------------------------------------------------- */

START_TEST(test_kwire_thread_and_free_with_calls_outstanding)
{
    kw_error err;
    ck_assert_int_eq(kw_client_thread_start(cli, &err), KW_ERR_OK);
    kw_new_topic t;
    kw_new_topic_init(&t);
    t.name = "threaded";
    t.partitions = 1;
    kwt_call k = {0};
    k.check = check_validate;
    ck_assert_int_eq(kw_admin_create_topics(ad, &t, 1, NULL, kwt_adm_cb, &k, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(kw_mock_topic_partitions(mock, "threaded"), 1);
    ck_assert_int_eq(kw_client_thread_stop(cli), KW_ERR_OK);

    /* A silent broker: the call is still outstanding when the handle is freed. */
    ck_assert_int_eq(kw_mock_fault_hostile(mock, 1, KW_MOCK_HOSTILE_SILENT, -1, 0), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_fault_hostile(mock, 2, KW_MOCK_HOSTILE_SILENT, -1, 0), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_fault_hostile(mock, 3, KW_MOCK_HOSTILE_SILENT, -1, 0), KW_ERR_OK);
    kwt_call c = {0};
    const char *names[] = {"threaded"};
    ck_assert_int_eq(kw_admin_describe_topics(ad, names, 1, NULL, kwt_adm_cb, &c, &err), KW_ERR_OK);
    for (int i = 0; i < 5; i++)
        kw_client_step(cli, 20, &err);
    ck_assert_int_eq(c.calls, 0);
    kw_admin_free(ad);
    ad = NULL;
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(c.err, KW_ERR_CANCELED);
    kw_mock_fault_clear(mock, 0);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("admin_mock");
    TCase *tc = tcase_create("admin");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_create_describe_delete);
    tcase_add_test(tc, test_validate_only_delete_errors_and_assignment);
    tcase_add_test(tc, test_create_partitions);
    tcase_add_test(tc, test_describe_configs);
    tcase_add_test(tc, test_list_offsets_and_delete_records);
    tcase_add_test(tc, test_not_controller_and_not_leader_retried);
    tcase_add_test(tc, test_kwire_thread_and_free_with_calls_outstanding);
    suite_add_tcase(s, tc);
    return s;
}
