/* KW_MUT_HEADER (the request/response header of a frame) and the structured cross-over. */
#include <stdio.h>
#include <string.h>

#include "mut_int.h"

bool kwm_mutate_header(kwm_ctx *c, kw_frame *f);

static int32_t
corr_boundary(kwm_ctx *c, int32_t old)
{
    static const int32_t v[] = {0, -1, INT32_MIN, INT32_MAX};
    uint32_t k = kwm_below(&c->rng, 5);
    return k < 4 ? v[k] : (int32_t)((uint32_t)old + 1);
}

/* An unknown tag in a header's tagged section (request v2, response v1). */
static bool
header_tag(kwm_ctx *c, kw_tags *t)
{
    kw_tag_raw *v = kw_arena_calloc(c->ar, (size_t)(t->n > 0 ? t->n : 0) + 1, sizeof(*v));
    if (!v)
        return false;
    if (t->n > 0)
        memcpy(v, t->v, (size_t)t->n * sizeof(*v));
    static const uint8_t junk[] = {0xde, 0xad, 0xbe, 0xef};
    v[t->n > 0 ? t->n : 0] = (kw_tag_raw){kwm_below(&c->rng, 4), {junk, 4}};
    t->v = v;
    t->n = (t->n > 0 ? t->n : 0) + 1;
    kwm_note(c, KW_MUT_HEADER, "header +tag");
    return true;
}

static bool
request_header_op(kwm_ctx *c, kw_frame *f, uint32_t op)
{
    kw_req_hdr *h = &f->req;
    switch (op) {
    case 0: { /* a version the body is not encoded in */
        static const int16_t odd[] = {-1, INT16_MAX, INT16_MIN};
        uint32_t k = kwm_below(&c->rng, 5);
        int16_t v = k < 3    ? odd[k]
                    : k == 3 ? (int16_t)(f->def->max_ver + 1)
                             : (int16_t)(h->api_version - 1);
        kwm_note(c, KW_MUT_HEADER, "header api_version %d (body v%d)", v, f->version);
        h->api_version = v;
        return true;
    }
    case 1:
        h->correlation_id = corr_boundary(c, h->correlation_id);
        kwm_note(c, KW_MUT_HEADER, "header correlation_id %d", h->correlation_id);
        return true;
    case 2: {
        uint32_t k = kwm_below(&c->rng, 4);
        uint8_t *long_id = k == 2 ? kw_arena_alloc(c->ar, 299) : NULL;
        if (k == 2 && !long_id)
            return false;
        if (long_id)
            memset(long_id, 'c', 299);
        h->client_id = k == 0   ? KW_SLICE_NULL
                       : k == 1 ? (kw_slice){(const uint8_t *)"", 0}
                       : k == 2 ? (kw_slice){long_id, 299}
                                : (kw_slice){(const uint8_t *)"\xff\xfe\0x", 4};
        kwm_note(c, KW_MUT_HEADER, "header client_id %s",
                 k == 0   ? "null"
                 : k == 1 ? "empty"
                 : k == 2 ? "299 bytes"
                          : "invalid UTF-8");
        return true;
    }
    case 3:
        if (c->o->api_keys && c->o->n_api_keys > 0) {
            int16_t k = c->o->api_keys[kwm_below(&c->rng, (uint32_t)c->o->n_api_keys)];
            if (k != h->api_key) {
                kwm_note(c, KW_MUT_HEADER, "header api_key %d (body of %d)", k, h->api_key);
                h->api_key = k;
                return true;
            }
        }
        return false;
    default:
        return kw_req_hdr_version(f->def, f->version) >= 2 && header_tag(c, &h->tags);
    }
}

/* One of the header mutations; the next one when the first does not apply (no other API
 * key allowed, no tagged section in this header version). */
static bool
request_header(kwm_ctx *c, kw_frame *f)
{
    uint32_t first = kwm_below(&c->rng, 5);
    for (uint32_t i = 0; i < 5; i++)
        if (request_header_op(c, f, (first + i) % 5))
            return true;
    return false;
}

bool
kwm_mutate_header(kwm_ctx *c, kw_frame *f)
{
    if (!f->response)
        return request_header(c, f);
    if (kwm_below(&c->rng, 2) && kw_resp_hdr_version(f->def, f->version) >= 1)
        return header_tag(c, &f->resp.tags);
    f->resp.correlation_id = corr_boundary(c, f->resp.correlation_id);
    kwm_note(c, KW_MUT_HEADER, "header correlation_id %d", f->resp.correlation_id);
    return true;
}

/* ---------------------------------------------------------------- cross-over */

typedef struct xpick {
    kwm_rng *rng;
    const char *spath; /* second pass: only this path and type */
    kw_ftype type;
    uint32_t seen;
    kw_field f;
    char spath_buf[200];
    char path_buf[200];
} xpick;

/* Scalars, slices, arrays and array elements can be moved between messages of one type: their
 * memory is the value itself or points into the other input's buffer or arena, both alive
 * until encoding. */
static bool
crossable(const kw_field *f)
{
    if (f->type == KW_FT_STRUCT)
        return f->index >= 0 && f->elem_size > 0;
    return f->type != KW_FT_STRUCT_END && f->type != KW_FT_TAGS;
}

static int
xpick_cb(void *ud, const kw_field *f)
{
    xpick *p = ud;
    if (!crossable(f))
        return 0;
    if (p->spath && (f->type != p->type || strcmp(f->spath, p->spath) != 0))
        return 0;
    p->seen++;
    if (kwm_below(p->rng, p->seen) == 0) {
        p->f = *f;
        snprintf(p->spath_buf, sizeof(p->spath_buf), "%s", f->spath);
        snprintf(p->path_buf, sizeof(p->path_buf), "%s", f->path);
        p->f.spath = p->spath_buf;
        p->f.path = p->path_buf;
    }
    return 0;
}

static size_t
scalar_size(kw_ftype t)
{
    static const size_t sz[] = {1, 2, 4, 8, 2, 4, 8, sizeof(bool), sizeof(kw_uuid)};
    return (unsigned)t < sizeof(sz) / sizeof(sz[0]) ? sz[t] : 0;
}

bool
kwm_cross_msg(kwm_ctx *c, const kw_msgdef *d, int16_t ver, void *m1, int16_t ver2, void *m2)
{
    xpick a, b;
    memset(&a, 0, sizeof(a));
    a.rng = &c->rng;
    kw_msg_walk(d, ver, m1, xpick_cb, &a);
    if (!a.seen)
        return false;
    memset(&b, 0, sizeof(b));
    b.rng = &c->rng;
    b.spath = a.f.spath;
    b.type = a.f.type;
    kw_msg_walk(d, ver2, m2, xpick_cb, &b);
    if (!b.seen)
        return false;
    if (a.f.type == KW_FT_STRUCT) { /* one array element for another */
        if (a.f.elem_size != b.f.elem_size)
            return false;
        memcpy(a.f.value, b.f.value, a.f.elem_size);
    } else if (a.f.type == KW_FT_ARRAY) {
        if (a.f.elem_size != b.f.elem_size)
            return false;
        *a.f.count = *b.f.count;
        *(void **)a.f.value = *(void **)b.f.value;
    } else if (a.f.type == KW_FT_STRING || a.f.type == KW_FT_BYTES || a.f.type == KW_FT_RECORDS) {
        *(kw_slice *)a.f.value = *(kw_slice *)b.f.value;
    } else {
        memcpy(a.f.value, b.f.value, scalar_size(a.f.type));
    }
    kwm_note(c, 0, "cross %s <- input 2 %s", a.f.path, b.f.path);
    return true;
}
