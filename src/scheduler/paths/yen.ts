/**
 * Yen's k shortest loopless paths. Each next path deviates from an accepted one at some spur
 * node: for every spur node of the last accepted path, ban the root's nodes and the edges accepted
 * paths with the same root take next, search the best spur, and keep the best candidate seen.
 */
import { BinaryHeap } from './heap.ts'
import {
  type Candidate,
  checkCount,
  compareCandidates,
  makeProblem,
  type Problem,
  search,
  singleNode,
  toCandidate,
  widthOf,
} from './problem.ts'
import type { ComputedPath, Graph, Objective, PathConstraints } from './types.ts'

/**
 * Up to `k` loopless paths from `from` to `to`, best first by `objective`. `from === to` gives the
 * one-node path. Unknown, down or excluded ends give none.
 */
export function kBestPaths(
  graph: Graph,
  from: string,
  to: string,
  k: number,
  objective: Objective,
  constraints: PathConstraints = {},
): ComputedPath[] {
  checkCount('k', k)
  const p = makeProblem(graph, from, to, objective, constraints)
  return p ? rankedPaths(p, k).map((c) => c.path) : []
}

/**
 * Up to `k` paths from `from` to any of `egresses`, best first: for a service several nodes can
 * reach the target from. The same as the best `k` of every egress's own `k` best, without ranking
 * the paths of egresses whose best path already loses to `k` others.
 */
export function bestPathsToAny(
  graph: Graph,
  from: string,
  egresses: readonly string[],
  k: number,
  objective: Objective,
  constraints: PathConstraints = {},
): ComputedPath[] {
  checkCount('k', k)
  const starts: { readonly p: Problem; readonly first: Candidate }[] = []
  for (const egress of new Set(egresses)) {
    const p = makeProblem(graph, from, egress, objective, constraints)
    const first = p && firstPath(p)
    if (p && first) starts.push({ p, first })
  }
  const ranked = new Map<Problem, Candidate[]>()
  const found: Candidate[] = []
  for (const { p, first } of [...starts].sort((x, y) => compareCandidates(x.first, y.first))) {
    if (found.length >= k && clearlyWorse(first, kth(found, k))) continue
    const paths = rankedPaths(p, k, first)
    ranked.set(p, paths)
    found.push(...paths)
  }
  // In egress order, as if every egress had been ranked: the sort sees the same sequence.
  return starts
    .flatMap(({ p }) => ranked.get(p) ?? [])
    .sort(compareCandidates)
    .slice(0, k)
    .map((c) => c.path)
}

/**
 * No path of an egress ranks better than its first one (Yen's paths come best first), so when the
 * first is worse than a candidate in hand by far more than rounding, so are all the others.
 */
export function clearlyWorse(x: Candidate, than: Candidate): boolean {
  const [a, b] = [x.rank[0], than.rank[0]]
  return a - b > PRUNE_MARGIN * Math.max(1, Math.abs(a), Math.abs(b))
}

/** Far above the label's tie tolerance (1e-9) and the drift of summing a path in another order. */
const PRUNE_MARGIN = 1e-6

function kth(candidates: readonly Candidate[], k: number): Candidate {
  return [...candidates].sort(compareCandidates)[k - 1]!
}

/** The best path, under no bans; undefined when there is none. */
export function firstPath(p: Problem): Candidate | undefined {
  if (p.source === p.target) return singleNode(p)
  p.bannedNodes.fill(0)
  p.bannedEdges.fill(0)
  const walk = search(p, p.source, p.maxHops, Number.POSITIVE_INFINITY)
  return walk && toCandidate(p, walk)
}

/** Up to `k` paths, best first; `first` when firstPath(p) is at hand already. */
export function rankedPaths(p: Problem, k: number, first = firstPath(p)): Candidate[] {
  if (!first) return []
  if (p.source === p.target) return [first]
  const accepted = [first]
  const seen = new Set([first.id])
  const pending = new BinaryHeap<Candidate>((x, y) => compareCandidates(x, y) < 0)
  while (accepted.length < k) {
    for (const c of spurCandidates(p, accepted)) {
      if (seen.has(c.id)) continue
      seen.add(c.id)
      pending.push(c)
    }
    const next = pending.pop()
    if (!next) break
    accepted.push(next)
  }
  return accepted
}

function spurCandidates(p: Problem, accepted: readonly Candidate[]): Candidate[] {
  const newest = accepted[accepted.length - 1]!
  const last = newest.walk
  const found: Candidate[] = []
  // Lawler: deviations before the newest path's own were searched when its parent was.
  for (let i = newest.deviation; i < last.edges.length; i++) {
    p.bannedNodes.fill(0)
    p.bannedEdges.fill(0)
    for (let j = 0; j < i; j++) p.bannedNodes[last.nodes[j]!] = 1
    for (const c of accepted) {
      if (sharesRoot(c.walk.nodes, last.nodes, i)) p.bannedEdges[c.walk.edges[i]!] = 1
    }
    const rootEdges = last.edges.slice(0, i)
    const spur = search(p, last.nodes[i]!, p.maxHops - i, widthOf(p, rootEdges))
    if (!spur) continue
    const nodes = [...last.nodes.slice(0, i), ...spur.nodes]
    found.push(toCandidate(p, { nodes, edges: [...rootEdges, ...spur.edges] }, i))
  }
  return found
}

/** Whether `a` starts with the first `i + 1` nodes of `b` and goes on from there. */
function sharesRoot(a: readonly number[], b: readonly number[], i: number): boolean {
  if (a.length <= i + 1) return false
  for (let j = 0; j <= i; j++) if (a[j] !== b[j]) return false
  return true
}
