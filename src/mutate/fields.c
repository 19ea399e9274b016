/* Structure-aware mutations of a decoded message, found through the generic walk: one field of
 * the right kind is chosen uniformly (reservoir sampling over the walk, so nothing is
 * collected) and changed the way the family says. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mut_int.h"

/* ---------------------------------------------------------------- picking a field */

#define FT(t) (1u << (t))
#define FT_INTS                                                                                    \
    (FT(KW_FT_INT8) | FT(KW_FT_INT16) | FT(KW_FT_INT32) | FT(KW_FT_INT64) | FT(KW_FT_UINT16) |     \
     FT(KW_FT_UINT32) | FT(KW_FT_FLOAT64) | FT(KW_FT_BOOL) | FT(KW_FT_UUID))
#define FT_NULLABLE                                                                                \
    (FT(KW_FT_STRING) | FT(KW_FT_BYTES) | FT(KW_FT_RECORDS) | FT(KW_FT_ARRAY) | FT(KW_FT_STRUCT))

typedef struct pick {
    kwm_rng *rng;
    uint32_t types;                    /* FT() bits accepted */
    bool (*accept)(const kw_field *f); /* further filter, or NULL */
    uint32_t seen;
    kw_field f; /* the chosen field; its path points at `path` */
    char path[200];
} pick;

static int
pick_cb(void *ud, const kw_field *f)
{
    pick *p = ud;
    if (!(p->types & FT(f->type)) || (p->accept && !p->accept(f)))
        return 0;
    p->seen++;
    if (kwm_below(p->rng, p->seen) == 0) {
        p->f = *f;
        snprintf(p->path, sizeof(p->path), "%s", f->path[0] ? f->path : "(root)");
        p->f.path = p->path;
        p->f.spath = NULL;
        p->f.name = NULL;
    }
    return 0;
}

static bool
pick_field(kwm_ctx *c, const kw_msgdef *d, int16_t ver, void *msg, uint32_t types,
           bool (*accept)(const kw_field *), pick *p)
{
    memset(p, 0, sizeof(*p));
    p->rng = &c->rng;
    p->types = types;
    p->accept = accept;
    kw_msg_walk(d, ver, msg, pick_cb, p);
    return p->seen > 0;
}

/* ---------------------------------------------------------------- KW_MUT_INT */

/* The range of each integer field type (64-bit for any other, which is only KW_FT_INT64). */
static const struct {
    kw_ftype t;
    int64_t lo, hi;
} int_ranges[] = {
    {KW_FT_INT8, INT8_MIN, INT8_MAX},    {KW_FT_INT16, INT16_MIN, INT16_MAX},
    {KW_FT_INT32, INT32_MIN, INT32_MAX}, {KW_FT_UINT16, 0, UINT16_MAX},
    {KW_FT_UINT32, 0, UINT32_MAX},
};

static void
int_range(kw_ftype t, int64_t *lo, int64_t *hi)
{
    *lo = INT64_MIN;
    *hi = INT64_MAX;
    for (size_t i = 0; i < sizeof(int_ranges) / sizeof(int_ranges[0]); i++)
        if (int_ranges[i].t == t) {
            *lo = int_ranges[i].lo;
            *hi = int_ranges[i].hi;
        }
}

/* Reads an integer field; with `set`, first stores *set truncated to the field's width (so
 * v+1 at the maximum wraps to the minimum, which is one more boundary). One switch for both
 * directions, so reading and writing cannot disagree on a width. */
static int64_t
int_io(const kw_field *f, const int64_t *set)
{
    uint64_t u = set ? (uint64_t)*set : 0;
    switch (f->type) {
    case KW_FT_INT8:
        if (set)
            *(int8_t *)f->value = (int8_t)(uint8_t)u;
        return *(int8_t *)f->value;
    case KW_FT_INT16:
        if (set)
            *(int16_t *)f->value = (int16_t)(uint16_t)u;
        return *(int16_t *)f->value;
    case KW_FT_INT32:
        if (set)
            *(int32_t *)f->value = (int32_t)(uint32_t)u;
        return *(int32_t *)f->value;
    case KW_FT_UINT16:
        if (set)
            *(uint16_t *)f->value = (uint16_t)u;
        return *(uint16_t *)f->value;
    case KW_FT_UINT32:
        if (set)
            *(uint32_t *)f->value = (uint32_t)u;
        return *(uint32_t *)f->value;
    default:
        if (set)
            *(int64_t *)f->value = *set;
        return *(int64_t *)f->value;
    }
}

