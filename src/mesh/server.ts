/**
 * The mesh port (`mesh.bind`): where peers open data connections and control channels. With
 * `mesh.tls` it speaks only TLS and requires a client certificate from the mesh's CA; the
 * certificate's node id is handed on as the connection's identity. Each connection's first bytes
 * say what it is; anything else is closed.
 *
 * Until a connection has authenticated (its TLS handshake, or its header's or hello's token MAC:
 * the handler calls `authenticated`), it counts against `mesh.max_unauthenticated` and
 * `max_unauthenticated_per_source` (unauthenticated.ts), counted on its TCP socket from accept on,
 * before any TLS work is spent on it.
 */
import net from 'node:net'
import tls from 'node:tls'
import type { HostPort } from '../config/types.ts'
import { ListenerBindError } from '../errors/index.ts'
import type { Logger } from '../log/logger.ts'
import { nodeIdentityOf } from '../pki/identity.ts'
import { formatHostPort } from '../util/host-port.ts'
import { tcpSocketOf } from '../util/tcp-socket.ts'
import { UnauthenticatedConnections, type UnauthenticatedLimits } from './security/unauthenticated.ts'
import { KIND_OPEN, MESH_MAGIC } from './wire/constants.ts'
import { KIND_CONTROL } from './wire/control.ts'
import { PREFIX_BYTES, peekPrefix } from './wire/peek.ts'

/** How long a new connection may stay silent: longer than a warm pool keeps one idle. */
export const FIRST_BYTES_TIMEOUT_MS = 15_000
/** A flood is logged at warn at most this often; each refused connection is logged at debug. */
const FLOOD_WARNING_INTERVAL_MS = 60_000

export type MeshConnectionHandler = (socket: net.Socket, identity: string | undefined) => void

export interface MeshServerOptions {
  readonly bind: HostPort
  readonly reusePort: boolean
  readonly tls?: tls.TlsOptions
  readonly limits: UnauthenticatedLimits
  readonly onOpen: MeshConnectionHandler
  readonly onControl: MeshConnectionHandler
  readonly logger: Logger
  readonly now: () => number
}

/** Set on a TCP socket this server closed itself, so that its TLS error is not counted again. */
const kRefused = Symbol('dynproxy.mesh.refused')
type TcpSocket = net.Socket & { [kRefused]?: true }

export class MeshServer {
  readonly #options: MeshServerOptions
  readonly #server: net.Server
  readonly #sockets = new Set<net.Socket>()
  readonly #unauthenticated: UnauthenticatedConnections<net.Socket>
  /** One 'close' listener for every connection: it needs no state of its own. */
  readonly #onClose: (this: net.Socket) => void
  #lastFloodWarning = Number.NEGATIVE_INFINITY
  /** Connections closed before they said what they were: garbage, wrong protocol, silence, over a limit. */
  rejected = 0
  port: number

