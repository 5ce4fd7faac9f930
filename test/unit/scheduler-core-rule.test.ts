/**
 * The core applies the rule of plan/guard.ts to what it sends: a lone scheduler with the real path
 * engine, nodes reporting links, a clock and timers the test moves.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { InstructionSet, InstructionVersion } from '../../src/instructions/types.ts'
import { type Logger, silentLogger } from '../../src/log/logger.ts'
import { schedulerConfigFromText, validateService } from '../../src/scheduler/config/load.ts'
import type { ServiceDocument } from '../../src/scheduler/config/schema.ts'
import { type NodeSession, SchedulerCore } from '../../src/scheduler/core.ts'
import { realPathEngine } from '../../src/scheduler/plan/real-engine.ts'
import type { NodeAckRecord, SchedulerStore } from '../../src/scheduler/store/types.ts'
import type { LinkSample } from '../../src/scheduler/telemetry.ts'
import { captureLogger } from '../helpers/node-harness.ts'

/** scheduler.node_grace by default. */
const GRACE_MS = 15_000

/** Timers that fire only when the test moves the clock past them. */
class ManualTime {
  t = 1_000_000
  readonly #due: { at: number; fn: () => void; live: boolean }[] = []
  readonly clock = { now: () => this.t }
  readonly timers = {
    setTimeout: (fn: () => void, ms: number) => {
      const entry = { at: this.t + ms, fn, live: true }
      this.#due.push(entry)
      return entry
    },
    clearTimeout: (handle: unknown) => {
      if (handle) (handle as { live: boolean }).live = false
    },
  }

  advance(ms: number): void {
    const end = this.t + ms
    for (;;) {
      const next = this.#due.filter((d) => d.live && d.at <= end).sort((x, y) => x.at - y.at)[0]
      if (next === undefined) break
      this.t = Math.max(this.t, next.at)
      next.live = false
      next.fn()
    }
    this.t = end
  }
}

function store(acks: Map<string, NodeAckRecord>): SchedulerStore {
  return {
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
    getNodeAcks: async () => acks,
    setNodeAck: async (id, r) => {
      acks.set(id, r)
    },
    close: async () => undefined,
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

function start(
  time: ManualTime,
  epoch: number,
  acks = new Map<string, NodeAckRecord>(),
  logger: Logger = silentLogger(),
) {
  return new SchedulerCore({
    settings: schedulerConfigFromText(
      'scheduler: { report_interval: 1s, heartbeat_interval: 60s, push_debounce: 0s }',
    ).scheduler,
    store: store(acks),
    engine: realPathEngine,
    signer: { publicKey: 'PUB', signAll: (claims) => claims.map(() => Buffer.from('sig')) },
    epoch,
    acks,
    services: [web()],
    logger,
    clock: time.clock,
    timers: time.timers,
  })
}

const up = (peer: string, rttMs: number): LinkSample => ({
  peer,
  up: true,
  rttMs,
  jitterMs: 0,
  loss: 0,
  throughputBps: 0,
  activeFlows: 0,
})
const down = (peer: string): LinkSample => ({ ...up(peer, 0), up: false })

/** a reaches c directly (slow) and through b (fast). */
const LINKS: Record<string, LinkSample[]> = {
  a: [up('b', 5), up('c', 40)],
  b: [up('a', 5), up('c', 5)],
  c: [up('a', 40), up('b', 5)],
}

interface Node {
  readonly sets: InstructionSet[]
  readonly session: NodeSession
}

function connect(core: SchedulerCore, id: string, applied?: InstructionVersion): Node {
  const sets: InstructionSet[] = []
  const session = core.attach(
    {
      id,
      region: 'r1',
      meshAddress: '',
      listeners: [{ name: 'web', bind: '127.0.0.1:80', port: 80 }],
      peers: [],
      capabilities: [],
      softwareVersion: 'test',
      ...(applied && { appliedVersion: applied }),
    },
    { send: (s) => sets.push(s), direct: () => undefined, close: () => undefined },
  )
  return { sets, session }
}

const webPaths = (set: InstructionSet | undefined) =>
  set?.routes.find((r) => r.name === 'web')?.paths.map((p) => p.hops.join('>'))

/** Moves time on a report interval at a time; the nodes given report (their links, or `links`) each time. */
function live(
  time: ManualTime,
  core: SchedulerCore,
  ms: number,
  nodes: Record<string, Node>,
  links: Record<string, LinkSample[]> = LINKS,
): void {
  for (let left = ms; left > 0; left -= 1000) {
    for (const [id, n] of Object.entries(nodes)) core.report(n.session, links[id] ?? [], undefined)
    time.advance(Math.min(1000, left))
  }
}

/** A mesh whose ingress a holds web over b and c (the direct link as fallback), every set acked. */
function running(time: ManualTime) {
  const core = start(time, 1)
  const nodes = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, connect(core, id)])) as Record<
    string,
    Node
  >
  live(time, core, 12_000, nodes)
  for (const n of Object.values(nodes)) {
    const last = n.sets.at(-1)
    if (last) core.ack(n.session, last.version)
  }
  return { core, nodes }
}

