/**
 * The Bun socket layer's relay between real loopback sockets: half-close both ways byte-exact,
 * resets passed on as resets, a client gone before its upstream connected, idle timeouts, byte
 * counts. The peers are node:net sockets, so what they see is what any other TCP stack would.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { LayerProxy } from '../helpers/socket-proxy.ts'
import {
  patternBytes,
  sendAndCollect,
  sha256,
  startDigestServer,
  startServer,
  type TestServer,
} from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const MiB = 1024 * 1024

function connectClient(port: number): Promise<net.Socket> {
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
  return once(socket, 'connect').then(() => socket)
}

/** Everything `socket` reads until its FIN. */
async function readToEnd(socket: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  await once(socket, 'end')
  return Buffer.concat(chunks)
}

/** The error a socket ends with (it must end with one). */
function errorOf(socket: net.Socket): Promise<NodeJS.ErrnoException> {
  return once(socket, 'error').then(([err]) => err as NodeJS.ErrnoException)
}

describe('half-close, client first', () => {
  const REPLY = 3 * MiB + 17
  let target: TestServer
  let proxy: LayerProxy

  before(async () => {
    target = await startDigestServer(REPLY)
    proxy = new LayerProxy({ targetPort: target.port })
  })
  after(async () => {
    proxy.close()
    await target.close()
  })

  for (const size of [1, 1000, 64 * 1024 + 1, MiB, 64 * MiB]) {
    test(`${size} bytes up, FIN, then ${REPLY} bytes back and FIN: byte-exact both ways`, async () => {
      const payload = patternBytes(size)
      const before = proxy.finished.length
      const { received } = await sendAndCollect(proxy.port, payload, '127.0.0.1', 60_000)
      const reply = patternBytes(REPLY)
      assert.equal(received.subarray(0, 65).toString(), `${sha256(payload)}\n`)
      assert.equal(received.length, 65 + REPLY)
      assert.ok(received.subarray(65).equals(reply), 'the reply after the client FIN arrived intact')
      const done = await waitFor(() => proxy.finished[before], 'the relay to finish')
      assert.equal(done.outcome, 'downstream_closed')
      assert.equal(done.down.bytesRead, size)
      assert.equal(done.up.bytesWritten, size)
      assert.equal(done.up.bytesRead, 65 + REPLY)
      assert.equal(done.down.bytesWritten, 65 + REPLY)
    })
  }
})

describe('half-close, upstream first', () => {
  let target: TestServer
  let proxy: LayerProxy
  let greetingSize = 0
  const got: Buffer[] = []

  before(async () => {
    // Sends its greeting and FIN at once, then reads the client until the client's FIN.
    target = await startServer((socket) => {
      socket.end(patternBytes(greetingSize))
      const chunks: Buffer[] = []
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.on('end', () => got.push(Buffer.concat(chunks)))
    })
    proxy = new LayerProxy({ targetPort: target.port })
  })
  after(async () => {
    proxy.close()
    await target.close()
  })

  for (const [greeting, size] of [
    [1, 64 * MiB],
    [64 * MiB, 1],
    [MiB, 8 * MiB + 3],
  ] as const) {
    test(`${greeting} bytes down and FIN, then the client writes ${size} bytes: all of it arrives`, async () => {
      greetingSize = greeting
      const before = proxy.finished.length
      const client = await connectClient(proxy.port)
      const clientPort = client.localPort
      const received = await readToEnd(client)
      assert.ok(received.equals(patternBytes(greeting)), 'the greeting arrived intact')
      const payload = patternBytes(size)
      client.end(payload)
      await waitFor(() => got.length === before + 1, 'the upstream to read the client FIN', 20_000)
      assert.equal(sha256(got[before] as Buffer), sha256(payload))
      const done = await waitFor(() => proxy.finished[before], 'the relay to finish')
      assert.equal(done.outcome, 'upstream_closed')
      assert.equal(done.down.bytesRead, size)
      assert.equal(done.down.bytesWritten, greeting)
      assert.deepEqual(done.down.addresses(), {
        remoteAddress: '127.0.0.1',
        remotePort: clientPort,
        localAddress: '127.0.0.1',
        localPort: proxy.port,
      })
      assert.equal(done.up.remoteAddress, undefined, 'never read while open, gone with the close')
    })
  }
})

