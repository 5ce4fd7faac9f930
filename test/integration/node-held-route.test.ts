/**
 * The node's own guard, end to end: a real ingress a and egress c, a scheduler that pushes whatever
 * the test says. A set that gives `web` no path while a's path through c works leaves the path in
 * force (and says so in /instructions); the route goes once c is seen down, and a set without the
 * route removes it at once.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { type FakeScheduler, type InstructionSetInit, startFakeScheduler } from '../helpers/fake-scheduler.ts'
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

const TEST_TIMEOUT_MS = 30_000

let dir: string
let echo: TestServer
let fake: FakeScheduler
let a: TestNode
let c: TestNode | undefined
let counter = 0n

function set(routes: InstructionSetInit['routes']): InstructionSetInit {
  counter++
  return { version: { epoch: 1n, counter }, nonce: `n${counter}`, ttlMs: 60_000, routes }
}

const viaC = () => [{ hops: ['c'], targets: [{ address: echo.address, weight: 1 }], weight: 100 }]

async function flowOk(): Promise<boolean> {
  const payload = randomBytes(512)
  try {
    return (await sendAndCollect(a.port('web'), payload, '127.0.0.1', 3000)).sha256 === sha256(payload)
  } catch {
    return false
  }
}

/** Pushes a set and waits until a has acknowledged it. */
async function push(routes: InstructionSetInit['routes']): Promise<void> {
  const s = set(routes)
  fake.pushInstructions(s)
  const version = `1.${s.version?.counter}`
  await waitFor(() => a.node.getInstructions()?.version === version, `a to apply ${version}`, 5000)
}

before(
  async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-held-'))
    echo = await startEchoServer()
    fake = await startFakeScheduler({ welcome: { heartbeatIntervalMs: 500, reportIntervalMs: 500 } })
    const ports = await freePorts(['a', 'c', 'web'])
    c = await startTestNode(
      meshNodeYaml({ id: 'c', meshPort: ports.c, meshExtra: '  allow_targets: ["127.0.0.0/8"]' }),
    )
    a = await startTestNode(
      meshNodeYaml({
        id: 'a',
        meshPort: ports.a,
        peers: [{ id: 'c', port: ports.c }],
        stateDir: join(dir, 'a'),
        yaml: `listeners:\n  - { name: web, bind: "127.0.0.1:${ports.web}" }
scheduler:
  address: "127.0.0.1:${fake.port}"
  insecure: true
  retry_interval: 100ms
  heartbeat_interval: 500ms
`,
      }),
    )
    await waitFor(() => fake.streams.length > 0, 'a to connect', 5000)
  },
  { timeout: TEST_TIMEOUT_MS },
)

after(
  async () => {
    await a?.close()
    await c?.close()
    await fake?.close()
    await echo?.close()
    await rm(dir, { recursive: true, force: true })
  },
  { timeout: TEST_TIMEOUT_MS },
)

test('a set with no path for a working route: the route keeps its path until the path fails on its own', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  await push([{ name: 'web', service: 'web', match: { listener: 'web' }, paths: viaC() }])
  await waitFor(() => a.node.getPeers().find((p) => p.name === 'c')?.state === 'up', 'c up', 5000)
  assert.equal(await flowOk(), true)

  await push([{ name: 'web', service: 'web', match: { listener: 'web' }, paths: [] }])
  assert.equal(await flowOk(), true, 'the path through c still works: flows keep taking it')
  const view = a.node.getInstructions()?.routes.find((r) => r.name === 'web')
  assert.deepEqual(view?.paths, [])
  assert.deepEqual(
    view?.held?.paths.map((p) => p.hops),
    [['c']],
  )

  await c?.close()
  c = undefined
  await waitFor(
    () => a.node.getRoutes().every((r) => r.name !== 'web'),
    'the held route to go once c is down',
    10_000,
  )
  assert.equal(a.node.getInstructions()?.routes.find((r) => r.name === 'web')?.held, undefined)
  assert.equal(await flowOk(), false, 'no route left')
})

test('a set without the route removes it at once: the operator removed it', {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  await push([{ name: 'api', service: 'api', match: { listener: 'web' }, paths: viaC() }])
  assert.deepEqual(
    a.node.getRoutes().map((r) => r.name),
    ['api'],
  )
  await push([])
  assert.deepEqual(a.node.getRoutes(), [])
})
