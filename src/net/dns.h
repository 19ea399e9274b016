/* Internal: a host-name resolver that never blocks the loop and never starts a thread.
 *
 * glibc's getaddrinfo() blocks for up to (timeout x attempts x servers) seconds, and
 * getaddrinfo_a() runs it on threads the user did not ask for, so kwire speaks DNS itself:
 * a stub resolver over UDP (RFC 1035) that sends A and AAAA queries to the servers of
 * /etc/resolv.conf and hands its sockets and deadlines to the caller's event loop.
 *
 * Two halves:
 *
 * 1. The pure half does no I/O, reads no clock and allocates nothing: host-name checks,
 *    numeric literals and "host:port" splitting, query encoding, response decoding (with
 *    bounds checks on every length and count, compression pointers that must point strictly
 *    backwards, and CNAME chains followed within the answer section), and parsers for the
 *    text of resolv.conf and hosts. A fuzzer can link it on its own.
 *
 * 2. The I/O half: a resolver object (kwi_dns: configuration, port, random source and a TTL
 *    cache) and lookups (kwi_dns_lookup). A lookup owns one non-blocking UDP socket on which
 *    its A and AAAA queries run in parallel; the caller polls kwi_dns_lookup_fd() for reading,
 *    calls kwi_dns_lookup_on_readable() when it is readable and kwi_dns_lookup_on_timeout()
 *    once kwi_dns_lookup_deadline() has passed. Nothing happens between those calls and no
 *    callback fires: each call returns KW_ERR_AGAIN while the lookup is pending, and the final
 *    status once it is finished. Time is always passed in (now_ms, any monotonic millisecond
 *    scale), so tests run on virtual time. kwi_dns_resolve() wraps a lookup for the epoll
 *    reactor (net/reactor.h) and reports through a callback fired inside kwi_reactor_step().
 *
 * Resolution order for a host: a numeric literal resolves at once; then the hosts file (read
 * at every lookup, streamed through a fixed buffer: a local file, as glibc does); then the
 * cache; then DNS. "localhost" (and any *.localhost) that the hosts file does not list
 * resolves to 127.0.0.1 and ::1 (RFC 6761 section 6.3) without a query.
 *
 * Deliberate limits, each a clear error rather than a silent surprise:
 * - No TCP fallback: a response with the TC bit set fails that query with KW_ERR_TOO_LARGE
 *   ("truncated ... no TCP fallback"). A and AAAA answers for a broker fit in 512 bytes in
 *   practice; a name with dozens of addresses does not, and then it is reported, not guessed.
 * - No search list: `search` and `domain` lines are ignored, so a name is always queried
 *   exactly as given. A short Kubernetes or Docker name that relies on the search list must
 *   be written out in full (ndots is parsed but has nothing to act on).
 * - No EDNS(0), no DNSSEC validation, no IPv6 scope ids (fe80::1%eth0 is not a valid host).
 * - Host names are LDH plus '_' (Docker service names), labels of 1..63 bytes, at most 253
 *   characters, one optional trailing dot; no escapes, no IDNA.
 * - Negative answers are not cached: a broker that is just starting should be found as soon
 *   as its record exists.
 *
 * Everything is single-threaded: a resolver and its lookups belong to one thread. */
#ifndef KWI_NET_DNS_H
#define KWI_NET_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "kwire/alloc.h"
#include "kwire/error.h"

#define KWI_DNS_PORT        53
#define KWI_DNS_TYPE_A      1
#define KWI_DNS_TYPE_CNAME  5
#define KWI_DNS_TYPE_AAAA   28
#define KWI_DNS_CLASS_IN    1
#define KWI_DNS_MAX_NAME    253 /* text form, without the trailing dot */
#define KWI_DNS_QUERY_MAX   (12 + 255 + 4)
#define KWI_DNS_MAX_ADDRS   16 /* per family in an answer, and in a merged result */
#define KWI_DNS_MAX_NS      3  /* resolv.conf servers used, as glibc's MAXNS */
#define KWI_DNS_MAX_CNAMES  8  /* CNAME hops followed inside one answer */
#define KWI_DNS_MAX_PTRHOPS 32 /* compression pointers followed in one name */

