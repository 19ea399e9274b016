/*
 * @platformatic/kafka 1.35.0 against kwire-mock: an independent client of the modern protocol
 * (Produce v7-11, Fetch v12-17 with topic ids, Metadata v9-12, CreateTopics v7, ApiVersions
 * v3+); it takes the highest version both sides have, so against kwire-mock all it sends is
 * flexible. Usage: node platformatic_peer.mjs BOOTSTRAP [--groups] [--codecs=LIST]
 *
 *   admin:    createTopics with configs (the topic id it returns is the one Metadata reports),
 *             listTopics, metadata (partitions, leaders, replicas), describeConfigs,
 *             createPartitions, deleteRecords, listOffsets, deleteTopics;
 *   producer: keyed records with headers, explicit timestamps, null values and keys, empty
 *             values, each compression codec it has (none, gzip, snappy, lz4, zstd), acks=all;
 *             the acknowledged base offsets are checked against where each record went; a
 *             codec kwire was built without (--codecs) must be refused with
 *             UNSUPPORTED_COMPRESSION_TYPE;
 *   consumer: Fetch by topic id from offset 0 to the high watermark of every partition, every
 *             record compared exactly; listOffsets (earliest, latest, by time);
 *   --groups: the same records through its classic group consumer and through the KIP-848
 *             consumer protocol (ConsumerGroupHeartbeat, server-side assignment), with commits
 *             read back.
 *
 * Prints "ok"/"FAIL" lines; exit status 1 when any check failed.
 */
import { Admin, Consumer, Producer, ProduceAcks, ConfigResourceTypes, murmur2 } from '@platformatic/kafka'
import util from './peer_util.js'

const { UNSUPPORTED_COMPRESSION_TYPE, check, watchdog, args, runSteps, recordText, log } = util
const opts = args()
watchdog(240000, 'platformatic_peer')

const BASE = {
  bootstrapBrokers: opts.brokers,
  connectTimeout: 10000,
  timeout: 60000,
  retries: 3,
  retryDelay: 200,
}
const TOPIC = 'plt-data'
const PARTITIONS = 3
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd']
const BROKER_IDS = opts.brokers.map((_, i) => i + 1)

const show = x => JSON.stringify(x, (_, v) => (typeof v === 'bigint' ? v.toString() + 'n' : v instanceof Map ? Object.fromEntries(v) : v))

async function adminSteps() {
  const admin = new Admin({ ...BASE, clientId: 'kwire-plt-admin' })
  try {
    const created = await admin.createTopics({
      topics: ['plt-admin'],
      partitions: 4,
      replicas: 1,
      configs: [
        { name: 'retention.bytes', value: '654321' },
        { name: 'cleanup.policy', value: 'compact' },
      ],
    })
    const c = created[0] || {}
    check(
      created.length === 1 && c.name === 'plt-admin' && c.partitions === 4 && c.replicas === 1 &&
        /^[0-9a-f-]{36}$/.test(c.id) && c.id !== '00000000-0000-0000-0000-000000000000' &&
        c.configuration['retention.bytes'] === '654321' && c.configuration['cleanup.policy'] === 'compact',
      'platformatic admin: createTopics (v7) returns the topic id, counts and configs',
      show(created)
    )
    check((await admin.listTopics()).includes('plt-admin'), 'platformatic admin: listTopics has it')

    const md = await admin.metadata({ topics: ['plt-admin'] })
    const t = md.topics.get('plt-admin')
    check(
      t && t.id === c.id && t.partitionsCount === 4 &&
        t.partitions.every(p => BROKER_IDS.includes(p.leader) && show(p.replicas) === show([p.leader])),
      'platformatic admin: metadata gives the same topic id, 4 partitions, leaders among the brokers',
      show(t)
    )
    check(
      [...md.brokers.keys()].sort().join() === BROKER_IDS.join() &&
        [...md.brokers.values()].every(b => opts.brokers.includes(b.host + ':' + b.port)) &&
        BROKER_IDS.includes(md.controllerId),
      'platformatic admin: metadata lists the bootstrap brokers and a controller',
      show(md.brokers)
    )

    const cfg = await admin.describeConfigs({
      resources: [{ resourceType: ConfigResourceTypes.TOPIC, resourceName: 'plt-admin' }],
    })
    const entries = Object.fromEntries(((cfg[0] || {}).configs || []).map(e => [e.name, e.value]))
    check(
      entries['retention.bytes'] === '654321' && entries['cleanup.policy'] === 'compact' &&
        entries['max.message.bytes'] === '1048588',
      'platformatic admin: describeConfigs returns the set and default values',
      show(cfg)
    )

    await admin.createPartitions({ topics: [{ name: 'plt-admin', count: 6 }] })
    const md2 = await admin.metadata({ topics: ['plt-admin'], forceUpdate: true })
    check(md2.topics.get('plt-admin').partitionsCount === 6, 'platformatic admin: createPartitions grows it to 6')

    await admin.deleteTopics({ topics: ['plt-admin'] })
    check(!(await admin.listTopics()).includes('plt-admin'), 'platformatic admin: deleteTopics')
  } finally {
    await admin.close()
  }
}

