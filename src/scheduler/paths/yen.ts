/**
 * Yen's k shortest loopless paths. Each next path deviates from an accepted one at some spur
 * node: for every spur node of the last accepted path, ban the root's nodes and the edges accepted
 * paths with the same root take next, search the best spur, and keep the best candidate seen.
 */
import { type Rank, clearlyWorse as rankClearlyWorse } from './bound.ts'
import { BinaryHeap } from './heap.ts'
import { labelLess } from './label.ts'
import {
  type Candidate,
  checkCount,
  compareCandidates,
  makeProblem,
  type Problem,
  rankFloor,
  rootOf,
  search,
  singleNode,
  toCandidate,
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
 * reach the target from. The same as the best `k` of every egress's own `k` best, without
 * searching egresses that can not beat `k` paths in hand (by the lower bounds to them, or by their
 * best path) and searching the others only for paths that can beat the `k`-th in hand.
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
  const problems: Problem[] = []
  for (const egress of new Set(egresses)) {
    const p = makeProblem(graph, from, egress, objective, constraints)
    if (p) problems.push(p)
  }
  // Every path in `found` is, or will be, in the answer's pool unless k others clearly beat it:
  // the k-th best of it bounds what is worth searching.
  const found: Candidate[] = []
  const bound = () => (found.length >= k ? kth(found, k) : undefined)
  const starts = firstPaths(problems, found, bound)
  const ranked = new Map<Problem, Candidate[]>()
  for (const { p, first } of starts.toSorted((x, y) => compareCandidates(x.first, y.first))) {
    const kthFound = bound()
    if (kthFound && clearlyWorse(first, kthFound)) continue
    const paths = rankedPaths(p, k, first, kthFound?.rank)
    ranked.set(p, paths)
    found.push(...paths.slice(1))
  }
  // In egress order, as if every egress had been ranked: the sort sees the same sequence.
  return starts
    .flatMap(({ p }) => ranked.get(p) ?? [])
    .sort(compareCandidates)
    .slice(0, k)
    .map((c) => c.path)
}

/**
 * The first path of each egress that can still place, the most promising first (by the lower
 * bounds to it): once k first paths are in hand, an egress whose bound loses to the k-th is
 * skipped unsearched. In egress order, and added to `found`.
 */
function firstPaths(
  problems: readonly Problem[],
  found: Candidate[],
  bound: () => Candidate | undefined,
): { readonly p: Problem; readonly first: Candidate }[] {
  const floors = new Map(problems.map((p) => [p, rankFloor(p)]))
  const firsts = new Map<Problem, Candidate>()
  for (const p of problems.toSorted((x, y) => compareRanks(floors.get(x)!, floors.get(y)!))) {
    const floor = floors.get(p)!
    const kthFound = bound()
    if (kthFound && rankClearlyWorse(floor[0], floor[1], kthFound.rank)) continue
    const first = firstPath(p, kthFound?.rank)
    if (!first || (kthFound && clearlyWorse(first, kthFound))) continue
    firsts.set(p, first)
    found.push(first)
  }
  return problems.flatMap((p) => {
    const first = firsts.get(p)
    return first ? [{ p, first }] : []
  })
}

/**
 * No path of an egress ranks better than its first one (Yen's paths come best first), so when the
 * first is clearly worse than a candidate in hand (bound.ts), so are all the others.
 */
export function clearlyWorse(x: Candidate, than: Candidate): boolean {
  return rankClearlyWorse(x.rank[0], x.rank[1], than.rank)
}

function kth(candidates: readonly Candidate[], k: number): Candidate {
  return [...candidates].sort(compareCandidates)[k - 1]!
}

/** The best path, under no bans; undefined when there is none, or none as good as `bound`. */
export function firstPath(p: Problem, bound?: Rank): Candidate | undefined {
  if (p.source === p.target) return singleNode(p)
  p.bannedNodes.fill(0)
  p.bannedEdges.fill(0)
  const walk = search(p, p.source, p.maxHops, undefined, bound)
  return walk && toCandidate(p, walk)
}

