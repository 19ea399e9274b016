/* Internal to kwire-mock's producer-id, idempotence and transaction module: the transaction
 * coordinator's state (txn.c, txn_api.c) and the per-partition producer state (idem.c).
 *
 * The coordinator. Each transactional id has one kwi_txn: its producer id and epoch, the
 * previous ones (KIP-360 recovery), its state (Kafka's TransactionState without the internal
 * Dead and PrepareEpochFence), the partitions and groups in the open transaction, and the
 * offsets TxnOffsetCommit holds back until the transaction ends. A transaction ends by writing
 * a COMMIT or ABORT control batch into every partition it added, which moves their last stable
 * offsets; by default that happens at once, inside EndTxn, or after txn_marker_delay_ms (a
 * Kafka coordinator answers EndTxn when PrepareCommit is logged and writes the markers
 * afterwards, and clients see CONCURRENT_TRANSACTIONS meanwhile).
 *
 * Which broker coordinates a transactional id is the group module's call (FindCoordinator owns
 * key type 1): m->group_ops.coordinator. Without a group module every broker coordinates every
 * transactional id, which is the seam kwi_txn_is_coordinator keeps.
 *
 * The producer state of a partition is Kafka's ProducerStateEntry per producer id: the epoch,
 * the metadata of the last five batches (duplicates of any of them are answered with their
 * original offsets), the coordinator epoch of the last marker and the first offset of the open
 * transaction, plus the partition's index of aborted transactions that read_committed Fetches
 * return. */
#ifndef KWI_MOCK_TXN_INT_H
#define KWI_MOCK_TXN_INT_H

#include "mock_int.h"

/* Broker error codes of this module (Errors.java). */
enum {
    KWI_TXE_OFFSET_METADATA_TOO_LARGE = 12,
    KWI_TXE_NOT_COORDINATOR = 16,
    KWI_TXE_NOT_ENOUGH_REPLICAS = 19,
    KWI_TXE_INVALID_GROUP_ID = 24,
    KWI_TXE_OUT_OF_ORDER_SEQUENCE_NUMBER = 45,
    KWI_TXE_INVALID_PRODUCER_EPOCH = 47,
    KWI_TXE_INVALID_TXN_STATE = 48,
    KWI_TXE_INVALID_PRODUCER_ID_MAPPING = 49,
    KWI_TXE_INVALID_TRANSACTION_TIMEOUT = 50,
    KWI_TXE_CONCURRENT_TRANSACTIONS = 51,
    KWI_TXE_TRANSACTIONAL_ID_AUTHORIZATION_FAILED = 53,
    KWI_TXE_OPERATION_NOT_ATTEMPTED = 55,
    KWI_TXE_PRODUCER_FENCED = 90,
    KWI_TXE_TRANSACTION_ABORTABLE = 120,
};

/* Batches per producer kept for duplicate detection (ProducerStateEntry.NUM_BATCHES_TO_RETAIN,
 * which matches the producer's max.in.flight.requests.per.connection limit of 5). */
#define KWI_IDEM_BATCHES 5
/* offset.metadata.max.bytes */
#define KWI_TXN_METADATA_MAX 4096

/* ---------------------------------------------------------------- producer state (idem.c) */

typedef struct kwi_mock_pbatch {
    int32_t first_seq, last_seq;
    int64_t first_off, last_off;
} kwi_mock_pbatch;

typedef struct kwi_mock_pentry {
    int64_t pid;
    int16_t epoch;       /* -1: no epoch seen yet */
    int32_t coord_epoch; /* of the last marker; -1 none */
    int64_t txn_first;   /* first offset of the open transaction; -1 none */
    int64_t last_ms;     /* reactor time of the last write (producer.id.expiration.ms) */
    int32_t n_b;         /* batches in b[], oldest first */
    kwi_mock_pbatch b[KWI_IDEM_BATCHES];
} kwi_mock_pentry;

/* A transaction aborted on this partition: data from `pid` in [first, last] is to be skipped by
 * read_committed consumers (`last` is the offset of the ABORT marker). */
typedef struct kwi_mock_aborted {
    int64_t pid, first, last;
} kwi_mock_aborted;

typedef struct kwi_mock_pstate kwi_mock_pstate;

struct kwi_mock_pstate {
    kwi_mock_pentry *e; /* sorted by pid */
    size_t n, cap;
    kwi_mock_aborted *ab; /* in marker order, so sorted by last */
    size_t n_ab, ab_cap;
    size_t n_open; /* entries with an open transaction */
};

