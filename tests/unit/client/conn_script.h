/* Test support for test_conn*.c: a scripted broker on a loopback socket, driven by the test
 * itself on the same thread between reactor steps, and a virtual clock for the connection's
 * timers. The broker side reads real frames the connection wrote and writes whatever bytes a
 * test wants back, malformed ones included. */
#ifndef KWT_CONN_SCRIPT_H
#define KWT_CONN_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/conn.h"

/* One accepted connection, as the broker sees it. */
typedef struct sconn {
    int fd;
    uint8_t *buf;
    size_t cap, len;
    size_t consumed; /* bytes of the frame returned last, dropped on the next read */
} sconn;

typedef struct sbroker {
    int lfd;
    uint16_t port;
    int fd; /* the default connection's (b.c.fd), kept for the simple tests */
    sconn c;
} sbroker;

/* A request frame as the broker read it. */
typedef struct sframe {
    int16_t api_key, api_version;
    int32_t corr;
    char client_id[64];
    const uint8_t *body; /* into a buffer owned by the sbroker, valid until the next read */
    size_t body_len;
    size_t frame_len; /* size field */
} sframe;

typedef struct kw_client kw_client;

typedef struct tworld {
    kwi_reactor *r;
    kw_client *client; /* when set, steps drive the client instead of r */
    int64_t now;       /* the virtual clock (of r only) */
    sbroker b;
} tworld;

void tw_init(tworld *w);
void tw_fini(tworld *w);
/* One reactor step (a short real wait for socket events). */
void tw_step(tworld *w);
void tw_advance(tworld *w, int64_t ms);

/* Connection options aimed at the scripted broker. */
void tw_opts(tworld *w, kwi_conn_opts *o);

/* Accepts the connection's socket (stepping the reactor meanwhile). */
void sb_accept(tworld *w);
/* Steps and reads until a whole request frame is there; fails the test after a deadline. */
void sb_read(tworld *w, sframe *f);
/* Whether a frame (or any byte) arrives within a few steps. */
bool sb_quiet(tworld *w);
/* Sends a response frame: size, correlation id, then `body`. */
void sb_reply(tworld *w, int32_t corr, const void *body, size_t len);
/* The same with response header v1 (flexible versions): an empty tagged section first. */
void sb_reply_flex(tworld *w, int32_t corr, const void *body, size_t len);
/* Sends raw bytes. */
void sb_raw(tworld *w, const void *p, size_t len);
/* Whether the connection's side closed the socket (reads EOF), stepping meanwhile. */
bool sb_eof(tworld *w);
void sb_close_client(tworld *w);

/* The same for any accepted connection. */
void sc_accept(tworld *w, sconn *s);
void sc_read(tworld *w, sconn *s, sframe *f);
bool sc_quiet(tworld *w, sconn *s);
void sc_reply(tworld *w, sconn *s, int32_t corr, const void *body, size_t len);
void sc_reply_flex(tworld *w, sconn *s, int32_t corr, const void *body, size_t len);
bool sc_eof(tworld *w, sconn *s);
void sc_close(sconn *s);
/* Reads one raw frame (int32 size + bytes, no Kafka header): SASL tokens after handshake v0.
 * Returns the payload length; *p points into the connection's buffer. */
size_t sc_read_raw(tworld *w, sconn *s, const uint8_t **p);
/* Sends raw bytes. */
void sc_raw(tworld *w, sconn *s, const void *p, size_t len);
void sc_apiversions(tworld *w, sconn *s, const sframe *f, const kw_api_version *keys, int32_t n);

/* Answers ApiVersions at the version the client used, with these ranges. */
void sb_apiversions(tworld *w, const sframe *f, const kw_api_version *keys, int32_t n);
/* Accepts, answers the first ApiVersions with the given ranges, and steps until READY. */
void sb_ready(tworld *w, kwi_conn *c, const kw_api_version *keys, int32_t n);
/* Encodes a response message at a version into a buffer (returns its length). */
size_t sb_encode(const kw_msgdef *d, int16_t ver, const void *m, uint8_t *buf, size_t cap);

#endif
