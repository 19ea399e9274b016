/* kwire produce and kwire bench produce.
 *
 *     kwire produce -b BROKERS -t TOPIC [-p PARTITION] [-k KEY] [-K DELIM] [-H name=value]...
 *                   [-z CODEC] [-c COUNT] [-J] [-X key=value]... [-F FILE] [FILE...]
 *
 * One message per input line (the newline is not part of it), from the files or stdin. -K
 * splits each line at the first DELIM (kcat's escapes: \t, \n, \xHH ...) into key and value;
 * -k gives every message the same key (and the key of lines without DELIM). -c stops after
 * COUNT messages. -J prints one JSON line per delivery report on stdout (where each message
 * landed, or why it failed). The exit status is 0 only when every message was acknowledged;
 * otherwise the failures are counted and their reasons printed.
 *
 *     kwire bench produce -b BROKERS -t TOPIC -n COUNT -s SIZE [-z CODEC] [-X key=value]...
 *                         [-F FILE]
 *
 * Produces COUNT messages of SIZE bytes with keys k<i % 1000>, acks=all and linger.ms=5 (as
 * ../shared/bench/rdk_bench.c does, so the two compare), and prints the JSON line of
 * ../shared/bench/README.md.
 *
 * Both show progress on stderr, once a second and a last line at the end, only when stderr is
 * a terminal, so pipes and logs stay clean. The client runs on this thread: no kwire thread. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli_conf.h"
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
    bool json; /* -J: a JSON line per report on stdout */
} tally;

typedef struct opts {
    const char *topic;
    int32_t partition;
    const char *key;
    char delim[64]; /* -K, escapes resolved */
    long delim_len; /* 0: no -K */
    kw_header headers[MAX_HEADERS];
    int32_t n_headers;
    long count; /* produce -c, bench -n; -1: no limit */
    long size;
    int first_file;
    bool json;
} opts;

/* Progress on a terminal: "\r" rewrites one line, a newline ends it. */
typedef struct progress {
    bool on;
    double last;
    const char *cmd;
} progress;

static double
mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
show_progress(progress *pg, long sent, const tally *t, bool last)
{
    double now = mono_s();
    if (!pg->on || (!last && now - pg->last < 1.0))
        return;
    pg->last = now;
    fprintf(stderr, "\r\033[Kkwire %s: %ld sent, %ld delivered, %ld failed%s", pg->cmd, sent, t->ok,
            t->failed, last ? "\n" : "");
}

static void
json_report(const kw_delivery *d)
{
    printf("{\"topic\":");
    kwt_json_str(stdout, d->topic);
    printf(",\"partition\":%" PRId32 ",\"offset\":%" PRId64 ",\"ts\":%" PRId64
           ",\"msgno\":%lu,\"error\":",
           d->partition, d->offset, d->timestamp, (unsigned long)(uintptr_t)d->opaque);
    if (d->err == KW_ERR_OK) {
        printf("null}\n");
        return;
    }
    kwt_json_str(stdout, kw_err_name(d->err));
    printf(",\"reason\":");
    kwt_json_str(stdout, d->detail->msg);
    printf("}\n");
}

/* Counts a failure and keeps its reason (the first few distinct ones). */
static void
add_failure(tally *t, const char *why)
{
    t->failed++;
    for (int i = 0; i < t->n_reasons; i++)
        if (strcmp(t->reasons[i], why) == 0) {
            t->reason_n[i]++;
            return;
        }
    if (t->n_reasons < MAX_REASONS) {
        snprintf(t->reasons[t->n_reasons], sizeof(t->reasons[0]), "%s", why);
        t->reason_n[t->n_reasons++] = 1;
    }
}

static void
on_delivery(kw_producer *p, const kw_delivery *d, void *ud)
{
    (void)p;
    tally *t = ud;
    if (t->json)
        json_report(d);
    if (d->err == KW_ERR_OK)
        t->ok++;
    else
        add_failure(t, d->detail->msg);
}

