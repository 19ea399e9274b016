/* The reactor with real pipes and epoll: callbacks see the bytes that were written, write
 * interest toggles, timers fire in deadline order on a virtual clock, the work budget defers
 * and rotates, another thread's wakeup interrupts a blocking step, callbacks can free handles
 * mid-batch, and the reactor fd works inside an outer epoll loop. Misuse and allocation
 * failure are in test_reactor_errors.c. Run under ASan to make the freeing tests meaningful
 * (meson setup -Db_sanitize=address,undefined). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "net/reactor.h"

/* ---- helpers ------------------------------------------------------------------------------ */

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

static void
put(int fd, const char *s)
{
    ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
vclock(void *ud)
{
    return *(const int64_t *)ud;
}

/* vclock_now NULL = system clock. */
static kwi_reactor *
new_reactor(unsigned io_budget, unsigned timer_budget, int64_t *vclock_now)
{
    kwi_reactor_opts o;
    kwi_reactor_opts_init(&o);
    o.io_budget = io_budget;
    o.timer_budget = timer_budget;
    if (vclock_now) {
        o.clock.now = vclock;
        o.clock.ud = vclock_now;
    }
    kwi_reactor *r = NULL;
    ck_assert_int_eq(kwi_reactor_new(&o, &r), KW_ERR_OK);
    ck_assert_ptr_nonnull(r);
    return r;
}

static void
step_ok(kwi_reactor *r, int timeout_ms)
{
    ck_assert_int_eq(kwi_reactor_step(r, timeout_ms), KW_ERR_OK);
}

static kwi_io *
add_io(kwi_reactor *r, int fd, unsigned interest, kwi_io_cb cb, void *ud)
{
    kwi_io *io = NULL;
    ck_assert_int_eq(kwi_reactor_io_new(r, fd, interest, cb, ud, &io), KW_ERR_OK);
    ck_assert_ptr_nonnull(io);
    return io;
}

/* A read callback that appends what it reads. */
typedef struct rd_ctx {
    char buf[256];
    size_t len;
    unsigned events;
    int calls;
    int drain; /* 0: only count, leave the data so the fd stays ready */
} rd_ctx;

static void
read_cb(kwi_reactor *r, kwi_io *io, unsigned events, void *ud)
{
    (void)r;
    rd_ctx *c = ud;
    c->calls++;
    c->events |= events;
    if (!c->drain)
        return;
    ssize_t n;
    while ((n = read(kwi_reactor_io_fd(io), c->buf + c->len, sizeof(c->buf) - 1 - c->len)) > 0)
        c->len += (size_t)n;
    c->buf[c->len] = '\0';
}

/* ---- fd events ------------------------------------------------------------------------------ */

START_TEST(test_read_callback_gets_bytes)
{
    kwi_reactor *r = new_reactor(0, 0, NULL);
    int p[2];
    make_pipe(p);
    rd_ctx c = {.drain = 1};
    kwi_io *io = add_io(r, p[0], KWI_IO_READ, read_cb, &c);
    ck_assert_int_eq(kwi_reactor_io_fd(io), p[0]);

    /* Nothing written: a polling step calls nothing and nothing is pending. */
    step_ok(r, 0);
    ck_assert_int_eq(c.calls, 0);
    ck_assert_int_eq(kwi_reactor_timeout_ms(r), -1);

    put(p[1], "hello kwire");
    step_ok(r, 1000);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_uint_eq(c.events, KWI_IO_READ);
    ck_assert_str_eq(c.buf, "hello kwire");

    /* Drained: the next step has nothing to do. */
    step_ok(r, 0);
    ck_assert_int_eq(c.calls, 1);

    put(p[1], "!");
    step_ok(r, 1000);
    ck_assert_str_eq(c.buf, "hello kwire!");

    /* The writer goes away: the last bytes arrive together with HUP. */
    put(p[1], "bye");
    close(p[1]);
    step_ok(r, 1000);
    ck_assert(c.events & KWI_IO_HUP);
    ck_assert_str_eq(c.buf, "hello kwire!bye");
    kwi_reactor_io_free(io);
    close(p[0]);
    kwi_reactor_free(r);
}
END_TEST

START_TEST(test_write_interest_toggle)
{
    kwi_reactor *r = new_reactor(0, 0, NULL);
    int p[2];
    make_pipe(p);
    rd_ctx c = {0};
    kwi_io *io;
    /* Registered with no interest: an empty pipe's write end is writable, but not asked for. */
    ck_assert_int_eq(kwi_reactor_io_new(r, p[1], 0, read_cb, &c, &io), KW_ERR_OK);
    step_ok(r, 0);
    ck_assert_int_eq(c.calls, 0);

    ck_assert_int_eq(kwi_reactor_io_modify(io, KWI_IO_WRITE), KW_ERR_OK);
    ck_assert_uint_eq(kwi_reactor_io_interest(io), KWI_IO_WRITE);
    step_ok(r, 0);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_uint_eq(c.events, KWI_IO_WRITE);

    ck_assert_int_eq(kwi_reactor_io_modify(io, 0), KW_ERR_OK);
    step_ok(r, 0);
    ck_assert_int_eq(c.calls, 1);

    /* Fill the pipe: with WRITE wanted again there is still no callback until it drains. */
    char blk[4096];
    memset(blk, 'x', sizeof(blk));
    while (write(p[1], blk, sizeof(blk)) > 0)
        ;
    ck_assert_int_eq(errno, EAGAIN);
    ck_assert_int_eq(kwi_reactor_io_modify(io, KWI_IO_WRITE), KW_ERR_OK);
    step_ok(r, 0);
    ck_assert_int_eq(c.calls, 1);
    while (read(p[0], blk, sizeof(blk)) > 0)
        ;
    step_ok(r, 1000);
    ck_assert_int_eq(c.calls, 2);

    ck_assert_int_eq(kwi_reactor_io_modify(io, 0x100), KW_ERR_INVALID_ARG);
    kwi_reactor_io_free(io);
    close_pipe(p);
    kwi_reactor_free(r);
}
END_TEST

/* Two writable fds, a budget of one: whichever runs first turns off the other's WRITE
 * interest, whose collected event must then be dropped rather than dispatched next step. */
typedef struct toggle_ctx {
    kwi_io *io[2];
    int calls[2];
} toggle_ctx;

static void
toggle_cb(kwi_reactor *r, kwi_io *io, unsigned events, void *ud)
{
    (void)r, (void)events;
    toggle_ctx *c = ud;
    int me = io == c->io[1];
    c->calls[me]++;
    ck_assert_int_eq(kwi_reactor_io_modify(c->io[!me], 0), KW_ERR_OK);
    ck_assert_int_eq(kwi_reactor_io_modify(io, 0), KW_ERR_OK);
}

START_TEST(test_modify_drops_collected_event)
{
    kwi_reactor *r = new_reactor(1, 0, NULL);
    int a[2], b[2];
    make_pipe(a);
    make_pipe(b);
    toggle_ctx c = {0};
    ck_assert_int_eq(kwi_reactor_io_new(r, a[1], KWI_IO_WRITE, toggle_cb, &c, &c.io[0]), 0);
    ck_assert_int_eq(kwi_reactor_io_new(r, b[1], KWI_IO_WRITE, toggle_cb, &c, &c.io[1]), 0);
    step_ok(r, 0);
    ck_assert_int_eq(c.calls[0] + c.calls[1], 1);
    /* The other event was collected but not dispatched (budget 1); the toggle dropped it. */
    ck_assert_int_eq(kwi_reactor_timeout_ms(r), -1);
    for (int i = 0; i < 3; i++)
        step_ok(r, 0);
    ck_assert_int_eq(c.calls[0] + c.calls[1], 1);
    kwi_reactor_free(r); /* frees both handles */
    close_pipe(a);
    close_pipe(b);
}
END_TEST

/* ---- timers ----------------------------------------------------------------------------- */

typedef struct order_ctx {
    int order[32];
    int n;
} order_ctx;

typedef struct timer_rec {
    order_ctx *oc;
    int id;
    kwi_timer *t;
} timer_rec;

static void
order_cb(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    timer_rec *rec = ud;
    ck_assert_ptr_eq(rec->t, t);
    ck_assert(!kwi_reactor_timer_armed(t)); /* disarmed before the call */
    rec->oc->order[rec->oc->n++] = rec->id;
}

START_TEST(test_timers_fire_in_deadline_order)
{
    int64_t now = 1000;
    kwi_reactor *r = new_reactor(0, 0, &now);
    order_ctx oc = {0};
    static const int64_t delay[] = {50, 10, 30, 10, 20, 0};
    timer_rec rec[6];
    for (int i = 0; i < 6; i++) {
        rec[i] = (timer_rec){&oc, i, NULL};
        ck_assert_int_eq(kwi_reactor_timer_new(r, order_cb, &rec[i], &rec[i].t), KW_ERR_OK);
        kwi_reactor_timer_start(rec[i].t, delay[i]);
        ck_assert(kwi_reactor_timer_armed(rec[i].t));
        ck_assert_int_eq(kwi_reactor_timer_deadline(rec[i].t), 1000 + delay[i]);
    }
    /* The zero-delay timer is due now. */
    ck_assert_int_eq(kwi_reactor_timeout_ms(r), 0);
    step_ok(r, 0);
    ck_assert_int_eq(oc.n, 1);
    ck_assert_int_eq(oc.order[0], 5);
    ck_assert_int_eq(kwi_reactor_timeout_ms(r), 10);

    now = 1009;
    ck_assert_int_eq(kwi_reactor_timeout_ms(r), 1);
    step_ok(r, 0);
    ck_assert_int_eq(oc.n, 1);

    /* All due at once: deadline order, equal deadlines in the order they were armed. */
    now = 2000;
    step_ok(r, 0);
    static const int want[] = {5, 1, 3, 4, 2, 0};
    ck_assert_int_eq(oc.n, 6);
    for (int i = 0; i < 6; i++)
        ck_assert_int_eq(oc.order[i], want[i]);
    ck_assert_int_eq(kwi_reactor_timeout_ms(r), -1);

    /* Re-arming moves the deadline: from +100 to +5. */
    kwi_reactor_timer_start(rec[0].t, 100);
    kwi_reactor_timer_start(rec[0].t, 5);
    ck_assert_int_eq(kwi_reactor_timeout_ms(r), 5);
    now = 2005;
    step_ok(r, 0);
    ck_assert_int_eq(oc.n, 7);
    ck_assert_int_eq(oc.order[6], 0);
    kwi_reactor_free(r); /* frees the timers */
}
END_TEST

/* Stops (cancels) the timer in ud->t when it fires first. */
static void
cancel_other_cb(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r, (void)t;
    timer_rec *rec = ud;
    rec->oc->order[rec->oc->n++] = rec->id;
    ck_assert_int_eq(kwi_reactor_timer_stop(rec[1].t), 1);
}

START_TEST(test_timer_cancel)
{
    int64_t now = 0;
    kwi_reactor *r = new_reactor(0, 0, &now);
    order_ctx oc = {0};
    timer_rec rec[2] = {{&oc, 0, NULL}, {&oc, 1, NULL}};
    ck_assert_int_eq(kwi_reactor_timer_new(r, order_cb, &rec[0], &rec[0].t), KW_ERR_OK);
    ck_assert_int_eq(kwi_reactor_timer_new(r, order_cb, &rec[1], &rec[1].t), KW_ERR_OK);
    kwi_reactor_timer_start(rec[0].t, 10);
    kwi_reactor_timer_start(rec[1].t, 10);
    ck_assert_int_eq(kwi_reactor_timer_stop(rec[1].t), 1);
    ck_assert_int_eq(kwi_reactor_timer_stop(rec[1].t), 0);
    ck_assert(!kwi_reactor_timer_armed(rec[1].t));
    now = 50;
    step_ok(r, 0);
    ck_assert_int_eq(oc.n, 1);
    ck_assert_int_eq(oc.order[0], 0);
    kwi_reactor_timer_free(rec[0].t);
    kwi_reactor_timer_free(rec[1].t);

    /* Cancel inside the batch: both due, the first stops the second before its turn. */
    timer_rec pair[2] = {{&oc, 10, NULL}, {&oc, 11, NULL}};
    ck_assert_int_eq(kwi_reactor_timer_new(r, cancel_other_cb, pair, &pair[0].t), KW_ERR_OK);
    ck_assert_int_eq(kwi_reactor_timer_new(r, order_cb, &pair[1], &pair[1].t), KW_ERR_OK);
    kwi_reactor_timer_start(pair[0].t, 1);
    kwi_reactor_timer_start(pair[1].t, 2);
    now = 100;
    step_ok(r, 0);
    ck_assert_int_eq(oc.n, 2);
    ck_assert_int_eq(oc.order[1], 10);
    ck_assert_int_eq(kwi_reactor_timeout_ms(r), -1);
    kwi_reactor_free(r);
}
END_TEST

static void
rearm_cb(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (*(int *)ud)++;
    kwi_reactor_timer_start(t, 0);
}

START_TEST(test_timer_rearm_zero_waits_for_next_step)
{
    int64_t now = 0;
    kwi_reactor *r = new_reactor(0, 1000, &now);
    int fired = 0;
    kwi_timer *t;
    ck_assert_int_eq(kwi_reactor_timer_new(r, rearm_cb, &fired, &t), KW_ERR_OK);
    kwi_reactor_timer_start(t, 0);
    /* With a budget of 1000 a naive loop would fire it 1000 times in one step. */
    step_ok(r, 0);
    ck_assert_int_eq(fired, 1);
    ck_assert_int_eq(kwi_reactor_timeout_ms(r), 0);
    step_ok(r, 0);
    ck_assert_int_eq(fired, 2);
    kwi_reactor_timer_free(t);
    ck_assert_int_eq(kwi_reactor_timeout_ms(r), -1);
    kwi_reactor_free(r);
}
END_TEST

START_TEST(test_step_waits_for_real_timer)
{
    /* A blocking step with a long timeout still returns for a 30 ms timer. */
    kwi_reactor *r = new_reactor(0, 0, NULL);
    order_ctx oc = {0};
    timer_rec rec = {&oc, 7, NULL};
    ck_assert_int_eq(kwi_reactor_timer_new(r, order_cb, &rec, &rec.t), KW_ERR_OK);
    kwi_reactor_timer_start(rec.t, 30);
    int64_t t0 = mono_ms();
    while (oc.n == 0 && mono_ms() - t0 < 5000)
        step_ok(r, 10000);
    int64_t took = mono_ms() - t0;
    ck_assert_int_eq(oc.n, 1);
    ck_assert_int_ge(took, 25);
    ck_assert_int_lt(took, 2000);
    kwi_reactor_free(r);
}
END_TEST

/* ---- budget and fairness ------------------------------------------------------------------ */

START_TEST(test_budget_defers_and_rotates)
{
    enum { NFD = 8, BUDGET = 2 };
    kwi_reactor *r = new_reactor(BUDGET, 0, NULL);
    int p[NFD][2];
    rd_ctx c[NFD];
    kwi_io *io[NFD];
    for (int i = 0; i < NFD; i++) {
        make_pipe(p[i]);
        memset(&c[i], 0, sizeof(c[i])); /* count only: every fd stays readable */
        put(p[i][1], "x");
        ck_assert_int_eq(kwi_reactor_io_new(r, p[i][0], KWI_IO_READ, read_cb, &c[i], &io[i]),
                         KW_ERR_OK);
    }
    /* Each round of NFD/BUDGET steps serves every fd exactly once more: no fd is served a
     * second time while another still waits for its first. */
    for (int round = 1; round <= 3; round++) {
        for (int s = 0; s < NFD / BUDGET; s++) {
            step_ok(r, 0);
            int total = 0;
            for (int i = 0; i < NFD; i++) {
                ck_assert_int_le(c[i].calls, round);
                ck_assert_int_ge(c[i].calls, round - 1);
                total += c[i].calls;
            }
            ck_assert_int_eq(total, (round - 1) * NFD + (s + 1) * BUDGET);
            /* Left-over work makes the loop come straight back. */
            ck_assert_int_eq(kwi_reactor_timeout_ms(r), 0);
        }
        for (int i = 0; i < NFD; i++)
            ck_assert_int_eq(c[i].calls, round);
    }
    for (int i = 0; i < NFD; i++) {
        kwi_reactor_io_free(io[i]);
        close_pipe(p[i]);
    }
    kwi_reactor_free(r);
}
END_TEST

START_TEST(test_timer_budget)
{
    int64_t now = 0;
    kwi_reactor *r = new_reactor(0, 2, &now);
    order_ctx oc = {0};
    timer_rec rec[5];
    for (int i = 0; i < 5; i++) {
        rec[i] = (timer_rec){&oc, i, NULL};
        ck_assert_int_eq(kwi_reactor_timer_new(r, order_cb, &rec[i], &rec[i].t), KW_ERR_OK);
        kwi_reactor_timer_start(rec[i].t, 5 - i); /* reverse order: id 4 first */
    }
    now = 10;
    int want_n[] = {2, 4, 5};
    for (int s = 0; s < 3; s++) {
        step_ok(r, 0);
        ck_assert_int_eq(oc.n, want_n[s]);
    }
    for (int i = 0; i < 5; i++)
        ck_assert_int_eq(oc.order[i], 4 - i);
    ck_assert_int_eq(kwi_reactor_timeout_ms(r), -1);
    kwi_reactor_free(r);
}
END_TEST

/* ---- wakeup ------------------------------------------------------------------------------ */

static void *
wake_later(void *arg)
{
    struct timespec ts = {0, 100 * 1000000L};
    nanosleep(&ts, NULL);
    kwi_reactor_wakeup(arg);
    return NULL;
}

START_TEST(test_wakeup_from_thread)
{
    kwi_reactor *r = new_reactor(0, 0, NULL);
    pthread_t th;
    int64_t t0 = mono_ms();
    ck_assert_int_eq(pthread_create(&th, NULL, wake_later, r), 0);
    step_ok(r, 10000);
    int64_t took = mono_ms() - t0;
    pthread_join(th, NULL);
    ck_assert_int_ge(took, 50);   /* it did block ... */
    ck_assert_int_lt(took, 5000); /* ... until the wakeup, not the timeout */

    /* A wakeup before the step makes even an unbounded step return at once. */
    ck_assert_int_eq(kwi_reactor_wakeup(r), KW_ERR_OK);
    ck_assert_int_eq(kwi_reactor_wakeup(r), KW_ERR_OK); /* coalesces */
    t0 = mono_ms();
    ck_assert_int_eq(kwi_reactor_step(r, -1), KW_ERR_OK);
    ck_assert_int_lt(mono_ms() - t0, 1000);

    /* The wakeup was consumed: the next step waits its full timeout. */
    t0 = mono_ms();
    ck_assert_int_eq(kwi_reactor_step(r, 100), KW_ERR_OK);
    ck_assert_int_ge(mono_ms() - t0, 90);
    kwi_reactor_free(r);
}
END_TEST

/* ---- freeing handles from callbacks --------------------------------------------------------- */

typedef struct kill_ctx {
    kwi_io *io[2];
    kwi_timer *t[2];
    int calls;
    int reuse_fd; /* >= 0: register a fresh io on this fd after freeing */
    kwi_io *fresh;
    rd_ctx fresh_ctx;
} kill_ctx;

static void
kill_both_cb(kwi_reactor *r, kwi_io *io, unsigned events, void *ud)
{
    (void)events;
    kill_ctx *k = ud;
    k->calls++;
    ck_assert(io == k->io[0] || io == k->io[1]);
    /* Free the other first, then ourselves: the other was collected in the same batch. */
    kwi_reactor_io_free(io == k->io[0] ? k->io[1] : k->io[0]);
    kwi_reactor_io_free(io);
    k->io[0] = k->io[1] = NULL;
    if (k->reuse_fd >= 0) /* the freed slot is reused at once, with a new generation */
        ck_assert_int_eq(
            kwi_reactor_io_new(r, k->reuse_fd, KWI_IO_READ, read_cb, &k->fresh_ctx, &k->fresh),
            KW_ERR_OK);
}

START_TEST(test_callback_frees_self_and_other)
{
    kwi_reactor *r = new_reactor(0, 0, NULL);
    int a[2], b[2], c[2];
    make_pipe(a);
    make_pipe(b);
    make_pipe(c);
    kill_ctx k = {.reuse_fd = c[0], .fresh_ctx = {.drain = 1}};
    ck_assert_int_eq(kwi_reactor_io_new(r, a[0], KWI_IO_READ, kill_both_cb, &k, &k.io[0]), 0);
    ck_assert_int_eq(kwi_reactor_io_new(r, b[0], KWI_IO_READ, kill_both_cb, &k, &k.io[1]), 0);
    put(a[1], "a");
    put(b[1], "b");
    put(c[1], "c");
    /* Pipes are readable as soon as written, so both land in the first batch. */
    step_ok(r, 1000);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_ptr_nonnull(k.fresh);
    ck_assert_int_eq(k.fresh_ctx.calls, 0); /* registered after the harvest */
    step_ok(r, 1000);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(k.fresh_ctx.calls, 1);
    ck_assert_str_eq(k.fresh_ctx.buf, "c");
    kwi_reactor_free(r);
    close_pipe(a);
    close_pipe(b);
    close_pipe(c);
}
END_TEST

static void
timer_kill_both_cb(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    kill_ctx *k = ud;
    k->calls++;
    kwi_reactor_timer_free(t == k->t[0] ? k->t[1] : k->t[0]);
    kwi_reactor_timer_free(t);
}

START_TEST(test_timer_callback_frees_self_and_other)
{
    int64_t now = 0;
    kwi_reactor *r = new_reactor(0, 0, &now);
    kill_ctx k = {.reuse_fd = -1};
    ck_assert_int_eq(kwi_reactor_timer_new(r, timer_kill_both_cb, &k, &k.t[0]), KW_ERR_OK);
    ck_assert_int_eq(kwi_reactor_timer_new(r, timer_kill_both_cb, &k, &k.t[1]), KW_ERR_OK);
    kwi_reactor_timer_start(k.t[0], 1);
    kwi_reactor_timer_start(k.t[1], 1);
    now = 5;
    step_ok(r, 0);
    ck_assert_int_eq(k.calls, 1);
    ck_assert_int_eq(kwi_reactor_timeout_ms(r), -1);
    kwi_reactor_free(r);
}
END_TEST

/* ---- embedding ------------------------------------------------------------------------------ */

static int
outer_ready(int outer, int timeout_ms)
{
    struct epoll_event ev;
    int n;
    while ((n = epoll_wait(outer, &ev, 1, timeout_ms)) < 0 && errno == EINTR)
        ;
    return n;
}

START_TEST(test_reactor_fd_in_outer_epoll)
{
    kwi_reactor *r = new_reactor(0, 0, NULL);
    int outer = epoll_create1(EPOLL_CLOEXEC);
    ck_assert_int_ge(outer, 0);
    struct epoll_event ev = {.events = EPOLLIN};
    ck_assert_int_eq(epoll_ctl(outer, EPOLL_CTL_ADD, kwi_reactor_fd(r), &ev), 0);
    int p[2];
    make_pipe(p);
    rd_ctx c = {.drain = 1};
    add_io(r, p[0], KWI_IO_READ, read_cb, &c); /* freed by kwi_reactor_free */

    ck_assert_int_eq(outer_ready(outer, 0), 0);
    put(p[1], "embedded");
    ck_assert_int_eq(outer_ready(outer, 1000), 1);
    step_ok(r, 0);
    ck_assert_str_eq(c.buf, "embedded");
    ck_assert_int_eq(outer_ready(outer, 0), 0);

    /* A wakeup makes the reactor fd readable too, and a step consumes it. */
    ck_assert_int_eq(kwi_reactor_wakeup(r), KW_ERR_OK);
    ck_assert_int_eq(outer_ready(outer, 1000), 1);
    step_ok(r, 0);
    ck_assert_int_eq(outer_ready(outer, 0), 0);

    /* A daemon loop: wait on its own epoll with the reactor's timeout, then step(0). The timer
     * is only ever reached through kwi_reactor_timeout_ms(). */
    order_ctx oc = {0};
    timer_rec rec = {&oc, 1, NULL};
    ck_assert_int_eq(kwi_reactor_timer_new(r, order_cb, &rec, &rec.t), KW_ERR_OK);
    kwi_reactor_timer_start(rec.t, 20);
    int64_t t0 = mono_ms();
    while (oc.n == 0 && mono_ms() - t0 < 5000) {
        outer_ready(outer, kwi_reactor_timeout_ms(r));
        step_ok(r, 0);
    }
    ck_assert_int_eq(oc.n, 1);
    ck_assert_int_ge(mono_ms() - t0, 15);
    kwi_reactor_free(r);
    close(outer);
    close_pipe(p);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("net_reactor");
    TCase *tc = tcase_create("reactor");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_read_callback_gets_bytes);
    tcase_add_test(tc, test_write_interest_toggle);
    tcase_add_test(tc, test_modify_drops_collected_event);
    tcase_add_test(tc, test_timers_fire_in_deadline_order);
    tcase_add_test(tc, test_timer_cancel);
    tcase_add_test(tc, test_timer_rearm_zero_waits_for_next_step);
    tcase_add_test(tc, test_step_waits_for_real_timer);
    tcase_add_test(tc, test_budget_defers_and_rotates);
    tcase_add_test(tc, test_timer_budget);
    tcase_add_test(tc, test_wakeup_from_thread);
    tcase_add_test(tc, test_callback_frees_self_and_other);
    tcase_add_test(tc, test_timer_callback_frees_self_and_other);
    tcase_add_test(tc, test_reactor_fd_in_outer_epoll);
    suite_add_tcase(s, tc);
    return s;
}
