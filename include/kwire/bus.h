/* kwire: the event bus.
 *
 * A C counterpart of eventsource-py's KafkaEventBus: domain events are published to one topic,
 * "{topic_prefix}.stream", keyed by their aggregate id (so an aggregate's events keep their
 * order through partitioning), and consumed by a consumer group that dispatches each event to
 * the handlers subscribed to its type. A handler that fails makes the event retry with
 * exponential backoff; after max_retries it goes to the dead-letter topic
 * "{topic_prefix}.stream{dlq_topic_suffix}", from which it can be listed and replayed.
 * Configuration names, header names, metric names and tracing attributes are eventsource-py's,
 * so the events and dashboards of a Python service and a C service are interchangeable.
 *
 * This header has two parts:
 *   - values that need no broker: the configuration (kw_bus_config), UUIDs and timestamps, the
 *     event envelope and its encoding to a Kafka record, statistics, metrics (callback reader
 *     and Prometheus text) and tracing (span hooks, W3C traceparent). These functions are pure
 *     or touch only the object they are given; any thread may call them on objects it owns.
 *   - the runtime (kw_bus), which connects, publishes, consumes, retries and writes the DLQ.
 *
 * Docs: docs/event_bus.md. */
#ifndef KWIRE_BUS_H
#define KWIRE_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "client.h"
#include "conf.h"
#include "error.h"
#include "export.h"
#include "proto.h"
#include "records.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================ configuration */

/** Sizes of the string fields of kw_bus_config, including the NUL. */
#define KW_BUS_SERVERS_MAX 1024 /**< bootstrap_servers */
#define KW_BUS_NAME_MAX    256  /**< topic_prefix, consumer_group, consumer_name, user names */
#define KW_BUS_ENUM_MAX    32   /**< acks, compression_type, ... */
#define KW_BUS_PATH_MAX    1024 /**< ssl_* paths */
#define KW_BUS_SECRET_MAX  256  /**< sasl_password, ssl_key_password */

/** How a failed event waits for its next attempt (kw_bus_config.retry_mode). */
typedef enum kw_bus_retry_mode {
    /** The event's partition pauses for the delay and the same event is handed to the handlers
     *  again; other partitions go on. Keeps per-aggregate order. The default. */
    KW_BUS_RETRY_IN_PLACE = 0,
    /** eventsource-py's behaviour: the event is republished to the tail of the main topic with
     *  headers retry_count and retry_after (Unix seconds, a decimal fraction) and its offset is
     *  committed; events of the same aggregate published meanwhile overtake it. */
    KW_BUS_RETRY_REPUBLISH = 1
} kw_bus_retry_mode;

/**
 * The bus configuration: eventsource-py's KafkaEventBusConfig field for field, plus what a C
 * runtime needs (retry_mode, topic creation, the key passphrase). A value type: initialise with
 * kw_bus_config_init (or kw_bus_config_from_env), change fields directly (strings are arrays
 * inside the struct, so a copy is a plain assignment and nothing needs freeing), or set them by
 * name with kw_bus_config_set. kw_bus_config_validate checks it; kw_bus_new validates again.
 *
 * Times in seconds are doubles, as in eventsource-py; times in ms are integers, as in Kafka.
 * An empty string means "not set" for the optional fields.
 */
typedef struct kw_bus_config {
    /* connection */
    char bootstrap_servers[KW_BUS_SERVERS_MAX]; /**< "localhost:9092" */
    char topic_prefix[KW_BUS_NAME_MAX];         /**< "events": topic "{prefix}.stream" */
    char consumer_group[KW_BUS_NAME_MAX];       /**< "default" */
    char consumer_name[KW_BUS_NAME_MAX];        /**< "{hostname}-{8 hex digits}"; client.id */
    /* producer */
    char acks[KW_BUS_ENUM_MAX];             /**< "all" | "1" | "0" ("-1" = "all") */
    char compression_type[KW_BUS_ENUM_MAX]; /**< "gzip" | "none" | "snappy" | "lz4" | "zstd" */
    int32_t batch_size;                     /**< 16384 bytes, > 0 */
    int32_t linger_ms;                      /**< 5 */
    /* consumer */
    char auto_offset_reset[KW_BUS_ENUM_MAX]; /**< "earliest" | "latest" | "none" */
    int32_t session_timeout_ms;              /**< 30000 */
    int32_t heartbeat_interval_ms;           /**< 10000, below session_timeout_ms */
    int32_t max_poll_interval_ms;            /**< 300000, at least session_timeout_ms */
    /* error handling */
    int32_t max_retries;          /**< 3: attempts after the first before the DLQ */
    double retry_base_delay;      /**< 1.0 s */
    double retry_max_delay;       /**< 60.0 s, >= retry_base_delay */
    double retry_jitter;          /**< 0.1: the delay varies by +/- this fraction, in [0, 1] */
    kw_bus_retry_mode retry_mode; /**< KW_BUS_RETRY_IN_PLACE */
    /* dead-letter queue */
    bool enable_dlq;                        /**< true; false = drop after the retries (counted) */
    char dlq_topic_suffix[KW_BUS_ENUM_MAX]; /**< ".dlq" */
    int32_t dlq_max_replay_attempts;        /**< 3 */
    /* topics: created through CreateTopics when missing and the broker does not auto-create */
    bool create_topics;               /**< true */
    int32_t topic_partitions;         /**< -1 = the broker's num.partitions (KIP-464) */
    int16_t topic_replication_factor; /**< -1 = the broker's default.replication.factor */
    /* security */
    char security_protocol[KW_BUS_ENUM_MAX];  /**< PLAINTEXT | SSL | SASL_PLAINTEXT | SASL_SSL */
    char sasl_mechanism[KW_BUS_ENUM_MAX];     /**< PLAIN | SCRAM-SHA-256 | SCRAM-SHA-512 */
    char sasl_username[KW_BUS_NAME_MAX];      /**< required with SASL_* */
    char sasl_password[KW_BUS_SECRET_MAX];    /**< required with SASL_*; never dumped */
    char ssl_cafile[KW_BUS_PATH_MAX];         /**< PEM CA bundle; empty = system default */
    char ssl_certfile[KW_BUS_PATH_MAX];       /**< client certificate (mutual TLS) */
    char ssl_keyfile[KW_BUS_PATH_MAX];        /**< its private key; needed with ssl_certfile */
    char ssl_key_password[KW_BUS_SECRET_MAX]; /**< passphrase of ssl_keyfile; never dumped */
    bool ssl_check_hostname;                  /**< true: verify the broker's name */
    /* observability */
    bool enable_tracing; /**< true: spans, and traceparent/tracestate headers */
    bool enable_metrics; /**< true */
    /* shutdown */
    double shutdown_timeout; /**< 30.0 s: kw_bus_free's budget for kw_bus_shutdown */
} kw_bus_config;

