/* How the admin calls route failures to their items (src/client/admin*.c share this code): a
 * response that never decodes ends each item of the request with the decode error, through
 * the common path for every kind of request (per-topic, per-resource, per-group, per-broker);
 * describe topics keeps its topics described and reports the failure as their config error;
 * the callers' name lists are checked the same way by every call; a cluster that cannot be
 * reached fails the calls that list everything (ListGroups, describing every topic). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "admin_util.h"
#include "kwire/mock_control.h"

static kw_mock *mock;
static kw_client *client;
static kw_admin *ad;

static void
setup(void)
{
    mock = kwt_adm_mock(1);
    kw_error err;
    ck_assert_int_eq(kw_mock_topic_create(mock, "t", 3, 1, &err), KW_ERR_OK);
    client = kwt_adm_client(kw_mock_bootstrap(mock));
    ck_assert_int_eq(kw_admin_new(client, &ad, &err), KW_ERR_OK);
}

static void
teardown(void)
{
    kw_admin_free(ad);
    kw_client_free(client);
    kw_mock_free(mock);
}

/* Every answer of `api` claims an impossible array count: each version kwire sends fails to
 * decode (the admin retries one version lower each time), then the items end. */
static void
hostile(int16_t api)
{
    for (int i = 0; i < 12; i++)
        ck_assert_int_eq(kw_mock_fault_hostile(mock, 1, KW_MOCK_HOSTILE_ARRAY, api, 0), KW_ERR_OK);
}

static void
assert_decode_error(const kw_error *e, const char *api)
{
    ck_assert_msg(e->code == KW_ERR_MALFORMED || e->code == KW_ERR_TRUNCATED, "%s: %s",
                  kw_err_name(e->code), e->msg);
    ck_assert_msg(strstr(e->msg, api) != NULL, "'%s' does not name %s", e->msg, api);
}

static void
run(kw_err started, kwt_call *k)
{
    ck_assert_int_eq(started, KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k->calls, 1);
    ck_assert_msg(k->err == KW_ERR_OK, "%s", k->detail.msg);
}

/* ---- describe topics: the topics stay described ---------------------------------------- */

static void
check_described_without_configs(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    ck_assert_int_eq(r->n_descriptions, 1);
    const kw_topic_description *d = &r->descriptions[0];
    ck_assert_str_eq(d->name, "t");
    ck_assert_msg(d->error->code == KW_ERR_OK, "%s", d->error->msg);
    ck_assert_int_eq(d->n_partitions, 3);
    for (int32_t i = 0; i < 3; i++) {
        ck_assert_int_eq(d->partitions[i].id, i);
        ck_assert_int_eq(d->partitions[i].leader, 1);
    }
    assert_decode_error(d->config_error, "DescribeConfigs");
    ck_assert_int_eq(d->n_configs, 0);
}

START_TEST(test_describe_topics_configs_undecodable)
{
    hostile(32);
    const char *names[] = {"t"};
    kwt_call k = {0};
    k.check = check_described_without_configs;
    kw_error err;
    run(kw_admin_describe_topics(ad, names, 1, NULL, kwt_adm_cb, &k, &err), &k);
}
END_TEST

/* ---- every other kind: the items end with the decode error ------------------------------ */

static void
check_resource_failed(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    ck_assert_int_eq(r->n_resources, 2);
    for (int32_t i = 0; i < 2; i++)
        assert_decode_error(r->resources[i].error, "DescribeConfigs");
}

static void
check_topics_failed(const kw_admin_result *r, void *ctx)
{
    ck_assert_int_eq(r->n_topics, 1);
    assert_decode_error(r->topics[0].error, ctx);
}

static void
check_group_failed(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    ck_assert_int_eq(r->n_groups, 1);
    ck_assert_str_eq(r->groups[0].group_id, "g");
    assert_decode_error(r->groups[0].error, "DescribeGroups");
}

