/* Retries and the dead-letter queue: backoff delays and their jitter under a seeded generator,
 * the republish-mode headers, UTF-8-safe clipping of error messages, every dlq_* header, and
 * the replay headers with their guard. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_int.h"

static kwi_bus_retry
policy(double base, double max, double jitter, int32_t retries)
{
    kwi_bus_retry p = {base, max, jitter, retries};
    return p;
}

START_TEST(retry_delay_without_jitter)
{
    kwi_bus_retry p = policy(1.0, 60.0, 0.0, 3);
    kwi_bus_rng rng;
    kwi_bus_rng_seed(&rng, 1);
    const int64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000};
    for (int n = 0; n < 8; n++)
        ck_assert_int_eq(kwi_bus_retry_delay_ms(&p, n, &rng), want[n]);
    /* Huge counts do not overflow; negative counts mean the first retry. */
    ck_assert_int_eq(kwi_bus_retry_delay_ms(&p, INT32_MAX, &rng), 60000);
    ck_assert_int_eq(kwi_bus_retry_delay_ms(&p, -5, &rng), 1000);
    p = policy(0.25, 1.0, 0.0, 3);
    ck_assert_int_eq(kwi_bus_retry_delay_ms(&p, 0, NULL), 250);
    ck_assert_int_eq(kwi_bus_retry_delay_ms(&p, 1, NULL), 500);
    ck_assert_int_eq(kwi_bus_retry_delay_ms(&p, 2, NULL), 1000);
    ck_assert_int_eq(kwi_bus_retry_delay_ms(&p, 3, NULL), 1000);
    /* max_retries: n retries so far, another one while n < max. */
    ck_assert(kwi_bus_retry_again(&p, 0));
    ck_assert(kwi_bus_retry_again(&p, 2));
    ck_assert(!kwi_bus_retry_again(&p, 3));
    p.max_retries = 0;
    ck_assert(!kwi_bus_retry_again(&p, 0));
    kw_bus_config c;
    kw_bus_config_init(&c);
    kwi_bus_retry_init(&p, &c);
    ck_assert(p.base_s == 1.0 && p.max_s == 60.0 && p.jitter == 0.1 && p.max_retries == 3);
}
END_TEST

START_TEST(retry_jitter_bounds_and_distribution)
{
    /* 0.1 jitter on 4 s: every delay in [3600, 4400] ms, spread evenly. */
    kwi_bus_retry p = policy(1.0, 60.0, 0.1, 3);
    kwi_bus_rng rng;
    kwi_bus_rng_seed(&rng, 42);
    enum { N = 100000, BINS = 10 };
    long bins[BINS] = {0};
    double sum = 0;
    int64_t lo = INT64_MAX, hi = 0;
    for (int i = 0; i < N; i++) {
        int64_t d = kwi_bus_retry_delay_ms(&p, 2, &rng);
        ck_assert_int_ge(d, 3600);
        ck_assert_int_le(d, 4400);
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
        sum += (double)d;
        int b = (int)((d - 3600) * BINS / 801);
        bins[b]++;
    }
    /* Both ends are reached, the mean is the undisturbed delay, and each tenth of the range
     * holds a tenth of the draws (binomial sd ~ 95: 5% tolerance is > 5 sd). */
    ck_assert_int_le(lo, 3602);
    ck_assert_int_ge(hi, 4398);
    ck_assert(fabs(sum / N - 4000.0) < 5.0);
    for (int b = 0; b < BINS; b++)
        ck_assert_msg(labs(bins[b] - N / BINS) < N / BINS / 20, "bin %d: %ld", b, bins[b]);
    /* The same seed gives the same delays. */
    kwi_bus_rng a, b2;
    kwi_bus_rng_seed(&a, 7);
    kwi_bus_rng_seed(&b2, 7);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(kwi_bus_retry_delay_ms(&p, i % 8, &a),
                         kwi_bus_retry_delay_ms(&p, i % 8, &b2));
    /* The cap applies before the jitter, as eventsource-py's RetryPolicy: up to max * 1.1. */
    for (int i = 0; i < 1000; i++) {
        int64_t d = kwi_bus_retry_delay_ms(&p, 10, &rng);
        ck_assert(d >= 54000 && d <= 66000);
    }
    /* Full jitter never goes negative. */
    p = policy(1.0, 1.0, 1.0, 3);
    for (int i = 0; i < 1000; i++) {
        int64_t d = kwi_bus_retry_delay_ms(&p, 0, &rng);
        ck_assert(d >= 0 && d <= 2000);
    }
}
END_TEST

