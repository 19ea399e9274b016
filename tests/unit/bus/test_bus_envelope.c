/* The event envelope: UUIDs, ISO-8601 times as eventsource-py writes them, the record an event
 * becomes (key, value and every header, exactly), decoding with a precise error for every
 * kind of bad record, and the registry of event types. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_int.h"
#include "support/failalloc.h"

static kw_uuid
uuid_of(const char *s)
{
    kw_uuid u;
    ck_assert_int_eq(kw_uuid_parse(s, strlen(s), &u), KW_ERR_OK);
    return u;
}

START_TEST(uuid_v4_format_parse)
{
    kw_uuid a, b;
    kw_uuid_v4(&a);
    kw_uuid_v4(&b);
    ck_assert(memcmp(&a, &b, sizeof(a)) != 0);
    char s[KW_UUID_STR_SIZE];
    kw_uuid_format(&a, s);
    ck_assert_uint_eq(strlen(s), 36);
    ck_assert_int_eq(s[14], '4');                 /* version */
    ck_assert_ptr_nonnull(strchr("89ab", s[19])); /* variant */
    kw_uuid back;
    ck_assert_int_eq(kw_uuid_parse(s, 36, &back), KW_ERR_OK);
    ck_assert(memcmp(&a, &back, sizeof(a)) == 0);
    /* Every v4 over many draws has the version and variant bits. */
    for (int i = 0; i < 1000; i++) {
        kw_uuid_v4(&a);
        ck_assert_int_eq(a.b[6] >> 4, 4);
        ck_assert_int_eq(a.b[8] >> 6, 2);
    }
    kw_uuid u = uuid_of("0123ABCD-4567-89ef-aBcD-0123456789ab");
    ck_assert_str_eq(kw_uuid_format(&u, s), "0123abcd-4567-89ef-abcd-0123456789ab");
    ck_assert(!kw_uuid_is_nil(&u));
    u = uuid_of("00000000-0000-0000-0000-000000000000");
    ck_assert(kw_uuid_is_nil(&u));
    const char *bad[] = {"",
                         "0123abcd-4567-89ef-abcd-0123456789a",
                         "0123abcd-4567-89ef-abcd-0123456789abc",
                         "0123abcd_4567-89ef-abcd-0123456789ab",
                         "0123abcd-4567-89ef-abcd-0123456789ag",
                         "{123abcd-4567-89ef-abcd-0123456789a}",
                         "0123abcd45678-9ef-abcd-0123456789ab"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_int_eq(kw_uuid_parse(bad[i], strlen(bad[i]), &u), KW_ERR_MALFORMED);
}
END_TEST

START_TEST(time_format_like_python)
{
    char b[KW_BUS_TIME_STR_SIZE];
    /* datetime(2024, 1, 15, 10, 30, 0, 123456, tzinfo=UTC).isoformat() */
    int64_t t = 1705314600123456LL;
    ck_assert_uint_eq(kw_bus_time_format(t, KW_BUS_TIME_MICROS, b, sizeof(b)), 32);
    ck_assert_str_eq(b, "2024-01-15T10:30:00.123456+00:00");
    ck_assert_uint_eq(kw_bus_time_format(t, KW_BUS_TIME_MILLIS, b, sizeof(b)), 24);
    ck_assert_str_eq(b, "2024-01-15T10:30:00.123Z");
    /* Python leaves out a zero fraction. */
    kw_bus_time_format(1705314600000000LL, KW_BUS_TIME_MICROS, b, sizeof(b));
    ck_assert_str_eq(b, "2024-01-15T10:30:00+00:00");
    kw_bus_time_format(0, KW_BUS_TIME_MICROS, b, sizeof(b));
    ck_assert_str_eq(b, "1970-01-01T00:00:00+00:00");
    kw_bus_time_format(-1, KW_BUS_TIME_MICROS, b, sizeof(b));
    ck_assert_str_eq(b, "1969-12-31T23:59:59.999999+00:00");
    kw_bus_time_format(951782400000007LL, KW_BUS_TIME_MICROS, b, sizeof(b)); /* leap day */
    ck_assert_str_eq(b, "2000-02-29T00:00:00.000007+00:00");
    kw_bus_time_format(-62135596800000000LL, KW_BUS_TIME_MICROS, b, sizeof(b));
    ck_assert_str_eq(b, "0001-01-01T00:00:00+00:00");
    kw_bus_time_format(253402300799999999LL, KW_BUS_TIME_MICROS, b, sizeof(b));
    ck_assert_str_eq(b, "9999-12-31T23:59:59.999999+00:00");
    ck_assert_uint_eq(kw_bus_time_format(253402300800000000LL, KW_BUS_TIME_MICROS, b, sizeof(b)),
                      0);
    ck_assert_str_eq(b, "");
    ck_assert_uint_eq(kw_bus_time_format(-62135596800000001LL, KW_BUS_TIME_MICROS, b, sizeof(b)),
                      0);
    ck_assert_uint_eq(kw_bus_time_format(t, KW_BUS_TIME_MICROS, b, 32), 0); /* no room for NUL */
    /* Now is now. */
    int64_t now = kw_bus_time_now_us();
    ck_assert(now > 1700000000000000LL);
}
END_TEST

