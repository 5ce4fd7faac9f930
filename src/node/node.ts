/**
 * ProxyNode wires one node together: listeners → flow handler → routes/upstream clusters, the
 * flow manager's accounting, metrics and the admin API. It holds no protocol logic of its own.
 *
 * Lifecycle: `start()` binds every listener (all or none) and the admin server; `drain()` stops
 * accepting; `close()` drains, waits for active flows up to `drain_timeout`, aborts the rest and
 * releases everything; `destroy()` aborts at once. All three are idempotent.
 */
import { createAdminServer } from '../admin/index.ts'
import type { NodeConfig } from '../config/types.ts'
import { createFlowHandler, type Flow, FlowManager } from '../flow/index.ts'
import { TcpListener } from '../listener/index.ts'
import type { Logger } from '../log/logger.ts'
import { silentLogger } from '../log/logger.ts'
import { createMetrics, type Metrics } from '../metrics/index.ts'
import { compileRoutes, type RouteTable } from '../router/index.ts'
import { type Clock, systemClock } from '../util/clock.ts'
import { accessLogLine } from './access-log.ts'
import type {
  DecisionSource,
  FlowInfo,
  ListenerStatus,
  NodeState,
  NodeStats,
  NodeView,
  PeerStatus,
  RouteStatus,
} from './api.ts'
import { describeTarget } from './describe.ts'
import { MESH_LISTENER, NodeMesh } from './mesh.ts'
import { createRouteRuntime, type ManagedRoute } from './route-runtime.ts'
import { PACKAGE_VERSION } from './version.ts'

export interface NodeOptions {
  readonly logger?: Logger
  readonly clock?: Clock
}

type AdminServer = ReturnType<typeof createAdminServer>

export class ProxyNode implements NodeView {
  readonly config: NodeConfig
  readonly #logger: Logger
  readonly #accessLog: Logger | undefined
  readonly #clock: Clock
  readonly #flows: FlowManager
  readonly #listeners: TcpListener[]
  readonly #routes = new Map<string, ManagedRoute>()
  #table: RouteTable<ManagedRoute>
  readonly #metrics: Metrics
  readonly #mesh: NodeMesh | undefined
  #admin: AdminServer | undefined
  #adminAddress: string | undefined
  #state: NodeState = 'starting'
  #startedAt = 0
  #failedFlows = 0
  #closing: Promise<void> | undefined

