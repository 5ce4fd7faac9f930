import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  capacityPrior,
  MIN_WEIGHT,
  multipathWeights,
  type PathTraffic,
  PRIOR_TAU_MS,
  SHARE_ALPHA,
  type WeightInput,
  type WeightMemory,
} from '../../src/scheduler/plan/path-weights.ts'
import { selectionKey } from '../../src/scheduler/plan/planner.ts'
import { reportedTraffic } from '../../src/scheduler/plan/traffic.ts'
import type { NodeRouteReport } from '../../src/scheduler/registry.ts'

const MiB = 1024 * 1024
const DWELL = 10_000

function stripe(over: Partial<WeightInput> = {}): WeightInput {
  return {
    mode: 'stripe',
    paths: ['via-b', 'via-d'],
    bottlenecksBps: [0, 0],
    losses: [0, 0],
    traffic: undefined,
    previous: undefined,
    now: 0,
    minDwellMs: DWELL,
    ...over,
  }
}

/** Measured bottlenecks, nothing lost. */
function caps(...bottlenecksBps: number[]): Pick<WeightInput, 'bottlenecksBps' | 'losses'> {
  return { bottlenecksBps, losses: bottlenecksBps.map(() => 0) }
}

function traffic(version: string, b: number, d: number): PathTraffic {
  return {
    version,
    bytesSent: new Map([
      ['via-b', b],
      ['via-d', d],
    ]),
  }
}

/** Plans again and again, each time with `report(i)`, `stepMs` apart; returns the last plan. */
function replay(
  first: WeightMemory | undefined,
  rounds: number,
  report: (i: number) => PathTraffic,
  stepMs = DWELL,
) {
  let memory = first
  let weights: readonly number[] = []
  for (let i = 0; i < rounds; i++) {
    const next = multipathWeights(stripe({ traffic: report(i), previous: memory, now: (i + 1) * stepMs }))
    memory = next.memory
    weights = next.weights
  }
  return { weights, memory }
}

test('capacity prior: bottleneck relative to the best, times the share delivered; unknown counts as the best', () => {
  assert.deepEqual(capacityPrior([20e6, 10e6], [0, 0]), [1, 0.5])
  assert.deepEqual(capacityPrior([0, 10e6], [0, 0]), [1, 1])
  assert.deepEqual(capacityPrior([0, 0], [0, 0.25]), [1, 0.75])
  assert.deepEqual(capacityPrior([20e6, 10e6], [0.5, 0]), [0.5, 0.5])
  assert.deepEqual(capacityPrior([100e6, 1e6], [0, 0]), [1, MIN_WEIGHT / 100], 'floored')
})

test('stripe starts from capacity: twice the bottleneck, twice the weight', () => {
  assert.deepEqual(multipathWeights(stripe(caps(20e6, 10e6))).weights, [100, 50])
  assert.deepEqual(multipathWeights(stripe(caps(5e6, 15e6))).weights, [33, 100])
  assert.deepEqual(multipathWeights(stripe()).weights, [100, 100], 'nothing measured: equal')
  assert.deepEqual(multipathWeights(stripe(caps(1e9, 1e3))).weights, [100, MIN_WEIGHT])
})

test('failover ranks the paths as the planner ordered them (its choice first); redundant keeps them equal', () => {
  const three = { paths: ['x', 'y', 'z'], ...caps(1e6, 50e6, 20e6) }
  assert.deepEqual(multipathWeights(stripe({ ...three, mode: 'failover' })).weights, [100, 50, 33])
  assert.deepEqual(multipathWeights(stripe({ ...three, mode: 'redundant' })).weights, [100, 100, 100])
  assert.equal(multipathWeights(stripe({ ...three, mode: 'failover' })).memory, undefined)
})

test('a path kept at a lower share than the graph predicts loses weight, by at most SHARE_ALPHA per report', () => {
  const start = multipathWeights(stripe()).memory
  const once = replay(start, 1, () => traffic('1.1', 4 * MiB, 16 * MiB))
  const b = once.memory?.corrections.get('via-b') ?? 0
  // Predicted 1/2 each, seen 1/5 and 4/5: the log ratio of the two moves by α·ln(4).
  assert.ok(Math.abs(b - SHARE_ALPHA * Math.log(0.2 / 0.8)) < 1e-9, `correction ${b}`)
  assert.deepEqual(once.weights, [66, 100])

  const settled = replay(start, 20, (i) => traffic('1.1', (i + 1) * 4 * MiB, (i + 1) * 16 * MiB))
  const learned = Math.exp(settled.memory?.corrections.get('via-b') ?? 0)
  assert.ok(Math.abs(learned - 0.25) < 0.01, `the correction converges to the shares: ${learned}`)
  assert.equal(settled.weights[1], 100)
  assert.ok(
    Math.abs((settled.weights[0] ?? 0) - 25) < 5,
    `the weight stops within the margin: ${settled.weights}`,
  )
})

