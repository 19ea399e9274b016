/* kwire fuzz: fuzz a Kafka broker over a real connection.
 *
 *     kwire fuzz -b BROKER [--api LIST] [--versions LIST] [--seed N] [--duration S]
 *                [--cases N] [--timeout-ms MS] [--corpus DIR] [--out DIR] [-X key=value]...
 *     kwire fuzz --replay FILE -b BROKER [-X key=value]...
 *     kwire fuzz --dump [--cases N] [--seed N] [--api LIST] [--versions LIST] [--out DIR]
 *
 * Case i is fully determined by (seed, i) and the list of seed requests: the seed request and
 * the mutator's seed both come from a hash of the two, so a run with the same seed against a
 * broker advertising the same versions sends the same bytes. --dump prints each case's hash
 * (and with --out writes every case as a reproducer) without any broker, which is how the
 * tests check that. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd_fuzz.h"
#include "cmd_fuzz_int.h"
#include "kwire/mutate.h"

#define MAX_SAVED 1000 /* reproducers written per run; later findings are only counted */
/* Cases kept for a crash: a broker may die of the state earlier cases built up (a group, a
 * transaction), not of the last frame alone, so a crash also saves the cases before it. */
#define HISTORY 64

typedef struct fz_opts {
    const char *broker, *corpus, *out, *replay;
    bool apis[FZ_MAX_KEYS], any_api;
    bool vers[FZ_MAX_KEYS], any_ver;
    uint64_t seed, cases;
    double duration;
    int timeout_ms;
    bool dump, out_set; /* --dump writes files only when --out is given */
    kw_conf *conf;
} fz_opts;

typedef struct fz_run {
    fz_opts *o;
    fz_seeds seeds;
    fz_versions bv; /* the broker's ranges; every version in --dump */
    int16_t keys[FZ_MAX_KEYS];
    size_t n_keys;
    uint64_t done, found[FZ_KINDS], saved;
    uint64_t per_api[FZ_MAX_KEYS];
    uint8_t *hist[HISTORY]; /* the last cases as sent, oldest at hist_at */
    size_t hist_len[HISTORY], hist_at, hist_n;
} fz_run;

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void
usage(FILE *f)
{
    fprintf(f, "usage: kwire fuzz -b BROKER [options] [-X key=value]...\n"
               "       kwire fuzz --replay FILE -b BROKER [-X key=value]...\n"
               "       kwire fuzz --dump [--cases N] [--seed N] [--api LIST] [--out DIR]\n"
               "  -b BROKER         host:port of the broker to fuzz\n"
               "  --api LIST        only these APIs (Produce,Fetch,... or keys; default all)\n"
               "  --versions LIST   only these versions, e.g. 0-3,7 (default all advertised)\n"
               "  --seed N          run seed; case i depends only on (N, i) (default: the time)\n"
               "  --cases N         stop after N cases\n"
               "  --duration S      stop after S seconds (default: until Ctrl-C, or --cases)\n"
               "  --timeout-ms MS   a response later than this is a hang (default 5000)\n"
               "  --corpus DIR      seed requests from DIR (one frame a file) instead of\n"
               "                    kwire's built-in requests\n"
               "  --out DIR         where reproducers go (default kwire-fuzz-out)\n"
               "  -X key=value      connection property: security.protocol, ssl.*, sasl.*\n"
               "  --replay FILE     resend a reproducer (.bin or .txt) and check it again\n"
               "  --dump            print each case's API, version, size and hash without a\n"
               "                    broker; with --out also write every case as a file\n"
               "Exit status: 0 no findings, 1 findings, 2 usage or connection error.\n");
}

static bool
parse_u64(const char *s, uint64_t *out)
{
    char *e;
    unsigned long long v = strtoull(s, &e, 0);
    if (!*s || *e || *s == '-')
        return false;
    *out = v;
    return true;
}

static bool
parse_versions(const char *s, bool vers[FZ_MAX_KEYS])
{
    while (*s) {
        char *e;
        long a = strtol(s, &e, 10), b = a;
        if (e == s)
            return false;
        if (*e == '-') {
            const char *t = e + 1;
            b = strtol(t, &e, 10);
            if (e == t)
                return false;
        }
        if (a < 0 || b < a || b >= FZ_MAX_KEYS || (*e && *e != ','))
            return false;
        for (long v = a; v <= b; v++)
            vers[v] = true;
        s = *e ? e + 1 : e;
    }
    return true;
}

