/* See mockfix.h. */
#include "mockfix.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t
kwt_fx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
kwt_fx_slicedup(kw_slice s)
{
    if (s.len < 0)
        return NULL;
    char *d = malloc((size_t)s.len + 1);
    ck_assert_msg(d != NULL, "out of memory");
    if (s.len > 0)
        memcpy(d, s.ptr, (size_t)s.len);
    d[s.len] = '\0';
    return d;
}

/* ---------------------------------------------------------------- the cluster */

void
kwt_fx_mock_opts_init(kwt_fx_mock_opts *o)
{
    memset(o, 0, sizeof(*o));
    kw_mock_conf_init(&o->conf);
    kw_mock_group_conf_init(&o->groups);
}

kw_mock *
kwt_fx_mock(const kwt_fx_mock_opts *o)
{
    kw_mock *m = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_mock_new(&o->conf, &m, &err) == KW_ERR_OK, "kw_mock_new: %s", err.msg);
    ck_assert_int_eq(kw_mock_group_conf_set(m, &o->groups), KW_ERR_OK);
    if (o->topic)
        ck_assert_msg(kw_mock_topic_create(m, o->topic, o->partitions, 1, &err) == KW_ERR_OK,
                      "create %s: %s", o->topic, err.msg);
    ck_assert_msg(kw_mock_thread_start(m, &err) == KW_ERR_OK, "kw_mock_thread_start: %s", err.msg);
    return m;
}

/* ---------------------------------------------------------------- clients */

void
kwt_fx_conf_set(kw_conf *conf, const char *kv)
{
    const char *eq = strchr(kv, '=');
    ck_assert_msg(eq != NULL, "setting '%s' is not key=value", kv);
    char key[128];
    snprintf(key, sizeof(key), "%.*s", (int)(eq - kv), kv);
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_conf_set(conf, key, eq + 1, &err) == KW_ERR_OK, "%s: %s", kv, err.msg);
}

kw_conf *
kwt_fx_conf(const kw_allocator *a, const char *bootstrap, const char *const *base,
            const char *const *extra)
{
    kw_conf *conf = NULL;
    ck_assert_int_eq(kw_conf_new(a, &conf), KW_ERR_OK);
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_conf_set(conf, "bootstrap.servers", bootstrap, &err) == KW_ERR_OK, "%s",
                  err.msg);
    for (size_t i = 0; base && base[i]; i++)
        kwt_fx_conf_set(conf, base[i]);
    for (size_t i = 0; extra && extra[i]; i++)
        kwt_fx_conf_set(conf, extra[i]);
    return conf;
}

static void
log_line(void *ud, kw_log_level level, const char *subsystem, const char *msg)
{
    const char *name = ud;
    fprintf(stderr, "[%s%s%d %s] %s\n", name ? name : "", name ? " " : "", (int)level, subsystem,
            msg);
}

void
kwt_fx_debug_log(kw_client *c, const char *name)
{
    if (getenv("KWT_LOG"))
        kw_client_set_log(c, KW_LOG_DEBUG, log_line, (void *)name);
}

kw_client *
kwt_fx_client(kw_conf *conf, const char *name)
{
    kw_client *c = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_client_new(conf, &c, &err) == KW_ERR_OK, "kw_client_new: %s", err.msg);
    kwt_fx_debug_log(c, name);
    return c;
}

kw_producer *
kwt_fx_producer(kw_client *c, const kw_producer_opts *o)
{
    kw_producer *p = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_producer_new(c, o, &p, &err) == KW_ERR_OK, "kw_producer_new: %s", err.msg);
    return p;
}

kw_consumer *
kwt_fx_consumer(kw_client *c, const kw_consumer_opts *o)
{
    kw_consumer *k = NULL;
    kw_error err;
    kw_error_init(&err);
    ck_assert_msg(kw_consumer_new(c, o, &k, &err) == KW_ERR_OK, "kw_consumer_new: %s", err.msg);
    return k;
}

/* ---------------------------------------------------------------- records */

void
kwt_fx_append(kw_mock *m, const char *topic, int32_t partition, const char *key, const char *value,
              int64_t ts)
{
    kw_error err;
    kw_error_init(&err);
    kw_slice k = key ? kw_slice_str(key) : KW_SLICE_NULL;
    kw_slice v = value ? kw_slice_str(value) : KW_SLICE_NULL;
    ck_assert_msg(kw_mock_append_record(m, topic, partition, k, v, ts, NULL, &err) == KW_ERR_OK,
                  "append to %s [%d]: %s", topic, (int)partition, err.msg);
}

/* The records of one kw_mock_read chunk (whole batches) at or after `from`. */
static void
chunk_records(kw_slice chunk, int64_t from, kw_wr *scratch,
              void (*each)(const kw_record *r, void *ud), void *ud)
{
    kw_batch_iter bi;
    kw_batch b;
    kw_batch_iter_init(&bi, chunk);
    while (kw_batch_iter_next(&bi, &b)) {
        kw_record_iter ri;
        kw_record r;
        ck_assert_int_eq(kw_record_iter_init(&ri, &b, scratch, 1 << 26), KW_ERR_OK);
        while (kw_record_iter_next(&ri, &r))
            if (r.offset >= from) /* a batch read from its middle starts before `from` */
                each(&r, ud);
        ck_assert_int_eq(kw_record_iter_err(&ri), KW_ERR_OK);
    }
    ck_assert_int_eq(kw_batch_iter_err(&bi), KW_ERR_OK);
}

void
kwt_fx_records(kw_mock *m, const char *topic, int32_t partition,
               void (*each)(const kw_record *r, void *ud), void *ud)
{
    kw_mock_partition_info info;
    ck_assert_int_eq(kw_mock_partition_info_get(m, topic, partition, &info), KW_ERR_OK);
    int64_t off = info.log_start_offset;
    kw_wr w, scratch;
    kw_wr_init_dyn(&w, NULL, 1 << 26);
    kw_wr_init_dyn(&scratch, NULL, 1 << 26);
    while (off < info.high_watermark) {
        w.p = w.base;
        int64_t next = off;
        ck_assert_int_eq(kw_mock_read(m, topic, partition, off, 1 << 20, &w, &next), KW_ERR_OK);
        ck_assert_int_gt(next, off);
        chunk_records((kw_slice){w.base, (int32_t)kw_wr_len(&w)}, off, &scratch, each, ud);
        off = next;
    }
    kw_wr_fini(&w);
    kw_wr_fini(&scratch);
}
