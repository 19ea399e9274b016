/* Conformance: every vector in tests/vectors (generated from Apache Kafka's JSON schemas by
 * tests/tools/gen_vectors.py, an oracle independent of the C code) must decode to exactly the
 * generator's field dump and re-encode to exactly the same bytes. Every proper prefix of each
 * vector must fail to decode with an error, never crash or succeed. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/proto.h"
#include "../../support/hex.h"

static const char *
vectors_dir(void)
{
    const char *d = getenv("KW_VECTORS_DIR");
    return d ? d : "tests/vectors";
}

typedef struct stats {
    long vectors, files;
} stats;

/* Checks one vector; returns NULL on success or a static description of the failure. */
static const char *
check_vector(const kw_msgdef *d, int ver, const uint8_t *bin, size_t len, const char *dump,
             size_t dump_len, char *why, size_t why_len)
{
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    void *m = calloc(1, d->size);
    kw_rd r;
    kw_rd_init(&r, bin, len);
    kw_err e = kw_msg_decode(d, (int16_t)ver, &r, &ar, m);
    if (e) {
        snprintf(why, why_len, "decode failed: %s at byte %zu of %zu", kw_err_name(e),
                 kw_rd_pos(&r), len);
        goto out;
    }
    kw_wr w;
    kw_wr_init_dyn(&w, NULL, 1u << 26);
    e = kw_msg_dump(d, (int16_t)ver, &w, m);
    if (e || kw_wr_len(&w) != dump_len || (dump_len && memcmp(w.base, dump, dump_len) != 0)) {
        /* Show the first differing line. */
        size_t i = 0, line = 0;
        size_t got_len = kw_wr_len(&w);
        while (i < got_len && i < dump_len && w.base[i] == (uint8_t)dump[i])
            i++;
        size_t ls = i;
        while (ls > 0 && dump[ls - 1] != '\n')
            ls--;
        for (size_t k = 0; k < ls; k++)
            line += dump[k] == '\n';
        size_t ge = ls, ee = ls;
        while (ge < got_len && w.base[ge] != '\n')
            ge++;
        while (ee < dump_len && dump[ee] != '\n')
            ee++;
        snprintf(why, why_len, "dump differs at line %zu: got '%.*s' want '%.*s'", line + 1,
                 (int)(ge - ls), (const char *)w.base + ls, (int)(ee - ls), dump + ls);
        kw_wr_fini(&w);
        e = KW_ERR_MALFORMED;
        goto out;
    }
    kw_wr_fini(&w);
    kw_wr_init_dyn(&w, NULL, 1u << 26);
    e = kw_msg_encode(d, (int16_t)ver, &w, m);
    if (e || kw_wr_len(&w) != len || (len && memcmp(w.base, bin, len) != 0)) {
        size_t i = 0;
        while (i < kw_wr_len(&w) && i < len && w.base[i] == bin[i])
            i++;
        snprintf(why, why_len, "re-encode differs (%s): %zu bytes vs %zu, first at byte %zu",
                 kw_err_name(e), kw_wr_len(&w), len, i);
        kw_wr_fini(&w);
        e = KW_ERR_MALFORMED;
        goto out;
    }
    kw_wr_fini(&w);
    /* Every truncation point must be an error, never a success. Each prefix is copied to its
     * own allocation so ASan sees any read past its end. */
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *pre = malloc(cut ? cut : 1);
        memcpy(pre, bin, cut);
        kw_arena_reset(&ar);
        kw_rd_init(&r, pre, cut);
        kw_err te = kw_msg_decode(d, (int16_t)ver, &r, &ar, m);
        free(pre);
        if (te == KW_ERR_OK) {
            snprintf(why, why_len, "prefix of %zu bytes (of %zu) decoded without error", cut, len);
            e = KW_ERR_MALFORMED;
            goto out;
        }
    }
out:
    free(m);
    kw_arena_fini(&ar);
    return e ? why : NULL;
}

