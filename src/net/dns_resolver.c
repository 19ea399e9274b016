/* The resolver object of the stub resolver; see dns.h for the contract.
 *
 * A kwi_dns holds the configuration (from resolv.conf, read here through a fixed buffer),
 * the hosts file path, the UDP port, the random source for query ids and a TTL cache of
 * answers. The text of resolv.conf and hosts is parsed by the pure code of dns_wire.c; the
 * lookups that use the resolver are in dns.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "net/dns_int.h"

#define DEFAULT_RESOLV_CONF "/etc/resolv.conf"
#define DEFAULT_HOSTS       "/etc/hosts"
#define FILE_MAX_BYTES      (64u << 20) /* a hosts file larger than this is read only this far */
#define CACHE_DEFAULT       64
#define TTL_MIN_DEFAULT     5u
#define TTL_MAX_DEFAULT     300u

/* ==== I/O: files ========================================================================== */

const char *
kwi_dns_err_text(int e, char *buf, size_t cap)
{
    return strerror_r(e, buf, cap); /* the GNU form (_GNU_SOURCE): returns the text */
}

/* Streams a regular file's lines through a fixed buffer: no allocation, no FILE. A line
 * longer than the buffer is skipped whole; at most FILE_MAX_BYTES are read, so a hosts path
 * that names a device cannot hold the loop. A missing file sets *missing. */
static kw_err
file_lines(const char *path, kwi_dns_line_fn fn, void *ud, bool *missing, kw_error *err)
{
    char buf[KWI_DNS_LINE_MAX], eb[128];
    *missing = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            *missing = true;
            return KW_ERR_OK;
        }
        return kw_error_set(err, KW_ERR_IO, "cannot open %s: %s", path,
                            kwi_dns_err_text(errno, eb, sizeof(eb)));
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
                                kwi_dns_err_text(e, eb, sizeof(eb)));
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
    kw_err e =
        file_lines(path ? path : DEFAULT_RESOLV_CONF, kwi_dns_conf_line, &tmp, &missing, err);
    if (e != KW_ERR_OK)
        return e;
    kwi_dns_conf_finish(&tmp);
    *c = tmp;
    return KW_ERR_OK;
}

kw_err
kwi_dns_hosts_load(const char *path, const char *name, int family, kwi_dns_addr *addrs, size_t *n,
                   size_t cap, kw_error *err)
{
    bool missing;
    kwi_dns_hosts_ctx h = {name, strlen(name), family, addrs, n, cap, 0};
    return file_lines(path ? path : DEFAULT_HOSTS, kwi_dns_hosts_line, &h, &missing, err);
}

/* ==== I/O: resolver ========================================================================= */

uint32_t
kwi_dns_rand32(kwi_dns *d)
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
    kwi_dns_lookups_detach(d->lookups);
    if (d->cache)
        d->a->free(d->a->ud, d->cache, d->cache_cap * sizeof(kwi_dns_cache_ent));
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
        kwi_dns_conf_finish(&d->conf);
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

kwi_dns_cache_ent *
kwi_dns_cache_find(kwi_dns *d, const char *name)
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
    kwi_dns_cache_ent *c = kwi_dns_cache_find(d, canon);
    if (c)
        c->used = false;
}

/* Inserts or replaces; when full, evicts the entry that expires first. Out of memory only
 * means no caching. */
void
kwi_dns_cache_put(kwi_dns *d, const char *name, const kwi_dns_result *res, int64_t now_ms)
{
    if (d->cache_cap == 0)
        return;
    if (!d->cache) {
        if (d->cache_cap > SIZE_MAX / sizeof(kwi_dns_cache_ent))
            return;
        d->cache = d->a->alloc(d->a->ud, d->cache_cap * sizeof(kwi_dns_cache_ent));
        if (!d->cache)
            return;
        memset(d->cache, 0, d->cache_cap * sizeof(kwi_dns_cache_ent));
    }
    kwi_dns_cache_ent *c = kwi_dns_cache_find(d, name);
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
