/* Internal: SASL client mechanisms (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, GSSAPI) as state
 * machines.
 *
 * A session does no I/O, reads no clock and never logs: it turns server messages into client
 * messages. The connection layer carries them, in SaslAuthenticate requests (KIP-152) or as raw
 * length-prefixed tokens after SaslHandshake v0, and feeds each server answer back:
 *
 *     kwi_sasl_new(&conf, &s, err);
 *     kwi_sasl_start(s, &out, err);           send out.ptr[0..out.len)
 *     loop: receive the server's bytes;
 *           kwi_sasl_step(s, in, n, &out, err);
 *           if out.done: authenticated; else send out.ptr[0..out.len)
 *     kwi_sasl_free(s);
 *
 * PLAIN (RFC 4616) sends one message; the server's answer carries no data, so the one step
 * takes an empty message and completes. (With the legacy raw framing the broker sends nothing
 * back on success; the connection layer then calls step with an empty message itself.)
 * SCRAM (RFC 5802, RFC 7677) sends client-first, steps the server-first message into
 * client-final, and steps the server-final message into "done" only after the server's
 * signature has been verified: a server that does not know the password cannot complete it.
 * GSSAPI (RFC 4752, Kerberos through cyrus-sasl; only in builds with -Dsasl_gssapi, see
 * sasl_gssapi.c) exchanges Kerberos tokens and ends with a security-layer message; it is the one
 * mechanism that does I/O of its own: Kerberos talks to the KDC inside kwi_sasl_start.
 *
 * Any failure moves the session to a failed state in which every further call returns
 * KW_ERR_STATE; authentication is then over (a retry is a new session on a new connection).
 * Errors fill the caller's kw_error with a message that never contains the password, a key,
 * a proof or a signature, and set its `fatal` flag: a rejected login does not improve by
 * retrying at once, so the connection layer must back off (issue 3: do not hammer the broker).
 *
 * Memory comes from the configured kw_allocator. The password copy, derived keys and the
 * client-final message (which holds the proof) are wiped before they are freed. A session is
 * used by one thread at a time. */
#ifndef KWI_NET_SASL_H
#define KWI_NET_SASL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "kw_config.h"
#include "kwire/alloc.h"
#include "kwire/error.h"

/* The error code of an authentication failure: the server said no (SCRAM e=), the server's
 * signature is wrong, the server's nonce does not extend ours, or its iteration count is
 * outside the accepted range. Malformed server messages are KW_ERR_MALFORMED. */
#define KWI_SASL_ERR_AUTH KW_ERR_AUTH

/* Longest accepted username or password, in bytes (also bounds every client message). */
#define KWI_SASL_MAX_CRED 1024u
/* Longest accepted server message. SCRAM's server-first is a nonce, a salt and a count
 * (cyrus-sasl and Kafka send well under 200 bytes); anything longer is refused before parsing. */
#define KWI_SASL_MAX_SERVER_MSG 4096u

/* SCRAM iteration counts. Below the minimum a captured exchange is cheap to brute-force:
 * RFC 7677 asks for at least 4096 and Kafka refuses to store fewer (its ScramMechanism
 * minimum is 4096). The maximum exists because the count comes from the server and the client
 * spends 2 * count compressions on it inside kwi_sasl_step, on the caller's event loop: without
 * a bound, a hostile or broken server could stall the client for hours with i=4294967295 (a
 * CPU denial of service). Kafka refuses to store credentials with more than 16384 iterations
 * (ScramControlManager.MAX_ITERATIONS; about 30 ms of work here); the default ceiling of
 * 1,000,000 leaves room for other SCRAM servers while bounding the stall to roughly 1.5 s
 * (SHA-256) or 2 s (SHA-512) with kwire's portable SHA-2 on a current x86-64 core.
 * kwi_sasl_conf.scram_max_iterations can lower it. */
#define KWI_SCRAM_MIN_ITERATIONS         4096u
#define KWI_SCRAM_MAX_ITERATIONS_DEFAULT 1000000u

