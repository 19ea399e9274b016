/* kwire fuzz internals, shared by tools/cmd_fuzz*.c.
 *
 *   cmd_fuzz.c        options, the case loop, progress and summary, --replay, --dump
 *   cmd_fuzz_exec.c   one case on the wire: send, pipelined liveness probe, verdict
 *   cmd_fuzz_link.c   a blocking connection built on kwire's own TLS engine and SASL
 *                     mechanisms (src/net): connect, TLS, ApiVersions, SASL, frames
 *   cmd_fuzz_req.c    well-formed requests for every API and version, from the codec
 *   cmd_fuzz_file.c   reproducer files and the seed corpus
 *
 * The tool is a command-line program: it may block (poll with deadlines) and print. It never
 * starts a thread. */
#ifndef KW_TOOLS_CMD_FUZZ_INT_H
#define KW_TOOLS_CMD_FUZZ_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwire/conf.h"
#include "kwire/proto.h"
#include "net/sasl.h"
#include "net/tls.h"

#define FZ_CLIENT_ID   "kwire-fuzz"
#define FZ_MAX_KEYS    128
#define FZ_MAX_FRAME   (64 * 1024 * 1024) /* largest response frame accepted */
#define FZ_MAX_REQUEST (8 * 1024 * 1024)  /* largest request (seed or mutated) */
#define FZ_RESP_HEX    128                /* response bytes kept with a violation */

/* ---- connections (cmd_fuzz_link.c) */

/* What every connection to the broker under test is made from. */
typedef struct fz_net {
    char host[256];
    uint16_t port;
    kwi_tls_ctx *tls; /* NULL = plaintext */
    kwi_sasl_conf sasl;
    bool use_sasl;
    char *sasl_user, *sasl_pass; /* copies the sasl conf points to */
} fz_net;

/* The broker's advertised versions (ApiVersions v0 on connect). */
typedef struct fz_versions {
    int16_t min[FZ_MAX_KEYS], max[FZ_MAX_KEYS]; /* -1 = not advertised */
} fz_versions;

typedef struct fz_link {
    int fd; /* -1 when closed */
    kwi_tls *tls;
    uint8_t *in; /* received bytes not yet returned as frames */
    size_t in_len, in_cap;
    size_t consumed; /* the last frame returned, dropped at the next read */
    int32_t next_corr;
} fz_link;

/* Fills n from -b BROKER (host:port) and the security properties of conf (security.protocol,
 * ssl.*, sasl.*). KW_ERR_CONFIG with the reason. */
kw_err fz_net_init(fz_net *n, const char *broker, const kw_conf *conf, kw_error *err);
void fz_net_fini(fz_net *n);

void fz_link_init(fz_link *l);
/* Connects, does TLS, ApiVersions (filling *v when not NULL) and SASL, all before
 * `deadline_ms` (fz_now_ms clock). On failure the link is closed and err says why. */
kw_err fz_link_open(fz_link *l, const fz_net *n, fz_versions *v, int64_t deadline_ms,
                    kw_error *err);
void fz_link_close(fz_link *l);
/* Closes the link and frees its buffer. */
void fz_link_fini(fz_link *l);
static inline bool
fz_link_is_open(const fz_link *l)
{
    return l->fd >= 0;
}
/* Sends all of buf. KW_ERR_IO (the broker closed or reset), KW_ERR_TIMED_OUT. */
kw_err fz_link_write(fz_link *l, const void *buf, size_t len, int64_t deadline_ms, kw_error *err);
/* Receives one response frame (without its size prefix); *frame stays valid until the next
 * read. KW_ERR_TIMED_OUT, KW_ERR_IO (closed), KW_ERR_MALFORMED (a negative or oversized
 * frame size). */
kw_err fz_link_read(fz_link *l, int64_t deadline_ms, const uint8_t **frame, size_t *len,
                    kw_error *err);
/* A whole exchange: encodes the request (header + body), sends it and decodes the response
 * strictly into resp (from the arena). */
kw_err fz_link_call(fz_link *l, const kw_msgdef *req, int16_t ver, const void *m, void *resp,
                    kw_arena *ar, int64_t deadline_ms, kw_error *err);
