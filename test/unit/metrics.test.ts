import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { register as globalRegistry, type Histogram } from 'prom-client'
import { createMetrics, createScrapeSnapshot, SCRAPED_FAMILIES } from '../../src/metrics/index.ts'
import type {
  ListenerStatus,
  NodeStats,
  NodeView,
  PeerStatus,
  RouteStatus,
} from '../../src/views/node-view.ts'

interface FakeView extends NodeView {
  stats: NodeStats
  listeners: ListenerStatus[]
  routes: RouteStatus[]
  peers: PeerStatus[]
  calls: Record<'stats' | 'listeners' | 'routes' | 'peers', number>
}

function fakeView(): FakeView {
  const view: FakeView = {
    calls: { stats: 0, listeners: 0, routes: 0, peers: 0 },
    stats: {
      node: {
        id: 'n1',
        region: 'eu',
        version: '0.1.0',
        pid: 1,
        startedAt: '2026-01-01T00:00:00.000Z',
        uptimeSeconds: 5,
        state: 'running',
      },
      connections: { active: 3, total: 40, rejected: 6, failed: 7 },
      traffic: { bytesIn: 1000, bytesOut: 2000 },
      routeMatches: { 'r-web': { instruction: 11, cached_instruction: 2, static: 5 } },
    },
    listeners: [
      {
        name: 'web',
        bind: '127.0.0.1:8080',
        kinds: ['tcp'],
        state: 'listening',
        maxConnections: 100,
        activeConnections: 3,
        totalConnections: 40,
        rejected: {
          max_connections: 4,
          no_route: 1,
          draining: 0,
          tls_handshake: 0,
          plugin: 0,
          proxy_protocol: 0,
          client_hello: 0,
          handshake: 0,
          not_allowed: 0,
        },
        bytesIn: 1000,
        bytesOut: 2000,
      },
    ],
    routes: [
      {
        name: 'r-web',
        match: { port: 8080 },
        lb: 'round_robin',
        target: '127.0.0.1:9001,127.0.0.1:9002',
        matches: { instruction: 0, cached_instruction: 0, static: 18 },
        paths: [],
        bytesIn: 0,
        bytesOut: 0,
        failedFlows: 0,
        endpoints: [
          {
            address: '127.0.0.1:9001',
            weight: 1,
            health: 'unchecked',
            ejected: false,
            ejections: 0,
            activeConnections: 2,
            totalConnections: 30,
            connectFailures: 1,
          },
          {
            address: '127.0.0.1:9002',
            weight: 1,
            health: 'unhealthy',
            ejected: true,
            ejectedUntil: '2026-01-01T00:01:00.000Z',
            ejections: 2,
            activeConnections: 0,
            totalConnections: 9,
            connectFailures: 8,
          },
        ],
      },
    ],
    peers: [
      {
        name: 'p-up',
        address: '127.0.0.1:7001',
        type: 'tcp',
        state: 'up',
        rttMs: 12.5,
        loss: 0.25,
        activeFlows: 1,
      },
      { name: 'p-new', address: '127.0.0.1:7002', type: 'tcp', state: 'unknown', activeFlows: 0 },
    ],
    getStats() {
      view.calls.stats++
      return view.stats
    },
    getListeners() {
      view.calls.listeners++
      return view.listeners
    },
    getRoutes() {
      view.calls.routes++
      return view.routes
    },
    getFlows: () => [],
    getInstructions() {
      return undefined
    },
    getPeers() {
      view.calls.peers++
      return view.peers
    },
    isReady: () => true,
    drain: () => {},
    undrain: async () => 'running',
    probePeer: (peer) => Promise.reject(new Error(`no peer ${peer} in this fake`)),
  }
  return view
}

const OPTS = { nodeId: 'n1', region: 'eu', version: '0.1.0' }

/** The value of the one sample `name{labels}` in a text exposition; undefined when absent. */
function sample(text: string, name: string, labels = ''): number | undefined {
  const head = labels === '' ? `${name} ` : `${name}{${labels}} `
  const lines = text.split('\n').filter((l) => l.startsWith(head))
  assert.ok(lines.length <= 1, `${head} appears ${lines.length} times`)
  return lines[0] === undefined ? undefined : Number(lines[0].slice(head.length))
}

function typeOf(text: string, name: string): string | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`# TYPE ${name} `))
  return line?.slice(`# TYPE ${name} `.length)
}

