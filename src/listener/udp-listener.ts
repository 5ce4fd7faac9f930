/**
 * A UDP listener (`protocol: udp`): each client address is a session with its own socket to the
 * endpoint its route picked, so replies find their way back; a session ends after `idle_timeout`
 * without a datagram either way. Sessions beyond `max_connections` are refused, as are datagrams
 * no endpoint route takes. Datagrams are forwarded as they come: no buffering beyond the first
 * few sent while the session's socket connects.
 */
import dgram from 'node:dgram'
import { isIPv6 } from 'node:net'
import type { ListenerConfig } from '../config/types.ts'
import { ListenerBindError } from '../errors/index.ts'
import type { Logger } from '../log/logger.ts'
import { decide, type RouteTable } from '../route/index.ts'
import type { Clock } from '../util/clock.ts'
import { formatHostPort } from '../util/host-port.ts'
import type { DecisionSource, ListenerStatus } from '../views/node-view.ts'
import { type ListenerCounters, listenerStatus, newListenerCounters } from './tcp-listener.ts'
import { type UdpSessionEnd, udpAccessLogLine } from './udp-access-log.ts'

/** What a session needs of the route that took it. */
export interface DatagramRoute {
  readonly config: { readonly name: string }
  readonly matches: Record<DecisionSource, number>
  lease?(sourceIp: string): { address: string; host: string; port: number } | undefined
  release(endpoint: string): void
}

export interface UdpListenerDeps {
  readonly routes: { table(): RouteTable<DatagramRoute> }
  readonly clock: Clock
  /** Where each ended session's line goes; read per session, since a reload may turn it off. */
  readonly accessLog: { readonly accessLog: Logger | undefined }
}

const NOTHING_LIVE = { bytesIn: 0, bytesOut: 0 }

/** Datagrams a client sends before its session's socket is connected; later ones are dropped. */
const MAX_PENDING_DATAGRAMS = 64

interface Session {
  readonly key: string
  readonly clientAddress: string
  readonly clientPort: number
  readonly route: DatagramRoute
  readonly target: string
  readonly upstream: dgram.Socket
  readonly startedAt: number
  lastSeen: number
  bytesIn: number
  bytesOut: number
  pending: Buffer[] | undefined
}

export class UdpListener {
  config: ListenerConfig
  readonly name: string
  idleTimeoutMs: number
  // Datagrams are counted as they pass (closedBytes*): a session has no live byte count to add later.
  readonly counters: ListenerCounters = newListenerCounters()
  state: ListenerStatus['state'] | 'idle' = 'idle'
  port: number
  readonly #deps: UdpListenerDeps
  readonly #socket: dgram.Socket
  readonly #reusePort: boolean
  readonly #sessions = new Map<string, Session>()
  #sweeper: NodeJS.Timeout | undefined
  #bound = false

