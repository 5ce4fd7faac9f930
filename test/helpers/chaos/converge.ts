/**
 * Whether the mesh has settled: one scheduler replica leads, every running node is connected and
 * fresh, and has applied exactly the version the replica serving it says it sent; the ingress
 * routes every service; every node sees each of its peers that runs as up (the data path is back,
 * not only the control plane). `judgeConvergence` is the pure rule over one snapshot of the APIs;
 * `ConvergenceWatch` polls them (only while someone waits) and says when the rule first held.
 */
import type { ChaosNodeId } from './topology.ts'
import { type ChaosWorld, getJson } from './world.ts'

export interface ReplicaSnapshot {
  readonly id: string
  /** Undefined when the replica did not answer. */
  readonly status: { readonly leader: boolean } | undefined
  readonly nodes:
    | readonly {
        readonly id: string
        readonly connected: boolean
        /** Present only for the nodes this replica serves itself. */
        readonly synced?: boolean
        readonly appliedVersion?: string | null
      }[]
    | undefined
}

export interface NodeSnapshot {
  readonly id: string
  readonly scheduler:
    | { readonly state: string; readonly appliedVersion?: string; readonly fresh: boolean }
    | undefined
  /** The ingress only: the services its instruction set routes, with how many paths each. */
  readonly routes?: readonly { readonly service?: string; readonly paths: readonly unknown[] }[]
  /** Its peers as it sees them (undefined: it did not answer). */
  readonly peers: readonly { readonly name: string; readonly state: string }[] | undefined
}

/** Only processes running now (not killed, not paused) are in a snapshot. */
export interface Snapshot {
  readonly replicas: readonly ReplicaSnapshot[]
  readonly nodes: readonly NodeSnapshot[]
}

export type Convergence = { readonly converged: true } | { readonly converged: false; readonly why: string }

export function judgeConvergence(
  snapshot: Snapshot,
  ingress: string,
  services: readonly string[],
): Convergence {
  const silent = snapshot.replicas.find((r) => r.status === undefined || r.nodes === undefined)
  if (silent) return { converged: false, why: `replica ${silent.id} did not answer` }
  const leaders = snapshot.replicas.filter((r) => r.status?.leader)
  if (leaders.length !== 1) return { converged: false, why: `${leaders.length} replicas lead` }
  const running = new Set(snapshot.nodes.map((n) => n.id))
  for (const node of snapshot.nodes) {
    const why = nodeUnsettled(node, snapshot.replicas) ?? peerDown(node, running)
    if (why !== undefined) return { converged: false, why: `node ${node.id}: ${why}` }
    if (node.id !== ingress) continue
    const missing = services.find((s) => !node.routes?.some((r) => r.service === s && r.paths.length > 0))
    if (missing !== undefined)
      return { converged: false, why: `ingress ${ingress} has no path for ${missing}` }
  }
  return { converged: true }
}

function peerDown(node: NodeSnapshot, running: ReadonlySet<string>): string | undefined {
  if (node.peers === undefined) return 'did not list its peers'
  const down = node.peers.find((p) => running.has(p.name) && p.state !== 'up')
  return down === undefined ? undefined : `peer ${down.name} is ${down.state}`
}

function nodeUnsettled(node: NodeSnapshot, replicas: readonly ReplicaSnapshot[]): string | undefined {
  const own = node.scheduler
  if (own === undefined) return 'did not answer'
  if (own.state !== 'connected') return `scheduler link ${own.state}`
  if (!own.fresh || own.appliedVersion === undefined) return 'no fresh instruction set'
  const serving = replicas.flatMap((r) =>
    (r.nodes ?? [])
      .filter((n) => n.id === node.id && n.connected && n.synced !== undefined)
      .map((n) => ({ r, n })),
  )
  if (serving.length !== 1) return `served by ${serving.length} replicas`
  const [{ r, n }] = serving as [(typeof serving)[number]]
  if (!n.synced) return `replica ${r.id} has not seen it apply its set`
  if (n.appliedVersion !== own.appliedVersion)
    return `applied ${own.appliedVersion}, replica ${r.id} shows ${n.appliedVersion}`
  return undefined
}

