/* Test support for the hostile-broker suite: a scripted broker on a loopback socket that the
 * test drives on its own thread between steps of a real kw_client, answering honestly (with
 * kwire's own encoders) or with whatever bytes a case wants; and a client whose every
 * allocation goes through a counting allocator, so a case can assert its memory peak.
 *
 * Unlike tests/unit/client/conn_script.h, nothing here asserts on the way: a hostile case
 * expects the client to close sockets, so reads report the end of the stream instead. */
#ifndef KWT_HBROKER_H
#define KWT_HBROKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwire/client.h"
#include "kwire/proto.h"

/* The counting allocator: bytes in use now and at most. */
typedef struct hcount {
    size_t in_use, peak;
} hcount;

/* One request as the broker read it. */
typedef struct hframe {
    int16_t api_key, ver;
    int32_t corr;
    const uint8_t *body; /* after the request header; valid until the next read */
    size_t body_len;
} hframe;

typedef struct hb {
    int lfd, fd;
    uint16_t port;
    uint8_t *buf;
    size_t cap, len, consumed;
    kw_client *c; /* stepped while the broker waits */
    hcount mem;
    kw_allocator alloc;
    char log[8192]; /* every log line of the client, concatenated */
    size_t log_len;
} hb;

/* The version ranges the scripted broker offers: non-flexible Metadata (v4), Produce (v7) and
 * Fetch (v11), so that the cases can patch fields at known offsets; flexible ApiVersions (v3). */
extern const kw_api_version hb_versions[];
extern const int32_t hb_n_versions;

/* Listens on an ephemeral loopback port; resets the counters. */
void hb_init(hb *b);
/* Frees the client (if any), closes every socket; asserts that no byte is left allocated. */
void hb_fini(hb *b);
/* A client on the broker with these settings on top of short timeouts; name/value pairs, NULL
 * ended. Its allocator counts into b->mem and its log goes into b->log. */
kw_client *hb_client(hb *b, const char *const *extra);
/* One client step (a short real wait). */
void hb_step(hb *b);
/* Steps until *flag is set or `ms` real milliseconds passed; returns *flag. */
bool hb_wait(hb *b, const bool *flag, int ms);

/* Accepts the client's next connection (dropping the current one). False after `ms`. */
bool hb_accept(hb *b, int ms);
/* Reads one request frame: 1, 0 after `ms` without one, -1 when the client closed. */
int hb_read(hb *b, hframe *f, int ms);
/* Accepts and answers the first ApiVersions, retrying when a stale connection is accepted. */
bool hb_handshake(hb *b, int ms);
/* Reads requests until one with `api_key` (answering ApiVersions on the way). */
bool hb_expect(hb *b, int16_t api_key, hframe *f, int ms);
/* Whether the client closed the connection within `ms`. */
bool hb_eof(hb *b, int ms);
/* Sends raw bytes (stepping the client until written); false when the client closed. */
bool hb_raw(hb *b, const void *p, size_t n);
/* Sends size + correlation id + body; false when the client closed. */
bool hb_reply(hb *b, int32_t corr, const void *body, size_t n);
/* Encodes a response message (with its response header's tagged section, when flexible). */
size_t hb_encode(int16_t api_key, int16_t ver, const void *msg, uint8_t *out, size_t cap);
/* An honest Metadata response: broker 1 at this listener, topic "t" with one partition led by
 * broker 1 (or every topic the request names). */
size_t hb_metadata(hb *b, const hframe *f, uint8_t *out, size_t cap);
/* Whether the client's log holds `s`. */
bool hb_logged(const hb *b, const char *s);

#endif
