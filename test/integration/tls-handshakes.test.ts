/**
 * Clients that leave or stay silent during a TLS handshake hold nothing for long: every TLS server
 * (a listener that terminates TLS, the mTLS mesh port) closes them at its handshake timeout, so
 * they neither fill `max_connections` nor linger in CLOSE-WAIT.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import tls from 'node:tls'
import type { MeshTlsConfig } from '../../src/config/types.ts'
import { rejectedTotal } from '../../src/views/node-view.ts'
import { createTestPki, type TestPki } from '../helpers/certs.ts'
import { freePorts, startMeshNode } from '../helpers/mesh-harness.ts'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import { sendAndCollect, sha256, startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { socketStates } from '../helpers/tcp-states.ts'
import { waitFor } from '../helpers/wait-for.ts'

const HANDSHAKE_TIMEOUT_MS = 500

/** Opens `count` TCP connections to `port` and closes each as soon as it is established. */
async function connectAndLeave(port: number, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async () => {
      const socket = net.connect({ port, host: '127.0.0.1' })
      socket.on('error', () => {})
      socket.once('connect', () => socket.destroy())
      await once(socket, 'close')
    }),
  )
}

/** Opens `count` TCP connections to `port` that send nothing; resolves once the server closed every one. */
async function silentUntilClosed(port: number, count: number): Promise<void> {
  await Promise.all(
    Array.from({ length: count }, async () => {
      const socket = net.connect({ port, host: '127.0.0.1' })
      socket.on('error', () => {})
      socket.resume()
      await once(socket, 'close')
    }),
  )
}

function closeWaits(port: number): number {
  return socketStates(port).CLOSE_WAIT ?? 0
}

describe('TLS handshakes that never finish', () => {
  let dir: string
  let pki: TestPki
  let echo: TestServer
  const nodes: TestNode[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-handshakes-'))
    echo = await startEchoServer()
    pki = await createTestPki(['a', 'b'])
  })
  after(async () => {
    for (const node of nodes) await node.close()
    await echo?.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('150 clients leaving mid-handshake leave a listener with max_connections 100 serving, nothing in CLOSE-WAIT', async () => {
    const cert = join(dir, 'listener.pem')
    const key = join(dir, 'listener-key.pem')
    await writeFile(cert, pki.nodes.a!.certPem)
    await writeFile(key, pki.nodes.a!.keyPem, { mode: 0o600 })
    const node = await startTestNode(`common: { node_id: front, admin_addr: "127.0.0.1:0", log_level: warn }
listeners:
  - name: secure
    bind: "127.0.0.1:0"
    max_connections: 100
    tls: { cert: "${cert}", key: "${key}", handshake_timeout: ${HANDSHAKE_TIMEOUT_MS}ms }
routes: [{ name: out, target: "${echo.address}" }]
`)
    nodes.push(node)
    const port = node.port('secure')
    const started = Date.now()
    await connectAndLeave(port, 150)
    await waitFor(() => rejectedTotal(node.node.getListeners()[0]!.rejected) === 150, '150 refusals', 5000)
    await waitFor(() => closeWaits(port) === 0, 'no socket in CLOSE-WAIT', 5000)
    assert.ok(Date.now() - started < HANDSHAKE_TIMEOUT_MS + 3000)
    const socket = tls.connect({
      port,
      host: '127.0.0.1',
      ca: pki.ca.certPem,
      checkServerIdentity: () => undefined,
    })
    await once(socket, 'secureConnect')
    socket.end('after the flood')
    const [reply] = (await once(socket, 'data')) as [Buffer]
    assert.equal(reply.toString(), 'after the flood')
    socket.destroy()
    await waitFor(() => node.node.getListeners()[0]?.activeConnections === 0, 'the flow to end', 5000)
  })

  test('a client silent during its handshake is closed after the handshake timeout, not 120 s', async () => {
    const cert = join(dir, 'listener.pem')
    const key = join(dir, 'listener-key.pem')
    const node = await startTestNode(`common: { node_id: quiet, admin_addr: "127.0.0.1:0", log_level: warn }
listeners:
  - { name: secure, bind: "127.0.0.1:0", tls: { cert: "${cert}", key: "${key}", handshake_timeout: ${HANDSHAKE_TIMEOUT_MS}ms } }
routes: [{ name: out, target: "${echo.address}" }]
`)
    nodes.push(node)
    const started = Date.now()
    await silentUntilClosed(node.port('secure'), 10)
    const tookMs = Date.now() - started
    assert.ok(
      tookMs >= HANDSHAKE_TIMEOUT_MS - 50 && tookMs < HANDSHAKE_TIMEOUT_MS + 3000,
      `closed after ${tookMs} ms`,
    )
  })

  test('the mTLS mesh port closes clients that leave or stay silent mid-handshake and keeps relaying', async () => {
    const files = await pki.writeTo(join(dir, 'mesh'))
    const tlsOf = (id: 'a' | 'b') => {
      const f = files.nodes[id] as MeshTlsConfig
      return `  tls: { cert: "${f.certFile}", key: "${f.keyFile}", ca: "${f.caFile}" }\n  handshake_timeout: ${HANDSHAKE_TIMEOUT_MS}ms`
    }
    const p = await freePorts(['a', 'b'])
    const b = await startMeshNode({
      id: 'b',
      meshPort: p.b,
      token: null,
      meshExtra: `${tlsOf('b')}\n  allow_targets: ["127.0.0.1/32"]`,
    })
    nodes.push(b)
    const a = await startMeshNode({
      id: 'a',
      meshPort: p.a,
      token: null,
      meshExtra: tlsOf('a'),
      peers: [{ id: 'b', port: p.b, type: 'tls' }],
      yaml: `listeners: [{ name: in, bind: "127.0.0.1:0" }]\nroutes: [{ name: out, via: [b], target: "${echo.address}" }]\n`,
    })
    nodes.push(a)
    const started = Date.now()
    await Promise.all([connectAndLeave(p.b, 150), silentUntilClosed(p.b, 10)])
    assert.ok(
      Date.now() - started < HANDSHAKE_TIMEOUT_MS + 3000,
      'silent clients closed at the handshake timeout',
    )
    await waitFor(() => closeWaits(p.b) === 0, 'no socket in CLOSE-WAIT', 5000)
    await waitFor(
      () => (b.node.getStats().mesh?.rejectedConnections ?? 0) >= 160,
      'the refusals counted',
      5000,
    )
    const payload = Buffer.from('through b after the flood')
    assert.equal((await sendAndCollect(a.port('in'), payload)).sha256, sha256(payload))
  })
})
