/* Randomness and UUIDs for the event bus: version-4 UUIDs (RFC 9562) for event and
 * correlation ids, and the seeded generator behind retry jitter and span ids. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "bus/bus_int.h"

/* ---------------------------------------------------------------- random bytes */

static uint64_t
splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static bool
read_urandom(unsigned char *p, size_t n)
{
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, p + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    return got == n;
}

/* Last resort (seccomp without getrandom, no /dev): ids must only be unlikely to repeat, so mix
 * the clocks, the pid, a stack address and a per-process counter. */
static void
weak_bytes(unsigned char *p, size_t n)
{
    static uint64_t counter;
    struct timespec a, b;
    clock_gettime(CLOCK_REALTIME, &a);
    clock_gettime(CLOCK_MONOTONIC, &b);
    uint64_t x = (uint64_t)a.tv_sec * 1000000007u ^ (uint64_t)a.tv_nsec ^
                 ((uint64_t)b.tv_nsec << 20) ^ ((uint64_t)getpid() << 40) ^
                 (uint64_t)(uintptr_t)&x ^ __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    for (size_t i = 0; i < n; i += 8) {
        uint64_t v = splitmix64(&x);
        size_t k = n - i < 8 ? n - i : 8;
        memcpy(p + i, &v, k);
    }
}

void
kwi_bus_random_bytes(void *out, size_t n)
{
    unsigned char *p = out;
    size_t got = 0;
    while (got < n) {
        /* GRND_NONBLOCK: never wait for the entropy pool at early boot; fall back instead. */
        ssize_t r = getrandom(p + got, n - got, GRND_NONBLOCK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    if (got == n)
        return;
    if (read_urandom(p + got, n - got))
        return;
    weak_bytes(p + got, n - got);
}

/* ---------------------------------------------------------------- xoshiro256** */

void
kwi_bus_rng_seed(kwi_bus_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

void
kwi_bus_rng_seed_random(kwi_bus_rng *r)
{
    kwi_bus_random_bytes(r->s, sizeof(r->s));
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)
        r->s[0] = 1; /* the all-zero state is a fixed point */
}

static uint64_t
rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t
kwi_bus_rng_next(kwi_bus_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double
kwi_bus_rng_unit(kwi_bus_rng *r)
{
    return (double)(kwi_bus_rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---------------------------------------------------------------- UUIDs */

void
kw_uuid_v4(kw_uuid *out)
{
    kwi_bus_random_bytes(out->b, sizeof(out->b));
    out->b[6] = (uint8_t)((out->b[6] & 0x0f) | 0x40); /* version 4 */
    out->b[8] = (uint8_t)((out->b[8] & 0x3f) | 0x80); /* variant 10 (RFC 9562) */
}

char *
kw_uuid_format(const kw_uuid *u, char out[KW_UUID_STR_SIZE])
{
    static const char hex[] = "0123456789abcdef";
    size_t w = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[w++] = '-';
        out[w++] = hex[u->b[i] >> 4];
        out[w++] = hex[u->b[i] & 15];
    }
    out[w] = '\0';
    return out;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

kw_err
kw_uuid_parse(const char *s, size_t len, kw_uuid *out)
{
    if (!s || !out || len != 36)
        return KW_ERR_MALFORMED;
    kw_uuid u;
    size_t r = 0;
    for (int i = 0; i < 16; i++) {
        if (r == 8 || r == 13 || r == 18 || r == 23) {
            if (s[r] != '-')
                return KW_ERR_MALFORMED;
            r++;
        }
        int hi = hexval(s[r]), lo = hexval(s[r + 1]);
        if (hi < 0 || lo < 0)
            return KW_ERR_MALFORMED;
        u.b[i] = (uint8_t)(hi << 4 | lo);
        r += 2;
    }
    *out = u;
    return KW_ERR_OK;
}

bool
kw_uuid_is_nil(const kw_uuid *u)
{
    for (int i = 0; i < 16; i++)
        if (u->b[i])
            return false;
    return true;
}