  constructor(options: MeshServerOptions) {
    this.#options = options
    this.port = options.bind.port
    this.#unauthenticated = new UnauthenticatedConnections(options.limits)
    const sockets = this.#sockets
    const unauthenticated = this.#unauthenticated
    this.#onClose = function (this: net.Socket) {
      sockets.delete(this)
      unauthenticated.release(tcpSocketOf(this))
    }
    if (options.tls) {
      const server = tls.createServer({ ...options.tls, allowHalfOpen: true }, (socket) => {
        // Node lets only a handshake with a certificate the mesh CA signed get this far.
        this.authenticated(socket)
        void this.#accept(socket)
      })
      // Before Node wraps it: a connection over a limit costs no TLS work.
      server.prependListener('connection', (socket: net.Socket) => this.#admit(socket))
      // A failed TLS handshake (no or wrong client certificate, a client gone or silent past the
      // handshake timeout) never reaches accept: count it, and close it (Node leaves that to us).
      server.on('tlsClientError', (_err, socket) => {
        if ((tcpSocketOf(socket) as TcpSocket)[kRefused] !== true) this.rejected++
        socket.destroy()
      })
      this.#server = server
    } else {
      this.#server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
        if (this.#admit(socket)) void this.#accept(socket)
      })
    }
  }

  get address(): string {
    return formatHostPort(this.#options.bind.host, this.port)
  }

  /** Unauthenticated connections held now. */
  get unauthenticated(): number {
    return this.#unauthenticated.size
  }

  /** The connection proved who it is: it no longer counts against the unauthenticated limits. */
  authenticated(socket: net.Socket): void {
    this.#unauthenticated.release(tcpSocketOf(socket))
  }

  /** Binds the configured port; after close() (a drain), the port it had, so peers find it again. */
  listen(): Promise<void> {
    const { host } = this.#options.bind
    const port = this.port
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) =>
        reject(new ListenerBindError('mesh', formatHostPort(host, port), err))
      this.#server.once('error', onError)
      this.#server.listen({ host, port, reusePort: this.#options.reusePort }, () => {
        this.#server.off('error', onError)
        if (this.#server.listenerCount('error') === 0)
          this.#server.on('error', (err) => this.#options.logger.error({ err }, 'mesh server error'))
        this.port = (this.#server.address() as net.AddressInfo).port
        resolve()
      })
    })
  }

  /** Stops accepting and closes every connection it still holds (control channels, pending headers). */
  close(): void {
    if (this.#server.listening) this.#server.close()
    for (const socket of this.#sockets) socket.destroy()
  }

  /** Counts a new TCP connection in, closing it (or the oldest unauthenticated one) when over a limit. */
  #admit(tcp: net.Socket): boolean {
    tcp.on('close', this.#onClose)
    const source = tcp.remoteAddress ?? ''
    const admission = this.#unauthenticated.admit(tcp, source)
    if (!admission.admitted) {
      this.#refuseTcp(tcp, 'mesh.max_unauthenticated_per_source', source)
      return false
    }
    if (admission.evicted !== undefined) {
      this.#refuseTcp(admission.evicted, 'mesh.max_unauthenticated', admission.evicted.remoteAddress ?? '')
    }
    return true
  }

  #refuseTcp(tcp: TcpSocket, limit: string, source: string): void {
    this.rejected++
    tcp[kRefused] = true
    this.#options.logger.debug({ peer: source, limit }, 'mesh connection refused: too many unauthenticated')
    const now = this.#options.now()
    if (now - this.#lastFloodWarning >= FLOOD_WARNING_INTERVAL_MS) {
      this.#lastFloodWarning = now
      this.#options.logger.warn(
        { limit, source, held: this.#unauthenticated.size, rejected: this.rejected },
        'mesh port: unauthenticated connections over a limit are being closed (a flood, or a limit below what real peers need)',
      )
    }
    tcp.destroy()
  }

  async #accept(socket: net.Socket): Promise<void> {
    this.#sockets.add(socket)
    if (socket !== tcpSocketOf(socket)) socket.on('close', this.#onClose)
    socket.on('error', () => socket.destroy())
    if (socket instanceof tls.TLSSocket) socket.setNoDelay(true)
    let prefix: Buffer
    try {
      prefix = await peekPrefix(socket, FIRST_BYTES_TIMEOUT_MS)
    } catch {
      this.#refuse(socket, 'closed or silent before its first bytes')
      return
    }
    if (!prefix.subarray(0, MESH_MAGIC.length).equals(MESH_MAGIC) || prefix.length < PREFIX_BYTES) {
      this.#refuse(socket, 'not the mesh protocol')
      return
    }
    const identity = socket instanceof tls.TLSSocket ? identityOf(socket) : undefined
    const kind = prefix[5]
    if (kind === KIND_OPEN) this.#options.onOpen(socket, identity)
    else if (kind === KIND_CONTROL) this.#options.onControl(socket, identity)
    else this.#refuse(socket, `unknown connection kind ${kind}`)
  }

  #refuse(socket: net.Socket, why: string): void {
    socket.destroy()
    // Closed over a limit already, and counted then.
    if ((tcpSocketOf(socket) as TcpSocket)[kRefused] === true) return
    this.rejected++
    this.#options.logger.debug(
      { peer: `${socket.remoteAddress}:${socket.remotePort}`, why },
      'mesh connection refused',
    )
  }
}

function identityOf(socket: tls.TLSSocket): string | undefined {
  const cert = socket.getPeerCertificate()
  return cert && Object.keys(cert).length > 0 ? nodeIdentityOf(cert) : undefined
}
