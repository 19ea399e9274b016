/* The transaction APIs that build a transaction: AddPartitionsToTxn (24) v0-5, AddOffsetsToTxn
 * (25) v0-4, TxnOffsetCommit (28) v0-5, and the check a partition leader makes before appending
 * a transactional batch (KIP-890).
 *
 * AddPartitionsToTxn v0-3 is the client's form: one transactional id, its producer id and
 * epoch, and the partitions to add. As in Kafka's KafkaApis, an unknown topic or partition
 * fails the whole request: those partitions get UNKNOWN_TOPIC_OR_PARTITION and the others
 * OPERATION_NOT_ATTEMPTED. Otherwise the coordinator's answer applies to every partition:
 * INVALID_PRODUCER_ID_MAPPING (unknown transactional id, other producer id), PRODUCER_FENCED
 * (INVALID_PRODUCER_EPOCH before v2), CONCURRENT_TRANSACTIONS while the previous transaction's
 * markers are being written, or success, which starts the transaction. v4+ is the brokers' batched
 * form (several transactions, VerifyOnly); kwire-mock serves it too, without the cluster
 * authorization a real broker requires, so that tests can drive verification directly.
 *
 * TxnOffsetCommit is answered by the group coordinator, whose committed offsets live in the
 * group module: the offsets are held in the transaction and handed to m->group_ops.offset_store
 * when it commits (dropped when it aborts). The group must have been added with
 * AddOffsetsToTxn (v5, transaction version 2, adds it implicitly), the producer id and epoch
 * must be the transaction's, and from v3 the group module checks the member (KIP-447).
 *
 * Produce verification (Kafka 3.6+, transaction.partition.verification.enable=true): a
 * transactional batch is appended only if its transaction is ongoing and includes the partition.
 * Produce v12+ adds the partition instead (transaction version 2, KIP-890 part 2): kwire-mock
 * decides by the request version alone, as a Kafka 4.0 broker does; older versions get
 * INVALID_TXN_STATE ("Partition was not added to the transaction"), or TRANSACTION_ABORTABLE
 * from v11. A transaction whose markers are still being written gives NOT_ENOUGH_REPLICAS,
 * Kafka's retriable stand-in for CONCURRENT_TRANSACTIONS in Produce. */
#include <string.h>

#include "txn_int.h"

/* The coordinator's checks shared by AddPartitionsToTxn and AddOffsetsToTxn. */
static int16_t
txn_for_add(kwi_mock_req *req, kw_slice tid, int64_t pid, int16_t epoch, kwi_txn **out)
{
    *out = NULL;
    if (tid.len <= 0)
        return KWI_E_INVALID_REQUEST;
    if (!kwi_txn_is_coordinator(req, 1, tid))
        return KWI_TXE_NOT_COORDINATOR;
    kwi_txn *t = kwi_txn_find(req->m, tid);
    if (!t || t->pid != pid)
        return KWI_TXE_INVALID_PRODUCER_ID_MAPPING;
    if (t->epoch != epoch)
        return KWI_TXE_PRODUCER_FENCED;
    if (t->state == KWI_TXN_PREPARE_COMMIT || t->state == KWI_TXN_PREPARE_ABORT)
        return KWI_TXE_CONCURRENT_TRANSACTIONS;
    *out = t;
    return KWI_E_NONE;
}

/* ---------------------------------------------------------------- AddPartitionsToTxn */

static int16_t
fenced_for(int16_t ec, int16_t ver)
{
    return ec == KWI_TXE_PRODUCER_FENCED && ver < 2 ? KWI_TXE_INVALID_PRODUCER_EPOCH : ec;
}

/* Fills the per-partition results of `topics`: unknown partitions, or `ec` for all. Returns
 * whether every partition exists. */
