/* See rdk_util.h. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rdk_util.h"

static int64_t
mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

kw_client *
kwt_client(const char *bootstrap, const char *const *extra)
{
    kw_conf *conf = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_conf_new(NULL, &conf), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "bootstrap.servers", bootstrap, &err), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "reconnect.backoff.ms", "20", &err), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "reconnect.backoff.max.ms", "200", &err), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "retry.backoff.ms", "20", &err), KW_ERR_OK);
    ck_assert_int_eq(kw_conf_set(conf, "retry.backoff.max.ms", "200", &err), KW_ERR_OK);
    for (size_t i = 0; extra && extra[i]; i++) {
        char key[128];
        const char *eq = strchr(extra[i], '=');
        ck_assert_ptr_nonnull(eq);
        snprintf(key, sizeof(key), "%.*s", (int)(eq - extra[i]), extra[i]);
        ck_assert_msg(kw_conf_set(conf, key, eq + 1, &err) == KW_ERR_OK, "%s", err.msg);
    }
    kw_client *c = NULL;
    kw_err e = kw_client_new(conf, &c, &err);
    ck_assert_msg(e == KW_ERR_OK, "kw_client_new: %s", err.msg);
    return c;
}

void
kwt_run_until(kw_client *c, bool (*cond)(void *ud), void *ud, const char *what)
{
    int64_t end = mono_ms() + KWT_DEADLINE_MS;
    kw_error err;
    while (!cond(ud)) {
        ck_assert_msg(mono_ms() < end, "gave up waiting for: %s", what);
        kw_error_init(&err);
        ck_assert_int_eq(kw_client_step(c, 50, &err), KW_ERR_OK);
    }
}

const kwt_topic *
kwt_md_topic(const kwt_md *md, const char *name)
{
    for (int32_t i = 0; i < md->n_topics; i++)
        if (strcmp(md->topics[i].name, name) == 0)
            return &md->topics[i];
    return NULL;
}

void
kwt_md_cb(kw_client *c, kw_err err, const kw_error *detail, const kw_metadata *md, void *ud)
{
    (void)c;
    kwt_md *out = ud;
    ck_assert_msg(!out->done, "metadata callback fired twice");
    out->done = true;
    out->err = err;
    snprintf(out->msg, sizeof(out->msg), "%s", detail->msg);
    if (err != KW_ERR_OK) {
        ck_assert_ptr_null(md);
        return;
    }
    ck_assert_ptr_nonnull(md);
    out->broker_id = md->broker_id;
    out->n_brokers = md->n_brokers;
    for (int32_t i = 0; i < md->n_brokers && i < 16; i++) {
        out->broker_ids[i] = md->brokers[i].id;
        out->broker_ports[i] = md->brokers[i].port;
    }
    out->n_topics = md->n_topics;
    for (int32_t i = 0; i < md->n_topics && i < 16; i++) {
        kwt_topic *t = &out->topics[i];
        snprintf(t->name, sizeof(t->name), "%s", md->topics[i].name ? md->topics[i].name : "");
        t->error = md->topics[i].error;
        t->n_parts = md->topics[i].n_partitions;
        for (int32_t j = 0; j < t->n_parts && j < 64; j++) {
            t->parts[j].id = md->topics[i].partitions[j].id;
            t->parts[j].leader = md->topics[i].partitions[j].leader;
            t->parts[j].n_replicas = md->topics[i].partitions[j].n_replicas;
        }
    }
    size_t len = sizeof(out->json);
    ck_assert_int_eq(kw_metadata_json(md, out->json, &len), KW_ERR_OK);
}

bool
kwt_md_done(void *ud)
{
    return ((kwt_md *)ud)->done;
}

void
kwt_metadata(kw_client *c, const char *const *topics, size_t n, int timeout_ms, kwt_md *out)
{
    memset(out, 0, sizeof(*out));
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(kw_client_metadata(c, topics, n, timeout_ms, kwt_md_cb, out, &err), KW_ERR_OK);
    ck_assert(!out->done); /* never inside the call */
    kwt_run_until(c, kwt_md_done, out, "the metadata callback");
}

kw_stats
kwt_stats(kw_client *c)
{
    kw_stats s;
    ck_assert_int_eq(kw_client_stats(c, &s, NULL, 0), KW_ERR_OK);
    return s;
}

kw_broker_stats
kwt_broker_stats(kw_client *c, int32_t node_id)
{
    kw_broker_stats v[32];
    kw_stats s;
    ck_assert_int_eq(kw_client_stats(c, &s, v, 32), KW_ERR_OK);
    for (size_t i = 0; i < s.n_brokers && i < 32; i++)
        if (v[i].node_id == node_id)
            return v[i];
    ck_abort_msg("no statistics for broker %d", (int)node_id);
    return v[0];
}
