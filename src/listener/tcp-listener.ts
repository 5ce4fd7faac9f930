/**
 * A TCP listener: accepts downstream connections for one `listeners[]` entry on the socket layer
 * (Bun.listen) and hands each to the node, TLS ones once their handshake is accepted. Connections
 * beyond `max_connections` are reset at accept and counted; draining closes the listening socket
 * and leaves accepted flows alone.
 */
import type { ListenerConfig } from '../config/types.ts'
import type { FlowOrigin } from '../flow/origin.ts'
import type { Connection } from '../socket/connection.ts'
import { IdleSweep } from '../socket/idle-sweep.ts'
import {
  type ListenerCounters as AcceptCounters,
  Listener,
  type ListenOptions,
  newListenerCounters as newAcceptCounters,
} from '../socket/listen.ts'
import type { ServerTlsOptions } from '../socket/tls-options.ts'
import { addressListOf } from '../util/address-list.ts'
import { formatHostPort } from '../util/host-port.ts'
import type { ListenerKind, ListenerStatus, RejectReason } from '../views/node-view.ts'
import { type PreRouteStage, preRouteStages } from './stages.ts'
import { loadListenerTls, sameTlsMaterial } from './tls.ts'

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

export type ConnectionHandler = (conn: Connection, listener: TcpListener) => void

export class TcpListener {
  config: ListenerConfig
  readonly name: string
  /** Read by each new flow: a reload that changes it applies to the flows accepted after. */
  idleTimeoutMs: number
  /** Watches the flows accepted now; a reload with a new idle timeout starts another for the next. */
  idleSweep: IdleSweep | undefined
  readonly counters: ListenerCounters = newListenerCounters()
  state: ListenerStatus['state'] | 'idle' = 'idle'
  /** The bound port: differs from the configured one when that is 0. */
  port: number
  /** Shared by every flow of this listener, so that a flow allocates no origin of its own. */
  origin: FlowOrigin
  /** What is read from each client before its flow is routed; a reload applies to the next flows. */
  stages: readonly PreRouteStage[]
  /** The socket bound now; undefined before listen() and while draining. */
  #socket: Listener | undefined = undefined
  /** Counted across every socket this listener binds: one `max_connections` for all its flows. */
  readonly #accepts: AcceptCounters = newAcceptCounters()
  #tls: ServerTlsOptions | undefined = undefined
  readonly #onAccept: (conn: Connection) => void
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
    this.idleSweep = sweepFor(config.idleTimeoutMs)
    this.stages = stagesOf(config)
    this.port = config.bind.port
    this.origin = { ...start, ingressPort: this.port }
    this.#onAccept = (conn) => onConnection(conn, this)
    countRefusals(this.counters.rejected, this.#accepts)
  }

  /** Its connections are TLS connections that know the server name their client asked for. */
  get terminatesTls(): boolean {
    return this.config.tls !== undefined
  }

  get address(): string {
    return formatHostPort(this.config.bind.host, this.port)
  }

  /**
   * (Re)reads a TLS listener's files; new content is served from now on, on the same port. When
   * they cannot be read or do not make a context it rejects, and the certificate in use stays.
   */
  async refreshTls(): Promise<void> {
    this.#useTls(await loadTlsOf(this.config))
  }

  /** Reads the files first (rejecting, with nothing bound, when they are bad), then binds. */
  async listen(): Promise<void> {
    this.#tls = await loadTlsOf(this.config)
    this.#bind(this.config.bind.port)
  }

  /** After stopAccepting() (a drain): listens again, on the port it had. */
  async resumeAccepting(): Promise<void> {
    if (this.state !== 'draining') return
    this.#bind(this.port)
  }

  /**
   * A reload's changes that apply in place: limits, PROXY sources, the idle timeout of the next
   * flows, and the TLS files (read before anything changes: bad files reject and leave the listener
   * as it was). The bind address and the TLS server options need a new listener (config/reload.ts).
   */
  async update(config: ListenerConfig): Promise<void> {
    const material = await loadTlsOf(config)
    this.config = config
    if (config.idleTimeoutMs !== this.idleTimeoutMs) this.idleSweep = sweepFor(config.idleTimeoutMs)
    this.idleTimeoutMs = config.idleTimeoutMs
    this.stages = stagesOf(config)
    if (this.#socket !== undefined) this.#socket.maxConnections = config.maxConnections
    this.#useTls(material)
  }

  /** Stop accepting; flows already accepted go on. */
  stopAccepting(): void {
    if (this.state === 'listening') this.state = 'draining'
    this.#socket?.stop()
    this.#socket = undefined
  }

  markClosed(): void {
    this.stopAccepting()
    this.state = 'closed'
  }

  status(live: { bytesIn: number; bytesOut: number }): ListenerStatus {
    return listenerStatus(this, live)
  }

  #options(port: number): ListenOptions {
    const tls = this.config.tls
    return {
      name: this.name,
      host: this.config.bind.host,
      port,
      reusePort: this.#reusePort,
      maxConnections: this.config.maxConnections,
      counters: this.#accepts,
      ...(this.#tls && { tls: this.#tls }),
      ...(tls && { handshakeTimeoutMs: tls.handshakeTimeoutMs }),
    }
  }

  /** Binds now; a bind error (ListenerBindError) leaves the listener closed. */
  #bind(port: number): void {
    const options = this.#options(port)
    try {
      this.#socket = new Listener(options, this.#onAccept)
      this.#socket.bind(options)
    } catch (err) {
      this.#socket = undefined
      this.state = 'closed'
      throw err
    }
    this.port = this.#socket.port
    this.origin = { ...this.origin, ingressPort: this.port }
    this.state = 'listening'
  }

  /**
   * New TLS material for new handshakes. Bun cannot change a listening socket's certificate, so the
   * socket is bound anew on its port, in the same turn of the event loop: flows and handshakes under
   * way stay on the old one. Should the new bind fail, the old material is bound again.
   */
  #useTls(material: ServerTlsOptions | undefined): void {
    if (sameTlsMaterial(material, this.#tls)) return
    const previous = this.#tls
    this.#tls = material
    if (this.#socket === undefined) return
    this.#socket.stop()
    try {
      this.#bind(this.port)
    } catch (err) {
      this.#tls = previous
      this.#bind(this.port)
      throw err
    }
  }
}

/**
 * The socket layer counts what it refuses before a flow exists: connections beyond
 * `max_connections`, and failed or timed-out TLS handshakes. The listener's `rejected` counters
 * read them there, so that every socket the listener binds adds to the same figures.
 */
function countRefusals(rejected: Record<RejectReason, number>, accepts: AcceptCounters): void {
  Object.defineProperties(rejected, {
    max_connections: { enumerable: true, get: () => accepts.refused },
    tls_handshake: { enumerable: true, get: () => accepts.handshakeFailed + accepts.handshakeTimedOut },
  })
}

function sweepFor(idleTimeoutMs: number): IdleSweep | undefined {
  return idleTimeoutMs > 0 ? new IdleSweep({ timeoutMs: idleTimeoutMs }) : undefined
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

function loadTlsOf(config: ListenerConfig): Promise<ServerTlsOptions | undefined> {
  return config.tls === undefined ? Promise.resolve(undefined) : loadListenerTls(config.name, config.tls)
}
