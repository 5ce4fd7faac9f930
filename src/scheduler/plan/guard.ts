/**
 * The rule, in one place: the scheduler never pushes a set that takes a working route away
 * because of what it does not know. Given what a node holds (the last set it was sent), what the
 * planner would send now and the scheduler's knowledge (knowledge.ts), this decides what to send.
 *
 * - A path the plan drops goes only on evidence: a node on it gone past its grace time, a link on
 *   it reported down by a known node, or an operator's change (its egress or targets no longer
 *   the service's, the service or its ingress removed). With every node of the route known, the
 *   plan is evidence enough.
 * - Otherwise the route keeps its last paths, and may gain the plan's new ones: the set only adds.
 * - A node holding a set whose routes are not known here (a scheduler restarted: it kept only the
 *   digest of what each node acked) is sent nothing until the whole view is known.
 *
 * Pure; table-tested in test/unit/scheduler-guard.test.ts.
 */
import type { IngressPoint, ServiceSpec } from '../config/types.ts'
import type { PathSelection } from '../paths/hysteresis.ts'
import type { Knowledge } from './knowledge.ts'
import { type Plan, type PlannedPath, type PlannedRoute, selectionKeyOf } from './planner.ts'

/** What a node holds: its routes, or `unreadable` when it holds a set whose content is not known here. */
export type HeldRoutes = readonly PlannedRoute[] | 'unreadable'

export type Guarded =
  /** `kept`: the routes that keep paths the plan dropped, for want of evidence. */
  | { readonly send: readonly PlannedRoute[]; readonly kept: readonly string[] }
  | { readonly hold: true; readonly reason: string }

export function guardRoutes(
  node: string,
  held: HeldRoutes | undefined,
  planned: readonly PlannedRoute[],
  k: Knowledge,
  services: ReadonlyMap<string, ServiceSpec>,
): Guarded {
  if (held === undefined) return { send: planned, kept: [] }
  if (held === 'unreadable') {
    return k.complete()
      ? { send: planned, kept: [] }
      : { hold: true, reason: 'it holds a set of its own and the view is not complete yet' }
  }
  const kept: string[] = []
  const send = planned.map((next) => {
    const last = held.find((r) => r.name === next.name)
    const route = last === undefined ? next : guardRoute(node, last, next, k, services.get(next.service))
    if (route !== next) kept.push(next.name)
    return route
  })
  // A route the plan no longer has: its service or ingress was removed, unless the spec says otherwise.
  for (const last of held) {
    if (planned.some((r) => r.name === last.name)) continue
    if (entersHere(services.get(last.service), node, last)) {
      send.push(last)
      kept.push(last.name)
    }
  }
  return { send, kept }
}

function guardRoute(
  node: string,
  last: PlannedRoute,
  next: PlannedRoute,
  k: Knowledge,
  spec: ServiceSpec | undefined,
): PlannedRoute {
  const nextKeys = new Set(next.paths.map(pathKey))
  const dropped = last.paths.filter((p) => !nextKeys.has(pathKey(p)))
  if (dropped.length === 0) return next
  if (routeKnown(node, last, next, k)) return next
  const removable = (p: PlannedPath) => broken(p, k) || !fits(p, last, spec)
  if (dropped.every(removable)) return next
  const lastKeys = new Set(last.paths.map(pathKey))
  const keptPaths = last.paths.filter((p) => nextKeys.has(pathKey(p)) || !removable(p))
  // Multipath routes keep their number of paths; others may gain the plan's new fallbacks.
  const added = last.multipath === undefined ? next.paths.filter((p) => !lastKeys.has(pathKey(p))) : []
  return { ...last, paths: [...keptPaths, ...added] }
}

/** Every node on the route's paths, before and now, and the ingress itself, is known or gone. */
function routeKnown(node: string, last: PlannedRoute, next: PlannedRoute, k: Knowledge): boolean {
  const nodes = new Set([node, ...last.paths.flatMap((p) => p.nodes), ...next.paths.flatMap((p) => p.nodes)])
  for (const n of nodes) if (k.state(n) === 'unknown') return false
  return true
}

function broken(p: PlannedPath, k: Knowledge): boolean {
  for (const [i, n] of p.nodes.entries()) {
    if (k.state(n) === 'gone') return true
    const to = p.nodes[i + 1]
    if (to !== undefined && k.linkDown(n, to)) return true
  }
  return false
}

/** The path still serves the service as the operator wrote it: same targets, an allowed egress, same mode. */
function fits(p: PlannedPath, route: PlannedRoute, spec: ServiceSpec | undefined): boolean {
  if (spec === undefined) return false
  const egress = p.nodes.at(-1)
  if (egress === undefined || !spec.egress.includes(egress)) return false
  if (route.multipath !== spec.multipath?.mode) return false
  return sameAddresses(
    p.targets.map((t) => t.address),
    spec.targets.map((t) => t.address),
  )
}

function entersHere(spec: ServiceSpec | undefined, node: string, route: PlannedRoute): boolean {
  return spec?.ingress.some((point) => point.node === node && sameMatch(point, route)) ?? false
}

function sameMatch(point: IngressPoint, route: PlannedRoute): boolean {
  return 'listener' in point ? route.match.listener === point.listener : route.match.port === point.port
}

function sameAddresses(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join('\u0000') === [...b].sort().join('\u0000')
}

/** A path's identity: the nodes it goes through and the targets it reaches; weights aside. */
export function pathKey(p: PlannedPath): string {
  return `${p.nodes.join('>')}|${p.targets
    .map((t) => t.address)
    .sort()
    .join(',')}`
}

export interface GuardedPlan {
  /** The plan with each node's routes as they may be sent. */
  readonly plan: Plan
  /** Nodes sent nothing for now, with why. */
  readonly held: ReadonlyMap<string, string>
  /** Routes that keep paths the plan dropped: `node/route`. */
  readonly kept: readonly string[]
}

/**
 * Applies the rule to every node a plan would be sent to. A route kept for want of evidence keeps
 * its previous choice too (or none): a path chosen while the view was partial would otherwise be
 * the current one once it is whole, and hysteresis would hold on to it.
 */
export function guardPlan(
  planned: Plan,
  previousChoices: ReadonlyMap<string, PathSelection>,
  nodes: readonly string[],
  heldRoutes: (node: string) => HeldRoutes | undefined,
  k: Knowledge,
  services: ReadonlyMap<string, ServiceSpec>,
): GuardedPlan {
  const routes = new Map(planned.routes)
  const choices = new Map(planned.choices)
  const held = new Map<string, string>()
  const kept: string[] = []
  const revert = (key: string | undefined) => {
    if (key === undefined) return
    const previous = previousChoices.get(key)
    if (previous) choices.set(key, previous)
    else choices.delete(key)
  }
  for (const node of nodes) {
    const guarded = guardRoutes(node, heldRoutes(node), planned.routes.get(node) ?? [], k, services)
    if ('hold' in guarded) {
      held.set(node, guarded.reason)
      for (const s of planned.selections) if (s.ingress.node === node) choices.delete(s.key)
      continue
    }
    routes.set(node, guarded.send)
    for (const name of guarded.kept) {
      const route = guarded.send.find((r) => r.name === name)
      if (route) revert(selectionKeyOf(node, route))
      kept.push(`${node}/${name}`)
    }
  }
  return { plan: { ...planned, routes, choices }, held, kept }
}
