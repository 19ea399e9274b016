/* The admin API's group calls against kwire-mock: offsets committed with raw OffsetCommit
 * requests (the consumer is not used) read back with kw_admin_group_offsets, and the lag
 * checked against what was appended; ListGroups with and without a state filter; describing a
 * classic group, a KIP-848 consumer group (joined with a raw ConsumerGroupHeartbeat, described
 * by ConsumerGroupDescribe with its assignment) and an unknown one (GROUP_ID_NOT_FOUND);
 * NOT_COORDINATOR retried; ListGroups with a broker down (a partial listing naming it), with
 * every broker failing and with every broker down (the call fails). */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "admin_util.h"
#include "client/client_int.h"
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
    ck_assert_int_eq(kw_mock_topic_create(mock, "gt", 2, 1, &err), KW_ERR_OK);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(
            kw_mock_append_record(mock, "gt", 0, KW_SLICE_NULL, kw_slice_str("v"), -1, NULL, &err),
            KW_ERR_OK);
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(
            kw_mock_append_record(mock, "gt", 1, KW_SLICE_NULL, kw_slice_str("v"), -1, NULL, &err),
            KW_ERR_OK);
}

static void
teardown(void)
{
    kw_admin_free(ad);
    kw_client_free(cli);
    kw_mock_free(mock);
}

/* ---- raw requests ------------------------------------------------------------------------ */

typedef struct raw {
    bool done;
    kw_err err;
    int16_t code; /* the first error code seen in the answer */
    kw_slice member_id;
    char member[64];
} raw;

static void
on_commit(kw_err err, const kw_error *d, const kwi_resp *resp, void *ud)
{
    (void)d;
    raw *r = ud;
    r->done = true;
    r->err = err;
    if (err != KW_ERR_OK)
        return;
    const kw_offset_commit_resp *m = resp->body;
    for (int32_t t = 0; t < m->n_topics; t++)
        for (int32_t p = 0; p < m->topics[t].n_partitions; p++)
            if (!r->code)
                r->code = m->topics[t].partitions[p].error_code;
}

static void
step_until(bool *done)
{
    kw_error err;
    for (int i = 0; i < 3000 && !*done; i++)
        kw_client_step(cli, 20, &err);
    ck_assert_msg(*done, "no answer");
}

/* The metadata must be known before kwi_client_send can reach a node. */
static void
on_md(kw_client *c, kw_err err, const kw_error *d, const kw_metadata *md, void *ud)
{
    (void)c;
    (void)d;
    (void)md;
    ck_assert_int_eq(err, KW_ERR_OK);
    *(bool *)ud = true;
}

static void
know_brokers(void)
{
    bool done = false;
    kw_error err;
    ck_assert_int_eq(kw_client_metadata(cli, NULL, 0, 10000, on_md, &done, &err), KW_ERR_OK);
    step_until(&done);
}

/* A standalone commit (generation -1, no member), as Java's commitSync outside a group. */
static void
commit(const char *group, int64_t off0, int64_t off1)
{
    know_brokers();
    kw_offset_commit_req_partition parts[2] = {{0, off0, -1, kw_slice_str("m0"), {NULL, 0}},
                                               {1, off1, -1, KW_SLICE_NULL, {NULL, 0}}};
    kw_offset_commit_req_topic t = {kw_slice_str("gt"), {{0}}, parts, 2, {NULL, 0}};
    kw_offset_commit_req m;
    memset(&m, 0, sizeof(m));
    m.group_id = kw_slice_str(group);
    m.generation_id_or_member_epoch = -1;
    m.member_id = kw_slice_str("");
    m.group_instance_id = KW_SLICE_NULL;
    m.retention_time_ms = -1;
    m.topics = &t;
    m.n_topics = 1;
    kwi_req_opts o;
    kwi_req_opts_init(&o);
    o.max_ver = 9; /* v10 names topics by id */
    raw r = {0};
    kw_error err;
    ck_assert_int_eq(
        kwi_client_send(cli, kw_mock_coordinator(mock, 0, group), 8, &m, &o, on_commit, &r, &err),
        KW_ERR_OK);
    step_until(&r.done);
    ck_assert_int_eq(r.err, KW_ERR_OK);
    ck_assert_int_eq(r.code, 0);
}

