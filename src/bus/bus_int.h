/* Internal: the parts of the event bus that do not talk to Kafka, shared by the runtime
 * (bus.c and friends) and the unit tests.
 *
 * Everything here is single-threaded data manipulation except the metrics, which take their
 * own lock because kw_bus_metrics_read / _prometheus may run on a scraper's thread while the
 * loop records. Nothing here logs, sleeps or does I/O (kwi_bus_random_bytes reads the kernel's
 * random source). Allocation goes through the kw_allocator given, or through a kw_arena. */
#ifndef KWI_BUS_BUS_INT_H
#define KWI_BUS_BUS_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwire/bus.h"

/* ---------------------------------------------------------------- output buffer */

/* An snprintf-like writer behind every (buf, *len) function of bus.h: it writes what fits and
 * keeps counting, so one pass tells both the text and the size it needs. */
typedef struct kwi_bus_out {
    char *buf;
    size_t cap; /* size of buf; 0 with buf NULL = only count */
    size_t len; /* bytes the text needs so far (without the NUL) */
} kwi_bus_out;

void kwi_bus_out_init(kwi_bus_out *o, char *buf, size_t cap);
void kwi_bus_out_put(kwi_bus_out *o, const char *s, size_t n);
void kwi_bus_out_str(kwi_bus_out *o, const char *s);
void kwi_bus_out_fmt(kwi_bus_out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A JSON string literal (quotes included); control characters as \u00XX, invalid UTF-8 bytes
 * as U+FFFD, so the output is always valid JSON. */
void kwi_bus_out_json_str(kwi_bus_out *o, const char *s, size_t n);
/* A double as JSON/Prometheus want it: integers without a fraction, others with up to 17
 * significant digits; NaN and infinities as "NaN", "+Inf", "-Inf" (Prometheus spelling). */
void kwi_bus_out_num(kwi_bus_out *o, double v);
/* NUL-terminate; *len = bytes needed including the NUL. KW_ERR_OK (also for a size query,
 * buf NULL) or KW_ERR_NOSPACE. */
kw_err kwi_bus_out_finish(kwi_bus_out *o, size_t *len);

/* ---------------------------------------------------------------- randomness */

/* Fill p with random bytes: getrandom(2), then /dev/urandom, then a generator seeded from the
 * clock, the pid and addresses. Never fails (UUIDs and span ids only need to be unique). */
void kwi_bus_random_bytes(void *p, size_t n);

/* xoshiro256** (Blackman and Vigna): fast, 256-bit state, good enough for jitter and span ids.
 * Seeded explicitly in tests, so retry delays are reproducible. */
typedef struct kwi_bus_rng {
    uint64_t s[4];
} kwi_bus_rng;

void kwi_bus_rng_seed(kwi_bus_rng *r, uint64_t seed); /* splitmix64 expansion of seed */
void kwi_bus_rng_seed_random(kwi_bus_rng *r);         /* from kwi_bus_random_bytes */
uint64_t kwi_bus_rng_next(kwi_bus_rng *r);
double kwi_bus_rng_unit(kwi_bus_rng *r); /* uniform in [0, 1), 53 bits */

/* ---------------------------------------------------------------- UTF-8 */

/* Whether p[0..n) is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
bool kwi_bus_utf8_valid(const char *p, size_t n);
/* The longest prefix of s[0..n) of at most max_bytes bytes that does not end inside a
 * well-formed sequence, without an incomplete sequence at the end of s (text that something
 * else cut at a byte). Stray invalid bytes count as one byte each and are kept. */
size_t kwi_bus_utf8_prefix(const char *s, size_t n, size_t max_bytes);
/* A copy of at most max_chars characters of s[0..n) in the arena, NUL-terminated: never cut
 * inside a character, and each byte that is not part of a well-formed sequence becomes U+FFFD
 * (one character), so the result is always valid UTF-8 (Python's str(e)[:1000]). NULL on
 * arena exhaustion; *out_len gets the byte length. */
char *kwi_bus_utf8_clip(const char *s, size_t n, size_t max_chars, kw_arena *ar, size_t *out_len);

/* ---------------------------------------------------------------- headers */

/* The first header with this key, or NULL. */
const kw_header *kwi_bus_header_find(const kw_header *h, int32_t n, const char *key);
/* Whether a header's key equals `key`. */
bool kwi_bus_header_is(const kw_header *h, const char *key);
/* A header's value as a decimal int64 (no sign or a leading '-', no blanks, no overflow). */
kw_err kwi_bus_header_i64(const kw_header *h, int64_t *out);
/* A header with a copy of key and value in the arena; false on arena exhaustion. */
bool kwi_bus_header_make(kw_arena *ar, kw_header *out, const char *key, const char *val,
                         size_t val_len);

/* ---------------------------------------------------------------- registry */

/* One registered event type. `slot` is the runtime's (its handler list for the type). */
typedef struct kwi_bus_type {
    char *name;
    size_t name_len;
    kw_bus_validate_fn validate; /* NULL = every decoded event of the type is accepted */
    void *validate_ud;
    void *slot;
} kwi_bus_type;

/* The registry: types sorted by name, binary search. Value type: _init / _fini. */
typedef struct kwi_bus_registry {
    const kw_allocator *a;
    kwi_bus_type *types;
    size_t n, cap;
} kwi_bus_registry;

void kwi_bus_registry_init(kwi_bus_registry *r, const kw_allocator *a);
void kwi_bus_registry_fini(kwi_bus_registry *r);
/* Register `name` (1-249 bytes of UTF-8 without NUL) with an optional validator. Registering a
 * name again replaces its validator (and keeps its slot). KW_ERR_INVALID_ARG, KW_ERR_NOMEM. */
kw_err kwi_bus_registry_add(kwi_bus_registry *r, const char *name, kw_bus_validate_fn validate,
                            void *ud, kw_error *err);
/* Register `name` without a validator unless it is registered already (subscribe does it).
 * *out gets the entry (valid until the next add). */
kw_err kwi_bus_registry_ensure(kwi_bus_registry *r, const char *name, kwi_bus_type **out,
                               kw_error *err);
kwi_bus_type *kwi_bus_registry_find(const kwi_bus_registry *r, const char *name, size_t len);
/* Decide whether a decoded event may be dispatched: KW_ERR_OK; KW_ERR_NOT_FOUND (type not
 * registered: why = "UnknownEventType", "Unknown event type: X"); KW_ERR_MALFORMED (the
 * validator refused: why as it filled it, type "ValidationError" if it left it empty). */
kw_err kwi_bus_registry_check(const kwi_bus_registry *r, const kw_bus_event *ev,
                              kw_bus_failure *why);

/* ---------------------------------------------------------------- config */

/* What kw_bus_config_from_env reads: a getenv-like lookup, injectable for tests. */
typedef const char *(*kwi_bus_getenv_fn)(const char *name, void *ud);
kw_err kwi_bus_config_from_lookup(kw_bus_config *c, kwi_bus_getenv_fn get, void *ud, kw_error *err);
/* The configured acks as a wire value (-1, 0, 1); the config must be valid. */
int kwi_bus_config_acks(const kw_bus_config *c);

/* ---------------------------------------------------------------- retries */

typedef struct kwi_bus_retry {
    double base_s, max_s, jitter;
    int32_t max_retries;
} kwi_bus_retry;

void kwi_bus_retry_init(kwi_bus_retry *p, const kw_bus_config *c);
/* The delay before retry number n+1 when n retries happened so far:
 * d = min(base * 2^n, max), then d + u * jitter * d with u uniform in [-1, 1) drawn from rng
 * (no draw when jitter is 0), clamped at 0, in milliseconds rounded to nearest. */
int64_t kwi_bus_retry_delay_ms(const kwi_bus_retry *p, int32_t n, kwi_bus_rng *rng);
/* Whether an event that failed n+1 times (n retries so far) gets another attempt. */
bool kwi_bus_retry_again(const kwi_bus_retry *p, int32_t n);

/* KW_BUS_RETRY_REPUBLISH: the original headers without retry_count / retry_after, then
 * retry_count = count and retry_after = retry_after_us as Unix seconds with 6 decimals
 * (eventsource-py writes a Python float). */
kw_err kwi_bus_retry_headers(const kw_header *h, int32_t n, int32_t count, int64_t retry_after_us,
                             kw_arena *ar, kw_header **out, int32_t *n_out);
/* The retry_count header (0 when absent or malformed: a republished copy stays processable)
 * and the retry_after time (false when absent or malformed). */
int32_t kwi_bus_retry_count(const kw_header *h, int32_t n);
bool kwi_bus_retry_after(const kw_header *h, int32_t n, int64_t *out_us);

/* ---------------------------------------------------------------- DLQ headers */

#define KWI_BUS_DLQ_MAX_ERROR_CHARS 1000

typedef enum kwi_bus_dlq_reason {
    KWI_BUS_DLQ_MAX_RETRIES = 0,     /* "max_retries_exceeded" */
    KWI_BUS_DLQ_DESERIALIZATION = 1, /* "deserialization_error" */
    KWI_BUS_DLQ_REPUBLISH_FAILED = 2 /* "republish_failed" */
} kwi_bus_dlq_reason;

const char *kwi_bus_dlq_reason_name(kwi_bus_dlq_reason r);

typedef struct kwi_bus_dlq_info {
    kwi_bus_dlq_reason reason;
    const char *error_type;    /* NULL or "" = "HandlerError" */
    const char *error_message; /* any bytes; clipped to 1000 characters of valid UTF-8 */
    size_t error_message_len;
    int32_t retry_count;
    int64_t timestamp_us; /* dlq_timestamp, KW_BUS_TIME_MICROS */
    const char *original_topic;
    int32_t original_partition;
    int64_t original_offset;
    const char *consumer_group;
} kwi_bus_dlq_info;

/* The headers of a DLQ record: the original headers in their order, except earlier dlq_*
 * headers (a replayed event failing again must not carry two dlq_reason), but keeping
 * dlq_replay_count so the replay guard holds across rounds; then dlq_reason, dlq_error_type,
 * dlq_error_message, dlq_retry_count, dlq_timestamp, dlq_original_topic,
 * dlq_original_partition, dlq_original_offset, dlq_consumer_group. In the arena. */
kw_err kwi_bus_dlq_headers(const kw_header *h, int32_t n, const kwi_bus_dlq_info *info,
                           kw_arena *ar, kw_header **out, int32_t *n_out, kw_error *err);
/* dlq_replay_count: 0 when absent; KW_ERR_MALFORMED when not a decimal in [0, INT32_MAX]. */
kw_err kwi_bus_dlq_replay_count(const kw_header *h, int32_t n, int32_t *out);
/* The headers of a replay: every header except dlq_*, retry_count and retry_after, then
 * dlq_replay_count = old + 1. Refused with KW_ERR_STATE when old >= max_attempts and not
 * force, with KW_ERR_MALFORMED when the old count is unreadable and not force (forced, it
 * counts as 0). *new_count gets old + 1. */
kw_err kwi_bus_dlq_replay_headers(const kw_header *h, int32_t n, int32_t max_attempts, bool force,
                                  kw_arena *ar, kw_header **out, int32_t *n_out, int32_t *new_count,
                                  kw_error *err);

/* ---------------------------------------------------------------- metrics */

/* The instruments, in the order the reader visits them. Label values are passed positionally
 * in the order of the comment. */
typedef enum kwi_bus_metric_id {
    KWI_BUS_M_PUBLISHED,        /* counter: messaging.destination, event.type */
    KWI_BUS_M_CONSUMED,         /* counter: messaging.destination, messaging.kafka.partition,
                                   event.type */
    KWI_BUS_M_HANDLER_CALLS,    /* counter: handler.name, event.type */
    KWI_BUS_M_HANDLER_ERRORS,   /* counter: handler.name, event.type, error.type */
    KWI_BUS_M_DLQ,              /* counter: dlq.reason, error.type */
    KWI_BUS_M_PUBLISH_ERRORS,   /* counter: messaging.destination, event.type, error.type */
    KWI_BUS_M_RECONNECTIONS,    /* counter: (none) */
    KWI_BUS_M_REBALANCES,       /* counter: messaging.kafka.consumer_group */
    KWI_BUS_M_PUBLISH_DURATION, /* histogram ms: messaging.destination */
    KWI_BUS_M_CONSUME_DURATION, /* histogram ms: messaging.destination */
    KWI_BUS_M_HANDLER_DURATION, /* histogram ms: handler.name, event.type */
    KWI_BUS_M_BATCH_SIZE,       /* histogram messages: (none) */
    KWI_BUS_M_CONNECTIONS,      /* gauge: messaging.kafka.consumer_group */
    KWI_BUS_M_CONSUMER_LAG,     /* gauge: topic, partition */
    KWI_BUS_M__COUNT
} kwi_bus_metric_id;

/* The most series one instrument keeps; later label combinations are dropped and counted
 * (a label fed from the wire, such as event.type, must not grow memory without bound). */
#define KWI_BUS_METRICS_MAX_SERIES 1000

kw_err kwi_bus_metrics_new(const kw_allocator *a, kw_bus_metrics **out);
void kwi_bus_metrics_free(kw_bus_metrics *m);
/* Recording never fails the caller: a sample that cannot be stored (no memory, too many
 * series, wrong instrument kind) is dropped and counted in kwi_bus_metrics_dropped. */
void kwi_bus_metrics_add(kw_bus_metrics *m, kwi_bus_metric_id id, const char *const *labels,
                         double v);
void kwi_bus_metrics_observe(kw_bus_metrics *m, kwi_bus_metric_id id, const char *const *labels,
                             double v);
void kwi_bus_metrics_set(kw_bus_metrics *m, kwi_bus_metric_id id, const char *const *labels,
                         double v);
/* Forget every series of an instrument (consumer.lag after a revocation). */
void kwi_bus_metrics_clear(kw_bus_metrics *m, kwi_bus_metric_id id);
/* The value (counter/gauge) or sum (histogram) of one series; count gets the histogram's
 * observations (may be NULL). false when the series does not exist. For tests. */
bool kwi_bus_metrics_get(kw_bus_metrics *m, kwi_bus_metric_id id, const char *const *labels,
                         double *value, uint64_t *count);
uint64_t kwi_bus_metrics_dropped(kw_bus_metrics *m);

/* ---------------------------------------------------------------- tracing */

/* Start a publish span for `ev` to `topic`: parent = ev->traceparent when it parses (then the
 * trace id is kept and tracestate passed through), else a new trace; a new span id from rng;
 * name "eventsource.event_bus.publish <type>"; attributes messaging.system = kafka,
 * messaging.destination, messaging.destination_kind = topic, messaging.operation = publish,
 * event.type, event.id, aggregate.id, aggregate.type. Calls tracer->span_start. */
void kwi_bus_span_publish(kw_bus_span *sp, const kw_bus_tracer *t, const kw_bus_event *ev,
                          const char *topic, kwi_bus_rng *rng, int64_t now_us);
/* Start a consumer span for a record: parent = its traceparent header when valid (the span
 * continues the producer's trace: same trace id, parent span id = the header's span id,
 * flags kept, tracestate passed through); name "eventsource.event_bus.consume <type>";
 * attributes messaging.system, messaging.source, messaging.source_kind = topic,
 * messaging.operation = receive, messaging.kafka.partition, messaging.kafka.offset,
 * messaging.kafka.consumer_group, event.type, and event.id / aggregate.id when ev is decoded
 * (ev may be NULL for a record that did not decode; event_type may then be NULL too). */
void kwi_bus_span_consume(kw_bus_span *sp, const kw_bus_tracer *t, const kw_bus_event *ev,
                          const char *event_type, const char *traceparent, const char *tracestate,
                          const char *topic, int32_t partition, int64_t offset, const char *group,
                          kwi_bus_rng *rng, int64_t now_us);
/* Add an attribute (dropped when the span is full). */
void kwi_bus_span_attr_str(kw_bus_span *sp, const char *key, const char *val);
void kwi_bus_span_attr_int(kw_bus_span *sp, const char *key, int64_t v);
/* End: fail NULL = success; calls tracer->span_end. */
void kwi_bus_span_end(kw_bus_span *sp, const kw_bus_tracer *t, const kw_bus_failure *fail,
                      int64_t now_us);
/* The traceparent to send for this span (its own context). */
char *kwi_bus_span_traceparent(const kw_bus_span *sp, char out[KW_BUS_TRACEPARENT_SIZE]);
/* Keep at most KW_BUS_TRACESTATE_MAX characters of a tracestate, dropping whole list members
 * from the end (W3C); "" when it holds characters outside 0x20-0x7e. */
size_t kwi_bus_tracestate_clip(const char *s, size_t n, char *out, size_t out_size);

#endif
