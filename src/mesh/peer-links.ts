/**
 * The data connections to each peer: a warm pool of pre-connected (and TLS-handshaken) ones, a
 * fresh dial when the pool is empty, and the count of flows carried. Routes and the relay role dial
 * here; the peer manager (peer/) tells it when a link goes up or down, so that a pool fills only
 * while its peer is up and the routes see each link's state without asking peer/ per flow.
 */
import type { Socket } from 'node:net'
import type { Logger } from 'pino'
import type { MeshConfig, PeerConfig } from '../config/types.ts'
import { PeerDialError, PeerUnknownError } from '../errors/peer.ts'
import type { PeerState } from '../views/node-view.ts'
import { dialPeer, peerAddress } from './dial.ts'
import type { PeerTlsOptions } from './peer-tls.ts'
import { WarmPool, type WarmPoolStats } from './warm-pool.ts'

export interface PeerLinksOptions {
  readonly peers: readonly PeerConfig[]
  readonly mesh: MeshConfig
  readonly tls?: PeerTlsOptions
  readonly logger: Logger
}

interface Link {
  readonly config: PeerConfig
  readonly address: string
  readonly pool: WarmPool
  state: PeerState
  activeFlows: number
}

export class PeerLinks {
  readonly #opts: PeerLinksOptions
  readonly #links = new Map<string, Link>()
  readonly #pending = new Set<Promise<unknown>>()
  readonly #abort = new AbortController()
  #closed = false
  #closing: Promise<void> | undefined

  constructor(options: PeerLinksOptions) {
    this.#opts = options
    for (const config of options.peers) this.#links.set(config.name, this.#newLink(config))
  }

  /** The link to `name` went up or down: its pool fills, or is emptied. */
  setState(name: string, state: PeerState): void {
    const link = this.#links.get(name)
    if (link === undefined || this.#closed) return
    link.state = state
    if (state === 'up') link.pool.fill()
    else link.pool.clear()
  }

  /** Undefined for a name that is not configured. */
  state(name: string): PeerState | undefined {
    return this.#links.get(name)?.state
  }

  flowStarted(name: string): void {
    const link = this.#links.get(name)
    if (link) link.activeFlows++
  }

  flowEnded(name: string): void {
    const link = this.#links.get(name)
    if (link && link.activeFlows > 0) link.activeFlows--
  }

  activeFlows(name: string): number {
    return this.#links.get(name)?.activeFlows ?? 0
  }

  warmStats(name: string): WarmPoolStats | undefined {
    return this.#links.get(name)?.pool.stats()
  }

  /**
   * A connected data connection to `name`: a warm one when the pool has one alive, else a fresh
   * dial. The socket carries no listener of ours: add an 'error' listener at once.
   */
  async dial(name: string): Promise<Socket> {
    const link = this.#links.get(name)
    if (link === undefined) throw new PeerUnknownError(name, [...this.#links.keys()])
    if (this.#closed) throw new PeerDialError(name, link.address, 'the mesh is closed')
    const warm = link.pool.take()
    if (link.state === 'up') link.pool.fill()
    return warm ?? this.#track(this.#dialData(link.config))
  }

  /** Closes every warm connection and aborts dials in progress; resolves when all are closed. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown()
    return this.#closing
  }

  #newLink(config: PeerConfig): Link {
    const mesh = this.#opts.mesh
    return {
      config,
      address: peerAddress(config),
      state: 'unknown',
      activeFlows: 0,
      pool: new WarmPool({
        size: mesh.warmConnections,
        idleTimeoutMs: mesh.warmIdleTimeoutMs,
        open: () => this.#track(this.#dialData(config)),
        onOpenError: (err) => this.#opts.logger.debug({ peer: config.name, err }, 'warm connection failed'),
      }),
    }
  }

  #dialData(peer: PeerConfig): Promise<Socket> {
    return dialPeer({
      peer,
      tls: this.#opts.tls,
      timeoutMs: this.#opts.mesh.connectTimeoutMs,
      signal: this.#abort.signal,
    })
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
    for (const link of this.#links.values()) closing.push(...link.pool.clear().map(closed))
    await Promise.all([...closing, ...this.#pending])
  }
}

function closed(socket: Socket): Promise<void> {
  if (socket.closed) return Promise.resolve()
  return new Promise((resolve) => socket.once('close', () => resolve()))
}
