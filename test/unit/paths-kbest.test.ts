import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { bestPathsToAny, evaluatePath, kBestPaths } from '../../src/scheduler/paths/index.ts'
import type { ComputedPath, Graph, Objective, PathConstraints } from '../../src/scheduler/paths/types.ts'
import { graphOf, randomGraph, seeded } from './paths-fixtures.ts'

const nodesOf = (paths: readonly ComputedPath[]) => paths.map((p) => p.nodes.join('>'))

describe('kBestPaths: latency', () => {
  const regions = { A: 'eu', B: 'eu', C: 'eu' }

  it('relays through B when A→B→C (10+10) beats A→C (80)', () => {
    const g = graphOf(regions, [
      ['A', 'C', 80],
      ['A', 'B', 10],
      ['B', 'C', 10],
    ])
    const [best, second] = kBestPaths(g, 'A', 'C', 2, 'latency')
    assert.deepEqual(best?.nodes, ['A', 'B', 'C'])
    assert.equal(best?.cost, 20)
    assert.equal(best?.metrics.rttMs, 20)
    assert.deepEqual(second?.nodes, ['A', 'C'])
  })

  it('goes direct when the direct link is the faster one', () => {
    const g = graphOf(regions, [
      ['A', 'C', 15],
      ['A', 'B', 10],
      ['B', 'C', 10],
    ])
    assert.deepEqual(nodesOf(kBestPaths(g, 'A', 'C', 3, 'latency')), ['A>C', 'A>B>C'])
  })

  it('lets loss make a short link worse than a longer clean path', () => {
    const g = graphOf(regions, [
      ['A', 'C', { rttMs: 18, loss: 0.05 }],
      ['A', 'B', 12],
      ['B', 'C', 12],
    ])
    const [best] = kBestPaths(g, 'A', 'C', 1, 'latency')
    assert.deepEqual(best?.nodes, ['A', 'B', 'C'])
    const direct = evaluatePath(g, ['A', 'C'], 'latency')
    assert.ok(direct && direct.cost > 24, `direct weight ${direct?.cost}`)
    assert.ok(Math.abs((direct?.metrics.loss ?? 0) - 0.05) < 1e-12)
  })

  it('counts jitter in the weight', () => {
    const g = graphOf(regions, [
      ['A', 'C', { rttMs: 20, jitterMs: 30 }],
      ['A', 'B', 12],
      ['B', 'C', 12],
    ])
    assert.deepEqual(kBestPaths(g, 'A', 'C', 1, 'latency')[0]?.nodes, ['A', 'B', 'C'])
  })

  it('gives the one-node path when the ingress is the egress', () => {
    const g = graphOf(regions, [['A', 'B', 10]])
    const paths = kBestPaths(g, 'A', 'A', 3, 'latency')
    assert.equal(paths.length, 1)
    assert.deepEqual(paths[0]?.nodes, ['A'])
    assert.equal(paths[0]?.cost, 0)
  })

  it('excludes down links and down nodes', () => {
    const g = graphOf(
      { A: 'eu', B: 'eu', C: 'eu', D: 'eu' },
      [
        ['A', 'B', 1],
        ['B', 'D', 1],
        ['A', 'C', 5],
        ['C', 'D', 5],
        ['A', 'D', { rttMs: 2, up: false }],
      ],
      { down: ['B'] },
    )
    assert.deepEqual(nodesOf(kBestPaths(g, 'A', 'D', 5, 'latency')), ['A>C>D'])
    assert.deepEqual(kBestPaths(g, 'A', 'B', 5, 'latency'), [])
    assert.deepEqual(kBestPaths(g, 'B', 'B', 5, 'latency'), [])
  })

  it('treats a link losing every probe as down', () => {
    const g = graphOf(regions, [
      ['A', 'C', { rttMs: 1, loss: 1 }],
      ['A', 'B', 50],
      ['B', 'C', 50],
    ])
    assert.deepEqual(nodesOf(kBestPaths(g, 'A', 'C', 3, 'latency')), ['A>B>C'])
  })

  it('follows links in their measured direction only', () => {
    const g = graphOf(regions, [['A', 'B', 1]], { oneWay: true })
    assert.equal(kBestPaths(g, 'A', 'B', 1, 'latency').length, 1)
    assert.deepEqual(kBestPaths(g, 'B', 'A', 1, 'latency'), [])
  })

  it('gives nothing for unknown nodes and rejects a bad k', () => {
    const g = graphOf(regions, [['A', 'B', 1]])
    assert.deepEqual(kBestPaths(g, 'A', 'Z', 1, 'latency'), [])
    assert.throws(() => kBestPaths(g, 'A', 'B', 0, 'latency'), { code: 'DYN_ERR_PATHS_INVALID_ARGUMENT' })
    assert.throws(() => kBestPaths(g, 'A', 'B', 1.5, 'latency'), { message: /k=1.5/ })
    assert.throws(() => kBestPaths(g, 'A', 'B', 1, 'latency', { maxHops: -1 }), { message: /maxHops=-1/ })
  })
})

