/* The admin API against librdkafka's mock cluster (2.0.2, 3 brokers), an independent broker
 * that speaks only old, non-flexible versions (Metadata v0-2 ...). It serves ListOffsets,
 * FindCoordinator, OffsetCommit and OffsetFetch, but not CreateTopics, DeleteRecords,
 * DescribeConfigs, ListGroups or DescribeGroups. Checked: ListOffsets earliest/latest split over
 * three leaders, with NOT_LEADER_OR_FOLLOWER retried; describe topics (the Metadata part, and a
 * per-topic config error since DescribeConfigs is missing); a group's committed offsets
 * (written with a raw OffsetCommit to the coordinator the admin found) and lag; and the calls
 * it does not serve failing per item with KW_ERR_UNSUPPORTED_VERSION, not as a whole. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../unit/admin/admin_util.h"
#include "client/client_int.h"
#include "kwire/producer.h"
#include "rdk_launch.h"

static kwt_rdk rdk;
static kw_client *cli;
static kw_admin *ad;

static void
setup(void)
{
    kwt_rdk_start(&rdk, 3);
    kwt_rdk_cmd(&rdk, "create rt 3 1");
    for (int p = 0; p < 3; p++)
        kwt_rdk_cmd(&rdk, "leader rt %d %d", p, p + 1);
    cli = kwt_adm_client(rdk.bootstrap);
    kw_error err;
    ck_assert_int_eq(kw_admin_new(cli, &ad, &err), KW_ERR_OK);
}

static void
teardown(void)
{
    kw_admin_free(ad);
    kw_client_free(cli);
    kwt_rdk_stop(&rdk);
}

/* Writes n records to a partition with the kwire producer, waiting for every report. */
static void
produce(int32_t part, int n)
{
    kw_producer *p = NULL;
    kw_error err;
    ck_assert_int_eq(kw_producer_new(cli, NULL, &p, &err), KW_ERR_OK);
    for (int i = 0; i < n; i++) {
        kw_message m;
        kw_message_init(&m);
        m.topic = "rt";
        m.partition = part;
        m.value = kw_slice_str("v");
        ck_assert_int_eq(kw_producer_send(p, &m, &err), KW_ERR_OK);
    }
    ck_assert_msg(kw_producer_flush(p, 60000, &err) == KW_ERR_OK, "%s", err.msg);
    kw_producer_stats st;
    kw_producer_stats_get(p, &st);
    ck_assert_uint_eq(st.delivered, (uint64_t)n);
    kw_producer_free(p);
}

typedef struct offs {
    int64_t off[8];
    kw_err e[8];
    char msg[8][256];
} offs;

static void
grab(const kw_admin_result *r, void *ctx)
{
    offs *o = ctx;
    for (int32_t i = 0; i < r->n_partitions && i < 8; i++) {
        o->off[i] = r->partitions[i].offset;
        o->e[i] = r->partitions[i].error->code;
        snprintf(o->msg[i], sizeof(o->msg[i]), "%s", r->partitions[i].error->msg);
    }
}

