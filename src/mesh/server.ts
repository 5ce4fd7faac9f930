/**
 * The mesh port (`mesh.bind`): where peers open data connections and control channels. With
 * `mesh.tls` it speaks only TLS and requires a client certificate from the mesh's CA; the
 * certificate's node id is handed on as the connection's identity. Each connection's first bytes
 * say what it is; anything else is closed.
 */
import net from 'node:net'
import tls from 'node:tls'
import type { HostPort } from '../config/types.ts'
import { ListenerBindError } from '../errors/index.ts'
import type { Logger } from '../log/logger.ts'
import { nodeIdentityOf } from '../pki/identity.ts'
import { formatHostPort } from '../util/host-port.ts'
import { KIND_CONTROL } from './control.ts'
import { PREFIX_BYTES, peekPrefix } from './peek.ts'
import { KIND_OPEN, MESH_MAGIC } from './wire.ts'

/** How long a new connection may stay silent: longer than a warm pool keeps one idle. */
export const FIRST_BYTES_TIMEOUT_MS = 15_000

export type MeshConnectionHandler = (socket: net.Socket, identity: string | undefined) => void

export interface MeshServerOptions {
  readonly bind: HostPort
  readonly reusePort: boolean
  readonly tls?: tls.TlsOptions
  readonly onOpen: MeshConnectionHandler
  readonly onControl: MeshConnectionHandler
  readonly logger: Logger
}

export class MeshServer {
  readonly #options: MeshServerOptions
  readonly #server: net.Server
  readonly #sockets = new Set<net.Socket>()
  /** Connections closed before they said what they were: garbage, wrong protocol, silence. */
  rejected = 0
  port: number

  constructor(options: MeshServerOptions) {
    this.#options = options
    this.port = options.bind.port
    const accept = (socket: net.Socket) => this.#accept(socket)
    this.#server = options.tls
      ? tls.createServer({ ...options.tls, allowHalfOpen: true }, accept)
      : net.createServer({ allowHalfOpen: true, noDelay: true }, accept)
    // A failed TLS handshake (no or wrong client certificate) never reaches accept: count it here.
    this.#server.on('tlsClientError', () => this.rejected++)
  }

  get address(): string {
    return formatHostPort(this.#options.bind.host, this.port)
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

  async #accept(socket: net.Socket): Promise<void> {
    this.#sockets.add(socket)
    socket.on('close', () => this.#sockets.delete(socket))
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
    this.rejected++
    this.#options.logger.debug(
      { peer: `${socket.remoteAddress}:${socket.remotePort}`, why },
      'mesh connection refused',
    )
    socket.destroy()
  }
}

function identityOf(socket: tls.TLSSocket): string | undefined {
  const cert = socket.getPeerCertificate()
  return cert && Object.keys(cert).length > 0 ? nodeIdentityOf(cert) : undefined
}
