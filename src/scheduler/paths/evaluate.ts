/**
 * Fresh metrics of a given path, for hysteresis: the path in use may have dropped out of the
 * top k and still be alive, and then it should be compared, not abandoned.
 */
import { makeProblem, toCandidate } from './problem.ts'
import type { ComputedPath, Graph, Objective, PathConstraints } from './types.ts'

/**
 * The path `nodes` as it measures now, or undefined when it no longer works: a node or link down
 * or gone, a repeated node, or a constraint broken.
 */
export function evaluatePath(
  graph: Graph,
  nodes: readonly string[],
  objective: Objective,
  constraints: PathConstraints = {},
): ComputedPath | undefined {
  const from = nodes[0]
  const to = nodes[nodes.length - 1]
  if (from === undefined || to === undefined || new Set(nodes).size !== nodes.length) return undefined
  const p = makeProblem(graph, from, to, objective, constraints)
  if (!p || nodes.length - 1 > p.maxHops) return undefined
  const walkNodes: number[] = [p.source]
  const edges: number[] = []
  for (let i = 1; i < nodes.length; i++) {
    const v = p.g.index.get(nodes[i]!)
    const e = v === undefined ? -1 : edgeBetween(p.g.offsets, p.g.heads, walkNodes[i - 1]!, v)
    if (v === undefined || e < 0 || (i < nodes.length - 1 && p.space.relay[v] !== 1)) return undefined
    walkNodes.push(v)
    edges.push(e)
  }
  return toCandidate(p, { nodes: walkNodes, edges }).path
}

function edgeBetween(offsets: Int32Array, heads: Int32Array, u: number, v: number): number {
  for (let e = offsets[u]!; e < offsets[u + 1]!; e++) if (heads[e] === v) return e
  return -1
}
