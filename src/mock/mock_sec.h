/* Internal to kwire-mock's security files (security.c, sasl_server*.c): the listeners' TLS
 * contexts, the SASL users, a connection's security state, and the server side of the SASL
 * mechanisms. */
#ifndef KWI_MOCK_SEC_H
#define KWI_MOCK_SEC_H

#include "mock_int.h"
#include "net/tls.h"
#include "util/sha2.h"

/* Longest user name or password, as kwire's client allows (KWI_SASL_MAX_CRED). */
#define KWI_MOCK_SASL_MAX_CRED 1024u
/* Longest client SASL message a mechanism accepts: Kafka's clients send well under 1 KB, and
 * the bound keeps the SCRAM state (which holds the messages for the AuthMessage) small. */
#define KWI_MOCK_SASL_MAX_MSG 4096u
/* Kafka refuses SCRAM credentials below 4096 iterations (ScramMechanism.minIterations). */
#define KWI_MOCK_SCRAM_ITERATIONS 4096u
#define KWI_MOCK_SCRAM_SALT_LEN   16u

typedef enum kwi_mock_mech {
    KWI_MOCK_MECH_PLAIN = 1,
    KWI_MOCK_MECH_SCRAM_SHA_256 = 2,
    KWI_MOCK_MECH_SCRAM_SHA_512 = 3,
} kwi_mock_mech;
#define KWI_MOCK_MECH_COUNT 3

/* "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"; "?" for anything else. */
const char *kwi_mock_mech_name(int mech);
/* The mechanism named by s[0..n) (case-insensitive), or 0. */
int kwi_mock_mech_lookup(const char *s, size_t n);

/* A SCRAM credential as Kafka stores it (RFC 5802 section 3): never the password itself. */
typedef struct kwi_mock_scram_cred {
    uint8_t salt[KWI_MOCK_SCRAM_SALT_LEN];
    size_t salt_len;
    uint32_t iterations;
    uint8_t stored_key[KWI_HASH_MAX_LEN];
    uint8_t server_key[KWI_HASH_MAX_LEN];
} kwi_mock_scram_cred;

typedef struct kwi_mock_sasl_user {
    int mech;
    char *name; /* NUL-terminated copy */
    size_t name_len;
    char *password; /* PLAIN only (wiped when freed) */
    size_t password_len;
    kwi_mock_scram_cred scram; /* SCRAM only */
} kwi_mock_sasl_user;

/* m->mod[KWI_MOCK_MOD_SECURITY] */
typedef struct kwi_mock_secstate {
    kwi_tls_ctx **tls; /* per broker (node id - 1); NULL = plaintext listener */
    int32_t n_tls;
    kwi_mock_sasl_user *users;
    int32_t n_users, cap_users;
    int64_t session_lifetime_ms; /* 0 = none */
} kwi_mock_secstate;

kwi_mock_secstate *kwi_mock_secstate_of(kw_mock *m);
void kwi_mock_sasl_users_free(kw_mock *m, kwi_mock_secstate *st);

/* A connection's SASL state (Kafka's SaslServerAuthenticator states, folded). */
enum {
    KWI_SASL_ST_NONE = 0,      /* the cluster requires no SASL */
    KWI_SASL_ST_INITIAL,       /* ApiVersions and SaslHandshake allowed */
    KWI_SASL_ST_HANDSHAKEN,    /* SaslHandshake v1 done: only SaslAuthenticate allowed */
    KWI_SASL_ST_RAW,           /* SaslHandshake v0 done: raw tokens */
    KWI_SASL_ST_AUTHENTICATED, /* every request allowed (until the session expires) */
};

typedef struct kwi_mock_scram kwi_mock_scram;

struct kwi_mock_sec {
    kw_mock *m;
    kwi_mock_broker *b;
    uint64_t conn_id;
    kwi_tls *tls; /* NULL on a plaintext listener */
    bool read_wants_write, write_wants_read;
    bool tls_up, tls_logged;
    int sasl_state;
    int mech;                                   /* chosen by SaslHandshake */
    bool reauth;                                /* a KIP-368 re-authentication is in progress */
    kwi_mock_scram *scram;                      /* the SCRAM exchange in progress */
    char principal[KWI_MOCK_SASL_MAX_CRED + 1]; /* the authenticated user */
    int64_t expires_at;                         /* reactor ms when the session ends; 0 = never */
};

/* sasl_server.c: frees what a connection's SASL exchange holds. */
void kwi_mock_sasl_conn_fini(kwi_mock_sec *s);

/* ---------------------------------------------------------------- sasl_server_scram.c */

/* Derives a credential from a password (PBKDF2-HMAC, `iterations`) with the given salt.
 * KW_ERR_OK or KW_ERR_INVALID_ARG (bad alg, salt longer than KWI_MOCK_SCRAM_SALT_LEN). */
kw_err kwi_mock_scram_cred_make(kwi_hash_alg alg, const char *password, size_t plen,
                                const uint8_t *salt, size_t salt_len, uint32_t iterations,
                                kwi_mock_scram_cred *out);

/* Finds the credential of `user` (after SCRAM name unescaping), or NULL. */
typedef const kwi_mock_scram_cred *(*kwi_mock_scram_lookup)(void *ud, const char *user, size_t len);

/* The result of one server step. */
typedef enum kwi_mock_sasl_rc {
    KWI_MOCK_SASL_CONTINUE = 0, /* send out, expect another client message */
    KWI_MOCK_SASL_DONE = 1,     /* authenticated; send out (the server-final message) */
    KWI_MOCK_SASL_FAIL = 2      /* authentication failed; why says so (never a secret) */
} kwi_mock_sasl_rc;

/* A server exchange. `snonce` fixes the server's nonce part (tests reproduce RFC 7677's
 * example); NULL = 32 random base64 characters. NULL when out of memory. */
kwi_mock_scram *kwi_mock_scram_new(const kw_allocator *a, kwi_hash_alg alg, const char *snonce);
void kwi_mock_scram_free(kwi_mock_scram *s);
/* Feeds the next client message. On CONTINUE and DONE, *out (*out_len bytes) is the server message
 * (valid until the next call or free). `user` receives the authenticated name on DONE. */
kwi_mock_sasl_rc kwi_mock_scram_step(kwi_mock_scram *s, const uint8_t *msg, size_t len,
                                     kwi_mock_scram_lookup lookup, void *ud, const uint8_t **out,
                                     size_t *out_len, const char **user, const char **why);

/* PLAIN (RFC 4616): checks "authzid NUL authcid NUL passwd" against the expected password of
 * the user found by `find` (NULL = unknown user). DONE or FAIL with *why. *user receives the
 * user name (NUL-terminated in `user_buf`). */
typedef const kwi_mock_sasl_user *(*kwi_mock_plain_lookup)(void *ud, const char *user, size_t len);
kwi_mock_sasl_rc kwi_mock_plain_check(const uint8_t *msg, size_t len, kwi_mock_plain_lookup find,
                                      void *ud, char *user_buf, size_t cap, const char **why);

#endif