static int
run_file(const char *path, stats *st)
{
    size_t len;
    char *text = kwt_read_file(path, &len);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    int failures = 0;
    char *p = text;
    char why[1024];
    while (*p) {
        char name[96];
        int ver, consumed = 0;
        if (sscanf(p, "msg %95s %d\n%n", name, &ver, &consumed) != 2 || consumed == 0) {
            ck_abort_msg("%s: bad block header near '%.40s'", path, p);
        }
        p += consumed;
        ck_assert_msg(strncmp(p, "hex ", 4) == 0, "%s: %s v%d: no hex line", path, name, ver);
        p += 4;
        char *hex_end = strchr(p, '\n');
        ck_assert(hex_end != NULL);
        size_t hex_len = (size_t)(hex_end - p);
        uint8_t *bin = malloc(hex_len / 2 + 1);
        long bin_len = kwt_unhex(p, hex_len, bin);
        ck_assert_msg(bin_len >= 0, "%s: %s v%d: bad hex", path, name, ver);
        p = hex_end + 1;
        char *dump = p;
        char *end = strstr(p, "end\n");
        ck_assert_msg(end != NULL, "%s: %s v%d: no end line", path, name, ver);
        while (end != dump && end[-1] != '\n') /* "end\n" must start a line */
            end = strstr(end + 1, "end\n");
        size_t dump_len = (size_t)(end - dump);
        p = end + 4;

        const kw_msgdef *d = kw_msgdef_by_name(name);
        const char *fail;
        if (!d) {
            snprintf(why, sizeof(why), "no codec for this message");
            fail = why;
        } else {
            fail = check_vector(d, ver, bin, (size_t)bin_len, dump, dump_len, why, sizeof(why));
        }
        if (fail) {
            if (failures < 20)
                fprintf(stderr, "FAIL %s v%d (vector %ld of %s): %s\n", name, ver, st->vectors,
                        path, fail);
            failures++;
        }
        st->vectors++;
        free(bin);
    }
    free(text);
    return failures;
}

START_TEST(all_vectors)
{
    const char *dir = vectors_dir();
    const char *only = getenv("KW_VECTORS_ONLY"); /* development: one file name prefix */
    DIR *dh = opendir(dir);
    ck_assert_msg(dh != NULL, "cannot open vectors directory %s", dir);
    struct dirent *de;
    stats st = {0, 0};
    int failures = 0;
    while ((de = readdir(dh))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".txt") != 0)
            continue;
        if (only && strncmp(de->d_name, only, strlen(only)) != 0)
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        failures += run_file(path, &st);
        st.files++;
    }
    closedir(dh);
    fprintf(stderr, "vectors: %ld files, %ld vectors, %d failed\n", st.files, st.vectors, failures);
    ck_assert_msg(st.vectors > 0, "no vectors found in %s", dir);
    ck_assert_msg(failures == 0, "%d of %ld vectors failed", failures, st.vectors);
}
END_TEST

/* Every message the schemas define for kwire's APIs has a codec, and vectors cover it. */
START_TEST(every_codec_has_vectors)
{
    const kw_msgdef *d;
    char path[4096];
    for (size_t i = 0; (d = kw_msgdef_at(i)); i++) {
        snprintf(path, sizeof(path), "%s/%s.txt", vectors_dir(), d->name);
        size_t len = 0;
        char *text = kwt_read_file(path, &len);
        ck_assert_msg(text != NULL, "no vectors for %s (%s)", d->name, path);
        for (int v = d->min_ver; v <= d->max_ver; v++) {
            char needle[128];
            snprintf(needle, sizeof(needle), "msg %s %d\n", d->name, v);
            ck_assert_msg(strstr(text, needle) != NULL, "no vector for %s v%d", d->name, v);
        }
        free(text);
    }
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("vectors");
    TCase *tc = tcase_create("conformance");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, all_vectors);
    tcase_add_test(tc, every_codec_has_vectors);
    suite_add_tcase(s, tc);
    return s;
}
