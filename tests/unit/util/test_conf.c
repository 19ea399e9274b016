/* The configuration object: every property type parses its good values and rejects bad ones
 * with exact messages; ranges; aliases with unit conversion both ways; did-you-mean;
 * .properties files; dumps that hide secrets; cross-property validation; deep dup; a failing
 * allocator at every allocation point; and docs/configuration.md generated from the table. */
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kw_config.h"
#include "kwire/conf.h"
#include "util/conf_int.h"

/* ---- a counting allocator that can be told to fail -------------------------------------- */

typedef struct test_alloc {
    long calls;   /* alloc + realloc calls so far */
    long fail_at; /* the call with this number fails; -1 = never */
    size_t live;  /* bytes outstanding */
    long blocks;  /* allocations outstanding */
} test_alloc;

static void *
ta_alloc(void *ud, size_t size)
{
    test_alloc *t = ud;
    if (t->calls++ == t->fail_at)
        return NULL;
    void *p = malloc(size);
    if (p)
        t->live += size, t->blocks++;
    return p;
}

static void *
ta_realloc(void *ud, void *ptr, size_t old_size, size_t new_size)
{
    test_alloc *t = ud;
    if (t->calls++ == t->fail_at)
        return NULL;
    void *p = realloc(ptr, new_size);
    if (p)
        t->live = t->live - old_size + new_size;
    return p;
}

static void
ta_free(void *ud, void *ptr, size_t size)
{
    test_alloc *t = ud;
    ck_assert_uint_ge(t->live, size);
    t->live -= size;
    t->blocks--;
    free(ptr);
}

static kw_allocator
make_alloc(test_alloc *t)
{
    memset(t, 0, sizeof(*t));
    t->fail_at = -1;
    kw_allocator a = {ta_alloc, ta_realloc, ta_free, t};
    return a;
}

/* ---- helpers ------------------------------------------------------------------------------ */

static kw_conf *
new_conf(void)
{
    kw_conf *c = NULL;
    ck_assert_int_eq(kw_conf_new(NULL, &c), KW_ERR_OK);
    ck_assert_ptr_nonnull(c);
    return c;
}

static void
set_ok(kw_conf *c, const char *name, const char *value)
{
    kw_error err;
    kw_error_init(&err);
    kw_err e = kw_conf_set(c, name, value, &err);
    ck_assert_msg(e == KW_ERR_OK, "%s=%s: %s", name, value ? value : "(null)", err.msg);
}

static void
set_fails(kw_conf *c, const char *name, const char *value, kw_err code, const char *msg)
{
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_conf_set(c, name, value, &err), code);
    ck_assert_int_eq(err.code, code);
    ck_assert_str_eq(err.msg, msg);
}

/* The property's value as kw_conf_get prints it (static buffer, valid until the next call). */
static const char *
get(const kw_conf *c, const char *name)
{
    static char buf[1024];
    size_t len = sizeof(buf);
    ck_assert_int_eq(kw_conf_get(c, name, buf, &len), KW_ERR_OK);
    ck_assert_uint_eq(len, strlen(buf) + 1);
    return buf;
}

static kw_err
validate(kw_conf *c, unsigned roles, kw_error *err)
{
    kw_error_init(err);
    return kwi_conf_validate(c, roles, err);
}

static void
validate_fails(kw_conf *c, unsigned roles, const char *msg)
{
    kw_error err;
    ck_assert_int_eq(validate(c, roles, &err), KW_ERR_CONFIG);
    ck_assert_str_eq(err.msg, msg);
}

static void
validate_ok(kw_conf *c, unsigned roles)
{
    kw_error err;
    kw_err e = validate(c, roles, &err);
    ck_assert_msg(e == KW_ERR_OK, "validate: %s", err.msg);
}

/* A conf that passes validation for every role. */
static kw_conf *
valid_conf(void)
{
    kw_conf *c = new_conf();
    set_ok(c, "bootstrap.servers", "localhost:9092");
    return c;
}

static char tmp_path[64];

static const char *
write_file(const void *data, size_t len)
{
    snprintf(tmp_path, sizeof(tmp_path), "/tmp/kw_conf_XXXXXX");
    int fd = mkstemp(tmp_path);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
    close(fd);
    return tmp_path;
}

static const char *
write_text(const char *text)
{
    return write_file(text, strlen(text));
}

/* ---- the table ---------------------------------------------------------------------------- */

START_TEST(test_table_is_consistent)
{
    kw_conf *c = new_conf();
    kw_conf_prop p, prev = {0};
    size_t n = 0;
    for (; kw_conf_describe(n, &p) == KW_ERR_OK; n++) {
        ck_assert_ptr_nonnull(p.name);
        ck_assert_ptr_nonnull(p.doc);
        ck_assert_uint_gt(strlen(p.doc), 20);
        ck_assert_str_ne(kw_conf_type_name(p.type), "unknown");
        ck_assert_uint_ne(p.scope, 0);
        if (n > 0)
            ck_assert_msg(strcmp(prev.name, p.name) < 0, "%s sorts before %s", p.name, prev.name);
        prev = p;
        /* The default reads back exactly and is accepted by set as is. */
        ck_assert_str_eq(get(c, p.name), p.default_value ? p.default_value : "");
        if (p.default_value) {
            kw_conf *d = new_conf();
            set_ok(d, p.name, p.default_value);
            ck_assert_str_eq(get(d, p.name),
                             p.type == KW_CONF_SECRET ? "[hidden]" : p.default_value);
            kw_conf_free(d);
        }
        if (p.type == KW_CONF_INT || p.type == KW_CONF_MS || p.type == KW_CONF_BYTES) {
            ck_assert_int_le(p.min, p.max);
            ck_assert_int_ge(kwi_conf_int(c, (kwi_conf_id)n), p.min);
            ck_assert_int_le(kwi_conf_int(c, (kwi_conf_id)n), p.max);
        }
        /* Every accepted enum spelling is documented in `values`. */
        const kwi_conf_def *d = &kwi_conf_defs[n];
        ck_assert_int_eq(d->vals != NULL, p.values != NULL);
        for (const kwi_conf_enum_val *v = d->vals; v && v->name; v++)
            ck_assert_msg(strstr(p.values, v->name), "%s: %s undocumented", p.name, v->name);
        /* Aliases are unique and do not shadow a canonical name. */
        for (int k = 0; p.aliases[k]; k++) {
            ck_assert_int_ge(p.alias_scale[k], 1);
            kw_conf_prop q;
            for (size_t m = 0; kw_conf_describe(m, &q) == KW_ERR_OK; m++) {
                ck_assert_str_ne(q.name, p.aliases[k]);
                for (int j = 0; q.aliases[j]; j++)
                    ck_assert(m == n && j == k ? 1 : strcmp(q.aliases[j], p.aliases[k]) != 0);
            }
        }
        ck_assert(!kwi_conf_explicit(c, (kwi_conf_id)n));
    }
    ck_assert_uint_eq(n, KWI_CONF__COUNT);
    ck_assert_int_eq(kw_conf_describe(n, &p), KW_ERR_NOT_FOUND);
    ck_assert_int_eq(kw_conf_describe(0, NULL), KW_ERR_INVALID_ARG);
    kw_conf_free(c);
}
END_TEST

