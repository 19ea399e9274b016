/* The configuration object: parsing and storing property values, aliases, .properties files,
 * dumps and the describe iterator. The table itself and the cross-property rules are in
 * conf_props.c.
 *
 * Every allocation goes through the conf's allocator, and every operation that can fail leaves
 * the conf as it was: values are parsed (and copied, for strings) first and stored only once
 * nothing can fail any more. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kwire/codec.h"
#include "util/conf_int.h"

_Static_assert(KWI_COMPRESSION_NONE == KW_CODEC_NONE && KWI_COMPRESSION_GZIP == KW_CODEC_GZIP &&
                   KWI_COMPRESSION_SNAPPY == KW_CODEC_SNAPPY &&
                   KWI_COMPRESSION_LZ4 == KW_CODEC_LZ4 && KWI_COMPRESSION_ZSTD == KW_CODEC_ZSTD,
               "compression.type values are kw_codec ids");

#define HIDDEN         "[hidden]"
#define FILE_MAX_BYTES (1024u * 1024u)

/* ---- small helpers ------------------------------------------------------------------------ */

static void
bit_put(uint64_t *bits, kwi_conf_id id, bool on)
{
    uint64_t m = (uint64_t)1 << (id % 64);
    if (on)
        bits[id / 64] |= m;
    else
        bits[id / 64] &= ~m;
}

static bool
bit_get(const uint64_t *bits, kwi_conf_id id)
{
    return (bits[id / 64] >> (id % 64)) & 1u;
}

static bool
is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

