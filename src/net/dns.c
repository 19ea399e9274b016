/* The non-blocking stub resolver; see dns.h for the contract and the deliberate limits.
 *
 * The file has three parts. The pure part (names, literals, the query encoder, the response
 * decoder and the resolv.conf and hosts parsers) touches no descriptor and allocates nothing,
 * so a fuzzer can drive it. The lookup state machine owns one UDP socket per lookup, shared
 * by its A and AAAA queries, and is driven from outside with explicit times. The reactor
 * adapter at the end registers a lookup's socket and deadline with net/reactor.h.
 *
 * Trust: every byte of a response is hostile. Names are decompressed with each pointer
 * required to land strictly before the segment it was read from, so the walk always moves
 * backwards and ends within as many hops as the message has bytes (and at most
 * KWI_DNS_MAX_PTRHOPS); counts are checked against the bytes left before any loop runs on
 * them; the decoder fills fixed arrays and never allocates. Answers are accepted only from an
 * address and port that was queried, with the query's id and question: the socket is not
 * connected, so that a late answer from the first server still counts after the query has
 * moved on to the second. Source-port randomisation comes from the kernel's ephemeral port. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kwire/proto.h"
#include "net/dns.h"
#include "net/reactor.h"

#define DEFAULT_RESOLV_CONF "/etc/resolv.conf"
#define DEFAULT_HOSTS       "/etc/hosts"
#define MIN_RR_SIZE         11u /* a root or pointer name (1-2 bytes) + type, class, ttl, rdlen */
#define LINE_MAX_BYTES      1024u
#define FILE_MAX_BYTES      (64u << 20) /* a hosts file larger than this is read only this far */
#define RECV_BUF            2048u       /* no EDNS: a server sends at most 512 bytes */
#define RECV_BUDGET         16u         /* datagrams per on_readable call */
#define CACHE_DEFAULT       64
#define TTL_MIN_DEFAULT     5u
#define TTL_MAX_DEFAULT     300u

/* ==== pure: names, literals, host:port ======================================================= */

static int
host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

static unsigned char
lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

kw_err
kwi_dns_name_check(const char *host, size_t len, char *out)
{
    if (len > 0 && host[len - 1] == '.')
        len--;
    if (len == 0 || len > KWI_DNS_MAX_NAME)
        return KW_ERR_INVALID_ARG;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)host[i];
        if (c == '.') {
            if (label == 0)
                return KW_ERR_INVALID_ARG;
            label = 0;
        } else if (!host_char(c) || ++label > 63) {
            return KW_ERR_INVALID_ARG;
        }
        out[i] = (char)lower(c);
    }
    if (label == 0)
        return KW_ERR_INVALID_ARG;
    out[len] = '\0';
    return KW_ERR_OK;
}

/* The wire form of a canonical name (at most 253 characters, so at most 255 bytes). */
static size_t
name_to_wire(const char *name, uint8_t *out)
{
    size_t n = 0;
    while (*name) {
        const char *dot = strchr(name, '.');
        size_t l = dot ? (size_t)(dot - name) : strlen(name);
        out[n++] = (uint8_t)l;
        memcpy(out + n, name, l);
        n += l;
        name += l + (dot ? 1 : 0);
    }
    out[n++] = 0;
    return n;
}

bool
kwi_dns_literal(const char *host, size_t len, kwi_dns_addr *out)
{
    char buf[INET6_ADDRSTRLEN + 1];
    bool bracket = len >= 2 && host[0] == '[' && host[len - 1] == ']';
    if (bracket) {
        host++;
        len -= 2;
    }
    if (len == 0 || len >= sizeof(buf) || memchr(host, '\0', len))
        return false;
    memcpy(buf, host, len);
    buf[len] = '\0';
    kwi_dns_addr a;
    memset(&a, 0, sizeof(a));
    if (!bracket && inet_pton(AF_INET, buf, a.bytes) == 1)
        a.family = AF_INET;
    else if (inet_pton(AF_INET6, buf, a.bytes) == 1)
        a.family = AF_INET6;
    else
        return false;
    if (out)
        *out = a;
    return true;
}

