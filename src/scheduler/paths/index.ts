export { disjointPaths, disjointPathsToAny } from './disjoint.ts'
export { JITTER_WEIGHT, LOSS_PENALTY_MS, latencyWeight } from './edge-costs.ts'
export { evaluatePath } from './evaluate.ts'
export { buildGraph } from './graph.ts'
export {
  type ChoiceReason,
  choosePath,
  DEFAULT_ABSOLUTE_THRESHOLD,
  DEFAULT_FLAP_WINDOW_MS,
  DEFAULT_MIN_DWELL_MS,
  DEFAULT_RELATIVE_THRESHOLD,
  type HysteresisPolicy,
  improvement,
  type LeftPath,
  type PathChoice,
  type PathSelection,
} from './hysteresis.ts'
export type * from './types.ts'
export { bestPathsToAny, kBestPaths } from './yen.ts'
