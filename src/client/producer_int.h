/* Internal: the producer's structures, shared by its files.
 *
 *   producer.c        creation, send, flush, purge, delivery reports, the memory budget
 *   producer_part.c   partitioners (pure functions of key, counts and load)
 *   producer_acc.c    the accumulator: topics, partitions, batches, records waiting for
 *                     metadata, delivery timeouts
 *   producer_batch.c  encoding: records into a batch, sealing (compression), the Produce
 *                     request body written straight into the connection's buffer
 *   producer_send.c   the sender: which batches go where, requests, responses, retries
 *   producer_idem.c   the idempotent producer: producer id, sequences, epoch bumps
 *
 * Everything runs under the client's loop lock. Records are encoded into their batch when
 * they are sent (kw_producer_send), so a record costs no allocation of its own: a batch holds
 * its records area (a growing kw_wr), one kwi_pmsg per record (opaque and timestamp, for the
 * report), and, for kw_producer_send_zc, a splice list of borrowed values that the encoder
 * copies in when the request goes out.
 *
 * A batch lives in exactly one place: the queue of its partition (oldest first), a request in
 * flight, or the producer's list of finished batches whose reports are due. */
#ifndef KWI_CLIENT_PRODUCER_INT_H
#define KWI_CLIENT_PRODUCER_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "client/client_int.h"
#include "kwire/codec.h"
#include "kwire/producer.h"

/* Broker error codes the producer acts on. */
#define KWI_BE_NONE                   0
#define KWI_BE_UNKNOWN_TOPIC          3
#define KWI_BE_LEADER_NOT_AVAILABLE   5
#define KWI_BE_NOT_LEADER             6
#define KWI_BE_REQUEST_TIMED_OUT      7
#define KWI_BE_MESSAGE_TOO_LARGE      10
#define KWI_BE_NETWORK_EXCEPTION      13
#define KWI_BE_NOT_ENOUGH_REPLICAS_AA 20
#define KWI_BE_CLUSTER_AUTH           31
#define KWI_BE_OUT_OF_ORDER           45
#define KWI_BE_DUPLICATE_SEQ          46
#define KWI_BE_INVALID_EPOCH          47
#define KWI_BE_INVALID_PID_MAPPING    49
#define KWI_BE_TXN_ID_AUTH            53
#define KWI_BE_UNKNOWN_PRODUCER_ID    59
#define KWI_BE_PRODUCER_FENCED        90

#define KWI_API_INIT_PRODUCER_ID 22

typedef struct kwi_ptopic kwi_ptopic;
typedef struct kwi_ptp kwi_ptp;
typedef struct kwi_pbatch kwi_pbatch;
typedef struct kwi_preq kwi_preq;

/* One record's report state. */
typedef struct kwi_pmsg {
    void *opaque;
    int64_t ts;
} kwi_pmsg;

/* A borrowed value (kw_producer_send_zc): its bytes belong at `pos` of the records area. */
typedef struct kwi_pref {
    size_t pos;
    const uint8_t *ptr;
    int32_t len;
    kw_free_fn fn;
    void *ud;
} kwi_pref;

struct kwi_pbatch {
    kwi_pbatch *next; /* partition queue, request, or the done list */
    kwi_ptp *tp;
    kw_wr rec; /* the records area, uncompressed, borrowed values left out */
    kwi_pmsg *msgs;
    int32_t n, cap;
    kwi_pref *refs;
    int32_t n_refs, cap_refs;
    size_t ref_bytes; /* sum of the borrowed values' lengths */
    int64_t base_ts;  /* the first record's timestamp: deltas count from it */
    int64_t max_ts;
    int64_t created_ms; /* loop clock: linger.ms and delivery.timeout.ms count from here */
    size_t mem;         /* bytes charged to buffer.memory */
    bool full;          /* no more records go in */
    /* Sealed: the records area as sent (compressed when a codec is set). */
    bool sealed;
    kw_wr z;
    int16_t codec;
    /* Idempotence: assigned when the batch first goes into a request. */
    int64_t pid;
    int16_t epoch;
    int32_t base_seq; /* -1 = none yet */
    /* Retries. */
    int32_t attempts;
    int64_t retry_at;
    bool ambiguous; /* the last attempt may have been written (no definite answer) */
    bool in_req;    /* owned by a request in flight */
    bool purged;    /* purged in flight: reported (or about to be); its response is ignored */
    bool reported;  /* reported while its request still reads it: freed when that ends */
    uint64_t order; /* creation order within the partition: retries go back in this order */
    uint64_t span;  /* order numbers [order, order + span) are this batch's (for splits) */
    /* The outcome, once done. */
    kw_err result;
    int64_t base_offset;
    int64_t append_time;
    kw_error last; /* the latest failure */
};

