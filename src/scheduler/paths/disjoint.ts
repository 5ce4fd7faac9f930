/**
 * Paths that share no relay and no link, for multipath services: a relay's death then takes
 * down one subflow only.
 */
import { clearlyAbove } from './bound.ts'
import {
  type Candidate,
  checkCount,
  compareCandidates,
  costFloor,
  makeProblem,
  type Problem,
  search,
  toCandidate,
} from './problem.ts'
import type { ComputedPath, Graph, Objective, PathConstraints } from './types.ts'
import { firstPath, rankedPaths } from './yen.ts'

/** How many of Yen's paths, per path wanted, the fallback picks a disjoint set from. */
const FALLBACK_PATHS_PER_WANTED = 4
const FALLBACK_MIN_PATHS = 8

/** Up to `n` pairwise disjoint paths from `from` to `to`, best first (disjointFrom). */
export function disjointPaths(
  graph: Graph,
  from: string,
  to: string,
  n: number,
  objective: Objective,
  constraints: PathConstraints = {},
): ComputedPath[] {
  checkCount('n', n)
  const p = makeProblem(graph, from, to, objective, constraints)
  const first = p && firstPath(p)
  return p && first ? disjointFrom(p, n, first) : []
}

/**
 * Disjoint paths end at one node: with several egresses, the egress giving the most paths wins,
 * then the one whose best path is cheapest, then the one listed first. The most promising egress
 * (by the lower bound of its costs) is worked out first; once one gives `n` paths, an egress whose
 * bound, or then whose first path, costs clearly more can not win and is left.
 */
export function disjointPathsToAny(
  graph: Graph,
  from: string,
  egresses: readonly string[],
  n: number,
  objective: Objective,
  constraints: PathConstraints = {},
): ComputedPath[] {
  checkCount('n', n)
  const starts: { readonly p: Problem; readonly floor: number; readonly order: number }[] = []
  for (const egress of new Set(egresses)) {
    const p = makeProblem(graph, from, egress, objective, constraints)
    if (p) starts.push({ p, floor: costFloor(p), order: starts.length })
  }
  starts.sort((x, y) => x.floor - y.floor || x.order - y.order)
  let best: Winner = { paths: [], order: -1 }
  for (const { p, floor, order } of starts) {
    if (cannotWin(floor, order, best, n, objective)) continue
    const first = firstPath(p)
    if (!first || cannotWin(first.path.cost, order, best, n, objective)) continue
    const paths = disjointFrom(p, n, first)
    if (beats(paths, order, best)) best = { paths, order }
  }
  return [...best.paths]
}

interface Winner {
  readonly paths: readonly ComputedPath[]
  readonly order: number
}

/**
 * An egress none of whose paths costs less than `cost` can not beat `n` paths whose best costs
 * clearly less. A throughput cost is exact (no sum), so there an equal cost also loses, to the
 * egress listed before.
 */
function cannotWin(cost: number, order: number, best: Winner, n: number, objective: Objective): boolean {
  const top = best.paths[0]
  if (best.paths.length < n || !top) return false
  return (
    clearlyAbove(cost, top.cost) || (objective === 'throughput' && cost === top.cost && order > best.order)
  )
}

function beats(paths: readonly ComputedPath[], order: number, than: Winner): boolean {
  if (paths.length !== than.paths.length) return paths.length > than.paths.length
  const [a, b] = [paths[0], than.paths[0]]
  return a !== undefined && b !== undefined && (a.cost < b.cost || (a.cost === b.cost && order < than.order))
}

/**
 * Greedy first (the best path, then the best that avoids it, …); when that strands the search
 * (the best path cuts every other), the largest disjoint set among the top few Yen paths,
 * earliest-ranked first, replaces it.
 */
function disjointFrom(p: Problem, n: number, first: Candidate): ComputedPath[] {
  if (p.source === p.target) return [first.path]
  const greedy = greedyDisjoint(p, n, first)
  if (greedy.length === n) return greedy.map((c) => c.path)
  const pool = rankedPaths(p, Math.max(FALLBACK_MIN_PATHS, FALLBACK_PATHS_PER_WANTED * n), first)
  const picked = largestDisjointSet(pool, n)
  const best = picked.length > greedy.length ? picked : greedy
  return best.sort(compareCandidates).map((c) => c.path)
}

function greedyDisjoint(p: Problem, n: number, first: Candidate): Candidate[] {
  p.bannedNodes.fill(0)
  p.bannedEdges.fill(0)
  const chosen: Candidate[] = []
  for (let walk: Candidate['walk'] | undefined = first.walk; walk && chosen.length < n; ) {
    for (const v of walk.nodes.slice(1, -1)) p.bannedNodes[v] = 1
    for (const e of walk.edges) p.bannedEdges[e] = 1
    chosen.push(chosen.length === 0 ? first : toCandidate(p, walk))
    walk = chosen.length < n ? search(p, p.source, p.maxHops) : undefined
  }
  return chosen
}

/** Depth-first over ranked paths; the first set found of the largest size is the best ranked. */
function largestDisjointSet(pool: readonly Candidate[], n: number): Candidate[] {
  let best: Candidate[] = []
  const current: Candidate[] = []
  const visit = (from: number): boolean => {
    if (current.length > best.length) best = [...current]
    if (best.length === n) return true
    for (let i = from; i < pool.length; i++) {
      if (pool.length - i + current.length <= best.length) return false
      const c = pool[i]!
      if (!current.every((other) => disjoint(c, other))) continue
      current.push(c)
      if (visit(i + 1)) return true
      current.pop()
    }
    return false
  }
  visit(0)
  return best
}

function disjoint(a: Candidate, b: Candidate): boolean {
  const relays = new Set(a.walk.nodes.slice(1, -1))
  if (b.walk.nodes.slice(1, -1).some((v) => relays.has(v))) return false
  const edges = new Set(a.walk.edges)
  return !b.walk.edges.some((e) => edges.has(e))
}