START_TEST(test_defaults)
{
    kw_conf *c = new_conf();
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_LINGER_MS), 5);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_ACKS), KWI_ACKS_ALL);
    ck_assert_str_eq(kwi_conf_str(c, KWI_CONF_ACKS), "all");
    ck_assert(kwi_conf_bool(c, KWI_CONF_ENABLE_IDEMPOTENCE));
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_BATCH_SIZE), 16384);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_BUFFER_MEMORY), 33554432);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_MAX_IN_FLIGHT), 5);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_RETRIES), 2147483647);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_DELIVERY_TIMEOUT_MS), 120000);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_SESSION_TIMEOUT_MS), 45000);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_PARTITIONER), KWI_PARTITIONER_MURMUR2_RANDOM);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_SECURITY_PROTOCOL), KWI_SECURITY_PLAINTEXT);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_SASL_MECHANISM), KWI_SASL_NONE);
    ck_assert_ptr_null(kwi_conf_str(c, KWI_CONF_SASL_MECHANISM));
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM),
                     KWI_SSL_ENDPOINT_HTTPS);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_ISOLATION_LEVEL), KWI_ISOLATION_READ_UNCOMMITTED);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_AUTO_OFFSET_RESET), KWI_OFFSET_RESET_LATEST);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_COMPRESSION_TYPE), KWI_COMPRESSION_NONE);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_GROUP_PROTOCOL), KWI_GROUP_PROTOCOL_CLASSIC);
    ck_assert_str_eq(kwi_conf_str(c, KWI_CONF_CLIENT_ID), "kwire");
    ck_assert_str_eq(kwi_conf_str(c, KWI_CONF_PARTITION_ASSIGNMENT_STRATEGY),
                     "range,cooperative-sticky");
    ck_assert_ptr_null(kwi_conf_str(c, KWI_CONF_GROUP_ID));
    ck_assert_ptr_null(kwi_conf_str(c, KWI_CONF_BOOTSTRAP_SERVERS));
    ck_assert_str_eq(get(c, "group.id"), "");
    ck_assert_str_eq(get(c, "sasl.password"), "");
    ck_assert_int_eq(kw_conf_new(NULL, NULL), KW_ERR_INVALID_ARG);
    kw_conf_free(NULL);
    kw_conf_free(c);
}
END_TEST

/* ---- each type ---------------------------------------------------------------------------- */

START_TEST(test_bool)
{
    kw_conf *c = new_conf();
    set_ok(c, "enable.idempotence", "false");
    ck_assert(!kwi_conf_bool(c, KWI_CONF_ENABLE_IDEMPOTENCE));
    ck_assert(kwi_conf_explicit(c, KWI_CONF_ENABLE_IDEMPOTENCE));
    set_ok(c, "enable.idempotence", " TRUE ");
    ck_assert_str_eq(get(c, "enable.idempotence"), "true");
    set_ok(c, "check.crcs", "False");
    ck_assert_str_eq(get(c, "check.crcs"), "false");
    set_fails(c, "enable.idempotence", "yes", KW_ERR_CONFIG,
              "enable.idempotence: \"yes\" is not a boolean (true or false)");
    set_fails(c, "enable.idempotence", "1", KW_ERR_CONFIG,
              "enable.idempotence: \"1\" is not a boolean (true or false)");
    set_fails(c, "check.crcs", "", KW_ERR_CONFIG,
              "check.crcs: \"\" is not a boolean (true or false)");
    set_fails(c, "check.crcs", "truex", KW_ERR_CONFIG,
              "check.crcs: \"truex\" is not a boolean (true or false)");
    ck_assert(kwi_conf_bool(c, KWI_CONF_ENABLE_IDEMPOTENCE)); /* failures changed nothing */
    ck_assert(!kwi_conf_bool(c, KWI_CONF_CHECK_CRCS));
    kw_conf_free(c);
}
END_TEST

START_TEST(test_integers)
{
    kw_conf *c = new_conf();
    set_ok(c, "linger.ms", "0");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_LINGER_MS), 0);
    set_ok(c, "linger.ms", " +900000\t");
    ck_assert_str_eq(get(c, "linger.ms"), "900000");
    set_fails(c, "linger.ms", "abc", KW_ERR_CONFIG, "linger.ms: \"abc\" is not an integer");
    set_fails(c, "linger.ms", "1.5", KW_ERR_CONFIG, "linger.ms: \"1.5\" is not an integer");
    set_fails(c, "linger.ms", "", KW_ERR_CONFIG, "linger.ms: \"\" is not an integer");
    set_fails(c, "linger.ms", "-", KW_ERR_CONFIG, "linger.ms: \"-\" is not an integer");
    set_fails(c, "linger.ms", "0x10", KW_ERR_CONFIG, "linger.ms: \"0x10\" is not an integer");
    set_fails(c, "linger.ms", "5 ms", KW_ERR_CONFIG, "linger.ms: \"5 ms\" is not an integer");
    set_fails(c, "linger.ms", "-1", KW_ERR_CONFIG, "linger.ms: -1 is below the minimum 0");
    set_fails(c, "linger.ms", "900001", KW_ERR_CONFIG,
              "linger.ms: 900001 is above the maximum 900000");
    set_fails(c, "linger.ms", "99999999999999999999", KW_ERR_CONFIG,
              "linger.ms: 99999999999999999999 is above the maximum 900000");
    set_fails(c, "linger.ms", "-99999999999999999999", KW_ERR_CONFIG,
              "linger.ms: -99999999999999999999 is below the minimum 0");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_LINGER_MS), 900000);

    /* int, bytes and a negative minimum. */
    set_ok(c, "retries", "2147483647");
    set_fails(c, "retries", "2147483648", KW_ERR_CONFIG,
              "retries: 2147483648 is above the maximum 2147483647");
    set_ok(c, "batch.size", "0");
    set_fails(c, "fetch.max.bytes", "2147483136", KW_ERR_CONFIG,
              "fetch.max.bytes: 2147483136 is above the maximum 2147483135");
    set_ok(c, "compression.level", "-1");
    set_fails(c, "compression.level", "-2", KW_ERR_CONFIG,
              "compression.level: -2 is below the minimum -1");
    set_fails(c, "max.in.flight.requests.per.connection", "0", KW_ERR_CONFIG,
              "max.in.flight.requests.per.connection: 0 is below the minimum 1");
    /* 64-bit range. */
    set_ok(c, "buffer.memory", "2199023254528");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_BUFFER_MEMORY), 2199023254528LL);
    set_fails(c, "buffer.memory", "9223372036854775807", KW_ERR_CONFIG,
              "buffer.memory: 9223372036854775807 is above the maximum 2199023254528");
    set_fails(c, "buffer.memory", "-9223372036854775808", KW_ERR_CONFIG,
              "buffer.memory: -9223372036854775808 is below the minimum 1024");
    kw_conf_free(c);
}
END_TEST

START_TEST(test_enums)
{
    kw_conf *c = new_conf();
    set_ok(c, "acks", "1");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_ACKS), 1);
    set_ok(c, "acks", "0");
    ck_assert_str_eq(get(c, "acks"), "0");
    set_ok(c, "acks", "-1");
    ck_assert_str_eq(get(c, "acks"), "all");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_ACKS), -1);
    set_ok(c, "acks", " ALL ");
    ck_assert_str_eq(kwi_conf_str(c, KWI_CONF_ACKS), "all");
    set_fails(c, "acks", "2", KW_ERR_CONFIG, "acks: \"2\" is not one of all (-1), 0, 1");
    set_fails(c, "acks", "", KW_ERR_CONFIG, "acks: \"\" is not one of all (-1), 0, 1");

    set_ok(c, "auto.offset.reset", "smallest");
    ck_assert_str_eq(get(c, "auto.offset.reset"), "earliest");
    set_ok(c, "auto.offset.reset", "END");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_AUTO_OFFSET_RESET), KWI_OFFSET_RESET_LATEST);
    ck_assert_str_eq(get(c, "auto.offset.reset"), "latest");
    set_ok(c, "auto.offset.reset", "error");
    ck_assert_str_eq(get(c, "auto.offset.reset"), "none");

    set_ok(c, "security.protocol", "sasl_ssl");
    ck_assert_str_eq(get(c, "security.protocol"), "SASL_SSL");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_SECURITY_PROTOCOL), KWI_SECURITY_SASL_SSL);
    set_fails(c, "security.protocol", "TLS", KW_ERR_CONFIG,
              "security.protocol: \"TLS\" is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL");
    set_ok(c, "sasl.mechanism", "scram-sha-512");
    ck_assert_str_eq(get(c, "sasl.mechanism"), "SCRAM-SHA-512");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_SASL_MECHANISM), KWI_SASL_SCRAM_SHA_512);
    set_fails(c, "sasl.mechanism", "OAUTHBEARER", KW_ERR_CONFIG,
              "sasl.mechanism: \"OAUTHBEARER\" is not one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, "
              "GSSAPI");
    set_ok(c, "partitioner", "consistent_random");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_PARTITIONER), KWI_PARTITIONER_CONSISTENT_RANDOM);
    set_ok(c, "compression.type", "ZSTD");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_COMPRESSION_TYPE), KWI_COMPRESSION_ZSTD);
    set_ok(c, "isolation.level", "read_committed");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_ISOLATION_LEVEL), KWI_ISOLATION_READ_COMMITTED);
    set_ok(c, "ssl.endpoint.identification.algorithm", "NONE");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM),
                     KWI_SSL_ENDPOINT_NONE);
    kw_conf_free(c);
}
END_TEST

