/**
 * A PathEngine that answers a query it has answered before on the same graph from memory. The
 * scheduler keeps its Graph object while nothing it is built from changes (graph.ts, sameGraph),
 * so a change that moves no path (a service's targets, a node's set renewed) plans without a
 * search. Answers are kept per Graph object and go when the graph does.
 */
import type { Graph } from '../paths/types.ts'
import type { PathEngine, PathQuery } from './engine.ts'

type Answers<T> = WeakMap<Graph, Map<string, T>>

/** Everything in a query but the graph: what makes two queries on one graph the same. */
export function queryKey(q: PathQuery): string {
  const c = q.constraints
  return JSON.stringify([
    q.from,
    q.to,
    q.objective,
    q.count,
    c.avoidRegions ?? [],
    c.requireRegions ?? [],
    c.avoidNodes ?? [],
    c.maxHops ?? null,
  ])
}

function recall<T>(answers: Answers<T>, graph: Graph, key: string, compute: () => T): T {
  let perGraph = answers.get(graph)
  if (!perGraph) {
    perGraph = new Map()
    answers.set(graph, perGraph)
  }
  if (perGraph.has(key)) return perGraph.get(key) as T
  // Frozen: every later caller gets this very answer, so none may change it.
  const answer = Object.freeze(compute())
  perGraph.set(key, answer)
  return answer
}

/** best, disjoint and evaluate are pure functions of the query: each is computed once per graph. */
export function memoized(engine: PathEngine): PathEngine {
  const best: Answers<ReturnType<PathEngine['best']>> = new WeakMap()
  const disjoint: Answers<ReturnType<PathEngine['disjoint']>> = new WeakMap()
  const evaluated: Answers<ReturnType<PathEngine['evaluate']>> = new WeakMap()
  return {
    best: (q) => recall(best, q.graph, queryKey(q), () => engine.best(q)),
    disjoint: (q) => recall(disjoint, q.graph, queryKey(q), () => engine.disjoint(q)),
    evaluate: (q, nodes) =>
      recall(evaluated, q.graph, `${queryKey(q)}|${JSON.stringify(nodes)}`, () => engine.evaluate(q, nodes)),
    choose: (current, candidates, policy, now, viewComplete) =>
      engine.choose(current, candidates, policy, now, viewComplete),
  }
}
