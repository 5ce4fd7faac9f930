/**
 * The mesh header reader and writer on real loopback connections: the node's side is a Connection
 * of the socket layer (accepted, or dialed), the other side a node:net peer, as any TCP stack.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, afterEach, before, describe, test } from 'node:test'
import { setTimeout as delay } from 'node:timers/promises'
import {
  MeshConnectionClosedError,
  MeshHeaderError,
  MeshHeaderTimeoutError,
  MeshVersionError,
} from '../../src/errors/mesh.ts'
import {
  encodeOpenRequest,
  MAX_REQUEST_HEADER_BYTES,
  MAX_RESPONSE_HEADER_BYTES,
  type OpenRequest,
  readOpenRequest,
  readOpenResponse,
  writeResponse,
} from '../../src/mesh/index.ts'
import { connect } from '../../src/socket/connect.ts'
import type { Connection, ConnectionSink } from '../../src/socket/connection.ts'
import { type Listener, listen } from '../../src/socket/listen.ts'
import { readToEnd } from '../helpers/connections.ts'

const request: OpenRequest = {
  flowId: Buffer.alloc(16, 0x42),
  sourceNodeId: 'ingress',
  remainingHops: 2,
  visited: ['ingress'],
  remainingPath: ['egress'],
  target: '127.0.0.1:7',
  mode: 'raw',
  subflowIndex: 0,
}

const opts = { maxBytes: MAX_REQUEST_HEADER_BYTES, timeoutMs: 3_000 }
const T = { timeout: 10_000 }

/** Writes back what it reads, FIN included. */
const ECHO: ConnectionSink<undefined> = {
  owner: undefined,
  onData: (conn, chunk) => void conn.write(chunk),
  onEnd: (conn) => conn.end(),
  onDrain() {},
  onClose() {},
}

/** The node's side accepts here. */
let listener: Listener
const accepted: Connection[] = []
const waiting: ((c: Connection) => void)[] = []
/** The test's peers accept here, for the node's side to dial. */
let peers: net.Server
const peerWaiting: ((s: net.Socket) => void)[] = []
const open = new Set<net.Socket>()
const connections = new Set<Connection>()

before(async () => {
  listener = listen({ name: 'mesh test', host: '127.0.0.1', port: 0 }, (conn) => {
    connections.add(conn)
    const next = waiting.shift()
    if (next) next(conn)
    else accepted.push(conn)
  })
  peers = net.createServer({ allowHalfOpen: true }, (socket) => {
    open.add(socket)
    socket.on('error', () => {})
    peerWaiting.shift()?.(socket)
  })
  peers.listen(0, '127.0.0.1')
  await once(peers, 'listening')
})

afterEach(() => {
  for (const s of open) s.destroy()
  open.clear()
  for (const c of connections) c.closeNow()
  connections.clear()
})

after(async () => {
  listener.stopAll()
  await new Promise<void>((resolve) => peers.close(() => resolve()))
})

/** A test peer (`client`) connected to the node's side (`peer`), which it accepted. */
async function pair(): Promise<{ client: net.Socket; peer: Connection }> {
  const client = net.connect({ port: listener.port, host: '127.0.0.1', allowHalfOpen: true, noDelay: true })
  open.add(client)
  client.on('error', () => {})
  const peer = accepted.shift() ?? (await new Promise<Connection>((resolve) => waiting.push(resolve)))
  await once(client, 'connect').catch(() => undefined)
  return { client, peer }
}

/** The node's side (`client`) dialed to a test peer (`peer`). */
async function dialed(): Promise<{ client: Connection; peer: net.Socket }> {
  const arrived = new Promise<net.Socket>((resolve) => peerWaiting.push(resolve))
  const address = peers.address() as net.AddressInfo
  const client = await connect('127.0.0.1', address.port, { timeoutMs: 3_000 })
  connections.add(client)
  return { client, peer: await arrived }
}

/** The reader left the connection as it found it: no owner, still open. */
function detached(conn: Connection): void {
  assert.equal(conn.sink, undefined, 'the reader left no sink behind')
}

async function readRest(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  socket.resume()
  await once(socket, 'end')
  return Buffer.concat(chunks)
}

