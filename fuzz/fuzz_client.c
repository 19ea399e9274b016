/* Fuzz harness: the whole client. A real kw_client, kw_producer, kw_consumer and consumer-group
 * member run over an in-memory transport (src/net/transport.h) on a virtual clock; every byte
 * a broker would send comes from the input. Nothing here opens a socket or sleeps: the
 * transport's fds are eventfds that only signal readiness, and time moves only when the client
 * has nothing left to do but wait.
 *
 * Input:
 *   byte 0  bit 0: patch mode (each chunk is a response body; the harness adds the size and the
 *                  correlation id of the request it answers), bit 1: acks=1 without
 *                  idempotence, bit 2: lz4, bit 3: acks=0, bits 4-7: records to send - 1
 *   byte 1  the most bytes one recv returns (0 = no limit): a broker that trickles
 *   byte 2  bit 0: an explicit metadata call first, bit 1: a second topic, bit 2: records to
 *           explicit partitions, bit 3: max.in.flight 1, bit 4: then a consumer (no group)
 *           assigned t/0 from offset 0 polls until it has CONSUME_WANT messages or its virtual
 *           time is up (Fetch, record batches, CRCs, decompression), bit 5: then a group member
 *           (group.id "g") subscribes to t (and u with bit 1), polls the same way, commits
 *           what it got, leaves and is freed (FindCoordinator, JoinGroup, SyncGroup,
 *           Heartbeat, OffsetFetch, OffsetCommit, LeaveGroup), bit 6: the member speaks
 *           KIP-848 (group.protocol=consumer: ConsumerGroupHeartbeat), bit 7: classic
 *           cooperative-sticky instead of range
 *   then chunks: ctl (u8), len (u16 little-endian), len bytes. Each request the client writes,
 *   on whichever connection, takes the next chunk. ctl & 3: 0 answer, 1 answer then close,
 *   2 close without an answer, 3 stay silent; ctl & 4: flips patch mode for this chunk; ctl & 8:
 *   answer twice (a repeated correlation id). A chunk with ctl 0xFF met when a connection opens
 *   refuses that connection. When the input runs out, brokers go silent.
 *
 * Invariants (each violation is __builtin_trap(), so libFuzzer reports it): the client's own
 * frames are well formed; each record gets exactly one delivery report; the metadata callback
 * fires exactly once and within its timeout; every record is reported within
 * delivery.timeout.ms (plus the request in flight); rebalance and commit callbacks hand out
 * readable partition lists, and an accepted asynchronous commit gets exactly one callback
 * (by kw_consumer_free at the latest); a build without lz4 refuses compression.type=lz4 with a
 * clear error (the input then runs uncompressed); the memory in use (a counting allocator)
 * stays under a bound derived from buffer.memory and receive.message.max.bytes; nothing is
 * left allocated after kw_client_free. ASan and UBSan check the rest.
 *
 * fuzz/gen_client_seeds.c builds the seed corpus: it runs this harness with an honest broker
 * built from kwire's own encoders and records the chunks it answered. */
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "client/client_int.h"
#include "kwire/codec.h"
#include "kwire/conf.h"
#include "kwire/consumer.h"
#include "kwire/producer.h"
#include "net/reactor.h"
#include "net/transport.h"

#define MAX_CONNS   16
#define MAX_RECORDS 16
#define CTL_REFUSE  0xFF
/* Configuration the bound below is derived from. */
#define BUFFER_MEMORY  262144
#define RECV_MAX       131072
#define REQ_TIMEOUT    2000
#define DELIV_TIMEOUT  6000
#define MD_TIMEOUT     2000
#define FETCH_QUEUE    262144
#define CONSUME_WANT   5
#define FETCH_WAIT     200 /* fetch.max.wait.ms: each answered Fetch moves the clock this much */
#define CONSUME_TIME   6000
#define GROUP_TIME     20000  /* join, sync, offsets, fetch: each may time out once */
#define LEAVE_TIME     10000  /* max.poll.interval.ms for commits, then a LeaveGroup */
#define GROUP_SETTLE   2500   /* > heartbeat.interval.ms and auto.commit.interval.ms */
#define SESSION_MS     4000   /* at most max.poll.interval.ms */
#define MAX_POLL       "5000" /* also how long a leave waits for commits */
#define STEP_CAP       200000
#define FRAME_MAX_SANE (64u << 20)