/* Client nonce length in characters (each carries 6 random bits): default and accepted range. */
#define KWI_SCRAM_NONCE_LEN     32u
#define KWI_SCRAM_NONCE_LEN_MIN 16u
#define KWI_SCRAM_NONCE_LEN_MAX 128u

typedef enum kwi_sasl_mech {
    KWI_SASL_PLAIN = 1,
    KWI_SASL_SCRAM_SHA_256 = 2,
    KWI_SASL_SCRAM_SHA_512 = 3,
    KWI_SASL_GSSAPI = 4, /* needs a build with -Dsasl_gssapi (KW_HAVE_SASL_GSSAPI) */
} kwi_sasl_mech;

/* Fills buf[0..n) with unpredictable bytes; KW_ERR_OK or an error (the session then fails with
 * it). Tests pass a fixed source to reproduce published exchanges. */
typedef kw_err (*kwi_sasl_random_fn)(void *ud, void *buf, size_t n);

/* The default source: getrandom(2) from the kernel CSPRNG, retried on EINTR and short reads;
 * KW_ERR_IO if the kernel refuses. `ud` is ignored. */
kw_err kwi_sasl_random_default(void *ud, void *buf, size_t n);

typedef struct kwi_sasl_conf {
    const kw_allocator *alloc; /* NULL = kw_allocator_default() */
    kwi_sasl_mech mech;
    const char *username;      /* NUL-terminated, 1..KWI_SASL_MAX_CRED bytes; copied */
    const char *password;      /* NUL-terminated, 1..KWI_SASL_MAX_CRED bytes; copied, wiped */
    kwi_sasl_random_fn random; /* SCRAM nonce source; NULL = kwi_sasl_random_default */
    void *random_ud;
    size_t scram_nonce_len;        /* 0 = KWI_SCRAM_NONCE_LEN; else within the _MIN.._MAX range */
    uint32_t scram_max_iterations; /* 0 = KWI_SCRAM_MAX_ITERATIONS_DEFAULT; may only lower it */
    /* GSSAPI: the Kerberos service is <service>/<host>@REALM. The service is
     * sasl.kerberos.service.name (NULL or "" = "kafka"); the host is the broker's host name as
     * the connection dialled it, set per connection by the connection layer. Both copied. */
    const char *kerberos_service_name;
    const char *host;
} kwi_sasl_conf;

/* Zeroes the configuration: default allocator, default random source, default limits. */
static inline void
kwi_sasl_conf_init(kwi_sasl_conf *c)
{
    memset(c, 0, sizeof(*c));
}

/* What a call produced. `ptr` points into the session and stays valid until the next call on
 * it or kwi_sasl_free; it is NULL when there is nothing to send. `done` is true once the
 * exchange has completed successfully (then nothing is sent). */
typedef struct kwi_sasl_out {
    const uint8_t *ptr;
    size_t len;
    bool done;
    /* This is the mechanism's final client message: a server that accepts it sends no more
     * mechanism data. Kafka's SaslAuthenticate answers it with empty auth_bytes; with the legacy
     * raw framing (SaslHandshake v0) the broker sends nothing, so the connection layer calls
     * step with an empty message itself once the message is written. Set by GSSAPI. */
    bool last;
} kwi_sasl_out;

typedef enum kwi_sasl_state {
    KWI_SASL_NEW,     /* created; start not called yet */
    KWI_SASL_RUNNING, /* waiting for the next server message */
    KWI_SASL_DONE,    /* authenticated */
    KWI_SASL_FAILED,  /* a call failed; the session is unusable */
} kwi_sasl_state;

typedef struct kwi_sasl kwi_sasl;

/* A mechanism: the functions behind the kwi_sasl_* calls. `start` and `step` are only called
 * in the states the wrappers below check, may assume `out` was cleared, and fill `err` (with
 * kw_error_set) when they fail; the wrappers then move the session to KWI_SASL_FAILED. */
