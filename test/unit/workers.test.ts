import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { loadConfigText } from '../../src/config/index.ts'
import type { ListenerStatus, NodeStats, PeerStatus, RouteStatus } from '../../src/views/node-view.ts'
import {
  mergeCounters,
  mergeListeners,
  mergePeers,
  mergeRoutes,
  retire,
  sumHistograms,
} from '../../src/workers/aggregate.ts'
import { workerCount } from '../../src/workers/count.ts'
import { type FromWorker, isFromWorker, isToWorker, type WorkerSnapshot } from '../../src/workers/messages.ts'
import { PrimaryNonces } from '../../src/workers/nonces.ts'
import { deathsAfter, respawnDelayMs, STABLE_AFTER_MS } from '../../src/workers/respawn.ts'
import { workerConfig, workerShare } from '../../src/workers/worker-config.ts'

const YAML = `common: { node_id: n, workers: 3 }
listeners:
  - { name: web, bind: "127.0.0.1:0", max_connections: 1000 }
  - { name: db, bind: "[::1]:5432", max_connections: 10 }
routes:
  - { name: web, match: { listener: web }, target: "127.0.0.1:80" }
scheduler: { address: "127.0.0.1:7000" }
mesh: { bind: "127.0.0.1:0", token: "0123456789abcdef0123" }
`

describe('workerCount', () => {
  it("'auto' is one worker per core, at least one", () => {
    assert.equal(workerCount('auto', 8), 8)
    assert.equal(workerCount('auto', 0), 1)
    assert.equal(workerCount(3, 8), 3)
  })
})

describe('the config a worker runs', () => {
  const config = loadConfigText(YAML)

  it('has no scheduler section: the primary holds the one session of the node', () => {
    const worker = workerConfig(config, 3, undefined)
    assert.equal(worker.scheduler, undefined)
    assert.equal(worker.common.workers, 1)
    assert.deepEqual(worker.routes, config.routes)
  })

  it("gives each worker its part of each listener's max_connections, with room for the kernel's uneven spread", () => {
    const worker = workerConfig(config, 3, undefined)
    assert.deepEqual(
      worker.listeners.map((l) => l.maxConnections),
      [379, 8],
    )
    assert.equal(workerShare(10_000, 2), 5150)
    assert.equal(workerShare(10_000, 1), 10_000)
    assert.equal(workerShare(2, 2), 2, 'never above the whole')
  })

  it("gives each worker its part of the mesh port's limits on unauthenticated connections", () => {
    const worker = workerConfig(config, 3, undefined)
    assert.equal(worker.mesh?.maxUnauthenticated, workerShare(1024, 3))
    assert.equal(worker.mesh?.maxUnauthenticatedPerSource, workerShare(64, 3))
    assert.ok(workerShare(1024, 3) < 1024 && workerShare(64, 3) < 64)
  })

  it('keeps a node from refusing below its limit when the kernel spreads connections by hash', () => {
    let seed = 11
    const coin = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return seed / 2 ** 31 < 0.5
    }
    const share = workerShare(10_000, 2)
    let refusedEarly = 0
    for (let fill = 0; fill < 200; fill++) {
      let first = 0
      for (let i = 0; i < 10_000; i++) if (coin()) first++
      if (first > share || 10_000 - first > share) refusedEarly++
    }
    assert.ok(refusedEarly <= 2, `${refusedEarly} of 200 fills refused below the limit`)
  })

  it('binds the ports the first worker bound, so that port 0 is one port for all', () => {
    const worker = workerConfig(config, 3, { listeners: { web: 41000 }, mesh: 42000 })
    assert.deepEqual(
      worker.listeners.map((l) => l.bind),
      [
        { host: '127.0.0.1', port: 41000 },
        { host: '::1', port: 5432 },
      ],
    )
    assert.equal(worker.mesh?.bind.port, 42000)
  })
})

