/* Broker error codes: the int16 ErrorCode fields of responses. They stay data in every decoded
 * response; this table only names them and says how the Java client reacts to each.
 *
 * Source: Errors.java and the class parentage in common/errors, as summarised in
 * shared/kafka-protocol/README.md section 8 (codes -1..128). "retriable" means the exception
 * extends RetriableException; "refresh_metadata" means it extends InvalidMetadataException.
 * Codes 129..133 come from later Kafka releases (4.0/4.1): their exception classes extend
 * ApiException, except ShareSessionLimitReachedException, which extends RetriableException. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kwire/error.h"

typedef struct broker_err {
    int16_t code;
    const char *name;
    bool retriable;
    bool refresh_metadata;
} broker_err;

/* Dense and sorted from -1: entry i describes code i - 1 (checked on lookup, and every entry is
 * checked by tests/unit/util/test_errors.c). */
static const broker_err table[] = {
    {-1, "UNKNOWN_SERVER_ERROR", false, false},
    {0, "NONE", false, false},
    {1, "OFFSET_OUT_OF_RANGE", false, false},
    {2, "CORRUPT_MESSAGE", true, false},
    {3, "UNKNOWN_TOPIC_OR_PARTITION", true, true},
    {4, "INVALID_FETCH_SIZE", false, false},
    {5, "LEADER_NOT_AVAILABLE", true, true},
    {6, "NOT_LEADER_OR_FOLLOWER", true, true},
    {7, "REQUEST_TIMED_OUT", true, false},
    {8, "BROKER_NOT_AVAILABLE", false, false},
    {9, "REPLICA_NOT_AVAILABLE", true, true},
    {10, "MESSAGE_TOO_LARGE", false, false},
    {11, "STALE_CONTROLLER_EPOCH", false, false},
    {12, "OFFSET_METADATA_TOO_LARGE", false, false},
    {13, "NETWORK_EXCEPTION", true, true},
    {14, "COORDINATOR_LOAD_IN_PROGRESS", true, false},
    {15, "COORDINATOR_NOT_AVAILABLE", true, false},
    {16, "NOT_COORDINATOR", true, false},
    {17, "INVALID_TOPIC_EXCEPTION", false, false},
    {18, "RECORD_LIST_TOO_LARGE", false, false},
    {19, "NOT_ENOUGH_REPLICAS", true, false},
    {20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true, false},
    {21, "INVALID_REQUIRED_ACKS", false, false},
    {22, "ILLEGAL_GENERATION", false, false},
    {23, "INCONSISTENT_GROUP_PROTOCOL", false, false},
    {24, "INVALID_GROUP_ID", false, false},
    {25, "UNKNOWN_MEMBER_ID", false, false},
    {26, "INVALID_SESSION_TIMEOUT", false, false},
    {27, "REBALANCE_IN_PROGRESS", false, false},
    {28, "INVALID_COMMIT_OFFSET_SIZE", false, false},
    {29, "TOPIC_AUTHORIZATION_FAILED", false, false},
    {30, "GROUP_AUTHORIZATION_FAILED", false, false},
    {31, "CLUSTER_AUTHORIZATION_FAILED", false, false},
    {32, "INVALID_TIMESTAMP", false, false},
    {33, "UNSUPPORTED_SASL_MECHANISM", false, false},
    {34, "ILLEGAL_SASL_STATE", false, false},
    {35, "UNSUPPORTED_VERSION", false, false},
    {36, "TOPIC_ALREADY_EXISTS", false, false},
    {37, "INVALID_PARTITIONS", false, false},
    {38, "INVALID_REPLICATION_FACTOR", false, false},
    {39, "INVALID_REPLICA_ASSIGNMENT", false, false},
    {40, "INVALID_CONFIG", false, false},
    {41, "NOT_CONTROLLER", true, false},
    {42, "INVALID_REQUEST", false, false},
    {43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false, false},
    {44, "POLICY_VIOLATION", false, false},
    {45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false, false},
    {46, "DUPLICATE_SEQUENCE_NUMBER", false, false},
    {47, "INVALID_PRODUCER_EPOCH", false, false},
    {48, "INVALID_TXN_STATE", false, false},
    {49, "INVALID_PRODUCER_ID_MAPPING", false, false},
    {50, "INVALID_TRANSACTION_TIMEOUT", false, false},
    {51, "CONCURRENT_TRANSACTIONS", true, false},
    {52, "TRANSACTION_COORDINATOR_FENCED", false, false},
    {53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false, false},
    {54, "SECURITY_DISABLED", false, false},
    {55, "OPERATION_NOT_ATTEMPTED", false, false},
    {56, "KAFKA_STORAGE_ERROR", true, true},
    {57, "LOG_DIR_NOT_FOUND", false, false},
    {58, "SASL_AUTHENTICATION_FAILED", false, false},
    {59, "UNKNOWN_PRODUCER_ID", false, false},
    {60, "REASSIGNMENT_IN_PROGRESS", false, false},
    {61, "DELEGATION_TOKEN_AUTH_DISABLED", false, false},
    {62, "DELEGATION_TOKEN_NOT_FOUND", false, false},
    {63, "DELEGATION_TOKEN_OWNER_MISMATCH", false, false},
    {64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", false, false},
    {65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", false, false},
    {66, "DELEGATION_TOKEN_EXPIRED", false, false},
    {67, "INVALID_PRINCIPAL_TYPE", false, false},
    {68, "NON_EMPTY_GROUP", false, false},
    {69, "GROUP_ID_NOT_FOUND", false, false},
    {70, "FETCH_SESSION_ID_NOT_FOUND", true, false},
    {71, "INVALID_FETCH_SESSION_EPOCH", true, false},
    {72, "LISTENER_NOT_FOUND", true, true},
    {73, "TOPIC_DELETION_DISABLED", false, false},
    {74, "FENCED_LEADER_EPOCH", true, true},
    {75, "UNKNOWN_LEADER_EPOCH", true, false},
    {76, "UNSUPPORTED_COMPRESSION_TYPE", false, false},
    {77, "STALE_BROKER_EPOCH", false, false},
    {78, "OFFSET_NOT_AVAILABLE", true, false},
    {79, "MEMBER_ID_REQUIRED", false, false},
    {80, "PREFERRED_LEADER_NOT_AVAILABLE", true, true},
    {81, "GROUP_MAX_SIZE_REACHED", false, false},
    {82, "FENCED_INSTANCE_ID", false, false},
    {83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", true, true},
    {84, "ELECTION_NOT_NEEDED", true, true},
    {85, "NO_REASSIGNMENT_IN_PROGRESS", false, false},
    {86, "GROUP_SUBSCRIBED_TO_TOPIC", false, false},
    {87, "INVALID_RECORD", false, false},
    {88, "UNSTABLE_OFFSET_COMMIT", true, false},
    {89, "THROTTLING_QUOTA_EXCEEDED", true, false},
    {90, "PRODUCER_FENCED", false, false},
    {91, "RESOURCE_NOT_FOUND", false, false},
    {92, "DUPLICATE_RESOURCE", false, false},
    {93, "UNACCEPTABLE_CREDENTIAL", false, false},
    {94, "INCONSISTENT_VOTER_SET", false, false},
    {95, "INVALID_UPDATE_VERSION", false, false},
    {96, "FEATURE_UPDATE_FAILED", false, false},
    {97, "PRINCIPAL_DESERIALIZATION_FAILURE", false, false},
    {98, "SNAPSHOT_NOT_FOUND", false, false},
    {99, "POSITION_OUT_OF_RANGE", false, false},
    {100, "UNKNOWN_TOPIC_ID", true, true},
    {101, "DUPLICATE_BROKER_REGISTRATION", false, false},
    {102, "BROKER_ID_NOT_REGISTERED", false, false},
    {103, "INCONSISTENT_TOPIC_ID", true, true},
    {104, "INCONSISTENT_CLUSTER_ID", false, false},
    {105, "TRANSACTIONAL_ID_NOT_FOUND", false, false},
    {106, "FETCH_SESSION_TOPIC_ID_ERROR", true, false},
    {107, "INELIGIBLE_REPLICA", false, false},
    {108, "NEW_LEADER_ELECTED", false, false},
    {109, "OFFSET_MOVED_TO_TIERED_STORAGE", false, false},
    {110, "FENCED_MEMBER_EPOCH", false, false},
    {111, "UNRELEASED_INSTANCE_ID", false, false},
    {112, "UNSUPPORTED_ASSIGNOR", false, false},
    {113, "STALE_MEMBER_EPOCH", false, false},
    {114, "MISMATCHED_ENDPOINT_TYPE", false, false},
    {115, "UNSUPPORTED_ENDPOINT_TYPE", false, false},
    {116, "UNKNOWN_CONTROLLER_ID", false, false},
    {117, "UNKNOWN_SUBSCRIPTION_ID", false, false},
    {118, "TELEMETRY_TOO_LARGE", false, false},
    {119, "INVALID_REGISTRATION", false, false},
    {120, "TRANSACTION_ABORTABLE", false, false},
    {121, "INVALID_RECORD_STATE", false, false},
    {122, "SHARE_SESSION_NOT_FOUND", true, false},
    {123, "INVALID_SHARE_SESSION_EPOCH", true, false},
    {124, "FENCED_STATE_EPOCH", false, false},
    {125, "INVALID_VOTER_KEY", false, false},
    {126, "DUPLICATE_VOTER", false, false},
    {127, "VOTER_NOT_FOUND", false, false},
    {128, "INVALID_REGULAR_EXPRESSION", false, false},
    {129, "REBOOTSTRAP_REQUIRED", false, false},
    {130, "STREAMS_INVALID_TOPOLOGY", false, false},
    {131, "STREAMS_INVALID_TOPOLOGY_EPOCH", false, false},
    {132, "STREAMS_TOPOLOGY_FENCED", false, false},
    {133, "SHARE_SESSION_LIMIT_REACHED", true, false},
};

#define TABLE_LEN (sizeof(table) / sizeof(table[0]))

static const broker_err *
lookup(int16_t code)
{
    /* The first entry is code -1, so code + 1 indexes the table. */
    int32_t i = (int32_t)code + 1;
    if (i < 0 || (size_t)i >= TABLE_LEN || table[i].code != code)
        return NULL;
    return &table[i];
}

const char *
kw_broker_err_name(int16_t code)
{
    const broker_err *e = lookup(code);
    return e ? e->name : "UNKNOWN_ERROR_CODE";
}

bool
kw_broker_err_retriable(int16_t code)
{
    /* Unknown codes are not retriable: retrying blindly on a code we do not understand could
     * loop forever. The number itself is kept by the caller. */
    const broker_err *e = lookup(code);
    return e ? e->retriable : false;
}

bool
kw_broker_err_refresh_metadata(int16_t code)
{
    const broker_err *e = lookup(code);
    return e ? e->refresh_metadata : false;
}
