/**
 * The accept path, one flow at a time:
 *
 *   accept ─▶ pre-route stages ─▶ admit ─▶ decide ─▶ connect ─▶ relay
 *              (stages.ts: PROXY   (plugins) (once,    (the route's   (flow/relay.ts, or a
 *              header, ClientHello,           counted)  runtime)       multipath session)
 *              connect request)
 *
 * A refusal at any step is counted on the listener under its reason and closes the flow; a
 * handshake listener's client is answered first (its request's reply). A plain listener has no
 * stages: its flow is decided in the accept callback, with no promise before the connect. This
 * runs once per flow and is kept lean: one decision lookup, one connect, no logging unless
 * something fails.
 */
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import {
  admitDestination,
  type ConnectOutcome,
  type Destination,
  failureOutcome,
} from '../connect-proxy/index.ts'
import type { MultipathConnection, UpstreamConnection } from '../flow/connection.ts'
import type { CloseReason, Flow, ListenerRef } from '../flow/flow.ts'
import type { FlowManager } from '../flow/manager.ts'
import { abandonMultipath, startMultipath } from '../flow/multipath.ts'
import type { FlowOrigin } from '../flow/origin.ts'
import { endAfterReply, endBeforeUpstream, startRelay } from '../flow/relay.ts'
import { encodeProxyHeader } from '../proxy-protocol/index.ts'
import type { ResolveQuery } from '../route/engine.ts'
import { decide, type RouteRuntime, type RouteTable } from '../route/index.ts'
import type { DecisionSource, RejectReason } from '../views/node-view.ts'
import type { PreRouteStage } from './stages.ts'

export interface AcceptingListener extends ListenerRef {
  readonly port: number
  /** Every flow from this listener starts at this node with the full hop budget. */
  readonly origin: FlowOrigin
  readonly counters: ListenerRef['counters'] & {
    total: number
    rejected: Record<Exclude<RejectReason, 'max_connections' | 'draining' | 'tls_handshake'>, number>
  }
  /** What is read from each client before its flow is routed, in order. */
  readonly stages: readonly PreRouteStage[]
  /** Connections are TLS sockets, handshaken: they know their server name. */
  readonly terminatesTls?: boolean
}

export interface FlowHandlerDeps {
  readonly manager: FlowManager
  /** The route table, read per flow so that a new instruction set applies to the next flow. */
  readonly routes: FlowRoutes
  /**
   * Asked of every flow before it is routed: an error refuses the flow. Absent: no one asks. Set
   * once the plugins are loaded, after the pipeline is built.
   */
  admit?: ((flow: Flow, listener: AcceptingListener) => Error | undefined) | undefined
}

/** The route engine as the pipeline uses it. */
export interface FlowRoutes {
  table(): RouteTable<RouteRuntime>
  /**
   * Asks the scheduler for a route for a flow no route takes; it resolves within its own
   * deadline, undefined when there is none. Undefined at once when there is no one to ask.
   */
  resolve(query: ResolveQuery): Promise<RouteRuntime | undefined> | undefined
}

type Refusal = Exclude<RejectReason, 'max_connections' | 'draining' | 'tls_handshake'>

