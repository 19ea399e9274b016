/* Internal: the consumer's group part (consumer groups wired into kw_consumer).
 *
 *   cgdrv.h / consumer_group_drv.c   the driver: a kwi_member on the client's loop
 *   consumer_group.c                 the public group API of kwire/consumer.h: subscribe,
 *                                    unsubscribe, close, rebalance callback delivery, waits
 *   consumer_group_ops.c             member events -> the consumer's assignment; commits and
 *                                    offset fetches (manual, asynchronous, automatic, and the
 *                                    committed offsets that start newly assigned partitions)
 *
 * Where things run. Member events are drained on the loop (inside kw_client_step, or inside a
 * public call that holds the loop lock). The consumer's assignment follows at once: assigned
 * partitions wait in KWI_CTP_WAIT_POS until their committed offsets arrive (OffsetFetch with
 * RequireStable to the coordinator), lost ones are dropped. The application's rebalance
 * callback runs later, on the polling thread without the lock (kwi_cons_hooks.on_poll, or
 * inside kw_consumer_unsubscribe / kw_consumer_close). A REVOKED event waits for its callback:
 * the driver is paused on it (cgdrv.h), so the member's JoinGroup / acknowledgement cannot
 * overtake a commit the callback makes, and the revoked partitions are unassigned when the
 * callback returns. A commit queued from inside that callback closes the member's gate by
 * itself, so the driver resumes at once and a synchronous commit can complete.
 *
 * Auto-commit (enable.auto.commit): every auto.commit.interval.ms while the member is STABLE,
 * and at every COMMIT_POINT event (before a rebalance, a KIP-848 reconciliation, a leave):
 * the consumed positions (kwi_cons_consumed: only what was handed to the application). From a
 * COMMIT_POINT until the next ASSIGNED the consumer hands out nothing (kwi_cons_hold), so
 * nothing is handed out that the pre-rebalance commit does not cover. */
#ifndef KWI_CLIENT_CGROUP_H
#define KWI_CLIENT_CGROUP_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/cgdrv.h"
#include "client/consumer_int.h"

typedef struct kwi_cgroup kwi_cgroup;

/* An owned copy of a partition list: items plus their topic names. */
typedef struct kwi_cg_list {
    kw_topic_partition *v;
    size_t n;
} kwi_cg_list;

typedef enum kwi_cg_op_kind {
    KWI_CG_OP_COMMIT_SYNC = 1, /* kw_consumer_commit: a waiter */
    KWI_CG_OP_COMMIT_ASYNC,    /* kw_consumer_commit_async: a callback */
    KWI_CG_OP_COMMIT_AUTO,     /* auto-commit: kw_consumer_opts.on_commit */
    KWI_CG_OP_FETCH_START,     /* committed offsets that start assigned partitions */
    KWI_CG_OP_FETCH_SYNC,      /* kw_consumer_committed */
    KWI_CG_OP_FETCH_ASYNC      /* kw_consumer_committed_async */
} kwi_cg_op_kind;

typedef struct kwi_cg_op kwi_cg_op;
struct kwi_cg_op {
    kwi_cg_op *next;
    uint64_t seq;
    kwi_cg_op_kind kind;
    kwi_cg_list parts; /* what was asked; results written into it */
    kw_commit_fn cb;
    void *ud;
    bool done;
    bool abandoned; /* the waiter timed out: free on completion */
    kw_err err;
    kw_error detail;
};

/* A rebalance callback waiting for the polling thread. */
typedef struct kwi_cg_cb kwi_cg_cb;
struct kwi_cg_cb {
    kwi_cg_cb *next;
    kw_rebalance_kind kind;
    kwi_cg_list parts;
    bool unassign_after; /* a REVOKED the driver is paused on */
};

struct kwi_cgroup {
    kw_consumer *k;
    kw_client *c;
    const kw_allocator *a;
    kwi_cgdrv *d;
    kwi_member *m;

