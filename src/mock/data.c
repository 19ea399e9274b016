/* The C API over topics and partitions: what tests use to set a cluster up and to check what a
 * client produced. Each call takes the cluster's lock (so it is safe while the cluster's
 * thread runs) and wakes that thread afterwards, since a change can answer a waiting Fetch or
 * arm a timer. */
#include <string.h>

#include "mock_int.h"

static void
lock(kw_mock *m)
{
    pthread_mutex_lock(&m->lock);
}

static void
unlock(kw_mock *m)
{
    bool wake = m->thread_running;
    pthread_mutex_unlock(&m->lock);
    if (wake)
        kwi_reactor_wakeup(m->r);
}

static kwi_mock_part *
find_part(kw_mock *m, const char *topic, int32_t partition)
{
    return kwi_mock_part_get(kwi_mock_topic_find(m, kw_slice_str(topic)), partition);
}

kw_err
kw_mock_topic_create(kw_mock *m, const char *topic, int32_t partitions, int16_t replication_factor,
                     kw_error *err)
{
    if (!topic)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no topic name");
    lock(m);
    kwi_mock_topic *t;
    int16_t ec =
        kwi_mock_topic_create(m, kw_slice_str(topic), partitions, replication_factor, NULL, &t);
    unlock(m);
    switch (ec) {
    case KWI_E_NONE:
        return KW_ERR_OK;
    case KWI_E_TOPIC_ALREADY_EXISTS:
        return kw_error_set(err, KW_ERR_STATE, "topic %s already exists", topic);
    case -1:
        return kw_error_set(err, KW_ERR_NOMEM, "out of memory");
    default:
        return kw_error_set(err, KW_ERR_INVALID_ARG, "cannot create topic %s: %s", topic,
                            kw_broker_err_name(ec));
    }
}

kw_err
kw_mock_topic_delete(kw_mock *m, const char *topic)
{
    lock(m);
    kwi_mock_topic *t = topic ? kwi_mock_topic_find(m, kw_slice_str(topic)) : NULL;
    if (t)
        kwi_mock_topic_delete(m, t);
    unlock(m);
    return t ? KW_ERR_OK : KW_ERR_NOT_FOUND;
}

kw_err
kw_mock_topic_config_set(kw_mock *m, const char *topic, const char *name, const char *value,
                         kw_error *err)
{
    if (!topic || !name)
        return kw_error_set(err, KW_ERR_INVALID_ARG, "no topic or config name");
    lock(m);
    kw_err e = KW_ERR_OK;
    kwi_mock_topic *t = kwi_mock_topic_find(m, kw_slice_str(topic));
    int id = kwi_mock_cfg_lookup(kw_slice_str(name));
    if (!t) {
        e = kw_error_set(err, KW_ERR_NOT_FOUND, "no topic %s", topic);
    } else if (id < 0) {
        e = kw_error_set(err, KW_ERR_CONFIG, "unknown topic config %s", name);
    } else {
        const char *why = kwi_mock_cfg_set(m, t, (kwi_mock_cfg_id)id, kw_slice_str(value));
        if (why && !*why)
            e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        else if (why)
            e = kw_error_set(err, KW_ERR_CONFIG, "%s: %s", name, why);
    }
    unlock(m);
    return e;
}

kw_err
kw_mock_topic_id(kw_mock *m, const char *topic, kw_uuid *out)
{
    lock(m);
    kwi_mock_topic *t = topic ? kwi_mock_topic_find(m, kw_slice_str(topic)) : NULL;
    if (t)
        *out = t->id;
    unlock(m);
    return t ? KW_ERR_OK : KW_ERR_NOT_FOUND;
}

int32_t
kw_mock_topic_partitions(kw_mock *m, const char *topic)
{
    lock(m);
    kwi_mock_topic *t = topic ? kwi_mock_topic_find(m, kw_slice_str(topic)) : NULL;
    int32_t n = t ? t->n_parts : -1;
    unlock(m);
    return n;
}

kw_err
kw_mock_partition_info_get(kw_mock *m, const char *topic, int32_t partition,
                           kw_mock_partition_info *out)
{
    lock(m);
    kwi_mock_part *p = topic ? find_part(m, topic, partition) : NULL;
    if (p) {
        out->leader = p->leader;
        out->leader_epoch = p->leader_epoch;
        out->log_start_offset = p->log.log_start;
        out->high_watermark = p->log.hw;
        out->last_stable_offset = kwi_mock_part_lso(p);
        out->bytes = kwi_mock_log_bytes(&p->log);
        out->batches = (int32_t)p->log.n;
    }
    unlock(m);
    return p ? KW_ERR_OK : KW_ERR_NOT_FOUND;
}

