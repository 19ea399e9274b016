/* kwire's own error enum, the error-detail object and the broker error table. The broker table
 * is checked entry by entry against shared/kafka-protocol/README.md section 8 (the team's
 * reading of Errors.java), so a typo in either place shows up here. */
#include <check.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/error.h"

START_TEST(broker_err_samples)
{
    ck_assert_str_eq(kw_broker_err_name(-1), "UNKNOWN_SERVER_ERROR");
    ck_assert(!kw_broker_err_retriable(-1));
    ck_assert_str_eq(kw_broker_err_name(0), "NONE");
    ck_assert(!kw_broker_err_retriable(0));
    ck_assert(!kw_broker_err_refresh_metadata(0));

    ck_assert_str_eq(kw_broker_err_name(3), "UNKNOWN_TOPIC_OR_PARTITION");
    ck_assert(kw_broker_err_retriable(3));
    ck_assert(kw_broker_err_refresh_metadata(3));

    ck_assert_str_eq(kw_broker_err_name(6), "NOT_LEADER_OR_FOLLOWER");
    ck_assert(kw_broker_err_retriable(6));
    ck_assert(kw_broker_err_refresh_metadata(6));

    /* Retriable without a metadata refresh. */
    ck_assert_str_eq(kw_broker_err_name(7), "REQUEST_TIMED_OUT");
    ck_assert(kw_broker_err_retriable(7));
    ck_assert(!kw_broker_err_refresh_metadata(7));
    ck_assert_str_eq(kw_broker_err_name(15), "COORDINATOR_NOT_AVAILABLE");
    ck_assert(kw_broker_err_retriable(15));
    ck_assert(!kw_broker_err_refresh_metadata(15));

    /* BROKER_NOT_AVAILABLE is not a RetriableException in Java. */
    ck_assert_str_eq(kw_broker_err_name(8), "BROKER_NOT_AVAILABLE");
    ck_assert(!kw_broker_err_retriable(8));

    /* NETWORK_EXCEPTION is an InvalidMetadataException. */
    ck_assert_str_eq(kw_broker_err_name(13), "NETWORK_EXCEPTION");
    ck_assert(kw_broker_err_refresh_metadata(13));

    /* Group errors are handled by the coordinator logic, not retried as such. */
    ck_assert_str_eq(kw_broker_err_name(27), "REBALANCE_IN_PROGRESS");
    ck_assert(!kw_broker_err_retriable(27));
    ck_assert_str_eq(kw_broker_err_name(35), "UNSUPPORTED_VERSION");
    ck_assert(!kw_broker_err_retriable(35));

    ck_assert_str_eq(kw_broker_err_name(74), "FENCED_LEADER_EPOCH");
    ck_assert(kw_broker_err_refresh_metadata(74));
    ck_assert_str_eq(kw_broker_err_name(84), "ELECTION_NOT_NEEDED");
    ck_assert(kw_broker_err_retriable(84));
    ck_assert(kw_broker_err_refresh_metadata(84));
    ck_assert_str_eq(kw_broker_err_name(100), "UNKNOWN_TOPIC_ID");
    ck_assert(kw_broker_err_refresh_metadata(100));
    ck_assert_str_eq(kw_broker_err_name(120), "TRANSACTION_ABORTABLE");
    ck_assert(!kw_broker_err_retriable(120));
    ck_assert_str_eq(kw_broker_err_name(128), "INVALID_REGULAR_EXPRESSION");

    /* Later releases (README: names only). Java: RebootstrapRequiredException and the streams
     * exceptions extend ApiException, ShareSessionLimitReachedException RetriableException. */
    ck_assert_str_eq(kw_broker_err_name(129), "REBOOTSTRAP_REQUIRED");
    ck_assert(!kw_broker_err_retriable(129));
    ck_assert_str_eq(kw_broker_err_name(130), "STREAMS_INVALID_TOPOLOGY");
    ck_assert_str_eq(kw_broker_err_name(131), "STREAMS_INVALID_TOPOLOGY_EPOCH");
    ck_assert_str_eq(kw_broker_err_name(132), "STREAMS_TOPOLOGY_FENCED");
    ck_assert_str_eq(kw_broker_err_name(133), "SHARE_SESSION_LIMIT_REACHED");
    ck_assert(kw_broker_err_retriable(133));
    ck_assert(!kw_broker_err_refresh_metadata(133));
}
END_TEST

START_TEST(broker_err_unknown)
{
    static const int16_t unknown[] = {-2, -100, 134, 135, 1000, INT16_MIN, INT16_MAX};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        ck_assert_str_eq(kw_broker_err_name(unknown[i]), "UNKNOWN_ERROR_CODE");
        ck_assert(!kw_broker_err_retriable(unknown[i]));
        ck_assert(!kw_broker_err_refresh_metadata(unknown[i]));
    }
    /* Every int16 has a name. */
    for (int32_t c = INT16_MIN; c <= INT16_MAX; c++)
        ck_assert_ptr_nonnull(kw_broker_err_name((int16_t)c));
}
END_TEST