static void
on_hb(kw_err err, const kw_error *d, const kwi_resp *resp, void *ud)
{
    (void)d;
    raw *r = ud;
    r->done = true;
    r->err = err;
    if (err == KW_ERR_OK) {
        const kw_consumer_group_heartbeat_resp *m = resp->body;
        r->code = m->error_code;
    }
}

/* One KIP-848 member joins group `group` subscribed to gt. */
static void
join_consumer_group(const char *group)
{
    know_brokers();
    kw_slice topics[1] = {kw_slice_str("gt")};
    kw_consumer_group_heartbeat_req m;
    memset(&m, 0, sizeof(m));
    m.group_id = kw_slice_str(group);
    m.member_id = kw_slice_str("kwt-member-0000000001");
    m.member_epoch = 0;
    m.instance_id = m.rack_id = m.subscribed_topic_regex = m.server_assignor = KW_SLICE_NULL;
    m.rebalance_timeout_ms = 30000;
    m.subscribed_topic_names = topics;
    m.n_subscribed_topic_names = 1;
    m.n_topic_partitions = 0; /* the first heartbeat owns nothing */
    kwi_req_opts o;
    kwi_req_opts_init(&o);
    raw r = {0};
    kw_error err;
    ck_assert_int_eq(
        kwi_client_send(cli, kw_mock_coordinator(mock, 0, group), 68, &m, &o, on_hb, &r, &err),
        KW_ERR_OK);
    step_until(&r.done);
    ck_assert_int_eq(r.err, KW_ERR_OK);
    ck_assert_int_eq(r.code, 0);
}

/* ---- offsets and lag --------------------------------------------------------------------- */

static void
check_lag(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    char b[64];
    ck_assert_int_eq(r->n_offsets, 2);
    const kw_group_offsets *g = &r->offsets[0];
    ck_assert_str_eq(g->group_id, "g1");
    ck_assert_str_eq(kwt_err_tag(g->error, b, sizeof(b)), "OK");
    ck_assert_int_eq(g->coordinator, kw_mock_coordinator(mock, 0, "g1"));
    ck_assert_int_eq(g->n_partitions, 2);
    ck_assert_str_eq(g->partitions[0].topic, "gt");
    ck_assert_int_eq(g->partitions[0].partition, 0);
    ck_assert_int_eq(g->partitions[0].offset, 7);
    ck_assert_str_eq(g->partitions[0].metadata, "m0");
    ck_assert_int_eq(g->partitions[0].end_offset, 10);
    ck_assert_int_eq(g->partitions[0].lag, 3);
    ck_assert_int_eq(g->partitions[1].offset, 5);
    ck_assert_int_eq(g->partitions[1].end_offset, 5);
    ck_assert_int_eq(g->partitions[1].lag, 0);
    ck_assert_int_eq(g->partitions[1].end_error->code, KW_ERR_OK);
    /* A group nobody committed for has no offsets (OffsetFetch answers an empty list). */
    ck_assert_str_eq(r->offsets[1].group_id, "never");
    ck_assert_int_eq(r->offsets[1].n_partitions, 0);
}

START_TEST(test_committed_offsets_and_lag)
{
    commit("g1", 7, 5);
    kw_error err;
    const char *groups[] = {"g1", "never"};
    kwt_call k = {0};
    k.check = check_lag;
    ck_assert_int_eq(
        kw_admin_group_offsets(ad, groups, 2, NULL, 0, true, NULL, kwt_adm_cb, &k, &err),
        KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.err, KW_ERR_OK);
}
END_TEST

static void
check_no_lag(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    ck_assert_int_eq(r->n_offsets, 1);
    ck_assert_int_eq(r->offsets[0].n_partitions, 2);
    ck_assert_int_eq(r->offsets[0].partitions[0].offset, 2);
    ck_assert_int_eq(r->offsets[0].partitions[0].lag, -1); /* not asked */
}

