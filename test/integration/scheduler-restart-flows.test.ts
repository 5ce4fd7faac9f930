/**
 * Issue #14, failure 1, end to end: a scheduler and three real nodes, a new flow through ingress a
 * every 100 ms. The scheduler restarts while egress c cannot reach it (c's control connection goes
 * through a link emulator that resets and refuses it), so a reconnects first. Before the rule, a was sent a
 * set with no route for `web` and flows were closed `no_route` until c was back.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type LinkEmulator, startLinkEmulator } from '../../src/link-emulator/emulator.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { type RunningScheduler, startScheduler } from '../../src/scheduler/server.ts'
import { freePorts, meshNodeYaml } from '../helpers/mesh-harness.ts'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import {
  randomBytes,
  sendAndCollect,
  sha256,
  startEchoServer,
  type TestServer,
} from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const TEST_TIMEOUT_MS = 60_000

let dir: string
let echo: TestServer
let scheduler: RunningScheduler
let cToScheduler: LinkEmulator
const nodes: Partial<Record<'a' | 'b' | 'c', TestNode>> = {}
let ports: Record<'a' | 'b' | 'c' | 'web' | 'sched', number>

function schedulerYaml(): string {
  return `scheduler:
  listen: 127.0.0.1:${ports.sched}
  api: 127.0.0.1:0
  store: { type: embedded, path: ${join(dir, 'scheduler-state.json')} }
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
`
}

function nodeYaml(id: 'a' | 'b' | 'c', schedulerAddress: string): string {
  const sched = `scheduler:
  address: "${schedulerAddress}"
  connect_timeout: 300ms
  request_timeout: 300ms
  retry_interval: 100ms
  max_retries: 2
  heartbeat_interval: 500ms
  join_token: ${scheduler.authority?.joinToken}
`
  const spec = {
    a: {
      peers: [
        { id: 'b', port: ports.b },
        { id: 'c', port: ports.c },
      ],
      yaml: `listeners:\n  - { name: web, bind: "127.0.0.1:${ports.web}" }\n${sched}`,
    },
    b: { peers: [{ id: 'c', port: ports.c }], yaml: sched },
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

async function startSched(): Promise<void> {
  scheduler = await startScheduler(schedulerConfigFromText(schedulerYaml()), { logger: silentLogger() })
}

/** One short flow through a's listener: ok, or why not (the access log's reason). */
async function probe(a: TestNode): Promise<string> {
  const payload = randomBytes(1024)
  try {
    const got = await sendAndCollect(a.port('web'), payload, '127.0.0.1', 5000)
    if (got.sha256 === sha256(payload)) return 'ok'
  } catch {}
  await new Promise((resolve) => setTimeout(resolve, 50))
  const line = a.logs.filter((l) => l.msg === 'flow closed').at(-1)
  return `failed: ${String(line?.reason)}`
}

before(
  async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-restart-flows-'))
    echo = await startEchoServer()
    ports = await freePorts(['a', 'b', 'c', 'web', 'sched'])
    cToScheduler = await startLinkEmulator({ target: { host: '127.0.0.1', port: ports.sched } })
    await startSched()
    const direct = `127.0.0.1:${ports.sched}`
    nodes.c = await startTestNode(nodeYaml('c', cToScheduler.address))
    nodes.b = await startTestNode(nodeYaml('b', direct))
    nodes.a = await startTestNode(nodeYaml('a', direct))
  },
  { timeout: TEST_TIMEOUT_MS },
)

after(
  async () => {
    for (const n of Object.values(nodes)) await n?.close()
    await scheduler?.close()
    await cToScheduler?.close()
    await echo?.close()
    await rm(dir, { recursive: true, force: true })
  },
  { timeout: TEST_TIMEOUT_MS },
)

test('a scheduler restarted while the egress cannot reach it: no flow through the ingress fails', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const a = nodes.a as TestNode
  const webRoute = () => a.node.getRoutes().find((r) => r.name === 'web')
  await waitFor(() => (webRoute()?.paths.length ?? 0) > 0, 'a to route web', 10_000)
  assert.equal(await probe(a), 'ok')

  const outcomes: string[] = []
  let probing = true
  const probes = (async () => {
    while (probing) {
      outcomes.push(await probe(a))
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })()
  try {
    cToScheduler.reset()
    await scheduler.close()
    await startSched()
    const connected = () => scheduler.core.registry.connected().map((n) => n.id)
    await waitFor(() => connected().includes('a') && connected().includes('b'), 'a and b back', 10_000)
    // a has reported (and would have been sent a set without web) well within this.
    await new Promise((resolve) => setTimeout(resolve, 2000))
    assert.ok(!connected().includes('c'), 'c is still cut off from the scheduler')
    cToScheduler.restore()
    await waitFor(() => connected().includes('c'), 'c back', 10_000)
    await new Promise((resolve) => setTimeout(resolve, 1000))
  } finally {
    probing = false
    await probes
  }
  const failed = outcomes.filter((o) => o !== 'ok')
  assert.ok(outcomes.length >= 20, `${outcomes.length} flows probed`)
  assert.deepEqual(failed, [], `${failed.length} of ${outcomes.length} flows failed`)
  assert.ok((webRoute()?.paths.length ?? 0) > 0, 'a routes web at the end')
})