/* RCODE values (RFC 1035 section 4.1.1). */
#define KWI_DNS_RCODE_NOERROR  0
#define KWI_DNS_RCODE_FORMERR  1
#define KWI_DNS_RCODE_SERVFAIL 2
#define KWI_DNS_RCODE_NXDOMAIN 3
#define KWI_DNS_RCODE_NOTIMP   4
#define KWI_DNS_RCODE_REFUSED  5

/* One address: family AF_INET (4 bytes used) or AF_INET6 (16), network byte order. */
typedef struct kwi_dns_addr {
    int family;
    uint8_t bytes[16];
} kwi_dns_addr;

/* ---- pure: names, literals, host:port ------------------------------------------------------ */

/* Checks a host name and writes its canonical form (lower case, no trailing dot) to out,
 * NUL-terminated; out must hold KWI_DNS_MAX_NAME + 1 bytes. Returns KW_ERR_OK or
 * KW_ERR_INVALID_ARG (empty, an empty label, a label over 63 bytes, over 253 characters, or
 * a byte outside [A-Za-z0-9_-]). */
kw_err kwi_dns_name_check(const char *host, size_t len, char *out);

/* Parses a numeric address: dotted-quad IPv4, IPv6, or IPv6 in brackets ("[::1]"). The whole
 * of host[0..len) must be the literal. Returns true and fills *out (which may be NULL). */
bool kwi_dns_literal(const char *host, size_t len, kwi_dns_addr *out);

/* Splits a bootstrap entry: "host:port", "1.2.3.4:port", "[v6]:port", "[v6]", "host", or a
 * bare IPv6 literal (taken whole, no port: a port after IPv6 needs the brackets). Writes the
 * host without brackets to host (NUL-terminated, cap bytes) and the port, or 0 when there is
 * none, to *port. Returns KW_ERR_OK or KW_ERR_INVALID_ARG (empty host, unbalanced bracket,
 * port not in 1..65535, host longer than cap - 1). */
kw_err kwi_dns_split_hostport(const char *s, size_t len, char *host, size_t cap, uint16_t *port);

/* Formats an address as text (inet_ntop; IPv6 without brackets). Returns buf. */
const char *kwi_dns_addr_str(const kwi_dns_addr *a, char *buf, size_t cap);

/* Fills a sockaddr_in/sockaddr_in6 for a and port (host byte order) and returns its length,
 * or 0 for an unknown family. */
socklen_t kwi_dns_addr_sockaddr(const kwi_dns_addr *a, uint16_t port, struct sockaddr_storage *ss);

/* ---- pure: messages -------------------------------------------------------------------------- */

/* Encodes a standard query: the given id, RD set, one question (name, qtype, class IN), no
 * other records. name is checked with kwi_dns_name_check. Writes at most KWI_DNS_QUERY_MAX
 * bytes. Returns KW_ERR_OK, KW_ERR_INVALID_ARG (bad name) or KW_ERR_NOSPACE (cap too small). */
kw_err kwi_dns_query_encode(uint8_t *buf, size_t cap, size_t *len, uint16_t id, const char *name,
                            uint16_t qtype);

/* What a matching response says. */
typedef struct kwi_dns_answer {
    uint8_t rcode;   /* KWI_DNS_RCODE_*; addresses are read only for NOERROR */
    bool truncated;  /* TC: the server could not fit the answer; nothing else is read */
    size_t naddrs;   /* addresses of qtype for the name (after CNAMEs) kept, in message order */
    size_t nskipped; /* further addresses beyond KWI_DNS_MAX_ADDRS, not kept */
    kwi_dns_addr addrs[KWI_DNS_MAX_ADDRS];
    uint32_t ttl;    /* smallest TTL of the CNAMEs followed and the addresses kept, seconds */
    unsigned cnames; /* CNAME hops followed */
} kwi_dns_answer;