static int64_t
int_get(const kw_field *f)
{
    return int_io(f, NULL);
}

static void
int_set(const kw_field *f, int64_t v)
{
    int_io(f, &v);
}

static int64_t
int_boundary(kwm_ctx *c, kw_ftype t, int64_t v)
{
    int64_t lo, hi;
    int_range(t, &lo, &hi);
    switch (kwm_below(&c->rng, 11)) {
    case 0:
        return 0;
    case 1:
        return -1;
    case 2:
        return lo;
    case 3:
        return hi;
    case 4:
        return lo + 1;
    case 5:
        return hi - 1;
    case 6:
        return (int64_t)((uint64_t)v + 1);
    case 7:
        return (int64_t)((uint64_t)v - 1);
    case 8:
        return 1;
    case 9: /* a sign flip: the classic unchecked negation */
        return (int64_t)(0 - (uint64_t)v);
    default:
        return (int64_t)kwm_next(&c->rng);
    }
}

static void
float_boundary(kwm_ctx *c, const kw_field *f)
{
    static const double vals[] = {0.0, -0.0, 1.0, -1.0, DBL_MAX, -DBL_MAX, DBL_MIN, 5e-324};
    double *v = f->value;
    uint32_t k = kwm_below(&c->rng, 11);
    if (k < sizeof(vals) / sizeof(vals[0]))
        *v = vals[k];
    else if (k == 8)
        *v = (double)NAN;
    else if (k == 9)
        *v = (double)INFINITY;
    else
        *v = -(double)INFINITY;
    kwm_note(c, KW_MUT_INT, "float %s=%g", f->path, *v);
}

static bool
mut_int(kwm_ctx *c, const kw_msgdef *d, int16_t ver, void *msg)
{
    pick p;
    if (!pick_field(c, d, ver, msg, FT_INTS, NULL, &p))
        return false;
    const kw_field *f = &p.f;
    if (f->type == KW_FT_FLOAT64) {
        float_boundary(c, f);
    } else if (f->type == KW_FT_BOOL) {
        *(bool *)f->value = !*(bool *)f->value;
        kwm_note(c, KW_MUT_INT, "bool %s flipped", f->path);
    } else if (f->type == KW_FT_UUID) {
        kw_uuid *u = f->value;
        uint32_t k = kwm_below(&c->rng, 3);
        for (int i = 0; i < 16; i++)
            u->b[i] = k == 0 ? 0 : k == 1 ? 0xff : (uint8_t)kwm_next(&c->rng);
        kwm_note(c, KW_MUT_INT, "uuid %s=%s", f->path, k == 0 ? "zero" : k == 1 ? "ff" : "random");
    } else {
        int64_t old = int_get(f);
        for (int i = 0; i < 4 && int_get(f) == old; i++)
            int_set(f, int_boundary(c, f->type, old));
        if (int_get(f) == old)
            int_set(f, (int64_t)((uint64_t)old + 1));
        kwm_note(c, KW_MUT_INT, "int %s=%lld (was %lld)", f->path, (long long)int_get(f),
                 (long long)old);
    }
    return true;
}

/* ---------------------------------------------------------------- KW_MUT_COUNT */

static bool
countable(const kw_field *f)
{
    return f->type != KW_FT_STRUCT || f->present != NULL;
}

static void
add_override(kwm_ctx *c, const void *field, int64_t value)
{
    for (size_t i = 0; i < c->n_ov; i++)
        if (c->ov[i].field == field) {
            c->ov[i].value = value;
            return;
        }
    if (c->n_ov < KWM_MAX_OV) {
        c->ov[c->n_ov].field = field;
        c->ov[c->n_ov].value = value;
        c->n_ov++;
    }
}

/* A claimed count or length that differs from the real one. */
static int64_t
wrong_count(kwm_ctx *c, int64_t real, int64_t huge)
{
    int64_t v;
    switch (kwm_below(&c->rng, 7)) {
    case 0:
        v = real + 1;
        break;
    case 1:
        v = real - 1;
        break;
    case 2:
        v = real >= 0 ? -1 : 0;
        break;
    case 3:
        v = huge;
        break;
    case 4:
        v = real * 2 + 2;
        break;
    case 5:
        v = real > 0 ? 0 : 1;
        break;
    default:
        v = -2;
        break;
    }
    return v == real ? real + 1 : v;
}

