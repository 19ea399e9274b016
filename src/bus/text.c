/* Text helpers of the event bus: the counting output writer behind every (buf, *len) function,
 * UTF-8 checks and clipping, and record-header helpers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus_int.h"

/* ---------------------------------------------------------------- output buffer */

void
kwi_bus_out_init(kwi_bus_out *o, char *buf, size_t cap)
{
    o->buf = buf;
    o->cap = buf ? cap : 0;
    o->len = 0;
    if (o->cap > 0)
        o->buf[0] = '\0';
}

void
kwi_bus_out_put(kwi_bus_out *o, const char *s, size_t n)
{
    /* Copy what fits before the last byte (kept for the NUL), count everything. */
    if (o->len < o->cap) {
        size_t room = o->cap - 1 - o->len;
        size_t k = n < room ? n : room;
        if (k > 0)
            memcpy(o->buf + o->len, s, k);
    }
    o->len += n;
}

void
kwi_bus_out_str(kwi_bus_out *o, const char *s)
{
    kwi_bus_out_put(o, s, strlen(s));
}

void
kwi_bus_out_fmt(kwi_bus_out *o, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    /* Callers format numbers and short names only; a longer result is a bug, cut visibly. */
    kwi_bus_out_put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Length of the well-formed UTF-8 sequence at p (1-4), or 0 if the bytes there are not one. */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xbf; /* the allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* overlong */
        else if (c == 0xed)
            hi = 0x9f; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90; /* overlong */
        else if (c == 0xf4)
            hi = 0x8f; /* past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

void
kwi_bus_out_json_str(kwi_bus_out *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    kwi_bus_out_put(o, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned c = p[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            kwi_bus_out_put(o, esc, 2);
            i++;
        } else if (c == '\n') {
            kwi_bus_out_put(o, "\\n", 2);
            i++;
        } else if (c == '\r') {
            kwi_bus_out_put(o, "\\r", 2);
            i++;
        } else if (c == '\t') {
            kwi_bus_out_put(o, "\\t", 2);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            kwi_bus_out_fmt(o, "\\u%04x", c);
            i++;
        } else {
            size_t k = utf8_seq(p + i, n - i);
            if (k == 0) {
                kwi_bus_out_put(o, "\xef\xbf\xbd", 3); /* U+FFFD */
                i++;
            } else {
                kwi_bus_out_put(o, s + i, k);
                i += k;
            }
        }
    }
    kwi_bus_out_put(o, "\"", 1);
}

void
kwi_bus_out_num(kwi_bus_out *o, double v)
{
    if (isnan(v)) {
        kwi_bus_out_str(o, "NaN");
    } else if (isinf(v)) {
        kwi_bus_out_str(o, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 9007199254740992.0) {
        kwi_bus_out_fmt(o, "%.0f", v); /* exact: below 2^53 every integer is a double */
    } else {
        /* The shortest of %.15g..%.17g that reads back as the same double. */
        char tmp[40];
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
        kwi_bus_out_str(o, tmp);
    }
}

kw_err
kwi_bus_out_finish(kwi_bus_out *o, size_t *len)
{
    *len = o->len + 1;
    if (!o->buf)
        return KW_ERR_OK; /* a size query */
    if (o->len + 1 > o->cap) {
        if (o->cap > 0)
            o->buf[o->cap - 1] = '\0';
        return KW_ERR_NOSPACE;
    }
    o->buf[o->len] = '\0';
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- UTF-8 */

bool
kwi_bus_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

/* Whether p[0..n) is the beginning of a well-formed sequence that was cut short. */
static bool
utf8_partial(const unsigned char *p, size_t n)
{
    unsigned char tmp[4] = {p[0], 0x80, 0x80, 0x80};
    size_t want = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
    if (n >= want)
        return false;
    for (size_t i = 1; i < n; i++)
        tmp[i] = p[i];
    /* Completing it with the smallest continuation bytes must give a valid sequence; for
     * E0/F0 the second byte's floor is above 0x80, so also try the range's top. */
    if (utf8_seq(tmp, want) == want)
        return true;
    if (n == 1) {
        tmp[1] = 0xa0;
        if (utf8_seq(tmp, want) == want)
            return true;
        tmp[1] = 0x90;
        return utf8_seq(tmp, want) == want;
    }
    return false;
}

size_t
kwi_bus_utf8_prefix(const char *s, size_t n, size_t max_bytes)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0 && utf8_partial(p + i, n - i))
            break; /* the text was cut inside its last character: drop the fragment */
        if (k == 0)
            k = 1; /* a stray byte stands alone: cutting after it splits nothing */
        if (i + k > max_bytes)
            break;
        i += k;
    }
    return i;
}

char *
kwi_bus_utf8_clip(const char *s, size_t n, size_t max_chars, kw_arena *ar, size_t *out_len)
{
    const unsigned char *p = (const unsigned char *)s;
    /* First pass: the output size, so the arena gives one block. */
    size_t i = 0, chars = 0, bytes = 0;
    while (i < n && chars < max_chars) {
        size_t k = utf8_seq(p + i, n - i);
        bytes += k ? k : 3;
        i += k ? k : 1;
        chars++;
    }
    char *out = kw_arena_alloc(ar, bytes + 1);
    if (!out)
        return NULL;
    size_t w = 0;
    i = 0;
    chars = 0;
    while (i < n && chars < max_chars) {
        size_t k = utf8_seq(p + i, n - i);
        if (k) {
            memcpy(out + w, s + i, k);
            w += k;
            i += k;
        } else {
            memcpy(out + w, "\xef\xbf\xbd", 3);
            w += 3;
            i++;
        }
        chars++;
    }
    out[w] = '\0';
    if (out_len)
        *out_len = w;
    return out;
}

/* ---------------------------------------------------------------- headers */

bool
kwi_bus_header_is(const kw_header *h, const char *key)
{
    size_t n = strlen(key);
    return h->key.len >= 0 && (size_t)h->key.len == n &&
           (n == 0 || memcmp(h->key.ptr, key, n) == 0);
}

const kw_header *
kwi_bus_header_find(const kw_header *h, int32_t n, const char *key)
{
    for (int32_t i = 0; i < n; i++)
        if (kwi_bus_header_is(&h[i], key))
            return &h[i];
    return NULL;
}

kw_err
kwi_bus_header_i64(const kw_header *h, int64_t *out)
{
    if (!h || h->value.len <= 0)
        return KW_ERR_MALFORMED;
    const char *p = (const char *)h->value.ptr;
    size_t n = (size_t)h->value.len, i = 0;
    bool neg = false;
    if (p[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == n || n - i > 19)
        return KW_ERR_MALFORMED;
    uint64_t v = 0;
    for (; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return KW_ERR_MALFORMED;
        v = v * 10 + (uint64_t)(p[i] - '0'); /* 19 digits fit in uint64 */
    }
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return KW_ERR_MALFORMED;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return KW_ERR_OK;
}

bool
kwi_bus_header_make(kw_arena *ar, kw_header *out, const char *key, const char *val, size_t val_len)
{
    size_t klen = strlen(key);
    char *k = kw_arena_alloc(ar, klen + 1);
    char *v = kw_arena_alloc(ar, val_len + 1);
    if (!k || !v)
        return false;
    memcpy(k, key, klen);
    if (val_len)
        memcpy(v, val, val_len);
    out->key = (kw_slice){(const uint8_t *)k, (int32_t)klen};
    out->value = (kw_slice){(const uint8_t *)v, (int32_t)val_len};
    return true;
}