/* Writes an end-of-transaction marker (COMMIT or ABORT control batch) for producer pid/epoch
 * into the partition and completes the producer's transaction there (an abort is indexed for
 * read_committed Fetches). Returns KW_ERR_OK or KW_ERR_NOMEM (nothing written). */
kw_err kwi_mock_idem_marker(kw_mock *m, kwi_mock_part *p, int64_t pid, int16_t epoch, bool commit,
                            int32_t coord_epoch);

/* ---------------------------------------------------------------- the coordinator (txn.c) */

typedef enum kwi_txn_state {
    KWI_TXN_EMPTY,
    KWI_TXN_ONGOING,
    KWI_TXN_PREPARE_COMMIT,
    KWI_TXN_PREPARE_ABORT,
    KWI_TXN_COMPLETE_COMMIT,
    KWI_TXN_COMPLETE_ABORT,
} kwi_txn_state;

/* A partition in a transaction, by topic id so that a deleted and re-created topic of the same
 * name does not get the old transaction's marker. */
typedef struct kwi_txn_tp {
    kw_uuid topic_id;
    int32_t partition;
} kwi_txn_tp;

/* A copied string (NUL-terminated; len -1 = null). */
typedef struct kwi_txn_str {
    char *s;
    int32_t len;
} kwi_txn_str;

/* An offset TxnOffsetCommit stored, applied to the group when the transaction commits. */
typedef struct kwi_txn_offset {
    kwi_txn_str group, topic, metadata;
    int32_t partition;
    int64_t offset;
    int32_t leader_epoch;
} kwi_txn_offset;

typedef struct kwi_txn {
    kw_mock *m;
    kwi_txn_str id;
    int64_t pid, last_pid;
    int16_t epoch, last_epoch;
    /* Transaction version 2: the producer id that replaces an exhausted one once the markers
     * of the ending transaction (which carry the old one) are written; -1 none. */
    int64_t next_pid;
    int32_t timeout_ms;
    kwi_txn_state state;
    int64_t start_ms;
    kwi_txn_tp *tps;
    size_t n_tps, cap_tps;
    kwi_txn_str *groups;
    size_t n_groups, cap_groups;
    kwi_txn_offset *offs;
    size_t n_offs, cap_offs;
    /* The transaction timeout while ONGOING; the marker delay while PREPARE_*. */
    kwi_timer *timer;
} kwi_txn;

typedef struct kwi_txn_mod {
    kwi_txn **txns;
    size_t n, cap;
    int64_t next_pid;
} kwi_txn_mod;

kwi_txn *kwi_txn_find(kw_mock *m, kw_slice id);
/* A fresh producer id from the cluster-wide sequence (idempotent and transactional alike). */
int64_t kwi_txn_new_pid(kw_mock *m);
/* Whether the broker that received `req` coordinates the key (see the group seam). */
bool kwi_txn_is_coordinator(kwi_mock_req *req, int8_t key_type, kw_slice key);
/* Adds a partition to the transaction, starting it if it was not ONGOING (the transaction
 * timeout starts then). KW_ERR_NOMEM leaves the transaction unchanged. */
kw_err kwi_txn_add_partition(kwi_txn *t, const kw_uuid *topic_id, int32_t partition);
kw_err kwi_txn_add_group(kwi_txn *t, kw_slice group);
bool kwi_txn_has_partition(const kwi_txn *t, const kw_uuid *topic_id, int32_t partition);
bool kwi_txn_has_group(const kwi_txn *t, kw_slice group);
/* Stores (or replaces) a pending transactional offset. KW_ERR_NOMEM leaves it unchanged. */
kw_err kwi_txn_put_offset(kwi_txn *t, kw_slice group, kw_slice topic, int32_t partition,
                          int64_t offset, int32_t leader_epoch, kw_slice metadata);
/* `s` equals the copied string. */
bool kwi_txn_str_eq(const kwi_txn_str *a, kw_slice s);

/* txn_api.c: the KIP-890 check a partition leader makes before appending a transactional batch:
 * the transaction must be ongoing with this partition in it. Produce v12+ adds the partition
 * implicitly (transaction version 2). Returns KWI_E_NONE or the Produce error, with *msg. */
int16_t kwi_txn_verify_produce(kw_mock *m, kw_slice txn_id, int64_t pid, int16_t epoch,
                               kwi_mock_part *p, int16_t ver, const char **msg);
kw_err kwi_mock_txn_api_init(kw_mock *m);

#endif
