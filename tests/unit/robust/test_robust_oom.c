/* Failing-allocator sweeps (issue 9) over the client's main operations against an in-process
 * kwire-mock: connect (a client, a Metadata round trip), produce and flush, consume (assign and
 * poll), join a group (subscribe, poll until assigned, close) and the event bus (connect,
 * publish, consume). Each sweep first runs the operation with a counting allocator to learn N, the
 * number of allocations it makes; then runs it again with allocation i failing, for i in 0..N-1
 * (the first 100 one by one, the rest with a stride so that a sweep stays near SWEEP_CAP runs), and
 * again with every allocation from i on failing (FROM_CAP runs, strided, since each such run
 * waits out its operation's timeout). Every run must end with a clear error (KW_ERR_NOMEM or a
 * failure through the operation's normal callback or result) or a real success, never a crash
 * or a hang; what it reports as done must really be done (a record whose delivery report says
 * OK is stored at the reported offset; a consumed record is the one stored there); and after
 * freeing everything the allocator holds no byte. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../producer/prod_util.h"
#include "kwire/bus.h"
#include "kwire/codec.h"
#include "kwire/consumer.h"
#include "kwire/mock.h"
#include "robust_util.h"

#define SWEEP_CAP 300
#define FROM_CAP  40

static kw_mock *mock;

static void
setup(void)
{
    kw_mock_conf mc;
    kw_mock_conf_init(&mc);
    kw_error err;
    ck_assert_int_eq(kw_mock_new(&mc, &mock, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(mock, "t", 1, 1, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_thread_start(mock, &err), KW_ERR_OK);
}

static void
teardown(void)
{
    kw_mock_free(mock);
}

/* One run of an operation: i < 0 counts (nothing fails) and returns the allocation count. */
typedef long (*op_fn)(long i, bool from_on, long run);

static void
check_no_leak(const kwt_fa *fa, const char *op, long i, bool from_on)
{
    ck_assert_msg(!fa->f.size_mismatch, "%s i=%ld%s: a free named the wrong size", op, i,
                  from_on ? "+" : "");
    ck_assert_msg(fa->f.live == 0, "%s i=%ld%s: %lld bytes leaked", op, i, from_on ? "+" : "",
                  fa->f.live);
}

/* Learns N, then runs both modes (single failures only when `single`); returns N. */
static long
sweep(const char *name, op_fn op, bool single, long from_cap)
{
    long n = op(-1, false, 0);
    ck_assert_int_gt(n, 0);
    long runs = 0;
    if (getenv("KWT_ONLY")) { /* debugging aid: one run, "25" or "25+" (from 25 on) */
        const char *o = getenv("KWT_ONLY");
        op(atol(o), strchr(o, '+') != NULL, 1);
        return n;
    }
    for (long i = 0; single && i >= 0; i = kwt_sweep_next(i, n, SWEEP_CAP))
        op(i, false, ++runs);
    long from_runs = 0;
    long stride = (n + from_cap - 1) / from_cap;
    for (long i = 0; i < n; i += stride, from_runs++)
        op(i, true, ++runs);
    fprintf(stderr, "%s: N=%ld allocations, %ld single-failure runs, %ld fail-from runs\n", name, n,
            runs - from_runs, from_runs);
    return n;
}

/* ---------------------------------------------------------------- connect */

typedef struct md_rec {
    int calls;
    kw_err err;
    int32_t n_brokers;
    bool has_t;
} md_rec;

static void
md_cb(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    (void)detail;
    md_rec *r = ud;
    r->calls++;
    r->err = err;
    if (err == KW_ERR_OK) {
        r->n_brokers = md->n_brokers;
        for (int32_t t = 0; t < md->n_topics; t++)
            r->has_t |= strcmp(md->topics[t].name, "t") == 0 && md->topics[t].n_partitions == 1;
    }
}

