/* Produce (0): batch validation and append, shared with kw_mock_append.
 *
 * Validation follows Kafka's LogValidator for magic-2 batches from clients: the CRC, exactly
 * one batch per partition (Produce v3+), base offset 0, no control batches, a record count that
 * matches the offset range and the records actually present, consecutive record offsets, a key
 * on every record of a compacted topic, a size within max.message.bytes, and a codec the
 * request version allows (zstd needs v7). Compressed batches are decompressed to check them,
 * bounded by max_request_bytes. The stored batch is the client's bytes with the base offset and
 * leader epoch stamped (and LogAppendTime applied when the topic uses it). */
#include <string.h>

#include "kwire/codec.h"
#include "mock_int.h"

static int16_t
fail(kwi_mock_append_res *res, int16_t ec, const char *msg, int32_t record)
{
    res->msg = msg;
    res->bad_record = record;
    return ec;
}

/* Checks the records of a batch: count, structure, offsets, keys of a compacted topic. */
static int16_t
validate_records(kw_mock *m, const kwi_mock_topic *t, const kw_batch *b, kwi_mock_append_res *res)
{
    kw_record_iter ri;
    kw_err e = kw_record_iter_init(&ri, b, &m->scratch, (size_t)m->conf.max_request_bytes);
    if (e == KW_ERR_UNSUPPORTED_CODEC)
        return fail(res, KWI_E_UNSUPPORTED_COMPRESSION_TYPE, "codec not built into kwire", -1);
    if (e == KW_ERR_NOMEM)
        return -1;
    if (e)
        return fail(res, KWI_E_CORRUPT_MESSAGE, "the records cannot be decompressed", -1);
    kw_record rec;
    int32_t i = 0;
    while (kw_record_iter_next(&ri, &rec)) {
        if (rec.offset != i)
            return fail(res, KWI_E_INVALID_RECORD, "record offsets are not consecutive", i);
        if (t->compacted && rec.key.len < 0)
            return fail(res, KWI_E_INVALID_RECORD,
                        "Compacted topic cannot accept message without key", i);
        i++;
    }
    e = kw_record_iter_err(&ri);
    if (e == KW_ERR_NOMEM)
        return -1;
    if (e == KW_ERR_CRC || e == KW_ERR_DECOMPRESS || e == KW_ERR_BOMB)
        return fail(res, KWI_E_CORRUPT_MESSAGE, "the records cannot be decompressed", i);
    if (e)
        return fail(res, KWI_E_INVALID_RECORD, "a record is malformed", i);
    if (i != b->record_count)
        return fail(res, KWI_E_INVALID_RECORD, "record count does not match the records", -1);
    return KWI_E_NONE;
}

int16_t
kwi_mock_validate_batch(kw_mock *m, kwi_mock_part *p, const kw_batch *b, int16_t ver,
                        kwi_mock_append_res *res)
{
    const kwi_mock_topic *t = p->topic;
    if (b->magic != 2)
        return fail(res, KWI_E_INVALID_RECORD, "Produce v3+ carries only magic-2 batches", -1);
    if (b->raw.len > t->max_message_bytes)
        return fail(res, KWI_E_MESSAGE_TOO_LARGE, "the batch exceeds max.message.bytes", -1);
    if (b->base_offset != 0)
        return fail(res, KWI_E_INVALID_RECORD, "the base offset of a produced batch must be 0", -1);
    if (kw_batch_is_control(b))
        return fail(res, KWI_E_INVALID_RECORD, "clients may not write control batches", -1);
    int codec = kw_batch_codec(b);
    if (codec > KW_CODEC_ZSTD)
        return fail(res, KWI_E_CORRUPT_MESSAGE, "unknown compression codec", -1);
    if (codec == KW_CODEC_ZSTD && ver < 7)
        return fail(res, KWI_E_UNSUPPORTED_COMPRESSION_TYPE, "zstd needs Produce v7", -1);
    if (b->record_count <= 0 || (int64_t)b->last_offset_delta + 1 != b->record_count)
        return fail(res, KWI_E_INVALID_RECORD, "the record count does not match the offsets", -1);
    if (b->producer_id >= 0 && b->base_sequence < 0)
        return fail(res, KWI_E_INVALID_RECORD, "an idempotent batch needs a base sequence", -1);
    return validate_records(m, t, b, res);
}

