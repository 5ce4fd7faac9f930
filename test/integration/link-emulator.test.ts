import assert from 'node:assert/strict'
import { once } from 'node:events'
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { type LinkEmulator, startLinkEmulator } from '../../src/link-emulator/emulator.ts'
import { RETRANSMIT_TIMEOUT_MS } from '../../src/link-emulator/schedule.ts'
import { openSockets } from '../helpers/handles.ts'
import {
  randomBytes,
  refusedPort,
  sendAndCollect,
  sha256,
  startDigestServer,
  startEchoServer,
  startServer,
  type TestServer,
} from '../helpers/tcp-servers.ts'

/**
 * A timer never fires early, but a loaded machine (the suite runs files in parallel) fires it late:
 * a delay may come out a little short of the configured one by clock granularity, or late by
 * scheduling. The bounds still tell 20 ms from 120 ms apart.
 */
const LATE_MS = 20
function nearDelay(measured: number, expected: number): boolean {
  return measured >= expected - 5 && measured <= expected + LATE_MS
}

const LOOPBACK = '127.0.0.1'

/** A client that reads everything into one buffer and can wait, bounded, for a given length. */
class Client {
  readonly socket: net.Socket
  #received = Buffer.alloc(0)
  constructor(socket: net.Socket) {
    this.socket = socket
    socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk])
      socket.emit('progress')
    })
  }

  static async connect(port: number): Promise<Client> {
    const socket = net.connect({ host: LOOPBACK, port, allowHalfOpen: true })
    socket.setNoDelay(true)
    await once(socket, 'connect')
    return new Client(socket)
  }

  get received(): Buffer {
    return this.#received
  }

  /** Resolves true once `length` bytes have arrived, false after `timeoutMs`. */
  async waitFor(length: number, timeoutMs: number): Promise<boolean> {
    const deadline = performance.now() + timeoutMs
    while (this.#received.length < length) {
      const left = deadline - performance.now()
      if (left <= 0) return false
      const ac = new AbortController()
      await within(once(this.socket, 'progress', { signal: ac.signal }), left, 'timeout')
      ac.abort()
    }
    return true
  }

  /** Sends a message through an echo path and returns how long its echo took, in ms. */
  async roundTrip(message = 'ping'): Promise<number> {
    const expected = this.#received.length + message.length
    const start = performance.now()
    this.socket.write(message)
    assert.ok(await this.waitFor(expected, 2000), 'echo did not come back within 2 s')
    return performance.now() - start
  }

  close(): void {
    this.socket.destroy()
  }
}

/** Settles with `promise`, or with `fallback` after `timeoutMs`; never leaves its timer behind. */
async function within<T, F>(promise: Promise<T>, timeoutMs: number, fallback: F): Promise<T | F> {
  const ac = new AbortController()
  try {
    return await Promise.race([promise, sleep(timeoutMs, fallback, { signal: ac.signal })])
  } finally {
    ac.abort()
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

async function medianRoundTrip(client: Client, samples: number): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < samples; i++) times.push(await client.roundTrip(`ping-${i}`))
  return median(times)
}

/** Resolves with the socket's error code, or 'none' if it closed cleanly; bounded by `timeoutMs`. */
async function closeReason(socket: net.Socket, timeoutMs: number): Promise<string> {
  if (socket.destroyed) return 'already closed'
  const error = new Promise<string>((resolve) =>
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'unknown')),
  )
  const closed = once(socket, 'close').then(() => 'none')
  return within(Promise.race([error, closed]), timeoutMs, 'timeout')
}

describe('link emulator shutdown', () => {
  it('close() destroys every connection and leaves no socket behind', async () => {
    const baseline = openSockets()
    const echo = await startEchoServer()
    const link = await startLinkEmulator({ target: { host: LOOPBACK, port: echo.port }, delayMs: 500 })
    const socket = net.connect({ host: LOOPBACK, port: link.port })
    await once(socket, 'connect')
    socket.write('pending in the lane')
    const reason = closeReason(socket, 2000)
    for (let i = 0; i < 50 && link.stats().connections === 0; i++) await sleep(5)
    assert.ok(openSockets() > baseline)

    await link.close()
    await link.close()
    // Destroying a socket whose kernel buffer still holds unread bytes sends an RST instead of a FIN.
    assert.match(await reason, /^(none|ECONNRESET)$/, 'the client sees the emulator close its connection')
    await echo.close()
    // Sockets close on the loop turn after their close callback: poll, bounded.
    for (let i = 0; i < 20 && openSockets() !== baseline; i++) await sleep(5)
    assert.equal(openSockets(), baseline)
  })
})