static int
bad_usage(const char *fmt, const char *a)
{
    fprintf(stderr, "kwire fuzz: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, " (kwire fuzz --help)\n");
    return 2;
}

/* Returns 0 to go on, -1 after --help, else the exit status. */
static int
parse_args(int argc, char **argv, fz_opts *o)
{
    char msg[160];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return -1;
        }
        if (strcmp(a, "--dump") == 0) {
            o->dump = true;
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (!v)
            return bad_usage("missing value for %s", a);
        uint64_t n = 0;
        if (strcmp(a, "-b") == 0) {
            o->broker = v;
        } else if (strcmp(a, "--api") == 0) {
            if (!fz_parse_apis(v, o->apis, msg, sizeof(msg)))
                return bad_usage("%s", msg);
            o->any_api = false;
        } else if (strcmp(a, "--versions") == 0) {
            if (!parse_versions(v, o->vers))
                return bad_usage("--versions wants a list like 0-3,7, not '%s'", v);
            o->any_ver = false;
        } else if (strcmp(a, "--seed") == 0) {
            if (!parse_u64(v, &o->seed))
                return bad_usage("--seed wants a number, not '%s'", v);
        } else if (strcmp(a, "--cases") == 0) {
            if (!parse_u64(v, &o->cases) || o->cases == 0)
                return bad_usage("--cases wants a positive number, not '%s'", v);
        } else if (strcmp(a, "--duration") == 0) {
            char *e;
            o->duration = strtod(v, &e);
            if (*e || !(o->duration > 0))
                return bad_usage("--duration wants seconds, not '%s'", v);
        } else if (strcmp(a, "--timeout-ms") == 0) {
            if (!parse_u64(v, &n) || n == 0 || n > 3600000)
                return bad_usage("--timeout-ms wants 1-3600000, not '%s'", v);
            o->timeout_ms = (int)n;
        } else if (strcmp(a, "--corpus") == 0) {
            o->corpus = v;
        } else if (strcmp(a, "--out") == 0) {
            o->out = v;
            o->out_set = true;
        } else if (strcmp(a, "--replay") == 0) {
            o->replay = v;
        } else if (strcmp(a, "-X") == 0) {
            const char *eq = strchr(v, '=');
            if (!eq || eq == v)
                return bad_usage("-X wants key=value, not '%s'", v);
            char key[256];
            snprintf(key, sizeof(key), "%.*s", (int)(eq - v), v);
            kw_error err;
            kw_error_init(&err);
            if (kw_conf_set(o->conf, key, eq + 1, &err) != KW_ERR_OK)
                return bad_usage("%s", err.msg);
        } else {
            return bad_usage("unknown option '%s'", a);
        }
    }
    if (!o->dump && !o->broker)
        return bad_usage("%s", "-b BROKER is required");
    return 0;
}

/* ---- the case list ------------------------------------------------------------------------- */

static uint64_t
mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The version range of `key` the run may use: codec ∩ broker ∩ --versions (as min/max). */
static bool
usable(const fz_run *r, int16_t key, int16_t ver)
{
    const fz_opts *o = r->o;
    return key >= 0 && key < FZ_MAX_KEYS && (o->any_api || o->apis[key]) && ver >= 0 &&
           ver < FZ_MAX_KEYS && (o->any_ver || o->vers[ver]) && r->bv.min[key] >= 0 &&
           ver >= r->bv.min[key] && ver <= r->bv.max[key];
}