START_TEST(rng_is_xoshiro256ss)
{
    /* Reference values: xoshiro256** from state {1, 2, 3, 4}. */
    kwi_bus_rng r = {{1, 2, 3, 4}};
    ck_assert_uint_eq(kwi_bus_rng_next(&r), 11520u);
    ck_assert_uint_eq(kwi_bus_rng_next(&r), 0u);
    ck_assert_uint_eq(kwi_bus_rng_next(&r), 1509978240u);
    ck_assert_uint_eq(kwi_bus_rng_next(&r), 1215971899390074240u);
    kwi_bus_rng s;
    kwi_bus_rng_seed_random(&s);
    double u = kwi_bus_rng_unit(&s);
    ck_assert(u >= 0.0 && u < 1.0);
}
END_TEST

static void
expect_header(const kw_header *h, const char *key, const char *value)
{
    ck_assert_msg(kw_slice_eq(h->key, key), "key %.*s, want %s", (int)h->key.len,
                  (const char *)h->key.ptr, key);
    ck_assert_msg(h->value.len == (int32_t)strlen(value) &&
                      memcmp(h->value.ptr, value, strlen(value)) == 0,
                  "%s = %.*s, want %s", key, (int)h->value.len, (const char *)h->value.ptr, value);
}

START_TEST(republish_headers)
{
    kw_header in[] = {
        {kw_slice_str("event_type"), kw_slice_str("OrderCreated")},
        {kw_slice_str("retry_count"), kw_slice_str("1")},
        {kw_slice_str("retry_after"), kw_slice_str("1.5")},
        {kw_slice_str("correlation_id"), kw_slice_str("c")},
    };
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_header *out;
    int32_t n;
    ck_assert_int_eq(kwi_bus_retry_headers(in, 4, 2, 1705314600123456LL, &ar, &out, &n), KW_ERR_OK);
    ck_assert_int_eq(n, 4);
    expect_header(&out[0], "event_type", "OrderCreated");
    expect_header(&out[1], "correlation_id", "c");
    expect_header(&out[2], "retry_count", "2");
    expect_header(&out[3], "retry_after", "1705314600.123456");
    ck_assert_int_eq(kwi_bus_retry_count(out, n), 2);
    int64_t at;
    ck_assert(kwi_bus_retry_after(out, n, &at));
    ck_assert_int_eq(at, 1705314600123456LL);
    /* What eventsource-py writes (str of a float) reads back; junk is ignored. */
    kw_header py[] = {{kw_slice_str("retry_after"), kw_slice_str("1705314600.5")},
                      {kw_slice_str("retry_count"), kw_slice_str("x")}};
    ck_assert(kwi_bus_retry_after(py, 2, &at));
    ck_assert_int_eq(at, 1705314600500000LL);
    ck_assert_int_eq(kwi_bus_retry_count(py, 2), 0);
    ck_assert_int_eq(kwi_bus_retry_count(py, 0), 0);
    const char *bad[] = {"", "nan", "1e9", "-5", "1.2.3", "12345678901234"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        py[0].value = kw_slice_str(bad[i]);
        ck_assert_msg(!kwi_bus_retry_after(py, 1, &at), "%s", bad[i]);
    }
    kw_arena_fini(&ar);
}
END_TEST

