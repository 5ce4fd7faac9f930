/**
 * One path question (graph, ends, objective, constraints) prepared for repeated searches with
 * nodes and edges banned, and the ranking of whole paths under the objective.
 */
import { PathArgumentError } from '../../errors/paths.ts'
import { type CompiledGraph, compile, nodeMasks } from './compiled.ts'
import { labelLess } from './label.ts'
import { additivePotential, widestPotential } from './potential.ts'
import { scratchFor } from './scratch.ts'
import { type SearchSpace, shortestWalk, type Walk, widestBottleneck } from './search.ts'
import type { ComputedPath, Graph, Objective, PathConstraints } from './types.ts'
import { measureLinks, objectiveCost, pathKey } from './weights.ts'

export interface Problem {
  readonly g: CompiledGraph
  readonly space: SearchSpace
  readonly bannedNodes: Uint8Array
  readonly bannedEdges: Uint8Array
  readonly source: number
  readonly target: number
  readonly objective: Objective
  readonly maxHops: number
}

/** A path with its ranking key: (primary, tie-break, hops), lower is better. */
export interface Candidate {
  readonly walk: Walk
  readonly path: ComputedPath
  readonly id: string
  readonly rank: readonly [number, number, number]
  /** Where it left the path it was derived from (Yen's spur index; 0 for a first path). */
  readonly deviation: number
}

/** Undefined when no path can exist: an end unknown, down or excluded by the constraints. */
export function makeProblem(
  graph: Graph,
  from: string,
  to: string,
  objective: Objective,
  constraints: PathConstraints,
): Problem | undefined {
  const g = compile(graph)
  const source = g.index.get(from)
  const target = g.index.get(to)
  if (source === undefined || target === undefined) return undefined
  const masks = nodeMasks(g, constraints)
  if (masks.endpoint[source] !== 1 || masks.endpoint[target] !== 1) return undefined
  const maxHops = constraints.maxHops ?? Number.POSITIVE_INFINITY
  if (!(maxHops >= 0)) throw new PathArgumentError('maxHops', maxHops, 'an integer ≥ 0')
  // Shared by every problem on this graph: each clears them before searching (rankedPaths,
  // greedyDisjoint), and no problem is searched while another one on the graph is.
  const { bannedNodes, bannedEdges } = scratchFor(g)
  const space = { g, relay: masks.relay, bannedNodes, bannedEdges }
  return { g, space, bannedNodes, bannedEdges, source, target, objective, maxHops: Math.floor(maxHops) }
}

export function checkCount(name: string, value: number): void {
  if (!(Number.isInteger(value) && value >= 1)) throw new PathArgumentError(name, value, 'an integer ≥ 1')
}

const NO_FLOOR = Number.NEGATIVE_INFINITY

/**
 * The best path from `start` to the target under the current bans, given that the path found is
 * appended to a root whose bottleneck is `rootWidth` (only the throughput objective cares: the
 * whole path's bottleneck is the smaller of the two, so any spur at least that wide ties).
 */
export function search(p: Problem, start: number, hopsLeft: number, rootWidth: number): Walk | undefined {
  if (hopsLeft < 1) return undefined
  const { g, target } = p
  // Potentials serve the Dijkstra path only; hop-limited searches are layered and exhaustive.
  const aStar = hopsLeft >= g.ids.length - 1
  if (p.objective === 'cost') {
    const potential = aStar ? additivePotential(g, target, 'cost') : undefined
    const weights = { primary: g.cost, secondary: g.latency, minCapacity: NO_FLOOR, potential }
    return shortestWalk(p.space, weights, start, target, hopsLeft)
  }
  const potential = aStar ? additivePotential(g, target, 'latency') : undefined
  if (p.objective === 'latency') {
    return shortestWalk(
      p.space,
      { primary: g.latency, minCapacity: NO_FLOOR, potential },
      start,
      target,
      hopsLeft,
    )
  }
  const bound = potential ? { width: widestPotential(g, target), latency: potential.a } : undefined
  if (bound) {
    // Optimistic first: if a path as wide as the unbanned graph allows still exists, it is the
    // answer, and a latency search restricted to that width finds it without a widest search.
    const hope = Math.min(bound.width[start]!, rootWidth)
    const walk = shortestWalk(
      p.space,
      { primary: g.latency, minCapacity: hope, potential },
      start,
      target,
      hopsLeft,
    )
    if (walk) return walk
  }
  const widest = widestBottleneck(p.space, start, target, hopsLeft, bound)
  if (widest === Number.NEGATIVE_INFINITY) return undefined
  const minCapacity = Math.min(widest, rootWidth)
  return shortestWalk(p.space, { primary: g.latency, minCapacity, potential }, start, target, hopsLeft)
}

export function toCandidate(p: Problem, walk: Walk, deviation = 0): Candidate {
  const links = walk.edges.map((e) => p.g.links[e]!)
  const { metrics, latency } = measureLinks(links)
  const nodes = walk.nodes.map((v) => p.g.ids[v]!)
  const hops = links.length
  const path: ComputedPath = { nodes, cost: objectiveCost(p.objective, metrics, latency, hops), metrics }
  return { walk, path, id: pathKey(nodes), rank: rankOf(p.objective, path, latency, hops), deviation }
}

function rankOf(objective: Objective, path: ComputedPath, latency: number, hops: number) {
  switch (objective) {
    case 'latency':
      return [latency, 0, hops] as const
    case 'cost':
      return [path.metrics.costPerGb, latency, hops] as const
    case 'throughput': {
      const width = hops === 0 ? Number.POSITIVE_INFINITY : path.metrics.bottleneckBps
      return [-width, latency, hops] as const
    }
  }
}

export function compareCandidates(x: Candidate, y: Candidate): number {
  const [a1, b1, h1] = x.rank
  const [a2, b2, h2] = y.rank
  if (labelLess(a1, b1, h1, a2, b2, h2)) return -1
  if (labelLess(a2, b2, h2, a1, b1, h1)) return 1
  return x.id < y.id ? -1 : x.id > y.id ? 1 : 0
}

export function singleNode(p: Problem): Candidate {
  return toCandidate(p, { nodes: [p.source], edges: [] })
}

export function widthOf(p: Problem, edges: readonly number[]): number {
  let width = Number.POSITIVE_INFINITY
  for (const e of edges) width = Math.min(width, p.g.capacity[e]!)
  return width
}
