/**
 * What a config reload (SIGHUP) can change in a running node, and what needs a restart. Routes,
 * listeners, the log level, the access log and the drain timeout apply at once (flows already
 * running keep what they have); the node's identity, its admin API, its scheduler session, its
 * peers and mesh port, its state directory and its process layout are fixed for its lifetime.
 */
import { isDeepStrictEqual } from 'node:util'
import type { CommonConfig, ListenerConfig, NodeConfig } from './types.ts'

export interface ListenerChanges {
  readonly added: readonly ListenerConfig[]
  readonly removed: readonly string[]
  /** Bound anew: the address, the backlog or the TLS server's options changed. */
  readonly rebound: readonly ListenerConfig[]
  /** Changes that apply in place: limits (max_connections, idle_timeout, …) and TLS file paths. */
  readonly updated: readonly ListenerConfig[]
}

export interface ReloadPlan {
  /** The config in force after the reload: the new one, less what needs a restart. */
  readonly config: NodeConfig
  readonly routesChanged: boolean
  readonly listeners: ListenerChanges
  /** The scheduler must hear of the change (its hello lists listeners and static routes). */
  readonly helloChanged: boolean
  /** Keys (`common.log_level`, `routes`, `listeners.web`) that the reload changes. */
  readonly applied: readonly string[]
  /** Keys that differ but keep their running value until a restart. */
  readonly restartRequired: readonly string[]
}

const LIVE_COMMON = [
  'logLevel',
  'accessLog',
  'drainTimeoutMs',
] as const satisfies readonly (keyof CommonConfig)[]
const COMMON_KEYS: Readonly<Record<keyof CommonConfig, string>> = {
  nodeId: 'common.node_id',
  region: 'common.region',
  logLevel: 'common.log_level',
  logFile: 'common.log_file',
  accessLog: 'common.access_log',
  adminAddr: 'common.admin_addr',
  adminToken: 'common.admin_token',
  adminUrl: 'common.admin_url',
  adminViewerToken: 'common.admin_viewer_token',
  adminHosts: 'common.admin_hosts',
  stateDir: 'common.state_dir',
  drainTimeoutMs: 'common.drain_timeout',
  workers: 'common.workers',
}

export function planReload(running: NodeConfig, next: NodeConfig): ReloadPlan {
  const restartRequired: string[] = []
  const applied: string[] = []
  const common: Record<string, unknown> = { ...running.common }
  for (const key of Object.keys(COMMON_KEYS) as (keyof CommonConfig)[]) {
    if (isDeepStrictEqual(running.common[key], next.common[key])) continue
    if ((LIVE_COMMON as readonly string[]).includes(key)) {
      common[key] = next.common[key]
      applied.push(COMMON_KEYS[key])
    } else restartRequired.push(COMMON_KEYS[key])
  }
  for (const section of ['scheduler', 'peers', 'mesh', 'plugins'] as const) {
    if (!isDeepStrictEqual(running[section], next[section])) restartRequired.push(section)
  }
  const routesChanged = !isDeepStrictEqual(running.routes, next.routes)
  if (routesChanged) applied.push('routes')
  const listeners = listenerChanges(running.listeners, next.listeners)
  for (const l of listeners.added) applied.push(`listeners.${l.name} (added)`)
  for (const name of listeners.removed) applied.push(`listeners.${name} (removed)`)
  for (const l of [...listeners.rebound, ...listeners.updated]) applied.push(`listeners.${l.name}`)
  const config: NodeConfig = {
    ...running,
    common: common as unknown as CommonConfig,
    listeners: next.listeners,
    routes: next.routes,
  }
  const helloChanged =
    routesChanged || !isDeepStrictEqual(running.listeners.map(helloFields), next.listeners.map(helloFields))
  return { config, routesChanged, listeners, helloChanged, applied, restartRequired }
}

/**
 * The config in force once a reload's listener changes were applied, less those that were not:
 * `kept` maps each such listener to the config it still runs with (undefined: a new one that did
 * not start). `applied` loses their entries, so the reload reports only what took effect.
 */
export function withListenersKept(
  plan: Pick<ReloadPlan, 'config' | 'applied'>,
  kept: ReadonlyMap<string, ListenerConfig | undefined>,
): { config: NodeConfig; applied: readonly string[] } {
  if (kept.size === 0) return plan
  const listeners: ListenerConfig[] = []
  for (const l of plan.config.listeners) {
    if (!kept.has(l.name)) listeners.push(l)
    else {
      const running = kept.get(l.name)
      if (running !== undefined) listeners.push(running)
    }
  }
  const applied = plan.applied.filter((key) => !kept.has(key.match(/^listeners\.([^ ]+)/)?.[1] ?? ''))
  return { config: { ...plan.config, listeners }, applied }
}

function listenerChanges(
  running: readonly ListenerConfig[],
  next: readonly ListenerConfig[],
): ListenerChanges {
  const before = new Map(running.map((l) => [l.name, l]))
  const names = new Set(next.map((l) => l.name))
  const added: ListenerConfig[] = []
  const rebound: ListenerConfig[] = []
  const updated: ListenerConfig[] = []
  for (const l of next) {
    const old = before.get(l.name)
    if (old === undefined) added.push(l)
    else if (needsNewSocket(old, l)) rebound.push(l)
    else if (!isDeepStrictEqual(old, l)) updated.push(l)
  }
  const removed = running.filter((l) => !names.has(l.name)).map((l) => l.name)
  return { added, removed, rebound, updated }
}

function helloFields(l: ListenerConfig): { name: string; bind: ListenerConfig['bind'] } {
  return { name: l.name, bind: l.bind }
}

/**
 * The bind address, the backlog and the TLS server's own options (TLS on or off, client
 * certificates asked or not, minimum version, handshake timeout) need a new socket. New TLS file
 * paths do not: the running socket takes the new context in place.
 */
function needsNewSocket(old: ListenerConfig, next: ListenerConfig): boolean {
  return (
    !isDeepStrictEqual(old.bind, next.bind) ||
    old.backlog !== next.backlog ||
    !isDeepStrictEqual(tlsServerShape(old), tlsServerShape(next))
  )
}

function tlsServerShape(l: ListenerConfig): unknown {
  const tls = l.tls
  return (
    tls && {
      clientCerts: tls.clientCaFile !== undefined,
      minVersion: tls.minVersion,
      handshakeTimeoutMs: tls.handshakeTimeoutMs,
    }
  )
}
