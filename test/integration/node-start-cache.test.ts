import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import pino from 'pino'
import { loadConfigText } from '../../src/config/index.ts'
import { InstructionCache } from '../../src/instructions/cache.ts'
import type { InstructionSet } from '../../src/instructions/types.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { ProxyNode } from '../../src/node/index.ts'
import { systemClock } from '../../src/util/clock.ts'
import { TEST_ADMIN_TOKEN } from '../helpers/node-harness.ts'
import { refusedPort, startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'

/** What one client saw: its bytes echoed (routed), or the connection closed on it (not routed). */
function tryOnce(port: number): Promise<'refused' | 'routed' | 'closed'> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' })
    let connected = false
    socket.on('connect', () => {
      connected = true
      socket.write('ping')
    })
    socket.on('data', () => {
      socket.destroy()
      resolve('routed')
    })
    socket.on('error', () => {})
    socket.on('close', () => resolve(connected ? 'closed' : 'refused'))
  })
}

/**
 * A restarted node with a cached instruction set and no scheduler to reach: every connection it
 * accepts must be routed by that set, the first one included. A node that bound its listeners
 * before reading its cache closed the first connections as no_route.
 */
describe('a node restarted with a cached set', () => {
  let echo: TestServer
  let dir: string

  before(async () => {
    echo = await startEchoServer()
    dir = mkdtempSync(join(tmpdir(), 'dynproxy-start-cache-'))
  })

  after(async () => {
    await echo.close()
    rmSync(dir, { recursive: true, force: true })
  })

  test('routes its very first flows by the cached set, before any scheduler answers', async () => {
    const port = await refusedPort()
    const set: InstructionSet = {
      version: { epoch: 7, counter: 1 },
      nonce: 'cached',
      ttlMs: 60_000,
      reportIntervalMs: 0,
      routes: [
        {
          name: 'web',
          match: { port },
          paths: [{ hops: [], targets: [{ address: echo.address, weight: 1 }], weight: 1 }],
        },
      ],
    }
    await new InstructionCache({
      stateDir: dir,
      clock: systemClock,
      logger: pino({ level: 'silent' }),
    }).apply(set)
    const config = await loadConfigText(
      `common: { node_id: restarted, admin_addr: "127.0.0.1:0", state_dir: "${dir}", admin_token: ${TEST_ADMIN_TOKEN} }
listeners: [{ name: web, bind: "127.0.0.1:${port}" }]
scheduler: { address: "127.0.0.1:${await refusedPort()}", connect_timeout: 200ms, retry_interval: 100ms }
`,
      'restarted.yaml',
    )
    const node = new ProxyNode(config, { logger: silentLogger() })
    const starting = node.start()
    let done = false
    void starting.finally(() => {
      done = true
    })
    const seen: string[] = []
    try {
      for (let i = 0; i < 2_000 && (!done || seen.filter((s) => s !== 'refused').length < 5); i++) {
        seen.push(await tryOnce(port))
      }
      await starting
      const accepted = seen.filter((s) => s !== 'refused')
      assert.ok(accepted.length >= 5, `only ${accepted.length} connections were accepted`)
      assert.deepEqual(
        accepted.filter((s) => s === 'closed'),
        [],
        `accepted connections closed unrouted: ${seen.join(' ')}`,
      )
    } finally {
      await node.destroy()
    }
  })
})
