/* Internal: the structures of kwire-mock and the interface between its core (listeners,
 * connections, request dispatch, topics and logs) and the modules that serve APIs.
 *
 * Serving an API. A module registers one handler per API key with kwi_mock_api_register()
 * from its init function (listed in modules[] in cluster.c). The connection layer reads a frame,
 * checks the (key, version) against the accepted range, decodes the header and the body with the
 * codec, and calls
 *
 *     kw_err handler(kwi_mock_req *req, int16_t ver, void *msg);
 *
 * where `msg` is the decoded request structure (kw_msg_xxx_req's C type). The handler builds the
 * response structure (arrays from kwi_mock_req_alloc, which lives as long as the request) and
 * calls exactly one of:
 *     kwi_mock_reply(req, &resp)    encode and queue the response (in request order);
 *     kwi_mock_noreply(req)         no response at all (Produce with acks=0);
 *     kwi_mock_defer(req, cancel, ud)  answer later with kwi_mock_reply from a timer or when
 *                                      data arrives; `cancel` runs if the connection closes first.
 * A reply or noreply may free the request at once (its response fully sent), so the handler
 * must not touch req, msg or anything from kwi_mock_req_alloc afterwards.
 * Returning anything but KW_ERR_OK closes the connection (malformed or hostile input, out of
 * memory), the way a real broker drops a client that sent an invalid request.
 *
 * Adding a module (consumer groups, transactions, ...): write its files in src/mock, add one
 * entry {name, init, fini} to modules[] in cluster.c and an id to the KWI_MOCK_MOD_* enum below.
 * init registers the module's APIs (they then appear in ApiVersions at the codec's ranges) and
 * may keep state in m->mod[id]; fini frees it. What a module can build on:
 *   - topics and partitions: kwi_mock_topic_find / _find_id, kwi_mock_part_get, leaders and
 *     epochs in kwi_mock_part (a coordinator can be "the broker that leads partition N of an
 *     internal topic", or any broker by a hash of the group id);
 *   - timers and the clock: kwi_reactor_timer_new on m->r, kwi_mock_now_ms (session timeouts);
 *   - kwi_mock_data_arrived after changing what Fetch can read (transaction markers move the
 *     last stable offset: make kwi_mock_part_lso return it);
 *   - kwi_mock_append_batches, the one place batches enter a log (idempotent sequence checks
 *     and duplicate detection go there, keyed by producer id and epoch per partition);
 *   - deferred answers (kwi_mock_defer) for requests that wait: JoinGroup until the rebalance
 *     completes, like Fetch waits for data.
 *
 * Everything here runs on the thread that steps the reactor, with the cluster's lock held when
 * the cluster has its own thread. */
#ifndef KWI_MOCK_INT_H
#define KWI_MOCK_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "kwire/mock.h"
#include "kwire/proto.h"
#include "kwire/records.h"
#include "net/reactor.h"

/* API keys are below this (Kafka 4.1 uses 0..92). */
#define KWI_MOCK_API_MAX 128

/* Broker error codes the core returns (Errors.java). */
enum {
    KWI_E_UNKNOWN_SERVER = -1,
    KWI_E_NONE = 0,
    KWI_E_OFFSET_OUT_OF_RANGE = 1,
    KWI_E_CORRUPT_MESSAGE = 2,
    KWI_E_UNKNOWN_TOPIC_OR_PARTITION = 3,
    KWI_E_NOT_LEADER_OR_FOLLOWER = 6,
    KWI_E_MESSAGE_TOO_LARGE = 10,
    KWI_E_INVALID_TOPIC = 17,
    KWI_E_INVALID_REQUIRED_ACKS = 21,
    KWI_E_UNSUPPORTED_VERSION = 35,
    KWI_E_TOPIC_ALREADY_EXISTS = 36,
    KWI_E_INVALID_PARTITIONS = 37,
    KWI_E_INVALID_REPLICATION_FACTOR = 38,
    KWI_E_INVALID_REPLICA_ASSIGNMENT = 39,
    KWI_E_INVALID_CONFIG = 40,
    KWI_E_INVALID_REQUEST = 42,
    KWI_E_FETCH_SESSION_ID_NOT_FOUND = 70,
    KWI_E_INVALID_FETCH_SESSION_EPOCH = 71,
    KWI_E_FENCED_LEADER_EPOCH = 74,
    KWI_E_UNKNOWN_LEADER_EPOCH = 75,
    KWI_E_UNSUPPORTED_COMPRESSION_TYPE = 76,
    KWI_E_INVALID_RECORD = 87,
    KWI_E_UNKNOWN_TOPIC_ID = 100,
    KWI_E_UNSUPPORTED_ENDPOINT_TYPE = 119,
};

