/**
 * Issue 13, bounded inputs: what a node sends is kept, so everything it sends is bounded; nodes
 * gone for good are forgotten; one source address holds a bounded number of connections and
 * streams; a stream that never says hello does not hold its slot for good.
 */
import assert from 'node:assert/strict'
import { once } from 'node:events'
import http2 from 'node:http2'
import net from 'node:net'
import { after, afterEach, before, beforeEach, describe, test } from 'node:test'
import tls from 'node:tls'
import { create, fromBinary, type MessageInitShape, toBinary } from '@bufbuild/protobuf'
import {
  type HelloSchema,
  NodeMessageSchema,
  type SchedulerMessage,
  SchedulerMessageSchema,
} from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { checkSchedulerIdentity } from '../../src/pki/scheduler-identity.ts'
import { FrameReader, frame } from '../../src/scheduler/grpc-framing.ts'
import { CONNECT_PATH } from '../../src/scheduler/node-stream.ts'
import { type Harness, startHarness } from './scheduler-fixtures.ts'

const WAIT_MS = 5000

interface RawStream {
  readonly session: http2.ClientHttp2Session
  readonly stream: http2.ClientHttp2Stream
  readonly received: SchedulerMessage[]
  /** grpc-status and grpc-message, once the stream ended. */
  readonly ended: Promise<{ status: string; message: string }>
}

/** A node stream by hand, as node `nodeId` (its certificate from the harness). */
async function rawStream(h: Harness, nodeId: string, session?: http2.ClientHttp2Session): Promise<RawStream> {
  const s = session ?? http2.connect(h.baseUrl, await h.tls(nodeId))
  s.on('error', () => undefined)
  const stream = s.request({
    ':method': 'POST',
    ':path': CONNECT_PATH,
    'content-type': 'application/grpc',
    te: 'trailers',
  })
  const received: SchedulerMessage[] = []
  const reader = new FrameReader()
  stream.on('data', (chunk: Buffer) => {
    for (const m of reader.push(chunk)) received.push(fromBinary(SchedulerMessageSchema, m))
  })
  stream.on('error', () => undefined)
  let headers: http2.IncomingHttpHeaders = {}
  stream.on('response', (h2) => {
    headers = h2
  })
  const ended = new Promise<{ status: string; message: string }>((resolve) => {
    stream.once('trailers', (t) =>
      resolve({
        status: String(t['grpc-status']),
        message: decodeURIComponent(String(t['grpc-message'] ?? '')),
      }),
    )
    stream.once('close', () =>
      resolve({
        status: String(headers['grpc-status'] ?? 'none'),
        message: decodeURIComponent(String(headers['grpc-message'] ?? '')),
      }),
    )
  })
  return { session: s, stream, received, ended }
}

function helloFrame(hello: MessageInitShape<typeof HelloSchema>): Buffer {
  return frame(
    toBinary(NodeMessageSchema, create(NodeMessageSchema, { msg: { case: 'hello', value: hello } })),
  )
}

async function nodesOf(h: Harness): Promise<Record<string, unknown>[]> {
  return (await (await h.api('/nodes')).json()) as Record<string, unknown>[]
}

async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