START_TEST(test_strings_and_secrets)
{
    kw_conf *c = new_conf();
    set_ok(c, "client.id", "  my app  ");
    ck_assert_str_eq(get(c, "client.id"), "my app");
    set_ok(c, "client.id", "");
    ck_assert_str_eq(kwi_conf_str(c, KWI_CONF_CLIENT_ID), "");
    set_ok(c, "sasl.password", " secret pw ");
    ck_assert_str_eq(kwi_conf_str(c, KWI_CONF_SASL_PASSWORD), " secret pw "); /* not trimmed */
    ck_assert_str_eq(get(c, "sasl.password"), "[hidden]");
    set_ok(c, "ssl.key.password", "k");
    ck_assert_str_eq(get(c, "ssl.key.password"), "[hidden]");
    set_ok(c, "sasl.password", NULL);
    ck_assert_ptr_null(kwi_conf_str(c, KWI_CONF_SASL_PASSWORD));
    ck_assert_str_eq(get(c, "sasl.password"), "");
    kw_conf_free(c);
}
END_TEST

START_TEST(test_lists)
{
    kw_conf *c = new_conf();
    set_ok(c, "bootstrap.servers", " a:1 , b:2,[::1]:9093,PLAINTEXT://c:4, d ");
    ck_assert_str_eq(get(c, "bootstrap.servers"), "a:1,b:2,[::1]:9093,PLAINTEXT://c:4,d");
    const char *cur = kwi_conf_str(c, KWI_CONF_BOOTSTRAP_SERVERS), *item;
    size_t len, count = 0;
    static const char *want[] = {"a:1", "b:2", "[::1]:9093", "PLAINTEXT://c:4", "d"};
    while (kwi_conf_list_next(&cur, &item, &len)) {
        ck_assert_uint_lt(count, 5);
        ck_assert_uint_eq(len, strlen(want[count]));
        ck_assert(memcmp(item, want[count], len) == 0);
        count++;
    }
    ck_assert_uint_eq(count, 5);

    set_fails(c, "bootstrap.servers", "a,,b", KW_ERR_CONFIG,
              "bootstrap.servers: \"a,,b\" has an empty item");
    set_fails(c, "bootstrap.servers", "a:1,", KW_ERR_CONFIG,
              "bootstrap.servers: \"a:1,\" has an empty item");
    set_fails(c, "bootstrap.servers", "host:abc", KW_ERR_CONFIG,
              "bootstrap.servers: \"host:abc\" has a bad port (expected 1-65535)");
    set_fails(c, "bootstrap.servers", "h:0", KW_ERR_CONFIG,
              "bootstrap.servers: \"h:0\" has a bad port (expected 1-65535)");
    set_fails(c, "bootstrap.servers", "h:65536", KW_ERR_CONFIG,
              "bootstrap.servers: \"h:65536\" has a bad port (expected 1-65535)");
    set_fails(c, "bootstrap.servers", "ok:1, ::1", KW_ERR_CONFIG,
              "bootstrap.servers: \"::1\" is an IPv6 address without brackets (write "
              "[address]:port)");
    set_fails(c, "bootstrap.servers", ":9092", KW_ERR_CONFIG,
              "bootstrap.servers: \":9092\" has no host");
    set_fails(c, "bootstrap.servers", "[::1", KW_ERR_CONFIG,
              "bootstrap.servers: \"[::1\" has an unclosed [");
    set_fails(c, "bootstrap.servers", "[::1]x", KW_ERR_CONFIG,
              "bootstrap.servers: \"[::1]x\" has text after ]");
    set_fails(c, "bootstrap.servers", "a b:1", KW_ERR_CONFIG,
              "bootstrap.servers: \"a b:1\" is not host:port (it contains a space or a slash)");
    ck_assert_str_eq(get(c, "bootstrap.servers"), "a:1,b:2,[::1]:9093,PLAINTEXT://c:4,d");
    set_ok(c, "bootstrap.servers", "  ");
    ck_assert_str_eq(get(c, "bootstrap.servers"), "");
    cur = kwi_conf_str(c, KWI_CONF_BOOTSTRAP_SERVERS);
    ck_assert(!kwi_conf_list_next(&cur, &item, &len));

    set_ok(c, "partition.assignment.strategy", "RoundRobin , COOPERATIVE-sticky");
    ck_assert_str_eq(get(c, "partition.assignment.strategy"), "roundrobin,cooperative-sticky");
    set_fails(c, "partition.assignment.strategy", "range,sticky", KW_ERR_CONFIG,
              "partition.assignment.strategy: \"sticky\" is not one of range, roundrobin, "
              "cooperative-sticky");
    kw_conf_free(c);
}
END_TEST

START_TEST(test_broker_addresses)
{
    kwi_conf_broker b;
    ck_assert_ptr_null(kwi_conf_parse_broker("kafka-1:19092", 13, &b));
    ck_assert_uint_eq(b.host_len, 7);
    ck_assert(memcmp(b.host, "kafka-1", 7) == 0);
    ck_assert_int_eq(b.port, 19092);
    ck_assert_ptr_null(kwi_conf_parse_broker("SASL_SSL://10.0.0.1", 19, &b));
    ck_assert(b.host_len == 8 && memcmp(b.host, "10.0.0.1", 8) == 0);
    ck_assert_int_eq(b.port, KWI_CONF_DEFAULT_PORT);
    ck_assert_ptr_null(kwi_conf_parse_broker("[fe80::1]:1", 11, &b));
    ck_assert(b.host_len == 7 && memcmp(b.host, "fe80::1", 7) == 0);
    ck_assert_int_eq(b.port, 1);
    ck_assert_ptr_null(kwi_conf_parse_broker("[::1]", 5, &b));
    ck_assert_int_eq(b.port, 9092);
    ck_assert_ptr_nonnull(kwi_conf_parse_broker("[]:1", 4, &b));
    ck_assert_ptr_nonnull(kwi_conf_parse_broker("h:", 2, &b));
    ck_assert_ptr_nonnull(kwi_conf_parse_broker("h:+80", 5, &b));
    ck_assert_ptr_nonnull(kwi_conf_parse_broker("h:000080", 8, &b));
    /* Only the given length is read. */
    ck_assert_ptr_null(kwi_conf_parse_broker("h:80,junk", 4, &b));
    ck_assert_int_eq(b.port, 80);
}
END_TEST

/* ---- aliases ------------------------------------------------------------------------------ */

