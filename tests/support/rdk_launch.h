/* Test support: starts librdkafka's mock cluster (tests/support/rdk_mock.c, built when Debian's
 * librdkafka-dev is installed) as a child process and talks to its control channel.
 *
 * The helper's path comes from $KW_RDK_MOCK, which tests/integration/meson.build sets. Every
 * broker listens on an ephemeral loopback port. The child dies with the test process
 * (PR_SET_PDEATHSIG), and kwt_rdk_stop asks it to quit, then kills it if it lingers. */
#ifndef KWT_RDK_LAUNCH_H
#define KWT_RDK_LAUNCH_H

#include <stdbool.h>
#include <sys/types.h>

typedef struct kwt_rdk {
    pid_t pid;
    int to_child, from_child;
    char buf[4096];
    size_t len;
    char bootstrap[1024]; /* "127.0.0.1:p1,127.0.0.1:p2,..." */
    int n_brokers;
} kwt_rdk;

/* Whether the helper exists; if not, *why says so. Call from kw_test_suite() and exit(77)
 * (meson's "skipped") with the reason when it does not. */
bool kwt_rdk_available(const char **why);

/* Exits the process with status 77 and a message when the helper is missing. */
void kwt_rdk_require(void);

/* Starts a cluster of n brokers (ids 1..n). Fails the test on error. */
void kwt_rdk_start(kwt_rdk *m, int n);

/* Sends one command; fails the test unless the answer is "ok". */
void kwt_rdk_cmd(kwt_rdk *m, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The port of broker `id` (1-based, in bootstrap order). */
int kwt_rdk_port(const kwt_rdk *m, int id);

void kwt_rdk_stop(kwt_rdk *m);

#endif
