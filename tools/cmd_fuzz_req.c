/* kwire fuzz: a well-formed request for every API and version kwire's codec covers.
 *
 * These are the seeds the mutator starts from when no --corpus is given. They are built in
 * code through the codec (kw_msg_encode), not read from the source tree, so an installed
 * kwire can fuzz on its own. Each request carries sensible values a broker acts on rather
 * than rejects at the first field: the topic "kwire-fuzz", partition 0, a group and a
 * transactional id, a real record batch for Produce, short waits (a Fetch that asks the
 * broker to wait 100 ms, not forever), so mutations reach deep code paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_fuzz_int.h"
#include "kw_config.h"
#include "kwire/records.h"

#define TOPIC "kwire-fuzz"
#define GROUP "kwire-fuzz-group"
#define TXNID "kwire-fuzz-txn"

typedef struct req_ctx {
    int16_t ver;
    kw_slice topic, group, txn, empty;
    int32_t part0[1];
    kw_slice topics1[1];
    kw_slice groups1[1];
    uint8_t batch[256];
    kw_slice records;
} req_ctx;

/* Writes size prefix, header and body; the size is patched once the body is known. */
static kw_err
put_frame(const kw_msgdef *d, int16_t ver, int32_t corr, const void *m, kw_wr *w)
{
    size_t start = kw_wr_len(w);
    kw_wr_i32(w, 0);
    kw_req_hdr h = {d->api_key, ver, corr, kw_slice_str(FZ_CLIENT_ID), {NULL, 0}};
    kw_err e = kw_req_hdr_encode(w, kw_req_hdr_version(d, ver), &h);
    if (e == KW_ERR_OK)
        e = kw_msg_encode(d, ver, w, m);
    if (e == KW_ERR_OK)
        e = kw_wr_finish(w);
    if (e == KW_ERR_OK)
        kw_wr_patch_i32(w, start, (int32_t)(kw_wr_len(w) - start - 4));
    return e;
}

/* One v2 record batch with one record, as a plain producer writes it. */
static kw_err
make_batch(req_ctx *c)
{
    kw_wr w;
    kw_wr_init_fixed(&w, c->batch, sizeof(c->batch));
    kw_batch_opts o;
    kw_batch_opts_init(&o);
    kw_batch_builder b;
    kw_err e = kw_batch_builder_init(&b, &w, &o);
    if (e == KW_ERR_OK)
        e = kw_batch_builder_add(&b, 1700000000000, kw_slice_str("key"),
                                 kw_slice_str("kwire fuzz value"), NULL, 0);
    if (e == KW_ERR_OK)
        e = kw_batch_builder_finish(&b, NULL);
    c->records = (kw_slice){c->batch, (int32_t)kw_wr_len(&w)};
    return e;
}

static kw_err
produce(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_produce_req_partition p = {0, c->records, {NULL, 0}};
    kw_produce_req_topic t = {c->topic, {{0}}, &p, 1, {NULL, 0}};
    kw_produce_req m = {KW_SLICE_NULL, 1, 5000, &t, 1, {NULL, 0}};
    return put_frame(&kw_msg_produce_req, c->ver, corr, &m, w);
}

static kw_err
fetch(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_fetch_req_partition p;
    memset(&p, 0, sizeof(p));
    p.current_leader_epoch = -1;
    p.last_fetched_epoch = -1;
    p.log_start_offset = -1;
    p.partition_max_bytes = 1048576;
    p.high_watermark = INT64_MAX;
    kw_fetch_req_topic t = {c->topic, {{0}}, &p, 1, {NULL, 0}};
    kw_fetch_req m;
    memset(&m, 0, sizeof(m));
    m.cluster_id = KW_SLICE_NULL;
    m.replica_id = -1;
    m.replica_state.replica_id = -1;
    m.replica_state.replica_epoch = -1;
    m.max_wait_ms = 100; /* a broker may legitimately wait this long: keep it short */
    m.min_bytes = 1;
    m.max_bytes = 52428800;
    m.session_epoch = -1;
    m.topics = &t;
    m.n_topics = 1;
    return put_frame(&kw_msg_fetch_req, c->ver, corr, &m, w);
}

static kw_err
list_offsets(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_list_offsets_req_partition p = {0, -1, -1, {NULL, 0}};
    kw_list_offsets_req_topic t = {c->topic, &p, 1, {NULL, 0}};
    kw_list_offsets_req m = {-1, 0, &t, 1, 1000, {NULL, 0}};
    return put_frame(&kw_msg_list_offsets_req, c->ver, corr, &m, w);
}

static kw_err
metadata(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_metadata_req_topic t = {{{0}}, c->topic, {NULL, 0}};
    kw_metadata_req m = {&t, 1, true, false, false, {NULL, 0}};
    return put_frame(&kw_msg_metadata_req, c->ver, corr, &m, w);
}