START_TEST(test_aliases)
{
    kw_conf *c = new_conf();
    /* KiB <-> bytes, both ways, rounding down when reading in KiB. */
    set_ok(c, "queue.buffering.max.kbytes", "1024");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_BUFFER_MEMORY), 1048576);
    ck_assert_str_eq(get(c, "buffer.memory"), "1048576");
    ck_assert(kwi_conf_explicit(c, KWI_CONF_BUFFER_MEMORY));
    set_ok(c, "buffer.memory", "33554433");
    ck_assert_str_eq(get(c, "queue.buffering.max.kbytes"), "32768");
    set_ok(c, "queue.buffering.max.kbytes", "2147483647");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_BUFFER_MEMORY), 2147483647LL * 1024);
    set_fails(c, "queue.buffering.max.kbytes", "0", KW_ERR_CONFIG,
              "queue.buffering.max.kbytes: 0 is below the minimum 1");
    set_fails(c, "queue.buffering.max.kbytes", "2147483648", KW_ERR_CONFIG,
              "queue.buffering.max.kbytes: 2147483648 is above the maximum 2147483647");
    set_fails(c, "queue.buffering.max.kbytes", "x", KW_ERR_CONFIG,
              "queue.buffering.max.kbytes: \"x\" is not an integer");

    set_ok(c, "queue.buffering.max.ms", "20");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_LINGER_MS), 20);
    set_ok(c, "linger.ms", "30");
    ck_assert_str_eq(get(c, "queue.buffering.max.ms"), "30");
    set_ok(c, "metadata.broker.list", "x:1,y:2");
    ck_assert_str_eq(get(c, "bootstrap.servers"), "x:1,y:2");
    set_ok(c, "message.send.max.retries", "3");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_RETRIES), 3);
    set_ok(c, "request.required.acks", "-1");
    ck_assert_str_eq(get(c, "acks"), "all");
    set_ok(c, "acks", "1");
    ck_assert_str_eq(get(c, "request.required.acks"), "1");
    set_ok(c, "compression.codec", "lz4");
    ck_assert_str_eq(get(c, "compression.type"), "lz4");
    set_ok(c, "topic.metadata.refresh.interval.ms", "60000");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_METADATA_MAX_AGE_MS), 60000);
    set_ok(c, "message.max.bytes", "2000000");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_MAX_REQUEST_SIZE), 2000000);
    set_ok(c, "sasl.mechanisms", "PLAIN");
    ck_assert_str_eq(get(c, "sasl.mechanism"), "PLAIN");
    set_ok(c, "message.timeout.ms", "300000");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_DELIVERY_TIMEOUT_MS), 300000);
    set_ok(c, "fetch.wait.max.ms", "100");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_FETCH_MAX_WAIT_MS), 100);
    set_ok(c, "fetch.message.max.bytes", "4096");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_MAX_PARTITION_FETCH_BYTES), 4096);
    set_ok(c, "max.in.flight", "3");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_MAX_IN_FLIGHT), 3);
    /* batch.num.messages is its own property, not an alias of batch.size. */
    set_ok(c, "batch.num.messages", "7");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_BATCH_NUM_MESSAGES), 7);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_BATCH_SIZE), 16384);
    /* Errors name the property as the caller spelled it. */
    set_fails(c, "request.required.acks", "2", KW_ERR_CONFIG,
              "request.required.acks: \"2\" is not one of all (-1), 0, 1");
    /* Resetting through an alias resets the property. */
    set_ok(c, "queue.buffering.max.kbytes", NULL);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_BUFFER_MEMORY), 33554432);
    ck_assert(!kwi_conf_explicit(c, KWI_CONF_BUFFER_MEMORY));
    kw_conf_free(c);
}
END_TEST

/* ---- names -------------------------------------------------------------------------------- */

START_TEST(test_unknown_names)
{
    kw_conf *c = new_conf();
    set_fails(c, "lingr.ms", "5", KW_ERR_NOT_FOUND,
              "unknown property \"lingr.ms\" (did you mean \"linger.ms\"?)");
    set_fails(c, "LINGER.MS", "5", KW_ERR_NOT_FOUND,
              "unknown property \"LINGER.MS\" (did you mean \"linger.ms\"?)");
    set_fails(c, "linger_ms", "5", KW_ERR_NOT_FOUND,
              "unknown property \"linger_ms\" (did you mean \"linger.ms\"?)");
    set_fails(c, "acsk", "1", KW_ERR_NOT_FOUND,
              "unknown property \"acsk\" (did you mean \"acks\"?)");
    set_fails(c, "queue.buffering.max.kbyte", "1", KW_ERR_NOT_FOUND,
              "unknown property \"queue.buffering.max.kbyte\" (did you mean "
              "\"queue.buffering.max.kbytes\"?)");
    set_fails(c, "bootstrap.server", "a", KW_ERR_NOT_FOUND,
              "unknown property \"bootstrap.server\" (did you mean \"bootstrap.servers\"?)");
    set_fails(c, "key.serializer", "x", KW_ERR_NOT_FOUND, "unknown property \"key.serializer\"");
    set_fails(c, "", "x", KW_ERR_NOT_FOUND, "unknown property \"\"");
    char longname[200];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_conf_set(c, longname, "1", &err), KW_ERR_NOT_FOUND);
    ck_assert_int_eq(kw_conf_set(c, NULL, "1", NULL), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_conf_set(NULL, "acks", "1", NULL), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_conf_set(c, "lingr.ms", "1", NULL), KW_ERR_NOT_FOUND); /* err optional */
    char buf[8];
    size_t len = sizeof(buf);
    ck_assert_int_eq(kw_conf_get(c, "lingr.ms", buf, &len), KW_ERR_NOT_FOUND);
    kw_conf_free(c);
}
END_TEST

START_TEST(test_get_buffer_and_reset)
{
    kw_conf *c = new_conf();
    size_t len = 0;
    ck_assert_int_eq(kw_conf_get(c, "client.id", NULL, &len), KW_ERR_OK);
    ck_assert_uint_eq(len, 6);
    char buf[6];
    memset(buf, 'z', sizeof(buf));
    len = 5;
    ck_assert_int_eq(kw_conf_get(c, "client.id", buf, &len), KW_ERR_NOSPACE);
    ck_assert_uint_eq(len, 6);
    ck_assert_int_eq(buf[0], 'z');
    len = 6;
    ck_assert_int_eq(kw_conf_get(c, "client.id", buf, &len), KW_ERR_OK);
    ck_assert_str_eq(buf, "kwire");
    ck_assert_int_eq(kw_conf_get(c, "client.id", buf, NULL), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_conf_get(NULL, "client.id", buf, &len), KW_ERR_INVALID_ARG);

    set_ok(c, "client.id", "other");
    set_ok(c, "linger.ms", "100");
    ck_assert(kwi_conf_explicit(c, KWI_CONF_LINGER_MS));
    set_ok(c, "linger.ms", NULL);
    set_ok(c, "client.id", NULL);
    ck_assert(!kwi_conf_explicit(c, KWI_CONF_LINGER_MS));
    ck_assert(!kwi_conf_explicit(c, KWI_CONF_CLIENT_ID));
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_LINGER_MS), 5);
    ck_assert_str_eq(get(c, "client.id"), "kwire");
    kw_conf_free(c);
}
END_TEST

/* ---- dump --------------------------------------------------------------------------------- */

typedef struct dump_acc {
    char text[16384];
    size_t len;
    int lines;
} dump_acc;

static void
dump_line(void *ud, const char *name, const char *value)
{
    dump_acc *d = ud;
    int n = snprintf(d->text + d->len, sizeof(d->text) - d->len, "%s=%s\n", name, value);
    ck_assert_int_gt(n, 0);
    d->len += (size_t)n;
    ck_assert_uint_lt(d->len, sizeof(d->text));
    d->lines++;
}

