/* The cluster: configuration, the brokers' listening sockets, the reactor that serves them (the
 * caller steps it, or the one optional thread does), the module list, logging and randomness.
 *
 * Modules. Each entry of modules[] registers the APIs it serves from its init function; the
 * connection layer dispatches through the table those registrations fill (api.c). A new module
 * (consumer groups, transactions, ...) is one more entry here plus its own files; nothing in the
 * dispatch path changes. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "mock_int.h"

/* Security (TLS, SASL users) comes before SASL, which registers the SASL APIs; faults last. */
static const kwi_mock_module modules[] = {
    {"meta", kwi_mock_meta_init, NULL},
    {"produce", kwi_mock_produce_init, NULL},
    {"fetch", kwi_mock_fetch_init, NULL},
    {"offsets", kwi_mock_offsets_init, NULL},
    {"admin", kwi_mock_admin_init, NULL},
    {"configs", kwi_mock_configs_init, NULL},
    {"group", kwi_mock_group_init, kwi_mock_group_fini},
    {"txn", kwi_mock_txn_init, kwi_mock_txn_fini},
    {"security", kwi_mock_security_init, kwi_mock_security_fini},
    {"sasl", kwi_mock_sasl_init, NULL},
    {"fault", kwi_mock_fault_init, kwi_mock_fault_fini},
};
#define N_MODULES (sizeof(modules) / sizeof(modules[0]))

/* Kafka's defaults for the broker settings kw_mock_conf stands for. */
void
kw_mock_conf_init(kw_mock_conf *c)
{
    memset(c, 0, sizeof(*c));
    c->brokers = 1;
    c->auto_create_topics = true;
    c->default_partitions = 1;
    c->default_replication_factor = 1;
    c->retention_bytes = -1;
    c->retention_ms = 604800000;
    c->message_max_bytes = 1048588;
    c->max_request_bytes = 104857600;
    c->fetch_max_bytes = 57671680;
    c->max_inflight = 1;
    c->transaction_max_timeout_ms = 900000;
    c->producer_id_expiration_ms = 86400000;
    c->log_level = KW_MOCK_LOG_INFO;
}

void
kwi_mock_logf(kw_mock *m, int level, const char *fmt, ...)
{
    if (!m->conf.log || level > m->conf.log_level)
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    m->conf.log(m->conf.log_ud, level, buf);
}

void
kwi_mock_random(void *p, size_t n)
{
    uint8_t *b = p;
    while (n) {
        ssize_t got = getrandom(b, n, 0);
        if (got > 0) {
            b += got;
            n -= (size_t)got;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        break;
    }
    /* No getrandom (old kernel, seccomp): ids only need to be unlikely to repeat. */
    static uint64_t state;
    if (n && !state) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        state = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)ts.tv_sec ^ ((uint64_t)getpid() << 40) ^
                (uint64_t)(uintptr_t)p;
    }
    for (; n; n--) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        *b++ = (uint8_t)(state >> 56);
    }
}

int64_t
kwi_mock_now_ms(const kw_mock *m)
{
    return kwi_reactor_now_ms(m->r);
}

int64_t
kwi_mock_wall_ms(const kw_mock *m)
{
    if (m->conf.wall_clock)
        return m->conf.wall_clock(m->conf.wall_clock_ud);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

kwi_mock_broker *
kwi_mock_broker_by_id(kw_mock *m, int32_t node_id)
{
    if (node_id < 1 || node_id > m->n_brokers)
        return NULL;
    return &m->brokers[node_id - 1];
}

static kw_err
conf_check(const kw_mock_conf *c, kw_error *err)
{
    if (c->brokers < 1 || c->brokers > KW_MOCK_MAX_BROKERS)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "brokers must be 1..%d", KW_MOCK_MAX_BROKERS);
    if (c->port < 0 || c->port > 65535 || (c->port && c->port + c->brokers - 1 > 65535))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "port %d cannot serve %d brokers",
                            (int)c->port, (int)c->brokers);
    if (c->default_partitions < 1 || c->default_partitions > KW_MOCK_MAX_PARTITIONS)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "default_partitions must be 1..%d",
                            KW_MOCK_MAX_PARTITIONS);
    if (c->default_replication_factor < 1 || c->default_replication_factor > c->brokers)
        return kw_error_set(err, KW_ERR_INVALID_ARG,
                            "default_replication_factor must be 1..brokers");
    if (c->message_max_bytes < 0 || c->fetch_max_bytes < 0 || c->max_request_bytes < 64)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "a byte limit is out of range");
    if (c->max_inflight < 0)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "max_inflight must be >= 0");
    if (c->transaction_max_timeout_ms < 1 || c->txn_marker_delay_ms < 0 ||
        c->producer_id_expiration_ms < -1)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "a transaction setting is out of range");
    if (c->cluster_id && (strlen(c->cluster_id) == 0 || strlen(c->cluster_id) >= 64))
        return kw_error_set(err, KW_ERR_INVALID_ARG, "cluster_id must be 1..63 characters");
    return KW_ERR_OK;
}