/* kw_client_new, then kw_client_metadata and the loop until its callback. */
static long
op_connect(long i, bool from_on, long run)
{
    (void)run;
    kwt_fa fa;
    kwt_fa_init(&fa);
    kw_conf *conf = kwt_fa_conf(&fa, kw_mock_bootstrap(mock), NULL);
    kwt_fa_arm(&fa, i, from_on);
    kw_client *c = NULL;
    kw_error err;
    kw_err e = kw_client_new(conf, &c, &err);
    if (e != KW_ERR_OK) {
        ck_assert_msg(e == KW_ERR_NOMEM, "i=%ld: kw_client_new: %s", i, kw_err_name(e));
        ck_assert_ptr_null(c);
        check_no_leak(&fa, "connect", i, from_on);
        return 0;
    }
    md_rec r = {0, KW_ERR_OK, 0, false};
    /* A failing run ends by the request's timeout at the latest. */
    e = kw_client_metadata(c, NULL, 0, from_on ? 300 : 5000, md_cb, &r, &err);
    if (e == KW_ERR_OK) {
        int64_t end = kwt_now_ms() + 30000;
        while (r.calls == 0) {
            ck_assert_msg(kwt_now_ms() < end, "i=%ld: the metadata callback never came", i);
            kw_client_step(c, 10, NULL);
        }
        ck_assert_int_eq(r.calls, 1);
        if (r.err == KW_ERR_OK) {
            ck_assert_int_eq(r.n_brokers, 1);
            ck_assert(r.has_t);
        } else {
            ck_assert_msg(r.err == KW_ERR_NOMEM || r.err == KW_ERR_TIMED_OUT || r.err == KW_ERR_IO,
                          "i=%ld: %s", i, kw_err_name(r.err));
        }
        /* One failed allocation is retried or reported as such, never waited out. */
        if (!from_on)
            ck_assert_msg(r.err == KW_ERR_OK || r.err == KW_ERR_NOMEM, "i=%ld: %s", i,
                          kw_err_name(r.err));
    } else {
        ck_assert_msg(e == KW_ERR_NOMEM, "i=%ld: kw_client_metadata: %s", i, kw_err_name(e));
        ck_assert_int_eq(r.calls, 0);
    }
    long n = kwt_fa_count(&fa);
    kw_client_free(c);
    ck_assert_int_eq(r.calls, e == KW_ERR_OK ? 1 : 0);
    check_no_leak(&fa, "connect", i, from_on);
    return n;
}

START_TEST(test_connect_sweep)
{
    sweep("connect", op_connect, true, FROM_CAP);
}
END_TEST

/* ---------------------------------------------------------------- produce and flush */

#define PRODUCE_N 20

/* What OK reports promised, checked against the broker's log at the end of the sweep. */
typedef struct promised {
    int64_t offset;
    char value[32];
} promised;

static promised *promises;
static size_t n_promises, cap_promises;

typedef struct prod_run {
    long run;
    int calls[PRODUCE_N];
    int ok;
} prod_run;

static void
on_delivery(kw_producer *p, const kw_delivery *d, void *ud)
{
    (void)p;
    prod_run *r = ud;
    uintptr_t id = (uintptr_t)d->opaque - 1;
    ck_assert_uint_lt(id, PRODUCE_N);
    r->calls[id]++;
    if (d->err != KW_ERR_OK)
        return;
    r->ok++;
    ck_assert_int_eq(d->partition, 0);
    ck_assert_int_ge(d->offset, 0);
    if (n_promises == cap_promises) {
        cap_promises = cap_promises ? 2 * cap_promises : 1024;
        promises = realloc(promises, cap_promises * sizeof(*promises));
        ck_assert_ptr_nonnull(promises);
    }
    promised *pr = &promises[n_promises++];
    pr->offset = d->offset;
    snprintf(pr->value, sizeof(pr->value), "r%ld-%u", r->run, (unsigned)id);
}