describe('createMetrics', () => {
  test('exposes every family with its type and the view values', async () => {
    const text = await createMetrics(fakeView(), OPTS).render()
    const expected: [string, string, string, number][] = [
      ['dynproxy_downstream_cx_active', 'gauge', 'listener="web"', 3],
      ['dynproxy_downstream_cx_total', 'counter', 'listener="web"', 40],
      ['dynproxy_downstream_cx_rejected_total', 'counter', 'listener="web",reason="max_connections"', 4],
      ['dynproxy_downstream_cx_rejected_total', 'counter', 'listener="web",reason="no_route"', 1],
      ['dynproxy_downstream_cx_rejected_total', 'counter', 'listener="web",reason="draining"', 0],
      ['dynproxy_downstream_bytes_total', 'counter', 'listener="web",direction="in"', 1000],
      ['dynproxy_downstream_bytes_total', 'counter', 'listener="web",direction="out"', 2000],
      ['dynproxy_route_matches_total', 'counter', 'route="r-web",source="instruction"', 11],
      ['dynproxy_route_matches_total', 'counter', 'route="r-web",source="cached_instruction"', 2],
      ['dynproxy_route_matches_total', 'counter', 'route="r-web",source="static"', 5],
      ['dynproxy_upstream_cx_total', 'counter', 'route="r-web",endpoint="127.0.0.1:9001"', 30],
      ['dynproxy_upstream_cx_total', 'counter', 'route="r-web",endpoint="127.0.0.1:9002"', 9],
      ['dynproxy_upstream_cx_connect_fail_total', 'counter', 'route="r-web",endpoint="127.0.0.1:9002"', 8],
      ['dynproxy_upstream_ejections_total', 'counter', 'route="r-web",endpoint="127.0.0.1:9002"', 2],
      ['dynproxy_upstream_endpoint_healthy', 'gauge', 'route="r-web",endpoint="127.0.0.1:9001"', 1],
      ['dynproxy_upstream_endpoint_healthy', 'gauge', 'route="r-web",endpoint="127.0.0.1:9002"', 0],
      ['dynproxy_upstream_endpoint_ejected', 'gauge', 'route="r-web",endpoint="127.0.0.1:9001"', 0],
      ['dynproxy_upstream_endpoint_ejected', 'gauge', 'route="r-web",endpoint="127.0.0.1:9002"', 1],
      ['dynproxy_peer_up', 'gauge', 'peer="p-up"', 1],
      ['dynproxy_peer_up', 'gauge', 'peer="p-new"', 0],
      ['dynproxy_peer_rtt_seconds', 'gauge', 'peer="p-up"', 0.0125],
      ['dynproxy_peer_loss_ratio', 'gauge', 'peer="p-up"', 0.25],
      ['dynproxy_node_info', 'gauge', 'node_id="n1",region="eu",version="0.1.0"', 1],
      ['dynproxy_node_draining', 'gauge', '', 0],
      ['dynproxy_connections_failed_total', 'counter', '', 7],
    ]
    for (const [name, type, labels, value] of expected) {
      assert.equal(typeOf(text, name), type, `${name} type`)
      assert.equal(sample(text, name, labels), value, `${name}{${labels}}`)
    }
    assert.equal(typeOf(text, 'dynproxy_flow_duration_seconds'), 'histogram')
  })

  test('omits rtt and loss for a peer never probed rather than reporting zero', async () => {
    const text = await createMetrics(fakeView(), OPTS).render()
    assert.equal(sample(text, 'dynproxy_peer_rtt_seconds', 'peer="p-new"'), undefined)
    assert.equal(sample(text, 'dynproxy_peer_loss_ratio', 'peer="p-new"'), undefined)
  })

  test('repeated scrapes set the counters again instead of adding to them', async () => {
    const metrics = createMetrics(fakeView(), OPTS)
    await metrics.render()
    await metrics.render()
    const text = await metrics.render()
    assert.equal(sample(text, 'dynproxy_downstream_cx_total', 'listener="web"'), 40)
    assert.equal(sample(text, 'dynproxy_connections_failed_total'), 7)
    assert.equal(sample(text, 'dynproxy_route_matches_total', 'route="r-web",source="instruction"'), 11)
  })

  test('each scrape reads fresh values and drops series that are gone', async () => {
    const view = fakeView()
    const metrics = createMetrics(view, OPTS)
    await metrics.render()
    view.stats = { ...view.stats, node: { ...view.stats.node, state: 'draining' } }
    view.listeners = [{ ...view.listeners[0]!, name: 'api', totalConnections: 41 }]
    const text = await metrics.render()
    assert.equal(sample(text, 'dynproxy_node_draining'), 1)
    assert.equal(sample(text, 'dynproxy_downstream_cx_total', 'listener="api"'), 41)
    assert.equal(sample(text, 'dynproxy_downstream_cx_total', 'listener="web"'), undefined)
    assert.equal(sample(text, 'dynproxy_downstream_bytes_total', 'listener="web",direction="in"'), undefined)
  })

  test('a scrape reads each view once however many families use it', async () => {
    const view = fakeView()
    const metrics = createMetrics(view, OPTS)
    await metrics.render()
    assert.deepEqual(view.calls, { stats: 1, listeners: 1, routes: 1, peers: 1 })
    await metrics.render()
    assert.deepEqual(view.calls, { stats: 2, listeners: 2, routes: 2, peers: 2 })
  })

  test('the flow duration histogram observes into the right buckets', async () => {
    const metrics = createMetrics(fakeView(), OPTS)
    metrics.observeFlowDuration('web', 0.003)
    metrics.observeFlowDuration('web', 0.003)
    metrics.observeFlowDuration('web', 5000)
    metrics.observeFlowDuration('api', 0.5)
    const text = await metrics.render()
    const h = 'dynproxy_flow_duration_seconds'
    assert.equal(sample(text, `${h}_bucket`, 'le="0.001",listener="web"'), 0)
    assert.equal(sample(text, `${h}_bucket`, 'le="0.005",listener="web"'), 2)
    assert.equal(sample(text, `${h}_bucket`, 'le="3600",listener="web"'), 2)
    assert.equal(sample(text, `${h}_bucket`, 'le="+Inf",listener="web"'), 3)
    assert.equal(sample(text, `${h}_count`, 'listener="web"'), 3)
    assert.equal(sample(text, `${h}_sum`, 'listener="web"'), 5000.006)
    assert.equal(sample(text, `${h}_count`, 'listener="api"'), 1)
    assert.equal(sample(text, `${h}_count`, 'listener="web"'), 3, 'a scrape does not change the histogram')
  })

  test('the histogram ignores negative and non-finite durations', async () => {
    const metrics = createMetrics(fakeView(), OPTS)
    metrics.observeFlowDuration('web', -1)
    metrics.observeFlowDuration('web', Number.NaN)
    metrics.observeFlowDuration('web', Number.POSITIVE_INFINITY)
    metrics.observeFlowDuration('web', 0)
    const text = await metrics.render()
    assert.equal(sample(text, 'dynproxy_flow_duration_seconds_count', 'listener="web"'), 1)
  })

  test('observing looks up a listener label child once, not per flow', () => {
    const metrics = createMetrics(fakeView(), OPTS)
    const histogram = metrics.registry.getSingleMetric(
      'dynproxy_flow_duration_seconds',
    ) as Histogram<'listener'>
    const labels = histogram.labels.bind(histogram)
    let lookups = 0
    histogram.labels = ((...values: string[]) => {
      lookups++
      return labels(...values)
    }) as typeof histogram.labels
    for (let i = 0; i < 100; i++) metrics.observeFlowDuration(i % 2 === 0 ? 'web' : 'api', 0.01)
    assert.equal(lookups, 2)
  })

  test('default process metrics carry the dynproxy_ prefix', async () => {
    const text = await createMetrics(fakeView(), OPTS).render()
    assert.equal(typeOf(text, 'dynproxy_process_cpu_user_seconds_total'), 'counter')
    assert.equal(typeOf(text, 'dynproxy_nodejs_heap_size_total_bytes'), 'gauge')
    assert.equal(typeOf(text, 'process_cpu_user_seconds_total'), undefined)
  })

  test('every node keeps its own registry, apart from the global one', async () => {
    const a = createMetrics(fakeView(), OPTS)
    const b = createMetrics(fakeView(), { ...OPTS, nodeId: 'n2' })
    assert.notEqual(a.registry, b.registry)
    assert.equal(globalRegistry.getSingleMetric('dynproxy_node_info'), undefined)
    const text = await b.render()
    assert.equal(sample(text, 'dynproxy_node_info', 'node_id="n2",region="eu",version="0.1.0"'), 1)
    assert.equal(sample(text, 'dynproxy_node_info', 'node_id="n1",region="eu",version="0.1.0"'), undefined)
  })
})

