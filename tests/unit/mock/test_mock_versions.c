/* kwire-mock release emulation: ApiVersions of 2.8, 3.9 and 4.0 against the ranges documented
 * for those releases (../shared/kafka-protocol/README.md sections 3-4 for 4.0; franz-go's
 * kversion release tables for 2.8 and 3.9, typed in here independently of src/mock/versions.c),
 * what each emulated broker accepts (4.0 advertises Produce 0-12 but refuses 0-2; 2.8 has no
 * Metadata v12), the KIP-511 fallback at the release's ApiVersions maximum, per-API overrides
 * on top of a release, and going back to the served ranges. */
#include "fault_util.h"

typedef struct want {
    int16_t key, min, max;
} want;

/* Every API a Kafka release advertises that kwire-mock may serve. */
static const want r28[] = {
    {0, 0, 9},  {1, 0, 12}, {2, 0, 6},  {3, 0, 11}, {8, 0, 8},  {9, 0, 7},  {10, 0, 3}, {11, 0, 7},
    {12, 0, 4}, {13, 0, 4}, {14, 0, 5}, {15, 0, 5}, {16, 0, 4}, {17, 0, 1}, {18, 0, 3}, {19, 0, 7},
    {20, 0, 6}, {21, 0, 2}, {22, 0, 4}, {23, 0, 4}, {24, 0, 3}, {25, 0, 3}, {26, 0, 3}, {28, 0, 3},
    {32, 0, 4}, {36, 0, 2}, {37, 0, 3}, {42, 0, 2}, {60, 0, 0},
};
static const want r39[] = {
    {0, 0, 11}, {1, 0, 17}, {2, 0, 9},  {3, 0, 12}, {8, 0, 9},  {9, 0, 9},  {10, 0, 6}, {11, 0, 9},
    {12, 0, 4}, {13, 0, 5}, {14, 0, 5}, {15, 0, 5}, {16, 0, 5}, {17, 0, 1}, {18, 0, 4}, {19, 0, 7},
    {20, 0, 6}, {21, 0, 2}, {22, 0, 5}, {23, 0, 4}, {24, 0, 5}, {25, 0, 4}, {26, 0, 4}, {28, 0, 4},
    {32, 0, 4}, {36, 0, 2}, {37, 0, 3}, {42, 0, 2}, {60, 0, 1}, {68, 0, 0}, {69, 0, 0},
};
static const want r40[] = {
    {0, 0, 12}, {1, 4, 17}, {2, 1, 10}, {3, 0, 13}, {8, 2, 9},  {9, 1, 9},  {10, 0, 6}, {11, 2, 9},
    {12, 0, 4}, {13, 0, 5}, {14, 0, 5}, {15, 0, 6}, {16, 0, 5}, {17, 0, 1}, {18, 0, 4}, {19, 2, 7},
    {20, 1, 6}, {21, 0, 2}, {22, 0, 5}, {23, 2, 4}, {24, 0, 5}, {25, 0, 4}, {26, 0, 5}, {28, 0, 5},
    {32, 1, 4}, {36, 0, 2}, {37, 0, 3}, {42, 0, 2}, {60, 0, 2}, {68, 0, 1}, {69, 0, 1},
};

#define N(a) (sizeof(a) / sizeof(a[0]))

static kw_api_versions_resp
api_versions(mc *c, int16_t ver, kw_arena *ar, uint8_t **f)
{
    kw_api_versions_resp r;
    int32_t corr = fu_send_api_versions(c, ver);
    mc_recv(c, &kw_msg_api_versions_resp, ver, corr, ar, &r, f);
    return r;
}

static const kw_api_version *
find(const kw_api_versions_resp *r, int16_t key)
{
    for (int32_t i = 0; i < r->n_api_keys; i++)
        if (r->api_keys[i].api_key == key)
            return &r->api_keys[i];
    return NULL;
}