/* Sends PRODUCE_N records; returns how many were accepted (marking refused ones). */
static int
send_all(kw_producer *p, prod_run *r)
{
    int accepted = 0;
    for (uint32_t k = 0; k < PRODUCE_N; k++) {
        char v[32];
        snprintf(v, sizeof(v), "r%ld-%u", r->run, k);
        kw_message m;
        kw_message_init(&m);
        m.topic = "t";
        m.value = kw_slice_str(v);
        m.opaque = (void *)(uintptr_t)(k + 1);
        kw_error err;
        kw_err e = kw_producer_send(p, &m, &err);
        ck_assert_msg(e == KW_ERR_OK || e == KW_ERR_NOMEM, "send: %s", kw_err_name(e));
        if (e == KW_ERR_OK)
            accepted++;
        else
            r->calls[k] = -100; /* a refused record gets no report */
    }
    return accepted;
}

/* kw_producer_new, PRODUCE_N sends, kw_producer_flush, kw_producer_free, on a client that
 * was connected (with memory) before the failures start. */
static long
op_produce(long i, bool from_on, long run)
{
    kwt_fa fa;
    kwt_fa_init(&fa);
    const char *const extra[] = {"linger.ms", "1", NULL};
    kw_client *c = kwt_fa_client(&fa, kw_mock_bootstrap(mock), extra);
    prod_run r;
    memset(&r, 0, sizeof(r));
    r.run = run;
    kw_producer_opts o;
    kw_producer_opts_init(&o);
    o.on_delivery = on_delivery;
    o.delivery_ud = &r;
    kwt_fa_arm(&fa, i, from_on);
    kw_producer *p = NULL;
    kw_error err;
    kw_err e = kw_producer_new(c, &o, &p, &err);
    long n = 0;
    if (e != KW_ERR_OK) {
        ck_assert_msg(e == KW_ERR_NOMEM, "i=%ld: kw_producer_new: %s", i, kw_err_name(e));
    } else {
        int accepted = send_all(p, &r);
        e = kw_producer_flush(p, from_on ? 300 : 10000, &err);
        ck_assert_msg(e == KW_ERR_OK || (from_on && e == KW_ERR_TIMED_OUT), "i=%ld%s: flush: %s", i,
                      from_on ? "+" : "", kw_err_name(e));
        n = kwt_fa_count(&fa);
        kw_producer_free(p); /* reports what is left as canceled */
        int reported = 0;
        for (int k = 0; k < PRODUCE_N; k++) {
            ck_assert_msg(r.calls[k] == 1 || r.calls[k] == -100, "i=%ld: record %d: %d reports", i,
                          k, r.calls[k]);
            reported += r.calls[k] == 1;
        }
        ck_assert_int_eq(reported, accepted);
        if (i < 0)
            ck_assert_int_eq(r.ok, PRODUCE_N);
    }
    kw_client_free(c);
    check_no_leak(&fa, "produce", i, from_on);
    return n;
}

START_TEST(test_produce_flush_sweep)
{
    sweep("produce", op_produce, true, FROM_CAP);
    /* Every record reported as delivered is in the log, at the offset its report named. */
    kwt_stored st;
    size_t n = kwt_mock_read_all(mock, "t", 0, &st);
    for (size_t k = 0; k < n_promises; k++) {
        size_t j = 0;
        while (j < n && st.offsets[j] != promises[k].offset)
            j++;
        ck_assert_msg(j < n, "offset %lld was reported but is not stored",
                      (long long)promises[k].offset);
        ck_assert_str_eq(st.values[j], promises[k].value);
    }
    ck_assert_uint_gt(n_promises, 0);
    kwt_stored_fini(&st);
    free(promises);
    promises = NULL;
    n_promises = cap_promises = 0;
}
END_TEST

/* ---------------------------------------------------------------- consume */

#define CONSUME_N 30

/* kw_consumer_new, assign partition 0 from offset 0, poll until CONSUME_N records, free, on a
 * client connected before the failures start. Records must come in offset order, each the
 * one stored there, with none skipped. */
