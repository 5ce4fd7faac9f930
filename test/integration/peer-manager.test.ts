import assert from 'node:assert/strict'
import { once } from 'node:events'
import net, { type Socket } from 'node:net'
import { afterEach, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import pino from 'pino'
import type { MeshConfig, PeerConfig } from '../../src/config/types.ts'
import { startLinkEmulator } from '../../src/link-emulator/emulator.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { PeerLinks } from '../../src/mesh/peer-links.ts'
import { MAX_RESPONSE_HEADER_BYTES } from '../../src/mesh/wire/constants.ts'
import { encodeControlHello } from '../../src/mesh/wire/control.ts'
import { readOpenResponse } from '../../src/mesh/wire/io.ts'
import { CAPACITY_TTL_MS, PeerManager } from '../../src/peer/index.ts'
import { systemClock } from '../../src/util/clock.ts'
import type { PeerState } from '../../src/views/node-view.ts'
import { type ControlServer, startControlServer } from '../helpers/control-server.ts'
import { openSockets } from '../helpers/handles.ts'
import { refusedPort } from '../helpers/tcp-servers.ts'
import { waitFor } from '../helpers/wait-for.ts'

const TOKEN = 'integration token, 16+ chars'

function meshConfig(overrides: Partial<MeshConfig> = {}): MeshConfig {
  return {
    bind: { host: '127.0.0.1', port: 0 },
    token: TOKEN,
    handshakeTimeoutMs: 10_000,
    allowTargets: [],
    maxHops: 8,
    maxUnauthenticated: 512,
    maxUnauthenticatedPerSource: 64,
    probeIntervalMs: 100,
    probeTimeoutMs: 150,
    probeRise: 2,
    probeFall: 3,
    connectTimeoutMs: 500,
    warmConnections: 2,
    warmIdleTimeoutMs: 5_000,
    ...overrides,
  }
}

function peer(name: string, port: number): PeerConfig {
  return { name, address: { host: '127.0.0.1', port }, type: 'tcp' }
}

/** Log lines of one manager, to check what it says about its peers. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = []
  const stream = { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }
  return { logger: pino({ level: 'info' }, stream), lines }
}

interface Node {
  readonly id: string
  readonly manager: PeerManager
  /** The data connections to the peers, following the manager's view of each link. */
  readonly links: PeerLinks
  readonly server: ControlServer
  close(): Promise<void>
}

/** A node's mesh port comes first (peers need its port); its manager is made with `connect`. */
async function meshPort(id: string, mesh: MeshConfig) {
  let manager: PeerManager | undefined
  const server = await startControlServer({
    acceptControl: (socket, identity) => {
      if (manager) manager.acceptControl(socket, identity)
      else socket.destroy()
    },
  })
  return {
    server,
    connect(peers: readonly PeerConfig[], logger = silentLogger()): Node {
      const links = new PeerLinks({ peers, mesh, logger })
      manager = new PeerManager({
        nodeId: id,
        peers,
        mesh,
        clock: systemClock,
        logger,
        onStateChange: (name, state) => links.setState(name, state),
      })
      const m = manager
      return {
        id,
        manager: m,
        links,
        server,
        async close() {
          await m.close()
          await links.close()
          await server.close()
        },
      }
    },
  }
}

const stateOf = (m: PeerManager, name: string, want: PeerState) => () => m.state(name) === want || undefined

// Every test's nodes are closed right after it, so the last test sees only its own handles.
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function pair(meshA = meshConfig(), meshB = meshConfig()) {
  const portA = await meshPort('node-a', meshA)
  const portB = await meshPort('node-b', meshB)
  const a = portA.connect([peer('node-b', portB.server.port)])
  const b = portB.connect([peer('node-a', portA.server.port)])
  cleanups.push(
    () => a.close(),
    () => b.close(),
  )
  return { a, b }
}

