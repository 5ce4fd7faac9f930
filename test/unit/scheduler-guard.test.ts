/** The rule that no set takes a working route away for what the scheduler does not know (plan/guard.ts). */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { normalizeService, validateService } from '../../src/scheduler/config/load.ts'
import type { ServiceSpec } from '../../src/scheduler/config/types.ts'
import type { PathSelection } from '../../src/scheduler/paths/hysteresis.ts'
import { type Guarded, guardPlan, guardRoutes, type HeldRoutes } from '../../src/scheduler/plan/guard.ts'
import type { Knowledge, NodeKnowledge } from '../../src/scheduler/plan/knowledge.ts'
import type { Plan, PlannedRoute } from '../../src/scheduler/plan/planner.ts'

function spec(extra: Record<string, unknown> = {}): ServiceSpec {
  const r = validateService({
    name: 'web',
    ingress: [{ node: 'a', listener: 'web' }],
    egress: ['c'],
    targets: ['10.0.0.5:80'],
    ...extra,
  })
  assert.ok('value' in r)
  return normalizeService(r.value)
}

const TARGET = [{ address: '10.0.0.5:80', weight: 1 }]

function route(paths: string[][], extra: Partial<PlannedRoute> = {}): PlannedRoute {
  return {
    name: 'web',
    service: 'web',
    match: { listener: 'web' },
    paths: paths.map((nodes, i) => ({
      nodes,
      hops: nodes.slice(1),
      targets: TARGET,
      weight: 100 - i,
      cost: 1,
    })),
    ...extra,
  }
}

/** States by node (absent: known), links reported down as "from>to", whether the whole view is known. */
function knowing(
  states: Record<string, NodeKnowledge> = {},
  down: string[] = [],
  complete = true,
): Knowledge {
  const state = (n: string) => states[n] ?? 'known'
  return {
    state,
    linkDown: (from, to) => state(from) === 'known' && down.includes(`${from}>${to}`),
    complete: () => complete,
    unknownNodes: () => new Set(Object.keys(states).filter((n) => states[n] === 'unknown')),
  }
}

/** What the guard sends, as path lists per route ("a>b>c"), or "hold". */
function outcome(g: Guarded): string | Record<string, string[]> {
  if ('hold' in g) return 'hold'
  return Object.fromEntries(g.send.map((r) => [r.name, r.paths.map((p) => p.nodes.join('>'))]))
}

const AC = ['a', 'c']
const ABC = ['a', 'b', 'c']
const ADC = ['a', 'd', 'c']

interface Case {
  readonly name: string
  readonly held: HeldRoutes | undefined
  readonly planned: PlannedRoute[]
  readonly k: Knowledge
  readonly services?: ServiceSpec[]
  readonly expect: string | Record<string, string[]>
  readonly kept?: string[]
}

