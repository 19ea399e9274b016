/* Internal: the client runtime's structure and the API the producer, consumer and admin roles
 * build on.
 *
 * Layout of src/client:
 *   client.c    creation from kw_conf, the loop (step, thread, submit queue), logging
 *   broker.c    the broker registry: one kwi_conn per broker, routing, least-loaded choice,
 *               brokers appearing and leaving, re-bootstrap (KIP-899)
 *   metadata.c  Metadata requests (public calls and the cache's own refreshes) and the cache:
 *               topics by name in a hash table, partitions by index
 *   md_view.c   the public kw_metadata view of a response, and its JSON
 *   stats.c     per-broker statistics as structs and JSON
 *
 * Everything here runs on the loop's thread with the loop lock held, except the submit queue
 * (its own lock) and the wakeup. */
#ifndef KWI_CLIENT_INT_H
#define KWI_CLIENT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "kwire/client.h"
#include "net/conn.h"
#include "util/conf_int.h"

typedef struct kwi_broker {
    kw_client *c;
    int32_t id; /* negative: a bootstrap.servers entry */
    char *host;
    size_t host_sz;
    uint16_t port;
    char *rack; /* NULL = none */
    size_t rack_sz;
    kwi_conn *conn;
    bool bootstrap;
    bool retired; /* left the cluster or no longer needed: freed once its connection is idle */
} kwi_broker;

typedef struct kwi_md_part {
    int32_t id;
    int32_t leader;
    int32_t leader_epoch;
    int16_t error;
    int32_t *nodes; /* replicas, then isr, then offline: one allocation */
    int32_t n_replicas, n_isr, n_offline;
} kwi_md_part;

typedef struct kwi_md_topic {
    struct kwi_md_topic *next; /* hash chain */
    char *name;
    size_t len;
    uint32_t hash;
    kw_uuid id;
    int16_t error;
    bool internal;
    bool stale;         /* a refresh is wanted (error, missing leader, a caller asked) */
    kwi_md_part *parts; /* parts[i].id == i */
    int32_t n_parts;
    int64_t updated_ms;
} kwi_md_topic;

typedef struct kwi_md_call kwi_md_call;

typedef struct kwi_md {
    kwi_md_topic **buckets;
    size_t n_buckets, n_topics;
    char *cluster_id;
    size_t cluster_id_sz;
    int32_t controller_id;
    int64_t last_full_ms; /* last refresh that covered every cached topic; -1 = never */
    bool known;           /* a Metadata response has been applied */
    kwi_md_call *calls;   /* every call not yet completed */
    kwi_md_call *refresh; /* the cache's own refresh in progress, or NULL */
    int refresh_failures;
    kwi_timer *t_refresh;
} kwi_md;

typedef struct kwi_submit kwi_submit;
struct kwi_submit {
    kwi_submit *next;
    void (*run)(kw_client *c, kwi_submit *s);    /* on the loop thread; owns s from then on */
    void (*cancel)(kw_client *c, kwi_submit *s); /* at free, instead of run */
};

typedef struct kwi_bootstrap {
    char *host;
    size_t host_sz;
    uint16_t port;
} kwi_bootstrap;

struct kw_client {
    kw_conf *conf;
    const kw_allocator *a;
    kwi_reactor *r;
    kwi_dns *dns;
    kwi_tls_ctx *tls;
    kwi_sasl_conf sasl;
    bool use_sasl;
    kwi_conn_opts copts; /* the template every connection starts from */

    kwi_log log;
    kw_log_fn log_fn;
    void *log_ud;

    kwi_bootstrap *boot;
    size_t n_boot, cap_boot;
    int32_t next_boot_id;

    kwi_broker **brokers;
    size_t n_brokers, cap_brokers;
    size_t rr; /* rotates the start of the least-loaded scan */
    bool rebootstrapping;

    kwi_md md;
    kw_error link_err;  /* the latest connection failure, for messages of waiting calls */
    kwi_timer *t_house; /* zero-delay housekeeping after connection state changes */

    pthread_mutex_t lock;  /* the loop lock (recursive): step, stats from other threads */
    pthread_mutex_t qlock; /* the submit queue */
    kwi_submit *q_head, *q_tail;
    atomic_int q_n;
    pthread_t thread;
    bool thread_on;
    atomic_bool thread_stop;
    int in_step; /* nesting: callbacks may not step */
    bool closing;

    kw_stats stats;
};

/* ---- client.c ---------------------------------------------------------------------------- */

void *kwi_client_alloc(kw_client *c, size_t n);
void kwi_client_mem_free(kw_client *c, void *p, size_t n);
char *kwi_client_strndup(kw_client *c, const char *s, size_t n, size_t *sz);
/* Queues work for the loop thread and wakes it. Any thread. */
void kwi_client_submit(kw_client *c, kwi_submit *s);
/* Runs housekeeping on the next step: parked metadata calls, connecting, sweeping. */
void kwi_client_house(kw_client *c);

