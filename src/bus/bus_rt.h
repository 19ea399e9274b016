/* Internal: the event bus runtime (kw_bus), shared by bus.c, bus_publish.c, bus_consume.c,
 * bus_dlq.c and bus_topics.c.
 *
 * The bus is built only on the public client API: one kw_client carries a producer (events,
 * DLQ writes, republished retries) and an admin handle (topic creation), another the consumer
 * in the bus's group. The loop is driven by exactly one thread at a time: the caller's
 * (kw_bus_step, kw_bus_start_consuming, or any blocking call made while nothing consumes) or the
 * one background thread of kw_bus_start_consuming_in_background. Every callback of the client
 * (delivery reports, rebalances, commit results) therefore runs on that thread.
 *
 * Locking: `mu` guards what other threads may read or wait on: the statistics and the
 * counters of waiting publishes. It is never held while calling into the client, whose loop
 * lock is taken by every producer/consumer call (a callback holds the loop lock and then takes
 * `mu`, so the reverse order would deadlock). */
#ifndef KWI_BUS_RT_H
#define KWI_BUS_RT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "bus/bus_int.h"
#include "bus/bus_track.h"
#include "kwire/admin.h"
#include "kwire/bus.h"
#include "kwire/consumer.h"
#include "kwire/producer.h"

/* Longest topic name Kafka accepts, plus the NUL. */
#define KWI_BUS_TOPIC_MAX 250

/* One subscription. `seq` numbers subscriptions in registration order: handlers have no
 * names in C, so the metrics label handler.name is "handler-<seq>". */
typedef struct kwi_bus_sub {
    kw_bus_handler_fn fn;
    void *ud;
    uint32_t seq;
    char name[24];
} kwi_bus_sub;

/* A list of subscriptions: the slot of a registry entry, or the subscribe_all list. */
typedef struct kwi_bus_subs {
    kwi_bus_sub *v;
    size_t n, cap;
} kwi_bus_subs;

/* What a producer delivery report belongs to (the opaque of every record the bus sends
 * points to a struct that starts with this). */
typedef enum kwi_bus_rec_kind {
    KWI_BUS_REC_EVENT = 1, /* a published event */
    KWI_BUS_REC_DLQ,       /* a DLQ write of a consumed event */
    KWI_BUS_REC_RETRY      /* a republished retry (KW_BUS_RETRY_REPUBLISH) */
} kwi_bus_rec_kind;

/* A publish call: its events' results and how many are still outstanding. */
typedef struct kwi_bus_pubop {
    size_t n, remaining;            /* guarded by bus->mu */
    kw_bus_publish_result *results; /* NULL for an async publish */
    bool async;
    bool abandoned; /* the waiting caller timed out and left: the last report frees it */
} kwi_bus_pubop;

/* One published event in flight. */
typedef struct kwi_bus_pubrec {
    kwi_bus_rec_kind kind; /* KWI_BUS_REC_EVENT */
    kwi_bus_pubop *op;
    size_t index;
    int64_t t0_us;
    char event_type[KWI_BUS_TOPIC_MAX];
    kw_bus_span *span; /* kept only when a span_end hook is installed */
} kwi_bus_pubrec;

/* A DLQ write or a republished retry of one consumed event. */
typedef struct kwi_bus_wrec {
    kwi_bus_rec_kind kind; /* KWI_BUS_REC_DLQ or KWI_BUS_REC_RETRY */
    int32_t partition;     /* of the original event, in the main topic */
    int64_t offset;
    uint64_t gen; /* the assignment generation the event was consumed in */
    kwi_bus_dlq_reason reason;
    char error_type[64];
} kwi_bus_wrec;

struct kw_bus {
    const kw_allocator *a;
    kw_bus_config cfg;
    kw_bus_opts opts;
    char topic[KWI_BUS_TOPIC_MAX];
    char dlq_topic[KWI_BUS_TOPIC_MAX];

