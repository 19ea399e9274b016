/* The property table and the rules that relate properties to each other.
 *
 * Names, defaults and ranges follow the Java client (4.0) where Java has the property, and
 * librdkafka where only librdkafka has it; where kwire deviates, the row's doc says so. Aliases
 * are the other client's spelling of the same setting. Rows are in alphabetical order of name
 * (a test checks), which is the order of kw_conf_dump and of docs/configuration.md. */
#include <string.h>

#include "kw_config.h"
#include "util/conf_int.h"

#define I32MAX 2147483647LL
#define P      KW_CONF_SCOPE_PRODUCER
#define C      KW_CONF_SCOPE_CONSUMER
#define ALL    KW_CONF_SCOPE_ALL

static const kwi_conf_enum_val acks_vals[] = {
    {"all", KWI_ACKS_ALL}, {"-1", KWI_ACKS_ALL}, {"0", 0}, {"1", 1}, {NULL, 0}};

static const kwi_conf_enum_val offset_reset_vals[] = {{"earliest", KWI_OFFSET_RESET_EARLIEST},
                                                      {"latest", KWI_OFFSET_RESET_LATEST},
                                                      {"none", KWI_OFFSET_RESET_NONE},
                                                      {"smallest", KWI_OFFSET_RESET_EARLIEST},
                                                      {"beginning", KWI_OFFSET_RESET_EARLIEST},
                                                      {"largest", KWI_OFFSET_RESET_LATEST},
                                                      {"end", KWI_OFFSET_RESET_LATEST},
                                                      {"error", KWI_OFFSET_RESET_NONE},
                                                      {NULL, 0}};

static const kwi_conf_enum_val compression_vals[] = {
    {"none", KWI_COMPRESSION_NONE},     {"gzip", KWI_COMPRESSION_GZIP},
    {"snappy", KWI_COMPRESSION_SNAPPY}, {"lz4", KWI_COMPRESSION_LZ4},
    {"zstd", KWI_COMPRESSION_ZSTD},     {NULL, 0}};

static const kwi_conf_enum_val group_protocol_vals[] = {
    {"classic", KWI_GROUP_PROTOCOL_CLASSIC}, {"consumer", KWI_GROUP_PROTOCOL_CONSUMER}, {NULL, 0}};

static const kwi_conf_enum_val isolation_vals[] = {
    {"read_uncommitted", KWI_ISOLATION_READ_UNCOMMITTED},
    {"read_committed", KWI_ISOLATION_READ_COMMITTED},
    {NULL, 0}};

static const kwi_conf_enum_val partitioner_vals[] = {
    {"murmur2_random", KWI_PARTITIONER_MURMUR2_RANDOM},
    {"murmur2", KWI_PARTITIONER_MURMUR2},
    {"consistent_random", KWI_PARTITIONER_CONSISTENT_RANDOM},
    {"consistent", KWI_PARTITIONER_CONSISTENT},
    {"fnv1a_random", KWI_PARTITIONER_FNV1A_RANDOM},
    {"fnv1a", KWI_PARTITIONER_FNV1A},
    {"random", KWI_PARTITIONER_RANDOM},
    {NULL, 0}};

/* Items of partition.assignment.strategy; the value is unused. */
static const kwi_conf_enum_val assignor_vals[] = {
    {"range", 0}, {"roundrobin", 1}, {"cooperative-sticky", 2}, {NULL, 0}};

static const kwi_conf_enum_val sasl_vals[] = {{"PLAIN", KWI_SASL_PLAIN},
                                              {"SCRAM-SHA-256", KWI_SASL_SCRAM_SHA_256},
                                              {"SCRAM-SHA-512", KWI_SASL_SCRAM_SHA_512},
                                              {"GSSAPI", KWI_SASL_GSSAPI},
                                              {NULL, 0}};

static const kwi_conf_enum_val security_vals[] = {{"PLAINTEXT", KWI_SECURITY_PLAINTEXT},
                                                  {"SSL", KWI_SECURITY_SSL},
                                                  {"SASL_PLAINTEXT", KWI_SECURITY_SASL_PLAINTEXT},
                                                  {"SASL_SSL", KWI_SECURITY_SASL_SSL},
                                                  {NULL, 0}};

static const kwi_conf_enum_val endpoint_vals[] = {
    {"https", KWI_SSL_ENDPOINT_HTTPS}, {"none", KWI_SSL_ENDPOINT_NONE}, {NULL, 0}};

static const char *
check_broker(const char *item, size_t len)
{
    kwi_conf_broker b;
    return kwi_conf_parse_broker(item, len, &b);
}

