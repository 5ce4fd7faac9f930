/**
 * The path searches are pruned for speed (bounds per egress, per spur search, per disjoint set);
 * pruning may only skip work, never change an answer. These digests are of the answers the
 * unpruned searches gave on seeded meshes, for every objective, multipath and constraint kind:
 * a change to any path, its order or its cost changes a digest.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { describe, it } from 'node:test'
import type { ServiceSpec } from '../../src/scheduler/config/types.ts'
import { disjointPaths } from '../../src/scheduler/paths/disjoint.ts'
import { buildGraph } from '../../src/scheduler/paths/graph.ts'
import { bestPathsToAny, kBestPaths } from '../../src/scheduler/paths/index.ts'
import type {
  ComputedPath,
  Graph,
  GraphLink,
  Objective,
  PathConstraints,
} from '../../src/scheduler/paths/types.ts'
import { plan } from '../../src/scheduler/plan/planner.ts'
import { realPathEngine } from '../../src/scheduler/plan/real-engine.ts'
import { link, randomGraph, seeded } from './paths-fixtures.ts'

const OBJECTIVES: readonly Objective[] = ['latency', 'throughput', 'cost']

/**
 * Like the control-plane benchmark's mesh: a ring with chords, regions in arcs, capacities in
 * steps (so widths tie) and prices between regions. `flat`: no capacity and no price known, as
 * nodes report today, so every path ties on the throughput and cost objectives' first criterion.
 */
function ringMesh(n: number, seed: number, flat: boolean): Graph {
  const random = seeded(seed)
  const region = (i: number) => `r${Math.floor((i * 4) / n)}`
  const price = (a: string, b: string) =>
    a === b ? 0 : (1 + ((a.charCodeAt(1) * 7 + b.charCodeAt(1)) % 9)) / 100
  const nodes = Array.from({ length: n }, (_, i) => ({ id: `n${i}`, region: region(i), up: true }))
  const links: GraphLink[] = []
  for (let i = 0; i < n; i++) {
    const peers = new Set([(i + 1) % n, (i + n - 1) % n, (i + 2) % n])
    while (peers.size < 6) {
      const j = Math.floor(random() * n)
      if (j !== i) peers.add(j)
    }
    for (const j of peers) {
      links.push(
        link(`n${i}`, `n${j}`, {
          rttMs: 1 + Math.floor(random() * 40),
          throughputBps: flat ? 0 : (1 + Math.floor(random() * 20)) * 5e6,
          costPerGb: flat ? 0 : price(region(i), region(j)),
        }),
      )
    }
  }
  return buildGraph(nodes, links)
}

const MESHES: readonly { readonly name: string; readonly graph: Graph }[] = [
  { name: 'random', graph: randomGraph(seeded(5), 160, 5, 4) },
  { name: 'ring', graph: ringMesh(200, 9, false) },
  { name: 'flat ring', graph: ringMesh(200, 9, true) },
]

const CONSTRAINTS: readonly PathConstraints[] = [
  {},
  { maxHops: 5 },
  { avoidRegions: ['r1'] },
  { requireRegions: ['r0', 'r2', 'r3'] },
]

function digest(answers: unknown): string {
  return createHash('sha256').update(JSON.stringify(answers)).digest('hex').slice(0, 16)
}

const show = (paths: readonly ComputedPath[]) => paths.map((p) => [p.nodes.join('>'), p.cost])

/** Spread over the mesh: `count` node ids, every `step`th from `offset`. */
function pick(graph: Graph, count: number, step: number, offset: number): string[] {
  const n = graph.nodes.size
  return Array.from({ length: count }, (_, i) => `n${(offset + i * step) % n}`)
}

function bestAnswers(graph: Graph, objective: Objective): unknown[] {
  const egresses = pick(graph, 6, 31, 3)
  const out: unknown[] = []
  for (const [c, constraints] of CONSTRAINTS.entries()) {
    for (const from of pick(graph, 12, 13, c)) {
      for (const k of [1, 2, 3, 5])
        out.push(show(bestPathsToAny(graph, from, egresses, k, objective, constraints)))
      out.push(show(kBestPaths(graph, from, egresses[0]!, 4, objective, constraints)))
    }
  }
  return out
}

function disjointAnswers(graph: Graph, objective: Objective): unknown[] {
  const out: unknown[] = []
  for (const [c, constraints] of CONSTRAINTS.entries()) {
    for (const from of pick(graph, 10, 17, c)) {
      for (const n of [2, 3]) {
        for (const to of pick(graph, 3, 41, 5))
          out.push(show(disjointPaths(graph, from, to, n, objective, constraints)))
      }
    }
  }
  return out
}