static long
op_consume(long i, bool from_on, long run)
{
    (void)run;
    kwt_fa fa;
    kwt_fa_init(&fa);
    const char *const extra[] = {"fetch.max.wait.ms", "20", NULL};
    kw_client *c = kwt_fa_client(&fa, kw_mock_bootstrap(mock), extra);
    kwt_fa_arm(&fa, i, from_on);
    kw_consumer *k = NULL;
    kw_error err;
    kw_err e = kw_consumer_new(c, NULL, &k, &err);
    long n = 0;
    if (e != KW_ERR_OK) {
        ck_assert_msg(e == KW_ERR_NOMEM, "i=%ld: kw_consumer_new: %s", i, kw_err_name(e));
        kw_client_free(c);
        check_no_leak(&fa, "consume", i, from_on);
        return 0;
    }
    kw_topic_partition tp;
    memset(&tp, 0, sizeof(tp));
    tp.topic = "t";
    tp.partition = 0;
    tp.offset = 0;
    tp.leader_epoch = -1;
    e = kw_consumer_assign(k, &tp, 1, &err);
    ck_assert_msg(e == KW_ERR_OK || e == KW_ERR_NOMEM, "i=%ld: assign: %s", i, kw_err_name(e));
    int64_t next = 0;
    int64_t end = kwt_now_ms() + (from_on ? 300 : 10000);
    while (e == KW_ERR_OK && next < CONSUME_N && kwt_now_ms() < end) {
        kw_consumer_msg *msgs[16];
        size_t got = 0;
        kw_err pe = kw_consumer_poll(k, msgs, 16, 20, &got, &err);
        ck_assert_msg(pe == KW_ERR_OK || pe == KW_ERR_NOMEM, "i=%ld: poll: %s", i, kw_err_name(pe));
        for (size_t m = 0; m < got; m++) {
            if (msgs[m]->err == KW_ERR_OK) {
                char v[32];
                snprintf(v, sizeof(v), "v%lld", (long long)msgs[m]->offset);
                ck_assert_msg(msgs[m]->offset == next, "i=%ld: offset %lld, expected %lld", i,
                              (long long)msgs[m]->offset, (long long)next);
                ck_assert_int_eq(msgs[m]->value.len, (int32_t)strlen(v));
                ck_assert(memcmp(msgs[m]->value.ptr, v, strlen(v)) == 0);
                next++;
            } else {
                ck_assert_msg(msgs[m]->err == KW_ERR_NOMEM, "i=%ld: in-band %s: %s", i,
                              kw_err_name(msgs[m]->err), msgs[m]->errstr);
            }
            kw_consumer_msg_release(msgs[m]);
        }
    }
    /* One failed allocation is recovered from: everything arrives. */
    if (!from_on && e == KW_ERR_OK)
        ck_assert_msg(next >= CONSUME_N, "i=%ld: only %lld records", i, (long long)next);
    n = kwt_fa_count(&fa);
    kw_consumer_free(k);
    kw_client_free(c);
    check_no_leak(&fa, "consume", i, from_on);
    return n;
}

START_TEST(test_consume_sweep)
{
    for (int r = 0; r < CONSUME_N; r++) {
        char v[32];
        snprintf(v, sizeof(v), "v%d", r);
        kw_error err;
        ck_assert_int_eq(
            kw_mock_append_record(mock, "t", 0, kw_slice_str("k"), kw_slice_str(v), -1, NULL, &err),
            KW_ERR_OK);
    }
    sweep("consume", op_consume, true, FROM_CAP);
}
END_TEST

/* ---------------------------------------------------------------- join a group */

typedef struct join_rec {
    int assigned, revoked;
    size_t n_assigned;
    bool fatal_logged; /* the group said an allocation failed */
    int64_t logged_at;
} join_rec;

/* docs/consumer_groups.md: a fatal group error is logged ("group") and makes synchronous
 * group calls fail with KW_ERR_STATE. The log line tells the test to stop waiting. */
static void
join_log(void *ud, kw_log_level level, const char *subsystem, const char *msg)
{
    join_rec *r = ud;
    if (level <= KW_LOG_WARN && strcmp(subsystem, "group") == 0 &&
        strstr(msg, "allocation failed") && !r->fatal_logged) {
        r->fatal_logged = true;
        r->logged_at = kwt_now_ms();
    }
}

