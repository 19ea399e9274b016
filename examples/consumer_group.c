/* consumer_group: a consumer group member that processes records and commits what it did.
 *
 *     consumer_group BOOTSTRAP GROUP TOPIC... [-n COMMIT_EVERY] [-X property=value]...
 *
 * The member joins GROUP, subscribes to the topics and processes every record it is given
 * (here: prints "topic partition offset key value"). Offsets are committed by the program, not
 * by a timer (enable.auto.commit=false), at the three moments that make "at least once" tight:
 *   - synchronously every COMMIT_EVERY records (default 100): a crash re-delivers at most
 *     that many;
 *   - in the rebalance callback, when partitions are revoked: the member that gets them next
 *     starts exactly after what this one processed;
 *   - once more when SIGINT or SIGTERM asks it to stop, before it leaves the group.
 * kw_consumer_commit with no list commits each assigned partition's position, which is
 * exactly "the last record handed to the application + 1": everything polled is processed
 * before the next commit, so nothing is committed unprocessed.
 *
 * A second run with the same GROUP resumes where the first stopped: partitions start at their
 * committed offsets (auto.offset.reset=earliest only applies to partitions never committed).
 *
 * Exit status: 0 after a clean stop, 1 on a runtime error (a commit or the consumer failed),
 * 2 on a usage or configuration error. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/client.h"
#include "kwire/conf.h"
#include "kwire/consumer.h"

#define MAX_TOPICS 32
#define BATCH      64

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1; /* the poll loop sees it within its 500 ms timeout */
}

struct app {
    long processed;    /* records processed in this run */
    long since_commit; /* processed since the last commit */
    long commit_every;
    int failed; /* set when a commit failed */
};

static void
print_list(const char *what, const kw_topic_partition *parts, size_t n)
{
    printf("%s:", what);
    for (size_t i = 0; i < n; i++)
        printf(" %s[%" PRId32 "]", parts[i].topic, parts[i].partition);
    printf("%s\n", n ? "" : " (nothing)");
    fflush(stdout);
}

/* Commits the positions of every assigned partition and waits for the answer. */
static void
commit_now(kw_consumer *k, struct app *a, const char *why)
{
    kw_error err;
    kw_error_init(&err);
    kw_err e = kw_consumer_commit(k, NULL, 0, 10000, &err);
    /* KW_ERR_STATE: nothing assigned or the generation is gone (the partitions moved on and
     * their new owner starts from the last successful commit): nothing to commit here. */
    if (e != KW_ERR_OK && e != KW_ERR_STATE) {
        fprintf(stderr, "consumer_group: commit (%s) failed: %s\n", why, err.msg);
        a->failed = 1;
        return;
    }
    if (e == KW_ERR_OK)
        printf("committed (%s) after %ld records\n", why, a->processed);
    a->since_commit = 0;
}

/* Runs inside kw_consumer_poll or kw_consumer_close, on this thread, with no lock held. */
static void
on_rebalance(kw_consumer *k, kw_rebalance_kind kind, const kw_topic_partition *parts, size_t n,
             void *ud)
{
    struct app *a = ud;
    if (kind == KW_REBALANCE_ASSIGNED) {
        print_list("assigned", parts, n);
        return;
    }
    if (kind == KW_REBALANCE_REVOKED) {
        /* Still ours until this callback returns: commit what was processed. */
        commit_now(k, a, "revoke");
        print_list("revoked", parts, n);
    } else {
        /* Lost (session expired, fenced): another member may own them already, so a commit
         * would be rejected or, worse, move its offsets back. */
        print_list("lost", parts, n);
    }
}

/* The application's work for one record. */
static void
process(struct app *a, const kw_consumer_msg *m)
{
    printf("%s %" PRId32 " %" PRId64 " %.*s %.*s\n", m->topic, m->partition, m->offset,
           m->key.len > 0 ? (int)m->key.len : 0, m->key.len > 0 ? (const char *)m->key.ptr : "",
           m->value.len > 0 ? (int)m->value.len : 0,
           m->value.len > 0 ? (const char *)m->value.ptr : "");
    a->processed++;
    a->since_commit++;
}

static int
usage(void)
{
    fprintf(stderr, "usage: consumer_group BOOTSTRAP GROUP TOPIC... [-n COMMIT_EVERY] "
                    "[-X property=value]...\n");
    return 2;
}