static char
lower(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* Case-insensitive equality of s[0..n) and the NUL-terminated z. */
static bool
eq_nocase(const char *s, size_t n, const char *z)
{
    size_t i = 0;
    for (; i < n; i++)
        if (!z[i] || lower(s[i]) != lower(z[i]))
            return false;
    return z[i] == '\0';
}

static void
trim(const char **s, size_t *n)
{
    while (*n && is_space(**s))
        (*s)++, (*n)--;
    while (*n && is_space((*s)[*n - 1]))
        (*n)--;
}

/* Free str[id] if this conf owns it. */
static void
release(kw_conf *c, kwi_conf_id id)
{
    if (bit_get(c->owned, id)) {
        char *p = (char *)c->str[id];
        c->a.free(c->a.ud, p, strlen(p) + 1);
        bit_put(c->owned, id, false);
    }
    c->str[id] = NULL;
}

static char *
copy_text(const kw_allocator *a, const char *s, size_t n)
{
    char *p = a->alloc(a->ud, n + 1);
    if (p) {
        if (n)
            memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* ---- parsing values ----------------------------------------------------------------------- */

/* A parsed value, not yet stored. `str` is static unless `owned`. */
typedef struct parsed {
    int64_t num;
    const char *str;
    bool owned;
} parsed;

/* A decimal integer with an optional sign. Returns 0 when well-formed and in int64 range, -1
 * when not an integer, 1 when it overflows (then *out says the direction: -1 or 1). */
static int
scan_int(const char *s, size_t n, int64_t *out)
{
    size_t i = 0;
    bool neg = false;
    if (n && (s[0] == '-' || s[0] == '+'))
        neg = s[0] == '-', i = 1;
    if (i == n)
        return -1;
    uint64_t v = 0, limit = neg ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
    bool over = false;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        if (over || v > (limit - d) / 10)
            over = true;
        else
            v = v * 10 + d;
    }
    if (over) {
        *out = neg ? -1 : 1;
        return 1;
    }
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static kw_err
parse_num(const char *shown, const kwi_conf_def *d, int64_t scale, const char *s, size_t n,
          parsed *p, kw_error *err)
{
    int64_t v;
    int r = scan_int(s, n, &v);
    if (r < 0)
        return kw_error_set(err, KW_ERR_CONFIG, "%s: \"%.*s\" is not an integer", shown, (int)n, s);
    /* Bounds in the unit the caller wrote: an alias in KiB is checked in KiB. */
    int64_t lo = d->min >= 0 ? d->min / scale + (d->min % scale != 0) : d->min / scale;
    int64_t hi = d->max / scale;
    if ((r > 0 && v < 0) || (r == 0 && v < lo))
        return kw_error_set(err, KW_ERR_CONFIG, "%s: %.*s is below the minimum %lld", shown, (int)n,
                            s, (long long)lo);
    if (r > 0 || v > hi)
        return kw_error_set(err, KW_ERR_CONFIG, "%s: %.*s is above the maximum %lld", shown, (int)n,
                            s, (long long)hi);
    p->num = v * scale;
    return KW_ERR_OK;
}

static const kwi_conf_enum_val *
find_val(const kwi_conf_enum_val *vals, const char *s, size_t n)
{
    for (const kwi_conf_enum_val *v = vals; v->name; v++)
        if (eq_nocase(s, n, v->name))
            return v;
    return NULL;
}

/* The canonical spelling of a value: the first entry that has it. */
static const char *
canonical(const kwi_conf_enum_val *vals, int64_t value)
{
    for (const kwi_conf_enum_val *v = vals; v->name; v++)
        if (v->value == value)
            return v->name;
    return NULL;
}

static kw_err
parse_enum(const char *shown, const kwi_conf_def *d, const char *s, size_t n, parsed *p,
           kw_error *err)
{
    const kwi_conf_enum_val *v = find_val(d->vals, s, n);
    if (!v)
        return kw_error_set(err, KW_ERR_CONFIG, "%s: \"%.*s\" is not one of %s", shown, (int)n, s,
                            d->values_doc);
    p->num = v->value;
    p->str = canonical(d->vals, v->value);
    return KW_ERR_OK;
}

/* Check one list item; on success *canon is the spelling to store (NULL = as written). */
static kw_err
check_list_item(const char *shown, const kwi_conf_def *d, const char *s, size_t n,
                const char **canon, kw_error *err)
{
    *canon = NULL;
    if (d->vals) {
        const kwi_conf_enum_val *v = find_val(d->vals, s, n);
        if (!v)
            return kw_error_set(err, KW_ERR_CONFIG, "%s: \"%.*s\" is not one of %s", shown, (int)n,
                                s, d->values_doc);
        *canon = canonical(d->vals, v->value);
    }
    if (d->check_item) {
        const char *why = d->check_item(s, n);
        if (why)
            return kw_error_set(err, KW_ERR_CONFIG, "%s: \"%.*s\" %s", shown, (int)n, s, why);
    }
    return KW_ERR_OK;
}

/* A list: items separated by commas, each trimmed; stored joined by "," with no blanks. Two
 * passes: check and measure, then allocate once and write. */
static kw_err
parse_list(const kw_conf *c, const char *shown, const kwi_conf_def *d, const char *s, size_t n,
           parsed *p, kw_error *err)
{
    if (n == 0) {
        p->str = "";
        return KW_ERR_OK;
    }
    size_t need = 0;
    for (int pass = 0; pass < 2; pass++) {
        char *out = NULL;
        if (pass == 1) {
            out = c->a.alloc(c->a.ud, need + 1);
            if (!out)
                return kw_error_set(err, KW_ERR_NOMEM, "%s: out of memory", shown);
        }
        size_t at = 0, w = 0;
        while (at <= n) {
            const char *comma = memchr(s + at, ',', n - at);
            size_t end = comma ? (size_t)(comma - s) : n;
            const char *item = s + at;
            size_t len = end - at;
            trim(&item, &len);
            /* Pass 1 repeats pass 0's checks, which succeeded: it cannot fail. */
            const char *canon = NULL;
            kw_err e = len == 0 ? kw_error_set(err, KW_ERR_CONFIG, "%s: \"%.*s\" has an empty item",
                                               shown, (int)n, s)
                                : check_list_item(shown, d, item, len, &canon, pass ? NULL : err);
            if (e) {
                if (out)
                    c->a.free(c->a.ud, out, need + 1);
                return e;
            }
            if (canon) {
                item = canon;
                len = strlen(canon);
            }
            if (pass == 0) {
                need += len + (w++ ? 1 : 0);
            } else {
                if (w)
                    out[w++] = ',';
                memcpy(out + w, item, len);
                w += len;
            }
            at = end + 1;
        }
        if (pass == 1) {
            out[w] = '\0';
            p->str = out;
            p->owned = true;
        }
    }
    return KW_ERR_OK;
}

/* Parse `value` for property `id` written by the caller as `shown` (an alias scales by
 * `scale`). Allocates only for string kinds, and only after everything else succeeded. */
static kw_err
parse_value(const kw_conf *c, kwi_conf_id id, const char *shown, int64_t scale, const char *value,
            parsed *p, kw_error *err)
{
    const kwi_conf_def *d = &kwi_conf_defs[id];
    memset(p, 0, sizeof(*p));
    const char *s = value;
    size_t n = strlen(value);
    if (d->type != KW_CONF_SECRET)
        trim(&s, &n);
    switch (d->type) {
    case KW_CONF_BOOL:
        if (eq_nocase(s, n, "true") || eq_nocase(s, n, "false")) {
            p->num = eq_nocase(s, n, "true");
            return KW_ERR_OK;
        }
        return kw_error_set(err, KW_ERR_CONFIG, "%s: \"%.*s\" is not a boolean (true or false)",
                            shown, (int)n, s);
    case KW_CONF_INT:
    case KW_CONF_MS:
    case KW_CONF_BYTES:
        return parse_num(shown, d, scale, s, n, p, err);
    case KW_CONF_ENUM:
        return parse_enum(shown, d, s, n, p, err);
    case KW_CONF_LIST:
        return parse_list(c, shown, d, s, n, p, err);
    case KW_CONF_STRING:
    case KW_CONF_SECRET: {
        char *copy = copy_text(&c->a, s, n);
        if (!copy)
            return kw_error_set(err, KW_ERR_NOMEM, "%s: out of memory", shown);
        p->str = copy;
        p->owned = true;
        return KW_ERR_OK;
    }
    }
    return kw_error_set(err, KW_ERR_CONFIG, "%s: bad table entry", shown);
}

static void
store(kw_conf *c, kwi_conf_id id, const parsed *p, bool explicit_)
{
    release(c, id);
    c->num[id] = p->num;
    c->str[id] = p->str;
    bit_put(c->owned, id, p->owned);
    bit_put(c->set, id, explicit_);
}

/* ---- defaults ----------------------------------------------------------------------------- */

int64_t
kwi_conf_default_num(kwi_conf_id id)
{
    const kwi_conf_def *d = &kwi_conf_defs[id];
    int64_t v = 0;
    if (!d->def)
        return 0;
    switch (d->type) {
    case KW_CONF_BOOL:
        return strcmp(d->def, "true") == 0;
    case KW_CONF_INT:
    case KW_CONF_MS:
    case KW_CONF_BYTES:
        (void)scan_int(d->def, strlen(d->def), &v);
        return v;
    case KW_CONF_ENUM: {
        const kwi_conf_enum_val *e = find_val(d->vals, d->def, strlen(d->def));
        return e ? e->value : 0;
    }
    default:
        return 0;
    }
}

void
kwi_conf_reset(kw_conf *c, kwi_conf_id id)
{
    const kwi_conf_def *d = &kwi_conf_defs[id];
    parsed p = {kwi_conf_default_num(id), NULL, false};
    if (d->type != KW_CONF_BOOL && d->type != KW_CONF_INT && d->type != KW_CONF_MS &&
        d->type != KW_CONF_BYTES)
        p.str = d->def; /* table defaults are in canonical form (a test checks) */
    store(c, id, &p, false);
}

void
kwi_conf_derive(kw_conf *c, kwi_conf_id id, int64_t v)
{
    c->num[id] = v;
    bit_put(c->set, id, false);
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

kw_err
kw_conf_new(const kw_allocator *a, kw_conf **out)
{
    if (!out)
        return KW_ERR_INVALID_ARG;
    *out = NULL;
    if (!a)
        a = kw_allocator_default();
    kw_conf *c = a->alloc(a->ud, sizeof(*c));
    if (!c)
        return KW_ERR_NOMEM;
    memset(c, 0, sizeof(*c));
    c->a = *a;
    for (int id = 0; id < KWI_CONF__COUNT; id++)
        kwi_conf_reset(c, (kwi_conf_id)id);
    *out = c;
    return KW_ERR_OK;
}

void
kw_conf_free(kw_conf *c)
{
    if (!c)
        return;
    for (int id = 0; id < KWI_CONF__COUNT; id++)
        release(c, (kwi_conf_id)id);
    kw_allocator a = c->a;
    a.free(a.ud, c, sizeof(*c));
}

kw_err
kw_conf_dup(const kw_conf *c, kw_conf **out)
{
    if (!out)
        return KW_ERR_INVALID_ARG;
    *out = NULL;
    if (!c)
        return KW_ERR_INVALID_ARG;
    kw_conf *d = c->a.alloc(c->a.ud, sizeof(*d));
    if (!d)
        return KW_ERR_NOMEM;
    *d = *c;
    memset(d->owned, 0, sizeof(d->owned)); /* nothing owned until copied */
    for (int i = 0; i < KWI_CONF__COUNT; i++) {
        kwi_conf_id id = (kwi_conf_id)i;
        if (!bit_get(c->owned, id))
            continue;
        char *p = copy_text(&c->a, c->str[id], strlen(c->str[id]));
        if (!p) {
            for (int j = i; j < KWI_CONF__COUNT; j++)
                d->str[j] = NULL; /* still borrowed from c */
            kw_conf_free(d);
            return KW_ERR_NOMEM;
        }
        d->str[id] = p;
        bit_put(d->owned, id, true);
    }
    *out = d;
    return KW_ERR_OK;
}

/* ---- names -------------------------------------------------------------------------------- */

/* Find a canonical name or an alias. */
static bool
lookup(const char *name, kwi_conf_id *id, int64_t *scale)
{
    for (int i = 0; i < KWI_CONF__COUNT; i++) {
        const kwi_conf_def *d = &kwi_conf_defs[i];
        if (strcmp(d->name, name) == 0) {
            *id = (kwi_conf_id)i;
            *scale = 1;
            return true;
        }
        for (int k = 0; k < KW_CONF_MAX_ALIASES && d->aliases[k]; k++) {
            if (strcmp(d->aliases[k], name) == 0) {
                *id = (kwi_conf_id)i;
                *scale = d->alias_scale[k] ? d->alias_scale[k] : 1;
                return true;
            }
        }
    }
    return false;
}

/* Optimal string alignment distance (Levenshtein plus adjacent transpositions), ignoring
 * case. Names are short; anything longer than NAME_MAX_SUGGEST is not compared. */
#define NAME_MAX_SUGGEST 64

static size_t
osa_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > NAME_MAX_SUGGEST || m > NAME_MAX_SUGGEST)
        return SIZE_MAX;
    size_t rows[3][NAME_MAX_SUGGEST + 1];
    size_t *prev2 = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = lower(a[i - 1]) != lower(b[j - 1]);
            size_t best = prev[j] + 1;
            if (cur[j - 1] + 1 < best)
                best = cur[j - 1] + 1;
            if (prev[j - 1] + cost < best)
                best = prev[j - 1] + cost;
            if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) &&
                lower(a[i - 2]) == lower(b[j - 1]) && prev2[j - 2] + 1 < best)
                best = prev2[j - 2] + 1;
            cur[j] = best;
        }
        size_t *t = prev2;
        prev2 = prev, prev = cur, cur = t;
    }
    return prev[m];
}

