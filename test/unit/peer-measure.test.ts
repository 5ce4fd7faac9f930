import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  EMPTY_METRICS,
  LOSS_WINDOW,
  lossRatio,
  recordAnswered,
  recordUnanswered,
  smoothJitter,
  smoothRtt,
  withOutcome,
} from '../../src/peer/measure.ts'

describe('smoothRtt (α = 1/8)', () => {
  test('the first sample is taken as is', () => {
    assert.equal(smoothRtt(undefined, 40), 40)
  })
  test('later samples move it an eighth of the way', () => {
    assert.equal(smoothRtt(40, 48), 41)
    assert.equal(smoothRtt(40, 32), 39)
  })
  test('converges to a steady RTT', () => {
    let srtt: number | undefined
    for (let i = 0; i < 200; i++) srtt = smoothRtt(srtt ?? 100, 20)
    assert.ok(Math.abs((srtt ?? 0) - 20) < 1e-6)
  })
})

describe('smoothJitter (RFC 3550, gain 1/16)', () => {
  test('no jitter before there are two RTTs', () => {
    assert.equal(smoothJitter(undefined, undefined, 10), 0)
  })
  test('J += (|D| − J) / 16', () => {
    assert.equal(smoothJitter(0, 10, 26), 1)
    assert.equal(smoothJitter(1, 26, 10), 1 + (16 - 1) / 16)
  })
  test('a constant RTT decays jitter towards 0', () => {
    let j = 8
    for (let i = 0; i < 200; i++) j = smoothJitter(j, 10, 10)
    assert.ok(j < 0.01)
  })
})

describe('loss window', () => {
  test('undefined before any outcome', () => {
    assert.equal(lossRatio([]), undefined)
  })
  test('share of unanswered probes', () => {
    assert.equal(lossRatio([true, false, true, false]), 0.5)
    assert.equal(lossRatio([true, true]), 0)
  })
  test(`keeps only the last ${LOSS_WINDOW} outcomes`, () => {
    let outcomes: boolean[] = []
    for (let i = 0; i < LOSS_WINDOW; i++) outcomes = withOutcome(outcomes, false)
    assert.equal(lossRatio(outcomes), 1)
    for (let i = 0; i < LOSS_WINDOW / 2; i++) outcomes = withOutcome(outcomes, true)
    assert.equal(outcomes.length, LOSS_WINDOW)
    assert.equal(lossRatio(outcomes), 0.5)
    for (let i = 0; i < LOSS_WINDOW; i++) outcomes = withOutcome(outcomes, true)
    assert.equal(lossRatio(outcomes), 0)
  })
  test('does not mutate its input', () => {
    const before = [true]
    withOutcome(before, false)
    assert.deepEqual(before, [true])
  })
})

describe('recordAnswered / recordUnanswered', () => {
  test('combine RTT, jitter and loss', () => {
    let m = recordAnswered(EMPTY_METRICS, 40)
    assert.deepEqual(m, { rttMs: 40, jitterMs: 0, lastRttMs: 40, outcomes: [true] })
    m = recordAnswered(m, 56)
    assert.equal(m.rttMs, 42)
    assert.equal(m.jitterMs, 1)
    m = recordUnanswered(m)
    assert.equal(m.rttMs, 42)
    assert.equal(lossRatio(m.outcomes), 1 / 3)
  })
})