kw_err
kwi_dns_split_hostport(const char *s, size_t len, char *host, size_t cap, uint16_t *port)
{
    const char *h = s, *p = NULL;
    size_t hl = len, pl = 0;
    *port = 0;
    if (len > 0 && s[0] == '[') {
        const char *rb = memchr(s, ']', len);
        if (!rb)
            return KW_ERR_INVALID_ARG;
        h = s + 1;
        hl = (size_t)(rb - h);
        size_t rest = len - (size_t)(rb + 1 - s);
        if (rest > 0) {
            if (rb[1] != ':')
                return KW_ERR_INVALID_ARG;
            p = rb + 2;
            pl = rest - 1;
        }
        kwi_dns_addr a;
        if (!kwi_dns_literal(h, hl, &a) || a.family != AF_INET6)
            return KW_ERR_INVALID_ARG;
    } else {
        const char *c1 = memchr(s, ':', len);
        /* Two colons or more: a bare IPv6 literal, taken whole. */
        if (c1 && !memchr(c1 + 1, ':', len - (size_t)(c1 + 1 - s))) {
            hl = (size_t)(c1 - s);
            p = c1 + 1;
            pl = len - hl - 1;
        }
    }
    if (p) {
        uint32_t v = 0;
        if (pl == 0 || pl > 5)
            return KW_ERR_INVALID_ARG;
        for (size_t i = 0; i < pl; i++) {
            if (p[i] < '0' || p[i] > '9')
                return KW_ERR_INVALID_ARG;
            v = v * 10 + (uint32_t)(p[i] - '0');
        }
        if (v == 0 || v > 65535)
            return KW_ERR_INVALID_ARG;
        *port = (uint16_t)v;
    }
    if (hl == 0 || hl >= cap || memchr(h, '\0', hl))
        return KW_ERR_INVALID_ARG;
    memcpy(host, h, hl);
    host[hl] = '\0';
    return KW_ERR_OK;
}

const char *
kwi_dns_addr_str(const kwi_dns_addr *a, char *buf, size_t cap)
{
    if (cap == 0)
        return buf;
    if (!inet_ntop(a->family, a->bytes, buf, (socklen_t)cap))
        snprintf(buf, cap, "?");
    return buf;
}

socklen_t
kwi_dns_addr_sockaddr(const kwi_dns_addr *a, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (a->family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        memcpy(&in->sin_addr, a->bytes, 4);
        return sizeof(*in);
    }
    if (a->family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        memcpy(&in6->sin6_addr, a->bytes, 16);
        return sizeof(*in6);
    }
    return 0;
}

static bool
addr_eq(const kwi_dns_addr *x, const kwi_dns_addr *y)
{
    return x->family == y->family &&
           memcmp(x->bytes, y->bytes, x->family == AF_INET ? 4u : 16u) == 0;
}

/* Appends a unless it is already there or the array is full; returns 1 if appended. */
static size_t
addr_add(kwi_dns_addr *v, size_t *n, size_t cap, const kwi_dns_addr *a)
{
    for (size_t i = 0; i < *n; i++)
        if (addr_eq(&v[i], a))
            return 0;
    if (*n >= cap)
        return 0;
    v[(*n)++] = *a;
    return 1;
}

/* ==== pure: messages ======================================================================== */

kw_err
kwi_dns_query_encode(uint8_t *buf, size_t cap, size_t *len, uint16_t id, const char *name,
                     uint16_t qtype)
{
    char canon[KWI_DNS_MAX_NAME + 1];
    uint8_t wire[256];
    if (kwi_dns_name_check(name, strlen(name), canon) != KW_ERR_OK)
        return KW_ERR_INVALID_ARG;
    size_t wl = name_to_wire(canon, wire);
    kw_wr w;
    kw_wr_init_fixed(&w, buf, cap);
    kw_wr_u16(&w, id);
    kw_wr_u16(&w, 0x0100); /* QR=0 (query), OPCODE=0 (QUERY), RD=1 */
    kw_wr_u16(&w, 1);      /* QDCOUNT */
    kw_wr_u16(&w, 0);      /* ANCOUNT */
    kw_wr_u16(&w, 0);      /* NSCOUNT */
    kw_wr_u16(&w, 0);      /* ARCOUNT */
    kw_wr_raw(&w, wire, wl);
    kw_wr_u16(&w, qtype);
    kw_wr_u16(&w, KWI_DNS_CLASS_IN);
    if (kw_wr_finish(&w) != KW_ERR_OK)
        return KW_ERR_NOSPACE;
    *len = kw_wr_len(&w);
    return KW_ERR_OK;
}

