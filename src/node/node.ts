/**
 * ProxyNode wires one node together: listeners → flow handler → routes/upstream clusters, the
 * flow manager's accounting, metrics and the admin API. It holds no protocol logic of its own.
 *
 * Lifecycle: `start()` binds every listener (all or none) and the admin server; `drain()` stops
 * accepting; `close()` drains, waits for active flows up to `drain_timeout`, aborts the rest and
 * releases everything; `destroy()` aborts at once. All three are idempotent.
 */

import type { MetricObjectWithValues, MetricValue } from 'prom-client'
import type { AdminServer } from '../admin/index.ts'
import { planReload, withListenersKept } from '../config/reload.ts'
import type { ListenerConfig, NodeConfig } from '../config/types.ts'
import { NodeStoppingError, PeerUnknownError } from '../errors/index.ts'
import { FlowAccounting, FlowManager, MESH_LISTENER } from '../flow/index.ts'
import type { InstructionRoute } from '../instructions/types.ts'
import { createFlowHandler, type FlowHandlerDeps } from '../listener/index.ts'
import { type ListenerReload, ListenerSet } from '../listener/listener-set.ts'
import type { Logger } from '../log/logger.ts'
import { silentLogger } from '../log/logger.ts'
import { NodeMesh } from '../mesh/node-mesh.ts'
import type { ReplayGuard } from '../mesh/security/replay-cache.ts'
import { createMetrics, type Metrics } from '../metrics/index.ts'
import { PeerManager } from '../peer/index.ts'
import {
  loadPlugins,
  type PluginHooks,
  pluginAdmitter,
  pluginEndNotifier,
  pluginHooks,
} from '../plugins/index.ts'
import { describeTarget } from '../route/describe.ts'
import { DynamicRouteEngine, type ResolveQuery } from '../route/engine.ts'
import { type Clock, systemClock } from '../util/clock.ts'
import {
  type DecisionSource,
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
  rejectedTotal,
} from '../views/node-view.ts'
import type { NodeControlPlane } from './control-plane.ts'
import { instructionsView } from './instructions-view.ts'
import { helloInfo, peerCapacities, reportInfo } from './scheduler-info.ts'
import { PACKAGE_VERSION } from './version.ts'

export interface NodeOptions {
  readonly logger?: Logger
  readonly clock?: Clock
  /** A worker process of a node: binds with SO_REUSEPORT, serves no admin API (its primary does). */
  readonly worker?: WorkerRole
}

export interface ReloadOutcome {
  /** Keys the reload changed. */
  readonly applied: readonly string[]
  /** Keys that differ but keep their running value until a restart. */
  readonly restartRequired: readonly string[]
  /**
   * Listeners whose change did not apply: a listener that was running keeps its old config and
   * certificate (DYN_ERR_LISTENER_RELOAD_KEPT), a new one that cannot bind is left out; a
   * `mesh.tls.crl` that does not load leaves the list in force. The rest of the reload holds.
   */
  readonly errors: readonly Error[]
  /** Those listeners by name, with the config each runs with now (undefined: not started). */
  readonly kept: ReadonlyMap<string, ListenerConfig | undefined>
}

export interface WorkerRole {
  /** Asks the primary, which holds the scheduler session, for a route for a flow no route takes. */
  readonly resolve: (query: ResolveQuery) => Promise<InstructionRoute | undefined>
  /** The node's one record of accepted mesh nonces, which the primary holds. */
  readonly replay: ReplayGuard
}

const FRESHNESS_CHECK_MS = 250
const NOTHING_KEPT: ListenerReload = { errors: [], kept: new Map() }
/** After aborting the flows left at the drain deadline, how long their connections get to report closed. */
const ABORT_WAIT_MS = 2000

