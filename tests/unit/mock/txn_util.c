/* Helpers of txn_util.h. */
#include <check.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txn_util.h"

void
tx_batch(kw_wr *w, int n, const char *prefix, int64_t pid, int16_t epoch, int32_t seq,
         bool transactional)
{
    kw_wr_fini(w);
    kw_wr_init_dyn(w, NULL, 1 << 20);
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    o.producer_id = pid;
    o.producer_epoch = epoch;
    o.base_sequence = seq;
    if (transactional)
        o.attributes = KW_BATCH_ATTR_TRANSACTIONAL;
    kw_batch_builder b;
    ck_assert_int_eq(kw_batch_builder_init(&b, w, &o), KW_ERR_OK);
    for (int i = 0; i < n; i++) {
        char k[32];
        snprintf(k, sizeof(k), "%s%d", prefix, i);
        ck_assert_int_eq(
            kw_batch_builder_add(&b, 1000 + i, kw_slice_str(k), kw_slice_str(k), NULL, 0),
            KW_ERR_OK);
    }
    ck_assert_int_eq(kw_batch_builder_finish(&b, NULL), KW_ERR_OK);
}

kw_slice
tx_slice(const kw_wr *w)
{
    return (kw_slice){w->base, (int32_t)kw_wr_len(w)};
}

static kw_slice
str_or_null(const char *s)
{
    return s ? kw_slice_str(s) : KW_SLICE_NULL;
}

int16_t
tx_produce(mc *c, int16_t ver, const char *tid, const char *topic, int32_t part, kw_slice records,
           int64_t *base)
{
    kw_produce_req_partition p;
    kw_produce_req_topic t;
    kw_produce_req rq;
    memset(&p, 0, sizeof(p));
    memset(&t, 0, sizeof(t));
    memset(&rq, 0, sizeof(rq));
    p.index = part;
    p.records = records;
    t.name = kw_slice_str(topic);
    if (ver >= 13)
        ck_assert_int_eq(kw_mock_topic_id(c->m, topic, &t.topic_id), KW_ERR_OK);
    t.partition_data = &p;
    t.n_partition_data = 1;
    rq.transactional_id = str_or_null(tid);
    rq.acks = -1;
    rq.timeout_ms = 30000;
    rq.topic_data = &t;
    rq.n_topic_data = 1;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_produce_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_produce_req, &kw_msg_produce_resp, ver, &rq, &ar, &r, &f);
    ck_assert_int_eq(r.n_responses, 1);
    ck_assert_int_eq(r.responses[0].n_partition_responses, 1);
    const kw_produce_resp_partition *pr = &r.responses[0].partition_responses[0];
    int16_t ec = pr->error_code;
    if (base)
        *base = pr->base_offset;
    free(f);
    kw_arena_fini(&ar);
    return ec;
}

int16_t
tx_init(mc *c, int16_t ver, const char *tid, int32_t timeout_ms, int64_t pid, int16_t epoch,
        int64_t *pid_out, int16_t *epoch_out)
{
    kw_init_producer_id_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.transactional_id = str_or_null(tid);
    rq.transaction_timeout_ms = timeout_ms;
    rq.producer_id = pid;
    rq.producer_epoch = epoch;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_init_producer_id_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_init_producer_id_req, &kw_msg_init_producer_id_resp, ver, &rq, &ar, &r, &f);
    if (pid_out)
        *pid_out = r.producer_id;
    if (epoch_out)
        *epoch_out = r.producer_epoch;
    free(f);
    kw_arena_fini(&ar);
    return r.error_code;
}

int16_t
tx_add(mc *c, int16_t ver, const char *tid, int64_t pid, int16_t epoch, const char *topic,
       const int32_t *parts, int n, int16_t *errs)
{
    kw_add_partitions_to_txn_topic t;
    memset(&t, 0, sizeof(t));
    t.name = kw_slice_str(topic);
    t.partitions = (int32_t *)parts;
    t.n_partitions = n;
    kw_add_partitions_to_txn_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.v3_and_below_transactional_id = kw_slice_str(tid);
    rq.v3_and_below_producer_id = pid;
    rq.v3_and_below_producer_epoch = epoch;
    rq.v3_and_below_topics = &t;
    rq.n_v3_and_below_topics = 1;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_add_partitions_to_txn_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_add_partitions_to_txn_req, &kw_msg_add_partitions_to_txn_resp, ver, &rq, &ar,
            &r, &f);
    ck_assert_int_eq(r.n_results_by_topic_v3_and_below, 1);
    const kw_add_partitions_to_txn_topic_result *tr = &r.results_by_topic_v3_and_below[0];
    ck_assert_int_eq(tr->n_results_by_partition, n);
    int16_t first = tr->results_by_partition[0].partition_error_code;
    for (int i = 0; i < n; i++) {
        ck_assert_int_eq(tr->results_by_partition[i].partition_index, parts[i]);
        if (errs)
            errs[i] = tr->results_by_partition[i].partition_error_code;
    }
    free(f);
    kw_arena_fini(&ar);
    return first;
}

