import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { freePorts, startMeshNode } from '../helpers/mesh-harness.ts'
import type { TestNode } from '../helpers/node-harness.ts'
import { sendAndCollect, startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

/**
 * A → B → one of two targets, balanced by A with `lb: least_conn`. A flow held open on one target
 * must send every short flow that follows to the other: round robin would alternate.
 */
describe('least_conn over a mesh path', () => {
  let first: TestServer
  let second: TestServer
  let a: TestNode
  let b: TestNode

  before(async () => {
    first = await startEchoServer()
    second = await startEchoServer()
    const p = await freePorts(['a', 'b', 'in'])
    b = await startMeshNode({ id: 'b', meshPort: p.b, meshExtra: '  allow_targets: ["127.0.0.0/8"]' })
    a = await startMeshNode({
      id: 'a',
      meshPort: p.a,
      peers: [{ id: 'b', port: p.b }],
      yaml: `listeners:
  - { name: in, bind: "127.0.0.1:${p.in}" }
routes:
  - name: balanced
    match: { listener: in }
    via: [b]
    target: ["${first.address}", "${second.address}"]
    lb: least_conn
`,
    })
    await waitFor(() => a.node.getPeers().every((peer) => peer.state === 'up'), 'b up', 5000)
  })

  after(async () => {
    await a?.close()
    await b?.close()
    await first?.close()
    await second?.close()
  })

  function lastTarget(): string {
    return String(a.logs.filter((l) => l.msg === 'flow closed').at(-1)?.target)
  }

  test('balances by active flows: a held flow sends the next ones to the other target', async () => {
    const held = net.connect({ port: a.port('in'), host: '127.0.0.1' })
    try {
      await once(held, 'connect')
      held.write('hold')
      await once(held, 'data')
      const busy = a.node.getFlows()[0]?.target ?? ''
      const busyAddress = busy.endsWith(first.address) ? first.address : second.address
      const idleAddress = busyAddress === first.address ? second.address : first.address
      for (let i = 0; i < 4; i++) {
        await sendAndCollect(a.port('in'), Buffer.from(`short ${i}`))
        await waitFor(() => a.node.getFlows().length === 1, 'the short flow to end', 2000)
        assert.ok(lastTarget().endsWith(idleAddress), `flow ${i} went to ${lastTarget()}, not ${idleAddress}`)
      }
    } finally {
      held.destroy()
    }
  })

  test('once the held flow ends, its target is the least loaded again', async () => {
    await waitFor(() => a.node.getFlows().length === 0, 'every flow to end', 2000)
    const seen = new Set<string>()
    for (let i = 0; i < 4; i++) {
      await sendAndCollect(a.port('in'), Buffer.from(`again ${i}`))
      seen.add(lastTarget().endsWith(first.address) ? 'first' : 'second')
    }
    assert.deepEqual([...seen].sort(), ['first', 'second'])
  })
})