static kw_err
offset_commit(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_offset_commit_req_partition p = {0, 0, -1, KW_SLICE_NULL, {NULL, 0}};
    kw_offset_commit_req_topic t = {c->topic, {{0}}, &p, 1, {NULL, 0}};
    kw_offset_commit_req m = {c->group, -1, c->empty, KW_SLICE_NULL, -1, &t, 1, {NULL, 0}};
    return put_frame(&kw_msg_offset_commit_req, c->ver, corr, &m, w);
}

static kw_err
offset_fetch(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_offset_fetch_req_topic t = {c->topic, {{0}}, c->part0, 1, {NULL, 0}};
    kw_offset_fetch_req_group g = {c->group, KW_SLICE_NULL, -1, &t, 1, {NULL, 0}};
    kw_offset_fetch_req m = {c->group, &t, 1, &g, 1, false, {NULL, 0}};
    return put_frame(&kw_msg_offset_fetch_req, c->ver, corr, &m, w);
}

static kw_err
find_coordinator(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_find_coordinator_req m = {c->group, 0, c->groups1, 1, {NULL, 0}};
    return put_frame(&kw_msg_find_coordinator_req, c->ver, corr, &m, w);
}

static kw_err
join_group(req_ctx *c, int32_t corr, kw_wr *w)
{
    /* Session and rebalance timeouts at Kafka's minimum keep a legitimate wait short. */
    kw_join_group_req_protocol p = {kw_slice_str("range"), c->empty, {NULL, 0}};
    kw_join_group_req m = {
        c->group, 6000, 6000,          c->empty, KW_SLICE_NULL, kw_slice_str("consumer"),
        &p,       1,    KW_SLICE_NULL, {NULL, 0}};
    return put_frame(&kw_msg_join_group_req, c->ver, corr, &m, w);
}

static kw_err
heartbeat(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_heartbeat_req m = {c->group, 1, kw_slice_str("member-1"), KW_SLICE_NULL, {NULL, 0}};
    return put_frame(&kw_msg_heartbeat_req, c->ver, corr, &m, w);
}

static kw_err
leave_group(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_leave_group_member_identity mi = {
        kw_slice_str("member-1"), KW_SLICE_NULL, KW_SLICE_NULL, {NULL, 0}};
    kw_leave_group_req m = {c->group, kw_slice_str("member-1"), &mi, 1, {NULL, 0}};
    return put_frame(&kw_msg_leave_group_req, c->ver, corr, &m, w);
}

static kw_err
sync_group(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_sync_group_req_assignment a = {kw_slice_str("member-1"), c->empty, {NULL, 0}};
    kw_sync_group_req m = {c->group,
                           1,
                           kw_slice_str("member-1"),
                           KW_SLICE_NULL,
                           kw_slice_str("consumer"),
                           kw_slice_str("range"),
                           &a,
                           1,
                           {NULL, 0}};
    return put_frame(&kw_msg_sync_group_req, c->ver, corr, &m, w);
}

static kw_err
describe_groups(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_describe_groups_req m = {c->groups1, 1, false, {NULL, 0}};
    return put_frame(&kw_msg_describe_groups_req, c->ver, corr, &m, w);
}

static kw_err
list_groups(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_list_groups_req m;
    memset(&m, 0, sizeof(m));
    return put_frame(&kw_msg_list_groups_req, c->ver, corr, &m, w);
}

static kw_err
sasl_handshake(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_sasl_handshake_req m = {kw_slice_str("PLAIN")};
    return put_frame(&kw_msg_sasl_handshake_req, c->ver, corr, &m, w);
}

static kw_err
api_versions(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_api_versions_req m = {kw_slice_str("kwire-fuzz"), kw_slice_str(KW_VERSION), {NULL, 0}};
    return put_frame(&kw_msg_api_versions_req, c->ver, corr, &m, w);
}

static kw_err
create_topics(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_creatable_topic_config cf = {
        kw_slice_str("retention.ms"), kw_slice_str("600000"), {NULL, 0}};
    kw_creatable_topic t = {kw_slice_str("kwire-fuzz-new"), 1, 1, NULL, 0, &cf, 1, {NULL, 0}};
    kw_create_topics_req m = {&t, 1, 1000, true, {NULL, 0}};
    return put_frame(&kw_msg_create_topics_req, c->ver, corr, &m, w);
}

static kw_err
delete_topics(req_ctx *c, int32_t corr, kw_wr *w)
{
    /* A topic the fuzzer never uses otherwise: deleting "kwire-fuzz" would turn most later
     * cases into unknown-topic errors. */
    kw_slice names[1] = {kw_slice_str("kwire-fuzz-new")};
    kw_delete_topic_state t = {names[0], {{0}}, {NULL, 0}};
    kw_delete_topics_req m = {&t, 1, names, 1, 1000, {NULL, 0}};
    return put_frame(&kw_msg_delete_topics_req, c->ver, corr, &m, w);
}

