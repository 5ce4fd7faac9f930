/**
 * The scheduler's state machine, free of gRPC and HTTP: nodes attach with a hello and a sink to
 * send them sets, reports and acks come in, and every change that can move a path triggers a
 * recompute that pushes each connected node its set when its content changed.
 *
 * Recompute triggers: a node attaching or detaching and a service change run it at once; report
 * arrivals go through a throttle (at most one per push_debounce), but a node's first report on its
 * connection runs it at once while the rule below holds something back; a periodic tick times out
 * silent nodes, renews sets that have lived half their TTL and asks for the capacity probes due.
 *
 * Every plan passes through one rule before anything is sent (plan/guard.ts): no set takes a
 * working route away for what the scheduler does not know (plan/knowledge.ts). While a node or
 * route is held by it, a timer plans again when the view would change by itself (a grace ends).
 *
 * Directives (probe, drain) go down a node's stream at an operator's request, or for automatic
 * capacity probes (plan/probes.ts); only the replica a node is connected to can send it one.
 */
import { randomUUID } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import type { DynproxyError } from '../errors/base.ts'
import {
  SchedulerNodeNoLinksError,
  SchedulerNodeNotConnectedError,
  SchedulerNodeNotFoundError,
  SchedulerNodeSupersededError,
  SchedulerNodeTimeoutError,
  SchedulerStoppingError,
} from '../errors/scheduler.ts'
import {
  compareVersions,
  formatVersion,
  type InstructionRoute,
  type InstructionSet,
  type InstructionVersion,
} from '../instructions/types.ts'
import type { Logger } from '../log/logger.ts'
import type { Clock } from '../util/clock.ts'
import { type ChunkedRun, runInChunks } from './chunked.ts'
import { normalizeService } from './config/load.ts'
import type { ServiceDocument } from './config/schema.ts'
import type { SchedulerSettings, ServiceSpec } from './config/types.ts'
import type { EventInput } from './console/events.ts'
import { buildGraph, type GraphNodeInput, KeptGraph } from './mesh-graph.ts'
import type { PathEngine } from './plan/engine.ts'
import { guardPlan, type HeldRoutes } from './plan/guard.ts'
import { inheritedChoices } from './plan/inherit.ts'
import {
  buildInstructionSet,
  buildInstructionSets,
  contentKeyOf,
  type LastPushed,
  needsPush,
  type PathSigner,
  plannedRoutesOf,
  type UnsignablePath,
} from './plan/instructions.ts'
import type { Knowledge, KnowledgeRules } from './plan/knowledge.ts'
import type { PathTraffic } from './plan/path-weights.ts'
import {
  type Plan,
  type PlanContext,
  type PlannedRoute,
  plan,
  planIngress,
  selectionKey,
} from './plan/planner.ts'
import { askedKey, dueProbe, expiredAsks, type ProbeRequest } from './plan/probes.ts'
import { reportedTraffic } from './plan/traffic.ts'
import { type NodeHello, type NodeLoad, NodeRegistry, type NodeRouteReport, silentNodes } from './registry.ts'
import { logGuardChanges, registryKnowledge } from './rule.ts'
import type { NodeAckRecord, SchedulerStore } from './store/types.ts'
import { type LinkSample, LinkTable, type LinkView } from './telemetry.ts'
import { Throttle, type Timers } from './throttle.ts'

/** What the scheduler can ask of a node besides routes; `timeoutMs: 0` leaves the node's own. */
export type NodeDirective =
  | { readonly kind: 'drain'; readonly timeoutMs: number }
  | { readonly kind: 'undrain' }
  | { readonly kind: 'probe'; readonly peers: readonly string[] }

/** Where a node's sets and directives go: the gRPC stream, in production. */
export interface NodeSink {
  send(set: InstructionSet): void
  direct(directive: NodeDirective): void
  /** Ends the stream with this error. */
  close(err: DynproxyError): void
}

export interface NodeSession {
  readonly nodeId: string
  readonly session: number
}

export interface Welcome {
  readonly schedulerId: string
  readonly epoch: number
  readonly heartbeatIntervalMs: number
  readonly reportIntervalMs: number
  /** Where operators open this scheduler's console. */
  readonly consoleUrl?: string
}

/**
 * Who hears what the core does, for the operators' timeline and console (console/monitor.ts):
 * told, never asked, so that watching changes nothing.
 */
