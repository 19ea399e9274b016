/* kwire mock: security options (TLS, SASL), release emulation, and the stdin control channel. */
#ifndef KW_TOOLS_CMD_MOCK_EXT_H
#define KW_TOOLS_CMD_MOCK_EXT_H

#include <stdbool.h>
#include <stdio.h>

#include "kwire/mock.h"

#define CMD_MOCK_MAX_SASL 64

typedef struct cmd_mock_ext {
    const char *tls_cert, *tls_key, *tls_key_password, *tls_client_ca, *tls_client_auth;
    const char *sasl[CMD_MOCK_MAX_SASL]; /* MECH:USER:PASSWORD, as given */
    int n_sasl;
    long long sasl_lifetime_ms;
    const char *emulate;
    /* stdin, read by the serving loop */
    int in_fd; /* -1 after EOF */
    char line[4096];
    size_t len;
    bool overlong;
} cmd_mock_ext;

/* The flags handled here (each takes a value) and their help lines. */
bool cmd_mock_ext_is_option(const char *flag);
/* Stores one option; 0, or -1 after printing the problem. */
int cmd_mock_ext_option(cmd_mock_ext *x, const char *flag, const char *val);
void cmd_mock_ext_usage(FILE *f);
/* Applies TLS, SASL users and emulation to a new cluster; 0, or -1 after printing. */
int cmd_mock_ext_apply(cmd_mock_ext *x, kw_mock *m);
/* Reads what stdin has, runs each complete line with kw_mock_command and prints its answer on
 * stdout. Returns 1 for "quit", 0 otherwise; at EOF, in_fd becomes -1 and serving goes on. */
int cmd_mock_ext_stdin(cmd_mock_ext *x, kw_mock *m);

#endif
