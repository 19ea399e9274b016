/* The reactor under misuse and resource failure: bad arguments are refused with an error and
 * no handle, a nested step is refused, an event from a registration the caller failed to remove
 * reaches no callback, and every allocation failure comes back as KW_ERR_NOMEM with the reactor
 * still usable and nothing leaked (a counting allocator fails each allocation in turn). */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/reactor.h"

static void
make_pipe(int fds[2])
{
    ck_assert_int_eq(pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
}

static void
close_pipe(int fds[2])
{
    close(fds[0]);
    close(fds[1]);
}

static kwi_reactor *
new_reactor(void)
{
    kwi_reactor *r = NULL;
    ck_assert_int_eq(kwi_reactor_new(NULL, &r), KW_ERR_OK);
    return r;
}

static void
step_ok(kwi_reactor *r, int timeout_ms)
{
    ck_assert_int_eq(kwi_reactor_step(r, timeout_ms), KW_ERR_OK);
}

static void
count_cb(kwi_reactor *r, kwi_io *io, unsigned events, void *ud)
{
    (void)r, (void)io, (void)events;
    (*(int *)ud)++;
}

START_TEST(test_stale_kernel_registration_ignored)
{
    /* Misuse the contract on purpose: close the fd before freeing the io while a dup keeps the
     * pipe open. The kernel keeps reporting the old registration; its token is stale, so the
     * events are dropped, and an io that reuses the slot is not called for them. */
    kwi_reactor *r = new_reactor();
    int p[2], q[2];
    make_pipe(p);
    make_pipe(q);
    int dupfd = dup(p[0]);
    ck_assert_int_ge(dupfd, 0);
    int calls1 = 0, calls2 = 0;
    kwi_io *io1, *io2;
    ck_assert_int_eq(kwi_reactor_io_new(r, p[0], KWI_IO_READ, count_cb, &calls1, &io1), 0);
    close(p[0]);
    kwi_reactor_io_free(io1);
    /* io2 takes io1's slot, with the next generation. */
    ck_assert_int_eq(kwi_reactor_io_new(r, q[0], KWI_IO_READ, count_cb, &calls2, &io2), 0);
    ck_assert_int_eq(write(p[1], "ghost", 5), 5);
    step_ok(r, 100);
    ck_assert_int_eq(calls1, 0);
    ck_assert_int_eq(calls2, 0);
    kwi_reactor_free(r);
    close(dupfd);
    close(p[1]);
    close_pipe(q);
}
END_TEST

static void
nested_step_cb(kwi_reactor *r, kwi_io *io, unsigned events, void *ud)
{
    (void)io, (void)events;
    *(kw_err *)ud = kwi_reactor_step(r, 0);
}

START_TEST(test_nested_step_refused)
{
    kwi_reactor *r = new_reactor();
    int p[2];
    make_pipe(p);
    kw_err nested = KW_ERR_OK;
    kwi_io *io;
    ck_assert_int_eq(kwi_reactor_io_new(r, p[1], KWI_IO_WRITE, nested_step_cb, &nested, &io), 0);
    step_ok(r, 0);
    ck_assert_int_eq(nested, KW_ERR_STATE);
    kwi_reactor_free(r);
    close_pipe(p);
}
END_TEST

static void
noop_io_cb(kwi_reactor *r, kwi_io *io, unsigned events, void *ud)
{
    (void)r, (void)io, (void)events, (void)ud;
}

static void
noop_timer_cb(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r, (void)t, (void)ud;
}

START_TEST(test_bad_arguments)
{
    kwi_reactor_opts o;
    kwi_reactor_opts_init(&o);
    o.io_budget = KWI_REACTOR_BUDGET_MAX + 1;
    kwi_reactor *r = (kwi_reactor *)&o;
    ck_assert_int_eq(kwi_reactor_new(&o, &r), KW_ERR_INVALID_ARG);
    ck_assert_ptr_null(r);
    ck_assert_int_eq(kwi_reactor_new(NULL, &r), KW_ERR_OK);

    int p[2];
    make_pipe(p);
    kwi_io *io = (kwi_io *)&o;
    ck_assert_int_eq(kwi_reactor_io_new(r, -1, KWI_IO_READ, noop_io_cb, NULL, &io),
                     KW_ERR_INVALID_ARG);
    ck_assert_ptr_null(io);
    ck_assert_int_eq(kwi_reactor_io_new(r, p[0], 0x40, noop_io_cb, NULL, &io), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kwi_reactor_io_new(r, p[0], KWI_IO_READ, NULL, NULL, &io), KW_ERR_INVALID_ARG);
    /* epoll refuses regular files and itself. */
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(kwi_reactor_io_new(r, fileno(f), KWI_IO_READ, noop_io_cb, NULL, &io),
                     KW_ERR_INVALID_ARG);
    fclose(f);
    ck_assert_int_eq(kwi_reactor_io_new(r, kwi_reactor_fd(r), KWI_IO_READ, noop_io_cb, NULL, &io),
                     KW_ERR_INVALID_ARG);
    /* The same fd twice. */
    ck_assert_int_eq(kwi_reactor_io_new(r, p[0], KWI_IO_READ, noop_io_cb, NULL, &io), 0);
    kwi_io *dup_io = io;
    ck_assert_int_eq(kwi_reactor_io_new(r, p[0], KWI_IO_READ, noop_io_cb, NULL, &io), KW_ERR_STATE);
    ck_assert_ptr_null(io);
    kwi_reactor_io_free(dup_io);
    kwi_reactor_io_free(NULL);
    kwi_timer *t = (kwi_timer *)&o;
    ck_assert_int_eq(kwi_reactor_timer_new(r, NULL, NULL, &t), KW_ERR_INVALID_ARG);
    ck_assert_ptr_null(t);
    kwi_reactor_timer_free(NULL);
    kwi_reactor_free(r);
    kwi_reactor_free(NULL);
    close_pipe(p);
}
END_TEST

typedef struct fail_alloc {
    long calls, fail_at;
    size_t live;
} fail_alloc;

static void *
fa_alloc(void *ud, size_t size)
{
    fail_alloc *f = ud;
    if (f->calls++ == f->fail_at)
        return NULL;
    f->live += size;
    return malloc(size);
}

static void *
fa_realloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    fail_alloc *f = ud;
    if (f->calls++ == f->fail_at)
        return NULL;
    void *p = realloc(ptr, new_size);
    if (p)
        f->live = f->live - old_size + new_size;
    return p;
}