START_TEST(test_dump)
{
    kw_conf *c = new_conf();
    set_ok(c, "sasl.password", "hunter2");
    set_ok(c, "ssl.key.password", "s3cret");
    set_ok(c, "queue.buffering.max.kbytes", "2");
    set_ok(c, "request.required.acks", "1");
    set_ok(c, "bootstrap.servers", "b:1, a:2");
    dump_acc d = {.len = 0};
    ck_assert_int_eq(kw_conf_dump(c, false, dump_line, &d), KW_ERR_OK);
    /* Canonical names, table order, secrets hidden. */
    ck_assert_str_eq(d.text, "acks=1\n"
                             "bootstrap.servers=b:1,a:2\n"
                             "buffer.memory=2048\n"
                             "sasl.password=[hidden]\n"
                             "ssl.key.password=[hidden]\n");
    memset(&d, 0, sizeof(d));
    ck_assert_int_eq(kw_conf_dump(c, true, dump_line, &d), KW_ERR_OK);
    ck_assert_ptr_null(strstr(d.text, "hunter2"));
    ck_assert_ptr_null(strstr(d.text, "s3cret"));
    ck_assert_ptr_nonnull(strstr(d.text, "\nlinger.ms=5\n"));
    ck_assert_ptr_nonnull(strstr(d.text, "\nsasl.password=[hidden]\n"));
    ck_assert_ptr_null(strstr(d.text, "group.id")); /* no value: skipped */
    ck_assert_ptr_null(strstr(d.text, "sasl.mechanism="));
    ck_assert_ptr_null(strstr(d.text, "queue.buffering"));
    /* Every property with a value appears once. */
    int with_value = 0;
    kw_conf_prop p;
    for (size_t i = 0; kw_conf_describe(i, &p) == KW_ERR_OK; i++)
        with_value += p.default_value != NULL ||
                      (p.type == KW_CONF_SECRET && kwi_conf_str(c, (kwi_conf_id)i)) ||
                      (i == KWI_CONF_BOOTSTRAP_SERVERS);
    ck_assert_int_eq(d.lines, with_value);
    ck_assert_int_eq(kw_conf_dump(c, true, NULL, NULL), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_conf_dump(NULL, true, dump_line, &d), KW_ERR_INVALID_ARG);
    kw_conf_free(c);
}
END_TEST

/* ---- dup ---------------------------------------------------------------------------------- */

START_TEST(test_dup_is_deep)
{
    test_alloc t;
    kw_allocator a = make_alloc(&t);
    kw_conf *c;
    ck_assert_int_eq(kw_conf_new(&a, &c), KW_ERR_OK);
    set_ok(c, "client.id", "one");
    set_ok(c, "bootstrap.servers", "h:1");
    set_ok(c, "sasl.password", "pw");
    set_ok(c, "linger.ms", "9");
    kw_conf *d;
    ck_assert_int_eq(kw_conf_dup(c, &d), KW_ERR_OK);
    ck_assert_ptr_ne(kwi_conf_str(c, KWI_CONF_CLIENT_ID), kwi_conf_str(d, KWI_CONF_CLIENT_ID));
    set_ok(c, "client.id", "two");
    set_ok(c, "linger.ms", NULL);
    kw_conf_free(c);
    ck_assert_str_eq(get(d, "client.id"), "one");
    ck_assert_str_eq(get(d, "bootstrap.servers"), "h:1");
    ck_assert_str_eq(kwi_conf_str(d, KWI_CONF_SASL_PASSWORD), "pw");
    ck_assert_int_eq(kwi_conf_int(d, KWI_CONF_LINGER_MS), 9);
    ck_assert(kwi_conf_explicit(d, KWI_CONF_LINGER_MS));
    ck_assert(!kwi_conf_explicit(d, KWI_CONF_ACKS));
    /* The copy uses the same allocator. */
    set_ok(d, "group.id", "g");
    kw_conf_free(d);
    ck_assert_uint_eq(t.live, 0);
    ck_assert_int_eq(t.blocks, 0);
    ck_assert_int_eq(kw_conf_dup(NULL, &d), KW_ERR_INVALID_ARG);
    ck_assert_ptr_null(d);
}
END_TEST

/* ---- properties files --------------------------------------------------------------------- */

START_TEST(test_file_ok)
{
    kw_conf *c = new_conf();
    const char *path = write_text("\xEF\xBB\xBF# a comment\n"
                                  "! another comment\n"
                                  "\n"
                                  "   \t\n"
                                  "bootstrap.servers=a:1,b:2\r\n"
                                  "  linger.ms : 25   \n"
                                  "client.id=app=1:x\n"
                                  "acks:all\n"
                                  "sasl.password =  p:w=d \n"
                                  "group.id=\n"
                                  "linger.ms=30");
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_conf_set_file(c, path, &err), KW_ERR_OK);
    ck_assert_str_eq(get(c, "bootstrap.servers"), "a:1,b:2");
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_LINGER_MS), 30); /* later line wins */
    ck_assert_str_eq(get(c, "client.id"), "app=1:x");          /* first separator splits */
    ck_assert(kwi_conf_explicit(c, KWI_CONF_ACKS));
    ck_assert_str_eq(kwi_conf_str(c, KWI_CONF_SASL_PASSWORD), "p:w=d"); /* trimmed by the file */
    ck_assert_str_eq(kwi_conf_str(c, KWI_CONF_GROUP_ID), "");
    unlink(path);
    /* An empty file changes nothing. */
    path = write_text("");
    ck_assert_int_eq(kw_conf_set_file(c, path, &err), KW_ERR_OK);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_LINGER_MS), 30);
    unlink(path);
    kw_conf_free(c);
}
END_TEST

/* Apply `text` as a file; it must fail with `code` and `msg` after "PATH:"; the conf must be
 * unchanged. */
static void
file_fails(const char *text, size_t len, kw_err code, const char *msg)
{
    kw_conf *c = new_conf();
    set_ok(c, "linger.ms", "7");
    const char *path = write_file(text, len);
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_conf_set_file(c, path, &err), code);
    char want[512];
    snprintf(want, sizeof(want), "%s:%s", path, msg);
    ck_assert_str_eq(err.msg, want);
    unlink(path);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_LINGER_MS), 7);
    ck_assert_ptr_null(kwi_conf_str(c, KWI_CONF_BOOTSTRAP_SERVERS));
    ck_assert(!kwi_conf_explicit(c, KWI_CONF_ACKS));
    kw_conf_free(c);
}

#define FILE_FAILS(text, code, msg) file_fails(text, sizeof(text) - 1, code, msg)

START_TEST(test_file_errors)
{
    FILE_FAILS("bootstrap.servers=a:1\nacks=1\nlinger.ms=abc\n", KW_ERR_CONFIG,
               "3: linger.ms: \"abc\" is not an integer");
    FILE_FAILS("# c\nbootstrap.servers=a:1\n\nlingr.ms=5\n", KW_ERR_NOT_FOUND,
               "4: unknown property \"lingr.ms\" (did you mean \"linger.ms\"?)");
    FILE_FAILS("acks=1\nsasl.password hunter2\n", KW_ERR_CONFIG,
               "2: expected key=value or key: value");
    FILE_FAILS("bootstrap.servers=a:1,\\\n  b:2\n", KW_ERR_CONFIG,
               "1: line continuation (a trailing backslash) is not supported");
    FILE_FAILS("acks=1\r\n = 5\n", KW_ERR_CONFIG, "2: missing property name before '='");
    FILE_FAILS("acks=1\nclient.id=a\0b\n", KW_ERR_CONFIG, "2: the line contains a NUL byte");
    FILE_FAILS("acks=1\nqueue.buffering.max.kbytes=0\n", KW_ERR_CONFIG,
               "2: queue.buffering.max.kbytes: 0 is below the minimum 1");

    kw_conf *c = new_conf();
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_conf_set_file(c, "/nonexistent/kw.properties", &err), KW_ERR_IO);
    ck_assert_str_eq(err.msg, "/nonexistent/kw.properties: No such file or directory");
    ck_assert_int_eq(kw_conf_set_file(c, "/tmp", &err), KW_ERR_IO);
    ck_assert_int_eq(kw_conf_set_file(c, NULL, &err), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_conf_set_file(NULL, "x", &err), KW_ERR_INVALID_ARG);

    /* Over 1 MiB: refused before anything is parsed. */
    size_t big = 1024 * 1024 + 1;
    char *text = malloc(big);
    ck_assert_ptr_nonnull(text);
    memset(text, '#', big);
    const char *path = write_file(text, big);
    free(text);
    ck_assert_int_eq(kw_conf_set_file(c, path, &err), KW_ERR_TOO_LARGE);
    unlink(path);
    /* Exactly 1 MiB is fine. */
    text = malloc(big - 1);
    memset(text, '#', big - 1);
    path = write_file(text, big - 1);
    free(text);
    ck_assert_int_eq(kw_conf_set_file(c, path, &err), KW_ERR_OK);
    unlink(path);
    kw_conf_free(c);
}
END_TEST

/* ---- out of memory at every allocation point ------------------------------------------- */