typedef struct kwi_mock_req kwi_mock_req;
typedef struct kwi_mock_conn kwi_mock_conn;
typedef struct kwi_mock_broker kwi_mock_broker;
typedef struct kwi_mock_topic kwi_mock_topic;
typedef struct kwi_mock_part kwi_mock_part;

typedef kw_err (*kwi_mock_handler)(kwi_mock_req *req, int16_t ver, void *msg);
typedef void (*kwi_mock_cancel_fn)(kwi_mock_req *req, void *ud);

/* One API in the dispatch table. */
typedef struct kwi_mock_api {
    kwi_mock_handler fn; /* NULL: not served */
    void *ud;
    const kw_msgdef *req_def, *resp_def;
    int16_t min_ver, max_ver; /* what the handler serves */
    int16_t adv_min, adv_max; /* advertised; -1/-1 = hidden */
    int16_t acc_min;          /* release emulation: advertised but refused below (4.0's
                               * Produce 0-2, versions.c); 0 = no such floor */
} kwi_mock_api;

/* ---------------------------------------------------------------- the log of a partition */

/* One stored batch. `pos` is a position in the log's byte stream, which only grows, so that
 * compacting the buffer does not have to touch the entries. */
typedef struct kwi_mock_batch {
    int64_t base, last; /* first and last offset */
    int64_t max_ts;     /* the batch's max timestamp */
    uint64_t pos;
    uint32_t len;
} kwi_mock_batch;

/* Stored batches in one contiguous buffer, so that a fetch range is one slice (zero-copy into
 * the response encoder). Bytes [head, tail) of the stream are live; buf[0] is stream position
 * buf_pos. */
typedef struct kwi_mock_log {
    const kw_allocator *a;
    uint8_t *buf;
    size_t cap;
    uint64_t buf_pos, head, tail;
    kwi_mock_batch *b; /* entries [b_first, b_first + n) */
    size_t b_cap, b_first, n;
    int64_t log_start; /* may lie inside the first batch after DeleteRecords */
    int64_t hw;        /* log end offset == high watermark (one copy, always committed) */
} kwi_mock_log;

void kwi_mock_log_init(kwi_mock_log *l, const kw_allocator *a);
void kwi_mock_log_fini(kwi_mock_log *l);
/* Appends a validated batch: copies it, stamps base offset and leader epoch, and, when
 * `append_time` >= 0, sets LogAppendTime (attribute bit, max timestamp) and recomputes the
 * CRC. Returns KW_ERR_OK or KW_ERR_NOMEM (log unchanged). */
kw_err kwi_mock_log_append(kwi_mock_log *l, const kw_batch *b, int32_t leader_epoch,
                           int64_t append_time, int64_t *base_out);
/* Drops the oldest batches while more than `max_bytes` are stored (keeping the newest). */
void kwi_mock_log_retain(kwi_mock_log *l, int64_t max_bytes);
/* Moves the log start to `offset` (log_start <= offset <= hw) and drops batches below it. */
void kwi_mock_log_truncate_head(kwi_mock_log *l, int64_t offset);
int64_t kwi_mock_log_bytes(const kwi_mock_log *l);
/* Index (0-based from the oldest) of the batch holding `offset`, or of the first batch after it;
 * n when none. */
