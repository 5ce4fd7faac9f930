import assert from 'node:assert/strict'
import { test } from 'node:test'
import { readDrainBody, readProbeBody } from '../../src/scheduler/directive-body.ts'
import {
  askedKey,
  dueProbe,
  expiredAsks,
  needsCapacities,
  type ProbeInput,
  type ProbeLink,
} from '../../src/scheduler/plan/probes.ts'
import { serviceSpec } from './paths-fixtures.ts'

const spec = serviceSpec

const link = (from: string, to: string, extra: Partial<ProbeLink> = {}): ProbeLink => ({
  from,
  to,
  up: true,
  throughputBps: 0,
  ...extra,
})

const MIN = 60_000

function input(over: Partial<ProbeInput> = {}): ProbeInput {
  const links = [link('a', 'b'), link('a', 'c'), link('b', 'c')]
  return {
    specs: [spec({ objective: 'throughput' })],
    links: () => links,
    reachable: new Set(['a', 'b', 'c']),
    asked: new Map(),
    lastAt: undefined,
    now: 100 * MIN,
    settings: { intervalMs: 30 * MIN, spacingMs: 5000 },
    ...over,
  }
}

test('capacities matter only to the throughput objective and to stripes', () => {
  assert.equal(needsCapacities([spec()]), false)
  assert.equal(needsCapacities([spec({ multipath: { mode: 'redundant', paths: 2 } })]), false)
  assert.equal(needsCapacities([spec(), spec({ objective: 'throughput' })]), true)
  assert.equal(needsCapacities([spec({ multipath: { mode: 'stripe', paths: 2 } })]), true)
})

test('no service needing capacities, or probes turned off: nothing is asked', () => {
  assert.equal(dueProbe(input({ specs: [spec()] })), undefined)
  assert.equal(dueProbe(input({ specs: [] })), undefined)
  assert.equal(dueProbe(input({ settings: { intervalMs: 0, spacingMs: 5000 } })), undefined)
})

test('the first node with up links of unknown capacity is asked for all of them', () => {
  assert.deepEqual(dueProbe(input()), { node: 'a', peers: ['b', 'c'] })
  const stripe = input({ specs: [spec({ multipath: { mode: 'stripe', paths: 2 } })] })
  assert.deepEqual(dueProbe(stripe), { node: 'a', peers: ['b', 'c'] })
})

test('links with a throughput, down links and nodes out of reach are skipped', () => {
  const links = [
    link('a', 'b', { throughputBps: 125_000_000 }),
    link('a', 'c', { up: false }),
    link('b', 'a'),
    link('b', 'c', { throughputBps: 1 }),
    link('c', 'a'),
  ]
  assert.deepEqual(dueProbe(input({ links: () => links })), { node: 'b', peers: ['a'] })
  assert.deepEqual(dueProbe(input({ links: () => links, reachable: new Set(['a', 'c']) })), {
    node: 'c',
    peers: ['a'],
  })
  const known = links.map((l) => ({ ...l, throughputBps: l.up ? 1 : 0 }))
  assert.equal(dueProbe(input({ links: () => known })), undefined, 'every up link known')
})

test('one directive per spacing across the mesh: the links are not even read before', () => {
  const now = 100 * MIN
  let reads = 0
  const links = () => {
    reads++
    return [link('a', 'b')]
  }
  assert.equal(dueProbe(input({ links, lastAt: now - 4999, now })), undefined)
  assert.equal(reads, 0)
  assert.deepEqual(dueProbe(input({ links, lastAt: now - 5000, now })), { node: 'a', peers: ['b'] })
})

test('a link asked within the interval is not asked again; after it, it is', () => {
  const now = 100 * MIN
  const asked = new Map([
    [askedKey('a', 'b'), now - 29 * MIN],
    [askedKey('a', 'c'), now - 30 * MIN],
  ])
  assert.deepEqual(dueProbe(input({ asked, now })), { node: 'a', peers: ['c'] })
  const all = new Map([...asked, [askedKey('a', 'c'), now - MIN], [askedKey('b', 'c'), now - MIN]])
  assert.equal(dueProbe(input({ asked: all, now })), undefined)
  assert.deepEqual(expiredAsks(asked, now, 30 * MIN), [askedKey('a', 'c')])
})

test('a directive names no more peers than a spacing has seconds, so probes do not overlap', () => {
  const links = ['b', 'c', 'd', 'e'].map((to) => link('a', to))
  const settings = { intervalMs: 30 * MIN, spacingMs: 2500 }
  assert.deepEqual(dueProbe(input({ links: () => links, settings })), { node: 'a', peers: ['b', 'c'] })
  const short = { intervalMs: 30 * MIN, spacingMs: 200 }
  assert.deepEqual(dueProbe(input({ links: () => links, settings: short })), { node: 'a', peers: ['b'] })
})

test('probe bodies: nothing means every reported link; peers are checked and named when wrong', () => {
  assert.deepEqual(readProbeBody(undefined), { value: {} })
  assert.deepEqual(readProbeBody({}), { value: {} })
  assert.deepEqual(readProbeBody({ peers: ['b', 'c', 'b'] }), { value: { peers: ['b', 'c'] } })
  const problem = (body: unknown) => {
    const r = readProbeBody(body)
    return 'problem' in r ? r.problem : ''
  }
  assert.match(problem([]), /expected a JSON object/)
  assert.match(problem({ peer: ['b'] }), /unknown key "peer"/)
  assert.match(problem({ peers: 'b' }), /^peers: expected an array of peer names, got "b"/)
  assert.match(problem({ peers: [] }), /^peers: name at least one peer/)
  assert.match(problem({ peers: ['b', ''] }), /^peers\[1\]: expected a non-empty peer name, got ""/)
  assert.match(problem({ peers: ['b', 7] }), /^peers\[1\]: .* got 7/)
  const many = Array.from({ length: 65 }, (_, i) => `p${i}`)
  assert.match(problem({ peers: many }), /^peers: at most 64 peers in one request, got 65/)
  assert.ok('value' in readProbeBody({ peers: many.slice(0, 64) }))
})

test('drain bodies: timeoutMs is optional whole milliseconds', () => {
  assert.deepEqual(readDrainBody(undefined), { value: { timeoutMs: 0 } })
  assert.deepEqual(readDrainBody({ timeoutMs: 30_000 }), { value: { timeoutMs: 30_000 } })
  for (const bad of [-1, 1.5, '30s', 2 ** 32]) {
    const r = readDrainBody({ timeoutMs: bad })
    assert.ok('problem' in r && /^timeoutMs: expected whole milliseconds/.test(r.problem), String(bad))
  }
  const r = readDrainBody({ timeout: 1 })
  assert.ok('problem' in r && /unknown key "timeout"/.test(r.problem))
})
