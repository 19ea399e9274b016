/* The client: creation from a configuration, the loop (step, the optional kwire thread, the
 * submit queue for other threads), logging. See kwire/client.h and client_int.h. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "client/client_int.h"
#include "kw_config.h"

void *
kwi_client_alloc(kw_client *c, size_t n)
{
    return c->a->alloc(c->a->ud, n);
}

void
kwi_client_mem_free(kw_client *c, void *p, size_t n)
{
    if (p)
        c->a->free(c->a->ud, p, n);
}

char *
kwi_client_strndup(kw_client *c, const char *s, size_t n, size_t *sz)
{
    char *d = kwi_client_alloc(c, n + 1);
    if (!d)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    *sz = n + 1;
    return d;
}

kwi_reactor *
kwi_client_reactor(kw_client *c)
{
    return c->r;
}

kw_err
kwi_client_set_transport(kw_client *c, const kwi_transport *t)
{
    pthread_mutex_lock(&c->lock);
    kw_err e = KW_ERR_OK;
    for (size_t i = 0; i < c->n_brokers && e == KW_ERR_OK; i++)
        e = kwi_conn_set_transport(c->brokers[i]->conn, t);
    if (e == KW_ERR_OK)
        c->copts.transport = t;
    pthread_mutex_unlock(&c->lock);
    return e;
}

const kw_conf *
kwi_client_conf(const kw_client *c)
{
    return c->conf;
}

const kwi_log *
kwi_client_log(const kw_client *c)
{
    return &c->log;
}

/* ---- logging ------------------------------------------------------------------------------ */

static void
log_adapter(void *ud, int level, const char *subsystem, const char *msg)
{
    kw_client *c = ud;
    if (c->log_fn)
        c->log_fn(c->log_ud, (kw_log_level)level, subsystem, msg);
}

void
kw_client_set_log(kw_client *c, kw_log_level level, kw_log_fn fn, void *ud)
{
    if (!c)
        return;
    c->log_fn = fn;
    c->log_ud = ud;
    c->log.fn = fn ? log_adapter : NULL;
    c->log.ud = c;
    c->log.level = (int)level;
}

/* ---- configuration -------------------------------------------------------------------------- */

static kw_err
parse_bootstrap(kw_client *c, kw_error *err)
{
    const char *cur = kwi_conf_str(c->conf, KWI_CONF_BOOTSTRAP_SERVERS), *item;
    size_t len, n = 0;
    for (const char *p = cur; p && *p; p++)
        n += *p == ',';
    n += 1;
    c->boot = kwi_client_alloc(c, n * sizeof(*c->boot));
    if (!c->boot)
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    c->cap_boot = n;
    memset(c->boot, 0, n * sizeof(*c->boot));
    while (c->n_boot < n && kwi_conf_list_next(&cur, &item, &len)) {
        kwi_conf_broker b;
        const char *why = kwi_conf_parse_broker(item, len, &b);
        if (why)
            return kw_error_set(err, KW_ERR_CONFIG, "bootstrap.servers: \"%.*s\": %s",
                                (int)(len > 200 ? 200 : len), item, why);
        kwi_bootstrap *e = &c->boot[c->n_boot];
        e->host = kwi_client_strndup(c, b.host, b.host_len, &e->host_sz);
        if (!e->host)
            return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        e->port = (uint16_t)b.port;
        c->n_boot++;
    }
    if (c->n_boot == 0)
        return kw_error_set(err, KW_ERR_CONFIG, "bootstrap.servers is required");
    return KW_ERR_OK;
}

