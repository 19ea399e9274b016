/* Internal: the TLS engine behind broker connections.
 *
 * The interface names no OpenSSL type, so the rest of src/net compiles the same whether kwire
 * was built with TLS (tls_openssl.c, KW_HAVE_TLS) or without it (tls_none.c, -Dtls=disabled,
 * where every constructor fails with KW_ERR_CONFIG and "kwire was built without TLS").
 *
 * Two objects:
 *   - a context (kwi_tls_ctx), built once from the settings: trust store, client certificate,
 *     verification switches. It loads every file up front, so a bad path or a wrong key
 *     password is reported when the client is created, not at the first connection.
 *   - a session (kwi_tls), one per connection, bound to a connected non-blocking socket the
 *     caller owns. The session does the socket I/O itself (recv/send with MSG_NOSIGNAL, so a
 *     peer that resets the connection never raises SIGPIPE) and never blocks: every call
 *     returns KWI_TLS_AGAIN_READ or KWI_TLS_AGAIN_WRITE to say which readiness to wait for.
 *
 * Driving a session from a reactor:
 *     handshake() until KWI_TLS_OK, waiting for the readiness each AGAIN names;
 *     then read()/write() the same way. Either direction may need the other readiness
 *     (TLS 1.3 post-handshake messages), so always wait for what the call returned.
 *     Before waiting for the fd to become readable, check pending(): bytes already decrypted
 *     inside the TLS layer do not make the socket readable, and a reactor that waits anyway
 *     stalls with a response sitting in memory.
 *
 * Errors: every failure fills the caller's kw_error with one line naming the host and the
 * reason (the certificate verification error with the failing certificate's depth and
 * subject, a host-name mismatch with the names the certificate does carry, the alert the
 * peer sent, "closed the connection", "does not speak TLS", the errno text). Nothing is
 * printed. The thread's OpenSSL error queue is cleared before each call and drained after
 * each failure, so one connection's errors never show up in another's.
 *   - KW_ERR_CONFIG: a setting is wrong (unreadable CA file, key does not match certificate,
 *     wrong key password, TLS not built in). The message names the property
 *     (ssl.ca.location, ssl.key.password, ...).
 *   - KW_ERR_AUTH (not retriable, err->fatal set): authentication failed: the broker's
 *     certificate did not verify (untrusted, expired, wrong host name), or the broker
 *     rejected ours with an alert (certificate required, unknown CA, bad certificate,
 *     handshake failure, ...).
 *   - KW_ERR_IO: the handshake or the session failed otherwise. Failures that reconnecting
 *     cannot fix (other alerts such as protocol_version, a peer that does not speak TLS) have
 *     err->retriable = false; socket errors and EOF stay retriable.
 *   - KW_ERR_INVALID_ARG: bad arguments (negative fd, over-long host).
 *   - KW_ERR_NOMEM: out of memory (our allocator or OpenSSL's).
 * After a session returns KWI_TLS_ERROR or KWI_TLS_CLOSED it is dead: handshake, read and
 * write return the same status again with a message saying so, shutdown returns KWI_TLS_OK
 * without I/O, and pending() returns 0.
 *
 * Threads: a context and its sessions belong to one thread (the reactor's). Different
 * contexts may be used on different threads. No global state of kwire's; OpenSSL 3
 * initialises itself. Memory for kwire's own structures comes from the allocator in the
 * settings; OpenSSL's internal allocations use OpenSSL's allocator. */
#ifndef KWI_NET_TLS_H
#define KWI_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "kwire/alloc.h"
#include "kwire/error.h"

typedef struct kwi_tls_ctx kwi_tls_ctx;
typedef struct kwi_tls kwi_tls;

/* Result of a session call. */
typedef enum kwi_tls_rc {
    KWI_TLS_OK = 0,          /* done (read/write: *n bytes moved, n > 0 when len > 0) */
    KWI_TLS_AGAIN_READ = 1,  /* call again when the socket is readable */
    KWI_TLS_AGAIN_WRITE = 2, /* call again when the socket is writable */
    KWI_TLS_CLOSED = 3,      /* the peer ended an established session (close_notify or EOF) */
    KWI_TLS_ERROR = 4        /* failed; err says why */
} kwi_tls_rc;

