import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { freePorts, startMeshNode } from '../helpers/mesh-harness.ts'
import type { TestNode } from '../helpers/node-harness.ts'
import { sendAndCollect, sha256, startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

/**
 * A has two ways to the echo server: through B (preferred) and through D. When B dies, new flows
 * go through D without one failing, and A sees B down within about a second.
 */
describe('local failover between alternative paths', () => {
  let echo: TestServer
  let a: TestNode
  let b: TestNode
  let d: TestNode

  before(async () => {
    echo = await startEchoServer()
    const p = await freePorts(['a', 'b', 'd', 'in'])
    const relayRoutes = `routes:\n  - { name: to-echo, match: { port: 1 }, target: "${echo.address}" }\n`
    b = await startMeshNode({ id: 'b', meshPort: p.b, yaml: relayRoutes })
    d = await startMeshNode({ id: 'd', meshPort: p.d, yaml: relayRoutes })
    a = await startMeshNode({
      id: 'a',
      meshPort: p.a,
      peers: [
        { id: 'b', port: p.b },
        { id: 'd', port: p.d },
      ],
      yaml: `listeners:
  - { name: in, bind: "127.0.0.1:${p.in}" }
routes:
  - name: two-ways
    paths:
      - { via: [b], target: "${echo.address}" }
      - { via: [d], target: "${echo.address}" }
`,
    })
    await waitFor(() => a.node.getPeers().every((peer) => peer.state === 'up'), 'both peers up', 5000)
  })
  after(async () => {
    await a?.close()
    await b?.close()
    await d?.close()
    await echo?.close()
  })

  async function flowThrough(): Promise<string> {
    const payload = randomBytes(32 * 1024)
    const { sha256: got } = await sendAndCollect(a.port('in'), payload)
    assert.equal(got, sha256(payload))
    const line = a.logs.filter((l) => l.msg === 'flow closed').at(-1)
    return String(line?.target)
  }

  test('while both relays live, flows take the first path', async () => {
    for (let i = 0; i < 5; i++) assert.match(await flowThrough(), /^b → /)
  })

  test('the relay of the first path dies: the next flows succeed through the second, none fails', async () => {
    await b.close()
    const killedAt = Date.now()
    const targets: string[] = []
    while (Date.now() - killedAt < 1500) {
      targets.push(await flowThrough())
      await waitFor(() => a.node.getFlows().length === 0, 'the flow to close', 2000)
    }
    assert.ok(targets.length >= 5, `only ${targets.length} flows ran`)
    assert.ok(
      targets.every((t) => t.startsWith('d → ')),
      `every flow after the kill went through d: ${targets.join(', ')}`,
    )
    await waitFor(
      () => a.node.getPeers().find((p) => p.name === 'b')?.state === 'down',
      'B to show down',
      1000,
    )
    const downAfterMs = Date.now() - killedAt
    assert.ok(downAfterMs < 2000, `B shown down after ${downAfterMs}ms`)
    const [route] = a.node.getRoutes()
    assert.deepEqual(
      route?.paths.map((p) => [p.firstHop, p.firstHopState]),
      [
        ['b', 'down'],
        ['d', 'up'],
      ],
    )
  })
})