/* The known name closest to `name`, if it is close enough to be a typo. */
static const char *
suggest(const char *name)
{
    size_t len = strlen(name);
    size_t limit = len / 4 < 1 ? 1 : len / 4 > 3 ? 3 : len / 4;
    const char *best = NULL;
    size_t best_d = limit + 1;
    for (int i = 0; i < KWI_CONF__COUNT; i++) {
        const kwi_conf_def *d = &kwi_conf_defs[i];
        for (int k = -1; k < KW_CONF_MAX_ALIASES; k++) {
            const char *cand = k < 0 ? d->name : d->aliases[k];
            if (!cand)
                break;
            size_t dist = osa_distance(name, cand);
            if (dist < best_d)
                best = cand, best_d = dist;
        }
    }
    return best;
}

static kw_err
unknown(const char *name, kw_error *err)
{
    const char *s = suggest(name);
    if (s)
        return kw_error_set(err, KW_ERR_NOT_FOUND, "unknown property \"%s\" (did you mean \"%s\"?)",
                            name, s);
    return kw_error_set(err, KW_ERR_NOT_FOUND, "unknown property \"%s\"", name);
}

/* ---- set / get ---------------------------------------------------------------------------- */

kw_err
kw_conf_set(kw_conf *c, const char *name, const char *value, kw_error *err)
{
    if (!c || !name)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kw_conf_set: NULL %s",
                            c ? "name" : "configuration");
    kwi_conf_id id;
    int64_t scale;
    if (!lookup(name, &id, &scale))
        return unknown(name, err);
    if (!value) {
        kwi_conf_reset(c, id);
        return KW_ERR_OK;
    }
    parsed p;
    kw_err e = parse_value(c, id, name, scale, value, &p, err);
    if (e)
        return e;
    store(c, id, &p, true);
    return KW_ERR_OK;
}

