/**
 * The validated document → the runtime NodeConfig: camelCase keys, milliseconds, parsed addresses,
 * resolved targets, deep-frozen. Runs only on documents that passed schema and semantic checks, so
 * a failure here is a bug in those checks, not in the user's file.
 */

import { readAllowTarget, readHostPort } from './address.ts'
import { readDestinationRule } from './destination-rule.ts'
import { parseDuration } from './duration.ts'
import type { ConfigDocument, RouteDocument } from './schema.ts'
import { resolveTarget } from './target.ts'
import type {
  AllowTarget,
  CommonConfig,
  DestinationRule,
  HostPort,
  ListenerConfig,
  MeshConfig,
  NodeConfig,
  PeerConfig,
  RouteConfig,
  SchedulerConfig,
  SchedulerCredentialsConfig,
} from './types.ts'

export function normalize(doc: ConfigDocument, defaultNodeId: string): NodeConfig {
  const peers = new Set(doc.peers.map((p) => p.name))
  const config: NodeConfig = {
    common: common(doc.common, defaultNodeId),
    listeners: doc.listeners.map(listener),
    routes: doc.routes.map((r) => route(r, peers)),
    peers: doc.peers.map(peer),
    ...(doc.scheduler && { scheduler: scheduler(doc.scheduler) }),
    ...(doc.mesh && { mesh: mesh(doc.mesh) }),
    plugins: doc.plugins.map((p) => ({ name: p.name, module: p.module, options: p.options })),
  }
  return deepFreeze(config)
}

function hostPort(text: string): HostPort {
  const result = readHostPort(text, { allowPortZero: true })
  if ('error' in result) throw new TypeError(`unvalidated address reached normalize: ${result.error}`)
  return result.value
}

function allowTarget(text: string): AllowTarget {
  const result = readAllowTarget(text)
  if ('error' in result)
    throw new TypeError(`unvalidated allow_targets entry reached normalize: ${result.error}`)
  return result.value
}

function destinationRule(text: string): DestinationRule {
  const result = readDestinationRule(text)
  if ('error' in result) throw new TypeError(`unvalidated allow entry reached normalize: ${result.error}`)
  return result.value
}

function common(c: ConfigDocument['common'], defaultNodeId: string): CommonConfig {
  return {
    nodeId: c.node_id ?? defaultNodeId,
    region: c.region,
    logLevel: c.log_level,
    ...(c.log_file !== undefined && { logFile: c.log_file }),
    accessLog: c.access_log,
    adminAddr: hostPort(c.admin_addr),
    ...(c.admin_url !== undefined && { adminUrl: c.admin_url }),
    ...(c.admin_token !== undefined && { adminToken: c.admin_token }),
    ...(c.admin_viewer_token !== undefined && { adminViewerToken: c.admin_viewer_token }),
    adminHosts: c.admin_hosts.map((h) => h.toLowerCase()),
    stateDir: c.state_dir,
    drainTimeoutMs: parseDuration(c.drain_timeout),
    workers: c.workers,
  }
}

/** A TCP flow idles for as long as its peers keep the connection; a UDP session has no close to wait for. */
const DEFAULT_IDLE_TIMEOUT = { tcp: '1h', udp: '60s' } as const

function listener(l: ConfigDocument['listeners'][number]): ListenerConfig {
  return {
    name: l.name,
    protocol: l.protocol,
    bind: hostPort(l.bind),
    maxConnections: l.max_connections,
    idleTimeoutMs: parseDuration(l.idle_timeout ?? DEFAULT_IDLE_TIMEOUT[l.protocol]),
    backlog: l.backlog,
    proxyProtocol: l.proxy_protocol,
    ...(l.proxy_protocol_from !== undefined && { proxyProtocolFrom: l.proxy_protocol_from }),
    inspectSni: l.inspect_sni,
    ...(l.handshake !== undefined && { handshake: l.handshake }),
    ...(l.users !== undefined && { users: l.users.map((u) => ({ name: u.name, password: u.password })) }),
    ...(l.tls && {
      tls: {
        certFile: l.tls.cert,
        keyFile: l.tls.key,
        ...(l.tls.client_ca !== undefined && { clientCaFile: l.tls.client_ca }),
        minVersion: l.tls.min_version,
        handshakeTimeoutMs: parseDuration(l.tls.handshake_timeout),
      },
    }),
  }
}