describe('readOpenRequest on loopback', () => {
  test('a header split over many small writes arrives whole, left to its caller', T, async () => {
    const { client, peer } = await pair()
    const header = encodeOpenRequest(request, { token: 'tok', now: Date.now() })
    const reading = readOpenRequest(peer, opts)
    for (let i = 0; i < header.length; i += 3) {
      client.write(header.subarray(i, i + 3))
      await delay(1)
    }
    const { request: got, raw } = await reading
    assert.deepEqual(raw, header)
    assert.equal(got.target, request.target)
    assert.deepEqual(got.remainingPath, ['egress'])
    assert.ok(got.auth)
    detached(peer)
  })

  test('bytes after the header, in the same write and later, stay readable in order', T, async () => {
    const { client, peer } = await pair()
    const header = encodeOpenRequest(request)
    client.write(Buffer.concat([header, Buffer.from('first|')]))
    const { raw } = await readOpenRequest(peer, opts)
    assert.deepEqual(raw, header)
    client.end('second')
    assert.equal(await readToEnd(peer), 'first|second')
  })

  test('the rest can be relayed after the header, and the header bytes are not repeated', T, async () => {
    const { client, peer } = await pair()
    client.end(Buffer.concat([encodeOpenRequest(request), Buffer.from('payload')]))
    await readOpenRequest(peer, opts)
    peer.sink = ECHO
    peer.resume()
    assert.equal((await readRest(client)).toString(), 'payload')
  })

  test('an incomplete header times out, left to its caller', T, async () => {
    const { client, peer } = await pair()
    client.write(encodeOpenRequest(request).subarray(0, 11))
    const started = performance.now()
    await assert.rejects(readOpenRequest(peer, { ...opts, timeoutMs: 150 }), (err: unknown) => {
      assert.ok(err instanceof MeshHeaderTimeoutError)
      assert.equal(err.code, 'DYN_ERR_MESH_HEADER_TIMEOUT')
      assert.match(err.message, /within 150ms \(11 bytes received/)
      return true
    })
    assert.ok(performance.now() - started >= 140)
    detached(peer)
    assert.equal(peer.closed, false, 'the reader leaves closing to its caller')
  })

  test('a close before the full header rejects at once, left to its caller', T, async () => {
    const { client, peer } = await pair()
    const reading = readOpenRequest(peer, opts)
    client.end(encodeOpenRequest(request).subarray(0, 20))
    await assert.rejects(reading, (err: unknown) => {
      assert.ok(err instanceof MeshConnectionClosedError)
      assert.equal(err.code, 'DYN_ERR_MESH_CONNECTION_CLOSED')
      assert.match(err.message, /after 20 bytes/)
      return true
    })
    detached(peer)
  })

  test('a reset before the full header rejects', T, async () => {
    const { client, peer } = await pair()
    const reading = readOpenRequest(peer, opts)
    client.write(Buffer.from('DYNP'))
    await delay(20)
    client.resetAndDestroy()
    await assert.rejects(reading, MeshConnectionClosedError)
    detached(peer)
  })

  test('a connection already closed rejects without waiting', T, async () => {
    const { peer } = await pair()
    peer.closeNow()
    await assert.rejects(readOpenRequest(peer, { ...opts, timeoutMs: 5_000 }), MeshConnectionClosedError)
    detached(peer)
  })

  test('garbage is refused on its first bytes, not at the timeout', T, async () => {
    const { client, peer } = await pair()
    const started = performance.now()
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await assert.rejects(readOpenRequest(peer, { ...opts, timeoutMs: 5_000 }), { field: 'magic' })
    assert.ok(performance.now() - started < 2_000)
    detached(peer)
  })

  test('an unknown version is a MeshVersionError', T, async () => {
    const { client, peer } = await pair()
    const header = encodeOpenRequest(request)
    header[4] = 9
    client.write(header)
    await assert.rejects(readOpenRequest(peer, opts), MeshVersionError)
  })

  test('a header declaring more than maxBytes is refused once its length is known', T, async () => {
    const { client, peer } = await pair()
    const started = performance.now()
    client.write(Buffer.from('44594e5001010fa0', 'hex'))
    await assert.rejects(readOpenRequest(peer, { maxBytes: 1_000, timeoutMs: 5_000 }), (err: unknown) => {
      assert.ok(err instanceof MeshHeaderError)
      assert.match(err.message, /4008 bytes exceeds max 1000/)
      return true
    })
    assert.ok(performance.now() - started < 2_000)
    detached(peer)
  })
})

describe('writeResponse and readOpenResponse on loopback', () => {
  test('a response with message and node id, followed by data', T, async () => {
    // The writer on a connection the node accepted; what it wrote reaches the reader on one it dialed.
    const written = await pair()
    writeResponse(written.peer, 'target_unreachable', 'connect ECONNREFUSED 127.0.0.1:7', 'egress-1')
    written.peer.end()
    const bytes = await readRest(written.client)
    const { client, peer } = await dialed()
    peer.end(Buffer.concat([bytes, Buffer.from('tail')]))
    const { response, raw } = await readOpenResponse(client, {
      maxBytes: MAX_RESPONSE_HEADER_BYTES,
      timeoutMs: 3_000,
    })
    assert.deepEqual(response, {
      status: 'target_unreachable',
      message: 'connect ECONNREFUSED 127.0.0.1:7',
      nodeId: 'egress-1',
    })
    assert.equal(raw[1], 5)
    detached(client)
    assert.equal(await readToEnd(client), 'tail')
  })

  test('ok sent byte by byte, then a full exchange in both directions', T, async () => {
    const { client, peer } = await dialed()
    const reading = readOpenResponse(client, { maxBytes: MAX_RESPONSE_HEADER_BYTES, timeoutMs: 3_000 })
    for (const byte of [1, 0, 0, 0]) {
      peer.write(Buffer.of(byte))
      await delay(2)
    }
    assert.deepEqual((await reading).response, { status: 'ok' })
    peer.pipe(peer)
    client.write(Buffer.from('ping'))
    client.end()
    assert.equal(await readToEnd(client), 'ping')
  })

  test('a close before the response rejects', T, async () => {
    const { client, peer } = await dialed()
    peer.end()
    await assert.rejects(
      readOpenResponse(client, { maxBytes: MAX_RESPONSE_HEADER_BYTES, timeoutMs: 3_000 }),
      MeshConnectionClosedError,
    )
  })
})
