import assert from 'node:assert/strict'
import { createHash, X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import tls from 'node:tls'
import { loadConfigText } from '../../src/config/index.ts'
import { ProxyNode } from '../../src/node/node.ts'
import { createCa, issueNodeCert, type PemPair } from '../../src/pki/issue.ts'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import { patternBytes, sha256, startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

interface TlsClient {
  readonly key?: string
  readonly cert?: string
}

/** Sends `payload` over TLS, half-closes, and returns what came back before the server's end. */
async function tlsRoundTrip(port: number, ca: string, payload: Buffer, client: TlsClient = {}) {
  const socket = tls.connect({ port, host: '127.0.0.1', ca, ...client })
  await once(socket, 'secureConnect')
  const fingerprint = socket.getPeerX509Certificate()?.fingerprint256
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  socket.end(payload)
  await once(socket, 'end')
  socket.destroy()
  return { sha256: sha256(Buffer.concat(chunks)), fingerprint }
}

function handshakeFails(port: number, ca: string, client: TlsClient = {}): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tls.connect({ port, host: '127.0.0.1', ca, ...client })
    socket.on('secureConnect', () => {
      // TLS 1.3: the server refuses a missing client certificate after the client's handshake ends.
      socket.on('error', () => resolve(true))
      socket.on('end', () => resolve(true))
      socket.write('x')
    })
    socket.on('error', () => resolve(true))
  })
}

