/* The stub resolver (net/dns.h).
 *
 * Pure part: exact query bytes; golden responses built byte by byte (A, AAAA, CNAME chains,
 * compression, NXDOMAIN, SERVFAIL, TC, error replies without a question); replies to another
 * query are told apart from broken ones; hostile responses (pointer loops, forward pointers,
 * reserved label types, names over 255 bytes, lengths and counts past the end, CNAME loops)
 * are errors; every truncation of every golden message, placed against a guard page, is an
 * error; a deterministic mutation sweep never crashes. resolv.conf and hosts from temp files,
 * numeric literals and host:port splitting.
 *
 * I/O part, end to end against a real UDP DNS server that the test runs itself on 127.0.0.1
 * (a thread answering from a table on an ephemeral port; kwi_dns_set_port points the resolver
 * at it): answers arrive while the caller's loop keeps ticking; a server that never answers
 * leads to retries, then a clear timeout; a reply with the wrong id or from the wrong port is
 * ignored; cache hits skip the network until the TTL runs out; SERVFAIL moves on at once;
 * failover to a second server (127.0.0.2, and ::1 with v4-mapped sends when IPv6 loopback
 * works); cancellation; the reactor adapter; allocation failure at every point. When dnsmasq
 * is installed it serves as an independent second server; otherwise that case prints SKIP. */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "net/dns.h"
#include "net/reactor.h"
#include "support/guard.h"

/* ==== helpers ============================================================================= */

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Writes text to a new temp file; path must hold 64 bytes. */
static void
temp_file(char *path, const char *text)
{
    snprintf(path, 64, "/tmp/kwire-dns-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t n = strlen(text);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
}

static const char *
astr(const kwi_dns_addr *a)
{
    static char buf[4][INET6_ADDRSTRLEN];
    static int k;
    k = (k + 1) % 4;
    return kwi_dns_addr_str(a, buf[k], sizeof(buf[k]));
}

/* A message builder: every golden response below is assembled byte by byte. */
typedef struct mb {
    uint8_t b[2048];
    size_t n;
} mb;

static void
mb_u8(mb *m, unsigned v)
{
    m->b[m->n++] = (uint8_t)v;
}

static void
mb_u16(mb *m, unsigned v)
{
    mb_u8(m, (v >> 8) & 0xFF);
    mb_u8(m, v & 0xFF);
}

static void
mb_u32(mb *m, uint32_t v)
{
    mb_u16(m, v >> 16);
    mb_u16(m, v & 0xFFFF);
}

/* An uncompressed name; "" is the root. Labels are written as given (case kept). */
static void
mb_labels(mb *m, const char *dotted)
{
    while (*dotted) {
        const char *dot = strchr(dotted, '.');
        size_t l = dot ? (size_t)(dot - dotted) : strlen(dotted);
        mb_u8(m, (unsigned)l);
        memcpy(m->b + m->n, dotted, l);
        m->n += l;
        dotted += l + (dot ? 1 : 0);
    }
}

static void
mb_name(mb *m, const char *dotted)
{
    mb_labels(m, dotted);
    mb_u8(m, 0);
}

static void
mb_ptr(mb *m, unsigned off)
{
    mb_u16(m, 0xC000u | off);
}

static void
mb_hdr(mb *m, unsigned id, unsigned flags, unsigned qd, unsigned an)
{
    m->n = 0;
    mb_u16(m, id);
    mb_u16(m, flags);
    mb_u16(m, qd);
    mb_u16(m, an);
    mb_u16(m, 0);
    mb_u16(m, 0);
}

static void
mb_question(mb *m, const char *name, unsigned qtype)
{
    mb_name(m, name);
    mb_u16(m, qtype);
    mb_u16(m, 1);
}

/* The fixed part of a record after its owner name. */
static void
mb_rr(mb *m, unsigned type, uint32_t ttl, unsigned rdlen)
{
    mb_u16(m, type);
    mb_u16(m, 1);
    mb_u32(m, ttl);
    mb_u16(m, rdlen);
}

static void
mb_a(mb *m, unsigned a, unsigned b, unsigned c, unsigned d)
{
    mb_u8(m, a);
    mb_u8(m, b);
    mb_u8(m, c);
    mb_u8(m, d);
}

#define RESP 0x8180u /* QR, RD, RA, NOERROR */
#define A    KWI_DNS_TYPE_A
#define AAAA KWI_DNS_TYPE_AAAA
#define CN   KWI_DNS_TYPE_CNAME

static kw_err
decode(const mb *m, uint16_t id, const char *name, uint16_t qtype, kwi_dns_answer *ans)
{
    return kwi_dns_response_decode(m->b, m->n, id, name, qtype, ans);
}

/* The golden A response: two A records owned by a pointer to the question name. */
static void
golden_a(mb *m)
{
    mb_hdr(m, 0x1234, RESP, 1, 2);
    mb_question(m, "Kafka.Example.COM", A);
    mb_ptr(m, 12);
    mb_rr(m, A, 300, 4);
    mb_a(m, 10, 0, 0, 1);
    mb_ptr(m, 12);
    mb_rr(m, A, 60, 4);
    mb_a(m, 10, 0, 0, 2);
}

/* www.example.com CNAME edge.example.net (suffix compressed), edge CNAME origin.example.net,
 * origin AAAA 2001:db8::7; the records out of chain order. */
static void
golden_cname(mb *m)
{
    mb_hdr(m, 0x0A0B, RESP, 1, 3);
    mb_question(m, "www.example.com", AAAA); /* name at 12 */
    /* origin.example.net AAAA, owner written after the CNAMEs: see below. */
    mb_ptr(m, 12); /* record 1 at 33: www CNAME edge.example.net */
    mb_rr(m, CN, 120, 18);
    size_t edge = m->n; /* "edge" label then "example.net" */
    mb_name(m, "edge.example.net");
    mb_u8(m, 6); /* record 2: origin.example.net (labels + pointer to example.net) AAAA */
    memcpy(m->b + m->n, "origin", 6);
    m->n += 6;
    mb_ptr(m, (unsigned)edge + 5);
    size_t origin = m->n - 9;
    mb_rr(m, AAAA, 30, 16);
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7};
    memcpy(m->b + m->n, v6, 16);
    m->n += 16;
    mb_ptr(m, (unsigned)edge); /* record 3: edge.example.net CNAME origin.example.net */
    mb_rr(m, CN, 90, 2);
    mb_ptr(m, (unsigned)origin);
}

/* ==== pure: names, literals, host:port ==================================================== */

START_TEST(test_name_check)
{
    char out[KWI_DNS_MAX_NAME + 1];
    char l63[64], l64[65], long253[260], long254[260];
    memset(l63, 'a', 63);
    l63[63] = 0;
    memset(l64, 'a', 64);
    l64[64] = 0;
    /* 63+1+63+1+63+1+61 = 253 characters */
    snprintf(long253, sizeof(long253), "%s.%s.%s.%.61s", l63, l63, l63, l63);
    snprintf(long254, sizeof(long254), "%s.%s.%s.%.62s", l63, l63, l63, l63);
    ck_assert_uint_eq(strlen(long253), 253);
    struct {
        const char *in, *out;
    } ok[] = {{"Kafka-1.Example.COM", "kafka-1.example.com"},
              {"broker_1", "broker_1"},
              {"a.", "a"},
              {l63, l63},
              {long253, long253},
              {"xn--bcher-kva.example", "xn--bcher-kva.example"}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_int_eq(kwi_dns_name_check(ok[i].in, strlen(ok[i].in), out), KW_ERR_OK);
        ck_assert_str_eq(out, ok[i].out);
    }
    const char *bad[] = {"",       ".",         "a..b",  ".a",  "a..", "a b",
                         "a%eth0", "b\xc3\xbc", "[::1]", "a/b", l64,   long254};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(kwi_dns_name_check(bad[i], strlen(bad[i]), out) == KW_ERR_INVALID_ARG,
                      "accepted \"%s\"", bad[i]);
    ck_assert_int_eq(kwi_dns_name_check("ab\0cd", 5, out), KW_ERR_INVALID_ARG);
}
END_TEST

START_TEST(test_literals)
{
    kwi_dns_addr a;
    ck_assert(kwi_dns_literal("127.0.0.1", 9, &a));
    ck_assert_int_eq(a.family, AF_INET);
    ck_assert_str_eq(astr(&a), "127.0.0.1");
    ck_assert(kwi_dns_literal("::1", 3, &a));
    ck_assert_int_eq(a.family, AF_INET6);
    ck_assert(kwi_dns_literal("[::1]", 5, &a));
    ck_assert_int_eq(a.family, AF_INET6);
    ck_assert_str_eq(astr(&a), "::1");
    ck_assert(kwi_dns_literal("[2001:db8::ff]", 14, &a));
    ck_assert_str_eq(astr(&a), "2001:db8::ff");
    ck_assert(kwi_dns_literal("::ffff:10.1.2.3", 15, &a));
    ck_assert_int_eq(a.family, AF_INET6);
    const char *no[] = {"[127.0.0.1]", "1.2.3",     "256.1.1.1", "1.2.3.4.5", "fe80::1%eth0",
                        "[::1",        "::1]",      "[]",        "",          "localhost",
                        "1.2.3.4 ",    "0x7f.0.0.1"};
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!kwi_dns_literal(no[i], strlen(no[i]), NULL), "took \"%s\"", no[i]);
    ck_assert(!kwi_dns_literal("1.2.3.4\0x", 9, NULL));

    struct sockaddr_storage ss;
    kwi_dns_literal("[::1]", 5, &a);
    ck_assert_uint_eq(kwi_dns_addr_sockaddr(&a, 9092, &ss), sizeof(struct sockaddr_in6));
    ck_assert_uint_eq(ntohs(((struct sockaddr_in6 *)&ss)->sin6_port), 9092);
    kwi_dns_literal("10.0.0.1", 8, &a);
    ck_assert_uint_eq(kwi_dns_addr_sockaddr(&a, 53, &ss), sizeof(struct sockaddr_in));
    a.family = AF_UNIX;
    ck_assert_uint_eq(kwi_dns_addr_sockaddr(&a, 53, &ss), 0);
}
END_TEST

START_TEST(test_split_hostport)
{
    struct {
        const char *in, *host;
        unsigned port;
    } ok[] = {{"broker:9092", "broker", 9092},   {"10.0.0.1:9093", "10.0.0.1", 9093},
              {"[::1]:9094", "::1", 9094},       {"[fe80::2]", "fe80::2", 0},
              {"broker", "broker", 0},           {"::1", "::1", 0},
              {"2001:db8::1", "2001:db8::1", 0}, {"h:65535", "h", 65535}};
    char host[64];
    uint16_t port;
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        ck_assert_int_eq(
            kwi_dns_split_hostport(ok[i].in, strlen(ok[i].in), host, sizeof(host), &port),
            KW_ERR_OK);
        ck_assert_str_eq(host, ok[i].host);
        ck_assert_uint_eq(port, ok[i].port);
    }
    const char *bad[] = {"",     ":9092",     "broker:", "broker:0", "broker:65536", "broker:9x",
                         "[::1", "[::1]9092", "[::1]:",  "[host]:1", "[1.2.3.4]",    "b:123456"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(kwi_dns_split_hostport(bad[i], strlen(bad[i]), host, sizeof(host), &port) ==
                          KW_ERR_INVALID_ARG,
                      "accepted \"%s\"", bad[i]);
    ck_assert_int_eq(kwi_dns_split_hostport("abcdef:1", 8, host, 6, &port), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kwi_dns_split_hostport("abcde:1", 7, host, 6, &port), KW_ERR_OK);
}
END_TEST