test('few bytes move the weights little; the same counters reported again move nothing', () => {
  const start = multipathWeights(stripe()).memory
  const small = replay(start, 1, () => traffic('1.1', 100_000, 900_000))
  assert.deepEqual(small.weights, [100, 100], 'one small flow does not swing the weights')
  const again = multipathWeights(
    stripe({ traffic: traffic('1.1', 100_000, 900_000), previous: small.memory, now: 99 * DWELL }),
  )
  assert.deepEqual(again.memory?.corrections, small.memory?.corrections)
})

test('counters of a new set count from 0; a report of other paths teaches nothing', () => {
  const start = multipathWeights(stripe()).memory
  const first = replay(start, 1, () => traffic('1.1', 4 * MiB, 16 * MiB))
  const renewed = multipathWeights(
    stripe({ traffic: traffic('1.2', 4 * MiB, 16 * MiB), previous: first.memory, now: 2 * DWELL }),
  )
  assert.ok(
    (renewed.memory?.corrections.get('via-b') ?? 0) < (first.memory?.corrections.get('via-b') ?? 0),
    'the new set’s bytes count in full',
  )
  const other: PathTraffic = {
    version: '1.3',
    bytesSent: new Map([
      ['via-b', 0],
      ['via-e', 50 * MiB],
    ]),
  }
  const ignored = multipathWeights(stripe({ traffic: other, previous: first.memory, now: 3 * DWELL }))
  assert.deepEqual(ignored.memory?.corrections, first.memory?.corrections)
})

test('a path that carries nothing is floored, never starved, and comes back when its share does', () => {
  const start = multipathWeights(stripe()).memory
  const starved = replay(start, 30, (i) => traffic('1.1', 0, (i + 1) * 16 * MiB))
  assert.deepEqual(starved.weights, [MIN_WEIGHT, 100])
  const back = replay(starved.memory, 30, (i) => traffic('1.2', (i + 1) * 16 * MiB, (i + 1) * 16 * MiB))
  assert.ok(Math.exp(back.memory?.corrections.get('via-b') ?? -1) > 0.95, 'the correction is undone')
  assert.ok((back.weights[0] ?? 0) >= 80, `back within the margin of equal: ${back.weights}`)
})

test('shares that follow the weights in force (app-limited flows) keep them: no feedback drift', () => {
  const prior = multipathWeights(stripe(caps(10e6, 20e6)))
  assert.deepEqual(prior.weights, [50, 100])
  let memory = prior.memory
  for (let i = 0; i < 10; i++) {
    const report = traffic('1.1', (i + 1) * 8 * MiB, (i + 1) * 16 * MiB)
    memory = multipathWeights(
      stripe({ ...caps(10e6, 20e6), traffic: report, previous: memory, now: (i + 1) * DWELL }),
    ).memory
  }
  assert.deepEqual(memory?.weights, [50, 100])
  assert.deepEqual([...(memory?.corrections.values() ?? [])], [0, 0])
})

test('weights move only by 20 % and 5 points, at most once per dwell; new paths take theirs at once', () => {
  const LONG = 10 * PRIOR_TAU_MS // the graph's view has fully counted by then
  const first = multipathWeights(stripe({ ...caps(20e6, 10e6), now: 0 }))
  assert.deepEqual(first.weights, [100, 50])
  const drift = multipathWeights(stripe({ ...caps(20e6, 11e6), previous: first.memory, now: LONG }))
  assert.deepEqual(drift.weights, [100, 50], '55 vs 50: below the margin')
  const moved = multipathWeights(stripe({ ...caps(20e6, 16e6), previous: first.memory, now: LONG }))
  assert.deepEqual(moved.weights, [100, 80])
  assert.equal(moved.memory?.since, LONG)
  const early = multipathWeights(
    stripe({ ...caps(20e6, 16e6), previous: first.memory, now: LONG, minDwellMs: LONG + 1 }),
  )
  assert.deepEqual(early.weights, [100, 50], 'within the dwell')
  const back = multipathWeights(stripe({ ...caps(20e6, 10e6), previous: moved.memory, now: 2 * LONG }))
  const flap = multipathWeights(
    stripe({ ...caps(20e6, 10e6), previous: moved.memory, now: 2 * LONG, minDwellMs: LONG + 1 }),
  )
  assert.deepEqual(back.weights, [100, 50])
  assert.deepEqual(flap.weights, [100, 80], 'no moving back within the dwell')
  const floor = multipathWeights(stripe({ ...caps(1e9, 1e6), now: 0 }))
  const nudged = multipathWeights(stripe({ ...caps(1e9, 6e7), previous: floor.memory, now: LONG }))
  assert.deepEqual(nudged.weights, [100, MIN_WEIGHT], '5 → 6 is 20 % but one point')
  const other = multipathWeights(
    stripe({ paths: ['via-b', 'via-e'], ...caps(20e6, 16e6), previous: first.memory, now: 1 }),
  )
  assert.deepEqual(other.weights, [100, 80], 'another set of paths')
})

