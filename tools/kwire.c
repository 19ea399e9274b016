/* kwire: the command-line tool. */
#include <stdio.h>
#include <string.h>

#include "cmd_consume.h"
#include "cmd_demo.h"
#include "cmd_fuzz.h"
#include "cmd_groups.h"
#include "cmd_metadata.h"
#include "cmd_mock.h"
#include "cmd_produce.h"
#include "kw_config.h"
#include "kwire/proto.h"

static void
usage(FILE *f)
{
    fprintf(f, "usage: kwire --version | --help\n"
               "       kwire COMMAND [options]      (kwire COMMAND --help for its options)\n"
               "  --version   print the version and the features built in\n"
               "  apis        list every API and version range the codec covers\n"
               "  metadata    print a cluster's brokers, topics and partition leaders\n"
               "  mock        run a kwire-mock test cluster (kwire mock --help)\n"
               "  produce     produce messages read from stdin (kwire produce --help)\n"
               "  consume     print messages, alone or in a group (kwire consume --help)\n"
               "  bench       benchmark the producer or the consumer (kwire bench produce --help)\n"
               "  fuzz        fuzz a Kafka broker over a real connection (kwire fuzz --help)\n"
               "  topics      create, delete, describe, list topics (kwire topics --help)\n"
               "  groups      list, describe groups and their lag (kwire groups --help)\n"
               "  demo        the event bus quick start on an embedded broker (kwire demo)\n"
               "  dlq         list, count, replay an event bus DLQ (kwire dlq --help)\n");
}

static int
cmd_apis(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        printf("usage: kwire apis\n"
               "  every Kafka API with the version range kwire's codec covers and its first\n"
               "  flexible version\n");
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "kwire apis: unexpected argument '%s' (kwire apis takes none)\n", argv[1]);
        return 2;
    }
    const kw_msgdef *d;
    for (size_t i = 0; (d = kw_msgdef_at(i)); i++) {
        if (d->response)
            continue;
        printf("%-34s key %3d  v%d-%d", d->name, d->api_key, d->min_ver, d->max_ver);
        if (d->flex_ver >= 0)
            printf("  flexible v%d+", d->flex_ver);
        printf("\n");
    }
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "kwire: no command given (kwire --help lists them)\n");
        return 2;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("kwire %s (zlib %s, lz4 %s, zstd %s, snappy %s, tls %s, sasl-gssapi %s)\n",
               KW_VERSION, KW_HAVE_ZLIB ? "yes" : "no", KW_HAVE_LZ4 ? "yes" : "no",
               KW_HAVE_ZSTD ? "yes" : "no", KW_HAVE_SNAPPY ? "yes" : "no",
               KW_HAVE_TLS ? "yes" : "no", KW_HAVE_SASL_GSSAPI ? "yes" : "no");
        return 0;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "apis") == 0)
        return cmd_apis(argc - 1, argv + 1);
    if (strcmp(argv[1], "metadata") == 0)
        return cmd_metadata(argc - 1, argv + 1);
    if (strcmp(argv[1], "mock") == 0)
        return cmd_mock(argc - 1, argv + 1);
    if (strcmp(argv[1], "produce") == 0)
        return cmd_produce(argc - 1, argv + 1);
    if (strcmp(argv[1], "topics") == 0)
        return cmd_topics(argc - 1, argv + 1);
    if (strcmp(argv[1], "groups") == 0)
        return cmd_groups(argc - 1, argv + 1);
    if (strcmp(argv[1], "consume") == 0)
        return cmd_consume(argc - 1, argv + 1);
    if (strcmp(argv[1], "bench") == 0)
        return cmd_bench(argc - 1, argv + 1);
    if (strcmp(argv[1], "fuzz") == 0)
        return cmd_fuzz(argc - 1, argv + 1);
    if (strcmp(argv[1], "demo") == 0)
        return cmd_demo(argc - 1, argv + 1);
    if (strcmp(argv[1], "dlq") == 0)
        return cmd_dlq(argc - 1, argv + 1);
    fprintf(stderr, "kwire: unknown command '%s' (try kwire --help)\n", argv[1]);
    return 2;
}
