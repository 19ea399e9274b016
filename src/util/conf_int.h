/* Internal: the configuration object as the library reads it.
 *
 * Properties are numbered by kwi_conf_id. The library never looks a property up by name after
 * the user has set it: hot paths read `c->num[KWI_CONF_LINGER_MS]` through the inline getters
 * below, which are array indexing.
 *
 * Storage per property:
 *   num[id]  bool (0/1), int, ms, bytes, and the value of an enum (the KWI_* constants below);
 *   str[id]  string, list (canonical: items joined by ",", no blanks), secret, and the canonical
 *            name of an enum; NULL when the property has no value (no default, never set).
 *            It points either into the static table (defaults, enum names) or to a copy the
 *            conf owns (the `owned` bit), allocated through `a`.
 *
 * kwi_conf_validate() runs once when a client is created from a configuration. It checks
 * combinations and resolves derived values (an idempotent producer turned off by an explicit
 * acks=1, delivery.timeout.ms raised to linger.ms + request.timeout.ms, ...) the way the Java
 * client does. It writes the derived values into the conf, so a client validates its own copy
 * (kw_conf_dup) and reads the effective values from it. */
#ifndef KWI_UTIL_CONF_INT_H
#define KWI_UTIL_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwire/conf.h"

/* Property ids, in the (alphabetical) order of the table in conf_props.c. */
typedef enum kwi_conf_id {
    KWI_CONF_ACKS,
    KWI_CONF_ALLOW_AUTO_CREATE_TOPICS,
    KWI_CONF_API_VERSION_REQUEST_TIMEOUT_MS,
    KWI_CONF_AUTO_COMMIT_INTERVAL_MS,
    KWI_CONF_AUTO_OFFSET_RESET,
    KWI_CONF_BATCH_NUM_MESSAGES,
    KWI_CONF_BATCH_SIZE,
    KWI_CONF_BOOTSTRAP_SERVERS,
    KWI_CONF_BUFFER_MEMORY,
    KWI_CONF_CHECK_CRCS,
    KWI_CONF_CLIENT_ID,
    KWI_CONF_CLIENT_RACK,
    KWI_CONF_COMPRESSION_LEVEL,
    KWI_CONF_COMPRESSION_TYPE,
    KWI_CONF_CONNECTIONS_MAX_IDLE_MS,
    KWI_CONF_DELIVERY_TIMEOUT_MS,
    KWI_CONF_ENABLE_AUTO_COMMIT,
    KWI_CONF_ENABLE_IDEMPOTENCE,
    KWI_CONF_FETCH_MAX_BYTES,
    KWI_CONF_FETCH_MAX_WAIT_MS,
    KWI_CONF_FETCH_MIN_BYTES,
    KWI_CONF_FETCH_QUEUE_MAX_BYTES,
    KWI_CONF_GROUP_ID,
    KWI_CONF_GROUP_INSTANCE_ID,
    KWI_CONF_GROUP_PROTOCOL,
    KWI_CONF_GROUP_REMOTE_ASSIGNOR,
    KWI_CONF_HEARTBEAT_INTERVAL_MS,
    KWI_CONF_ISOLATION_LEVEL,
    KWI_CONF_LINGER_MS,
    KWI_CONF_MAX_IN_FLIGHT,
    KWI_CONF_MAX_PARTITION_FETCH_BYTES,
    KWI_CONF_MAX_POLL_INTERVAL_MS,
    KWI_CONF_MAX_REQUEST_SIZE,
    KWI_CONF_METADATA_MAX_AGE_MS,
    KWI_CONF_PARTITION_ASSIGNMENT_STRATEGY,
    KWI_CONF_PARTITIONER,
    KWI_CONF_RECEIVE_MESSAGE_MAX_BYTES,
    KWI_CONF_RECONNECT_BACKOFF_MAX_MS,
    KWI_CONF_RECONNECT_BACKOFF_MS,
    KWI_CONF_REQUEST_TIMEOUT_MS,
    KWI_CONF_RETRIES,
    KWI_CONF_RETRY_BACKOFF_MAX_MS,
    KWI_CONF_RETRY_BACKOFF_MS,
    KWI_CONF_SASL_KERBEROS_SERVICE_NAME,
    KWI_CONF_SASL_MECHANISM,
    KWI_CONF_SASL_PASSWORD,
    KWI_CONF_SASL_USERNAME,
    KWI_CONF_SECURITY_PROTOCOL,
    KWI_CONF_SESSION_TIMEOUT_MS,
    KWI_CONF_SOCKET_CONNECTION_SETUP_TIMEOUT_MS,
    KWI_CONF_SOCKET_TIMEOUT_MS,
    KWI_CONF_SSL_CA_LOCATION,
    KWI_CONF_SSL_CERTIFICATE_LOCATION,
    KWI_CONF_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM,
    KWI_CONF_SSL_KEY_LOCATION,
    KWI_CONF_SSL_KEY_PASSWORD,
    KWI_CONF_TRANSACTION_TIMEOUT_MS,
    KWI_CONF_TRANSACTIONAL_ID,
    KWI_CONF__COUNT
} kwi_conf_id;

