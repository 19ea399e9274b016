/* Internal: kwire-mock's group coordinator (src/mock/group*.c).
 *
 * One module ("group", KWI_MOCK_MOD_GROUP) serves FindCoordinator, the classic protocol
 * (JoinGroup, SyncGroup, Heartbeat, LeaveGroup), the KIP-848 consumer protocol
 * (ConsumerGroupHeartbeat, ConsumerGroupDescribe), OffsetCommit, OffsetFetch, ListGroups and
 * DescribeGroups. The behaviour follows Kafka 4.x's group coordinator
 * (group-coordinator/.../GroupMetadataManager.java, ClassicGroup.java, ConsumerGroup.java,
 * CurrentAssignmentBuilder.java, OffsetMetadataManager.java); ../shared/kafka-protocol/GROUPS.md
 * summarises it. Where the mock differs, group_coord.c's header comment says so.
 *
 * Files:
 *   group_coord.c        module state, coordinator placement, FindCoordinator, the group table,
 *                        small helpers (copied strings, arrays), the C API
 *   group_classic.c      the classic state machine: rebalances, join/sync/session timers
 *   group_member.c       classic members, protocol selection, answers to parked
 *                        JoinGroup/SyncGroup requests
 *   group_classic_api.c  the JoinGroup, SyncGroup, Heartbeat and LeaveGroup handlers
 *   group_consumer.c     ConsumerGroupHeartbeat: validation, members, epochs, timers
 *   group_assign.c       KIP-848 target assignments (through src/group's server assignors),
 *                        subscription resolution (names, regular expressions) and reconciliation
 *   group_offsets.c      the committed-offset store, OffsetCommit, OffsetFetch
 *   group_list.c         ListGroups, DescribeGroups, ConsumerGroupDescribe
 *
 * Everything runs on the thread that steps the reactor (or under the cluster's lock). Parked
 * requests (a JoinGroup waiting for the rebalance, a SyncGroup waiting for the leader) are
 * deferred with kwi_mock_defer; their cancel callback receives the module state, never a
 * member, and clears whichever member still points at the request, so a member can be freed
 * at any time without leaving a dangling callback behind. */
#ifndef KWI_MOCK_GROUP_H
#define KWI_MOCK_GROUP_H

#include <stdbool.h>
#include <stdint.h>

#include "group/assign.h"
#include "mock_int.h"

/* Broker error codes of the group coordinator (Errors.java). */
enum {
    KWI_E_OFFSET_METADATA_TOO_LARGE = 12,
    KWI_E_COORDINATOR_NOT_AVAILABLE = 15,
    KWI_E_NOT_COORDINATOR = 16,
    KWI_E_ILLEGAL_GENERATION = 22,
    KWI_E_INCONSISTENT_GROUP_PROTOCOL = 23,
    KWI_E_INVALID_GROUP_ID = 24,
    KWI_E_UNKNOWN_MEMBER_ID = 25,
    KWI_E_INVALID_SESSION_TIMEOUT = 26,
    KWI_E_REBALANCE_IN_PROGRESS = 27,
    KWI_E_GROUP_ID_NOT_FOUND = 69,
    KWI_E_MEMBER_ID_REQUIRED = 79,
    KWI_E_GROUP_MAX_SIZE_REACHED = 81,
    KWI_E_FENCED_INSTANCE_ID = 82,
    KWI_E_FENCED_MEMBER_EPOCH = 110,
    KWI_E_UNRELEASED_INSTANCE_ID = 111,
    KWI_E_UNSUPPORTED_ASSIGNOR = 112,
    KWI_E_STALE_MEMBER_EPOCH = 113,
    KWI_E_INVALID_REGULAR_EXPRESSION = 128,
};

/* FindCoordinator key types. */
#define KWI_COORD_GROUP 0
#define KWI_COORD_TXN   1

/* A copied string: p NUL-terminated, len bytes; p NULL = null (len -1). */
typedef struct kwi_gstr {
    char *p;
    int32_t len;
} kwi_gstr;

/* A topic partition of a KIP-848 assignment, and a sorted set of them. */
typedef struct kwi_mtp {
    kw_uuid topic;
    int32_t part;
} kwi_mtp;

