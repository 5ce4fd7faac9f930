/**
 * A scheduler replica's part in a cluster sharing one etcd (store: etcd). See docs/scheduler-ha.md.
 *
 * Every replica:
 * - writes each of its nodes to `<prefix>/telemetry/<node>` (region, last links) under its own
 *   lease, and that it left when it leaves: a dead (or cut off) replica's nodes vanish after the
 *   TTL, unless they reconnected elsewhere first, and count as unheard from, not as gone;
 * - reads every published set (`<prefix>/instructions/`, loaded then watched) and hands the core
 *   those of its own nodes to send (core.deliver);
 * - campaigns for leadership.
 * The leader alone plans, from every replica's telemetry, and publishes sets with versions
 * (epoch taken when it became leader, counter) in writes fenced on its campaign key.
 */
import type { Etcd3, IKeyValue, Lease, Watcher } from 'etcd3'
import { compareVersions, type InstructionSet, type InstructionVersion } from '../../instructions/types.ts'
import type { Logger } from '../../log/logger.ts'
import { RepeatLimiter } from '../../log/repeats.ts'
import type { Clock } from '../../util/clock.ts'
import type { EtcdStoreSettings } from '../config/types.ts'
import {
  type Cluster,
  type PublishedSet,
  type SchedulerCore,
  type SharedNode,
  STALE_REPORTS,
} from '../core.ts'
import type { GraphNodeInput } from '../mesh-graph.ts'
import { needsPush } from '../plan/instructions.ts'
import { type Knowledge, type KnowledgeRules, KnowledgeView, type NodeEvidence } from '../plan/knowledge.ts'
import type { EtcdStore } from '../store/etcd.ts'
import type { EtcdKeys } from '../store/etcd-keys.ts'
import { type LinkSample, LinkTable, type LinkView } from '../telemetry.ts'
import type { Timers } from '../throttle.ts'
import { evidenceOnRecord, evidenceOnVanished } from './evidence.ts'
import { keepaliveFresh, Leadership } from './leadership.ts'
import {
  decodePublished,
  decodeTelemetry,
  encodePublished,
  encodeTelemetry,
  type TelemetryRecord,
} from './records.ts'
import { RetryLoop } from './retry.ts'
import { SingleFlight } from './single-flight.ts'

export interface EtcdClusterOptions {
  readonly store: EtcdStore
  /** This replica's id (scheduler.id): must differ between replicas. */
  readonly replicaId: string
  readonly instructionTtlMs: number
  readonly reportIntervalMs: number
  readonly logger: Logger
  readonly clock: Clock
  readonly timers: Timers
}

/** While etcd fails, each kind of failure is logged at most once per this window, with a count. */
export const FAILURE_LOG_WINDOW_MS = 5000

export class EtcdCluster implements Cluster {
  readonly #o: EtcdClusterOptions
  readonly #client: Etcd3
  readonly #keys: EtcdKeys
  readonly #settings: EtcdStoreSettings
  readonly #ttlMs: number
  readonly #published = new Map<string, PublishedSet>()
  /** Leader: what it decided for each node, stored or still being written. */
  readonly #latest = new Map<string, PublishedSet>()
  readonly #telemetry = new Map<string, TelemetryRecord>()
  /** Evidence of every node seen through telemetry: present ones, and those whose key went away. */
  readonly #evidence = new Map<string, NodeEvidence>()
  /** When this replica last began to lead: nodes it has not seen since count from then. */
  #leadingSince = 0
  readonly #links = new LinkTable()
  readonly #watchers: Watcher[] = []
  readonly #writer: SingleFlight
  #core: SchedulerCore | undefined
  #leadership: Leadership | undefined
  #lease: Lease | undefined
  #lastKeepaliveAt = 0
  readonly #leaseRetry: RetryLoop
  readonly #repeats: RepeatLimiter
  #epoch = 0
  #counter = 0
  #stopped = false

