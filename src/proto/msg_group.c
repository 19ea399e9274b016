/* Walks for the group family of messages: the classic group protocol. */
#include <string.h>

#include "kwire/proto.h"
#include "msgtab.h"

/* ---------------------------------------------------------------- Heartbeat */

/* HeartbeatRequest v0-4. */
static void
heartbeat_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_heartbeat_req *m = p;
    kw_io_str(io, "GroupId", &m->group_id);
    kw_io_i32(io, "GenerationId", &m->generation_id);
    kw_io_str(io, "MemberId", &m->member_id);
    if (ver >= 3)
        kw_io_str(io, "GroupInstanceId", &m->group_instance_id);
    else if (kw_io_decoding(io))
        m->group_instance_id = KW_SLICE_NULL;
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* HeartbeatResponse v0-4. */
static void
heartbeat_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_heartbeat_resp *m = p;
    if (ver >= 1)
        kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- FindCoordinator */

/* FindCoordinatorRequest v0-6. */
static void
find_coordinator_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_find_coordinator_req *m = p;
    if (ver <= 3)
        kw_io_str(io, "Key", &m->key);
    if (ver >= 1)
        kw_io_i8(io, "KeyType", &m->key_type);
    if (ver >= 4)
        kw_io_array(io, "CoordinatorKeys", &m->coordinator_keys, &m->n_coordinator_keys,
                    sizeof(*m->coordinator_keys), kw_io_elem_str, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* FindCoordinatorResponse.Coordinators[] v4-6. */
static void
find_coordinator_coordinator_io(kw_io *io, int16_t ver, void *p)
{
    kw_find_coordinator_coordinator *m = p;
    (void)ver;
    kw_io_str(io, "Key", &m->key);
    kw_io_i32(io, "NodeId", &m->node_id);
    kw_io_str(io, "Host", &m->host);
    kw_io_i32(io, "Port", &m->port);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_str(io, "ErrorMessage", &m->error_message);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* FindCoordinatorResponse v0-6. */
static void
find_coordinator_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_find_coordinator_resp *m = p;
    if (ver >= 1)
        kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    if (ver <= 3)
        kw_io_i16(io, "ErrorCode", &m->error_code);
    if (ver >= 1 && ver <= 3)
        kw_io_str(io, "ErrorMessage", &m->error_message);
    if (ver <= 3) {
        kw_io_i32(io, "NodeId", &m->node_id);
        kw_io_str(io, "Host", &m->host);
        kw_io_i32(io, "Port", &m->port);
    }
    if (ver >= 4)
        kw_io_array(io, "Coordinators", &m->coordinators, &m->n_coordinators,
                    sizeof(*m->coordinators), find_coordinator_coordinator_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- JoinGroup */

/* JoinGroupRequest.Protocols[] v0-9. */
static void
join_group_req_protocol_io(kw_io *io, int16_t ver, void *p)
{
    kw_join_group_req_protocol *m = p;
    (void)ver;
    kw_io_str(io, "Name", &m->name);
    kw_io_bytes(io, "Metadata", &m->metadata);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* JoinGroupRequest v0-9. */
static void
join_group_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_join_group_req *m = p;
    kw_io_str(io, "GroupId", &m->group_id);
    kw_io_i32(io, "SessionTimeoutMs", &m->session_timeout_ms);
    if (ver >= 1)
        kw_io_i32(io, "RebalanceTimeoutMs", &m->rebalance_timeout_ms);
    else if (kw_io_decoding(io))
        m->rebalance_timeout_ms = -1;
    kw_io_str(io, "MemberId", &m->member_id);
    if (ver >= 5)
        kw_io_str(io, "GroupInstanceId", &m->group_instance_id);
    else if (kw_io_decoding(io))
        m->group_instance_id = KW_SLICE_NULL;
    kw_io_str(io, "ProtocolType", &m->protocol_type);
    kw_io_array(io, "Protocols", &m->protocols, &m->n_protocols, sizeof(*m->protocols),
                join_group_req_protocol_io, ver);
    if (ver >= 8)
        kw_io_str(io, "Reason", &m->reason);
    else if (kw_io_decoding(io))
        m->reason = KW_SLICE_NULL;
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* JoinGroupResponse.Members[] v0-9. */
static void
join_group_resp_member_io(kw_io *io, int16_t ver, void *p)
{
    kw_join_group_resp_member *m = p;
    kw_io_str(io, "MemberId", &m->member_id);
    if (ver >= 5)
        kw_io_str(io, "GroupInstanceId", &m->group_instance_id);
    else if (kw_io_decoding(io))
        m->group_instance_id = KW_SLICE_NULL;
    kw_io_bytes(io, "Metadata", &m->metadata);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* JoinGroupResponse v0-9. */
static void
join_group_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_join_group_resp *m = p;
    if (ver >= 2)
        kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    kw_io_i32(io, "GenerationId", &m->generation_id);
    if (ver >= 7)
        kw_io_str(io, "ProtocolType", &m->protocol_type);
    else if (kw_io_decoding(io))
        m->protocol_type = KW_SLICE_NULL;
    kw_io_str(io, "ProtocolName", &m->protocol_name);
    kw_io_str(io, "Leader", &m->leader);
    if (ver >= 9)
        kw_io_bool(io, "SkipAssignment", &m->skip_assignment);
    kw_io_str(io, "MemberId", &m->member_id);
    kw_io_array(io, "Members", &m->members, &m->n_members, sizeof(*m->members),
                join_group_resp_member_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- SyncGroup */

/* SyncGroupRequest.Assignments[] v0-5. */
static void
sync_group_req_assignment_io(kw_io *io, int16_t ver, void *p)
{
    kw_sync_group_req_assignment *m = p;
    (void)ver;
    kw_io_str(io, "MemberId", &m->member_id);
    kw_io_bytes(io, "Assignment", &m->assignment);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* SyncGroupRequest v0-5. */
static void
sync_group_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_sync_group_req *m = p;
    kw_io_str(io, "GroupId", &m->group_id);
    kw_io_i32(io, "GenerationId", &m->generation_id);
    kw_io_str(io, "MemberId", &m->member_id);
    if (ver >= 3)
        kw_io_str(io, "GroupInstanceId", &m->group_instance_id);
    else if (kw_io_decoding(io))
        m->group_instance_id = KW_SLICE_NULL;
    if (ver >= 5) {
        kw_io_str(io, "ProtocolType", &m->protocol_type);
        kw_io_str(io, "ProtocolName", &m->protocol_name);
    } else if (kw_io_decoding(io)) {
        m->protocol_type = KW_SLICE_NULL;
        m->protocol_name = KW_SLICE_NULL;
    }
    kw_io_array(io, "Assignments", &m->assignments, &m->n_assignments, sizeof(*m->assignments),
                sync_group_req_assignment_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* SyncGroupResponse v0-5. */
static void
sync_group_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_sync_group_resp *m = p;
    if (ver >= 1)
        kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (ver >= 5) {
        kw_io_str(io, "ProtocolType", &m->protocol_type);
        kw_io_str(io, "ProtocolName", &m->protocol_name);
    } else if (kw_io_decoding(io)) {
        m->protocol_type = KW_SLICE_NULL;
        m->protocol_name = KW_SLICE_NULL;
    }
    kw_io_bytes(io, "Assignment", &m->assignment);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- LeaveGroup */

/* LeaveGroupRequest.Members[] v3-5. */
static void
leave_group_member_identity_io(kw_io *io, int16_t ver, void *p)
{
    kw_leave_group_member_identity *m = p;
    kw_io_str(io, "MemberId", &m->member_id);
    kw_io_str(io, "GroupInstanceId", &m->group_instance_id);
    if (ver >= 5)
        kw_io_str(io, "Reason", &m->reason);
    else if (kw_io_decoding(io))
        m->reason = KW_SLICE_NULL;
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* LeaveGroupRequest v0-5. */
static void
leave_group_req_io(kw_io *io, int16_t ver, void *p)
{
    kw_leave_group_req *m = p;
    kw_io_str(io, "GroupId", &m->group_id);
    if (ver <= 2)
        kw_io_str(io, "MemberId", &m->member_id);
    if (ver >= 3)
        kw_io_array(io, "Members", &m->members, &m->n_members, sizeof(*m->members),
                    leave_group_member_identity_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* LeaveGroupResponse.Members[] v3-5. */
static void
leave_group_member_response_io(kw_io *io, int16_t ver, void *p)
{
    kw_leave_group_member_response *m = p;
    (void)ver;
    kw_io_str(io, "MemberId", &m->member_id);
    kw_io_str(io, "GroupInstanceId", &m->group_instance_id);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* LeaveGroupResponse v0-5. */
static void
leave_group_resp_io(kw_io *io, int16_t ver, void *p)
{
    kw_leave_group_resp *m = p;
    if (ver >= 1)
        kw_io_i32(io, "ThrottleTimeMs", &m->throttle_time_ms);
    kw_io_i16(io, "ErrorCode", &m->error_code);
    if (ver >= 3)
        kw_io_array(io, "Members", &m->members, &m->n_members, sizeof(*m->members),
                    leave_group_member_response_io, ver);
    if (io->flex)
        kw_io_tags_only(io, &m->unknown_tags);
}

/* ---------------------------------------------------------------- consumer embedded protocol */

/* ConsumerProtocolSubscription.OwnedPartitions[] and ConsumerProtocolAssignment
 * .AssignedPartitions[] v0-3 (never flexible). */
static void
consumer_protocol_topic_partition_io(kw_io *io, int16_t ver, void *p)
{
    kw_consumer_protocol_topic_partition *m = p;
    kw_io_str(io, "Topic", &m->topic);
    kw_io_array(io, "Partitions", &m->partitions, &m->n_partitions, sizeof(*m->partitions),
                kw_io_elem_i32, ver);
}

/* Whether a lenient decode has reached the end of the data where an optional trailing field
 * would begin. */
static bool
lenient_end(const kw_io *io, bool lenient)
{
    return lenient && io->mode == KW_IO_DECODE && kw_rd_remain(io->rd) == 0;
}

/* ConsumerProtocolSubscription v0-3. With `lenient` (kw_consumer_protocol_decode only), data
 * that ends exactly before a field of v1+ leaves that field and the rest at their defaults. */
static void
subscription_fields(kw_io *io, int16_t ver, kw_consumer_protocol_subscription *m, bool lenient)
{
    kw_io_array(io, "Topics", &m->topics, &m->n_topics, sizeof(*m->topics), kw_io_elem_str, ver);
    kw_io_bytes(io, "UserData", &m->user_data);
    if (ver >= 1 && !lenient_end(io, lenient))
        kw_io_array(io, "OwnedPartitions", &m->owned_partitions, &m->n_owned_partitions,
                    sizeof(*m->owned_partitions), consumer_protocol_topic_partition_io, ver);
    if (ver >= 2 && !lenient_end(io, lenient))
        kw_io_i32(io, "GenerationId", &m->generation_id);
    else if (kw_io_decoding(io))
        m->generation_id = -1;
    if (ver >= 3 && !lenient_end(io, lenient))
        kw_io_str(io, "RackId", &m->rack_id);
    else if (kw_io_decoding(io))
        m->rack_id = KW_SLICE_NULL;
}

static void
consumer_protocol_subscription_io(kw_io *io, int16_t ver, void *p)
{
    subscription_fields(io, ver, p, false);
}

/* ConsumerProtocolAssignment v0-3: the same fields in every version. */
static void
consumer_protocol_assignment_io(kw_io *io, int16_t ver, void *p)
{
    kw_consumer_protocol_assignment *m = p;
    kw_io_array(io, "AssignedPartitions", &m->assigned_partitions, &m->n_assigned_partitions,
                sizeof(*m->assigned_partitions), consumer_protocol_topic_partition_io, ver);
    kw_io_bytes(io, "UserData", &m->user_data);
}

const kw_msgdef kw_msg_heartbeat_req = {
    "HeartbeatRequest", 12, false, 0, 4, 4, sizeof(kw_heartbeat_req), heartbeat_req_io,
};
const kw_msgdef kw_msg_heartbeat_resp = {
    "HeartbeatResponse", 12, true, 0, 4, 4, sizeof(kw_heartbeat_resp), heartbeat_resp_io,
};

const kw_msgdef kw_msg_find_coordinator_req = {
    "FindCoordinatorRequest", 10, false, 0, 6, 3, sizeof(kw_find_coordinator_req),
    find_coordinator_req_io,
};
const kw_msgdef kw_msg_find_coordinator_resp = {
    "FindCoordinatorResponse", 10, true, 0, 6, 3, sizeof(kw_find_coordinator_resp),
    find_coordinator_resp_io,
};
const kw_msgdef kw_msg_join_group_req = {
    "JoinGroupRequest", 11, false, 0, 9, 6, sizeof(kw_join_group_req), join_group_req_io,
};
const kw_msgdef kw_msg_join_group_resp = {
    "JoinGroupResponse", 11, true, 0, 9, 6, sizeof(kw_join_group_resp), join_group_resp_io,
};
const kw_msgdef kw_msg_sync_group_req = {
    "SyncGroupRequest", 14, false, 0, 5, 4, sizeof(kw_sync_group_req), sync_group_req_io,
};
const kw_msgdef kw_msg_sync_group_resp = {
    "SyncGroupResponse", 14, true, 0, 5, 4, sizeof(kw_sync_group_resp), sync_group_resp_io,
};
const kw_msgdef kw_msg_leave_group_req = {
    "LeaveGroupRequest", 13, false, 0, 5, 4, sizeof(kw_leave_group_req), leave_group_req_io,
};
const kw_msgdef kw_msg_leave_group_resp = {
    "LeaveGroupResponse", 13, true, 0, 5, 4, sizeof(kw_leave_group_resp), leave_group_resp_io,
};
/* Data structures, not API messages: api_key -1, never flexible. */
const kw_msgdef kw_msg_consumer_protocol_subscription = {
    "ConsumerProtocolSubscription",
    -1,
    false,
    0,
    3,
    -1,
    sizeof(kw_consumer_protocol_subscription),
    consumer_protocol_subscription_io,
};
const kw_msgdef kw_msg_consumer_protocol_assignment = {
    "ConsumerProtocolAssignment",    -1, false, 0, 3, -1, sizeof(kw_consumer_protocol_assignment),
    consumer_protocol_assignment_io,
};

/* ---------------------------------------------------------------- version-prefixed helpers */

kw_err
kw_consumer_protocol_decode(const kw_msgdef *d, kw_rd *r, kw_arena *arena, void *out,
                            int16_t *ver_out)
{
    bool sub = d == &kw_msg_consumer_protocol_subscription;
    if (ver_out)
        *ver_out = 0;
    if (!sub && d != &kw_msg_consumer_protocol_assignment)
        return kw_rd_fail(r, KW_ERR_INVALID_ARG);
    memset(out, 0, d->size);
    uint32_t flags = r->flags;
    kw_rd_set_flex(r, false);
    int16_t ver = kw_rd_i16(r);
    if (!r->err && ver < d->min_ver)
        kw_rd_fail(r, KW_ERR_UNSUPPORTED_VERSION);
    /* Java's ConsumerProtocol reads a newer version as its highest: versions only append. */
    if (ver > d->max_ver)
        ver = d->max_ver;
    if (!r->err) {
        kw_io io;
        memset(&io, 0, sizeof(io));
        io.mode = KW_IO_DECODE;
        io.rd = r;
        io.arena = arena;
        if (sub)
            subscription_fields(&io, ver, out, true);
        else
            consumer_protocol_assignment_io(&io, ver, out);
    }
    r->flags = flags;
    if (r->err)
        return r->err;
    /* Fields of newer versions (or padding) after the known ones are ignored, as in Java. */
    kw_rd_raw(r, kw_rd_remain(r));
    if (ver_out)
        *ver_out = ver;
    return KW_ERR_OK;
}

kw_err
kw_consumer_protocol_encode(const kw_msgdef *d, int16_t ver, kw_wr *w, const void *m)
{
    if (d != &kw_msg_consumer_protocol_subscription && d != &kw_msg_consumer_protocol_assignment)
        return kw_wr_fail(w, KW_ERR_INVALID_ARG);
    if (ver < d->min_ver || ver > d->max_ver)
        return kw_wr_fail(w, KW_ERR_UNSUPPORTED_VERSION);
    uint32_t flags = w->flags;
    kw_wr_set_flex(w, false);
    kw_wr_i16(w, ver);
    w->flags = flags;
    return kw_msg_encode(d, ver, w, m);
}

const kw_msgdef *const kwi_family_group[] = {
    &kw_msg_find_coordinator_req,
    &kw_msg_find_coordinator_resp,
    &kw_msg_join_group_req,
    &kw_msg_join_group_resp,
    &kw_msg_heartbeat_req,
    &kw_msg_heartbeat_resp,
    &kw_msg_leave_group_req,
    &kw_msg_leave_group_resp,
    &kw_msg_sync_group_req,
    &kw_msg_sync_group_resp,
    &kw_msg_consumer_protocol_subscription,
    &kw_msg_consumer_protocol_assignment,
    NULL,
};
