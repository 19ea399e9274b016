/* Internal to src/net/conn*.c: the connection's structure and the functions its two halves
 * share. conn.c owns the life cycle (states, timers, backoff, request bookkeeping); conn_io.c
 * owns the bytes (socket I/O, framing, encoding, response matching). */
#ifndef KWI_NET_CONN_INT_H
#define KWI_NET_CONN_INT_H

#include <sys/socket.h>

#include "kwire/proto.h"
#include "net/conn.h"
#include "util/heap.h"

/* Resolved addresses of the broker, tried in turn across attempts. */
#define KWI_CONN_ADDRS_MAX KWI_DNS_MAX_ADDRS
typedef struct kwi_sockaddr {
    struct sockaddr_storage ss;
    socklen_t len;
} kwi_sockaddr;

/* Steps of the SASL state. */
enum {
    SASL_HANDSHAKE = 1, /* SaslHandshake sent */
    SASL_AUTH,          /* SaslAuthenticate sent (handshake v1) */
    SASL_RAW            /* raw token sent, raw answer expected (handshake v0) */
};

/* Where a request is. */
typedef struct kwi_req kwi_req;
typedef struct req_list req_list;
struct kwi_req {
    kwi_req *prev, *next;
    req_list *list;     /* the list it is on, or NULL */
    kwi_heap_node node; /* deadline; queued and on-wire requests only */
    int16_t api_key, ver, min_ver, max_ver;
    int32_t corr;
    /* ApiVersions/SASL of the setup: the connection's own. The handler gets the body after
     * the response header, undecoded (ApiVersions needs its fallback logic). */
    void (*on_internal)(kwi_conn *c, kwi_req *q, const uint8_t *body, size_t len);
    bool internal;
    bool no_response;
    const void *msg;
    kwi_encode_fn encode;
    void *encode_ud;
    kwi_resp_cb cb;
    void *ud;
    int64_t deadline_ms;
    uint64_t out_end; /* absolute output offset where this frame ends */
    int64_t sent_us;
    kw_err done_err; /* REQ_DONE: the outcome to deliver */
    kw_error detail;
};

struct req_list {
    kwi_req *head, *tail;
    int n;
};

struct kwi_conn {
    kwi_reactor *r;
    const kw_allocator *a;
    const kwi_log *log;
    kwi_conn_opts o;
    char *host;
    char *client_id;
    size_t host_sz, client_id_sz;
    kwi_conn_state state;
    kwi_apiver av;
    int16_t av_ver; /* ApiVersions version of the exchange in progress */

    int fd;
    kwi_io *io;
    kwi_sockaddr addrs[KWI_CONN_ADDRS_MAX];
    int n_addrs;
    int addr_next; /* rotates through the resolved addresses across attempts */
    char peer[64]; /* the address in use, for messages */
    kwi_dns_req *dns_req;

    kwi_tls *tls;            /* the session on this socket, when TLS is on */
    bool tls_read_wants_w;   /* the last TLS read returned AGAIN_WRITE */
    bool tls_write_wants_r;  /* the last TLS write returned AGAIN_READ */
    unsigned tls_hs_want;    /* KWI_IO_READ or KWI_IO_WRITE while the handshake waits */
    bool read_more;          /* the read budget ran out with TLS bytes still buffered */
    kwi_sasl_conf sasl_conf; /* copy of o.sasl */
    kwi_sasl *sasl;          /* the session of the setup in progress */
    int sasl_step;
    int16_t sasl_auth_ver;
    int64_t sasl_lifetime_ms; /* SaslAuthenticate v1+: session lifetime; 0 = none */
    bool reauth;              /* KIP-368: re-authenticating a READY link */

    kwi_timer *t_req;    /* the earliest request deadline */
    kwi_timer *t_state;  /* setup timeout, backoff end, idle close */
    kwi_timer *t_kick;   /* zero-delay: deferred completions, connect, pump */
    kwi_timer *t_reauth; /* KIP-368: re-authenticate before the session expires */
    kwi_heap deadlines;

    req_list queue; /* waiting to be encoded */
    req_list wire;  /* encoded, response expected, in send order */
    req_list noack; /* encoded, no response expected, completes when written */
    req_list done;  /* completed outside a step; callbacks due */
    kwi_req *free_reqs;
    int n_free_reqs;
    int32_t next_corr;

