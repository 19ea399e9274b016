/* Metrics of the event bus, with the instrument names, descriptions, units and attributes of
 * eventsource-py's KafkaEventBusMetrics (OpenTelemetry), so existing dashboards keep working.
 * They are read through a callback (to feed any metrics SDK) or as Prometheus text
 * exposition format 0.0.4.
 *
 * Series are kept per instrument in insertion order and found by a linear scan: a bus has a
 * handful of topics, event types and handlers. The number of series per instrument is capped,
 * because some label values (event.type) come off the wire. One mutex guards everything: the
 * loop records, a scraper thread may read. */
#include <pthread.h>
#include <string.h>

#include "bus/bus_int.h"

#define MAX_LABELS 3

/* OpenTelemetry's default explicit bucket boundaries: what eventsource-py's histograms get
 * from the SDK, so bucket-based panels line up. */
static const double default_bounds[] = {0,   5,   10,   25,   50,   75,   100,  250,
                                        500, 750, 1000, 2500, 5000, 7500, 10000};
#define N_BOUNDS (sizeof(default_bounds) / sizeof(default_bounds[0]))

typedef struct def {
    const char *name, *description, *unit;
    kw_bus_metric_kind kind;
    const char *labels[MAX_LABELS];
    size_t n_labels;
} def;

#define C KW_BUS_METRIC_COUNTER
#define H KW_BUS_METRIC_HISTOGRAM
#define G KW_BUS_METRIC_GAUGE

static const def defs[KWI_BUS_M__COUNT] = {
    [KWI_BUS_M_PUBLISHED] = {"kafka.eventbus.messages.published",
                             "Total messages published to Kafka",
                             "messages",
                             C,
                             {"messaging.destination", "event.type"},
                             2},
    [KWI_BUS_M_CONSUMED] = {"kafka.eventbus.messages.consumed",
                            "Total messages consumed from Kafka",
                            "messages",
                            C,
                            {"messaging.destination", "messaging.kafka.partition", "event.type"},
                            3},
    [KWI_BUS_M_HANDLER_CALLS] = {"kafka.eventbus.handler.invocations",
                                 "Total handler invocations",
                                 "invocations",
                                 C,
                                 {"handler.name", "event.type"},
                                 2},
    [KWI_BUS_M_HANDLER_ERRORS] = {"kafka.eventbus.handler.errors",
                                  "Total handler errors",
                                  "errors",
                                  C,
                                  {"handler.name", "event.type", "error.type"},
                                  3},
    [KWI_BUS_M_DLQ] = {"kafka.eventbus.messages.dlq",
                       "Total messages sent to dead letter queue",
                       "messages",
                       C,
                       {"dlq.reason", "error.type"},
                       2},
    [KWI_BUS_M_PUBLISH_ERRORS] = {"kafka.eventbus.publish.errors",
                                  "Total publish errors",
                                  "errors",
                                  C,
                                  {"messaging.destination", "event.type", "error.type"},
                                  3},
    [KWI_BUS_M_RECONNECTIONS] = {"kafka.eventbus.reconnections",
                                 "Total reconnection attempts",
                                 "reconnections",
                                 C,
                                 {NULL},
                                 0},
    [KWI_BUS_M_REBALANCES] = {"kafka.eventbus.rebalances",
                              "Total consumer rebalances",
                              "rebalances",
                              C,
                              {"messaging.kafka.consumer_group"},
                              1},
    [KWI_BUS_M_PUBLISH_DURATION] = {"kafka.eventbus.publish.duration",
                                    "Time to publish messages to Kafka",
                                    "ms",
                                    H,
                                    {"messaging.destination"},
                                    1},
    [KWI_BUS_M_CONSUME_DURATION] = {"kafka.eventbus.consume.duration",
                                    "Time to process consumed messages",
                                    "ms",
                                    H,
                                    {"messaging.destination"},
                                    1},
    [KWI_BUS_M_HANDLER_DURATION] = {"kafka.eventbus.handler.duration",
                                    "Handler execution time",
                                    "ms",
                                    H,
                                    {"handler.name", "event.type"},
                                    2},
    [KWI_BUS_M_BATCH_SIZE] =
        {"kafka.eventbus.batch.size", "Publish batch size", "messages", H, {NULL}, 0},
    [KWI_BUS_M_CONNECTIONS] = {"kafka.eventbus.connections.active",
                               "Connection status (1=connected, 0=disconnected)",
                               "connections",
                               G,
                               {"messaging.kafka.consumer_group"},
                               1},
    [KWI_BUS_M_CONSUMER_LAG] = {"kafka.eventbus.consumer.lag",
                                "Consumer lag per partition (messages behind)",
                                "messages",
                                G,
                                {"topic", "partition"},
                                2},
};

