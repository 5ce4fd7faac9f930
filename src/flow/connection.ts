/**
 * What a flow is given to carry its bytes: the upstream connection (or, multipath, the subflows)
 * and who lent it, and the totals of the route it took, added to when it ends. Routes (route/)
 * produce these; the flow layer only reads them.
 */
import type { Socket } from 'node:net'
import type { MultipathMode } from '../config/types.ts'

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