/* Run `op` with the n-th allocation failing, for n = 0, 1, ... until it succeeds; every
 * failure must be KW_ERR_NOMEM, leave the conf as it was and leak nothing. */
typedef kw_err (*conf_op)(kw_conf *c, kw_conf **extra, const char *path);

static kw_err
op_set_string(kw_conf *c, kw_conf **extra, const char *path)
{
    (void)extra, (void)path;
    return kw_conf_set(c, "client.id", "new-id", NULL);
}

static kw_err
op_set_list(kw_conf *c, kw_conf **extra, const char *path)
{
    (void)extra, (void)path;
    return kw_conf_set(c, "partition.assignment.strategy", "ROUNDROBIN", NULL);
}

static kw_err
op_set_secret(kw_conf *c, kw_conf **extra, const char *path)
{
    (void)extra, (void)path;
    return kw_conf_set(c, "sasl.password", "pw", NULL);
}

static kw_err
op_dup(kw_conf *c, kw_conf **extra, const char *path)
{
    (void)path;
    return kw_conf_dup(c, extra);
}

static kw_err
op_file(kw_conf *c, kw_conf **extra, const char *path)
{
    (void)extra;
    return kw_conf_set_file(c, path, NULL);
}

static void
nomem_sweep(conf_op op, const char *path)
{
    for (long fail = 0;; fail++) {
        test_alloc t;
        kw_allocator a = make_alloc(&t);
        kw_conf *c = NULL, *extra = NULL;
        ck_assert_int_eq(kw_conf_new(&a, &c), KW_ERR_OK);
        ck_assert_int_eq(kw_conf_set(c, "bootstrap.servers", "h:1,i:2", NULL), KW_ERR_OK);
        ck_assert_int_eq(kw_conf_set(c, "client.id", "old-id", NULL), KW_ERR_OK);
        ck_assert_int_eq(kw_conf_set(c, "ssl.key.password", "kp", NULL), KW_ERR_OK);
        t.fail_at = t.calls + fail;
        kw_err e = op(c, &extra, path);
        bool failed = t.calls > t.fail_at;
        if (e == KW_ERR_OK) {
            ck_assert(!failed);
            kw_conf_free(extra);
            kw_conf_free(c);
            ck_assert_uint_eq(t.live, 0);
            ck_assert_uint_ge(fail, 1); /* every op allocates */
            return;
        }
        ck_assert_int_eq(e, KW_ERR_NOMEM);
        ck_assert_ptr_null(extra);
        ck_assert_str_eq(kwi_conf_str(c, KWI_CONF_CLIENT_ID), "old-id");
        ck_assert_str_eq(kwi_conf_str(c, KWI_CONF_PARTITION_ASSIGNMENT_STRATEGY),
                         "range,cooperative-sticky");
        ck_assert_ptr_null(kwi_conf_str(c, KWI_CONF_SASL_PASSWORD));
        ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_LINGER_MS), 5);
        kw_conf_free(c);
        ck_assert_uint_eq(t.live, 0);
        ck_assert_int_eq(t.blocks, 0);
    }
}

START_TEST(test_nomem_everywhere)
{
    /* kw_conf_new itself. */
    test_alloc t;
    kw_allocator a = make_alloc(&t);
    t.fail_at = 0;
    kw_conf *c = (kw_conf *)1;
    ck_assert_int_eq(kw_conf_new(&a, &c), KW_ERR_NOMEM);
    ck_assert_ptr_null(c);
    ck_assert_uint_eq(t.live, 0);

    nomem_sweep(op_set_string, NULL);
    nomem_sweep(op_set_list, NULL);
    nomem_sweep(op_set_secret, NULL);
    nomem_sweep(op_dup, NULL);
    const char *path = write_text("client.id=new-id\n"
                                  "partition.assignment.strategy=roundrobin\n"
                                  "sasl.password=pw\n"
                                  "linger.ms=5\n");
    nomem_sweep(op_file, path);
    unlink(path);
    /* A file larger than the first read buffer guess makes the reader grow its buffer. */
    char big[20000];
    memset(big, '#', sizeof(big));
    memcpy(big + sizeof(big) - 18, "\nclient.id=new-id\n", 18);
    path = write_file(big, sizeof(big));
    nomem_sweep(op_file, path);
    unlink(path);
}
END_TEST

/* ---- validation --------------------------------------------------------------------------- */

#define PROD KWI_CONF_ROLE_PRODUCER
#define CONS KWI_CONF_ROLE_CONSUMER
#define ADM  KWI_CONF_ROLE_ADMIN

START_TEST(test_validate_defaults)
{
    kw_conf *c = new_conf();
    validate_fails(c, ADM, "bootstrap.servers is required");
    set_ok(c, "bootstrap.servers", " ");
    validate_fails(c, PROD, "bootstrap.servers is required");
    kw_conf_free(c);
    c = valid_conf();
    validate_ok(c, PROD | CONS | ADM);
    ck_assert(kwi_conf_bool(c, KWI_CONF_ENABLE_IDEMPOTENCE));
    ck_assert(!kwi_conf_bool(c, KWI_CONF_ENABLE_AUTO_COMMIT)); /* no group.id */
    ck_assert(!kwi_conf_explicit(c, KWI_CONF_ENABLE_AUTO_COMMIT));
    kw_conf_free(c);
}
END_TEST

START_TEST(test_validate_idempotence)
{
    /* Defaulted idempotence gives way to an explicit conflict (Java 3.0+). */
    kw_conf *c = valid_conf();
    set_ok(c, "acks", "1");
    validate_ok(c, PROD);
    ck_assert(!kwi_conf_bool(c, KWI_CONF_ENABLE_IDEMPOTENCE));
    ck_assert(!kwi_conf_explicit(c, KWI_CONF_ENABLE_IDEMPOTENCE));
    /* Validation depends only on explicit settings: fixing acks brings idempotence back. */
    set_ok(c, "acks", "all");
    validate_ok(c, PROD);
    ck_assert(kwi_conf_bool(c, KWI_CONF_ENABLE_IDEMPOTENCE));
    set_ok(c, "retries", "0");
    validate_ok(c, PROD);
    ck_assert(!kwi_conf_bool(c, KWI_CONF_ENABLE_IDEMPOTENCE));
    set_ok(c, "retries", NULL);
    set_ok(c, "max.in.flight.requests.per.connection", "6");
    validate_ok(c, PROD);
    ck_assert(!kwi_conf_bool(c, KWI_CONF_ENABLE_IDEMPOTENCE));
    /* A consumer does not care. */
    validate_ok(c, CONS);
    ck_assert(kwi_conf_bool(c, KWI_CONF_ENABLE_IDEMPOTENCE));

    /* Explicit idempotence plus a conflict is an error. */
    set_ok(c, "enable.idempotence", "true");
    validate_fails(c, PROD,
                   "enable.idempotence=true requires max.in.flight.requests.per.connection <= 5 "
                   "(it is 6)");
    set_ok(c, "max.in.flight.requests.per.connection", "5");
    validate_ok(c, PROD);
    set_ok(c, "acks", "0");
    validate_fails(c, PROD, "enable.idempotence=true requires acks=all (acks is 0)");
    set_ok(c, "acks", "-1");
    set_ok(c, "retries", "0");
    validate_fails(c, PROD, "enable.idempotence=true requires retries > 0");
    set_ok(c, "retries", "1");
    validate_ok(c, PROD);
    /* Explicitly off is fine with anything. */
    set_ok(c, "enable.idempotence", "false");
    set_ok(c, "acks", "0");
    validate_ok(c, PROD);
    kw_conf_free(c);
}
END_TEST

START_TEST(test_validate_transactions)
{
    const char *txn_msg = "transactional.id requires the idempotent producer "
                          "(enable.idempotence=true, acks=all, retries > 0, "
                          "max.in.flight.requests.per.connection <= 5)";
    kw_conf *c = valid_conf();
    set_ok(c, "transactional.id", "tx-1");
    validate_ok(c, PROD);
    set_ok(c, "acks", "1"); /* turns defaulted idempotence off, which transactions need */
    validate_fails(c, PROD, txn_msg);
    set_ok(c, "acks", NULL);
    set_ok(c, "enable.idempotence", "false");
    validate_fails(c, PROD, txn_msg);
    validate_ok(c, CONS); /* a consumer ignores producer settings */
    set_ok(c, "enable.idempotence", NULL);
    set_ok(c, "transactional.id", "");
    validate_fails(c, PROD, "transactional.id must not be empty");
    kw_conf_free(c);
}
END_TEST

