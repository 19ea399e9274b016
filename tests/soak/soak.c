/* kwire-soak: a producer and a consumer group on one cluster for a long time, checked message
 * by message, with memory sampled. scripts/soak runs it against librdkafka's mock cluster
 * while it injects faults; the test suite runs a short smoke of the same pair.
 *
 *   kwire-soak -b BOOTSTRAP [-t TOPIC] [-g GROUP] [-s SECONDS] [-r RATE] [-m MEMBERS]
 *              [-R RESTART_S] [-i SAMPLE_MS] [-d DRAIN_S] [-z VALUE_SIZE] [-v LOG_LEVEL]
 *              [-X name=value]...
 *
 * Every record carries a unique sequence number (and a filler derived from it, so corruption
 * is seen). The producer sends RATE records a second for SECONDS, sends again whatever failed,
 * and waits for every delivery report. MEMBERS consumer group members (kw_consumer_subscribe)
 * consume; even-numbered ones use enable.auto.commit, odd ones commit themselves (async every
 * second, synchronously when partitions are revoked and before leaving). Every RESTART_S
 * seconds one member closes and a new one joins in its place, so rebalances happen under load
 * and the newcomer resumes from committed offsets. -v 7 (syslog levels: 3 error ... 7 debug)
 * sends every client's log lines to stderr.
 *
 * Output: a line "progress {json}" every SAMPLE_MS, then one final JSON line. The exit status
 * is 0 when every acknowledged record was consumed (missing 0), none was corrupt, nothing hung,
 * every record got a final delivery and no kwire allocation was left once every client was
 * freed; 1 otherwise; 2 on a usage error. Duplicates are counted, not failed: a group consumer
 * is at-least-once around rebalances and faults. */
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "kwire/client.h"
#include "soak.h"

/* A member that has not come back from kwire for this long is hung (poll waits 200 ms, close
 * at most 30 s, a synchronous commit at most 10 s). */
#define HANG_MS 90000

int64_t
soak_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pthread_mutex_t note_lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t start_ms;

static void
log_line(void *ud, kw_log_level level, const char *subsystem, const char *msg)
{
    fprintf(stderr, "%9.3f %s %d %s: %s\n", (double)(soak_now_ms() - start_ms) / 1000.0,
            (const char *)ud, (int)level, subsystem, msg);
}

void
soak_log_attach(soak *s, kw_client *c, const char *client_id)
{
    if (s->log_level > 0)
        kw_client_set_log(c, (kw_log_level)s->log_level, log_line, (void *)client_id);
}

void
soak_note_error(soak *s, const char *fmt, ...)
{
    pthread_mutex_lock(&note_lock);
    if (!s->first_error_set) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->first_error, sizeof(s->first_error), fmt, ap);
        va_end(ap);
        atomic_store(&s->first_error_set, 1);
    }
    pthread_mutex_unlock(&note_lock);
}

/* ------------------------------------------------------------------ counting allocator */

/* Every kwire allocation of every client goes through these (the allocator is set on each
 * configuration): live bytes and blocks are kwire's own memory, independent of how malloc
 * keeps its arenas, which is what RSS also shows. */
static void
count(soak *s, int64_t bytes, int64_t blocks)
{
    int64_t live = atomic_fetch_add(&s->live_bytes, bytes) + bytes;
    atomic_fetch_add(&s->live_allocs, blocks);
    int64_t peak = atomic_load(&s->peak_bytes);
    while (live > peak && !atomic_compare_exchange_weak(&s->peak_bytes, &peak, live))
        ;
}

static void *
c_alloc(void *ud, size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p) {
        count(ud, (int64_t)n, 1);
        atomic_fetch_add(&((soak *)ud)->total_allocs, 1);
    }
    return p;
}

static void *
c_realloc(void *ud, void *ptr, size_t old, size_t n)
{
    void *p = realloc(ptr, n ? n : 1);
    if (p) {
        count(ud, (int64_t)n - (int64_t)(ptr ? old : 0), ptr ? 0 : 1);
        atomic_fetch_add(&((soak *)ud)->total_allocs, 1);
    }
    return p;
}

