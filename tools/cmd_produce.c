/* kwire produce and kwire bench produce.
 *
 *     kwire produce -b BROKERS -t TOPIC [-p PARTITION] [-k KEY] [-K DELIM] [-H name=value]...
 *                   [-z CODEC] [-X key=value]... [FILE...]
 *
 * One message per input line (the newline is not part of it), from the files or stdin. -K
 * splits each line at the first DELIM into key and value; -k gives every message the same
 * key. The exit status is 0 only when every message was acknowledged; otherwise the failures
 * are counted and their reasons printed.
 *
 *     kwire bench produce -b BROKERS -t TOPIC -n COUNT -s SIZE [-z CODEC] [-X key=value]...
 *
 * Produces COUNT messages of SIZE bytes with keys k<i % 1000>, acks=all and linger.ms=5 (as
 * ../shared/bench/rdk_bench.c does, so the two compare), and prints the JSON line of
 * ../shared/bench/README.md. The client runs on this thread: no kwire thread is started. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "cmd_consume.h"
#include "cmd_produce.h"
#include "kw_config.h"
#include "kwire/producer.h"

#define MAX_HEADERS 64
#define MAX_REASONS 8

typedef struct tally {
    long ok, failed;
    char reasons[MAX_REASONS][256];
    long reason_n[MAX_REASONS];
    int n_reasons;
} tally;

static void
on_delivery(kw_producer *p, const kw_delivery *d, void *ud)
{
    (void)p;
    tally *t = ud;
    if (d->err == KW_ERR_OK) {
        t->ok++;
        return;
    }
    t->failed++;
    for (int i = 0; i < t->n_reasons; i++)
        if (strcmp(t->reasons[i], d->detail->msg) == 0) {
            t->reason_n[i]++;
            return;
        }
    if (t->n_reasons < MAX_REASONS) {
        snprintf(t->reasons[t->n_reasons], sizeof(t->reasons[0]), "%s", d->detail->msg);
        t->reason_n[t->n_reasons++] = 1;
    }
}

typedef struct opts {
    const char *topic;
    int32_t partition;
    const char *key;
    const char *delim;
    kw_header headers[MAX_HEADERS];
    int32_t n_headers;
    long count;
    long size;
    int first_file;
} opts;

static void
usage(FILE *f, bool bench)
{
    if (bench)
        fprintf(f, "usage: kwire bench produce -b BROKERS -t TOPIC -n COUNT -s SIZE [-z CODEC] "
                   "[-X key=value]...\n");
    else
        fprintf(f, "usage: kwire produce -b BROKERS -t TOPIC [-p PARTITION] [-k KEY] [-K DELIM] "
                   "[-H name=value]... [-z CODEC] [-X key=value]... [FILE...]\n"
                   "  one message per input line (stdin without FILE); -K DELIM splits each "
                   "line into key DELIM value\n");
}

static bool
set(kw_conf *conf, const char *key, const char *val, const char *cmd)
{
    kw_error err;
    kw_error_init(&err);
    if (kw_conf_set(conf, key, val, &err) == KW_ERR_OK)
        return true;
    fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
    return false;
}

static bool
parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Returns 0 when parsed, -1 after --help, else the exit status. */
static int
parse(int argc, char **argv, bool bench, kw_conf *conf, opts *o)
{
    const char *cmd = bench ? "bench produce" : "produce";
    bool have_b = false;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout, bench);
            return -1;
        }
        if (!v || strlen(a) != 2 || !strchr(bench ? "btnszX" : "btpkKHzX", a[1])) {
            fprintf(stderr, "kwire %s: %s '%s'\n", cmd, v ? "unknown option" : "missing value for",
                    a);
            usage(stderr, bench);
            return 2;
        }
        i++;
        long n;
        switch (a[1]) {
        case 'b':
            have_b = true;
            if (!set(conf, "bootstrap.servers", v, cmd))
                return 2;
            break;
        case 't':
            o->topic = v;
            break;
        case 'p':
            if (!parse_long(v, 0, INT32_MAX, &n)) {
                fprintf(stderr, "kwire %s: -p wants a partition number\n", cmd);
                return 2;
            }
            o->partition = (int32_t)n;
            break;
        case 'k':
            o->key = v;
            break;
        case 'K':
            if (!*v) {
                fprintf(stderr, "kwire %s: -K wants a delimiter\n", cmd);
                return 2;
            }
            o->delim = v;
            break;
        case 'H': {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || o->n_headers == MAX_HEADERS) {
                fprintf(stderr, "kwire %s: -H wants name=value (at most %d)\n", cmd, MAX_HEADERS);
                return 2;
            }
            o->headers[o->n_headers].key = (kw_slice){(const uint8_t *)v, (int32_t)(eq - v)};
            o->headers[o->n_headers++].value = kw_slice_str(eq + 1);
            break;
        }
        case 'z':
            if (!set(conf, "compression.type", v, cmd))
                return 2;
            break;
        case 'n':
        case 's':
            if (!parse_long(v, a[1] == 'n' ? 1 : 0, a[1] == 'n' ? 1000000000L : 100000000L, &n)) {
                fprintf(stderr, "kwire %s: %s wants a number\n", cmd, a);
                return 2;
            }
            *(a[1] == 'n' ? &o->count : &o->size) = n;
            break;
        default: { /* -X */
            char key[256];
            const char *eq = strchr(v, '=');
            if (!eq || eq == v || (size_t)(eq - v) >= sizeof(key)) {
                fprintf(stderr, "kwire %s: -X wants key=value\n", cmd);
                return 2;
            }
            memcpy(key, v, (size_t)(eq - v));
            key[eq - v] = '\0';
            if (!set(conf, key, eq + 1, cmd))
                return 2;
        }
        }
    }
    o->first_file = i;
    if (!have_b || !o->topic || (bench && (o->count <= 0 || o->size < 0))) {
        fprintf(stderr, "kwire %s: -b and -t are required%s\n", cmd,
                bench ? ", and -n and -s" : "");
        usage(stderr, bench);
        return 2;
    }
    if (bench && i < argc) {
        fprintf(stderr, "kwire %s: unexpected argument '%s'\n", cmd, argv[i]);
        return 2;
    }
    return 0;
}

