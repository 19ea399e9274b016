/* Helpers for kwire-mock's group coordinator tests: a cluster on a virtual clock, and group
 * requests built with kwire's codec and sent over loopback with the raw client of
 * mock_client.h. Answers are copied out of their frames, so callers keep no frame around. */
#ifndef KW_TEST_GROUP_UTIL_H
#define KW_TEST_GROUP_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "mock_client.h"

#define GT_MAX_MEMBERS 8
#define GT_ID          160

typedef struct gt_join_member {
    char id[GT_ID];
    char instance[GT_ID];
    bool has_instance;
    uint8_t meta[512];
    int32_t meta_len;
} gt_join_member;

/* A JoinGroup answer. */
typedef struct gt_join {
    int16_t error;
    int32_t generation;
    char member_id[GT_ID];
    char leader[GT_ID];
    char protocol_name[64];
    bool protocol_name_null;
    char protocol_type[64];
    bool protocol_type_null;
    bool skip_assignment;
    int32_t n_members;
    gt_join_member members[GT_MAX_MEMBERS];
} gt_join;

/* A JoinGroup request's parameters; gt_join_args_init sets Java-like defaults. */
typedef struct gt_join_args {
    const char *group;
    const char *member;   /* "" for a first join */
    const char *instance; /* NULL: dynamic */
    int32_t session_ms, rebalance_ms;
    const char *protocol_type;
    const char *protocols[4]; /* names; every protocol carries `meta` */
    int n_protocols;
    const uint8_t *meta;
    int32_t meta_len;
} gt_join_args;

/* A cluster of `brokers` on the virtual clock *now, group settings from `gconf` (NULL =
 * defaults with a 3000 ms initial rebalance delay). */
kw_mock *gt_mock(int32_t brokers, int64_t *now, const kw_mock_group_conf *gconf);
/* Moves the virtual clock and lets due timers run. */
void gt_advance(kw_mock *m, int64_t *now, int64_t ms);
/* Steps the mock until requests already sent have been read and handled. */
void gt_settle(kw_mock *m);
/* A connection to the coordinator of `group`. */
mc *gt_coord(kw_mock *m, const char *group);

void gt_join_args_init(gt_join_args *a, const char *group, const char *member);
int32_t gt_join_send(mc *c, int16_t ver, const gt_join_args *a);
void gt_join_recv(mc *c, int16_t ver, int32_t corr, gt_join *out);
gt_join gt_join_call(mc *c, int16_t ver, const gt_join_args *a);
/* A dynamic member's full join at v5: MEMBER_ID_REQUIRED, then the rejoin is sent (its answer
 * comes when the rebalance completes). Returns the correlation id; *id gets the member id. */
int32_t gt_join_new(mc *c, const gt_join_args *a, char *id);

typedef struct gt_assign {
    const char *member;
    const uint8_t *bytes;
    int32_t len;
} gt_assign;

int32_t gt_sync_send(mc *c, int16_t ver, const char *group, int32_t gen, const char *member,
                     const char *instance, const gt_assign *a, int n);
/* Returns the error; the assignment is copied to buf (cap bytes), its length to *len. */
int16_t gt_sync_recv(mc *c, int16_t ver, int32_t corr, uint8_t *buf, int32_t cap, int32_t *len);
int16_t gt_heartbeat(mc *c, int16_t ver, const char *group, int32_t gen, const char *member,
                     const char *instance);
/* LeaveGroup v3+ of one member (v0-2: the top-level form); returns the member's error (v3+)
 * or the response's (v0-2); *top gets the top-level error when not NULL. */
int16_t gt_leave(mc *c, int16_t ver, const char *group, const char *member, const char *instance,
                 int16_t *top);

/* Bytes of a ConsumerProtocolSubscription v3 for one topic / a ConsumerProtocolAssignment v3
 * of one topic's partitions. Return the length written to buf. */
int32_t gt_subscription(uint8_t *buf, size_t cap, const char *topic);
int32_t gt_assignment(uint8_t *buf, size_t cap, const char *topic, const int32_t *parts, int n);

/* OffsetCommit of one partition; returns the partition's error. */
int16_t gt_commit(mc *c, int16_t ver, const char *group, int32_t gen, const char *member,
                  const char *instance, const char *topic, int32_t part, int64_t offset,
                  int32_t leader_epoch, const char *metadata);

typedef struct gt_offset {
    int16_t error;       /* the partition's error */
    int16_t group_error; /* v2+ top-level or v8+ group error */
    int64_t offset;
    int32_t leader_epoch;
    char metadata[128];
    bool metadata_null;
} gt_offset;

/* OffsetFetch of one partition (the single-group form below v8, Groups[] from v8). */
gt_offset gt_fetch(mc *c, int16_t ver, const char *group, const char *topic, int32_t part);

/* DescribeGroups v5 of one group: its state (copied) and member count. */
int16_t gt_describe(mc *c, const char *group, char *state, size_t cap, int32_t *n_members);

#endif