describe('link emulator', () => {
  let echo: TestServer
  const opened: { close(): unknown }[] = []

  async function emulator(
    options: Omit<Parameters<typeof startLinkEmulator>[0], 'target'>,
  ): Promise<LinkEmulator> {
    const link = await startLinkEmulator({ target: { host: LOOPBACK, port: echo.port }, ...options })
    opened.push(link)
    return link
  }

  async function client(port: number): Promise<Client> {
    const c = await Client.connect(port)
    opened.push(c)
    return c
  }

  before(async () => {
    echo = await startEchoServer()
  })

  after(async () => {
    for (const item of opened) await item.close()
    await echo.close()
  })

  it('adds its one-way delay in each direction: 40 ms shows as an 80 ms round trip', async () => {
    const link = await emulator({ delayMs: 40 })
    const c = await client(link.port)
    const rtt = await medianRoundTrip(c, 7)
    assert.ok(nearDelay(rtt, 80), `median round trip ${rtt.toFixed(1)} ms, expected 80 (−5, +${LATE_MS})`)
    const sent = Array.from({ length: 7 }, (_, i) => `ping-${i}`).join('').length
    const stats = link.stats()
    assert.deepEqual(stats.bytesForwarded, { up: sent, down: sent })
    assert.equal(stats.connections, 1)
    assert.equal(stats.accepted, 1)
    assert.equal(stats.dropped, 0)
  })

  it('applies set() to bytes sent after it', async () => {
    const link = await emulator({ delayMs: 10 })
    const c = await client(link.port)
    const before = await medianRoundTrip(c, 5)
    link.set({ delayMs: 60 })
    const afterSet = await medianRoundTrip(c, 5)
    assert.ok(nearDelay(before, 20), `round trip before set() ${before.toFixed(1)} ms, expected 20`)
    assert.ok(nearDelay(afterSet, 120), `round trip after set() ${afterSet.toFixed(1)} ms, expected 120`)
  })

  it('rejects a bad option with a coded error', async () => {
    await assert.rejects(startLinkEmulator({ target: { host: LOOPBACK, port: echo.port }, delayMs: -3 }), {
      code: 'DYN_ERR_TESTING_LINK_OPTION',
    })
    const link = await emulator({})
    assert.throws(() => link.set({ rateBytesPerSec: 0 }), { code: 'DYN_ERR_TESTING_LINK_OPTION' })
  })

  it('fails to start on a port already taken, naming the address', async () => {
    const link = await emulator({})
    await assert.rejects(
      startLinkEmulator({ target: { host: LOOPBACK, port: echo.port }, port: link.port }),
      (err: Error & { code?: string }) =>
        err.code === 'DYN_ERR_TESTING_LINK_LISTEN' &&
        err.message.includes(`127.0.0.1:${link.port}: EADDRINUSE`),
    )
  })

  it('never reorders bytes under heavy jitter, both ways, on concurrent connections', async () => {
    const link = await emulator({ delayMs: 5, jitterMs: 5 })
    const payloads = [randomBytes(4 * 1024 * 1024), randomBytes(3 * 1024 * 1024)]
    const results = await Promise.all(payloads.map((p) => sendAndCollect(link.port, p, LOOPBACK, 15_000)))
    for (const [i, payload] of payloads.entries()) {
      assert.equal(results[i]!.received.length, payload.length)
      assert.equal(results[i]!.sha256, sha256(payload))
    }
    const total = payloads[0]!.length + payloads[1]!.length
    assert.deepEqual(link.stats().bytesForwarded, { up: total, down: total })
  })

  it('loses chunks as TCP does: late by a retransmission timeout, never missing or reordered', async () => {
    const link = await emulator({ delayMs: 1, lossRatio: 1 })
    const c = await client(link.port)
    const rtt = await c.roundTrip('lost both ways')
    assert.ok(rtt >= 2 * RETRANSMIT_TIMEOUT_MS, `round trip ${rtt.toFixed(1)} ms with every chunk lost once`)
    link.set({ lossRatio: 0.2 })
    const payload = randomBytes(256 * 1024)
    const result = await sendAndCollect(link.port, payload, LOOPBACK, 15_000)
    assert.equal(result.sha256, sha256(payload))
    assert.equal(link.stats().dropped, 0, 'a lost chunk is late, not gone')
  })

  it('caps the rate per direction at the configured bytes per second', async () => {
    const digest = await startDigestServer(2_000_000)
    opened.push(digest)
    const link = await startLinkEmulator({
      target: { host: LOOPBACK, port: digest.port },
      rateBytesPerSec: 2_000_000,
    })
    opened.push(link)

    const upPayload = randomBytes(2_000_000)
    let start = performance.now()
    const up = await sendAndCollect(link.port, upPayload, LOOPBACK, 10_000)
    // The reply (hash line + 2 MB) also crosses the capped down lane: time the up half by its hash.
    assert.equal(up.received.subarray(0, 64).toString(), sha256(upPayload))
    const total = performance.now() - start
    // Up and down each carry 2 MB at 2 MB/s, one after the other: ≈ 2 s.
    assert.ok(
      Math.abs(total / 2000 - 1) <= 0.15,
      `2 MB up + 2 MB down took ${total.toFixed(0)} ms, expected 2000 ± 15 %`,
    )

    start = performance.now()
    const echoLink = await emulator({ rateBytesPerSec: 2_000_000 })
    const both = await Promise.all(
      [0, 1].map(() => sendAndCollect(echoLink.port, randomBytes(1_000_000), LOOPBACK, 10_000)),
    )
    const shared = performance.now() - start
    assert.equal(both[0]!.received.length + both[1]!.received.length, 2_000_000)
    // Two connections share the cap: 2 × 1 MB takes ≈ 1 s, not the 0.5 s each would take alone.
    assert.ok(
      Math.abs(shared / 1000 - 1) <= 0.15,
      `2 × 1 MB took ${shared.toFixed(0)} ms, expected 1000 ± 15 %`,
    )
  })

  it('keeps a half-closed connection forwarding: the client ends its side and still gets the whole echo', async () => {
    const link = await emulator({ delayMs: 20 })
    const payload = randomBytes(512 * 1024)
    const result = await sendAndCollect(link.port, payload, LOOPBACK, 5000)
    assert.equal(result.sha256, sha256(payload))

    const digest = await startDigestServer(100_000)
    opened.push(digest)
    const digestLink = await startLinkEmulator({ target: { host: LOOPBACK, port: digest.port }, delayMs: 20 })
    opened.push(digestLink)
    const reply = await sendAndCollect(digestLink.port, payload, LOOPBACK, 5000)
    assert.equal(reply.received.subarray(0, 64).toString(), sha256(payload))
    assert.equal(reply.received.length, 65 + 100_000)
  })

  it('blackhole drops bytes and leaves new connections unanswered; restore brings the link back', async () => {
    const link = await emulator({ delayMs: 50 })
    const c = await client(link.port)
    await c.roundTrip('hello')

    c.socket.write('in flight')
    await sleep(10)
    link.blackhole()
    c.socket.write('lost')
    const late = await client(link.port)
    late.socket.write('never answered')
    assert.equal(await c.waitFor(5 + 1, 300), false, 'bytes crossed a blackholed link')
    assert.equal(await late.waitFor(1, 1), false)
    const silent = link.stats()
    assert.equal(silent.dropped, 'in flight'.length + 'lost'.length + 'never answered'.length)
    assert.equal(silent.connections, 2, 'connections stay open through a blackhole')
    assert.equal(c.socket.destroyed, false)

    const lateReason = closeReason(late.socket, 2000)
    link.restore()
    assert.equal(await lateReason, 'ECONNRESET', 'a connection the target never saw is reset on restore')
    await c.roundTrip('again')
    const fresh = await client(link.port)
    await fresh.roundTrip('fresh')
  })

  it('partition holds bytes both ways and delivers them in order after restore; connections opened meanwhile go through then', async () => {
    const link = await emulator({ delayMs: 5 })
    const c = await client(link.port)
    await c.roundTrip('hello')
    const seenByTarget = echo.accepted
    link.partition()
    c.socket.write('held ')
    c.socket.write('in order')
    const late = await client(link.port)
    late.socket.write('late')
    assert.equal(await c.waitFor(5 + 13, 300), false, 'bytes crossed a partitioned link')
    assert.equal(await late.waitFor(1, 1), false)
    assert.equal(
      echo.accepted,
      seenByTarget,
      'the target has not seen the connection opened during the partition',
    )
    link.restore()
    assert.ok(await c.waitFor(5 + 13, 2000))
    assert.equal(c.received.toString(), 'helloheld in order')
    assert.ok(await late.waitFor(4, 2000))
    assert.equal(late.received.toString(), 'late')
    assert.equal(link.stats().dropped, 0)
  })

  it('a stream cut by a partition mid-transfer arrives whole after restore', async () => {
    const link = await emulator({ delayMs: 2 })
    const payload = randomBytes(2 * 1024 * 1024)
    const result = sendAndCollect(link.port, payload, LOOPBACK, 15_000)
    await sleep(20)
    link.partition()
    await sleep(300)
    link.restore()
    assert.equal((await result).sha256, sha256(payload))
    assert.equal(link.stats().dropped, 0)
  })

  it('holds a FIN sent into a blackhole and delivers it after restore', async () => {
    const link = await emulator({})
    const c = await client(link.port)
    await c.roundTrip('x')
    link.blackhole()
    c.socket.end()
    const ended = once(c.socket, 'end').then(() => 'ended')
    assert.equal(await within(ended, 200, 'silent'), 'silent')
    link.restore()
    assert.equal(await within(ended, 2000, 'silent'), 'ended')
  })

  it('reset sends RST to both sides and refuses new connections until restore', async () => {
    const targetErrors: string[] = []
    const target = await startServer((socket) => {
      socket.on('error', (err: NodeJS.ErrnoException) => targetErrors.push(err.code ?? 'unknown'))
      socket.pipe(socket)
    })
    opened.push(target)
    const link = await startLinkEmulator({ target: { host: LOOPBACK, port: target.port } })
    opened.push(link)
    const c = await client(link.port)
    await c.roundTrip('hi')

    const reason = closeReason(c.socket, 2000)
    link.reset()
    assert.equal(await reason, 'ECONNRESET')
    for (let i = 0; i < 50 && targetErrors.length === 0; i++) await sleep(10)
    assert.deepEqual(targetErrors, ['ECONNRESET'])

    const refused = net.connect({ host: LOOPBACK, port: link.port })
    opened.push({ close: () => refused.destroy() })
    assert.equal(await closeReason(refused, 2000), 'ECONNRESET')
    assert.equal(link.stats().connections, 0)

    link.restore()
    const fresh = await client(link.port)
    await fresh.roundTrip('back')
  })

  it('resets the client when the target refuses the connection', async () => {
    const link = await startLinkEmulator({
      target: { host: LOOPBACK, port: await refusedPort() },
      delayMs: 5,
    })
    opened.push(link)
    const socket = net.connect({ host: LOOPBACK, port: link.port })
    opened.push({ close: () => socket.destroy() })
    assert.equal(await closeReason(socket, 2000), 'ECONNRESET')
    for (let i = 0; i < 50 && link.stats().connections > 0; i++) await sleep(5)
    assert.equal(link.stats().connections, 0)
  })

  it('keeps each queue within maxQueueBytes when the client reads slowly, and loses nothing', async () => {
    const maxQueueBytes = 256 * 1024
    const link = await emulator({ maxQueueBytes, delayMs: 2 })
    const payload = randomBytes(32 * 1024 * 1024)
    const socket = net.connect({ host: LOOPBACK, port: link.port, allowHalfOpen: true })
    opened.push({ close: () => socket.destroy() })
    await once(socket, 'connect')
    socket.end(payload)
    // Nobody reads yet: the echo backs up into the emulator until every queue on the way is full.
    let forwarded = -1
    for (let i = 0; i < 100 && forwarded !== link.stats().bytesForwarded.up; i++) {
      forwarded = link.stats().bytesForwarded.up
      await sleep(50)
    }
    const stalled = link.stats()
    assert.ok(
      stalled.bytesForwarded.up < payload.length,
      'the transfer never stalled: backpressure did not reach the client',
    )
    assert.ok(stalled.peakQueueBytes >= maxQueueBytes, `queue never filled (peak ${stalled.peakQueueBytes})`)
    assert.ok(
      stalled.peakQueueBytes <= maxQueueBytes + stalled.largestReadBytes,
      `queue peaked at ${stalled.peakQueueBytes} bytes, bound ${maxQueueBytes} + one read chunk`,
    )
    assert.ok(stalled.largestReadBytes <= 1024 * 1024, `a read of ${stalled.largestReadBytes} bytes`)

    const chunks: Buffer[] = []
    socket.on('data', (chunk: Buffer) => chunks.push(chunk))
    assert.notEqual(
      await within(once(socket, 'end'), 10_000, 'timeout'),
      'timeout',
      'the echo did not end within 10 s',
    )
    assert.equal(sha256(Buffer.concat(chunks)), sha256(payload))
    assert.ok(link.stats().peakQueueBytes <= maxQueueBytes + link.stats().largestReadBytes)
  })
})
