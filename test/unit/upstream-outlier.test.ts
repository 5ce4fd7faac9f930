import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { OutlierDetectionConfig } from '../../src/config/types.ts'
import {
  ejectionMs,
  expireEjection,
  isEjected,
  maxEjected,
  type OutlierState,
  recordFailure,
  recordSuccess,
} from '../../src/upstream/outlier.ts'

const config: OutlierDetectionConfig = {
  consecutiveFailures: 3,
  baseEjectionMs: 1000,
  maxEjectionMs: 2500,
  maxEjectedPercent: 50,
}

function states(n: number): OutlierState[] {
  return Array.from({ length: n }, () => ({ failures: 0, ejections: 0, ejectedUntil: 0 }))
}

function failTimes(all: OutlierState[], index: number, times: number, now: number, cfg = config): boolean[] {
  return Array.from({ length: times }, () => recordFailure(all, index, now, cfg))
}

describe('outlier ejection', () => {
  test('ejects on the Nth consecutive failure for one base', () => {
    const all = states(4)
    assert.deepEqual(failTimes(all, 1, 3, 10_000), [false, false, true])
    assert.equal(all[1]!.ejectedUntil, 11_000)
    assert.equal(all[1]!.ejections, 1)
    assert.ok(isEjected(all[1]!, 10_999))
    assert.ok(!isEjected(all[1]!, 11_000))
    assert.ok(!isEjected(all[0]!, 10_000))
  })

  test('a success resets the consecutive count', () => {
    const all = states(4)
    failTimes(all, 0, 2, 0)
    recordSuccess(all[0]!)
    assert.deepEqual(failTimes(all, 0, 2, 0), [false, false])
    assert.equal(all[0]!.ejectedUntil, 0)
    assert.equal(recordFailure(all, 0, 0, config), true)
  })

  test('each ejection lasts one base longer, up to the maximum', () => {
    assert.deepEqual(
      [1, 2, 3, 10].map((n) => ejectionMs(n, config)),
      [1000, 2000, 2500, 2500],
    )
    const all = states(2)
    let now = 0
    const durations: number[] = []
    for (let round = 0; round < 3; round++) {
      failTimes(all, 0, 3, now)
      durations.push(all[0]!.ejectedUntil - now)
      now = all[0]!.ejectedUntil
      assert.ok(expireEjection(all[0]!, now))
    }
    assert.deepEqual(durations, [1000, 2000, 2500])
  })

  test('expiry is reported once, when the time is up', () => {
    const all = states(2)
    failTimes(all, 0, 3, 0)
    assert.equal(expireEjection(all[0]!, 999), false)
    assert.equal(expireEjection(all[0]!, 1000), true)
    assert.equal(expireEjection(all[0]!, 1001), false)
    assert.equal(all[0]!.ejectedUntil, 0)
    assert.equal(expireEjection(all[1]!, 5000), false)
  })

  test('failures while ejected do not extend the ejection', () => {
    const all = states(2)
    failTimes(all, 0, 3, 0)
    assert.deepEqual(failTimes(all, 0, 3, 500), [false, false, false])
    assert.equal(all[0]!.ejectedUntil, 1000)
    assert.equal(all[0]!.ejections, 1)
  })

  test('at most maxEjectedPercent are ejected; the next failure ejects once room frees', () => {
    const all = states(4)
    const cfg = { ...config, maxEjectedPercent: 50 }
    assert.ok(failTimes(all, 0, 3, 0, cfg)[2])
    assert.ok(failTimes(all, 1, 3, 0, cfg)[2])
    assert.deepEqual(failTimes(all, 2, 4, 0, cfg), [false, false, false, false])
    assert.equal(all[2]!.ejectedUntil, 0)
    assert.equal(recordFailure(all, 2, 1000, cfg), true)
    assert.equal(all[2]!.ejectedUntil, 2000)
  })

  test('a small percentage still allows one ejection; zero allows none', () => {
    assert.equal(maxEjected(3, 10), 1)
    assert.equal(maxEjected(10, 25), 2)
    assert.equal(maxEjected(4, 100), 4)
    assert.equal(maxEjected(4, 0), 0)
    const all = states(3)
    assert.ok(failTimes(all, 0, 3, 0, { ...config, maxEjectedPercent: 10 })[2])
    assert.ok(!failTimes(all, 1, 3, 0, { ...config, maxEjectedPercent: 10 })[2])
    const none = states(3)
    assert.ok(!failTimes(none, 0, 5, 0, { ...config, maxEjectedPercent: 0 }).some(Boolean))
  })
})