typedef struct kwi_mtps {
    kwi_mtp *v; /* sorted by (topic bytes, partition), no duplicates */
    int32_t n, cap;
} kwi_mtps;

typedef struct kwi_gmod kwi_gmod;
typedef struct kwi_grp kwi_grp;

typedef enum kwi_grp_type { KWI_GRP_CLASSIC = 0, KWI_GRP_CONSUMER = 1 } kwi_grp_type;

/* Classic group states (ClassicGroupState). Dead is never entered: groups live until the
 * cluster is freed or change type while empty. */
typedef enum kwi_cg_state {
    KWI_CG_EMPTY = 0,
    KWI_CG_PREPARING = 1,  /* PreparingRebalance: JoinGroups are parked */
    KWI_CG_COMPLETING = 2, /* CompletingRebalance: waiting for the leader's SyncGroup */
    KWI_CG_STABLE = 3,
} kwi_cg_state;

/* One protocol of a classic member: name and metadata bytes (JoinGroup Protocols[]). */
typedef struct kwi_cproto {
    kwi_gstr name;
    uint8_t *meta;
    int32_t len;
} kwi_cproto;

/* A classic member. `pending` members got MEMBER_ID_REQUIRED and are not in the group yet. */
typedef struct kwi_cmember {
    kwi_grp *g;
    kwi_gstr id, instance_id, client_id;
    int32_t session_timeout_ms, rebalance_timeout_ms;
    kwi_cproto *protos;
    int32_t n_protos;
    uint8_t *assignment;
    int32_t assignment_len;
    kwi_mock_req *join_req, *sync_req; /* parked requests still to answer, or NULL */
    bool awaiting_join;                /* counted as joined (Kafka keeps the future even when
                                          the client's connection is gone) */
    bool awaiting_sync;
    bool is_new;       /* joined, no JoinGroup answer yet: expires by the new-member timeout */
    bool pending_sync; /* no SyncGroup yet for the current generation */
    bool pending;      /* MEMBER_ID_REQUIRED issued, waiting for the rejoin */
    kw_slice vote;     /* scratch of kwi_cg_select_protocol: a name in protos */
    kwi_timer *session;
} kwi_cmember;

/* KIP-848 member states (MemberState). */
typedef enum kwi_km_state {
    KWI_KM_STABLE = 0,
    KWI_KM_UNREVOKED = 1,  /* must revoke partitions before its epoch moves on */
    KWI_KM_UNRELEASED = 2, /* waits for partitions other members still own */
} kwi_km_state;

typedef struct kwi_kmember {
    kwi_grp *g;
    kwi_gstr id, instance_id, rack_id, client_id;
    kwi_gstr regex;    /* SubscribedTopicRegex; null = none */
    kwi_gstr assignor; /* ServerAssignor; null = the group's default */
    kwi_gstr *topics;  /* SubscribedTopicNames, sorted and unique */
    int32_t n_topics, cap_topics;
    int32_t epoch, prev_epoch; /* epoch -2: a static member that left temporarily */
    int32_t rebalance_timeout_ms;
    kwi_km_state state;
    kwi_mtps assigned; /* what the member may own now (sent as Assignment) */
    kwi_mtps revoking; /* partitions it must give up before its epoch moves on */
    kwi_mtps target;   /* the assignor's target for this member */
    kwi_timer *session, *rebalance;
} kwi_kmember;

/* A committed offset. */
typedef struct kwi_goffset {
    kwi_gstr topic;
    int32_t part;
    int64_t offset;
    int32_t leader_epoch;
    kwi_gstr metadata;
} kwi_goffset;

/* One subscribed topic as the consumer group last saw it: a change bumps the group epoch. */
typedef struct kwi_sub_topic {
    kw_uuid id;
    int32_t n_parts;
} kwi_sub_topic;

struct kwi_grp {
    kwi_gmod *gm;
    kwi_gstr id;
    kwi_grp_type type;