/* Reads the (possibly compressed) name at *pos, whose in-place bytes must end by `end`.
 * Writes the lower-cased, uncompressed wire form to out[256] and its length to *outlen, and
 * moves *pos past the in-place bytes (up to the root label or the first pointer).
 *
 * Loop protection: `floor` is where the segment being read starts (the name itself, then
 * each pointer's target). A pointer must point strictly below it, so targets strictly
 * decrease and the walk cannot revisit a byte; the hop bound caps the work regardless. A
 * rule of "below the pointer's own position" would not do: a label followed by a pointer to
 * that label satisfies it and loops. */
static kw_err
read_name(const uint8_t *msg, size_t len, size_t *pos, size_t end, uint8_t *out, size_t *outlen)
{
    size_t o = *pos, floor = *pos, n = 0, hops = 0;
    bool jumped = false;
    for (;;) {
        /* Past the in-place bytes the message is cut; past a pointer target it is broken. */
        size_t lim = jumped ? len : end;
        if (o >= lim)
            return jumped ? KW_ERR_MALFORMED : KW_ERR_TRUNCATED;
        uint8_t c = msg[o];
        if ((c & 0xC0) == 0xC0) {
            if (lim - o < 2)
                return jumped ? KW_ERR_MALFORMED : KW_ERR_TRUNCATED;
            size_t target = ((size_t)(c & 0x3F) << 8) | msg[o + 1];
            if (target >= floor || ++hops > KWI_DNS_MAX_PTRHOPS)
                return KW_ERR_MALFORMED;
            if (!jumped)
                *pos = o + 2;
            jumped = true;
            floor = target;
            o = target;
            continue;
        }
        if (c & 0xC0) /* 0x40 and 0x80: extended and reserved label types (RFC 6891) */
            return KW_ERR_MALFORMED;
        if (c == 0) {
            out[n++] = 0;
            if (!jumped)
                *pos = o + 1;
            *outlen = n;
            return KW_ERR_OK;
        }
        if (lim - o - 1 < c)
            return jumped ? KW_ERR_MALFORMED : KW_ERR_TRUNCATED;
        if (n + 1u + c + 1u > 255u) /* this label plus the root label must fit in 255 bytes */
            return KW_ERR_MALFORMED;
        out[n++] = c;
        for (size_t i = 0; i < c; i++)
            out[n++] = lower(msg[o + 1 + i]);
        o += 1u + c;
    }
}

