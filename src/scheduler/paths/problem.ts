/**
 * One path question (graph, ends, objective, constraints) prepared for repeated searches with
 * nodes and edges banned, and the ranking of whole paths under the objective.
 */
import { PathArgumentError } from '../../errors/paths.ts'
import { clearlyAbove, type Rank, widthFloor } from './bound.ts'
import { type CompiledGraph, compile, nodeMasks } from './compiled.ts'
import { measureLinks, objectiveCost, pathKey, secondsPerGb } from './edge-costs.ts'
import { labelLess, near, TIE_TOLERANCE } from './label.ts'
import { type AdditivePotential, additivePotential, latencyOverWide, widestPotential } from './potential.ts'
import { scratchFor } from './scratch.ts'
import {
  admits,
  type SearchLimit,
  type SearchSpace,
  shortestWalk,
  type Walk,
  type WidestBounds,
  widestBottleneck,
} from './search.ts'
import type { ComputedPath, Graph, Objective, PathConstraints } from './types.ts'

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
  readonly rank: Rank
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

/** What a searched walk is appended to (Yen's root path): its bottleneck and its sums. */
export interface Root {
  readonly width: number
  readonly latency: number
  readonly cost: number
}

export const NO_ROOT: Root = { width: Number.POSITIVE_INFINITY, latency: 0, cost: 0 }

export function rootOf(p: Problem, edges: readonly number[]): Root {
  let width = Number.POSITIVE_INFINITY
  let latency = 0
  let cost = 0
  for (const e of edges) {
    width = Math.min(width, p.g.capacity[e]!)
    latency += p.g.latency[e]!
    cost += p.g.cost[e]!
  }
  return { width, latency, cost }
}

/**
 * The best path from `start` to the target under the current bans. A spur search (Yen) gives the
 * `root` it is appended to (only the throughput objective's choice depends on it: the whole path's
 * bottleneck is the smaller of the two, so any spur at least as wide as the root ties) and may give
 * a `bound`: then it also answers undefined when root + best ranks clearly worse than the bound.
 */
export function search(
  p: Problem,
  start: number,
  hopsLeft: number,
  root?: Root,
  bound?: Rank,
): Walk | undefined {
  if (hopsLeft < 1) return undefined
  const { g, target } = p
  const r = root ?? NO_ROOT
  // Potentials serve the Dijkstra path only; hop-limited searches are layered and exhaustive.
  const aStar = hopsLeft >= g.ids.length - 1
  if (p.objective === 'cost') {
    const potential = aStar ? additivePotential(g, target, 'cost') : undefined
    const weights = { primary: g.cost, secondary: g.latency, minCapacity: NO_FLOOR, potential }
    const limit = bound && { rank: bound, offsetA: r.cost, offsetB: r.latency }
    return shortestWalk(p.space, weights, start, target, hopsLeft, limit)
  }
  const potential = aStar ? additivePotential(g, target, 'latency') : undefined
  if (p.objective === 'latency') {
    const weights = { primary: g.latency, minCapacity: NO_FLOOR, potential }
    const limit = bound && { rank: bound, offsetA: r.latency, offsetB: 0 }
    return shortestWalk(p.space, weights, start, target, hopsLeft, limit)
  }
  return widestShortest(p, start, hopsLeft, r, root === undefined, potential, bound)
}

/**
 * Throughput: the widest bottleneck W the spur allows (capped by the root's), then the fastest
 * path over links at least W wide. The whole path's width is W before that last search runs, so
 * a bound prunes on width first and, where W ties the bound's, on latency.
 *
 * `optimistic`: first try the width the unbanned graph allows, which is the answer when it is
 * still there, and found by the latency search alone. A spur's own next link is banned, which
 * nearly always narrows its widest way, so spurs go to the widest search at once: the answer is
 * the same either way, as the try succeeds exactly when the widest search would find its width.
 */
function widestShortest(
  p: Problem,
  start: number,
  hopsLeft: number,
  root: Root,
  optimistic: boolean,
  potential: AdditivePotential | undefined,
  bound: Rank | undefined,
): Walk | undefined {
  const { g, target } = p
  // `limitAt`: the width whose tie with the bound makes latency decide (latencyLimit).
  const fastest = (minCapacity: number, limitAt = minCapacity) => {
    const limit = bound && latencyLimit(bound, limitAt, root)
    return shortestWalk(
      p.space,
      { primary: g.latency, minCapacity, potential },
      start,
      target,
      hopsLeft,
      limit,
    )
  }
  const reach = potential ? { width: widestPotential(g, target), latency: potential.a } : undefined
  let tried = Number.NaN
  if (reach) {
    const hope = Math.min(reach.width[start]!, root.width)
    if (bound && clearlyAbove(-hope, bound[0])) return undefined
    if (bound && !optimistic && !stepCanPlace(p, start, root, reach, bound, fastest)) return undefined
    if (optimistic) {
      const walk = fastest(hope)
      if (walk) return walk
      tried = hope
    }
  }
  const floor = bound ? widthFloor(bound) : NO_FLOOR
  const widest = widestBottleneck(p.space, start, target, hopsLeft, reach, floor)
  if (widest === Number.NEGATIVE_INFINITY) return undefined
  const minCapacity = Math.min(widest, root.width)
  // The same search found nothing already: only its limit can have stopped it.
  if (minCapacity === tried) return undefined
  return fastest(minCapacity)
}