/**
 * @brief Every default of the table above. consumer_name becomes "{hostname}-{8 hex digits}"
 *        from gethostname(2) and a random UUID (the hostname is cut to fit; "localhost" if it
 *        cannot be read). Never fails; reads no environment.
 */
KW_API void kw_bus_config_init(kw_bus_config *c);

/**
 * @brief kw_bus_config_init, then the environment variables eventsource-py reads:
 *        KAFKA_BOOTSTRAP_SERVERS, KAFKA_TOPIC_PREFIX, KAFKA_CONSUMER_GROUP,
 *        KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME,
 *        KAFKA_SASL_PASSWORD, KAFKA_SSL_CAFILE. An unset or empty variable keeps the default.
 *        Values go through kw_bus_config_set, so a value that field refuses is an error
 *        naming the variable. Not thread-safe against setenv (it calls getenv).
 * @return KW_ERR_OK or KW_ERR_CONFIG (the config then holds every variable before the bad
 *         one); KW_ERR_INVALID_ARG (c NULL).
 */
KW_API kw_err kw_bus_config_from_env(kw_bus_config *c, kw_error *err);

/**
 * @brief Set one field from its string form, by its name ("linger_ms", "retry_jitter",
 *        "enable_dlq", "sasl_password", ...). Booleans accept true/false/1/0/yes/no/on/off (any
 *        case), numbers are decimal (doubles may have a fraction), retry_mode is "in_place" or
 *        "republish". Enumerated strings (acks, compression_type, auto_offset_reset,
 *        security_protocol, sasl_mechanism) are checked against their values and stored in
 *        canonical case ("-1" for acks becomes "all"); compression_type "" becomes "none",
 *        sasl_mechanism "none" becomes "" (not set).
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND (unknown field); KW_ERR_CONFIG (bad value, string too
 *         long); KW_ERR_INVALID_ARG (NULL argument). On failure the field is unchanged.
 */
KW_API kw_err kw_bus_config_set(kw_bus_config *c, const char *field, const char *value,
                                kw_error *err);

/**
 * @brief Check every field and combination: acks, compression_type, auto_offset_reset,
 *        security_protocol and sasl_mechanism values; SASL_* without mechanism, username or
 *        password; a mechanism without SASL_*; ssl_certfile without ssl_keyfile and the
 *        reverse; SSL files with a non-SSL protocol; non-positive batch_size or timeouts;
 *        heartbeat_interval_ms >= session_timeout_ms; max_poll_interval_ms <
 *        session_timeout_ms; negative linger_ms, max_retries, delays or replay attempts;
 *        retry_base_delay 0; retry_max_delay < retry_base_delay; retry_jitter outside [0, 1]
 *        or NaN; empty or invalid topic names (the derived topic and DLQ topic must be 1-249
 *        characters of [a-zA-Z0-9._-]); an empty consumer_group, consumer_name or
 *        bootstrap_servers; a string field without its NUL.
 * @param err the message names the field, e.g. "retry_jitter: 1.5 is outside [0, 1]".
 * @return KW_ERR_OK or KW_ERR_CONFIG (the first problem found); KW_ERR_INVALID_ARG.
 */
KW_API kw_err kw_bus_config_validate(const kw_bus_config *c, kw_error *err);

/** Output formats of the dump functions. */
typedef enum kw_bus_format {
    KW_BUS_FORMAT_TEXT = 0, /**< one "field = value" line per field */
    KW_BUS_FORMAT_JSON = 1  /**< one JSON object, fields in declaration order */
} kw_bus_format;

/**
 * @brief Write every field, with the derived topic and dlq_topic, for logs. sasl_password and
 *        ssl_key_password print as "[hidden]" when set and "" (JSON null) when not.
 * @param buf may be NULL to ask for the size.
 * @param len in: size of buf; out: bytes needed including the NUL.
 * @return KW_ERR_OK; KW_ERR_NOSPACE (*len tells the size); KW_ERR_INVALID_ARG.
 */
KW_API kw_err kw_bus_config_dump(const kw_bus_config *c, kw_bus_format fmt, char *buf, size_t *len);

/**
 * @brief The main topic, "{topic_prefix}.stream", into buf.
 * @return KW_ERR_OK; KW_ERR_NOSPACE (*len tells the size); KW_ERR_INVALID_ARG.
 */