  constructor(config: NodeConfig, options: NodeOptions = {}) {
    this.config = config
    this.#logger = options.logger ?? silentLogger()
    this.#accessLog = config.common.accessLog ? this.#logger.child({ log: 'access' }) : undefined
    this.#clock = options.clock ?? systemClock
    this.#flows = new FlowManager(this.#clock, (flow) => this.#onFlowFinished(flow))
    this.#mesh = config.mesh
      ? new NodeMesh(config, {
          clock: this.#clock,
          logger: this.#logger,
          flows: this.#flows,
          table: () => this.#table,
        })
      : undefined
    const routeDeps = {
      nodeId: config.common.nodeId,
      clock: this.#clock,
      logger: this.#logger,
      peers: this.#mesh,
      token: config.mesh?.token,
    }
    for (const route of config.routes) this.#routes.set(route.name, createRouteRuntime(route, routeDeps))
    this.#table = compileRoutes(
      [...this.#routes.values()].map((runtime) => ({ route: runtime.config, handler: runtime })),
      'static',
    )
    const onConnection = createFlowHandler({
      manager: this.#flows,
      table: () => this.#table,
      onUpstreamFailure: () => this.#failedFlows++,
    })
    const start = { crossed: [config.common.nodeId], remainingHops: config.mesh?.maxHops ?? 0 }
    this.#listeners = config.listeners.map((l) => new TcpListener(l, onConnection, start))
    this.#metrics = createMetrics(this, {
      nodeId: config.common.nodeId,
      region: config.common.region,
      version: PACKAGE_VERSION,
    })
  }

  /** Binds every listener and the admin server; on any failure releases what it bound and rejects. */
  async start(): Promise<void> {
    this.#startedAt = this.#clock.now()
    try {
      await Promise.all(this.#listeners.map((l) => l.listen()))
      await this.#mesh?.start()
      this.#admin = createAdminServer({
        view: this,
        metrics: this.#metrics,
        addr: this.config.common.adminAddr,
        token: this.config.common.adminToken,
        logger: this.#logger,
      })
      this.#adminAddress = await this.#admin.listen()
    } catch (err) {
      await this.#release()
      this.#state = 'stopped'
      throw err
    }
    for (const route of this.#routes.values()) route.start()
    this.#state = 'running'
    this.#logger.info(
      {
        listeners: this.#listeners.map((l) => `${l.name}=${l.address}`),
        mesh: this.#mesh?.address,
        admin: this.#adminAddress,
      },
      'node listening',
    )
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
    const listener = this.#listeners.find((l) => l.name === name)
    if (listener === undefined) throw new RangeError(`no listener named "${name}"`)
    return listener.port
  }

  drain(): void {
    if (this.#state !== 'running' && this.#state !== 'starting') return
    this.#state = 'draining'
    for (const listener of this.#listeners) listener.stopAccepting()
    this.#mesh?.stopAccepting()
    this.#logger.info({ activeFlows: this.#flows.activeCount }, 'draining: no longer accepting')
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
      await this.#flows.idle()
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

  async #release(): Promise<void> {
    for (const listener of this.#listeners) listener.markClosed()
    for (const route of this.#routes.values()) route.close()
    await this.#mesh?.close()
    await this.#admin?.close()
  }

  #onFlowFinished(flow: Flow): void {
    const counters = flow.listener.counters
    counters.active--
    counters.closedBytesIn += flow.bytesIn
    counters.closedBytesOut += flow.bytesOut
    if (flow.lender !== undefined && flow.target !== undefined) flow.lender.release(flow.target)
    const durationMs = flow.durationMs(this.#clock.now())
    this.#metrics.observeFlowDuration(flow.listener.name, durationMs / 1000)
    this.#accessLog?.info(accessLogLine(flow, durationMs), 'flow closed')
  }

  isReady(): boolean {
    return this.#state === 'running' && this.#listeners.every((l) => l.state === 'listening')
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
    for (const { counters: c } of this.#listeners) {
      active += c.active
      total += c.total
      rejected += c.rejected.max_connections + c.rejected.no_route + c.rejected.draining
      bytesIn += c.closedBytesIn
      bytesOut += c.closedBytesOut
    }
    const routeMatches: Record<string, Record<DecisionSource, number>> = {}
    for (const [name, route] of this.#routes) routeMatches[name] = { ...route.matches }
    return {
      node: {
        id: this.config.common.nodeId,
        region: this.config.common.region,
        version: PACKAGE_VERSION,
        pid: process.pid,
        startedAt: new Date(this.#startedAt || now).toISOString(),
        uptimeSeconds: this.#startedAt ? Math.round((now - this.#startedAt) / 1000) : 0,
        state: this.#state,
      },
      connections: { active, total, rejected, failed: this.#failedFlows },
      traffic: { bytesIn, bytesOut },
      routeMatches,
      ...(this.#mesh && { mesh: this.#mesh.stats() }),
    }
  }

  getListeners(): ListenerStatus[] {
    return this.#listeners.map((l) => l.status(this.#flows.activeBytes(l.name)))
  }

  getRoutes(): RouteStatus[] {
    return [...this.#routes.values()].map((route) => ({
      name: route.config.name,
      match: route.config.match,
      lb: route.config.lb,
      target: describeTarget(route.config.target),
      matches: { ...route.matches },
      endpoints: route.endpoints(),
      paths: route.paths(),
    }))
  }

  getFlows(limit?: number, listener?: string): FlowInfo[] {
    return this.#flows.list(limit, listener)
  }

  getPeers(): PeerStatus[] {
    return this.#mesh?.status() ?? []
  }
}

export async function createNode(config: NodeConfig, options?: NodeOptions): Promise<ProxyNode> {
  const node = new ProxyNode(config, options)
  await node.start()
  return node
}