START_TEST(time_parse)
{
    int64_t us;
    const struct {
        const char *s;
        int64_t want;
    } ok[] = {
        {"2024-01-15T10:30:00.123456+00:00", 1705314600123456LL},
        {"2024-01-15T10:30:00+00:00", 1705314600000000LL},
        {"2024-01-15T10:30:00.123Z", 1705314600123000LL},
        {"2024-01-15t10:30:00z", 1705314600000000LL},
        {"2024-01-15 10:30:00.5Z", 1705314600500000LL},
        {"2024-01-15T12:30:00+02:00", 1705314600000000LL},
        {"2024-01-15T05:00:00-0530", 1705314600000000LL},
        {"2024-01-15T10:30:00.123456789Z", 1705314600123456LL}, /* nanoseconds truncated */
        {"2000-02-29T00:00:00,000007Z", 951782400000007LL},
        {"1969-12-31T23:59:59.999999Z", -1},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_msg(kw_bus_time_parse(ok[i].s, strlen(ok[i].s), &us) == KW_ERR_OK, "%s", ok[i].s);
        ck_assert_msg(us == ok[i].want, "%s: %lld", ok[i].s, (long long)us);
    }
    const char *bad[] = {
        "",
        "2024-01-15",
        "2024-01-15T10:30:00",             /* no offset: not an instant */
        "2024-01-15T10:30:00.Z",           /* empty fraction */
        "2024-13-15T10:30:00Z",            /* month */
        "2023-02-29T10:30:00Z",            /* not a leap year */
        "2024-01-15T24:00:00Z",            /* hour */
        "2024-01-15T10:60:00Z",            /* minute */
        "2024-01-15T10:30:60Z",            /* leap second */
        "2024-01-15T10:30:00+24:00",       /* offset */
        "2024-01-15T10:30:00Z ",           /* trailing */
        "2024-01-15T10:30:00.1234567891Z", /* ten digits */
        "0000-01-01T00:00:00Z",            /* year 0 */
        "0001-01-01T00:00:00+00:01",       /* before year 1 in UTC */
        "+2024-01-15T10:30:00Z",
        "2024-1-15T10:30:00Z",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(kw_bus_time_parse(bad[i], strlen(bad[i]), &us) == KW_ERR_MALFORMED, "%s",
                      bad[i]);
    /* Round trip over a spread of instants. */
    char b[KW_BUS_TIME_STR_SIZE];
    for (int64_t t = -62135596800000000LL; t < 253402300799999999LL; t += 7777777777777777LL) {
        size_t n = kw_bus_time_format(t, KW_BUS_TIME_MICROS, b, sizeof(b));
        ck_assert_uint_gt(n, 0);
        ck_assert_int_eq(kw_bus_time_parse(b, n, &us), KW_ERR_OK);
        ck_assert_int_eq(us, t);
    }
}
END_TEST

/* ---------------------------------------------------------------- encode / decode */

static void
sample_event(kw_bus_event *ev)
{
    kw_bus_event_init(ev);
    ev->event_id = uuid_of("11111111-1111-4111-8111-111111111111");
    ev->event_type = "OrderCreated";
    ev->aggregate_type = "Order";
    ev->aggregate_id = uuid_of("22222222-2222-4222-8222-222222222222");
    ev->aggregate_version = 7;
    ev->occurred_at_us = 1705314600123456LL;
    ev->correlation_id = uuid_of("33333333-3333-4333-8333-333333333333");
    ev->payload = kw_slice_str("{\"total\":42}");
}

static void
expect_header(const kw_header *h, const char *key, const char *value)
{
    ck_assert_msg(h->key.len == (int32_t)strlen(key) && memcmp(h->key.ptr, key, strlen(key)) == 0,
                  "key %.*s, want %s", (int)h->key.len, (const char *)h->key.ptr, key);
    ck_assert_msg(h->value.len == (int32_t)strlen(value) &&
                      memcmp(h->value.ptr, value, strlen(value)) == 0,
                  "%s = %.*s, want %s", key, (int)h->value.len, (const char *)h->value.ptr, value);
}

START_TEST(event_init_defaults)
{
    kw_bus_event ev;
    int64_t before = kw_bus_time_now_us();
    kw_bus_event_init(&ev);
    ck_assert(!kw_uuid_is_nil(&ev.event_id));
    ck_assert(!kw_uuid_is_nil(&ev.correlation_id));
    ck_assert(memcmp(&ev.event_id, &ev.correlation_id, sizeof(kw_uuid)) != 0);
    ck_assert(kw_uuid_is_nil(&ev.causation_id));
    ck_assert(kw_uuid_is_nil(&ev.aggregate_id));
    ck_assert_int_eq(ev.aggregate_version, 1);
    ck_assert(ev.occurred_at_us >= before && ev.occurred_at_us <= kw_bus_time_now_us());
    ck_assert_int_eq(ev.payload.len, 0);
}
END_TEST

START_TEST(encode_exact_record)
{
    kw_bus_event ev;
    sample_event(&ev);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_bus_record r;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_event_encode(&ev, NULL, NULL, &ar, &r, &err), KW_ERR_OK);
    ck_assert(kw_slice_eq(r.key, "22222222-2222-4222-8222-222222222222"));
    ck_assert(kw_slice_eq(r.value, "{\"total\":42}"));
    ck_assert_int_eq(r.n_headers, 8);
    expect_header(&r.headers[0], "event_id", "11111111-1111-4111-8111-111111111111");
    expect_header(&r.headers[1], "event_type", "OrderCreated");
    expect_header(&r.headers[2], "aggregate_id", "22222222-2222-4222-8222-222222222222");
    expect_header(&r.headers[3], "aggregate_type", "Order");
    expect_header(&r.headers[4], "aggregate_version", "7");
    expect_header(&r.headers[5], "occurred_at", "2024-01-15T10:30:00.123456+00:00");
    expect_header(&r.headers[6], "correlation_id", "33333333-3333-4333-8333-333333333333");
    expect_header(&r.headers[7], "content_type", "application/json");

    /* Optional headers in eventsource-py's order, then the trace context. */
    ev.causation_id = uuid_of("44444444-4444-4444-8444-444444444444");
    ev.tenant_id = uuid_of("55555555-5555-4555-8555-555555555555");
    ev.actor_id = "user:7";
    ev.content_type = "application/avro";
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    ck_assert_int_eq(kw_bus_event_encode(&ev, tp, "congo=t61rcWkgMzE", &ar, &r, &err), KW_ERR_OK);
    ck_assert_int_eq(r.n_headers, 13);
    expect_header(&r.headers[7], "content_type", "application/avro");
    expect_header(&r.headers[8], "tenant_id", "55555555-5555-4555-8555-555555555555");
    expect_header(&r.headers[9], "causation_id", "44444444-4444-4444-8444-444444444444");
    expect_header(&r.headers[10], "actor_id", "user:7");
    expect_header(&r.headers[11], "traceparent", tp);
    expect_header(&r.headers[12], "tracestate", "congo=t61rcWkgMzE");
    /* No tracestate header when it is empty. */
    ck_assert_int_eq(kw_bus_event_encode(&ev, tp, "", &ar, &r, &err), KW_ERR_OK);
    ck_assert_int_eq(r.n_headers, 12);
    kw_arena_fini(&ar);
}
END_TEST