/* ==== pure: query ========================================================================= */

START_TEST(test_query_bytes)
{
    static const uint8_t want[] = {
        0xBE, 0xEF,             /* id */
        0x01, 0x00,             /* RD */
        0x00, 0x01, 0x00, 0x00, /* QDCOUNT 1, ANCOUNT 0 */
        0x00, 0x00, 0x00, 0x00, /* NSCOUNT, ARCOUNT */
        5,    'k',  'a',  'f',  'k', 'a', 7,   'e', 'x',  'a',  'm',
        'p',  'l',  'e',  3,    'c', 'o', 'm', 0,   0x00, 0x1C, /* AAAA */
        0x00, 0x01,                                             /* IN */
    };
    uint8_t buf[KWI_DNS_QUERY_MAX];
    size_t len = 0;
    ck_assert_int_eq(
        kwi_dns_query_encode(buf, sizeof(buf), &len, 0xBEEF, "Kafka.Example.com.", AAAA),
        KW_ERR_OK);
    ck_assert_uint_eq(len, sizeof(want));
    ck_assert_mem_eq(buf, want, sizeof(want));

    ck_assert_int_eq(kwi_dns_query_encode(buf, sizeof(buf), &len, 7, "a", A), KW_ERR_OK);
    static const uint8_t want_a[] = {0, 7, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0, 0, 1, 0, 1};
    ck_assert_uint_eq(len, sizeof(want_a));
    ck_assert_mem_eq(buf, want_a, sizeof(want_a));

    ck_assert_int_eq(kwi_dns_query_encode(buf, sizeof(want_a) - 1, &len, 7, "a", A),
                     KW_ERR_NOSPACE);
    ck_assert_int_eq(kwi_dns_query_encode(buf, sizeof(buf), &len, 7, "a..b", A),
                     KW_ERR_INVALID_ARG);
    /* The longest name fits the documented maximum. */
    char name[260];
    memset(name, 'a', 253);
    for (int i = 63; i < 253; i += 64)
        name[i] = '.';
    name[253] = 0;
    ck_assert_int_eq(kwi_dns_query_encode(buf, sizeof(buf), &len, 1, name, A), KW_ERR_OK);
    ck_assert_uint_eq(len, KWI_DNS_QUERY_MAX);
}
END_TEST

/* ==== pure: golden responses ============================================================== */

START_TEST(test_decode_a)
{
    /* The same message spelled out, to pin the builder itself. */
    static const uint8_t raw[] = {
        0x12, 0x34, 0x81, 0x80, 0,   1,   0,   2,   0,   0,    0,    0,   5,   'K', 'a', 'f', 'k',
        'a',  7,    'E',  'x',  'a', 'm', 'p', 'l', 'e', 3,    'C',  'O', 'M', 0,   0,   1,   0,
        1,    0xC0, 0x0C, 0,    1,   0,   1,   0,   0,   0x01, 0x2C, 0,   4,   10,  0,   0,   1,
        0xC0, 0x0C, 0,    1,    0,   1,   0,   0,   0,   60,   0,    4,   10,  0,   0,   2};
    mb m;
    golden_a(&m);
    ck_assert_uint_eq(m.n, sizeof(raw));
    ck_assert_mem_eq(m.b, raw, sizeof(raw));

    kwi_dns_answer ans;
    ck_assert_int_eq(decode(&m, 0x1234, "kafka.example.com", A, &ans), KW_ERR_OK);
    ck_assert_uint_eq(ans.rcode, 0);
    ck_assert(!ans.truncated);
    ck_assert_uint_eq(ans.naddrs, 2);
    ck_assert_str_eq(astr(&ans.addrs[0]), "10.0.0.1");
    ck_assert_str_eq(astr(&ans.addrs[1]), "10.0.0.2");
    ck_assert_uint_eq(ans.ttl, 60);
    ck_assert_uint_eq(ans.cnames, 0);
    /* Name comparison ignores case on both sides. */
    ck_assert_int_eq(decode(&m, 0x1234, "KAFKA.example.com.", A, &ans), KW_ERR_OK);
    ck_assert_uint_eq(ans.naddrs, 2);
}
END_TEST

START_TEST(test_decode_aaaa_and_skips_others)
{
    mb m;
    mb_hdr(&m, 9, RESP, 1, 4);
    mb_question(&m, "b.kw", AAAA);
    mb_ptr(&m, 12); /* an A record for the name in an AAAA answer: ignored */
    mb_rr(&m, A, 5, 4);
    mb_a(&m, 1, 2, 3, 4);
    mb_ptr(&m, 12); /* class CH: ignored */
    mb_u16(&m, AAAA);
    mb_u16(&m, 3);
    mb_u32(&m, 5);
    mb_u16(&m, 16);
    for (int i = 0; i < 16; i++)
        mb_u8(&m, 0xEE);
    mb_name(&m, "other.kw"); /* another owner: ignored */
    mb_rr(&m, AAAA, 5, 16);
    for (int i = 0; i < 16; i++)
        mb_u8(&m, 0xDD);
    mb_ptr(&m, 12);
    mb_rr(&m, AAAA, 0x80000000u, 16); /* top bit set: TTL 0 (RFC 2181) */
    for (int i = 0; i < 15; i++)
        mb_u8(&m, 0);
    mb_u8(&m, 1);
    kwi_dns_answer ans;
    ck_assert_int_eq(decode(&m, 9, "b.kw", AAAA, &ans), KW_ERR_OK);
    ck_assert_uint_eq(ans.naddrs, 1);
    ck_assert_int_eq(ans.addrs[0].family, AF_INET6);
    ck_assert_str_eq(astr(&ans.addrs[0]), "::1");
    ck_assert_uint_eq(ans.ttl, 0);

    /* More records than kept: counted, not stored. */
    mb_hdr(&m, 9, RESP, 1, 20);
    mb_question(&m, "b.kw", A);
    for (unsigned i = 0; i < 20; i++) {
        mb_ptr(&m, 12);
        mb_rr(&m, A, 100 + i, 4);
        mb_a(&m, 10, 0, 0, i);
    }
    ck_assert_int_eq(decode(&m, 9, "b.kw", A, &ans), KW_ERR_OK);
    ck_assert_uint_eq(ans.naddrs, KWI_DNS_MAX_ADDRS);
    ck_assert_uint_eq(ans.nskipped, 20 - KWI_DNS_MAX_ADDRS);
    ck_assert_uint_eq(ans.ttl, 100);
}
END_TEST

START_TEST(test_decode_cname_chain)
{
    mb m;
    golden_cname(&m);
    kwi_dns_answer ans;
    ck_assert_int_eq(decode(&m, 0x0A0B, "www.example.com", AAAA, &ans), KW_ERR_OK);
    ck_assert_uint_eq(ans.cnames, 2);
    ck_assert_uint_eq(ans.naddrs, 1);
    ck_assert_str_eq(astr(&ans.addrs[0]), "2001:db8::7");
    ck_assert_uint_eq(ans.ttl, 30);

    /* A chain ending in a name without the asked type is NODATA, not an error. */
    mb_hdr(&m, 1, RESP, 1, 1);
    mb_question(&m, "alias.kw", A);
    mb_ptr(&m, 12);
    mb_rr(&m, CN, 50, 9);
    mb_name(&m, "real.kw");
    ck_assert_int_eq(decode(&m, 1, "alias.kw", A, &ans), KW_ERR_OK);
    ck_assert_uint_eq(ans.naddrs, 0);
    ck_assert_uint_eq(ans.cnames, 1);

    /* The longest chain followed, and one hop more. */
    for (unsigned hops = KWI_DNS_MAX_CNAMES; hops <= KWI_DNS_MAX_CNAMES + 1; hops++) {
        mb_hdr(&m, 1, RESP, 1, hops + 1);
        mb_question(&m, "c0.kw", A);
        for (unsigned i = 0; i < hops; i++) {
            char from[16], to[16];
            snprintf(from, sizeof(from), "c%u.kw", i);
            snprintf(to, sizeof(to), "c%u.kw", i + 1);
            mb_name(&m, from);
            mb_rr(&m, CN, 10, (unsigned)strlen(to) + 2);
            mb_name(&m, to);
        }
        char last[16];
        snprintf(last, sizeof(last), "c%u.kw", hops);
        mb_name(&m, last);
        mb_rr(&m, A, 10, 4);
        mb_a(&m, 1, 1, 1, 1);
        kw_err want = hops <= KWI_DNS_MAX_CNAMES ? KW_ERR_OK : KW_ERR_MALFORMED;
        ck_assert_int_eq(decode(&m, 1, "c0.kw", A, &ans), want);
    }

    /* A CNAME loop ends at the hop bound. */
    mb_hdr(&m, 1, RESP, 1, 2);
    mb_question(&m, "x.kw", A);
    mb_ptr(&m, 12);
    mb_rr(&m, CN, 10, 6);
    mb_name(&m, "y.kw");
    mb_name(&m, "y.kw");
    mb_rr(&m, CN, 10, 2);
    mb_ptr(&m, 12);
    ck_assert_int_eq(decode(&m, 1, "x.kw", A, &ans), KW_ERR_MALFORMED);
}
END_TEST

START_TEST(test_decode_compression)
{
    /* A pointer to a pointer to a suffix: www.kafka.example.com answered under
     * b1.kafka.example.com (a pointer into the question), whose A record's owner is a
     * bare pointer to the CNAME target. */
    mb m;
    mb_hdr(&m, 77, RESP, 1, 2);
    mb_question(&m, "www.kafka.example.com", A); /* www at 12, kafka at 16 */
    mb_ptr(&m, 12);
    mb_rr(&m, CN, 100, 5);
    size_t target = m.n;
    mb_u8(&m, 2);
    mb_u8(&m, 'b');
    mb_u8(&m, '1');
    mb_ptr(&m, 16);
    mb_ptr(&m, (unsigned)target);
    mb_rr(&m, A, 100, 4);
    mb_a(&m, 192, 0, 2, 1);
    kwi_dns_answer ans;
    ck_assert_int_eq(decode(&m, 77, "www.kafka.example.com", A, &ans), KW_ERR_OK);
    ck_assert_uint_eq(ans.naddrs, 1);
    ck_assert_str_eq(astr(&ans.addrs[0]), "192.0.2.1");
    ck_assert_uint_eq(ans.cnames, 1);
}
END_TEST

