/* API version negotiation without sockets: the per-API choice (highest common version within
 * kwire's range and the Kafka 4.0 floors), and the ApiVersions fallback dance on error 35,
 * including librdkafka mock 2.0.2's malformed answer to a v3+ request. */
#include <check.h>
#include <string.h>

#include "net/apiver.h"

static kwi_apiver
select_from(const kw_api_version *keys, int32_t n)
{
    kwi_apiver v;
    kwi_apiver_select(&v, keys, n);
    return v;
}

START_TEST(test_highest_common_version)
{
    const kw_api_version keys[] = {
        {0, 0, 9, {0}},  /* Produce: a 3.x broker */
        {3, 0, 12, {0}}, /* Metadata */
        {18, 0, 3, {0}}, /* ApiVersions */
        {1, 0, 11, {0}}, /* Fetch, as librdkafka's mock advertises */
    };
    kwi_apiver v = select_from(keys, 4);
    ck_assert_int_eq(kwi_apiver_get(&v, 0), 9);
    ck_assert_int_eq(kwi_apiver_get(&v, 3), 12);
    ck_assert_int_eq(kwi_apiver_get(&v, 18), 3);
    ck_assert_int_eq(kwi_apiver_get(&v, 1), 11);
    ck_assert_int_eq(v.broker_min[0], 0);
    ck_assert_int_eq(v.broker_max[0], 9);
    /* Not advertised: unusable, and recorded as such. */
    ck_assert_int_eq(kwi_apiver_get(&v, 2), -1);
    ck_assert_int_eq(v.broker_max[2], -1);
    /* A broker newer than kwire: kwire's own maximum. */
    int16_t kmin, kmax;
    ck_assert(kwi_apiver_client_range(3, &kmin, &kmax));
    const kw_api_version newer[] = {{3, 0, 99, {0}}};
    v = select_from(newer, 1);
    ck_assert_int_eq(kwi_apiver_get(&v, 3), kmax);
}
END_TEST

START_TEST(test_kafka4_floors)
{
    int16_t lo, hi;
    /* The floors hold whatever the codec covers. */
    ck_assert(kwi_apiver_client_range(0, &lo, &hi));
    ck_assert_int_ge(lo, 3);
    ck_assert(kwi_apiver_client_range(1, &lo, &hi));
    ck_assert_int_ge(lo, 4);
    ck_assert_int_eq(kwi_apiver_floor(0), 3);
    ck_assert_int_eq(kwi_apiver_floor(2), 1);
    ck_assert_int_eq(kwi_apiver_floor(8), 2);
    ck_assert_int_eq(kwi_apiver_floor(3), 0); /* Metadata kept every version */

    /* A 4.x broker advertises Produce 0-12 but rejects 0-2: kwire picks 12, never below 3. */
    const kw_api_version k4[] = {{0, 0, 12, {0}}};
    kwi_apiver v = select_from(k4, 1);
    ck_assert_int_eq(kwi_apiver_get(&v, 0), 12);
    /* A broker that only has Produce 0-2: unusable, not v2. */
    const kw_api_version old[] = {{0, 0, 2, {0}}, {1, 0, 3, {0}}, {11, 0, 1, {0}}};
    v = select_from(old, 3);
    ck_assert_int_eq(kwi_apiver_get(&v, 0), -1);
    ck_assert_int_eq(kwi_apiver_get(&v, 1), -1);
    ck_assert_int_eq(kwi_apiver_get(&v, 11), -1); /* JoinGroup below v2 */
    /* Exactly the floor is fine. */
    const kw_api_version edge[] = {{0, 0, 3, {0}}, {1, 4, 4, {0}}};
    v = select_from(edge, 2);
    ck_assert_int_eq(kwi_apiver_get(&v, 0), 3);
    ck_assert_int_eq(kwi_apiver_get(&v, 1), 4);
}
END_TEST

