/* Helpers of the consumer-group tests: group members (a kw_client and a kw_consumer each)
 * driven from one test thread, a ledger of which message was consumed how often, rebalance
 * callback recording, and loops that poll every member until a condition holds (failing after
 * a generous deadline, never asserting on speed). Used by the unit tests against kwire-mock
 * and by the integration tests against librdkafka's mock cluster. */
#ifndef KWT_CG_UTIL_H
#define KWT_CG_UTIL_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "kwire/consumer.h"
#include "kwire/mock.h"

#define CGT_DEADLINE_MS 45000
#define CGT_MAX_EV      128

/* Every message carries value "<id>" with a test-wide id; the ledger counts deliveries. */
typedef struct cgt_ledger {
    uint32_t *count; /* per id */
    size_t n_ids;
    uint64_t delivered, dups;
} cgt_ledger;

void cgt_ledger_init(cgt_ledger *l, size_t n_ids);
void cgt_ledger_fini(cgt_ledger *l);
/* Ids never delivered. */
size_t cgt_ledger_missing(const cgt_ledger *l);

/* One recorded rebalance callback. */
typedef struct cgt_ev {
    kw_rebalance_kind kind;
    char spec[512]; /* "t:0,1 u:3" sorted; "" = empty */
    int32_t generation;
} cgt_ev;

typedef struct cgt_member {
    char name[32];
    kw_client *c;
    kw_consumer *k;
    cgt_ledger *ledger; /* NULL: not counted */
    cgt_ev ev[CGT_MAX_EV];
    int n_ev;
    uint64_t consumed;
    bool commit_in_revoke; /* sync-commit the consumed positions inside REVOKED */
    int revoke_commits, revoke_commit_fails;
    kw_err last_revoke_commit;
    int auto_commits, auto_commit_fails; /* results of auto-commits (on_commit) */
    char last_commit_err[256];
    char last_revoke_err[256];
    /* Called at the end of every rebalance callback, after it was recorded (NULL: none). */
    void (*on_rebalance)(struct cgt_member *m, kw_rebalance_kind kind,
                         const kw_topic_partition *parts, size_t n);
    void *ud;
} cgt_member;

/* Members made from now on run their client on the kwire thread (the test thread only polls):
 * every member reacts at once, as separate processes would. */
extern bool cgt_use_thread;

/* A member on `bootstrap` in `group` with fast backoffs and the extra "key=value" settings
 * (NULL-terminated; may override the defaults), subscribed to `topic` (NULL: not yet). */
cgt_member *cgt_member_new(const char *name, const char *bootstrap, const char *group,
                           const char *topic, cgt_ledger *ledger, const char *const *extra);
void cgt_member_subscribe(cgt_member *m, const char *topic);
/* Close (leave cleanly) and free. */
void cgt_member_close(cgt_member *m);
/* Free without leaving: the group sees a crash (no LeaveGroup, session timeout). */
void cgt_member_crash(cgt_member *m);

/* One poll of each live member (NULL entries skipped), counting and releasing messages. */
void cgt_poll_round(cgt_member **v, int n, int timeout_ms);
/* Poll rounds until cond(ud) holds; fails with `what` after CGT_DEADLINE_MS. */
void cgt_until(cgt_member **v, int n, bool (*cond)(void *), void *ud, const char *what);
/* Poll rounds for about `ms`. */
void cgt_poll_for(cgt_member **v, int n, int ms);

/* How many partitions the member has assigned now; its spec into buf when given. */
int cgt_assigned(cgt_member *m, char *buf, size_t cap);
/* Whether the members' assignments are disjoint, cover `total` partitions, and (when
 * each > 0) every member has exactly `each`. */
bool cgt_balanced(cgt_member **v, int n, int total, int each);

/* Append `n` messages with ids first..first+n-1 to `topic`, round-robin over `parts`. */
void cgt_mock_produce(kw_mock *mk, const char *topic, int32_t parts, size_t first, size_t n);
/* A kwire-mock cluster on its own thread, fast group settings, topic `topic` (parts). */
kw_mock *cgt_mock(int32_t brokers, const char *topic, int32_t parts);

int64_t cgt_now_ms(void);

#endif
