/* kwire dlq: the event bus's dead-letter queue from the command line.
 *
 *     kwire dlq list   -b BROKERS --prefix P [--limit N] [-J] [-c field=value]...
 *     kwire dlq count  -b BROKERS --prefix P [-c field=value]...
 *     kwire dlq replay -b BROKERS --prefix P --partition N --offset O [--force]
 *                      [-c field=value]...
 *
 * The DLQ topic is "{P}.stream{dlq_topic_suffix}" as the bus names it. -c sets any
 * kw_bus_config field by name (security_protocol, sasl_mechanism, sasl_username,
 * sasl_password, ssl_cafile, dlq_topic_suffix, dlq_max_replay_attempts, ...). The topics are
 * never created by this command. Exit status 0 on success, 1 on an error (one line on
 * stderr), 2 on a usage error; replay refused by the replay guard exits 3. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_demo.h"
#include "kwire/bus.h"

static void
usage(FILE *f)
{
    fprintf(f, "usage: kwire dlq list|count|replay -b BROKERS --prefix PREFIX [options]\n"
               "  list     print the DLQ records (--limit N, default 100; -J for JSON lines)\n"
               "  count    print end minus start offsets over the DLQ partitions\n"
               "  replay   republish one record to the main topic: --partition N --offset O\n"
               "           [--force to pass the dlq_max_replay_attempts guard]\n"
               "  -c field=value   any event bus configuration field (repeatable)\n"
               "  --timeout MS     per operation (default 10000)\n");
}

typedef struct dlq_opts {
    const char *cmd;
    long limit, timeout;
    long partition;
    long long offset;
    bool force, json;
} dlq_opts;

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

static int
parse(int argc, char **argv, kw_bus_config *c, dlq_opts *o)
{
    kw_error err;
    kw_error_init(&err);
    memset(o, 0, sizeof(*o));
    o->limit = 100;
    o->timeout = 10000;
    o->partition = -1;
    o->offset = -1;
    if (argc < 2)
        return 2;
    o->cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        kw_err e = KW_ERR_OK;
        if (strcmp(a, "--force") == 0) {
            o->force = true;
            continue;
        }
        if (strcmp(a, "-J") == 0) {
            o->json = true;
            continue;
        }
        if (!v)
            return 2;
        i++;
        if (strcmp(a, "-b") == 0) {
            e = kw_bus_config_set(c, "bootstrap_servers", v, &err);
        } else if (strcmp(a, "--prefix") == 0) {
            e = kw_bus_config_set(c, "topic_prefix", v, &err);
        } else if (strcmp(a, "--limit") == 0) {
            o->limit = strtol(v, NULL, 10);
        } else if (strcmp(a, "--timeout") == 0) {
            o->timeout = strtol(v, NULL, 10);
        } else if (strcmp(a, "--partition") == 0) {
            o->partition = strtol(v, NULL, 10);
        } else if (strcmp(a, "--offset") == 0) {
            o->offset = strtoll(v, NULL, 10);
        } else if (strcmp(a, "-c") == 0) {
            const char *eq = strchr(v, '=');
            char field[64];
            if (!eq || (size_t)(eq - v) >= sizeof(field))
                return 2;
            snprintf(field, sizeof(field), "%.*s", (int)(eq - v), v);
            e = kw_bus_config_set(c, field, eq + 1, &err);
        } else {
            return 2;
        }
        if (e != KW_ERR_OK) {
            fprintf(stderr, "kwire dlq: %s\n", err.msg);
            return 1;
        }
    }
    return 0;
}

int
cmd_dlq(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        usage(stdout);
        return 0;
    }
    kw_bus_config c;
    kw_bus_config_init(&c);
    c.create_topics = false;
    dlq_opts o;
    int rc = parse(argc, argv, &c, &o);
    bool replay = rc == 0 && strcmp(o.cmd, "replay") == 0;
    if (rc == 0 && !replay && strcmp(o.cmd, "list") != 0 && strcmp(o.cmd, "count") != 0)
        rc = 2;
    if (rc == 0 && replay && (o.partition < 0 || o.offset < 0))
        rc = 2;
    if (rc != 0) {
        if (rc == 2)
            usage(stderr);
        return rc;
    }
    kw_error err;
    kw_error_init(&err);
    kw_bus *bus = NULL;
    kw_err e = kw_bus_new(&c, NULL, &bus, &err);
    if (e == KW_ERR_OK)
        e = kw_bus_connect(bus, (int)o.timeout, &err);
    if (e == KW_ERR_OK && strcmp(o.cmd, "count") == 0) {
        int64_t n = 0;
        e = kw_bus_get_dlq_message_count(bus, (int)o.timeout, &n, &err);
        if (e == KW_ERR_OK)
            printf("%lld\n", (long long)n);
    } else if (e == KW_ERR_OK && strcmp(o.cmd, "list") == 0) {
        kw_bus_dlq_list l;
        e = kw_bus_get_dlq_messages(bus, o.limit > 0 ? (size_t)o.limit : 0, (int)o.timeout, &l,
                                    &err);
        for (size_t i = 0; e == KW_ERR_OK && i < l.n; i++)
            print_msg(&l.messages[i], o.json);
        if (e == KW_ERR_OK)
            kw_bus_dlq_list_free(&l);
    } else if (e == KW_ERR_OK) {
        e = kw_bus_replay_dlq_message(bus, (int32_t)o.partition, o.offset, o.force, (int)o.timeout,
                                      &err);
        if (e == KW_ERR_OK)
            printf("replayed partition %ld offset %lld\n", o.partition, o.offset);
    }
    kw_bus_free(bus);
    if (e != KW_ERR_OK) {
        fprintf(stderr, "kwire dlq %s: %s\n", o.cmd, err.msg[0] ? err.msg : kw_err_str(e));
        return e == KW_ERR_STATE ? 3 : 1;
    }
    return 0;
}
