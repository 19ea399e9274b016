/* Fuzz harness: whole frames (kwire/mutate.h: a request with its header, or a response behind
 * the 'K','R' prefix), decoded, walked field by field, re-encoded and decoded again, which must
 * give the same fields. It is also the example of a harness that takes kwire's mutator as is:
 * the libFuzzer build links kwire_mutate_libfuzzer, whose LLVMFuzzerCustomMutator and
 * LLVMFuzzerCustomCrossOver mutate frames structure-aware. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/mutate.h"

/* Reads every value the walk reports, so ASan sees any pointer into freed or foreign memory. */
static int
touch(void *ud, const kw_field *f)
{
    uint64_t *sum = ud;
    const kw_slice *s;
    switch (f->type) {
    case KW_FT_STRING:
    case KW_FT_BYTES:
    case KW_FT_RECORDS:
        s = f->value;
        for (int32_t i = 0; i < s->len; i++)
            *sum += s->ptr[i];
        break;
    case KW_FT_ARRAY:
        *sum += (uint64_t)*f->count;
        break;
    case KW_FT_INT8:
    case KW_FT_BOOL:
        *sum += *(const uint8_t *)f->value;
        break;
    default:
        break;
    }
    return 0;
}

static void
fail(const char *why)
{
    (void)why;
    abort();
}

static void
dump(const kw_frame *f, kw_wr *w)
{
    kw_wr_init_dyn(w, NULL, 1u << 28);
    kw_msg_dump(f->def, f->version, w, f->msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 64 * size + 65536);
    kw_frame f, g;
    if (kw_frame_decode(data, size, &ar, &f) == KW_ERR_OK) {
        uint64_t sum = 0;
        if (kw_msg_walk(f.def, f.version, f.msg, touch, &sum) != KW_ERR_OK)
            fail("walk of a decoded message failed");
        kw_wr w;
        kw_wr_init_dyn(&w, NULL, size + 1024);
        if (kw_frame_encode(&w, &f) != KW_ERR_OK)
            fail("encode of a decoded frame failed");
        if (kw_frame_decode(w.base, kw_wr_len(&w), &ar, &g) != KW_ERR_OK)
            fail("re-encoded frame does not decode");
        if (g.def != f.def || g.version != f.version ||
            (f.response ? g.resp.correlation_id != f.resp.correlation_id
                        : g.req.correlation_id != f.req.correlation_id))
            fail("re-encoded frame has another header");
        kw_wr d1, d2;
        dump(&f, &d1);
        dump(&g, &d2);
        if (kw_wr_finish(&d1) == KW_ERR_OK && kw_wr_finish(&d2) == KW_ERR_OK &&
            (kw_wr_len(&d1) != kw_wr_len(&d2) ||
             (kw_wr_len(&d1) && memcmp(d1.base, d2.base, kw_wr_len(&d1)) != 0)))
            fail("decode -> encode -> decode changed a field");
        kw_wr_fini(&d1);
        kw_wr_fini(&d2);
        kw_wr_fini(&w);
    }
    kw_arena_fini(&ar);
    return 0;
}
