import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { buildGraph, KeptGraph, sameGraph } from '../../src/scheduler/mesh-graph.ts'
import { NodeRegistry } from '../../src/scheduler/registry.ts'
import { LinkTable, type LinkView } from '../../src/scheduler/telemetry.ts'
import { linkView } from './paths-fixtures.ts'

const nodes = [
  { id: 'a', region: 'r1', connected: true },
  { id: 'b', region: 'r1', connected: true },
  { id: 'c', region: 'r2', connected: true },
]

const links = [linkView('a', 'b', 5), linkView('a', 'c', 9), linkView('b', 'c', 3)]
const costs = [{ fromRegion: 'r1', toRegion: 'r2', perGb: 0.02 }]

describe('sameGraph', () => {
  it('holds for graphs built from the same nodes and links, whatever the measurement age', () => {
    const again = links.map((l) => ({ ...l, ageMs: 500, activeFlows: 3 }))
    assert.ok(sameGraph(buildGraph(nodes, links, costs), buildGraph(nodes, again, costs)))
  })

  it('fails on any difference a path could see, and on another order', () => {
    const base = buildGraph(nodes, links, costs)
    const variants = [
      buildGraph(nodes, [linkView('a', 'b', 6), ...links.slice(1)], costs),
      buildGraph(nodes, [linkView('a', 'b', 5, { up: false }), ...links.slice(1)], costs),
      buildGraph(nodes, [linkView('a', 'b', 5, { loss: 0.1 }), ...links.slice(1)], costs),
      buildGraph(nodes, [linkView('a', 'b', 5, { jitterMs: 1 }), ...links.slice(1)], costs),
      buildGraph(nodes, [linkView('a', 'b', 5, { throughputBps: 1 }), ...links.slice(1)], costs),
      buildGraph(nodes, links, []),
      buildGraph(nodes, links.slice(0, 2), costs),
      buildGraph(nodes, [links[1], links[0], links[2]] as LinkView[], costs),
      buildGraph([nodes[0], { ...nodes[1], connected: false }, nodes[2]] as typeof nodes, links, costs),
      buildGraph([nodes[1], nodes[0], nodes[2]] as typeof nodes, links, costs),
    ]
    for (const [i, g] of variants.entries()) assert.equal(sameGraph(base, g), false, `variant ${i}`)
  })
})

describe('KeptGraph', () => {
  it('builds nothing while the key holds and nothing went stale; keeps an equal rebuild', () => {
    const kept = new KeptGraph()
    let builds = 0
    const build = (validUntil: number) => () => {
      builds++
      return { graph: buildGraph(nodes, links, costs), validUntil }
    }
    const first = kept.get('1|1', 0, build(100))
    assert.equal(kept.get('1|1', 100, build(100)), first)
    assert.equal(builds, 1)
    assert.equal(kept.get('1|1', 101, build(200)), first, 'rebuilt once a link may be stale, equal: kept')
    assert.equal(kept.get('1|2', 150, build(200)), first)
    assert.equal(builds, 3)
    assert.equal(kept.get(undefined, 150, build(200)), first)
    assert.equal(kept.get(undefined, 150, build(200)), first)
    assert.equal(builds, 5, 'no key: built every time')
    const other = kept.get('2|2', 150, () => ({
      graph: buildGraph(nodes, links.slice(1), costs),
      validUntil: 200,
    }))
    assert.notEqual(other, first)
  })

  it('is keyed by versions that move with what the graph is built from, and only that', () => {
    const registry = new NodeRegistry()
    const table = new LinkTable()
    const hello = {
      id: 'a',
      region: 'r1',
      meshAddress: '',
      listeners: [],
      peers: [],
      capabilities: [],
      softwareVersion: 't',
    }
    const v0 = [registry.version, table.version]
    const session = registry.hello(hello, 0)
    registry.heartbeat('a', session, 1, undefined)
    registry.ack('a', session, { epoch: 1, counter: 1 })
    const v1 = [registry.version, table.version]
    table.record(
      'a',
      [{ peer: 'b', up: true, rttMs: 1, jitterMs: 0, loss: 0, throughputBps: 0, activeFlows: 0 }],
      10,
    )
    const v2 = [registry.version, table.version]
    registry.disconnect('a', session, 20, 'gone')
    table.nodeGone('a')
    const v3 = [registry.version, table.version]
    assert.deepEqual(
      [v0, v1, v2, v3],
      [
        [0, 0],
        [1, 0],
        [1, 1],
        [2, 2],
      ],
    )
  })
})

describe('LinkTable', () => {
  const sample = (peer: string, rttMs: number) => ({
    peer,
    up: true,
    rttMs,
    jitterMs: 0,
    loss: 0,
    throughputBps: 0,
    activeFlows: 0,
  })

  it("replaces a reporter's links with its latest report and marks them when it goes", () => {
    const t = new LinkTable()
    t.record('a', [sample('b', 1), sample('c', 2)], 0)
    t.record('b', [sample('a', 3)], 0)
    t.record('a', [sample('c', 4)], 10)
    assert.deepEqual(
      t.list(10, 1000).map((l) => [l.from, l.to, l.rttMs, l.up]),
      [
        ['a', 'c', 4, true],
        ['b', 'a', 3, true],
      ],
    )
    t.nodeGone('a')
    assert.deepEqual(
      t.list(10, 1000).map((l) => [l.from, l.to, l.up]),
      [
        ['a', 'c', false],
        ['b', 'a', true],
      ],
    )
  })

  it('says until when every fresh link stays fresh', () => {
    const t = new LinkTable()
    assert.equal(t.freshUntil(0, 100), Number.POSITIVE_INFINITY)
    t.record('a', [sample('b', 1)], 0)
    t.record('b', [sample('a', 1)], 50)
    assert.equal(t.freshUntil(60, 100), 100)
    assert.equal(t.list(100, 100)[0]?.stale, false, 'still fresh at that moment')
    assert.equal(t.list(101, 100)[0]?.stale, true)
    assert.equal(t.freshUntil(101, 100), 150, 'a stale link is stale until reported again')
  })
})