/* clang-format off */
const kwi_conf_def kwi_conf_defs[KWI_CONF__COUNT] = {
[KWI_CONF_ACKS] = {"acks", KW_CONF_ENUM, "all", 0, 0, acks_vals, "all (-1), 0, 1", NULL,
    {"request.required.acks"}, {0}, P,
    "How many replicas must have the records before the broker acknowledges a produce request: "
    "0 = no response at all, 1 = the leader, all = every in-sync replica. The idempotent "
    "producer needs all."},
[KWI_CONF_ALLOW_AUTO_CREATE_TOPICS] = {"allow.auto.create.topics", KW_CONF_BOOL, "true", 0, 0,
    NULL, NULL, NULL, {NULL}, {0}, C,
    "Let the broker create a topic the consumer subscribes to or is assigned when it does not "
    "exist (if the broker allows it too). Java's default; librdkafka's is false."},
[KWI_CONF_API_VERSION_REQUEST_TIMEOUT_MS] = {"api.version.request.timeout.ms", KW_CONF_MS,
    "10000", 1, 300000, NULL, NULL, NULL, {NULL}, {0}, ALL,
    "How long the ApiVersions request that opens every connection may take before the "
    "connection is closed and retried."},
[KWI_CONF_AUTO_COMMIT_INTERVAL_MS] = {"auto.commit.interval.ms", KW_CONF_MS, "5000", 0, I32MAX,
    NULL, NULL, NULL, {NULL}, {0}, C,
    "How often offsets are committed when enable.auto.commit is true. Only offsets of records "
    "already handed to the application are committed."},
[KWI_CONF_AUTO_OFFSET_RESET] = {"auto.offset.reset", KW_CONF_ENUM, "latest", 0, 0,
    offset_reset_vals,
    "earliest (smallest, beginning), latest (largest, end), none (error)", NULL, {NULL}, {0}, C,
    "Where to start when a partition has no committed offset or the offset is out of range: "
    "the earliest or the latest offset, or none = report an error to the application."},
[KWI_CONF_BATCH_NUM_MESSAGES] = {"batch.num.messages", KW_CONF_INT, "10000", 1, 1000000, NULL,
    NULL, NULL, {NULL}, {0}, P,
    "The most records in one batch for one partition (librdkafka), in addition to the "
    "batch.size limit."},
[KWI_CONF_BATCH_SIZE] = {"batch.size", KW_CONF_BYTES, "16384", 0, I32MAX, NULL, NULL, NULL,
    {NULL}, {0}, P,
    "The target size of one record batch for one partition. A batch is sent when it is full or "
    "linger.ms has passed. A record larger than this gets a batch of its own. Java's default "
    "and meaning; librdkafka's batch.size limits a whole request."},
[KWI_CONF_BOOTSTRAP_SERVERS] = {"bootstrap.servers", KW_CONF_LIST, NULL, 0, 0, NULL, NULL,
    check_broker, {"metadata.broker.list"}, {0}, ALL,
    "Brokers to fetch the first metadata from: host:port items, IPv6 addresses in brackets "
    "([::1]:9092). A missing port means 9092; a scheme prefix such as PLAINTEXT:// is accepted "
    "and ignored. Required."},
[KWI_CONF_BUFFER_MEMORY] = {"buffer.memory", KW_CONF_BYTES, "33554432", 1024,
    I32MAX * 1024, NULL, NULL, NULL, {"queue.buffering.max.kbytes"}, {1024}, P,
    "The producer's memory budget: records waiting to be sent or acknowledged. When it is "
    "full, produce returns a queue-full error instead of blocking. queue.buffering.max.kbytes "
    "is the same budget in KiB."},
[KWI_CONF_CHECK_CRCS] = {"check.crcs", KW_CONF_BOOL, "true", 0, 0, NULL, NULL, NULL, {NULL},
    {0}, C,
    "Verify the CRC-32C of every fetched record batch; a mismatch is an error. Java's default; "
    "librdkafka's is false."},
[KWI_CONF_CLIENT_ID] = {"client.id", KW_CONF_STRING, "kwire", 0, 0, NULL, NULL, NULL, {NULL},
    {0}, ALL,
    "The name sent with every request, for broker logs and quotas."},
[KWI_CONF_CLIENT_RACK] = {"client.rack", KW_CONF_STRING, "", 0, 0, NULL, NULL, NULL, {NULL},
    {0}, C,
    "The rack the consumer runs in, for fetching from the closest replica (KIP-392) and "
    "rack-aware assignment. Empty = unknown."},
[KWI_CONF_COMPRESSION_LEVEL] = {"compression.level", KW_CONF_INT, "-1", -1, 22, NULL, NULL,
    NULL, {NULL}, {0}, P,
    "The level of compression.type: -1 = the codec's default; gzip 0-9, lz4 1-17, zstd 1-22. "
    "snappy and none ignore it."},
[KWI_CONF_COMPRESSION_TYPE] = {"compression.type", KW_CONF_ENUM, "none", 0, 0,
    compression_vals, "none, gzip, snappy, lz4, zstd", NULL, {"compression.codec"}, {0}, P,
    "The codec for produced record batches. zstd needs brokers that accept Produce v7 or "
    "later. A codec this build of kwire lacks is an error when the producer is created."},
[KWI_CONF_CONNECTIONS_MAX_IDLE_MS] = {"connections.max.idle.ms", KW_CONF_MS, "540000", 0,
    I32MAX, NULL, NULL, NULL, {NULL}, {0}, ALL,
    "Close a broker connection that has had no request in flight for this long; 0 = never."},
[KWI_CONF_DELIVERY_TIMEOUT_MS] = {"delivery.timeout.ms", KW_CONF_MS, "120000", 1, I32MAX,
    NULL, NULL, NULL, {"message.timeout.ms"}, {0}, P,
    "The longest a record may take from produce to its delivery report, retries included; "
    "then it fails with a timeout. Must be at least linger.ms + request.timeout.ms: when left "
    "at its default it is raised to that sum, when set lower it is an error (as in Java)."},
[KWI_CONF_ENABLE_AUTO_COMMIT] = {"enable.auto.commit", KW_CONF_BOOL, "true", 0, 0, NULL, NULL,
    NULL, {NULL}, {0}, C,
    "Commit consumed offsets every auto.commit.interval.ms. Turned off when there is no "
    "group.id unless set explicitly (then it is an error)."},
[KWI_CONF_ENABLE_IDEMPOTENCE] = {"enable.idempotence", KW_CONF_BOOL, "true", 0, 0, NULL, NULL,
    NULL, {NULL}, {0}, P,
    "Producer ids and sequence numbers, so retries never duplicate or reorder records. Needs "
    "acks=all, retries > 0 and max.in.flight.requests.per.connection <= 5. As in Java: when "
    "left at its default, an explicit conflicting setting turns it off; when set to true "
    "explicitly, a conflicting setting is an error."},
[KWI_CONF_FETCH_MAX_BYTES] = {"fetch.max.bytes", KW_CONF_BYTES, "52428800", 0, 2147483135,
    NULL, NULL, NULL, {NULL}, {0}, C,
    "The most data a broker returns for one fetch request (it may return one larger batch so "
    "the consumer can make progress). receive.message.max.bytes must be at least this plus "
    "512: when left at its default it is raised, when set lower it is an error."},
[KWI_CONF_FETCH_MAX_WAIT_MS] = {"fetch.max.wait.ms", KW_CONF_MS, "500", 0, 300000, NULL, NULL,
    NULL, {"fetch.wait.max.ms"}, {0}, C,
    "How long the broker may hold a fetch request waiting for fetch.min.bytes of data."},
[KWI_CONF_FETCH_MIN_BYTES] = {"fetch.min.bytes", KW_CONF_BYTES, "1", 0, 100000000, NULL, NULL,
    NULL, {NULL}, {0}, C,
    "The least data the broker should gather before it answers a fetch request (or "
    "fetch.max.wait.ms passes)."},
[KWI_CONF_FETCH_QUEUE_MAX_BYTES] = {"fetch.queue.max.bytes", KW_CONF_BYTES, "67108864", 1024,
    I32MAX * 1024, NULL, NULL, NULL, {"queued.max.messages.kbytes"}, {1024}, C,
    "The consumer's memory budget: fetched records buffered for poll or handed out and not yet "
    "released. Fetching pauses while it is used up. queued.max.messages.kbytes is the same "
    "budget in KiB (librdkafka's name and default)."},
[KWI_CONF_GROUP_ID] = {"group.id", KW_CONF_STRING, NULL, 0, 0, NULL, NULL, NULL, {NULL}, {0}, C,
    "The consumer group to join. Needed for subscribing, committing offsets and "
    "group.instance.id; not needed for manual assignment."},
[KWI_CONF_GROUP_INSTANCE_ID] = {"group.instance.id", KW_CONF_STRING, NULL, 0, 0, NULL, NULL,
    NULL, {NULL}, {0}, C,
    "A stable member name for static membership (KIP-345): a member that restarts within "
    "session.timeout.ms gets its partitions back without a rebalance. Needs group.id."},
[KWI_CONF_GROUP_PROTOCOL] = {"group.protocol", KW_CONF_ENUM, "classic", 0, 0,
    group_protocol_vals, "classic, consumer", NULL, {NULL}, {0}, C,
    "classic = JoinGroup/SyncGroup with assignment by the group leader; consumer = the KIP-848 "
    "protocol with assignment by the broker. With consumer, partition.assignment.strategy, "
    "session.timeout.ms and heartbeat.interval.ms must not be set; with classic, "
    "group.remote.assignor must not be set (as in Java)."},
[KWI_CONF_GROUP_REMOTE_ASSIGNOR] = {"group.remote.assignor", KW_CONF_STRING, NULL, 0, 0, NULL,
    NULL, NULL, {NULL}, {0}, C,
    "With group.protocol=consumer: the name of the broker-side assignor to ask for (uniform, "
    "range, ...); unset = the broker's default."},
[KWI_CONF_HEARTBEAT_INTERVAL_MS] = {"heartbeat.interval.ms", KW_CONF_MS, "3000", 1, 3600000,
    NULL, NULL, NULL, {NULL}, {0}, C,
    "How often a classic-protocol member heartbeats to the coordinator. Must be lower than "
    "session.timeout.ms (one third of it is usual)."},
[KWI_CONF_ISOLATION_LEVEL] = {"isolation.level", KW_CONF_ENUM, "read_uncommitted", 0, 0,
    isolation_vals, "read_uncommitted, read_committed", NULL, {NULL}, {0}, C,
    "read_committed hands out only records of committed transactions (aborted ones are "
    "filtered); read_uncommitted hands out everything. Java's default; librdkafka's is "
    "read_committed."},
[KWI_CONF_LINGER_MS] = {"linger.ms", KW_CONF_MS, "5", 0, 900000, NULL, NULL, NULL,
    {"queue.buffering.max.ms"}, {0}, P,
    "How long a batch may wait for more records before it is sent (Java 4.0's default)."},
[KWI_CONF_MAX_IN_FLIGHT] = {"max.in.flight.requests.per.connection", KW_CONF_INT, "5", 1,
    1000000, NULL, NULL, NULL, {"max.in.flight"}, {0}, ALL,
    "The most requests sent on one connection without their responses. The idempotent "
    "producer keeps order with up to 5."},
[KWI_CONF_MAX_PARTITION_FETCH_BYTES] = {"max.partition.fetch.bytes", KW_CONF_BYTES, "1048576",
    1, 1000000000, NULL, NULL, NULL, {"fetch.message.max.bytes"}, {0}, C,
    "The most data the broker returns for one partition in a fetch (it may return one larger "
    "batch so the consumer can make progress)."},
[KWI_CONF_MAX_POLL_INTERVAL_MS] = {"max.poll.interval.ms", KW_CONF_MS, "300000", 1, 86400000,
    NULL, NULL, NULL, {NULL}, {0}, C,
    "When the application does not poll for this long, the member leaves the group so its "
    "partitions move on; it rejoins when it polls again. Must be at least session.timeout.ms "
    "with the classic protocol."},
[KWI_CONF_MAX_REQUEST_SIZE] = {"max.request.size", KW_CONF_BYTES, "1048576", 1000, 1000000000,
    NULL, NULL, NULL, {"message.max.bytes"}, {0}, ALL,
    "The largest request kwire sends, which bounds the records one produce request carries. "
    "librdkafka's message.max.bytes is the same limit."},
[KWI_CONF_METADATA_MAX_AGE_MS] = {"metadata.max.age.ms", KW_CONF_MS, "300000", 1, 86400000,
    NULL, NULL, NULL, {"topic.metadata.refresh.interval.ms"}, {0}, ALL,
    "Refresh cached metadata at least this often, even when nothing suggests it changed."},
[KWI_CONF_PARTITION_ASSIGNMENT_STRATEGY] = {"partition.assignment.strategy", KW_CONF_LIST,
    "range,cooperative-sticky", 0, 0, assignor_vals, "range, roundrobin, cooperative-sticky",
    NULL, {NULL}, {0}, C,
    "Classic protocol: the assignors this member supports, most preferred first; the group "
    "uses the first one every member supports (Java's default list)."},
[KWI_CONF_PARTITIONER] = {"partitioner", KW_CONF_ENUM, "murmur2_random", 0, 0,
    partitioner_vals,
    "murmur2_random, murmur2, consistent_random, consistent, fnv1a_random, fnv1a, random", NULL,
    {NULL}, {0}, P,
    "How a record without an explicit partition gets one (librdkafka's names). murmur2 picks "
    "the partition the Java client picks for a key; consistent is CRC-32; fnv1a is Sarama's. "
    "The *_random ones send keyless records to one partition per batch (sticky partitioning, "
    "KIP-480), the others hash the empty key; random ignores the key. The default, "
    "murmur2_random, is the Java client's behaviour."},
[KWI_CONF_RECEIVE_MESSAGE_MAX_BYTES] = {"receive.message.max.bytes", KW_CONF_BYTES,
    "100000000", 1000, I32MAX, NULL, NULL, NULL, {NULL}, {0}, ALL,
    "The largest response kwire accepts; a larger one closes the connection with an error."},
[KWI_CONF_RECONNECT_BACKOFF_MAX_MS] = {"reconnect.backoff.max.ms", KW_CONF_MS, "1000", 0,
    3600000, NULL, NULL, NULL, {NULL}, {0}, ALL,
    "The cap of the exponential reconnect backoff. Raised to reconnect.backoff.ms when left at "
    "its default below it; set explicitly below it, an error."},
[KWI_CONF_RECONNECT_BACKOFF_MS] = {"reconnect.backoff.ms", KW_CONF_MS, "50", 0, 3600000, NULL,
    NULL, NULL, {NULL}, {0}, ALL,
    "The first wait before reconnecting to a broker; it doubles on each failure (with "
    "jitter) up to reconnect.backoff.max.ms."},
[KWI_CONF_REQUEST_TIMEOUT_MS] = {"request.timeout.ms", KW_CONF_MS, "30000", 1, I32MAX, NULL,
    NULL, NULL, {NULL}, {0}, ALL,
    "How long kwire waits for the response to a request before it fails or retries it."},
[KWI_CONF_RETRIES] = {"retries", KW_CONF_INT, "2147483647", 0, I32MAX, NULL, NULL, NULL,
    {"message.send.max.retries"}, {0}, P,
    "How often a failed produce request is retried; delivery.timeout.ms bounds the time "
    "anyway. 0 turns the idempotent producer off (or is an error if enable.idempotence=true "
    "was set explicitly)."},
[KWI_CONF_RETRY_BACKOFF_MAX_MS] = {"retry.backoff.max.ms", KW_CONF_MS, "1000", 0, I32MAX, NULL,
    NULL, NULL, {NULL}, {0}, ALL,
    "The cap of the exponential retry backoff. Raised to retry.backoff.ms when left at its "
    "default below it; set explicitly below it, an error."},
[KWI_CONF_RETRY_BACKOFF_MS] = {"retry.backoff.ms", KW_CONF_MS, "100", 0, I32MAX, NULL, NULL,
    NULL, {NULL}, {0}, ALL,
    "The first wait before retrying a failed request; it doubles on each retry (with "
    "jitter) up to retry.backoff.max.ms."},
[KWI_CONF_SASL_KERBEROS_SERVICE_NAME] = {"sasl.kerberos.service.name", KW_CONF_STRING, "kafka",
    0, 0, NULL, NULL, NULL, {NULL}, {0}, ALL,
    "GSSAPI: the Kerberos service name of the brokers."},
[KWI_CONF_SASL_MECHANISM] = {"sasl.mechanism", KW_CONF_ENUM, NULL, 0, 0, sasl_vals,
    "PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, GSSAPI", NULL, {"sasl.mechanisms"}, {0}, ALL,
    "The SASL mechanism for SASL_PLAINTEXT and SASL_SSL. No default (Java and librdkafka "
    "default to GSSAPI): SASL without a mechanism is an error. PLAIN and SCRAM need "
    "sasl.username and sasl.password; GSSAPI needs a build with sasl_gssapi."},
[KWI_CONF_SASL_PASSWORD] = {"sasl.password", KW_CONF_SECRET, NULL, 0, 0, NULL, NULL, NULL,
    {NULL}, {0}, ALL,
    "The password for PLAIN and SCRAM. Never shown: reads and dumps print [hidden]."},
[KWI_CONF_SASL_USERNAME] = {"sasl.username", KW_CONF_STRING, NULL, 0, 0, NULL, NULL, NULL,
    {NULL}, {0}, ALL,
    "The user name for PLAIN and SCRAM."},
[KWI_CONF_SECURITY_PROTOCOL] = {"security.protocol", KW_CONF_ENUM, "PLAINTEXT", 0, 0,
    security_vals, "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL", NULL, {NULL}, {0}, ALL,
    "How kwire talks to brokers: plain TCP or TLS, with or without SASL authentication. SSL "
    "and SASL_SSL need a build with TLS."},
[KWI_CONF_SESSION_TIMEOUT_MS] = {"session.timeout.ms", KW_CONF_MS, "45000", 1, 3600000, NULL,
    NULL, NULL, {NULL}, {0}, C,
    "Classic protocol: a member that sends no heartbeat for this long is removed from the "
    "group (the broker bounds it with group.min/max.session.timeout.ms)."},
[KWI_CONF_SOCKET_CONNECTION_SETUP_TIMEOUT_MS] = {"socket.connection.setup.timeout.ms",
    KW_CONF_MS, "10000", 1, I32MAX, NULL, NULL, NULL, {NULL}, {0}, ALL,
    "How long connecting to a broker (name resolution, TCP, TLS and SASL) may take before the "
    "attempt fails."},
[KWI_CONF_SOCKET_TIMEOUT_MS] = {"socket.timeout.ms", KW_CONF_MS, "60000", 10, 300000, NULL,
    NULL, NULL, {NULL}, {0}, ALL,
    "How long a connection may make no progress writing a request or reading a response before "
    "it is closed (librdkafka)."},
[KWI_CONF_SSL_CA_LOCATION] = {"ssl.ca.location", KW_CONF_STRING, NULL, 0, 0, NULL, NULL, NULL,
    {NULL}, {0}, ALL,
    "A PEM file or a directory of CA certificates to verify brokers with; unset = the system "
    "store."},
[KWI_CONF_SSL_CERTIFICATE_LOCATION] = {"ssl.certificate.location", KW_CONF_STRING, NULL, 0, 0,
    NULL, NULL, NULL, {NULL}, {0}, ALL,
    "The client's PEM certificate (chain) for mutual TLS. Needs ssl.key.location."},
[KWI_CONF_SSL_ENDPOINT_IDENTIFICATION_ALGORITHM] = {"ssl.endpoint.identification.algorithm",
    KW_CONF_ENUM, "https", 0, 0, endpoint_vals, "https, none", NULL, {NULL}, {0}, ALL,
    "https = check that the broker's certificate names the host kwire connected to (DNS SAN or "
    "IP address); none = do not (the certificate chain is still verified)."},
[KWI_CONF_SSL_KEY_LOCATION] = {"ssl.key.location", KW_CONF_STRING, NULL, 0, 0, NULL, NULL,
    NULL, {NULL}, {0}, ALL,
    "The client's PEM private key for mutual TLS. Needs ssl.certificate.location."},
[KWI_CONF_SSL_KEY_PASSWORD] = {"ssl.key.password", KW_CONF_SECRET, NULL, 0, 0, NULL, NULL,
    NULL, {NULL}, {0}, ALL,
    "The password of an encrypted ssl.key.location. Never shown: reads and dumps print "
    "[hidden]."},
[KWI_CONF_TRANSACTION_TIMEOUT_MS] = {"transaction.timeout.ms", KW_CONF_MS, "60000", 1000,
    I32MAX, NULL, NULL, NULL, {NULL}, {0}, P,
    "The longest a transaction may stay open before the coordinator aborts it (the broker caps "
    "it with transaction.max.timeout.ms)."},
[KWI_CONF_TRANSACTIONAL_ID] = {"transactional.id", KW_CONF_STRING, NULL, 0, 0, NULL, NULL,
    NULL, {NULL}, {0}, P,
    "Makes the producer transactional, with this id fencing older instances. Needs the "
    "idempotent producer."},
};
/* clang-format on */

