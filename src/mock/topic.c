/* The topic table: creation (CreateTopics, auto-creation, the C API), lookup by name and by
 * topic id, partition growth (CreatePartitions) and deletion.
 *
 * Topics are kept in creation order, which is also the order Metadata lists them in. A topic
 * count in the thousands is fine for linear lookups; a test broker rarely has more. Leaders are
 * spread round-robin: a topic's first partition is led by the next broker in turn and each
 * further partition by the broker after it, so partitions of one topic land on every broker. */
#include <string.h>

#include "mock_int.h"

#define TOPIC_NAME_MAX 249

static bool
slice_eq(kw_slice a, const char *s, size_t n)
{
    return a.len >= 0 && (size_t)a.len == n && (n == 0 || memcmp(a.ptr, s, n) == 0);
}

kwi_mock_topic *
kwi_mock_topic_find(kw_mock *m, kw_slice name)
{
    for (int32_t i = 0; i < m->n_topics; i++)
        if (slice_eq(name, m->topics[i]->name, m->topics[i]->name_len))
            return m->topics[i];
    return NULL;
}

static bool
uuid_zero(const kw_uuid *id)
{
    static const kw_uuid zero;
    return memcmp(id, &zero, sizeof(zero)) == 0;
}

kwi_mock_topic *
kwi_mock_topic_find_id(kw_mock *m, const kw_uuid *id)
{
    if (uuid_zero(id))
        return NULL;
    for (int32_t i = 0; i < m->n_topics; i++)
        if (memcmp(&m->topics[i]->id, id, sizeof(*id)) == 0)
            return m->topics[i];
    return NULL;
}

kwi_mock_part *
kwi_mock_part_get(kwi_mock_topic *t, int32_t partition)
{
    if (!t || partition < 0 || partition >= t->n_parts)
        return NULL;
    return t->parts[partition];
}

const char *
kwi_mock_topic_name_invalid(kw_slice name)
{
    if (name.len <= 0)
        return "topic name is empty";
    if (name.len > TOPIC_NAME_MAX)
        return "topic name is longer than 249 characters";
    if (slice_eq(name, ".", 1) || slice_eq(name, "..", 2))
        return "topic name cannot be '.' or '..'";
    for (int32_t i = 0; i < name.len; i++) {
        uint8_t c = name.ptr[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return "topic name has a character other than ASCII alphanumerics, '.', '_' and '-'";
    }
    return NULL;
}

/* Kafka refuses a name that differs from an existing one only by '.' versus '_', because both
 * map to the same metric name. */
static bool
collides(kw_mock *m, kw_slice name)
{
    for (int32_t i = 0; i < m->n_topics; i++) {
        const kwi_mock_topic *t = m->topics[i];
        if ((size_t)name.len != t->name_len)
            continue;
        bool same = true;
        for (size_t k = 0; same && k < t->name_len; k++) {
            uint8_t a = name.ptr[k] == '.' ? '_' : name.ptr[k];
            uint8_t b = t->name[k] == '.' ? '_' : (uint8_t)t->name[k];
            same = a == b;
        }
        if (same)
            return true;
    }
    return false;
}

static void
part_free(kw_mock *m, kwi_mock_part *p)
{
    if (!p)
        return;
    kwi_mock_pstate_free(m, p);
    kwi_mock_log_fini(&p->log);
    if (p->replicas)
        m->a->free(m->a->ud, p->replicas, (size_t)p->n_replicas * sizeof(int32_t));
    m->a->free(m->a->ud, p, sizeof(*p));
}

static void
topic_free(kw_mock *m, kwi_mock_topic *t)
{
    for (int32_t i = 0; i < t->n_parts; i++)
        part_free(m, t->parts[i]);
    if (t->parts)
        m->a->free(m->a->ud, t->parts, (size_t)t->n_parts * sizeof(*t->parts));
    for (int i = 0; i < KWI_CFG__COUNT; i++)
        if (t->cfg[i])
            m->a->free(m->a->ud, t->cfg[i], strlen(t->cfg[i]) + 1);
    if (t->name)
        m->a->free(m->a->ud, t->name, t->name_len + 1);
    m->a->free(m->a->ud, t, sizeof(*t));
}

/* One new partition; `row` (rf broker ids, leader first) or NULL for the round-robin spread. */
static kwi_mock_part *
part_new(kw_mock *m, kwi_mock_topic *t, int32_t index, const int32_t *row)
{
    kwi_mock_part *p = m->a->alloc(m->a->ud, sizeof(*p));
    int32_t *reps = m->a->alloc(m->a->ud, (size_t)t->replication_factor * sizeof(int32_t));
    if (!p || !reps) {
        if (p)
            m->a->free(m->a->ud, p, sizeof(*p));
        if (reps)
            m->a->free(m->a->ud, reps, (size_t)t->replication_factor * sizeof(int32_t));
        return NULL;
    }
    memset(p, 0, sizeof(*p));
    p->topic = t;
    p->index = index;
    p->replicas = reps;
    p->n_replicas = t->replication_factor;
    uint32_t first = t->spread;
    for (int32_t r = 0; r < t->replication_factor; r++)
        reps[r] =
            row ? row[r]
                : (int32_t)((first + (uint32_t)index + (uint32_t)r) % (uint32_t)m->n_brokers) + 1;
    p->leader = reps[0];
    kwi_mock_log_init(&p->log, m->a);
    return p;
}

kw_err
kwi_mock_topic_grow(kw_mock *m, kwi_mock_topic *t, int32_t count, const int32_t *const *assign)
{
    if (count <= t->n_parts)
        return KW_ERR_OK;
    kwi_mock_part **np = m->a->alloc(m->a->ud, (size_t)count * sizeof(*np));
    if (!np)
        return KW_ERR_NOMEM;
    memset(np, 0, (size_t)count * sizeof(*np));
    for (int32_t i = t->n_parts; i < count; i++) {
        np[i] = part_new(m, t, i, assign ? assign[i - t->n_parts] : NULL);
        if (!np[i]) {
            for (int32_t k = t->n_parts; k < i; k++)
                part_free(m, np[k]);
            m->a->free(m->a->ud, np, (size_t)count * sizeof(*np));
            return KW_ERR_NOMEM;
        }
    }
    if (t->n_parts) {
        memcpy(np, t->parts, (size_t)t->n_parts * sizeof(*np));
        m->a->free(m->a->ud, t->parts, (size_t)t->n_parts * sizeof(*np));
    }
    t->parts = np;
    t->n_parts = count;
    return KW_ERR_OK;
}

static void
new_topic_id(kw_mock *m, kw_uuid *id)
{
    /* Kafka never hands out the zero id nor the metadata topic's id (zero but for the last
     * bit); a repeat among 128 random bits is not a practical concern, but costs nothing. */
    static const kw_uuid meta = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}};
    do {
        kwi_mock_random(id, sizeof(*id));
    } while (uuid_zero(id) || memcmp(id, &meta, sizeof(meta)) == 0 ||
             kwi_mock_topic_find_id(m, id));
}

