/**
 * What a node's own config allows is a ceiling the scheduler cannot lift: a relay's
 * `mesh.allow_targets` holds whatever a signed path token says, and `scheduler.allow_targets`
 * limits the targets an instruction set may name at all.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { MAX_RESPONSE_HEADER_BYTES } from '../../src/mesh/wire/constants.ts'
import { encodeOpenRequest } from '../../src/mesh/wire/request.ts'
import { exportPublicKey, generateSigningKey, signPathToken } from '../../src/scheduler/token.ts'
import { type FakeScheduler, startFakeScheduler } from '../helpers/fake-scheduler.ts'
import { freePorts, startMeshNode, TEST_TOKEN } from '../helpers/mesh-harness.ts'
import { readOpenResponse } from '../helpers/mesh-reads.ts'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import { startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { ofCase, validSet } from './scheduler-client-helpers.ts'

/** Opens a data connection to `port` for `target`, with a path token for ingress → relay. */
async function askFor(port: number, target: string, pathToken: Buffer) {
  const header = encodeOpenRequest(
    {
      flowId: randomBytes(16),
      sourceNodeId: 'ingress',
      remainingHops: 4,
      visited: ['ingress'],
      remainingPath: [],
      target,
      pathToken,
      mode: 'raw',
      subflowIndex: 0,
    },
    { token: TEST_TOKEN, now: Date.now() },
  )
  const socket = net.connect({ port, host: '127.0.0.1' })
  socket.on('error', () => {})
  await once(socket, 'connect')
  socket.write(header)
  const { response } = await readOpenResponse(socket, {
    maxBytes: MAX_RESPONSE_HEADER_BYTES,
    timeoutMs: 5000,
  })
  socket.destroy()
  return response
}

describe("a relay's mesh.allow_targets is a ceiling a path token does not lift", () => {
  const key = generateSigningKey()
  let allowed: TestServer
  let forbidden: TestServer
  const relays: TestNode[] = []
  let capped: TestNode
  let open: TestNode
  let ports: Record<'capped' | 'open', number>

  const tokenFor = (target: string) =>
    signPathToken(
      { route: 'hijack', nodes: ['ingress', 'relay'], targets: [target], expiresAt: Date.now() + 60_000 },
      key.privateKey,
    )

  before(async () => {
    allowed = await startEchoServer()
    forbidden = await startEchoServer()
    ports = await freePorts(['capped', 'open'])
    capped = await startMeshNode({
      id: 'relay',
      meshPort: ports.capped,
      meshExtra: `  allow_targets: ["127.0.0.1/32:${allowed.port}"]`,
    })
    open = await startMeshNode({ id: 'relay', meshPort: ports.open })
    relays.push(capped, open)
    for (const relay of relays) relay.node.applyInstructions([], exportPublicKey(key.publicKey))
  })
  after(async () => {
    for (const relay of relays) await relay.close()
    await allowed?.close()
    await forbidden?.close()
  })

  test('a signed path token to a target outside the list is refused, and nothing connects to it', async () => {
    const before = forbidden.accepted
    const response = await askFor(ports.capped, forbidden.address, tokenFor(forbidden.address))
    assert.equal(response.status, 'target_not_allowed')
    assert.match(response.message ?? '', /a path token reaches no further than mesh\.allow_targets/)
    assert.equal(forbidden.accepted, before)
  })

  test('a signed path token to a target inside the list is relayed', async () => {
    const response = await askFor(ports.capped, allowed.address, tokenFor(allowed.address))
    assert.equal(response.status, 'ok')
  })

  test('without mesh.allow_targets, a verified path token authorises its target', async () => {
    assert.equal((await askFor(ports.open, forbidden.address, tokenFor(forbidden.address))).status, 'ok')
  })
})

describe('scheduler.allow_targets limits the targets instructions may name', () => {
  let fake: FakeScheduler
  let node: TestNode
  let dir: string

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-ceilings-'))
    fake = await startFakeScheduler({ welcome: { schedulerId: 'sched' } })
    node = await startTestNode(`common: { node_id: node-1, admin_addr: "127.0.0.1:0", state_dir: "${dir}" }
listeners: [{ name: web, bind: "127.0.0.1:0" }]
peers: [{ name: node-2, address: "127.0.0.1:1" }]
mesh: { bind: "127.0.0.1:0", token: "${TEST_TOKEN}" }
scheduler:
  address: "127.0.0.1:${fake.port}"
  insecure: true
  retry_interval: 50ms
  allow_targets: ["127.0.0.0/8:9000", "10.0.0.0/8"]
`)
  })
  after(async () => {
    await node?.close()
    await fake?.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('a set naming a target outside it is NACKed with the field path; one within it is applied', async () => {
    const stream = await fake.waitFor(() => fake.latest(), 'a stream')
    await fake.waitFor(() => ofCase(stream.received, 'hello')[0], 'the hello')
    fake.pushInstructions(validSet(1n, 1n, '192.0.2.10:9000'))
    const nack = await fake.waitFor(() => ofCase(stream.received, 'nack')[0], 'a nack')
    assert.equal(
      nack.error,
      "routes[0].paths[0].targets[0].address: 192.0.2.10:9000 is outside this node's scheduler.allow_targets (hint: widen that list, or fix the service's targets)",
    )
    assert.equal(node.node.getInstructions(), undefined)
    fake.pushInstructions(validSet(1n, 2n, '127.0.0.1:9000'))
    await fake.waitFor(() => ofCase(stream.received, 'ack')[0], 'an ack')
    assert.equal(node.node.getInstructions()?.version, '1.2')
  })
})
