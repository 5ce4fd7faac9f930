/**
 * The accept path: route a new downstream connection, connect upstream, splice. This runs once
 * per flow and is kept lean: one decision lookup, one connect, no logging unless something fails.
 */
import type { Socket } from 'node:net'
import type { RouteConfig } from '../config/types.ts'
import type { DecisionSource } from '../node/api.ts'
import { decide, type FlowOrigin, type RouteTable } from '../router/index.ts'
import type { EndpointLender, Flow, ListenerRef } from './flow.ts'
import type { FlowManager } from './manager.ts'
import { endBeforeUpstream, startRelay } from './relay.ts'

export interface UpstreamConnection {
  readonly socket: Socket
  /** What the flow is connected to, as logs and /flows show it. */
  readonly endpoint: string
  /** Told when the flow ends; the route itself when absent. */
  readonly lender?: EndpointLender
}

export interface RouteRuntime extends EndpointLender {
  readonly config: RouteConfig
  readonly matches: Record<DecisionSource, number>
  connect(sourceIp: string, origin: FlowOrigin): Promise<UpstreamConnection>
}

export interface AcceptingListener extends ListenerRef {
  readonly port: number
  /** Every flow from this listener starts at this node with the full hop budget. */
  readonly origin: FlowOrigin
  readonly counters: ListenerRef['counters'] & { total: number; rejected: { no_route: number } }
}

export interface FlowHandlerDeps {
  readonly manager: FlowManager
  /** The current table: read per flow so that a new instruction set applies to the next flow. */
  readonly table: () => RouteTable<RouteRuntime>
  readonly onUpstreamFailure: (flow: Flow, error: Error) => void
}

export function createFlowHandler(
  deps: FlowHandlerDeps,
): (socket: Socket, listener: AcceptingListener) => void {
  const { manager, table, onUpstreamFailure } = deps

  function established(flow: Flow, route: RouteRuntime, conn: UpstreamConnection): void {
    if (flow.state === 'closed') {
      // The client left while we were connecting.
      conn.socket.destroy()
      ;(conn.lender ?? route).release(conn.endpoint)
      return
    }
    flow.target = conn.endpoint
    flow.lender = conn.lender ?? route
    startRelay(flow, conn.socket)
  }

  function failed(flow: Flow, error: Error): void {
    flow.error = error
    onUpstreamFailure(flow, error)
    endBeforeUpstream(flow, 'upstream_unavailable')
  }

  return function onConnection(socket: Socket, listener: AcceptingListener): void {
    listener.counters.total++
    listener.counters.active++
    const flow = manager.open(socket, listener)
    flow.state = 'routing'
    const sourceIp = socket.remoteAddress ?? ''
    const decision = decide({ listener: listener.name, localPort: listener.port, sourceIp }, table())
    if (decision.kind === 'reject') {
      listener.counters.rejected.no_route++
      endBeforeUpstream(flow, 'no_route')
      return
    }
    const route = decision.handler
    route.matches[decision.source]++
    flow.route = route.config.name
    flow.state = 'connecting'
    route.connect(sourceIp, listener.origin).then(
      (conn) => established(flow, route, conn),
      (error: Error) => failed(flow, error),
    )
  }
}
