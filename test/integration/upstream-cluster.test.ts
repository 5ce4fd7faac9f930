import assert from 'node:assert/strict'
import { once } from 'node:events'
import type { Socket } from 'node:net'
import { after, describe, test } from 'node:test'
import type { EndpointConfig, LbAlgorithm, RouteConfig } from '../../src/config/types.ts'
import { UpstreamUnavailableError } from '../../src/errors/upstream.ts'
import { UpstreamCluster, type UpstreamLogger } from '../../src/upstream/cluster.ts'
import type { Clock } from '../../src/util/clock.ts'
import {
  refusedPort,
  startNamedServer,
  startServer,
  startSilentTarget,
  type TestServer,
} from '../helpers/tcp-servers.ts'

interface LogLine {
  readonly level: string
  readonly msg: string
  readonly obj: object
}

function recorder(): { logger: UpstreamLogger; lines: LogLine[] } {
  const lines: LogLine[] = []
  const at = (level: string) => (obj: object, msg: string) => lines.push({ level, msg, obj })
  return { logger: { warn: at('warn'), info: at('info'), debug: at('debug') }, lines }
}

function endpoint(port: number, weight = 1): EndpointConfig {
  return { address: `127.0.0.1:${port}`, host: '127.0.0.1', port, weight }
}

function route(endpoints: EndpointConfig[], overrides: Partial<RouteConfig> = {}): RouteConfig {
  return {
    name: 'web',
    match: {},
    target: { kind: 'endpoints', endpoints },
    lb: 'first' satisfies LbAlgorithm,
    connectTimeoutMs: 1000,
    retries: 2,
    outlierDetection: {
      consecutiveFailures: 5,
      baseEjectionMs: 200,
      maxEjectionMs: 1000,
      maxEjectedPercent: 100,
    },
    ...overrides,
  }
}

/** A clock the test moves by hand: ejection times pass without sleeping. */
function manualClock(start = 1_700_000_000_000): Clock & { advance(ms: number): void } {
  let now = start
  return { now: () => now, advance: (ms) => (now += ms) }
}

const realClock: Clock = { now: () => Date.now() }

async function readAll(socket: Socket): Promise<string> {
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  await once(socket, 'end')
  socket.destroy()
  return Buffer.concat(chunks).toString()
}

