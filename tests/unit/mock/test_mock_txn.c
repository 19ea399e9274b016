/* kwire-mock, transactions: InitProducerId with a transactional id (epoch bumps, fencing,
 * KIP-360 recovery), AddPartitionsToTxn (client and broker forms), commit and abort with their
 * markers at the right offsets, the last stable offset of concurrent transactions, the exact
 * AbortedTransactions list a read_committed Fetch gets and what such a consumer then delivers,
 * Produce verification (KIP-890; implicit add from Produce v12), TxnOffsetCommit held until the
 * commit, transaction timeouts on a virtual clock, delayed markers (CONCURRENT_TRANSACTIONS) and
 * transaction version 2 (EndTxn v5). Every request is a codec-built frame over loopback. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mock/mock_int.h"
#include "txn_util.h"

#define E_NOT_ENOUGH_REPLICAS 19
#define E_INVALID_GROUP_ID    24
#define E_INVALID_REQUEST     42
#define E_INVALID_EPOCH       47
#define E_INVALID_TXN_STATE   48
#define E_PID_MAPPING         49
#define E_INVALID_TIMEOUT     50
#define E_CONCURRENT          51
#define E_TXN_ID_AUTH         53
#define E_NOT_ATTEMPTED       55
#define E_PRODUCER_FENCED     90
#define E_TXN_ABORTABLE       120

static int64_t
vclock(void *ud)
{
    return *(int64_t *)ud;
}

static kw_mock *
new_mock(int64_t *vnow, int32_t marker_delay_ms)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    if (vnow) {
        conf.clock = vclock;
        conf.clock_ud = vnow;
    }
    conf.txn_marker_delay_ms = marker_delay_ms;
    kw_mock *m = NULL;
    ck_assert_int_eq(kw_mock_new(&conf, &m, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 2, 1, NULL), KW_ERR_OK);
    return m;
}

/* A transactional batch of n records from the producer into t-part, through Produce v`ver`. */
static int16_t
txn_send(mc *c, int16_t ver, const char *tid, int32_t part, int n, const char *prefix, int64_t pid,
         int16_t epoch, int32_t seq, int64_t *base)
{
    kw_wr w = {0};
    tx_batch(&w, n, prefix, pid, epoch, seq, true);
    int16_t ec = tx_produce(c, ver, tid, "t", part, tx_slice(&w), base);
    kw_wr_fini(&w);
    return ec;
}

static void
begin(mc *c, const char *tid, int64_t *pid, int16_t *epoch)
{
    ck_assert_int_eq(tx_init(c, 4, tid, 60000, -1, -1, pid, epoch), 0);
}

static void
add(mc *c, const char *tid, int64_t pid, int16_t epoch, int32_t part)
{
    ck_assert_int_eq(tx_add(c, 3, tid, pid, epoch, "t", &part, 1, NULL), 0);
}

/* Steps the mock long enough for due timers to run (the virtual clock was moved). */
static void
settle(mc *c)
{
    ck_assert(mc_quiet(c, 30));
}

