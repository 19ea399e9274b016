/* Internal: the consumer-group member as a pure state machine.
 *
 * Events and the current time go in; requests to send and callbacks to run come out. The member
 * does no I/O, reads no clock, starts no timer and never calls back: the client layer (or a test)
 * feeds it and drains it, so every rebalance path runs on virtual time with scripted broker
 * answers (tests/unit/group). Both group protocols live here behind one API:
 *
 *   classic  (group.protocol=classic): FindCoordinator, JoinGroup, SyncGroup, Heartbeat,
 *            LeaveGroup; the leader runs the assignor; eager or cooperative (KIP-429)
 *            rebalancing; static membership (KIP-345).
 *   consumer (group.protocol=consumer, KIP-848): the ConsumerGroupHeartbeat loop, server-side
 *            assignment by topic id, member epochs, revoke-before-assign reconciliation.
 *
 * Driving it (the client layer's loop, on one thread):
 *
 *     kwi_member_on_*(m, now, ...)           feed what happened
 *     while (kwi_member_next_event(m, &ev))  run the rebalance callbacks; inside them the
 *         ...                                application may call kwi_member_commit
 *     while (kwi_member_next_request(m, &r)) encode r.body with r.def and send it
 *         ...
 *     wake up at kwi_member_next_deadline(m) and call kwi_member_on_timer
 *
 * Ordering contract: requests come out in the order the coordinator must see them. Send every
 * request whose node_id is not -1 on ONE connection to the coordinator, in that order (Kafka
 * handles a connection's requests one at a time, in order), so an OffsetCommit made inside a
 * revoke callback reaches the coordinator before the JoinGroup (or KIP-848 acknowledgement)
 * that ends the generation it belongs to. The member additionally holds that JoinGroup /
 * acknowledgement back until the events that allow commits were drained and the commits made
 * meanwhile were answered, bounded by the rebalance timeout (max.poll.interval.ms), as Java's
 * onJoinPrepare waits for its commits.
 *
 * Memory: everything handed out (a request body, an event's partition set) stays valid until
 * the next call of the same drain function, or until kwi_member_free. Everything passed in is
 * copied; the caller may free it when the call returns.
 *
 * Errors: out of memory inside the machine makes it FATAL with KW_ERR_NOMEM (reported through
 * a KWI_MEMBER_EV_ERROR event that needs no allocation); nothing aborts. Broker errors that the
 * application must see arrive as KWI_MEMBER_EV_ERROR events (fatal or not).
 *
 * Threads: none. A member is used by one thread at a time. */
#ifndef KWI_GROUP_MEMBER_H
#define KWI_GROUP_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwire/alloc.h"
#include "kwire/conf.h"
#include "kwire/error.h"
#include "kwire/proto.h"
#include "group/assign.h"

/* Kafka API keys the member speaks (pinned by the protocol). */
#define KWI_API_OFFSET_COMMIT            8
#define KWI_API_OFFSET_FETCH             9
#define KWI_API_FIND_COORDINATOR         10
#define KWI_API_JOIN_GROUP               11
#define KWI_API_HEARTBEAT                12
#define KWI_API_LEAVE_GROUP              13
#define KWI_API_SYNC_GROUP               14
#define KWI_API_CONSUMER_GROUP_HEARTBEAT 68

/* ---------------------------------------------------------------- topic-partition sets */

/* One topic of a set: a NUL-terminated name, its id when known (KIP-848), and its partitions
 * sorted ascending without duplicates. */
typedef struct kwi_tpset_topic {
    char *name;
    size_t name_len;
    kw_uuid id;
    int32_t *parts;
    int32_t n, cap;
} kwi_tpset_topic;

/* A set of topic-partitions, topics sorted by name; a topic is present only with at least one
 * partition. Value type: _init/_fini. */
typedef struct kwi_tpset {
    const kw_allocator *a;
    kwi_tpset_topic *t;
    int32_t n, cap;
} kwi_tpset;

void kwi_tpset_init(kwi_tpset *s, const kw_allocator *a);
void kwi_tpset_fini(kwi_tpset *s);
void kwi_tpset_clear(kwi_tpset *s);
/* Add one partition (>= 0). KW_ERR_OK, KW_ERR_NOMEM, KW_ERR_INVALID_ARG (negative partition,
 * null or over-long name). The set is unchanged on failure. */
