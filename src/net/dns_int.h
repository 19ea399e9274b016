/* Internal to src/net/dns*.c: what the three parts of the stub resolver share.
 *
 * dns_wire.c is the pure half (no I/O, no allocation, no clock) and needs nothing from the
 * other two; dns_resolver.c owns the resolver object, its TTL cache and the files it reads;
 * dns.c owns the lookups and the reactor adapter. */
#ifndef KWI_NET_DNS_INT_H
#define KWI_NET_DNS_INT_H

#include "net/dns.h"

/* ---- dns_wire.c: pure helpers ---------------------------------------------------------- */

/* A line of this many bytes or more is skipped, in text and in files alike. */
#define KWI_DNS_LINE_MAX 1024u

/* Called once per line of a resolv.conf or hosts text or file, without the newline. */
typedef void (*kwi_dns_line_fn)(void *ud, const char *s, size_t n);

/* What kwi_dns_hosts_line looks for and where it appends (see kwi_dns_hosts_parse). */
typedef struct kwi_dns_hosts_ctx {
    const char *name;
    size_t name_len;
    int family;
    kwi_dns_addr *addrs;
    size_t *n, cap, added;
} kwi_dns_hosts_ctx;

/* Appends a unless it is already there or the array is full; returns 1 if appended. */
size_t kwi_dns_addr_add(kwi_dns_addr *v, size_t *n, size_t cap, const kwi_dns_addr *a);

/* A kwi_dns_line_fn for resolv.conf: ud is the kwi_dns_conf being filled. */
void kwi_dns_conf_line(void *ud, const char *s, size_t n);

/* Ends a parse: with no usable server, 127.0.0.1 is used and ns_default set. */
void kwi_dns_conf_finish(kwi_dns_conf *c);

/* A kwi_dns_line_fn for hosts: ud is a kwi_dns_hosts_ctx. */
void kwi_dns_hosts_line(void *ud, const char *s, size_t n);

/* ---- dns_resolver.c: the resolver object and its cache --------------------------------- */

typedef struct kwi_dns_cache_ent {
    bool used;
    int64_t expires_ms;
    char name[KWI_DNS_MAX_NAME + 1];
    kwi_dns_result res;
} kwi_dns_cache_ent;

struct kwi_dns {
    const kw_allocator *a;
    kwi_dns_conf conf;
    char *conf_path; /* NULL when made from opts->conf */
    size_t conf_path_size;
    char *hosts_path; /* NULL = no hosts file */
    size_t hosts_path_size;
    uint16_t port;
    int family;
    kwi_dns_prefer prefer;
    uint32_t ttl_min_s, ttl_max_s;
    size_t cache_cap;         /* 0 = no cache */
    kwi_dns_cache_ent *cache; /* cache_cap entries, allocated at the first insert */
    kwi_dns_rand rand;
    uint64_t prng; /* fallback state when getrandom() fails */
    kwi_dns_lookup *lookups;
};

/* strerror_r's text for e, in buf. */
const char *kwi_dns_err_text(int e, char *buf, size_t cap);

/* 32 random bits from the resolver's random source, for a query id. */
uint32_t kwi_dns_rand32(kwi_dns *d);

/* The cache entry for a canonical name, expired or not, or NULL. */
kwi_dns_cache_ent *kwi_dns_cache_find(kwi_dns *d, const char *name);

/* Caches res for name for res->ttl_s seconds from now_ms (when the resolver has a cache). */
void kwi_dns_cache_put(kwi_dns *d, const char *name, const kwi_dns_result *res, int64_t now_ms);

/* ---- dns.c: lookups -------------------------------------------------------------------- */

/* Detaches every lookup of the list (a resolver being freed): each still pending ends with
 * KW_ERR_CANCELED. */
void kwi_dns_lookups_detach(kwi_dns_lookup *head);

#endif
