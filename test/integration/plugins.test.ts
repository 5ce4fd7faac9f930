import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { loadConfigText } from '../../src/config/index.ts'
import { planReload } from '../../src/config/reload.ts'
import { ProxyNode } from '../../src/node/node.ts'
import { startTestNode, type TestNode } from '../helpers/node-harness.ts'
import { startEchoServer, type TestServer } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

/** What the test plugin saw, shared through the process (plugins run in the node's process). */
interface Seen {
  accepted: { listener: string; sourceIp: string; localPort: number }[]
  ended: { listener: string; reason: string | undefined; bytesIn: number; route: string | undefined }[]
  options: unknown[]
  closed: number
}
const seen = (): Seen => (globalThis as unknown as { __dynproxyPluginTest: Seen }).__dynproxyPluginTest

const GATE = `
export default function gate({ options, logger, nodeId }) {
  const seen = (globalThis.__dynproxyPluginTest ??= { accepted: [], ended: [], options: [], closed: 0 })
  seen.options.push({ ...options, nodeId })
  return {
    onAccept(flow) {
      seen.accepted.push({ listener: flow.listener, sourceIp: flow.sourceIp, localPort: flow.localPort })
      if (flow.listener === options.closed) return { reject: 'this door is closed' }
      if (flow.listener === 'explosive') throw new Error('boom')
      return undefined
    },
    onEnd(flow) {
      seen.ended.push({ listener: flow.listener, reason: flow.reason, bytesIn: flow.bytesIn, route: flow.route })
    },
    close() {
      seen.closed++
    },
  }
}
`

async function exchange(port: number, text: string): Promise<{ reply: string; closedBeforeReply: boolean }> {
  const socket = net.connect({ port, host: '127.0.0.1' })
  const chunks: Buffer[] = []
  socket.on('data', (c: Buffer) => chunks.push(c))
  socket.on('error', () => {})
  socket.end(text)
  await once(socket, 'close')
  const reply = Buffer.concat(chunks).toString()
  return { reply, closedBeforeReply: reply === '' }
}

describe('plugins', () => {
  let dir: string
  let echo: TestServer
  let node: TestNode

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-plugins-'))
    echo = await startEchoServer()
    await writeFile(join(dir, 'gate.mjs'), GATE)
    await writeFile(join(dir, 'no-default.mjs'), 'export const plugin = () => ({})\n')
    await writeFile(join(dir, 'throws.mjs'), "export default () => { throw new Error('no licence') }\n")
    node = await startTestNode(`common: { node_id: plug, admin_addr: "127.0.0.1:0" }
listeners:
  - { name: open, bind: "127.0.0.1:0" }
  - { name: shut, bind: "127.0.0.1:0" }
  - { name: explosive, bind: "127.0.0.1:0" }
routes:
  - { name: to-echo, target: "${echo.address}" }
plugins:
  - { name: gate, module: "${join(dir, 'gate.mjs')}", options: { closed: shut } }
`)
  })
  after(async () => {
    await node?.close()
    await echo?.close()
    await rm(dir, { recursive: true, force: true })
  })

  test('see every flow before it is routed, with their options, and may let it through', async () => {
    assert.deepEqual(seen().options, [{ closed: 'shut', nodeId: 'plug' }])
    const { reply } = await exchange(node.port('open'), 'hello')
    assert.equal(reply, 'hello')
    assert.deepEqual(seen().accepted.at(-1), {
      listener: 'open',
      sourceIp: '127.0.0.1',
      localPort: node.port('open'),
    })
    await waitFor(() => seen().ended.some((e) => e.listener === 'open'), 'onEnd', 2000)
    assert.deepEqual(seen().ended.at(-1), {
      listener: 'open',
      reason: 'downstream_closed',
      bytesIn: 5,
      route: 'to-echo',
    })
  })

  test('refuse a flow: closed at once, counted, logged with the plugin’s reason', async () => {
    const { closedBeforeReply } = await exchange(node.port('shut'), 'let me in')
    assert.equal(closedBeforeReply, true)
    const listener = node.node.getListeners().find((l) => l.name === 'shut')
    assert.equal(listener?.rejected.plugin, 1)
    await waitFor(
      () => node.logs.some((l) => l.msg === 'flow closed' && l.listener === 'shut'),
      'the log',
      2000,
    )
    const line = node.logs.find((l) => l.msg === 'flow closed' && l.listener === 'shut')
    assert.equal(line?.reason, 'rejected')
    assert.equal(line?.error, 'refused by plugin gate: this door is closed')
  })

  test('a plugin that throws refuses the flow (fail closed) and the node goes on', async () => {
    const { closedBeforeReply } = await exchange(node.port('explosive'), 'x')
    assert.equal(closedBeforeReply, true)
    await waitFor(
      () => node.logs.some((l) => l.msg === 'plugin onAccept threw: flow refused'),
      'the log',
      2000,
    )
    assert.equal((await exchange(node.port('open'), 'still')).reply, 'still')
  })

  test('that cannot load stop the start, naming the plugin and why', async () => {
    const base = 'listeners: [{ name: a, bind: "127.0.0.1:0" }]\ncommon: { admin_addr: "127.0.0.1:0" }\n'
    const cases: [string, RegExp][] = [
      [join(dir, 'missing.mjs'), /plugin "p" \(.*missing\.mjs\) cannot be imported/],
      [join(dir, 'no-default.mjs'), /has no default export that is a function/],
      [join(dir, 'throws.mjs'), /failed in its factory: no licence/],
    ]
    for (const [module, message] of cases) {
      const config = loadConfigText(`${base}plugins: [{ name: p, module: "${module}" }]\n`)
      await assert.rejects(new ProxyNode(config).start(), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'DYN_ERR_PLUGIN_LOAD')
        assert.match(err.message, message)
        return true
      })
    }
  })

  test('are told when the node stops; a change of plugins waits for a restart', async () => {
    const before = seen().closed
    const config = loadConfigText(`listeners: [{ name: a, bind: "127.0.0.1:0" }]
common: { admin_addr: "127.0.0.1:0" }
plugins: [{ name: gate, module: "${join(dir, 'gate.mjs')}" }]
`)
    const n = new ProxyNode(config)
    await n.start()
    await n.close()
    assert.equal(seen().closed, before + 1)
    const without = loadConfigText(
      'listeners: [{ name: a, bind: "127.0.0.1:0" }]\ncommon: { admin_addr: "127.0.0.1:0" }\n',
    )
    assert.deepEqual(planReload(without, config).restartRequired, ['plugins'])
    assert.throws(
      () =>
        loadConfigText(
          `${'listeners: [{ name: a, bind: "127.0.0.1:0" }]\n'}plugins: [{ name: g, module: x }, { name: g, module: y }]\n`,
        ),
      /plugins\[1\]\.name: duplicate plugin name "g"/,
    )
  })
})