static void
usage(FILE *f, bool bench)
{
    if (bench) {
        fprintf(f, "usage: kwire bench produce -b BROKERS -t TOPIC -n COUNT -s SIZE [options]\n"
                   "  -n COUNT      messages to send\n"
                   "  -s SIZE       bytes per value\n"
                   "  -z CODEC      compression: none, gzip, snappy, lz4, zstd\n"
                   "  -X key=value  a client property (repeatable); -F FILE a properties file\n"
                   "  prints one JSON line (client, mode, count, bytes, wall_s, msgs_per_s,\n"
                   "  cpu_s, cpu_us_per_msg, maxrss_kb, failed)\n");
        return;
    }
    fprintf(f, "usage: kwire produce -b BROKERS -t TOPIC [options] [FILE...]\n"
               "  one message per input line of the FILEs ('-' is stdin), else of stdin\n"
               "  -p PARTITION  send to this partition (default: the partitioner)\n"
               "  -k KEY        the key of every message\n"
               "  -K DELIM      split each line into key DELIM value (escapes \\t \\xHH ...)\n"
               "  -H name=value a header on every message (repeatable)\n"
               "  -z CODEC      compression: none, gzip, snappy, lz4, zstd\n"
               "  -c COUNT      stop after COUNT messages\n"
               "  -J            one JSON line per delivery report on stdout\n"
               "  -X key=value  a client property (repeatable); -F FILE a properties file\n");
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

/* One option with its value; false after printing why. */
static bool
parse_opt(char opt, const char *v, kw_conf *conf, opts *o, const char *cmd)
{
    long n;
    switch (opt) {
    case 't':
        o->topic = v;
        return true;
    case 'p':
        if (parse_long(v, 0, INT32_MAX, &n)) {
            o->partition = (int32_t)n;
            return true;
        }
        fprintf(stderr, "kwire %s: -p wants a partition number, got '%s'\n", cmd, v);
        return false;
    case 'k':
        o->key = v;
        return true;
    case 'K':
        o->delim_len = kwt_unescape(v, o->delim, sizeof(o->delim));
        if (o->delim_len > 0)
            return true;
        fprintf(stderr, "kwire %s: -K wants a delimiter (at most %zu bytes)\n", cmd,
                sizeof(o->delim));
        return false;
    case 'H': {
        const char *eq = strchr(v, '=');
        if (!eq || eq == v || o->n_headers == MAX_HEADERS) {
            fprintf(stderr, "kwire %s: -H wants name=value (at most %d), got '%s'\n", cmd,
                    MAX_HEADERS, v);
            return false;
        }
        o->headers[o->n_headers].key = (kw_slice){(const uint8_t *)v, (int32_t)(eq - v)};
        o->headers[o->n_headers++].value = kw_slice_str(eq + 1);
        return true;
    }
    case 'z':
        return set(conf, "compression.type", v, cmd);
    case 'c':
    case 'n':
        if (parse_long(v, 1, 1000000000L, &o->count))
            return true;
        fprintf(stderr, "kwire %s: -%c wants a count > 0, got '%s'\n", cmd, opt, v);
        return false;
    case 's':
        if (parse_long(v, 0, 100000000L, &o->size))
            return true;
        fprintf(stderr, "kwire %s: -s wants a size in bytes, got '%s'\n", cmd, v);
        return false;
    default: /* b, X, F */
        return kwt_cli_conf_opt(conf, cmd, opt, v);
    }
}

/* Returns 0 when parsed, -1 after --help, else the exit status. Errors are one line. */
static int
parse(int argc, char **argv, bool bench, kw_conf *conf, opts *o)
{
    const char *cmd = bench ? "bench produce" : "produce";
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1]; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout, bench);
            return -1;
        }
        if (!bench && strcmp(a, "-J") == 0) {
            o->json = true;
            continue;
        }
        if (strlen(a) != 2 || !strchr(bench ? "btnszXF" : "btpkKHzcXF", a[1])) {
            fprintf(stderr, "kwire %s: unknown option '%s' (kwire %s --help)\n", cmd, a, cmd);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "kwire %s: %s wants a value\n", cmd, a);
            return 2;
        }
        if (!parse_opt(a[1], argv[++i], conf, o, cmd))
            return 2;
    }
    o->first_file = i;
    const char *why = NULL;
    if (!kwt_cli_have_bootstrap(conf))
        why = "-b BROKERS is required";
    else if (!o->topic)
        why = "-t TOPIC is required";
    else if (bench && (o->count <= 0 || o->size < 0))
        why = "-n COUNT and -s SIZE are required";
    if (why) {
        fprintf(stderr, "kwire %s: %s\n", cmd, why);
        return 2;
    }
    if (bench && i < argc) {
        fprintf(stderr, "kwire %s: unexpected argument '%s'\n", cmd, argv[i]);
        return 2;
    }
    return 0;
}

/* Creates the client and producer; returns the exit status of a failure (the reason on
 * stderr: 2 for a configuration the client refuses), else 0. */