typedef struct fconn {
    int fd; /* eventfd: readable while `in` holds bytes or the end of the stream is due */
    bool open, refused, eof, dead, signaled;
    uint8_t *in; /* bytes for the client */
    size_t in_len, in_off, in_cap;
    uint8_t *req; /* bytes the client wrote, not yet a whole frame */
    size_t req_len, req_cap;
} fconn;

typedef struct world world;
/* The generator's honest broker: writes a response body for a request into `out`. */
typedef size_t (*oracle_fn)(world *w, int16_t key, int16_t ver, const uint8_t *frame, size_t len,
                            uint8_t *out, size_t cap);

struct world {
    const uint8_t *data;
    size_t len, off;
    bool patch;
    size_t recv_cap;
    fconn conns[MAX_CONNS];
    int64_t now;
    size_t in_use, peak, bound;
    uint8_t reports[MAX_RECORDS];
    int n_sent;
    int md_calls;
    int consumed;          /* messages and in-band errors the consumer handed out */
    kw_consumer *consumer; /* polled by the consumer phase instead of stepping the client */
    int rebalances;        /* rebalance callbacks of the group phase */
    int commits_asked;     /* kw_consumer_commit_async calls that took a callback */
    int commits_done;      /* ... and their callbacks */
    int64_t group_t0;      /* when the member subscribed */
    oracle_fn oracle;      /* generator only */
    uint8_t *rec;          /* generator: the chunks answered */
    size_t rec_len, rec_cap;
};

/* One world per process (libFuzzer runs inputs one after the other); the generator sets its
 * oracle before each run. */
static world W;
static volatile uint32_t sink;

/* ---- counting allocator --------------------------------------------------------------------- */

static void
count(world *w, size_t add, size_t sub)
{
    w->in_use = w->in_use + add - sub;
    if (w->in_use > w->peak)
        w->peak = w->in_use;
    if (w->in_use > w->bound)
        __builtin_trap();
}

static void *
c_alloc(void *ud, size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p)
        count(ud, n, 0);
    return p;
}

static void *
c_realloc(void *ud, void *p, size_t old, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q)
        count(ud, n, old);
    return q;
}

static void
c_free(void *ud, void *p, size_t n)
{
    if (!p)
        return;
    free(p);
    count(ud, 0, n);
}

/* ---- input ---------------------------------------------------------------------------------- */

typedef struct chunk {
    uint8_t ctl;
    const uint8_t *p;
    size_t len;
} chunk;

static bool
peek_chunk(world *w, chunk *ch, size_t *next)
{
    if (w->len - w->off < 3)
        return false;
    const uint8_t *p = w->data + w->off;
    size_t n = (size_t)p[1] | (size_t)p[2] << 8;
    if (w->len - w->off - 3 < n)
        n = w->len - w->off - 3;
    ch->ctl = p[0];
    ch->p = p + 3;
    ch->len = n;
    *next = w->off + 3 + n;
    return true;
}

static void
grow(uint8_t **buf, size_t *cap, size_t need)
{
    if (*cap >= need)
        return;
    size_t c = *cap ? *cap : 256;
    while (c < need)
        c *= 2;
    uint8_t *p = realloc(*buf, c);
    if (!p)
        abort();
    *buf = p;
    *cap = c;
}

/* ---- the in-memory transport ---------------------------------------------------------------- */

static fconn *
by_fd(world *w, int fd)
{
    for (int i = 0; i < MAX_CONNS; i++)
        if (w->conns[i].open && w->conns[i].fd == fd)
            return &w->conns[i];
    __builtin_trap(); /* the client used an fd the transport never gave it */
}

/* The eventfd is readable exactly while recv has something to report. */
static void
sync_ready(fconn *f)
{
    bool want = f->in_off < f->in_len || f->eof;
    if (want && !f->signaled) {
        uint64_t one = 1;
        if (write(f->fd, &one, sizeof(one)) != sizeof(one))
            abort();
    } else if (!want && f->signaled) {
        uint64_t v;
        if (read(f->fd, &v, sizeof(v)) != sizeof(v))
            abort();
    }
    f->signaled = want;
}

