/**
 * Node streams in binary gRPC are served by node-stream.ts, everything else by the connect
 * adapter: both must hold the same contract, and a broken stream must end cleanly.
 */
import assert from 'node:assert/strict'
import http2 from 'node:http2'
import { after, before, test } from 'node:test'
import { create, fromBinary, toBinary } from '@bufbuild/protobuf'
import { createClient } from '@connectrpc/connect'
import { createWritableIterable } from '@connectrpc/connect/protocol'
import { createConnectTransport, Http2SessionManager } from '@connectrpc/connect-node'
import {
  type NodeMessage,
  NodeMessageSchema,
  type SchedulerMessage,
  SchedulerMessageSchema,
  TrafficSchedulerService,
} from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { FrameReader, frame } from '../../src/scheduler/grpc-framing.ts'
import { CONNECT_PATH } from '../../src/scheduler/node-stream.ts'
import { waitFor } from '../helpers/wait-for.ts'
import { type Harness, startHarness, webServiceConfig } from './scheduler-fixtures.ts'

const CONFIG = webServiceConfig({ heartbeat: '5s', report: '10s', debounce: '20ms' })

let h: Harness
before(async () => {
  h = await startHarness(CONFIG)
})
after(async () => {
  await h.close()
})

const hello = (nodeId: string) =>
  create(NodeMessageSchema, {
    msg: { case: 'hello', value: { nodeId, region: 'r1', listeners: [{ name: 'web', port: 8080 }] } },
  })

async function node(id: string): Promise<Record<string, unknown> | undefined> {
  const list = (await (await h.api('/nodes')).json()) as Record<string, unknown>[]
  return list.find((n) => n.id === id)
}

/** A gRPC stream by hand, as node `nodeId`: what was received, and the trailers it ended with. */
async function rawStream(nodeId: string, first: Buffer) {
  const session = http2.connect(h.baseUrl, await h.tls(nodeId))
  const stream = session.request({
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
  const trailers = new Promise<http2.IncomingHttpHeaders>((resolve) => stream.once('trailers', resolve))
  stream.write(first)
  return { session, stream, received, trailers }
}

test('the Connect protocol still reaches a node stream, through the adapter, sets and directives', async () => {
  const baseUrl = h.baseUrl
  const sessionManager = new Http2SessionManager(baseUrl, {}, await h.tls('a'))
  const client = createClient(
    TrafficSchedulerService,
    createConnectTransport({ baseUrl, httpVersion: '2', sessionManager }),
  )
  const out = createWritableIterable<NodeMessage>()
  void out.write(hello('a'))
  const kinds: string[] = []
  for await (const m of client.connect(out, { timeoutMs: 5000 })) {
    kinds.push(m.msg.case ?? '')
    if (m.msg.case === 'instructions') {
      assert.equal(m.msg.value.routes[0]?.name, 'web')
      const res = await h.api('/nodes/a/drain', { method: 'POST' })
      assert.equal(res.status, 202)
    }
    if (m.msg.case === 'directive') {
      assert.equal(m.msg.value.kind.case, 'drain')
      break
    }
  }
  assert.deepEqual(kinds, ['welcome', 'instructions', 'directive'])
  out.close()
  sessionManager.abort()
})

test('a message that does not parse ends the stream with invalid_argument and disconnects the node', async () => {
  const s = await rawStream('b', frame(toBinary(NodeMessageSchema, hello('b'))))
  await waitFor(async () => s.received.length >= 2, 'the welcome and a set')
  assert.deepEqual(
    s.received.map((m) => m.msg.case),
    ['welcome', 'instructions'],
  )
  s.stream.write(frame(Uint8Array.of(0xff, 0xff, 0xff)))
  const trailers = await s.trailers
  assert.equal(trailers['grpc-status'], '3')
  await waitFor(async () => (await node('b'))?.connected === false, 'b disconnected')
  assert.match(String((await node('b'))?.disconnectReason), /^stream failed/)
  s.session.destroy()
})

test('a node that resets its stream is disconnected as cancelled', async () => {
  const s = await rawStream('c', frame(toBinary(NodeMessageSchema, hello('c'))))
  await waitFor(async () => s.received.length >= 2, 'the welcome and a set')
  s.stream.close(http2.constants.NGHTTP2_CANCEL)
  await waitFor(async () => (await node('c'))?.connected === false, 'c disconnected')
  assert.equal((await node('c'))?.disconnectReason, 'stream cancelled')
  s.session.close()
})

test('a node that ends its side gets OK and is disconnected as closed', async () => {
  const s = await rawStream('d', frame(toBinary(NodeMessageSchema, hello('d'))))
  await waitFor(async () => s.received.length >= 2, 'the welcome and a set')
  s.stream.end()
  assert.equal((await s.trailers)['grpc-status'], '0')
  await waitFor(async () => (await node('d'))?.connected === false, 'd disconnected')
  assert.equal((await node('d'))?.disconnectReason, 'stream closed')
  s.session.close()
})