static int
start(kw_conf *conf, tally *t, kw_client **c, kw_producer **p, const char *cmd)
{
    kw_error err;
    kw_error_init(&err);
    if (kw_client_new(conf, c, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
        return 2;
    }
    kw_producer_opts po;
    kw_producer_opts_init(&po);
    po.on_delivery = on_delivery;
    po.delivery_ud = t;
    if (kw_producer_new(*c, &po, p, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
        kw_client_free(*c);
        return err.code == KW_ERR_CONFIG ? 2 : 1;
    }
    return 0;
}

/* Sends one message, stepping the loop while the queue is full (back-pressure). A message
 * the producer refuses ends the run: it counts as failed, with its reason. */
static bool
send_one(kw_producer *p, const kw_message *m, tally *t)
{
    for (;;) {
        kw_error err; /* set by a failing send */
        kw_err e = kw_producer_send(p, m, &err);
        if (e == KW_ERR_OK)
            return true;
        if (e != KW_ERR_QUEUE_FULL) {
            add_failure(t, err.msg);
            return false;
        }
        kw_client_step(kw_producer_client(p), 10, NULL);
    }
}

/* Waits for every report (each ends by delivery.timeout.ms), showing progress. */
static void
drain(kw_producer *p, progress *pg, long sent, tally *t)
{
    kw_error err;
    kw_error_init(&err);
    kw_producer_flush(p, 0, &err); /* send what lingers now */
    while (kw_producer_outstanding(p) > 0) {
        if (kw_client_step(kw_producer_client(p), 100, &err) != KW_ERR_OK) {
            fprintf(stderr, "kwire %s: %s\n", pg->cmd, err.msg);
            break;
        }
        show_progress(pg, sent, t, false);
    }
    show_progress(pg, sent, t, true);
}

static int
finish(kw_producer *p, kw_client *c, tally *t, const char *cmd)
{
    kw_producer_free(p);
    kw_client_free(c);
    fflush(stdout);
    if (t->failed == 0)
        return 0;
    /* One line, however many messages failed: the count, then each distinct reason. */
    fprintf(stderr, "kwire %s: %ld of %ld messages failed:", cmd, t->failed, t->failed + t->ok);
    for (int i = 0; i < t->n_reasons; i++)
        fprintf(stderr, "%s %ld x %s", i ? ";" : "", t->reason_n[i], t->reasons[i]);
    fputc('\n', stderr);
    return 1;
}

/* Produces the lines of f; false when a send failed or -c is reached. */
static bool
produce_stream(kw_producer *p, FILE *f, const opts *o, tally *t, long *sent, progress *pg)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    bool ok = true;
    while (ok && (o->count < 0 || *sent < o->count) && (len = getline(&line, &cap, f)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            line[--len] = '\0';
        kw_message m;
        kw_message_init(&m);
        m.topic = o->topic;
        m.partition = o->partition;
        m.headers = o->n_headers ? o->headers : NULL;
        m.n_headers = o->n_headers;
        m.value = (kw_slice){(const uint8_t *)line, (int32_t)len};
        m.opaque = (void *)(uintptr_t)(*sent + 1);
        if (o->key)
            m.key = kw_slice_str(o->key);
        const char *sep =
            o->delim_len ? memmem(line, (size_t)len, o->delim, (size_t)o->delim_len) : NULL;
        if (sep) {
            m.key = (kw_slice){(const uint8_t *)line, (int32_t)(sep - line)};
            const char *val = sep + o->delim_len;
            m.value = (kw_slice){(const uint8_t *)val, (int32_t)(len - (val - line))};
        }
        ok = send_one(p, &m, t);
        *sent += ok;
        kw_client_step(kw_producer_client(p), 0, NULL);
        show_progress(pg, *sent, t, false);
    }
    free(line);
    return ok && (o->count < 0 || *sent < o->count);
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
    o.count = -1;
    int rc = parse(argc, argv, false, conf, &o);
    if (rc != 0) {
        kw_conf_free(conf);
        return rc < 0 ? 0 : rc;
    }
    tally t;
    memset(&t, 0, sizeof(t));
    t.json = o.json;
    kw_client *c;
    kw_producer *p;
    if ((rc = start(conf, &t, &c, &p, "produce")) != 0)
        return rc;
    progress pg = {isatty(2) == 1, mono_s(), "produce"};
    long sent = 0;
    bool more = true, input_failed = false;
    if (o.first_file >= argc)
        more = produce_stream(p, stdin, &o, &t, &sent, &pg);
    for (int i = o.first_file; more && i < argc; i++) {
        FILE *f = strcmp(argv[i], "-") == 0 ? stdin : fopen(argv[i], "r");
        if (!f) {
            fprintf(stderr, "kwire produce: cannot open %s: %s\n", argv[i], strerror(errno));
            input_failed = true;
            break;
        }
        more = produce_stream(p, f, &o, &t, &sent, &pg);
        if (f != stdin)
            fclose(f);
    }
    drain(p, &pg, sent, &t);
    rc = finish(p, c, &t, "produce");
    return input_failed ? 1 : rc;
}

static double
cpu_s(const struct rusage *a, const struct rusage *b)
{
    return (double)(b->ru_utime.tv_sec - a->ru_utime.tv_sec) +
           (double)(b->ru_utime.tv_usec - a->ru_utime.tv_usec) / 1e6 +
           (double)(b->ru_stime.tv_sec - a->ru_stime.tv_sec) +
           (double)(b->ru_stime.tv_usec - a->ru_stime.tv_usec) / 1e6;
}

/* The benchmark loop: COUNT messages of SIZE bytes, then every report. */
static void
bench_run(kw_producer *p, const opts *o, const char *buf, tally *t, progress *pg)
{
    char key[32];
    long i = 0;
    /* The loop steps the client every 1024 messages or 256 KiB of values, whichever comes
     * first: a single-threaded client sends only while its loop runs, so with large values a
     * count alone would leave megabytes queued between steps with the connection idle. */
    long since = 0;
    for (; i < o->count; i++) {
        int kl = snprintf(key, sizeof(key), "k%ld", i % 1000);
        kw_message m;
        kw_message_init(&m);
        m.topic = o->topic;
        m.key = (kw_slice){(const uint8_t *)key, kl};
        m.value = (kw_slice){(const uint8_t *)buf, (int32_t)o->size};
        if (!send_one(p, &m, t))
            break;
        since += o->size + kl;
        if ((i & 1023) == 0 || since >= 256 * 1024) {
            since = 0;
            kw_client_step(kw_producer_client(p), 0, NULL);
            show_progress(pg, i + 1, t, false);
        }
    }
    drain(p, pg, i, t);
}

int
cmd_bench(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "consume") == 0)
        return cmd_bench_consume(argc - 1, argv + 1);
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: kwire bench produce|consume -b BROKERS -t TOPIC -n COUNT [options]\n"
               "  (kwire bench produce --help, kwire bench consume --help)\n");
        return 0;
    }
    if (argc < 2) {
        fprintf(stderr, "kwire bench: which one: produce or consume? (kwire bench --help)\n");
        return 2;
    }
    if (strcmp(argv[1], "produce") != 0) {
        fprintf(stderr, "kwire bench: unknown benchmark '%s' (produce or consume)\n", argv[1]);
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
    /* rdk_bench's settings, which -X may override: acks and linger.ms it sets, batch.size
     * is librdkafka's default (1,000,000 bytes per partition's batch, against Java's 16384
     * that kwire keeps as its own default; docs/producer.md). */
    if (!set(conf, "acks", "all", "bench produce") ||
        !set(conf, "linger.ms", "5", "bench produce") ||
        !set(conf, "batch.size", "1000000", "bench produce")) {
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
    if ((rc = start(conf, &t, &c, &p, "bench produce")) != 0)
        return rc;
    char *buf = malloc(o.size ? (size_t)o.size : 1);
    if (!buf) {
        fprintf(stderr, "kwire bench produce: out of memory\n");
        kw_producer_free(p);
        kw_client_free(c);
        return 1;
    }
    for (long i = 0; i < o.size; i++)
        buf[i] = (char)('a' + (i * 7 + i / 13) % 26);
    progress pg = {isatty(2) == 1, mono_s(), "bench produce"};
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = mono_s();
    bench_run(p, &o, buf, &t, &pg);
    double wall = mono_s() - t0;
    getrusage(RUSAGE_SELF, &r1);
    double cpu = cpu_s(&r0, &r1);
    long n = t.ok;
    printf("{\"client\":\"kwire-%s\",\"mode\":\"produce\",\"count\":%ld,\"bytes\":%ld,"
           "\"wall_s\":%.3f,\"msgs_per_s\":%.0f,\"cpu_s\":%.3f,\"cpu_us_per_msg\":%.3f,"
           "\"maxrss_kb\":%ld,\"failed\":%ld}\n",
           KW_VERSION, n, n * o.size, wall, wall > 0 ? (double)n / wall : 0.0, cpu,
           n ? cpu * 1e6 / (double)n : 0.0, r1.ru_maxrss, t.failed);
    free(buf);
    return finish(p, c, &t, "bench produce");
}
