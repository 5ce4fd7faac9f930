/** The graph path computation runs on, built from the registry and the link table. */
import type { LinkCost } from './config/types.ts'
import type { Graph, GraphLink, GraphNode } from './paths/types.ts'
import type { LinkView } from './telemetry.ts'

export interface GraphNodeInput {
  readonly id: string
  readonly region: string
  readonly connected: boolean
}

/** Price per GB of a link between two regions: link_costs are directional, as written. */
export function linkCostPerGb(costs: readonly LinkCost[], fromRegion: string, toRegion: string): number {
  return costs.find((c) => c.fromRegion === fromRegion && c.toRegion === toRegion)?.perGb ?? 0
}

/** Links to nodes the scheduler has never heard from are left out: no path can end or relay there. */
export function buildGraph(
  nodes: readonly GraphNodeInput[],
  links: readonly LinkView[],
  costs: readonly LinkCost[],
): Graph {
  const graphNodes = new Map<string, GraphNode>(
    nodes.map((n) => [n.id, { id: n.id, region: n.region, up: n.connected }]),
  )
  const out = new Map<string, GraphLink[]>()
  for (const l of links) {
    const from = graphNodes.get(l.from)
    const to = graphNodes.get(l.to)
    if (!from || !to) continue
    const list = out.get(l.from) ?? []
    list.push({
      from: l.from,
      to: l.to,
      up: l.up,
      rttMs: l.rttMs,
      jitterMs: l.jitterMs,
      loss: l.loss,
      throughputBps: l.throughputBps,
      costPerGb: linkCostPerGb(costs, from.region, to.region),
    })
    out.set(l.from, list)
  }
  return { nodes: graphNodes, links: out }
}
