import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { type LinkEmulator, startLinkEmulator } from '../../src/link-emulator/emulator.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { MAX_RESPONSE_HEADER_BYTES } from '../../src/mesh/wire/constants.ts'
import { encodeOpenRequest } from '../../src/mesh/wire/request.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { type RunningScheduler, startScheduler } from '../../src/scheduler/server.ts'
import { freePorts, meshNodeYaml, TEST_TOKEN } from '../helpers/mesh-harness.ts'
import { readOpenResponse } from '../helpers/mesh-reads.ts'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import { sendAndCollect, sha256, startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

/**
 * A scheduler and three real nodes. A reaches C directly over a slow link (80 ms round trip) and
 * through B over two fast ones (10 ms each); the link emulator makes the delays. The service's
 * target sits behind C.
 */
describe('the Traffic Scheduler steers real nodes', () => {
  let dir: string
  let echo: TestServer
  let scheduler: RunningScheduler
  let schedulerPort: number
  let ab: LinkEmulator
  let ac: LinkEmulator
  let bc: LinkEmulator
  const nodes: Record<'a' | 'b' | 'c', TestNode | undefined> = { a: undefined, b: undefined, c: undefined }
  let ports: Record<'a' | 'b' | 'c' | 'web' | 'sched', number>

  function schedulerYaml(): string {
    return `scheduler:
  id: test-scheduler
  listen: 127.0.0.1:${schedulerPort}
  api: 127.0.0.1:0
  store: { type: embedded, path: ${join(dir, 'scheduler-state.json')} }
  instruction_ttl: 3s
  heartbeat_interval: 500ms
  report_interval: 200ms
  push_debounce: 50ms
  hysteresis: { relative: 10%, absolute: 5ms, min_dwell: 500ms }
  log_level: warn
services:
  - name: web
    ingress: [{ node: a, listener: web }]
    egress: [c]
    targets: ["${echo.address}"]
    alternatives: 2
`
  }

  async function startSched(): Promise<void> {
    scheduler = await startScheduler(schedulerConfigFromText(schedulerYaml()), { logger: silentLogger() })
  }

  function nodeYaml(id: 'a' | 'b' | 'c'): string {
    const sched = `scheduler:
  address: "127.0.0.1:${schedulerPort}"
  connect_timeout: 500ms
  request_timeout: 500ms
  retry_interval: 100ms
  max_retries: 2
  heartbeat_interval: 500ms
  join_token: ${scheduler.authority?.joinToken}
`
    const spec = {
      a: {
        peers: [
          { id: 'b', port: ab.port },
          { id: 'c', port: ac.port },
        ],
        yaml: `listeners:\n  - { name: web, bind: "127.0.0.1:${ports.web}" }\n${sched}`,
      },
      b: { peers: [{ id: 'c', port: bc.port }], yaml: sched },
      c: { peers: [], yaml: sched },
    }[id]
    return meshNodeYaml({
      id,
      meshPort: ports[id],
      peers: spec.peers,
      yaml: spec.yaml,
      stateDir: join(dir, id),
    })
  }

  async function startNode(id: 'a' | 'b' | 'c'): Promise<TestNode> {
    const node = await startTestNode(nodeYaml(id))
    nodes[id] = node
    return node
  }

  function node(id: 'a' | 'b' | 'c'): TestNode {
    const n = nodes[id]
    if (n === undefined) throw new Error(`node ${id} is not running`)
    return n
  }

  /** One flow through A's listener; returns the path A's access log gives it. */
  async function flowPath(): Promise<string> {
    const a = node('a')
    const closed = a.logs.filter((l) => l.msg === 'flow closed').length
    const payload = randomBytes(16 * 1024)
    const { sha256: got } = await sendAndCollect(a.port('web'), payload)
    await waitFor(
      () => a.logs.filter((l) => l.msg === 'flow closed').length > closed,
      'the access log line',
      2000,
    )
    const line = a.logs.filter((l) => l.msg === 'flow closed').at(-1)
    assert.equal(got, sha256(payload), `flow failed: ${line?.reason} ${line?.error ?? ''}`)
    return String(line?.target)
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-e2e-'))
    echo = await startEchoServer()
    ports = await freePorts(['a', 'b', 'c', 'web', 'sched'])
    schedulerPort = ports.sched
    ab = await startLinkEmulator({ target: { host: '127.0.0.1', port: ports.b }, delayMs: 5 })
    ac = await startLinkEmulator({ target: { host: '127.0.0.1', port: ports.c }, delayMs: 40 })
    bc = await startLinkEmulator({ target: { host: '127.0.0.1', port: ports.c }, delayMs: 5 })
    await startSched()
    await startNode('c')
    await startNode('b')
    await startNode('a')
  })
  after(async () => {
    for (const n of Object.values(nodes)) await n?.close()
    await scheduler?.close()
    for (const e of [ab, ac, bc]) await e?.close()
    await echo?.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('A’s flows to C’s target go through B, the faster way', async () => {
    await waitFor(
      () =>
        node('a')
          .node.getRoutes()
          .some((r) => r.name === 'web'),
      'A to get the web route',
      10_000,
    )
    let path = ''
    await waitFor(
      () => {
        const [first] =
          node('a')
            .node.getRoutes()
            .find((r) => r.name === 'web')?.paths ?? []
        return first?.firstHop === 'b'
      },
      'the scheduler to prefer B',
      10_000,
    )
    path = await flowPath()
    assert.match(path, /^b → c → /)
    // A set that reorders the route's paths starts its counters afresh (only a renewal over the
    // same paths carries them): while sets still settle, the count is read after a later flow.
    const freshlyDecided = () =>
      (node('a')
        .node.getRoutes()
        .find((r) => r.name === 'web')?.matches.instruction ?? 0) >= 1
    for (let i = 0; i < 5 && !freshlyDecided(); i++) await flowPath()
    assert.ok(freshlyDecided(), 'decided by a fresh instruction')
  })

  test('swap the delays: new flows follow within a few report intervals', async () => {
    ac.set({ delayMs: 2 })
    ab.set({ delayMs: 40 })
    const swappedAt = Date.now()
    await waitFor(
      () =>
        node('a')
          .node.getRoutes()
          .find((r) => r.name === 'web')?.paths[0]?.firstHop === 'c',
      'the route to move to the direct link',
      10_000,
    )
    const movedAfterMs = Date.now() - swappedAt
    assert.match(await flowPath(), /^c → /)
    assert.ok(movedAfterMs < 8000, `moved after ${movedAfterMs}ms`)
  })

  test('a relay refuses a forged path token once it knows the scheduler’s key', async () => {
    await waitFor(
      () => node('c').node.getStats().scheduler?.appliedVersion !== undefined,
      'C to get a set',
      5000,
    )
    const forged = Buffer.concat([Buffer.from([1]), randomBytes(120)])
    const header = encodeOpenRequest(
      {
        flowId: randomBytes(16),
        sourceNodeId: 'b',
        remainingHops: 3,
        visited: ['a', 'b'],
        remainingPath: [],
        target: echo.address,
        pathToken: forged,
        mode: 'raw',
        subflowIndex: 0,
      },
      { token: TEST_TOKEN, now: Date.now() },
    )
    const socket = net.connect({ port: ports.c, host: '127.0.0.1' })
    socket.on('error', () => {})
    await once(socket, 'connect')
    socket.write(header)
    const { response } = await readOpenResponse(socket, {
      maxBytes: MAX_RESPONSE_HEADER_BYTES,
      timeoutMs: 5000,
    })
    socket.destroy()
    assert.equal(response.status, 'path_token_invalid')
  })

  test('the scheduler dies: live flows go on, new flows route from the cache, the node shows degraded', async () => {
    const a = node('a')
    const live = net.connect({ port: a.port('web'), host: '127.0.0.1' })
    live.write('before')
    await once(live, 'data')
    await scheduler.close()
    await waitFor(
      () => a.node.getStats().scheduler?.state === 'degraded',
      'A to declare itself degraded',
      10_000,
    )
    live.write('after')
    const [echoed] = (await once(live, 'data')) as [Buffer]
    assert.equal(echoed.toString(), 'after')
    live.destroy()
    await waitFor(() => a.node.getStats().scheduler?.fresh === false, 'the cached set to turn stale', 5000)
    const before = a.node.getRoutes().find((r) => r.name === 'web')?.matches.cached_instruction ?? 0
    assert.match(await flowPath(), / → /)
    assert.equal(a.node.getRoutes().find((r) => r.name === 'web')?.matches.cached_instruction, before + 1)
  })

  test('a node restarted while the scheduler is down routes from its persisted cache', async () => {
    await node('a').close()
    nodes.a = undefined
    const a = await startNode('a')
    assert.ok(
      a.node.getRoutes().some((r) => r.name === 'web'),
      'the web route came back from state_dir',
    )
    assert.match(await flowPath(), / → /)
    assert.ok((a.node.getRoutes().find((r) => r.name === 'web')?.matches.cached_instruction ?? 0) >= 1)
  })

  test('the scheduler returns: nodes reconnect and resync, versions grew', async () => {
    const stale = node('a').node.getStats().scheduler?.appliedVersion ?? '0.0'
    await startSched()
    await waitFor(() => node('a').node.getStats().scheduler?.state === 'connected', 'A to reconnect', 10_000)
    await waitFor(
      () => {
        const v = node('a').node.getStats().scheduler?.appliedVersion
        return v !== undefined && Number(v.split('.')[0]) > Number(stale.split('.')[0])
      },
      'a set from the new scheduler epoch',
      10_000,
    )
    await waitFor(() => node('a').node.getStats().scheduler?.fresh === true, 'fresh again', 5000)
    // Each node comes back on its own backoff; the route is whole once all three have reported.
    await waitFor(
      () => (['b', 'c'] as const).every((id) => node(id).node.getStats().scheduler?.state === 'connected'),
      'B and C to reconnect',
      10_000,
    )
    await waitFor(
      () =>
        node('a')
          .node.getRoutes()
          .some((r) => r.name === 'web'),
      'the web route',
      5000,
    )
    assert.match(await flowPath(), / → /)
  })
})
