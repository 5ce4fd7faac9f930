/**
 * A minimal mesh port for tests, on the node's socket layer: peeks the 6-byte prefix (magic,
 * version, kind) of each connection and hands kind 2 (control) to a PeerManager; any other
 * connection is a data connection and is echoed back, so a test can prove a dialed connection
 * carries bytes. TCP, or TLS requiring a client certificate from the same CA (the node id comes
 * from that certificate).
 */
import { meshServerTls, type PeerTlsOptions } from '../../src/mesh/peer-tls.ts'
import { KIND_CONTROL } from '../../src/mesh/wire/control.ts'
import { peekPrefix } from '../../src/mesh/wire/peek.ts'
import type { Connection, ConnectionSink } from '../../src/socket/connection.ts'
import { peerNodeId } from '../../src/socket/identity.ts'
import { listen } from '../../src/socket/listen.ts'

export interface ControlServerOptions {
  readonly acceptControl: (conn: Connection, peerIdentity?: string) => void
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

/** Writes back what it reads, FIN included. */
const ECHO: ConnectionSink<undefined> = {
  owner: undefined,
  onData: (conn, chunk) => void conn.write(chunk),
  onEnd: (conn) => conn.end(),
  onDrain() {},
  onClose() {},
}

export async function startControlServer(options: ControlServerOptions): Promise<ControlServer> {
  const host = options.host ?? '127.0.0.1'
  const counts = { control: 0, data: 0 }
  const onConnection = async (conn: Connection) => {
    const identity = options.tls === undefined ? undefined : peerNodeId(conn)
    let prefix: Buffer
    try {
      prefix = await peekPrefix(conn, 10_000)
    } catch {
      return void conn.closeNow()
    }
    if (prefix[5] === KIND_CONTROL) {
      counts.control++
      options.acceptControl(conn, identity)
    } else {
      counts.data++
      conn.sink = ECHO
      conn.resume()
    }
  }
  const listener = listen(
    {
      name: 'control test server',
      host,
      port: options.port ?? 0,
      ...(options.tls && { tls: meshServerTls(options.tls) }),
    },
    (conn) => void onConnection(conn),
  )
  return {
    port: listener.port,
    host,
    accepted: {
      get control() {
        return counts.control
      },
      get data() {
        return counts.data
      },
      get tlsRejected() {
        return listener.counters.handshakeFailed
      },
    },
    async close() {
      listener.stopAll()
    },
  }
}