/* Reads a big-endian u16/u32 at p (the caller checked the bounds). */
static uint16_t
be16(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* What one pass over the answer section found for one owner name. */
typedef struct scan {
    const uint8_t *owner;
    size_t owner_len;
    uint16_t qtype;
    bool cname;
    uint8_t target[256];
    size_t target_len;
    uint32_t cname_ttl;
} scan;

/* One pass over the ANCOUNT records at *start: validates every record, collects the qtype
 * addresses owned by s->owner into out, and notes the first CNAME of that owner. */
static kw_err
scan_answers(const uint8_t *msg, size_t len, size_t start, uint16_t ancount, scan *s,
             kwi_dns_answer *out, uint32_t *ttl)
{
    size_t pos = start;
    for (uint16_t i = 0; i < ancount; i++) {
        uint8_t own[256];
        size_t own_len;
        kw_err e = read_name(msg, len, &pos, len, own, &own_len);
        if (e != KW_ERR_OK)
            return e;
        if (len - pos < 10)
            return KW_ERR_TRUNCATED;
        uint16_t type = be16(msg + pos), cls = be16(msg + pos + 2);
        uint32_t rttl = be32(msg + pos + 4);
        size_t rdlen = be16(msg + pos + 8);
        pos += 10;
        if (len - pos < rdlen)
            return KW_ERR_TRUNCATED;
        if (rttl > INT32_MAX) /* RFC 2181 section 8: a TTL with the top bit set means zero */
            rttl = 0;
        bool mine = cls == KWI_DNS_CLASS_IN && own_len == s->owner_len &&
                    memcmp(own, s->owner, own_len) == 0;
        if (mine && type == s->qtype) {
            size_t alen = type == KWI_DNS_TYPE_A ? 4u : 16u;
            if (rdlen != alen)
                return KW_ERR_MALFORMED;
            if (out->naddrs < KWI_DNS_MAX_ADDRS) {
                kwi_dns_addr *a = &out->addrs[out->naddrs++];
                memset(a, 0, sizeof(*a));
                a->family = type == KWI_DNS_TYPE_A ? AF_INET : AF_INET6;
                memcpy(a->bytes, msg + pos, alen);
                if (rttl < *ttl)
                    *ttl = rttl;
            } else {
                out->nskipped++;
            }
        } else if (mine && type == KWI_DNS_TYPE_CNAME && !s->cname) {
            size_t tpos = pos;
            e = read_name(msg, len, &tpos, pos + rdlen, s->target, &s->target_len);
            if (e != KW_ERR_OK)
                return KW_ERR_MALFORMED; /* a name that overruns its own RDLENGTH */
            s->cname = true;
            s->cname_ttl = rttl;
        }
        pos += rdlen;
    }
    return KW_ERR_OK;
}

/* Header flags (RFC 1035 section 4.1.1). */
#define F_QR 0x8000u
#define F_TC 0x0200u

kw_err
kwi_dns_response_decode(const uint8_t *msg, size_t len, uint16_t id, const char *name,
                        uint16_t qtype, kwi_dns_answer *out)
{
    memset(out, 0, sizeof(*out));
    char canon[KWI_DNS_MAX_NAME + 1];
    uint8_t qwire[256];
    if (kwi_dns_name_check(name, strlen(name), canon) != KW_ERR_OK)
        return KW_ERR_INVALID_ARG;
    size_t qwl = name_to_wire(canon, qwire);

    if (len < 12)
        return KW_ERR_TRUNCATED;
    uint16_t flags = be16(msg + 2), qdcount = be16(msg + 4), ancount = be16(msg + 6);
    if (be16(msg) != id || !(flags & F_QR) || ((flags >> 11) & 0xFu) != 0)
        return KW_ERR_AGAIN;
    out->rcode = (uint8_t)(flags & 0xFu);
    out->truncated = (flags & F_TC) != 0;
    if (qdcount == 0) {
        /* Only a server failure may omit the question; a negative or positive answer must
         * say what it answers, or it could be an answer to anything. */
        bool failure = out->rcode != KWI_DNS_RCODE_NOERROR && out->rcode != KWI_DNS_RCODE_NXDOMAIN;
        return failure ? KW_ERR_OK : KW_ERR_AGAIN;
    }
    if (qdcount != 1)
        return KW_ERR_MALFORMED;

    size_t pos = 12, qnl;
    uint8_t qn[256];
    kw_err e = read_name(msg, len, &pos, len, qn, &qnl);
    if (e != KW_ERR_OK)
        return e;
    if (len - pos < 4)
        return KW_ERR_TRUNCATED;
    if (qnl != qwl || memcmp(qn, qwire, qwl) != 0 || be16(msg + pos) != qtype ||
        be16(msg + pos + 2) != KWI_DNS_CLASS_IN)
        return KW_ERR_AGAIN;
    pos += 4;
    if (out->truncated || out->rcode != KWI_DNS_RCODE_NOERROR)
        return KW_ERR_OK;
    if (ancount > (len - pos) / MIN_RR_SIZE)
        return KW_ERR_TRUNCATED;

    /* Follow the CNAME chain from the question name: each pass looks for the current owner's
     * addresses and, failing those, its CNAME. The order of the records does not matter. */
    scan s;
    memset(&s, 0, sizeof(s));
    uint8_t owner[256];
    memcpy(owner, qwire, qwl);
    s.owner = owner;
    s.owner_len = qwl;
    s.qtype = qtype;
    uint32_t ttl = UINT32_MAX;
    for (;;) {
        s.cname = false;
        e = scan_answers(msg, len, pos, ancount, &s, out, &ttl);
        if (e != KW_ERR_OK) {
            out->naddrs = out->nskipped = 0;
            return e;
        }
        if (out->naddrs > 0 || !s.cname)
            break;
        if (out->cnames >= KWI_DNS_MAX_CNAMES) {
            out->naddrs = 0;
            return KW_ERR_MALFORMED;
        }
        out->cnames++;
        memcpy(owner, s.target, s.target_len);
        s.owner_len = s.target_len;
        if (s.cname_ttl < ttl)
            ttl = s.cname_ttl;
    }
    out->ttl = out->naddrs > 0 ? ttl : 0;
    return KW_ERR_OK;
}

/* ==== pure: resolv.conf and hosts =========================================================== */

typedef void (*line_fn)(void *ud, const char *s, size_t n);

/* Calls fn for each line. A line of LINE_MAX_BYTES or more is skipped, as file_lines must. */
static void
text_lines(const char *text, size_t len, line_fn fn, void *ud)
{
    while (len > 0) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl ? (size_t)(nl - text) : len;
        if (n < LINE_MAX_BYTES)
            fn(ud, text, n);
        if (!nl)
            break;
        text += n + 1;
        len -= n + 1;
    }
}