START_TEST(encode_refuses_incomplete_events)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_bus_record r;
    kw_error err;
    kw_error_init(&err);
    const struct {
        int what;
        const char *msg;
    } cases[] = {
        {0, "event_type: required"},
        {1, "aggregate_type: required"},
        {2, "event_id: nil UUID"},
        {3, "aggregate_id: nil UUID"},
        {4, "correlation_id: nil UUID"},
        {5, "aggregate_version: -1 is negative"},
        {6, "payload: null"},
        {7, "occurred_at: outside years 1-9999"},
        {8, "event_type: required"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        kw_bus_event ev;
        sample_event(&ev);
        switch (cases[i].what) {
        case 0:
            ev.event_type = NULL;
            break;
        case 1:
            ev.aggregate_type = "";
            break;
        case 2:
            memset(&ev.event_id, 0, sizeof(kw_uuid));
            break;
        case 3:
            memset(&ev.aggregate_id, 0, sizeof(kw_uuid));
            break;
        case 4:
            memset(&ev.correlation_id, 0, sizeof(kw_uuid));
            break;
        case 5:
            ev.aggregate_version = -1;
            break;
        case 6:
            ev.payload = KW_SLICE_NULL;
            break;
        case 7:
            ev.occurred_at_us = INT64_MAX;
            break;
        case 8:
            ev.event_type = "";
            break;
        }
        ck_assert_int_eq(kw_bus_event_encode(&ev, NULL, NULL, &ar, &r, &err), KW_ERR_INVALID_ARG);
        ck_assert_str_eq(err.msg, cases[i].msg);
    }
    /* An arena that is full is out of memory, not a crash. */
    kw_arena small;
    kw_arena_init(&small, NULL, 64);
    kw_bus_event ev;
    sample_event(&ev);
    ck_assert_int_eq(kw_bus_event_encode(&ev, NULL, NULL, &small, &r, &err), KW_ERR_NOMEM);
    kw_arena_fini(&small);
    kw_arena_fini(&ar);
}
END_TEST

