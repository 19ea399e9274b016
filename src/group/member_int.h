/* Internal to src/group/member*.c and kip848*.c: the member's structure and the helpers its
 * files share. Nothing outside the member includes this.
 *
 * Layout of the machine:
 *   member.c         lifecycle, inputs, the state transition function, queries
 *   member_queue.c   the event and request queues, the commit/fetch bookkeeping, the gate
 *   member_coord.c   coordinator discovery, OffsetCommit / OffsetFetch, the metadata table
 *   member_classic.c the classic protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup)
 *   member_leader.c  the classic leader's assignment step
 *   kip848.c         the KIP-848 consumer protocol (ConsumerGroupHeartbeat)
 *
 * The membership state is one enum (kwi_member_state) changed only by kwi_member_enter(). The
 * coordinator's whereabouts are a second, independent machine (coord_state): Java keeps the
 * membership while it rediscovers a moved coordinator, so folding both into one enum would
 * double every state. Timers are absolute deadlines in the structure (INT64_MAX = off); the
 * protocol's step function compares them with `now`. */
#ifndef KWI_GROUP_MEMBER_INT_H
#define KWI_GROUP_MEMBER_INT_H

#include "group/member.h"

#define KWI_NEVER INT64_MAX

typedef enum coord_state {
    COORD_UNKNOWN = 0, /* look it up when allowed (coord_retry_at) */
    COORD_LOOKUP,      /* FindCoordinator queued or in flight */
    COORD_KNOWN,
} coord_state;

/* Which request a queued or in-flight entry is. */
typedef enum req_kind {
    RK_FIND = 0,
    RK_JOIN,
    RK_SYNC,
    RK_HB,
    RK_LEAVE,
    RK_CGHB,
    RK_COMMIT,
    RK_FETCH,
} req_kind;

typedef struct req_node {
    struct req_node *next;
    req_kind kind;
    bool coord; /* goes to the coordinator: handed out only while it is known */
    kwi_member_request out;
    kw_arena arena; /* the body and everything it points to */
} req_node;

typedef struct ev_node {
    struct ev_node *next;
    kwi_member_event ev;
    kwi_tpset parts;
    char **topics; /* NEED_METADATA: n_topics NUL-terminated copies, room for cap_topics */
    int32_t n_topics, cap_topics;
    kw_uuid *ids;
    int32_t n_ids;
} ev_node;

/* A commit or offset fetch queued or in flight. */
typedef struct pending_op {
    uint64_t seq;
    req_kind kind;
    bool sent;          /* handed out (else still queued) */
    int32_t generation; /* generation / epoch it was sent with */
} pending_op;

/* One topic of the metadata table. */
typedef struct md_entry {
    char *name;
    size_t len;
    kw_uuid id;
    int32_t partitions; /* < 0: does not exist */
} md_entry;

/* The KIP-848 target assignment: one entry per topic id, partitions sorted. */
typedef struct target_topic {
    kw_uuid id;
    int32_t *parts;
    int32_t n, cap;
} target_topic;

struct kwi_member {
    const kw_allocator *a;
    kwi_member_cfg cfg; /* strings point into `strs` */
    char *strs;         /* one block with every string of cfg */
    size_t strs_len;
    bool cooperative; /* classic: every assignor supports COOPERATIVE */

    kwi_member_state state;
    int64_t now;
    uint64_t next_seq;
    bool nomem;         /* sticky: an allocation failed; the input call ends in FATAL */
    bool closing;       /* LEAVING ends in CLOSED (kwi_member_leave), not UNSUBSCRIBED */
    bool fatal_pending; /* the fatal ERROR event is still to be handed out */
    kw_error fatal_err;

    /* coordinator */
    coord_state cstate;
    int32_t coord_id;
    char *coord_host;
    int32_t coord_port;
    int64_t coord_retry_at;
    int coord_attempts;
    int64_t coord_found_at; /* when the current coordinator was found */
    int coord_conn_fails;   /* its connection failed soon after it was found, in a row */
    uint64_t find_seq;

