/* kwire metadata: the cluster metadata subcommand. */
#ifndef KW_TOOLS_CMD_METADATA_H
#define KW_TOOLS_CMD_METADATA_H

/* argv[0] is "metadata"; returns the process exit status. */
int cmd_metadata(int argc, char **argv);

#endif
