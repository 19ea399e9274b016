/* Internal: the consumer's structures, shared by its files, and the API the consumer-group
 * part (src/client/consumer_group*.c) builds on.
 *
 *   consumer.c          creation, assignment, positions, pause/resume, poll, release, stats
 *   consumer_fetch.c    the fetcher: which partitions go to which broker, Fetch requests
 *   consumer_fetch_parse.c  a Fetch response's records into a buffer chunk (transactions,
 *                       control records, compression, legacy sets)
 *   consumer_offsets.c  ListOffsets: seek to beginning, end or a time; auto.offset.reset;
 *                       the public seek, position, lag, watermarks, pause and resume
 *   consumer_group*.c   (grp) subscribe, commits, the group member, rebalance callbacks
 *
 * Everything runs under the client's loop lock (recursive), taken by every public entry point.
 *
 * A partition (kwi_ctp) has two offsets: `fetch_pos`, where the next Fetch starts (past
 * everything buffered), and `pos`, the consumed position: the offset after the last record
 * handed to the application (or the start position). Commits use `pos`. Every seek, reset or
 * unassign bumps the partition's `gen`; responses and ListOffsets answers carry the gen they
 * were sent with and are ignored when it no longer matches, so a late response can never move
 * a partition that was moved meanwhile.
 *
 * Records of one partition in one Fetch response go into one chunk (kwi_cchunk): the records
 * bytes (copied once out of the connection's receive buffer), decompressed areas, and the
 * kw_consumer_msg array pointing into them. A chunk is referenced by its partition queue while
 * it has messages to hand out and by every message handed out and not yet released; its bytes
 * count against the memory budget until the last reference goes.
 *
 * The large blocks of a chunk (the records copy and the message array) come from a small
 * per-consumer cache of freed blocks (kwi_cons_block_get/put): a steady consumer then reuses
 * the same memory instead of having the C library map fresh pages, and fault them in, for
 * every response. The cache is bounded (KWI_POOL_N blocks, a quarter of the budget) and its
 * bytes count against the budget when the fetcher sizes a request; it gives them back first
 * when the budget is short. */
#ifndef KWI_CLIENT_CONSUMER_INT_H
#define KWI_CLIENT_CONSUMER_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/client_int.h"
#include "kwire/consumer.h"

/* Broker error codes the fetcher acts on. */
#define KWI_CE_OFFSET_OUT_OF_RANGE   1
#define KWI_CE_CORRUPT_MESSAGE       2
#define KWI_CE_UNKNOWN_TOPIC         3
#define KWI_CE_LEADER_NOT_AVAILABLE  5
#define KWI_CE_NOT_LEADER            6
#define KWI_CE_REQUEST_TIMED_OUT     7
#define KWI_CE_REPLICA_NOT_AVAILABLE 9
#define KWI_CE_NETWORK_EXCEPTION     13
#define KWI_CE_TOPIC_AUTH            29
#define KWI_CE_KAFKA_STORAGE_ERROR   56
#define KWI_CE_OFFSET_NOT_AVAILABLE  78
#define KWI_CE_FENCED_LEADER_EPOCH   74
#define KWI_CE_UNKNOWN_LEADER_EPOCH  75
#define KWI_CE_UNKNOWN_TOPIC_ID      100
#define KWI_CE_INCONSISTENT_TOPIC_ID 103

#define KWI_API_FETCH        1
#define KWI_API_LIST_OFFSETS 2

/* The block cache: at most this many blocks, each at least KWI_POOL_MIN bytes (smaller ones
 * the C library serves well from its own free lists). */
#define KWI_POOL_N   64
#define KWI_POOL_MIN ((size_t)64 << 10)

typedef struct kwi_ctp kwi_ctp;
typedef struct kwi_cchunk kwi_cchunk;
typedef struct kwi_cfreq kwi_cfreq;

/* A partition's state. */
typedef enum kwi_ctp_state {
    KWI_CTP_WAIT_POS = 0, /* the group part looks up the committed offset (kwi_cons_set_start) */
    KWI_CTP_RESET,        /* needs ListOffsets for `reset_to` (earliest, latest or a time) */
    KWI_CTP_LISTING,      /* ListOffsets in flight */
    KWI_CTP_FETCH,        /* has a position: fetches (unless paused) */
    KWI_CTP_STOPPED       /* an error the application must act on (seek to leave it) */
} kwi_ctp_state;