/* A partition of a topic. */
struct kwi_ptp {
    kwi_ptopic *t;
    int32_t id;
    kwi_pbatch *head, *tail; /* queued, oldest (lowest sequence) first */
    int32_t n_queued;
    int32_t in_flight; /* batches in requests */
    uint64_t next_order;
    kwi_ptp *next_active;
    bool active; /* in the producer's active list (has queued batches) */
    /* Idempotence. */
    int32_t next_seq;
    int32_t last_acked; /* last sequence acknowledged; -1 = none */
};

/* A record waiting for its topic's metadata, stored in the topic's pending buffer followed by
 * its key, its value (unless borrowed) and its headers (key length, value length, bytes). */
typedef struct kwi_pend {
    int32_t partition;
    int32_t key_len, val_len, n_headers;
    int64_t ts;
    int64_t created_ms;
    void *opaque;
    bool zc; /* the value is borrowed (zc_ptr), not stored after the key */
    const uint8_t *zc_ptr;
    kw_free_fn fn;
    void *fud;
    size_t mem;  /* charged to buffer.memory */
    size_t size; /* bytes of this entry in the pending buffer, padded */
} kwi_pend;

struct kwi_ptopic {
    kwi_ptopic *next; /* hash chain */
    char *name;
    size_t len;
    uint32_t hash;
    kw_uuid id;      /* from the metadata cache; all zero when unknown */
    kwi_ptp **parts; /* created on first use */
    int32_t n_parts;
    /* Sticky partitioning of keyless records (KIP-480, KIP-794). */
    int32_t sticky;
    int64_t sticky_bytes;
    /* Records waiting for metadata. */
    kw_wr pend;
    size_t n_pend;
    bool want_md;
    size_t purge_pend; /* this many of the oldest pending records were purged */
    bool placing;      /* the pending records are being moved into batches */
    /* Available partitions for the partitioners, rebuilt when the cache changes. */
    int32_t *avail;
    int32_t n_avail, cap_avail;
    uint64_t md_gen;  /* the client's metadata_updates when this snapshot was taken */
    int32_t md_parts; /* partition count of the snapshot; 0 = none */
};

/* A Produce request in flight. The batches belong to it until its callback. */
struct kwi_preq {
    kwi_preq *prev, *next; /* the producer's requests in flight */
    kw_producer *p;        /* NULL once the producer was freed */
    kw_client *c;
    int32_t node;
    int16_t acks;
    int32_t timeout_ms;
    kw_slice txn_id; /* null unless transactional */
    int32_t n;
    kwi_pbatch **b; /* grouped by topic */
    size_t cap;
};

/* The idempotent producer's state. */
typedef enum kwi_idem_state {
    KWI_IDEM_OFF = 0, /* enable.idempotence=false */
    KWI_IDEM_NEED,    /* an id (or a new epoch) is needed */
    KWI_IDEM_WAIT,    /* waiting for in-flight requests to end before asking */
    KWI_IDEM_ASKING,  /* InitProducerId in flight */
    KWI_IDEM_READY,
    KWI_IDEM_FATAL
} kwi_idem_state;

typedef struct kwi_idem_call kwi_idem_call;

/* A metadata call of the producer's, apart from it: it may outlive the producer. */
typedef struct kwi_md_wait {
    kw_producer *p; /* NULL once the producer is gone */
    kw_client *c;
} kwi_md_wait;

struct kw_producer {
    kw_client *c;
    const kw_allocator *a;
    kw_producer_opts o;
    uint64_t rng;

    /* Settings, read once. */
    int16_t acks;
    int32_t batch_size;
    int32_t batch_max_msgs;
    int64_t linger_ms;
    int64_t max_request;
    int64_t buffer_memory;
    int16_t codec;
    int32_t level;
    int64_t delivery_timeout_ms;
    int64_t request_timeout_ms;
    int32_t retries;
    int64_t backoff_ms, backoff_max_ms;
    int32_t max_in_flight;
    int partitioner; /* KWI_PARTITIONER_* */

    /* Topics by name. */
    kwi_ptopic **buckets;
    size_t n_buckets, n_topics;

    kwi_ptp *active;                   /* partitions with queued batches */
    kwi_pbatch *done_head, *done_tail; /* reports due in the next step */
    kwi_pbatch *pool;                  /* free batches kept for reuse */
    int32_t n_pool;
    size_t pool_bytes;  /* buffer capacity held by the pooled batches */
    kw_wr scratch;      /* sealing: spliced records area before compression */
    kw_codec_ctx *zctx; /* compression contexts reused across batches; NULL = none yet */

