import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LOSS_PENALTY_MS, latencyWeight } from '../../src/scheduler/paths/edge-costs.ts'
import { buildGraph } from '../../src/scheduler/paths/graph.ts'
import { evaluatePath } from '../../src/scheduler/paths/index.ts'
import { graphOf, link } from './paths-fixtures.ts'

const node = (id: string) => ({ id, region: 'eu', up: true })

describe('buildGraph', () => {
  it('indexes outgoing links by node and leaves out links to unknown nodes', () => {
    const g = buildGraph(
      [node('a'), node('b')],
      [link('a', 'b', 5), link('a', 'ghost', 1), link('b', 'a', 6)],
    )
    assert.deepEqual(
      g.links.get('a')?.map((l) => l.to),
      ['b'],
    )
    assert.equal(g.links.get('b')?.[0]?.rttMs, 6)
    assert.equal(g.nodes.size, 2)
  })

  it('rejects a node listed twice', () => {
    assert.throws(() => buildGraph([node('a'), node('a')], []), {
      code: 'DYN_ERR_PATHS_INVALID_GRAPH',
      message: /node "a" is listed twice/,
    })
  })

  it('rejects a link listed twice and a self-loop', () => {
    assert.throws(() => buildGraph([node('a'), node('b')], [link('a', 'b', 1), link('a', 'b', 2)]), {
      code: 'DYN_ERR_PATHS_INVALID_GRAPH',
      message: /link "a"→"b" is listed twice/,
    })
    assert.throws(() => buildGraph([node('a')], [link('a', 'a', 1)]), { message: /self-loop/ })
  })

  for (const [field, value] of [
    ['rttMs', -1],
    ['jitterMs', Number.NaN],
    ['throughputBps', Number.POSITIVE_INFINITY],
    ['costPerGb', -0.5],
    ['loss', 1.5],
    ['loss', -0.1],
  ] as const) {
    it(`rejects ${field}=${value}`, () => {
      assert.throws(() => buildGraph([node('a'), node('b')], [link('a', 'b', { [field]: value })]), {
        code: 'DYN_ERR_PATHS_INVALID_GRAPH',
        message: new RegExp(`${field}=`),
      })
    })
  }
})

describe('latencyWeight', () => {
  it('is the RTT on a clean link', () => {
    assert.equal(latencyWeight(link('a', 'b', 42)), 42)
  })

  it('adds half the jitter', () => {
    assert.equal(latencyWeight(link('a', 'b', { rttMs: 10, jitterMs: 4 })), 12)
  })

  it('adds p/(1−p) retransmissions of one RTT plus the minimum RTO', () => {
    const w = latencyWeight(link('a', 'b', { rttMs: 20, loss: 0.2 }))
    assert.equal(w, 20 + 0.25 * (20 + LOSS_PENALTY_MS))
  })
})

describe('evaluatePath', () => {
  const g = graphOf({ a: 'eu', b: 'us', c: 'eu' }, [
    ['a', 'b', 10],
    ['b', 'c', 15],
    ['a', 'c', { rttMs: 5, up: false }],
  ])

  it('measures a working path now', () => {
    const p = evaluatePath(g, ['a', 'b', 'c'], 'latency')
    assert.deepEqual(p?.nodes, ['a', 'b', 'c'])
    assert.equal(p?.cost, 25)
    assert.equal(p?.metrics.rttMs, 25)
  })

  it('gives undefined for a down link, a missing node, a loop or a broken constraint', () => {
    assert.equal(evaluatePath(g, ['a', 'c'], 'latency'), undefined)
    assert.equal(evaluatePath(g, ['a', 'x', 'c'], 'latency'), undefined)
    assert.equal(evaluatePath(g, ['a', 'b', 'a'], 'latency'), undefined)
    assert.equal(evaluatePath(g, ['a', 'b', 'c'], 'latency', { avoidRegions: ['us'] }), undefined)
    assert.equal(evaluatePath(g, ['a', 'b', 'c'], 'latency', { maxHops: 1 }), undefined)
    assert.equal(evaluatePath(g, [], 'latency'), undefined)
  })
})