START_TEST(test_decode_rcodes)
{
    mb m;
    kwi_dns_answer ans;
    /* NXDOMAIN: an authority section follows, which is never read. */
    mb_hdr(&m, 5, 0x8183, 1, 0);
    m.b[9] = 1; /* NSCOUNT 1 */
    mb_question(&m, "missing.kw", A);
    mb_ptr(&m, 20);
    mb_rr(&m, 6, 300, 0);
    ck_assert_int_eq(decode(&m, 5, "missing.kw", A, &ans), KW_ERR_OK);
    ck_assert_uint_eq(ans.rcode, KWI_DNS_RCODE_NXDOMAIN);
    ck_assert_uint_eq(ans.naddrs, 0);

    mb_hdr(&m, 5, 0x8182, 1, 0); /* SERVFAIL */
    mb_question(&m, "x.kw", AAAA);
    ck_assert_int_eq(decode(&m, 5, "x.kw", AAAA, &ans), KW_ERR_OK);
    ck_assert_uint_eq(ans.rcode, KWI_DNS_RCODE_SERVFAIL);

    /* TC: the answers that follow are not read, even broken ones. */
    mb_hdr(&m, 5, RESP | 0x0200, 1, 3);
    mb_question(&m, "big.kw", A);
    mb_ptr(&m, 12);
    mb_rr(&m, A, 1, 4);
    ck_assert_int_eq(decode(&m, 5, "big.kw", A, &ans), KW_ERR_OK);
    ck_assert(ans.truncated);
    ck_assert_uint_eq(ans.naddrs, 0);

    /* REFUSED without a question: accepted on the id alone. NXDOMAIN and NOERROR are not. */
    mb_hdr(&m, 5, 0x8185, 0, 0);
    ck_assert_int_eq(decode(&m, 5, "x.kw", A, &ans), KW_ERR_OK);
    ck_assert_uint_eq(ans.rcode, KWI_DNS_RCODE_REFUSED);
    mb_hdr(&m, 5, 0x8183, 0, 0);
    ck_assert_int_eq(decode(&m, 5, "x.kw", A, &ans), KW_ERR_AGAIN);
    mb_hdr(&m, 5, RESP, 0, 0);
    ck_assert_int_eq(decode(&m, 5, "x.kw", A, &ans), KW_ERR_AGAIN);
}
END_TEST

START_TEST(test_decode_not_ours)
{
    mb m;
    kwi_dns_answer ans;
    golden_a(&m);
    ck_assert_int_eq(decode(&m, 0x1235, "kafka.example.com", A, &ans), KW_ERR_AGAIN);
    ck_assert_int_eq(decode(&m, 0x1234, "kafka.example.org", A, &ans), KW_ERR_AGAIN);
    ck_assert_int_eq(decode(&m, 0x1234, "kafka.example.com", AAAA, &ans), KW_ERR_AGAIN);
    m.b[2] &= 0x7F; /* a query, not a response */
    ck_assert_int_eq(decode(&m, 0x1234, "kafka.example.com", A, &ans), KW_ERR_AGAIN);
    golden_a(&m);
    m.b[2] |= 0x10; /* OPCODE 2 (STATUS) */
    ck_assert_int_eq(decode(&m, 0x1234, "kafka.example.com", A, &ans), KW_ERR_AGAIN);
    golden_a(&m);
    m.b[34] = 3; /* the question's class: CH */
    ck_assert_int_eq(decode(&m, 0x1234, "kafka.example.com", A, &ans), KW_ERR_AGAIN);
    golden_a(&m);
    m.b[5] = 2; /* two questions */
    ck_assert_int_eq(decode(&m, 0x1234, "kafka.example.com", A, &ans), KW_ERR_MALFORMED);
    ck_assert_int_eq(decode(&m, 0x1234, "bad..name", A, &ans), KW_ERR_INVALID_ARG);
}
END_TEST

/* ==== pure: hostile responses ============================================================= */

START_TEST(test_hostile_names)
{
    mb m;
    kwi_dns_answer ans;
    /* The question is a pointer to itself. */
    mb_hdr(&m, 1, RESP, 1, 0);
    mb_ptr(&m, 12);
    mb_u16(&m, A);
    mb_u16(&m, 1);
    ck_assert_int_eq(decode(&m, 1, "a", A, &ans), KW_ERR_MALFORMED);

    /* A label followed by a pointer back to that label: "below the pointer" is not enough. */
    mb_hdr(&m, 1, RESP, 1, 0);
    mb_u8(&m, 1);
    mb_u8(&m, 'a');
    mb_ptr(&m, 12);
    mb_u16(&m, A);
    mb_u16(&m, 1);
    ck_assert_int_eq(decode(&m, 1, "a", A, &ans), KW_ERR_MALFORMED);

    /* Two records' owners pointing at each other: whichever is read first points forward. */
    mb_hdr(&m, 1, RESP, 1, 2);
    mb_question(&m, "a", A); /* 12..14, type and class to 18 */
    mb_ptr(&m, 35);          /* 19: the second owner */
    mb_rr(&m, A, 1, 4);
    mb_a(&m, 1, 1, 1, 1);
    mb_ptr(&m, 19); /* 35: the first owner */
    mb_rr(&m, A, 1, 4);
    mb_a(&m, 1, 1, 1, 1);
    ck_assert_int_eq(decode(&m, 1, "a", A, &ans), KW_ERR_MALFORMED);

    /* A forward pointer. */
    mb_hdr(&m, 1, RESP, 1, 1);
    mb_question(&m, "a", A);
    mb_ptr(&m, 40);
    mb_rr(&m, A, 1, 4);
    mb_a(&m, 1, 1, 1, 1);
    while (m.n < 48)
        mb_u8(&m, 0);
    ck_assert_int_eq(decode(&m, 1, "a", A, &ans), KW_ERR_MALFORMED);

    /* A pointer past the end of the message. */
    mb_hdr(&m, 1, RESP, 1, 0);
    mb_ptr(&m, 0x3FFF);
    mb_u32(&m, 0x00010001);
    ck_assert_int_eq(decode(&m, 1, "a", A, &ans), KW_ERR_MALFORMED);

    /* Reserved label types 0x40 and 0x80 (a "label longer than 63"). */
    for (unsigned t = 0x40; t <= 0x80; t += 0x40) {
        mb_hdr(&m, 1, RESP, 1, 0);
        mb_u8(&m, t | 1);
        mb_u8(&m, 'a');
        mb_u8(&m, 0);
        mb_u32(&m, 0x00010001);
        ck_assert_int_eq(decode(&m, 1, "a", A, &ans), KW_ERR_MALFORMED);
    }

    /* A question name of 257 bytes (4 labels of 63). */
    char l63[64];
    memset(l63, 'q', 63);
    l63[63] = 0;
    mb_hdr(&m, 1, RESP, 1, 0);
    for (int i = 0; i < 4; i++)
        mb_labels(&m, l63);
    mb_u8(&m, 0);
    mb_u32(&m, 0x00010001);
    ck_assert_int_eq(decode(&m, 1, "a", A, &ans), KW_ERR_MALFORMED);

    /* Over 255 bytes only once decompressed: two labels plus a pointer to a 193-byte name. */
    char q3[200];
    snprintf(q3, sizeof(q3), "%s.%s.%s", l63, l63, l63);
    mb_hdr(&m, 1, RESP, 1, 1);
    mb_question(&m, q3, A);
    mb_labels(&m, l63);
    mb_labels(&m, l63);
    mb_ptr(&m, 12);
    mb_rr(&m, A, 1, 4);
    mb_a(&m, 1, 1, 1, 1);
    ck_assert_int_eq(decode(&m, 1, q3, A, &ans), KW_ERR_MALFORMED);

    /* Pointer chains: record k's owner points at record k-1's owner, which points further
     * back, so record k's name takes k+1 hops, each strictly backwards. The bound passes and
     * one hop more fails. */
    for (unsigned nrec = KWI_DNS_MAX_PTRHOPS; nrec <= KWI_DNS_MAX_PTRHOPS + 1; nrec++) {
        mb_hdr(&m, 1, RESP, 1, nrec);
        mb_question(&m, "a", A);
        size_t prev = 12;
        for (unsigned k = 0; k < nrec; k++) {
            size_t here = m.n;
            mb_ptr(&m, (unsigned)prev);
            mb_rr(&m, 16, 1, 0); /* TXT with no data */
            prev = here;
        }
        ck_assert_int_eq(decode(&m, 1, "a", A, &ans),
                         nrec <= KWI_DNS_MAX_PTRHOPS ? KW_ERR_OK : KW_ERR_MALFORMED);
    }
}
END_TEST

START_TEST(test_hostile_lengths)
{
    mb m;
    kwi_dns_answer ans;
    /* RDLENGTH past the end. */
    mb_hdr(&m, 1, RESP, 1, 1);
    mb_question(&m, "a", A);
    mb_ptr(&m, 12);
    mb_rr(&m, A, 1, 0xFFFF);
    mb_a(&m, 1, 1, 1, 1);
    ck_assert_int_eq(decode(&m, 1, "a", A, &ans), KW_ERR_TRUNCATED);
    /* An A record of 5 bytes. */
    mb_hdr(&m, 1, RESP, 1, 1);
    mb_question(&m, "a", A);
    mb_ptr(&m, 12);
    mb_rr(&m, A, 1, 5);
    mb_a(&m, 1, 1, 1, 1);
    mb_u8(&m, 1);
    ck_assert_int_eq(decode(&m, 1, "a", A, &ans), KW_ERR_MALFORMED);
    /* ANCOUNT 65535 over one record: refused before any loop runs on it. */
    mb_hdr(&m, 1, RESP, 1, 0xFFFF);
    mb_question(&m, "a", A);
    mb_ptr(&m, 12);
    mb_rr(&m, A, 1, 4);
    mb_a(&m, 1, 1, 1, 1);
    ck_assert_int_eq(decode(&m, 1, "a", A, &ans), KW_ERR_TRUNCATED);
    ck_assert_uint_eq(ans.naddrs, 0);
    /* A CNAME whose name runs past its RDLENGTH. */
    mb_hdr(&m, 1, RESP, 1, 1);
    mb_question(&m, "a", A);
    mb_ptr(&m, 12);
    mb_rr(&m, CN, 1, 3);
    mb_name(&m, "longer.kw");
    ck_assert_int_eq(decode(&m, 1, "a", A, &ans), KW_ERR_MALFORMED);
    /* Short headers. */
    for (size_t n = 0; n < 12; n++)
        ck_assert_int_eq(kwi_dns_response_decode(m.b, n, 1, "a", A, &ans), KW_ERR_TRUNCATED);
}
END_TEST

/* Every prefix of every golden message, ending at a guard page, is an error. */
START_TEST(test_truncated_everywhere)
{
    struct {
        void (*build)(mb *);
        uint16_t id;
        const char *name;
        uint16_t qtype;
    } g[] = {{golden_a, 0x1234, "kafka.example.com", A},
             {golden_cname, 0x0A0B, "www.example.com", AAAA}};
    for (size_t k = 0; k < sizeof(g) / sizeof(g[0]); k++) {
        mb m;
        g[k].build(&m);
        kwi_dns_answer ans;
        for (size_t n = 0; n <= m.n; n++) {
            kwt_guard gb;
            uint8_t *p = kwt_guard_init(&gb, m.b, n);
            ck_assert_ptr_nonnull(p);
            kw_err e = kwi_dns_response_decode(p, n, g[k].id, g[k].name, g[k].qtype, &ans);
            if (n == m.n)
                ck_assert_int_eq(e, KW_ERR_OK);
            else
                ck_assert_msg(e == KW_ERR_TRUNCATED || e == KW_ERR_MALFORMED,
                              "golden %zu cut at %zu: %s", k, n, kw_err_name(e));
            kwt_guard_fini(&gb);
        }
    }
}
END_TEST

