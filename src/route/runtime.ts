/**
 * What a route does with a flow it takes: connect it to an endpoint (an upstream cluster), through
 * the mesh along the first of its paths that works, or (no target) to the destination its client
 * asked for. Paths whose first hop is down are tried last (local failover); a path answers only
 * once it works end to end, so a failed path costs the flow nothing but the attempt.
 */
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import type { EndpointConfig, MeshPathConfig, MultipathMode, RouteConfig } from '../config/types.ts'
import type { Destination } from '../connect-proxy/index.ts'
import {
  type ConnectFailureReason,
  ConnectProxyNotAllowedError,
  MeshPathRefusedError,
  MeshPathsUnavailableError,
  NodeStartError,
  UpstreamUnavailableError,
} from '../errors/index.ts'
import type {
  EndpointLender,
  MultipathConnection,
  RouteTraffic,
  UpstreamConnection,
} from '../flow/connection.ts'
import type { FlowOrigin } from '../flow/origin.ts'
import type { Logger } from '../log/logger.ts'
import { openThroughPeer } from '../mesh/outbound.ts'
import { ID_BYTES } from '../mesh/wire/constants.ts'
import type { OpenRequest } from '../mesh/wire/request.ts'
import { type Balancer, connectTcp, createBalancer, UpstreamCluster } from '../upstream/index.ts'
import type { Clock } from '../util/clock.ts'
import { formatHostPort } from '../util/host-port.ts'
import type { DecisionSource, EndpointStatus, PeerState, RoutePathStatus } from '../views/node-view.ts'
import type { RouteRuntime } from './connection.ts'
import { describePath, describeTarget } from './describe.ts'
import { orderPaths } from './path-order.ts'

/** The part of the peer manager that routes use. */
export interface MeshPeers {
  state(peer: string): PeerState | undefined
  dial(peer: string): Promise<Socket>
  flowStarted(peer: string): void
  flowEnded(peer: string): void
}

export interface RouteRuntimeDeps {
  readonly nodeId: string
  readonly clock: Clock
  readonly logger: Logger
  /** Absent when the node runs no mesh: then a mesh route cannot be used. */
  readonly peers: MeshPeers | undefined
  readonly token: string | undefined
}

export interface DatagramEndpoint {
  readonly address: string
  readonly host: string
  readonly port: number
}

export interface ManagedRoute extends RouteRuntime {
  /** Endpoint routes only: an endpoint for a UDP session, held until release(). */
  lease?(sourceIp: string): DatagramEndpoint | undefined
  start(): void
  close(): void
  endpoints(): EndpointStatus[]
  paths(): RoutePathStatus[]
}

/** A route's counters: a route replaced by the same route (a renewed instruction set) keeps them. */
export interface RouteTotals {
  readonly matches: Record<DecisionSource, number>
  readonly traffic: RouteTraffic
}

export function createRouteRuntime(
  route: RouteConfig,
  deps: RouteRuntimeDeps,
  totals: RouteTotals = newTotals(),
): ManagedRoute {
  const { kind } = route.target
  if (kind === 'endpoints') return new ClusterRoute(route, deps, totals)
  return kind === 'mesh' ? new MeshRoute(route, deps, totals) : new RequestedRoute(route, deps, totals)
}

function newTotals(): RouteTotals {
  return {
    matches: { instruction: 0, cached_instruction: 0, static: 0 },
    traffic: { bytesIn: 0, bytesOut: 0, failures: 0, paths: [] },
  }
}

class ClusterRoute implements ManagedRoute {
  readonly config: RouteConfig
  readonly matches: Record<DecisionSource, number>
  readonly traffic: RouteTraffic
  readonly #cluster: UpstreamCluster

  constructor(route: RouteConfig, deps: RouteRuntimeDeps, totals: RouteTotals) {
    this.config = route
    this.matches = totals.matches
    this.traffic = totals.traffic
    this.#cluster = new UpstreamCluster(route, { clock: deps.clock, logger: deps.logger })
  }

  connect(sourceIp: string): Promise<UpstreamConnection> {
    return this.#cluster.connect(sourceIp)
  }

  lease(sourceIp: string): DatagramEndpoint | undefined {
    return this.#cluster.lease(sourceIp)
  }

