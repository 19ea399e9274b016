/* The generic field walk: KW_IO_VISIT mode of the message walks, the field tables that add the
 * schema facts a C walk does not carry (version range, nullability, schema type), and encoding
 * with wire overrides. The walk functions themselves are the codec's, so what is visited is
 * exactly what is decoded and encoded. */
#include <string.h>

#include "fieldtab.h"
#include "walk.h"

/* A zero element for kw_msg_walk_schema: walks never write outside DECODE, so one read-only
 * buffer serves every array and structure. */
static const uint64_t zero_elem[1024];

const char *
kw_ftype_name(kw_ftype t)
{
    static const char *const names[] = {
        "int8", "int16",  "int32", "int64",   "uint16", "uint32", "float64",    "bool",
        "uuid", "string", "bytes", "records", "array",  "struct", "struct_end", "tags",
    };
    if ((unsigned)t < sizeof(names) / sizeof(names[0]))
        return names[t];
    return "unknown";
}

/* ---------------------------------------------------------------- field tables */

static const kwi_field_tab *
tab_of(const kw_msgdef *d)
{
    if (!d || !d->name)
        return NULL;
    size_t lo = 0, hi = kwi_n_field_tabs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(kwi_field_tabs[mid].msg, d->name);
        if (c == 0)
            return &kwi_field_tabs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const kw_field_def *
kw_field_def_find(const kw_msgdef *d, const char *path)
{
    const kwi_field_tab *t = tab_of(d);
    if (!t || !path)
        return NULL;
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(t->fields[mid].path, path);
        if (c == 0)
            return &t->fields[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

size_t
kw_field_def_count(const kw_msgdef *d)
{
    const kwi_field_tab *t = tab_of(d);
    return t ? t->n : 0;
}

const kw_field_def *
kw_field_def_at(const kw_msgdef *d, size_t i)
{
    const kwi_field_tab *t = tab_of(d);
    return t && i < t->n ? &t->fields[i] : NULL;
}

/* ---------------------------------------------------------------- visiting */

/* The schema path: the dump path without its element indices ("Topics.0.Name" -> "Topics.Name").
 * Field names never are all digits, so a numeric component is always an index. */
static void
schema_path(const char *path, char *out, size_t cap)
{
    size_t o = 0;
    const char *p = path;
    while (*p) {
        const char *e = strchr(p, '.');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        bool digits = n > 0;
        for (size_t i = 0; i < n; i++)
            digits = digits && p[i] >= '0' && p[i] <= '9';
        if (!digits && o + n + 2 < cap) {
            if (o)
                out[o++] = '.';
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
        if (*p == '.')
            p++;
    }
    out[o] = '\0';
}

typedef struct report_args {
    const char *name;      /* reported name */
    const char *path_name; /* appended to the current path, or NULL */
    kw_ftype type;
    void *value;
    int32_t *count;
    bool *present;
    size_t esz;
    int32_t index;
} report_args;

static void
report(kw_io *io, const report_args *a)
{
    struct kw_walk_state *w = io->walk;
    if (!w || w->stop)
        return;
    char path[sizeof(io->path) + 64], spath[sizeof(path)];
    size_t n = io->path_len < sizeof(path) - 1 ? io->path_len : sizeof(path) - 1;
    memcpy(path, io->path, n);
    path[n] = '\0';
    if (a->path_name) {
        size_t k = strlen(a->path_name);
        if (n + k + 2 < sizeof(path)) {
            if (n)
                path[n++] = '.';
            memcpy(path + n, a->path_name, k + 1);
        }
    }
    schema_path(path, spath, sizeof(spath));
    kw_field f;
    memset(&f, 0, sizeof(f));
    f.name = a->name;
    f.path = path;
    f.spath = spath;
    f.type = a->type;
    f.value = a->value;
    f.count = a->count;
    f.present = a->present;
    f.elem_size = a->esz;
    f.index = a->index;
    f.tag = w->tag;
    f.depth = w->depth;
    f.flex = io->flex;
    if (a->name && a->type != KW_FT_STRUCT_END && a->type != KW_FT_TAGS)
        f.def = kw_field_def_find(w->def, spath);
    f.nullable = f.def && w->ver >= f.def->null_min && w->ver <= f.def->null_max;
    if (w->fn(w->ud, &f))
        w->stop = true;
}

void
kwi_walk_visit(kw_io *io, const char *name, kw_ftype type, void *value, int32_t *count,
               bool *present, size_t esz)
{
    if (!io->walk)
        return;
    report_args a = {name, name, type, value, count, present, esz, -1};
    /* An unnamed primitive is an element of a primitive array: its path already ends with the
     * index (kwi_walk_array pushed it). */
    if (!name && type != KW_FT_TAGS)
        a.index = io->walk->index;
    report(io, &a);
}

static void
walk_body(kw_io *io, void *m, kw_io_fn fn, int16_t ver)
{
    io->walk->depth++;
    fn(io, ver, m);
    io->walk->depth--;
}

void
kwi_walk_struct(kw_io *io, const char *name, bool *present, void *m, kw_io_fn fn, int16_t ver)
{
    struct kw_walk_state *w = io->walk;
    if (!w || w->stop)
        return;
    report_args a = {name, name, KW_FT_STRUCT, m, NULL, present, 0, -1};
    report(io, &a);
    size_t old = kwi_io_path_push(io, name, -1);
    if (!present || *present || w->schema)
        walk_body(io, m, fn, ver);
    report_args e = {NULL, NULL, KW_FT_STRUCT_END, NULL, NULL, NULL, 0, -1};
    report(io, &e);
    kwi_io_path_pop(io, old);
}

void
kwi_walk_array(kw_io *io, const char *name, void *arr, int32_t *n, size_t esz, kw_io_fn fn,
               int16_t ver)
{
    struct kw_walk_state *w = io->walk;
    if (!w || w->stop)
        return;
    report_args a = {name, name, KW_FT_ARRAY, arr, n, NULL, esz, -1};
    report(io, &a);
    /* Read after the report: the visitor may have replaced the elements. */
    uint8_t *elems = *(uint8_t **)arr;
    int32_t cnt = *n;
    if (w->schema) {
        if (esz > sizeof(zero_elem))
            return;
        elems = (uint8_t *)(uintptr_t)zero_elem;
        cnt = 1;
        esz = 0;
    }
    if (!elems)
        return;
    bool prim = fn == kw_io_elem_i32 || fn == kw_io_elem_str;
    for (int32_t i = 0; i < cnt && !w->stop; i++) {
        void *e = elems + (size_t)i * esz;
        size_t old = kwi_io_path_push(io, name, i);
        if (prim) {
            w->index = i;
            fn(io, ver, e);
            w->index = -1;
        } else {
            report_args b = {name, NULL, KW_FT_STRUCT, e, NULL, NULL, esz, i};
            report(io, &b);
            walk_body(io, e, fn, ver);
            report_args end = {NULL, NULL, KW_FT_STRUCT_END, NULL, NULL, NULL, 0, i};
            report(io, &end);
        }
        kwi_io_path_pop(io, old);
    }
}

/* ---------------------------------------------------------------- overrides */

int64_t
kwi_walk_count(const kw_io *io, const void *field, int64_t real)
{
    const struct kw_walk_state *w = io->walk;
    if (!w)
        return real;
    for (size_t i = 0; i < w->n_ov; i++)
        if (w->ov[i].field == field)
            return w->ov[i].value;
    return real;
}

void
kwi_walk_encode_slice(kw_io *io, const kw_slice *v, bool bytes)
{
    int64_t claim = kwi_walk_count(io, v, v->len < 0 ? -1 : v->len);
    if (claim == (v->len < 0 ? -1 : v->len)) {
        if (bytes)
            kw_wr_bytes(io->wr, *v);
        else
            kw_wr_str(io->wr, *v);
        return;
    }
    /* The claimed length, then the real data: a length that disagrees with the bytes. */
    if (io->flex)
        kw_wr_uvarint(io->wr, (uint32_t)(claim + 1));
    else if (bytes)
        kw_wr_i32(io->wr, (int32_t)claim);
    else
        kw_wr_i16(io->wr, (int16_t)claim);
    if (v->len > 0)
        kw_wr_raw(io->wr, v->ptr, (size_t)v->len);
}

/* ---------------------------------------------------------------- entry points */

static bool
ver_ok(const kw_msgdef *d, int16_t ver)
{
    return ver >= d->min_ver && ver <= d->max_ver;
}

static void
walk_init(kw_io *io, struct kw_walk_state *w, const kw_msgdef *d, int16_t ver)
{
    memset(w, 0, sizeof(*w));
    w->def = d;
    w->ver = ver;
    w->tag = -1;
    w->index = -1;
    memset(io, 0, sizeof(*io));
    io->walk = w;
    io->flex = d->flex_ver >= 0 && ver >= d->flex_ver;
}

kw_err
kw_msg_walk(const kw_msgdef *d, int16_t ver, void *m, kw_field_fn fn, void *ud)
{
    if (!d || !m || !fn)
        return KW_ERR_INVALID_ARG;
    if (!ver_ok(d, ver))
        return KW_ERR_UNSUPPORTED_VERSION;
    kw_io io;
    struct kw_walk_state w;
    walk_init(&io, &w, d, ver);
    io.mode = KW_IO_VISIT;
    w.fn = fn;
    w.ud = ud;
    d->io(&io, ver, m);
    return w.stop ? KW_ERR_CANCELED : KW_ERR_OK;
}

kw_err
kw_msg_walk_schema(const kw_msgdef *d, int16_t ver, kw_field_fn fn, void *ud)
{
    if (!d || !fn)
        return KW_ERR_INVALID_ARG;
    if (!ver_ok(d, ver))
        return KW_ERR_UNSUPPORTED_VERSION;
    if (d->size > sizeof(zero_elem))
        return KW_ERR_VALUE_RANGE;
    kw_io io;
    struct kw_walk_state w;
    walk_init(&io, &w, d, ver);
    io.mode = KW_IO_VISIT;
    w.fn = fn;
    w.ud = ud;
    w.schema = true;
    d->io(&io, ver, (void *)(uintptr_t)zero_elem);
    return w.stop ? KW_ERR_CANCELED : KW_ERR_OK;
}

kw_err
kw_msg_encode_ex(const kw_msgdef *d, int16_t ver, kw_wr *w, const void *m, const kw_override *ov,
                 size_t n_ov)
{
    if (!ver_ok(d, ver))
        return kw_wr_fail(w, KW_ERR_UNSUPPORTED_VERSION);
    kw_io io;
    struct kw_walk_state ws;
    walk_init(&io, &ws, d, ver);
    io.mode = KW_IO_ENCODE;
    io.wr = w;
    ws.ov = ov;
    ws.n_ov = n_ov;
    uint32_t flags = w->flags;
    kw_io_set_flex(&io, io.flex);
    /* The walk never writes through m when encoding. */
    d->io(&io, ver, (void *)(uintptr_t)m);
    w->flags = flags;
    return w->err;
}
