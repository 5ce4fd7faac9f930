/**
 * A listener on Bun.listen. Plain TCP connections are handed over at accept; TLS ones once their
 * handshake is accepted, so a failed, refused or silent handshake never reaches the owner. Bun has
 * no handshake timeout (a client that sends nothing holds its socket forever), so the listener's
 * own sweep closes handshakes older than `handshakeTimeoutMs`.
 */
import type { TCPSocketListener, TCPSocketListenOptions } from 'bun'
import { ListenerBindError } from '../errors/listener.ts'
import { formatHostPort } from '../util/host-port.ts'
import { Connection, type ConnectionOrigin } from './connection.ts'
import { type BunSocket, DETACHED, type SocketEvents } from './events.ts'
import { connectionHandlers } from './handlers.ts'
import { IdleSweep } from './idle-sweep.ts'
import { acceptsClientHandshake, bunServerTls, type ServerTlsOptions } from './tls-options.ts'

export interface ListenOptions {
  /** Names the listener in errors. */
  readonly name: string
  readonly host: string
  /** 0: any free port; `Listener.port` says which. */
  readonly port: number
  /** SO_REUSEPORT: several processes bind the same port and the kernel spreads connections. */
  readonly reusePort?: boolean
  readonly tls?: ServerTlsOptions
  readonly handshakeTimeoutMs?: number
  /** Connections beyond this many open ones are closed at accept (FIN) and counted; 0: no limit. */
  readonly maxConnections?: number
  /**
   * Where to count. A listener bound anew for the same owner (an undrain, new TLS files) passes the
   * object of the one before: the connections of both count against one `maxConnections`.
   */
  readonly counters?: ListenerCounters
  /** Asked at TCP accept, before any TLS work is spent: false closes the connection (counted as refused). */
  readonly admit?: (conn: Connection) => boolean
  /** Told of every connection's close, handed over or not. */
  readonly closed?: (conn: Connection) => void
}

export interface ListenerCounters {
  /** Handed to the owner. */
  accepted: number
  /** Open now, handshakes under way included. */
  active: number
  /** Closed at accept: `maxConnections` were open, or `admit` refused it. */
  refused: number
  handshakeFailed: number
  handshakeTimedOut: number
}

export type AcceptHandler = (conn: Connection, listener: Listener) => void

export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000

export class Listener implements ConnectionOrigin {
  readonly name: string
  readonly host: string
  port: number
  maxConnections: number
  readonly counters: ListenerCounters
  closingAll = false
  readonly #onAccept: AcceptHandler
  readonly #admit: ((conn: Connection) => boolean) | undefined
  readonly #closed: ((conn: Connection) => void) | undefined
  readonly #requestCert: boolean
  /** The TLS handshake deadline. */
  readonly #handshakes: IdleSweep | undefined
  #bun: TCPSocketListener<unknown> | undefined = undefined

  constructor(options: ListenOptions, onAccept: AcceptHandler) {
    this.name = options.name
    this.host = options.host
    this.port = options.port
    this.maxConnections = options.maxConnections ?? 0
    this.counters = options.counters ?? newListenerCounters()
    this.#onAccept = onAccept
    this.#admit = options.admit
    this.#closed = options.closed
    this.#requestCert = options.tls?.requestCert === true
    this.#handshakes =
      options.tls === undefined
        ? undefined
        : new IdleSweep({ timeoutMs: options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS })
  }

  get address(): string {
    return formatHostPort(this.host, this.port)
  }

  /** Stops accepting; open connections live on. */
  stop(): void {
    this.#bun?.stop(false)
  }

  /** Stops accepting and closes every connection (FIN), handshakes under way included. */
  stopAll(): void {
    this.closingAll = true
    try {
      this.#bun?.stop(true)
    } finally {
      this.closingAll = false
      this.#handshakes?.clear()
    }
  }

  bind(options: ListenOptions): void {
    const tls = options.tls === undefined ? undefined : bunServerTls(`listener "${this.name}"`, options.tls)
    const bunOptions = {
      hostname: options.host,
      port: options.port,
      allowHalfOpen: true,
      // Bun's typings lack it, Bun.listen honours it.
      reusePort: options.reusePort === true,
      data: this,
      socket: tls === undefined ? PLAIN_ACCEPT : TLS_ACCEPT,
      ...(tls && { tls }),
    } as TCPSocketListenOptions<unknown>
    try {
      this.#bun = Bun.listen(bunOptions)
    } catch (err) {
      throw new ListenerBindError(this.name, this.address, err as NodeJS.ErrnoException)
    }
    this.port = this.#bun.port
  }

  accept(socket: BunSocket): void {
    if (this.maxConnections > 0 && this.counters.active >= this.maxConnections)
      return void this.#refuse(socket)
    const handshakes = this.#handshakes
    const conn = new Connection(socket, this, handshakes === undefined)
    if (this.#admit !== undefined && !this.#admit(conn)) return void this.#refuse(socket)
    this.counters.active++
    socket.data = conn
    if (handshakes === undefined) return void this.#handOver(conn)
    conn.watchIdle(handshakes)
  }

  handshake(conn: Connection, success: boolean): void {
    if (!acceptsClientHandshake(success, conn.authorized, this.#requestCert))
      return void this.#refuseHandshake(conn)
    conn.markReady()
    this.#handOver(conn)
  }

  lost(conn: Connection): void {
    this.counters.active--
    if (conn.closeCause === 'idle') this.counters.handshakeTimedOut++
    else if (!this.closingAll) this.counters.handshakeFailed++
    this.#closed?.(conn)
  }

  released(conn: Connection): void {
    this.counters.active--
    this.#closed?.(conn)
  }

  /**
   * Bun closes a failed handshake itself (the handshake sweep would, should it not). A client
   * refused for its certificate has finished its side of a TLS 1.3 handshake and believes itself
   * connected: it is reset, so that it cannot take the refusal for an orderly end.
   */
  #refuseHandshake(conn: Connection): void {
    // A handshake failing because we close it (its deadline, a stop) is no refusal.
    if (this.#requestCert && !conn.closing) conn.reset()
  }

  /** Closed, not reset, as a full server closes what it cannot serve: the client sees an orderly end. */
  #refuse(socket: BunSocket): void {
    this.counters.refused++
    socket.data = DETACHED
    socket.end()
  }

  #handOver(conn: Connection): void {
    this.counters.accepted++
    this.#onAccept(conn, this)
  }
}

export function newListenerCounters(): ListenerCounters {
  return { accepted: 0, active: 0, refused: 0, handshakeFailed: 0, handshakeTimedOut: 0 }
}

/** Binds now (a bind error throws `ListenerBindError`); `onAccept` gets each connection, ready. */
export function listen(options: ListenOptions, onAccept: AcceptHandler): Listener {
  const listener = new Listener(options, onAccept)
  listener.bind(options)
  return listener
}

function listenerOf(socket: BunSocket): Listener {
  // Bun gives every accepted socket the listener's `data` until its open handler replaces it.
  return socket.data as unknown as Listener
}

const PLAIN_ACCEPT = {
  ...connectionHandlers,
  open(socket: BunSocket) {
    listenerOf(socket).accept(socket)
  },
}

const TLS_ACCEPT = {
  ...PLAIN_ACCEPT,
  // With this handler, open comes at TCP accept; without it, open would come even for failed handshakes.
  handshake(socket: BunSocket, success: boolean, error: Error | null) {
    ;(socket.data as SocketEvents).onSocketHandshake(success, error)
  },
}
