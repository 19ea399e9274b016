/* kwire demo (cmd_demo.c) and kwire dlq (cmd_dlq.c). */
#ifndef KW_TOOLS_CMD_DEMO_H
#define KW_TOOLS_CMD_DEMO_H

/* argv[0] is "demo"; returns the process exit status. */
int cmd_demo(int argc, char **argv);

/* argv[0] is "dlq"; returns the process exit status. */
int cmd_dlq(int argc, char **argv);

#endif