static bool
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* The next whitespace-separated token of s[*i..n), or NULL. Comments were cut before. */
static const char *
token(const char *s, size_t n, size_t *i, size_t *tl)
{
    while (*i < n && is_space(s[*i]))
        (*i)++;
    if (*i >= n)
        return NULL;
    size_t b = *i;
    while (*i < n && !is_space(s[*i]))
        (*i)++;
    *tl = *i - b;
    return s + b;
}

static size_t
cut_comment(const char *s, size_t n, const char *marks)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '\0' && strchr(marks, s[i]))
            return i;
    return n;
}

static bool
tok_is(const char *t, size_t tl, const char *word)
{
    return tl == strlen(word) && memcmp(t, word, tl) == 0;
}

/* "key:N" with key matched; the value clamped to [lo, hi]. False when not this key or bad. */
static bool
option_num(const char *t, size_t tl, const char *key, unsigned lo, unsigned hi, unsigned *v)
{
    size_t kl = strlen(key);
    if (tl <= kl || memcmp(t, key, kl) != 0)
        return false;
    unsigned x = 0;
    for (size_t i = kl; i < tl; i++) {
        if (t[i] < '0' || t[i] > '9')
            return false;
        if (x < 100000u)
            x = x * 10u + (unsigned)(t[i] - '0');
    }
    *v = x < lo ? lo : x > hi ? hi : x;
    return true;
}

void
kwi_dns_conf_init(kwi_dns_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->timeout_ms = 5000;
    c->attempts = 2;
    c->ndots = 1;
}

static void
conf_line(void *ud, const char *s, size_t n)
{
    kwi_dns_conf *c = ud;
    size_t i = 0, tl;
    n = cut_comment(s, n, "#;");
    const char *kw = token(s, n, &i, &tl);
    if (!kw)
        return;
    if (tok_is(kw, tl, "nameserver")) {
        kwi_dns_addr a;
        const char *t = token(s, n, &i, &tl);
        /* A scope id (fe80::1%eth0) fails inet_pton and the line is skipped. */
        if (t && c->nns < KWI_DNS_MAX_NS && kwi_dns_literal(t, tl, &a) && t[0] != '[')
            c->ns[c->nns++] = a;
    } else if (tok_is(kw, tl, "options")) {
        const char *t;
        while ((t = token(s, n, &i, &tl)) != NULL) {
            unsigned v;
            if (option_num(t, tl, "timeout:", 1, 30, &v))
                c->timeout_ms = v * 1000u;
            else if (option_num(t, tl, "attempts:", 1, 5, &v))
                c->attempts = v;
            else if (option_num(t, tl, "ndots:", 0, 15, &v))
                c->ndots = v;
            /* rotate, edns0, single-request, ...: ignored. */
        }
    }
    /* search, domain, sortlist, ...: ignored (see dns.h). */
}

static void
conf_finish(kwi_dns_conf *c)
{
    if (c->nns == 0) {
        memset(&c->ns[0], 0, sizeof(c->ns[0]));
        c->ns[0].family = AF_INET;
        c->ns[0].bytes[0] = 127;
        c->ns[0].bytes[3] = 1;
        c->nns = 1;
        c->ns_default = true;
    }
}

