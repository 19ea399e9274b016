/* kwire mock: runs a kwire-mock cluster until SIGTERM or SIGINT.
 *
 * The first line on stdout is the bootstrap list (127.0.0.1:p1,127.0.0.1:p2,...), flushed at
 * once, so a test harness can start the broker and read where to connect. Logs go to stderr.
 * The process drives the cluster from its own poll loop (kw_mock_fd / kw_mock_timeout_ms /
 * kw_mock_step), with the termination signals delivered through a signalfd in the same loop, so
 * stopping is clean: every connection is closed and the exit status is 0. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cmd_mock.h"
#include "cmd_mock_ext.h"
#include "kwire/mock.h"

typedef struct opts {
    kw_mock_conf conf;
    int verbose;
    cmd_mock_ext ext; /* TLS, SASL, emulation, stdin control (cmd_mock_ext.c) */
} opts;

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: kwire mock [options]\n"
            "  --brokers N             brokers in the cluster (default 1, at most %d)\n"
            "  --port P                broker i listens on P+i-1 (default: ephemeral ports)\n"
            "  --partitions N          partitions of auto-created topics (default 1)\n"
            "  --replication-factor N  replication factor of auto-created topics (default 1)\n"
            "  --no-auto-create        do not create topics on Metadata or Produce\n"
            "  --retention-bytes N     log.retention.bytes per partition (default -1: none)\n"
            "  --log-append-time       stamp batches with the broker's time (LogAppendTime)\n"
            "  --cluster-id ID         the cluster id (default: random)\n"
            "  -v, --verbose           log connections and topics to stderr; twice: requests\n",
            KW_MOCK_MAX_BROKERS);
    cmd_mock_ext_usage(f);
    fprintf(f, "Prints the bootstrap list as its first line, then serves until SIGTERM or SIGINT\n"
               "(or the command quit).\n");
}