KW_API kw_err kw_bus_config_topic(const kw_bus_config *c, char *buf, size_t *len);
/** @brief The DLQ topic, "{topic_prefix}.stream{dlq_topic_suffix}"; as kw_bus_config_topic. */
KW_API kw_err kw_bus_config_dlq_topic(const kw_bus_config *c, char *buf, size_t *len);

/** Roles for kw_bus_config_to_conf (the KW_CONF_SCOPE_* bits of conf.h). */
#define KW_BUS_CONF_PRODUCER KW_CONF_SCOPE_PRODUCER
#define KW_BUS_CONF_CONSUMER KW_CONF_SCOPE_CONSUMER

/**
 * @brief Translate the configuration into client properties on `conf`: always
 *        bootstrap.servers, client.id (= consumer_name), security.protocol, sasl.mechanism,
 *        sasl.username, sasl.password, ssl.ca.location, ssl.certificate.location,
 *        ssl.key.location, ssl.key.password (those that are set) and
 *        ssl.endpoint.identification.algorithm (https or none from ssl_check_hostname); with
 *        KW_BUS_CONF_PRODUCER acks, compression.type, batch.size, linger.ms; with
 *        KW_BUS_CONF_CONSUMER group.id, auto.offset.reset, session.timeout.ms,
 *        heartbeat.interval.ms, max.poll.interval.ms and enable.auto.commit=false (the bus
 *        commits only what its handlers finished).
 * @return KW_ERR_OK; KW_ERR_CONFIG (validation failed, or a property refused a value: err
 *         names it); KW_ERR_INVALID_ARG; KW_ERR_NOMEM.
 */
KW_API kw_err kw_bus_config_to_conf(const kw_bus_config *c, unsigned roles, kw_conf *conf,
                                    kw_error *err);

/* ================================================================ UUIDs and time */

/* kw_uuid (proto.h): 16 bytes in network order. All-zero (nil) means "not set" in an event. */

/** Bytes of a UUID's canonical text form "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" plus NUL. */
#define KW_UUID_STR_SIZE 37

/** @brief A random (version 4) UUID from getrandom(2); falls back to /dev/urandom and then to
 *  a generator seeded from the clock and addresses, so it never fails. Any thread. */
KW_API void kw_uuid_v4(kw_uuid *out);
/** @brief Lowercase canonical form into out (KW_UUID_STR_SIZE bytes). Returns out. */
KW_API char *kw_uuid_format(const kw_uuid *u, char out[KW_UUID_STR_SIZE]);
/** @brief Parse the canonical form (hex digits in any case, exactly 36 characters, hyphens at
 *  8, 13, 18, 23). @return KW_ERR_OK or KW_ERR_MALFORMED (out untouched). */
KW_API kw_err kw_uuid_parse(const char *s, size_t len, kw_uuid *out);
/** @brief Whether every byte is zero. */
KW_API bool kw_uuid_is_nil(const kw_uuid *u);

/** @brief The wall clock (CLOCK_REALTIME) in microseconds since the Unix epoch. */
KW_API int64_t kw_bus_time_now_us(void);

/** Timestamp styles. */
typedef enum kw_bus_time_style {
    /** Python's datetime.isoformat() of an aware UTC time, eventsource-py's occurred_at:
     *  "2024-01-15T10:30:00.123456+00:00", the fraction left out when it is zero. */
    KW_BUS_TIME_MICROS = 0,
    /** Java/JavaScript style with milliseconds: "2024-01-15T10:30:00.123Z". */
    KW_BUS_TIME_MILLIS = 1
} kw_bus_time_style;

/** Bytes that always suffice for a formatted time, NUL included. */
#define KW_BUS_TIME_STR_SIZE 40

/**
 * @brief Format microseconds since the epoch as ISO-8601 UTC.
 * @return the length written (without the NUL), or 0 when `us` is outside years 1-9999 or
 *         size is too small (buf then holds "").
 */
KW_API size_t kw_bus_time_format(int64_t us, kw_bus_time_style style, char *buf, size_t size);

/**
 * @brief Parse an ISO-8601 date-time with a UTC offset: YYYY-MM-DD, then 'T', 't' or ' ', then
 *        hh:mm:ss with an optional fraction of 1-9 digits (truncated to microseconds), then
 *        'Z', 'z' or +hh:mm / -hh:mm (converted to UTC). A time without an offset is refused:
 *        it is not an instant.
 * @return KW_ERR_OK or KW_ERR_MALFORMED (out untouched).
 */
KW_API kw_err kw_bus_time_parse(const char *s, size_t len, int64_t *out_us);

/* ================================================================ events */

/** The content type of a payload when an event does not name one. */
#define KW_BUS_CONTENT_TYPE_JSON "application/json"

/**
 * A domain event: eventsource-py's DomainEvent envelope plus an opaque payload.
 *
 * When publishing, the strings and payload are the caller's and are copied by the publish
 * call. In a handler (decoded by kw_bus_event_decode) every pointer is valid only during the
 * call.
 */