int16_t
kwi_mock_append_batches(kw_mock *m, kwi_mock_part *p, kw_slice txn_id, kw_slice records,
                        int16_t ver, bool one_batch, kwi_mock_append_res *res)
{
    res->base_offset = -1;
    res->append_time = -1;
    res->bad_record = -1;
    res->msg = NULL;
    if (records.len <= 0)
        return fail(res, KWI_E_INVALID_RECORD, "no record batch", -1);
    kw_batch_iter it;
    kw_batch b;
    int32_t count = 0;
    kw_batch_iter_init(&it, records);
    while (kw_batch_iter_next(&it, &b)) {
        if (++count > 1 && one_batch)
            return fail(res, KWI_E_INVALID_RECORD,
                        "Produce v3+ carries exactly one batch per partition", -1);
        int16_t ec = kwi_mock_validate_batch(m, p, &b, ver, res);
        if (ec)
            return ec;
    }
    kw_err e = kw_batch_iter_err(&it);
    if (e == KW_ERR_UNSUPPORTED_VERSION)
        return fail(res, KWI_E_INVALID_RECORD, "Produce v3+ carries only magic-2 batches", -1);
    if (e)
        return fail(res, KWI_E_CORRUPT_MESSAGE,
                    e == KW_ERR_CRC ? "CRC-32C mismatch" : "the batch is malformed", -1);
    if (it.partial)
        return fail(res, KWI_E_CORRUPT_MESSAGE, "the batch is truncated", -1);
    if (count == 0)
        return fail(res, KWI_E_INVALID_RECORD, "no record batch", -1);
    /* Sequence numbers, epochs and transactions (idem.c); a duplicate is answered with the
     * offsets the batch got the first time, and nothing is appended. */
    kwi_mock_idem_plan plan;
    int16_t ec = kwi_mock_idem_check(m, p, txn_id, records, ver, &plan, res);
    if (ec || plan.duplicate)
        return ec;
    if (p->topic->log_append_time)
        res->append_time = kwi_mock_wall_ms(m);
    kw_batch_iter_init(&it, records);
    while (kw_batch_iter_next(&it, &b)) {
        int64_t base;
        if (kwi_mock_log_append(&p->log, &b, p->leader_epoch, res->append_time, &base)) {
            kwi_mock_idem_plan_fini(m, &plan);
            return -1;
        }
        if (res->base_offset < 0)
            res->base_offset = base;
    }
    kwi_mock_idem_commit(m, p, &plan);
    kwi_mock_log_retain(&p->log, p->topic->retention_bytes);
    return KWI_E_NONE;
}

/* ---------------------------------------------------------------- the handler */

typedef struct produce_ctx {
    kwi_mock_req *req;
    int16_t ver;
    bool appended, failed;
    int32_t *leaders; /* distinct leaders named in NOT_LEADER_OR_FOLLOWER answers (v10+) */
    int32_t n_leaders;
} produce_ctx;

static void
note_leader(produce_ctx *pc, int32_t node)
{
    for (int32_t i = 0; i < pc->n_leaders; i++)
        if (pc->leaders[i] == node)
            return;
    pc->leaders[pc->n_leaders++] = node;
}

/* `pre_ec` is an error that applies to the whole topic (bad acks, unknown topic). */
static void
produce_partition(produce_ctx *pc, kwi_mock_topic *t, int16_t pre_ec,
                  const kw_produce_req_partition *in, kw_produce_resp_partition *out)
{
    kw_mock *m = pc->req->m;
    out->index = in->index;
    out->base_offset = -1;
    out->log_append_time_ms = -1;
    out->log_start_offset = -1;
    out->error_message = KW_SLICE_NULL;
    out->current_leader.leader_id = -1;
    out->current_leader.leader_epoch = -1;
    kwi_mock_part *p = kwi_mock_part_get(t, in->index);
    int16_t ec = pre_ec;
    if (!ec && !p)
        ec = KWI_E_UNKNOWN_TOPIC_OR_PARTITION;
    else if (!ec && !kwi_mock_is_leader(p, pc->req->broker)) {
        ec = KWI_E_NOT_LEADER_OR_FOLLOWER;
        /* KIP-951: name the leader so the client need not refresh metadata first. */
        out->current_leader.leader_id = p->leader;
        out->current_leader.leader_epoch = p->leader_epoch;
        note_leader(pc, p->leader);
    }
    if (!ec) {
        kwi_mock_append_res res;
        const kw_produce_req *rq = pc->req->msg;
        ec = kwi_mock_append_batches(m, p, rq->transactional_id, in->records, pc->ver, true, &res);
        if (ec == -1) {
            ec = KWI_E_UNKNOWN_SERVER;
            res.msg = "out of memory";
        }
        if (ec == KWI_E_NONE) {
            out->base_offset = res.base_offset;
            out->log_append_time_ms = res.append_time;
            out->log_start_offset = p->log.log_start;
            pc->appended = true;
        } else {
            out->error_message = kw_slice_str(res.msg);
            if (res.bad_record >= 0) {
                out->record_errors = kwi_mock_req_alloc(pc->req, 1, sizeof(*out->record_errors));
                if (out->record_errors) {
                    out->n_record_errors = 1;
                    out->record_errors[0].batch_index = res.bad_record;
                    out->record_errors[0].batch_index_error_message = kw_slice_str(res.msg);
                }
            }
        }
    }
    out->error_code = ec;
    pc->failed |= ec != KWI_E_NONE;
}

