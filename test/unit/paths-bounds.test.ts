import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { clearlyAbove, clearlyWorse, type Rank, widthFloor } from '../../src/scheduler/paths/bound.ts'
import { disjointPaths, disjointPathsToAny } from '../../src/scheduler/paths/disjoint.ts'
import { kBestPaths } from '../../src/scheduler/paths/index.ts'
import {
  type Candidate,
  costFloor,
  makeProblem,
  rankFloor,
  rootOf,
  search,
  toCandidate,
} from '../../src/scheduler/paths/problem.ts'
import type { ComputedPath, Graph, Objective } from '../../src/scheduler/paths/types.ts'
import { firstPath } from '../../src/scheduler/paths/yen.ts'
import { randomGraph, seeded } from './paths-fixtures.ts'

const OBJECTIVES: readonly Objective[] = ['latency', 'throughput', 'cost']

describe('bounds', () => {
  it('prune only by far more than the tie tolerance, in the first weight or tied there in the second', () => {
    assert.equal(clearlyAbove(10.001, 10), true)
    assert.equal(clearlyAbove(10 + 1e-8, 10), false, 'rounding is not worse')
    assert.equal(clearlyAbove(10, 10.001), false)
    const bound: Rank = [10, 5, 3]
    assert.equal(clearlyWorse(11, 0, bound), true)
    assert.equal(clearlyWorse(10, 6, bound), true, 'tied first weight: the second decides')
    assert.equal(clearlyWorse(10 + 1e-12, 6, bound), true, 'a near tie is a tie')
    assert.equal(clearlyWorse(9, 100, bound), false, 'better first weight: the second does not matter')
    assert.equal(clearlyWorse(10, 5, bound), false, 'hops never prune')
  })

  it('never prune on infinities: an unreachable bound or label says nothing', () => {
    assert.equal(clearlyAbove(Number.POSITIVE_INFINITY, 1), false)
    assert.equal(clearlyAbove(1, Number.NEGATIVE_INFINITY), false)
  })

  it('give the throughput objective a capacity floor just below the bound width', () => {
    const floor = widthFloor([-1e8, 0, 0])
    assert.ok(floor < 1e8 && floor > 1e8 * (1 - 1e-5))
    assert.ok(clearlyAbove(-(floor - 1), -1e8), 'narrower than the floor is clearly worse')
    assert.equal(widthFloor([-0, 0, 0]) < 0, true, 'unmeasured links (0) pass a bound of width 0')
  })
})

/** A banned, bounded search answers as the unbounded one did, or nothing when that was clearly worse. */
describe('a bounded search', () => {
  it('finds the unbounded answer unless that ranks clearly worse than the bound', () => {
    const random = seeded(17)
    let pruned = 0
    let kept = 0
    for (let round = 0; round < 240; round++) {
      const g = randomGraph(random, 40, 4, 2)
      const objective = OBJECTIVES[round % 3]!
      const p = makeProblem(g, 'n0', `n${1 + Math.floor(random() * 39)}`, objective, {})
      const first = p && firstPath(p)
      if (!p || !first || first.walk.edges.length < 2) continue
      const i = Math.floor(random() * (first.walk.edges.length - 1))
      const rootEdges = first.walk.edges.slice(0, i)
      const ban = () => {
        p.bannedNodes.fill(0)
        p.bannedEdges.fill(0)
        for (let j = 0; j < i; j++) p.bannedNodes[first.walk.nodes[j]!] = 1
        p.bannedEdges[first.walk.edges[i]!] = 1
      }
      const candidate = (walk: { nodes: readonly number[]; edges: readonly number[] }): Candidate =>
        toCandidate(p, {
          nodes: [...first.walk.nodes.slice(0, i), ...walk.nodes],
          edges: [...rootEdges, ...walk.edges],
        })
      ban()
      const free = search(p, first.walk.nodes[i]!, p.maxHops - i, rootOf(p, rootEdges))
      if (!free) continue
      const want = candidate(free)
      const scale = 0.7 + random() * 0.6
      const bound: Rank = [want.rank[0] * scale, want.rank[1] * (0.7 + random() * 0.6), 0]
      ban()
      const got = search(p, first.walk.nodes[i]!, p.maxHops - i, rootOf(p, rootEdges), bound)
      if (got) {
        assert.deepEqual(candidate(got).path.nodes, want.path.nodes, `round ${round}`)
        kept++
      } else {
        assert.ok(clearlyWorse(want.rank[0], want.rank[1], bound), `round ${round}: pruned a wanted path`)
        pruned++
      }
    }
    assert.ok(pruned > 10 && kept > 10, `pruned ${pruned}, kept ${kept}`)
  })
})