/* Deterministic mutations of the golden messages: any outcome but a crash, and sane counts. */
START_TEST(test_mutation_sweep)
{
    uint64_t s = 0x5EED5EED12345678u;
    for (int k = 0; k < 2; k++) {
        mb m;
        if (k == 0)
            golden_a(&m);
        else
            golden_cname(&m);
        kwt_guard gb;
        uint8_t *p = kwt_guard_init(&gb, NULL, m.n);
        ck_assert_ptr_nonnull(p);
        for (int it = 0; it < 100000; it++) {
            memcpy(p, m.b, m.n);
            int flips = 1 + it % 4;
            for (int f = 0; f < flips; f++) {
                s ^= s << 13, s ^= s >> 7, s ^= s << 17;
                p[(s >> 8) % m.n] = (uint8_t)(s >> 40);
            }
            kwi_dns_answer ans;
            kw_err e = kwi_dns_response_decode(p, m.n, k ? 0x0A0B : 0x1234,
                                               k ? "www.example.com" : "kafka.example.com",
                                               k ? AAAA : A, &ans);
            if (e == KW_ERR_OK)
                ck_assert_uint_le(ans.naddrs, KWI_DNS_MAX_ADDRS);
        }
        kwt_guard_fini(&gb);
    }
}
END_TEST

/* ==== pure and files: resolv.conf and hosts ============================================== */

START_TEST(test_resolv_conf)
{
    char path[64];
    temp_file(path, "# comment\n"
                    "; another\n"
                    "search corp.example kw.test\n"
                    "domain corp.example\n"
                    "nameserver 10.0.0.53   # trailing comment\n"
                    "nameserver\tfe80::1%eth0\n" /* a scope id: skipped */
                    "nameserver 2001:db8::53\r\n"
                    "nameserver bogus\n"
                    "nameserver 10.0.0.54\n"
                    "nameserver 10.0.0.55\n" /* the fourth: ignored */
                    "options rotate timeout:3 attempts:9 ndots:2 edns0 timeout:x\n"
                    "sortlist 10.0.0.0/8\n");
    kwi_dns_conf c;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kwi_dns_conf_load(&c, path, &err), KW_ERR_OK);
    unlink(path);
    ck_assert_uint_eq(c.nns, 3);
    ck_assert(!c.ns_default);
    ck_assert_str_eq(astr(&c.ns[0]), "10.0.0.53");
    ck_assert_str_eq(astr(&c.ns[1]), "2001:db8::53");
    ck_assert_str_eq(astr(&c.ns[2]), "10.0.0.54");
    ck_assert_uint_eq(c.timeout_ms, 3000);
    ck_assert_uint_eq(c.attempts, 5);
    ck_assert_uint_eq(c.ndots, 2);

    /* Missing file and empty text: glibc's defaults. */
    ck_assert_int_eq(kwi_dns_conf_load(&c, "/nonexistent/resolv.conf", &err), KW_ERR_OK);
    ck_assert_uint_eq(c.nns, 1);
    ck_assert(c.ns_default);
    ck_assert_str_eq(astr(&c.ns[0]), "127.0.0.1");
    ck_assert_uint_eq(c.timeout_ms, 5000);
    ck_assert_uint_eq(c.attempts, 2);

    kwi_dns_conf_init(&c);
    const char *t = "options timeout:0 attempts:0 ndots:99\nnameserver ::1";
    kwi_dns_conf_parse(&c, t, strlen(t));
    ck_assert_uint_eq(c.timeout_ms, 1000);
    ck_assert_uint_eq(c.attempts, 1);
    ck_assert_uint_eq(c.ndots, 15);
    ck_assert_uint_eq(c.nns, 1);
    ck_assert_str_eq(astr(&c.ns[0]), "::1");

    /* A directory is not a resolv.conf. */
    ck_assert_int_eq(kwi_dns_conf_load(&c, "/tmp", &err), KW_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.msg, "/tmp"));
}
END_TEST

START_TEST(test_hosts)
{
    char longline[3000];
    memset(longline, 'x', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = 0;
    char text[4096];
    snprintf(text, sizeof(text),
             "127.0.0.1 localhost\n"
             "::1 localhost ip6-localhost\n"
             "# 10.9.9.9 broker.kw\n"
             "10.0.0.1\tBroker.KW. broker-alias # comment broker.other\n"
             "10.0.0.1 broker.kw\n" /* duplicate */
             "fd00::1 broker.kw\n"
             "10.6.6.6 broker.kw %s\n" /* longer than a line may be: skipped whole */
             "10.0.0.2 other.kw broker.kw\n"
             "not-an-address broker.kw\n"
             "fe80::1%%lo broker.kw\n",
             longline);
    kwi_dns_addr v[KWI_DNS_MAX_ADDRS];
    size_t n = 0;
    ck_assert_uint_eq(kwi_dns_hosts_parse(text, strlen(text), "broker.kw", AF_UNSPEC, v, &n, 16),
                      3);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(astr(&v[0]), "10.0.0.1");
    ck_assert_str_eq(astr(&v[1]), "fd00::1");
    ck_assert_str_eq(astr(&v[2]), "10.0.0.2");
    n = 0;
    kwi_dns_hosts_parse(text, strlen(text), "broker.kw", AF_INET6, v, &n, 16);
    ck_assert_uint_eq(n, 1);
    n = 0;
    kwi_dns_hosts_parse(text, strlen(text), "broker.kw", AF_UNSPEC, v, &n, 2);
    ck_assert_uint_eq(n, 2);

    /* The same from a file, streamed through the fixed line buffer. */
    char path[64];
    temp_file(path, text);
    n = 0;
    kw_error err;
    ck_assert_int_eq(kwi_dns_hosts_load(path, "broker-alias", AF_UNSPEC, v, &n, 16, &err),
                     KW_ERR_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_str_eq(astr(&v[0]), "10.0.0.1");
    n = 0;
    ck_assert_int_eq(kwi_dns_hosts_load(path, "broker.kw", AF_UNSPEC, v, &n, 16, &err), KW_ERR_OK);
    ck_assert_uint_eq(n, 3);
    n = 0;
    ck_assert_int_eq(kwi_dns_hosts_load(path, "localhost", AF_UNSPEC, v, &n, 16, &err), KW_ERR_OK);
    ck_assert_uint_eq(n, 2);
    unlink(path);
    n = 0;
    ck_assert_int_eq(kwi_dns_hosts_load("/nonexistent/hosts", "x", AF_UNSPEC, v, &n, 16, &err),
                     KW_ERR_OK);
    ck_assert_uint_eq(n, 0);
    ck_assert_int_eq(kwi_dns_hosts_load("/dev/zero", "x", AF_UNSPEC, v, &n, 16, &err), KW_ERR_IO);
}
END_TEST

/* ==== resolver: answers without a query ==================================================== */

static kwi_dns *
new_resolver(const char *resolv_text, const char *hosts_path, int family)
{
    char path[64];
    temp_file(path, resolv_text);
    kwi_dns_opts o;
    kwi_dns_opts_init(&o);
    o.resolv_conf = path;
    o.hosts = hosts_path;
    o.family = family;
    kwi_dns *d = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kwi_dns_new(&o, &d, &err), KW_ERR_OK);
    unlink(path);
    return d;
}

START_TEST(test_local_answers)
{
    char hosts[64];
    temp_file(hosts, "10.1.1.1 Pinned.KW\n::1 localhost\n127.0.0.1 localhost\n");
    kwi_dns *d = new_resolver("nameserver 192.0.2.1\n", hosts, AF_UNSPEC);
    kwi_dns_lookup *l;
    kw_error err;
    const char *lits[] = {"10.2.3.4", "::1", "[2001:db8::5]"};
    const char *want[] = {"10.2.3.4", "::1", "2001:db8::5"};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(kwi_dns_lookup_new(d, lits[i], 0, &l, &err), KW_ERR_OK);
        ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK);
        ck_assert_int_eq(kwi_dns_lookup_fd(l), -1);
        ck_assert_int_eq(kwi_dns_lookup_deadline(l), -1);
        const kwi_dns_result *r = kwi_dns_lookup_result(l);
        ck_assert_uint_eq(r->n, 1);
        ck_assert_int_eq(r->source, KWI_DNS_SRC_LITERAL);
        ck_assert_str_eq(astr(&r->addr[0]), want[i]);
        kwi_dns_lookup_free(l);
    }
    /* localhost through the hosts file, in the file's order. */
    ck_assert_int_eq(kwi_dns_lookup_new(d, "LocalHost.", 0, &l, &err), KW_ERR_OK);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK);
    ck_assert_int_eq(kwi_dns_lookup_result(l)->source, KWI_DNS_SRC_HOSTS);
    ck_assert_uint_eq(kwi_dns_lookup_result(l)->n, 2);
    ck_assert_str_eq(astr(&kwi_dns_lookup_result(l)->addr[0]), "::1");
    kwi_dns_lookup_free(l);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "pinned.kw", 0, &l, &err), KW_ERR_OK);
    ck_assert_str_eq(astr(&kwi_dns_lookup_result(l)->addr[0]), "10.1.1.1");
    kwi_dns_lookup_free(l);
    /* A bad name fails at once and makes no lookup. */
    l = (kwi_dns_lookup *)1;
    kw_error_init(&err);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "bad..name", 0, &l, &err), KW_ERR_INVALID_ARG);
    ck_assert_ptr_null(l);
    ck_assert_ptr_nonnull(strstr(err.msg, "bad..name"));
    ck_assert_int_eq(kwi_dns_lookup_new(d, "[::1", 0, &l, &err), KW_ERR_INVALID_ARG);
    kwi_dns_free(d);
    unlink(hosts);

    /* Without a hosts file, localhost still resolves to loopback (RFC 6761), IPv4 first. */
    d = new_resolver("nameserver 192.0.2.1\n", "", AF_UNSPEC);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "localhost", 0, &l, &err), KW_ERR_OK);
    ck_assert_uint_eq(kwi_dns_lookup_result(l)->n, 2);
    ck_assert_str_eq(astr(&kwi_dns_lookup_result(l)->addr[0]), "127.0.0.1");
    ck_assert_str_eq(astr(&kwi_dns_lookup_result(l)->addr[1]), "::1");
    kwi_dns_lookup_free(l);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "kafka.localhost", 0, &l, &err), KW_ERR_OK);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK);
    kwi_dns_lookup_free(l);
    kwi_dns_free(d);

    /* A resolver limited to IPv4 refuses an IPv6 literal with a clear error. */
    d = new_resolver("", "", AF_INET);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "[::1]", 0, &l, &err), KW_ERR_OK);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_NOT_FOUND);
    ck_assert_ptr_null(kwi_dns_lookup_result(l));
    ck_assert_ptr_nonnull(strstr(kwi_dns_lookup_error(l)->msg, "IPv6"));
    kwi_dns_lookup_free(l);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "localhost", 0, &l, &err), KW_ERR_OK);
    ck_assert_uint_eq(kwi_dns_lookup_result(l)->n, 1);
    kwi_dns_lookup_free(l);
    kwi_dns_free(d);

    kwi_dns_opts o;
    kwi_dns_opts_init(&o);
    o.family = AF_UNIX;
    ck_assert_int_eq(kwi_dns_new(&o, &d, &err), KW_ERR_INVALID_ARG);
    ck_assert_ptr_null(d);
    kwi_dns_opts_init(&o);
    o.ttl_min_s = 10;
    o.ttl_max_s = 5;
    ck_assert_int_eq(kwi_dns_new(&o, &d, &err), KW_ERR_INVALID_ARG);
    kwi_dns_free(NULL);
    kwi_dns_lookup_free(NULL);
}
END_TEST

