/* kwire: the client runtime.
 *
 * A kw_client owns the connections to one Kafka cluster: it bootstraps from
 * bootstrap.servers, keeps a metadata cache, connects only to the brokers it needs, negotiates
 * API versions on every connection, reconnects with backoff, and runs every timer. The
 * producer, consumer and admin roles are built on it.
 *
 * The core is single-threaded and starts no thread unless asked. Two ways to drive it:
 *
 * 1. From the application's own event loop (no kwire thread at all):
 *
 *        int fd = kw_client_fd(c);             add to your epoll/poll set, for reading
 *        int ms = kw_client_timeout_ms(c);     wait at most this long (-1 = no timer)
 *        kw_client_step(c, 0, &err);           when fd is readable or ms has passed
 *
 *    kw_client_step() never blocks longer than the timeout it is given; with 0 it only does
 *    what is ready. examples/epoll_embed.c shows a complete loop.
 *
 * 2. On the optional kwire thread: kw_client_thread_start() starts one thread that runs the
 *    loop; callbacks then fire on that thread. kw_client_thread_stop() joins it.
 *
 * Callbacks fire only inside kw_client_step() (or on the kwire thread), never inside the call
 * that registered them, and each exactly once: with the result, an error, a timeout, or
 * KW_ERR_CANCELED when the client is freed (then inside kw_client_free, on its caller's
 * thread).
 *
 * Threads: unless a function says "any thread", call it from the thread that drives the loop
 * (the one calling kw_client_step, or from a callback when the kwire thread runs). Functions
 * marked "any thread" go through a locked submit queue plus a wakeup, or take the loop lock. */
#ifndef KWIRE_CLIENT_H
#define KWIRE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "conf.h"
#include "error.h"
#include "export.h"
#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct kw_client kw_client;

/**
 * @brief Create a client from a configuration.
 *
 * Checks the configuration (bootstrap.servers is required; combinations that cannot work,
 * such as SASL_SSL with no sasl.mechanism, are errors that name the properties), loads TLS
 * files and reads /etc/resolv.conf. No connection is made until the loop runs and something
 * needs one.
 *
 * @param conf taken over unconditionally: freed by the client, also when this fails.
 * @param out receives the client; NULL on failure.
 * @param err optional detail.
 * @return KW_ERR_OK; KW_ERR_CONFIG (a bad or missing property, an unusable combination, a TLS
 *         file that cannot be loaded); KW_ERR_INVALID_ARG (conf or out NULL); KW_ERR_NOMEM;
 *         KW_ERR_IO (no epoll/eventfd descriptors).
 */
KW_API kw_err kw_client_new(kw_conf *conf, kw_client **out, kw_error *err);

/**
 * @brief Free the client: stops the kwire thread if it runs, closes every connection and
 *        calls every outstanding callback with KW_ERR_CANCELED before returning.
 *        kw_client_free(NULL) does nothing. Not from inside a callback (nor from the kwire
 *        thread): there it does nothing, since the loop is still running the callback.
 */
KW_API void kw_client_free(kw_client *c);

/** @brief The descriptor to watch for readability (an epoll fd). Valid until free. */
KW_API int kw_client_fd(const kw_client *c);

/** @brief Milliseconds until kw_client_step has work even if the fd stays quiet: 0 when work
 *  is pending now, -1 when only the fd can bring work. */
KW_API int kw_client_timeout_ms(const kw_client *c);

/**
 * @brief Run the loop once: wait up to timeout_ms (0 = do not wait, negative = until there is
 *        work) for the fd or a timer, then serve a bounded amount of work (the per-step
 *        budget), running due callbacks.
 * @return KW_ERR_OK (also when interrupted by a signal or a wakeup); KW_ERR_STATE when the
 *         kwire thread runs or when called from inside a callback; KW_ERR_IO if epoll fails.
 */
KW_API kw_err kw_client_step(kw_client *c, int timeout_ms, kw_error *err);

/** @brief Make a blocked or the next kw_client_step return promptly. Any thread, and
 *  async-signal-safe. Returns KW_ERR_OK or KW_ERR_IO. */
KW_API kw_err kw_client_wakeup(kw_client *c);

/**
 * @brief Start the kwire thread, which runs the loop until kw_client_thread_stop. Callbacks
 *        then fire on it. It blocks every signal, so signals reach the application's threads.
 * @return KW_ERR_OK; KW_ERR_STATE if it already runs; KW_ERR_IO if the thread cannot start.
 */
KW_API kw_err kw_client_thread_start(kw_client *c, kw_error *err);

/** @brief Stop and join the kwire thread; work in progress stays, and kw_client_step may be
 *  used again. Any thread except the kwire thread itself (KW_ERR_STATE). KW_ERR_OK if it was
 *  not running. */
KW_API kw_err kw_client_thread_stop(kw_client *c);

/* ---------------------------------------------------------------- logging */

/** Log levels, numbered as syslog's. */
typedef enum kw_log_level {
    KW_LOG_ERROR = 3,
    KW_LOG_WARN = 4,
    KW_LOG_INFO = 6,
    KW_LOG_DEBUG = 7
} kw_log_level;

/** A log line: `subsystem` is a short word ("conn", "metadata", "client"); `msg` has no
 *  trailing newline. Both are valid only during the call. Called on the loop's thread. */
typedef void (*kw_log_fn)(void *ud, kw_log_level level, const char *subsystem, const char *msg);

