/* The epoll reactor; see reactor.h for the contract.
 *
 * Shape of a step: one epoll_wait harvests ready fds into a FIFO ready queue, at most
 * io_budget entries are dispatched from its head, then at most timer_budget expired timers
 * fire. Entries left in the queue keep their place; fds that were served and are still ready
 * are reported again by the next (level-triggered) epoll_wait and join at the tail. That is a
 * round-robin over ready fds that does not depend on the order the kernel reports them in, so
 * one busy connection cannot starve the others.
 *
 * Handles are never referenced after their callback returns, and freeing an io unlinks it from
 * the ready queue, so callbacks may free anything at any time without deferred-free machinery.
 * The kernel's copy of a registration is the one reference we cannot retract synchronously (a
 * dup of a closed fd keeps it alive), so epoll events carry a slot index and generation rather
 * than a pointer: an event whose generation is stale is ignored. */
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "net/reactor.h"
#include "util/heap.h"

/* epoll_event.data for the wakeup eventfd: slot indices stay below UINT32_MAX. */
#define WAKE_TOKEN UINT64_MAX
#define SLOT_NONE  UINT32_MAX
#define SLOT_MAX   (1u << 24)

/* One harvest may collect more events than one step dispatches; the surplus waits in the ready
 * queue. Collecting a multiple of the budget is what lets the queue rotate through more ready
 * fds than a single step may serve. */
#define HARVEST_FACTOR 4u
#define HARVEST_MIN    64u

struct kwi_io {
    kwi_reactor *r;
    int fd;
    unsigned interest;
    unsigned revents; /* collected, not yet dispatched */
    uint32_t slot;
    int queued;
    kwi_io *qprev, *qnext; /* ready queue */
    kwi_io_cb cb;
    void *ud;
};

struct kwi_timer {
    kwi_heap_node node;
    kwi_reactor *r;
    kwi_timer *prev, *next; /* every live timer, for kwi_reactor_free */
    kwi_timer_cb cb;
    void *ud;
};

/* The slot table maps an epoll token to an io. A free slot has io NULL and links the free list
 * through next_free; its generation is bumped on every release. */
typedef struct io_slot {
    kwi_io *io;
    uint32_t gen;
    uint32_t next_free;
} io_slot;

struct kwi_reactor {
    const kw_allocator *a;
    kwi_clock clock;
    int epfd, wakefd;
    unsigned io_budget, timer_budget;
    int dispatching; /* inside step: a nested step would re-enter the queue */
    io_slot *slots;
    uint32_t nslots, free_slot;
    kwi_io *qhead, *qtail;
    kwi_heap heap;
    size_t ntimers; /* live timers: the heap has room reserved for each */
    kwi_timer *timers;
    int evcap;
    struct epoll_event ev[];
};

static void *
mem_alloc(const kw_allocator *a, size_t size)
{
    return a->alloc(a->ud, size);
}

static void
mem_free(const kw_allocator *a, void *p, size_t size)
{
    a->free(a->ud, p, size);
}

/* ---- ready queue ---------------------------------------------------------------------- */

static void
queue_push(kwi_reactor *r, kwi_io *io)
{
    io->qnext = NULL;
    io->qprev = r->qtail;
    if (r->qtail)
        r->qtail->qnext = io;
    else
        r->qhead = io;
    r->qtail = io;
    io->queued = 1;
}

static void
queue_unlink(kwi_reactor *r, kwi_io *io)
{
    if (!io->queued)
        return;
    if (io->qprev)
        io->qprev->qnext = io->qnext;
    else
        r->qhead = io->qnext;
    if (io->qnext)
        io->qnext->qprev = io->qprev;
    else
        r->qtail = io->qprev;
    io->qprev = io->qnext = NULL;
    io->queued = 0;
}

/* ---- slots ---------------------------------------------------------------------------- */