static void
on_rebalance(kw_consumer *k, kw_rebalance_kind kind, const kw_topic_partition *parts, size_t n,
             void *ud)
{
    (void)k;
    (void)parts;
    join_rec *r = ud;
    if (kind == KW_REBALANCE_ASSIGNED) {
        r->assigned++;
        r->n_assigned = n;
    } else {
        r->revoked++;
    }
}

static long fatal_runs; /* runs that ended in the group's fatal out-of-memory error */

#define JOIN_SINGLE_CAP 120

/* kw_consumer_new with a group.id of its own, kw_consumer_subscribe, polls until the
 * partition is assigned, kw_consumer_close, free; on a client connected before. */
static long
op_join(long i, bool from_on, long run)
{
    kwt_fa fa;
    kwt_fa_init(&fa);
    char group[32];
    snprintf(group, sizeof(group), "g%ld", run);
    const char *const extra[] = {"group.id",
                                 group,
                                 "session.timeout.ms",
                                 "6000",
                                 "heartbeat.interval.ms",
                                 "500",
                                 "fetch.max.wait.ms",
                                 "20",
                                 NULL};
    kw_client *c = kwt_fa_client(&fa, kw_mock_bootstrap(mock), extra);
    join_rec r = {0, 0, 0, false, 0};
    if (!getenv("KWT_LOG"))
        kw_client_set_log(c, KW_LOG_WARN, join_log, &r);
    kw_consumer_opts o;
    kw_consumer_opts_init(&o);
    o.on_rebalance = on_rebalance;
    o.rebalance_ud = &r;
    kwt_fa_arm(&fa, i, from_on);
    kw_consumer *k = NULL;
    kw_error err;
    kw_err e = kw_consumer_new(c, &o, &k, &err);
    long n = 0;
    if (e != KW_ERR_OK) {
        ck_assert_msg(e == KW_ERR_NOMEM, "i=%ld: kw_consumer_new: %s", i, kw_err_name(e));
        kw_client_free(c);
        check_no_leak(&fa, "join", i, from_on);
        return 0;
    }
    const char *topics[] = {"t"};
    e = kw_consumer_subscribe(k, topics, 1, &err);
    ck_assert_msg(e == KW_ERR_OK || e == KW_ERR_NOMEM, "i=%ld: subscribe: %s", i, kw_err_name(e));
    int64_t end = kwt_now_ms() + (from_on ? 300 : 20000);
    /* After the group reported a failed allocation, 1 s is ample to rejoin (the mock answers
     * at once, backoffs are 50 ms at most) before the error must have been fatal. */
    while (e == KW_ERR_OK && r.assigned == 0 && kwt_now_ms() < end &&
           !(r.fatal_logged && kwt_now_ms() > r.logged_at + 1000)) {
        kw_consumer_msg *msgs[8];
        size_t got = 0;
        kw_err pe = kw_consumer_poll(k, msgs, 8, 20, &got, &err);
        ck_assert_msg(pe == KW_ERR_OK || pe == KW_ERR_NOMEM, "i=%ld: poll: %s", i, kw_err_name(pe));
        kw_consumer_msgs_release(msgs, got);
        if (pe == KW_ERR_NOMEM && err.fatal)
            break; /* the member stopped for good, and poll said so */
    }
    if (r.assigned) {
        ck_assert_msg(r.n_assigned == 1, "i=%ld%s: assigned %zu partitions, not 1", i,
                      from_on ? "+" : "", r.n_assigned);
        ck_assert_int_gt(kw_consumer_generation(k), 0);
    } else if (r.fatal_logged) {
        /* The member failed for good: the application learns it from kw_consumer_poll (the
         * member's error, marked fatal, on every poll) and from synchronous group calls
         * (docs/consumer_groups.md), here an OffsetFetch. */
        size_t got = 0;
        kw_error_init(&err);
        kw_err pe = kw_consumer_poll(k, NULL, 0, 0, &got, &err);
        ck_assert_msg(e != KW_ERR_OK || (pe != KW_ERR_OK && err.fatal),
                      "i=%ld%s: poll after the fatal error: %s", i, from_on ? "+" : "",
                      kw_err_name(pe)); /* (a failed subscribe said it already) */
        kw_topic_partition tp;
        memset(&tp, 0, sizeof(tp));
        tp.topic = "t";
        tp.leader_epoch = -1;
        e = kw_consumer_committed(k, &tp, 1, 2000, &err);
        ck_assert_msg(e == KW_ERR_STATE || (from_on && e == KW_ERR_NOMEM),
                      "i=%ld: neither joined nor failed: committed: %s (%s)", i, kw_err_name(e),
                      err.msg);
        if (!strstr(err.msg, "allocation failed") && getenv("KWT_VERBOSE"))
            fprintf(stderr, "join i=%ld%s: %s\n", i, from_on ? "+" : "", err.msg);
        fatal_runs++;
    } else if (!from_on && e == KW_ERR_OK) {
        ck_abort_msg("i=%ld: one failed allocation, and the member never joined", i);
    }
    n = kwt_fa_count(&fa);
    int64_t t0 = kwt_now_ms();
    e = kw_consumer_close(k, from_on ? 300 : 5000, &err);
    ck_assert_msg(kwt_now_ms() - t0 < 15000, "i=%ld: close took too long", i);
    ck_assert_msg(e == KW_ERR_OK || e == KW_ERR_NOMEM || e == KW_ERR_TIMED_OUT, "i=%ld: close: %s",
                  i, kw_err_name(e));
    ck_assert_msg(r.revoked <= r.assigned, "i=%ld%s: %d revoked or lost callbacks, %d assigned", i,
                  from_on ? "+" : "", r.revoked, r.assigned);
    kw_consumer_free(k);
    kw_client_free(c);
    check_no_leak(&fa, "join", i, from_on);
    return n;
}

