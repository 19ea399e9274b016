/* kwire mock: the TLS, SASL and emulation options, and the control channel on stdin.
 *
 * `--tls-cert F --tls-key F` makes every broker a TLS listener; `--tls-client-ca F` makes it
 * require client certificates issued by F (mutual TLS; `--tls-client-auth requested` makes
 * them optional). `--sasl MECH:USER:PASSWORD` (repeatable) adds a SASL user; with any, every
 * listener requires SASL (SASL_PLAINTEXT, or SASL_SSL with TLS). The password is everything
 * after the second ':', so it may contain ':'.
 *
 * The control channel: each line on stdin is one command (docs/mock.md, or "help"), answered
 * by one line on stdout, "ok ..." or "error: ...", flushed at once so a test can read it. EOF
 * on stdin stops only the reading; the broker serves until SIGTERM, SIGINT or "quit". */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_mock_ext.h"

static const char *const flags[] = {
    "--tls-cert",        "--tls-key", "--tls-key-password",         "--tls-client-ca",
    "--tls-client-auth", "--sasl",    "--sasl-session-lifetime-ms", "--emulate"};

bool
cmd_mock_ext_is_option(const char *flag)
{
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (strcmp(flag, flags[i]) == 0)
            return true;
    return false;
}

void
cmd_mock_ext_usage(FILE *f)
{
    fprintf(f, "  --tls-cert F            TLS listeners with this PEM certificate chain\n"
               "  --tls-key F             ... and this PEM private key\n"
               "  --tls-key-password P    ... which is encrypted with P\n"
               "  --tls-client-ca F       require client certificates issued by these CAs\n"
               "  --tls-client-auth M     required (default with a CA), requested or none\n"
               "  --sasl MECH:USER:PASS   a SASL user (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512);\n"
               "                          repeatable; any makes every listener require SASL\n"
               "  --sasl-session-lifetime-ms N  SASL session lifetime (re-authentication)\n"
               "  --emulate R             advertise the API versions of Kafka 2.8, 3.9 or 4.0\n"
               "Reads control commands on stdin, one a line, each answered on stdout by one line\n"
               "\"ok ...\" or \"error: ...\" (the command help lists them; docs/mock.md).\n");
}

int
cmd_mock_ext_option(cmd_mock_ext *x, const char *flag, const char *val)
{
    if (strcmp(flag, "--tls-cert") == 0) {
        x->tls_cert = val;
    } else if (strcmp(flag, "--tls-key") == 0) {
        x->tls_key = val;
    } else if (strcmp(flag, "--tls-key-password") == 0) {
        x->tls_key_password = val;
    } else if (strcmp(flag, "--tls-client-ca") == 0) {
        x->tls_client_ca = val;
    } else if (strcmp(flag, "--tls-client-auth") == 0) {
        if (strcmp(val, "required") && strcmp(val, "requested") && strcmp(val, "none")) {
            fprintf(stderr, "kwire mock: --tls-client-auth is required, requested or none\n");
            return -1;
        }
        x->tls_client_auth = val;
    } else if (strcmp(flag, "--sasl") == 0) {
        const char *a = strchr(val, ':');
        if (!a || !strchr(a + 1, ':')) {
            fprintf(stderr, "kwire mock: --sasl wants MECHANISM:USER:PASSWORD\n");
            return -1;
        }
        if (x->n_sasl == CMD_MOCK_MAX_SASL) {
            fprintf(stderr, "kwire mock: at most %d --sasl users\n", CMD_MOCK_MAX_SASL);
            return -1;
        }
        x->sasl[x->n_sasl++] = val;
    } else if (strcmp(flag, "--sasl-session-lifetime-ms") == 0) {
        char *end;
        errno = 0;
        x->sasl_lifetime_ms = strtoll(val, &end, 10);
        if (!*val || *end || errno || x->sasl_lifetime_ms < 0) {
            fprintf(stderr, "kwire mock: %s needs a number >= 0\n", flag);
            return -1;
        }
    } else if (strcmp(flag, "--emulate") == 0) {
        x->emulate = val;
    }
    return 0;
}