static void
push_in(fconn *f, const void *p, size_t n)
{
    if (n == 0)
        return; /* an empty chunk: nothing to copy (and `in` may not exist yet) */
    grow(&f->in, &f->in_cap, f->in_len + n);
    memcpy(f->in + f->in_len, p, n);
    f->in_len += n;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void
deliver(world *w, fconn *f, bool patch, int32_t corr, const uint8_t *p, size_t n)
{
    if (patch) {
        uint8_t h[8];
        put_be32(h, (uint32_t)(n + 4));
        put_be32(h + 4, (uint32_t)corr);
        push_in(f, h, 8);
    }
    push_in(f, p, n);
    (void)w;
}

static void
record_chunk(world *w, uint8_t ctl, const uint8_t *p, size_t n)
{
    grow(&w->rec, &w->rec_cap, w->rec_len + 3 + n);
    w->rec[w->rec_len] = ctl;
    w->rec[w->rec_len + 1] = (uint8_t)n;
    w->rec[w->rec_len + 2] = (uint8_t)(n >> 8);
    if (n > 0)
        memcpy(w->rec + w->rec_len + 3, p, n);
    w->rec_len += 3 + n;
}

/* A whole request frame arrived: answer it with the next chunk. */
static void
answer(world *w, fconn *f, const uint8_t *frame, size_t len)
{
    int16_t key = (int16_t)(frame[0] << 8 | frame[1]);
    int16_t ver = (int16_t)(frame[2] << 8 | frame[3]);
    int32_t corr = (int32_t)((uint32_t)frame[4] << 24 | (uint32_t)frame[5] << 16 |
                             (uint32_t)frame[6] << 8 | frame[7]);
#ifdef FUZZ_CLIENT_DEBUG
    fprintf(stderr, "request key %d v%d\n", key, ver);
#endif
    /* A broker holds a Fetch for up to fetch.max.wait.ms; without that an honest broker with
     * nothing new would answer at once, forever, and virtual time would never move. */
    if (key == 1)
        w->now += FETCH_WAIT;
    if (w->oracle) {
        static uint8_t body[65536];
        size_t n = w->oracle(w, key, ver, frame, len, body, sizeof(body));
        record_chunk(w, 0, body, n);
        deliver(w, f, true, corr, body, n);
        return;
    }
    chunk ch;
    size_t next;
    if (!peek_chunk(w, &ch, &next))
        return; /* out of input: silence */
    w->off = next;
    unsigned act = ch.ctl & 3u;
    bool patch = (ch.ctl & 4u) ? !w->patch : w->patch;
    if (act == 0 || act == 1) {
        deliver(w, f, patch, corr, ch.p, ch.len);
        if (ch.ctl & 8u)
            deliver(w, f, patch, corr, ch.p, ch.len);
    }
    if (act == 1 || act == 2)
        f->eof = true;
}

static int
t_open(void *ud, const struct sockaddr *sa, socklen_t salen)
{
    world *w = ud;
    (void)sa;
    (void)salen;
    fconn *f = NULL;
    for (int i = 0; i < MAX_CONNS && !f; i++)
        if (!w->conns[i].open)
            f = &w->conns[i];
    if (!f) {
        errno = EMFILE;
        return -1;
    }
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        return -1;
    uint8_t *in = f->in, *req = f->req;
    size_t in_cap = f->in_cap, req_cap = f->req_cap;
    memset(f, 0, sizeof(*f));
    f->in = in;
    f->req = req;
    f->in_cap = in_cap;
    f->req_cap = req_cap;
    f->fd = fd;
    f->open = true;
    chunk ch;
    size_t next;
    if (!w->oracle && peek_chunk(w, &ch, &next) && ch.ctl == CTL_REFUSE) {
        w->off = next;
        f->refused = true;
    }
    return fd;
}

static int
t_connect_error(void *ud, int fd)
{
    return by_fd(ud, fd)->refused ? ECONNREFUSED : 0;
}

static ssize_t
t_recv(void *ud, int fd, void *buf, size_t len)
{
    world *w = ud;
    fconn *f = by_fd(w, fd);
    if (f->in_off < f->in_len) {
        size_t n = f->in_len - f->in_off;
        if (n > len)
            n = len;
        if (w->recv_cap && n > w->recv_cap)
            n = w->recv_cap;
        memcpy(buf, f->in + f->in_off, n);
        f->in_off += n;
        if (f->in_off == f->in_len)
            f->in_off = f->in_len = 0;
        sync_ready(f);
        return (ssize_t)n;
    }
    if (f->eof) {
        f->dead = true;
        return 0;
    }
    errno = EAGAIN;
    return -1;
}

static ssize_t
t_send(void *ud, int fd, const void *buf, size_t len)
{
    world *w = ud;
    fconn *f = by_fd(w, fd);
    if (f->dead || f->eof) {
        errno = EPIPE;
        return -1;
    }
    grow(&f->req, &f->req_cap, f->req_len + len);
    memcpy(f->req + f->req_len, buf, len);
    f->req_len += len;
    size_t off = 0;
    while (f->req_len - off >= 4 && !f->eof) {
        uint32_t size = (uint32_t)f->req[off] << 24 | (uint32_t)f->req[off + 1] << 16 |
                        (uint32_t)f->req[off + 2] << 8 | f->req[off + 3];
        /* kwire's own frames: a request header at least, and never absurd. */
        if (size < 8 || size > FRAME_MAX_SANE)
            __builtin_trap();
        if (f->req_len - off - 4 < size)
            break;
        answer(w, f, f->req + off + 4, size);
        off += 4 + size;
    }
    memmove(f->req, f->req + off, f->req_len - off);
    f->req_len -= off;
    sync_ready(f);
    return (ssize_t)len;
}

static void
t_close(void *ud, int fd)
{
    fconn *f = by_fd(ud, fd);
    close(f->fd);
    f->open = false;
    f->in_len = f->in_off = f->req_len = 0;
}

/* ---- the client side ------------------------------------------------------------------------ */

static int64_t
vclock(void *ud)
{
    return ((world *)ud)->now;
}

static void
on_delivery(kw_producer *p, const kw_delivery *d, void *ud)
{
    (void)p;
    world *w = ud;
    uintptr_t i = (uintptr_t)d->opaque;
    if (i >= MAX_RECORDS || w->reports[i] != 0)
        __builtin_trap(); /* a report for a record never sent, or a second one */
    w->reports[i] = 1;
#ifdef FUZZ_CLIENT_DEBUG /* triage: what each record's report said */
    fprintf(stderr, "record %u: %s p%d @%lld %s\n", (unsigned)i, kw_err_name(d->err),
            (int)d->partition, (long long)d->offset, d->detail->msg);
#endif
}

static void
on_metadata(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    world *w = ud;
    if ((err == KW_ERR_OK) != (md != NULL) || !detail)
        __builtin_trap();
    if (md) /* read the whole view, so ASan checks every pointer in it */
        for (int32_t i = 0; i < md->n_topics; i++)
            for (int32_t j = 0; j < md->topics[i].n_partitions; j++)
                sink += (uint32_t)md->topics[i].partitions[j].id +
                        (uint32_t)md->topics[i].partitions[j].leader;
    w->md_calls++;
#ifdef FUZZ_CLIENT_DEBUG
    fprintf(stderr, "metadata: %s %s topics=%d\n", kw_err_name(err), detail->msg,
            md ? (int)md->n_topics : -1);
#endif
}

static bool
io_pending(kw_client *c)
{
    struct pollfd p = {kw_client_fd(c), POLLIN, 0};
    return poll(&p, 1, 0) > 0;
}

static int
reported(const world *w)
{
    int n = 0;
    for (int i = 0; i < w->n_sent; i++)
        n += w->reports[i];
    return n;
}

/* One poll without waiting (it steps the client itself); reads and releases what it got. */
static void
poll_consumer(world *w)
{
    kw_consumer_msg *msgs[64];
    size_t n = 0;
    kw_error err;
    kw_error_init(&err);
    if (kw_consumer_poll(w->consumer, msgs, 64, 0, &n, &err) != KW_ERR_OK) {
        /* A group error (fenced, fatal) refuses the poll: the loop must still run. */
#ifdef FUZZ_CLIENT_DEBUG
        fprintf(stderr, "poll: %s %s\n", kw_err_name(err.code), err.msg);
#endif
        kw_client_step(kw_consumer_client(w->consumer), 0, &err);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const kw_consumer_msg *m = msgs[i];
        if (!m->topic || !m->errstr)
            __builtin_trap();
#ifdef FUZZ_CLIENT_DEBUG
        if (m->err != KW_ERR_OK)
            fprintf(stderr, "in-band %s [%d]: %s %s\n", m->topic, (int)m->partition,
                    kw_err_name(m->err), m->errstr);
#endif
        for (int32_t j = 0; j < m->key.len; j++)
            sink += m->key.ptr[j];
        for (int32_t j = 0; j < m->value.len; j++)
            sink += m->value.ptr[j];
        for (int32_t j = 0; j < m->n_headers; j++)
            sink += (uint32_t)m->headers[j].key.len;
    }
    w->consumed += (int)n;
    kw_consumer_msgs_release(msgs, n);
}

/* Steps until `done`, moving the virtual clock to the next timer whenever the client has
 * nothing else to do, but never past `until`. */
static void
run(world *w, kw_client *c, bool (*done)(const world *), int64_t until)
{
    for (int i = 0; i < STEP_CAP && !done(w); i++) {
        kw_error err;
        kw_error_init(&err);
        if (w->consumer)
            poll_consumer(w);
        else
            kw_client_step(c, 0, &err);
        if (done(w) || io_pending(c))
            continue;
        int t = kw_client_timeout_ms(c);
        if (t == 0)
            continue;
        if (t < 0 || w->now + t > until) {
            if (w->now >= until)
                return;
            w->now = until;
        } else {
            w->now += t;
        }
    }
}

static bool
md_done(const world *w)
{
    return w->md_calls > 0;
}

static bool
consumed_enough(const world *w)
{
    return w->consumed >= CONSUME_WANT;
}

static bool
all_reported(const world *w)
{
    return reported(w) == w->n_sent;
}

/* The group member's properties: short virtual timeouts so heartbeats, auto-commits and
 * session expiry all happen within the phase. KIP-848 forbids the classic-only ones. */
static bool
group_conf(kw_conf *conf, uint8_t h2)
{
    char sess[16];
    snprintf(sess, sizeof(sess), "%d", SESSION_MS);
    bool kip848 = (h2 & 64u) != 0;
    const char *kv[][2] = {
        {"group.id", "g"},
        {"group.protocol", kip848 ? "consumer" : "classic"},
        {"enable.auto.commit", "true"},
        {"auto.commit.interval.ms", "1000"},
        {"max.poll.interval.ms", MAX_POLL},
        {"session.timeout.ms", sess},
        {"heartbeat.interval.ms", "1000"},
        {"partition.assignment.strategy", (h2 & 128u) ? "cooperative-sticky" : "range,roundrobin"},
    };
    /* The first five apply to both protocols; KIP-848 refuses the classic-only rest. */
    size_t n = kip848 ? 5 : sizeof(kv) / sizeof(kv[0]);
    kw_error err;
    for (size_t i = 0; i < n; i++)
        if (kw_conf_set(conf, kv[i][0], kv[i][1], &err) != KW_ERR_OK)
            return false;
    return true;
}

static kw_conf *
make_conf(world *w, const kw_allocator *a, uint8_t h0, uint8_t h2, bool lz4)
{
    kw_conf *conf;
    if (kw_conf_new(a, &conf) != KW_ERR_OK)
        return NULL;
    char acks[8] = "all", idem[8] = "true";
    if (h0 & 2u)
        snprintf(acks, sizeof(acks), "1"), snprintf(idem, sizeof(idem), "false");
    if (h0 & 8u)
        snprintf(acks, sizeof(acks), "0"), snprintf(idem, sizeof(idem), "false");
    char bm[16], rm[16], rt[16], dt[16], fq[16], fw[16];
    snprintf(fw, sizeof(fw), "%d", FETCH_WAIT);
    snprintf(fq, sizeof(fq), "%d", FETCH_QUEUE);
    snprintf(bm, sizeof(bm), "%d", BUFFER_MEMORY);
    snprintf(rm, sizeof(rm), "%d", RECV_MAX);
    snprintf(rt, sizeof(rt), "%d", REQ_TIMEOUT);
    snprintf(dt, sizeof(dt), "%d", DELIV_TIMEOUT);
    const char *kv[][2] = {
        {"bootstrap.servers", "127.0.0.1:9092"},
        {"client.id", "fuzz"},
        {"acks", acks},
        {"enable.idempotence", idem},
        {"compression.type", lz4 ? "lz4" : "none"},
        {"max.in.flight.requests.per.connection", (h2 & 8u) ? "1" : "5"},
        {"buffer.memory", bm},
        {"fetch.max.bytes", "65536"},
        {"receive.message.max.bytes", rm},
        {"request.timeout.ms", rt},
        {"delivery.timeout.ms", dt},
        {"linger.ms", "5"},
        {"retry.backoff.ms", "100"},
        {"reconnect.backoff.ms", "50"},
        {"reconnect.backoff.max.ms", "1000"},
        {"socket.connection.setup.timeout.ms", "1500"},
        {"fetch.queue.max.bytes", fq},
        {"max.partition.fetch.bytes", "65536"},
        {"fetch.max.wait.ms", fw},
        {"auto.offset.reset", "earliest"},
        {"check.crcs", "true"},
    };
    kw_error err;
    for (size_t i = 0; i < sizeof(kv) / sizeof(kv[0]); i++)
        if (kw_conf_set(conf, kv[i][0], kv[i][1], &err) != KW_ERR_OK)
            __builtin_trap(); /* the harness's own configuration must be valid */
    if ((h2 & 32u) && !group_conf(conf, h2))
        __builtin_trap();
    (void)w;
    return conf;
}

static void
send_records(world *w, kw_producer *p, uint8_t h0, uint8_t h2)
{
    int n = (h0 >> 4) + 1;
    static const uint8_t value[100] = {1, 2, 3};
    for (int i = 0; i < n; i++) {
        kw_message m;
        kw_message_init(&m);
        m.topic = (h2 & 2u) && (i & 1) ? "u" : "t";
        if (h2 & 4u)
            m.partition = i % 3;
        m.key = (kw_slice){(const uint8_t *)"k", 1};
        m.value = (kw_slice){value, (int32_t)sizeof(value)};
        m.opaque = (void *)(uintptr_t)w->n_sent;
        kw_error err;
        kw_error_init(&err);
        if (kw_producer_send(p, &m, &err) == KW_ERR_OK)
            w->n_sent++;
    }
}

/* The consumer phase: assign t/0 from offset 0 and poll; freed before the client. */
static void
consume(world *w, kw_client *c)
{
    kw_error err;
    kw_error_init(&err);
    if (kw_consumer_new(c, NULL, &w->consumer, &err) != KW_ERR_OK)
        __builtin_trap();
    kw_topic_partition tp;
    memset(&tp, 0, sizeof(tp));
    tp.topic = "t";
    tp.offset = 0;
    tp.leader_epoch = -1;
    if (kw_consumer_assign(w->consumer, &tp, 1, &err) != KW_ERR_OK)
        __builtin_trap();
    run(w, c, consumed_enough, w->now + CONSUME_TIME);
#ifdef FUZZ_CLIENT_DEBUG
    fprintf(stderr, "consumed %d\n", w->consumed);
#endif
    kw_consumer_free(w->consumer);
    w->consumer = NULL;
}

/* A partition list handed to the application: every entry names a topic (ASan checks the
 * bytes), whatever the broker assigned. */
static void
read_parts(const kw_topic_partition *parts, size_t n)
{
    if (n > 0 && !parts)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        if (!parts[i].topic)
            __builtin_trap();
        sink += (uint32_t)strlen(parts[i].topic) + (uint32_t)parts[i].partition +
                (uint32_t)parts[i].offset;
    }
}

