import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { MAX_RESPONSE_HEADER_BYTES } from '../../src/mesh/wire/constants.ts'
import { encodeOpenRequest, type OpenRequest } from '../../src/mesh/wire/request.ts'
import { heldConnections } from '../helpers/handles.ts'
import { freePorts, startMeshNode, TEST_TOKEN } from '../helpers/mesh-harness.ts'
import { readOpenResponse } from '../helpers/mesh-reads.ts'
import type { TestNode } from '../helpers/node-harness.ts'
import { startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

/** Sends one raw header to a mesh port and returns the status it answers with. */
async function ask(
  port: number,
  header: Buffer,
): Promise<{ status: string; message?: string; socket: net.Socket }> {
  const socket = net.connect({ port, host: '127.0.0.1' })
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.write(header)
  const { response } = await readOpenResponse(socket, {
    maxBytes: MAX_RESPONSE_HEADER_BYTES,
    timeoutMs: 5000,
  })
  // The reader leaves the socket paused; what follows the status is the relayed byte stream.
  socket.resume()
  return { status: response.status, ...(response.message && { message: response.message }), socket }
}

function request(overrides: Partial<OpenRequest> & Pick<OpenRequest, 'target'>): OpenRequest {
  return {
    flowId: randomBytes(16),
    sourceNodeId: 'intruder',
    remainingHops: 4,
    visited: ['intruder'],
    remainingPath: [],
    mode: 'raw',
    subflowIndex: 0,
    ...overrides,
  }
}

function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  if (socket.destroyed) return Promise.resolve(true)
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms)
    socket.once('close', () => {
      clearTimeout(timer)
      resolve(true)
    })
    socket.resume()
  })
}

