/* The event bus configuration: eventsource-py's defaults, the environment, setting by name,
 * every validation rule with its message, the dump with secrets hidden (exact text and JSON),
 * and the client properties a configuration becomes. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus/bus_int.h"
#include "kwire/codec.h"
#include "kwire/conf.h"

static void
cfg_fixed(kw_bus_config *c)
{
    kw_bus_config_init(c);
    strcpy(c->consumer_name, "host-0123abcd");
    strcpy(c->compression_type, "gzip"); /* the default where zlib is built in */
}

START_TEST(defaults_are_eventsources)
{
    kw_bus_config c;
    kw_bus_config_init(&c);
    ck_assert_str_eq(c.bootstrap_servers, "localhost:9092");
    ck_assert_str_eq(c.topic_prefix, "events");
    ck_assert_str_eq(c.consumer_group, "default");
    ck_assert_str_eq(c.acks, "all");
    ck_assert_str_eq(c.compression_type, kw_codec_available(KW_CODEC_GZIP) ? "gzip" : "none");
    ck_assert_int_eq(c.batch_size, 16384);
    ck_assert_int_eq(c.linger_ms, 5);
    ck_assert_str_eq(c.auto_offset_reset, "earliest");
    ck_assert_int_eq(c.session_timeout_ms, 30000);
    ck_assert_int_eq(c.heartbeat_interval_ms, 10000);
    ck_assert_int_eq(c.max_poll_interval_ms, 300000);
    ck_assert_int_eq(c.max_retries, 3);
    ck_assert(c.retry_base_delay == 1.0);
    ck_assert(c.retry_max_delay == 60.0);
    ck_assert(c.retry_jitter == 0.1);
    ck_assert_int_eq(c.retry_mode, KW_BUS_RETRY_IN_PLACE);
    ck_assert(c.enable_dlq);
    ck_assert_str_eq(c.dlq_topic_suffix, ".dlq");
    ck_assert_int_eq(c.dlq_max_replay_attempts, 3);
    ck_assert_str_eq(c.security_protocol, "PLAINTEXT");
    ck_assert_str_eq(c.sasl_mechanism, "");
    ck_assert(c.ssl_check_hostname);
    ck_assert(c.enable_tracing);
    ck_assert(c.enable_metrics);
    ck_assert(c.shutdown_timeout == 30.0);
    ck_assert_int_eq(kw_bus_config_validate(&c, NULL), KW_ERR_OK);

    /* consumer_name: "{hostname}-{8 lowercase hex digits}". */
    char host[256] = "";
    gethostname(host, sizeof(host));
    size_t hl = strlen(host);
    ck_assert_uint_eq(strlen(c.consumer_name), hl + 9);
    ck_assert(strncmp(c.consumer_name, host, hl) == 0);
    ck_assert_int_eq(c.consumer_name[hl], '-');
    for (size_t i = hl + 1; i < hl + 9; i++)
        ck_assert_msg(strchr("0123456789abcdef", c.consumer_name[i]), "%s", c.consumer_name);
    kw_bus_config d;
    kw_bus_config_init(&d);
    ck_assert_str_ne(c.consumer_name, d.consumer_name); /* 32 random bits each */

    char buf[64];
    size_t len = sizeof(buf);
    ck_assert_int_eq(kw_bus_config_topic(&c, buf, &len), KW_ERR_OK);
    ck_assert_str_eq(buf, "events.stream");
    ck_assert_uint_eq(len, 14);
    len = sizeof(buf);
    ck_assert_int_eq(kw_bus_config_dlq_topic(&c, buf, &len), KW_ERR_OK);
    ck_assert_str_eq(buf, "events.stream.dlq");
    len = 5;
    ck_assert_int_eq(kw_bus_config_dlq_topic(&c, buf, &len), KW_ERR_NOSPACE);
    ck_assert_uint_eq(len, 18);
}
END_TEST