static void
c_free(void *ud, void *ptr, size_t n)
{
    if (!ptr)
        return;
    free(ptr);
    count(ud, -(int64_t)n, -1);
}

/* ------------------------------------------------------------------ records */

void
soak_value(const soak *s, uint64_t seq, uint8_t *buf)
{
    int n = snprintf((char *)buf, (size_t)s->value_size, "soak %016" PRIx64 " ", seq);
    for (int i = n; i < s->value_size; i++)
        buf[i] = (uint8_t)('a' + (seq * 7 + (uint64_t)i) % 26);
}

uint64_t
soak_check_value(const soak *s, const uint8_t *p, int32_t len, bool *corrupt)
{
    char hex[17];
    *corrupt = false;
    if (len < 22 || memcmp(p, "soak ", 5) != 0)
        return UINT64_MAX; /* not ours (the topic was used before) */
    memcpy(hex, p + 5, 16);
    hex[16] = '\0';
    char *end;
    uint64_t seq = strtoull(hex, &end, 16);
    *corrupt = true;
    if (*end || len != s->value_size || seq >= s->max_seq)
        return UINT64_MAX;
    for (int i = 22; i < len; i++)
        if (p[i] != (uint8_t)('a' + (seq * 7 + (uint64_t)i) % 26))
            return UINT64_MAX;
    *corrupt = false;
    return seq;
}

/* ------------------------------------------------------------------ configuration */

bool
soak_set(soak *s, kw_conf *conf, const char *name, const char *value)
{
    kw_error err;
    kw_error_init(&err);
    if (kw_conf_set(conf, name, value, &err) == KW_ERR_OK)
        return true;
    soak_note_error(s, "%s=%s: %s", name, value, err.msg);
    fprintf(stderr, "kwire-soak: %s=%s: %s\n", name, value, err.msg);
    return false;
}

bool
soak_default(soak *s, kw_conf *conf, const char *name, const char *value)
{
    for (int i = 0; i < s->n_x; i++)
        if (strcmp(s->xprops[i][0], name) == 0)
            return true; /* -X wins */
    return soak_set(s, conf, name, value);
}

kw_conf *
soak_conf(soak *s, const char *client_id)
{
    kw_conf *conf = NULL;
    if (kw_conf_new(&s->alloc, &conf) != KW_ERR_OK)
        return NULL;
    bool ok = soak_set(s, conf, "bootstrap.servers", s->bootstrap) &&
              soak_set(s, conf, "client.id", client_id);
    for (int i = 0; ok && i < s->n_x; i++)
        ok = soak_set(s, conf, s->xprops[i][0], s->xprops[i][1]);
    if (!ok) {
        kw_conf_free(conf);
        return NULL;
    }
    return conf;
}

static int
usage(void)
{
    fprintf(stderr, "usage: kwire-soak -b BOOTSTRAP [-t TOPIC] [-g GROUP] [-s SECONDS] "
                    "[-r RATE] [-m MEMBERS] [-R RESTART_S] [-i SAMPLE_MS] [-d DRAIN_S] "
                    "[-z VALUE_SIZE] [-v LOG_LEVEL] [-X name=value]...\n");
    return 2;
}

static bool
parse_args(soak *s, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v || a[0] != '-' || strlen(a) != 2)
            return false;
        i++;
        switch (a[1]) {
        case 'b':
            s->bootstrap = v;
            break;
        case 't':
            s->topic = v;
            break;
        case 'g':
            s->group = v;
            break;
        case 's':
            s->seconds = atof(v);
            break;
        case 'r':
            s->rate = atoi(v);
            break;
        case 'm':
            s->n_members = atoi(v);
            break;
        case 'R':
            s->restart_s = atoi(v);
            break;
        case 'i':
            s->sample_ms = atoi(v);
            break;
        case 'd':
            s->drain_s = atoi(v);
            break;
        case 'z':
            s->value_size = atoi(v);
            break;
        case 'v':
            s->log_level = atoi(v);
            break;
        case 'X': {
            char *eq = strchr(argv[i], '=');
            if (!eq || s->n_x == SOAK_MAX_X)
                return false;
            *eq = '\0';
            s->xprops[s->n_x][0] = argv[i];
            s->xprops[s->n_x++][1] = eq + 1;
            break;
        }
        default:
            return false;
        }
    }
    return s->bootstrap && s->seconds > 0 && s->rate > 0 && s->n_members > 0 &&
           s->n_members <= SOAK_MAX_MEMBERS && s->restart_s >= 0 && s->sample_ms >= 100 &&
           s->drain_s > 0 && s->value_size >= 32 && s->value_size <= 1000000;
}