    kw_wr out;            /* encoded frames */
    size_t out_off;       /* bytes of `out` already written */
    uint64_t out_written; /* absolute bytes written on this socket */
    uint64_t out_encoded; /* absolute bytes encoded on this socket */
    uint8_t *in;          /* received bytes */
    size_t in_cap, in_len, in_off;
    kw_arena arena;

    int64_t last_active_ms;
    int failures;
    bool want;   /* kwi_conn_connect asked for a link */
    int depth;   /* nesting of reactor entry points, for safe self-free */
    bool doomed; /* freed while depth > 0 */
    uint64_t rng;

    kwi_conn_stats st;
    int32_t rtt[KWI_RTT_WINDOW];
    uint32_t rtt_n;
};

/* conn.c */
/* Reactor entry points bracket their work with these, so a callback that frees the
 * connection only marks it; the memory goes when the outermost entry point returns. */
void kwi_conn_enter(kwi_conn *c);
void kwi_conn_leave(kwi_conn *c);
/* Whether the entry point must stop: the connection was freed by a callback. */
static inline bool
kwi_conn_gone(const kwi_conn *c)
{
    return c->doomed;
}
void kwi_conn_list_push(req_list *l, kwi_req *q);
void kwi_conn_list_unlink(req_list *l, kwi_req *q);
void kwi_conn_set_state(kwi_conn *c, kwi_conn_state to, const kw_error *why);
/* Delivers a request's outcome now (inside a step) and releases it. */
void kwi_conn_complete(kwi_conn *c, kwi_req *q, kw_err e, const kw_error *detail,
                       const kwi_resp *resp);
void kwi_conn_req_release(kwi_conn *c, kwi_req *q);
/* A setup or socket failure: close with backoff, log, count. */
void kwi_conn_fail(kwi_conn *c, const kw_error *why);
/* Queues an internal request and writes it at once (setup requests skip the queue). */
kw_err kwi_conn_send_internal(kwi_conn *c, int16_t api_key, int16_t ver, const void *msg,
                              void (*on)(kwi_conn *, kwi_req *, const uint8_t *, size_t),
                              kw_error *err);
void kwi_conn_became_ready(kwi_conn *c);
void kwi_conn_rearm_deadline(kwi_conn *c);
void kwi_conn_touch(kwi_conn *c);
int64_t kwi_conn_now_us(void);

/* conn_io.c */
/* Opens a socket to addrs[addr_next] and starts a non-blocking connect. */
kw_err kwi_conn_io_open(kwi_conn *c, kw_error *err);
void kwi_conn_io_close(kwi_conn *c);
/* Encodes queued requests while the window allows, then writes what it can. */
void kwi_conn_io_pump(kwi_conn *c);
/* Encodes one request frame (header and body) at `ver` into the output buffer. */
kw_err kwi_conn_io_encode(kwi_conn *c, kwi_req *q, int16_t ver, kw_error *err);
/* Appends a raw SASL token frame (int32 length, bytes; no Kafka header). */
kw_err kwi_conn_io_encode_raw(kwi_conn *c, const uint8_t *p, size_t n, kw_error *err);
/* Writes what the output buffer holds; may fail the connection. */
void kwi_conn_io_flush(kwi_conn *c);
/* Sets the reactor interest from the state and the buffers. */
void kwi_conn_io_update_interest(kwi_conn *c);
/* Reads and dispatches what the socket (or the TLS layer) holds, within the read budget. */
void kwi_conn_io_read(kwi_conn *c);
void kwi_conn_io_format_addr(const kwi_sockaddr *a, char *buf, size_t len);

/* conn_setup.c */
/* Resolves (if needed) and connects; moves to RESOLVING or CONNECTING, or fails. */
void kwi_conn_setup_start(kwi_conn *c);
/* The TCP connect finished: TLS handshake, or straight to ApiVersions. */
void kwi_conn_setup_connected(kwi_conn *c);
/* Drives the TLS handshake on readiness. */
void kwi_conn_setup_tls(kwi_conn *c);
/* A raw SASL token arrived (handshake v0 framing). */
void kwi_conn_setup_sasl_raw(kwi_conn *c, const uint8_t *p, size_t n);
/* Releases the resolver request and the SASL session of the current attempt. */
void kwi_conn_setup_reset(kwi_conn *c);
/* KIP-368: the re-authentication timer fired, or the wire drained while one waits. */
void kwi_conn_setup_reauth(kwi_conn *c);

#endif