START_TEST(test_undecodable_answers_end_items)
{
    kw_error err;
    /* Per resource (a topic and the broker itself, one request to the one broker). */
    hostile(32);
    kw_config_resource res[2] = {{KW_RESOURCE_TOPIC, "t", NULL, 0},
                                 {KW_RESOURCE_BROKER, "1", NULL, 0}};
    kwt_call k1 = {0};
    k1.check = check_resource_failed;
    run(kw_admin_describe_configs(ad, res, 2, NULL, kwt_adm_cb, &k1, &err), &k1);
    kw_mock_fault_clear(mock, 0);
    /* Per topic, at the controller. */
    hostile(20);
    const char *del[] = {"t"};
    kwt_call k2 = {0};
    k2.check = check_topics_failed;
    k2.ctx = "DeleteTopics";
    run(kw_admin_delete_topics(ad, del, 1, NULL, kwt_adm_cb, &k2, &err), &k2);
    /* Only the answer was mangled: the broker did delete the topic, as after a lost answer. */
    ck_assert_int_eq(kw_mock_topic_partitions(mock, "t"), -1);
    kw_mock_fault_clear(mock, 0);
    /* Per group, at its coordinator. */
    hostile(15);
    const char *groups[] = {"g"};
    kwt_call k3 = {0};
    k3.check = check_group_failed;
    run(kw_admin_describe_groups(ad, groups, 1, NULL, kwt_adm_cb, &k3, &err), &k3);
    kw_mock_fault_clear(mock, 0);
    /* Per broker: the only broker failed, so no broker answered and the call fails with
     * its error rather than list no groups. */
    hostile(16);
    kwt_call k4 = {0};
    ck_assert_int_eq(kw_admin_list_groups(ad, NULL, 0, NULL, 0, NULL, kwt_adm_cb, &k4, &err),
                     KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k4.calls, 1);
    ck_assert_int_eq(k4.err, k4.detail.code);
    assert_decode_error(&k4.detail, "ListGroups");
    ck_assert_msg(strstr(k4.detail.msg, "ListGroups failed on every broker: broker 1: "), "%s",
                  k4.detail.msg);
    kw_mock_fault_clear(mock, 0);
}
END_TEST

/* ---- a cluster that cannot be reached ------------------------------------------------- */

static void
start_with_timeout(kw_err (*start)(kw_admin *, const kw_admin_opts *, kwt_call *), kwt_call *k,
                   int timeout_ms)
{
    kw_admin_opts o;
    kw_admin_opts_init(&o);
    o.timeout_ms = timeout_ms;
    ck_assert_int_eq(start(ad, &o, k), KW_ERR_OK);
}

static kw_err
start_list_groups(kw_admin *a, const kw_admin_opts *o, kwt_call *k)
{
    return kw_admin_list_groups(a, NULL, 0, NULL, 0, o, kwt_adm_cb, k, NULL);
}

static kw_err
start_describe_all(kw_admin *a, const kw_admin_opts *o, kwt_call *k)
{
    return kw_admin_describe_topics(a, NULL, 0, o, kwt_adm_cb, k, NULL);
}

static kw_err
start_describe_t(kw_admin *a, const kw_admin_opts *o, kwt_call *k)
{
    static const char *const names[] = {"t"};
    return kw_admin_describe_topics(a, names, 1, o, kwt_adm_cb, k, NULL);
}

static void
check_t_timed_out(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    ck_assert_int_eq(r->n_descriptions, 1);
    ck_assert_str_eq(r->descriptions[0].name, "t");
    ck_assert_int_eq(r->descriptions[0].error->code, KW_ERR_TIMED_OUT);
}

static void
assert_unreached(const kwt_call *k, const char *api)
{
    ck_assert_int_eq(k->calls, 1);
    ck_assert_msg(k->err == KW_ERR_TIMED_OUT, "%s: %s", kw_err_name(k->err), k->detail.msg);
    ck_assert_int_eq(k->detail.code, KW_ERR_TIMED_OUT);
    char want[64];
    snprintf(want, sizeof(want), "%s: no broker answered within 1500 ms", api);
    ck_assert_msg(strstr(k->detail.msg, want), "'%s' lacks '%s'", k->detail.msg, want);
}

