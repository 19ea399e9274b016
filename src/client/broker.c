/* The broker registry: one kwi_conn per broker the client knows, from bootstrap.servers first
 * and from Metadata responses afterwards. Connections are created idle and connect only when
 * a request needs them. Brokers that leave the cluster are retired: their requests fail (a
 * retriable KW_ERR_IO, so the roles re-route after the refresh) and their connection is freed
 * once idle, from the housekeeping timer, never from inside a connection's own callback.
 *
 * Re-bootstrap (KIP-899): when metadata is needed and every broker the metadata named has
 * failed its last connection attempt, the client goes back to bootstrap.servers, which may
 * point at a load balancer or at brokers the stale metadata no longer lists. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "client/client_int.h"

static void
on_conn_state(kwi_conn *conn, kwi_conn_state from, kwi_conn_state to, const kw_error *why, void *ud)
{
    (void)conn;
    (void)from;
    kwi_broker *b = ud;
    if (why && to == KWI_CONN_BACKOFF) {
        b->c->link_err = *why;
        if (why->fatal)
            kwi_md_on_fatal(b->c, why);
    }
    /* Act later, outside the connection's own code: a ready link serves waiting metadata
     * calls, a failed one may call for another broker or a re-bootstrap. */
    if (to == KWI_CONN_READY || to == KWI_CONN_BACKOFF || to == KWI_CONN_DOWN)
        kwi_client_house(b->c);
}

static kw_err
grow(kw_client *c)
{
    if (c->n_brokers < c->cap_brokers)
        return KW_ERR_OK;
    size_t cap = c->cap_brokers ? c->cap_brokers * 2 : 8;
    kwi_broker **v = kwi_client_alloc(c, cap * sizeof(*v));
    if (!v)
        return KW_ERR_NOMEM;
    if (c->n_brokers)
        memcpy(v, c->brokers, c->n_brokers * sizeof(*v));
    kwi_client_mem_free(c, c->brokers, c->cap_brokers * sizeof(*v));
    c->brokers = v;
    c->cap_brokers = cap;
    return KW_ERR_OK;
}

static void
broker_free(kw_client *c, kwi_broker *b)
{
    kwi_conn_free(b->conn);
    kwi_client_mem_free(c, b->host, b->host_sz);
    kwi_client_mem_free(c, b->rack, b->rack_sz);
    kwi_client_mem_free(c, b, sizeof(*b));
}

kw_err
kwi_broker_add(kw_client *c, int32_t id, const char *host, size_t hlen, uint16_t port,
               const char *rack, size_t rlen, bool bootstrap, kwi_broker **out)
{
    if (out)
        *out = NULL;
    if (grow(c) != KW_ERR_OK)
        return KW_ERR_NOMEM;
    kwi_broker *b = kwi_client_alloc(c, sizeof(*b));
    if (!b)
        return KW_ERR_NOMEM;
    memset(b, 0, sizeof(*b));
    b->c = c;
    b->id = id;
    b->port = port;
    b->bootstrap = bootstrap;
    b->host = kwi_client_strndup(c, host, hlen, &b->host_sz);
    if (rack)
        b->rack = kwi_client_strndup(c, rack, rlen, &b->rack_sz);
    kwi_conn_opts o = c->copts;
    o.node_id = id;
    o.host = b->host;
    o.port = port;
    o.on_state = on_conn_state;
    o.ud = b;
    o.seed = (uint64_t)(uint32_t)id * 0x9E3779B97F4A7C15ULL;
    if (!b->host || (rack && !b->rack) || kwi_conn_new(&o, &b->conn) != KW_ERR_OK) {
        broker_free(c, b);
        return KW_ERR_NOMEM;
    }
    c->brokers[c->n_brokers++] = b;
    if (out)
        *out = b;
    return KW_ERR_OK;
}

kwi_broker *
kwi_broker_find(kw_client *c, int32_t id)
{
    for (size_t i = 0; i < c->n_brokers; i++) {
        kwi_broker *b = c->brokers[i];
        if (b->id == id && !b->retired)
            return b;
    }
    return NULL;
}

