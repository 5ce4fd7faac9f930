/**
 * Node reports → what each multipath route's paths carried, for the planner. A node counts bytes
 * per path index of the routes of the set it runs (its counters start from 0 with each set), so
 * the indices are read against the routes of that very set: the caller passes only nodes that run
 * the set planned for them.
 */
import type { IngressPoint } from '../config/types.ts'
import { pathKey } from '../paths/edge-costs.ts'
import type { NodeRouteReport } from '../registry.ts'
import type { PathTraffic } from './path-weights.ts'
import { type PlannedRoute, selectionKey } from './planner.ts'

export interface ReportingNode {
  readonly id: string
  /** The set the node runs, formatted: equal to the one its planned routes were pushed in. */
  readonly appliedVersion: string
  readonly routes: readonly NodeRouteReport[]
}

/** By selection key; only multipath routes whose paths reported something. */
export function reportedTraffic(
  planned: ReadonlyMap<string, readonly PlannedRoute[]>,
  nodes: readonly ReportingNode[],
): Map<string, PathTraffic> {
  const out = new Map<string, PathTraffic>()
  for (const node of nodes) {
    const routes = planned.get(node.id) ?? []
    for (const report of node.routes) {
      const route = routes.find((r) => r.name === report.route)
      if (!route?.multipath || report.paths.length === 0) continue
      out.set(
        selectionKey(route.service, ingressOf(node.id, route)),
        trafficOf(route, report, node.appliedVersion),
      )
    }
  }
  return out
}

/** The planner matches an ingress by its listener or its port (matchOf). */
function ingressOf(node: string, route: PlannedRoute): IngressPoint {
  const { listener, port } = route.match
  return listener !== undefined ? { node, listener } : { node, port: port ?? 0 }
}

/** A path the node reports nothing for carried nothing yet. */
function trafficOf(route: PlannedRoute, report: NodeRouteReport, version: string): PathTraffic {
  const bytesSent = new Map(route.paths.map((p) => [pathKey(p.nodes), 0]))
  for (const p of report.paths) {
    const path = route.paths[p.index]
    if (path) bytesSent.set(pathKey(path.nodes), p.bytesSent)
  }
  return { version, bytesSent }
}