test('the graph’s view is smoothed in time: a burst of loss moves no weight, a lasting one does', () => {
  const lossy = (now: number, previous: WeightMemory | undefined) =>
    multipathWeights(stripe({ bottlenecksBps: [0, 0], losses: [0.5, 0], previous, now }))
  const first = multipathWeights(stripe({ now: 0 }))
  assert.deepEqual(lossy(3000, first.memory).weights, [100, 100], 'a 3 s burst')
  let last = lossy(10_000, first.memory)
  for (let t = 2; t <= 15; t++) last = lossy(t * 10_000, last.memory)
  assert.ok((last.weights[0] ?? 100) <= 60, `half the packets lost for 150 s: ${last.weights}`)
  assert.equal(last.weights[1], 100)
})

test('one lost probe in 20 (5 % loss) moves no weight; the same paths reordered keep theirs', () => {
  const first = multipathWeights(stripe({ ...caps(20e6, 10e6), now: 0 }))
  const lost = multipathWeights(
    stripe({
      bottlenecksBps: [20e6, 10e6],
      losses: [0.05, 0],
      previous: first.memory,
      now: 10 * PRIOR_TAU_MS,
    }),
  )
  assert.deepEqual(lost.weights, [100, 50])
  const reordered = multipathWeights(
    stripe({ paths: ['via-d', 'via-b'], ...caps(10e6, 20e6), previous: first.memory, now: 1 }),
  )
  assert.deepEqual(reordered.weights, [50, 100])
  assert.equal(reordered.memory?.since, 0, 'not a change')
})

test('reports map path indices to the planned paths of the route, by the ingress’s selection key', () => {
  const route = {
    name: 'bulk#2',
    service: 'bulk',
    match: { port: 9000 },
    multipath: 'stripe' as const,
    paths: [
      { nodes: ['a', 'b', 'c'], hops: ['b', 'c'], targets: [], weight: 100, cost: 1 },
      { nodes: ['a', 'd', 'c'], hops: ['d', 'c'], targets: [], weight: 100, cost: 2 },
      { nodes: ['a', 'e', 'c'], hops: ['e', 'c'], targets: [], weight: 100, cost: 3 },
    ],
  }
  const single = { ...route, name: 'web', service: 'web', multipath: undefined, match: { listener: 'web' } }
  const report = (name: string, paths: { index: number; bytesSent: number }[]): NodeRouteReport => ({
    route: name,
    matches: { instruction: 1, cachedInstruction: 0, static: 0 },
    bytesIn: 0,
    bytesOut: 0,
    failures: 0,
    paths: paths.map((p) => ({ ...p, bytesReceived: 0, retransmittedBytes: 0, srttMs: 1 })),
  })
  const got = reportedTraffic(new Map([['a', [single, route]]]), [
    {
      id: 'a',
      appliedVersion: '3.7',
      routes: [
        report('web', [{ index: 0, bytesSent: 5 }]),
        report('bulk#2', [
          { index: 1, bytesSent: 700 },
          { index: 0, bytesSent: 300 },
          { index: 9, bytesSent: 1 },
        ]),
        report('gone', [{ index: 0, bytesSent: 1 }]),
      ],
    },
  ])
  assert.deepEqual([...got.keys()], [selectionKey('bulk', { node: 'a', port: 9000 })])
  const t = [...got.values()][0]
  assert.equal(t?.version, '3.7')
  assert.deepEqual(
    [...(t?.bytesSent ?? [])],
    [
      ['a\u0000b\u0000c', 300],
      ['a\u0000d\u0000c', 700],
      ['a\u0000e\u0000c', 0],
    ],
  )
})