export interface CoreObserver {
  event(input: EventInput): void
  /** A recompute replaced the plan (the old one first). */
  planned(before: Plan, after: Plan): void
  /** The welcome's console address, once the API listens. */
  consoleUrl(): string | undefined
}

export interface RecomputeStats {
  readonly count: number
  readonly pushes: number
  readonly lastAt?: number
  readonly lastDurationMs?: number
  readonly lastReason?: string
}

/** A set the leader published for a node, as every replica reads it back from the store. */
export interface PublishedSet extends LastPushed {
  readonly set: InstructionSet
}

/**
 * Replicas sharing an etcd store (ha/etcd-cluster.ts): only the leader plans, for the nodes of every
 * replica, and publishes each node's set to the store; every replica sends its own nodes the
 * published sets (deliver). Absent with one scheduler: the core plans for its nodes and sends.
 */
export interface Cluster {
  /** This replica is the leader: it plans and publishes. */
  leading(): boolean
  /** Every replica's connected nodes and their links: what the leader plans with. */
  view(now: number): { readonly nodes: readonly GraphNodeInput[]; readonly links: readonly LinkView[] }
  /**
   * Leader only: publishes a set for each node whose last set has other content or is older
   * than half the TTL; `build` makes them all at once, each with the version it is given.
   */
  publish(
    contents: readonly { readonly nodeId: string; readonly contentKey: string }[],
    now: number,
    build: (
      due: readonly { readonly nodeId: string; readonly version: InstructionVersion }[],
    ) => InstructionSet[],
  ): void
  /** The node's set as stored: what replicas deliver and what a resuming node must hold. */
  published(nodeId: string): PublishedSet | undefined
  /** Leader: the set it last decided for the node (being written, else stored): what the node holds. */
  lastSet(nodeId: string): InstructionSet | undefined
  /** Leader: what is known of every node, from the replicas' telemetry (plan/knowledge.ts). */
  knowledge(now: number, rules: KnowledgeRules): Knowledge & { readonly until: number }
  /** One of this replica's nodes connected, reported or left: tells the leader. */
  nodeChanged(nodeId: string): void
  /** Every replica's connected nodes, with the replica serving each: for the API's views. */
  sharedNodes(): readonly SharedNode[]
}

export interface SharedNode {
  readonly id: string
  readonly region: string
  readonly replica: string
}

export interface CoreOptions {
  readonly settings: SchedulerSettings
  readonly store: SchedulerStore
  readonly engine: PathEngine
  readonly signer: PathSigner
  readonly epoch: number
  readonly acks: ReadonlyMap<string, NodeAckRecord>
  readonly services: readonly ServiceDocument[]
  readonly logger: Logger
  readonly clock: Clock
  readonly timers: Timers
  /** Set with store: etcd; see Cluster. */
  readonly cluster?: Cluster
  readonly observer?: CoreObserver
}

/**
 * Sets built per turn of the event loop in a recompute: the first ones go out while the rest are
 * built (chunked.ts), and their tokens are signed together. Small meshes are served in one turn.
 */
export const PUSH_CHUNK = 250

/** Silent this many heartbeat intervals: the node is hung or cut off. */
export const MISSED_HEARTBEATS = 3
/** Link data older than this many report intervals counts as down. */
export const STALE_REPORTS = 3
/**
 * A node whose replica's lease lapsed counts as gone after this many grace times: its replica may
 * only be cut off from etcd, and links reported down by the nodes around it remove its paths first.
 */
export const UNHEARD_GRACES = 4

export class SchedulerCore {
  readonly registry = new NodeRegistry()
  readonly links = new LinkTable()
  readonly epoch: number
  readonly startedAt: number
  readonly #o: CoreOptions
  readonly #services = new Map<string, { doc: ServiceDocument; spec: ServiceSpec }>()
  readonly #sinks = new Map<string, { session: number; sink: NodeSink }>()
  readonly #lastPushed = new Map<string, LastPushed>()
  readonly #throttle: Throttle
  readonly #unwatch: () => void
  #counter = 0
  #plan: Plan = { routes: new Map(), selections: [], choices: new Map(), weights: new Map() }
  readonly #graph = new KeptGraph()
  #stats: RecomputeStats = { count: 0, pushes: 0 }
  #pushing: ChunkedRun | undefined
  #tick: unknown
  /** What each node was last sent, as planned: what the guard compares the next plan with. */
  readonly #lastRoutes = new Map<string, readonly PlannedRoute[]>()
  /** Nodes the guard sends nothing for now, and routes it keeps paths of (`node/route`). */
  #held: ReadonlyMap<string, string> = new Map()
  #kept: readonly string[] = []
  #knowledgeTimer: unknown
  /** When each link (plan/probes.ts askedKey) was last asked to be probed, and the last ask. */
  readonly #probesAsked = new Map<string, number>()
  #lastProbeAt: number | undefined
  #stopped = false

