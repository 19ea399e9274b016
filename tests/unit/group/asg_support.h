/* Test support for the assignor suites: a "world" (topics, members, subscriptions, owned
 * partitions with generations, current KIP-848 assignments) that builds assignor input in a
 * shuffled order, reads results back as one owner per partition while checking they are well
 * formed, and property checks that do not share code with the assignors (brute force). */
#ifndef KWT_ASG_SUPPORT_H
#define KWT_ASG_SUPPORT_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "group/assign.h"

/* Check's ck_assert records every passing assertion (a write to its message file each time),
 * which would dominate loops over thousands of partitions; these call into Check only when
 * the condition fails. */
#define W_CHECK(cond)                                                                              \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #cond);                                  \
    } while (0)
#define W_CHECK_MSG(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ck_abort_msg(__VA_ARGS__);                                                             \
    } while (0)

#define W_MAXT 64
#define W_MAXM 640

typedef struct w_member {
    char id[32];
    char inst[32]; /* "" = dynamic */
    bool sub[W_MAXT];
    int32_t *owned; /* global partition indices (may hold duplicates or junk on purpose) */
    int32_t n_owned, cap_owned;
    int32_t generation;
    bool present; /* false once it left */
} w_member;

typedef struct world {
    int32_t n_topics;
    char tname[W_MAXT][16];
    int32_t count[W_MAXT];
    int32_t tbase[W_MAXT + 1];
    int32_t n_parts;
    int32_t n_members;
    w_member m[W_MAXM];
} world;

/* xorshift32: deterministic everywhere. */
uint32_t w_rand(uint32_t *s);
int32_t w_range(uint32_t *s, int32_t lo, int32_t hi); /* lo..hi inclusive */

world *w_new(int32_t n_topics, const int32_t *counts);
void w_free(world *w);
int32_t w_add(world *w, const char *id, const char *inst); /* subscribes to nothing */
void w_sub_all(world *w, int32_t m);
void w_own(world *w, int32_t m, int32_t gp); /* appends a claim */
void w_clear_owned(world *w, int32_t m);
int32_t w_topic_of(const world *w, int32_t gp);

/* Runs a client assignor over the present members, members and topics fed in an order
 * shuffled by *seed (NULL: world order). owner[] (n_parts) receives each partition's member
 * or -1; the result is checked to be well formed (known topics, partitions in range, nothing
 * twice) with ck_assert. Returns n_withheld. */
int32_t w_run_client(world *w, const kwi_assignor *as, uint32_t *seed, int32_t *owner);

/* The same for a server assignor; the current assignment of each member is the partitions it
 * "owns" in the world (w_own), generation ignored. */
void w_run_server(world *w, const kwi_assign_sv_assignor *as, uint32_t *seed, int32_t *owner);

/* Makes every present member own exactly what owner[] gives it, at `generation`. */
void w_apply(world *w, const int32_t *owner, int32_t generation);

/* The owner a partition is expected to stick to, computed by brute force from the claims:
 * the single member claiming it at the highest generation, if still subscribed; else -1.
 * *contested says whether anyone but that member has a current claim (another member at the
 * highest generation). */
int32_t w_valid_owner(const world *w, int32_t gp, bool *contested);

/* Checks with ck_assert: partitions only go to present subscribers. */
void w_check_subscribed(const world *w, const int32_t *owner);
/* Every partition of a topic some present member subscribes to is assigned. */
void w_check_complete(const world *w, const int32_t *owner);
/* Members with identical subscriptions are within one partition of each other, and no
 * partition could move directly to a subscriber holding 2 fewer. */
void w_check_balanced(const world *w, const int32_t *owner);
/* Loads per member (n_members entries). */
void w_loads(const world *w, const int32_t *owner, int32_t *load);

#endif