static bool
topic_results(kwi_mock_req *req, const kw_add_partitions_to_txn_topic *in, int32_t n,
              kw_add_partitions_to_txn_topic_result *out, int16_t ec, bool *nomem)
{
    bool all = true;
    for (int32_t i = 0; i < n; i++) {
        kwi_mock_topic *t = kwi_mock_topic_find(req->m, in[i].name);
        out[i].name = in[i].name;
        out[i].results_by_partition = kwi_mock_req_alloc(req, (size_t)in[i].n_partitions,
                                                         sizeof(*out[i].results_by_partition));
        if (!out[i].results_by_partition) {
            *nomem = true;
            return false;
        }
        out[i].n_results_by_partition = in[i].n_partitions;
        for (int32_t k = 0; k < in[i].n_partitions; k++) {
            bool exists = kwi_mock_part_get(t, in[i].partitions[k]) != NULL;
            out[i].results_by_partition[k].partition_index = in[i].partitions[k];
            out[i].results_by_partition[k].partition_error_code =
                exists ? ec : KWI_E_UNKNOWN_TOPIC_OR_PARTITION;
            all &= exists;
        }
    }
    return all;
}

/* Adds every partition of `in`; -1 when out of memory. */
static int16_t
add_all(kwi_txn *t, kw_mock *m, const kw_add_partitions_to_txn_topic *in, int32_t n)
{
    for (int32_t i = 0; i < n; i++) {
        kwi_mock_topic *tp = kwi_mock_topic_find(m, in[i].name);
        for (int32_t k = 0; k < in[i].n_partitions; k++)
            if (kwi_txn_add_partition(t, &tp->id, in[i].partitions[k]))
                return -1;
    }
    return KWI_E_NONE;
}

/* One transaction of the request (the whole v0-3 request, or one v4+ entry). Returns false when
 * out of memory. */
static bool
add_one(kwi_mock_req *req, int16_t ver, kw_slice tid, int64_t pid, int16_t epoch, bool verify_only,
        const kw_add_partitions_to_txn_topic *in, int32_t n,
        kw_add_partitions_to_txn_topic_result *out)
{
    bool nomem = false;
    if (!topic_results(req, in, n, out, KWI_TXE_OPERATION_NOT_ATTEMPTED, &nomem))
        return !nomem; /* an unknown partition fails the request; nothing is added */
    kwi_txn *t;
    int16_t ec = fenced_for(txn_for_add(req, tid, pid, epoch, &t), ver);
    if (!ec && !verify_only)
        ec = add_all(t, req->m, in, n);
    if (ec == -1)
        return false;
    for (int32_t i = 0; i < n; i++) {
        kwi_mock_topic *tp = kwi_mock_topic_find(req->m, in[i].name);
        for (int32_t k = 0; k < out[i].n_results_by_partition; k++) {
            int16_t pec = ec;
            /* VerifyOnly: the partitions must already be in the ongoing transaction. */
            if (!pec && verify_only &&
                (t->state != KWI_TXN_ONGOING ||
                 !kwi_txn_has_partition(t, &tp->id, in[i].partitions[k])))
                pec = ver >= 5 ? KWI_TXE_TRANSACTION_ABORTABLE : KWI_TXE_INVALID_TXN_STATE;
            out[i].results_by_partition[k].partition_error_code = pec;
        }
    }
    return true;
}

