/* kwire dlq: the event bus's dead-letter queue from the command line.
 *
 *     kwire dlq list   -b BROKERS --prefix P [-c COUNT] [-J]
 *     kwire dlq count  -b BROKERS --prefix P [-J]
 *     kwire dlq replay -b BROKERS --prefix P -p PARTITION -o OFFSET [--force] [-J]
 *     common: [-X key=value]... [-F FILE] [-T MS]
 *
 * The DLQ topic is "{P}.stream{dlq_topic_suffix}" as the bus names it. -X takes the client
 * properties an event bus maps (security.protocol, sasl.mechanism, sasl.username,
 * sasl.password, ssl.ca.location, ssl.certificate.location, ssl.key.location,
 * ssl.key.password, ssl.endpoint.identification.algorithm, bootstrap.servers, group.id,
 * client.id) or any kw_bus_config field by its name (dlq_topic_suffix,
 * dlq_max_replay_attempts, ...); -F reads them from a properties file. The older spellings
 * --limit N, --partition N, --offset O, --timeout MS and -c field=value still work. The topics
 * are never created by this command. Exit status 0 on success, 1 on an error (one line on
 * stderr), 2 on a usage error; replay refused by the replay guard exits 3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_conf.h"
#include "cmd_demo.h"
#include "kwire/bus.h"

static void
usage(FILE *f)
{
    fprintf(f, "usage: kwire dlq list|count|replay -b BROKERS --prefix PREFIX [options]\n"
               "  list           print the DLQ records: -c COUNT (default 100), -J JSON lines\n"
               "  count          print end minus start offsets over the DLQ partitions\n"
               "  replay         republish one record to the main topic: -p PARTITION\n"
               "                 -o OFFSET [--force to pass the dlq_max_replay_attempts guard]\n"
               "  -b BROKERS     bootstrap servers, host:port[,host:port...]\n"
               "  --prefix P     the event bus topic prefix (topic P.stream, DLQ P.stream.dlq)\n"
               "  -J             JSON lines\n"
               "  -X key=value   a client property the bus maps (security.protocol, sasl.*,\n"
               "                 ssl.*) or an event bus field (dlq_topic_suffix, ...)\n"
               "  -F FILE        the same from a properties file\n"
               "  -T MS          per operation (default 10000)\n");
}

typedef struct dlq_opts {
    const char *cmd;
    long limit, timeout;
    long partition;
    long long offset;
    bool force, json;
} dlq_opts;

/* Java/librdkafka property names and the event bus fields they map to. */
static const struct {
    const char *prop, *field;
} prop_map[] = {
    {"bootstrap.servers", "bootstrap_servers"},
    {"security.protocol", "security_protocol"},
    {"sasl.mechanism", "sasl_mechanism"},
    {"sasl.mechanisms", "sasl_mechanism"},
    {"sasl.username", "sasl_username"},
    {"sasl.password", "sasl_password"},
    {"ssl.ca.location", "ssl_cafile"},
    {"ssl.certificate.location", "ssl_certfile"},
    {"ssl.key.location", "ssl_keyfile"},
    {"ssl.key.password", "ssl_key_password"},
    {"group.id", "consumer_group"},
    {"client.id", "consumer_name"},
};

/* One -X / -F pair: a mapped client property or a bus field. */
static bool
set_prop(void *ud, const char *cmd, const char *key, const char *val)
{
    kw_bus_config *c = ud;
    const char *field = NULL;
    for (size_t i = 0; i < sizeof(prop_map) / sizeof(prop_map[0]); i++)
        if (strcmp(key, prop_map[i].prop) == 0)
            field = prop_map[i].field;
    if (strcmp(key, "ssl.endpoint.identification.algorithm") == 0) {
        field = "ssl_check_hostname";
        val = strcmp(val, "none") == 0 || !*val ? "false" : "true";
    }
    if (!field && strchr(key, '.')) {
        fprintf(stderr,
                "kwire %s: %s: not a property the event bus takes (security.protocol, "
                "sasl.*, ssl.*, or a bus field such as dlq_topic_suffix)\n",
                cmd, key);
        return false;
    }
    kw_error err;
    kw_error_init(&err);
    if (kw_bus_config_set(c, field ? field : key, val, &err) == KW_ERR_OK)
        return true;
    fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
    return false;
}