function service(graph: Graph, over: Partial<ServiceSpec>): ServiceSpec {
  return {
    name: 'web',
    ingress: pick(graph, 60, 3, 0).map((node) => ({ node, listener: 'in' })),
    egress: pick(graph, 8, 23, 1),
    targets: [{ address: '10.0.0.5:80', weight: 1 }],
    objective: 'latency',
    constraints: { avoidRegions: [], requireRegions: [] },
    alternatives: 2,
    ...over,
  }
}

/** Each ingress's candidates and choice; routes are left out: how they list and weigh is the planner's. */
function planAnswers(graph: Graph, over: Partial<ServiceSpec>): unknown {
  const result = plan(
    [service(graph, over)],
    {
      graph,
      engine: realPathEngine,
      now: 0,
      hysteresis: { relative: 0.1, absolute: 5, minDwellMs: 0 },
    },
    new Map(),
  )
  return result.selections.map((s) => [show(s.candidates), s.choice?.path.nodes.join('>')])
}

/** Computed with the searches before any pruning; see the file's comment before changing one. */
const EXPECTED: Readonly<Record<string, string>> = {
  'random best latency': 'dc92756a10d91dbc',
  'random disjoint latency': '743787cb670f6ae5',
  'random best throughput': '127b171091b4722b',
  'random disjoint throughput': '0e85d2ed6596caa9',
  'random best cost': 'fae04f88ea8f6798',
  'random disjoint cost': '18cfa396a0bb3edb',
  'random plan latency': 'd395330b79b5ed59',
  'random plan throughput': 'dedbc20d5658ede0',
  'random plan cost': '46e402c73d3fdf9d',
  'random plan stripe': 'de6d9ad762fd34a5',
  'random plan redundant throughput': 'f1ec74817a25f2db',
  'ring best latency': '4e584281c69496e5',
  'ring disjoint latency': '4bb12d0a12a17e77',
  'ring best throughput': '6c55d91347d0003e',
  'ring disjoint throughput': 'f9a857dae516b8f0',
  'ring best cost': '721e9ea644c3eb46',
  'ring disjoint cost': 'f8f76b74e4eb666b',
  'ring plan latency': '4efd0af340bcff3a',
  'ring plan throughput': 'd1c1e4a9a1465108',
  'ring plan cost': 'e2b5a33426dcfe0d',
  'ring plan stripe': '36ac7b47aab31a45',
  'ring plan redundant throughput': '636eff99cb2132fa',
  'flat ring best latency': '158776d4f7fe24c7',
  'flat ring disjoint latency': '19e54d2911c05d37',
  'flat ring best throughput': '5c217917cac4ef63',
  'flat ring disjoint throughput': '6f54700dcc445b70',
  'flat ring best cost': '1309063297f8ba5e',
  'flat ring disjoint cost': '67076c4aed84234a',
  'flat ring plan latency': '9059feed0762b325',
  'flat ring plan throughput': 'dbd53d5d2c1a2154',
  'flat ring plan cost': '188c49ab509d622a',
  'flat ring plan stripe': 'b300648ca00da8e2',
  'flat ring plan redundant throughput': '6cc3d8a7a7ef1afb',
}

describe('pruned searches give the answers unpruned ones gave', () => {
  for (const { name, graph } of MESHES) {
    for (const objective of OBJECTIVES) {
      it(`${name} mesh, ${objective}: k best to any egress, and to one`, () => {
        assert.equal(digest(bestAnswers(graph, objective)), EXPECTED[`${name} best ${objective}`])
      })
      it(`${name} mesh, ${objective}: disjoint paths`, () => {
        assert.equal(digest(disjointAnswers(graph, objective)), EXPECTED[`${name} disjoint ${objective}`])
      })
    }
    const services: readonly [string, Partial<ServiceSpec>][] = [
      ['latency', {}],
      ['throughput', { objective: 'throughput', alternatives: 3 }],
      ['cost', { objective: 'cost' }],
      ['stripe', { multipath: { mode: 'stripe', paths: 2 } }],
      ['redundant throughput', { objective: 'throughput', multipath: { mode: 'redundant', paths: 3 } }],
    ]
    for (const [kind, over] of services) {
      it(`${name} mesh: a plan for a ${kind} service`, () => {
        assert.equal(digest(planAnswers(graph, over)), EXPECTED[`${name} plan ${kind}`])
      })
    }
  }
})