/* ---- cross-property rules ---------------------------------------------------------------- */

static bool
has_text(const kw_conf *c, kwi_conf_id id)
{
    const char *s = kwi_conf_str(c, id);
    return s && *s;
}

static bool
is_set_but_empty(const kw_conf *c, kwi_conf_id id)
{
    const char *s = kwi_conf_str(c, id);
    return s && !*s;
}

static const char *
name_of(kwi_conf_id id)
{
    return kwi_conf_defs[id].name;
}

/* A cap below its base: an error when the cap was set explicitly, else the cap follows the
 * base (Java backs off at the base rate in that case, too). */
static kw_err
check_backoff(kw_conf *c, kwi_conf_id base, kwi_conf_id cap, kw_error *err)
{
    int64_t b = kwi_conf_int(c, base), m = kwi_conf_int(c, cap);
    if (m >= b)
        return KW_ERR_OK;
    if (kwi_conf_explicit(c, cap))
        return kw_error_set(err, KW_ERR_CONFIG, "%s (%lld) must be at least %s (%lld)",
                            name_of(cap), (long long)m, name_of(base), (long long)b);
    kwi_conf_derive(c, cap, b);
    return KW_ERR_OK;
}

static kw_err
check_security(const kw_conf *c, kw_error *err)
{
    int64_t proto = kwi_conf_int(c, KWI_CONF_SECURITY_PROTOCOL);
    bool tls = proto == KWI_SECURITY_SSL || proto == KWI_SECURITY_SASL_SSL;
    bool sasl = proto == KWI_SECURITY_SASL_PLAINTEXT || proto == KWI_SECURITY_SASL_SSL;
    const char *pname = kwi_conf_str(c, KWI_CONF_SECURITY_PROTOCOL);
    if (tls && !KW_HAVE_TLS)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "security.protocol=%s needs a kwire built with TLS (-Dtls=enabled)",
                            pname);
    bool cert = kwi_conf_str(c, KWI_CONF_SSL_CERTIFICATE_LOCATION) != NULL;
    bool key = kwi_conf_str(c, KWI_CONF_SSL_KEY_LOCATION) != NULL;
    if (key && !cert)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "ssl.key.location is set but ssl.certificate.location is not");
    if (cert && !key)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "ssl.certificate.location is set but ssl.key.location is not");
    if (kwi_conf_str(c, KWI_CONF_SSL_KEY_PASSWORD) && !key)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "ssl.key.password is set but ssl.key.location is not");
    if (!sasl)
        return KW_ERR_OK; /* SASL settings are ignored without SASL, as in Java */
    int64_t mech = kwi_conf_int(c, KWI_CONF_SASL_MECHANISM);
    const char *mname = kwi_conf_str(c, KWI_CONF_SASL_MECHANISM);
    if (mech == KWI_SASL_NONE)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "security.protocol=%s requires sasl.mechanism (PLAIN, SCRAM-SHA-256, "
                            "SCRAM-SHA-512 or GSSAPI)",
                            pname);
    if (mech == KWI_SASL_GSSAPI) {
        if (!KW_HAVE_SASL_GSSAPI)
            return kw_error_set(err, KW_ERR_CONFIG,
                                "sasl.mechanism=GSSAPI needs a kwire built with "
                                "-Dsasl_gssapi=enabled");
        return KW_ERR_OK;
    }
    /* SCRAM needs no OpenSSL: src/util/sha2.c gives it SHA-2, HMAC and PBKDF2 in libc-only
     * builds too. */
    if (!has_text(c, KWI_CONF_SASL_USERNAME))
        return kw_error_set(err, KW_ERR_CONFIG, "sasl.mechanism=%s requires sasl.username", mname);
    if (!kwi_conf_str(c, KWI_CONF_SASL_PASSWORD))
        return kw_error_set(err, KW_ERR_CONFIG, "sasl.mechanism=%s requires sasl.password", mname);
    return KW_ERR_OK;
}

