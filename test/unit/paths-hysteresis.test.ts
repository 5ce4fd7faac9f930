import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { choosePath, type HysteresisPolicy, type PathSelection } from '../../src/scheduler/paths/index.ts'
import type { ComputedPath } from '../../src/scheduler/paths/types.ts'

function path(nodes: string, cost: number, bottleneckBps = 0, costPerGb = 0): ComputedPath {
  return { nodes: nodes.split('>'), cost, metrics: { rttMs: cost, bottleneckBps, loss: 0, costPerGb } }
}

const policy: HysteresisPolicy = { objective: 'latency', minDwellMs: 10_000, flapWindowMs: 60_000 }

function start(p: ComputedPath, at = 0): PathSelection {
  const choice = choosePath(undefined, [p], policy, at)
  assert.equal(choice.reason, 'first')
  assert.equal(choice.changed, true)
  return choice.selection!
}

describe('choosePath', () => {
  it('never switches on jitter below the thresholds, however long it runs', () => {
    let sel = start(path('A>B>C', 50))
    for (let t = 1; t <= 200; t++) {
      const wobble = 50 + Math.sin(t) * 3
      const other = 50 - Math.cos(t) * 3
      const candidates = [path('A>D>C', Math.min(wobble, other)), path('A>B>C', Math.max(wobble, other))]
      const choice = choosePath(sel, candidates, policy, t * 1000)
      assert.equal(choice.changed, false, `t=${t}`)
      assert.deepEqual(choice.path?.nodes, ['A', 'B', 'C'])
      sel = choice.selection!
    }
    assert.equal(sel.since, 0)
  })

  it('needs both the relative and the absolute margin', () => {
    const sel = start(path('A>B>C', 200))
    // 8 ms better is > 5 ms but only 4 %.
    assert.equal(
      choosePath(sel, [path('A>D>C', 192), path('A>B>C', 200)], policy, 20_000).reason,
      'below_threshold',
    )
    const small = start(path('A>B>C', 20))
    // 4 ms better is 20 % but < 5 ms.
    assert.equal(
      choosePath(small, [path('A>D>C', 16), path('A>B>C', 20)], policy, 20_000).reason,
      'below_threshold',
    )
  })

  it('switches for a big improvement only after the dwell time', () => {
    const sel = start(path('A>B>C', 80))
    const candidates = [path('A>D>C', 20), path('A>B>C', 80)]
    const early = choosePath(sel, candidates, policy, 9_999)
    assert.deepEqual([early.changed, early.reason, early.path?.nodes.join('>')], [false, 'dwell', 'A>B>C'])
    const later = choosePath(early.selection, candidates, policy, 10_000)
    assert.deepEqual([later.changed, later.reason, later.path?.nodes.join('>')], [true, 'improved', 'A>D>C'])
    assert.equal(later.selection?.since, 10_000)
  })

  it('a path chosen before every node was known is provisional: the dwell does not hold it', () => {
    const first = choosePath(undefined, [path('A>B>C', 80)], policy, 0, false)
    assert.deepEqual([first.reason, first.selection?.provisional], ['first', true])
    const candidates = [path('A>D>C', 20), path('A>B>C', 80)]
    const moved = choosePath(first.selection, candidates, policy, 1_000, true)
    assert.deepEqual([moved.changed, moved.reason, moved.path?.nodes.join('>')], [true, 'improved', 'A>D>C'])
    assert.equal(moved.selection?.provisional, undefined, 'chosen on a complete view')
    const small = choosePath(first.selection, [path('A>D>C', 78), path('A>B>C', 80)], policy, 1_000, true)
    assert.equal(small.reason, 'below_threshold', 'the margins still apply')
  })

  it('a provisional path kept once the view is complete is held by the dwell again', () => {
    const first = choosePath(undefined, [path('A>B>C', 80)], policy, 0, false).selection
    const stillIncomplete = choosePath(first, [path('A>B>C', 80)], policy, 500, false)
    assert.equal(stillIncomplete.selection?.provisional, true)
    const complete = choosePath(stillIncomplete.selection, [path('A>B>C', 80)], policy, 1_000, true)
    assert.deepEqual([complete.reason, complete.selection?.provisional], ['current_best', undefined])
    const later = choosePath(complete.selection, [path('A>D>C', 20), path('A>B>C', 80)], policy, 2_000, true)
    assert.deepEqual([later.changed, later.reason], [false, 'dwell'])
  })

  it('switches at once when the current path is gone, dwell or not', () => {
    const sel = start(path('A>B>C', 20))
    const choice = choosePath(sel, [path('A>D>C', 90)], policy, 1)
    assert.deepEqual(
      [choice.changed, choice.reason, choice.path?.nodes.join('>')],
      [true, 'current_gone', 'A>D>C'],
    )
  })

  it('reports no path when nothing is left', () => {
    const sel = start(path('A>B>C', 20))
    assert.deepEqual(choosePath(sel, [], policy, 5), {
      path: undefined,
      changed: true,
      reason: 'no_path',
      selection: undefined,
    })
    assert.equal(choosePath(undefined, [], policy, 5).changed, false)
  })

  it('keeps the current path when it is the best and refreshes its metrics', () => {
    const sel = start(path('A>B>C', 20))
    const choice = choosePath(sel, [path('A>B>C', 18), path('A>D>C', 40)], policy, 50_000)
    assert.deepEqual([choice.changed, choice.reason, choice.path?.cost], [false, 'current_best', 18])
  })

  it('damps flapping: a path left recently needs twice the improvement to come back', () => {
    let sel = start(path('A>B>C', 100))
    // Leave A>B>C for A>D>C (50 % better).
    sel = choosePath(sel, [path('A>D>C', 50), path('A>B>C', 100)], policy, 10_000).selection!
    assert.deepEqual(sel.path.nodes, ['A', 'D', 'C'])
    // A>B>C is now 15 % better: enough for a fresh path, not for one left 20 s ago.
    const back = [path('A>B>C', 85), path('A>D>C', 100)]
    const damped = choosePath(sel, back, policy, 30_000)
    assert.deepEqual([damped.changed, damped.reason], [false, 'damped'])
    assert.equal(choosePath(sel, [path('A>E>C', 85), path('A>D>C', 100)], policy, 30_000).reason, 'improved')
    // 25 % (> 2 × 10 %, > 2 × 5 ms) overcomes the damping.
    assert.equal(choosePath(sel, [path('A>B>C', 75), path('A>D>C', 100)], policy, 30_000).reason, 'improved')
    // After the flap window the normal margin applies again.
    assert.equal(choosePath(sel, back, policy, 10_000 + 60_000).reason, 'improved')
  })

  it('remembers a path that died as left, so its return is damped too', () => {
    const sel = start(path('A>B>C', 20))
    const gone = choosePath(sel, [path('A>D>C', 40)], policy, 20_000).selection!
    const back = choosePath(gone, [path('A>B>C', 32), path('A>D>C', 40)], policy, 40_000)
    assert.equal(back.reason, 'damped')
  })

  it('measures throughput by bottleneck and cost by price per GB', () => {
    const tp: HysteresisPolicy = { objective: 'throughput', minDwellMs: 0 }
    const cur = choosePath(undefined, [path('A>B', 10, 100e6)], tp, 0).selection
    assert.equal(
      choosePath(cur, [path('A>C>B', 9, 105e6), path('A>B', 10, 100e6)], tp, 1).reason,
      'below_threshold',
    )
    assert.equal(choosePath(cur, [path('A>C>B', 5, 200e6), path('A>B', 10, 100e6)], tp, 1).reason, 'improved')
    const cp: HysteresisPolicy = { objective: 'cost', minDwellMs: 0 }
    const cheap = choosePath(undefined, [path('A>B', 0.1, 0, 0.1)], cp, 0).selection
    assert.equal(
      choosePath(cheap, [path('A>C>B', 0.095, 0, 0.095), path('A>B', 0.1, 0, 0.1)], cp, 1).reason,
      'below_threshold',
    )
    assert.equal(
      choosePath(cheap, [path('A>C>B', 0.05, 0, 0.05), path('A>B', 0.1, 0, 0.1)], cp, 1).reason,
      'improved',
    )
  })

  it('rejects negative or non-finite settings', () => {
    assert.throws(() => choosePath(undefined, [], { objective: 'latency', relativeThreshold: -1 }, 0), {
      code: 'DYN_ERR_PATHS_INVALID_ARGUMENT',
      message: /relativeThreshold=-1/,
    })
    assert.throws(() => choosePath(undefined, [], { objective: 'latency', minDwellMs: Number.NaN }, 0), {
      message: /minDwellMs=NaN/,
    })
  })
})