/* The topic by id (v13+) or by name, auto-created if the cluster allows; NULL with *ec. */
static kwi_mock_topic *
produce_topic(produce_ctx *pc, const kw_produce_req_topic *in, kw_produce_resp_topic *out,
              int16_t *ec)
{
    kw_mock *m = pc->req->m;
    out->name = in->name;
    out->topic_id = in->topic_id;
    if (pc->ver >= 13) {
        kwi_mock_topic *t = kwi_mock_topic_find_id(m, &in->topic_id);
        *ec = t ? KWI_E_NONE : KWI_E_UNKNOWN_TOPIC_ID;
        return t;
    }
    kwi_mock_topic *t = kwi_mock_topic_auto(m, in->name, true, ec);
    if (*ec < 0)
        *ec = KWI_E_UNKNOWN_SERVER;
    return t;
}

static kw_err
node_endpoints(produce_ctx *pc, kw_produce_resp *resp)
{
    if (pc->n_leaders == 0)
        return KW_ERR_OK;
    resp->node_endpoints =
        kwi_mock_req_alloc(pc->req, (size_t)pc->n_leaders, sizeof(*resp->node_endpoints));
    if (!resp->node_endpoints)
        return KW_ERR_NOMEM;
    resp->n_node_endpoints = pc->n_leaders;
    for (int32_t i = 0; i < pc->n_leaders; i++) {
        kw_node_endpoint *ne = &resp->node_endpoints[i];
        ne->node_id = pc->leaders[i];
        ne->host = kw_slice_str("127.0.0.1");
        ne->port = kw_mock_broker_port(pc->req->m, pc->leaders[i]);
        ne->rack = KW_SLICE_NULL;
    }
    return KW_ERR_OK;
}

static kw_err
produce(kwi_mock_req *req, int16_t ver, void *msg)
{
    kw_mock *m = req->m;
    const kw_produce_req *rq = msg;
    produce_ctx pc = {req, ver, false, false, NULL, 0};
    pc.leaders = kwi_mock_req_alloc(req, (size_t)req->m->n_brokers, sizeof(int32_t));
    kw_produce_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.responses = kwi_mock_req_alloc(req, (size_t)rq->n_topic_data, sizeof(*resp.responses));
    if (!pc.leaders || !resp.responses)
        return KW_ERR_NOMEM;
    resp.n_responses = rq->n_topic_data;
    int16_t acks_ec =
        rq->acks == 0 || rq->acks == 1 || rq->acks == -1 ? KWI_E_NONE : KWI_E_INVALID_REQUIRED_ACKS;
    for (int32_t i = 0; i < rq->n_topic_data; i++) {
        const kw_produce_req_topic *in = &rq->topic_data[i];
        kw_produce_resp_topic *out = &resp.responses[i];
        int16_t ec = acks_ec;
        out->name = in->name;
        out->topic_id = in->topic_id;
        kwi_mock_topic *t = acks_ec ? NULL : produce_topic(&pc, in, out, &ec);
        out->partition_responses = kwi_mock_req_alloc(req, (size_t)in->n_partition_data,
                                                      sizeof(*out->partition_responses));
        if (!out->partition_responses)
            return KW_ERR_NOMEM;
        out->n_partition_responses = in->n_partition_data;
        for (int32_t k = 0; k < in->n_partition_data; k++)
            produce_partition(&pc, t, ec, &in->partition_data[k], &out->partition_responses[k]);
    }
    kw_err e = KW_ERR_OK;
    if (rq->acks == 0) {
        /* No response; Kafka signals a failed acks=0 produce by closing the connection. */
        if (pc.failed)
            e = KW_ERR_BROKER;
        else
            kwi_mock_noreply(req);
    } else {
        e = node_endpoints(&pc, &resp);
        if (!e)
            e = kwi_mock_reply(req, &resp);
    }
    /* req may be gone now (answered and sent): only m is used from here. */
    if (pc.appended)
        kwi_mock_data_arrived(m);
    return e;
}

kw_err
kwi_mock_produce_init(kw_mock *m)
{
    return kwi_mock_api_register(m, &kw_msg_produce_req, -1, -1, produce, NULL);
}