    size_t mem_used;
    size_t outstanding;
    kwi_preq *reqs; /* Produce requests in flight */
    int32_t reqs_in_flight;
    int flushing;   /* blocking flushes in progress */
    bool flush_all; /* a flush(0) asked for everything to go now */
    bool closing;
    bool in_run; /* the sender is running: kicks are not needed */

    kwi_timer *t_run;
    int64_t next_run;      /* deadline t_run is armed for (INT64_MAX = not armed) */
    struct kwi_kick *kick; /* submit entry for sends from outside the loop */

    kwi_md_wait *md; /* metadata call in flight, or NULL */
    int64_t md_next; /* earliest time for the next metadata call */

    /* Idempotence. */
    kwi_idem_state idem;
    int64_t pid;
    int16_t epoch;
    int32_t idem_failures;
    int64_t idem_retry_at;
    kwi_idem_call *idem_call;
    kw_error fatal;

    pthread_cond_t cond; /* flush waiters with the kwire thread */
    bool cond_ok;

    kw_producer_stats st;
};

/* ---- producer.c --------------------------------------------------------------------------- */

int64_t kwi_prod_now(kw_producer *p);
void *kwi_prod_alloc(kw_producer *p, size_t n);
void kwi_prod_free_mem(kw_producer *p, void *ptr, size_t n);
/* Arms the sender's timer for `at` (loop clock) unless it fires earlier already. */
void kwi_prod_wake_at(kw_producer *p, int64_t at);
/* A batch is finished: its reports run with `err` (KW_ERR_OK: delivered at base_offset) in
 * the next report pass; the batch is freed after it. */
void kwi_prod_batch_done(kw_producer *p, kwi_pbatch *b, kw_err err, const kw_error *detail,
                         int64_t base_offset, int64_t append_time);
/* Runs the due reports now (inside the loop). */
void kwi_prod_reports(kw_producer *p);
/* Reports a record that never reached a batch (waiting for metadata). */
void kwi_prod_report_one(kw_producer *p, const char *topic, int32_t partition, void *opaque,
                         int64_t ts, kw_err err, const kw_error *detail);
/* Releases memory charged to buffer.memory and the outstanding count. */
void kwi_prod_release(kw_producer *p, size_t mem, size_t msgs);
/* The producer became fatal: fails everything queued. */
void kwi_prod_set_fatal(kw_producer *p, const kw_error *why);

/* ---- producer_part.c ---------------------------------------------------------------------- */

uint64_t kwi_prod_rand(uint64_t *state);
/* The partition for a record with KW_PARTITION_ANY, or -1 with err set. `n_parts` > 0. */
int32_t kwi_prod_partition(kw_producer *p, kwi_ptopic *t, int32_t n_parts, kw_slice key,
                           kw_error *err);
/* Accounts `bytes` to the sticky partition (switching after batch.size bytes). */
void kwi_prod_sticky_update(kw_producer *p, kwi_ptopic *t, int32_t part, size_t bytes);
/* Pure: the partition of `key` for a hashing partitioner, or -1 when it does not hash this key
 * (a null key with a *_random partitioner, or `random`). */
int32_t kwi_part_hash(int partitioner, kw_slice key, int32_t n_parts);
/* Pure: KIP-794's weighted choice: partition i of `avail` is picked with weight
 * (max queue + 1 - queue[i]); `r` is a random number. */
int32_t kwi_part_weighted(const int32_t *avail, const int32_t *queue, int32_t n, uint64_t r);

/* ---- producer_acc.c ----------------------------------------------------------------------- */

kwi_ptopic *kwi_acc_topic(kw_producer *p, const char *name, size_t len, bool create);
kwi_ptp *kwi_acc_tp(kw_producer *p, kwi_ptopic *t, int32_t part);
/* Refreshes t->avail from the metadata cache; returns the partition count or -1. */
int32_t kwi_acc_topic_md(kw_producer *p, kwi_ptopic *t);
/* Appends a record to the partition's open batch (opening one as needed). */
/* `rsize` and `body0`: the record's sizes from kwi_batch_record_size with zero deltas. */
kw_err kwi_acc_append(kw_producer *p, kwi_ptp *tp, const kw_message *m, int64_t ts, bool zc,
                      kw_free_fn fn, void *fud, size_t mem, size_t rsize, size_t body0,
                      kw_error *err);
/* Stores a record until its topic's metadata arrives. */
kw_err kwi_acc_pend(kw_producer *p, kwi_ptopic *t, const kw_message *m, int64_t ts, bool zc,
                    kw_free_fn fn, void *fud, size_t mem, kw_error *err);
