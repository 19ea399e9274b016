/* Builds the seed corpus of fuzz_client: runs the harness with an honest broker made of kwire's
 * own encoders (ApiVersions, Metadata, InitProducerId, Produce, ListOffsets, Fetch, and a group
 * coordinator: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, LeaveGroup, OffsetFetch,
 * OffsetCommit, ConsumerGroupHeartbeat), records the chunks it answered and writes header +
 * chunks as one seed per scenario, for a modern and a legacy (non-flexible, no KIP-848)
 * broker. The group seeds reach a formed group: joined, assigned, consumed, committed, left.
 * Not part of the build; run it by hand after a change to the harness's input format, from a
 * build with every codec (a -Dfuzz=true build also needs -fsanitize=... and libFuzzer's
 * libclang_rt.fuzzer_no_main on the command line):
 *
 *   cc -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -I/tmp/<build> fuzz/gen_client_seeds.c \
 *      /tmp/<build>/libkwire.a -lz -llz4 -lzstd -lsnappy -lssl -lcrypto -lsasl2 -lpthread -lm \
 *      -o /tmp/gen_client_seeds && /tmp/gen_client_seeds fuzz/corpus/fuzz_client
 */
#include "fuzz_client.c"

#include "kwire/msg_fetch.h"
#include "kwire/msg_group.h"
#include "kwire/msg_kip848.h"
#include "kwire/msg_meta.h"
#include "kwire/msg_offsets.h"
#include "kwire/msg_produce.h"
#include "kwire/records.h"

/* The broker's version ranges; `old` keeps every API below its flexible versions (and has no
 * KIP-848). */
static bool old_versions;
static bool fetch_lz4; /* every fetched batch lz4: what a build without lz4 must refuse */
static int64_t next_offset;
static int32_t generation; /* the group's generation (classic) or member epoch (KIP-848) */

#define MEMBER_ID "fuzz-member-1"

/* Topic ids follow the name, so Metadata, Fetch and KIP-848 assignments agree. */
static kw_uuid
topic_id(kw_slice name)
{
    kw_uuid id;
    memset(&id, 0, sizeof(id));
    id.b[0] = name.len > 0 ? name.ptr[0] : 0;
    id.b[15] = 1;
    return id;
}

static size_t
enc_body(int16_t key, int16_t ver, const void *m, uint8_t *out, size_t cap)
{
    const kw_msgdef *d = kw_msgdef_by_key(key, true);
    kw_wr wr;
    kw_wr_init_fixed(&wr, out, cap);
    if (kw_resp_hdr_version(d, ver) >= 1)
        kw_wr_uvarint(&wr, 0); /* the response header's empty tagged section */
    if (kw_msg_encode(d, ver, &wr, m) != KW_ERR_OK || kw_wr_finish(&wr) != KW_ERR_OK)
        abort();
    return kw_wr_len(&wr);
}

static size_t
api_versions(int16_t ver, uint8_t *out, size_t cap)
{
    kw_api_version modern[] = {
        {0, 3, 9, {0}},  {1, 4, 12, {0}}, {2, 1, 7, {0}},  {3, 0, 12, {0}}, {8, 2, 9, {0}},
        {9, 1, 9, {0}},  {10, 0, 4, {0}}, {11, 0, 9, {0}}, {12, 0, 4, {0}}, {13, 0, 5, {0}},
        {14, 0, 5, {0}}, {18, 0, 3, {0}}, {22, 0, 4, {0}}, {68, 0, 1, {0}},
    };
    kw_api_version legacy[] = {
        {0, 3, 7, {0}},  {1, 4, 11, {0}}, {2, 1, 5, {0}},  {3, 0, 8, {0}},  {8, 2, 7, {0}},
        {9, 1, 5, {0}},  {10, 0, 2, {0}}, {11, 0, 5, {0}}, {12, 0, 3, {0}}, {13, 0, 3, {0}},
        {14, 0, 3, {0}}, {18, 0, 2, {0}}, {22, 0, 1, {0}},
    };
    kw_api_versions_resp r;
    memset(&r, 0, sizeof(r));
    r.api_keys = old_versions ? legacy : modern;
    r.n_api_keys = old_versions ? 13 : 14;
    r.finalized_features_epoch = -1;
    return enc_body(18, ver, &r, out, cap);
}

