/**
 * What the web UI shows, as pure functions from the admin API's JSON to rows of text. The page
 * (page.ts) embeds these very functions by their source, so each must stand alone: no imports,
 * no closures, only calls to the others here. Tests call them directly.
 */
import type { FlowInfo, ListenerStatus, NodeStats, PeerStatus, RouteStatus } from '../../views/node-view.ts'

export type Row = readonly string[]

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]}`
}

export function formatDuration(ms: number): string {
  const s = Math.floor(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`
}

export function summaryRows(stats: NodeStats): Row[] {
  const c = stats.connections
  const rows: Row[] = [
    ['node', `${stats.node.id} (${stats.node.region}), dynproxy ${stats.node.version}`],
    ['state', `${stats.node.state}, up ${formatDuration(stats.node.uptimeSeconds * 1000)}`],
    ['connections', `${c.active} open, ${c.total} accepted, ${c.rejected} rejected, ${c.failed} failed`],
    ['traffic', `${formatBytes(stats.traffic.bytesIn)} in, ${formatBytes(stats.traffic.bytesOut)} out`],
  ]
  const s = stats.scheduler
  if (s) {
    const version = s.appliedVersion ? `, instructions ${s.appliedVersion}` : ''
    rows.push([
      'scheduler',
      `${s.state}${s.address ? ` to ${s.address}` : ''}, ${s.fresh ? 'fresh' : 'stale'}${version}`,
    ])
  }
  const m = stats.mesh
  if (m) rows.push(['mesh', `${m.bind ?? '-'}: relaying ${m.relayedActive} (${m.relayedTotal} in all)`])
  const w = stats.workers
  if (w) rows.push(['workers', w.map((x) => `#${x.index} ${x.state} ${x.activeConnections} open`).join(', ')])
  return rows
}

export function listenerRows(listeners: readonly ListenerStatus[]): Row[] {
  return listeners.map((l) => [
    l.name,
    l.bind,
    l.state,
    `${l.activeConnections} / ${l.maxConnections}`,
    String(l.totalConnections),
    String(Object.values(l.rejected).reduce((a, b) => a + b, 0)),
    formatBytes(l.bytesIn),
    formatBytes(l.bytesOut),
  ])
}

export function routeRows(routes: readonly RouteStatus[]): Row[] {
  return routes.map((r) => {
    const match = [
      r.match.listener !== undefined ? `listener ${r.match.listener}` : '',
      r.match.port !== undefined ? `port ${r.match.port}` : '',
      r.match.sourceCidrs ? `from ${r.match.sourceCidrs.join(' ')}` : '',
    ]
      .filter((part) => part !== '')
      .join(', ')
    const endpoints = r.endpoints
      .map((e) => `${e.address} ${e.ejected ? 'ejected' : e.health} (${e.activeConnections})`)
      .join(', ')
    const paths = r.paths.map((p) => `${p.path}${p.firstHopState ? ` [${p.firstHopState}]` : ''}`).join(' | ')
    return [
      r.name,
      match || 'any',
      r.lb,
      endpoints || paths || r.target,
      `${r.matches.instruction} / ${r.matches.cached_instruction} / ${r.matches.static}`,
      String(r.failedFlows),
    ]
  })
}

export function peerRows(peers: readonly PeerStatus[]): Row[] {
  return peers.map((p) => [
    p.name,
    p.address,
    p.state,
    p.rttMs === undefined ? '-' : `${p.rttMs.toFixed(1)} ms`,
    p.loss === undefined ? '-' : `${(p.loss * 100).toFixed(0)} %`,
    p.throughputBps === undefined ? '-' : `${((p.throughputBps * 8) / 1e6).toFixed(0)} Mbit/s`,
    String(p.activeFlows),
  ])
}

export function flowRows(flows: readonly FlowInfo[]): Row[] {
  return flows.map((f) => [
    f.worker === undefined ? f.id : `${f.id} (w${f.worker})`,
    f.listener,
    f.source,
    f.route ?? '-',
    f.target ?? '-',
    f.state,
    formatDuration(f.durationMs),
    formatBytes(f.bytesIn),
    formatBytes(f.bytesOut),
  ])
}

/** Every function above, in the order the page declares them. */
export const TABLE_FUNCTIONS = [
  formatBytes,
  formatDuration,
  summaryRows,
  listenerRows,
  routeRows,
  peerRows,
  flowRows,
] as const