async function restarted(time: ManualTime, before: ReturnType<typeof running>, logger?: Logger) {
  await Promise.resolve()
  const acks = new Map(['a', 'b', 'c'].map((id) => [id, before.core.lastPushed(id) as NodeAckRecord]))
  before.core.stop()
  time.advance(2000)
  const core = start(time, 2, acks, logger)
  const again = (id: string) => connect(core, id, before.nodes[id]?.sets.at(-1)?.version)
  return { core, again }
}

test('a restarted scheduler sends the ingress nothing while its egress is not back, then its set (issue 14, failure 1)', async () => {
  const time = new ManualTime()
  const before = running(time)
  assert.deepEqual(webPaths(before.nodes.a?.sets.at(-1)), ['b>c', 'c'])
  const log = captureLogger()
  const { core, again } = await restarted(time, before, log.logger)
  const back = { a: again('a'), b: again('b') }
  live(time, core, 5000, back)
  assert.deepEqual(back.a.sets, [], 'a is sent nothing while c is not back: not a web with no path')
  const c = again('c')
  live(time, core, 3000, { ...back, c })
  for (const set of back.a.sets) assert.deepEqual(webPaths(set), ['b>c', 'c'], 'every set a gets routes web')
  const said = (msg: string) => log.lines.filter((l) => l.msg === msg).map((l) => l.node)
  assert.deepEqual(
    said('sending a node nothing for now'),
    ['a', 'b', 'c'],
    'said once per node, not per recompute',
  )
  assert.deepEqual(said('a node held back is sent its set again'), ['a', 'b', 'c'])
})

test('an egress that never comes back after a restart: the ingress gets its set once the grace time has passed', async () => {
  const time = new ManualTime()
  const { core, again } = await restarted(time, running(time))
  const a = again('a')
  const cDown = { a: [up('b', 5), down('c')] }
  live(time, core, GRACE_MS - 1000, { a }, cDown)
  assert.deepEqual(a.sets, [], 'within the grace time')
  live(time, core, 2000, { a }, cDown)
  assert.equal(a.sets.length, 1, 'b and c are gone now: the view is whole')
  assert.deepEqual(webPaths(a.sets[0]), [], 'no path: a route with none, and the node keeps what still works')
})

test('a relay disconnecting keeps the paths through it until its grace time has passed', () => {
  const time = new ManualTime()
  const { core, nodes } = running(time)
  const a = nodes.a as Node
  const sent = a.sets.length
  core.detach((nodes.b as Node).session, 'stream ended')
  live(time, core, GRACE_MS - 1000, { a, c: nodes.c as Node })
  assert.equal(a.sets.length, sent, 'b may be reconnecting elsewhere: nothing shows b>c stopped working')
  live(time, core, 2000, { a, c: nodes.c as Node })
  assert.deepEqual(webPaths(a.sets.at(-1)), ['c'], 'b is gone: its path goes')
})

test('positive evidence acts at once: a link reported down by a known node removes the paths over it', () => {
  const time = new ManualTime()
  const { core, nodes } = running(time)
  const a = nodes.a as Node
  live(time, core, 1000, nodes, { ...LINKS, a: [down('b'), up('c', 40)] })
  assert.deepEqual(webPaths(a.sets.at(-1)), ['c'])
})

test('a node reconnecting with a set of its own is sent nothing until it reports (the scheduler did not restart)', () => {
  const time = new ManualTime()
  const { core, nodes } = running(time)
  const a = nodes.a as Node
  core.detach(a.session, 'stream ended')
  time.advance(500)
  const again = connect(core, 'a', { epoch: 0, counter: 99 })
  assert.deepEqual(again.sets, [], 'it holds a version this scheduler did not send: wait for its report')
  core.report(again.session, LINKS.a ?? [], undefined)
  assert.deepEqual(webPaths(again.sets.at(-1)), ['b>c', 'c'])
})

test('a path chosen while a relay had not reported yet does not hold the route for min_dwell once it has', () => {
  const time = new ManualTime()
  const core = start(time, 1)
  const nodes = Object.fromEntries(['a', 'b', 'c'].map((id) => [id, connect(core, id)])) as Record<
    string,
    Node
  >
  const { b, ...early } = nodes
  live(time, core, 2000, early)
  assert.ok(b)
  live(time, core, 3000, nodes)
  assert.deepEqual(
    webPaths(nodes.a?.sets.at(-1)),
    ['b>c', 'c'],
    'the path through b, known 3 s ago, is taken well within the 30 s dwell',
  )
})