static void
on_rebalance(kw_consumer *k, kw_rebalance_kind kind, const kw_topic_partition *parts, size_t n,
             void *ud)
{
    (void)k;
    world *w = ud;
    if (kind != KW_REBALANCE_ASSIGNED && kind != KW_REBALANCE_REVOKED && kind != KW_REBALANCE_LOST)
        __builtin_trap();
    read_parts(parts, n);
    w->rebalances++;
#ifdef FUZZ_CLIENT_DEBUG
    fprintf(stderr, "rebalance %d: %zu partitions\n", (int)kind, n);
#endif
}

/* Auto-commit results (on_commit) and the explicit commit's callback (ud = the world). */
static void
on_commit(kw_consumer *k, kw_err err, const kw_error *detail, const kw_topic_partition *offsets,
          size_t n, void *ud)
{
    (void)k;
    (void)ud;
    if (!detail)
        __builtin_trap();
    read_parts(offsets, n);
#ifdef FUZZ_CLIENT_DEBUG
    fprintf(stderr, "commit: %s %s (%zu partitions)\n", kw_err_name(err), detail->msg, n);
#else
    (void)err;
#endif
}

static void
on_commit_explicit(kw_consumer *k, kw_err err, const kw_error *detail,
                   const kw_topic_partition *offsets, size_t n, void *ud)
{
    world *w = ud;
    on_commit(k, err, detail, offsets, n, ud);
    if (++w->commits_done > w->commits_asked)
        __builtin_trap(); /* a callback for a commit never made, or a second one */
}