/* Reads the README's section 8 table: "| code | NAME | R | M |" rows, R in Y/N/-. */
START_TEST(broker_err_matches_readme)
{
    const char *src = getenv("KW_SRC_DIR");
    char path[4096];
    snprintf(path, sizeof(path), "%s/../shared/kafka-protocol/README.md", src ? src : ".");
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    char line[512];
    int rows = 0, next = -1;
    while (fgets(line, sizeof(line), f)) {
        int code;
        char name[96], r, m = ' ';
        int used = 0;
        if (sscanf(line, "| %d | %95[A-Z_] | %c |%n", &code, name, &r, &used) != 3 || !used)
            continue;
        const char *rest = line + used;
        while (*rest == ' ')
            rest++;
        if (*rest == 'Y' || *rest == 'N' || *rest == '-')
            m = *rest;
        ck_assert_msg(code == next, "README row %d out of order (want %d)", code, next);
        next++;
        ck_assert_msg(strcmp(kw_broker_err_name((int16_t)code), name) == 0, "%d: %s vs %s", code,
                      kw_broker_err_name((int16_t)code), name);
        ck_assert_msg(kw_broker_err_retriable((int16_t)code) == (r == 'Y'), "%d %s: R", code, name);
        ck_assert_msg(kw_broker_err_refresh_metadata((int16_t)code) == (m == 'Y'), "%d %s: M", code,
                      name);
        /* In Java every InvalidMetadataException is a RetriableException. */
        if (m == 'Y')
            ck_assert(r == 'Y');
        rows++;
    }
    fclose(f);
    ck_assert_int_eq(rows, 130); /* -1 .. 128 */
}
END_TEST

START_TEST(err_names_never_null)
{
#define CHECK_ERR(name, num, retriable, msg)                                                       \
    ck_assert_int_eq(KW_ERR_##name, num);                                                          \
    ck_assert_str_eq(kw_err_name(KW_ERR_##name), #name);                                           \
    ck_assert_str_eq(kw_err_str(KW_ERR_##name), msg);                                              \
    ck_assert_int_eq(kw_err_retriable(KW_ERR_##name), retriable);
    KW_ERR_LIST(CHECK_ERR)
#undef CHECK_ERR
    /* Pinned numbers that other code and users rely on. */
    ck_assert_int_eq(KW_ERR_OK, 0);
    ck_assert_int_eq(KW_ERR_TRUNCATED, 2);
    ck_assert_int_eq(KW_ERR_OVERLONG, 15);
    ck_assert_int_eq(KW_ERR_NOT_FOUND, 24);
    ck_assert_int_eq(KW_ERR_AUTH, 25);

    static const int out_of_range[] = {-1, 99, 1000, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof(out_of_range) / sizeof(out_of_range[0]); i++) {
        kw_err e = (kw_err)out_of_range[i];
        ck_assert_ptr_nonnull(kw_err_name(e));
        ck_assert_ptr_nonnull(kw_err_str(e));
        ck_assert_str_eq(kw_err_name(e), "UNKNOWN");
        ck_assert(!kw_err_retriable(e));
    }
    /* Every number from -16 to 1023 has a name and a message. */
    for (int i = -16; i < 1024; i++) {
        ck_assert_ptr_nonnull(kw_err_name((kw_err)i));
        ck_assert_ptr_nonnull(kw_err_str((kw_err)i));
    }
}
END_TEST

START_TEST(error_detail)
{
    kw_error e;
    memset(&e, 0x5a, sizeof(e));
    kw_error_init(&e);
    ck_assert_int_eq(e.code, KW_ERR_OK);
    ck_assert_int_eq(e.broker_code, 0);
    ck_assert(!e.retriable && !e.fatal);
    ck_assert_int_eq(e.offset, -1);
    ck_assert_str_eq(e.msg, "");

    ck_assert_int_eq(kw_error_set(&e, KW_ERR_TIMED_OUT, "after %d ms", 30000), KW_ERR_TIMED_OUT);
    ck_assert_int_eq(e.code, KW_ERR_TIMED_OUT);
    ck_assert(e.retriable);
    ck_assert_str_eq(e.msg, "after 30000 ms");

    ck_assert_int_eq(kw_error_set(&e, KW_ERR_MALFORMED, "%s", "x"), KW_ERR_MALFORMED);
    ck_assert(!e.retriable);

    /* A NULL detail is allowed: the code still comes back. */
    ck_assert_int_eq(kw_error_set(NULL, KW_ERR_NOMEM, "ignored"), KW_ERR_NOMEM);
}
END_TEST

START_TEST(error_detail_truncates)
{
    char big[1000];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    kw_error e;
    kw_error_init(&e);
    /* Bytes after msg must not be touched: put the detail inside a guarded struct. */
    struct {
        kw_error e;
        char canary[64];
    } g;
    memset(&g, 0, sizeof(g));
    memset(g.canary, 0x77, sizeof(g.canary));
    kw_error_init(&g.e);
    kw_error_set(&g.e, KW_ERR_IO, "%s%s", "head:", big);
    ck_assert_uint_eq(strlen(g.e.msg), sizeof(g.e.msg) - 1);
    ck_assert(strncmp(g.e.msg, "head:qqq", 8) == 0);
    ck_assert_int_eq(g.e.msg[sizeof(g.e.msg) - 1], '\0');
    for (size_t i = 0; i < sizeof(g.canary); i++)
        ck_assert_int_eq((unsigned char)g.canary[i], 0x77);

    /* Exactly full: 255 characters fit, the 256th does not. */
    kw_error_set(&e, KW_ERR_IO, "%.*s", 255, big);
    ck_assert_uint_eq(strlen(e.msg), 255);
    kw_error_set(&e, KW_ERR_IO, "%.*s", 256, big);
    ck_assert_uint_eq(strlen(e.msg), 255);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, broker_err_samples);
    tcase_add_test(tc, broker_err_unknown);
    tcase_add_test(tc, broker_err_matches_readme);
    tcase_add_test(tc, err_names_never_null);
    tcase_add_test(tc, error_detail);
    tcase_add_test(tc, error_detail_truncates);
    suite_add_tcase(s, tc);
    return s;
}