/* Java's ProducerConfig.postProcessAndValidateIdempotenceConfigs: a conflicting setting turns
 * a defaulted idempotence off, and is an error when enable.idempotence=true was explicit. */
static kw_err
check_idempotence(kw_conf *c, kw_error *err)
{
    if (kwi_conf_bool(c, KWI_CONF_ENABLE_IDEMPOTENCE)) {
        bool expl = kwi_conf_explicit(c, KWI_CONF_ENABLE_IDEMPOTENCE);
        int64_t acks = kwi_conf_int(c, KWI_CONF_ACKS);
        int64_t inflight = kwi_conf_int(c, KWI_CONF_MAX_IN_FLIGHT);
        bool conflict = true;
        if (acks != KWI_ACKS_ALL) {
            if (expl)
                return kw_error_set(err, KW_ERR_CONFIG,
                                    "enable.idempotence=true requires acks=all (acks is %s)",
                                    kwi_conf_str(c, KWI_CONF_ACKS));
        } else if (kwi_conf_int(c, KWI_CONF_RETRIES) == 0) {
            if (expl)
                return kw_error_set(err, KW_ERR_CONFIG,
                                    "enable.idempotence=true requires retries > 0");
        } else if (inflight > 5) {
            if (expl)
                return kw_error_set(err, KW_ERR_CONFIG,
                                    "enable.idempotence=true requires "
                                    "max.in.flight.requests.per.connection <= 5 (it is %lld)",
                                    (long long)inflight);
        } else {
            conflict = false;
        }
        if (conflict)
            kwi_conf_derive(c, KWI_CONF_ENABLE_IDEMPOTENCE, 0);
    }
    if (kwi_conf_str(c, KWI_CONF_TRANSACTIONAL_ID)) {
        if (is_set_but_empty(c, KWI_CONF_TRANSACTIONAL_ID))
            return kw_error_set(err, KW_ERR_CONFIG, "transactional.id must not be empty");
        if (!kwi_conf_bool(c, KWI_CONF_ENABLE_IDEMPOTENCE))
            return kw_error_set(err, KW_ERR_CONFIG,
                                "transactional.id requires the idempotent producer "
                                "(enable.idempotence=true, acks=all, retries > 0, "
                                "max.in.flight.requests.per.connection <= 5)");
    }
    return KW_ERR_OK;
}

