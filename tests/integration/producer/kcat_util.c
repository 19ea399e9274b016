/* See kcat_util.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kcat_util.h"
#include "rdk_launch.h"

bool
kcat_available(const char **why)
{
    if (system("command -v kcat >/dev/null 2>&1") != 0) {
        *why = "kcat is not installed (apt-get install kcat)";
        return false;
    }
    if (system("command -v timeout >/dev/null 2>&1") != 0) {
        *why = "timeout (coreutils) is missing";
        return false;
    }
    return true;
}

void
kcat_require(void)
{
    kwt_rdk_require();
    const char *why;
    if (!kcat_available(&why)) {
        fprintf(stderr, "SKIP: %s\n", why);
        printf("SKIP: %s\n", why);
        exit(77);
    }
}

static char *
field(char **cur)
{
    char *s = *cur, *bar = strchr(s, '|');
    if (bar) {
        *bar = '\0';
        *cur = bar + 1;
    } else {
        *cur = s + strlen(s);
    }
    return strdup(s);
}

/* Runs `cmd` and parses its lines; returns its exit status. */
static int
consume_cmd(const char *cmd, kcat_recs *out)
{
    memset(out, 0, sizeof(*out));
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    size_t cap = 1 << 16;
    char *line = malloc(cap);
    while (fgets(line, (int)cap, f)) {
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n') /* (not ck_assert: it costs a write per line) */
            ck_abort_msg("a line longer than %zu", cap);
        line[len - 1] = '\0';
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 1024;
            out->v = realloc(out->v, out->cap * sizeof(*out->v));
        }
        kcat_rec *r = &out->v[out->n++];
        char *cur = line, *s;
        s = field(&cur);
        r->partition = atoi(s);
        free(s);
        s = field(&cur);
        r->offset = atoll(s);
        free(s);
        s = field(&cur);
        r->ts = atoll(s);
        free(s);
        r->key = field(&cur);
        r->value = field(&cur);
        r->headers = field(&cur);
    }
    free(line);
    return pclose(f);
}

void
kcat_consume(const char *bootstrap, const char *topic, kcat_recs *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "timeout 120 kcat -C -b '%s' -t '%s' -o beginning -e -q -Z -X check.crcs=true "
             "-X fetch.wait.max.ms=20 "
             "-f '%%p|%%o|%%T|%%k|%%s|%%h\\n'",
             bootstrap, topic);
    int rc = consume_cmd(cmd, out);
    ck_assert_msg(rc == 0, "kcat failed (status %d): %s", rc, cmd);
}

bool
kpy_available(void)
{
    return system("/usr/bin/python3 -c 'import kafka' >/dev/null 2>&1") == 0;
}

bool
kpy_consume(const char *bootstrap, const char *topic, kcat_recs *out)
{
    const char *src = getenv("KW_SRC_DIR");
    ck_assert_ptr_nonnull(src);
    char cmd[4096];
    snprintf(cmd, sizeof(cmd),
             "timeout 120 /usr/bin/python3 '%s/tests/integration/producer/kafka_python_read.py' "
             "'%s' '%s'",
             src, bootstrap, topic);
    int rc = consume_cmd(cmd, out);
    if (WIFEXITED(rc) && WEXITSTATUS(rc) == 3)
        return false;
    ck_assert_msg(rc == 0, "kafka-python failed (status %d): %s", rc, cmd);
    return true;
}

void
kcat_recs_fini(kcat_recs *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->v[i].key);
        free(r->v[i].value);
        free(r->v[i].headers);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

void
kcat_produce_keyed(const char *bootstrap, const char *topic, const char *const *keys, size_t n)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd),
             "timeout 60 kcat -P -b '%s' -t '%s' -K: -X partitioner=murmur2_random -q", bootstrap,
             topic);
    FILE *f = popen(cmd, "w");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s:value-of-%s\n", keys[i], keys[i]);
    ck_assert_int_eq(pclose(f), 0);
}