static kw_err
slots_grow(kwi_reactor *r)
{
    uint32_t old = r->nslots;
    /* 2^24 registered fds is far beyond any process limit, and keeps n * sizeof(io_slot)
     * within a 32-bit size_t. */
    if (old >= SLOT_MAX)
        return KW_ERR_NOMEM;
    uint32_t n = old ? old * 2 : 16;
    io_slot *s;
    if (r->slots)
        s = r->a->realloc(r->a->ud, r->slots, old * sizeof(io_slot), n * sizeof(io_slot));
    else
        s = mem_alloc(r->a, n * sizeof(io_slot));
    if (!s)
        return KW_ERR_NOMEM;
    /* Thread the new slots onto the free list in index order. */
    for (uint32_t i = old; i < n; i++) {
        s[i].io = NULL;
        s[i].gen = 0;
        s[i].next_free = i + 1 < n ? i + 1 : r->free_slot;
    }
    r->slots = s;
    r->nslots = n;
    r->free_slot = old;
    return KW_ERR_OK;
}

static uint64_t
slot_token(const kwi_reactor *r, uint32_t slot)
{
    return ((uint64_t)r->slots[slot].gen << 32) | slot;
}

static void
slot_release(kwi_reactor *r, uint32_t slot)
{
    r->slots[slot].io = NULL;
    r->slots[slot].gen++; /* any event still carrying the old token is now stale */
    r->slots[slot].next_free = r->free_slot;
    r->free_slot = slot;
}

/* ---- reactor -------------------------------------------------------------------------- */

void
kwi_reactor_opts_init(kwi_reactor_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->alloc = kw_allocator_default();
    o->io_budget = KWI_REACTOR_IO_BUDGET;
    o->timer_budget = KWI_REACTOR_TIMER_BUDGET;
}

static size_t
reactor_size(int evcap)
{
    return offsetof(kwi_reactor, ev) + (size_t)evcap * sizeof(struct epoll_event);
}

static kw_err
reactor_open_fds(kwi_reactor *r)
{
    r->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (r->epfd < 0)
        return KW_ERR_IO;
    r->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->wakefd < 0)
        return KW_ERR_IO;
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_TOKEN};
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->wakefd, &ev) != 0)
        return errno == ENOMEM ? KW_ERR_NOMEM : KW_ERR_IO;
    return KW_ERR_OK;
}

kw_err
kwi_reactor_new(const kwi_reactor_opts *o, kwi_reactor **out)
{
    *out = NULL;
    kwi_reactor_opts def;
    if (!o) {
        kwi_reactor_opts_init(&def);
        o = &def;
    }
    unsigned iob = o->io_budget ? o->io_budget : KWI_REACTOR_IO_BUDGET;
    unsigned tb = o->timer_budget ? o->timer_budget : KWI_REACTOR_TIMER_BUDGET;
    if (iob > KWI_REACTOR_BUDGET_MAX || tb > KWI_REACTOR_BUDGET_MAX)
        return KW_ERR_INVALID_ARG;
    unsigned evcap = iob * HARVEST_FACTOR; /* <= 4 * 65536: no overflow */
    if (evcap < HARVEST_MIN)
        evcap = HARVEST_MIN;
    const kw_allocator *a = o->alloc ? o->alloc : kw_allocator_default();
    kwi_reactor *r = mem_alloc(a, reactor_size((int)evcap));
    if (!r)
        return KW_ERR_NOMEM;
    memset(r, 0, sizeof(*r));
    r->epfd = r->wakefd = -1;
    r->a = a;
    r->clock = o->clock;
    r->io_budget = iob;
    r->timer_budget = tb;
    r->evcap = (int)evcap;
    r->free_slot = SLOT_NONE;
    kwi_heap_init(&r->heap, a);
    kw_err e = reactor_open_fds(r);
    if (e) {
        kwi_reactor_free(r);
        return e;
    }
    *out = r;
    return KW_ERR_OK;
}

