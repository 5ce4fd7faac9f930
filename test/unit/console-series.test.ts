import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { maskSecrets } from '../../src/admin/config-dump.ts'
import { NodeHistory, seriesView } from '../../src/admin/history.ts'
import { historySince } from '../../src/admin/routes.ts'
import { listenerKinds } from '../../src/listener/tcp-listener.ts'
import { safeHttpUrl } from '../../src/util/http-url.ts'
import { downsample, ratesOf, SampleRing } from '../../src/util/series.ts'
import type { NodeView } from '../../src/views/node-view.ts'

describe('a ring of samples', () => {
  test('keeps the newest `capacity`, oldest first, and reads from a time on', () => {
    const ring = new SampleRing(3)
    for (let t = 1; t <= 5; t++) ring.push({ t, v: [t] })
    assert.deepEqual(
      ring.since().map((s) => s.t),
      [3, 4, 5],
    )
    assert.deepEqual(
      ring.since(4).map((s) => s.t),
      [4, 5],
    )
    assert.equal(ring.last()?.t, 5)
    assert.throws(() => new SampleRing(1), /capacity 1/)
  })
})

describe('rates and fewer points', () => {
  test('counters become per-second rates; gauges stay; a counter that went back restarts', () => {
    const rates = ratesOf(
      [
        { t: 0, v: [0, 7] },
        { t: 2000, v: [100, 3] },
        { t: 4000, v: [40, null] },
      ],
      [true, false],
    )
    assert.deepEqual(rates, [
      { t: 2000, v: [50, 3] },
      { t: 4000, v: [20, null] },
    ])
  })

  test('downsampling averages groups cut from the newest end, skipping unknown values', () => {
    const samples = [1, 2, 3, 4, 5].map((t) => ({ t, v: [t === 2 ? null : t * 10] }))
    assert.deepEqual(downsample(samples, 2), [
      { t: 2, v: [10] },
      { t: 5, v: [40] },
    ])
    assert.equal(downsample(samples, 10).length, 5)
    assert.deepEqual(downsample(samples, 0), [])
  })
})

function fakeView(bytes: () => number): NodeView {
  const rejected = {
    max_connections: 0,
    no_route: 2,
    draining: 0,
    tls_handshake: 0,
    plugin: 0,
    proxy_protocol: 0,
    client_hello: 0,
    handshake: 0,
    not_allowed: 0,
  }
  return {
    getStats: () => ({
      node: { id: 'a', region: 'r', version: '1', pid: 1, startedAt: '', uptimeSeconds: 1, state: 'running' },
      connections: { active: 1, total: bytes() / 10, rejected: 2, failed: 0 },
      traffic: { bytesIn: bytes(), bytesOut: 2 * bytes() },
      routeMatches: {},
    }),
    getListeners: () => [
      {
        name: 'web',
        bind: '127.0.0.1:1',
        kinds: ['tcp'],
        state: 'listening',
        maxConnections: 10,
        activeConnections: 1,
        totalConnections: bytes() / 10,
        rejected,
        bytesIn: bytes(),
        bytesOut: 0,
      },
    ],
    getRoutes: () => [],
    getFlows: () => [],
    getPeers: () => [
      { name: 'b', address: 'x:1', type: 'tcp', state: 'up', rttMs: 12, loss: 0.01, activeFlows: 0 },
    ],
    getInstructions: () => undefined,
    isReady: () => true,
    drain: () => {},
    undrain: async () => 'running',
    probePeer: async () => {
      throw new Error('no')
    },
  }
}

describe('the node history', () => {
  test('samples every series and answers rates per second over the window', async () => {
    let now = 0
    let bytes = 0
    const history = new NodeHistory({ view: fakeView(() => bytes), now: () => now, samples: 10 })
    for (let i = 0; i < 4; i++) {
      now = i * 5000
      bytes = i * 5000
      await history.sample()
    }
    const series = history.read(5000, 100)
    const node = series.find((s) => s.kind === 'node')
    assert.deepEqual(node?.columns, ['bytesIn', 'bytesOut', 'flows', 'activeFlows', 'rejected', 'failed'])
    // 5000 bytes per 5 s: 1000 B/s in, 2000 out; 100 flows/s; 1 active (a gauge); nothing rejected since.
    assert.deepEqual(node?.samples.at(-1)?.v, [1000, 2000, 100, 1, 0, 0])
    assert.equal(node?.samples.length, 3)
    const peer = series.find((s) => s.kind === 'peer')
    assert.deepEqual(peer?.samples.at(-1)?.v, [12, 0.01, 0])
    assert.ok(series.some((s) => s.key === 'listener:web'))
  })

  test('seriesView thins to the points asked for', () => {
    const samples = Array.from({ length: 50 }, (_, i) => ({ t: i * 1000, v: [i * 1000, 0, 0, 0] }))
    const view = seriesView('route:web', 'route', 'web', samples, 7)
    assert.equal(view.samples.length, 7)
    assert.equal(view.samples.at(-1)?.v[0], 1000)
  })

  test('the window is a duration within what the node keeps', () => {
    assert.deepEqual(historySince('15m', 3_600_000, 3_600_000), { since: 2_700_000 })
    assert.match((historySince('2h', 0, 3_600_000) as { problem: string }).problem, /at most 1h/)
    assert.match(
      (historySince('soon', 0, 3_600_000) as { problem: string }).problem,
      /window: expected a duration/,
    )
  })
})

test('the config dump masks tokens, passwords and path tokens, and keeps key file paths', () => {
  const masked = maskSecrets({
    common: { adminToken: 'x', adminViewerToken: 'y', adminAddr: { host: '127.0.0.1', port: 1 } },
    mesh: { token: 'z', tls: { keyFile: '/etc/key.pem' } },
    listeners: [{ users: [{ name: 'u', password: 'p' }] }],
    routes: [{ paths: [{ token: Buffer.from('sig') }] }],
    n: 3n,
  }) as Record<string, unknown>
  assert.deepEqual(masked, {
    common: {
      adminToken: '(secret)',
      adminViewerToken: '(secret)',
      adminAddr: { host: '127.0.0.1', port: 1 },
    },
    mesh: { token: '(secret)', tls: { keyFile: '/etc/key.pem' } },
    listeners: [{ users: [{ name: 'u', password: '(secret)' }] }],
    routes: [{ paths: [{ token: '(secret)' }] }],
    n: '3',
  })
})

test('console links travel only as http(s) URLs of bounded length', () => {
  assert.equal(safeHttpUrl('http://127.0.0.1:8888/ui'), 'http://127.0.0.1:8888/ui')
  assert.equal(safeHttpUrl('javascript:alert(1)'), undefined)
  assert.equal(safeHttpUrl('http://user:pw@host/'), undefined)
  assert.equal(safeHttpUrl(`http://h/${'x'.repeat(3000)}`), undefined)
  assert.equal(safeHttpUrl(''), undefined)
})

test('listener kinds: the protocol, then what it does before routing', () => {
  const base = { protocol: 'tcp' as const, proxyProtocol: false, inspectSni: false }
  assert.deepEqual(listenerKinds(base as never), ['tcp'])
  assert.deepEqual(listenerKinds({ ...base, proxyProtocol: true, inspectSni: true } as never), [
    'tcp',
    'proxy_protocol',
    'sni',
  ])
  assert.deepEqual(listenerKinds({ ...base, tls: {}, handshake: 'socks5' } as never), [
    'tcp',
    'tls',
    'socks5',
  ])
  assert.deepEqual(listenerKinds({ ...base, protocol: 'udp' } as never), ['udp'])
})
