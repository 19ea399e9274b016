/* Entry points of the structure-aware mutator: decode, apply a few mutations, encode within
 * max_size, and fall back to byte-level mutation whenever the structured path cannot work
 * (the input does not decode, nothing applies, or the result does not fit). */
#include <stdio.h>
#include <string.h>

#include "frame_int.h"
#include "mut_int.h"

/* Families that work on a decoded structure (everything except KW_MUT_BYTES). */
#define STRUCT_FAMILIES (KW_MUT_ALL & ~(uint32_t)KW_MUT_BYTES)
/* Attempts at a structured mutation before falling back to bytes. */
#define ATTEMPTS 4

void
kw_mutate_opts_init(kw_mutate_opts *opts)
{
    memset(opts, 0, sizeof(*opts));
    opts->families = KW_MUT_ALL;
    opts->max_mutations = 2;
    opts->min_version = 0;
    opts->max_version = INT16_MAX;
}

void
kwm_note(kwm_ctx *c, uint32_t family, const char *fmt, ...)
{
    kw_mutate_info *in = c->info;
    in->families |= family;
    size_t used = strnlen(in->desc, sizeof(in->desc));
    if (used + 3 >= sizeof(in->desc))
        return;
    /* "Api vN: first; second": a heading ending in ':' is followed by a space only. */
    if (used && in->desc[used - 1] == ':') {
        memcpy(in->desc + used, " ", 2);
        used += 1;
    } else if (used) {
        memcpy(in->desc + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(in->desc + used, sizeof(in->desc) - used, fmt, ap);
    va_end(ap);
}

size_t
kwm_bytes(kwm_ctx *c, uint8_t *data, size_t size, size_t max_size)
{
    uint32_t seed = (uint32_t)kwm_next(&c->rng);
    size_t n = c->o->bytes ? c->o->bytes(data, size, max_size, seed, c->o->bytes_ud)
                           : kw_mutate_bytes(data, size, max_size, seed, NULL);
    c->info->families |= KW_MUT_BYTES;
    return n < max_size ? n : max_size;
}

/* Common setup: options, info, rng and arena (all inside c, released by ctx_fini). The arena
 * bound keeps a hostile input from making the mutator allocate without limit (decoding is
 * bounded by the frame size anyway). */
static void
ctx_init(kwm_ctx *c, const kw_mutate_opts *opts, kw_mutate_info *info, uint32_t seed, size_t size,
         size_t max_size)
{
    memset(c, 0, sizeof(*c));
    if (!opts) {
        kw_mutate_opts_init(&c->dflt);
        opts = &c->dflt;
    }
    c->info = info ? info : &c->local;
    memset(c->info, 0, sizeof(*c->info));
    /* Mix the seed so that neighbouring seeds start far apart. */
    c->rng.s = (uint64_t)seed * 0x9e3779b97f4a7c15ull ^ 0x6b77697265ull;
    c->o = opts;
    c->size = size;
    c->max_size = max_size;
    kw_arena_init(&c->arena, opts->alloc, 64 * (size + max_size) + (1u << 20));
    c->ar = &c->arena;
}

static void
ctx_fini(kwm_ctx *c)
{
    kw_arena_fini(&c->arena);
}

/* Byte-level fallback, plain: used when the structured path is disabled or failed. */
static size_t
fallback(kwm_ctx *c, uint8_t *data, size_t size, size_t max_size)
{
    kwm_note(c, KW_MUT_BYTES, "bytes");
    return kwm_bytes(c, data, size, max_size);
}

/* Picks a family for one mutation step among the enabled ones in `allowed`. */
static uint32_t
pick_family(kwm_ctx *c, uint32_t allowed, uint32_t tried)
{
    uint32_t fams[16];
    int n = 0;
    for (uint32_t b = 1; b & KW_MUT_ALL; b <<= 1)
        if ((allowed & b) && kwm_on(c, b) && !(tried & b))
            fams[n++] = b;
    return n ? fams[kwm_below(&c->rng, (uint32_t)n)] : 0;
}

/* One structured mutation step on a frame or body; the header family applies to frames. */
typedef bool (*step_fn)(kwm_ctx *c, uint32_t fam, void *arg);

static int
mutate_steps(kwm_ctx *c, uint32_t allowed, step_fn step, void *arg)
{
    int want = c->o->max_mutations < 1 ? 1 : c->o->max_mutations > 8 ? 8 : c->o->max_mutations;
    want = 1 + (int)kwm_below(&c->rng, (uint32_t)want);
    int done = 0;
    for (int i = 0; i < want; i++) {
        uint32_t tried = 0, fam;
        while ((fam = pick_family(c, allowed, tried))) {
            tried |= fam;
            if (fam == KW_MUT_BYTES) {
                c->post_bytes = true;
                done++;
                break;
            }
            if (step(c, fam, arg)) {
                done++;
                break;
            }
        }
    }
    return done;
}

/* Encodes via `enc` into a buffer of at most max_size, then copies it over data (the decoded
 * message borrows data's bytes, so encoding cannot happen in place). */
typedef kw_err (*enc_fn)(kw_wr *w, void *arg, kwm_ctx *c);

static bool
encode_out(kwm_ctx *c, enc_fn enc, void *arg, uint8_t *data, size_t max_size, size_t *out)
{
    kw_wr w;
    kw_wr_init_dyn(&w, c->o->alloc, max_size);
    bool ok = enc(&w, arg, c) == KW_ERR_OK && kw_wr_len(&w) <= max_size;
    if (ok) {
        size_t n = kw_wr_len(&w);
        if (n) /* an empty body leaves the writer without a buffer */
            memcpy(data, w.base, n);
        if (c->post_bytes) {
            kwm_note(c, KW_MUT_BYTES, "bytes");
            n = kwm_bytes(c, data, n, max_size);
        }
        *out = n;
    }
    kw_wr_fini(&w);
    return ok;
}

/* How one kind of input (a frame, a bare body) goes through the structured path: decode it
 * into arg (naming it in the description), mutate it one family at a time, encode it. */
typedef struct structured {
    bool (*decode)(kwm_ctx *c, void *arg, const uint8_t *data, size_t size);
    step_fn step;
    enc_fn enc;
    uint32_t families; /* the families the kind allows */
} structured;

/* Up to ATTEMPTS decode-mutate-encode rounds on a fresh decode each (a round can fail when
 * the result does not fit max_size); false when none produced an output, so the caller falls
 * back to byte mutation. */
static bool
structured_run(kwm_ctx *c, const structured *k, void *arg, uint8_t *data, size_t size,
               size_t max_size, size_t *out)
{
    for (int attempt = 0; attempt < ATTEMPTS && (c->o->families & STRUCT_FAMILIES); attempt++) {
        kw_arena_reset(c->ar);
        c->n_ov = 0;
        c->post_bytes = false;
        c->info->desc[0] = '\0';
        c->info->families = 0;
        if (!k->decode(c, arg, data, size))
            return false;
        c->info->decoded = true;
        if (mutate_steps(c, k->families, k->step, arg) == 0)
            return false;
        if (encode_out(c, k->enc, arg, data, max_size, out))
            return true;
    }
    return false;
}

/* ---------------------------------------------------------------- frames */

typedef struct frame_arg {
    kw_frame f;
} frame_arg;

static bool
frame_decode(kwm_ctx *c, void *arg, const uint8_t *data, size_t size)
{
    kw_frame *f = &((frame_arg *)arg)->f;
    if (kw_frame_decode(data, size, c->ar, f) != KW_ERR_OK)
        return false;
    kwm_note(c, 0, "%s v%d:", f->def->name, f->version);
    return true;
}

bool kwm_mutate_header(kwm_ctx *c, kw_frame *f);

static bool
frame_step(kwm_ctx *c, uint32_t fam, void *arg)
{
    kw_frame *f = &((frame_arg *)arg)->f;
    if (fam == KW_MUT_HEADER)
        return kwm_mutate_header(c, f);
    int16_t ver = f->version;
    if (!kwm_mutate_msg(c, fam, f->def, &ver, f->msg))
        return false;
    if (ver != f->version) {
        f->version = ver;
        f->req.api_version = ver;
    }
    return true;
}

static kw_err
frame_enc(kw_wr *w, void *arg, kwm_ctx *c)
{
    return kwm_frame_encode_ex(w, &((frame_arg *)arg)->f, c->ov, c->n_ov);
}

static const structured k_frame = {frame_decode, frame_step, frame_enc, KW_MUT_ALL};

size_t
kw_mutate_frame(uint8_t *data, size_t size, size_t max_size, uint32_t seed,
                const kw_mutate_opts *opts, kw_mutate_info *info)
{
    kwm_ctx c;
    if (size > max_size)
        size = max_size;
    ctx_init(&c, opts, info, seed, size, max_size);
    size_t out = 0;
    frame_arg fa;
    if (max_size > 0 && data && !structured_run(&c, &k_frame, &fa, data, size, max_size, &out))
        out = fallback(&c, data, size, max_size);
    ctx_fini(&c);
    return out;
}

/* ---------------------------------------------------------------- bare bodies */

typedef struct body_arg {
    const kw_msgdef *d;
    int16_t ver0; /* the caller's version: every attempt decodes at it */
    int16_t ver;
    void *msg;
} body_arg;

static bool
body_decode(kwm_ctx *c, void *arg, const uint8_t *data, size_t size)
{
    body_arg *b = arg;
    b->ver = b->ver0;
    b->msg = kw_arena_alloc(c->ar, b->d->size ? b->d->size : 1);
    kw_rd r;
    kw_rd_init(&r, data, size);
    if (!b->msg || kw_msg_decode(b->d, b->ver, &r, c->ar, b->msg) != KW_ERR_OK)
        return false;
    kwm_note(c, 0, "%s v%d:", b->d->name, b->ver);
    return true;
}

static bool
body_step(kwm_ctx *c, uint32_t fam, void *arg)
{
    body_arg *b = arg;
    return kwm_mutate_msg(c, fam, b->d, &b->ver, b->msg);
}

static kw_err
body_enc(kw_wr *w, void *arg, kwm_ctx *c)
{
    body_arg *b = arg;
    return kw_msg_encode_ex(b->d, b->ver, w, b->msg, c->ov, c->n_ov);
}

static const structured k_body = {body_decode, body_step, body_enc,
                                  KW_MUT_ALL & ~(uint32_t)KW_MUT_HEADER};

size_t
kw_mutate_body(const kw_msgdef *d, int16_t *ver, uint8_t *data, size_t size, size_t max_size,
               uint32_t seed, const kw_mutate_opts *opts, kw_mutate_info *info)
{
    kwm_ctx c;
    if (size > max_size)
        size = max_size;
    ctx_init(&c, opts, info, seed, size, max_size);
    size_t out = 0;
    body_arg b = {d, ver ? *ver : 0, 0, NULL};
    if (max_size > 0 && data) {
        if (d && ver && structured_run(&c, &k_body, &b, data, size, max_size, &out))
            *ver = b.ver;
        else
            out = fallback(&c, data, size, max_size);
    }
    ctx_fini(&c);
    return out;
}

/* ---------------------------------------------------------------- records */

size_t
kw_mutate_records(uint8_t *data, size_t size, size_t max_size, uint32_t seed,
                  const kw_mutate_opts *opts, kw_mutate_info *info)
{
    kwm_ctx c;
    if (size > max_size)
        size = max_size;
    ctx_init(&c, opts, info, seed, size, max_size);
    size_t out = 0;
    if (max_size == 0 || !data)
        goto done;
    if (kwm_on(&c, KW_MUT_RECORDS)) {
        kw_slice s = {data, (int32_t)(size > INT32_MAX ? INT32_MAX : size)};
        if (kwm_records_mutate(&c, &s) && s.len >= 0 && (size_t)s.len <= max_size) {
            c.info->decoded = true;
            memmove(data, s.ptr, (size_t)s.len);
            out = (size_t)s.len;
            goto done;
        }
    }
    out = fallback(&c, data, size, max_size);
done:
    ctx_fini(&c);
    return out;
}

/* ---------------------------------------------------------------- cross-over */

/* A prefix of d1 and a suffix of d2. */
static size_t
splice(kwm_ctx *c, const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2, uint8_t *out,
       size_t max_out)
{
    size_t a = kwm_below(&c->rng, (uint32_t)(s1 + 1));
    size_t b = kwm_below(&c->rng, (uint32_t)(s2 + 1));
    if (a > max_out)
        a = max_out;
    size_t tail = s2 - b;
    if (tail > max_out - a)
        tail = max_out - a;
    if (a)
        memcpy(out, d1, a);
    if (tail)
        memcpy(out + a, d2 + b, tail);
    kwm_note(c, KW_MUT_BYTES, "splice %zu bytes of input 1 + %zu of input 2", a, tail);
    return a + tail;
}

size_t
kw_mutate_crossover(const uint8_t *d1, size_t s1, const uint8_t *d2, size_t s2, uint8_t *out,
                    size_t max_out, uint32_t seed, const kw_mutate_opts *opts, kw_mutate_info *info)
{
    kwm_ctx c;
    if (!d1)
        s1 = 0;
    if (!d2)
        s2 = 0;
    ctx_init(&c, opts, info, seed, s1, max_out);
    size_t n = 0;
    if (!out || max_out == 0)
        goto done;
    frame_arg x; /* encoded as a mutated frame is */
    kw_frame f2;
    if (s1 && s2 && kw_frame_decode(d1, s1, c.ar, &x.f) == KW_ERR_OK &&
        kw_frame_decode(d2, s2, c.ar, &f2) == KW_ERR_OK && x.f.def == f2.def) {
        c.info->decoded = true;
        kwm_note(&c, 0, "%s v%d:", x.f.def->name, x.f.version);
        if (kwm_cross_msg(&c, x.f.def, x.f.version, x.f.msg, f2.version, f2.msg)) {
            if (encode_out(&c, frame_enc, &x, out, max_out, &n))
                goto done;
        }
    }
    n = splice(&c, d1, s1, d2, s2, out, max_out);
done:
    ctx_fini(&c);
    return n;
}
