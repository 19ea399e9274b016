'use strict'
/*
 * kafkajs 2.2.4 (an independent client that speaks only non-flexible versions) against
 * kwire-mock. Usage: node kafkajs_peer.js BOOTSTRAP [--groups] [--codecs=LIST]
 *
 *   admin:    createTopics (with a config entry; a second create reports "exists"),
 *             fetchTopicMetadata (partitions, leaders on the cluster's brokers), listTopics,
 *             describeCluster, deleteTopics;
 *   producer: keyed records with headers (repeated keys, binary values), explicit timestamps,
 *             a null value and a null key, gzip and uncompressed batches, acks=all; the
 *             partition and base offset of every acknowledgement are checked against what is
 *             read back; without gzip in kwire (--codecs) the gzip send must be refused with
 *             UNSUPPORTED_COMPRESSION_TYPE;
 *   read:     every partition read from offset 0 with kafkajs's own Fetch codec (its Broker
 *             object, as its consumer uses it), every record compared exactly; ListOffsets
 *             (fetchTopicOffsets: low 0, high = records) and by timestamp;
 *   --groups: the same records through kafkajs's group consumer (JoinGroup/SyncGroup/
 *             Heartbeat/OffsetFetch/OffsetCommit/LeaveGroup), and the committed offsets read
 *             back with admin.fetchOffsets.
 *
 * Prints "ok"/"FAIL" lines; exit status 1 when any check failed.
 */
const { Kafka, CompressionTypes, Partitioners, logLevel } = require('kafkajs')
const { UNSUPPORTED_COMPRESSION_TYPE, check, watchdog, args, runSteps, recordText, log } = require('./peer_util')

process.env.KAFKAJS_NO_PARTITIONER_WARNING = '1'
const opts = args()
watchdog(240000, 'kafkajs_peer')

const CLIENT = {
  clientId: 'kwire-kafkajs-peer',
  brokers: opts.brokers,
  connectionTimeout: 10000,
  requestTimeout: 60000,
  retry: { retries: 3, initialRetryTime: 200 },
}
const kafka = new Kafka({ ...CLIENT, logLevel: logLevel.WARN })
/* For requests whose error answer is the expected outcome (kafkajs logs those as errors). */
const quietKafka = new Kafka({ ...CLIENT, logLevel: logLevel.NOTHING })

const TOPIC = 'kjs-data'
const BROKER_IDS = opts.brokers.map((_, i) => i + 1)

/* kafkajs headers ({k: v | [v, ...]}, decoded as Buffers) as ordered [key, value] pairs. */
function headerPairs(h) {
  const out = []
  for (const k of Object.keys(h || {})) {
    for (const v of Array.isArray(h[k]) ? h[k] : [h[k]]) out.push([Buffer.from(k), Buffer.from(v)])
  }
  return out
}

function asRecord(m) {
  return {
    key: m.key,
    value: m.value,
    headers: headerPairs(m.headers),
    timestamp: String(m.timestamp),
  }
}

/* The records sent: per send, its compression and messages. */
function makeSends(t0) {
  const plain = []
  for (let i = 0; i < 120; i++) {
    plain.push({
      key: 'kjs-key-' + (i % 40),
      value: 'plain value ' + i + ' ' + 'p'.repeat(i % 23),
      timestamp: String(t0 + i),
    })
  }
  const gz = []
  for (let i = 0; i < 150; i++) {
    gz.push({
      key: Buffer.from('gz-' + i),
      value: Buffer.from(('gzip body ' + (i % 7) + ' ').repeat(30)),
      headers: { trace: 'id-' + i, bin: Buffer.from([0, 1, 2, 255, i & 255]), rep: ['a', 'b'] },
      timestamp: String(t0 + 1000 + i),
    })
  }
  const odd = [
    { key: 'tombstone', value: null, timestamp: String(t0 + 5000) },
    { key: null, value: 'no key at all', timestamp: String(t0 + 5001), partition: 1 },
    { key: 'empty', value: '', headers: { empty: '' }, timestamp: String(t0 + 5002) },
  ]
  return [
    { codec: 'none', compression: CompressionTypes.None, messages: plain },
    { codec: 'gzip', compression: CompressionTypes.GZIP, messages: gz },
    { codec: 'none', compression: CompressionTypes.None, messages: odd },
  ]
}

