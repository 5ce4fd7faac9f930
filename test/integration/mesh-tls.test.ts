import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import type { MeshTlsConfig } from '../../src/config/types.ts'
import { createTestPki } from '../helpers/certs.ts'
import { freePorts, meshTlsYaml, startMeshNode } from '../helpers/mesh-harness.ts'
import type { TestNode } from '../helpers/node-harness.ts'
import { sendAndCollect, sha256, startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

/** A → B → C over mutual TLS, no token: certificates alone authenticate every hop. */
describe('a chain of three nodes over mTLS', () => {
  let dir: string
  let echo: TestServer
  let a: TestNode
  let b: TestNode
  let c: TestNode
  let outsider: TestNode

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-mtls-'))
    const pki = await createTestPki(['a', 'b', 'c'])
    const files = await pki.writeTo(join(dir, 'mesh'))
    const other = await (await createTestPki(['x'], 'another CA')).writeTo(join(dir, 'other'))
    echo = await startEchoServer()
    const p = await freePorts(['a', 'b', 'c', 'x', 'in', 'via-x'])
    const node = (id: 'a' | 'b' | 'c') => files.nodes[id] as MeshTlsConfig
    c = await startMeshNode({
      id: 'c',
      meshPort: p.c,
      token: null,
      meshExtra: meshTlsYaml(node('c')),
      yaml: `routes:\n  - { name: to-echo, match: { port: ${p.in} }, target: "${echo.address}" }\n`,
    })
    b = await startMeshNode({
      id: 'b',
      meshPort: p.b,
      token: null,
      meshExtra: meshTlsYaml(node('b')),
      peers: [{ id: 'c', port: p.c, type: 'tls' }],
      yaml: `routes:\n  - { name: onward, match: { port: ${p.in} }, target: c }\n`,
    })
    a = await startMeshNode({
      id: 'a',
      meshPort: p.a,
      token: null,
      meshExtra: meshTlsYaml(node('a')),
      peers: [{ id: 'b', port: p.b, type: 'tls' }],
      yaml: `listeners:\n  - { name: in, bind: "127.0.0.1:${p.in}" }\nroutes:\n  - { name: chain, match: { listener: in }, target: b }\n`,
    })
    // A node whose certificate comes from another CA tries to relay through B.
    outsider = await startMeshNode({
      id: 'x',
      meshPort: p.x,
      token: null,
      meshExtra: meshTlsYaml(other.nodes.x as MeshTlsConfig),
      peers: [{ id: 'b', port: p.b, type: 'tls' }],
      yaml: `listeners:\n  - { name: in, bind: "127.0.0.1:${p['via-x']}" }\nroutes:\n  - { name: sneak, match: { listener: in }, via: [b], target: "${echo.address}" }\n`,
    })
  })
  after(async () => {
    await outsider?.close()
    await a?.close()
    await b?.close()
    await c?.close()
    await echo?.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('bytes cross every TLS hop byte-exact both ways', async () => {
    const payload = randomBytes(4 * 1024 * 1024)
    const { sha256: got } = await sendAndCollect(a.port('in'), payload)
    assert.equal(got, sha256(payload))
  })

  test('peers see each other up over TLS', async () => {
    await waitFor(() => a.node.getPeers()[0]?.state === 'up', 'A to see B up', 5000)
    await waitFor(() => b.node.getPeers()[0]?.state === 'up', 'B to see C up', 5000)
  })

  test('a node with a certificate from another CA reaches no target', async () => {
    const before = echo.accepted
    const { received } = await sendAndCollect(outsider.port('in'), Buffer.from('let me in'))
    assert.equal(received.length, 0)
    assert.equal(echo.accepted, before)
    await waitFor(() => outsider.node.getPeers()[0]?.state === 'down', 'the outsider to see B down', 5000)
  })
})
