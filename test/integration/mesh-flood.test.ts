/**
 * A flood of silent connections to a relay's mesh port, from many source addresses, while the
 * relay runs as its own process under a 1,500 file-descriptor limit: the unauthenticated ones are
 * capped (per source, and in total by closing the oldest), so a real flow relayed through it at
 * the same time still gets the descriptors it needs.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { once } from 'node:events'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { fileURLToPath } from 'node:url'
import { freePorts, startMeshNode, TEST_TOKEN } from '../helpers/mesh-harness.ts'
import type { TestNode } from '../helpers/node-harness.ts'
import {
  patternBytes,
  sendAndCollect,
  sha256,
  startEchoServer,
  type TestServer,
} from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))
const FD_LIMIT = 1500
const FLOOD = 2000
const SOURCES = 20
const noPrlimit = spawnSync('prlimit', ['--version']).error !== undefined

async function openFds(pid: number): Promise<number> {
  return (await readdir(`/proc/${pid}/fd`)).length
}

/**
 * Silent connections from 127.0.0.2 onwards, `FLOOD / SOURCES` from each. `settled` resolves once
 * each is connected or closed; `closed` counts those the relay closed.
 */
function flood(port: number): {
  readonly sockets: net.Socket[]
  readonly settled: Promise<unknown>
  closed(): number
} {
  let closed = 0
  const sockets: net.Socket[] = []
  const settling: Promise<unknown>[] = []
  for (let i = 0; i < FLOOD; i++) {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: `127.0.0.${2 + (i % SOURCES)}` })
    socket.on('error', () => {})
    socket.on('close', () => closed++)
    socket.resume()
    sockets.push(socket)
    settling.push(Promise.race([once(socket, 'connect'), once(socket, 'close')]))
  }
  return { sockets, settled: Promise.all(settling), closed: () => closed }
}

describe('a flood of silent connections to the mesh port', { skip: noPrlimit && 'needs prlimit' }, () => {
  let dir: string
  let echo: TestServer
  let relay: ChildProcess
  let ingress: TestNode
  let relayOutput = ''

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dynproxy-flood-'))
    echo = await startEchoServer()
    const p = await freePorts(['a', 'b'])
    const config = join(dir, 'relay.yaml')
    await writeFile(
      config,
      `common: { node_id: b, admin_addr: "127.0.0.1:0", state_dir: "${dir}/state" }
mesh:
  bind: "127.0.0.1:${p.b}"
  token: "${TEST_TOKEN}"
  allow_targets: ["127.0.0.1/32"]
`,
    )
    relay = spawn(
      'prlimit',
      [`--nofile=${FD_LIMIT}:${FD_LIMIT}`, '--', process.execPath, CLI, '-c', config],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    relay.stdout?.on('data', (c: Buffer) => {
      relayOutput += c.toString()
    })
    relay.stderr?.on('data', (c: Buffer) => {
      relayOutput += c.toString()
    })
    await waitFor(
      () => relayOutput.includes('node listening') || relay.exitCode !== null,
      'the relay',
      15_000,
    )
    assert.equal(relay.exitCode, null, relayOutput)
    ingress = await startMeshNode({
      id: 'a',
      meshPort: p.a,
      peers: [{ id: 'b', port: p.b }],
      yaml: `listeners: [{ name: in, bind: "127.0.0.1:0" }]\nroutes: [{ name: out, via: [b], target: "${echo.address}" }]\n`,
    })
    await waitFor(() => ingress.node.getPeers()[0]?.state === 'up', 'b up', 5000)
  })
  after(async () => {
    await ingress?.close()
    if (relay?.exitCode === null) {
      relay.kill('SIGTERM')
      await once(relay, 'exit')
    }
    await echo?.close()
    await rm(dir, { recursive: true, force: true })
  })

  test(`${FLOOD} silent connections from ${SOURCES} addresses leave a relay under a ${FD_LIMIT} fd limit relaying`, async () => {
    const attack = flood(ingress.node.config.peers[0]!.address.port)
    try {
      await attack.settled
      const payload = patternBytes(1024 * 1024)
      const { sha256: got } = await sendAndCollect(ingress.port('in'), payload, '127.0.0.1', 10_000)
      assert.equal(got, sha256(payload))
      assert.equal(relay.exitCode, null)
      // Per source at most 64 are held, and 512 in all: the relay closed the rest at once.
      await waitFor(
        () => attack.closed() >= FLOOD - 512,
        'the relay to close what is over its limits',
        15_000,
      )
      const held = attack.sockets.filter((s) => !s.destroyed).length
      assert.ok(held <= 512, `${held} silent connections held`)
      const fds = await openFds(relay.pid!)
      assert.ok(fds < 700, `the relay holds ${fds} file descriptors`)
      assert.match(relayOutput, /unauthenticated connections over a limit are being closed/)
    } finally {
      for (const s of attack.sockets) s.destroy()
    }
  })
})
