/* The consumer embedded protocol (ConsumerProtocolSubscription / ConsumerProtocolAssignment)
 * behind its int16 version prefix: exact round trips for v0-3, and the leniency Java's
 * ConsumerProtocol has: newer versions decode as v3, and data that stops before a trailing
 * field of v1+ leaves that field at its default (@platformatic/kafka 1.35 sends version 1 with
 * only the v0 fields). A field cut in the middle is still an error. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/proto.h"

/* Decodes `len` bytes into *out with the lenient helper; returns the error. */
static kw_err
decode(const kw_msgdef *d, const uint8_t *buf, size_t len, kw_arena *ar, void *out, int16_t *ver,
       size_t *left)
{
    kw_rd r;
    kw_rd_init(&r, buf, len);
    kw_err e = kw_consumer_protocol_decode(d, &r, ar, out, ver);
    if (left)
        *left = kw_rd_remain(&r);
    return e;
}

/* Java bytes of a v3 subscription: version 3, Topics ["t"], UserData null,
 * OwnedPartitions [{"t", [0, 2]}], GenerationId 5, RackId "r1". */
static const uint8_t sub_v3[] = {
    0x00, 0x03,                                     /* version */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',        /* Topics */
    0xff, 0xff, 0xff, 0xff,                         /* UserData null */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',        /* OwnedPartitions[0].Topic */
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, /* Partitions: 0 */
    0x00, 0x00, 0x00, 0x02,                         /* 2 */
    0x00, 0x00, 0x00, 0x05,                         /* GenerationId */
    0x00, 0x02, 'r',  '1',                          /* RackId */
};
/* Offsets in sub_v3 where each trailing field begins. */
#define SUB_V0_END 13 /* after UserData */
#define SUB_V1_END 32 /* after OwnedPartitions */
#define SUB_V2_END 36 /* after GenerationId */

START_TEST(subscription_golden_v3)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_consumer_protocol_subscription s;
    int16_t ver = -7;
    size_t left = 99;
    ck_assert_int_eq(decode(&kw_msg_consumer_protocol_subscription, sub_v3, sizeof(sub_v3), &ar, &s,
                            &ver, &left),
                     KW_ERR_OK);
    ck_assert_int_eq(ver, 3);
    ck_assert_uint_eq(left, 0);
    ck_assert_int_eq(s.n_topics, 1);
    ck_assert(kw_slice_eq(s.topics[0], "t"));
    ck_assert_int_eq(s.user_data.len, -1);
    ck_assert_int_eq(s.n_owned_partitions, 1);
    ck_assert(kw_slice_eq(s.owned_partitions[0].topic, "t"));
    ck_assert_int_eq(s.owned_partitions[0].n_partitions, 2);
    ck_assert_int_eq(s.owned_partitions[0].partitions[0], 0);
    ck_assert_int_eq(s.owned_partitions[0].partitions[1], 2);
    ck_assert_int_eq(s.generation_id, 5);
    ck_assert(kw_slice_eq(s.rack_id, "r1"));

    /* Re-encoding gives Java's bytes back. */
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1 << 16);
    ck_assert_int_eq(
        kw_consumer_protocol_encode(&kw_msg_consumer_protocol_subscription, ver, &w, &s),
        KW_ERR_OK);
    ck_assert_uint_eq(kw_wr_len(&w), sizeof(sub_v3));
    ck_assert(memcmp(w.base, sub_v3, sizeof(sub_v3)) == 0);
    kw_wr_fini(&w);
    kw_arena_fini(&ar);
}
END_TEST

/* Every version encodes and decodes back to the same bytes, with absent fields at their
 * defaults. */