kw_err kwi_tpset_add(kwi_tpset *s, kw_slice topic, int32_t partition);
/* Remove one partition; returns whether it was there. */
bool kwi_tpset_remove(kwi_tpset *s, kw_slice topic, int32_t partition);
/* Record a topic's id; KW_ERR_NOT_FOUND if the topic is not in the set. */
kw_err kwi_tpset_set_id(kwi_tpset *s, kw_slice topic, const kw_uuid *id);
const kwi_tpset_topic *kwi_tpset_find(const kwi_tpset *s, kw_slice topic);
bool kwi_tpset_contains(const kwi_tpset *s, kw_slice topic, int32_t partition);
int32_t kwi_tpset_count(const kwi_tpset *s);
bool kwi_tpset_equal(const kwi_tpset *a, const kwi_tpset *b);
/* dst := src; dst |= src; out := a - b. On failure the destination holds a subset. */
kw_err kwi_tpset_copy(kwi_tpset *dst, const kwi_tpset *src);
kw_err kwi_tpset_add_all(kwi_tpset *dst, const kwi_tpset *src);
kw_err kwi_tpset_diff(kwi_tpset *out, const kwi_tpset *a, const kwi_tpset *b);
bool kwi_uuid_is_zero(const kw_uuid *u);

/* ---------------------------------------------------------------- configuration */

typedef enum kwi_member_protocol {
    KWI_MEMBER_CLASSIC = 0,  /* group.protocol=classic */
    KWI_MEMBER_CONSUMER = 1, /* group.protocol=consumer (KIP-848) */
} kwi_member_protocol;

/* Metadata of one topic as the client layer knows it. */
typedef struct kwi_member_topic_md {
    kw_slice name;
    kw_uuid id;         /* all zero when unknown */
    int32_t partitions; /* < 0: the topic does not exist (or is not visible) */
} kwi_member_topic_md;

#define KWI_MEMBER_MAX_ASSIGNORS 8

typedef struct kwi_member_cfg {
    const kw_allocator *alloc; /* NULL: the default allocator */
    kwi_member_protocol protocol;
    const char *group_id;          /* required, non-empty */
    const char *group_instance_id; /* NULL: dynamic member; else static (KIP-345) */
    const char *client_rack;       /* NULL or client.rack */
    int32_t session_timeout_ms;    /* classic: session.timeout.ms (45000) */
    int32_t heartbeat_interval_ms; /* classic: heartbeat.interval.ms (3000) */
    int32_t max_poll_interval_ms;  /* max.poll.interval.ms = rebalance timeout (300000) */
    int32_t request_timeout_ms;    /* request.timeout.ms (30000) */
    int32_t retry_backoff_ms;      /* retry.backoff.ms (100); 0 is taken as 1 */
    int32_t retry_backoff_max_ms;  /* retry.backoff.max.ms (1000) */
    /* classic: the assignors offered in JoinGroup, most preferred first
     * (partition.assignment.strategy); the leader runs the one the group chose. The built-in
     * ones are kwi_assignor_find("range"), ...; a test may plug its own. Not copied: they must
     * outlive the member (the built-in ones are static). */
    const kwi_assignor *assignors[KWI_MEMBER_MAX_ASSIGNORS];
    size_t n_assignors;
    /* consumer: group.remote.assignor (NULL: the broker's default). */
    const char *remote_assignor;
    /* consumer: the member id (KIP-1082: the client makes it). NULL: 16 random bytes from
     * getrandom(2) in URL-safe base64, as Java's Uuid.randomUuid().toString(). */
    const char *member_id;
} kwi_member_cfg;

/* Java's defaults for every number; no assignors, no group id. */
void kwi_member_cfg_init(kwi_member_cfg *cfg);
/* The configuration a consumer's (validated) kw_conf describes: group.id, group.instance.id,
 * client.rack, group.protocol, session.timeout.ms, heartbeat.interval.ms, max.poll.interval.ms,
 * request.timeout.ms, retry.backoff.ms, retry.backoff.max.ms, partition.assignment.strategy
 * (the built-in assignors, in order, duplicates dropped) and group.remote.assignor. Strings and
 * the allocator point into `conf`, which must outlive the kwi_member_new call (the allocator:
 * the member). KW_ERR_OK or KW_ERR_CONFIG (an assignor kwire lacks; err says which). */
kw_err kwi_member_cfg_from_conf(kwi_member_cfg *cfg, const kw_conf *conf, kw_error *err);

/* ---------------------------------------------------------------- states */