kw_err
kw_mock_partition_leader_set(kw_mock *m, const char *topic, int32_t partition, int32_t node_id)
{
    lock(m);
    kwi_mock_part *p = topic ? find_part(m, topic, partition) : NULL;
    bool ok = p && kwi_mock_broker_by_id(m, node_id);
    if (ok && p->leader != node_id) {
        p->leader = node_id;
        p->leader_epoch++;
        /* Keep the replica list led by the leader, as Kafka's metadata shows it. */
        int32_t i = 0;
        while (i < p->n_replicas && p->replicas[i] != node_id)
            i++;
        if (i == p->n_replicas)
            i = p->n_replicas - 1; /* not a replica yet: it replaces the last one */
        memmove(&p->replicas[1], &p->replicas[0], (size_t)i * sizeof(int32_t));
        p->replicas[0] = node_id;
        kwi_mock_data_arrived(m); /* waiting Fetches on the old leader must answer now */
    }
    unlock(m);
    return ok ? KW_ERR_OK : KW_ERR_NOT_FOUND;
}

kw_err
kw_mock_append(kw_mock *m, const char *topic, int32_t partition, kw_slice batches,
               int64_t *base_offset, kw_error *err)
{
    lock(m);
    kwi_mock_part *p = topic ? find_part(m, topic, partition) : NULL;
    kw_err e = KW_ERR_OK;
    if (!p) {
        e = kw_error_set(err, KW_ERR_NOT_FOUND, "no partition %s-%d", topic ? topic : "(null)",
                         (int)partition);
    } else {
        kwi_mock_append_res res;
        /* The newest Produce version, so that any codec is allowed. */
        int16_t ec = kwi_mock_append_batches(m, p, KW_SLICE_NULL, batches, INT16_MAX, false, &res);
        if (ec == -1) {
            e = kw_error_set(err, KW_ERR_NOMEM, "out of memory");
        } else if (ec) {
            e = kw_error_set(err, KW_ERR_BROKER, "%s: %s", kw_broker_err_name(ec),
                             res.msg ? res.msg : "rejected");
            if (err)
                err->broker_code = ec;
        } else {
            if (base_offset)
                *base_offset = res.base_offset;
            kwi_mock_data_arrived(m);
        }
    }
    unlock(m);
    return e;
}

kw_err
kw_mock_append_record(kw_mock *m, const char *topic, int32_t partition, kw_slice key,
                      kw_slice value, int64_t timestamp, int64_t *offset, kw_error *err)
{
    if (timestamp == -1) {
        lock(m);
        timestamp = kwi_mock_wall_ms(m);
        unlock(m);
    }
    kw_wr w;
    kw_wr_init_dyn(&w, m->a, (size_t)INT32_MAX);
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    kw_batch_builder b;
    kw_err e = kw_batch_builder_init(&b, &w, &o);
    if (!e)
        e = kw_batch_builder_add(&b, timestamp, key, value, NULL, 0);
    if (!e)
        e = kw_batch_builder_finish(&b, NULL);
    if (e) {
        kw_wr_fini(&w);
        return kw_error_set(err, e, "cannot build the batch: %s", kw_err_str(e));
    }
    e = kw_mock_append(m, topic, partition, (kw_slice){w.base, (int32_t)kw_wr_len(&w)}, offset,
                       err);
    kw_wr_fini(&w);
    return e;
}

kw_err
kw_mock_read(kw_mock *m, const char *topic, int32_t partition, int64_t offset, size_t max_bytes,
             kw_wr *out, int64_t *next_offset)
{
    lock(m);
    kwi_mock_part *p = topic ? find_part(m, topic, partition) : NULL;
    kw_err e = KW_ERR_OK;
    if (!p) {
        e = KW_ERR_NOT_FOUND;
    } else if (offset < p->log.log_start || offset > p->log.hw) {
        e = KW_ERR_INVALID_ARG;
    } else {
        const kwi_mock_log *l = &p->log;
        size_t i = kwi_mock_log_find(l, offset);
        size_t used = 0;
        int64_t next = offset;
        for (; i < l->n; i++) {
            const kwi_mock_batch *b = kwi_mock_log_batch(l, i);
            if (used && b->len > max_bytes - used)
                break;
            kw_wr_raw(out, kwi_mock_log_data(l, b), b->len);
            used += b->len;
            next = b->last + 1;
            if (used >= max_bytes)
                break;
        }
        e = kw_wr_finish(out);
        if (!e && next_offset)
            *next_offset = next;
    }
    unlock(m);
    return e;
}