START_TEST(decode_round_trip)
{
    kw_bus_event ev, back;
    sample_event(&ev);
    ev.causation_id = uuid_of("44444444-4444-4444-8444-444444444444");
    ev.tenant_id = uuid_of("55555555-5555-4555-8555-555555555555");
    ev.actor_id = "user:7";
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_bus_record r;
    kw_error err;
    kw_error_init(&err);
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    ck_assert_int_eq(kw_bus_event_encode(&ev, tp, "a=b", &ar, &r, &err), KW_ERR_OK);
    kw_arena dec;
    kw_arena_init(&dec, NULL, 0);
    ck_assert_int_eq(kw_bus_event_decode(r.key, r.value, r.headers, r.n_headers, &dec, &back, &err),
                     KW_ERR_OK);
    ck_assert(memcmp(&back.event_id, &ev.event_id, sizeof(kw_uuid)) == 0);
    ck_assert(memcmp(&back.aggregate_id, &ev.aggregate_id, sizeof(kw_uuid)) == 0);
    ck_assert(memcmp(&back.correlation_id, &ev.correlation_id, sizeof(kw_uuid)) == 0);
    ck_assert(memcmp(&back.causation_id, &ev.causation_id, sizeof(kw_uuid)) == 0);
    ck_assert(memcmp(&back.tenant_id, &ev.tenant_id, sizeof(kw_uuid)) == 0);
    ck_assert_str_eq(back.event_type, "OrderCreated");
    ck_assert_str_eq(back.aggregate_type, "Order");
    ck_assert_int_eq(back.aggregate_version, 7);
    ck_assert_int_eq(back.occurred_at_us, 1705314600123456LL);
    ck_assert_str_eq(back.actor_id, "user:7");
    ck_assert_str_eq(back.content_type, "application/json");
    ck_assert_str_eq(back.traceparent, tp);
    ck_assert_str_eq(back.tracestate, "a=b");
    ck_assert(back.payload.ptr == r.value.ptr && back.payload.len == r.value.len);
    /* Without optional headers: nil ids, NULL strings, the JSON content type. */
    sample_event(&ev);
    ck_assert_int_eq(kw_bus_event_encode(&ev, NULL, NULL, &ar, &r, &err), KW_ERR_OK);
    ck_assert_int_eq(
        kw_bus_event_decode(r.key, r.value, r.headers, r.n_headers - 1, &dec, &back, &err),
        KW_ERR_OK); /* content_type dropped: defaults */
    ck_assert(kw_uuid_is_nil(&back.causation_id) && kw_uuid_is_nil(&back.tenant_id));
    ck_assert_ptr_null(back.actor_id);
    ck_assert_ptr_null(back.traceparent);
    ck_assert_str_eq(back.content_type, "application/json");
    kw_arena_fini(&dec);
    kw_arena_fini(&ar);
}
END_TEST