int16_t
tx_add_offsets(mc *c, int16_t ver, const char *tid, int64_t pid, int16_t epoch, const char *group)
{
    kw_add_offsets_to_txn_req rq = {kw_slice_str(tid), pid, epoch, kw_slice_str(group), {NULL, 0}};
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_add_offsets_to_txn_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_add_offsets_to_txn_req, &kw_msg_add_offsets_to_txn_resp, ver, &rq, &ar, &r,
            &f);
    free(f);
    kw_arena_fini(&ar);
    return r.error_code;
}

int16_t
tx_end(mc *c, int16_t ver, const char *tid, int64_t pid, int16_t epoch, bool commit,
       int64_t *pid_out, int16_t *epoch_out)
{
    kw_end_txn_req rq = {kw_slice_str(tid), pid, epoch, commit, {NULL, 0}};
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_end_txn_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_end_txn_req, &kw_msg_end_txn_resp, ver, &rq, &ar, &r, &f);
    if (pid_out)
        *pid_out = r.producer_id;
    if (epoch_out)
        *epoch_out = r.producer_epoch;
    free(f);
    kw_arena_fini(&ar);
    return r.error_code;
}

int16_t
tx_offset_commit(mc *c, int16_t ver, const char *tid, const char *group, int64_t pid, int16_t epoch,
                 const char *topic, int32_t part, int64_t offset, kw_slice metadata)
{
    kw_txn_offset_commit_req_partition p;
    memset(&p, 0, sizeof(p));
    p.partition_index = part;
    p.committed_offset = offset;
    p.committed_leader_epoch = 3;
    p.committed_metadata = metadata;
    kw_txn_offset_commit_req_topic t;
    memset(&t, 0, sizeof(t));
    t.name = kw_slice_str(topic);
    t.partitions = &p;
    t.n_partitions = 1;
    kw_txn_offset_commit_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.transactional_id = kw_slice_str(tid);
    rq.group_id = kw_slice_str(group);
    rq.producer_id = pid;
    rq.producer_epoch = epoch;
    rq.generation_id = -1;
    rq.member_id = kw_slice_str("");
    rq.group_instance_id = KW_SLICE_NULL;
    rq.topics = &t;
    rq.n_topics = 1;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_txn_offset_commit_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_txn_offset_commit_req, &kw_msg_txn_offset_commit_resp, ver, &rq, &ar, &r,
            &f);
    ck_assert_int_eq(r.n_topics, 1);
    ck_assert_int_eq(r.topics[0].n_partitions, 1);
    int16_t ec = r.topics[0].partitions[0].error_code;
    free(f);
    kw_arena_fini(&ar);
    return ec;
}

static void
decode_records(kw_slice records, tx_fetched *out)
{
    kw_wr scratch;
    kw_wr_init_dyn(&scratch, NULL, 64 << 20);
    kw_batch_iter bi;
    kw_batch b;
    kw_batch_iter_init(&bi, records);
    while (kw_batch_iter_next(&bi, &b)) {
        kw_record_iter ri;
        kw_record rec;
        ck_assert_int_eq(kw_record_iter_init(&ri, &b, &scratch, 64 << 20), KW_ERR_OK);
        while (kw_record_iter_next(&ri, &rec)) {
            ck_assert_int_lt(out->n, TX_MAX_RECS);
            tx_rec *r = &out->r[out->n++];
            memset(r, 0, sizeof(*r));
            r->offset = rec.offset;
            r->pid = b.producer_id;
            r->epoch = b.producer_epoch;
            r->transactional = kw_batch_is_transactional(&b);
            r->control = -1;
            if (kw_batch_is_control(&b)) {
                kw_control ctl;
                ck_assert_int_eq(kw_control_decode(&rec, &ctl), KW_ERR_OK);
                r->control = ctl.type;
            } else if (rec.key.len > 0 && (size_t)rec.key.len < sizeof(r->key)) {
                memcpy(r->key, rec.key.ptr, (size_t)rec.key.len);
            }
        }
        ck_assert_int_eq(kw_record_iter_err(&ri), KW_ERR_OK);
    }
    ck_assert_int_eq(kw_batch_iter_err(&bi), KW_ERR_OK);
    kw_wr_fini(&scratch);
}

