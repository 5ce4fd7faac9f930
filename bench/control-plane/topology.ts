/**
 * The synthetic mesh the control-plane scenario feeds the scheduler: N nodes, each an ingress of
 * one service, a ring plus random chords (about 8 links per node, connected by construction), a
 * few egress nodes. Nodes sit in regions of neighbours on the ring, links carry a capacity
 * estimate and crossing regions has a price, so every objective has something to rank. Pure and
 * seeded, so every run plans the same graph.
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
  readonly throughputBps: number
}

export const REGIONS = 8
/** Link capacity estimates: 10–1000 Mbit/s in steps of 10, so some links tie. */
const CAPACITY_STEP_BPS = 1_250_000
const CAPACITY_STEPS = 100

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
 * 1–50 ms. Fewer than 2 + degree nodes: every other node. Capacities come from a generator of
 * their own, so the peers and RTTs of a seed are what they were before links had capacities.
 */
export function syntheticLinks(count: number, degree: number, seed: number): SyntheticLink[][] {
  const next = random(seed)
  const capacity = random(seed ^ 0x5eed)
  return Array.from({ length: count }, (_, i) => {
    const peers = new Set<number>()
    for (const d of [1, -1, 2, -2]) if (peers.size < degree) peers.add((i + d + count) % count)
    peers.delete(i)
    const want = Math.min(degree, count - 1)
    while (peers.size < want) {
      const j = Math.floor(next() * count)
      if (j !== i) peers.add(j)
    }
    return [...peers].map((j) => ({
      peer: nodeId(j),
      rttMs: 1 + Math.floor(next() * 50),
      throughputBps: (1 + Math.floor(capacity() * CAPACITY_STEPS)) * CAPACITY_STEP_BPS,
    }))
  })
}

/** Node i's region: the ring cut into `REGIONS` arcs, so ring links mostly stay in one. */
export function regionOf(index: number, count: number): string {
  return `r${Math.floor((index * REGIONS) / count)}`
}

/** A price per GB for every ordered pair of distinct regions, 0.01–0.10; within a region: free. */
export function linkCosts(seed: number): { from_region: string; to_region: string; per_gb: number }[] {
  const next = random(seed)
  const costs = []
  for (let a = 0; a < REGIONS; a++) {
    for (let b = 0; b < REGIONS; b++) {
      if (a !== b)
        costs.push({ from_region: `r${a}`, to_region: `r${b}`, per_gb: (1 + Math.floor(next() * 10)) / 100 })
    }
  }
  return costs
}

/** `count` egress nodes spread evenly over the ids. */
export function egressIds(nodes: number, count: number): string[] {
  const n = Math.max(1, Math.min(count, nodes))
  return Array.from({ length: n }, (_, k) => nodeId(Math.floor((k * nodes) / n)))
}

/** How a service plans its paths: what the control-plane scenario measures a change to. */
export interface ServiceKind {
  readonly objective?: 'latency' | 'throughput' | 'cost'
  readonly multipath?: { readonly mode: 'stripe' | 'redundant' | 'failover'; readonly paths: number }
}

/**
 * The kinds measured after the latency service. Each is switched to, which plans every ingress
 * anew on the same graph (what a link report costs a service of that kind), then its target is
 * changed, which plans from memory as the latency measurement does. Each step has a target of its
 * own, so that every node's set changes and the nodes' ACKs tell the steps apart.
 */
export const SERVICE_KINDS: readonly {
  readonly name: string
  readonly kind: ServiceKind
  readonly switchTarget: string
  readonly changeTarget: string
}[] = [
  { name: 'cost', kind: { objective: 'cost' }, switchTarget: `${HOST}:11`, changeTarget: `${HOST}:12` },
  {
    name: 'stripe',
    kind: { multipath: { mode: 'stripe', paths: 2 } },
    switchTarget: `${HOST}:13`,
    changeTarget: `${HOST}:14`,
  },
  {
    name: 'throughput',
    kind: { objective: 'throughput' },
    switchTarget: `${HOST}:15`,
    changeTarget: `${HOST}:16`,
  },
]

/** The service as the REST API takes it: every node is an ingress, so a change reaches them all. */
export function serviceDocument(
  nodes: number,
  egress: readonly string[],
  target: string,
  kind: ServiceKind = {},
) {
  return {
    name: SERVICE,
    ingress: Array.from({ length: nodes }, (_, i) => ({ node: nodeId(i), listener: LISTENER })),
    egress: [...egress],
    targets: [target],
    ...kind,
  }
}

export interface SchedulerFileSpec {
  readonly grpcPort: number
  readonly apiPort: number
  readonly statePath: string
  readonly nodes: number
  readonly egress: readonly string[]
  /** Seeds the link prices; 1 when not given. */
  readonly seed?: number
  /** PEM files of the CA the harness issues the simulated nodes' certificates from; absent: `insecure`. */
  readonly ca?: { readonly cert: string; readonly key: string }
}

/** The operator token of the bench's scheduler api: the bench changes a service through it. */
export const BENCH_API_TOKEN = 'bench-operator-token-0123456789'

/**
 * Links are reported once, so reports must not go stale (report_interval), sets must not be
 * renewed (instruction_ttl) and nodes need few heartbeats during a run. The nodes speak mutual TLS
 * as real ones do, all from the harness's one address: the per-address cap is raised for them.
 */
export function schedulerYaml(s: SchedulerFileSpec): string {
  return [
    'scheduler:',
    `  listen: "${HOST}:${s.grpcPort}"`,
    `  api: "${HOST}:${s.apiPort}"`,
    `  api_token: ${BENCH_API_TOKEN}`,
    `  store: { type: embedded, path: ${JSON.stringify(s.statePath)} }`,
    s.ca
      ? `  ca: { cert: ${JSON.stringify(s.ca.cert)}, key: ${JSON.stringify(s.ca.key)} }`
      : '  insecure: true',
    `  max_streams_per_address: ${s.nodes + 100}`,
    '  heartbeat_interval: 30s',
    '  report_interval: 1h',
    '  instruction_ttl: 2h',
    '  log_level: warn',
    `  link_costs: ${JSON.stringify(linkCosts(s.seed ?? 1))}`,
    `services: [${JSON.stringify(serviceDocument(s.nodes, s.egress, TARGET_BEFORE))}]`,
    '',
  ].join('\n')
}