/* Start specifications for KWI_CTP_RESET (ListOffsets timestamps). */
#define KWI_RESET_LATEST   (-1)
#define KWI_RESET_EARLIEST (-2)

struct kwi_ctp {
    kwi_ctp *hnext; /* hash chain */
    char *topic;    /* NUL-terminated copy */
    size_t tlen, topic_sz;
    uint32_t hash;
    int32_t partition;
    kwi_ctp_state state;
    uint64_t gen;     /* bumped by seek, reset and unassign */
    int64_t reset_to; /* KWI_RESET_* or a timestamp (KWI_CTP_RESET / LISTING) */
    bool reset_auto;  /* the reset comes from auto.offset.reset (OFFSET_OUT_OF_RANGE) */
    int64_t fetch_pos;
    int32_t fetch_epoch; /* last fetched batch's leader epoch (Fetch v12 LastFetchedEpoch) */
    int64_t pos;         /* consumed position; KW_OFFSET_INVALID while resolving */
    int32_t pos_epoch;   /* leader epoch of the last record handed out; -1 = unknown */
    int64_t hw, lso, log_start;
    bool paused;
    bool in_flight;            /* in a Fetch (or ListOffsets) in flight */
    uint64_t req_serial;       /* which request, when in_flight */
    int64_t backoff_to;        /* loop clock: not before this */
    int32_t failures;          /* consecutive retriable errors, for the backoff */
    int16_t last_err;          /* last broker error reported in-band, to report a repeat once */
    kwi_cchunk *qhead, *qtail; /* buffered chunks, oldest first */
    bool ready;                /* in the consumer's ready list */
    kwi_ctp *rnext;            /* ready list */
};

struct kwi_cchunk {
    kwi_cchunk *next;          /* partition queue */
    kwi_cchunk *lprev, *lnext; /* the consumer's list of live chunks */
    kw_consumer *k;            /* NULL once the consumer is freed */
    kw_client *c;
    size_t refs;     /* queue reference + messages handed out and not released */
    size_t mem;      /* bytes charged to the budget */
    size_t alloc;    /* size of this allocation (struct, msgs, headers, topic) */
    uint8_t *data;   /* the records bytes (a block of data_cap bytes) */
    size_t data_cap; /* 0: no block */
    uint8_t **bufs;  /* decompressed areas */
    size_t *buf_caps;
    size_t n_bufs;
    size_t bufs_slots; /* bufs and buf_caps are their own allocation of this many slots; 0 =
                          inside the chunk's allocation */
    kw_consumer_msg *msgs;
    size_t msgs_cap; /* bytes of msgs' own block; 0 = inside the chunk's allocation */
    size_t n, taken; /* messages; how many were handed out */
    kw_header *hdrs;
    size_t n_hdrs;
    size_t hdrs_cap; /* bytes of hdrs' own allocation; 0 = inside the chunk's allocation */
    bool errs;       /* an in-band error chunk (no records) */
    char *topic;     /* the messages' topic name (the partition may go away first) */
    char *extra;     /* an in-band error's text, or NULL */
    int64_t end_pos; /* fetch position after this chunk: pos moves here when it is drained */
    int32_t end_epoch;
    kwi_ctp *tp; /* NULL once it left its partition's queue */
    bool queued;
};

/* What the group part plugs in (all may be NULL). Set by consumer_group.c. */
typedef struct kwi_cons_hooks {
    /* Inside kw_consumer_poll, on the polling thread, WITHOUT the loop lock held, before
     * messages are handed out: counts as "the application polled" and delivers rebalance
     * callbacks. An error (the group member stopped for good) makes the poll return it. */
    kw_err (*on_poll)(kw_consumer *k, kw_error *err);
    /* Inside kw_consumer_free with the lock held: free the group state. */
    void (*on_free)(kw_consumer *k);
} kwi_cons_hooks;

struct kwi_cgroup; /* the group part's state, owned by consumer_group.c */

struct kw_consumer {
    kw_client *c;
    const kw_allocator *a;
    kw_consumer_opts o;