  constructor(o: EtcdClusterOptions) {
    this.#o = o
    this.#client = o.store.client
    this.#keys = o.store.keys
    this.#settings = o.store.settings
    this.#ttlMs = o.store.settings.electionTtlSeconds * 1000
    this.#repeats = new RepeatLimiter({ logger: o.logger, clock: o.clock, windowMs: FAILURE_LOG_WINDOW_MS })
    this.#writer = new SingleFlight(
      (nodeId) => this.#writeTelemetry(nodeId),
      (nodeId, err) =>
        this.#repeats.warn('telemetry', { err, node: nodeId }, 'could not share node telemetry through etcd'),
    )
    this.#leaseRetry = new RetryLoop({
      attempt: () => this.#openLease(),
      onSuccess: () => {
        this.#o.logger.info('the replica lease is granted again: sharing every node under it')
        for (const node of this.#core?.registry.connected() ?? []) this.#writer.request(node.id)
      },
      onFailure: (err, failures, nextInMs) =>
        this.#repeats.warn(
          'lease',
          { err, failures, nextInMs },
          'could not grant the replica lease; retrying',
        ),
      baseMs: this.#ttlMs / 8,
      capMs: this.#ttlMs,
      timers: o.timers,
    })
  }

  /** Loads the published sets and telemetry, starts watching them, then campaigns. */
  async start(core: SchedulerCore): Promise<void> {
    this.#core = core
    await this.#openLease()
    await this.#follow(
      this.#keys.instructions,
      (kv) => this.#onPublished(kv),
      (kv) => this.#onUnpublished(kv),
    )
    await this.#follow(
      this.#keys.telemetry,
      (kv) => this.#onTelemetry(kv),
      (kv) => this.#onTelemetryGone(kv),
    )
    this.#leadership = new Leadership({
      election: this.#client
        .namespace(this.#keys.election)
        .election('leader', this.#settings.electionTtlSeconds),
      id: this.#o.replicaId,
      ttlMs: this.#ttlMs,
      healthy: () => keepaliveFresh(this.#lastKeepaliveAt, Date.now(), this.#ttlMs),
      prepare: async () => {
        this.#epoch = await this.#o.store.nextEpoch()
        this.#counter = 0
        this.#latest.clear()
      },
      onElected: () => {
        this.#leadingSince = this.#o.clock.now()
        this.#core?.tookOver()
      },
      onDeposed: () => this.#latest.clear(),
      logger: this.#o.logger,
      repeats: this.#repeats,
    })
  }

  leading(): boolean {
    return this.#leadership?.leading ?? false
  }

  /** The epoch of this replica's current leadership, 0 when it does not lead. */
  get leaderEpoch(): number {
    return this.leading() ? this.#epoch : 0
  }

  view(now: number): { readonly nodes: readonly GraphNodeInput[]; readonly links: readonly LinkView[] } {
    const nodes = [...this.#telemetry].map(([id, t]) => ({ id, region: t.region, connected: true }))
    return { nodes, links: this.#links.list(now, STALE_REPORTS * this.#o.reportIntervalMs) }
  }

  sharedNodes(): readonly SharedNode[] {
    return [...this.#telemetry].map(([id, t]) => ({ id, region: t.region, replica: t.replica }))
  }

  publish(
    contents: readonly { readonly nodeId: string; readonly contentKey: string }[],
    now: number,
    build: (
      due: readonly { readonly nodeId: string; readonly version: InstructionVersion }[],
    ) => InstructionSet[],
  ): void {
    const fence = this.#leadership?.fenceKey
    if (fence === undefined) return
    const due = contents.flatMap(({ nodeId, contentKey }) => {
      const last = this.#latest.get(nodeId) ?? this.#published.get(nodeId)
      if (!needsPush(last, contentKey, now, this.#o.instructionTtlMs)) return []
      return [{ nodeId, contentKey, version: { epoch: this.#epoch, counter: ++this.#counter } }]
    })
    if (due.length === 0) return
    const sets = build(due)
    for (const [i, { nodeId, contentKey, version }] of due.entries()) {
      const record: PublishedSet = { version, contentKey, issuedAt: now, set: sets[i] as InstructionSet }
      this.#latest.set(nodeId, record)
      void this.#write(nodeId, record, fence)
    }
  }

  published(nodeId: string): PublishedSet | undefined {
    return this.#published.get(nodeId)
  }

  lastSet(nodeId: string): InstructionSet | undefined {
    return (this.#latest.get(nodeId) ?? this.#published.get(nodeId))?.set
  }

  /**
   * Every node seen through telemetry, and every node a stored set names; none is known while
   * this replica's own keepalives fail (then the store cannot be trusted to be current).
   */
  knowledge(now: number, rules: KnowledgeRules): Knowledge & { readonly until: number } {
    const nodes = new Set([...this.#evidence.keys(), ...this.#published.keys()])
    for (const set of this.#published.values())
      for (const r of set.set.routes) for (const p of r.paths) for (const hop of p.hops) nodes.add(hop)
    return new KnowledgeView({
      evidence: (id) => this.#evidence.get(id),
      nodes: [...nodes],
      reportedDown: (from, to) => this.#links.reportedDown(from, to),
      viewStart: this.#leadingSince,
      storeReadable: keepaliveFresh(this.#lastKeepaliveAt, Date.now(), this.#ttlMs),
      now,
      rules,
    })
  }

  nodeChanged(nodeId: string): void {
    this.#writer.request(nodeId)
  }

  /**
   * Resigns first (another replica leads within milliseconds), then stops watching. The lease is
   * left to expire rather than revoked: our nodes reconnect elsewhere meanwhile, and their
   * telemetry moves to that replica's lease without them ever leaving the leader's view.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    this.#writer.stop()
    this.#leaseRetry.stop()
    await this.#leadership?.stop()
    for (const w of this.#watchers) await w.cancel().catch(() => undefined)
    this.#lease?.release()
    this.#repeats.flush()
  }

  async #write(nodeId: string, record: PublishedSet, fence: string): Promise<void> {
    const key = this.#keys.instruction(nodeId)
    try {
      const result = await this.#o.store.call(`publishing the set of node ${nodeId}`, () =>
        this.#client
          .if(fence, 'Create', '>', 0)
          .then(this.#client.put(key).value(encodePublished(record)))
          .commit(),
      )
      if (!result.succeeded) this.#leadership?.stepDown('a fenced write was refused: the campaign is gone')
    } catch (err) {
      // Forget it so the next recompute tries again; if it did land, the watch brings it.
      if (this.#latest.get(nodeId) === record) this.#latest.delete(nodeId)
      this.#repeats.warn('publish', { err, node: nodeId }, 'could not publish an instruction set')
    }
  }

  async #writeTelemetry(nodeId: string): Promise<void> {
    const core = this.#core
    const lease = this.#lease
    if (!core || !lease || this.#stopped) return
    const key = this.#keys.telemetryOf(nodeId)
    const node = core.registry.get(nodeId)
    const leaseId = await lease.grant()
    if (node?.connected) {
      // Links of an earlier connection are not shared: until the node reports, they are unknown.
      const reported = node.lastReportAt !== undefined
      const links = reported
        ? core.links.list(this.#o.clock.now(), Number.POSITIVE_INFINITY).filter((l) => l.from === nodeId)
        : []
      const record = this.#record(node.region, links.map(sampleOf), reported, true)
      await this.#o.store.call(`sharing node ${nodeId}`, () =>
        this.#client.put(key).value(encodeTelemetry(record)).lease(leaseId).exec(),
      )
      return
    }
    // Only while it is ours: the node may already be on another replica, which owns the key now.
    if (node) {
      // Said, not deleted: a record that vanishes is a replica's lease lapsing, not a node leaving.
      const left = encodeTelemetry(this.#record(node.region, [], false, false))
      await this.#o.store.call(`sharing that node ${nodeId} left`, () =>
        this.#client
          .if(key, 'Lease', '==', leaseId)
          .then(this.#client.put(key).value(left).lease(leaseId))
          .commit(),
      )
      return
    }
    await this.#o.store.call(`forgetting node ${nodeId}`, () =>
      this.#client.if(key, 'Lease', '==', leaseId).then(this.#client.delete().key(key)).commit(),
    )
  }

  #record(region: string, links: LinkSample[], reported: boolean, connected: boolean): TelemetryRecord {
    return { replica: this.#o.replicaId, region, links, reported, connected }
  }

  /**
   * A new lease, in force once granted. A lost lease starts the retry loop, which alone grants the
   * next one: the `lost` a failed grant emits too is left to it.
   */
  async #openLease(): Promise<void> {
    const lease = this.#client.lease(this.#settings.electionTtlSeconds)
    lease.on('keepaliveSucceeded', () => {
      this.#lastKeepaliveAt = Date.now()
    })
    lease.on('lost', (err) => {
      if (this.#lease !== lease || this.#stopped || this.#leaseRetry.running) return
      this.#repeats.warn(
        'lease',
        { err },
        'the replica lease expired: sharing every node again under a new one',
      )
      this.#leaseRetry.start()
    })
    this.#lease = lease
    await this.#o.store.call('granting the replica lease', () => lease.grant())
    this.#lastKeepaliveAt = Date.now()
  }

  /** Reads `prefix` and watches it from the next revision: no change is missed or seen twice. */
  async #follow(
    prefix: string,
    onPut: (kv: IKeyValue) => void,
    onDelete: (kv: IKeyValue) => void,
  ): Promise<void> {
    const watcher = await this.#o.store.call(`watching ${prefix}`, async () => {
      const found = await this.#client.getAll().prefix(prefix).exec()
      for (const kv of found.kvs) onPut(kv)
      const next = (BigInt(found.header.revision) + 1n).toString()
      return this.#client.watch().prefix(prefix).startRevision(next).create()
    })
    watcher.on('put', onPut)
    watcher.on('delete', onDelete)
    watcher.on('error', (err) =>
      this.#repeats.log('error', `watch ${prefix}`, { err, prefix }, 'etcd watch failed'),
    )
    this.#watchers.push(watcher)
  }

  #onPublished(kv: IKeyValue): void {
    const key = kv.key.toString()
    const nodeId = this.#keys.nodeIdIn(key, this.#keys.instructions)
    const decoded = decodePublished(kv.value.toString())
    if (nodeId === undefined || 'error' in decoded) {
      this.#o.logger.warn(
        { key, error: 'error' in decoded ? decoded.error : 'bad key' },
        'ignoring a published set',
      )
      return
    }
    const current = this.#published.get(nodeId)
    if (current && compareVersions(decoded.value.version, current.version) <= 0) return
    this.#published.set(nodeId, decoded.value)
    this.#core?.deliver(nodeId)
  }

  #onUnpublished(kv: IKeyValue): void {
    const nodeId = this.#keys.nodeIdIn(kv.key.toString(), this.#keys.instructions)
    if (nodeId !== undefined) this.#published.delete(nodeId)
  }

  #onTelemetry(kv: IKeyValue): void {
    const key = kv.key.toString()
    const nodeId = this.#keys.nodeIdIn(key, this.#keys.telemetry)
    const decoded = decodeTelemetry(kv.value.toString())
    if (nodeId === undefined || 'error' in decoded) {
      this.#o.logger.warn(
        { key, error: 'error' in decoded ? decoded.error : 'bad key' },
        'ignoring telemetry',
      )
      return
    }
    const now = this.#o.clock.now()
    const record = decoded.value
    const joined = !this.#telemetry.has(nodeId)
    this.#evidence.set(nodeId, evidenceOnRecord(this.#evidence.get(nodeId), record, joined, now))
    if (!record.connected) {
      this.#nodeAway(nodeId, 'left')
      return
    }
    const firstReport = record.reported && this.#evidence.get(nodeId)?.reportedAt === undefined
    this.#telemetry.set(nodeId, record)
    this.#links.record(nodeId, record.links, now)
    this.#core?.clusterChanged(`node ${nodeId} ${joined ? 'joined' : 'reported'}`, joined || firstReport)
  }

  #onTelemetryGone(kv: IKeyValue): void {
    const nodeId = this.#keys.nodeIdIn(kv.key.toString(), this.#keys.telemetry)
    if (nodeId === undefined) return
    this.#evidence.set(nodeId, evidenceOnVanished(this.#evidence.get(nodeId), this.#o.clock.now()))
    this.#nodeAway(nodeId, 'is unheard from: its replica lost its etcd lease')
  }

  #nodeAway(nodeId: string, how: string): void {
    if (!this.#telemetry.delete(nodeId)) return
    this.#links.nodeGone(nodeId)
    this.#core?.clusterChanged(`node ${nodeId} ${how}`, true)
  }
}

function sampleOf(l: LinkView): LinkSample {
  return {
    peer: l.to,
    up: l.reportedUp,
    rttMs: l.rttMs,
    jitterMs: l.jitterMs,
    loss: l.loss,
    throughputBps: l.throughputBps,
    activeFlows: l.activeFlows,
  }
}
