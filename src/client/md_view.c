/* The public view of a Metadata response (kw_metadata) and its JSON form.
 *
 * The view is built in one allocation: two passes over the response with the same code, the
 * first measuring, the second filling. Strings are copied so they can be NUL-terminated;
 * brokers and partitions are sorted by id, which is what a person reading `kwire metadata`
 * expects and what tests compare against. */
#include <stdlib.h>
#include <string.h>

#include "client/client_int.h"
#include "client/json.h"

typedef struct bump {
    uint8_t *base; /* NULL while measuring */
    size_t off;
} bump;

static void *
take(bump *b, size_t n)
{
    size_t at = (b->off + 7u) & ~(size_t)7u;
    b->off = at + n;
    return b->base ? b->base + at : NULL;
}

static const char *
str_copy(bump *b, kw_slice s)
{
    if (s.len < 0)
        return NULL;
    char *p = take(b, (size_t)s.len + 1);
    if (p) {
        if (s.len)
            memcpy(p, s.ptr, (size_t)s.len);
        p[s.len] = '\0';
    }
    return p;
}

static const int32_t *
ints_copy(bump *b, const int32_t *v, int32_t n)
{
    if (n <= 0)
        return NULL;
    int32_t *p = take(b, (size_t)n * sizeof(int32_t));
    if (p)
        memcpy(p, v, (size_t)n * sizeof(int32_t));
    return p;
}

static int
cmp_broker(const void *a, const void *b)
{
    int32_t x = ((const kw_broker_info *)a)->id, y = ((const kw_broker_info *)b)->id;
    return (x > y) - (x < y);
}

static int
cmp_part(const void *a, const void *b)
{
    int32_t x = ((const kw_partition_info *)a)->id, y = ((const kw_partition_info *)b)->id;
    return (x > y) - (x < y);
}

static void
fill_topic(bump *b, const kw_metadata_resp_topic *t, kw_topic_info *out)
{
    int32_t np = t->n_partitions > 0 ? t->n_partitions : 0;
    kw_partition_info *parts = take(b, (size_t)np * sizeof(*parts));
    const char *name = str_copy(b, t->name);
    for (int32_t j = 0; j < np; j++) {
        const kw_metadata_resp_partition *p = &t->partitions[j];
        const int32_t *rep = ints_copy(b, p->replica_nodes, p->n_replica_nodes);
        const int32_t *isr = ints_copy(b, p->isr_nodes, p->n_isr_nodes);
        const int32_t *off = ints_copy(b, p->offline_replicas, p->n_offline_replicas);
        if (!parts)
            continue;
        kw_partition_info *q = &parts[j];
        q->id = p->partition_index;
        q->leader = p->leader_id;
        q->leader_epoch = p->leader_epoch;
        q->error = p->error_code;
        q->replicas = rep;
        q->n_replicas = p->n_replica_nodes > 0 ? p->n_replica_nodes : 0;
        q->isr = isr;
        q->n_isr = p->n_isr_nodes > 0 ? p->n_isr_nodes : 0;
        q->offline = off;
        q->n_offline = p->n_offline_replicas > 0 ? p->n_offline_replicas : 0;
    }
    if (!out)
        return;
    if (parts && np > 1)
        qsort(parts, (size_t)np, sizeof(*parts), cmp_part);
    out->name = name;
    out->id = t->topic_id;
    out->error = t->error_code;
    out->internal = t->is_internal;
    out->partitions = parts;
    out->n_partitions = np;
}

/* One pass: measures when b->base is NULL, fills otherwise. */
static void
layout(bump *b, const kw_metadata_resp *m, int32_t node, kw_metadata *out)
{
    int32_t nb = m->n_brokers > 0 ? m->n_brokers : 0;
    int32_t nt = m->n_topics > 0 ? m->n_topics : 0;
    kw_broker_info *brokers = take(b, (size_t)nb * sizeof(*brokers));
    kw_topic_info *topics = take(b, (size_t)nt * sizeof(*topics));
    const char *cluster = str_copy(b, m->cluster_id);
    for (int32_t i = 0; i < nb; i++) {
        const kw_metadata_resp_broker *r = &m->brokers[i];
        const char *host = str_copy(b, r->host);
        const char *rack = str_copy(b, r->rack);
        if (brokers) {
            brokers[i].id = r->node_id;
            brokers[i].host = host ? host : "";
            brokers[i].port = r->port;
            brokers[i].rack = rack;
        }
    }
    for (int32_t i = 0; i < nt; i++)
        fill_topic(b, &m->topics[i], topics ? &topics[i] : NULL);
    if (!b->base)
        return;
    if (nb > 1)
        qsort(brokers, (size_t)nb, sizeof(*brokers), cmp_broker);
    out->cluster_id = cluster;
    out->controller_id = m->controller_id;
    out->broker_id = node;
    out->brokers = brokers;
    out->n_brokers = nb;
    out->topics = topics;
    out->n_topics = nt;
}

