/**
 * TLS on the Bun socket layer: terminating listeners, mTLS accept and refusal, the handshake
 * deadline Bun lacks, and dials that verify the server's certificate and node identity themselves.
 * Peers are node:tls and node:net sockets, so refusals are seen as a foreign client sees them.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import tls from 'node:tls'
import {
  type Connection,
  type ConnectionSink,
  connect,
  type Listener,
  listen,
  peerNodeId,
} from '../../src/socket/index.ts'
import type { ServerTlsOptions } from '../../src/socket/tls-options.ts'
import { createTestPki, type TestPki } from '../helpers/certs.ts'
import { LayerProxy } from '../helpers/socket-proxy.ts'
import {
  patternBytes,
  sha256,
  startDigestServer,
  startServer,
  type TestServer,
} from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

/** Answers each accepted connection with the peer's node id, then half-closes. */
const SAY_WHO: ConnectionSink<undefined> = {
  owner: undefined,
  onData() {},
  onEnd(conn) {
    conn.end()
  },
  onDrain() {},
  onClose() {},
}

function sayWho(conn: Connection): void {
  conn.sink = SAY_WHO
  conn.write(Buffer.from(`you are ${peerNodeId(conn) ?? 'nobody'}`))
  conn.end()
  conn.resume()
}

interface TlsClientResult {
  readonly received: string
  readonly error: string | undefined
}

/** A node:tls client: what it read before the connection ended, and the error it ended with. */
function tlsClient(port: number, options: tls.ConnectionOptions): Promise<TlsClientResult> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: '127.0.0.1', port, servername: 'node-a', ...options })
    const chunks: Buffer[] = []
    let error: string | undefined
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('error', (err: NodeJS.ErrnoException) => (error ??= err.code ?? err.message))
    socket.on('secureConnect', () => socket.end())
    socket.on('close', () => resolve({ received: Buffer.concat(chunks).toString(), error }))
  })
}

function serverTls(pki: TestPki, nodeId: string, extra: Partial<ServerTlsOptions> = {}): ServerTlsOptions {
  const keys = pki.keysOf(nodeId)
  return { cert: keys.cert, key: keys.key, ...extra }
}

