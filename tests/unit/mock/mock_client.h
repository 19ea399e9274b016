/* A raw Kafka client for kwire-mock's tests: real loopback sockets, frames built and parsed by
 * kwire's codec, and the mock driven in-process while waiting (stepped by the test thread, or
 * left to its own thread when the test started one). */
#ifndef KW_TEST_MOCK_CLIENT_H
#define KW_TEST_MOCK_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwire/mock.h"
#include "kwire/proto.h"
#include "kwire/records.h"

#define MC_WAIT_MS 10000 /* generous: a loaded machine must not fail a test */

typedef struct mc {
    kw_mock *m;
    bool threaded; /* the mock runs its own thread: do not step it */
    int fd;
    int32_t corr;
    uint8_t *buf;
    size_t len, cap;
    bool eof;
} mc;

/* Connects to broker node_id (1-based). */
mc *mc_connect(kw_mock *m, int32_t node_id, bool threaded);
void mc_close(mc *c);
/* Steps the mock (unless threaded) once, for up to `ms`. */
void mc_pump(mc *c, int ms);

/* Encodes header + body and writes the frame; returns its correlation id. */
int32_t mc_send(mc *c, const kw_msgdef *req, int16_t ver, const void *msg);
/* Builds the frame without sending it (appended to w). */
int32_t mc_frame(mc *c, kw_wr *w, const kw_msgdef *req, int16_t ver, const void *msg);
/* Writes raw bytes, stepping the mock while the socket is full. */
void mc_write(mc *c, const void *p, size_t n);

/* Waits up to timeout_ms for a whole response frame; returns its body (after the size) in a
 * malloc'd buffer (*len bytes), or NULL on timeout or EOF (then c->eof tells which). */
uint8_t *mc_recv_frame(mc *c, int timeout_ms, size_t *len);
/* Receives a response and decodes it (asserting the correlation id and a clean decode) into
 * `out` (resp->size bytes). Slices point into *frame, which the caller frees. */
void mc_recv(mc *c, const kw_msgdef *resp, int16_t ver, int32_t corr, kw_arena *ar, void *out,
             uint8_t **frame);
/* Send + recv. */
void mc_call(mc *c, const kw_msgdef *req, const kw_msgdef *resp, int16_t ver, const void *msg,
             kw_arena *ar, void *out, uint8_t **frame);
/* Whether the mock closes the connection within timeout_ms (no frame may arrive first). */
bool mc_wait_closed(mc *c, int timeout_ms);
/* True if no frame arrives within ms while the mock is stepped. */
bool mc_quiet(mc *c, int ms);

/* A magic-2 batch of n records "k<i>"/"v<i>" (prefix chosen by the caller) appended to w. */
void mc_batch(kw_wr *w, int n, const char *kprefix, const char *vprefix, int64_t ts, int codec);

int64_t mc_now_ms(void);

#endif