size_t kwi_mock_log_find(const kwi_mock_log *l, int64_t offset);
const kwi_mock_batch *kwi_mock_log_batch(const kwi_mock_log *l, size_t i);
const uint8_t *kwi_mock_log_data(const kwi_mock_log *l, const kwi_mock_batch *b);
/* Bytes a fetch from `offset` could return: from the batch holding it up to the batches that
 * start at or after `upto` (the high watermark or the last stable offset). */
int64_t kwi_mock_log_avail(const kwi_mock_log *l, int64_t offset, int64_t upto);
/* The slice a fetch returns, Kafka's way: whole batches from the one holding `offset` (and
 * starting before `upto`) while they fit `max_bytes`, then the first bytes of the next batch
 * if room is left (a partial batch the client skips). When the first batch alone exceeds
 * max_bytes it is returned whole if `min_one`, else nothing. */
kw_slice kwi_mock_log_read(const kwi_mock_log *l, int64_t offset, int64_t upto, int64_t max_bytes,
                           bool min_one);

/* ---------------------------------------------------------------- topics */

/* Topic configs kwire-mock knows: the names DescribeConfigs lists. */
typedef enum kwi_mock_cfg_id {
    KWI_CFG_CLEANUP_POLICY,
    KWI_CFG_COMPRESSION_TYPE,
    KWI_CFG_MAX_MESSAGE_BYTES,
    KWI_CFG_MESSAGE_TIMESTAMP_TYPE,
    KWI_CFG_MIN_INSYNC_REPLICAS,
    KWI_CFG_RETENTION_BYTES,
    KWI_CFG_RETENTION_MS,
    KWI_CFG_SEGMENT_BYTES,
    KWI_CFG_SEGMENT_MS,
    KWI_CFG_DELETE_RETENTION_MS,
    KWI_CFG_MIN_COMPACTION_LAG_MS,
    KWI_CFG_UNCLEAN_LEADER_ELECTION,
    KWI_CFG__COUNT
} kwi_mock_cfg_id;

struct kwi_mock_part {
    kwi_mock_topic *topic;
    int32_t index;
    int32_t leader;       /* node id */
    int32_t leader_epoch; /* stamped into every appended batch */
    int32_t *replicas;    /* node ids, leader first */
    int32_t n_replicas;
    kwi_mock_log log;
    struct kwi_mock_pstate *pstate; /* producer state (idem.c); NULL until a producer id writes */
};

struct kwi_mock_topic {
    char *name;
    size_t name_len;
    kw_uuid id;
    kwi_mock_part **parts;
    int32_t n_parts;
    int16_t replication_factor;
    uint32_t spread;           /* the first partition's leader is broker spread % n + 1 */
    char *cfg[KWI_CFG__COUNT]; /* topic overrides (NUL-terminated), NULL = broker default */
    /* Parsed from cfg (or the broker defaults) whenever a config changes. */
    int64_t retention_bytes;
    int32_t max_message_bytes;
    bool compacted;
    bool log_append_time;
};

/* ---------------------------------------------------------------- brokers, connections */

struct kwi_mock_broker {
    kw_mock *m;
    int32_t node_id;
    int port;
    int lfd;
    kwi_io *lio;
};