async function adminSteps() {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const created = await admin.createTopics({
      topics: [
        {
          topic: 'kjs-admin',
          numPartitions: 4,
          replicationFactor: 1,
          configEntries: [{ name: 'retention.bytes', value: '123456' }],
        },
      ],
      waitForLeaders: true,
    })
    check(created === true, 'kafkajs admin: createTopics creates kjs-admin', created)
    const quiet = quietKafka.admin()
    await quiet.connect()
    const again = await quiet
      .createTopics({ topics: [{ topic: 'kjs-admin', numPartitions: 4 }] })
      .finally(() => quiet.disconnect())
    check(again === false, 'kafkajs admin: createTopics of an existing topic reports false', again)

    const md = await admin.fetchTopicMetadata({ topics: ['kjs-admin'] })
    const parts = (md.topics[0] || {}).partitions || []
    const ids = parts.map(p => p.partitionId).sort((a, b) => a - b)
    check(
      md.topics.length === 1 && md.topics[0].name === 'kjs-admin' && ids.join() === '0,1,2,3',
      'kafkajs admin: fetchTopicMetadata lists partitions 0..3',
      JSON.stringify(md)
    )
    check(
      parts.length === 4 &&
        parts.every(
          p => BROKER_IDS.includes(p.leader) && p.replicas.join() === String(p.leader) &&
            p.partitionErrorCode === 0
        ),
      'kafkajs admin: every partition has a leader among the brokers and itself as replica',
      JSON.stringify(parts)
    )
    const cluster = await admin.describeCluster()
    check(
      cluster.brokers.map(b => b.nodeId).sort((a, b) => a - b).join() === BROKER_IDS.join() &&
        cluster.brokers.every(b => opts.brokers.includes(b.host + ':' + b.port)) &&
        BROKER_IDS.includes(cluster.controller),
      'kafkajs admin: describeCluster lists the bootstrap brokers and a controller',
      JSON.stringify(cluster)
    )
    check((await admin.listTopics()).includes('kjs-admin'), 'kafkajs admin: listTopics has it')
    await admin.deleteTopics({ topics: ['kjs-admin'] })
    check(!(await admin.listTopics()).includes('kjs-admin'), 'kafkajs admin: deleteTopics')
  } finally {
    await admin.disconnect()
  }
}

/* Sends everything to an auto-created topic, then works out from kafkajs's own partitioner
 * where each record went and checks every acknowledgement's base offset against it (a send's
 * records for one partition get consecutive offsets from that base). state.expect becomes
 * {partition: [record, ...]} in offset order. */
async function produceSteps(state) {
  const producer = kafka.producer({ allowAutoTopicCreation: true })
  await producer.connect()
  const sends = makeSends(state.t0)
  try {
    for (const s of sends) {
      try {
        s.acks = await producer.send({
          topic: TOPIC,
          acks: -1,
          compression: s.compression,
          messages: s.messages,
        })
      } catch (e) {
        if (opts.codecs.includes(s.codec)) throw e
        s.error = e
      }
    }
  } finally {
    await producer.disconnect()
  }
  await loadPartitioner(state)
  check(state.partitionMetadata.length === 3, 'kafkajs producer: the topic was auto-created with 3 partitions')
  const expect = {}
  for (const s of sends) {
    if (!opts.codecs.includes(s.codec)) {
      check(errorCodes(s.error).includes(UNSUPPORTED_COMPRESSION_TYPE),
        'kafkajs producer: a ' + s.codec + ' batch is refused with UNSUPPORTED_COMPRESSION_TYPE ' +
          '(kwire built without it)', String(s.error && s.error.stack))
      continue
    }
    const before = {}
    for (const p of Object.keys(expect)) before[p] = expect[p].length
    for (const m of s.messages) {
      const p = partitionOf(state, m)
      ;(expect[p] = expect[p] || []).push(asRecord({ ...m, headers: normalizeSent(m.headers) }))
    }
    const touched = Object.keys(expect).filter(p => expect[p].length !== (before[p] || 0))
    const ok =
      s.acks.length === touched.length &&
      s.acks.every(a => a.errorCode === 0 && a.topicName === TOPIC &&
        Number(a.baseOffset) === (before[a.partition] || 0) && touched.includes(String(a.partition)))
    check(ok, 'kafkajs producer: acks=all ' + s.codec + ' send acknowledged ' +
      'for the partitions the partitioner chose, at the next offsets', JSON.stringify(s.acks))
  }
  state.expect = expect
}