START_TEST(test_join_group_sweep)
{
    kw_mock_group_conf gc;
    kw_mock_group_conf_init(&gc);
    gc.initial_rebalance_delay_ms = 0; /* one member: nothing to wait for */
    ck_assert_int_eq(kw_mock_group_conf_set(mock, &gc), KW_ERR_OK);
    /* Failing from i on, then single failures: every run joins, or ends in the group's fatal
     * out-of-memory error that kw_consumer_poll reports. The single failures take the first
     * 100 allocations one by one and the rest strided, about JOIN_SINGLE_CAP runs in all
     * ($KWT_JOIN_SINGLE=1: every allocation). */
    long n = sweep("join", op_join, false, 20);
    long cap = getenv("KWT_JOIN_SINGLE") ? n : JOIN_SINGLE_CAP;
    long runs = 0;
    for (long i = 0; !getenv("KWT_ONLY") && i >= 0; i = kwt_sweep_next(i, n, cap))
        op_join(i, false, 1000 + ++runs);
    fprintf(stderr,
            "join: %ld single-failure runs; %ld runs ended in the group's fatal "
            "out-of-memory error\n",
            runs, fatal_runs);
}
END_TEST

/* ---------------------------------------------------------------- the event bus */

typedef struct bus_rec {
    int handled;
    kw_uuid want;
} bus_rec;

static int
bus_handler(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *msg, kw_bus_failure *fail,
            void *ud)
{
    (void)bus;
    (void)msg;
    (void)fail;
    bus_rec *r = ud;
    /* Only the event this run published can arrive (each run has its own topic). */
    ck_assert(memcmp(ev->event_id.b, r->want.b, sizeof(r->want.b)) == 0);
    r->handled++;
    return 0;
}

/* kw_bus_new, kw_bus_connect, kw_bus_subscribe, kw_bus_publish of one event, then (when
 * failing from i on) kw_bus_consume and steps until the handler ran; kw_bus_free. */
