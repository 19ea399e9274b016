/* Consumer groups against librdkafka's mock cluster (3 brokers, an independent group
 * coordinator), kwire members driven from this one thread:
 *   - three members over 12 partitions join and split them; one leaves cleanly, one crashes
 *     (no LeaveGroup: its session times out), the static one restarts with the same
 *     group.instance.id; every produced message is consumed, none skipped, duplicates counted
 *     and bounded by what the crashed member consumed; committed offsets survive a restart;
 *   - two groups on one topic each receive everything;
 *   - a kcat -G member (librdkafka) and a kwire member share one group's partitions: the
 *     ConsumerProtocol subscription and assignment formats interoperate both ways round
 *     (whichever member leads, the other decodes its assignment).
 * Session timeouts are 6 s (the rdk mock accepts them) so the crash phase stays short. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cg_util.h"
#include "kwire/admin.h"
#include "kwire/producer.h"
#include "rdk_launch.h"

static kwt_rdk rdk;

static void
setup(void)
{
    kwt_rdk_start(&rdk, 3);
    /* librdkafka's mock answers a follower's SyncGroup that arrives after the leader's with
     * INVALID_REQUEST (it completes the sync on the leader's assignments alone), which a real
     * coordinator does not: members here run on their own kwire threads so that followers
     * answer as promptly as separate processes would. */
    cgt_use_thread = true;
}

static void
teardown(void)
{
    kwt_rdk_stop(&rdk);
}

/* ---------------------------------------------------------------- producing */

static void
on_delivery(kw_producer *p, const kw_delivery *d, void *ud)
{
    (void)p;
    size_t *left = ud;
    ck_assert_msg(d->err == KW_ERR_OK, "delivery failed: %s", d->detail->msg);
    (*left)--;
}

/* Messages first..first+n-1 with value "<id>", partition id % parts, acknowledged. */
static void
produce(const char *topic, int32_t parts, size_t first, size_t n)
{
    kw_conf *conf = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_conf_new(NULL, &conf), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "bootstrap.servers", rdk.bootstrap, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "linger.ms", "5", &err), KW_ERR_OK);
    kw_client *c = NULL;
    ck_assert_msg(kw_client_new(conf, &c, &err) == KW_ERR_OK, "%s", err.msg);
    size_t left = n;
    kw_producer_opts o;
    kw_producer_opts_init(&o);
    o.on_delivery = on_delivery;
    o.delivery_ud = &left;
    kw_producer *p = NULL;
    ck_assert_msg(kw_producer_new(c, &o, &p, &err) == KW_ERR_OK, "%s", err.msg);
    for (size_t i = first; i < first + n; i++) {
        char v[32];
        snprintf(v, sizeof(v), "%zu", i);
        kw_message m;
        kw_message_init(&m);
        m.topic = topic;
        m.partition = (int32_t)(i % (size_t)parts);
        m.value = kw_slice_str(v);
        kw_err e;
        while ((e = kw_producer_send(p, &m, &err)) == KW_ERR_QUEUE_FULL)
            kw_client_step(c, 10, NULL);
        ck_assert_msg(e == KW_ERR_OK, "send: %s", err.msg);
    }
    ck_assert_msg(kw_producer_flush(p, 30000, &err) == KW_ERR_OK, "flush: %s", err.msg);
    ck_assert_uint_eq(left, 0);
    kw_producer_free(p);
    kw_client_free(c);
}

/* ---------------------------------------------------------------- conditions */

typedef struct bal {
    cgt_member **v;
    int n, total, each;
} bal;

static bool
balanced(void *ud)
{
    bal *t = ud;
    return cgt_balanced(t->v, t->n, t->total, t->each);
}

static bool
ledger_full(void *ud)
{
    return cgt_ledger_missing(ud) == 0;
}

#define T12 "t12"