static bool
mut_count(kwm_ctx *c, const kw_msgdef *d, int16_t ver, void *msg)
{
    pick p;
    if (c->n_ov >= KWM_MAX_OV || !pick_field(c, d, ver, msg,
                                             FT(KW_FT_ARRAY) | FT(KW_FT_STRING) | FT(KW_FT_BYTES) |
                                                 FT(KW_FT_RECORDS) | FT(KW_FT_STRUCT),
                                             countable, &p))
        return false;
    const kw_field *f = &p.f;
    int64_t real, claim;
    const void *target;
    if (f->type == KW_FT_ARRAY) {
        real = *f->count;
        claim = wrong_count(c, real, INT32_MAX);
        target = f->count;
    } else if (f->type == KW_FT_STRUCT) {
        real = *f->present ? 1 : -1;
        /* -1 while present hides the fields; 1 while null reads fields that are not there;
         * 0 and 127 test "negative means null" (Java) against "1 means present". */
        static const int64_t marks[] = {0, 127, -128, 2};
        claim = kwm_below(&c->rng, 2) ? -real : marks[kwm_below(&c->rng, 4)];
        target = f->present;
    } else {
        const kw_slice *s = f->value;
        real = s->len < 0 ? -1 : s->len;
        claim = wrong_count(c, real, f->type == KW_FT_STRING && !f->flex ? INT16_MAX : INT32_MAX);
        target = s;
    }
    add_override(c, target, claim);
    kwm_note(c, KW_MUT_COUNT, "count %s=%lld on the wire (real %lld)", f->path, (long long)claim,
             (long long)real);
    return true;
}

/* ---------------------------------------------------------------- KW_MUT_NULL */

static bool
is_null(const kw_field *f)
{
    if (f->type == KW_FT_ARRAY)
        return *f->count < 0;
    if (f->type == KW_FT_STRUCT)
        return !*f->present;
    return ((const kw_slice *)f->value)->len < 0;
}

static bool
nullable_kind(const kw_field *f)
{
    /* Nullable structures are the only structures with a marker; elements of []string may
     * not be null on the wire, which makes them targets too; other elements cannot be null. */
    if (f->type == KW_FT_STRUCT)
        return f->name && f->index < 0 && f->present;
    if (!f->name)
        return f->type == KW_FT_STRING;
    return true;
}

static bool
null_violation(const kw_field *f)
{
    return nullable_kind(f) && !f->nullable && !is_null(f);
}

static bool
mut_null(kwm_ctx *c, const kw_msgdef *d, int16_t ver, void *msg)
{
    pick p;
    /* Null where the schema forbids it is the interesting case; toggling a nullable field is
     * the fallback. */
    if (!pick_field(c, d, ver, msg, FT_NULLABLE, null_violation, &p) &&
        !pick_field(c, d, ver, msg, FT_NULLABLE, nullable_kind, &p))
        return false;
    const kw_field *f = &p.f;
    bool to_null = !is_null(f);
    if (f->type == KW_FT_ARRAY) {
        *f->count = to_null ? -1 : 0;
        *(void **)f->value = NULL;
    } else if (f->type == KW_FT_STRUCT) {
        *f->present = !to_null;
    } else {
        kw_slice *s = f->value;
        *s = to_null ? KW_SLICE_NULL : (kw_slice){NULL, 0};
    }
    kwm_note(c, KW_MUT_NULL, "%s %s%s", to_null ? "null" : "not null", f->path,
             to_null && !f->nullable ? " (not nullable)" : "");
    return true;
}

/* ---------------------------------------------------------------- KW_MUT_TAGS */

