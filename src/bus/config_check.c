/* Validation of the event bus configuration: every field and every combination, each problem
 * a KW_ERR_CONFIG whose message starts with the field to fix. The checks are eventsource-py's
 * (security consistency, retry policy bounds) plus what would otherwise surface later as a
 * less clear error from the client (ranges of the Kafka properties, topic names). */
#include <math.h>
#include <string.h>
#include <strings.h>

#include "bus/bus_int.h"

static bool
one_of(const char *v, const char *const *vals)
{
    for (size_t i = 0; vals[i]; i++)
        if (strcasecmp(v, vals[i]) == 0)
            return true;
    return false;
}

static bool
topic_chars_ok(const char *s)
{
    for (; *s; s++) {
        char ch = *s;
        bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                  (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
        if (!ok)
            return false;
    }
    return true;
}

static kw_err
check_enums(const kw_bus_config *c, kw_error *err)
{
    static const char *const acks[] = {"all", "-1", "0", "1", NULL};
    static const char *const comp[] = {"none", "gzip", "snappy", "lz4", "zstd", "", NULL};
    static const char *const reset[] = {"earliest", "latest", "none", NULL};
    static const char *const sec[] = {"PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL", NULL};
    static const char *const mech[] = {"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "", NULL};
    if (!one_of(c->acks, acks))
        return kw_error_set(err, KW_ERR_CONFIG, "acks: \"%s\" is not one of all, 1, 0", c->acks);
    if (!one_of(c->compression_type, comp))
        return kw_error_set(err, KW_ERR_CONFIG,
                            "compression_type: \"%s\" is not one of none, gzip, snappy, lz4, zstd",
                            c->compression_type);
    if (!one_of(c->auto_offset_reset, reset))
        return kw_error_set(err, KW_ERR_CONFIG,
                            "auto_offset_reset: \"%s\" is not one of earliest, latest, none",
                            c->auto_offset_reset);
    if (!one_of(c->security_protocol, sec))
        return kw_error_set(err, KW_ERR_CONFIG,
                            "security_protocol: \"%s\" is not one of PLAINTEXT, SSL, "
                            "SASL_PLAINTEXT, SASL_SSL",
                            c->security_protocol);
    if (!one_of(c->sasl_mechanism, mech))
        return kw_error_set(err, KW_ERR_CONFIG,
                            "sasl_mechanism: \"%s\" is not one of PLAIN, SCRAM-SHA-256, "
                            "SCRAM-SHA-512",
                            c->sasl_mechanism);
    if (c->retry_mode != KW_BUS_RETRY_IN_PLACE && c->retry_mode != KW_BUS_RETRY_REPUBLISH)
        return kw_error_set(err, KW_ERR_CONFIG, "retry_mode: %d is not in_place or republish",
                            (int)c->retry_mode);
    return KW_ERR_OK;
}

static kw_err
check_security(const kw_bus_config *c, kw_error *err)
{
    bool sasl = strncasecmp(c->security_protocol, "SASL_", 5) == 0;
    bool ssl = strcasecmp(c->security_protocol, "SSL") == 0 ||
               strcasecmp(c->security_protocol, "SASL_SSL") == 0;
    if (sasl && !c->sasl_mechanism[0])
        return kw_error_set(err, KW_ERR_CONFIG, "sasl_mechanism: required with %s",
                            c->security_protocol);
    if (sasl && (!c->sasl_username[0] || !c->sasl_password[0]))
        return kw_error_set(err, KW_ERR_CONFIG,
                            "%s: sasl_username and sasl_password are required for SASL "
                            "authentication",
                            !c->sasl_username[0] ? "sasl_username" : "sasl_password");
    if (!sasl && c->sasl_mechanism[0])
        return kw_error_set(err, KW_ERR_CONFIG,
                            "sasl_mechanism: set, but security_protocol %s does not use SASL",
                            c->security_protocol);
    if (c->ssl_certfile[0] && !c->ssl_keyfile[0])
        return kw_error_set(err, KW_ERR_CONFIG,
                            "ssl_keyfile: required when ssl_certfile is provided (mTLS)");
    if (c->ssl_keyfile[0] && !c->ssl_certfile[0])
        return kw_error_set(err, KW_ERR_CONFIG,
                            "ssl_certfile: required when ssl_keyfile is provided (mTLS)");
    if (c->ssl_key_password[0] && !c->ssl_keyfile[0])
        return kw_error_set(err, KW_ERR_CONFIG,
                            "ssl_key_password: set, but there is no ssl_keyfile");
    if (!ssl && (c->ssl_cafile[0] || c->ssl_certfile[0]))
        return kw_error_set(err, KW_ERR_CONFIG,
                            "%s: set, but security_protocol %s does not use TLS (use SSL or "
                            "SASL_SSL)",
                            c->ssl_cafile[0] ? "ssl_cafile" : "ssl_certfile", c->security_protocol);
    return KW_ERR_OK;
}

/* Ranges of the client properties each field becomes (src/util/conf_props.c). */
static kw_err
check_numbers(const kw_bus_config *c, kw_error *err)
{
    if (c->batch_size <= 0)
        return kw_error_set(err, KW_ERR_CONFIG, "batch_size: %d must be > 0", (int)c->batch_size);
    if (c->linger_ms < 0 || c->linger_ms > 900000)
        return kw_error_set(err, KW_ERR_CONFIG, "linger_ms: %d is outside [0, 900000]",
                            (int)c->linger_ms);
    if (c->session_timeout_ms < 1 || c->session_timeout_ms > 3600000)
        return kw_error_set(err, KW_ERR_CONFIG, "session_timeout_ms: %d is outside [1, 3600000]",
                            (int)c->session_timeout_ms);
    if (c->heartbeat_interval_ms < 1 || c->heartbeat_interval_ms >= c->session_timeout_ms)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "heartbeat_interval_ms: %d must be > 0 and below session_timeout_ms "
                            "(%d)",
                            (int)c->heartbeat_interval_ms, (int)c->session_timeout_ms);
    if (c->max_poll_interval_ms < c->session_timeout_ms || c->max_poll_interval_ms > 86400000)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "max_poll_interval_ms: %d must be at least session_timeout_ms (%d) "
                            "and at most 86400000",
                            (int)c->max_poll_interval_ms, (int)c->session_timeout_ms);
    if (c->max_retries < 0)
        return kw_error_set(err, KW_ERR_CONFIG, "max_retries: %d must be >= 0",
                            (int)c->max_retries);
    if (!isfinite(c->retry_base_delay) || c->retry_base_delay <= 0)
        return kw_error_set(err, KW_ERR_CONFIG, "retry_base_delay: %g must be > 0",
                            c->retry_base_delay);
    if (!isfinite(c->retry_max_delay) || c->retry_max_delay < c->retry_base_delay)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "retry_max_delay: %g must be >= retry_base_delay (%g)",
                            c->retry_max_delay, c->retry_base_delay);
    if (!(c->retry_jitter >= 0.0 && c->retry_jitter <= 1.0)) /* also refuses NaN */
        return kw_error_set(err, KW_ERR_CONFIG, "retry_jitter: %g is outside [0, 1]",
                            c->retry_jitter);
    if (c->dlq_max_replay_attempts < 0)
        return kw_error_set(err, KW_ERR_CONFIG, "dlq_max_replay_attempts: %d must be >= 0",
                            (int)c->dlq_max_replay_attempts);
    if (c->topic_partitions == 0 || c->topic_partitions < -1)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "topic_partitions: %d must be -1 (broker default) or > 0",
                            (int)c->topic_partitions);
    if (c->topic_replication_factor == 0 || c->topic_replication_factor < -1)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "topic_replication_factor: %d must be -1 (broker default) or > 0",
                            (int)c->topic_replication_factor);
    if (!isfinite(c->shutdown_timeout) || c->shutdown_timeout < 0)
        return kw_error_set(err, KW_ERR_CONFIG, "shutdown_timeout: %g must be >= 0",
                            c->shutdown_timeout);
    return KW_ERR_OK;
}