/* Join, leave, crash, static rejoin, restart: every message, duplicates bounded. */
START_TEST(test_three_members)
{
    kwt_rdk_cmd(&rdk, "create %s 12 1", T12);
    cgt_ledger l;
    cgt_ledger_init(&l, 1320);
    l.n_ids = 600;
    produce(T12, 12, 0, 600);
    /* max.poll.interval.ms is the rebalance timeout: how long a rebalance may wait for a
     * member that does not rejoin (the crashed one). */
    static const char *const dyn[] = {"auto.commit.interval.ms=300", "max.poll.interval.ms=15000",
                                      NULL};
    static const char *const stat[] = {"auto.commit.interval.ms=300", "max.poll.interval.ms=15000",
                                       "group.instance.id=inst-b", NULL};
    cgt_member *v[3];
    v[0] = cgt_member_new("a", rdk.bootstrap, "g12", T12, &l, dyn);
    v[1] = cgt_member_new("b", rdk.bootstrap, "g12", T12, &l, stat);
    v[2] = cgt_member_new("c", rdk.bootstrap, "g12", T12, &l, dyn);
    bal three = {v, 3, 12, 4};
    cgt_until(v, 3, balanced, &three, "a 4/4/4 split");
    cgt_until(v, 3, ledger_full, &l, "the first 600 messages");
    ck_assert_uint_eq(l.dups, 0);
    /* Let the periodic auto-commit (300 ms) run: librdkafka's mock refuses every commit once
     * a rebalance has begun (REBALANCE_IN_PROGRESS while joining, where Kafka accepts the
     * current generation), so the pre-rebalance commit cannot be relied on there. */
    cgt_poll_for(v, 3, 1000);

    /* a leaves cleanly: b and c share the twelve. */
    cgt_member_close(v[0]);
    v[0] = NULL;
    bal two = {v, 3, 12, 0};
    cgt_until(v, 3, balanced, &two, "b and c owning all twelve after a left");
    ck_assert_int_eq(cgt_assigned(v[1], NULL, 0), 6);
    produce(T12, 12, 600, 300);
    l.n_ids = 900;
    cgt_until(v, 3, ledger_full, &l, "300 more after a left");
    ck_assert_uint_eq(l.dups, 0);
    cgt_poll_for(v, 3, 1000);

    /* c crashes: no LeaveGroup; b gets everything once c's session (6 s) has timed out. */
    uint64_t c_consumed = v[2]->consumed;

    cgt_member_crash(v[2]);
    v[2] = NULL;
    produce(T12, 12, 900, 300);
    l.n_ids = 1200;
    bal b_only = {v, 3, 12, 12};
    cgt_until(v, 3, balanced, &b_only, "b owning all twelve after c's session expired");
    cgt_until(v, 3, ledger_full, &l, "300 more after c crashed");
    /* At-least-once: only what c consumed after its last auto-commit comes again. */
    ck_assert_msg(l.dups <= c_consumed, "%llu duplicates, c consumed %llu",
                  (unsigned long long)l.dups, (unsigned long long)c_consumed);
    fprintf(stderr, "three_members: %llu duplicates after c's crash\n", (unsigned long long)l.dups);
    uint64_t dups_before = l.dups;

    /* b restarts with the same group.instance.id (a static member sends no LeaveGroup). */
    cgt_member_close(v[1]);
    v[1] = cgt_member_new("b2", rdk.bootstrap, "g12", T12, &l, stat);
    cgt_until(v, 3, balanced, &b_only, "the restarted static member owning all twelve");
    cgt_poll_for(v, 3, 500);
    ck_assert_uint_eq(l.dups, dups_before); /* b committed on close: nothing again */

    /* The committed offsets survive: a new member resumes exactly after them. */
    cgt_member_close(v[1]);
    v[1] = NULL;
    produce(T12, 12, 1200, 120);
    l.n_ids = 1320;
    v[0] = cgt_member_new("d", rdk.bootstrap, "g12", T12, &l, dyn);
    cgt_until(v, 3, ledger_full, &l, "the 120 new messages after a restart");
    cgt_poll_for(v, 3, 500);
    ck_assert_uint_eq(v[0]->consumed, 120);
    ck_assert_uint_eq(l.dups, dups_before);
    ck_assert_uint_eq(cgt_ledger_missing(&l), 0);
    cgt_member_close(v[0]);
    cgt_ledger_fini(&l);
}
END_TEST

