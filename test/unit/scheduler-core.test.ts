import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { DynproxyError } from '../../src/errors/base.ts'
import { PathTokenTooLargeError } from '../../src/errors/paths.ts'
import type { InstructionSet } from '../../src/instructions/types.ts'
import { type Logger, silentLogger } from '../../src/log/logger.ts'
import { schedulerConfigFromText, validateService } from '../../src/scheduler/config/load.ts'
import type { ServiceDocument } from '../../src/scheduler/config/schema.ts'
import { type NodeDirective, PUSH_CHUNK, SchedulerCore } from '../../src/scheduler/core.ts'
import type { PathEngine } from '../../src/scheduler/plan/engine.ts'
import type { PathSigner } from '../../src/scheduler/plan/instructions.ts'
import type { NodeAckRecord, SchedulerStore, ServiceChange } from '../../src/scheduler/store/types.ts'
import type { Timers } from '../../src/scheduler/throttle.ts'
import { captureLogger } from '../helpers/node-harness.ts'

/** An in-memory store: the interface's contract without a file. */
class MemoryStore implements SchedulerStore {
  services = new Map<string, ServiceDocument>()
  acks = new Map<string, NodeAckRecord>()
  readonly listeners = new Set<(c: ServiceChange) => void>()
  async nextEpoch() {
    return 1
  }
  async getSigningKey() {
    return undefined
  }
  async setSigningKey() {}
  async getSecret() {
    return undefined
  }
  async initSecret(_name: string, value: string) {
    return value
  }
  async bindNode() {
    return 'bound' as const
  }
  async unbindNode() {
    return false
  }
  async listServices() {
    return [...this.services.values()]
  }
  async putService(s: ServiceDocument) {
    this.services.set(s.name, s)
    for (const l of this.listeners) l({ kind: 'put', service: s })
  }
  async deleteService(name: string) {
    const had = this.services.delete(name)
    if (had) for (const l of this.listeners) l({ kind: 'delete', name })
    return had
  }
  watchServices(l: (c: ServiceChange) => void) {
    this.listeners.add(l)
    return () => this.listeners.delete(l)
  }
  watchRevocations() {
    return () => undefined
  }
  async getNodeAcks() {
    return this.acks
  }
  async setNodeAck(id: string, r: NodeAckRecord) {
    this.acks.set(id, r)
  }
  async close() {}
}

/** Paths follow whatever `route` says at the time of the call. */
function switchableEngine(route: { nodes: string[] }): PathEngine {
  const current = () => ({
    nodes: route.nodes,
    cost: 1,
    metrics: { rttMs: 1, bottleneckBps: 0, loss: 0, costPerGb: 0 },
  })
  return {
    best: () => [current()],
    disjoint: () => [current()],
    evaluate: () => undefined,
    choose: (_c, candidates, _p, now) =>
      candidates[0] ? { path: candidates[0], since: now, left: [] } : undefined,
  }
}

function sinkFor() {
  const sets: InstructionSet[] = []
  const closed: DynproxyError[] = []
  const directives: NodeDirective[] = []
  return {
    sets,
    closed,
    directives,
    sink: {
      send: (s: InstructionSet) => sets.push(s),
      direct: (d: NodeDirective) => directives.push(d),
      close: (e: DynproxyError) => closed.push(e),
    },
  }
}

function web(): ServiceDocument {
  const r = validateService({
    name: 'web',
    ingress: [{ node: 'a', listener: 'web' }],
    egress: ['c'],
    targets: ['10.0.0.5:80'],
  })
  assert.ok('value' in r)
  return r.value
}

function makeCore(
  options: {
    acks?: Map<string, NodeAckRecord>
    services?: ServiceDocument[]
    timers?: Timers
    engine?: PathEngine
    signer?: PathSigner
    logger?: Logger
    /** More `scheduler:` keys, e.g. "capacity_probe_interval: 0s". */
    settings?: string
  } = {},
) {
  const clock = { t: 1000, now: () => clock.t }
  const store = new MemoryStore()
  if (options.acks) store.acks = options.acks
  const route = { nodes: ['a', 'b', 'c'] }
  const settings = schedulerConfigFromText(
    `scheduler: { instruction_ttl: 60s, path_token_ttl: 60s, heartbeat_interval: 1s, push_debounce: 0s${options.settings ? `, ${options.settings}` : ''} }`,
  ).scheduler
  const core = new SchedulerCore({
    settings,
    store,
    engine: options.engine ?? switchableEngine(route),
    signer: options.signer ?? {
      publicKey: 'PUB',
      signAll: (claims) => claims.map((c) => Buffer.from(`${c.route}:${c.nodes.join('>')}:${c.expiresAt}`)),
    },
    epoch: 4,
    acks: store.acks,
    services: options.services ?? [web()],
    logger: options.logger ?? silentLogger(),
    clock,
    timers: options.timers ?? { setTimeout: () => 0, clearTimeout: () => undefined },
  })
  return { core, clock, store, route }
}

