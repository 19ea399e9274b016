/* kwire fuzz: reproducer files and the seed corpus.
 *
 * A reproducer is two files in --out:
 *   case-<N>-<kind>.bin  the request frame exactly as it was sent (int32 size prefix included),
 *                        so `nc host port < file` or any other tool can resend it too;
 *   case-<N>-<kind>.txt  what produced it, as key=value lines: kind, api, version, the run's
 *                        seed, the case number and its derived seed, the mutation applied and
 *                        what the broker did.
 * `kwire fuzz --replay` takes either file. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd_fuzz_int.h"

const char *
fz_kind_name(fz_kind k)
{
    static const char *names[FZ_KINDS] = {"ok", "crash", "hang", "violation"};
    return (unsigned)k < FZ_KINDS ? names[k] : "unknown";
}

static fz_kind
kind_parse(const char *s)
{
    for (int k = 0; k < FZ_KINDS; k++)
        if (strcmp(s, fz_kind_name((fz_kind)k)) == 0)
            return (fz_kind)k;
    return FZ_OK;
}

static uint64_t
fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* One-line values: newlines would break the key=value format. */
static void
put_line(FILE *f, const char *key, const char *v)
{
    fprintf(f, "%s=", key);
    for (; *v; v++)
        fputc(*v == '\n' || *v == '\r' ? ' ' : *v, f);
    fputc('\n', f);
}

kw_err
fz_out_dir(const char *dir, kw_error *err)
{
    /* mkdir -p: the parents too, so --out results/run-7 just works. */
    char path[4096];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof(path))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "bad output directory '%s'", dir);
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0')
            continue;
        char c = path[i];
        path[i] = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return kw_error_set(err, KW_ERR_IO, "cannot create %s: %s", path, strerror(errno));
        path[i] = c;
    }
    return KW_ERR_OK;
}

kw_err
fz_repro_save(const char *dir, const fz_case_info *ci, const uint8_t *frame, size_t len, char *path,
              size_t path_sz, kw_error *err)
{
    kw_err e = fz_out_dir(dir, err);
    if (e != KW_ERR_OK)
        return e;
    char txt[4096];
    snprintf(path, path_sz, "%s/case-%08llu-%s.bin", dir, (unsigned long long)ci->index,
             fz_kind_name(ci->kind));
    snprintf(txt, sizeof(txt), "%s/case-%08llu-%s.txt", dir, (unsigned long long)ci->index,
             fz_kind_name(ci->kind));
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(frame, 1, len, f) != len || fclose(f) != 0)
        return kw_error_set(err, KW_ERR_IO, "cannot write %s: %s", path, strerror(errno));
    f = fopen(txt, "w");
    if (!f)
        return kw_error_set(err, KW_ERR_IO, "cannot write %s: %s", txt, strerror(errno));
    const char *slash = strrchr(path, '/');
    fprintf(f, "# kwire fuzz reproducer; resend with: kwire fuzz --replay %s -b BROKER\n",
            slash ? slash + 1 : path);
    fprintf(f, "kind=%s\napi=%s\napi_key=%d\napi_version=%d\n", fz_kind_name(ci->kind),
            fz_api_name(ci->api_key), (int)ci->api_key, (int)ci->api_version);
    fprintf(f, "seed=%llu\ncase=%llu\ncase_seed=%llu\n", (unsigned long long)ci->seed,
            (unsigned long long)ci->index, (unsigned long long)ci->case_seed);
    put_line(f, "mutation", ci->mutation);
    put_line(f, "detail", ci->detail);
    if (ci->sequence[0])
        put_line(f, "sequence", ci->sequence);
    if (ci->response[0])
        put_line(f, "response", ci->response); /* hex, after the size prefix; may be cut */
    fprintf(f, "bytes=%s\nlength=%zu\nfnv1a64=%016llx\n", slash ? slash + 1 : path, len,
            (unsigned long long)fnv1a64(frame, len));
    if (fclose(f) != 0)
        return kw_error_set(err, KW_ERR_IO, "cannot write %s: %s", txt, strerror(errno));
    return KW_ERR_OK;
}

static kw_err
read_file(const char *path, uint8_t **out, size_t *len, kw_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return kw_error_set(err, KW_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    while (b) {
        n += fread(b + n, 1, cap - n, f);
        if (n < cap)
            break;
        if (cap >= FZ_MAX_REQUEST) {
            free(b);
            fclose(f);
            return kw_error_set(err, KW_ERR_VALUE_RANGE, "%s is larger than %d bytes", path,
                                FZ_MAX_REQUEST);
        }
        uint8_t *nb = realloc(b, cap * 2);
        if (!nb)
            free(b);
        b = nb;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!b)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    if (bad) {
        free(b);
        return kw_error_set(err, KW_ERR_IO, "cannot read %s", path);
    }
    *out = b;
    *len = n;
    return KW_ERR_OK;
}

static void
sidecar_parse(const char *text, fz_case_info *ci)
{
    char line[1024];
    while (*text) {
        const char *nl = strchr(text, '\n');
        size_t n = nl ? (size_t)(nl - text) : strlen(text);
        snprintf(line, sizeof(line), "%.*s", (int)n, text);
        text += n + (nl ? 1 : 0);
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq)
            continue;
        *eq = '\0';
        const char *v = eq + 1;
        if (strcmp(line, "kind") == 0)
            ci->kind = kind_parse(v);
        else if (strcmp(line, "seed") == 0)
            ci->seed = strtoull(v, NULL, 10);
        else if (strcmp(line, "case") == 0)
            ci->index = strtoull(v, NULL, 10);
        else if (strcmp(line, "case_seed") == 0)
            ci->case_seed = strtoull(v, NULL, 10);
        else if (strcmp(line, "mutation") == 0)
            snprintf(ci->mutation, sizeof(ci->mutation), "%s", v);
        else if (strcmp(line, "detail") == 0)
            snprintf(ci->detail, sizeof(ci->detail), "%s", v);
    }
}

