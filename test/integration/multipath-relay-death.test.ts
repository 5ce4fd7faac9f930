import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { freePorts, startMeshNode } from '../helpers/mesh-harness.ts'
import type { TestNode } from '../helpers/node-harness.ts'
import {
  patternBytes,
  sendAndCollect,
  sha256,
  startEchoServer,
  type TestServer,
} from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const MiB = 1024 * 1024
const MODES = ['stripe', 'redundant', 'failover'] as const

/** In every mode, the relay of one path dies halfway through 64 MiB: not a byte is lost. */
describe('a relay dies mid-transfer under a multipath flow', () => {
  let echo: TestServer
  let ports: Record<'a' | 'b' | 'c' | 'd' | (typeof MODES)[number], number>
  let a: TestNode
  let b: TestNode | undefined
  const others: TestNode[] = []

  const startB = async () => {
    b = await startMeshNode({ id: 'b', meshPort: ports.b, peers: [{ id: 'c', port: ports.c }] })
  }

  before(async () => {
    echo = await startEchoServer()
    ports = await freePorts(['a', 'b', 'c', 'd', ...MODES])
    others.push(
      await startMeshNode({
        id: 'c',
        meshPort: ports.c,
        yaml: `routes:\n  - { name: echo, match: { port: 1 }, target: "${echo.address}" }\n`,
      }),
    )
    await startB()
    others.push(await startMeshNode({ id: 'd', meshPort: ports.d, peers: [{ id: 'c', port: ports.c }] }))
    const routes = MODES.map(
      (mode) => `  - name: ${mode}
    match: { listener: ${mode} }
    multipath: ${mode}
    paths:
      - { via: [b, c], target: "${echo.address}" }
      - { via: [d, c], target: "${echo.address}" }`,
    ).join('\n')
    a = await startMeshNode({
      id: 'a',
      meshPort: ports.a,
      peers: [
        { id: 'b', port: ports.b },
        { id: 'd', port: ports.d },
      ],
      yaml: `listeners:\n${MODES.map((m) => `  - { name: ${m}, bind: "127.0.0.1:${ports[m]}" }`).join('\n')}\nroutes:\n${routes}\n`,
    })
  })
  after(async () => {
    await a?.close()
    await b?.close()
    for (const n of others) await n.close()
    await echo?.close()
  })

  for (const mode of MODES) {
    test(`${mode}: 64 MiB arrive byte-exact both ways though relay b dies halfway`, async () => {
      if (b === undefined) await startB()
      await waitFor(() => a.node.getPeers().every((p) => p.state === 'up'), 'A to see B and D up', 5000)
      const payload = patternBytes(64 * MiB)
      const transfer = sendAndCollect(ports[mode], payload, '127.0.0.1', 60_000)
      await waitFor(
        () => (a.node.getFlows()[0]?.bytesIn ?? 0) > 24 * MiB,
        'the transfer to be halfway',
        20_000,
      )
      await b?.node.destroy()
      b = undefined
      const { received, sha256: got } = await transfer
      assert.equal(received.length, payload.length)
      assert.equal(got, sha256(payload))
    })
  }
})
