/* kwire bench consume: the consumer half of the side-by-side benchmark.
 *
 *     kwire bench consume -b BROKERS -t TOPIC -n COUNT [-G GROUP] [-X key=value]... [-F FILE]
 *
 * A consumer group member (a fresh group id unless -G, so every run reads from the start)
 * with auto.offset.reset=earliest subscribes to TOPIC and consumes COUNT records, then prints
 * the JSON line of ../shared/bench/README.md. It measures what ../shared/bench/rdk_bench.c
 * measures, so the two compare field by field:
 *   - wall_s runs from the first record received to the COUNT-th (joining the group and the
 *     first fetch are not counted, as in rdk_bench);
 *   - bytes is the sum of the values' lengths;
 *   - cpu_s is the process's whole user+system CPU time (getrusage), as rdk_bench reports it.
 * `failed` counts in-band errors (the consumer goes on after them). When no record arrives for
 * 60 s the run stops: the line reports what was read and the exit status is 1. The client runs
 * on this thread: no kwire thread. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli_conf.h"
#include "cmd_consume.h"
#include "kw_config.h"

#define BATCH        1024
#define IDLE_LIMIT_S 60.0

typedef struct bopts {
    const char *topic;
    long count;
    const char *group;
} bopts;

static volatile sig_atomic_t bench_stop;

static void
on_signal(int s)
{
    (void)s;
    bench_stop = 1;
}

static double
now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: kwire bench consume -b BROKERS -t TOPIC -n COUNT [-G GROUP] "
               "[-X key=value]... [-F FILE]\n"
               "  consumes COUNT records as a new consumer group from the earliest offset and\n"
               "  prints one JSON line (client, mode, count, bytes, wall_s, msgs_per_s, cpu_s,\n"
               "  cpu_us_per_msg, maxrss_kb, failed)\n");
}

static bool
set(kw_conf *conf, const char *key, const char *val)
{
    kw_error err;
    kw_error_init(&err);
    if (kw_conf_set(conf, key, val, &err) == KW_ERR_OK)
        return true;
    fprintf(stderr, "kwire bench consume: %s\n", err.msg);
    return false;
}

/* Returns 0 when parsed, -1 after --help, else the exit status. */
static int
parse(int argc, char **argv, kw_conf *conf, bopts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return -1;
        }
        if (strlen(a) != 2 || a[0] != '-' || !strchr("btnGXF", a[1])) {
            fprintf(stderr,
                    "kwire bench consume: unknown option '%s' (kwire bench consume --help)\n", a);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "kwire bench consume: %s wants a value\n", a);
            return 2;
        }
        i++;
        char *end;
        switch (a[1]) {
        case 't':
            o->topic = v;
            break;
        case 'G':
            o->group = v;
            break;
        case 'n':
            o->count = strtol(v, &end, 10);
            if (!*v || *end || o->count <= 0 || o->count > 1000000000L) {
                fprintf(stderr, "kwire bench consume: -n wants a count > 0, got '%s'\n", v);
                return 2;
            }
            break;
        default:
            if (!kwt_cli_conf_opt(conf, "bench consume", a[1], v))
                return 2;
        }
    }
    if (!kwt_cli_have_bootstrap(conf) || !o->topic || o->count <= 0) {
        fprintf(stderr, "kwire bench consume: -b, -t and -n are required\n");
        return 2;
    }
    return 0;
}

typedef struct tally {
    long n, failed;
    long long bytes;
    double t0, t1;
} tally;

