import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parse } from 'yaml'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import {
  egressIds,
  linkCosts,
  nodeId,
  REGIONS,
  regionOf,
  SERVICE_KINDS,
  schedulerYaml,
  serviceDocument,
  syntheticLinks,
  TARGET_BEFORE,
} from '../control-plane/topology.ts'
import {
  ackSummary,
  controlPlaneMetrics,
  kindMetrics,
  nodeCounts,
  plaintext,
} from '../scenarios/control-plane.ts'
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

  it('runs mutual TLS from the given CA, or plaintext when none is given, with room for every node', () => {
    const spec = { grpcPort: 1, apiPort: 2, statePath: '/tmp/s.json', nodes: 2000, egress: ['n00000'] }
    const secure = schedulerConfigFromText(
      schedulerYaml({ ...spec, ca: { cert: 'ca.pem', key: 'ca-key.pem' } }),
    )
    assert.equal(secure.scheduler.insecure, false)
    assert.deepEqual(secure.scheduler.ca, { certFile: 'ca.pem', keyFile: 'ca-key.pem' })
    assert.ok(secure.scheduler.maxStreamsPerAddress > 2000, 'every simulated node comes from one address')
    const plain = schedulerConfigFromText(schedulerYaml(spec))
    assert.equal(plain.scheduler.insecure, true)
    assert.equal(plaintext('1'), true)
    assert.equal(plaintext(undefined), false)
  })
})

describe('what every objective ranks by', () => {
  it('gives links capacities in 10 Mbit/s steps, and regions as arcs of the ring', () => {
    const links = syntheticLinks(500, 8, 42).flat()
    assert.ok(links.every((l) => l.throughputBps >= 1_250_000 && l.throughputBps <= 125_000_000))
    assert.ok(links.every((l) => Number.isInteger(l.throughputBps / 1_250_000)))
    assert.ok(new Set(links.map((l) => l.throughputBps)).size > 50, 'capacities differ')
    assert.deepEqual(
      [0, 62, 63, 499].map((i) => regionOf(i, 500)),
      ['r0', 'r0', 'r1', `r${REGIONS - 1}`],
    )
  })

  it('keeps the peers and RTTs a seed gave before links had capacities', () => {
    const peersAndRtts = syntheticLinks(50, 8, 42).map((own) => own.map((l) => `${l.peer}@${l.rttMs}`))
    assert.equal(
      peersAndRtts[0]?.join(),
      'n00001@9,n00049@27,n00002@14,n00048@32,n00030@44,n00022@24,n00042@13,n00033@45',
    )
  })

  it('prices every pair of distinct regions, in a scheduler file that loads', () => {
    const costs = linkCosts(42)
    assert.equal(costs.length, REGIONS * (REGIONS - 1))
    assert.ok(costs.every((c) => c.from_region !== c.to_region && c.per_gb >= 0.01 && c.per_gb <= 0.1))
    const config = schedulerConfigFromText(
      schedulerYaml({
        grpcPort: 1,
        apiPort: 2,
        statePath: '/tmp/s.json',
        nodes: 20,
        egress: ['n00000'],
        seed: 42,
      }),
    )
    assert.equal(config.scheduler.linkCosts.length, costs.length)
  })

  it('switches the service to each kind with targets of its own, and measures both steps of each', () => {
    const targets = SERVICE_KINDS.flatMap((k) => [k.switchTarget, k.changeTarget])
    assert.equal(new Set([...targets, TARGET_BEFORE]).size, targets.length + 1)
    const doc = serviceDocument(2, ['n00000'], 'h:1', { multipath: { mode: 'stripe', paths: 2 } })
    assert.deepEqual(doc.multipath, { mode: 'stripe', paths: 2 })
    assert.deepEqual(
      kindMetrics([2000])
        .map((m) => m.key)
        .slice(0, 4),
      [
        'cost_switch_ack_p99_ms_2000',
        'cost_switch_recompute_ms_2000',
        'cost_change_ack_p99_ms_2000',
        'cost_change_recompute_ms_2000',
      ],
    )
    assert.equal(kindMetrics([500, 2000]).length, 2 * SERVICE_KINDS.length * 4)
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