    /* classic */
    kwi_cg_state state, prev_state;
    int32_t generation;
    kwi_gstr protocol_type; /* null for a group that only holds offsets */
    /* The selected protocol (pname_len -1 = none). The buffer is reserved whenever a member's
     * protocols are stored, so that completing a join from a timer never allocates. */
    char *pname;
    int32_t pname_len, pname_cap;
    kwi_cmember **cm; /* members in join order */
    int32_t n_cm, cap_cm;
    kwi_cmember **pend; /* MEMBER_ID_REQUIRED members */
    int32_t n_pend, cap_pend;
    kwi_cmember *leader;
    kwi_timer *join_timer, *sync_timer;
    bool initial_join;     /* the join timer is group.initial.rebalance.delay.ms */
    bool new_member_added; /* a member joined during the initial delay */
    int32_t initial_delay_ms, initial_remaining_ms;

    /* consumer (KIP-848) */
    int32_t epoch, assignment_epoch;
    kwi_kmember **km; /* members in join order */
    int32_t n_km, cap_km;
    kwi_sub_topic *sub; /* sorted by id */
    int32_t n_sub, cap_sub;

    /* offsets, sorted by (topic, partition) */
    kwi_goffset *off;
    int32_t n_off, cap_off;
};

typedef struct kwi_coord_ovr {
    int8_t key_type;
    kwi_gstr key;
    int32_t node_id;
} kwi_coord_ovr;

struct kwi_gmod {
    kw_mock *m;
    kw_mock_group_conf conf;
    const kwi_assign_sv_assignor *default_assignor;
    kwi_grp **groups;
    int32_t n_groups, cap_groups;
    kwi_coord_ovr *ovr;
    int32_t n_ovr, cap_ovr;
};

/* ---------------------------------------------------------------- group_coord.c */

kwi_gmod *kwi_gmod_get(kw_mock *m);
void *kwi_galloc(kw_mock *m, size_t n);
void kwi_gfree(kw_mock *m, void *p, size_t n);
/* Grows *arr (elements of esz bytes) to hold `need`; KW_ERR_OK or KW_ERR_NOMEM (unchanged). */
kw_err kwi_grow(kw_mock *m, void **arr, int32_t *cap, int32_t need, size_t esz);
/* Replaces *s with a copy of v (null stays null); KW_ERR_NOMEM leaves *s unchanged. */
kw_err kwi_gstr_set(kw_mock *m, kwi_gstr *s, kw_slice v);
void kwi_gstr_free(kw_mock *m, kwi_gstr *s);
kw_slice kwi_gstr_slice(const kwi_gstr *s);
bool kwi_gstr_eq(const kwi_gstr *s, kw_slice v);
/* A new member id: `prefix` (client id or instance id; may be empty) + "-" + a random UUID,
 * Kafka's form. */
kw_err kwi_gen_member_id(kw_mock *m, kw_slice prefix, kwi_gstr *out);

/* The node that coordinates `key`: an override from kw_mock_coordinator_set, else Kafka's
 * placement (Java String.hashCode of the key, modulo the 50 partitions of
 * __consumer_offsets / __transaction_state), spread over the brokers. */
int32_t kwi_mock_coordinator_node(kw_mock *m, int8_t key_type, kw_slice key);
/* Whether the request reached the coordinator of group `id`. */
bool kwi_grp_here(const kwi_mock_req *req, kw_slice id);

kwi_grp *kwi_grp_find(kwi_gmod *gm, kw_slice id);
/* Creates an empty group of `type`; NULL when out of memory. */
kwi_grp *kwi_grp_create(kwi_gmod *gm, kw_slice id, kwi_grp_type type);
/* Turns an empty group into `type` (Kafka deletes the empty group and creates one of the other
 * type; committed offsets survive). */
void kwi_grp_convert(kwi_grp *g, kwi_grp_type type);
bool kwi_grp_empty(const kwi_grp *g);

/* The deferred-request cancel callback of every parked group request (ud = kwi_gmod). */
void kwi_grp_cancel(kwi_mock_req *req, void *ud);

/* ---------------------------------------------------------------- group_classic.c */