/* The text kw_conf_get and kw_conf_dump show; NULL when the property has no value. */
static const char *
value_text(const kw_conf *c, kwi_conf_id id, int64_t scale, char *buf, size_t size)
{
    switch (kwi_conf_defs[id].type) {
    case KW_CONF_BOOL:
        return c->num[id] ? "true" : "false";
    case KW_CONF_INT:
    case KW_CONF_MS:
    case KW_CONF_BYTES:
        snprintf(buf, size, "%lld", (long long)(c->num[id] / scale));
        return buf;
    case KW_CONF_SECRET:
        return c->str[id] ? HIDDEN : NULL;
    default:
        return c->str[id];
    }
}

kw_err
kw_conf_get(const kw_conf *c, const char *name, char *buf, size_t *len)
{
    if (!c || !name || !len)
        return KW_ERR_INVALID_ARG;
    kwi_conf_id id;
    int64_t scale;
    if (!lookup(name, &id, &scale))
        return KW_ERR_NOT_FOUND;
    char num[24];
    const char *v = value_text(c, id, scale, num, sizeof(num));
    if (!v)
        v = "";
    size_t need = strlen(v) + 1, have = *len;
    *len = need;
    if (!buf)
        return KW_ERR_OK;
    if (have < need)
        return KW_ERR_NOSPACE;
    memcpy(buf, v, need);
    return KW_ERR_OK;
}