describe('resets', () => {
  let target: TestServer
  let proxy: LayerProxy
  const upstreams: net.Socket[] = []

  before(async () => {
    target = await startServer((socket) => {
      upstreams.push(socket)
      socket.on('data', () => {})
    })
    proxy = new LayerProxy({ targetPort: target.port })
  })
  after(async () => {
    proxy.close()
    await target.close()
  })

  test('a client reset reaches the upstream as a reset', async () => {
    const client = await connectClient(proxy.port)
    client.write('hello')
    const upstream = await waitFor(() => upstreams[0], 'the upstream connection')
    await waitFor(() => upstream.bytesRead === 5, 'the bytes before the reset')
    const upstreamError = errorOf(upstream)
    client.resetAndDestroy()
    assert.equal((await upstreamError).code, 'ECONNRESET')
    const done = await waitFor(() => proxy.finished[0], 'the relay to finish')
    assert.equal(done.outcome, 'downstream_reset')
  })

  test('an upstream reset reaches the client as a reset', async () => {
    const client = await connectClient(proxy.port)
    const upstream = await waitFor(() => upstreams[1], 'the upstream connection')
    const clientError = errorOf(client)
    upstream.resetAndDestroy()
    assert.equal((await clientError).code, 'ECONNRESET')
    const done = await waitFor(() => proxy.finished[1], 'the relay to finish')
    assert.equal(done.outcome, 'upstream_reset')
  })
})

describe('a client that leaves before its upstream is connected', () => {
  let target: TestServer
  let proxy: LayerProxy
  let openGate: () => void = () => {}
  const upstreams: net.Socket[] = []
  const upstreamErrors: (string | undefined)[] = []

  before(async () => {
    target = await startServer((socket) => {
      upstreams.push(socket)
      socket.on('error', (err: NodeJS.ErrnoException) => upstreamErrors.push(err.code))
      const chunks: Buffer[] = []
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.on('end', () => socket.end(`got ${Buffer.concat(chunks).toString()}`))
    })
    proxy = new LayerProxy({
      targetPort: target.port,
      beforeDial: () => new Promise<void>((resolve) => (openGate = resolve)),
    })
  })
  after(async () => {
    proxy.close()
    await target.close()
  })

  test('its bytes and FIN are held and delivered in order, and the reply still reaches it', async () => {
    const client = await connectClient(proxy.port)
    const reply = readToEnd(client)
    client.end('early bytes')
    await waitFor(() => proxy.listener.counters.accepted === 1, 'the accept')
    await new Promise((resolve) => setTimeout(resolve, 100))
    assert.equal(upstreams.length, 0, 'no upstream yet')
    openGate()
    assert.equal((await reply).toString(), 'got early bytes')
    const done = await waitFor(() => proxy.finished[0], 'the relay to finish')
    assert.equal(done.outcome, 'downstream_closed')
  })

  test('its reset is passed on to the upstream once it connects', async () => {
    const client = await connectClient(proxy.port)
    await waitFor(() => proxy.listener.counters.accepted === 2, 'the accept')
    client.resetAndDestroy()
    await new Promise((resolve) => setTimeout(resolve, 100))
    openGate()
    const done = await waitFor(() => proxy.finished[1], 'the relay to finish')
    assert.equal(done.outcome, 'downstream_reset')
    await waitFor(() => upstreamErrors.length === 1, 'the upstream to see the reset')
    assert.deepEqual(upstreamErrors, ['ECONNRESET'])
  })
})

describe('idle timeout', () => {
  const IDLE_MS = 300
  let target: TestServer
  let proxy: LayerProxy

  before(async () => {
    target = await startServer((socket) => socket.pipe(socket))
    proxy = new LayerProxy({ targetPort: target.port, idleTimeoutMs: IDLE_MS })
  })
  after(async () => {
    proxy.close()
    await target.close()
  })

  test('traffic in either direction keeps a flow open; silence closes both sides', async () => {
    const client = await connectClient(proxy.port)
    const ended = once(client, 'end')
    let echoed = 0
    let lastEchoAt = 0
    client.on('data', (c: Buffer) => {
      echoed += c.length
      lastEchoAt = Date.now()
    })
    const startedAt = Date.now()
    for (let i = 0; i < 8; i++) {
      client.write('x')
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS / 3))
    }
    assert.equal(proxy.finished.length, 0, `closed while active after ${Date.now() - startedAt}ms`)
    assert.equal(echoed, 8)
    await ended
    const silentFor = Date.now() - lastEchoAt
    assert.ok(silentFor >= IDLE_MS, `closed after ${silentFor}ms of silence`)
    assert.ok(silentFor < IDLE_MS * 3, `closed only after ${silentFor}ms of silence`)
    const done = await waitFor(() => proxy.finished[0], 'the relay to finish')
    assert.equal(done.outcome, 'idle_timeout')
  })
})

describe('dial failure', () => {
  test('a refused upstream resets the client and reports why', async () => {
    const closedTarget = await startServer(() => {})
    const port = closedTarget.port
    await closedTarget.close()
    const proxy = new LayerProxy({ targetPort: port })
    try {
      const client = await connectClient(proxy.port)
      const error = errorOf(client)
      assert.equal((await error).code, 'ECONNRESET')
      const [failure] = proxy.dialErrors as [NodeJS.ErrnoException & { reason?: string }]
      assert.equal(failure.code, 'DYN_ERR_UPSTREAM_CONNECT_FAILED')
      assert.equal(failure.reason, 'refused')
    } finally {
      proxy.close()
    }
  })
})