/* The records of one send (one compression codec). Partitions: keyed records by murmur2 (the
 * Java partitioner), a null-keyed one pinned. */
function makeMessages(codec, n, t0) {
  const out = []
  for (let i = 0; i < n; i++) {
    const key = Buffer.from(codec + '-key-' + (i % 17))
    out.push({
      topic: TOPIC,
      key,
      value: Buffer.from((codec + ' value ' + i + ' ').repeat(1 + (i % 9))),
      headers: new Map([
        [Buffer.from('codec'), Buffer.from(codec)],
        [Buffer.from('bin'), Buffer.from([0, 255, i & 255])],
      ]),
      timestamp: BigInt(t0 + i),
    })
  }
  out.push({ topic: TOPIC, key: Buffer.from(codec + '-tomb'), value: undefined, timestamp: BigInt(t0 + n) })
  out.push({ topic: TOPIC, key: undefined, value: Buffer.from('keyless ' + codec), partition: 2, timestamp: BigInt(t0 + n + 1) })
  out.push({ topic: TOPIC, key: Buffer.from(codec + '-empty'), value: Buffer.alloc(0), timestamp: BigInt(t0 + n + 2) })
  return out
}

/* Whether a platformatic error carries a Kafka error code (its findBy searches the nested
 * errors it aggregates). */
function hasCode(e, code) {
  return !!(e && typeof e.findBy === 'function' && e.findBy('apiCode', code))
}

function partitionOf(m) {
  return typeof m.partition === 'number' ? m.partition : (murmur2(m.key) & 0x7fffffff) % PARTITIONS
}

function asRecord(key, value, headers, timestamp) {
  return { key: key ?? null, value: value ?? null, headers, timestamp: String(timestamp) }
}

function sentRecord(m) {
  const headers = [...(m.headers || new Map()).entries()]
  return asRecord(m.key, m.value, headers, m.timestamp)
}

async function produceSteps(state) {
  /* The topic comes from CreateTopics (flexible v7) so that the partition count is known before
   * the first send; auto-creation is kafkajs's part. */
  const admin = new Admin({ ...BASE, clientId: 'kwire-plt-admin2' })
  try {
    await admin.createTopics({ topics: [TOPIC], partitions: PARTITIONS, replicas: 1 })
  } finally {
    await admin.close()
  }
  const producer = new Producer({
    ...BASE,
    clientId: 'kwire-plt-producer',
    acks: ProduceAcks.ALL,
    partitioner: m => partitionOf(m),
  })
  const expect = {}
  try {
    let t0 = state.t0
    for (const codec of CODECS) {
      const messages = makeMessages(codec, 60, t0)
      t0 += 1000
      if (!opts.codecs.includes(codec)) {
        const err = await producer.send({ messages, compression: codec }).then(() => null, e => e)
        check(hasCode(err, UNSUPPORTED_COMPRESSION_TYPE), 'platformatic producer: a ' + codec +
          ' batch is refused with UNSUPPORTED_COMPRESSION_TYPE (kwire built without it)', err && err.stack)
        continue
      }
      const before = {}
      for (let p = 0; p < PARTITIONS; p++) before[p] = (expect[p] || []).length
      for (const m of messages) (expect[partitionOf(m)] = expect[partitionOf(m)] || []).push(sentRecord(m))
      const res = await producer.send({ messages, compression: codec })
      const offs = res.offsets || []
      const touched = Object.keys(expect).filter(p => expect[p].length !== before[p])
      check(
        offs.length === touched.length &&
          offs.every(o => o.topic === TOPIC && touched.includes(String(o.partition)) &&
            o.offset === BigInt(before[o.partition])),
        'platformatic producer: ' + codec + ' send acknowledged (acks=all) at the next offset ' +
          'of every partition it wrote',
        show(offs)
      )
    }
  } finally {
    await producer.close()
  }
  state.expect = expect
}

