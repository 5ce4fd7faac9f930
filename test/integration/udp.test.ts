import assert from 'node:assert/strict'
import dgram from 'node:dgram'
import { once } from 'node:events'
import { after, before, describe, test } from 'node:test'
import { loadConfigText } from '../../src/config/index.ts'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import { refusedPort } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

interface UdpServer {
  readonly address: string
  close(): Promise<void>
}

/** Answers each datagram with `reply(datagram)`, to whoever sent it. */
async function startUdpServer(reply: (msg: Buffer) => Buffer): Promise<UdpServer> {
  const socket = dgram.createSocket('udp4')
  socket.on('message', (msg, rinfo) => socket.send(reply(msg), rinfo.port, rinfo.address))
  socket.bind(0, '127.0.0.1')
  await once(socket, 'listening')
  return {
    address: `127.0.0.1:${socket.address().port}`,
    close: () => new Promise((resolve) => socket.close(() => resolve())),
  }
}

class UdpClient {
  readonly socket = dgram.createSocket('udp4')
  readonly received: Buffer[] = []
  constructor() {
    this.socket.on('message', (msg) => this.received.push(msg))
  }
  send(port: number, msg: Buffer | string): void {
    this.socket.send(msg, port, '127.0.0.1')
  }
  async expect(count: number, what: string): Promise<Buffer[]> {
    await waitFor(() => this.received.length >= count, what, 3000)
    return this.received
  }
  close(): void {
    this.socket.close()
  }
}