/* ==== the test's own DNS server ============================================================ */

typedef struct zone {
    const char *name;
    const char *a[4];
    const char *aaaa[4];
    uint32_t ttl;
    const char *cname; /* answer with a CNAME to this name, then the addresses under it */
    int rcode;         /* answer this RCODE with no records */
    int tc;            /* set TC, no records */
    int nx6;           /* answer AAAA queries NXDOMAIN (the RFC 4074 bug) */
} zone;

enum { SRV_ANSWER, SRV_DROP, SRV_WRONG_ID_FIRST };

typedef struct server {
    int fd;
    uint16_t port;
    pthread_t th;
    atomic_int stop;
    atomic_int queries;
    atomic_int mode;
    atomic_int delay_ms;
    const zone *zones;
    size_t nzones;
} server;

/* Builds the reply to query q[0..n) from the zone table into out; returns its length or 0. */
static size_t
server_reply(const server *s, const uint8_t *q, size_t n, uint8_t *out, bool wrong_id)
{
    size_t p = 12;
    char name[256];
    size_t nl = 0;
    while (p < n && q[p] != 0) {
        size_t l = q[p];
        if (l > 63 || n - p - 1 < l || nl + l + 1 >= sizeof(name))
            return 0;
        if (nl)
            name[nl++] = '.';
        for (size_t i = 0; i < l; i++)
            name[nl++] = (char)((q[p + 1 + i] >= 'A' && q[p + 1 + i] <= 'Z') ? q[p + 1 + i] + 32
                                                                             : q[p + 1 + i]);
        p += 1 + l;
    }
    name[nl] = 0;
    if (n - p < 5)
        return 0;
    unsigned qtype = (unsigned)(q[p + 1] << 8 | q[p + 2]);
    size_t qend = p + 5;
    const zone *z = NULL;
    for (size_t i = 0; i < s->nzones; i++)
        if (strcmp(s->zones[i].name, name) == 0)
            z = &s->zones[i];
    mb m;
    unsigned id = (unsigned)(q[0] << 8 | q[1]) ^ (wrong_id ? 0x5555u : 0);
    unsigned rcode = !z || (z->nx6 && qtype == AAAA) ? 3u : (unsigned)z->rcode;
    mb_hdr(&m, id, RESP | rcode | (z && z->tc ? 0x0200u : 0), 1, 0);
    memcpy(m.b + 12, q + 12, qend - 12);
    m.n = qend;
    if (z && rcode == 0 && !z->tc) {
        unsigned an = 0, owner = 12;
        if (z->cname) {
            mb_ptr(&m, 12);
            mb_rr(&m, CN, z->ttl, (unsigned)strlen(z->cname) + 2);
            owner = (unsigned)m.n;
            mb_name(&m, z->cname);
            an++;
        }
        const char *const *list = qtype == A ? z->a : z->aaaa;
        for (size_t i = 0; i < 4 && list[i]; i++) {
            uint8_t b[16];
            int fam = qtype == A ? AF_INET : AF_INET6;
            if (inet_pton(fam, wrong_id ? (fam == AF_INET ? "6.6.6.6" : "::6") : list[i], b) != 1)
                continue;
            mb_ptr(&m, owner);
            mb_rr(&m, qtype, z->ttl, qtype == A ? 4 : 16);
            memcpy(m.b + m.n, b, qtype == A ? 4 : 16);
            m.n += qtype == A ? 4 : 16;
            an++;
        }
        m.b[6] = (uint8_t)(an >> 8);
        m.b[7] = (uint8_t)an;
    }
    memcpy(out, m.b, m.n);
    return m.n;
}

static void *
server_main(void *arg)
{
    server *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd pf = {s->fd, POLLIN, 0};
        if (poll(&pf, 1, 20) <= 0)
            continue;
        uint8_t q[512], out[2048];
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(s->fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
        if (n < 12)
            continue;
        atomic_fetch_add(&s->queries, 1);
        int mode = atomic_load(&s->mode);
        if (mode == SRV_DROP)
            continue;
        if (mode == SRV_WRONG_ID_FIRST) {
            size_t rn = server_reply(s, q, (size_t)n, out, true);
            sendto(s->fd, out, rn, 0, (struct sockaddr *)&from, fl);
            sleep_ms(30);
        }
        if (atomic_load(&s->delay_ms))
            sleep_ms(atomic_load(&s->delay_ms));
        size_t rn = server_reply(s, q, (size_t)n, out, false);
        if (rn)
            sendto(s->fd, out, rn, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

/* Starts a server on addr (a literal) and port (0 = ephemeral). False when it cannot bind
 * (the caller then skips, visibly). */
static bool
server_start(server *s, const char *addr, uint16_t port, const zone *zones, size_t nzones)
{
    memset(s, 0, sizeof(*s));
    kwi_dns_addr a;
    ck_assert(kwi_dns_literal(addr, strlen(addr), &a));
    struct sockaddr_storage ss;
    socklen_t sl = kwi_dns_addr_sockaddr(&a, port, &ss);
    s->fd = socket(a.family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0)
        return false;
    if (bind(s->fd, (struct sockaddr *)&ss, sl) != 0) {
        close(s->fd);
        return false;
    }
    sl = sizeof(ss);
    getsockname(s->fd, (struct sockaddr *)&ss, &sl);
    s->port = ntohs(a.family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                        : ((struct sockaddr_in6 *)&ss)->sin6_port);
    s->zones = zones;
    s->nzones = nzones;
    ck_assert_int_eq(pthread_create(&s->th, NULL, server_main, s), 0);
    return true;
}

static void
server_stop(server *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    close(s->fd);
}

/* Waits (really) until the server has seen n datagrams. */
static void
wait_queries(server *s, int n)
{
    for (int i = 0; i < 2000 && atomic_load(&s->queries) < n; i++)
        sleep_ms(1);
    ck_assert_int_eq(atomic_load(&s->queries), n);
}

static const zone test_zones[] = {
    {"broker1.kw.test", {"10.0.0.1", "10.0.0.2"}, {"fd00::1"}, 60, NULL, 0, 0, 0},
    {"v4only.kw.test", {"10.0.0.4"}, {NULL}, 30, NULL, 0, 0, 0},
    {"alias.kw.test", {"10.0.0.9"}, {"fd00::9"}, 45, "real.kw.test", 0, 0, 0},
    {"zero.kw.test", {"10.0.0.10"}, {NULL}, 0, NULL, 0, 0, 0},
    {"huge.kw.test", {"10.0.0.11"}, {NULL}, 1000000, NULL, 0, 0, 0},
    {"sick.kw.test", {NULL}, {NULL}, 0, NULL, 2, 0, 0},
    {"big.kw.test", {NULL}, {NULL}, 0, NULL, 0, 1, 0},
    {"rfc4074.kw.test", {"10.0.0.40"}, {NULL}, 30, NULL, 0, 0, 1},
};
#define NZONES (sizeof(test_zones) / sizeof(test_zones[0]))

/* Test ids: a counter the test can predict. */
static uint32_t
seq_rand(void *ud)
{
    return (*(uint32_t *)ud)++;
}

static kwi_dns *
e2e_resolver(const char *resolv_text, uint16_t port, int family, uint32_t *seq)
{
    char path[64];
    temp_file(path, resolv_text);
    kwi_dns_opts o;
    kwi_dns_opts_init(&o);
    o.resolv_conf = path;
    o.hosts = "";
    o.family = family;
    if (seq) {
        o.rand.next = seq_rand;
        o.rand.ud = seq;
    }
    kwi_dns *d = NULL;
    kw_error err;
    ck_assert_int_eq(kwi_dns_new(&o, &d, &err), KW_ERR_OK);
    unlink(path);
    kwi_dns_set_port(d, port);
    return d;
}

/* The caller's loop: polls the lookup's fd in 5 ms ticks and feeds it, with the real clock
 * (vnow < 0) or a fixed virtual time. Asserts that no resolver call takes long; returns the
 * ticks until the lookup finished. */
static int
drive_at(kwi_dns_lookup *l, int limit_ms, int64_t vnow)
{
    int ticks = 0;
    int64_t end = mono_ms() + limit_ms;
    while (kwi_dns_lookup_status(l) == KW_ERR_AGAIN && mono_ms() < end) {
        struct pollfd pf = {kwi_dns_lookup_fd(l), POLLIN, 0};
        poll(&pf, 1, 5);
        ticks++;
        int64_t t0 = mono_ms(), now = vnow < 0 ? t0 : vnow;
        if (pf.revents & POLLIN)
            kwi_dns_lookup_on_readable(l, now);
        kwi_dns_lookup_on_timeout(l, now);
        ck_assert_int_lt(mono_ms() - t0, 100); /* the server takes 300 ms to answer */
    }
    return ticks;
}

static int
drive(kwi_dns_lookup *l, int limit_ms)
{
    return drive_at(l, limit_ms, -1);
}

/* ==== end to end ============================================================================ */

START_TEST(test_e2e_answer_does_not_block)
{
    server s;
    ck_assert(server_start(&s, "127.0.0.1", 0, test_zones, NZONES));
    atomic_store(&s.delay_ms, 300);
    kwi_dns *d = e2e_resolver("nameserver 127.0.0.1\n", s.port, AF_UNSPEC, NULL);
    kwi_dns_lookup *l;
    kw_error err;
    int64_t t0 = mono_ms();
    ck_assert_int_eq(kwi_dns_lookup_new(d, "Broker1.KW.test", t0, &l, &err), KW_ERR_OK);
    ck_assert_int_lt(mono_ms() - t0, 100);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_AGAIN);
    ck_assert_int_ge(kwi_dns_lookup_fd(l), 0);
    ck_assert_int_eq(kwi_dns_lookup_deadline(l), t0 + 5000);
    int ticks = drive(l, 3000);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK);
    ck_assert_int_ge(ticks, 5); /* the loop kept turning while the server took its time */
    const kwi_dns_result *r = kwi_dns_lookup_result(l);
    ck_assert_int_eq(r->source, KWI_DNS_SRC_DNS);
    ck_assert_uint_eq(r->n, 3);
    ck_assert_str_eq(astr(&r->addr[0]), "10.0.0.1"); /* families interleaved, IPv4 first */
    ck_assert_str_eq(astr(&r->addr[1]), "fd00::1");
    ck_assert_str_eq(astr(&r->addr[2]), "10.0.0.2");
    ck_assert_uint_eq(r->ttl_s, 60);
    ck_assert_int_eq(atomic_load(&s.queries), 2); /* A and AAAA, in parallel */
    ck_assert_int_eq(kwi_dns_lookup_deadline(l), -1);
    kwi_dns_lookup_free(l);

    /* Through a CNAME. */
    atomic_store(&s.delay_ms, 0);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "alias.kw.test", mono_ms(), &l, &err), KW_ERR_OK);
    drive(l, 3000);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK);
    ck_assert_uint_eq(kwi_dns_lookup_result(l)->n, 2);
    ck_assert_str_eq(astr(&kwi_dns_lookup_result(l)->addr[0]), "10.0.0.9");
    kwi_dns_lookup_free(l);
    kwi_dns_free(d);
    server_stop(&s);
}
END_TEST

