/** What the REST API and `dynproxy ctl` show: plain JSON built from the core's state. */
import { formatVersion, type InstructionVersion } from '../instructions/types.ts'
import type { SchedulerCore } from './core.ts'
import { STALE_REPORTS } from './core.ts'
import { pathKey } from './paths/edge-costs.ts'
import type { PathMetrics } from './paths/types.ts'
import type { WeightMemory } from './plan/path-weights.ts'
import { isSynced, type NodeRouteReport } from './registry.ts'
import type { LinkView } from './telemetry.ts'

function version(v: InstructionVersion | undefined): string | null {
  return v === undefined ? null : formatVersion(v)
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString()
}

/**
 * This replica's nodes in full; with HA, also the nodes other replicas serve, as the store shares
 * them (id, region, replica), so every replica shows the whole mesh. A node that left this
 * replica for another is shown where it is now.
 */
export function nodesView(core: SchedulerCore, replicaId: string) {
  const cluster = core.cluster
  const local = localNodes(core)
  if (cluster === undefined) return local
  const elsewhere = cluster.sharedNodes().filter((n) => n.replica !== replicaId)
  const moved = new Set(elsewhere.map((n) => n.id))
  return [
    ...local.filter((n) => n.connected || !moved.has(n.id)).map((n) => ({ ...n, replica: replicaId })),
    ...elsewhere.map((n) => ({ id: n.id, region: n.region, connected: true, replica: n.replica })),
  ]
}

function localNodes(core: SchedulerCore) {
  return core.registry.list().map((n) => ({
    id: n.id,
    region: n.region,
    connected: n.connected,
    synced: isSynced(n),
    meshAddress: n.meshAddress,
    listeners: n.listeners,
    peers: n.peers,
    capabilities: n.capabilities,
    softwareVersion: n.softwareVersion,
    appliedVersion: version(n.appliedVersion),
    pendingVersion: version(n.pendingVersion),
    lastNack: n.lastNack
      ? { version: formatVersion(n.lastNack.version), error: n.lastNack.error, at: iso(n.lastNack.at) }
      : null,
    connectedAt: iso(n.connectedAt),
    disconnectedAt: iso(n.disconnectedAt),
    disconnectReason: n.disconnectReason ?? null,
    lastSeenAt: iso(n.lastSeenAt),
    lastHeartbeatAt: iso(n.lastHeartbeatAt),
    load: n.load ?? null,
    routes: (n.routes ?? []).map(routeView),
  }))
}

/** A reported route, with each multipath path's share of the bytes the route's flows sent. */
function routeView(r: NodeRouteReport) {
  const sent = r.paths.reduce((sum, p) => sum + p.bytesSent, 0)
  return { ...r, paths: r.paths.map((p) => ({ ...p, share: sent > 0 ? p.bytesSent / sent : 0 })) }
}

/** With HA, every replica's links: each replica shares its nodes' reports through the store. */
export function linksView(core: SchedulerCore, now: number, reportIntervalMs: number): readonly LinkView[] {
  return core.cluster?.view(now).links ?? core.links.list(now, STALE_REPORTS * reportIntervalMs)
}

function pathView(nodes: readonly string[], cost: number, metrics: PathMetrics) {
  return { nodes, cost, ...metrics }
}

export function pathsView(core: SchedulerCore) {
  return core.currentPlan.selections.map((s) => ({
    service: s.service,
    ingress: s.ingress,
    chosen: s.choice ? pathView(s.choice.path.nodes, s.choice.path.cost, s.choice.path.metrics) : null,
    since: iso(s.choice?.since),
    candidates: s.candidates.map((c) => pathView(c.nodes, c.cost, c.metrics)),
    pushed: s.route
      ? s.route.paths.map((p) => ({ hops: p.hops, weight: p.weight, ...learned(s.weights, p.nodes) }))
      : [],
  }))
}

/**
 * Stripe paths: the factor the reported shares put on the graph's capacity estimate (1: the
 * shares agree with the graph, or taught nothing yet).
 */
function learned(memory: WeightMemory | undefined, nodes: readonly string[]) {
  const ln = memory?.corrections.get(pathKey(nodes))
  return ln === undefined ? {} : { shareCorrection: Math.exp(ln) }
}

export function statusView(core: SchedulerCore, schedulerId: string) {
  const nodes = core.registry.list()
  const connected = nodes.filter((n) => n.connected)
  const synced = connected.filter(isSynced).length
  const stats = core.stats
  return {
    id: schedulerId,
    epoch: core.epoch,
    counter: core.counter,
    leader: core.leading,
    startedAt: iso(core.startedAt),
    services: core.specs().length,
    nodes: { known: nodes.length, connected: connected.length, synced, stale: connected.length - synced },
    recomputes: stats.count,
    pushes: stats.pushes,
    lastRecompute:
      stats.lastAt === undefined
        ? null
        : { at: iso(stats.lastAt), durationMs: stats.lastDurationMs ?? 0, reason: stats.lastReason ?? '' },
  }
}
