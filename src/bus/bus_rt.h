/* Internal: the event bus runtime (kw_bus), shared by bus.c, bus_publish.c, bus_consume.c,
 * bus_dlq.c, bus_write.c and bus_topics.c.
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

/* A DLQ write or a republished retry of one consumed event. It owns a copy of the record it
 * sends, so a write the broker refused (or that could not be queued) is sent again after a
 * backoff for as long as the bus runs and owns the partition: the event's offset stays
 * pending meanwhile, so no commit passes it and nothing is lost. */
typedef struct kwi_bus_wrec {
    kwi_bus_rec_kind kind; /* KWI_BUS_REC_DLQ or KWI_BUS_REC_RETRY */
    int32_t partition;     /* of the original event, in the main topic */
    int64_t offset;
    uint64_t gen; /* the ptrack generation the event was consumed in */
    kwi_bus_dlq_reason reason;
    char error_type[64];
    char event_type[64]; /* for the publish.errors label; "unknown" when absent */
    /* The record as sent, in `arena`. */
    kw_arena arena;
    const char *topic;
    kw_slice key, value;
    kw_header *headers;
    int32_t n_headers;
    int32_t failures;          /* sends that failed so far */
    int64_t due_ms;            /* monotonic: when to send again (waiting ones only) */
    struct kwi_bus_wrec *next; /* in kw_bus.waiting */
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
    kwi_bus_wrec *waiting; /* writes that failed, waiting for their next send */
    kw_arena scratch;      /* per event: decode, headers; reset after each */

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
/* Hold partition p at `offset` until `due` (monotonic ms): pause it, move its position back
 * to the event, remember retry number `count`; it resumes there when due. */
void kwi_busr_hold_at(kw_bus *bus, kwi_ptrack *p, int64_t offset, int32_t count, int64_t due);
/* Pause partition p at its next offset for a DLQ write (p->writes counts them), and resume
 * it when nothing holds it any more (kwi_ptrack_may_resume). */
void kwi_busr_hold_for_write(kw_bus *bus, kwi_ptrack *p);
void kwi_busr_resume_if_ready(kw_bus *bus, kwi_ptrack *p, int64_t now_ms);

/* bus_dlq.c: write a consumed record to the DLQ (the offset is pending until the report). */
kw_err kwi_busr_dlq_write(kw_bus *bus, const kw_consumer_msg *m, kwi_bus_dlq_reason reason,
                          const kw_bus_failure *why, int32_t retries);

/* bus_write.c: DLQ writes and republished retries of consumed events.
 * Send a copy of record m (key and value) with headers h to `topic` for the event at
 * m->offset of partition p, which becomes pending (no commit passes it) until the write is
 * acknowledged. A DLQ write (kind KWI_BUS_REC_DLQ) also holds the partition until then. When
 * the send fails at once: with `persist` the write is kept and sent again after a backoff
 * (KW_ERR_OK), otherwise nothing is left behind and the error is returned. */
kw_err kwi_busr_write(kw_bus *bus, kwi_ptrack *p, kwi_bus_rec_kind kind, const kw_consumer_msg *m,
                      const char *topic, const kw_header *h, int32_t nh, kwi_bus_dlq_reason reason,
                      const char *error_type, bool persist);
/* A write's delivery report (kwi_busr_on_delivery). */
void kwi_busr_wrec_done(kw_bus *bus, kwi_bus_wrec *w, const kw_delivery *d);
/* Send again the waiting writes whose backoff has passed; forget those of partitions that are
 * no longer assigned (the group hands their events out again). */
void kwi_busr_writes_resend(kw_bus *bus);
/* The earliest due time of a waiting write (monotonic ms), or -1. */
int64_t kwi_busr_writes_next_due(const kw_bus *bus);
/* A copy of a slice in the arena; null stays null, empty points at a static "". False when
 * the arena is exhausted. */
bool kwi_busr_copy_slice(kw_arena *ar, kw_slice in, kw_slice *out);
/* Free the waiting writes (kw_bus_free: their events were not committed). */
void kwi_busr_writes_free(kw_bus *bus);
/* A line to the bus's log hook (kw_bus_opts.log), formatted only when it passes the level. */
void kwi_busr_log(kw_bus *bus, kw_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* bus_topics.c: make sure the main and DLQ topics exist; learn the partition count. */
kw_err kwi_busr_topics_ensure(kw_bus *bus, int64_t deadline_ms, kw_error *err);
/* A throwaway client on the bus's configuration (the DLQ tools use their own). */
kw_err kwi_busr_client_new(kw_bus *bus, unsigned roles, bool with_group, kw_client **out,
                           kw_error *err);

#endif