START_TEST(test_e2e_cache)
{
    server s;
    ck_assert(server_start(&s, "127.0.0.1", 0, test_zones, NZONES));
    kwi_dns *d = e2e_resolver("nameserver 127.0.0.1\n", s.port, AF_UNSPEC, NULL);
    kwi_dns_lookup *l;
    kw_error err;
    const int64_t T = 1000000; /* virtual time, so expiry is exact */
    ck_assert_int_eq(kwi_dns_lookup_new(d, "broker1.kw.test", T, &l, &err), KW_ERR_OK);
    drive_at(l, 3000, T);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK);
    kwi_dns_lookup_free(l);
    wait_queries(&s, 2);

    /* A hit: no socket, no query, the remaining TTL. */
    ck_assert_int_eq(kwi_dns_lookup_new(d, "BROKER1.kw.test.", T + 20000, &l, &err), KW_ERR_OK);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK);
    ck_assert_int_eq(kwi_dns_lookup_fd(l), -1);
    ck_assert_int_eq(kwi_dns_lookup_result(l)->source, KWI_DNS_SRC_CACHE);
    ck_assert_uint_eq(kwi_dns_lookup_result(l)->n, 3);
    ck_assert_str_eq(astr(&kwi_dns_lookup_result(l)->addr[0]), "10.0.0.1");
    ck_assert_uint_eq(kwi_dns_lookup_result(l)->ttl_s, 40);
    kwi_dns_lookup_free(l);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "broker1.kw.test", T + 59999, &l, &err), KW_ERR_OK);
    ck_assert_int_eq(kwi_dns_lookup_result(l)->source, KWI_DNS_SRC_CACHE);
    kwi_dns_lookup_free(l);
    sleep_ms(50);
    ck_assert_int_eq(atomic_load(&s.queries), 2);

    /* Expired at exactly the TTL: the network again. */
    ck_assert_int_eq(kwi_dns_lookup_new(d, "broker1.kw.test", T + 60000, &l, &err), KW_ERR_OK);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_AGAIN);
    drive_at(l, 3000, T + 60000);
    ck_assert_int_eq(kwi_dns_lookup_result(l)->source, KWI_DNS_SRC_DNS);
    kwi_dns_lookup_free(l);
    wait_queries(&s, 4);

    /* Forgotten while fresh: the network again. */
    kwi_dns_cache_forget(d, "Broker1.kw.test");
    kwi_dns_cache_forget(d, "not..cached");
    ck_assert_int_eq(kwi_dns_lookup_new(d, "broker1.kw.test", T + 60001, &l, &err), KW_ERR_OK);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_AGAIN);
    kwi_dns_lookup_free(l);

    /* TTL clamps: 0 becomes the minimum (5 s), a million seconds the maximum (300 s). */
    const char *names[] = {"zero.kw.test", "huge.kw.test"};
    int64_t want[] = {5, 300};
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(kwi_dns_lookup_new(d, names[i], T, &l, &err), KW_ERR_OK);
        drive_at(l, 3000, T);
        ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK);
        ck_assert_uint_eq(kwi_dns_lookup_result(l)->ttl_s, want[i]);
        kwi_dns_lookup_free(l);
        ck_assert_int_eq(kwi_dns_lookup_new(d, names[i], T + want[i] * 1000 - 1, &l, &err),
                         KW_ERR_OK);
        ck_assert_int_eq(kwi_dns_lookup_result(l)->source, KWI_DNS_SRC_CACHE);
        kwi_dns_lookup_free(l);
        ck_assert_int_eq(kwi_dns_lookup_new(d, names[i], T + want[i] * 1000, &l, &err), KW_ERR_OK);
        ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_AGAIN);
        kwi_dns_lookup_free(l);
    }
    kwi_dns_free(d);
    server_stop(&s);
}
END_TEST

START_TEST(test_e2e_timeout_then_retry_then_error)
{
    server s;
    ck_assert(server_start(&s, "127.0.0.1", 0, test_zones, NZONES));
    atomic_store(&s.mode, SRV_DROP);
    kwi_dns *d = e2e_resolver("nameserver 127.0.0.1\noptions timeout:1 attempts:2\n", s.port,
                              AF_UNSPEC, NULL);
    kwi_dns_lookup *l;
    kw_error err;
    /* Virtual time: the deadlines are crossed by passing a later now, not by sleeping. */
    ck_assert_int_eq(kwi_dns_lookup_new(d, "broker1.kw.test", 1000, &l, &err), KW_ERR_OK);
    wait_queries(&s, 2);
    ck_assert_int_eq(kwi_dns_lookup_deadline(l), 2000);
    ck_assert_int_eq(kwi_dns_lookup_on_timeout(l, 1999), KW_ERR_AGAIN);
    ck_assert_int_eq(kwi_dns_lookup_on_readable(l, 1999), KW_ERR_AGAIN); /* spurious */
    sleep_ms(30);
    ck_assert_int_eq(atomic_load(&s.queries), 2);
    ck_assert_int_eq(kwi_dns_lookup_on_timeout(l, 2000), KW_ERR_AGAIN); /* the retry */
    wait_queries(&s, 4);
    ck_assert_int_eq(kwi_dns_lookup_deadline(l), 3000);
    ck_assert_int_eq(kwi_dns_lookup_on_timeout(l, 3000), KW_ERR_TIMED_OUT);
    const kw_error *e = kwi_dns_lookup_error(l);
    ck_assert_int_eq(e->code, KW_ERR_TIMED_OUT);
    ck_assert_ptr_nonnull(strstr(e->msg, "broker1.kw.test"));
    ck_assert_ptr_nonnull(strstr(e->msg, "timed out"));
    ck_assert_ptr_nonnull(strstr(e->msg, "2 attempt"));
    ck_assert_ptr_null(kwi_dns_lookup_result(l));
    ck_assert_int_eq(kwi_dns_lookup_deadline(l), -1);
    sleep_ms(30);
    ck_assert_int_eq(atomic_load(&s.queries), 4); /* nothing more was sent */
    kwi_dns_lookup_free(l);
    kwi_dns_free(d);
    server_stop(&s);
}
END_TEST

START_TEST(test_e2e_wrong_id_and_wrong_source_ignored)
{
    server s;
    ck_assert(server_start(&s, "127.0.0.1", 0, test_zones, NZONES));
    atomic_store(&s.mode, SRV_WRONG_ID_FIRST);
    uint32_t seq = 0x10000 + 0x4242; /* the ids will be 0x4242 (A) and 0x4243 (AAAA) */
    kwi_dns *d = e2e_resolver("nameserver 127.0.0.1\n", s.port, AF_INET, &seq);
    kwi_dns_lookup *l;
    kw_error err;
    ck_assert_int_eq(kwi_dns_lookup_new(d, "v4only.kw.test", mono_ms(), &l, &err), KW_ERR_OK);

    /* A forged answer with the right id and question, from another port: ignored. */
    struct sockaddr_storage me;
    socklen_t ml = sizeof(me);
    ck_assert_int_eq(getsockname(kwi_dns_lookup_fd(l), (struct sockaddr *)&me, &ml), 0);
    ((struct sockaddr_in *)&me)->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    mb f;
    mb_hdr(&f, 0x4242, RESP, 1, 1);
    mb_question(&f, "v4only.kw.test", A);
    mb_ptr(&f, 12);
    mb_rr(&f, A, 100, 4);
    mb_a(&f, 6, 6, 6, 7);
    int spoof = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    ck_assert_int_eq(sendto(spoof, f.b, f.n, 0, (struct sockaddr *)&me, ml), (ssize_t)f.n);
    close(spoof);

    drive(l, 3000);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK);
    const kwi_dns_result *r = kwi_dns_lookup_result(l);
    ck_assert_uint_eq(r->n, 1);
    ck_assert_str_eq(astr(&r->addr[0]), "10.0.0.4"); /* neither 6.6.6.6 nor 6.6.6.7 */
    kwi_dns_lookup_free(l);
    kwi_dns_free(d);
    server_stop(&s);
}
END_TEST

START_TEST(test_e2e_negative_answers)
{
    server s;
    ck_assert(server_start(&s, "127.0.0.1", 0, test_zones, NZONES));
    kwi_dns *d =
        e2e_resolver("nameserver 127.0.0.1\noptions attempts:2\n", s.port, AF_UNSPEC, NULL);
    kwi_dns_lookup *l;
    kw_error err;
    /* NXDOMAIN ends the lookup on the first answer. */
    ck_assert_int_eq(kwi_dns_lookup_new(d, "nope.kw.test", mono_ms(), &l, &err), KW_ERR_OK);
    drive(l, 3000);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(kwi_dns_lookup_error(l)->msg, "host not found: nope.kw.test"));
    kwi_dns_lookup_free(l);
    /* Not cached: asked again. */
    int before = atomic_load(&s.queries);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "nope.kw.test", mono_ms(), &l, &err), KW_ERR_OK);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_AGAIN);
    drive(l, 3000);
    kwi_dns_lookup_free(l);
    ck_assert_int_gt(atomic_load(&s.queries), before);

    /* SERVFAIL: the next attempt goes out at once, without waiting for the timeout, and after
     * the last the error names the code. Virtual time stands still. */
    before = atomic_load(&s.queries);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "sick.kw.test", 0, &l, &err), KW_ERR_OK);
    for (int i = 0; i < 300 && kwi_dns_lookup_status(l) == KW_ERR_AGAIN; i++) {
        struct pollfd pf = {kwi_dns_lookup_fd(l), POLLIN, 0};
        poll(&pf, 1, 10);
        kwi_dns_lookup_on_readable(l, 0);
    }
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_IO);
    ck_assert_ptr_nonnull(strstr(kwi_dns_lookup_error(l)->msg, "SERVFAIL"));
    ck_assert_int_eq(atomic_load(&s.queries) - before, 4); /* 2 queries x 2 attempts */
    kwi_dns_lookup_free(l);

    /* A server that answers NXDOMAIN to AAAA for a name with an A record (RFC 4074): the
     * address wins. */
    ck_assert_int_eq(kwi_dns_lookup_new(d, "rfc4074.kw.test", mono_ms(), &l, &err), KW_ERR_OK);
    drive(l, 3000);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK);
    ck_assert_uint_eq(kwi_dns_lookup_result(l)->n, 1);
    ck_assert_str_eq(astr(&kwi_dns_lookup_result(l)->addr[0]), "10.0.0.40");
    kwi_dns_lookup_free(l);

    /* TC: reported, no TCP. */
    ck_assert_int_eq(kwi_dns_lookup_new(d, "big.kw.test", mono_ms(), &l, &err), KW_ERR_OK);
    drive(l, 3000);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_TOO_LARGE);
    ck_assert_ptr_nonnull(strstr(kwi_dns_lookup_error(l)->msg, "TCP"));
    kwi_dns_lookup_free(l);
    kwi_dns_free(d);

    /* NODATA: an IPv6-only resolver and a name with only an A record. */
    d = e2e_resolver("nameserver 127.0.0.1\n", s.port, AF_INET6, NULL);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "v4only.kw.test", mono_ms(), &l, &err), KW_ERR_OK);
    drive(l, 3000);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(kwi_dns_lookup_error(l)->msg, "no AAAA"));
    kwi_dns_lookup_free(l);
    kwi_dns_free(d);
    server_stop(&s);
}
END_TEST

