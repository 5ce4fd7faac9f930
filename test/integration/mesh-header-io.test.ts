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
const EVENTS = ['data', 'end', 'close', 'error', 'readable'] as const
const T = { timeout: 10_000 }

let server: net.Server
const accepted: net.Socket[] = []
const waiting: ((s: net.Socket) => void)[] = []
const open = new Set<net.Socket>()

before(async () => {
  server = net.createServer({ allowHalfOpen: true }, (socket) => {
    open.add(socket)
    // The caller's own error listener, which the reader relies on after it returns.
    socket.on('error', () => {})
    const next = waiting.shift()
    if (next) next(socket)
    else accepted.push(socket)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
})

afterEach(() => {
  for (const s of open) s.destroy()
  open.clear()
})

after(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()))
})

async function pair(): Promise<{ client: net.Socket; peer: net.Socket }> {
  const { port } = server.address() as net.AddressInfo
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true, noDelay: true })
  open.add(client)
  client.on('error', () => {})
  const peer = accepted.shift() ?? (await new Promise<net.Socket>((resolve) => waiting.push(resolve)))
  await once(client, 'connect').catch(() => undefined)
  return { client, peer }
}

function listeners(socket: net.Socket): number[] {
  return EVENTS.map((e) => socket.listenerCount(e))
}

async function readRest(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  socket.resume()
  await once(socket, 'end')
  return Buffer.concat(chunks)
}

describe('readOpenRequest on loopback', () => {
  test('a header split over many small writes arrives whole, listeners restored', T, async () => {
    const { client, peer } = await pair()
    const before = listeners(peer)
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
    assert.deepEqual(listeners(peer), before)
  })

  test('bytes after the header, in the same write and later, stay readable in order', T, async () => {
    const { client, peer } = await pair()
    const header = encodeOpenRequest(request)
    client.write(Buffer.concat([header, Buffer.from('first|')]))
    const { raw } = await readOpenRequest(peer, opts)
    assert.deepEqual(raw, header)
    client.end('second')
    assert.equal((await readRest(peer)).toString(), 'first|second')
  })

  test('the rest can be piped after the header, and the header bytes are not repeated', T, async () => {
    const { client, peer } = await pair()
    client.end(Buffer.concat([encodeOpenRequest(request), Buffer.from('payload')]))
    await readOpenRequest(peer, opts)
    peer.pipe(peer)
    assert.equal((await readRest(client)).toString(), 'payload')
  })

  test('an incomplete header times out, listeners restored', T, async () => {
    const { client, peer } = await pair()
    const before = listeners(peer)
    client.write(encodeOpenRequest(request).subarray(0, 11))
    const started = performance.now()
    await assert.rejects(readOpenRequest(peer, { ...opts, timeoutMs: 150 }), (err: unknown) => {
      assert.ok(err instanceof MeshHeaderTimeoutError)
      assert.equal(err.code, 'DYN_ERR_MESH_HEADER_TIMEOUT')
      assert.match(err.message, /within 150ms \(11 bytes received/)
      return true
    })
    assert.ok(performance.now() - started >= 140)
    assert.deepEqual(listeners(peer), before)
    assert.equal(peer.destroyed, false, 'the reader leaves closing to its caller')
  })

  test('a close before the full header rejects at once, listeners restored', T, async () => {
    const { client, peer } = await pair()
    const before = listeners(peer)
    const reading = readOpenRequest(peer, opts)
    client.end(encodeOpenRequest(request).subarray(0, 20))
    await assert.rejects(reading, (err: unknown) => {
      assert.ok(err instanceof MeshConnectionClosedError)
      assert.equal(err.code, 'DYN_ERR_MESH_CONNECTION_CLOSED')
      assert.match(err.message, /after 20 bytes/)
      return true
    })
    assert.deepEqual(listeners(peer), before)
  })

  test('a reset before the full header rejects', T, async () => {
    const { client, peer } = await pair()
    const before = listeners(peer)
    const reading = readOpenRequest(peer, opts)
    client.write(Buffer.from('DYNP'))
    await delay(20)
    client.resetAndDestroy()
    await assert.rejects(reading, MeshConnectionClosedError)
    assert.deepEqual(listeners(peer), before)
  })

  test('a socket already closed rejects without waiting', T, async () => {
    const { peer } = await pair()
    peer.destroy()
    const before = listeners(peer)
    await assert.rejects(readOpenRequest(peer, { ...opts, timeoutMs: 5_000 }), MeshConnectionClosedError)
    assert.deepEqual(listeners(peer), before)
  })

  test('garbage is refused on its first bytes, not at the timeout', T, async () => {
    const { client, peer } = await pair()
    const before = listeners(peer)
    const started = performance.now()
    client.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await assert.rejects(readOpenRequest(peer, { ...opts, timeoutMs: 5_000 }), { field: 'magic' })
    assert.ok(performance.now() - started < 2_000)
    assert.deepEqual(listeners(peer), before)
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
    const before = listeners(peer)
    const started = performance.now()
    client.write(Buffer.from('44594e5001010fa0', 'hex'))
    await assert.rejects(readOpenRequest(peer, { maxBytes: 1_000, timeoutMs: 5_000 }), (err: unknown) => {
      assert.ok(err instanceof MeshHeaderError)
      assert.match(err.message, /4008 bytes exceeds max 1000/)
      return true
    })
    assert.ok(performance.now() - started < 2_000)
    assert.deepEqual(listeners(peer), before)
  })
})

describe('writeResponse and readOpenResponse on loopback', () => {
  test('a response with message and node id, followed by data', T, async () => {
    const { client, peer } = await pair()
    const before = listeners(client)
    writeResponse(peer, 'target_unreachable', 'connect ECONNREFUSED 127.0.0.1:7', 'egress-1')
    peer.end('tail')
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
    assert.deepEqual(listeners(client), before)
    assert.equal((await readRest(client)).toString(), 'tail')
  })

  test('ok sent byte by byte, then a full exchange in both directions', T, async () => {
    const { client, peer } = await pair()
    const reading = readOpenResponse(client, { maxBytes: MAX_RESPONSE_HEADER_BYTES, timeoutMs: 3_000 })
    for (const byte of [1, 0, 0, 0]) {
      peer.write(Buffer.of(byte))
      await delay(2)
    }
    assert.deepEqual((await reading).response, { status: 'ok' })
    peer.pipe(peer)
    client.end('ping')
    assert.equal((await readRest(client)).toString(), 'ping')
  })

  test('a close before the response rejects', T, async () => {
    const { client, peer } = await pair()
    peer.end()
    await assert.rejects(
      readOpenResponse(client, { maxBytes: MAX_RESPONSE_HEADER_BYTES, timeoutMs: 3_000 }),
      MeshConnectionClosedError,
    )
  })
})
