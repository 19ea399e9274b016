/* Helpers of the consumer tests: a consumer on a client from "key=value" settings, a collector
 * that polls until a number of messages arrived (copying what each carried and releasing it),
 * and checks of what was collected against what the broker stored. Deadlines are generous and
 * only fail a test that would otherwise hang; nothing asserts on speed. */
#ifndef KWT_CONS_UTIL_H
#define KWT_CONS_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "kwire/consumer.h"
#include "kwire/mock.h"
#include "../producer/prod_util.h"

#define KWT_CONS_DEADLINE_MS 60000

/* One message as the consumer handed it out, copied. */
typedef struct kwt_msg {
    char topic[64];
    int32_t partition;
    int64_t offset;
    int64_t ts;
    kw_timestamp_type ts_type;
    int32_t leader_epoch;
    char *key, *value; /* malloc'd, NUL-terminated; NULL for null */
    int32_t key_len, value_len;
    char *hdrs; /* "k=v;k2=v2;" (a null header value written as k=~), or NULL with none */
    kw_err err;
    int16_t code;
    char errstr[256];
} kwt_msg;

typedef struct kwt_got {
    kwt_msg *v;
    size_t n, cap;
    size_t errors; /* messages with err set */
} kwt_got;

void kwt_got_init(kwt_got *g);
void kwt_got_fini(kwt_got *g);
void kwt_got_clear(kwt_got *g);

/* A consumer with no callbacks (fails the test if it cannot be created). */
kw_consumer *kwt_consumer(kw_client *c);

/* Polls (max `batch` a call, releasing each message after copying it) until `want` messages
 * (records and errors) were collected or deadline_ms passed; returns how many were added. */
size_t kwt_poll_until(kw_consumer *k, kwt_got *g, size_t want, size_t batch, int deadline_ms);
/* Polls for about ms milliseconds and collects whatever comes. */
size_t kwt_poll_for(kw_consumer *k, kwt_got *g, int ms);

/* Assigns one partition at `offset`. */
void kwt_assign1(kw_consumer *k, const char *topic, int32_t partition, int64_t offset);
/* Assigns partitions [0, n) of topic at `offset`. */
void kwt_assign_all(kw_consumer *k, const char *topic, int32_t n, int64_t offset);

/* Every collected message of `partition` matches the records the mock stored there from
 * offset `from` on, one for one (offset, key, value, timestamp, first header), and there are
 * exactly `count` of them. */
void kwt_check_stored(kw_mock *m, const kwt_got *g, const char *topic, int32_t partition,
                      int64_t from, size_t count);

/* Appends n records "k<i>"/"v<i>" (i from first) to a mock partition, timestamps ts0 + i. */
void kwt_append(kw_mock *m, const char *topic, int32_t partition, int first, int n, int64_t ts0);

#endif
