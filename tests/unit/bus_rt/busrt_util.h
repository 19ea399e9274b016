/* Helpers of the event bus runtime tests: an in-process kwire-mock on its own thread (groups
 * rebalance at once), a bus configuration with short delays, events, a reader of what a
 * kwire-mock partition stores (every header), and a loop that steps a bus until a condition
 * holds (failing after a generous deadline, never asserting on speed). */
#ifndef KWT_BUSRT_UTIL_H
#define KWT_BUSRT_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "kwire/bus.h"
#include "kwire/mock.h"

#define BRT_DEADLINE_MS 60000

/* A one-broker cluster; partitions = num.partitions; auto_create as the broker setting. */
kw_mock *brt_mock(int32_t partitions, bool auto_create);

/* Defaults with the bootstrap, a topic prefix and a group; retries 20 ms .. 200 ms without
 * jitter, short session and heartbeat. */
void brt_config(kw_bus_config *c, const char *bootstrap, const char *prefix, const char *group);

/* new + connect, failing the test on error. */
kw_bus *brt_bus(const kw_bus_config *c);

/* An event of `type` for aggregate number `agg` (its UUID is derived from the number) at
 * `version`, with payload {"n":<version>}. The strings live in static storage per call slot:
 * ev keeps pointers into `buf`, which the caller provides (at least 64 bytes). */
void brt_event(kw_bus_event *ev, const char *type, uint32_t agg, int64_t version, char *buf,
               size_t cap);
kw_uuid brt_agg(uint32_t agg);

/* One stored record, with every header as "key=value" joined by '\n'. */
typedef struct brt_rec {
    int64_t offset;
    char *key, *value, *headers;
} brt_rec;
typedef struct brt_recs {
    brt_rec *v;
    size_t n, cap;
} brt_recs;
/* Every record of one partition of a kwire-mock topic, appended to out. */
void brt_mock_records(kw_mock *m, const char *topic, int32_t partition, brt_recs *out);
void brt_recs_fini(brt_recs *r);
/* The value of header `key` in a joined header text ("" when absent), into buf. */
const char *brt_header(const char *headers, const char *key, char *buf, size_t cap);

/* Steps the bus (kw_bus_step) until pred(ud) or the deadline; fails the test at the deadline
 * with `what`. */
void brt_until(kw_bus *bus, bool (*pred)(void *), void *ud, const char *what);
int64_t brt_now_ms(void);
/* Prints the bus's and its consumer's state to stderr (brt_debug.c). */
void brt_dump(kw_bus *bus);

#endif
