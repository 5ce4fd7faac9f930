/**
 * What the planner needs from path computation, as one injectable object: the planner's tests
 * give it fixed answers, the scheduler gives it the real algorithms (real-engine.ts).
 */
import type { HysteresisPolicy, PathSelection } from '../paths/hysteresis.ts'
import type { ComputedPath, Graph, Objective, PathConstraints } from '../paths/types.ts'

export interface PathQuery {
  readonly graph: Graph
  readonly from: string
  /** Any of these may end the path. */
  readonly to: readonly string[]
  readonly objective: Objective
  readonly constraints: PathConstraints
  readonly count: number
}

export interface PathEngine {
  /** Up to `count` loopless paths, best first. */
  best(query: PathQuery): ComputedPath[]
  /** Up to `count` paths sharing no relay and no link, best first. */
  disjoint(query: PathQuery): ComputedPath[]
  /** `nodes` as it measures now; undefined when it no longer works. */
  evaluate(query: PathQuery, nodes: readonly string[]): ComputedPath | undefined
  /**
   * Keeps `current` unless a candidate beats it by the policy's margins; undefined: no path.
   * `viewComplete` false: some node is not known yet, and the choice is provisional.
   */
  choose(
    current: PathSelection | undefined,
    candidates: readonly ComputedPath[],
    policy: HysteresisPolicy,
    now: number,
    viewComplete?: boolean,
  ): PathSelection | undefined
}
