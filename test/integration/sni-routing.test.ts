import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, it } from 'node:test'
import tls from 'node:tls'
import { createCa, issueNodeCert, type PemPair } from '../../src/pki/issue.ts'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'

/**
 * TLS passed through, routed by the server name of the ClientHello: each backend terminates TLS
 * with its own certificate and answers its own name, so the client sees whose certificate it
 * got and which backend served it. The proxy never holds a key.
 */
interface Backend {
  readonly name: string
  readonly cert: PemPair
  readonly server: tls.Server
  port: number
}

let ca: PemPair
const backends: Backend[] = []
let node: TestNode
let plainTarget: net.Server
let plainPort = 0

async function startBackend(name: string, hosts: string[]): Promise<Backend> {
  const cert = await issueNodeCert({ ca, nodeId: name, validDays: 2, hosts })
  const server = tls.createServer({ key: cert.keyPem, cert: cert.certPem }, (socket) => {
    socket.on('error', () => {})
    socket.end(`${name}\n`)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const backend = { name, cert, server, port: (server.address() as net.AddressInfo).port }
  backends.push(backend)
  return backend
}

before(async () => {
  ca = await createCa({ name: 'sni test CA', validDays: 2 })
  const api = await startBackend('api', ['api.example.test'])
  const web = await startBackend('web', ['*.web.example.test'])
  const fallback = await startBackend('fallback', ['other.test'])
  plainTarget = net.createServer((socket) => socket.end('plain\n'))
  plainTarget.listen(0, '127.0.0.1')
  await once(plainTarget, 'listening')
  plainPort = (plainTarget.address() as net.AddressInfo).port
  node = await startTestNode(`common: { node_id: sni, drain_timeout: 1s }
listeners:
  - { name: tls, bind: "127.0.0.1:0", inspect_sni: true }
  - { name: lb, bind: "127.0.0.1:0", inspect_sni: true, proxy_protocol: true, proxy_protocol_from: ["127.0.0.1/32"] }
routes:
  - { name: api, match: { sni: api.example.test }, target: "127.0.0.1:${api.port}" }
  - { name: web, match: { sni: "*.web.example.test" }, target: "127.0.0.1:${web.port}" }
  - { name: named, match: { sni: ["other.test", "more.test"] }, target: "127.0.0.1:${fallback.port}" }
  - { name: rest, match: { listener: tls }, target: "127.0.0.1:${plainPort}" }
`)
})

after(async () => {
  await node?.close()
  for (const b of backends) b.server.close()
  plainTarget?.close()
})

/** Connects with `servername` and returns who answered and whose certificate it was. */
async function connect(
  servername: string | undefined,
): Promise<{ answer: string; certFor: string | undefined }> {
  const socket = tls.connect({
    port: node.port('tls'),
    host: '127.0.0.1',
    ca: ca.certPem,
    ...(servername !== undefined && { servername }),
    checkServerIdentity: () => undefined,
  })
  await once(socket, 'secureConnect')
  const cert = socket.getPeerX509Certificate()
  const certFor = backends.find(
    (b) => cert?.fingerprint256 === new X509Certificate(b.cert.certPem).fingerprint256,
  )?.name
  let answer = ''
  socket.on('data', (c: Buffer) => {
    answer += c.toString()
  })
  await once(socket, 'end')
  socket.destroy()
  return { answer: answer.trim(), certFor }
}

describe('routes that match the TLS server name (inspect_sni)', () => {
  it('take each name to its backend, TLS untouched end to end', async () => {
    assert.deepEqual(await connect('api.example.test'), { answer: 'api', certFor: 'api' })
    assert.deepEqual(await connect('a.web.example.test'), { answer: 'web', certFor: 'web' })
    assert.deepEqual(await connect('deep.a.web.example.test'), { answer: 'web', certFor: 'web' })
    assert.deepEqual(await connect('MORE.test'), { answer: 'fallback', certFor: 'fallback' })
  })

  it('show the name in /flows and the access log, and count the flows per route', async () => {
    const socket = tls.connect({
      port: node.port('tls'),
      host: '127.0.0.1',
      servername: 'api.example.test',
      ca: ca.certPem,
    })
    socket.on('error', () => {})
    await once(socket, 'secureConnect')
    const flows = (await (await fetch(`${node.admin}/flows`)).json()) as {
      flows: { sni?: string; route?: string }[]
    }
    assert.ok(
      flows.flows.some((f) => f.sni === 'api.example.test' && f.route === 'api'),
      JSON.stringify(flows),
    )
    socket.destroy()
    await new Promise((resolve) => setTimeout(resolve, 50))
    assert.ok(node.logs.some((l) => l.sni === 'api.example.test' && l.route === 'api'))
  })

  it('let a name no route takes, and a client without a name, fall through to the next route', async () => {
    const plain = (servername: string | undefined) =>
      new Promise<string>((resolve) => {
        const s = tls.connect({
          port: node.port('tls'),
          host: '127.0.0.1',
          rejectUnauthorized: false,
          ...(servername !== undefined && { servername }),
        })
        s.on('error', (err: Error) => resolve(`error: ${err.message}`))
      })
    const restMatches = async () => {
      const routes = (await (await fetch(`${node.admin}/routes`)).json()) as {
        routes: { name: string; matches: { static: number } }[]
      }
      return routes.routes.find((r) => r.name === 'rest')?.matches.static ?? 0
    }
    const before = await restMatches()
    // The fall-through target speaks no TLS: the client's handshake fails, which shows where it went.
    assert.match(await plain('nobody.test'), /error/)
    assert.match(await plain(undefined), /error/)
    assert.equal(await restMatches(), before + 2)
  })

  it('read the name after a PROXY protocol header, and keep the client it names', async () => {
    const raw = net.connect({ port: node.port('lb'), host: '127.0.0.1' })
    await once(raw, 'connect')
    raw.write('PROXY TCP4 203.0.113.7 127.0.0.1 40000 443\r\n')
    const socket = tls.connect({ socket: raw, servername: 'api.example.test', ca: ca.certPem })
    await once(socket, 'secureConnect')
    let answer = ''
    socket.on('data', (c: Buffer) => {
      answer += c.toString()
    })
    await once(socket, 'end')
    socket.destroy()
    assert.equal(answer, 'api\n')
    await new Promise((resolve) => setTimeout(resolve, 50))
    const line = node.logs.find((l) => l.listener === 'lb' && l.sni === 'api.example.test')
    assert.equal(line?.source, '203.0.113.7:40000')
  })

  it('pass other protocols through without a name', async () => {
    const socket = net.connect({ port: node.port('tls'), host: '127.0.0.1' })
    socket.write('HELLO\r\n')
    let answer = ''
    socket.on('data', (c: Buffer) => {
      answer += c.toString()
    })
    await once(socket, 'end')
    socket.destroy()
    assert.equal(answer, 'plain\n')
  })

  it('close a connection that sends no ClientHello in time, counted as rejected.client_hello', async () => {
    const socket = net.connect({ port: node.port('tls'), host: '127.0.0.1' })
    socket.write(Buffer.from([22, 3, 1, 0, 200, 1]))
    const started = Date.now()
    socket.resume()
    await once(socket, 'close')
    assert.ok(Date.now() - started >= 4_000, 'held until the 5 s deadline')
    const listeners = (await (await fetch(`${node.admin}/listeners`)).json()) as {
      listeners: { name: string; rejected: { client_hello: number } }[]
    }
    assert.equal(listeners.listeners.find((l) => l.name === 'tls')?.rejected.client_hello, 1)
  })
})