/* Two groups on one topic each receive every message once. */
START_TEST(test_two_groups)
{
    kwt_rdk_cmd(&rdk, "create two 6 1");
    produce("two", 6, 0, 300);
    cgt_ledger lx, ly;
    cgt_ledger_init(&lx, 300);
    cgt_ledger_init(&ly, 300);
    cgt_member *v[3];
    v[0] = cgt_member_new("x1", rdk.bootstrap, "gx", "two", &lx, NULL);
    v[1] = cgt_member_new("x2", rdk.bootstrap, "gx", "two", &lx, NULL);
    v[2] = cgt_member_new("y1", rdk.bootstrap, "gy", "two", &ly, NULL);
    cgt_until(v, 3, ledger_full, &lx, "group gx receiving everything");
    cgt_until(v, 3, ledger_full, &ly, "group gy receiving everything");
    cgt_poll_for(v, 3, 300);
    ck_assert_uint_eq(ly.dups, 0);
    ck_assert_uint_eq(v[2]->consumed, 300);
    ck_assert_uint_eq(v[0]->consumed + v[1]->consumed, 300 + lx.dups);
    for (int i = 0; i < 3; i++)
        cgt_member_close(v[i]);
    cgt_ledger_fini(&lx);
    cgt_ledger_fini(&ly);
}
END_TEST

/* ---------------------------------------------------------------- manual assignment */

typedef struct offs_rec {
    int calls;
    kw_err err;
    int64_t off[4];
} offs_rec;

static void
on_offsets(kw_admin *ad, kw_err err, const kw_error *detail, const kw_admin_result *res, void *ud)
{
    (void)ad;
    (void)detail;
    offs_rec *r = ud;
    r->calls++;
    r->err = err;
    for (int32_t g = 0; res && g < res->n_offsets; g++)
        for (int32_t i = 0; i < res->offsets[g].n_partitions; i++) {
            const kw_partition_offset *po = &res->offsets[g].partitions[i];
            if (po->partition >= 0 && po->partition < 4 && po->error->code == KW_ERR_OK)
                r->off[po->partition] = po->offset;
        }
}

/* The group's committed offsets of topic "man", through the admin API (OffsetFetch). */
static void
admin_offsets(const char *group, offs_rec *r)
{
    memset(r, 0, sizeof(*r));
    kw_conf *conf = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_conf_new(NULL, &conf), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "bootstrap.servers", rdk.bootstrap, &err), KW_ERR_OK);
    kw_client *c = NULL;
    ck_assert_msg(kw_client_new(conf, &c, &err) == KW_ERR_OK, "%s", err.msg);
    kw_admin *ad = NULL;
    ck_assert_int_eq(kw_admin_new(c, &ad, &err), KW_ERR_OK);
    const char *g[] = {group};
    const char *topics[] = {"man"}; /* the rdk mock cannot list every committed topic */
    ck_assert_int_eq(kw_admin_group_offsets(ad, g, 1, topics, 1, false, NULL, on_offsets, r, &err),
                     KW_ERR_OK);
    ck_assert_msg(kw_admin_wait(ad, 30000, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(r->calls, 1);
    ck_assert_int_eq(r->err, KW_ERR_OK);
    kw_admin_free(ad);
    kw_client_free(c);
}

static void
assign4(cgt_member *m, int64_t offset)
{
    kw_topic_partition tp[4];
    for (int32_t p = 0; p < 4; p++)
        tp[p] = (kw_topic_partition){
            .topic = "man", .partition = p, .offset = offset, .leader_epoch = -1};
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_consumer_assign(m->k, tp, 4, &err) == KW_ERR_OK, "%s", err.msg);
}

/* A consumer with a group.id and a manual assignment commits through the coordinator (a
 * simple group: generation -1, no member id), through an injected NOT_COORDINATOR (looked up
 * again, retried); the admin API and a second consumer (KW_OFFSET_STORED) read the offsets
 * back; auto-commit commits on close. */
