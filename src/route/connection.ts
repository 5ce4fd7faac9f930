/**
 * What a route does with a flow it takes: connect it, along the route's own totals. The flow
 * pipeline calls this; the runtimes (runtime.ts) implement it.
 */
import type { RouteConfig } from '../config/types.ts'
import type { Destination } from '../connect-proxy/index.ts'
import type {
  EndpointLender,
  MultipathConnection,
  RouteTraffic,
  UpstreamConnection,
} from '../flow/connection.ts'
import type { FlowOrigin } from '../flow/origin.ts'
import type { DecisionSource } from '../views/node-view.ts'

export type RouteConnection = UpstreamConnection | MultipathConnection

/**
 * Told once how a route's connect for one flow ended; `token` is what the caller passed (its flow),
 * so that one waiter object serves every flow and a connect allocates no promise and no closure.
 */
export interface RouteWaiter<T> {
  connected(conn: RouteConnection, token: T): void
  failed(error: Error, token: T): void
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
  connect<T>(
    sourceIp: string,
    origin: FlowOrigin,
    destination: Destination | undefined,
    waiter: RouteWaiter<T>,
    token: T,
  ): void
}

interface Settle {
  resolve(conn: RouteConnection): void
  reject(error: Error): void
}

const SETTLE: RouteWaiter<Settle> = {
  connected: (conn, settle) => settle.resolve(conn),
  failed: (error, settle) => settle.reject(error),
}

/** A route's connect as a promise, for callers off the accept path (a relayed flow). */
export function connectRoute(
  route: RouteRuntime,
  sourceIp: string,
  origin: FlowOrigin,
  destination?: Destination,
): Promise<RouteConnection> {
  const settle = Promise.withResolvers<RouteConnection>()
  route.connect(sourceIp, origin, destination, SETTLE, settle)
  return settle.promise
}

/** Tells `waiter` how `connecting` ends: how the routes whose connect is asynchronous answer it. */
export function settleRoute<T>(connecting: Promise<RouteConnection>, waiter: RouteWaiter<T>, token: T): void {
  connecting.then(
    (conn) => waiter.connected(conn, token),
    (error: Error) => waiter.failed(error, token),
  )
}
