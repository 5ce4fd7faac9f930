/**
 * One node's views from its workers' snapshots: counters add up, per-thing state (a listener, a
 * route's endpoint, a peer) is read from the first worker that has the thing, since every worker
 * runs the same config and probes the same peers and endpoints on its own.
 */

import type { FlowDurations } from '../metrics/metrics.ts'
import {
  type DecisionSource,
  type EndpointStatus,
  type ListenerStatus,
  type MeshStats,
  type PeerStatus,
  REJECT_REASONS,
  type RejectReason,
  type RoutePathStatus,
  type RouteStatus,
} from '../views/node-view.ts'
import type { WorkerSnapshot } from './messages.ts'

export interface MergedCounters {
  readonly connections: { active: number; total: number; rejected: number; failed: number }
  readonly traffic: { bytesIn: number; bytesOut: number }
  readonly routeMatches: Record<string, Record<DecisionSource, number>>
  readonly mesh?: MeshStats
}

export function mergeCounters(snapshots: readonly WorkerSnapshot[]): MergedCounters {
  const connections = { active: 0, total: 0, rejected: 0, failed: 0 }
  const traffic = { bytesIn: 0, bytesOut: 0 }
  const routeMatches: Record<string, Record<DecisionSource, number>> = {}
  for (const { stats } of snapshots) {
    connections.active += stats.connections.active
    connections.total += stats.connections.total
    connections.rejected += stats.connections.rejected
    connections.failed += stats.connections.failed
    traffic.bytesIn += stats.traffic.bytesIn
    traffic.bytesOut += stats.traffic.bytesOut
    for (const [route, matches] of Object.entries(stats.routeMatches)) {
      routeMatches[route] = addMatches(routeMatches[route], matches)
    }
  }
  const mesh = mergeMesh(snapshots.flatMap((s) => (s.stats.mesh ? [s.stats.mesh] : [])))
  return { connections, traffic, routeMatches, ...(mesh && { mesh }) }
}

function addMatches(
  into: Record<DecisionSource, number> | undefined,
  add: Readonly<Record<DecisionSource, number>>,
): Record<DecisionSource, number> {
  const sum = { instruction: 0, cached_instruction: 0, static: 0, ...into }
  for (const source of Object.keys(add) as DecisionSource[]) sum[source] += add[source]
  return sum
}

function mergeMesh(all: readonly MeshStats[]): MeshStats | undefined {
  const first = all[0]
  if (first === undefined) return undefined
  const refusals: Record<string, number> = {}
  for (const m of all)
    for (const [status, n] of Object.entries(m.refusals)) refusals[status] = (refusals[status] ?? 0) + n
  return {
    bind: first.bind,
    relayedActive: sum(all, (m) => m.relayedActive),
    relayedTotal: sum(all, (m) => m.relayedTotal),
    refusals,
    rejectedConnections: sum(all, (m) => m.rejectedConnections),
  }
}

const LISTENER_STATE_RANK: Readonly<Record<ListenerStatus['state'], number>> = {
  listening: 0,
  draining: 1,
  closed: 2,
}

/** A listener is as far along as its least advanced worker: listening while any worker still accepts. */
export function mergeListeners(
  perWorker: readonly (readonly ListenerStatus[])[],
  maxConnections: Readonly<Record<string, number>>,
): ListenerStatus[] {
  return mergeByName(perWorker, (all) => {
    const first = all[0] as ListenerStatus
    const state = all.reduce(
      (best, l) => (LISTENER_STATE_RANK[l.state] < LISTENER_STATE_RANK[best] ? l.state : best),
      first.state,
    )
    return {
      name: first.name,
      bind: first.bind,
      kinds: first.kinds,
      state,
      maxConnections: maxConnections[first.name] ?? sum(all, (l) => l.maxConnections),
      activeConnections: sum(all, (l) => l.activeConnections),
      totalConnections: sum(all, (l) => l.totalConnections),
      rejected: Object.fromEntries(
        REJECT_REASONS.map((reason) => [reason, sum(all, (l) => l.rejected[reason])]),
      ) as Record<RejectReason, number>,
      bytesIn: sum(all, (l) => l.bytesIn),
      bytesOut: sum(all, (l) => l.bytesOut),
    }
  })
}

export function mergeRoutes(perWorker: readonly (readonly RouteStatus[])[]): RouteStatus[] {
  return mergeByName(perWorker, (all) => {
    const first = all[0] as RouteStatus
    return {
      ...first,
      matches: all.reduce<Record<DecisionSource, number>>((m, r) => addMatches(m, r.matches), {
        instruction: 0,
        cached_instruction: 0,
        static: 0,
      }),
      bytesIn: sum(all, (r) => r.bytesIn),
      bytesOut: sum(all, (r) => r.bytesOut),
      failedFlows: sum(all, (r) => r.failedFlows),
      endpoints: mergeEndpoints(all.map((r) => r.endpoints)),
      paths: first.paths.map((path, index) =>
        mergePath(
          path,
          all.map((r) => r.paths[index]),
        ),
      ),
    }
  })
}

