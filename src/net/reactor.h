/* Internal: the epoll reactor at the bottom of the client runtime.
 *
 * One reactor multiplexes every socket and timer of a client. It is single-threaded and runs
 * nothing on its own: callbacks fire only inside kwi_reactor_step(), on the thread that calls it.
 * A daemon embeds it in its own loop through three calls:
 *
 *     int fd = kwi_reactor_fd(r);           add to the daemon's epoll/poll set for reading
 *     int t  = kwi_reactor_timeout_ms(r);   wait at most this long (-1 = no timer)
 *     kwi_reactor_step(r, 0);               when fd is readable or t has passed
 *
 * The fd is the epoll descriptor itself: it becomes readable when any registered fd is ready
 * or another thread called kwi_reactor_wakeup(). Because a step serves a bounded amount of
 * work (the budget), events can be left over for the next step; kwi_reactor_timeout_ms()
 * returns 0 while that is so, so a loop that honours it never stalls.
 *
 * Every function here, except kwi_reactor_wakeup(), must be called from the thread that owns
 * the reactor. Callbacks may create, modify and free any io or timer handle, including their
 * own, while a step is running: a freed io is unlinked from the batch being dispatched, and
 * kernel events carry a slot number plus generation, so an event for a freed handle is dropped
 * instead of touching freed memory. All memory comes from the kw_allocator in the options. */
#ifndef KWI_NET_REACTOR_H
#define KWI_NET_REACTOR_H

#include <stdint.h>

#include "kwire/alloc.h"
#include "kwire/error.h"
#include "util/clock.h"

typedef struct kwi_reactor kwi_reactor;
typedef struct kwi_io kwi_io;
typedef struct kwi_timer kwi_timer;

/* Interest and event bits. READ and WRITE may be requested; ERROR and HUP are always reported
 * (epoll reports them whatever the interest) and the callback must act on them, usually by
 * freeing the io: a level-triggered error left alone is reported again every step. */
#define KWI_IO_READ  0x1u
#define KWI_IO_WRITE 0x2u
#define KWI_IO_ERROR 0x4u
#define KWI_IO_HUP   0x8u

/* Per-step work budgets when the options leave them 0, and the largest accepted. */
#define KWI_REACTOR_IO_BUDGET    64u
#define KWI_REACTOR_TIMER_BUDGET 64u
#define KWI_REACTOR_BUDGET_MAX   65536u

/* An fd is ready. `events` is a mix of KWI_IO_* bits. Readiness can be spurious (another
 * callback in the same step may have drained the fd), so the fd must be non-blocking and
 * EAGAIN is normal. */
typedef void (*kwi_io_cb)(kwi_reactor *r, kwi_io *io, unsigned events, void *ud);

/* A timer's deadline passed. The timer is disarmed before the call; it may re-arm itself. */
typedef void (*kwi_timer_cb)(kwi_reactor *r, kwi_timer *t, void *ud);

typedef struct kwi_reactor_opts {
    const kw_allocator *alloc; /* NULL = kw_allocator_default() */
    kwi_clock clock;           /* zeroed = CLOCK_MONOTONIC; copied by kwi_reactor_new */
    unsigned io_budget;        /* fd callbacks per step; 0 = KWI_REACTOR_IO_BUDGET */
    unsigned timer_budget;     /* timer callbacks per step; 0 = KWI_REACTOR_TIMER_BUDGET */
} kwi_reactor_opts;

/* Defaults: default allocator, system clock, default budgets. */
void kwi_reactor_opts_init(kwi_reactor_opts *o);

/* Creates a reactor (an epoll fd and an eventfd, both close-on-exec). `o` NULL = defaults.
 * Returns KW_ERR_OK, KW_ERR_NOMEM, KW_ERR_INVALID_ARG (a budget above KWI_REACTOR_BUDGET_MAX)
 * or KW_ERR_IO (out of file descriptors). *out is NULL on failure. */
kw_err kwi_reactor_new(const kwi_reactor_opts *o, kwi_reactor **out);

/* Frees the reactor and every io and timer handle still registered; the registered fds are
 * the caller's and stay open. NULL does nothing. Not from inside a callback, and not while
 * another thread may still call kwi_reactor_wakeup(). */
void kwi_reactor_free(kwi_reactor *r);

