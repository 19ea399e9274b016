/* kwire groups and kwire topics (cmd_groups.c, cmd_topics.c), and the loop they share. */
#ifndef KW_TOOLS_CMD_GROUPS_H
#define KW_TOOLS_CMD_GROUPS_H

#include "kwire/admin.h"

/* argv[0] is "groups" / "topics"; returns the process exit status. */
int cmd_groups(int argc, char **argv);
int cmd_topics(int argc, char **argv);

/* Starts the admin calls of a subcommand. */
typedef kw_err (*kwt_admin_start_fn)(kw_admin *ad, void *ctx, kw_error *err);

/* Creates the client (taking conf), checks within timeout_ms that the cluster answers, creates
 * an admin handle, runs start, steps the client on this thread until every call ended, frees
 * everything; returns *status (set by the callbacks), 1 when the cluster did not answer or a
 * call could not start, 2 when the client refused the configuration (the reason on stderr). */
int kwt_admin_run(const char *cmd, kw_conf *conf, int timeout_ms, kwt_admin_start_fn start,
                  void *ctx, int *status);

#endif
