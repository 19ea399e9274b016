/* Internal: one connection to one broker.
 *
 * A kwi_conn is the long-lived link to a broker node: it owns at most one socket at a time and
 * survives disconnects. It connects only when a request needs it (or kwi_conn_connect asks),
 * walks the setup states, and reconnects with exponential backoff and jitter after a failure:
 *
 *     DOWN -> [RESOLVING] -> CONNECTING -> [TLS] -> APIVERSIONS -> [SASL] -> READY
 *       ^                                                                     |
 *       +---- idle close ----------- BACKOFF <---- any failure ---------------+
 *
 * Requests are (API key, a version-independent message struct). The connection picks the
 * version (negotiated by ApiVersions, see apiver.h), encodes header and body once, directly
 * into its output buffer, and keeps at most max_in_flight requests on the wire. Responses are
 * matched by correlation id; a response for an unknown id or out of order closes the socket,
 * as does a frame larger than max_frame or with a negative size.
 *
 * Every request accepted by kwi_conn_send gets exactly one callback: its response, an error,
 * its timeout, or KW_ERR_CANCELED when the connection is freed. Callbacks never fire inside
 * kwi_conn_send or kwi_conn_connect: work that would need one is deferred to a zero-delay
 * reactor timer, so callbacks run only inside kwi_reactor_step (and inside kwi_conn_free,
 * which cancels). A callback may send new requests, on this connection or another, and may
 * free this connection.
 *
 * Timeouts: a request fails with KW_ERR_TIMED_OUT when its deadline (submission time plus its
 * timeout) passes. A request still queued is simply failed; one already on the wire also
 * closes the connection, as the Java client does, because its response would arrive later and
 * the stream cannot skip it. When the socket breaks, requests on the wire fail with KW_ERR_IO
 * (retriable; the broker may have executed them) and queued ones wait for the reconnection.
 *
 * Single-threaded: every function runs on the reactor's thread. */
#ifndef KWI_NET_CONN_H
#define KWI_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwire/alloc.h"
#include "kwire/error.h"
#include "kwire/proto.h"
#include "net/apiver.h"
#include "net/dns.h"
#include "net/log.h"
#include "net/reactor.h"
#include "net/sasl.h"
#include "net/tls.h"
#include "net/transport.h"

typedef struct kwi_conn kwi_conn;

typedef enum kwi_conn_state {
    KWI_CONN_DOWN = 0,    /* no socket; connects when a request needs it */
    KWI_CONN_BACKOFF,     /* no socket; waiting out the reconnect backoff */
    KWI_CONN_RESOLVING,   /* waiting for the asynchronous resolver (dns.h) */
    KWI_CONN_CONNECTING,  /* non-blocking TCP connect in progress */
    KWI_CONN_TLS,         /* TLS handshake (tls.h) */
    KWI_CONN_APIVERSIONS, /* ApiVersions exchange */
    KWI_CONN_SASL,        /* SaslHandshake and SaslAuthenticate (sasl.h) */
    KWI_CONN_READY        /* requests flow */
} kwi_conn_state;

/* Defaults used when an option is left 0. */
#define KWI_CONN_DEF_MAX_FRAME     100000000 /* receive.message.max.bytes */
#define KWI_CONN_DEF_MAX_REQUEST   104857600 /* the output buffer's hard cap */
#define KWI_CONN_DEF_IN_FLIGHT     5
#define KWI_CONN_DEF_REQ_TIMEOUT   30000
#define KWI_CONN_DEF_SETUP_TIMEOUT 10000
#define KWI_CONN_DEF_BACKOFF       50
#define KWI_CONN_DEF_BACKOFF_MAX   1000

typedef struct kwi_conn_opts {
    kwi_reactor *reactor;
    const kw_allocator *alloc; /* NULL = default */
    const kwi_log *log;        /* NULL = silent; must outlive the connection */
    int32_t node_id;           /* for messages and kwi_resp.node_id */
    const char *host;          /* copied */
    uint16_t port;
    const char *client_id;      /* copied; NULL = null ClientId */
    int64_t request_timeout_ms; /* request.timeout.ms: default per-request timeout */
    int64_t setup_timeout_ms;   /* socket.connection.setup.timeout.ms: connect to READY */
    int64_t idle_ms;            /* connections.max.idle.ms; negative = never */
    int64_t backoff_ms;         /* reconnect.backoff.ms */
    int64_t backoff_max_ms;     /* reconnect.backoff.max.ms */
    int32_t max_in_flight;      /* max.in.flight.requests.per.connection */
    int32_t max_frame;          /* receive.message.max.bytes */
    size_t max_request;         /* largest output buffer */
    /* Name resolution: NULL = numeric addresses only (kwi_dns_literal). Must outlive the
     * connection. */
    kwi_dns *dns;
    /* TLS (security.protocol SSL or SASL_SSL): a context to make each session from; NULL =
     * plaintext. Must outlive the connection. */
    kwi_tls_ctx *tls;
    /* SASL (SASL_PLAINTEXT or SASL_SSL): the mechanism and credentials, copied (the strings it
     * points to must outlive the connection); NULL = no authentication. */
    const kwi_sasl_conf *sasl;
    uint64_t seed; /* jitter; any value */
    /* The socket seam (transport.h); NULL = real sockets. Must outlive the connection. */
    const kwi_transport *transport;
    /* Called on every state change, inside a step. `why` is set when a failure caused it.
     * The callback must not free the connection. */
    void (*on_state)(kwi_conn *c, kwi_conn_state from, kwi_conn_state to, const kw_error *why,
                     void *ud);
    void *ud;
} kwi_conn_opts;