static size_t
metadata(int16_t ver, const kw_metadata_req *q, uint8_t *out, size_t cap)
{
    static kw_metadata_resp_broker b = {
        1, {(const uint8_t *)"127.0.0.1", 9}, 9092, {NULL, -1}, {0}};
    static int32_t nodes[] = {1};
    kw_metadata_resp_partition parts[3];
    kw_metadata_resp_topic topics[2];
    memset(parts, 0, sizeof(parts));
    memset(topics, 0, sizeof(topics));
    for (int i = 0; i < 3; i++) {
        parts[i].partition_index = i;
        parts[i].leader_id = 1;
        parts[i].replica_nodes = parts[i].isr_nodes = nodes;
        parts[i].n_replica_nodes = parts[i].n_isr_nodes = 1;
    }
    int32_t n = q->n_topics < 0 ? 1 : q->n_topics > 2 ? 2 : q->n_topics;
    for (int32_t i = 0; i < n; i++) {
        topics[i].name = q->n_topics < 0 ? kw_slice_str("t") : q->topics[i].name;
        topics[i].partitions = parts;
        topics[i].n_partitions = 3;
        topics[i].topic_authorized_operations = INT32_MIN;
        topics[i].topic_id = topic_id(topics[i].name);
    }
    kw_metadata_resp r;
    memset(&r, 0, sizeof(r));
    r.brokers = &b;
    r.n_brokers = 1;
    r.cluster_id = kw_slice_str("fuzz-cluster");
    r.controller_id = 1;
    r.topics = topics;
    r.n_topics = n;
    r.cluster_authorized_operations = INT32_MIN;
    return enc_body(3, ver, &r, out, cap);
}

static size_t
produce(int16_t ver, const kw_produce_req *q, uint8_t *out, size_t cap)
{
    kw_produce_resp_topic topics[4];
    kw_produce_resp_partition parts[4][4];
    memset(topics, 0, sizeof(topics));
    memset(parts, 0, sizeof(parts));
    int32_t nt = q->n_topic_data > 4 ? 4 : q->n_topic_data;
    for (int32_t i = 0; i < nt; i++) {
        const kw_produce_req_topic *t = &q->topic_data[i];
        topics[i].name = t->name;
        topics[i].topic_id = t->topic_id;
        topics[i].partition_responses = parts[i];
        topics[i].n_partition_responses = t->n_partition_data > 4 ? 4 : t->n_partition_data;
        for (int32_t j = 0; j < topics[i].n_partition_responses; j++) {
            parts[i][j].index = t->partition_data[j].index;
            parts[i][j].base_offset = next_offset;
            parts[i][j].log_append_time_ms = -1;
            parts[i][j].log_start_offset = 0;
            parts[i][j].error_message = KW_SLICE_NULL;
            next_offset += 16;
        }
    }
    kw_produce_resp r;
    memset(&r, 0, sizeof(r));
    r.responses = topics;
    r.n_responses = nt;
    return enc_body(0, ver, &r, out, cap);
}