/* The advertised list is exactly the release's ranges for the APIs the mock serves. */
static void
check_release(kw_mock *m, const char *rel, const want *w, size_t n)
{
    ck_assert_int_eq(kw_mock_emulate(m, rel), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_api_versions_resp r = api_versions(c, 3, &ar, &f);
    ck_assert_int_eq(r.error_code, 0);
    /* Each advertised API is in the release's table, with its range. */
    for (int32_t i = 0; i < r.n_api_keys; i++) {
        const kw_api_version *a = &r.api_keys[i];
        size_t k = 0;
        while (k < n && w[k].key != a->api_key)
            k++;
        ck_assert_msg(k < n, "%s advertises API %d, which that release lacks", rel,
                      (int)a->api_key);
        ck_assert_msg(a->min_version == w[k].min && a->max_version == w[k].max,
                      "%s API %d: %d-%d, want %d-%d", rel, (int)a->api_key, (int)a->min_version,
                      (int)a->max_version, (int)w[k].min, (int)w[k].max);
    }
    /* The core APIs, which the mock always serves, are all there. */
    static const int16_t core[] = {0, 1, 2, 3, 17, 18, 19, 20, 21, 32, 36, 37, 60};
    for (size_t i = 0; i < N(core); i++)
        ck_assert_msg(find(&r, core[i]), "%s: API %d missing", rel, (int)core[i]);
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
}

START_TEST(test_release_tables)
{
    kw_mock *m = fu_mock(1, NULL);
    check_release(m, "2.8", r28, N(r28));
    check_release(m, "3.9", r39, N(r39));
    check_release(m, "4.0", r40, N(r40));
    ck_assert_int_eq(kw_mock_emulate(m, "1.0"), KW_ERR_NOT_FOUND);
    /* Back to the served ranges. */
    ck_assert_int_eq(kw_mock_emulate(m, "latest"), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    kw_api_versions_resp r = api_versions(c, 3, &ar, &f);
    ck_assert_int_eq(find(&r, 0)->max_version, kw_msg_produce_req.max_ver);
    ck_assert_int_eq(find(&r, 18)->max_version, kw_msg_api_versions_req.max_ver);
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* A Produce of `ver` with no partitions: whether it is answered (else the connection closes).
 * Versions below 3, which kwire's codec does not encode, are written by hand: acks, timeout
 * and an empty topic array, the same in v0-2. */
static bool
produce_served(kw_mock *m, int16_t ver)
{
    mc *c = mc_connect(m, 1, false);
    if (ver < 3) {
        kw_wr w;
        kw_wr_init_dyn(&w, NULL, 4096);
        kw_wr_i32(&w, 0);
        kw_req_hdr h = {0, ver, ++c->corr, kw_slice_str("raw"), {NULL, 0}};
        ck_assert_int_eq(kw_req_hdr_encode(&w, 1, &h), KW_ERR_OK);
        kw_wr_i16(&w, 1);
        kw_wr_i32(&w, 1000);
        kw_wr_i32(&w, 0);
        kw_wr_patch_i32(&w, 0, (int32_t)(kw_wr_len(&w) - 4));
        mc_write(c, w.base, kw_wr_len(&w));
        kw_wr_fini(&w);
    } else {
        kw_produce_req rq;
        memset(&rq, 0, sizeof(rq));
        rq.transactional_id = KW_SLICE_NULL;
        rq.acks = 1;
        rq.timeout_ms = 1000;
        mc_send(c, &kw_msg_produce_req, ver, &rq);
    }
    size_t len;
    uint8_t *f = mc_recv_frame(c, MC_WAIT_MS, &len);
    bool served = f != NULL;
    ck_assert(served || c->eof);
    free(f);
    mc_close(c);
    return served;
}

START_TEST(test_kafka_4_0_produce_floor)
{
    kw_mock *m = fu_mock(1, NULL);
    ck_assert_int_eq(kw_mock_emulate(m, "4.0"), KW_ERR_OK);
    /* Advertised from v0 (test_release_tables), as 4.0 does for librdkafka's sake, but
     * v0-2 are refused; 3-12 are served, 13 (4.1) is not. */
    ck_assert(!produce_served(m, 2));
    ck_assert(produce_served(m, 3));
    ck_assert(produce_served(m, 12));
    ck_assert(!produce_served(m, 13));
    /* An explicit range replaces the release's for that API. */
    ck_assert_int_eq(kw_mock_api_versions_set(m, 0, 3, 9), KW_ERR_OK);
    ck_assert(produce_served(m, 9));
    ck_assert(!produce_served(m, 10));
    kw_mock_free(m);
}
END_TEST

START_TEST(test_kafka_2_8_limits)
{
    kw_mock *m = fu_mock(1, NULL);
    ck_assert_int_eq(kw_mock_emulate(m, "2.8"), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;
    /* ApiVersions v4 is above 2.8's v3: error 35 and the v0 body with 2.8's ranges. */
    int32_t corr = fu_send_api_versions(c, 4);
    kw_api_versions_resp r;
    mc_recv(c, &kw_msg_api_versions_resp, 0, corr, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 35);
    ck_assert_int_eq(find(&r, 18)->max_version, 3);
    ck_assert_int_eq(find(&r, 3)->max_version, 11);
    free(f);
    /* Metadata v11 is served, v12 closes the connection. */
    kw_metadata_req rq;
    kw_metadata_req_topic t;
    kw_metadata_resp mr;
    corr = fu_send_metadata(c, 11, "x", &t, &rq);
    mc_recv(c, &kw_msg_metadata_resp, 11, corr, &ar, &mr, &f);
    ck_assert_int_eq(mr.topics[0].error_code, 0);
    free(f);
    fu_send_metadata(c, 12, "x", &t, &rq);
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_versions");
    TCase *tc = tcase_create("versions");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_release_tables);
    tcase_add_test(tc, test_kafka_4_0_produce_floor);
    tcase_add_test(tc, test_kafka_2_8_limits);
    suite_add_tcase(s, tc);
    return s;
}
