/**
 * The node's side of the control plane: the scheduler client, the instruction cache it feeds,
 * and (with `scheduler.address: embedded`) a scheduler running in this very process. It tells the
 * node when the instructions in force change and whether they are fresh: a set is fresh while the
 * node is connected to a scheduler, or within its TTL of the last time a scheduler sent it;
 * otherwise it is a stale cached set, still used while no scheduler answers.
 */
import type { HostPort, NodeConfig, SchedulerConfig } from '../config/types.ts'
import { SchedulerNoCredentialsError } from '../errors/scheduler-auth.ts'
import { type AppliedInstructions, InstructionCache, type InstructionRoute } from '../instructions/index.ts'
import type { Logger } from '../log/logger.ts'
import type { ResolveQuery } from '../route/engine.ts'
import type { RunningScheduler } from '../scheduler/server.ts'
import { type SchedulerCredentials, schedulerCredentials } from '../scheduler-client/credentials.ts'
import {
  type HelloInfo,
  type ReportInfo,
  SchedulerClient,
  type SchedulerClientStatus,
  type SchedulerDirective,
} from '../scheduler-client/index.ts'
import type { Clock } from '../util/clock.ts'
import { formatHostPort, splitHostPort } from '../util/host-port.ts'
import { targetRanges } from '../util/target-ranges.ts'
import type { SchedulerLinkStats } from '../views/node-view.ts'

export interface ControlPlaneDeps {
  readonly clock: Clock
  readonly logger: Logger
  readonly hello: () => HelloInfo
  readonly report: () => ReportInfo
  readonly onInstructions: (applied: AppliedInstructions) => void
  readonly onDirective: (directive: SchedulerDirective) => void
}

export class NodeControlPlane {
  readonly cache: InstructionCache
  readonly #config: NodeConfig
  readonly #scheduler: SchedulerConfig
  readonly #deps: ControlPlaneDeps
  #client: SchedulerClient | undefined
  #embedded: RunningScheduler | undefined

  constructor(config: NodeConfig, deps: ControlPlaneDeps) {
    if (config.scheduler === undefined) throw new TypeError('NodeControlPlane needs a scheduler section')
    this.#config = config
    this.#scheduler = config.scheduler
    this.#deps = deps
    this.cache = new InstructionCache({
      stateDir: config.common.stateDir,
      clock: deps.clock,
      logger: deps.logger,
    })
    this.cache.onChange((applied) => deps.onInstructions(applied))
  }

  /**
   * Puts the set cached in state_dir in force (stale until a scheduler confirms it), before the
   * node binds anything: a restarted node's first flows route as its last set said, and a relay
   * knows the scheduler's path-token key before the first relayed flow arrives.
   */
  async loadCached(): Promise<void> {
    const allow = this.#scheduler.allowTargets
    await this.cache.load({
      knownPeers: new Set(this.#config.peers.map((p) => p.name)),
      ...(allow && { targetAllowed: targetRanges(allow) }),
    })
  }

  /** Connects to the scheduler (starting an embedded one first); the node is bound by then. */
  async start(): Promise<void> {
    const addresses = await this.#addresses()
    this.#client = new SchedulerClient({
      config: this.#scheduler,
      ...(addresses && { addresses }),
      credentials: this.#credentials(),
      hello: this.#deps.hello,
      report: this.#deps.report,
      onDirective: this.#deps.onDirective,
      cache: this.cache,
      clock: this.#deps.clock,
      logger: this.#deps.logger.child({ component: 'scheduler-client' }),
      retryCapMs: retryCapMs(this.#scheduler.retryIntervalMs),
    })
    await this.#client.start()
  }

  async #addresses(): Promise<HostPort[] | undefined> {
    if (this.#scheduler.addresses !== 'embedded') return undefined
    const file = this.#scheduler.embeddedConfigFile
    if (file === undefined) return undefined
    // Loaded only here: a node that talks to a remote scheduler never carries its code.
    const [{ loadSchedulerConfig }, { startScheduler }] = await Promise.all([
      import('../scheduler/config/load.ts'),
      import('../scheduler/server.ts'),
    ])
    const config = await loadSchedulerConfig(file)
    this.#embedded = await startScheduler(config, {
      logger: this.#deps.logger.child({ component: 'scheduler' }),
      clock: this.#deps.clock,
    })
    return [splitHostPort(this.#embedded.grpcAddress)]
  }

  /**
   * An embedded scheduler's own join token (or its insecure plaintext) stands for the config's:
   * the node joins the scheduler it runs like any other node.
   */
  #credentials(): SchedulerCredentials {
    const { common } = this.#config
    const ctx = {
      nodeId: common.nodeId,
      stateDir: common.stateDir,
      clock: this.#deps.clock,
      logger: this.#deps.logger,
    }
    const embedded = this.#embedded
    if (embedded !== undefined) {
      const token = embedded.authority?.joinToken
      return schedulerCredentials(token === undefined ? { kind: 'insecure' } : { kind: 'join', token }, ctx)
    }
    const configured = this.#scheduler.credentials
    if (configured.kind === 'none') {
      const err = new SchedulerNoCredentialsError(describeAddresses(this.#scheduler.addresses))
      this.#deps.logger.error({ code: err.code }, err.message)
    }
    return schedulerCredentials(configured, ctx)
  }

  /** After a reload that changed what the hello describes (listeners, static routes). */
  rehello(): void {
    this.#client?.rehello()
  }

  /** Fresh: a scheduler is connected, or sent the set in force within its TTL. */
  isFresh(): boolean {
    return this.#client?.status().state === 'connected' || this.cache.isFresh()
  }

  resolve(query: ResolveQuery): Promise<InstructionRoute | undefined> {
    return this.#client?.resolve(query) ?? Promise.resolve(undefined)
  }

  stats(): SchedulerLinkStats {
    const status: SchedulerClientStatus = this.#client?.status() ?? {
      state: 'connecting',
      consecutiveFailures: 0,
    }
    const embedded = this.embedded
    return {
      state: status.state,
      ...(status.address !== undefined && { address: status.address }),
      ...(status.connectedSince !== undefined && { connectedSince: status.connectedSince }),
      consecutiveFailures: status.consecutiveFailures,
      ...(status.appliedVersion !== undefined && { appliedVersion: status.appliedVersion }),
      fresh: this.isFresh(),
      ...(status.lastNack !== undefined && { lastNack: status.lastNack }),
      ...(status.consoleUrl !== undefined && { consoleUrl: status.consoleUrl }),
      ...(embedded && { embedded }),
    }
  }

  /** The embedded scheduler's addresses, when this node runs one. */
  get embedded(): { readonly grpc: string; readonly api: string } | undefined {
    return this.#embedded && { grpc: this.#embedded.grpcAddress, api: this.#embedded.apiAddress }
  }

  async close(): Promise<void> {
    await this.#client?.close()
    await this.#embedded?.close()
  }

  get nodeId(): string {
    return this.#config.common.nodeId
  }
}

/**
 * The slowest retry, once degraded: sixteen retry intervals, within 1 s to 60 s. Tied to
 * `retry_interval` so that a short interval also means a node that comes back quickly.
 */
export function retryCapMs(retryIntervalMs: number): number {
  return Math.min(60_000, Math.max(1000, retryIntervalMs * 16))
}

function describeAddresses(addresses: SchedulerConfig['addresses']): string {
  return addresses === 'embedded'
    ? 'embedded'
    : addresses.map((a) => formatHostPort(a.host, a.port)).join(', ')
}