static bool
mut_tags(kwm_ctx *c, const kw_msgdef *d, int16_t ver, void *msg)
{
    pick p;
    if (!pick_field(c, d, ver, msg, FT(KW_FT_TAGS), NULL, &p))
        return false;
    kw_tags *t = p.f.value;
    uint32_t op = kwm_below(&c->rng, 4);
    if (op == 3 && c->n_ov < KWM_MAX_OV) {
        int64_t claim = (int64_t)kwm_below(&c->rng, 3) + (t->n > 0 ? t->n + 1 : 1);
        add_override(c, t, claim);
        kwm_note(c, KW_MUT_TAGS, "tags %s: section count %lld on the wire", p.path,
                 (long long)claim);
        return true;
    }
    kw_tag_raw *v = kw_arena_calloc(c->ar, (size_t)(t->n > 0 ? t->n : 0) + 1, sizeof(*v));
    uint8_t *data = kw_arena_alloc(c->ar, 8);
    if (!v || !data)
        return false;
    if (t->n > 0)
        memcpy(v, t->v, (size_t)t->n * sizeof(*v));
    kw_tag_raw *e = &v[t->n > 0 ? t->n : 0];
    /* Tags 0-3 are the known tags of most structures: a second copy is a repeated tag, and
     * any unknown tag after a higher known one is out of order. */
    static const uint32_t tags[] = {0, 1, 2, 3, 7, 100, 0x7fffffffu, 0xffffffffu};
    if (op == 1 && t->n > 0)
        e->tag = t->v[kwm_below(&c->rng, (uint32_t)t->n)].tag; /* an unknown tag repeated */
    else
        e->tag = tags[kwm_below(&c->rng, 8)];
    uint32_t len = kwm_below(&c->rng, 9);
    for (uint32_t i = 0; i < len; i++)
        data[i] = (uint8_t)kwm_next(&c->rng);
    e->data = (kw_slice){data, (int32_t)len};
    t->v = v;
    t->n = (t->n > 0 ? t->n : 0) + 1;
    if (op == 2 && c->n_ov < KWM_MAX_OV) {
        int64_t claim = len + 1 + kwm_below(&c->rng, 200);
        add_override(c, e, claim);
        kwm_note(c, KW_MUT_TAGS, "tags %s: +tag %u of %u bytes claiming %lld", p.path, e->tag, len,
                 (long long)claim);
    } else {
        kwm_note(c, KW_MUT_TAGS, "tags %s: +tag %u (%u bytes)", p.path, e->tag, len);
    }
    return true;
}

/* ---------------------------------------------------------------- KW_MUT_VERSION */

static bool
mut_version(kwm_ctx *c, const kw_msgdef *d, int16_t *ver)
{
    int lo = d->min_ver > c->o->min_version ? d->min_ver : c->o->min_version;
    int hi = d->max_ver < c->o->max_version ? d->max_ver : c->o->max_version;
    if (lo > hi || (lo == hi && lo == *ver))
        return false;
    int v = *ver;
    switch (kwm_below(&c->rng, 5)) {
    case 0:
        v = *ver + 1;
        break;
    case 1:
        v = *ver - 1;
        break;
    case 2:
        v = lo;
        break;
    case 3:
        v = hi;
        break;
    default:
        v = lo + (int)kwm_below(&c->rng, (uint32_t)(hi - lo + 1));
        break;
    }
    /* Out of the allowed range (or unchanged): the nearest allowed version that differs. */
    if (v < lo || v > hi || v == *ver)
        v = *ver < lo ? lo : *ver >= hi ? (hi == *ver ? hi - 1 : hi) : *ver + 1;
    if (v < lo || v > hi || v == *ver)
        return false;
    kwm_note(c, KW_MUT_VERSION, "version %d->%d", *ver, v);
    *ver = (int16_t)v;
    return true;
}

/* ---------------------------------------------------------------- KW_MUT_RECORDS */

static bool
mut_records(kwm_ctx *c, const kw_msgdef *d, int16_t ver, void *msg)
{
    pick p;
    if (!pick_field(c, d, ver, msg, FT(KW_FT_RECORDS), NULL, &p))
        return false;
    kw_slice *s = p.f.value;
    if (s->len <= 0 && !kwm_records_make(c, s))
        return false;
    kwm_note(c, KW_MUT_RECORDS, "records %s:", p.path);
    return kwm_records_mutate(c, s);
}

/* ---------------------------------------------------------------- KW_MUT_STRING */

static const struct {
    const char *s;
    int32_t len;
    const char *what;
} edge_strings[] = {
    {"", 0, "empty"},
    {"\xc0\x80", 2, "overlong NUL"},
    {"\xed\xa0\x80", 3, "UTF-16 surrogate"},
    {"\xf4\x90\x80\x80", 4, "above U+10FFFF"},
    {"\xff\xfe", 2, "invalid bytes"},
    {"\xe2\x82", 2, "truncated sequence"},
    {"\xef\xbb\xbf"
     "bom",
     6, "BOM"},
    {"a\0b", 3, "NUL inside"},
    {"..", 2, "dot-dot"},
    {"__consumer_offsets", 18, "internal topic"},
    {"\xf0\x9f\x92\xa9", 4, "4-byte character"},
    {"a.b_c", 5, "metric collision"},
    {"%s%n%x", 6, "format string"},
    {"\x1b[2J", 4, "escape sequence"},
};

