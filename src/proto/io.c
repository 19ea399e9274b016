/* The walk: one schema-mirroring function per structure drives decode, encode, dump and
 * minimum-size passes through these operations. Decode errors live in the read cursor and
 * encode/dump errors in the write cursor, both sticky, so a walk never checks as it goes. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "kwire/proto.h"
#include "walk.h"

void
kw_io_set_flex(kw_io *io, bool flex)
{
    io->flex = flex;
    if (io->rd)
        kw_rd_set_flex(io->rd, flex);
    if (io->wr && io->mode == KW_IO_ENCODE)
        kw_wr_set_flex(io->wr, flex);
}

/* ---------------------------------------------------------------- dump helpers */

/* Appends ".name" (or "name" at the top, or "[idx]"-style ".idx") to the path; returns the
 * previous length so the caller can pop. An over-long path is cut, which only affects text. */
static size_t
path_push(kw_io *io, const char *name, int32_t idx)
{
    size_t old = io->path_len;
    size_t room = sizeof(io->path) - io->path_len;
    int n;
    if (idx >= 0)
        n = snprintf(io->path + io->path_len, room, "%s%s.%" PRId32, io->path_len ? "." : "",
                     name ? name : "", idx);
    else
        n = snprintf(io->path + io->path_len, room, "%s%s", io->path_len ? "." : "",
                     name ? name : "");
    if (n > 0)
        io->path_len += (size_t)n < room ? (size_t)n : room - 1;
    return old;
}

static void
path_pop(kw_io *io, size_t old)
{
    io->path_len = old;
    io->path[old] = '\0';
}

/* The generic walk (walk.c) builds the same paths as the dump. */
size_t
kwi_io_path_push(kw_io *io, const char *name, int32_t idx)
{
    return path_push(io, name, idx);
}

void
kwi_io_path_pop(kw_io *io, size_t old)
{
    path_pop(io, old);
}

static void
dump_key(kw_io *io, const char *name)
{
    kw_wr_raw(io->wr, io->path, io->path_len);
    if (name) {
        if (io->path_len)
            kw_wr_raw(io->wr, ".", 1);
        kw_wr_raw(io->wr, name, strlen(name));
    }
    kw_wr_raw(io->wr, "=", 1);
}

static void dump_fmt(kw_io *io, const char *name, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static void
dump_fmt(kw_io *io, const char *name, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    dump_key(io, name);
    kw_wr_raw(io->wr, buf, n > 0 ? (size_t)n : 0);
    kw_wr_raw(io->wr, "\n", 1);
}

static void
dump_hex(kw_io *io, const uint8_t *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    uint8_t *o = kw_wr_reserve(io->wr, n * 2);
    if (!o)
        return;
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = (uint8_t)hex[p[i] >> 4];
        o[2 * i + 1] = (uint8_t)hex[p[i] & 15];
    }
}

static void
dump_slice(kw_io *io, const char *name, kw_slice s)
{
    dump_key(io, name);
    if (s.len < 0) {
        kw_wr_raw(io->wr, "null", 4);
    } else {
        kw_wr_raw(io->wr, "x:", 2);
        dump_hex(io, s.ptr, (size_t)s.len);
    }
    kw_wr_raw(io->wr, "\n", 1);
}

/* ---------------------------------------------------------------- fixed-width fields */

/* Each fixed-width type differs only in its cursor functions, its size and its text form. */
#define KW_IO_FIXED(fn, type, ft, rdfn, wrfn, size, dumpfmt, dumpcast)                             \
    void fn(kw_io *io, const char *name, type *v)                                                  \
    {                                                                                              \
        switch (io->mode) {                                                                        \
        case KW_IO_DECODE:                                                                         \
            *v = rdfn(io->rd);                                                                     \
            break;                                                                                 \
        case KW_IO_ENCODE:                                                                         \
            wrfn(io->wr, *v);                                                                      \
            break;                                                                                 \
        case KW_IO_DUMP:                                                                           \
            dump_fmt(io, name, dumpfmt, dumpcast(*v));                                             \
            break;                                                                                 \
        case KW_IO_MINSIZE:                                                                        \
            io->minsize += size;                                                                   \
            break;                                                                                 \
        case KW_IO_VISIT:                                                                          \
            kwi_walk_visit(io, name, ft, v, NULL, NULL, 0);                                        \
            break;                                                                                 \
        }                                                                                          \
    }

#define AS_I64(x) ((long long)(x))
#define AS_U64(x) ((unsigned long long)(x))