/** Sockets of `port` in CLOSE-WAIT, from /proc/net/tcp and tcp6 (state 08). */
function closeWaitCount(port: number): number {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, '0')}`
  let count = 0
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/)
      if (fields[1]?.endsWith(hexPort) && fields[3] === '08') count++
    }
  }
  return count
}

const MiB = 1024 * 1024

let pki: TestPki
let otherPki: TestPki

before(async () => {
  pki = await createTestPki(['node-a', 'node-b'])
  otherPki = await createTestPki(['node-b'], 'another test CA')
})

describe('a terminating TLS listener', () => {
  let target: TestServer
  let proxy: LayerProxy

  before(async () => {
    target = await startDigestServer(MiB)
    proxy = new LayerProxy({ targetPort: target.port, tls: serverTls(pki, 'node-a') })
  })
  after(async () => {
    proxy.close()
    await target.close()
  })

  test('relays the decrypted bytes to a plain upstream, half-close both ways', async () => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port: proxy.port,
      servername: 'node-a',
      ca: pki.ca.certPem,
    })
    await once(socket, 'secureConnect')
    const payload = patternBytes(5 * MiB + 1)
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.end(payload)
    await once(socket, 'end')
    const received = Buffer.concat(chunks)
    assert.equal(received.subarray(0, 64).toString(), sha256(payload))
    assert.ok(received.subarray(65).equals(patternBytes(MiB)))
    const done = await waitFor(() => proxy.finished[0], 'the relay to finish')
    assert.equal(done.outcome, 'downstream_closed')
    assert.equal(done.down.bytesRead, payload.length)
  })

  test('a client below minVersion is refused in the handshake', async () => {
    const strict = listen(
      {
        name: 'strict',
        host: '127.0.0.1',
        port: 0,
        tls: serverTls(pki, 'node-a', { minVersion: 'TLSv1.3' }),
      },
      sayWho,
    )
    try {
      const old = await tlsClient(strict.port, { ca: pki.ca.certPem, maxVersion: 'TLSv1.2' })
      assert.ok(old.error, 'a TLS 1.2 client got an error')
      const current = await tlsClient(strict.port, { ca: pki.ca.certPem })
      assert.equal(current.error, undefined)
      assert.equal(current.received, 'you are nobody')
      await waitFor(() => strict.counters.handshakeFailed === 1, 'the refusal to be counted')
      assert.equal(strict.counters.accepted, 1)
    } finally {
      strict.stopAll()
    }
  })
})

/**
 * How a strict TLS client (python's ssl, ragged EOFs not suppressed) sees its connection end after
 * sending `hello`: `eof` (close_notify, an orderly end), `ragged` (FIN without close_notify), `rst`.
 */
async function pythonTlsEnding(port: number, caFile: string): Promise<string> {
  const script = [
    'import socket, ssl, sys',
    'ctx = ssl.create_default_context(cafile=sys.argv[2])',
    'ctx.check_hostname = False',
    's = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), suppress_ragged_eofs=False)',
    's.sendall(b"hello"); s.settimeout(5)',
    'try:',
    '    while s.recv(65536): pass',
    '    print("eof")',
    'except ssl.SSLEOFError: print("ragged")',
    'except ConnectionResetError: print("rst")',
  ].join('\n')
  const child = spawn('python3', ['-c', script, String(port), caFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const chunks: Buffer[] = []
  child.stdout.on('data', (c: Buffer) => chunks.push(c))
  await once(child, 'exit')
  return Buffer.concat(chunks).toString().trim()
}

describe('resets towards a TLS client', () => {
  let target: TestServer
  let proxy: LayerProxy
  let resetNext = true
  const caFile = join(tmpdir(), `dynproxy-socket-ca-${process.pid}.pem`)

  before(async () => {
    writeFileSync(caFile, pki.ca.certPem)
    // Resets the connection once it reads `hello`, unless told to end it in order.
    target = await startServer((socket) => {
      socket.once('data', () => (resetNext ? socket.resetAndDestroy() : socket.end()))
    })
    proxy = new LayerProxy({ targetPort: target.port, tls: serverTls(pki, 'node-a') })
  })
  after(async () => {
    proxy.close()
    await target.close()
    rmSync(caFile, { force: true })
  })

  test('an upstream reset ends the TLS connection without close_notify, unlike an orderly end', async () => {
    // Bun's terminate() sends no RST on a TLS socket: what remains of a reset is the missing
    // close_notify, which a client that checks for truncation sees.
    resetNext = true
    assert.equal(await pythonTlsEnding(proxy.port, caFile), 'ragged')
    const reset = await waitFor(() => proxy.finished[0], 'the relay to finish')
    assert.equal(reset.outcome, 'upstream_reset')
    resetNext = false
    assert.equal(await pythonTlsEnding(proxy.port, caFile), 'eof')
    const orderly = await waitFor(() => proxy.finished[1], 'the relay to finish')
    assert.equal(orderly.outcome, 'upstream_closed')
  })
})

describe('mTLS', () => {
  let listener: Listener

  before(() => {
    const options = serverTls(pki, 'node-a', { ca: pki.ca.certPem, requestCert: true })
    listener = listen({ name: 'mesh', host: '127.0.0.1', port: 0, tls: options }, sayWho)
  })
  after(() => listener.stopAll())

  test('a client certificate of the CA is accepted, and its node id reaches the owner', async () => {
    const keys = pki.keysOf('node-b')
    const result = await tlsClient(listener.port, { ca: keys.ca, cert: keys.cert, key: keys.key })
    assert.deepEqual(result, { received: 'you are node-b', error: undefined })
  })

  test('a client without a certificate, or with one of another CA, never reaches the owner', async () => {
    const accepted = listener.counters.accepted
    const failed = listener.counters.handshakeFailed
    const none = await tlsClient(listener.port, { ca: pki.ca.certPem })
    const other = otherPki.keysOf('node-b')
    const foreign = await tlsClient(listener.port, { ca: pki.ca.certPem, cert: other.cert, key: other.key })
    for (const result of [none, foreign]) {
      assert.equal(result.received, '', 'the refused client read nothing')
      assert.ok(result.error, 'the refused client saw an error')
    }
    await waitFor(() => listener.counters.handshakeFailed === failed + 2, 'both refusals to be counted')
    assert.equal(listener.counters.accepted, accepted)
    await waitFor(() => listener.counters.active === 0, 'the refused connections to close')
  })

  test('our own dial presents its certificate and checks the node it reaches', async () => {
    const keys = pki.keysOf('node-b')
    const conn = await connect('127.0.0.1', listener.port, {
      timeoutMs: 5_000,
      tls: { ...keys, expectIdentity: 'node-a' },
    })
    const chunks: Buffer[] = []
    const closed = Promise.withResolvers<void>()
    conn.sink = {
      owner: undefined,
      onData: (_c, chunk) => void chunks.push(chunk),
      onEnd: (c) => c.end(),
      onDrain() {},
      onClose: () => closed.resolve(),
    }
    conn.resume()
    conn.end()
    await closed.promise
    assert.equal(Buffer.concat(chunks).toString(), 'you are node-b')
    assert.equal(conn.closeCause, 'peer')
  })

  test('a dial refuses a server whose certificate names another node', async () => {
    const keys = pki.keysOf('node-b')
    await assert.rejects(
      connect('127.0.0.1', listener.port, { timeoutMs: 5_000, tls: { ...keys, expectIdentity: 'node-c' } }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'DYN_ERR_PKI_PEER_IDENTITY')
        assert.match(err.message, /"node-a" does not match the peer dialed "node-c"/)
        return true
      },
    )
  })

  test('a dial refuses a server whose certificate is of another CA', async () => {
    const keys = otherPki.keysOf('node-b')
    await assert.rejects(
      connect('127.0.0.1', listener.port, { timeoutMs: 5_000, tls: { ...keys, servername: 'node-a' } }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'DYN_ERR_SOCKET_TLS_VERIFY')
        return true
      },
    )
  })
})

describe('the handshake deadline', () => {
  const DEADLINE_MS = 300
  let listener: Listener

  before(() => {
    listener = listen(
      {
        name: 'tls',
        host: '127.0.0.1',
        port: 0,
        tls: serverTls(pki, 'node-a'),
        handshakeTimeoutMs: DEADLINE_MS,
      },
      sayWho,
    )
  })
  after(() => listener.stopAll())

  for (const [what, bytes] of [
    ['a silent client', Buffer.alloc(0)],
    ['a client stuck in its ClientHello', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01])],
  ] as const) {
    test(`${what} is dropped after the deadline`, async () => {
      const timedOut = listener.counters.handshakeTimedOut
      const socket = net.connect(listener.port, '127.0.0.1')
      socket.on('error', () => {})
      await once(socket, 'connect')
      socket.write(bytes)
      const startedAt = Date.now()
      // A reset: once() would reject on the 'error' that comes first.
      await new Promise((resolve) => socket.on('close', resolve))
      const after = Date.now() - startedAt
      assert.ok(after >= DEADLINE_MS - 20, `dropped after ${after}ms`)
      assert.ok(after < DEADLINE_MS * 4, `dropped only after ${after}ms`)
      assert.equal(listener.counters.handshakeTimedOut, timedOut + 1)
      assert.equal(listener.counters.active, 0)
    })
  }

  test('150 clients that connect and close leave no socket in CLOSE-WAIT, long before the deadline', async () => {
    // The default deadline (10 s): what closes these sockets must be their FIN, not the sweep.
    const patient = listen({ name: 'tls', host: '127.0.0.1', port: 0, tls: serverTls(pki, 'node-a') }, sayWho)
    try {
      for (let i = 0; i < 150; i++) {
        const socket = net.connect(patient.port, '127.0.0.1')
        socket.on('error', () => {})
        await once(socket, 'connect')
        socket.end()
      }
      await waitFor(() => patient.counters.active === 0, 'every connection to close', 3_000)
      assert.equal(closeWaitCount(patient.port), 0)
      assert.equal(patient.counters.handshakeFailed, 150)
      assert.equal(patient.counters.handshakeTimedOut, 0)
      assert.equal(patient.counters.accepted, 0)
    } finally {
      patient.stopAll()
    }
  })
})
