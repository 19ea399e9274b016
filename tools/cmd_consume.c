/* kwire consume: read a topic to stdout, in kcat's spirit.
 *
 *     kwire consume -b BROKERS -t TOPIC [-p PARTITION] [-o OFFSET] [-c COUNT] [-e]
 *                   [-G GROUP [TOPIC...]] [-f FORMAT | -J] [-K DELIM] [-D DELIM] [-v]
 *                   [-X key=value]... [-F FILE]
 *
 * Without -G the consumer assigns itself every partition of the topics (or only -p) and starts
 * at -o: beginning (the default), end, stored, an absolute offset, -N (N records before the
 * end of each partition, never before its start) or s@TIMESTAMP_MS (the first record at or
 * after that time). With -G it is a member of that consumer group: the group assigns the
 * partitions, each starts at its committed offset (else beginning/end as -o says, else
 * auto.offset.reset), offsets are committed as they are printed (auto commit) and once more on
 * the way out, and the member leaves the group cleanly.
 *
 * The loop never asks the consumer for more messages than it will print (-c), so "handed to
 * the application" and "printed" are the same thing and the commit on exit is exact.
 * SIGINT and SIGTERM end the loop cleanly (exit 0); a second signal kills at once. Exit status:
 * 0, 1 for a runtime error (one line on stderr), 2 for a usage or configuration error. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_conf.h"
#include "cmd_consume.h"

#define MAX_TOPICS           64
#define BATCH                256
#define SETUP_TIMEOUT_MS     30000
#define CLOSE_TIMEOUT_MS     10000
#define UNKNOWN_TOPIC_WAIT_S 5.0

typedef enum off_kind { OFF_BEGINNING, OFF_END, OFF_STORED, OFF_ABS, OFF_TAIL, OFF_TIME } off_kind;

typedef struct copts {
    const char *topics[MAX_TOPICS];
    size_t n_topics;
    int32_t partition; /* -1: every partition */
    off_kind off;
    bool off_given;
    int64_t off_val;
    long count; /* -1: no limit */
    bool exit_eof, json, verbose;
    const char *group;
    const char *fmt_s, *kdelim_s, *delim_s;
    kwt_fmt fmt;
} copts;

typedef struct cpart {
    char topic[256];
    int32_t partition;
    bool eof;
} cpart;

typedef struct crun {
    copts *o;
    kw_client *c;
    kw_consumer *k;
    cpart *parts;
    size_t n_parts, cap;
    long printed;
    bool md_done, md_retry;
    int16_t md_code;      /* the error that made md_retry */
    const char *md_topic; /* ... and its topic */
    bool progress;
    double last_progress;
    int status;
} crun;

static volatile sig_atomic_t stop_sig;

static void
on_signal(int s)
{
    stop_sig = s;
    signal(s, SIG_DFL); /* a second signal ends the process at once */
}

static double
mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: kwire consume -b BROKERS -t TOPIC [options]\n"
            "       kwire consume -b BROKERS -G GROUP [-t TOPIC] [TOPIC...] [options]\n"
            "  -t TOPIC      topic to read (repeatable)\n"
            "  -p PARTITION  only this partition (not with -G)\n"
            "  -o OFFSET     beginning (default) | end | stored | N | -N (N before the end)\n"
            "                | s@TIMESTAMP_MS; with -G only beginning | end | stored\n"
            "  -c COUNT      exit after COUNT messages\n"
            "  -e            exit when every assigned partition reached its end\n"
            "  -G GROUP      consume as a member of GROUP, committing offsets\n"
            "  -f FORMAT     kcat's tokens: %%s %%S %%R %%k %%K %%T %%h %%t %%p %%o %%%%, escapes "
            "\\n \\r \\t \\0 \\xHH\n"
            "  -J            one JSON object per message (kcat -J's fields)\n"
            "  -K DELIM      print the key, DELIM, then the value\n"
            "  -D DELIM      message delimiter (default \\n)\n"
            "  -v            report assignments and partition ends on stderr\n"
            "  -X key=value  a client property (repeatable); -F FILE a properties file\n");
}