START_TEST(test_validate_timeouts)
{
    kw_conf *c = valid_conf();
    /* delivery.timeout.ms defaulted: raised to linger + request timeout, as Java does. */
    set_ok(c, "linger.ms", "100000");
    validate_ok(c, PROD);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_DELIVERY_TIMEOUT_MS), 130000);
    set_ok(c, "linger.ms", NULL);
    validate_ok(c, PROD);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_DELIVERY_TIMEOUT_MS), 120000);
    set_ok(c, "delivery.timeout.ms", "1000");
    validate_fails(c, PROD,
                   "delivery.timeout.ms (1000) must be at least linger.ms + request.timeout.ms "
                   "(30005)");
    set_ok(c, "request.timeout.ms", "995");
    validate_ok(c, PROD);

    /* Backoff caps follow their base unless set explicitly. */
    set_ok(c, "retry.backoff.ms", "5000");
    validate_ok(c, ADM);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_RETRY_BACKOFF_MAX_MS), 5000);
    set_ok(c, "retry.backoff.max.ms", "4000");
    validate_fails(c, ADM, "retry.backoff.max.ms (4000) must be at least retry.backoff.ms (5000)");
    set_ok(c, "retry.backoff.ms", NULL);
    validate_ok(c, ADM);
    set_ok(c, "reconnect.backoff.max.ms", "10");
    validate_fails(c, CONS,
                   "reconnect.backoff.max.ms (10) must be at least reconnect.backoff.ms (50)");
    set_ok(c, "reconnect.backoff.max.ms", NULL);
    set_ok(c, "reconnect.backoff.ms", "2000");
    validate_ok(c, CONS);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_RECONNECT_BACKOFF_MAX_MS), 2000);
    set_ok(c, "reconnect.backoff.ms", NULL);
    validate_ok(c, CONS);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_RECONNECT_BACKOFF_MAX_MS), 1000);
    kw_conf_free(c);
}
END_TEST

START_TEST(test_validate_security)
{
    kw_conf *c = valid_conf();
    set_ok(c, "security.protocol", "SASL_PLAINTEXT");
    validate_fails(c, ADM,
                   "security.protocol=SASL_PLAINTEXT requires sasl.mechanism (PLAIN, "
                   "SCRAM-SHA-256, SCRAM-SHA-512 or GSSAPI)");
    set_ok(c, "sasl.mechanism", "PLAIN");
    validate_fails(c, ADM, "sasl.mechanism=PLAIN requires sasl.username");
    set_ok(c, "sasl.username", "u");
    validate_fails(c, ADM, "sasl.mechanism=PLAIN requires sasl.password");
    set_ok(c, "sasl.password", "p");
    validate_ok(c, ADM);
    set_ok(c, "sasl.username", "");
    validate_fails(c, ADM, "sasl.mechanism=PLAIN requires sasl.username");
    set_ok(c, "sasl.username", "u");
#if KW_HAVE_TLS
    set_ok(c, "sasl.mechanism", "SCRAM-SHA-256");
    validate_ok(c, ADM);
    set_ok(c, "security.protocol", "SASL_SSL");
    validate_ok(c, PROD);
#else
    set_ok(c, "security.protocol", "SSL");
    validate_fails(c, ADM, "security.protocol=SSL needs a kwire built with TLS (-Dtls=enabled)");
    set_ok(c, "security.protocol", "SASL_PLAINTEXT");
#endif
    set_ok(c, "sasl.username", NULL);
    set_ok(c, "sasl.password", NULL);
    set_ok(c, "sasl.mechanism", "GSSAPI");
#if KW_HAVE_SASL_GSSAPI
    validate_ok(c, ADM);
#else
    validate_fails(c, ADM, "sasl.mechanism=GSSAPI needs a kwire built with -Dsasl_gssapi=enabled");
#endif
    /* SASL settings are ignored without SASL. */
    set_ok(c, "security.protocol", "PLAINTEXT");
    set_ok(c, "sasl.mechanism", "PLAIN");
    validate_ok(c, ADM);

    /* Mutual TLS needs both halves. */
    set_ok(c, "ssl.key.location", "/k.pem");
    validate_fails(c, ADM, "ssl.key.location is set but ssl.certificate.location is not");
    set_ok(c, "ssl.key.location", NULL);
    set_ok(c, "ssl.certificate.location", "/c.pem");
    validate_fails(c, ADM, "ssl.certificate.location is set but ssl.key.location is not");
    set_ok(c, "ssl.certificate.location", NULL);
    set_ok(c, "ssl.key.password", "x");
    validate_fails(c, ADM, "ssl.key.password is set but ssl.key.location is not");
    set_ok(c, "ssl.key.location", "/k.pem");
    set_ok(c, "ssl.certificate.location", "/c.pem");
    validate_ok(c, ADM);
    kw_conf_free(c);
}
END_TEST

START_TEST(test_validate_consumer)
{
    kw_conf *c = valid_conf();
    set_ok(c, "group.instance.id", "m-1");
    validate_fails(c, CONS, "group.instance.id requires group.id");
    validate_ok(c, PROD); /* a producer ignores consumer settings */
    set_ok(c, "group.instance.id", NULL);
    set_ok(c, "enable.auto.commit", "true");
    validate_fails(c, CONS, "enable.auto.commit=true requires group.id");
    set_ok(c, "group.id", "");
    validate_fails(c, CONS, "group.id must not be empty");
    set_ok(c, "group.id", "g");
    set_ok(c, "group.instance.id", "");
    validate_fails(c, CONS, "group.instance.id must not be empty");
    set_ok(c, "group.instance.id", "m-1");
    validate_ok(c, CONS);
    ck_assert(kwi_conf_bool(c, KWI_CONF_ENABLE_AUTO_COMMIT));

    set_ok(c, "heartbeat.interval.ms", "45000");
    validate_fails(c, CONS,
                   "heartbeat.interval.ms (45000) must be lower than session.timeout.ms (45000)");
    set_ok(c, "session.timeout.ms", "60000");
    validate_ok(c, CONS);
    set_ok(c, "max.poll.interval.ms", "50000");
    validate_fails(c, CONS,
                   "max.poll.interval.ms (50000) must be at least session.timeout.ms (60000)");
    set_ok(c, "max.poll.interval.ms", NULL);

    /* KIP-848: classic-only settings are errors, and the other way round (as in Java 4.0). */
    set_ok(c, "group.protocol", "consumer");
    validate_fails(c, CONS,
                   "session.timeout.ms is not supported with group.protocol=consumer (the broker "
                   "assigns partitions and times sessions)");
    set_ok(c, "session.timeout.ms", NULL);
    set_ok(c, "heartbeat.interval.ms", NULL);
    set_ok(c, "partition.assignment.strategy", "range");
    validate_fails(c, CONS,
                   "partition.assignment.strategy is not supported with group.protocol=consumer "
                   "(the broker assigns partitions and times sessions)");
    set_ok(c, "partition.assignment.strategy", NULL);
    set_ok(c, "group.remote.assignor", "uniform");
    validate_ok(c, CONS);
    set_ok(c, "group.protocol", "classic");
    validate_fails(c, CONS, "group.remote.assignor is only supported with group.protocol=consumer");
    set_ok(c, "group.remote.assignor", NULL);
    validate_ok(c, CONS);
    set_ok(c, "partition.assignment.strategy", "");
    validate_fails(c, CONS, "partition.assignment.strategy must name at least one assignor");
    set_ok(c, "partition.assignment.strategy", NULL);

    /* A full fetch response must fit in one receive. */
    set_ok(c, "fetch.max.bytes", "100000000");
    validate_ok(c, CONS);
    ck_assert_int_eq(kwi_conf_int(c, KWI_CONF_RECEIVE_MESSAGE_MAX_BYTES), 100000512);
    set_ok(c, "receive.message.max.bytes", "1000000");
    validate_fails(c, CONS,
                   "receive.message.max.bytes (1000000) must be at least fetch.max.bytes + 512 "
                   "(100000512)");
    set_ok(c, "fetch.max.bytes", "999488");
    validate_ok(c, CONS);
    kw_conf_free(c);
}
END_TEST

