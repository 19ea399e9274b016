/* Test support for the group member state machine: a scripted coordinator on virtual time.
 *
 * A test drives one kwi_member: it feeds inputs at a virtual `now`, drains the requests the
 * member wants sent (each is encoded at every version it allows, so a request the codec
 * cannot put on the wire fails the test) and answers them with response structures built
 * directly, as the brief for these tests asks. Events are drained one by one and compared
 * exactly. No sockets, no sleeping. */
#ifndef KWT_MEMBER_SUPPORT_H
#define KWT_MEMBER_SUPPORT_H

#include <check.h>
#include <stdint.h>

#include "group/member.h"

typedef struct mt {
    kwi_member *m;
    int64_t now;
    kwi_member_request req; /* the last request drained */
    kwi_member_event ev;    /* the last event drained */
    kw_arena ar;            /* responses and decoded requests live here until mt_fini */
    const char *proto;      /* classic: the first assignor, which the scripted group chooses */
} mt;

/* Java's defaults, group "g", the given classic assignors (NULL-terminated list of names). */
void mt_cfg_classic(kwi_member_cfg *cfg, const char *assignor, ...);
/* group.protocol=consumer, group "g", member id "MEMBER-A". */
void mt_cfg_consumer(kwi_member_cfg *cfg);

void mt_init(mt *t, const kwi_member_cfg *cfg);
void mt_fini(mt *t);

/* Subscribe to a NULL-terminated list of topic names. */
void mt_subscribe(mt *t, const char *topic, ...);

/* Move the clock to `at` (never backwards) and fire the timer. */
void mt_at(mt *t, int64_t at);
/* Move the clock to the member's next deadline and fire the timer; asserts there is one. */
void mt_deadline(mt *t);

/* The next request must be of API `api`; it is checked to encode at every version from its
 * min_version to the codec's maximum. Returns the body (valid until the next mt_req). */
const void *mt_req(mt *t, int16_t api);
/* No request is pending. */
void mt_no_req(mt *t);

/* Answer the last drained request with `body` decoded "at" `version`. */
void mt_reply(mt *t, int16_t version, const void *body);
/* Answer request (seq, api) instead of the last one. */
void mt_reply_to(mt *t, uint64_t seq, int16_t api, int16_t version, const void *body);
/* The last drained request failed in transport with `err`. */
void mt_reply_err(mt *t, kw_err err);

/* Expect a FindCoordinator for "g" and answer node `node` at host "broker<node>":9092. */
void mt_find_coordinator(mt *t, int32_t node);

/* The next event must be `type`; returns it (valid until the next mt_ev). */
const kwi_member_event *mt_ev(mt *t, kwi_member_ev_type type);
/* No event is pending. */
void mt_no_ev(mt *t);

/* Asserts a partition set equals `spec`: "t0:0,1 t1:2" (topics in any order; "" = empty). */
void mt_parts(const kwi_tpset *s, const char *spec);
/* Parses `spec` into a fresh set (freed by the caller with kwi_tpset_fini). */
void mt_set(kwi_tpset *s, const char *spec);

/* A ConsumerProtocolAssignment (v3) with the partitions of `spec`, in the arena. */
kw_slice mt_assignment(mt *t, const char *spec);
/* A ConsumerProtocolSubscription (v3) for the NULL-terminated topics, owning `owned_spec`,
 * generation `gen`, in the arena. */
kw_slice mt_subscription(mt *t, const char *owned_spec, int32_t gen, const char *topic, ...);
/* Decodes a Subscription; asserts it decodes. */
void mt_decode_subscription(mt *t, kw_slice bytes, kw_consumer_protocol_subscription *out);
/* Decodes an Assignment into a set (initialised here). */
void mt_decode_assignment(mt *t, kw_slice bytes, kwi_tpset *out);

/* Asserts a slice equals a C string (NULL = the null slice). */
void mt_str(kw_slice s, const char *want);

/* A topic id for tests: 16 bytes of `b`. */
kw_uuid mt_uuid(uint8_t b);
/* Metadata: topic `name` with `parts` partitions and id mt_uuid(idb) (0 = no id). */
void mt_metadata(mt *t, const char *name, int32_t parts, uint8_t idb);

/* Classic: subscribe was done; drive FindCoordinator (node 1), JoinGroup (MEMBER_ID_REQUIRED
 * first, then success as a follower of "leader" with generation `gen`) and SyncGroup with the
 * assignment `spec`, to STABLE. Drains and checks the ASSIGNED event. Member id "m-1". */
void mt_classic_join(mt *t, int32_t gen, const char *spec);

#endif
