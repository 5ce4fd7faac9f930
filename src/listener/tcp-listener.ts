/**
 * A TCP listener: accepts downstream connections for one `listeners[]` entry and hands each to
 * the node. Connections beyond `max_connections` are closed by Node at accept (its `drop` event)
 * and counted; draining closes the listening socket and leaves accepted flows alone.
 */
import net from 'node:net'
import tls from 'node:tls'
import type { ListenerConfig } from '../config/types.ts'
import { ListenerBindError } from '../errors/index.ts'
import type { FlowOrigin } from '../flow/origin.ts'
import { addressListOf } from '../util/address-list.ts'
import { formatHostPort } from '../util/host-port.ts'
import type { ListenerKind, ListenerStatus, RejectReason } from '../views/node-view.ts'
import { type PreRouteStage, preRouteStages } from './stages.ts'
import { loadListenerTls, tlsServerOptions } from './tls.ts'

export interface ListenerCounters {
  active: number
  total: number
  readonly rejected: Record<RejectReason, number>
  /** Bytes of flows that have ended; live flows are added when asked. */
  closedBytesIn: number
  closedBytesOut: number
}

export function newListenerCounters(): ListenerCounters {
  return {
    active: 0,
    total: 0,
    rejected: {
      max_connections: 0,
      no_route: 0,
      draining: 0,
      tls_handshake: 0,
      plugin: 0,
      proxy_protocol: 0,
      client_hello: 0,
      handshake: 0,
      not_allowed: 0,
    },
    closedBytesIn: 0,
    closedBytesOut: 0,
  }
}

/**
 * What a listener speaks, for operators reading `/listeners`: its protocol, then what it does with
 * each connection before routing (PROXY header, TLS termination or SNI reading, SOCKS5 or HTTP
 * CONNECT handshake), in that order.
 */
export function listenerKinds(config: ListenerConfig): ListenerKind[] {
  const kinds: ListenerKind[] = [config.protocol]
  if (config.proxyProtocol) kinds.push('proxy_protocol')
  if (config.tls !== undefined) kinds.push('tls')
  if (config.inspectSni) kinds.push('sni')
  if (config.handshake !== undefined) kinds.push(config.handshake)
  return kinds
}

/** A listener's /listeners entry: its counters, plus the bytes of flows still open (`live`). */
export function listenerStatus(
  listener: {
    readonly name: string
    readonly address: string
    readonly state: ListenerStatus['state'] | 'idle'
    readonly config: ListenerConfig
    readonly counters: ListenerCounters
  },
  live: { readonly bytesIn: number; readonly bytesOut: number },
): ListenerStatus {
  const c = listener.counters
  return {
    name: listener.name,
    bind: listener.address,
    state: listener.state === 'idle' ? 'closed' : listener.state,
    kinds: listenerKinds(listener.config),
    maxConnections: listener.config.maxConnections,
    activeConnections: c.active,
    totalConnections: c.total,
    rejected: { ...c.rejected },
    bytesIn: c.closedBytesIn + live.bytesIn,
    bytesOut: c.closedBytesOut + live.bytesOut,
  }
}

export type ConnectionHandler = (socket: net.Socket, listener: TcpListener) => void

export class TcpListener {
  config: ListenerConfig
  readonly name: string
  /** Read by each new flow: a reload that changes it applies to the flows accepted after. */
  idleTimeoutMs: number
  readonly counters: ListenerCounters = newListenerCounters()
  state: ListenerStatus['state'] | 'idle' = 'idle'
  /** The bound port: differs from the configured one when that is 0. */
  port: number
  /** Shared by every flow of this listener, so that a flow allocates no origin of its own. */
  origin: FlowOrigin
  /** What is read from each client before its flow is routed; a reload applies to the next flows. */
  stages: readonly PreRouteStage[]
  readonly #server: net.Server | tls.Server
  /** SO_REUSEPORT: the worker processes of one node each bind the same port and the kernel spreads accepts. */
  readonly #reusePort: boolean

