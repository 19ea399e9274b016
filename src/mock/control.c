/* The control channel: one text command in, one line out ("ok", "ok <value>" or
 * "error: <why>"). The standalone `kwire mock` feeds it the lines of its stdin; tests may call
 * kw_mock_command directly. The command names follow librdkafka's mock cluster control where
 * the two overlap (../shared/bench/rdk_mock.c: create, down, up, rtt, leader, coordinator,
 * error, apiversion), with a broker id first wherever the fault is per broker.
 *
 * Every command goes through the public C API, which takes the cluster's lock itself, so this
 * file holds no lock and needs none of the internals. Arguments are checked strictly (a number
 * must be all digits and in range; an API is a key or a name such as "Produce"; an error code
 * a number or a name such as NOT_LEADER_OR_FOLLOWER) and a bad one is an "error:" answer. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "kwire/codec.h"
#include "mock_fault.h"

#define MAX_TOKENS 16
#define LINE_MAX_  4096

typedef struct cmd {
    kw_mock *m;
    char *tok[MAX_TOKENS];
    int n;
    char *out;
    size_t cap;
} cmd;

static kw_err answer(cmd *c, kw_err e, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static kw_err
answer(cmd *c, kw_err e, const char *fmt, ...)
{
    if (!c->cap)
        return e;
    size_t off = (size_t)snprintf(c->out, c->cap, "%s", e ? "error: " : "ok");
    if (fmt && off < c->cap) {
        if (!e && off + 1 < c->cap)
            c->out[off++] = ' ';
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->out + off, c->cap - off, fmt, ap);
        va_end(ap);
    }
    return e;
}

static bool
num(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno || v < min || v > max)
        return false;
    *out = v;
    return true;
}

/* An API key or a name ("Produce", "ApiVersions"; case-insensitive). */
static int
api_key(const char *s)
{
    long long v;
    if (num(s, 0, KWI_MOCK_API_MAX - 1, &v))
        return (int)v;
    size_t n = strlen(s);
    for (size_t i = 0; kw_msgdef_at(i); i++) {
        const kw_msgdef *d = kw_msgdef_at(i);
        if (d->response || d->api_key < 0)
            continue;
        if (strlen(d->name) == n + 7 && strncasecmp(d->name, s, n) == 0 &&
            strcmp(d->name + n, "Request") == 0)
            return d->api_key;
    }
    return -1;
}

/* A broker error code: a number or its name (NOT_LEADER_OR_FOLLOWER, case-insensitive). */
static bool
error_code(const char *s, int16_t *out)
{
    long long v;
    if (num(s, -1, 32767, &v)) {
        *out = (int16_t)v;
        return true;
    }
    for (int c = -1; c < 512; c++)
        if (strcasecmp(kw_broker_err_name((int16_t)c), s) == 0) {
            *out = (int16_t)c;
            return true;
        }
    return false;
}

static bool
broker(cmd *c, const char *s, bool zero_ok, int32_t *out)
{
    long long v;
    if (!num(s, zero_ok ? 0 : 1, kw_mock_broker_count(c->m), &v))
        return false;
    *out = (int32_t)v;
    return true;
}

static kw_err
usage(cmd *c, const char *u)
{
    return answer(c, KW_ERR_INVALID_ARG, "usage: %s", u);
}

static kw_err
result(cmd *c, kw_err e, const char *what)
{
    if (e)
        return answer(c, e, "%s: %s", what, kw_err_str(e));
    return answer(c, e, NULL);
}

/* ---------------------------------------------------------------- commands */

static kw_err
c_create(cmd *c)
{
    long long parts = -1, rf = -1;
    if (c->n < 2 || c->n > 4 || (c->n > 2 && !num(c->tok[2], 1, KW_MOCK_MAX_PARTITIONS, &parts)) ||
        (c->n > 3 && !num(c->tok[3], 1, KW_MOCK_MAX_BROKERS, &rf)))
        return usage(c, "create <topic> [partitions] [replication-factor]");
    kw_error err;
    kw_error_init(&err);
    kw_err e = kw_mock_topic_create(c->m, c->tok[1], (int32_t)parts, (int16_t)rf, &err);
    return e ? answer(c, e, "%s", err.msg) : answer(c, e, NULL);
}