static void
fa_free(void *ud, void *ptr, size_t size)
{
    fail_alloc *f = ud;
    f->live -= size;
    free(ptr);
}

enum { SWEEP_FDS = 20, SWEEP_TIMERS = 40 };

/* Builds a reactor with enough fds and timers to grow the slot table and the heap, then runs a
 * step. Stops at the first failure, which must be KW_ERR_NOMEM with *out left NULL, checks the
 * reactor still works, and tears everything down. Returns the first error. */
static kw_err
sweep_scenario(const kw_allocator *a, int p[SWEEP_FDS][2])
{
    kwi_reactor_opts o;
    kwi_reactor_opts_init(&o);
    o.alloc = a;
    kwi_reactor *r;
    kw_err e = kwi_reactor_new(&o, &r);
    if (e) {
        ck_assert_ptr_null(r);
        return e;
    }
    int calls = 0;
    for (int i = 0; i < SWEEP_FDS && !e; i++) {
        kwi_io *io;
        e = kwi_reactor_io_new(r, p[i][0], KWI_IO_READ, count_cb, &calls, &io);
        if (e)
            ck_assert_ptr_null(io);
    }
    for (int i = 0; i < SWEEP_TIMERS && !e; i++) {
        kwi_timer *t;
        e = kwi_reactor_timer_new(r, noop_timer_cb, NULL, &t);
        if (e)
            ck_assert_ptr_null(t);
        else
            kwi_reactor_timer_start(t, i % 3);
    }
    /* After a failure the reactor must still be usable. */
    step_ok(r, 0);
    kwi_reactor_free(r);
    return e;
}

START_TEST(test_nomem_sweep)
{
    int p[SWEEP_FDS][2];
    for (int i = 0; i < SWEEP_FDS; i++)
        make_pipe(p[i]);
    long points = 0;
    for (long k = 0;; k++) {
        fail_alloc f = {0, k, 0};
        kw_allocator a = {fa_alloc, fa_realloc, fa_free, &f};
        kw_err e = sweep_scenario(&a, p);
        ck_assert_uint_eq(f.live, 0); /* nothing leaked, whatever failed */
        if (e == KW_ERR_OK) {
            ck_assert_int_le(f.calls, k); /* ran past every allocation */
            break;
        }
        ck_assert_int_eq(e, KW_ERR_NOMEM);
        points++;
        ck_assert_int_lt(k, 1000);
    }
    /* reactor, slots + growth, 20 ios, heap + growths, 40 timers. */
    ck_assert_int_ge(points, 1 + 2 + SWEEP_FDS + 3 + SWEEP_TIMERS);
    /* kwi_reactor_free released live handles (live == 0 above) but the fds are the caller's. */
    for (int i = 0; i < SWEEP_FDS; i++) {
        ck_assert_int_eq(fcntl(p[i][0], F_GETFD), FD_CLOEXEC);
        close_pipe(p[i]);
    }
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("net_reactor_errors");
    TCase *tc = tcase_create("reactor_errors");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_stale_kernel_registration_ignored);
    tcase_add_test(tc, test_nested_step_refused);
    tcase_add_test(tc, test_bad_arguments);
    tcase_add_test(tc, test_nomem_sweep);
    suite_add_tcase(s, tc);
    return s;
}