int64_t fz_now_ms(void);

/* ---- requests (cmd_fuzz_req.c) */

/* Appends a well-formed request frame (int32 size, header, body) for api/ver to w, with
 * correlation id `corr`. KW_ERR_UNKNOWN_API when kwire has no builder for the key. */
kw_err fz_req_frame(int16_t api_key, int16_t ver, int32_t corr, kw_wr *w);
/* Appends the ApiVersions v0 request used as the liveness probe. */
kw_err fz_probe_frame(int32_t corr, kw_wr *w);
/* Parses "Produce,Fetch,3" (names with or without "Request", or keys) into keys[] set to
 * true. False with a message on an unknown name. */
bool fz_parse_apis(const char *s, bool keys[FZ_MAX_KEYS], char *msg, size_t msg_sz);
const char *fz_api_name(int16_t key); /* "Produce"; "api-N" when unknown */

/* ---- findings and files (cmd_fuzz_file.c) */

typedef enum fz_kind {
    FZ_OK = 0,
    FZ_CRASH,     /* the broker stopped answering */
    FZ_HANG,      /* no response within the timeout, yet a new connection works */
    FZ_VIOLATION, /* a response kwire's strict decoder rejects, or out of order */
    FZ_KINDS
} fz_kind;
const char *fz_kind_name(fz_kind k);

/* What a reproducer records next to the exact bytes. */
typedef struct fz_case_info {
    uint64_t seed;      /* the run's --seed */
    uint64_t index;     /* the case number */
    uint64_t case_seed; /* the mutator's seed, derived from (seed, index) */
    int16_t api_key, api_version;
    char mutation[320];
    fz_kind kind;
    char detail[256];
    char sequence[128];                 /* a crash's .seq file (the cases before it), or "" */
    char response[2 * FZ_RESP_HEX + 1]; /* hex of the offending response, or "" */
} fz_case_info;

/* Creates dir and its parents (mkdir -p). */
kw_err fz_out_dir(const char *dir, kw_error *err);
/* Writes DIR/case-<index>-<kind>.bin (the frame exactly as sent) and the .txt sidecar
 * (key=value lines). path receives the .bin path. */
kw_err fz_repro_save(const char *dir, const fz_case_info *ci, const uint8_t *frame, size_t len,
                     char *path, size_t path_sz, kw_error *err);
/* Loads a reproducer (the .bin or the .txt path); *frame is malloc'd. A missing sidecar
 * leaves ci zeroed except api key/version read from the frame. */
kw_err fz_repro_load(const char *path, fz_case_info *ci, uint8_t **frame, size_t *len,
                     kw_error *err);

/* A seed request: one well-formed frame (size prefix included). */
typedef struct fz_seed {
    int16_t api_key, api_version;
    uint8_t *frame;
    size_t len;
} fz_seed;
typedef struct fz_seeds {
    fz_seed *v;
    size_t n, cap;
} fz_seeds;
kw_err fz_seeds_add(fz_seeds *s, const uint8_t *frame, size_t len, kw_error *err);
void fz_seeds_free(fz_seeds *s);
/* Adds every regular file of dir (sorted by name, so runs are reproducible) as a seed: a
 * frame with its int32 size prefix, or a bare header + body (the prefix is added). */
kw_err fz_corpus_load(const char *dir, fz_seeds *s, kw_error *err);

/* ---- one case on the wire (cmd_fuzz_exec.c) */

typedef struct fz_exec {
    const fz_net *net;
    fz_link link;
    int timeout_ms;
    uint64_t reconnects, inconclusive;
} fz_exec;

typedef struct fz_verdict {
    fz_kind kind;
    char detail[256];
    char response[2 * FZ_RESP_HEX + 1]; /* a violation's response frame, hex (truncated) */
} fz_verdict;

/* Sends `frame` (its correlation id is replaced by a fresh one) followed by an ApiVersions
 * probe, and classifies what comes back. Reconnects as needed. */
void fz_exec_case(fz_exec *x, uint8_t *frame, size_t len, fz_verdict *v);
/* Whether the broker answers ApiVersions on a new connection (retried briefly). */
bool fz_exec_alive(fz_exec *x, kw_error *err);

#endif