/* Enum values, as kwi_conf_int() returns them. */
#define KWI_ACKS_ALL (-1) /* acks: -1 = all, 0, 1 are the wire values */

#define KWI_OFFSET_RESET_EARLIEST 0
#define KWI_OFFSET_RESET_LATEST   1
#define KWI_OFFSET_RESET_NONE     2

/* compression.type: the kw_codec ids of kwire/codec.h (conf.c checks they agree). */
#define KWI_COMPRESSION_NONE   0
#define KWI_COMPRESSION_GZIP   1
#define KWI_COMPRESSION_SNAPPY 2
#define KWI_COMPRESSION_LZ4    3
#define KWI_COMPRESSION_ZSTD   4

#define KWI_GROUP_PROTOCOL_CLASSIC  0
#define KWI_GROUP_PROTOCOL_CONSUMER 1

/* isolation.level: the wire IsolationLevel of Fetch and ListOffsets. */
#define KWI_ISOLATION_READ_UNCOMMITTED 0
#define KWI_ISOLATION_READ_COMMITTED   1

/* partitioner: librdkafka's names. The *_random ones use sticky partitioning (KIP-480) for
 * records without a key; the others hash the empty key. */
#define KWI_PARTITIONER_MURMUR2_RANDOM    0
#define KWI_PARTITIONER_MURMUR2           1
#define KWI_PARTITIONER_CONSISTENT_RANDOM 2
#define KWI_PARTITIONER_CONSISTENT        3
#define KWI_PARTITIONER_FNV1A_RANDOM      4
#define KWI_PARTITIONER_FNV1A             5
#define KWI_PARTITIONER_RANDOM            6

#define KWI_SASL_NONE          0 /* sasl.mechanism not set */
#define KWI_SASL_PLAIN         1
#define KWI_SASL_SCRAM_SHA_256 2
#define KWI_SASL_SCRAM_SHA_512 3
#define KWI_SASL_GSSAPI        4

#define KWI_SECURITY_PLAINTEXT      0
#define KWI_SECURITY_SSL            1
#define KWI_SECURITY_SASL_PLAINTEXT 2
#define KWI_SECURITY_SASL_SSL       3

#define KWI_SSL_ENDPOINT_NONE  0
#define KWI_SSL_ENDPOINT_HTTPS 1

/* Roles for kwi_conf_validate: the same bits as KW_CONF_SCOPE_*; a client that both produces
 * and consumes passes both. */
#define KWI_CONF_ROLE_PRODUCER KW_CONF_SCOPE_PRODUCER
#define KWI_CONF_ROLE_CONSUMER KW_CONF_SCOPE_CONSUMER
#define KWI_CONF_ROLE_ADMIN    KW_CONF_SCOPE_ADMIN

/* The port used for a bootstrap server given without one (librdkafka's behaviour). */
#define KWI_CONF_DEFAULT_PORT 9092

#define KWI_CONF_WORDS ((KWI_CONF__COUNT + 63) / 64)

