import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import {
  patternBytes,
  refusedPort,
  sendAndCollect,
  sha256,
  startDigestServer,
  startEchoServer,
  startServer,
  type TestServer,
} from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const MiB = 1024 * 1024

function nodeYaml(target: string, extra = ''): string {
  return `
common: { node_id: test, admin_addr: "127.0.0.1:0", drain_timeout: 2s }
listeners:
  - { name: main, bind: "127.0.0.1:0" }
routes:
  - name: main
    match: { listener: main }
    target: "${target}"
${extra}`
}

describe('forwarding through one node', () => {
  let echo: TestServer
  let node: TestNode

  before(async () => {
    echo = await startEchoServer()
    node = await startTestNode(nodeYaml(echo.address))
  })
  after(async () => {
    await node.close()
    await echo.close()
  })

  for (const size of [1, 1024, 64 * 1024 + 1, MiB, 16 * MiB, 64 * MiB]) {
    test(`${size} bytes arrive byte-exact both ways`, async () => {
      const payload = size <= 16 * MiB ? randomBytes(size) : patternBytes(size)
      const { received, sha256: got } = await sendAndCollect(node.port('main'), payload)
      assert.equal(received.length, size)
      assert.equal(got, sha256(payload))
    })
  }

  test('200 concurrent flows each arrive byte-exact', async () => {
    const payloads = Array.from({ length: 200 }, () =>
      randomBytes(32 * 1024 + Math.floor(Math.random() * 4096)),
    )
    const results = await Promise.all(payloads.map((p) => sendAndCollect(node.port('main'), p)))
    results.forEach((r, i) => {
      assert.equal(r.sha256, sha256(payloads[i] as Buffer), `flow ${i}`)
    })
  })

  test('every closed flow writes one access-log line with bytes, route, target and reason', async () => {
    const before = node.logs.filter((l) => l.msg === 'flow closed').length
    await sendAndCollect(node.port('main'), Buffer.alloc(1000, 1))
    await waitFor(() => node.logs.filter((l) => l.msg === 'flow closed').length === before + 1)
    const line = node.logs.filter((l) => l.msg === 'flow closed').at(-1)
    assert.ok(line)
    assert.equal(line.listener, 'main')
    assert.match(String(line.source), /^127\.0\.0\.1:\d+$/)
    assert.equal(line.route, 'main')
    assert.equal(line.target, echo.address)
    assert.equal(line.bytes_in, 1000)
    assert.equal(line.bytes_out, 1000)
    assert.equal(line.reason, 'downstream_closed')
    assert.equal(typeof line.flow, 'string')
    assert.equal(typeof line.duration_ms, 'number')
  })
})

describe('half-close', () => {
  test('the client shuts its write side and still receives the whole reply', async () => {
    const server = await startDigestServer(4 * MiB)
    const node = await startTestNode(nodeYaml(server.address))
    try {
      const payload = randomBytes(3 * MiB)
      const { received } = await sendAndCollect(node.port('main'), payload)
      const newline = received.indexOf(10)
      assert.equal(received.subarray(0, newline).toString(), sha256(payload))
      assert.equal(sha256(received.subarray(newline + 1)), sha256(patternBytes(4 * MiB)))
    } finally {
      await node.close()
      await server.close()
    }
  })

  test('the upstream shuts its write side first and still receives what the client sends after', async () => {
    // The server speaks first and half-closes, then reads the client's whole request.
    const server = await startServer((socket) => {
      const chunks: Buffer[] = []
      socket.on('data', (c: Buffer) => chunks.push(c))
      socket.end('banner\n')
      socket.on('end', () => {
        received = Buffer.concat(chunks)
      })
    })
    let received: Buffer | undefined
    const node = await startTestNode(nodeYaml(server.address))
    try {
      const client = net.connect({ port: node.port('main'), host: '127.0.0.1', allowHalfOpen: true })
      const [banner] = (await once(client, 'data')) as [Buffer]
      assert.equal(banner.toString(), 'banner\n')
      await once(client, 'end')
      const late = randomBytes(2 * MiB)
      client.end(late)
      await waitFor(() => received !== undefined, 'the server to receive the late request', 5000)
      assert.equal(sha256(received as Buffer), sha256(late))
      client.destroy()
    } finally {
      await node.close()
      await server.close()
    }
  })
})

