/* kwire groups: list, describe and show the lag of consumer groups through the admin API.
 *
 *     kwire groups list     -b BROKERS [--state STATE]... [--type classic|consumer]...
 *     kwire groups describe -b BROKERS -G GROUP...
 *     kwire groups lag      -b BROKERS -G GROUP... [-t TOPIC]...
 *     common: [-J] [-X key=value]... [-F FILE] [-T TIMEOUT_MS]
 *
 * `lag` prints, per partition a group committed, the committed offset, the partition's end
 * offset and their difference, as kafka-consumer-groups --describe does. -J prints one JSON
 * object per group (list, describe) or per partition (lag) and line. A group that fails is one
 * line on stderr and makes the exit status 1; 2 for a usage error. The client runs on this
 * thread (no kwire thread). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_conf.h"
#include "cmd_groups.h"

#define MAX_ITEMS 1024

typedef struct gopts {
    const char *sub;
    const char *groups[MAX_ITEMS];
    size_t n_groups;
    const char *topics[MAX_ITEMS]; /* lag: only these topics */
    size_t n_topics;
    const char *states[64], *types[64];
    size_t n_states, n_types;
    bool json;
    int timeout_ms;
    int status;
} gopts;

static void
usage(FILE *f)
{
    fprintf(f, "usage: kwire groups list|describe|lag -b BROKERS [-G GROUP]... [options]\n"
               "  list          every group of the cluster: [--state STATE]... [--type TYPE]...\n"
               "  describe      the -G groups: type, state, assignor, members and assignments\n"
               "  lag           the -G groups' committed offsets, end offsets and lag; with\n"
               "                -t TOPIC (repeatable) every partition of those topics\n"
               "  -b BROKERS    bootstrap servers, host:port[,host:port...]\n"
               "  -J            JSON lines\n"
               "  -X key=value  a client property (repeatable); -F FILE a properties file\n"
               "  -T MS         give up after this long (default 30000)\n");
}

typedef struct reach {
    bool done;
    kw_err err;
    char msg[256];
} reach;

static void
on_reach(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    (void)md;
    reach *r = ud;
    r->done = true;
    r->err = err;
    if (err != KW_ERR_OK)
        snprintf(r->msg, sizeof(r->msg), "%s", detail->msg[0] ? detail->msg : kw_err_str(err));
}

/* A brokers-only Metadata request first, so that a cluster that cannot be reached is one
 * line on stderr for every subcommand. The admin calls report it too (ListGroups and
 * describing every topic fail as a whole), but per item elsewhere: `topics create -t a -t b`
 * or `groups lag` would print a line per topic or group, each saying the same. */
