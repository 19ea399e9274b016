/* Internal state of one mutation call, shared by the files of src/mutate. */
#ifndef KWI_MUTATE_INT_H
#define KWI_MUTATE_INT_H

#include <stdarg.h>

#include "kwire/mutate.h"

#define KWM_MAX_OV 8

/* splitmix64: tiny, fast and fully determined by the seed, which is what reproducers need. */
typedef struct kwm_rng {
    uint64_t s;
} kwm_rng;

static inline uint64_t
kwm_next(kwm_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A number in [0, n); 0 when n is 0. */
static inline uint32_t
kwm_below(kwm_rng *r, uint32_t n)
{
    return n ? (uint32_t)(kwm_next(r) % n) : 0;
}

typedef struct kwm_ctx {
    kwm_rng rng;
    const kw_mutate_opts *o;
    kw_arena *ar;
    kw_mutate_info *info;
    kw_override ov[KWM_MAX_OV]; /* KW_MUT_COUNT / KW_MUT_TAGS wire overrides */
    size_t n_ov;
    size_t size; /* the input's size, to keep growth within max_size */
    size_t max_size;
    bool post_bytes; /* KW_MUT_BYTES chosen: byte-mutate the encoded result too */
    /* What o, info and ar point at when the caller passed no options or info (ctx_init in
     * mutate.c): a context is set up in place and never copied. */
    kw_mutate_opts dflt;
    kw_mutate_info local;
    kw_arena arena;
} kwm_ctx;

/* Append to info->desc ("; "-separated, cut when full) and record the family. */
void kwm_note(kwm_ctx *c, uint32_t family, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Apply one structure-aware mutation of family `fam` to a decoded message; false when the
 * message has nothing the family applies to. *ver may change (KW_MUT_VERSION). */
bool kwm_mutate_msg(kwm_ctx *c, uint32_t fam, const kw_msgdef *d, int16_t *ver, void *msg);

/* Replace *recs by a mutated copy (arena) of its record batches; false if nothing applied. */
bool kwm_records_mutate(kwm_ctx *c, kw_slice *recs);

/* A small valid magic-2 batch (arena), for records fields that are empty. */
bool kwm_records_make(kwm_ctx *c, kw_slice *out);

/* Byte-level mutation through opts->bytes or kwire's own. */
size_t kwm_bytes(kwm_ctx *c, uint8_t *data, size_t size, size_t max_size);

/* Cross a field of m2 into m1 (same message type); false if no matching field. */
bool kwm_cross_msg(kwm_ctx *c, const kw_msgdef *d, int16_t ver, void *m1, int16_t ver2, void *m2);

/* Whether a family is enabled in the options. */
static inline bool
kwm_on(const kwm_ctx *c, uint32_t fam)
{
    return (c->o->families & fam) != 0;
}

#endif
