/**
 * DynamicRouteEngine: the route table every new flow is decided against, in the seed's order of
 * preference: a fresh scheduler instruction, else a stale cached instruction, else a static route,
 * else reject. Instruction routes come first in one chained table; whether they count as fresh or
 * cached only changes the decision source recorded, so both variants are compiled once per set and
 * a freshness change swaps a pointer.
 *
 * A set that gives a route no path while the route's paths still work leaves that route as it is
 * (instructions/hold.ts) until its paths fail on their own: every first hop seen down, or every
 * endpoint of a direct path unhealthy or ejected. Held routes are re-checked with freshness.
 */
import type { RouteConfig } from '../config/types.ts'
import { MeshNoRouteError } from '../errors/index.ts'
import type { MultipathConnection, UpstreamConnection } from '../flow/connection.ts'
import { MESH_LISTENER } from '../flow/flow.ts'
import type { FlowOrigin } from '../flow/origin.ts'
import {
  type HeldRoute,
  NO_ROUTES,
  type RoutesInForce,
  routesAfter,
  withoutFailed,
} from '../instructions/hold.ts'
import type { InstructionRoute } from '../instructions/index.ts'
import { chainTables, compileRoutes, decide, type RouteTable } from './decide.ts'
import { instructionRouteConfig } from './instruction-routes.ts'
import { createRouteRuntime, type ManagedRoute, type RouteRuntimeDeps, type RouteTotals } from './runtime.ts'

type Table = RouteTable<ManagedRoute>

/** What an on-demand resolve is asked about a flow that matches no route. */
export interface ResolveQuery {
  readonly listener: string
  readonly port: number
  readonly sourceIp: string
}

/** Who answers an on-demand resolve: the node's scheduler session, or a worker's primary. */
export interface RouteResolver {
  resolve(query: ResolveQuery): Promise<InstructionRoute | undefined>
}

export class DynamicRouteEngine {
  readonly #deps: RouteRuntimeDeps
  #static: ManagedRoute[]
  #staticTable: Table
  #instructions: ManagedRoute[] = []
  #inForce: RoutesInForce = NO_ROUTES
  #fresh: Table
  #stale: Table
  #isFresh = false
  #table: Table
  /** Set once the node knows who answers resolves (its scheduler session starts after the engine). */
  resolver: RouteResolver | undefined

  constructor(staticRoutes: readonly RouteConfig[], deps: RouteRuntimeDeps) {
    this.#deps = deps
    this.#static = staticRoutes.map((route) => createRouteRuntime(route, deps))
    this.#staticTable = tableOf(this.#static, 'static')
    this.#fresh = this.#staticTable
    this.#stale = this.#staticTable
    this.#table = this.#staticTable
  }

  /** The table for the next flow. */
  table(): Table {
    return this.#table
  }