/* ------------------------------------------------------------------ sampling and checks */

static double
cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static long
rss_kb(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
        rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Acknowledged records not consumed (yet), and consumed records never acknowledged. */
static void
scan(const soak *s, uint64_t *missing, uint64_t *unacked_seen)
{
    uint64_t miss = 0, extra = 0, top = atomic_load(&s->sent);
    for (uint64_t i = 0; i < top; i++) {
        bool a = atomic_load(&s->acked[i]), seen = atomic_load(&s->seen[i]) != 0;
        miss += a && !seen;
        extra += !a && seen;
    }
    *missing = miss;
    *unacked_seen = extra;
}

static int
assigned_total(soak *s)
{
    int n = 0;
    for (int i = 0; i < s->n_members; i++)
        n += atomic_load(&s->members[i].assigned);
    return n;
}

/* One "progress" line. `phase` is "run", "drain" or "close". */
static void
progress(soak *s, int64_t t0, const char *phase)
{
    uint64_t missing, extra;
    scan(s, &missing, &extra);
    printf("progress {\"t\":%.1f,\"phase\":\"%s\",\"sent\":%" PRIu64 ",\"delivered\":%" PRIu64
           ",\"delivery_failed\":%" PRIu64 ",\"consumed\":%" PRIu64 ",\"unique\":%" PRIu64
           ",\"dups\":%" PRIu64 ",\"lag\":%" PRIu64 ",\"assigned\":%d,\"restarts\":%" PRIu64
           ",\"rebalances\":%" PRIu64 ",\"rss_kb\":%ld,\"kw_live_bytes\":%" PRId64
           ",\"kw_live_allocs\":%" PRId64 ",\"kw_total_allocs\":%" PRIu64 ",\"cpu_s\":%.2f}\n",
           (double)(soak_now_ms() - t0) / 1000.0, phase, atomic_load(&s->sent),
           atomic_load(&s->delivered), atomic_load(&s->delivery_failed), atomic_load(&s->consumed),
           atomic_load(&s->unique), atomic_load(&s->dups), missing, assigned_total(s),
           atomic_load(&s->restarts), atomic_load(&s->assigned_cb), rss_kb(),
           atomic_load(&s->live_bytes), atomic_load(&s->live_allocs), atomic_load(&s->total_allocs),
           cpu_s());
    fflush(stdout);
}

/* A member thread stuck inside kwire; -1 when none. */
static int
hung_member(soak *s)
{
    int64_t now = soak_now_ms();
    for (int i = 0; i < s->n_members; i++)
        if (!atomic_load(&s->members[i].done) &&
            now - atomic_load(&s->members[i].active_ms) > HANG_MS)
            return i;
    return -1;
}

/* Sleeps until the next sample is due, then prints it. */
static void
tick(soak *s, int64_t t0, int64_t *next_sample, const char *phase)
{
    usleep(100 * 1000);
    if (soak_now_ms() >= *next_sample) {
        progress(s, t0, phase);
        *next_sample += s->sample_ms;
    }
}

/* The run phase: samples, asks one member at a time to restart, watches for hangs. */
static int
run_phase(soak *s, int64_t t0, int64_t *next_sample)
{
    int64_t end = t0 + (int64_t)(s->seconds * 1000.0), next_restart = -1;
    int slot = 0;
    if (s->restart_s > 0)
        next_restart = t0 + (int64_t)s->restart_s * 1000;
    while (soak_now_ms() < end) {
        tick(s, t0, next_sample, "run");
        if (next_restart >= 0 && soak_now_ms() >= next_restart) {
            atomic_store(&s->members[slot].restart, 1);
            slot = (slot + 1) % s->n_members;
            next_restart += (int64_t)s->restart_s * 1000;
        }
        int h = hung_member(s);
        if (h >= 0)
            return h;
    }
    return -1;
}

/* Producing stops; waits for the last delivery reports, then for every acknowledged record to
 * be consumed, up to drain_s each. */
static int
drain_phase(soak *s, int64_t t0, int64_t *next_sample)
{
    atomic_store(&s->stop_produce, 1);
    int64_t deadline = -1;
    for (;;) {
        tick(s, t0, next_sample, "drain");
        int h = hung_member(s);
        if (h >= 0)
            return h;
        if (!atomic_load(&s->produce_done))
            continue;
        if (deadline < 0)
            deadline = soak_now_ms() + (int64_t)s->drain_s * 1000;
        uint64_t missing, extra;
        scan(s, &missing, &extra);
        if (missing == 0 || soak_now_ms() > deadline)
            return -1;
    }
}

/* Members close and leave; a member that does not return in time is hung. */
static int
close_phase(soak *s, int64_t t0, int64_t *next_sample)
{
    atomic_store(&s->stop_all, 1);
    for (;;) {
        int all = 1;
        for (int i = 0; i < s->n_members; i++)
            all &= atomic_load(&s->members[i].done);
        if (all)
            return -1;
        tick(s, t0, next_sample, "close");
        int h = hung_member(s);
        if (h >= 0)
            return h;
    }
}

static int
summary(soak *s, int64_t t0, int hung)
{
    uint64_t missing, extra;
    scan(s, &missing, &extra);
    uint64_t sent = atomic_load(&s->sent), delivered = atomic_load(&s->delivered);
    int64_t live = atomic_load(&s->live_bytes), blocks = atomic_load(&s->live_allocs);
    bool ok = hung < 0 && sent > 0 && delivered == sent && missing == 0 &&
              atomic_load(&s->corrupt) == 0 && atomic_load(&s->unresolved) == 0 &&
              (live == 0 && blocks == 0);
    printf("{\"result\":\"%s\",\"seconds\":%.1f,\"rate\":%d,\"members\":%d,\"sent\":%" PRIu64
           ",\"delivered\":%" PRIu64 ",\"delivery_failed\":%" PRIu64 ",\"resent\":%" PRIu64
           ",\"send_errors\":%" PRIu64 ",\"unresolved\":%" PRIu64 ",\"consumed\":%" PRIu64
           ",\"unique\":%" PRIu64 ",\"missing\":%" PRIu64 ",\"dups\":%" PRIu64
           ",\"consumed_unacked\":%" PRIu64 ",\"corrupt\":%" PRIu64 ",\"foreign\":%" PRIu64
           ",\"inband_errors\":%" PRIu64 ",\"joins\":%" PRIu64 ",\"restarts\":%" PRIu64
           ",\"assigned_cb\":%" PRIu64 ",\"revoked_cb\":%" PRIu64 ",\"lost_cb\":%" PRIu64
           ",\"commits_ok\":%" PRIu64 ",\"commits_failed\":%" PRIu64 ",\"close_errors\":%" PRIu64
           ",\"client_errors\":%" PRIu64 ",\"hung_member\":%d,\"kw_peak_bytes\":%" PRId64
           ",\"kw_live_bytes_end\":%" PRId64 ",\"kw_live_allocs_end\":%" PRId64
           ",\"kw_total_allocs\":%" PRIu64 ",\"rss_kb_end\":%ld,\"wall_s\":%.1f,\"cpu_s\":%.1f,"
           "\"first_error\":\"",
           ok ? "ok" : "fail", s->seconds, s->rate, s->n_members, sent, delivered,
           atomic_load(&s->delivery_failed), atomic_load(&s->resent), atomic_load(&s->send_errors),
           atomic_load(&s->unresolved), atomic_load(&s->consumed), atomic_load(&s->unique), missing,
           atomic_load(&s->dups), extra, atomic_load(&s->corrupt), atomic_load(&s->foreign),
           atomic_load(&s->inband_errors), atomic_load(&s->joins), atomic_load(&s->restarts),
           atomic_load(&s->assigned_cb), atomic_load(&s->revoked_cb), atomic_load(&s->lost_cb),
           atomic_load(&s->commits_ok), atomic_load(&s->commits_failed),
           atomic_load(&s->close_errors), atomic_load(&s->client_errors), hung,
           atomic_load(&s->peak_bytes), live, blocks, atomic_load(&s->total_allocs), rss_kb(),
           (double)(soak_now_ms() - t0) / 1000.0, cpu_s());
    for (const char *p = s->first_error; *p; p++) /* JSON string: escape what needs it */
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if ((unsigned char)*p >= 0x20)
            putchar(*p);
    printf("\"}\n");
    fflush(stdout);
    return ok ? 0 : 1;
}

static void
touch(volatile uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i += 4096)
        p[i] = 0;
}

