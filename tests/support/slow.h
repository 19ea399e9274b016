/* Test support: how much slower than native the test runs. Under valgrind (meson's `valgrind`
 * test setup sets KW_UNDER_VALGRIND) code runs 10-50 times slower, so the real-time waits of
 * tests that talk to sockets and child processes are scaled by this factor; logic is not. */
#ifndef KWT_SLOW_H
#define KWT_SLOW_H

/* 1 natively; 20 under valgrind. */
int kwt_slow_factor(void);

#endif
