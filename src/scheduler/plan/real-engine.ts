/** The PathEngine the scheduler runs: the algorithms of src/scheduler/paths. */
import { bestPathsToAny, choosePath, disjointPaths, evaluatePath } from '../paths/index.ts'
import type { ComputedPath } from '../paths/types.ts'
import type { PathEngine, PathQuery } from './engine.ts'
import { memoized } from './memo.ts'

/**
 * Disjoint paths end at one node: with several egresses, the egress giving the most paths wins,
 * then the one whose best path is cheapest.
 */
function disjointToAny(q: PathQuery): ComputedPath[] {
  let best: ComputedPath[] = []
  for (const egress of new Set(q.to)) {
    const set = disjointPaths(q.graph, q.from, egress, q.count, q.objective, q.constraints)
    const better =
      set.length > best.length ||
      (set.length === best.length && set.length > 0 && (set[0]?.cost ?? 0) < (best[0]?.cost ?? 0))
    if (better) best = set
  }
  return best
}

const pathEngine: PathEngine = {
  best: (q) => bestPathsToAny(q.graph, q.from, q.to, q.count, q.objective, q.constraints),
  disjoint: disjointToAny,
  evaluate: (q, nodes) => evaluatePath(q.graph, nodes, q.objective, q.constraints),
  choose: (current, candidates, policy, now) => choosePath(current, candidates, policy, now).selection,
}

/** Queries repeat on an unchanged graph: the same ingress and egresses at every recompute. */
export const realPathEngine: PathEngine = memoized(pathEngine)
