/* The event bus configuration: defaults, setting fields by name, the environment, validation,
 * a dump that hides secrets, and the translation into client properties.
 *
 * One table describes every field (name, type, where it lives in the struct), so setting by
 * name, the environment and both dump formats cannot disagree about which fields exist. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bus/bus_int.h"
#include "kwire/codec.h"

typedef enum ftype { F_STR, F_SECRET, F_ENUM, F_I32, F_I16, F_DBL, F_BOOL, F_MODE } ftype;

typedef struct field {
    const char *name;
    ftype type;
    size_t off, size;
    const char *const *values; /* F_ENUM: canonical values; "" allowed when listed */
} field;

static const char *const acks_vals[] = {"all", "1", "0", NULL};
static const char *const compression_vals[] = {"none", "gzip", "snappy", "lz4", "zstd", NULL};
static const char *const reset_vals[] = {"earliest", "latest", "none", NULL};
static const char *const security_vals[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", NULL};
static const char *const sasl_vals[] = {"", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", NULL};

#define FLD(n, t)                                                                                  \
    {                                                                                              \
#n, t, offsetof(kw_bus_config, n), sizeof(((kw_bus_config *)0)->n), NULL                   \
    }
#define ENM(n, v)                                                                                  \
    {                                                                                              \
#n, F_ENUM, offsetof(kw_bus_config, n), sizeof(((kw_bus_config *)0)->n), v                 \
    }

/* In declaration order: the dump order. */
static const field fields[] = {
    FLD(bootstrap_servers, F_STR),
    FLD(topic_prefix, F_STR),
    FLD(consumer_group, F_STR),
    FLD(consumer_name, F_STR),
    ENM(acks, acks_vals),
    ENM(compression_type, compression_vals),
    FLD(batch_size, F_I32),
    FLD(linger_ms, F_I32),
    ENM(auto_offset_reset, reset_vals),
    FLD(session_timeout_ms, F_I32),
    FLD(heartbeat_interval_ms, F_I32),
    FLD(max_poll_interval_ms, F_I32),
    FLD(max_retries, F_I32),
    FLD(retry_base_delay, F_DBL),
    FLD(retry_max_delay, F_DBL),
    FLD(retry_jitter, F_DBL),
    FLD(retry_mode, F_MODE),
    FLD(enable_dlq, F_BOOL),
    FLD(dlq_topic_suffix, F_STR),
    FLD(dlq_max_replay_attempts, F_I32),
    FLD(create_topics, F_BOOL),
    FLD(topic_partitions, F_I32),
    FLD(topic_replication_factor, F_I16),
    ENM(security_protocol, security_vals),
    ENM(sasl_mechanism, sasl_vals),
    FLD(sasl_username, F_STR),
    FLD(sasl_password, F_SECRET),
    FLD(ssl_cafile, F_STR),
    FLD(ssl_certfile, F_STR),
    FLD(ssl_keyfile, F_STR),
    FLD(ssl_key_password, F_SECRET),
    FLD(ssl_check_hostname, F_BOOL),
    FLD(enable_tracing, F_BOOL),
    FLD(enable_metrics, F_BOOL),
    FLD(shutdown_timeout, F_DBL),
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

/* eventsource-py's environment variables. */
static const struct {
    const char *var, *field;
} env_map[] = {
    {"KAFKA_BOOTSTRAP_SERVERS", "bootstrap_servers"},
    {"KAFKA_TOPIC_PREFIX", "topic_prefix"},
    {"KAFKA_CONSUMER_GROUP", "consumer_group"},
    {"KAFKA_SECURITY_PROTOCOL", "security_protocol"},
    {"KAFKA_SASL_MECHANISM", "sasl_mechanism"},
    {"KAFKA_SASL_USERNAME", "sasl_username"},
    {"KAFKA_SASL_PASSWORD", "sasl_password"},
    {"KAFKA_SSL_CAFILE", "ssl_cafile"},
};

static void *
at(const kw_bus_config *c, const field *f)
{
    return (char *)c + f->off;
}

static void
copy_str(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ---------------------------------------------------------------- defaults */

static void
default_consumer_name(char *out, size_t size)
{
    char host[256];
    if (gethostname(host, sizeof(host)) != 0 || host[0] == '\0')
        copy_str(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    kw_uuid u;
    kw_uuid_v4(&u);
    char id[KW_UUID_STR_SIZE];
    kw_uuid_format(&u, id);
    /* "{hostname}-{8 hex digits}" as eventsource-py (uuid4().hex[:8]); the hostname is cut so
     * the random part always fits. */
    size_t room = size - 1 - 9;
    size_t hl = strlen(host);
    if (hl > room)
        hl = room;
    memcpy(out, host, hl);
    out[hl] = '-';
    memcpy(out + hl + 1, id, 8);
    out[hl + 9] = '\0';
}

void
kw_bus_config_init(kw_bus_config *c)
{
    if (!c)
        return;
    memset(c, 0, sizeof(*c));
    copy_str(c->bootstrap_servers, sizeof(c->bootstrap_servers), "localhost:9092");
    copy_str(c->topic_prefix, sizeof(c->topic_prefix), "events");
    copy_str(c->consumer_group, sizeof(c->consumer_group), "default");
    default_consumer_name(c->consumer_name, sizeof(c->consumer_name));
    copy_str(c->acks, sizeof(c->acks), "all");
    /* eventsource-py's default, when this build has it (a build without zlib cannot send
     * gzip; "none" then, instead of a configuration every default bus would fail on). */
    copy_str(c->compression_type, sizeof(c->compression_type),
             kw_codec_available(KW_CODEC_GZIP) ? "gzip" : "none");
    c->batch_size = 16384;
    c->linger_ms = 5;
    copy_str(c->auto_offset_reset, sizeof(c->auto_offset_reset), "earliest");
    c->session_timeout_ms = 30000;
    c->heartbeat_interval_ms = 10000;
    c->max_poll_interval_ms = 300000;
    c->max_retries = 3;
    c->retry_base_delay = 1.0;
    c->retry_max_delay = 60.0;
    c->retry_jitter = 0.1;
    c->retry_mode = KW_BUS_RETRY_IN_PLACE;
    c->enable_dlq = true;
    copy_str(c->dlq_topic_suffix, sizeof(c->dlq_topic_suffix), ".dlq");
    c->dlq_max_replay_attempts = 3;
    c->create_topics = true;
    c->topic_partitions = -1;
    c->topic_replication_factor = -1;
    copy_str(c->security_protocol, sizeof(c->security_protocol), "PLAINTEXT");
    c->ssl_check_hostname = true;
    c->enable_tracing = true;
    c->enable_metrics = true;
    c->shutdown_timeout = 30.0;
}

/* ---------------------------------------------------------------- set by name */

static const field *
find_field(const char *name)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (strcmp(fields[i].name, name) == 0)
            return &fields[i];
    return NULL;
}

static bool
parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return true;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return true;
        }
    }
    return false;
}

static bool
parse_i64(const char *v, int64_t lo, int64_t hi, int64_t *out)
{
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || errno != 0 || isspace((unsigned char)*v) || x < lo || x > hi)
        return false;
    *out = x;
    return true;
}

