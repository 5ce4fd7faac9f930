/**
 * Why a service takes the path it takes, from one ingress: every candidate's figures against the
 * objective, what each alternative would need to win (the hysteresis margins, the dwell time
 * left, flap damping), the last switch, and the direct link between ingress and egress as the
 * yardstick of what routing buys. Pure: the same inputs the planner had, and the time.
 */
import type { HysteresisSettings, IngressPoint } from '../config/types.ts'
import { pathKey } from '../paths/edge-costs.ts'
import {
  DEFAULT_ABSOLUTE_THRESHOLD,
  DEFAULT_FLAP_WINDOW_MS,
  DEFAULT_RELATIVE_THRESHOLD,
  improvement,
} from '../paths/hysteresis.ts'
import type { ComputedPath, Objective } from '../paths/types.ts'
import { policyOf, type Selection } from '../plan/planner.ts'
import type { PathSwitch } from './changes.ts'

export interface PathFigures {
  readonly nodes: readonly string[]
  /** The objective's cost: lower is better (latency: expected delay in ms, loss and jitter included). */
  readonly cost: number
  readonly rttMs: number
  readonly loss: number
  /** 0 when unknown. */
  readonly bottleneckBps: number
  readonly costPerGb: number
}

/**
 * Where an alternative stands: `worse` (not better at all), `below_threshold` (better, by less
 * than the margins), `damped` (it was left recently and must win by twice the margins), `dwell`
 * (it wins, once the current path has been kept long enough), `next` (it wins at the next plan).
 */
export type Verdict = 'worse' | 'below_threshold' | 'damped' | 'dwell' | 'next'

export interface Alternative extends PathFigures {
  readonly verdict: Verdict
  /** How much better than the chosen path, in the objective's unit and as a ratio (negative: worse). */
  readonly gain: { readonly absolute: number; readonly relative: number }
}

export interface Margins {
  readonly relative: number
  readonly absolute: number
  /** The unit of `absolute`: ms (latency), B/s (throughput), per GB (cost). */
  readonly unit: string
  readonly minDwellMs: number
  /** Until the current path has been kept minDwellMs, nothing replaces it but its failure. */
  readonly dwellLeftMs: number
  readonly flapWindowMs: number
}

/** The figure that says what routing buys for the objective: the chosen path against the direct link. */
export interface Yardstick {
  readonly figure: 'rttMs' | 'bottleneckBps' | 'costPerGb'
  readonly unit: string
  readonly chosen: number | null
  /** null: no direct link from the ingress to the egress (or it is down). */
  readonly direct: number | null
}

export interface WhyView {
  readonly key: string
  readonly service: string
  readonly ingress: IngressPoint
  readonly objective: Objective
  readonly chosen: PathFigures | null
  /** When the chosen path was chosen (ms since the epoch). */
  readonly since: number | null
  readonly alternatives: readonly Alternative[]
  readonly margins: Margins
  /** Paths left within the flap window: coming back needs twice the margins. */
  readonly recentlyLeft: readonly (readonly string[])[]
  readonly lastSwitch: (PathSwitch & { readonly at: number }) | null
  readonly direct: PathFigures | null
  readonly yardstick: Yardstick
}

export function figuresOf(path: ComputedPath): PathFigures {
  return {
    nodes: path.nodes,
    cost: path.cost,
    rttMs: path.metrics.rttMs,
    loss: path.metrics.loss,
    bottleneckBps: path.metrics.bottleneckBps,
    costPerGb: path.metrics.costPerGb,
  }
}

const UNITS: Readonly<Record<Objective, string>> = { latency: 'ms', throughput: 'B/s', cost: 'per GB' }

export function marginsOf(
  objective: Objective,
  h: HysteresisSettings,
  since: number | null,
  now: number,
): Margins {
  const policy = policyOf(objective, h)
  const minDwellMs = policy.minDwellMs ?? 0
  return {
    relative: policy.relativeThreshold ?? DEFAULT_RELATIVE_THRESHOLD,
    absolute: policy.absoluteThreshold ?? DEFAULT_ABSOLUTE_THRESHOLD[objective],
    unit: UNITS[objective],
    minDwellMs,
    dwellLeftMs: since === null ? 0 : Math.max(0, since + minDwellMs - now),
    flapWindowMs: DEFAULT_FLAP_WINDOW_MS,
  }
}

