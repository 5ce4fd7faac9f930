import { type DecisionSource, type EndpointStatus, REJECT_REASONS } from '../views/node-view.ts'
import type { ScrapeSnapshot } from './snapshot.ts'

export interface Sample {
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

/**
 * A metric whose every value is read from the node at scrape time, so the data path never touches
 * it. Counters among them are totals the node keeps; they are re-set on each scrape, not added to.
 */
export interface ScrapedFamily {
  readonly name: string
  readonly help: string
  readonly kind: 'counter' | 'gauge'
  readonly labelNames: readonly string[]
  read(snapshot: ScrapeSnapshot): Sample[]
}

const DECISION_SOURCES: readonly DecisionSource[] = ['instruction', 'cached_instruction', 'static']

const listenerFamilies: ScrapedFamily[] = [
  {
    name: 'dynproxy_downstream_cx_active',
    help: 'Downstream connections open on the listener.',
    kind: 'gauge',
    labelNames: ['listener'],
    read: (s) => s.listeners().map((l) => ({ labels: { listener: l.name }, value: l.activeConnections })),
  },
  {
    name: 'dynproxy_downstream_cx_total',
    help: 'Downstream connections accepted by the listener.',
    kind: 'counter',
    labelNames: ['listener'],
    read: (s) => s.listeners().map((l) => ({ labels: { listener: l.name }, value: l.totalConnections })),
  },
  {
    name: 'dynproxy_downstream_cx_rejected_total',
    help: 'Downstream connections closed at accept, by reason (max_connections, no_route, draining, tls_handshake, plugin).',
    kind: 'counter',
    labelNames: ['listener', 'reason'],
    read: (s) =>
      s.listeners().flatMap((l) =>
        REJECT_REASONS.map((reason) => ({
          labels: { listener: l.name, reason },
          value: l.rejected[reason],
        })),
      ),
  },
  {
    name: 'dynproxy_downstream_bytes_total',
    help: 'Bytes through the listener: in = from clients, out = to clients.',
    kind: 'counter',
    labelNames: ['listener', 'direction'],
    read: (s) =>
      s.listeners().flatMap((l) => [
        { labels: { listener: l.name, direction: 'in' }, value: l.bytesIn },
        { labels: { listener: l.name, direction: 'out' }, value: l.bytesOut },
      ]),
  },
]

const routeFamilies: ScrapedFamily[] = [
  {
    name: 'dynproxy_route_matches_total',
    help: 'Flows routed by the route, by decision source (instruction, cached_instruction, static).',
    kind: 'counter',
    labelNames: ['route', 'source'],
    read: (s) =>
      Object.entries(s.stats().routeMatches).flatMap(([route, bySource]) =>
        DECISION_SOURCES.map((source) => ({ labels: { route, source }, value: bySource[source] })),
      ),
  },
]

interface EndpointRow {
  readonly labels: Readonly<Record<string, string>>
  readonly endpoint: EndpointStatus
}

function endpointRows(s: ScrapeSnapshot): EndpointRow[] {
  return s
    .routes()
    .flatMap((r) => r.endpoints.map((e) => ({ labels: { route: r.name, endpoint: e.address }, endpoint: e })))
}

function endpointFamily(
  name: string,
  help: string,
  kind: ScrapedFamily['kind'],
  value: (e: EndpointStatus) => number,
): ScrapedFamily {
  return {
    name,
    help,
    kind,
    labelNames: ['route', 'endpoint'],
    read: (s) => endpointRows(s).map((row) => ({ labels: row.labels, value: value(row.endpoint) })),
  }
}

const upstreamFamilies: ScrapedFamily[] = [
  endpointFamily(
    'dynproxy_upstream_cx_total',
    'Upstream connections opened to the endpoint.',
    'counter',
    (e) => e.totalConnections,
  ),
  endpointFamily(
    'dynproxy_upstream_cx_connect_fail_total',
    'Upstream connection attempts to the endpoint that failed.',
    'counter',
    (e) => e.connectFailures,
  ),
  endpointFamily(
    'dynproxy_upstream_ejections_total',
    'Times outlier detection ejected the endpoint.',
    'counter',
    (e) => e.ejections,
  ),
  // An endpoint nobody health-checks is taken as healthy: that is how the balancer treats it.
  endpointFamily(
    'dynproxy_upstream_endpoint_healthy',
    'Whether the endpoint passes its health checks (1) or not (0); unchecked endpoints count as 1.',
    'gauge',
    (e) => (e.health === 'unhealthy' ? 0 : 1),
  ),
  endpointFamily(
    'dynproxy_upstream_endpoint_ejected',
    'Whether the endpoint is ejected by outlier detection now (1) or not (0).',
    'gauge',
    (e) => (e.ejected ? 1 : 0),
  ),
]

const peerFamilies: ScrapedFamily[] = [
  {
    name: 'dynproxy_peer_up',
    help: 'Whether the control channel to the peer is up (1) or not (0).',
    kind: 'gauge',
    labelNames: ['peer'],
    read: (s) => s.peers().map((p) => ({ labels: { peer: p.name }, value: p.state === 'up' ? 1 : 0 })),
  },
  // A peer never probed has no RTT or loss yet: no sample beats a made-up zero.
  {
    name: 'dynproxy_peer_rtt_seconds',
    help: 'Smoothed round-trip time of the probes to the peer.',
    kind: 'gauge',
    labelNames: ['peer'],
    read: (s) =>
      s
        .peers()
        .flatMap((p) => (p.rttMs === undefined ? [] : [{ labels: { peer: p.name }, value: p.rttMs / 1000 }])),
  },
  {
    name: 'dynproxy_peer_loss_ratio',
    help: 'Share of recent probes to the peer that went unanswered (0 to 1).',
    kind: 'gauge',
    labelNames: ['peer'],
    read: (s) =>
      s.peers().flatMap((p) => (p.loss === undefined ? [] : [{ labels: { peer: p.name }, value: p.loss }])),
  },
]

const nodeFamilies: ScrapedFamily[] = [
  {
    name: 'dynproxy_node_draining',
    help: 'Whether the node is draining (1) or not (0).',
    kind: 'gauge',
    labelNames: [],
    read: (s) => [{ labels: {}, value: s.stats().node.state === 'draining' ? 1 : 0 }],
  },
  {
    name: 'dynproxy_connections_failed_total',
    help: 'Accepted connections for which no upstream could be reached.',
    kind: 'counter',
    labelNames: [],
    read: (s) => [{ labels: {}, value: s.stats().connections.failed }],
  },
]

const meshFamilies: ScrapedFamily[] = [
  {
    name: 'dynproxy_mesh_relayed_active',
    help: 'Flows this node relays for other nodes, open now.',
    kind: 'gauge',
    labelNames: [],
    read: (s) => {
      const mesh = s.stats().mesh
      return mesh ? [{ labels: {}, value: mesh.relayedActive }] : []
    },
  },
  {
    name: 'dynproxy_mesh_relayed_total',
    help: 'Flows this node accepted to relay for other nodes.',
    kind: 'counter',
    labelNames: [],
    read: (s) => {
      const mesh = s.stats().mesh
      return mesh ? [{ labels: {}, value: mesh.relayedTotal }] : []
    },
  },
  {
    name: 'dynproxy_mesh_refusals_total',
    help: 'Mesh open requests refused or failed onward, by wire status (unauthorized, target_not_allowed, ...).',
    kind: 'counter',
    labelNames: ['status'],
    read: (s) =>
      Object.entries(s.stats().mesh?.refusals ?? {}).map(([status, value]) => ({
        labels: { status },
        value,
      })),
  },
  {
    name: 'dynproxy_mesh_rejected_connections_total',
    help: 'Connections to the mesh port closed before a mesh header: garbage, other protocols, TLS failures, over the limits on unauthenticated connections.',
    kind: 'counter',
    labelNames: [],
    read: (s) => {
      const mesh = s.stats().mesh
      return mesh ? [{ labels: {}, value: mesh.rejectedConnections }] : []
    },
  },
]

export const SCRAPED_FAMILIES: readonly ScrapedFamily[] = [
  ...listenerFamilies,
  ...routeFamilies,
  ...upstreamFamilies,
  ...peerFamilies,
  ...nodeFamilies,
  ...meshFamilies,
]