describe('PeerManager over real loopback', () => {
  test('two managers see each other up with an RTT > 0, and report it', async () => {
    const { a, b } = await pair()
    a.manager.start()
    b.manager.start()
    a.manager.start()
    await waitFor(stateOf(a.manager, 'node-b', 'up'), 'a sees b up')
    await waitFor(stateOf(b.manager, 'node-a', 'up'), 'b sees a up')
    const [status] = a.manager.status()
    assert.ok(status)
    assert.equal(status.name, 'node-b')
    assert.equal(status.state, 'up')
    assert.ok((status.rttMs ?? 0) > 0, `rtt ${status.rttMs}`)
    assert.ok((status.rttMs ?? 99) < 50)
    assert.equal(typeof status.jitterMs, 'number')
    assert.equal(status.loss, 0)
    assert.ok(status.lastSeen && Date.now() - Date.parse(status.lastSeen) < 1_000)
    assert.equal(a.manager.isUp('node-b'), true)
    assert.equal(a.manager.isUp('nobody'), false)
    assert.equal(a.manager.state('nobody'), undefined)
    a.links.flowStarted('node-b')
    a.links.flowStarted('node-b')
    a.links.flowEnded('node-b')
    assert.equal(a.links.activeFlows('node-b'), 1)
    assert.equal(a.links.state('node-b'), 'up', 'the links follow the manager')
    // One control channel each way: each node probes only the peers it lists.
    assert.equal(a.server.accepted.control, 1)
    assert.equal(b.server.accepted.control, 1)
  })

  test('with 20 ms each way, the RTT measures 40 ms (never less than 35, late by load at most 40)', async () => {
    const portB = await meshPort('node-b', meshConfig())
    const link = await startLinkEmulator({
      target: { host: '127.0.0.1', port: portB.server.port },
      delayMs: 20,
    })
    // A probe late by load is late, not lost: only a timeout well above the RTT tells them apart.
    const a = (await meshPort('node-a', meshConfig({ probeTimeoutMs: 1_000 }))).connect([
      peer('node-b', link.port),
    ])
    const b = portB.connect([])
    cleanups.push(
      () => a.close(),
      () => link.close(),
      () => b.close(),
    )
    a.manager.start()
    await waitFor(stateOf(a.manager, 'node-b', 'up'), 'b up through the link')
    await sleep(1_200)
    const rtt = a.manager.status()[0]?.rttMs ?? 0
    // Timers fire late on a loaded machine, never early: the bound above is the loose one. The RTT
    // follows a lasting change within two probes, and timers late for a while are one.
    assert.ok(rtt >= 35 && rtt <= 80, `rtt ${rtt}`)
    assert.equal(a.manager.status()[0]?.loss, 0)
  })

  test('a peer coming up is probed every quarter interval: up within half a probe interval', async () => {
    const mesh = meshConfig({ probeIntervalMs: 1_000, probeTimeoutMs: 1_000 })
    const portB = await meshPort('node-b', mesh)
    const a = (await meshPort('node-a', mesh)).connect([peer('node-b', portB.server.port)])
    const b = portB.connect([])
    cleanups.push(
      () => a.close(),
      () => b.close(),
    )
    const started = Date.now()
    a.manager.start()
    await waitFor(stateOf(a.manager, 'node-b', 'up'), 'b up')
    // Two answered probes (probe_rise) a quarter interval apart, not a whole one.
    assert.ok(Date.now() - started < 750, `up after ${Date.now() - started}ms`)
  })

  test('a second of silence while probes run fast (a young link) does not take the peer down', async () => {
    const mesh = meshConfig({ probeIntervalMs: 1_000, probeTimeoutMs: 1_000, probeFall: 3 })
    const portB = await meshPort('node-b', mesh)
    const link = await startLinkEmulator({ target: { host: '127.0.0.1', port: portB.server.port } })
    const a = (await meshPort('node-a', mesh)).connect([peer('node-b', link.port)])
    const b = portB.connect([])
    cleanups.push(
      () => a.close(),
      () => link.close(),
      () => b.close(),
    )
    a.manager.start()
    await waitFor(stateOf(a.manager, 'node-b', 'up'), 'b up')
    // Probes go every quarter interval now; a silence of 1.3 s is one interval's worth of it, not
    // the three in a row that take a peer down, however many probes were due meanwhile.
    link.blackhole()
    const states = new Set<PeerState | undefined>()
    const watch = setInterval(() => states.add(a.manager.state('node-b')), 10)
    await sleep(1_300)
    link.restore()
    await sleep(2_500)
    clearInterval(watch)
    assert.deepEqual([...states], ['up'])
  })

  test('a link whose delay rises for good shows its new RTT within 3 probe intervals, not 15', async () => {
    const mesh = meshConfig({ probeIntervalMs: 500, probeTimeoutMs: 1_000 })
    const portB = await meshPort('node-b', mesh)
    const link = await startLinkEmulator({
      target: { host: '127.0.0.1', port: portB.server.port },
      delayMs: 20,
    })
    const a = (await meshPort('node-a', mesh)).connect([peer('node-b', link.port)])
    const b = portB.connect([])
    cleanups.push(
      () => a.close(),
      () => link.close(),
      () => b.close(),
    )
    a.manager.start()
    await waitFor(stateOf(a.manager, 'node-b', 'up'), 'b up')
    // The link's noise is measured first: 16 probes, a quarter interval apart while it is.
    await sleep(3_000)
    link.set({ delayMs: 80 })
    const changed = Date.now()
    // The smoothed RTT alone would need some 15 probes (7.5 s) to come within 10 % of 160 ms.
    await waitFor(() => (a.manager.status()[0]?.rttMs ?? 0) >= 150, 'the new RTT')
    assert.ok(Date.now() - changed <= 1_500, `the new RTT after ${Date.now() - changed}ms`)
  })

  test('the far side closing takes the peer down at once, logged with its reason', async () => {
    const log = capturingLogger()
    const portA = await meshPort('node-a', meshConfig())
    const portB = await meshPort('node-b', meshConfig())
    const a = portA.connect([peer('node-b', portB.server.port)], log.logger)
    const b = portB.connect([])
    cleanups.push(() => a.close())
    a.manager.start()
    await waitFor(stateOf(a.manager, 'node-b', 'up'), 'up')
    const t0 = Date.now()
    await b.close()
    await waitFor(stateOf(a.manager, 'node-b', 'down'), 'down', 1_000)
    assert.ok(Date.now() - t0 < 1_000)
    const changes = log.lines.filter((l) => l.peer === 'node-b' && typeof l.state === 'string')
    assert.deepEqual(
      changes.map((l) => l.state),
      ['up', 'down'],
    )
    assert.match(String(changes[1]?.reason), /channel (closed|error)/)
    assert.equal(
      log.lines.filter((l) => l.level === 30).length,
      2,
      'info lines are the two changes only, nothing per probe',
    )
  })

  test('a blackholed link is down after probeFall × probeInterval, and up again after restore', async () => {
    const portB = await meshPort('node-b', meshConfig())
    const link = await startLinkEmulator({ target: { host: '127.0.0.1', port: portB.server.port } })
    const a = (await meshPort('node-a', meshConfig())).connect([peer('node-b', link.port)])
    const b = portB.connect([])
    cleanups.push(
      () => a.close(),
      () => link.close(),
      () => b.close(),
    )
    a.manager.start()
    await waitFor(stateOf(a.manager, 'node-b', 'up'), 'up')
    const t0 = Date.now()
    link.blackhole()
    await waitFor(stateOf(a.manager, 'node-b', 'down'), 'down', 2_000)
    const took = Date.now() - t0
    // Three probes must go unanswered: the first one sent after the cut times out 150 ms after
    // it left, the third 200 ms later.
    assert.ok(took >= 250 && took <= 700, `down after ${took}ms`)
    await sleep(300)
    assert.equal(a.manager.state('node-b'), 'down')
    link.restore()
    await waitFor(stateOf(a.manager, 'node-b', 'up'), 'up again', 8_000)
  })

  test('a wrong token is refused as unauthorized and the peer is never up', async () => {
    const log = capturingLogger()
    const portA = await meshPort('node-a', meshConfig({ token: 'another token of 16+ chars' }))
    const portB = await meshPort('node-b', meshConfig())
    const a = portA.connect([peer('node-b', portB.server.port)], log.logger)
    const b = portB.connect([])
    cleanups.push(
      () => a.close(),
      () => b.close(),
    )
    a.manager.start()
    await waitFor(stateOf(a.manager, 'node-b', 'down'), 'down')
    await sleep(700)
    assert.equal(a.manager.state('node-b'), 'down')
    assert.ok(b.server.accepted.control >= 2, 'it retried')
    const refusals = log.lines.filter((l) => l.msg === 'peer refused the control channel')
    assert.equal(refusals.length, 1, 'a repeated refusal is logged once')
    assert.match(JSON.stringify(refusals[0]), /unauthorized/)
    assert.ok(!log.lines.some((l) => l.state === 'up'))
  })

  test('a peer listed under a name its node does not have is refused', async () => {
    const portB = await meshPort('node-b', meshConfig())
    const a = (await meshPort('node-a', meshConfig())).connect([peer('node-c', portB.server.port)])
    const b = portB.connect([])
    cleanups.push(
      () => a.close(),
      () => b.close(),
    )
    a.manager.start()
    await waitFor(stateOf(a.manager, 'node-c', 'down'), 'down')
    await sleep(300)
    assert.equal(a.manager.state('node-c'), 'down')
  })

  test('hellos: a replay, a wrong expected node and garbage get their status', async () => {
    const portB = await meshPort('node-b', meshConfig())
    const b = portB.connect([])
    cleanups.push(() => b.close())
    const ask = async (bytes: Buffer) => {
      const socket = net.connect({ host: '127.0.0.1', port: b.server.port })
      socket.on('error', () => {})
      try {
        await once(socket, 'connect')
        socket.write(bytes)
        return (await readOpenResponse(socket, { maxBytes: MAX_RESPONSE_HEADER_BYTES, timeoutMs: 2_000 }))
          .response
      } finally {
        socket.destroy()
      }
    }
    const hello = encodeControlHello(
      { sourceNodeId: 'node-a', expectedNodeId: 'node-b' },
      { token: TOKEN, now: Date.now() },
    )
    assert.deepEqual(await ask(hello), { status: 'ok', nodeId: 'node-b' })
    const replayed = await ask(hello)
    assert.equal(replayed.status, 'replayed')
    const wrongNode = encodeControlHello(
      { sourceNodeId: 'node-a', expectedNodeId: 'node-x' },
      { token: TOKEN, now: Date.now() },
    )
    const r = await ask(wrongNode)
    assert.equal(r.status, 'unauthorized')
    assert.match(r.message ?? '', /this is node node-b, not node-x/)
    const unsigned = encodeControlHello({ sourceNodeId: 'node-a', expectedNodeId: 'node-b' })
    assert.equal((await ask(unsigned)).status, 'unauthorized')
    const stale = encodeControlHello(
      { sourceNodeId: 'node-a', expectedNodeId: 'node-b' },
      { token: TOKEN, now: Date.now() - 60_000 },
    )
    assert.equal((await ask(stale)).status, 'expired')
    const garbage = Buffer.from('DYNP\x01\x02\xff\xff')
    assert.equal((await ask(garbage)).status, 'bad_header')
  })

  test('after the hello, a bad frame closes the channel', async () => {
    const portB = await meshPort('node-b', meshConfig())
    const b = portB.connect([])
    cleanups.push(() => b.close())
    const socket = net.connect({ host: '127.0.0.1', port: b.server.port })
    socket.on('error', () => {})
    try {
      await once(socket, 'connect')
      socket.write(
        encodeControlHello(
          { sourceNodeId: 'node-a', expectedNodeId: 'node-b' },
          { token: TOKEN, now: Date.now() },
        ),
      )
      socket.write(Buffer.from([1, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9]))
      const chunks: Buffer[] = []
      socket.on('data', (c: Buffer) => chunks.push(c))
      await sleep(100)
      const got = Buffer.concat(chunks)
      // ok response (4 bytes + node id TLV) then the PONG echoing seq 1 and 9.
      assert.deepEqual(
        got.subarray(got.length - 15),
        Buffer.from([2, 0, 12, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9]),
      )
      socket.write(Buffer.from([0x7f, 0, 0]))
      await Promise.race([once(socket, 'close'), sleep(2_000).then(() => assert.fail('not closed'))])
    } finally {
      socket.destroy()
    }
  })
})