/* What a completed request delivers. `body` is the decoded response structure of the API's
 * response msgdef (kw_metadata_resp * for Metadata ...), valid only during the callback; NULL
 * on failure and for requests that expect no response. */
typedef struct kwi_resp {
    int16_t api_key;
    int16_t ver; /* the version used; -1 if the request never went out */
    const void *body;
    int32_t node_id;
    int64_t rtt_us; /* encode to response; 0 when no response */
} kwi_resp;

/* `detail` is never NULL; on success its code is KW_ERR_OK. */
typedef void (*kwi_resp_cb)(kw_err err, const kw_error *detail, const kwi_resp *resp, void *ud);

/* Writes a request body at version `ver` (instead of kw_msg_encode of the message). Called
 * once, when the request goes out; the version is known only then. */
typedef kw_err (*kwi_encode_fn)(kw_wr *w, int16_t ver, void *ud);

typedef struct kwi_req_opts {
    int64_t timeout_ms;   /* 0 = the connection's request timeout */
    int16_t min_ver;      /* the request needs at least this version; 0 = any */
    int16_t max_ver;      /* cap below the negotiated version; -1 = none */
    bool no_response;     /* Produce with acks=0: completes once written */
    kwi_encode_fn encode; /* optional */
    void *encode_ud;
} kwi_req_opts;

void kwi_req_opts_init(kwi_req_opts *o);

/* Per-connection counters (cumulative since kwi_conn_new). */
#define KWI_RTT_WINDOW 256
typedef struct kwi_conn_stats {
    uint64_t requests;  /* frames written */
    uint64_t responses; /* responses matched */
    uint64_t bytes_out, bytes_in;
    uint64_t errors;   /* requests failed for any reason + connection failures */
    uint64_t timeouts; /* requests that timed out */
    uint64_t connect_attempts;
    uint64_t connects;    /* times READY was reached */
    uint64_t disconnects; /* sockets closed after READY, for any reason */
    int32_t in_flight, queued;
    int64_t rtt_p50_us, rtt_p99_us; /* over the last KWI_RTT_WINDOW responses; -1 if none */
    int32_t rtt_samples;
} kwi_conn_stats;

/* Creates a connection in state DOWN (no socket yet). Returns KW_ERR_OK, KW_ERR_INVALID_ARG
 * (no reactor, host or port) or KW_ERR_NOMEM. */
kw_err kwi_conn_new(const kwi_conn_opts *o, kwi_conn **out);

/* Closes the socket and cancels every request with KW_ERR_CANCELED (their callbacks run
 * before this returns). Safe from inside this connection's own callbacks: the memory is then
 * released when the callback returns. NULL does nothing. */
void kwi_conn_free(kwi_conn *c);

/* Queues a request. `msg` (and everything its slices point to) must stay valid until the
 * callback; with o->encode set, `msg` may be NULL. Returns KW_ERR_OK (the callback will fire
 * exactly once), KW_ERR_UNKNOWN_API (no codec for the key), KW_ERR_INVALID_ARG or
 * KW_ERR_NOMEM; on failure the callback never fires. */
kw_err kwi_conn_send(kwi_conn *c, int16_t api_key, const void *msg, const kwi_req_opts *o,
                     kwi_resp_cb cb, void *ud, kw_error *err);

/* Asks for a connection even with no request queued (a warm link). Does not skip a backoff
 * in progress. */
void kwi_conn_connect(kwi_conn *c);

/* Closes the socket now, as after an error: requests on the wire fail with `code` and the
 * message, queued ones stay. With `backoff` the next attempt waits out the reconnect backoff;
 * without, the connection goes DOWN and reconnects as soon as something needs it. */
void kwi_conn_close(kwi_conn *c, kw_err code, bool backoff, const char *msg);

/* Fails every request, queued or on the wire, with `code` and `msg`, and closes the socket
 * (the broker left the cluster, or the client shuts down). */
void kwi_conn_fail_all(kwi_conn *c, kw_err code, const char *msg);

/* Replaces the transport (transport.h) of a connection that has no socket (DOWN or
 * BACKOFF); KW_ERR_STATE otherwise. */
kw_err kwi_conn_set_transport(kwi_conn *c, const kwi_transport *t);

kwi_conn_state kwi_conn_state_get(const kwi_conn *c);
const char *kwi_conn_state_name(kwi_conn_state s);
int32_t kwi_conn_node_id(const kwi_conn *c);
const char *kwi_conn_host(const kwi_conn *c);
uint16_t kwi_conn_port(const kwi_conn *c);
/* Requests encoded but not answered, and requests waiting to be encoded. */
int kwi_conn_in_flight(const kwi_conn *c);
int kwi_conn_queued(const kwi_conn *c);
/* Consecutive failed attempts since the last READY. */
int kwi_conn_failures(const kwi_conn *c);
/* The negotiated versions; meaningful in READY (all -1 otherwise). */
const kwi_apiver *kwi_conn_apiver(const kwi_conn *c);
void kwi_conn_stats_get(const kwi_conn *c, kwi_conn_stats *out);

#endif