/* Records 0-4 of t/0 in one batch (lz4 in every other answer), then empty answers. */
static size_t
fetch(int16_t ver, const kw_fetch_req *q, uint8_t *out, size_t cap)
{
    static uint8_t recs[4096];
    kw_fetch_resp_partition parts[4];
    kw_fetch_resp_topic topics[2];
    memset(parts, 0, sizeof(parts));
    memset(topics, 0, sizeof(topics));
    int32_t nt = q->n_topics > 2 ? 2 : q->n_topics, k = 0;
    for (int32_t i = 0; i < nt; i++) {
        topics[i].topic = q->topics[i].topic;
        topics[i].topic_id = q->topics[i].topic_id;
        topics[i].partitions = &parts[k];
        for (int32_t j = 0; j < q->topics[i].n_partitions && k < 4; j++, k++) {
            const kw_fetch_req_partition *rp = &q->topics[i].partitions[j];
            kw_fetch_resp_partition *pp = &parts[k];
            topics[i].n_partitions++;
            pp->partition_index = rp->partition;
            pp->high_watermark = 5;
            pp->last_stable_offset = 5;
            pp->log_start_offset = 0;
            pp->preferred_read_replica = -1;
            pp->n_aborted_transactions = -1;
            pp->records = KW_SLICE_NULL;
            if (rp->fetch_offset >= 5)
                continue;
            kw_wr wr;
            kw_wr_init_fixed(&wr, recs, sizeof(recs));
            kw_batch_opts bo;
            kw_batch_opts_init(&bo);
            bo.base_offset = 0;
            bo.partition_leader_epoch = 0;
            bo.attributes = fetch_lz4 || (next_offset & 1) ? 3 : 0; /* lz4 */
            kw_batch_builder bb;
            kw_header h = {kw_slice_str("h"), kw_slice_str("v")};
            if (kw_batch_builder_init(&bb, &wr, &bo) != KW_ERR_OK)
                abort();
            for (int r = 0; r < 5; r++)
                kw_batch_builder_add(&bb, 1700000000000 + r, kw_slice_str("key"),
                                     kw_slice_str("value-value-value"), &h, 1);
            if (kw_batch_builder_finish(&bb, NULL) != KW_ERR_OK)
                abort();
            pp->records = (kw_slice){recs, (int32_t)kw_wr_len(&wr)};
        }
    }
    next_offset++;
    kw_fetch_resp r;
    memset(&r, 0, sizeof(r));
    r.responses = topics;
    r.n_responses = nt;
    return enc_body(1, ver, &r, out, cap);
}

static size_t
list_offsets(int16_t ver, const kw_list_offsets_req *q, uint8_t *out, size_t cap)
{
    kw_list_offsets_resp_partition parts[4];
    kw_list_offsets_resp_topic topics[2];
    memset(parts, 0, sizeof(parts));
    memset(topics, 0, sizeof(topics));
    int32_t nt = q->n_topics > 2 ? 2 : q->n_topics, k = 0;
    for (int32_t i = 0; i < nt; i++) {
        topics[i].name = q->topics[i].name;
        topics[i].partitions = &parts[k];
        for (int32_t j = 0; j < q->topics[i].n_partitions && k < 4; j++, k++) {
            topics[i].n_partitions++;
            parts[k].partition_index = q->topics[i].partitions[j].partition_index;
            parts[k].timestamp = -1;
            parts[k].offset = q->topics[i].partitions[j].timestamp == -1 ? 5 : 0;
            parts[k].leader_epoch = 0;
        }
    }
    kw_list_offsets_resp r;
    memset(&r, 0, sizeof(r));
    r.topics = topics;
    r.n_topics = nt;
    return enc_body(2, ver, &r, out, cap);
}

/* ---- the group coordinator: one member, which leads every generation ---------------------- */

static bool
slice_same(kw_slice a, kw_slice b)
{
    return a.len == b.len && (a.len <= 0 || memcmp(a.ptr, b.ptr, (size_t)a.len) == 0);
}

static size_t
find_coordinator(int16_t ver, const kw_find_coordinator_req *q, uint8_t *out, size_t cap)
{
    kw_find_coordinator_coordinator co[4];
    kw_find_coordinator_resp r;
    memset(&r, 0, sizeof(r));
    memset(co, 0, sizeof(co));
    r.error_message = KW_SLICE_NULL;
    r.node_id = 1;
    r.host = kw_slice_str("127.0.0.1");
    r.port = 9092;
    int32_t n = q->n_coordinator_keys > 4 ? 4 : q->n_coordinator_keys;
    for (int32_t i = 0; i < n; i++) {
        co[i].key = q->coordinator_keys[i];
        co[i].node_id = 1;
        co[i].host = r.host;
        co[i].port = 9092;
        co[i].error_message = KW_SLICE_NULL;
    }
    r.coordinators = co;
    r.n_coordinators = n;
    return enc_body(10, ver, &r, out, cap);
}