kw_err
kw_conf_dump(const kw_conf *c, bool include_defaults,
             void (*line)(void *ud, const char *name, const char *value), void *ud)
{
    if (!c || !line)
        return KW_ERR_INVALID_ARG;
    for (int i = 0; i < KWI_CONF__COUNT; i++) {
        kwi_conf_id id = (kwi_conf_id)i;
        if (!include_defaults && !bit_get(c->set, id))
            continue;
        char num[24];
        const char *v = value_text(c, id, 1, num, sizeof(num));
        if (v)
            line(ud, kwi_conf_defs[id].name, v);
    }
    return KW_ERR_OK;
}

/* ---- describe ----------------------------------------------------------------------------- */

const char *
kw_conf_type_name(kw_conf_type t)
{
    switch (t) {
    case KW_CONF_BOOL:
        return "bool";
    case KW_CONF_INT:
        return "int";
    case KW_CONF_MS:
        return "ms";
    case KW_CONF_BYTES:
        return "bytes";
    case KW_CONF_ENUM:
        return "enum";
    case KW_CONF_STRING:
        return "string";
    case KW_CONF_LIST:
        return "list";
    case KW_CONF_SECRET:
        return "secret";
    }
    return "unknown";
}

kw_err
kw_conf_describe(size_t index, kw_conf_prop *out)
{
    if (!out)
        return KW_ERR_INVALID_ARG;
    if (index >= KWI_CONF__COUNT)
        return KW_ERR_NOT_FOUND;
    const kwi_conf_def *d = &kwi_conf_defs[index];
    memset(out, 0, sizeof(*out));
    out->name = d->name;
    out->type = d->type;
    out->default_value = d->def;
    if (d->type == KW_CONF_INT || d->type == KW_CONF_MS || d->type == KW_CONF_BYTES)
        out->min = d->min, out->max = d->max;
    out->values = d->values_doc;
    for (int k = 0; k < KW_CONF_MAX_ALIASES && d->aliases[k]; k++) {
        out->aliases[k] = d->aliases[k];
        out->alias_scale[k] = d->alias_scale[k] ? d->alias_scale[k] : 1;
    }
    out->scope = d->scope;
    out->doc = d->doc;
    return KW_ERR_OK;
}