/* Enough messages, and long enough for heartbeats and an auto-commit to go out. */
static bool
group_settled(const world *w)
{
    return w->consumed >= CONSUME_WANT && w->now >= w->group_t0 + GROUP_SETTLE;
}

static bool
commits_answered(const world *w)
{
    return w->commits_done == w->commits_asked;
}

/* kw_consumer_close with a timeout waits on the real clock, so the harness starts the leave
 * with timeout 0 and steps the loop on virtual time itself. close(0) is also the probe: it
 * returns KW_ERR_OK once the member has left (a leave already under way is not restarted),
 * and KW_ERR_TIMED_OUT until then. */
static kw_consumer *leaving;

static bool
member_closed(const world *w)
{
    (void)w;
    kw_error err;
    kw_error_init(&err);
    return kw_consumer_close(leaving, 0, &err) == KW_ERR_OK;
}

/* The group phase: subscribe (classic or KIP-848), consume, commit explicitly, leave, free.
 * Every response of the coordinator comes from the input like any other. */
static void
group_consume(world *w, kw_client *c, uint8_t h2)
{
    kw_consumer_opts o;
    kw_consumer_opts_init(&o);
    o.on_rebalance = on_rebalance;
    o.rebalance_ud = w;
    o.on_commit = on_commit;
    o.commit_ud = w;
    kw_error err;
    kw_error_init(&err);
    kw_consumer *k;
    if (kw_consumer_new(c, &o, &k, &err) != KW_ERR_OK)
        __builtin_trap();
    const char *topics[] = {"t", "u"};
    if (kw_consumer_subscribe(k, topics, (h2 & 2u) ? 2 : 1, &err) != KW_ERR_OK)
        __builtin_trap();
    w->consumer = k;
    w->consumed = 0;
    w->group_t0 = w->now;
    run(w, c, group_settled, w->now + GROUP_TIME);
    /* What was handed out: a commit the coordinator answers (or that fails cleanly); its
     * callback must come exactly once, at the latest as canceled when the consumer is freed. */
    if (kw_consumer_commit_async(k, NULL, 0, on_commit_explicit, w, &err) == KW_ERR_OK) {
        w->commits_asked++;
        run(w, c, commits_answered, w->now + 2 * REQ_TIMEOUT + 1000);
    }
    w->consumer = NULL;
    leaving = k;
    run(w, c, member_closed, w->now + LEAVE_TIME); /* the first probe starts the leave */
#ifdef FUZZ_CLIENT_DEBUG
    fprintf(stderr, "group: consumed %d, %d rebalances, commit %d/%d, closed %d\n", w->consumed,
            w->rebalances, w->commits_done, w->commits_asked, member_closed(w));
#endif
    kw_consumer_free(k);
    leaving = NULL;
    if (w->commits_done != w->commits_asked)
        __builtin_trap(); /* an accepted commit whose callback never came */
}