/* A record as eventsource-py writes it, then one header spoiled per case. */
typedef struct spoil {
    const char *key;   /* the header to change */
    const char *value; /* new value; NULL = remove the header; "\x01null" = null value */
    const char *msg;
} spoil;

static const spoil spoils[] = {
    {"event_type", NULL, "missing header event_type"},
    {"event_id", NULL, "missing header event_id"},
    {"occurred_at", NULL, "missing header occurred_at"},
    {"event_type", "", "header event_type is empty"},
    {"event_type", "\x01null", "header event_type is null"},
    {"event_id", "not-a-uuid", "header event_id is not a UUID: \"not-a-uuid\""},
    {"aggregate_id", "22222222-2222-4222-8222-22222222222",
     "header aggregate_id is not a UUID: \"22222222-2222-4222-8222-22222222222\""},
    {"correlation_id", "zz", "header correlation_id is not a UUID: \"zz\""},
    {"causation_id", "nope", "header causation_id is not a UUID: \"nope\""},
    {"aggregate_version", "x1", "header aggregate_version is not a non-negative integer: \"x1\""},
    {"aggregate_version", "-3", "header aggregate_version is not a non-negative integer: \"-3\""},
    {"aggregate_version", "99999999999999999999",
     "header aggregate_version is not a non-negative integer: \"99999999999999999999\""},
    {"aggregate_version", "+3", "header aggregate_version is not a non-negative integer: \"+3\""},
    {"occurred_at", "yesterday",
     "header occurred_at is not an ISO-8601 time with offset: \"yesterday\""},
    {"occurred_at", "2024-01-15T10:30:00",
     "header occurred_at is not an ISO-8601 time with offset: \"2024-01-15T10:30:00\""},
    {"event_type", "Order\xc3", "header event_type is not UTF-8 text"},
    {"aggregate_type", "Or\0der", "header aggregate_type is not UTF-8 text"},
    {"actor_id", "\xff", "header actor_id is not UTF-8 text"},
};

START_TEST(decode_errors_are_precise)
{
    const spoil *sp = &spoils[_i];
    kw_header h[16];
    int32_t n = 0;
    const char *base[][2] = {
        {"event_id", "11111111-1111-4111-8111-111111111111"},
        {"event_type", "OrderCreated"},
        {"aggregate_id", "22222222-2222-4222-8222-222222222222"},
        {"aggregate_type", "Order"},
        {"aggregate_version", "7"},
        {"occurred_at", "2024-01-15T10:30:00.123456+00:00"},
        {"correlation_id", "33333333-3333-4333-8333-333333333333"},
        {"causation_id", "44444444-4444-4444-8444-444444444444"},
        {"actor_id", "me"},
    };
    for (size_t i = 0; i < sizeof(base) / sizeof(base[0]); i++) {
        const char *v = base[i][1];
        size_t vl = strlen(v);
        if (strcmp(base[i][0], sp->key) == 0) {
            if (!sp->value)
                continue;
            v = sp->value;
            vl = strcmp(sp->key, "aggregate_type") == 0 && v[2] == '\0' ? 6 : strlen(v);
        }
        h[n].key = kw_slice_str(base[i][0]);
        h[n].value = (kw_slice){(const uint8_t *)v, (int32_t)vl};
        if (sp->value && strcmp(sp->value, "\x01null") == 0 && strcmp(base[i][0], sp->key) == 0)
            h[n].value = KW_SLICE_NULL;
        n++;
    }
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_bus_event ev;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(
        kw_bus_event_decode(kw_slice_str("k"), kw_slice_str("{}"), h, n, &ar, &ev, &err),
        KW_ERR_MALFORMED);
    ck_assert_str_eq(err.msg, sp->msg);
    ck_assert_ptr_null(ev.event_type); /* nothing half-decoded is left behind */
    kw_arena_fini(&ar);
}
END_TEST