START_TEST(test_unusable_ranges)
{
    int16_t lo, hi;
    ck_assert(kwi_apiver_client_range(0, &lo, &hi));
    const kw_api_version keys[] = {
        {0, (int16_t)(hi + 1), (int16_t)(hi + 5), {0}}, /* broker min above kwire max */
        {3, 5, 2, {0}},                                 /* min > max */
        {18, -1, 3, {0}},                               /* negative */
        {24, 0, 5, {0}},                                /* AddPartitionsToTxn: client form */
        {27, 0, 1, {0}},                                /* WriteTxnMarkers: kwire never sends */
        {200, 0, 1, {0}},                               /* beyond the table */
        {-3, 0, 1, {0}},
    };
    kwi_apiver v = select_from(keys, 7);
    ck_assert_int_eq(kwi_apiver_get(&v, 0), -1);
    ck_assert_int_eq(kwi_apiver_get(&v, 3), -1);
    ck_assert_int_eq(kwi_apiver_get(&v, 18), -1);
    ck_assert_int_eq(kwi_apiver_get(&v, 24), 3);
    ck_assert_int_eq(kwi_apiver_get(&v, 27), -1);
    ck_assert_int_eq(kwi_apiver_get(&v, 200), -1);
    ck_assert_int_eq(kwi_apiver_get(&v, -3), -1);
    ck_assert(!kwi_apiver_client_range(27, &lo, &hi));
    /* A later duplicate entry overrides the earlier. */
    const kw_api_version dup[] = {{3, 0, 1, {0}}, {3, 0, 7, {0}}};
    v = select_from(dup, 2);
    ck_assert_int_eq(kwi_apiver_get(&v, 3), 7);
}
END_TEST

/* Runs kwi_apiver_response on raw body bytes. */
static kwi_apiver_result
respond(int16_t sent, const uint8_t *body, size_t len, kwi_apiver *v, int16_t *retry, kw_error *err)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_error_init(err);
    kwi_apiver_result r = kwi_apiver_response(v, sent, body, len, &ar, retry, err);
    kw_arena_fini(&ar);
    return r;
}

START_TEST(test_error35_malformed_body_retries_v0)
{
    /* librdkafka mock 2.0.2 answering a v4 request: a v0 error code, then a one-byte count,
     * one entry (ApiVersions 0-2) and a throttle time. As v0 the count is a huge int32. */
    const uint8_t rdk[] = {0x00, 0x23, 0x01, 0x00, 0x12, 0x00, 0x00,
                           0x00, 0x02, 0x00, 0x00, 0x00, 0x00};
    kwi_apiver v;
    int16_t retry;
    kw_error err;
    ck_assert_int_eq(respond(4, rdk, sizeof(rdk), &v, &retry, &err), KWI_APIVER_RETRY);
    ck_assert_int_eq(retry, 0);
    /* The same with a compact-style count byte (count + 1). */
    uint8_t rdk2[sizeof(rdk)];
    memcpy(rdk2, rdk, sizeof(rdk));
    rdk2[2] = 0x02;
    ck_assert_int_eq(respond(3, rdk2, sizeof(rdk2), &v, &retry, &err), KWI_APIVER_RETRY);
    ck_assert_int_eq(retry, 0);
    /* Only the error code: still a retry at v0. */
    ck_assert_int_eq(respond(4, rdk, 2, &v, &retry, &err), KWI_APIVER_RETRY);
    ck_assert_int_eq(retry, 0);
}
END_TEST

START_TEST(test_error35_kip511_body_names_version)
{
    /* A real broker (KIP-511): a v0 body listing its ApiVersions range. */
    const uint8_t body[] = {0x00, 0x23,                          /* error 35 */
                            0x00, 0x00, 0x00, 0x02,              /* 2 keys */
                            0x00, 0x03, 0x00, 0x00, 0x00, 0x08,  /* Metadata 0-8 */
                            0x00, 0x12, 0x00, 0x00, 0x00, 0x02}; /* ApiVersions 0-2 */
    kwi_apiver v;
    int16_t retry;
    kw_error err;
    ck_assert_int_eq(respond(4, body, sizeof(body), &v, &retry, &err), KWI_APIVER_RETRY);
    ck_assert_int_eq(retry, 2);
    /* A broker that names a version at or above the rejected one cannot loop us. */
    uint8_t loop[sizeof(body)];
    memcpy(loop, body, sizeof(body));
    loop[sizeof(loop) - 1] = 0x09;
    ck_assert_int_eq(respond(4, loop, sizeof(loop), &v, &retry, &err), KWI_APIVER_RETRY);
    ck_assert_int_eq(retry, 3);
    ck_assert_int_eq(respond(2, loop, sizeof(loop), &v, &retry, &err), KWI_APIVER_RETRY);
    ck_assert_int_eq(retry, 1);
    /* A v0 body without ApiVersions in it: v0. */
    const uint8_t none[] = {0x00, 0x23, 0x00, 0x00, 0x00, 0x00};
    ck_assert_int_eq(respond(4, none, sizeof(none), &v, &retry, &err), KWI_APIVER_RETRY);
    ck_assert_int_eq(retry, 0);
    /* Error 35 to a v0 request is the end. */
    ck_assert_int_eq(respond(0, none, sizeof(none), &v, &retry, &err), KWI_APIVER_FAIL);
    ck_assert_int_eq(err.code, KW_ERR_BROKER);
    ck_assert_int_eq(err.broker_code, 35);
}
END_TEST