static kw_err
c_delete(cmd *c)
{
    if (c->n != 2)
        return usage(c, "delete <topic>");
    return result(c, kw_mock_topic_delete(c->m, c->tok[1]), "no such topic");
}

static kw_err
c_leader(cmd *c)
{
    long long p;
    int32_t b;
    if (c->n != 4 || !num(c->tok[2], 0, INT32_MAX, &p) || !broker(c, c->tok[3], false, &b))
        return usage(c, "leader <topic> <partition> <broker>");
    return result(c, kw_mock_partition_leader_set(c->m, c->tok[1], (int32_t)p, b),
                  "no such partition");
}

static kw_err
c_coordinator(cmd *c)
{
    int32_t b = -1;
    int8_t type = -1;
    if (c->n == 4 && strcmp(c->tok[1], "group") == 0)
        type = KW_MOCK_COORD_GROUP;
    else if (c->n == 4 && strcmp(c->tok[1], "transaction") == 0)
        type = KW_MOCK_COORD_TXN;
    long long v;
    bool restore = c->n == 4 && num(c->tok[3], -1, -1, &v);
    if (type < 0 || (!restore && !broker(c, c->tok[3], false, &b)))
        return usage(c, "coordinator group|transaction <key> <broker|-1>");
    return result(c, kw_mock_coordinator_set(c->m, type, c->tok[2], restore ? -1 : b),
                  "cannot move the coordinator");
}

static kw_err
c_error(cmd *c)
{
    int32_t b;
    int16_t code;
    long long count = 1;
    int api = c->n >= 4 ? api_key(c->tok[2]) : -1;
    if (c->n < 4 || c->n > 5 || !broker(c, c->tok[1], true, &b) || api < 0 ||
        !error_code(c->tok[3], &code) ||
        (c->n == 5 && !num(c->tok[4], 1, KWI_MOCK_FAULT_MAX_CODES, &count)))
        return usage(c, "error <broker|0> <api> <code> [count]");
    int16_t codes[KWI_MOCK_FAULT_MAX_CODES];
    for (long long i = 0; i < count; i++)
        codes[i] = code;
    kw_err e = kw_mock_fault_errors(c->m, b, (int16_t)api, codes, (int32_t)count);
    return result(c, e, "cannot queue the error (an API without error answers, or too many)");
}

static kw_err
c_errors(cmd *c)
{
    int32_t b;
    int api = c->n >= 4 ? api_key(c->tok[2]) : -1;
    int16_t codes[MAX_TOKENS];
    bool ok = c->n >= 4 && broker(c, c->tok[1], true, &b) && api >= 0;
    for (int i = 3; ok && i < c->n; i++)
        ok = error_code(c->tok[i], &codes[i - 3]);
    if (!ok)
        return usage(c, "errors <broker|0> <api> <code> [code...]");
    kw_err e = kw_mock_fault_errors(c->m, b, (int16_t)api, codes, c->n - 3);
    return result(c, e, "cannot queue the errors");
}

static kw_err
c_drop(cmd *c)
{
    int32_t b;
    int api = -1;
    long long skip = 0;
    bool ok = c->n >= 2 && c->n <= 4 && broker(c, c->tok[1], false, &b);
    if (ok && c->n >= 3 && strcmp(c->tok[2], "any") != 0)
        ok = (api = api_key(c->tok[2])) >= 0;
    if (ok && c->n == 4)
        ok = num(c->tok[3], 0, INT32_MAX, &skip);
    if (!ok)
        return usage(c, "drop <broker> [<api>|any] [skip]");
    return result(c, kw_mock_fault_drop(c->m, b, (int16_t)api, (int32_t)skip), "cannot arm");
}

static kw_err
c_down_up(cmd *c)
{
    int32_t b;
    bool down = strcmp(c->tok[0], "down") == 0;
    if (c->n != 2 || !broker(c, c->tok[1], false, &b))
        return usage(c, down ? "down <broker>" : "up <broker>");
    if (down)
        return result(c, kw_mock_broker_down(c->m, b), "cannot take it down");
    kw_error err;
    kw_error_init(&err);
    kw_err e = kw_mock_broker_up(c->m, b, &err);
    return e ? answer(c, e, "%s", err.msg) : answer(c, e, NULL);
}