    /* identity */
    char *member_id;     /* never NULL; "" when none */
    int32_t generation;  /* classic generation (-1 none) or KIP-848 member epoch */
    char *protocol_name; /* classic: the assignor the group chose */
    bool leader;

    /* subscription: sorted, unique, NUL-terminated */
    char **topics;
    int32_t n_topics, cap_topics;
    char **joined_topics; /* classic: the subscription sent in the last JoinGroup */
    int32_t n_joined_topics;

    kwi_tpset owned;

    /* timers (absolute ms; KWI_NEVER = off) */
    int64_t last_poll;
    int64_t t_gate;     /* PREPARING / ACKNOWLEDGING / LEAVING: wait for commits until then */
    int64_t t_retry;    /* classic JoinGroup or KIP-848 heartbeat retry after backoff */
    int64_t t_hb_due;   /* next heartbeat */
    int64_t t_session;  /* classic: the session expires without a heartbeat answer */
    int64_t t_md_wait;  /* classic leader: stop waiting for metadata */
    int retry_attempts; /* join / KIP-848 heartbeat backoff exponent */
    int hb_attempts;    /* classic heartbeat backoff exponent */
    const char *rejoin_reason;

    /* in-flight protocol requests (0 = none), and what they were sent with */
    uint64_t join_seq, sync_seq, hb_seq, leave_seq, cghb_seq;
    int32_t hb_generation; /* classic heartbeat: generation at send */
    bool leave_sent;       /* LEAVING: the LeaveGroup / leave heartbeat decision was made */
    int64_t hb_sent_at;    /* KIP-848: when the in-flight heartbeat left */
    int32_t cghb_epoch;    /* KIP-848: the epoch the in-flight heartbeat carried */
    bool cghb_acks;        /* KIP-848: the in-flight heartbeat acknowledges a reconciliation */

    /* classic leader: the members of the current generation (join arena) */
    kw_arena join_ar;
    const kwi_assignor *chosen; /* the assignor named by the JoinGroup's ProtocolName */
    kwi_assign_member *jm;      /* the members, their subscriptions decoded (join arena) */
    int32_t n_jm;
    kw_slice *group_topics; /* union of the members' subscriptions, sorted (join arena) */
    int32_t n_group_topics;
    md_entry *lsnap; /* partition counts the leader assigned with, to spot changes */
    size_t n_lsnap, cap_lsnap;

    /* KIP-848 */
    int32_t hb_interval_ms; /* from the broker */
    bool full_hb;           /* the next heartbeat carries every field (after join / errors) */
    bool subs_dirty;        /* the subscription changed since it was last sent */
    bool has_target;
    target_topic *target;
    int32_t n_target, cap_target;
    kw_uuid *unresolved; /* target topic ids last reported in NEED_METADATA */
    int32_t n_unresolved;

    /* metadata table, sorted by name */
    md_entry *md;
    size_t n_md, cap_md;

    /* queues */
    req_node *rq_head, *rq_tail, *rq_handed;
    ev_node *eq_head, *eq_tail, *eq_handed;
    int32_t holds; /* REVOKED / COMMIT_POINT events queued or handed out (callback running) */
    pending_op *ops;
    size_t n_ops, cap_ops;
};

/* ---- member.c */
void kwi_member_enter(kwi_member *m, kwi_member_state s);
void kwi_member_fail(kwi_member *m, kw_err code, int16_t broker_code, const char *what);
int64_t kwi_member_backoff(const kwi_member *m, int attempts);
bool kwi_member_subscribed_to(const kwi_member *m, kw_slice topic);
kw_err kwi_member_set_str(kwi_member *m, char **dst, kw_slice src);
void kwi_member_reset_generation(kwi_member *m, bool clear_member_id);
bool kwi_member_can_commit(const kwi_member *m);
void kwi_member_after_drain(kwi_member *m);