describe("a worker's mesh nonces, remembered by its primary", () => {
  it('asks the primary about the nonces of one event-loop turn in one message, and takes its verdicts', async () => {
    const sent: FromWorker[] = []
    const nonces = new PrimaryNonces((m) => sent.push(m))
    const first = nonces.remember(Buffer.from('00ff', 'hex'), 1234)
    const second = nonces.remember(Buffer.from('0102', 'hex'), 5678)
    assert.deepEqual(sent, [], 'asked once the turn is over')
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(sent, [
      { type: 'remember-nonces', firstId: 0, nonces: ['00ff', '0102'], expiresAtMs: [1234, 5678] },
    ])
    const third = nonces.remember(Buffer.from('03', 'hex'), 9)
    await new Promise((resolve) => setImmediate(resolve))
    assert.deepEqual(sent[1], { type: 'remember-nonces', firstId: 2, nonces: ['03'], expiresAtMs: [9] })
    nonces.answered(2, ['fresh'])
    nonces.answered(0, ['fresh', 'replayed'])
    assert.deepEqual(await Promise.all([first, second, third]), ['fresh', 'replayed', 'fresh'])
  })

  it('calls no nonce new once the primary is gone, nor while 10,000 questions are unanswered', async () => {
    const nonces = new PrimaryNonces(() => {})
    const asked = Array.from({ length: 10_000 }, (_, i) => nonces.remember(Buffer.from([i & 0xff]), 1))
    assert.equal(await nonces.remember(Buffer.from('ff', 'hex'), 1), 'full')
    nonces.abandon()
    assert.deepEqual(new Set(await Promise.all(asked)), new Set(['full']))
  })
})

describe('respawning a dead worker', () => {
  it('waits 0.5 s, doubling with each death in a row, up to 30 s', () => {
    assert.deepEqual(
      [1, 2, 3, 4, 7, 8, 50].map(respawnDelayMs),
      [500, 1000, 2000, 4000, 30_000, 30_000, 30_000],
    )
  })

  it('counts deaths in a row until a worker has lived long enough', () => {
    assert.equal(deathsAfter(3, 1000), 4)
    assert.equal(deathsAfter(3, undefined), 4, 'died before it started')
    assert.equal(deathsAfter(3, STABLE_AFTER_MS), 1)
  })
})

describe('IPC messages', () => {
  it('accepts only the types each side sends', () => {
    assert.equal(isFromWorker({ type: 'started', bound: { listeners: {} } }), true)
    assert.equal(isFromWorker({ type: 'drain' }), false)
    assert.equal(isToWorker({ type: 'drain' }), true)
    for (const junk of [null, 'started', 42, {}, { type: 7 }, { type: 'nonsense' }]) {
      assert.equal(isFromWorker(junk), false)
      assert.equal(isToWorker(junk), false)
    }
  })
})

function stats(active: number, total: number, matches: Record<string, number>): NodeStats {
  return {
    node: { id: 'n', region: 'r', version: 'v', pid: 1, startedAt: '', uptimeSeconds: 0, state: 'running' },
    connections: { active, total, rejected: 1, failed: 2 },
    traffic: { bytesIn: 10, bytesOut: 20 },
    routeMatches: { web: { instruction: 0, cached_instruction: 0, static: 0, ...matches } },
    mesh: {
      bind: '127.0.0.1:1',
      relayedActive: 1,
      relayedTotal: 5,
      refusals: { unauthorized: 2 },
      rejectedConnections: 1,
    },
  }
}

function listener(state: ListenerStatus['state'], active: number): ListenerStatus {
  return {
    name: 'web',
    bind: '127.0.0.1:8080',
    kinds: ['tcp'],
    state,
    maxConnections: 500,
    activeConnections: active,
    totalConnections: active * 2,
    rejected: {
      max_connections: 1,
      no_route: 0,
      draining: 2,
      tls_handshake: 1,
      plugin: 3,
      proxy_protocol: 0,
      client_hello: 0,
      handshake: 0,
      not_allowed: 0,
    },
    bytesIn: 100,
    bytesOut: 200,
  }
}

function route(carried: number, health: 'healthy' | 'unhealthy'): RouteStatus {
  return {
    name: 'web',
    match: { listener: 'web' },
    lb: 'round_robin',
    target: '127.0.0.1:80',
    matches: { instruction: 1, cached_instruction: 0, static: 2 },
    bytesIn: 5,
    bytesOut: 6,
    failedFlows: 1,
    endpoints: [
      {
        address: '127.0.0.1:80',
        weight: 1,
        health,
        ejected: false,
        ejections: 1,
        activeConnections: 2,
        totalConnections: 3,
        connectFailures: 1,
      },
    ],
    paths: [
      {
        path: 'via b',
        carried: { bytesSent: carried, bytesReceived: carried, retransmittedBytes: 0, srttMs: carried },
      },
    ],
  }
}