START_TEST(test_commit)
{
    kw_mock *m = new_mock(NULL, 0);
    mc *c = mc_connect(m, 1, false);
    int64_t pid, base;
    int16_t epoch;
    begin(c, "tx", &pid, &epoch);
    ck_assert_int_eq(epoch, 0);
    int32_t parts[] = {0, 1};
    int16_t errs[2];
    ck_assert_int_eq(tx_add(c, 3, "tx", pid, epoch, "t", parts, 2, errs), 0);
    ck_assert_int_eq(errs[1], 0);
    ck_assert_int_eq(txn_send(c, 9, "tx", 0, 3, "a", pid, epoch, 0, &base), 0);
    ck_assert_int_eq(base, 0);
    ck_assert_int_eq(txn_send(c, 9, "tx", 1, 2, "b", pid, epoch, 0, &base), 0);
    ck_assert_int_eq(base, 0);

    /* Open: read_committed sees nothing and an LSO of 0; read_uncommitted sees the data. */
    ck_assert_int_eq(tx_lso(m, "t", 0), 0);
    ck_assert_int_eq(tx_hw(m, "t", 0), 3);
    tx_fetched f;
    tx_fetch(c, 12, "t", 0, 0, 1, &f);
    ck_assert_int_eq(f.lso, 0);
    ck_assert_int_eq(f.hw, 3);
    ck_assert_int_eq(f.n, 0);
    ck_assert_int_eq(f.n_aborted, 0);
    tx_fetch(c, 12, "t", 0, 0, 0, &f);
    ck_assert_int_eq(f.n, 3);
    ck_assert_int_eq(f.n_aborted, -1);

    ck_assert_int_eq(tx_end(c, 3, "tx", pid, epoch, true, NULL, NULL), 0);
    /* A COMMIT marker after each partition's data; the LSO is the high watermark again. */
    ck_assert_int_eq(tx_hw(m, "t", 0), 4);
    ck_assert_int_eq(tx_lso(m, "t", 0), 4);
    ck_assert_int_eq(tx_hw(m, "t", 1), 3);
    ck_assert_int_eq(tx_lso(m, "t", 1), 3);
    tx_fetch(c, 11, "t", 0, 0, 1, &f);
    ck_assert_int_eq(f.lso, 4);
    ck_assert_int_eq(f.n, 4);
    ck_assert_int_eq(f.n_aborted, 0);
    ck_assert_int_eq(f.r[3].offset, 3);
    ck_assert_int_eq(f.r[3].control, KW_CONTROL_COMMIT);
    ck_assert_int_eq(f.r[3].pid, pid);
    ck_assert_int_eq(f.r[3].epoch, epoch);
    ck_assert(f.r[3].transactional);
    char keys[256];
    tx_committed_keys(&f, keys, sizeof(keys));
    ck_assert_str_eq(keys, "a0,a1,a2");
    tx_fetch(c, 4, "t", 1, 0, 1, &f);
    ck_assert_int_eq(f.n, 3);
    ck_assert_int_eq(f.r[2].control, KW_CONTROL_COMMIT);

    /* A retried EndTxn succeeds again; the other outcome is refused; a transactional Produce
     * outside any transaction is refused (v9: INVALID_TXN_STATE). */
    ck_assert_int_eq(tx_end(c, 3, "tx", pid, epoch, true, NULL, NULL), 0);
    ck_assert_int_eq(tx_end(c, 3, "tx", pid, epoch, false, NULL, NULL), E_INVALID_TXN_STATE);
    ck_assert_int_eq(txn_send(c, 9, "tx", 0, 1, "z", pid, epoch, 3, NULL), E_INVALID_TXN_STATE);
    ck_assert_int_eq(tx_hw(m, "t", 0), 4);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* Committed and aborted transactions of two producers interleaved with plain records: the
 * exact AbortedTransactions list, and what a read_committed consumer keeps. */
START_TEST(test_abort_list)
{
    kw_mock *m = new_mock(NULL, 0);
    mc *c = mc_connect(m, 1, false);
    int64_t p1, p2, off;
    int16_t e1, e2;
    begin(c, "tx1", &p1, &e1);
    begin(c, "tx2", &p2, &e2);
    ck_assert_int_ne(p1, p2);
    ck_assert_int_eq(
        kw_mock_append_record(m, "t", 0, kw_slice_str("p0"), kw_slice_str("v"), 1, &off, NULL),
        KW_ERR_OK);
    add(c, "tx1", p1, e1, 0);
    ck_assert_int_eq(txn_send(c, 9, "tx1", 0, 2, "c", p1, e1, 0, &off), 0); /* 1-2 */
    ck_assert_int_eq(off, 1);
    ck_assert_int_eq(tx_end(c, 3, "tx1", p1, e1, true, NULL, NULL), 0); /* marker 3 */
    add(c, "tx1", p1, e1, 0);
    ck_assert_int_eq(txn_send(c, 9, "tx1", 0, 2, "x", p1, e1, 2, &off), 0); /* 4-5 */
    ck_assert_int_eq(off, 4);
    add(c, "tx2", p2, e2, 0);
    ck_assert_int_eq(txn_send(c, 9, "tx2", 0, 1, "y", p2, e2, 0, &off), 0); /* 6 */
    ck_assert_int_eq(off, 6);
    ck_assert_int_eq(tx_lso(m, "t", 0), 4);
    ck_assert_int_eq(tx_end(c, 3, "tx1", p1, e1, false, NULL, NULL), 0); /* marker 7 */
    ck_assert_int_eq(tx_lso(m, "t", 0), 6);
    ck_assert_int_eq(tx_end(c, 3, "tx2", p2, e2, false, NULL, NULL), 0); /* marker 8 */
    ck_assert_int_eq(
        kw_mock_append_record(m, "t", 0, kw_slice_str("p1"), kw_slice_str("v"), 1, &off, NULL),
        KW_ERR_OK);
    ck_assert_int_eq(off, 9);
    ck_assert_int_eq(tx_lso(m, "t", 0), 10);

    static const int16_t vers[] = {4, 11, 12, 13};
    for (size_t v = 0; v < sizeof(vers) / sizeof(vers[0]); v++) {
        tx_fetched f;
        tx_fetch(c, vers[v], "t", 0, 0, 1, &f);
        ck_assert_int_eq(f.n, 10);
        ck_assert_int_eq(f.r[7].control, KW_CONTROL_ABORT);
        ck_assert_int_eq(f.r[7].pid, p1);
        ck_assert_int_eq(f.r[8].control, KW_CONTROL_ABORT);
        ck_assert_int_eq(f.r[8].pid, p2);
        ck_assert_int_eq(f.n_aborted, 2);
        ck_assert_int_eq(f.aborted_pid[0], p1);
        ck_assert_int_eq(f.aborted_first[0], 4);
        ck_assert_int_eq(f.aborted_pid[1], p2);
        ck_assert_int_eq(f.aborted_first[1], 6);
        char keys[256];
        tx_committed_keys(&f, keys, sizeof(keys));
        ck_assert_str_eq(keys, "p0,c0,c1,p1");
    }
    /* From the middle of the aborted batch: it is returned whole, both aborts overlap. */
    tx_fetched f;
    tx_fetch(c, 12, "t", 0, 5, 1, &f);
    ck_assert_int_eq(f.r[0].offset, 4);
    ck_assert_int_eq(f.n_aborted, 2);
    /* From the second ABORT marker: only that transaction ends at or after it. */
    tx_fetch(c, 12, "t", 0, 8, 1, &f);
    ck_assert_int_eq(f.n_aborted, 1);
    ck_assert_int_eq(f.aborted_pid[0], p2);
    ck_assert_int_eq(f.aborted_first[0], 6);
    /* Past both: an empty list, not a null one. */
    tx_fetch(c, 12, "t", 0, 9, 1, &f);
    ck_assert_int_eq(f.n_aborted, 0);
    ck_assert_int_eq(f.n, 1);
    /* At the high watermark: no records, an empty list. */
    tx_fetch(c, 12, "t", 0, 10, 1, &f);
    ck_assert_int_eq(f.n, 0);
    ck_assert_int_eq(f.n_aborted, 0);
    /* read_uncommitted: everything, and a null list. */
    tx_fetch(c, 12, "t", 0, 0, 0, &f);
    ck_assert_int_eq(f.n, 10);
    ck_assert_int_eq(f.n_aborted, -1);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* Two open transactions on one partition: the LSO is the older one's first offset, whichever
 * ends first; a read_committed Fetch waiting at the LSO is answered when it moves. */
START_TEST(test_lso_concurrent)
{
    kw_mock *m = new_mock(NULL, 0);
    mc *c = mc_connect(m, 1, false);
    mc *w = mc_connect(m, 1, false);
    int64_t p1, p2;
    int16_t e1, e2;
    begin(c, "tx1", &p1, &e1);
    begin(c, "tx2", &p2, &e2);
    add(c, "tx1", p1, e1, 0);
    add(c, "tx2", p2, e2, 0);
    ck_assert_int_eq(txn_send(c, 9, "tx1", 0, 2, "a", p1, e1, 0, NULL), 0); /* 0-1 */
    ck_assert_int_eq(txn_send(c, 9, "tx2", 0, 1, "b", p2, e2, 0, NULL), 0); /* 2 */
    ck_assert_int_eq(txn_send(c, 9, "tx1", 0, 1, "c", p1, e1, 2, NULL), 0); /* 3 */
    ck_assert_int_eq(tx_lso(m, "t", 0), 0);
    ck_assert_int_eq(tx_end(c, 3, "tx2", p2, e2, true, NULL, NULL), 0); /* marker 4 */
    ck_assert_int_eq(tx_lso(m, "t", 0), 0);
    ck_assert_int_eq(tx_hw(m, "t", 0), 5);

    /* A read_committed Fetch with max wait parks at the LSO ... */
    kw_fetch_req_partition fp;
    memset(&fp, 0, sizeof(fp));
    fp.current_leader_epoch = -1;
    fp.last_fetched_epoch = -1;
    fp.log_start_offset = -1;
    fp.partition_max_bytes = 1 << 20;
    kw_fetch_req_topic ft;
    memset(&ft, 0, sizeof(ft));
    ft.topic = kw_slice_str("t");
    ft.partitions = &fp;
    ft.n_partitions = 1;
    kw_fetch_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.cluster_id = KW_SLICE_NULL;
    rq.replica_id = -1;
    rq.replica_state.replica_id = -1;
    rq.replica_state.replica_epoch = -1;
    rq.max_wait_ms = 60000;
    rq.min_bytes = 1;
    rq.max_bytes = 1 << 20;
    rq.isolation_level = 1;
    rq.session_epoch = -1;
    rq.topics = &ft;
    rq.n_topics = 1;
    int32_t corr = mc_send(w, &kw_msg_fetch_req, 12, &rq);
    ck_assert(mc_quiet(w, 50));
    /* ... and is answered by the commit that moves it, with everything up to the marker. */
    ck_assert_int_eq(tx_end(c, 3, "tx1", p1, e1, true, NULL, NULL), 0); /* marker 5 */
    ck_assert_int_eq(tx_lso(m, "t", 0), 6);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_fetch_resp r;
    uint8_t *frame;
    mc_recv(w, &kw_msg_fetch_resp, 12, corr, &ar, &r, &frame);
    const kw_fetch_resp_partition *rp = &r.responses[0].partitions[0];
    ck_assert_int_eq(rp->last_stable_offset, 6);
    ck_assert_int_eq(rp->n_aborted_transactions, 0);
    int n = 0;
    kw_batch_iter bi;
    kw_batch b;
    kw_batch_iter_init(&bi, rp->records);
    while (kw_batch_iter_next(&bi, &b))
        n += b.last_offset_delta + 1;
    ck_assert_int_eq(n, 6);
    free(frame);
    kw_arena_fini(&ar);
    mc_close(w);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* KIP-890 verification of transactional Produce: refused before v12 unless the partition was
 * added; added implicitly from v12 (transaction version 2). */
START_TEST(test_produce_verification)
{
    kw_mock *m = new_mock(NULL, 0);
    mc *c = mc_connect(m, 1, false);
    int64_t pid, base;
    int16_t epoch;
    begin(c, "tx", &pid, &epoch);
    ck_assert_int_eq(txn_send(c, 9, "tx", 0, 1, "a", pid, epoch, 0, NULL), E_INVALID_TXN_STATE);
    ck_assert_int_eq(txn_send(c, 11, "tx", 0, 1, "a", pid, epoch, 0, NULL), E_TXN_ABORTABLE);
    ck_assert_int_eq(txn_send(c, 9, "other", 0, 1, "a", pid, epoch, 0, NULL), E_PID_MAPPING);
    ck_assert_int_eq(txn_send(c, 9, "tx", 0, 1, "a", pid + 1, epoch, 0, NULL), E_PID_MAPPING);
    ck_assert_int_eq(tx_hw(m, "t", 0), 0);
    ck_assert_int_eq(txn_send(c, 12, "tx", 0, 2, "a", pid, epoch, 0, &base), 0);
    ck_assert_int_eq(base, 0);
    ck_assert_int_eq(txn_send(c, 13, "tx", 1, 1, "b", pid, epoch, 0, &base), 0);
    ck_assert_int_eq(tx_lso(m, "t", 0), 0);
    ck_assert_int_eq(tx_lso(m, "t", 1), 0);
    /* Added now: older Produce versions go through too. */
    ck_assert_int_eq(txn_send(c, 9, "tx", 0, 1, "c", pid, epoch, 2, &base), 0);
    ck_assert_int_eq(base, 2);
    ck_assert_int_eq(tx_end(c, 4, "tx", pid, epoch, true, NULL, NULL), 0);
    ck_assert_int_eq(tx_hw(m, "t", 0), 4);
    ck_assert_int_eq(tx_lso(m, "t", 0), 4);
    ck_assert_int_eq(tx_hw(m, "t", 1), 2);
    ck_assert_int_eq(tx_lso(m, "t", 1), 2);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* A new instance of a transactional id fences the old one everywhere; KIP-360 recovery. */
START_TEST(test_fencing_and_recovery)
{
    kw_mock *m = new_mock(NULL, 0);
    mc *c = mc_connect(m, 1, false);
    int64_t pid, pid2;
    int16_t epoch, epoch2;
    begin(c, "tx", &pid, &epoch);
    add(c, "tx", pid, epoch, 0);
    ck_assert_int_eq(txn_send(c, 9, "tx", 0, 2, "a", pid, epoch, 0, NULL), 0);
    /* The new instance's first attempt aborts the open transaction under epoch 1 ... */
    ck_assert_int_eq(tx_init(c, 4, "tx", 60000, -1, -1, &pid2, &epoch2), E_CONCURRENT);
    ck_assert_int_eq(tx_lso(m, "t", 0), 3);
    tx_fetched f;
    tx_fetch(c, 12, "t", 0, 0, 1, &f);
    ck_assert_int_eq(f.n, 3);
    ck_assert_int_eq(f.r[2].control, KW_CONTROL_ABORT);
    ck_assert_int_eq(f.r[2].epoch, 1);
    ck_assert_int_eq(f.n_aborted, 1);
    /* ... and its retry gets epoch 2 of the same producer id. */
    ck_assert_int_eq(tx_init(c, 4, "tx", 60000, -1, -1, &pid2, &epoch2), 0);
    ck_assert_int_eq(pid2, pid);
    ck_assert_int_eq(epoch2, 2);

    /* The old instance (epoch 0) is fenced: INVALID_PRODUCER_EPOCH before the v2 versions. */
    int32_t part = 0;
    ck_assert_int_eq(tx_add(c, 1, "tx", pid, 0, "t", &part, 1, NULL), E_INVALID_EPOCH);
    ck_assert_int_eq(tx_add(c, 2, "tx", pid, 0, "t", &part, 1, NULL), E_PRODUCER_FENCED);
    ck_assert_int_eq(tx_add_offsets(c, 1, "tx", pid, 0, "g"), E_INVALID_EPOCH);
    ck_assert_int_eq(tx_add_offsets(c, 3, "tx", pid, 0, "g"), E_PRODUCER_FENCED);
    ck_assert_int_eq(tx_end(c, 1, "tx", pid, 0, true, NULL, NULL), E_INVALID_EPOCH);
    ck_assert_int_eq(tx_end(c, 3, "tx", pid, 0, true, NULL, NULL), E_PRODUCER_FENCED);
    ck_assert_int_eq(txn_send(c, 9, "tx", 0, 1, "x", pid, 0, 2, NULL), E_INVALID_EPOCH);
    ck_assert_int_eq(tx_add(c, 3, "tx", pid + 7, 2, "t", &part, 1, NULL), E_PID_MAPPING);
    ck_assert_int_eq(tx_add(c, 3, "nope", pid, 2, "t", &part, 1, NULL), E_PID_MAPPING);
    ck_assert_int_eq(tx_end(c, 3, "nope", pid, 2, true, NULL, NULL), E_PID_MAPPING);

    /* KIP-360 (v3+): the holder of epoch 2 recovers to 3; a retry with 2 gets 3 again; the
     * fenced epoch 1 or a foreign producer id are fenced (INVALID_PRODUCER_EPOCH before v4). */
    ck_assert_int_eq(tx_init(c, 3, "tx", 60000, pid, 2, &pid2, &epoch2), 0);
    ck_assert_int_eq(pid2, pid);
    ck_assert_int_eq(epoch2, 3);
    ck_assert_int_eq(tx_init(c, 5, "tx", 60000, pid, 2, &pid2, &epoch2), 0);
    ck_assert_int_eq(epoch2, 3);
    ck_assert_int_eq(tx_init(c, 3, "tx", 60000, pid, 1, NULL, NULL), E_INVALID_EPOCH);
    ck_assert_int_eq(tx_init(c, 4, "tx", 60000, pid, 1, NULL, NULL), E_PRODUCER_FENCED);
    ck_assert_int_eq(tx_init(c, 4, "tx", 60000, pid + 7, 3, NULL, NULL), E_PRODUCER_FENCED);
    ck_assert_int_eq(tx_init(c, 4, "tx", 60000, pid, -1, NULL, NULL), E_INVALID_REQUEST);

    /* Request checks. */
    ck_assert_int_eq(tx_init(c, 4, "tx", 900001, -1, -1, NULL, NULL), E_INVALID_TIMEOUT);
    ck_assert_int_eq(tx_init(c, 4, "tx", 0, -1, -1, NULL, NULL), E_INVALID_TIMEOUT);
    ck_assert_int_eq(tx_init(c, 4, "", 60000, -1, -1, NULL, NULL), E_INVALID_REQUEST);
    kw_init_producer_id_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.transactional_id = kw_slice_str("tx2pc");
    rq.transaction_timeout_ms = 60000;
    rq.producer_id = -1;
    rq.producer_epoch = -1;
    rq.enable_2pc = true;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_init_producer_id_resp r;
    uint8_t *frame;
    mc_call(c, &kw_msg_init_producer_id_req, &kw_msg_init_producer_id_resp, 6, &rq, &ar, &r,
            &frame);
    ck_assert_int_eq(r.error_code, E_TXN_ID_AUTH);
    ck_assert_int_eq(r.producer_id, -1);
    ck_assert_int_eq(r.ongoing_txn_producer_id, -1);
    free(frame);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* A transaction still open transaction_timeout_ms after it started is aborted under a bumped
 * epoch, on the reactor's (here virtual) clock. */
START_TEST(test_timeout)
{
    int64_t now = 1000;
    kw_mock *m = new_mock(&now, 0);
    mc *c = mc_connect(m, 1, false);
    int64_t pid;
    int16_t epoch;
    ck_assert_int_eq(tx_init(c, 4, "tx", 10000, -1, -1, &pid, &epoch), 0);
    now += 5000; /* the timeout runs from the first partition, not from InitProducerId */
    add(c, "tx", pid, epoch, 0);
    ck_assert_int_eq(txn_send(c, 9, "tx", 0, 2, "a", pid, epoch, 0, NULL), 0);
    now += 9999;
    settle(c);
    ck_assert_int_eq(tx_lso(m, "t", 0), 0);
    now += 1;
    settle(c);
    ck_assert_int_eq(tx_hw(m, "t", 0), 3);
    ck_assert_int_eq(tx_lso(m, "t", 0), 3);
    tx_fetched f;
    tx_fetch(c, 12, "t", 0, 0, 1, &f);
    ck_assert_int_eq(f.r[2].control, KW_CONTROL_ABORT);
    ck_assert_int_eq(f.r[2].epoch, epoch + 1);
    ck_assert_int_eq(f.n_aborted, 1);
    ck_assert_int_eq(f.aborted_first[0], 0);
    char keys[64];
    tx_committed_keys(&f, keys, sizeof(keys));
    ck_assert_str_eq(keys, "");
    /* The producer learns it was fenced at its next request. */
    ck_assert_int_eq(tx_end(c, 3, "tx", pid, epoch, true, NULL, NULL), E_PRODUCER_FENCED);
    int32_t part = 0;
    ck_assert_int_eq(tx_add(c, 3, "tx", pid, epoch, "t", &part, 1, NULL), E_PRODUCER_FENCED);
    /* Nothing is armed any more; a new instance starts from epoch 2. */
    ck_assert_int_eq(kw_mock_timeout_ms(m), -1);
    ck_assert_int_eq(tx_init(c, 4, "tx", 10000, -1, -1, &pid, &epoch), 0);
    ck_assert_int_eq(epoch, 2);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* The group coordinator's side, recorded: what the transaction module hands to offset_store. */
typedef struct stored {
    char group[16], topic[16], meta[16];
    int32_t partition, leader_epoch;
    int64_t offset;
} stored;
static stored g_stored[8];
static int g_n_stored;

static void
copy_slice(char *dst, size_t cap, kw_slice s)
{
    size_t n = s.len > 0 ? (size_t)s.len : 0;
    ck_assert_uint_lt(n, cap);
    if (n)
        memcpy(dst, s.ptr, n);
    dst[n] = '\0';
}

static int16_t
record_store(kw_mock *m, kw_slice group, kw_slice topic, int32_t partition, int64_t offset,
             int32_t leader_epoch, kw_slice metadata)
{
    (void)m;
    ck_assert_int_lt(g_n_stored, 8);
    stored *s = &g_stored[g_n_stored++];
    copy_slice(s->group, sizeof(s->group), group);
    copy_slice(s->topic, sizeof(s->topic), topic);
    copy_slice(s->meta, sizeof(s->meta), metadata);
    s->partition = partition;
    s->offset = offset;
    s->leader_epoch = leader_epoch;
    return 0;
}

START_TEST(test_txn_offset_commit)
{
    kw_mock *m = new_mock(NULL, 0);
    m->group_ops.offset_store = record_store; /* stands in for the group module's store */
    g_n_stored = 0;
    mc *c = mc_connect(m, 1, false);
    int64_t pid;
    int16_t epoch;
    begin(c, "tx", &pid, &epoch);
    /* Without AddOffsetsToTxn: refused (v3 INVALID_TXN_STATE, v4 TRANSACTION_ABORTABLE). */
    kw_slice meta = kw_slice_str("m1");
    ck_assert_int_eq(tx_offset_commit(c, 3, "tx", "g", pid, epoch, "t", 0, 42, meta),
                     E_INVALID_TXN_STATE);
    ck_assert_int_eq(tx_offset_commit(c, 4, "tx", "g", pid, epoch, "t", 0, 42, meta),
                     E_TXN_ABORTABLE);
    ck_assert_int_eq(tx_add_offsets(c, 3, "tx", pid, epoch, "g"), 0);
    ck_assert_int_eq(tx_offset_commit(c, 3, "tx", "g", pid, epoch, "t", 0, 40, meta), 0);
    ck_assert_int_eq(tx_offset_commit(c, 0, "tx", "g", pid, epoch, "t", 0, 42, meta), 0);
    ck_assert_int_eq(tx_offset_commit(c, 4, "tx", "g", pid, epoch, "t", 1, 7, KW_SLICE_NULL), 0);
    ck_assert_int_eq(tx_offset_commit(c, 3, "tx", "g", pid, epoch, "nope", 0, 1, meta), 3);
    ck_assert_int_eq(tx_offset_commit(c, 3, "tx", "g", pid, epoch + 1, "t", 0, 1, meta),
                     E_INVALID_EPOCH);
    ck_assert_int_eq(tx_offset_commit(c, 3, "tx", "g", pid + 1, epoch, "t", 0, 1, meta),
                     E_PID_MAPPING);
    ck_assert_int_eq(tx_offset_commit(c, 3, "tx", "", pid, epoch, "t", 0, 1, meta),
                     E_INVALID_GROUP_ID);
    char big[4097];
    memset(big, 'x', sizeof(big));
    ck_assert_int_eq(tx_offset_commit(c, 3, "tx", "g", pid, epoch, "t", 0, 1,
                                      (kw_slice){(const uint8_t *)big, 4097}),
                     12);
    /* Held back until the commit. */
    ck_assert(kwi_mock_txn_offset_pending(m, kw_slice_str("g"), kw_slice_str("t"), 0));
    ck_assert(!kwi_mock_txn_offset_pending(m, kw_slice_str("g2"), kw_slice_str("t"), 0));
    ck_assert_int_eq(g_n_stored, 0);
    ck_assert_int_eq(tx_end(c, 3, "tx", pid, epoch, true, NULL, NULL), 0);
    ck_assert_int_eq(g_n_stored, 2);
    ck_assert_str_eq(g_stored[0].group, "g");
    ck_assert_str_eq(g_stored[0].topic, "t");
    ck_assert_int_eq(g_stored[0].partition, 0);
    ck_assert_int_eq(g_stored[0].offset, 42);       /* the later commit of the partition */
    ck_assert_int_eq(g_stored[0].leader_epoch, -1); /* v0 has no CommittedLeaderEpoch */
    ck_assert_str_eq(g_stored[0].meta, "m1");
    ck_assert_int_eq(g_stored[1].partition, 1);
    ck_assert_int_eq(g_stored[1].offset, 7);
    ck_assert_int_eq(g_stored[1].leader_epoch, 3);
    ck_assert(!kwi_mock_txn_offset_pending(m, kw_slice_str("g"), kw_slice_str("t"), 0));

    /* Aborted: never stored. */
    ck_assert_int_eq(tx_add_offsets(c, 3, "tx", pid, epoch, "g"), 0);
    ck_assert_int_eq(tx_offset_commit(c, 3, "tx", "g", pid, epoch, "t", 0, 50, meta), 0);
    ck_assert_int_eq(tx_end(c, 3, "tx", pid, epoch, false, NULL, NULL), 0);
    ck_assert_int_eq(g_n_stored, 2);
    ck_assert(!kwi_mock_txn_offset_pending(m, kw_slice_str("g"), kw_slice_str("t"), 0));

    /* v5 (transaction version 2) adds the group itself. */
    ck_assert_int_eq(tx_offset_commit(c, 5, "tx", "g5", pid, epoch, "t", 1, 9, meta), 0);
    ck_assert_int_eq(tx_end(c, 3, "tx", pid, epoch, true, NULL, NULL), 0);
    ck_assert_int_eq(g_n_stored, 3);
    ck_assert_str_eq(g_stored[2].group, "g5");
    ck_assert_int_eq(g_stored[2].offset, 9);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* With a marker delay, EndTxn is answered first and the transaction stays in PREPARE_COMMIT
 * until the markers are written: CONCURRENT_TRANSACTIONS and its Produce stand-in meanwhile. */
START_TEST(test_marker_delay)
{
    int64_t now = 1000;
    kw_mock *m = new_mock(&now, 1000);
    mc *c = mc_connect(m, 1, false);
    int64_t pid;
    int16_t epoch;
    begin(c, "tx", &pid, &epoch);
    add(c, "tx", pid, epoch, 0);
    ck_assert_int_eq(txn_send(c, 9, "tx", 0, 1, "a", pid, epoch, 0, NULL), 0);
    ck_assert_int_eq(tx_end(c, 3, "tx", pid, epoch, true, NULL, NULL), 0);
    ck_assert_int_eq(tx_hw(m, "t", 0), 1);
    ck_assert_int_eq(tx_lso(m, "t", 0), 0);
    int32_t part = 0;
    ck_assert_int_eq(tx_add(c, 3, "tx", pid, epoch, "t", &part, 1, NULL), E_CONCURRENT);
    ck_assert_int_eq(tx_add_offsets(c, 3, "tx", pid, epoch, "g"), E_CONCURRENT);
    ck_assert_int_eq(tx_end(c, 3, "tx", pid, epoch, true, NULL, NULL), E_CONCURRENT);
    ck_assert_int_eq(tx_end(c, 3, "tx", pid, epoch, false, NULL, NULL), E_INVALID_TXN_STATE);
    ck_assert_int_eq(tx_init(c, 4, "tx", 60000, pid, epoch, NULL, NULL), E_CONCURRENT);
    ck_assert_int_eq(txn_send(c, 9, "tx", 0, 1, "b", pid, epoch, 1, NULL), E_NOT_ENOUGH_REPLICAS);
    now += 999;
    settle(c);
    ck_assert_int_eq(tx_lso(m, "t", 0), 0);
    now += 1;
    settle(c);
    ck_assert_int_eq(tx_hw(m, "t", 0), 2);
    ck_assert_int_eq(tx_lso(m, "t", 0), 2);
    add(c, "tx", pid, epoch, 0);
    ck_assert_int_eq(txn_send(c, 9, "tx", 0, 1, "b", pid, epoch, 1, NULL), 0);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* AddPartitionsToTxn: unknown partitions fail the request; the v4+ brokers' form verifies. */
START_TEST(test_add_partitions_forms)
{
    kw_mock *m = new_mock(NULL, 0);
    mc *c = mc_connect(m, 1, false);
    int64_t pid;
    int16_t epoch;
    begin(c, "tx", &pid, &epoch);
    int32_t bad[] = {1, 5};
    int16_t errs[2];
    tx_add(c, 3, "tx", pid, epoch, "t", bad, 2, errs);
    ck_assert_int_eq(errs[0], E_NOT_ATTEMPTED);
    ck_assert_int_eq(errs[1], 3);

    for (int16_t ver = 4; ver <= 5; ver++) {
        add(c, "tx", pid, epoch, 0);
        int32_t parts[] = {0, 1};
        kw_add_partitions_to_txn_topic t = {kw_slice_str("t"), parts, 2, {NULL, 0}};
        kw_add_partitions_to_txn_transaction tr[2] = {
            {kw_slice_str("tx"), pid, epoch, true, &t, 1, {NULL, 0}},
            {kw_slice_str("none"), pid, epoch, true, &t, 1, {NULL, 0}},
        };
        kw_add_partitions_to_txn_req rq;
        memset(&rq, 0, sizeof(rq));
        rq.transactions = tr;
        rq.n_transactions = 2;
        kw_arena ar;
        kw_arena_init(&ar, NULL, 0);
        kw_add_partitions_to_txn_resp r;
        uint8_t *f;
        mc_call(c, &kw_msg_add_partitions_to_txn_req, &kw_msg_add_partitions_to_txn_resp, ver, &rq,
                &ar, &r, &f);
        ck_assert_int_eq(r.error_code, 0);
        ck_assert_int_eq(r.n_results_by_transaction, 2);
        const kw_add_partitions_to_txn_partition_result *pr =
            r.results_by_transaction[0].topic_results[0].results_by_partition;
        ck_assert_int_eq(pr[0].partition_error_code, 0);
        ck_assert_int_eq(pr[1].partition_error_code,
                         ver >= 5 ? E_TXN_ABORTABLE : E_INVALID_TXN_STATE);
        pr = r.results_by_transaction[1].topic_results[0].results_by_partition;
        ck_assert_int_eq(pr[0].partition_error_code, E_PID_MAPPING);
        ck_assert_int_eq(pr[1].partition_error_code, E_PID_MAPPING);
        free(f);
        /* Not verify-only: the partitions are added. */
        tr[0].verify_only = false;
        rq.n_transactions = 1;
        mc_call(c, &kw_msg_add_partitions_to_txn_req, &kw_msg_add_partitions_to_txn_resp, ver, &rq,
                &ar, &r, &f);
        pr = r.results_by_transaction[0].topic_results[0].results_by_partition;
        ck_assert_int_eq(pr[0].partition_error_code, 0);
        ck_assert_int_eq(pr[1].partition_error_code, 0);
        free(f);
        kw_arena_fini(&ar);
        ck_assert_int_eq(txn_send(c, 9, "tx", 1, 1, "b", pid, epoch, ver - 4, NULL), 0);
        ck_assert_int_eq(tx_end(c, 3, "tx", pid, epoch, true, NULL, NULL), 0);
    }
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* Transaction version 2: EndTxn v5 bumps the epoch for every transaction and returns it; the
 * markers carry the new epoch; a retried EndTxn with the old one is answered again. */
START_TEST(test_transaction_v2)
{
    kw_mock *m = new_mock(NULL, 0);
    mc *c = mc_connect(m, 1, false);
    int64_t pid, npid;
    int16_t epoch, nepoch;
    begin(c, "tx", &pid, &epoch);
    ck_assert_int_eq(txn_send(c, 12, "tx", 0, 2, "a", pid, epoch, 0, NULL), 0);
    ck_assert_int_eq(tx_end(c, 5, "tx", pid, epoch, true, &npid, &nepoch), 0);
    ck_assert_int_eq(npid, pid);
    ck_assert_int_eq(nepoch, epoch + 1);
    ck_assert_int_eq(tx_end(c, 5, "tx", pid, epoch, true, &npid, &nepoch), 0); /* retry */
    ck_assert_int_eq(nepoch, epoch + 1);
    tx_fetched f;
    tx_fetch(c, 12, "t", 0, 0, 1, &f);
    ck_assert_int_eq(f.n, 3);
    ck_assert_int_eq(f.r[2].control, KW_CONTROL_COMMIT);
    ck_assert_int_eq(f.r[2].epoch, epoch + 1);
    /* The next transaction runs under the new epoch from sequence 0; the old one is fenced. */
    ck_assert_int_eq(txn_send(c, 12, "tx", 0, 1, "x", pid, epoch, 2, NULL), E_INVALID_EPOCH);
    ck_assert_int_eq(txn_send(c, 12, "tx", 0, 1, "b", pid, nepoch, 0, NULL), 0);
    ck_assert_int_eq(tx_end(c, 5, "tx", pid, nepoch, false, &npid, &nepoch), 0);
    ck_assert_int_eq(nepoch, epoch + 2);
    tx_fetch(c, 12, "t", 0, 0, 1, &f);
    ck_assert_int_eq(f.n_aborted, 1);
    ck_assert_int_eq(f.aborted_first[0], 3);
    char keys[64];
    tx_committed_keys(&f, keys, sizeof(keys));
    ck_assert_str_eq(keys, "a0,a1");
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

static int32_t
coordinator_two(kw_mock *m, int8_t key_type, kw_slice key)
{
    (void)m;
    (void)key;
    return key_type == 1 ? 2 : 1;
}

/* The transaction APIs answer only on the coordinator the group module places (here a stand-in
 * that puts every transactional id on broker 2); idempotent InitProducerId on any broker. */
START_TEST(test_not_coordinator)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.brokers = 2;
    kw_mock *m = NULL;
    ck_assert_int_eq(kw_mock_new(&conf, &m, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 2, 1, NULL), KW_ERR_OK);
    m->group_ops.coordinator = coordinator_two;
    mc *c1 = mc_connect(m, 1, false);
    mc *c2 = mc_connect(m, 2, false);
    int64_t pid;
    int16_t epoch;
    ck_assert_int_eq(tx_init(c1, 4, NULL, 60000, -1, -1, &pid, &epoch), 0);
    ck_assert_int_eq(tx_init(c1, 4, "tx", 60000, -1, -1, NULL, NULL), 16);
    ck_assert_int_eq(tx_init(c2, 4, "tx", 60000, -1, -1, &pid, &epoch), 0);
    int32_t part = 0;
    ck_assert_int_eq(tx_add(c1, 3, "tx", pid, epoch, "t", &part, 1, NULL), 16);
    ck_assert_int_eq(tx_add(c2, 3, "tx", pid, epoch, "t", &part, 1, NULL), 0);
    ck_assert_int_eq(tx_add_offsets(c1, 3, "tx", pid, epoch, "g"), 16);
    ck_assert_int_eq(tx_add_offsets(c2, 3, "tx", pid, epoch, "g"), 0);
    /* TxnOffsetCommit goes to the group's coordinator, broker 1 here. */
    kw_slice meta = kw_slice_str("");
    ck_assert_int_eq(tx_offset_commit(c2, 3, "tx", "g", pid, epoch, "t", 0, 1, meta), 16);
    ck_assert_int_eq(tx_offset_commit(c1, 3, "tx", "g", pid, epoch, "t", 0, 1, meta), 0);
    ck_assert_int_eq(tx_end(c1, 3, "tx", pid, epoch, true, NULL, NULL), 16);
    ck_assert_int_eq(tx_end(c2, 3, "tx", pid, epoch, true, NULL, NULL), 0);
    mc_close(c1);
    mc_close(c2);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- memory pressure */

/* Sends one request; true if it was answered, false if the connection closed. Fails the test
 * if neither happens (a swallowed request). */
static bool
exchange(mc *c, const kw_msgdef *req, int16_t ver, const void *msg)
{
    if (c->eof)
        return false;
    mc_send(c, req, ver, msg);
    size_t n;
    uint8_t *f = mc_recv_frame(c, MC_WAIT_MS, &n);
    ck_assert_msg(f || c->eof, "%s was neither answered nor refused", req->name);
    free(f);
    return f != NULL;
}

static bool
oom_produce(mc *c, int16_t ver, const char *tid, int64_t pid, int32_t seq, bool txnl)
{
    kw_wr w = {0};
    tx_batch(&w, 2, "k", pid, 0, seq, txnl);
    kw_produce_req_partition pp = {0, tx_slice(&w), {NULL, 0}};
    kw_produce_req_topic pt = {kw_slice_str("t"), {{0}}, &pp, 1, {NULL, 0}};
    kw_produce_req pq = {tid ? kw_slice_str(tid) : KW_SLICE_NULL, -1, 1000, &pt, 1, {NULL, 0}};
    bool ok = exchange(c, &kw_msg_produce_req, ver, &pq);
    kw_wr_fini(&w);
    return ok;
}

/* Idempotent and transactional traffic through a cluster whose allocator fails as told;
 * returns whether every request was answered. Producer ids are the mock's first two. */
static bool
oom_scenario(tx_failing *fa)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.alloc = &fa->a;
    kw_mock *m = NULL;
    if (kw_mock_new(&conf, &m, NULL) != KW_ERR_OK) {
        ck_assert_ptr_null(m);
        return false;
    }
    bool all = kw_mock_topic_create(m, "t", 1, 1, NULL) == KW_ERR_OK;
    mc *c = mc_connect(m, 1, false);
    kw_init_producer_id_req iq = {KW_SLICE_NULL, 60000, -1, -1, false, false, {NULL, 0}};
    all &= exchange(c, &kw_msg_init_producer_id_req, 4, &iq);
    all &= oom_produce(c, 9, NULL, 1000, 0, false);
    all &= oom_produce(c, 9, NULL, 1000, 0, false); /* duplicate */
    iq.transactional_id = kw_slice_str("tx");
    all &= exchange(c, &kw_msg_init_producer_id_req, 4, &iq);
    int32_t part = 0;
    kw_add_partitions_to_txn_topic at = {kw_slice_str("t"), &part, 1, {NULL, 0}};
    kw_add_partitions_to_txn_req aq;
    memset(&aq, 0, sizeof(aq));
    aq.v3_and_below_transactional_id = kw_slice_str("tx");
    aq.v3_and_below_producer_id = 1001;
    aq.v3_and_below_producer_epoch = 0;
    aq.v3_and_below_topics = &at;
    aq.n_v3_and_below_topics = 1;
    all &= exchange(c, &kw_msg_add_partitions_to_txn_req, 3, &aq);
    all &= oom_produce(c, 9, "tx", 1001, 0, true);
    kw_add_offsets_to_txn_req oq = {kw_slice_str("tx"), 1001, 0, kw_slice_str("g"), {NULL, 0}};
    all &= exchange(c, &kw_msg_add_offsets_to_txn_req, 3, &oq);
    kw_txn_offset_commit_req_partition cp = {0, 5, -1, kw_slice_str("meta"), {NULL, 0}};
    kw_txn_offset_commit_req_topic ct = {kw_slice_str("t"), &cp, 1, {NULL, 0}};
    kw_txn_offset_commit_req cq = {kw_slice_str("tx"), kw_slice_str("g"), 1001, 0, -1,
                                   kw_slice_str(""),   KW_SLICE_NULL,     &ct,  1, {NULL, 0}};
    all &= exchange(c, &kw_msg_txn_offset_commit_req, 3, &cq);
    kw_end_txn_req eq = {kw_slice_str("tx"), 1001, 0, false, {NULL, 0}};
    all &= exchange(c, &kw_msg_end_txn_req, 3, &eq);
    kw_fetch_req_partition fp = {0, -1, 0, -1, -1, 1 << 20, {{0}}, INT64_MAX, {NULL, 0}};
    kw_fetch_req_topic ft = {kw_slice_str("t"), {{0}}, &fp, 1, {NULL, 0}};
    kw_fetch_req fq;
    memset(&fq, 0, sizeof(fq));
    fq.cluster_id = KW_SLICE_NULL;
    fq.replica_id = -1;
    fq.replica_state.replica_id = -1;
    fq.replica_state.replica_epoch = -1;
    fq.max_bytes = 1 << 20;
    fq.isolation_level = 1;
    fq.session_epoch = -1;
    fq.topics = &ft;
    fq.n_topics = 1;
    all &= exchange(c, &kw_msg_fetch_req, 12, &fq);
    all &= oom_produce(c, 12, "tx", 1001, 2, true); /* implicit add */
    eq.committed = true;
    all &= exchange(c, &kw_msg_end_txn_req, 5, &eq);
    mc_close(c);
    kw_mock_free(m);
    return all;
}

START_TEST(test_allocation_failures)
{
    tx_failing clean;
    tx_failing_init(&clean, -1);
    ck_assert(oom_scenario(&clean));
    ck_assert_int_eq(clean.live, 0);
    ck_assert(!clean.size_mismatch);
    ck_assert_int_gt(clean.calls, 20);
    for (long n = 0; n < clean.calls; n++) {
        tx_failing fa;
        tx_failing_init(&fa, n);
        oom_scenario(&fa);
        ck_assert_msg(fa.live == 0, "failing allocation %ld: %lld bytes leaked", n, fa.live);
        ck_assert_msg(!fa.size_mismatch, "failing allocation %ld: a free named the wrong size", n);
    }
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_txn");
    TCase *tc = tcase_create("transactions");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_commit);
    tcase_add_test(tc, test_abort_list);
    tcase_add_test(tc, test_lso_concurrent);
    tcase_add_test(tc, test_produce_verification);
    tcase_add_test(tc, test_fencing_and_recovery);
    tcase_add_test(tc, test_timeout);
    tcase_add_test(tc, test_txn_offset_commit);
    tcase_add_test(tc, test_marker_delay);
    tcase_add_test(tc, test_add_partitions_forms);
    tcase_add_test(tc, test_transaction_v2);
    tcase_add_test(tc, test_not_coordinator);
    suite_add_tcase(s, tc);
    tc = tcase_create("oom");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}
