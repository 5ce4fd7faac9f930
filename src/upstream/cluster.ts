/**
 * UpstreamCluster: connects a route's flows to one of its endpoints. Per flow it does one pick and
 * one connect (more only on failure), logs nothing and allocates little; counters are plain fields
 * that status() reads on request. Logs are per endpoint event: ejected, returned, health changed.
 *
 * Contract with the flow code: call connect() once per flow; when it resolves, the flow owns the
 * socket (attach an 'error' listener at once) and must call release(endpoint) exactly once when
 * the flow ends. A rejected connect() needs no release.
 */
import type { Socket } from 'node:net'
import type { EndpointConfig, HealthCheckConfig, RouteConfig } from '../config/types.ts'
import {
  type ConnectFailureReason,
  type UpstreamAttempt,
  type UpstreamConnectError,
  type UpstreamConnectTimeoutError,
  UpstreamDuplicateEndpointError,
  UpstreamTargetKindError,
  UpstreamUnavailableError,
} from '../errors/upstream.ts'
import type { Clock } from '../util/clock.ts'
import type { EndpointHealth, EndpointStatus } from '../views/node-view.ts'
import { type ConnectWaiter, openTcp } from './connect.ts'
import { type Candidate, markEligible, markUntried } from './eligible.ts'
import { HealthChecker, nextHealth } from './health.ts'
import { type Balancer, createBalancer, type LbEndpoint, type RandomSource } from './lb.ts'
import { expireEjection, type OutlierState, recordFailure, recordSuccess } from './outlier.ts'

/** The subset of pino the cluster uses. */
export interface UpstreamLogger {
  warn(obj: object, msg: string): void
  info(obj: object, msg: string): void
  debug(obj: object, msg: string): void
}

export interface UpstreamClusterDeps {
  readonly clock: Clock
  readonly logger: UpstreamLogger
  readonly random?: RandomSource
}

export interface EndpointConnection {
  readonly socket: Socket
  /** The endpoint's address as configured: pass it to release(). */
  readonly endpoint: string
  /** Connect attempts this flow made, the successful one included. */
  readonly attempts: number
  /** How long the successful attempt took: the endpoint's connect latency. */
  readonly connectMs: number
}

/** One flow's connect across its attempts; arrays only once an attempt has failed. */
class FlowConnect {
  readonly sourceIp: string
  readonly resolve: (conn: EndpointConnection) => void
  readonly reject: (error: Error) => void
  attempts = 0
  /** The endpoint of the attempt in progress. */
  index = -1
  startedAt = 0
  tried: number[] | undefined = undefined
  failed: UpstreamAttempt[] | undefined = undefined

  constructor(sourceIp: string, resolve: (conn: EndpointConnection) => void, reject: (error: Error) => void) {
    this.sourceIp = sourceIp
    this.resolve = resolve
    this.reject = reject
  }
}

/** Live per-endpoint state: one object per endpoint, mutated in place. */
class EndpointState implements LbEndpoint, Candidate, OutlierState {
  readonly address: string
  readonly host: string
  readonly port: number
  readonly weight: number
  active = 0
  /** Connections established. */
  total = 0
  connectFailures = 0
  health: EndpointHealth = 'unchecked'
  healthStreak = 0
  failures = 0
  ejections = 0
  ejectedUntil = 0
  lastCheckAt = 0
  lastCheckOk = false
  /** When its checks last made it unhealthy; 0 while healthy or unchecked. */
  unhealthySince = 0
  constructor(config: EndpointConfig) {
    this.address = config.address
    this.host = config.host
    this.port = config.port
    this.weight = config.weight
  }
}

