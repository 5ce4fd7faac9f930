/**
 * Services + graph → for each ingress node, the routes it should hold. Pure: the previous choices
 * go in and the new ones come out, so hysteresis is tested without a scheduler.
 *
 * Per (service, ingress): candidates to any egress (`alternatives` of them, or disjoint ones for
 * multipath), the engine keeps or switches the current choice, and the route lists the choice
 * first, the other candidates after it as fallbacks, each with its weight (weights.ts).
 */
import type { RouteMatch } from '../../config/types.ts'
import type {
  HysteresisSettings,
  IngressPoint,
  MultipathMode,
  ServiceSpec,
  ServiceTarget,
} from '../config/types.ts'
import { pathKey } from '../paths/edge-costs.ts'
import type { HysteresisPolicy, PathSelection } from '../paths/hysteresis.ts'
import type { ComputedPath, Graph, Objective, PathConstraints } from '../paths/types.ts'
import type { PathEngine, PathQuery } from './engine.ts'
import {
  multipathWeights,
  type PathTraffic,
  rankWeight,
  type WeightMemory,
  type WeightPlan,
} from './path-weights.ts'

export interface PlannedPath {
  /** Ingress first, egress last. */
  readonly nodes: readonly string[]
  /** nodes[1..]: what the ingress tells the mesh to traverse. */
  readonly hops: readonly string[]
  readonly targets: readonly ServiceTarget[]
  readonly weight: number
  readonly cost: number
}

export interface PlannedRoute {
  readonly name: string
  readonly service: string
  readonly match: RouteMatch
  readonly paths: readonly PlannedPath[]
  readonly multipath?: MultipathMode
}

/** One (service, ingress) outcome, as GET /paths shows it. */
export interface Selection {
  readonly key: string
  readonly service: string
  readonly ingress: IngressPoint
  readonly candidates: readonly ComputedPath[]
  readonly choice?: PathSelection
  /** Stripe routes: their weights and what their shares taught; pass it to the next plan. */
  readonly weights?: WeightMemory
  /** Absent when no path reaches an egress (or the ingress node is down). */
  readonly route?: PlannedRoute
}

export interface PlanContext {
  readonly graph: Graph
  readonly engine: PathEngine
  readonly now: number
  readonly hysteresis: HysteresisSettings
  /**
   * Nodes not known yet (plan/knowledge.ts): a choice made while one that could relay for a
   * service is among them is provisional. Absent: none.
   */
  readonly unknownNodes?: ReadonlySet<string>
  /**
   * What ingress nodes reported each multipath route's paths sent, by selection key
   * (traffic.ts). Absent: nothing new is learned, the weights in force stay.
   */
  readonly traffic?: ReadonlyMap<string, PathTraffic>
}

export interface Plan {
  /**
   * Routes per ingress node that is up; nodes with none are absent. A service entering a node
   * that no path serves now has a route with no paths: the node then knows the route is still
   * wanted, unlike one the operator removed (it keeps paths that still work, see route/engine.ts).
   */
  readonly routes: ReadonlyMap<string, readonly PlannedRoute[]>
  readonly selections: readonly Selection[]
  readonly choices: ReadonlyMap<string, PathSelection>
  readonly weights: ReadonlyMap<string, WeightMemory>
}

export function selectionKey(service: string, point: IngressPoint): string {
  return `${service}|${point.node}|${'listener' in point ? `listener:${point.listener}` : `port:${point.port}`}`
}

export function matchOf(point: IngressPoint): RouteMatch {
  return 'listener' in point ? { listener: point.listener } : { port: point.port }
}

function constraintsOf(service: ServiceSpec): PathConstraints {
  const c = service.constraints
  return {
    ...(c.avoidRegions.length > 0 && { avoidRegions: c.avoidRegions }),
    ...(c.requireRegions.length > 0 && { requireRegions: c.requireRegions }),
    ...(c.maxHops !== undefined && { maxHops: c.maxHops }),
  }
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i])
}

/**
 * No node that could relay for the service is unknown. An egress's own links carry none of the
 * service's paths (they end there), so an egress not reported yet leaves the view complete enough.
 */
function relaysKnown(service: ServiceSpec, unknown: ReadonlySet<string> | undefined): boolean {
  if (unknown === undefined) return true
  for (const node of unknown) if (!service.egress.includes(node)) return false
  return true
}

/** hysteresis.absolute is a duration: it is the margin of the latency objective only. */
export function policyOf(objective: Objective, h: HysteresisSettings): HysteresisPolicy {
  return {
    objective,
    relativeThreshold: h.relative,
    minDwellMs: h.minDwellMs,
    ...(objective === 'latency' && { absoluteThreshold: h.absolute }),
  }
}

/** The current path competes while it still works, even when it fell out of the top k. */
function withCurrent(
  engine: PathEngine,
  query: PathQuery,
  candidates: ComputedPath[],
  current: PathSelection | undefined,
): ComputedPath[] {
  if (!current || candidates.some((c) => samePath(c.nodes, current.path.nodes))) return candidates
  const fresh = engine.evaluate(query, current.path.nodes)
  return fresh ? [...candidates, fresh].sort((a, b) => a.cost - b.cost) : candidates
}

