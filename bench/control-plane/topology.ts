/**
 * The synthetic mesh the control-plane scenario feeds the scheduler: N nodes, each an ingress of
 * one service, a ring plus random chords (about 8 links per node, connected by construction), a
 * few egress nodes. Pure and seeded, so every run plans the same graph.
 */
import { HOST } from '../sys/net.ts'

export const SERVICE = 'web'
export const LISTENER = 'in'
/** Nothing connects to these: the scheduler only names them in the sets it pushes. */
export const TARGET_BEFORE = `${HOST}:9`
export const TARGET_AFTER = `${HOST}:10`

export interface SyntheticLink {
  readonly peer: string
  readonly rttMs: number
}

export function nodeId(index: number): string {
  return `n${String(index).padStart(5, '0')}`
}

/** mulberry32: a tiny seeded generator, enough to spread chords and RTTs. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/**
 * Node i's outgoing links: to i±1 and i±2 on a ring, then random others up to `degree`. RTTs are
 * 1–50 ms. Fewer than 2 + degree nodes: every other node.
 */
export function syntheticLinks(count: number, degree: number, seed: number): SyntheticLink[][] {
  const next = random(seed)
  return Array.from({ length: count }, (_, i) => {
    const peers = new Set<number>()
    for (const d of [1, -1, 2, -2]) if (peers.size < degree) peers.add((i + d + count) % count)
    peers.delete(i)
    const want = Math.min(degree, count - 1)
    while (peers.size < want) {
      const j = Math.floor(next() * count)
      if (j !== i) peers.add(j)
    }
    return [...peers].map((j) => ({ peer: nodeId(j), rttMs: 1 + Math.floor(next() * 50) }))
  })
}

/** `count` egress nodes spread evenly over the ids. */
export function egressIds(nodes: number, count: number): string[] {
  const n = Math.max(1, Math.min(count, nodes))
  return Array.from({ length: n }, (_, k) => nodeId(Math.floor((k * nodes) / n)))
}

/** The service as the REST API takes it: every node is an ingress, so a change reaches them all. */
export function serviceDocument(nodes: number, egress: readonly string[], target: string) {
  return {
    name: SERVICE,
    ingress: Array.from({ length: nodes }, (_, i) => ({ node: nodeId(i), listener: LISTENER })),
    egress: [...egress],
    targets: [target],
  }
}

export interface SchedulerFileSpec {
  readonly grpcPort: number
  readonly apiPort: number
  readonly statePath: string
  readonly nodes: number
  readonly egress: readonly string[]
}

/**
 * Links are reported once, so reports must not go stale (report_interval), sets must not be
 * renewed (instruction_ttl) and nodes need few heartbeats during a run.
 */
export function schedulerYaml(s: SchedulerFileSpec): string {
  return [
    'scheduler:',
    `  listen: "${HOST}:${s.grpcPort}"`,
    `  api: "${HOST}:${s.apiPort}"`,
    `  store: { type: embedded, path: ${JSON.stringify(s.statePath)} }`,
    '  heartbeat_interval: 30s',
    '  report_interval: 1h',
    '  instruction_ttl: 2h',
    '  log_level: warn',
    `services: [${JSON.stringify(serviceDocument(s.nodes, s.egress, TARGET_BEFORE))}]`,
    '',
  ].join('\n')
}