void
kwi_reactor_free(kwi_reactor *r)
{
    if (!r)
        return;
    for (uint32_t i = 0; i < r->nslots; i++)
        kwi_reactor_io_free(r->slots[i].io);
    while (r->timers)
        kwi_reactor_timer_free(r->timers);
    if (r->slots)
        mem_free(r->a, r->slots, r->nslots * sizeof(io_slot));
    kwi_heap_fini(&r->heap);
    /* -1 until opened, so a reactor whose creation failed half-way closes only what it got. */
    if (r->wakefd >= 0)
        close(r->wakefd);
    if (r->epfd >= 0)
        close(r->epfd);
    mem_free(r->a, r, reactor_size(r->evcap));
}

int
kwi_reactor_fd(const kwi_reactor *r)
{
    return r->epfd;
}

int64_t
kwi_reactor_now_ms(const kwi_reactor *r)
{
    return kwi_clock_now_ms(&r->clock);
}

void
kwi_reactor_set_clock(kwi_reactor *r, const kwi_clock *clock)
{
    r->clock = *clock;
}

int
kwi_reactor_timeout_ms(const kwi_reactor *r)
{
    if (r->qhead)
        return 0;
    const kwi_heap_node *n = kwi_heap_peek(&r->heap);
    if (!n)
        return -1;
    int64_t now = kwi_reactor_now_ms(r);
    if (n->deadline_ms <= now)
        return 0;
    /* Unsigned subtraction: the difference of two int64 values can exceed INT64_MAX. */
    uint64_t left = (uint64_t)n->deadline_ms - (uint64_t)now;
    return left > INT_MAX ? INT_MAX : (int)left;
}

kw_err
kwi_reactor_wakeup(kwi_reactor *r)
{
    /* Safe in a signal handler: write(2) is async-signal-safe, and errno is restored. */
    int saved = errno;
    uint64_t one = 1;
    kw_err e = KW_ERR_OK;
    for (;;) {
        if (write(r->wakefd, &one, sizeof(one)) == (ssize_t)sizeof(one))
            break;
        if (errno == EINTR)
            continue;
        /* EAGAIN: the counter is saturated, so a wakeup is already pending. */
        if (errno != EAGAIN)
            e = KW_ERR_IO;
        break;
    }
    errno = saved;
    return e;
}

static void
drain_wakeup(kwi_reactor *r)
{
    uint64_t v;
    /* One read resets an eventfd counter; EAGAIN means another step already drained it. */
    while (read(r->wakefd, &v, sizeof(v)) < 0 && errno == EINTR)
        ;
}

static unsigned
from_epoll(uint32_t ev)
{
    unsigned out = 0;
    if (ev & EPOLLIN)
        out |= KWI_IO_READ;
    if (ev & EPOLLOUT)
        out |= KWI_IO_WRITE;
    if (ev & EPOLLERR)
        out |= KWI_IO_ERROR;
    if (ev & EPOLLHUP)
        out |= KWI_IO_HUP;
    return out;
}

static uint32_t
to_epoll(unsigned interest)
{
    return (interest & KWI_IO_READ ? EPOLLIN : 0u) | (interest & KWI_IO_WRITE ? EPOLLOUT : 0u);
}

/* Moves kernel events into the ready queue. No user code runs here. */
static void
harvest(kwi_reactor *r, int n)
{
    for (int i = 0; i < n; i++) {
        uint64_t tok = r->ev[i].data.u64;
        if (tok == WAKE_TOKEN) {
            drain_wakeup(r);
            continue;
        }
        uint32_t slot = (uint32_t)tok;
        if (slot >= r->nslots || !r->slots[slot].io || slot_token(r, slot) != tok)
            continue; /* stale: the io was freed while the kernel still knew it */
        kwi_io *io = r->slots[slot].io;
        unsigned bits = from_epoll(r->ev[i].events);
        io->revents |= bits & (io->interest | KWI_IO_ERROR | KWI_IO_HUP);
        if (io->revents && !io->queued)
            queue_push(r, io);
    }
}