/* ---- lists and broker addresses ----------------------------------------------------------- */

bool
kwi_conf_list_next(const char **cur, const char **item, size_t *len)
{
    const char *p = *cur;
    if (!p || !*p)
        return false;
    const char *comma = strchr(p, ',');
    size_t n = comma ? (size_t)(comma - p) : strlen(p);
    *item = p;
    *len = n;
    *cur = comma ? comma + 1 : p + n;
    return true;
}

const char *
kwi_conf_parse_broker(const char *item, size_t len, kwi_conf_broker *out)
{
    const char *s = item, *end = item + len;
    for (const char *q = s; (size_t)(end - q) >= 3; q++) {
        if (memcmp(q, "://", 3) == 0) {
            s = q + 3; /* PLAINTEXT://host:port, as librdkafka accepts */
            break;
        }
    }
    for (const char *q = s; q < end; q++)
        if (is_space(*q) || *q == '/')
            return "is not host:port (it contains a space or a slash)";
    const char *host = s, *port = NULL;
    size_t host_len;
    if (s < end && *s == '[') {
        const char *close = memchr(s, ']', (size_t)(end - s));
        if (!close)
            return "has an unclosed [";
        host = s + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < end) {
            if (close[1] != ':')
                return "has text after ]";
            port = close + 2;
        }
    } else {
        const char *colon = memchr(s, ':', (size_t)(end - s));
        if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
            return "is an IPv6 address without brackets (write [address]:port)";
        host_len = colon ? (size_t)(colon - s) : (size_t)(end - s);
        if (colon)
            port = colon + 1;
    }
    if (host_len == 0)
        return "has no host";
    int pv = KWI_CONF_DEFAULT_PORT;
    if (port) {
        size_t n = (size_t)(end - port);
        int64_t v;
        if (n == 0 || n > 5 || port[0] == '+' || port[0] == '-' || scan_int(port, n, &v) != 0 ||
            v < 1 || v > 65535)
            return "has a bad port (expected 1-65535)";
        pv = (int)v;
    }
    out->host = host;
    out->host_len = host_len;
    out->port = pv;
    return NULL;
}

/* ---- properties files --------------------------------------------------------------------- */

/* Read the whole file through the allocator; *buf has one spare byte for a NUL. The buffer
 * starts small and doubles: properties files are small, and st_size is not trusted (a FIFO or
 * a /proc file reports 0, a file may grow while it is read). */