typedef struct kwi_sasl_ops {
    const char *name; /* as in SaslHandshake: "PLAIN", "SCRAM-SHA-256", ... */
    kw_err (*start)(kwi_sasl *s, kwi_sasl_out *out, kw_error *err);
    kw_err (*step)(kwi_sasl *s, const uint8_t *in, size_t n, kwi_sasl_out *out, kw_error *err);
    void (*destroy)(kwi_sasl *s); /* wipes and frees everything, including s */
} kwi_sasl_ops;

/* The part every mechanism's session begins with. */
struct kwi_sasl {
    const kwi_sasl_ops *ops;
    const kw_allocator *a;
    kwi_sasl_state state;
};

/* Mechanism constructors; kwi_sasl_new picks one (call that: it also marks errors fatal).
 * Each returns KW_ERR_OK, KW_ERR_INVALID_ARG
 * (missing, empty or over-long credentials, a bad nonce length or iteration limit) or
 * KW_ERR_NOMEM, and sets *out to NULL on failure. */
kw_err kwi_sasl_plain_new(const kwi_sasl_conf *c, kwi_sasl **out, kw_error *err);
kw_err kwi_sasl_scram_new(const kwi_sasl_conf *c, kwi_sasl **out, kw_error *err);
#if KW_HAVE_SASL_GSSAPI
/* Also KW_ERR_CONFIG (cyrus-sasl failed to initialise). */
kw_err kwi_sasl_gssapi_new(const kwi_sasl_conf *c, kwi_sasl **out, kw_error *err);
#endif

/* Marks the error detail fatal and not retriable (authentication never retries in place). */
static inline kw_err
kwi_sasl_fail(kw_error *err, kw_err code)
{
    if (err) {
        err->fatal = true;
        err->retriable = code == KW_ERR_NOMEM;
    }
    return code;
}

/* Checks a credential string (1..KWI_SASL_MAX_CRED bytes) and returns its length through
 * *len; `what` names it in the error ("username"), the value itself is never printed. */
static inline kw_err
kwi_sasl_check_cred(const char *mech, const char *what, const char *v, size_t *len, kw_error *err)
{
    size_t n = v ? strnlen(v, KWI_SASL_MAX_CRED + 1) : 0;
    if (n == 0)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "%s: %s is empty", mech, what);
    if (n > KWI_SASL_MAX_CRED)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "%s: %s is longer than %u bytes", mech, what,
                            KWI_SASL_MAX_CRED);
    *len = n;
    return KW_ERR_OK;
}

/* The mechanism named as Kafka names it (sasl.mechanism): "PLAIN", "SCRAM-SHA-256",
 * "SCRAM-SHA-512", "GSSAPI", exact case. Returns KW_ERR_OK or KW_ERR_NOT_FOUND. GSSAPI parses in
 * every build; a build without it reports that from kwi_sasl_new. */
static inline kw_err
kwi_sasl_mech_parse(const char *name, kwi_sasl_mech *out)
{
    static const struct {
        const char *name;
        kwi_sasl_mech mech;
    } tab[] = {
        {"PLAIN", KWI_SASL_PLAIN},
        {"SCRAM-SHA-256", KWI_SASL_SCRAM_SHA_256},
        {"SCRAM-SHA-512", KWI_SASL_SCRAM_SHA_512},
        {"GSSAPI", KWI_SASL_GSSAPI},
    };
    for (size_t i = 0; name && i < sizeof(tab) / sizeof(tab[0]); i++) {
        if (strcmp(name, tab[i].name) == 0) {
            *out = tab[i].mech;
            return KW_ERR_OK;
        }
    }
    return KW_ERR_NOT_FOUND;
}

/* Creates a session for c->mech. Nothing is sent until kwi_sasl_start. GSSAPI in a build
 * without it is KW_ERR_CONFIG. */