static void
json_bytes(const uint8_t *p, int32_t n)
{
    if (n < 0) {
        printf("null");
        return;
    }
    putchar('"');
    for (int32_t i = 0; i < n; i++) {
        unsigned c = p[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar((int)c);
    }
    putchar('"');
}

static void
print_msg(const kw_bus_dlq_message *m, bool json)
{
    if (json) {
        printf("{\"topic\":\"%s\",\"partition\":%d,\"offset\":%lld,\"timestamp\":%lld,"
               "\"replay_count\":%d,\"key\":",
               m->topic, (int)m->partition, (long long)m->offset, (long long)m->timestamp_ms,
               (int)m->replay_count);
        json_bytes(m->key.ptr, m->key.len);
        printf(",\"headers\":{");
        for (int32_t i = 0; i < m->n_headers; i++) {
            printf("%s", i ? "," : "");
            json_bytes(m->headers[i].key.ptr, m->headers[i].key.len);
            putchar(':');
            json_bytes(m->headers[i].value.ptr, m->headers[i].value.len);
        }
        printf("},\"payload\":");
        json_bytes(m->payload.ptr, m->payload.len);
        printf("}\n");
        return;
    }
    printf("partition %d offset %lld replay_count %d key %.*s\n", (int)m->partition,
           (long long)m->offset, (int)m->replay_count, m->key.len > 0 ? (int)m->key.len : 0,
           m->key.len > 0 ? (const char *)m->key.ptr : "");
    for (int32_t i = 0; i < m->n_headers; i++)
        printf("  %.*s: %.*s\n", (int)m->headers[i].key.len, (const char *)m->headers[i].key.ptr,
               m->headers[i].value.len > 0 ? (int)m->headers[i].value.len : 0,
               m->headers[i].value.len > 0 ? (const char *)m->headers[i].value.ptr : "");
    printf("  payload: %.*s\n", m->payload.len > 0 ? (int)m->payload.len : 0,
           m->payload.len > 0 ? (const char *)m->payload.ptr : "");
}

static bool
parse_num(const char *flag, const char *v, long long lo, long long hi, long long *out)
{
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*v && !*end && n >= lo && n <= hi) {
        *out = n;
        return true;
    }
    fprintf(stderr, "kwire dlq: %s wants a number in %lld..%lld, got '%s'\n", flag, lo, hi, v);
    return false;
}

/* One option with its value; false after printing why. */
static bool
parse_opt(const char *a, const char *v, kw_bus_config *c, dlq_opts *o)
{
    long long n;
    if (strcmp(a, "-b") == 0)
        return set_prop(c, "dlq", "bootstrap.servers", v);
    if (strcmp(a, "--prefix") == 0)
        return set_prop(c, "dlq", "topic_prefix", v);
    if (strcmp(a, "-X") == 0)
        return kwt_cli_kv("dlq", v, set_prop, c);
    if (strcmp(a, "-F") == 0)
        return kwt_cli_props_file("dlq", v, set_prop, c);
    if (strcmp(a, "-c") == 0 && strchr(v, '=')) /* the older -c field=value */
        return kwt_cli_kv("dlq", v, set_prop, c);
    bool ok;
    if (strcmp(a, "-c") == 0 || strcmp(a, "--limit") == 0) {
        ok = parse_num(a, v, 1, 1000000000, &n);
        o->limit = (long)n;
    } else if (strcmp(a, "-T") == 0 || strcmp(a, "--timeout") == 0) {
        ok = parse_num(a, v, 1, 3600000, &n);
        o->timeout = (long)n;
    } else if (strcmp(a, "-p") == 0 || strcmp(a, "--partition") == 0) {
        ok = parse_num(a, v, 0, INT32_MAX, &n);
        o->partition = (long)n;
    } else {
        ok = parse_num(a, v, 0, INT64_MAX, &o->offset); /* -o, --offset */
    }
    return ok;
}

