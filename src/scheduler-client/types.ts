/**
 * What the scheduler client needs from the node and what it gives back: plain domain values. The
 * node fills HelloInfo and ReportInfo from its parts; the proto messages are built here only.
 */
import type { HostPort, RouteMatch, SchedulerConfig } from '../config/types.ts'
import type { InstructionCache } from '../instructions/cache.ts'
import type { Logger } from '../log/logger.ts'
import type { Clock } from '../util/clock.ts'
import type { DecisionSource } from '../views/node-view.ts'
import type { SchedulerCredentials } from './credentials.ts'

export interface ListenerInfo {
  readonly name: string
  /** `host:port` as bound. */
  readonly bind: string
  readonly port: number
}

export interface StaticRouteInfo {
  readonly name: string
  readonly match: RouteMatch
  /** Where the route sends flows, as text: `host:port`, a peer name, or a summary of its paths. */
  readonly target: string
}

export interface PeerInfo {
  readonly name: string
  /** `host:port` of the peer's mesh port. */
  readonly address: string
  readonly region?: string
}

/** Who this node is: sent first on every stream, so a scheduler that restarted learns it again. */
export interface HelloInfo {
  readonly nodeId: string
  readonly region: string
  /** Where peers reach this node's mesh port; absent when it runs no mesh. */
  readonly meshAddress?: string
  readonly listeners: readonly ListenerInfo[]
  readonly staticRoutes: readonly StaticRouteInfo[]
  readonly peers: readonly PeerInfo[]
  readonly capabilities?: readonly string[]
  readonly softwareVersion?: string
  /** Where operators open this node's console, for the scheduler console's links. */
  readonly adminUrl?: string
}

export interface NodeLoadInfo {
  readonly activeFlows: number
  /** Process CPU time over wall time since the last sample; 1 is one core busy. */
  readonly cpuRatio?: number
  readonly rssBytes?: number
  /** The node drained and accepts no new flows. */
  readonly draining?: boolean
}

/** Counters are cumulative since the node started; the scheduler takes differences. */
export interface RouteReportInfo {
  readonly route: string
  readonly matches: Readonly<Record<DecisionSource, number>>
  readonly bytesIn: number
  readonly bytesOut: number
  readonly failures: number
  /** Multipath routes: per path (subflow index), cumulative. */
  readonly paths?: readonly PathReportInfo[]
}

export interface PathReportInfo {
  readonly index: number
  readonly bytesSent: number
  readonly bytesReceived: number
  readonly retransmittedBytes: number
  readonly srttMs?: number
}

export interface LinkReportInfo {
  readonly peer: string
  readonly up: boolean
  readonly rttMs?: number
  readonly jitterMs?: number
  /** 0..1 */
  readonly loss?: number
  readonly throughputBps?: number
  readonly activeFlows: number
}

export interface TargetReportInfo {
  readonly address: string
  readonly connectMs?: number
  readonly connects: number
  readonly failures: number
}

export interface ReportInfo {
  readonly routes: readonly RouteReportInfo[]
  readonly links: readonly LinkReportInfo[]
  readonly targets: readonly TargetReportInfo[]
  readonly load?: NodeLoadInfo
}

export type SchedulerDirective =
  | { readonly kind: 'drain'; readonly timeoutMs: number }
  | { readonly kind: 'undrain' }
  | { readonly kind: 'probe'; readonly peers: readonly string[] }

export interface ResolveQuery {
  readonly listener: string
  readonly port: number
  readonly sourceIp: string
}

export type SchedulerClientState = 'connecting' | 'connected' | 'degraded' | 'stopped'

export interface SchedulerClientStatus {
  readonly state: SchedulerClientState
  /** The scheduler connected to, or being dialed. */
  readonly address?: string
  readonly schedulerId?: string
  /** The scheduler console's address, as its welcome gave it (http or https only). */
  readonly consoleUrl?: string
  /** ISO time the current stream received its Welcome. */
  readonly connectedSince?: string
  /** Failed attempts (and dropped streams) since the last Welcome. */
  readonly consecutiveFailures: number
  /** `epoch.counter` of the set in force. */
  readonly appliedVersion?: string
  readonly lastAck?: { readonly version: string; readonly at: string }
  readonly lastNack?: { readonly version: string; readonly error: string; readonly at: string }
  readonly lastError?: string
}

export interface SchedulerClientOptions {
  readonly config: SchedulerConfig
  /** Replicas to dial in turn; required when `config.addresses` is `embedded`, overrides it otherwise. */
  readonly addresses?: readonly HostPort[]
  /** Called for each new stream: the node as it is now. */
  readonly hello: () => HelloInfo
  /**
   * Called every report interval, and a few times between (link-news.ts): a report goes out early
   * when its links changed enough to move a path.
   */
  readonly report: () => ReportInfo
  /** Called every heartbeat; absent: heartbeats carry no load. */
  readonly load?: () => NodeLoadInfo
  readonly onDirective?: (directive: SchedulerDirective) => void
  readonly cache: InstructionCache
  /** What each attempt dials with (credentials.ts): joins and renews happen there. */
  readonly credentials: SchedulerCredentials
  readonly clock: Clock
  readonly logger: Logger
  /** In [0, 1); jitters the reconnect backoff. */
  readonly random?: () => number
  /** Longest wait between attempts, and the wait once degraded. Default 60 s. */
  readonly retryCapMs?: number
  /** HTTP/2 PING cadence on the stream, so a hung scheduler is noticed. Default 10 s. */
  readonly pingIntervalMs?: number
  /** A PING unanswered this long closes the stream. Default 5 s. */
  readonly pingTimeoutMs?: number
}
