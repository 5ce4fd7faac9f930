/**
 * The read-only views a node gives of itself: the seed's `getStats()`, `getListeners()`,
 * `getPeers()`, and what the admin API serves. Plain JSON-able data, computed on request, so that
 * nothing on the data path pays for observability.
 */

export type DecisionSource = 'instruction' | 'cached_instruction' | 'static'

export type NodeState = 'starting' | 'running' | 'draining' | 'stopped'

export interface NodeInfo {
  readonly id: string
  readonly region: string
  readonly version: string
  readonly pid: number
  readonly startedAt: string
  readonly uptimeSeconds: number
  readonly state: NodeState
}

export interface TrafficTotals {
  /** Bytes received from downstream clients (and forwarded upstream). */
  readonly bytesIn: number
  /** Bytes sent to downstream clients (received from upstream). */
  readonly bytesOut: number
}

export interface ConnectionTotals {
  readonly active: number
  readonly total: number
  /** Closed at accept: listener full, no route, node draining. */
  readonly rejected: number
  /** Accepted but no upstream could be reached. */
  readonly failed: number
}

/** What a node did for others as a relay; absent when it runs no mesh. */
export interface MeshStats {
  readonly bind: string | undefined
  /** Relayed flows open now, and relayed flows accepted. */
  readonly relayedActive: number
  readonly relayedTotal: number
  /** Open requests refused (or failed onward), by wire status. */
  readonly refusals: Readonly<Record<string, number>>
  /** Connections closed before they sent a mesh header: garbage, other protocols, TLS failures, over the unauthenticated limits. */
  readonly rejectedConnections: number
}

/** The node's link to the Traffic Scheduler; absent when it has no scheduler section. */
export interface SchedulerLinkStats {
  readonly state: 'connecting' | 'connected' | 'degraded' | 'stopped'
  readonly address?: string
  readonly connectedSince?: string
  readonly consecutiveFailures: number
  /** `epoch.counter` of the instruction set in force. */
  readonly appliedVersion?: string
  /** Whether the set in force counts as fresh (else its routes are decided as cached_instruction). */
  readonly fresh: boolean
  readonly lastNack?: { readonly version: string; readonly error: string; readonly at: string }
  /** The scheduler console's address, as the scheduler's welcome gave it: the console links to it. */
  readonly consoleUrl?: string
  /** The scheduler this node runs in-process, with `scheduler.address: embedded`. */
  readonly embedded?: { readonly grpc: string; readonly api: string }
}

export interface NodeStats {
  readonly node: NodeInfo
  /** Flows accepted on this node's listeners (relayed flows are under `mesh`). */
  readonly connections: ConnectionTotals
  readonly traffic: TrafficTotals
  readonly routeMatches: Readonly<Record<string, Readonly<Record<DecisionSource, number>>>>
  readonly mesh?: MeshStats
  readonly scheduler?: SchedulerLinkStats
  /** With `common.workers` above 1: the processes that carry the flows (the rest is their sum). */
  readonly workers?: readonly WorkerInfo[]
}

export interface WorkerInfo {
  readonly index: number
  readonly pid: number | undefined
  readonly state: 'starting' | 'running' | 'restarting'
  readonly activeConnections: number
  /** Times this worker's process was started again after it died. */
  readonly restarts: number
}

/** Why a connection was closed at accept; `tls_handshake`: a TLS listener's client failed its handshake. */
export type RejectReason =
  | 'max_connections'
  | 'no_route'
  | 'draining'
  | 'tls_handshake'
  | 'plugin'
  | 'proxy_protocol'
  | 'client_hello'
  | 'handshake'
  | 'not_allowed'

export const REJECT_REASONS: readonly RejectReason[] = [
  'max_connections',
  'no_route',
  'draining',
  'tls_handshake',
  'plugin',
  'proxy_protocol',
  'client_hello',
  'handshake',
  'not_allowed',
]

export function rejectedTotal(rejected: Readonly<Record<RejectReason, number>>): number {
  let total = 0
  for (const reason of REJECT_REASONS) total += rejected[reason]
  return total
}

/** The protocol, then what the listener does before routing: `tcp`/`udp`, `proxy_protocol`, `tls`, `sni`, `socks5`, `http_connect`. */
export type ListenerKind = 'tcp' | 'udp' | 'proxy_protocol' | 'tls' | 'sni' | 'socks5' | 'http_connect'

export interface ListenerStatus extends TrafficTotals {
  readonly name: string
  readonly bind: string
  readonly kinds: readonly ListenerKind[]
  readonly state: 'listening' | 'draining' | 'closed'
  readonly maxConnections: number
  readonly activeConnections: number
  readonly totalConnections: number
  readonly rejected: Readonly<Record<RejectReason, number>>
}

export type EndpointHealth = 'healthy' | 'unhealthy' | 'unchecked'

export interface EndpointStatus {
  readonly address: string
  readonly weight: number
  readonly health: EndpointHealth
  readonly ejected: boolean
  /** ISO time the current ejection ends, when ejected. */
  readonly ejectedUntil?: string
  readonly ejections: number
  /** The last active health check: when, and whether the endpoint answered. Absent: never checked. */
  readonly lastCheck?: { readonly at: string; readonly ok: boolean }
  /** Unhealthy (by its checks) since this ISO time. */
  readonly unhealthySince?: string
  readonly activeConnections: number
  readonly totalConnections: number
  readonly connectFailures: number
}