/* The Kafka error codes in a kafkajs error and the errors it wraps. */
function errorCodes(e) {
  const out = []
  for (let x = e, depth = 0; x && depth < 10; x = x.originalError || x.cause, depth++) {
    if (typeof x.code === 'number') out.push(x.code)
    if (x.type === 'UNSUPPORTED_COMPRESSION_TYPE') out.push(UNSUPPORTED_COMPRESSION_TYPE)
  }
  return out
}

function normalizeSent(h) {
  const out = {}
  for (const k of Object.keys(h || {})) {
    const v = h[k]
    out[k] = Array.isArray(v) ? v.map(x => Buffer.from(x)) : Buffer.from(v)
  }
  return out
}

/* kafkajs's DefaultPartitioner (Java-compatible murmur2) applied to one message; explicit
 * partitions win, as in kafkajs. Null keys are only ever sent with an explicit partition. */
function partitionOf(state, m) {
  if (m.partition !== undefined) return m.partition
  return state.partitioner({ topic: TOPIC, partitionMetadata: state.partitionMetadata, message: m })
}

/* A kafkajs Cluster (metadata, brokers, connections) configured exactly as its producer's and
 * consumer's are: through the Kafka object's own private factory. kafkajs has no public
 * assign-style consumer, and this is what its consumer fetches with. */
function createCluster(client, options) {
  const sym = Object.getOwnPropertySymbols(client).find(
    s => s.description === 'private:Kafka:createCluster'
  )
  if (!sym) throw new Error('kafkajs internals changed: no private:Kafka:createCluster')
  return client[sym](options)
}

/* Reads every partition from offset 0 up to its high watermark with kafkajs's Fetch. */
async function readAll(cluster, partitions) {
  const got = {}
  const leaders = cluster.findLeaderForPartitions(TOPIC, partitions)
  for (const nodeId of Object.keys(leaders)) {
    const broker = await cluster.findBroker({ nodeId })
    for (const p of leaders[nodeId]) {
      const list = (got[p] = [])
      let offset = 0
      let high = -1
      for (let round = 0; round < 100 && offset !== high; round++) {
        const res = await broker.fetch({
          replicaId: -1,
          isolationLevel: 1,
          maxWaitTime: 100,
          minBytes: 1,
          maxBytes: 1 << 20,
          topics: [{ topic: TOPIC, partitions: [{ partition: p, fetchOffset: String(offset), maxBytes: 1 << 20 }] }],
        })
        const pr = res.responses[0].partitions[0]
        if (pr.errorCode !== 0) throw new Error('Fetch partition ' + p + ' error ' + pr.errorCode)
        high = Number(pr.highWatermark)
        for (const m of pr.messages) {
          if (Number(m.offset) < offset) continue /* a batch starting before the fetch offset */
          if (Number(m.offset) !== offset) throw new Error('partition ' + p + ': offset ' + m.offset + ', expected ' + offset)
          list.push(asRecord(m))
          offset++
        }
      }
    }
  }
  return got
}

