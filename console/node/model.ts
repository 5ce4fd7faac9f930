/** The node console's data, as the admin API serves it, and the pure helpers its tables use. */

export interface Series {
  readonly key: string
  readonly kind: 'node' | 'listener' | 'route' | 'peer'
  readonly name: string
  readonly columns: readonly string[]
  readonly samples: readonly { readonly at: string; readonly v: readonly (number | null)[] }[]
}

export interface History {
  readonly intervalMs: number
  readonly series: readonly Series[]
}

/** One column of a series as chart data: [times in s, values]. */
export function column(series: Series | undefined, name: string): [number[], (number | null)[]] {
  if (series === undefined) return [[], []]
  const i = series.columns.indexOf(name)
  return [
    series.samples.map((s) => Date.parse(s.at) / 1000),
    series.samples.map((s) => (i < 0 ? null : (s.v[i] ?? null))),
  ]
}

/** The newest value of a column (a rate, for counters), or null. */
export function latest(series: Series | undefined, name: string): number | null {
  const [, values] = column(series, name)
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i] as number
  return null
}

export function seriesOf(history: History | null, kind: Series['kind'], name: string): Series | undefined {
  return history?.series.find((s) => s.kind === kind && s.name === name)
}

export interface RejectionRow {
  readonly listener: string
  readonly reason: string
  readonly count: number
}

/** Every (listener, reason) with a rejection, most first: which listener refuses flows and why. */
export function rejectionRows(
  listeners: readonly { readonly name: string; readonly rejected: Readonly<Record<string, number>> }[],
): RejectionRow[] {
  return listeners
    .flatMap((l) =>
      Object.entries(l.rejected).map(([reason, count]) => ({ listener: l.name, reason, count })),
    )
    .filter((r) => r.count > 0)
    .sort((a, b) => b.count - a.count || a.listener.localeCompare(b.listener))
}

export const REJECT_REASON_TEXT: Readonly<Record<string, string>> = {
  max_connections: 'listener full (max_connections)',
  no_route: 'no route matched',
  draining: 'node draining',
  tls_handshake: 'TLS handshake failed',
  plugin: 'a plugin refused',
  proxy_protocol: 'no valid PROXY header',
  client_hello: 'no TLS ClientHello in time',
  handshake: 'bad SOCKS5/CONNECT handshake or auth',
  not_allowed: "destination outside the route's allow",
}

export interface EndpointLike {
  readonly health: 'healthy' | 'unhealthy' | 'unchecked'
  readonly ejected: boolean
  readonly lastCheck?: { readonly at: string; readonly ok: boolean }
  readonly unhealthySince?: string
}

/** The colour class of an endpoint: ejected (outlier detection) over its checks' verdict. */
export function endpointLook(e: EndpointLike): 'healthy' | 'unhealthy' | 'unchecked' | 'ejected' {
  return e.ejected ? 'ejected' : e.health
}

/** How long an unhealthy endpoint has been down, at `nowMs`; null when it is not down. */
export function downtimeMs(e: EndpointLike, nowMs: number): number | null {
  if (e.health !== 'unhealthy' || e.unhealthySince === undefined) return null
  const since = Date.parse(e.unhealthySince)
  return Number.isFinite(since) ? Math.max(0, nowMs - since) : null
}

/** The scheduler console's page for this node: its console address with the node picked. */
export function schedulerLink(consoleUrl: string | undefined, nodeId: string): string | undefined {
  if (!consoleUrl) return undefined
  try {
    const url = new URL(consoleUrl)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
    url.hash = `node=${encodeURIComponent(nodeId)}`
    return url.href
  } catch {
    return undefined
  }
}
