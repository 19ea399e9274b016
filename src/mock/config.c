/* Topic configs: the names kwire-mock accepts in CreateTopics and kw_mock_topic_config_set,
 * their checks, defaults (the broker settings they override) and what DescribeConfigs reports.
 *
 * Only some have an effect here (retention.bytes, max.message.bytes, message.timestamp.type,
 * cleanup.policy's key requirement); the others are stored and reported so that admin clients
 * round-trip them. An unknown name is INVALID_CONFIG, as on a real broker. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mock_int.h"

typedef enum cfg_kind { K_LONG, K_INT, K_BOOL, K_POLICY, K_COMPRESSION, K_TSTYPE } cfg_kind;

typedef struct cfg_def {
    const char *name;
    cfg_kind kind;
    int64_t min, max;    /* K_LONG, K_INT */
    const char *fixed;   /* the default when it does not come from kw_mock_conf */
    const char *synonym; /* the broker setting that supplies the default */
    int8_t type;         /* DescribeConfigs ConfigType */
} cfg_def;

/* ConfigType values of DescribeConfigs v3+. */
#define T_BOOLEAN 1
#define T_STRING  2
#define T_INT     3
#define T_LONG    5
#define T_LIST    7

static const cfg_def defs[KWI_CFG__COUNT] = {
    [KWI_CFG_CLEANUP_POLICY] = {"cleanup.policy", K_POLICY, 0, 0, "delete", "log.cleanup.policy",
                                T_LIST},
    [KWI_CFG_COMPRESSION_TYPE] = {"compression.type", K_COMPRESSION, 0, 0, "producer",
                                  "compression.type", T_STRING},
    [KWI_CFG_MAX_MESSAGE_BYTES] = {"max.message.bytes", K_INT, 0, INT32_MAX, NULL,
                                   "message.max.bytes", T_INT},
    [KWI_CFG_MESSAGE_TIMESTAMP_TYPE] = {"message.timestamp.type", K_TSTYPE, 0, 0, NULL,
                                        "log.message.timestamp.type", T_STRING},
    [KWI_CFG_MIN_INSYNC_REPLICAS] = {"min.insync.replicas", K_INT, 1, INT32_MAX, "1",
                                     "min.insync.replicas", T_INT},
    [KWI_CFG_RETENTION_BYTES] = {"retention.bytes", K_LONG, INT64_MIN, INT64_MAX, NULL,
                                 "log.retention.bytes", T_LONG},
    [KWI_CFG_RETENTION_MS] = {"retention.ms", K_LONG, -1, INT64_MAX, NULL, "log.retention.ms",
                              T_LONG},
    [KWI_CFG_SEGMENT_BYTES] = {"segment.bytes", K_INT, 14, INT32_MAX, "1073741824",
                               "log.segment.bytes", T_INT},
    [KWI_CFG_SEGMENT_MS] = {"segment.ms", K_LONG, 1, INT64_MAX, "604800000", "log.roll.ms", T_LONG},
    [KWI_CFG_DELETE_RETENTION_MS] = {"delete.retention.ms", K_LONG, 0, INT64_MAX, "86400000",
                                     "log.cleaner.delete.retention.ms", T_LONG},
    [KWI_CFG_MIN_COMPACTION_LAG_MS] = {"min.compaction.lag.ms", K_LONG, 0, INT64_MAX, "0",
                                       "log.cleaner.min.compaction.lag.ms", T_LONG},
    [KWI_CFG_UNCLEAN_LEADER_ELECTION] = {"unclean.leader.election.enable", K_BOOL, 0, 0, "false",
                                         "unclean.leader.election.enable", T_BOOLEAN},
};

const char *
kwi_mock_cfg_name(kwi_mock_cfg_id id)
{
    return defs[id].name;
}

const char *
kwi_mock_cfg_synonym(kwi_mock_cfg_id id)
{
    return defs[id].synonym;
}

int8_t
kwi_mock_cfg_type(kwi_mock_cfg_id id)
{
    return defs[id].type;
}

int
kwi_mock_cfg_lookup(kw_slice name)
{
    for (int i = 0; i < KWI_CFG__COUNT; i++)
        if (name.len >= 0 && strlen(defs[i].name) == (size_t)name.len &&
            memcmp(defs[i].name, name.ptr, (size_t)name.len) == 0)
            return i;
    return -1;
}

/* A whole decimal integer within [min, max]. */
static bool
parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!*s)
        return false;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool
one_of(const char *s, const char *const *names)
{
    for (; *names; names++)
        if (strcasecmp(s, *names) == 0)
            return true;
    return false;
}

