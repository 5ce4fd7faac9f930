/**
 * Paths that share no relay and no link, for multipath services: a relay's death then takes
 * down one subflow only.
 */
import {
  type Candidate,
  checkCount,
  compareCandidates,
  makeProblem,
  type Problem,
  search,
  singleNode,
  toCandidate,
} from './problem.ts'
import type { ComputedPath, Graph, Objective, PathConstraints } from './types.ts'
import { rankedPaths } from './yen.ts'

/** How many of Yen's paths, per path wanted, the fallback picks a disjoint set from. */
const FALLBACK_PATHS_PER_WANTED = 4
const FALLBACK_MIN_PATHS = 8

/**
 * Up to `n` pairwise disjoint paths, best first. Greedy first (the best path, then the best that
 * avoids it, …); when that strands the search (the best path cuts every other), the largest
 * disjoint set among the top few Yen paths, earliest-ranked first, replaces it.
 */
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
  if (!p) return []
  if (p.source === p.target) return [singleNode(p).path]
  const greedy = greedyDisjoint(p, n)
  if (greedy.length === n) return greedy.map((c) => c.path)
  const pool = rankedPaths(p, Math.max(FALLBACK_MIN_PATHS, FALLBACK_PATHS_PER_WANTED * n))
  const picked = largestDisjointSet(pool, n)
  const best = picked.length > greedy.length ? picked : greedy
  return best.sort(compareCandidates).map((c) => c.path)
}

function greedyDisjoint(p: Problem, n: number): Candidate[] {
  p.bannedNodes.fill(0)
  p.bannedEdges.fill(0)
  const chosen: Candidate[] = []
  while (chosen.length < n) {
    const walk = search(p, p.source, p.maxHops, Number.POSITIVE_INFINITY)
    if (!walk) break
    for (const v of walk.nodes.slice(1, -1)) p.bannedNodes[v] = 1
    for (const e of walk.edges) p.bannedEdges[e] = 1
    chosen.push(toCandidate(p, walk))
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
