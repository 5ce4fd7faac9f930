/**
 * What a route gives the flow it takes: the connection (or, multipath, the subflows) and who lent
 * it, and the route's own totals the flow adds to when it ends. The flow layer reads these; the
 * route layer implements them.
 */
import type { Socket } from 'node:net'
import type { MultipathMode, RouteConfig } from '../config/types.ts'
import type { Destination } from '../connect-proxy/index.ts'
import type { DecisionSource } from '../views/node-view.ts'
import type { FlowOrigin } from './origin.ts'

/** Whoever lent the flow its upstream endpoint, told when the flow is over. */
export interface EndpointLender {
  release(endpoint: string): void
}

/** What one path of a multipath route carried, over the route's ended flows. */
export interface PathTraffic {
  bytesSent: number
  bytesReceived: number
  retransmittedBytes: number
  /** Last smoothed RTT a flow measured on the path. */
  srttMs: number | undefined
}

/** Per-route totals, added to when a flow of the route ends. */
export interface RouteTraffic {
  bytesIn: number
  bytesOut: number
  /** Flows of the route for which no upstream could be reached. */
  failures: number
  /** Multipath routes: by path (subflow index). */
  readonly paths: PathTraffic[]
}

export interface UpstreamConnection {
  readonly socket: Socket
  /** What the flow is connected to, as logs and /flows show it. */
  readonly endpoint: string
  /** Told when the flow ends; the route itself when absent. */
  readonly lender?: EndpointLender
}

/** A flow carried over several paths at once (framed mode): its first subflows, and how to reopen one. */
export interface MultipathConnection {
  readonly subflows: readonly { readonly index: number; readonly socket: Socket }[]
  /** Paths of the route: subflow indexes run from 0 to this, exclusive. */
  readonly pathCount: number
  readonly mode: MultipathMode
  /** The scheduler's share for each path, by subflow index: the sender's prior before it measures. */
  readonly weights?: readonly number[]
  readonly endpoint: string
  readonly lender?: EndpointLender
  /** Opens subflow `index` again after it was lost; rejects when its path does not work. */
  reopen(index: number): Promise<Socket>
}

export interface RouteRuntime extends EndpointLender {
  readonly config: RouteConfig
  readonly matches: Record<DecisionSource, number>
  readonly traffic: RouteTraffic
  /**
   * `sourceIp` is the client's address when the route balances on it (`lb: source_hash`); for
   * other routes it may be '', since reading it costs a system call per flow. `destination`: where
   * the client of a `handshake` listener asked to go, checked against the route's allow.
   */
  connect(
    sourceIp: string,
    origin: FlowOrigin,
    destination?: Destination,
  ): Promise<UpstreamConnection | MultipathConnection>
}