static inline kw_err
kwi_sasl_new(const kwi_sasl_conf *c, kwi_sasl **out, kw_error *err)
{
    kw_err e;
    switch (c->mech) {
    case KWI_SASL_PLAIN:
        e = kwi_sasl_plain_new(c, out, err);
        break;
    case KWI_SASL_SCRAM_SHA_256:
    case KWI_SASL_SCRAM_SHA_512:
        e = kwi_sasl_scram_new(c, out, err);
        break;
    case KWI_SASL_GSSAPI:
#if KW_HAVE_SASL_GSSAPI
        e = kwi_sasl_gssapi_new(c, out, err);
#else
        *out = NULL;
        e = kw_error_set(err, KW_ERR_CONFIG,
                         "kwire was built without GSSAPI (-Dsasl_gssapi=disabled)");
#endif
        break;
    default:
        *out = NULL;
        e = kw_error_set(err, KW_ERR_INVALID_ARG, "unknown SASL mechanism %d", (int)c->mech);
        break;
    }
    return e == KW_ERR_OK ? e : kwi_sasl_fail(err, e);
}

/* The mechanism name for SaslHandshake. */
static inline const char *
kwi_sasl_name(const kwi_sasl *s)
{
    return s->ops->name;
}

static inline kwi_sasl_state
kwi_sasl_get_state(const kwi_sasl *s)
{
    return s->state;
}

/* Produces the first client message. Returns KW_ERR_OK, KW_ERR_STATE (not a new session),
 * KW_ERR_NOMEM or the random source's error; GSSAPI also KWI_SASL_ERR_AUTH (no Kerberos
 * credentials, unknown service principal, KDC unreachable) and KW_ERR_CONFIG (cyrus-sasl has
 * no GSSAPI plugin). */
static inline kw_err
kwi_sasl_start(kwi_sasl *s, kwi_sasl_out *out, kw_error *err)
{
    memset(out, 0, sizeof(*out));
    if (s->state != KWI_SASL_NEW)
        return kwi_sasl_fail(
            err, kw_error_set(err, KW_ERR_STATE, "%s: start called twice", s->ops->name));
    kw_err e = s->ops->start(s, out, err);
    if (e != KW_ERR_OK) {
        memset(out, 0, sizeof(*out));
        s->state = KWI_SASL_FAILED;
        return kwi_sasl_fail(err, e);
    }
    s->state = KWI_SASL_RUNNING;
    return e;
}

/* Consumes one server message in[0..n) (n may be 0; in may be NULL when n is 0) and produces
 * the next client message or out->done. Returns KW_ERR_OK; KW_ERR_MALFORMED for a message
 * that breaks the mechanism's grammar or is longer than KWI_SASL_MAX_SERVER_MSG;
 * KWI_SASL_ERR_AUTH when authentication failed; KW_ERR_NOMEM; KW_ERR_STATE when the session
 * is not waiting for a message (not started, already done, or failed). */
static inline kw_err
kwi_sasl_step(kwi_sasl *s, const uint8_t *in, size_t n, kwi_sasl_out *out, kw_error *err)
{
    memset(out, 0, sizeof(*out));
    if (s->state != KWI_SASL_RUNNING)
        return kwi_sasl_fail(err, kw_error_set(err, KW_ERR_STATE,
                                               "%s: no server message expected in this state",
                                               s->ops->name));
    if (n > KWI_SASL_MAX_SERVER_MSG) {
        s->state = KWI_SASL_FAILED;
        return kwi_sasl_fail(err, kw_error_set(err, KW_ERR_MALFORMED,
                                               "%s: server message of %zu bytes exceeds %u",
                                               s->ops->name, n, KWI_SASL_MAX_SERVER_MSG));
    }
    kw_err e = s->ops->step(s, in, n, out, err);
    if (e != KW_ERR_OK) {
        memset(out, 0, sizeof(*out));
        s->state = KWI_SASL_FAILED;
        return kwi_sasl_fail(err, e);
    }
    if (out->done)
        s->state = KWI_SASL_DONE;
    return e;
}

/* Wipes and frees the session. NULL does nothing. */
static inline void
kwi_sasl_free(kwi_sasl *s)
{
    if (s)
        s->ops->destroy(s);
}

#endif
