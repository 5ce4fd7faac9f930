/**
 * Dials on Bun.connect, bounded by a timeout Bun cannot enforce: its dial ignores `timeout` and
 * `signal` and cannot be cancelled, so at the deadline the promise rejects, the attempt is marked
 * abandoned, and the socket is reset whenever Bun settles it (counted meanwhile: `abandoned-dials`).
 *
 * TLS dials resolve once the server's certificate is verified: Bun ignores `checkServerIdentity`
 * and calls `open` before the handshake, so the handshake handler checks the chain (`authorized`)
 * and the node id the certificate stands for here.
 */
import type { X509Certificate } from 'node:crypto'
import type { TCPSocketConnectOptions } from 'bun'
import { PkiPeerIdentityError } from '../errors/pki.ts'
import { SocketDialCapError, SocketTlsVerifyError } from '../errors/socket.ts'
import { UpstreamConnectError, UpstreamConnectTimeoutError } from '../errors/upstream.ts'
import { formatHostPort } from '../util/host-port.ts'
import { type AbandonedDials, abandonedDials } from './abandoned-dials.ts'
import { Connection, type ConnectionOrigin } from './connection.ts'
import { dialFailureReason } from './dial-failure.ts'
import { type BunSocket, DETACHED, type SocketEvents } from './events.ts'
import { reportFault } from './faults.ts'
import { connectionHandlers } from './handlers.ts'
import { peerNodeId } from './identity.ts'
import { bunClientTls, type ClientTlsOptions } from './tls-options.ts'

export interface DialOptions {
  /** For the TCP connect and the TLS handshake together. */
  readonly timeoutMs: number
  readonly tls?: ClientTlsOptions
  /** Where dials pending past their timeout are counted: the process's book unless a test says. */
  readonly abandoned?: AbandonedDials
}

/** Told once how a dial ended; `token` is what the caller passed to dial(). */
export interface DialWaiter<T> {
  connected(conn: Connection, token: T): void
  failed(error: Error, token: T): void
}

type DialState = 'dialing' | 'handshaking' | 'done' | 'abandoned'

/** One dial in progress: `socket.data` until the socket opens, then the origin of its handshake. */
class Dial implements ConnectionOrigin {
  readonly closingAll = false
  readonly host: string
  readonly port: number
  readonly timeoutMs: number
  readonly startedAt = performance.now()
  readonly tls: boolean
  readonly expectIdentity: string | undefined
  readonly refuseCertificate: ((cert: X509Certificate) => Error | undefined) | undefined
  readonly book: AbandonedDials
  readonly waiter: DialWaiter<unknown>
  readonly token: unknown
  readonly timer: ReturnType<typeof setTimeout>
  state: DialState = 'dialing'
  conn: Connection | undefined = undefined
  /** Why a handshake was refused, for the rejection when its socket closes. */
  failure: Error | undefined = undefined

  constructor(
    host: string,
    port: number,
    options: DialOptions,
    book: AbandonedDials,
    waiter: DialWaiter<unknown>,
    token: unknown,
  ) {
    this.host = host
    this.port = port
    this.timeoutMs = options.timeoutMs
    this.tls = options.tls !== undefined
    this.expectIdentity = options.tls?.expectIdentity
    this.refuseCertificate = options.tls?.refuseCertificate
    this.book = book
    this.waiter = waiter
    this.token = token
    this.timer = setTimeout(dialTimedOut, options.timeoutMs, this)
  }

  get target(): string {
    return formatHostPort(this.host, this.port)
  }

  opened(socket: BunSocket): void {
    if (this.state === 'abandoned') {
      this.book.settled()
      socket.data = DETACHED
      return void socket.terminate()
    }
    const conn = new Connection(socket, this.tls ? this : undefined, !this.tls)
    socket.data = conn
    if (!this.tls) return void this.#succeed(conn)
    this.state = 'handshaking'
    this.conn = conn
  }

  connectFailed(error: Error): void {
    if (this.state === 'abandoned') return void this.book.settled()
    const code = (error as NodeJS.ErrnoException).code
    const reason = dialFailureReason(code, performance.now() - this.startedAt)
    this.#fail(new UpstreamConnectError(this.target, reason, code ?? error.name, { cause: error }))
  }

  handshake(conn: Connection, _success: boolean, error: Error | null): void {
    if (this.state !== 'handshaking') return
    this.failure = this.#refusal(conn, error)
    if (this.failure !== undefined) return void conn.reset()
    conn.markReady()
    this.#succeed(conn)
  }