KW_IO_FIXED(kw_io_i8, int8_t, KW_FT_INT8, kw_rd_i8, kw_wr_i8, 1, "%lld", AS_I64)
KW_IO_FIXED(kw_io_i16, int16_t, KW_FT_INT16, kw_rd_i16, kw_wr_i16, 2, "%lld", AS_I64)
KW_IO_FIXED(kw_io_i32, int32_t, KW_FT_INT32, kw_rd_i32, kw_wr_i32, 4, "%lld", AS_I64)
KW_IO_FIXED(kw_io_i64, int64_t, KW_FT_INT64, kw_rd_i64, kw_wr_i64, 8, "%lld", AS_I64)
KW_IO_FIXED(kw_io_u16, uint16_t, KW_FT_UINT16, kw_rd_u16, kw_wr_u16, 2, "%llu", AS_U64)
KW_IO_FIXED(kw_io_u32, uint32_t, KW_FT_UINT32, kw_rd_u32, kw_wr_u32, 4, "%llu", AS_U64)

void
kw_io_f64(kw_io *io, const char *name, double *v)
{
    uint64_t bits;
    switch (io->mode) {
    case KW_IO_DECODE:
        *v = kw_rd_f64(io->rd);
        break;
    case KW_IO_ENCODE:
        kw_wr_f64(io->wr, *v);
        break;
    case KW_IO_DUMP:
        /* The bit pattern, so NaNs and negative zero compare exactly. */
        memcpy(&bits, v, sizeof(bits));
        dump_fmt(io, name, "%016llx", (unsigned long long)bits);
        break;
    case KW_IO_MINSIZE:
        io->minsize += 8;
        break;
    case KW_IO_VISIT:
        kwi_walk_visit(io, name, KW_FT_FLOAT64, v, NULL, NULL, 0);
        break;
    }
}

void
kw_io_bool(kw_io *io, const char *name, bool *v)
{
    switch (io->mode) {
    case KW_IO_DECODE:
        *v = kw_rd_bool(io->rd);
        break;
    case KW_IO_ENCODE:
        kw_wr_bool(io->wr, *v);
        break;
    case KW_IO_DUMP:
        dump_fmt(io, name, "%s", *v ? "true" : "false");
        break;
    case KW_IO_MINSIZE:
        io->minsize += 1;
        break;
    case KW_IO_VISIT:
        kwi_walk_visit(io, name, KW_FT_BOOL, v, NULL, NULL, 0);
        break;
    }
}

void
kw_io_uuid(kw_io *io, const char *name, kw_uuid *v)
{
    switch (io->mode) {
    case KW_IO_DECODE:
        *v = kw_rd_uuid(io->rd);
        break;
    case KW_IO_ENCODE:
        kw_wr_uuid(io->wr, v);
        break;
    case KW_IO_DUMP:
        dump_key(io, name);
        dump_hex(io, v->b, 16);
        kw_wr_raw(io->wr, "\n", 1);
        break;
    case KW_IO_MINSIZE:
        io->minsize += 16;
        break;
    case KW_IO_VISIT:
        kwi_walk_visit(io, name, KW_FT_UUID, v, NULL, NULL, 0);
        break;
    }
}

/* ---------------------------------------------------------------- variable-length fields */

void
kw_io_str(kw_io *io, const char *name, kw_slice *v)
{
    switch (io->mode) {
    case KW_IO_DECODE:
        *v = kw_rd_str(io->rd);
        break;
    case KW_IO_ENCODE:
        if (io->walk)
            kwi_walk_encode_slice(io, v, false);
        else
            kw_wr_str(io->wr, *v);
        break;
    case KW_IO_DUMP:
        dump_slice(io, name, *v);
        break;
    case KW_IO_MINSIZE:
        io->minsize += io->flex ? 1 : 2;
        break;
    case KW_IO_VISIT:
        kwi_walk_visit(io, name, KW_FT_STRING, v, NULL, NULL, 0);
        break;
    }
}

/* Bytes and records differ only in how the walk reports them. */
static void
io_bytes(kw_io *io, const char *name, kw_slice *v, kw_ftype ft)
{
    switch (io->mode) {
    case KW_IO_DECODE:
        *v = kw_rd_bytes(io->rd);
        break;
    case KW_IO_ENCODE:
        if (io->walk)
            kwi_walk_encode_slice(io, v, true);
        else
            kw_wr_bytes(io->wr, *v);
        break;
    case KW_IO_DUMP:
        dump_slice(io, name, *v);
        break;
    case KW_IO_MINSIZE:
        io->minsize += io->flex ? 1 : 4;
        break;
    case KW_IO_VISIT:
        kwi_walk_visit(io, name, ft, v, NULL, NULL, 0);
        break;
    }
}