static bool
reachable(const char *cmd, kw_client *c, int timeout_ms)
{
    static const char *const none[1] = {NULL};
    reach r = {false, KW_ERR_OK, ""};
    kw_error err;
    kw_error_init(&err);
    if (kw_client_metadata(c, none, 0, timeout_ms, on_reach, &r, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
        return false;
    }
    while (!r.done) /* the request's own timeout ends it */
        if (kw_client_step(c, 100, &err) != KW_ERR_OK) {
            fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
            return false;
        }
    if (r.err != KW_ERR_OK)
        fprintf(stderr, "kwire %s: %s\n", cmd, r.msg);
    return r.err == KW_ERR_OK;
}

int
kwt_admin_run(const char *cmd, kw_conf *conf, int timeout_ms, kwt_admin_start_fn start, void *ctx,
              int *status)
{
    kw_error err;
    kw_error_init(&err);
    kw_client *c = NULL;
    if (kw_client_new(conf, &c, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
        return 2;
    }
    if (!reachable(cmd, c, timeout_ms)) {
        kw_client_free(c);
        return 1;
    }
    kw_admin *ad = NULL;
    if (kw_admin_new(c, &ad, &err) != KW_ERR_OK || start(ad, ctx, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
        kw_admin_free(ad);
        kw_client_free(c);
        return 1;
    }
    /* Every call ends by its own timeout, so this wait ends. */
    if (kw_admin_wait(ad, -1, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
        *status = 1;
    }
    kw_admin_free(ad);
    kw_client_free(c);
    fflush(stdout);
    return *status;
}

/* Returns 0 when parsed, -1 after --help, else the exit status. */
static int
parse(int argc, char **argv, kw_conf *conf, gopts *o)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return -1;
        }
        if (strcmp(a, "-J") == 0) {
            o->json = true;
            continue;
        }
        bool known = strlen(a) == 2 && a[0] == '-' && strchr("bGtXFT", a[1]);
        bool lng = strcmp(a, "--state") == 0 || strcmp(a, "--type") == 0;
        if (!known && !lng) {
            fprintf(stderr, "kwire groups: unknown option '%s' (kwire groups --help)\n", a);
            return 2;
        }
        if (!v) {
            fprintf(stderr, "kwire groups: %s wants a value\n", a);
            return 2;
        }
        i++;
        if (lng) {
            bool st = a[2] == 's';
            size_t *n = st ? &o->n_states : &o->n_types;
            if (*n >= 64) {
                fprintf(stderr, "kwire groups: too many %s filters\n", a);
                return 2;
            }
            (st ? o->states : o->types)[(*n)++] = v;
        } else if (a[1] == 'G' || a[1] == 't') {
            const char **list = a[1] == 'G' ? o->groups : o->topics;
            size_t *n = a[1] == 'G' ? &o->n_groups : &o->n_topics;
            if (*n >= MAX_ITEMS) {
                fprintf(stderr, "kwire groups: at most %d of %s\n", MAX_ITEMS, a);
                return 2;
            }
            list[(*n)++] = v;
        } else if (a[1] == 'T') {
            char *end;
            long t = strtol(v, &end, 10);
            if (*end || t <= 0 || t > 3600000) {
                fprintf(stderr, "kwire groups: -T wants milliseconds (1-3600000)\n");
                return 2;
            }
            o->timeout_ms = (int)t;
        } else if (!kwt_cli_conf_opt(conf, "groups", a[1], v)) {
            return 2;
        }
    }
    if (!kwt_cli_have_bootstrap(conf)) {
        fprintf(stderr, "kwire groups: -b BROKERS is required\n");
        return 2;
    }
    if (strcmp(o->sub, "list") != 0 && o->n_groups == 0) {
        fprintf(stderr, "kwire groups %s: -G GROUP is required\n", o->sub);
        return 2;
    }
    return 0;
}

static bool
failed(gopts *o, const kw_error *e)
{
    if (e->code == KW_ERR_OK)
        return false;
    fprintf(stderr, "kwire groups: %s\n", e->msg);
    o->status = 1;
    return true;
}

/* A partial listing: each broker that failed is named (its own error codes already say
 * "broker N: ..."; a timeout does not). */
static void
broker_failed(gopts *o, const kw_broker_status *b)
{
    if (b->error->code == KW_ERR_OK)
        return;
    char who[32];
    snprintf(who, sizeof(who), "broker %d: ", (int)b->node_id);
    bool named = strncmp(b->error->msg, who, strlen(who)) == 0;
    fprintf(stderr, "kwire groups: %s%s (its groups are not listed)\n", named ? "" : who,
            b->error->msg);
    o->status = 1;
}

static void
print_list(gopts *o, const kw_admin_result *r)
{
    for (int32_t i = 0; i < r->n_brokers; i++)
        broker_failed(o, &r->brokers[i]);
    for (int32_t i = 0; i < r->n_listings; i++) {
        const kw_group_listing *g = &r->listings[i];
        if (!o->json) {
            printf("group \"%s\" %s%s%s(coordinator %d)\n", g->group_id, g->state ? g->state : "",
                   g->state ? " " : "", g->type ? g->type : "", (int)g->coordinator);
            continue;
        }
        printf("{\"group\":");
        kwt_json_str(stdout, g->group_id);
        printf(",\"protocol_type\":");
        kwt_json_str(stdout, g->protocol_type);
        printf(",\"state\":");
        kwt_json_str(stdout, g->state);
        printf(",\"type\":");
        kwt_json_str(stdout, g->type);
        printf(",\"coordinator\":%d}\n", (int)g->coordinator);
    }
}

static void
print_assignment(const kw_group_member *m)
{
    printf("[");
    for (int32_t t = 0; t < m->n_assignment; t++) {
        printf("%s{\"topic\":", t ? "," : "");
        kwt_json_str(stdout, m->assignment[t].topic);
        printf(",\"partitions\":[");
        for (int32_t p = 0; p < m->assignment[t].n_partitions; p++)
            printf("%s%d", p ? "," : "", (int)m->assignment[t].partitions[p]);
        printf("]}");
    }
    printf("]");
}

static void
print_group(gopts *o, const kw_group_description *g)
{
    if (!o->json) {
        printf("group \"%s\": %s group, state %s, protocol %s, coordinator %d, %d members\n",
               g->group_id, g->type, g->state, g->protocol[0] ? g->protocol : "-",
               (int)g->coordinator, (int)g->n_members);
        for (int32_t i = 0; i < g->n_members; i++) {
            const kw_group_member *m = &g->members[i];
            printf("  member %s (client %s, host %s):", m->member_id,
                   m->client_id ? m->client_id : "", m->host ? m->host : "");
            for (int32_t t = 0; t < m->n_assignment; t++)
                for (int32_t p = 0; p < m->assignment[t].n_partitions; p++)
                    printf(" %s[%d]", m->assignment[t].topic, (int)m->assignment[t].partitions[p]);
            printf("\n");
        }
        return;
    }
    printf("{\"group\":");
    kwt_json_str(stdout, g->group_id);
    printf(",\"type\":");
    kwt_json_str(stdout, g->type);
    printf(",\"state\":");
    kwt_json_str(stdout, g->state);
    printf(",\"protocol_type\":");
    kwt_json_str(stdout, g->protocol_type);
    printf(",\"protocol\":");
    kwt_json_str(stdout, g->protocol);
    printf(",\"coordinator\":%d,\"members\":[", (int)g->coordinator);
    for (int32_t i = 0; i < g->n_members; i++) {
        const kw_group_member *m = &g->members[i];
        printf("%s{\"member_id\":", i ? "," : "");
        kwt_json_str(stdout, m->member_id);
        printf(",\"client_id\":");
        kwt_json_str(stdout, m->client_id);
        printf(",\"host\":");
        kwt_json_str(stdout, m->host);
        printf(",\"assignment\":");
        print_assignment(m);
        printf("}");
    }
    printf("]}\n");
}

static void
print_lag(gopts *o, const kw_group_offsets *g)
{
    for (int32_t i = 0; i < g->n_partitions; i++) {
        const kw_partition_offset *p = &g->partitions[i];
        if (failed(o, p->error))
            continue;
        failed(o, p->end_error);
        if (!o->json) {
            printf("%s %s %d committed %lld end %lld lag %lld\n", g->group_id, p->topic,
                   (int)p->partition, (long long)p->offset, (long long)p->end_offset,
                   (long long)p->lag);
            continue;
        }
        printf("{\"group\":");
        kwt_json_str(stdout, g->group_id);
        printf(",\"topic\":");
        kwt_json_str(stdout, p->topic);
        printf(",\"partition\":%d,\"committed\":%lld,\"end\":%lld,\"lag\":%lld}\n",
               (int)p->partition, (long long)p->offset, (long long)p->end_offset,
               (long long)p->lag);
    }
}

static void
on_result(kw_admin *ad, kw_err err, const kw_error *detail, const kw_admin_result *r, void *ud)
{
    (void)ad;
    gopts *o = ud;
    if (err != KW_ERR_OK) {
        fprintf(stderr, "kwire groups: %s\n", detail->msg);
        o->status = 1;
        return;
    }
    if (r->op == KW_ADMIN_LIST_GROUPS)
        print_list(o, r);
    for (int32_t i = 0; i < r->n_groups; i++)
        if (!failed(o, r->groups[i].error))
            print_group(o, &r->groups[i]);
    for (int32_t i = 0; i < r->n_offsets; i++)
        if (!failed(o, r->offsets[i].error))
            print_lag(o, &r->offsets[i]);
}

/* lag also describes the groups: an unknown group has no offsets, which alone would print
 * nothing; its description says GROUP_ID_NOT_FOUND. */
static void
on_lag_describe(kw_admin *ad, kw_err err, const kw_error *detail, const kw_admin_result *r,
                void *ud)
{
    (void)ad;
    gopts *o = ud;
    if (err != KW_ERR_OK) {
        fprintf(stderr, "kwire groups: %s\n", detail->msg);
        o->status = 1;
        return;
    }
    for (int32_t i = 0; i < r->n_groups; i++)
        failed(o, r->groups[i].error);
}

static kw_err
start(kw_admin *ad, void *ctx, kw_error *err)
{
    gopts *o = ctx;
    kw_admin_opts ao;
    kw_admin_opts_init(&ao);
    ao.timeout_ms = o->timeout_ms;
    if (strcmp(o->sub, "list") == 0)
        return kw_admin_list_groups(ad, o->states, o->n_states, o->types, o->n_types, &ao,
                                    on_result, o, err);
    if (strcmp(o->sub, "describe") == 0)
        return kw_admin_describe_groups(ad, o->groups, o->n_groups, &ao, on_result, o, err);
    kw_err e = kw_admin_describe_groups(ad, o->groups, o->n_groups, &ao, on_lag_describe, o, err);
    if (e != KW_ERR_OK)
        return e;
    return kw_admin_group_offsets(ad, o->groups, o->n_groups, o->n_topics ? o->topics : NULL,
                                  o->n_topics, true, &ao, on_result, o, err);
}

int
cmd_groups(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "kwire groups: which one: list, describe or lag? (kwire groups --help)\n");
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    static gopts o;
    memset(&o, 0, sizeof(o));
    o.sub = argv[1];
    o.timeout_ms = 30000;
    if (strcmp(o.sub, "list") && strcmp(o.sub, "describe") && strcmp(o.sub, "lag")) {
        fprintf(stderr, "kwire groups: unknown subcommand '%s' (list, describe, lag)\n", o.sub);
        return 2;
    }
    kw_conf *conf = NULL;
    if (kw_conf_new(NULL, &conf) != KW_ERR_OK) {
        fprintf(stderr, "kwire groups: out of memory\n");
        return 1;
    }
    int rc = parse(argc, argv, conf, &o);
    if (rc != 0) {
        kw_conf_free(conf);
        return rc < 0 ? 0 : rc;
    }
    return kwt_admin_run("groups", conf, o.timeout_ms, start, &o, &o.status);
}