  lost(conn: Connection): void {
    if (this.state !== 'handshaking') return
    const code =
      (conn.closeError as NodeJS.ErrnoException | undefined)?.code ?? 'closed during the tls handshake'
    const reason = conn.closeCause === 'reset' ? 'reset' : 'other'
    this.#fail(
      this.failure ?? new UpstreamConnectError(this.target, reason, code, { cause: conn.closeError }),
    )
  }

  released(): void {}

  timedOut(): void {
    const timeout = new UpstreamConnectTimeoutError(this.target, this.timeoutMs)
    if (this.state === 'dialing') {
      this.state = 'abandoned'
      this.book.abandon()
      this.waiter.failed(timeout, this.token)
    } else if (this.state === 'handshaking') {
      this.#fail(timeout)
      this.conn?.reset()
    }
  }

  #refusal(conn: Connection, error: Error | null): Error | undefined {
    if (this.expectIdentity !== undefined) {
      const identity = peerNodeId(conn)
      if (identity !== this.expectIdentity) return new PkiPeerIdentityError(this.expectIdentity, identity)
    }
    if (!conn.authorized) {
      const cause = conn.socket.getAuthorizationError() ?? error
      const code = (cause as NodeJS.ErrnoException | null)?.code ?? 'unauthorized'
      return new SocketTlsVerifyError(this.target, code, { cause })
    }
    const cert = this.refuseCertificate === undefined ? undefined : conn.peerCertificate()
    return cert === undefined ? undefined : this.refuseCertificate?.(cert)
  }

  #succeed(conn: Connection): void {
    this.state = 'done'
    clearTimeout(this.timer)
    conn.origin = undefined
    this.waiter.connected(conn, this.token)
  }

  #fail(error: Error): void {
    this.state = 'done'
    clearTimeout(this.timer)
    this.waiter.failed(error, this.token)
  }
}

function dialTimedOut(dial: Dial): void {
  try {
    dial.timedOut()
  } catch (err) {
    // A waiter that throws in a timer would end the process.
    reportFault(err)
  }
}

function dialOf(socket: BunSocket): Dial {
  // `socket.data` is the Dial from Bun.connect until open replaces it.
  return socket.data as unknown as Dial
}

const DIAL_PLAIN = {
  ...connectionHandlers,
  open(socket: BunSocket) {
    dialOf(socket).opened(socket)
  },
  connectError(socket: BunSocket, error: Error) {
    dialOf(socket).connectFailed(error)
  },
}

const DIAL_TLS = {
  ...DIAL_PLAIN,
  handshake(socket: BunSocket, success: boolean, error: Error | null) {
    ;(socket.data as SocketEvents).onSocketHandshake(success, error)
  },
}

/**
 * Dials `host:port` with half-close on and tells `waiter` once: connected with a ready Connection
 * (TLS: verified), or failed with UpstreamConnectError, UpstreamConnectTimeoutError,
 * SocketDialCapError, SocketTlsVerifyError or PkiPeerIdentityError. The waiter is a shared object
 * and `token` the caller's per-dial state, so a dial allocates no closures.
 */
export function dial<T>(
  host: string,
  port: number,
  options: DialOptions,
  waiter: DialWaiter<T>,
  token: T,
): void {
  const book = options.abandoned ?? abandonedDials
  if (book.full)
    return void waiter.failed(new SocketDialCapError(formatHostPort(host, port), book.cap), token)
  const attempt = new Dial(host, port, options, book, waiter as DialWaiter<unknown>, token)
  const bunOptions = {
    hostname: host,
    port,
    allowHalfOpen: true,
    data: attempt,
    socket: attempt.tls ? DIAL_TLS : DIAL_PLAIN,
    ...(options.tls && { tls: bunClientTls(options.tls) }),
  } as unknown as TCPSocketConnectOptions<SocketEvents>
  try {
    // Failures come to connectError; the promise Bun returns adds nothing.
    void Bun.connect(bunOptions)
  } catch (err) {
    // Bad arguments (a port out of range) throw at once.
    attempt.connectFailed(err as Error)
  }
}

interface Settle {
  resolve(conn: Connection): void
  reject(error: Error): void
}

const SETTLE: DialWaiter<Settle> = {
  connected: (conn, settle) => settle.resolve(conn),
  failed: (error, settle) => settle.reject(error),
}

/** dial() as a promise, for callers off the accept path. */
export function connect(host: string, port: number, options: DialOptions): Promise<Connection> {
  const settle = Promise.withResolvers<Connection>()
  dial(host, port, options, SETTLE, settle)
  return settle.promise
}