describe('kBestPaths: throughput and cost', () => {
  const regions = { A: 'eu', B: 'eu', C: 'eu', D: 'eu' }

  it('throughput picks the widest path even when it is slower', () => {
    const g = graphOf(regions, [
      ['A', 'B', { rttMs: 5, throughputBps: 10e6 }],
      ['B', 'D', { rttMs: 5, throughputBps: 500e6 }],
      ['A', 'C', { rttMs: 40, throughputBps: 200e6 }],
      ['C', 'D', { rttMs: 40, throughputBps: 300e6 }],
    ])
    const [best, second] = kBestPaths(g, 'A', 'D', 2, 'throughput')
    assert.deepEqual(best?.nodes, ['A', 'C', 'D'])
    assert.equal(best?.metrics.bottleneckBps, 200e6)
    assert.equal(best?.cost, 1e9 / 200e6)
    assert.deepEqual(second?.nodes, ['A', 'B', 'D'])
    assert.deepEqual(kBestPaths(g, 'A', 'D', 1, 'latency')[0]?.nodes, ['A', 'B', 'D'])
  })

  it('throughput breaks bottleneck ties by latency, through a narrow root', () => {
    // Both ways share the 100 MB/s first link, so the lower latency wins, not the wider tail.
    const g = graphOf({ ...regions, E: 'eu' }, [
      ['A', 'B', { rttMs: 1, throughputBps: 100e6 }],
      ['B', 'C', { rttMs: 30, throughputBps: 900e6 }],
      ['C', 'E', { rttMs: 30, throughputBps: 900e6 }],
      ['B', 'D', { rttMs: 5, throughputBps: 150e6 }],
      ['D', 'E', { rttMs: 5, throughputBps: 150e6 }],
    ])
    assert.deepEqual(kBestPaths(g, 'A', 'E', 1, 'throughput')[0]?.nodes, ['A', 'B', 'D', 'E'])
  })

  it('cost picks the cheapest path, ties broken by latency', () => {
    const g = graphOf(regions, [
      ['A', 'B', { rttMs: 5, costPerGb: 0.09 }],
      ['B', 'D', { rttMs: 5, costPerGb: 0.09 }],
      ['A', 'C', { rttMs: 60, costPerGb: 0.01 }],
      ['C', 'D', { rttMs: 60, costPerGb: 0.02 }],
      ['A', 'D', { rttMs: 300, costPerGb: 0.03 }],
    ])
    const paths = kBestPaths(g, 'A', 'D', 3, 'cost')
    assert.deepEqual(nodesOf(paths), ['A>C>D', 'A>D', 'A>B>D'])
    assert.ok(Math.abs((paths[0]?.cost ?? 0) - 0.03) < 1e-12)
  })
})

describe('kBestPaths: constraints', () => {
  const g = graphOf({ A: 'eu', B: 'us', C: 'asia', D: 'eu', E: 'eu' }, [
    ['A', 'B', 5],
    ['B', 'E', 5],
    ['A', 'C', 10],
    ['C', 'E', 10],
    ['A', 'D', 20],
    ['D', 'E', 20],
    ['A', 'E', 100],
  ])
  const best = (c: PathConstraints) => nodesOf(kBestPaths(g, 'A', 'E', 5, 'latency', c))

  it('avoidRegions drops relays in those regions', () => {
    assert.deepEqual(best({ avoidRegions: ['us', 'asia'] }), ['A>D>E', 'A>E'])
  })

  it('avoidRegions covering an end leaves no path', () => {
    assert.deepEqual(best({ avoidRegions: ['eu'] }), [])
  })

  it('requireRegions restricts relays only', () => {
    assert.deepEqual(best({ requireRegions: ['asia'] }), ['A>C>E', 'A>E'])
  })

  it('maxHops bounds the number of links', () => {
    assert.deepEqual(best({ maxHops: 1 }), ['A>E'])
    assert.deepEqual(nodesOf(kBestPaths(g, 'A', 'E', 1, 'latency', { maxHops: 0 })), [])
  })

  it('avoidNodes drops those nodes', () => {
    assert.deepEqual(best({ avoidNodes: ['B', 'D'] }), ['A>C>E', 'A>E'])
  })

  it('maxHops finds the best short path where the best path is too long', () => {
    const chain = graphOf({ A: 'x', B: 'x', C: 'x', D: 'x', E: 'x' }, [
      ['A', 'B', 1],
      ['B', 'C', 1],
      ['C', 'D', 1],
      ['D', 'E', 1],
      ['A', 'C', 10],
      ['C', 'E', 10],
      ['A', 'E', 50],
    ])
    assert.deepEqual(nodesOf(kBestPaths(chain, 'A', 'E', 3, 'latency', { maxHops: 3 })), [
      'A>B>C>E',
      'A>C>D>E',
      'A>C>E',
    ])
    assert.deepEqual(nodesOf(kBestPaths(chain, 'A', 'E', 1, 'latency', { maxHops: 2 })), ['A>C>E'])
  })
})