/** One way through the mesh of a mesh route, and how its first hop is doing. */
export interface RoutePathStatus {
  readonly path: string
  readonly firstHop?: string
  readonly firstHopState?: PeerState
  /** Multipath routes: what this path carried for the route's ended flows. */
  readonly carried?: {
    readonly bytesSent: number
    readonly bytesReceived: number
    readonly retransmittedBytes: number
    readonly srttMs: number | undefined
  }
}

export interface RouteStatus {
  readonly name: string
  readonly match: {
    readonly port?: number
    readonly listener?: string
    readonly sourceCidrs?: readonly string[]
  }
  readonly lb: string
  readonly target: string
  readonly matches: Readonly<Record<DecisionSource, number>>
  /** Bytes of the route's ended flows: in = from clients, out = to clients. */
  readonly bytesIn: number
  readonly bytesOut: number
  /** Flows of the route for which no upstream (or no path) could be reached. */
  readonly failedFlows: number
  readonly endpoints: readonly EndpointStatus[]
  /** Mesh routes: their paths in configured order; empty for endpoint routes. */
  readonly paths: readonly RoutePathStatus[]
}

export type FlowState = 'accepted' | 'routing' | 'connecting' | 'established' | 'closing' | 'closed'

export interface FlowInfo extends TrafficTotals {
  readonly id: string
  readonly listener: string
  readonly source: string
  readonly route?: string
  readonly target?: string
  readonly state: FlowState
  readonly startedAt: string
  readonly durationMs: number
  /** The TLS server name the client asked for, when its listener reads or terminates TLS. */
  readonly sni?: string
  /** Flows of a `handshake` listener: the destination the client asked for, as it named it. */
  readonly destination?: string
  /** Multipath flows: each subflow's bytes, RTT and retransmissions. */
  readonly subflows?: readonly SubflowInfo[]
  /** With `common.workers` above 1: the worker process that carries the flow. */
  readonly worker?: number
}

export interface SubflowInfo {
  readonly index: number
  readonly open: boolean
  readonly bytesSent: number
  readonly bytesReceived: number
  readonly retransmittedBytes: number
  readonly srttMs?: number
}

export type PeerState = 'unknown' | 'up' | 'down'

export interface PeerStatus {
  readonly name: string
  readonly address: string
  readonly type: string
  readonly region?: string
  readonly state: PeerState
  readonly rttMs?: number
  readonly jitterMs?: number
  readonly loss?: number
  readonly lastSeen?: string
  readonly activeFlows: number
  /** Bytes per second the last throughput probe of the link measured, for an hour after it. */
  readonly throughputBps?: number
  readonly throughputMeasuredAt?: string
}

/** What a throughput probe of the link to a peer measured. */
export interface LinkProbeResult {
  readonly peer: string
  readonly throughputBps: number
  /** Bytes the peer timed (those after its first chunk) and over how long. */
  readonly bytes: number
  readonly durationMs: number
  readonly measuredAt: string
}

/** The scheduler's instruction set in force on the node. */
export interface InstructionsView {
  /** `epoch.counter` */
  readonly version: string
  readonly appliedAt: string
  readonly ttlMs: number
  /** Whether new flows decide its routes as `instruction` (fresh) or `cached_instruction`. */
  readonly fresh: boolean
  readonly routes: readonly {
    readonly name: string
    readonly service?: string
    readonly match: RouteStatus['match']
    readonly multipath?: string
    readonly paths: readonly InstructionPathView[]
    /** The set gives the route no path, and the node keeps these, which still work. */
    readonly held?: {
      readonly reason: string
      /** ISO time the node began to hold them. */
      readonly since: string
      readonly paths: readonly InstructionPathView[]
    }
  }[]
}

export interface InstructionPathView {
  readonly hops: readonly string[]
  readonly targets: readonly string[]
  readonly weight: number
}

/** What the admin server and metrics need from a node; ProxyNode implements it. */
export interface NodeView {
  getStats(): NodeStats
  getListeners(): ListenerStatus[]
  getRoutes(): RouteStatus[]
  getFlows(): FlowInfo[]
  getPeers(): PeerStatus[]
  /** Undefined when the node has no scheduler or no set yet. */
  getInstructions(): InstructionsView | undefined
  /** Ready: every listener bound and not draining. */
  isReady(): boolean
  /** The configuration in force (the admin API masks its secrets). */
  getConfig?(): unknown
  /** Stop accepting and let active flows finish; with `cutAfterMs`, close those still open then. */
  drain(cutAfterMs?: number): void
  /** Accept flows again after a drain; rejects with NodeStoppingError while the node stops. */
  undrain(): Promise<NodeState>
  /** Measures the link to a peer now; rejects with PeerUnknownError or MeshProbeError. */
  probePeer(peer: string): Promise<LinkProbeResult>
  /** A node whose views live in other processes fetches them before the admin API reads them. */
  refresh?(path: string): Promise<void>
}

/** `/stats` `node`: who the node is and how long it has run (`startedAt` 0: not started yet). */
export function nodeInfo(
  common: { readonly nodeId: string; readonly region: string },
  version: string,
  startedAt: number,
  now: number,
  state: NodeState,
): NodeInfo {
  return {
    id: common.nodeId,
    region: common.region,
    version,
    pid: process.pid,
    startedAt: new Date(startedAt || now).toISOString(),
    uptimeSeconds: startedAt ? Math.round((now - startedAt) / 1000) : 0,
    state,
  }
}
