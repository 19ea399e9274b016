'use strict'
/*
 * Answers two questions about this directory's npm installation, so that scripts/setup-node and
 * node_peers.py decide the same way:
 *
 *   node check_install.js lock
 *     exit 0 when node_modules holds every package of package-lock.json at its locked version
 *     (optional packages, the platform-specific binaries, are checked only when present);
 *     otherwise prints what differs and exits 1. setup-node runs `npm ci` only then.
 *
 *   node check_install.js engines NAME
 *     exit 0 when the running node satisfies the "engines.node" range of package NAME and of
 *     every non-optional package it depends on, as recorded in package-lock.json (a dependency
 *     may ask for more than the package itself: @platformatic/kafka 1.35.0 accepts Node 20.19.4
 *     but its @platformatic/dynamic-buffer wants 22.19.0); otherwise prints the unmet range and
 *     exits 1. Exit 2: a range this small evaluator does not understand.
 *
 * Plain CommonJS without newer syntax: it must run on whatever node the machine has (Debian
 * bookworm's is 18) before anything is installed.
 */
const fs = require('fs')
const path = require('path')

const DIR = __dirname

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'))
}

function lockPackages() {
  return readJson(path.join(DIR, 'package-lock.json')).packages
}

function checkLock() {
  const pkgs = lockPackages()
  const problems = []
  for (const key of Object.keys(pkgs)) {
    if (key === '') continue
    const want = pkgs[key]
    let have = null
    try {
      have = readJson(path.join(DIR, key, 'package.json')).version
    } catch (e) {
      have = null
    }
    if (have === null && want.optional) continue
    if (have !== want.version) problems.push(key + ': locked ' + want.version + ', installed ' + have)
  }
  for (const p of problems) console.log(p)
  return problems.length === 0 ? 0 : 1
}

/* Versions as [major, minor, patch]; missing parts of a partial version ("22", "1.2") are
 * wildcards, returned as null. */
function parseVersion(s) {
  const m = /^v?(\d+|[xX*])(?:\.(\d+|[xX*]))?(?:\.(\d+|[xX*]))?$/.exec(s)
  if (!m) return undefined
  return [m[1], m[2], m[3]].map(function (x) {
    return x === undefined || /[xX*]/.test(x) ? null : Number(x)
  })
}

function cmp(a, b) {
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1
  return 0
}

function floor(v) {
  return v.map(function (x) {
    return x === null ? 0 : x
  })
}

/* The exclusive upper bound of a partial version ("1.2" -> 1.3.0) or of a caret/tilde range. */
function bump(v, at) {
  const out = [0, 0, 0]
  for (let i = 0; i < at; i++) out[i] = v[i]
  out[at] = (v[at] === null ? 0 : v[at]) + 1
  return out
}

/* One comparator set ("a b c", all must hold) as predicates; undefined when not understood. */
function comparators(set) {
  const toks = set.replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1').split(/\s+/).filter(Boolean)
  const preds = []
  for (const t of toks) {
    const m = /^(>=|<=|>|<|=|\^|~)?(.+)$/.exec(t)
    const v = parseVersion(m[2])
    if (!v) return undefined
    const op = m[1] || '='
    const lo = floor(v)
    const wild = v.indexOf(null)
    if (wild === 0) continue /* "*", "x": any version */
    if (op === '>=') preds.push(function (x) { return cmp(x, lo) >= 0 })
    else if (op === '<') preds.push(function (x) { return cmp(x, lo) < 0 })
    else if (op === '>') {
      const hi = wild < 0 ? null : bump(v, wild - 1)
      preds.push(function (x) { return hi ? cmp(x, hi) >= 0 : cmp(x, lo) > 0 })
    } else if (op === '<=') {
      const hi = wild < 0 ? null : bump(v, wild - 1)
      preds.push(function (x) { return hi ? cmp(x, hi) < 0 : cmp(x, lo) <= 0 })
    } else {
      /* =, ^ and ~ are ranges [lo, hi) */
      let at
      if (op === '^') at = v[0] !== 0 || v[1] === null ? 0 : v[1] !== 0 || v[2] === null ? 1 : 2
      else if (op === '~') at = v[1] === null ? 0 : 1
      else at = wild < 0 ? -1 : wild - 1
      if (at < 0) preds.push(function (x) { return cmp(x, lo) === 0 })
      else {
        const hi = bump(v, at)
        preds.push(function (x) { return cmp(x, lo) >= 0 && cmp(x, hi) < 0 })
      }
    }
  }
  return preds
}

/* true / false, or undefined for a range this evaluator does not understand. */
function satisfies(version, range) {
  const x = floor(parseVersion(version.replace(/[-+].*$/, '')))
  let ok = false
  for (const set of range.split('||')) {
    const s = set.trim()
    if (s === '' || s === '*') return true
    const preds = comparators(s)
    if (!preds) return undefined
    if (preds.every(function (p) { return p(x) })) ok = true
  }
  return ok
}

/* The lock entry a dependency NAME of the package at lock key FROM resolves to: npm's lookup,
 * nearest node_modules first. */
function resolve(pkgs, from, name) {
  let base = from
  for (;;) {
    const key = (base ? base + '/' : '') + 'node_modules/' + name
    if (pkgs[key]) return key
    if (!base) return null
    const i = base.lastIndexOf('/node_modules/')
    base = i < 0 ? '' : base.slice(0, i)
  }
}

function checkEngines(name) {
  const pkgs = lockPackages()
  const start = resolve(pkgs, '', name)
  if (!start) {
    console.log(name + ' is not in package-lock.json')
    return 2
  }
  const seen = {}
  const todo = [start]
  let status = 0
  while (todo.length) {
    const key = todo.pop()
    if (seen[key]) continue
    seen[key] = true
    const p = pkgs[key]
    const range = p.engines && p.engines.node
    if (range) {
      const ok = satisfies(process.version, range)
      if (ok === undefined) {
        console.log(key + ': cannot evaluate engines.node "' + range + '"')
        status = 2
      } else if (!ok && status === 0) {
        console.log(key + ' wants node ' + range + ', this is ' + process.version)
        status = 1
      }
    }
    const deps = p.dependencies || {}
    for (const d of Object.keys(deps)) {
      const k = resolve(pkgs, key, d)
      if (k && !pkgs[k].optional) todo.push(k)
    }
  }
  return status
}

function main(argv) {
  if (argv[0] === 'lock' && argv.length === 1) return checkLock()
  if (argv[0] === 'engines' && argv.length === 2) return checkEngines(argv[1])
  if (argv[0] === 'satisfies' && argv.length === 3) {
    /* for checking the evaluator itself: satisfies VERSION RANGE */
    const ok = satisfies(argv[1], argv[2])
    return ok === undefined ? 2 : ok ? 0 : 1
  }
  console.log('usage: check_install.js lock | engines NAME | satisfies VERSION RANGE')
  return 2
}

process.exitCode = main(process.argv.slice(2))
