/**
 * The runtime shape of a node's configuration: what the rest of the code reads. The YAML keys are
 * snake_case with duration strings (see schema.ts); here every key is camelCase and every duration
 * is a number of milliseconds whose unit is in its name. Objects are deep-frozen after loading.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'fatal'

export interface HostPort {
  readonly host: string
  readonly port: number
}

export interface CommonConfig {
  readonly nodeId: string
  readonly region: string
  readonly logLevel: LogLevel
  /** Absent: logs go to stdout. */
  readonly logFile?: string
  /** One line per closed flow at info level. */
  readonly accessLog: boolean
  readonly adminAddr: HostPort
  /** The operator token (reads and changes); absent: the node makes one under `stateDir`. */
  readonly adminToken?: string
  /** common.admin_url: where operators open the node console, when admin_addr is not what they use. */
  readonly adminUrl?: string
  /** The viewer token: reads only. */
  readonly adminViewerToken?: string
  /** Host names clients may address the admin API by, beyond loopback names and IP literals; lowercase. */
  readonly adminHosts: readonly string[]
  readonly stateDir: string
  readonly drainTimeoutMs: number
  /** Processes sharing the listeners; 'auto' is one per core (see workers/count.ts). */
  readonly workers: number | 'auto'
}

export interface ListenerConfig {
  readonly name: string
  readonly protocol: 'tcp' | 'udp'
  readonly bind: HostPort
  /** Connections beyond this are closed at accept and counted. */
  readonly maxConnections: number
  /** A flow with no bytes moving in either direction for this long is closed. */
  readonly idleTimeoutMs: number
  readonly backlog: number
  /** Absent: plain TCP. */
  readonly tls?: ListenerTlsConfig
  /** Each connection starts with a PROXY protocol header naming the real client. */
  readonly proxyProtocol: boolean
  /** With proxyProtocol: the only sources (CIDR) whose header is believed; others are refused. */
  readonly proxyProtocolFrom?: readonly string[]
  /** Read each connection's TLS server name (SNI) without terminating TLS, for `match.sni`. */
  readonly inspectSni: boolean
  /** Clients name their destination first; routes of the listener say where they may go (`allow`). */
  readonly handshake?: ListenerHandshake
  /** Present: clients must authenticate as one of these users. */
  readonly users?: readonly ListenerUser[]
}

/** SOCKS5 (RFC 1928, CONNECT) or an HTTP CONNECT request. */
export type ListenerHandshake = 'socks5' | 'http_connect'

export interface ListenerUser {
  readonly name: string
  readonly password: string
}

export interface ListenerTlsConfig {
  readonly certFile: string
  readonly keyFile: string
  /** Present: clients must present a certificate signed by this CA. */
  readonly clientCaFile?: string
  readonly minVersion: 'TLSv1.2' | 'TLSv1.3'
  /** A client still handshaking after this is closed (and its connection slot freed). */
  readonly handshakeTimeoutMs: number
}

export interface RouteMatch {
  readonly port?: number
  readonly listener?: string
  /** Source address ranges, IPv4 or IPv6, in CIDR notation. */
  readonly sourceCidrs?: readonly string[]
  /** TLS server names, exact or `*.domain`. */
  readonly sni?: readonly string[]
}

export type LbAlgorithm = 'round_robin' | 'least_conn' | 'random_two' | 'source_hash' | 'first'

export interface EndpointConfig {
  /** `host:port` as written: the key by which stats, logs and health refer to this endpoint. */
  readonly address: string
  readonly host: string
  readonly port: number
  readonly weight: number
}

export interface HealthCheckConfig {
  readonly intervalMs: number
  readonly timeoutMs: number
  /** Consecutive successes that bring an unhealthy endpoint back. */
  readonly rise: number
  /** Consecutive failures that mark a healthy endpoint down. */
  readonly fall: number
}

export interface OutlierDetectionConfig {
  /** Consecutive connect failures that eject an endpoint. */
  readonly consecutiveFailures: number
  /** The first ejection lasts this long; each further one lasts one base longer. */
  readonly baseEjectionMs: number
  readonly maxEjectionMs: number
  /** At most this share of a route's endpoints is ejected at once. */
  readonly maxEjectedPercent: number
}

/** One way through the mesh. */
export interface MeshPathConfig {
  /** Peers to traverse in order; the first is this node's next hop. Empty: connect directly. */
  readonly via: readonly string[]
  /**
   * Endpoints the last hop connects to. Absent: the last peer routes the flow by its own routes,
   * as if it had arrived on a listener with the same port (the seed's proxy chain).
   */
  readonly endpoints?: readonly EndpointConfig[]
  /** Scheduler-issued paths only: the signed token relays check. */
  readonly token?: Buffer
  /** Scheduler-issued paths only: its share, the prior a multipath sender starts from. */
  readonly weight?: number
}

/**
 * Where a route sends its flows: straight to endpoints, or through the mesh along one of several
 * paths, tried in order (a `target: <peer>` or `via:` route is one path).
 */
export type RouteTarget =
  | { readonly kind: 'endpoints'; readonly endpoints: readonly EndpointConfig[] }
  | { readonly kind: 'mesh'; readonly paths: readonly MeshPathConfig[] }
  /**
   * Where the client asked to go (a `handshake` listener's flow): connected to directly, or, with
   * `via`, by the last of these peers.
   */
  | { readonly kind: 'requested'; readonly via: readonly string[] }