interface NodeStatsBody {
  readonly scheduler?: NodeSnapshot['scheduler']
}
interface PeersBody {
  readonly peers: NodeSnapshot['peers']
}
interface InstructionsBody {
  readonly instructions: { readonly routes: NodeSnapshot['routes'] } | null
}

/** Reads every running replica's and node's API at once. */
export async function takeSnapshot(world: ChaosWorld, ingress: ChaosNodeId): Promise<Snapshot> {
  const replicas = [...world.replicas].filter(([, p]) => p.state === 'running')
  const nodes = [...world.nodes].filter(([, p]) => p.state === 'running')
  const [replicaViews, nodeViews] = await Promise.all([
    Promise.all(
      replicas.map(async ([id]): Promise<ReplicaSnapshot> => {
        const api = world.schedulerApi(id)
        const [status, list] = await Promise.all([
          getJson<{ leader: boolean }>(`${api}/status`),
          getJson<ReplicaSnapshot['nodes']>(`${api}/nodes`),
        ])
        return { id, status, nodes: list }
      }),
    ),
    Promise.all(
      nodes.map(async ([id]): Promise<NodeSnapshot> => {
        const admin = world.nodeAdmin(id)
        const [stats, peers, set] = await Promise.all([
          getJson<NodeStatsBody>(`${admin}/stats`),
          getJson<PeersBody>(`${admin}/peers`),
          id === ingress ? getJson<InstructionsBody>(`${admin}/instructions`) : undefined,
        ])
        const own = { id, scheduler: stats?.scheduler, peers: peers?.peers }
        return id === ingress ? { ...own, routes: set?.instructions?.routes ?? [] } : own
      }),
    ),
  ])
  return { replicas: replicaViews, nodes: nodeViews }
}

const POLL_MS = 200

interface Waiter {
  readonly afterMs: number
  readonly deadlineMs: number
  resolve(result: WaitResult): void
}

export type WaitResult = { readonly atMs: number } | { readonly timedOut: true; readonly why: string }

/** One poller shared by every fault waiting for the mesh to settle. */
export class ConvergenceWatch {
  readonly #read: () => Promise<Snapshot>
  readonly #judge: (s: Snapshot) => Convergence
  readonly #now: () => number
  readonly #waiters = new Set<Waiter>()
  #polling = false

  constructor(read: () => Promise<Snapshot>, judge: (s: Snapshot) => Convergence, now: () => number) {
    this.#read = read
    this.#judge = judge
    this.#now = now
  }

  /** Resolves at the first poll begun after `afterMs` that finds the mesh settled, or at the deadline. */
  waitConverged(afterMs: number, timeoutMs: number): Promise<WaitResult> {
    return new Promise((resolve) => {
      this.#waiters.add({ afterMs, deadlineMs: afterMs + timeoutMs, resolve })
      if (!this.#polling) void this.#poll()
    })
  }

  async #poll(): Promise<void> {
    this.#polling = true
    let lastWhy = 'not polled yet'
    while (this.#waiters.size > 0) {
      const begunMs = this.#now()
      const verdict = this.#judge(await this.#read())
      if (!verdict.converged) lastWhy = verdict.why
      for (const w of [...this.#waiters]) {
        if (verdict.converged && begunMs >= w.afterMs) {
          this.#waiters.delete(w)
          w.resolve({ atMs: begunMs })
        } else if (this.#now() >= w.deadlineMs) {
          this.#waiters.delete(w)
          w.resolve({ timedOut: true, why: lastWhy })
        }
      }
      if (this.#waiters.size > 0) await new Promise((r) => setTimeout(r, POLL_MS))
    }
    this.#polling = false
  }
}