describe('PeerManager.dial and the warm pool', () => {
  async function echoOver(socket: Socket, text: string): Promise<string> {
    socket.write(text)
    let got = ''
    for await (const chunk of socket) {
      got += String(chunk)
      if (got.length >= text.length) break
    }
    return got
  }

  test('dial() serves warm sockets first, refills, and the pool stays bounded', async () => {
    const { a, b } = await pair(meshConfig({ warmConnections: 2 }))
    a.manager.start()
    await waitFor(stateOf(a.manager, 'node-b', 'up'), 'up')
    await waitFor(() => a.links.warmStats('node-b')?.idle === 2 || undefined, 'pool full')
    assert.equal(b.server.accepted.data, 0, 'warm sockets send nothing until used')
    const socket = await a.links.dial('node-b')
    socket.on('error', () => {})
    try {
      assert.equal(
        await echoOver(socket, 'DYNP hello through a warm socket'),
        'DYNP hello through a warm socket',
      )
    } finally {
      socket.destroy()
    }
    assert.equal(a.links.warmStats('node-b')?.hits, 1)
    const taken: Socket[] = []
    try {
      for (let i = 0; i < 6; i++) taken.push(await a.links.dial('node-b'))
      const stats = a.links.warmStats('node-b')
      assert.ok(stats)
      assert.ok(stats.idle + stats.opening <= 2, JSON.stringify(stats))
      assert.ok(stats.misses >= 1, 'dials beyond the pool are fresh')
      assert.equal(stats.hits + stats.misses, 7)
      await waitFor(() => a.links.warmStats('node-b')?.idle === 2 || undefined, 'refilled')
      assert.equal(a.links.warmStats('node-b')?.opened, 2 + stats.hits)
    } finally {
      for (const s of taken) s.destroy()
    }
  })

  test('idle warm sockets close after warmIdleTimeoutMs, and a dead one is never handed out', async () => {
    const { a, b } = await pair(meshConfig({ warmConnections: 1, warmIdleTimeoutMs: 300 }))
    a.manager.start()
    await waitFor(() => a.links.warmStats('node-b')?.idle === 1 || undefined, 'pool full')
    await waitFor(() => a.links.warmStats('node-b')?.expired === 1 || undefined, 'expired', 1_000)
    assert.equal(a.links.warmStats('node-b')?.idle, 0)
    // Take one to refill, then kill the far side of the new warm socket: it is discarded.
    ;(await a.links.dial('node-b')).destroy()
    await waitFor(() => a.links.warmStats('node-b')?.idle === 1 || undefined, 'refilled')
    const discardedBefore = a.links.warmStats('node-b')?.discarded ?? 0
    await b.server.close()
    await waitFor(
      () => (a.links.warmStats('node-b')?.discarded ?? 0) > discardedBefore || undefined,
      'discarded',
    )
    assert.equal(a.links.warmStats('node-b')?.idle, 0)
  })

  test('the pool empties when the peer goes down', async () => {
    const portA = await meshPort('node-a', meshConfig())
    const portB = await meshPort('node-b', meshConfig())
    const a = portA.connect([peer('node-b', portB.server.port)])
    const b = portB.connect([])
    cleanups.push(() => a.close())
    a.manager.start()
    await waitFor(() => a.links.warmStats('node-b')?.idle === 2 || undefined, 'pool full')
    await b.manager.close()
    await waitFor(stateOf(a.manager, 'node-b', 'down'), 'down')
    assert.equal(a.links.warmStats('node-b')?.idle, 0)
    await b.server.close()
  })

  test('dial() errors name the peer, its address and the cause', async () => {
    const port = await refusedPort()
    const links = new PeerLinks({ peers: [peer('node-z', port)], mesh: meshConfig(), logger: silentLogger() })
    try {
      await assert.rejects(links.dial('nobody'), {
        code: 'DYN_ERR_PEER_UNKNOWN',
        message: /"nobody" \(peers: node-z\)/,
      })
      await assert.rejects(links.dial('node-z'), {
        code: 'DYN_ERR_PEER_DIAL',
        message: new RegExp(`node-z at 127\\.0\\.0\\.1:${port} failed: ECONNREFUSED`),
      })
    } finally {
      await links.close()
    }
    await assert.rejects(links.dial('node-z'), { code: 'DYN_ERR_PEER_DIAL', message: /closed/ })
  })

  test('a probed capacity shows in status for an hour, then the link is unknown again', async () => {
    const clock = { t: 1_000_000, now: () => clock.t }
    const m = new PeerManager({
      nodeId: 'node-a',
      // Never started: the port is never dialled.
      peers: [peer('node-z', 9)],
      mesh: meshConfig(),
      clock,
      logger: silentLogger(),
    })
    try {
      m.recordCapacity('node-z', 12_345_678.9)
      m.recordCapacity('nobody', 1)
      const z = () => m.status().find((p) => p.name === 'node-z')
      assert.equal(z()?.throughputBps, 12_345_679)
      assert.equal(z()?.throughputMeasuredAt, new Date(1_000_000).toISOString())
      clock.t += CAPACITY_TTL_MS - 1
      assert.equal(z()?.throughputBps, 12_345_679)
      clock.t += 1
      assert.equal(z()?.throughputBps, undefined)
      assert.equal(m.status().length, 1, 'an unknown name records nothing')
    } finally {
      await m.close()
    }
  })

  test('close() leaves no socket behind', async () => {
    const before = openSockets()
    const portB = await meshPort('node-b', meshConfig())
    const link = await startLinkEmulator({ target: { host: '127.0.0.1', port: portB.server.port } })
    const portA = await meshPort('node-a', meshConfig())
    const a = portA.connect([peer('node-b', portB.server.port), peer('node-c', link.port)])
    const b = portB.connect([peer('node-a', portA.server.port)])
    a.manager.start()
    b.manager.start()
    await waitFor(stateOf(a.manager, 'node-b', 'up'), 'up')
    await waitFor(stateOf(b.manager, 'node-a', 'up'), 'b up')
    link.blackhole()
    const warm = await a.links.dial('node-b')
    await Promise.all([a.close(), b.manager.close(), a.manager.close(), b.links.close()])
    warm.destroy()
    await b.server.close()
    await link.close()
    await sleep(20)
    assert.equal(openSockets(), before)
  })
})
