/* rdk_mock: librdkafka's mock Kafka cluster (an independent broker implementation, Debian's
 * librdkafka-dev) as a standalone process that tests drive through stdin/stdout.
 *
 *   rdk_mock [BROKERS]   prints the bootstrap list on its first line, then reads commands.
 *
 * Commands, one per line; each answers one line, "ok" or "error <why>":
 *   create TOPIC PARTITIONS REPLICAS
 *   down BROKER | up BROKER | rtt BROKER MS
 *   leader TOPIC PARTITION BROKER
 *   topicerror TOPIC ERRCODE          Metadata reports ERRCODE for TOPIC (0 clears)
 *   error APIKEY COUNT ERRCODE...     the next COUNT requests of APIKEY fail with ERRCODEs
 *   apiversion APIKEY MIN MAX         cap what the cluster advertises
 *   quit                              (EOF and SIGTERM also stop it)
 *
 * The cluster runs on librdkafka's own threads; this process only relays commands. It exits
 * when its parent dies (PR_SET_PDEATHSIG), so a crashed test never leaves a broker behind. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

static rd_kafka_resp_err_t
push_errors(rd_kafka_mock_cluster_t *mc, const char *line)
{
    int key = 0, cnt = 0, off = 0, code;
    rd_kafka_resp_err_t errs[64];
    if (sscanf(line, "error %d %d%n", &key, &cnt, &off) != 2 || cnt < 1 || cnt > 64)
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    const char *p = line + off;
    int n = 0, used;
    while (n < cnt && sscanf(p, "%d%n", &code, &used) == 1) {
        errs[n++] = (rd_kafka_resp_err_t)code;
        p += used;
    }
    if (n == 0)
        return RD_KAFKA_RESP_ERR__INVALID_ARG;
    while (n < cnt) {
        errs[n] = errs[n - 1];
        n++;
    }
    rd_kafka_mock_push_request_errors_array(mc, (int16_t)key, (size_t)n, errs);
    return RD_KAFKA_RESP_ERR_NO_ERROR;
}

static rd_kafka_resp_err_t
run(rd_kafka_mock_cluster_t *mc, const char *line)
{
    char a[256];
    int x = 0, y = 0, z = 0;
    if (sscanf(line, "create %255s %d %d", a, &x, &y) == 3)
        return rd_kafka_mock_topic_create(mc, a, x, y);
    if (sscanf(line, "down %d", &x) == 1)
        return rd_kafka_mock_broker_set_down(mc, x);
    if (sscanf(line, "up %d", &x) == 1)
        return rd_kafka_mock_broker_set_up(mc, x);
    if (sscanf(line, "rtt %d %d", &x, &y) == 2)
        return rd_kafka_mock_broker_set_rtt(mc, x, y);
    if (sscanf(line, "leader %255s %d %d", a, &x, &y) == 3)
        return rd_kafka_mock_partition_set_leader(mc, a, x, y);
    if (sscanf(line, "topicerror %255s %d", a, &x) == 2) {
        rd_kafka_mock_topic_set_error(mc, a, (rd_kafka_resp_err_t)x);
        return RD_KAFKA_RESP_ERR_NO_ERROR;
    }
    if (sscanf(line, "apiversion %d %d %d", &x, &y, &z) == 3)
        return rd_kafka_mock_set_apiversion(mc, (int16_t)x, (int16_t)y, (int16_t)z);
    if (strncmp(line, "error ", 6) == 0)
        return push_errors(mc, line);
    return RD_KAFKA_RESP_ERR__INVALID_ARG;
}

int
main(int argc, char **argv)
{
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() == 1)
        return 1; /* the parent is already gone */
    int n = argc > 1 ? atoi(argv[1]) : 1;
    char errstr[512], line[1024];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (!rk) {
        fprintf(stderr, "rd_kafka_new: %s\n", errstr);
        return 1;
    }
    rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, n);
    if (!mc) {
        fprintf(stderr, "rd_kafka_mock_cluster_new failed\n");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
    fflush(stdout);
    while (fgets(line, sizeof(line), stdin)) {
        if (strncmp(line, "quit", 4) == 0)
            break;
        rd_kafka_resp_err_t err = run(mc, line);
        if (err)
            printf("error %s\n", rd_kafka_err2str(err));
        else
            printf("ok\n");
        fflush(stdout);
    }
    rd_kafka_mock_cluster_destroy(mc);
    rd_kafka_destroy(rk);
    return 0;
}