START_TEST(subscription_round_trip_each_version)
{
    kw_slice topics[2] = {kw_slice_str("a"), kw_slice_str("bb")};
    int32_t parts[3] = {7, 8, 9};
    kw_consumer_protocol_topic_partition owned = {kw_slice_str("a"), parts, 3};
    kw_consumer_protocol_subscription in = {
        topics, 2, kw_slice_str("ud"), &owned, 1, 42, kw_slice_str("rack"),
    };
    for (int16_t v = 0; v <= 3; v++) {
        kw_arena ar;
        kw_arena_init(&ar, NULL, 0);
        kw_wr w;
        kw_wr_init_dyn(&w, NULL, 1 << 16);
        ck_assert_int_eq(
            kw_consumer_protocol_encode(&kw_msg_consumer_protocol_subscription, v, &w, &in),
            KW_ERR_OK);
        kw_consumer_protocol_subscription out;
        int16_t got = -1;
        ck_assert_int_eq(decode(&kw_msg_consumer_protocol_subscription, w.base, kw_wr_len(&w), &ar,
                                &out, &got, NULL),
                         KW_ERR_OK);
        ck_assert_int_eq(got, v);
        ck_assert_int_eq(out.n_topics, 2);
        ck_assert(kw_slice_eq(out.topics[1], "bb"));
        ck_assert(kw_slice_eq(out.user_data, "ud"));
        ck_assert_int_eq(out.n_owned_partitions, v >= 1 ? 1 : 0);
        if (v >= 1)
            ck_assert_int_eq(out.owned_partitions[0].partitions[2], 9);
        ck_assert_int_eq(out.generation_id, v >= 2 ? 42 : -1);
        if (v >= 3)
            ck_assert(kw_slice_eq(out.rack_id, "rack"));
        else
            ck_assert_int_eq(out.rack_id.len, -1);
        /* The strict decoder agrees on the body after the prefix. */
        kw_consumer_protocol_subscription strict;
        kw_rd r;
        kw_rd_init(&r, w.base + 2, kw_wr_len(&w) - 2);
        ck_assert_int_eq(kw_msg_decode(&kw_msg_consumer_protocol_subscription, v, &r, &ar, &strict),
                         KW_ERR_OK);
        ck_assert_int_eq(strict.generation_id, out.generation_id);
        kw_wr_fini(&w);
        kw_arena_fini(&ar);
    }
}
END_TEST

/* @platformatic/kafka 1.35: version 1 followed by only the v0 fields. */
START_TEST(subscription_v1_with_v0_fields)
{
    uint8_t buf[SUB_V0_END];
    memcpy(buf, sub_v3, sizeof(buf));
    buf[1] = 1;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_consumer_protocol_subscription s;
    int16_t ver = -1;
    ck_assert_int_eq(
        decode(&kw_msg_consumer_protocol_subscription, buf, sizeof(buf), &ar, &s, &ver, NULL),
        KW_ERR_OK);
    ck_assert_int_eq(ver, 1);
    ck_assert_int_eq(s.n_topics, 1);
    ck_assert(kw_slice_eq(s.topics[0], "t"));
    ck_assert_int_eq(s.user_data.len, -1);
    ck_assert_int_eq(s.n_owned_partitions, 0);
    ck_assert_int_eq(s.generation_id, -1);
    ck_assert_int_eq(s.rack_id.len, -1);

    /* The strict message decoder still rejects it: leniency lives only in the helper. */
    kw_rd r;
    kw_rd_init(&r, buf + 2, sizeof(buf) - 2);
    ck_assert_int_ne(kw_msg_decode(&kw_msg_consumer_protocol_subscription, 1, &r, &ar, &s),
                     KW_ERR_OK);
    kw_arena_fini(&ar);
}
END_TEST

/* A v3 header with the data stopping at each field boundary: every trailing field that is
 * missing takes its default, the ones before it are kept. */
START_TEST(subscription_stops_at_each_boundary)
{
    static const size_t ends[] = {SUB_V0_END, SUB_V1_END, SUB_V2_END, sizeof(sub_v3)};
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        kw_arena ar;
        kw_arena_init(&ar, NULL, 0);
        kw_consumer_protocol_subscription s;
        int16_t ver = -1;
        ck_assert_int_eq(
            decode(&kw_msg_consumer_protocol_subscription, sub_v3, ends[i], &ar, &s, &ver, NULL),
            KW_ERR_OK);
        ck_assert_int_eq(ver, 3);
        ck_assert_int_eq(s.n_topics, 1);
        ck_assert_int_eq(s.n_owned_partitions, i >= 1 ? 1 : 0);
        ck_assert_int_eq(s.generation_id, i >= 2 ? 5 : -1);
        if (i >= 3)
            ck_assert(kw_slice_eq(s.rack_id, "r1"));
        else
            ck_assert_int_eq(s.rack_id.len, -1);
        kw_arena_fini(&ar);
    }
}
END_TEST