describe('UDP listeners', () => {
  let echo: UdpServer
  let alpha: UdpServer
  let beta: UdpServer
  const nodes: TestNode[] = []
  const clients: UdpClient[] = []

  before(async () => {
    echo = await startUdpServer((m) => m)
    alpha = await startUdpServer(() => Buffer.from('alpha'))
    beta = await startUdpServer(() => Buffer.from('beta'))
  })
  after(async () => {
    for (const c of clients) c.close()
    for (const n of nodes) await n.close()
    for (const s of [echo, alpha, beta]) await s.close()
  })

  async function node(listener: string, routes: string): Promise<TestNode> {
    const n = await startTestNode(`common: { admin_addr: "127.0.0.1:0", log_level: info }
listeners:
  - ${listener}
routes:
${routes}
`)
    nodes.push(n)
    return n
  }

  function client(): UdpClient {
    const c = new UdpClient()
    clients.push(c)
    return c
  }

  test('datagrams go to the endpoint and replies come back to their own client, byte for byte', async () => {
    const n = await node(
      '{ name: dns, protocol: udp, bind: "127.0.0.1:0" }',
      `  - { name: dns, match: { listener: dns }, target: "${echo.address}" }`,
    )
    const port = n.port('dns')
    const a = client()
    const b = client()
    const sizes = [1, 100, 1400, 8000, 60_000]
    for (const size of sizes) a.send(port, Buffer.alloc(size, 'a'))
    for (const size of sizes) b.send(port, Buffer.alloc(size, 'b'))
    const fromA = await a.expect(sizes.length, 'replies to a')
    const fromB = await b.expect(sizes.length, 'replies to b')
    assert.deepEqual(
      fromA.map((m) => m.length).sort((x, y) => x - y),
      sizes,
    )
    assert.ok(
      fromA.every((m) => m.every((byte) => byte === 0x61)),
      'a got b’s bytes',
    )
    assert.ok(
      fromB.every((m) => m.every((byte) => byte === 0x62)),
      'b got a’s bytes',
    )
    const [listener] = n.node.getListeners()
    assert.equal(listener?.activeConnections, 2)
    assert.equal(listener?.totalConnections, 2)
    const total = sizes.reduce((x, y) => x + y, 0)
    assert.equal(listener?.bytesIn, 2 * total)
    assert.equal(listener?.bytesOut, 2 * total)
    assert.equal(n.node.getRoutes()[0]?.matches.static, 2)
  })

  test('a session ends after idle_timeout with an access-log line; the next datagram opens a new one', async () => {
    const n = await node(
      '{ name: dns, protocol: udp, bind: "127.0.0.1:0", idle_timeout: 300ms }',
      `  - { name: dns, match: { listener: dns }, target: "${echo.address}" }`,
    )
    const c = client()
    c.send(n.port('dns'), 'one')
    await c.expect(1, 'the first reply')
    await waitFor(() => n.logs.some((l) => l.msg === 'session closed'), 'the session to idle out', 3000)
    const line = n.logs.find((l) => l.msg === 'session closed')
    assert.equal(line?.reason, 'idle_timeout')
    assert.equal(line?.protocol, 'udp')
    assert.equal(line?.bytes_in, 3)
    assert.equal(line?.bytes_out, 3)
    assert.equal(n.node.getListeners()[0]?.activeConnections, 0)
    c.send(n.port('dns'), 'two')
    await c.expect(2, 'a reply on a new session')
    assert.equal(n.node.getListeners()[0]?.totalConnections, 2)
  })

  test('sessions are balanced over the endpoints and each stays on its own', async () => {
    const n = await node(
      '{ name: dns, protocol: udp, bind: "127.0.0.1:0" }',
      `  - { name: dns, match: { listener: dns }, target: ["${alpha.address}", "${beta.address}"] }`,
    )
    const port = n.port('dns')
    const answers: string[] = []
    for (let i = 0; i < 4; i++) {
      const c = client()
      for (let k = 0; k < 3; k++) c.send(port, 'q')
      const replies = await c.expect(3, `client ${i}`)
      const names = new Set(replies.map((r) => r.toString()))
      assert.equal(names.size, 1, `client ${i} moved between endpoints: ${[...names]}`)
      answers.push([...names][0] as string)
    }
    assert.deepEqual(new Set(answers), new Set(['alpha', 'beta']))
  })

  test('beyond max_connections, and without a route, new clients are refused and counted', async () => {
    const n = await node(
      '{ name: dns, protocol: udp, bind: "127.0.0.1:0", max_connections: 1 }',
      `  - { name: dns, match: { listener: dns, source_cidrs: ["10.0.0.0/8"] }, target: "${echo.address}" }`,
    )
    const c = client()
    c.send(n.port('dns'), 'x')
    await waitFor(() => n.node.getListeners()[0]?.rejected.no_route === 1, 'the no-route count', 2000)

    const m = await node(
      '{ name: dns, protocol: udp, bind: "127.0.0.1:0", max_connections: 1 }',
      `  - { name: dns, match: { listener: dns }, target: "${echo.address}" }`,
    )
    const first = client()
    first.send(m.port('dns'), 'in')
    await first.expect(1, 'the first client')
    const second = client()
    second.send(m.port('dns'), 'over')
    await waitFor(() => m.node.getListeners()[0]?.rejected.max_connections === 1, 'the refusal', 2000)
    assert.equal(second.received.length, 0)
  })

  test('an endpoint that is not there ends the session as upstream_error', async () => {
    const closed = await refusedPort()
    const n = await node(
      '{ name: dns, protocol: udp, bind: "127.0.0.1:0" }',
      `  - { name: dns, match: { listener: dns }, target: "127.0.0.1:${closed}" }`,
    )
    const c = client()
    // The refusal (ICMP port unreachable) surfaces on the session's next send, as a client's retry.
    for (let i = 0; i < 5 && !n.logs.some((l) => l.msg === 'session closed'); i++) {
      c.send(n.port('dns'), 'anyone?')
      await new Promise((r) => setTimeout(r, 100))
    }
    await waitFor(() => n.logs.some((l) => l.msg === 'session closed'), 'the session to end', 3000)
    assert.equal(n.logs.find((l) => l.msg === 'session closed')?.reason, 'upstream_error')
  })

  test('config: no TLS on UDP, no peers behind a UDP listener, and TCP and UDP may share a port', () => {
    const base =
      'peers: [{ name: p, address: "127.0.0.1:7000" }]\nmesh: { bind: "127.0.0.1:7100", token: "0123456789abcdef0123" }\n'
    assert.throws(
      () =>
        loadConfigText(
          'listeners:\n  - { name: u, protocol: udp, bind: "127.0.0.1:53", tls: { cert: c, key: k } }\n',
        ),
      /listeners\[0\]\.tls: TLS is for TCP listeners/,
    )
    assert.throws(
      () =>
        loadConfigText(
          `${base}listeners:\n  - { name: u, protocol: udp, bind: "127.0.0.1:53" }\nroutes:\n  - { name: r, match: { listener: u }, target: p }\n`,
        ),
      /routes\[0\]\.target: listener "u" is UDP: its routes go to endpoints, not through peers/,
    )
    const both = loadConfigText(
      'listeners:\n  - { name: t, bind: "127.0.0.1:5353" }\n  - { name: u, protocol: udp, bind: "127.0.0.1:5353" }\n',
    )
    assert.deepEqual(
      both.listeners.map((l) => [l.protocol, l.idleTimeoutMs]),
      [
        ['tcp', 3_600_000],
        ['udp', 60_000],
      ],
    )
    assert.throws(
      () =>
        loadConfigText(
          'listeners:\n  - { name: u, protocol: udp, bind: "127.0.0.1:5353" }\n  - { name: v, protocol: udp, bind: "0.0.0.0:5353" }\n',
        ),
      /listeners\[1\]\.bind: 0\.0\.0\.0:5353 collides with listeners\[0\]\.bind/,
    )
  })
})
