import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { type LinkEmulator, startLinkEmulator } from '../../src/link-emulator/emulator.ts'
import { freePorts, startMeshNode } from '../helpers/mesh-harness.ts'
import type { TestNode } from '../helpers/node-harness.ts'
import {
  sendAndCollect,
  sha256,
  startDigestServer,
  startEchoServer,
  type TestServer,
} from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const MiB = 1024 * 1024
/** Each of the two paths' first link is capped at this. */
const CAP = 4_000_000

/**
 * A reaches C's target over two paths at once (via B and via D), each capped by the link
 * emulator; C joins the subflows. Real nodes, real sockets.
 */
describe('one flow over two paths through real nodes', () => {
  let echo: TestServer
  let digest: TestServer
  let ab: LinkEmulator
  let ad: LinkEmulator
  const nodes: TestNode[] = []
  let a: TestNode
  let b: TestNode

  before(async () => {
    echo = await startEchoServer()
    digest = await startDigestServer(16)
    const p = await freePorts(['a', 'b', 'c', 'd', 'in', 'up'])
    ab = await startLinkEmulator({ target: { host: '127.0.0.1', port: p.b }, rateBytesPerSec: CAP })
    ad = await startLinkEmulator({ target: { host: '127.0.0.1', port: p.d }, rateBytesPerSec: CAP })
    const egressRoutes = `routes:
  - { name: echo, match: { port: 1 }, target: "${echo.address}" }
  - { name: digest, match: { port: 2 }, target: "${digest.address}" }
`
    nodes.push(await startMeshNode({ id: 'c', meshPort: p.c, yaml: egressRoutes }))
    b = await startMeshNode({ id: 'b', meshPort: p.b, peers: [{ id: 'c', port: p.c }] })
    nodes.push(b)
    nodes.push(await startMeshNode({ id: 'd', meshPort: p.d, peers: [{ id: 'c', port: p.c }] }))
    const twoPaths = (target: string) => `    paths:
      - { via: [b, c], target: "${target}" }
      - { via: [d, c], target: "${target}" }`
    a = await startMeshNode({
      id: 'a',
      meshPort: p.a,
      peers: [
        { id: 'b', port: ab.port },
        { id: 'd', port: ad.port },
      ],
      yaml: `listeners:
  - { name: in, bind: "127.0.0.1:${p.in}" }
  - { name: up, bind: "127.0.0.1:${p.up}" }
routes:
  - name: echo
    match: { listener: in }
    multipath: stripe
${twoPaths(echo.address)}
  - name: upload
    match: { listener: up }
    multipath: stripe
${twoPaths(digest.address)}
`,
    })
    nodes.push(a)
    await waitFor(() => a.node.getPeers().every((peer) => peer.state === 'up'), 'A to see B and D up', 5000)
  })
  after(async () => {
    for (const n of nodes) await n.close()
    for (const e of [ab, ad]) await e?.close()
    await echo?.close()
    await digest?.close()
  })

  test('bytes arrive byte-exact both ways, and the access log names the multipath flow', async () => {
    const payload = randomBytes(2 * MiB)
    const { sha256: got } = await sendAndCollect(a.port('in'), payload)
    assert.equal(got, sha256(payload))
    const line = a.logs.filter((l) => l.msg === 'flow closed').at(-1)
    assert.match(String(line?.target), /^stripe over 2 paths/)
  })

  test('two paths each capped at B carry one flow faster than 1.5 × B', async () => {
    const size = 12 * MiB
    const payload = randomBytes(size)
    const started = Date.now()
    const { received } = await sendAndCollect(a.port('up'), payload, '127.0.0.1', 20_000)
    const seconds = (Date.now() - started) / 1000
    assert.equal(received.subarray(0, 64).toString(), sha256(payload))
    const rate = size / seconds
    assert.ok(
      rate > 1.5 * CAP,
      `${(rate / 1e6).toFixed(2)} MB/s over two paths capped at ${CAP / 1e6} MB/s each`,
    )
  })

  test('the relay of one path dies mid-transfer: the flow completes byte-exact over the other', async () => {
    const payload = randomBytes(16 * MiB)
    const transfer = sendAndCollect(a.port('in'), payload, '127.0.0.1', 30_000)
    await waitFor(
      () => (a.node.getFlows()[0]?.bytesIn ?? 0) > 4 * MiB,
      'the transfer to be under way',
      10_000,
    )
    await b.node.destroy()
    const { sha256: got } = await transfer
    assert.equal(got, sha256(payload))
  })
})