static kw_err
build_seeds(fz_run *r, kw_error *err)
{
    fz_seeds all = {0};
    kw_err e = KW_ERR_OK;
    if (r->o->corpus) {
        e = fz_corpus_load(r->o->corpus, &all, err);
    } else {
        const kw_msgdef *d;
        for (size_t i = 0; e == KW_ERR_OK && (d = kw_msgdef_at(i)); i++) {
            for (int16_t v = d->min_ver; !d->response && d->api_key >= 0 && v <= d->max_ver; v++) {
                kw_wr w;
                kw_wr_init_dyn(&w, NULL, FZ_MAX_REQUEST);
                if (fz_req_frame(d->api_key, v, 1, &w) == KW_ERR_OK)
                    e = fz_seeds_add(&all, w.base, kw_wr_len(&w), err);
                kw_wr_fini(&w);
            }
        }
    }
    /* Keep the usable ones, in their order: the list (and so every case) depends only on the
     * corpus, the selection and the broker's versions. */
    for (size_t i = 0; e == KW_ERR_OK && i < all.n; i++) {
        fz_seed *s = &all.v[i];
        if (!usable(r, s->api_key, s->api_version))
            continue;
        e = fz_seeds_add(&r->seeds, s->frame, s->len, err);
        bool have = false;
        for (size_t k = 0; k < r->n_keys; k++)
            have |= r->keys[k] == s->api_key;
        if (!have)
            r->keys[r->n_keys++] = s->api_key;
    }
    fz_seeds_free(&all);
    if (e == KW_ERR_OK && r->seeds.n == 0)
        e = kw_error_set(err, KW_ERR_NOT_FOUND,
                         "no request to fuzz: the selection has no API/version in common "
                         "with the broker%s",
                         r->o->corpus ? " and the corpus" : "");
    return e;
}

/* The versions a version mutation may pick for `key`: what the broker advertises, narrowed to
 * the first and last version --versions selects. */
static void
version_range(const fz_run *r, int16_t key, int16_t *lo, int16_t *hi)
{
    *lo = r->bv.min[key];
    *hi = r->bv.max[key];
    while (!r->o->any_ver && *lo < *hi && (*lo >= FZ_MAX_KEYS || !r->o->vers[*lo]))
        (*lo)++;
    while (!r->o->any_ver && *hi > *lo && (*hi >= FZ_MAX_KEYS || !r->o->vers[*hi]))
        (*hi)--;
}

/* Makes case i into buf (size prefix included); returns its length. */
static size_t
make_case(const fz_run *r, uint64_t i, uint8_t *buf, size_t cap, fz_case_info *ci)
{
    memset(ci, 0, sizeof(*ci));
    uint64_t cs = mix64(r->o->seed ^ mix64(i));
    const fz_seed *s = &r->seeds.v[mix64(cs ^ 0x5eed) % r->seeds.n];
    size_t len = s->len < cap ? s->len : cap;
    memcpy(buf, s->frame, len);
    /* A fresh correlation id per case; the mutator may still change it (a KW_MUT_HEADER
     * mutation), and the verdict then expects the id actually sent. */
    uint32_t corr = (uint32_t)(0x100000 + i % 0x3fe00000);
    buf[8] = (uint8_t)(corr >> 24);
    buf[9] = (uint8_t)(corr >> 16);
    buf[10] = (uint8_t)(corr >> 8);
    buf[11] = (uint8_t)corr;
    kw_mutate_opts mo;
    kw_mutate_opts_init(&mo);
    mo.api_keys = r->keys;
    mo.n_api_keys = r->n_keys;
    version_range(r, s->api_key, &mo.min_version, &mo.max_version);
    kw_mutate_info info;
    memset(&info, 0, sizeof(info));
    size_t n =
        4 + kw_mutate_frame(buf + 4, len - 4, cap - 4, (uint32_t)(cs ^ (cs >> 32)), &mo, &info);
    uint32_t body = (uint32_t)(n - 4);
    buf[0] = (uint8_t)(body >> 24);
    buf[1] = (uint8_t)(body >> 16);
    buf[2] = (uint8_t)(body >> 8);
    buf[3] = (uint8_t)body;
    ci->seed = r->o->seed;
    ci->index = i;
    ci->case_seed = cs;
    ci->api_key = n >= 8 ? (int16_t)(buf[4] << 8 | buf[5]) : s->api_key;
    ci->api_version = n >= 8 ? (int16_t)(buf[6] << 8 | buf[7]) : s->api_version;
    snprintf(ci->mutation, sizeof(ci->mutation), "from %s v%d: %s", fz_api_name(s->api_key),
             (int)s->api_version, info.desc);
    return n;
}

