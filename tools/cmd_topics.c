/* kwire topics: create, delete, describe and list topics through the admin API.
 *
 *     kwire topics create   -b BROKERS -t TOPIC... [--partitions N] [--replication R]
 *                           [--config key=value]... [--validate]
 *     kwire topics delete   -b BROKERS -t TOPIC...
 *     kwire topics describe -b BROKERS [-t TOPIC]...      (every topic without -t)
 *     kwire topics list     -b BROKERS
 *     common: [-J] [-X key=value]... [-F FILE] [-T TIMEOUT_MS]
 *
 * -J prints one JSON object per topic and line. Each topic that fails is one line on stderr
 * ("kwire topics: topic x: CreateTopics TOPIC_ALREADY_EXISTS: ..."), and the exit status is 1
 * when any did; 2 for a usage error. The client runs on this thread (no kwire thread). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_conf.h"
#include "cmd_groups.h"
#include "kwire/admin.h"

#define MAX_ITEMS 1024

typedef struct topts {
    const char *sub;
    const char *topics[MAX_ITEMS];
    size_t n_topics;
    kw_admin_config configs[MAX_ITEMS];
    int32_t n_configs;
    int32_t partitions;
    int16_t replication;
    bool validate, json;
    int timeout_ms;
    int status; /* the exit status the callback decided */
} topts;

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: kwire topics create|delete|describe|list -b BROKERS [-t TOPIC]... [options]\n"
            "  create        create the -t topics: [--partitions N] [--replication R]\n"
            "                [--config key=value]... (retention.ms, cleanup.policy, ...)\n"
            "                [--validate] (only check); -1 or no value = the broker's default\n"
            "  delete        delete the -t topics\n"
            "  describe      partitions, leaders, replicas, ISR and configs (all without -t)\n"
            "  list          the topic names\n"
            "  -b BROKERS    bootstrap servers, host:port[,host:port...]\n"
            "  -J            one JSON object per topic and line\n"
            "  -X key=value  a client property (repeatable); -F FILE a properties file\n"
            "  -T MS         give up after this long (default 30000)\n");
}

static bool
parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (!*s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* One long option with a value; returns false (status set) on error. */
static bool
long_opt(topts *o, const char *a, char *v)
{
    long n;
    if (strcmp(a, "--partitions") == 0 && parse_int(v, -1, 1000000, &n) && n != 0) {
        o->partitions = (int32_t)n;
        return true;
    }
    if (strcmp(a, "--replication") == 0 && parse_int(v, -1, 32767, &n) && n != 0) {
        o->replication = (int16_t)n;
        return true;
    }
    if (strcmp(a, "--config") == 0 && strchr(v, '=') && v[0] != '=' && o->n_configs < MAX_ITEMS) {
        char *kv = (char *)v; /* argv is writable: split it in place */
        char *eq = strchr(kv, '=');
        *eq = '\0';
        o->configs[o->n_configs++] = (kw_admin_config){kv, eq + 1};
        return true;
    }
    fprintf(stderr, "kwire topics: bad %s '%s'\n", a, v);
    return false;
}

/* Returns 0 when parsed, -1 after --help, else the exit status. */
static int
parse(int argc, char **argv, kw_conf *conf, topts *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return -1;
        }
        if (strcmp(a, "-J") == 0 || strcmp(a, "--validate") == 0) {
            *(a[1] == 'J' ? &o->json : &o->validate) = true;
            continue;
        }
        bool known = strlen(a) == 2 && a[0] == '-' && strchr("btXFT", a[1]);
        bool lng = strcmp(a, "--partitions") == 0 || strcmp(a, "--replication") == 0 ||
                   strcmp(a, "--config") == 0;
        if (!known && !lng) {
            fprintf(stderr, "kwire topics: unknown option '%s' (kwire topics --help)\n", a);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "kwire topics: %s wants a value\n", a);
            return 2;
        }
        i++;
        long n;
        if (lng) {
            if (!long_opt(o, a, v))
                return 2;
        } else if (a[1] == 't') {
            if (o->n_topics >= MAX_ITEMS) {
                fprintf(stderr, "kwire topics: at most %d topics\n", MAX_ITEMS);
                return 2;
            }
            o->topics[o->n_topics++] = v;
        } else if (a[1] == 'T') {
            if (!parse_int(v, 1, 3600000, &n)) {
                fprintf(stderr, "kwire topics: -T wants milliseconds (1-3600000)\n");
                return 2;
            }
            o->timeout_ms = (int)n;
        } else if (!kwt_cli_conf_opt(conf, "topics", a[1], v)) {
            return 2;
        }
    }
    if (!kwt_cli_have_bootstrap(conf)) {
        fprintf(stderr, "kwire topics: -b BROKERS is required\n");
        return 2;
    }
    if ((strcmp(o->sub, "create") == 0 || strcmp(o->sub, "delete") == 0) && o->n_topics == 0) {
        fprintf(stderr, "kwire topics %s: -t TOPIC is required\n", o->sub);
        return 2;
    }
    return 0;
}

static bool
item_failed(topts *o, const kw_error *e)
{
    if (e->code == KW_ERR_OK)
        return false;
    fprintf(stderr, "kwire topics: %s\n", e->msg);
    o->status = 1;
    return true;
}

static void
print_ids(const int32_t *v, int32_t n)
{
    printf("[");
    for (int32_t i = 0; i < n; i++)
        printf("%s%d", i ? "," : "", (int)v[i]);
    printf("]");
}

