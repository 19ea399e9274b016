/* epoll_embed: a daemon that owns its event loop drives kwire without any kwire thread.
 *
 *     epoll_embed BOOTSTRAP [TOPIC...]
 *
 * The daemon's epoll set holds its own descriptors (here a signalfd for SIGINT and SIGTERM)
 * next to kwire's one descriptor. Each turn waits at most kw_client_timeout_ms(), then lets
 * kwire do what is ready with kw_client_step(c, 0, ...), which never blocks. kwire starts no
 * thread, and its callbacks run inside that step call, on the daemon's thread.
 *
 * The program asks for the cluster's metadata (every topic, or the ones named), prints it and
 * exits 0; it exits 1 on an error and 2 on a usage error. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "kwire/client.h"
#include "kwire/conf.h"

struct state {
    int done;
    int status;
};

static void
on_metadata(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    struct state *st = ud;
    st->done = 1;
    if (err != KW_ERR_OK) {
        fprintf(stderr, "epoll_embed: metadata failed: %s\n", detail->msg);
        st->status = 1;
        return;
    }
    printf("cluster %s, answered by broker %d\n", md->cluster_id ? md->cluster_id : "(none)",
           (int)md->broker_id);
    for (int32_t i = 0; i < md->n_brokers; i++)
        printf("broker %d %s:%d\n", (int)md->brokers[i].id, md->brokers[i].host,
               (int)md->brokers[i].port);
    for (int32_t i = 0; i < md->n_topics; i++) {
        const kw_topic_info *t = &md->topics[i];
        printf("topic %s partitions %d error %d\n", t->name ? t->name : "(null)",
               (int)t->n_partitions, (int)t->error);
        for (int32_t j = 0; j < t->n_partitions; j++)
            printf("partition %s %d leader %d\n", t->name ? t->name : "(null)",
                   (int)t->partitions[j].id, (int)t->partitions[j].leader);
    }
    st->status = 0;
}

static void
on_log(void *ud, kw_log_level level, const char *subsystem, const char *msg)
{
    (void)ud;
    fprintf(stderr, "kwire[%d] %s: %s\n", (int)level, subsystem, msg);
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: epoll_embed BOOTSTRAP [TOPIC...]\n");
        return 2;
    }
    kw_error err;
    kw_error_init(&err);
    kw_conf *conf = NULL;
    if (kw_conf_new(NULL, &conf) != KW_ERR_OK ||
        kw_conf_set(conf, "bootstrap.servers", argv[1], &err) != KW_ERR_OK) {
        fprintf(stderr, "epoll_embed: %s\n", err.msg);
        kw_conf_free(conf);
        return 2;
    }
    kw_client *c = NULL;
    if (kw_client_new(conf, &c, &err) != KW_ERR_OK) { /* conf is the client's now */
        fprintf(stderr, "epoll_embed: %s\n", err.msg);
        return 1;
    }
    kw_client_set_log(c, KW_LOG_WARN, on_log, NULL);

    /* The daemon's own descriptor: signals arrive as reads, not as interruptions. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigprocmask(SIG_BLOCK, &sigs, NULL);
    int sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = kw_client_fd(c);
    epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
    ev.data.fd = sfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);

    struct state st = {0, 1};
    const char *const *topics = argc > 2 ? (const char *const *)argv + 2 : NULL;
    if (kw_client_metadata(c, topics, (size_t)(argc > 2 ? argc - 2 : 0), 30000, on_metadata, &st,
                           &err) != KW_ERR_OK) {
        fprintf(stderr, "epoll_embed: %s\n", err.msg);
        st.done = 1;
    }
    while (!st.done) {
        struct epoll_event evs[8];
        int n = epoll_wait(ep, evs, 8, kw_client_timeout_ms(c));
        for (int i = 0; i < n; i++) {
            if (evs[i].data.fd == sfd) {
                fprintf(stderr, "epoll_embed: interrupted\n");
                st.done = 1;
            }
        }
        /* Whether kwire's fd fired or its timer ran out: step, without waiting. */
        if (kw_client_step(c, 0, &err) != KW_ERR_OK) {
            fprintf(stderr, "epoll_embed: %s\n", err.msg);
            break;
        }
    }
    fflush(stdout);
    kw_client_free(c);
    close(ep);
    close(sfd);
    return st.status;
}
