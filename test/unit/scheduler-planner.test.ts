import assert from 'node:assert/strict'
import { test } from 'node:test'
import { buildGraph } from '../../src/scheduler/mesh-graph.ts'
import type { PathSelection } from '../../src/scheduler/paths/hysteresis.ts'
import type { ComputedPath } from '../../src/scheduler/paths/types.ts'
import type { PathEngine } from '../../src/scheduler/plan/engine.ts'
import { plan, selectionKey } from '../../src/scheduler/plan/planner.ts'
import { realPathEngine } from '../../src/scheduler/plan/real-engine.ts'
import type { LinkView } from '../../src/scheduler/telemetry.ts'
import { linkView, serviceSpec } from './paths-fixtures.ts'

const HYSTERESIS = { relative: 0.1, absolute: 5, minDwellMs: 1000 }

const spec = serviceSpec

function path(nodes: string[], cost: number): ComputedPath {
  return { nodes, cost, metrics: { rttMs: cost, bottleneckBps: 0, loss: 0, costPerGb: 0 } }
}

/** Fixed answers, and the simplest choice: always the best candidate. */
function fixedEngine(best: ComputedPath[], disjoint: ComputedPath[] = []): PathEngine {
  return {
    best: (q) => best.slice(0, q.count),
    disjoint: (q) => disjoint.slice(0, q.count),
    evaluate: () => undefined,
    choose: (_current, candidates, _policy, now) =>
      candidates[0] ? { path: candidates[0], since: now, left: [] } : undefined,
  }
}

const up = (id: string, region = 'r1') => ({ id, region, connected: true })

test('the ingress gets a route named after the service: choice first, hops = nodes[1..], weights by preference', () => {
  const graph = buildGraph([up('a'), up('b'), up('c')], [], [])
  const engine = fixedEngine([path(['a', 'b', 'c'], 10), path(['a', 'c'], 30)])
  const p = plan([spec()], { graph, engine, now: 0, hysteresis: HYSTERESIS }, new Map())
  assert.deepEqual(p.routes.get('a'), [
    {
      name: 'web',
      service: 'web',
      match: { listener: 'web' },
      paths: [
        { nodes: ['a', 'b', 'c'], hops: ['b', 'c'], targets: spec().targets, weight: 100, cost: 10 },
        { nodes: ['a', 'c'], hops: ['c'], targets: spec().targets, weight: 50, cost: 30 },
      ],
    },
  ])
  assert.equal(p.routes.has('b'), false, 'relays get no route')
  assert.deepEqual(p.choices.get(selectionKey('web', { node: 'a', listener: 'web' }))?.path.nodes, [
    'a',
    'b',
    'c',
  ])
})

test('a port ingress matches on the port; multipath asks for disjoint paths with equal weights', () => {
  const graph = buildGraph([up('a'), up('b'), up('c')], [], [])
  const engine = fixedEngine([], [path(['a', 'b', 'c'], 10), path(['a', 'c'], 30)])
  const service = spec({ ingress: [{ node: 'a', port: 8080 }], multipath: { mode: 'stripe', paths: 2 } })
  const [route] =
    plan([service], { graph, engine, now: 0, hysteresis: HYSTERESIS }, new Map()).routes.get('a') ?? []
  assert.deepEqual(route?.match, { port: 8080 })
  assert.equal(route?.multipath, 'stripe')
  assert.deepEqual(
    route?.paths.map((x) => [x.hops, x.weight]),
    [
      [['b', 'c'], 100],
      [['c'], 100],
    ],
  )
})

test('no route for an ingress that is down or has no path; two ingresses of one service on a node get distinct names', () => {
  const graph = buildGraph([{ id: 'a', region: 'r1', connected: false }, up('b'), up('c')], [], [])
  const none = plan(
    [spec()],
    { graph, engine: fixedEngine([path(['a', 'c'], 1)]), now: 0, hysteresis: HYSTERESIS },
    new Map(),
  )
  assert.equal(none.routes.size, 0)
  assert.equal(none.selections[0]?.route, undefined)

  const graph2 = buildGraph([up('b'), up('c')], [], [])
  const twice = spec({
    ingress: [
      { node: 'b', listener: 'x' },
      { node: 'b', port: 81 },
    ],
  })
  const p = plan(
    [twice],
    { graph: graph2, engine: fixedEngine([path(['b', 'c'], 1)]), now: 0, hysteresis: HYSTERESIS },
    new Map(),
  )
  assert.deepEqual(
    p.routes.get('b')?.map((r) => r.name),
    ['web', 'web#2'],
  )

  const empty = plan(
    [spec()],
    { graph: graph2, engine: fixedEngine([]), now: 0, hysteresis: HYSTERESIS },
    new Map(),
  )
  assert.equal(empty.routes.size, 0)
})