void
kwi_dns_conf_parse(kwi_dns_conf *c, const char *text, size_t len)
{
    text_lines(text, len, conf_line, c);
    conf_finish(c);
}

typedef struct hosts_ctx {
    const char *name;
    size_t name_len;
    int family;
    kwi_dns_addr *addrs;
    size_t *n, cap, added;
} hosts_ctx;

static void
hosts_line(void *ud, const char *s, size_t n)
{
    hosts_ctx *h = ud;
    size_t i = 0, tl;
    n = cut_comment(s, n, "#");
    const char *t = token(s, n, &i, &tl);
    kwi_dns_addr a;
    if (!t || !kwi_dns_literal(t, tl, &a) || t[0] == '[')
        return;
    if (h->family != AF_UNSPEC && a.family != h->family)
        return;
    while ((t = token(s, n, &i, &tl)) != NULL) {
        if (tl > 1 && t[tl - 1] == '.')
            tl--;
        if (tl == h->name_len && strncasecmp(t, h->name, tl) == 0) {
            h->added += addr_add(h->addrs, h->n, h->cap, &a);
            return;
        }
    }
}

size_t
kwi_dns_hosts_parse(const char *text, size_t len, const char *name, int family, kwi_dns_addr *addrs,
                    size_t *n, size_t cap)
{
    hosts_ctx h = {name, strlen(name), family, addrs, n, cap, 0};
    text_lines(text, len, hosts_line, &h);
    return h.added;
}

/* ==== I/O: files ========================================================================== */

static const char *
err_text(int e, char *buf, size_t cap)
{
    return strerror_r(e, buf, cap); /* the GNU form (_GNU_SOURCE): returns the text */
}

/* Streams a regular file's lines through a fixed buffer: no allocation, no FILE. A line
 * longer than the buffer is skipped whole; at most FILE_MAX_BYTES are read, so a hosts path
 * that names a device cannot hold the loop. A missing file sets *missing. */
static kw_err
file_lines(const char *path, line_fn fn, void *ud, bool *missing, kw_error *err)
{
    char buf[LINE_MAX_BYTES], eb[128];
    *missing = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            *missing = true;
            return KW_ERR_OK;
        }
        return kw_error_set(err, KW_ERR_IO, "cannot open %s: %s", path,
                            err_text(errno, eb, sizeof(eb)));
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return kw_error_set(err, KW_ERR_IO, "%s is not a regular file", path);
    }
    size_t have = 0, total = 0;
    bool skipping = false;
    while (total < FILE_MAX_BYTES) {
        ssize_t r = read(fd, buf + have, sizeof(buf) - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return kw_error_set(err, KW_ERR_IO, "cannot read %s: %s", path,
                                err_text(e, eb, sizeof(eb)));
        }
        if (r == 0)
            break;
        total += (size_t)r;
        have += (size_t)r;
        size_t start = 0;
        const char *nl;
        while ((nl = memchr(buf + start, '\n', have - start)) != NULL) {
            size_t ln = (size_t)(nl - (buf + start));
            if (!skipping)
                fn(ud, buf + start, ln);
            skipping = false;
            start += ln + 1;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == sizeof(buf)) { /* a line longer than the buffer: drop it */
            skipping = true;
            have = 0;
        }
    }
    if (have > 0 && !skipping)
        fn(ud, buf, have);
    close(fd);
    return KW_ERR_OK;
}

kw_err
kwi_dns_conf_load(kwi_dns_conf *c, const char *path, kw_error *err)
{
    bool missing;
    kwi_dns_conf tmp;
    kwi_dns_conf_init(&tmp);
    kw_err e = file_lines(path ? path : DEFAULT_RESOLV_CONF, conf_line, &tmp, &missing, err);
    if (e != KW_ERR_OK)
        return e;
    conf_finish(&tmp);
    *c = tmp;
    return KW_ERR_OK;
}