kw_err
fz_repro_load(const char *path, fz_case_info *ci, uint8_t **frame, size_t *len, kw_error *err)
{
    memset(ci, 0, sizeof(*ci));
    char bin[4096], txt[4096];
    size_t pl = strlen(path);
    if (pl + 5 > sizeof(bin))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "path too long");
    const char *dot = strrchr(path, '.');
    size_t stem = dot && !strchr(dot, '/') ? (size_t)(dot - path) : pl;
    bool is_txt = dot && strcmp(dot, ".txt") == 0;
    snprintf(bin, sizeof(bin), "%s", path);
    if (is_txt)
        snprintf(bin, sizeof(bin), "%.*s.bin", (int)stem, path);
    snprintf(txt, sizeof(txt), "%.*s.txt", (int)stem, path);
    kw_err e = read_file(bin, frame, len, err);
    if (e != KW_ERR_OK)
        return e;
    uint8_t *t;
    size_t tl;
    kw_error ignore;
    if (read_file(txt, &t, &tl, &ignore) == KW_ERR_OK) {
        char *s = realloc(t, tl + 1);
        if (s) {
            s[tl] = '\0';
            sidecar_parse(s, ci);
            t = (uint8_t *)s;
        }
        free(t);
    }
    if (*len >= 8) {
        ci->api_key = (int16_t)((*frame)[4] << 8 | (*frame)[5]);
        ci->api_version = (int16_t)((*frame)[6] << 8 | (*frame)[7]);
    }
    return KW_ERR_OK;
}

/* ---- seeds --------------------------------------------------------------------------------- */

kw_err
fz_seeds_add(fz_seeds *s, const uint8_t *frame, size_t len, kw_error *err)
{
    /* A frame either starts with its own int32 size or is a bare header + body. */
    bool prefixed = len >= 4 && ((uint32_t)frame[0] << 24 | (uint32_t)frame[1] << 16 |
                                 (uint32_t)frame[2] << 8 | frame[3]) == len - 4;
    size_t body = prefixed ? len - 4 : len;
    if (body < 8 || body > FZ_MAX_REQUEST)
        return kw_error_set(err, KW_ERR_MALFORMED, "a request frame of %zu bytes", body);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        fz_seed *nv = realloc(s->v, cap * sizeof(*nv));
        if (!nv)
            return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        s->v = nv;
        s->cap = cap;
    }
    fz_seed *d = &s->v[s->n];
    d->frame = malloc(body + 4);
    if (!d->frame)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    const uint8_t *b = prefixed ? frame + 4 : frame;
    d->frame[0] = (uint8_t)(body >> 24);
    d->frame[1] = (uint8_t)(body >> 16);
    d->frame[2] = (uint8_t)(body >> 8);
    d->frame[3] = (uint8_t)body;
    memcpy(d->frame + 4, b, body);
    d->len = body + 4;
    d->api_key = (int16_t)(b[0] << 8 | b[1]);
    d->api_version = (int16_t)(b[2] << 8 | b[3]);
    s->n++;
    return KW_ERR_OK;
}

void
fz_seeds_free(fz_seeds *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i].frame);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

kw_err
fz_corpus_load(const char *dir, fz_seeds *s, kw_error *err)
{
    DIR *d = opendir(dir);
    if (!d)
        return kw_error_set(err, KW_ERR_IO, "cannot open corpus %s: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    kw_err e = KW_ERR_OK;
    struct dirent *de;
    while (e == KW_ERR_OK && (de = readdir(d))) {
        /* Reproducer sidecars are text; only the frames are seeds. */
        size_t nl = strlen(de->d_name);
        if (de->d_name[0] == '.' || (nl > 4 && strcmp(de->d_name + nl - 4, ".txt") == 0))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            char **nn = realloc(names, cap * sizeof(*nn));
            if (!nn) {
                e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
                break;
            }
            names = nn;
        }
        if (!(names[n] = strdup(de->d_name)))
            e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        else
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), cmp_str);
    for (size_t i = 0; i < n && e == KW_ERR_OK; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        uint8_t *b;
        size_t len;
        e = read_file(path, &b, &len, err);
        if (e == KW_ERR_OK) {
            e = fz_seeds_add(s, b, len, err);
            free(b);
            if (e == KW_ERR_MALFORMED) {
                fprintf(stderr, "kwire fuzz: %s: %s, skipped\n", path, err->msg);
                e = KW_ERR_OK;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return e;
}