/* Decodes a response to the query (id, name, qtype) and fills *out.
 *
 * Returns:
 *   KW_ERR_OK        a response to this query: read out->rcode, out->truncated and the addresses
 *                    (none with NOERROR means the name has no record of that type: NODATA)
 *   KW_ERR_AGAIN     not a response to this query (another id, not a response, another
 *                    opcode, another question): ignore it and keep waiting
 *   KW_ERR_TRUNCATED the message ends inside a structure it announces
 *   KW_ERR_MALFORMED anything else broken: a compression pointer that does not point strictly
 *                    backwards or one hop too many, a reserved label type, a name over 255
 *                    bytes, more than one question, a count larger than the bytes left could
 *                    hold, an A/AAAA record of the wrong size, a CNAME chain over
 *                    KWI_DNS_MAX_CNAMES hops
 * An error reply without a question section (some servers answer REFUSED or FORMERR that way)
 * is accepted when the id matches, but NXDOMAIN and NOERROR must repeat the question. Only the
 * header, the question and the answer section are read; authority and additional records,
 * and anything after them, are ignored. name is a canonical name (kwi_dns_name_check). Pure:
 * reads [msg, msg + len) and nothing past it. */
kw_err kwi_dns_response_decode(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                               uint16_t qtype, kwi_dns_answer *out);

/* ---- pure: resolv.conf and hosts ------------------------------------------------------------ */

/* What kwire takes from resolv.conf. */
typedef struct kwi_dns_conf {
    kwi_dns_addr ns[KWI_DNS_MAX_NS]; /* `nameserver` lines in order; more than 3 are ignored */
    size_t nns;
    bool ns_default;     /* no usable nameserver line: ns[0] is 127.0.0.1, as glibc does */
    unsigned timeout_ms; /* options timeout:N, seconds; default 5, clamped to 1..30 */
    unsigned attempts;   /* options attempts:N; default 2, clamped to 1..5 */
    unsigned ndots;      /* options ndots:N; default 1, clamped to 0..15; unused (no search) */
} kwi_dns_conf;

/* Defaults and no servers. */
void kwi_dns_conf_init(kwi_dns_conf *c);

/* Parses resolv.conf text into c (which starts from kwi_dns_conf_init). Unknown keywords,
 * unknown options, bad values and IPv6 addresses with a scope id are ignored, as glibc does;
 * '#' and ';' start comments. With no usable server, 127.0.0.1 is used and ns_default set.
 * Never fails. */
void kwi_dns_conf_parse(kwi_dns_conf *c, const char *text, size_t len);

/* Looks a canonical name up in hosts text ("address name alias..." per line, '#' comments):
 * appends the addresses of every matching line, in file order, whose family is allowed
 * (AF_UNSPEC = both) to addrs[*n .. cap), skipping duplicates. Names compare without case and
 * without a trailing dot. Returns the number of addresses appended. */
size_t kwi_dns_hosts_parse(const char *text, size_t len, const char *name, int family,
                           kwi_dns_addr *addrs, size_t *n, size_t cap);

/* ---- I/O: files -------------------------------------------------------------------------- */

/* Reads and parses a resolv.conf (NULL = /etc/resolv.conf). A missing file gives the
 * defaults (127.0.0.1), as glibc does. Returns KW_ERR_OK or KW_ERR_IO (unreadable: err says
 * why). The file is read through a fixed buffer; lines over 1 KiB are skipped. */
kw_err kwi_dns_conf_load(kwi_dns_conf *c, const char *path, kw_error *err);

/* kwi_dns_hosts_parse over a file (NULL = /etc/hosts), streamed through a fixed buffer. A
 * missing file finds nothing. Returns KW_ERR_OK or KW_ERR_IO. */
kw_err kwi_dns_hosts_load(const char *path, const char *name, int family, kwi_dns_addr *addrs,
                          size_t *n, size_t cap, kw_error *err);

/* ---- I/O: resolver and lookups ------------------------------------------------------------ */

/* A random source for query ids: returns 32 random bits. */
typedef struct kwi_dns_rand {
    uint32_t (*next)(void *ud);
    void *ud;
} kwi_dns_rand;

