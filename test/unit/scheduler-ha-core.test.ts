/** The core with a cluster (store: etcd), against an in-memory cluster: who plans, who sends what. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { InstructionSet, InstructionVersion } from '../../src/instructions/types.ts'
import { silentLogger } from '../../src/log/logger.ts'
import { schedulerConfigFromText, validateService } from '../../src/scheduler/config/load.ts'
import type { ServiceDocument } from '../../src/scheduler/config/schema.ts'
import { type Cluster, type PublishedSet, SchedulerCore, type SharedNode } from '../../src/scheduler/core.ts'
import type { GraphNodeInput } from '../../src/scheduler/mesh-graph.ts'
import { choosePath } from '../../src/scheduler/paths/hysteresis.ts'
import type { PathEngine } from '../../src/scheduler/plan/engine.ts'
import { needsPush } from '../../src/scheduler/plan/instructions.ts'
import type { NodeKnowledge } from '../../src/scheduler/plan/knowledge.ts'
import type { SchedulerStore } from '../../src/scheduler/store/types.ts'
import { nodesView } from '../../src/scheduler/views.ts'

/** Publishing stores at once; `flush()` plays the watch that tells every replica. */
class MemoryCluster implements Cluster {
  isLeader = false
  epoch = 7
  counter = 0
  readonly nodes = new Map<string, GraphNodeInput>()
  readonly stored = new Map<string, PublishedSet>()
  readonly changed: string[] = []
  readonly shared: SharedNode[] = []
  /** What the leader knows of each node; absent: known. */
  readonly states = new Map<string, NodeKnowledge>()
  readonly #pending: string[] = []
  core: SchedulerCore | undefined