describe('SCRAPED_FAMILIES', () => {
  test('names are unique, prefixed, and counters end in _total', () => {
    const names = SCRAPED_FAMILIES.map((f) => f.name)
    assert.equal(new Set(names).size, names.length)
    for (const f of SCRAPED_FAMILIES) {
      assert.match(f.name, /^dynproxy_[a-z_]+$/)
      assert.equal(f.name.endsWith('_total'), f.kind === 'counter', f.name)
    }
  })

  test('every sample carries exactly the family label names', () => {
    const snapshot = createScrapeSnapshot(fakeView())
    for (const f of SCRAPED_FAMILIES) {
      for (const s of f.read(snapshot))
        assert.deepEqual(Object.keys(s.labels).sort(), [...f.labelNames].sort())
    }
  })

  test('a node with nothing configured yields no per-object series', () => {
    const view = fakeView()
    view.listeners = []
    view.routes = []
    view.peers = []
    view.stats = { ...view.stats, routeMatches: {} }
    const snapshot = createScrapeSnapshot(view)
    const perObject = SCRAPED_FAMILIES.filter((f) => f.labelNames.length > 0)
    for (const f of perObject) assert.deepEqual(f.read(snapshot), [], f.name)
  })
})

describe('createScrapeSnapshot', () => {
  test('serves one read per pass and reads again after it', async () => {
    const view = fakeView()
    const snapshot = createScrapeSnapshot(view)
    snapshot.listeners()
    snapshot.listeners()
    assert.equal(view.calls.listeners, 1)
    await Promise.resolve()
    view.listeners = []
    assert.deepEqual(snapshot.listeners(), [])
    assert.equal(view.calls.listeners, 2)
  })
})