typedef struct kw_bus_event {
    kw_uuid event_id;           /**< kw_bus_event_init draws a random one */
    const char *event_type;     /**< required, e.g. "OrderCreated" */
    const char *aggregate_type; /**< required, e.g. "Order" */
    kw_uuid aggregate_id;       /**< required (not nil); the record key */
    int64_t aggregate_version;  /**< >= 0; kw_bus_event_init sets 1 */
    int64_t occurred_at_us;     /**< UTC, microseconds since the epoch; init sets now */
    kw_uuid correlation_id;     /**< init draws a random one */
    kw_uuid causation_id;       /**< nil = not set (no header) */
    kw_uuid tenant_id;          /**< nil = not set */
    const char *actor_id;       /**< NULL or "" = not set */
    const char *content_type;   /**< NULL = KW_BUS_CONTENT_TYPE_JSON */
    kw_slice payload;           /**< the record value; len -1 is refused */
    /** W3C trace context. Decoded: the record's traceparent/tracestate headers (NULL when
     *  absent). Publishing: when set, the parent of the publish span, so an event published
     *  from a handler continues the handler's trace. */
    const char *traceparent;
    const char *tracestate;
} kw_bus_event;

/** @brief A fresh event: random event_id and correlation_id, aggregate_version 1,
 *  occurred_at now, everything else empty. */
KW_API void kw_bus_event_init(kw_bus_event *ev);

/** An event as a Kafka record: what kw_bus_event_encode produces. */
typedef struct kw_bus_record {
    kw_slice key;       /**< the aggregate id in canonical text */
    kw_slice value;     /**< the payload */
    kw_header *headers; /**< n_headers entries */
    int32_t n_headers;
} kw_bus_record;

/** The most headers kw_bus_event_encode produces. */
#define KW_BUS_EVENT_MAX_HEADERS 13

/**
 * @brief Encode an event as eventsource-py does: key = aggregate_id; value = payload; headers
 *        event_id, event_type, aggregate_id, aggregate_type, aggregate_version (decimal),
 *        occurred_at (KW_BUS_TIME_MICROS), correlation_id, content_type, then tenant_id,
 *        causation_id, actor_id when set, then traceparent and tracestate when traceparent
 *        is not NULL (tracestate only when not empty).
 * @param traceparent the formatted span context to send, or NULL (tracing off).
 * @param tracestate sent as is when traceparent is given and this is not NULL or "".
 * @param ar where the header array and texts go; they live until the arena is reset. The
 *        payload is not copied.
 * @return KW_ERR_OK; KW_ERR_INVALID_ARG (a missing or empty required field, a nil id, a
 *         negative version, a time outside years 1-9999, a null payload: err names the
 *         field); KW_ERR_NOMEM (the arena is full).
 */
KW_API kw_err kw_bus_event_encode(const kw_bus_event *ev, const char *traceparent,
                                  const char *tracestate, kw_arena *ar, kw_bus_record *out,
                                  kw_error *err);

/**
 * @brief Decode a consumed record's key, value and headers into an event. Texts are copied
 *        into `ar`, NUL-terminated; the payload borrows `value`.
 *
 * Required headers: event_id, event_type, aggregate_id, aggregate_type, aggregate_version,
 * occurred_at, correlation_id; optional: content_type, causation_id, tenant_id, actor_id,
 * traceparent, tracestate. Other headers are ignored. A record from the wire is hostile, so
 * this refuses, with a message naming the header: a missing, null or empty required header; a
 * header of the envelope that appears twice; text that is not UTF-8 or contains NUL; an id
 * that is not a UUID; a version that is not a non-negative decimal int64; a time that
 * kw_bus_time_parse refuses; a null value.
 * @return KW_ERR_OK; KW_ERR_MALFORMED (err says why: the deserialization_error DLQ reason);
 *         KW_ERR_NOMEM; KW_ERR_INVALID_ARG.
 */
KW_API kw_err kw_bus_event_decode(kw_slice key, kw_slice value, const kw_header *headers,
                                  int32_t n_headers, kw_arena *ar, kw_bus_event *out,
                                  kw_error *err);

/** Why a handler or a validator failed: becomes dlq_error_type and dlq_error_message. */
typedef struct kw_bus_failure {
    char type[64];      /**< e.g. "ValueError"; "" = "HandlerError" */
    char message[4096]; /**< UTF-8; the DLQ keeps its first 1000 characters */
} kw_bus_failure;