/* Moves records waiting for metadata into batches once the topic is known; fails them after
 * delivery.timeout.ms or on a topic error. Returns the earliest time it needs to look again. */
int64_t kwi_acc_pending_run(kw_producer *p, int64_t now);
/* Inserts a batch being retried into its partition queue, in sequence order. */
void kwi_acc_requeue(kw_producer *p, kwi_pbatch *b);
void kwi_acc_activate(kw_producer *p, kwi_ptp *tp);
/* Pops the head batch of a partition. */
kwi_pbatch *kwi_acc_pop(kw_producer *p, kwi_ptp *tp);
/* Fails queued batches past delivery.timeout.ms; returns the next expiry time. */
int64_t kwi_acc_expire(kw_producer *p, int64_t now);
/* Purges queued batches (reported in the next pass) and pending records (failed by the next
 * pending pass). */
void kwi_acc_purge(kw_producer *p, const kw_error *why);
/* Fails every queued batch and pending record with `err`. */
void kwi_acc_fail_all(kw_producer *p, kw_err err, const kw_error *detail);
kwi_pbatch *kwi_acc_batch_new(kw_producer *p, kwi_ptp *tp);
void kwi_acc_batch_free(kw_producer *p, kwi_pbatch *b);
void kwi_acc_fini(kw_producer *p);

/* ---- producer_batch.c --------------------------------------------------------------------- */

/* Encoded size of a record, its body, and whether it is valid (0 = invalid). */
size_t kwi_batch_record_size(int64_t ts_delta, int32_t off_delta, kw_slice key, int32_t val_len,
                             const kw_header *h, int32_t nh, size_t *body);
/* Writes one record into b->rec; a borrowed value (zc) is recorded as a splice. `body0` is
 * the record's body size with zero deltas from kwi_batch_record_size (0 = size it here). */
kw_err kwi_batch_add(kwi_pbatch *b, const kw_allocator *a, int64_t ts, kw_slice key, kw_slice value,
                     bool zc, const kw_header *h, int32_t nh, size_t body0);
/* Bytes of the records area as it will be sent (before compression when not sealed). */
size_t kwi_batch_area_size(const kwi_pbatch *b);
/* Compresses the records area when a codec is set. `scratch` receives the spliced area. */
kw_err kwi_batch_seal(kwi_pbatch *b, const kw_allocator *a, kw_codec_ctx *zctx, kw_wr *scratch,
                      int level);
/* Writes the whole batch (header, records area) to `w`, with the CRC. */
void kwi_batch_write(const kwi_pbatch *b, kw_wr *w);
/* Writes a Produce request body at `ver` for the request's batches. */
kw_err kwi_batch_produce_encode(kw_wr *w, int16_t ver, const kwi_preq *q);

/* ---- producer_split.c --------------------------------------------------------------------- */

/* Splits a batch refused with MESSAGE_TOO_LARGE into smaller ones queued in its place (the
 * batch is freed). False when it cannot be split (one record, out of memory): the caller
 * fails it. */
bool kwi_split_batch(kw_producer *p, kwi_pbatch *b);

/* ---- producer_send.c ---------------------------------------------------------------------- */

/* One pass of the sender: expire, move pending records, build and send requests, re-arm. */
void kwi_send_run(kw_producer *p);
/* Backoff before retry number `attempt` (1-based), with jitter. */
int64_t kwi_send_backoff(kw_producer *p, int32_t attempt);
/* Frees a request whose producer is gone (or at free). */
void kwi_send_req_free(kw_client *c, kwi_preq *q);

/* ---- producer_idem.c ---------------------------------------------------------------------- */

/* Whether batches may be sent (the producer id is known and no epoch change is waiting). */
bool kwi_idem_ready(kw_producer *p);
/* Drives InitProducerId; returns the earliest time it needs the sender again. */
int64_t kwi_idem_run(kw_producer *p, int64_t now);
/* A new epoch (or id) is needed before more batches go out. */
void kwi_idem_bump(kw_producer *p, const char *why);
/* Assigns the batch its producer id, epoch and sequence when it first goes out. */
void kwi_idem_assign(kw_producer *p, kwi_pbatch *b);
/* A batch was acknowledged. */
void kwi_idem_acked(kw_producer *p, kwi_pbatch *b);
/* Classifies a sequence error for batch b. Returns true when the batch may be retried. */
bool kwi_idem_on_error(kw_producer *p, kwi_pbatch *b, int16_t code);
/* A batch with a sequence failed without being written for sure: a new epoch is needed. */
void kwi_idem_on_local_fail(kw_producer *p, kwi_pbatch *b);
void kwi_idem_fini(kw_producer *p);

#endif