export type MultipathMode = 'stripe' | 'redundant' | 'failover'

export interface RouteConfig {
  readonly name: string
  readonly match: RouteMatch
  readonly target: RouteTarget
  /** Mesh routes: carry each flow over every path at once, in this mode (docs/multipath.md). */
  readonly multipath?: MultipathMode
  readonly lb: LbAlgorithm
  readonly connectTimeoutMs: number
  /** Further endpoints tried after a failed connect, within one flow. */
  readonly retries: number
  readonly healthCheck?: HealthCheckConfig
  readonly outlierDetection: OutlierDetectionConfig
  /** Present: each upstream connection starts with a PROXY protocol header of this version. */
  readonly sendProxyProtocol?: 'v1' | 'v2'
  /** The destinations clients of a `handshake` listener may ask for; required on such routes. */
  readonly allow?: readonly DestinationRule[]
}

/** An entry of `routes[].allow`: an address range or a host name pattern, each with an optional port. */
export type DestinationRule =
  | { readonly kind: 'cidr'; readonly cidr: Cidr; readonly port?: number }
  | { readonly kind: 'host'; readonly pattern: string; readonly port?: number }

/**
 * How the node proves itself to the scheduler: a join token (it gets and renews a certificate), a
 * certificate of the operator's, plaintext (`insecure`, loopback only), or nothing configured (it
 * cannot connect, and says so).
 */
export type SchedulerCredentialsConfig =
  | { readonly kind: 'join'; readonly token: string }
  | { readonly kind: 'files'; readonly certFile: string; readonly keyFile: string; readonly caFile: string }
  | { readonly kind: 'insecure' }
  | { readonly kind: 'none' }

export interface SchedulerConfig {
  readonly credentials: SchedulerCredentialsConfig
  /** `embedded` runs the scheduler in this process; otherwise replicas to fail over between. */
  readonly addresses: readonly HostPort[] | 'embedded'
  /** With `embedded`: the scheduler.yaml of the scheduler run in this process. */
  readonly embeddedConfigFile?: string
  readonly connectTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly retryIntervalMs: number
  readonly maxRetries: number
  readonly heartbeatIntervalMs: number
  /** Present: the only targets instruction sets (and resolve answers) may name. */
  readonly allowTargets?: readonly AllowTarget[]
}

export type PeerTransport = 'tcp' | 'tls'

export interface PeerConfig {
  readonly name: string
  readonly address: HostPort
  readonly type: PeerTransport
  readonly region?: string
  /** The link's capacity to the peer as the operator knows it, bytes/s; reported to the scheduler. */
  readonly bandwidthBps?: number
}

export interface MeshTlsConfig {
  readonly certFile: string
  readonly keyFile: string
  readonly caFile: string
  /** Certificates the mesh CA revoked (pki/crl.ts); read again at each reload. */
  readonly crlFile?: string
}

export interface Cidr {
  readonly address: string
  readonly prefix: number
  readonly family: 'ipv4' | 'ipv6'
}

/** An entry of `mesh.allow_targets`: an address range, and a port unless every port is allowed. */
export interface AllowTarget {
  readonly cidr: Cidr
  readonly port?: number
}

export interface MeshConfig {
  readonly bind: HostPort
  readonly tls?: MeshTlsConfig
  /** With tls: a connection to the mesh port still handshaking after this is closed. */
  readonly handshakeTimeoutMs: number
  readonly token?: string
  /**
   * Ranges a relay may reach for others, besides the targets named by its routes. Present, it is a
   * ceiling a scheduler's path token does not lift; absent, a verified token authorises its targets.
   */
  readonly allowTargets?: readonly AllowTarget[]
  readonly maxHops: number
  /** Connections to the mesh port not yet authenticated, at most: beyond it the oldest is closed. */
  readonly maxUnauthenticated: number
  /** Of those, from one source address: beyond it, that source's new ones are closed. */
  readonly maxUnauthenticatedPerSource: number
  /** Control-channel probes to each peer: RTT, jitter, loss, up/down. */
  readonly probeIntervalMs: number
  readonly probeTimeoutMs: number
  /** Consecutive answered probes that bring a down peer up. */
  readonly probeRise: number
  /** Consecutive unanswered probes that take an up peer down (a closed channel does at once). */
  readonly probeFall: number
  /** Dialing a peer (TCP connect plus TLS handshake). */
  readonly connectTimeoutMs: number
  /** Pre-connected idle data connections kept per peer that is up. */
  readonly warmConnections: number
  /** A warm connection unused for this long is closed. */
  readonly warmIdleTimeoutMs: number
}

export interface PluginConfig {
  readonly name: string
  readonly module: string
  readonly options: Readonly<Record<string, unknown>>
}

export interface NodeConfig {
  readonly common: CommonConfig
  readonly listeners: readonly ListenerConfig[]
  readonly routes: readonly RouteConfig[]
  readonly scheduler?: SchedulerConfig
  readonly peers: readonly PeerConfig[]
  readonly mesh?: MeshConfig
  readonly plugins: readonly PluginConfig[]
}