START_TEST(test_validate_compression)
{
    kw_conf *c = valid_conf();
    static const struct {
        const char *codec;
        int have;
        const char *bad_level;
        const char *range;
    } codecs[] = {
        {"gzip", KW_HAVE_ZLIB, "10", "0..9"},
        {"lz4", KW_HAVE_LZ4, "18", "1..17"},
        {"zstd", KW_HAVE_ZSTD, "0", "1..22"},
        {"snappy", KW_HAVE_SNAPPY, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
        set_ok(c, "compression.type", codecs[i].codec);
        set_ok(c, "compression.level", NULL);
        char msg[160];
        if (!codecs[i].have) {
            snprintf(msg, sizeof(msg), "compression.type=%s: this kwire was built without %s",
                     codecs[i].codec, codecs[i].codec);
            validate_fails(c, PROD, msg);
            continue;
        }
        validate_ok(c, PROD);
        validate_ok(c, CONS); /* a consumer does not compress */
        if (!codecs[i].bad_level) {
            set_ok(c, "compression.level", "22"); /* no levels: ignored */
            validate_ok(c, PROD);
            continue;
        }
        set_ok(c, "compression.level", codecs[i].bad_level);
        snprintf(msg, sizeof(msg), "compression.level %s is out of range for %s (%s, or -1)",
                 codecs[i].bad_level, codecs[i].codec, codecs[i].range);
        validate_fails(c, PROD, msg);
        set_ok(c, "compression.level", "9");
        validate_ok(c, PROD);
    }
    kw_conf_free(c);
}
END_TEST

/* ---- docs/configuration.md is generated from the table ------------------------------------ */

#define DOC_BEGIN "<!-- BEGIN GENERATED FROM kw_conf_describe: do not edit by hand -->\n"
#define DOC_END   "<!-- END GENERATED -->\n"

typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(sbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        ck_assert_int_ge(n, 0);
        if (b->p && (size_t)n < b->cap - b->len) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap + (size_t)n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        ck_assert_ptr_nonnull(b->p);
    }
}

static const char *
scope_text(unsigned s)
{
    switch (s) {
    case KW_CONF_SCOPE_ALL:
        return "all clients";
    case KW_CONF_SCOPE_PRODUCER:
        return "producer";
    case KW_CONF_SCOPE_CONSUMER:
        return "consumer";
    default:
        return "some clients";
    }
}

/* GitHub's anchor for a "### name" heading: punctuation such as '.' is dropped. */
static const char *
anchor(const char *name)
{
    static char buf[128];
    size_t w = 0;
    for (const char *p = name; *p && w + 1 < sizeof(buf); p++)
        if (*p != '.')
            buf[w++] = *p;
    buf[w] = '\0';
    return buf;
}

/* The generated part of docs/configuration.md: a summary table, then one section a property. */
static char *
render_doc(void)
{
    sbuf b = {NULL, 0, 0};
    kw_conf_prop p;
    sb_printf(&b, "| property | type | default | applies to |\n|---|---|---|---|\n");
    for (size_t i = 0; kw_conf_describe(i, &p) == KW_ERR_OK; i++)
        sb_printf(&b, "| [`%s`](#%s) | %s | %s%s%s | %s |\n", p.name, anchor(p.name),
                  kw_conf_type_name(p.type), p.default_value ? "`" : "",
                  p.default_value ? (*p.default_value ? p.default_value : "\"\"") : "none",
                  p.default_value ? "`" : "", scope_text(p.scope));
    for (size_t i = 0; kw_conf_describe(i, &p) == KW_ERR_OK; i++) {
        sb_printf(&b, "\n### %s\n\n", p.name);
        sb_printf(&b, "- type: %s\n", kw_conf_type_name(p.type));
        if (p.default_value)
            sb_printf(&b, "- default: `%s`\n", *p.default_value ? p.default_value : "\"\"");
        else
            sb_printf(&b, "- default: none\n");
        if (p.type == KW_CONF_INT || p.type == KW_CONF_MS || p.type == KW_CONF_BYTES)
            sb_printf(&b, "- range: %lld to %lld\n", (long long)p.min, (long long)p.max);
        if (p.values)
            sb_printf(&b, "- values: %s\n", p.values);
        for (int k = 0; p.aliases[k]; k++) {
            if (p.alias_scale[k] == 1)
                sb_printf(&b, "- alias: `%s`\n", p.aliases[k]);
            else
                sb_printf(&b, "- alias: `%s` (value × %lld)\n", p.aliases[k],
                          (long long)p.alias_scale[k]);
        }
        sb_printf(&b, "- applies to: %s\n\n%s\n", scope_text(p.scope), p.doc);
    }
    return b.p;
}

static char *
read_all(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    sbuf b = {NULL, 0, 0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        sb_printf(&b, "%.*s", (int)n, chunk);
    fclose(f);
    if (!b.p)
        sb_printf(&b, "%s", "");
    return b.p;
}

START_TEST(test_doc_matches_table)
{
    const char *src = getenv("KW_SRC_DIR");
    ck_assert_msg(src != NULL, "KW_SRC_DIR is not set");
    char path[1024];
    snprintf(path, sizeof(path), "%s/docs/configuration.md", src);
    char *doc = read_all(path);
    char *want = render_doc();
    char *begin = strstr(doc, DOC_BEGIN);
    char *end = begin ? strstr(begin, DOC_END) : NULL;
    ck_assert_msg(begin && end, "%s: generated-section markers missing", path);
    begin += strlen(DOC_BEGIN);
    size_t have_len = (size_t)(end - begin);
    bool same = have_len == strlen(want) && memcmp(begin, want, have_len) == 0;
    if (!same && getenv("KW_CONF_DOC_UPDATE")) {
        /* KW_CONF_DOC_UPDATE=1 meson test util_conf: rewrite the generated section. */
        FILE *f = fopen(path, "wb");
        ck_assert_ptr_nonnull(f);
        fwrite(doc, 1, (size_t)(begin - doc), f);
        fputs(want, f);
        fputs(end, f);
        fclose(f);
        same = true;
    }
    ck_assert_msg(same, "docs/configuration.md is out of date with the property table; regenerate "
                        "with KW_CONF_DOC_UPDATE=1 meson test util_conf");
    free(doc);
    free(want);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("util_conf");
    TCase *tc = tcase_create("conf");
    tcase_add_test(tc, test_table_is_consistent);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_bool);
    tcase_add_test(tc, test_integers);
    tcase_add_test(tc, test_enums);
    tcase_add_test(tc, test_strings_and_secrets);
    tcase_add_test(tc, test_lists);
    tcase_add_test(tc, test_broker_addresses);
    tcase_add_test(tc, test_aliases);
    tcase_add_test(tc, test_unknown_names);
    tcase_add_test(tc, test_get_buffer_and_reset);
    tcase_add_test(tc, test_dump);
    tcase_add_test(tc, test_dup_is_deep);
    tcase_add_test(tc, test_file_ok);
    tcase_add_test(tc, test_file_errors);
    tcase_add_test(tc, test_nomem_everywhere);
    tcase_add_test(tc, test_validate_defaults);
    tcase_add_test(tc, test_validate_idempotence);
    tcase_add_test(tc, test_validate_transactions);
    tcase_add_test(tc, test_validate_timeouts);
    tcase_add_test(tc, test_validate_security);
    tcase_add_test(tc, test_validate_consumer);
    tcase_add_test(tc, test_validate_compression);
    tcase_add_test(tc, test_doc_matches_table);
    suite_add_tcase(s, tc);
    return s;
}
