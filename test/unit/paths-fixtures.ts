/** Small graph builders and a seeded random source for the path computation tests. */
import type { ServiceSpec } from '../../src/scheduler/config/types.ts'
import { buildGraph } from '../../src/scheduler/paths/graph.ts'
import type { Graph, GraphLink, GraphNode } from '../../src/scheduler/paths/types.ts'
import type { LinkView } from '../../src/scheduler/telemetry.ts'

export type LinkSpec = Partial<Omit<GraphLink, 'from' | 'to'>>

/** `links` as [from, to, rttMs | fields]; every link is made in both directions unless `oneWay`. */
export function graphOf(
  regions: Readonly<Record<string, string>>,
  links: readonly (readonly [string, string, number | LinkSpec])[],
  options: { readonly oneWay?: boolean; readonly down?: readonly string[] } = {},
): Graph {
  const nodes: GraphNode[] = Object.entries(regions).map(([id, region]) => ({
    id,
    region,
    up: !(options.down ?? []).includes(id),
  }))
  const all: GraphLink[] = []
  for (const [from, to, spec] of links) {
    all.push(link(from, to, spec))
    if (!options.oneWay) all.push(link(to, from, spec))
  }
  return buildGraph(nodes, all)
}

export function link(from: string, to: string, spec: number | LinkSpec): GraphLink {
  const fields = typeof spec === 'number' ? { rttMs: spec } : spec
  return {
    from,
    to,
    up: true,
    rttMs: 10,
    jitterMs: 0,
    loss: 0,
    throughputBps: 0,
    costPerGb: 0,
    ...fields,
  }
}

/** Mulberry32: deterministic, so a failing random case can be replayed from its seed. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A random directed graph: n nodes named n0…, each with about `degree` outgoing links. */
export function randomGraph(random: () => number, n: number, degree: number, regions = 3): Graph {
  const nodes: GraphNode[] = Array.from({ length: n }, (_, i) => ({
    id: `n${i}`,
    region: `r${Math.floor(random() * regions)}`,
    up: true,
  }))
  const links: GraphLink[] = []
  const seen = new Set<string>()
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < degree; d++) {
      const j = Math.floor(random() * n)
      const key = `${i}-${j}`
      if (j === i || seen.has(key)) continue
      seen.add(key)
      links.push(
        link(`n${i}`, `n${j}`, {
          rttMs: 1 + random() * 50,
          jitterMs: random() * 5,
          loss: random() < 0.2 ? random() * 0.05 : 0,
          throughputBps: Math.round(1 + random() * 9) * 1e7,
          costPerGb: Math.round(random() * 100) / 100,
        }),
      )
    }
  }
  return buildGraph(nodes, links)
}

/** A measured link as the telemetry table shows it: up, fresh, `rttMs` and nothing else noted. */
export function linkView(from: string, to: string, rttMs: number, extra: Partial<LinkView> = {}): LinkView {
  return {
    from,
    to,
    up: true,
    reportedUp: true,
    stale: false,
    rttMs,
    jitterMs: 0,
    loss: 0,
    throughputBps: 0,
    activeFlows: 0,
    reportedAt: 0,
    ageMs: 0,
    ...extra,
  }
}

/** Service web: ingress a's listener web, egress c, one target, latency; `over` changes any of it. */
export function serviceSpec(over: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    name: 'web',
    ingress: [{ node: 'a', listener: 'web' }],
    egress: ['c'],
    targets: [{ address: '10.0.0.5:80', weight: 1 }],
    objective: 'latency',
    constraints: { avoidRegions: [], requireRegions: [] },
    alternatives: 2,
    ...over,
  }
}
