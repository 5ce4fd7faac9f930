import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ADMIN_TOKEN_FILE } from '../../src/admin/index.ts'
import { loadConfigText } from '../../src/config/index.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { type RunningScheduler, startScheduler } from '../../src/scheduler/server.ts'
import type { FlowInfo, ListenerStatus, NodeStats } from '../../src/views/node-view.ts'
import { NodeSupervisor } from '../../src/workers/supervisor.ts'
import { freePorts, meshNodeYaml, startMeshNode } from '../helpers/mesh-harness.ts'
import { captureLogger, operatorHeaders, type TestNode } from '../helpers/node-harness.ts'
import {
  connectRefused,
  readAll,
  startEchoServer,
  startNamedServer,
  type TestServer,
} from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

const WORKERS = 2

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url)
  assert.equal(res.status, 200, `${url}: ${res.status}`)
  return (await res.json()) as T
}

async function echoFlow(port: number): Promise<net.Socket> {
  const client = net.connect({ port, host: '127.0.0.1' })
  client.write('ping')
  const [reply] = (await once(client, 'data')) as [Buffer]
  assert.equal(reply.toString(), 'ping')
  return client
}

async function closeAll(sockets: net.Socket[]): Promise<void> {
  await Promise.all(
    sockets.map((s) => {
      s.end()
      return once(s, 'close')
    }),
  )
}

