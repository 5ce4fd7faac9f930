/**
 * What the planner needs from path computation, as one injectable object: the planner's tests
 * give it fixed answers, the scheduler gives it the real algorithms (real-engine.ts).
 */
import type { HysteresisSettings } from '../config/types.ts'
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

/** The path a (service, ingress) currently uses, and since when: hysteresis needs both. */
export interface PathChoice {
  readonly nodes: readonly string[]
  readonly since: number
}

export interface PathEngine {
  /** Up to `count` loopless paths, best first. */
  best(query: PathQuery): ComputedPath[]
  /** Up to `count` node-disjoint paths (beyond the ingress and the egress), best first. */
  disjoint(query: PathQuery): ComputedPath[]
  /** Keeps `current` unless a candidate beats it by the hysteresis margins after the dwell time. */
  choose(
    current: PathChoice | undefined,
    candidates: readonly ComputedPath[],
    now: number,
    hysteresis: HysteresisSettings,
  ): PathChoice | undefined
}
