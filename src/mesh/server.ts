/**
 * The mesh port (`mesh.bind`): where peers open data connections and control channels. With
 * `mesh.tls` it speaks only TLS and requires a client certificate from the mesh's CA; the
 * certificate's node id is handed on as the connection's identity. Each connection's first bytes
 * say what it is; anything else is closed.
 *
 * Until a connection has authenticated (its TLS handshake, or its header's or hello's token MAC:
 * the handler calls `authenticated`), it counts against `mesh.max_unauthenticated` and
 * `max_unauthenticated_per_source` (unauthenticated.ts), counted from TCP accept on, before any
 * TLS work is spent on it.
 */
import type { HostPort } from '../config/types.ts'
import type { Logger } from '../log/logger.ts'
import type { Connection } from '../socket/connection.ts'
import { peerNodeId } from '../socket/identity.ts'
import {
  type ListenerCounters as AcceptCounters,
  Listener,
  type ListenOptions,
  newListenerCounters as newAcceptCounters,
} from '../socket/listen.ts'
import type { ServerTlsOptions } from '../socket/tls-options.ts'
import { formatHostPort } from '../util/host-port.ts'
import { UnauthenticatedConnections, type UnauthenticatedLimits } from './security/unauthenticated.ts'
import { KIND_OPEN, MESH_MAGIC } from './wire/constants.ts'
import { KIND_CONTROL } from './wire/control.ts'
import { PREFIX_BYTES, peekPrefix } from './wire/peek.ts'

/** How long a new connection may stay silent: longer than a warm pool keeps one idle. */
export const FIRST_BYTES_TIMEOUT_MS = 15_000
/** A flood is logged at warn at most this often; each refused connection is logged at debug. */
const FLOOD_WARNING_INTERVAL_MS = 60_000

export type MeshConnectionHandler = (conn: Connection, identity: string | undefined) => void

export interface MeshServerOptions {
  readonly bind: HostPort
  readonly reusePort: boolean
  /** mTLS: a client certificate from the mesh CA is required (`requestCert`). */
  readonly tls?: ServerTlsOptions
  readonly handshakeTimeoutMs?: number
  /**
   * With tls and a revocation list: refuses a peer whose certificate verified; undefined admits it.
   * Only then are certified connections kept, for a new list to close.
   */
  readonly refusePeer?: (conn: Connection) => Error | undefined
  readonly limits: UnauthenticatedLimits
  readonly onOpen: MeshConnectionHandler
  readonly onControl: MeshConnectionHandler
  readonly logger: Logger
  readonly now: () => number
}

export class MeshServer {
  readonly #options: MeshServerOptions
  readonly #unauthenticated: UnauthenticatedConnections<Connection>
  /** Counted across every socket the port binds (it binds anew after a drain). */
  readonly #accepts: AcceptCounters = newAcceptCounters()
  #socket: Listener | undefined = undefined
  #lastFloodWarning = Number.NEGATIVE_INFINITY
  #lastRevokedWarning = Number.NEGATIVE_INFINITY
  /** Refused after accept: garbage, wrong protocol, silence, pushed out by newer ones. */
  #refused = 0
  /** Open connections that came with a certificate: a new revocation list may close some. */
  readonly #certified = new Set<Connection>()
  port: number

  constructor(options: MeshServerOptions) {
    this.#options = options
    this.port = options.bind.port
    this.#unauthenticated = new UnauthenticatedConnections(options.limits)
  }