void
kw_io_bytes(kw_io *io, const char *name, kw_slice *v)
{
    io_bytes(io, name, v, KW_FT_BYTES);
}

void
kw_io_records(kw_io *io, const char *name, kw_slice *v)
{
    io_bytes(io, name, v, KW_FT_RECORDS);
}

/* ---------------------------------------------------------------- structures and arrays */

/* The smallest encoding of one element in this version: the walk run in MINSIZE mode over a
 * zeroed, read-only element (MINSIZE never writes). Bounds hostile array counts exactly. */
static size_t
elem_minsize(const kw_io *io, size_t esz, kw_io_fn fn, int16_t ver)
{
    static const uint64_t zero[512];
    if (esz > sizeof(zero))
        return 1;
    kw_io m;
    memset(&m, 0, sizeof(m));
    m.mode = KW_IO_MINSIZE;
    m.flex = io->flex;
    fn(&m, ver, (void *)(uintptr_t)zero);
    return m.minsize ? m.minsize : 1;
}

void
kw_io_array(kw_io *io, const char *name, void *arr, int32_t *n, size_t esz, kw_io_fn fn,
            int16_t ver)
{
    uint8_t **elems = arr;
    switch (io->mode) {
    case KW_IO_DECODE: {
        int32_t cnt = kw_rd_array_len(io->rd, elem_minsize(io, esz, fn, ver));
        *elems = NULL;
        *n = cnt;
        if (cnt <= 0)
            return;
        uint8_t *e = kw_arena_calloc(io->arena, (size_t)cnt, esz);
        if (!e) {
            kw_rd_fail(io->rd, KW_ERR_NOMEM);
            *n = 0;
            return;
        }
        *elems = e;
        for (int32_t i = 0; i < cnt && !io->rd->err; i++)
            fn(io, ver, e + (size_t)i * esz);
        return;
    }
    case KW_IO_ENCODE:
        kw_wr_array_len(io->wr, io->walk ? kwi_walk_count(io, n, *n) : *n);
        if (*n > 0 && !*elems) {
            kw_wr_fail(io->wr, KW_ERR_INVALID_ARG);
            return;
        }
        for (int32_t i = 0; i < *n && !io->wr->err; i++)
            fn(io, ver, *elems + (size_t)i * esz);
        return;
    case KW_IO_DUMP:
        if (*n < 0) {
            dump_fmt(io, name, "#null");
            return;
        }
        dump_fmt(io, name, "#%" PRId32, *n);
        for (int32_t i = 0; i < *n; i++) {
            size_t old = path_push(io, name, i);
            fn(io, ver, *elems + (size_t)i * esz);
            path_pop(io, old);
        }
        return;
    case KW_IO_MINSIZE:
        io->minsize += io->flex ? 1 : 4;
        return;
    case KW_IO_VISIT:
        kwi_walk_array(io, name, arr, n, esz, fn, ver);
        return;
    }
}

void
kw_io_elem_i32(kw_io *io, int16_t ver, void *elem)
{
    (void)ver;
    kw_io_i32(io, NULL, elem);
}

void
kw_io_elem_str(kw_io *io, int16_t ver, void *elem)
{
    (void)ver;
    kw_io_str(io, NULL, elem);
}

void
kw_io_struct(kw_io *io, const char *name, void *m, kw_io_fn fn, int16_t ver)
{
    if (io->mode == KW_IO_VISIT) {
        kwi_walk_struct(io, name, NULL, m, fn, ver);
        return;
    }
    if (io->mode == KW_IO_DUMP) {
        size_t old = path_push(io, name, -1);
        fn(io, ver, m);
        path_pop(io, old);
        return;
    }
    fn(io, ver, m);
}

void
kw_io_struct_nullable(kw_io *io, const char *name, bool *present, void *m, kw_io_fn fn, int16_t ver)
{
    switch (io->mode) {
    case KW_IO_DECODE:
        /* Java reads a negative marker as null and anything else as present. */
        *present = kw_rd_i8(io->rd) >= 0;
        if (*present && !io->rd->err)
            fn(io, ver, m);
        return;
    case KW_IO_ENCODE:
        kw_wr_i8(io->wr, (int8_t)(io->walk ? kwi_walk_count(io, present, *present ? 1 : -1)
                                           : (*present ? 1 : -1)));
        if (*present)
            fn(io, ver, m);
        return;
    case KW_IO_DUMP:
        dump_fmt(io, name, "?%s", *present ? "present" : "null");
        if (*present)
            kw_io_struct(io, name, m, fn, ver);
        return;
    case KW_IO_MINSIZE:
        io->minsize += 1;
        return;
    case KW_IO_VISIT:
        kwi_walk_struct(io, name, present, m, fn, ver);
        return;
    }
}

