/* Helpers of the robustness suite (allocation failures, shutdown in every state): clients whose
 * every allocation goes through the counting failing allocator of tests/support/failalloc.h,
 * a raw TCP listener that never answers, monotonic time, and a callback counter that records
 * how often and with which code each callback fired. */
#ifndef KWT_ROBUST_UTIL_H
#define KWT_ROBUST_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "support/failalloc.h"
#include "kwire/client.h"
#include "kwire/conf.h"

/* A failing allocator and the hook that points at it; lives as long as the client. */
typedef struct kwt_fa {
    failing f;
    kw_allocator inner; /* failalloc's own hook over f */
    kw_allocator a;     /* what the client gets: inner, plus fail_from */
    long fail_from;     /* >= 0: every allocation from this number (f.calls) on fails */
    bool armed;         /* a sweep run (not the counting one) is under way */
} kwt_fa;

/* Never fails until armed (f.left = -1, fail_from = -1), nothing counted. */
void kwt_fa_init(kwt_fa *fa);

/* Arms the allocator for sweep run `i`: with `from_on` false only allocation number i
 * (counted from 0, from now) fails; with it every allocation from i on. i < 0 disarms it. */
void kwt_fa_arm(kwt_fa *fa, long i, bool from_on);

/* Allocations made since the last kwt_fa_arm. */
long kwt_fa_count(const kwt_fa *fa);

/* The runs of a sweep over N allocations: each of the first 100 one by one, then a stride
 * that keeps the total near `cap`. Returns the next i after `i`, or -1 when done. */
long kwt_sweep_next(long i, long n, long cap);

/* A client on `bootstrap` with fast backoffs and the extra "key", "value" settings
 * (NULL-terminated), allocating through fa; the allocator does not fail while it is built.
 * Fails the test if the client cannot be made. */
kw_client *kwt_fa_client(kwt_fa *fa, const char *bootstrap, const char *const *extra);

/* The configuration of kwt_fa_client, for a test that creates the client itself. */
kw_conf *kwt_fa_conf(kwt_fa *fa, const char *bootstrap, const char *const *extra);

int64_t kwt_now_ms(void);

/* Logs the client's lines to stderr when $KWT_LOG is set (debugging aid). */
void kwt_debug_log_client(kw_client *c);

/* A listening socket on 127.0.0.1 and an ephemeral port; backlog as given. */
int kwt_listen(int backlog, int *port);

/* The state (CONNECTING, TLS, APIVERSIONS, SASL, READY ...) of the first connection of the
 * client whose port is `port`; "" when there is none. */
const char *kwt_conn_state(kw_client *c, int port, char buf[16]);

/* A callback's record: fired `calls` times, last with `err`. */
typedef struct kwt_cbrec {
    int calls;
    kw_err err;
} kwt_cbrec;

/* A kw_metadata_cb that records into ud (a kwt_cbrec). */
void kwt_md_cb(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud);

#endif
