/* Retry policy of the event bus: exponential backoff with symmetric jitter, eventsource-py's
 * RetryPolicy (delay = min(base * 2^n, max), then +/- jitter * delay, clamped at zero), and the
 * retry_count / retry_after headers of the republish mode.
 *
 * The random draw comes from a kwi_bus_rng the caller owns, so tests seed it and get the same
 * delays every run. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bus/bus_int.h"

void
kwi_bus_retry_init(kwi_bus_retry *p, const kw_bus_config *c)
{
    p->base_s = c->retry_base_delay;
    p->max_s = c->retry_max_delay;
    p->jitter = c->retry_jitter;
    p->max_retries = c->max_retries;
}

int64_t
kwi_bus_retry_delay_ms(const kwi_bus_retry *p, int32_t n, kwi_bus_rng *rng)
{
    if (n < 0)
        n = 0;
    /* 2^n overflows a double past 1023; beyond 62 doublings any sane base passed max anyway. */
    int exp = n > 62 ? 62 : n;
    double d = ldexp(p->base_s, exp);
    if (!(d <= p->max_s)) /* also catches an infinite product */
        d = p->max_s;
    if (p->jitter > 0 && rng) {
        double u = 2.0 * kwi_bus_rng_unit(rng) - 1.0; /* [-1, 1) */
        d += u * p->jitter * d;
    }
    if (!(d > 0))
        return 0;
    double ms = floor(d * 1000.0 + 0.5);
    return ms >= 9.2e18 ? INT64_MAX : (int64_t)ms;
}

bool
kwi_bus_retry_again(const kwi_bus_retry *p, int32_t n)
{
    return n < p->max_retries;
}

static bool
is_retry_header(const kw_header *h)
{
    return kwi_bus_header_is(h, "retry_count") || kwi_bus_header_is(h, "retry_after");
}

kw_err
kwi_bus_retry_headers(const kw_header *h, int32_t n, int32_t count, int64_t retry_after_us,
                      kw_arena *ar, kw_header **out, int32_t *n_out)
{
    if (n < 0 || n > INT32_MAX - 2 || count < 0)
        return KW_ERR_INVALID_ARG;
    kw_header *o = kw_arena_calloc(ar, (size_t)n + 2, sizeof(*o));
    if (!o)
        return KW_ERR_NOMEM;
    int32_t k = 0;
    for (int32_t i = 0; i < n; i++)
        if (!is_retry_header(&h[i]))
            o[k++] = h[i]; /* borrowed: the caller's record outlives the send call */
    char num[24], after[48];
    int nl = snprintf(num, sizeof(num), "%d", (int)count);
    /* Unix seconds with a fraction, what Python's str(datetime.timestamp()) gives: readers
     * parse it with float(). */
    int64_t secs = retry_after_us / 1000000, frac = retry_after_us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    int al = snprintf(after, sizeof(after), "%lld.%06lld", (long long)secs, (long long)frac);
    if (!kwi_bus_header_make(ar, &o[k], "retry_count", num, (size_t)nl) ||
        !kwi_bus_header_make(ar, &o[k + 1], "retry_after", after, (size_t)al))
        return KW_ERR_NOMEM;
    *out = o;
    *n_out = k + 2;
    return KW_ERR_OK;
}

int32_t
kwi_bus_retry_count(const kw_header *h, int32_t n)
{
    int64_t v;
    if (kwi_bus_header_i64(kwi_bus_header_find(h, n, "retry_count"), &v) != KW_ERR_OK)
        return 0;
    return v < 0 ? 0 : v > INT32_MAX ? INT32_MAX : (int32_t)v;
}

bool
kwi_bus_retry_after(const kw_header *h, int32_t n, int64_t *out_us)
{
    const kw_header *a = kwi_bus_header_find(h, n, "retry_after");
    if (!a || a->value.len <= 0 || a->value.len > 40)
        return false;
    /* Parsed by hand, not strtod: a locale with a decimal comma must not change the result,
     * and "1e400" or "nan" off the wire must not become a time. */
    const char *p = (const char *)a->value.ptr;
    size_t len = (size_t)a->value.len, i = 0;
    int64_t secs = 0, frac = 0;
    int nd = 0, fd = 0;
    while (i < len && p[i] >= '0' && p[i] <= '9' && nd < 12) {
        secs = secs * 10 + (p[i++] - '0');
        nd++;
    }
    if (nd == 0)
        return false;
    if (i < len && p[i] == '.') {
        i++;
        while (i < len && p[i] >= '0' && p[i] <= '9') {
            if (fd < 6) {
                frac = frac * 10 + (p[i] - '0');
                fd++;
            }
            i++;
        }
    }
    if (i != len)
        return false;
    for (; fd < 6; fd++)
        frac *= 10;
    *out_us = secs * 1000000 + frac;
    return true;
}
