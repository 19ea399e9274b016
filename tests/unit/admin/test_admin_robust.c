/* The admin API against older and hostile brokers, and out of memory: a broker emulating
 * Kafka 2.8 (older versions of every API: DeleteTopics' TopicNames form, DescribeGroups v5's
 * "Dead" state for unknown groups, single-key FindCoordinator, the v2-7 OffsetFetch form, no
 * ConsumerGroupDescribe, no ListGroups type filter) gives the same outcomes; responses with
 * impossible array counts end the affected items with an error instead of crashing; and with
 * the allocator failing at each allocation in turn, every call that started calls back exactly
 * once and nothing leaks. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "../../support/failalloc.h"
#include "admin_util.h"
#include "client/client_int.h"
#include "kwire/mock_control.h"

static kw_mock *mock;

static void
setup(void)
{
    mock = kwt_adm_mock(2);
    kw_error err;
    ck_assert_int_eq(kw_mock_topic_create(mock, "old", 2, 1, &err), KW_ERR_OK);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(
            kw_mock_append_record(mock, "old", 1, KW_SLICE_NULL, kw_slice_str("v"), -1, NULL, &err),
            KW_ERR_OK);
}

static void
teardown(void)
{
    kw_mock_free(mock);
}

/* ---- Kafka 2.8 --------------------------------------------------------------------------- */

static void
check_old_topics(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    char b[64];
    ck_assert_int_eq(r->n_topics, 2);
    ck_assert_str_eq(kwt_err_tag(r->topics[0].error, b, sizeof(b)), "OK");
    ck_assert_int_eq(r->topics[0].partitions, 4); /* CreateTopics v6 reports it */
    ck_assert_str_eq(kwt_err_tag(r->topics[1].error, b, sizeof(b)), "BROKER:TOPIC_ALREADY_EXISTS");
}

static void
check_old_groups(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    char b[64];
    ck_assert_int_eq(r->n_groups, 1);
    /* DescribeGroups v5 says "Dead" with no error; 2.8 has no ConsumerGroupDescribe. */
    ck_assert_str_eq(kwt_err_tag(r->groups[0].error, b, sizeof(b)), "BROKER:GROUP_ID_NOT_FOUND");
}

static void
check_old_offsets(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    ck_assert_int_eq(r->n_offsets, 1);
    ck_assert_int_eq(r->offsets[0].error->code, KW_ERR_OK);
    ck_assert_int_eq(r->offsets[0].n_partitions, 0);
}

START_TEST(test_kafka_2_8)
{
    ck_assert_int_eq(kw_mock_emulate(mock, "2.8"), KW_ERR_OK);
    kw_client *c = kwt_adm_client(kw_mock_bootstrap(mock));
    kw_admin *ad;
    kw_error err;
    ck_assert_int_eq(kw_admin_new(c, &ad, &err), KW_ERR_OK);
    kw_new_topic t[2];
    kw_new_topic_init(&t[0]);
    kw_new_topic_init(&t[1]);
    t[0].name = "new28";
    t[0].partitions = 4;
    t[1].name = "old";
    kwt_call k1 = {0}, k2 = {0}, k3 = {0}, k4 = {0}, k5 = {0};
    k1.check = check_old_topics;
    ck_assert_int_eq(kw_admin_create_topics(ad, t, 2, NULL, kwt_adm_cb, &k1, &err), KW_ERR_OK);
    kwt_adm_wait(ad); /* before the delete of "old" */
    const char *del[] = {"old"};
    ck_assert_int_eq(kw_admin_delete_topics(ad, del, 1, NULL, kwt_adm_cb, &k2, &err), KW_ERR_OK);
    const char *g[] = {"nobody"};
    k3.check = check_old_groups;
    ck_assert_int_eq(kw_admin_describe_groups(ad, g, 1, NULL, kwt_adm_cb, &k3, &err), KW_ERR_OK);
    k4.check = check_old_offsets;
    ck_assert_int_eq(kw_admin_group_offsets(ad, g, 1, NULL, 0, true, NULL, kwt_adm_cb, &k4, &err),
                     KW_ERR_OK);
    const char *types[] = {"consumer"};
    ck_assert_int_eq(kw_admin_list_groups(ad, NULL, 0, types, 1, NULL, kwt_adm_cb, &k5, &err),
                     KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k1.calls + k2.calls + k3.calls + k4.calls + k5.calls, 5);
    /* A type filter needs ListGroups v5, which neither broker has: every broker failed, so
     * the call does (an empty listing would read as "no consumer groups"). */
    ck_assert_int_eq(k5.err, KW_ERR_UNSUPPORTED_VERSION);
    ck_assert_msg(strstr(k5.detail.msg, "ListGroups failed on every broker: broker 1: ") &&
                      strstr(k5.detail.msg, "; broker 2: "),
                  "%s", k5.detail.msg);
    ck_assert_int_eq(kw_mock_topic_partitions(mock, "new28"), 4);
    ck_assert_int_eq(kw_mock_topic_partitions(mock, "old"), -1); /* DeleteTopics v5 */
    kw_admin_free(ad);
    kw_client_free(c);
}
END_TEST

/* ---- hostile responses ------------------------------------------------------------------- */

/* A response that does not decode is retried one version lower (a broker may encode one
 * version wrongly); when every version fails, the items end with the decode error. */