kw_err
kwi_dns_hosts_load(const char *path, const char *name, int family, kwi_dns_addr *addrs, size_t *n,
                   size_t cap, kw_error *err)
{
    bool missing;
    hosts_ctx h = {name, strlen(name), family, addrs, n, cap, 0};
    return file_lines(path ? path : DEFAULT_HOSTS, hosts_line, &h, &missing, err);
}

/* ==== I/O: resolver ========================================================================= */

typedef struct cache_ent {
    bool used;
    int64_t expires_ms;
    char name[KWI_DNS_MAX_NAME + 1];
    kwi_dns_result res;
} cache_ent;

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
    size_t cache_cap; /* 0 = no cache */
    cache_ent *cache; /* cache_cap entries, allocated at the first insert */
    kwi_dns_rand rand;
    uint64_t prng; /* fallback state when getrandom() fails */
    kwi_dns_lookup *lookups;
};

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

static uint32_t
rand32(kwi_dns *d)
{
    if (d->rand.next)
        return d->rand.next(d->rand.ud);
    uint32_t v;
    if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
        return v;
    /* No kernel entropy yet (early boot): xorshift64* seeded once from time and address. */
    if (d->prng == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        d->prng = ((uint64_t)ts.tv_sec << 30) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)d ^
                  ((uint64_t)getpid() << 48) ^ 0x9E3779B97F4A7C15u;
    }
    d->prng ^= d->prng >> 12;
    d->prng ^= d->prng << 25;
    d->prng ^= d->prng >> 27;
    return (uint32_t)((d->prng * 0x2545F4914F6CDD1Du) >> 32);
}

static char *
dup_str(const kw_allocator *a, const char *s, size_t *size)
{
    *size = strlen(s) + 1;
    char *p = a->alloc(a->ud, *size);
    if (p)
        memcpy(p, s, *size);
    return p;
}

void
kwi_dns_opts_init(kwi_dns_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->family = AF_UNSPEC;
    o->ttl_min_s = TTL_MIN_DEFAULT;
    o->ttl_max_s = TTL_MAX_DEFAULT;
}

void
kwi_dns_free(kwi_dns *d)
{
    if (!d)
        return;
    for (kwi_dns_lookup *l = d->lookups; l; l = l->next) {
        l->d = NULL;
        if (l->status == KW_ERR_AGAIN) {
            l->status = KW_ERR_CANCELED;
            l->deadline = -1;
            kw_error_set(&l->err, KW_ERR_CANCELED, "lookup of %s canceled: resolver freed",
                         l->name);
        }
    }
    if (d->cache)
        d->a->free(d->a->ud, d->cache, d->cache_cap * sizeof(cache_ent));
    if (d->conf_path)
        d->a->free(d->a->ud, d->conf_path, d->conf_path_size);
    if (d->hosts_path)
        d->a->free(d->a->ud, d->hosts_path, d->hosts_path_size);
    d->a->free(d->a->ud, d, sizeof(*d));
}

kw_err
kwi_dns_new(const kwi_dns_opts *o, kwi_dns **out, kw_error *err)
{
    kwi_dns_opts defaults;
    *out = NULL;
    if (!o) {
        kwi_dns_opts_init(&defaults);
        o = &defaults;
    }
    if (o->family != AF_UNSPEC && o->family != AF_INET && o->family != AF_INET6)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "resolver family must be any, v4 or v6");
    if (o->ttl_min_s > o->ttl_max_s)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "resolver ttl_min_s exceeds ttl_max_s");
    const kw_allocator *a = o->alloc ? o->alloc : kw_allocator_default();
    kwi_dns *d = a->alloc(a->ud, sizeof(*d));
    if (!d)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory creating the resolver");
    memset(d, 0, sizeof(*d));
    d->a = a;
    d->port = KWI_DNS_PORT;
    d->family = o->family;
    d->prefer = o->prefer;
    d->ttl_min_s = o->ttl_min_s;
    d->ttl_max_s = o->ttl_max_s;
    d->cache_cap = o->cache_entries < 0    ? 0
                   : o->cache_entries == 0 ? CACHE_DEFAULT
                                           : (size_t)o->cache_entries;
    d->rand = o->rand;
    const char *hosts = o->hosts ? o->hosts : DEFAULT_HOSTS;
    bool nomem = false;
    if (hosts[0] != '\0')
        nomem |= (d->hosts_path = dup_str(a, hosts, &d->hosts_path_size)) == NULL;
    if (!o->conf) {
        const char *cp = o->resolv_conf ? o->resolv_conf : DEFAULT_RESOLV_CONF;
        nomem |= (d->conf_path = dup_str(a, cp, &d->conf_path_size)) == NULL;
    }
    if (nomem) {
        kwi_dns_free(d);
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory creating the resolver");
    }
    kw_err e = KW_ERR_OK;
    if (o->conf) {
        d->conf = *o->conf;
        if (d->conf.nns > KWI_DNS_MAX_NS)
            d->conf.nns = KWI_DNS_MAX_NS;
        conf_finish(&d->conf);
    } else {
        e = kwi_dns_conf_load(&d->conf, d->conf_path, err);
    }
    if (e != KW_ERR_OK) {
        kwi_dns_free(d);
        return e;
    }
    *out = d;
    return KW_ERR_OK;
}