describe('mesh security: a relay forwards only what it should', () => {
  let echo: TestServer
  let forbidden: TestServer
  let relay: TestNode
  let tail: TestNode
  let ports: Record<'relay' | 'tail' | 'nowhere', number>

  before(async () => {
    echo = await startEchoServer()
    forbidden = await startEchoServer()
    ports = await freePorts(['relay', 'tail', 'nowhere'])
    tail = await startMeshNode({ id: 'tail', meshPort: ports.tail, meshExtra: '  max_hops: 8' })
    relay = await startMeshNode({
      id: 'relay',
      meshPort: ports.relay,
      peers: [{ id: 'tail', port: ports.tail }],
      meshExtra: '  max_hops: 3',
      yaml: `routes:
  - { name: known, match: { port: 1 }, target: "${echo.address}" }
`,
    })
  })
  after(async () => {
    await relay?.close()
    await tail?.close()
    await echo?.close()
    await forbidden?.close()
  })

  const now = () => Date.now()

  test('an authenticated request to a target named in a route is relayed', async () => {
    const header = encodeOpenRequest(request({ target: echo.address }), { token: TEST_TOKEN, now: now() })
    const { status, socket } = await ask(ports.relay, header)
    assert.equal(status, 'ok')
    socket.write('ping')
    const [reply] = (await once(socket, 'data')) as [Buffer]
    assert.equal(reply.toString(), 'ping')
    socket.destroy()
  })

  test('open relay: a request without the token reaches no target', async () => {
    const before = echo.accepted
    const { status, socket } = await ask(ports.relay, encodeOpenRequest(request({ target: echo.address })))
    assert.equal(status, 'unauthorized')
    assert.ok(await closedWithin(socket, 3000))
    assert.equal(echo.accepted, before)
  })

  test('a wrong token is refused as unauthorized', async () => {
    const header = encodeOpenRequest(request({ target: echo.address }), {
      token: 'another-token-0123456789',
      now: now(),
    })
    assert.equal((await ask(ports.relay, header)).status, 'unauthorized')
  })

  test('an expired header is refused as expired', async () => {
    const header = encodeOpenRequest(request({ target: echo.address }), {
      token: TEST_TOKEN,
      now: now() - 120_000,
    })
    assert.equal((await ask(ports.relay, header)).status, 'expired')
  })

  test('a replayed header is refused as replayed', async () => {
    const header = encodeOpenRequest(request({ target: echo.address }), { token: TEST_TOKEN, now: now() })
    const first = await ask(ports.relay, header)
    assert.equal(first.status, 'ok')
    first.socket.destroy()
    assert.equal((await ask(ports.relay, header)).status, 'replayed')
  })

  test('a target no route names and no allow_targets entry covers is refused', async () => {
    const before = forbidden.accepted
    const header = encodeOpenRequest(request({ target: forbidden.address }), {
      token: TEST_TOKEN,
      now: now(),
    })
    const { status, message } = await ask(ports.relay, header)
    assert.equal(status, 'target_not_allowed')
    assert.match(message ?? '', /mesh\.allow_targets/)
    assert.equal(forbidden.accepted, before)
  })

  test('a flow that already crossed this node is refused as a loop', async () => {
    const header = encodeOpenRequest(request({ target: echo.address, visited: ['intruder', 'relay'] }), {
      token: TEST_TOKEN,
      now: now(),
    })
    assert.equal((await ask(ports.relay, header)).status, 'loop')
  })

  test('a path longer than max_hops is refused with hop_limit', async () => {
    const header = encodeOpenRequest(request({ target: echo.address, visited: ['x1', 'x2', 'x3'] }), {
      token: TEST_TOKEN,
      now: now(),
    })
    assert.equal((await ask(ports.relay, header)).status, 'hop_limit')
  })

  test('a request with no hops left to forward is refused with hop_limit', async () => {
    const header = encodeOpenRequest(
      request({ target: echo.address, remainingHops: 0, remainingPath: ['tail'] }),
      {
        token: TEST_TOKEN,
        now: now(),
      },
    )
    assert.equal((await ask(ports.relay, header)).status, 'hop_limit')
  })

  test('a next hop that is not a peer of the relay is refused with no_route', async () => {
    const header = encodeOpenRequest(request({ target: echo.address, remainingPath: ['stranger'] }), {
      token: TEST_TOKEN,
      now: now(),
    })
    assert.equal((await ask(ports.relay, header)).status, 'no_route')
  })

  test('a refusal further down the path comes back to the ingress with the node that refused', async () => {
    // The tail names no route for this target: the relay forwards, the tail refuses.
    const header = encodeOpenRequest(request({ target: forbidden.address, remainingPath: ['tail'] }), {
      token: TEST_TOKEN,
      now: now(),
    })
    const socket = net.connect({ port: ports.relay, host: '127.0.0.1' })
    socket.on('error', () => {})
    await once(socket, 'connect')
    socket.write(header)
    const { response } = await readOpenResponse(socket, {
      maxBytes: MAX_RESPONSE_HEADER_BYTES,
      timeoutMs: 5000,
    })
    assert.equal(response.status, 'target_not_allowed')
    assert.equal(response.nodeId, 'tail')
    socket.destroy()
  })

  test('each refusal is counted by status and logged', async () => {
    await waitFor(() =>
      relay.logs.some((l) => l.msg === 'mesh request refused' && l.status === 'unauthorized'),
    )
    const line = relay.logs.find((l) => l.msg === 'mesh request refused' && l.status === 'target_not_allowed')
    assert.ok(line, 'a log line for target_not_allowed')
    const refusals = relay.node.getStats().mesh?.refusals ?? {}
    for (const status of [
      'unauthorized',
      'expired',
      'replayed',
      'target_not_allowed',
      'loop',
      'hop_limit',
      'no_route',
    ]) {
      assert.ok((refusals[status] ?? 0) >= 1, `${status} counted`)
    }
    const metrics = await (await fetch(`${relay.admin}/metrics`)).text()
    assert.match(metrics, /dynproxy_mesh_refusals_total\{status="unauthorized"\} [1-9]/)
    assert.match(metrics, /dynproxy_mesh_relayed_total [1-9]/)
  })

  test('garbage, truncated and oversized headers are closed; the node keeps serving and leaks nothing', async () => {
    const clientPorts = new Set<number>()
    const valid = encodeOpenRequest(request({ target: echo.address }), { token: TEST_TOKEN, now: now() })
    const oversized = Buffer.from(valid)
    oversized.writeUInt16BE(0xffff, 6)
    const cases = [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      randomBytes(64),
      oversized,
      Buffer.concat([Buffer.from('DYNP'), Buffer.of(9, 1, 0, 0)]),
    ]
    for (const bytes of cases) {
      const socket = net.connect({ port: ports.relay, host: '127.0.0.1' })
      socket.on('error', () => {})
      await once(socket, 'connect')
      clientPorts.add(socket.localPort as number)
      socket.write(bytes)
      assert.ok(await closedWithin(socket, 5000), `closed after ${bytes.subarray(0, 8).toString('hex')}`)
    }
    const truncated = net.connect({ port: ports.relay, host: '127.0.0.1' })
    truncated.on('error', () => {})
    await once(truncated, 'connect')
    clientPorts.add(truncated.localPort as number)
    truncated.end(valid.subarray(0, 20))
    assert.ok(await closedWithin(truncated, 5000), 'a truncated header is closed')
    const ok = await ask(
      ports.relay,
      encodeOpenRequest(request({ target: echo.address }), { token: TEST_TOKEN, now: now() }),
    )
    assert.equal(ok.status, 'ok', 'still serving')
    clientPorts.add(ok.socket.localPort as number)
    assert.equal(heldConnections(ports.relay, clientPorts), 1, 'the relay holds the one flow still open')
    ok.socket.destroy()
    await waitFor(() => relay.node.getFlows().length === 0, 'relayed flows to end', 5000)
    await waitFor(
      () => heldConnections(ports.relay, clientPorts) === 0,
      'the relay to release the connections of every client',
      5000,
    )
  })
})
