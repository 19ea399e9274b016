/* Internal: partition assignors, as pure functions.
 *
 * Client side (classic protocol: the group leader runs one over the members' decoded
 * ConsumerProtocolSubscriptions and sends the result in SyncGroup):
 *   range               per-topic contiguous ranges (Java RangeAssignor, KIP-881 racks)
 *   roundrobin          all partitions dealt over the members (Java RoundRobinAssignor)
 *   cooperative-sticky  balanced, sticky, incremental (KIP-429; CooperativeStickyAssignor)
 * Server side (KIP-848: the coordinator computes each member's target assignment):
 *   uniform             balanced and sticky (group-coordinator UniformAssignor)
 *   range               sticky per-topic ranges, co-partitioned (group-coordinator range)
 *
 * All of them: no I/O, no clock, no global state; every allocation goes through the caller's
 * kw_allocator; the result depends only on the input (not on the input's order where Java sorts:
 * members are sorted by id, topics by name), so the same input always gives the same bytes.
 * Input slices are borrowed: results point into the caller's member ids and topic names, and
 * stay valid while those do.
 *
 * Hostile input (a member's subscription comes off the wire from another client): owned
 * partitions outside a topic's range, of unknown topics or listed twice are ignored; topics
 * a member lists that the metadata does not know, or that have no partitions, are ignored
 * (Java: AbstractPartitionAssignor skips topics without metadata). Duplicate member ids or
 * duplicate topics in the metadata are KW_ERR_INVALID_ARG: the caller builds those lists.
 *
 * Algorithms and their guarantees are described in docs/assignors.md. */
#ifndef KWI_GROUP_ASSIGN_H
#define KWI_GROUP_ASSIGN_H

#include <stdbool.h>
#include <stdint.h>

#include "kwire/error.h"
#include "kwire/proto.h"

/* ---------------------------------------------------------------- client side (classic) */

/* Rebalance protocols an assignor supports (Java RebalanceProtocol). A consumer uses the
 * cooperative protocol only if every assignor it lists supports it. */
#define KWI_ASSIGN_EAGER       0x1u
#define KWI_ASSIGN_COOPERATIVE 0x2u

/* KIP-881: the racks of one partition's replicas (each replica broker's rack from Metadata;
 * brokers without a rack are left out). */
typedef struct kwi_assign_racks {
    const kw_slice *racks;
    int32_t n;
} kwi_assign_racks;

/* Topic metadata as the leader knows it. */
typedef struct kwi_assign_topic {
    kw_slice name;
    int32_t n_partitions; /* topics with 0 are skipped; negative is KW_ERR_INVALID_ARG */
    /* n_partitions entries, or NULL when unknown. Only range uses them (rack-aware range,
     * KIP-881); roundrobin ignores racks as Java does, and cooperative-sticky does not
     * implement rack preference (see docs/assignors.md). */
    const kwi_assign_racks *racks;
} kwi_assign_topic;

/* One member as the leader sees it in the JoinGroup response: its id, its instance id and the
 * fields of its ConsumerProtocolSubscription. kwi_assign_member_from_subscription() fills one
 * from a decoded subscription without copying. */
typedef struct kwi_assign_member {
    kw_slice member_id;
    kw_slice instance_id;   /* group.instance.id; null (len -1) for a dynamic member */
    kw_slice rack;          /* client.rack (Subscription v3 RackId); null or "" if unset */
    const kw_slice *topics; /* subscribed topic names */
    int32_t n_topics;
    const kw_consumer_protocol_topic_partition *owned; /* OwnedPartitions (cooperative-sticky) */
    int32_t n_owned;
    int32_t generation; /* generation the owned partitions belong to; -1 = unknown */
} kwi_assign_member;

typedef struct kwi_assign_in {
    const kwi_assign_member *members;
    int32_t n_members;
    const kwi_assign_topic *topics;
    int32_t n_topics;
    const kw_allocator *a; /* NULL = the default allocator */
} kwi_assign_in;

/* The result: one ConsumerProtocolAssignment per input member, in input order. Topics come
 * in name order with ascending partitions; UserData is null (Java's built-in assignors send
 * none). Everything lives in `arena`; topic slices point into the input topic names. */
typedef struct kwi_assign_out {
    kw_arena arena;
    kw_consumer_protocol_assignment *assignments;
    int32_t n_members;
    /* cooperative-sticky: partitions the balanced assignment moves to a new owner, held back
     * this round (KIP-429). Their old owners revoke them and rejoin; the follow-up rebalance
     * places them. 0 for the eager assignors. */
    int32_t n_withheld;
} kwi_assign_out;

typedef struct kwi_assignor {
    const char *name;   /* the JoinGroup protocol name */
    unsigned protocols; /* KWI_ASSIGN_EAGER / KWI_ASSIGN_COOPERATIVE */
    kw_err (*assign)(const kwi_assign_in *in, kwi_assign_out *out);
} kwi_assignor;

extern const kwi_assignor kwi_assignor_range;
extern const kwi_assignor kwi_assignor_roundrobin;
extern const kwi_assignor kwi_assignor_cooperative_sticky;

/* The built-in assignor called `name` ("range", "roundrobin", "cooperative-sticky"), or NULL. */
const kwi_assignor *kwi_assignor_find(kw_slice name);

