import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parse } from 'yaml'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import {
  egressIds,
  nodeId,
  schedulerYaml,
  serviceDocument,
  syntheticLinks,
  TARGET_BEFORE,
} from '../control-plane/topology.ts'
import { ackSummary, controlPlaneMetrics, nodeCounts } from '../scenarios/control-plane.ts'
import { percentile } from '../stats.ts'
import { settingsFixture } from './fixtures.ts'

/** Nodes reachable from node 0 over the links as given. */
function reachable(links: ReturnType<typeof syntheticLinks>): number {
  const index = new Map(links.map((_, i) => [nodeId(i), i]))
  const seen = new Set([0])
  const todo = [0]
  while (todo.length > 0) {
    for (const l of links[todo.pop() as number] ?? []) {
      const j = index.get(l.peer) as number
      if (!seen.has(j)) {
        seen.add(j)
        todo.push(j)
      }
    }
  }
  return seen.size
}

describe('synthetic topology', () => {
  it('gives every node 8 distinct links to other nodes, RTT 1–50 ms, connected', () => {
    const links = syntheticLinks(500, 8, 42)
    assert.equal(links.length, 500)
    links.forEach((own, i) => {
      assert.equal(own.length, 8, `node ${i}`)
      assert.equal(new Set(own.map((l) => l.peer)).size, 8)
      assert.ok(own.every((l) => l.peer !== nodeId(i) && l.rttMs >= 1 && l.rttMs <= 50))
    })
    assert.equal(reachable(links), 500)
  })

  it('is the same for the same seed, different for another', () => {
    assert.deepEqual(syntheticLinks(100, 8, 1), syntheticLinks(100, 8, 1))
    assert.notDeepEqual(syntheticLinks(100, 8, 1), syntheticLinks(100, 8, 2))
  })

  it('links every other node when there are fewer than the degree', () => {
    assert.deepEqual(
      syntheticLinks(3, 8, 1).map((own) => own.map((l) => l.peer).sort()),
      [
        ['n00001', 'n00002'],
        ['n00000', 'n00002'],
        ['n00000', 'n00001'],
      ],
    )
  })

  it('spreads egress nodes evenly and never asks for more than there are', () => {
    assert.deepEqual(egressIds(100, 4), ['n00000', 'n00025', 'n00050', 'n00075'])
    assert.deepEqual(egressIds(2, 10), ['n00000', 'n00001'])
  })

  it('makes every node an ingress of the service, in a scheduler file that parses', () => {
    const doc = parse(
      schedulerYaml({ grpcPort: 1, apiPort: 2, statePath: '/tmp/s.json', nodes: 3, egress: ['n00000'] }),
    )
    assert.equal(doc.scheduler.listen, '127.0.0.1:1')
    assert.equal(doc.scheduler.report_interval, '1h')
    assert.deepEqual(doc.services, [serviceDocument(3, ['n00000'], TARGET_BEFORE)])
    assert.deepEqual(doc.services[0].ingress[2], { node: 'n00002', listener: 'in' })
  })

  it('loads with the scheduler config loader', () => {
    const config = schedulerConfigFromText(
      schedulerYaml({
        grpcPort: 1,
        apiPort: 2,
        statePath: '/tmp/s.json',
        nodes: 20,
        egress: egressIds(20, 2),
      }),
    )
    assert.equal(config.scheduler.reportIntervalMs, 3_600_000)
    assert.equal(config.services[0]?.ingress.length, 20)
    assert.deepEqual(config.services[0]?.egress, ['n00000', 'n00010'])
  })
})

describe('control-plane summary', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 200 }, (_, i) => i + 1)
    assert.equal(percentile(values, 50), 100)
    assert.equal(percentile(values, 99), 198)
    assert.equal(percentile(values, 100), 200)
    assert.equal(percentile([7], 99), 7)
    assert.equal(percentile([], 50), undefined)
  })

  it('summarises ACK latencies whatever their order', () => {
    assert.deepEqual(ackSummary([30, 10, 20, 40]), { p50: 20, p99: 40, max: 40 })
  })

  it('has one column group per node count: 100 in quick mode, 500 and 2,000 otherwise', () => {
    assert.deepEqual(nodeCounts({ ...settingsFixture, quick: true }, undefined), [100])
    const metrics = controlPlaneMetrics(nodeCounts(settingsFixture, undefined))
    assert.deepEqual(
      metrics.map((m) => m.key),
      [
        'ack_p50_ms_500',
        'ack_p99_ms_500',
        'ack_max_ms_500',
        'recompute_ms_500',
        'ack_p50_ms_2000',
        'ack_p99_ms_2000',
        'ack_max_ms_2000',
        'recompute_ms_2000',
      ],
    )
    assert.ok(metrics.every((m) => m.better === 'lower'))
  })

  it('takes the node counts from DYNPROXY_BENCH_NODES when given, and refuses nonsense', () => {
    assert.deepEqual(nodeCounts(settingsFixture, '2000'), [2000])
    assert.deepEqual(nodeCounts({ ...settingsFixture, quick: true }, '500, 2000'), [500, 2000])
    assert.deepEqual(nodeCounts(settingsFixture, ''), [500, 2000])
    assert.throws(() => nodeCounts(settingsFixture, '500,lots'), { code: 'DYN_ERR_BENCH_ARGUMENT' })
    assert.throws(() => nodeCounts(settingsFixture, '1'), { code: 'DYN_ERR_BENCH_ARGUMENT' })
  })
})
