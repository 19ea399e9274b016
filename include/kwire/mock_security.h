/* kwire-mock: TLS listeners and SASL authentication (included by kwire/mock.h).
 *
 * A mock broker can listen with TLS (per broker, optionally requiring a client certificate) and
 * can require SASL authentication (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, for the users
 * configured here). Together they make a SASL_SSL listener; SASL alone is SASL_PLAINTEXT.
 *
 * SASL follows Kafka's broker (SaslServerAuthenticator): before a connection authenticates it
 * may send ApiVersions and SaslHandshake, and after SaslHandshake v1 only SaslAuthenticate;
 * anything else closes the connection. SaslHandshake v0 means the SASL tokens follow as raw
 * size-prefixed frames without Kafka headers (the pre-KIP-152 framing), which is served too. A
 * mechanism that is not enabled gets UNSUPPORTED_SASL_MECHANISM with the enabled list, then the
 * connection closes. A failed login gets SASL_AUTHENTICATION_FAILED with Kafka's message
 * ("Authentication failed during authentication due to invalid credentials with SASL mechanism
 * SCRAM-SHA-256"; PLAIN: "Authentication failed: Invalid username or password"), then the
 * connection closes; with the raw framing the connection just closes. SaslHandshake and
 * SaslAuthenticate are always advertised, as Kafka does; on a connection that does not use SASL
 * (or after it authenticated, unless re-authentication is enabled through a session lifetime)
 * they get ILLEGAL_SASL_STATE.
 *
 * SCRAM follows RFC 5802 and RFC 7677: credentials are salted and hashed when a user is added
 * (4096 PBKDF2 iterations, Kafka's minimum, a random 16-byte salt), so a login costs only the
 * HMACs; the client's proof is checked in constant time and the server's signature is returned
 * in the final message. Channel binding ("p=") is refused, an authorization id must equal the
 * user name, and SCRAM extensions are accepted and ignored except tokenauth=true (delegation
 * tokens do not exist here), which fails the login.
 *
 * Settings apply to connections accepted after the call; existing connections keep what they
 * started with. Every function here takes the cluster's lock, so it may be called while the
 * cluster's thread runs. Passwords are copied, wiped when freed, and never logged. */
#ifndef KWIRE_MOCK_SECURITY_H
#define KWIRE_MOCK_SECURITY_H

#include "mock.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Client certificates a TLS listener asks for (Kafka's ssl.client.auth). */
typedef enum kw_mock_tls_client_auth {
    KW_MOCK_TLS_CLIENT_AUTH_NONE = 0,      /**< no client certificate requested */
    KW_MOCK_TLS_CLIENT_AUTH_REQUESTED = 1, /**< asked for; accepted without one */
    KW_MOCK_TLS_CLIENT_AUTH_REQUIRED = 2 /**< a certificate issued by client_ca_file is required */
} kw_mock_tls_client_auth;

/** A TLS listener's settings (files in PEM). Strings are read during kw_mock_tls_set only. */
typedef struct kw_mock_tls_conf {
    const char *cert_file;      /**< certificate chain, leaf first (required) */
    const char *key_file;       /**< private key; NULL = in cert_file */
    const char *key_password;   /**< for an encrypted key; NULL = not encrypted */
    const char *client_ca_file; /**< CAs that issue client certificates; required unless NONE */
    kw_mock_tls_client_auth client_auth;
} kw_mock_tls_conf;

/** @brief Zero the settings (no client authentication). */
KW_API void kw_mock_tls_conf_init(kw_mock_tls_conf *c);

/**
 * @brief Make broker `node_id` (0 = every broker) listen with TLS, or without it again (conf
 *        NULL). Files are loaded now, so a bad path or a key that does not match is reported here.
 * @return KW_ERR_OK; KW_ERR_NOT_FOUND (no such broker); KW_ERR_CONFIG (a file cannot be loaded,
 *         the key does not match, client authentication without a CA file, a build without
 *         TLS; err says which); KW_ERR_NOMEM.
 */
KW_API kw_err kw_mock_tls_set(kw_mock *m, int32_t node_id, const kw_mock_tls_conf *conf,
                              kw_error *err);

/**
 * @brief Add a SASL user (or replace its password) for one mechanism: "PLAIN",
 *        "SCRAM-SHA-256" or "SCRAM-SHA-512" (case-insensitive). The first user makes every
 *        listener require SASL; the enabled mechanisms are those that have users.
 * @param username, password 1..1024 bytes each; for SCRAM a user name may hold ',' and '='
 *        (the client escapes them as "=2C" and "=3D").
 * @return KW_ERR_OK; KW_ERR_INVALID_ARG (unknown mechanism, empty or over-long name or
 *         password, a NUL inside PLAIN credentials is impossible with C strings); KW_ERR_NOMEM.
 */
KW_API kw_err kw_mock_sasl_user_add(kw_mock *m, const char *mechanism, const char *username,
                                    const char *password, kw_error *err);

/**
 * @brief The session lifetime SaslAuthenticate v1+ returns (Kafka's connections.max.reauth.ms);
 *        0 (default) = none. With a lifetime, a connection whose session has expired is closed
 *        at its next request other than SaslHandshake/SaslAuthenticate, and a client may
 *        re-authenticate (KIP-368: SaslHandshake v1 then SaslAuthenticate on the same
 *        connection, same mechanism and user).
 * @return KW_ERR_OK; KW_ERR_INVALID_ARG for a negative value.
 */
KW_API kw_err kw_mock_sasl_session_lifetime_set(kw_mock *m, int64_t ms);

#ifdef __cplusplus
}
#endif
#endif