    /* Two clients, as the Java and Python clients use two connections: a Fetch that waits
     * for data holds its broker connection (the broker answers one request at a time per
     * connection), so a Produce on the same connection would wait up to fetch.max.wait.ms. */
    kw_client *client;  /* producer and admin */
    kw_client *cclient; /* consumer */
    int epfd;           /* an epoll set of both clients' descriptors: kw_bus_fd */
    kw_producer *prod;
    kw_consumer *cons;
    kw_admin *admin;
    int32_t partitions; /* of the main topic; -1 unknown */

    kwi_bus_registry reg;
    kwi_bus_subs all; /* subscribe_all */
    uint32_t sub_seq;
    kw_bus_metrics *metrics;
    kwi_bus_retry retry;
    kwi_bus_rng rng;
    kwi_track track;
    uint64_t assign_gen; /* bumped on every revocation, so late reports are recognised */
    kw_arena scratch;    /* per event: decode, headers; reset after each */

    pthread_mutex_t mu;
    pthread_cond_t cond;
    kw_bus_stats st;
    uint64_t reconnect_base; /* broker reconnects already counted */
    int64_t next_sample_ms;  /* next refresh of gauges and reconnections */
    int64_t last_commit_ms;  /* when the last asynchronous commit was sent */

    bool connected;
    bool consuming;      /* subscribed; the loop dispatches */
    bool closed;         /* shut down: no more consuming or publishing */
    atomic_bool stop;    /* kw_bus_stop_consuming / shutdown asked the loop to stop */
    atomic_bool in_loop; /* a thread is inside kw_bus_start_consuming's loop */
    bool thread_running; /* the background thread exists */
    pthread_t thread;
    pthread_t loop_owner; /* the thread that drives the loop while in_loop or a bg thread */
};

/* bus.c */
void *kwi_busr_alloc(kw_bus *bus, size_t n);
void kwi_busr_free(kw_bus *bus, void *p, size_t n);
int64_t kwi_busr_mono_ms(void);
/* Whether the calling thread may step the client itself (nobody else drives the loop). */
bool kwi_busr_on_loop(kw_bus *bus);
/* Note an error time in the stats. */
void kwi_busr_error_at(kw_bus *bus);
/* Refresh reconnections, connections.active and consumer.lag (at most once a second). */
void kwi_busr_sample(kw_bus *bus, bool force);

/* bus_publish.c: the producer's delivery report for every record the bus sends. */
void kwi_busr_on_delivery(kw_producer *p, const kw_delivery *d, void *ud);
/* Send one record, stepping the loop (or waiting) while the producer's queue is full, up to
 * deadline_ms (monotonic). */
kw_err kwi_busr_send(kw_bus *bus, const kw_message *m, int64_t deadline_ms, kw_error *err);

/* bus_consume.c */
kw_err kwi_busr_consume_start(kw_bus *bus, kw_error *err);
kw_err kwi_busr_step(kw_bus *bus, int timeout_ms, kw_error *err);
int kwi_busr_timeout(const kw_bus *bus);
/* Commit every partition's position synchronously (shutdown). */
kw_err kwi_busr_commit_sync(kw_bus *bus, int timeout_ms, kw_error *err);
void kwi_busr_on_rebalance(kw_consumer *k, kw_rebalance_kind kind, const kw_topic_partition *parts,
                           size_t n, void *ud);
/* A DLQ write or republish of a consumed event ended. */
void kwi_busr_wrec_done(kw_bus *bus, kwi_bus_wrec *w, const kw_delivery *d);

/* bus_dlq.c: write a consumed record to the DLQ (the offset is pending until the report). */
kw_err kwi_busr_dlq_write(kw_bus *bus, const kw_consumer_msg *m, kwi_bus_dlq_reason reason,
                          const kw_bus_failure *why, int32_t retries);

/* bus_topics.c: make sure the main and DLQ topics exist; learn the partition count. */
kw_err kwi_busr_topics_ensure(kw_bus *bus, int64_t deadline_ms, kw_error *err);
/* A throwaway client on the bus's configuration (the DLQ tools use their own). */
kw_err kwi_busr_client_new(kw_bus *bus, unsigned roles, bool with_group, kw_client **out,
                           kw_error *err);

#endif
