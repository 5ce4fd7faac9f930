import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import { decodeProxyHeader, encodeProxyHeader } from '../../src/proxy-protocol/index.ts'
import { haproxyAvailable, startHaproxy, type TestHaproxy } from '../helpers/haproxy.ts'
import { freePorts, startMeshNode } from '../helpers/mesh-harness.ts'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import { refusedPort, startEchoServer, startServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const noHaproxy = haproxyAvailable() ? false : 'haproxy is not installed (apt-get install haproxy)'

/** Records everything each connection sent, until the sender half-closes; then closes. */
async function startCaptureServer(): Promise<TestServer & { readonly received: Buffer[] }> {
  const received: Buffer[] = []
  const server = await startServer((socket) => {
    const chunks: Buffer[] = []
    socket.on('data', (c: Buffer) => chunks.push(c))
    socket.on('end', () => {
      received.push(Buffer.concat(chunks))
      socket.end()
    })
  })
  return Object.assign(server, { received })
}

/** Waits for a captured connection ending with `tail`, and takes it. */
async function captured(capture: { received: Buffer[] }, tail: string): Promise<Buffer> {
  const find = () => capture.received.findIndex((b) => b.toString('latin1').endsWith(tail))
  await waitFor(() => find() >= 0, `a captured connection ending with ${tail}`, 5000)
  return capture.received.splice(find(), 1)[0] as Buffer
}

/**
 * Sends `chunks` (pausing between them), half-closes, and returns what came back until the close.
 * `from`: the loopback address to connect from.
 */
async function converse(
  port: number,
  chunks: readonly (Buffer | string)[],
  from = '127.0.0.1',
): Promise<{ clientPort: number; reply: string }> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from, allowHalfOpen: true })
  await once(socket, 'connect')
  const clientPort = socket.localPort as number
  // Listened for from the start: a refused flow may close before the last chunk is written.
  const closed = new Promise((resolve) => socket.once('close', resolve))
  const replies: Buffer[] = []
  socket.on('data', (c: Buffer) => replies.push(c))
  socket.on('error', () => {})
  for (const chunk of chunks) {
    if (socket.writable) socket.write(chunk)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  socket.end()
  await closed
  return { clientPort, reply: Buffer.concat(replies).toString() }
}

function accessLines(node: TestNode, listener: string) {
  return node.logs.filter((l) => l.msg === 'flow closed' && l.listener === listener)
}