/**
 * Whether a spur from `start` can rank as well as `bound`, judged one link ahead: it leaves by one
 * of start's admissible links, no wider than that link and what its head can reach, no faster
 * than that link and its head's latency bound. A spur's own next link is banned, and it is often
 * the only wide one: this turns most spurs away without a search. When the spur can at best tie
 * the bound's width, only a fast enough path that wide can place: one latency search, bounded,
 * says whether there is one, and the widest search runs only when there is.
 */
function stepCanPlace(
  p: Problem,
  start: number,
  root: Root,
  reach: WidestBounds,
  bound: Rank,
  fastest: (minCapacity: number, limitAt: number) => Walk | undefined,
): boolean {
  const { g, target, space } = p
  let width = Number.NEGATIVE_INFINITY
  let latency = Number.POSITIVE_INFINITY
  for (let e = g.offsets[start]!; e < g.offsets[start + 1]!; e++) {
    const v = g.heads[e]!
    if (!admits(space, start, target, e, v)) continue
    width = Math.max(width, Math.min(g.capacity[e]!, reach.width[v]!))
    latency = Math.min(latency, g.latency[e]! + reach.latency[v]!)
  }
  const best = Math.min(width, root.width)
  if (clearlyAbove(-best, bound[0])) return false
  if (!near(-best, bound[0])) return true
  // Which of two equal walks this search returns does not matter: it only says whether one exists.
  return (
    !clearlyAbove(root.latency + latency, bound[1]) && fastest(widthFloor(bound), -bound[0]) !== undefined
  )
}

/** Paths exactly `width` wide tie a bound as wide in the first component: latency decides. */
function latencyLimit(bound: Rank, width: number, root: Root): SearchLimit | undefined {
  if (!near(-width, bound[0])) return undefined
  return { rank: [bound[1], Number.POSITIVE_INFINITY, bound[2]], offsetA: root.latency, offsetB: 0 }
}

/**
 * A rank no path of the problem beats (bound.ts, clearlyWorse): the best label to the target from
 * the source ignoring bans and constraints (potential.ts). What an egress can hope for before any
 * search of it. Throughput: the widest bottleneck, then the lowest latency over links that wide (a
 * narrower path loses on the first weight whatever its latency).
 */
export function rankFloor(p: Problem): Rank {
  const { g, source, target } = p
  if (source === target) return [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY, 0]
  switch (p.objective) {
    case 'latency':
      return [additivePotential(g, target, 'latency').a[source]!, 0, 0]
    case 'cost': {
      const cost = additivePotential(g, target, 'cost')
      return [cost.a[source]!, cost.b[source]!, 0]
    }
    case 'throughput': {
      const width = widestPotential(g, target)[source]!
      if (width === Number.NEGATIVE_INFINITY) return [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 0]
      // Links a rounding narrower count as wide: a path that wide ties the widest (label.ts).
      const wide = width - 2 * TIE_TOLERANCE * Math.max(1, Math.abs(width))
      return [-width, latencyOverWide(g, target, wide)[source]!, 0]
    }
  }
}

/** A `ComputedPath.cost` no path of the problem goes below: rankFloor's first weight, as a cost. */
export function costFloor(p: Problem): number {
  if (p.source === p.target) return 0
  const [first] = rankFloor(p)
  return p.objective === 'throughput' ? secondsPerGb(-first) : first
}

export function toCandidate(p: Problem, walk: Walk, deviation = 0): Candidate {
  const links = walk.edges.map((e) => p.g.links[e]!)
  const { metrics, latency } = measureLinks(links)
  const nodes = walk.nodes.map((v) => p.g.ids[v]!)
  const hops = links.length
  const path: ComputedPath = { nodes, cost: objectiveCost(p.objective, metrics, latency, hops), metrics }
  return { walk, path, id: pathKey(nodes), rank: rankOf(p.objective, path, latency, hops), deviation }
}

function rankOf(objective: Objective, path: ComputedPath, latency: number, hops: number): Rank {
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
