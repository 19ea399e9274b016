/* tls_scram: connect over TLS with SASL/SCRAM-SHA-512 authentication and send records.
 *
 *     tls_scram BOOTSTRAP CA_FILE USERNAME PASSWORD TOPIC [COUNT]
 *
 * The configuration a production client uses against a secured cluster:
 *
 *     security.protocol = SASL_SSL         TLS first, then SASL on the encrypted connection
 *     sasl.mechanism    = SCRAM-SHA-512    the password never crosses the wire
 *     ssl.ca.location   = CA_FILE          trust only this CA (PEM)
 *     ssl.endpoint.identification.algorithm = https (the default): the broker's certificate
 *                                          must name the host in BOOTSTRAP
 *
 * The password is read from the command line here for brevity; a daemon would read it from a
 * file or its secret store (kw_conf_set_file takes a properties file). kwire never logs it.
 *
 * The program prints the brokers it authenticated to, sends COUNT (default 5) records whose
 * values are "secure-<i>", prints each acknowledgement and exits 0 when all were
 * acknowledged, 1 otherwise (an authentication failure is reported with the broker's
 * reason), 2 on a usage or configuration error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "kwire/client.h"
#include "kwire/conf.h"
#include "kwire/producer.h"

struct state {
    int md_done, md_err;
    long acked, failed;
};

static void
on_metadata(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    struct state *st = ud;
    st->md_done = 1;
    if (err != KW_ERR_OK) {
        fprintf(stderr, "tls_scram: %s\n", detail->msg);
        st->md_err = 1;
        return;
    }
    for (int32_t i = 0; i < md->n_brokers; i++)
        printf("authenticated to broker %d at %s:%d\n", (int)md->brokers[i].id, md->brokers[i].host,
               (int)md->brokers[i].port);
}

static void
on_delivery(kw_producer *p, const kw_delivery *d, void *ud)
{
    (void)p;
    struct state *st = ud;
    if (d->err == KW_ERR_OK) {
        st->acked++;
        printf("acknowledged %s [%d] at offset %lld\n", d->topic, (int)d->partition,
               (long long)d->offset);
    } else {
        st->failed++;
        fprintf(stderr, "tls_scram: record failed: %s\n", d->detail->msg);
    }
}

static kw_client *
secure_client(char **argv)
{
    static const char *const names[] = {"bootstrap.servers", "security.protocol", "sasl.mechanism",
                                        "ssl.ca.location",   "sasl.username",     "sasl.password"};
    const char *values[] = {argv[1], "SASL_SSL", "SCRAM-SHA-512", argv[2], argv[3], argv[4]};
    kw_conf *conf;
    kw_error err;
    if (kw_conf_new(NULL, &conf) != KW_ERR_OK)
        return NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (kw_conf_set(conf, names[i], values[i], &err) != KW_ERR_OK) {
            fprintf(stderr, "tls_scram: %s\n", err.msg);
            kw_conf_free(conf);
            return NULL;
        }
    /* The CA file is loaded here: a missing or unreadable file is a configuration error now,
     * not a handshake failure later. */
    kw_client *c;
    if (kw_client_new(conf, &c, &err) != KW_ERR_OK) {
        fprintf(stderr, "tls_scram: %s\n", err.msg);
        return NULL;
    }
    return c;
}

int
main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: tls_scram BOOTSTRAP CA_FILE USERNAME PASSWORD TOPIC [COUNT]\n");
        return 2;
    }
    long count = argc > 6 ? strtol(argv[6], NULL, 10) : 5;
    kw_client *c = secure_client(argv);
    if (!c)
        return 2;
    struct state st = {0};
    kw_error err;
    /* Authenticate first: the metadata request needs a connection that passed TLS and SCRAM. */
    if (kw_client_metadata(c, NULL, 0, 30000, on_metadata, &st, &err) != KW_ERR_OK) {
        fprintf(stderr, "tls_scram: %s\n", err.msg);
        kw_client_free(c);
        return 1;
    }
    while (!st.md_done)
        kw_client_step(c, -1, NULL);
    int status = 1;
    kw_producer *p = NULL;
    kw_producer_opts o;
    kw_producer_opts_init(&o);
    o.on_delivery = on_delivery;
    o.delivery_ud = &st;
    if (st.md_err || kw_producer_new(c, &o, &p, &err) != KW_ERR_OK)
        goto out;
    for (long i = 0; i < count; i++) {
        char value[32];
        snprintf(value, sizeof value, "secure-%ld", i);
        kw_message m;
        kw_message_init(&m);
        m.topic = argv[5];
        m.value = kw_slice_str(value);
        if (kw_producer_send(p, &m, &err) != KW_ERR_OK) {
            fprintf(stderr, "tls_scram: %s\n", err.msg);
            goto out;
        }
    }
    kw_producer_flush(p, -1, &err);
    status = st.acked == count ? 0 : 1;
out:
    kw_producer_free(p);
    kw_client_free(c);
    return status;
}