/* Any other cut (inside the prefix, a v0 field or a trailing field) is an error. */
START_TEST(subscription_cut_inside_a_field_fails)
{
    for (size_t cut = 0; cut < sizeof(sub_v3); cut++) {
        if (cut == SUB_V0_END || cut == SUB_V1_END || cut == SUB_V2_END)
            continue;
        uint8_t *buf = malloc(cut ? cut : 1); /* its own allocation, for ASan */
        memcpy(buf, sub_v3, cut);
        kw_arena ar;
        kw_arena_init(&ar, NULL, 0);
        kw_consumer_protocol_subscription s;
        int16_t ver = 77;
        kw_err e = decode(&kw_msg_consumer_protocol_subscription, buf, cut, &ar, &s, &ver, NULL);
        ck_assert_msg(e != KW_ERR_OK, "cut at %zu decoded", cut);
        ck_assert_int_eq(ver, 0);
        kw_arena_fini(&ar);
        free(buf);
    }
}
END_TEST

/* A newer version decodes as v3; what it appends is skipped. */
START_TEST(subscription_newer_version)
{
    uint8_t buf[sizeof(sub_v3) + 5];
    memcpy(buf, sub_v3, sizeof(sub_v3));
    buf[1] = 9;
    memset(buf + sizeof(sub_v3), 0xab, 5);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_consumer_protocol_subscription s;
    int16_t ver = -1;
    size_t left = 99;
    ck_assert_int_eq(
        decode(&kw_msg_consumer_protocol_subscription, buf, sizeof(buf), &ar, &s, &ver, &left),
        KW_ERR_OK);
    ck_assert_int_eq(ver, 3);
    ck_assert_uint_eq(left, 0);
    ck_assert_int_eq(s.generation_id, 5);
    ck_assert(kw_slice_eq(s.rack_id, "r1"));

    /* The largest version also works, and a newer version with only v0 fields too. */
    buf[0] = 0x7f;
    buf[1] = 0xff;
    ck_assert_int_eq(
        decode(&kw_msg_consumer_protocol_subscription, buf, SUB_V0_END, &ar, &s, &ver, NULL),
        KW_ERR_OK);
    ck_assert_int_eq(ver, 3);
    ck_assert_int_eq(s.generation_id, -1);
    kw_arena_fini(&ar);
}
END_TEST

START_TEST(negative_version_and_bad_args)
{
    uint8_t buf[sizeof(sub_v3)];
    memcpy(buf, sub_v3, sizeof(buf));
    buf[0] = 0xff;
    buf[1] = 0xff; /* -1 */
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_consumer_protocol_subscription s;
    int16_t ver = 5;
    ck_assert_int_eq(
        decode(&kw_msg_consumer_protocol_subscription, buf, sizeof(buf), &ar, &s, &ver, NULL),
        KW_ERR_UNSUPPORTED_VERSION);
    ck_assert_int_eq(ver, 0);
    /* Empty data (an empty SyncGroup assignment) has no version: truncated. */
    kw_consumer_protocol_assignment a;
    ck_assert_int_eq(decode(&kw_msg_consumer_protocol_assignment, buf, 0, &ar, &a, NULL, NULL),
                     KW_ERR_TRUNCATED);
    /* Not a consumer protocol structure. */
    kw_heartbeat_req hb = {0};
    ck_assert_int_eq(decode(&kw_msg_heartbeat_req, sub_v3, sizeof(sub_v3), &ar, &hb, NULL, NULL),
                     KW_ERR_INVALID_ARG);

    uint8_t out[64];
    kw_wr w;
    kw_wr_init_fixed(&w, out, sizeof(out));
    memset(&s, 0, sizeof(s));
    ck_assert_int_eq(kw_consumer_protocol_encode(&kw_msg_consumer_protocol_subscription, 4, &w, &s),
                     KW_ERR_UNSUPPORTED_VERSION);
    ck_assert_uint_eq(kw_wr_len(&w), 0);
    kw_wr_init_fixed(&w, out, sizeof(out));
    ck_assert_int_eq(
        kw_consumer_protocol_encode(&kw_msg_consumer_protocol_subscription, -1, &w, &s),
        KW_ERR_UNSUPPORTED_VERSION);
    kw_wr_init_fixed(&w, out, sizeof(out));
    ck_assert_int_eq(kw_consumer_protocol_encode(&kw_msg_heartbeat_req, 0, &w, &hb),
                     KW_ERR_INVALID_ARG);
    ck_assert_uint_eq(kw_wr_len(&w), 0);
    kw_arena_fini(&ar);
}
END_TEST