START_TEST(test_v0_only_broker)
{
    /* A broker that only speaks ApiVersions v0 answers v0 with its list: done. */
    const uint8_t body[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
                            0x00, 0x00, 0x07, 0x00, 0x12, 0x00, 0x00, 0x00, 0x00};
    kwi_apiver v;
    int16_t retry;
    kw_error err;
    ck_assert_int_eq(respond(0, body, sizeof(body), &v, &retry, &err), KWI_APIVER_DONE);
    ck_assert_int_eq(kwi_apiver_get(&v, 0), 7);
    ck_assert_int_eq(kwi_apiver_get(&v, 18), 0);
}
END_TEST

START_TEST(test_flexible_response_and_failures)
{
    /* A v3 (flexible) response encoded by the codec, as a 3.x+ broker sends it. */
    kw_api_version keys[] = {{0, 0, 11, {0}}, {3, 0, 12, {0}}, {18, 0, 4, {0}}};
    kw_api_versions_resp m;
    memset(&m, 0, sizeof(m));
    m.api_keys = keys;
    m.n_api_keys = 3;
    m.finalized_features_epoch = -1;
    uint8_t buf[256];
    kw_wr w;
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    ck_assert_int_eq(kw_msg_encode(&kw_msg_api_versions_resp, 3, &w, &m), KW_ERR_OK);
    kwi_apiver v;
    int16_t retry;
    kw_error err;
    ck_assert_int_eq(respond(3, buf, kw_wr_len(&w), &v, &retry, &err), KWI_APIVER_DONE);
    ck_assert_int_eq(kwi_apiver_get(&v, 0), 11);
    ck_assert_int_eq(kwi_apiver_get(&v, 18), 4);

    /* Truncated: a clear failure with the byte offset, never a retry. */
    ck_assert_int_eq(respond(3, buf, kw_wr_len(&w) - 3, &v, &retry, &err), KWI_APIVER_FAIL);
    ck_assert(err.code == KW_ERR_TRUNCATED || err.code == KW_ERR_MALFORMED);
    ck_assert_ptr_nonnull(strstr(err.msg, "ApiVersions"));
    /* Another broker error: failure carrying the code. */
    m.error_code = 31;
    kw_wr_init_fixed(&w, buf, sizeof(buf));
    ck_assert_int_eq(kw_msg_encode(&kw_msg_api_versions_resp, 3, &w, &m), KW_ERR_OK);
    ck_assert_int_eq(respond(3, buf, kw_wr_len(&w), &v, &retry, &err), KWI_APIVER_FAIL);
    ck_assert_int_eq(err.broker_code, 31);
    ck_assert_ptr_nonnull(strstr(err.msg, "CLUSTER_AUTHORIZATION_FAILED"));
    /* Trailing garbage after a v0 body is malformed. */
    const uint8_t trail[] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff};
    ck_assert_int_eq(respond(0, trail, sizeof(trail), &v, &retry, &err), KWI_APIVER_FAIL);
}
END_TEST

START_TEST(test_api_names)
{
    char buf[32];
    ck_assert_str_eq(kwi_api_name(0, buf, sizeof(buf)), "Produce");
    ck_assert_str_eq(kwi_api_name(3, buf, sizeof(buf)), "Metadata");
    ck_assert_str_eq(kwi_api_name(999, buf, sizeof(buf)), "API 999");
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("apiver");
    TCase *tc = tcase_create("apiver");
    tcase_add_test(tc, test_highest_common_version);
    tcase_add_test(tc, test_kafka4_floors);
    tcase_add_test(tc, test_unusable_ranges);
    tcase_add_test(tc, test_error35_malformed_body_retries_v0);
    tcase_add_test(tc, test_error35_kip511_body_names_version);
    tcase_add_test(tc, test_v0_only_broker);
    tcase_add_test(tc, test_flexible_response_and_failures);
    tcase_add_test(tc, test_api_names);
    suite_add_tcase(s, tc);
    return s;
}