/* The canonical spelling of an enum value, or NULL. "none" and "" both mean "not set" where
 * that is allowed. */
static const char *
enum_value(const field *f, const char *v)
{
    if (f->values == acks_vals && strcmp(v, "-1") == 0)
        return "all";
    if (f->values == compression_vals && v[0] == '\0')
        return "none";
    if (f->values == sasl_vals && strcasecmp(v, "none") == 0)
        return "";
    for (size_t i = 0; f->values[i]; i++)
        if (strcasecmp(v, f->values[i]) == 0)
            return f->values[i];
    return NULL;
}

static void
list_values(const field *f, char *out, size_t size)
{
    kwi_bus_out o;
    kwi_bus_out_init(&o, out, size);
    bool first = true;
    for (size_t i = 0; f->values[i]; i++) {
        if (f->values[i][0] == '\0')
            continue;
        kwi_bus_out_str(&o, first ? "" : ", ");
        kwi_bus_out_str(&o, f->values[i]);
        first = false;
    }
    size_t len;
    kwi_bus_out_finish(&o, &len);
}

static kw_err
set_value(kw_bus_config *c, const field *f, const char *label, const char *v, kw_error *err)
{
    void *p = at(c, f);
    int64_t n;
    switch (f->type) {
    case F_STR:
    case F_SECRET:
        if (strlen(v) >= f->size)
            return kw_error_set(err, KW_ERR_CONFIG, "%s: longer than %zu bytes", label,
                                f->size - 1);
        copy_str(p, f->size, v);
        return KW_ERR_OK;
    case F_ENUM: {
        const char *canon = enum_value(f, v);
        if (!canon) {
            char vals[128];
            list_values(f, vals, sizeof(vals));
            return kw_error_set(err, KW_ERR_CONFIG, "%s: \"%.64s\" is not one of %s", label, v,
                                vals);
        }
        copy_str(p, f->size, canon);
        return KW_ERR_OK;
    }
    case F_I32:
    case F_I16: {
        int64_t lo = f->type == F_I32 ? INT32_MIN : INT16_MIN;
        int64_t hi = f->type == F_I32 ? INT32_MAX : INT16_MAX;
        if (!parse_i64(v, lo, hi, &n))
            return kw_error_set(err, KW_ERR_CONFIG,
                                "%s: \"%.64s\" is not an integer in [%lld, %lld]", label, v,
                                (long long)lo, (long long)hi);
        if (f->type == F_I32)
            *(int32_t *)p = (int32_t)n;
        else
            *(int16_t *)p = (int16_t)n;
        return KW_ERR_OK;
    }
    case F_DBL: {
        char *end;
        errno = 0;
        double d = strtod(v, &end);
        if (end == v || *end != '\0' || errno != 0 || !isfinite(d) || isspace((unsigned char)*v))
            return kw_error_set(err, KW_ERR_CONFIG, "%s: \"%.64s\" is not a number", label, v);
        *(double *)p = d;
        return KW_ERR_OK;
    }
    case F_BOOL:
        if (!parse_bool(v, (bool *)p))
            return kw_error_set(err, KW_ERR_CONFIG, "%s: \"%.64s\" is not true or false", label, v);
        return KW_ERR_OK;
    case F_MODE:
        if (strcasecmp(v, "in_place") == 0)
            *(kw_bus_retry_mode *)p = KW_BUS_RETRY_IN_PLACE;
        else if (strcasecmp(v, "republish") == 0)
            *(kw_bus_retry_mode *)p = KW_BUS_RETRY_REPUBLISH;
        else
            return kw_error_set(err, KW_ERR_CONFIG,
                                "%s: \"%.64s\" is not one of in_place, republish", label, v);
        return KW_ERR_OK;
    }
    return KW_ERR_INVALID_ARG;
}