async function readSteps(state) {
  const cluster = createCluster(kafka, { allowAutoTopicCreation: false })
  await cluster.connect()
  try {
    await cluster.addTargetTopic(TOPIC)
    const partitions = cluster.findTopicPartitionMetadata(TOPIC).map(p => p.partitionId)
    const got = await readAll(cluster, partitions)
    let same = partitions.length === 3
    const diffs = []
    for (const p of partitions) {
      const want = (state.expect[p] || []).map(recordText)
      const have = (got[p] || []).map(recordText)
      if (want.join('\n') !== have.join('\n')) {
        same = false
        diffs.push('partition ' + p + ': want ' + want.length + ' records, read ' + have.length +
          '; first difference at ' + want.findIndex((w, i) => w !== have[i]))
      }
    }
    check(same, 'kafkajs Fetch: every partition read from 0 equals what was produced, in order ' +
      '(keys, values, nulls, headers, timestamps; gzip included)', diffs.join('; '))
  } finally {
    await cluster.disconnect()
  }
  const admin = kafka.admin()
  await admin.connect()
  try {
    const offs = await admin.fetchTopicOffsets(TOPIC)
    check(
      offs.length === 3 &&
        offs.every(o => o.low === '0' && Number(o.high) === (state.expect[o.partition] || []).length &&
          o.offset === o.high),
      'kafkajs ListOffsets: fetchTopicOffsets gives low 0 and high = records per partition',
      JSON.stringify(offs)
    )
    /* The first record at or after t0 + 1000 is the first gzip record in each partition. */
    const byTime = await admin.fetchTopicOffsetsByTimestamp(TOPIC, state.t0 + 1000)
    const want = p => (state.expect[p] || []).findIndex(r => Number(r.timestamp) >= state.t0 + 1000)
    check(
      byTime.length === 3 &&
        byTime.every(o => Number(o.offset) === (want(o.partition) < 0 ? state.expect[o.partition].length : want(o.partition))),
      'kafkajs ListOffsets: fetchTopicOffsetsByTimestamp finds the first record at or after a time',
      JSON.stringify(byTime)
    )
  } finally {
    await admin.disconnect()
  }
}

/* The group consumer: subscribe from the beginning, read until every record arrived, commit,
 * and check the committed offsets with the admin client. */
async function groupSteps(state) {
  const total = Object.values(state.expect).reduce((n, l) => n + l.length, 0)
  const consumer = kafka.consumer({
    groupId: 'kjs-group',
    sessionTimeout: 30000,
    rebalanceTimeout: 30000,
    heartbeatInterval: 1000,
    maxWaitTimeInMs: 200,
  })
  const got = {}
  let count = 0
  let done
  const finished = new Promise(resolve => (done = resolve))
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [TOPIC], fromBeginning: true })
    await consumer.run({
      autoCommit: true,
      eachMessage: async ({ partition, message }) => {
        const list = (got[partition] = got[partition] || [])
        /* a redelivery after a rebalance is not a new record */
        if (Number(message.offset) !== list.length) return
        list.push(asRecord(message))
        if (++count >= total) done()
      },
    })
    let timer
    await Promise.race([finished, new Promise(resolve => (timer = setTimeout(resolve, 60000)))])
    clearTimeout(timer)
    const same = Object.keys(state.expect).every(
      p => (state.expect[p] || []).map(recordText).join('\n') === (got[p] || []).map(recordText).join('\n')
    )
    check(same && count === total, 'kafkajs group consumer: every record arrives exactly as produced',
      'received ' + count + ' of ' + total)
    await consumer.commitOffsets(
      Object.keys(got).map(p => ({ topic: TOPIC, partition: Number(p), offset: String(got[p].length) }))
    )
  } finally {
    await consumer.disconnect()
  }
  const admin = kafka.admin()
  await admin.connect()
  try {
    const committed = await admin.fetchOffsets({ groupId: 'kjs-group', topics: [TOPIC] })
    const parts = (committed[0] || {}).partitions || []
    check(
      parts.length === 3 &&
        parts.every(p => Number(p.offset) === (state.expect[p.partition] || []).length),
      'kafkajs group: fetchOffsets returns the committed end offsets',
      JSON.stringify(committed)
    )
  } finally {
    await admin.disconnect()
  }
}

async function loadPartitioner(state) {
  const admin = kafka.admin()
  await admin.connect()
  try {
    const md = await admin.fetchTopicMetadata({ topics: [TOPIC] })
    state.partitionMetadata = md.topics[0].partitions
  } finally {
    await admin.disconnect()
  }
  state.partitioner = Partitioners.DefaultPartitioner()
}

const state = { t0: Date.now() - 60000 }
const steps = [
  ['kafkajs admin', adminSteps],
  ['kafkajs produce', () => produceSteps(state)],
  ['kafkajs read', () => readSteps(state)],
]
if (opts.groups) steps.push(['kafkajs group', () => groupSteps(state)])
else log('SKIP kafkajs group consumer: run without --groups')
runSteps(steps)
