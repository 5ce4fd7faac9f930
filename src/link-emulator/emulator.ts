/**
 * A userspace TCP relay on loopback that emulates a WAN link between two nodes: put it between a
 * node and its peer to add one-way delay and jitter, cap the rate, or cut the link (blackhole or
 * reset) and restore it. Each accepted connection opens one connection to the target.
 *
 *   client ──▶ [emulator] ── up lane (delay, jitter, rate) ──▶ target
 *   client ◀── [emulator] ◀── down lane (delay, jitter, rate) ── target
 *
 * Both lanes are shared by every connection, like one physical link: the rate cap is per direction
 * per link, and a round trip through the link takes 2 × delayMs plus the serialisation time.
 */
import { once } from 'node:events'
import net from 'node:net'
import { performance } from 'node:perf_hooks'
import { LinkEmulatorListenError } from '../errors/link-emulator.ts'
import type { Clock } from '../util/clock.ts'
import {
  type DirectionName,
  LinkConnection,
  type LinkContext,
  type LinkCounters,
  resetSocket,
} from './connection.ts'
import { Lane } from './lane.ts'
import {
  applyShapeUpdate,
  DEFAULT_MAX_QUEUE_BYTES,
  type LinkShapeUpdate,
  validateMaxQueueBytes,
  validatePort,
} from './options.ts'
import type { LinkShape } from './schedule.ts'

export type { LinkShapeUpdate } from './options.ts'

export interface LinkEmulatorOptions extends LinkShapeUpdate {
  readonly target: { readonly host: string; readonly port: number }
  /** Where the emulator listens; 127.0.0.1 unless told otherwise. */
  readonly host?: string
  /** 0 (the default) lets the system pick a free port. */
  readonly port?: number
  /** Per connection and direction: bytes queued in the link before the source is paused. */
  readonly maxQueueBytes?: number
}

export interface LinkEmulatorStats {
  /** Connections open now. */
  readonly connections: number
  /** Connections accepted since start, including those refused or left silent. */
  readonly accepted: number
  /** Bytes written to the far side: `up` is client → target, `down` is target → client. */
  readonly bytesForwarded: { readonly up: number; readonly down: number }
  /** Bytes lost to blackhole(), reset() or a torn-down connection. */
  readonly dropped: number
  /** The largest queue any one connection direction has held: maxQueueBytes plus one read at most. */
  readonly peakQueueBytes: number
  /** The largest chunk one socket read returned (64 KiB on Node, up to 512 KiB on Bun). */
  readonly largestReadBytes: number
}