kw_err
kw_bus_config_set(kw_bus_config *c, const char *name, const char *value, kw_error *err)
{
    if (!c || !name || !value)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kw_bus_config_set: NULL argument");
    const field *f = find_field(name);
    if (!f)
        return kw_error_set(err, KW_ERR_NOT_FOUND, "unknown bus configuration field \"%.64s\"",
                            name);
    return set_value(c, f, name, value, err);
}

kw_err
kwi_bus_config_from_lookup(kw_bus_config *c, kwi_bus_getenv_fn get, void *ud, kw_error *err)
{
    if (!c || !get)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kw_bus_config_from_env: NULL argument");
    kw_bus_config_init(c);
    for (size_t i = 0; i < sizeof(env_map) / sizeof(env_map[0]); i++) {
        const char *v = get(env_map[i].var, ud);
        if (!v || !*v)
            continue;
        const field *f = find_field(env_map[i].field);
        /* The message names the variable: that is what the user has to fix. */
        kw_err e = set_value(c, f, env_map[i].var, v, err);
        if (e != KW_ERR_OK)
            return e;
    }
    return KW_ERR_OK;
}

static const char *
real_getenv(const char *name, void *ud)
{
    (void)ud;
    return getenv(name);
}

kw_err
kw_bus_config_from_env(kw_bus_config *c, kw_error *err)
{
    return kwi_bus_config_from_lookup(c, real_getenv, NULL, err);
}

/* ---------------------------------------------------------------- topics */