static bool
parse_i64(const char *s, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool
parse_offset(const char *v, copts *o)
{
    o->off_given = true;
    if (strcmp(v, "beginning") == 0)
        o->off = OFF_BEGINNING;
    else if (strcmp(v, "end") == 0)
        o->off = OFF_END;
    else if (strcmp(v, "stored") == 0)
        o->off = OFF_STORED;
    else if (strncmp(v, "s@", 2) == 0) {
        o->off = OFF_TIME;
        return parse_i64(v + 2, 0, INT64_MAX, &o->off_val);
    } else if (v[0] == '-') {
        o->off = OFF_TAIL;
        return parse_i64(v + 1, 1, INT64_MAX, &o->off_val);
    } else {
        o->off = OFF_ABS;
        return parse_i64(v, 0, INT64_MAX, &o->off_val);
    }
    return true;
}

static bool
add_topic(copts *o, const char *t)
{
    if (o->n_topics == MAX_TOPICS || !*t) {
        fprintf(stderr, "kwire consume: %s\n", *t ? "too many topics" : "empty topic name");
        return false;
    }
    o->topics[o->n_topics++] = t;
    return true;
}

/* One option with its value; false after printing why. */
static bool
parse_opt(char opt, const char *v, kw_conf *conf, copts *o)
{
    int64_t n;
    switch (opt) {
    case 'b':
    case 'X':
    case 'F':
        return kwt_cli_conf_opt(conf, "consume", opt, v);
    case 't':
        return add_topic(o, v);
    case 'p':
        if (!parse_i64(v, 0, INT32_MAX, &n)) {
            fprintf(stderr, "kwire consume: -p wants a partition number, got '%s'\n", v);
            return false;
        }
        o->partition = (int32_t)n;
        return true;
    case 'o':
        if (!parse_offset(v, o)) {
            fprintf(stderr,
                    "kwire consume: -o wants beginning, end, stored, N, -N or s@MS, got '%s'\n", v);
            return false;
        }
        return true;
    case 'c':
        if (!parse_i64(v, 1, INT32_MAX, &n)) {
            fprintf(stderr, "kwire consume: -c wants a count > 0, got '%s'\n", v);
            return false;
        }
        o->count = (long)n;
        return true;
    case 'G': {
        kw_error err;
        kw_error_init(&err);
        o->group = v;
        if (kw_conf_set(conf, "group.id", v, &err) == KW_ERR_OK)
            return true;
        fprintf(stderr, "kwire consume: -G: %s\n", err.msg);
        return false;
    }
    case 'f':
        o->fmt_s = v;
        return true;
    case 'K':
        o->kdelim_s = v;
        return true;
    default: /* 'D' */
        o->delim_s = v;
        return true;
    }
}

/* Checks what the options mean together and builds the output format. */
static bool
check_opts(copts *o, kw_conf *conf)
{
    const char *why = NULL;
    char buf[256];
    if (!kwt_cli_have_bootstrap(conf))
        why = "-b BROKERS is required";
    else if (o->n_topics == 0)
        why = "no topic: give -t TOPIC (or topics after -G GROUP)";
    else if (o->group && o->partition >= 0)
        why = "-p does not go with -G: the group assigns the partitions";
    else if (o->group && o->off_given && o->off != OFF_BEGINNING && o->off != OFF_END &&
             o->off != OFF_STORED)
        why = "with -G, -o takes only beginning, end or stored";
    else if (o->fmt_s && o->json)
        why = "-f and -J do not go together";
    if (why) {
        fprintf(stderr, "kwire consume: %s\n", why);
        return false;
    }
    if (o->fmt_s)
        return kwt_fmt_parse(&o->fmt, o->fmt_s, buf, sizeof(buf)) ||
               (fprintf(stderr, "kwire consume: %s\n", buf), false);
    char kd[256], d[256];
    long kl = o->kdelim_s ? kwt_unescape(o->kdelim_s, kd, sizeof(kd)) : 0;
    long dl = kwt_unescape(o->delim_s ? o->delim_s : "\\n", d, sizeof(d));
    if (kl < 0 || dl < 0 || !kwt_fmt_default(&o->fmt, o->kdelim_s ? kd : NULL, kl, d, dl)) {
        fprintf(stderr, "kwire consume: bad or too long -K/-D delimiter\n");
        return false;
    }
    return true;
}

/* Returns 0 when parsed, -1 after --help, else the exit status. */
static int
parse(int argc, char **argv, kw_conf *conf, copts *o)
{
    const char *rest[MAX_TOPICS];
    size_t n_rest = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return -1;
        }
        if (a[0] != '-' || !a[1]) {
            if (n_rest == MAX_TOPICS) {
                fprintf(stderr, "kwire consume: too many arguments\n");
                return 2;
            }
            rest[n_rest++] = a;
            continue;
        }
        if (strlen(a) == 2 && strchr("eJv", a[1])) {
            *(a[1] == 'e' ? &o->exit_eof : a[1] == 'J' ? &o->json : &o->verbose) = true;
            continue;
        }
        if (strlen(a) != 2 || !strchr("btpocGfKDXF", a[1])) {
            fprintf(stderr, "kwire consume: unknown option '%s' (kwire consume --help)\n", a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "kwire consume: %s wants a value\n", a);
            return 2;
        }
        if (!parse_opt(a[1], argv[++i], conf, o))
            return 2;
    }
    if (n_rest && !o->group) {
        fprintf(stderr,
                "kwire consume: unexpected argument '%s' (topics go after -G GROUP "
                "or with -t)\n",
                rest[0]);
        return 2;
    }
    for (size_t i = 0; i < n_rest; i++)
        if (!add_topic(o, rest[i]))
            return 2;
    return check_opts(o, conf) ? 0 : 2;
}