static long
op_bus(long i, bool from_on, long run)
{
    kwt_fa fa;
    kwt_fa_init(&fa);
    kw_bus_config bc;
    kw_bus_config_init(&bc);
    snprintf(bc.bootstrap_servers, sizeof(bc.bootstrap_servers), "%s", kw_mock_bootstrap(mock));
    snprintf(bc.topic_prefix, sizeof(bc.topic_prefix), "b%ld", run);
    snprintf(bc.consumer_group, sizeof(bc.consumer_group), "bg%ld", run);
    if (!kw_codec_available(KW_CODEC_GZIP)) /* the default codec, missing without zlib */
        snprintf(bc.compression_type, sizeof(bc.compression_type), "none");
    bc.retry_base_delay = 0.02;
    bc.retry_max_delay = 0.2;
    bc.retry_jitter = 0;
    bc.session_timeout_ms = 6000;
    bc.heartbeat_interval_ms = 500;
    bc.linger_ms = 1;
    bc.shutdown_timeout = 2;
    kw_bus_opts o;
    kw_bus_opts_init(&o);
    o.allocator = &fa.a;
    kwt_fa_arm(&fa, i, from_on);
    kw_bus *bus = NULL;
    kw_error err;
    kw_error_init(&err);
    kw_err e = kw_bus_new(&bc, &o, &bus, &err);
    long n = 0;
    if (e != KW_ERR_OK) {
        ck_assert_msg(e == KW_ERR_NOMEM, "i=%ld: kw_bus_new: %s", i, kw_err_name(e));
        check_no_leak(&fa, "bus", i, from_on);
        return 0;
    }
    int wait = i >= 0 && from_on ? 300 : 10000;
    bus_rec r = {0, {{0}}};
    e = kw_bus_connect(bus, wait, &err);
    if (e == KW_ERR_OK)
        e = kw_bus_subscribe(bus, "Probe", bus_handler, &r, &err);
    kw_bus_publish_result res;
    memset(&res, 0, sizeof(res));
    if (e == KW_ERR_OK) {
        kw_bus_event ev;
        kw_bus_event_init(&ev);
        ev.event_type = "Probe";
        ev.aggregate_type = "Robust";
        ev.aggregate_id = ev.correlation_id;
        ev.payload = kw_slice_str("{}");
        r.want = ev.event_id;
        e = kw_bus_publish(bus, &ev, 1, &res, wait, &err);
        if (e == KW_ERR_OK)
            ck_assert_int_ge(res.offset, 0);
    }
    if (!from_on || i < 0)
        ck_assert_msg(e == KW_ERR_OK || e == KW_ERR_NOMEM, "i=%ld: %s (%s)", i, kw_err_name(e),
                      err.msg);
    if (e == KW_ERR_OK && (from_on || i < 0)) {
        e = kw_bus_consume(bus, &err);
        int64_t end = kwt_now_ms() + (i < 0 ? 30000 : 300);
        while (e == KW_ERR_OK && r.handled == 0 && kwt_now_ms() < end)
            kw_bus_step(bus, 20, NULL);
        if (i < 0)
            ck_assert_int_eq(r.handled, 1);
    }
    ck_assert_int_le(r.handled, 1);
    n = kwt_fa_count(&fa);
    int64_t t0 = kwt_now_ms();
    kw_bus_free(bus);
    ck_assert_msg(kwt_now_ms() - t0 < 15000, "i=%ld: kw_bus_free took too long", i);
    check_no_leak(&fa, "bus", i, from_on);
    return n;
}

START_TEST(test_bus_sweep)
{
    sweep("bus", op_bus, true, 20);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("robust_oom");
    TCase *tc = tcase_create("sweeps");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_connect_sweep);
    tcase_add_test(tc, test_produce_flush_sweep);
    tcase_add_test(tc, test_consume_sweep);
    tcase_add_test(tc, test_join_group_sweep);
    tcase_add_test(tc, test_bus_sweep);
    suite_add_tcase(s, tc);
    return s;
}