typedef struct series {
    char *lv; /* the label values, each NUL-terminated, one after the other */
    size_t lv_size;
    double value; /* counter/gauge value; histogram sum */
    uint64_t count;
    uint64_t buckets[N_BOUNDS]; /* histogram: per bucket, not cumulative */
    uint64_t overflow;
} series;

typedef struct instrument {
    series *s;
    size_t n, cap;
} instrument;

struct kw_bus_metrics {
    const kw_allocator *a;
    pthread_mutex_t mu;
    instrument inst[KWI_BUS_M__COUNT];
    uint64_t dropped;
};

kw_err
kwi_bus_metrics_new(const kw_allocator *a, kw_bus_metrics **out)
{
    if (!out)
        return KW_ERR_INVALID_ARG;
    *out = NULL;
    a = a ? a : kw_allocator_default();
    kw_bus_metrics *m = a->alloc(a->ud, sizeof(*m));
    if (!m)
        return KW_ERR_NOMEM;
    memset(m, 0, sizeof(*m));
    m->a = a;
    if (pthread_mutex_init(&m->mu, NULL) != 0) {
        a->free(a->ud, m, sizeof(*m));
        return KW_ERR_NOMEM;
    }
    *out = m;
    return KW_ERR_OK;
}

static void
clear(kw_bus_metrics *m, instrument *in)
{
    for (size_t i = 0; i < in->n; i++)
        m->a->free(m->a->ud, in->s[i].lv, in->s[i].lv_size);
    if (in->s)
        m->a->free(m->a->ud, in->s, in->cap * sizeof(*in->s));
    memset(in, 0, sizeof(*in));
}

void
kwi_bus_metrics_free(kw_bus_metrics *m)
{
    if (!m)
        return;
    for (int i = 0; i < KWI_BUS_M__COUNT; i++)
        clear(m, &m->inst[i]);
    pthread_mutex_destroy(&m->mu);
    m->a->free(m->a->ud, m, sizeof(*m));
}

/* Whether series s has exactly these label values. */
static bool
same_labels(const series *s, const char *const *labels, size_t n)
{
    const char *p = s->lv;
    for (size_t i = 0; i < n; i++) {
        const char *v = labels[i] ? labels[i] : "";
        size_t l = strlen(v);
        if (strncmp(p, v, l + 1) != 0)
            return false;
        p += l + 1;
    }
    return true;
}

/* The series for these labels, created if needed; NULL when it cannot be (counted). */
static series *
lookup(kw_bus_metrics *m, kwi_bus_metric_id id, const char *const *labels, bool create)
{
    instrument *in = &m->inst[id];
    size_t nl = defs[id].n_labels;
    for (size_t i = 0; i < in->n; i++)
        if (same_labels(&in->s[i], labels, nl))
            return &in->s[i];
    if (!create)
        return NULL;
    if (in->n >= KWI_BUS_METRICS_MAX_SERIES)
        return NULL;
    if (in->n == in->cap) {
        size_t ncap = in->cap ? in->cap * 2 : 4;
        series *s = m->a->realloc(m->a->ud, in->s, in->cap * sizeof(*s), ncap * sizeof(*s));
        if (!s)
            return NULL;
        in->s = s;
        in->cap = ncap;
    }
    size_t size = 1; /* never zero, so an instrument without labels has a valid block too */
    for (size_t i = 0; i < nl; i++)
        size += strlen(labels[i] ? labels[i] : "") + 1;
    char *lv = m->a->alloc(m->a->ud, size);
    if (!lv)
        return NULL;
    char *p = lv;
    for (size_t i = 0; i < nl; i++) {
        const char *v = labels[i] ? labels[i] : "";
        size_t l = strlen(v) + 1;
        memcpy(p, v, l);
        p += l;
    }
    *p = '\0';
    series *s = &in->s[in->n++];
    memset(s, 0, sizeof(*s));
    s->lv = lv;
    s->lv_size = size;
    return s;
}

static void
record(kw_bus_metrics *m, kwi_bus_metric_id id, const char *const *labels, double v,
       kw_bus_metric_kind kind)
{
    if (!m || (unsigned)id >= KWI_BUS_M__COUNT)
        return;
    pthread_mutex_lock(&m->mu);
    series *s = NULL;
    bool ok = defs[id].kind == kind && (defs[id].n_labels == 0 || labels) &&
              (kind == KW_BUS_METRIC_GAUGE || v >= 0); /* counters only go up; no NaN sums */
    if (ok)
        s = lookup(m, id, labels, true);
    if (!s) {
        m->dropped++;
    } else if (kind == KW_BUS_METRIC_COUNTER) {
        s->value += v;
    } else if (kind == KW_BUS_METRIC_GAUGE) {
        s->value = v;
    } else {
        s->value += v;
        s->count++;
        size_t b = 0;
        while (b < N_BOUNDS && v > default_bounds[b])
            b++;
        if (b < N_BOUNDS)
            s->buckets[b]++;
        else
            s->overflow++;
    }
    pthread_mutex_unlock(&m->mu);
}