static kw_err
check_compression(const kw_conf *c, kw_error *err)
{
    int64_t codec = kwi_conf_int(c, KWI_CONF_COMPRESSION_TYPE);
    const char *cname = kwi_conf_str(c, KWI_CONF_COMPRESSION_TYPE);
    bool built = codec == KWI_COMPRESSION_NONE || (codec == KWI_COMPRESSION_GZIP && KW_HAVE_ZLIB) ||
                 (codec == KWI_COMPRESSION_SNAPPY && KW_HAVE_SNAPPY) ||
                 (codec == KWI_COMPRESSION_LZ4 && KW_HAVE_LZ4) ||
                 (codec == KWI_COMPRESSION_ZSTD && KW_HAVE_ZSTD);
    if (!built)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "compression.type=%s: this kwire was built without %s", cname, cname);
    int64_t level = kwi_conf_int(c, KWI_CONF_COMPRESSION_LEVEL);
    int64_t lo = 0, hi = 0;
    switch (codec) {
    case KWI_COMPRESSION_GZIP:
        lo = 0, hi = 9;
        break;
    case KWI_COMPRESSION_LZ4:
        lo = 1, hi = 17;
        break;
    case KWI_COMPRESSION_ZSTD:
        lo = 1, hi = 22;
        break;
    default:
        return KW_ERR_OK; /* none and snappy have no levels */
    }
    if (level != -1 && (level < lo || level > hi))
        return kw_error_set(err, KW_ERR_CONFIG,
                            "compression.level %lld is out of range for %s (%lld..%lld, or -1)",
                            (long long)level, cname, (long long)lo, (long long)hi);
    return KW_ERR_OK;
}

