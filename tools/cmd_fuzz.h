/* kwire fuzz: fuzz a Kafka broker over a real connection (issue 10). */
#ifndef KW_TOOLS_CMD_FUZZ_H
#define KW_TOOLS_CMD_FUZZ_H

/* argv[0] is "fuzz"; returns the process exit status: 0 no findings, 1 findings, 2 usage or
 * connection error. */
int cmd_fuzz(int argc, char **argv);

#endif
