/**
 * The accept path: route a new downstream connection, connect upstream, splice. This runs once
 * per flow and is kept lean: one decision lookup, one connect, no logging unless something fails.
 */
import type { BlockList, Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { ListenerHandshake, ListenerUser } from '../config/types.ts'
import {
  admitDestination,
  type ClientRequest,
  type Destination,
  failureOutcome,
  readClientRequest,
} from '../connect-proxy/index.ts'
import { ProxyHeaderUntrustedError } from '../errors/index.ts'
import type { MultipathConnection, UpstreamConnection } from '../flow/connection.ts'
import type { Flow, ListenerRef } from '../flow/flow.ts'
import type { FlowManager } from '../flow/manager.ts'
import { startMultipath } from '../flow/multipath.ts'
import type { FlowOrigin } from '../flow/origin.ts'
import { endAfterReply, endBeforeUpstream, startRelay } from '../flow/relay.ts'
import { encodeProxyHeader, readProxyHeader } from '../proxy-protocol/index.ts'
import type { ResolveQuery } from '../route/engine.ts'
import { decide, type FlowContext, type RouteRuntime, type RouteTable } from '../route/index.ts'
import { readServerName } from '../sni/index.ts'
import { inAddressList } from '../util/address-list.ts'
import { formatHostPort } from '../util/host-port.ts'

export interface AcceptingListener extends ListenerRef {
  readonly port: number
  /** Every flow from this listener starts at this node with the full hop budget. */
  readonly origin: FlowOrigin
  readonly counters: ListenerRef['counters'] & {
    total: number
    rejected: {
      no_route: number
      plugin: number
      proxy_protocol: number
      client_hello: number
      handshake: number
      not_allowed: number
    }
  }
  /** Each connection starts with a PROXY protocol header, read before the flow is routed. */
  readonly proxyProtocol?: boolean
  /** With proxyProtocol: only these sources may send it; a connection from elsewhere is refused. */
  readonly proxyProtocolFrom?: BlockList | undefined
  /** The server name of each connection's TLS ClientHello is read before the flow is routed. */
  readonly inspectSni?: boolean
  /** Connections are TLS sockets, handshaken: they know their server name. */
  readonly terminatesTls?: boolean
  /** Clients name their destination first; routes check it against their allow. */
  readonly handshake?: ListenerHandshake | undefined
  /** With a handshake: the users clients must authenticate as. */
  readonly users?: readonly ListenerUser[] | undefined
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

export function createFlowHandler(
  deps: FlowHandlerDeps,
): (socket: Socket, listener: AcceptingListener) => void {
  const { manager, routes: engine } = deps

  function established(
    flow: Flow,
    route: RouteRuntime,
    conn: UpstreamConnection | MultipathConnection,
  ): void {
    if (flow.state === 'closed') {
      // The client left while we were connecting.
      if ('subflows' in conn) for (const s of conn.subflows) s.socket.destroy()
      else conn.socket.destroy()
      ;(conn.lender ?? route).release(conn.endpoint)
      return
    }
    flow.target = conn.endpoint
    flow.lender = conn.lender ?? route
    const version = route.config.sendProxyProtocol
    const header = version === undefined ? undefined : encodeProxyHeader(version, flow.clientAddresses())
    if ('subflows' in conn) {
      // The session reads the client socket itself: the header goes first in what it reads.
      if (header !== undefined) flow.downstream.unshift(header)
      startMultipath(flow, conn)
      return
    }
    if (header !== undefined) conn.socket.write(header)
    startRelay(flow, conn.socket)
  }

  function failed(flow: Flow, error: Error): void {
    flow.error = error
    manager.failedFlows++
    endBeforeUpstream(flow, 'upstream_unavailable')
  }

  /** `sourceIp` is undefined when it has not been read yet. */
  function connect(flow: Flow, route: RouteRuntime, sourceIp: string | undefined, origin: FlowOrigin): void {
    flow.route = route.config.name
    flow.traffic = route.traffic
    flow.state = 'connecting'
    route.connect(sourceIp ?? balanceKey(route, flow), origin).then(
      (conn) => established(flow, route, conn),
      (error: Error) => failed(flow, error),
    )
  }

  function noRoute(flow: Flow, listener: AcceptingListener): void {
    listener.counters.rejected.no_route++
    endBeforeUpstream(flow, 'no_route')
  }

  function resolveThenConnect(flow: Flow, listener: AcceptingListener, sourceIp: string): void {
    const resolving = engine.resolve({ listener: listener.name, port: listener.port, sourceIp })
    if (resolving === undefined) {
      noRoute(flow, listener)
      return
    }
    resolving.then(
      (route) => {
        if (flow.state === 'closed') return
        if (route === undefined) return noRoute(flow, listener)
        route.matches.instruction++
        connect(flow, route, sourceIp, listener.origin)
      },
      () => noRoute(flow, listener),
    )
  }

  /**
   * The header is the flow's first bytes: the flow is routed once it is read, refused if it is bad,
   * or if it comes from a source that may not send one (it would choose its own client address).
   */
  function readHeaderThenRoute(flow: Flow, listener: AcceptingListener): void {
    const trusted = listener.proxyProtocolFrom
    if (trusted !== undefined && !inAddressList(trusted, flow.sourceIp)) {
      const error = new ProxyHeaderUntrustedError(flow.sourceIp, listener.name)
      refuseBeforeRoute(flow, listener, 'proxy_protocol', error, endBeforeUpstream)
      return
    }
    readProxyHeader(flow.downstream).then(
      (header) => {
        if (flow.state === 'closed') return
        flow.proxied = header.addresses
        inspectThenRoute(flow, listener)
      },
      (error: Error) => refuseBeforeRoute(flow, listener, 'proxy_protocol', error, endBeforeUpstream),
    )
  }

  /** What the client sent before routing was not what its listener expects: counted and closed. */
  function refuseBeforeRoute(
    flow: Flow,
    listener: AcceptingListener,
    reason: 'proxy_protocol' | 'client_hello' | 'handshake',
    error: Error,
    end: typeof endBeforeUpstream,
  ): void {
    if (flow.state === 'closed') return
    listener.counters.rejected[reason]++
    flow.error = error
    end(flow, 'rejected')
  }

  function inspectThenRoute(flow: Flow, listener: AcceptingListener): void {
    if (listener.inspectSni === true) readServerNameThenRoute(flow, listener)
    else if (listener.handshake === undefined) routeFlow(flow, listener)
    else readRequestThenRoute(flow, listener, listener.handshake)
  }

  /** The client names its destination; bytes it sends after the request stay for the relay. */
  function readRequestThenRoute(flow: Flow, listener: AcceptingListener, protocol: ListenerHandshake): void {
    readClientRequest(flow.downstream, protocol, listener.users).then(
      (request) => {
        if (flow.state === 'closed') return
        flow.destination = formatHostPort(request.destination.host, request.destination.port)
        routeRequest(flow, listener, request)
      },
      (error: Error) => refuseBeforeRoute(flow, listener, 'handshake', error, endAfterReply),
    )
  }

  /** Like routeFlow, for a flow whose client named a destination: its route's allow decides. */
  function routeRequest(flow: Flow, listener: AcceptingListener, request: ClientRequest): void {
    if (refusedByPlugin(flow, listener)) {
      request.reply('not_allowed')
      endAfterReply(flow, 'rejected')
      return
    }
    const { decision, sourceIp } = decideFor(flow, listener)
    if (decision.kind === 'reject') {
      listener.counters.rejected.no_route++
      request.reply('not_allowed')
      endAfterReply(flow, 'no_route')
      return
    }
    const route = decision.handler
    route.matches[decision.source]++
    flow.route = route.config.name
    admitDestination(route.config, request.destination).then(
      (admission) => {
        if (flow.state === 'closed') return
        if ('dial' in admission)
          return connectRequest(flow, route, sourceIp, listener.origin, admission.dial, request)
        listener.counters.rejected.not_allowed++
        flow.error = admission.refusal
        request.reply('not_allowed')
        endAfterReply(flow, 'rejected')
      },
      (error: Error) => {
        if (flow.state !== 'closed') requestFailed(flow, error, request)
      },
    )
  }

  /** The client hears `ok` only once the upstream is connected, and why not when it is not. */
  function connectRequest(
    flow: Flow,
    route: RouteRuntime,
    sourceIp: string | undefined,
    origin: FlowOrigin,
    dial: Destination,
    request: ClientRequest,
  ): void {
    flow.traffic = route.traffic
    flow.state = 'connecting'
    route.connect(sourceIp ?? balanceKey(route, flow), origin, dial).then(
      (conn) => {
        if (flow.state !== 'closed') request.reply('ok')
        established(flow, route, conn)
      },
      (error: Error) => requestFailed(flow, error, request),
    )
  }

  function requestFailed(flow: Flow, error: Error, request: ClientRequest): void {
    flow.error = error
    manager.failedFlows++
    request.reply(failureOutcome(error))
    endAfterReply(flow, 'upstream_unavailable')
  }

  /** The ClientHello is read and put back: the target gets the handshake untouched. */
  function readServerNameThenRoute(flow: Flow, listener: AcceptingListener): void {
    readServerName(flow.downstream).then(
      (serverName) => {
        if (flow.state === 'closed') return
        flow.serverName = serverName
        routeFlow(flow, listener)
      },
      (error: Error) => refuseBeforeRoute(flow, listener, 'client_hello', error, endBeforeUpstream),
    )
  }

  /**
   * The route the current table gives the flow. `sourceIp` is read only when a route matches on
   * it (a system call per flow otherwise saved); undefined then.
   */
  function decideFor(flow: Flow, listener: AcceptingListener) {
    const routes = engine.table()
    const sourceIp = routes.matchesSource ? flow.sourceIp : undefined
    return { decision: decide(contextOf(flow, listener, sourceIp ?? ''), routes), sourceIp }
  }

  /** The plugins' say; a refused flow is counted and ended (after any reply written so far). */
  function refusedByPlugin(flow: Flow, listener: AcceptingListener): boolean {
    const refusal = deps.admit?.(flow, listener)
    if (refusal === undefined) return false
    listener.counters.rejected.plugin++
    flow.error = refusal
    return true
  }

  function routeFlow(flow: Flow, listener: AcceptingListener): void {
    if (refusedByPlugin(flow, listener)) {
      endBeforeUpstream(flow, 'rejected')
      return
    }
    const { decision, sourceIp } = decideFor(flow, listener)
    if (decision.kind === 'reject') {
      resolveThenConnect(flow, listener, sourceIp ?? flow.sourceIp)
      return
    }
    const runtime = decision.handler
    runtime.matches[decision.source]++
    connect(flow, runtime, sourceIp, listener.origin)
  }

  return function onConnection(socket: Socket, listener: AcceptingListener): void {
    listener.counters.total++
    listener.counters.active++
    const flow = manager.open(socket, listener)
    flow.state = 'routing'
    if (listener.terminatesTls === true) flow.serverName = serverNameOf(socket as TLSSocket)
    if (listener.proxyProtocol === true) readHeaderThenRoute(flow, listener)
    else inspectThenRoute(flow, listener)
  }
}

function contextOf(flow: Flow, listener: AcceptingListener, sourceIp: string): FlowContext {
  return { listener: listener.name, localPort: listener.port, sourceIp, serverName: flow.serverName }
}

function serverNameOf(socket: TLSSocket): string | undefined {
  const name = socket.servername
  return typeof name === 'string' && name !== '' ? name.toLowerCase() : undefined
}

/** What the route's balancer hashes: the client's address for source_hash, nothing to read otherwise. */
function balanceKey(route: RouteRuntime, flow: Flow): string {
  return route.config.lb === 'source_hash' ? flow.sourceIp : ''
}
