/**
 * A node with worker processes remembers the nonces of accepted mesh headers in one place: the
 * kernel spreads connections over the workers, and with a cache per worker one captured header
 * opened a flow once per worker.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { loadConfigText } from '../../src/config/index.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { MAX_RESPONSE_HEADER_BYTES } from '../../src/mesh/wire/constants.ts'
import { readOpenResponse } from '../../src/mesh/wire/io.ts'
import { encodeOpenRequest } from '../../src/mesh/wire/request.ts'
import { NodeSupervisor } from '../../src/workers/supervisor.ts'
import { freePorts, meshNodeYaml, TEST_TOKEN } from '../helpers/mesh-harness.ts'
import { startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'

const WORKERS = 2
const TRIES = 16

/** Sends `header` on a new connection and resolves with the status the relay answers. */
async function statusOf(port: number, header: Buffer): Promise<string> {
  const socket = net.connect({ port, host: '127.0.0.1' })
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.write(header)
  const { response } = await readOpenResponse(socket, {
    maxBytes: MAX_RESPONSE_HEADER_BYTES,
    timeoutMs: 5000,
  })
  socket.destroy()
  return response.status
}

describe('a relay with worker processes and a captured mesh header', () => {
  let echo: TestServer
  let relay: NodeSupervisor
  let port: number

  before(async () => {
    echo = await startEchoServer()
    ;({ relay: port } = await freePorts(['relay']))
    const yaml = meshNodeYaml({
      id: 'relay',
      meshPort: port,
      meshExtra: '  allow_targets: ["127.0.0.1/32"]',
    }).replace('drain_timeout: 1s', `drain_timeout: 1s, log_level: warn, workers: ${WORKERS}`)
    relay = new NodeSupervisor(loadConfigText(yaml, 'relay.yaml'), WORKERS, { logger: silentLogger() })
    await relay.start()
  })
  after(async () => {
    await relay?.destroy()
    await echo?.close()
  })

  test(`opens one flow, however many of the ${WORKERS} workers it is sent to`, async () => {
    const header = encodeOpenRequest(
      {
        flowId: randomBytes(16),
        sourceNodeId: 'ingress',
        remainingHops: 4,
        visited: ['ingress'],
        remainingPath: [],
        target: echo.address,
        mode: 'raw',
        subflowIndex: 0,
      },
      { token: TEST_TOKEN, now: Date.now() },
    )
    const statuses: string[] = []
    for (let i = 0; i < TRIES; i++) statuses.push(await statusOf(port, header))
    assert.deepEqual(statuses, ['ok', ...Array<string>(TRIES - 1).fill('replayed')])
    await relay.refresh('/stats')
    const workers = relay.getStats().workers ?? []
    assert.equal(workers.length, WORKERS)
    assert.equal(relay.getStats().mesh?.refusals.replayed, TRIES - 1)
  })

  test('a header seen by no worker yet is still taken', async () => {
    const fresh = () =>
      encodeOpenRequest(
        {
          flowId: randomBytes(16),
          sourceNodeId: 'ingress',
          remainingHops: 4,
          visited: ['ingress'],
          remainingPath: [],
          target: echo.address,
          mode: 'raw',
          subflowIndex: 0,
        },
        { token: TEST_TOKEN, now: Date.now() },
      )
    for (let i = 0; i < 8; i++) assert.equal(await statusOf(port, fresh()), 'ok')
  })
})