  constructor(o: CoreOptions) {
    this.#o = o
    this.epoch = o.epoch
    this.startedAt = o.clock.now()
    for (const [id, ack] of o.acks) this.#lastPushed.set(id, ack)
    for (const doc of o.services) this.#services.set(doc.name, { doc, spec: normalizeService(doc) })
    this.#throttle = new Throttle(
      o.settings.pushDebounceMs,
      () => this.recompute('report'),
      o.timers,
      () => o.clock.now(),
    )
    this.#unwatch = o.store.watchServices((change) => {
      if (change.kind === 'put') {
        this.#services.set(change.service.name, {
          doc: change.service,
          spec: normalizeService(change.service),
        })
      } else this.#services.delete(change.name)
      this.#serviceChanged(change.kind === 'put' ? change.service.name : change.name, change.kind)
      this.#recomputeNow(
        `service ${change.kind === 'put' ? change.service.name : change.name} ${change.kind}`,
      )
    })
  }

  get counter(): number {
    return this.#counter
  }

  /** With a cluster: whether this replica leads (plans); a lone scheduler always does. */
  get leading(): boolean {
    return this.#o.cluster?.leading() ?? true
  }

  get stats(): RecomputeStats {
    return this.#stats
  }

  /** With scheduler HA: what the replicas share through the store. */
  get cluster(): Cluster | undefined {
    return this.#o.cluster
  }

  get currentPlan(): Plan {
    return this.#plan
  }

  start(): void {
    const { heartbeatIntervalMs, instructionTtlMs } = this.#o.settings
    const every = Math.max(50, Math.min(heartbeatIntervalMs / 2, instructionTtlMs / 4))
    const loop = () => {
      this.tick()
      if (!this.#stopped) this.#tick = this.#o.timers.setTimeout(loop, every)
    }
    this.#tick = this.#o.timers.setTimeout(loop, every)
  }

  welcome(): Welcome {
    const s = this.#o.settings
    const consoleUrl = this.#o.observer?.consoleUrl()
    return {
      schedulerId: s.id,
      epoch: this.epoch,
      heartbeatIntervalMs: s.heartbeatIntervalMs,
      reportIntervalMs: s.reportIntervalMs,
      ...(consoleUrl && { consoleUrl }),
    }
  }

  #serviceChanged(name: string, kind: 'put' | 'delete'): void {
    this.#o.observer?.event(
      kind === 'put'
        ? { kind: 'service_put', message: `service ${name} stored`, service: name }
        : { kind: 'service_deleted', message: `service ${name} deleted`, service: name },
    )
  }

  /** Registers a node whose stream just said hello; sends its set unless it already has it. */
  attach(hello: NodeHello, sink: NodeSink): NodeSession {
    if (this.#stopped) {
      sink.close(new SchedulerStoppingError())
      return { nodeId: hello.id, session: 0 }
    }
    const previous = this.#sinks.get(hello.id)
    const session = this.registry.hello(hello, this.#now())
    this.#sinks.set(hello.id, { session, sink })
    previous?.sink.close(new SchedulerNodeSupersededError(hello.id))
    // With a cluster the stored set decides: the node may come from another replica.
    const cluster = this.#o.cluster
    const last = cluster ? cluster.published(hello.id) : this.#lastPushed.get(hello.id)
    const resumes =
      last !== undefined &&
      hello.appliedVersion !== undefined &&
      compareVersions(last.version, hello.appliedVersion) === 0
    if (resumes) this.registry.resumed(hello.id, session, last.version)
    if (resumes && cluster) this.#lastPushed.set(hello.id, last)
    if (!resumes) {
      this.#lastPushed.delete(hello.id)
      this.#lastRoutes.delete(hello.id)
    }
    this.#o.logger.info(
      {
        node: hello.id,
        region: hello.region,
        applied: hello.appliedVersion && formatVersion(hello.appliedVersion),
        resumes,
      },
      'node connected',
    )
    this.#o.observer?.event({
      kind: 'node_connected',
      message: `node ${hello.id} (${hello.region}) connected${resumes ? ', resuming its set' : ''}`,
      nodes: [hello.id],
      detail: { region: hello.region, resumes },
    })
    cluster?.nodeChanged(hello.id)
    // Through the throttle: nodes reconnecting together after a scheduler restart cost one
    // recompute per push_debounce, not one each.
    this.#throttle.runOrRequest()
    return { nodeId: hello.id, session }
  }

  detach(s: NodeSession, reason: string): void {
    const current = this.#sinks.get(s.nodeId)
    if (current?.session === s.session) this.#sinks.delete(s.nodeId)
    if (!this.registry.disconnect(s.nodeId, s.session, this.#now(), reason)) return
    this.links.nodeGone(s.nodeId)
    this.#o.cluster?.nodeChanged(s.nodeId)
    this.#o.logger.info({ node: s.nodeId, reason }, 'node disconnected')
    this.#o.observer?.event({
      kind: 'node_disconnected',
      message: `node ${s.nodeId} disconnected: ${reason}`,
      nodes: [s.nodeId],
      detail: { reason },
    })
    if (!this.#stopped) this.#throttle.runOrRequest()
  }

  heartbeat(s: NodeSession, load: NodeLoad | undefined): void {
    this.registry.heartbeat(s.nodeId, s.session, this.#now(), load)
  }

  report(
    s: NodeSession,
    links: readonly LinkSample[],
    load: NodeLoad | undefined,
    routes: readonly NodeRouteReport[] = [],
  ): void {
    if (!this.#isCurrent(s)) return
    const now = this.#now()
    const first = this.registry.get(s.nodeId)?.lastReportAt === undefined
    this.registry.reported(s.nodeId, s.session, now)
    if (load) this.registry.load(s.nodeId, s.session, load)
    if (routes.length > 0) this.registry.routes(s.nodeId, s.session, routes)
    this.links.record(s.nodeId, links, now)
    this.#o.cluster?.nodeChanged(s.nodeId)
    // Its first report makes the node known: what the rule holds back for it should not wait.
    const waiting = this.#held.size > 0 || this.#kept.length > 0
    if (first && waiting) this.#recomputeNow(`node ${s.nodeId} reported`)
    else this.#throttle.request()
  }

  ack(s: NodeSession, version: InstructionVersion): void {
    if (!this.#isCurrent(s)) return
    this.registry.seen(s.nodeId, s.session, this.#now())
    this.registry.ack(s.nodeId, s.session, version)
    const last = this.#lastPushed.get(s.nodeId)
    if (last && compareVersions(last.version, version) === 0) {
      this.#o.store.setNodeAck(s.nodeId, last).catch((err: unknown) => {
        this.#o.logger.error({ err, node: s.nodeId }, 'failed to persist an ack')
      })
    }
  }

  nack(s: NodeSession, version: InstructionVersion, error: string): void {
    if (!this.#isCurrent(s)) return
    const now = this.#now()
    this.registry.seen(s.nodeId, s.session, now)
    this.registry.nack(s.nodeId, s.session, { version, error, at: now })
    this.#o.logger.warn(
      { node: s.nodeId, version: formatVersion(version), error },
      'node refused an instruction set',
    )
    this.#o.observer?.event({
      kind: 'nack',
      message: `node ${s.nodeId} refused set ${formatVersion(version)}: ${error}`,
      nodes: [s.nodeId],
      detail: { version: formatVersion(version), error },
    })
  }

  /**
   * Times out silent nodes, forgets those disconnected for `forget_after`, renews sets at half
   * their TTL and asks for a capacity probe if one is due.
   */
  tick(): void {
    const now = this.#now()
    this.#forget(now)
    const limit = MISSED_HEARTBEATS * this.#o.settings.heartbeatIntervalMs
    for (const node of silentNodes(this.registry.connected(), now, limit)) {
      const err = new SchedulerNodeTimeoutError(node.id, now - node.lastSeenAt)
      this.#o.logger.warn({ node: node.id, code: err.code }, err.message)
      this.#sinks.get(node.id)?.sink.close(err)
      this.detach({ nodeId: node.id, session: node.session }, 'heartbeat timeout')
    }
    const half = this.#o.settings.instructionTtlMs / 2
    const old = (last: LastPushed | undefined) => now - (last?.issuedAt ?? Number.NEGATIVE_INFINITY) >= half
    const cluster = this.#o.cluster
    // With a cluster the leader renews the stored sets of every replica's nodes; others wait.
    const due = cluster
      ? cluster.leading() &&
        cluster
          .view(now)
          .nodes.some((n) => n.connected && !this.#held.has(n.id) && old(cluster.published(n.id)))
      : this.registry.connected().some((n) => !this.#held.has(n.id) && old(this.#lastPushed.get(n.id)))
    if (due) this.#recomputeNow('renewal')
    this.#probeCapacities(now)
  }

  #forget(now: number): void {
    for (const id of this.registry.forget(now, this.#o.settings.forgetAfterMs)) {
      this.links.forget(id)
      this.#lastPushed.delete(id)
      this.#lastRoutes.delete(id)
      this.#o.cluster?.nodeChanged(id)
      this.#o.logger.info({ node: id }, 'node forgotten: disconnected for longer than forget_after')
    }
  }

  /**
   * Asks a node connected to this replica to measure its links to `peers`; by default, to every
   * peer it reported a link to. Returns what was asked.
   */
  probe(nodeId: string, peers?: readonly string[]): ProbeRequest {
    const sink = this.#sinkOf(nodeId)
    const asked = peers ?? this.links.peersOf(nodeId)
    if (asked.length === 0) throw new SchedulerNodeNoLinksError(nodeId)
    const now = this.#now()
    for (const peer of asked) this.#probesAsked.set(askedKey(nodeId, peer), now)
    this.#lastProbeAt = now
    sink.direct({ kind: 'probe', peers: asked })
    this.#o.observer?.event({
      kind: 'probe',
      message: `asked node ${nodeId} to probe its links to ${asked.join(', ')}`,
      nodes: [nodeId, ...asked],
      detail: { peers: asked },
    })
    return { node: nodeId, peers: asked }
  }

  /** Asks a node connected to this replica to stop accepting flows. */
  drain(nodeId: string, timeoutMs: number): void {
    this.#sinkOf(nodeId).direct({ kind: 'drain', timeoutMs })
    const cut = timeoutMs > 0 ? `, cutting flows after ${timeoutMs}ms` : ''
    this.#o.observer?.event({
      kind: 'drain',
      message: `asked node ${nodeId} to drain${cut}`,
      nodes: [nodeId],
      detail: { timeoutMs },
    })
  }

  /** Asks a node connected to this replica to accept flows again after a drain. */
  undrain(nodeId: string): void {
    this.#sinkOf(nodeId).direct({ kind: 'undrain' })
    this.#o.observer?.event({
      kind: 'undrain',
      message: `asked node ${nodeId} to accept flows again`,
      nodes: [nodeId],
    })
  }

  /** The sink of a node connected here, or the error that says where it is. */
  #sinkOf(nodeId: string): NodeSink {
    const target = this.#sinks.get(nodeId)
    if (target) return target.sink
    const replica = this.#o.cluster
      ?.sharedNodes()
      .find((n) => n.id === nodeId && n.replica !== this.#o.settings.id)
    if (replica) throw new SchedulerNodeNotConnectedError(nodeId, replica.replica)
    if (this.registry.get(nodeId)) throw new SchedulerNodeNotConnectedError(nodeId)
    throw new SchedulerNodeNotFoundError(nodeId)
  }

  /**
   * With a cluster only the leader asks, and only the nodes connected to it: one replica decides,
   * so the spacing holds across the mesh. Other replicas' nodes are probed on request only.
   */
  #probeCapacities(now: number): void {
    const settings = this.#o.settings.capacityProbe
    if (this.#stopped || !this.leading) return
    for (const key of expiredAsks(this.#probesAsked, now, settings.intervalMs)) this.#probesAsked.delete(key)
    const staleAfterMs = STALE_REPORTS * this.#o.settings.reportIntervalMs
    const due = dueProbe({
      specs: this.specs(),
      links: () => this.links.list(now, staleAfterMs),
      reachable: this.#sinks,
      asked: this.#probesAsked,
      lastAt: this.#lastProbeAt,
      now,
      settings,
    })
    if (due === undefined) return
    this.#o.logger.info(
      { node: due.node, peers: due.peers },
      'asking a node to probe links of unknown capacity',
    )
    this.probe(due.node, due.peers)
  }

  recompute(reason: string): void {
    if (this.#stopped) return
    const started = performance.now()
    const now = this.#now()
    const cluster = this.#o.cluster
    if (!cluster || cluster.leading()) {
      const k = this.#knowledge(now)
      const ctx = {
        ...this.#planContext(now),
        traffic: this.#reportedTraffic(),
        unknownNodes: k.unknownNodes(),
      }
      const previous = this.#plan
      this.#plan = this.#guard(plan(this.specs(), ctx, this.#plan.choices, this.#plan.weights), now, k)
      this.#o.observer?.planned(previous, this.#plan)
      if (cluster) this.#publishAll(cluster, now)
    }
    const planMs = performance.now() - started
    const before = this.#stats
    const nodes = this.registry.connected().filter((n) => !this.#held.has(n.id))
    // A newer plan supersedes what is left of the last one: its nodes get the newer sets.
    this.#pushing?.cancel()
    this.#pushing = runInChunks(
      nodes,
      PUSH_CHUNK,
      this.#o.timers,
      (chunk) => this.#push(chunk, now),
      (busyMs, pushes, finished) => {
        this.#stats = {
          count: before.count + 1,
          pushes: before.pushes + pushes,
          lastAt: now,
          lastDurationMs: planMs + busyMs,
          lastReason: reason,
        }
        if (finished) this.#o.logger.debug({ reason, pushes }, 'recomputed paths')
      },
    )
  }

  /** The plan as it may be sent: the rule of plan/guard.ts applied to every node it goes to. */
  #guard(planned: Plan, now: number, k: Knowledge & { readonly until: number }): Plan {
    const cluster = this.#o.cluster
    const nodes = cluster
      ? cluster
          .view(now)
          .nodes.filter((n) => n.connected)
          .map((n) => n.id)
      : this.registry.connected().map((n) => n.id)
    const specs = new Map([...this.#services.values()].map(({ spec }) => [spec.name, spec]))
    const guarded = guardPlan(planned, this.#plan.choices, nodes, (id) => this.#heldRoutes(id), k, specs)
    logGuardChanges(this.#o.logger, { held: this.#held, kept: this.#kept }, guarded)
    this.#held = guarded.held
    this.#kept = guarded.kept
    const waiting = guarded.held.size > 0 || guarded.kept.length > 0
    this.#planAgainAt(waiting ? k.until : Number.POSITIVE_INFINITY, now)
    return guarded.plan
  }

  /** What is known of every node now (plan/knowledge.ts): the leader's from every replica's telemetry. */
  #knowledge(now: number): Knowledge & { readonly until: number } {
    const cluster = this.#o.cluster
    const rules = this.#knowledgeRules()
    return cluster
      ? cluster.knowledge(now, rules)
      : registryKnowledge(this.registry, this.links, [...this.#o.acks.keys()], this.startedAt, now, rules)
  }

  #knowledgeRules(): KnowledgeRules {
    const s = this.#o.settings
    return {
      graceMs: s.nodeGraceMs,
      unheardMs: UNHEARD_GRACES * s.nodeGraceMs,
      firstReportMs: 2 * s.reportIntervalMs,
      staleAfterMs: STALE_REPORTS * s.reportIntervalMs,
    }
  }

  /** What the node holds: the routes last sent it, `unreadable` when it holds a set this process did not send. */
  #heldRoutes(nodeId: string): HeldRoutes | undefined {
    const cluster = this.#o.cluster
    if (cluster) {
      const set = cluster.lastSet(nodeId)
      return set && plannedRoutesOf(nodeId, set)
    }
    const routes = this.#lastRoutes.get(nodeId)
    if (routes) return routes
    return this.registry.get(nodeId)?.appliedVersion === undefined ? undefined : 'unreadable'
  }

  /** One timer: the next recompute the view would call for by itself (a grace time ending). */
  #planAgainAt(at: number, now: number): void {
    if (this.#knowledgeTimer !== undefined) this.#o.timers.clearTimeout(this.#knowledgeTimer)
    this.#knowledgeTimer = undefined
    if (!Number.isFinite(at) || this.#stopped) return
    this.#knowledgeTimer = this.#o.timers.setTimeout(
      () => {
        this.#knowledgeTimer = undefined
        this.#recomputeNow('the view changed: a node is known or gone now')
      },
      Math.max(0, at - now) + 1,
    )
  }

  /** The route a node should use for a flow on (listener, port), computed now from the services. */
  resolve(
    nodeId: string,
    listener: string,
    port: number,
  ): { route?: InstructionRoute; version?: InstructionVersion } {
    const node = this.registry.get(nodeId)
    const own = node?.listeners.find(
      (l) => (listener !== '' && l.name === listener) || (port !== 0 && l.port === port),
    )
    const names = new Set([listener, own?.name].filter((n): n is string => n !== undefined && n !== ''))
    const ports = new Set([port, own?.port].filter((p): p is number => p !== undefined && p !== 0))
    const version = this.#lastPushed.get(nodeId)?.version
    const ctx = this.#planContext(this.#now())
    for (const { spec } of this.#services.values()) {
      for (const point of spec.ingress) {
        if (point.node !== nodeId) continue
        if ('listener' in point ? !names.has(point.listener) : !ports.has(point.port)) continue
        const key = selectionKey(spec.name, point)
        const selection = planIngress(
          spec,
          point,
          ctx,
          this.#plan.choices.get(key),
          this.#plan.weights.get(key),
        )
        if (!selection.route) continue
        const set = buildInstructionSet(
          [selection.route],
          this.#buildOptions(version ?? { epoch: this.epoch, counter: this.#counter }),
          this.#o.signer,
          this.#onUnsignable,
        )
        return { ...(set.routes[0] && { route: set.routes[0] }), ...(version && { version }) }
      }
    }
    return version ? { version } : {}
  }

  specs(): ServiceSpec[] {
    return [...this.#services.values()].map((s) => s.spec).sort((a, b) => a.name.localeCompare(b.name))
  }

  serviceDocuments(): ServiceDocument[] {
    return [...this.#services.values()].map((s) => s.doc).sort((a, b) => a.name.localeCompare(b.name))
  }

  lastPushed(nodeId: string): LastPushed | undefined {
    return this.#lastPushed.get(nodeId)
  }

  /** Ends every stream with `unavailable`-like errors and stops the timers; idempotent. */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    this.#unwatch()
    this.#throttle.cancel()
    this.#pushing?.cancel()
    if (this.#tick !== undefined) this.#o.timers.clearTimeout(this.#tick)
    if (this.#knowledgeTimer !== undefined) this.#o.timers.clearTimeout(this.#knowledgeTimer)
    const sinks = [...this.#sinks.entries()]
    this.#sinks.clear()
    for (const [nodeId, { session, sink }] of sinks) {
      sink.close(new SchedulerStoppingError())
      this.registry.disconnect(nodeId, session, this.#now(), 'scheduler stopping')
    }
  }

  #recomputeNow(reason: string): void {
    this.#throttle.ranNow()
    this.recompute(reason)
  }

  /** With a cluster: the store says a node's set changed; sends it if the node is ours. */
  deliver(nodeId: string): void {
    const node = this.registry.get(nodeId)
    if (this.#stopped || !node?.connected) return
    this.#push([{ id: nodeId, session: node.session }], this.#now())
  }

  /** This replica now leads: it plans from the paths in force (plan/inherit.ts), then at once. */
  tookOver(): void {
    const cluster = this.#o.cluster
    if (cluster === undefined || this.#stopped) return
    const now = this.#now()
    const sets = cluster.view(now).nodes.flatMap((n) => {
      const stored = cluster.published(n.id)
      return stored === undefined ? [] : [[n.id, stored.set] as const]
    })
    this.#plan = { ...this.#plan, choices: inheritedChoices(sets, now) }
    this.clusterChanged('this replica became the leader', true)
  }

  /** With a cluster: another replica's node came, went (`urgent`) or reported (debounced). */
  clusterChanged(reason: string, urgent: boolean): void {
    if (this.#stopped) return
    if (urgent) this.#recomputeNow(reason)
    else this.#throttle.request()
  }

  /** Leader: every connected node of every replica gets a set, relays an empty one. */
  #publishAll(cluster: Cluster, now: number): void {
    const publicKey = this.#o.signer.publicKey
    const contents = cluster.view(now).nodes.flatMap((node) => {
      if (!node.connected || this.#held.has(node.id)) return []
      return [{ nodeId: node.id, contentKey: contentKeyOf(this.#routesOf(node.id), publicKey) }]
    })
    cluster.publish(contents, now, (due) =>
      buildInstructionSets(
        due.map(({ nodeId, version }) => ({
          routes: this.#routesOf(nodeId),
          options: this.#buildOptions(version),
        })),
        this.#o.signer,
        this.#onUnsignable,
      ),
    )
  }

  #routesOf(nodeId: string) {
    return this.#plan.routes.get(nodeId) ?? []
  }

  /** Sends the stored set unless the node has it or a later one: versions never go back. */
  #deliverStored(cluster: Cluster, nodeId: string, sink: NodeSink, session: number): boolean {
    const stored = cluster.published(nodeId)
    const last = this.#lastPushed.get(nodeId)
    if (!stored || (last && compareVersions(stored.version, last.version) <= 0)) return false
    const { set, ...pushed } = stored
    this.#lastPushed.set(nodeId, pushed)
    this.registry.sent(nodeId, session, stored.version)
    sink.send(set)
    return true
  }

  /** Sends each node of `nodes` its set if its content changed or is due renewal; returns how many got one. */
  #push(nodes: readonly { readonly id: string; readonly session: number }[], now: number): number {
    const cluster = this.#o.cluster
    let sent = 0
    const due: { nodeId: string; session: number; sink: NodeSink; pushed: LastPushed }[] = []
    for (const { id, session } of nodes) {
      const target = this.#sinks.get(id)
      if (target?.session !== session) continue
      if (cluster) {
        if (this.#deliverStored(cluster, id, target.sink, session)) sent++
        continue
      }
      const contentKey = contentKeyOf(this.#routesOf(id), this.#o.signer.publicKey)
      if (!needsPush(this.#lastPushed.get(id), contentKey, now, this.#o.settings.instructionTtlMs)) continue
      const version = { epoch: this.epoch, counter: ++this.#counter }
      due.push({ nodeId: id, session, sink: target.sink, pushed: { version, contentKey, issuedAt: now } })
    }
    if (due.length === 0) return sent
    const sets = buildInstructionSets(
      due.map((d) => ({ routes: this.#routesOf(d.nodeId), options: this.#buildOptions(d.pushed.version) })),
      this.#o.signer,
      this.#onUnsignable,
    )
    for (const [i, d] of due.entries()) {
      this.#lastPushed.set(d.nodeId, d.pushed)
      this.#lastRoutes.set(d.nodeId, this.#routesOf(d.nodeId))
      this.registry.sent(d.nodeId, d.session, d.pushed.version)
      d.sink.send(sets[i] as InstructionSet)
    }
    return sent + due.length
  }

  readonly #onUnsignable = (path: UnsignablePath): void => {
    this.#o.logger.warn(
      { route: path.route, nodes: path.nodes, code: path.error.code },
      `path left out of its set: ${path.error.message}`,
    )
  }

  #buildOptions(version: InstructionVersion) {
    const s = this.#o.settings
    return {
      version,
      nonce: randomUUID(),
      ttlMs: s.instructionTtlMs,
      tokenTtlMs: s.pathTokenTtlMs,
      reportIntervalMs: s.reportIntervalMs,
      issuedAt: this.#now(),
    }
  }

  #planContext(now: number): PlanContext {
    const s = this.#o.settings
    const staleAfterMs = STALE_REPORTS * s.reportIntervalMs
    const cluster = this.#o.cluster
    // A cluster's view has no versions: it is rebuilt and compared each time.
    const key = cluster ? undefined : `${this.registry.version}|${this.links.version}`
    const graph = this.#graph.get(key, now, () => {
      const view = cluster?.view(now)
      const nodes =
        view?.nodes ??
        this.registry.list().map((n) => ({ id: n.id, region: n.region, connected: n.connected }))
      const links = view?.links ?? this.links.list(now, staleAfterMs)
      const validUntil = view ? Number.NEGATIVE_INFINITY : this.links.freshUntil(now, staleAfterMs)
      return { graph: buildGraph(nodes, links, s.linkCosts), validUntil }
    })
    return { graph, engine: this.#o.engine, now, hysteresis: s.hysteresis }
  }

  /**
   * What ingress nodes reported their multipath routes' paths sent. Only nodes that run the set
   * last planned for them count: their path indices then name the planned paths.
   */
  #reportedTraffic(): Map<string, PathTraffic> {
    const publicKey = this.#o.signer.publicKey
    const nodes = this.registry.connected().flatMap((n) => {
      const routes = (n.routes ?? []).filter((r) => r.paths.length > 0)
      const last = this.#lastPushed.get(n.id)
      const runs = last && n.appliedVersion && compareVersions(last.version, n.appliedVersion) === 0
      if (routes.length === 0 || !runs) return []
      if (contentKeyOf(this.#plan.routes.get(n.id) ?? [], publicKey) !== last.contentKey) return []
      return [{ id: n.id, appliedVersion: formatVersion(last.version), routes }]
    })
    return reportedTraffic(this.#plan.routes, nodes)
  }

  #isCurrent(s: NodeSession): boolean {
    return this.#sinks.get(s.nodeId)?.session === s.session
  }

  #now(): number {
    return this.#o.clock.now()
  }
}