START_TEST(test_manual_commit)
{
    kwt_rdk_cmd(&rdk, "create man 4 1");
    produce("man", 4, 0, 100);
    cgt_ledger l;
    cgt_ledger_init(&l, 120);
    l.n_ids = 100;
    static const char *const manual[] = {"enable.auto.commit=false", NULL};
    cgt_member *a = cgt_member_new("a", rdk.bootstrap, "gman", NULL, &l, manual);
    assign4(a, KW_OFFSET_BEGINNING);
    cgt_member *v[] = {a};
    cgt_until(v, 1, ledger_full, &l, "100 messages by manual assignment");
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_consumer_commit(a->k, NULL, 0, 20000, &err) == KW_ERR_OK, "commit: %s",
                  err.msg);
    offs_rec r;
    admin_offsets("gman", &r);
    for (int32_t p = 0; p < 4; p++)
        ck_assert_int_eq(r.off[p], 25);
    /* NOT_COORDINATOR once on the next OffsetCommit: the commit still succeeds. */
    kwt_rdk_cmd(&rdk, "error 8 1 16");
    kw_topic_partition tp = {.topic = "man", .partition = 1, .offset = 20, .leader_epoch = -1};
    ck_assert_msg(kw_consumer_commit(a->k, &tp, 1, 20000, &err) == KW_ERR_OK,
                  "commit through NOT_COORDINATOR: %s", err.msg);
    kw_topic_partition q = {.topic = "man", .partition = 1, .offset = -1};
    ck_assert_msg(kw_consumer_committed(a->k, &q, 1, 20000, &err) == KW_ERR_OK, "%s", err.msg);
    ck_assert_int_eq(q.offset, 20);
    cgt_member_close(a);

    /* The next consumer starts at the committed offsets (5 again on partition 1) and, with
     * auto-commit, stores its final positions on close. */
    produce("man", 4, 100, 20);
    l.n_ids = 120;
    static const char *const autoc[] = {"enable.auto.commit=true", NULL};
    cgt_member *b = cgt_member_new("b", rdk.bootstrap, "gman", NULL, &l, autoc);
    assign4(b, KW_OFFSET_STORED);
    cgt_member *w[] = {b};
    cgt_until(w, 1, ledger_full, &l, "the 20 new messages");
    cgt_poll_for(w, 1, 300);
    ck_assert_uint_eq(b->consumed, 25);
    ck_assert_uint_eq(l.dups, 5);
    cgt_member_close(b);
    admin_offsets("gman", &r);
    for (int32_t p = 0; p < 4; p++)
        ck_assert_int_eq(r.off[p], 30);
    cgt_ledger_fini(&l);
}
END_TEST

/* ---------------------------------------------------------------- kcat -G */

typedef struct kcat_proc {
    pid_t pid;
    int fd;
    char buf[65536];
    size_t len;
} kcat_proc;