static kw_err
delete_records(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_delete_records_req_partition p = {0, 0, {NULL, 0}};
    kw_delete_records_req_topic t = {c->topic, &p, 1, {NULL, 0}};
    kw_delete_records_req m = {&t, 1, 1000, {NULL, 0}};
    return put_frame(&kw_msg_delete_records_req, c->ver, corr, &m, w);
}

static kw_err
init_producer_id(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_init_producer_id_req m = {KW_SLICE_NULL, 60000, -1, -1, false, false, {NULL, 0}};
    return put_frame(&kw_msg_init_producer_id_req, c->ver, corr, &m, w);
}

static kw_err
offset_for_leader_epoch(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_offset_for_leader_epoch_req_partition p = {0, -1, 0, {NULL, 0}};
    kw_offset_for_leader_epoch_req_topic t = {c->topic, &p, 1, {NULL, 0}};
    kw_offset_for_leader_epoch_req m = {-1, &t, 1, {NULL, 0}};
    return put_frame(&kw_msg_offset_for_leader_epoch_req, c->ver, corr, &m, w);
}

static kw_err
add_partitions_to_txn(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_add_partitions_to_txn_topic t = {c->topic, c->part0, 1, {NULL, 0}};
    kw_add_partitions_to_txn_transaction x = {c->txn, 1000, 0, true, &t, 1, {NULL, 0}};
    kw_add_partitions_to_txn_req m = {&x, 1, c->txn, 1000, 0, &t, 1, {NULL, 0}};
    return put_frame(&kw_msg_add_partitions_to_txn_req, c->ver, corr, &m, w);
}

static kw_err
add_offsets_to_txn(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_add_offsets_to_txn_req m = {c->txn, 1000, 0, c->group, {NULL, 0}};
    return put_frame(&kw_msg_add_offsets_to_txn_req, c->ver, corr, &m, w);
}

static kw_err
end_txn(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_end_txn_req m = {c->txn, 1000, 0, false, {NULL, 0}};
    return put_frame(&kw_msg_end_txn_req, c->ver, corr, &m, w);
}

static kw_err
txn_offset_commit(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_txn_offset_commit_req_partition p = {0, 0, -1, KW_SLICE_NULL, {NULL, 0}};
    kw_txn_offset_commit_req_topic t = {c->topic, &p, 1, {NULL, 0}};
    kw_txn_offset_commit_req m = {c->txn,   c->group,      1000, 0, -1,
                                  c->empty, KW_SLICE_NULL, &t,   1, {NULL, 0}};
    return put_frame(&kw_msg_txn_offset_commit_req, c->ver, corr, &m, w);
}

static kw_err
describe_configs(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_describe_configs_resource r = {2, c->topic, NULL, -1, {NULL, 0}}; /* 2 = topic */
    kw_describe_configs_req m = {&r, 1, false, false, {NULL, 0}};
    return put_frame(&kw_msg_describe_configs_req, c->ver, corr, &m, w);
}

static kw_err
sasl_authenticate(req_ctx *c, int32_t corr, kw_wr *w)
{
    static const uint8_t plain[] = "\0kwire\0fuzz";
    kw_sasl_authenticate_req m = {{plain, (int32_t)sizeof(plain) - 1}, {NULL, 0}};
    return put_frame(&kw_msg_sasl_authenticate_req, c->ver, corr, &m, w);
}

static kw_err
create_partitions(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_create_partitions_topic t = {c->topic, 2, NULL, -1, {NULL, 0}};
    kw_create_partitions_req m = {&t, 1, 1000, true, {NULL, 0}};
    return put_frame(&kw_msg_create_partitions_req, c->ver, corr, &m, w);
}

static kw_err
describe_cluster(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_describe_cluster_req m = {false, 1, false, {NULL, 0}};
    return put_frame(&kw_msg_describe_cluster_req, c->ver, corr, &m, w);
}

static kw_err
consumer_group_heartbeat(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_consumer_group_heartbeat_req m;
    memset(&m, 0, sizeof(m));
    m.group_id = c->group;
    m.member_id = kw_slice_str("kwire-fuzz-member-0000"); /* KIP-1082: the client picks it */
    m.instance_id = KW_SLICE_NULL;
    m.rack_id = KW_SLICE_NULL;
    m.rebalance_timeout_ms = 6000;
    m.subscribed_topic_names = c->topics1;
    m.n_subscribed_topic_names = 1;
    m.subscribed_topic_regex = KW_SLICE_NULL;
    m.server_assignor = KW_SLICE_NULL;
    m.n_topic_partitions = 0;
    return put_frame(&kw_msg_consumer_group_heartbeat_req, c->ver, corr, &m, w);
}