static void
check_malformed(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    ck_assert_int_eq(r->n_topics, 1);
    const kw_error *e = r->topics[0].error;
    ck_assert_msg(e->code == KW_ERR_MALFORMED || e->code == KW_ERR_TRUNCATED, "%s: %s",
                  kw_err_name(e->code), e->msg);
    ck_assert_ptr_nonnull(strstr(e->msg, "CreateTopics v2 response"));
}

static void
check_stepped_down(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    ck_assert_int_eq(r->n_partitions, 1);
    ck_assert_msg(r->partitions[0].error->code == KW_ERR_OK, "%s", r->partitions[0].error->msg);
    ck_assert_int_eq(r->partitions[0].offset, 6);
}

START_TEST(test_hostile_array_counts)
{
    kw_client *c = kwt_adm_client(kw_mock_bootstrap(mock));
    kw_admin *ad;
    kw_error err;
    ck_assert_int_eq(kw_admin_new(c, &ad, &err), KW_ERR_OK);
    /* Every CreateTopics answer claims 2^31-1 topics: v7 down to v2 all fail, then it ends. */
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(kw_mock_fault_hostile(mock, 1, KW_MOCK_HOSTILE_ARRAY, 19, 0), KW_ERR_OK);
    kw_new_topic t;
    kw_new_topic_init(&t);
    t.name = "never";
    t.partitions = 1;
    t.replication_factor = 1;
    kwt_call k = {0};
    k.check = check_malformed;
    ck_assert_int_eq(kw_admin_create_topics(ad, &t, 1, NULL, kwt_adm_cb, &k, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.err, KW_ERR_OK);
    kw_mock_fault_clear(mock, 0);
    /* One ListOffsets answer with a negative count: the retry one version lower gets the
     * real answer. */
    kw_mock_partition_info pi;
    ck_assert_int_eq(kw_mock_partition_info_get(mock, "old", 1, &pi), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_fault_hostile(mock, pi.leader, KW_MOCK_HOSTILE_ARRAY, 2, -5),
                     KW_ERR_OK);
    kw_partition_offset_req q = {"old", 1, KW_OFFSET_LATEST};
    kwt_call l = {0};
    l.check = check_stepped_down;
    ck_assert_int_eq(kw_admin_list_offsets(ad, &q, 1, NULL, kwt_adm_cb, &l, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(l.calls, 1);
    kw_admin_free(ad);
    kw_client_free(c);
}
END_TEST

/* ---- out of memory ----------------------------------------------------------------------- */

static void
check_any(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    /* Whatever failed, every item has an outcome. */
    for (int32_t i = 0; i < r->n_topics; i++)
        ck_assert_ptr_nonnull(r->topics[i].error);
    for (int32_t i = 0; i < r->n_partitions; i++)
        ck_assert_ptr_nonnull(r->partitions[i].error);
}

/* One sweep step: the n-th allocation from now fails. Returns false once n is past every
 * allocation the calls make (nothing failed). */
static bool
nomem_step(long n)
{
    failing f = {-1, 0, 0, false};
    kw_allocator a = kwt_failing_allocator(&f);
    kw_conf *conf = NULL;
    kw_error err;
    ck_assert_int_eq(kw_conf_new(&a, &conf), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "bootstrap.servers", kw_mock_bootstrap(mock), &err),
                     KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "retry.backoff.ms", "5", &err), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "reconnect.backoff.ms", "5", &err), KW_ERR_OK);
    kw_client *c = NULL;
    ck_assert_int_eq(kw_client_new(conf, &c, &err), KW_ERR_OK);
    kw_admin *ad = NULL;
    ck_assert_int_eq(kw_admin_new(c, &ad, &err), KW_ERR_OK);
    kw_admin_opts o;
    kw_admin_opts_init(&o);
    o.timeout_ms = 3000;
    f.left = n;
    kw_new_topic t;
    kw_new_topic_init(&t);
    char name[32];
    snprintf(name, sizeof(name), "nm%ld", n);
    t.name = name;
    kwt_call k1 = {0}, k2 = {0};
    k1.check = k2.check = check_any;
    kw_err e1 = kw_admin_create_topics(ad, &t, 1, &o, kwt_adm_cb, &k1, &err);
    kw_partition_offset_req q = {"old", 1, KW_OFFSET_LATEST};
    kw_err e2 = kw_admin_list_offsets(ad, &q, 1, &o, kwt_adm_cb, &k2, &err);
    ck_assert(e1 == KW_ERR_OK || e1 == KW_ERR_NOMEM);
    ck_assert(e2 == KW_ERR_OK || e2 == KW_ERR_NOMEM);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k1.calls, e1 == KW_ERR_OK ? 1 : 0);
    ck_assert_int_eq(k2.calls, e2 == KW_ERR_OK ? 1 : 0);
    bool failed = f.left < 0;
    kw_admin_free(ad);
    kw_client_free(c);
    ck_assert_int_eq(f.live, 0);
    ck_assert(!f.size_mismatch);
    return failed;
}

START_TEST(test_out_of_memory_sweep)
{
    long n = 0;
    while (nomem_step(n) && n < 2000)
        n += n < 200 ? 1 : 7;
    fprintf(stderr, "out-of-memory sweep: %ld allocation points\n", n);
    ck_assert_int_gt(n, 20); /* the calls allocate: the sweep went through them */
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("admin_robust");
    TCase *tc = tcase_create("robust");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_kafka_2_8);
    tcase_add_test(tc, test_hostile_array_counts);
    tcase_add_test(tc, test_out_of_memory_sweep);
    suite_add_tcase(s, tc);
    return s;
}
