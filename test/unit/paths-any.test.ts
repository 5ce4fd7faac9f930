import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { compile } from '../../src/scheduler/paths/compiled.ts'
import { buildGraph } from '../../src/scheduler/paths/graph.ts'
import { bestPathsToAny, kBestPaths } from '../../src/scheduler/paths/index.ts'
import { nextStamp, scratchFor } from '../../src/scheduler/paths/scratch.ts'
import type { ComputedPath, Graph, Objective, PathConstraints } from '../../src/scheduler/paths/types.ts'
import { randomGraph, seeded } from './paths-fixtures.ts'

/** What bestPathsToAny promises, computed the long way: every egress's k best, merged. */
function everyEgress(
  g: Graph,
  from: string,
  egresses: readonly string[],
  k: number,
  objective: Objective,
  constraints: PathConstraints = {},
): ComputedPath[] {
  const all = [...new Set(egresses)].flatMap((e) => kBestPaths(g, from, e, k, objective, constraints))
  return all
    .sort(
      (x, y) =>
        x.cost - y.cost || x.nodes.length - y.nodes.length || (x.nodes.join() < y.nodes.join() ? -1 : 1),
    )
    .slice(0, k)
}

const summary = (paths: readonly ComputedPath[]) =>
  paths.map((p) => `${p.nodes.join('>')}@${p.cost.toFixed(6)}`)

describe('bestPathsToAny skips egresses that cannot place', () => {
  it('answers as ranking every egress would, over random meshes and objectives', () => {
    const random = seeded(11)
    for (let round = 0; round < 40; round++) {
      const n = 20 + Math.floor(random() * 60)
      const g = randomGraph(random, n, 4)
      const egresses = Array.from(
        { length: 1 + Math.floor(random() * 6) },
        () => `n${Math.floor(random() * n)}`,
      )
      const from = `n${Math.floor(random() * n)}`
      const k = 1 + Math.floor(random() * 4)
      const objective = (['latency', 'cost', 'throughput'] as const)[round % 3] as Objective
      const constraints = round % 4 === 0 ? { maxHops: 4 } : {}
      const got = bestPathsToAny(g, from, egresses, k, objective, constraints)
      const want = everyEgress(g, from, egresses, k, objective, constraints)
      assert.deepEqual(
        got.map((p) => p.cost),
        want.map((p) => p.cost),
        `round ${round}: ${summary(got)} vs ${summary(want)}`,
      )
      assert.ok(got.every((p) => egresses.includes(p.nodes.at(-1) as string)))
    }
  })

  it('keeps a tie of the last place with the path ranked first by id, as before', () => {
    const nodes = ['A', 'B', 'X', 'Y'].map((id) => ({ id, region: 'r', up: true }))
    const l = (from: string, to: string, rttMs: number) => ({
      from,
      to,
      up: true,
      rttMs,
      jitterMs: 0,
      loss: 0,
      throughputBps: 0,
      costPerGb: 0,
    })
    // A>X and A>Y both cost 10 over one hop: the tie for the one place goes to the smaller id.
    const g = buildGraph(nodes, [l('A', 'Y', 10), l('A', 'X', 10), l('A', 'B', 1), l('B', 'Y', 1)])
    assert.deepEqual(
      bestPathsToAny(g, 'A', ['Y', 'X'], 1, 'latency').map((p) => p.nodes.join('>')),
      ['A>B>Y'],
    )
    const tie = buildGraph(nodes, [l('A', 'Y', 10), l('A', 'X', 10)])
    assert.deepEqual(
      bestPathsToAny(tie, 'A', ['Y', 'X'], 1, 'latency').map((p) => p.nodes.join('>')),
      ['A>X'],
    )
  })
})

describe('search scratch', () => {
  it('is one set of arrays per compiled graph, and clears itself when its stamps run out', () => {
    const g = compile(randomGraph(seeded(3), 10, 3))
    const s = scratchFor(g)
    assert.equal(scratchFor(g), s)
    s.reached[2] = 7
    s.stamp = 0xffff_ffff
    assert.equal(nextStamp(s), 1)
    assert.equal(s.reached[2], 0, 'no old stamp can pass for the new one')
  })
})
