/**
 * A revocation list on the mesh (`mesh.tls.crl`), written by `dynproxy cert revoke`: a relay refuses
 * a revoked peer's connections, closes those it holds when a reload brings the list, and keeps the
 * list in force when a new one does not load; a dialer refuses a revoked peer too.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { once } from 'node:events'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import type { MeshTlsConfig } from '../../src/config/types.ts'
import { createTestPki, type TestPkiFiles } from '../helpers/certs.ts'
import { freePorts, meshTlsYaml, startMeshNode } from '../helpers/mesh-harness.ts'
import type { TestNode } from '../helpers/node-harness.ts'
import { startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

function dynproxy(...args: string[]): Promise<{ code: number; err: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 20_000 }, (err, _out, errText) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, err: errText })
    })
  })
}

/** An echo round trip through `port`: what came back before the connection ended or 2 s passed. */
async function roundTrip(port: number): Promise<string> {
  const socket = net.connect({ port, host: '127.0.0.1' })
  let received = ''
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    received += chunk
    if (received === 'ping') socket.end()
  })
  socket.on('error', () => undefined)
  socket.write('ping')
  await Promise.race([once(socket, 'close'), new Promise((resume) => setTimeout(resume, 2000))])
  socket.destroy()
  return received
}

/** A flow left open after one echo; resolves `ended` when the proxy closes it. */
async function openFlow(port: number): Promise<{ ended: Promise<unknown> }> {
  const socket = net.connect({ port, host: '127.0.0.1' })
  socket.on('error', () => undefined)
  socket.write('hello')
  await once(socket, 'data')
  return { ended: once(socket, 'close') }
}

describe('a mesh revocation list', () => {
  let dir: string
  let files: TestPkiFiles
  let crl: string
  let echo: TestServer
  let b: TestNode
  let a: TestNode
  let c: TestNode
  const nodes: TestNode[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-crl-'))
    files = await (await createTestPki(['a', 'b', 'c', 'd'])).writeTo(join(dir, 'pki'))
    crl = join(dir, 'mesh.crl')
    const made = await dynproxy('cert', 'revoke', '--ca', join(dir, 'pki'), '--crl', crl)
    assert.equal(made.code, 0, made.err)
    echo = await startEchoServer()
    const p = await freePorts(['a', 'b', 'c', 'in-a', 'in-c'])
    b = await startMeshNode({
      id: 'b',
      meshPort: p.b,
      token: null,
      meshExtra: `${meshTlsYaml(files.nodes.b as MeshTlsConfig, crl)}\n  allow_targets: ["127.0.0.0/8"]`,
    })
    a = await startIngress('a', p.a, p['in-a'], p.b)
    c = await startIngress('c', p.c, p['in-c'], p.b)
    nodes.push(b, a, c)
  })
  after(async () => {
    for (const n of nodes.reverse()) await n.close()
    await echo?.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('revoking a node closes its flows through the relay at the reload, and refuses its new ones; others pass', async () => {
    await waitFor(async () => (await roundTrip(a.port('in'))) === 'ping', 'a relays through b')
    assert.equal(await roundTrip(c.port('in')), 'ping')
    const flow = await openFlow(a.port('in'))

    const revoked = await dynproxy('cert', 'revoke', '--ca', join(dir, 'pki'), '--crl', crl, certFileOf('a'))
    assert.equal(revoked.code, 0, revoked.err)
    assert.match(revoked.err, /revoked serial [0-9A-F]+; .*mesh\.crl lists 1, next update due/)
    const outcome = await b.node.reload(b.node.config)
    assert.deepEqual(outcome.errors, [])

    await Promise.race([
      flow.ended,
      new Promise((_, reject) => setTimeout(() => reject(new Error('the revoked flow stayed open')), 3000)),
    ])
    assert.equal(await roundTrip(a.port('in')), '', 'a new flow of the revoked node gets nothing through')
    assert.equal(await roundTrip(c.port('in')), 'ping', 'a node not revoked relays as before')
    assert.ok(
      b.logs.some((l) => /DYN_ERR_PKI_REVOKED|is revoked: mesh\.tls\.crl file/.test(JSON.stringify(l))),
      'the relay says why it refused',
    )
  })

  test('a list that does not load leaves the one in force, and the reload says so', async () => {
    await (await createTestPki([], 'another CA')).writeTo(join(dir, 'other'))
    const foreign = join(dir, 'foreign.crl')
    assert.equal((await dynproxy('cert', 'revoke', '--ca', join(dir, 'other'), '--crl', foreign)).code, 0)
    await copyFile(foreign, crl)
    const outcome = await b.node.reload(b.node.config)
    assert.equal(outcome.errors.length, 1)
    assert.match(
      outcome.errors[0]?.message ?? '',
      /mesh\.tls\.crl file .*mesh\.crl: not signed by the mesh CA/,
    )
    assert.equal(await roundTrip(a.port('in')), '', 'a stays revoked')
    assert.equal(await roundTrip(c.port('in')), 'ping')
  })

  test('a dialer refuses a peer whose certificate its own list names', async () => {
    const own = join(dir, 'd.crl')
    assert.equal(
      (await dynproxy('cert', 'revoke', '--ca', join(dir, 'pki'), '--crl', own, certFileOf('b'))).code,
      0,
    )
    const p = await freePorts(['d', 'in-d'])
    const d = await startIngress('d', p.d, p['in-d'], Number(b.node.meshAddress?.split(':').at(-1)), own)
    nodes.push(d)
    assert.equal(await roundTrip(d.port('in')), '')
    await waitFor(
      () => d.logs.some((l) => JSON.stringify(l).includes('the certificate of peer b')),
      'd to say why it refused b',
    )
  })

  /** A node whose listener `in` relays through b to the echo server; `crl`: its own revocation list. */
  async function startIngress(id: string, meshPort: number, inPort: number, bPort: number, crl?: string) {
    return startMeshNode({
      id,
      meshPort,
      token: null,
      meshExtra: meshTlsYaml(files.nodes[id] as MeshTlsConfig, crl),
      peers: [{ id: 'b', port: bPort, type: 'tls' }],
      yaml: `listeners:\n  - { name: in, bind: "127.0.0.1:${inPort}" }\nroutes:\n  - { name: through-b, match: { listener: in }, via: [b], target: "${echo.address}" }\n`,
    })
  }

  function certFileOf(id: string): string {
    return (files.nodes[id] as MeshTlsConfig).certFile
  }
})
