/* kwire-mock, data path: Produce and Fetch round trips (byte-identical batches with assigned
 * offsets, across classic, flexible and topic-id versions, compressed batches), acks=0, batch
 * validation errors (CRC, structure, size, codec), leadership errors and hints, Fetch waiting
 * (virtual and real clocks), Fetch limits, fetch sessions, and the C API's append and read. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kwire/codec.h"
#include "mock_client.h"

static int64_t
vclock(void *ud)
{
    return *(int64_t *)ud;
}

static kw_mock *
new_mock(int brokers, int64_t *vnow)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.brokers = brokers;
    if (vnow) {
        conf.clock = vclock;
        conf.clock_ud = vnow;
    }
    kw_mock *m = NULL;
    ck_assert_int_eq(kw_mock_new(&conf, &m, NULL), KW_ERR_OK);
    return m;
}

/* ---------------------------------------------------------------- request builders */

typedef struct produce_one {
    kw_produce_req rq;
    kw_produce_req_topic t;
    kw_produce_req_partition p;
} produce_one;

static void
produce_init(produce_one *po, const char *topic, const kw_uuid *id, int32_t part, kw_slice records,
             int16_t acks)
{
    memset(po, 0, sizeof(*po));
    po->p.index = part;
    po->p.records = records;
    po->t.name = kw_slice_str(topic);
    if (id)
        po->t.topic_id = *id;
    po->t.partition_data = &po->p;
    po->t.n_partition_data = 1;
    po->rq.transactional_id = KW_SLICE_NULL;
    po->rq.acks = acks;
    po->rq.timeout_ms = 30000;
    po->rq.topic_data = &po->t;
    po->rq.n_topic_data = 1;
}

/* Produces one partition's records; returns its result. The error message is copied into the
 * arena; `whole` (optional) receives the whole response, whose strings point into the frame,
 * which is then handed to the caller through *frame (else freed here). */
static kw_produce_resp_partition
produce_ex(mc *c, int16_t ver, const char *topic, int32_t part, kw_slice records, kw_arena *ar,
           kw_produce_resp *whole, uint8_t **frame)
{
    produce_one po;
    produce_init(&po, topic, NULL, part, records, -1);
    kw_produce_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_produce_req, &kw_msg_produce_resp, ver, &po.rq, ar, &r, &f);
    ck_assert_int_eq(r.n_responses, 1);
    ck_assert_int_eq(r.responses[0].n_partition_responses, 1);
    kw_produce_resp_partition out = r.responses[0].partition_responses[0];
    if (out.error_message.len > 0) {
        uint8_t *msg = kw_arena_alloc(ar, (size_t)out.error_message.len);
        memcpy(msg, out.error_message.ptr, (size_t)out.error_message.len);
        out.error_message.ptr = msg;
    }
    if (whole)
        *whole = r;
    if (frame)
        *frame = f;
    else
        free(f);
    return out;
}

static kw_produce_resp_partition
produce(mc *c, int16_t ver, const char *topic, int32_t part, kw_slice records, kw_arena *ar,
        kw_produce_resp *whole)
{
    ck_assert_ptr_null(whole);
    return produce_ex(c, ver, topic, part, records, ar, NULL, NULL);
}

typedef struct fetch_one {
    kw_fetch_req rq;
    kw_fetch_req_topic t;
    kw_fetch_req_partition p;
} fetch_one;

static void
fetch_init(fetch_one *fo, const char *topic, int32_t part, int64_t offset, int32_t max_wait)
{
    memset(fo, 0, sizeof(*fo));
    fo->p.partition = part;
    fo->p.current_leader_epoch = -1;
    fo->p.fetch_offset = offset;
    fo->p.last_fetched_epoch = -1;
    fo->p.log_start_offset = -1;
    fo->p.partition_max_bytes = 1 << 20;
    fo->p.high_watermark = INT64_MAX;
    fo->t.topic = kw_slice_str(topic);
    fo->t.partitions = &fo->p;
    fo->t.n_partitions = 1;
    fo->rq.cluster_id = KW_SLICE_NULL;
    fo->rq.replica_id = -1;
    fo->rq.replica_state.replica_id = -1;
    fo->rq.replica_state.replica_epoch = -1;
    fo->rq.max_wait_ms = max_wait;
    fo->rq.min_bytes = 1;
    fo->rq.max_bytes = 50 << 20;
    fo->rq.session_epoch = -1;
    fo->rq.topics = &fo->t;
    fo->rq.n_topics = 1;
}

/* Fetch and return the one partition; *f holds the frame the records point into. */
static kw_fetch_resp_partition
fetch(mc *c, int16_t ver, fetch_one *fo, kw_arena *ar, uint8_t **f)
{
    kw_fetch_resp r;
    mc_call(c, &kw_msg_fetch_req, &kw_msg_fetch_resp, ver, &fo->rq, ar, &r, f);
    ck_assert_int_eq(r.error_code, 0);
    ck_assert_int_eq(r.n_responses, 1);
    ck_assert_int_eq(r.responses[0].n_partitions, 1);
    return r.responses[0].partitions[0];
}