/** @brief Fill a failure (printf-style message, cut to fit on a UTF-8 boundary). */
KW_API void kw_bus_failure_set(kw_bus_failure *f, const char *type, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/**
 * Checks a decoded event of a registered type before any handler sees it (schema, payload
 * syntax, ...): the C counterpart of eventsource-py's event class. Returns 0 when the event is
 * acceptable; anything else sends it to the DLQ with reason deserialization_error and `why`.
 * Runs on the loop's thread.
 */
typedef int (*kw_bus_validate_fn)(const kw_bus_event *ev, kw_bus_failure *why, void *ud);

/* ================================================================ statistics */

/** Counters since the bus was created. Times are microseconds since the epoch, 0 = never. */
typedef struct kw_bus_stats {
    uint64_t events_published;         /**< acknowledged by the broker */
    uint64_t events_consumed;          /**< records handed to dispatch */
    uint64_t events_processed_success; /**< every handler succeeded */
    uint64_t events_processed_failed;  /**< a handler failed (counted per attempt) */
    uint64_t messages_sent_to_dlq;     /**< DLQ writes acknowledged */
    uint64_t handler_errors;           /**< failed handler calls */
    uint64_t reconnections;
    uint64_t rebalance_count; /**< assignments received (revocations included) */
    uint64_t events_retried;  /**< retries scheduled */
    uint64_t events_dropped;  /**< given up with enable_dlq false */
    uint64_t publish_errors;  /**< events whose publish failed */
    /** DLQ writes that failed (each failed attempt; the write is sent again, see
     *  messages_sent_to_dlq for the ones that arrived) */
    uint64_t dlq_write_errors;
    int64_t connected_at_us;
    int64_t last_publish_at_us;
    int64_t last_consume_at_us;
    int64_t last_error_at_us;
} kw_bus_stats;

/** @brief All zero. */
KW_API void kw_bus_stats_init(kw_bus_stats *s);

/**
 * @brief The statistics as one JSON object with eventsource-py's keys, counters as integers
 *        and times as KW_BUS_TIME_MICROS strings or null:
 *        {"events_published":0,...,"connected_at":null,"last_publish_at":null,...}
 * @return KW_ERR_OK; KW_ERR_NOSPACE (*len tells the size); KW_ERR_INVALID_ARG.
 */
KW_API kw_err kw_bus_stats_json(const kw_bus_stats *s, char *buf, size_t *len);

/* ================================================================ metrics */

/** The kinds of instrument. */
typedef enum kw_bus_metric_kind {
    KW_BUS_METRIC_COUNTER = 0,
    KW_BUS_METRIC_HISTOGRAM = 1,
    KW_BUS_METRIC_GAUGE = 2
} kw_bus_metric_kind;

/** One label (an OpenTelemetry attribute) of a series. */
typedef struct kw_bus_label {
    const char *name; /**< e.g. "event.type", "messaging.destination", "partition" */
    const char *value;
} kw_bus_label;

/**
 * One series of one instrument, as the reader callback sees it. Every pointer is valid only
 * during the callback.
 */
typedef struct kw_bus_metric {
    const char *name; /**< e.g. "kafka.eventbus.messages.published" */
    const char *description;
    const char *unit; /**< "messages", "ms", ... */
    kw_bus_metric_kind kind;
    const kw_bus_label *labels;
    size_t n_labels;
    double value;            /**< counter total, gauge value, histogram sum */
    uint64_t count;          /**< histogram: observations; else 0 */
    const double *bounds;    /**< histogram: upper bounds, ascending (n_buckets of them) */
    const uint64_t *buckets; /**< histogram: observations in (bounds[i-1], bounds[i]] */
    size_t n_buckets;        /**< histogram: bucket count, without the +Inf bucket */
    uint64_t overflow;       /**< histogram: observations above the last bound */
} kw_bus_metric;

/** The instruments of one bus (opaque; the bus owns it, see kw_bus_metrics_of). */
typedef struct kw_bus_metrics kw_bus_metrics;

/** Called once per series, instrument by instrument in a fixed order. */
typedef void (*kw_bus_metric_fn)(void *ud, const kw_bus_metric *m);

/**
 * @brief Visit every series. Any thread: takes the metrics lock, so `fn` must not call into
 *        the bus. Instruments that never recorded anything are still visited once without
 *        labels (value 0) when they have no labels, and not at all when they have labels.
 * @return KW_ERR_OK; KW_ERR_INVALID_ARG.
 */
KW_API kw_err kw_bus_metrics_read(kw_bus_metrics *m, kw_bus_metric_fn fn, void *ud);

/**
 * @brief The Prometheus text exposition format 0.0.4: per instrument "# HELP" and "# TYPE"
 *        lines, names with '.' turned into '_' (counters get "_total", histograms
 *        "_bucket{le=..}" cumulative with "+Inf", "_sum", "_count"), labels likewise renamed
 *        and their values escaped (\\, \", \n). Any thread.
 * @return KW_ERR_OK; KW_ERR_NOSPACE (*len tells the size); KW_ERR_INVALID_ARG.
 */
KW_API kw_err kw_bus_metrics_prometheus(kw_bus_metrics *m, char *buf, size_t *len);

/* ================================================================ tracing */

/** A W3C trace context (https://www.w3.org/TR/trace-context/): the traceparent fields. */
typedef struct kw_bus_trace_ctx {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t flags; /**< bit 0 = sampled */
} kw_bus_trace_ctx;

/** Bytes of a formatted version-00 traceparent plus NUL. */
#define KW_BUS_TRACEPARENT_SIZE 56
/** The longest tracestate kept (W3C: at least 512 characters must be propagated). */
#define KW_BUS_TRACESTATE_MAX 512

/**
 * @brief Parse a traceparent header: "00-<32 hex>-<16 hex>-<2 hex>", lowercase hex. Refused:
 *        version ff, a version-00 value of another length, uppercase or non-hex digits, an
 *        all-zero trace id or parent id. A higher version is accepted when its first four
 *        fields have the version-00 form and what follows starts with '-' (the W3C rule
 *        for forward compatibility).
 * @return KW_ERR_OK or KW_ERR_MALFORMED (out untouched).
 */
KW_API kw_err kw_bus_traceparent_parse(const char *s, size_t len, kw_bus_trace_ctx *out);

/** @brief Format as version 00 into out (KW_BUS_TRACEPARENT_SIZE bytes). Returns out. */
KW_API char *kw_bus_traceparent_format(const kw_bus_trace_ctx *ctx,
                                       char out[KW_BUS_TRACEPARENT_SIZE]);

/** Span kinds (OpenTelemetry's). */
typedef enum kw_bus_span_kind {
    KW_BUS_SPAN_PRODUCER = 0, /**< a publish */
    KW_BUS_SPAN_CONSUMER = 1  /**< processing one consumed event */
} kw_bus_span_kind;

/** A span attribute: a string or an integer. */
typedef struct kw_bus_attr {
    const char *key;
    const char *str; /**< NULL for an integer */
    int64_t num;
} kw_bus_attr;

/** The most attributes of a span. */
#define KW_BUS_SPAN_MAX_ATTRS 16

/**
 * A span as the hooks see it. The bus fills it; attribute keys and values live inside the
 * struct (attr_buf). `user` is the hook's: span_start may set it (e.g. to its SDK's span) and
 * span_end gets it back. span_start may also replace ctx.span_id (and, for a span without a
 * parent, ctx.trace_id) with its SDK's ids: the bus propagates whatever ctx holds when
 * span_start returns.
 */
typedef struct kw_bus_span {
    char name[192]; /**< "eventsource.event_bus.publish T" or "eventsource.event_bus.consume T" */
    kw_bus_span_kind kind;
    kw_bus_trace_ctx ctx;    /**< this span: the trace id, its own span id, flags */
    kw_bus_trace_ctx parent; /**< valid when has_parent */
    bool has_parent;
    char tracestate[KW_BUS_TRACESTATE_MAX + 1]; /**< passed through from the parent */
    kw_bus_attr attrs[KW_BUS_SPAN_MAX_ATTRS];
    size_t n_attrs;
    int64_t start_us, end_us; /**< wall clock; end_us 0 until the span ends */
    bool error;               /**< set at the end when the operation failed */
    char error_type[64];
    char error_message[256];
    void *user;
    char attr_buf[1024]; /**< storage of attribute texts; not for the hooks */
    size_t attr_used;
} kw_bus_span;

/** Tracing hooks. Both run on the loop's thread; either may be NULL. */
typedef struct kw_bus_tracer {
    void (*span_start)(void *ud, kw_bus_span *span);
    void (*span_end)(void *ud, kw_bus_span *span);
    void *ud;
} kw_bus_tracer;

/* ---- runtime: implemented in src/bus/bus.c etc. (busr) ---- */

/*
 * The runtime. A kw_bus owns two kw_clients: one carries the producer and an admin handle,
 * the other the consumer in consumer_group (separate connections, as the Java and Python
 * clients have, so a Fetch waiting for data never delays a Produce). Typical use:
 *
 *     kw_bus_new(&cfg, NULL, &bus, &err);
 *     kw_bus_subscribe(bus, "OrderCreated", on_created, app, &err);
 *     kw_bus_connect(bus, 30000, &err);                topics created when missing
 *     kw_bus_publish(bus, events, n, results, 10000, &err);
 *     kw_bus_start_consuming_in_background(bus, &err); or kw_bus_start_consuming (blocks),
 *                                                      or kw_bus_consume + kw_bus_step
 *     kw_bus_free(bus);                                shuts down within shutdown_timeout
 *
 * Delivery is at-least-once: a partition's offset is committed only up to the first event
 * that is not finished (every handler succeeded, or its DLQ write or republished retry was
 * acknowledged, or it was dropped with enable_dlq false). A failing event is retried after
 * min(base * 2^n, max) +/- jitter; with KW_BUS_RETRY_IN_PLACE its partition pauses meanwhile
 * (others go on) and resumes at the same event, so an aggregate's events keep their order.
 * While a DLQ write is unacknowledged its partition is paused at the next event; a DLQ write
 * that fails is sent again after the same backoff for as long as the bus runs and owns the
 * partition (counted in dlq_write_errors, logged), and a shutdown leaves the event uncommitted,
 * so it is handled again after a restart.
 *
 * Threads: one thread drives the bus at a time: the caller of kw_bus_step /
 * kw_bus_start_consuming, or the background thread. Handlers, validators and tracing hooks run
 * there. kw_bus_publish, kw_bus_publish_async, kw_bus_stop_consuming, kw_bus_get_stats,
 * kw_bus_get_topic_info and the DLQ tools may be called from any thread; the other functions
 * from the thread that owns the bus while nothing consumes on another thread.
 */

/** The event bus (opaque). */
typedef struct kw_bus kw_bus;

/** Where a consumed event came from; valid only during the handler call. */
typedef struct kw_bus_msg_info {
    const char *topic;
    int32_t partition;
    int64_t offset;
    int64_t timestamp_ms; /**< the record's timestamp */
    int32_t attempt;      /**< 0 on the first delivery, n on the n-th retry */
    /** The consumer span's context (NULL with enable_tracing off): set it as traceparent of
     *  the events a handler publishes, and their publish spans continue this trace. */
    const char *traceparent;
} kw_bus_msg_info;

/**
 * A handler: returns 0 on success; anything else fails this attempt (fill `fail` to say why:
 * it becomes dlq_error_type / dlq_error_message). Runs on the thread that drives the bus,
 * inside kw_bus_step / kw_bus_start_consuming or on the background thread. It may publish
 * (kw_bus_publish_async, or kw_bus_publish, which then drives the loop itself) and call
 * kw_bus_stop_consuming; it must not free or shut down the bus. Every handler of an event
 * runs even when an earlier one failed; a retry runs them all again.
 */
typedef int (*kw_bus_handler_fn)(kw_bus *bus, const kw_bus_event *ev, const kw_bus_msg_info *msg,
                                 kw_bus_failure *fail, void *ud);

/** Options of kw_bus_new beyond the configuration. */
typedef struct kw_bus_opts {
    const kw_allocator *allocator; /**< NULL = kw_allocator_default() */
    kw_bus_tracer tracer;          /**< hooks; all NULL = spans only propagate context */
    /** Logging hook (NULL = silent, the default), also installed on the bus's clients: lines
     *  at log_level or more severe. The bus's own lines have subsystem "bus" (a failed DLQ
     *  write and its next attempt, a DLQ write that succeeded after failures). Called on the
     *  thread that drives the bus. */
    kw_log_fn log;
    kw_log_level log_level; /**< KW_LOG_WARN after kw_bus_opts_init */
    void *log_ud;
} kw_bus_opts;

/** @brief No allocator override, no tracing hooks, no logging. */
KW_API void kw_bus_opts_init(kw_bus_opts *o);

/**
 * @brief Create a bus (no connection yet). The configuration is validated and copied.
 * @param o NULL = kw_bus_opts_init defaults.
 * @return KW_ERR_OK; KW_ERR_CONFIG (err names the field); KW_ERR_INVALID_ARG; KW_ERR_NOMEM.
 */
KW_API kw_err kw_bus_new(const kw_bus_config *c, const kw_bus_opts *o, kw_bus **out, kw_error *err);

/**
 * @brief Connect: create the client, producer, consumer and admin handle, and make sure the
 *        main and DLQ topics exist (described first; created through CreateTopics with
 *        topic_partitions / topic_replication_factor when missing and create_topics is set;
 *        auto-created through Metadata by a broker without CreateTopics). Steps the client
 *        on the calling thread until done or timeout_ms (<= 0: 30 s). Calling it again when
 *        connected does nothing.
 * @return KW_ERR_OK; KW_ERR_CONFIG (a property the client refuses, a TLS file that cannot be
 *         loaded); KW_ERR_TIMED_OUT; KW_ERR_NOT_FOUND (a topic is missing and may not be
 *         created); KW_ERR_BROKER (CreateTopics refused: err has the broker's code);
 *         KW_ERR_STATE (the bus was shut down).
 */
KW_API kw_err kw_bus_connect(kw_bus *bus, int timeout_ms, kw_error *err);

/** @brief Register an event type with an optional validator; an event of a type nobody
 *  registered goes to the DLQ (deserialization_error). Before consuming starts. */
KW_API kw_err kw_bus_register_event_type(kw_bus *bus, const char *event_type,
                                         kw_bus_validate_fn validate, void *ud, kw_error *err);

/** @brief Subscribe a handler to one event type (registers the type if needed). The handler's
 *  metrics label handler.name is "handler-<n>", n counting subscriptions from 1. */
KW_API kw_err kw_bus_subscribe(kw_bus *bus, const char *event_type, kw_bus_handler_fn handler,
                               void *ud, kw_error *err);
/** @brief Remove a (event_type, handler, ud) subscription; event_type NULL removes a
 *  subscribe_all one. KW_ERR_NOT_FOUND if absent. The type stays registered. */
KW_API kw_err kw_bus_unsubscribe(kw_bus *bus, const char *event_type, kw_bus_handler_fn handler,
                                 void *ud);
/** @brief Subscribe a handler to every event; these run after the type's own handlers. An
 *  event whose type nobody registered still goes to the DLQ. */
KW_API kw_err kw_bus_subscribe_all(kw_bus *bus, kw_bus_handler_fn handler, void *ud, kw_error *err);

/** The outcome of one published event. */
typedef struct kw_bus_publish_result {
    kw_err err; /**< KW_ERR_OK: acknowledged; KW_ERR_TIMED_OUT: not known when the call ended */
    int32_t partition;
    int64_t offset;
    kw_error detail;
} kw_bus_publish_result;

/**
 * @brief Publish n events (key = aggregate id, so an aggregate's events share a partition and
 *        keep their order) and wait until each is acknowledged or failed, at most timeout_ms
 *        (negative: 30 s). results[i] is events[i]'s outcome (results may be NULL). On the
 *        thread that drives the bus (or when nothing consumes) it steps the loop itself;
 *        from another thread while the background thread runs, it waits for it.
 * @return KW_ERR_OK when every event was acknowledged; else the first failure (err holds its
 *         detail), KW_ERR_TIMED_OUT when some outcome is still unknown, KW_ERR_STATE (not
 *         connected or shut down), KW_ERR_INVALID_ARG (an event refused by
 *         kw_bus_event_encode, reported in its result while the others are still sent).
 */
KW_API kw_err kw_bus_publish(kw_bus *bus, const kw_bus_event *events, size_t n,
                             kw_bus_publish_result *results, int timeout_ms, kw_error *err);
/** @brief Queue n events without waiting; their outcomes are counted in the statistics
 *  (events_published, publish_errors) and metrics. Delivered by the loop's later steps (or
 *  by kw_bus_shutdown's flush). @return as kw_bus_publish for what fails at once. */
KW_API kw_err kw_bus_publish_async(kw_bus *bus, const kw_bus_event *events, size_t n,
                                   kw_error *err);

/**
 * @brief Join the group and start dispatching, for a caller that drives the loop itself:
 *        then watch kw_bus_fd for readability, wait at most kw_bus_timeout_ms, and call
 *        kw_bus_step. Handlers run inside kw_bus_step.
 * @return KW_ERR_OK; KW_ERR_STATE (not connected, or shut down).
 */
KW_API kw_err kw_bus_consume(kw_bus *bus, kw_error *err);
/** @brief Consume on the caller's thread (kw_bus_consume, then kw_bus_step in a loop) until
 *  kw_bus_stop_consuming (from a handler or another thread) or kw_bus_shutdown from another
 *  thread. @return KW_ERR_OK when stopped; the error of a failed step. */
KW_API kw_err kw_bus_start_consuming(kw_bus *bus, kw_error *err);
/** @brief The descriptor to watch for reading: an epoll set holding the descriptors of the
 *  bus's two clients (producer and admin; consumer). -1 before kw_bus_connect. */
KW_API int kw_bus_fd(const kw_bus *bus);
/** @brief Milliseconds until kw_bus_step has work even if the fd stays quiet (a due retry, the
 *  next attempt of a failed DLQ write, a timer, buffered records: 0); -1 = only the fd. */
KW_API int kw_bus_timeout_ms(const kw_bus *bus);
/** @brief Run the loop once: wait up to timeout_ms for records or timers, hand records to the
 *  handlers, resume partitions whose retry is due, send again failed DLQ writes whose backoff
 *  passed, commit what finished.
 *  @return KW_ERR_OK; KW_ERR_STATE (not connected, or another thread drives the bus). */
KW_API kw_err kw_bus_step(kw_bus *bus, int timeout_ms, kw_error *err);
/** @brief Consume on one thread the bus starts (and joins in kw_bus_shutdown). Handlers run
 *  on it. @return KW_ERR_OK; KW_ERR_STATE (already consuming on a thread); KW_ERR_IO. */
KW_API kw_err kw_bus_start_consuming_in_background(kw_bus *bus, kw_error *err);
/** @brief Ask the consuming loop to stop after the event in hand; records already polled
 *  and not handled are not committed. Any thread, also from a handler. */
KW_API kw_err kw_bus_stop_consuming(kw_bus *bus);

/**
 * @brief Stop fetching (the background thread is joined, a kw_bus_start_consuming on
 *        another thread is waited for), let the event in hand finish, flush publishes and
 *        DLQ writes, commit what finished, leave the group (the revoked callback commits),
 *        all within timeout_ms. Afterwards the bus only answers statistics and DLQ tools.
 *        Not from a handler (KW_ERR_STATE).
 * @return KW_ERR_OK; KW_ERR_TIMED_OUT (something did not finish: what was not committed is
 *         handed out again to the group later); the error of a failed commit.
 */
KW_API kw_err kw_bus_shutdown(kw_bus *bus, int timeout_ms, kw_error *err);
/** @brief Shut down (config.shutdown_timeout) if needed and free. NULL does nothing. */
KW_API void kw_bus_free(kw_bus *bus);

/** @brief A snapshot of the statistics. Any thread. rebalance_count counts the consumer's
 *  rebalance callbacks: every assignment, and every non-empty revocation or loss. */
KW_API kw_err kw_bus_get_stats(kw_bus *bus, kw_bus_stats *out);
/** @brief The bus's metrics, for kw_bus_metrics_read / kw_bus_metrics_prometheus; valid until
 *  kw_bus_free. */
KW_API kw_bus_metrics *kw_bus_metrics_of(kw_bus *bus);

/** What get_topic_info reports. */
typedef struct kw_bus_topic_info {
    char topic[KW_BUS_NAME_MAX + 16];
    int32_t partitions; /**< -1 when unknown */
    char consumer_group[KW_BUS_NAME_MAX];
    bool connected;
    bool consuming;
} kw_bus_topic_info;

/** @brief The main topic, its partition count (learned at connect), the group, and whether
 *  the bus is connected and consuming. Any thread. */
KW_API kw_err kw_bus_get_topic_info(kw_bus *bus, kw_bus_topic_info *out, kw_error *err);

/** One DLQ record as get_dlq_messages returns it. */
typedef struct kw_bus_dlq_message {
    const char *topic;
    int32_t partition;
    int64_t offset;
    kw_slice key;
    int64_t timestamp_ms;
    const kw_header *headers;
    int32_t n_headers;
    kw_slice payload;
    int32_t replay_count; /**< dlq_replay_count, 0 when absent */
} kw_bus_dlq_message;

/** A list from kw_bus_get_dlq_messages; free with kw_bus_dlq_list_free. */
typedef struct kw_bus_dlq_list {
    kw_bus_dlq_message *messages;
    size_t n;
    kw_arena arena; /**< owns everything the messages point to */
} kw_bus_dlq_list;

/**
 * @brief Read up to `limit` DLQ records (from each partition's earliest offset to its end as
 *        of the call), sorted by partition and offset. Runs on a client of its own, stepped
 *        on the calling thread, without a group: nothing is committed. Any thread.
 * @return KW_ERR_OK (out->n may be 0); KW_ERR_TIMED_OUT; KW_ERR_NOMEM. On failure the list is
 *         empty and needs no freeing.
 */
KW_API kw_err kw_bus_get_dlq_messages(kw_bus *bus, size_t limit, int timeout_ms,
                                      kw_bus_dlq_list *out, kw_error *err);
/** @brief Free a list's memory. NULL does nothing. */
KW_API void kw_bus_dlq_list_free(kw_bus_dlq_list *l);
/** @brief End minus start offsets over the DLQ partitions (ListOffsets latest and earliest).
 *  Any thread; a client of its own. */
KW_API kw_err kw_bus_get_dlq_message_count(kw_bus *bus, int timeout_ms, int64_t *out,
                                           kw_error *err);
/**
 * @brief Republish one DLQ record to the main topic with its key and value, without its
 *        dlq_*, retry_count and retry_after headers and with dlq_replay_count + 1, and wait
 *        for the acknowledgement. Any thread; a client of its own.
 * @return KW_ERR_OK; KW_ERR_STATE (replayed dlq_max_replay_attempts times already and not
 *         forced); KW_ERR_NOT_FOUND (no record at that offset); KW_ERR_TIMED_OUT.
 */
KW_API kw_err kw_bus_replay_dlq_message(kw_bus *bus, int32_t partition, int64_t offset, bool force,
                                        int timeout_ms, kw_error *err);

#ifdef __cplusplus
}
#endif
#endif
