/* kwire produce and kwire bench produce (cmd_produce.c). */
#ifndef KW_TOOLS_CMD_PRODUCE_H
#define KW_TOOLS_CMD_PRODUCE_H

/* argv[0] is "produce"; returns the process exit status. */
int cmd_produce(int argc, char **argv);

/* argv[0] is "bench", argv[1] "produce"; returns the process exit status. */
int cmd_bench(int argc, char **argv);

#endif