/* ---- the assignment, as this process sees it ---- */

static bool
part_add(crun *r, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < r->n_parts; i++)
        if (r->parts[i].partition == partition && strcmp(r->parts[i].topic, topic) == 0)
            return true;
    if (strlen(topic) >= sizeof(r->parts[0].topic))
        return false;
    if (r->n_parts == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        cpart *p = realloc(r->parts, cap * sizeof(*p));
        if (!p)
            return false;
        r->parts = p;
        r->cap = cap;
    }
    cpart *p = &r->parts[r->n_parts++];
    snprintf(p->topic, sizeof(p->topic), "%s", topic);
    p->partition = partition;
    p->eof = false;
    return true;
}

static void
part_remove(crun *r, const char *topic, int32_t partition)
{
    for (size_t i = 0; i < r->n_parts; i++)
        if (r->parts[i].partition == partition && strcmp(r->parts[i].topic, topic) == 0) {
            r->parts[i] = r->parts[--r->n_parts];
            return;
        }
}

static void
print_parts(const char *what, const kw_topic_partition *tp, size_t n, const crun *r)
{
    fprintf(stderr, "kwire consume: %s", what);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, " %s:%" PRId32, tp[i].topic, tp[i].partition);
    fprintf(stderr, "\nkwire consume: assignment");
    for (size_t i = 0; i < r->n_parts; i++)
        fprintf(stderr, " %s:%" PRId32, r->parts[i].topic, r->parts[i].partition);
    fprintf(stderr, "%s\n", r->n_parts ? "" : " (none)");
}

/* Group rebalances: keep the table of assigned partitions that -e watches. kwire applies the
 * assignment itself; offsets of revoked partitions are committed by auto commit. */
static void
on_rebalance(kw_consumer *k, kw_rebalance_kind kind, const kw_topic_partition *parts, size_t n,
             void *ud)
{
    (void)k;
    crun *r = ud;
    for (size_t i = 0; i < n; i++) {
        if (kind == KW_REBALANCE_ASSIGNED) {
            if (!part_add(r, parts[i].topic, parts[i].partition) && r->status == 0) {
                fprintf(stderr, "kwire consume: out of memory\n");
                r->status = 1;
            }
        } else {
            part_remove(r, parts[i].topic, parts[i].partition);
        }
    }
    if (r->o->verbose)
        print_parts(kind == KW_REBALANCE_ASSIGNED  ? "assigned"
                    : kind == KW_REBALANCE_REVOKED ? "revoked"
                                                   : "lost",
                    parts, n, r);
}

/* -e: a partition is at its end when the consumer's position reached the end offset the
 * latest fetch response reported (lag 0); it stays "at end" even when more records arrive. */
static bool
all_at_end(crun *r)
{
    bool all = r->n_parts > 0;
    for (size_t i = 0; i < r->n_parts; i++) {
        cpart *p = &r->parts[i];
        int64_t lag = -1;
        if (!p->eof && kw_consumer_lag(r->k, p->topic, p->partition, &lag, NULL) == KW_ERR_OK &&
            lag == 0) {
            p->eof = true;
            if (r->o->verbose)
                fprintf(stderr, "kwire consume: reached the end of %s:%" PRId32 "\n", p->topic,
                        p->partition);
        }
        all = all && p->eof;
    }
    return all;
}