START_TEST(decode_duplicates_and_null_value)
{
    kw_bus_event ev;
    sample_event(&ev);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_bus_record r;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_event_encode(&ev, NULL, NULL, &ar, &r, &err), KW_ERR_OK);
    kw_header h[16];
    memcpy(h, r.headers, (size_t)r.n_headers * sizeof(kw_header));
    h[r.n_headers] = h[1]; /* a second event_type */
    h[r.n_headers].value = kw_slice_str("Other");
    kw_bus_event out;
    ck_assert_int_eq(kw_bus_event_decode(r.key, r.value, h, r.n_headers + 1, &ar, &out, &err),
                     KW_ERR_MALFORMED);
    ck_assert_str_eq(err.msg, "header event_type appears twice");
    ck_assert_int_eq(
        kw_bus_event_decode(r.key, KW_SLICE_NULL, r.headers, r.n_headers, &ar, &out, &err),
        KW_ERR_MALFORMED);
    ck_assert_str_eq(err.msg, "the record value is null");
    ck_assert_int_eq(kw_bus_event_decode(r.key, r.value, NULL, 0, &ar, &out, &err),
                     KW_ERR_MALFORMED);
    ck_assert_str_eq(err.msg, "missing header event_id");
    ck_assert_int_eq(kw_bus_event_decode(r.key, r.value, r.headers, -1, &ar, &out, &err),
                     KW_ERR_INVALID_ARG);
    /* Unknown headers are ignored; err NULL is allowed. */
    h[r.n_headers] = (kw_header){kw_slice_str("x-extra"), KW_SLICE_NULL};
    ck_assert_int_eq(kw_bus_event_decode(r.key, r.value, h, r.n_headers + 1, &ar, &out, NULL),
                     KW_ERR_OK);
    /* A full arena is out of memory. */
    kw_arena small;
    kw_arena_init(&small, NULL, 16);
    ck_assert_int_eq(
        kw_bus_event_decode(r.key, r.value, r.headers, r.n_headers, &small, &out, &err),
        KW_ERR_NOMEM);
    kw_arena_fini(&small);
    kw_arena_fini(&ar);
}
END_TEST

/* Every header of a real record cut at every length and each byte flipped: decoding answers
 * OK or MALFORMED, reads nothing outside the values (ASan), and never half-fills the event. */
START_TEST(decode_survives_mutations)
{
    kw_bus_event ev;
    sample_event(&ev);
    ev.actor_id = "actor";
    ev.causation_id = uuid_of("44444444-4444-4444-8444-444444444444");
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_bus_record r;
    kw_error err;
    kw_error_init(&err);
    const char *tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    ck_assert_int_eq(kw_bus_event_encode(&ev, tp, "s=1", &ar, &r, &err), KW_ERR_OK);
    kw_arena dec;
    kw_arena_init(&dec, NULL, 0);
    long ok = 0, bad = 0;
    for (int32_t i = 0; i < r.n_headers; i++) {
        kw_header h[KW_BUS_EVENT_MAX_HEADERS];
        memcpy(h, r.headers, (size_t)r.n_headers * sizeof(kw_header));
        int32_t vlen = r.headers[i].value.len;
        for (int32_t cut = 0; cut <= vlen; cut++) {
            /* A private copy of exactly `cut` bytes, so any overread is caught. */
            uint8_t *v = malloc((size_t)cut + 1);
            memcpy(v, r.headers[i].value.ptr, (size_t)cut);
            for (int flip = -1; flip < cut; flip++) {
                if (flip >= 0)
                    v[flip] ^= 0x80;
                h[i].value = (kw_slice){v, cut};
                kw_bus_event out;
                kw_err e = kw_bus_event_decode(r.key, r.value, h, r.n_headers, &dec, &out, &err);
                ck_assert_msg(e == KW_ERR_OK || e == KW_ERR_MALFORMED, "%d", (int)e);
                if (e == KW_ERR_OK) {
                    ok++;
                } else {
                    bad++;
                    ck_assert_ptr_null(out.event_type);
                }
                if (flip >= 0)
                    v[flip] ^= 0x80;
                kw_arena_reset(&dec);
            }
            free(v);
        }
    }
    ck_assert_int_gt(ok, 0);
    ck_assert_int_gt(bad, 0);
    kw_arena_fini(&dec);
    kw_arena_fini(&ar);
}
END_TEST