/**
 * No grace time: a node that is not connected counts as gone at once, so the plan alone decides
 * what is sent (the fake engines here route through nodes that never connect).
 */
const NO_GRACE = 'node_grace: 0s'

const hello = (id: string, extra = {}) => ({
  id,
  region: 'r1',
  meshAddress: '',
  listeners: [{ name: 'web', bind: '127.0.0.1:8080', port: 8080 }],
  peers: [],
  capabilities: [],
  softwareVersion: 'test',
  ...extra,
})

test('every connected node gets a set: the ingress its route, relays an empty one with the token key', () => {
  const { core } = makeCore()
  const a = sinkFor()
  const b = sinkFor()
  core.attach(hello('a'), a.sink)
  core.attach(hello('b'), b.sink)
  const setA = a.sets.at(-1)
  assert.deepEqual(
    setA?.routes.map((r) => [r.name, r.match, r.paths.map((p) => p.hops)]),
    [['web', { listener: 'web' }, [['b', 'c']]]],
  )
  assert.equal(setA?.pathTokenKey, 'PUB')
  assert.equal(String(setA?.routes[0]?.paths[0]?.token), `web:a>b>c:${1000 + 60_000}`)
  assert.deepEqual(b.sets.at(-1)?.routes, [])
  assert.equal(b.sets.at(-1)?.pathTokenKey, 'PUB')
  assert.equal(setA?.version.epoch, 4)
})

test('a path that cannot be given a token is left out of its set and logged; the scheduler goes on', () => {
  const captured = captureLogger()
  const signer: PathSigner = {
    publicKey: 'PUB',
    signAll: (claims) =>
      claims.map((c) => (c.nodes.length > 2 ? new PathTokenTooLargeError(1100, 1024) : Buffer.from('ok'))),
  }
  const { core, route } = makeCore({ signer, logger: captured.logger, settings: NO_GRACE })
  const a = sinkFor()
  core.attach(hello('a'), a.sink)
  assert.deepEqual(
    a.sets.at(-1)?.routes.map((r) => [r.name, r.paths.length]),
    [['web', 0]],
    'its only path had no token: the route goes with no paths',
  )
  const warning = captured.lines.find((l) => l.code === 'DYN_ERR_PATHS_TOKEN_TOO_LARGE')
  assert.deepEqual(warning?.nodes, ['a', 'b', 'c'])
  assert.equal(warning?.route, 'web')
  route.nodes = ['a', 'c']
  core.recompute('shorter path')
  assert.deepEqual(
    a.sets.at(-1)?.routes.map((r) => r.paths.map((p) => String(p.token))),
    [['ok']],
  )
})

test('a node is pushed a new set only when its content changed, with a growing counter', () => {
  const { core, route, clock } = makeCore({ settings: NO_GRACE })
  const a = sinkFor()
  core.attach(hello('a'), a.sink)
  assert.equal(a.sets.length, 1)
  clock.t += 1000
  core.recompute('test')
  core.recompute('test')
  assert.equal(a.sets.length, 1, 'same content: nothing sent')
  route.nodes = ['a', 'c']
  core.recompute('test')
  assert.equal(a.sets.length, 2)
  assert.ok((a.sets[1]?.version.counter ?? 0) > (a.sets[0]?.version.counter ?? 0))
  assert.deepEqual(a.sets[1]?.routes[0]?.paths[0]?.hops, ['c'])
  assert.deepEqual(core.registry.get('a')?.pendingVersion, a.sets[1]?.version)
})