/* ---- manual assignment: the topics' partitions and the start offsets ---- */

static void
on_metadata(kw_client *c, kw_err e, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    crun *r = ud;
    r->md_done = true;
    if (stop_sig)
        return; /* canceled by kw_client_free after a signal: not an error */
    if (e != KW_ERR_OK) {
        fprintf(stderr, "kwire consume: metadata: %s\n", detail->msg);
        r->status = 1;
        return;
    }
    for (size_t t = 0; t < r->o->n_topics && r->status == 0; t++) {
        const kw_topic_info *ti = NULL;
        for (int32_t i = 0; i < md->n_topics; i++)
            if (strcmp(md->topics[i].name, r->o->topics[t]) == 0)
                ti = &md->topics[i];
        if (!ti || ti->error != 0 || ti->n_partitions == 0) {
            int16_t code = ti ? ti->error : 3;
            /* A topic being created answers LEADER_NOT_AVAILABLE (or, on some brokers,
             * UNKNOWN_TOPIC_OR_PARTITION) for a moment: ask again, for a while. */
            if (code == 0 || kw_broker_err_retriable(code)) {
                r->md_retry = true;
                r->md_code = code;
                r->md_topic = r->o->topics[t];
                return;
            }
            fprintf(stderr, "kwire consume: topic '%s': %s\n", r->o->topics[t],
                    kw_broker_err_name(code));
            r->status = 1;
            return;
        }
        int32_t want = r->o->partition;
        if (want >= ti->n_partitions) {
            fprintf(stderr,
                    "kwire consume: topic '%s' has %" PRId32 " partitions, no %" PRId32 "\n",
                    ti->name, ti->n_partitions, want);
            r->status = 1;
            return;
        }
        for (int32_t p = 0; p < ti->n_partitions && r->status == 0; p++)
            if ((want < 0 || ti->partitions[p].id == want) &&
                !part_add(r, ti->name, ti->partitions[p].id)) {
                fprintf(stderr, "kwire consume: out of memory\n");
                r->status = 1;
            }
    }
}

/* Steps the client for at most ms (or until a signal). */
static void
step_for(crun *r, int ms)
{
    double end = mono_s() + ms / 1000.0;
    while (!stop_sig && mono_s() < end)
        kw_client_step(r->c, 50, NULL);
}

static bool
find_partitions(crun *r)
{
    double start = mono_s();
    for (;;) {
        kw_error err;
        kw_error_init(&err);
        r->md_done = r->md_retry = false;
        r->n_parts = 0;
        if (kw_client_metadata(r->c, r->o->topics, r->o->n_topics, 0, on_metadata, r, &err) !=
            KW_ERR_OK) {
            fprintf(stderr, "kwire consume: %s\n", err.msg);
            r->status = 1;
            return false;
        }
        /* The callback fires exactly once, by the request's own timeout at the latest (or
         * inside kw_client_free after a signal, while r is still alive). */
        while (!r->md_done && !stop_sig)
            kw_client_step(r->c, 100, NULL);
        if (r->status || stop_sig)
            return false;
        if (!r->md_retry)
            return true;
        /* A topic that does not exist is reported after a few seconds; one without
         * leaders gets the whole setup time. */
        if (mono_s() - start > (r->md_code == 3 ? UNKNOWN_TOPIC_WAIT_S : SETUP_TIMEOUT_MS / 1e3)) {
            fprintf(stderr, "kwire consume: topic '%s': %s\n", r->md_topic,
                    r->md_code ? kw_broker_err_name(r->md_code) : "no partitions");
            r->status = 1;
            return false;
        }
        step_for(r, 200);
    }
}

/* Waits until the position of every partition is resolved (ListOffsets answered). */
static bool
wait_positions(crun *r, int64_t *pos)
{
    double deadline = mono_s() + SETUP_TIMEOUT_MS / 1000.0;
    for (;;) {
        bool all = true;
        for (size_t i = 0; i < r->n_parts; i++)
            if (kw_consumer_position(r->k, r->parts[i].topic, r->parts[i].partition, &pos[i],
                                     NULL) != KW_ERR_OK ||
                pos[i] < 0)
                all = false;
        if (all || stop_sig)
            return all;
        if (mono_s() > deadline) {
            fprintf(stderr, "kwire consume: timed out looking up the start offsets\n");
            r->status = 1;
            return false;
        }
        kw_client_step(r->c, 100, NULL);
    }
}