/* v4+: the first join without a member id gets MEMBER_ID_REQUIRED (KIP-394), as Kafka does;
 * then every join forms a new generation led by this member, with its own subscription. */
static size_t
join_group(int16_t ver, const kw_join_group_req *q, uint8_t *out, size_t cap)
{
    kw_join_group_resp_member mem;
    kw_join_group_resp r;
    memset(&r, 0, sizeof(r));
    memset(&mem, 0, sizeof(mem));
    r.protocol_type = kw_slice_str("consumer");
    r.protocol_name = KW_SLICE_NULL;
    r.member_id = kw_slice_str(MEMBER_ID);
    r.generation_id = -1;
    r.leader = kw_slice_str("");
    if (ver >= 4 && q->member_id.len <= 0) {
        r.error_code = 79;
        return enc_body(11, ver, &r, out, cap);
    }
    if (q->n_protocols < 1)
        abort();
    r.generation_id = ++generation;
    r.protocol_name = q->protocols[0].name;
    r.leader = r.member_id;
    mem.member_id = r.member_id;
    mem.group_instance_id = KW_SLICE_NULL;
    mem.metadata = q->protocols[0].metadata;
    r.members = &mem;
    r.n_members = 1;
    return enc_body(11, ver, &r, out, cap);
}

static size_t
sync_group(int16_t ver, const kw_sync_group_req *q, uint8_t *out, size_t cap)
{
    kw_sync_group_resp r;
    memset(&r, 0, sizeof(r));
    r.protocol_type = q->protocol_type;
    r.protocol_name = q->protocol_name;
    r.assignment = kw_slice_str("");
    for (int32_t i = 0; i < q->n_assignments; i++)
        if (slice_same(q->assignments[i].member_id, q->member_id))
            r.assignment = q->assignments[i].assignment;
    return enc_body(14, ver, &r, out, cap);
}

static size_t
leave_group(int16_t ver, const kw_leave_group_req *q, uint8_t *out, size_t cap)
{
    kw_leave_group_member_response mem[4];
    kw_leave_group_resp r;
    memset(&r, 0, sizeof(r));
    memset(mem, 0, sizeof(mem));
    int32_t n = q->n_members > 4 ? 4 : q->n_members;
    for (int32_t i = 0; i < n; i++) {
        mem[i].member_id = q->members[i].member_id;
        mem[i].group_instance_id = q->members[i].group_instance_id;
    }
    r.members = mem;
    r.n_members = n;
    return enc_body(13, ver, &r, out, cap);
}

/* Nothing committed yet: offset -1 for every partition asked (auto.offset.reset decides). */
static size_t
offset_fetch(int16_t ver, const kw_offset_fetch_req *q, uint8_t *out, size_t cap)
{
    static kw_offset_fetch_resp_partition parts[16];
    kw_offset_fetch_resp_topic topics[4];
    kw_offset_fetch_resp_group grp;
    memset(topics, 0, sizeof(topics));
    memset(&grp, 0, sizeof(grp));
    const kw_offset_fetch_req_topic *qt = ver >= 8 ? q->groups[0].topics : q->topics;
    int32_t nt = ver >= 8 ? q->groups[0].n_topics : q->n_topics, k = 0;
    nt = nt < 0 ? 0 : nt > 4 ? 4 : nt;
    for (int32_t i = 0; i < nt; i++) {
        topics[i].name = qt[i].name;
        topics[i].topic_id = qt[i].topic_id;
        topics[i].partitions = &parts[k];
        for (int32_t j = 0; j < qt[i].n_partition_indexes && k < 16; j++, k++) {
            memset(&parts[k], 0, sizeof(parts[k]));
            parts[k].partition_index = qt[i].partition_indexes[j];
            parts[k].committed_offset = -1;
            parts[k].committed_leader_epoch = -1;
            parts[k].metadata = kw_slice_str("");
            topics[i].n_partitions++;
        }
    }
    kw_offset_fetch_resp r;
    memset(&r, 0, sizeof(r));
    if (ver >= 8) {
        if (q->n_groups < 1)
            abort();
        grp.group_id = q->groups[0].group_id;
        grp.topics = topics;
        grp.n_topics = nt;
        r.groups = &grp;
        r.n_groups = 1;
    } else {
        r.topics = topics;
        r.n_topics = nt;
    }
    return enc_body(9, ver, &r, out, cap);
}