static void
print_description(topts *o, const kw_topic_description *d)
{
    if (strcmp(o->sub, "list") == 0) {
        if (o->json) {
            printf("{\"topic\":");
            kwt_json_str(stdout, d->name);
            printf(",\"partitions\":%d,\"internal\":%s}\n", (int)d->n_partitions,
                   d->internal ? "true" : "false");
        } else {
            printf("%s\n", d->name);
        }
        return;
    }
    if (o->json) {
        printf("{\"topic\":");
        kwt_json_str(stdout, d->name);
        printf(",\"internal\":%s,\"partitions\":[", d->internal ? "true" : "false");
        for (int32_t p = 0; p < d->n_partitions; p++) {
            const kw_partition_info *pi = &d->partitions[p];
            printf("%s{\"partition\":%d,\"leader\":%d,\"replicas\":", p ? "," : "", (int)pi->id,
                   (int)pi->leader);
            print_ids(pi->replicas, pi->n_replicas);
            printf(",\"isr\":");
            print_ids(pi->isr, pi->n_isr);
            printf("}");
        }
        printf("],\"configs\":{");
        for (int32_t c = 0; c < d->n_configs; c++) {
            printf("%s", c ? "," : "");
            kwt_json_str(stdout, d->configs[c].name);
            printf(":");
            kwt_json_str(stdout, d->configs[c].value);
        }
        printf("}}\n");
        return;
    }
    printf("topic \"%s\" with %d partitions%s\n", d->name, (int)d->n_partitions,
           d->internal ? " (internal)" : "");
    for (int32_t p = 0; p < d->n_partitions; p++) {
        const kw_partition_info *pi = &d->partitions[p];
        printf("  partition %d, leader %d, replicas: ", (int)pi->id, (int)pi->leader);
        print_ids(pi->replicas, pi->n_replicas);
        printf(", isr: ");
        print_ids(pi->isr, pi->n_isr);
        printf("\n");
    }
    for (int32_t c = 0; c < d->n_configs; c++)
        if (!d->configs[c].is_default)
            printf("  config %s=%s\n", d->configs[c].name,
                   d->configs[c].value ? d->configs[c].value : "(null)");
}

static void
on_result(kw_admin *ad, kw_err err, const kw_error *detail, const kw_admin_result *r, void *ud)
{
    (void)ad;
    topts *o = ud;
    if (err != KW_ERR_OK) {
        fprintf(stderr, "kwire topics: %s\n", detail->msg);
        o->status = 1;
        return;
    }
    for (int32_t i = 0; i < r->n_topics; i++) {
        if (item_failed(o, r->topics[i].error))
            continue;
        if (o->json) {
            printf("{\"topic\":");
            kwt_json_str(stdout, r->topics[i].name);
            printf(",\"result\":\"%s\"}\n",
                   strcmp(o->sub, "create") == 0 ? (o->validate ? "valid" : "created") : "deleted");
        } else {
            printf("topic \"%s\" %s\n", r->topics[i].name,
                   strcmp(o->sub, "create") == 0 ? (o->validate ? "is valid" : "created")
                                                 : "deleted");
        }
    }
    for (int32_t i = 0; i < r->n_descriptions; i++) {
        const kw_topic_description *d = &r->descriptions[i];
        if (!item_failed(o, d->error)) {
            if (strcmp(o->sub, "describe") == 0)
                item_failed(o, d->config_error);
            print_description(o, d);
        }
    }
}

static kw_err
start(kw_admin *ad, void *ctx, kw_error *err)
{
    topts *o = ctx;
    kw_admin_opts ao;
    kw_admin_opts_init(&ao);
    ao.timeout_ms = o->timeout_ms;
    ao.validate_only = o->validate;
    if (strcmp(o->sub, "create") == 0) {
        static kw_new_topic t[MAX_ITEMS];
        for (size_t i = 0; i < o->n_topics; i++) {
            kw_new_topic_init(&t[i]);
            t[i].name = o->topics[i];
            t[i].partitions = o->partitions;
            t[i].replication_factor = o->replication;
            t[i].configs = o->configs;
            t[i].n_configs = o->n_configs;
        }
        return kw_admin_create_topics(ad, t, o->n_topics, &ao, on_result, o, err);
    }
    if (strcmp(o->sub, "delete") == 0)
        return kw_admin_delete_topics(ad, o->topics, o->n_topics, &ao, on_result, o, err);
    return kw_admin_describe_topics(ad, o->n_topics ? o->topics : NULL, o->n_topics, &ao, on_result,
                                    o, err);
}

int
cmd_topics(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(
            stderr,
            "kwire topics: which one: create, delete, describe or list? (kwire topics --help)\n");
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    static topts o;
    memset(&o, 0, sizeof(o));
    o.sub = argv[1];
    o.partitions = -1;
    o.replication = -1;
    o.timeout_ms = 30000;
    if (strcmp(o.sub, "create") && strcmp(o.sub, "delete") && strcmp(o.sub, "describe") &&
        strcmp(o.sub, "list")) {
        fprintf(stderr, "kwire topics: unknown subcommand '%s' (create, delete, describe, list)\n",
                o.sub);
        return 2;
    }
    kw_conf *conf = NULL;
    if (kw_conf_new(NULL, &conf) != KW_ERR_OK) {
        fprintf(stderr, "kwire topics: out of memory\n");
        return 1;
    }
    int rc = parse(argc, argv, conf, &o);
    if (rc != 0) {
        kw_conf_free(conf);
        return rc < 0 ? 0 : rc;
    }
    return kwt_admin_run("topics", conf, o.timeout_ms, start, &o, &o.status);
}
