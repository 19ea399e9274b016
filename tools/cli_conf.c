/* Shared option handling of the kwire subcommands (cli_conf.h). */
#include "cli_conf.h"

#include <string.h>

static bool
set(kw_conf *conf, const char *cmd, const char *key, const char *val)
{
    kw_error err;
    kw_error_init(&err);
    if (kw_conf_set(conf, key, val, &err) == KW_ERR_OK)
        return true;
    fprintf(stderr, "kwire %s: %s\n", cmd, err.msg);
    return false;
}

/* Splits "key=value" (blanks around both trimmed) and hands the pair to fn. */
static bool
split_kv(const char *cmd, const char *kv, const char *where, kwt_kv_fn fn, void *ud)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        fprintf(stderr, "kwire %s: %s wants key=value, got '%s'\n", cmd, where, kv);
        return false;
    }
    char key[256];
    size_t kl = (size_t)(eq - kv);
    while (kl > 0 && (kv[kl - 1] == ' ' || kv[kl - 1] == '\t'))
        kl--;
    if (kl >= sizeof(key)) {
        fprintf(stderr, "kwire %s: %s: key too long\n", cmd, where);
        return false;
    }
    memcpy(key, kv, kl);
    key[kl] = '\0';
    const char *v = eq + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    return fn(ud, cmd, key, v);
}

bool
kwt_cli_kv(const char *cmd, const char *kv, kwt_kv_fn fn, void *ud)
{
    return split_kv(cmd, kv, "-X", fn, ud);
}

bool
kwt_cli_props_file(const char *cmd, const char *path, kwt_kv_fn fn, void *ud)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "kwire %s: -F %s: cannot open it\n", cmd, path);
        return false;
    }
    char line[4096];
    int no = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof(line), f)) {
        no++;
        size_t n = strlen(line);
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
            line[--n] = '\0';
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#' || *p == '!')
            continue;
        char where[300];
        snprintf(where, sizeof(where), "-F %s line %d", path, no);
        ok = split_kv(cmd, p, where, fn, ud);
    }
    fclose(f);
    return ok;
}

static bool
set_fn(void *conf, const char *cmd, const char *key, const char *val)
{
    return set(conf, cmd, key, val);
}

bool
kwt_cli_conf_opt(kw_conf *conf, const char *cmd, char opt, const char *val)
{
    switch (opt) {
    case 'b':
        return set(conf, cmd, "bootstrap.servers", val);
    case 'X':
        return kwt_cli_kv(cmd, val, set_fn, conf);
    case 'F':
        return kwt_cli_props_file(cmd, val, set_fn, conf);
    default:
        return false;
    }
}

bool
kwt_cli_have_bootstrap(const kw_conf *conf)
{
    char buf[8];
    size_t len = sizeof(buf);
    kw_err e = kw_conf_get(conf, "bootstrap.servers", buf, &len);
    return (e == KW_ERR_OK || e == KW_ERR_NOSPACE) && len > 1;
}

void
kwt_json_str(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}
