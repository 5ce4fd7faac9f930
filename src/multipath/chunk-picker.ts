/**
 * The sender-side chunk scheduler: which subflow(s) carry the next chunk. Pure: it sees each
 * subflow through a `SubflowView` (measured RTT, delivery rate, bytes in flight, whether its
 * socket takes more now) and returns indices.
 *
 * stripe: earliest expected arrival first. A chunk sent on subflow s arrives after about half the
 * propagation RTT plus the time s needs to deliver what is already in flight on it and the chunk
 * itself. A subflow is skipped when its chunk would arrive so late that the bytes the other
 * subflows deliver meanwhile would fill the receiver's window (head-of-line blocking, as in
 * BLEST): waiting for the fast path beats parking a chunk behind a slow one, where it would hold
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
  /** False until its delivery rate is measured: the rate is then only the prior. */
  readonly measured: boolean
}

/**
 * In flight on an unmeasured subflow while others exist: enough to measure it, too little for a
 * slow path to block the receiver for long before the scheduler knows it is slow.
 */
export const PROBE_BYTES = 128 * 1024

export function expectedArrivalMs(view: SubflowView, chunkBytes: number): number {
  return view.minRttMs / 2 + (view.inflightBytes + chunkBytes) / view.rateBytesPerMs
}

/**
 * The share of the receiver's window that the bytes the other subflows deliver while one chunk
 * is in flight may fill: the rest absorbs estimation error and bytes already in flight.
 */
export const HOL_WINDOW_SHARE = 0.5

/**
 * The subflow for the next chunk in stripe mode, or undefined: wait until one frees up. The
 * writable subflows are tried by earliest expected arrival; one is skipped when its arrival is
 * beyond its head-of-line budget, or when it is still unmeasured and has PROBE_BYTES in flight.
 */
export function pickStripe(
  views: readonly SubflowView[],
  chunkBytes: number,
  windowBytes: number,
): number | undefined {
  const candidates = views
    .filter((v) => v.writable && (v.measured || v.inflightBytes < PROBE_BYTES || views.length === 1))
    .map((v) => ({ v, eta: expectedArrivalMs(v, chunkBytes) }))
    .sort((a, b) => a.eta - b.eta)
  for (const { v, eta } of candidates) {
    if (eta <= holBudgetMs(windowBytes, views, v.index)) return v.index
  }
  return undefined
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
 * The head-of-line budget of subflow `index`: how late its chunk may arrive. Until it arrives the
 * receiver holds, out of order, everything the other subflows deliver meanwhile; that must fit in
 * HOL_WINDOW_SHARE of the window, or the window fills and every path waits for this one chunk.
 */
export function holBudgetMs(windowBytes: number, views: readonly SubflowView[], index: number): number {
  let others = 0
  for (const v of views) if (v.index !== index) others += v.rateBytesPerMs
  return others <= 0 ? Number.POSITIVE_INFINITY : (windowBytes * HOL_WINDOW_SHARE) / others
}