describe('PROXY protocol', () => {
  let echo: TestServer
  let capture: Awaited<ReturnType<typeof startCaptureServer>>
  let node: TestNode
  let haproxyHttpPort: number

  before(async () => {
    echo = await startEchoServer()
    capture = await startCaptureServer()
    haproxyHttpPort = await refusedPort()
    node = await startTestNode(`common: { node_id: pp, admin_addr: "127.0.0.1:0" }
listeners:
  - { name: behind-lb, bind: "127.0.0.1:0", proxy_protocol: true, proxy_protocol_from: ["127.0.0.1/32"] }
  - { name: by-source, bind: "127.0.0.1:0", proxy_protocol: true, proxy_protocol_from: ["127.0.0.1/32"] }
  - { name: lb-to-v1, bind: "127.0.0.1:0", proxy_protocol: true, proxy_protocol_from: ["127.0.0.1/32"] }
  - { name: lb-only, bind: "0.0.0.0:0", proxy_protocol: true, proxy_protocol_from: ["127.0.0.2/32", "::1/128"] }
  - { name: plain-v1, bind: "127.0.0.1:0" }
  - { name: plain-v2, bind: "127.0.0.1:0" }
  - { name: to-haproxy-v1, bind: "127.0.0.1:0" }
  - { name: to-haproxy-v2, bind: "127.0.0.1:0" }
routes:
  - { name: lb-echo, match: { listener: behind-lb }, target: "${echo.address}" }
  - name: trusted-clients
    match: { listener: lb-only, source_cidrs: ["203.0.113.0/24"] }
    target: "${echo.address}"
  - name: documentation-net
    match: { listener: by-source, source_cidrs: ["203.0.113.0/24"] }
    target: "${echo.address}"
  - { name: lb-relay, match: { listener: lb-to-v1 }, target: "${capture.address}", send_proxy_protocol: v1 }
  - { name: send-v1, match: { listener: plain-v1 }, target: "${capture.address}", send_proxy_protocol: v1 }
  - { name: send-v2, match: { listener: plain-v2 }, target: "${capture.address}", send_proxy_protocol: v2 }
  - { name: h-v1, match: { listener: to-haproxy-v1 }, target: "127.0.0.1:${haproxyHttpPort}", send_proxy_protocol: v1 }
  - { name: h-v2, match: { listener: to-haproxy-v2 }, target: "127.0.0.1:${haproxyHttpPort}", send_proxy_protocol: v2 }
`)
  })
  after(async () => {
    await node?.close()
    await echo?.close()
    await capture?.close()
  })

  test('a listener takes the header off, relays the rest, and logs the client it names', async () => {
    const header = 'PROXY TCP4 203.0.113.7 192.0.2.1 51000 443\r\n'
    const { clientPort, reply } = await converse(node.port('behind-lb'), [header, 'hello'])
    assert.equal(reply, 'hello')
    await waitFor(() => accessLines(node, 'behind-lb').length === 1)
    const line = accessLines(node, 'behind-lb')[0]
    assert.equal(line?.source, '203.0.113.7:51000')
    assert.equal(line?.proxied_by, `127.0.0.1:${clientPort}`)
    assert.equal(line?.reason, 'downstream_closed')
  })

  test('routes match on the client the header names, not on the load balancer', async () => {
    const inside = await converse(node.port('by-source'), [
      'PROXY TCP4 203.0.113.9 192.0.2.1 1000 443\r\n',
      'in',
    ])
    const outside = await converse(node.port('by-source'), [
      'PROXY TCP4 198.51.100.9 192.0.2.1 1000 443\r\n',
      'out',
    ])
    assert.equal(inside.reply, 'in')
    assert.equal(outside.reply, '', 'no route takes 198.51.100.9')
    const listener = node.node.getListeners().find((l) => l.name === 'by-source')
    assert.equal(listener?.rejected.no_route, 1)
  })

  test('a v2 header arriving in pieces, with data in its last segment, is read whole', async () => {
    const header = encodeProxyHeader('v2', {
      sourceAddress: '2001:db8::7',
      sourcePort: 4242,
      destinationAddress: '2001:db8::1',
      destinationPort: 443,
    })
    const { reply } = await converse(node.port('behind-lb'), [
      header.subarray(0, 5),
      header.subarray(5, 20),
      Buffer.concat([header.subarray(20), Buffer.from('after')]),
    ])
    assert.equal(reply, 'after')
    await waitFor(() => accessLines(node, 'behind-lb').some((l) => l.source === '2001:db8::7:4242'))
  })

  test('a connection without a valid header is refused, counted and logged with the reason', async () => {
    const rejectedBefore = node.node.getListeners().find((l) => l.name === 'behind-lb')
      ?.rejected.proxy_protocol
    const acceptedBefore = echo.accepted
    const garbage = await converse(node.port('behind-lb'), ['GET / HTTP/1.1\r\nHost: x\r\n\r\n'])
    const truncated = await converse(node.port('behind-lb'), ['PROXY TCP4 10.0.0.1'])
    assert.equal(garbage.reply, '')
    assert.equal(truncated.reply, '')
    assert.equal(echo.accepted, acceptedBefore, 'a refused flow reached the target')
    const listener = node.node.getListeners().find((l) => l.name === 'behind-lb')
    assert.equal(listener?.rejected.proxy_protocol, (rejectedBefore ?? 0) + 2)
    await waitFor(() => accessLines(node, 'behind-lb').filter((l) => l.reason === 'rejected').length === 2)
    const errors = accessLines(node, 'behind-lb')
      .filter((l) => l.reason === 'rejected')
      .map((l) => String(l.error))
    assert.match(errors[0] ?? '', /PROXY protocol header: start is "GET \/ HT"/)
    assert.match(errors[1] ?? '', /PROXY protocol header: the connection ended after 19 bytes/)
  })

  test('a client outside proxy_protocol_from cannot name itself: it is refused before its header is read', async () => {
    const listener = () => node.node.getListeners().find((l) => l.name === 'lb-only')
    const claim = 'PROXY TCP4 203.0.113.9 192.0.2.1 1000 443\r\n'
    const acceptedBefore = echo.accepted
    const spoofed = await converse(node.port('lb-only'), [claim, 'let me in'], '127.0.0.1')
    assert.equal(spoofed.reply, '')
    assert.equal(echo.accepted, acceptedBefore, 'the spoofed client reached the route for 203.0.113.0/24')
    assert.equal(listener()?.rejected.proxy_protocol, 1)
    await waitFor(() => accessLines(node, 'lb-only').length === 1)
    const [line] = accessLines(node, 'lb-only')
    assert.equal(line?.reason, 'rejected')
    assert.match(
      String(line?.error),
      /127\.0\.0\.1, which listeners\.lb-only\.proxy_protocol_from does not list/,
    )
    const fromLb = await converse(node.port('lb-only'), [claim, 'from the balancer'], '127.0.0.2')
    assert.equal(fromLb.reply, 'from the balancer')
    assert.equal(listener()?.rejected.proxy_protocol, 1)
  })

  test('a route sends a v1 header naming the client and the listener, then the bytes', async () => {
    const { clientPort } = await converse(node.port('plain-v1'), ['payload'])
    const got = (await captured(capture, 'payload')).toString()
    const expected = `PROXY TCP4 127.0.0.1 127.0.0.1 ${clientPort} ${node.port('plain-v1')}\r\npayload`
    assert.equal(got, expected)
  })

  test('a route sends a v2 header', async () => {
    const { clientPort } = await converse(node.port('plain-v2'), ['payload'])
    const got = await captured(capture, 'payload')
    const decoded = decodeProxyHeader(got)
    assert.ok('header' in decoded)
    assert.deepEqual(decoded.header.addresses, {
      sourceAddress: '127.0.0.1',
      sourcePort: clientPort,
      destinationAddress: '127.0.0.1',
      destinationPort: node.port('plain-v2'),
    })
    assert.equal(got.subarray(decoded.consumed).toString(), 'payload')
  })

  test('behind a load balancer, the header sent on names the original client', async () => {
    const header = 'PROXY TCP6 2001:db8::5 2001:db8::1 4000 80\r\n'
    await converse(node.port('lb-to-v1'), [header, 'abc'])
    assert.equal((await captured(capture, 'abc')).toString(), `${header}abc`)
  })

  describe('with a real HAProxy', { skip: noHaproxy }, () => {
    let haproxy: TestHaproxy
    let lbPort: number

    before(async () => {
      lbPort = await refusedPort()
      haproxy = await startHaproxy(
        [
          'listen lb',
          '  mode tcp',
          `  bind 127.0.0.1:${lbPort}`,
          `  server node 127.0.0.1:${node.port('lb-to-v1')} send-proxy-v2`,
          'frontend web',
          '  mode http',
          `  bind 127.0.0.1:${haproxyHttpPort} accept-proxy`,
          '  http-request return status 200 content-type text/plain lf-string "%[src]:%[src_port]"',
        ].join('\n'),
        [lbPort, haproxyHttpPort],
      )
    })
    after(async () => {
      await haproxy?.close()
    })

    test("HAProxy's send-proxy-v2 is read, and the client it names is passed on", async () => {
      const { clientPort } = await converse(lbPort, ['through haproxy'])
      const got = (await captured(capture, 'through haproxy')).toString()
      assert.equal(got, `PROXY TCP4 127.0.0.1 127.0.0.1 ${clientPort} ${lbPort}\r\nthrough haproxy`)
    })

    for (const version of ['v1', 'v2'] as const) {
      test(`HAProxy's accept-proxy takes our ${version} header: it sees the client's address`, async () => {
        const request = 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
        const { clientPort, reply } = await converse(node.port(`to-haproxy-${version}`), [request])
        assert.match(reply, /^HTTP\/1\.1 200/)
        assert.equal(reply.split('\r\n\r\n')[1], `127.0.0.1:${clientPort}`)
      })
    }
  })

  describe('through the mesh', () => {
    let a: TestNode
    let b: TestNode
    let ports: Record<'a' | 'b' | 'pinned' | 'chain' | 'striped', number>

    before(async () => {
      ports = await freePorts(['a', 'b', 'pinned', 'chain', 'striped'])
      b = await startMeshNode({
        id: 'b',
        meshPort: ports.b,
        meshExtra: '  allow_targets: ["127.0.0.1/32"]',
        yaml: `routes:\n  - { name: by-port, match: { port: ${ports.chain} }, target: "${capture.address}" }\n`,
      })
      a = await startMeshNode({
        id: 'a',
        meshPort: ports.a,
        peers: [{ id: 'b', port: ports.b }],
        yaml: `listeners:
  - { name: pinned, bind: "127.0.0.1:${ports.pinned}" }
  - { name: chain, bind: "127.0.0.1:${ports.chain}" }
  - { name: striped, bind: "127.0.0.1:${ports.striped}" }
routes:
  - { name: pinned, match: { listener: pinned }, via: [b], target: "${capture.address}", send_proxy_protocol: v1 }
  - { name: chain, match: { listener: chain }, target: b, send_proxy_protocol: v2 }
  - name: striped
    match: { listener: striped }
    paths: [{ via: [b], target: "${capture.address}" }, { via: [b], target: "${capture.address}" }]
    multipath: stripe
    send_proxy_protocol: v1
`,
      })
      await waitFor(
        () => a.node.getPeers().some((p) => p.name === 'b' && p.state === 'up'),
        'peer b up',
        5000,
      )
    })
    after(async () => {
      await a?.close()
      await b?.close()
    })

    test('the ingress sends the header through the relay: the target sees the client', async () => {
      const { clientPort } = await converse(ports.pinned, ['over the mesh'])
      const got = (await captured(capture, 'over the mesh')).toString()
      assert.equal(got, `PROXY TCP4 127.0.0.1 127.0.0.1 ${clientPort} ${ports.pinned}\r\nover the mesh`)
    })

    test('so does a proxy chain, whose egress routes the flow by its own routes', async () => {
      const { clientPort } = await converse(ports.chain, ['chained'])
      const got = await captured(capture, 'chained')
      const decoded = decodeProxyHeader(got)
      assert.ok('header' in decoded)
      assert.equal(decoded.header.addresses?.sourcePort, clientPort)
      assert.equal(decoded.header.addresses?.destinationPort, ports.chain)
    })

    test('a multipath flow carries it too: the joined stream starts with the header', async () => {
      const { clientPort } = await converse(ports.striped, ['striped'])
      const got = (await captured(capture, 'striped')).toString()
      assert.equal(got, `PROXY TCP4 127.0.0.1 127.0.0.1 ${clientPort} ${ports.striped}\r\nstriped`)
    })
  })
})
