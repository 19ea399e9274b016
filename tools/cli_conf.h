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
/* Whether bootstrap.servers is set (by -b, -X or -F). */
bool kwt_cli_have_bootstrap(const kw_conf *conf);
/* Writes s as a JSON string (quoted, escaped); NULL as null. */
void kwt_json_str(FILE *f, const char *s);

#endif
