/**
 * PeerManager: this node's view of the peers it lists. Per peer it keeps one outbound control
 * channel (probes → RTT, jitter, loss, up/down) and tells `onStateChange` when a link goes up or
 * down (the mesh's data connections follow it: mesh/peer-links.ts); it also answers the control
 * channels other nodes open to it (`acceptControl`).
 *
 * Each node measures only the peers it lists, over the channel it dialed: a peer that lists us
 * back measures us over its own channel, so every direction of a link has exactly one prober.
 */
import type { Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import type { Logger } from 'pino'
import type { MeshConfig, PeerConfig } from '../config/types.ts'
import { ControlRejectedError, PeerIdentityError } from '../errors/peer.ts'
import { peerAddress } from '../mesh/dial.ts'
import type { PeerTlsOptions } from '../mesh/peer-tls.ts'
import { ReplayCache } from '../mesh/security/replay-cache.ts'
import type { Clock } from '../util/clock.ts'
import type { PeerState, PeerStatus } from '../views/node-view.ts'
import { type AcceptContext, serveControl } from './accept.ts'
import { reconnectDelayMs } from './backoff.ts'
import { ControlChannel } from './channel.ts'
import { type Health, type HealthEvent, INITIAL_HEALTH, nextHealth } from './health.ts'
import { EMPTY_METRICS, type LinkMetrics, lossRatio, recordAnswered, recordUnanswered } from './measure.ts'
import { nextProbeDelayMs } from './probe-pace.ts'

/** Control hellos are a few per peer per reconnect: this is generous and still tiny. */
const CONTROL_REPLAY_CACHE_ENTRIES = 4096
/** Inbound channels idle this many probe intervals (at least the floor) are dead. */
const INBOUND_IDLE_INTERVALS = 10
const INBOUND_IDLE_FLOOR_MS = 5_000

export interface PeerManagerOptions {
  readonly nodeId: string
  readonly peers: readonly PeerConfig[]
  readonly mesh: MeshConfig
  readonly tls?: PeerTlsOptions
  /** Wall time: hello timestamps, replay windows, lastSeen. */
  readonly clock: Clock
  readonly logger: Logger
  /** Monotonic fractional milliseconds for RTTs; performance.now() unless a test pins it. */
  readonly monotonic?: Clock
  /** Jitter source for reconnect backoff, in [0, 1). */
  readonly random?: () => number
  /** Told when a link goes up or down. */
  readonly onStateChange?: (peer: string, state: PeerState) => void
  /** Told of an inbound control channel whose hello authenticated (the mesh port's limits). */
  readonly onInboundAuthenticated?: (socket: Socket) => void
}

interface PeerEntry {
  readonly config: PeerConfig
  readonly address: string
  health: Health
  metrics: LinkMetrics
  lastSeenMs?: number
  /** Channel failures since a probe was last answered: the backoff exponent. */
  failures: number
  channel?: ControlChannel
  reconnectTimer?: NodeJS.Timeout
  /** The last refusal logged, so a peer refusing every retry is logged once. */
  lastRefusal?: string
  /** The last throughput probe's rate (bytes per second) and when it was measured. */
  capacity?: { readonly bytesPerSecond: number; readonly at: number }
}

/** A probe's rate stands this long; then the link's capacity is unknown again (or as declared). */
export const CAPACITY_TTL_MS = 60 * 60_000

const monotonicClock: Clock = { now: () => performance.now() }

export class PeerManager {
  readonly #opts: PeerManagerOptions
  readonly #peers = new Map<string, PeerEntry>()
  readonly #inbound = new Set<Socket>()
  readonly #pending = new Set<Promise<unknown>>()
  readonly #abort = new AbortController()
  readonly #accept: AcceptContext
  #started = false
  #closed = false
  #closing: Promise<void> | undefined

  constructor(options: PeerManagerOptions) {
    this.#opts = options
    const mesh = options.mesh
    this.#accept = {
      nodeId: options.nodeId,
      token: mesh.token,
      replayCache: new ReplayCache({ maxEntries: CONTROL_REPLAY_CACHE_ENTRIES, clock: options.clock }),
      clock: options.clock,
      helloTimeoutMs: mesh.connectTimeoutMs,
      idleTimeoutMs: Math.max(INBOUND_IDLE_FLOOR_MS, mesh.probeIntervalMs * INBOUND_IDLE_INTERVALS),
      logger: options.logger,
      ...(options.onInboundAuthenticated && { authenticated: options.onInboundAuthenticated }),
    }
    for (const config of options.peers) this.#peers.set(config.name, this.#newEntry(config))
  }

  /** Opens a control channel to every peer. Idempotent. */
  start(): void {
    if (this.#started || this.#closed) return
    this.#started = true
    for (const entry of this.#peers.values()) this.#connect(entry)
  }

  /** Closes every channel, warm socket, inbound channel and timer; resolves when all are closed. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  /** Each peer's link as probed; the mesh adds the flows it carries. */
  status(): Omit<PeerStatus, 'activeFlows'>[] {
    return [...this.#peers.values()].map((e) => {
      const loss = lossRatio(e.metrics.outcomes)
      return {
        name: e.config.name,
        address: e.address,
        type: e.config.type,
        ...(e.config.region !== undefined && { region: e.config.region }),
        state: e.health.state,
        ...(e.metrics.rttMs !== undefined && { rttMs: round(e.metrics.rttMs) }),
        ...(e.metrics.jitterMs !== undefined && { jitterMs: round(e.metrics.jitterMs) }),
        ...(loss !== undefined && { loss }),
        ...(e.lastSeenMs !== undefined && { lastSeen: new Date(e.lastSeenMs).toISOString() }),
        ...this.#capacityOf(e),
      }
    })
  }

  /** A throughput probe of the link to `name` measured this rate. */
  recordCapacity(name: string, bytesPerSecond: number): void {
    const entry = this.#peers.get(name)
    if (entry) entry.capacity = { bytesPerSecond, at: this.#opts.clock.now() }
  }

  #capacityOf(e: PeerEntry): Pick<PeerStatus, 'throughputBps' | 'throughputMeasuredAt'> {
    const capacity = e.capacity
    if (capacity === undefined || this.#opts.clock.now() - capacity.at >= CAPACITY_TTL_MS) return {}
    return {
      throughputBps: Math.round(capacity.bytesPerSecond),
      throughputMeasuredAt: new Date(capacity.at).toISOString(),
    }
  }

  /** False for a peer that is down, not yet known, or not configured. */
  isUp(name: string): boolean {
    return this.#peers.get(name)?.health.state === 'up'
  }

  /** Undefined for a name that is not configured. */
  state(name: string): PeerState | undefined {
    return this.#peers.get(name)?.health.state
  }

  /** Serves a control channel another node opened to this one (kind 2 on mesh.bind). */
  acceptControl(socket: Socket, peerIdentity?: string): void {
    if (this.#closed) return void socket.destroy()
    this.#inbound.add(socket)
    socket.once('close', () => this.#inbound.delete(socket))
    serveControl(socket, this.#accept, peerIdentity)
  }

  #newEntry(config: PeerConfig): PeerEntry {
    const entry: PeerEntry = {
      config,
      address: peerAddress(config),
      health: INITIAL_HEALTH,
      metrics: EMPTY_METRICS,
      failures: 0,
    }
    return entry
  }

  #connect(entry: PeerEntry): void {
    const o = this.#opts
    const channel = new ControlChannel(
      {
        peer: entry.config,
        nodeId: o.nodeId,
        token: o.mesh.token,
        tls: o.tls,
        connectTimeoutMs: o.mesh.connectTimeoutMs,
        probeDelayMs: (outstanding) =>
          nextProbeDelayMs(entry.health, entry.metrics, o.mesh.probeIntervalMs, outstanding),
        probeTimeoutMs: o.mesh.probeTimeoutMs,
        clock: o.clock,
        monotonic: o.monotonic ?? monotonicClock,
      },
      {
        onAnswered: (rttMs) => this.#onAnswered(entry, rttMs),
        onUnanswered: () => this.#onUnanswered(entry),
        onDown: (reason, err) => this.#onChannelDown(entry, reason, err),
      },
    )
    entry.channel = channel
    this.#track(channel.finished)
  }

  #onAnswered(entry: PeerEntry, rttMs: number): void {
    entry.failures = 0
    entry.lastRefusal = undefined
    entry.metrics = recordAnswered(entry.metrics, rttMs)
    entry.lastSeenMs = this.#opts.clock.now()
    this.#apply(entry, { kind: 'answered' })
  }

  #onUnanswered(entry: PeerEntry): void {
    entry.metrics = recordUnanswered(entry.metrics)
    this.#apply(entry, { kind: 'unanswered' })
    // A channel whose probes all vanish may be stuck on a dead path: a new connection either
    // finds a working one or fails fast, where the old one would wait on TCP retransmits.
    if (entry.health.unansweredInRow >= this.#opts.mesh.probeFall) {
      entry.channel?.close()
      entry.channel = undefined
      this.#scheduleReconnect(entry)
    }
  }

  #onChannelDown(entry: PeerEntry, reason: string, err: Error | undefined): void {
    entry.channel = undefined
    const refused = err instanceof ControlRejectedError || err instanceof PeerIdentityError
    if (refused && reason !== entry.lastRefusal) {
      this.#opts.logger.warn({ peer: entry.config.name, err }, 'peer refused the control channel')
    }
    if (refused) entry.lastRefusal = reason
    this.#apply(entry, { kind: 'channel_down', reason })
    this.#scheduleReconnect(entry)
  }

  #apply(entry: PeerEntry, event: HealthEvent): void {
    const before = entry.health.state
    const step = nextHealth(entry.health, event, {
      rise: this.#opts.mesh.probeRise,
      fall: this.#opts.mesh.probeFall,
    })
    entry.health = step.health
    if (step.reason === undefined || this.#closed) return
    const state = step.health.state
    this.#opts.logger.info(
      { peer: entry.config.name, from: before, state, reason: step.reason },
      `peer ${state}`,
    )
    this.#opts.onStateChange?.(entry.config.name, state)
  }

  #scheduleReconnect(entry: PeerEntry): void {
    if (this.#closed || entry.reconnectTimer !== undefined) return
    const delay = reconnectDelayMs(entry.failures++, (this.#opts.random ?? Math.random)())
    entry.reconnectTimer = setTimeout(() => {
      entry.reconnectTimer = undefined
      if (!this.#closed) this.#connect(entry)
    }, delay)
  }

  #track<T>(p: Promise<T>): Promise<T> {
    const settled = p.then(
      () => undefined,
      () => undefined,
    )
    this.#pending.add(settled)
    void settled.then(() => this.#pending.delete(settled))
    return p
  }

  async #shutdown(): Promise<void> {
    this.#closed = true
    this.#abort.abort()
    const closing: Promise<unknown>[] = []
    for (const entry of this.#peers.values()) {
      clearTimeout(entry.reconnectTimer)
      entry.reconnectTimer = undefined
      entry.channel?.close()
      entry.channel = undefined
    }
    for (const socket of this.#inbound) {
      closing.push(closed(socket))
      socket.destroy()
    }
    await Promise.all([...closing, ...this.#pending])
  }
}

function closed(socket: Socket): Promise<void> {
  if (socket.closed) return Promise.resolve()
  return new Promise((resolve) => socket.once('close', () => resolve()))
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}