START_TEST(from_env_reads_eventsources_variables)
{
    setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9093,k2:9093", 1);
    setenv("KAFKA_TOPIC_PREFIX", "orders", 1);
    setenv("KAFKA_CONSUMER_GROUP", "billing", 1);
    setenv("KAFKA_SECURITY_PROTOCOL", "sasl_ssl", 1);
    setenv("KAFKA_SASL_MECHANISM", "scram-sha-512", 1);
    setenv("KAFKA_SASL_USERNAME", "alice", 1);
    setenv("KAFKA_SASL_PASSWORD", " s3cret ", 1);
    setenv("KAFKA_SSL_CAFILE", "/etc/ca.pem", 1);
    kw_bus_config c;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_config_from_env(&c, &err), KW_ERR_OK);
    ck_assert_str_eq(c.bootstrap_servers, "k1:9093,k2:9093");
    ck_assert_str_eq(c.topic_prefix, "orders");
    ck_assert_str_eq(c.consumer_group, "billing");
    ck_assert_str_eq(c.security_protocol, "SASL_SSL"); /* canonical case */
    ck_assert_str_eq(c.sasl_mechanism, "SCRAM-SHA-512");
    ck_assert_str_eq(c.sasl_username, "alice");
    ck_assert_str_eq(c.sasl_password, " s3cret "); /* secrets are kept as given */
    ck_assert_str_eq(c.ssl_cafile, "/etc/ca.pem");
    ck_assert_str_eq(c.acks, "all"); /* the rest stays at its default */
    ck_assert_int_eq(kw_bus_config_validate(&c, &err), KW_ERR_OK);

    /* Empty means unset; a bad value names the variable. */
    setenv("KAFKA_TOPIC_PREFIX", "", 1);
    setenv("KAFKA_SECURITY_PROTOCOL", "TLS", 1);
    ck_assert_int_eq(kw_bus_config_from_env(&c, &err), KW_ERR_CONFIG);
    ck_assert_str_eq(err.msg, "KAFKA_SECURITY_PROTOCOL: \"TLS\" is not one of PLAINTEXT, SSL, "
                              "SASL_PLAINTEXT, SASL_SSL");
    ck_assert_str_eq(c.topic_prefix, "events");
    ck_assert_str_eq(c.consumer_group, "billing"); /* applied before the bad one */
}
END_TEST

static const char *
fake_env(const char *name, void *ud)
{
    (void)ud;
    if (strcmp(name, "KAFKA_SASL_MECHANISM") == 0)
        return "GSSAPI";
    return NULL;
}

START_TEST(from_lookup_is_injectable)
{
    kw_bus_config c;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kwi_bus_config_from_lookup(&c, fake_env, NULL, &err), KW_ERR_CONFIG);
    ck_assert_str_eq(err.msg, "KAFKA_SASL_MECHANISM: \"GSSAPI\" is not one of PLAIN, "
                              "SCRAM-SHA-256, SCRAM-SHA-512");
    ck_assert_int_eq(kwi_bus_config_from_lookup(NULL, fake_env, NULL, &err), KW_ERR_INVALID_ARG);
}
END_TEST

