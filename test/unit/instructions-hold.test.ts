/** The node's guard: a route the scheduler has no path for keeps the paths that still work (instructions/hold.ts). */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { NO_ROUTES, type RoutesInForce, routesAfter, withoutFailed } from '../../src/instructions/hold.ts'
import type { InstructionRoute } from '../../src/instructions/types.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { DynamicRouteEngine } from '../../src/route/engine.ts'
import { systemClock } from '../../src/util/clock.ts'
import type { PeerState } from '../../src/views/node-view.ts'

function route(name: string, hops: string[][]): InstructionRoute {
  return {
    name,
    service: name,
    match: { listener: name },
    paths: hops.map((h) => ({ hops: h, targets: [{ address: '10.0.0.5:80', weight: 1 }], weight: 1 })),
  }
}

const names = (f: RoutesInForce) =>
  f.routes.map((r) => `${r.name}:${r.paths.map((p) => p.hops.join('>')).join('|')}`)

const cases: [string, RoutesInForce, InstructionRoute[], boolean, string[], string[]][] = [
  ['routes with paths are taken as they come', NO_ROUTES, [route('web', [['b']])], true, ['web:b'], []],
  [
    'no path while the paths in force work: they stay, held',
    { routes: [route('web', [['b'], ['c']])], held: [] },
    [route('web', [])],
    true,
    ['web:b|c'],
    ['web'],
  ],
  [
    'no path while the paths in force have failed: the route goes',
    { routes: [route('web', [['b']])], held: [] },
    [route('web', [])],
    false,
    [],
    [],
  ],
  ['no path and nothing in force: no route', NO_ROUTES, [route('web', [])], true, [], []],
  [
    'a route absent from the set was removed by its operator: it goes, working or not',
    { routes: [route('web', [['b']])], held: [] },
    [],
    true,
    [],
    [],
  ],
  [
    'a held route stays held through later sets with no path, from when it was first held',
    { routes: [route('web', [['b']])], held: [{ route: route('web', [['b']]), heldAt: 5 }] },
    [route('web', [])],
    true,
    ['web:b'],
    ['web'],
  ],
  [
    'a held route is replaced once the scheduler has a path again',
    { routes: [route('web', [['b']])], held: [{ route: route('web', [['b']]), heldAt: 5 }] },
    [route('web', [['c']])],
    true,
    ['web:c'],
    [],
  ],
]

for (const [name, current, incoming, works, expected, held] of cases) {
  test(`routesAfter: ${name}`, () => {
    const after = routesAfter(current, incoming, 100, () => works)
    assert.deepEqual(names(after), expected)
    assert.deepEqual(
      after.held.map((h) => h.route.name),
      held,
    )
  })
}

test('routesAfter: a route first held records when', () => {
  const after = routesAfter(
    { routes: [route('web', [['b']])], held: [] },
    [route('web', [])],
    100,
    () => true,
  )
  assert.equal(after.held[0]?.heldAt, 100)
  const later = routesAfter(after, [route('web', [])], 200, () => true)
  assert.equal(later.held[0]?.heldAt, 100)
})

test('withoutFailed: held routes whose paths failed go; others and unheld routes stay', () => {
  const web = route('web', [['b']])
  const api = route('api', [['c']])
  const other = route('other', [['d']])
  const current: RoutesInForce = {
    routes: [web, api, other],
    held: [
      { route: web, heldAt: 1 },
      { route: api, heldAt: 1 },
    ],
  }
  const after = withoutFailed(current, (r) => r.name !== 'web')
  assert.deepEqual(names(after), ['api:c', 'other:d'])
  assert.deepEqual(
    after.held.map((h) => h.route.name),
    ['api'],
  )
  assert.equal(
    withoutFailed(after, () => true),
    after,
    'nothing failed: the same object',
  )
})

test('the route engine holds a route through a set with no path for it, until its first hop is seen down', () => {
  const states = new Map<string, PeerState>([['b', 'up']])
  const peers = {
    state: (peer: string) => states.get(peer),
    dial: () => Promise.reject(new Error('no dialing in this test')),
    flowStarted: () => undefined,
    flowEnded: () => undefined,
  }
  const engine = new DynamicRouteEngine([], {
    nodeId: 'a',
    clock: systemClock,
    logger: silentLogger(),
    peers,
    token: undefined,
  })
  const routed = () => engine.routes().map((r) => r.config.name)
  engine.applyInstructions([route('web', [['b']]), route('api', [['b']])])
  engine.applyInstructions([route('web', []), route('api', [['b']])])
  assert.deepEqual(routed(), ['web', 'api'], 'web keeps its path through b')
  assert.deepEqual(
    engine.held().map((h) => h.route.name),
    ['web'],
  )
  assert.deepEqual(
    engine.table().routes.map((r) => r.route.name),
    ['web', 'api'],
    'new flows are decided against it',
  )
  engine.recheckHeld()
  assert.deepEqual(routed(), ['web', 'api'], 'b still up')
  states.set('b', 'down')
  engine.recheckHeld()
  assert.deepEqual(routed(), ['api'], 'its only first hop is down: the held route has failed on its own')
  assert.deepEqual(engine.held(), [])
  engine.applyInstructions([route('web', []), route('api', [['b']])])
  assert.deepEqual(routed(), ['api'], 'nothing in force for web: no path means no route')
  engine.close()
})