/* One enum for both protocols; each protocol uses the states marked for it. */
typedef enum kwi_member_state {
    KWI_MEMBER_UNSUBSCRIBED = 0, /* both: no subscription, not in the group */
    KWI_MEMBER_PREPARING,        /* classic: rejoin needed while a member (onJoinPrepare:
                                    revoke callbacks and their commits before JoinGroup) */
    KWI_MEMBER_JOINING,          /* classic: JoinGroup due or in flight; consumer: epoch-0
                                    heartbeat due or in flight */
    KWI_MEMBER_ASSIGNING,        /* classic leader: waiting for the group's topic metadata */
    KWI_MEMBER_SYNCING,          /* classic: SyncGroup due or in flight */
    KWI_MEMBER_STABLE,           /* both: in the group with a settled assignment */
    KWI_MEMBER_RECONCILING,      /* consumer: the target differs from what is owned */
    KWI_MEMBER_ACKNOWLEDGING,    /* consumer: reconciled; the acknowledging heartbeat is due */
    KWI_MEMBER_STALE,            /* both: left because the application stopped polling;
                                    the next kwi_member_on_poll rejoins */
    KWI_MEMBER_LEAVING,          /* both: callbacks, then LeaveGroup / leave heartbeat */
    KWI_MEMBER_CLOSED,           /* both: left for good (kwi_member_leave finished) */
    KWI_MEMBER_FATAL,            /* both: a fatal error; nothing more is sent */
} kwi_member_state;

const char *kwi_member_state_name(kwi_member_state s);

/* ---------------------------------------------------------------- outputs */

/* A request to send. `body` points to the request structure of `def` (kw_join_group_req, ...),
 * filled for every version: fields that exist only in some versions are all set (for example
 * both FindCoordinator Key and CoordinatorKeys), so the connection layer picks any version in
 * [min_version, def->max_ver] that the broker supports and encodes with kw_msg_encode. */
typedef struct kwi_member_request {
    uint64_t seq; /* pass back in kwi_member_resp.seq */
    int16_t api_key;
    const kw_msgdef *def;
    int16_t min_version; /* the lowest version carrying every field this request needs
                            (static membership needs JoinGroup v5, KIP-848 OffsetCommit v9) */
    int32_t timeout_ms;  /* client-side timeout; JoinGroup waits for the whole join phase */
    int32_t node_id;     /* the coordinator's node id, or -1: any broker (FindCoordinator) */
    kw_slice host;       /* the coordinator's address when node_id >= 0 */
    int32_t port;
    const void *body;
} kwi_member_request;

typedef enum kwi_member_ev_type {
    /* Rebalance callbacks, in the order the application must run them. The partition set is
     * `parts`; the member's generation (classic) or epoch (consumer) is `generation`. */
    KWI_MEMBER_EV_ASSIGNED = 1, /* partitions now owned: eager = the whole assignment,
                                   cooperative and consumer = only the added ones (possibly
                                   none, as Java calls onPartitionsAssigned every time) */
    KWI_MEMBER_EV_REVOKED,      /* partitions given back in order; the application may commit
                                   their offsets (kwi_member_commit) before returning */
    KWI_MEMBER_EV_LOST,         /* partitions already gone (membership reset, fencing, poll
                                   timeout, fatal error): commits are no longer possible */
    /* Not a user callback: the moment Java's consumer auto-commits (before every rebalance,
     * before every KIP-848 reconciliation, before leaving). With enable.auto.commit the client
     * commits what the application consumed (kwi_member_commit) when it sees this, and stops
     * handing out records of the partitions in `parts` (owned ones) until the next ASSIGNED. */
    KWI_MEMBER_EV_COMMIT_POINT,
    /* The member needs metadata for `topics` (names) and/or `topic_ids`; answer with
     * kwi_member_on_metadata, listing missing topics with partitions < 0. */
    KWI_MEMBER_EV_NEED_METADATA,
    /* The answer to kwi_member_commit / kwi_member_fetch_offsets number `seq`: `err.code` is
     * KW_ERR_OK, a transport error, or KW_ERR_BROKER with err.broker_code (the group-level or
     * first partition-level error). Per-partition details are in the response the caller
     * decoded and passed to kwi_member_on_response. */
    KWI_MEMBER_EV_COMMIT_DONE,
    KWI_MEMBER_EV_FETCH_DONE,
    /* An error for the application; err.fatal means the member is FATAL. */
    KWI_MEMBER_EV_ERROR,
    /* kwi_member_leave finished (LeaveGroup / leave heartbeat answered or not needed). */
    KWI_MEMBER_EV_CLOSED,
} kwi_member_ev_type;

typedef struct kwi_member_event {
    kwi_member_ev_type type;
    const kwi_tpset *parts;    /* ASSIGNED, REVOKED, LOST, COMMIT_POINT; never NULL */
    int32_t generation;        /* classic generation or KIP-848 member epoch at the time */
    const char *const *topics; /* NEED_METADATA */
    int32_t n_topics;
    const kw_uuid *topic_ids; /* NEED_METADATA */
    int32_t n_topic_ids;
    uint64_t seq; /* COMMIT_DONE, FETCH_DONE */
    kw_error err; /* ERROR, COMMIT_DONE, FETCH_DONE */
} kwi_member_event;

/* ---------------------------------------------------------------- inputs */