    /* Settings, read once. */
    int32_t min_bytes, max_wait_ms, max_bytes, part_max_bytes;
    int8_t isolation; /* 0 read_uncommitted, 1 read_committed */
    int reset;        /* KWI_OFFSET_RESET_* */
    size_t budget;    /* queued.max.messages.kbytes in bytes */
    int64_t backoff_ms, backoff_max_ms, request_timeout_ms;
    char *rack; /* client.rack; "" = none */
    size_t rack_sz;

    /* Assigned partitions: by (topic, partition) in a hash table, and in an array in
     * assignment order. */
    kwi_ctp **buckets;
    size_t n_buckets;
    kwi_ctp **parts;
    size_t n_parts, cap_parts;

    kwi_ctp *ready_head, *ready_tail; /* partitions with messages to hand out */
    kwi_cchunk *live;                 /* every chunk alive */
    size_t buffered;                  /* messages queued, not handed out */
    size_t mem;                       /* bytes of live chunks */
    size_t reserved;                  /* max_bytes of Fetch requests in flight */

    kwi_cfreq *reqs;    /* Fetch and ListOffsets requests in flight */
    uint64_t serial;    /* of the last request */
    int16_t lo_max_ver; /* ListOffsets version cap after a response did not parse; -1 none */
    kwi_timer *t_run;
    int64_t next_run; /* deadline t_run is armed for; INT64_MAX = not armed */
    struct kwi_ckick *kick;
    bool stalled; /* fetching stopped on the budget */
    bool closing;
    bool held; /* kwi_cons_hold: poll hands out nothing */

    /* Freed blocks kept for reuse (see the top of this file); `pooled` is their bytes. */
    struct kwi_cblock {
        void *p;
        size_t cap;
    } pool[KWI_POOL_N];
    size_t n_pool, pooled;

    /* Parsing scratch, reused across responses. */
    uint8_t **sbufs;
    size_t *sbuf_caps;
    size_t n_sbufs, cap_sbufs;
    kw_codec_ctx *zctx; /* decompression contexts reused across batches; NULL = none yet */

    pthread_cond_t cond; /* pollers waiting while the kwire thread runs */
    bool cond_ok;
    int wakeups; /* kw_consumer_wakeup calls not yet seen by a poller */

    kwi_cons_hooks hooks;
    struct kwi_cgroup *grp; /* the group part's state; NULL without a group */

    kw_consumer_stats st;
};

/* ---- consumer.c --------------------------------------------------------------------------- */

int64_t kwi_cons_now(kw_consumer *k);
void *kwi_cons_alloc(kw_consumer *k, size_t n);
void kwi_cons_free_mem(kw_consumer *k, void *p, size_t n);
kwi_ctp *kwi_cons_find(kw_consumer *k, const char *topic, size_t len, int32_t partition);
/* Runs the fetcher at `at` (loop clock) unless it is due earlier already. Any context with the
 * lock held: from outside a step it queues a submit entry that wakes the loop. */
void kwi_cons_wake_at(kw_consumer *k, int64_t at);
/* Drops a partition's buffered chunks (messages handed out stay valid). */
void kwi_cons_drop_queue(kw_consumer *k, kwi_ctp *tp);
/* Appends a chunk to its partition's queue (or applies an empty one's end position). */
void kwi_cons_enqueue(kw_consumer *k, kwi_ctp *tp, kwi_cchunk *ch);
/* A chunk for `tp` with room for n messages, nh headers and nbufs decompressed areas, plus
 * `extra` bytes after the topic name (an error text); references: 1 (the queue's). The
 * records bytes (data) are attached by the caller. NULL on out of memory. */
kwi_cchunk *kwi_cons_chunk_new(kw_consumer *k, kwi_ctp *tp, size_t n, size_t nh, size_t nbufs,
                               size_t extra);
/* Adds bytes the chunk owns (records copy, decompressed areas) to its budget charge. */
void kwi_cons_chunk_charge(kwi_cchunk *ch, size_t bytes);
/* A block of at least `need` bytes, from the cache when one fits; *cap receives its size (pass
 * it to kwi_cons_block_put or free it with that size). NULL on out of memory. */