static void
dispatch_io(kwi_reactor *r)
{
    for (unsigned done = 0; done < r->io_budget && r->qhead; done++) {
        kwi_io *io = r->qhead;
        queue_unlink(r, io);
        unsigned ev = io->revents;
        io->revents = 0;
        /* io may be freed by its own callback: nothing touches it after the call. */
        io->cb(r, io, ev, io->ud);
    }
}

static void
run_timers(kwi_reactor *r)
{
    int64_t now = kwi_reactor_now_ms(r);
    /* Timers armed from here on get a sequence number >= limit and wait for the next step,
     * so a callback that re-arms itself with delay 0 cannot monopolise this one. If such a
     * timer sorts first, older due timers behind it wait one step as well; timeout_ms() is
     * then 0, so the delay is one loop turn, never a lost timer. */
    uint64_t limit = kwi_heap_next_seq(&r->heap);
    for (unsigned done = 0; done < r->timer_budget; done++) {
        kwi_heap_node *n = kwi_heap_peek(&r->heap);
        if (!n || n->deadline_ms > now || n->seq >= limit)
            break;
        kwi_heap_pop(&r->heap);
        kwi_timer *t = (kwi_timer *)((char *)n - offsetof(kwi_timer, node));
        t->cb(r, t, t->ud);
    }
}

kw_err
kwi_reactor_step(kwi_reactor *r, int timeout_ms)
{
    if (r->dispatching)
        return KW_ERR_STATE;
    int wait = kwi_reactor_timeout_ms(r);
    if (wait < 0 || (timeout_ms >= 0 && timeout_ms < wait))
        wait = timeout_ms < 0 ? -1 : timeout_ms;
    kw_err e = KW_ERR_OK;
    int n = epoll_wait(r->epfd, r->ev, r->evcap, wait);
    if (n < 0) {
        /* A signal is a normal reason to return early; anything else is reported, but due
         * timers still run so a broken fd set does not also stop timeouts. */
        if (errno != EINTR)
            e = KW_ERR_IO;
        n = 0;
    }
    harvest(r, n);
    r->dispatching = 1;
    dispatch_io(r);
    run_timers(r);
    r->dispatching = 0;
    return e;
}

/* ---- io handles ------------------------------------------------------------------------ */

static kw_err
ctl_err(int err)
{
    switch (err) {
    case EEXIST:
        return KW_ERR_STATE;
    case ENOMEM:
        return KW_ERR_NOMEM;
    case EBADF:
    case EPERM:
    case EINVAL:
    case ELOOP:
        return KW_ERR_INVALID_ARG;
    default:
        return KW_ERR_IO;
    }
}

kw_err
kwi_reactor_io_new(kwi_reactor *r, int fd, unsigned interest, kwi_io_cb cb, void *ud, kwi_io **out)
{
    *out = NULL;
    if (fd < 0 || !cb || (interest & ~(KWI_IO_READ | KWI_IO_WRITE)))
        return KW_ERR_INVALID_ARG;
    if (r->free_slot == SLOT_NONE) {
        kw_err e = slots_grow(r);
        if (e)
            return e;
    }
    kwi_io *io = mem_alloc(r->a, sizeof(*io));
    if (!io)
        return KW_ERR_NOMEM;
    memset(io, 0, sizeof(*io));
    io->r = r;
    io->fd = fd;
    io->interest = interest;
    io->cb = cb;
    io->ud = ud;
    io->slot = r->free_slot;
    struct epoll_event ev = {.events = to_epoll(interest), .data.u64 = slot_token(r, io->slot)};
    if (epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        kw_err e = ctl_err(errno);
        mem_free(r->a, io, sizeof(*io));
        return e;
    }
    r->free_slot = r->slots[io->slot].next_free;
    r->slots[io->slot].io = io;
    *out = io;
    return KW_ERR_OK;
}