/* Java bytes of a v0 assignment: AssignedPartitions [{"t", [1]}], UserData 0x00ff. */
static const uint8_t asg_v0[] = {
    0x00, 0x00,                                     /* version */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 't',        /* AssignedPartitions[0].Topic */
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, /* Partitions: 1 */
    0x00, 0x00, 0x00, 0x02, 0x00, 0xff,             /* UserData */
};

START_TEST(assignment_golden_and_leniency)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_consumer_protocol_assignment a;
    int16_t ver = -1;
    ck_assert_int_eq(
        decode(&kw_msg_consumer_protocol_assignment, asg_v0, sizeof(asg_v0), &ar, &a, &ver, NULL),
        KW_ERR_OK);
    ck_assert_int_eq(ver, 0);
    ck_assert_int_eq(a.n_assigned_partitions, 1);
    ck_assert(kw_slice_eq(a.assigned_partitions[0].topic, "t"));
    ck_assert_int_eq(a.assigned_partitions[0].n_partitions, 1);
    ck_assert_int_eq(a.assigned_partitions[0].partitions[0], 1);
    ck_assert_int_eq(a.user_data.len, 2);

    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1 << 16);
    ck_assert_int_eq(kw_consumer_protocol_encode(&kw_msg_consumer_protocol_assignment, 0, &w, &a),
                     KW_ERR_OK);
    ck_assert_uint_eq(kw_wr_len(&w), sizeof(asg_v0));
    ck_assert(memcmp(w.base, asg_v0, sizeof(asg_v0)) == 0);
    kw_wr_fini(&w);

    /* A newer version with appended bytes decodes as v3. */
    uint8_t buf[sizeof(asg_v0) + 3];
    memcpy(buf, asg_v0, sizeof(asg_v0));
    buf[1] = 4;
    memset(buf + sizeof(asg_v0), 0, 3);
    size_t left = 99;
    ck_assert_int_eq(
        decode(&kw_msg_consumer_protocol_assignment, buf, sizeof(buf), &ar, &a, &ver, &left),
        KW_ERR_OK);
    ck_assert_int_eq(ver, 3);
    ck_assert_uint_eq(left, 0);
    ck_assert_int_eq(a.assigned_partitions[0].partitions[0], 1);

    /* UserData is a v0 field: without it the data is truncated. */
    for (size_t cut = 0; cut < sizeof(asg_v0); cut++)
        ck_assert_msg(decode(&kw_msg_consumer_protocol_assignment, asg_v0, cut, &ar, &a, NULL,
                             NULL) != KW_ERR_OK,
                      "cut at %zu decoded", cut);
    kw_arena_fini(&ar);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("consumer_protocol");
    TCase *tc = tcase_create("consumer_protocol");
    tcase_add_test(tc, subscription_golden_v3);
    tcase_add_test(tc, subscription_round_trip_each_version);
    tcase_add_test(tc, subscription_v1_with_v0_fields);
    tcase_add_test(tc, subscription_stops_at_each_boundary);
    tcase_add_test(tc, subscription_cut_inside_a_field_fails);
    tcase_add_test(tc, subscription_newer_version);
    tcase_add_test(tc, negative_version_and_bad_args);
    tcase_add_test(tc, assignment_golden_and_leniency);
    suite_add_tcase(s, tc);
    return s;
}