void
tx_fetch(mc *c, int16_t ver, const char *topic, int32_t part, int64_t offset, int8_t isolation,
         tx_fetched *out)
{
    kw_fetch_req_partition p;
    memset(&p, 0, sizeof(p));
    p.partition = part;
    p.current_leader_epoch = -1;
    p.fetch_offset = offset;
    p.last_fetched_epoch = -1;
    p.log_start_offset = -1;
    p.partition_max_bytes = 1 << 20;
    kw_fetch_req_topic t;
    memset(&t, 0, sizeof(t));
    t.topic = kw_slice_str(topic);
    if (ver >= 13)
        ck_assert_int_eq(kw_mock_topic_id(c->m, topic, &t.topic_id), KW_ERR_OK);
    t.partitions = &p;
    t.n_partitions = 1;
    kw_fetch_req rq;
    memset(&rq, 0, sizeof(rq));
    rq.cluster_id = KW_SLICE_NULL;
    rq.replica_id = -1;
    rq.replica_state.replica_id = -1;
    rq.replica_state.replica_epoch = -1;
    rq.max_wait_ms = 0;
    rq.min_bytes = 1;
    rq.max_bytes = 50 << 20;
    rq.isolation_level = isolation;
    rq.session_epoch = -1;
    rq.topics = &t;
    rq.n_topics = 1;
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_fetch_resp r;
    uint8_t *f;
    mc_call(c, &kw_msg_fetch_req, &kw_msg_fetch_resp, ver, &rq, &ar, &r, &f);
    ck_assert_int_eq(r.error_code, 0);
    ck_assert_int_eq(r.n_responses, 1);
    ck_assert_int_eq(r.responses[0].n_partitions, 1);
    const kw_fetch_resp_partition *rp = &r.responses[0].partitions[0];
    memset(out, 0, sizeof(*out));
    out->error = rp->error_code;
    out->hw = rp->high_watermark;
    out->lso = rp->last_stable_offset;
    out->n_aborted = rp->n_aborted_transactions;
    ck_assert_int_le(out->n_aborted, 16);
    for (int32_t i = 0; i < rp->n_aborted_transactions; i++) {
        out->aborted_pid[i] = rp->aborted_transactions[i].producer_id;
        out->aborted_first[i] = rp->aborted_transactions[i].first_offset;
    }
    decode_records(rp->records, out);
    free(f);
    kw_arena_fini(&ar);
}

void
tx_committed_keys(const tx_fetched *f, char *out, size_t cap)
{
    /* Producers currently inside an aborted transaction; an aborted transaction starts at its
     * first offset and ends at the producer's ABORT marker. */
    int64_t active[16];
    int n_active = 0;
    bool used[16] = {false};
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < f->n; i++) {
        const tx_rec *r = &f->r[i];
        for (int k = 0; k < f->n_aborted; k++) {
            if (!used[k] && f->aborted_first[k] <= r->offset && f->aborted_pid[k] == r->pid) {
                used[k] = true;
                active[n_active++] = r->pid;
            }
        }
        bool aborted = false;
        for (int k = 0; k < n_active; k++)
            aborted |= active[k] == r->pid;
        if (r->control >= 0) {
            if (r->control == KW_CONTROL_ABORT)
                for (int k = 0; k < n_active; k++)
                    if (active[k] == r->pid)
                        active[k--] = active[--n_active];
            continue;
        }
        if (aborted && r->transactional)
            continue;
        len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? "," : "", r->key);
        ck_assert_uint_lt(len, cap);
    }
}

/* The overlay of tx_failing's counters on `failing` (txn_util.h) holds only while the
 * layouts agree. */
_Static_assert(offsetof(tx_failing, left) == offsetof(tx_failing, f.left) &&
                   offsetof(tx_failing, calls) == offsetof(tx_failing, f.calls) &&
                   offsetof(tx_failing, live) == offsetof(tx_failing, f.live) &&
                   offsetof(tx_failing, size_mismatch) == offsetof(tx_failing, f.size_mismatch),
               "tx_failing's counters must overlay failing's");

void
tx_failing_init(tx_failing *f, long fail_at)
{
    memset(f, 0, sizeof(*f));
    f->f.left = fail_at;
    f->a = kwt_failing_allocator(&f->f);
}

static kw_mock_partition_info
info(kw_mock *m, const char *topic, int32_t part)
{
    kw_mock_partition_info pi;
    ck_assert_int_eq(kw_mock_partition_info_get(m, topic, part, &pi), KW_ERR_OK);
    return pi;
}

int64_t
tx_lso(kw_mock *m, const char *topic, int32_t part)
{
    return info(m, topic, part).last_stable_offset;
}

int64_t
tx_hw(kw_mock *m, const char *topic, int32_t part)
{
    return info(m, topic, part).high_watermark;
}