START_TEST(test_e2e_failover)
{
    /* The first server never answers, the second does: after the first timeout the query
     * moves on, and the answer is accepted from the second. */
    server s1, s2;
    ck_assert(server_start(&s1, "127.0.0.1", 0, test_zones, NZONES));
    atomic_store(&s1.mode, SRV_DROP);
    if (!server_start(&s2, "127.0.0.2", s1.port, test_zones, NZONES)) {
        fprintf(stderr, "SKIP test_e2e_failover: cannot bind 127.0.0.2:%u\n", s1.port);
        server_stop(&s1);
        return;
    }
    kwi_dns *d = e2e_resolver("nameserver 127.0.0.1\nnameserver 127.0.0.2\noptions timeout:2\n",
                              s1.port, AF_UNSPEC, NULL);
    kwi_dns_lookup *l;
    kw_error err;
    ck_assert_int_eq(kwi_dns_lookup_new(d, "broker1.kw.test", 0, &l, &err), KW_ERR_OK);
    wait_queries(&s1, 2);
    ck_assert_int_eq(atomic_load(&s2.queries), 0);
    ck_assert_int_eq(kwi_dns_lookup_on_timeout(l, 2000), KW_ERR_AGAIN);
    wait_queries(&s2, 2);
    for (int i = 0; i < 300 && kwi_dns_lookup_status(l) == KW_ERR_AGAIN; i++) {
        struct pollfd pf = {kwi_dns_lookup_fd(l), POLLIN, 0};
        poll(&pf, 1, 10);
        kwi_dns_lookup_on_readable(l, 2001);
    }
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK);
    ck_assert_uint_eq(kwi_dns_lookup_result(l)->n, 3);
    kwi_dns_lookup_free(l);
    kwi_dns_free(d);

    /* A SERVFAIL that arrives late from the first server, while the second is being tried,
     * does not cut the second server's try short: the lookup waits for its deadline. */
    d = e2e_resolver("nameserver 127.0.0.1\nnameserver 127.0.0.2\noptions attempts:1\n", s1.port,
                     AF_UNSPEC, NULL);
    atomic_store(&s1.mode, SRV_ANSWER);
    atomic_store(&s1.delay_ms, 100);
    atomic_store(&s2.mode, SRV_DROP);
    int q1 = atomic_load(&s1.queries), q2 = atomic_load(&s2.queries);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "sick.kw.test", 0, &l, &err), KW_ERR_OK);
    wait_queries(&s1, q1 + 2);
    ck_assert_int_eq(kwi_dns_lookup_on_timeout(l, 5000), KW_ERR_AGAIN);
    wait_queries(&s2, q2 + 2);
    for (int i = 0; i < 40; i++) { /* both late SERVFAILs arrive and are read */
        struct pollfd pf = {kwi_dns_lookup_fd(l), POLLIN, 0};
        poll(&pf, 1, 10);
        ck_assert_int_eq(kwi_dns_lookup_on_readable(l, 5001), KW_ERR_AGAIN);
    }
    ck_assert_int_eq(kwi_dns_lookup_deadline(l), 10000);
    ck_assert_int_eq(kwi_dns_lookup_on_timeout(l, 10000), KW_ERR_IO);
    ck_assert_ptr_nonnull(strstr(kwi_dns_lookup_error(l)->msg, "SERVFAIL"));
    kwi_dns_lookup_free(l);
    kwi_dns_free(d);
    server_stop(&s2);
    server_stop(&s1);
}
END_TEST

START_TEST(test_e2e_ipv6_server_and_mapped_ipv4)
{
    /* Servers ::1 (silent) and 127.0.0.1 (answering): the lookup's socket is dual-stack and
     * reaches the IPv4 server as ::ffff:127.0.0.1; the answer's source must still match. */
    server s4, s6;
    ck_assert(server_start(&s4, "127.0.0.1", 0, test_zones, NZONES));
    if (!server_start(&s6, "::1", s4.port, test_zones, NZONES)) {
        fprintf(stderr, "SKIP test_e2e_ipv6_server_and_mapped_ipv4: no IPv6 loopback\n");
        server_stop(&s4);
        return;
    }
    atomic_store(&s6.mode, SRV_DROP);
    kwi_dns *d = e2e_resolver("nameserver ::1\nnameserver 127.0.0.1\n", s4.port, AF_UNSPEC, NULL);
    kwi_dns_lookup *l;
    kw_error err;
    ck_assert_int_eq(kwi_dns_lookup_new(d, "broker1.kw.test", 0, &l, &err), KW_ERR_OK);
    wait_queries(&s6, 2);
    ck_assert_int_eq(kwi_dns_lookup_on_timeout(l, 5000), KW_ERR_AGAIN);
    wait_queries(&s4, 2);
    for (int i = 0; i < 300 && kwi_dns_lookup_status(l) == KW_ERR_AGAIN; i++) {
        struct pollfd pf = {kwi_dns_lookup_fd(l), POLLIN, 0};
        poll(&pf, 1, 10);
        kwi_dns_lookup_on_readable(l, 5001);
    }
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK);
    kwi_dns_lookup_free(l);
    kwi_dns_free(d);

    /* IPv6 first when asked. */
    char path[64];
    temp_file(path, "nameserver ::1\n");
    kwi_dns_opts o;
    kwi_dns_opts_init(&o);
    o.resolv_conf = path;
    o.hosts = "";
    o.prefer = KWI_DNS_PREFER_IPV6;
    ck_assert_int_eq(kwi_dns_new(&o, &d, &err), KW_ERR_OK);
    unlink(path);
    kwi_dns_set_port(d, s4.port);
    atomic_store(&s6.mode, SRV_ANSWER);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "broker1.kw.test", mono_ms(), &l, &err), KW_ERR_OK);
    drive(l, 3000);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK);
    ck_assert_str_eq(astr(&kwi_dns_lookup_result(l)->addr[0]), "fd00::1");
    ck_assert_str_eq(astr(&kwi_dns_lookup_result(l)->addr[1]), "10.0.0.1");
    kwi_dns_lookup_free(l);
    kwi_dns_free(d);
    server_stop(&s6);
    server_stop(&s4);
}
END_TEST

START_TEST(test_e2e_cancel_and_detach)
{
    server s;
    ck_assert(server_start(&s, "127.0.0.1", 0, test_zones, NZONES));
    atomic_store(&s.delay_ms, 100);
    kwi_dns *d = e2e_resolver("nameserver 127.0.0.1\n", s.port, AF_UNSPEC, NULL);
    kwi_dns_lookup *l, *l2;
    kw_error err;
    /* Canceled in flight: the answers go to a closed port, and nothing is cached. */
    ck_assert_int_eq(kwi_dns_lookup_new(d, "broker1.kw.test", 0, &l, &err), KW_ERR_OK);
    kwi_dns_lookup_free(l);
    wait_queries(&s, 2);
    sleep_ms(250);
    ck_assert_int_eq(kwi_dns_lookup_new(d, "broker1.kw.test", 0, &l, &err), KW_ERR_OK);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_AGAIN);
    /* Freeing the resolver first detaches the lookups still alive. */
    ck_assert_int_eq(kwi_dns_lookup_new(d, "v4only.kw.test", 0, &l2, &err), KW_ERR_OK);
    kwi_dns_free(d);
    ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_CANCELED);
    ck_assert_int_eq(kwi_dns_lookup_status(l2), KW_ERR_CANCELED);
    ck_assert_int_eq(kwi_dns_lookup_deadline(l), -1);
    sleep_ms(250);
    struct pollfd pf = {kwi_dns_lookup_fd(l), POLLIN, 0};
    ck_assert_int_eq(poll(&pf, 1, 0), 1); /* the late answers wait in the socket */
    ck_assert_int_eq(kwi_dns_lookup_on_readable(l, 0), KW_ERR_CANCELED);
    ck_assert_int_eq(poll(&pf, 1, 0), 0); /* drained: a level-triggered loop will not spin */
    ck_assert_int_eq(kwi_dns_lookup_on_timeout(l, 1 << 30), KW_ERR_CANCELED);
    kwi_dns_lookup_free(l2);
    kwi_dns_lookup_free(l);
    server_stop(&s);
}
END_TEST

/* ---- the reactor adapter ---- */

typedef struct done_ctx {
    int calls;
    kw_err rc;
    kwi_dns_result res;
    char msg[256];
    int in_resolve; /* set while kwi_dns_resolve runs: the callback must not fire then */
} done_ctx;

static void
done_cb(kwi_dns_req *q, kw_err rc, const kwi_dns_result *res, const kw_error *err, void *ud)
{
    done_ctx *c = ud;
    ck_assert(!c->in_resolve);
    c->calls++;
    c->rc = rc;
    if (res)
        c->res = *res;
    if (err)
        snprintf(c->msg, sizeof(c->msg), "%s", err->msg);
    kwi_dns_req_cancel(q); /* from inside its own callback: does nothing */
}