static size_t
case_cap(const fz_run *r)
{
    size_t m = 0;
    for (size_t i = 0; i < r->seeds.n; i++)
        m = r->seeds.v[i].len > m ? r->seeds.v[i].len : m;
    m = m * 2 + 4096; /* room for mutations that grow the frame */
    return m > FZ_MAX_REQUEST ? FZ_MAX_REQUEST : m;
}

static uint64_t
fnv1a64(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* ---- modes --------------------------------------------------------------------------------- */

static int
run_dump(fz_run *r)
{
    for (int k = 0; k < FZ_MAX_KEYS; k++) {
        const kw_msgdef *d = kw_msgdef_by_key((int16_t)k, false);
        r->bv.min[k] = d ? d->min_ver : -1;
        r->bv.max[k] = d ? d->max_ver : -1;
    }
    kw_error err;
    kw_error_init(&err);
    if (build_seeds(r, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire fuzz: %s\n", err.msg);
        return 2;
    }
    size_t cap = case_cap(r);
    uint8_t *buf = malloc(cap);
    if (!buf)
        return 2;
    uint64_t n = r->o->cases ? r->o->cases : 100;
    for (uint64_t i = 0; i < n; i++) {
        fz_case_info ci;
        size_t len = make_case(r, i, buf, cap, &ci);
        printf("case %llu %s v%d %zu bytes %016llx %s\n", (unsigned long long)i,
               fz_api_name(ci.api_key), (int)ci.api_version, len,
               (unsigned long long)fnv1a64(buf, len), ci.mutation);
        char path[4096];
        if (r->o->out_set && fz_repro_save(r->o->out, &ci, buf, len, path, sizeof(path), &err)) {
            fprintf(stderr, "kwire fuzz: %s\n", err.msg);
            free(buf);
            return 2;
        }
    }
    free(buf);
    return 0;
}

static int
run_replay(fz_opts *o, fz_net *net)
{
    fz_case_info ci;
    uint8_t *data = NULL;
    size_t len = 0;
    kw_error err;
    kw_error_init(&err);
    if (fz_repro_load(o->replay, &ci, &data, &len, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire fuzz: %s\n", err.msg);
        return 2;
    }
    fz_exec x = {.net = net, .timeout_ms = o->timeout_ms};
    fz_link_init(&x.link);
    if (fz_link_open(&x.link, net, NULL, fz_now_ms() + o->timeout_ms, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire fuzz: cannot connect to %s: %s\n", o->broker, err.msg);
        fz_link_fini(&x.link);
        free(data);
        return 2;
    }
    fprintf(stderr, "kwire fuzz: replaying %s (%zu bytes, fnv1a64 %016llx; recorded: %s%s%s)\n",
            o->replay, len, (unsigned long long)fnv1a64(data, len), fz_kind_name(ci.kind),
            ci.detail[0] ? ": " : "", ci.detail);
    /* The file is a stream of size-prefixed frames: one in a .bin, the cases before a crash
     * in a .seq. Each is sent exactly as stored, followed by the liveness probe. */
    fz_verdict v;
    memset(&v, 0, sizeof(v));
    size_t off = 0, n = 0;
    while (off < len && v.kind == FZ_OK) {
        size_t rest = len - off, flen = rest;
        if (rest >= 4) {
            uint32_t sz = (uint32_t)data[off] << 24 | (uint32_t)data[off + 1] << 16 |
                          (uint32_t)data[off + 2] << 8 | data[off + 3];
            if (sz <= rest - 4)
                flen = 4 + (size_t)sz;
        }
        int16_t key = flen >= 8 ? (int16_t)(data[off + 4] << 8 | data[off + 5]) : -1;
        int16_t ver = flen >= 8 ? (int16_t)(data[off + 6] << 8 | data[off + 7]) : -1;
        fz_exec_case(&x, data + off, flen, &v);
        n++;
        fprintf(stderr, "kwire fuzz: frame %zu: %s v%d, %zu bytes, fnv1a64 %016llx: %s%s%s\n", n,
                fz_api_name(key), (int)ver, flen, (unsigned long long)fnv1a64(data + off, flen),
                fz_kind_name(v.kind), v.detail[0] ? ": " : "", v.detail);
        if (v.response[0])
            fprintf(stderr, "kwire fuzz: response: %s\n", v.response);
        off += flen;
    }
    fprintf(stderr, "kwire fuzz: result: %s after %zu of %s frames\n", fz_kind_name(v.kind), n,
            off < len ? "more" : "all");
    fz_link_fini(&x.link);
    free(data);
    return v.kind == FZ_OK ? 0 : 1;
}

/* Keeps a copy of the case just sent. */
static void
remember(fz_run *r, const uint8_t *buf, size_t len)
{
    size_t slot = (r->hist_at + r->hist_n) % HISTORY;
    if (r->hist_n == HISTORY) {
        slot = r->hist_at;
        r->hist_at = (r->hist_at + 1) % HISTORY;
    } else {
        r->hist_n++;
    }
    uint8_t *p = realloc(r->hist[slot], len ? len : 1);
    if (!p) {
        r->hist_len[slot] = 0;
        return;
    }
    memcpy(p, buf, len);
    r->hist[slot] = p;
    r->hist_len[slot] = len;
}

/* Writes the remembered cases, oldest first, as one .seq file next to the crash reproducer. */
static void
save_history(fz_run *r, fz_case_info *ci)
{
    char name[64], path[4096];
    snprintf(name, sizeof(name), "case-%08llu-%s.seq", (unsigned long long)ci->index,
             fz_kind_name(ci->kind));
    snprintf(path, sizeof(path), "%s/%s", r->o->out, name);
    FILE *f = fopen(path, "wb");
    bool ok = f != NULL;
    for (size_t k = 0; ok && k < r->hist_n; k++) {
        size_t slot = (r->hist_at + k) % HISTORY;
        ok = fwrite(r->hist[slot], 1, r->hist_len[slot], f) == r->hist_len[slot];
    }
    if (f && fclose(f) != 0)
        ok = false;
    if (ok)
        snprintf(ci->sequence, sizeof(ci->sequence), "%s (the last %zu cases, this one last)", name,
                 r->hist_n);
}

static void
report(fz_run *r, fz_case_info *ci, const uint8_t *buf, size_t len)
{
    char path[4096] = "(not saved)";
    kw_error err;
    kw_error_init(&err);
    if (ci->kind == FZ_CRASH) {
        if (fz_out_dir(r->o->out, &err) == KW_ERR_OK)
            save_history(r, ci);
    }
    if (r->saved < MAX_SAVED &&
        fz_repro_save(r->o->out, ci, buf, len, path, sizeof(path), &err) != KW_ERR_OK)
        snprintf(path, sizeof(path), "(not saved: %s)", err.msg);
    else if (r->saved < MAX_SAVED)
        r->saved++;
    fprintf(stderr, "%skwire fuzz: case %llu %s v%d: %s: %s\n  mutation: %s\n  reproducer: %s\n",
            isatty(2) ? "\r\033[K" : "", (unsigned long long)ci->index, fz_api_name(ci->api_key),
            (int)ci->api_version, fz_kind_name(ci->kind), ci->detail, ci->mutation, path);
    if (ci->sequence[0])
        fprintf(stderr, "  with the cases before it: %s/%s\n", r->o->out, ci->sequence);
}

static void
summary(const fz_run *r, const fz_exec *x, double secs)
{
    uint64_t total = r->found[FZ_CRASH] + r->found[FZ_HANG] + r->found[FZ_VIOLATION];
    fprintf(stderr, "%skwire fuzz: seed %llu: %llu cases in %.1f s (%.0f/s) against %s\n",
            isatty(2) ? "\r\033[K" : "", (unsigned long long)r->o->seed,
            (unsigned long long)r->done, secs, secs > 0 ? (double)r->done / secs : 0.0,
            r->o->broker);
    fprintf(stderr,
            "kwire fuzz: %llu findings (crash %llu, hang %llu, violation %llu); %llu "
            "inconclusive; %llu reconnections\n",
            (unsigned long long)total, (unsigned long long)r->found[FZ_CRASH],
            (unsigned long long)r->found[FZ_HANG], (unsigned long long)r->found[FZ_VIOLATION],
            (unsigned long long)x->inconclusive, (unsigned long long)x->reconnects);
    fprintf(stderr, "kwire fuzz: cases per API:");
    for (int k = 0; k < FZ_MAX_KEYS; k++)
        if (r->per_api[k])
            fprintf(stderr, " %s %llu", fz_api_name((int16_t)k), (unsigned long long)r->per_api[k]);
    fprintf(stderr, "\n");
}

static int
run_fuzz(fz_run *r, fz_net *net)
{
    fz_opts *o = r->o;
    kw_error err;
    kw_error_init(&err);
    fz_exec x = {.net = net, .timeout_ms = o->timeout_ms};
    fz_link_init(&x.link);
    if (fz_link_open(&x.link, net, &r->bv, fz_now_ms() + o->timeout_ms, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire fuzz: cannot connect to %s: %s\n", o->broker, err.msg);
        fz_link_fini(&x.link);
        return 2;
    }
    if (build_seeds(r, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire fuzz: %s\n", err.msg);
        fz_link_fini(&x.link);
        return 2;
    }
    size_t cap = case_cap(r);
    uint8_t *buf = malloc(cap);
    int64_t start = fz_now_ms(), last = start;
    bool tty = isatty(2);
    for (uint64_t i = 0; buf && !stop_flag && (!o->cases || i < o->cases); i++) {
        int64_t now = fz_now_ms();
        if (o->duration > 0 && (double)(now - start) >= o->duration * 1000)
            break;
        if (tty && now - last >= 1000) {
            last = now;
            fprintf(stderr, "\rkwire fuzz: %llu cases, %.0f/s, %llu findings",
                    (unsigned long long)i, (double)i * 1000 / (double)(now - start + 1),
                    (unsigned long long)(r->found[1] + r->found[2] + r->found[3]));
        }
        fz_case_info ci;
        size_t len = make_case(r, i, buf, cap, &ci);
        remember(r, buf, len);
        fz_verdict v;
        fz_exec_case(&x, buf, len, &v);
        r->done++;
        if (ci.api_key >= 0 && ci.api_key < FZ_MAX_KEYS)
            r->per_api[ci.api_key]++;
        if (v.kind == FZ_OK)
            continue;
        r->found[v.kind]++;
        ci.kind = v.kind;
        snprintf(ci.detail, sizeof(ci.detail), "%s", v.detail);
        memcpy(ci.response, v.response, sizeof(ci.response));
        report(r, &ci, buf, len);
        if (v.kind == FZ_CRASH)
            break; /* nothing left to fuzz */
    }
    summary(r, &x, (double)(fz_now_ms() - start) / 1000);
    free(buf);
    fz_link_fini(&x.link);
    if (!buf)
        return 2;
    return r->found[FZ_CRASH] + r->found[FZ_HANG] + r->found[FZ_VIOLATION] ? 1 : 0;
}

int
cmd_fuzz(int argc, char **argv)
{
    fz_opts o;
    memset(&o, 0, sizeof(o));
    o.any_api = o.any_ver = true;
    o.timeout_ms = 5000;
    o.out = "kwire-fuzz-out";
    o.seed = (uint64_t)time(NULL);
    if (kw_conf_new(NULL, &o.conf) != KW_ERR_OK) {
        fprintf(stderr, "kwire fuzz: out of memory\n");
        return 2;
    }
    int rc = parse_args(argc, argv, &o);
    fz_run *r = calloc(1, sizeof(*r));
    fz_net net;
    memset(&net, 0, sizeof(net));
    kw_error err;
    kw_error_init(&err);
    if (rc == 0 && !r)
        rc = 2;
    if (rc == 0 && !o.dump && fz_net_init(&net, o.broker, o.conf, &err) != KW_ERR_OK) {
        fprintf(stderr, "kwire fuzz: %s\n", err.msg);
        rc = 2;
    }
    if (rc == 0) {
        r->o = &o;
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
        signal(SIGPIPE, SIG_IGN);
        if (o.dump)
            rc = run_dump(r);
        else if (o.replay)
            rc = run_replay(&o, &net);
        else
            rc = run_fuzz(r, &net);
    }
    for (size_t k = 0; r && k < HISTORY; k++)
        free(r->hist[k]);
    if (r)
        fz_seeds_free(&r->seeds);
    free(r);
    fz_net_fini(&net);
    kw_conf_free(o.conf);
    return rc < 0 ? 0 : rc;
}