static kw_err
check_producer(kw_conf *c, kw_error *err)
{
    kw_err e = check_idempotence(c, err);
    if (e)
        return e;
    int64_t need =
        kwi_conf_int(c, KWI_CONF_LINGER_MS) + kwi_conf_int(c, KWI_CONF_REQUEST_TIMEOUT_MS);
    int64_t dt = kwi_conf_int(c, KWI_CONF_DELIVERY_TIMEOUT_MS);
    if (dt < need) {
        if (kwi_conf_explicit(c, KWI_CONF_DELIVERY_TIMEOUT_MS))
            return kw_error_set(err, KW_ERR_CONFIG,
                                "delivery.timeout.ms (%lld) must be at least linger.ms + "
                                "request.timeout.ms (%lld)",
                                (long long)dt, (long long)need);
        kwi_conf_derive(c, KWI_CONF_DELIVERY_TIMEOUT_MS, need);
    }
    return check_compression(c, err);
}

/* Java's ConsumerConfig: CONSUMER_PROTOCOL_UNSUPPORTED_CONFIGS and the classic counterpart. */
static kw_err
check_group_protocol(const kw_conf *c, kw_error *err)
{
    static const kwi_conf_id classic_only[] = {KWI_CONF_PARTITION_ASSIGNMENT_STRATEGY,
                                               KWI_CONF_SESSION_TIMEOUT_MS,
                                               KWI_CONF_HEARTBEAT_INTERVAL_MS};
    if (kwi_conf_int(c, KWI_CONF_GROUP_PROTOCOL) == KWI_GROUP_PROTOCOL_CONSUMER) {
        for (size_t i = 0; i < sizeof(classic_only) / sizeof(classic_only[0]); i++)
            if (kwi_conf_explicit(c, classic_only[i]))
                return kw_error_set(err, KW_ERR_CONFIG,
                                    "%s is not supported with group.protocol=consumer (the "
                                    "broker assigns partitions and times sessions)",
                                    name_of(classic_only[i]));
        return KW_ERR_OK;
    }
    if (kwi_conf_explicit(c, KWI_CONF_GROUP_REMOTE_ASSIGNOR))
        return kw_error_set(err, KW_ERR_CONFIG,
                            "group.remote.assignor is only supported with group.protocol=consumer");
    if (!has_text(c, KWI_CONF_PARTITION_ASSIGNMENT_STRATEGY))
        return kw_error_set(err, KW_ERR_CONFIG,
                            "partition.assignment.strategy must name at least one assignor");
    int64_t hb = kwi_conf_int(c, KWI_CONF_HEARTBEAT_INTERVAL_MS);
    int64_t st = kwi_conf_int(c, KWI_CONF_SESSION_TIMEOUT_MS);
    int64_t mp = kwi_conf_int(c, KWI_CONF_MAX_POLL_INTERVAL_MS);
    if (hb >= st)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "heartbeat.interval.ms (%lld) must be lower than session.timeout.ms "
                            "(%lld)",
                            (long long)hb, (long long)st);
    if (mp < st)
        return kw_error_set(err, KW_ERR_CONFIG,
                            "max.poll.interval.ms (%lld) must be at least session.timeout.ms "
                            "(%lld)",
                            (long long)mp, (long long)st);
    return KW_ERR_OK;
}

