/* A Fetch the broker would park must not hold back partitions that have data.
 *
 * Partitions with two chunks waiting for poll are left out of the next Fetch. If what is left
 * is only partitions already at their high watermark, the broker holds that request for
 * fetch.max.wait.ms, and since a broker gets one Fetch at a time the held-back partitions
 * cannot be fetched either once the application drained them: consumption stops for the whole
 * wait. The fetcher defers such a request until the held-back partitions can go with it. */
#include <check.h>
#include <stdint.h>

#include "cons_util.h"
#include "../../support/mockfix.h"

static kw_mock *mock;

static void
setup(void)
{
    kwt_fx_mock_opts o;
    kwt_fx_mock_opts_init(&o); /* one broker */
    mock = kwt_fx_mock(&o);
}

static void
teardown(void)
{
    kw_mock_free(mock);
    mock = NULL;
}

START_TEST(test_caught_up_fetch_does_not_park_the_rest)
{
    enum { BUSY = 40 };
    ck_assert_int_eq(kw_mock_topic_create(mock, "w", 2, 1, NULL), KW_ERR_OK);
    kwt_append(mock, "w", 0, 0, 1, 1000);    /* partition 0: caught up after one fetch */
    kwt_append(mock, "w", 1, 0, BUSY, 1000); /* partition 1: one batch per record */
    /* One batch per partition per response, and a wait no test run could mistake. */
    const char *extra[] = {"fetch.max.wait.ms=30000", "max.partition.fetch.bytes=1",
                           "request.timeout.ms=60000", NULL};
    kw_client *c = kwt_prod_client(kw_mock_bootstrap(mock), extra);
    kw_consumer *k = kwt_consumer(c);
    kwt_assign_all(k, "w", 2, KW_OFFSET_BEGINNING);
    /* Without polling, let partition 1 queue two chunks (and partition 0 its record). */
    kw_consumer_stats st;
    int64_t until = kwt_fx_now_ms() + KWT_CONS_DEADLINE_MS;
    do {
        kw_error err;
        ck_assert_int_eq(kw_client_step(c, 20, &err), KW_ERR_OK);
        kw_consumer_stats_get(k, &st);
    } while (st.buffered_msgs < 3 && kwt_fx_now_ms() < until);
    ck_assert_uint_ge(st.buffered_msgs, 3);
    /* Now drain: every record of partition 1 comes long before a parked Fetch would return. */
    int64_t t0 = kwt_fx_now_ms();
    kwt_got g;
    kwt_got_init(&g);
    ck_assert_uint_eq(kwt_poll_until(k, &g, BUSY + 1, 16, KWT_CONS_DEADLINE_MS), BUSY + 1);
    int64_t took = kwt_fx_now_ms() - t0;
    ck_assert_msg(took < 25000, "consumption stopped for %lld ms behind a parked Fetch",
                  (long long)took);
    kwt_check_stored(mock, &g, "w", 0, 0, 1);
    kwt_check_stored(mock, &g, "w", 1, 0, BUSY);
    kwt_got_fini(&g);
    kw_consumer_free(k);
    kw_client_free(c);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("consumer_park");
    TCase *tc = tcase_create("park");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_caught_up_fetch_does_not_park_the_rest);
    suite_add_tcase(s, tc);
    return s;
}