/* Classic state names as ListGroups/DescribeGroups spell them. */
const char *kwi_cg_state_name(kwi_cg_state s);
kwi_cmember *kwi_cm_new(kwi_grp *g);
void kwi_cm_free(kwi_cmember *mem);
kwi_cmember *kwi_cm_find(const kwi_grp *g, kw_slice id);
kwi_cmember *kwi_cm_find_pending(const kwi_grp *g, kw_slice id);
kwi_cmember *kwi_cm_find_static(const kwi_grp *g, kw_slice instance_id);
/* Makes room for one more member (and sets the protocol type of an empty group): call before
 * parking the JoinGroup, so that kwi_cg_add_member cannot fail. */
kw_err kwi_cg_reserve_member(kwi_grp *g, kw_slice protocol_type);
/* Adds a new member whose JoinGroup is parked, then rebalances or completes the join as Kafka
 * does (which may answer that JoinGroup at once). */
void kwi_cg_add_member(kwi_grp *g, kwi_cmember *mem);
/* Adds a pending (MEMBER_ID_REQUIRED) member and arms its session timer. */
kw_err kwi_cg_add_pending(kwi_grp *g, kwi_cmember *mem);
void kwi_cg_remove_pending(kwi_grp *g, kwi_cmember *mem);
/* Takes a pending member out of the pending list: it rejoined with its id. */
void kwi_cg_unpend(kwi_grp *g, kwi_cmember *mem);
/* Removes a member (LeaveGroup, expiry): its parked JoinGroup gets UNKNOWN_MEMBER_ID, the
 * group rebalances or completes its join. */
void kwi_cg_remove_member(kwi_grp *g, kwi_cmember *mem);
/* Kafka's ClassicGroup.validateMember: NONE, UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID. */
int16_t kwi_cg_validate_member(const kwi_grp *g, kw_slice member_id, kw_slice instance_id);
bool kwi_cg_supports(const kwi_grp *g, kw_slice type, const kw_join_group_req_protocol *p,
                     int32_t n);
bool kwi_cm_matches(const kwi_cmember *mem, const kw_join_group_req_protocol *p, int32_t n);
/* Copies protocols and timeouts from a JoinGroup into the member; KW_ERR_NOMEM leaves it
 * unchanged. */
kw_err kwi_cm_update(kwi_cmember *mem, const kw_join_group_req *rq, int16_t ver);
/* Parks `req` as the member's JoinGroup (answering an older one it replaces). */
void kwi_cm_park_join(kwi_cmember *mem, kwi_mock_req *req);
void kwi_cm_park_sync(kwi_cmember *mem, kwi_mock_req *req);
/* Answers the member's parked JoinGroup with the current generation (or `err`). */
void kwi_cm_answer_join(kwi_cmember *mem, int16_t err, bool skip_assignment);
/* Answers with the current generation but a given Leader, with or without the members. */
void kwi_cm_answer_join_as(kwi_cmember *mem, kw_slice leader, bool with_members, bool skip);
void kwi_cm_answer_sync(kwi_cmember *mem, int16_t err);
/* Restarts the member's session timer (kwi_cm_arm_session: for `ms`). */
void kwi_cm_touch(kwi_cmember *mem);
void kwi_cm_arm_session(kwi_cmember *mem, int32_t ms);
/* The member's session timer fired (group_classic.c). */
void kwi_cg_on_session(kwi_reactor *r, kwi_timer *t, void *ud);
/* Replaces the member's assignment bytes (taken over; NULL/0 clears). */
void kwi_cm_set_assignment(kwi_cmember *mem, uint8_t *bytes, int32_t len);
/* Answers every member awaiting a SyncGroup (ClassicGroup propagateAssignment). */
void kwi_cg_propagate(kwi_grp *g, int16_t err);
/* Stores the selected protocol name (the buffer was reserved by kwi_cm_update). */
void kwi_cg_set_pname(kwi_grp *g, kw_slice name);
void kwi_cg_prepare_rebalance(kwi_grp *g);
void kwi_cg_maybe_complete_join(kwi_grp *g);
/* STABLE, COMPLETING and EMPTY rebalance; PREPARING checks whether the join can complete. */
void kwi_cg_rebalance_or_complete(kwi_grp *g);
/* The leader's SyncGroup arrived: store assignments, answer every parked SyncGroup, Stable. */
kw_err kwi_cg_set_assignment(kwi_grp *g, const kw_sync_group_req *rq);
void kwi_cg_sync_received(kwi_grp *g, kwi_cmember *mem);
/* The protocol the group would choose now (no members: null slice). */
kw_slice kwi_cg_select_protocol(kwi_grp *g);
/* The group's selected protocol name (null slice when none). */
kw_slice kwi_cg_pname(const kwi_grp *g);
/* Timer callbacks of the group's join and sync timers (created in group_coord.c). */
void kwi_cg_join_timer_fired(kwi_grp *g);
void kwi_cg_sync_timer_fired(kwi_grp *g);
/* Replaces static member `old` by a new member id (the new one is returned; the old member's
 * parked requests get FENCED_INSTANCE_ID). NULL when out of memory (nothing changed). */
