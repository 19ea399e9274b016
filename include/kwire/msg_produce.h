/* kwire: message structures, produce family. Included through kwire/proto.h. */
#ifndef KWIRE_MSG_PRODUCE_H
#define KWIRE_MSG_PRODUCE_H

#include "proto.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- shared leader hints */

/* LeaderIdAndEpoch: the CurrentLeader hint of ProduceResponse (v10+) and FetchResponse (v12+),
 * always a tagged field; both members default to -1 (the field is sent when either differs). */
typedef struct kw_leader_id_and_epoch {
    int32_t leader_id;    /* default -1 */
    int32_t leader_epoch; /* default -1 */
    kw_tags unknown_tags;
} kw_leader_id_and_epoch;

/* NodeEndpoint: the top-level NodeEndpoints[] of ProduceResponse (v10+) and FetchResponse
 * (v16+), a tagged field naming the leaders of NOT_LEADER_OR_FOLLOWER partitions (KIP-951). */
typedef struct kw_node_endpoint {
    int32_t node_id;
    kw_slice host;
    int32_t port;
    kw_slice rack; /* nullable, default null */
    kw_tags unknown_tags;
} kw_node_endpoint;

/* ---------------------------------------------------------------- Produce (0) */

/* ProduceRequest.TopicData[].PartitionData[] (PartitionProduceData) v3-13. */
typedef struct kw_produce_req_partition {
    int32_t index;
    kw_slice records; /* nullable; raw record batches (one magic-2 batch since v3) */
    kw_tags unknown_tags;
} kw_produce_req_partition;

/* ProduceRequest.TopicData[] (TopicProduceData) v3-13; v0-12 Name, v13+ TopicId. */
typedef struct kw_produce_req_topic {
    kw_slice name;    /* v0-12 */
    kw_uuid topic_id; /* v13+ */
    kw_produce_req_partition *partition_data;
    int32_t n_partition_data;
    kw_tags unknown_tags;
} kw_produce_req_topic;

/* ProduceRequest (API 0) v3-13; v9+ flexible; v13+ topics by TopicId (KIP-516). */
typedef struct kw_produce_req {
    kw_slice transactional_id; /* nullable, default null */
    int16_t acks;
    int32_t timeout_ms;
    kw_produce_req_topic *topic_data;
    int32_t n_topic_data;
    kw_tags unknown_tags;
} kw_produce_req;

/* ProduceResponse...RecordErrors[] (BatchIndexAndErrorMessage) v8+. */
typedef struct kw_produce_record_error {
    int32_t batch_index;
    kw_slice batch_index_error_message; /* nullable, default null */
    kw_tags unknown_tags;
} kw_produce_record_error;

/* ProduceResponse.Responses[].PartitionResponses[] (PartitionProduceResponse) v3-13;
 * v5+ LogStartOffset; v8+ RecordErrors and ErrorMessage; v10+ tagged CurrentLeader (tag 0). */
typedef struct kw_produce_resp_partition {
    int32_t index;
    int16_t error_code;
    int64_t base_offset;
    int64_t log_append_time_ms;             /* default -1 */
    int64_t log_start_offset;               /* v5+, default -1 */
    kw_produce_record_error *record_errors; /* v8+ */
    int32_t n_record_errors;
    kw_slice error_message;                /* v8+, nullable, default null */
    kw_leader_id_and_epoch current_leader; /* v10+, tag 0 */
    kw_tags unknown_tags;
} kw_produce_resp_partition;

/* ProduceResponse.Responses[] (TopicProduceResponse) v3-13; v0-12 Name, v13+ TopicId. */
typedef struct kw_produce_resp_topic {
    kw_slice name;    /* v0-12 */
    kw_uuid topic_id; /* v13+ */
    kw_produce_resp_partition *partition_responses;
    int32_t n_partition_responses;
    kw_tags unknown_tags;
} kw_produce_resp_topic;

/* ProduceResponse (API 0) v3-13; v9+ flexible; v10+ tagged NodeEndpoints (tag 0). */
typedef struct kw_produce_resp {
    kw_produce_resp_topic *responses;
    int32_t n_responses;
    int32_t throttle_time_ms;
    kw_node_endpoint *node_endpoints; /* v10+, tag 0 */
    int32_t n_node_endpoints;
    kw_tags unknown_tags;
} kw_produce_resp;

KW_API extern const kw_msgdef kw_msg_produce_req;
KW_API extern const kw_msgdef kw_msg_produce_resp;

/* ---------------------------------------------------------------- InitProducerId (22) */

/* InitProducerIdRequest (API 22) v0-6; v2+ flexible; v3+ ProducerId/ProducerEpoch (KIP-360);
 * v6+ Enable2Pc/KeepPreparedTxn (KIP-939, v6 unstable in 4.1). */
typedef struct kw_init_producer_id_req {
    kw_slice transactional_id; /* nullable */
    int32_t transaction_timeout_ms;
    int64_t producer_id;    /* v3+, default -1 */
    int16_t producer_epoch; /* v3+, default -1 */
    bool enable_2pc;        /* v6+ */
    bool keep_prepared_txn; /* v6+ */
    kw_tags unknown_tags;
} kw_init_producer_id_req;

/* InitProducerIdResponse (API 22) v0-6; v2+ flexible; v6+ OngoingTxnProducerId/Epoch. */
typedef struct kw_init_producer_id_resp {
    int32_t throttle_time_ms;
    int16_t error_code;
    int64_t producer_id; /* default -1 */
    int16_t producer_epoch;
    int64_t ongoing_txn_producer_id;    /* v6+, default -1 */
    int16_t ongoing_txn_producer_epoch; /* v6+, default -1 */
    kw_tags unknown_tags;
} kw_init_producer_id_resp;

KW_API extern const kw_msgdef kw_msg_init_producer_id_req;
KW_API extern const kw_msgdef kw_msg_init_producer_id_resp;

#ifdef __cplusplus
}
#endif
#endif