static kw_err
setup_tls(kw_client *c, kw_error *err)
{
    kwi_tls_conf t;
    kwi_tls_conf_init(&t);
    t.alloc = c->a;
    const char *ca = kwi_conf_str(c->conf, KWI_CONF_SSL_CA_LOCATION);
    struct stat st;
    if (ca && *ca && stat(ca, &st) == 0 && S_ISDIR(st.st_mode))
        t.ca_dir = ca;
    else if (ca && *ca)
        t.ca_file = ca;
    const char *cert = kwi_conf_str(c->conf, KWI_CONF_SSL_CERTIFICATE_LOCATION);
    const char *key = kwi_conf_str(c->conf, KWI_CONF_SSL_KEY_LOCATION);
    const char *pw = kwi_conf_str(c->conf, KWI_CONF_SSL_KEY_PASSWORD);
    t.cert_file = cert && *cert ? cert : NULL;
    t.key_file = key && *key ? key : NULL;
    t.key_password = pw && *pw ? pw : NULL;
    t.verify_peer = true;
    t.verify_hostname = kwi_conf_int(c->conf, KWI_CONF_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM) ==
                        KWI_SSL_ENDPOINT_HTTPS;
    return kwi_tls_ctx_new(&t, &c->tls, err);
}

static kw_err
setup_sasl(kw_client *c, kw_error *err)
{
    kwi_sasl_conf_init(&c->sasl);
    c->sasl.alloc = c->a;
    switch (kwi_conf_int(c->conf, KWI_CONF_SASL_MECHANISM)) {
    case KWI_SASL_PLAIN:
        c->sasl.mech = KWI_SASL_PLAIN;
        break;
    case KWI_SASL_SCRAM_SHA_256:
        c->sasl.mech = KWI_SASL_SCRAM_SHA_256;
        break;
    case KWI_SASL_SCRAM_SHA_512:
        c->sasl.mech = KWI_SASL_SCRAM_SHA_512;
        break;
    case KWI_SASL_GSSAPI:
        if (!KW_HAVE_SASL_GSSAPI)
            return kw_error_set(err, KW_ERR_CONFIG,
                                "sasl.mechanism: GSSAPI needs a build with -Dsasl_gssapi");
        /* Kerberos credentials come from the ticket cache or keytab, not from properties;
         * the host part of the service principal is set per connection. */
        c->sasl.mech = KWI_SASL_GSSAPI;
        c->sasl.kerberos_service_name = kwi_conf_str(c->conf, KWI_CONF_SASL_KERBEROS_SERVICE_NAME);
        c->use_sasl = true;
        return KW_ERR_OK;
    default:
        return kw_error_set(err, KW_ERR_CONFIG, "security.protocol %s needs sasl.mechanism",
                            kwi_conf_str(c->conf, KWI_CONF_SECURITY_PROTOCOL));
    }
    c->sasl.username = kwi_conf_str(c->conf, KWI_CONF_SASL_USERNAME);
    c->sasl.password = kwi_conf_str(c->conf, KWI_CONF_SASL_PASSWORD);
    if (!c->sasl.username || !*c->sasl.username || !c->sasl.password || !*c->sasl.password)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "sasl.mechanism %s needs sasl.username and "
                            "sasl.password",
                            kwi_conf_str(c->conf, KWI_CONF_SASL_MECHANISM));
    c->use_sasl = true;
    return KW_ERR_OK;
}

