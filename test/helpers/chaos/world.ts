/**
 * Starts the processes and servers of a chaos mesh on loopback: a three-member etcd cluster, two
 * `dynproxy scheduler` replicas on it, four `dynproxy` nodes whose mesh links each cross a link
 * emulator, and the echo backend behind the egresses. Everything is started here and killed here,
 * by PID.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type LinkEmulator, startLinkEmulator } from '../../../src/link-emulator/emulator.ts'
import { JOIN_TOKEN_FILE } from '../../../src/scheduler/auth/authority.ts'
import { type EtcdCluster, startEtcdCluster } from '../etcd.ts'
import { dynproxySpec, ManagedProcess } from '../process.ts'
import { refusedPort, startEchoServer, type TestServer } from '../tcp-servers.ts'
import { type ChaosPorts, nodeYaml, replicaStateDir, schedulerYaml } from './configs.ts'
import { CHAOS_LINKS, CHAOS_NODES, type ChaosNodeId, linkName } from './topology.ts'

export const REPLICA_IDS = ['s1', 's2'] as const
const HTTP_TIMEOUT_MS = 1000

export interface ChaosWorld {
  readonly dir: string
  readonly ports: ChaosPorts
  readonly etcd: EtcdCluster
  readonly replicas: ReadonlyMap<string, ManagedProcess>
  readonly nodes: ReadonlyMap<ChaosNodeId, ManagedProcess>
  /** By `from>to`. */
  readonly links: ReadonlyMap<string, LinkEmulator>
  readonly backend: TestServer
  schedulerApi(id: string): string
  nodeAdmin(id: ChaosNodeId): string
  close(): Promise<void>
}

export interface WorldOptions {
  /** Each line a node writes (its logs, access log included). */
  readonly onNodeLine?: (node: ChaosNodeId, line: string) => void
}

/** GETs JSON, or undefined when the server does not answer well within a second. */
export async function getJson<T>(url: string): Promise<T | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(HTTP_TIMEOUT_MS) })
    return res.ok ? ((await res.json()) as T) : undefined
  } catch {
    return undefined
  }
}

async function answers(url: string): Promise<boolean> {
  return (await getJson<unknown>(url)) !== undefined
}

async function choosePorts(): Promise<ChaosPorts> {
  const byNode = async () => {
    const out = {} as Record<ChaosNodeId, number>
    for (const id of CHAOS_NODES) out[id] = await refusedPort()
    return out
  }
  const links: Record<string, number> = {}
  for (const l of CHAOS_LINKS) links[linkName(l.from, l.to)] = await refusedPort()
  const schedulers = []
  for (const id of REPLICA_IDS) schedulers.push({ id, grpc: await refusedPort(), api: await refusedPort() })
  return {
    backend: 0,
    listeners: { probe: await refusedPort(), stream: await refusedPort() },
    admin: await byNode(),
    mesh: await byNode(),
    links,
    schedulers,
  }
}

export async function startWorld(options: WorldOptions = {}): Promise<ChaosWorld> {
  const dir = mkdtempSync(join(tmpdir(), 'dynproxy-chaos-'))
  const closers: (() => Promise<void>)[] = []
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch(() => undefined)
    rmSync(dir, { recursive: true, force: true })
  }
  try {
    const backend = await startEchoServer()
    closers.push(() => backend.close())
    const ports = { ...(await choosePorts()), backend: backend.port }
    const etcd = await startEtcdCluster({ size: 3 })
    closers.push(() => etcd.close())
    const links = new Map<string, LinkEmulator>()
    for (const l of CHAOS_LINKS) {
      const name = linkName(l.from, l.to)
      const emulator = await startLinkEmulator({
        target: { host: '127.0.0.1', port: ports.mesh[l.to] },
        port: ports.links[name] as number,
        delayMs: l.delayMs,
      })
      closers.push(() => emulator.close())
      links.set(name, emulator)
    }
    const replicas = new Map<string, ManagedProcess>()
    for (const replica of ports.schedulers) {
      const file = join(dir, `${replica.id}.yaml`)
      writeFileSync(file, schedulerYaml(replica, ports, etcd.endpoints, dir))
      const api = `http://127.0.0.1:${replica.api}`
      const proc = new ManagedProcess(
        dynproxySpec(replica.id, ['scheduler', '-c', file], { ready: () => answers(`${api}/status`) }),
      )
      closers.push(() => proc.kill())
      replicas.set(replica.id, proc)
    }
    await Promise.all([...replicas.values()].map((p) => p.start()))
    // Nodes join with the token the replicas made; each replica keeps a copy in its state_dir.
    const first = ports.schedulers[0]?.id as string
    const joinToken = readFileSync(join(replicaStateDir(dir, first), JOIN_TOKEN_FILE), 'utf8').trim()
    const nodes = new Map<ChaosNodeId, ManagedProcess>()
    for (const id of CHAOS_NODES) {
      const file = join(dir, `node-${id}.yaml`)
      writeFileSync(file, nodeYaml(id, ports, dir, joinToken))
      const admin = `http://127.0.0.1:${ports.admin[id]}`
      const proc = new ManagedProcess(
        dynproxySpec(`node ${id}`, ['-c', file], {
          ready: () => answers(`${admin}/readyz`),
          onLine: (line) => options.onNodeLine?.(id, line),
        }),
      )
      closers.push(() => proc.kill())
      nodes.set(id, proc)
    }
    await Promise.all([...nodes.values()].map((p) => p.start()))
    return {
      dir,
      ports,
      etcd,
      replicas,
      nodes,
      links,
      backend,
      schedulerApi: (id) => `http://127.0.0.1:${ports.schedulers.find((s) => s.id === id)?.api}`,
      nodeAdmin: (id) => `http://127.0.0.1:${ports.admin[id]}`,
      close: closeAll,
    }
  } catch (err) {
    await closeAll()
    throw err
  }
}