  /** Every route runtime in force: instruction routes first, then static ones. */
  routes(): readonly ManagedRoute[] {
    return [...this.#instructions, ...this.#static]
  }

  staticRoutes(): readonly ManagedRoute[] {
    return this.#static
  }

  /**
   * Puts a new instruction set's routes in force for new flows. Flows already running keep the
   * sockets they have; the replaced routes only stop their health checks.
   */
  applyInstructions(routes: readonly InstructionRoute[]): void {
    const works = (r: InstructionRoute) => this.#works(r.name)
    const inForce = routesAfter(this.#inForce, routes, this.#deps.clock.now(), works)
    for (const h of inForce.held) {
      if (!this.#inForce.held.includes(h))
        this.#deps.logger.warn(
          { route: h.route.name },
          'the scheduler has no path for a route whose paths still work: they stay until they fail',
        )
    }
    this.#put(inForce)
  }

  /** Routes kept from earlier sets (see applyInstructions). */
  held(): readonly HeldRoute[] {
    return this.#inForce.held
  }

  /** Drops the held routes whose paths have all failed since; cheap when none is held. */
  recheckHeld(): void {
    if (this.#inForce.held.length === 0) return
    const inForce = withoutFailed(this.#inForce, (r) => this.#works(r.name))
    if (inForce === this.#inForce) return
    for (const h of this.#inForce.held) {
      if (!inForce.held.includes(h))
        this.#deps.logger.warn({ route: h.route.name }, 'a held route failed: it goes')
    }
    this.#put(inForce)
  }

  #put(inForce: RoutesInForce): void {
    const previous = this.#instructions
    this.#inForce = inForce
    this.#instructions = inForce.routes.map((r) => {
      const config = instructionRouteConfig(r)
      return createRouteRuntime(config, this.#deps, carriedTotals(previous, config))
    })
    for (const route of this.#instructions) route.start()
    this.#chain()
    for (const route of previous) route.close()
  }

  /** The route in force by that name can still carry a flow, as far as this node has seen. */
  #works(name: string): boolean {
    const runtime = this.#instructions.find((r) => r.config.name === name)
    if (runtime === undefined) return false
    const endpoints = runtime.endpoints()
    const paths = runtime.paths()
    const endpointUp = endpoints.some((e) => e.health !== 'unhealthy' && !e.ejected)
    if (paths.length === 0) return endpointUp
    return paths.some((p) => (p.firstHop === undefined ? endpointUp : p.firstHopState !== 'down'))
  }

  /** A config reload's static routes, in force for new flows; as with instructions, running flows keep theirs. */
  replaceStatic(routes: readonly RouteConfig[]): void {
    const previous = this.#static
    this.#static = routes.map((route) => createRouteRuntime(route, this.#deps))
    for (const route of this.#static) route.start()
    this.#staticTable = tableOf(this.#static, 'static')
    this.#chain()
    for (const route of previous) route.close()
  }

  #chain(): void {
    this.#fresh = chainTables(tableOf(this.#instructions, 'instruction'), this.#staticTable)
    this.#stale = chainTables(tableOf(this.#instructions, 'cached_instruction'), this.#staticTable)
    this.#select()
  }

  /**
   * A relayed flow that names no target goes by this node's own route for the port it arrived on
   * at its ingress (the seed's proxy chain), which may lead on through the mesh.
   */
  connectByIngressPort(
    port: number,
    sourceIp: string,
    origin: FlowOrigin,
  ): Promise<UpstreamConnection | MultipathConnection> {
    const decision = decide({ listener: MESH_LISTENER, localPort: port, sourceIp }, this.#table)
    if (decision.kind === 'reject') return Promise.reject(new MeshNoRouteError(this.#deps.nodeId, port))
    const route = decision.handler
    route.matches[decision.source]++
    return route
      .connect(sourceIp, origin)
      .then((conn): UpstreamConnection | MultipathConnection => ({ ...conn, lender: conn.lender ?? route }))
  }

  /**
   * Asks the resolver for a route for a flow no route takes (it answers within its own deadline,
   * undefined when there is none); undefined at once when the node has no one to ask.
   */
  resolve(query: ResolveQuery): Promise<ManagedRoute | undefined> | undefined {
    const resolver = this.resolver
    if (resolver === undefined) return undefined
    return resolver
      .resolve(query)
      .then((route) => route && createRouteRuntime(instructionRouteConfig(route), this.#deps))
  }

  /** Whether instruction routes are decided as fresh (`instruction`) or cached. */
  get fresh(): boolean {
    return this.#isFresh
  }

  setFresh(fresh: boolean): void {
    if (fresh === this.#isFresh) return
    this.#isFresh = fresh
    this.#select()
  }

  start(): void {
    for (const route of this.#static) route.start()
  }

  close(): void {
    for (const route of this.routes()) route.close()
  }

  #select(): void {
    this.#table = this.#isFresh ? this.#fresh : this.#stale
  }
}

function tableOf(
  routes: readonly ManagedRoute[],
  source: 'static' | 'instruction' | 'cached_instruction',
): Table {
  return compileRoutes(
    routes.map((runtime) => ({ route: runtime.config, handler: runtime })),
    source,
  )
}

/**
 * The counters of the route a new set replaces, when it is the same route over the same paths (a
 * renewal, or another route of the set changed): flows that started under the old set count on,
 * and the scheduler sees their bytes on each path (its stripe weights learn from them).
 */
export function carriedTotals(previous: readonly ManagedRoute[], next: RouteConfig): RouteTotals | undefined {
  const same = previous.find((p) => p.config.name === next.name && samePaths(p.config, next))
  return same && { matches: same.matches, traffic: same.traffic }
}

/** Same targets over the same hops, in the same mode; tokens and weights may differ. */
export function samePaths(a: RouteConfig, b: RouteConfig): boolean {
  return a.multipath === b.multipath && JSON.stringify(pathsOf(a)) === JSON.stringify(pathsOf(b))
}

function pathsOf(route: RouteConfig): unknown {
  const t = route.target
  const addresses = (endpoints: readonly { address: string }[] | undefined) =>
    endpoints?.map((e) => e.address)
  if (t.kind === 'requested') return ['requested', t.via]
  return t.kind === 'endpoints' ? addresses(t.endpoints) : t.paths.map((p) => [p.via, addresses(p.endpoints)])
}
