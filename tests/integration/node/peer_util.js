'use strict'
/*
 * What the Node.js peer programs share: "ok"/"FAIL" lines in the format of
 * tests/integration/mock/mock_peers.py, a watchdog so that a client that never answers becomes a
 * failure with a reason instead of a hang, and the command line (bootstrap list, --groups).
 */

const failures = []

function log(msg) {
  process.stdout.write(msg + '\n')
}

/* Records one check; returns cond so callers can skip what depends on it. */
function check(cond, what, detail) {
  if (cond) {
    log('ok   ' + what)
  } else {
    log('FAIL ' + what + (detail === undefined ? '' : '\n     ' + detail))
    failures.push(what)
  }
  return !!cond
}

/* Exits with status 1 after `ms` unless the program finished first (the timer does not keep
 * the process alive). The runner has its own, longer timeout that kills the process. */
function watchdog(ms, name) {
  setTimeout(function () {
    log('FAIL ' + name + ': not finished after ' + ms / 1000 + ' s')
    process.exit(1)
  }, ms).unref()
}

/* argv: BOOTSTRAP [--groups] [--codecs=none,gzip,...]. --codecs names the compression codecs
 * the broker was built with (`kwire --version`); the default is all five. A batch in any other
 * codec must be refused with UNSUPPORTED_COMPRESSION_TYPE. */
function args() {
  const a = process.argv.slice(2)
  if (a.length < 1) {
    log('usage: ' + process.argv[1] + ' host:port[,host:port...] [--groups] [--codecs=LIST]')
    process.exit(2)
  }
  const c = a.find(x => x.startsWith('--codecs='))
  return {
    brokers: a[0].split(','),
    groups: a.indexOf('--groups') >= 0,
    codecs: c ? c.slice('--codecs='.length).split(',') : ['none', 'gzip', 'snappy', 'lz4', 'zstd'],
  }
}

/* Kafka's error code for a codec the broker does not support. */
const UNSUPPORTED_COMPRESSION_TYPE = 76

/* Runs the async steps in order; a step that throws is a failure with its message, and the
 * remaining steps still run (each uses its own topic). Sets the exit status. */
async function runSteps(steps) {
  for (const [name, fn] of steps) {
    try {
      await fn()
    } catch (e) {
      check(false, name + ' raised', (e && e.stack) || String(e))
    }
  }
  if (failures.length) log(failures.length + ' check(s) failed')
  process.exitCode = failures.length ? 1 : 0
}

/* A canonical, comparable text form of one record (key, value, headers, timestamp). */
function recordText(r) {
  const b = x => (x === null || x === undefined ? '<null>' : Buffer.from(x).toString('hex'))
  const hdrs = (r.headers || []).map(([k, v]) => b(k) + '=' + b(v)).join(',')
  return [b(r.key), b(r.value), hdrs, String(r.timestamp)].join('|')
}

module.exports = { UNSUPPORTED_COMPRESSION_TYPE, log, check, watchdog, args, runSteps, recordText, failures }
