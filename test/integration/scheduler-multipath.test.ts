import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { silentLogger } from '../../src/log/logger.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { type RunningScheduler, startScheduler } from '../../src/scheduler/server.ts'
import { freePorts, meshNodeYaml } from '../../src/testing/mesh-harness.ts'
import { startTestNode, type TestNode, waitFor } from '../../src/testing/node-harness.ts'
import { sendAndCollect, sha256, startEchoServer, type TestServer } from '../../src/testing/tcp-servers.ts'

/**
 * A service marked multipath in the scheduler: A reaches C through B and through D, the two
 * disjoint paths; the scheduler pushes A one route over both, and a flow is carried over both.
 */
let dir: string
let echo: TestServer
let scheduler: RunningScheduler
const nodes: Record<string, TestNode> = {}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dynproxy-mp-sched-'))
  echo = await startEchoServer()
  const p = await freePorts(['a', 'b', 'c', 'd', 'web', 'sched'])
  scheduler = await startScheduler(
    schedulerConfigFromText(`scheduler:
  listen: 127.0.0.1:${p.sched}
  api: 127.0.0.1:0
  store: { type: embedded, path: ${join(dir, 'state.json')} }
  heartbeat_interval: 500ms
  report_interval: 200ms
  push_debounce: 50ms
  log_level: warn
services:
  - name: bulk
    ingress: [{ node: a, listener: web }]
    egress: [c]
    targets: ["${echo.address}"]
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
      { id: 'b', port: p.b },
      { id: 'd', port: p.d },
    ],
    `listeners:\n  - { name: web, bind: "127.0.0.1:${p.web}" }\n`,
  )
})

after(async () => {
  for (const n of Object.values(nodes)) await n.close()
  await scheduler?.close()
  await echo?.close()
  await rm(dir, { recursive: true, force: true })
})

test('the scheduler pushes a multipath route over two disjoint paths, and a flow uses both', async () => {
  const a = nodes.a as TestNode
  await waitFor(
    () =>
      a.node.getInstructions()?.routes.some((r) => r.multipath === 'stripe' && r.paths.length === 2) ?? false,
    15_000,
    'a multipath route over two paths',
  )
  const route = a.node.getInstructions()?.routes.find((r) => r.name === 'bulk')
  const relays = route?.paths.map((p) => p.hops[0]).sort()
  assert.deepEqual(relays, ['b', 'd'], 'the two paths share no relay')
  const payload = randomBytes(4 * 1024 * 1024)
  const { sha256: got } = await sendAndCollect(a.port('web'), payload)
  assert.equal(got, sha256(payload))
  await waitFor(() => a.logs.some((l) => l.msg === 'flow closed'), 5000, 'the access log line')
  const line = a.logs.filter((l) => l.msg === 'flow closed').at(-1)
  assert.match(String(line?.target), /^stripe over 2 paths/)

  const carried = a.node
    .getRoutes()
    .find((r) => r.name === 'bulk')
    ?.paths.map((p) => p.carried?.bytesSent ?? 0)
  assert.equal(carried?.length, 2)
  assert.ok(
    (carried ?? []).reduce((x, y) => x + y, 0) >= payload.length,
    `the paths carried the bytes: ${carried?.join(', ')}`,
  )
  type Reported = {
    id: string
    routes: { route: string; paths: { index: number; bytesSent: number; share: number }[] }[]
  }
  let reported: Reported['routes'][number] | undefined
  await waitFor(
    () => {
      void fetch(`http://${scheduler.apiAddress}/nodes`)
        .then((r) => r.json() as Promise<Reported[] | { nodes: Reported[] }>)
        .then((body) => {
          const list = Array.isArray(body) ? body : body.nodes
          reported = list.find((n) => n.id === 'a')?.routes.find((r) => r.route === 'bulk')
        })
      return (reported?.paths.length ?? 0) === 2
    },
    5000,
    'the scheduler to get per-path figures in A’s reports',
  )
  const shares = reported?.paths.map((p) => p.share) ?? []
  assert.ok(
    Math.abs(shares.reduce((x, y) => x + y, 0) - 1) < 1e-9,
    `shares add up to 1: ${shares.join(', ')}`,
  )
})