/**
 * Up to `k` paths, best first; `first` when firstPath(p) is at hand already. Spur searches look
 * only for paths that can still be accepted: better than the worst of the best pending candidates
 * that would fill the places left, and than `outside`, the rank of a path elsewhere that enough
 * others beat already (bestPathsToAny: the k-th best of the egresses ranked before).
 */
export function rankedPaths(p: Problem, k: number, first = firstPath(p), outside?: Rank): Candidate[] {
  if (!first) return []
  if (p.source === p.target) return [first]
  const accepted = [first]
  const seen = new Set([first.id])
  const pending = new BinaryHeap<Candidate>((x, y) => compareCandidates(x, y) < 0)
  const leaders: Candidate[] = []
  while (accepted.length < k) {
    const places = k - accepted.length
    leaders.length = Math.min(leaders.length, places)
    const bound = () => tighter(outside, leaders.length === places ? leaders[places - 1]!.rank : undefined)
    for (const c of spurCandidates(p, accepted, bound)) {
      if (seen.has(c.id)) continue
      seen.add(c.id)
      pending.push(c)
      lead(leaders, c, places)
    }
    const next = pending.pop()
    if (!next) break
    accepted.push(next)
    const at = leaders.indexOf(next)
    if (at >= 0) leaders.splice(at, 1)
  }
  return accepted
}

/**
 * Keeps `leaders` the best `places` pending candidates, best first. No candidate behind them can be
 * accepted: each of them would be first.
 */
function lead(leaders: Candidate[], c: Candidate, places: number): void {
  let at = leaders.length
  while (at > 0 && compareCandidates(c, leaders[at - 1]!) < 0) at--
  if (at >= places) return
  leaders.splice(at, 0, c)
  if (leaders.length > places) leaders.pop()
}

function tighter(a: Rank | undefined, b: Rank | undefined): Rank | undefined {
  if (!a || !b) return a ?? b
  return compareRanks(b, a) < 0 ? b : a
}

function compareRanks(x: Rank, y: Rank): number {
  if (labelLess(x[0], x[1], x[2], y[0], y[1], y[2])) return -1
  return labelLess(y[0], y[1], y[2], x[0], x[1], x[2]) ? 1 : 0
}

/** Generated one at a time: each spur search is bounded by the candidates found before it. */
function* spurCandidates(
  p: Problem,
  accepted: readonly Candidate[],
  bound: () => Rank | undefined,
): Generator<Candidate> {
  const newest = accepted[accepted.length - 1]!
  const last = newest.walk
  // Lawler: deviations before the newest path's own were searched when its parent was.
  for (let i = newest.deviation; i < last.edges.length; i++) {
    p.bannedNodes.fill(0)
    p.bannedEdges.fill(0)
    for (let j = 0; j < i; j++) p.bannedNodes[last.nodes[j]!] = 1
    for (const c of accepted) {
      if (sharesRoot(c.walk.nodes, last.nodes, i)) p.bannedEdges[c.walk.edges[i]!] = 1
    }
    const rootEdges = last.edges.slice(0, i)
    const spur = search(p, last.nodes[i]!, p.maxHops - i, rootOf(p, rootEdges), bound())
    if (!spur) continue
    const nodes = [...last.nodes.slice(0, i), ...spur.nodes]
    yield toCandidate(p, { nodes, edges: [...rootEdges, ...spur.edges] }, i)
  }
}

/** Whether `a` starts with the first `i + 1` nodes of `b` and goes on from there. */
function sharesRoot(a: readonly number[], b: readonly number[], i: number): boolean {
  if (a.length <= i + 1) return false
  for (let j = 0; j <= i; j++) if (a[j] !== b[j]) return false
  return true
}