void
kwi_bus_metrics_add(kw_bus_metrics *m, kwi_bus_metric_id id, const char *const *labels, double v)
{
    record(m, id, labels, v, KW_BUS_METRIC_COUNTER);
}

void
kwi_bus_metrics_observe(kw_bus_metrics *m, kwi_bus_metric_id id, const char *const *labels,
                        double v)
{
    record(m, id, labels, v, KW_BUS_METRIC_HISTOGRAM);
}

void
kwi_bus_metrics_set(kw_bus_metrics *m, kwi_bus_metric_id id, const char *const *labels, double v)
{
    record(m, id, labels, v, KW_BUS_METRIC_GAUGE);
}

void
kwi_bus_metrics_clear(kw_bus_metrics *m, kwi_bus_metric_id id)
{
    if (!m || (unsigned)id >= KWI_BUS_M__COUNT)
        return;
    pthread_mutex_lock(&m->mu);
    clear(m, &m->inst[id]);
    pthread_mutex_unlock(&m->mu);
}

bool
kwi_bus_metrics_get(kw_bus_metrics *m, kwi_bus_metric_id id, const char *const *labels,
                    double *value, uint64_t *count)
{
    if (!m || (unsigned)id >= KWI_BUS_M__COUNT)
        return false;
    pthread_mutex_lock(&m->mu);
    series *s = defs[id].n_labels == 0 || labels ? lookup(m, id, labels, false) : NULL;
    if (s) {
        if (value)
            *value = s->value;
        if (count)
            *count = s->count;
    }
    pthread_mutex_unlock(&m->mu);
    return s != NULL;
}

uint64_t
kwi_bus_metrics_dropped(kw_bus_metrics *m)
{
    pthread_mutex_lock(&m->mu);
    uint64_t d = m->dropped;
    pthread_mutex_unlock(&m->mu);
    return d;
}

/* ---------------------------------------------------------------- reading */

/* Split a series' label values into kw_bus_label entries. */
static void
labels_of(kwi_bus_metric_id id, const series *s, kw_bus_label *out)
{
    /* Without a series every value is empty; only a series' packed values are walked (past
     * the end of "" there is nothing to read). */
    const char *p = s ? s->lv : NULL;
    for (size_t i = 0; i < defs[id].n_labels; i++) {
        out[i].name = defs[id].labels[i];
        out[i].value = p ? p : "";
        if (p)
            p += strlen(p) + 1;
    }
}

static void
fill(kwi_bus_metric_id id, const series *s, const kw_bus_label *labels, kw_bus_metric *out)
{
    static const uint64_t zero_buckets[N_BOUNDS];
    const def *d = &defs[id];
    memset(out, 0, sizeof(*out));
    out->name = d->name;
    out->description = d->description;
    out->unit = d->unit;
    out->kind = d->kind;
    out->labels = labels;
    out->n_labels = d->n_labels;
    out->value = s ? s->value : 0;
    if (d->kind == KW_BUS_METRIC_HISTOGRAM) {
        out->count = s ? s->count : 0;
        out->bounds = default_bounds;
        out->buckets = s ? s->buckets : zero_buckets;
        out->n_buckets = N_BOUNDS;
        out->overflow = s ? s->overflow : 0;
    }
}

kw_err
kw_bus_metrics_read(kw_bus_metrics *m, kw_bus_metric_fn fn, void *ud)
{
    if (!m || !fn)
        return KW_ERR_INVALID_ARG;
    pthread_mutex_lock(&m->mu);
    for (int id = 0; id < KWI_BUS_M__COUNT; id++) {
        const instrument *in = &m->inst[id];
        kw_bus_label labels[MAX_LABELS] = {{NULL, NULL}};
        kw_bus_metric out;
        if (in->n == 0 && defs[id].n_labels == 0) {
            fill((kwi_bus_metric_id)id, NULL, labels, &out);
            fn(ud, &out);
        }
        for (size_t i = 0; i < in->n; i++) {
            labels_of((kwi_bus_metric_id)id, &in->s[i], labels);
            fill((kwi_bus_metric_id)id, &in->s[i], labels, &out);
            fn(ud, &out);
        }
    }
    pthread_mutex_unlock(&m->mu);
    return KW_ERR_OK;
}

/* ---------------------------------------------------------------- Prometheus */