test('with the real engine: the fast two-hop path wins over a slow direct link, and hysteresis holds it', () => {
  const nodes = [up('a'), up('b'), up('c')]
  const slowDirect = [linkView('a', 'c', 100), linkView('a', 'b', 10), linkView('b', 'c', 10)]
  const ctx = (links: LinkView[], now: number) => ({
    graph: buildGraph(nodes, links, []),
    engine: realPathEngine,
    now,
    hysteresis: HYSTERESIS,
  })
  const first = plan([spec()], ctx(slowDirect, 0), new Map())
  assert.deepEqual(
    first.routes.get('a')?.[0]?.paths.map((p) => p.hops),
    [['b', 'c'], ['c']],
  )

  // Direct becomes slightly better (2 ms): below the 5 ms margin, nothing moves, even after the dwell.
  const jitter = [linkView('a', 'c', 18), linkView('a', 'b', 10), linkView('b', 'c', 10)]
  const held = plan([spec()], ctx(jitter, 5000), first.choices)
  assert.deepEqual(held.routes.get('a')?.[0]?.paths[0]?.hops, ['b', 'c'])

  // Direct becomes much better: within the dwell nothing moves, after it the path switches.
  const swapped = [linkView('a', 'c', 5), linkView('a', 'b', 50), linkView('b', 'c', 50)]
  const early = plan([spec()], ctx(swapped, 500), first.choices)
  assert.deepEqual(early.routes.get('a')?.[0]?.paths[0]?.hops, ['b', 'c'])
  const late = plan([spec()], ctx(swapped, 1500), first.choices)
  assert.deepEqual(
    late.routes.get('a')?.[0]?.paths.map((p) => p.hops),
    [['c'], ['b', 'c']],
  )
})

test('the chosen path is kept while it works even when it falls out of the top k', () => {
  const nodes = [up('a'), up('b'), up('c'), up('d')]
  const links = [linkView('a', 'b', 10), linkView('b', 'c', 10), linkView('a', 'd', 9), linkView('d', 'c', 9)]
  const graph = buildGraph(nodes, links, [])
  const current: PathSelection = { path: path(['a', 'b', 'c'], 20), since: 0, left: [] }
  const key = selectionKey('web', { node: 'a', listener: 'web' })
  const p = plan(
    [spec({ alternatives: 1 })],
    { graph, engine: realPathEngine, now: 100, hysteresis: HYSTERESIS },
    new Map([[key, current]]),
  )
  assert.deepEqual(
    p.routes.get('a')?.[0]?.paths.map((x) => x.hops),
    [['b', 'c']],
  )
})

test('multipath weights: stripe by bottleneck, failover by rank, redundant equal; shares move stripe weights', () => {
  const graph = buildGraph([up('a'), up('b'), up('c'), up('d')], [], [])
  const measured = (nodes: string[], cost: number, bottleneckBps: number): ComputedPath => ({
    nodes,
    cost,
    metrics: { rttMs: cost, bottleneckBps, loss: 0, costPerGb: 0 },
  })
  const engine = fixedEngine([], [measured(['a', 'd', 'c'], 10, 10e6), measured(['a', 'b', 'c'], 20, 20e6)])
  const weights = (mode: 'stripe' | 'failover' | 'redundant') =>
    plan(
      [spec({ multipath: { mode, paths: 2 } })],
      { graph, engine, now: 0, hysteresis: HYSTERESIS },
      new Map(),
    )
      .routes.get('a')?.[0]
      ?.paths.map((p) => [p.hops[0], p.weight])
  assert.deepEqual(weights('stripe'), [
    ['b', 100],
    ['d', 50],
  ])
  assert.deepEqual(weights('failover'), [
    ['d', 100],
    ['b', 50],
  ])
  assert.deepEqual(
    weights('redundant'),
    [
      ['b', 100],
      ['d', 100],
    ],
    'stripe and redundant list their paths by node ids: their order means nothing',
  )

  // The ingress reports the two paths carried equal bytes: via d has more capacity than the graph says.
  const service = spec({ multipath: { mode: 'stripe', paths: 2 } })
  const key = selectionKey('web', { node: 'a', listener: 'web' })
  const ctx = (now: number, sent: number) => ({
    graph,
    engine,
    now,
    hysteresis: HYSTERESIS,
    traffic: new Map([
      [
        key,
        {
          version: '1.1',
          bytesSent: new Map([
            ['a\u0000d\u0000c', sent],
            ['a\u0000b\u0000c', sent],
          ]),
        },
      ],
    ]),
  })
  let p = plan([service], { graph, engine, now: 0, hysteresis: HYSTERESIS }, new Map())
  for (let i = 1; i <= 10; i++) p = plan([service], ctx(i * 2000, i * 16e6), p.choices, p.weights)
  const [viaB, viaD] = p.routes.get('a')?.[0]?.paths.map((x) => x.weight) ?? []
  assert.equal(viaB, 100)
  assert.ok((viaD ?? 0) >= 80, `via d rose from 50 toward an equal share: ${viaD}`)
  assert.equal(
    p.weights.get(key)?.corrections.get('a\u0000d\u0000c'),
    0,
    'the favoured path’s correction is 0',
  )
})

test('a stripe route lists its paths in a fixed order: the favourite moving among the same paths changes nothing', () => {
  const graph = buildGraph([up('a'), up('b'), up('c'), up('d')], [], [])
  const viaB = path(['a', 'b', 'c'], 10)
  const viaD = path(['a', 'd', 'c'], 20)
  const routeOf = (mode: 'stripe' | 'failover', found: ComputedPath[]) =>
    plan(
      [spec({ multipath: { mode, paths: 2 } })],
      { graph, engine: fixedEngine([], found), now: 0, hysteresis: HYSTERESIS },
      new Map(),
    ).routes.get('a')?.[0]
  assert.deepEqual(routeOf('stripe', [viaD, viaB]), routeOf('stripe', [viaB, viaD]))
  assert.deepEqual(
    routeOf('failover', [viaD, viaB])?.paths.map((p) => [p.hops[0], p.weight]),
    [
      ['d', 100],
      ['b', 50],
    ],
    'failover: the favourite first, with the highest weight',
  )
})
