/**
 * Configs for the multi-process arrangements (scenarios 5): a dynproxy ingress with its relays,
 * and HAProxy fronting two relays with health checks. Pure, so the YAML and cfg are tested as text.
 */
import { HOST } from '../sys/net.ts'

/** Shared by every node of a bench mesh; loopback only, never a secret. */
export const MESH_TOKEN = 'bench-mesh-token-0123456789'

export interface MeshPeer {
  readonly name: string
  readonly port: number
}

export interface IngressSpec {
  readonly id: string
  readonly listenPort: number
  readonly meshPort: number
  /** 0: any free port (nothing reads it). */
  readonly adminPort: number
  readonly peers: readonly MeshPeer[]
  /** One path per peer list, tried in order: [['b']] is `via: [b]`, [['b'], ['c']] two paths. */
  readonly paths: readonly (readonly string[])[]
  readonly targetPort: number
}

function common(id: string, adminPort: number): string {
  return `common: { node_id: ${id}, admin_addr: "${HOST}:${adminPort}", access_log: false, log_level: warn }`
}

function list(names: readonly string[]): string {
  return `[${names.join(', ')}]`
}

/** Node A: a listener whose flows go through the mesh along `paths` to the target. */
export function meshIngressConfig(s: IngressSpec): string {
  const target = `"${HOST}:${s.targetPort}"`
  const route =
    s.paths.length === 1
      ? `via: ${list(s.paths[0] ?? [])}, target: ${target}`
      : `paths: [${s.paths.map((via) => `{ via: ${list(via)}, target: ${target} }`).join(', ')}]`
  return [
    common(s.id, s.adminPort),
    `listeners: [{ name: in, bind: "${HOST}:${s.listenPort}" }]`,
    `mesh: { bind: "${HOST}:${s.meshPort}", token: "${MESH_TOKEN}" }`,
    `peers: [${s.peers.map((p) => `{ name: ${p.name}, address: "${HOST}:${p.port}" }`).join(', ')}]`,
    `routes: [{ name: chain, match: { listener: in }, ${route} }]`,
    '',
  ].join('\n')
}

/**
 * A relay: no listener; its one route names the target, which is what allows it to reach that
 * target for others (a relay is never open). Port 1 matches no flow of its own.
 */
export function meshRelayConfig(id: string, meshPort: number, targetPort: number): string {
  return [
    common(id, 0),
    `mesh: { bind: "${HOST}:${meshPort}", token: "${MESH_TOKEN}" }`,
    `routes: [{ name: allow, match: { port: 1 }, target: "${HOST}:${targetPort}" }]`,
    '',
  ].join('\n')
}

/**
 * HAProxy in front of two relays, preferring the first (`balance first`) as dynproxy prefers its
 * first path: health checks every 200 ms take a dead relay out after one failure, and
 * `option redispatch` lets a connection refused by it be retried on the other.
 */
export function haproxyFailoverConfig(port: number, relayPorts: readonly [number, number]): string {
  return [
    'global',
    '  maxconn 4096',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 1h',
    '  timeout server 1h',
    '  retries 3',
    '  option redispatch',
    'frontend bench',
    `  bind ${HOST}:${port}`,
    '  default_backend relays',
    'backend relays',
    '  balance first',
    `  server b ${HOST}:${relayPorts[0]} check inter 200ms fall 1 rise 1`,
    `  server c ${HOST}:${relayPorts[1]} check inter 200ms fall 1 rise 1`,
    '',
  ].join('\n')
}
