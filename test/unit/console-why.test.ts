import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { explain, marginsOf, verdictOf, yardstickOf } from '../../src/scheduler/console/why.ts'
import type { ComputedPath } from '../../src/scheduler/paths/types.ts'
import type { Selection } from '../../src/scheduler/plan/planner.ts'

const H = { relative: 0.1, absolute: 5, minDwellMs: 30_000 }

function path(nodes: string[], rttMs: number, bottleneckBps = 0): ComputedPath {
  return { nodes, cost: rttMs, metrics: { rttMs, bottleneckBps, loss: 0, costPerGb: 0 } }
}

function selected(
  chosen: ComputedPath,
  candidates: ComputedPath[],
  since: number,
  left: { key: string; at: number }[] = [],
): Selection {
  return {
    key: 'web|a|listener:web',
    service: 'web',
    ingress: { node: 'a', listener: 'web' },
    candidates,
    choice: { path: chosen, since, left },
  }
}

describe('where an alternative stands', () => {
  const m = marginsOf('latency', H, 0, 60_000)
  const dwelling = marginsOf('latency', H, 50_000, 60_000)
  const cases: [string, { absolute: number; relative: number }, boolean, typeof m, string][] = [
    ['not better', { absolute: -3, relative: -0.1 }, false, m, 'worse'],
    ['better by too little (relative)', { absolute: 8, relative: 0.05 }, false, m, 'below_threshold'],
    ['better by too little (absolute)', { absolute: 4, relative: 0.5 }, false, m, 'below_threshold'],
    ['left recently, better by the margins once', { absolute: 8, relative: 0.15 }, true, m, 'damped'],
    ['left recently, better by twice the margins', { absolute: 12, relative: 0.25 }, true, m, 'next'],
    ['better, the current path kept long enough', { absolute: 8, relative: 0.15 }, false, m, 'next'],
    ['better, while the current path dwells', { absolute: 8, relative: 0.15 }, false, dwelling, 'dwell'],
  ]
  for (const [name, gain, left, margins, verdict] of cases)
    test(name, () => assert.equal(verdictOf(gain, margins, left), verdict))
})

describe('why a service takes its path', () => {
  test('figures, margins, dwell left, and the direct link as the yardstick', () => {
    const abc = path(['a', 'b', 'c'], 20)
    const ac = path(['a', 'c'], 80)
    const why = explain({
      selection: selected(abc, [abc, ac], 100_000),
      objective: 'latency',
      hysteresis: H,
      now: 110_000,
      direct: ac,
      lastSwitch: undefined,
    })
    assert.deepEqual(why.chosen?.nodes, ['a', 'b', 'c'])
    assert.equal(why.margins.dwellLeftMs, 20_000)
    assert.equal(why.margins.unit, 'ms')
    assert.deepEqual(
      why.alternatives.map((a) => [a.nodes.join(''), a.verdict, a.gain.absolute]),
      [['ac', 'worse', -60]],
    )
    assert.deepEqual(why.yardstick, { figure: 'rttMs', unit: 'ms', chosen: 20, direct: 80 })
    assert.equal(why.lastSwitch, null)
  })

  test('a better path waiting out the dwell, and paths left recently', () => {
    const slow = path(['a', 'c'], 80)
    const fast = path(['a', 'b', 'c'], 20)
    const why = explain({
      selection: selected(slow, [fast, slow], 100_000, [{ key: 'a\u0000d\u0000c', at: 90_000 }]),
      objective: 'latency',
      hysteresis: H,
      now: 110_000,
      direct: slow,
      lastSwitch: undefined,
    })
    assert.equal(why.alternatives[0]?.verdict, 'dwell')
    assert.deepEqual(why.recentlyLeft, [['a', 'd', 'c']])
  })

  test('throughput: higher is better, the margin is in bytes per second', () => {
    const wide = path(['a', 'b', 'c'], 0, 50e6)
    const thin = path(['a', 'c'], 0, 10e6)
    const why = explain({
      selection: selected(wide, [wide, thin], 0),
      objective: 'throughput',
      hysteresis: H,
      now: 60_000,
      direct: thin,
      lastSwitch: undefined,
    })
    assert.equal(why.margins.unit, 'B/s')
    assert.equal(why.margins.absolute, 1_000_000)
    assert.equal(why.alternatives[0]?.verdict, 'worse')
    assert.deepEqual(yardstickOf('throughput', why.chosen, why.direct), {
      figure: 'bottleneckBps',
      unit: 'B/s',
      chosen: 50e6,
      direct: 10e6,
    })
  })

  test('no choice: nothing chosen, no alternatives to weigh, no yardstick', () => {
    const why = explain({
      selection: { key: 'k', service: 'web', ingress: { node: 'a', port: 80 }, candidates: [] },
      objective: 'latency',
      hysteresis: H,
      now: 0,
      direct: undefined,
      lastSwitch: undefined,
    })
    assert.equal(why.chosen, null)
    assert.deepEqual(why.alternatives, [])
    assert.deepEqual(why.yardstick, { figure: 'rttMs', unit: 'ms', chosen: null, direct: null })
  })
})