START_TEST(test_reactor_adapter)
{
    server s;
    ck_assert(server_start(&s, "127.0.0.1", 0, test_zones, NZONES));
    atomic_store(&s.delay_ms, 100);
    kwi_dns *d = e2e_resolver("nameserver 127.0.0.1\n", s.port, AF_UNSPEC, NULL);
    kwi_reactor *r = NULL;
    ck_assert_int_eq(kwi_reactor_new(NULL, &r), KW_ERR_OK);
    kw_error err;
    kwi_dns_req *q;

    done_ctx c = {0};
    c.in_resolve = 1;
    ck_assert_int_eq(kwi_dns_resolve(d, r, "broker1.kw.test", done_cb, &c, &q, &err), KW_ERR_OK);
    c.in_resolve = 0;
    int ticks = 0;
    while (c.calls == 0 && ticks < 600) {
        ck_assert_int_eq(kwi_reactor_step(r, 5), KW_ERR_OK);
        ticks++;
    }
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_ge(ticks, 3);
    ck_assert_int_eq(c.rc, KW_ERR_OK);
    ck_assert_uint_eq(c.res.n, 3);

    /* Known at once (a literal, then the cache): delivered on the next step, not inside. */
    const char *now_names[] = {"[::1]", "broker1.kw.test"};
    for (int i = 0; i < 2; i++) {
        done_ctx c2 = {0};
        c2.in_resolve = 1;
        ck_assert_int_eq(kwi_dns_resolve(d, r, now_names[i], done_cb, &c2, &q, &err), KW_ERR_OK);
        c2.in_resolve = 0;
        ck_assert_int_eq(c2.calls, 0);
        ck_assert_int_eq(kwi_reactor_timeout_ms(r), 0);
        ck_assert_int_eq(kwi_reactor_step(r, 0), KW_ERR_OK);
        ck_assert_int_eq(c2.calls, 1);
        ck_assert_int_eq(c2.rc, KW_ERR_OK);
    }

    /* A failure through the timer: the server goes silent, timeout 1 s, one attempt. */
    kwi_dns_free(d);
    d = e2e_resolver("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n", s.port, AF_UNSPEC,
                     NULL);
    atomic_store(&s.mode, SRV_DROP);
    done_ctx c3 = {0};
    ck_assert_int_eq(kwi_dns_resolve(d, r, "v4only.kw.test", done_cb, &c3, &q, &err), KW_ERR_OK);
    int64_t t0 = mono_ms();
    while (c3.calls == 0 && mono_ms() - t0 < 5000)
        ck_assert_int_eq(kwi_reactor_step(r, 100), KW_ERR_OK);
    ck_assert_int_eq(c3.calls, 1);
    ck_assert_int_eq(c3.rc, KW_ERR_TIMED_OUT);
    ck_assert_int_ge(mono_ms() - t0, 900);
    ck_assert_ptr_nonnull(strstr(c3.msg, "v4only.kw.test"));

    /* Cancel: the callback fires once, now, with CANCELED; later steps see nothing. */
    done_ctx c4 = {0};
    ck_assert_int_eq(kwi_dns_resolve(d, r, "broker1.kw.test", done_cb, &c4, &q, &err), KW_ERR_OK);
    kwi_dns_req_cancel(q);
    ck_assert_int_eq(c4.calls, 1);
    ck_assert_int_eq(c4.rc, KW_ERR_CANCELED);
    for (int i = 0; i < 5; i++)
        kwi_reactor_step(r, 10);
    ck_assert_int_eq(c4.calls, 1);

    /* A bad name fails without a callback. */
    done_ctx c5 = {0};
    ck_assert_int_eq(kwi_dns_resolve(d, r, "a..b", done_cb, &c5, &q, &err), KW_ERR_INVALID_ARG);
    ck_assert_ptr_null(q);
    for (int i = 0; i < 3; i++)
        kwi_reactor_step(r, 0);
    ck_assert_int_eq(c5.calls, 0);
    kwi_dns_req_cancel(NULL);

    kwi_reactor_free(r);
    kwi_dns_free(d);
    server_stop(&s);
}
END_TEST

/* ---- allocation failure ---- */

typedef struct fail_alloc {
    int n, fail_at; /* the fail_at-th allocation (from 0) fails; -1 = none */
    long outstanding;
} fail_alloc;

static void *
fa_alloc(void *ud, size_t size)
{
    fail_alloc *f = ud;
    if (f->n++ == f->fail_at)
        return NULL;
    f->outstanding += (long)size;
    return malloc(size);
}

static void *
fa_realloc(void *ud, void *p, size_t old, size_t size)
{
    fail_alloc *f = ud;
    if (f->n++ == f->fail_at)
        return NULL;
    f->outstanding += (long)size - (long)old;
    return realloc(p, size);
}

static void
fa_free(void *ud, void *p, size_t size)
{
    fail_alloc *f = ud;
    f->outstanding -= (long)size;
    free(p);
}

START_TEST(test_alloc_failure_sweep)
{
    server s;
    ck_assert(server_start(&s, "127.0.0.1", 0, test_zones, NZONES));
    char path[64];
    temp_file(path, "nameserver 127.0.0.1\n");
    kwi_reactor *r = NULL;
    ck_assert_int_eq(kwi_reactor_new(NULL, &r), KW_ERR_OK);
    bool done = false;
    for (int k = 0; !done && k < 50; k++) {
        fail_alloc f = {0, k, 0};
        kw_allocator a = {fa_alloc, fa_realloc, fa_free, &f};
        kwi_dns_opts o;
        kwi_dns_opts_init(&o);
        o.alloc = &a;
        o.resolv_conf = path;
        kwi_dns *d = NULL;
        kw_error err;
        kw_err e = kwi_dns_new(&o, &d, &err);
        if (e != KW_ERR_OK) {
            ck_assert_int_eq(e, KW_ERR_NOMEM);
            ck_assert_ptr_null(d);
            ck_assert_int_eq(f.outstanding, 0);
            continue;
        }
        kwi_dns_set_port(d, s.port);
        kwi_dns_lookup *l = NULL;
        e = kwi_dns_lookup_new(d, "broker1.kw.test", mono_ms(), &l, &err);
        if (e == KW_ERR_OK) {
            drive(l, 3000);
            ck_assert_int_eq(kwi_dns_lookup_status(l), KW_ERR_OK); /* a failed cache insert
                                                                       only means no cache */
            kwi_dns_lookup_free(l);
            done_ctx c = {0};
            kwi_dns_req *q = NULL;
            e = kwi_dns_resolve(d, r, "broker1.kw.test", done_cb, &c, &q, &err);
            if (e == KW_ERR_OK) {
                while (c.calls == 0)
                    kwi_reactor_step(r, 10);
                ck_assert_int_eq(c.rc, KW_ERR_OK);
                done = f.n <= k; /* every allocation made succeeded: the sweep is complete */
            } else {
                ck_assert_int_eq(e, KW_ERR_NOMEM);
                ck_assert_ptr_null(q);
            }
        } else {
            ck_assert_int_eq(e, KW_ERR_NOMEM);
            ck_assert_ptr_null(l);
        }
        kwi_dns_free(d);
        ck_assert_int_eq(f.outstanding, 0);
    }
    ck_assert(done);
    unlink(path);
    kwi_reactor_free(r);
    server_stop(&s);
}
END_TEST

/* ---- an independent server: dnsmasq, when installed ---- */

START_TEST(test_dnsmasq_interop)
{
    const char *bin = NULL;
    const char *cands[] = {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"};
    for (size_t i = 0; i < 3 && !bin; i++)
        if (access(cands[i], X_OK) == 0)
            bin = cands[i];
    if (!bin) {
        fprintf(stderr, "SKIP test_dnsmasq_interop: dnsmasq is not installed\n");
        return;
    }
    /* A free port: bind an ephemeral one and release it for dnsmasq. */
    server probe;
    ck_assert(server_start(&probe, "127.0.0.1", 0, test_zones, 0));
    uint16_t port = probe.port;
    server_stop(&probe);
    char portarg[32];
    snprintf(portarg, sizeof(portarg), "--port=%u", port);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, 1);
        dup2(devnull, 2);
        execl(bin, bin, "--keep-in-foreground", "--no-daemon", "--no-resolv", "--no-hosts",
              "--bind-interfaces", "--listen-address=127.0.0.1", portarg, "--user=root",
              "--pid-file", "--conf-file=/dev/null",
              "--host-record=dm.kw.test,10.20.30.40,fd00::2040",
              "--cname=dmalias.kw.test,dm.kw.test", (char *)NULL);
        _exit(127);
    }
    kwi_dns *d =
        e2e_resolver("nameserver 127.0.0.1\noptions timeout:1 attempts:5\n", port, AF_UNSPEC, NULL);
    const char *names[] = {"dm.kw.test", "dmalias.kw.test"};
    for (int i = 0; i < 2; i++) {
        kwi_dns_lookup *l = NULL;
        kw_error err;
        kw_err st = KW_ERR_AGAIN;
        /* dnsmasq may still be starting: retry the whole lookup a few times. */
        for (int attempt = 0; attempt < 20; attempt++) {
            ck_assert_int_eq(kwi_dns_lookup_new(d, names[i], mono_ms(), &l, &err), KW_ERR_OK);
            drive(l, 3000);
            st = kwi_dns_lookup_status(l);
            if (st == KW_ERR_OK)
                break;
            kwi_dns_lookup_free(l);
            l = NULL;
            sleep_ms(100);
        }
        ck_assert_msg(st == KW_ERR_OK, "dnsmasq lookup of %s: %s", names[i], kw_err_name(st));
        const kwi_dns_result *r = kwi_dns_lookup_result(l);
        ck_assert_uint_eq(r->n, 2);
        ck_assert_str_eq(astr(&r->addr[0]), "10.20.30.40");
        ck_assert_str_eq(astr(&r->addr[1]), "fd00::2040");
        kwi_dns_lookup_free(l);
    }
    kwi_dns_lookup *l = NULL;
    kw_error err;
    ck_assert_int_eq(kwi_dns_lookup_new(d, "absent.kw.test", mono_ms(), &l, &err), KW_ERR_OK);
    drive(l, 3000);
    ck_assert_int_ne(kwi_dns_lookup_status(l), KW_ERR_OK);
    kwi_dns_lookup_free(l);
    kwi_dns_free(d);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("net_dns");
    TCase *pure = tcase_create("pure");
    tcase_add_test(pure, test_name_check);
    tcase_add_test(pure, test_literals);
    tcase_add_test(pure, test_split_hostport);
    tcase_add_test(pure, test_query_bytes);
    tcase_add_test(pure, test_decode_a);
    tcase_add_test(pure, test_decode_aaaa_and_skips_others);
    tcase_add_test(pure, test_decode_cname_chain);
    tcase_add_test(pure, test_decode_compression);
    tcase_add_test(pure, test_decode_rcodes);
    tcase_add_test(pure, test_decode_not_ours);
    tcase_add_test(pure, test_hostile_names);
    tcase_add_test(pure, test_hostile_lengths);
    tcase_add_test(pure, test_truncated_everywhere);
    tcase_add_test(pure, test_mutation_sweep);
    tcase_add_test(pure, test_resolv_conf);
    tcase_add_test(pure, test_hosts);
    tcase_add_test(pure, test_local_answers);
    suite_add_tcase(s, pure);
    TCase *e2e = tcase_create("e2e");
    tcase_set_timeout(e2e, 60);
    tcase_add_test(e2e, test_e2e_answer_does_not_block);
    tcase_add_test(e2e, test_e2e_cache);
    tcase_add_test(e2e, test_e2e_timeout_then_retry_then_error);
    tcase_add_test(e2e, test_e2e_wrong_id_and_wrong_source_ignored);
    tcase_add_test(e2e, test_e2e_negative_answers);
    tcase_add_test(e2e, test_e2e_failover);
    tcase_add_test(e2e, test_e2e_ipv6_server_and_mapped_ipv4);
    tcase_add_test(e2e, test_e2e_cancel_and_detach);
    tcase_add_test(e2e, test_reactor_adapter);
    tcase_add_test(e2e, test_alloc_failure_sweep);
    tcase_add_test(e2e, test_dnsmasq_interop);
    suite_add_tcase(s, e2e);
    return s;
}
