/* The pure half of the stub resolver; see dns.h for the contract and the deliberate limits.
 *
 * Names, numeric literals and "host:port", the query encoder, the response decoder and the
 * resolv.conf and hosts parsers. Nothing here touches a descriptor, reads a clock or
 * allocates, so a fuzzer can link it on its own. The files behind the parsers are read in
 * dns_resolver.c; the lookups that send and match the messages are in dns.c.
 *
 * Trust: every byte of a response is hostile. Names are decompressed with each pointer
 * required to land strictly before the segment it was read from, so the walk always moves
 * backwards and ends within as many hops as the message has bytes (and at most
 * KWI_DNS_MAX_PTRHOPS); counts are checked against the bytes left before any loop runs on
 * them; the decoder fills fixed arrays and never allocates. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "kwire/proto.h"
#include "net/dns_int.h"

#define MIN_RR_SIZE 11u /* a root or pointer name (1-2 bytes) + type, class, ttl, rdlen */

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
size_t
kwi_dns_addr_add(kwi_dns_addr *v, size_t *n, size_t cap, const kwi_dns_addr *a)
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

/* Calls fn for each line. A line of KWI_DNS_LINE_MAX or more is skipped, as file_lines must. */
static void
text_lines(const char *text, size_t len, kwi_dns_line_fn fn, void *ud)
{
    while (len > 0) {
        const char *nl = memchr(text, '\n', len);
        size_t n = nl ? (size_t)(nl - text) : len;
        if (n < KWI_DNS_LINE_MAX)
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

void
kwi_dns_conf_line(void *ud, const char *s, size_t n)
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

void
kwi_dns_conf_finish(kwi_dns_conf *c)
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
    text_lines(text, len, kwi_dns_conf_line, c);
    kwi_dns_conf_finish(c);
}

void
kwi_dns_hosts_line(void *ud, const char *s, size_t n)
{
    kwi_dns_hosts_ctx *h = ud;
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
            h->added += kwi_dns_addr_add(h->addrs, h->n, h->cap, &a);
            return;
        }
    }
}

size_t
kwi_dns_hosts_parse(const char *text, size_t len, const char *name, int family, kwi_dns_addr *addrs,
                    size_t *n, size_t cap)
{
    kwi_dns_hosts_ctx h = {name, strlen(name), family, addrs, n, cap, 0};
    text_lines(text, len, kwi_dns_hosts_line, &h);
    return h.added;
}