START_TEST(utf8_checks)
{
    ck_assert(kwi_bus_utf8_valid("", 0));
    ck_assert(kwi_bus_utf8_valid("h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80", 15));
    const char *bad[] = {"\xc0\xaf",         "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                         "\xf5\x80\x80\x80", "\x80",         "\xc3",         "\xe2\x82"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(!kwi_bus_utf8_valid(bad[i], strlen(bad[i])), "case %zu", i);
    /* prefix: never inside a character; a cut-off last character is dropped. */
    const char *s = "a\xe2\x82\xac"
                    "b";
    ck_assert_uint_eq(kwi_bus_utf8_prefix(s, 5, 3), 1);
    ck_assert_uint_eq(kwi_bus_utf8_prefix(s, 5, 4), 4);
    ck_assert_uint_eq(kwi_bus_utf8_prefix(s, 5, 100), 5);
    ck_assert_uint_eq(kwi_bus_utf8_prefix("ab\xe2\x82", 4, 100), 2);
    ck_assert_uint_eq(kwi_bus_utf8_prefix("ab\xf0\x9f\x98", 5, 100), 2);
    ck_assert_uint_eq(kwi_bus_utf8_prefix("ab\xe0", 3, 100), 2);
    ck_assert_uint_eq(kwi_bus_utf8_prefix("ab\xff", 3, 100), 3); /* stray: kept */
    ck_assert_uint_eq(kwi_bus_utf8_prefix("ab\xc0", 3, 100), 3); /* never valid: kept */
}
END_TEST

START_TEST(utf8_clip_counts_characters)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    size_t len;
    /* 1200 two-byte characters: 1000 kept, 2000 bytes. */
    char in[2400];
    for (int i = 0; i < 1200; i++)
        memcpy(in + 2 * i, "\xc3\xa9", 2);
    char *out = kwi_bus_utf8_clip(in, sizeof(in), 1000, &ar, &len);
    ck_assert_ptr_nonnull(out);
    ck_assert_uint_eq(len, 2000);
    ck_assert_uint_eq(strlen(out), 2000);
    ck_assert(memcmp(out, in, 2000) == 0);
    /* Four-byte characters. */
    char emoji[4 * 1001];
    for (int i = 0; i < 1001; i++)
        memcpy(emoji + 4 * i, "\xf0\x9f\x98\x80", 4);
    out = kwi_bus_utf8_clip(emoji, sizeof(emoji), 1000, &ar, &len);
    ck_assert_uint_eq(len, 4000);
    /* Invalid bytes become U+FFFD, one character each; short text is kept whole. */
    out = kwi_bus_utf8_clip("a\xffz\xe2\x82", 5, 1000, &ar, &len);
    ck_assert_str_eq(out, "a\xef\xbf\xbdz\xef\xbf\xbd\xef\xbf\xbd");
    ck_assert(kwi_bus_utf8_valid(out, len));
    out = kwi_bus_utf8_clip("abc", 3, 2, &ar, &len);
    ck_assert_str_eq(out, "ab");
    out = kwi_bus_utf8_clip("", 0, 2, &ar, &len);
    ck_assert_str_eq(out, "");
    ck_assert_uint_eq(len, 0);
    kw_arena small;
    kw_arena_init(&small, NULL, 8);
    ck_assert_ptr_null(kwi_bus_utf8_clip(in, sizeof(in), 1000, &small, &len));
    kw_arena_fini(&small);
    kw_arena_fini(&ar);
}
END_TEST

static const kw_header original[] = {
    {{(const uint8_t *)"event_id", 8}, {(const uint8_t *)"e1", 2}},
    {{(const uint8_t *)"event_type", 10}, {(const uint8_t *)"OrderCreated", 12}},
    {{(const uint8_t *)"dlq_reason", 10}, {(const uint8_t *)"old", 3}},
    {{(const uint8_t *)"dlq_replay_count", 16}, {(const uint8_t *)"2", 1}},
    {{(const uint8_t *)"retry_count", 11}, {(const uint8_t *)"3", 1}},
    {{(const uint8_t *)"traceparent", 11}, {NULL, -1}},
};

