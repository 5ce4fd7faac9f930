import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { freePorts, startMeshNode } from '../helpers/mesh-harness.ts'
import type { TestNode } from '../helpers/node-harness.ts'
import {
  patternBytes,
  sendAndCollect,
  sha256,
  startDigestServer,
  startEchoServer,
  type TestServer,
} from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const MiB = 1024 * 1024

/**
 * A → B → C → echo, the seed's proxy chain: A's route targets peer B; B and C route the flow by
 * the port it arrived on at A, B onward to C, C to the echo server. A second listener on A pins
 * the path with `via: [B, C]` and names the target itself.
 */
describe('a chain of three nodes', () => {
  let echo: TestServer
  let digest: TestServer
  let a: TestNode
  let b: TestNode
  let c: TestNode

  before(async () => {
    echo = await startEchoServer()
    digest = await startDigestServer(2 * MiB)
    const p = await freePorts(['a', 'b', 'c', 'in', 'pinned', 'half'])
    c = await startMeshNode({
      id: 'c',
      meshPort: p.c,
      yaml: `routes:
  - { name: to-echo, match: { port: ${p.in} }, target: "${echo.address}" }
  - { name: to-digest, match: { port: ${p.half} }, target: "${digest.address}" }
`,
    })
    b = await startMeshNode({
      id: 'b',
      meshPort: p.b,
      peers: [{ id: 'c', port: p.c }],
      yaml: `routes:
  - { name: onward, match: { port: ${p.in} }, target: c }
  - { name: onward-half, match: { port: ${p.half} }, target: c }
`,
    })
    a = await startMeshNode({
      id: 'a',
      meshPort: p.a,
      peers: [{ id: 'b', port: p.b }],
      yaml: `listeners:
  - { name: in, bind: "127.0.0.1:${p.in}" }
  - { name: pinned, bind: "127.0.0.1:${p.pinned}" }
  - { name: half, bind: "127.0.0.1:${p.half}" }
routes:
  - { name: chain, match: { listener: in }, target: b }
  - { name: pinned, match: { listener: pinned }, via: [b, c], target: "${echo.address}" }
  - { name: half, match: { listener: half }, target: b }
`,
    })
  })
  after(async () => {
    await a?.close()
    await b?.close()
    await c?.close()
    await echo?.close()
    await digest?.close()
  })

  for (const size of [1, 64 * 1024, 16 * MiB]) {
    test(`${size} bytes cross A → B → C → echo byte-exact both ways`, async () => {
      const payload = randomBytes(size)
      const { sha256: got, received } = await sendAndCollect(a.port('in'), payload)
      assert.equal(received.length, size)
      assert.equal(got, sha256(payload))
    })
  }

  test('a pinned path (via: [b, c] + target) carries bytes byte-exact', async () => {
    const payload = randomBytes(MiB)
    const { sha256: got } = await sendAndCollect(a.port('pinned'), payload)
    assert.equal(got, sha256(payload))
  })

  test('100 concurrent flows cross the chain byte-exact', async () => {
    const payloads = Array.from({ length: 100 }, () => randomBytes(64 * 1024))
    const results = await Promise.all(payloads.map((p) => sendAndCollect(a.port('in'), p)))
    results.forEach((r, i) => {
      assert.equal(r.sha256, sha256(payloads[i] as Buffer), `flow ${i}`)
    })
  })

  test('half-close crosses every hop: the client ends its writes and still gets the whole reply', async () => {
    const payload = randomBytes(3 * MiB)
    const { received } = await sendAndCollect(a.port('half'), payload)
    const newline = received.indexOf(10)
    assert.equal(received.subarray(0, newline).toString(), sha256(payload))
    assert.equal(sha256(received.subarray(newline + 1)), sha256(patternBytes(2 * MiB)))
  })

  test('every node accounts for the flow: routes, peers and relayed flows', async () => {
    await sendAndCollect(a.port('in'), Buffer.from('count me'))
    await waitFor(() => (c.node.getStats().routeMatches['to-echo']?.static ?? 0) > 0)
    assert.ok((a.node.getStats().routeMatches.chain?.static ?? 0) > 0)
    assert.ok((b.node.getStats().routeMatches.onward?.static ?? 0) > 0)
    await waitFor(() => a.node.getPeers()[0]?.state === 'up', 'A to see B up', 5000)
    const [peerB] = a.node.getPeers()
    assert.equal(peerB?.name, 'b')
    assert.ok((peerB?.rttMs ?? -1) >= 0)
    const relayed = b.logs.filter((l) => l.msg === 'flow closed' && l.listener === 'mesh')
    assert.ok(relayed.length > 0, 'B logs relayed flows under the mesh listener')
    assert.equal(relayed.at(-1)?.route, 'chain')
  })
})
