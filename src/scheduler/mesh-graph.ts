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

/**
 * Whether two graphs hold the same nodes and links in the same order: the scheduler then keeps
 * the older object, and with it everything computed on it (compiled form, potentials, answers).
 * Order counts because it decides which of two equally good paths a search meets first.
 */
export function sameGraph(a: Graph, b: Graph): boolean {
  if (a.nodes.size !== b.nodes.size || a.links.size !== b.links.size) return false
  const bNodes = b.nodes.values()
  for (const x of a.nodes.values()) {
    const y = bNodes.next().value
    if (!y || x.id !== y.id || x.region !== y.region || x.up !== y.up) return false
  }
  const bLinks = b.links.entries()
  for (const [from, xs] of a.links) {
    const next = bLinks.next().value
    if (!next || next[0] !== from || !sameLinks(xs, next[1])) return false
  }
  return true
}

function sameLinks(xs: readonly GraphLink[], ys: readonly GraphLink[]): boolean {
  return xs.length === ys.length && xs.every((x, i) => sameLink(x, ys[i]!))
}

function sameLink(x: GraphLink, y: GraphLink): boolean {
  return (
    x.to === y.to &&
    x.up === y.up &&
    x.rttMs === y.rttMs &&
    x.jitterMs === y.jitterMs &&
    x.loss === y.loss &&
    x.throughputBps === y.throughputBps &&
    x.costPerGb === y.costPerGb
  )
}

/**
 * The graph last planned on, kept as long as what it is built from is unchanged: a recompute that
 * moves nothing (a service's targets changed) plans on the same object, so everything computed on
 * it is reused (compiled form, potentials, path answers).
 */
export class KeptGraph {
  #graph: Graph | undefined
  #key: string | undefined
  #validUntil = Number.NEGATIVE_INFINITY

  /**
   * `key` names the inputs' versions (undefined: unknown, build every time); `build` makes the
   * graph and says until when it holds. A rebuilt graph equal to the kept one keeps the kept one.
   */
  get(key: string | undefined, now: number, build: () => { graph: Graph; validUntil: number }): Graph {
    if (this.#graph && key !== undefined && key === this.#key && now <= this.#validUntil) return this.#graph
    const fresh = build()
    if (!this.#graph || !sameGraph(this.#graph, fresh.graph)) this.#graph = fresh.graph
    this.#key = key
    this.#validUntil = fresh.validUntil
    return this.#graph
  }
}