static void
on_accept(kwi_reactor *r, kwi_io *io, unsigned events, void *ud)
{
    (void)r;
    (void)io;
    (void)events;
    kwi_mock_broker *b = ud;
    /* A bounded batch per callback; the listener stays readable if more are queued. */
    for (int i = 0; i < 16; i++) {
        int fd = accept4(b->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                kwi_mock_logf(b->m, KW_MOCK_LOG_WARNING, "broker %d: accept: %s", (int)b->node_id,
                              strerror(errno));
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (kwi_mock_conn_accept(b, fd) != KW_ERR_OK) {
            kwi_mock_logf(b->m, KW_MOCK_LOG_WARNING, "broker %d: out of memory for a connection",
                          (int)b->node_id);
            close(fd);
        }
    }
}

static kw_err
listen_on(kwi_mock_broker *b, int port, kw_error *err)
{
    b->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (b->lfd < 0)
        return kw_error_set(err, KW_ERR_IO, "socket: %s", strerror(errno));
    int one = 1;
    setsockopt(b->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons((uint16_t)port);
    socklen_t sl = sizeof(sa);
    if (bind(b->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(b->lfd, SOMAXCONN) < 0 ||
        getsockname(b->lfd, (struct sockaddr *)&sa, &sl) < 0)
        return kw_error_set(err, KW_ERR_IO, "broker %d: 127.0.0.1:%d: %s", (int)b->node_id, port,
                            strerror(errno));
    b->port = ntohs(sa.sin_port);
    kw_err e = kwi_reactor_io_new(b->m->r, b->lfd, KWI_IO_READ, on_accept, b, &b->lio);
    if (e)
        return kw_error_set(err, e, "broker %d: cannot register the listener", (int)b->node_id);
    return KW_ERR_OK;
}

/* Broker down/up (fault.c) closes a listener and opens it again on the same port. */
kw_err
kwi_mock_broker_listen(kwi_mock_broker *b, int port, kw_error *err)
{
    kw_err e = listen_on(b, port, err);
    if (e) {
        kwi_reactor_io_free(b->lio);
        b->lio = NULL;
        if (b->lfd >= 0)
            close(b->lfd);
        b->lfd = -1;
    }
    return e;
}

static kw_err
make_bootstrap(kw_mock *m)
{
    size_t cap = (size_t)m->n_brokers * 17 + 1; /* "127.0.0.1:65535," */
    m->bootstrap = m->a->alloc(m->a->ud, cap);
    m->bootstrap_cap = cap;
    if (!m->bootstrap)
        return KW_ERR_NOMEM;
    size_t off = 0;
    for (int32_t i = 0; i < m->n_brokers; i++)
        off += (size_t)snprintf(m->bootstrap + off, cap - off, "%s127.0.0.1:%d", i ? "," : "",
                                m->brokers[i].port);
    return KW_ERR_OK;
}

static void
make_cluster_id(kw_mock *m)
{
    if (m->conf.cluster_id) {
        snprintf(m->cluster_id, sizeof(m->cluster_id), "%s", m->conf.cluster_id);
        return;
    }
    /* Kafka's cluster ids are a random UUID in URL-safe base64 without padding: 22 chars. */
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t u[16];
    kwi_mock_random(u, sizeof(u));
    uint32_t acc = 0;
    int bits = 0, o = 0;
    for (int i = 0; i < 16; i++) {
        acc = (acc << 8) | u[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            m->cluster_id[o++] = b64[(acc >> bits) & 63];
        }
    }
    m->cluster_id[o++] = b64[(acc << (6 - bits)) & 63];
    m->cluster_id[o] = '\0';
}

static kw_err
setup(kw_mock *m, kwi_reactor *r, kw_error *err)
{
    if (r) {
        m->r = r;
    } else {
        kwi_reactor_opts o;
        kwi_reactor_opts_init(&o);
        o.alloc = m->a;
        o.clock.now = m->conf.clock;
        o.clock.ud = m->conf.clock_ud;
        kw_err e = kwi_reactor_new(&o, &m->r);
        if (e)
            return kw_error_set(err, e, "cannot create the reactor");
        m->own_reactor = true;
    }
    for (size_t i = 0; i < N_MODULES; i++) {
        kw_err e = modules[i].init(m);
        if (e)
            return kw_error_set(err, e, "module %s failed to start", modules[i].name);
    }
    m->brokers = m->a->alloc(m->a->ud, (size_t)m->conf.brokers * sizeof(*m->brokers));
    if (!m->brokers)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    memset(m->brokers, 0, (size_t)m->conf.brokers * sizeof(*m->brokers));
    for (int32_t i = 0; i < m->conf.brokers; i++) {
        m->brokers[i].m = m;
        m->brokers[i].node_id = i + 1;
        m->brokers[i].lfd = -1;
    }
    m->n_brokers = m->conf.brokers;
    for (int32_t i = 0; i < m->n_brokers; i++) {
        kw_err e = listen_on(&m->brokers[i], m->conf.port ? m->conf.port + i : 0, err);
        if (e)
            return e;
    }
    if (make_bootstrap(m))
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    return KW_ERR_OK;
}

kw_err
kwi_mock_new_on(const kw_mock_conf *conf, kwi_reactor *r, kw_mock **out, kw_error *err)
{
    kw_mock_conf dflt;
    *out = NULL;
    if (!conf) {
        kw_mock_conf_init(&dflt);
        conf = &dflt;
    }
    kw_err e = conf_check(conf, err);
    if (e)
        return e;
    const kw_allocator *a = conf->alloc ? conf->alloc : kw_allocator_default();
    kw_mock *m = a->alloc(a->ud, sizeof(*m));
    if (!m)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    memset(m, 0, sizeof(*m));
    m->a = a;
    m->conf = *conf;
    m->conf.alloc = a;
    m->conf.cluster_id = NULL; /* the caller's string need not outlive this call */
    if (m->conf.max_inflight == 0)
        m->conf.max_inflight = 1;
    if (conf->cluster_id)
        snprintf(m->cluster_id, sizeof(m->cluster_id), "%s", conf->cluster_id);
    else
        make_cluster_id(m);
    pthread_mutex_init(&m->lock, NULL);
    kw_wr_init_dyn(&m->scratch, a, (size_t)m->conf.max_request_bytes * 4);
    e = setup(m, r, err);
    if (e) {
        kw_mock_free(m);
        return e;
    }
    *out = m;
    return KW_ERR_OK;
}

kw_err
kw_mock_new(const kw_mock_conf *conf, kw_mock **out, kw_error *err)
{
    return kwi_mock_new_on(conf, NULL, out, err);
}

void
kw_mock_free(kw_mock *m)
{
    if (!m)
        return;
    if (m->thread_running)
        kw_mock_thread_stop(m);
    kwi_mock_conns_free(m);
    kwi_mock_waiters_free(m);
    for (size_t i = N_MODULES; i-- > 0;)
        if (modules[i].fini)
            modules[i].fini(m);
    kwi_mock_topics_free(m);
    for (int32_t i = 0; m->brokers && i < m->conf.brokers; i++) {
        kwi_reactor_io_free(m->brokers[i].lio);
        if (m->brokers[i].lfd >= 0)
            close(m->brokers[i].lfd);
    }
    if (m->brokers)
        m->a->free(m->a->ud, m->brokers, (size_t)m->conf.brokers * sizeof(*m->brokers));
    if (m->own_reactor)
        kwi_reactor_free(m->r);
    if (m->bootstrap)
        m->a->free(m->a->ud, m->bootstrap, m->bootstrap_cap);
    kw_wr_fini(&m->scratch);
    pthread_mutex_destroy(&m->lock);
    m->a->free(m->a->ud, m, sizeof(*m));
}

const char *
kw_mock_bootstrap(const kw_mock *m)
{
    return m->bootstrap;
}

int32_t
kw_mock_broker_count(const kw_mock *m)
{
    return m->n_brokers;
}

int32_t
kw_mock_broker_port(const kw_mock *m, int32_t node_id)
{
    if (node_id < 1 || node_id > m->n_brokers)
        return -1;
    return m->brokers[node_id - 1].port;
}

/* ---------------------------------------------------------------- running */

int
kw_mock_fd(const kw_mock *m)
{
    return kwi_reactor_fd(m->r);
}

int
kw_mock_timeout_ms(const kw_mock *m)
{
    /* The lock: the cluster's thread may be changing the timers (the cast drops only the
     * const of the mutex, not of the state). */
    pthread_mutex_t *lock = (pthread_mutex_t *)&m->lock;
    pthread_mutex_lock(lock);
    int t = kwi_reactor_timeout_ms(m->r);
    pthread_mutex_unlock(lock);
    return t;
}

kw_err
kw_mock_step(kw_mock *m, int timeout_ms)
{
    pthread_mutex_lock(&m->lock);
    bool threaded = m->thread_running;
    pthread_mutex_unlock(&m->lock);
    if (threaded || !m->own_reactor)
        return KW_ERR_STATE;
    return kwi_reactor_step(m->r, timeout_ms);
}

kw_err
kw_mock_wakeup(kw_mock *m)
{
    return kwi_reactor_wakeup(m->r);
}

/* The thread waits outside the lock and steps inside it, so the C API can take the lock
 * between steps; a call that changes timers wakes it to recompute its wait. */
static void *
thread_main(void *arg)
{
    kw_mock *m = arg;
    pthread_mutex_lock(&m->lock);
    while (!m->thread_stop) {
        int t = kwi_reactor_timeout_ms(m->r);
        pthread_mutex_unlock(&m->lock);
        struct pollfd pfd = {kwi_reactor_fd(m->r), POLLIN, 0};
        poll(&pfd, 1, t);
        pthread_mutex_lock(&m->lock);
        if (!m->thread_stop)
            kwi_reactor_step(m->r, 0);
    }
    pthread_mutex_unlock(&m->lock);
    return NULL;
}

kw_err
kw_mock_thread_start(kw_mock *m, kw_error *err)
{
    pthread_mutex_lock(&m->lock);
    if (m->thread_running || !m->own_reactor) {
        pthread_mutex_unlock(&m->lock);
        return kw_error_set(err, KW_ERR_STATE, "the cluster's thread already runs");
    }
    /* The thread takes no signals: they stay with the application's threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    m->thread_stop = false;
    int rc = pthread_create(&m->thread, NULL, thread_main, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        m->thread_running = true;
    pthread_mutex_unlock(&m->lock);
    if (rc)
        return kw_error_set(err, KW_ERR_IO, "pthread_create: %s", strerror(rc));
    return KW_ERR_OK;
}

kw_err
kw_mock_thread_stop(kw_mock *m)
{
    pthread_mutex_lock(&m->lock);
    if (!m->thread_running) {
        pthread_mutex_unlock(&m->lock);
        return KW_ERR_STATE;
    }
    m->thread_stop = true;
    pthread_mutex_unlock(&m->lock);
    kwi_reactor_wakeup(m->r);
    pthread_join(m->thread, NULL);
    pthread_mutex_lock(&m->lock);
    m->thread_running = false;
    m->thread_stop = false;
    pthread_mutex_unlock(&m->lock);
    return KW_ERR_OK;
}
