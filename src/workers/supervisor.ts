/**
 * A node with `common.workers` above 1: this primary process forks the workers that carry the
 * flows (each binds the listeners and the mesh port with SO_REUSEPORT, so the kernel spreads new
 * connections), and keeps what there must be one of per node: the scheduler session, the admin API
 * and the metrics. It relays instructions to every worker, answers their on-demand route requests,
 * restarts a worker that dies, and serves the node's views as the sum of its workers'.
 */
import type { ChildProcess } from 'node:child_process'
import { type AdminServer, createNodeAdmin } from '../admin/index.ts'
import { planReload, withListenersKept } from '../config/reload.ts'
import type { ListenerConfig, NodeConfig } from '../config/types.ts'
import { MeshProbeError, NodeStoppingError, PeerUnknownError } from '../errors/index.ts'
import type { InstructionRoute } from '../instructions/types.ts'
import type { Logger } from '../log/logger.ts'
import { silentLogger } from '../log/logger.ts'
import { DEFAULT_REPLAY_CACHE_ENTRIES, ReplayCache } from '../mesh/security/replay-cache.ts'
import { createMetrics, type Metrics } from '../metrics/index.ts'
import type { NodeControlPlane } from '../node/control-plane.ts'
import { instructionsView } from '../node/instructions-view.ts'
import type { ReloadOutcome } from '../node/node.ts'
import { type BoundListener, helloInfo, peerCapacities, reportInfo } from '../node/scheduler-info.ts'
import { PACKAGE_VERSION } from '../node/version.ts'
import { type Clock, systemClock } from '../util/clock.ts'
import { formatHostPort } from '../util/host-port.ts'
import {
  type FlowInfo,
  type InstructionsView,
  type LinkProbeResult,
  type ListenerStatus,
  type NodeState,
  type NodeStats,
  type NodeView,
  nodeInfo,
  type PeerStatus,
  type RouteStatus,
  type WorkerInfo,
} from '../views/node-view.ts'
import { mergeCounters, mergeListeners, mergePeers, mergeRoutes, retire } from './aggregate.ts'
import type { BoundPorts, ToWorker, WorkerSnapshot } from './messages.ts'
import { deathsAfter, respawnDelayMs } from './respawn.ts'
import { workerConfig } from './worker-config.ts'
import {
  forkWorkerProcess,
  type NonceQuestions,
  type ReloadReply,
  type ResolveRequest,
  WorkerHandle,
} from './worker-handle.ts'

export interface SupervisorOptions {
  readonly logger?: Logger
  readonly clock?: Clock
  readonly fork?: () => ChildProcess
}

const FRESHNESS_CHECK_MS = 250
/** Background refresh of the workers' views, for scheduler reports between admin requests. */
const SNAPSHOT_INTERVAL_MS = 1000
const SNAPSHOT_TIMEOUT_MS = 2000
/** A reload binds listeners at most; a worker that takes longer is reported, not waited for. */
const RELOAD_TIMEOUT_MS = 10_000
/** A probe takes about a second plus its connect and result timeouts: this covers them with room. */
const PROBE_REPLY_TIMEOUT_MS = 30_000
/** After a worker's own drain timeout, how long it gets to exit before it is killed. */
const EXIT_GRACE_MS = 3000

interface Slot {
  handle: WorkerHandle | undefined
  deathsInARow: number
  restarts: number
  respawnTimer: NodeJS.Timeout | undefined
}

export class NodeSupervisor implements NodeView {
  #config: NodeConfig
  readonly #count: number
  readonly #logger: Logger
  readonly #clock: Clock
  readonly #fork: () => ChildProcess
  readonly #slots: Slot[]
  readonly #snapshots = new Map<number, WorkerSnapshot>()
  readonly #metrics: Metrics
  readonly #replayCache: ReplayCache
  /** Counts of dead workers, so that the node's totals never go back. */
  #retired: WorkerSnapshot | undefined
  #flows: FlowInfo[] = []
  #bound: BoundPorts | undefined
  #instructions: { routes: readonly InstructionRoute[]; pathTokenKey: string | undefined } | undefined
  #fresh = false
  #controlPlane: NodeControlPlane | undefined
  #admin: AdminServer | undefined
  #adminAddress: string | undefined
  #timers: NodeJS.Timeout[] = []
  #state: NodeState = 'starting'
  #startedAt = 0
  #closing: Promise<void> | undefined