function route(r: RouteDocument, peers: ReadonlySet<string>): RouteConfig {
  const target = resolveTarget(r, peers)
  if (!('value' in target)) throw new TypeError(`unvalidated target reached normalize: ${target.message}`)
  const { port, listener: listenerName, source_cidrs, sni } = r.match
  const od = r.outlier_detection
  return {
    name: r.name,
    match: {
      ...(port !== undefined && { port }),
      ...(listenerName !== undefined && { listener: listenerName }),
      ...(source_cidrs !== undefined && { sourceCidrs: source_cidrs }),
      ...(sni !== undefined && { sni: typeof sni === 'string' ? [sni] : sni }),
    },
    target: target.value,
    ...(r.multipath !== undefined && { multipath: r.multipath }),
    lb: r.lb,
    connectTimeoutMs: parseDuration(r.connect_timeout),
    retries: r.retries,
    ...(r.send_proxy_protocol !== undefined && { sendProxyProtocol: r.send_proxy_protocol }),
    ...(r.allow !== undefined && { allow: r.allow.map(destinationRule) }),
    ...(r.health_check && {
      healthCheck: {
        intervalMs: parseDuration(r.health_check.interval),
        timeoutMs: parseDuration(r.health_check.timeout),
        rise: r.health_check.rise,
        fall: r.health_check.fall,
      },
    }),
    outlierDetection: {
      consecutiveFailures: od.consecutive_failures,
      baseEjectionMs: parseDuration(od.base_ejection_time),
      maxEjectionMs: parseDuration(od.max_ejection_time),
      maxEjectedPercent: od.max_ejected_percent,
    },
  }
}

function scheduler(s: NonNullable<ConfigDocument['scheduler']>): SchedulerConfig {
  const addresses = typeof s.address === 'string' ? [s.address] : s.address
  return {
    addresses: s.address === 'embedded' ? 'embedded' : addresses.map(hostPort),
    ...(s.config !== undefined && { embeddedConfigFile: s.config }),
    connectTimeoutMs: parseDuration(s.connect_timeout),
    requestTimeoutMs: parseDuration(s.request_timeout),
    retryIntervalMs: parseDuration(s.retry_interval),
    maxRetries: s.max_retries,
    heartbeatIntervalMs: parseDuration(s.heartbeat_interval),
    credentials: schedulerCredentials(s),
    ...(s.allow_targets !== undefined && { allowTargets: s.allow_targets.map(allowTarget) }),
  }
}

function schedulerCredentials(s: NonNullable<ConfigDocument['scheduler']>): SchedulerCredentialsConfig {
  if (s.join_token !== undefined) return { kind: 'join', token: s.join_token.trim() }
  if (s.tls !== undefined)
    return { kind: 'files', certFile: s.tls.cert, keyFile: s.tls.key, caFile: s.tls.ca }
  return s.insecure ? { kind: 'insecure' } : { kind: 'none' }
}

function peer(p: ConfigDocument['peers'][number]): PeerConfig {
  return {
    name: p.name,
    address: hostPort(p.address),
    type: p.type,
    ...(p.region !== undefined && { region: p.region }),
    ...(p.bandwidth_mbit !== undefined && { bandwidthBps: (p.bandwidth_mbit * 1_000_000) / 8 }),
  }
}

function mesh(m: NonNullable<ConfigDocument['mesh']>): MeshConfig {
  return {
    bind: hostPort(m.bind),
    ...(m.tls && {
      tls: {
        certFile: m.tls.cert,
        keyFile: m.tls.key,
        caFile: m.tls.ca,
        ...(m.tls.crl !== undefined && { crlFile: m.tls.crl }),
      },
    }),
    handshakeTimeoutMs: parseDuration(m.handshake_timeout),
    ...(m.token !== undefined && { token: m.token }),
    ...(m.allow_targets !== undefined && { allowTargets: m.allow_targets.map(allowTarget) }),
    maxHops: m.max_hops,
    maxUnauthenticated: m.max_unauthenticated,
    maxUnauthenticatedPerSource: m.max_unauthenticated_per_source,
    probeIntervalMs: parseDuration(m.probe_interval),
    probeTimeoutMs: parseDuration(m.probe_timeout),
    probeRise: m.probe_rise,
    probeFall: m.probe_fall,
    connectTimeoutMs: parseDuration(m.connect_timeout),
    warmConnections: m.warm_connections,
    warmIdleTimeoutMs: parseDuration(m.warm_idle_timeout),
  }
}

/** Readers get snapshots nobody can change under them; freezing also catches accidental writes. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner)
    Object.freeze(value)
  }
  return value
}
