/**
 * Which endpoints a flow's next connect attempt may use. Written into a reused 0/1 mask so that
 * the per-flow path allocates nothing.
 */
import type { EndpointHealth } from '../views/node-view.ts'

export interface Candidate {
  readonly weight: number
  readonly health: EndpointHealth
  /** Clock time an ejection ends; 0 (or past) when not ejected. */
  readonly ejectedUntil: number
}

/**
 * Marks the endpoints that have weight, are not known unhealthy, not ejected and not yet tried
 * by this flow ('unchecked' counts as usable). Returns how many were marked.
 */
export function markEligible(
  candidates: readonly Candidate[],
  tried: readonly number[] | undefined,
  now: number,
  mask: Uint8Array,
): number {
  let count = 0
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i]!
    const ok = c.weight > 0 && c.health !== 'unhealthy' && c.ejectedUntil <= now && !tried?.includes(i)
    mask[i] = ok ? 1 : 0
    if (ok) count++
  }
  return count
}

/**
 * Panic mode, when nothing is eligible: every untried endpoint with weight. Health checks and
 * ejection can be wrong (a checker cut off, a burst of failures), and trying beats failing a flow
 * without a single attempt. Returns how many were marked.
 */
export function markUntried(
  candidates: readonly Candidate[],
  tried: readonly number[] | undefined,
  mask: Uint8Array,
): number {
  let count = 0
  for (let i = 0; i < candidates.length; i++) {
    const ok = candidates[i]!.weight > 0 && !tried?.includes(i)
    mask[i] = ok ? 1 : 0
    if (ok) count++
  }
  return count
}
