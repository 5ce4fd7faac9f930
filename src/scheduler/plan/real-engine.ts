/** The PathEngine the scheduler runs: the algorithms of src/scheduler/paths. */
import { bestPathsToAny, choosePath, disjointPathsToAny, evaluatePath } from '../paths/index.ts'
import type { PathEngine } from './engine.ts'
import { memoized } from './memo.ts'

const pathEngine: PathEngine = {
  best: (q) => bestPathsToAny(q.graph, q.from, q.to, q.count, q.objective, q.constraints),
  disjoint: (q) => disjointPathsToAny(q.graph, q.from, q.to, q.count, q.objective, q.constraints),
  evaluate: (q, nodes) => evaluatePath(q.graph, nodes, q.objective, q.constraints),
  choose: (current, candidates, policy, now, viewComplete) =>
    choosePath(current, candidates, policy, now, viewComplete).selection,
}

/** Queries repeat on an unchanged graph: the same ingress and egresses at every recompute. */
export const realPathEngine: PathEngine = memoized(pathEngine)
