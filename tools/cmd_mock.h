/* kwire mock: the standalone test broker subcommand. */
#ifndef KW_TOOLS_CMD_MOCK_H
#define KW_TOOLS_CMD_MOCK_H

/* argv[0] is "mock"; returns the process exit status. */
int cmd_mock(int argc, char **argv);

#endif
