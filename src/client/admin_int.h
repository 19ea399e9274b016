/* Internal: the admin role (kwire/admin.h).
 *
 * Layout of src/client/admin*:
 *   admin.c         the handle, the life of a call (submit, attempts, retries, the end),
 *                   sending requests on behalf of a call, wait and free
 *   admin_util.c    copies into a call's arena, item errors and the steps response handlers
 *                   share, metadata lookups, version checks, the start of public calls
 *   admin_topics.c  CreateTopics, DeleteTopics, CreatePartitions (at the controller)
 *   admin_configs.c DescribeConfigs, describe topics (Metadata + DescribeConfigs)
 *   admin_offsets.c ListOffsets and DeleteRecords (split by leader)
 *   admin_groups.c  ListGroups, DescribeGroups / ConsumerGroupDescribe, OffsetFetch and lag
 *
 * A call ("op") owns an arena holding its copied input and its results, and an array of
 * items (one per topic, partition, group, resource or broker), each with a done flag and its
 * error. It runs in attempts: an attempt starts with the cluster's brokers and controller
 * (kw_client_metadata with no topics), then, for calls that need partition leaders or topic
 * state, a Metadata request of its own for the topics involved (allow_auto_topic_creation
 * false, so a missing topic is reported rather than created). The kind's dispatch function
 * then sends requests for the items not done yet; their handlers mark items done (success or
 * a final error) or leave them pending with the retriable error seen. A request that fails in
 * transport (or whose answer does not decode) fails its pending items the same way for every
 * kind, unless the request has an error handler of its own. When nothing of the
 * attempt is in flight any more, the call ends if every item is done, else the next attempt
 * starts after a backoff, until the call's deadline, when the pending items end with
 * KW_ERR_TIMED_OUT (a call whose items were never placed, `unplaced`, fails as a whole). A kind may
 * go on with new items once all are done (next_phase: group offsets, then their partitions' end
 * offsets). Everything runs on the loop's thread with the loop lock held. */
#ifndef KWI_CLIENT_ADMIN_INT_H
#define KWI_CLIENT_ADMIN_INT_H

#include <pthread.h>

#include "client/client_int.h"
#include "kwire/admin.h"

/* Broker error codes the admin acts on. */
#define KWI_E_UNKNOWN_TOPIC     3
#define KWI_E_LEADER_NA         5
#define KWI_E_NOT_LEADER        6
#define KWI_E_COORD_LOADING     14
#define KWI_E_COORD_NA          15
#define KWI_E_NOT_COORDINATOR   16
#define KWI_E_UNSUPPORTED_VER   35
#define KWI_E_NOT_CONTROLLER    41
#define KWI_E_GROUP_NOT_FOUND   69
#define KWI_E_UNKNOWN_LEADER_EP 74
#define KWI_E_FENCED_LEADER_EP  75

#define KWI_API_LIST_OFFSETS    2
#define KWI_API_OFFSET_FETCH    9
#define KWI_API_FIND_COORD      10
#define KWI_API_DESCRIBE_GROUPS 15
#define KWI_API_LIST_GROUPS     16
#define KWI_API_CREATE_TOPICS   19
#define KWI_API_DELETE_TOPICS   20
#define KWI_API_DELETE_RECORDS  21
#define KWI_API_DESCRIBE_CONFIG 32
#define KWI_API_CREATE_PARTS    37
#define KWI_API_CG_DESCRIBE     69

typedef struct kwi_aop kwi_aop;
typedef struct kwi_areq kwi_areq;

/* Every item type begins with this. */
typedef struct kwi_aitem {
    bool done;
    int32_t dest; /* the node of the request carrying it in this attempt; -1 = none */
    kw_error e;   /* the outcome when done; the last retriable error while pending */
} kwi_aitem;

/* What an attempt knows of the cluster when it dispatches. */
typedef struct kwi_amd {
    const kw_metadata *view;     /* brokers, controller, the broker that answered */
    const kw_metadata_resp *tmd; /* the topics' own Metadata, when the kind asks for it */
    int16_t tmd_ver;
} kwi_amd;

typedef struct kwi_akind {
    kw_admin_op op;
    const char *name;
    bool topic_md; /* the attempt needs the Metadata of op->md_topics (or every topic) */
    void (*dispatch)(kwi_aop *op, const kwi_amd *md);
    /* Optional: every item is done; true when the call goes on with new items (a next
     * phase, set with kwi_aop_rephase), false when it ends. */
    bool (*next_phase)(kwi_aop *op);
    /* Builds the public result into op->ar; KW_ERR_NOMEM on failure. */
    kw_err (*result)(kwi_aop *op, kw_admin_result *r);
    /* Optional: every item is done, yet the call as a whole failed (ListGroups: no broker
     * answered, so an empty listing would read as "no groups"); fills why and returns true. */
    bool (*failed)(kwi_aop *op, kw_error *why);
} kwi_akind;

