/**
 * One flow: a downstream connection accepted on a listener and what it caused upstream.
 *
 *   accepted ─▶ routing ─▶ connecting ─▶ established ─▶ closing ─▶ closed
 *                  │            │                                      ▲
 *                  └─ no_route  └─ upstream_unavailable / downstream gone ┘
 *
 * Byte counts are the connections' own counters, read when asked or when the flow ends.
 *
 * Until it is spliced, the flow is its downstream connection's origin: nobody reads the client then
 * (what it sends waits in the connection for the relay), yet a client that leaves or resets ends
 * the flow at once. The listener the connection came from is still told of its close.
 */
import type { ClientRequest } from '../connect-proxy/handshake.ts'
import type { FramedSession } from '../multipath/index.ts'
import type { ProxiedAddresses } from '../proxy-protocol/index.ts'
import type { Connection, ConnectionOrigin } from '../socket/connection.ts'
import type { IdleSweep } from '../socket/idle-sweep.ts'
import type { Relay } from '../socket/relay.ts'
import type { FlowInfo, FlowState } from '../views/node-view.ts'
import type { EndpointLender, RouteTraffic } from './connection.ts'

export type CloseReason =
  | 'downstream_closed'
  | 'upstream_closed'
  | 'downstream_reset'
  | 'upstream_reset'
  | 'idle_timeout'
  | 'no_route'
  | 'rejected'
  | 'upstream_unavailable'
  | 'drain_timeout'
  | 'aborted'

/** Where a flow reports its end: called once, after both its connections have closed (or before upstream). */
export interface FlowSink {
  finished(flow: Flow): void
}

export interface ListenerRef {
  readonly name: string
  /** Watches the idleness of the flows accepted now; undefined without an idle timeout. */
  readonly idleSweep: IdleSweep | undefined
  readonly counters: { active: number; closedBytesIn: number; closedBytesOut: number }
}

/** Relayed flows (another node's flows this node carries on) are counted under this pseudo-listener. */
export const MESH_LISTENER = 'mesh'

export class Flow implements ConnectionOrigin {
  readonly id: string
  readonly listener: ListenerRef
  readonly downstream: Connection
  readonly startedAt: number
  readonly sink: FlowSink
  state: FlowState = 'accepted'
  route: string | undefined = undefined
  target: string | undefined = undefined
  upstream: Connection | undefined = undefined
  /** The splice of the two connections, once the upstream is there. */
  relay: Relay<Flow> | undefined = undefined
  lender: EndpointLender | undefined = undefined
  /** Set when the flow is carried over several paths at once. */
  multipath: FramedSession | undefined = undefined
  /** The totals of the route the flow took, once it took one. */
  traffic: RouteTraffic | undefined = undefined
  /** Why the flow could not start, for the access log. */
  error: Error | undefined = undefined
  closeReason: CloseReason | undefined = undefined
  endedAt = 0
  /** The client as a PROXY protocol header named it: the flow's source instead of the connection's peer. */
  proxied: ProxiedAddresses | undefined = undefined
  /** The TLS server name the client asked for (SNI), when its listener reads one. */
  serverName: string | undefined = undefined
  /** The destination a client of a `handshake` listener asked for, as host:port. */
  destination: string | undefined = undefined
  /** A `handshake` listener's client request: where it asked to go, and how to answer it. */
  request: ClientRequest | undefined = undefined
  /** The downstream connection's origin before the flow took its place: its listener. */
  readonly #accepted: ConnectionOrigin | undefined

  constructor(id: string, listener: ListenerRef, downstream: Connection, startedAt: number, sink: FlowSink) {
    this.id = id
    this.listener = listener
    this.downstream = downstream
    this.startedAt = startedAt
    this.sink = sink
    this.#accepted = downstream.origin
    downstream.origin = this
  }

  /** The first reason given is the flow's: a later one (the close an abort causes) does not replace it. */
  setReason(reason: CloseReason): void {
    if (this.closeReason === undefined) this.closeReason = reason
  }

  /** The flow is over: its sink hears of it (once; FlowManager guards that too). */
  finish(): void {
    if (this.state === 'closed') return
    this.state = 'closed'
    this.sink.finished(this)
  }

  get bytesIn(): number {
    return this.downstream.bytesRead
  }

  /** What came from upstream; with no upstream connection (multipath, refusals), what the client was sent. */
  get bytesOut(): number {
    return this.upstream?.bytesRead ?? this.downstream.bytesWritten
  }

  /** The client's address as host:port; read from the connection, which keeps it once read. */
  get source(): string {
    if (this.proxied !== undefined) return `${this.proxied.sourceAddress}:${this.proxied.sourcePort}`
    const { remoteAddress, remotePort } = this.downstream.addresses()
    return `${remoteAddress}:${remotePort}`
  }

  /** The client's IP: the proxied one when a PROXY protocol header named it. */
  get sourceIp(): string {
    return this.proxied?.sourceAddress ?? this.downstream.remoteAddress ?? ''
  }

  /** Both ends of the client's connection, as a PROXY protocol header sent upstream names them. */
  clientAddresses(): ProxiedAddresses | undefined {
    if (this.proxied !== undefined) return this.proxied
    const d = this.downstream.addresses()
    if (d.remoteAddress === undefined || d.localAddress === undefined) return undefined
    return {
      sourceAddress: d.remoteAddress,
      sourcePort: d.remotePort ?? 0,
      destinationAddress: d.localAddress,
      destinationPort: d.localPort ?? 0,
    }
  }

  /** Reads the client's address now: the connection keeps it for reads after it has closed. */
  recordSource(): void {
    this.downstream.addresses()
  }

  durationMs(now: number): number {
    return (this.endedAt || now) - this.startedAt
  }

  info(now: number): FlowInfo {
    return {
      id: this.id,
      listener: this.listener.name,
      source: this.source,
      route: this.route,
      target: this.target,
      state: this.#shownState(),
      startedAt: new Date(this.startedAt).toISOString(),
      durationMs: this.durationMs(now),
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      ...(this.serverName !== undefined && { sni: this.serverName }),
      ...(this.destination !== undefined && { destination: this.destination }),
      ...(this.multipath && { subflows: this.multipath.subflows() }),
    }
  }

  /** The upstream has ended its side: the flow is closing, whatever the client still sends. */
  #shownState(): FlowState {
    return this.state === 'established' && this.upstream?.peerEnded === true ? 'closing' : this.state
  }

  // ConnectionOrigin of the downstream connection: the flow hears of its close, then its listener.

  get closingAll(): boolean {
    return this.#accepted?.closingAll ?? false
  }

  /** Never called: a connection is handed to a flow once its handshake is done. */
  handshake(): void {}

  /** Never called, for the same reason. */
  lost(): void {}

  released(conn: Connection): void {
    this.#accepted?.released(conn)
    // A spliced flow ends when its relay says both sides closed, a multipath one with its session.
    if (this.relay !== undefined || this.multipath !== undefined) return
    this.setReason(unsplicedReason(conn, this.state))
    this.finish()
  }
}

/** Why a flow ended whose client left before it had an upstream (an abort has set its own reason). */
function unsplicedReason(conn: Connection, state: FlowState): CloseReason {
  const cause = conn.closeCause
  if (cause === 'reset') return 'downstream_reset'
  if (cause === 'idle') return 'idle_timeout'
  return state === 'routing' || state === 'connecting' ? 'aborted' : 'downstream_closed'
}
