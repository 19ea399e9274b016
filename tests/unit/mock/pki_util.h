/* A throwaway PKI made with the openssl command line, for the TLS listener tests: a CA, a
 * server certificate for 127.0.0.1 and localhost, a client certificate from the same CA, and a
 * client certificate from a second CA nobody trusts. EC P-256 keys (RSA generation would
 * dominate the run time). */
#ifndef KW_TEST_PKI_UTIL_H
#define KW_TEST_PKI_UTIL_H

#include <stdbool.h>

/* Makes the PKI in a new temporary directory; false (with the reason on stderr) when the
 * openssl command is missing or fails. */
bool pki_make(void);
/* Removes the directory (unless KWT_KEEP_PKI is set). */
void pki_remove(void);
/* The path of a file in the directory: ca.pem, server.pem, server.key, client.pem,
 * client.key, rogue.pem, rogue.key. A few rotating buffers. */
const char *pki_path(const char *name);

/* Runs argv (argv[0] looked up on PATH) with stdin from `in` (NULL = /dev/null) and stdout and
 * stderr into `out` (NULL = discarded); returns the exit status, -1 if it could not run, or
 * -2 if it ran longer than timeout_s seconds (it is then killed). */
int pki_run(const char *const argv[], const char *in, const char *out, int timeout_s);

#endif