  constructor(config: ListenerConfig, deps: UdpListenerDeps, reusePort = false) {
    this.config = config
    this.name = config.name
    this.idleTimeoutMs = config.idleTimeoutMs
    this.port = config.bind.port
    this.#deps = deps
    this.#reusePort = reusePort
    this.#socket = dgram.createSocket({
      type: isIPv6(config.bind.host) ? 'udp6' : 'udp4',
      reuseAddr: false,
      ...(reusePort && { reusePort: true }),
    })
    this.#socket.on('message', (msg, rinfo) => this.#onDatagram(msg, rinfo))
  }

  get address(): string {
    return formatHostPort(this.config.bind.host, this.port)
  }

  listen(): Promise<void> {
    const { host, port } = this.config.bind
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.state = 'closed'
        reject(new ListenerBindError(this.name, formatHostPort(host, port), err))
      }
      this.#socket.once('error', onError)
      this.#socket.bind({ address: host, port, exclusive: !this.#reusePort }, () => {
        this.#socket.off('error', onError)
        // A send to a client that is gone (ICMP unreachable) must not end the listener.
        this.#socket.on('error', () => {})
        this.port = this.#socket.address().port
        this.#bound = true
        this.state = 'listening'
        this.#sweeper = setInterval(() => this.#sweep(), sweepIntervalMs(this.idleTimeoutMs))
        this.#sweeper.unref()
        resolve()
      })
    })
  }

  async refreshTls(): Promise<void> {}

  update(config: ListenerConfig): void {
    this.config = config
    this.idleTimeoutMs = config.idleTimeoutMs
  }

  /** New clients are refused; sessions already open go on until they idle out. */
  stopAccepting(): void {
    if (this.state === 'listening') this.state = 'draining'
  }

  /** After stopAccepting() (a drain): new clients are served again; the socket never closed. */
  async resumeAccepting(): Promise<void> {
    if (this.state === 'draining') this.state = 'listening'
  }

  markClosed(): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    clearInterval(this.#sweeper)
    for (const session of [...this.#sessions.values()]) this.#end(session, 'closed')
    if (this.#bound) this.#socket.close()
    this.#bound = false
  }

  get activeSessions(): number {
    return this.#sessions.size
  }

  /** The live-bytes argument TCP listeners take does not apply: datagrams are counted as they pass. */
  status(_live?: unknown): ListenerStatus {
    return listenerStatus(this, NOTHING_LIVE)
  }

  #onDatagram(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address}|${rinfo.port}`
    const session = this.#sessions.get(key) ?? this.#open(key, rinfo)
    if (session === undefined) return
    session.lastSeen = this.#deps.clock.now()
    session.bytesIn += msg.length
    this.counters.closedBytesIn += msg.length
    if (session.pending === undefined) session.upstream.send(msg)
    else if (session.pending.length < MAX_PENDING_DATAGRAMS) session.pending.push(msg)
  }

  #open(key: string, rinfo: dgram.RemoteInfo): Session | undefined {
    if (this.state !== 'listening') {
      this.counters.rejected.draining++
      return undefined
    }
    if (this.#sessions.size >= this.config.maxConnections) {
      this.counters.rejected.max_connections++
      return undefined
    }
    const decision = decide(
      { listener: this.name, localPort: this.port, sourceIp: rinfo.address },
      this.#deps.routes.table(),
    )
    const endpoint = decision.kind === 'reject' ? undefined : decision.handler.lease?.(rinfo.address)
    if (decision.kind === 'reject' || endpoint === undefined) {
      this.counters.rejected.no_route++
      return undefined
    }
    decision.handler.matches[decision.source]++
    const now = this.#deps.clock.now()
    const session: Session = {
      key,
      clientAddress: rinfo.address,
      clientPort: rinfo.port,
      route: decision.handler,
      target: endpoint.address,
      upstream: dgram.createSocket(isIPv6(endpoint.host) ? 'udp6' : 'udp4'),
      startedAt: now,
      lastSeen: now,
      bytesIn: 0,
      bytesOut: 0,
      pending: [],
    }
    this.#sessions.set(key, session)
    this.counters.active++
    this.counters.total++
    this.#connect(session, endpoint.host, endpoint.port)
    return session
  }

  #connect(session: Session, host: string, port: number): void {
    const { upstream } = session
    upstream.on('message', (reply) => {
      session.lastSeen = this.#deps.clock.now()
      session.bytesOut += reply.length
      this.counters.closedBytesOut += reply.length
      this.#socket.send(reply, session.clientPort, session.clientAddress)
    })
    upstream.on('error', (err) => this.#end(session, 'upstream_error', err))
    upstream.connect(port, host, () => {
      const pending = session.pending ?? []
      session.pending = undefined
      for (const msg of pending) upstream.send(msg)
    })
  }

  #sweep(): void {
    const idleSince = this.#deps.clock.now() - this.idleTimeoutMs
    for (const session of this.#sessions.values()) {
      if (session.lastSeen <= idleSince) this.#end(session, 'idle_timeout')
    }
  }

  #end(session: Session, reason: UdpSessionEnd['reason'], error?: Error): void {
    if (!this.#sessions.delete(session.key)) return
    this.counters.active--
    session.upstream.close()
    session.route.release(session.target)
    this.#deps.accessLog.accessLog?.info(
      udpAccessLogLine({
        listener: this.name,
        source: formatHostPort(session.clientAddress, session.clientPort),
        route: session.route.config.name,
        target: session.target,
        bytesIn: session.bytesIn,
        bytesOut: session.bytesOut,
        durationMs: this.#deps.clock.now() - session.startedAt,
        reason,
        ...(error && { error: error.message }),
      }),
      'session closed',
    )
  }
}

/** Idle sessions are found by a sweep, not a timer per session: a quarter of the timeout, 0.1–5 s. */
export function sweepIntervalMs(idleTimeoutMs: number): number {
  return Math.min(5000, Math.max(100, Math.floor(idleTimeoutMs / 4)))
}