START_TEST(dlq_headers_exact)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kwi_bus_dlq_info info = {
        .reason = KWI_BUS_DLQ_MAX_RETRIES,
        .error_type = "ValueError",
        .error_message = "boom",
        .error_message_len = 4,
        .retry_count = 3,
        .timestamp_us = 1705314600123456LL,
        .original_topic = "events.stream",
        .original_partition = 2,
        .original_offset = 12345678901LL,
        .consumer_group = "billing",
    };
    kw_header *h;
    int32_t n;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kwi_bus_dlq_headers(original, 6, &info, &ar, &h, &n, &err), KW_ERR_OK);
    ck_assert_int_eq(n, 5 + 9);
    expect_header(&h[0], "event_id", "e1");
    expect_header(&h[1], "event_type", "OrderCreated");
    expect_header(&h[2], "dlq_replay_count", "2"); /* kept: the replay guard needs it */
    expect_header(&h[3], "retry_count", "3");
    ck_assert(kw_slice_eq(h[4].key, "traceparent") && h[4].value.len == -1);
    expect_header(&h[5], "dlq_reason", "max_retries_exceeded");
    expect_header(&h[6], "dlq_error_type", "ValueError");
    expect_header(&h[7], "dlq_error_message", "boom");
    expect_header(&h[8], "dlq_retry_count", "3");
    expect_header(&h[9], "dlq_timestamp", "2024-01-15T10:30:00.123456+00:00");
    expect_header(&h[10], "dlq_original_topic", "events.stream");
    expect_header(&h[11], "dlq_original_partition", "2");
    expect_header(&h[12], "dlq_original_offset", "12345678901");
    expect_header(&h[13], "dlq_consumer_group", "billing");

    /* Other reasons; no error type means HandlerError; a 1500-character message keeps 1000
     * characters and never splits one. */
    char msg[3000];
    for (int i = 0; i < 1500; i++)
        memcpy(msg + 2 * i, "\xd0\x96", 2); /* Cyrillic Zhe */
    info.reason = KWI_BUS_DLQ_DESERIALIZATION;
    info.error_type = NULL;
    info.error_message = msg;
    info.error_message_len = sizeof(msg);
    ck_assert_int_eq(kwi_bus_dlq_headers(NULL, 0, &info, &ar, &h, &n, &err), KW_ERR_OK);
    ck_assert_int_eq(n, 9);
    expect_header(&h[0], "dlq_reason", "deserialization_error");
    expect_header(&h[1], "dlq_error_type", "HandlerError");
    ck_assert_int_eq(h[2].value.len, 2000);
    ck_assert(memcmp(h[2].value.ptr, msg, 2000) == 0);
    info.reason = KWI_BUS_DLQ_REPUBLISH_FAILED;
    info.error_message = NULL;
    ck_assert_int_eq(kwi_bus_dlq_headers(NULL, 0, &info, &ar, &h, &n, &err), KW_ERR_OK);
    expect_header(&h[0], "dlq_reason", "republish_failed");
    expect_header(&h[2], "dlq_error_message", "");
    ck_assert_str_eq(kwi_bus_dlq_reason_name((kwi_bus_dlq_reason)9), "unknown");
    info.timestamp_us = INT64_MAX;
    ck_assert_int_eq(kwi_bus_dlq_headers(NULL, 0, &info, &ar, &h, &n, &err), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kwi_bus_dlq_headers(NULL, -1, &info, &ar, &h, &n, &err), KW_ERR_INVALID_ARG);
    kw_arena small;
    kw_arena_init(&small, NULL, 256);
    info.timestamp_us = 0;
    ck_assert_int_eq(kwi_bus_dlq_headers(original, 6, &info, &small, &h, &n, &err), KW_ERR_NOMEM);
    kw_arena_fini(&small);
    kw_arena_fini(&ar);
}
END_TEST

