/* producer: send COUNT records to a topic and wait until every one is acknowledged.
 *
 *     producer BOOTSTRAP TOPIC COUNT [property=value ...]
 *
 * Record i has the key "key-<i % 10>" (so records with the same key land on the same
 * partition, in order), the value "message-<i>" and a header "seq" = i. The program sends
 * without blocking: when the producer's memory budget is full (KW_ERR_QUEUE_FULL) it steps
 * the client's loop, which delivers reports and frees room, and tries again. Then it flushes
 * and prints one line per partition ("partition P: N records, offsets A..B") and a summary.
 *
 * Exit status: 0 when every record was acknowledged, 1 when any failed (each failure is
 * printed with its reason), 2 on a usage or configuration error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/client.h"
#include "kwire/conf.h"
#include "kwire/producer.h"

#define MAX_PARTS 256

struct tally {
    long delivered, failed;
    long count[MAX_PARTS];
    long long first[MAX_PARTS], last[MAX_PARTS];
};

static void
on_delivery(kw_producer *p, const kw_delivery *d, void *ud)
{
    (void)p;
    struct tally *t = ud;
    if (d->err != KW_ERR_OK) {
        /* Report the first few failures in full; the summary counts the rest. */
        if (t->failed++ < 10)
            fprintf(stderr, "producer: record %ld failed: %s\n", (long)(intptr_t)d->opaque,
                    d->detail->msg);
        return;
    }
    t->delivered++;
    if (d->partition < 0 || d->partition >= MAX_PARTS)
        return;
    if (t->count[d->partition]++ == 0)
        t->first[d->partition] = d->offset;
    t->last[d->partition] = d->offset;
}

static int
make_client(const char *bootstrap, char **props, int n_props, kw_client **out)
{
    kw_conf *conf;
    kw_error err;
    if (kw_conf_new(NULL, &conf) != KW_ERR_OK)
        return 2;
    if (kw_conf_set(conf, "bootstrap.servers", bootstrap, &err) != KW_ERR_OK)
        goto bad;
    for (int i = 0; i < n_props; i++) {
        char *eq = strchr(props[i], '=');
        if (!eq) {
            fprintf(stderr, "producer: '%s' is not property=value\n", props[i]);
            kw_conf_free(conf);
            return 2;
        }
        *eq = '\0';
        if (kw_conf_set(conf, props[i], eq + 1, &err) != KW_ERR_OK)
            goto bad;
    }
    /* kw_client_new takes the configuration over, also when it fails. */
    if (kw_client_new(conf, out, &err) != KW_ERR_OK) {
        fprintf(stderr, "producer: %s\n", err.msg);
        return 2;
    }
    return 0;
bad:
    fprintf(stderr, "producer: %s\n", err.msg);
    kw_conf_free(conf);
    return 2;
}

/* Send one record, stepping the loop while the memory budget is full. */
static kw_err
send_one(kw_producer *p, const char *topic, long i)
{
    char key[32], value[64], seq[32];
    snprintf(key, sizeof key, "key-%ld", i % 10);
    snprintf(value, sizeof value, "message-%ld", i);
    snprintf(seq, sizeof seq, "%ld", i);
    kw_header h = {kw_slice_str("seq"), kw_slice_str(seq)};
    kw_message m;
    kw_message_init(&m);
    m.topic = topic;
    m.key = kw_slice_str(key);
    m.value = kw_slice_str(value);
    m.headers = &h;
    m.n_headers = 1;
    m.opaque = (void *)(intptr_t)i;
    kw_error err;
    kw_err e;
    while ((e = kw_producer_send(p, &m, &err)) == KW_ERR_QUEUE_FULL)
        kw_client_step(kw_producer_client(p), 100, NULL);
    if (e != KW_ERR_OK)
        fprintf(stderr, "producer: record %ld not sent: %s\n", i, err.msg);
    return e;
}

int
main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: producer BOOTSTRAP TOPIC COUNT [property=value ...]\n");
        return 2;
    }
    long count = strtol(argv[3], NULL, 10);
    if (count <= 0) {
        fprintf(stderr, "producer: COUNT must be a positive number\n");
        return 2;
    }
    kw_client *c;
    int rc = make_client(argv[1], argv + 4, argc - 4, &c);
    if (rc)
        return rc;
    static struct tally t;
    kw_producer_opts o;
    kw_producer_opts_init(&o);
    o.on_delivery = on_delivery;
    o.delivery_ud = &t;
    kw_producer *p;
    kw_error err;
    if (kw_producer_new(c, &o, &p, &err) != KW_ERR_OK) {
        fprintf(stderr, "producer: %s\n", err.msg);
        kw_client_free(c);
        return 2;
    }
    long unsent = 0;
    for (long i = 0; i < count; i++)
        if (send_one(p, argv[2], i) != KW_ERR_OK)
            unsent++;
    /* Every record ends within delivery.timeout.ms, so waiting without a limit terminates. */
    kw_producer_flush(p, -1, &err);
    for (int i = 0; i < MAX_PARTS; i++)
        if (t.count[i])
            printf("partition %d: %ld records, offsets %lld..%lld\n", i, t.count[i], t.first[i],
                   t.last[i]);
    printf("delivered %ld, failed %ld, not sent %ld\n", t.delivered, t.failed, unsent);
    kw_producer_free(p);
    kw_client_free(c);
    return t.delivered == count ? 0 : 1;
}