static int
parse_ll(const char *flag, const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = s ? strtoll(s, &end, 10) : 0;
    if (!s || !*s || errno || *end || v < min || v > max) {
        fprintf(stderr, "kwire mock: %s needs a number in %lld..%lld\n", flag, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* One option: the flag, whether it takes a value, and what it sets. New flags (TLS, SASL)
 * are one more entry. */
typedef int (*opt_fn)(opts *o, const char *flag, const char *val);

static int
o_brokers(opts *o, const char *flag, const char *val)
{
    long long v;
    if (parse_ll(flag, val, 1, KW_MOCK_MAX_BROKERS, &v))
        return -1;
    o->conf.brokers = (int32_t)v;
    return 0;
}

static int
o_port(opts *o, const char *flag, const char *val)
{
    long long v;
    if (parse_ll(flag, val, 1, 65535, &v))
        return -1;
    o->conf.port = (int32_t)v;
    return 0;
}

static int
o_partitions(opts *o, const char *flag, const char *val)
{
    long long v;
    if (parse_ll(flag, val, 1, INT32_MAX, &v))
        return -1;
    o->conf.default_partitions = (int32_t)v;
    return 0;
}

static int
o_rf(opts *o, const char *flag, const char *val)
{
    long long v;
    if (parse_ll(flag, val, 1, KW_MOCK_MAX_BROKERS, &v))
        return -1;
    o->conf.default_replication_factor = (int16_t)v;
    return 0;
}

static int
o_no_auto_create(opts *o, const char *flag, const char *val)
{
    (void)flag;
    (void)val;
    o->conf.auto_create_topics = false;
    return 0;
}

static int
o_retention_bytes(opts *o, const char *flag, const char *val)
{
    long long v;
    if (parse_ll(flag, val, -1, LLONG_MAX, &v))
        return -1;
    o->conf.retention_bytes = v;
    return 0;
}

static int
o_log_append_time(opts *o, const char *flag, const char *val)
{
    (void)flag;
    (void)val;
    o->conf.log_append_time = true;
    return 0;
}

static int
o_cluster_id(opts *o, const char *flag, const char *val)
{
    (void)flag;
    o->conf.cluster_id = val;
    return 0;
}

static int
o_verbose(opts *o, const char *flag, const char *val)
{
    (void)flag;
    (void)val;
    o->verbose++;
    return 0;
}

static const struct {
    const char *flag, *alias;
    int takes_value;
    opt_fn fn;
} options[] = {
    {"--brokers", NULL, 1, o_brokers},
    {"--port", NULL, 1, o_port},
    {"--partitions", NULL, 1, o_partitions},
    {"--replication-factor", NULL, 1, o_rf},
    {"--no-auto-create", NULL, 0, o_no_auto_create},
    {"--retention-bytes", NULL, 1, o_retention_bytes},
    {"--log-append-time", NULL, 0, o_log_append_time},
    {"--cluster-id", NULL, 1, o_cluster_id},
    {"--verbose", "-v", 0, o_verbose},
};

/* Returns 0, 1 for --help, or -1 after printing the problem. */
static int
parse(int argc, char **argv, opts *o)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        size_t k = 0, n = sizeof(options) / sizeof(options[0]);
        while (k < n && strcmp(a, options[k].flag) != 0 &&
               !(options[k].alias && strcmp(a, options[k].alias) == 0))
            k++;
        if (k == n && cmd_mock_ext_is_option(a)) {
            if (i + 1 >= argc) {
                fprintf(stderr, "kwire mock: %s needs a value\n", a);
                return -1;
            }
            if (cmd_mock_ext_option(&o->ext, a, argv[++i]))
                return -1;
            continue;
        }
        if (k == n) {
            fprintf(stderr, "kwire mock: unknown option '%s' (try kwire mock --help)\n", a);
            return -1;
        }
        const char *val = NULL;
        if (options[k].takes_value) {
            if (i + 1 >= argc) {
                fprintf(stderr, "kwire mock: %s needs a value\n", a);
                return -1;
            }
            val = argv[++i];
        }
        if (options[k].fn(o, options[k].flag, val))
            return -1;
    }
    if (o->conf.default_replication_factor > o->conf.brokers) {
        fprintf(stderr, "kwire mock: --replication-factor exceeds --brokers\n");
        return -1;
    }
    return 0;
}

static void
log_stderr(void *ud, int level, const char *msg)
{
    (void)ud;
    const char *tag = level <= KW_MOCK_LOG_ERR       ? "error"
                      : level <= KW_MOCK_LOG_WARNING ? "warning"
                      : level <= KW_MOCK_LOG_INFO    ? "info"
                                                     : "debug";
    fprintf(stderr, "kwire mock: %s: %s\n", tag, msg);
}

/* Serves until a termination signal; returns the exit status. */
static int
serve(kw_mock *m, int sfd, cmd_mock_ext *x)
{
    struct pollfd pfd[3] = {{sfd, POLLIN, 0}, {kw_mock_fd(m), POLLIN, 0}, {-1, POLLIN, 0}};
    for (;;) {
        pfd[2].fd = x->in_fd; /* control commands on stdin until EOF */
        int n = poll(pfd, 3, kw_mock_timeout_ms(m));
        if (n > 0 && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR)) && cmd_mock_ext_stdin(x, m))
            return 0;
        if (n < 0 && errno != EINTR) {
            fprintf(stderr, "kwire mock: poll: %s\n", strerror(errno));
            return 1;
        }
        if (n > 0 && (pfd[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                return 0;
        }
        kw_err e = kw_mock_step(m, 0);
        if (e) {
            fprintf(stderr, "kwire mock: %s\n", kw_err_str(e));
            return 1;
        }
    }
}

int
cmd_mock(int argc, char **argv)
{
    opts o;
    memset(&o, 0, sizeof(o));
    kw_mock_conf_init(&o.conf);
    int rc = parse(argc, argv, &o);
    if (rc) {
        if (rc > 0)
            usage(stdout);
        return rc > 0 ? 0 : 2;
    }
    if (o.verbose) {
        o.conf.log = log_stderr;
        o.conf.log_level = o.verbose > 1 ? KW_MOCK_LOG_DEBUG : KW_MOCK_LOG_INFO;
    }
    /* Termination signals arrive through a signalfd, read in the serving loop. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0) {
        perror("kwire mock: sigprocmask");
        return 1;
    }
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    if (sfd < 0) {
        perror("kwire mock: signalfd");
        return 1;
    }
    kw_mock *m;
    kw_error err;
    kw_error_init(&err);
    if (kw_mock_new(&o.conf, &m, &err)) {
        fprintf(stderr, "kwire mock: %s\n", err.msg);
        close(sfd);
        return 1;
    }
    if (cmd_mock_ext_apply(&o.ext, m)) {
        kw_mock_free(m);
        close(sfd);
        return 1;
    }
    printf("%s\n", kw_mock_bootstrap(m));
    fflush(stdout);
    rc = serve(m, sfd, &o.ext);
    kw_mock_free(m);
    close(sfd);
    return rc;
}