START_TEST(set_by_name)
{
    kw_bus_config c;
    kw_error err;
    kw_error_init(&err);
    cfg_fixed(&c);
    ck_assert_int_eq(kw_bus_config_set(&c, "linger_ms", "20", &err), KW_ERR_OK);
    ck_assert_int_eq(c.linger_ms, 20);
    ck_assert_int_eq(kw_bus_config_set(&c, "retry_jitter", "0.25", &err), KW_ERR_OK);
    ck_assert(c.retry_jitter == 0.25);
    ck_assert_int_eq(kw_bus_config_set(&c, "enable_dlq", "OFF", &err), KW_ERR_OK);
    ck_assert(!c.enable_dlq);
    ck_assert_int_eq(kw_bus_config_set(&c, "enable_dlq", "yes", &err), KW_ERR_OK);
    ck_assert(c.enable_dlq);
    ck_assert_int_eq(kw_bus_config_set(&c, "acks", "-1", &err), KW_ERR_OK);
    ck_assert_str_eq(c.acks, "all");
    ck_assert_int_eq(kw_bus_config_set(&c, "compression_type", "", &err), KW_ERR_OK);
    ck_assert_str_eq(c.compression_type, "none");
    ck_assert_int_eq(kw_bus_config_set(&c, "compression_type", "ZSTD", &err), KW_ERR_OK);
    ck_assert_str_eq(c.compression_type, "zstd");
    ck_assert_int_eq(kw_bus_config_set(&c, "retry_mode", "republish", &err), KW_ERR_OK);
    ck_assert_int_eq(c.retry_mode, KW_BUS_RETRY_REPUBLISH);
    ck_assert_int_eq(kw_bus_config_set(&c, "topic_replication_factor", "3", &err), KW_ERR_OK);
    ck_assert_int_eq(c.topic_replication_factor, 3);
    ck_assert_int_eq(kw_bus_config_set(&c, "sasl_mechanism", "none", &err), KW_ERR_OK);
    ck_assert_str_eq(c.sasl_mechanism, "");

    ck_assert_int_eq(kw_bus_config_set(&c, "lingr_ms", "1", &err), KW_ERR_NOT_FOUND);
    ck_assert_str_eq(err.msg, "unknown bus configuration field \"lingr_ms\"");
    ck_assert_int_eq(kw_bus_config_set(&c, "linger_ms", "5ms", &err), KW_ERR_CONFIG);
    ck_assert_str_eq(err.msg, "linger_ms: \"5ms\" is not an integer in [-2147483648, 2147483647]");
    ck_assert_int_eq(c.linger_ms, 20); /* unchanged */
    ck_assert_int_eq(kw_bus_config_set(&c, "linger_ms", "99999999999", &err), KW_ERR_CONFIG);
    ck_assert_int_eq(kw_bus_config_set(&c, "topic_replication_factor", "40000", &err),
                     KW_ERR_CONFIG);
    ck_assert_int_eq(kw_bus_config_set(&c, "retry_base_delay", "inf", &err), KW_ERR_CONFIG);
    ck_assert_str_eq(err.msg, "retry_base_delay: \"inf\" is not a number");
    ck_assert_int_eq(kw_bus_config_set(&c, "retry_base_delay", " 1", &err), KW_ERR_CONFIG);
    ck_assert_int_eq(kw_bus_config_set(&c, "enable_tracing", "maybe", &err), KW_ERR_CONFIG);
    ck_assert_str_eq(err.msg, "enable_tracing: \"maybe\" is not true or false");
    ck_assert_int_eq(kw_bus_config_set(&c, "retry_mode", "later", &err), KW_ERR_CONFIG);
    ck_assert_str_eq(err.msg, "retry_mode: \"later\" is not one of in_place, republish");
    ck_assert_int_eq(kw_bus_config_set(&c, "acks", "2", &err), KW_ERR_CONFIG);
    ck_assert_str_eq(err.msg, "acks: \"2\" is not one of all, 1, 0");
    char big[KW_BUS_NAME_MAX + 1];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(kw_bus_config_set(&c, "consumer_group", big, &err), KW_ERR_CONFIG);
    ck_assert_str_eq(err.msg, "consumer_group: longer than 255 bytes");
    ck_assert_int_eq(kw_bus_config_set(&c, NULL, "x", &err), KW_ERR_INVALID_ARG);
}
END_TEST

/* One invalid configuration per row: the mutation, and the message validation must give. */
typedef struct bad_case {
    const char *field, *value; /* through kw_bus_config_set, or NULL: apply() below */
    int special;
    const char *msg;
} bad_case;

static void
apply(kw_bus_config *c, int special)
{
    switch (special) {
    case 1: /* SASL without a mechanism */
        strcpy(c->security_protocol, "SASL_SSL");
        break;
    case 2: /* SASL without a password */
        strcpy(c->security_protocol, "SASL_PLAINTEXT");
        strcpy(c->sasl_mechanism, "PLAIN");
        strcpy(c->sasl_username, "u");
        break;
    case 3:
        strcpy(c->security_protocol, "SSL");
        strcpy(c->ssl_certfile, "/c.pem");
        break;
    case 4:
        strcpy(c->security_protocol, "SSL");
        strcpy(c->ssl_keyfile, "/k.pem");
        break;
    case 5:
        strcpy(c->acks, "most");
        break;
    case 6:
        strcpy(c->compression_type, "brotli");
        break;
    case 7:
        c->retry_jitter = NAN;
        break;
    case 8:
        memset(c->topic_prefix, 'x', sizeof(c->topic_prefix)); /* no NUL */
        break;
    case 9:
        strcpy(c->sasl_mechanism, "PLAIN"); /* with PLAINTEXT */
        break;
    case 10:
        strcpy(c->ssl_cafile, "/ca.pem"); /* with PLAINTEXT */
        break;
    case 11:
        memset(c->topic_prefix, 'x', 245);
        c->topic_prefix[245] = '\0';
        break;
    case 12:
        c->retry_mode = (kw_bus_retry_mode)7;
        break;
    case 13:
        strcpy(c->security_protocol, "SSL");
        strcpy(c->ssl_key_password, "pw");
        break;
    }
}