test('a set is renewed once it has lived half its TTL, though unchanged', () => {
  const { core, clock } = makeCore()
  const a = sinkFor()
  core.attach(hello('a'), a.sink)
  core.heartbeat({ nodeId: 'a', session: 1 }, undefined)
  clock.t += 29_000
  core.heartbeat({ nodeId: 'a', session: 1 }, undefined)
  core.tick()
  assert.equal(a.sets.length, 1)
  clock.t += 1000
  core.heartbeat({ nodeId: 'a', session: 1 }, undefined)
  core.tick()
  assert.equal(a.sets.length, 2)
})

test('acks are recorded and persisted; nacks are recorded with their reason', async () => {
  const { core, store } = makeCore()
  const a = sinkFor()
  const s = core.attach(hello('a'), a.sink)
  const set = a.sets[0]
  assert.ok(set)
  assert.equal(core.registry.get('a')?.appliedVersion, undefined)
  core.ack(s, set.version)
  assert.deepEqual(core.registry.get('a')?.appliedVersion, set.version)
  await Promise.resolve()
  assert.deepEqual(store.acks.get('a')?.version, set.version)
  core.nack(s, set.version, 'route web: bad target')
  assert.equal(core.registry.get('a')?.lastNack?.error, 'route web: bad target')
})

test('a node reconnecting with the version it would be sent gets nothing; with another, it gets the set', () => {
  const first = makeCore()
  const a = sinkFor()
  const s = first.core.attach(hello('a'), a.sink)
  const set = a.sets[0]
  assert.ok(set)
  first.core.ack(s, set.version)
  const record = first.core.lastPushed('a')
  assert.ok(record)

  const resumed = makeCore({ acks: new Map([['a', record]]) })
  const again = sinkFor()
  resumed.core.attach(hello('a', { appliedVersion: set.version }), again.sink)
  assert.equal(again.sets.length, 0, 'resumed: nothing resent')
  assert.deepEqual(resumed.core.registry.get('a')?.appliedVersion, set.version)

  const other = makeCore({ acks: new Map([['a', record]]) })
  const fresh = sinkFor()
  const session = other.core.attach(hello('a', { appliedVersion: { epoch: 1, counter: 99 } }), fresh.sink)
  assert.equal(fresh.sets.length, 0, 'a node with a set of its own waits for its first report')
  other.core.report(session, [], undefined)
  assert.equal(fresh.sets.length, 1)
})

test('right after a start, a node with no set gets one at once', () => {
  const { core } = makeCore()
  const a = sinkFor()
  core.attach(hello('a'), a.sink)
  assert.equal(a.sets.length, 1)
})

test('a silent node is disconnected after three heartbeat intervals; its stream is closed with a code', () => {
  const { core, clock } = makeCore()
  const a = sinkFor()
  core.attach(hello('a'), a.sink)
  clock.t += 3000
  core.tick()
  assert.equal(core.registry.get('a')?.connected, true)
  clock.t += 1
  core.tick()
  assert.equal(core.registry.get('a')?.connected, false)
  assert.equal(a.closed[0]?.code, 'DYN_ERR_SCHEDULER_NODE_TIMEOUT')
})

test('a second hello for one id supersedes the first stream; the old stream ending does not disconnect the new', () => {
  const { core } = makeCore()
  const first = sinkFor()
  const second = sinkFor()
  const s1 = core.attach(hello('a'), first.sink)
  core.attach(hello('a'), second.sink)
  assert.equal(first.closed[0]?.code, 'DYN_ERR_SCHEDULER_NODE_SUPERSEDED')
  core.detach(s1, 'stream closed')
  assert.equal(core.registry.get('a')?.connected, true)
})

test('service changes from the store reach the nodes', async () => {
  const { core, store } = makeCore({ services: [] })
  const a = sinkFor()
  core.attach(hello('a'), a.sink)
  assert.deepEqual(a.sets[0]?.routes, [])
  await store.putService(web())
  assert.deepEqual(
    a.sets[1]?.routes.map((r) => r.name),
    ['web'],
  )
  await store.deleteService('web')
  assert.deepEqual(a.sets[2]?.routes, [])
})

test('resolve answers a flow by listener or by port from the services', () => {
  const { core } = makeCore()
  core.attach(hello('a'), sinkFor().sink)
  assert.deepEqual(
    core.resolve('a', '', 8080).route?.paths.map((p) => p.hops),
    [['b', 'c']],
  )
  assert.equal(core.resolve('a', 'web', 0).route?.name, 'web')
  assert.equal(core.resolve('a', 'other', 9).route, undefined)
})