void
kwi_dns_set_port(kwi_dns *d, uint16_t port)
{
    d->port = port ? port : KWI_DNS_PORT;
}

kw_err
kwi_dns_reload(kwi_dns *d, kw_error *err)
{
    if (!d->conf_path)
        return KW_ERR_OK;
    return kwi_dns_conf_load(&d->conf, d->conf_path, err);
}

static cache_ent *
cache_find(kwi_dns *d, const char *name)
{
    for (size_t i = 0; d->cache && i < d->cache_cap; i++)
        if (d->cache[i].used && strcmp(d->cache[i].name, name) == 0)
            return &d->cache[i];
    return NULL;
}

void
kwi_dns_cache_forget(kwi_dns *d, const char *host)
{
    char canon[KWI_DNS_MAX_NAME + 1];
    if (kwi_dns_name_check(host, strlen(host), canon) != KW_ERR_OK)
        return;
    cache_ent *c = cache_find(d, canon);
    if (c)
        c->used = false;
}

/* Inserts or replaces; when full, evicts the entry that expires first. Out of memory only
 * means no caching. */
static void
cache_put(kwi_dns *d, const char *name, const kwi_dns_result *res, int64_t now_ms)
{
    if (d->cache_cap == 0)
        return;
    if (!d->cache) {
        if (d->cache_cap > SIZE_MAX / sizeof(cache_ent))
            return;
        d->cache = d->a->alloc(d->a->ud, d->cache_cap * sizeof(cache_ent));
        if (!d->cache)
            return;
        memset(d->cache, 0, d->cache_cap * sizeof(cache_ent));
    }
    cache_ent *c = cache_find(d, name);
    for (size_t i = 0; !c && i < d->cache_cap; i++)
        if (!d->cache[i].used || d->cache[i].expires_ms <= now_ms)
            c = &d->cache[i];
    if (!c) {
        c = &d->cache[0];
        for (size_t i = 1; i < d->cache_cap; i++)
            if (d->cache[i].expires_ms < c->expires_ms)
                c = &d->cache[i];
    }
    c->used = true;
    c->expires_ms = now_ms + (int64_t)res->ttl_s * 1000;
    snprintf(c->name, sizeof(c->name), "%s", name);
    c->res = *res;
}

/* Orders addresses into a result: families interleaved, the preferred one first, duplicates
 * dropped, at most KWI_DNS_MAX_ADDRS. */
static void
order_result(kwi_dns_result *res, const kwi_dns_addr *first, size_t n1, const kwi_dns_addr *second,
             size_t n2)
{
    res->n = 0;
    for (size_t i = 0; i < n1 || i < n2; i++) {
        if (i < n1)
            addr_add(res->addr, &res->n, KWI_DNS_MAX_ADDRS, &first[i]);
        if (i < n2)
            addr_add(res->addr, &res->n, KWI_DNS_MAX_ADDRS, &second[i]);
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

/* ==== I/O: lookups ========================================================================== */

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
            cache_put(l->d, l->name, &l->res, now_ms);
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
                   err_text(l->send_errno, eb, sizeof(eb)));
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
                            err_text(errno, eb, sizeof(eb)));
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
    cache_ent *c = cache_find(d, l->name);
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
        q->id = (uint16_t)rand32(d);
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