/* -N: N records before each partition's end, but not before its start. Both ends come from
 * the consumer's own ListOffsets (assign at the start, then seek to the end). */
static bool
seek_tail(crun *r)
{
    int64_t *lo = calloc(r->n_parts, sizeof(*lo)), *hi = calloc(r->n_parts, sizeof(*hi));
    bool ok = lo && hi && wait_positions(r, lo);
    for (size_t i = 0; ok && i < r->n_parts; i++)
        ok = kw_consumer_seek(r->k, r->parts[i].topic, r->parts[i].partition, KW_OFFSET_END,
                              NULL) == KW_ERR_OK;
    ok = ok && wait_positions(r, hi);
    for (size_t i = 0; ok && i < r->n_parts; i++) {
        int64_t at = hi[i] - r->o->off_val > lo[i] ? hi[i] - r->o->off_val : lo[i];
        ok =
            kw_consumer_seek(r->k, r->parts[i].topic, r->parts[i].partition, at, NULL) == KW_ERR_OK;
    }
    if (!ok && !stop_sig && r->status == 0) {
        fprintf(stderr, "kwire consume: could not seek to the -N offsets\n");
        r->status = 1;
    }
    free(lo);
    free(hi);
    return ok;
}

static bool
assign_manual(crun *r)
{
    if (!find_partitions(r))
        return false;
    const copts *o = r->o;
    int64_t start = o->off == OFF_END      ? KW_OFFSET_END
                    : o->off == OFF_STORED ? KW_OFFSET_STORED
                    : o->off == OFF_ABS    ? o->off_val
                                           : KW_OFFSET_BEGINNING;
    kw_topic_partition *tp = calloc(r->n_parts, sizeof(*tp));
    if (!tp) {
        fprintf(stderr, "kwire consume: out of memory\n");
        r->status = 1;
        return false;
    }
    for (size_t i = 0; i < r->n_parts; i++)
        tp[i] = (kw_topic_partition){.topic = r->parts[i].topic,
                                     .partition = r->parts[i].partition,
                                     .offset = start,
                                     .leader_epoch = -1};
    kw_error err;
    kw_error_init(&err);
    kw_err e = kw_consumer_assign(r->k, tp, r->n_parts, &err);
    if (e == KW_ERR_OK && o->verbose)
        print_parts("assigned", tp, r->n_parts, r);
    free(tp);
    if (e != KW_ERR_OK) {
        fprintf(stderr, "kwire consume: %s\n", err.msg);
        r->status = 1;
        return false;
    }
    if (o->off == OFF_TAIL)
        return seek_tail(r);
    for (size_t i = 0; o->off == OFF_TIME && i < r->n_parts; i++)
        if (kw_consumer_seek_timestamp(r->k, r->parts[i].topic, r->parts[i].partition, o->off_val,
                                       &err) != KW_ERR_OK) {
            fprintf(stderr, "kwire consume: %s\n", err.msg);
            r->status = 1;
            return false;
        }
    return true;
}

/* ---- the loop ---- */

static void
progress(crun *r, bool last)
{
    double now = mono_s();
    if (!r->progress || (!last && now - r->last_progress < 1.0))
        return;
    r->last_progress = now;
    fprintf(stderr, "\r\033[Kkwire consume: %ld messages%s", r->printed, last ? "\n" : "");
}

/* Prints one batch; an in-band error ends the run (as kcat does without -E). */
static void
print_batch(crun *r, kw_consumer_msg **m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (m[i]->err != KW_ERR_OK) {
            if (r->status == 0)
                fprintf(stderr, "kwire consume: %s:%" PRId32 " at offset %" PRId64 ": %s\n",
                        m[i]->topic, m[i]->partition, m[i]->offset, m[i]->errstr);
            r->status = 1;
        } else if (r->o->json) {
            kwt_json_write(stdout, m[i]);
            r->printed++;
        } else {
            kwt_fmt_write(stdout, &r->o->fmt, m[i]);
            r->printed++;
        }
    }
    kw_consumer_msgs_release(m, n);
    fflush(stdout);
}