static kw_err
consumer_group_describe(req_ctx *c, int32_t corr, kw_wr *w)
{
    kw_consumer_group_describe_req m = {c->groups1, 1, false, {NULL, 0}};
    return put_frame(&kw_msg_consumer_group_describe_req, c->ver, corr, &m, w);
}

typedef kw_err (*build_fn)(req_ctx *c, int32_t corr, kw_wr *w);

static const struct {
    int16_t key;
    const char *name;
    build_fn fn;
} builders[] = {
    {0, "Produce", produce},
    {1, "Fetch", fetch},
    {2, "ListOffsets", list_offsets},
    {3, "Metadata", metadata},
    {8, "OffsetCommit", offset_commit},
    {9, "OffsetFetch", offset_fetch},
    {10, "FindCoordinator", find_coordinator},
    {11, "JoinGroup", join_group},
    {12, "Heartbeat", heartbeat},
    {13, "LeaveGroup", leave_group},
    {14, "SyncGroup", sync_group},
    {15, "DescribeGroups", describe_groups},
    {16, "ListGroups", list_groups},
    {17, "SaslHandshake", sasl_handshake},
    {18, "ApiVersions", api_versions},
    {19, "CreateTopics", create_topics},
    {20, "DeleteTopics", delete_topics},
    {21, "DeleteRecords", delete_records},
    {22, "InitProducerId", init_producer_id},
    {23, "OffsetForLeaderEpoch", offset_for_leader_epoch},
    {24, "AddPartitionsToTxn", add_partitions_to_txn},
    {25, "AddOffsetsToTxn", add_offsets_to_txn},
    {26, "EndTxn", end_txn},
    {28, "TxnOffsetCommit", txn_offset_commit},
    {32, "DescribeConfigs", describe_configs},
    {36, "SaslAuthenticate", sasl_authenticate},
    {37, "CreatePartitions", create_partitions},
    {60, "DescribeCluster", describe_cluster},
    {68, "ConsumerGroupHeartbeat", consumer_group_heartbeat},
    {69, "ConsumerGroupDescribe", consumer_group_describe},
};
#define N_BUILDERS (sizeof(builders) / sizeof(builders[0]))

kw_err
fz_req_frame(int16_t api_key, int16_t ver, int32_t corr, kw_wr *w)
{
    for (size_t i = 0; i < N_BUILDERS; i++) {
        if (builders[i].key != api_key)
            continue;
        req_ctx c;
        memset(&c, 0, sizeof(c));
        c.ver = ver;
        c.topic = kw_slice_str(TOPIC);
        c.group = kw_slice_str(GROUP);
        c.txn = kw_slice_str(TXNID);
        c.empty = (kw_slice){(const uint8_t *)"", 0};
        c.topics1[0] = c.topic;
        c.groups1[0] = c.group;
        kw_err e = make_batch(&c);
        return e == KW_ERR_OK ? builders[i].fn(&c, corr, w) : e;
    }
    return KW_ERR_UNKNOWN_API;
}

kw_err
fz_probe_frame(int32_t corr, kw_wr *w)
{
    kw_api_versions_req m;
    memset(&m, 0, sizeof(m));
    return put_frame(&kw_msg_api_versions_req, 0, corr, &m, w);
}

const char *
fz_api_name(int16_t key)
{
    static char buf[16];
    for (size_t i = 0; i < N_BUILDERS; i++)
        if (builders[i].key == key)
            return builders[i].name;
    snprintf(buf, sizeof(buf), "api-%d", (int)key);
    return buf;
}

bool
fz_parse_apis(const char *s, bool keys[FZ_MAX_KEYS], char *msg, size_t msg_sz)
{
    while (*s) {
        const char *end = strchr(s, ',');
        size_t full = end ? (size_t)(end - s) : strlen(s), len = full;
        if (len >= 7 && memcmp(s + len - 7, "Request", 7) == 0)
            len -= 7; /* "ProduceRequest" names the same API */
        bool found = false;
        for (size_t i = 0; i < N_BUILDERS && !found; i++) {
            if (strlen(builders[i].name) == len && strncmp(builders[i].name, s, len) == 0) {
                keys[builders[i].key] = true;
                found = true;
            }
        }
        char *e;
        long k = strtol(s, &e, 10);
        if (!found && e == s + len && len > 0 && k >= 0 && k < FZ_MAX_KEYS) {
            keys[k] = true;
            found = true;
        }
        if (!found) {
            snprintf(msg, msg_sz, "unknown API '%.*s' (kwire apis lists them)", (int)len, s);
            return false;
        }
        s += full;
        if (*s == ',')
            s++;
    }
    return true;
}
