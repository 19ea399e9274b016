/* Request builders and result readers for kwire-mock's idempotence and transaction tests: every
 * request is a codec-built frame sent over loopback (mock_client.h); record batches come from
 * kwire/records.h with the producer fields set as an idempotent or transactional producer sets
 * them. */
#ifndef KW_TEST_TXN_UTIL_H
#define KW_TEST_TXN_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "../../support/failalloc.h"
#include "mock_client.h"

/* A batch of n records "<prefix><i>" (keys and values) from producer pid/epoch, base sequence
 * seq, transactional or not, replacing what w held. */
void tx_batch(kw_wr *w, int n, const char *prefix, int64_t pid, int16_t epoch, int32_t seq,
              bool transactional);
kw_slice tx_slice(const kw_wr *w);

/* Produce one partition (acks -1); returns the partition's error, *base its base offset. `tid`
 * NULL = null TransactionalId. */
int16_t tx_produce(mc *c, int16_t ver, const char *tid, const char *topic, int32_t part,
                   kw_slice records, int64_t *base);

/* InitProducerId; pid/epoch are the request's (v3+; -1 for none). */
int16_t tx_init(mc *c, int16_t ver, const char *tid, int32_t timeout_ms, int64_t pid, int16_t epoch,
                int64_t *pid_out, int16_t *epoch_out);

/* AddPartitionsToTxn v0-3 for partitions [0, n) of topic... given explicitly; errs[] (may be
 * NULL) receives each partition's error; returns the first one. */
int16_t tx_add(mc *c, int16_t ver, const char *tid, int64_t pid, int16_t epoch, const char *topic,
               const int32_t *parts, int n, int16_t *errs);

int16_t tx_add_offsets(mc *c, int16_t ver, const char *tid, int64_t pid, int16_t epoch,
                       const char *group);

/* EndTxn; pid_out and epoch_out (may be NULL) receive the v5 response fields. */
int16_t tx_end(mc *c, int16_t ver, const char *tid, int64_t pid, int16_t epoch, bool commit,
               int64_t *pid_out, int16_t *epoch_out);

/* TxnOffsetCommit of one partition. */
int16_t tx_offset_commit(mc *c, int16_t ver, const char *tid, const char *group, int64_t pid,
                         int16_t epoch, const char *topic, int32_t part, int64_t offset,
                         kw_slice metadata);

/* What a Fetch of one partition returned, decoded. */
#define TX_MAX_RECS 256
typedef struct tx_rec {
    int64_t offset;
    int64_t pid;
    int16_t epoch;
    int16_t control; /* -1 data, else KW_CONTROL_ABORT / KW_CONTROL_COMMIT */
    bool transactional;
    char key[32];
} tx_rec;

typedef struct tx_fetched {
    int16_t error;
    int64_t hw, lso;
    int32_t n_aborted; /* -1 = null list */
    int64_t aborted_pid[16], aborted_first[16];
    int n;
    tx_rec r[TX_MAX_RECS];
} tx_fetched;

/* Fetch v`ver` from `offset` with isolation level 0 or 1 (no wait), decoding every record of
 * every batch returned (also those before `offset` in the first batch). */
void tx_fetch(mc *c, int16_t ver, const char *topic, int32_t part, int64_t offset, int8_t isolation,
              tx_fetched *out);

/* What a read_committed consumer delivers from `f` (Kafka's algorithm: skip control records,
 * and data of an aborted transaction between its first offset and its ABORT marker), as keys
 * joined with ','. */
void tx_committed_keys(const tx_fetched *f, char *out, size_t cap);

/* An allocator whose N-th allocation fails (left counts down; -1 = never), which checks that
 * every free names the size that was allocated and counts the bytes still live: the failing
 * allocator of tests/support/failalloc.h, whose counters the tests read under their
 * names here (the anonymous struct repeats the layout of `failing`, so both views of the
 * union name the same counters). */
typedef struct tx_failing {
    union {
        failing f;
        struct {
            long left, calls;
            long long live;
            bool size_mismatch;
        };
    };
    kw_allocator a;
} tx_failing;
void tx_failing_init(tx_failing *f, long fail_at);

/* kw_mock_partition_info shortcuts. */
int64_t tx_lso(kw_mock *m, const char *topic, int32_t part);
int64_t tx_hw(kw_mock *m, const char *topic, int32_t part);

#endif
