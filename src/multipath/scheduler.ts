/**
 * The sender-side chunk scheduler: which subflow(s) carry the next chunk. Pure: it sees each
 * subflow through a `SubflowView` (measured RTT, delivery rate, bytes in flight, whether its
 * socket takes more now) and returns indices.
 *
 * stripe: earliest expected arrival first. A chunk sent on subflow s arrives after about half the
 * propagation RTT plus the time s needs to deliver what is already in flight on it and the chunk
 * itself. A subflow that can take the chunk now is skipped when its expected arrival is later
 * than the best subflow's (even one that is busy now) by more than the head-of-line budget:
 * waiting for the fast path is better than parking a chunk behind a slow one, where it would hold
 * back every later byte at the receiver.
 * failover: one active subflow, kept while it lives; the rest are hot standby.
 * redundant: every chunk on every subflow; each subflow takes chunks in order when it can.
 */

export type MultipathMode = 'stripe' | 'redundant' | 'failover'

export const MULTIPATH_MODES: readonly MultipathMode[] = ['stripe', 'redundant', 'failover']

export interface SubflowView {
  readonly index: number
  /** Minimum recent round-trip time: the path's propagation delay without queueing. */
  readonly minRttMs: number
  readonly rateBytesPerMs: number
  /** Payload bytes sent on the subflow that its receiver has not yet reported received. */
  readonly inflightBytes: number
  /** False while its socket buffers more than the write budget: it takes nothing now. */
  readonly writable: boolean
  /** The Traffic Scheduler's weight for the path; higher is preferred. */
  readonly weight: number
}

export function expectedArrivalMs(view: SubflowView, chunkBytes: number): number {
  return view.minRttMs / 2 + (view.inflightBytes + chunkBytes) / view.rateBytesPerMs
}

/** The subflow for the next chunk in stripe mode, or undefined: wait for a better one to free up. */
export function pickStripe(
  views: readonly SubflowView[],
  chunkBytes: number,
  holBudgetMs: number,
): number | undefined {
  let bestAny = Number.POSITIVE_INFINITY
  let best: SubflowView | undefined
  let bestEta = Number.POSITIVE_INFINITY
  for (const v of views) {
    const eta = expectedArrivalMs(v, chunkBytes)
    if (eta < bestAny) bestAny = eta
    if (v.writable && eta < bestEta) {
      best = v
      bestEta = eta
    }
  }
  if (best === undefined || bestEta > bestAny + holBudgetMs) return undefined
  return best.index
}

/**
 * The active subflow in failover mode: the current one while it lives, else the highest weight,
 * then the lowest RTT, then the lowest index.
 */
export function pickFailover(views: readonly SubflowView[], current: number | undefined): number | undefined {
  if (current !== undefined && views.some((v) => v.index === current)) return current
  let best: SubflowView | undefined
  for (const v of views) {
    if (best === undefined || preferActive(v, best)) best = v
  }
  return best?.index
}

function preferActive(a: SubflowView, b: SubflowView): boolean {
  if (a.weight !== b.weight) return a.weight > b.weight
  if (a.minRttMs !== b.minRttMs) return a.minRttMs < b.minRttMs
  return a.index < b.index
}

/** Subflows that take redundant copies now. */
export function redundantTargets(views: readonly SubflowView[]): number[] {
  return views.filter((v) => v.writable).map((v) => v.index)
}

/**
 * The head-of-line budget: how much later than the best path a chunk may be expected, so that the
 * bytes arriving meanwhile on the other paths still fit the receiver's window.
 */
export function holBudgetMs(windowBytes: number, views: readonly SubflowView[], floorMs: number): number {
  let rate = 0
  for (const v of views) rate += v.rateBytesPerMs
  if (rate <= 0) return floorMs
  return Math.max(floorMs, windowBytes / 2 / rate)
}