static bool
takes_value(const char *a)
{
    static const char *const with[] = {"-b", "--prefix",  "-X", "-F",          "-c", "--limit",
                                       "-T", "--timeout", "-p", "--partition", "-o", "--offset"};
    for (size_t i = 0; i < sizeof(with) / sizeof(with[0]); i++)
        if (strcmp(a, with[i]) == 0)
            return true;
    return false;
}

/* Returns 0 when parsed, -1 after --help, else the exit status; errors are one line. */
static int
parse(int argc, char **argv, kw_bus_config *c, dlq_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->limit = 100;
    o->timeout = 10000;
    o->partition = -1;
    o->offset = -1;
    o->cmd = argv[1];
    bool replay = strcmp(o->cmd, "replay") == 0;
    if (!replay && strcmp(o->cmd, "list") != 0 && strcmp(o->cmd, "count") != 0) {
        fprintf(stderr, "kwire dlq: unknown subcommand '%s' (list, count, replay)\n", o->cmd);
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return -1;
        }
        if (strcmp(a, "--force") == 0 || strcmp(a, "-J") == 0) {
            *(a[1] == 'J' ? &o->json : &o->force) = true;
            continue;
        }
        if (!takes_value(a)) {
            fprintf(stderr, "kwire dlq: unknown option '%s' (kwire dlq --help)\n", a);
            return 2;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "kwire dlq: %s wants a value\n", a);
            return 2;
        }
        if (!parse_opt(a, argv[++i], c, o))
            return 2;
    }
    const char *why = NULL;
    if (!c->bootstrap_servers[0])
        why = "-b BROKERS is required";
    else if (replay && (o->partition < 0 || o->offset < 0))
        why = "replay wants -p PARTITION and -o OFFSET";
    if (why) {
        fprintf(stderr, "kwire dlq %s: %s\n", o->cmd, why);
        return 2;
    }
    return 0;
}

/* Runs the subcommand on a connected bus; prints its result. */
static kw_err
run(kw_bus *bus, const dlq_opts *o, kw_error *err)
{
    kw_err e;
    if (strcmp(o->cmd, "count") == 0) {
        int64_t n = 0;
        if ((e = kw_bus_get_dlq_message_count(bus, (int)o->timeout, &n, err)) != KW_ERR_OK)
            return e;
        printf(o->json ? "{\"count\":%lld}\n" : "%lld\n", (long long)n);
        return KW_ERR_OK;
    }
    if (strcmp(o->cmd, "list") == 0) {
        kw_bus_dlq_list l;
        if ((e = kw_bus_get_dlq_messages(bus, (size_t)o->limit, (int)o->timeout, &l, err)) !=
            KW_ERR_OK)
            return e;
        for (size_t i = 0; i < l.n; i++)
            print_msg(&l.messages[i], o->json);
        kw_bus_dlq_list_free(&l);
        return KW_ERR_OK;
    }
    e = kw_bus_replay_dlq_message(bus, (int32_t)o->partition, o->offset, o->force, (int)o->timeout,
                                  err);
    if (e == KW_ERR_OK)
        printf(o->json ? "{\"replayed\":{\"partition\":%ld,\"offset\":%lld}}\n"
                       : "replayed partition %ld offset %lld\n",
               o->partition, o->offset);
    return e;
}

int
cmd_dlq(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "kwire dlq: which one: list, count or replay? (kwire dlq --help)\n");
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    kw_bus_config c;
    kw_bus_config_init(&c);
    c.create_topics = false;
    c.bootstrap_servers[0] = '\0'; /* no default broker: -b is required */
    dlq_opts o;
    int rc = parse(argc, argv, &c, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    kw_error err;
    kw_error_init(&err);
    kw_bus *bus = NULL;
    kw_err e = kw_bus_new(&c, NULL, &bus, &err);
    if (e == KW_ERR_OK)
        e = kw_bus_connect(bus, (int)o.timeout, &err);
    if (e == KW_ERR_OK)
        e = run(bus, &o, &err);
    kw_bus_free(bus);
    fflush(stdout);
    if (e != KW_ERR_OK) {
        fprintf(stderr, "kwire dlq %s: %s\n", o.cmd, err.msg[0] ? err.msg : kw_err_str(e));
        return e == KW_ERR_STATE ? 3 : e == KW_ERR_CONFIG ? 2 : 1;
    }
    return 0;
}
