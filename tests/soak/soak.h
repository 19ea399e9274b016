/* kwire-soak: a producer and a consumer group under faults, checked message by message.
 *
 * The state the producer thread, the member threads and the main (sampling) thread share.
 * Everything that more than one thread writes is atomic; configuration is written once before
 * any thread starts. Only the public API (client.h, producer.h, consumer.h) is used: the soak
 * exercises kwire exactly as an application does. */
#ifndef KW_SOAK_H
#define KW_SOAK_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwire/alloc.h"
#include "kwire/client.h"
#include "kwire/conf.h"

#define SOAK_MAX_MEMBERS 16
#define SOAK_MAX_X       32

/* Where a member thread is; a member that stays in one place too long is reported as hung. */
typedef struct soak_member {
    atomic_int_fast64_t active_ms; /* last time the thread came back from a kwire call */
    atomic_int restart;            /* main asks the member to close and rejoin as a new one */
    atomic_int done;               /* the thread has returned */
    atomic_int generation;
    atomic_int assigned; /* partitions currently assigned */
    int slot;
    struct soak *s;
} soak_member;

typedef struct soak {
    /* Configuration (written before the threads start). */
    const char *bootstrap, *topic, *group;
    double seconds;   /* how long to produce */
    int rate;         /* records per second */
    int n_members;    /* consumer group members */
    int restart_s;    /* a member leaves and a new one joins every restart_s seconds (0 = never) */
    int sample_ms;    /* progress line interval */
    int drain_s;      /* after producing: how long everything may take to be consumed */
    int value_size;   /* bytes per record value (>= 32) */
    uint64_t max_seq; /* capacity of the per-sequence tables */
    const char *xprops[SOAK_MAX_X][2]; /* -X name=value for every client */
    int n_x;
    int log_level;      /* -v: kwire log lines at this level or more severe go to stderr */
    kw_allocator alloc; /* counting allocator given to every configuration */

    /* Per sequence number: how often it was consumed, and whether its delivery succeeded. */
    _Atomic uint16_t *seen;
    _Atomic uint8_t *acked;

    atomic_int stop_produce; /* main: stop sending new records, deliver what is queued */
    atomic_int produce_done; /* producer: everything sent has a final delivery report */
    atomic_int stop_all;     /* main: members close and leave */

    /* Producer counters. */
    atomic_uint_fast64_t sent, delivered, delivery_failed, resent, send_errors, unresolved;
    /* Consumer counters. */
    atomic_uint_fast64_t consumed, unique, dups, corrupt, foreign, inband_errors;
    atomic_uint_fast64_t assigned_cb, revoked_cb, lost_cb, restarts, joins;
    atomic_uint_fast64_t commits_ok, commits_failed, close_errors, client_errors;
    /* Allocator counters (every kwire allocation of every client in this process). */
    atomic_int_fast64_t live_bytes, live_allocs, peak_bytes;
    atomic_uint_fast64_t total_allocs;

    soak_member members[SOAK_MAX_MEMBERS];
    char first_error[256]; /* the first unexpected error, for the summary */
    atomic_int first_error_set;
} soak;

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t soak_now_ms(void);

/* Records the first unexpected error (printf-style) for the summary; later ones are counted by
 * their callers only. */
void soak_note_error(soak *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A configuration with the counting allocator, bootstrap.servers and every -X property. */
kw_conf *soak_conf(soak *s, const char *client_id);

/* Sets one property; on failure notes the error and returns false. */
bool soak_set(soak *s, kw_conf *conf, const char *name, const char *value);

/* soak_set unless -X gave the property (the command line overrides the soak's choices). */
bool soak_default(soak *s, kw_conf *conf, const char *name, const char *value);

/* Writes the value of record `seq` (s->value_size bytes) into buf. */
void soak_value(const soak *s, uint64_t seq, uint8_t *buf);

/* Checks a consumed value; returns its sequence number, or UINT64_MAX when it is not one of
 * ours or is corrupt (*corrupt tells which). */
uint64_t soak_check_value(const soak *s, const uint8_t *p, int32_t len, bool *corrupt);

/* Installs the -v log hook on a client (nothing without -v). */
void soak_log_attach(soak *s, kw_client *c, const char *client_id);

/* Thread bodies (soak_clients.c). */
void *soak_producer_main(void *arg); /* arg: soak * */
void *soak_member_main(void *arg);   /* arg: soak_member * */

#endif