/* The bootstrap broker is down before the client ever reached it (a dead bootstrap address,
 * on the mock's own ephemeral port): the calls that ask for everything fail as a whole,
 * where they used to answer an empty listing; a named topic ends with its own timeout. */
START_TEST(test_dead_bootstrap)
{
    ck_assert_int_eq(kw_mock_broker_down(mock, 1), KW_ERR_OK);
    kwt_call lg = {0}, all = {0}, one = {0};
    one.check = check_t_timed_out;
    start_with_timeout(start_list_groups, &lg, 1500);
    start_with_timeout(start_describe_all, &all, 1500);
    start_with_timeout(start_describe_t, &one, 1500);
    kwt_adm_wait(ad);
    assert_unreached(&lg, "ListGroups");
    assert_unreached(&all, "DescribeTopics");
    ck_assert_int_eq(one.calls, 1);
    ck_assert_msg(one.err == KW_ERR_OK, "%s", one.detail.msg);

    /* Back up: the same calls answer, so the failures above were the broker's absence. */
    kw_error err;
    ck_assert_int_eq(kw_mock_broker_up(mock, 1, &err), KW_ERR_OK);
    kwt_call lg2 = {0}, all2 = {0};
    start_with_timeout(start_list_groups, &lg2, 30000);
    start_with_timeout(start_describe_all, &all2, 30000);
    kwt_adm_wait(ad);
    ck_assert_msg(lg2.err == KW_ERR_OK, "%s", lg2.detail.msg);
    ck_assert_msg(all2.err == KW_ERR_OK, "%s", all2.detail.msg);
}
END_TEST

/* ---- the callers' lists ------------------------------------------------------------------ */

START_TEST(test_name_lists_checked)
{
    kw_error err;
    kwt_call k = {0};
    const char *empty[] = {"t", ""};
    ck_assert_int_eq(kw_admin_delete_topics(ad, empty, 2, NULL, kwt_adm_cb, &k, &err),
                     KW_ERR_INVALID_ARG);
    ck_assert_str_eq(err.msg, "topic 1 has no name");
    ck_assert_int_eq(kw_admin_describe_topics(ad, NULL, 1, NULL, kwt_adm_cb, &k, &err),
                     KW_ERR_INVALID_ARG);
    ck_assert_str_eq(err.msg, "no topics");
    const char *no_id[] = {NULL};
    ck_assert_int_eq(kw_admin_describe_groups(ad, no_id, 1, NULL, kwt_adm_cb, &k, &err),
                     KW_ERR_INVALID_ARG);
    ck_assert_str_eq(err.msg, "group 0 has no id");
    ck_assert_int_eq(
        kw_admin_group_offsets(ad, NULL, 1, NULL, 0, false, NULL, kwt_adm_cb, &k, &err),
        KW_ERR_INVALID_ARG);
    ck_assert_str_eq(err.msg, "no groups");
    ck_assert_int_eq(kw_admin_create_topics(ad, NULL, 2, NULL, kwt_adm_cb, &k, &err),
                     KW_ERR_INVALID_ARG);
    ck_assert_str_eq(err.msg, "no topics");
    ck_assert_int_eq(kw_admin_describe_configs(ad, NULL, 1, NULL, kwt_adm_cb, &k, &err),
                     KW_ERR_INVALID_ARG);
    ck_assert_str_eq(err.msg, "no resources");
    /* An entry the copy rejects: nothing is submitted, and without an error detail the code
     * still comes back. */
    kw_new_partitions p;
    memset(&p, 0, sizeof(p));
    p.total = 4;
    ck_assert_int_eq(kw_admin_create_partitions(ad, &p, 1, NULL, kwt_adm_cb, &k, NULL),
                     KW_ERR_INVALID_ARG);
    ck_assert_uint_eq(kw_admin_outstanding(ad), 0);
    ck_assert_int_eq(k.calls, 0);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("admin_errors");
    TCase *tc = tcase_create("errors");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_describe_topics_configs_undecodable);
    tcase_add_test(tc, test_undecodable_answers_end_items);
    tcase_add_test(tc, test_name_lists_checked);
    tcase_add_test(tc, test_dead_bootstrap);
    suite_add_tcase(s, tc);
    return s;
}