START_TEST(test_offsets_not_coordinator_retried)
{
    commit("g2", 2, 1);
    /* The coordinator answers NOT_COORDINATOR once; the call finds it again and retries. */
    int16_t nc[] = {16};
    ck_assert_int_eq(kw_mock_fault_errors(mock, kw_mock_coordinator(mock, 0, "g2"), 9, nc, 1),
                     KW_ERR_OK);
    kw_error err;
    const char *groups[] = {"g2"};
    kwt_call k = {0};
    k.check = check_no_lag;
    ck_assert_int_eq(
        kw_admin_group_offsets(ad, groups, 1, NULL, 0, false, NULL, kwt_adm_cb, &k, &err),
        KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.err, KW_ERR_OK);
}
END_TEST

/* ---- list and describe ------------------------------------------------------------------- */

typedef struct seen {
    int n;
    char ids[8][32];
    char states[8][32];
    int brokers;
} seen;

static void
grab_listing(const kw_admin_result *r, void *ctx)
{
    seen *s = ctx;
    s->brokers = r->n_brokers;
    for (int32_t i = 0; i < r->n_brokers; i++)
        ck_assert_int_eq(r->brokers[i].error->code, KW_ERR_OK);
    for (int32_t i = 0; i < r->n_listings && s->n < 8; i++, s->n++) {
        snprintf(s->ids[s->n], 32, "%s", r->listings[i].group_id);
        snprintf(s->states[s->n], 32, "%s", r->listings[i].state ? r->listings[i].state : "?");
    }
}

static void
check_describe(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    char b[64];
    ck_assert_int_eq(r->n_groups, 3);
    const kw_group_description *g = &r->groups[0];
    ck_assert_str_eq(g->group_id, "g1");
    ck_assert_str_eq(kwt_err_tag(g->error, b, sizeof(b)), "OK");
    ck_assert_str_eq(g->type, "classic");
    ck_assert_str_eq(g->state, "Empty");
    ck_assert_int_eq(g->n_members, 0);
    g = &r->groups[1];
    ck_assert_str_eq(g->group_id, "kg");
    ck_assert_str_eq(kwt_err_tag(g->error, b, sizeof(b)), "OK");
    ck_assert_str_eq(g->type, "consumer");
    ck_assert_int_eq(g->n_members, 1);
    ck_assert_str_eq(g->members[0].member_id, "kwt-member-0000000001");
    ck_assert_int_ge(g->group_epoch, 1);
    int32_t assigned = 0;
    for (int32_t t = 0; t < g->members[0].n_assignment; t++) {
        ck_assert_str_eq(g->members[0].assignment[t].topic, "gt");
        assigned += g->members[0].assignment[t].n_partitions;
    }
    ck_assert_int_eq(assigned, 2); /* the only member owns both partitions */
    ck_assert_str_eq(kwt_err_tag(r->groups[2].error, b, sizeof(b)), "BROKER:GROUP_ID_NOT_FOUND");
}