static size_t
offset_commit(int16_t ver, const kw_offset_commit_req *q, uint8_t *out, size_t cap)
{
    static kw_offset_commit_resp_partition parts[16];
    kw_offset_commit_resp_topic topics[4];
    memset(topics, 0, sizeof(topics));
    int32_t nt = q->n_topics > 4 ? 4 : q->n_topics, k = 0;
    for (int32_t i = 0; i < nt; i++) {
        topics[i].name = q->topics[i].name;
        topics[i].topic_id = q->topics[i].topic_id;
        topics[i].partitions = &parts[k];
        for (int32_t j = 0; j < q->topics[i].n_partitions && k < 16; j++, k++) {
            memset(&parts[k], 0, sizeof(parts[k]));
            parts[k].partition_index = q->topics[i].partitions[j].partition_index;
            topics[i].n_partitions++;
        }
    }
    kw_offset_commit_resp r;
    memset(&r, 0, sizeof(r));
    r.topics = topics;
    r.n_topics = nt;
    return enc_body(8, ver, &r, out, cap);
}

/* KIP-848: the join (epoch 0) gets epoch 1 and every partition of every subscribed topic;
 * later heartbeats keep it (a null assignment means "unchanged"); a leave (epoch -1 or -2)
 * gets its epoch back. */
static size_t
consumer_group_heartbeat(int16_t ver, const kw_consumer_group_heartbeat_req *q, uint8_t *out,
                         size_t cap)
{
    static int32_t all[3] = {0, 1, 2};
    kw_consumer_group_heartbeat_topic_partitions tps[4];
    kw_consumer_group_heartbeat_resp r;
    memset(&r, 0, sizeof(r));
    memset(tps, 0, sizeof(tps));
    r.error_message = KW_SLICE_NULL;
    r.member_id = q->member_id.len > 0 ? q->member_id : kw_slice_str(MEMBER_ID);
    r.heartbeat_interval_ms = 1000;
    r.member_epoch = q->member_epoch < 0 ? q->member_epoch : generation;
    if (q->member_epoch == 0) {
        r.member_epoch = ++generation;
        int32_t n = q->n_subscribed_topic_names > 4 ? 4 : q->n_subscribed_topic_names;
        for (int32_t i = 0; i < n; i++) {
            tps[i].topic_id = topic_id(q->subscribed_topic_names[i]);
            tps[i].partitions = all;
            tps[i].n_partitions = 3;
        }
        r.has_assignment = true;
        r.assignment.topic_partitions = tps;
        r.assignment.n_topic_partitions = n < 0 ? 0 : n;
    }
    return enc_body(68, ver, &r, out, cap);
}