struct kwi_aop {
    kwi_submit sub; /* first: the submit queue carries the call to the loop thread */
    kw_admin *ad;   /* NULL once the handle is freed */
    kw_client *c;
    kwi_aop *prev, *next;
    const kwi_akind *k;
    kw_arena ar; /* input copies, item arrays, results */
    kw_admin_cb cb;
    void *ud;
    kw_admin_opts o;
    int64_t deadline_ms;
    int attempts;
    int inflight;  /* metadata calls and requests of the current attempt */
    bool queued;   /* still in the client's submit queue */
    bool ended;    /* the callback ran (or the handle was freed) */
    bool now;      /* the next attempt starts without a backoff (a new phase) */
    bool topic_md; /* attempts read the Metadata of md_topics (from the kind, or a phase) */
    /* The items come from the first answer about the cluster (ListGroups: its brokers;
     * describing every topic: its topics). Until one arrives the call has nothing to report:
     * it retries, and at the deadline it fails as a whole (KW_ERR_TIMED_OUT). */
    bool unplaced;
    kwi_timer *t;
    kw_error last; /* the latest failure that is not an item's (metadata, transport) */

    void *items;
    int32_t n_items;
    size_t item_sz;

    kw_slice *md_topics; /* the topics of the attempt's own Metadata */
    int32_t n_md_topics;
    bool md_all; /* every topic instead */

    void *st; /* the kind's state, in the arena */
};

/* A version cap for one API on one broker, learnt from a response at a higher version that
 * did not parse (librdkafka's mock 2.0.2 writes ListOffsets v4+'s LeaderEpoch as an int64):
 * later requests of the handle go out at most at `max`. */
typedef struct kwi_acap {
    int32_t node;
    int16_t api, max;
} kwi_acap;

#define KWI_ACAPS 32

struct kw_admin {
    kw_client *c;
    kwi_acap caps[KWI_ACAPS];
    int n_caps, next_cap;
    kwi_aop *ops; /* every call not yet ended */
    size_t outstanding;
    pthread_cond_t cond; /* signalled when a call ends (kw_admin_wait with the kwire thread) */
    int waiting;
    bool closing;
};

/* The handler of one request's response (resp->body set). `rq` is freed after it returns. */
typedef void (*kwi_areq_fn)(kwi_aop *op, kwi_areq *rq, const kwi_resp *resp);
/* The handler of its transport error (d->code), when the request sets one. */
typedef void (*kwi_areq_err_fn)(kwi_aop *op, kwi_areq *rq, const kw_error *d);

struct kwi_areq {
    kwi_aop *op;
    kwi_areq_fn fn;
    kw_arena ar; /* the request message and anything it points to */
    int32_t node;
    int32_t *idx; /* the items the request carries, in the order they were put in */
    int32_t n_idx;
    /* NULL (the usual case): a transport error fails the request's pending items
     * (kwi_areq_fail_rest), so response handlers read only responses. */
    kwi_areq_err_fn on_error;
};

/* ---- admin.c ----------------------------------------------------------------------------- */

/* A new call of kind k with n items of item_sz bytes (zeroed, dest -1), or NULL (nomem). */
kwi_aop *kwi_aop_new(kw_admin *ad, const kwi_akind *k, size_t n, size_t item_sz,
                     const kw_admin_opts *o, kw_admin_cb cb, void *ud);
/* Frees a call that was never submitted. */
void kwi_aop_discard(kwi_aop *op);
/* Hands the call to the loop. Always succeeds; the callback fires once from now on. */
kw_err kwi_aop_submit(kwi_aop *op);
/* The i-th item. */
static inline void *
kwi_aop_item(kwi_aop *op, int32_t i)
{
    return (char *)op->items + (size_t)i * op->item_sz;
}
/* Its common header. */
static inline kwi_aitem *
kwi_aop_hdr(kwi_aop *op, int32_t i)
{
    return (kwi_aitem *)kwi_aop_item(op, i);
}
/* Replaces the items with n new ones (a new phase); the next attempt starts at once. */
bool kwi_aop_rephase(kwi_aop *op, void *items, int32_t n, size_t item_sz);
/* A request of the call, with room for n_idx item indices; NULL on nomem. */
kwi_areq *kwi_areq_new(kwi_aop *op, kwi_areq_fn fn, int32_t n_idx);
/* Sends rq to node (min_ver 0 = any): KW_ERR_OK (the handler will run) or the error (rq is
 * freed; mark its items). msg NULL stands for a build that ran out of memory: rq is freed
 * and KW_ERR_NOMEM returned. */
kw_err kwi_areq_send(kwi_areq *rq, int32_t node, int16_t api_key, const void *msg, int16_t min_ver,
                     kw_error *err);
void *kwi_areq_alloc(kwi_areq *rq, size_t n, size_t sz);

/* ---- admin_util.c ------------------------------------------------------------------------ */

void *kwi_aop_alloc(kwi_aop *op, size_t n, size_t sz);
/* A NUL-terminated copy in the call's arena ("" for a NULL string); NULL on nomem. */
char *kwi_aop_strdup(kwi_aop *op, const char *s);
/* A NUL-terminated copy of a wire string; NULL for a null slice (and on nomem). */
char *kwi_aop_slicedup(kwi_aop *op, kw_slice s);
/* Sets an item's error from a broker code: done unless the code is retriable (or
 * NOT_CONTROLLER / NOT_COORDINATOR ...); the printf-style `what` names the item ("topic %s"),
 * so each handler does not format it into a buffer of its own. */