describe('floors', () => {
  it('are never clearly worse than a path of the problem, and no path costs less than the cost floor', () => {
    const random = seeded(23)
    for (let round = 0; round < 60; round++) {
      const g = randomGraph(random, 25, 3, 3)
      const objective = OBJECTIVES[round % 3]!
      const to = `n${1 + Math.floor(random() * 24)}`
      const p = makeProblem(g, 'n0', to, objective, {})
      if (!p) continue
      const floor = rankFloor(p)
      for (const path of kBestPaths(g, 'n0', to, 6, objective)) {
        const c = toCandidate(p, evaluateWalk(g, p, path))
        assert.equal(
          clearlyWorse(floor[0], floor[1], c.rank),
          false,
          `round ${round}: ${path.nodes.join('>')}`,
        )
        assert.ok(path.cost >= costFloor(p) * (1 - 1e-9), `round ${round}: cost below the floor`)
      }
    }
  })
})

function evaluateWalk(g: Graph, p: NonNullable<ReturnType<typeof makeProblem>>, path: ComputedPath) {
  const nodes = path.nodes.map((id) => p.g.index.get(id)!)
  const edges = nodes.slice(1).map((v, i) => {
    const u = nodes[i]!
    for (let e = p.g.offsets[u]!; e < p.g.offsets[u + 1]!; e++) if (p.g.heads[e] === v) return e
    throw new Error(`no link ${g.nodes.size}`)
  })
  return { nodes, edges }
}

/** The rule as first written: every egress's set, the longest, then the cheapest, then the first. */
function everyEgress(
  g: Graph,
  from: string,
  egresses: readonly string[],
  n: number,
  objective: Objective,
): ComputedPath[] {
  let best: ComputedPath[] = []
  for (const egress of new Set(egresses)) {
    const set = disjointPaths(g, from, egress, n, objective)
    const better =
      set.length > best.length ||
      (set.length === best.length && set.length > 0 && set[0]!.cost < best[0]!.cost)
    if (better) best = set
  }
  return best
}

describe('disjointPathsToAny', () => {
  it('picks the set the every-egress rule picks, skipping egresses that can not win', () => {
    const random = seeded(29)
    for (let round = 0; round < 60; round++) {
      const g = randomGraph(random, 30 + Math.floor(random() * 30), 4, 3)
      const egresses = Array.from(
        { length: 2 + Math.floor(random() * 5) },
        () => `n${Math.floor(random() * 30)}`,
      )
      const objective = OBJECTIVES[round % 3]!
      const n = 2 + (round % 2)
      const show = (paths: readonly ComputedPath[]) => paths.map((p) => p.nodes.join('>'))
      assert.deepEqual(
        show(disjointPathsToAny(g, 'n0', egresses, n, objective)),
        show(everyEgress(g, 'n0', egresses, n, objective)),
        `round ${round} ${objective} n=${n} to ${egresses.join(',')}`,
      )
    }
  })

  it('refuses a count below 1 and gives nothing for no reachable egress', () => {
    const g = randomGraph(seeded(3), 10, 3)
    assert.throws(() => disjointPathsToAny(g, 'n0', ['n1'], 0, 'latency'), {
      code: 'DYN_ERR_PATHS_INVALID_ARGUMENT',
    })
    assert.deepEqual(disjointPathsToAny(g, 'n0', ['nowhere'], 2, 'latency'), [])
    assert.deepEqual(
      disjointPathsToAny(g, 'n0', ['n0'], 2, 'latency').map((p) => p.nodes),
      [['n0']],
      'the ingress as its own egress: the one-node path',
    )
  })
})
