import assert from 'node:assert/strict'
import { after, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import type { EndpointConfig, HealthCheckConfig, RouteConfig } from '../../src/config/types.ts'
import { UpstreamCluster, type UpstreamLogger } from '../../src/upstream/cluster.ts'
import { HealthChecker } from '../../src/upstream/health.ts'
import type { EndpointHealth } from '../../src/views/node-view.ts'
import { startServer, startSilentTarget, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const closers: { close(): Promise<void> }[] = []
after(async () => {
  await Promise.all(closers.map((c) => c.close()))
})

async function server(port = 0): Promise<TestServer> {
  const s = await startServer((socket) => socket.end(), '127.0.0.1', port)
  closers.push(s)
  return s
}

function endpoint(port: number): EndpointConfig {
  return { address: `127.0.0.1:${port}`, host: '127.0.0.1', port, weight: 1 }
}

const healthCheck: HealthCheckConfig = { intervalMs: 40, timeoutMs: 200, rise: 2, fall: 3 }

describe('active health checks', () => {
  test('a stopped endpoint goes unhealthy after fall checks, flows avoid it, and it rises again', async () => {
    const s = await server()
    const t = await server()
    const changes: string[] = []
    const logger: UpstreamLogger = {
      warn: (obj, msg) => {
        const { from, to } = obj as { from?: EndpointHealth; to?: EndpointHealth }
        changes.push(`${msg}: ${from}->${to}`)
      },
      info: () => {},
      debug: () => {},
    }
    const route: RouteConfig = {
      name: 'checked',
      match: {},
      target: { kind: 'endpoints', endpoints: [endpoint(s.port), endpoint(t.port)] },
      lb: 'first',
      connectTimeoutMs: 500,
      retries: 1,
      healthCheck,
      outlierDetection: {
        consecutiveFailures: 5,
        baseEjectionMs: 1000,
        maxEjectionMs: 1000,
        maxEjectedPercent: 50,
      },
    }
    const cluster = new UpstreamCluster(route, { clock: { now: () => Date.now() }, logger })
    const health = (): EndpointHealth => cluster.status()[0]!.health
    try {
      assert.equal(health(), 'unchecked')
      cluster.start()
      cluster.start()
      await waitFor(() => health() === 'healthy', 'healthy', 3000)
      assert.deepEqual(changes, [])

      await s.close()
      const stoppedAt = Date.now()
      await waitFor(() => health() === 'unhealthy', 'unhealthy', 3000)
      const tookMs = Date.now() - stoppedAt
      // fall = 3 probes, ~40 ms apart: the first failure alone must not have flipped it
      assert.ok(tookMs >= 2 * healthCheck.intervalMs * 0.8, `unhealthy after only ${tookMs}ms`)
      assert.deepEqual(changes, ['upstream endpoint health changed: healthy->unhealthy'])

      const conn = await cluster.connect('192.0.2.1')
      assert.equal(conn.endpoint, t.address)
      assert.equal(conn.attempts, 1)
      conn.socket.destroy()
      cluster.release(conn.endpoint)

      const back = await server(s.port)
      await waitFor(() => health() === 'healthy', 'healthy again', 3000)
      assert.ok(back.accepted >= healthCheck.rise, `${back.accepted} probes before rising`)
      assert.deepEqual(changes, [
        'upstream endpoint health changed: healthy->unhealthy',
        'upstream endpoint health changed: unhealthy->healthy',
      ])
    } finally {
      cluster.close()
      cluster.close()
    }
    // A probe whose connect was already under way may still land at the server: let it, then count.
    await sleep(20)
    const probesAtClose = t.accepted
    await sleep(4 * healthCheck.intervalMs)
    assert.equal(t.accepted, probesAtClose, 'probes went on after close()')
  })

  test('a silent endpoint fails its probes by timeout; stop() aborts probes in flight', async () => {
    const silent = await startSilentTarget()
    closers.push(silent)
    const results: boolean[] = []
    const checker = new HealthChecker({
      targets: [{ host: '127.0.0.1', port: silent.port }],
      config: { intervalMs: 20, timeoutMs: 100, rise: 1, fall: 1 },
      onResult: (_index, ok) => results.push(ok),
      random: () => 0.5,
    })
    try {
      checker.start()
      assert.equal(checker.running, true)
      await waitFor(() => results.length >= 2, 'two probe results', 3000)
      assert.ok(results.every((ok) => !ok))
    } finally {
      checker.stop()
    }
    const seen = results.length
    assert.equal(checker.running, false)
    await sleep(250)
    assert.equal(results.length, seen, 'a result arrived after stop()')
  })
})