/* Family order in a result. Without happy eyeballs a connection to an unreachable IPv6
 * address costs a full connect timeout, so IPv4 goes first by default; the families are
 * interleaved so that the second is tried early. */
typedef enum kwi_dns_prefer {
    KWI_DNS_PREFER_IPV4 = 0,
    KWI_DNS_PREFER_IPV6 = 1,
} kwi_dns_prefer;

typedef struct kwi_dns_opts {
    const kw_allocator *alloc; /* NULL = kw_allocator_default() */
    const char *resolv_conf;   /* NULL = /etc/resolv.conf; ignored when conf is set */
    const kwi_dns_conf *conf;  /* non-NULL: use (a copy of) this instead of reading a file */
    const char *hosts;         /* NULL = /etc/hosts; "" = no hosts file */
    int family;                /* AF_UNSPEC (both), AF_INET or AF_INET6 */
    kwi_dns_prefer prefer;     /* which family goes first */
    uint32_t ttl_min_s;        /* cache clamp; default 5 */
    uint32_t ttl_max_s;        /* cache clamp; default 300 */
    int cache_entries;         /* 0 = 64; negative = no cache */
    kwi_dns_rand rand;         /* next NULL = getrandom(), or a seeded generator without it */
} kwi_dns_opts;

/* A merged, ordered result: the connection tries addr[0], addr[1], ... in turn. */
typedef enum kwi_dns_source {
    KWI_DNS_SRC_LITERAL = 1,
    KWI_DNS_SRC_HOSTS = 2,
    KWI_DNS_SRC_CACHE = 3,
    KWI_DNS_SRC_DNS = 4,
} kwi_dns_source;

typedef struct kwi_dns_result {
    size_t n;
    kwi_dns_addr addr[KWI_DNS_MAX_ADDRS];
    uint32_t ttl_s;        /* cache lifetime granted (clamped); 0 for literals and hosts */
    kwi_dns_source source; /* where the answer came from */
} kwi_dns_result;

typedef struct kwi_dns kwi_dns;
typedef struct kwi_dns_lookup kwi_dns_lookup;

void kwi_dns_opts_init(kwi_dns_opts *o);

/* Creates a resolver; reads resolv.conf now (unless opts->conf is given). Returns KW_ERR_OK,
 * KW_ERR_NOMEM, KW_ERR_INVALID_ARG (bad family, ttl_min_s > ttl_max_s) or KW_ERR_IO (the
 * resolv.conf exists but cannot be read). *out is NULL on failure. */
kw_err kwi_dns_new(const kwi_dns_opts *o, kwi_dns **out, kw_error *err);

/* Frees the resolver and its cache. Lookups still alive are detached: their status becomes
 * KW_ERR_CANCELED and they must still be freed with kwi_dns_lookup_free. NULL does nothing. */
void kwi_dns_free(kwi_dns *d);

/* The UDP port queries go to (host byte order); 0 restores 53. Lookups started afterwards use
 * it. For tests, which run their own server on an ephemeral port. */
void kwi_dns_set_port(kwi_dns *d, uint16_t port);

/* Re-reads resolv.conf (when the resolver was made from a file). Lookups in flight keep the
 * servers they started with. Returns KW_ERR_OK or KW_ERR_IO (configuration unchanged). */
kw_err kwi_dns_reload(kwi_dns *d, kw_error *err);

/* Drops host (any spelling kwi_dns_name_check accepts) from the cache, e.g. after every
 * address it gave failed to connect. Does nothing when it is not cached. */
void kwi_dns_cache_forget(kwi_dns *d, const char *host);

/* Starts resolving host (a name or a numeric literal, brackets allowed) at time now_ms.
 * Returns KW_ERR_OK with *out set, or KW_ERR_INVALID_ARG (bad host name: err says why),
 * KW_ERR_NOMEM, KW_ERR_IO (no socket); *out is NULL on failure.
 * A literal, a hosts-file entry or a cache hit finishes the lookup at once: check
 * kwi_dns_lookup_status() right away. Otherwise the queries have been sent; the lookup is
 * pending, and its fd and deadline must be watched. */