static kw_err
setup_conn_opts(kw_client *c, kw_error *err)
{
    const kw_conf *f = c->conf;
    kwi_conn_opts *o = &c->copts;
    memset(o, 0, sizeof(*o));
    o->reactor = c->r;
    o->alloc = c->a;
    o->log = &c->log;
    o->client_id = kwi_conf_str(f, KWI_CONF_CLIENT_ID);
    if (o->client_id && !*o->client_id)
        o->client_id = NULL;
    o->request_timeout_ms = kwi_conf_int(f, KWI_CONF_REQUEST_TIMEOUT_MS);
    o->setup_timeout_ms = kwi_conf_int(f, KWI_CONF_SOCKET_CONNECTION_SETUP_TIMEOUT_MS);
    o->idle_ms = kwi_conf_int(f, KWI_CONF_CONNECTIONS_MAX_IDLE_MS);
    if (o->idle_ms == 0)
        o->idle_ms = -1;
    o->backoff_ms = kwi_conf_int(f, KWI_CONF_RECONNECT_BACKOFF_MS);
    o->backoff_max_ms = kwi_conf_int(f, KWI_CONF_RECONNECT_BACKOFF_MAX_MS);
    o->max_in_flight = (int32_t)kwi_conf_int(f, KWI_CONF_MAX_IN_FLIGHT);
    int64_t maxf = kwi_conf_int(f, KWI_CONF_RECEIVE_MESSAGE_MAX_BYTES);
    o->max_frame = maxf > INT32_MAX ? INT32_MAX : (int32_t)maxf;
    /* The output buffer holds up to max_in_flight requests of max.request.size each. */
    int64_t req = kwi_conf_int(f, KWI_CONF_MAX_REQUEST_SIZE);
    o->max_request =
        (size_t)req * (size_t)(o->max_in_flight > 16 ? 16 : o->max_in_flight) + (1u << 20);
    o->dns = c->dns;
    int64_t sec = kwi_conf_int(f, KWI_CONF_SECURITY_PROTOCOL);
    kw_err e = KW_ERR_OK;
    if (sec == KWI_SECURITY_SSL || sec == KWI_SECURITY_SASL_SSL)
        e = setup_tls(c, err);
    if (e == KW_ERR_OK && (sec == KWI_SECURITY_SASL_PLAINTEXT || sec == KWI_SECURITY_SASL_SSL))
        e = setup_sasl(c, err);
    o->tls = c->tls;
    o->sasl = c->use_sasl ? &c->sasl : NULL;
    return e;
}

/* ---- creation ------------------------------------------------------------------------------ */

static void on_house(kwi_reactor *r, kwi_timer *t, void *ud);

static kw_err
client_init(kw_client *c, kw_error *err)
{
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&c->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_mutex_init(&c->qlock, NULL);
    atomic_init(&c->q_n, 0);
    atomic_init(&c->thread_stop, false);
    c->next_boot_id = -1;

    kw_err e = kwi_conf_validate(c->conf, 0, err);
    if (e != KW_ERR_OK)
        return e;
    kwi_reactor_opts ro;
    kwi_reactor_opts_init(&ro);
    ro.alloc = c->a;
    e = kwi_reactor_new(&ro, &c->r);
    if (e != KW_ERR_OK)
        return kw_error_set(err, e, "cannot create the event loop: %s", kw_err_str(e));
    kwi_dns_opts dopts;
    kwi_dns_opts_init(&dopts);
    dopts.alloc = c->a;
    e = kwi_dns_new(&dopts, &c->dns, err);
    if (e != KW_ERR_OK)
        return e;
    e = parse_bootstrap(c, err);
    if (e == KW_ERR_OK)
        e = setup_conn_opts(c, err);
    if (e == KW_ERR_OK && kwi_reactor_timer_new(c->r, on_house, c, &c->t_house) != KW_ERR_OK)
        e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    if (e == KW_ERR_OK)
        e = kwi_md_init(c);
    if (e == KW_ERR_OK)
        e = kwi_broker_bootstrap(c);
    if (e == KW_ERR_NOMEM && err && err->code != KW_ERR_NOMEM)
        kw_error_set(err, e, "out of memory");
    return e;
}

static void client_destroy(kw_client *c);

kw_err
kw_client_new(kw_conf *conf, kw_client **out, kw_error *err)
{
    if (out)
        *out = NULL;
    /* client_init checks err->code to keep the most precise message: it must start clean,
     * whatever the caller's (possibly uninitialised) detail held. */
    if (err)
        kw_error_init(err);
    if (!conf || !out) {
        kw_conf_free(conf);
        return kw_error_set(err, KW_ERR_INVALID_ARG, "conf and out are required");
    }
    const kw_allocator *a = &conf->a;
    kw_client *c = a->alloc(a->ud, sizeof(*c));
    if (!c) {
        kw_conf_free(conf);
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    }
    memset(c, 0, sizeof(*c));
    c->conf = conf;
    c->a = a;
    kw_err e = client_init(c, err);
    if (e != KW_ERR_OK) {
        client_destroy(c);
        return e;
    }
    *out = c;
    return KW_ERR_OK;
}