export class UpstreamCluster {
  readonly route: RouteConfig
  /** Picks made in panic mode: nothing was eligible, so an unhealthy or ejected endpoint was tried. */
  panics = 0
  /** connect() calls that failed with UpstreamUnavailableError. */
  unavailable = 0
  readonly #endpoints: readonly EndpointState[]
  readonly #byAddress: ReadonlyMap<string, EndpointState>
  readonly #mask: Uint8Array
  readonly #balancer: Balancer
  readonly #clock: Clock
  readonly #logger: UpstreamLogger
  readonly #checker: HealthChecker | undefined
  /** One per cluster: a flow's connect carries its own state as the attempt's token. */
  readonly #waiter: ConnectWaiter<FlowConnect> = {
    connected: (socket, flow) => this.#connected(flow, socket),
    failed: (error, flow) => this.#failed(flow, error),
  }

  constructor(route: RouteConfig, deps: UpstreamClusterDeps) {
    if (route.target.kind !== 'endpoints') throw new UpstreamTargetKindError(route.name, route.target.kind)
    this.route = route
    this.#endpoints = route.target.endpoints.map((config) => new EndpointState(config))
    this.#byAddress = indexByAddress(route.name, this.#endpoints)
    this.#mask = new Uint8Array(this.#endpoints.length)
    const random = deps.random ?? Math.random
    const keys = this.#endpoints.map((endpoint) => endpoint.address)
    this.#balancer = createBalancer(route.lb, keys, random)
    this.#clock = deps.clock
    this.#logger = deps.logger
    this.#checker = route.healthCheck && this.#createChecker(route.healthCheck, random)
  }

  connect(sourceIp: string): Promise<EndpointConnection> {
    return new Promise((resolve, reject) => this.#attempt(new FlowConnect(sourceIp, resolve, reject)))
  }

  /** The next attempt of a flow's connect, or its failure once nothing is left to try. */
  #attempt(flow: FlowConnect): void {
    const index = flow.attempts > Math.max(0, this.route.retries) ? -1 : this.#pick(flow.sourceIp, flow.tried)
    if (index < 0) {
      this.unavailable++
      flow.reject(new UpstreamUnavailableError(this.route.name, flow.failed ?? []))
      return
    }
    const endpoint = this.#endpoints[index]!
    flow.attempts++
    flow.index = index
    flow.startedAt = this.#clock.now()
    endpoint.active++
    openTcp(endpoint.host, endpoint.port, this.route.connectTimeoutMs, this.#waiter, flow)
  }

  #connected(flow: FlowConnect, socket: Socket): void {
    const endpoint = this.#endpoints[flow.index]!
    endpoint.total++
    recordSuccess(endpoint)
    flow.resolve({
      socket,
      endpoint: endpoint.address,
      attempts: flow.attempts,
      connectMs: this.#clock.now() - flow.startedAt,
    })
  }

  #failed(flow: FlowConnect, error: UpstreamConnectError | UpstreamConnectTimeoutError): void {
    const endpoint = this.#endpoints[flow.index]!
    endpoint.active--
    this.#onConnectFailure(flow.index, error.reason)
    flow.tried ??= []
    flow.tried.push(flow.index)
    flow.failed ??= []
    flow.failed.push({ endpoint: endpoint.address, reason: error.reason })
    this.#attempt(flow)
  }

  /**
   * An endpoint for a datagram session, picked as a connect would pick it, counted active until
   * release(). Undefined when no endpoint may be used. Datagrams have no handshake to fail, so no
   * retry and no outlier accounting here.
   */
  lease(
    sourceIp: string,
  ): { readonly address: string; readonly host: string; readonly port: number } | undefined {
    const index = this.#pick(sourceIp, undefined)
    if (index < 0) return undefined
    const endpoint = this.#endpoints[index]!
    endpoint.active++
    endpoint.total++
    return endpoint
  }

  /** The flow on `endpoint` ended. Unknown addresses are ignored: release must never throw in cleanup. */
  release(endpoint: string): void {
    const state = this.#byAddress.get(endpoint)
    if (state && state.active > 0) state.active--
  }

  /** Starts active health checks, when the route configures them. */
  start(): void {
    this.#checker?.start()
  }

  /** Stops health checks; idempotent. Flows already connected are the flow code's to end. */
  close(): void {
    this.#checker?.stop()
  }

  status(): EndpointStatus[] {
    const now = this.#clock.now()
    return this.#endpoints.map((e) => {
      const ejected = e.ejectedUntil > now
      return {
        address: e.address,
        weight: e.weight,
        health: e.health,
        ejected,
        ejectedUntil: ejected ? new Date(e.ejectedUntil).toISOString() : undefined,
        ejections: e.ejections,
        ...(e.lastCheckAt > 0 && {
          lastCheck: { at: new Date(e.lastCheckAt).toISOString(), ok: e.lastCheckOk },
        }),
        ...(e.unhealthySince > 0 && { unhealthySince: new Date(e.unhealthySince).toISOString() }),
        activeConnections: e.active,
        totalConnections: e.total,
        connectFailures: e.connectFailures,
      }
    })
  }

  #pick(sourceIp: string, tried: readonly number[] | undefined): number {
    const now = this.#clock.now()
    const endpoints = this.#endpoints
    for (const endpoint of endpoints) {
      if (expireEjection(endpoint, now))
        this.#logger.warn(this.#logFields(endpoint), 'upstream endpoint returned')
    }
    if (markEligible(endpoints, tried, now, this.#mask) === 0) {
      if (markUntried(endpoints, tried, this.#mask) === 0) return -1
      this.panics++
    }
    return this.#balancer.pick(endpoints, this.#mask, sourceIp)
  }

  #onConnectFailure(index: number, reason: ConnectFailureReason): void {
    const endpoint = this.#endpoints[index]!
    endpoint.connectFailures++
    const now = this.#clock.now()
    if (recordFailure(this.#endpoints, index, now, this.route.outlierDetection)) {
      const until = new Date(endpoint.ejectedUntil).toISOString()
      this.#logger.warn(
        { ...this.#logFields(endpoint), reason, ejections: endpoint.ejections, until },
        'upstream endpoint ejected',
      )
    } else {
      this.#logger.debug({ ...this.#logFields(endpoint), reason }, 'upstream connect failed')
    }
  }

  #createChecker(config: HealthCheckConfig, random: RandomSource): HealthChecker {
    return new HealthChecker({
      targets: this.#endpoints,
      config,
      random,
      onResult: (index, ok) => this.#onHealthResult(index, ok),
    })
  }

  #onHealthResult(index: number, ok: boolean): void {
    const endpoint = this.#endpoints[index]!
    endpoint.lastCheckAt = this.#clock.now()
    endpoint.lastCheckOk = ok
    const { rise, fall } = this.route.healthCheck!
    const next = nextHealth({ health: endpoint.health, streak: endpoint.healthStreak }, ok, rise, fall)
    endpoint.healthStreak = next.streak
    if (next.health === endpoint.health) return
    const from = endpoint.health
    endpoint.health = next.health
    endpoint.unhealthySince = next.health === 'unhealthy' ? endpoint.lastCheckAt : 0
    if (from === 'unchecked' && next.health === 'healthy') return
    this.#logger.warn(
      { ...this.#logFields(endpoint), from, to: next.health },
      'upstream endpoint health changed',
    )
  }

  #logFields(endpoint: EndpointState): { route: string; endpoint: string } {
    return { route: this.route.name, endpoint: endpoint.address }
  }
}

function indexByAddress(route: string, endpoints: readonly EndpointState[]): Map<string, EndpointState> {
  const map = new Map<string, EndpointState>()
  for (const endpoint of endpoints) {
    if (map.has(endpoint.address)) throw new UpstreamDuplicateEndpointError(route, endpoint.address)
    map.set(endpoint.address, endpoint)
  }
  return map
}