  constructor(
    config: ListenerConfig,
    onConnection: ConnectionHandler,
    start: Omit<FlowOrigin, 'ingressPort'>,
    reusePort = false,
  ) {
    this.#reusePort = reusePort
    this.config = config
    this.name = config.name
    this.idleTimeoutMs = config.idleTimeoutMs
    this.stages = stagesOf(config)
    this.port = config.bind.port
    this.origin = { ...start, ingressPort: this.port }
    const accept = (socket: net.Socket) => onConnection(socket, this)
    const base = { allowHalfOpen: true, noDelay: true }
    this.#server = config.tls
      ? tls.createServer({ ...base, ...tlsServerOptions(config.tls) }, accept)
      : net.createServer(base, accept)
    // A failed handshake (plain TCP, no or wrong client certificate, a client gone or silent past the
    // handshake timeout) never becomes a flow. With a listener for this event Node leaves the socket
    // open: a client that left mid-handshake would hold its slot in CLOSE-WAIT for good.
    this.#server.on('tlsClientError', (_err, socket) => {
      this.counters.rejected.tls_handshake++
      socket.destroy()
    })
    this.#server.maxConnections = config.maxConnections
    this.#server.on('drop', () => this.counters.rejected.max_connections++)
  }

  /** Its connections are TLS sockets that know the server name their client asked for. */
  get terminatesTls(): boolean {
    return this.config.tls !== undefined
  }

  get address(): string {
    return formatHostPort(this.config.bind.host, this.port)
  }

  /**
   * (Re)reads a TLS listener's files into the context new handshakes use; nothing for plain TCP.
   * When they cannot be read or do not make a context it rejects, and the context in use stays.
   */
  async refreshTls(): Promise<void> {
    this.#useTls(await loadTlsOf(this.config))
  }

  /** Reads the files first (rejecting, with nothing bound, when they are bad), then binds. */
  async listen(): Promise<void> {
    await this.refreshTls()
    return this.#bind()
  }

  #useTls(material: tls.SecureContextOptions | undefined): void {
    if (material !== undefined && this.#server instanceof tls.Server) this.#server.setSecureContext(material)
  }

  /** After stopAccepting() (a drain): listens again, on the port it had. */
  async resumeAccepting(): Promise<void> {
    if (this.state !== 'draining') return
    await this.#bind(this.port)
  }

  #bind(port = this.config.bind.port): Promise<void> {
    const { host } = this.config.bind
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException) => {
        this.state = 'closed'
        reject(new ListenerBindError(this.name, formatHostPort(host, port), err))
      }
      this.#server.once('error', onError)
      this.#server.listen({ host, port, backlog: this.config.backlog, reusePort: this.#reusePort }, () => {
        this.#server.off('error', onError)
        if (this.#server.listenerCount('error') === 0) this.#server.on('error', () => {})
        this.port = (this.#server.address() as net.AddressInfo).port
        this.origin = { ...this.origin, ingressPort: this.port }
        this.state = 'listening'
        resolve()
      })
    })
  }

  /**
   * A reload's changes that apply in place: limits, PROXY sources, and the TLS files (read before
   * anything changes: bad files reject and leave the listener as it was). The bind address, the
   * backlog and the TLS server options need a new socket instead (config/reload.ts).
   */
  async update(config: ListenerConfig): Promise<void> {
    const material = await loadTlsOf(config)
    this.config = config
    this.idleTimeoutMs = config.idleTimeoutMs
    this.stages = stagesOf(config)
    this.#server.maxConnections = config.maxConnections
    this.#useTls(material)
  }

  /** Stop accepting; flows already accepted go on. */
  stopAccepting(): void {
    if (this.state === 'listening') this.state = 'draining'
    if (this.#server.listening) this.#server.close()
  }

  markClosed(): void {
    this.stopAccepting()
    this.state = 'closed'
  }

  status(live: { bytesIn: number; bytesOut: number }): ListenerStatus {
    return listenerStatus(this, live)
  }
}

function stagesOf(config: ListenerConfig): readonly PreRouteStage[] {
  return preRouteStages({
    proxyProtocol: config.proxyProtocol,
    // The sources whose PROXY header is believed, compiled once per config.
    proxyProtocolFrom: config.proxyProtocolFrom && addressListOf(config.proxyProtocolFrom),
    inspectSni: config.inspectSni,
    handshake: config.handshake,
    users: config.users,
  })
}

function loadTlsOf(config: ListenerConfig): Promise<tls.SecureContextOptions | undefined> {
  return config.tls === undefined ? Promise.resolve(undefined) : loadListenerTls(config.name, config.tls)
}