  leading() {
    return this.isLeader
  }
  view() {
    return { nodes: [...this.nodes.values()], links: [] }
  }
  publish(
    contents: readonly { nodeId: string; contentKey: string }[],
    now: number,
    build: (due: readonly { nodeId: string; version: InstructionVersion }[]) => InstructionSet[],
  ) {
    const due = contents
      .filter(({ nodeId, contentKey }) => needsPush(this.stored.get(nodeId), contentKey, now, 60_000))
      .map((c) => ({ ...c, version: { epoch: this.epoch, counter: ++this.counter } }))
    const sets = build(due)
    for (const [i, { nodeId, contentKey, version }] of due.entries()) {
      this.store(nodeId, { version, contentKey, issuedAt: now, set: sets[i] as InstructionSet })
    }
  }
  published(nodeId: string) {
    return this.stored.get(nodeId)
  }
  lastSet(nodeId: string) {
    return this.stored.get(nodeId)?.set
  }
  knowledge() {
    const states = this.states
    return {
      state: (id: string) => states.get(id) ?? 'known',
      linkDown: () => false,
      complete: () => [...states.values()].every((s) => s !== 'unknown'),
      unknownNodes: () => new Set([...states].filter(([, s]) => s === 'unknown').map(([id]) => id)),
      until: Number.POSITIVE_INFINITY,
    }
  }
  nodeChanged(nodeId: string) {
    this.changed.push(nodeId)
  }
  sharedNodes() {
    return this.shared
  }
  store(nodeId: string, p: PublishedSet) {
    this.stored.set(nodeId, p)
    this.#pending.push(nodeId)
  }
  flush() {
    for (const id of this.#pending.splice(0)) this.core?.deliver(id)
  }
}

const noStore: SchedulerStore = {
  nextEpoch: async () => 1,
  getSigningKey: async () => undefined,
  setSigningKey: async () => undefined,
  getSecret: async () => undefined,
  initSecret: async (_name, value) => value,
  bindNode: async () => 'bound',
  unbindNode: async () => false,
  listServices: async () => [],
  putService: async () => undefined,
  deleteService: async () => false,
  watchServices: () => () => undefined,
  watchRevocations: () => () => undefined,
  getNodeAcks: async () => new Map(),
  setNodeAck: async () => undefined,
  close: async () => undefined,
}

const direct: PathEngine = {
  best: (q) => [{ nodes: [q.from], cost: 1, metrics: { rttMs: 1, bottleneckBps: 0, loss: 0, costPerGb: 0 } }],
  disjoint: () => [],
  evaluate: () => undefined,
  choose: (_c, candidates, _p, now) =>
    candidates[0] ? { path: candidates[0], since: now, left: [] } : undefined,
}

function service(): ServiceDocument {
  const r = validateService({
    name: 'web',
    ingress: [
      { node: 'a', port: 80 },
      { node: 'b', port: 80 },
    ],
    egress: ['a', 'b'],
    targets: ['10.0.0.5:80'],
  })
  assert.ok('value' in r)
  return r.value
}

function makeReplica(cluster: MemoryCluster, engine: PathEngine = direct, services = [service()]) {
  const core = new SchedulerCore({
    settings: schedulerConfigFromText('scheduler: { instruction_ttl: 60s, push_debounce: 0s }').scheduler,
    store: noStore,
    engine,
    signer: { publicKey: 'PUB', signAll: (claims) => claims.map(() => Buffer.from('sig')) },
    epoch: 3,
    acks: new Map(),
    services,
    logger: silentLogger(),
    clock: { now: () => 1000 },
    timers: { setTimeout: () => 0, clearTimeout: () => undefined },
    cluster,
  })
  cluster.core = core
  return core
}

function sink() {
  const sets: InstructionSet[] = []
  return {
    sets,
    sink: { send: (s: InstructionSet) => sets.push(s), direct: () => undefined, close: () => undefined },
  }
}

const hello = (id: string, appliedVersion?: InstructionVersion) => ({
  id,
  region: 'r1',
  meshAddress: '',
  listeners: [],
  peers: [],
  capabilities: [],
  softwareVersion: 'test',
  ...(appliedVersion && { appliedVersion }),
})

test('the leader plans for every replica’s nodes and publishes with its leadership epoch', () => {
  const cluster = new MemoryCluster()
  cluster.isLeader = true
  const core = makeReplica(cluster)
  cluster.nodes.set('a', { id: 'a', region: 'r1', connected: true })
  cluster.nodes.set('b', { id: 'b', region: 'r1', connected: true })
  core.clusterChanged('nodes joined', true)
  assert.deepEqual(
    [...cluster.stored.keys()].sort(),
    ['a', 'b'],
    'b is on another replica, and still planned',
  )
  assert.deepEqual(cluster.stored.get('b')?.version, { epoch: 7, counter: 2 })
  assert.equal(cluster.stored.get('b')?.set.routes[0]?.service, 'web')
  core.clusterChanged('report', true)
  assert.equal(cluster.counter, 2, 'same content: nothing published again')
})

test('a follower plans nothing and sends its node the stored set, never an older one', () => {
  const cluster = new MemoryCluster()
  const core = makeReplica(cluster)
  const a = sink()
  core.attach(hello('a'), a.sink)
  assert.deepEqual(cluster.changed, ['a'], 'the node is shared with the leader')
  assert.equal(a.sets.length, 0, 'nothing stored yet, and followers do not plan')
  const v = (counter: number) => ({ epoch: 7, counter })
  const stored = (counter: number): PublishedSet => ({
    version: v(counter),
    contentKey: `k${counter}`,
    issuedAt: 1000,
    set: { version: v(counter), nonce: 'n', ttlMs: 60_000, reportIntervalMs: 2000, routes: [] },
  })
  cluster.store('a', stored(5))
  cluster.flush()
  assert.deepEqual(
    a.sets.map((s) => s.version),
    [v(5)],
  )
  cluster.store('a', stored(4))
  cluster.flush()
  assert.equal(a.sets.length, 1, 'an older stored set is not sent')
  cluster.store('b', stored(6))
  cluster.flush()
  assert.equal(a.sets.length, 1, 'another node’s set is not ours to send')
  core.detach({ nodeId: 'a', session: 1 }, 'gone')
  assert.deepEqual(cluster.changed, ['a', 'a'])
})

test('a node failing over resumes with the stored version, or gets the stored set at once', () => {
  const cluster = new MemoryCluster()
  const core = makeReplica(cluster)
  const version = { epoch: 7, counter: 9 }
  cluster.stored.set('a', {
    version,
    contentKey: 'k',
    issuedAt: 1000,
    set: { version, nonce: 'n', ttlMs: 60_000, reportIntervalMs: 2000, routes: [] },
  })
  const resumed = sink()
  core.attach(hello('a', version), resumed.sink)
  assert.equal(resumed.sets.length, 0, 'it holds the stored set: nothing resent')
  assert.deepEqual(core.registry.get('a')?.appliedVersion, version)
  const behind = sink()
  core.attach(hello('b'), behind.sink)
  cluster.stored.set('b', cluster.stored.get('a') as PublishedSet)
  core.deliver('b')
  assert.deepEqual(
    behind.sets.map((s) => s.version),
    [version],
    'sent without waiting for the leader',
  )
})

test('every replica lists every node: its own in full, the others with the replica serving them', () => {
  const cluster = new MemoryCluster()
  const core = makeReplica(cluster)
  core.attach(hello('a'), sink().sink)
  core.attach(hello('b'), sink().sink)
  core.detach({ nodeId: 'b', session: 2 }, 'moved')
  cluster.shared.push(
    { id: 'a', region: 'r1', replica: 'r-self' },
    { id: 'b', region: 'r1', replica: 'r-other' },
    { id: 'c', region: 'r2', replica: 'r-other' },
  )
  const nodes = nodesView(core, 'r-self')
  assert.deepEqual(
    nodes.map((n) => [n.id, (n as { replica?: string }).replica, n.connected]),
    [
      ['a', 'r-self', true],
      ['b', 'r-other', true],
      ['c', 'r-other', true],
    ],
    'b left this replica for another: it is shown where it is now',
  )
  assert.equal((nodes[0] as { softwareVersion?: string }).softwareVersion, 'test', 'own nodes in full')
})

/** Direct is best by a hair; any path the planner holds is re-evaluated a little worse. */
const directBarelyBest: PathEngine = {
  best: (q) => [
    { nodes: [q.from], cost: 10, metrics: { rttMs: 10, bottleneckBps: 0, loss: 0, costPerGb: 0 } },
  ],
  disjoint: () => [],
  evaluate: (_q, nodes) => ({
    nodes: [...nodes],
    cost: 10.5,
    metrics: { rttMs: 10.5, bottleneckBps: 0, loss: 0, costPerGb: 0 },
  }),
  choose: (current, candidates, policy, now) => choosePath(current, candidates, policy, now).selection,
}

test('a new leader keeps the paths in force unless a better one passes the margins', () => {
  const viaB = (cluster: MemoryCluster): PublishedSet => {
    const version = { epoch: 7, counter: ++cluster.counter }
    const route = {
      name: 'web',
      service: 'web',
      match: { port: 80 },
      paths: [{ hops: ['b'], targets: [{ address: '10.0.0.5:80', weight: 1 }], weight: 100 }],
    }
    return {
      version,
      contentKey: 'old',
      issuedAt: 0,
      set: { version, nonce: 'n', ttlMs: 60_000, reportIntervalMs: 2000, routes: [route] },
    }
  }
  const hopsOfA = (cluster: MemoryCluster) => cluster.stored.get('a')?.set.routes[0]?.paths[0]?.hops

  const inheriting = new MemoryCluster()
  const core = makeReplica(inheriting, directBarelyBest)
  inheriting.nodes.set('a', { id: 'a', region: 'r1', connected: true })
  inheriting.stored.set('a', viaB(inheriting))
  inheriting.isLeader = true
  core.tookOver()
  assert.deepEqual(hopsOfA(inheriting), ['b'], '5 % better is below the 10 % margin: the path in force stays')

  const forgetful = new MemoryCluster()
  const fresh = makeReplica(forgetful, directBarelyBest)
  forgetful.nodes.set('a', { id: 'a', region: 'r1', connected: true })
  forgetful.stored.set('a', viaB(forgetful))
  forgetful.isLeader = true
  fresh.clusterChanged('planned from nothing', true)
  assert.deepEqual(hopsOfA(forgetful), [], 'without the sets in force, the leader would switch at once')
})

test('directives: a node on another replica is refused naming it; only the leader asks for probes, of its own nodes', () => {
  const r = validateService({ ...service(), objective: 'throughput' })
  assert.ok('value' in r)
  const cluster = new MemoryCluster()
  const core = makeReplica(cluster, direct, [r.value])
  cluster.shared.push({ id: 'b', region: 'r1', replica: 'sched-2' })
  assert.throws(() => core.probe('b', ['a']), {
    code: 'DYN_ERR_SCHEDULER_NODE_NOT_CONNECTED',
    message: /node b is connected to scheduler replica sched-2, not to this one/,
  })
  const directives: unknown[] = []
  const s = core.attach(hello('a'), {
    send: () => undefined,
    direct: (d) => directives.push(d),
    close: () => undefined,
  })
  const link = { peer: 'b', up: true, rttMs: 1, jitterMs: 0, loss: 0, throughputBps: 0, activeFlows: 0 }
  core.report(s, [link], undefined)
  core.tick()
  assert.deepEqual(directives, [], 'a follower asks for no probe')
  cluster.isLeader = true
  core.tick()
  assert.deepEqual(directives, [{ kind: 'probe', peers: ['b'] }])
})