test('a recompute for many nodes sends a chunk at once and the rest on later turns; a newer one takes over', () => {
  const queue: (() => void)[] = []
  const timers: Timers = {
    setTimeout: (fn) => queue.push(fn),
    clearTimeout: (h) => {
      queue[(h as number) - 1] = () => undefined
    },
  }
  const runTimers = () => {
    for (const fn of queue.splice(0)) fn()
  }
  const { core, route } = makeCore({ timers, settings: NO_GRACE })
  const ids = Array.from({ length: PUSH_CHUNK + 50 }, (_, i) => `n${String(i).padStart(4, '0')}`)
  const sinks = new Map(ids.map((id) => [id, sinkFor()]))
  for (const id of ids) core.attach(hello(id), sinks.get(id)?.sink as ReturnType<typeof sinkFor>['sink'])
  const count = (list: string[]) => list.filter((id) => sinks.get(id)?.sets.length === 1).length
  assert.equal(count(ids.slice(0, PUSH_CHUNK)), PUSH_CHUNK, 'the first chunk went at once')
  assert.equal(count(ids.slice(PUSH_CHUNK)), 0, 'the rest waits for the next turn')
  runTimers()
  assert.ok(
    ids.every((id) => sinks.get(id)?.sets.length === 1),
    'every node has its first set',
  )

  const a = sinkFor()
  core.attach(hello('a'), a.sink)
  runTimers()
  route.nodes = ['a', 'c']
  core.recompute('first')
  core.recompute('second')
  const sent = () => ids.filter((id) => sinks.get(id)?.sets.length === 2).length
  assert.equal(a.sets.length, 2, 'the ingress comes first in id order: its new set went at once')
  assert.equal(sent(), 0, 'relays keep an empty set: nothing new for them')
  route.nodes = ['a', 'b', 'c']
  core.recompute('third')
  assert.equal(a.sets.length, 3)
  runTimers()
  assert.equal(core.stats.lastReason, 'third')
  assert.equal(a.sets.length, 3, 'the superseded runs sent nothing more')
})

/** Two disjoint paths, always the same. */
function twoPathEngine(): PathEngine {
  const path = (nodes: string[]) => ({
    nodes,
    cost: 1,
    metrics: { rttMs: 1, bottleneckBps: 0, loss: 0, costPerGb: 0 },
  })
  const both = [path(['a', 'b', 'c']), path(['a', 'd', 'c'])]
  return {
    best: () => both,
    disjoint: () => both,
    evaluate: () => undefined,
    choose: (current, candidates) =>
      current ?? (candidates[0] && { path: candidates[0], since: 0, left: [] }),
  }
}

function bulk(): ServiceDocument {
  const r = validateService({
    name: 'bulk',
    ingress: [{ node: 'a', listener: 'web' }],
    egress: ['c'],
    targets: ['10.0.0.5:80'],
    multipath: { mode: 'stripe', paths: 2 },
  })
  assert.ok('value' in r)
  return r.value
}

function sharesReport(viaB: number, viaD: number) {
  const path = (index: number, bytesSent: number) => ({
    index,
    bytesSent,
    bytesReceived: 0,
    retransmittedBytes: 0,
    srttMs: 1,
  })
  return [
    {
      route: 'bulk',
      matches: { instruction: 1, cachedInstruction: 0, static: 0 },
      bytesIn: viaB + viaD,
      bytesOut: 0,
      failures: 0,
      paths: [path(0, viaB), path(1, viaD)],
    },
  ]
}

test('path shares a node reports move a stripe route’s weights: past the margin, once per dwell, from the set it runs', () => {
  const MiB = 1024 * 1024
  const { core, clock } = makeCore({ services: [bulk()], engine: twoPathEngine() })
  const a = sinkFor()
  const s = core.attach(hello('a'), a.sink)
  const weights = () => a.sets.at(-1)?.routes[0]?.paths.map((p) => p.weight)
  const report = (b: number, d: number) => {
    core.report(s, [], undefined, sharesReport(b, d))
    core.recompute('test')
  }
  assert.deepEqual(weights(), [100, 100], 'nothing measured: equal')

  clock.t += 20_000
  report(4 * MiB, 16 * MiB)
  assert.equal(a.sets.length, 1, 'the set is not acknowledged: its indices may name other paths')
  core.ack(s, a.sets[0]?.version ?? { epoch: 0, counter: 0 })
  report(4 * MiB, 16 * MiB)
  assert.equal(a.sets.length, 2)
  assert.deepEqual(weights(), [66, 100], 'via b carried a fifth: its weight falls')

  core.ack(s, a.sets[1]?.version ?? { epoch: 0, counter: 0 })
  clock.t += 1000
  report(4 * MiB, 16 * MiB)
  assert.equal(a.sets.length, 2, 'within the dwell: the weights in force stay')
  clock.t += 10_000
  report(4 * MiB + 200_000, 16 * MiB + 800_000)
  assert.equal(a.sets.length, 3, 'after the dwell, the learned move is pushed')
  assert.deepEqual(weights(), [48, 100])

  core.ack(s, a.sets[2]?.version ?? { epoch: 0, counter: 0 })
  clock.t += 20_000
  report(200_000, 800_000)
  assert.equal(a.sets.length, 3, 'a small move (little evidence) pushes nothing')
})