/** @brief Install the logging hook: lines at `level` or more severe go to fn. fn NULL (the
 *  default) makes the client silent; a line that would be dropped is never formatted. Secrets
 *  (passwords, keys, SCRAM proofs) never appear. Call before starting the kwire thread. */
KW_API void kw_client_set_log(kw_client *c, kw_log_level level, kw_log_fn fn, void *ud);

/* ---------------------------------------------------------------- metadata */

typedef struct kw_broker_info {
    int32_t id;
    const char *host;
    int32_t port;
    const char *rack; /**< NULL when the broker has none */
} kw_broker_info;

typedef struct kw_partition_info {
    int32_t id;
    int32_t leader;       /**< -1 when the partition has no leader */
    int32_t leader_epoch; /**< -1 when the Metadata version does not carry it */
    int16_t error;        /**< broker error code, 0 = none */
    const int32_t *replicas;
    int32_t n_replicas;
    const int32_t *isr;
    int32_t n_isr;
    const int32_t *offline;
    int32_t n_offline;
} kw_partition_info;

typedef struct kw_topic_info {
    const char *name;
    kw_uuid id;    /**< all zero when the Metadata version has no topic ids */
    int16_t error; /**< e.g. 3 = UNKNOWN_TOPIC_OR_PARTITION */
    bool internal;
    const kw_partition_info *partitions; /**< sorted by id */
    int32_t n_partitions;
} kw_topic_info;

/** A cluster's metadata as one broker reported it. Every pointer is valid only during the
 *  callback that receives it. */
typedef struct kw_metadata {
    const char *cluster_id;        /**< NULL when unknown */
    int32_t controller_id;         /**< -1 when unknown */
    int32_t broker_id;             /**< the broker that answered */
    const kw_broker_info *brokers; /**< sorted by id */
    int32_t n_brokers;
    const kw_topic_info *topics;
    int32_t n_topics;
} kw_metadata;

/** `md` is non-NULL only when err is KW_ERR_OK. Fires on the loop's thread. */
typedef void (*kw_metadata_cb)(kw_client *c, kw_err err, const kw_error *detail,
                               const kw_metadata *md, void *ud);

/**
 * @brief Ask the cluster for metadata. Retries on other brokers (and waits out reconnects)
 *        until timeout_ms passes. The answer also refreshes the client's cache.
 *
 * Any thread: the request goes through the submit queue; the callback fires inside a later
 * step (or on the kwire thread).
 *
 * @param topics the topic names, copied; NULL = every topic; n_topics 0 with a non-NULL array
 *        = none (brokers only; a Metadata v0 broker returns every topic then).
 * @param timeout_ms <= 0 = request.timeout.ms.
 * @return KW_ERR_OK (cb fires exactly once); KW_ERR_INVALID_ARG; KW_ERR_STATE (the client is
 *         being freed); KW_ERR_NOMEM. On failure cb never fires.
 */
KW_API kw_err kw_client_metadata(kw_client *c, const char *const *topics, size_t n_topics,
                                 int timeout_ms, kw_metadata_cb cb, void *ud, kw_error *err);

/**
 * @brief Write metadata as one JSON object:
 *        {"cluster_id":..,"controller_id":..,"brokers":[{"id","host","port","rack"}],
 *         "topics":[{"name","id","error","internal","partitions":[{"id","leader",
 *         "leader_epoch","error","replicas","isr","offline"}]}]}
 * @param buf may be NULL to ask for the size.
 * @param len in: size of buf; out: bytes needed including the NUL.
 * @return KW_ERR_OK or KW_ERR_NOSPACE (nothing useful written; *len tells the size).
 */
KW_API kw_err kw_metadata_json(const kw_metadata *md, char *buf, size_t *len);

/* ---------------------------------------------------------------- statistics */

/** Counters of one broker connection, cumulative since the client was created. */
typedef struct kw_broker_stats {
    int32_t node_id; /**< negative for bootstrap.servers entries */
    char host[256];
    int32_t port;
    char state[16]; /**< DOWN, BACKOFF, CONNECTING, READY, ... */
    uint64_t requests, responses;
    uint64_t bytes_out, bytes_in;
    uint64_t errors;   /**< failed requests (not canceled ones) and failed connections */
    uint64_t timeouts; /**< requests that timed out */
    uint64_t connect_attempts;
    uint64_t connects;   /**< times the connection became ready */
    uint64_t reconnects; /**< connects after the first */
    uint64_t disconnects;
    int32_t in_flight, queued;
    int64_t rtt_p50_us, rtt_p99_us; /**< over the last 256 responses; -1 when none */
    int32_t rtt_samples;
} kw_broker_stats;

typedef struct kw_stats {
    uint64_t metadata_requests; /**< Metadata requests sent by the client itself */
    uint64_t metadata_updates;  /**< Metadata responses applied to the cache */
    uint64_t metadata_errors;
    uint64_t rebootstraps; /**< KIP-899: every known broker was unreachable */
    size_t n_brokers;      /**< broker entries that exist (may exceed the cap given) */
} kw_stats;

/**
 * @brief Read the statistics: totals, and up to `cap` brokers into `brokers` (may be NULL
 *        with cap 0). Any thread (takes the loop lock).
 */
KW_API kw_err kw_client_stats(kw_client *c, kw_stats *totals, kw_broker_stats *brokers, size_t cap);

/**
 * @brief The same statistics as one JSON object {"metadata_requests":..,..,"brokers":[..]}.
 *        Any thread.
 * @return KW_ERR_OK or KW_ERR_NOSPACE (*len tells the size needed).
 */
KW_API kw_err kw_client_stats_json(kw_client *c, char *buf, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