kw_err kwi_md_view_build(kw_client *c, const kw_metadata_resp *m, int32_t node, void **blk,
                         size_t *blk_sz, kw_metadata *out);

kw_err
kwi_md_view_build(kw_client *c, const kw_metadata_resp *m, int32_t node, void **blk, size_t *blk_sz,
                  kw_metadata *out)
{
    bump b = {NULL, 0};
    memset(out, 0, sizeof(*out));
    layout(&b, m, node, NULL);
    size_t sz = b.off ? b.off : 1;
    b.base = kwi_client_alloc(c, sz);
    if (!b.base)
        return KW_ERR_NOMEM;
    memset(b.base, 0, sz);
    b.off = 0;
    layout(&b, m, node, out);
    *blk = b.base;
    *blk_sz = sz;
    return KW_ERR_OK;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static void
json_ints(kwi_json *j, const int32_t *v, int32_t n)
{
    kwi_json_raw(j, "[");
    for (int32_t i = 0; i < n; i++)
        kwi_json_fmt(j, "%s%d", i ? "," : "", (int)v[i]);
    kwi_json_raw(j, "]");
}

static void
json_uuid(kwi_json *j, const kw_uuid *u)
{
    static const char hex[] = "0123456789abcdef";
    char s[37];
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            s[k++] = '-';
        s[k++] = hex[u->b[i] >> 4];
        s[k++] = hex[u->b[i] & 15];
    }
    s[k] = '\0';
    kwi_json_str(j, s, k);
}

static void
json_topic(kwi_json *j, const kw_topic_info *t)
{
    kwi_json_raw(j, "{\"name\":");
    kwi_json_str(j, t->name, t->name ? strlen(t->name) : 0);
    kwi_json_raw(j, ",\"id\":");
    json_uuid(j, &t->id);
    kwi_json_fmt(j, ",\"error\":%d,\"internal\":%s,\"partitions\":[", (int)t->error,
                 t->internal ? "true" : "false");
    for (int32_t i = 0; i < t->n_partitions; i++) {
        const kw_partition_info *p = &t->partitions[i];
        kwi_json_fmt(j, "%s{\"id\":%d,\"leader\":%d", i ? "," : "", (int)p->id, (int)p->leader);
        kwi_json_fmt(j, ",\"leader_epoch\":%d,\"error\":%d", (int)p->leader_epoch, (int)p->error);
        kwi_json_raw(j, ",\"replicas\":");
        json_ints(j, p->replicas, p->n_replicas);
        kwi_json_raw(j, ",\"isr\":");
        json_ints(j, p->isr, p->n_isr);
        kwi_json_raw(j, ",\"offline\":");
        json_ints(j, p->offline, p->n_offline);
        kwi_json_raw(j, "}");
    }
    kwi_json_raw(j, "]}");
}

kw_err
kw_metadata_json(const kw_metadata *md, char *buf, size_t *len)
{
    if (!md || !len)
        return KW_ERR_INVALID_ARG;
    kwi_json j;
    kwi_json_init(&j, buf, buf ? *len : 0);
    kwi_json_raw(&j, "{\"cluster_id\":");
    kwi_json_str(&j, md->cluster_id, md->cluster_id ? strlen(md->cluster_id) : 0);
    kwi_json_fmt(&j, ",\"controller_id\":%d,\"brokers\":[", (int)md->controller_id);
    for (int32_t i = 0; i < md->n_brokers; i++) {
        const kw_broker_info *b = &md->brokers[i];
        kwi_json_fmt(&j, "%s{\"id\":%d,\"host\":", i ? "," : "", (int)b->id);
        kwi_json_str(&j, b->host, strlen(b->host));
        kwi_json_fmt(&j, ",\"port\":%d,\"rack\":", (int)b->port);
        kwi_json_str(&j, b->rack, b->rack ? strlen(b->rack) : 0);
        kwi_json_raw(&j, "}");
    }
    kwi_json_raw(&j, "],\"topics\":[");
    for (int32_t i = 0; i < md->n_topics; i++) {
        if (i)
            kwi_json_raw(&j, ",");
        json_topic(&j, &md->topics[i]);
    }
    kwi_json_raw(&j, "]}");
    return kwi_json_finish(&j, len);
}