/* Checks `s` against the def; NULL when valid, else why not. */
static const char *
check(const cfg_def *d, const char *s)
{
    static const char *const bools[] = {"true", "false", NULL};
    static const char *const codecs[] = {"uncompressed", "zstd",     "lz4", "snappy",
                                         "gzip",         "producer", NULL};
    static const char *const tstypes[] = {"CreateTime", "LogAppendTime", NULL};
    int64_t v;
    switch (d->kind) {
    case K_LONG:
    case K_INT:
        return parse_int(s, d->min, d->max, &v) ? NULL : "not an integer in range";
    case K_BOOL:
        return one_of(s, bools) ? NULL : "expected true or false";
    case K_COMPRESSION:
        return one_of(s, codecs) ? NULL : "unknown compression type";
    case K_TSTYPE:
        return one_of(s, tstypes) ? NULL : "expected CreateTime or LogAppendTime";
    case K_POLICY: {
        /* A comma-separated list of delete and compact (Kafka allows both, either order). */
        const char *p = s;
        if (!*p)
            return "empty cleanup.policy";
        while (*p) {
            while (*p == ' ')
                p++;
            size_t n = strcspn(p, ", ");
            if (!((n == 6 && strncmp(p, "delete", 6) == 0) ||
                  (n == 7 && strncmp(p, "compact", 7) == 0)))
                return "cleanup.policy items must be delete or compact";
            p += n;
            while (*p == ' ')
                p++;
            if (*p == ',')
                p++;
        }
        return NULL;
    }
    }
    return "unknown";
}

const char *
kwi_mock_cfg_value(const kw_mock *m, const kwi_mock_topic *t, kwi_mock_cfg_id id, char *buf,
                   size_t cap, bool *is_default)
{
    *is_default = !t || !t->cfg[id];
    if (!*is_default)
        return t->cfg[id];
    const cfg_def *d = &defs[id];
    if (d->fixed)
        return d->fixed;
    switch (id) {
    case KWI_CFG_MAX_MESSAGE_BYTES:
        snprintf(buf, cap, "%d", (int)m->conf.message_max_bytes);
        break;
    case KWI_CFG_RETENTION_BYTES:
        snprintf(buf, cap, "%lld", (long long)m->conf.retention_bytes);
        break;
    case KWI_CFG_RETENTION_MS:
        snprintf(buf, cap, "%lld", (long long)m->conf.retention_ms);
        break;
    case KWI_CFG_MESSAGE_TIMESTAMP_TYPE:
        snprintf(buf, cap, "%s", m->conf.log_append_time ? "LogAppendTime" : "CreateTime");
        break;
    default:
        snprintf(buf, cap, "%s", "");
        break;
    }
    return buf;
}

void
kwi_mock_cfg_apply(kw_mock *m, kwi_mock_topic *t)
{
    char buf[32];
    bool dflt;
    int64_t v;
    const char *s = kwi_mock_cfg_value(m, t, KWI_CFG_RETENTION_BYTES, buf, sizeof(buf), &dflt);
    t->retention_bytes = parse_int(s, INT64_MIN, INT64_MAX, &v) ? v : -1;
    s = kwi_mock_cfg_value(m, t, KWI_CFG_MAX_MESSAGE_BYTES, buf, sizeof(buf), &dflt);
    t->max_message_bytes = parse_int(s, 0, INT32_MAX, &v) ? (int32_t)v : m->conf.message_max_bytes;
    s = kwi_mock_cfg_value(m, t, KWI_CFG_CLEANUP_POLICY, buf, sizeof(buf), &dflt);
    t->compacted = strstr(s, "compact") != NULL;
    s = kwi_mock_cfg_value(m, t, KWI_CFG_MESSAGE_TIMESTAMP_TYPE, buf, sizeof(buf), &dflt);
    t->log_append_time = strcasecmp(s, "LogAppendTime") == 0;
    if (t->retention_bytes >= 0)
        for (int32_t i = 0; i < t->n_parts; i++)
            kwi_mock_log_retain(&t->parts[i]->log, t->retention_bytes);
}

const char *
kwi_mock_cfg_check(kwi_mock_cfg_id id, kw_slice value)
{
    char buf[256];
    if (value.len < 0)
        return "null value";
    if ((size_t)value.len >= sizeof(buf))
        return "value too long";
    if (value.len)
        memcpy(buf, value.ptr, (size_t)value.len);
    buf[value.len] = '\0';
    if (strlen(buf) != (size_t)value.len)
        return "value contains a NUL byte";
    return check(&defs[id], buf);
}

const char *
kwi_mock_cfg_set(kw_mock *m, kwi_mock_topic *t, kwi_mock_cfg_id id, kw_slice value)
{
    char *copy = NULL;
    if (value.len >= 0) {
        const char *why = kwi_mock_cfg_check(id, value);
        if (why)
            return why;
        copy = m->a->alloc(m->a->ud, (size_t)value.len + 1);
        if (!copy)
            return "";
        if (value.len)
            memcpy(copy, value.ptr, (size_t)value.len);
        copy[value.len] = '\0';
    }
    if (t->cfg[id])
        m->a->free(m->a->ud, t->cfg[id], strlen(t->cfg[id]) + 1);
    t->cfg[id] = copy;
    kwi_mock_cfg_apply(m, t);
    return NULL;
}