export function planIngress(
  service: ServiceSpec,
  point: IngressPoint,
  ctx: PlanContext,
  previous: PathSelection | undefined,
  previousWeights?: WeightMemory,
): Selection {
  const key = selectionKey(service.name, point)
  const base = { key, service: service.name, ingress: point }
  if (ctx.graph.nodes.get(point.node)?.up !== true) return { ...base, candidates: [] }
  const query: PathQuery = {
    graph: ctx.graph,
    from: point.node,
    to: service.egress,
    objective: service.objective,
    constraints: constraintsOf(service),
    count: service.multipath?.paths ?? service.alternatives,
  }
  const found = service.multipath ? ctx.engine.disjoint(query) : ctx.engine.best(query)
  const candidates = withCurrent(ctx.engine, query, found, previous)
  const policy = policyOf(service.objective, ctx.hysteresis)
  const choice = ctx.engine.choose(
    previous,
    candidates,
    policy,
    ctx.now,
    relaysKnown(service, ctx.unknownNodes),
  )
  if (!choice) return { ...base, candidates }
  const chosen = choice.path
  const others = candidates.filter((c) => !samePath(c.nodes, chosen.nodes))
  const ordered = listed(service, [chosen, ...others].slice(0, query.count))
  const weighted = weightsOf(service, ordered, ctx, ctx.traffic?.get(key), previousWeights)
  const route: PlannedRoute = {
    name: service.name,
    service: service.name,
    match: matchOf(point),
    paths: ordered.map((p, i) => ({
      nodes: p.nodes,
      hops: p.nodes.slice(1),
      targets: service.targets,
      weight: weighted.weights[i] as number,
      cost: p.cost,
    })),
    ...(service.multipath && { multipath: service.multipath.mode }),
  }
  return { ...base, candidates, choice, ...(weighted.memory && { weights: weighted.memory }), route }
}

/**
 * One path and failover routes list the choice first, then the fallbacks best first. Stripe and
 * redundant flows use every path at once, so their order means nothing: it is fixed (by node
 * ids), and the planner's favourite changing among the same paths pushes nothing.
 */
function listed(service: ServiceSpec, paths: ComputedPath[]): ComputedPath[] {
  const mode = service.multipath?.mode
  if (mode === undefined || mode === 'failover') return paths
  return paths.sort((a, b) => (pathKey(a.nodes) < pathKey(b.nodes) ? -1 : 1))
}

function weightsOf(
  service: ServiceSpec,
  paths: readonly ComputedPath[],
  ctx: PlanContext,
  traffic: PathTraffic | undefined,
  previous: WeightMemory | undefined,
): WeightPlan {
  if (!service.multipath) return { weights: paths.map((_, i) => rankWeight(i)) }
  return multipathWeights({
    mode: service.multipath.mode,
    paths: paths.map((p) => pathKey(p.nodes)),
    bottlenecksBps: paths.map((p) => p.metrics.bottleneckBps),
    losses: paths.map((p) => p.metrics.loss),
    traffic,
    previous,
    now: ctx.now,
    minDwellMs: ctx.hysteresis.minDwellMs,
  })
}

export function plan(
  services: readonly ServiceSpec[],
  ctx: PlanContext,
  previous: ReadonlyMap<string, PathSelection>,
  previousWeights: ReadonlyMap<string, WeightMemory> = new Map(),
): Plan {
  const selections: Selection[] = []
  const choices = new Map<string, PathSelection>()
  const weights = new Map<string, WeightMemory>()
  const routes = new Map<string, PlannedRoute[]>()
  for (const service of services) {
    for (const point of service.ingress) {
      const key = selectionKey(service.name, point)
      const selection = planIngress(service, point, ctx, previous.get(key), previousWeights.get(key))
      selections.push(selection)
      if (selection.choice) choices.set(key, selection.choice)
      if (selection.weights) weights.set(key, selection.weights)
      if (selection.route) addRoute(routes, point.node, selection.route)
      else if (ctx.graph.nodes.get(point.node)?.up === true)
        addRoute(routes, point.node, unrouted(service, point))
    }
  }
  return { routes, selections, choices, weights }
}

function unrouted(service: ServiceSpec, point: IngressPoint): PlannedRoute {
  return {
    name: service.name,
    service: service.name,
    match: matchOf(point),
    paths: [],
    ...(service.multipath && { multipath: service.multipath.mode }),
  }
}

/** The selection a route of `node` comes from: the inverse of selectionKey. */
export function selectionKeyOf(
  node: string,
  route: Pick<PlannedRoute, 'service' | 'match'>,
): string | undefined {
  const { listener, port } = route.match
  if (listener !== undefined) return selectionKey(route.service, { node, listener })
  return port === undefined ? undefined : selectionKey(route.service, { node, port })
}

/** A service entering a node twice (two listeners) needs two route names on that node. */
function addRoute(routes: Map<string, PlannedRoute[]>, node: string, route: PlannedRoute): void {
  const list = routes.get(node) ?? []
  const taken = new Set(list.map((r) => r.name))
  let name = route.name
  for (let n = 2; taken.has(name); n++) name = `${route.name}#${n}`
  list.push(name === route.name ? route : { ...route, name })
  routes.set(node, list)
}