static int64_t
be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

static int32_t
be32s(const uint8_t *p)
{
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* The fetched bytes are the produced batch with the broker's base offset and leader epoch. */
static void
assert_stored(const uint8_t *got, const uint8_t *sent, size_t len, int64_t base, int32_t epoch)
{
    ck_assert_int_eq(be64(got), base);
    ck_assert_mem_eq(got + 8, sent + 8, 4);
    ck_assert_int_eq(be32s(got + 12), epoch);
    ck_assert_mem_eq(got + 16, sent + 16, len - 16);
}

/* ---------------------------------------------------------------- round trips */

static void
round_trip(int16_t pver, int16_t fver)
{
    kw_mock *m = new_mock(1, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_wr b1, b2;
    kw_wr_init_dyn(&b1, NULL, 1 << 20);
    kw_wr_init_dyn(&b2, NULL, 1 << 20);
    mc_batch(&b1, 5, "k", "v", 1000, 0);
    mc_batch(&b2, 3, "key", "value", 2000, 0);
    kw_uuid id;
    ck_assert_int_eq(kw_mock_topic_id(m, "t", &id), KW_ERR_OK);
    for (int i = 0; i < 2; i++) {
        kw_wr *b = i ? &b2 : &b1;
        produce_one po;
        produce_init(&po, "t", &id, 0, (kw_slice){b->base, (int32_t)kw_wr_len(b)}, -1);
        kw_produce_resp r;
        uint8_t *f;
        mc_call(c, &kw_msg_produce_req, &kw_msg_produce_resp, pver, &po.rq, &ar, &r, &f);
        kw_produce_resp_partition *pr = &r.responses[0].partition_responses[0];
        ck_assert_int_eq(pr->error_code, 0);
        ck_assert_int_eq(pr->base_offset, i ? 5 : 0);
        ck_assert_int_eq(pr->log_append_time_ms, -1);
        if (pver >= 5)
            ck_assert_int_eq(pr->log_start_offset, 0);
        if (pver >= 13)
            ck_assert_mem_eq(r.responses[0].topic_id.b, id.b, 16);
        free(f);
    }
    fetch_one fo;
    fetch_init(&fo, "t", 0, 0, 0);
    fo.t.topic_id = id;
    uint8_t *f;
    kw_fetch_resp_partition p = fetch(c, fver, &fo, &ar, &f);
    ck_assert_int_eq(p.error_code, 0);
    ck_assert_int_eq(p.high_watermark, 8);
    ck_assert_int_eq(p.last_stable_offset, 8);
    if (fver >= 5)
        ck_assert_int_eq(p.log_start_offset, 0);
    ck_assert_int_eq(p.n_aborted_transactions, -1);
    size_t l1 = kw_wr_len(&b1), l2 = kw_wr_len(&b2);
    ck_assert_int_eq(p.records.len, (int32_t)(l1 + l2));
    assert_stored(p.records.ptr, b1.base, l1, 0, 0);
    assert_stored(p.records.ptr + l1, b2.base, l2, 5, 0);
    /* Decoded: offsets 0..7 in order with the produced keys. */
    kw_batch_iter bi;
    kw_batch bt;
    int64_t next = 0;
    kw_batch_iter_init(&bi, p.records);
    while (kw_batch_iter_next(&bi, &bt)) {
        kw_record_iter ri;
        kw_record rec;
        ck_assert_int_eq(kw_record_iter_init(&ri, &bt, NULL, 0), KW_ERR_OK);
        while (kw_record_iter_next(&ri, &rec)) {
            char want[16];
            snprintf(want, sizeof(want), "%s%d", next < 5 ? "k" : "key",
                     (int)(next < 5 ? next : next - 5));
            ck_assert_int_eq(rec.offset, next);
            ck_assert(rec.key.len == (int32_t)strlen(want) &&
                      !memcmp(rec.key.ptr, want, strlen(want)));
            next++;
        }
        ck_assert_int_eq(kw_record_iter_err(&ri), KW_ERR_OK);
    }
    ck_assert_int_eq(kw_batch_iter_err(&bi), KW_ERR_OK);
    ck_assert_int_eq(next, 8);
    free(f);
    /* Fetching from the middle of the first batch returns it whole, as Kafka does. */
    fetch_init(&fo, "t", 0, 3, 0);
    fo.t.topic_id = id;
    p = fetch(c, fver, &fo, &ar, &f);
    ck_assert_int_eq(p.records.len, (int32_t)(l1 + l2));
    free(f);
    /* At the high watermark: nothing, no error. */
    fetch_init(&fo, "t", 0, 8, 0);
    fo.t.topic_id = id;
    p = fetch(c, fver, &fo, &ar, &f);
    ck_assert_int_eq(p.error_code, 0);
    ck_assert_int_eq(p.records.len, 0);
    free(f);
    kw_wr_fini(&b1);
    kw_wr_fini(&b2);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}

START_TEST(test_round_trip_classic)
{
    round_trip(3, 4);
    round_trip(7, 11);
}
END_TEST

START_TEST(test_round_trip_flexible)
{
    round_trip(9, 12);
    round_trip(12, 12);
}
END_TEST

START_TEST(test_round_trip_topic_ids)
{
    round_trip(13, 13);
    round_trip(13, 18);
}
END_TEST

START_TEST(test_round_trip_compressed)
{
    static const int codecs[] = {KW_CODEC_GZIP, KW_CODEC_SNAPPY, KW_CODEC_LZ4, KW_CODEC_ZSTD};
    kw_mock *m = new_mock(1, NULL);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    for (size_t i = 0; i < sizeof(codecs) / sizeof(codecs[0]); i++) {
        if (!kw_codec_available(codecs[i]))
            continue;
        char topic[32];
        snprintf(topic, sizeof(topic), "z-%s", kw_codec_name(codecs[i]));
        kw_wr b;
        kw_wr_init_dyn(&b, NULL, 1 << 20);
        mc_batch(&b, 50, "key-", "a fairly compressible value, repeated, repeated ", 7, codecs[i]);
        kw_produce_resp_partition pr =
            produce(c, 9, topic, 0, (kw_slice){b.base, (int32_t)kw_wr_len(&b)}, &ar, NULL);
        ck_assert_msg(pr.error_code == 0, "%s: %d", topic, pr.error_code);
        fetch_one fo;
        fetch_init(&fo, topic, 0, 0, 0);
        uint8_t *f;
        kw_fetch_resp_partition p = fetch(c, 12, &fo, &ar, &f);
        ck_assert_int_eq(p.high_watermark, 50);
        ck_assert_int_eq(p.records.len, (int32_t)kw_wr_len(&b));
        assert_stored(p.records.ptr, b.base, kw_wr_len(&b), 0, 0);
        free(f);
        kw_wr_fini(&b);
    }
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* acks=0: no response at all; the next request's answer is the first frame. */
START_TEST(test_acks_zero)
{
    kw_mock *m = new_mock(1, NULL);
    mc *c = mc_connect(m, 1, false);
    kw_wr b;
    kw_wr_init_dyn(&b, NULL, 1 << 20);
    mc_batch(&b, 4, "k", "v", 0, 0);
    produce_one po;
    produce_init(&po, "a0", NULL, 0, (kw_slice){b.base, (int32_t)kw_wr_len(&b)}, 0);
    mc_send(c, &kw_msg_produce_req, 8, &po.rq);
    kw_metadata_req mq = {NULL, -1, true, false, false, {NULL, 0}};
    int32_t corr = mc_send(c, &kw_msg_metadata_req, 9, &mq);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_metadata_resp md;
    uint8_t *f;
    mc_recv(c, &kw_msg_metadata_resp, 9, corr, &ar, &md, &f);
    free(f);
    kw_mock_partition_info info;
    ck_assert_int_eq(kw_mock_partition_info_get(m, "a0", 0, &info), KW_ERR_OK);
    ck_assert_int_eq(info.high_watermark, 4);
    /* A failed acks=0 produce closes the connection: the only way to tell the client. */
    uint8_t *bad = b.base;
    bad[kw_wr_len(&b) - 1] ^= 0xff;
    mc_send(c, &kw_msg_produce_req, 8, &po.rq);
    ck_assert(mc_wait_closed(c, MC_WAIT_MS));
    ck_assert_int_eq(kw_mock_partition_info_get(m, "a0", 0, &info), KW_ERR_OK);
    ck_assert_int_eq(info.high_watermark, 4);
    kw_arena_fini(&ar);
    kw_wr_fini(&b);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* Each way a batch is rejected, and that nothing is stored when it is. */
START_TEST(test_produce_rejections)
{
    kw_mock *m = new_mock(1, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "compact", 1, 1, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_config_set(m, "compact", "cleanup.policy", "compact", NULL),
                     KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_wr b;
    kw_wr_init_dyn(&b, NULL, 1 << 20);
    mc_batch(&b, 3, "k", "v", 0, 0);
    size_t len = kw_wr_len(&b);
    uint8_t *raw = b.base;
    kw_slice one = {raw, (int32_t)len};

    /* A flipped bit in the records: CRC-32C mismatch. */
    raw[len - 2] ^= 0x01;
    ck_assert_int_eq(produce(c, 9, "t", 0, one, &ar, NULL).error_code, 2);
    raw[len - 2] ^= 0x01;
    /* Truncated batch. */
    ck_assert_int_eq(produce(c, 9, "t", 0, (kw_slice){raw, (int32_t)len - 5}, &ar, NULL).error_code,
                     2);
    /* Two batches in one partition (Produce v3+ allows exactly one). */
    kw_wr two;
    kw_wr_init_dyn(&two, NULL, 1 << 20);
    kw_wr_raw(&two, raw, len);
    kw_wr_raw(&two, raw, len);
    kw_produce_resp_partition pr =
        produce(c, 9, "t", 0, (kw_slice){two.base, (int32_t)kw_wr_len(&two)}, &ar, NULL);
    ck_assert_int_eq(pr.error_code, 87);
    ck_assert_int_gt(pr.error_message.len, 0);
    kw_wr_fini(&two);
    /* A base offset other than 0 (outside the CRC, so the CRC still matches). */
    raw[7] = 9;
    ck_assert_int_eq(produce(c, 9, "t", 0, one, &ar, NULL).error_code, 87);
    raw[7] = 0;
    /* No records at all, and a null records field. */
    ck_assert_int_eq(produce(c, 9, "t", 0, (kw_slice){raw, 0}, &ar, NULL).error_code, 87);
    ck_assert_int_eq(produce(c, 9, "t", 0, KW_SLICE_NULL, &ar, NULL).error_code, 87);
    /* Unknown partition. */
    ck_assert_int_eq(produce(c, 9, "t", 7, one, &ar, NULL).error_code, 3);
    /* max.message.bytes. */
    ck_assert_int_eq(kw_mock_topic_config_set(m, "t", "max.message.bytes", "40", NULL), KW_ERR_OK);
    ck_assert_int_eq(produce(c, 9, "t", 0, one, &ar, NULL).error_code, 10);
    ck_assert_int_eq(kw_mock_topic_config_set(m, "t", "max.message.bytes", NULL, NULL), KW_ERR_OK);
    /* A compacted topic needs keys: the record index is reported (v8+). */
    kw_wr nk;
    kw_wr_init_dyn(&nk, NULL, 1 << 20);
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    kw_batch_builder bb;
    ck_assert_int_eq(kw_batch_builder_init(&bb, &nk, &o), KW_ERR_OK);
    kw_batch_builder_add(&bb, 1, kw_slice_str("a"), kw_slice_str("1"), NULL, 0);
    kw_batch_builder_add(&bb, 2, KW_SLICE_NULL, kw_slice_str("2"), NULL, 0);
    ck_assert_int_eq(kw_batch_builder_finish(&bb, NULL), KW_ERR_OK);
    pr = produce(c, 9, "compact", 0, (kw_slice){nk.base, (int32_t)kw_wr_len(&nk)}, &ar, NULL);
    ck_assert_int_eq(pr.error_code, 87);
    ck_assert_int_eq(pr.n_record_errors, 1);
    ck_assert_int_eq(pr.record_errors[0].batch_index, 1);
    kw_wr_fini(&nk);
    /* zstd before Produce v7. */
    if (kw_codec_available(KW_CODEC_ZSTD)) {
        kw_wr z;
        kw_wr_init_dyn(&z, NULL, 1 << 20);
        mc_batch(&z, 3, "k", "v", 0, KW_CODEC_ZSTD);
        ck_assert_int_eq(
            produce(c, 6, "t", 0, (kw_slice){z.base, (int32_t)kw_wr_len(&z)}, &ar, NULL).error_code,
            76);
        kw_wr_fini(&z);
    }
    /* acks=2 is not a thing. */
    produce_one po;
    produce_init(&po, "t", NULL, 0, one, 2);
    kw_produce_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_produce_req, &kw_msg_produce_resp, 9, &po.rq, &ar, &r, &f);
    ck_assert_int_eq(r.responses[0].partition_responses[0].error_code, 21);
    free(f);

    kw_mock_partition_info info;
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", 0, &info), KW_ERR_OK);
    ck_assert_int_eq(info.high_watermark, 0);
    ck_assert_int_eq(info.batches, 0);
    /* And the good batch goes in. */
    ck_assert_int_eq(produce(c, 9, "t", 0, one, &ar, NULL).error_code, 0);
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", 0, &info), KW_ERR_OK);
    ck_assert_int_eq(info.high_watermark, 3);
    kw_wr_fini(&b);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* Producing or fetching on a broker that does not lead the partition: the error plus the
 * leader hint (KIP-951); after a leader move, a stale epoch is fenced. */
START_TEST(test_not_leader)
{
    kw_mock *m = new_mock(3, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 3, 1, NULL), KW_ERR_OK);
    int32_t part = -1;
    kw_mock_partition_info info;
    for (int32_t p = 0; p < 3 && part < 0; p++) {
        ck_assert_int_eq(kw_mock_partition_info_get(m, "t", p, &info), KW_ERR_OK);
        if (info.leader != 1)
            part = p;
    }
    ck_assert_int_ge(part, 0);
    int32_t leader = info.leader;
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_wr b;
    kw_wr_init_dyn(&b, NULL, 1 << 20);
    mc_batch(&b, 2, "k", "v", 0, 0);
    kw_produce_resp whole;
    uint8_t *f;
    kw_produce_resp_partition pr =
        produce_ex(c, 10, "t", part, (kw_slice){b.base, (int32_t)kw_wr_len(&b)}, &ar, &whole, &f);
    ck_assert_int_eq(pr.error_code, 6);
    ck_assert_int_eq(pr.current_leader.leader_id, leader);
    ck_assert_int_eq(pr.current_leader.leader_epoch, 0);
    ck_assert_int_eq(whole.n_node_endpoints, 1);
    ck_assert_int_eq(whole.node_endpoints[0].node_id, leader);
    ck_assert_int_eq(whole.node_endpoints[0].port, kw_mock_broker_port(m, leader));
    ck_assert(kw_slice_eq(whole.node_endpoints[0].host, "127.0.0.1"));
    free(f);
    fetch_one fo;
    fetch_init(&fo, "t", part, 0, 0);
    kw_fetch_resp_partition fp = fetch(c, 12, &fo, &ar, &f);
    ck_assert_int_eq(fp.error_code, 6);
    ck_assert_int_eq(fp.current_leader.leader_id, leader);
    ck_assert_int_eq(fp.high_watermark, -1);
    free(f);

    /* Move the leader to broker 1: the produce works, the epoch is 1, and epoch 0 is fenced. */
    ck_assert_int_eq(kw_mock_partition_leader_set(m, "t", part, 1), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", part, &info), KW_ERR_OK);
    ck_assert_int_eq(info.leader_epoch, 1);
    pr = produce(c, 10, "t", part, (kw_slice){b.base, (int32_t)kw_wr_len(&b)}, &ar, NULL);
    ck_assert_int_eq(pr.error_code, 0);
    fetch_init(&fo, "t", part, 0, 0);
    fo.p.current_leader_epoch = 0;
    fp = fetch(c, 12, &fo, &ar, &f);
    ck_assert_int_eq(fp.error_code, 74); /* FENCED_LEADER_EPOCH */
    free(f);
    fo.p.current_leader_epoch = 5;
    fp = fetch(c, 12, &fo, &ar, &f);
    ck_assert_int_eq(fp.error_code, 75); /* UNKNOWN_LEADER_EPOCH */
    free(f);
    fo.p.current_leader_epoch = 1;
    fp = fetch(c, 12, &fo, &ar, &f);
    ck_assert_int_eq(fp.error_code, 0);
    ck_assert_int_eq(be32s(fp.records.ptr + 12), 1); /* stamped with the new epoch */
    free(f);
    kw_wr_fini(&b);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- waiting */

START_TEST(test_fetch_wait_virtual_clock)
{
    int64_t now = 50000;
    kw_mock *m = new_mock(1, &now);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    mc *p = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);

    /* No data: nothing until the clock passes max wait, then an empty answer. */
    fetch_one fo;
    fetch_init(&fo, "t", 0, 0, 5000);
    int32_t corr = mc_send(c, &kw_msg_fetch_req, 12, &fo.rq);
    ck_assert(mc_quiet(c, 50));
    now += 4999;
    ck_assert(mc_quiet(c, 50));
    now += 1;
    kw_fetch_resp r;
    uint8_t *f;
    mc_recv(c, &kw_msg_fetch_resp, 12, corr, &ar, &r, &f);
    ck_assert_int_eq(r.responses[0].partitions[0].error_code, 0);
    ck_assert_int_eq(r.responses[0].partitions[0].records.len, 0);
    free(f);

    /* Data produced on another connection answers a waiting Fetch at once (the clock never
     * moves), with that data. */
    fetch_init(&fo, "t", 0, 0, 60000);
    corr = mc_send(c, &kw_msg_fetch_req, 12, &fo.rq);
    ck_assert(mc_quiet(c, 50));
    kw_wr b;
    kw_wr_init_dyn(&b, NULL, 1 << 20);
    mc_batch(&b, 2, "k", "v", 0, 0);
    ck_assert_int_eq(
        produce(p, 9, "t", 0, (kw_slice){b.base, (int32_t)kw_wr_len(&b)}, &ar, NULL).error_code, 0);
    mc_recv(c, &kw_msg_fetch_resp, 12, corr, &ar, &r, &f);
    ck_assert_int_eq(r.responses[0].partitions[0].records.len, (int32_t)kw_wr_len(&b));
    free(f);

    /* min_bytes above what is there: it keeps waiting past a small append. */
    fetch_init(&fo, "t", 0, 0, 60000);
    fo.rq.min_bytes = 3 * (int32_t)kw_wr_len(&b);
    corr = mc_send(c, &kw_msg_fetch_req, 12, &fo.rq);
    ck_assert(mc_quiet(c, 50));
    ck_assert_int_eq(
        kw_mock_append(m, "t", 0, (kw_slice){b.base, (int32_t)kw_wr_len(&b)}, NULL, NULL),
        KW_ERR_OK);
    ck_assert(mc_quiet(c, 50));
    ck_assert_int_eq(
        kw_mock_append(m, "t", 0, (kw_slice){b.base, (int32_t)kw_wr_len(&b)}, NULL, NULL),
        KW_ERR_OK);
    mc_recv(c, &kw_msg_fetch_resp, 12, corr, &ar, &r, &f);
    ck_assert_int_eq(r.responses[0].partitions[0].high_watermark, 6);
    ck_assert_int_eq(r.responses[0].partitions[0].records.len, 3 * (int32_t)kw_wr_len(&b));
    free(f);

    /* A waiting Fetch whose topic is deleted answers at once with the error. */
    fetch_init(&fo, "t", 0, 6, 60000);
    corr = mc_send(c, &kw_msg_fetch_req, 12, &fo.rq);
    ck_assert(mc_quiet(c, 50));
    ck_assert_int_eq(kw_mock_topic_delete(m, "t"), KW_ERR_OK);
    mc_recv(c, &kw_msg_fetch_resp, 12, corr, &ar, &r, &f);
    ck_assert_int_eq(r.responses[0].partitions[0].error_code, 3);
    free(f);

    /* A client that disconnects while its Fetch waits: like Kafka, the broker does not read
     * from a connection with a request in progress, so it notices when the Fetch is answered;
     * then the connection and its timer are gone (and ASan sees nothing leak). */
    ck_assert_int_eq(kw_mock_topic_create(m, "t2", 1, 1, NULL), KW_ERR_OK);
    fetch_init(&fo, "t2", 0, 0, 60000);
    mc_send(c, &kw_msg_fetch_req, 12, &fo.rq);
    ck_assert(mc_quiet(c, 50));
    mc_close(c);
    ck_assert_int_gt(kw_mock_timeout_ms(m), 0);
    now += 60000;
    int64_t deadline = mc_now_ms() + MC_WAIT_MS;
    while (kw_mock_timeout_ms(m) != -1 && mc_now_ms() < deadline)
        mc_pump(p, 5);
    ck_assert_int_eq(kw_mock_timeout_ms(m), -1);
    kw_wr_fini(&b);
    kw_arena_fini(&ar);
    mc_close(p);
    kw_mock_free(m);
}
END_TEST

/* On the real clock: an empty Fetch comes back no earlier than its max wait. */
START_TEST(test_fetch_wait_real_clock)
{
    kw_mock *m = new_mock(1, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    fetch_one fo;
    fetch_init(&fo, "t", 0, 0, 200);
    int64_t t0 = mc_now_ms();
    uint8_t *f;
    kw_fetch_resp_partition p = fetch(c, 11, &fo, &ar, &f);
    int64_t waited = mc_now_ms() - t0;
    ck_assert_int_eq(p.records.len, 0);
    ck_assert_msg(waited >= 200, "answered after %lld ms", (long long)waited);
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- limits */

START_TEST(test_fetch_limits)
{
    kw_mock *m = new_mock(1, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 2, 1, NULL), KW_ERR_OK);
    kw_wr b;
    kw_wr_init_dyn(&b, NULL, 1 << 20);
    mc_batch(&b, 20, "key-", "value-value-value-value-value-", 0, 0);
    size_t bl = kw_wr_len(&b);
    kw_slice one = {b.base, (int32_t)bl};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(kw_mock_append(m, "t", 0, one, NULL, NULL), KW_ERR_OK);
        ck_assert_int_eq(kw_mock_append(m, "t", 1, one, NULL, NULL), KW_ERR_OK);
    }
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    uint8_t *f;

    /* partition_max_bytes of 1.5 batches: one whole batch, then the head of the next, which
     * the batch iterator reports as a partial trailing batch. */
    fetch_one fo;
    fetch_init(&fo, "t", 0, 0, 0);
    fo.p.partition_max_bytes = (int32_t)(bl + bl / 2);
    kw_fetch_resp_partition p = fetch(c, 12, &fo, &ar, &f);
    ck_assert_int_eq(p.records.len, (int32_t)(bl + bl / 2));
    kw_batch_iter bi;
    kw_batch bt;
    kw_batch_iter_init(&bi, p.records);
    ck_assert(kw_batch_iter_next(&bi, &bt));
    ck_assert(!kw_batch_iter_next(&bi, &bt));
    ck_assert(bi.partial);
    free(f);

    /* Limits below one batch: the first batch of the response still comes whole (KIP-74). */
    fo.p.partition_max_bytes = 10;
    fo.rq.max_bytes = 10;
    p = fetch(c, 12, &fo, &ar, &f);
    ck_assert_int_eq(p.records.len, (int32_t)bl);
    free(f);

    /* Two partitions, response limit 1.2 batches: partition 0 gets one batch and a head,
     * partition 1 nothing (its first batch would be incomplete). */
    kw_fetch_req_partition two[2];
    two[0] = fo.p;
    two[1] = fo.p;
    two[1].partition = 1;
    two[0].partition_max_bytes = two[1].partition_max_bytes = 1 << 20;
    fo.t.partitions = two;
    fo.t.n_partitions = 2;
    fo.rq.max_bytes = (int32_t)(bl + bl / 5);
    kw_fetch_resp r;
    mc_call(c, &kw_msg_fetch_req, &kw_msg_fetch_resp, 12, &fo.rq, &ar, &r, &f);
    ck_assert_int_eq(r.responses[0].partitions[0].records.len, (int32_t)(bl + bl / 5));
    ck_assert_int_eq(r.responses[0].partitions[1].records.len, 0);
    ck_assert_int_eq(r.responses[0].partitions[1].high_watermark, 60);
    free(f);

    /* Out of range: above the high watermark, and below the log start after DeleteRecords. */
    fetch_init(&fo, "t", 0, 61, 0);
    p = fetch(c, 12, &fo, &ar, &f);
    ck_assert_int_eq(p.error_code, 1);
    free(f);
    kw_delete_records_req_partition dp = {0, 25, {NULL, 0}};
    kw_delete_records_req_topic dt = {kw_slice_str("t"), &dp, 1, {NULL, 0}};
    kw_delete_records_req dq = {&dt, 1, 1000, {NULL, 0}};
    kw_delete_records_resp dr;
    mc_call(c, &kw_msg_delete_records_req, &kw_msg_delete_records_resp, 2, &dq, &ar, &dr, &f);
    ck_assert_int_eq(dr.topics[0].partitions[0].error_code, 0);
    ck_assert_int_eq(dr.topics[0].partitions[0].low_watermark, 25);
    free(f);
    fetch_init(&fo, "t", 0, 0, 0);
    p = fetch(c, 12, &fo, &ar, &f);
    ck_assert_int_eq(p.error_code, 1);
    free(f);
    /* From the new log start: the batch holding offset 25 (base 20), log start reported. */
    fetch_init(&fo, "t", 0, 25, 0);
    p = fetch(c, 12, &fo, &ar, &f);
    ck_assert_int_eq(p.error_code, 0);
    ck_assert_int_eq(p.log_start_offset, 25);
    ck_assert_int_eq(be64(p.records.ptr), 20);
    free(f);
    /* DeleteRecords: -1 means the high watermark; beyond it is out of range. */
    dp.offset = 61;
    mc_call(c, &kw_msg_delete_records_req, &kw_msg_delete_records_resp, 0, &dq, &ar, &dr, &f);
    ck_assert_int_eq(dr.topics[0].partitions[0].error_code, 1);
    free(f);
    dp.offset = -1;
    mc_call(c, &kw_msg_delete_records_req, &kw_msg_delete_records_resp, 1, &dq, &ar, &dr, &f);
    ck_assert_int_eq(dr.topics[0].partitions[0].low_watermark, 60);
    free(f);
    kw_mock_partition_info info;
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", 0, &info), KW_ERR_OK);
    ck_assert_int_eq(info.batches, 0);
    ck_assert_int_eq(info.log_start_offset, 60);
    kw_wr_fini(&b);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

START_TEST(test_fetch_sessions)
{
    kw_mock *m = new_mock(1, NULL);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    mc *c = mc_connect(m, 1, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    fetch_one fo;
    fetch_init(&fo, "t", 0, 0, 0);
    kw_fetch_resp r;
    uint8_t *f;
    /* A full fetch asking for a session (epoch 0) gets SessionId 0: no session. */
    fo.rq.session_epoch = 0;
    mc_call(c, &kw_msg_fetch_req, &kw_msg_fetch_resp, 12, &fo.rq, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 0);
    ck_assert_int_eq(r.session_id, 0);
    ck_assert_int_eq(r.n_responses, 1);
    free(f);
    fo.rq.session_id = 77;
    fo.rq.session_epoch = 1;
    mc_call(c, &kw_msg_fetch_req, &kw_msg_fetch_resp, 12, &fo.rq, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 70);
    free(f);
    fo.rq.session_id = 0;
    fo.rq.session_epoch = 3;
    mc_call(c, &kw_msg_fetch_req, &kw_msg_fetch_resp, 12, &fo.rq, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 71);
    free(f);
    kw_arena_fini(&ar);
    mc_close(c);
    kw_mock_free(m);
}
END_TEST

/* ---------------------------------------------------------------- the C API */

static int64_t
fixed_wall(void *ud)
{
    (void)ud;
    return 1700000000123;
}

START_TEST(test_api_append_read_log_append_time)
{
    kw_mock_conf conf;
    kw_mock_conf_init(&conf);
    conf.wall_clock = fixed_wall;
    kw_mock *m;
    ck_assert_int_eq(kw_mock_new(&conf, &m, NULL), KW_ERR_OK);
    ck_assert_int_eq(kw_mock_topic_create(m, "t", 1, 1, NULL), KW_ERR_OK);
    int64_t off = -1;
    ck_assert_int_eq(
        kw_mock_append_record(m, "t", 0, kw_slice_str("a"), kw_slice_str("1"), 10, &off, NULL),
        KW_ERR_OK);
    ck_assert_int_eq(off, 0);
    ck_assert_int_eq(kw_mock_append_record(m, "t", 0, KW_SLICE_NULL, KW_SLICE_NULL, 20, &off, NULL),
                     KW_ERR_OK);
    ck_assert_int_eq(off, 1);
    ck_assert_int_eq(
        kw_mock_topic_config_set(m, "t", "message.timestamp.type", "LogAppendTime", NULL),
        KW_ERR_OK);
    ck_assert_int_eq(
        kw_mock_append_record(m, "t", 0, kw_slice_str("c"), kw_slice_str("3"), 30, &off, NULL),
        KW_ERR_OK);

    kw_wr out;
    kw_wr_init_dyn(&out, NULL, 1 << 20);
    int64_t next;
    ck_assert_int_eq(kw_mock_read(m, "t", 0, 0, 1 << 20, &out, &next), KW_ERR_OK);
    ck_assert_int_eq(next, 3);
    kw_batch_iter bi;
    kw_batch bt;
    kw_batch_iter_init(&bi, (kw_slice){out.base, (int32_t)kw_wr_len(&out)});
    int n = 0;
    while (kw_batch_iter_next(&bi, &bt)) { /* the CRC is checked, also of the restamped one */
        kw_record_iter ri;
        kw_record rec;
        ck_assert_int_eq(kw_record_iter_init(&ri, &bt, NULL, 0), KW_ERR_OK);
        ck_assert(kw_record_iter_next(&ri, &rec));
        ck_assert_int_eq(rec.offset, n);
        if (n == 1) {
            ck_assert_int_eq(rec.key.len, -1);
            ck_assert_int_eq(rec.value.len, -1);
        }
        if (n == 2) {
            ck_assert(kw_batch_log_append_time(&bt));
            ck_assert_int_eq(bt.max_timestamp, 1700000000123);
        } else {
            ck_assert(!kw_batch_log_append_time(&bt));
            ck_assert_int_eq(bt.max_timestamp, 10 * (n + 1));
        }
        n++;
    }
    ck_assert_int_eq(kw_batch_iter_err(&bi), KW_ERR_OK);
    ck_assert_int_eq(n, 3);
    /* From offset 2 only; out of range; unknown partition. */
    kw_wr_fini(&out);
    kw_wr_init_dyn(&out, NULL, 1 << 20);
    ck_assert_int_eq(kw_mock_read(m, "t", 0, 2, 1, &out, &next), KW_ERR_OK);
    ck_assert_int_eq(be64(out.base), 2);
    ck_assert_int_eq(kw_mock_read(m, "t", 0, 4, 100, &out, NULL), KW_ERR_INVALID_ARG);
    ck_assert_int_eq(kw_mock_read(m, "t", 1, 0, 100, &out, NULL), KW_ERR_NOT_FOUND);
    kw_wr_fini(&out);

    /* A rejected append reports the Produce error and stores nothing. */
    kw_wr b;
    kw_wr_init_dyn(&b, NULL, 1 << 20);
    mc_batch(&b, 2, "k", "v", 0, 0);
    b.base[kw_wr_len(&b) - 1] ^= 1;
    kw_error err;
    kw_error_init(&err);
    ck_assert_int_eq(
        kw_mock_append(m, "t", 0, (kw_slice){b.base, (int32_t)kw_wr_len(&b)}, NULL, &err),
        KW_ERR_BROKER);
    ck_assert_int_eq(err.broker_code, 2);
    kw_mock_partition_info info;
    ck_assert_int_eq(kw_mock_partition_info_get(m, "t", 0, &info), KW_ERR_OK);
    ck_assert_int_eq(info.high_watermark, 3);
    ck_assert_int_eq(info.batches, 3);
    ck_assert_int_eq(kw_mock_append(m, "nope", 0, (kw_slice){b.base, 4}, NULL, &err),
                     KW_ERR_NOT_FOUND);
    kw_wr_fini(&b);
    kw_mock_free(m);
}
END_TEST

Suite *
kw_test_suite(void)
{
    Suite *s = suite_create("mock_data");
    TCase *tc = tcase_create("data");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_round_trip_classic);
    tcase_add_test(tc, test_round_trip_flexible);
    tcase_add_test(tc, test_round_trip_topic_ids);
    tcase_add_test(tc, test_round_trip_compressed);
    tcase_add_test(tc, test_acks_zero);
    tcase_add_test(tc, test_produce_rejections);
    tcase_add_test(tc, test_not_leader);
    tcase_add_test(tc, test_fetch_wait_virtual_clock);
    tcase_add_test(tc, test_fetch_wait_real_clock);
    tcase_add_test(tc, test_fetch_limits);
    tcase_add_test(tc, test_fetch_sessions);
    tcase_add_test(tc, test_api_append_read_log_append_time);
    suite_add_tcase(s, tc);
    return s;
}