kw_err
kwi_reactor_io_modify(kwi_io *io, unsigned interest)
{
    if (interest & ~(KWI_IO_READ | KWI_IO_WRITE))
        return KW_ERR_INVALID_ARG;
    kwi_reactor *r = io->r;
    if (interest != io->interest) {
        struct epoll_event ev = {.events = to_epoll(interest), .data.u64 = slot_token(r, io->slot)};
        if (epoll_ctl(r->epfd, EPOLL_CTL_MOD, io->fd, &ev) != 0)
            return errno == ENOMEM ? KW_ERR_NOMEM : KW_ERR_IO;
        io->interest = interest;
    }
    /* Drop collected readiness the caller no longer wants, so it is not dispatched later in
     * this step (a stale write callback after the output queue emptied, say). */
    io->revents &= interest | KWI_IO_ERROR | KWI_IO_HUP;
    if (!io->revents)
        queue_unlink(r, io);
    return KW_ERR_OK;
}

void
kwi_reactor_io_free(kwi_io *io)
{
    if (!io)
        return;
    kwi_reactor *r = io->r;
    queue_unlink(r, io);
    /* EBADF/ENOENT mean the fd was closed first; the kernel then dropped the registration
     * unless a dup keeps the file open, and the generation bump below makes any event from
     * such a leftover registration harmless. */
    (void)epoll_ctl(r->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    slot_release(r, io->slot);
    mem_free(r->a, io, sizeof(*io));
}

int
kwi_reactor_io_fd(const kwi_io *io)
{
    return io->fd;
}

unsigned
kwi_reactor_io_interest(const kwi_io *io)
{
    return io->interest;
}

/* ---- timers ----------------------------------------------------------------------------- */

kw_err
kwi_reactor_timer_new(kwi_reactor *r, kwi_timer_cb cb, void *ud, kwi_timer **out)
{
    *out = NULL;
    if (!cb)
        return KW_ERR_INVALID_ARG;
    /* Reserving heap room per timer up front is what makes start() infallible, which matters
     * most in the callback that re-arms its own timer and has nowhere to report an error. */
    kw_err e = kwi_heap_reserve(&r->heap, r->ntimers + 1);
    if (e)
        return e;
    kwi_timer *t = mem_alloc(r->a, sizeof(*t));
    if (!t)
        return KW_ERR_NOMEM;
    memset(t, 0, sizeof(*t));
    kwi_heap_node_init(&t->node);
    t->r = r;
    t->cb = cb;
    t->ud = ud;
    t->next = r->timers;
    if (r->timers)
        r->timers->prev = t;
    r->timers = t;
    r->ntimers++;
    *out = t;
    return KW_ERR_OK;
}

void
kwi_reactor_timer_start_at(kwi_timer *t, int64_t deadline_ms)
{
    kw_err e = kwi_heap_insert(&t->r->heap, &t->node, deadline_ms);
    (void)e; /* cannot fail: room for every live timer was reserved in timer_new */
}

void
kwi_reactor_timer_start(kwi_timer *t, int64_t delay_ms)
{
    int64_t now = kwi_reactor_now_ms(t->r);
    if (delay_ms < 0)
        delay_ms = 0;
    /* Saturate rather than wrap: a huge delay means "never", not "in the past". */
    int64_t deadline = now > 0 && delay_ms > INT64_MAX - now ? INT64_MAX : now + delay_ms;
    kwi_reactor_timer_start_at(t, deadline);
}

int
kwi_reactor_timer_stop(kwi_timer *t)
{
    return kwi_heap_remove(&t->r->heap, &t->node);
}

int
kwi_reactor_timer_armed(const kwi_timer *t)
{
    return kwi_heap_node_queued(&t->node);
}

int64_t
kwi_reactor_timer_deadline(const kwi_timer *t)
{
    return t->node.deadline_ms;
}

void
kwi_reactor_timer_free(kwi_timer *t)
{
    if (!t)
        return;
    kwi_reactor *r = t->r;
    kwi_heap_remove(&r->heap, &t->node);
    if (t->prev)
        t->prev->next = t->next;
    else
        r->timers = t->next;
    if (t->next)
        t->next->prev = t->prev;
    r->ntimers--;
    mem_free(r->a, t, sizeof(*t));
}