/* ---------------------------------------------------------------- tagged fields */

void
kw_io_tags_begin(kw_io *io, kw_tagsec *ts)
{
    memset(ts, 0, sizeof(*ts));
    switch (io->mode) {
    case KW_IO_DECODE: {
        kw_rd *r = io->rd;
        uint32_t cnt = kw_rd_uvarint(r);
        if (r->err || cnt == 0)
            return;
        /* A tag and a size take at least one byte each. */
        if (cnt > kw_rd_remain(r) / 2) {
            kw_rd_fail(r, KW_ERR_TRUNCATED);
            return;
        }
        ts->ent = kw_arena_calloc(io->arena, cnt, sizeof(*ts->ent));
        ts->claimed = kw_arena_calloc(io->arena, cnt, 1);
        if (!ts->ent || !ts->claimed) {
            kw_rd_fail(r, KW_ERR_NOMEM);
            return;
        }
        for (uint32_t i = 0; i < cnt && !r->err; i++) {
            ts->ent[i].tag = kw_rd_uvarint(r);
            /* Tags must strictly increase (KIP-482). A repeated tag would otherwise be read
             * once as the known field and kept once as unknown, and a re-encode would change
             * which value wins. */
            if (i > 0 && ts->ent[i].tag <= ts->ent[i - 1].tag) {
                kw_rd_fail(r, KW_ERR_MALFORMED);
                return;
            }
            uint32_t size = kw_rd_uvarint(r);
            if (size > INT32_MAX) {
                kw_rd_fail(r, KW_ERR_MALFORMED);
                return;
            }
            ts->ent[i].data.ptr = kw_rd_raw(r, size);
            ts->ent[i].data.len = (int32_t)size;
        }
        ts->n = r->err ? 0 : (int32_t)cnt;
        return;
    }
    case KW_IO_ENCODE:
        ts->start = kw_wr_len(io->wr);
        return;
    case KW_IO_DUMP:
    case KW_IO_VISIT:
        return;
    case KW_IO_MINSIZE:
        io->minsize += 1;
        return;
    }
}

bool
kw_io_tag(kw_io *io, kw_tagsec *ts, uint32_t tag, bool present)
{
    switch (io->mode) {
    case KW_IO_DECODE:
        if (io->rd->err)
            return false;
        for (int32_t i = 0; i < ts->n; i++) {
            if (ts->claimed[i] || ts->ent[i].tag != tag)
                continue;
            ts->claimed[i] = 1;
            ts->cur = i;
            ts->saved = *io->rd;
            kw_rd_init(io->rd, ts->ent[i].data.ptr, (size_t)ts->ent[i].data.len);
            io->rd->flags = ts->saved.flags;
            return true;
        }
        return false;
    case KW_IO_ENCODE:
        if (!present)
            return false;
        kw_wr_uvarint(io->wr, tag);
        ts->val_start = kw_wr_len(io->wr);
        ts->count++;
        return true;
    case KW_IO_DUMP:
        return true;
    case KW_IO_MINSIZE:
        return false;
    case KW_IO_VISIT:
        /* Every known tagged field is reported, so a tool can set one that is at its default;
         * the fields inside carry the tag. */
        if (io->walk) {
            ts->cur = io->walk->tag;
            io->walk->tag = (int32_t)tag;
        }
        return true;
    }
    return false;
}

void
kw_io_tag_end(kw_io *io, kw_tagsec *ts)
{
    if (io->mode == KW_IO_DECODE) {
        kw_rd field = *io->rd;
        *io->rd = ts->saved;
        if (field.err)
            kw_rd_fail(io->rd, field.err);
        else if (field.p != field.end) /* a known field must fill its size exactly */
            kw_rd_fail(io->rd, KW_ERR_MALFORMED);
    } else if (io->mode == KW_IO_VISIT) {
        if (io->walk)
            io->walk->tag = ts->cur;
    } else if (io->mode == KW_IO_ENCODE) {
        size_t len = kw_wr_len(io->wr) - ts->val_start;
        if (len > INT32_MAX)
            kw_wr_fail(io->wr, KW_ERR_VALUE_RANGE);
        else
            kw_wr_insert_uvarint(io->wr, ts->val_start, (uint32_t)len);
    }
}