static void
consume_loop(crun *r)
{
    kw_consumer_msg *m[BATCH];
    while (!stop_sig && r->status == 0) {
        size_t max = BATCH;
        if (r->o->count > 0) {
            if (r->printed >= r->o->count)
                break;
            if ((size_t)(r->o->count - r->printed) < max)
                max = (size_t)(r->o->count - r->printed);
        }
        size_t n = 0;
        kw_error err;
        kw_error_init(&err);
        if (kw_consumer_poll(r->k, m, max, 200, &n, &err) != KW_ERR_OK) {
            fprintf(stderr, "kwire consume: %s\n", err.msg);
            r->status = 1;
            break;
        }
        print_batch(r, m, n);
        if (r->o->exit_eof && all_at_end(r))
            break;
        progress(r, false);
    }
    if (r->printed)
        progress(r, true);
}

/* Leaves cleanly: with a group, a final synchronous commit of what was printed (when auto
 * commit is on; -X enable.auto.commit=false means "never commit"), then LeaveGroup. */
static void
finish(crun *r, bool commit)
{
    kw_error err;
    kw_error_init(&err);
    if (r->o->group && commit && r->n_parts > 0) {
        kw_err e = kw_consumer_commit(r->k, NULL, 0, CLOSE_TIMEOUT_MS, &err);
        if (e != KW_ERR_OK && e != KW_ERR_STATE) {
            fprintf(stderr, "kwire consume: final commit: %s\n", err.msg);
            r->status = 1;
        }
    }
    if (kw_consumer_close(r->k, CLOSE_TIMEOUT_MS, &err) != KW_ERR_OK && r->o->group)
        fprintf(stderr, "kwire consume: leaving the group: %s\n", err.msg);
    kw_consumer_free(r->k);
    kw_client_free(r->c);
    free(r->parts);
}

static bool
auto_commit_on(const kw_conf *conf)
{
    char buf[8];
    size_t len = sizeof(buf);
    return kw_conf_get(conf, "enable.auto.commit", buf, &len) == KW_ERR_OK &&
           strcmp(buf, "true") == 0;
}

/* Creates the client and consumer; false after printing why (status set). */
static bool
start(crun *r, kw_conf *conf)
{
    kw_error err;
    kw_error_init(&err);
    if (kw_client_new(conf, &r->c, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire consume: %s\n", err.msg);
        r->status = 2; /* configuration: the client checks the properties together */
        return false;
    }
    kw_consumer_opts co;
    kw_consumer_opts_init(&co);
    co.on_rebalance = on_rebalance;
    co.rebalance_ud = r;
    if (kw_consumer_new(r->c, &co, &r->k, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire consume: %s\n", err.msg);
        r->status = err.code == KW_ERR_CONFIG ? 2 : 1;
        kw_client_free(r->c);
        return false;
    }
    return true;
}

int
cmd_consume(int argc, char **argv)
{
    kw_conf *conf = NULL;
    if (kw_conf_new(NULL, &conf) != KW_ERR_OK) {
        fprintf(stderr, "kwire consume: out of memory\n");
        return 1;
    }
    copts o;
    memset(&o, 0, sizeof(o));
    o.partition = -1;
    o.count = -1;
    int rc = parse(argc, argv, conf, &o);
    if (rc == 0 && o.group && o.off_given && o.off != OFF_STORED)
        rc = kw_conf_set(conf, "auto.offset.reset", o.off == OFF_END ? "latest" : "earliest",
                         NULL) == KW_ERR_OK
                 ? 0
                 : 1;
    if (rc != 0) {
        kw_conf_free(conf);
        return rc < 0 ? 0 : rc;
    }
    bool commit = auto_commit_on(conf);
    crun r;
    memset(&r, 0, sizeof(r));
    r.o = &o;
    r.progress = isatty(2) && !isatty(1);
    if (!start(&r, conf))
        return r.status;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    kw_error err;
    kw_error_init(&err);
    bool ok;
    if (o.group) {
        ok = kw_consumer_subscribe(r.k, o.topics, o.n_topics, &err) == KW_ERR_OK;
        if (!ok) {
            fprintf(stderr, "kwire consume: %s\n", err.msg);
            r.status = 1;
        }
    } else {
        ok = assign_manual(&r);
    }
    if (ok)
        consume_loop(&r);
    finish(&r, commit);
    return r.status;
}