export class ProxyNode implements NodeView {
  #config: NodeConfig
  readonly #logger: Logger
  readonly #clock: Clock
  readonly #accounting: FlowAccounting
  readonly #flows: FlowManager
  readonly #pipeline: FlowHandlerDeps
  readonly #listeners: ListenerSet
  readonly #engine: DynamicRouteEngine
  readonly #metrics: Metrics
  readonly #mesh: NodeMesh | undefined
  /** The control channels that measure each link to a peer; they run once the mesh port is bound. */
  #peers: PeerManager | undefined
  readonly #worker: WorkerRole | undefined
  #controlPlane: NodeControlPlane | undefined
  #hooks: PluginHooks | undefined
  #freshnessTimer: NodeJS.Timeout | undefined
  #heldTimer: NodeJS.Timeout | undefined
  #admin: AdminServer | undefined
  #adminAddress: string | undefined
  #state: NodeState = 'starting'
  #startedAt = 0
  #closing: Promise<void> | undefined
  /** The deadline a drain with a timeout set for open flows. */
  #drainCut: NodeJS.Timeout | undefined

  constructor(config: NodeConfig, options: NodeOptions = {}) {
    this.#config = config
    this.#logger = options.logger ?? silentLogger()
    this.#clock = options.clock ?? systemClock
    this.#worker = options.worker
    this.#metrics = createMetrics(this, {
      nodeId: config.common.nodeId,
      region: config.common.region,
      version: PACKAGE_VERSION,
    })
    this.#accounting = new FlowAccounting(this.#clock, this.#metrics, this.#newAccessLog(config))
    this.#flows = new FlowManager(this.#clock, this.#accounting, {
      recordSource: needsSourceAfterClose(config),
    })
    this.#mesh = config.mesh
      ? new NodeMesh(config, {
          clock: this.#clock,
          logger: this.#logger,
          flows: this.#flows,
          onControl: (conn, identity) => {
            if (this.#peers === undefined) conn.closeNow()
            else this.#peers.acceptControl(conn, identity)
          },
          onProbed: (peer, bytesPerSecond) => this.#peers?.recordCapacity(peer, bytesPerSecond),
          reusePort: options.worker !== undefined,
          ...(options.worker && { replay: options.worker.replay }),
        })
      : undefined
    this.#engine = new DynamicRouteEngine(config.routes, {
      nodeId: config.common.nodeId,
      clock: this.#clock,
      logger: this.#logger,
      peers: this.#mesh,
      token: config.mesh?.token,
    })
    if (options.worker !== undefined) this.#engine.resolver = options.worker
    this.#pipeline = { manager: this.#flows, routes: this.#engine }
    this.#listeners = new ListenerSet(config.listeners, {
      onConnection: createFlowHandler(this.#pipeline),
      start: { crossed: [config.common.nodeId], remainingHops: config.mesh?.maxHops ?? 0 },
      reusePort: options.worker !== undefined,
      udp: { routes: this.#engine, clock: this.#clock, accessLog: this.#accounting },
    })
  }

  #newAccessLog(config: NodeConfig): Logger | undefined {
    return config.common.accessLog ? this.#logger.child({ log: 'access' }) : undefined
  }

  /** Loaded only for a node with a scheduler section: the gRPC stack stays out of other nodes' heaps. */
  async #newControlPlane(config: NodeConfig): Promise<NodeControlPlane> {
    const { NodeControlPlane } = await import('./control-plane.ts')
    return new NodeControlPlane(config, {
      clock: this.#clock,
      logger: this.#logger,
      hello: () => helloInfo(this.config, this.#listeners.all, this.#mesh?.address, this.#consoleAddress()),
      report: () =>
        reportInfo(
          this.getRoutes(),
          this.getPeers(),
          this.#flows.activeCount,
          peerCapacities(this.#config),
          this.#state === 'draining',
        ),
      onInstructions: (applied) => {
        this.applyInstructions(applied.set.routes, applied.set.pathTokenKey)
        this.setFresh(this.#controlPlane?.isFresh() ?? false)
      },
      onDirective: (directive) => {
        if (directive.kind === 'drain') this.drain(directive.timeoutMs)
        else if (directive.kind === 'undrain') this.#undrainAsked()
        else void this.#probeAll(directive.peers)
      },
    })
  }

  /** Where operators open this node's console: common.admin_url, else the admin API's own address. */
  #consoleAddress(): string | undefined {
    const configured = this.config.common.adminUrl
    if (configured !== undefined) return configured
    return this.#adminAddress === undefined ? undefined : `http://${this.#adminAddress}/ui`
  }

  #undrainAsked(): void {
    this.undrain().catch((err: unknown) =>
      this.#logger.warn({ err }, 'the scheduler asked to undrain; could not'),
    )
  }

  /** The scheduler asked for these links to be measured: one after another, each logged. */
  async #probeAll(peers: readonly string[]): Promise<void> {
    for (const peer of peers) {
      try {
        const result = await this.probePeer(peer)
        this.#logger.info({ ...result }, 'peer link probed')
      } catch (err) {
        this.#logger.warn({ err, peer }, 'peer link probe failed')
      }
    }
  }

  /** Measures the link to a peer now (about a second of traffic); see NodeMesh.probe. */
  probePeer(peer: string): Promise<LinkProbeResult> {
    if (this.#mesh === undefined) return Promise.reject(new PeerUnknownError(peer, []))
    return this.#mesh.probe(peer)
  }

  /** The scheduler's routes in force from now on (and the key that signs its path tokens). */
  applyInstructions(routes: readonly InstructionRoute[], pathTokenKey: string | undefined): void {
    this.#engine.applyInstructions(routes)
    this.#mesh?.setPathTokenKey(pathTokenKey)
    this.#watchHeld()
  }

  /**
   * Routes held for want of a path from the scheduler go once their paths fail: checked every 250 ms
   * while any is held (workers too, which have no control plane of their own).
   */
  #watchHeld(): void {
    if (this.#heldTimer !== undefined || this.#engine.held().length === 0) return
    this.#heldTimer = setInterval(() => {
      this.#engine.recheckHeld()
      if (this.#engine.held().length > 0) return
      clearInterval(this.#heldTimer)
      this.#heldTimer = undefined
    }, FRESHNESS_CHECK_MS)
    this.#heldTimer.unref()
  }

  /** Whether instruction routes decide flows as fresh (`instruction`) or as `cached_instruction`. */
  setFresh(fresh: boolean): void {
    this.#engine.setFresh(fresh)
  }

  /** This process's flow-duration histogram, for a primary that merges its workers' into one. */
  flowDurations(): Promise<MetricObjectWithValues<MetricValue<string>>> {
    return this.#metrics.flowDurations()
  }

  async #loadPlugins(): Promise<void> {
    const hooks = pluginHooks(
      await loadPlugins(this.#config.plugins, this.#config.common.nodeId, this.#logger),
    )
    this.#hooks = hooks
    if (hooks.onAccept) this.#pipeline.admit = pluginAdmitter(hooks.onAccept)
    if (hooks.onEnd) this.#accounting.onEnd = pluginEndNotifier(hooks.onEnd)
  }

  /** Binds every listener and the admin server; on any failure releases what it bound and rejects. */
  async start(): Promise<void> {
    this.#startedAt = this.#clock.now()
    try {
      if (this.#config.plugins.length > 0) await this.#loadPlugins()
      if (this.config.scheduler) {
        this.#controlPlane = await this.#newControlPlane(this.config)
        this.#engine.resolver = this.#controlPlane
        await this.#controlPlane.loadCached()
      }
      await this.#listeners.listenAll()
      if (this.#mesh !== undefined) {
        await this.#mesh.start(this.#engine)
        this.#peers = this.#startPeers(this.#mesh)
      }
      if (this.#worker === undefined) await this.#startAdmin()
      await this.#controlPlane?.start()
    } catch (err) {
      await this.#release()
      this.#state = 'stopped'
      throw err
    }
    this.#engine.start()
    this.#watchFreshness()
    this.#state = 'running'
    this.#logger.info(
      {
        listeners: this.#listeners.all.map((l) => `${l.name}=${l.address}`),
        mesh: this.#mesh?.address,
        admin: this.#adminAddress,
      },
      'node listening',
    )
  }

  async #startAdmin(): Promise<void> {
    // Loaded here, not at import: a worker process serves no admin API and keeps fastify out of
    // the heap every full garbage collection walks.
    const { createNodeAdmin } = await import('../admin/index.ts')
    this.#admin = await createNodeAdmin(this, this.#metrics, this.config.common, this.#logger)
    this.#adminAddress = await this.#admin.listen()
  }

  /** Instructions go stale when the scheduler goes away: re-checked every 250 ms, off the data path. */
  #watchFreshness(): void {
    const control = this.#controlPlane
    if (control === undefined) return
    this.#freshnessTimer = setInterval(() => this.#engine.setFresh(control.isFresh()), FRESHNESS_CHECK_MS)
    this.#freshnessTimer.unref()
  }

  get config(): NodeConfig {
    return this.#config
  }

  getConfig(): NodeConfig {
    return this.#config
  }

  /**
   * Applies a reloaded config (SIGHUP): routes, listeners, log level, access log and drain timeout
   * change at once, running flows keep what they have; what needs a restart is reported, not applied.
   */
  async reload(next: NodeConfig): Promise<ReloadOutcome> {
    const plan = planReload(this.#config, next)
    this.#config = plan.config
    const { common } = plan.config
    this.#logger.level = common.logLevel
    this.#accounting.accessLog = this.#newAccessLog(plan.config)
    this.#flows.recordSource = needsSourceAfterClose(plan.config)
    if (plan.routesChanged) {
      this.#engine.replaceStatic(plan.config.routes)
      this.#mesh?.setRoutes(plan.config.routes)
    }
    const listeners = this.#state === 'running' ? await this.#listeners.apply(plan.listeners) : NOTHING_KEPT
    const { config, applied } = withListenersKept(plan, listeners.kept)
    this.#config = config
    if (plan.helloChanged) this.#controlPlane?.rehello()
    const revocations = await this.#mesh?.reloadRevocations()
    const errors = revocations === undefined ? listeners.errors : [...listeners.errors, revocations]
    return { applied, restartRequired: plan.restartRequired, errors, kept: listeners.kept }
  }

  /** The admin server's bound address (its port differs from the config's when that is 0). */
  get adminAddress(): string | undefined {
    return this.#adminAddress
  }

  /** The mesh port's bound address, when the node runs a mesh. */
  get meshAddress(): string | undefined {
    return this.#mesh?.address
  }

  /** Bound port of a listener by name. */
  listenerPort(name: string): number {
    const listener = this.#listeners.find(name)
    if (listener === undefined) throw new RangeError(`no listener named "${name}"`)
    return listener.port
  }

  /** Stops accepting; with `cutAfterMs`, flows still open that long after are closed (drain_timeout). */
  drain(cutAfterMs = 0): void {
    if (cutAfterMs > 0) {
      clearTimeout(this.#drainCut)
      this.#drainCut = setTimeout(() => this.#flows.abortAll('drain_timeout'), cutAfterMs)
      this.#drainCut.unref()
    }
    if (this.#state !== 'running' && this.#state !== 'starting') return
    this.#state = 'draining'
    for (const listener of this.#listeners.all) listener.stopAccepting()
    this.#mesh?.stopAccepting()
    this.#logger.info({ activeFlows: this.#flows.activeCount }, 'draining: no longer accepting')
  }

  /**
   * Accepts flows again after drain(): every listener and the mesh port listen again on the ports
   * they had, and a drain's deadline for open flows is called off. A node that is stopping
   * (close(), a signal) stays stopping. Resolves with the state after.
   */
  async undrain(): Promise<NodeState> {
    if (this.#closing !== undefined || this.#state === 'stopped') throw new NodeStoppingError(this.#state)
    if (this.#state !== 'draining') return this.#state
    clearTimeout(this.#drainCut)
    this.#drainCut = undefined
    await Promise.all(this.#listeners.all.map((listener) => listener.resumeAccepting()))
    await this.#mesh?.resumeAccepting()
    this.#state = 'running'
    this.#logger.info({ activeFlows: this.#flows.activeCount }, 'undrained: accepting again')
    return this.#state
  }

  close(): Promise<void> {
    this.#closing ??= this.#closeGracefully()
    return this.#closing
  }

  async #closeGracefully(): Promise<void> {
    this.drain()
    const timeoutMs = this.config.common.drainTimeoutMs
    let timer: NodeJS.Timeout | undefined
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs)
    })
    const outcome = await Promise.race([this.#flows.idle().then(() => 'idle' as const), deadline])
    clearTimeout(timer)
    if (outcome === 'timeout') {
      this.#logger.warn(
        { activeFlows: this.#flows.activeCount, timeoutMs },
        'drain timeout: closing remaining flows',
      )
      this.#flows.abortAll('drain_timeout')
      await this.#flows.idle(ABORT_WAIT_MS)
    }
    await this.#release()
    this.#state = 'stopped'
    this.#logger.info('node stopped')
  }

  /** Aborts every flow and closes everything now. */
  async destroy(): Promise<void> {
    this.drain()
    this.#flows.abortAll('aborted')
    this.#closing ??= this.#release().then(() => {
      this.#state = 'stopped'
    })
    return this.#closing
  }

  #startPeers(mesh: NodeMesh): PeerManager {
    const { common, peers } = this.#config
    const manager = new PeerManager({
      nodeId: common.nodeId,
      peers,
      mesh: this.#config.mesh!,
      ...(mesh.tls && { tls: mesh.tls }),
      clock: this.#clock,
      logger: this.#logger,
      onStateChange: (peer, state) => mesh.setPeerState(peer, state),
      onInboundAuthenticated: (conn) => mesh.authenticated(conn),
    })
    manager.start()
    return manager
  }

  async #release(): Promise<void> {
    for (const listener of this.#listeners.all) listener.markClosed()
    clearInterval(this.#freshnessTimer)
    clearInterval(this.#heldTimer)
    await this.#controlPlane?.close()
    this.#engine.close()
    await this.#peers?.close()
    await this.#mesh?.close()
    await this.#admin?.close()
    await this.#hooks?.close()
  }

  isReady(): boolean {
    return this.#state === 'running' && this.#listeners.all.every((l) => l.state === 'listening')
  }

  get state(): NodeState {
    return this.#state
  }

  getStats(): NodeStats {
    const now = this.#clock.now()
    const live = this.#flows.activeBytes(undefined, this.#mesh ? MESH_LISTENER : undefined)
    let active = 0
    let total = 0
    let rejected = 0
    let bytesIn = live.bytesIn
    let bytesOut = live.bytesOut
    for (const { counters: c } of this.#listeners.all) {
      active += c.active
      total += c.total
      rejected += rejectedTotal(c.rejected)
      bytesIn += c.closedBytesIn
      bytesOut += c.closedBytesOut
    }
    const routeMatches: Record<string, Record<DecisionSource, number>> = {}
    for (const route of this.#engine.routes()) routeMatches[route.config.name] = { ...route.matches }
    return {
      node: nodeInfo(this.config.common, PACKAGE_VERSION, this.#startedAt, now, this.#state),
      connections: { active, total, rejected, failed: this.#flows.failedFlows },
      traffic: { bytesIn, bytesOut },
      routeMatches,
      ...(this.#mesh && { mesh: this.#mesh.stats() }),
      ...(this.#controlPlane && { scheduler: { ...this.#controlPlane.stats(), fresh: this.#engine.fresh } }),
    }
  }

  getListeners(): ListenerStatus[] {
    return this.#listeners.all.map((l) => l.status(this.#flows.activeBytes(l.name)))
  }

  getRoutes(): RouteStatus[] {
    return this.#engine.routes().map((route) => ({
      name: route.config.name,
      match: route.config.match,
      lb: route.config.lb,
      target: describeTarget(route.config.target),
      matches: { ...route.matches },
      bytesIn: route.traffic.bytesIn,
      bytesOut: route.traffic.bytesOut,
      failedFlows: route.traffic.failures,
      endpoints: route.endpoints(),
      paths: route.paths(),
    }))
  }

  getFlows(limit?: number, listener?: string): FlowInfo[] {
    return this.#flows.list(limit, listener)
  }

  getInstructions(): InstructionsView | undefined {
    const applied = this.#controlPlane?.cache.current()
    return applied && instructionsView(applied, this.#engine.fresh, this.#engine.held())
  }

  getPeers(): PeerStatus[] {
    const mesh = this.#mesh
    if (mesh === undefined || this.#peers === undefined) return []
    return this.#peers.status().map((link) => ({ ...link, activeFlows: mesh.activeFlows(link.name) }))
  }
}

/** The access log and plugins' onEnd name a flow's client after its connection has closed; nothing else does. */
function needsSourceAfterClose(config: NodeConfig): boolean {
  return config.common.accessLog || config.plugins.length > 0
}

export async function createNode(config: NodeConfig, options?: NodeOptions): Promise<ProxyNode> {
  const node = new ProxyNode(config, options)
  await node.start()
  return node
}