describe('what a node may send is bounded', () => {
  let h: Harness
  before(async () => {
    h = await startHarness('  heartbeat_interval: 5s\n  report_interval: 10s\n')
  })
  after(async () => {
    await h.close()
  })

  const refusedHellos: [string, MessageInitShape<typeof HelloSchema>, RegExp][] = [
    [
      'too many peers',
      {
        nodeId: 'p1',
        peers: Array.from({ length: 1025 }, (_, i) => ({ name: `peer-${i}`, address: '10.0.0.1:1' })),
      },
      /peers: at most 1024 entries, got 1025/,
    ],
    ['a long region', { nodeId: 'p2', region: 'r'.repeat(65) }, /region: at most 64 characters, got 65/],
    [
      'a listener name that is no name',
      { nodeId: 'p3', listeners: [{ name: 'a b', bind: '0.0.0.0:1', port: 1 }] },
      /listeners\[0\]\.name: names use letters, digits/,
    ],
  ]
  for (const [what, hello, reason] of refusedHellos) {
    test(`a hello with ${what} is refused with the field named, and nothing is kept`, async () => {
      const s = await rawStream(h, hello.nodeId ?? '')
      s.stream.write(helloFrame(hello))
      const end = await s.ended
      assert.equal(end.status, '3', 'invalid_argument')
      assert.match(end.message, /^DYN_ERR_SCHEDULER_HELLO_INVALID: invalid hello: /)
      assert.match(end.message, reason)
      assert.deepEqual(s.received, [])
      assert.equal(
        (await nodesOf(h)).find((n) => n.id === hello.nodeId),
        undefined,
      )
      s.session.destroy()
    })
  }

  test('a message over 256 KiB is refused by its length, before it is read', async () => {
    const s = await rawStream(h, 'big')
    const header = Buffer.alloc(5)
    header.writeUInt32BE(1024 * 1024, 1)
    s.stream.write(header)
    const end = await s.ended
    assert.equal(end.status, '8', 'resource_exhausted')
    assert.match(end.message, /message size 1048576 is larger than configured readMaxBytes 262144/)
    s.session.destroy()
  })

  test('a report beyond its bounds ends the stream with the field named; its links are not kept', async () => {
    const s = await rawStream(h, 'rep')
    s.stream.write(helloFrame({ nodeId: 'rep', region: 'r1' }))
    await waitFor(async () => s.received.length > 0, 'the welcome')
    const report = create(NodeMessageSchema, {
      msg: {
        case: 'report',
        value: {
          links: [
            { peer: 'ok', up: true },
            { peer: 'not a name', up: true },
          ],
        },
      },
    })
    s.stream.write(frame(toBinary(NodeMessageSchema, report)))
    const end = await s.ended
    assert.equal(end.status, '3')
    assert.match(
      end.message,
      /^DYN_ERR_SCHEDULER_REPORT_INVALID: invalid report from node rep: links\[1\]\.peer: names use/,
    )
    await waitFor(
      async () => (await nodesOf(h)).find((n) => n.id === 'rep')?.connected === false,
      'rep disconnected',
    )
    const links = (await (await h.api('/links')).json()) as unknown[]
    assert.deepEqual(links, [])
    s.session.destroy()
  })

  test("a NACK's reason is cut to 1024 characters", async () => {
    const s = await rawStream(h, 'nacker')
    s.stream.write(helloFrame({ nodeId: 'nacker', region: 'r1' }))
    await waitFor(async () => s.received.some((m) => m.msg.case === 'instructions'), 'a set')
    const set = s.received.find((m) => m.msg.case === 'instructions')
    const version = set?.msg.case === 'instructions' ? set.msg.value.version : undefined
    const nack = create(NodeMessageSchema, {
      msg: { case: 'nack', value: { version, error: 'x'.repeat(100_000) } },
    })
    s.stream.write(frame(toBinary(NodeMessageSchema, nack)))
    await waitFor(
      async () => Boolean((await nodesOf(h)).find((n) => n.id === 'nacker')?.lastNack),
      'the nack',
    )
    const kept = (await nodesOf(h)).find((n) => n.id === 'nacker')?.lastNack as { error: string }
    assert.equal(kept.error.length, 1025)
    s.session.destroy()
  })
})

describe('nodes gone for good are forgotten', () => {
  let h: Harness
  before(async () => {
    h = await startHarness('  heartbeat_interval: 200ms\n  forget_after: 300ms\n')
  })
  after(async () => {
    await h.close()
  })

  test('a node disconnected longer than forget_after leaves /nodes and /links', async () => {
    const s = await rawStream(h, 'gone')
    s.stream.write(helloFrame({ nodeId: 'gone', region: 'r1' }))
    await waitFor(async () => s.received.length > 0, 'the welcome')
    const report = create(NodeMessageSchema, {
      msg: { case: 'report', value: { links: [{ peer: 'other', up: true, rttMs: 1 }] } },
    })
    s.stream.write(frame(toBinary(NodeMessageSchema, report)))
    await waitFor(async () => ((await (await h.api('/links')).json()) as unknown[]).length === 1, 'its link')
    s.session.destroy()
    await waitFor(
      async () => (await nodesOf(h)).find((n) => n.id === 'gone')?.connected === false,
      'disconnected',
    )
    await waitFor(async () => (await nodesOf(h)).every((n) => n.id !== 'gone'), 'forgotten')
    assert.deepEqual(await (await h.api('/links')).json(), [])
  })
})