describe('listeners that terminate TLS', () => {
  let dir: string
  let echo: TestServer
  let ca: PemPair
  let server: PemPair
  let client: PemPair
  const files = { cert: '', key: '', clientCa: '' }
  const nodes: (TestNode | ProxyNode)[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-listener-tls-'))
    echo = await startEchoServer()
    ca = await createCa({ name: 'listener test CA', validDays: 2 })
    server = await issueNodeCert({ ca, nodeId: 'front', validDays: 2, hosts: ['127.0.0.1', 'localhost'] })
    client = await issueNodeCert({ ca, nodeId: 'client-a', validDays: 2 })
    files.cert = join(dir, 'front.pem')
    files.key = join(dir, 'front-key.pem')
    files.clientCa = join(dir, 'ca.pem')
    await writeFile(files.cert, server.certPem)
    await writeFile(files.key, server.keyPem, { mode: 0o600 })
    await writeFile(files.clientCa, ca.certPem)
  })
  after(async () => {
    for (const n of nodes) await (n instanceof ProxyNode ? n.destroy() : n.close())
    await echo.close()
    await rm(dir, { recursive: true, force: true })
  })

  function yaml(tlsSection: string): string {
    return `common: { admin_addr: "127.0.0.1:0", log_level: warn }
listeners:
  - { name: secure, bind: "127.0.0.1:0", tls: ${tlsSection} }
routes:
  - { name: secure, match: { listener: secure }, target: "${echo.address}" }
`
  }

  async function start(tlsSection: string): Promise<TestNode> {
    const node = await startTestNode(yaml(tlsSection))
    nodes.push(node)
    return node
  }

  test('carries bytes exactly and keeps half-close, with the target seeing plain TCP', async () => {
    const node = await start(`{ cert: "${files.cert}", key: "${files.key}" }`)
    const payload = patternBytes(4 * 1024 * 1024)
    const result = await tlsRoundTrip(node.port('secure'), ca.certPem, payload)
    assert.equal(result.sha256, sha256(payload))
    assert.equal(result.fingerprint, new X509Certificate(server.certPem).fingerprint256)
  })

  test('routes by the server name the client asked for in its handshake', async () => {
    const greeter = net.createServer((socket) => socket.end('by name\n'))
    greeter.listen(0, '127.0.0.1')
    await once(greeter, 'listening')
    try {
      const node = await startTestNode(`common: { admin_addr: "127.0.0.1:0", log_level: warn }
listeners:
  - { name: secure, bind: "127.0.0.1:0", tls: { cert: "${files.cert}", key: "${files.key}" } }
routes:
  - { name: named, match: { sni: "*.front.test" }, target: "127.0.0.1:${(greeter.address() as net.AddressInfo).port}" }
  - { name: secure, match: { listener: secure }, target: "${echo.address}" }
`)
      nodes.push(node)
      const ask = async (servername: string) => {
        const socket = tls.connect({
          port: node.port('secure'),
          host: '127.0.0.1',
          ca: ca.certPem,
          servername,
          checkServerIdentity: () => undefined,
        })
        await once(socket, 'secureConnect')
        let answer = ''
        socket.on('data', (c: Buffer) => {
          answer += c.toString()
        })
        socket.end('echo me\n')
        await once(socket, 'end')
        socket.destroy()
        return answer
      }
      assert.equal(await ask('api.front.test'), 'by name\n')
      assert.equal(await ask('other.test'), 'echo me\n')
      await waitFor(
        () => node.logs.some((l) => l.sni === 'api.front.test' && l.route === 'named'),
        'log',
        2000,
      )
    } finally {
      greeter.close()
    }
  })

  test('a client that does not speak TLS is counted and closed; the node goes on', async () => {
    const node = await start(`{ cert: "${files.cert}", key: "${files.key}" }`)
    const port = node.port('secure')
    const plain = net.connect({ port, host: '127.0.0.1' })
    plain.on('error', () => {})
    plain.write('GET / HTTP/1.0\r\n\r\n')
    await once(plain, 'close')
    await waitFor(() => node.node.getListeners()[0]?.rejected.tls_handshake === 1, 'the count', 2000)
    assert.equal(node.node.getStats().connections.total, 0)
    const payload = Buffer.from('after garbage')
    assert.equal((await tlsRoundTrip(port, ca.certPem, payload)).sha256, sha256(payload))
  })

  test('with client_ca, only clients with a certificate from that CA get through', async () => {
    const node = await start(`{ cert: "${files.cert}", key: "${files.key}", client_ca: "${files.clientCa}" }`)
    const port = node.port('secure')
    assert.equal(await handshakeFails(port, ca.certPem), true)
    const stranger = await issueNodeCert({
      ca: await createCa({ name: 'other', validDays: 2 }),
      nodeId: 'x',
      validDays: 2,
    })
    assert.equal(
      await handshakeFails(port, ca.certPem, { key: stranger.keyPem, cert: stranger.certPem }),
      true,
    )
    await waitFor(() => (node.node.getListeners()[0]?.rejected.tls_handshake ?? 0) >= 2, 'the refusals', 2000)
    const payload = Buffer.from('with a certificate')
    const ok = await tlsRoundTrip(port, ca.certPem, payload, { key: client.keyPem, cert: client.certPem })
    assert.equal(ok.sha256, sha256(payload))
  })

  test('unreadable or mismatched files stop the start, naming the file', async () => {
    const missing = loadConfigText(yaml(`{ cert: "${dir}/nope.pem", key: "${files.key}" }`))
    await assert.rejects(new ProxyNode(missing).start(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'DYN_ERR_LISTENER_TLS')
      assert.match(err.message, /listener "secure": cannot read the certificate .*nope\.pem: ENOENT/)
      return true
    })
    const mismatched = loadConfigText(yaml(`{ cert: "${files.cert}", key: "${files.clientCa}" }`))
    await assert.rejects(new ProxyNode(mismatched).start(), /do not make a TLS context/)
  })

  test('a reload re-reads the files: a renewed certificate serves new connections at once', async () => {
    const certFile = join(dir, 'rotating.pem')
    const keyFile = join(dir, 'rotating-key.pem')
    await writeFile(certFile, server.certPem)
    await writeFile(keyFile, server.keyPem)
    const config = loadConfigText(yaml(`{ cert: "${certFile}", key: "${keyFile}" }`))
    const node = new ProxyNode(config)
    nodes.push(node)
    await node.start()
    const port = node.listenerPort('secure')
    const first = await tlsRoundTrip(port, ca.certPem, Buffer.from('a'))
    const renewed = await issueNodeCert({ ca, nodeId: 'front', validDays: 2, hosts: ['127.0.0.1'] })
    await writeFile(certFile, renewed.certPem)
    await writeFile(keyFile, renewed.keyPem)
    const outcome = await node.reload(config)
    assert.deepEqual(outcome.errors, [])
    const second = await tlsRoundTrip(port, ca.certPem, Buffer.from('b'))
    assert.notEqual(second.fingerprint, first.fingerprint)
    assert.equal(second.fingerprint, new X509Certificate(renewed.certPem).fingerprint256)
    assert.equal(createHash('sha256').update('b').digest('hex'), second.sha256)
  })
})