/* A response (or the failure to get one) for request `seq`. `body` is the decoded response
 * structure of the request's API (kw_join_group_resp, ...), decoded at `version`; it is read
 * during the call only. err != KW_ERR_OK (KW_ERR_IO, KW_ERR_TIMED_OUT, ...) means no response:
 * body is ignored. Answers to requests the member no longer waits for are ignored. */
typedef struct kwi_member_resp {
    uint64_t seq;
    int16_t api_key;
    int16_t version;
    kw_err err;
    const void *body;
} kwi_member_resp;

/* One offset to commit. `topic` is copied. */
typedef struct kwi_member_offset {
    kw_slice topic;
    int32_t partition;
    int64_t offset;       /* the next offset to read (last processed + 1), >= 0 */
    int32_t leader_epoch; /* -1: unknown */
    kw_slice metadata;    /* KW_SLICE_NULL or text */
} kwi_member_offset;

typedef struct kwi_member kwi_member;

/* Create a member. Copies everything in cfg. KW_ERR_OK; KW_ERR_CONFIG (no group id, no
 * assignors or assign step for classic, nonsensical timeouts; err says which); KW_ERR_NOMEM. */
kw_err kwi_member_new(const kwi_member_cfg *cfg, kwi_member **out, kw_error *err);
/* Free a member and everything it handed out. NULL does nothing. */
void kwi_member_free(kwi_member *m);

/* Set the subscription (topic names, copied, duplicates ignored) and start joining, or rejoin
 * if it changed. n == 0 unsubscribes: callbacks, then LeaveGroup, then UNSUBSCRIBED. */
kw_err kwi_member_subscribe(kwi_member *m, int64_t now, const kw_slice *topics, size_t n);
/* The application polled (restarts the max.poll.interval.ms timer; rejoins from STALE). */
kw_err kwi_member_on_poll(kwi_member *m, int64_t now);
/* Time passed; call at kwi_member_next_deadline (calling earlier or more often is harmless). */
kw_err kwi_member_on_timer(kwi_member *m, int64_t now);
/* A response or transport failure; see kwi_member_resp. */
kw_err kwi_member_on_response(kwi_member *m, int64_t now, const kwi_member_resp *r);
/* Topic metadata (any subset of topics, merged with what the member knows). */
kw_err kwi_member_on_metadata(kwi_member *m, int64_t now, const kwi_member_topic_md *topics,
                              size_t n);
/* The connection to the coordinator broke: requests in flight there are forgotten (their
 * answers, if any still arrive, are ignored) and the coordinator is looked up again. */
kw_err kwi_member_on_coordinator_lost(kwi_member *m, int64_t now);
/* Leave the group for good (close): callbacks, then LeaveGroup (dynamic classic members) or the
 * leave heartbeat (epoch -1, or -2 for static KIP-848 members), then a CLOSED event. */
kw_err kwi_member_leave(kwi_member *m, int64_t now);

/* Queue an OffsetCommit with the member's generation / epoch. Allowed while the member holds a
 * generation (STABLE, and while revoke callbacks run before a rejoin or a leave); otherwise
 * KW_ERR_STATE (Java's RebalanceInProgressException / CommitFailedException). KW_ERR_INVALID_ARG
 * for a negative offset or partition. The answer arrives as a COMMIT_DONE event. */
kw_err kwi_member_commit(kwi_member *m, const kwi_member_offset *offsets, size_t n,
                         uint64_t *seq_out);
/* Queue an OffsetFetch (RequireStable, KIP-447) of the committed offsets of `parts` through
 * the coordinator; FETCH_DONE reports the group-level outcome, the caller reads the offsets
 * from the response. KW_ERR_STATE after leaving or a fatal error. */
kw_err kwi_member_fetch_offsets(kwi_member *m, const kwi_tpset *parts, uint64_t *seq_out);

/* ---------------------------------------------------------------- drains and queries */

/* The next request to send, or false. The previous request's memory is released. */
bool kwi_member_next_request(kwi_member *m, kwi_member_request *out);
/* The next event, or false. The previous event's memory is released. */
bool kwi_member_next_event(kwi_member *m, kwi_member_event *out);
/* When kwi_member_on_timer is next needed (absolute ms), or INT64_MAX for never. */
int64_t kwi_member_next_deadline(const kwi_member *m);

kwi_member_state kwi_member_state_get(const kwi_member *m);
/* Classic generation (-1 when none) or KIP-848 member epoch. */
int32_t kwi_member_generation(const kwi_member *m);
/* The member id ("" when none yet); valid until the next input call. */
const char *kwi_member_id(const kwi_member *m);
/* Whether this member is the classic group leader of its current generation. */
bool kwi_member_is_leader(const kwi_member *m);
/* The partitions the member owns now. */
const kwi_tpset *kwi_member_owned(const kwi_member *m);
/* The coordinator's node id, or -1 while unknown. */
int32_t kwi_member_coordinator(const kwi_member *m);

#endif
