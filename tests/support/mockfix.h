/* Test support: the kwire-mock fixture that the per-area test helpers share
 * (the <area>_util.c files of tests/unit). It starts an in-process kwire-mock cluster on its own
 * thread, makes clients from "key=value" settings and a producer or consumer on them, appends known
 * records to the mock and reads back what a partition stores. Each function fails the running
 * Check test (ck_assert) when something cannot be made, so a test reads as its steps; it never
 * returns an error. Linked from a static library (tests/meson.build), so only the tests that
 * use it pull kwire-mock in. */
#ifndef KWT_MOCKFIX_H
#define KWT_MOCKFIX_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "kwire/consumer.h"
#include "kwire/mock.h"
#include "kwire/producer.h"
#include "kwire/records.h"

/* What kwt_fx_mock starts: kwire-mock's own settings, so that any of them can be changed. */
typedef struct kwt_fx_mock_opts {
    kw_mock_conf conf;         /* brokers, num.partitions, auto-create ... */
    kw_mock_group_conf groups; /* the group coordinator's timings */
    const char *topic;         /* created before the cluster runs; NULL = none */
    int32_t partitions;        /* of `topic` */
} kwt_fx_mock_opts;

/* kwire-mock's defaults (one broker, no topic). */
void kwt_fx_mock_opts_init(kwt_fx_mock_opts *o);

/* A cluster from `o`, running on its own thread; free it with kw_mock_free. */
kw_mock *kwt_fx_mock(const kwt_fx_mock_opts *o);

/* A configuration allocating through `a` (NULL = the default allocator) with
 * bootstrap.servers, then the "key=value" settings of `base` and of `extra` in that order, so
 * an extra setting overrides a base one. Either list may be NULL; each ends with NULL. */
kw_conf *kwt_fx_conf(const kw_allocator *a, const char *bootstrap, const char *const *base,
                     const char *const *extra);
/* Applies one "key=value" setting. */
void kwt_fx_conf_set(kw_conf *conf, const char *kv);

/* A client made from conf (which it takes, as kw_client_new does), logging to stderr under
 * `name` (NULL = none) when $KWT_LOG is set. */
kw_client *kwt_fx_client(kw_conf *conf, const char *name);
/* Sends the client's log lines to stderr when $KWT_LOG is set (a debugging aid). */
void kwt_fx_debug_log(kw_client *c, const char *name);

/* A producer or consumer on c with the options o (NULL = the defaults). */
kw_producer *kwt_fx_producer(kw_client *c, const kw_producer_opts *o);
kw_consumer *kwt_fx_consumer(kw_client *c, const kw_consumer_opts *o);

/* Appends one record (key NULL = a null key) with timestamp ts (-1 = the mock's clock). */
void kwt_fx_append(kw_mock *m, const char *topic, int32_t partition, const char *key,
                   const char *value, int64_t ts);

/* Calls each(record, ud) for every record one partition of a kwire-mock topic stores, in
 * offset order; the record is valid during the call only. */
void kwt_fx_records(kw_mock *m, const char *topic, int32_t partition,
                    void (*each)(const kw_record *r, void *ud), void *ud);

/* A malloc'd NUL-terminated copy of s; NULL for a null slice. */
char *kwt_fx_slicedup(kw_slice s);

/* Milliseconds on CLOCK_MONOTONIC, for the generous deadlines of test loops. */
int64_t kwt_fx_now_ms(void);

#endif