function passes(gain: { absolute: number; relative: number }, m: Margins, factor: number): boolean {
  return gain.relative >= factor * m.relative && gain.absolute >= factor * m.absolute
}

export function verdictOf(
  gain: { readonly absolute: number; readonly relative: number },
  m: Margins,
  recentlyLeft: boolean,
): Verdict {
  if (gain.absolute <= 0) return 'worse'
  if (!passes(gain, m, 1)) return 'below_threshold'
  if (recentlyLeft && !passes(gain, m, 2)) return 'damped'
  return m.dwellLeftMs > 0 ? 'dwell' : 'next'
}

export function yardstickOf(
  objective: Objective,
  chosen: PathFigures | null,
  direct: PathFigures | null,
): Yardstick {
  switch (objective) {
    case 'latency':
      return { figure: 'rttMs', unit: 'ms', chosen: chosen?.rttMs ?? null, direct: direct?.rttMs ?? null }
    case 'throughput':
      return {
        figure: 'bottleneckBps',
        unit: 'B/s',
        chosen: chosen?.bottleneckBps ?? null,
        direct: direct?.bottleneckBps ?? null,
      }
    case 'cost':
      return {
        figure: 'costPerGb',
        unit: 'per GB',
        chosen: chosen?.costPerGb ?? null,
        direct: direct?.costPerGb ?? null,
      }
  }
}

export interface WhyInput {
  readonly selection: Selection
  readonly objective: Objective
  readonly hysteresis: HysteresisSettings
  readonly now: number
  /** The one-link path from the ingress to the chosen (else the first) egress, measured now; undefined: none works. */
  readonly direct: ComputedPath | undefined
  readonly lastSwitch: (PathSwitch & { readonly at: number }) | undefined
}

export function explain(input: WhyInput): WhyView {
  const { selection, objective, now } = input
  const choice = selection.choice
  const since = choice?.since ?? null
  // A provisional choice (made on an incomplete view) is held by no dwell.
  const margins = marginsOf(objective, input.hysteresis, choice?.provisional ? null : since, now)
  const left = (choice?.left ?? []).filter((l) => now - l.at < margins.flapWindowMs)
  const leftKeys = new Set(left.map((l) => l.key))
  const chosenKey = choice ? pathKey(choice.path.nodes) : undefined
  // The chosen path as measured now, when it is among the candidates; else as it was chosen.
  const current = selection.candidates.find((c) => pathKey(c.nodes) === chosenKey) ?? choice?.path
  const alternatives = current
    ? selection.candidates
        .filter((c) => pathKey(c.nodes) !== chosenKey)
        .map((c) => {
          const gain = improvement(objective, current, c)
          return { ...figuresOf(c), gain, verdict: verdictOf(gain, margins, leftKeys.has(pathKey(c.nodes))) }
        })
    : []
  const chosen = current ? figuresOf(current) : null
  const direct = input.direct ? figuresOf(input.direct) : null
  return {
    key: selection.key,
    service: selection.service,
    ingress: selection.ingress,
    objective,
    chosen,
    since,
    alternatives,
    margins,
    recentlyLeft: left.map((l) => l.key.split('\u0000')),
    lastSwitch: input.lastSwitch ?? null,
    direct,
    yardstick: yardstickOf(objective, chosen, direct),
  }
}

/** The JSON shape on the API: times as ISO text. */
export function whyJson(view: WhyView) {
  return {
    ...view,
    since: view.since === null ? null : new Date(view.since).toISOString(),
    lastSwitch:
      view.lastSwitch === null
        ? null
        : { ...view.lastSwitch, at: new Date(view.lastSwitch.at).toISOString() },
  }
}