START_TEST(test_list_and_describe_groups)
{
    commit("g1", 1, 1);
    join_consumer_group("kg");
    kw_error err;
    seen s = {0};
    kwt_call k = {0};
    k.check = grab_listing;
    k.ctx = &s;
    ck_assert_int_eq(kw_admin_list_groups(ad, NULL, 0, NULL, 0, NULL, kwt_adm_cb, &k, &err),
                     KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(s.brokers, 3);
    ck_assert_int_eq(s.n, 2);
    ck_assert_str_eq(s.ids[0], "g1");
    ck_assert_str_eq(s.states[0], "Empty");
    ck_assert_str_eq(s.ids[1], "kg");

    const char *empty[] = {"Empty"};
    seen f = {0};
    kwt_call kf = {0};
    kf.check = grab_listing;
    kf.ctx = &f;
    ck_assert_int_eq(kw_admin_list_groups(ad, empty, 1, NULL, 0, NULL, kwt_adm_cb, &kf, &err),
                     KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(f.n, 1);
    ck_assert_str_eq(f.ids[0], "g1");

    const char *ids[] = {"g1", "kg", "nobody"};
    kwt_call d = {0};
    d.check = check_describe;
    ck_assert_int_eq(kw_admin_describe_groups(ad, ids, 3, NULL, kwt_adm_cb, &d, &err), KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(d.calls, 1);
    ck_assert_int_eq(d.err, KW_ERR_OK);
}
END_TEST

/* ---- brokers that do not answer ---------------------------------------------------------- */

static void
check_partial(const kw_admin_result *r, void *ctx)
{
    (void)ctx;
    char b[64];
    /* Brokers by id: 2 is down, so its groups are missing and it says why. */
    ck_assert_int_eq(r->n_brokers, 3);
    for (int32_t i = 0; i < 3; i++)
        ck_assert_int_eq(r->brokers[i].node_id, i + 1);
    ck_assert_str_eq(kwt_err_tag(r->brokers[0].error, b, sizeof(b)), "OK");
    ck_assert_str_eq(kwt_err_tag(r->brokers[1].error, b, sizeof(b)), "TIMED_OUT");
    ck_assert_str_eq(kwt_err_tag(r->brokers[2].error, b, sizeof(b)), "OK");
    ck_assert_int_eq(r->n_listings, 2);
    ck_assert_str_eq(r->listings[0].group_id, "ga");
    ck_assert_int_eq(r->listings[0].coordinator, 1);
    ck_assert_str_eq(r->listings[1].group_id, "gc");
    ck_assert_int_eq(r->listings[1].coordinator, 3);
}

static kwt_call
list_groups(int timeout_ms, void (*check)(const kw_admin_result *, void *))
{
    kw_admin_opts o;
    kw_admin_opts_init(&o);
    o.timeout_ms = timeout_ms;
    kwt_call k = {0};
    k.check = check;
    kw_error err;
    ck_assert_int_eq(kw_admin_list_groups(ad, NULL, 0, NULL, 0, &o, kwt_adm_cb, &k, &err),
                     KW_ERR_OK);
    kwt_adm_wait(ad);
    ck_assert_int_eq(k.calls, 1);
    return k;
}

/* One broker down: the listing is partial and says which broker is missing. Every broker
 * failing, or none reachable at all, fails the call: an empty listing would read as "no
 * groups". */
START_TEST(test_list_groups_brokers_down)
{
    ck_assert_int_eq(kw_mock_coordinator_set(mock, KW_MOCK_COORD_GROUP, "ga", 1), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_coordinator_set(mock, KW_MOCK_COORD_GROUP, "gc", 3), KW_ERR_OK);
    commit("ga", 1, 1);
    commit("gc", 1, 1);
    ck_assert_int_eq(kw_mock_broker_down(mock, 2), KW_ERR_OK);
    kwt_call k = list_groups(3000, check_partial);
    ck_assert_msg(k.err == KW_ERR_OK, "%s", k.detail.msg);

    /* 1 and 3 refuse (CLUSTER_AUTHORIZATION_FAILED, final), 2 is still down. */
    const int16_t denied[] = {31};
    ck_assert_int_eq(kw_mock_fault_errors(mock, 1, 16 /* ListGroups */, denied, 1), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_fault_errors(mock, 3, 16 /* ListGroups */, denied, 1), KW_ERR_OK);
    k = list_groups(3000, NULL);
    ck_assert_int_eq(k.err, KW_ERR_BROKER);
    ck_assert_int_eq(k.detail.broker_code, 31);
    ck_assert_msg(strstr(k.detail.msg, "ListGroups failed on every broker: broker 1: ListGroups "
                                       "CLUSTER_AUTHORIZATION_FAILED; broker 2: timed out"),
                  "%s", k.detail.msg);

    /* Every broker down: the cluster cannot be asked who its brokers are. */
    ck_assert_int_eq(kw_mock_broker_down(mock, 1), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_broker_down(mock, 3), KW_ERR_OK);
    k = list_groups(1500, NULL);
    ck_assert_int_eq(k.err, KW_ERR_TIMED_OUT);
    ck_assert_int_eq(k.detail.code, KW_ERR_TIMED_OUT);
    ck_assert_msg(strstr(k.detail.msg, "ListGroups: no broker answered within 1500 ms"), "%s",
                  k.detail.msg);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("admin_groups");
    TCase *tc = tcase_create("groups");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_committed_offsets_and_lag);
    tcase_add_test(tc, test_offsets_not_coordinator_retried);
    tcase_add_test(tc, test_list_and_describe_groups);
    tcase_add_test(tc, test_list_groups_brokers_down);
    suite_add_tcase(s, tc);
    return s;
}