/* ---------------------------------------------------------------- registry */

static int
needs_total(const kw_bus_event *ev, kw_bus_failure *why, void *ud)
{
    (*(int *)ud)++;
    if (ev->payload.len > 0 && memmem(ev->payload.ptr, (size_t)ev->payload.len, "total", 5))
        return 0;
    kw_bus_failure_set(why, "SchemaError", "payload of %s has no total", ev->event_type);
    return 1;
}

static int
silent_refusal(const kw_bus_event *ev, kw_bus_failure *why, void *ud)
{
    (void)ev;
    (void)why;
    (void)ud;
    return -1;
}

START_TEST(registry_detects_unknown_types)
{
    kwi_bus_registry r;
    kwi_bus_registry_init(&r, NULL);
    kw_error err;
    kw_error_init(&err);
    int calls = 0;
    ck_assert_int_eq(kwi_bus_registry_add(&r, "OrderCreated", needs_total, &calls, &err),
                     KW_ERR_OK);
    ck_assert_int_eq(kwi_bus_registry_add(&r, "OrderShipped", NULL, NULL, &err), KW_ERR_OK);
    /* Many names, inserted out of order, all found. */
    char name[32];
    for (int i = 99; i >= 0; i--) {
        snprintf(name, sizeof(name), "Type%02d", i);
        ck_assert_int_eq(kwi_bus_registry_add(&r, name, NULL, NULL, &err), KW_ERR_OK);
    }
    ck_assert_uint_eq(r.n, 102);
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "Type%02d", i);
        kwi_bus_type *t = kwi_bus_registry_find(&r, name, strlen(name));
        ck_assert_ptr_nonnull(t);
        ck_assert_str_eq(t->name, name);
    }
    for (size_t i = 1; i < r.n; i++)
        ck_assert_int_lt(strcmp(r.types[i - 1].name, r.types[i].name), 0);
    ck_assert_ptr_null(kwi_bus_registry_find(&r, "Type", 4));
    ck_assert_ptr_null(kwi_bus_registry_find(&r, "OrderCreatedX", 13));
    ck_assert_ptr_nonnull(kwi_bus_registry_find(&r, "OrderCreatedX", 12));

    kw_bus_event ev;
    sample_event(&ev);
    kw_bus_failure why;
    ck_assert_int_eq(kwi_bus_registry_check(&r, &ev, &why), KW_ERR_OK);
    ck_assert_int_eq(calls, 1);
    ev.payload = kw_slice_str("{}");
    ck_assert_int_eq(kwi_bus_registry_check(&r, &ev, &why), KW_ERR_MALFORMED);
    ck_assert_str_eq(why.type, "SchemaError");
    ck_assert_str_eq(why.message, "payload of OrderCreated has no total");
    ev.event_type = "OrderShipped";
    ck_assert_int_eq(kwi_bus_registry_check(&r, &ev, &why), KW_ERR_OK);
    ev.event_type = "OrderCancelled";
    ck_assert_int_eq(kwi_bus_registry_check(&r, &ev, &why), KW_ERR_NOT_FOUND);
    ck_assert_str_eq(why.type, "UnknownEventType");
    ck_assert_str_eq(why.message, "Unknown event type: OrderCancelled");

    /* A validator that refuses without a word still explains itself. */
    ck_assert_int_eq(kwi_bus_registry_add(&r, "OrderShipped", silent_refusal, NULL, &err),
                     KW_ERR_OK);
    ev.event_type = "OrderShipped";
    ck_assert_int_eq(kwi_bus_registry_check(&r, &ev, &why), KW_ERR_MALFORMED);
    ck_assert_str_eq(why.type, "ValidationError");
    ck_assert_str_eq(why.message, "the validator of OrderShipped refused the event");
    /* ensure keeps an existing validator; its slot belongs to the runtime. */
    kwi_bus_type *t;
    ck_assert_int_eq(kwi_bus_registry_ensure(&r, "OrderShipped", &t, &err), KW_ERR_OK);
    ck_assert(t->validate == silent_refusal);
    t->slot = &calls;
    ck_assert_int_eq(kwi_bus_registry_add(&r, "OrderShipped", NULL, NULL, &err), KW_ERR_OK);
    ck_assert_ptr_eq(kwi_bus_registry_find(&r, "OrderShipped", 12)->slot, &calls);

    ck_assert_int_eq(kwi_bus_registry_add(&r, "", NULL, NULL, &err), KW_ERR_INVALID_ARG);
    ck_assert_str_eq(err.msg, "event type: empty");
    ck_assert_int_eq(kwi_bus_registry_add(&r, "\xc3(", NULL, NULL, &err), KW_ERR_INVALID_ARG);
    kwi_bus_registry_fini(&r);
    kwi_bus_registry_fini(&r); /* twice is harmless */
}
END_TEST

