/**
 * Meshes of real nodes in one process for tests: ports are drawn first so that every node's
 * config can name its peers' mesh addresses, then the nodes start from YAML like any other.
 */
import type { MeshTlsConfig } from '../../src/config/types.ts'
import { startTestNode, type TestNode } from './node-harness.ts'
import { refusedPort } from './tcp-servers.ts'

export const TEST_TOKEN = 'test-mesh-token-0123456789'

/** Free loopback ports, one per name. */
export async function freePorts<K extends string>(names: readonly K[]): Promise<Record<K, number>> {
  const out = {} as Record<K, number>
  for (const name of names) out[name] = await refusedPort()
  return out
}

export interface MeshNodeSpec {
  readonly id: string
  readonly meshPort: number
  /** Extra YAML sections (listeners, routes, a mesh tail) appended to the generated config. */
  readonly yaml?: string
  /** Lines appended inside the mesh section. */
  readonly meshExtra?: string
  readonly peers?: readonly {
    readonly id: string
    readonly port: number
    readonly type?: 'tcp' | 'tls'
    readonly bandwidthMbit?: number
  }[]
  readonly token?: string | null
  /** Where the node keeps its instruction cache: nodes of a scheduler test each need their own. */
  readonly stateDir?: string
}

export function meshNodeYaml(spec: MeshNodeSpec): string {
  const token = spec.token === undefined ? TEST_TOKEN : spec.token
  const peers = (spec.peers ?? [])
    .map((p) => {
      const bandwidth = p.bandwidthMbit === undefined ? '' : `, bandwidth_mbit: ${p.bandwidthMbit}`
      return `  - { name: ${p.id}, address: "127.0.0.1:${p.port}", type: ${p.type ?? 'tcp'}${bandwidth} }`
    })
    .join('\n')
  const stateDir = spec.stateDir === undefined ? '' : `, state_dir: "${spec.stateDir}"`
  return `common: { node_id: ${spec.id}, admin_addr: "127.0.0.1:0", drain_timeout: 1s${stateDir} }
mesh:
  bind: "127.0.0.1:${spec.meshPort}"
${token === null ? '' : `  token: "${token}"\n`}  probe_interval: 100ms
  probe_timeout: 300ms
  connect_timeout: 1s
${spec.meshExtra ?? ''}
peers:
${peers || '  []'}
${spec.yaml ?? ''}`
}

export function startMeshNode(spec: MeshNodeSpec): Promise<TestNode> {
  return startTestNode(meshNodeYaml(spec))
}

/** The `mesh.tls` lines of a node (for MeshNodeSpec.meshExtra), with a revocation list if given. */
export function meshTlsYaml(files: MeshTlsConfig, crl?: string): string {
  const crlKey = crl === undefined ? '' : `, crl: "${crl}"`
  return `  tls: { cert: "${files.certFile}", key: "${files.keyFile}", ca: "${files.caFile}"${crlKey} }`
}