static kw_err
add_partitions_to_txn(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_add_partitions_to_txn_req *rq = msg;
    kw_add_partitions_to_txn_resp resp;
    memset(&resp, 0, sizeof(resp));
    if (ver <= 3) {
        int32_t n = rq->n_v3_and_below_topics;
        resp.results_by_topic_v3_and_below =
            kwi_mock_req_alloc(req, (size_t)n, sizeof(*resp.results_by_topic_v3_and_below));
        if (!resp.results_by_topic_v3_and_below)
            return KW_ERR_NOMEM;
        resp.n_results_by_topic_v3_and_below = n;
        if (!add_one(req, ver, rq->v3_and_below_transactional_id, rq->v3_and_below_producer_id,
                     rq->v3_and_below_producer_epoch, false, rq->v3_and_below_topics, n,
                     resp.results_by_topic_v3_and_below))
            return KW_ERR_NOMEM;
        return kwi_mock_reply(req, &resp);
    }
    resp.results_by_transaction =
        kwi_mock_req_alloc(req, (size_t)rq->n_transactions, sizeof(*resp.results_by_transaction));
    if (!resp.results_by_transaction)
        return KW_ERR_NOMEM;
    resp.n_results_by_transaction = rq->n_transactions;
    for (int32_t i = 0; i < rq->n_transactions; i++) {
        const kw_add_partitions_to_txn_transaction *in = &rq->transactions[i];
        kw_add_partitions_to_txn_result *out = &resp.results_by_transaction[i];
        out->transactional_id = in->transactional_id;
        out->topic_results =
            kwi_mock_req_alloc(req, (size_t)in->n_topics, sizeof(*out->topic_results));
        if (!out->topic_results)
            return KW_ERR_NOMEM;
        out->n_topic_results = in->n_topics;
        if (!add_one(req, ver, in->transactional_id, in->producer_id, in->producer_epoch,
                     in->verify_only, in->topics, in->n_topics, out->topic_results))
            return KW_ERR_NOMEM;
    }
    return kwi_mock_reply(req, &resp);
}

/* ---------------------------------------------------------------- AddOffsetsToTxn */

static kw_err
add_offsets_to_txn(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_add_offsets_to_txn_req *rq = msg;
    kw_add_offsets_to_txn_resp resp;
    memset(&resp, 0, sizeof(resp));
    kwi_txn *t;
    int16_t ec = txn_for_add(req, rq->transactional_id, rq->producer_id, rq->producer_epoch, &t);
    /* Kafka adds the group's __consumer_offsets partition; here the group itself. */
    if (!ec && kwi_txn_add_group(t, rq->group_id))
        return KW_ERR_NOMEM;
    resp.error_code = fenced_for(ec, ver);
    return kwi_mock_reply(req, &resp);
}

/* ---------------------------------------------------------------- TxnOffsetCommit */

/* The error for every partition of a TxnOffsetCommit, before per-partition checks. */
static int16_t
txn_commit_checks(kwi_mock_req *req, int16_t ver, const kw_txn_offset_commit_req *rq, kwi_txn **out)
{
    kw_mock *m = req->m;
    *out = NULL;
    if (rq->group_id.len <= 0)
        return KWI_TXE_INVALID_GROUP_ID;
    if (!kwi_txn_is_coordinator(req, 0, rq->group_id))
        return KWI_TXE_NOT_COORDINATOR;
    kwi_txn *t = rq->transactional_id.len > 0 ? kwi_txn_find(m, rq->transactional_id) : NULL;
    if (!t || t->pid != rq->producer_id)
        return KWI_TXE_INVALID_PRODUCER_ID_MAPPING;
    if (t->epoch != rq->producer_epoch)
        return KWI_TXE_INVALID_PRODUCER_EPOCH;
    if (t->state == KWI_TXN_PREPARE_COMMIT || t->state == KWI_TXN_PREPARE_ABORT)
        return KWI_TXE_CONCURRENT_TRANSACTIONS;
    if (t->state != KWI_TXN_ONGOING || !kwi_txn_has_group(t, rq->group_id)) {
        if (ver < 5)
            return ver >= 4 ? KWI_TXE_TRANSACTION_ABORTABLE : KWI_TXE_INVALID_TXN_STATE;
        if (kwi_txn_add_group(t, rq->group_id)) /* transaction version 2 */
            return -1;
    }
    if (ver >= 3 && m->group_ops.txn_member_check) {
        int16_t ec = m->group_ops.txn_member_check(m, rq->group_id, rq->generation_id,
                                                   rq->member_id, rq->group_instance_id);
        if (ec)
            return ec;
    }
    *out = t;
    return KWI_E_NONE;
}