/* Metric and label names: [a-zA-Z_:][a-zA-Z0-9_:]*, so the dots become underscores. */
static void
prom_name(kwi_bus_out *o, const char *s)
{
    for (; *s; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == ':';
        kwi_bus_out_put(o, ok ? s : "_", 1);
    }
}

static void
prom_family(kwi_bus_out *o, const def *d)
{
    prom_name(o, d->name);
    if (d->kind == KW_BUS_METRIC_COUNTER)
        kwi_bus_out_str(o, "_total");
    else if (strcmp(d->unit, "ms") == 0)
        kwi_bus_out_str(o, "_milliseconds"); /* the OpenTelemetry exporter's unit suffix */
}

/* Label values escape backslash, double quote and newline (format 0.0.4). */
static void
prom_value(kwi_bus_out *o, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\')
            kwi_bus_out_put(o, "\\\\", 2);
        else if (*v == '"')
            kwi_bus_out_put(o, "\\\"", 2);
        else if (*v == '\n')
            kwi_bus_out_put(o, "\\n", 2);
        else
            kwi_bus_out_put(o, v, 1);
    }
}

/* One sample line: family + suffix, the series' labels plus an optional le, the value. */
static void
prom_sample(kwi_bus_out *o, const def *d, const char *suffix, const kw_bus_label *labels,
            const char *le, double v)
{
    prom_family(o, d);
    kwi_bus_out_str(o, suffix);
    if (d->n_labels > 0 || le) {
        kwi_bus_out_str(o, "{");
        for (size_t i = 0; i < d->n_labels; i++) {
            if (i)
                kwi_bus_out_str(o, ",");
            prom_name(o, labels[i].name);
            kwi_bus_out_str(o, "=\"");
            prom_value(o, labels[i].value);
            kwi_bus_out_str(o, "\"");
        }
        if (le) {
            kwi_bus_out_str(o, d->n_labels ? ",le=\"" : "le=\"");
            kwi_bus_out_str(o, le);
            kwi_bus_out_str(o, "\"");
        }
        kwi_bus_out_str(o, "}");
    }
    kwi_bus_out_str(o, " ");
    kwi_bus_out_num(o, v);
    kwi_bus_out_str(o, "\n");
}

static void
prom_series(kwi_bus_out *o, kwi_bus_metric_id id, const series *s)
{
    const def *d = &defs[id];
    kw_bus_label labels[MAX_LABELS] = {{NULL, NULL}};
    labels_of(id, s, labels);
    if (d->kind != KW_BUS_METRIC_HISTOGRAM) {
        prom_sample(o, d, "", labels, NULL, s ? s->value : 0);
        return;
    }
    uint64_t cum = 0;
    for (size_t b = 0; b < N_BOUNDS; b++) {
        cum += s ? s->buckets[b] : 0;
        kwi_bus_out le;
        char lebuf[32];
        kwi_bus_out_init(&le, lebuf, sizeof(lebuf));
        kwi_bus_out_num(&le, default_bounds[b]);
        size_t n;
        kwi_bus_out_finish(&le, &n);
        prom_sample(o, d, "_bucket", labels, lebuf, (double)cum);
    }
    prom_sample(o, d, "_bucket", labels, "+Inf", (double)(s ? s->count : 0));
    prom_sample(o, d, "_sum", labels, NULL, s ? s->value : 0);
    prom_sample(o, d, "_count", labels, NULL, (double)(s ? s->count : 0));
}

kw_err
kw_bus_metrics_prometheus(kw_bus_metrics *m, char *buf, size_t *len)
{
    static const char *const type_names[] = {"counter", "histogram", "gauge"};
    if (!m || !len)
        return KW_ERR_INVALID_ARG;
    kwi_bus_out o;
    kwi_bus_out_init(&o, buf, buf ? *len : 0);
    pthread_mutex_lock(&m->mu);
    for (int id = 0; id < KWI_BUS_M__COUNT; id++) {
        const def *d = &defs[id];
        const instrument *in = &m->inst[id];
        kwi_bus_out_str(&o, "# HELP ");
        prom_family(&o, d);
        kwi_bus_out_fmt(&o, " %s (%s)\n", d->description, d->unit);
        kwi_bus_out_str(&o, "# TYPE ");
        prom_family(&o, d);
        kwi_bus_out_fmt(&o, " %s\n", type_names[d->kind]);
        if (in->n == 0 && d->n_labels == 0)
            prom_series(&o, (kwi_bus_metric_id)id, NULL);
        for (size_t i = 0; i < in->n; i++)
            prom_series(&o, (kwi_bus_metric_id)id, &in->s[i]);
    }
    pthread_mutex_unlock(&m->mu);
    return kwi_bus_out_finish(&o, len);
}