void kwi_aitem_broker(kwi_aitem *it, int16_t code, kw_slice msg, const char *api, const char *what,
                      ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
void kwi_aitem_ok(kwi_aitem *it);
/* The item failed in transport or locally; retriable errors keep it pending. */
void kwi_aitem_fail(kwi_aitem *it, kw_err code, const char *msg);
/* A Metadata topic by name, or NULL. */
const kw_metadata_resp_topic *kwi_amd_topic(const kw_metadata_resp *m, const char *name);
/* Whether broker `node` has a connection that negotiated a version of `api_key`. */
bool kwi_admin_node_supports(kw_client *c, int32_t node, int16_t api_key);
/* Config entries of a DescribeConfigs result, copied into the arena. */
kw_config_entry *kwi_aop_configs(kwi_aop *op, const kw_describe_configs_resource_result *in,
                                 int32_t n, int32_t *n_out);
/* The pending item of rq whose name (a const char * at name_off in the item) matches; items
 * keep the request's order, so position `hint` is tried first. -1 if none. */
int32_t kwi_areq_match(kwi_aop *op, const kwi_areq *rq, size_t name_off, kw_slice name,
                       int32_t hint);
/* Every item of rq still pending on rq's node fails with code (a transport error, or no
 * entry in the response). */
void kwi_areq_fail_rest(kwi_aop *op, const kwi_areq *rq, kw_err code, const char *msg);
/* The end of a response handler: the items of rq the `api` response did not answer fail
 * with KW_ERR_MALFORMED ("the broker's <api> response left the <noun> out"). */
void kwi_areq_left_out(kwi_aop *op, const kwi_areq *rq, const char *api, const char *noun);
/* Settles the pending item of rq that a per-topic result names (matched as kwi_areq_match
 * does, the result's position as hint) from its broker code; returns the item, or NULL
 * when none matches. The result handlers of the topic calls share it. */
void *kwi_areq_topic_result(kwi_aop *op, const kwi_areq *rq, size_t name_off, int32_t hint,
                            kw_slice name, int16_t code, kw_slice msg, const char *api);
/* A request to node carrying every pending item (their dest set), or NULL (none or nomem). */
kwi_areq *kwi_aop_collect(kwi_aop *op, kwi_areq_fn fn, int32_t node);
/* Sends rq; when that fails its items take the error. msg NULL = out of memory. */
void kwi_areq_send_or_fail(kwi_aop *op, kwi_areq *rq, int16_t api, const void *msg,
                           int16_t min_ver);
/* The start of a public call: checks, the loop lock, a new op (lock held on success). */
kwi_aop *kwi_admin_begin(kw_admin *ad, const kwi_akind *k, size_t n, size_t item_sz,
                         const kw_admin_opts *o, kw_admin_cb cb, void *ud, kw_error *err);
/* Submits (e OK) or discards op, and releases the lock; returns e. */
kw_err kwi_admin_end(kwi_aop *op, kw_err e);
/* Checks a caller's list of n names: "no <noun>s" for a NULL list, "<noun> <i> has no
 * <field>" for a NULL or empty name. */
kw_err kwi_admin_check_names(const char *const *names, size_t n, const char *noun,
                             const char *field, kw_error *err);

/* A public call whose items each copy one entry of the caller's array. */
typedef struct kwi_acall {
    const kwi_akind *k;
    size_t item_sz;
    const void *in; /* n entries of in_sz bytes */
    size_t n, in_sz;
    /* Checks and copies one entry into its (zeroed) item; an error ends the call. */
    kw_err (*copy)(kwi_aop *op, void *item, const void *in, kw_error *err);
    const char *none; /* the error when `in` is NULL and n > 0 ("no topics") */
} kwi_acall;

/* Starts, fills and submits such a call (kwi_admin_begin, copy per entry, kwi_admin_end). */
kw_err kwi_admin_call(kw_admin *ad, const kwi_acall *call, const kw_admin_opts *o, kw_admin_cb cb,
                      void *ud, kw_error *err);

/* ---- the kinds (admin_topics.c, admin_offsets.c, admin_groups.c) ------------------------- */

/* Per-partition work shared by ListOffsets, DeleteRecords and the lag phase of group offsets:
 * the item type and the dispatch that splits items by leader. */
typedef struct kwi_poff_item {
    kwi_aitem h;
    const char *topic;
    int32_t partition;
    int64_t spec;
    int64_t offset, timestamp;
    int32_t leader_epoch;
} kwi_poff_item;

void kwi_poff_dispatch(kwi_aop *op, const kwi_amd *md, bool delete_records);
/* Sets op->md_topics to the distinct topics of n items of item_sz bytes, each beginning
 * with a kwi_poff_item. */
bool kwi_poff_md_topics(kwi_aop *op, const void *items, int32_t n, size_t item_sz);

#endif
