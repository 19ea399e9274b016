/* kwire metadata: print a cluster's brokers, topics and partitions with their leaders.
 *
 *     kwire metadata -b BROKERS [-t TOPIC]... [-J] [-X key=value]... [-F FILE] [-T TIMEOUT_MS]
 *
 * Without -t every topic is listed; a -t topic the cluster does not have is printed with its
 * error, reported on stderr and makes the exit status 1. -J prints one JSON object
 * (kw_metadata_json) with `brokers` and `topics`. -X sets any client property, as kcat's -X does.
 * The client runs on this thread, driven by kw_client_step; no kwire thread is started. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_conf.h"
#include "cmd_metadata.h"
#include "kwire/client.h"
#include "kwire/conf.h"

#define MAX_TOPICS 1024

struct md_state {
    int done;
    int status;
    int json;
    int all;
    int requested; /* -t given: a topic's error is the command's error */
};

static void
usage(FILE *f)
{
    fprintf(f, "usage: kwire metadata -b BROKERS [-t TOPIC]... [-J] [-X key=value]... [-F FILE] "
               "[-T TIMEOUT_MS]\n"
               "  -b BROKERS       bootstrap servers, host:port[,host:port...]\n"
               "  -t TOPIC         only this topic (repeatable); default: every topic\n"
               "  -J               print one JSON object with \"brokers\" and \"topics\"\n"
               "  -X key=value     set a client property (repeatable)\n"
               "  -F FILE          read client properties from a properties file\n"
               "  -T TIMEOUT_MS    give up after this long (default 30000)\n");
}

static void
print_ids(const int32_t *v, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", (int)v[i]);
}

static void
print_text(const kw_metadata *md)
{
    printf("Metadata from broker %d (cluster %s, controller %d):\n", (int)md->broker_id,
           md->cluster_id ? md->cluster_id : "unknown", (int)md->controller_id);
    printf(" %d brokers:\n", (int)md->n_brokers);
    for (int32_t i = 0; i < md->n_brokers; i++) {
        const kw_broker_info *b = &md->brokers[i];
        int v6 = strchr(b->host, ':') != NULL;
        printf("  broker %d at %s%s%s:%d%s%s%s\n", (int)b->id, v6 ? "[" : "", b->host,
               v6 ? "]" : "", (int)b->port, b->id == md->controller_id ? " (controller)" : "",
               b->rack ? " rack " : "", b->rack ? b->rack : "");
    }
    printf(" %d topics:\n", (int)md->n_topics);
    for (int32_t i = 0; i < md->n_topics; i++) {
        const kw_topic_info *t = &md->topics[i];
        printf("  topic \"%s\" with %d partitions", t->name ? t->name : "", (int)t->n_partitions);
        if (t->error)
            printf(" (error %d %s)", (int)t->error, kw_broker_err_name(t->error));
        printf(":\n");
        for (int32_t j = 0; j < t->n_partitions; j++) {
            const kw_partition_info *p = &t->partitions[j];
            printf("    partition %d, leader %d, replicas: ", (int)p->id, (int)p->leader);
            print_ids(p->replicas, p->n_replicas);
            printf(", isrs: ");
            print_ids(p->isr, p->n_isr);
            if (p->error)
                printf(", error %d %s", (int)p->error, kw_broker_err_name(p->error));
            printf("\n");
        }
    }
}

static void
on_metadata(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    struct md_state *st = ud;
    st->done = 1;
    if (err != KW_ERR_OK) {
        fprintf(stderr, "kwire metadata: %s\n", detail->msg[0] ? detail->msg : kw_err_str(err));
        st->status = 1;
        return;
    }
    st->status = 0;
    /* A topic asked for by -t that the cluster does not have (or cannot serve) is an error:
     * the listing is still printed, the reason goes to stderr and the exit status is 1. */
    for (int32_t i = 0; st->requested && i < md->n_topics; i++)
        if (md->topics[i].error) {
            fprintf(stderr, "kwire metadata: topic '%s': %s\n",
                    md->topics[i].name ? md->topics[i].name : "",
                    kw_broker_err_name(md->topics[i].error));
            st->status = 1;
        }
    if (!st->json) {
        print_text(md);
        return;
    }
    size_t len = 0;
    kw_metadata_json(md, NULL, &len);
    char *buf = malloc(len);
    if (!buf || kw_metadata_json(md, buf, &len) != KW_ERR_OK) {
        fprintf(stderr, "kwire metadata: out of memory\n");
        st->status = 1;
    } else {
        printf("%s\n", buf);
    }
    free(buf);
}

/* Parses the options into conf and the topic list; returns 0, -1 after --help, or the exit
 * status. An error is one line on stderr. */
static int
parse_args(int argc, char **argv, kw_conf *conf, const char **topics, size_t *n_topics,
           struct md_state *st, int *timeout_ms)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-J") == 0) {
            st->json = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return -1;
        }
        if (strlen(a) != 2 || a[0] != '-' || !strchr("btXFT", a[1])) {
            fprintf(stderr, "kwire metadata: unknown option '%s' (kwire metadata --help)\n", a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "kwire metadata: %s wants a value\n", a);
            return 2;
        }
        const char *v = argv[++i];
        if (a[1] == 't') {
            if (*n_topics >= MAX_TOPICS) {
                fprintf(stderr, "kwire metadata: at most %d topics\n", MAX_TOPICS);
                return 2;
            }
            topics[(*n_topics)++] = v;
        } else if (a[1] == 'T') {
            char *end;
            long t = strtol(v, &end, 10);
            if (!*v || *end || t <= 0 || t > 3600000) {
                fprintf(stderr, "kwire metadata: -T wants milliseconds (1-3600000), got '%s'\n", v);
                return 2;
            }
            *timeout_ms = (int)t;
        } else if (!kwt_cli_conf_opt(conf, "metadata", a[1], v)) {
            return 2;
        }
    }
    if (!kwt_cli_have_bootstrap(conf)) {
        fprintf(stderr, "kwire metadata: -b BROKERS is required\n");
        return 2;
    }
    return 0;
}

int
cmd_metadata(int argc, char **argv)
{
    kw_conf *conf = NULL;
    if (kw_conf_new(NULL, &conf) != KW_ERR_OK) {
        fprintf(stderr, "kwire metadata: out of memory\n");
        return 1;
    }
    static const char *topics[MAX_TOPICS];
    size_t n_topics = 0;
    int timeout_ms = 30000;
    struct md_state st = {0, 1, 0, 0, 0};
    int rc = parse_args(argc, argv, conf, topics, &n_topics, &st, &timeout_ms);
    if (rc != 0) {
        kw_conf_free(conf);
        return rc < 0 ? 0 : rc;
    }
    st.requested = n_topics > 0;
    kw_error err;
    kw_error_init(&err);
    kw_client *c = NULL;
    if (kw_client_new(conf, &c, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire metadata: %s\n", err.msg);
        return 2;
    }
    if (kw_client_metadata(c, n_topics ? topics : NULL, n_topics, timeout_ms, on_metadata, &st,
                           &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire metadata: %s\n", err.msg);
        kw_client_free(c);
        return 1;
    }
    while (!st.done) {
        if (kw_client_step(c, -1, &err) != KW_ERR_OK) {
            fprintf(stderr, "kwire metadata: %s\n", err.msg);
            st.status = 1;
            break;
        }
    }
    kw_client_free(c);
    fflush(stdout);
    return st.status;
}