static int
apply_tls(cmd_mock_ext *x, kw_mock *m)
{
    if (!x->tls_cert && !x->tls_key && !x->tls_client_ca)
        return 0;
    if (!x->tls_cert || !x->tls_key) {
        fprintf(stderr, "kwire mock: TLS needs both --tls-cert and --tls-key\n");
        return -1;
    }
    kw_mock_tls_conf tc;
    kw_mock_tls_conf_init(&tc);
    tc.cert_file = x->tls_cert;
    tc.key_file = x->tls_key;
    tc.key_password = x->tls_key_password;
    tc.client_ca_file = x->tls_client_ca;
    const char *auth =
        x->tls_client_auth ? x->tls_client_auth : (x->tls_client_ca ? "required" : "none");
    tc.client_auth = strcmp(auth, "required") == 0    ? KW_MOCK_TLS_CLIENT_AUTH_REQUIRED
                     : strcmp(auth, "requested") == 0 ? KW_MOCK_TLS_CLIENT_AUTH_REQUESTED
                                                      : KW_MOCK_TLS_CLIENT_AUTH_NONE;
    kw_error err;
    kw_error_init(&err);
    if (kw_mock_tls_set(m, 0, &tc, &err)) {
        fprintf(stderr, "kwire mock: %s\n", err.msg);
        return -1;
    }
    return 0;
}

int
cmd_mock_ext_apply(cmd_mock_ext *x, kw_mock *m)
{
    x->in_fd = STDIN_FILENO;
    if (apply_tls(x, m))
        return -1;
    for (int i = 0; i < x->n_sasl; i++) {
        const char *a = strchr(x->sasl[i], ':'), *b = strchr(a + 1, ':');
        char mech[64], user[1100];
        snprintf(mech, sizeof(mech), "%.*s", (int)(a - x->sasl[i]), x->sasl[i]);
        snprintf(user, sizeof(user), "%.*s", (int)(b - a - 1), a + 1);
        kw_error err;
        kw_error_init(&err);
        if (kw_mock_sasl_user_add(m, mech, user, b + 1, &err)) {
            fprintf(stderr, "kwire mock: --sasl: %s\n", err.msg);
            return -1;
        }
    }
    if (x->sasl_lifetime_ms)
        kw_mock_sasl_session_lifetime_set(m, x->sasl_lifetime_ms);
    if (x->emulate && kw_mock_emulate(m, x->emulate)) {
        fprintf(stderr, "kwire mock: --emulate: unknown release %s (2.8, 3.9, 4.0)\n", x->emulate);
        return -1;
    }
    return 0;
}

/* Runs one line; 1 for quit. */
static int
run_line(kw_mock *m, const char *line)
{
    char out[1200];
    kw_err e = kw_mock_command(m, line, out, sizeof(out));
    printf("%s\n", out);
    fflush(stdout);
    return e == KW_ERR_CANCELED ? 1 : 0;
}

int
cmd_mock_ext_stdin(cmd_mock_ext *x, kw_mock *m)
{
    if (x->in_fd < 0)
        return 0;
    ssize_t n = read(x->in_fd, x->line + x->len, sizeof(x->line) - x->len);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        x->in_fd = -1; /* EOF (or an unreadable stdin): keep serving */
        return 0;
    }
    x->len += (size_t)n;
    for (;;) {
        char *nl = memchr(x->line, '\n', x->len);
        if (!nl) {
            if (x->len == sizeof(x->line)) { /* no newline in 4 KB: drop it, say so once */
                x->overlong = true;
                x->len = 0;
            }
            return 0;
        }
        *nl = '\0';
        int quit = 0;
        if (x->overlong) {
            printf("error: line longer than %zu bytes\n", sizeof(x->line) - 1);
            fflush(stdout);
            x->overlong = false;
        } else if (x->line[0] && x->line[0] != '#') {
            quit = run_line(m, x->line);
        }
        size_t used = (size_t)(nl + 1 - x->line);
        memmove(x->line, nl + 1, x->len - used);
        x->len -= used;
        if (quit)
            return 1;
    }
}
