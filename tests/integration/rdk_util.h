/* Helpers shared by the integration tests against librdkafka's mock cluster: a client from a
 * bootstrap list, a loop that steps until a condition holds (failing the test after a generous
 * deadline, never asserting on speed), and a synchronous metadata call that keeps a copy of
 * what the callback saw. */
#ifndef KWT_RDK_UTIL_H
#define KWT_RDK_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "kwire/client.h"
#include "rdk_launch.h"

#define KWT_DEADLINE_MS 60000

/* A client with small reconnect backoffs (so recovery tests run quickly) and the given
 * extra "key=value" settings (NULL-terminated). */
kw_client *kwt_client(const char *bootstrap, const char *const *extra);

/* Steps until cond(ud) is true; fails the test after KWT_DEADLINE_MS. */
void kwt_run_until(kw_client *c, bool (*cond)(void *ud), void *ud, const char *what);

typedef struct kwt_part {
    int32_t id, leader, n_replicas;
} kwt_part;

typedef struct kwt_topic {
    char name[64];
    int16_t error;
    int32_t n_parts;
    kwt_part parts[64];
} kwt_topic;

typedef struct kwt_md {
    bool done;
    kw_err err;
    char msg[256];
    int32_t broker_id; /* who answered */
    int32_t n_brokers;
    int32_t broker_ids[16], broker_ports[16];
    int32_t n_topics;
    kwt_topic topics[16];
    char json[16384];
} kwt_md;

/* Calls kw_client_metadata and steps until its callback fired. */
void kwt_metadata(kw_client *c, const char *const *topics, size_t n, int timeout_ms, kwt_md *out);
/* The callback kwt_metadata uses, for tests that drive the loop themselves (ud = kwt_md). */
void kwt_md_cb(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud);
/* Whether the callback fired (for kwt_run_until, ud = kwt_md). */
bool kwt_md_done(void *ud);
const kwt_topic *kwt_md_topic(const kwt_md *md, const char *name);

/* The statistics of one broker (fails the test if it is not there). */
kw_broker_stats kwt_broker_stats(kw_client *c, int32_t node_id);
kw_stats kwt_stats(kw_client *c);

#endif
