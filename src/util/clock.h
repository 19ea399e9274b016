/* Internal: the millisecond clock every timer in kwire reads.
 *
 * Production code reads CLOCK_MONOTONIC, which never jumps when the wall clock is set. Tests
 * (and a fuzzing harness that wants determinism) install their own function so that timers,
 * timeouts and backoff run on virtual time without sleeping. */
#ifndef KWI_UTIL_CLOCK_H
#define KWI_UTIL_CLOCK_H

#include <stdint.h>

/* A clock: `now` returns milliseconds on any monotonic scale; NULL means CLOCK_MONOTONIC.
 * Value type: zero-initialise for the system clock. */
typedef struct kwi_clock {
    int64_t (*now)(void *ud);
    void *ud;
} kwi_clock;

/* Milliseconds from `c`'s override, or CLOCK_MONOTONIC when `c` or its function is NULL. The
 * override must be non-decreasing; kwire does not check. Any thread (the system clock is
 * thread-safe; an override is only as thread-safe as its own function). */
int64_t kwi_clock_now_ms(const kwi_clock *c);

#endif
