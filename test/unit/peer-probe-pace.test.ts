import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type Health, INITIAL_HEALTH } from '../../src/peer/health.ts'
import { EMPTY_METRICS, type LinkMetrics, NOISE_WINDOW } from '../../src/peer/measure.ts'
import { MIN_PROBE_DELAY_MS, nextProbeDelayMs } from '../../src/peer/probe-pace.ts'

const settled: LinkMetrics = {
  ...EMPTY_METRICS,
  rttMs: 20,
  jitterMs: 1,
  changes: Array.from({ length: NOISE_WINDOW }, () => 1),
}
const up: Health = { state: 'up', answeredInRow: 50, unansweredInRow: 0 }

describe('nextProbeDelayMs: a peer in transition is probed sooner', () => {
  test('a settled peer: the probe interval', () => {
    assert.equal(nextProbeDelayMs(up, settled, 1000, false), 1000)
  })

  test('not answering yet, or going down: the probe interval (each probe must time out)', () => {
    assert.equal(nextProbeDelayMs(INITIAL_HEALTH, EMPTY_METRICS, 1000, false), 1000)
    const falling: Health = { state: 'up', answeredInRow: 0, unansweredInRow: 2 }
    assert.equal(nextProbeDelayMs(falling, settled, 1000, false), 1000)
    const down: Health = { state: 'down', answeredInRow: 0, unansweredInRow: 7 }
    assert.equal(nextProbeDelayMs(down, settled, 1000, false), 1000)
  })

  test('coming up: answered, not yet up', () => {
    const rising: Health = { state: 'unknown', answeredInRow: 1, unansweredInRow: 0 }
    assert.equal(nextProbeDelayMs(rising, { ...settled, changes: [] }, 1000, false), 250)
    assert.equal(nextProbeDelayMs({ ...rising, state: 'down' }, settled, 1000, false), 250)
  })

  test(`young: up, with fewer than ${NOISE_WINDOW} changes measured (its noise unknown)`, () => {
    const young = { ...settled, changes: settled.changes.slice(1) }
    assert.equal(nextProbeDelayMs(up, young, 1000, false), 250)
    assert.equal(nextProbeDelayMs(up, settled, 1000, false), 1000)
  })

  test('a level shift of the RTT under way: half an interval, so a short stall is no shift', () => {
    const shifting = { ...settled, shift: { above: false, samples: [10], jitterMs: 1 } }
    assert.equal(nextProbeDelayMs(up, shifting, 1000, false), 500)
  })

  test(`never below ${MIN_PROBE_DELAY_MS} ms, never above the interval`, () => {
    const rising: Health = { state: 'unknown', answeredInRow: 1, unansweredInRow: 0 }
    assert.equal(nextProbeDelayMs(rising, EMPTY_METRICS, 100, false), MIN_PROBE_DELAY_MS)
    assert.equal(nextProbeDelayMs(rising, EMPTY_METRICS, 30, false), 30)
  })

  test('never while a probe is still unanswered: a stall must not time out several at once', () => {
    const rising: Health = { state: 'unknown', answeredInRow: 1, unansweredInRow: 0 }
    assert.equal(nextProbeDelayMs(rising, EMPTY_METRICS, 1000, true), 1000)
    const shifting = { ...settled, shift: { above: false, samples: [10], jitterMs: 1 } }
    assert.equal(nextProbeDelayMs(up, shifting, 1000, true), 1000)
  })
})