/* A request between its frame being read and its response being written. */
struct kwi_mock_req {
    kw_mock *m;
    kwi_mock_conn *conn;
    kwi_mock_broker *broker;
    const kwi_mock_api *api;
    kw_req_hdr hdr;
    void *msg;      /* decoded request body */
    kw_arena arena; /* the decoded body's arrays, bounded by a multiple of the frame size */
    kw_arena resp;  /* what handlers allocate for the response */
    uint8_t *frame; /* the request bytes the decoded slices borrow */
    size_t frame_len;
    int state; /* REQ_* in conn.c */
    kw_wr out; /* the encoded response frame */
    size_t sent;
    kwi_mock_cancel_fn cancel;
    void *cancel_ud;
    kwi_mock_req *next; /* the connection's queue, in request order */
    /* Pacing and faults (fault*.c): the response is not sent before not_before (reactor ms),
     * goes out in pieces of at most `chunk` bytes (0 = whole) `chunk_delay_ms` apart, and the
     * connection closes once it is sent when close_after is set (also SASL failures). */
    int64_t not_before;
    uint32_t chunk;
    int32_t chunk_delay_ms;
    bool close_after;
};

/* ---------------------------------------------------------------- modules */

/* Waiting Fetches (fetch.c); the core calls kwi_mock_data_arrived after appends. */
typedef struct kwi_mock_waiter kwi_mock_waiter;

/* A module's hooks. init registers handlers (and may allocate state in m->mod[]); fini frees
 * that state. Both run on the creating/freeing thread. */
typedef struct kwi_mock_module {
    const char *name;
    kw_err (*init)(kw_mock *m);
    void (*fini)(kw_mock *m);
} kwi_mock_module;

/* Per-module state slots; a new module adds its id. */
enum {
    KWI_MOCK_MOD_CORE = 0,
    KWI_MOCK_MOD_GROUP = 1, /* group*.c */
    KWI_MOCK_MOD_TXN = 2,
    KWI_MOCK_MOD__COUNT = 8
};
/* Security (TLS, SASL) and faults take the last two slots, away from ids added from the front. */
enum {
    KWI_MOCK_MOD_SECURITY = KWI_MOCK_MOD__COUNT - 2,
    KWI_MOCK_MOD_FAULT = KWI_MOCK_MOD__COUNT - 1
};

/* The seam between the transaction module (txn*.c) and the group coordinator (group*.c), which
 * owns FindCoordinator and the committed offsets. The group module fills these in from its
 * init; a NULL member means no group module is built, and the transaction module then acts as
 * described on each. */
typedef struct kwi_mock_group_ops {
    /* The node that coordinates `key` of `key_type` (FindCoordinator's KeyType: 0 group,
     * 1 transaction). NULL: every broker coordinates every key. */
    int32_t (*coordinator)(kw_mock *m, int8_t key_type, kw_slice key);
    /* The KIP-447 member check of a TxnOffsetCommit v3+ (generation, member id, instance id):
     * KWI_E_NONE or the error to return (ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID,
     * FENCED_INSTANCE_ID, ...). NULL: not checked. */
    int16_t (*txn_member_check)(kw_mock *m, kw_slice group, int32_t generation, kw_slice member,
                                kw_slice instance);
    /* Stores a committed offset as OffsetCommit would (the transaction committed). Returns
     * KWI_E_NONE, or -1 when out of memory. NULL: transactional offsets are dropped on commit
     * (logged). */
    int16_t (*offset_store)(kw_mock *m, kw_slice group, kw_slice topic, int32_t partition,
                            int64_t offset, int32_t leader_epoch, kw_slice metadata);
} kwi_mock_group_ops;

/* ---------------------------------------------------------------- the cluster */

struct kw_mock {
    const kw_allocator *a;
    kw_mock_conf conf;
    char cluster_id[64];
    kwi_reactor *r;
    bool own_reactor;
    pthread_mutex_t lock;
    pthread_t thread;
    bool thread_running, thread_stop;

    kwi_mock_broker *brokers;
    int32_t n_brokers;
    char *bootstrap;
    size_t bootstrap_cap;

    kwi_mock_conn *conns; /* every open connection, any broker */
    uint64_t n_conns_total;

    kwi_mock_topic **topics;
    int32_t n_topics, topics_cap;
    uint32_t topic_seq; /* spreads the first leader of each new topic */

    kwi_mock_api apis[KWI_MOCK_API_MAX];
    void *mod[KWI_MOCK_MOD__COUNT];