/* ---- member_queue.c */
req_node *kwi_member_req_new(kwi_member *m, req_kind kind, const kw_msgdef *def, size_t body_size);
void kwi_member_req_push(kwi_member *m, req_node *r);
void kwi_member_req_drop(kwi_member *m, req_node *r);
void kwi_member_purge_coordinator_requests(kwi_member *m);
kw_slice kwi_member_arena_str(kwi_member *m, req_node *r, const char *s);
kw_slice kwi_member_arena_bytes(kwi_member *m, req_node *r, kw_slice s);
ev_node *kwi_member_emit(kwi_member *m, kwi_member_ev_type type);
void kwi_member_emit_parts(kwi_member *m, kwi_member_ev_type type, const kwi_tpset *parts);
void kwi_member_emit_error(kwi_member *m, kw_err code, int16_t broker_code, bool fatal,
                           const char *what);
void kwi_member_emit_need_metadata(kwi_member *m, const kw_slice *names, size_t n_names,
                                   const kw_uuid *ids, size_t n_ids);
bool kwi_member_gate_open(const kwi_member *m);
void kwi_member_op_add(kwi_member *m, uint64_t seq, req_kind kind);
pending_op *kwi_member_op_find(kwi_member *m, uint64_t seq);
void kwi_member_op_remove(kwi_member *m, pending_op *op);
void kwi_member_fail_ops(kwi_member *m, bool sent_only, kw_err code, const char *what);
void kwi_member_queues_fini(kwi_member *m);

/* ---- member_coord.c */
void kwi_member_coord_step(kwi_member *m);
int64_t kwi_member_coord_deadline(const kwi_member *m);
void kwi_member_coord_lost(kwi_member *m, const char *why);
/* The driver's connection to the coordinator failed: coord_lost, with a growing backoff when
 * that coordinator was found only just before. */
void kwi_member_coord_conn_lost(kwi_member *m, const char *why);
void kwi_member_coord_on_response(kwi_member *m, const kwi_member_resp *r);
void kwi_member_op_on_response(kwi_member *m, pending_op *op, const kwi_member_resp *r);
const md_entry *kwi_member_md_find(const kwi_member *m, kw_slice name);
const md_entry *kwi_member_md_find_id(const kwi_member *m, const kw_uuid *id);
kw_err kwi_member_md_merge(kwi_member *m, const kwi_member_topic_md *t, size_t n);
void kwi_member_md_fini(kwi_member *m);

/* ---- member_classic.c */
void kwi_classic_step(kwi_member *m);
void kwi_classic_enter(kwi_member *m, kwi_member_state from);
void kwi_classic_on_response(kwi_member *m, const kwi_member_resp *r);
void kwi_classic_poll_expired(kwi_member *m);
void kwi_classic_subscription_changed(kwi_member *m);
void kwi_classic_on_metadata(kwi_member *m);
void kwi_classic_leave(kwi_member *m);
bool kwi_classic_in_group(const kwi_member *m);
bool kwi_classic_heartbeating(const kwi_member *m);
int64_t kwi_classic_deadline(const kwi_member *m);

/* ---- member_leader.c */
void kwi_leader_begin(kwi_member *m, const kw_join_group_resp *resp);
bool kwi_leader_metadata_ready(const kwi_member *m);
kw_err kwi_leader_assign(kwi_member *m, req_node *r, kw_sync_group_req *q);
bool kwi_leader_metadata_changed(const kwi_member *m);
void kwi_leader_fini(kwi_member *m);

/* ---- kip848.c */
void kwi_kip848_step(kwi_member *m);
void kwi_kip848_enter(kwi_member *m, kwi_member_state from);
void kwi_kip848_on_response(kwi_member *m, const kwi_member_resp *r);
void kwi_kip848_poll_expired(kwi_member *m);
void kwi_kip848_subscription_changed(kwi_member *m);
void kwi_kip848_on_metadata(kwi_member *m);
void kwi_kip848_leave(kwi_member *m);
bool kwi_kip848_in_group(const kwi_member *m);
int64_t kwi_kip848_deadline(const kwi_member *m);
void kwi_kip848_fini(kwi_member *m);

#endif
