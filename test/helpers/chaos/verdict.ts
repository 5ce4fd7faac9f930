/**
 * The rule a failed flow is judged by. A flow may fail only when the mesh gave it no chance:
 *
 * - A flow the ingress had put on a path (its access log names the hops) may fail only if that
 *   path broke while the flow ran: a node on it killed or paused, or a link on it blackholed. A
 *   flow on one path cannot outlive its relay or egress (a multipath flow could outlive a relay;
 *   the chaos services are single-path).
 * - A flow the ingress never put on a path (refused: no route, every path failed to open) may
 *   fail only if no path of the mesh worked throughout: from `settleMs` before it started to its
 *   end. A path that broke is removed on that evidence, and comes back once its nodes see each
 *   other and report it: the mesh has the convergence bound for that (longer than peers' redial
 *   and a report when faults overlap, as a control plane that is down itself learns nothing). A
 *   path that never broke counts at once: nothing may take it away.
 * - Corrupt bytes are never excused.
 *
 * Loss on a link is not a break: it makes a flow slower, never wrong.
 */
import type { FlowRecord } from './load.ts'
import type { AccessEntry } from './logs.ts'
import type { Timeline } from './timeline.ts'
import { pathComponents } from './topology.ts'

export type Verdict =
  | { readonly kind: 'ok' }
  | { readonly kind: 'excused'; readonly why: string }
  | { readonly kind: 'violation'; readonly why: string }

export interface JudgeContext {
  readonly timeline: Timeline
  readonly ingress: string
  /** Every path of the mesh from the ingress to an egress. */
  readonly paths: readonly (readonly string[])[]
  readonly settleMs: number
}

/** How the excuse of a flow refused while no path worked starts. */
export const NO_PATH = 'no working path'

/** Reasons for which the ingress closed a flow before it had a path. */
const REFUSED = new Set(['no_route', 'upstream_unavailable', 'rejected'])

/** The nodes of the path an access-log target names (`b → c → 127.0.0.1:9000`), ingress first. */
export function pathOfTarget(ingress: string, target: string | undefined): string[] | undefined {
  if (target === undefined || !target.includes(' → ')) return undefined
  const hops = target.split(' → ').slice(0, -1)
  return hops.length > 0 ? [ingress, ...hops] : undefined
}

/** Each outage of the components during [from, to], as `node:b (relay_kill)`. */
function brokenOn(components: readonly string[], timeline: Timeline, from: number, to: number): string[] {
  return components.flatMap((c) => timeline.outagesDuring(c, from, to).map((why) => `${c} (${why})`))
}

export function judgeFlow(flow: FlowRecord, entry: AccessEntry | undefined, ctx: JudgeContext): Verdict {
  if (flow.outcome === 'ok') return { kind: 'ok' }
  const failure = describeFailure(flow, entry)
  if (flow.outcome === 'corrupt')
    return { kind: 'violation', why: `${flow.corruptBytes} corrupt bytes; ${failure}` }
  const path = pathOfTarget(ctx.ingress, entry?.target)
  if (path !== undefined && !REFUSED.has(entry?.reason ?? '')) {
    const broke = brokenOn(pathComponents(path), ctx.timeline, flow.startMs, flow.endMs)
    if (broke.length > 0) return { kind: 'excused', why: `its path broke: ${broke.join(', ')}` }
    return { kind: 'violation', why: `${failure}; its path ${path.join('>')} held` }
  }
  const working = ctx.paths.find(
    (p) => brokenOn(pathComponents(p), ctx.timeline, flow.startMs - ctx.settleMs, flow.endMs).length === 0,
  )
  if (working === undefined) return { kind: 'excused', why: `${NO_PATH}: ${failure}` }
  return { kind: 'violation', why: `${failure}; ${working.join('>')} worked throughout` }
}

/** A set with no route the ingress applied at `atMs`, and a path that worked then (if one did). */
export interface EmptySet {
  readonly version: string
  readonly atMs: number
  readonly working: string | undefined
}

/**
 * The scheduler must never take a working route away for what it does not know: a set with no
 * route for the ingress is a finding when a path of the mesh had worked for `settleMs` before it.
 */
export function judgeEmptySet(version: string, atMs: number, ctx: JudgeContext): EmptySet {
  const working = ctx.paths.find(
    (p) => brokenOn(pathComponents(p), ctx.timeline, atMs - ctx.settleMs, atMs).length === 0,
  )
  return { version, atMs, working: working?.join('>') }
}

function describeFailure(flow: FlowRecord, entry: AccessEntry | undefined): string {
  const ingress =
    entry === undefined
      ? 'no access-log line'
      : `ingress: ${entry.reason}${entry.error ? ` (${entry.error})` : ''}`
  return `${flow.kind} ${flow.id} ${flow.error ?? flow.outcome}, ${ingress}`
}

/**
 * Pairs each flow with the ingress's access-log line for it: the line's `source` port is the
 * flow's, and it was written after the flow started (`wallOffsetMs` turns the line's wall-clock time
 * into the run's clock). A port serves one flow at a time, so lines and flows pair up in order.
 */
export function pairAccessLines(
  flows: readonly FlowRecord[],
  entries: readonly AccessEntry[],
  wallOffsetMs: number,
): Map<FlowRecord, AccessEntry> {
  const byPort = new Map<number, AccessEntry[]>()
  for (const e of [...entries].sort((x, y) => x.atWallMs - y.atWallMs)) {
    const list = byPort.get(e.sourcePort) ?? []
    list.push(e)
    byPort.set(e.sourcePort, list)
  }
  const paired = new Map<FlowRecord, AccessEntry>()
  for (const flow of [...flows].sort((x, y) => x.startMs - y.startMs)) {
    if (flow.localPort === undefined) continue
    const list = byPort.get(flow.localPort) ?? []
    const at = list.findIndex((e) => e.atWallMs - wallOffsetMs >= flow.startMs - ACCESS_CLOCK_SLACK_MS)
    if (at === -1) continue
    paired.set(flow, list[at] as AccessEntry)
    list.splice(0, at + 1)
  }
  return paired
}

/** Log times are whole milliseconds of another clock: allow them to read a little early. */
const ACCESS_CLOCK_SLACK_MS = 50