const cases: Case[] = [
  {
    name: 'a node that holds nothing gets the plan, even a route with no path',
    held: undefined,
    planned: [route([])],
    k: knowing({ c: 'unknown' }, [], false),
    expect: { web: [] },
  },
  {
    name: 'a node holding a set not known here waits while the view is partial',
    held: 'unreadable',
    planned: [route([AC])],
    k: knowing({ c: 'unknown' }, [], false),
    expect: 'hold',
  },
  {
    name: 'a node holding a set not known here gets the plan once the view is whole',
    held: 'unreadable',
    planned: [route([AC])],
    k: knowing(),
    expect: { web: ['a>c'] },
  },
  {
    name: 'a plan that keeps every path (reordered, one added) is sent as it is',
    held: [route([ABC])],
    planned: [route([AC, ABC])],
    k: knowing({ b: 'unknown', c: 'unknown' }, [], false),
    expect: { web: ['a>c', 'a>b>c'] },
  },
  {
    name: 'the egress not back yet: the route keeps its path (issue 14, failure 1)',
    held: [route([AC])],
    planned: [route([])],
    k: knowing({ c: 'unknown' }, [], false),
    expect: { web: ['a>c'] },
    kept: ['web'],
  },
  {
    name: 'the ingress itself not reported yet: its route keeps its paths',
    held: [route([ABC])],
    planned: [route([AC])],
    k: knowing({ a: 'unknown' }, [], false),
    expect: { web: ['a>b>c', 'a>c'] },
    kept: ['web'],
  },
  {
    name: 'a relay gone past its grace time: its path goes',
    held: [route([ABC])],
    planned: [route([AC])],
    k: knowing({ b: 'gone', c: 'unknown' }, [], false),
    expect: { web: ['a>c'] },
  },
  {
    name: 'a link reported down by a known node: the path goes, the rest stays while unknown',
    held: [route([ABC, AC])],
    planned: [route([])],
    k: knowing({ b: 'unknown' }, ['a>c'], false),
    expect: { web: ['a>b>c'] },
    kept: ['web'],
  },
  {
    name: 'every path of the route shown broken: the plan goes, with no path',
    held: [route([AC])],
    planned: [route([])],
    k: knowing({ b: 'unknown' }, ['a>c'], false),
    expect: { web: [] },
  },
  {
    name: 'a link down in a report from a node not known (stale, not back) is no evidence',
    held: [route([ABC])],
    planned: [route([])],
    k: knowing({ b: 'unknown' }, ['b>c'], false),
    expect: { web: ['a>b>c'] },
    kept: ['web'],
  },
  {
    name: 'every node of the route known: the plan is evidence enough',
    held: [route([ABC, AC])],
    planned: [route([ADC])],
    k: knowing({ x: 'unknown' }, [], false),
    expect: { web: ['a>d>c'] },
  },
  {
    name: 'the operator changed the targets: old paths go though nodes are unknown',
    held: [route([AC])],
    planned: [route([])],
    k: knowing({ c: 'unknown' }, [], false),
    services: [spec({ targets: ['10.0.0.6:80'] })],
    expect: { web: [] },
  },
  {
    name: 'the operator moved the egress: paths ending at the old one go',
    held: [route([AC])],
    planned: [route([])],
    k: knowing({ c: 'unknown', d: 'unknown' }, [], false),
    services: [spec({ egress: ['d'] })],
    expect: { web: [] },
  },
  {
    name: 'the operator made the service multipath: single paths go',
    held: [route([AC])],
    planned: [route([], { multipath: 'stripe' })],
    k: knowing({ c: 'unknown' }, [], false),
    services: [spec({ multipath: { mode: 'stripe' } })],
    expect: { web: [] },
  },
  {
    name: 'the operator deleted the service: its route goes',
    held: [route([AC])],
    planned: [],
    k: knowing({ c: 'unknown' }, [], false),
    services: [],
    expect: {},
  },
  {
    name: 'a route the plan lacks while the service still enters here is kept',
    held: [route([AC])],
    planned: [],
    k: knowing({ c: 'unknown' }, [], false),
    expect: { web: ['a>c'] },
    kept: ['web'],
  },
  {
    name: 'a multipath route kept for want of evidence does not gain paths',
    held: [route([ABC, ADC], { multipath: 'stripe' })],
    planned: [route([ADC, ['a', 'e', 'c']], { multipath: 'stripe' })],
    k: knowing({ b: 'unknown' }, [], false),
    services: [spec({ multipath: { mode: 'stripe' } })],
    expect: { web: ['a>b>c', 'a>d>c'] },
    kept: ['web'],
  },
  {
    name: 'a new route is added while an old one is kept',
    held: [route([AC])],
    planned: [route([]), route([['a', 'b']], { name: 'api', service: 'api', match: { port: 81 } })],
    k: knowing({ c: 'unknown' }, [], false),
    services: [spec(), spec({ name: 'api', ingress: [{ node: 'a', port: 81 }], egress: ['b'] })],
    expect: { web: ['a>c'], api: ['a>b'] },
    kept: ['web'],
  },
]

for (const c of cases) {
  test(`guard: ${c.name}`, () => {
    const services = new Map((c.services ?? [spec()]).map((s) => [s.name, s]))
    const g = guardRoutes('a', c.held, c.planned, c.k, services)
    assert.deepEqual(outcome(g), c.expect)
    if (!('hold' in g)) assert.deepEqual(g.kept, c.kept ?? [])
  })
}

test('guard: a route kept whole is the held route itself, so its content (and version) does not change', () => {
  const held = route([AC])
  const g = guardRoutes(
    'a',
    [held],
    [route([])],
    knowing({ c: 'unknown' }, [], false),
    new Map([['web', spec()]]),
  )
  assert.ok(!('hold' in g))
  assert.deepEqual(g.send, [held])
})

test('guardPlan: a kept route keeps its previous choice; a held node forgets the choices made blind', () => {
  const choice = (nodes: string[], since: number): PathSelection => ({
    path: { nodes, cost: 1, metrics: { rttMs: 1, bottleneckBps: 0, loss: 0, costPerGb: 0 } },
    since,
    left: [],
  })
  const selection = (node: string) => ({
    key: `web|${node}|listener:web`,
    service: 'web',
    ingress: { node, listener: 'web' },
    candidates: [],
  })
  const planned: Plan = {
    routes: new Map([
      ['a', [route([])]],
      ['x', [route([['x', 'c']])]],
    ]),
    selections: [selection('a'), selection('x')],
    choices: new Map([['web|x|listener:web', choice(['x', 'c'], 50)]]),
    weights: new Map(),
  }
  const previous = new Map([['web|a|listener:web', choice(AC, 10)]])
  const services = new Map([
    [
      'web',
      spec({
        ingress: [
          { node: 'a', listener: 'web' },
          { node: 'x', listener: 'web' },
        ],
      }),
    ],
  ])
  const g = guardPlan(
    planned,
    previous,
    ['a', 'x'],
    (node) => (node === 'a' ? [route([AC])] : 'unreadable'),
    knowing({ c: 'unknown' }, [], false),
    services,
  )
  assert.deepEqual(
    g.plan.routes.get('a')?.[0]?.paths.map((p) => p.nodes),
    [AC],
  )
  assert.equal(g.plan.choices.get('web|a|listener:web')?.since, 10, 'the choice in force before')
  assert.deepEqual([...g.held.keys()], ['x'])
  assert.equal(g.plan.choices.has('web|x|listener:web'), false, 'no choice made while x was held')
  assert.deepEqual(g.kept, ['a/web'])
})