/* Polls until COUNT records, a signal or IDLE_LIMIT_S without a record. */
static kw_err
run(kw_consumer *k, const bopts *o, tally *t, kw_error *err)
{
    kw_consumer_msg *m[BATCH];
    bool tty = isatty(2);
    double last = now_s(), shown = last;
    while (t->n < o->count && !bench_stop) {
        size_t max = (size_t)(o->count - t->n) < BATCH ? (size_t)(o->count - t->n) : BATCH;
        size_t n = 0;
        kw_err e = kw_consumer_poll(k, m, max, 500, &n, err);
        if (e != KW_ERR_OK)
            return e;
        double now = now_s();
        for (size_t i = 0; i < n; i++) {
            if (m[i]->err != KW_ERR_OK) {
                t->failed++;
                continue;
            }
            if (t->n++ == 0)
                t->t0 = now;
            t->bytes += m[i]->value.len > 0 ? m[i]->value.len : 0;
        }
        kw_consumer_msgs_release(m, n);
        if (n)
            last = now;
        else if (now - last > IDLE_LIMIT_S)
            return kw_error_set(err, KW_ERR_TIMED_OUT, "no record for %.0f s", IDLE_LIMIT_S);
        if (tty && now - shown >= 1.0) {
            shown = now;
            fprintf(stderr, "\r\033[Kkwire bench consume: %ld of %ld", t->n, o->count);
        }
    }
    t->t1 = now_s();
    if (tty)
        fprintf(stderr, "\r\033[K");
    return KW_ERR_OK;
}

static void
report(const tally *t)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    double wall = t->n ? t->t1 - t->t0 : 0.0;
    printf("{\"client\":\"kwire-%s\",\"mode\":\"consume\",\"count\":%ld,\"bytes\":%lld,"
           "\"wall_s\":%.3f,\"msgs_per_s\":%.0f,\"cpu_s\":%.3f,\"cpu_us_per_msg\":%.3f,"
           "\"maxrss_kb\":%ld,\"failed\":%ld}\n",
           KW_VERSION, t->n, t->bytes, wall, wall > 0 ? (double)t->n / wall : 0.0, cpu,
           t->n ? cpu * 1e6 / (double)t->n : 0.0, ru.ru_maxrss, t->failed);
    fflush(stdout);
}

int
cmd_bench_consume(int argc, char **argv)
{
    kw_conf *conf = NULL;
    if (kw_conf_new(NULL, &conf) != KW_ERR_OK)
        return 1;
    bopts o = {NULL, 0, NULL};
    int rc = parse(argc, argv, conf, &o);
    char gid[64];
    if (rc == 0 && !o.group) {
        snprintf(gid, sizeof(gid), "kwire-bench-%ld-%ld", (long)getpid(), (long)time(NULL));
        o.group = gid;
    }
    if (rc == 0 && (!set(conf, "group.id", o.group) || !set(conf, "auto.offset.reset", "earliest")))
        rc = 2;
    if (rc != 0) {
        kw_conf_free(conf);
        return rc < 0 ? 0 : rc;
    }
    kw_error err;
    kw_error_init(&err);
    kw_client *c = NULL;
    kw_consumer *k = NULL;
    if (kw_client_new(conf, &c, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire bench consume: %s\n", err.msg);
        return 2;
    }
    if (kw_consumer_new(c, NULL, &k, &err) != KW_ERR_OK ||
        kw_consumer_subscribe(k, &o.topic, 1, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire bench consume: %s\n", err.msg);
        kw_consumer_free(k);
        kw_client_free(c);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    tally t;
    memset(&t, 0, sizeof(t));
    kw_err e = run(k, &o, &t, &err);
    if (e != KW_ERR_OK)
        t.t1 = now_s();
    report(&t);
    int status = t.n == o.count && t.failed == 0 ? 0 : 1;
    if (e != KW_ERR_OK)
        fprintf(stderr, "kwire bench consume: %s (read %ld of %ld)\n", err.msg, t.n, o.count);
    else if (t.n < o.count)
        fprintf(stderr, "kwire bench consume: interrupted after %ld of %ld\n", t.n, o.count);
    if (kw_consumer_close(k, 10000, &err) != KW_ERR_OK)
        fprintf(stderr, "kwire bench consume: leaving the group: %s\n", err.msg);
    kw_consumer_free(k);
    kw_client_free(c);
    return status;
}