static void
drain_cancel(kw_client *c)
{
    for (;;) {
        pthread_mutex_lock(&c->qlock);
        kwi_submit *s = c->q_head;
        c->q_head = c->q_tail = NULL;
        atomic_store(&c->q_n, 0);
        pthread_mutex_unlock(&c->qlock);
        if (!s)
            return;
        while (s) {
            kwi_submit *next = s->next;
            s->cancel(c, s);
            s = next;
        }
    }
}

static void
client_destroy(kw_client *c)
{
    c->closing = true;
    drain_cancel(c);
    if (c->r) {
        /* Connections first: their requests complete (CANCELED) into the metadata calls
         * that own them, which then finish; then the calls still waiting for a link. */
        kwi_broker_sweep(c, true);
        kwi_md_fini(c);
        kwi_reactor_timer_free(c->t_house);
    }
    kwi_client_mem_free(c, c->brokers, c->cap_brokers * sizeof(*c->brokers));
    for (size_t i = 0; i < c->n_boot; i++)
        kwi_client_mem_free(c, c->boot[i].host, c->boot[i].host_sz);
    kwi_client_mem_free(c, c->boot, c->cap_boot * sizeof(*c->boot));
    kwi_dns_free(c->dns);
    kwi_tls_ctx_free(c->tls);
    kwi_reactor_free(c->r);
    pthread_mutex_destroy(&c->lock);
    pthread_mutex_destroy(&c->qlock);
    kw_conf *conf = c->conf;
    kw_allocator a = conf->a;
    a.free(a.ud, c, sizeof(*c));
    kw_conf_free(conf);
}

void
kw_client_free(kw_client *c)
{
    if (!c)
        return;
    /* From a callback the loop is still inside a step on this very thread (or it is the
     * kwire thread, which cannot join itself): freeing now would pull the ground from under
     * it. Refused; the contract says "not from inside a callback". */
    if (c->thread_on && pthread_equal(pthread_self(), c->thread))
        return;
    kw_client_thread_stop(c);
    if (c->in_step)
        return;
    pthread_mutex_lock(&c->lock);
    c->closing = true;
    pthread_mutex_unlock(&c->lock);
    client_destroy(c);
}

/* ---- the loop ------------------------------------------------------------------------------ */

int
kw_client_fd(const kw_client *c)
{
    return kwi_reactor_fd(c->r);
}

int
kw_client_timeout_ms(const kw_client *c)
{
    if (atomic_load(&c->q_n) > 0)
        return 0;
    return kwi_reactor_timeout_ms(c->r);
}

kw_err
kw_client_wakeup(kw_client *c)
{
    return kwi_reactor_wakeup(c->r);
}

void
kwi_client_submit(kw_client *c, kwi_submit *s)
{
    s->next = NULL;
    pthread_mutex_lock(&c->qlock);
    if (c->q_tail)
        c->q_tail->next = s;
    else
        c->q_head = s;
    c->q_tail = s;
    atomic_fetch_add(&c->q_n, 1);
    pthread_mutex_unlock(&c->qlock);
    kwi_reactor_wakeup(c->r);
}

static void
drain_submits(kw_client *c)
{
    if (atomic_load(&c->q_n) == 0)
        return;
    pthread_mutex_lock(&c->qlock);
    kwi_submit *s = c->q_head;
    c->q_head = c->q_tail = NULL;
    atomic_store(&c->q_n, 0);
    pthread_mutex_unlock(&c->qlock);
    while (s) {
        kwi_submit *next = s->next;
        if (c->closing)
            s->cancel(c, s);
        else
            s->run(c, s);
        s = next;
    }
}