START_TEST(replay_headers_and_guard)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_header *h;
    int32_t n, count;
    kw_error err;
    kw_error_init(&err);
    /* A DLQ record replayed twice before: a third replay is allowed with max 3. */
    kw_header dlq[] = {
        {kw_slice_str("event_id"), kw_slice_str("e1")},
        {kw_slice_str("dlq_reason"), kw_slice_str("max_retries_exceeded")},
        {kw_slice_str("dlq_error_message"), kw_slice_str("boom")},
        {kw_slice_str("retry_after"), kw_slice_str("17.5")},
        {kw_slice_str("event_type"), kw_slice_str("OrderCreated")},
        {kw_slice_str("dlq_replay_count"), kw_slice_str("2")},
    };
    ck_assert_int_eq(kwi_bus_dlq_replay_count(dlq, 6, &count), KW_ERR_OK);
    ck_assert_int_eq(count, 2);
    ck_assert_int_eq(kwi_bus_dlq_replay_headers(dlq, 6, 3, false, &ar, &h, &n, &count, &err),
                     KW_ERR_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(count, 3);
    expect_header(&h[0], "event_id", "e1");
    expect_header(&h[1], "event_type", "OrderCreated");
    expect_header(&h[2], "dlq_replay_count", "3");
    /* The replayed record reaches the DLQ again: its count survives; then the guard holds. */
    kwi_bus_dlq_info info = {.reason = KWI_BUS_DLQ_MAX_RETRIES, .timestamp_us = 1};
    kw_header *again;
    int32_t na;
    ck_assert_int_eq(kwi_bus_dlq_headers(h, n, &info, &ar, &again, &na, &err), KW_ERR_OK);
    ck_assert_int_eq(kwi_bus_dlq_replay_headers(again, na, 3, false, &ar, &h, &n, &count, &err),
                     KW_ERR_STATE);
    ck_assert_str_eq(err.msg, "the message has been replayed 3 times, the maximum is 3 (use force "
                              "to override)");
    ck_assert_int_eq(kwi_bus_dlq_replay_headers(again, na, 3, true, &ar, &h, &n, &count, &err),
                     KW_ERR_OK);
    ck_assert_int_eq(count, 4);
    expect_header(&h[n - 1], "dlq_replay_count", "4");
    for (int32_t i = 0; i < n - 1; i++)
        ck_assert(!(h[i].key.len >= 4 && memcmp(h[i].key.ptr, "dlq_", 4) == 0));
    /* Never replayed: count 1. Max 0 refuses even the first replay. */
    ck_assert_int_eq(kwi_bus_dlq_replay_headers(dlq, 1, 3, false, &ar, &h, &n, &count, &err),
                     KW_ERR_OK);
    ck_assert_int_eq(n, 2);
    expect_header(&h[1], "dlq_replay_count", "1");
    ck_assert_int_eq(kwi_bus_dlq_replay_headers(dlq, 1, 0, false, &ar, &h, &n, &count, &err),
                     KW_ERR_STATE);
    /* An unreadable count is refused unless forced (then it counts as 0). */
    dlq[5].value = kw_slice_str("two");
    ck_assert_int_eq(kwi_bus_dlq_replay_count(dlq, 6, &count), KW_ERR_MALFORMED);
    ck_assert_int_eq(kwi_bus_dlq_replay_headers(dlq, 6, 3, false, &ar, &h, &n, &count, &err),
                     KW_ERR_MALFORMED);
    ck_assert_str_eq(err.msg,
                     "dlq_replay_count is not a non-negative integer; use force to replay anyway");
    ck_assert_int_eq(kwi_bus_dlq_replay_headers(dlq, 6, 3, true, &ar, &h, &n, &count, &err),
                     KW_ERR_OK);
    ck_assert_int_eq(count, 1);
    dlq[5].value = kw_slice_str("-1");
    ck_assert_int_eq(kwi_bus_dlq_replay_count(dlq, 6, &count), KW_ERR_MALFORMED);
    dlq[5].value = kw_slice_str("2147483648");
    ck_assert_int_eq(kwi_bus_dlq_replay_count(dlq, 6, &count), KW_ERR_MALFORMED);
    dlq[5].value = kw_slice_str("2147483647");
    ck_assert_int_eq(kwi_bus_dlq_replay_headers(dlq, 6, 3, true, &ar, &h, &n, &count, &err),
                     KW_ERR_STATE);
    kw_arena_fini(&ar);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("bus_retry_dlq");
    TCase *t = tcase_create("retry_dlq");
    tcase_add_test(t, retry_delay_without_jitter);
    tcase_add_test(t, retry_jitter_bounds_and_distribution);
    tcase_add_test(t, rng_is_xoshiro256ss);
    tcase_add_test(t, republish_headers);
    tcase_add_test(t, utf8_checks);
    tcase_add_test(t, utf8_clip_counts_characters);
    tcase_add_test(t, dlq_headers_exact);
    tcase_add_test(t, replay_headers_and_guard);
    suite_add_tcase(s, t);
    return s;
}
