/* The event bus runtime's offset tracker: which offset of each assigned partition may be
 * committed (at-least-once), and which event of a partition is waiting for a retry.
 *
 * An offset may be committed only when every event before it is finished: its handlers all
 * succeeded, or its DLQ (or republish) write was acknowledged, or it was dropped on purpose
 * (enable_dlq false). Events are handled one at a time per partition, in offset order, so a
 * partition's state is "everything below `next` was handled" plus the few offsets whose
 * write is still in flight: the commit position is the smallest of those, or `next`.
 *
 * Pure bookkeeping: no I/O, no clock (times are passed in), no locks. Memory comes from the
 * allocator given at init. */
#ifndef KWI_BUS_TRACK_H
#define KWI_BUS_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwire/alloc.h"
#include "kwire/error.h"

/** One assigned partition. */
typedef struct kwi_ptrack {
    int32_t partition;
    int64_t next;      /* one past the last handled offset; -1 before the first */
    int64_t committed; /* the last position committed (or found committed); -1 none */
    int64_t *pending;  /* offsets whose DLQ or republish write is in flight, ascending */
    size_t n_pending, cap_pending;
    /* The one event this partition waits on (order-preserving retries): while retry_offset
     * >= 0 the partition is paused and resumes at retry_offset once retry_due has passed. */
    int64_t retry_offset;
    int32_t retry_count; /* retries already made for retry_offset */
    int64_t retry_due;   /* monotonic ms */
    /* DLQ writes of this partition not yet acknowledged: while there are any the partition
     * is paused at `next`, so its later events wait until the DLQ holds the earlier one. */
    int32_t writes;
    /* Tells this assignment of the partition from an earlier one: a write's report that
     * comes after the partition was revoked (and perhaps assigned again) must not touch it. */
    uint64_t gen;
    bool paused;
    bool commit_inflight;
} kwi_ptrack;

/** The partitions of the one topic the bus consumes. */
typedef struct kwi_track {
    const kw_allocator *a;
    kwi_ptrack *p;
    size_t n, cap;
    uint64_t next_gen; /* the gen of the next partition added */
} kwi_track;

void kwi_track_init(kwi_track *t, const kw_allocator *a);
void kwi_track_fini(kwi_track *t);

/** The partition's state, created on first use with a gen no earlier partition state had.
 *  NULL only when out of memory. */
kwi_ptrack *kwi_track_add(kwi_track *t, int32_t partition);
/** The partition's state or NULL. */
kwi_ptrack *kwi_track_get(kwi_track *t, int32_t partition);
/** Forget a partition (revoked or lost). */
void kwi_track_remove(kwi_track *t, int32_t partition);

/** The event at `offset` finished (handled, or dropped): handling moved past it. */
void kwi_ptrack_done(kwi_ptrack *p, int64_t offset);
/** The event at `offset` is handled but waits for a write's acknowledgement before a commit
 *  may pass it. KW_ERR_NOMEM leaves the state unchanged. */
kw_err kwi_ptrack_pend(kwi_ptrack *p, const kw_allocator *a, int64_t offset);
/** The write for `offset` was acknowledged. Returns false if it was not pending. */
bool kwi_ptrack_unpend(kwi_ptrack *p, int64_t offset);
/** The position a commit may name now (the next offset to consume), or -1 when nothing was
 *  handled yet. Never past an unfinished event. */
int64_t kwi_ptrack_commit_pos(const kwi_ptrack *p);
/** Whether the commit position moved past what was committed. */
bool kwi_ptrack_need_commit(const kwi_ptrack *p);

/** Set the order-preserving retry of `offset`: retry number `count` is due at `due`. */
void kwi_ptrack_retry_set(kwi_ptrack *p, int64_t offset, int32_t count, int64_t due);
/** Clear the retry (the event finished). */
void kwi_ptrack_retry_clear(kwi_ptrack *p);
/** Retries already made for the event at `offset` (0 when it is not the retried one). */
int32_t kwi_ptrack_retries_of(const kwi_ptrack *p, int64_t offset);

/** Whether a paused partition may resume at `now`: no DLQ write outstanding and its retry
 *  (if any) due. */
bool kwi_ptrack_may_resume(const kwi_ptrack *p, int64_t now);

/** The earliest retry_due among paused partitions, or -1. */
int64_t kwi_track_next_due(const kwi_track *t);

#endif