static kw_err
table_reserve(kw_mock *m)
{
    if (m->n_topics < m->topics_cap)
        return KW_ERR_OK;
    int32_t ncap = m->topics_cap ? m->topics_cap * 2 : 16;
    kwi_mock_topic **nt =
        m->topics ? m->a->realloc(m->a->ud, m->topics, (size_t)m->topics_cap * sizeof(*nt),
                                  (size_t)ncap * sizeof(*nt))
                  : m->a->alloc(m->a->ud, (size_t)ncap * sizeof(*nt));
    if (!nt)
        return KW_ERR_NOMEM;
    m->topics = nt;
    m->topics_cap = ncap;
    return KW_ERR_OK;
}

int16_t
kwi_mock_topic_create(kw_mock *m, kw_slice name, int32_t partitions, int16_t rf,
                      const int32_t *const *assign, kwi_mock_topic **out)
{
    *out = NULL;
    if (kwi_mock_topic_name_invalid(name))
        return KWI_E_INVALID_TOPIC;
    if (kwi_mock_topic_find(m, name))
        return KWI_E_TOPIC_ALREADY_EXISTS;
    if (collides(m, name))
        return KWI_E_INVALID_TOPIC;
    if (partitions == -1)
        partitions = m->conf.default_partitions;
    if (partitions < 1 || partitions > KW_MOCK_MAX_PARTITIONS)
        return KWI_E_INVALID_PARTITIONS;
    if (rf == -1)
        rf = m->conf.default_replication_factor;
    if (rf < 1 || rf > m->n_brokers)
        return KWI_E_INVALID_REPLICATION_FACTOR;
    if (table_reserve(m))
        return -1;
    kwi_mock_topic *t = m->a->alloc(m->a->ud, sizeof(*t));
    if (!t)
        return -1;
    memset(t, 0, sizeof(*t));
    t->name = m->a->alloc(m->a->ud, (size_t)name.len + 1);
    if (!t->name) {
        topic_free(m, t);
        return -1;
    }
    memcpy(t->name, name.ptr, (size_t)name.len);
    t->name[name.len] = '\0';
    t->name_len = (size_t)name.len;
    t->replication_factor = rf;
    t->spread = m->topic_seq;
    new_topic_id(m, &t->id);
    if (kwi_mock_topic_grow(m, t, partitions, assign)) {
        topic_free(m, t);
        return -1;
    }
    m->topic_seq++;
    kwi_mock_cfg_apply(m, t);
    m->topics[m->n_topics++] = t;
    kwi_mock_logf(m, KW_MOCK_LOG_INFO, "created topic %s with %d partitions", t->name,
                  (int)partitions);
    *out = t;
    return KWI_E_NONE;
}

void
kwi_mock_topic_delete(kw_mock *m, kwi_mock_topic *t)
{
    for (int32_t i = 0; i < m->n_topics; i++) {
        if (m->topics[i] != t)
            continue;
        memmove(&m->topics[i], &m->topics[i + 1], (size_t)(m->n_topics - i - 1) * sizeof(t));
        m->n_topics--;
        break;
    }
    kwi_mock_logf(m, KW_MOCK_LOG_INFO, "deleted topic %s", t->name);
    topic_free(m, t);
    /* Fetches waiting on its partitions must now answer with an error. */
    kwi_mock_data_arrived(m);
}

kwi_mock_topic *
kwi_mock_topic_auto(kw_mock *m, kw_slice name, bool allowed, int16_t *ec)
{
    kwi_mock_topic *t = kwi_mock_topic_find(m, name);
    if (t) {
        *ec = KWI_E_NONE;
        return t;
    }
    if (!allowed || !m->conf.auto_create_topics) {
        *ec = KWI_E_UNKNOWN_TOPIC_OR_PARTITION;
        return NULL;
    }
    *ec = kwi_mock_topic_create(m, name, -1, -1, NULL, &t);
    return t;
}

void
kwi_mock_topics_free(kw_mock *m)
{
    for (int32_t i = 0; i < m->n_topics; i++)
        topic_free(m, m->topics[i]);
    if (m->topics)
        m->a->free(m->a->ud, m->topics, (size_t)m->topics_cap * sizeof(*m->topics));
    m->topics = NULL;
    m->n_topics = m->topics_cap = 0;
}