static kw_err
c_rtt(cmd *c)
{
    int32_t b;
    long long ms;
    if (c->n != 3 || !broker(c, c->tok[1], true, &b) || !num(c->tok[2], 0, INT32_MAX, &ms))
        return usage(c, "rtt <broker|0> <ms>");
    return result(c, kw_mock_broker_rtt(c->m, b, (int32_t)ms), "cannot set");
}

static kw_err
c_chunk(cmd *c)
{
    int32_t b;
    long long bytes, ms = 1000;
    bool trickle = strcmp(c->tok[0], "trickle") == 0;
    bool ok = c->n >= 2 && broker(c, c->tok[1], true, &b);
    if (trickle) {
        bytes = 1;
        ok = ok && c->n <= 3 && (c->n == 2 || num(c->tok[2], 0, INT32_MAX, &ms));
    } else {
        ok = ok && c->n == 4 && num(c->tok[2], 0, INT32_MAX, &bytes) &&
             num(c->tok[3], 0, INT32_MAX, &ms);
    }
    if (!ok)
        return usage(c, trickle ? "trickle <broker|0> [ms per byte]"
                                : "chunk <broker|0> <bytes> <delay-ms>");
    return result(c, kw_mock_broker_chunked(c->m, b, (int32_t)bytes, (int32_t)ms), "cannot set");
}

static kw_err
c_hostile(cmd *c)
{
    int32_t b;
    int kind = c->n >= 3 ? kwi_mock_hostile_lookup(c->tok[2]) : 0;
    int api = -1;
    long long arg = 0;
    int i = 3;
    bool ok = c->n >= 3 && broker(c, c->tok[1], false, &b) && kind;
    if (ok && i < c->n && strcmp(c->tok[i], "api") != 0) {
        if (kind == KW_MOCK_HOSTILE_BOMB && strcmp(c->tok[i], "gzip") == 0)
            arg = KW_CODEC_GZIP;
        else if (kind == KW_MOCK_HOSTILE_BOMB && strcmp(c->tok[i], "zstd") == 0)
            arg = KW_CODEC_ZSTD;
        else
            ok = num(c->tok[i], INT32_MIN, INT32_MAX, &arg);
        i++;
    }
    if (ok && i < c->n) {
        ok = i + 2 == c->n && strcmp(c->tok[i], "api") == 0;
        ok = ok && (api = api_key(c->tok[i + 1])) >= 0;
    }
    if (!ok)
        return usage(c, "hostile <broker> length|correlation|duplicate|unsolicited|truncate|"
                        "array|string|crc|bomb|silent [arg] [api <api>]");
    return result(c, kw_mock_fault_hostile(c->m, b, (kw_mock_hostile)kind, (int16_t)api, arg),
                  "cannot arm it (a bad argument, or too many armed)");
}

static kw_err
c_clear(cmd *c)
{
    int32_t b = 0;
    if (c->n != 2 || (strcmp(c->tok[1], "all") != 0 && !broker(c, c->tok[1], true, &b)))
        return usage(c, "clear <broker>|all");
    return result(c, kw_mock_fault_clear(c->m, b), "cannot clear");
}

static kw_err
c_apiversion(cmd *c)
{
    int api = c->n >= 3 ? api_key(c->tok[1]) : -1;
    long long lo, hi;
    if (api >= 0 && c->n == 3 && strcmp(c->tok[2], "reset") == 0)
        return result(c, kw_mock_api_versions_reset(c->m, (int16_t)api), "not served");
    if (api < 0 || c->n != 4 || !num(c->tok[2], -1, 32767, &lo) || !num(c->tok[3], -1, 32767, &hi))
        return usage(c, "apiversion <api> <min> <max> | apiversion <api> reset");
    return result(c, kw_mock_api_versions_set(c->m, (int16_t)api, (int16_t)lo, (int16_t)hi),
                  "bad range or API not served");
}

static kw_err
c_emulate(cmd *c)
{
    if (c->n != 2)
        return usage(c, "emulate 2.8|3.9|4.0|latest");
    return result(c, kw_mock_emulate(c->m, c->tok[1]), "unknown release");
}

static kw_err
c_sasl(cmd *c)
{
    if (c->n != 4)
        return usage(c, "sasl <mechanism> <user> <password>");
    kw_error err;
    kw_error_init(&err);
    kw_err e = kw_mock_sasl_user_add(c->m, c->tok[1], c->tok[2], c->tok[3], &err);
    return e ? answer(c, e, "%s", err.msg) : answer(c, e, NULL);
}