static bool
mut_string(kwm_ctx *c, const kw_msgdef *d, int16_t ver, void *msg)
{
    pick p;
    if (!pick_field(c, d, ver, msg, FT(KW_FT_STRING), NULL, &p))
        return false;
    kw_slice *s = p.f.value;
    size_t n_edge = sizeof(edge_strings) / sizeof(edge_strings[0]);
    uint32_t k = kwm_below(&c->rng, (uint32_t)n_edge + 2);
    if (k < n_edge) {
        s->ptr = (const uint8_t *)edge_strings[k].s;
        s->len = edge_strings[k].len;
        kwm_note(c, KW_MUT_STRING, "string %s: %s", p.path, edge_strings[k].what);
        return true;
    }
    /* A long string: 249/250 straddle the topic name limit; otherwise as long as fits. */
    size_t room = c->max_size > c->size + 16 ? c->max_size - c->size - 16 : 0;
    size_t len = k == n_edge ? 249 + kwm_below(&c->rng, 2) : INT16_MAX;
    if (len > room)
        len = room;
    uint8_t *b = kw_arena_alloc(c->ar, len ? len : 1);
    if (!b)
        return false;
    memset(b, 'x', len);
    s->ptr = b;
    s->len = (int32_t)len;
    kwm_note(c, KW_MUT_STRING, "string %s: %zu bytes", p.path, len);
    return true;
}

/* ---------------------------------------------------------------- KW_MUT_ARRAY */

static bool
nonempty_array(const kw_field *f)
{
    return *f->count > 0 && *(void **)f->value != NULL && f->elem_size > 0;
}

static bool
mut_array(kwm_ctx *c, const kw_msgdef *d, int16_t ver, void *msg)
{
    pick p;
    if (!pick_field(c, d, ver, msg, FT(KW_FT_ARRAY), nonempty_array, &p))
        return false;
    int32_t n = *p.f.count;
    size_t esz = p.f.elem_size;
    uint8_t *old = *(uint8_t **)p.f.value;
    uint32_t op = kwm_below(&c->rng, 4);
    if (op == 0) {
        *p.f.count = n - 1; /* drop the last element, the cheapest way to drop one */
        kwm_note(c, KW_MUT_ARRAY, "array %s: dropped one of %d", p.path, n);
        return true;
    }
    if (op == 1) {
        *p.f.count = 0;
        kwm_note(c, KW_MUT_ARRAY, "array %s: emptied (%d)", p.path, n);
        return true;
    }
    /* Duplicate one element (op 2) or repeat them all several times (op 3): duplicate keys,
     * topics or partitions that a receiver must reject or merge. */
    int32_t add = op == 2 ? 1 : n * (int32_t)(1 + kwm_below(&c->rng, 4));
    if (add > 256)
        add = 256;
    uint8_t *e = kw_arena_calloc(c->ar, (size_t)(n + add), esz);
    if (!e)
        return false;
    memcpy(e, old, (size_t)n * esz);
    uint32_t src = kwm_below(&c->rng, (uint32_t)n);
    for (int32_t i = 0; i < add; i++)
        memcpy(e + (size_t)(n + i) * esz, old + (size_t)(op == 2 ? src : (uint32_t)(i % n)) * esz,
               esz);
    *(void **)p.f.value = e;
    *p.f.count = n + add;
    kwm_note(c, KW_MUT_ARRAY, "array %s: %d -> %d elements", p.path, n, n + add);
    return true;
}

/* ---------------------------------------------------------------- dispatch */

bool
kwm_mutate_msg(kwm_ctx *c, uint32_t fam, const kw_msgdef *d, int16_t *ver, void *msg)
{
    switch (fam) {
    case KW_MUT_INT:
        return mut_int(c, d, *ver, msg);
    case KW_MUT_COUNT:
        return mut_count(c, d, *ver, msg);
    case KW_MUT_NULL:
        return mut_null(c, d, *ver, msg);
    case KW_MUT_TAGS:
        return mut_tags(c, d, *ver, msg);
    case KW_MUT_VERSION:
        return mut_version(c, d, ver);
    case KW_MUT_RECORDS:
        return mut_records(c, d, *ver, msg);
    case KW_MUT_STRING:
        return mut_string(c, d, *ver, msg);
    case KW_MUT_ARRAY:
        return mut_array(c, d, *ver, msg);
    default:
        return false;
    }
}