static bool
terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static kw_err
check_names(const kw_bus_config *c, kw_error *err)
{
    /* The struct may have been filled by hand: every string must end inside its array. */
    const struct {
        const char *name, *s;
        size_t size;
    } strs[] = {
        {"bootstrap_servers", c->bootstrap_servers, sizeof(c->bootstrap_servers)},
        {"topic_prefix", c->topic_prefix, sizeof(c->topic_prefix)},
        {"consumer_group", c->consumer_group, sizeof(c->consumer_group)},
        {"consumer_name", c->consumer_name, sizeof(c->consumer_name)},
        {"acks", c->acks, sizeof(c->acks)},
        {"compression_type", c->compression_type, sizeof(c->compression_type)},
        {"auto_offset_reset", c->auto_offset_reset, sizeof(c->auto_offset_reset)},
        {"dlq_topic_suffix", c->dlq_topic_suffix, sizeof(c->dlq_topic_suffix)},
        {"security_protocol", c->security_protocol, sizeof(c->security_protocol)},
        {"sasl_mechanism", c->sasl_mechanism, sizeof(c->sasl_mechanism)},
        {"sasl_username", c->sasl_username, sizeof(c->sasl_username)},
        {"sasl_password", c->sasl_password, sizeof(c->sasl_password)},
        {"ssl_cafile", c->ssl_cafile, sizeof(c->ssl_cafile)},
        {"ssl_certfile", c->ssl_certfile, sizeof(c->ssl_certfile)},
        {"ssl_keyfile", c->ssl_keyfile, sizeof(c->ssl_keyfile)},
        {"ssl_key_password", c->ssl_key_password, sizeof(c->ssl_key_password)},
    };
    for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
        if (!terminated(strs[i].s, strs[i].size))
            return kw_error_set(err, KW_ERR_CONFIG, "%s: not NUL-terminated", strs[i].name);
    if (!c->bootstrap_servers[0])
        return kw_error_set(err, KW_ERR_CONFIG, "bootstrap_servers: empty");
    if (!c->consumer_group[0])
        return kw_error_set(err, KW_ERR_CONFIG, "consumer_group: empty");
    if (!c->consumer_name[0])
        return kw_error_set(err, KW_ERR_CONFIG, "consumer_name: empty");
    if (!c->topic_prefix[0] || !topic_chars_ok(c->topic_prefix))
        return kw_error_set(err, KW_ERR_CONFIG,
                            "topic_prefix: \"%.64s\" must be non-empty [a-zA-Z0-9._-]",
                            c->topic_prefix);
    if (!c->dlq_topic_suffix[0] || !topic_chars_ok(c->dlq_topic_suffix))
        return kw_error_set(err, KW_ERR_CONFIG,
                            "dlq_topic_suffix: \"%.32s\" must be non-empty [a-zA-Z0-9._-] (the "
                            "DLQ cannot be the main topic)",
                            c->dlq_topic_suffix);
    size_t dlq_len = strlen(c->topic_prefix) + strlen(".stream") + strlen(c->dlq_topic_suffix);
    if (dlq_len > 249)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "topic_prefix: the DLQ topic would have %zu characters, Kafka allows "
                            "249",
                            dlq_len);
    return KW_ERR_OK;
}

kw_err
kw_bus_config_validate(const kw_bus_config *c, kw_error *err)
{
    if (!c)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kw_bus_config_validate: NULL config");
    kw_err e = check_names(c, err);
    if (e == KW_ERR_OK)
        e = check_enums(c, err);
    if (e == KW_ERR_OK)
        e = check_security(c, err);
    if (e == KW_ERR_OK)
        e = check_numbers(c, err);
    return e;
}