describe('bestPathsToAny', () => {
  it('merges the best paths to each egress', () => {
    const g = graphOf({ A: 'eu', B: 'eu', X: 'us', Y: 'asia' }, [
      ['A', 'X', 30],
      ['A', 'B', 5],
      ['B', 'Y', 5],
      ['A', 'Y', 25],
    ])
    assert.deepEqual(nodesOf(bestPathsToAny(g, 'A', ['X', 'Y', 'Y'], 3, 'latency')), ['A>B>Y', 'A>Y', 'A>X'])
    assert.deepEqual(nodesOf(bestPathsToAny(g, 'A', ['X', 'A'], 2, 'throughput')), ['A', 'A>X'])
    assert.deepEqual(bestPathsToAny(g, 'A', [], 2, 'latency'), [])
  })
})

/** Every loopless path obeying the constraints, found by plain depth-first search. */
function allPaths(g: Graph, from: string, to: string, c: PathConstraints): string[][] {
  const okNode = (id: string, relay: boolean) => {
    const n = g.nodes.get(id)
    if (!n?.up || c.avoidRegions?.includes(n.region) || c.avoidNodes?.includes(id)) return false
    return !relay || !c.requireRegions?.length || c.requireRegions.includes(n.region)
  }
  const out: string[][] = []
  const walk = (path: string[]) => {
    const at = path[path.length - 1]!
    if (at === to) {
      out.push([...path])
      return
    }
    if (path.length - 1 >= (c.maxHops ?? Number.POSITIVE_INFINITY)) return
    if (path.length > 1 && !okNode(at, true)) return
    for (const l of g.links.get(at) ?? []) {
      if (!l.up || l.loss >= 1 || path.includes(l.to) || !okNode(l.to, l.to !== to)) continue
      walk([...path, l.to])
    }
  }
  if (okNode(from, false) && okNode(to, false)) walk([from])
  return out
}

function rank(g: Graph, nodes: readonly string[], objective: Objective): number[] {
  const p = evaluatePath(g, nodes, objective)!
  const latency = evaluatePath(g, nodes, 'latency')!.cost
  const hops = nodes.length - 1
  if (objective === 'latency') return [latency, hops]
  if (objective === 'cost') return [p.metrics.costPerGb, latency, hops]
  return [-p.metrics.bottleneckBps, latency, hops]
}

function compareRank(x: number[], y: number[]): number {
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!
    const b = y[i]!
    if (Math.abs(a - b) > 1e-9 * Math.max(1, Math.abs(a), Math.abs(b))) return a - b
  }
  return 0
}

describe('kBestPaths against brute force', () => {
  const objectives: Objective[] = ['latency', 'throughput', 'cost']
  const constraintSets: PathConstraints[] = [
    {},
    { maxHops: 3 },
    { avoidRegions: ['r2'] },
    { requireRegions: ['r0', 'r1'] },
  ]

  it('returns k distinct loopless paths in brute-force order on random small graphs', () => {
    let compared = 0
    for (let seed = 1; seed <= 300; seed++) {
      const random = seeded(seed)
      const g = randomGraph(random, 5 + Math.floor(random() * 5), 3)
      const from = `n${Math.floor(random() * g.nodes.size)}`
      const to = `n${Math.floor(random() * g.nodes.size)}`
      if (from === to) continue
      const objective = objectives[seed % 3]!
      const constraints = constraintSets[Math.floor(seed / 3) % constraintSets.length]!
      const k = 1 + (seed % 6)
      const expected = allPaths(g, from, to, constraints)
        .map((nodes) => rank(g, nodes, objective))
        .sort(compareRank)
        .slice(0, k)
      const got = kBestPaths(g, from, to, k, objective, constraints)
      const context = `seed ${seed} ${objective} ${JSON.stringify(constraints)} ${from}→${to} k=${k}`
      assert.equal(got.length, expected.length, context)
      assert.equal(new Set(got.map((p) => p.nodes.join('>'))).size, got.length, `duplicates: ${context}`)
      got.forEach((p, i) => {
        assert.equal(new Set(p.nodes).size, p.nodes.length, `loop: ${context}`)
        assert.equal(compareRank(rank(g, p.nodes, objective), expected[i]!), 0, `rank ${i}: ${context}`)
      })
      compared += got.length
    }
    assert.ok(compared > 300, `compared ${compared} paths`)
  })
})

describe('kBestPaths performance', () => {
  it('computes k=3 on 2,000 nodes × 8 links (figure printed, not asserted)', () => {
    const g = randomGraph(seeded(7), 2000, 8)
    const pairs = Array.from({ length: 20 }, (_, i) => [`n${i}`, `n${1999 - i * 37}`] as const)
    kBestPaths(g, 'n0', 'n1', 3, 'latency')
    for (const objective of ['latency', 'throughput', 'cost'] as const) {
      const started = performance.now()
      let found = 0
      for (const [from, to] of pairs) found += kBestPaths(g, from, to, 3, objective).length
      const perPair = (performance.now() - started) / pairs.length
      console.log(`# ${objective}: k=3 on 2000 nodes: ${perPair.toFixed(2)} ms per pair`)
      assert.equal(found, pairs.length * 3)
    }
  })
})