static int16_t
commit_partition(kwi_mock_req *req, kwi_txn *t, int16_t ec, const kw_txn_offset_commit_req *rq,
                 kw_slice topic, const kw_txn_offset_commit_req_partition *in)
{
    if (!kwi_mock_part_get(kwi_mock_topic_find(req->m, topic), in->partition_index))
        return KWI_E_UNKNOWN_TOPIC_OR_PARTITION;
    if (ec)
        return ec;
    if (in->committed_metadata.len > KWI_TXN_METADATA_MAX)
        return KWI_TXE_OFFSET_METADATA_TOO_LARGE;
    if (kwi_txn_put_offset(t, rq->group_id, topic, in->partition_index, in->committed_offset,
                           in->committed_leader_epoch, in->committed_metadata))
        return -1;
    return KWI_E_NONE;
}

static kw_err
txn_offset_commit(kwi_mock_req *req, int16_t ver, void *msg)
{
    const kw_txn_offset_commit_req *rq = msg;
    kw_txn_offset_commit_resp resp;
    memset(&resp, 0, sizeof(resp));
    resp.topics = kwi_mock_req_alloc(req, (size_t)rq->n_topics, sizeof(*resp.topics));
    if (!resp.topics)
        return KW_ERR_NOMEM;
    resp.n_topics = rq->n_topics;
    kwi_txn *t;
    int16_t ec = txn_commit_checks(req, ver, rq, &t);
    if (ec == -1)
        return KW_ERR_NOMEM;
    for (int32_t i = 0; i < rq->n_topics; i++) {
        const kw_txn_offset_commit_req_topic *in = &rq->topics[i];
        kw_txn_offset_commit_resp_topic *out = &resp.topics[i];
        out->name = in->name;
        out->partitions =
            kwi_mock_req_alloc(req, (size_t)in->n_partitions, sizeof(*out->partitions));
        if (!out->partitions)
            return KW_ERR_NOMEM;
        out->n_partitions = in->n_partitions;
        for (int32_t k = 0; k < in->n_partitions; k++) {
            int16_t pec = commit_partition(req, t, ec, rq, in->name, &in->partitions[k]);
            if (pec == -1)
                return KW_ERR_NOMEM;
            out->partitions[k].partition_index = in->partitions[k].partition_index;
            out->partitions[k].error_code = pec;
        }
    }
    return kwi_mock_reply(req, &resp);
}

/* ---------------------------------------------------------------- Produce verification */

int16_t
kwi_txn_verify_produce(kw_mock *m, kw_slice txn_id, int64_t pid, int16_t epoch, kwi_mock_part *p,
                       int16_t ver, const char **msg)
{
    kwi_txn *t = kwi_txn_find(m, txn_id);
    if (!t || t->pid != pid) {
        *msg = "the transactional id does not belong to this producer id";
        return KWI_TXE_INVALID_PRODUCER_ID_MAPPING;
    }
    if (t->epoch != epoch) {
        *msg = "the producer epoch is not the transaction's (fenced producer)";
        return KWI_TXE_INVALID_PRODUCER_EPOCH;
    }
    if (t->state == KWI_TXN_PREPARE_COMMIT || t->state == KWI_TXN_PREPARE_ABORT) {
        *msg = "Unable to verify the partition has been added to the transaction. Underlying "
               "error: CONCURRENT_TRANSACTIONS";
        return KWI_TXE_NOT_ENOUGH_REPLICAS;
    }
    if (t->state == KWI_TXN_ONGOING && kwi_txn_has_partition(t, &p->topic->id, p->index))
        return KWI_E_NONE;
    if (ver >= 12)
        return kwi_txn_add_partition(t, &p->topic->id, p->index) ? -1 : KWI_E_NONE;
    *msg = "Partition was not added to the transaction";
    return ver >= 11 ? KWI_TXE_TRANSACTION_ABORTABLE : KWI_TXE_INVALID_TXN_STATE;
}

kw_err
kwi_mock_txn_api_init(kw_mock *m)
{
    kw_err e = kwi_mock_api_register(m, &kw_msg_add_partitions_to_txn_req, -1, -1,
                                     add_partitions_to_txn, NULL);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_add_offsets_to_txn_req, -1, -1, add_offsets_to_txn,
                                  NULL);
    if (!e)
        e = kwi_mock_api_register(m, &kw_msg_txn_offset_commit_req, -1, -1, txn_offset_commit,
                                  NULL);
    return e;
}