/* The scenario: [metadata], produce, flush (bounded by virtual time), [consume], [group],
 * free. */
static void
scenario(world *w, kw_client *c, kw_producer *p, uint8_t h0, uint8_t h2)
{
    kw_error err;
    kw_error_init(&err);
    int64_t t0 = w->now;
    if (h2 & 1u) {
        const char *topics[] = {"t", "u"};
        if (kw_client_metadata(c, topics, (h2 & 2u) ? 2 : 1, MD_TIMEOUT, on_metadata, w, &err) !=
            KW_ERR_OK)
            __builtin_trap();
        /* The call ends by its timeout; a request already out may run its own to the end. */
        run(w, c, md_done, t0 + MD_TIMEOUT + REQ_TIMEOUT + 1000);
        if (w->md_calls != 1)
            __builtin_trap();
    }
    if (p) {
        send_records(w, p, h0, h2);
        int64_t t1 = w->now;
        kw_producer_flush(p, 0, &err); /* starts the flush; the loop below waits for it */
        run(w, c, all_reported, t1 + DELIV_TIMEOUT + REQ_TIMEOUT + 1000);
        if (!all_reported(w))
            __builtin_trap(); /* a record outlived delivery.timeout.ms */
    }
    if (h2 & 16u)
        consume(w, c);
    if (h2 & 32u)
        group_consume(w, c, h2);
}

