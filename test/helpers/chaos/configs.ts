/**
 * The config files of a chaos mesh: every address is fixed before anything starts, so that a
 * process restarted on purpose comes back where its peers, the link emulators and the probes
 * expect it. Timings are short (probes every 200 ms, reports every second, a 2 s election TTL) so
 * that a fault shows, and heals, within seconds.
 */
import { join } from 'node:path'
import {
  CHAOS_LINKS,
  type ChaosNodeId,
  EGRESSES,
  INGRESS,
  PROBE_SERVICE,
  STREAM_SERVICE,
} from './topology.ts'

export const MESH_TOKEN = 'chaos-mesh-token-0123456789'

export interface ChaosPorts {
  readonly backend: number
  readonly listeners: Readonly<Record<'probe' | 'stream', number>>
  readonly admin: Readonly<Record<ChaosNodeId, number>>
  readonly mesh: Readonly<Record<ChaosNodeId, number>>
  /** Per link `from>to`: where its emulator listens. */
  readonly links: Readonly<Record<string, number>>
  readonly schedulers: readonly { readonly id: string; readonly grpc: number; readonly api: number }[]
}

/** `joinToken`: what the replicas made at their first start (they share it through etcd). */
export function nodeYaml(id: ChaosNodeId, ports: ChaosPorts, stateDir: string, joinToken: string): string {
  const peers = CHAOS_LINKS.filter((l) => l.from === id).map(
    (l) => `  - { name: ${l.to}, address: "127.0.0.1:${ports.links[`${l.from}>${l.to}`]}" }`,
  )
  const listeners =
    id === INGRESS
      ? `listeners:
  - { name: ${PROBE_SERVICE}, bind: "127.0.0.1:${ports.listeners.probe}" }
  - { name: ${STREAM_SERVICE}, bind: "127.0.0.1:${ports.listeners.stream}" }
`
      : ''
  return `common:
  node_id: ${id}
  region: r-${id}
  admin_addr: 127.0.0.1:${ports.admin[id]}
  state_dir: ${JSON.stringify(join(stateDir, id))}
  drain_timeout: 1s
  log_level: info
${listeners}mesh:
  bind: 127.0.0.1:${ports.mesh[id]}
  token: ${MESH_TOKEN}
  probe_interval: 200ms
  probe_timeout: 600ms
  connect_timeout: 1s
peers:
${peers.length > 0 ? peers.join('\n') : '  []'}
scheduler:
  address: [${ports.schedulers.map((s) => `127.0.0.1:${s.grpc}`).join(', ')}]
  connect_timeout: 2s
  retry_interval: 200ms
  heartbeat_interval: 1s
  join_token: ${joinToken}
`
}

/** Where a replica keeps what it makes for itself, its copy of the join token among them. */
export function replicaStateDir(dir: string, replicaId: string): string {
  return join(dir, `state-${replicaId}`)
}

export function schedulerYaml(
  replica: ChaosPorts['schedulers'][number],
  ports: ChaosPorts,
  etcd: readonly string[],
  dir: string,
): string {
  const service = (name: string) => `  - name: ${name}
    ingress: [{ node: ${INGRESS}, listener: ${name} }]
    egress: [${EGRESSES.join(', ')}]
    targets: ["127.0.0.1:${ports.backend}"]
    alternatives: 4
`
  return `scheduler:
  id: ${replica.id}
  listen: 127.0.0.1:${replica.grpc}
  api: 127.0.0.1:${replica.api}
  state_dir: ${JSON.stringify(replicaStateDir(dir, replica.id))}
  store: { type: etcd, endpoints: [${etcd.join(', ')}], prefix: /chaos, election_ttl: 2s, request_timeout: 1s }
  heartbeat_interval: 1s
  report_interval: 1s
  push_debounce: 100ms
  hysteresis: { relative: 10%, absolute: 5ms, min_dwell: 2s }
  log_level: info
services:
${service(PROBE_SERVICE)}${service(STREAM_SERVICE)}`
}
