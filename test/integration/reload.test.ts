import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { loadConfigText } from '../../src/config/index.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { ProxyNode } from '../../src/node/node.ts'
import { schedulerConfigFromText } from '../../src/scheduler/config/load.ts'
import { type RunningScheduler, startScheduler } from '../../src/scheduler/server.ts'
import type { ListenerStatus } from '../../src/views/node-view.ts'
import { NodeSupervisor } from '../../src/workers/supervisor.ts'
import { freePorts } from '../helpers/mesh-harness.ts'
import type { LogLine } from '../helpers/node-harness.ts'
import {
  connectRefused,
  readAll,
  startEchoServer,
  startNamedServer,
  type TestServer,
} from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

async function listenerPorts(admin: string): Promise<Record<string, number>> {
  const res = await fetch(`http://${admin}/listeners`)
  const { listeners } = (await res.json()) as { listeners: ListenerStatus[] }
  return Object.fromEntries(listeners.map((l) => [l.name, Number(l.bind.slice(l.bind.lastIndexOf(':') + 1))]))
}

for (const workers of [1, 2]) {
  describe(`a listener added by a reload is steered by the scheduler (workers: ${workers})`, () => {
    let dir: string
    let scheduled: TestServer
    let scheduler: RunningScheduler
    let node: ProxyNode | NodeSupervisor

    function nodeConfig(listeners: string, schedulerPort: number) {
      return loadConfigText(
        `common: { node_id: s1, admin_addr: "127.0.0.1:0", log_level: warn, drain_timeout: 1s, workers: ${workers}, state_dir: "${dir}/node" }
listeners:
${listeners}
scheduler: { address: "127.0.0.1:${schedulerPort}", retry_interval: 100ms, join_token: ${scheduler.authority?.joinToken} }
`,
      )
    }

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'dynproxy-reload-sched-'))
      scheduled = await startNamedServer('scheduled')
      const { sched } = await freePorts(['sched'])
      scheduler = await startScheduler(
        schedulerConfigFromText(`scheduler:
  id: s
  listen: 127.0.0.1:${sched}
  api: 127.0.0.1:0
  store: { type: embedded, path: ${join(dir, 'sched.json')} }
  push_debounce: 20ms
  log_level: warn
services:
  - name: api
    ingress: [{ node: s1, listener: api }]
    egress: [s1]
    targets: ["${scheduled.address}"]
`),
        { logger: silentLogger() },
      )
      const config = nodeConfig('  - { name: web, bind: "127.0.0.1:0" }', sched)
      node =
        workers === 1
          ? new ProxyNode(config, { logger: silentLogger() })
          : new NodeSupervisor(config, workers, { logger: silentLogger() })
      await node.start()
      await waitFor(() => node.getStats().scheduler?.state === 'connected', 'the scheduler session', 10_000)
      const outcome = await node.reload(
        nodeConfig('  - { name: web, bind: "127.0.0.1:0" }\n  - { name: api, bind: "127.0.0.1:0" }', sched),
      )
      assert.deepEqual(outcome.applied, ['listeners.api (added)'])
    })
    after(async () => {
      await node?.destroy()
      await scheduler?.close()
      await scheduled?.close()
      await rm(dir, { recursive: true, force: true })
    })

    test('the node introduces itself anew: the scheduler sees the new listener', async () => {
      const url = `http://${scheduler.apiAddress}/nodes`
      const listenersOf = async () => {
        const nodes = (await (await fetch(url)).json()) as { id: string; listeners: { name: string }[] }[]
        return nodes.find((n) => n.id === 's1')?.listeners.map((l) => l.name) ?? []
      }
      const deadline = Date.now() + 10_000
      let names: string[] = []
      while (Date.now() < deadline) {
        names = await listenersOf()
        if (names.includes('api')) break
        await new Promise((r) => setTimeout(r, 50))
      }
      assert.deepEqual(names.sort(), ['api', 'web'])
      assert.equal(node.getStats().scheduler?.consecutiveFailures, 0, 'a re-introduction is not a failure')
    })

    test('the new listener gets the service route', async () => {
      const port = node.listenerPort('api')
      const deadline = Date.now() + 10_000
      let got = ''
      while (Date.now() < deadline) {
        got = await readAll(port).catch(() => '')
        if (got === 'scheduled') break
        await new Promise((r) => setTimeout(r, 50))
      }
      assert.equal(got, 'scheduled')
    })
  })

  describe(`SIGHUP reloads the config (workers: ${workers})`, () => {
    let dir: string
    let file: string
    let alpha: TestServer
    let beta: TestServer
    let echo: TestServer
    let child: ChildProcess
    const logs: LogLine[] = []
    let admin: string

    function yaml(body: string, nodeId = 'r'): string {
      return `common: { node_id: ${nodeId}, admin_addr: "127.0.0.1:0", drain_timeout: 2s, workers: ${workers}, state_dir: "${dir}" }
${body}`
    }

    async function reloadWith(text: string, expectMsg: RegExp): Promise<LogLine> {
      await writeFile(file, text)
      const seen = logs.length
      child.kill('SIGHUP')
      await waitFor(
        () => logs.slice(seen).some((l) => expectMsg.test(l.msg)),
        `a log line ${expectMsg}`,
        10_000,
      )
      return logs.slice(seen).find((l) => expectMsg.test(l.msg)) as LogLine
    }

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'dynproxy-reload-'))
      file = join(dir, 'node.yaml')
      alpha = await startNamedServer('alpha')
      beta = await startNamedServer('beta')
      echo = await startEchoServer()
      await writeFile(
        file,
        yaml(`listeners:
  - { name: web, bind: "127.0.0.1:0" }
  - { name: hold, bind: "127.0.0.1:0" }
routes:
  - { name: web, match: { listener: web }, target: "${alpha.address}" }
  - { name: hold, match: { listener: hold }, target: "${echo.address}" }
`),
      )
      child = spawn(process.execPath, [CLI, '-c', file], { stdio: ['ignore', 'pipe', 'inherit'] })
      let partial = ''
      child.stdout?.on('data', (c: Buffer) => {
        const lines = (partial + c.toString()).split('\n')
        partial = lines.pop() ?? ''
        for (const line of lines) if (line) logs.push(JSON.parse(line) as LogLine)
      })
      await waitFor(
        () => logs.some((l) => l.msg === 'node listening' && (workers === 1 || l.workers === workers)),
        'the node to listen',
        15_000,
      )
      admin = String(logs.find((l) => l.msg === 'admin api listening')?.address)
    })
    after(async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await once(child, 'exit')
      }
      for (const s of [alpha, beta, echo]) await s?.close()
      await rm(dir, { recursive: true, force: true })
    })

    test('routes and listeners change at once; running flows keep theirs; fixed keys wait for a restart', async () => {
      const before = await listenerPorts(admin)
      assert.equal(await readAll(before.web as number), 'alpha')
      const held = net.connect({ port: before.hold as number, host: '127.0.0.1' })
      held.write('one')
      await once(held, 'data')

      const { extra } = await freePorts(['extra'])
      const line = await reloadWith(
        yaml(
          `listeners:
  - { name: web, bind: "127.0.0.1:0" }
  - { name: extra, bind: "127.0.0.1:${extra}" }
routes:
  - { name: web, match: { listener: web }, target: "${beta.address}" }
  - { name: extra, match: { listener: extra }, target: "${alpha.address}" }
`,
          'renamed',
        ),
        /^config reloaded$/,
      )
      assert.deepEqual(line.applied, ['routes', 'listeners.extra (added)', 'listeners.hold (removed)'])
      const isWarning = (l: LogLine) => l.msg.startsWith('config reload: these keys')
      await waitFor(() => logs.some(isWarning), 'the restart-required warning', 5000)
      const warned = logs.find(isWarning)
      assert.deepEqual(warned?.keys, ['common.node_id'])

      const afterReload = await listenerPorts(admin)
      assert.equal(afterReload.web, before.web, 'an unchanged listener keeps its socket')
      assert.equal(afterReload.hold, undefined)
      for (let i = 0; i < 6; i++) assert.equal(await readAll(before.web as number), 'beta')
      for (let i = 0; i < 6; i++) assert.equal(await readAll(extra), 'alpha')
      assert.ok(await connectRefused(before.hold as number), 'the removed listener still accepts')

      held.write('two')
      const [echoed] = (await once(held, 'data')) as [Buffer]
      assert.equal(echoed.toString(), 'two', 'a flow of the removed listener goes on')
      held.end()
      await once(held, 'close')
    })

    test('a config that does not load leaves the running one in force', async () => {
      const ports = await listenerPorts(admin)
      const line = await reloadWith('listeners: [{ name: web, bind: nowhere }]\n', /^config reload refused/)
      assert.match(String((line.err as { message?: string })?.message), /listeners\[0\]\.bind/)
      assert.equal(await readAll(ports.web as number), 'beta')
      assert.equal(child.exitCode, null)
    })

    test('a listener that cannot bind is reported; the rest of the reload holds', async () => {
      const holder = net.createServer()
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
      const taken = (holder.address() as net.AddressInfo).port
      const ports = await listenerPorts(admin)
      await reloadWith(
        yaml(`listeners:
  - { name: web, bind: "127.0.0.1:0" }
  - { name: blocked, bind: "127.0.0.1:${taken}" }
routes:
  - { name: web, match: { listener: web }, target: "${alpha.address}" }
`),
        /a part of it did not apply/,
      )
      const bindError = logs.find((l) => l.msg === 'config reload: a part of it did not apply')
      assert.match(String((bindError?.err as { message?: string })?.message), /"blocked".*EADDRINUSE/)
      assert.equal(await readAll(ports.web as number), 'alpha')
      holder.close()
    })
  })
}