    bool auto_commit;
    int64_t auto_ms;
    kwi_timer *t_auto;
    kwi_timer *t_retry; /* a failed FETCH_START is retried after retry.backoff.ms */
    int64_t retry_ms;

    kwi_tpset owned; /* what the group part has assigned to the consumer */
    /* Partitions whose REVOKED callback has not returned yet (they stay assigned until it
     * does), and those of them the member assigned again meanwhile: they are assigned anew
     * once the callback returned and unassigned them. */
    kwi_tpset revoking, reassign;
    bool subscribed;
    bool held;        /* kwi_cons_hold is on (commit_hold, or callbacks are queued) */
    bool commit_hold; /* a COMMIT_POINT until the next ASSIGNED */
    bool in_cb;       /* a rebalance callback runs */
    bool freeing;     /* kw_consumer_free: no more application callbacks */
    bool closed;      /* the member reported CLOSED */
    bool delivering;

    kwi_cg_cb *cb_head, *cb_tail;
    kwi_cg_op *ops;

    kw_error last_err; /* the latest group error event */
    bool fatal;

    pthread_cond_t cond; /* waiters while the kwire thread runs */
    bool cond_ok;
};

/* ---- consumer_group_ops.c ---------------------------------------------------------------- */

kw_err kwi_cg_list_copy(kwi_cgroup *g, kwi_cg_list *dst, const kw_topic_partition *src, size_t n);
kw_err kwi_cg_list_from_set(kwi_cgroup *g, kwi_cg_list *dst, const kwi_tpset *s, int64_t offset);
void kwi_cg_list_fini(kwi_cgroup *g, kwi_cg_list *l);

/* The driver's hooks. */
bool kwi_cg_on_event(kwi_cgdrv *d, const kwi_member_event *ev, void *ud);
void kwi_cg_on_op_response(kwi_cgdrv *d, uint64_t seq, int16_t api_key, int16_t version,
                           const void *body, void *ud);

/* Queue a commit of `l` (taken over unconditionally). KW_ERR_STATE when the member holds no
 * generation; KW_ERR_INVALID_ARG for a negative offset. */
kw_err kwi_cg_commit(kwi_cgroup *g, kwi_cg_list *l, kwi_cg_op_kind kind, kw_commit_fn cb, void *ud,
                     kwi_cg_op **out, kw_error *err);
/* Queue an OffsetFetch of `l` (taken over unconditionally). */
kw_err kwi_cg_fetch(kwi_cgroup *g, kwi_cg_list *l, kwi_cg_op_kind kind, kw_commit_fn cb, void *ud,
                    kwi_cg_op **out, kw_error *err);
/* The consumed positions of the partitions the group assigned (all when `only` is NULL, else
 * those in `only`), as a list to commit. */
kw_err kwi_cg_consumed(kwi_cgroup *g, const kwi_tpset *only, kwi_cg_list *out);
void kwi_cg_op_free(kwi_cgroup *g, kwi_cg_op *op);
/* Remove partitions from the consumer and from `owned`. */
void kwi_cg_unassign(kwi_cgroup *g, const kwi_tpset *parts);
/* A REVOKED callback for `parts` returned: unassign them, then assign again those the member
 * gave back meanwhile. */
void kwi_cg_revoke_done(kwi_cgroup *g, const kwi_tpset *parts);
void kwi_cg_signal(kwi_cgroup *g);
/* Hold the consumer while a COMMIT_POINT is in force or callbacks wait for delivery. */
void kwi_cg_update_hold(kwi_cgroup *g);
void kwi_cg_auto_timer(kwi_reactor *r, kwi_timer *t, void *ud);
void kwi_cg_retry_timer(kwi_reactor *r, kwi_timer *t, void *ud);

/* ---- consumer_group.c -------------------------------------------------------------------- */

/* Test and crash simulation: the member stops sending anything, as a process that died (no
 * LeaveGroup); its session times out at the coordinator. The consumer keeps its partitions
 * until freed. */
void kwi_consumer_group_halt(kw_consumer *k);

#endif