  release(endpoint: string): void {
    this.#cluster.release(endpoint)
  }

  start(): void {
    this.#cluster.start()
  }

  close(): void {
    this.#cluster.close()
  }

  endpoints(): EndpointStatus[] {
    return this.#cluster.status()
  }

  paths(): RoutePathStatus[] {
    return []
  }
}

interface PathRuntime extends EndpointLender {
  readonly via: readonly string[]
  readonly description: string
  connect(sourceIp: string, origin: FlowOrigin): Promise<UpstreamConnection>
}

class MeshRoute implements ManagedRoute {
  readonly config: RouteConfig
  readonly matches: Record<DecisionSource, number>
  readonly traffic: RouteTraffic
  readonly #paths: PathRuntime[]
  readonly #clusters: UpstreamCluster[] = []
  readonly #peers: MeshPeers

  constructor(route: RouteConfig, deps: RouteRuntimeDeps, totals: RouteTotals) {
    if (route.target.kind !== 'mesh') throw new TypeError(`route "${route.name}" is not a mesh route`)
    this.matches = totals.matches
    this.traffic = totals.traffic
    this.config = route
    this.#peers = meshPeersOf(route, deps)
    this.#paths = route.target.paths.map((path) => {
      if (path.via.length > 0) return new PeerPath(route, path, deps, this.#peers)
      const cluster = new UpstreamCluster(
        { ...route, target: { kind: 'endpoints', endpoints: path.endpoints ?? [] } },
        { clock: deps.clock, logger: deps.logger },
      )
      this.#clusters.push(cluster)
      return directPath(path, cluster)
    })
  }

  connect(sourceIp: string, origin: FlowOrigin): Promise<UpstreamConnection | MultipathConnection> {
    const mode = this.config.multipath
    return mode === undefined ? this.#connectOne(sourceIp, origin) : this.#connectAll(sourceIp, origin, mode)
  }

  async #connectOne(sourceIp: string, origin: FlowOrigin): Promise<UpstreamConnection> {
    const failures: { path: string; error: Error }[] = []
    for (const path of orderPaths(this.#paths, (peer) => this.#peers.state(peer))) {
      try {
        return await path.connect(sourceIp, origin)
      } catch (error) {
        failures.push({ path: path.description, error: error as Error })
      }
    }
    throw new MeshPathsUnavailableError(this.config.name, failures)
  }

  /**
   * Multipath: one framed subflow along every path at once, all to the same egress and target
   * under one flow id. The flow starts once any subflow is up; the others join as they answer.
   */
  async #connectAll(sourceIp: string, origin: FlowOrigin, mode: MultipathMode): Promise<MultipathConnection> {
    const paths = this.#paths.filter((p): p is PeerPath => p instanceof PeerPath)
    const target = paths[0]?.pickTarget(sourceIp)
    const flowOrigin = { ...origin, flowId: origin.flowId ?? randomBytes(ID_BYTES) }
    const open = (index: number) =>
      (paths[index] as PeerPath).open(flowOrigin, target, {
        mode: 'framed',
        subflowIndex: index,
        multipathMode: mode,
      })
    const opened = await Promise.allSettled(paths.map((_, index) => open(index)))
    const subflows = opened.flatMap((r, index) =>
      r.status === 'fulfilled' ? [{ index, socket: r.value }] : [],
    )
    if (subflows.length === 0) {
      const failures = opened.map((r, i) => ({
        path: paths[i]?.description ?? '',
        error: (r as PromiseRejectedResult).reason as Error,
      }))
      throw new MeshPathsUnavailableError(this.config.name, failures)
    }
    for (const { index } of subflows) this.#peers.flowStarted(paths[index]?.via[0] as string)
    paths[0]?.acquire(target)
    return {
      subflows,
      pathCount: paths.length,
      mode,
      ...(paths.every((p) => p.weight !== undefined) && { weights: paths.map((p) => p.weight as number) }),
      endpoint: `${mode} over ${paths.length} paths → ${target}`,
      lender: { release: () => this.#releaseAll(paths, target) },
      reopen: open,
    }
  }

  #releaseAll(paths: readonly PeerPath[], target: string | undefined): void {
    for (const path of paths) this.#peers.flowEnded(path.via[0] as string)
    paths[0]?.releaseTarget(target)
  }

  /** Connections are lent by the paths themselves; nothing is lent by the route. */
  release(): void {}

  start(): void {
    for (const cluster of this.#clusters) cluster.start()
  }

  close(): void {
    for (const cluster of this.#clusters) cluster.close()
  }

  endpoints(): EndpointStatus[] {
    return this.#clusters.flatMap((c) => c.status())
  }

  paths(): RoutePathStatus[] {
    return this.#paths.map((p, index) => {
      const first = p.via[0]
      const carried = this.traffic.paths[index]
      return {
        path: p.description,
        ...(first !== undefined && { firstHop: first, firstHopState: this.#peers.state(first) }),
        ...(carried && { carried: { ...carried } }),
      }
    })
  }
}

function meshPeersOf(route: RouteConfig, deps: RouteRuntimeDeps): MeshPeers {
  if (deps.peers !== undefined) return deps.peers
  throw new NodeStartError(
    `route "${route.name}" goes through peers, but this node runs no mesh (hint: add a mesh section with bind and token or tls)`,
  )
}

/**
 * A route without a target, for the flows of a `handshake` listener: each goes to the destination
 * its client asked for (the handler has checked it against the route's allow), directly or
 * through the route's `via` peers, whose last one connects to it.
 */
class RequestedRoute implements ManagedRoute {
  readonly config: RouteConfig
  readonly matches: Record<DecisionSource, number>
  readonly traffic: RouteTraffic
  readonly #path: PeerPath | undefined
  readonly #peers: MeshPeers | undefined

  constructor(route: RouteConfig, deps: RouteRuntimeDeps, totals: RouteTotals) {
    if (route.target.kind !== 'requested') throw new TypeError(`route "${route.name}" has a target`)
    this.config = route
    this.matches = totals.matches
    this.traffic = totals.traffic
    const { via } = route.target
    this.#peers = via.length > 0 ? meshPeersOf(route, deps) : undefined
    this.#path = this.#peers && new PeerPath(route, { via }, deps, this.#peers)
  }

  async connect(
    _sourceIp: string,
    origin: FlowOrigin,
    destination?: Destination,
  ): Promise<UpstreamConnection> {
    if (destination === undefined) {
      throw new ConnectProxyNotAllowedError(
        this.config.name,
        'no destination',
        'the flow named none (its listener has no handshake)',
      )
    }
    const target = formatHostPort(destination.host, destination.port)
    if (this.#path !== undefined) return this.#path.connectTo(target, origin)
    try {
      return {
        socket: await connectTcp(destination.host, destination.port, this.config.connectTimeoutMs),
        endpoint: target,
      }
    } catch (error) {
      const reason = (error as { reason?: ConnectFailureReason }).reason ?? 'other'
      throw new UpstreamUnavailableError(this.config.name, [{ endpoint: target, reason }], { cause: error })
    }
  }

  /** Nothing is lent per destination; a path's peer count is released by the path itself. */
  release(): void {}

  start(): void {}

  close(): void {}

  endpoints(): EndpointStatus[] {
    return []
  }

  paths(): RoutePathStatus[] {
    const path = this.#path
    const first = path?.via[0]
    if (path === undefined || first === undefined) return []
    return [
      { path: describeTarget(this.config.target), firstHop: first, firstHopState: this.#peers?.state(first) },
    ]
  }
}

function directPath(path: MeshPathConfig, cluster: UpstreamCluster): PathRuntime {
  return {
    via: path.via,
    description: describePath(path),
    connect: async (sourceIp) => {
      const conn = await cluster.connect(sourceIp)
      return { socket: conn.socket, endpoint: conn.endpoint, lender: cluster }
    },
    release: (endpoint) => cluster.release(endpoint),
  }
}

type Framing = Pick<OpenRequest, 'mode' | 'subflowIndex' | 'multipathMode'>

class PeerPath implements PathRuntime {
  readonly via: readonly string[]
  readonly description: string
  readonly #route: RouteConfig
  readonly #deps: RouteRuntimeDeps
  readonly #peers: MeshPeers
  readonly #endpoints: readonly EndpointConfig[] | undefined
  readonly #balancer: Balancer | undefined
  /** Flows open to each target of the path: what least_conn balances on. */
  readonly #load: { weight: number; active: number }[]
  readonly #eligible: Uint8Array
  /** A target's index, by its address and by the endpoint its flows name (what release is told). */
  readonly #indexByTarget = new Map<string, number>()
  readonly #indexByEndpoint = new Map<string, number>()
  readonly #token: Buffer | undefined
  readonly weight: number | undefined

  constructor(route: RouteConfig, path: MeshPathConfig, deps: RouteRuntimeDeps, peers: MeshPeers) {
    this.via = path.via
    this.#token = path.token
    this.weight = path.weight
    this.description = describePath(path)
    this.#route = route
    this.#deps = deps
    this.#peers = peers
    this.#endpoints = path.endpoints
    const endpoints = path.endpoints ?? []
    this.#balancer =
      endpoints.length > 0
        ? createBalancer(
            route.lb,
            endpoints.map((e) => e.address),
            Math.random,
          )
        : undefined
    this.#load = endpoints.map((e) => ({ weight: e.weight, active: 0 }))
    this.#eligible = new Uint8Array(endpoints.length).fill(1)
    endpoints.forEach((e, index) => {
      this.#indexByTarget.set(e.address, index)
      this.#indexByEndpoint.set(this.#describe(e.address), index)
    })
  }

  connect(sourceIp: string, origin: FlowOrigin): Promise<UpstreamConnection> {
    return this.connectTo(this.pickTarget(sourceIp), origin)
  }

  /** A raw data connection along this path to `target` (undefined: the last peer's own routes). */
  async connectTo(target: string | undefined, origin: FlowOrigin): Promise<UpstreamConnection> {
    const socket = await this.open(origin, target, { mode: 'raw', subflowIndex: 0 })
    this.#peers.flowStarted(this.via[0] as string)
    this.acquire(target)
    return { socket, endpoint: this.#describe(target), lender: this }
  }

  #describe(target: string | undefined): string {
    return `${this.via.join(' → ')} → ${target ?? 'its routes'}`
  }

  /** A flow to `target` opened (a multipath flow counts once, on its first path). */
  acquire(target: string | undefined): void {
    this.#addLoad(target === undefined ? undefined : this.#indexByTarget.get(target), 1)
  }

  releaseTarget(target: string | undefined): void {
    this.#addLoad(target === undefined ? undefined : this.#indexByTarget.get(target), -1)
  }

  #addLoad(index: number | undefined, delta: number): void {
    const load = index === undefined ? undefined : this.#load[index]
    if (load !== undefined) load.active += delta
  }

  /** One data connection along this path; the hops answer `ok` before it resolves. */
  open(origin: FlowOrigin, target: string | undefined, framing: Framing): Promise<Socket> {
    const [first, ...rest] = this.via as [string, ...string[]]
    if (origin.remainingHops < this.via.length) {
      const detail = `${this.via.length} hops needed, ${origin.remainingHops} left`
      return Promise.reject(
        new MeshPathRefusedError(this.description, 'hop_limit', this.#deps.nodeId, detail),
      )
    }
    return openThroughPeer(
      first,
      {
        flowId: origin.flowId ?? randomBytes(ID_BYTES),
        sourceNodeId: this.#deps.nodeId,
        remainingHops: origin.remainingHops - 1,
        visited: origin.crossed,
        remainingPath: rest,
        ...(target === undefined ? { ingressPort: origin.ingressPort } : { target }),
        routeId: this.#route.name,
        ...(this.#token && { pathToken: this.#token }),
        ...framing,
        ...(origin.traceId && { traceId: origin.traceId }),
      },
      {
        dial: (peer) => this.#peers.dial(peer),
        token: this.#deps.token,
        now: () => this.#deps.clock.now(),
        responseTimeoutMs: this.#route.connectTimeoutMs,
      },
    )
  }

  release(endpoint: string): void {
    this.#peers.flowEnded(this.via[0] as string)
    this.#addLoad(this.#indexByEndpoint.get(endpoint), -1)
  }

  pickTarget(sourceIp: string): string | undefined {
    if (this.#endpoints === undefined || this.#balancer === undefined) return undefined
    const index = this.#balancer.pick(this.#load, this.#eligible, sourceIp)
    return this.#endpoints[Math.max(index, 0)]?.address
  }
}