/* The epoll fd: readable when a step has fd work to do. Valid until kwi_reactor_free. */
int kwi_reactor_fd(const kwi_reactor *r);

/* Milliseconds until the next step has work: 0 when events are left over from the budget or a
 * timer is due, -1 when nothing is pending but fds, else the time to the earliest timer. */
int kwi_reactor_timeout_ms(const kwi_reactor *r);

/* Waits up to `timeout_ms` (negative = no limit, 0 = poll) but never past the next timer,
 * then dispatches at most io_budget fd callbacks and timer_budget timer callbacks. Returns
 * KW_ERR_OK (also when interrupted by a signal or a wakeup), KW_ERR_STATE when called from
 * inside a callback, or KW_ERR_IO when epoll_wait fails (timers still run). */
kw_err kwi_reactor_step(kwi_reactor *r, int timeout_ms);

/* Makes a blocking or future step return promptly. The only call safe from any thread and from
 * a signal handler. Returns KW_ERR_OK or KW_ERR_IO. Wakeups coalesce. */
kw_err kwi_reactor_wakeup(kwi_reactor *r);

/* The reactor's clock, in milliseconds. */
int64_t kwi_reactor_now_ms(const kwi_reactor *r);

/* Replaces the clock (copied) of a reactor created by someone else (the client's), for
 * harnesses that run it on virtual time. Armed deadlines keep their values, so the new clock
 * must continue the old one's scale (start it at kwi_reactor_now_ms). */
void kwi_reactor_set_clock(kwi_reactor *r, const kwi_clock *clock);

/* Registers `fd` (non-blocking, owned by the caller) with `interest` (READ and/or WRITE, or 0).
 * Returns KW_ERR_OK; KW_ERR_INVALID_ARG (bad fd, a regular file, bad bits, NULL cb);
 * KW_ERR_STATE (fd already registered with this reactor); KW_ERR_NOMEM; KW_ERR_IO.
 * *out is NULL on failure. The callback never fires for a failed registration. */
kw_err kwi_reactor_io_new(kwi_reactor *r, int fd, unsigned interest, kwi_io_cb cb, void *ud,
                          kwi_io **out);

/* Changes the interest set. An event already collected for a bit that is no longer wanted is
 * dropped, so turning WRITE off inside a step means no write callback later in that step.
 * Returns KW_ERR_OK, KW_ERR_INVALID_ARG or KW_ERR_IO (the fd was closed behind our back). */
kw_err kwi_reactor_io_modify(kwi_io *io, unsigned interest);

/* Unregisters and frees the handle; its callback will not fire again, even later in the
 * current step. Call it BEFORE closing the fd: epoll tracks the open file, and a file kept
 * open by a dup would otherwise stay registered. NULL does nothing. */
void kwi_reactor_io_free(kwi_io *io);

int kwi_reactor_io_fd(const kwi_io *io);
unsigned kwi_reactor_io_interest(const kwi_io *io);

/* Creates a disarmed timer. Reserves its place in the timer heap now, so arming it later
 * never fails. Returns KW_ERR_OK, KW_ERR_INVALID_ARG (NULL cb) or KW_ERR_NOMEM. */
kw_err kwi_reactor_timer_new(kwi_reactor *r, kwi_timer_cb cb, void *ud, kwi_timer **out);

/* Arms (or re-arms) the one-shot timer to fire `delay_ms` from now (negative = 0). A timer
 * re-armed from a timer callback fires no earlier than the next step, so a zero delay cannot
 * spin inside one step. */
void kwi_reactor_timer_start(kwi_timer *t, int64_t delay_ms);

/* Arms the timer for an absolute time on the reactor's clock. */
void kwi_reactor_timer_start_at(kwi_timer *t, int64_t deadline_ms);

/* Disarms the timer (cancel). Returns 1 if it was armed, 0 if not. */
int kwi_reactor_timer_stop(kwi_timer *t);

int kwi_reactor_timer_armed(const kwi_timer *t);

/* The deadline of an armed timer (meaningless when disarmed). */
int64_t kwi_reactor_timer_deadline(const kwi_timer *t);

/* Disarms and frees the timer. NULL does nothing. */
void kwi_reactor_timer_free(kwi_timer *t);

#endif