static void
kcat_start(kcat_proc *k, const char *group, const char *topic)
{
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    k->len = 0;
    k->pid = fork();
    ck_assert_int_ge(k->pid, 0);
    if (k->pid == 0) {
        dup2(p[1], 1);
        close(p[0]);
        close(p[1]);
        execlp("kcat", "kcat", "-b", rdk.bootstrap, "-G", group, "-o", "beginning", "-q", "-u",
               "-f", "%p|%s\\n", "-X", "session.timeout.ms=6000", "-X",
               "partition.assignment.strategy=range", topic, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    k->fd = p[0];
    fcntl(k->fd, F_SETFL, fcntl(k->fd, F_GETFL) | O_NONBLOCK);
}

static void
kcat_read(kcat_proc *k)
{
    for (;;) {
        ssize_t n = read(k->fd, k->buf + k->len, sizeof(k->buf) - 1 - k->len);
        if (n <= 0)
            break;
        k->len += (size_t)n;
    }
    k->buf[k->len] = '\0';
}

/* Counts kcat's lines into the ledger; returns the partitions it consumed from (a bitmask). */
static uint32_t
kcat_count(kcat_proc *k, cgt_ledger *l)
{
    uint32_t parts = 0;
    for (char *line = k->buf; *line;) {
        char *nl = strchr(line, '\n');
        if (!nl)
            break;
        *nl = '\0';
        int p = -1;
        unsigned long id = 0;
        ck_assert_msg(sscanf(line, "%d|%lu", &p, &id) == 2 && id < l->n_ids && p >= 0 && p < 32,
                      "kcat line '%s'", line);
        parts |= 1u << p;
        if (l->count[id]++)
            l->dups++;
        l->delivered++;
        line = nl + 1;
    }
    return parts;
}

static void
kcat_stop(kcat_proc *k)
{
    kill(k->pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 200; i++) {
        if (waitpid(k->pid, &st, WNOHANG) == k->pid)
            break;
        if (i == 199) {
            kill(k->pid, SIGKILL);
            waitpid(k->pid, &st, 0);
        }
        kcat_read(k);
        usleep(50000);
    }
    kcat_read(k);
    close(k->fd);
}

typedef struct shared {
    cgt_member *m;
    kcat_proc *kc;
    int each;
} shared;

static bool
kwire_has_half(void *ud)
{
    shared *s = ud;
    kcat_read(s->kc);
    return cgt_assigned(s->m, NULL, 0) == s->each;
}

START_TEST(test_kcat_and_kwire)
{
    kwt_rdk_cmd(&rdk, "create mixed 4 1");
    cgt_ledger l;
    cgt_ledger_init(&l, 400);
    kcat_proc kc;
    kcat_start(&kc, "gmix", "mixed");
    static const char *const extra[] = {"partition.assignment.strategy=range", NULL};
    cgt_member *v[1] = {cgt_member_new("k", rdk.bootstrap, "gmix", "mixed", NULL, extra)};
    shared s = {v[0], &kc, 2};
    cgt_until(v, 1, kwire_has_half, &s, "kwire owning two of four partitions next to kcat");
    char mine[128];
    cgt_assigned(v[0], mine, sizeof(mine));
    produce("mixed", 4, 0, 400);
    /* kwire's share counted into the same ledger as kcat's. */
    v[0]->ledger = &l;
    int64_t end = cgt_now_ms() + CGT_DEADLINE_MS;
    while (v[0]->consumed < 200 && cgt_now_ms() < end)
        cgt_poll_round(v, 1, 10);
    ck_assert_uint_eq(v[0]->consumed, 200);
    /* Give kcat the time to print its half, then stop it (SIGTERM: it leaves the group). */
    while (cgt_now_ms() < end) {
        kcat_read(&kc);
        size_t lines = 0;
        for (char *p = kc.buf; (p = strchr(p, '\n')); p++)
            lines++;
        if (lines >= 200)
            break;
        cgt_poll_round(v, 1, 10);
    }
    kcat_stop(&kc);
    uint32_t kparts = kcat_count(&kc, &l);
    ck_assert_uint_eq(cgt_ledger_missing(&l), 0);
    ck_assert_uint_eq(l.dups, 0);
    /* kcat consumed from exactly the two partitions kwire does not own. */
    uint32_t kw = 0;
    for (const char *p = strchr(mine, ':') + 1; *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : "")
        kw |= 1u << atoi(p);
    ck_assert_uint_eq(kparts & kw, 0);
    ck_assert_uint_eq(kparts | kw, 0xf);
    cgt_member_close(v[0]);
    cgt_ledger_fini(&l);
}
END_TEST

Suite *
kw_test_suite(void)
{
    kwt_rdk_require();
    Suite *s = suite_create("cgroup_rdk");
    TCase *tc = tcase_create("rdk");
    tcase_set_timeout(tc, 180);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_three_members);
    tcase_add_test(tc, test_two_groups);
    tcase_add_test(tc, test_manual_commit);
    if (system("command -v kcat >/dev/null 2>&1") == 0)
        tcase_add_test(tc, test_kcat_and_kwire);
    else
        fprintf(stderr, "kcat is not installed: the kcat -G test is skipped\n");
    suite_add_tcase(s, tc);
    return s;
}
