/**
 * The mesh the scheduler HA fault tests share: replicas on etcd planning one service `web` from
 * ingress a to egress c, and simulated nodes a, b, c whose links make a→b→c the best path and a→c
 * the direct one.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { InstructionSet } from '../../src/gen/dynproxy/scheduler/v1/scheduler_pb.ts'
import { createTestPki, type TestPkiFiles } from '../helpers/certs.ts'
import { type EtcdCluster, startEtcdCluster } from '../helpers/etcd.ts'
import { type NodeCertificates, nodeCertificates, nodeSessionOptions } from '../helpers/node-certs.ts'
import { type ReplicaProcess, startReplicaProcess } from './replica-process.ts'
import { link, SimNode } from './scheduler-fixtures.ts'

/** What the replicas' configs set; the store's endpoints and the CA come from the mesh. */
export interface ReplicaSettings {
  readonly prefix: string
  readonly apiToken: string
  readonly reportMs: number
  readonly requestTimeoutMs: number
  /** More `scheduler:` keys, one `key: value` each. */
  readonly extra?: readonly string[]
}

interface ReplicaConfig extends ReplicaSettings {
  readonly id: string
  readonly endpoints: readonly string[]
  readonly pki: TestPkiFiles
}

function replicaConfig(c: ReplicaConfig): string {
  return `scheduler:
  id: ${c.id}
  listen: 127.0.0.1:0
  api: 127.0.0.1:0
  api_token: ${c.apiToken}
  store: { type: etcd, endpoints: [${c.endpoints.join(', ')}], prefix: ${c.prefix}, election_ttl: 2s, request_timeout: ${c.requestTimeoutMs}ms }
  ca: { cert: ${JSON.stringify(c.pki.caFile)}, key: ${JSON.stringify(c.pki.caKeyFile)} }
  report_interval: ${c.reportMs}ms
  push_debounce: 50ms
  log_level: info
${(c.extra ?? []).map((line) => `  ${line}\n`).join('')}services:
  - name: web
    ingress: [{ node: a, listener: web }]
    egress: [c]
    targets: ["127.0.0.1:9"]
`
}

/** Links each node reports: a reaches c directly (slow) and through b (fast). */
const LINKS: Record<string, ReturnType<typeof link>[]> = {
  a: [link('b', 5), link('c', 40)],
  b: [link('a', 5), link('c', 5)],
  c: [link('a', 40), link('b', 5)],
}

/** A simulated node that reports its links every interval and acks every set it gets. */
export class ReportingNode {
  readonly sim: SimNode
  readonly #timers: NodeJS.Timeout[]
  #acked = 0

  constructor(id: string, replica: ReplicaProcess, certs: NodeCertificates, reportMs: number) {
    this.sim = new SimNode(replica.grpc, { nodeId: id, region: 'r1' }, certs.of(id).then(nodeSessionOptions))
    const report = () => this.sim.report(LINKS[id] ?? [])
    const ack = () => {
      const sets = this.sim.sets()
      for (; this.#acked < sets.length; this.#acked++) this.sim.ack(sets[this.#acked] as InstructionSet)
    }
    report()
    this.#timers = [setInterval(report, reportMs), setInterval(ack, 50)]
  }

  close(): void {
    for (const t of this.#timers) clearInterval(t)
    this.sim.close()
  }
}

/** How many paths the set gives the route `web`. */
export const webPaths = (set: InstructionSet) => set.routes.find((r) => r.name === 'web')?.paths.length ?? 0

/** The sets after the first `seen` that left `web` without a path, as versions ("6.1"). */
export function emptiedSince(sets: readonly InstructionSet[], seen: number): string[] {
  return sets
    .slice(seen)
    .filter((s) => webPaths(s) === 0)
    .map((s) => `${s.version?.epoch}.${s.version?.counter}`)
}

export async function isLeader(r: ReplicaProcess): Promise<boolean> {
  const status = (await (await r.fetch('/status', { timeoutMs: 2000 })).json()) as { leader: boolean }
  return status.leader
}

export interface ReplicaMesh {
  readonly etcd: EtcdCluster
  /** r1, then r2. */
  readonly replicas: readonly ReplicaProcess[]
  readonly nodes: ReadonlyMap<string, ReportingNode>
  close(): Promise<void>
}

export interface ReplicaMeshOptions extends ReplicaSettings {
  readonly etcd: Parameters<typeof startEtcdCluster>[0]
  /** Which replica each of a, b and c connects to, once both run. */
  place(r1: ReplicaProcess, r2: ReplicaProcess): Promise<Record<'a' | 'b' | 'c', ReplicaProcess>>
}

/** etcd, replicas r1 and r2 started in that order, and the nodes a, b, c reporting to them. */
export async function startReplicaMesh(o: ReplicaMeshOptions): Promise<ReplicaMesh> {
  const dir = mkdtempSync(join(tmpdir(), 'dynproxy-replicas-'))
  const testPki = await createTestPki([])
  const pki = await testPki.writeTo(join(dir, 'pki'))
  const certs = await nodeCertificates(testPki.ca)
  const etcd = await startEtcdCluster(o.etcd)
  const replicas: ReplicaProcess[] = []
  const nodes = new Map<string, ReportingNode>()
  const close = async () => {
    for (const n of nodes.values()) n.close()
    for (const r of replicas) await r.kill()
    await etcd.close()
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    for (const id of ['r1', 'r2']) {
      const yaml = replicaConfig({ ...o, id, endpoints: etcd.endpoints, pki })
      replicas.push(await startReplicaProcess(id, dir, yaml))
    }
    const placed = await o.place(replicas[0] as ReplicaProcess, replicas[1] as ReplicaProcess)
    for (const [id, r] of Object.entries(placed)) nodes.set(id, new ReportingNode(id, r, certs, o.reportMs))
  } catch (err) {
    await close()
    throw err
  }
  return { etcd, replicas, nodes, close }
}