    kwi_mock_waiter *waiters; /* Fetches waiting for data */
    kw_wr scratch;            /* decompression while validating produced batches */
    kwi_mock_group_ops group_ops;
};

/* cluster.c */
kw_err kwi_mock_new_on(const kw_mock_conf *conf, kwi_reactor *r, kw_mock **out, kw_error *err);
kwi_mock_broker *kwi_mock_broker_by_id(kw_mock *m, int32_t node_id);
int64_t kwi_mock_now_ms(const kw_mock *m);
int64_t kwi_mock_wall_ms(const kw_mock *m);
void kwi_mock_logf(kw_mock *m, int level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void kwi_mock_random(void *p, size_t n);

/* api.c: the dispatch table. Registers `fn` for `def`'s API over [min_ver, max_ver] (-1 =
 * the codec's bound); the advertised range starts equal. KW_ERR_INVALID_ARG for a range the
 * codec does not cover. */
kw_err kwi_mock_api_register(kw_mock *m, const kw_msgdef *req_def, int16_t min_ver, int16_t max_ver,
                             kwi_mock_handler fn, void *ud);
/* The (key, version) is served: advertised and within the handler's range. */
bool kwi_mock_api_accepts(const kw_mock *m, int16_t key, int16_t ver);
/* Fills `out` (arena) with the advertised APIs, sorted by key. */
kw_err kwi_mock_api_list(kw_mock *m, kw_arena *ar, kw_api_version **out, int32_t *n);

/* conn.c */
kw_err kwi_mock_conn_accept(kwi_mock_broker *b, int fd);
/* Closes every connection (cluster teardown); deferred requests get their cancel call. */
void kwi_mock_conns_free(kw_mock *m);
/* Zeroed memory that lives until the request's response is sent (response arrays). */
void *kwi_mock_req_alloc(kwi_mock_req *req, size_t n, size_t size);
kw_err kwi_mock_reply(kwi_mock_req *req, const void *resp);
/* kwi_mock_reply with a body version other than the request's (the ApiVersions fallback). */
kw_err kwi_mock_reply_ver(kwi_mock_req *req, int16_t ver, const void *resp);
void kwi_mock_noreply(kwi_mock_req *req);
void kwi_mock_defer(kwi_mock_req *req, kwi_mock_cancel_fn cancel, void *ud);
/* Closes the request's connection soon (after the current callback): for a deferred request
 * that cannot be answered (out of memory). */
void kwi_mock_req_abort(kwi_mock_req *req);
/* A copy of a slice in the request's arena, NUL-terminated; NULL when out of memory. */
char *kwi_mock_req_strdup(kwi_mock_req *req, kw_slice s);

/* topic.c */
kwi_mock_topic *kwi_mock_topic_find(kw_mock *m, kw_slice name);
kwi_mock_topic *kwi_mock_topic_find_id(kw_mock *m, const kw_uuid *id);
kwi_mock_part *kwi_mock_part_get(kwi_mock_topic *t, int32_t partition);
/* Kafka's topic name rule; returns NULL when valid, else why not. */
const char *kwi_mock_topic_name_invalid(kw_slice name);
/* Creates a topic; `assign` (n_assign rows of rf brokers, leader first) may be NULL for the
 * default spread. Returns a broker error code (NONE, TOPIC_ALREADY_EXISTS, INVALID_TOPIC,
 * INVALID_PARTITIONS, INVALID_REPLICATION_FACTOR) or -1 for out of memory. */
int16_t kwi_mock_topic_create(kw_mock *m, kw_slice name, int32_t partitions, int16_t rf,
                              const int32_t *const *assign, kwi_mock_topic **out);
void kwi_mock_topic_delete(kw_mock *m, kwi_mock_topic *t);
/* Adds partitions up to `count`; kw_err (NOMEM). */
kw_err kwi_mock_topic_grow(kw_mock *m, kwi_mock_topic *t, int32_t count,
                           const int32_t *const *assign);
/* The Metadata/Produce auto-create rule: create `name` with the defaults if allowed. Returns
 * the topic, or NULL with *ec set (UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC, or -1 NOMEM). */
kwi_mock_topic *kwi_mock_topic_auto(kw_mock *m, kw_slice name, bool allowed, int16_t *ec);
void kwi_mock_topics_free(kw_mock *m);

/* config.c: topic configs. */
const char *kwi_mock_cfg_name(kwi_mock_cfg_id id);
const char *kwi_mock_cfg_synonym(kwi_mock_cfg_id id); /* the broker setting behind the default */
int8_t kwi_mock_cfg_type(kwi_mock_cfg_id id);         /* DescribeConfigs ConfigType */
int kwi_mock_cfg_lookup(kw_slice name);               /* -1 = unknown */
/* Checks a value without storing it: NULL when valid, else why not. */
const char *kwi_mock_cfg_check(kwi_mock_cfg_id id, kw_slice value);
/* Checks and stores a value (NULL removes the override); returns NULL or why it is invalid
 * (then nothing changed). "" for out of memory. */
const char *kwi_mock_cfg_set(kw_mock *m, kwi_mock_topic *t, kwi_mock_cfg_id id, kw_slice value);
/* The effective value, written into buf; sets *is_default. */
const char *kwi_mock_cfg_value(const kw_mock *m, const kwi_mock_topic *t, kwi_mock_cfg_id id,
                               char *buf, size_t cap, bool *is_default);
void kwi_mock_cfg_apply(kw_mock *m, kwi_mock_topic *t);

/* produce.c: validation and append, shared by Produce and kw_mock_append. Returns a broker
 * error code (NONE on success; -1 out of memory) and, on a per-record error, its index and a
 * message. */
typedef struct kwi_mock_append_res {
    int64_t base_offset;
    int64_t append_time; /* -1 for CreateTime */
    int32_t bad_record;  /* -1 or the index of the offending record */
    const char *msg;     /* static text or NULL */
} kwi_mock_append_res;
int16_t kwi_mock_validate_batch(kw_mock *m, kwi_mock_part *p, const kw_batch *b, int16_t ver,
                                kwi_mock_append_res *res);
/* `txn_id` is the Produce request's TransactionalId (null for the C API), which transactional
 * batches are verified against (idem.c). */
int16_t kwi_mock_append_batches(kw_mock *m, kwi_mock_part *p, kw_slice txn_id, kw_slice records,
                                int16_t ver, bool one_batch, kwi_mock_append_res *res);

/* idem.c: the producer state of a partition (Kafka's ProducerStateManager): per producer id its
 * epoch, its last five batches (duplicate detection) and its open transaction. Appending is two
 * steps around the log append: kwi_mock_idem_check validates the producer fields of every
 * batch without changing anything and plans the new state; kwi_mock_idem_commit applies the
 * plan after the batches are stored (it cannot fail: check reserved the memory). */
typedef struct kwi_mock_idem_plan {
    struct kwi_mock_pentry *upd; /* the new state of each producer the batches touch */
    size_t n, cap;
    bool duplicate; /* a retry of a stored batch: answer with its offsets, append nothing */
} kwi_mock_idem_plan;
/* Returns KWI_E_NONE (append, or nothing to append when plan->duplicate, with
 * res->base_offset set to the stored batch's), a broker error with res->msg, or -1 out of
 * memory. On anything but NONE the plan is already released. */
int16_t kwi_mock_idem_check(kw_mock *m, kwi_mock_part *p, kw_slice txn_id, kw_slice records,
                            int16_t ver, kwi_mock_idem_plan *plan, kwi_mock_append_res *res);
/* The plan assumed the batches get the offsets from the high watermark at check time on, so
 * nothing may append between the two calls. Releases the plan. */
void kwi_mock_idem_commit(kw_mock *m, kwi_mock_part *p, kwi_mock_idem_plan *plan);
void kwi_mock_idem_plan_fini(kw_mock *m, kwi_mock_idem_plan *plan);
/* Frees the producer state of a partition (the partition is being freed). */
void kwi_mock_pstate_free(kw_mock *m, kwi_mock_part *p);
/* The first offset of the oldest open transaction, at least the log start; -1 if none. */
int64_t kwi_mock_pstate_first_open(const kwi_mock_part *p);
/* Fills a read_committed Fetch's AbortedTransactions for the records it returns (from
 * `fetch_offset`, `records` as read from the log). Out of memory: the partition's error
 * becomes UNKNOWN_SERVER_ERROR and its records are dropped. */
void kwi_mock_fetch_aborted(kwi_mock_req *req, const kwi_mock_part *p, int64_t fetch_offset,
                            kw_fetch_resp_partition *out);

/* txn.c: for the group module's OffsetFetch with RequireStable (KIP-447): whether an open
 * transaction holds an uncommitted offset for the group's partition (UNSTABLE_OFFSET_COMMIT). */
bool kwi_mock_txn_offset_pending(kw_mock *m, kw_slice group, kw_slice topic, int32_t partition);

/* fetch.c: wakes every waiting Fetch whose data may have arrived or whose topic changed. */
void kwi_mock_data_arrived(kw_mock *m);
/* Cancels all waiters (cluster teardown). */
void kwi_mock_waiters_free(kw_mock *m);

/* Module init functions (each registers its APIs). */
kw_err kwi_mock_meta_init(kw_mock *m);    /* ApiVersions, Metadata, DescribeCluster */
kw_err kwi_mock_produce_init(kw_mock *m); /* Produce */
kw_err kwi_mock_fetch_init(kw_mock *m);   /* Fetch */
kw_err kwi_mock_offsets_init(kw_mock *m); /* ListOffsets, DeleteRecords */
kw_err kwi_mock_admin_init(kw_mock *m);   /* CreateTopics, DeleteTopics, CreatePartitions */
kw_err kwi_mock_configs_init(kw_mock *m); /* DescribeConfigs */

/* TLS listeners and SASL users (security.c); SaslHandshake and SaslAuthenticate
 * (sasl_server.c); fault injection (fault.c). */
kw_err kwi_mock_security_init(kw_mock *m);
void kwi_mock_security_fini(kw_mock *m);
kw_err kwi_mock_sasl_init(kw_mock *m);
kw_err kwi_mock_fault_init(kw_mock *m);
void kwi_mock_fault_fini(kw_mock *m);

/* InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn, TxnOffsetCommit */
kw_err kwi_mock_txn_init(kw_mock *m);
void kwi_mock_txn_fini(kw_mock *m);
/* The group coordinator (group*.c): FindCoordinator, classic and KIP-848 groups, OffsetCommit,
 * OffsetFetch, ListGroups, DescribeGroups, ConsumerGroupDescribe; fills in m->group_ops. */
kw_err kwi_mock_group_init(kw_mock *m);
void kwi_mock_group_fini(kw_mock *m);

/* Whether broker `b` leads the partition. */
static inline bool
kwi_mock_is_leader(const kwi_mock_part *p, const kwi_mock_broker *b)
{
    return p->leader == b->node_id;
}

/* The last stable offset: read_committed consumers read below it. It is the first offset of
 * the oldest open transaction on the partition (never below the log start), or the high
 * watermark when none is open. */
static inline int64_t
kwi_mock_part_lso(const kwi_mock_part *p)
{
    int64_t first = p->pstate ? kwi_mock_pstate_first_open(p) : -1;
    return first >= 0 && first < p->log.hw ? first : p->log.hw;
}

static inline bool
kwi_mock_uuid_zero(const kw_uuid *id)
{
    for (int i = 0; i < 16; i++)
        if (id->b[i])
            return false;
    return true;
}

/* ---------------------------------------------------------------- security and faults
 *
 * What the connection layer (conn.c) calls into security*.c, sasl_server*.c and fault*.c.
 * Every hook is a no-op for a connection with no TLS, no SASL and no armed fault, so the
 * plaintext path is what it was. */

/* One connection's TLS session and SASL state; NULL on a listener with neither. */
typedef struct kwi_mock_sec kwi_mock_sec;

/* security.c. Made when a connection is accepted (*out NULL when the broker has no TLS and the
 * cluster no SASL users); freed (after a polite TLS close_notify) when it closes. */
kw_err kwi_mock_sec_accept(kwi_mock_broker *b, int fd, uint64_t conn_id, kwi_mock_sec **out);
void kwi_mock_sec_free(kwi_mock_sec *s);
/* recv/send through TLS when the connection has it: the results of recv(2)/send(2) (-1 with
 * errno EAGAIN to wait, 0 = peer closed); plain recv/send when s is NULL. */
ssize_t kwi_mock_sec_recv(kwi_mock_sec *s, int fd, void *buf, size_t n);
ssize_t kwi_mock_sec_send(kwi_mock_sec *s, int fd, const void *buf, size_t n);
/* Readiness TLS waits for beyond the connection's own (a read that needs a write, ...). */
unsigned kwi_mock_sec_interest(const kwi_mock_sec *s);
/* Maps the reactor's events to the work they allow: TLS may need the "other" readiness. */
void kwi_mock_sec_events(const kwi_mock_sec *s, unsigned events, bool *read, bool *write);
/* Decrypted bytes wait inside TLS: read them without waiting for the fd. */
bool kwi_mock_sec_pending(const kwi_mock_sec *s);

/* sasl_server.c: the SASL gate, run before a frame is dispatched. PASS: a Kafka request to
 * dispatch; CLOSE: not allowed in the connection's SASL state (Kafka closes the connection);
 * RAW: a raw SASL token (after SaslHandshake v0) for kwi_mock_sasl_raw. */
enum { KWI_MOCK_SASL_PASS = 0, KWI_MOCK_SASL_CLOSE = 1, KWI_MOCK_SASL_RAW = 2 };
int kwi_mock_sasl_gate(kwi_mock_sec *s, const uint8_t *frame, size_t len);
/* Whether the next frame is a raw token (it may then be shorter than a request header). */
bool kwi_mock_sasl_raw_mode(const kwi_mock_sec *s);
/* Answers a raw token with kwi_mock_reply_raw; anything but KW_ERR_OK closes the connection. */
kw_err kwi_mock_sasl_raw(kwi_mock_req *req, const uint8_t *token, size_t len);

/* conn.c, for the above. */
kwi_mock_sec *kwi_mock_req_sec(kwi_mock_req *req);
/* Queues a size-prefixed raw token as the request's answer (SaslHandshake v0 framing). */
kw_err kwi_mock_reply_raw(kwi_mock_req *req, const void *p, size_t n);
/* Closes broker b's connections (b NULL: every connection) from a zero-delay timer. */
void kwi_mock_conns_drop(kw_mock *m, kwi_mock_broker *b);
/* cluster.c: (re)opens a broker's listener on `port` (0 = ephemeral). */
kw_err kwi_mock_broker_listen(kwi_mock_broker *b, int port, kw_error *err);

/* fault.c. kwi_mock_fault_request runs after a request is decoded and before its handler: it
 * returns true when an armed fault took the request (answered it with an injected error, left
 * it unanswered, or set *e to close the connection). kwi_mock_fault_response runs on each
 * encoded response before it is queued: latency, partial writes and hostile rewrites of
 * req->out. Anything but KW_ERR_OK closes the connection. */
bool kwi_mock_fault_request(kwi_mock_req *req, kw_err *e);
kw_err kwi_mock_fault_response(kwi_mock_req *req);

#endif