/* Runs `as` over `in` into *out. *out is always initialised: on success it must be released
 * with kwi_assign_out_fini(); on failure it holds nothing.
 * Returns KW_ERR_OK, KW_ERR_NOMEM, KW_ERR_INVALID_ARG (duplicate member ids or topics, a
 * negative partition count, negative array counts) or KW_ERR_TOO_LARGE (more than 2^30
 * partitions in all). */
kw_err kwi_assign_run(const kwi_assignor *as, const kwi_assign_in *in, kwi_assign_out *out);

/* Releases a result; on a zeroed or already released one it does nothing. */
void kwi_assign_out_fini(kwi_assign_out *out);

/* ---------------------------------------------------------------- consumer protocol helpers */

/* Fills *m from a decoded subscription, borrowing its arrays. The generation is the v2+
 * GenerationId when it is >= 0, else the one in UserData: Java's cooperative-sticky 4-byte
 * int32, or librdkafka's sticky format ([{topic,[partition]}] then int32 generation) when
 * it parses exactly; otherwise -1 (what Java's CooperativeStickyAssignor.memberData does). */
void kwi_assign_member_from_subscription(kwi_assign_member *m, kw_slice member_id,
                                         kw_slice instance_id,
                                         const kw_consumer_protocol_subscription *s);

/* The generation carried in a cooperative-sticky UserData (see above), or -1. */
int32_t kwi_assign_userdata_generation(kw_slice user_data);

/* Decodes every JoinGroup member's metadata (a ConsumerProtocolSubscription, leniently as Java
 * does) into members[i] (caller-provided, n entries). Arrays come from `arena`; slices borrow
 * the JoinGroup response frame. Returns KW_ERR_OK, KW_ERR_NOMEM, or the decoder's error for the
 * first member whose metadata is broken, with its member id in *err (err may be NULL). */
kw_err kwi_assign_members_decode(const kw_join_group_resp_member *jm, int32_t n, kw_arena *arena,
                                 kwi_assign_member *members, kw_error *err);

/* The Subscription for JoinGroup Protocols[].Metadata, written as Java writes it: version 3,
 * topics sorted and unique, OwnedPartitions sorted by topic then partition, GenerationId,
 * RackId. UserData: for an assignor that supports the cooperative protocol the 4-byte
 * generation (Java's cooperative-sticky format, which older Java leaders read); else null.
 * `a` (NULL = default) is used for sorting scratch only. */
typedef struct kwi_assign_sub_in {
    const kw_slice *topics;
    int32_t n_topics;
    const kw_consumer_protocol_topic_partition *owned;
    int32_t n_owned;
    int32_t generation; /* -1 when the member has never completed a join */
    kw_slice rack;      /* null if client.rack is unset */
} kwi_assign_sub_in;
kw_err kwi_assign_subscription_encode(const kwi_assignor *as, const kwi_assign_sub_in *in,
                                      const kw_allocator *a, kw_wr *w);

/* Encodes out's assignments (ConsumerProtocolAssignment v3) as SyncGroup Assignments[]:
 * *res gets n_members entries in input order, member ids borrowed from `in`, bytes in `arena`.
 * Returns KW_ERR_OK, KW_ERR_NOMEM or the encoder's error. */
kw_err kwi_assign_sync_assignments(const kwi_assign_in *in, const kwi_assign_out *out,
                                   kw_arena *arena, kw_sync_group_req_assignment **res);

/* ---------------------------------------------------------------- server side (KIP-848) */

typedef struct kwi_assign_sv_topic {
    kw_uuid id;
    kw_slice name;
    int32_t n_partitions;
} kwi_assign_sv_topic;

/* A member of a consumer group: its subscription resolved to topic ids (names and regexes
 * are resolved by the coordinator), and its current target assignment. */
typedef struct kwi_assign_sv_member {
    kw_slice member_id;
    const kw_uuid *topics;
    int32_t n_topics;
    const kw_consumer_group_heartbeat_topic_partitions *current;
    int32_t n_current;
} kwi_assign_sv_member;

typedef struct kwi_assign_sv_in {
    const kwi_assign_sv_member *members;
    int32_t n_members;
    const kwi_assign_sv_topic *topics;
    int32_t n_topics;
    const kw_allocator *a;
} kwi_assign_sv_in;

/* One member's new target: topics in name order, partitions ascending (tags empty). */
typedef struct kwi_assign_sv_target {
    kw_consumer_group_heartbeat_topic_partitions *tps;
    int32_t n_tps;
} kwi_assign_sv_target;

typedef struct kwi_assign_sv_out {
    kw_arena arena;
    kwi_assign_sv_target *targets; /* n_members, in input order */
    int32_t n_members;
} kwi_assign_sv_out;

typedef struct kwi_assign_sv_assignor {
    const char *name; /* the ConsumerGroupHeartbeat ServerAssignor name */
    kw_err (*assign)(const kwi_assign_sv_in *in, kwi_assign_sv_out *out);
} kwi_assign_sv_assignor;

extern const kwi_assign_sv_assignor kwi_assignor_sv_uniform;
extern const kwi_assign_sv_assignor kwi_assignor_sv_range;

/* "uniform" or "range" (the broker's group.consumer.assignors default, uniform first), or NULL. */
const kwi_assign_sv_assignor *kwi_assign_sv_find(kw_slice name);

/* Same contract as kwi_assign_run. */
kw_err kwi_assign_sv_run(const kwi_assign_sv_assignor *as, const kwi_assign_sv_in *in,
                         kwi_assign_sv_out *out);
void kwi_assign_sv_out_fini(kwi_assign_sv_out *out);

#endif
