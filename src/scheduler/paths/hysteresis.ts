/**
 * Whether to move a service off the path it uses. Moving costs something (new connections, a
 * cold warm pool, reordering on multipath), and measurements jitter, so a move must pay: the best
 * candidate must beat the current path by a relative AND an absolute margin, the current path
 * must have been in use for a while, and a path left recently must win by twice the margin to
 * come back (flap damping). A current path that is gone moves at once. A path chosen while the
 * scheduler's view was incomplete (a node not reported yet since it connected or since a start)
 * is provisional: the candidates it beat were not all known, so the dwell does not hold it.
 */
import { PathArgumentError } from '../../errors/paths.ts'
import { pathKey } from './edge-costs.ts'
import type { ComputedPath, Objective } from './types.ts'

export interface HysteresisPolicy {
  readonly objective: Objective
  /** Default 0.10: the best candidate must be ≥ 10 % better. */
  readonly relativeThreshold?: number
  /**
   * In the objective's natural unit; defaults: latency 5 (ms of latency weight), throughput
   * 1_000_000 (bytes/s of bottleneck), cost 0.01 (price per GB).
   */
  readonly absoluteThreshold?: number
  /** Default 30 s: how long a path is kept before an improvement may replace it. */
  readonly minDwellMs?: number
  /** Default 5 min: a path left within this window needs twice the improvement to return. */
  readonly flapWindowMs?: number
}

export const DEFAULT_RELATIVE_THRESHOLD = 0.1
export const DEFAULT_ABSOLUTE_THRESHOLD: Readonly<Record<Objective, number>> = {
  latency: 5,
  throughput: 1_000_000,
  cost: 0.01,
}
export const DEFAULT_MIN_DWELL_MS = 30_000
export const DEFAULT_FLAP_WINDOW_MS = 300_000

/** A path left, and when: the memory flap damping needs. */
export interface LeftPath {
  readonly key: string
  readonly at: number
}

/** The path in use for a service: pass the previous choice's `selection` to the next call. */
export interface PathSelection {
  readonly path: ComputedPath
  readonly since: number
  readonly left: readonly LeftPath[]
  /** Chosen, and kept since, while the view was incomplete: no dwell holds it. */
  readonly provisional?: boolean
}

export type ChoiceReason =
  | 'first'
  | 'no_path'
  | 'current_gone'
  | 'current_best'
  | 'below_threshold'
  | 'damped'
  | 'dwell'
  | 'improved'

export interface PathChoice {
  /** The path to use; undefined only when there are no candidates. */
  readonly path: ComputedPath | undefined
  readonly changed: boolean
  readonly reason: ChoiceReason
  readonly selection: PathSelection | undefined
}

interface Margins {
  readonly relative: number
  readonly absolute: number
  readonly minDwellMs: number
  readonly flapWindowMs: number
}

/**
 * `candidates` best first (as `kBestPaths` returns them), measured now; the current path counts
 * as alive only when one of them has its nodes, so include `evaluatePath(current)` when it may
 * have dropped out of the top k.
 */
export function choosePath(
  current: PathSelection | undefined,
  candidates: readonly ComputedPath[],
  policy: HysteresisPolicy,
  now: number,
  viewComplete = true,
): PathChoice {
  const provisional = !viewComplete
  const m = margins(policy)
  const left = (current?.left ?? []).filter((l) => now - l.at < m.flapWindowMs)
  const best = candidates[0]
  if (!best)
    return { path: undefined, changed: current !== undefined, reason: 'no_path', selection: undefined }
  if (!current) return switchTo(best, 'first', left, now, provisional)
  const currentKey = pathKey(current.path.nodes)
  const fresh = candidates.find((c) => pathKey(c.nodes) === currentKey)
  const departed = [...left, { key: currentKey, at: now }]
  if (!fresh) return switchTo(best, 'current_gone', departed, now, provisional)
  const stillProvisional = current.provisional === true && provisional
  const stay = (reason: ChoiceReason): PathChoice => ({
    path: fresh,
    changed: false,
    reason,
    selection: { path: fresh, since: current.since, left, ...(stillProvisional && { provisional }) },
  })
  const bestKey = pathKey(best.nodes)
  if (bestKey === currentKey) return stay('current_best')
  const gain = improvement(policy.objective, fresh, best)
  if (!passes(gain, m, 1)) return stay('below_threshold')
  if (left.some((l) => l.key === bestKey) && !passes(gain, m, 2)) return stay('damped')
  if (!current.provisional && now - current.since < m.minDwellMs) return stay('dwell')
  return switchTo(best, 'improved', departed, now, provisional)
}

function switchTo(
  path: ComputedPath,
  reason: ChoiceReason,
  left: readonly LeftPath[],
  now: number,
  provisional: boolean,
): PathChoice {
  return {
    path,
    changed: true,
    reason,
    selection: { path, since: now, left, ...(provisional && { provisional }) },
  }
}

/** How much better `best` is than `current`, in the objective's natural unit and relatively. */
export function improvement(
  objective: Objective,
  current: ComputedPath,
  best: ComputedPath,
): { readonly absolute: number; readonly relative: number } {
  if (objective === 'throughput') {
    const absolute = best.metrics.bottleneckBps - current.metrics.bottleneckBps
    return { absolute, relative: ratio(absolute, current.metrics.bottleneckBps) }
  }
  const before = objective === 'cost' ? current.metrics.costPerGb : current.cost
  const after = objective === 'cost' ? best.metrics.costPerGb : best.cost
  return { absolute: before - after, relative: ratio(before - after, before) }
}

function ratio(delta: number, base: number): number {
  if (base > 0) return delta / base
  return delta > 0 ? Number.POSITIVE_INFINITY : 0
}

function passes(gain: { absolute: number; relative: number }, m: Margins, factor: number): boolean {
  return gain.relative >= factor * m.relative && gain.absolute >= factor * m.absolute
}

function margins(policy: HysteresisPolicy): Margins {
  return {
    relative: nonNegative('relativeThreshold', policy.relativeThreshold ?? DEFAULT_RELATIVE_THRESHOLD),
    absolute: nonNegative(
      'absoluteThreshold',
      policy.absoluteThreshold ?? DEFAULT_ABSOLUTE_THRESHOLD[policy.objective],
    ),
    minDwellMs: nonNegative('minDwellMs', policy.minDwellMs ?? DEFAULT_MIN_DWELL_MS),
    flapWindowMs: nonNegative('flapWindowMs', policy.flapWindowMs ?? DEFAULT_FLAP_WINDOW_MS),
  }
}

function nonNegative(name: string, value: number): number {
  if (!(Number.isFinite(value) && value >= 0)) throw new PathArgumentError(name, value, 'a finite number ≥ 0')
  return value
}
