/**
 * Automatic capacity probes: which node to ask, now, to measure which of its links. Stripe
 * weights and the throughput objective read link capacities; a link whose node reports none
 * (never probed, measurement expired, no declared bandwidth_mbit) is measured on request with
 * about a second of full-rate traffic. So that probes neither cost much nor disturb each other's
 * measurement, one directive goes out per spacing across the mesh, it names no more peers than
 * fit in a spacing, and a link asked once is not asked again within the interval.
 */
import type { ServiceSpec } from '../config/types.ts'

/** How long a node's probe of one link sends (mesh/probe.ts): what a directive's peers cost in time. */
export const PROBE_MS = 1000

export interface ProbeSettings {
  /** 0: no automatic probes. */
  readonly intervalMs: number
  readonly spacingMs: number
}

export interface ProbeLink {
  readonly from: string
  readonly to: string
  readonly up: boolean
  readonly throughputBps: number
}

export interface ProbeRequest {
  readonly node: string
  readonly peers: readonly string[]
}

export interface ProbeInput {
  readonly specs: readonly ServiceSpec[]
  /** Sorted by (from, to), as LinkTable.list gives them; read only when a probe may be due. */
  readonly links: () => Iterable<ProbeLink>
  /** The nodes this scheduler may send a directive to. */
  readonly reachable: { has(nodeId: string): boolean }
  /** When each link (askedKey) was last asked for. */
  readonly asked: ReadonlyMap<string, number>
  /** When the last probe directive went out, to any node. */
  readonly lastAt: number | undefined
  readonly now: number
  readonly settings: ProbeSettings
}

export function askedKey(from: string, to: string): string {
  return `${from}\u0000${to}`
}

/** Only these read link capacities: for any other service a probe would be traffic for nothing. */
export function needsCapacities(specs: readonly ServiceSpec[]): boolean {
  return specs.some((s) => s.objective === 'throughput' || s.multipath?.mode === 'stripe')
}

/** The next probe directive due, if any: the first node (by id) with up links of unknown capacity. */
export function dueProbe(input: ProbeInput): ProbeRequest | undefined {
  const { settings, now, lastAt } = input
  if (settings.intervalMs === 0) return undefined
  if (lastAt !== undefined && now - lastAt < settings.spacingMs) return undefined
  if (!needsCapacities(input.specs)) return undefined
  const most = Math.max(1, Math.floor(settings.spacingMs / PROBE_MS))
  let node: string | undefined
  const peers: string[] = []
  for (const link of input.links()) {
    if (node !== undefined && link.from !== node) break
    if (!link.up || link.throughputBps > 0 || !input.reachable.has(link.from)) continue
    const at = input.asked.get(askedKey(link.from, link.to))
    if (at !== undefined && now - at < settings.intervalMs) continue
    node = link.from
    peers.push(link.to)
    if (peers.length === most) break
  }
  return node === undefined ? undefined : { node, peers }
}

/** The asks older than the interval: they no longer hold a link back, and can be forgotten. */
export function expiredAsks(asked: ReadonlyMap<string, number>, now: number, intervalMs: number): string[] {
  return [...asked].filter(([, at]) => now - at >= intervalMs).map(([key]) => key)
}
