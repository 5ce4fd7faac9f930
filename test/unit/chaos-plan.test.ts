/** The seeded parts of a chaos run: randomness, byte streams, the mesh's paths, the fault schedule, options. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseChaosArgs } from '../helpers/chaos/args.ts'
import {
  FAULT_KINDS,
  faultLabel,
  LANE_NAMES,
  LANES,
  laneFaults,
  laneOf,
  laneStep,
  locksOf,
  PAUSE_EVERY_ROUNDS,
  restartedNode,
  sequenceFaults,
} from '../helpers/chaos/faults.ts'
import { SeededBytes, SeededRandom, StreamCheck } from '../helpers/chaos/random.ts'
import { chaosPaths, meshPaths, pathComponents } from '../helpers/chaos/topology.ts'

function take<T>(it: Iterator<T>, n: number): T[] {
  const out: T[] = []
  for (let i = 0; i < n; i++) {
    const next = it.next()
    if (next.done) break
    out.push(next.value)
  }
  return out
}

describe('SeededRandom', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const draw = (seed: number) =>
      Array.from(
        { length: 5 },
        (
          (r) => () =>
            r.nextUint32()
        )(new SeededRandom(seed)),
      )
    assert.deepEqual(draw(7), draw(7))
    assert.notDeepEqual(draw(7), draw(8))
  })

  it('stays in range and spreads evenly', () => {
    const r = new SeededRandom(1)
    const counts = [0, 0, 0, 0]
    for (let i = 0; i < 4000; i++) {
      const v = r.next()
      assert.ok(v >= 0 && v < 1)
      counts[r.int(0, 3)]! += 1
    }
    for (const c of counts) assert.ok(c > 850 && c < 1150, `bucket counts ${counts}`)
  })

  it('forks independent streams that depend only on the seed and the label', () => {
    const a = new SeededRandom(3).fork(1).nextUint32()
    assert.equal(new SeededRandom(3).fork(1).nextUint32(), a)
    assert.notEqual(new SeededRandom(3).fork(2).nextUint32(), a)
  })

  it('shuffles without losing or repeating an item', () => {
    const items = ['a', 'b', 'c', 'd', 'e']
    const shuffled = new SeededRandom(9).shuffle(items)
    assert.deepEqual([...shuffled].sort(), items)
    assert.throws(() => new SeededRandom(1).pick([]), RangeError)
  })
})

describe('seeded bytes', () => {
  it('are the same however they are cut into chunks', () => {
    const whole = new SeededBytes(42).take(1000)
    const pieces = new SeededBytes(42)
    const cut = Buffer.concat([1, 3, 4, 5, 7, 980].map((n) => pieces.take(n)))
    assert.deepEqual(cut, whole)
  })

  it('check byte for byte: a changed byte, or a byte beyond what was sent, is corrupt', () => {
    const sent = new SeededBytes(5).take(100)
    const ok = new StreamCheck(5)
    ok.add(sent.subarray(0, 33), 100)
    ok.add(sent.subarray(33), 100)
    assert.equal(ok.received, 100)
    assert.equal(ok.corrupt, 0)

    const flipped = Buffer.from(sent)
    flipped[50] = (flipped[50] as number) ^ 0xff
    const bad = new StreamCheck(5)
    bad.add(flipped, 100)
    assert.equal(bad.corrupt, 1)

    const extra = new StreamCheck(5)
    extra.add(Buffer.concat([sent.subarray(0, 10), Buffer.from('xyz')]), 10)
    assert.equal(extra.corrupt, 3, 'bytes beyond what was sent cannot be right')
  })
})

describe('chaos mesh paths', () => {
  it('lists every loopless path from the ingress to an egress', () => {
    const paths = chaosPaths().map((p) => p.join('>'))
    assert.deepEqual(paths.sort(), ['a>b>c', 'a>b>d', 'a>c', 'a>d'])
  })

  it('never revisits a node, even on a cycle', () => {
    const links = [
      { from: 'x', to: 'y' },
      { from: 'y', to: 'x' },
      { from: 'y', to: 'z' },
    ]
    assert.deepEqual(meshPaths('x', ['z'], links), [['x', 'y', 'z']])
  })

  it('a path needs each of its nodes and links', () => {
    assert.deepEqual(pathComponents(['a', 'b', 'c']), ['node:a', 'node:b', 'node:c', 'link:a>b', 'link:b>c'])
  })

  it('every single node fault and link fault together still leave a working path', () => {
    for (const node of ['b', 'c', 'd']) {
      for (const link of ['a>b', 'b>c', 'b>d', 'a>c', 'a>d']) {
        const broken = new Set([`node:${node}`, `link:${link}`])
        const working = chaosPaths().filter((p) => !pathComponents(p).some((c) => broken.has(c)))
        assert.ok(working.length > 0, `${node} and ${link} broken`)
      }
    }
  })
})

describe('fault schedule', () => {
  it('replays the same faults for the same seed', () => {
    for (const lane of LANE_NAMES) {
      assert.deepEqual(take(laneFaults(lane, 11), 20), take(laneFaults(lane, 11), 20))
    }
    assert.notDeepEqual(take(laneFaults('nodes', 11), 20), take(laneFaults('nodes', 12), 20))
  })

  it('gives every kind of a lane its turn once per round, pauses one round in three', () => {
    for (const lane of LANE_NAMES) {
      const kinds = LANES[lane].kinds
      const others = kinds.filter((k) => k !== 'pause')
      const sizes = Array.from({ length: 6 }, (_, round) =>
        round % PAUSE_EVERY_ROUNDS === 0 ? kinds.length : others.length,
      )
      const plans = take(
        laneFaults(lane, 5),
        sizes.reduce((a, b) => a + b, 0),
      )
      let at = 0
      for (const [round, size] of sizes.entries()) {
        const inRound = plans.slice(at, at + size).map((p) => p.kind)
        at += size
        const expected = round % PAUSE_EVERY_ROUNDS === 0 ? kinds : others
        assert.deepEqual([...inRound].sort(), [...expected].sort(), `${lane} round ${round}`)
      }
      assert.deepEqual(
        plans.map((p) => p.index),
        plans.map((_, i) => i),
      )
    }
    const pausesOnly = take(laneFaults('nodes', 5, ['pause']), 4)
    assert.deepEqual(
      pausesOnly.map((p) => p.kind),
      Array(4).fill('pause'),
      'asked for pauses only, every round has one',
    )
  })

  it('covers every kind across the lanes, and keeps each part of the system in one lane', () => {
    assert.deepEqual(new Set(LANE_NAMES.flatMap((l) => LANES[l].kinds)), new Set(FAULT_KINDS))
    const pauses = LANE_NAMES.flatMap((l) => LANES[l].pauses)
    assert.equal(new Set(pauses).size, pauses.length)
  })

  it('draws each fault within its bounds, with the details its kind needs', () => {
    for (const plan of LANE_NAMES.flatMap((l) => take(laneFaults(l, 99), 60))) {
      assert.ok(plan.holdMs >= 50 && plan.holdMs <= 3000, `${plan.kind} hold ${plan.holdMs}`)
      assert.ok(['c', 'd'].includes(plan.egress))
      assert.equal(plan.pause !== undefined, plan.kind === 'pause')
      if (plan.pause) assert.ok(LANES[plan.lane].pauses.includes(plan.pause))
      assert.equal(plan.link !== undefined, plan.kind === 'link_blackhole' || plan.kind === 'link_loss')
      assert.equal(plan.lossRatio !== undefined, plan.kind === 'link_loss')
      if (plan.lossRatio !== undefined) assert.ok(plan.lossRatio >= 0.05 && plan.lossRatio <= 0.3)
      assert.equal(plan.order !== undefined, plan.kind === 'scheduler_restart')
    }
  })

  it('keeps to the kinds asked for, and a lane left with none stays empty', () => {
    const only = take(laneFaults('nodes', 1, ['relay_kill']), 5)
    assert.deepEqual(
      only.map((p) => p.kind),
      Array(5).fill('relay_kill'),
    )
    assert.deepEqual(take(laneFaults('links', 1, ['relay_kill']), 5), [])
  })

  it('plans a fixed list in order, each in the lane of its part', () => {
    const plans = sequenceFaults(['relay_kill', { pause: 'etcd_leader' }, 'scheduler_restart'], 4)
    assert.deepEqual(
      plans.map((p) => [p.kind, p.lane, p.pause]),
      [
        ['relay_kill', 'nodes', undefined],
        ['pause', 'store', 'etcd_leader'],
        ['scheduler_restart', 'control', undefined],
      ],
    )
    assert.deepEqual(plans, sequenceFaults(['relay_kill', { pause: 'etcd_leader' }, 'scheduler_restart'], 4))
    assert.equal(laneOf('pause', 'relay'), 'nodes')
  })

  it('names what each fault holds: the relay, or the egresses (one down at a time)', () => {
    const plans = sequenceFaults(
      [
        'relay_kill',
        'egress_kill',
        { pause: 'relay' },
        { pause: 'egress' },
        { pause: 'etcd_leader' },
        'link_loss',
      ],
      3,
    )
    assert.deepEqual(plans.map(locksOf), [['relay'], ['egresses'], ['relay'], ['egresses'], [], []])
    const restarts = take(laneFaults('control', 8, ['scheduler_restart']), 20)
    for (const r of restarts) {
      const node = restartedNode(r)
      assert.deepEqual(locksOf(r), [node === 'b' ? 'relay' : 'egresses'])
      assert.ok(node === 'b' || node === r.egress)
    }
    assert.deepEqual(new Set(restarts.map((r) => r.restarts)), new Set(['relay', 'egress']))
  })

  it('within the phase injects all; past it only kinds short of their count, until all have it', () => {
    const clock = { nowMs: 0, endAtMs: 1000, lastAtMs: 3000, atLeast: 2 }
    const kinds = ['relay_kill', 'egress_kill'] as const
    const counts = new Map([['relay_kill' as const, 2]])
    assert.equal(laneStep(clock, counts, kinds, 'relay_kill'), 'inject')
    const late = { ...clock, nowMs: 1500 }
    assert.equal(laneStep(late, counts, kinds, 'relay_kill'), 'skip')
    assert.equal(laneStep(late, counts, kinds, 'egress_kill'), 'inject')
    const done = new Map([
      ['relay_kill' as const, 2],
      ['egress_kill' as const, 3],
    ])
    assert.equal(laneStep(late, done, kinds, 'egress_kill'), 'stop')
    assert.equal(
      laneStep({ ...late, nowMs: 3000 }, counts, kinds, 'egress_kill'),
      'stop',
      'never past the last moment',
    )
    assert.equal(
      laneStep({ ...late, atLeast: 0 }, counts, kinds, 'egress_kill'),
      'stop',
      'no count asked: on time',
    )
  })

  it('labels a fault with its target', () => {
    const [pause, loss, restart] = sequenceFaults([{ pause: 'egress' }, 'link_loss', 'scheduler_restart'], 2)
    assert.match(faultLabel(pause!), /^pause\(egress [cd]\)$/)
    assert.match(faultLabel(loss!), /^link_loss\([a-d]>[a-d] \d+%\)$/)
    assert.match(faultLabel(restart!), /^scheduler_restart\((scheduler|nodes)_first, [bcd]\)$/)
  })
})

describe('npm run chaos options', () => {
  it('reads minutes, seed, kinds, a count per kind and the output files', () => {
    const argv = ['--minutes', '0.5', '--seed', '42', '--kinds', 'relay_kill,pause', '--at-least', '60']
    assert.deepEqual(parseChaosArgs([...argv, '--out', 'r.md', '--json', 'r.json']), {
      minutes: 0.5,
      seed: 42,
      kinds: ['relay_kill', 'pause'],
      atLeast: 60,
      out: 'r.md',
      json: 'r.json',
      help: false,
    })
    assert.deepEqual(parseChaosArgs([]), {
      minutes: 10,
      seed: undefined,
      kinds: [],
      atLeast: 0,
      out: undefined,
      json: undefined,
      help: false,
    })
    assert.equal(parseChaosArgs(['--help']).help, true)
  })

  for (const [argv, option] of [
    [['--minutes', '0'], '--minutes'],
    [['--minutes', 'ten'], '--minutes'],
    [['--seed', '-1'], '--seed'],
    [['--seed', '1.5'], '--seed'],
    [['--seed', '4294967296'], '--seed'],
    [['--kinds', 'relay_kill,meteor'], '--kinds'],
    [['--at-least', '-3'], '--at-least'],
    [['--seed'], '--seed'],
    [['--fast'], '--fast'],
  ] as const) {
    it(`refuses ${argv.join(' ')} naming ${option}`, () => {
      assert.throws(
        () => parseChaosArgs(argv),
        (err: Error & { code?: string; option?: string }) =>
          err.code === 'DYN_ERR_TESTING_CHAOS_OPTION' &&
          err.option === option &&
          err.message.startsWith(`chaos option ${option}=`),
      )
    })
  }
})