/* Every partition from offset 0 to its high watermark through Fetch by topic id. */
async function fetchAll(consumer, md) {
  const t = md.topics.get(TOPIC)
  const got = { codecs: new Set() }
  for (let p = 0; p < t.partitionsCount; p++) {
    const list = (got[p] = [])
    let offset = 0n
    let high = -1n
    for (let round = 0; round < 100 && offset !== high; round++) {
      const res = await consumer.fetch({
        node: t.partitions[p].leader,
        maxWaitTime: 100,
        topics: [{
          topicId: t.id,
          partitions: [{ partition: p, currentLeaderEpoch: -1, fetchOffset: offset, lastFetchedEpoch: -1, partitionMaxBytes: 1 << 20 }],
        }],
      })
      const pr = res.responses[0].partitions[0]
      if (res.responses[0].topicId !== t.id || pr.partitionIndex !== p || pr.errorCode !== 0)
        throw new Error('Fetch answered ' + show(res.responses[0]))
      high = pr.highWatermark
      for (const batch of pr.records || []) {
        got.codecs.add(batch.attributes & 7)
        for (const r of batch.records) {
          const o = batch.firstOffset + BigInt(r.offsetDelta)
          if (o < offset) continue
          if (o !== offset) throw new Error('partition ' + p + ': offset ' + o + ', expected ' + offset)
          list.push(asRecord(r.key, r.value, r.headers, batch.firstTimestamp + r.timestampDelta))
          offset++
        }
      }
    }
  }
  return got
}

async function consumeSteps(state) {
  const consumer = new Consumer({ ...BASE, clientId: 'kwire-plt-consumer', groupId: 'plt-unused' })
  try {
    const md = await consumer.metadata({ topics: [TOPIC] })
    const got = await fetchAll(consumer, md)
    const diffs = []
    for (let p = 0; p < PARTITIONS; p++) {
      const want = (state.expect[p] || []).map(recordText)
      const have = (got[p] || []).map(recordText)
      if (want.join('\n') !== have.join('\n'))
        diffs.push('partition ' + p + ': want ' + want.length + ', read ' + have.length +
          '; first difference at ' + want.findIndex((w, i) => w !== have[i]))
    }
    check(diffs.length === 0, 'platformatic Fetch (by topic id): every partition read from 0 equals ' +
      'what was produced, in order (every codec, headers, nulls, timestamps)', diffs.join('; '))

    const built = CODECS.map((c, i) => (opts.codecs.includes(c) ? i : -1)).filter(i => i >= 0)
    check([...got.codecs].sort().join() === built.join(),
      'platformatic Fetch: batches come back with the codec they were produced with (' +
        opts.codecs.join(', ') + ')', show([...got.codecs]))

    const latest = await consumer.listOffsets({ topics: [TOPIC] })
    const earliest = await consumer.listOffsets({ topics: [TOPIC], timestamp: -2n })
    const n = p => BigInt((state.expect[p] || []).length)
    check(
      [0, 1, 2].every(p => latest.get(TOPIC)[p] === n(p) && earliest.get(TOPIC)[p] === 0n),
      'platformatic listOffsets: earliest 0 and latest = records per partition',
      show({ latest, earliest })
    )
    /* By time: the first record at or after a time inside the first send's, and -1 (Kafka's
     * "none") for a time after every record. */
    const target = state.t0 + 30
    const byTime = await consumer.listOffsets({ topics: [TOPIC], timestamp: BigInt(target) })
    const first = p => {
      const i = (state.expect[p] || []).findIndex(r => Number(r.timestamp) >= target)
      return BigInt(i)
    }
    check([0, 1, 2].every(p => byTime.get(TOPIC)[p] === first(p)) && [0, 1, 2].some(p => first(p) >= 0n),
      'platformatic listOffsets: by timestamp finds the first record at or after it', show(byTime))
    const after = await consumer.listOffsets({ topics: [TOPIC], timestamp: BigInt(state.t0 + 1e7) })
    check([0, 1, 2].every(p => after.get(TOPIC)[p] === -1n),
      'platformatic listOffsets: a time after every record finds none (-1)', show(after))
  } finally {
    await consumer.close()
  }

  /* DeleteRecords (flexible v2) moves the log start; Fetch's and ListOffsets' views follow. */
  const admin = new Admin({ ...BASE, clientId: 'kwire-plt-admin3' })
  try {
    const del = await admin.deleteRecords({ topics: [{ name: TOPIC, partitions: [{ partition: 0, offset: 5n }] }] })
    const lw = (((del[0] || {}).partitions || [])[0] || {}).lowWatermark
    check(lw === 5n, 'platformatic admin: deleteRecords moves partition 0 to low watermark 5', show(del))
    const lo = await admin.listOffsets({ topics: [{ name: TOPIC, partitions: [{ partitionIndex: 0, timestamp: -2n }] }] })
    const o = (((lo[0] || {}).partitions || [])[0] || {}).offset
    check(o === 5n, 'platformatic admin: listOffsets earliest is then 5', show(lo))
  } finally {
    await admin.close()
  }
}