describe('one source address holds a bounded number of connections and streams', () => {
  // A scheduler each: the connections one test closes free their slots only once the scheduler sees them close.
  let h: Harness
  beforeEach(async () => {
    h = await startHarness('  max_streams_per_address: 2\n', { helloTimeoutMs: 500, handshakeTimeoutMs: 500 })
  })
  afterEach(async () => {
    await h.close()
  })

  /** A TLS connection that says nothing after its handshake; resolves whether it got through. */
  function silentConnection(): Promise<{ socket: tls.TLSSocket; secured: boolean }> {
    const [host, port] = h.scheduler.grpcAddress.split(':')
    return new Promise((resolve) => {
      const socket = tls.connect({
        host,
        port: Number(port),
        ca: h.scheduler.authority?.ca.certPem,
        checkServerIdentity: checkSchedulerIdentity,
        ALPNProtocols: ['h2'],
      })
      socket.once('secureConnect', () => resolve({ socket, secured: true }))
      socket.once('error', () => resolve({ socket, secured: false }))
      socket.once('close', () => resolve({ socket, secured: false }))
    })
  }

  test('a connection beyond the limit is closed at accept; one closing frees its slot', async () => {
    const first = await silentConnection()
    const second = await silentConnection()
    const third = await silentConnection()
    assert.deepEqual([first.secured, second.secured, third.secured], [true, true, false])
    first.socket.destroy()
    await new Promise((r) => setTimeout(r, 100))
    const fourth = await silentConnection()
    assert.equal(fourth.secured, true)
    for (const c of [second, third, fourth]) c.socket.destroy()
  })

  test('a stream beyond the limit is refused with resource_exhausted; a silent stream ends after the hello timeout', async () => {
    const session = http2.connect(h.baseUrl, await h.tls('st'))
    session.on('error', () => undefined)
    const one = await rawStream(h, 'st', session)
    const two = await rawStream(h, 'st', session)
    const three = await rawStream(h, 'st', session)
    const refused = await three.ended
    assert.equal(refused.status, '8')
    assert.match(refused.message, /^DYN_ERR_SCHEDULER_LIMIT_STREAMS: 127\.0\.0\.1 already has 2 streams open/)
    const silent = await one.ended
    assert.equal(silent.status, '3')
    assert.match(
      silent.message,
      /DYN_ERR_SCHEDULER_HELLO_REQUIRED: expected hello as the first message of the stream, got nothing within 500ms/,
    )
    await two.ended
    // Ended streams the client keeps open are reset after a grace period: their slots come back.
    await Promise.all([one, two].map((s) => (s.stream.closed ? undefined : once(s.stream, 'close'))))
    const again = await rawStream(h, 'st', session)
    again.stream.write(helloFrame({ nodeId: 'st', region: 'r1' }))
    await waitFor(async () => again.received.length > 0, 'a welcome once slots are free')
    session.destroy()
  })

  test('a client that never finishes its TLS handshake is disconnected, and its slot comes back', async () => {
    const [host, port] = h.scheduler.grpcAddress.split(':')
    const silent = net.connect({ host, port: Number(port) })
    silent.on('error', () => undefined)
    const closedAt = await new Promise<number>((resolve) => {
      const started = Date.now()
      silent.once('close', () => resolve(Date.now() - started))
    })
    assert.ok(closedAt >= 400 && closedAt < 3000, `closed after ${closedAt}ms`)
    const first = await silentConnection()
    const second = await silentConnection()
    assert.deepEqual([first.secured, second.secured], [true, true])
    first.socket.destroy()
    second.socket.destroy()
  })
})