function mergeEndpoints(perWorker: readonly (readonly EndpointStatus[])[]): EndpointStatus[] {
  return mergeByKey(
    perWorker,
    (e) => e.address,
    (all) => ({
      ...(all[0] as EndpointStatus),
      ejections: sum(all, (e) => e.ejections),
      activeConnections: sum(all, (e) => e.activeConnections),
      totalConnections: sum(all, (e) => e.totalConnections),
      connectFailures: sum(all, (e) => e.connectFailures),
    }),
  )
}

function mergePath(first: RoutePathStatus, all: readonly (RoutePathStatus | undefined)[]): RoutePathStatus {
  const carried = all.flatMap((p) => (p?.carried ? [p.carried] : []))
  if (carried.length === 0) return first
  const srtt = carried.findLast((c) => c.srttMs !== undefined)?.srttMs
  return {
    ...first,
    carried: {
      bytesSent: sum(carried, (c) => c.bytesSent),
      bytesReceived: sum(carried, (c) => c.bytesReceived),
      retransmittedBytes: sum(carried, (c) => c.retransmittedBytes),
      srttMs: srtt,
    },
  }
}

/** A peer's link measurements come from the first worker that measured it; flows add up. */
export function mergePeers(perWorker: readonly (readonly PeerStatus[])[]): PeerStatus[] {
  return mergeByName(perWorker, (all) => {
    const measured = all.find((p) => p.rttMs !== undefined) ?? (all[0] as PeerStatus)
    const { throughputBps: _bps, throughputMeasuredAt: _at, ...rest } = measured
    return { ...rest, activeFlows: sum(all, (p) => p.activeFlows), ...latestCapacity(all) }
  })
}

/** The worker that probed the link last has its capacity: probes run in whichever worker was asked. */
function latestCapacity(
  all: readonly PeerStatus[],
): Pick<PeerStatus, 'throughputBps' | 'throughputMeasuredAt'> {
  let latest: PeerStatus | undefined
  for (const p of all) {
    if (p.throughputMeasuredAt === undefined) continue
    if (latest === undefined || p.throughputMeasuredAt > (latest.throughputMeasuredAt as string)) latest = p
  }
  if (latest?.throughputBps === undefined) return {}
  return { throughputBps: latest.throughputBps, throughputMeasuredAt: latest.throughputMeasuredAt as string }
}

function mergeByName<T extends { readonly name: string }>(
  perWorker: readonly (readonly T[])[],
  merge: (all: readonly T[]) => T,
): T[] {
  return mergeByKey(perWorker, (t) => t.name, merge)
}

/** Keeps the first worker's order; a thing only later workers have (mid-restart) comes last. */
function mergeByKey<T>(
  perWorker: readonly (readonly T[])[],
  keyOf: (t: T) => string,
  merge: (all: readonly T[]) => T,
): T[] {
  const groups = new Map<string, T[]>()
  for (const list of perWorker) {
    for (const item of list) {
      const key = keyOf(item)
      const group = groups.get(key)
      if (group === undefined) groups.set(key, [item])
      else group.push(item)
    }
  }
  return [...groups.values()].map(merge)
}

function sum<T>(items: readonly T[], value: (t: T) => number): number {
  let total = 0
  for (const item of items) total += value(item)
  return total
}

/**
 * What a dead worker had counted, kept so that the node's totals never go back: its last snapshot
 * added into those of the workers that died before it, with nothing left open.
 */
export function retire(retired: WorkerSnapshot | undefined, dead: WorkerSnapshot): WorkerSnapshot {
  const closed = closedSnapshot(dead)
  if (retired === undefined) return closed
  const counters = mergeCounters([retired, closed])
  return {
    stats: { ...retired.stats, ...counters },
    listeners: mergeListeners([retired.listeners, closed.listeners], {}),
    routes: mergeRoutes([retired.routes, closed.routes]),
    peers: mergePeers([retired.peers, closed.peers]),
    flowDurations: sumHistograms(retired.flowDurations, closed.flowDurations),
  }
}

function closedSnapshot(s: WorkerSnapshot): WorkerSnapshot {
  const mesh = s.stats.mesh
  return {
    stats: {
      ...s.stats,
      connections: { ...s.stats.connections, active: 0 },
      ...(mesh && { mesh: { ...mesh, relayedActive: 0 } }),
    },
    listeners: s.listeners.map((l) => ({ ...l, state: 'closed', activeConnections: 0 })),
    routes: s.routes.map((r) => ({
      ...r,
      endpoints: r.endpoints.map((e) => ({ ...e, activeConnections: 0 })),
    })),
    peers: s.peers.map((p) => ({ ...p, activeFlows: 0 })),
    flowDurations: s.flowDurations,
  }
}

/** Two histograms of the same metric, series by series (bucket, sum and count alike). */
export function sumHistograms(a: FlowDurations, b: FlowDurations): FlowDurations {
  // Histogram values carry the series name (_bucket, _sum, _count) beside their labels.
  const keyOf = (v: FlowDurations['values'][number]) =>
    `${(v as { metricName?: string }).metricName ?? ''}${JSON.stringify(v.labels)}`
  const values = new Map(a.values.map((v) => [keyOf(v), { ...v }]))
  for (const v of b.values) {
    const into = values.get(keyOf(v))
    if (into === undefined) values.set(keyOf(v), { ...v })
    else into.value += v.value
  }
  return { ...a, values: [...values.values()] }
}