/* One turn: the wait happens outside the loop lock, so other threads can read statistics
 * while the loop sleeps; the work happens inside it. */
static kw_err
turn(kw_client *c, int timeout_ms)
{
    if (timeout_ms != 0 && atomic_load(&c->q_n) == 0) {
        int t = kwi_reactor_timeout_ms(c->r);
        int wait = timeout_ms < 0 ? t : (t >= 0 && t < timeout_ms ? t : timeout_ms);
        if (wait != 0) {
            struct pollfd p = {kwi_reactor_fd(c->r), POLLIN, 0};
            if (poll(&p, 1, wait) < 0 && errno != EINTR)
                return KW_ERR_IO;
        }
    }
    pthread_mutex_lock(&c->lock);
    c->in_step++;
    drain_submits(c);
    kw_err e = kwi_reactor_step(c->r, 0);
    /* Submissions that raced with the step: their wakeup was consumed by its harvest. */
    drain_submits(c);
    c->in_step--;
    pthread_mutex_unlock(&c->lock);
    return e;
}

kw_err
kw_client_step(kw_client *c, int timeout_ms, kw_error *err)
{
    if (!c)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no client");
    if (c->thread_on)
        return kw_error_set(err, KW_ERR_STATE, "the kwire thread runs the loop");
    if (c->in_step)
        return kw_error_set(err, KW_ERR_STATE, "kw_client_step called from a callback");
    kw_err e = turn(c, timeout_ms);
    if (e != KW_ERR_OK)
        kw_error_set(err, e, "epoll_wait failed: %s", strerror(errno));
    return e;
}

static void *
thread_main(void *arg)
{
    kw_client *c = arg;
    while (!atomic_load(&c->thread_stop))
        turn(c, -1);
    return NULL;
}

kw_err
kw_client_thread_start(kw_client *c, kw_error *err)
{
    if (!c)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no client");
    if (c->thread_on)
        return kw_error_set(err, KW_ERR_STATE, "the kwire thread already runs");
    if (c->in_step)
        return kw_error_set(err, KW_ERR_STATE, "not from inside a callback");
    atomic_store(&c->thread_stop, false);
    /* The thread inherits this mask: it blocks every signal, leaving them to the
     * application's own threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&c->thread, NULL, thread_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return kw_error_set(err, KW_ERR_IO, "cannot start the kwire thread: %s", strerror(rc));
    c->thread_on = true;
    return KW_ERR_OK;
}

kw_err
kw_client_thread_stop(kw_client *c)
{
    if (!c || !c->thread_on)
        return KW_ERR_OK;
    if (pthread_equal(pthread_self(), c->thread))
        return KW_ERR_STATE;
    atomic_store(&c->thread_stop, true);
    kwi_reactor_wakeup(c->r);
    pthread_join(c->thread, NULL);
    c->thread_on = false;
    return KW_ERR_OK;
}

/* ---- housekeeping -------------------------------------------------------------------------- */

void
kwi_client_house(kw_client *c)
{
    if (!c->closing && !kwi_reactor_timer_armed(c->t_house))
        kwi_reactor_timer_start(c->t_house, 0);
}

static void
on_house(kwi_reactor *r, kwi_timer *t, void *ud)
{
    (void)r;
    (void)t;
    kw_client *c = ud;
    kwi_md_on_link(c);
    kwi_broker_sweep(c, false);
}

kw_err
kwi_client_send(kw_client *c, int32_t node_id, int16_t api_key, const void *msg,
                const kwi_req_opts *o, kwi_resp_cb cb, void *ud, kw_error *err)
{
    kwi_broker *b = kwi_broker_find(c, node_id);
    if (!b)
        return kw_error_set(err, KW_ERR_NOT_FOUND, "broker %d is not in the cluster metadata",
                            (int)node_id);
    return kwi_conn_send(b->conn, api_key, msg, o, cb, ud, err);
}