describe('a node with worker processes (common.workers)', () => {
  let dir: string
  let echo: TestServer
  const running: NodeSupervisor[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-workers-'))
    echo = await startEchoServer()
  })
  after(async () => {
    for (const node of running) await node.destroy()
    await echo.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function start(yaml: string): Promise<{ node: NodeSupervisor; admin: string; port: number }> {
    const config = loadConfigText(yaml, 'workers.yaml')
    const node = new NodeSupervisor(config, WORKERS, { logger: captureLogger().logger })
    running.push(node)
    await node.start()
    return { node, admin: `http://${node.adminAddress}`, port: node.listenerPort('web') }
  }

  function staticYaml(extra = ''): string {
    return `common: { node_id: w, admin_addr: "127.0.0.1:0", log_level: warn, drain_timeout: 5s, workers: ${WORKERS}, state_dir: "${dir}/static" }
listeners:
  - { name: web, bind: "127.0.0.1:0", max_connections: 1000 }
routes:
  - { name: web, match: { listener: web }, target: "${echo.address}" }
${extra}`
  }

  test('the kernel spreads connections over the workers; the admin API adds their views up', async () => {
    const { node, admin, port } = await start(staticYaml())
    const clients: net.Socket[] = []
    for (let i = 0; i < 24; i++) clients.push(await echoFlow(port))

    const stats = await getJson<NodeStats>(`${admin}/stats`)
    assert.equal(stats.node.pid, process.pid)
    assert.equal(stats.connections.active, 24)
    assert.equal(stats.connections.total, 24)
    assert.equal(stats.workers?.length, WORKERS)
    for (const w of stats.workers ?? []) {
      assert.equal(w.state, 'running')
      assert.notEqual(w.pid, process.pid)
      assert.ok(w.activeConnections > 0, `worker ${w.index} got no connection of 24`)
    }
    assert.equal(stats.routeMatches.web?.static, 24)

    const { listeners } = await getJson<{ listeners: ListenerStatus[] }>(`${admin}/listeners`)
    assert.equal(listeners.length, 1)
    assert.equal(listeners[0]?.activeConnections, 24)
    assert.equal(listeners[0]?.maxConnections, 1000, 'the configured limit, not the per-worker share')
    assert.equal(listeners[0]?.bind, `127.0.0.1:${port}`)

    const flows = await getJson<{ total: number; flows: FlowInfo[] }>(`${admin}/flows`)
    assert.equal(flows.total, 24)
    assert.deepEqual(new Set(flows.flows.map((f) => f.worker)), new Set([0, 1]))

    await closeAll(clients)
    await waitFor(() => node.getStats().connections.active === 0, 'flows to end', 5000)
    await node.refresh('/stats')
    const after = node.getStats()
    assert.equal(after.traffic.bytesIn, 24 * 4)
    assert.equal(after.traffic.bytesOut, 24 * 4)
    const metrics = await (await fetch(`${admin}/metrics`)).text()
    assert.match(metrics, /dynproxy_flow_duration_seconds_count\{listener="web"\} 24/)
    assert.match(metrics, /dynproxy_downstream_cx_total\{listener="web"\} 24/)
  })

  test('a worker that dies is replaced, and new flows keep working meanwhile', async () => {
    const { node, admin, port } = await start(staticYaml())
    for (let i = 0; i < 8; i++) (await echoFlow(port)).destroy()
    await waitFor(() => node.getStats().connections.active === 0, 'the first flows to end', 5000)
    const before = await getJson<NodeStats>(`${admin}/stats`)
    assert.equal(before.connections.total, 8)
    const victim = before.workers?.[1]
    assert.ok(victim?.pid)
    process.kill(victim.pid, 'SIGKILL')
    await waitFor(() => node.getStats().workers?.[1]?.state !== 'running', 'the death to be seen', 5000)
    for (let i = 0; i < 10; i++) (await echoFlow(port)).destroy()
    await waitFor(() => node.getStats().workers?.[1]?.state === 'running', 'the replacement', 10_000)
    const replaced = (await getJson<NodeStats>(`${admin}/stats`)).workers?.[1]
    assert.equal(replaced?.restarts, 1)
    assert.notEqual(replaced?.pid, victim.pid)
    const totals = (await getJson<NodeStats>(`${admin}/stats`)).connections.total
    assert.equal(totals, 18, 'the dead worker’s counts stay in the totals')
    const clients: net.Socket[] = []
    for (let i = 0; i < 16; i++) clients.push(await echoFlow(port))
    await node.refresh('/stats')
    assert.ok((node.getStats().workers?.[1]?.activeConnections ?? 0) > 0, 'the replacement takes connections')
    await closeAll(clients)
  })

  test('drain stops every worker accepting and lets live flows finish; close waits for them', async () => {
    const { node, admin, port } = await start(staticYaml())
    const client = await echoFlow(port)
    const token = (await readFile(join(dir, 'static', ADMIN_TOKEN_FILE), 'utf8')).trim()
    const res = await fetch(`${admin}/drain`, { method: 'POST', headers: operatorHeaders(token) })
    assert.equal(res.status, 202, 'the primary made a token in state_dir and takes it')
    await waitFor(() => node.state === 'draining', 'draining', 1000)
    const deadline = Date.now() + 5000
    while (!(await connectRefused(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    assert.ok(await connectRefused(port), 'some worker still accepts')
    client.write('still here')
    const [echoed] = (await once(client, 'data')) as [Buffer]
    assert.equal(echoed.toString(), 'still here')
    const closed = node.close()
    await new Promise((r) => setTimeout(r, 200))
    assert.notEqual(node.state, 'stopped', 'stopped while a flow was live')
    client.end()
    await closed
    assert.equal(node.state, 'stopped')
  })

  test('undrain: every worker accepts again on the same port, and the node reports running', async () => {
    const { node, admin, port } = await start(staticYaml())
    const token = (await readFile(join(dir, 'static', ADMIN_TOKEN_FILE), 'utf8')).trim()
    assert.equal(
      (await fetch(`${admin}/drain`, { method: 'POST', headers: operatorHeaders(token) })).status,
      202,
    )
    await waitFor(() => node.state === 'draining', 'draining', 1000)
    const deadline = Date.now() + 5000
    while (!(await connectRefused(port)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    assert.ok(await connectRefused(port), 'drained')
    const res = await fetch(`${admin}/undrain`, { method: 'POST', headers: operatorHeaders(token) })
    assert.equal(res.status, 202)
    assert.deepEqual(await res.json(), { status: 'running' })
    const clients: net.Socket[] = []
    const until = Date.now() + 5000
    while (Date.now() < until) {
      const listeners = (await getJson<{ listeners: ListenerStatus[] }>(`${admin}/listeners`)).listeners
      if (listeners[0]?.state === 'listening' && !(await connectRefused(port))) break
      await new Promise((r) => setTimeout(r, 50))
    }
    for (let i = 0; i < 24; i++) clients.push(await echoFlow(port))
    const stats = await getJson<NodeStats>(`${admin}/stats`)
    assert.equal(stats.node.state, 'running')
    for (const w of stats.workers ?? [])
      assert.ok(
        w.activeConnections > 0,
        `worker ${w.index} got no connection of 24: it does not listen again`,
      )
    await closeAll(clients)
  })

  test('a worker that cannot bind fails the start, naming the worker and its reason', async () => {
    const holder = net.createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    const taken = (holder.address() as net.AddressInfo).port
    const yaml = staticYaml().replace('bind: "127.0.0.1:0"', `bind: "127.0.0.1:${taken}"`)
    const node = new NodeSupervisor(loadConfigText(yaml, 'taken.yaml'), WORKERS, { logger: silentLogger() })
    await assert.rejects(node.start(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'DYN_ERR_WORKER_START')
      assert.match(err.message, /worker 0 failed to start: DYN_ERR_LISTENER_BIND/)
      return true
    })
    assert.equal(node.state, 'stopped')
    holder.close()
  })
})

describe('a node with workers under a scheduler', () => {
  let dir: string
  let fromStatic: TestServer
  let fromScheduler: TestServer
  let scheduler: RunningScheduler
  let node: NodeSupervisor

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-workers-sched-'))
    fromStatic = await startNamedServer('static')
    fromScheduler = await startNamedServer('scheduled')
    const ports = await freePorts(['sched'])
    scheduler = await startScheduler(
      schedulerConfigFromText(`scheduler:
  id: s
  listen: 127.0.0.1:${ports.sched}
  api: 127.0.0.1:0
  store: { type: embedded, path: ${join(dir, 'sched.json')} }
  push_debounce: 20ms
  instruction_ttl: 1s
  heartbeat_interval: 300ms
  log_level: warn
services:
  - name: web
    ingress: [{ node: w, listener: web }]
    egress: [w]
    targets: ["${fromScheduler.address}"]
`),
      { logger: silentLogger() },
    )
    const config = loadConfigText(
      `common: { node_id: w, admin_addr: "127.0.0.1:0", log_level: warn, drain_timeout: 1s, workers: ${WORKERS}, state_dir: "${dir}/node" }
listeners:
  - { name: web, bind: "127.0.0.1:0" }
routes:
  - { name: fallback, match: { listener: web }, target: "${fromStatic.address}" }
scheduler:
  address: "127.0.0.1:${ports.sched}"
  retry_interval: 100ms
  join_token: ${scheduler.authority?.joinToken}
`,
      'sched-node.yaml',
    )
    node = new NodeSupervisor(config, WORKERS, { logger: silentLogger() })
    await node.start()
  })
  after(async () => {
    await node?.destroy()
    await scheduler?.close()
    await fromStatic?.close()
    await fromScheduler?.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('one scheduler session for the node; its instructions reach every worker', async () => {
    await waitFor(() => node.getInstructions() !== undefined, 'instructions', 10_000)
    const port = node.listenerPort('web')
    const replies: string[] = []
    for (let i = 0; i < 20; i++) replies.push(await readAll(port))
    assert.deepEqual(new Set(replies), new Set(['scheduled']))
    await node.refresh('/stats')
    const stats = node.getStats()
    assert.equal(stats.scheduler?.state, 'connected')
    assert.equal(stats.scheduler?.fresh, true)
    const instructed = Object.values(stats.routeMatches).reduce((n, m) => n + m.instruction, 0)
    assert.equal(instructed, 20)
    const nodes = await getJson<{ id: string; connected: boolean; synced: boolean }[]>(
      `http://${scheduler.apiAddress}/nodes`,
    )
    assert.deepEqual(nodes, [{ ...nodes[0], id: 'w', connected: true, synced: true }])
  })

  test('when the scheduler goes away every worker goes on with the cached routes', async () => {
    await scheduler.close()
    await waitFor(() => node.getStats().scheduler?.fresh === false, 'the routes to go stale', 15_000)
    const port = node.listenerPort('web')
    const replies: string[] = []
    for (let i = 0; i < 10; i++) replies.push(await readAll(port))
    assert.deepEqual(new Set(replies), new Set(['scheduled']))
    await node.refresh('/stats')
    const cached = Object.values(node.getStats().routeMatches).reduce((n, m) => n + m.cached_instruction, 0)
    assert.equal(cached, 10)
  })
})

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

describe('the dynproxy command with workers: 2', () => {
  let dir: string
  let echo: TestServer

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-workers-cli-'))
    echo = await startEchoServer()
  })
  after(async () => {
    await echo.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function run(): Promise<{ child: ReturnType<typeof spawn>; port: number; workerPids: number[] }> {
    const file = join(dir, `node-${Date.now()}.yaml`)
    await writeFile(
      file,
      `common: { node_id: cli-w, admin_addr: "127.0.0.1:0", drain_timeout: 2s, workers: 2, state_dir: "${dir}" }
listeners:
  - { name: web, bind: "127.0.0.1:0" }
routes:
  - { name: web, target: "${echo.address}" }
`,
    )
    const child = spawn(process.execPath, [CLI, '-c', file], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString()
    })
    await waitFor(() => /"workers":2,"listeners"/.test(out), 'the primary to report listening', 15_000)
    const port = Number(/"web=127\.0\.0\.1:(\d+)"/.exec(out)?.[1])
    const admin = /"address":"(127\.0\.0\.1:\d+)","msg":"admin api listening"/.exec(out)?.[1]
    const stats = await getJson<NodeStats>(`http://${admin}/stats`)
    const workerPids = (stats.workers ?? []).map((w) => w.pid ?? 0)
    assert.equal(workerPids.length, 2)
    return { child, port, workerPids }
  }

  test('SIGTERM drains every worker, waits for live flows, and exits 0 leaving no process behind', async () => {
    const { child, port, workerPids } = await run()
    const exited = once(child, 'exit')
    const client = await echoFlow(port)
    child.kill('SIGTERM')
    await new Promise((r) => setTimeout(r, 300))
    client.write('after SIGTERM')
    const [echoed] = (await once(client, 'data')) as [Buffer]
    assert.equal(echoed.toString(), 'after SIGTERM')
    client.end()
    const [code] = (await exited) as [number | null]
    assert.equal(code, 0)
    await waitFor(() => workerPids.every((pid) => !alive(pid)), 'the workers to be gone', 5000)
  })

  test('workers whose primary is killed drain and exit on their own', async () => {
    const { child, workerPids } = await run()
    child.kill('SIGKILL')
    await waitFor(() => workerPids.every((pid) => !alive(pid)), 'orphaned workers to exit', 8000)
  })
})

describe('a mesh whose nodes run workers', () => {
  let echo: TestServer
  let b: TestNode
  let a: NodeSupervisor

  before(async () => {
    echo = await startEchoServer()
    const ports = await freePorts(['a', 'b'])
    b = await startMeshNode({
      id: 'b',
      meshPort: ports.b,
      peers: [{ id: 'a', port: ports.a }],
      meshExtra: '  allow_targets: ["127.0.0.1/32"]',
    })
    const yaml = meshNodeYaml({
      id: 'a',
      meshPort: ports.a,
      peers: [{ id: 'b', port: ports.b }],
      yaml: `listeners:
  - { name: web, bind: "127.0.0.1:0" }
routes:
  - { name: via-b, match: { listener: web }, via: [b], target: "${echo.address}" }
`,
    }).replace('drain_timeout: 1s', `drain_timeout: 1s, log_level: warn, workers: ${WORKERS}`)
    a = new NodeSupervisor(loadConfigText(yaml, 'mesh-a.yaml'), WORKERS, { logger: silentLogger() })
    await a.start()
  })
  after(async () => {
    await a?.destroy()
    await b?.close()
    await echo?.close()
  })

  test('every worker relays through the peer, and the node shows the peer up', async () => {
    await waitFor(
      () => {
        void a.refresh('/peers')
        return a.getPeers()[0]?.state === 'up'
      },
      'peer b to be up',
      10_000,
    )
    const clients: net.Socket[] = []
    for (let i = 0; i < 16; i++) clients.push(await echoFlow(a.listenerPort('web')))
    await a.refresh('/stats')
    const stats = a.getStats()
    for (const w of stats.workers ?? [])
      assert.ok(w.activeConnections > 0, `worker ${w.index} relayed nothing`)
    assert.equal(b.node.getStats().mesh?.relayedActive, 16)
    await closeAll(clients)
  })

  test('a worker probes the link when asked, and the node shows the rate; unknown peers are named', async () => {
    const result = await a.probePeer('b')
    assert.equal(result.peer, 'b')
    assert.ok(result.throughputBps > 0)
    await a.refresh('/peers')
    assert.equal(a.getPeers().find((p) => p.name === 'b')?.throughputBps, result.throughputBps)
    await assert.rejects(a.probePeer('nobody'), { code: 'DYN_ERR_PEER_UNKNOWN' })
  })

  test('a drain with a timeout closes the flows every worker still carries once it runs out', async () => {
    const clients: net.Socket[] = []
    for (let i = 0; i < 8; i++) clients.push(await echoFlow(a.listenerPort('web')))
    const started = Date.now()
    a.drain(300)
    await Promise.all(clients.map((c) => once(c, 'close')))
    assert.ok(Date.now() - started >= 250, 'the flows had their time')
    assert.equal(a.isReady(), false)
  })
})
