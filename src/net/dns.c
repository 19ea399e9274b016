/* The lookups of the non-blocking stub resolver; see dns.h for the contract and the
 * deliberate limits.
 *
 * The resolver is in three files. dns_wire.c is the pure half (names, literals, the query
 * encoder, the response decoder and the resolv.conf and hosts parsers): it touches no
 * descriptor and allocates nothing, so a fuzzer can drive it. dns_resolver.c holds the
 * resolver object, its TTL cache and the files it reads. This file holds the lookup state
 * machine, which owns one UDP socket per lookup, shared by its A and AAAA queries, and is
 * driven from outside with explicit times; and, at the end, the reactor adapter that
 * registers a lookup's socket and deadline with net/reactor.h.
 *
 * Trust: every byte of a response is hostile, and dns_wire.c decodes it with that in mind.
 * Answers are accepted only from an address and port that was queried, with the query's id
 * and question: the socket is not connected, so that a late answer from the first server
 * still counts after the query has moved on to the second. Source-port randomisation comes
 * from the kernel's ephemeral port. */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/dns_int.h"
#include "net/reactor.h"

#define RECV_BUF    2048u /* no EDNS: a server sends at most 512 bytes */
#define RECV_BUDGET 16u   /* datagrams per on_readable call */

/* ==== I/O: lookups ========================================================================== */

/* Why a pending query has not succeeded yet; the worst one seen shapes the final error. */
typedef enum fail_kind {
    FAIL_NONE = 0,  /* no answer yet: a timeout if it stays that way */
    FAIL_MALFORMED, /* the server's reply was broken; still waiting for a good one */
    FAIL_SEND,      /* sendto failed */
    FAIL_SERVER,    /* SERVFAIL, REFUSED, NOTIMP, FORMERR */
} fail_kind;

typedef struct query {
    uint16_t qtype, id;
    bool done;
    kw_err rc; /* when done: OK (addresses or NODATA), NOT_FOUND (NXDOMAIN), TOO_LARGE (TC) */
    fail_kind fail;
    uint8_t rcode;   /* of the last server failure */
    long failed_try; /* the try in which the current server failed it, or -1 */
    kwi_dns_answer ans;
    uint8_t buf[KWI_DNS_QUERY_MAX];
    size_t len;
} query;

struct kwi_dns_lookup {
    kwi_dns *d; /* NULL once detached by kwi_dns_free */
    kwi_dns_lookup *prev, *next;
    const kw_allocator *a;
    char name[KWI_DNS_MAX_NAME + 1];
    kw_err status;
    kw_error err;
    kwi_dns_result res;
    int fd;
    struct sockaddr_storage srv[KWI_DNS_MAX_NS];
    socklen_t srvlen[KWI_DNS_MAX_NS];
    bool sent[KWI_DNS_MAX_NS];
    size_t nsrv;
    unsigned timeout_ms, attempts;
    long try_idx; /* server = try_idx % nsrv, round = try_idx / nsrv */
    int64_t deadline;
    query q[2];
    size_t nq;
    int send_errno;
};

/* Orders addresses into a result: families interleaved, the preferred one first, duplicates
 * dropped, at most KWI_DNS_MAX_ADDRS. */
static void
order_result(kwi_dns_result *res, const kwi_dns_addr *first, size_t n1, const kwi_dns_addr *second,
             size_t n2)
{
    res->n = 0;
    for (size_t i = 0; i < n1 || i < n2; i++) {
        if (i < n1)
            kwi_dns_addr_add(res->addr, &res->n, KWI_DNS_MAX_ADDRS, &first[i]);
        if (i < n2)
            kwi_dns_addr_add(res->addr, &res->n, KWI_DNS_MAX_ADDRS, &second[i]);
    }
}