function snapshot(partial: Partial<WorkerSnapshot>): WorkerSnapshot {
  return {
    stats: stats(0, 0, {}),
    listeners: [],
    routes: [],
    peers: [],
    flowDurations: {} as WorkerSnapshot['flowDurations'],
    ...partial,
  }
}

describe('merging the workers’ views into the node’s', () => {
  it('adds up connections, traffic, route matches and mesh counters', () => {
    const merged = mergeCounters([
      snapshot({ stats: stats(2, 10, { static: 4 }) }),
      snapshot({ stats: stats(3, 7, { static: 1, instruction: 2 }) }),
    ])
    assert.deepEqual(merged.connections, { active: 5, total: 17, rejected: 2, failed: 4 })
    assert.deepEqual(merged.traffic, { bytesIn: 20, bytesOut: 40 })
    assert.deepEqual(merged.routeMatches, { web: { instruction: 2, cached_instruction: 0, static: 5 } })
    assert.deepEqual(merged.mesh, {
      bind: '127.0.0.1:1',
      relayedActive: 2,
      relayedTotal: 10,
      refusals: { unauthorized: 4 },
      rejectedConnections: 2,
    })
  })

  it('has no mesh section when no worker runs a mesh', () => {
    const { mesh: _none, ...noMesh } = stats(1, 1, {})
    assert.equal(mergeCounters([snapshot({ stats: noMesh })]).mesh, undefined)
  })

  it('keeps a listener listening while any worker accepts on it, and reports the configured limit', () => {
    const [merged] = mergeListeners([[listener('listening', 2)], [listener('draining', 3)]], { web: 1000 })
    assert.equal(merged?.state, 'listening')
    assert.equal(merged?.maxConnections, 1000)
    assert.equal(merged?.activeConnections, 5)
    assert.equal(merged?.totalConnections, 10)
    assert.deepEqual(merged?.rejected, {
      max_connections: 2,
      no_route: 0,
      draining: 4,
      tls_handshake: 2,
      plugin: 6,
      proxy_protocol: 0,
      client_hello: 0,
      handshake: 0,
      not_allowed: 0,
    })
    assert.equal(merged?.bytesIn, 200)
    const [drained] = mergeListeners([[listener('draining', 0)], [listener('closed', 0)]], {})
    assert.equal(drained?.state, 'draining')
  })

  it('adds up route counters, endpoint counters and multipath shares; health is the first worker’s', () => {
    const [merged] = mergeRoutes([[route(10, 'healthy')], [route(30, 'unhealthy')]])
    assert.deepEqual(merged?.matches, { instruction: 2, cached_instruction: 0, static: 4 })
    assert.equal(merged?.failedFlows, 2)
    assert.equal(merged?.bytesIn, 10)
    assert.equal(merged?.endpoints[0]?.health, 'healthy')
    assert.equal(merged?.endpoints[0]?.totalConnections, 6)
    assert.deepEqual(merged?.paths[0]?.carried, {
      bytesSent: 40,
      bytesReceived: 40,
      retransmittedBytes: 0,
      srttMs: 30,
    })
  })

  it('takes a peer’s measurements from the first worker that has any, and adds its flows', () => {
    const peer = (rttMs: number | undefined, activeFlows: number): PeerStatus => ({
      name: 'b',
      address: '127.0.0.1:1',
      type: 'node',
      state: rttMs === undefined ? 'unknown' : 'up',
      ...(rttMs !== undefined && { rttMs }),
      activeFlows,
    })
    const [merged] = mergePeers([[peer(undefined, 1)], [peer(12, 2)]])
    assert.equal(merged?.rttMs, 12)
    assert.equal(merged?.state, 'up')
    assert.equal(merged?.activeFlows, 3)
  })

  it('takes a link capacity from whichever worker probed it last', () => {
    const base: PeerStatus = {
      name: 'b',
      address: '127.0.0.1:1',
      type: 'node',
      state: 'up',
      rttMs: 1,
      activeFlows: 0,
    }
    const probed = (bps: number, at: string): PeerStatus => ({
      ...base,
      throughputBps: bps,
      throughputMeasuredAt: at,
    })
    const [latest] = mergePeers([
      [probed(100, '2026-01-01T00:00:00.000Z')],
      [base],
      [probed(300, '2026-01-01T00:05:00.000Z')],
    ])
    assert.equal(latest?.throughputBps, 300)
    assert.equal(latest?.throughputMeasuredAt, '2026-01-01T00:05:00.000Z')
    const [none] = mergePeers([[base], [base]])
    assert.equal(none?.throughputBps, undefined)
    assert.equal('throughputMeasuredAt' in (none ?? {}), false)
  })
})