  get address(): string {
    return formatHostPort(this.#options.bind.host, this.port)
  }

  /**
   * Connections closed before they said what they were: garbage, wrong protocol, silence, over a
   * limit, a failed or timed-out TLS handshake.
   */
  get rejected(): number {
    const a = this.#accepts
    return this.#refused + a.refused + a.handshakeFailed + a.handshakeTimedOut
  }

  /** Unauthenticated connections held now. */
  get unauthenticated(): number {
    return this.#unauthenticated.size
  }

  /** The connection proved who it is: it no longer counts against the unauthenticated limits. */
  authenticated(conn: Connection): void {
    this.#unauthenticated.release(conn)
  }

  /** Binds the configured port; after close() (a drain), the port it had, so peers find it again. */
  async listen(): Promise<void> {
    const options = this.#listenOptions()
    const socket = new Listener(options, (conn) => void this.#accept(conn))
    socket.bind(options)
    this.#socket = socket
    this.port = socket.port
  }

  /** Stops accepting and closes every connection it still holds (flows, control channels, pending headers). */
  close(): void {
    this.#socket?.stopAll()
    this.#socket = undefined
  }

  #listenOptions(): ListenOptions {
    const { bind, tls, handshakeTimeoutMs } = this.#options
    return {
      name: 'mesh',
      host: bind.host,
      port: this.port,
      reusePort: this.#options.reusePort,
      counters: this.#accepts,
      ...(tls && { tls }),
      ...(handshakeTimeoutMs !== undefined && { handshakeTimeoutMs }),
      admit: (conn) => this.#admit(conn),
      closed: (conn) => {
        this.#unauthenticated.release(conn)
        this.#certified.delete(conn)
      },
    }
  }

  /** Counts a new TCP connection in; refuses it, or pushes out the oldest unauthenticated one, over a limit. */
  #admit(conn: Connection): boolean {
    const source = conn.remoteAddress ?? ''
    const admission = this.#unauthenticated.admit(conn, source)
    if (!admission.admitted) {
      this.#warnFlood('mesh.max_unauthenticated_per_source', source)
      return false
    }
    const evicted = admission.evicted
    if (evicted !== undefined) {
      this.#warnFlood('mesh.max_unauthenticated', evicted.remoteAddress ?? '')
      // One still in its TLS handshake is counted as a failed handshake when it closes.
      if (evicted.ready) this.#refused++
      evicted.closeNow()
    }
    return true
  }

  #warnFlood(limit: string, source: string): void {
    this.#options.logger.debug({ peer: source, limit }, 'mesh connection refused: too many unauthenticated')
    const now = this.#options.now()
    if (now - this.#lastFloodWarning < FLOOD_WARNING_INTERVAL_MS) return
    this.#lastFloodWarning = now
    this.#options.logger.warn(
      { limit, source, held: this.#unauthenticated.size, rejected: this.rejected + 1 },
      'mesh port: unauthenticated connections over a limit are being closed (a flood, or a limit below what real peers need)',
    )
  }

  async #accept(conn: Connection): Promise<void> {
    // Past a TLS handshake, the certificate the mesh CA signed is proof enough.
    const identity = this.#options.tls === undefined ? undefined : peerNodeId(conn)
    if (this.#options.tls !== undefined) {
      const revoked = this.#options.refusePeer?.(conn)
      if (revoked !== undefined) return this.#refuseRevoked(conn, revoked)
      this.authenticated(conn)
      if (this.#options.refusePeer !== undefined) this.#certified.add(conn)
    }
    let prefix: Buffer
    try {
      prefix = await peekPrefix(conn, FIRST_BYTES_TIMEOUT_MS)
    } catch {
      this.#refuse(conn, 'closed or silent before its first bytes')
      return
    }
    if (!prefix.subarray(0, MESH_MAGIC.length).equals(MESH_MAGIC) || prefix.length < PREFIX_BYTES) {
      this.#refuse(conn, 'not the mesh protocol')
      return
    }
    const kind = prefix[5]
    if (kind === KIND_OPEN) this.#options.onOpen(conn, identity)
    else if (kind === KIND_CONTROL) this.#options.onControl(conn, identity)
    else this.#refuse(conn, `unknown connection kind ${kind}`)
  }

  /** Closes the open connections whose certificate is refused now (a new revocation list); returns how many. */
  closeRefused(): number {
    let closed = 0
    for (const conn of this.#certified) {
      const revoked = this.#options.refusePeer?.(conn)
      if (revoked === undefined) continue
      this.#certified.delete(conn)
      this.#refuse(conn, revoked.message)
      closed++
    }
    return closed
  }

  /** Each at debug, like any refusal; at warn at most once a minute, since anyone may retry at will. */
  #refuseRevoked(conn: Connection, revoked: Error): void {
    this.#refuse(conn, revoked.message)
    const now = this.#options.now()
    if (now - this.#lastRevokedWarning < FLOOD_WARNING_INTERVAL_MS) return
    this.#lastRevokedWarning = now
    this.#options.logger.warn({ err: revoked }, 'mesh connection refused: its certificate is revoked')
  }

  #refuse(conn: Connection, why: string): void {
    // Closed by this node already: pushed out over a limit (and counted then), or the port stopped.
    if (conn.closeCause === 'local') return
    const { remoteAddress, remotePort } = conn.addresses()
    conn.closeNow()
    this.#refused++
    this.#options.logger.debug({ peer: `${remoteAddress}:${remotePort}`, why }, 'mesh connection refused')
  }
}
