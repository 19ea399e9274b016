/* Shared option handling of the kwire subcommands: -b BROKERS, -X key=value, -F properties
 * file (Java .properties style: key=value lines, # or ! comments), and JSON string output. */
#ifndef KW_TOOLS_CLI_CONF_H
#define KW_TOOLS_CLI_CONF_H

#include <stdbool.h>
#include <stdio.h>

#include "kwire/conf.h"

/* Applies -b, -X or -F (opt is 'b', 'X' or 'F') to conf; prints "kwire CMD: why" on stderr
 * and returns false on an error. */
bool kwt_cli_conf_opt(kw_conf *conf, const char *cmd, char opt, const char *val);
/* Receives one key=value pair of -X or of a properties file; prints "kwire CMD: why" and
 * returns false when it refuses it. */
typedef bool (*kwt_kv_fn)(void *ud, const char *cmd, const char *key, const char *val);
/* Splits -X's "key=value" (blanks around both trimmed) and calls fn. */
bool kwt_cli_kv(const char *cmd, const char *kv, kwt_kv_fn fn, void *ud);
/* Calls fn for every key=value line of a properties file (# and ! start comments). */
bool kwt_cli_props_file(const char *cmd, const char *path, kwt_kv_fn fn, void *ud);
/* Whether bootstrap.servers is set (by -b, -X or -F). */
bool kwt_cli_have_bootstrap(const kw_conf *conf);
/* Writes s as a JSON string (quoted, escaped); NULL as null. */
void kwt_json_str(FILE *f, const char *s);

#endif
