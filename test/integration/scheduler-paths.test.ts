import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { type Harness, link, type SimNode, startHarness } from './scheduler-fixtures.ts'

// Long heartbeat and report intervals: nothing here may go stale or time out by itself.
const CONFIG = `  heartbeat_interval: 30s
  report_interval: 30s
  push_debounce: 20ms
  node_grace: 500ms
  hysteresis: { relative: 10%, absolute: 5ms, min_dwell: 400ms }
services:
  - name: web
    ingress: [{ node: a, listener: web }]
    egress: [c]
    targets: ["127.0.0.1:9"]
    alternatives: 2
`

let h: Harness
let a: SimNode
let b: SimNode
before(async () => {
  h = await startHarness(CONFIG)
  a = h.node({ nodeId: 'a', region: 'r1' })
  b = h.node({ nodeId: 'b', region: 'r1' })
  const c = h.node({ nodeId: 'c', region: 'r1' })
  await Promise.all([a.nextSet(0), b.nextSet(0), c.nextSet(0)])
})
after(async () => {
  await h.close()
})

function hopsOf(set: { routes: { paths: { hops: string[] }[] }[] } | undefined): string[][] {
  return set?.routes[0]?.paths.map((p) => p.hops) ?? []
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

test('a slow direct link and a fast two-hop path: the service goes through the relay', async () => {
  const seen = a.sets().length
  a.report([link('c', 100), link('b', 10)])
  b.report([link('c', 10), link('a', 10)])
  const set = await a.until(() => {
    const last = a.lastSet()
    return a.sets().length > seen && hopsOf(last)[0]?.length === 2 ? last : undefined
  }, 'a route through b')
  assert.deepEqual(hopsOf(set), [['b', 'c'], ['c']])
  assert.equal(set.routes[0]?.paths[0]?.weight, 100)
  assert.ok((set.routes[0]?.paths[1]?.weight ?? 0) < 100, 'the fallback weighs less')
  const paths = (await (await h.api('/paths')).json()) as { service: string; chosen: { nodes: string[] } }[]
  assert.deepEqual(paths[0]?.chosen.nodes, ['a', 'b', 'c'])
})

test('jitter below the thresholds never moves the path, even long after the dwell', async () => {
  const seen = a.sets().length
  for (const rtt of [17, 19, 16, 18, 17]) {
    a.report([link('c', rtt), link('b', 10)])
    b.report([link('c', 10), link('a', 10)])
    await sleep(120)
  }
  assert.equal(a.sets().length, seen, 'no new set was pushed')
})

test('reports that swap the links move the path; a swap back waits for the dwell time', async () => {
  const direct = { a: [link('c', 5), link('b', 60)], b: [link('c', 60), link('a', 60)] }
  const relayed = { a: [link('c', 100), link('b', 10)], b: [link('c', 10), link('a', 10)] }
  let state = direct
  // Reports keep coming, as they do from real nodes: each may trigger a recompute.
  const beat = setInterval(() => {
    a.report(state.a)
    b.report(state.b)
  }, 40)
  try {
    let seen = a.sets().length
    const moved = await a.until(
      () => (a.sets().length > seen ? a.lastSet() : undefined),
      'the move to direct',
    )
    const movedAt = Date.now()
    assert.deepEqual(hopsOf(moved), [['c'], ['b', 'c']])
    seen = a.sets().length
    state = relayed
    const back = await a.until(() => (a.sets().length > seen ? a.lastSet() : undefined), 'the move back')
    assert.deepEqual(hopsOf(back), [['b', 'c'], ['c']])
    assert.ok(
      Date.now() - movedAt >= 350,
      `moved back after ${Date.now() - movedAt}ms, within the 400ms dwell`,
    )
  } finally {
    clearInterval(beat)
  }
})

test('a relay that disconnects takes its paths with it once its grace time has passed', async () => {
  a.report([link('c', 100), link('b', 10)])
  b.report([link('c', 10), link('a', 10)])
  await sleep(100)
  const closedAt = Date.now()
  b.close()
  const set = await a.until(() => {
    const last = a.lastSet()
    const hops = hopsOf(last)
    return hops.length === 1 && hops[0]?.length === 1 ? last : undefined
  }, 'only the direct path left')
  assert.deepEqual(hopsOf(set), [['c']])
  const after = Date.now() - closedAt
  assert.ok(after >= 450, `b's path went ${after}ms after it left: it might have been reconnecting`)
})