/* Builds the configuration; returns 0, or 2 after printing why. */
static int
configure(int argc, char **argv, kw_conf *conf, const char **topics, size_t *n_topics,
          long *commit_every)
{
    kw_error err;
    kw_error_init(&err);
    if (kw_conf_set(conf, "bootstrap.servers", argv[1], &err) != KW_ERR_OK ||
        kw_conf_set(conf, "group.id", argv[2], &err) != KW_ERR_OK ||
        kw_conf_set(conf, "enable.auto.commit", "false", &err) != KW_ERR_OK ||
        kw_conf_set(conf, "auto.offset.reset", "earliest", &err) != KW_ERR_OK)
        goto bad;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc) {
            *commit_every = strtol(argv[++i], NULL, 10);
            if (*commit_every <= 0)
                return usage();
        } else if (strcmp(argv[i], "-X") == 0 && i + 1 < argc) {
            char *kv = argv[++i], *eq = strchr(kv, '=');
            if (!eq)
                return usage();
            *eq = '\0';
            if (kw_conf_set(conf, kv, eq + 1, &err) != KW_ERR_OK)
                goto bad;
        } else if (argv[i][0] == '-' || *n_topics == MAX_TOPICS) {
            return usage();
        } else {
            topics[(*n_topics)++] = argv[i];
        }
    }
    return *n_topics ? 0 : usage();
bad:
    fprintf(stderr, "consumer_group: %s\n", err.msg);
    return 2;
}

/* Polls and processes until a signal or an error. */
static int
run(kw_consumer *k, struct app *a)
{
    kw_consumer_msg *m[BATCH];
    while (!stop && !a->failed) {
        size_t n = 0;
        kw_error err;
        kw_error_init(&err);
        if (kw_consumer_poll(k, m, BATCH, 500, &n, &err) != KW_ERR_OK) {
            fprintf(stderr, "consumer_group: poll: %s\n", err.msg);
            return 1;
        }
        for (size_t i = 0; i < n; i++) {
            if (m[i]->err != KW_ERR_OK) /* in-band: report it, keep going */
                fprintf(stderr, "consumer_group: %s [%" PRId32 "]: %s\n", m[i]->topic,
                        m[i]->partition, m[i]->errstr);
            else
                process(a, m[i]);
        }
        kw_consumer_msgs_release(m, n);
        fflush(stdout);
        if (a->since_commit >= a->commit_every)
            commit_now(k, a, "batch");
    }
    return a->failed;
}

int
main(int argc, char **argv)
{
    if (argc < 4)
        return usage();
    kw_conf *conf;
    if (kw_conf_new(NULL, &conf) != KW_ERR_OK)
        return 1;
    const char *topics[MAX_TOPICS];
    size_t n_topics = 0;
    struct app a = {0, 0, 100, 0};
    int rc = configure(argc, argv, conf, topics, &n_topics, &a.commit_every);
    if (rc != 0) {
        kw_conf_free(conf);
        return rc;
    }
    kw_error err;
    kw_error_init(&err);
    kw_client *c;
    /* kw_client_new takes the configuration over, also when it fails. */
    if (kw_client_new(conf, &c, &err) != KW_ERR_OK) {
        fprintf(stderr, "consumer_group: %s\n", err.msg);
        return 2;
    }
    kw_consumer_opts o;
    kw_consumer_opts_init(&o);
    o.on_rebalance = on_rebalance;
    o.rebalance_ud = &a;
    kw_consumer *k = NULL;
    if (kw_consumer_new(c, &o, &k, &err) != KW_ERR_OK ||
        kw_consumer_subscribe(k, topics, n_topics, &err) != KW_ERR_OK) {
        fprintf(stderr, "consumer_group: %s\n", err.msg);
        kw_consumer_free(k);
        kw_client_free(c);
        return err.code == KW_ERR_CONFIG ? 2 : 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    rc = run(k, &a);

    /* Commit what was processed, then leave: the revoke callback runs inside close (and
     * commits again, harmlessly), LeaveGroup lets the others take the partitions at once
     * instead of after session.timeout.ms. */
    if (rc == 0)
        commit_now(k, &a, "shutdown");
    if (kw_consumer_close(k, 10000, &err) != KW_ERR_OK) {
        fprintf(stderr, "consumer_group: close: %s\n", err.msg);
        rc = 1;
    }
    kw_consumer_free(k);
    kw_client_free(c);
    printf("processed %ld records\n", a.processed);
    return rc || a.failed ? 1 : 0;
}