kwi_cmember *kwi_cg_replace_static(kwi_grp *g, kwi_cmember *old, kwi_gstr *new_id);
/* Frees the classic part of a group (members, timers); parked requests are answered with
 * `err` (or dropped when err is 0, on teardown). */
void kwi_cg_clear(kwi_grp *g, int16_t err);
/* The coordinator of the group moved: parked requests get NOT_COORDINATOR. */
void kwi_cg_coordinator_moved(kwi_grp *g);

/* group_classic_api.c */
kw_err kwi_mock_group_classic_register(kw_mock *m);

/* ---------------------------------------------------------------- group_consumer.c */

kw_err kwi_mock_group_consumer_register(kw_mock *m);
const char *kwi_kg_state_name(const kwi_grp *g);
/* The server assignor the group uses: the one most members ask for, else the default. */
const kwi_assign_sv_assignor *kwi_kg_assignor(const kwi_grp *g);
/* Frees the consumer part of a group. */
void kwi_kg_clear(kwi_grp *g);
void kwi_km_free(kwi_kmember *mem);

/* ---------------------------------------------------------------- group_assign.c */

void kwi_mtps_fini(kw_mock *m, kwi_mtps *s);
bool kwi_mtps_has(const kwi_mtps *s, const kw_uuid *topic, int32_t part);
bool kwi_mtps_equal(const kwi_mtps *a, const kwi_mtps *b);
kw_err kwi_mtps_copy(kw_mock *m, kwi_mtps *dst, const kwi_mtps *src);
/* A request's TopicPartitions as a set (duplicates dropped). */
kw_err kwi_mtps_from_req(kw_mock *m, kwi_mtps *dst,
                         const kw_consumer_group_heartbeat_topic_partitions *tp, int32_t n);
/* The set as response TopicPartitions (arrays from the request's response arena). */
kw_err kwi_mtps_to_resp(kwi_mock_req *req, const kwi_mtps *s,
                        kw_consumer_group_heartbeat_topic_partitions **out, int32_t *n);
/* Resolves every member's subscription against the topics that exist now; returns whether
 * the result differs from what the group saw last (then stores it). */
kw_err kwi_kg_refresh_subscriptions(kwi_grp *g, bool *changed);
/* Runs the assignor over all members: each member's target, assignment_epoch := epoch. */
kw_err kwi_kg_compute_targets(kwi_grp *g);
/* Moves a member towards its target (CurrentAssignmentBuilder). `owned` is the request's
 * TopicPartitions (NULL = not sent). */
kw_err kwi_km_reconcile(kwi_kmember *mem, const kwi_mtps *owned);
/* Whether a member's regex (POSIX ERE with RE2 shorthand classes) compiles. */
bool kwi_regex_valid(kw_mock *m, kw_slice regex);

/* ---------------------------------------------------------------- group_offsets.c */

kw_err kwi_mock_group_offsets_register(kw_mock *m);
void kwi_grp_offsets_free(kwi_grp *g);
const kwi_goffset *kwi_grp_offset_find(const kwi_grp *g, kw_slice topic, int32_t part);
/* Stores an offset (a null metadata is stored as ""); KWI_E_NONE or -1 out of memory. */
int16_t kwi_grp_offset_put(kwi_grp *g, kw_slice topic, int32_t part, int64_t offset,
                           int32_t leader_epoch, kw_slice metadata);

/* ---------------------------------------------------------------- group_list.c */

kw_err kwi_mock_group_list_register(kw_mock *m);

#endif
