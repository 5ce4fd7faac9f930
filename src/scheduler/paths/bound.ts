/**
 * When a search may give up: once everything it could still find ranks clearly below a bound, a
 * path that cannot make the answer (the k-th best in hand, the best set of another egress).
 * "Clearly" is by far more than the tie tolerance, so a path that only rounding makes look worse is
 * never dropped, and a pruned search answers as the unpruned one did.
 */
import { near } from './label.ts'

/** A path's ranking key: (primary, tie-break, hops), lower is better (problem.ts, rankOf). */
export type Rank = readonly [number, number, number]

/** Far above the label's tie tolerance (1e-9) and the drift of summing a path in another order. */
export const PRUNE_MARGIN = 1e-6

export function clearlyAbove(x: number, y: number): boolean {
  return x - y > PRUNE_MARGIN * Math.max(1, Math.abs(x), Math.abs(y))
}

/**
 * Whether (a, b) loses to `bound` by far more than rounding: in the first component, or tied there
 * and in the second. Hops never prune: they only order paths equal in both weights.
 */
export function clearlyWorse(a: number, b: number, bound: Rank): boolean {
  return clearlyAbove(a, bound[0]) || (near(a, bound[0]) && clearlyAbove(b, bound[1]))
}

/**
 * The smallest capacity a path can have and still not be clearly worse than `bound`, for the
 * throughput objective, whose first component is minus the bottleneck.
 */
export function widthFloor(bound: Rank): number {
  const width = -bound[0]
  return width - PRUNE_MARGIN * Math.max(1, Math.abs(width))
}