describe('common.workers in the config', () => {
  const listener = `listeners: [{ name: a, bind: "127.0.0.1:0" }]\n`
  it('takes a number of processes or auto, and defaults to 1', () => {
    assert.equal(loadConfigText(`${listener}common: { workers: auto }`).common.workers, 'auto')
    assert.equal(loadConfigText(`${listener}common: { workers: 4 }`).common.workers, 4)
    assert.equal(loadConfigText(listener).common.workers, 1)
  })

  it('refuses anything else, saying what it takes', () => {
    for (const bad of ['0', '2.5', 'many', '300']) {
      assert.throws(
        () => loadConfigText(`${listener}common: { workers: ${bad} }`),
        /common\.workers: /,
        `workers: ${bad}`,
      )
    }
    assert.throws(
      () => loadConfigText(`${listener}common: { workers: many }`),
      /a number of processes from 1 to 256, or 'auto'/,
    )
  })
})

describe('the counts of dead workers', () => {
  // Shaped as prom-client's Histogram.get() returns it: each series named beside its labels.
  const histogram = (count: number, sum: number) =>
    ({
      name: 'dynproxy_flow_duration_seconds',
      help: 'h',
      type: 'histogram',
      aggregator: 'sum',
      values: [
        { labels: { le: 0.1, listener: 'web' }, value: count, metricName: 'x_bucket' },
        { labels: { listener: 'web' }, value: sum, metricName: 'x_sum' },
        { labels: { listener: 'web' }, value: count, metricName: 'x_count' },
      ],
    }) as unknown as WorkerSnapshot['flowDurations']

  it('keep their totals and leave nothing open', () => {
    const dead = snapshot({
      stats: stats(4, 10, { static: 3 }),
      listeners: [listener('listening', 4)],
      routes: [route(10, 'healthy')],
      flowDurations: histogram(6, 1.5),
    })
    const once = retire(undefined, dead)
    assert.equal(once.stats.connections.active, 0)
    assert.equal(once.stats.connections.total, 10)
    assert.equal(once.stats.mesh?.relayedActive, 0)
    assert.equal(once.listeners[0]?.state, 'closed')
    assert.equal(once.listeners[0]?.activeConnections, 0)
    assert.equal(once.routes[0]?.endpoints[0]?.activeConnections, 0)

    const twice = retire(once, dead)
    assert.equal(twice.stats.connections.total, 20)
    assert.deepEqual(twice.stats.routeMatches.web, { instruction: 0, cached_instruction: 0, static: 6 })
    assert.equal(twice.listeners[0]?.totalConnections, 16)
    assert.deepEqual(
      twice.flowDurations.values.map((v) => v.value),
      [12, 3, 12],
    )
  })

  it('never count as listening beside a live worker', () => {
    const dead = retire(undefined, snapshot({ listeners: [listener('listening', 1)] }))
    const [merged] = mergeListeners([[listener('listening', 2)], dead.listeners], {})
    assert.equal(merged?.state, 'listening')
    assert.equal(merged?.activeConnections, 2)
  })

  it('sum histograms series by series, keeping series only one side has', () => {
    const a = histogram(1, 0.5)
    const b = {
      ...histogram(2, 1),
      values: [...histogram(2, 1).values, { labels: { listener: 'db' }, value: 7 }],
    }
    assert.deepEqual(
      sumHistograms(a, b).values.map((v) => v.value),
      [3, 1.5, 3, 7],
    )
  })
})