static void
world_fini(world *w)
{
    for (int i = 0; i < MAX_CONNS; i++) {
        if (w->conns[i].open)
            __builtin_trap(); /* the client leaked a connection */
        free(w->conns[i].in);
        free(w->conns[i].req);
        w->conns[i].in = w->conns[i].req = NULL;
    }
}

/* Clears the world for a new input, keeping the generator's oracle and record buffer. */
static world *
world_reset(const uint8_t *data, size_t size)
{
    uint8_t *rec = W.rec;
    size_t rec_cap = W.rec_cap;
    oracle_fn oracle = W.oracle;
    memset(&W, 0, sizeof(W));
    W.rec = rec;
    W.rec_cap = rec_cap;
    W.oracle = oracle;
    W.data = data;
    W.len = size;
    W.off = 3;
    W.patch = data[0] & 1u;
    W.recv_cap = data[1];
    /* What the client may hold: the produce queue, and per connection a frame being received,
     * its decoding arena (16x the frame) and the requests being written; plus fixed costs. */
    W.bound = (size_t)2 * BUFFER_MEMORY + (size_t)2 * FETCH_QUEUE +
              (size_t)MAX_CONNS * (18 * RECV_MAX + 262144) + (8u << 20);
    return &W;
}

/* A build without lz4 (-Dlz4=disabled) must refuse compression.type=lz4 with a clear error
 * when the producer is created, and leave nothing allocated; the input then runs uncompressed,
 * so the corpus drives the same client paths in every build. */
