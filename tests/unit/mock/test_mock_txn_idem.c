/* kwire-mock, idempotent producers: InitProducerId without a transactional id, sequence checks
 * per (producer id, partition), duplicates of the last five batches answered with their
 * original offsets and stored once, gaps (OUT_OF_ORDER_SEQUENCE_NUMBER), stale and new epochs,
 * producers the partition does not know (any first sequence, as Kafka since KIP-360), state
 * kept across DeleteRecords and dropped after producer_id_expiration_ms on a virtual clock, and
 * the wrap of sequences at INT32_MAX. Every request is a codec-built frame over loopback. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txn_util.h"

#define E_OUT_OF_ORDER   45
#define E_INVALID_EPOCH  47
#define E_INVALID_TXN    48
#define E_TXN_ID_AUTH    53
#define E_INVALID_RECORD 87

static int64_t
vclock(void *ud)
{
    return *(int64_t *)ud;
}

static kw_mock *
new_mock(int64_t *vnow, int64_t expiration_ms)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    if (vnow) {
        conf.clock = vclock;
        conf.clock_ud = vnow;
    }
    if (expiration_ms)
        conf.producer_id_expiration_ms = expiration_ms;
    kw_mock *m = NULL;
    ck_assert_int_eq(kw_mock_new(&conf, &m, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 2, 1, NULL), KW_ERR_OK);
    return m;
}

/* Produces n records from pid/epoch at seq; returns the error, *base the offset. */
static int16_t
send(mc *c, int16_t ver, int32_t part, int n, const char *prefix, int64_t pid, int16_t epoch,
     int32_t seq, int64_t *base)
{
    kw_wr w = {0};
    tx_batch(&w, n, prefix, pid, epoch, seq, false);
    int16_t ec = tx_produce(c, ver, NULL, "t", part, tx_slice(&w), base);
    kw_wr_fini(&w);
    return ec;
}

static int32_t
batches(kw_mock *m, int32_t part)
{
    kw_mock_partition_info pi;
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", part, &pi), KW_ERR_OK);
    return pi.batches;
}

