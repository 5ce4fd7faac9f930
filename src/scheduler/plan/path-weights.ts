/**
 * The weight of each path of a route: the order of preference of a one-path route, and the
 * starting point of a multipath flow on the node (docs/multipath.md "Weights"). Pure: the last
 * memory goes in, the next comes out.
 *
 * - failover: by rank, as one-path routes. The planner puts its (hysteresis-held) choice first,
 *   the other candidates best first after it, so the node runs the best path by the objective
 *   and falls back in that order.
 * - redundant: equal. Every byte goes on every path and the receiver keeps the first copy, so a
 *   weight would split nothing; equal weights also never change, so never cause a push.
 * - stripe: in proportion to capacity. The graph gives the prior (capacityPrior: the measured
 *   bottleneck times the share of packets the path delivers). The bytes the ingress reports each
 *   path carried correct it: a flow striped by measured delivery rates splits its bytes by the
 *   paths' real capacities, so a path kept at a lower share than the graph predicts has less
 *   capacity than the graph thinks. RTT is left out: the node's stripe scheduler already counts
 *   it in every chunk's expected arrival.
 *
 * A stripe route keeps the weights in force until one would move by WEIGHT_MARGIN and
 * WEIGHT_MARGIN_POINTS, and at most once per minimum dwell: weights are pushed content, and
 * a push rebuilds the node's routes.
 */
import type { MultipathMode } from '../config/types.ts'

export const MAX_WEIGHT = 100
/**
 * No path is starved: at 5 a path's prior rate is a twentieth of the best one's, so it still
 * carries chunks and gets measured, and its share can raise it again.
 */
export const MIN_WEIGHT = 5
/** A stripe weight changes only when one path's weight moves by this ratio... */
export const WEIGHT_MARGIN = 0.2
/** ...and by this many points, so that 5 → 6 at the floor pushes nothing. */
export const WEIGHT_MARGIN_POINTS = 5
/**
 * How far one report interval moves the learned correction toward what it saw (in log space),
 * when the route carried at least EVIDENCE_BYTES in it; less evidence moves it less, so a few
 * small flows do not swing the weights.
 */
export const SHARE_ALPHA = 0.3
export const EVIDENCE_BYTES = 8 * 1024 * 1024
/** A path seen carrying nothing counts as this share: its correction falls step by step. */
const SHARE_FLOOR = 0.01
/**
 * The time constant over which the graph's view of a path counts. Link measurements swing with
 * load (probes queue behind a busy link's data and time out as lost); weights that followed them
 * would go down at every burst and up after it, a push each way. A burst of a few seconds moves
 * the prior by a tenth of the way at most; a lasting change takes a minute or two.
 */
export const PRIOR_TAU_MS = 30_000
const LOG_FLOOR = Math.log(MIN_WEIGHT / MAX_WEIGHT)

/** What an ingress node reported one multipath route's paths sent. */
export interface PathTraffic {
  /**
   * The instruction set the node runs. A report under a new set is counted whole: the node keeps
   * a route's counters across sets only while its paths stay the same, so what it reports then is
   * still bytes those paths carried.
   */
  readonly version: string
  /** Cumulative bytes sent, by path key (pathKey of the nodes), for every path of the route. */
  readonly bytesSent: ReadonlyMap<string, number>
}

/** What a stripe route's weights were, and what was learned: pass it to the next plan. */
export interface WeightMemory {
  /** Path keys in route order. */
  readonly paths: readonly string[]
  /** The weights in force, by route order. */
  readonly weights: readonly number[]
  /** When they last changed. */
  readonly since: number
  /** ln of each path's capacity prior from the graph, smoothed over PRIOR_TAU_MS. */
  readonly prior: ReadonlyMap<string, number>
  readonly priorAt: number
  /** ln of each path's correction from its shares: ≤ 0, the most favoured path's is 0. */
  readonly corrections: ReadonlyMap<string, number>
  /** The counters already folded in. */
  readonly counted?: PathTraffic
}

