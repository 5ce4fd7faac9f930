import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { silentLogger } from '../../src/log/logger.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { type RunningScheduler, startScheduler } from '../../src/scheduler/server.ts'
import { freePorts, meshNodeYaml } from '../helpers/mesh-harness.ts'
import { operatorHeaders, startTestNode, type TestNode } from '../helpers/node-harness.ts'
import { startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

/**
 * A throughput service from A to C's target. A's direct link to C is declared at 10 Mbit/s, the
 * way through B at 1 Gbit/s per link; over loopback the latencies are all alike, so only the
 * declared capacities, reported by the nodes, can make the scheduler prefer the longer path.
 */
let dir: string
let echo: TestServer
let scheduler: RunningScheduler
const nodes: TestNode[] = []
let a: TestNode

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dynproxy-throughput-'))
  echo = await startEchoServer()
  const p = await freePorts(['a', 'b', 'c', 'web', 'sched'])
  scheduler = await startScheduler(
    schedulerConfigFromText(`scheduler:
  listen: 127.0.0.1:${p.sched}
  api: 127.0.0.1:0
  store: { type: embedded, path: ${join(dir, 'state.json')} }
  state_dir: ${join(dir, 'sched')}
  heartbeat_interval: 500ms
  report_interval: 200ms
  push_debounce: 50ms
  log_level: warn
services:
  - name: bulk
    ingress: [{ node: a, listener: web }]
    egress: [c]
    targets: ["${echo.address}"]
    objective: throughput
`),
    { logger: silentLogger() },
  )
  const sched = `scheduler:\n  address: "127.0.0.1:${p.sched}"\n  retry_interval: 100ms\n  join_token: ${scheduler.authority?.joinToken}\n`
  const start = async (spec: Parameters<typeof meshNodeYaml>[0]) => {
    const yaml = `${spec.yaml ?? ''}${sched}`
    const node = await startTestNode(meshNodeYaml({ ...spec, yaml, stateDir: join(dir, spec.id) }))
    nodes.push(node)
    return node
  }
  await start({ id: 'c', meshPort: p.c })
  await start({ id: 'b', meshPort: p.b, peers: [{ id: 'c', port: p.c, bandwidthMbit: 1000 }] })
  a = await start({
    id: 'a',
    meshPort: p.a,
    peers: [
      { id: 'b', port: p.b, bandwidthMbit: 1000 },
      { id: 'c', port: p.c, bandwidthMbit: 10 },
    ],
    yaml: `listeners:\n  - { name: web, bind: "127.0.0.1:${p.web}" }\n`,
  })
})

after(async () => {
  for (const n of nodes) await n.close()
  await scheduler?.close()
  await echo?.close()
  await rm(dir, { recursive: true, force: true })
})

/** The operator token the scheduler made in its state_dir, as `dynproxy ctl` reads it. */
async function schedulerToken(): Promise<string> {
  return (await readFile(join(dir, 'sched', 'api-token'), 'utf8')).trim()
}

/** A link's capacity as the scheduler's /links shows it. */
async function schedulerCapacity(from: string, to: string): Promise<number | undefined> {
  const links = (await (await fetch(`http://${scheduler.apiAddress}/links`)).json()) as {
    from: string
    to: string
    throughputBps: number
  }[]
  return links.find((l) => l.from === from && l.to === to)?.throughputBps
}

/** Polls the scheduler's capacity of a link until `done` says so, or 10 s; returns the last seen. */
async function capacityOnceChanged(from: string, to: string, done: (bps: number | undefined) => boolean) {
  const deadline = Date.now() + 10_000
  let seen = await schedulerCapacity(from, to)
  while (!done(seen) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    seen = await schedulerCapacity(from, to)
  }
  return seen
}

test('declared link capacities reach the scheduler, whose throughput objective takes the wide path', async () => {
  const firstHops = () =>
    a.node
      .getInstructions()
      ?.routes.find((r) => r.name === 'bulk')
      ?.paths[0]?.hops.join('>')
  await waitFor(() => firstHops() === 'b>c', 'the route through B', 10_000)
  assert.equal(await schedulerCapacity('a', 'c'), 1_250_000, '10 Mbit/s')
  assert.equal(await schedulerCapacity('a', 'b'), 125_000_000, '1 Gbit/s')
})

test('a probed link capacity replaces the declared one in what the node reports', async () => {
  const res = await a.adminPost('/peers/c/probe')
  assert.equal(res.status, 200)
  const { throughputBps } = (await res.json()) as { throughputBps: number }
  assert.ok(throughputBps > 1_250_000, `loopback beats the declared 10 Mbit/s: ${throughputBps}`)
  const seen = await capacityOnceChanged('a', 'c', (bps) => bps === throughputBps)
  assert.equal(seen, throughputBps, 'the measured capacity in the scheduler')
})

test("the scheduler's probe directive makes a node measure a link, and the measure reaches the scheduler", async () => {
  assert.equal(await schedulerCapacity('b', 'c'), 125_000_000, 'declared at first')
  const res = await fetch(`http://${scheduler.apiAddress}/nodes/b/probe`, {
    method: 'POST',
    headers: operatorHeaders(await schedulerToken()),
    body: JSON.stringify({ peers: ['c'] }),
  })
  assert.equal(res.status, 202)
  const measured = await capacityOnceChanged('b', 'c', (bps) => bps !== 125_000_000)
  const b = nodes.find((n) => n.node.config.common.nodeId === 'b')
  assert.equal(measured, b?.node.getPeers().find((p) => p.name === 'c')?.throughputBps)
  assert.ok(b?.logs.some((l) => l.msg === 'peer link probed' && l.peer === 'c'))
})

test("the scheduler's drain directive stops a node accepting, and cuts its flows after the timeout", async () => {
  const client = net.connect({ port: a.port('web'), host: '127.0.0.1' })
  await once(client, 'connect')
  client.write('hold on\n')
  await once(client, 'data')
  const res = await fetch(`http://${scheduler.apiAddress}/nodes/a/drain`, {
    method: 'POST',
    headers: operatorHeaders(await schedulerToken()),
    body: JSON.stringify({ timeoutMs: 300 }),
  })
  assert.equal(res.status, 202)
  const started = Date.now()
  await once(client, 'close')
  assert.ok(Date.now() - started >= 250, 'the flow had its time')
  assert.equal((await fetch(`${a.admin}/readyz`)).status, 503)
  await waitFor(() => a.logs.some((l) => l.reason === 'drain_timeout'), 'the cut flow logged', 2_000)
})