void
kwi_broker_retire(kw_client *c, kwi_broker *b, const char *why)
{
    if (b->retired)
        return;
    b->retired = true;
    if (why) {
        if (kwi_log_on(&c->log, KWI_LOG_INFO))
            kwi_log_write(&c->log, KWI_LOG_INFO, "metadata", "%s", why);
        kwi_conn_fail_all(b->conn, KW_ERR_IO, why);
    }
    kwi_client_house(c);
}

void
kwi_broker_sweep(kw_client *c, bool all)
{
    size_t i = 0;
    while (i < c->n_brokers) {
        kwi_broker *b = c->brokers[i];
        bool idle = kwi_conn_in_flight(b->conn) == 0 && kwi_conn_queued(b->conn) == 0;
        if (!all && !(b->retired && idle)) {
            i++;
            continue;
        }
        /* Unlink first: freeing the connection runs callbacks, which may add brokers. */
        memmove(&c->brokers[i], &c->brokers[i + 1], (c->n_brokers - i - 1) * sizeof(b));
        c->n_brokers--;
        broker_free(c, b);
    }
}

kw_err
kwi_broker_bootstrap(kw_client *c)
{
    for (size_t i = 0; i < c->n_boot; i++) {
        const kwi_bootstrap *e = &c->boot[i];
        kw_err err = kwi_broker_add(c, c->next_boot_id, e->host, strlen(e->host), e->port, NULL, 0,
                                    true, NULL);
        if (err != KW_ERR_OK)
            return err;
        c->next_boot_id = c->next_boot_id == INT32_MIN ? -1 : c->next_boot_id - 1;
    }
    return KW_ERR_OK;
}

/* Brokers that may serve cluster-wide requests: the metadata's brokers once metadata is
 * known, the bootstrap entries before; both during a re-bootstrap. */
static bool
candidate(const kw_client *c, const kwi_broker *b)
{
    if (b->retired)
        return false;
    if (c->rebootstrapping)
        return true;
    return b->bootstrap == !c->md.known;
}

kwi_broker *
kwi_broker_least_loaded(kw_client *c)
{
    size_t n = c->n_brokers;
    if (n == 0)
        return NULL;
    size_t start = c->rr++ % n;
    kwi_broker *best = NULL;
    int best_load = INT_MAX;
    for (size_t k = 0; k < n; k++) {
        kwi_broker *b = c->brokers[(start + k) % n];
        if (!candidate(c, b) || kwi_conn_state_get(b->conn) != KWI_CONN_READY)
            continue;
        int load = kwi_conn_in_flight(b->conn) + kwi_conn_queued(b->conn);
        if (load < best_load) {
            best = b;
            best_load = load;
        }
    }
    return best;
}

static void
rebootstrap(kw_client *c, size_t known)
{
    c->stats.rebootstraps++;
    if (kwi_log_on(&c->log, KWI_LOG_WARN))
        kwi_log_write(&c->log, KWI_LOG_WARN, "metadata",
                      "all %zu known brokers are unreachable: re-bootstrapping from "
                      "bootstrap.servers (KIP-899)",
                      known);
    for (size_t i = 0; i < c->n_brokers; i++)
        if (c->brokers[i]->bootstrap)
            kwi_broker_retire(c, c->brokers[i], NULL);
    c->rebootstrapping = true;
    if (kwi_broker_bootstrap(c) != KW_ERR_OK && kwi_log_on(&c->log, KWI_LOG_ERROR))
        kwi_log_write(&c->log, KWI_LOG_ERROR, "metadata", "re-bootstrap: out of memory");
}