export function createFlowHandler(
  deps: FlowHandlerDeps,
): (socket: Socket, listener: AcceptingListener) => void {
  const { manager, routes } = deps

  function runStages(flow: Flow, listener: AcceptingListener, from: number): void {
    const stage = listener.stages[from]
    if (stage === undefined) {
      admitThenDecide(flow, listener)
      return
    }
    stage.run(flow).then(
      () => {
        if (flow.state !== 'closed') runStages(flow, listener, from + 1)
      },
      (error: Error) => refuse(flow, listener, stage.refusal, error, stage.repliesOnRefusal),
    )
  }

  function admitThenDecide(flow: Flow, listener: AcceptingListener): void {
    const refusal = deps.admit?.(flow, listener)
    if (refusal !== undefined) {
      refuse(flow, listener, 'plugin', refusal)
      return
    }
    const table = routes.table()
    // The client's address costs a system call: read only when some route matches on it.
    const sourceIp = table.matchesSource ? flow.sourceIp : undefined
    const decision = decide(
      {
        listener: listener.name,
        localPort: listener.port,
        sourceIp: sourceIp ?? '',
        serverName: flow.serverName,
      },
      table,
    )
    if (decision.kind === 'forward') {
      taken(flow, listener, decision.handler, decision.source, sourceIp)
      return
    }
    // A handshake listener's client asked for a destination no route allows: not worth a resolve.
    const resolving =
      flow.request === undefined
        ? routes.resolve({ listener: listener.name, port: listener.port, sourceIp: flow.sourceIp })
        : undefined
    if (resolving === undefined) {
      refuse(flow, listener, 'no_route')
      return
    }
    resolving.then(
      (route) => {
        if (flow.state === 'closed') return
        if (route === undefined) refuse(flow, listener, 'no_route')
        else taken(flow, listener, route, 'instruction', flow.sourceIp)
      },
      () => refuse(flow, listener, 'no_route'),
    )
  }

  /** The one place a decision is counted. `sourceIp` is undefined when it has not been read yet. */
  function taken(
    flow: Flow,
    listener: AcceptingListener,
    route: RouteRuntime,
    source: DecisionSource,
    sourceIp: string | undefined,
  ): void {
    route.matches[source]++
    flow.route = route.config.name
    flow.traffic = route.traffic
    const request = flow.request
    if (request === undefined) {
      connect(flow, route, sourceIp, listener.origin, undefined)
      return
    }
    admitDestination(route.config, request.destination).then(
      (admission) => {
        if (flow.state === 'closed') return
        if ('dial' in admission) connect(flow, route, sourceIp, listener.origin, admission.dial)
        else refuse(flow, listener, 'not_allowed', admission.refusal)
      },
      (error: Error) => {
        if (flow.state !== 'closed') failed(flow, error)
      },
    )
  }

  function connect(
    flow: Flow,
    route: RouteRuntime,
    sourceIp: string | undefined,
    origin: FlowOrigin,
    destination: Destination | undefined,
  ): void {
    flow.state = 'connecting'
    route.connect(sourceIp ?? balanceKey(route, flow), origin, destination).then(
      (conn) => established(flow, route, conn),
      (error: Error) => failed(flow, error),
    )
  }

  function established(
    flow: Flow,
    route: RouteRuntime,
    conn: UpstreamConnection | MultipathConnection,
  ): void {
    if (flow.state === 'closed') {
      // The client left while we were connecting.
      if ('subflows' in conn) abandonMultipath(flow, conn)
      else conn.socket.destroy()
      ;(conn.lender ?? route).release(conn.endpoint)
      return
    }
    flow.request?.reply('ok')
    flow.target = conn.endpoint
    flow.lender = conn.lender ?? route
    const version = route.config.sendProxyProtocol
    const header = version === undefined ? undefined : encodeProxyHeader(version, flow.clientAddresses())
    if ('subflows' in conn) {
      startMultipath(flow, conn, header)
      return
    }
    if (header !== undefined) conn.socket.write(header)
    startRelay(flow, conn.socket)
  }

  function failed(flow: Flow, error: Error): void {
    flow.error = error
    manager.failedFlows++
    end(flow, 'upstream_unavailable', failureOutcome(error))
  }

  /** Counted on the listener under its reason, answered (to a handshake's client), closed. */
  function refuse(
    flow: Flow,
    listener: AcceptingListener,
    reason: Refusal,
    error?: Error,
    flushFirst = false,
  ): void {
    if (flow.state === 'closed') return
    listener.counters.rejected[reason]++
    if (error !== undefined) flow.error = error
    const closeReason: CloseReason = reason === 'no_route' ? 'no_route' : 'rejected'
    if (flushFirst) endAfterReply(flow, closeReason)
    else end(flow, closeReason, 'not_allowed')
  }

  /** A handshake's client hears why; any other client's connection just closes. */
  function end(flow: Flow, reason: CloseReason, outcome: ConnectOutcome): void {
    const request = flow.request
    if (request === undefined) {
      endBeforeUpstream(flow, reason)
      return
    }
    request.reply(outcome)
    endAfterReply(flow, reason)
  }

  return function onConnection(socket: Socket, listener: AcceptingListener): void {
    listener.counters.total++
    listener.counters.active++
    const flow = manager.open(socket, listener)
    flow.state = 'routing'
    if (listener.terminatesTls === true) flow.serverName = serverNameOf(socket as TLSSocket)
    if (listener.stages.length === 0) admitThenDecide(flow, listener)
    else runStages(flow, listener, 0)
  }
}

function serverNameOf(socket: TLSSocket): string | undefined {
  const name = socket.servername
  return typeof name === 'string' && name !== '' ? name.toLowerCase() : undefined
}

/** What the route's balancer hashes: the client's address for source_hash, nothing to read otherwise. */
function balanceKey(route: RouteRuntime, flow: Flow): string {
  return route.config.lb === 'source_hash' ? flow.sourceIp : ''
}