static size_t
honest(world *w, int16_t key, int16_t ver, const uint8_t *frame, size_t len, uint8_t *out,
       size_t cap)
{
    (void)w;
    if (key == 18)
        return api_versions(ver, out, cap);
    const kw_msgdef *d = kw_msgdef_by_key(key, false);
    kw_arena ar;
    kw_arena_init(&ar, NULL, 0);
    kw_rd r;
    kw_rd_init(&r, frame, len);
    kw_req_hdr h;
    union {
        kw_metadata_req md;
        kw_produce_req pr;
        kw_fetch_req fe;
        kw_list_offsets_req lo;
        kw_find_coordinator_req fc;
        kw_join_group_req jg;
        kw_sync_group_req sg;
        kw_leave_group_req lg;
        kw_offset_fetch_req of;
        kw_offset_commit_req oc;
        kw_consumer_group_heartbeat_req cg;
    } q;
    if (!d || kw_req_hdr_decode(&r, kw_req_hdr_version(d, ver), &ar, &h) != KW_ERR_OK ||
        kw_msg_decode(d, ver, &r, &ar, &q) != KW_ERR_OK)
        abort(); /* kwire's own requests always parse */
    size_t n = 0;
    if (key == 3) {
        n = metadata(ver, &q.md, out, cap);
    } else if (key == 0) {
        n = produce(ver, &q.pr, out, cap);
    } else if (key == 1) {
        n = fetch(ver, &q.fe, out, cap);
    } else if (key == 2) {
        n = list_offsets(ver, &q.lo, out, cap);
    } else if (key == 22) {
        kw_init_producer_id_resp ip;
        memset(&ip, 0, sizeof(ip));
        ip.producer_id = 1000;
        ip.ongoing_txn_producer_id = -1;
        ip.ongoing_txn_producer_epoch = -1;
        n = enc_body(22, ver, &ip, out, cap);
    } else if (key == 10) {
        n = find_coordinator(ver, &q.fc, out, cap);
    } else if (key == 11) {
        n = join_group(ver, &q.jg, out, cap);
    } else if (key == 14) {
        n = sync_group(ver, &q.sg, out, cap);
    } else if (key == 12) {
        kw_heartbeat_resp hb;
        memset(&hb, 0, sizeof(hb));
        n = enc_body(12, ver, &hb, out, cap);
    } else if (key == 13) {
        n = leave_group(ver, &q.lg, out, cap);
    } else if (key == 9) {
        n = offset_fetch(ver, &q.of, out, cap);
    } else if (key == 8) {
        n = offset_commit(ver, &q.oc, out, cap);
    } else if (key == 68) {
        n = consumer_group_heartbeat(ver, &q.cg, out, cap);
    }
    kw_arena_fini(&ar);
    return n;
}

int
main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
        return 2;
    }
    /* byte 0 (patch mode always; acks, lz4, record count), byte 1 (recv cap), byte 2 (ops:
     * 0x20 the group member, 0x40 KIP-848, 0x80 cooperative-sticky); then the generator's
     * own flag (not written): bit 0 = every fetched batch is lz4. */
    static const uint8_t hdrs[][4] = {
        {0x01, 0, 0x01, 0}, {0x31, 0, 0x00, 0}, {0x71, 0, 0x07, 0}, {0xF3, 0, 0x02, 0},
        {0x15, 0, 0x0b, 0}, {0x49, 0, 0x01, 0}, {0x21, 3, 0x03, 0}, {0x01, 1, 0x00, 0},
        {0x01, 0, 0x10, 0}, {0x23, 0, 0x11, 0}, {0x01, 7, 0x18, 0}, {0x01, 0, 0x10, 1},
        {0x01, 0, 0x20, 0}, {0x11, 0, 0x23, 0}, {0x01, 0, 0xA2, 0}, {0x01, 0, 0x30, 0},
        {0x01, 0, 0x60, 0}, {0x11, 0, 0x63, 0}, {0x01, 5, 0x20, 1},
    };
    int n = 0;
    for (int legacy = 0; legacy < 2; legacy++) {
        old_versions = legacy;
        for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
            next_offset = 0;
            generation = 0;
            fetch_lz4 = hdrs[i][3] & 1u;
            W.oracle = honest;
            LLVMFuzzerTestOneInput(hdrs[i], 3);
            char path[512];
            snprintf(path, sizeof(path), "%s/seed-%s-%02zu", argv[1], legacy ? "old" : "new", i);
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(hdrs[i], 1, 3, f) != 3 || fwrite(W.rec, 1, W.rec_len, f) != W.rec_len)
                return 1;
            fclose(f);
            n++;
        }
    }
    fprintf(stderr, "wrote %d seeds\n", n);
    return 0;
}
