import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { disjointPaths } from '../../src/scheduler/paths/index.ts'
import type { ComputedPath } from '../../src/scheduler/paths/types.ts'
import { graphOf, randomGraph, seeded } from './paths-fixtures.ts'

const nodesOf = (paths: readonly ComputedPath[]) => paths.map((p) => p.nodes.join('>'))

function assertDisjoint(paths: readonly ComputedPath[], context = ''): void {
  const relays = new Set<string>()
  const links = new Set<string>()
  for (const p of paths) {
    for (const id of p.nodes.slice(1, -1)) {
      assert.ok(!relays.has(id), `relay ${id} shared ${context}`)
      relays.add(id)
    }
    for (let i = 1; i < p.nodes.length; i++) {
      const key = `${p.nodes[i - 1]}>${p.nodes[i]}`
      assert.ok(!links.has(key), `link ${key} shared ${context}`)
      links.add(key)
    }
  }
}

describe('disjointPaths', () => {
  const regions = { S: 'eu', A: 'eu', B: 'eu', C: 'eu', T: 'eu' }

  it('returns paths sharing no relay, best first', () => {
    const g = graphOf(regions, [
      ['S', 'A', 5],
      ['A', 'T', 5],
      ['S', 'B', 10],
      ['B', 'T', 10],
      ['A', 'B', 1],
      ['S', 'C', 30],
      ['C', 'T', 30],
    ])
    const paths = disjointPaths(g, 'S', 'T', 3, 'latency')
    assert.deepEqual(nodesOf(paths), ['S>A>T', 'S>B>T', 'S>C>T'])
    assertDisjoint(paths)
  })

  it('uses the direct link once at most', () => {
    const g = graphOf(regions, [
      ['S', 'T', 5],
      ['S', 'A', 5],
      ['A', 'T', 5],
    ])
    const paths = disjointPaths(g, 'S', 'T', 4, 'latency')
    assert.deepEqual(nodesOf(paths), ['S>T', 'S>A>T'])
  })

  it('finds two disjoint paths where greedy would be trapped by the best path', () => {
    // The best path S>A>B>T uses A and B, which each of the two disjoint ways needs one of.
    const g = graphOf(
      regions,
      [
        ['S', 'A', 1],
        ['A', 'B', 1],
        ['B', 'T', 1],
        ['S', 'C', 5],
        ['C', 'B', 5],
        ['A', 'T', 10],
      ],
      { oneWay: true },
    )
    const paths = disjointPaths(g, 'S', 'T', 2, 'latency')
    assert.deepEqual(nodesOf(paths), ['S>A>T', 'S>C>B>T'])
    assertDisjoint(paths)
  })

  it('gives fewer than n when the graph has fewer disjoint ways, and honours constraints', () => {
    const g = graphOf({ ...regions, D: 'us' }, [
      ['S', 'A', 5],
      ['A', 'T', 5],
      ['S', 'D', 1],
      ['D', 'T', 1],
    ])
    assert.deepEqual(nodesOf(disjointPaths(g, 'S', 'T', 3, 'latency')), ['S>D>T', 'S>A>T'])
    assert.deepEqual(nodesOf(disjointPaths(g, 'S', 'T', 3, 'latency', { avoidRegions: ['us'] })), ['S>A>T'])
    assert.deepEqual(nodesOf(disjointPaths(g, 'S', 'S', 3, 'latency')), ['S'])
    assert.deepEqual(disjointPaths(g, 'S', 'nowhere', 3, 'latency'), [])
    assert.throws(() => disjointPaths(g, 'S', 'T', 0, 'latency'), { code: 'DYN_ERR_PATHS_INVALID_ARGUMENT' })
  })

  it('never shares a relay or link on random graphs, for every objective', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const random = seeded(seed)
      const g = randomGraph(random, 12, 4)
      const objective = (['latency', 'throughput', 'cost'] as const)[seed % 3]!
      const paths = disjointPaths(g, 'n0', 'n1', 3, objective)
      assertDisjoint(paths, `seed ${seed}`)
      for (const p of paths) assert.deepEqual([p.nodes[0], p.nodes.at(-1)], ['n0', 'n1'])
    }
  })
})