export interface WeightInput {
  readonly mode: MultipathMode
  /** Path keys in route order. */
  readonly paths: readonly string[]
  /** Each path's bottleneck in bytes/s (ComputedPath.metrics); 0 when unknown. */
  readonly bottlenecksBps: readonly number[]
  /** Each path's end-to-end probe loss, 0..1. */
  readonly losses: readonly number[]
  readonly traffic: PathTraffic | undefined
  readonly previous: WeightMemory | undefined
  readonly now: number
  readonly minDwellMs: number
}

export interface WeightPlan {
  readonly weights: readonly number[]
  /** Stripe only. */
  readonly memory?: WeightMemory
}

/** One-path routes and failover: falling with preference, 100, 50, 33, … */
export function rankWeight(index: number): number {
  return Math.max(1, Math.round(MAX_WEIGHT / (index + 1)))
}

export function multipathWeights(input: WeightInput): WeightPlan {
  if (input.mode === 'redundant') return { weights: input.paths.map(() => MAX_WEIGHT) }
  if (input.mode === 'failover') return { weights: input.paths.map((_, i) => rankWeight(i)) }
  return stripeWeights(input)
}

function stripeWeights(input: WeightInput): WeightPlan {
  const { paths, previous, now } = input
  const lnPrior = smoothPrior(previous, paths, capacityPrior(input.bottlenecksBps, input.losses), now)
  const prior = paths.map((k) => Math.exp(lnPrior.get(k) as number))
  const { corrections, counted } = foldShares(input, prior)
  const target = toWeights(prior.map((g, i) => g * Math.exp(corrections.get(paths[i] as string) ?? 0)))
  const kept = stabilize(previous, paths, target, now, input.minDwellMs)
  return {
    weights: kept.weights,
    memory: { paths, ...kept, prior: lnPrior, priorAt: now, corrections, ...(counted && { counted }) },
  }
}

/** ln of each path's prior, moved toward `raw` by the time passed since the last plan. */
export function smoothPrior(
  previous: Pick<WeightMemory, 'prior' | 'priorAt'> | undefined,
  paths: readonly string[],
  raw: readonly number[],
  now: number,
): Map<string, number> {
  const alpha = previous ? 1 - Math.exp(-Math.max(0, now - previous.priorAt) / PRIOR_TAU_MS) : 1
  const out = new Map<string, number>()
  paths.forEach((k, i) => {
    const fresh = Math.log(raw[i] as number)
    const last = previous?.prior.get(k)
    out.set(k, last === undefined ? fresh : last + alpha * (fresh - last))
  })
  return out
}

/**
 * What each path delivers relative to the best, floored at MIN_WEIGHT's ratio: its bottleneck
 * times the share of packets it delivers (1 − loss). A path whose capacity is not measured counts
 * as the best measured one: nothing says it is worse, and its shares will tell.
 *
 * Loss counts only as the packets it takes away, not by a TCP model (Mathis: rate ∝ 1/√p): nodes
 * measure loss over their last 20 probes, so one lost probe reads as 5 %, which that model would
 * turn into a weight at the floor next to a lossless path. As it is, a path must lose a fifth of
 * its probes, for a minute or so (PRIOR_TAU_MS), to move its weight by the margin.
 */
export function capacityPrior(bottlenecksBps: readonly number[], losses: readonly number[]): number[] {
  const top = Math.max(0, ...bottlenecksBps)
  return bottlenecksBps.map((b, i) => {
    const capacity = top > 0 && b > 0 ? b / top : 1
    return Math.max(capacity * (1 - (losses[i] ?? 0)), MIN_WEIGHT / MAX_WEIGHT)
  })
}

