/**
 * One flow: a downstream connection accepted on a listener and what it caused upstream.
 *
 *   accepted ─▶ routing ─▶ connecting ─▶ established ─▶ closing ─▶ closed
 *                  │            │                                      ▲
 *                  └─ no_route  └─ upstream_unavailable / downstream gone ┘
 *
 * Byte counts are read from the sockets when asked or when the flow ends: nothing is counted per
 * chunk.
 */
import type { Socket } from 'node:net'
import type { ClientRequest } from '../connect-proxy/handshake.ts'
import type { FramedSession } from '../multipath/index.ts'
import type { ProxiedAddresses } from '../proxy-protocol/index.ts'
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

/** Where a flow reports its end: called once, after both its sockets have closed (or before upstream). */
export interface FlowSink {
  finished(flow: Flow): void
}

export interface ListenerRef {
  readonly name: string
  readonly idleTimeoutMs: number
  readonly counters: { active: number; closedBytesIn: number; closedBytesOut: number }
}

/** Relayed flows (another node's flows this node carries on) are counted under this pseudo-listener. */
export const MESH_LISTENER = 'mesh'

export class Flow {
  readonly id: string
  readonly listener: ListenerRef
  readonly downstream: Socket
  readonly startedAt: number
  readonly sink: FlowSink
  state: FlowState = 'accepted'
  route: string | undefined = undefined
  target: string | undefined = undefined
  upstream: Socket | undefined = undefined
  lender: EndpointLender | undefined = undefined
  /** Set when the flow is carried over several paths at once. */
  multipath: FramedSession | undefined = undefined
  /** The totals of the route the flow took, once it took one. */
  traffic: RouteTraffic | undefined = undefined
  /** Why the flow could not start, for the access log. */
  error: Error | undefined = undefined
  closeReason: CloseReason | undefined = undefined
  endedAt = 0
  /** Which side sent its FIN first: the close reason of an orderly end. */
  firstEnd: 'downstream' | 'upstream' | undefined = undefined
  openSockets = 1
  /** The client as a PROXY protocol header named it: the flow's source instead of the socket's peer. */
  proxied: ProxiedAddresses | undefined = undefined
  /** The TLS server name the client asked for (SNI), when its listener reads one. */
  serverName: string | undefined = undefined
  /** The destination a client of a `handshake` listener asked for, as host:port. */
  destination: string | undefined = undefined
  /** A `handshake` listener's client request: where it asked to go, and how to answer it. */
  request: ClientRequest | undefined = undefined

  constructor(id: string, listener: ListenerRef, downstream: Socket, startedAt: number, sink: FlowSink) {
    this.id = id
    this.listener = listener
    this.downstream = downstream
    this.startedAt = startedAt
    this.sink = sink
  }

  get bytesIn(): number {
    return this.downstream.bytesRead
  }

  /** What came from upstream; with no upstream socket (multipath, refusals), what the client was sent. */
  get bytesOut(): number {
    return this.upstream?.bytesRead ?? this.downstream.bytesWritten
  }

  /** The client's address as host:port; read from the socket, so only while it is open. */
  get source(): string {
    if (this.proxied !== undefined) return `${this.proxied.sourceAddress}:${this.proxied.sourcePort}`
    return `${this.downstream.remoteAddress}:${this.downstream.remotePort}`
  }

  /** The client's IP: the proxied one when a PROXY protocol header named it. */
  get sourceIp(): string {
    return this.proxied?.sourceAddress ?? this.downstream.remoteAddress ?? ''
  }

  /** Both ends of the client's connection, as a PROXY protocol header sent upstream names them. */
  clientAddresses(): ProxiedAddresses | undefined {
    if (this.proxied !== undefined) return this.proxied
    const d = this.downstream
    if (d.remoteAddress === undefined || d.localAddress === undefined) return undefined
    return {
      sourceAddress: d.remoteAddress,
      sourcePort: d.remotePort ?? 0,
      destinationAddress: d.localAddress,
      destinationPort: d.localPort ?? 0,
    }
  }

  /** Reads the client's address now: the socket keeps it for reads after it has closed. */
  recordSource(): void {
    this.downstream.remoteAddress
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
      state: this.state,
      startedAt: new Date(this.startedAt).toISOString(),
      durationMs: this.durationMs(now),
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      ...(this.serverName !== undefined && { sni: this.serverName }),
      ...(this.destination !== undefined && { destination: this.destination }),
      ...(this.multipath && { subflows: this.multipath.subflows() }),
    }
  }
}