/* Splits addrs by family and orders them by d's preference. */
static void
order_mixed(kwi_dns_prefer prefer, kwi_dns_result *res, const kwi_dns_addr *addrs, size_t n)
{
    kwi_dns_addr v4[KWI_DNS_MAX_ADDRS], v6[KWI_DNS_MAX_ADDRS];
    size_t n4 = 0, n6 = 0;
    for (size_t i = 0; i < n; i++) {
        if (addrs[i].family == AF_INET && n4 < KWI_DNS_MAX_ADDRS)
            v4[n4++] = addrs[i];
        else if (addrs[i].family == AF_INET6 && n6 < KWI_DNS_MAX_ADDRS)
            v6[n6++] = addrs[i];
    }
    if (prefer == KWI_DNS_PREFER_IPV6)
        order_result(res, v6, n6, v4, n4);
    else
        order_result(res, v4, n4, v6, n6);
}

static void
finish_ok(kwi_dns_lookup *l, kwi_dns_source src)
{
    l->res.source = src;
    l->status = KW_ERR_OK;
    l->deadline = -1;
}

static void finish_err(kwi_dns_lookup *l, kw_err code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void
finish_err(kwi_dns_lookup *l, kw_err code, const char *fmt, ...)
{
    char msg[sizeof(l->err.msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    l->status = code;
    l->deadline = -1;
    kw_error_set(&l->err, code, "%s", msg);
}

static const char *
rcode_name(uint8_t rcode)
{
    switch (rcode) {
    case KWI_DNS_RCODE_FORMERR:
        return "FORMERR";
    case KWI_DNS_RCODE_SERVFAIL:
        return "SERVFAIL";
    case KWI_DNS_RCODE_NOTIMP:
        return "NOTIMP";
    case KWI_DNS_RCODE_REFUSED:
        return "REFUSED";
    default:
        return "an error code";
    }
}

static const char *
family_words(int family)
{
    return family == AF_INET ? "A (IPv4)" : family == AF_INET6 ? "AAAA (IPv6)" : "A or AAAA";
}

/* Every query has ended or run out of tries: merge, cache, or pick the error to report.
 * Addresses win over a negative answer for the other family: some servers wrongly answer
 * NXDOMAIN to AAAA for a name that has an A record (RFC 4074 section 4.2). */
static void
finish_dns(kwi_dns_lookup *l, int64_t now_ms)
{
    kwi_dns_addr v4[KWI_DNS_MAX_ADDRS], v6[KWI_DNS_MAX_ADDRS];
    size_t n4 = 0, n6 = 0;
    uint32_t ttl = UINT32_MAX;
    const query *worst = NULL;
    bool nxdomain = false;
    for (size_t i = 0; i < l->nq; i++) {
        const query *q = &l->q[i];
        if (q->done && q->rc == KW_ERR_NOT_FOUND) {
            nxdomain = true;
        } else if (q->done && q->rc == KW_ERR_OK && q->ans.naddrs == 0) {
            continue; /* NODATA: this family has no record */
        } else if (q->done && q->rc == KW_ERR_OK) {
            kwi_dns_addr *v = q->qtype == KWI_DNS_TYPE_A ? v4 : v6;
            size_t *n = q->qtype == KWI_DNS_TYPE_A ? &n4 : &n6;
            memcpy(v, q->ans.addrs, q->ans.naddrs * sizeof(*v));
            *n = q->ans.naddrs;
            ttl = q->ans.ttl < ttl ? q->ans.ttl : ttl;
        } else if (!worst || (q->done && !worst->done) ||
                   (q->done == worst->done && q->fail > worst->fail)) {
            worst = q;
        }
    }
    if (n4 + n6 > 0) {
        if (l->d && l->d->prefer == KWI_DNS_PREFER_IPV6)
            order_result(&l->res, v6, n6, v4, n4);
        else
            order_result(&l->res, v4, n4, v6, n6);
        if (l->d) {
            uint32_t lo = l->d->ttl_min_s, hi = l->d->ttl_max_s;
            l->res.ttl_s = ttl < lo ? lo : ttl > hi ? hi : ttl;
            kwi_dns_cache_put(l->d, l->name, &l->res, now_ms);
        }
        finish_ok(l, KWI_DNS_SRC_DNS);
        return;
    }
    if (nxdomain) {
        finish_err(l, KW_ERR_NOT_FOUND,
                   "host not found: %s (the DNS server says the name does not exist)", l->name);
        return;
    }
    int fam = l->nq == 2 ? AF_UNSPEC : l->q[0].qtype == KWI_DNS_TYPE_A ? AF_INET : AF_INET6;
    if (!worst) {
        finish_err(l, KW_ERR_NOT_FOUND, "host not found: %s has no %s address record", l->name,
                   family_words(fam));
        return;
    }
    char eb[96];
    if (worst->done) /* TC */
        finish_err(l, KW_ERR_TOO_LARGE,
                   "DNS response for %s was truncated (TC bit set) and kwire has no TCP "
                   "fallback",
                   l->name);
    else if (worst->fail == FAIL_SERVER)
        finish_err(l, KW_ERR_IO, "DNS lookup of %s failed: the server answered %s", l->name,
                   rcode_name(worst->rcode));
    else if (worst->fail == FAIL_SEND)
        finish_err(l, KW_ERR_IO, "DNS lookup of %s failed: cannot send to the servers: %s", l->name,
                   kwi_dns_err_text(l->send_errno, eb, sizeof(eb)));
    else
        finish_err(l, KW_ERR_TIMED_OUT,
                   "DNS lookup of %s timed out: no answer (%zu server(s) x %u attempt(s), %u "
                   "ms each)%s",
                   l->name, l->nsrv, l->attempts, l->timeout_ms,
                   worst->fail == FAIL_MALFORMED ? "; only malformed replies came back" : "");
}

static bool
all_done(const kwi_dns_lookup *l)
{
    for (size_t i = 0; i < l->nq; i++)
        if (!l->q[i].done)
            return false;
    return true;
}

/* Sends the pending queries to this try's server. False when nothing could be sent. */
static bool
send_try(kwi_dns_lookup *l, int64_t now_ms)
{
    size_t s = (size_t)l->try_idx % l->nsrv;
    bool any = false;
    for (size_t i = 0; i < l->nq; i++) {
        query *q = &l->q[i];
        if (q->done)
            continue;
        ssize_t r;
        do
            r = sendto(l->fd, q->buf, q->len, MSG_NOSIGNAL, (struct sockaddr *)&l->srv[s],
                       l->srvlen[s]);
        while (r < 0 && errno == EINTR);
        /* A full socket buffer loses this datagram like the network would: the timeout
         * retries it. */
        if (r >= 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
            any = true;
        } else {
            l->send_errno = errno;
            if (q->fail < FAIL_SEND)
                q->fail = FAIL_SEND;
        }
    }
    if (any)
        l->sent[s] = true;
    l->deadline = now_ms + l->timeout_ms;
    return any;
}

/* Moves the pending queries to the next try, skipping tries whose sends all fail; after the
 * last try the lookup fails. */
static void
advance(kwi_dns_lookup *l, int64_t now_ms)
{
    long last = (long)(l->nsrv * l->attempts);
    while (++l->try_idx < last)
        if (send_try(l, now_ms))
            return;
    finish_dns(l, now_ms);
}

/* Applies a decoded answer to query q, sent by server srv in the current or an earlier try. */
static void
apply_answer(kwi_dns_lookup *l, query *q, const kwi_dns_answer *ans, size_t srv, int64_t now_ms)
{
    if (ans->truncated) {
        q->done = true;
        q->rc = KW_ERR_TOO_LARGE;
    } else if (ans->rcode == KWI_DNS_RCODE_NOERROR) {
        q->done = true;
        q->rc = KW_ERR_OK;
        q->ans = *ans;
    } else if (ans->rcode == KWI_DNS_RCODE_NXDOMAIN) {
        q->done = true;
        q->rc = KW_ERR_NOT_FOUND;
    } else {
        q->fail = FAIL_SERVER;
        q->rcode = ans->rcode;
        /* A late failure from a server already left behind says nothing about this try. */
        if (srv == (size_t)l->try_idx % l->nsrv)
            q->failed_try = l->try_idx;
    }
    if (all_done(l)) {
        finish_dns(l, now_ms);
        return;
    }
    /* When the current server has failed every query still pending, do not wait for its
     * timeout: go to the next server now. */
    for (size_t i = 0; i < l->nq; i++)
        if (!l->q[i].done && l->q[i].failed_try != l->try_idx)
            return;
    advance(l, now_ms);
}

/* The index of the queried server that sent a datagram, or -1. */
static long
from_server(const kwi_dns_lookup *l, const struct sockaddr_storage *from)
{
    for (size_t i = 0; i < l->nsrv; i++) {
        if (!l->sent[i] || from->ss_family != l->srv[i].ss_family)
            continue;
        if (from->ss_family == AF_INET) {
            const struct sockaddr_in *x = (const void *)from, *y = (const void *)&l->srv[i];
            if (x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr)
                return (long)i;
        } else if (from->ss_family == AF_INET6) {
            const struct sockaddr_in6 *x = (const void *)from, *y = (const void *)&l->srv[i];
            if (x->sin6_port == y->sin6_port &&
                memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0)
                return (long)i;
        }
    }
    return -1;
}

static void
handle_datagram(kwi_dns_lookup *l, const uint8_t *buf, size_t n, size_t srv, int64_t now_ms)
{
    for (size_t i = 0; i < l->nq && l->status == KW_ERR_AGAIN; i++) {
        query *q = &l->q[i];
        if (q->done)
            continue;
        kwi_dns_answer ans;
        kw_err e = kwi_dns_response_decode(buf, n, q->id, l->name, q->qtype, &ans);
        if (e == KW_ERR_OK) {
            apply_answer(l, q, &ans, srv, now_ms);
            return;
        }
        /* Only our id can tell a broken reply from someone else's datagram. */
        if (e != KW_ERR_AGAIN && n >= 2 && ((buf[0] << 8) | buf[1]) == q->id &&
            q->fail < FAIL_MALFORMED)
            q->fail = FAIL_MALFORMED;
    }
}

kw_err
kwi_dns_lookup_on_readable(kwi_dns_lookup *l, int64_t now_ms)
{
    /* Drain even when finished: a late answer left in a level-triggered fd would spin. */
    for (unsigned k = 0; l->fd >= 0 && k < RECV_BUDGET; k++) {
        uint8_t buf[RECV_BUF];
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t r = recvfrom(l->fd, buf, sizeof(buf), MSG_TRUNC, (struct sockaddr *)&from, &fl);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            break; /* EAGAIN, or a pending ICMP error that this read has now cleared */
        long srv = from_server(l, &from);
        if (l->status != KW_ERR_AGAIN || (size_t)r > sizeof(buf) || srv < 0)
            continue;
        handle_datagram(l, buf, (size_t)r, (size_t)srv, now_ms);
    }
    return l->status;
}

kw_err
kwi_dns_lookup_on_timeout(kwi_dns_lookup *l, int64_t now_ms)
{
    if (l->status == KW_ERR_AGAIN && l->deadline >= 0 && now_ms >= l->deadline)
        advance(l, now_ms);
    return l->status;
}

kw_err
kwi_dns_lookup_status(const kwi_dns_lookup *l)
{
    return l->status;
}

const kwi_dns_result *
kwi_dns_lookup_result(const kwi_dns_lookup *l)
{
    return l->status == KW_ERR_OK ? &l->res : NULL;
}

const kw_error *
kwi_dns_lookup_error(const kwi_dns_lookup *l)
{
    return &l->err;
}

int
kwi_dns_lookup_fd(const kwi_dns_lookup *l)
{
    return l->fd;
}

int64_t
kwi_dns_lookup_deadline(const kwi_dns_lookup *l)
{
    return l->status == KW_ERR_AGAIN ? l->deadline : -1;
}

void
kwi_dns_lookup_free(kwi_dns_lookup *l)
{
    if (!l)
        return;
    if (l->d) {
        if (l->prev)
            l->prev->next = l->next;
        else
            l->d->lookups = l->next;
        if (l->next)
            l->next->prev = l->prev;
    }
    if (l->fd >= 0)
        close(l->fd);
    l->a->free(l->a->ud, l, sizeof(*l));
}

/* Detaches the lookups of a resolver being freed; see kwi_dns_free. */
void
kwi_dns_lookups_detach(kwi_dns_lookup *head)
{
    for (kwi_dns_lookup *l = head; l; l = l->next) {
        l->d = NULL;
        if (l->status == KW_ERR_AGAIN) {
            l->status = KW_ERR_CANCELED;
            l->deadline = -1;
            kw_error_set(&l->err, KW_ERR_CANCELED, "lookup of %s canceled: resolver freed",
                         l->name);
        }
    }
}

/* Opens the socket and lists the servers it can reach. An IPv6 server needs a dual-stack
 * AF_INET6 socket (IPv4 servers then go as v4-mapped addresses); where IPv6 is disabled the
 * socket is AF_INET and IPv6 servers are skipped. */
static kw_err
open_servers(kwi_dns_lookup *l, const kwi_dns *d, kw_error *err)
{
    bool want6 = false;
    for (size_t i = 0; i < d->conf.nns; i++)
        want6 |= d->conf.ns[i].family == AF_INET6;
    int fam = want6 ? AF_INET6 : AF_INET;
    l->fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd >= 0 && fam == AF_INET6) {
        int off = 0;
        if (setsockopt(l->fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) != 0) {
            close(l->fd);
            l->fd = -1;
        }
    }
    if (l->fd < 0 && fam == AF_INET6) {
        fam = AF_INET;
        l->fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (l->fd < 0) {
        char eb[96];
        return kw_error_set(err, KW_ERR_IO, "cannot open a UDP socket to resolve %s: %s", l->name,
                            kwi_dns_err_text(errno, eb, sizeof(eb)));
    }
    for (size_t i = 0; i < d->conf.nns; i++) {
        kwi_dns_addr a = d->conf.ns[i];
        if (a.family == AF_INET6 && fam == AF_INET)
            continue;
        if (a.family == AF_INET && fam == AF_INET6) { /* ::ffff:a.b.c.d */
            memmove(a.bytes + 12, a.bytes, 4);
            memset(a.bytes, 0, 10);
            a.bytes[10] = a.bytes[11] = 0xFF;
            a.family = AF_INET6;
        }
        l->srvlen[l->nsrv] = kwi_dns_addr_sockaddr(&a, d->port, &l->srv[l->nsrv]);
        l->nsrv++;
    }
    if (l->nsrv == 0)
        return kw_error_set(err, KW_ERR_IO,
                            "cannot resolve %s: every nameserver is IPv6 and IPv6 is off", l->name);
    return KW_ERR_OK;
}

/* Answers that need no query: hosts file, localhost, cache. True when one applied. */
static bool
answer_locally(kwi_dns_lookup *l, kwi_dns *d, int64_t now_ms)
{
    kwi_dns_addr found[KWI_DNS_MAX_ADDRS];
    size_t n = 0;
    if (d->hosts_path &&
        kwi_dns_hosts_load(d->hosts_path, l->name, d->family, found, &n, KWI_DNS_MAX_ADDRS, NULL) ==
            KW_ERR_OK &&
        n > 0) {
        memcpy(l->res.addr, found, n * sizeof(found[0])); /* the file's own order */
        l->res.n = n;
        finish_ok(l, KWI_DNS_SRC_HOSTS);
        return true;
    }
    size_t nl = strlen(l->name);
    if (strcmp(l->name, "localhost") == 0 ||
        (nl > 10 && strcmp(l->name + nl - 10, ".localhost") == 0)) {
        kwi_dns_addr lo[2];
        memset(lo, 0, sizeof(lo));
        lo[0].family = AF_INET;
        lo[0].bytes[0] = 127;
        lo[0].bytes[3] = 1;
        lo[1].family = AF_INET6;
        lo[1].bytes[15] = 1;
        for (size_t i = 0; i < 2; i++)
            if (d->family == AF_UNSPEC || d->family == lo[i].family)
                found[n++] = lo[i];
        order_mixed(d->prefer, &l->res, found, n);
        finish_ok(l, KWI_DNS_SRC_HOSTS);
        return true;
    }
    kwi_dns_cache_ent *c = kwi_dns_cache_find(d, l->name);
    if (c && c->expires_ms > now_ms) {
        l->res = c->res;
        l->res.ttl_s = (uint32_t)((c->expires_ms - now_ms + 999) / 1000);
        finish_ok(l, KWI_DNS_SRC_CACHE);
        return true;
    }
    return false;
}

static kw_err
start_queries(kwi_dns_lookup *l, kwi_dns *d, int64_t now_ms, kw_error *err)
{
    kw_err e = open_servers(l, d, err);
    if (e != KW_ERR_OK)
        return e;
    uint16_t types[2];
    size_t nt = 0;
    /* Both queries go out together; their order only decides which is sent first. */
    if (d->family != AF_INET6)
        types[nt++] = KWI_DNS_TYPE_A;
    if (d->family != AF_INET)
        types[nt++] = KWI_DNS_TYPE_AAAA;
    for (size_t i = 0; i < nt; i++) {
        query *q = &l->q[l->nq++];
        q->qtype = types[i];
        q->id = (uint16_t)kwi_dns_rand32(d);
        q->failed_try = -1;
        e = kwi_dns_query_encode(q->buf, sizeof(q->buf), &q->len, q->id, l->name, q->qtype);
        if (e != KW_ERR_OK) /* cannot happen: the name was checked */
            return kw_error_set(err, e, "cannot encode a DNS query for %s", l->name);
    }
    l->timeout_ms = d->conf.timeout_ms;
    l->attempts = d->conf.attempts;
    l->try_idx = 0;
    if (!send_try(l, now_ms))
        advance(l, now_ms);
    return KW_ERR_OK;
}

kw_err
kwi_dns_lookup_new(kwi_dns *d, const char *host, int64_t now_ms, kwi_dns_lookup **out,
                   kw_error *err)
{
    *out = NULL;
    size_t hl = strlen(host);
    kwi_dns_addr lit;
    bool literal = kwi_dns_literal(host, hl, &lit);
    char canon[KWI_DNS_MAX_NAME + 1];
    if (!literal && kwi_dns_name_check(host, hl, canon) != KW_ERR_OK)
        return kw_error_set(err, KW_ERR_INVALID_ARG,
                            "invalid host name \"%.100s\": labels of 1-63 letters, digits, '-' "
                            "or '_', at most 253 characters",
                            host);
    kwi_dns_lookup *l = d->a->alloc(d->a->ud, sizeof(*l));
    if (!l)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory resolving %.100s", host);
    memset(l, 0, sizeof(*l));
    l->a = d->a;
    l->fd = -1;
    l->deadline = -1;
    l->status = KW_ERR_AGAIN;
    kw_error_init(&l->err);
    l->d = d;
    l->next = d->lookups;
    if (d->lookups)
        d->lookups->prev = l;
    d->lookups = l;
    if (literal) {
        kwi_dns_addr_str(&lit, l->name, sizeof(l->name));
        if (d->family != AF_UNSPEC && d->family != lit.family) {
            finish_err(l, KW_ERR_NOT_FOUND,
                       "%s is an IPv%c address, but the resolver only uses IPv%c", l->name,
                       lit.family == AF_INET ? '4' : '6', d->family == AF_INET ? '4' : '6');
        } else {
            l->res.addr[0] = lit;
            l->res.n = 1;
            finish_ok(l, KWI_DNS_SRC_LITERAL);
        }
    } else {
        memcpy(l->name, canon, sizeof(canon));
        if (!answer_locally(l, d, now_ms)) {
            kw_err e = start_queries(l, d, now_ms, err);
            if (e != KW_ERR_OK) {
                kwi_dns_lookup_free(l);
                return e;
            }
        }
    }
    *out = l;
    return KW_ERR_OK;
}

/* ==== I/O: the reactor adapter ================================================================ */

struct kwi_dns_req {
    const kw_allocator *a;
    kwi_dns_lookup *l;
    kwi_reactor *r;
    kwi_io *io;
    kwi_timer *t;
    kwi_dns_cb cb;
    void *ud;
    bool delivering;
};

static void
req_destroy(kwi_dns_req *q)
{
    kwi_reactor_io_free(q->io); /* before the lookup closes the fd */
    kwi_reactor_timer_free(q->t);
    kwi_dns_lookup_free(q->l);
    q->a->free(q->a->ud, q, sizeof(*q));
}

static void
req_deliver(kwi_dns_req *q, kw_err rc)
{
    q->delivering = true;
    const kw_error *e = kwi_dns_lookup_error(q->l);
    q->cb(q, rc, rc == KW_ERR_OK ? kwi_dns_lookup_result(q->l) : NULL, rc == KW_ERR_OK ? NULL : e,
          q->ud);
    req_destroy(q);
}

static void
req_progress(kwi_dns_req *q, kw_err rc)
{
    if (rc != KW_ERR_AGAIN)
        req_deliver(q, rc);
    else
        kwi_reactor_timer_start_at(q->t, kwi_dns_lookup_deadline(q->l));
}

static void
req_io_cb(kwi_reactor *r, kwi_io *io, unsigned events, void *ud)
{
    (void)io, (void)events;
    kwi_dns_req *q = ud;
    req_progress(q, kwi_dns_lookup_on_readable(q->l, kwi_reactor_now_ms(r)));
}

static void
req_timer_cb(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)t;
    kwi_dns_req *q = ud;
    req_progress(q, kwi_dns_lookup_on_timeout(q->l, kwi_reactor_now_ms(r)));
}

kw_err
kwi_dns_resolve(kwi_dns *d, kwi_reactor *r, const char *host, kwi_dns_cb cb, void *ud,
                kwi_dns_req **out, kw_error *err)
{
    *out = NULL;
    if (!cb)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kwi_dns_resolve needs a callback");
    kwi_dns_req *q = d->a->alloc(d->a->ud, sizeof(*q));
    if (!q)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory resolving %.100s", host);
    memset(q, 0, sizeof(*q));
    q->a = d->a;
    q->r = r;
    q->cb = cb;
    q->ud = ud;
    kw_err e = kwi_dns_lookup_new(d, host, kwi_reactor_now_ms(r), &q->l, err);
    if (e != KW_ERR_OK) {
        req_destroy(q);
        return e;
    }
    e = kwi_reactor_timer_new(r, req_timer_cb, q, &q->t);
    if (e == KW_ERR_OK && kwi_dns_lookup_fd(q->l) >= 0)
        e = kwi_reactor_io_new(r, kwi_dns_lookup_fd(q->l), KWI_IO_READ, req_io_cb, q, &q->io);
    if (e != KW_ERR_OK) {
        kw_error_set(err, e, "cannot register the lookup of %.100s with the reactor: %s", host,
                     kw_err_str(e));
        req_destroy(q);
        return e;
    }
    /* An answer known at once is delivered by the timer on the next step, never in here. */
    if (kwi_dns_lookup_status(q->l) != KW_ERR_AGAIN)
        kwi_reactor_timer_start(q->t, 0);
    else
        kwi_reactor_timer_start_at(q->t, kwi_dns_lookup_deadline(q->l));
    *out = q;
    return KW_ERR_OK;
}

void
kwi_dns_req_cancel(kwi_dns_req *q)
{
    if (!q || q->delivering)
        return;
    q->delivering = true;
    kw_error e;
    kw_error_init(&e);
    kw_error_set(&e, KW_ERR_CANCELED, "lookup canceled");
    q->cb(q, KW_ERR_CANCELED, NULL, &e, q->ud);
    req_destroy(q);
}
