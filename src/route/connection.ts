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