void *kwi_cons_block_get(kw_consumer *k, size_t need, size_t *cap);
/* Gives a block back: kept in the cache when it is large and the cache has room, else freed.
 * k may be NULL (the consumer is gone): `a` frees it. */
void kwi_cons_block_put(kw_consumer *k, const kw_allocator *a, void *p, size_t cap);
/* Frees cached blocks until `bytes` more fit the budget next to what is alive and reserved,
 * or the cache is empty; all of them with bytes == SIZE_MAX. */
void kwi_cons_pool_trim(kw_consumer *k, size_t bytes);
/* Memory the budget sees as used: chunks alive, plus the larger of the bytes reserved for
 * Fetch requests in flight and the cached blocks (their answers are copied into those). */
static inline size_t
kwi_cons_used(const kw_consumer *k)
{
    return k->mem + (k->reserved > k->pooled ? k->reserved : k->pooled);
}
/* Drops a reference of a chunk; frees it at zero. */
void kwi_cons_chunk_unref(kwi_cchunk *ch);
/* Queues an in-band error message for a partition. */
void kwi_cons_error(kw_consumer *k, kwi_ctp *tp, kw_err e, int16_t code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Wakes pollers waiting on the condition variable. */
void kwi_cons_signal(kw_consumer *k);
/* Backoff for a partition's next attempt after `failures` failures. */
int64_t kwi_cons_backoff(kw_consumer *k, int32_t failures);
/* A retriable failure of a partition's Fetch or ListOffsets: counts it, backs off (the
 * fetcher is woken when the backoff ends) and has the topic's metadata refreshed (`code`, the
 * broker's error, lets the cache decide how; 0 = refresh the topic). */
void kwi_cons_retry(kw_consumer *k, kwi_ctp *tp, int16_t code);

/* A partition and its leader, for grouping Fetch and ListOffsets requests by broker. */
typedef struct kwi_ccand {
    kwi_ctp *tp;
    int32_t leader, epoch;
} kwi_ccand;
/* qsort order of kwi_ccand: by leader, then topic, then partition. */
int kwi_cons_cmp_cand(const void *a, const void *b);
/* Moves a partition to `offset`: gen bump, queue dropped. offset < 0 = a KWI_RESET_* /
 * timestamp reset (reset_to). */
void kwi_cons_move(kw_consumer *k, kwi_ctp *tp, int64_t offset, bool reset, int64_t reset_to);
/* Starts a partition from a kw_topic_partition offset (>= 0, BEGINNING, END, STORED,
 * INVALID). */
void kwi_cons_start(kw_consumer *k, kwi_ctp *tp, int64_t offset);
/* A valid topic name (1-249 of [a-zA-Z0-9._-]); *len receives its length. */
bool kwi_cons_topic_ok(const char *s, size_t *len);
/* Checks a public partition list: names, partitions, offsets (when `offsets`), duplicates. */
kw_err kwi_cons_check_list(const kw_topic_partition *parts, size_t n, bool offsets, kw_error *err);
/* An assigned partition for a public call; NULL with err set (INVALID_ARG, NOT_FOUND). */
kwi_ctp *kwi_cons_lookup(kw_consumer *k, const char *topic, int32_t partition, kw_error *err);
/* Starts a partition by auto.offset.reset (after OFFSET_OUT_OF_RANGE, broker code `code`, or
 * with no offset, code 0); with "none" the partition stops with an in-band error. */
void kwi_cons_auto_reset(kw_consumer *k, kwi_ctp *tp, int16_t code, const char *why);

/* ---- consumer_fetch.c --------------------------------------------------------------------- */

/* A Fetch or ListOffsets request in flight: one allocation holding the request body (names
 * copied: the body must outlive the partitions it names until it is encoded). */
struct kwi_cfreq {
    kwi_cfreq *prev, *next;
    kw_consumer *k; /* NULL once the consumer is freed */
    kw_client *c;
    int16_t api;
    int32_t node;
    uint64_t serial;
    size_t reserved; /* budget bytes this Fetch may bring */
    size_t alloc;
    union {
        kw_fetch_req fetch;
        kw_list_offsets_req lo;
    } req;
};

/* Allocates a request with `extra` bytes after it (8-aligned); linked into k->reqs. */
kwi_cfreq *kwi_req_new(kw_consumer *k, int16_t api, int32_t node, size_t extra);
/* Unlinks and frees a request (also one whose consumer is gone). */
void kwi_req_free(kwi_cfreq *q);
/* Marks partitions of finished request `serial` no longer in flight. */
void kwi_req_clear(kw_consumer *k, uint64_t serial);

/* One pass of the fetcher: ListOffsets for partitions to reset, Fetch requests for brokers
 * with fetchable partitions and no Fetch in flight, within the budget. Re-arms the timer. */
void kwi_fetch_run(kw_consumer *k);
/* Applies one partition's data of a Fetch response (error_code 0): watermarks, records into
 * a chunk on the queue, a corrupt batch as an in-band error that stops the partition. */
void kwi_fetch_apply(kw_consumer *k, kwi_ctp *tp, const kw_fetch_resp_partition *rp);
/* Detaches requests in flight from a consumer being freed. */
void kwi_fetch_fini(kw_consumer *k);

/* ---- consumer_fetch_parse.c --------------------------------------------------------------- */

/* Turns one partition's records of a Fetch response into a chunk (NULL when there is nothing
 * new and no error). Advances tp->fetch_pos past every complete batch. On a corrupt batch the
 * records before it are kept and *bad receives the error (tp then stops). */
kwi_cchunk *kwi_parse_partition(kw_consumer *k, kwi_ctp *tp, const kw_fetch_resp_partition *rp,
                                kw_err *bad, kw_error *detail);
void kwi_parse_fini(kw_consumer *k);

/* ---- consumer_offsets.c ------------------------------------------------------------------- */

/* Sends ListOffsets for partitions in KWI_CTP_RESET, one request per leader. Returns the
 * earliest time it needs to run again (INT64_MAX = not needed). */
int64_t kwi_offsets_run(kw_consumer *k, int64_t now);

/* ---- the API for the group part (implemented in consumer.c) -------------------------------
 *
 * All with the loop lock held (take k->c->lock; it is recursive). The public
 * kw_consumer_incremental_assign / kw_consumer_incremental_unassign / kw_consumer_assign also
 * work for the group part: with KW_OFFSET_STORED as the offset and k->grp set, a partition
 * waits in KWI_CTP_WAIT_POS (no fetching) until kwi_cons_set_start gives its committed offset.
 */

/* Sets the start of a partition waiting for its committed offset: offset >= 0 starts there
 * (leader_epoch may be -1); offset < 0 = no committed offset: auto.offset.reset. KW_ERR_NOT_FOUND
 * when it is not assigned (ignore: revoked meanwhile); KW_ERR_STATE when it is not waiting
 * (it already has a position: left alone). */
kw_err kwi_cons_set_start(kw_consumer *k, const char *topic, size_t len, int32_t partition,
                          int64_t offset, int32_t leader_epoch);

/* The consumed positions of every assigned partition that has one (the offset after the last
 * record handed to the application, or its start position), for commits: fills up to `cap`
 * entries of `out` (topic pointers valid until the next assignment change; metadata NULL)
 * and returns how many there are (call with cap 0 to size). */
size_t kwi_cons_consumed(kw_consumer *k, kw_topic_partition *out, size_t cap);

/* The consumed position of one partition; KW_ERR_NOT_FOUND when not assigned. */
kw_err kwi_cons_position(kw_consumer *k, const char *topic, size_t len, int32_t partition,
                         int64_t *offset, int32_t *leader_epoch);

/* While held, poll hands out no message (eager rebalance: partitions pending revocation);
 * fetched data stays buffered. */
void kwi_cons_hold(kw_consumer *k, bool on);

/* Installs the group part's hooks. */
void kwi_cons_set_hooks(kw_consumer *k, const kwi_cons_hooks *h);

/* (consumer_group.c) Called by kw_consumer_assign and kw_consumer_incremental_assign, lock
 * held, before the partitions are added: with a group.id, manual assignments commit through
 * the group coordinator and start at their committed offsets (KW_OFFSET_STORED). */
kw_err kwi_cg_manual_assign(kw_consumer *k, kw_error *err);

#endif
