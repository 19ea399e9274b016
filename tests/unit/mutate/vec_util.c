/* Test helper: iterate over every frame of tests/vectors (see test_vectors.c for the format). */
#include "vec_util.h"

#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/mutate.h"
#include "../../support/hex.h"

static int
each_in_file(const char *path, kwt_vec_fn fn, void *ud, long *count)
{
    size_t len;
    char *text = kwt_read_file(path, &len);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    char *p = text;
    int stop = 0;
    while (*p && !stop) {
        char name[96];
        int ver, consumed = 0;
        ck_assert_msg(sscanf(p, "msg %95s %d\n%n", name, &ver, &consumed) == 2 && consumed,
                      "%s: bad block", path);
        p += consumed;
        ck_assert(strncmp(p, "hex ", 4) == 0);
        p += 4;
        char *hex_end = strchr(p, '\n');
        ck_assert(hex_end != NULL);
        size_t hex_len = (size_t)(hex_end - p);
        uint8_t *bin = malloc(hex_len / 2 + 1);
        long bin_len = kwt_unhex(p, hex_len, bin);
        ck_assert(bin_len >= 0);
        char *end = strstr(hex_end + 1, "\nend\n");
        ck_assert(end != NULL);
        p = end + 5;
        const kw_msgdef *d = kw_msgdef_by_name(name);
        ck_assert_msg(d != NULL, "no codec for %s", name);
        stop = fn(ud, d, (int16_t)ver, bin, (size_t)bin_len);
        free(bin);
        (*count)++;
    }
    free(text);
    return stop;
}

long
kwt_each_vector(kwt_vec_fn fn, void *ud)
{
    const char *dir = getenv("KW_VECTORS_DIR");
    if (!dir)
        dir = "tests/vectors";
    DIR *dh = opendir(dir);
    ck_assert_msg(dh != NULL, "cannot open %s", dir);
    /* Sorted names, so runs are reproducible whatever order readdir gives. */
    char *names[256];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dh)) && n < 256) {
        size_t l = strlen(de->d_name);
        if (l > 4 && strcmp(de->d_name + l - 4, ".txt") == 0)
            names[n++] = strdup(de->d_name);
    }
    closedir(dh);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
            char *t = names[j];
            names[j] = names[j - 1];
            names[j - 1] = t;
        }
    long count = 0;
    int stop = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (!stop)
            stop = each_in_file(path, fn, ud, &count);
        free(names[i]);
    }
    ck_assert_msg(count > 0, "no vectors in %s", dir);
    return count;
}

size_t
kwt_vector_frame(const kw_msgdef *d, int16_t ver, const uint8_t *bin, size_t len, uint8_t *out,
                 size_t cap)
{
    if (d->api_key < 0)
        return 0;
    kw_wr w;
    kw_wr_init_fixed(&w, out, cap);
    if (d->response) {
        uint8_t pre[KW_MUTATE_RESP_PREFIX] = {KW_MUTATE_RESP_MAGIC0, KW_MUTATE_RESP_MAGIC1};
        pre[2] = (uint8_t)(d->api_key >> 8);
        pre[3] = (uint8_t)d->api_key;
        pre[4] = (uint8_t)(ver >> 8);
        pre[5] = (uint8_t)ver;
        kw_wr_raw(&w, pre, sizeof(pre));
        kw_resp_hdr h = {7, {NULL, 0}};
        kw_resp_hdr_encode(&w, kw_resp_hdr_version(d, ver), &h);
    } else {
        kw_req_hdr h = {d->api_key, ver, 7, kw_slice_str("kwt"), {NULL, 0}};
        kw_req_hdr_encode(&w, kw_req_hdr_version(d, ver), &h);
    }
    kw_wr_raw(&w, bin, len);
    return kw_wr_finish(&w) == KW_ERR_OK ? kw_wr_len(&w) : 0;
}