/** Integers in MIN_WEIGHT..MAX_WEIGHT, the largest value getting MAX_WEIGHT. */
export function toWeights(values: readonly number[]): number[] {
  const top = Math.max(...values)
  return values.map((v) => Math.min(MAX_WEIGHT, Math.max(MIN_WEIGHT, Math.round((MAX_WEIGHT * v) / top))))
}

/**
 * Moves each path's correction toward ln(seen share ÷ the share the graph predicts), by
 * SHARE_ALPHA scaled by the evidence. Only the bytes sent since the counters last folded count;
 * counters of another set start from 0 (the node rebuilt its routes). Reports that do not cover
 * exactly this route's paths (a set with other paths) teach nothing.
 */
export function foldShares(
  input: Pick<WeightInput, 'paths' | 'traffic' | 'previous'>,
  prior: readonly number[],
): { corrections: ReadonlyMap<string, number>; counted: PathTraffic | undefined } {
  const { paths, traffic, previous } = input
  const last = new Map(paths.map((k) => [k, previous?.corrections.get(k) ?? 0]))
  if (!traffic) return { corrections: normalize(last), counted: previous?.counted }
  const sent = sentSince(previous?.counted, traffic, paths)
  const total = sent?.reduce((a, b) => a + b, 0) ?? 0
  if (!sent || total <= 0) return { corrections: normalize(last), counted: traffic }
  const alpha = SHARE_ALPHA * Math.min(1, total / EVIDENCE_BYTES)
  const sumPrior = prior.reduce((a, b) => a + b, 0)
  const next = new Map<string, number>()
  paths.forEach((k, i) => {
    const seen = Math.max((sent[i] as number) / total, SHARE_FLOOR)
    const predicted = (prior[i] as number) / sumPrior
    next.set(k, (1 - alpha) * (last.get(k) as number) + alpha * Math.log(seen / predicted))
  })
  return { corrections: normalize(next), counted: traffic }
}

/** Bytes each path sent since `counted`, in route order; undefined when the report is of other paths. */
function sentSince(
  counted: PathTraffic | undefined,
  traffic: PathTraffic,
  paths: readonly string[],
): number[] | undefined {
  if (traffic.bytesSent.size !== paths.length || !paths.every((k) => traffic.bytesSent.has(k)))
    return undefined
  const base = counted?.version === traffic.version ? counted.bytesSent : undefined
  return paths.map((k) => Math.max(0, (traffic.bytesSent.get(k) as number) - (base?.get(k) ?? 0)))
}

/** Only ratios matter: the largest correction becomes 0, and none falls below the weight floor. */
function normalize(corrections: ReadonlyMap<string, number>): Map<string, number> {
  const top = Math.max(...corrections.values())
  const out = new Map<string, number>()
  for (const [k, v] of corrections) out.set(k, Math.max(LOG_FLOOR, v - top))
  return out
}

/**
 * The weights in force stay unless one path's weight would move by both margins and they have
 * been in force for the minimum dwell; another set of paths takes its new weights at once. The
 * same paths in another order (the planner's choice moved) keep their weights.
 */
export function stabilize(
  previous: Pick<WeightMemory, 'paths' | 'weights' | 'since'> | undefined,
  paths: readonly string[],
  target: readonly number[],
  now: number,
  minDwellMs: number,
): { weights: readonly number[]; since: number } {
  const before = new Map(previous?.paths.map((k, i) => [k, previous.weights[i] as number]))
  if (!previous || before.size !== paths.length || !paths.every((k) => before.has(k))) {
    return { weights: target, since: now }
  }
  const current = paths.map((k) => before.get(k) as number)
  if (!moved(current, target) || now - previous.since < minDwellMs) {
    return { weights: current, since: previous.since }
  }
  return { weights: target, since: now }
}

function moved(current: readonly number[], target: readonly number[]): boolean {
  return target.some((t, i) => {
    const delta = Math.abs(t - (current[i] as number))
    return delta >= WEIGHT_MARGIN * (current[i] as number) && delta >= WEIGHT_MARGIN_POINTS
  })
}