static void
check_lz4_refused(world *w, const kw_allocator *a, uint8_t h0, uint8_t h2)
{
    kw_conf *conf = make_conf(w, a, h0, h2, true);
    kw_client *c = NULL;
    kw_producer *p = NULL;
    kw_error err;
    kw_error_init(&err);
    if (!conf || kw_client_new(conf, &c, &err) != KW_ERR_OK)
        __builtin_trap();
    if (kw_producer_new(c, NULL, &p, &err) != KW_ERR_CONFIG || p || !strstr(err.msg, "lz4"))
        __builtin_trap(); /* an unusable codec accepted, or refused without saying why */
    kw_client_free(c);
    if (w->in_use != 0)
        __builtin_trap();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    world *w = world_reset(data, size);
    kw_allocator a = {c_alloc, c_realloc, c_free, w};
    bool lz4 = (data[0] & 4u) != 0;
    if (lz4 && !kw_codec_available(KW_CODEC_LZ4)) {
        check_lz4_refused(w, &a, data[0], data[2]);
        lz4 = false;
    }
    kw_conf *conf = make_conf(w, &a, data[0], data[2], lz4);
    kw_client *c = NULL;
    kw_error err;
    kw_error_init(&err);
    if (!conf || kw_client_new(conf, &c, &err) != KW_ERR_OK)
        __builtin_trap();
    kwi_transport tr = {t_open, t_connect_error, t_recv, t_send, t_close, w};
    if (kwi_client_set_transport(c, &tr) != KW_ERR_OK)
        __builtin_trap();
    /* Virtual time continues the real clock's scale, so deadlines armed already stay right. */
    w->now = kwi_reactor_now_ms(kwi_client_reactor(c));
    kwi_clock clk = {vclock, w};
    kwi_reactor_set_clock(kwi_client_reactor(c), &clk);
    kw_producer_opts po;
    kw_producer_opts_init(&po);
    po.on_delivery = on_delivery;
    po.delivery_ud = w;
    kw_producer *p = NULL;
    if (kw_producer_new(c, &po, &p, &err) != KW_ERR_OK)
        __builtin_trap();
    scenario(w, c, p, data[0], data[2]);
    kw_producer_free(p);
    kw_client_free(c);
#ifdef FUZZ_CLIENT_DEBUG
    fprintf(stderr, "end: %d of %d reported, %zu bytes left\n", reported(w), w->n_sent, w->in_use);
#endif
    if (reported(w) != w->n_sent || w->in_use != 0)
        __builtin_trap(); /* a lost report, or memory left behind */
    world_fini(w);
    return 0;
}