/* The settings a context is made from. Strings are read during kwi_tls_ctx_new only and need
 * not outlive it; nothing of them is kept, the key password included. */
typedef struct kwi_tls_conf {
    /* Trust: a PEM bundle (ssl.ca.location as a file) and/or a hashed directory (as a
     * directory, see openssl rehash). Both NULL = the system's default store. */
    const char *ca_file;
    const char *ca_dir;
    /* Mutual TLS: a PEM certificate chain (leaf first) and its PEM private key. key_file NULL
     * = the key is in cert_file. key_password decrypts an encrypted key; without it an
     * encrypted key is a KW_ERR_CONFIG (OpenSSL never prompts on a terminal). */
    const char *cert_file;
    const char *key_file;
    const char *key_password;
    /* Verify the broker's certificate chain against the trust store (default true). */
    bool verify_peer;
    /* Check that the certificate names the host (SAN DNS name, or SAN IP address when the
     * host is an IP literal; ssl.endpoint.identification.algorithm=https). Default true.
     * Has no effect when verify_peer is false. */
    bool verify_hostname;
    /* For kwire's own structures; NULL = kw_allocator_default(). Must outlive the context and
     * every session made from it. */
    const kw_allocator *alloc;
} kwi_tls_conf;

/* Whether this build has a TLS engine (false for -Dtls=disabled). */
bool kwi_tls_available(void);

/* Defaults: system trust store, no client certificate, verify_peer and verify_hostname on. */
void kwi_tls_conf_init(kwi_tls_conf *c);

/* Creates a context: TLS 1.2 or newer, renegotiation refused, the trust store and client
 * certificate loaded and the key checked against the certificate. Returns KW_ERR_OK,
 * KW_ERR_CONFIG (a file cannot be loaded, cert without key, wrong password, TLS not built in),
 * KW_ERR_INVALID_ARG (c NULL) or KW_ERR_NOMEM. *out is NULL on failure. */
kw_err kwi_tls_ctx_new(const kwi_tls_conf *c, kwi_tls_ctx **out, kw_error *err);

/* Releases the caller's reference. Sessions made from the context keep it alive until they
 * are freed, so the order of the frees does not matter. NULL does nothing. */
void kwi_tls_ctx_free(kwi_tls_ctx *ctx);

/* Creates a client session on `fd` (connected or still connecting, non-blocking; it stays
 * the caller's and is not closed by kwi_tls_free). `host` is the broker's host name as
 * configured, without brackets around an IPv6 literal: it is sent as SNI unless it is an IP
 * literal, and is what the certificate must match. host may be NULL only when the context
 * does not verify host names. Returns KW_ERR_OK, KW_ERR_INVALID_ARG (fd < 0, host longer than
 * 253 bytes), KW_ERR_CONFIG (host NULL or empty while host names are verified; TLS not built
 * in) or KW_ERR_NOMEM. *out is NULL on failure. No I/O happens until kwi_tls_handshake. */
kw_err kwi_tls_new(kwi_tls_ctx *ctx, int fd, const char *host, kwi_tls **out, kw_error *err);

/* Frees the session without any I/O (call kwi_tls_shutdown first for a polite close). The fd
 * stays open. NULL does nothing. */
void kwi_tls_free(kwi_tls *t);

/* Advances the client handshake. KWI_TLS_OK once the session is established (and on every
 * later call); AGAIN_READ/AGAIN_WRITE; KWI_TLS_ERROR with the reason in err. With TLS 1.3 the
 * server checks a client certificate after the client considers the handshake done, so a
 * rejected or missing client certificate shows up as an error from the first read. */
kwi_tls_rc kwi_tls_handshake(kwi_tls *t, kw_error *err);

/* Reads up to len decrypted bytes into buf; *n is how many (0 unless KWI_TLS_OK). Finishes
 * the handshake first if it has not been. KWI_TLS_CLOSED when the peer ended the session. */
kwi_tls_rc kwi_tls_read(kwi_tls *t, void *buf, size_t len, size_t *n, kw_error *err);

/* Encrypts and sends up to len bytes; *n is how many were taken (0 unless KWI_TLS_OK, and
 * possibly less than len: one TLS record at a time). After AGAIN_READ/AGAIN_WRITE nothing was
 * taken, and the next write must offer the same bytes again, at least as many (the buffer
 * may have moved). */