static kw_err
check_consumer(kw_conf *c, kw_error *err)
{
    if (is_set_but_empty(c, KWI_CONF_GROUP_ID))
        return kw_error_set(err, KW_ERR_CONFIG, "group.id must not be empty");
    if (is_set_but_empty(c, KWI_CONF_GROUP_INSTANCE_ID))
        return kw_error_set(err, KW_ERR_CONFIG, "group.instance.id must not be empty");
    if (!kwi_conf_str(c, KWI_CONF_GROUP_ID)) {
        if (kwi_conf_str(c, KWI_CONF_GROUP_INSTANCE_ID))
            return kw_error_set(err, KW_ERR_CONFIG, "group.instance.id requires group.id");
        if (kwi_conf_bool(c, KWI_CONF_ENABLE_AUTO_COMMIT)) {
            if (kwi_conf_explicit(c, KWI_CONF_ENABLE_AUTO_COMMIT))
                return kw_error_set(err, KW_ERR_CONFIG,
                                    "enable.auto.commit=true requires group.id");
            kwi_conf_derive(c, KWI_CONF_ENABLE_AUTO_COMMIT, 0);
        }
    }
    kw_err e = check_group_protocol(c, err);
    if (e)
        return e;
    /* librdkafka's rule: a full fetch response plus its framing must fit in one receive. */
    int64_t need = kwi_conf_int(c, KWI_CONF_FETCH_MAX_BYTES) + 512;
    int64_t rmax = kwi_conf_int(c, KWI_CONF_RECEIVE_MESSAGE_MAX_BYTES);
    if (rmax < need) {
        if (kwi_conf_explicit(c, KWI_CONF_RECEIVE_MESSAGE_MAX_BYTES))
            return kw_error_set(err, KW_ERR_CONFIG,
                                "receive.message.max.bytes (%lld) must be at least "
                                "fetch.max.bytes + 512 (%lld)",
                                (long long)rmax, (long long)need);
        kwi_conf_derive(c, KWI_CONF_RECEIVE_MESSAGE_MAX_BYTES, need);
    }
    return KW_ERR_OK;
}

