import assert from 'node:assert/strict'
import { after, before, test } from 'node:test'
import { create } from '@bufbuild/protobuf'
import { Code, ConnectError, createClient } from '@connectrpc/connect'
import { createWritableIterable } from '@connectrpc/connect/protocol'
import { createGrpcTransport, Http2SessionManager } from '@connectrpc/connect-node'
import {
  type NodeMessage,
  NodeMessageSchema,
  TrafficSchedulerService,
} from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { waitFor } from '../helpers/wait-for.ts'
import { type Harness, startHarness, webServiceConfig } from './scheduler-fixtures.ts'

const CONFIG = webServiceConfig({ heartbeat: '150ms', report: '10s', debounce: '20ms' })

let h: Harness
before(async () => {
  h = await startHarness(CONFIG)
})
after(async () => {
  await h.close()
})

async function nodes(): Promise<Record<string, Record<string, unknown>>> {
  const list = (await (await h.api('/nodes')).json()) as Record<string, unknown>[]
  return Object.fromEntries(list.map((n) => [String(n.id), n]))
}

test('hello → welcome at once, then the instruction set; acks and nacks show in /nodes', async () => {
  const a = h.node({
    nodeId: 'a',
    region: 'r1',
    listeners: [{ name: 'web', bind: '127.0.0.1:8080', port: 8080 }],
  })
  const beat = setInterval(() => a.send({ case: 'heartbeat', value: {} }), 50)
  try {
    const welcome = await a.until(() => a.received[0], 'welcome')
    assert.equal(welcome.msg.case, 'welcome')
    assert.equal(welcome.msg.case === 'welcome' && welcome.msg.value.heartbeatIntervalMs, 150)
    assert.equal(welcome.msg.case === 'welcome' && welcome.msg.value.epoch, BigInt(h.scheduler.epoch))
    const set = await a.nextSet(0)
    assert.equal(set.version?.epoch, BigInt(h.scheduler.epoch))
    assert.notEqual(set.pathTokenKey, '')
    assert.equal(set.routes[0]?.name, 'web')
    assert.deepEqual(set.routes[0]?.paths[0]?.hops, [], 'a is its own egress: direct')
    assert.equal(set.routes[0]?.paths[0]?.targets[0]?.address, '127.0.0.1:9')
    assert.ok((set.routes[0]?.paths[0]?.token.length ?? 0) > 64, 'a signed token')

    let view = await nodes()
    assert.equal(view.a?.connected, true)
    assert.equal(view.a?.synced, false, 'sent but not acknowledged yet')
    a.ack(set)
    const version = `${set.version?.epoch}.${set.version?.counter}`
    await waitFor(async () => (await nodes()).a?.appliedVersion === version, 'the ack in /nodes')
    view = await nodes()
    assert.equal(view.a?.synced, true)
    a.send({
      case: 'nack',
      value: { version: set.version, nonce: set.nonce, error: 'route web: unknown listener' },
    })
    await waitFor(async () => {
      const nack = (await nodes()).a?.lastNack as { error?: string } | null
      return nack?.error === 'route web: unknown listener'
    }, 'the nack in /nodes')
  } finally {
    clearInterval(beat)
  }
})

test('Resolve answers a connected node a flow on a port from the services', async () => {
  const a = h.node({
    nodeId: 'a',
    region: 'r1',
    listeners: [{ name: 'web', bind: '127.0.0.1:8080', port: 8080 }],
  })
  const beat = setInterval(() => a.send({ case: 'heartbeat', value: {} }), 50)
  const sessionManager = new Http2SessionManager(h.baseUrl, {}, await h.tls('a'))
  try {
    await a.nextSet(0)
    const client = createClient(
      TrafficSchedulerService,
      createGrpcTransport({ baseUrl: h.baseUrl, sessionManager }),
    )
    const r = await client.resolve({ nodeId: 'a', port: 8080 }, { timeoutMs: 5000 })
    assert.equal(r.route?.name, 'web')
    const none = await client.resolve({ nodeId: 'a', port: 1 }, { timeoutMs: 5000 })
    assert.equal(none.route, undefined)
  } finally {
    clearInterval(beat)
    sessionManager.abort()
    a.close()
  }
})

test('a stream that does not open with hello is refused with invalid_argument and our code', async () => {
  const sessionManager = new Http2SessionManager(h.baseUrl, {}, await h.tls('x'))
  const client = createClient(
    TrafficSchedulerService,
    createGrpcTransport({ baseUrl: h.baseUrl, sessionManager }),
  )
  const out = createWritableIterable<NodeMessage>()
  void out.write(create(NodeMessageSchema, { msg: { case: 'heartbeat', value: {} } }))
  await assert.rejects(
    (async () => {
      for await (const _ of client.connect(out, { timeoutMs: 5000 })) assert.fail('no message expected')
    })(),
    (err: unknown) => {
      const e = ConnectError.from(err)
      return e.code === Code.InvalidArgument && e.rawMessage.startsWith('DYN_ERR_SCHEDULER_HELLO_REQUIRED')
    },
  )
  out.close()
  sessionManager.abort()
})

test('a node that stops heartbeating is disconnected and its stream ended', async () => {
  const b = h.node({ nodeId: 'b', region: 'r1' })
  await b.nextSet(0)
  assert.equal((await nodes()).b?.connected, true)
  await b.until(() => b.ended, 'the stream to end', 3000)
  assert.match(String(b.error), /DYN_ERR_SCHEDULER_NODE_TIMEOUT/)
  const view = await nodes()
  assert.equal(view.b?.connected, false)
  assert.equal(view.b?.disconnectReason, 'heartbeat timeout')
})