void
kwi_broker_ensure_link(kw_client *c)
{
    if (c->closing || kwi_broker_least_loaded(c))
        return;
    kwi_broker *down = NULL;
    size_t known = 0, failed = 0;
    for (size_t i = 0; i < c->n_brokers; i++) {
        kwi_broker *b = c->brokers[i];
        if (!candidate(c, b))
            continue;
        known++;
        kwi_conn_state s = kwi_conn_state_get(b->conn);
        if (s != KWI_CONN_DOWN && s != KWI_CONN_BACKOFF)
            return; /* a connection is being set up: wait for it */
        if (kwi_conn_failures(b->conn) > 0)
            failed++;
        if (s == KWI_CONN_DOWN &&
            (!down || kwi_conn_failures(b->conn) < kwi_conn_failures(down->conn)))
            down = b;
    }
    if (down && kwi_conn_failures(down->conn) == 0) {
        kwi_conn_connect(down->conn);
        return;
    }
    if (c->md.known && !c->rebootstrapping && failed == known) {
        rebootstrap(c, known);
        kwi_broker_ensure_link(c);
        return;
    }
    /* Everyone failed at least once: keep every candidate trying, each at its own backoff. */
    for (size_t i = 0; i < c->n_brokers; i++)
        if (candidate(c, c->brokers[i]))
            kwi_conn_connect(c->brokers[i]->conn);
}

static bool
same_addr(const kwi_broker *b, const kw_metadata_resp_broker *m)
{
    return b->port == (uint16_t)m->port && strlen(b->host) == (size_t)m->host.len &&
           memcmp(b->host, m->host.ptr, (size_t)m->host.len) == 0;
}

static bool
listed(const kw_metadata_resp *m, int32_t id)
{
    for (int32_t i = 0; i < m->n_brokers; i++)
        if (m->brokers[i].node_id == id)
            return true;
    return false;
}

static void
add_listed(kw_client *c, const kw_metadata_resp_broker *mb)
{
    char why[320];
    if (mb->host.len <= 0 || mb->host.len > 253 || mb->port <= 0 || mb->port > 65535 ||
        mb->node_id < 0) {
        if (kwi_log_on(&c->log, KWI_LOG_WARN))
            kwi_log_write(&c->log, KWI_LOG_WARN, "metadata",
                          "ignoring broker %d with an unusable address (port %d)", (int)mb->node_id,
                          (int)mb->port);
        return;
    }
    kwi_broker *b = kwi_broker_find(c, mb->node_id);
    if (b && b->bootstrap)
        b = NULL;
    if (b && !same_addr(b, mb)) {
        snprintf(why, sizeof(why), "broker %d moved from %s:%u to %.*s:%d", (int)b->id, b->host,
                 (unsigned)b->port, (int)mb->host.len, (const char *)mb->host.ptr, (int)mb->port);
        kwi_broker_retire(c, b, why);
        b = NULL;
    }
    if (b)
        return;
    const char *rack = mb->rack.len >= 0 ? (const char *)mb->rack.ptr : NULL;
    if (kwi_broker_add(c, mb->node_id, (const char *)mb->host.ptr, (size_t)mb->host.len,
                       (uint16_t)mb->port, rack ? rack : NULL, rack ? (size_t)mb->rack.len : 0,
                       false, NULL) != KW_ERR_OK) {
        if (kwi_log_on(&c->log, KWI_LOG_ERROR))
            kwi_log_write(&c->log, KWI_LOG_ERROR, "metadata", "out of memory adding broker %d",
                          (int)mb->node_id);
        return;
    }
    if (kwi_log_on(&c->log, KWI_LOG_DEBUG))
        kwi_log_write(&c->log, KWI_LOG_DEBUG, "metadata", "broker %d at %.*s:%d", (int)mb->node_id,
                      (int)mb->host.len, (const char *)mb->host.ptr, (int)mb->port);
}

void
kwi_broker_update(kw_client *c, const kw_metadata_resp *m)
{
    /* An empty broker list is not a cluster without brokers; keep what we know. */
    if (m->n_brokers <= 0)
        return;
    char why[96];
    for (size_t i = 0; i < c->n_brokers; i++) {
        kwi_broker *b = c->brokers[i];
        if (b->retired)
            continue;
        if (b->bootstrap) {
            /* Superseded: no new requests go there; freed once its requests are done. */
            kwi_broker_retire(c, b, NULL);
        } else if (!listed(m, b->id)) {
            snprintf(why, sizeof(why), "broker %d left the cluster", (int)b->id);
            kwi_broker_retire(c, b, why);
        }
    }
    for (int32_t i = 0; i < m->n_brokers; i++)
        add_listed(c, &m->brokers[i]);
    c->rebootstrapping = false;
}
