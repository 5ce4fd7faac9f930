import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { silentLogger } from '../../src/log/logger.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { type RunningScheduler, startScheduler } from '../../src/scheduler/server.ts'
import { type LinkEmulator, startLinkEmulator } from '../../src/testing/link-emulator.ts'
import { freePorts, meshNodeYaml } from '../../src/testing/mesh-harness.ts'
import { startTestNode, type TestNode, waitFor } from '../../src/testing/node-harness.ts'
import { sendAndCollect, sha256, startDigestServer, type TestServer } from '../../src/testing/tcp-servers.ts'

const MiB = 1024 * 1024
/** A's link to B carries a quarter of its link to D. */
const SLOW = 1_500_000
const FAST = 6_000_000

/**
 * A stripe service from A to C over two disjoint paths, via B and via D, where the link emulator
 * gives A→B a quarter of A→D's rate. The graph knows no capacity (nodes report none, loopback
 * loses nothing), so the scheduler starts both paths equal; the bytes A reports each path
 * carried then teach it that the path via D has more capacity.
 */
let dir: string
let digest: TestServer
let scheduler: RunningScheduler
const emulators: LinkEmulator[] = []
const nodes: Record<string, TestNode> = {}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dynproxy-mp-weights-'))
  digest = await startDigestServer()
  const p = await freePorts(['a', 'b', 'c', 'd', 'web', 'sched'])
  // Short queues: a probe waiting seconds behind queued data would time out and take the link down.
  const link = (port: number, rateBytesPerSec: number) =>
    startLinkEmulator({ target: { host: '127.0.0.1', port }, rateBytesPerSec, maxQueueBytes: 64 * 1024 })
  const ab = await link(p.b, SLOW)
  const ad = await link(p.d, FAST)
  emulators.push(ab, ad)
  scheduler = await startScheduler(
    schedulerConfigFromText(`scheduler:
  listen: 127.0.0.1:${p.sched}
  api: 127.0.0.1:0
  store: { type: embedded, path: ${join(dir, 'state.json')} }
  heartbeat_interval: 500ms
  report_interval: 200ms
  push_debounce: 50ms
  hysteresis: { min_dwell: 3s }
  log_level: warn
services:
  - name: bulk
    ingress: [{ node: a, listener: web }]
    egress: [c]
    targets: ["${digest.address}"]
    multipath: { mode: stripe, paths: 2 }
`),
    { logger: silentLogger() },
  )
  const sched = `scheduler:\n  address: "127.0.0.1:${p.sched}"\n  retry_interval: 100ms\n`
  const start = async (id: string, peers: { id: string; port: number }[], extra = '') => {
    const yaml = meshNodeYaml({ id, meshPort: p[id as 'a'], peers, yaml: `${extra}${sched}` }).replace(
      /^common:.*$/m,
      `common: { node_id: ${id}, admin_addr: "127.0.0.1:0", drain_timeout: 1s, state_dir: "${join(dir, id)}" }`,
    )
    nodes[id] = await startTestNode(yaml)
  }
  await start('c', [])
  await start('b', [{ id: 'c', port: p.c }])
  await start('d', [{ id: 'c', port: p.c }])
  await start(
    'a',
    [
      { id: 'b', port: ab.port },
      { id: 'd', port: ad.port },
    ],
    `listeners:\n  - { name: web, bind: "127.0.0.1:${p.web}" }\n`,
  )
})

after(async () => {
  for (const n of Object.values(nodes)) await n.close()
  await scheduler?.close()
  for (const e of emulators) await e.close()
  await digest?.close()
  await rm(dir, { recursive: true, force: true })
})

/** The weight A runs for each path of `bulk`, by its first relay. */
function weightsAtA(): Record<string, number> {
  const route = nodes.a?.node.getInstructions()?.routes.find((r) => r.name === 'bulk')
  return Object.fromEntries((route?.paths ?? []).map((p) => [p.hops[0], p.weight]))
}

test('reported path shares move stripe weights: the path with more capacity ends up with the larger weight', async () => {
  await waitFor(() => Object.keys(weightsAtA()).length === 2, 15_000, 'a stripe route over two paths at A')
  assert.deepEqual(weightsAtA(), { b: 100, d: 100 }, 'nothing measured of capacity: equal weights')
  const versions = new Set<string>()
  const version = () => versions.add(nodes.a?.node.getInstructions()?.version ?? '')
  const sample = setInterval(version, 10)

  // Weights hold for the minimum dwell (3 s) after the first plan: the uploads teach meanwhile.
  const moved = () => (weightsAtA().b ?? 100) < 0.8 * (weightsAtA().d ?? 0)
  for (let upload = 0; upload < 4 && !moved(); upload++) {
    const payload = randomBytes(8 * MiB)
    const { received } = await sendAndCollect(nodes.a?.port('web') ?? 0, payload, '127.0.0.1', 20_000)
    assert.equal(received.subarray(0, 64).toString(), sha256(payload))
    await waitFor(moved, 2000, 'the weights to move').catch(() => {})
  }
  await waitFor(moved, 5000, 'the weights to move')
  clearInterval(sample)
  version()
  // Load moves the links' RTT and probe loss, and the planner's favourite path with them: none of
  // that may reach A as a set, only the weight change (and, at most, a link flapping under load).
  assert.ok(versions.size <= 3, `sets A got while its weights moved: ${[...versions].join(', ')}`)
  const weights = weightsAtA()
  assert.equal(weights.d, 100, `via D has the most capacity: ${JSON.stringify(weights)}`)
  assert.ok((weights.b ?? 100) <= 80, `via B fell by the margin at least: ${JSON.stringify(weights)}`)
  assert.ok((weights.b ?? 0) >= 5, 'never starved')

  type PathsView = { service: string; pushed: { hops: string[]; weight: number; shareCorrection?: number }[] }
  const views = (await (await fetch(`http://${scheduler.apiAddress}/paths`)).json()) as
    | PathsView[]
    | { paths: PathsView[] }
  const bulk = (Array.isArray(views) ? views : views.paths).find((v) => v.service === 'bulk')
  const viaB = bulk?.pushed.find((p) => p.hops[0] === 'b')
  assert.equal(viaB?.weight, weights.b, 'the API shows what A runs')
  assert.ok((viaB?.shareCorrection ?? 1) < 0.8, `the shares corrected the graph: ${viaB?.shareCorrection}`)
})