static const bad_case bad[] = {
    {NULL, NULL, 1, "sasl_mechanism: required with SASL_SSL"},
    {NULL, NULL, 2,
     "sasl_password: sasl_username and sasl_password are required for SASL authentication"},
    {NULL, NULL, 3, "ssl_keyfile: required when ssl_certfile is provided (mTLS)"},
    {NULL, NULL, 4, "ssl_certfile: required when ssl_keyfile is provided (mTLS)"},
    {NULL, NULL, 5, "acks: \"most\" is not one of all, 1, 0"},
    {NULL, NULL, 6, "compression_type: \"brotli\" is not one of none, gzip, snappy, lz4, zstd"},
    {NULL, NULL, 7, "retry_jitter: nan is outside [0, 1]"},
    {NULL, NULL, 8, "topic_prefix: not NUL-terminated"},
    {NULL, NULL, 9, "sasl_mechanism: set, but security_protocol PLAINTEXT does not use SASL"},
    {NULL, NULL, 10,
     "ssl_cafile: set, but security_protocol PLAINTEXT does not use TLS (use SSL or SASL_SSL)"},
    {NULL, NULL, 11, "topic_prefix: the DLQ topic would have 256 characters, Kafka allows 249"},
    {NULL, NULL, 12, "retry_mode: 7 is not in_place or republish"},
    {NULL, NULL, 13, "ssl_key_password: set, but there is no ssl_keyfile"},
    {"batch_size", "0", 0, "batch_size: 0 must be > 0"},
    {"linger_ms", "-1", 0, "linger_ms: -1 is outside [0, 900000]"},
    {"session_timeout_ms", "0", 0, "session_timeout_ms: 0 is outside [1, 3600000]"},
    {"heartbeat_interval_ms", "30000", 0,
     "heartbeat_interval_ms: 30000 must be > 0 and below session_timeout_ms (30000)"},
    {"max_poll_interval_ms", "29999", 0,
     "max_poll_interval_ms: 29999 must be at least session_timeout_ms (30000) and at most "
     "86400000"},
    {"max_retries", "-1", 0, "max_retries: -1 must be >= 0"},
    {"retry_base_delay", "0", 0, "retry_base_delay: 0 must be > 0"},
    {"retry_base_delay", "-0.5", 0, "retry_base_delay: -0.5 must be > 0"},
    {"retry_max_delay", "0.5", 0, "retry_max_delay: 0.5 must be >= retry_base_delay (1)"},
    {"retry_jitter", "1.5", 0, "retry_jitter: 1.5 is outside [0, 1]"},
    {"retry_jitter", "-0.1", 0, "retry_jitter: -0.1 is outside [0, 1]"},
    {"dlq_max_replay_attempts", "-2", 0, "dlq_max_replay_attempts: -2 must be >= 0"},
    {"topic_partitions", "0", 0, "topic_partitions: 0 must be -1 (broker default) or > 0"},
    {"topic_replication_factor", "-3", 0,
     "topic_replication_factor: -3 must be -1 (broker default) or > 0"},
    {"shutdown_timeout", "-1", 0, "shutdown_timeout: -1 must be >= 0"},
    {"bootstrap_servers", "", 0, "bootstrap_servers: empty"},
    {"consumer_group", "", 0, "consumer_group: empty"},
    {"consumer_name", "", 0, "consumer_name: empty"},
    {"topic_prefix", "my events", 0,
     "topic_prefix: \"my events\" must be non-empty [a-zA-Z0-9._-]"},
    {"topic_prefix", "", 0, "topic_prefix: \"\" must be non-empty [a-zA-Z0-9._-]"},
    {"dlq_topic_suffix", "", 0,
     "dlq_topic_suffix: \"\" must be non-empty [a-zA-Z0-9._-] (the DLQ cannot be the main "
     "topic)"},
};