  constructor(config: NodeConfig, count: number, options: SupervisorOptions = {}) {
    this.#config = config
    this.#count = count
    this.#logger = options.logger ?? silentLogger()
    this.#clock = options.clock ?? systemClock
    this.#fork = options.fork ?? forkWorkerProcess
    this.#slots = Array.from({ length: count }, () => ({
      handle: undefined,
      deathsInARow: 0,
      restarts: 0,
      respawnTimer: undefined,
    }))
    this.#replayCache = new ReplayCache({ maxEntries: DEFAULT_REPLAY_CACHE_ENTRIES, clock: this.#clock })
    this.#metrics = createMetrics(this, {
      nodeId: config.common.nodeId,
      region: config.common.region,
      version: PACKAGE_VERSION,
      workerFlowDurations: () => this.#snapshotList().map((s) => s.flowDurations),
    })
  }

  /** Starts the first worker (it picks any port 0), then the others on the same ports, then admin and scheduler. */
  async start(): Promise<void> {
    this.#startedAt = this.#clock.now()
    try {
      this.#bound = await this.#spawn(0)
      await Promise.all(this.#slots.slice(1).map((_, i) => this.#spawn(i + 1)))
      await this.refresh('/stats')
      this.#admin = await createNodeAdmin(this, this.#metrics, this.config.common, this.#logger)
      this.#adminAddress = await this.#admin.listen()
      if (this.config.scheduler) await this.#startControlPlane()
    } catch (err) {
      await this.destroy()
      throw err
    }
    this.#timers.push(setInterval(() => void this.refresh('/stats'), SNAPSHOT_INTERVAL_MS))
    for (const timer of this.#timers) timer.unref()
    this.#state = 'running'
    this.#logger.info(
      { workers: this.#count, listeners: this.#boundListeners().map((l) => `${l.name}=${l.address}`) },
      'node listening',
    )
  }

  async #spawn(index: number): Promise<BoundPorts> {
    const slot = this.#slots[index] as Slot
    const handle: WorkerHandle = new WorkerHandle(index, this.#fork(), {
      resolve: (request) => this.#onResolve(handle, request),
      rememberNonces: (questions) => this.#onNonces(handle, questions),
    })
    slot.handle = handle
    void handle.exited.then((exit) => this.#onExit(index, handle, exit))
    const bound = await handle.start(workerConfig(this.config, this.#count, this.#bound), () =>
      this.#clock.now(),
    )
    if (this.#instructions) handle.send({ type: 'instructions', ...this.#instructions, fresh: this.#fresh })
    if (this.#state === 'draining') handle.send({ type: 'drain' })
    return bound
  }

  #onExit(index: number, handle: WorkerHandle, exit: { code: number | null; signal: string | null }): void {
    const slot = this.#slots[index] as Slot
    if (slot.handle !== handle) return
    slot.handle = undefined
    const last = this.#snapshots.get(index)
    if (last !== undefined) this.#retired = retire(this.#retired, last)
    this.#snapshots.delete(index)
    if (this.#state !== 'running') return
    const uptime = handle.startedAt === undefined ? undefined : this.#clock.now() - handle.startedAt
    slot.deathsInARow = deathsAfter(slot.deathsInARow, uptime)
    const delayMs = respawnDelayMs(slot.deathsInARow)
    this.#logger.error({ worker: index, pid: handle.pid, ...exit, restartInMs: delayMs }, 'worker died')
    slot.respawnTimer = setTimeout(() => this.#respawn(index), delayMs)
  }

  #respawn(index: number): void {
    const slot = this.#slots[index] as Slot
    slot.respawnTimer = undefined
    if (this.#state !== 'running') return
    slot.restarts++
    this.#spawn(index).then(
      () => this.#logger.info({ worker: index, pid: slot.handle?.pid }, 'worker restarted'),
      (err) => this.#logger.error({ worker: index, err }, 'worker failed to restart'),
    )
  }

  async #startControlPlane(): Promise<void> {
    const { NodeControlPlane } = await import('../node/control-plane.ts')
    const control = new NodeControlPlane(this.config, {
      clock: this.#clock,
      logger: this.#logger,
      hello: () =>
        helloInfo(
          this.config,
          this.#boundListeners(),
          this.meshAddress,
          this.config.common.adminUrl ??
            (this.#adminAddress === undefined ? undefined : `http://${this.#adminAddress}/ui`),
        ),
      report: () =>
        reportInfo(
          this.getRoutes(),
          this.getPeers(),
          this.getStats().connections.active,
          peerCapacities(this.#config),
          this.#state === 'draining',
        ),
      onInstructions: (applied) => {
        this.#instructions = { routes: applied.set.routes, pathTokenKey: applied.set.pathTokenKey }
        this.#fresh = control.isFresh()
        this.#broadcast({ type: 'instructions', ...this.#instructions, fresh: this.#fresh })
      },
      onDirective: (directive) => {
        if (directive.kind === 'drain') this.drain(directive.timeoutMs)
        else if (directive.kind === 'undrain')
          this.undrain().catch((err: unknown) =>
            this.#logger.warn({ err }, 'the scheduler asked to undrain; could not'),
          )
        else void this.#probeAll(directive.peers)
      },
    })
    this.#controlPlane = control
    await control.start()
    this.#timers.push(setInterval(() => this.#checkFreshness(control), FRESHNESS_CHECK_MS))
  }

  #checkFreshness(control: NodeControlPlane): void {
    const fresh = control.isFresh()
    if (fresh === this.#fresh) return
    this.#fresh = fresh
    this.#broadcast({ type: 'fresh', fresh })
  }

  #onResolve(handle: WorkerHandle, request: ResolveRequest): void {
    const asked = this.#controlPlane?.resolve(request)
    Promise.resolve(asked)
      .catch((err: unknown) => {
        this.#logger.warn({ err, listener: request.listener }, 'on-demand route request failed')
        return undefined
      })
      .then((route) => handle.send({ type: 'resolved', id: request.id, route }))
  }

  /** Every worker's mesh nonces go through this one cache: a captured header opens one flow per node. */
  #onNonces(handle: WorkerHandle, questions: NonceQuestions): void {
    const verdicts = questions.nonces.map((nonce, i) =>
      this.#replayCache.remember(Buffer.from(nonce, 'hex'), questions.expiresAtMs[i] as number),
    )
    handle.send({ type: 'nonce-verdicts', firstId: questions.firstId, verdicts })
  }

  #broadcast(message: ToWorker): void {
    for (const slot of this.#slots) slot.handle?.send(message)
  }

  #live(): WorkerHandle[] {
    return this.#slots.flatMap((s) => (s.handle ? [s.handle] : []))
  }

  /** Fetches every live worker's views; /flows also fetches their flows. */
  async refresh(path: string): Promise<void> {
    const live = this.#live()
    const snapshots = await Promise.all(live.map((h) => h.snapshot(SNAPSHOT_TIMEOUT_MS)))
    live.forEach((h, i) => {
      const snapshot = snapshots[i]
      if (snapshot !== undefined && this.#slots[h.index]?.handle === h) this.#snapshots.set(h.index, snapshot)
    })
    if (path !== '/flows') return
    const flows = await Promise.all(live.map((h) => h.flows(SNAPSHOT_TIMEOUT_MS)))
    this.#flows = live.flatMap((h, i) => (flows[i] ?? []).map((f) => ({ ...f, worker: h.index })))
  }

  /** In worker order, so that merged views list things as worker 0 does; dead workers' counts last. */
  #snapshotList(): WorkerSnapshot[] {
    const live = this.#slots.flatMap((_, index) => {
      const snapshot = this.#snapshots.get(index)
      return snapshot ? [snapshot] : []
    })
    return this.#retired ? [...live, this.#retired] : live
  }

  #boundListeners(): BoundListener[] {
    return this.config.listeners.map((l) => {
      const port = this.#bound?.listeners[l.name] ?? l.bind.port
      return { name: l.name, address: formatHostPort(l.bind.host, port), port }
    })
  }

  getConfig(): NodeConfig {
    return this.#config
  }

  get config(): NodeConfig {
    return this.#config
  }

  /**
   * Applies a reloaded config in every worker: the first one first, so that a new listener on port
   * 0 gets one port that the others then bind too.
   */
  async reload(next: NodeConfig): Promise<ReloadOutcome> {
    const running = this.#config
    const plan = planReload(running, next)
    this.#config = plan.config
    this.#logger.level = plan.config.common.logLevel
    const errors: Error[] = []
    const [first, ...others] = this.#live()
    let kept = new Map<string, ListenerConfig | undefined>()
    if (first !== undefined) {
      const reply = await this.#reloadWorker(first, errors)
      if (reply) this.#bound = reply.bound
      // Every worker reads the same files and binds the same ports: the first speaks for all, and
      // the others (and any worker started later) get the config the first one kept.
      kept = new Map(reply?.kept.map((name) => [name, running.listeners.find((l) => l.name === name)]))
    }
    const outcome = withListenersKept(plan, kept)
    this.#config = outcome.config
    await Promise.all(others.map((handle) => this.#reloadWorker(handle, errors)))
    if (plan.helloChanged) this.#controlPlane?.rehello()
    return { applied: outcome.applied, restartRequired: plan.restartRequired, errors, kept }
  }

  async #reloadWorker(handle: WorkerHandle, errors: Error[]): Promise<ReloadReply | undefined> {
    const config = workerConfig(this.#config, this.#count, this.#bound)
    const reply = await handle.reload(config, RELOAD_TIMEOUT_MS)
    if (reply === undefined) errors.push(new Error(`worker ${handle.index} did not answer the reload`))
    for (const message of reply?.errors ?? []) errors.push(new Error(`worker ${handle.index}: ${message}`))
    return reply
  }

  get adminAddress(): string | undefined {
    return this.#adminAddress
  }

  get meshAddress(): string | undefined {
    const mesh = this.config.mesh
    const port = this.#bound?.mesh
    return mesh && port !== undefined ? formatHostPort(mesh.bind.host, port) : undefined
  }

  listenerPort(name: string): number {
    const port = this.#bound?.listeners[name]
    if (port === undefined) throw new RangeError(`no listener named "${name}"`)
    return port
  }

  get state(): NodeState {
    return this.#state
  }

  /**
   * Measures the link to a peer from the first live worker (the one that holds the result shows
   * it in /peers, see mergePeers).
   */
  async probePeer(peer: string): Promise<LinkProbeResult> {
    const names = this.config.peers.map((p) => p.name)
    if (!names.includes(peer)) throw new PeerUnknownError(peer, names)
    const handle = this.#slots.find((slot) => slot.handle !== undefined)?.handle
    const reply = await handle?.probe(peer, PROBE_REPLY_TIMEOUT_MS)
    if (reply?.result !== undefined) return reply.result
    if (reply?.error?.code === 'DYN_ERR_PEER_UNKNOWN') throw new PeerUnknownError(peer, names)
    throw new MeshProbeError(peer, reply?.error?.why ?? 'no worker answered')
  }

  async #probeAll(peers: readonly string[]): Promise<void> {
    for (const peer of peers) {
      try {
        this.#logger.info({ ...(await this.probePeer(peer)) }, 'peer link probed')
      } catch (err) {
        this.#logger.warn({ err, peer }, 'peer link probe failed')
      }
    }
  }

  drain(cutAfterMs = 0): void {
    if (cutAfterMs > 0) this.#broadcast({ type: 'drain', cutAfterMs })
    if (this.#state !== 'running' && this.#state !== 'starting') return
    this.#state = 'draining'
    this.#broadcast({ type: 'drain' })
    this.#logger.info('draining: workers no longer accept')
  }

  /** Accepts flows again after drain(): every worker listens again (see ProxyNode.undrain). */
  async undrain(): Promise<NodeState> {
    if (this.#closing !== undefined || this.#state === 'stopped') throw new NodeStoppingError(this.#state)
    if (this.#state !== 'draining') return this.#state
    this.#state = 'running'
    this.#broadcast({ type: 'undrain' })
    this.#logger.info('undrained: workers accept again')
    return this.#state
  }

  close(): Promise<void> {
    this.#closing ??= this.#closeGracefully()
    return this.#closing
  }

  /** Workers drain within their own drain timeout; one that outlives it (and a grace) is killed. */
  async #closeGracefully(): Promise<void> {
    this.drain()
    this.#broadcast({ type: 'close' })
    await this.#waitForWorkers(this.config.common.drainTimeoutMs + EXIT_GRACE_MS)
    await this.#release()
    this.#logger.info('node stopped')
  }

  async destroy(): Promise<void> {
    this.#state = 'draining'
    for (const handle of this.#live()) handle.kill('SIGKILL')
    this.#closing ??= this.#waitForWorkers(EXIT_GRACE_MS).then(() => this.#release())
    return this.#closing
  }

  async #waitForWorkers(timeoutMs: number): Promise<void> {
    const live = this.#live()
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs)
    })
    await Promise.race([Promise.all(live.map((h) => h.exited)), deadline])
    clearTimeout(timer)
    for (const handle of this.#live()) handle.kill('SIGKILL')
    await Promise.all(live.map((h) => h.exited))
  }

  async #release(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer)
    for (const slot of this.#slots) clearTimeout(slot.respawnTimer)
    await this.#controlPlane?.close()
    await this.#admin?.close()
    this.#state = 'stopped'
  }

  isReady(): boolean {
    return this.#state === 'running' && this.#slots.every((s) => s.handle?.startedAt !== undefined)
  }

  getStats(): NodeStats {
    const now = this.#clock.now()
    const snapshots = this.#snapshotList()
    return {
      node: nodeInfo(this.config.common, PACKAGE_VERSION, this.#startedAt, now, this.#state),
      ...mergeCounters(snapshots),
      ...(this.#controlPlane && { scheduler: { ...this.#controlPlane.stats(), fresh: this.#fresh } }),
      workers: this.#slots.map((slot, index) => this.#workerInfo(slot, index)),
    }
  }

  #workerInfo(slot: Slot, index: number): WorkerInfo {
    const handle = slot.handle
    const state =
      handle === undefined ? 'restarting' : handle.startedAt === undefined ? 'starting' : 'running'
    return {
      index,
      pid: handle?.pid,
      state,
      activeConnections: this.#snapshots.get(index)?.stats.connections.active ?? 0,
      restarts: slot.restarts,
    }
  }

  getListeners(): ListenerStatus[] {
    const limits = Object.fromEntries(this.config.listeners.map((l) => [l.name, l.maxConnections]))
    return mergeListeners(
      this.#snapshotList().map((s) => s.listeners),
      limits,
    )
  }

  getRoutes(): RouteStatus[] {
    return mergeRoutes(this.#snapshotList().map((s) => s.routes))
  }

  getPeers(): PeerStatus[] {
    return mergePeers(this.#snapshotList().map((s) => s.peers))
  }

  getFlows(): FlowInfo[] {
    return this.#flows
  }

  getInstructions(): InstructionsView | undefined {
    const applied = this.#controlPlane?.cache.current()
    return applied && instructionsView(applied, this.#fresh)
  }
}