/* Creates the client and producer; returns false with a message. */
static bool
start(kw_conf *conf, tally *t, kw_client **c, kw_producer **p, const char *cmd)
{
    kw_error err;
    kw_error_init(&err);
    if (kw_client_new(conf, c, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
        return false;
    }
    kw_producer_opts po;
    kw_producer_opts_init(&po);
    po.on_delivery = on_delivery;
    po.delivery_ud = t;
    if (kw_producer_new(*c, &po, p, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
        kw_client_free(*c);
        return false;
    }
    return true;
}

/* Sends one message, stepping the loop while the queue is full. */
static bool
send_one(kw_producer *p, const kw_message *m, tally *t, const char *cmd)
{
    for (;;) {
        kw_error err; /* set by a failing send */
        kw_err e = kw_producer_send(p, m, &err);
        if (e == KW_ERR_OK)
            return true;
        if (e != KW_ERR_QUEUE_FULL) {
            fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
            t->failed++;
            return false;
        }
        kw_client_step(kw_producer_client(p), 10, NULL);
    }
}

static int
finish(kw_producer *p, kw_client *c, tally *t, const char *cmd, bool quiet)
{
    kw_error err;
    kw_error_init(&err);
    /* Generous: retries are bounded by delivery.timeout.ms anyway. */
    if (kw_producer_flush(p, -1, &err) != KW_ERR_OK)
        fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
    kw_producer_free(p);
    kw_client_free(c);
    if (t->failed == 0)
        return 0;
    if (!quiet) {
        fprintf(stderr, "kwire %s: %ld of %ld messages failed:\n", cmd, t->failed,
                t->failed + t->ok);
        for (int i = 0; i < t->n_reasons; i++)
            fprintf(stderr, "  %ld x %s\n", t->reason_n[i], t->reasons[i]);
    }
    return 1;
}

static bool
produce_stream(kw_producer *p, FILE *f, const opts *o, tally *t)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    bool ok = true;
    while (ok && (len = getline(&line, &cap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        kw_message m;
        kw_message_init(&m);
        m.topic = o->topic;
        m.partition = o->partition;
        m.headers = o->n_headers ? o->headers : NULL;
        m.n_headers = o->n_headers;
        m.value = (kw_slice){(const uint8_t *)line, (int32_t)len};
        if (o->key)
            m.key = kw_slice_str(o->key);
        char *sep = o->delim ? strstr(line, o->delim) : NULL;
        if (sep) {
            m.key = (kw_slice){(const uint8_t *)line, (int32_t)(sep - line)};
            const char *val = sep + strlen(o->delim);
            m.value = (kw_slice){(const uint8_t *)val, (int32_t)(len - (val - line))};
        }
        ok = send_one(p, &m, t, "produce");
        kw_client_step(kw_producer_client(p), 0, NULL);
    }
    free(line);
    return ok;
}

int
cmd_produce(int argc, char **argv)
{
    kw_conf *conf = NULL;
    if (kw_conf_new(NULL, &conf) != KW_ERR_OK) {
        fprintf(stderr, "kwire produce: out of memory\n");
        return 1;
    }
    opts o;
    memset(&o, 0, sizeof(o));
    o.partition = KW_PARTITION_ANY;
    int rc = parse(argc, argv, false, conf, &o);
    if (rc != 0) {
        kw_conf_free(conf);
        return rc < 0 ? 0 : rc;
    }
    tally t;
    memset(&t, 0, sizeof(t));
    kw_client *c;
    kw_producer *p;
    if (!start(conf, &t, &c, &p, "produce"))
        return 1;
    bool ok = true;
    if (o.first_file >= argc)
        ok = produce_stream(p, stdin, &o, &t);
    for (int i = o.first_file; ok && i < argc; i++) {
        FILE *f = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "r");
        if (!f) {
            fprintf(stderr, "kwire produce: cannot open %s\n", argv[i]);
            ok = false;
            t.failed++;
            break;
        }
        ok = produce_stream(p, f, &o, &t);
        if (f != stdin)
            fclose(f);
    }
    return finish(p, c, &t, "produce", false);
}

static double
mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
cmd_bench(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "consume") == 0)
        return cmd_bench_consume(argc - 1, argv + 1);
    if (argc < 2 || strcmp(argv[1], "produce") != 0) {
        fprintf(stderr, "kwire bench: use 'bench produce' or 'bench consume'\n");
        usage(stderr, true);
        return 2;
    }
    kw_conf *conf = NULL;
    if (kw_conf_new(NULL, &conf) != KW_ERR_OK)
        return 1;
    opts o;
    memset(&o, 0, sizeof(o));
    o.partition = KW_PARTITION_ANY;
    o.count = -1;
    o.size = -1;
    /* rdk_bench's settings, which -X may override. */
    if (!set(conf, "acks", "all", "bench") || !set(conf, "linger.ms", "5", "bench")) {
        kw_conf_free(conf);
        return 1;
    }
    int rc = parse(argc - 1, argv + 1, true, conf, &o);
    if (rc != 0) {
        kw_conf_free(conf);
        return rc < 0 ? 0 : rc;
    }
    tally t;
    memset(&t, 0, sizeof(t));
    kw_client *c;
    kw_producer *p;
    if (!start(conf, &t, &c, &p, "bench produce"))
        return 1;
    char *buf = malloc(o.size ? (size_t)o.size : 1);
    if (!buf)
        return 1;
    for (long i = 0; i < o.size; i++)
        buf[i] = (char)('a' + (i * 7 + i / 13) % 26);
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = mono_s();
    char key[32];
    for (long i = 0; i < o.count; i++) {
        int kl = snprintf(key, sizeof(key), "k%ld", i % 1000);
        kw_message m;
        kw_message_init(&m);
        m.topic = o.topic;
        m.key = (kw_slice){(const uint8_t *)key, kl};
        m.value = (kw_slice){(const uint8_t *)buf, (int32_t)o.size};
        if (!send_one(p, &m, &t, "bench produce"))
            break;
        if ((i & 1023) == 0)
            kw_client_step(c, 0, NULL);
    }
    kw_error err;
    kw_producer_flush(p, -1, &err);
    double wall = mono_s() - t0;
    getrusage(RUSAGE_SELF, &r1);
    double cpu = (double)(r1.ru_utime.tv_sec - r0.ru_utime.tv_sec) +
                 (double)(r1.ru_utime.tv_usec - r0.ru_utime.tv_usec) / 1e6 +
                 (double)(r1.ru_stime.tv_sec - r0.ru_stime.tv_sec) +
                 (double)(r1.ru_stime.tv_usec - r0.ru_stime.tv_usec) / 1e6;
    long n = t.ok;
    printf("{\"client\":\"kwire-%s\",\"mode\":\"produce\",\"count\":%ld,\"bytes\":%ld,"
           "\"wall_s\":%.3f,\"msgs_per_s\":%.0f,\"cpu_s\":%.3f,\"cpu_us_per_msg\":%.3f,"
           "\"maxrss_kb\":%ld,\"failed\":%ld}\n",
           KW_VERSION, n, n * o.size, wall, wall > 0 ? (double)n / wall : 0.0, cpu,
           n ? cpu * 1e6 / (double)n : 0.0, r1.ru_maxrss, t.failed);
    free(buf);
    return finish(p, c, &t, "bench produce", false);
}