export interface LinkEmulator {
  readonly port: number
  readonly host: string
  /** `host:port`, with IPv6 hosts in brackets. */
  readonly address: string
  /** Changes the shape for bytes that enter the link from now on; bytes in flight keep theirs. */
  set(update: LinkShapeUpdate): void
  /**
   * The link goes silent: bytes in flight and new bytes are dropped, connections stay open, new
   * connections are accepted but never answered or forwarded. FINs are held until restore(), as
   * TCP would retransmit them.
   */
  blackhole(): void
  /**
   * The link is cut as TCP sees a dead router: nothing crosses either way, but nothing is lost.
   * Bytes in flight and new bytes wait (TCP would retransmit them) and arrive in order after
   * restore(); a connection opened meanwhile reaches the target only then. Sources are paused at
   * maxQueueBytes, as a full send window stops a sender.
   */
  partition(): void
  /** Resets every current connection (RST on both sides) and refuses new ones with an RST. */
  reset(): void
  /**
   * Forwards new bytes and connections again. Connections accepted during a blackhole were never
   * seen by the target, so they are reset, as a host answers segments of an unknown connection;
   * after a partition, what waited is delivered and waiting connections are opened.
   */
  restore(): void
  stats(): LinkEmulatorStats
  /** Destroys every connection and stops listening; leaves no handle behind. Idempotent. */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

type Mode = 'forward' | 'blackhole' | 'partition' | 'reset'

/** Chunk release times need sub-millisecond, monotonic time: wall-clock steps would reorder them. */
const monotonicClock: Clock = { now: () => performance.now() }

export async function startLinkEmulator(options: LinkEmulatorOptions): Promise<LinkEmulator> {
  const target = { host: options.target.host, port: validatePort('target.port', options.target.port) }
  const host = options.host ?? '127.0.0.1'
  let shape: LinkShape = applyShapeUpdate(
    { delayMs: 0, jitterMs: 0, rateBytesPerSec: Number.POSITIVE_INFINITY },
    options,
  )
  let mode: Mode = 'forward'
  let accepted = 0
  const connections = new Set<LinkConnection>()
  const silent = new Set<net.Socket>()
  /** Accepted during a partition: paused, connected onward at restore(). */
  const waiting = new Set<net.Socket>()
  const counters: LinkCounters = {
    forwarded: { up: 0, down: 0 },
    dropped: 0,
    peakQueueBytes: 0,
    largestReadBytes: 0,
  }
  const lanes: Record<DirectionName, Lane> = {
    up: new Lane(monotonicClock, () => shape),
    down: new Lane(monotonicClock, () => shape),
  }
  const ctx: LinkContext = {
    maxQueueBytes: validateMaxQueueBytes(options.maxQueueBytes ?? DEFAULT_MAX_QUEUE_BYTES),
    lanes,
    counters,
    isBlackholed: () => mode === 'blackhole',
    onClosed: (connection) => connections.delete(connection),
  }

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    accepted++
    client.on('error', () => client.destroy())
    if (mode === 'reset') return void resetSocket(client)
    if (mode === 'blackhole') return void keepSilent(client)
    if (mode === 'partition') return void keepWaiting(client)
    forward(client)
  })

  function forward(client: net.Socket): void {
    const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true })
    connections.add(new LinkConnection(ctx, client, upstream))
  }

  function keepWaiting(client: net.Socket): void {
    client.pause()
    waiting.add(client)
    client.once('close', () => waiting.delete(client))
  }

  function connectWaiting(): void {
    for (const client of [...waiting]) {
      waiting.delete(client)
      if (client.destroyed) continue
      forward(client)
      client.resume()
    }
  }

  function keepSilent(client: net.Socket): void {
    silent.add(client)
    client.on('data', (chunk: Buffer) => {
      counters.dropped += chunk.length
    })
    client.on('close', () => silent.delete(client))
  }

  function releaseLanes(): void {
    for (const lane of Object.values(lanes)) lane.release()
  }

  function dropInFlight(): void {
    for (const lane of Object.values(lanes)) {
      for (const entry of lane.clear()) entry.sink.lost(entry.chunk)
    }
  }

  function closeAll(reset: boolean): void {
    for (const connection of [...connections]) connection.teardown(reset)
    for (const client of [...silent, ...waiting]) {
      if (reset) resetSocket(client)
      else client.destroy()
    }
    silent.clear()
    waiting.clear()
  }

  const port = await listen(server, host, options.port === undefined ? 0 : validatePort('port', options.port))
  let closing: Promise<void> | undefined

  const close = (): Promise<void> => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      closeAll(false)
      for (const lane of Object.values(lanes)) lane.close()
      await closed
    })()
    return closing
  }

  return {
    port,
    host,
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    set(update) {
      shape = applyShapeUpdate(shape, update)
    },
    blackhole() {
      releaseLanes()
      mode = 'blackhole'
      dropInFlight()
    },
    partition() {
      if (mode !== 'forward') return
      mode = 'partition'
      for (const lane of Object.values(lanes)) lane.hold()
    },
    reset() {
      releaseLanes()
      mode = 'reset'
      dropInFlight()
      closeAll(true)
    },
    restore() {
      const was = mode
      mode = 'forward'
      if (was === 'partition') {
        releaseLanes()
        connectWaiting()
        return
      }
      if (was !== 'blackhole') return
      for (const client of [...silent]) resetSocket(client)
      silent.clear()
      for (const connection of connections) connection.releaseHeldFins()
    },
    stats() {
      return {
        connections: connections.size + silent.size + waiting.size,
        accepted,
        bytesForwarded: { up: counters.forwarded.up, down: counters.forwarded.down },
        dropped: counters.dropped,
        peakQueueBytes: counters.peakQueueBytes,
        largestReadBytes: counters.largestReadBytes,
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}

async function listen(server: net.Server, host: string, port: number): Promise<number> {
  server.listen(port, host)
  try {
    await once(server, 'listening')
  } catch (err) {
    const errno = (err as NodeJS.ErrnoException).code ?? 'unknown error'
    throw new LinkEmulatorListenError(`${host}:${port}`, errno, { cause: err })
  }
  return (server.address() as net.AddressInfo).port
}
