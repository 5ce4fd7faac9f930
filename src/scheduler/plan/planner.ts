/**
 * Services + graph → for each ingress node, the routes it should hold. Pure: the previous choices
 * go in and the new ones come out, so hysteresis is tested without a scheduler.
 *
 * Per (service, ingress): candidates to any egress (`alternatives` of them, or disjoint ones for
 * multipath), the engine keeps or switches the current choice, and the route lists the choice
 * first, the other candidates after it as fallbacks.
 */
import type { RouteMatch } from '../../config/types.ts'
import type {
  HysteresisSettings,
  IngressPoint,
  MultipathMode,
  ServiceSpec,
  ServiceTarget,
} from '../config/types.ts'
import type { HysteresisPolicy, PathSelection } from '../paths/hysteresis.ts'
import type { ComputedPath, Graph, Objective, PathConstraints } from '../paths/types.ts'
import type { PathEngine, PathQuery } from './engine.ts'

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
  /** Absent when no path reaches an egress (or the ingress node is down). */
  readonly route?: PlannedRoute
}

export interface PlanContext {
  readonly graph: Graph
  readonly engine: PathEngine
  readonly now: number
  readonly hysteresis: HysteresisSettings
}

export interface Plan {
  /** Routes per ingress node that is up; nodes with none are absent. */
  readonly routes: ReadonlyMap<string, readonly PlannedRoute[]>
  readonly selections: readonly Selection[]
  readonly choices: ReadonlyMap<string, PathSelection>
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

/**
 * One path per flow: weights fall with preference (100, 50, 33, …) and paths are tried in that
 * order. Multipath: every path carries an equal share.
 */
export function weightOf(index: number, multipath: boolean): number {
  return multipath ? 100 : Math.max(1, Math.round(100 / (index + 1)))
}

function samePath(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i])
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
  const choice = ctx.engine.choose(previous, candidates, policyOf(service.objective, ctx.hysteresis), ctx.now)
  if (!choice) return { ...base, candidates }
  const chosen = choice.path
  const others = candidates.filter((c) => !samePath(c.nodes, chosen.nodes))
  const ordered = [chosen, ...others].slice(0, query.count)
  const multipath = service.multipath !== undefined
  const route: PlannedRoute = {
    name: service.name,
    service: service.name,
    match: matchOf(point),
    paths: ordered.map((p, i) => ({
      nodes: p.nodes,
      hops: p.nodes.slice(1),
      targets: service.targets,
      weight: weightOf(i, multipath),
      cost: p.cost,
    })),
    ...(service.multipath && { multipath: service.multipath.mode }),
  }
  return { ...base, candidates, choice, route }
}

export function plan(
  services: readonly ServiceSpec[],
  ctx: PlanContext,
  previous: ReadonlyMap<string, PathSelection>,
): Plan {
  const selections: Selection[] = []
  const choices = new Map<string, PathSelection>()
  const routes = new Map<string, PlannedRoute[]>()
  for (const service of services) {
    for (const point of service.ingress) {
      const selection = planIngress(service, point, ctx, previous.get(selectionKey(service.name, point)))
      selections.push(selection)
      if (selection.choice) choices.set(selection.key, selection.choice)
      if (selection.route) addRoute(routes, point.node, selection.route)
    }
  }
  return { routes, selections, choices }
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
