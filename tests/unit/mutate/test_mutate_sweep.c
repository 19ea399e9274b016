/* 10,000 seeds over every conformance vector as a frame: results stay within max_size, are
 * deterministic, and (under the sanitizer build) nothing reads or writes out of bounds. Every
 * family is exercised, and cross-over and bare-body mutation run on the same inputs. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/mutate.h"
#include "vec_util.h"

typedef struct vframe {
    const kw_msgdef *d;
    int16_t ver;
    uint8_t *frame, *body;
    size_t frame_len, body_len;
} vframe;

typedef struct vlist {
    vframe *v;
    size_t n, cap;
} vlist;

static int
collect(void *ud, const kw_msgdef *d, int16_t ver, const uint8_t *bin, size_t len)
{
    vlist *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
    }
    vframe *f = &l->v[l->n];
    f->d = d;
    f->ver = ver;
    f->body = malloc(len ? len : 1);
    memcpy(f->body, bin, len);
    f->body_len = len;
    f->frame = malloc(len + 64);
    f->frame_len = kwt_vector_frame(d, ver, bin, len, f->frame, len + 64);
    l->n++;
    return 0;
}

START_TEST(ten_thousand_seeds)
{
    vlist l = {NULL, 0, 0};
    kwt_each_vector(collect, &l);
    ck_assert_uint_gt(l.n, 1000);
    uint32_t families = 0;
    long decoded = 0, frames = 0;
    for (uint32_t seed = 0; seed < 10000; seed++) {
        const vframe *v = &l.v[(seed * 7919u) % l.n];
        if (!v->frame_len) { /* data structures: bodies only */
            uint8_t *b = malloc(v->body_len + 256);
            memcpy(b, v->body, v->body_len);
            int16_t ver = v->ver;
            size_t m =
                kw_mutate_body(v->d, &ver, b, v->body_len, v->body_len + 256, seed, NULL, NULL);
            ck_assert_uint_le(m, v->body_len + 256);
            ck_assert(ver >= v->d->min_ver && ver <= v->d->max_ver);
            free(b);
            continue;
        }
        /* Exact-size buffers, so ASan sees any write past max_size. */
        size_t max = v->frame_len + (seed % 3 == 0 ? 0 : seed % 3 == 1 ? 64 : 4096);
        uint8_t *a = malloc(max);
        memcpy(a, v->frame, v->frame_len);
        kw_mutate_info info;
        size_t n = kw_mutate_frame(a, v->frame_len, max, seed, NULL, &info);
        ck_assert_uint_le(n, max);
        families |= info.families;
        decoded += info.decoded;
        frames++;
        if (seed % 10 == 0) {
            uint8_t *b = malloc(max);
            memcpy(b, v->frame, v->frame_len);
            kw_mutate_info ib;
            size_t nb = kw_mutate_frame(b, v->frame_len, max, seed, NULL, &ib);
            ck_assert_uint_eq(n, nb);
            ck_assert(memcmp(a, b, n) == 0);
            ck_assert_str_eq(info.desc, ib.desc);
            free(b);
        }
        if (seed % 4 == 0) {
            /* Mutating the mutant: the usual life of a corpus entry. */
            kw_mutate_frame(a, n, max, seed + 1, NULL, NULL);
            const vframe *w = &l.v[(seed * 7919u + 1) % l.n];
            uint8_t *out = malloc(max);
            size_t k = kw_mutate_crossover(v->frame, v->frame_len, w->frame, w->frame_len, out, max,
                                           seed, NULL, NULL);
            ck_assert_uint_le(k, max);
            free(out);
        }
        free(a);
    }
    for (size_t i = 0; i < l.n; i++) {
        free(l.v[i].frame);
        free(l.v[i].body);
    }
    free(l.v);
    ck_assert_uint_eq(families, KW_MUT_ALL);
    /* The vectors are valid frames: nearly all decode. */
    ck_assert_int_gt(decoded, frames * 9 / 10);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mutate_sweep");
    TCase *tc = tcase_create("sweep");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, ten_thousand_seeds);
    suite_add_tcase(s, tc);
    return s;
}