void
kw_io_tags_end(kw_io *io, kw_tagsec *ts, kw_tags *unknown)
{
    switch (io->mode) {
    case KW_IO_DECODE: {
        unknown->v = NULL;
        unknown->n = 0;
        int32_t left = 0;
        for (int32_t i = 0; i < ts->n; i++)
            left += !ts->claimed[i];
        if (left == 0 || io->rd->err)
            return;
        unknown->v = kw_arena_calloc(io->arena, (size_t)left, sizeof(*unknown->v));
        if (!unknown->v) {
            kw_rd_fail(io->rd, KW_ERR_NOMEM);
            return;
        }
        for (int32_t i = 0; i < ts->n; i++)
            if (!ts->claimed[i])
                unknown->v[unknown->n++] = ts->ent[i];
        return;
    }
    case KW_IO_ENCODE:
        for (int32_t i = 0; i < unknown->n; i++) {
            kw_slice d = unknown->v[i].data;
            uint32_t size = d.len > 0 ? (uint32_t)d.len : 0;
            kw_wr_uvarint(io->wr, unknown->v[i].tag);
            if (io->walk)
                size = (uint32_t)kwi_walk_count(io, &unknown->v[i], (int64_t)size);
            kw_wr_uvarint(io->wr, size);
            if (d.len > 0)
                kw_wr_raw(io->wr, d.ptr, (size_t)d.len);
            ts->count++;
        }
        kw_wr_insert_uvarint(io->wr, ts->start,
                             io->walk ? (uint32_t)kwi_walk_count(io, unknown, ts->count)
                                      : ts->count);
        return;
    case KW_IO_DUMP:
        for (int32_t i = 0; i < unknown->n; i++) {
            char name[32];
            snprintf(name, sizeof(name), "_tag.%" PRIu32, unknown->v[i].tag);
            kw_slice d = unknown->v[i].data;
            if (d.len < 0)
                d.len = 0;
            dump_slice(io, name, d);
        }
        return;
    case KW_IO_MINSIZE:
        return;
    case KW_IO_VISIT:
        kwi_walk_visit(io, NULL, KW_FT_TAGS, unknown, NULL, NULL, 0);
        return;
    }
}

void
kw_io_tags_only(kw_io *io, kw_tags *unknown)
{
    kw_tagsec ts;
    kw_io_tags_begin(io, &ts);
    kw_io_tags_end(io, &ts, unknown);
}

/* ---------------------------------------------------------------- whole messages */

static bool
ver_ok(const kw_msgdef *d, int16_t ver)
{
    return ver >= d->min_ver && ver <= d->max_ver;
}

static bool
flex_of(const kw_msgdef *d, int16_t ver)
{
    return d->flex_ver >= 0 && ver >= d->flex_ver;
}

kw_err
kw_msg_decode(const kw_msgdef *d, int16_t ver, kw_rd *r, kw_arena *arena, void *out)
{
    memset(out, 0, d->size);
    if (!ver_ok(d, ver))
        return kw_rd_fail(r, KW_ERR_UNSUPPORTED_VERSION);
    kw_io io;
    memset(&io, 0, sizeof(io));
    io.mode = KW_IO_DECODE;
    io.rd = r;
    io.arena = arena;
    uint32_t flags = r->flags;
    kw_io_set_flex(&io, flex_of(d, ver));
    d->io(&io, ver, out);
    r->flags = flags;
    if (!r->err && r->p != r->end)
        kw_rd_fail(r, KW_ERR_MALFORMED);
    return r->err;
}

kw_err
kw_msg_encode(const kw_msgdef *d, int16_t ver, kw_wr *w, const void *m)
{
    if (!ver_ok(d, ver))
        return kw_wr_fail(w, KW_ERR_UNSUPPORTED_VERSION);
    kw_io io;
    memset(&io, 0, sizeof(io));
    io.mode = KW_IO_ENCODE;
    io.wr = w;
    uint32_t flags = w->flags;
    kw_io_set_flex(&io, flex_of(d, ver));
    /* The walk never writes through m when encoding. */
    d->io(&io, ver, (void *)(uintptr_t)m);
    w->flags = flags;
    return w->err;
}

kw_err
kw_msg_dump(const kw_msgdef *d, int16_t ver, kw_wr *w, const void *m)
{
    if (!ver_ok(d, ver))
        return kw_wr_fail(w, KW_ERR_UNSUPPORTED_VERSION);
    kw_io io;
    memset(&io, 0, sizeof(io));
    io.mode = KW_IO_DUMP;
    io.wr = w;
    io.flex = flex_of(d, ver);
    d->io(&io, ver, (void *)(uintptr_t)m);
    return w->err;
}