describe('failures', () => {
  test('a flow that matches no route is closed at once, counted and logged', async () => {
    const node = await startTestNode(`
common: { node_id: test, admin_addr: "127.0.0.1:0" }
listeners:
  - { name: main, bind: "127.0.0.1:0" }
  - { name: other, bind: "127.0.0.1:0" }
routes:
  - { name: only-other, match: { listener: other }, target: "127.0.0.1:9" }
`)
    try {
      const started = Date.now()
      // Closed with the client's bytes unread: a FIN, or an RST where the runtime had not read them.
      const { received } = await sendAndCollect(node.port('main'), Buffer.from('hello')).catch(
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ECONNRESET') return { received: Buffer.alloc(0) }
          throw err
        },
      )
      assert.equal(received.length, 0)
      assert.ok(Date.now() - started < 1000)
      await waitFor(() => node.logs.some((l) => l.msg === 'flow closed'))
      const [listener] = node.node.getListeners()
      assert.equal(listener?.rejected.no_route, 1)
      assert.equal(node.node.getStats().connections.rejected, 1)
      assert.equal(node.logs.find((l) => l.msg === 'flow closed')?.reason, 'no_route')
    } finally {
      await node.close()
    }
  })

  test('a refused target closes the flow promptly; it is counted and logged with the cause', async () => {
    const port = await refusedPort()
    const node = await startTestNode(nodeYaml(`127.0.0.1:${port}`))
    try {
      const started = Date.now()
      // Closed with the client's bytes unread: a FIN, or an RST where the runtime had not read them.
      const { received } = await sendAndCollect(node.port('main'), Buffer.from('hello')).catch(
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ECONNRESET') return { received: Buffer.alloc(0) }
          throw err
        },
      )
      assert.equal(received.length, 0)
      assert.ok(Date.now() - started < 1000)
      await waitFor(() => node.logs.some((l) => l.msg === 'flow closed'))
      const line = node.logs.find((l) => l.msg === 'flow closed')
      assert.equal(line?.reason, 'upstream_unavailable')
      assert.match(String(line?.error), /refused/)
      assert.equal(node.node.getStats().connections.failed, 1)
      const [route] = node.node.getRoutes()
      assert.equal(route?.endpoints[0]?.connectFailures, 1)
    } finally {
      await node.close()
    }
  })

  test('an upstream that resets mid-flow resets the flow and says so', async () => {
    const server = await startServer((socket) => {
      socket.once('data', () => socket.resetAndDestroy())
    })
    const node = await startTestNode(nodeYaml(server.address))
    try {
      const client = net.connect({ port: node.port('main'), host: '127.0.0.1' })
      const clientError = new Promise<NodeJS.ErrnoException>((resolve) => client.on('error', resolve))
      client.write('go')
      assert.equal((await clientError).code, 'ECONNRESET')
      await waitFor(() => node.logs.some((l) => l.msg === 'flow closed'))
      assert.equal(node.logs.find((l) => l.msg === 'flow closed')?.reason, 'upstream_reset')
    } finally {
      await node.close()
      await server.close()
    }
  })

  test('a client that resets mid-flow closes the upstream side too', async () => {
    let upstreamClosed = false
    const server = await startServer((socket) => {
      socket.on('close', () => {
        upstreamClosed = true
      })
    })
    const node = await startTestNode(nodeYaml(server.address))
    try {
      const client = net.connect({ port: node.port('main'), host: '127.0.0.1' })
      await once(client, 'connect')
      await waitFor(() => server.accepted === 1)
      client.resetAndDestroy()
      await waitFor(() => upstreamClosed, 'the upstream socket to close', 5000)
      await waitFor(() => node.logs.some((l) => l.msg === 'flow closed'))
      assert.equal(node.logs.find((l) => l.msg === 'flow closed')?.reason, 'downstream_reset')
    } finally {
      await node.close()
      await server.close()
    }
  })

  test('an idle flow is closed after idle_timeout', async () => {
    const echo = await startEchoServer()
    const node = await startTestNode(`
common: { node_id: test, admin_addr: "127.0.0.1:0" }
listeners:
  - { name: main, bind: "127.0.0.1:0", idle_timeout: 300ms }
routes:
  - { name: main, target: "${echo.address}" }
`)
    try {
      const client = net.connect({ port: node.port('main'), host: '127.0.0.1' })
      client.write('ping')
      await once(client, 'data')
      const started = Date.now()
      await once(client, 'close')
      const idle = Date.now() - started
      assert.ok(idle >= 250 && idle < 2000, `closed after ${idle}ms`)
      await waitFor(() => node.logs.some((l) => l.msg === 'flow closed'))
      assert.equal(node.logs.find((l) => l.msg === 'flow closed')?.reason, 'idle_timeout')
    } finally {
      await node.close()
      await echo.close()
    }
  })

  test('max_connections closes the connections beyond it and counts them', async () => {
    const echo = await startEchoServer()
    const node = await startTestNode(`
common: { node_id: test, admin_addr: "127.0.0.1:0" }
listeners:
  - { name: main, bind: "127.0.0.1:0", max_connections: 2 }
routes:
  - { name: main, target: "${echo.address}" }
`)
    const clients: net.Socket[] = []
    try {
      for (let i = 0; i < 2; i++) {
        const c = net.connect({ port: node.port('main'), host: '127.0.0.1' })
        c.write('x')
        await once(c, 'data')
        clients.push(c)
      }
      const third = net.connect({ port: node.port('main'), host: '127.0.0.1' })
      third.on('error', () => {})
      clients.push(third)
      await once(third, 'close')
      assert.equal(node.node.getListeners()[0]?.rejected.max_connections, 1)
      assert.equal(node.node.getListeners()[0]?.activeConnections, 2)
    } finally {
      for (const c of clients) c.destroy()
      await node.close()
      await echo.close()
    }
  })

  test('a port in use fails start with the address, the cause and a hint, and frees what it bound', async () => {
    const holder = await startEchoServer()
    const free = await refusedPort()
    await assert.rejects(
      startTestNode(`
common: { node_id: test, admin_addr: "127.0.0.1:0" }
listeners:
  - { name: free, bind: "127.0.0.1:${free}" }
  - { name: taken, bind: "127.0.0.1:${holder.port}" }
routes:
  - { name: main, target: "127.0.0.1:9" }
`),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'DYN_ERR_LISTENER_BIND')
        assert.match(
          err.message,
          new RegExp(`listener "taken": failed to bind to 127\\.0\\.0\\.1:${holder.port}: EADDRINUSE`),
        )
        assert.match(err.message, /hint: another process holds this port/)
        return true
      },
    )
    const again = await startEchoServer('127.0.0.1', free)
    await again.close()
    await holder.close()
  })
})