kwi_tls_rc kwi_tls_write(kwi_tls *t, const void *buf, size_t len, size_t *n, kw_error *err);

/* Sends close_notify without waiting for the peer's (Kafka closes the socket next).
 * KWI_TLS_OK when sent, or when there is nothing to do (handshake never finished, session
 * already failed or closed); AGAIN_WRITE when the socket is full; KWI_TLS_ERROR when the
 * send fails. */
kwi_tls_rc kwi_tls_shutdown(kwi_tls *t, kw_error *err);

/* Decrypted bytes held inside the TLS layer that kwi_tls_read returns without touching the
 * socket. While this is nonzero, read instead of waiting for the fd to become readable. */
size_t kwi_tls_pending(const kwi_tls *t);

/* The negotiated protocol ("TLSv1.3") and cipher suite, for log lines; "none" before the
 * handshake completes. Never NULL; valid while the session lives. */
const char *kwi_tls_protocol(const kwi_tls *t);
const char *kwi_tls_cipher(const kwi_tls *t);

/* ---- server side ---------------------------------------------------------------------------
 *
 * kwire-mock's TLS listeners. A server context holds the listener's certificate and key and,
 * for mutual TLS, the CAs it trusts for client certificates; a server session is made per
 * accepted socket with kwi_tls_accept and then driven with the same calls as a client session
 * (handshake, read, write, shutdown, pending), under the same rules: non-blocking, AGAIN_READ /
 * AGAIN_WRITE name the readiness to wait for, the fd stays the caller's. Error messages name
 * the peer as "client <peer>" instead of a broker host. */

/* Client certificates a server asks for (Kafka's ssl.client.auth). */
typedef enum kwi_tls_client_auth {
    KWI_TLS_CLIENT_AUTH_NONE = 0,      /* no certificate requested */
    KWI_TLS_CLIENT_AUTH_REQUESTED = 1, /* asked for; a client without one is accepted, a
                                        * client with one that does not verify is not */
    KWI_TLS_CLIENT_AUTH_REQUIRED = 2   /* a verified client certificate is mandatory */
} kwi_tls_client_auth;

typedef struct kwi_tls_server_conf {
    /* The listener's PEM certificate chain (leaf first) and PEM private key; key_file NULL =
     * the key is in cert_file. key_password decrypts an encrypted key. Required. */
    const char *cert_file;
    const char *key_file;
    const char *key_password;
    /* PEM bundle of the CAs that issue client certificates; required unless client_auth is
     * NONE. Its subjects are also sent to clients as the acceptable issuers. */
    const char *client_ca_file;
    kwi_tls_client_auth client_auth;
    const kw_allocator *alloc; /* as in kwi_tls_conf */
} kwi_tls_server_conf;

/* Zeroes the settings: no client authentication, default allocator. */
void kwi_tls_server_conf_init(kwi_tls_server_conf *c);

/* Creates a server context: TLS 1.2 or newer, no renegotiation, no session resumption (a test
 * broker gains nothing from it and every handshake is then a full one), certificate and key
 * loaded and checked against each other, client CAs loaded. Returns KW_ERR_OK, KW_ERR_CONFIG
 * (a file cannot be loaded, key does not match, client_auth without client_ca_file, TLS not
 * built in), KW_ERR_INVALID_ARG (c NULL) or KW_ERR_NOMEM. *out is NULL on failure. */
kw_err kwi_tls_server_ctx_new(const kwi_tls_server_conf *c, kwi_tls_ctx **out, kw_error *err);

/* Creates a server session on an accepted non-blocking `fd` from a server context. `peer`
 * names the client in messages ("127.0.0.1:50312"; NULL = "client"); it is copied. Returns
 * KW_ERR_OK, KW_ERR_INVALID_ARG (fd < 0, a client context, peer longer than 253 bytes) or
 * KW_ERR_NOMEM. No I/O happens until the first handshake or read call. */
kw_err kwi_tls_accept(kwi_tls_ctx *ctx, int fd, const char *peer, kwi_tls **out, kw_error *err);

/* The subject of the client's verified certificate ("/CN=kwire-client"), or NULL when the
 * client sent none or the handshake has not completed. Valid while the session lives. */
const char *kwi_tls_peer_subject(kwi_tls *t);

#endif