static kw_err
write_topic(const kw_bus_config *c, bool dlq, char *buf, size_t *len)
{
    if (!c || !len)
        return KW_ERR_INVALID_ARG;
    kwi_bus_out o;
    kwi_bus_out_init(&o, buf, buf ? *len : 0);
    kwi_bus_out_str(&o, c->topic_prefix);
    kwi_bus_out_str(&o, ".stream");
    if (dlq)
        kwi_bus_out_str(&o, c->dlq_topic_suffix);
    return kwi_bus_out_finish(&o, len);
}

kw_err
kw_bus_config_topic(const kw_bus_config *c, char *buf, size_t *len)
{
    return write_topic(c, false, buf, len);
}

kw_err
kw_bus_config_dlq_topic(const kw_bus_config *c, char *buf, size_t *len)
{
    return write_topic(c, true, buf, len);
}

/* ---------------------------------------------------------------- dump */

static void
dump_value(kwi_bus_out *o, const kw_bus_config *c, const field *f, bool json)
{
    const void *p = at(c, f);
    switch (f->type) {
    case F_STR:
    case F_ENUM:
        if (json)
            kwi_bus_out_json_str(o, p, strlen(p));
        else
            kwi_bus_out_str(o, p);
        return;
    case F_SECRET: {
        bool set = ((const char *)p)[0] != '\0';
        if (json)
            kwi_bus_out_str(o, set ? "\"[hidden]\"" : "null");
        else
            kwi_bus_out_str(o, set ? "[hidden]" : "");
        return;
    }
    case F_I32:
        kwi_bus_out_fmt(o, "%d", (int)*(const int32_t *)p);
        return;
    case F_I16:
        kwi_bus_out_fmt(o, "%d", (int)*(const int16_t *)p);
        return;
    case F_DBL:
        kwi_bus_out_num(o, *(const double *)p);
        return;
    case F_BOOL:
        kwi_bus_out_str(o, *(const bool *)p ? "true" : "false");
        return;
    case F_MODE: {
        const char *m =
            *(const kw_bus_retry_mode *)p == KW_BUS_RETRY_REPUBLISH ? "republish" : "in_place";
        kwi_bus_out_str(o, json ? (m[0] == 'r' ? "\"republish\"" : "\"in_place\"") : m);
        return;
    }
    }
}

kw_err
kw_bus_config_dump(const kw_bus_config *c, kw_bus_format fmt, char *buf, size_t *len)
{
    if (!c || !len || (fmt != KW_BUS_FORMAT_TEXT && fmt != KW_BUS_FORMAT_JSON))
        return KW_ERR_INVALID_ARG;
    bool json = fmt == KW_BUS_FORMAT_JSON;
    kwi_bus_out o;
    kwi_bus_out_init(&o, buf, buf ? *len : 0);
    if (json)
        kwi_bus_out_str(&o, "{");
    for (size_t i = 0; i < N_FIELDS; i++) {
        if (json)
            kwi_bus_out_fmt(&o, "%s\"%s\":", i ? "," : "", fields[i].name);
        else
            kwi_bus_out_fmt(&o, "%s = ", fields[i].name);
        dump_value(&o, c, &fields[i], json);
        if (!json)
            kwi_bus_out_str(&o, "\n");
    }
    char topic[KW_BUS_NAME_MAX + 2 * KW_BUS_ENUM_MAX];
    size_t tl = sizeof(topic);
    write_topic(c, false, topic, &tl);
    if (json) {
        kwi_bus_out_str(&o, ",\"topic\":");
        kwi_bus_out_json_str(&o, topic, strlen(topic));
    } else {
        kwi_bus_out_fmt(&o, "topic = %s\n", topic);
    }
    tl = sizeof(topic);
    write_topic(c, true, topic, &tl);
    if (json) {
        kwi_bus_out_str(&o, ",\"dlq_topic\":");
        kwi_bus_out_json_str(&o, topic, strlen(topic));
        kwi_bus_out_str(&o, "}");
    } else {
        kwi_bus_out_fmt(&o, "dlq_topic = %s\n", topic);
    }
    return kwi_bus_out_finish(&o, len);
}

/* ---------------------------------------------------------------- translation */

