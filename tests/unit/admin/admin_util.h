/* Helpers of the admin tests: a kwire-mock cluster on its own thread, a client with fast
 * backoffs, a wait that fails the test after a generous deadline, and a generic callback that
 * records each call's outcome in a kwt_call, so tests assert on what the callback saw (the
 * result itself is valid only during the callback: the checker runs there). */
#ifndef KWT_ADMIN_UTIL_H
#define KWT_ADMIN_UTIL_H

#include <check.h>

#include "kwire/admin.h"
#include "kwire/mock.h"

typedef struct kwt_call {
    int calls;
    kw_err err;
    kw_error detail;
    kw_admin_op op;
    /* Runs inside the callback on success, with `ctx`. */
    void (*check)(const kw_admin_result *r, void *ctx);
    void *ctx;
} kwt_call;

kw_mock *kwt_adm_mock(int32_t brokers);
kw_client *kwt_adm_client(const char *bootstrap);
/* The callback; ud = kwt_call. */
void kwt_adm_cb(kw_admin *ad, kw_err err, const kw_error *detail, const kw_admin_result *r,
                void *ud);
/* Waits for every call of ad (kw_admin_wait, 60 s) and checks each ran its callback once. */
void kwt_adm_wait(kw_admin *ad);
/* The error of an item as "CODE" or "BROKER:NAME" for assertions. */
const char *kwt_err_tag(const kw_error *e, char *buf, size_t len);

#endif