START_TEST(test_init_producer_id_idempotent)
{
    kw_mock *m = new_mock(NULL, 0);
    mc *c = mc_connect(m, 1, false);
    int64_t pid[3];
    int16_t epoch;
    /* A fresh producer id with epoch 0 on every call and every version, none repeated. */
    static const int16_t vers[] = {0, 3, 6};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tx_init(c, vers[i], NULL, 60000, -1, -1, &pid[i], &epoch), 0);
        ck_assert_int_eq(epoch, 0);
        ck_assert_int_ge(pid[i], 0);
        for (int k = 0; k < i; k++)
            ck_assert_int_ne(pid[i], pid[k]);
    }
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* A retried batch (the answer was lost) is stored once and answered with its first offsets. */
START_TEST(test_retry_is_duplicate)
{
    kw_mock *m = new_mock(NULL, 0);
    mc *c = mc_connect(m, 1, false);
    int64_t pid, base;
    int16_t epoch;
    ck_assert_int_eq(tx_init(c, 4, NULL, 60000, -1, -1, &pid, &epoch), 0);
    ck_assert_int_eq(send(c, 9, 0, 3, "a", pid, epoch, 0, &base), 0);
    ck_assert_int_eq(base, 0);
    ck_assert_int_eq(send(c, 9, 0, 2, "b", pid, epoch, 3, &base), 0);
    ck_assert_int_eq(base, 3);
    /* Both retried, the older first: the original offsets, nothing appended. */
    for (int16_t ver = 3; ver <= 12; ver += 3) {
        ck_assert_int_eq(send(c, ver, 0, 3, "a", pid, epoch, 0, &base), 0);
        ck_assert_int_eq(base, 0);
        ck_assert_int_eq(send(c, ver, 0, 2, "b", pid, epoch, 3, &base), 0);
        ck_assert_int_eq(base, 3);
    }
    ck_assert_int_eq(tx_hw(m, "t", 0), 5);
    ck_assert_int_eq(batches(m, 0), 2);
    tx_fetched f;
    tx_fetch(c, 12, "t", 0, 0, 0, &f);
    ck_assert_int_eq(f.n, 5);
    static const char *const keys[] = {"a0", "a1", "a2", "b0", "b1"};
    for (int i = 0; i < 5; i++) {
        ck_assert_int_eq(f.r[i].offset, i);
        ck_assert_str_eq(f.r[i].key, keys[i]);
        ck_assert_int_eq(f.r[i].pid, pid);
    }
    /* The next batch continues; the same sequences on the other partition are independent. */
    ck_assert_int_eq(send(c, 9, 0, 1, "c", pid, epoch, 5, &base), 0);
    ck_assert_int_eq(base, 5);
    ck_assert_int_eq(send(c, 9, 1, 3, "a", pid, epoch, 0, &base), 0);
    ck_assert_int_eq(base, 0);
    /* Five more batches push the first ones out of the duplicate window: a retry of seq 0 is
     * then simply out of order, as in Kafka. */
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(send(c, 9, 0, 1, "d", pid, epoch, 6 + i, NULL), 0);
    ck_assert_int_eq(send(c, 9, 0, 3, "a", pid, epoch, 0, NULL), E_OUT_OF_ORDER);
    /* The oldest batch still in the window (seq 6) is a duplicate. */
    ck_assert_int_eq(send(c, 9, 0, 1, "d", pid, epoch, 6, &base), 0);
    ck_assert_int_eq(base, 6);
    ck_assert_int_eq(tx_hw(m, "t", 0), 11);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* A gap is refused and nothing is stored; the right sequence then goes through. */
START_TEST(test_gap_out_of_order)
{
    kw_mock *m = new_mock(NULL, 0);
    mc *c = mc_connect(m, 1, false);
    int64_t pid, base;
    int16_t epoch;
    ck_assert_int_eq(tx_init(c, 4, NULL, 60000, -1, -1, &pid, &epoch), 0);
    ck_assert_int_eq(send(c, 9, 0, 3, "a", pid, epoch, 0, NULL), 0);
    ck_assert_int_eq(send(c, 9, 0, 1, "x", pid, epoch, 5, &base), E_OUT_OF_ORDER);
    ck_assert_int_eq(base, -1);
    ck_assert_int_eq(send(c, 9, 0, 1, "x", pid, epoch, 2, NULL), E_OUT_OF_ORDER); /* overlap */
    ck_assert_int_eq(send(c, 3, 0, 1, "x", pid, epoch, 4, NULL), E_OUT_OF_ORDER);
    ck_assert_int_eq(tx_hw(m, "t", 0), 3);
    ck_assert_int_eq(send(c, 9, 0, 2, "b", pid, epoch, 3, &base), 0);
    ck_assert_int_eq(base, 3);
    /* The C API goes through the same checks. */
    kw_wr w = {0};
    tx_batch(&w, 1, "y", pid, epoch, 9, false);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_mock_append(m, "t", 0, tx_slice(&w), NULL, &err), KW_ERR_BROKER);
    ck_assert_int_eq(err.broker_code, E_OUT_OF_ORDER);
    tx_batch(&w, 1, "y", pid, epoch, 5, false);
    int64_t off;
    ck_assert_int_eq(kw_mock_append(m, "t", 0, tx_slice(&w), &off, NULL), KW_ERR_OK);
    ck_assert_int_eq(off, 5);
    kw_wr_fini(&w);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* Epochs: an older one is fenced, a newer one must start at sequence 0 and ends the old one. */
START_TEST(test_epochs)
{
    kw_mock *m = new_mock(NULL, 0);
    mc *c = mc_connect(m, 1, false);
    int64_t pid, base;
    ck_assert_int_eq(tx_init(c, 4, NULL, 60000, -1, -1, &pid, NULL), 0);
    ck_assert_int_eq(send(c, 9, 0, 2, "a", pid, 0, 0, NULL), 0);
    ck_assert_int_eq(send(c, 9, 0, 1, "x", pid, 1, 2, NULL), E_OUT_OF_ORDER);
    ck_assert_int_eq(send(c, 9, 0, 1, "b", pid, 1, 0, &base), 0);
    ck_assert_int_eq(base, 2);
    ck_assert_int_eq(send(c, 9, 0, 1, "x", pid, 0, 2, &base), E_INVALID_EPOCH);
    ck_assert_int_eq(base, -1);
    /* A duplicate only counts within its epoch: the epoch-0 batch is now just stale. */
    ck_assert_int_eq(send(c, 9, 0, 2, "a", pid, 0, 0, NULL), E_INVALID_EPOCH);
    ck_assert_int_eq(send(c, 9, 0, 1, "c", pid, 1, 1, &base), 0);
    ck_assert_int_eq(base, 3);
    ck_assert_int_eq(tx_hw(m, "t", 0), 4);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* A producer the partition has no state for may start at any sequence (Kafka since KIP-360);
 * its state survives DeleteRecords of all its batches, and expires after
 * producer_id_expiration_ms without writes. */
START_TEST(test_unknown_producer_and_expiry)
{
    int64_t now = 1000;
    kw_mock *m = new_mock(&now, 60000);
    mc *c = mc_connect(m, 1, false);
    int64_t pid;
    ck_assert_int_eq(tx_init(c, 4, NULL, 60000, -1, -1, &pid, NULL), 0);
    ck_assert_int_eq(send(c, 9, 0, 2, "a", pid, 0, 42, NULL), 0);
    ck_assert_int_eq(send(c, 9, 0, 1, "b", pid, 0, 44, NULL), 0);

    /* DeleteRecords of everything: the state is kept, the sequence still checked. */
    kw_delete_records_req_partition dp = {0, -1, {NULL, 0}};
    kw_delete_records_req_topic dt = {kw_slice_str("t"), &dp, 1, {NULL, 0}};
    kw_delete_records_req drq = {&dt, 1, 30000, {NULL, 0}};
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_delete_records_resp dr;
    uint8_t *f;
    mc_call(c, &kw_msg_delete_records_req, &kw_msg_delete_records_resp, 2, &drq, &ar, &dr, &f);
    ck_assert_int_eq(dr.topics[0].partitions[0].error_code, 0);
    ck_assert_int_eq(dr.topics[0].partitions[0].low_watermark, 3);
    free(f);
    kw_arena_fini(&ar);
    ck_assert_int_eq(batches(m, 0), 0);
    ck_assert_int_eq(send(c, 9, 0, 1, "x", pid, 0, 0, NULL), E_OUT_OF_ORDER);
    ck_assert_int_eq(send(c, 9, 0, 1, "c", pid, 0, 45, NULL), 0);

    /* Silent for just under the expiration: still known. */
    now += 59999;
    ck_assert_int_eq(send(c, 9, 0, 1, "x", pid, 0, 7, NULL), E_OUT_OF_ORDER);
    /* The failed append was no write: the clock still runs from the last success. */
    now += 1;
    int64_t base;
    ck_assert_int_eq(send(c, 9, 0, 1, "d", pid, 0, 7, &base), 0);
    ck_assert_int_eq(base, 4);
    ck_assert_int_eq(send(c, 9, 0, 1, "e", pid, 0, 8, NULL), 0);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* Sequences wrap from INT32_MAX to 0, in a batch and between batches. */
START_TEST(test_sequence_wrap)
{
    kw_mock *m = new_mock(NULL, 0);
    mc *c = mc_connect(m, 1, false);
    int64_t pid, base;
    ck_assert_int_eq(tx_init(c, 4, NULL, 60000, -1, -1, &pid, NULL), 0);
    /* INT32_MAX - 1, INT32_MAX, 0 */
    ck_assert_int_eq(send(c, 9, 0, 3, "a", pid, 0, INT32_MAX - 1, &base), 0);
    ck_assert_int_eq(send(c, 9, 0, 1, "x", pid, 0, INT32_MAX, NULL), E_OUT_OF_ORDER);
    ck_assert_int_eq(send(c, 9, 0, 3, "a", pid, 0, INT32_MAX - 1, &base), 0); /* duplicate */
    ck_assert_int_eq(base, 0);
    ck_assert_int_eq(send(c, 9, 0, 1, "b", pid, 0, 1, &base), 0);
    ck_assert_int_eq(base, 3);
    /* A batch ending exactly at INT32_MAX is followed by 0. */
    ck_assert_int_eq(send(c, 9, 1, 2, "c", pid, 0, INT32_MAX - 1, NULL), 0);
    ck_assert_int_eq(send(c, 9, 1, 1, "x", pid, 0, INT32_MIN, NULL), E_INVALID_RECORD);
    ck_assert_int_eq(send(c, 9, 1, 1, "d", pid, 0, 0, &base), 0);
    ck_assert_int_eq(base, 2);
    ck_assert_int_eq(tx_hw(m, "t", 0), 4);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* Transactional records need a TransactionalId and a producer id; an idempotent producer with
 * an open transaction on the partition may not write outside it. */
START_TEST(test_transactional_flags)
{
    kw_mock *m = new_mock(NULL, 0);
    mc *c = mc_connect(m, 1, false);
    kw_wr w = {0};
    tx_batch(&w, 1, "a", 5, 0, 0, true);
    ck_assert_int_eq(tx_produce(c, 9, NULL, "t", 0, tx_slice(&w), NULL), E_TXN_ID_AUTH);
    tx_batch(&w, 1, "a", -1, -1, -1, true);
    ck_assert_int_eq(tx_produce(c, 9, "tx", "t", 0, tx_slice(&w), NULL), E_INVALID_RECORD);

    int64_t pid;
    int16_t epoch;
    ck_assert_int_eq(tx_init(c, 4, "tx", 60000, -1, -1, &pid, &epoch), 0);
    int32_t part = 0;
    ck_assert_int_eq(tx_add(c, 3, "tx", pid, epoch, "t", &part, 1, NULL), 0);
    tx_batch(&w, 2, "in", pid, epoch, 0, true);
    ck_assert_int_eq(tx_produce(c, 9, "tx", "t", 0, tx_slice(&w), NULL), 0);
    tx_batch(&w, 1, "out", pid, epoch, 2, false);
    ck_assert_int_eq(tx_produce(c, 9, "tx", "t", 0, tx_slice(&w), NULL), E_INVALID_TXN);
    ck_assert_int_eq(tx_hw(m, "t", 0), 2);
    kw_wr_fini(&w);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_txn_idem");
    TCase *tc = tcase_create("idempotence");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_init_producer_id_idempotent);
    tcase_add_test(tc, test_retry_is_duplicate);
    tcase_add_test(tc, test_gap_out_of_order);
    tcase_add_test(tc, test_epochs);
    tcase_add_test(tc, test_unknown_producer_and_expiry);
    tcase_add_test(tc, test_sequence_wrap);
    tcase_add_test(tc, test_transactional_flags);
    suite_add_tcase(s, tc);
    return s;
}