static kw_err
read_file(const kw_allocator *a, const char *path, char **buf, size_t *size, size_t *cap,
          kw_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return kw_error_set(err, KW_ERR_IO, "%s: %s", path, strerror(errno));
    size_t n = 0, c = 4096;
    char *b = a->alloc(a->ud, c);
    kw_err e = b ? KW_ERR_OK : kw_error_set(err, KW_ERR_NOMEM, "%s: out of memory", path);
    while (!e) {
        if (n == c) { /* full: grow, keeping room for the NUL, up to FILE_MAX_BYTES + 1 */
            if (n > FILE_MAX_BYTES) {
                e = kw_error_set(err, KW_ERR_TOO_LARGE, "%s: larger than %u bytes", path,
                                 FILE_MAX_BYTES);
                break;
            }
            size_t nc = c * 2 > FILE_MAX_BYTES + 1 ? FILE_MAX_BYTES + 1 : c * 2;
            char *nb = a->realloc(a->ud, b, c, nc);
            if (!nb) {
                e = kw_error_set(err, KW_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            b = nb, c = nc;
        }
        ssize_t r = read(fd, b + n, c - n); /* n < c here, so a NUL always fits at b[n] */
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            e = kw_error_set(err, KW_ERR_IO, "%s: %s", path, strerror(errno));
        else if (r == 0)
            break;
        else
            n += (size_t)r;
    }
    close(fd);
    if (e) {
        if (b)
            a->free(a->ud, b, c);
        return e;
    }
    b[n] = '\0';
    *buf = b, *size = n, *cap = c;
    return KW_ERR_OK;
}

/* Apply one line (already without its newline) to c. Returns KW_ERR_OK for blank lines and
 * comments. Writes NULs into the line. */
static kw_err
apply_line(kw_conf *c, char *line, size_t n, kw_error *err)
{
    const char *s = line;
    trim(&s, &n);
    if (n == 0 || s[0] == '#' || s[0] == '!')
        return KW_ERR_OK;
    if (memchr(s, '\0', n))
        return kw_error_set(err, KW_ERR_CONFIG, "the line contains a NUL byte");
    if (s[n - 1] == '\\')
        return kw_error_set(err, KW_ERR_CONFIG,
                            "line continuation (a trailing backslash) is not supported");
    size_t sep = 0;
    while (sep < n && s[sep] != '=' && s[sep] != ':')
        sep++;
    /* The line is not echoed: it may hold a password. */
    if (sep == n)
        return kw_error_set(err, KW_ERR_CONFIG, "expected key=value or key: value");
    size_t klen = sep;
    while (klen && is_space(s[klen - 1]))
        klen--;
    if (klen == 0)
        return kw_error_set(err, KW_ERR_CONFIG, "missing property name before '%c'", s[sep]);
    char *key = (char *)s, *value = (char *)s + sep + 1;
    key[klen] = '\0';
    value[n - sep - 1] = '\0';
    while (is_space(*value))
        value++;
    return kw_conf_set(c, key, value, err);
}

kw_err
kw_conf_set_file(kw_conf *c, const char *path, kw_error *err)
{
    if (!c || !path)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "kw_conf_set_file: NULL %s",
                            c ? "path" : "configuration");
    char *buf = NULL;
    size_t size = 0, cap = 0;
    kw_err e = read_file(&c->a, path, &buf, &size, &cap, err);
    if (e)
        return e;
    /* All or nothing: apply to a copy and swap it in only when every line succeeded. */
    kw_conf *tmp;
    e = kw_conf_dup(c, &tmp);
    if (e) {
        c->a.free(c->a.ud, buf, cap);
        return kw_error_set(err, e, "%s: out of memory", path);
    }
    char *p = buf, *end = buf + size;
    if (size >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    for (unsigned lineno = 1; !e && p < end; lineno++) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        kw_error inner;
        kw_error_init(&inner);
        e = apply_line(tmp, p, n, &inner);
        if (e)
            kw_error_set(err, e, "%s:%u: %s", path, lineno, inner.msg);
        p += n + 1;
    }
    c->a.free(c->a.ud, buf, cap);
    if (!e) {
        kw_conf swap = *c;
        *c = *tmp;
        *tmp = swap;
    }
    kw_conf_free(tmp);
    return e;
}