static bool
setup(soak *s)
{
    /* Room for everything the schedule can send, made resident now so that the tables do not
     * show up as RSS growth during the run. */
    s->max_seq = (uint64_t)(s->seconds * s->rate) + 1000;
    s->seen = calloc(s->max_seq, sizeof(*s->seen));
    s->acked = calloc(s->max_seq, sizeof(*s->acked));
    if (!s->seen || !s->acked)
        return false;
    /* A memset after calloc is removed by the compiler: write each page through a volatile
     * pointer, or the tables fault in while the run goes and look like a leak. */
    touch((volatile uint8_t *)s->seen, s->max_seq * sizeof(*s->seen));
    touch((volatile uint8_t *)s->acked, s->max_seq * sizeof(*s->acked));
    s->alloc = (kw_allocator){c_alloc, c_realloc, c_free, s};
    return true;
}

int
main(int argc, char **argv)
{
    static soak s = {.topic = "soak",
                     .group = "soak",
                     .seconds = 60,
                     .rate = 500,
                     .n_members = 3,
                     .restart_s = 30,
                     .sample_ms = 10000,
                     .drain_s = 120,
                     .value_size = 100};
    if (!parse_args(&s, argc, argv))
        return usage();
    if (!setup(&s)) {
        fprintf(stderr, "kwire-soak: out of memory\n");
        return 1;
    }
    start_ms = soak_now_ms();
    int64_t t0 = start_ms, next_sample = t0 + s.sample_ms;
    pthread_t prod, mem[SOAK_MAX_MEMBERS];
    for (int i = 0; i < s.n_members; i++) {
        s.members[i].s = &s;
        s.members[i].slot = i;
        atomic_store(&s.members[i].active_ms, t0);
        if (pthread_create(&mem[i], NULL, soak_member_main, &s.members[i]) != 0)
            return 1;
    }
    if (pthread_create(&prod, NULL, soak_producer_main, &s) != 0)
        return 1;
    progress(&s, t0, "run");
    int hung = run_phase(&s, t0, &next_sample);
    if (hung < 0)
        hung = drain_phase(&s, t0, &next_sample);
    if (hung < 0)
        hung = close_phase(&s, t0, &next_sample);
    if (hung >= 0) {
        /* A thread is stuck inside kwire: report and leave without joining it. */
        atomic_store(&s.stop_all, 1);
        atomic_store(&s.stop_produce, 1);
        summary(&s, t0, hung);
        _exit(1);
    }
    pthread_join(prod, NULL);
    for (int i = 0; i < s.n_members; i++)
        pthread_join(mem[i], NULL);
    progress(&s, t0, "end");
    int rc = summary(&s, t0, hung);
    free((void *)s.seen);
    free((void *)s.acked);
    return rc;
}
