/* Internal: the consumer-group driver, which runs a kwi_member (src/group/member.h) on a
 * kw_client.
 *
 * The member is a pure state machine; this driver gives it I/O and time:
 *   - requests out of kwi_member_next_request are encoded and sent. FindCoordinator goes to
 *     the least-loaded ready broker; every other request goes to the coordinator over ONE
 *     dedicated connection (as Java's separate group connection, `INT32_MAX - nodeId`), so
 *     the coordinator sees them in the member's order and a JoinGroup parked for the whole
 *     join phase never holds up the fetches to the same broker;
 *   - answers, transport failures and timeouts go to kwi_member_on_response, a broken
 *     coordinator connection to kwi_member_on_coordinator_lost;
 *   - one reactor timer fires at kwi_member_next_deadline;
 *   - NEED_METADATA is answered from the client's metadata cache after a refresh, and the
 *     subscribed topics are fed again every metadata.max.age.ms so the leader notices
 *     partition changes.
 * Every other event goes to the owner's hook (consumer_group.c), which runs the rebalance
 * callbacks and moves the consumer's assignment.
 *
 * Holding the request memory: a request body handed out by the member lives only until the
 * next kwi_member_next_request. The driver therefore drains the next request only after the
 * previous one was encoded onto its connection (the connection calls an encode function at
 * write time, when it knows the version). Coordinator requests keep their order this way
 * too. A request stuck behind a down connection is bounded by its own timeout.
 *
 * Single-threaded: everything runs on the client's loop thread with the loop lock held. */
#ifndef KWI_CLIENT_CGDRV_H
#define KWI_CLIENT_CGDRV_H

#include <stdbool.h>
#include <stdint.h>

#include "client/client_int.h"
#include "group/member.h"

typedef struct kwi_cgdrv kwi_cgdrv;

typedef struct kwi_cgdrv_hooks {
    /* Every member event except NEED_METADATA, in order. May call kwi_member_commit,
     * kwi_member_fetch_offsets and the driver's input functions (they queue work). The event
     * is valid during the call only. Returning true pauses the driver until
     * kwi_cgdrv_resume: no further event is drained, and after a REVOKED or COMMIT_POINT
     * event no request either, because draining would end the event's hold on the member's
     * gate (member.h) before the application's callback could commit. */
    bool (*on_event)(kwi_cgdrv *g, const kwi_member_event *ev, void *ud);
    /* The decoded OffsetCommit / OffsetFetch response of member operation `seq`, before the
     * member sees it (its COMMIT_DONE / FETCH_DONE event follows). Only on success. */
    void (*on_op_response)(kwi_cgdrv *g, uint64_t seq, int16_t api_key, int16_t version,
                           const void *body, void *ud);
    void *ud;
} kwi_cgdrv_hooks;

/* Creates the driver and its member from the consumer's configuration (group.id required).
 * KW_ERR_OK, KW_ERR_CONFIG (err says which property), KW_ERR_NOMEM. */
kw_err kwi_cgdrv_new(kw_client *c, const kwi_cgdrv_hooks *hooks, kwi_cgdrv **out, kw_error *err);
/* Frees the driver without leaving (a crash, as far as the group can tell): the coordinator
 * connection is closed, requests in flight elsewhere complete into nothing. NULL: nothing. */
void kwi_cgdrv_free(kwi_cgdrv *g);

kwi_member *kwi_cgdrv_member(kwi_cgdrv *g);
kw_client *kwi_cgdrv_client(kwi_cgdrv *g);
int64_t kwi_cgdrv_now(const kwi_cgdrv *g);

/* Subscribe (n == 0: unsubscribe); also records the topics whose metadata the member gets. */
kw_err kwi_cgdrv_subscribe(kwi_cgdrv *g, const kw_slice *topics, size_t n);
/* Drain the member now: call after any direct input (kwi_member_on_poll, kwi_member_commit,
 * kwi_member_leave ...). Safe from inside a hook (the outer drain picks the work up). */
void kwi_cgdrv_run(kwi_cgdrv *g);
/* Ends a pause asked for by on_event, and drains. */
void kwi_cgdrv_resume(kwi_cgdrv *g);
/* Whether the driver is paused on an event. */
bool kwi_cgdrv_paused(const kwi_cgdrv *g);
/* Whether the coordinator connection has nothing queued or in flight. */
bool kwi_cgdrv_idle(const kwi_cgdrv *g);

/* Test and crash simulation: stop all group traffic for good, without LeaveGroup; the
 * member stays as it is until kwi_cgdrv_free. */
void kwi_cgdrv_halt(kwi_cgdrv *g);
bool kwi_cgdrv_halted(const kwi_cgdrv *g);

#endif