/* Each allocation failing in turn: the registry reports NOMEM, keeps what it had, leaks
 * nothing, and every name registered before the failure is still found. */
START_TEST(registry_out_of_memory)
{
    for (long k = 0; k < 40; k++) {
        failing f = {.left = k};
        kw_allocator a = kwt_failing_allocator(&f);
        kwi_bus_registry r;
        kwi_bus_registry_init(&r, &a);
        kw_error err;
        kw_error_init(&err);
        int added = 0;
        char name[16];
        for (int i = 0; i < 20; i++) {
            snprintf(name, sizeof(name), "T%02d", 19 - i);
            kw_err e = kwi_bus_registry_add(&r, name, NULL, NULL, &err);
            if (e != KW_ERR_OK) {
                ck_assert_int_eq(e, KW_ERR_NOMEM);
                break;
            }
            added++;
        }
        ck_assert_uint_eq(r.n, (size_t)added);
        for (int i = 0; i < added; i++) {
            snprintf(name, sizeof(name), "T%02d", 19 - i);
            ck_assert_ptr_nonnull(kwi_bus_registry_find(&r, name, strlen(name)));
        }
        kwi_bus_registry_fini(&r);
        ck_assert_int_eq(f.live, 0);
        ck_assert(!f.size_mismatch);
    }
}
END_TEST

START_TEST(failure_set_cuts_on_characters)
{
    kw_bus_failure f;
    kw_bus_failure_set(&f, "ValueError", "bad %d", 42);
    ck_assert_str_eq(f.type, "ValueError");
    ck_assert_str_eq(f.message, "bad 42");
    kw_bus_failure_set(&f, NULL, NULL);
    ck_assert_str_eq(f.type, "");
    ck_assert_str_eq(f.message, "");
    /* A message longer than the buffer ends on a whole character: 4095 bytes fit, the
     * 3-byte euro signs start at byte 1, so the last complete one ends at byte 4093. */
    char big[6000];
    big[0] = 'x';
    size_t n = 1;
    while (n + 3 < sizeof(big) - 1) {
        memcpy(big + n, "\xe2\x82\xac", 3);
        n += 3;
    }
    big[n] = '\0';
    kw_bus_failure_set(&f, "E", "%s", big);
    ck_assert_uint_eq(strlen(f.message), 4093);
    ck_assert(kwi_bus_utf8_valid(f.message, strlen(f.message)));
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("bus_envelope");
    TCase *t = tcase_create("envelope");
    tcase_add_test(t, uuid_v4_format_parse);
    tcase_add_test(t, time_format_like_python);
    tcase_add_test(t, time_parse);
    tcase_add_test(t, event_init_defaults);
    tcase_add_test(t, encode_exact_record);
    tcase_add_test(t, encode_refuses_incomplete_events);
    tcase_add_test(t, decode_round_trip);
    tcase_add_loop_test(t, decode_errors_are_precise, 0, (int)(sizeof(spoils) / sizeof(spoils[0])));
    tcase_add_test(t, decode_duplicates_and_null_value);
    tcase_add_test(t, decode_survives_mutations);
    tcase_add_test(t, registry_detects_unknown_types);
    tcase_add_test(t, registry_out_of_memory);
    tcase_add_test(t, failure_set_cuts_on_characters);
    suite_add_tcase(s, t);
    return s;
}