const servers: { close(): Promise<void> }[] = []
after(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

async function named(name: string, port?: number): Promise<TestServer> {
  const server =
    port === undefined
      ? await startNamedServer(name)
      : await startServer(
          (socket) => {
            socket.resume()
            socket.end(name)
          },
          '127.0.0.1',
          port,
        )
  servers.push(server)
  return server
}

describe('UpstreamCluster.connect', () => {
  test('a refused endpoint is counted and the next one serves the flow', async () => {
    const dead = await refusedPort()
    const b = await named('b')
    const { logger } = recorder()
    const cluster = new UpstreamCluster(route([endpoint(dead), endpoint(b.port)]), {
      clock: realClock,
      logger,
    })
    const conn = await cluster.connect('192.0.2.7')
    assert.equal(conn.endpoint, b.address)
    assert.equal(conn.attempts, 2)
    assert.ok(conn.connectMs >= 0 && conn.connectMs < 1000)
    for (const event of ['error', 'connect', 'timeout']) {
      assert.equal(conn.socket.listenerCount(event), 0, `a listener on '${event}' was left`)
    }
    assert.ok(!conn.socket.timeout, 'the connect timeout was left on the socket')
    const [first, second] = cluster.status()
    assert.equal(first!.connectFailures, 1)
    assert.equal(first!.totalConnections, 0)
    assert.equal(second!.activeConnections, 1)
    assert.equal(second!.totalConnections, 1)
    assert.equal(await readAll(conn.socket), 'b')
    cluster.release(conn.endpoint)
    cluster.release(conn.endpoint)
    cluster.release('10.9.9.9:1')
    assert.equal(cluster.status()[1]!.activeConnections, 0)
  })

  test('a silent endpoint times out after connectTimeoutMs and the next is tried', async () => {
    const silent = await startSilentTarget()
    servers.push(silent)
    const b = await named('b')
    const cluster = new UpstreamCluster(
      route([endpoint(silent.port), endpoint(b.port)], { connectTimeoutMs: 200 }),
      {
        clock: realClock,
        logger: recorder().logger,
      },
    )
    const started = Date.now()
    const conn = await cluster.connect('192.0.2.7')
    const elapsed = Date.now() - started
    assert.equal(conn.endpoint, b.address)
    assert.equal(conn.attempts, 2)
    assert.ok(elapsed >= 190 && elapsed < 1500, `took ${elapsed}ms`)
    assert.ok(conn.connectMs < 150, `the successful attempt took ${conn.connectMs}ms`)
    assert.equal(cluster.status()[0]!.connectFailures, 1)
    assert.equal(await readAll(conn.socket), 'b')
    cluster.release(conn.endpoint)
  })

  test('when every attempt fails the error lists each one, within 1 + retries', async () => {
    const ports = [await refusedPort(), await refusedPort(), await refusedPort(), await refusedPort()]
    const cluster = new UpstreamCluster(route(ports.map((p) => endpoint(p))), {
      clock: realClock,
      logger: recorder().logger,
    })
    const err = await cluster.connect('192.0.2.7').then(
      () => assert.fail('connect should fail'),
      (e: unknown) => e,
    )
    assert.ok(err instanceof UpstreamUnavailableError)
    assert.equal(err.code, 'DYN_ERR_UPSTREAM_UNAVAILABLE')
    const listed = ports.slice(0, 3).map((p) => `127.0.0.1:${p} refused`)
    assert.equal(err.message, `route "web": no upstream reachable after 3 attempts: ${listed.join(', ')}`)
    assert.equal(cluster.unavailable, 1)
    assert.deepEqual(
      cluster.status().map((s) => s.connectFailures),
      [1, 1, 1, 0],
    )
    assert.ok(cluster.status().every((s) => s.activeConnections === 0))
  })

  test('an endpoint ejected after N failures is skipped, then comes back after the ejection time', async () => {
    const aPort = await refusedPort()
    const b = await named('b')
    const clock = manualClock()
    const { logger, lines } = recorder()
    const cluster = new UpstreamCluster(
      route([endpoint(aPort), endpoint(b.port)], {
        outlierDetection: {
          consecutiveFailures: 2,
          baseEjectionMs: 200,
          maxEjectionMs: 1000,
          maxEjectedPercent: 50,
        },
      }),
      { clock, logger },
    )
    for (const expected of [2, 2, 1, 1]) {
      const conn = await cluster.connect('192.0.2.7')
      assert.equal(conn.attempts, expected)
      conn.socket.destroy()
      cluster.release(conn.endpoint)
    }
    const ejected = cluster.status()[0]!
    assert.equal(ejected.ejected, true)
    assert.equal(ejected.ejections, 1)
    assert.equal(ejected.ejectedUntil, new Date(clock.now() + 200).toISOString())
    assert.equal(ejected.connectFailures, 2)
    assert.deepEqual(
      lines.filter((l) => l.level === 'warn').map((l) => l.msg),
      ['upstream endpoint ejected'],
    )

    const a = await named('a', aPort)
    clock.advance(199)
    const stillB = await cluster.connect('192.0.2.7')
    assert.equal(stillB.endpoint, b.address)
    stillB.socket.destroy()
    clock.advance(1)
    const back = await cluster.connect('192.0.2.7')
    assert.equal(back.endpoint, a.address)
    assert.equal(back.attempts, 1)
    assert.equal(await readAll(back.socket), 'a')
    assert.equal(cluster.status()[0]!.ejected, false)
    assert.ok(lines.some((l) => l.msg === 'upstream endpoint returned'))
  })

  test('panic: with every endpoint ejected, untried ones are still tried, and that is counted', async () => {
    const xPort = await refusedPort()
    const yPort = await refusedPort()
    const clock = manualClock()
    const cluster = new UpstreamCluster(
      route([endpoint(xPort), endpoint(yPort)], {
        retries: 1,
        outlierDetection: {
          consecutiveFailures: 1,
          baseEjectionMs: 60_000,
          maxEjectionMs: 60_000,
          maxEjectedPercent: 100,
        },
      }),
      { clock, logger: recorder().logger },
    )
    await assert.rejects(cluster.connect('192.0.2.7'), UpstreamUnavailableError)
    assert.ok(cluster.status().every((s) => s.ejected))
    assert.equal(cluster.panics, 0)
    const y = await named('y', yPort)
    const conn = await cluster.connect('192.0.2.7')
    assert.equal(conn.endpoint, y.address)
    assert.equal(conn.attempts, 2)
    assert.equal(cluster.panics, 2)
    conn.socket.destroy()
  })

  test('least_conn spreads open flows and release brings counts down', async () => {
    const a = await named('a')
    const b = await named('b')
    const cluster = new UpstreamCluster(route([endpoint(a.port), endpoint(b.port)], { lb: 'least_conn' }), {
      clock: realClock,
      logger: recorder().logger,
    })
    const conns = await Promise.all([1, 2, 3, 4].map(() => cluster.connect('192.0.2.7')))
    assert.deepEqual(
      cluster.status().map((s) => s.activeConnections),
      [2, 2],
    )
    for (const c of conns) {
      c.socket.destroy()
      cluster.release(c.endpoint)
    }
    assert.deepEqual(
      cluster.status().map((s) => [s.activeConnections, s.totalConnections]),
      [
        [0, 2],
        [0, 2],
      ],
    )
  })

  test('weight 0 endpoints are never tried, and a cluster of only those fails with zero attempts', async () => {
    const a = await named('a')
    const cluster = new UpstreamCluster(route([endpoint(a.port, 0)]), {
      clock: realClock,
      logger: recorder().logger,
    })
    await assert.rejects(cluster.connect('192.0.2.7'), /no upstream reachable after 0 attempts/)
    assert.equal(a.accepted, 0)
  })

  test('construction rejects peer targets and duplicate endpoints', () => {
    const deps = { clock: realClock, logger: recorder().logger }
    assert.throws(
      () => new UpstreamCluster({ ...route([]), target: { kind: 'mesh', paths: [{ via: ['n2'] }] } }, deps),
      (e: unknown) => (e as { code?: string }).code === 'DYN_ERR_UPSTREAM_TARGET_KIND',
    )
    assert.throws(
      () => new UpstreamCluster(route([endpoint(1), endpoint(1)]), deps),
      (e: unknown) => (e as { code?: string }).code === 'DYN_ERR_UPSTREAM_DUPLICATE_ENDPOINT',
    )
  })
})