kw_err
kwi_conf_validate(kw_conf *c, unsigned roles, kw_error *err)
{
    /* Derived values are recomputed from the explicit settings every time. */
    static const kwi_conf_id derived[] = {
        KWI_CONF_ENABLE_IDEMPOTENCE,   KWI_CONF_DELIVERY_TIMEOUT_MS,
        KWI_CONF_RETRY_BACKOFF_MAX_MS, KWI_CONF_RECONNECT_BACKOFF_MAX_MS,
        KWI_CONF_ENABLE_AUTO_COMMIT,   KWI_CONF_RECEIVE_MESSAGE_MAX_BYTES};
    for (size_t i = 0; i < sizeof(derived) / sizeof(derived[0]); i++)
        if (!kwi_conf_explicit(c, derived[i]))
            kwi_conf_reset(c, derived[i]);

    const char *bs = kwi_conf_str(c, KWI_CONF_BOOTSTRAP_SERVERS);
    if (!bs || !*bs)
        return kw_error_set(err, KW_ERR_CONFIG, "bootstrap.servers is required");
    kw_err e = check_security(c, err);
    if (!e)
        e = check_backoff(c, KWI_CONF_RETRY_BACKOFF_MS, KWI_CONF_RETRY_BACKOFF_MAX_MS, err);
    if (!e)
        e = check_backoff(c, KWI_CONF_RECONNECT_BACKOFF_MS, KWI_CONF_RECONNECT_BACKOFF_MAX_MS, err);
    if (!e && (roles & KWI_CONF_ROLE_PRODUCER))
        e = check_producer(c, err);
    if (!e && (roles & KWI_CONF_ROLE_CONSUMER))
        e = check_consumer(c, err);
    return e;
}
