/**
 * What changed between two looks at the scheduler's state, as timeline events: the paths two
 * plans chose, and the links two reports described. Pure, so every kind of change is table-tested.
 */

import { pathKey } from '../paths/edge-costs.ts'
import type { ComputedPath } from '../paths/types.ts'
import type { Selection } from '../plan/planner.ts'
import type { LinkView } from '../telemetry.ts'
import type { EventInput } from './events.ts'

/** Why a selection moved: the new path was the first, the old one stopped working, or a better one passed the margins. */
export type SwitchReason = 'first' | 'current_gone' | 'improved' | 'no_path'

export interface PathSwitch {
  /** The selection (service, ingress) whose path changed. */
  readonly key: string
  readonly service: string
  readonly ingress: string
  readonly from: readonly string[] | null
  readonly to: readonly string[] | null
  readonly reason: SwitchReason
  /** The new path's cost against the old one's, in the objective's unit, when both are known. */
  readonly costBefore?: number
  readonly costAfter?: number
}

export function pathText(nodes: readonly string[] | null): string {
  return nodes === null ? 'no path' : nodes.join('→')
}

/** Why a path replaced another: the old one is not among the new candidates (it broke), or the new one is better. */
function switchReason(before: Selection | undefined, after: Selection): SwitchReason {
  const old = before?.choice?.path
  if (after.choice === undefined) return 'no_path'
  if (old === undefined) return 'first'
  const key = pathKey(old.nodes)
  return after.candidates.some((c) => pathKey(c.nodes) === key) ? 'improved' : 'current_gone'
}

/** The old path as the new plan measures it (its cost now), else as it was measured when chosen. */
function costOf(path: ComputedPath, after: Selection): number {
  const key = pathKey(path.nodes)
  return after.candidates.find((c) => pathKey(c.nodes) === key)?.cost ?? path.cost
}

/** Selections whose chosen path differs between two plans (a selection gone from the plan is not a switch: its service went). */
export function pathSwitches(before: readonly Selection[], after: readonly Selection[]): PathSwitch[] {
  const previous = new Map(before.map((s) => [s.key, s]))
  const out: PathSwitch[] = []
  for (const next of after) {
    const prior = previous.get(next.key)
    const from = prior?.choice?.path.nodes ?? null
    const to = next.choice?.path.nodes ?? null
    if (from === null && to === null) continue
    if (from !== null && to !== null && pathKey(from) === pathKey(to)) continue
    const old = prior?.choice?.path
    const now = next.choice?.path
    out.push({
      key: next.key,
      service: next.service,
      ingress: next.ingress.node,
      from,
      to,
      reason: switchReason(prior, next),
      ...(old && now && { costBefore: costOf(old, next), costAfter: now.cost }),
    })
  }
  return out
}

const REASON_TEXT: Readonly<Record<SwitchReason, string>> = {
  first: 'first path',
  current_gone: 'the path in use stopped working',
  improved: 'a better path passed the hysteresis margins',
  no_path: 'no path reaches an egress',
}

function round(n: number): number {
  return Math.round(n * 100) / 100
}

export function switchEvent(s: PathSwitch): EventInput {
  const cost =
    s.costBefore !== undefined && s.costAfter !== undefined
      ? ` (cost ${round(s.costBefore)} → ${round(s.costAfter)})`
      : ''
  return {
    kind: s.to === null ? 'path_lost' : 'path_switch',
    message: `service ${s.service} from ${s.ingress}: ${pathText(s.from)} → ${pathText(s.to)}: ${REASON_TEXT[s.reason]}${cost}`,
    nodes: [...new Set([s.ingress, ...(s.from ?? []), ...(s.to ?? [])])],
    service: s.service,
    detail: {
      selection: s.key,
      from: s.from,
      to: s.to,
      reason: s.reason,
      ...(s.costBefore !== undefined && { costBefore: s.costBefore, costAfter: s.costAfter }),
    },
  }
}

/** A link's loss at or above this is lossy; it is clean again only below half of it, so a link near the line does not flap. */
export const LOSSY_AT = 0.05

export interface LinkState {
  readonly up: boolean
  readonly lossy: boolean
}

export function linkKey(from: string, to: string): string {
  return `${from}→${to}`
}

/** The state of each link now, given what it was: lossiness has hysteresis. */
export function linkStates(
  links: readonly LinkView[],
  before: ReadonlyMap<string, LinkState>,
): Map<string, LinkState> {
  const out = new Map<string, LinkState>()
  for (const l of links) {
    const key = linkKey(l.from, l.to)
    const wasLossy = before.get(key)?.lossy ?? false
    const lossy = l.up && (wasLossy ? l.loss >= LOSSY_AT / 2 : l.loss >= LOSSY_AT)
    out.set(key, { up: l.up, lossy })
  }
  return out
}

/**
 * Events for links whose state changed. A link seen for the first time says nothing: a node
 * joining brings its links (down until its first probe answers), and its joining is the event.
 */
export function linkEvents(
  links: readonly LinkView[],
  before: ReadonlyMap<string, LinkState>,
  after: ReadonlyMap<string, LinkState>,
): EventInput[] {
  const out: EventInput[] = []
  for (const l of links) {
    const key = linkKey(l.from, l.to)
    const was = before.get(key)
    const is = after.get(key)
    if (was === undefined || is === undefined) continue
    const ends = { nodes: [l.from, l.to], link: { from: l.from, to: l.to } }
    if (was.up !== is.up) {
      const why = is.up ? '' : l.stale ? ': no fresh report' : l.reportedUp ? ': its node left' : ''
      out.push({
        kind: is.up ? 'link_up' : 'link_down',
        message: `link ${key} ${is.up ? 'up' : 'down'}${why}`,
        ...ends,
        detail: { rttMs: l.rttMs, loss: l.loss },
      })
    }
    if (was.lossy !== is.lossy && is.up) {
      const pct = `${round(l.loss * 100)}% loss`
      out.push({
        kind: is.lossy ? 'link_lossy' : 'link_clean',
        message: `link ${key} ${is.lossy ? 'is losing packets' : 'is clean again'}: ${pct}`,
        ...ends,
        detail: { rttMs: l.rttMs, loss: l.loss },
      })
    }
  }
  return out
}
