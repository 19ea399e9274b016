/* Helpers of the producer tests: a client and producer from "key=value" settings, a delivery
 * report collector that fails the test on a second report for one record, loops that step
 * until every record is reported (failing after a generous deadline, never asserting on
 * speed), and readers of what a broker stored. */
#ifndef KWT_PROD_UTIL_H
#define KWT_PROD_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "kwire/mock.h"
#include "kwire/producer.h"

#define KWT_PROD_DEADLINE_MS 60000

/* An assertion for loops over many records: Check's ck_assert records every passing check
 * (a write to the parent in fork mode), which costs seconds over a million records. */
#define KWT_CHECK(cond, ...)                                                                       \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

/* One record's report; records are numbered 0..n-1 and sent with opaque = id + 1. */
typedef struct kwt_dr {
    int calls;
    kw_err err;
    int16_t broker_code;
    int32_t partition;
    int64_t offset, ts;
} kwt_dr;

typedef struct kwt_drs {
    kwt_dr *v;
    size_t cap;
    size_t reports; /* reports received */
    size_t ok, failed;
    char last_msg[256];
    bool on_loop_thread_only; /* reports must come from the thread in `thread` */
} kwt_drs;

void kwt_drs_init(kwt_drs *d, size_t cap);
void kwt_drs_fini(kwt_drs *d);
/* The delivery callback; ud = kwt_drs. */
void kwt_dr_cb(kw_producer *p, const kw_delivery *d, void *ud);

/* A client on `bootstrap` with fast backoffs plus the extra settings (NULL-terminated). */
kw_client *kwt_prod_client(const char *bootstrap, const char *const *extra);
/* A producer whose reports go to `d`. */
kw_producer *kwt_producer(kw_client *c, kwt_drs *d);

/* Sends record `id` with the key/value "k<id>"/"v<id>" (key NULL when !keyed) to topic,
 * partition (KW_PARTITION_ANY), stepping the loop while the queue is full. */
void kwt_send(kw_producer *p, const char *topic, int32_t partition, uint32_t id, bool keyed);
/* Steps until every record is reported; fails after the deadline. */
void kwt_drain(kw_producer *p, kwt_drs *d, size_t expect);
/* Steps for about ms milliseconds. */
void kwt_step_for(kw_client *c, int ms);
int64_t kwt_mono_ms(void);
/* Logs to stderr when $KWT_LOG is set (debugging aid). */
void kwt_debug_log(kw_client *c);

/* The values stored in one partition of a kwire-mock topic, in offset order: values[i] is a
 * malloc'd NUL-terminated copy (NULL for a null value); keys likewise. Returns the count. */
typedef struct kwt_stored {
    size_t n, cap;
    char **keys, **values;
    int64_t *offsets, *ts;
    int32_t *n_headers;
    char **hdr0; /* "key=value" of the first header, or NULL */
} kwt_stored;
size_t kwt_mock_read_all(kw_mock *m, const char *topic, int32_t partition, kwt_stored *out);
void kwt_stored_fini(kwt_stored *s);

#endif