struct kw_conf {
    kw_allocator a;
    int64_t num[KWI_CONF__COUNT];
    const char *str[KWI_CONF__COUNT];
    uint64_t set[KWI_CONF_WORDS];   /* set explicitly by the user */
    uint64_t owned[KWI_CONF_WORDS]; /* str[id] is a copy this conf must free */
};

/* One accepted value of an enum (or of the items of a list drawn from a fixed set). The first
 * entry with a given value is its canonical spelling; later ones are synonyms. Arrays end with
 * a NULL name. */
typedef struct kwi_conf_enum_val {
    const char *name;
    int64_t value;
} kwi_conf_enum_val;

/* One row of the property table. */
typedef struct kwi_conf_def {
    const char *name;
    kw_conf_type type;
    const char *def; /* default in canonical string form; NULL = none */
    int64_t min, max;
    const kwi_conf_enum_val *vals; /* ENUM, and LIST items drawn from a fixed set */
    const char *values_doc;        /* what kw_conf_prop.values shows */
    /* LIST: checks one item; returns NULL when it is fine, else why not (static text). */
    const char *(*check_item)(const char *item, size_t len);
    const char *aliases[KW_CONF_MAX_ALIASES + 1];
    int64_t alias_scale[KW_CONF_MAX_ALIASES + 1]; /* 0 means 1 */
    unsigned scope;
    const char *doc;
} kwi_conf_def;

/* The table, indexed by kwi_conf_id (conf_props.c). */
extern const kwi_conf_def kwi_conf_defs[KWI_CONF__COUNT];

/* ---- getters: array indexing, no locks, no allocation ---------------------------------- */

/* bool (0/1), int, ms, bytes, or an enum's value. */
static inline int64_t
kwi_conf_int(const kw_conf *c, kwi_conf_id id)
{
    return c->num[id];
}

static inline bool
kwi_conf_bool(const kw_conf *c, kwi_conf_id id)
{
    return c->num[id] != 0;
}

/* string, list, secret, or an enum's canonical name; NULL when the property has no value. The
 * pointer stays valid until the property is set again or the conf is freed. */
static inline const char *
kwi_conf_str(const kw_conf *c, kwi_conf_id id)
{
    return c->str[id];
}

/* Whether the user set the property (directly or through an alias), as opposed to a default
 * or a value kwi_conf_validate derived. */
static inline bool
kwi_conf_explicit(const kw_conf *c, kwi_conf_id id)
{
    return (c->set[id / 64] >> (id % 64)) & 1u;
}

/* Walk a list property's canonical value: `*cur` starts at kwi_conf_str(); each call yields
 * the next item (not NUL-terminated) and returns false at the end. */
bool kwi_conf_list_next(const char **cur, const char **item, size_t *len);

/* A bootstrap server item: `[scheme://]host[:port]` with an IPv6 host in brackets. */
typedef struct kwi_conf_broker {
    const char *host; /* points into the item, without brackets; not NUL-terminated */
    size_t host_len;
    int port; /* KWI_CONF_DEFAULT_PORT when the item names none */
} kwi_conf_broker;

/* Parse one item; returns NULL on success, else why it is not an address (static text). */
const char *kwi_conf_parse_broker(const char *item, size_t len, kwi_conf_broker *out);

/* The default of a numeric, bool or enum property as a number (0 when it has none). */
int64_t kwi_conf_default_num(kwi_conf_id id);

/* Restore a property's default without marking it explicit (kwi_conf_validate uses it to
 * recompute derived values from scratch). */
void kwi_conf_reset(kw_conf *c, kwi_conf_id id);

/* Give a numeric or bool property a derived value: not marked explicit. */
void kwi_conf_derive(kw_conf *c, kwi_conf_id id, int64_t v);

/* Check the combination of settings for a client with these roles (KWI_CONF_ROLE_* bits) and
 * resolve derived values, as described at the top. Deterministic: the result depends only on
 * the explicit settings, so validating twice gives the same conf. On failure `err` names the
 * properties; the conf may hold some derived values and is meant to be discarded.
 * Returns KW_ERR_OK or KW_ERR_CONFIG. */
kw_err kwi_conf_validate(kw_conf *c, unsigned roles, kw_error *err);

#endif