kw_err kwi_dns_lookup_new(kwi_dns *d, const char *host, int64_t now_ms, kwi_dns_lookup **out,
                          kw_error *err);

/* KW_ERR_AGAIN while pending; when finished KW_ERR_OK (a result: addresses of one family win
 * over NXDOMAIN for the other, which some servers wrongly send, RFC 4074), KW_ERR_NOT_FOUND
 * (the host does not exist, or has no address of the families asked for), KW_ERR_TIMED_OUT (no
 * server answered after every attempt), KW_ERR_IO (server failure or refusal, socket errors),
 * KW_ERR_TOO_LARGE (truncated response, no TCP fallback), KW_ERR_CANCELED (the resolver was
 * freed) or KW_ERR_NOMEM. */
kw_err kwi_dns_lookup_status(const kwi_dns_lookup *l);

/* The result once the status is KW_ERR_OK, else NULL. Valid until kwi_dns_lookup_free. */
const kwi_dns_result *kwi_dns_lookup_result(const kwi_dns_lookup *l);

/* The error detail once finished with an error (message names the host and the cause). */
const kw_error *kwi_dns_lookup_error(const kwi_dns_lookup *l);

/* The socket to watch for reading, or -1 when the lookup needed none. It stays the same for the
 * lookup's life and stays open until kwi_dns_lookup_free (unregister it from epoll first). */
int kwi_dns_lookup_fd(const kwi_dns_lookup *l);

/* When kwi_dns_lookup_on_timeout must next be called, or -1 once finished. */
int64_t kwi_dns_lookup_deadline(const kwi_dns_lookup *l);

/* Reads what the socket holds (at most a small budget of datagrams per call; a level-triggered
 * poll reports the rest). Datagrams from an address that was not queried, with another id or
 * question, or broken, are dropped. A server failure moves to the next server at once. Returns
 * the status. Spurious calls are harmless. */
kw_err kwi_dns_lookup_on_readable(kwi_dns_lookup *l, int64_t now_ms);

/* Acts on the deadline: when now_ms has reached it, the queries still unanswered go to the next
 * server (or the next round of attempts); after the last, the lookup fails. Returns the status.
 * Early calls are harmless. */
kw_err kwi_dns_lookup_on_timeout(kwi_dns_lookup *l, int64_t now_ms);

/* Cancels the lookup if it is in flight and frees it, closing its socket. Late answers go to a
 * closed port. NULL does nothing. */
void kwi_dns_lookup_free(kwi_dns_lookup *l);

/* ---- I/O: the reactor adapter ------------------------------------------------------------ */

typedef struct kwi_reactor kwi_reactor;
typedef struct kwi_dns_req kwi_dns_req;

/* The end of a request: rc is kwi_dns_lookup_status's final value; res is non-NULL only for
 * KW_ERR_OK; both res and err are valid during the call only (copy what you keep). The request
 * is freed right after the callback returns: do not use q again. */
typedef void (*kwi_dns_cb)(kwi_dns_req *q, kw_err rc, const kwi_dns_result *res,
                           const kw_error *err, void *ud);

/* Resolves host with its socket and timer registered on r, on r's clock. cb fires exactly once,
 * from inside kwi_reactor_step (also for an answer known at once: it is delivered on the next
 * step, never inside this call). On failure (KW_ERR_INVALID_ARG, KW_ERR_NOMEM, KW_ERR_IO, or an
 * error from the reactor) cb never fires and *out is NULL. Cancel every request before freeing
 * the reactor or the resolver. */
kw_err kwi_dns_resolve(kwi_dns *d, kwi_reactor *r, const char *host, kwi_dns_cb cb, void *ud,
                       kwi_dns_req **out, kw_error *err);

/* Cancels a request whose callback has not fired: the callback fires now, once, with
 * KW_ERR_CANCELED, then the request is freed. From inside the request's own callback it does
 * nothing. NULL does nothing. */
void kwi_dns_req_cancel(kwi_dns_req *q);

#endif