int
kwi_bus_config_acks(const kw_bus_config *c)
{
    if (strcasecmp(c->acks, "all") == 0 || strcmp(c->acks, "-1") == 0)
        return -1;
    return atoi(c->acks);
}

static kw_err
put(kw_conf *conf, const char *name, const char *value, kw_error *err)
{
    kw_error tmp;
    kw_error_init(&tmp);
    kw_err e = kw_conf_set(conf, name, value, &tmp);
    if (e == KW_ERR_OK)
        return e;
    if (e == KW_ERR_NOMEM)
        return kw_error_set(err, e, "out of memory setting %s", name);
    return kw_error_set(err, KW_ERR_CONFIG, "%s", tmp.msg);
}

static kw_err
put_int(kw_conf *conf, const char *name, int64_t v, kw_error *err)
{
    char num[24];
    snprintf(num, sizeof(num), "%lld", (long long)v);
    return put(conf, name, num, err);
}

/* Security properties: the same for every role. */
static kw_err
put_security(const kw_bus_config *c, kw_conf *conf, kw_error *err)
{
    kw_err e = put(conf, "security.protocol", c->security_protocol, err);
    if (e == KW_ERR_OK && c->sasl_mechanism[0])
        e = put(conf, "sasl.mechanism", c->sasl_mechanism, err);
    if (e == KW_ERR_OK && c->sasl_username[0])
        e = put(conf, "sasl.username", c->sasl_username, err);
    if (e == KW_ERR_OK && c->sasl_password[0])
        e = put(conf, "sasl.password", c->sasl_password, err);
    if (e == KW_ERR_OK && c->ssl_cafile[0])
        e = put(conf, "ssl.ca.location", c->ssl_cafile, err);
    if (e == KW_ERR_OK && c->ssl_certfile[0])
        e = put(conf, "ssl.certificate.location", c->ssl_certfile, err);
    if (e == KW_ERR_OK && c->ssl_keyfile[0])
        e = put(conf, "ssl.key.location", c->ssl_keyfile, err);
    if (e == KW_ERR_OK && c->ssl_key_password[0])
        e = put(conf, "ssl.key.password", c->ssl_key_password, err);
    if (e == KW_ERR_OK)
        e = put(conf, "ssl.endpoint.identification.algorithm",
                c->ssl_check_hostname ? "https" : "none", err);
    return e;
}

kw_err
kw_bus_config_to_conf(const kw_bus_config *c, unsigned roles, kw_conf *conf, kw_error *err)
{
    if (!c || !conf)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kw_bus_config_to_conf: NULL argument");
    kw_err e = kw_bus_config_validate(c, err);
    if (e != KW_ERR_OK)
        return e;
    e = put(conf, "bootstrap.servers", c->bootstrap_servers, err);
    if (e == KW_ERR_OK)
        e = put(conf, "client.id", c->consumer_name, err);
    if (e == KW_ERR_OK)
        e = put_security(c, conf, err);
    if (e == KW_ERR_OK && (roles & KW_BUS_CONF_PRODUCER)) {
        e = put(conf, "acks", c->acks, err);
        if (e == KW_ERR_OK)
            e = put(conf, "compression.type", c->compression_type, err);
        if (e == KW_ERR_OK)
            e = put_int(conf, "batch.size", c->batch_size, err);
        if (e == KW_ERR_OK)
            e = put_int(conf, "linger.ms", c->linger_ms, err);
    }
    if (e == KW_ERR_OK && (roles & KW_BUS_CONF_CONSUMER)) {
        e = put(conf, "group.id", c->consumer_group, err);
        if (e == KW_ERR_OK)
            e = put(conf, "auto.offset.reset", c->auto_offset_reset, err);
        if (e == KW_ERR_OK)
            e = put_int(conf, "session.timeout.ms", c->session_timeout_ms, err);
        if (e == KW_ERR_OK)
            e = put_int(conf, "heartbeat.interval.ms", c->heartbeat_interval_ms, err);
        if (e == KW_ERR_OK)
            e = put_int(conf, "max.poll.interval.ms", c->max_poll_interval_ms, err);
        if (e == KW_ERR_OK)
            e = put(conf, "enable.auto.commit", "false", err);
    }
    return e;
}