/* ---- broker.c ---------------------------------------------------------------------------- */

kw_err kwi_broker_add(kw_client *c, int32_t id, const char *host, size_t hlen, uint16_t port,
                      const char *rack, size_t rlen, bool bootstrap, kwi_broker **out);
/* The live (not retired) broker with this id, or NULL. */
kwi_broker *kwi_broker_find(kw_client *c, int32_t id);
/* Fails its requests with `why` and frees it once idle. */
void kwi_broker_retire(kw_client *c, kwi_broker *b, const char *why);
/* Frees retired brokers whose connections are idle; every broker at shutdown. */
void kwi_broker_sweep(kw_client *c, bool all);
/* Creates the entries of bootstrap.servers (fresh ids). */
kw_err kwi_broker_bootstrap(kw_client *c);
/* The READY broker with the fewest requests outstanding among those the client may use for
 * cluster-wide requests (metadata brokers, or bootstrap entries before the first metadata and
 * during a re-bootstrap); NULL if none is READY. */
kwi_broker *kwi_broker_least_loaded(kw_client *c);
/* With no READY broker: starts connecting to one, or re-bootstraps when every known broker
 * failed (KIP-899). */
void kwi_broker_ensure_link(kw_client *c);
/* Replaces the broker set with a Metadata response's. */
void kwi_broker_update(kw_client *c, const kw_metadata_resp *m);

/* ---- metadata.c -------------------------------------------------------------------------- */

kw_err kwi_md_init(kw_client *c);
/* Fails every call with KW_ERR_CANCELED and frees the cache. */
void kwi_md_fini(kw_client *c);
/* A broker became ready or one failed: dispatch calls waiting for a link. */
void kwi_md_on_link(kw_client *c);
/* A link failed in a way retrying will not fix (authentication, certificate): public calls
 * waiting for a link fail now with that error, as the Java client fails its waiters. */
void kwi_md_on_fatal(kw_client *c, const kw_error *why);
kwi_md_topic *kwi_md_topic_find(kw_client *c, const char *name, size_t len);

/* ---- the internal API for the roles built on the client ---------------------------------- */

/* Sends a request to broker `node_id`; see kwi_conn_send for the contract. KW_ERR_NOT_FOUND
 * when the node is not (or no longer) in the metadata; the callback then never fires. */
kw_err kwi_client_send(kw_client *c, int32_t node_id, int16_t api_key, const void *msg,
                       const kwi_req_opts *o, kwi_resp_cb cb, void *ud, kw_error *err);

/* The leader of a partition from the cache. KW_ERR_OK with *leader and *epoch;
 * KW_ERR_NOT_FOUND (topic unknown or partition out of range: a refresh is scheduled);
 * KW_ERR_AGAIN (no leader right now: a refresh is scheduled); KW_ERR_BROKER (the topic has
 * an error, e.g. not authorized: *err_code). O(1): a hash lookup and an index. */
kw_err kwi_client_leader(kw_client *c, const char *topic, size_t len, int32_t partition,
                         int32_t *leader, int32_t *epoch, int16_t *err_code);
/* The partition count of a cached topic, or -1 (and a refresh is scheduled). */
int32_t kwi_client_partitions(kw_client *c, const char *topic, size_t len);
/* "Refresh these topics": adds them to the cache's interest and fetches them soon, in one
 * coalesced Metadata request. */
void kwi_client_refresh(kw_client *c, const char *const *topics, const size_t *lens, size_t n);
/* A response carried broker error `code` for a partition: refreshes the topic when the code
 * calls for it (NOT_LEADER_OR_FOLLOWER, UNKNOWN_TOPIC_OR_PARTITION, FENCED_LEADER_EPOCH and
 * every other InvalidMetadataException). */
void kwi_client_on_partition_error(kw_client *c, const char *topic, size_t len, int32_t partition,
                                   int16_t code);
/* A response named a leader epoch for a partition: refreshes the topic when it is newer than
 * the cached one (the leader moved and the cache does not know yet). */
void kwi_client_on_leader_epoch(kw_client *c, const char *topic, size_t len, int32_t partition,
                                int32_t epoch);

/* Routes every broker connection, present and future, through `t` (net/transport.h; NULL =
 * real sockets), for harnesses that play the brokers in memory. Call before the first step:
 * KW_ERR_STATE when a connection already has a socket. `t` must outlive the client. */
kw_err kwi_client_set_transport(kw_client *c, const kwi_transport *t);

kwi_reactor *kwi_client_reactor(kw_client *c);
const kw_conf *kwi_client_conf(const kw_client *c);
const kwi_log *kwi_client_log(const kw_client *c);

#endif