static kw_err
c_produce(cmd *c)
{
    long long p;
    if (c->n != 5 || !num(c->tok[2], 0, INT32_MAX, &p))
        return usage(c, "produce <topic> <partition> <key|-> <value>");
    kw_slice key = strcmp(c->tok[3], "-") == 0 ? KW_SLICE_NULL : kw_slice_str(c->tok[3]);
    int64_t off;
    kw_error err;
    kw_error_init(&err);
    kw_err e = kw_mock_append_record(c->m, c->tok[1], (int32_t)p, key, kw_slice_str(c->tok[4]), -1,
                                     &off, &err);
    if (e)
        return answer(c, e, "%s", err.msg[0] ? err.msg : kw_err_str(e));
    return answer(c, e, "%lld", (long long)off);
}

static kw_err
c_bootstrap(cmd *c)
{
    return answer(c, KW_ERR_OK, "%s", kw_mock_bootstrap(c->m));
}

static kw_err c_help(cmd *c);

static const struct {
    const char *name;
    kw_err (*fn)(cmd *c);
    const char *help;
} commands[] = {
    {"create", c_create, "create <topic> [partitions] [replication-factor]"},
    {"delete", c_delete, "delete <topic>"},
    {"produce", c_produce, "produce <topic> <partition> <key|-> <value>"},
    {"leader", c_leader, "leader <topic> <partition> <broker>"},
    {"coordinator", c_coordinator, "coordinator group|transaction <key> <broker|-1>"},
    {"error", c_error, "error <broker|0> <api> <code> [count]"},
    {"errors", c_errors, "errors <broker|0> <api> <code> [code...]"},
    {"drop", c_drop, "drop <broker> [<api>|any] [skip]"},
    {"down", c_down_up, "down <broker>"},
    {"up", c_down_up, "up <broker>"},
    {"rtt", c_rtt, "rtt <broker|0> <ms>"},
    {"chunk", c_chunk, "chunk <broker|0> <bytes> <delay-ms>"},
    {"trickle", c_chunk, "trickle <broker|0> [ms per byte]"},
    {"hostile", c_hostile, "hostile <broker> <kind> [arg] [api <api>]"},
    {"clear", c_clear, "clear <broker>|all"},
    {"apiversion", c_apiversion, "apiversion <api> <min> <max> | <api> reset"},
    {"emulate", c_emulate, "emulate 2.8|3.9|4.0|latest"},
    {"sasl", c_sasl, "sasl <mechanism> <user> <password>"},
    {"bootstrap", c_bootstrap, "bootstrap"},
    {"help", c_help, "help"},
    {"quit", NULL, "quit"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static kw_err
c_help(cmd *c)
{
    char buf[1024];
    size_t off = 0;
    for (size_t i = 0; i < N_COMMANDS && off < sizeof(buf); i++)
        off +=
            (size_t)snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? "; " : "", commands[i].help);
    return answer(c, KW_ERR_OK, "%s", buf);
}

kw_err
kw_mock_command(kw_mock *m, const char *line, char *out, size_t cap)
{
    cmd c = {m, {NULL}, 0, out, cap};
    if (cap)
        out[0] = '\0';
    char buf[LINE_MAX_];
    size_t len = line ? strlen(line) : 0;
    if (len >= sizeof(buf))
        return answer(&c, KW_ERR_INVALID_ARG, "line longer than %d bytes", LINE_MAX_ - 1);
    memcpy(buf, line ? line : "", len + 1);
    for (char *p = buf; c.n <= MAX_TOKENS;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            *p++ = '\0';
        if (!*p)
            break;
        if (c.n == MAX_TOKENS)
            return answer(&c, KW_ERR_INVALID_ARG, "more than %d words", MAX_TOKENS);
        c.tok[c.n++] = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
            p++;
    }
    if (c.n == 0)
        return answer(&c, KW_ERR_INVALID_ARG, "empty command (try help)");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        if (strcmp(commands[i].name, c.tok[0]) != 0)
            continue;
        if (!commands[i].fn) {
            answer(&c, KW_ERR_OK, NULL);
            return KW_ERR_CANCELED; /* quit: the caller stops (no command fails with it) */
        }
        return commands[i].fn(&c);
    }
    return answer(&c, KW_ERR_INVALID_ARG, "unknown command %s (try help)", c.tok[0]);
}
