/* ListOffsets (2) and DeleteRecords (21).
 *
 * ListOffsets special timestamps: -2 earliest (the log start), -1 latest (the high watermark,
 * or the last stable offset for read_committed), -3 the record with the largest timestamp
 * (KIP-734), -4 earliest local (= earliest: nothing is tiered), -5 latest tiered (KIP-1005:
 * nothing is tiered, so no offset). Any other value is a time: the first record whose
 * timestamp is at least that, found through each batch's max timestamp and then the batch's
 * records, as Kafka's time index and segment scan do. */
#include <string.h>

#include "mock_int.h"

#define TS_LATEST         -1
#define TS_EARLIEST       -2
#define TS_MAX            -3
#define TS_EARLIEST_LOCAL -4
#define TS_LATEST_TIERED  -5

static int32_t
stored_epoch(const kwi_mock_log *l, const kwi_mock_batch *b)
{
    const uint8_t *p = kwi_mock_log_data(l, b) + 12;
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

typedef struct found {
    int64_t offset, ts;
    int32_t epoch;
} found;

/* The first record of stored batch `sb` with offset in [from, upto) and timestamp >= target;
 * false if none. LogAppendTime batches give every record the batch's max timestamp. */
static bool
scan_batch(kw_mock *m, const kwi_mock_log *l, const kwi_mock_batch *sb, int64_t from, int64_t upto,
           int64_t target, found *f)
{
    kw_batch_iter bi;
    kw_batch b;
    kw_batch_iter_init(&bi, (kw_slice){kwi_mock_log_data(l, sb), (int32_t)sb->len});
    if (!kw_batch_iter_next(&bi, &b))
        return false;
    kw_record_iter ri;
    kw_record rec;
    if (kw_record_iter_init(&ri, &b, &m->scratch, (size_t)m->conf.max_request_bytes))
        return false;
    bool lat = kw_batch_log_append_time(&b);
    while (kw_record_iter_next(&ri, &rec)) {
        int64_t ts = lat ? b.max_timestamp : rec.timestamp;
        if (rec.offset >= from && rec.offset < upto && ts >= target) {
            f->offset = rec.offset;
            f->ts = ts;
            f->epoch = b.partition_leader_epoch;
            return true;
        }
    }
    return false;
}

static bool
by_time(kw_mock *m, const kwi_mock_log *l, int64_t target, int64_t upto, found *f)
{
    for (size_t i = kwi_mock_log_find(l, l->log_start); i < l->n; i++) {
        const kwi_mock_batch *b = kwi_mock_log_batch(l, i);
        if (b->base >= upto)
            break;
        if (b->max_ts >= target && scan_batch(m, l, b, l->log_start, upto, target, f))
            return true;
    }
    return false;
}

static bool
max_timestamp(kw_mock *m, const kwi_mock_log *l, int64_t upto, found *f)
{
    const kwi_mock_batch *best = NULL;
    for (size_t i = kwi_mock_log_find(l, l->log_start); i < l->n; i++) {
        const kwi_mock_batch *b = kwi_mock_log_batch(l, i);
        if (b->base >= upto)
            break;
        if (!best || b->max_ts > best->max_ts)
            best = b;
    }
    return best && scan_batch(m, l, best, l->log_start, upto, best->max_ts, f);
}

static int16_t
list_partition(kwi_mock_req *req, int16_t ver, const kw_list_offsets_req *rq, kwi_mock_topic *t,
               const kw_list_offsets_req_partition *in, kw_list_offsets_resp_partition *out)
{
    kwi_mock_part *p = kwi_mock_part_get(t, in->partition_index);
    if (!p)
        return KWI_E_UNKNOWN_TOPIC_OR_PARTITION;
    if (!kwi_mock_is_leader(p, req->broker))
        return KWI_E_NOT_LEADER_OR_FOLLOWER;
    if (ver >= 4 && in->current_leader_epoch >= 0 && in->current_leader_epoch < p->leader_epoch)
        return KWI_E_FENCED_LEADER_EPOCH;
    if (ver >= 4 && in->current_leader_epoch > p->leader_epoch)
        return KWI_E_UNKNOWN_LEADER_EPOCH;
    const kwi_mock_log *l = &p->log;
    int64_t upto = rq->isolation_level == 1 ? kwi_mock_part_lso(p) : l->hw;
    found f = {-1, -1, p->leader_epoch};
    switch (in->timestamp) {
    case TS_LATEST:
        f.offset = upto;
        break;
    case TS_EARLIEST:
    case TS_EARLIEST_LOCAL: {
        f.offset = l->log_start;
        size_t i = kwi_mock_log_find(l, l->log_start);
        if (i < l->n)
            f.epoch = stored_epoch(l, kwi_mock_log_batch(l, i));
        break;
    }
    case TS_LATEST_TIERED:
        break;
    case TS_MAX:
        if (!max_timestamp(req->m, l, upto, &f))
            f = (found){-1, -1, -1};
        break;
    default:
        if (!by_time(req->m, l, in->timestamp, upto, &f))
            f = (found){-1, -1, -1};
        break;
    }
    out->offset = f.offset;
    out->timestamp = f.ts;
    out->leader_epoch = f.epoch;
    return KWI_E_NONE;
}

static kw_err
list_offsets(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_list_offsets_req *rq = msg;
    kw_list_offsets_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.topics = kwi_mock_req_alloc(req, (size_t)rq->n_topics, sizeof(*resp.topics));
    if (!resp.topics)
        return KW_ERR_NOMEM;
    resp.n_topics = rq->n_topics;
    for (int32_t i = 0; i < rq->n_topics; i++) {
        const kw_list_offsets_req_topic *in = &rq->topics[i];
        kw_list_offsets_resp_topic *out = &resp.topics[i];
        out->name = in->name;
        out->partitions =
            kwi_mock_req_alloc(req, (size_t)in->n_partitions, sizeof(*out->partitions));
        if (!out->partitions)
            return KW_ERR_NOMEM;
        out->n_partitions = in->n_partitions;
        kwi_mock_topic *t = kwi_mock_topic_find(req->m, in->name);
        for (int32_t k = 0; k < in->n_partitions; k++) {
            kw_list_offsets_resp_partition *po = &out->partitions[k];
            po->partition_index = in->partitions[k].partition_index;
            po->offset = po->timestamp = -1;
            po->leader_epoch = -1;
            po->error_code = list_partition(req, ver, rq, t, &in->partitions[k], po);
        }
    }
    return kwi_mock_reply(req, &resp);
}

/* DeleteRecords: offset -1 means "up to the high watermark". */
static int16_t
delete_partition(kwi_mock_req *req, kwi_mock_topic *t, const kw_delete_records_req_partition *in,
                 int64_t *low)
{
    kwi_mock_part *p = kwi_mock_part_get(t, in->partition_index);
    if (!p)
        return KWI_E_UNKNOWN_TOPIC_OR_PARTITION;
    if (!kwi_mock_is_leader(p, req->broker))
        return KWI_E_NOT_LEADER_OR_FOLLOWER;
    int64_t off = in->offset == -1 ? p->log.hw : in->offset;
    if (off < 0 || off > p->log.hw)
        return KWI_E_OFFSET_OUT_OF_RANGE;
    kwi_mock_log_truncate_head(&p->log, off);
    *low = p->log.log_start;
    return KWI_E_NONE;
}

static kw_err
delete_records(kwi_mock_req *req, int16_t ver, void *msg)
{
    (void)ver;
    const kw_delete_records_req *rq = msg;
    kw_delete_records_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.topics = kwi_mock_req_alloc(req, (size_t)rq->n_topics, sizeof(*resp.topics));
    if (!resp.topics)
        return KW_ERR_NOMEM;
    resp.n_topics = rq->n_topics;
    for (int32_t i = 0; i < rq->n_topics; i++) {
        const kw_delete_records_req_topic *in = &rq->topics[i];
        kw_delete_records_resp_topic *out = &resp.topics[i];
        out->name = in->name;
        out->partitions =
            kwi_mock_req_alloc(req, (size_t)in->n_partitions, sizeof(*out->partitions));
        if (!out->partitions)
            return KW_ERR_NOMEM;
        out->n_partitions = in->n_partitions;
        kwi_mock_topic *t = kwi_mock_topic_find(req->m, in->name);
        for (int32_t k = 0; k < in->n_partitions; k++) {
            kw_delete_records_resp_partition *po = &out->partitions[k];
            po->partition_index = in->partitions[k].partition_index;
            po->low_watermark = -1;
            po->error_code = delete_partition(req, t, &in->partitions[k], &po->low_watermark);
        }
    }
    kw_mock *m = req->m;
    kw_err e = kwi_mock_reply(req, &resp); /* req may be gone after this */
    /* Fetches waiting below the new log start must now report OFFSET_OUT_OF_RANGE. */
    kwi_mock_data_arrived(m);
    return e;
}

kw_err
kwi_mock_offsets_init(kw_mock *m)
{
    kw_err e = kwi_mock_api_register(m, &kw_msg_list_offsets_req, -1, -1, list_offsets, NULL);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_delete_records_req, -1, -1, delete_records, NULL);
    return e;
}