const sample = (peer: string, throughputBps = 0, up = true) => ({
  peer,
  up,
  rttMs: 1,
  jitterMs: 0,
  loss: 0,
  throughputBps,
  activeFlows: 0,
})

test('an operator’s probe and drain reach the node’s sink; unknown, gone and linkless nodes are refused', () => {
  const { core } = makeCore()
  const a = sinkFor()
  const s = core.attach(hello('a'), a.sink)
  assert.throws(() => core.probe('a'), { code: 'DYN_ERR_SCHEDULER_NODE_NO_LINKS' })
  core.report(s, [sample('b'), sample('c', 1e6)], undefined)
  assert.deepEqual(core.probe('a'), { node: 'a', peers: ['b', 'c'] }, 'every peer it reported a link to')
  assert.deepEqual(core.probe('a', ['c']), { node: 'a', peers: ['c'] })
  core.drain('a', 5000)
  assert.deepEqual(a.directives, [
    { kind: 'probe', peers: ['b', 'c'] },
    { kind: 'probe', peers: ['c'] },
    { kind: 'drain', timeoutMs: 5000 },
  ])
  assert.throws(() => core.drain('zz', 0), { code: 'DYN_ERR_SCHEDULER_NODE_NOT_FOUND' })
  core.detach(s, 'test')
  assert.throws(() => core.probe('a', ['b']), {
    code: 'DYN_ERR_SCHEDULER_NODE_NOT_CONNECTED',
    message: /node a is not connected/,
  })
  assert.equal(a.directives.length, 3)
})

function throughputWeb(): ServiceDocument {
  const r = validateService({ ...web(), objective: 'throughput' })
  assert.ok('value' in r)
  return r.value
}

test('the tick asks for probes of up links without a throughput, one per spacing, each link once per interval', () => {
  const { core, clock } = makeCore({ services: [throughputWeb()] })
  const a = sinkFor()
  const b = sinkFor()
  const sa = core.attach(hello('a'), a.sink)
  const sb = core.attach(hello('b'), b.sink)
  const reportAll = () => {
    core.report(sa, [sample('b'), sample('c', 1e6), sample('d', 0, false)], undefined)
    core.report(sb, [sample('a')], undefined)
  }
  reportAll()
  core.tick()
  assert.deepEqual(a.directives, [{ kind: 'probe', peers: ['b'] }], 'known and down links are left alone')
  core.tick()
  clock.t += 4000
  reportAll()
  core.tick()
  assert.equal(b.directives.length, 0, 'within the spacing: nothing more')
  clock.t += 1000
  core.tick()
  assert.deepEqual(b.directives, [{ kind: 'probe', peers: ['a'] }])
  clock.t += 10_000
  reportAll()
  core.tick()
  assert.equal(a.directives.length + b.directives.length, 2, 'every link asked within the interval')
  clock.t += 30 * 60_000
  reportAll()
  core.tick()
  assert.equal(a.directives.length, 2, 'the interval passed and a still reports no throughput')
})

test('no automatic probe when no service needs capacities, or when they are turned off', () => {
  for (const options of [{}, { services: [throughputWeb()], settings: 'capacity_probe_interval: 0s' }]) {
    const { core, clock } = makeCore(options)
    const a = sinkFor()
    const s = core.attach(hello('a'), a.sink)
    core.report(s, [sample('b')], undefined)
    core.tick()
    clock.t += 60 * 60_000
    core.report(s, [sample('b')], undefined)
    core.tick()
    assert.deepEqual(a.directives, [], JSON.stringify(options))
  }
})