START_TEST(test_list_offsets_over_three_leaders)
{
    produce(0, 5);
    produce(1, 2);
    /* The leader of partition 1 says NOT_LEADER_OR_FOLLOWER once: refreshed and retried. */
    kwt_rdk_cmd(&rdk, "error 2 1 6");
    kw_partition_offset_req q[] = {{"rt", 0, KW_OFFSET_EARLIEST},
                                   {"rt", 0, KW_OFFSET_LATEST},
                                   {"rt", 1, KW_OFFSET_LATEST},
                                   {"rt", 2, KW_OFFSET_LATEST},
                                   {"rt", 9, KW_OFFSET_LATEST}};
    offs o;
    memset(&o, 0, sizeof(o));
    kwt_call k = {0};
    k.check = grab;
    k.ctx = &o;
    kw_error err;
    ck_assert_int_eq(kw_admin_list_offsets(ad, q, 5, NULL, kwt_adm_cb, &k, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
    for (int i = 0; i < 4; i++)
        ck_assert_msg(o.e[i] == KW_ERR_OK, "%d: %s", i, o.msg[i]);
    ck_assert_int_eq(o.off[0], 0);
    ck_assert_int_eq(o.off[1], 5);
    ck_assert_int_eq(o.off[2], 2);
    ck_assert_int_eq(o.off[3], 0);
    ck_assert_int_eq(o.e[4], KW_ERR_BROKER); /* no partition 9 */

    /* DeleteRecords is not served: each partition says so. */
    kw_partition_offset_req d[] = {{"rt", 0, 1}};
    offs x;
    kwt_call kd = {0};
    kd.check = grab;
    kd.ctx = &x;
    ck_assert_int_eq(kw_admin_delete_records(ad, d, 1, NULL, kwt_adm_cb, &kd, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(kd.err, KW_ERR_OK);
    ck_assert_int_eq(x.e[0], KW_ERR_UNSUPPORTED_VERSION);
}
END_TEST

static void
check_described(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    ck_assert_int_eq(r->n_descriptions, 1);
    const kw_topic_description *d = &r->descriptions[0];
    ck_assert_int_eq(d->error->code, KW_ERR_OK);
    ck_assert_int_eq(d->n_partitions, 3);
    for (int32_t p = 0; p < 3; p++) {
        ck_assert_int_eq(d->partitions[p].id, p);
        ck_assert_int_eq(d->partitions[p].leader, p + 1);
    }
    ck_assert_int_eq(d->config_error->code, KW_ERR_UNSUPPORTED_VERSION);
}

START_TEST(test_describe_topic_and_unserved_calls)
{
    const char *names[] = {"rt"};
    kwt_call k = {0}, l = {0};
    k.check = check_described;
    kw_error err;
    ck_assert_int_eq(kw_admin_describe_topics(ad, names, 1, NULL, kwt_adm_cb, &k, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_admin_list_groups(ad, NULL, 0, NULL, 0, NULL, kwt_adm_cb, &l, &err),
                     KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls + l.calls, 2);
    /* The mock serves ListGroups on no broker: the call fails as a whole, naming each. */
    ck_assert_int_eq(l.err, KW_ERR_UNSUPPORTED_VERSION);
    ck_assert_msg(strstr(l.detail.msg, "ListGroups failed on every broker: broker 1: "), "%s",
                  l.detail.msg);
}
END_TEST

typedef struct lag {
    int32_t coordinator;
    int32_t n;
    int64_t committed[4], end[4], lag[4];
} lag;

static void
grab_lag(const kw_admin_result *r, void *ctx)
{
    lag *l = ctx;
    ck_assert_int_eq(r->n_offsets, 1);
    ck_assert_int_eq(r->offsets[0].error->code, KW_ERR_OK);
    l->coordinator = r->offsets[0].coordinator;
    l->n = r->offsets[0].n_partitions;
    for (int32_t i = 0; i < l->n && i < 4; i++) {
        const kw_partition_offset *p = &r->offsets[0].partitions[i];
        ck_assert_int_eq(p->partition, i);
        l->committed[i] = p->offset;
        l->end[i] = p->end_offset;
        l->lag[i] = p->lag;
    }
}

static void
on_commit(kw_err err, const kw_error *d, const kwi_resp *resp, void *ud)
{
    ck_assert_msg(err == KW_ERR_OK, "OffsetCommit: %s", d->msg);
    const kw_offset_commit_resp *m = resp->body;
    for (int32_t t = 0; t < m->n_topics; t++)
        for (int32_t p = 0; p < m->topics[t].n_partitions; p++)
            ck_assert_int_eq(m->topics[t].partitions[p].error_code, 0);
    *(bool *)ud = true;
}

static void
group_lag(const char *group, lag *l)
{
    memset(l, 0, sizeof(*l));
    kwt_call k = {0};
    k.check = grab_lag;
    k.ctx = l;
    kw_error err;
    const char *g[] = {group};
    /* librdkafka's mock cannot list every committed topic (a null OffsetFetch topic list):
     * the topic is named, so every partition of it is reported, committed or not. */
    const char *topics[] = {"rt"};
    ck_assert_int_eq(kw_admin_group_offsets(ad, g, 1, topics, 1, true, NULL, kwt_adm_cb, &k, &err),
                     KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
}

START_TEST(test_group_offsets_and_lag)
{
    produce(0, 5);
    produce(1, 2);
    lag l;
    group_lag("rg", &l); /* nothing committed yet; finds the coordinator */
    ck_assert_int_eq(l.n, 3);
    ck_assert_int_eq(l.committed[0], -1);
    ck_assert_int_eq(l.lag[0], -1);
    ck_assert_int_ge(l.coordinator, 1);
    kw_offset_commit_req_partition parts[2] = {{0, 3, -1, KW_SLICE_NULL, {NULL, 0}},
                                               {1, 2, -1, KW_SLICE_NULL, {NULL, 0}}};
    kw_offset_commit_req_topic t = {kw_slice_str("rt"), {{0}}, parts, 2, {NULL, 0}};
    kw_offset_commit_req m;
    memset(&m, 0, sizeof(m));
    m.group_id = kw_slice_str("rg");
    m.generation_id_or_member_epoch = -1;
    m.member_id = kw_slice_str("");
    m.group_instance_id = KW_SLICE_NULL;
    m.retention_time_ms = -1;
    m.topics = &t;
    m.n_topics = 1;
    kwi_req_opts o;
    kwi_req_opts_init(&o);
    bool done = false;
    kw_error err;
    ck_assert_int_eq(kwi_client_send(cli, l.coordinator, 8, &m, &o, on_commit, &done, &err),
                     KW_ERR_OK);
    for (int i = 0; i < 3000 && !done; i++)
        kw_client_step(cli, 20, &err);
    ck_assert(done);
    group_lag("rg", &l);
    ck_assert_int_eq(l.n, 3);
    ck_assert_int_eq(l.committed[0], 3);
    ck_assert_int_eq(l.end[0], 5);
    ck_assert_int_eq(l.lag[0], 2);
    ck_assert_int_eq(l.committed[1], 2);
    ck_assert_int_eq(l.lag[1], 0);
    ck_assert_int_eq(l.committed[2], -1); /* never committed */
    ck_assert_int_eq(l.end[2], 0);
    ck_assert_int_eq(l.lag[2], -1);
}
END_TEST

Suite *
kw_test_suite(void)
{
    kwt_rdk_require();
    Suite *s = suite_create("admin_rdk");
    TCase *tc = tcase_create("rdk");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_list_offsets_over_three_leaders);
    tcase_add_test(tc, test_describe_topic_and_unserved_calls);
    tcase_add_test(tc, test_group_offsets_and_lag);
    suite_add_tcase(s, tc);
    return s;
}
