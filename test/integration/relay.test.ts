import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import {
  patternBytes,
  sha256,
  startServer,
  startSilentTarget,
  type TestServer,
} from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const MiB = 1024 * 1024
/** Far more than loopback socket buffers and stream high-water marks can hold between them. */
const FLOOD = 64 * MiB
/** What may sit in kernel buffers and the node's streams while a reader is stalled. */
const BOUNDED = 24 * MiB

function nodeYaml(target: string, route = ''): string {
  return `
common: { node_id: test, admin_addr: "127.0.0.1:0" }
listeners:
  - { name: main, bind: "127.0.0.1:0" }
routes:
  - name: main
    match: { listener: main }
    target: ${target}
${route}`
}

/** Collects what `socket` receives until its FIN, then resolves with the digest. */
async function drainAll(socket: net.Socket): Promise<{ bytes: number; sha256: string }> {
  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  await once(socket, 'end')
  const all = Buffer.concat(chunks)
  return { bytes: all.length, sha256: sha256(all) }
}

function bytesMoved(node: TestNode, direction: 'bytesIn' | 'bytesOut'): number {
  const [flow] = node.node.getFlows()
  return flow ? flow[direction] : 0
}

describe('backpressure', () => {
  let stalled: net.Socket[]
  let server: TestServer
  let node: TestNode

  before(async () => {
    stalled = []
    // Reads nothing until a test resumes it.
    server = await startServer((socket) => {
      socket.pause()
      stalled.push(socket)
    })
    node = await startTestNode(nodeYaml(`"${server.address}"`))
  })
  after(async () => {
    await node.close()
    await server.close()
  })

  test('a client writing to an upstream that does not read is paused, and resumes when it reads', async () => {
    const client = net.connect({ port: node.port('main'), host: '127.0.0.1', allowHalfOpen: true })
    await once(client, 'connect')
    const payload = patternBytes(FLOOD)
    client.end(payload)
    await waitFor(() => stalled.length === 1, 'the upstream connection', 5000)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const held = bytesMoved(node, 'bytesIn')
    assert.ok(held < BOUNDED, `the node read ${held} bytes from the client while the upstream read none`)
    const upstream = stalled.pop() as net.Socket
    const got = drainAll(upstream)
    upstream.resume()
    assert.deepEqual(await got, { bytes: FLOOD, sha256: sha256(payload) })
    upstream.end()
    await once(client, 'end')
    client.destroy()
  })

  test('an upstream writing to a client that does not read is paused, and resumes when it reads', async () => {
    const client = net.connect({ port: node.port('main'), host: '127.0.0.1', allowHalfOpen: true })
    client.pause()
    await once(client, 'connect')
    await waitFor(() => stalled.length === 1, 'the upstream connection', 5000)
    const upstream = stalled.pop() as net.Socket
    const payload = patternBytes(FLOOD)
    upstream.end(payload)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const held = bytesMoved(node, 'bytesOut')
    assert.ok(held < BOUNDED, `the node read ${held} bytes from the upstream while the client read none`)
    const got = drainAll(client)
    client.resume()
    assert.deepEqual(await got, { bytes: FLOOD, sha256: sha256(payload) })
    client.destroy()
  })
})

describe('half-close before the upstream is connected', () => {
  test("a client's FIN sent while the node is still connecting reaches the upstream", async () => {
    // The first endpoint answers no SYN, so the flow reaches the second only after the connect
    // timeout: the client's FIN has long arrived by then.
    const silent = await startSilentTarget()
    const server = await startServer((socket) => {
      socket.on('data', () => {})
      socket.once('end', () => socket.end('reply after your FIN\n'))
    })
    const endpoints = `["127.0.0.1:${silent.port}", "${server.address}"]`
    const node = await startTestNode(nodeYaml(endpoints, '    lb: first\n    connect_timeout: 300ms'))
    try {
      const client = net.connect({ port: node.port('main'), host: '127.0.0.1', allowHalfOpen: true })
      await once(client, 'connect')
      client.end()
      const reply = await drainAll(client)
      assert.equal(reply.sha256, sha256('reply after your FIN\n'))
      client.destroy()
    } finally {
      await node.close()
      await server.close()
      await silent.close()
    }
  })
})