/* A group consumer (classic or KIP-848) reads everything from the earliest offsets; commits are
 * read back. Partition 0 starts at 5 after deleteRecords. */
async function groupRun(state, protocol) {
  const groupId = 'plt-group-' + protocol
  const label = 'platformatic ' + (protocol === 'consumer' ? 'KIP-848' : 'classic') + ' group'
  const want = {}
  for (let p = 0; p < PARTITIONS; p++) want[p] = (state.expect[p] || []).slice(p === 0 ? 5 : 0).map(recordText)
  const total = Object.values(want).reduce((n, l) => n + l.length, 0)
  const groupOpts = protocol === 'consumer'
    ? { groupProtocol: 'consumer' }
    : { sessionTimeout: 30000, rebalanceTimeout: 30000, heartbeatInterval: 1000 }
  const consumer = new Consumer({ ...BASE, clientId: 'kwire-plt-' + protocol, groupId, ...groupOpts })
  const got = {}
  let count = 0
  try {
    const stream = await consumer.consume({ topics: [TOPIC], mode: 'earliest', autocommit: false, maxWaitTime: 200 })
    const timer = setTimeout(() => stream.close(), 60000)
    for await (const m of stream) {
      const list = (got[m.partition] = got[m.partition] || [])
      /* a redelivery after a rebalance is not a new record */
      if (m.offset !== BigInt((m.partition === 0 ? 5 : 0) + list.length)) continue
      list.push(recordText(asRecord(m.key, m.value, [...m.headers.entries()], m.timestamp)))
      await m.commit()
      if (++count >= total) break
    }
    clearTimeout(timer)
    const same = Object.keys(want).every(p => want[p].join('\n') === (got[p] || []).join('\n'))
    check(same && count === total, label + ' consumer: every record arrives exactly as produced',
      'received ' + count + ' of ' + total)
    const committed = await consumer.listCommittedOffsets({ topics: [{ topic: TOPIC, partitions: [0, 1, 2] }] })
    check([0, 1, 2].every(p => committed.get(TOPIC)[p] === BigInt((state.expect[p] || []).length)),
      label + ': committed offsets are the end offsets', show(committed))
  } finally {
    await consumer.close(true)
  }
}

const state = { t0: Date.now() - 3600000 }
const steps = [
  ['platformatic admin', adminSteps],
  ['platformatic produce', () => produceSteps(state)],
  ['platformatic consume', () => consumeSteps(state)],
]
if (opts.groups) {
  steps.push(['platformatic classic group', () => groupRun(state, 'classic')])
  steps.push(['platformatic KIP-848 group', () => groupRun(state, 'consumer')])
} else {
  log('SKIP platformatic group consumers: run without --groups')
}
runSteps(steps)