START_TEST(validation_names_the_field)
{
    const bad_case *b = &bad[_i];
    kw_bus_config c;
    kw_error err;
    kw_error_init(&err);
    cfg_fixed(&c);
    if (b->field)
        ck_assert_int_eq(kw_bus_config_set(&c, b->field, b->value, &err), KW_ERR_OK);
    else
        apply(&c, b->special);
    ck_assert_int_eq(kw_bus_config_validate(&c, &err), KW_ERR_CONFIG);
    ck_assert_str_eq(err.msg, b->msg);
    /* to_conf refuses the same configuration, with the same message. */
    kw_conf *conf;
    ck_assert_int_eq(kw_conf_new(NULL, &conf), KW_ERR_OK);
    kw_error_init(&err);
    ck_assert_int_eq(kw_bus_config_to_conf(&c, KW_BUS_CONF_PRODUCER, conf, &err), KW_ERR_CONFIG);
    ck_assert_str_eq(err.msg, b->msg);
    kw_conf_free(conf);
}
END_TEST

START_TEST(valid_security_combinations)
{
    kw_bus_config c;
    kw_error err;
    kw_error_init(&err);
    cfg_fixed(&c);
    strcpy(c.security_protocol, "SASL_SSL");
    strcpy(c.sasl_mechanism, "SCRAM-SHA-512");
    strcpy(c.sasl_username, "u");
    strcpy(c.sasl_password, "p");
    strcpy(c.ssl_cafile, "/ca.pem");
    strcpy(c.ssl_certfile, "/c.pem");
    strcpy(c.ssl_keyfile, "/k.pem");
    strcpy(c.ssl_key_password, "kp");
    ck_assert_int_eq(kw_bus_config_validate(&c, &err), KW_ERR_OK);
    strcpy(c.security_protocol, "sasl_plaintext"); /* any case, as the client accepts */
    c.ssl_cafile[0] = c.ssl_certfile[0] = c.ssl_keyfile[0] = c.ssl_key_password[0] = '\0';
    ck_assert_int_eq(kw_bus_config_validate(&c, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_bus_config_validate(NULL, &err), KW_ERR_INVALID_ARG);
}
END_TEST

static const char expected_text[] = "bootstrap_servers = localhost:9092\n"
                                    "topic_prefix = events\n"
                                    "consumer_group = default\n"
                                    "consumer_name = host-0123abcd\n"
                                    "acks = all\n"
                                    "compression_type = gzip\n"
                                    "batch_size = 16384\n"
                                    "linger_ms = 5\n"
                                    "auto_offset_reset = earliest\n"
                                    "session_timeout_ms = 30000\n"
                                    "heartbeat_interval_ms = 10000\n"
                                    "max_poll_interval_ms = 300000\n"
                                    "max_retries = 3\n"
                                    "retry_base_delay = 1\n"
                                    "retry_max_delay = 60\n"
                                    "retry_jitter = 0.1\n"
                                    "retry_mode = in_place\n"
                                    "enable_dlq = true\n"
                                    "dlq_topic_suffix = .dlq\n"
                                    "dlq_max_replay_attempts = 3\n"
                                    "create_topics = true\n"
                                    "topic_partitions = -1\n"
                                    "topic_replication_factor = -1\n"
                                    "security_protocol = SASL_SSL\n"
                                    "sasl_mechanism = PLAIN\n"
                                    "sasl_username = bob\n"
                                    "sasl_password = [hidden]\n"
                                    "ssl_cafile = \n"
                                    "ssl_certfile = \n"
                                    "ssl_keyfile = \n"
                                    "ssl_key_password = \n"
                                    "ssl_check_hostname = true\n"
                                    "enable_tracing = true\n"
                                    "enable_metrics = true\n"
                                    "shutdown_timeout = 30\n"
                                    "topic = events.stream\n"
                                    "dlq_topic = events.stream.dlq\n";

static const char expected_json[] =
    "{\"bootstrap_servers\":\"localhost:9092\",\"topic_prefix\":\"events\","
    "\"consumer_group\":\"default\",\"consumer_name\":\"host-0123abcd\",\"acks\":\"all\","
    "\"compression_type\":\"gzip\",\"batch_size\":16384,\"linger_ms\":5,"
    "\"auto_offset_reset\":\"earliest\",\"session_timeout_ms\":30000,"
    "\"heartbeat_interval_ms\":10000,\"max_poll_interval_ms\":300000,\"max_retries\":3,"
    "\"retry_base_delay\":1,\"retry_max_delay\":60,\"retry_jitter\":0.1,"
    "\"retry_mode\":\"in_place\",\"enable_dlq\":true,\"dlq_topic_suffix\":\".dlq\","
    "\"dlq_max_replay_attempts\":3,\"create_topics\":true,\"topic_partitions\":-1,"
    "\"topic_replication_factor\":-1,\"security_protocol\":\"SASL_SSL\","
    "\"sasl_mechanism\":\"PLAIN\",\"sasl_username\":\"bob\",\"sasl_password\":\"[hidden]\","
    "\"ssl_cafile\":\"\",\"ssl_certfile\":\"\",\"ssl_keyfile\":\"\",\"ssl_key_password\":null,"
    "\"ssl_check_hostname\":true,\"enable_tracing\":true,\"enable_metrics\":true,"
    "\"shutdown_timeout\":30,\"topic\":\"events.stream\",\"dlq_topic\":\"events.stream.dlq\"}";

START_TEST(dump_hides_secrets)
{
    kw_bus_config c;
    cfg_fixed(&c);
    strcpy(c.security_protocol, "SASL_SSL");
    strcpy(c.sasl_mechanism, "PLAIN");
    strcpy(c.sasl_username, "bob");
    strcpy(c.sasl_password, "hunter2");
    char buf[4096];
    size_t len = sizeof(buf);
    ck_assert_int_eq(kw_bus_config_dump(&c, KW_BUS_FORMAT_TEXT, buf, &len), KW_ERR_OK);
    ck_assert_str_eq(buf, expected_text);
    ck_assert_uint_eq(len, sizeof(expected_text));
    ck_assert_ptr_null(strstr(buf, "hunter2"));
    len = sizeof(buf);
    ck_assert_int_eq(kw_bus_config_dump(&c, KW_BUS_FORMAT_JSON, buf, &len), KW_ERR_OK);
    ck_assert_str_eq(buf, expected_json);
    /* Size query, then a buffer one byte short. */
    size_t need = 0;
    ck_assert_int_eq(kw_bus_config_dump(&c, KW_BUS_FORMAT_JSON, NULL, &need), KW_ERR_OK);
    ck_assert_uint_eq(need, sizeof(expected_json));
    len = need - 1;
    ck_assert_int_eq(kw_bus_config_dump(&c, KW_BUS_FORMAT_JSON, buf, &len), KW_ERR_NOSPACE);
    ck_assert_uint_eq(len, need);
    ck_assert_uint_eq(strlen(buf), need - 2); /* what fitted, terminated */
    /* JSON strings are escaped. */
    strcpy(c.sasl_username, "a\"b\\c\n");
    len = sizeof(buf);
    ck_assert_int_eq(kw_bus_config_dump(&c, KW_BUS_FORMAT_JSON, buf, &len), KW_ERR_OK);
    ck_assert_ptr_nonnull(strstr(buf, "\"sasl_username\":\"a\\\"b\\\\c\\n\""));
    ck_assert_int_eq(kw_bus_config_dump(&c, (kw_bus_format)9, buf, &len), KW_ERR_INVALID_ARG);
}
END_TEST

static void
expect_prop(kw_conf *conf, const char *name, const char *want)
{
    char buf[256];
    size_t len = sizeof(buf);
    ck_assert_int_eq(kw_conf_get(conf, name, buf, &len), KW_ERR_OK);
    ck_assert_msg(strcmp(buf, want) == 0, "%s: got \"%s\", want \"%s\"", name, buf, want);
}

START_TEST(to_conf_producer_and_consumer)
{
    kw_bus_config c;
    kw_error err;
    kw_error_init(&err);
    cfg_fixed(&c);
    strcpy(c.bootstrap_servers, "b1:9092,b2:9093");
    strcpy(c.acks, "1");
    c.batch_size = 32768;
    c.linger_ms = 7;
    strcpy(c.auto_offset_reset, "latest");
    strcpy(c.security_protocol, "SASL_SSL");
    strcpy(c.sasl_mechanism, "SCRAM-SHA-256");
    strcpy(c.sasl_username, "svc");
    strcpy(c.sasl_password, "pw");
    strcpy(c.ssl_cafile, "/ca.pem");
    strcpy(c.ssl_certfile, "/c.pem");
    strcpy(c.ssl_keyfile, "/k.pem");
    c.ssl_check_hostname = false;
    kw_conf *conf;
    ck_assert_int_eq(kw_conf_new(NULL, &conf), KW_ERR_OK);
    ck_assert_int_eq(
        kw_bus_config_to_conf(&c, KW_BUS_CONF_PRODUCER | KW_BUS_CONF_CONSUMER, conf, &err),
        KW_ERR_OK);
    expect_prop(conf, "bootstrap.servers", "b1:9092,b2:9093");
    expect_prop(conf, "client.id", "host-0123abcd");
    expect_prop(conf, "acks", "1");
    expect_prop(conf, "compression.type", "gzip");
    expect_prop(conf, "batch.size", "32768");
    expect_prop(conf, "linger.ms", "7");
    expect_prop(conf, "group.id", "default");
    expect_prop(conf, "auto.offset.reset", "latest");
    expect_prop(conf, "session.timeout.ms", "30000");
    expect_prop(conf, "heartbeat.interval.ms", "10000");
    expect_prop(conf, "max.poll.interval.ms", "300000");
    expect_prop(conf, "enable.auto.commit", "false");
    expect_prop(conf, "security.protocol", "SASL_SSL");
    expect_prop(conf, "sasl.mechanism", "SCRAM-SHA-256");
    expect_prop(conf, "sasl.username", "svc");
    expect_prop(conf, "sasl.password", "[hidden]");
    expect_prop(conf, "ssl.ca.location", "/ca.pem");
    expect_prop(conf, "ssl.certificate.location", "/c.pem");
    expect_prop(conf, "ssl.key.location", "/k.pem");
    expect_prop(conf, "ssl.endpoint.identification.algorithm", "none");
    kw_conf_free(conf);

    /* Producer only: no consumer properties are touched. */
    ck_assert_int_eq(kw_conf_new(NULL, &conf), KW_ERR_OK);
    c.ssl_check_hostname = true;
    strcpy(c.compression_type, "none");
    ck_assert_int_eq(kw_bus_config_to_conf(&c, KW_BUS_CONF_PRODUCER, conf, &err), KW_ERR_OK);
    expect_prop(conf, "ssl.endpoint.identification.algorithm", "https");
    expect_prop(conf, "compression.type", "none");
    expect_prop(conf, "group.id", "");
    expect_prop(conf, "enable.auto.commit", "true");
    kw_conf_free(conf);

    /* A value the client refuses comes back with the client's message. */
    ck_assert_int_eq(kw_conf_new(NULL, &conf), KW_ERR_OK);
    strcpy(c.bootstrap_servers, "host:notaport");
    ck_assert_int_eq(kw_bus_config_to_conf(&c, KW_BUS_CONF_PRODUCER, conf, &err), KW_ERR_CONFIG);
    ck_assert_ptr_nonnull(strstr(err.msg, "bootstrap.servers"));
    kw_conf_free(conf);
    ck_assert_int_eq(kwi_bus_config_acks(&c), 1);
    strcpy(c.acks, "all");
    ck_assert_int_eq(kwi_bus_config_acks(&c), -1);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("bus_config");
    TCase *t = tcase_create("config");
    tcase_add_test(t, defaults_are_eventsources);
    tcase_add_test(t, from_env_reads_eventsources_variables);
    tcase_add_test(t, from_lookup_is_injectable);
    tcase_add_test(t, set_by_name);
    tcase_add_loop_test(t, validation_names_the_field, 0, (int)(sizeof(bad) / sizeof(bad[0])));
    tcase_add_test(t, valid_security_combinations);
    tcase_add_test(t, dump_hides_secrets);
    tcase_add_test(t, to_conf_producer_and_consumer);
    suite_add_tcase(s, t);
    return s;
}
