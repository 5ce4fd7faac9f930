/**
 * A minimal mesh port for tests: peeks the 6-byte prefix (magic, version, kind) of each
 * connection and hands kind 2 (control) to a PeerManager; any other connection is a data
 * connection and is echoed back, so a test can prove a dialed socket carries bytes. TCP, or TLS
 * requiring a client certificate from the same CA (the node id comes from that certificate).
 */
import { once } from 'node:events'
import net, { type Socket } from 'node:net'
import tls from 'node:tls'
import { type PeerTlsOptions, tlsPeerIdentity } from '../../src/mesh/peer-tls.ts'
import { KIND_CONTROL } from '../../src/mesh/wire/control.ts'
import { meshServerTlsOptions } from '../../src/pki/tls-options.ts'

const PREFIX_BYTES = 6

export interface ControlServerOptions {
  readonly acceptControl: (socket: Socket, peerIdentity?: string) => void
  readonly tls?: PeerTlsOptions
  readonly host?: string
  readonly port?: number
}

export interface ControlServer {
  readonly port: number
  readonly host: string
  /** Connections by the kind they opened with: control channels and data connections. */
  readonly accepted: { readonly control: number; readonly data: number; readonly tlsRejected: number }
  close(): Promise<void>
}

export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const host = options.host ?? '127.0.0.1'
  const sockets = new Set<Socket>()
  const accepted = { control: 0, data: 0, tlsRejected: 0 }
  const onSocket = (socket: Socket, identity?: string) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => socket.destroy())
    peekKind(socket, (kind) => {
      if (kind === KIND_CONTROL) {
        accepted.control++
        options.acceptControl(socket, identity)
      } else {
        accepted.data++
        socket.pipe(socket)
      }
    })
  }
  const server = options.tls
    ? tls.createServer({ ...meshServerTlsOptions(options.tls), allowHalfOpen: true }, (socket) =>
        onSocket(socket, tlsPeerIdentity(socket)),
      )
    : net.createServer({ allowHalfOpen: true }, (socket) => onSocket(socket))
  server.on('tlsClientError', (_err: Error, socket: Socket) => {
    accepted.tlsRejected++
    socket.destroy()
  })
  // Raw sockets still in their TLS handshake are not in `sockets` yet.
  const raw = new Set<Socket>()
  server.on('connection', (socket: Socket) => {
    raw.add(socket)
    socket.on('close', () => raw.delete(socket))
  })
  server.listen(options.port ?? 0, host)
  await once(server, 'listening')
  const port = (server.address() as net.AddressInfo).port
  return {
    port,
    host,
    accepted,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const s of [...sockets, ...raw]) s.destroy()
      await closed
    },
  }
}

function peekKind(socket: Socket, dispatch: (kind: number) => void): void {
  let head: Buffer = Buffer.alloc(0)
  const onData = (chunk: Buffer) => {
    head = head.length === 0 ? chunk : Buffer.concat([head, chunk])
    if (head.length < PREFIX_BYTES) return
    socket.off('data', onData)
    socket.pause()
    socket.unshift(head)
    dispatch(head[5]!)
  }
  socket.on('data', onData)
}