describe('a reload that changes a listener’s idle_timeout', () => {
  let echo: TestServer
  let node: ProxyNode

  before(async () => {
    echo = await startEchoServer()
  })
  after(async () => {
    await node?.destroy()
    await echo?.close()
  })

  const config = (idle: string) =>
    loadConfigText(`common: { node_id: idle, admin_addr: "127.0.0.1:0", log_level: warn }
listeners:
  - { name: web, bind: "127.0.0.1:0", idle_timeout: ${idle} }
routes:
  - { name: web, match: { listener: web }, target: "${echo.address}" }
`)

  /** A flow that has echoed once, with the time it closed once it does. */
  async function openFlow(port: number): Promise<{ socket: net.Socket; closedAt: Promise<number> }> {
    const socket = net.connect({ port, host: '127.0.0.1' })
    socket.on('error', () => {})
    socket.write('x')
    await once(socket, 'data')
    return { socket, closedAt: once(socket, 'close').then(() => Date.now()) }
  }

  test('applies to the flows accepted after it; flows already open keep the timeout they had', async () => {
    node = new ProxyNode(config('10s'), { logger: silentLogger() })
    await node.start()
    const port = node.listenerPort('web')
    const before = await openFlow(port)
    const outcome = await node.reload(config('300ms'))
    assert.deepEqual(outcome.applied, ['listeners.web'])
    const after = await openFlow(port)
    const startedAt = Date.now()
    const closedAfter = (await after.closedAt) - startedAt
    assert.ok(closedAfter >= 250 && closedAfter < 2_000, `the new flow closed after ${closedAfter} ms`)
    await new Promise((resolve) => setTimeout(resolve, 500))
    assert.equal(before.socket.destroyed, false, 'the flow from before the reload is still open')
    before.socket.write('still')
    const [echoed] = (await once(before.socket, 'data')) as [Buffer]
    assert.equal(echoed.toString(), 'still')
    before.socket.destroy()
  })
})
