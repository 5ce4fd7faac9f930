import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { RECONNECT_BASE_MS, RECONNECT_CAP_MS, reconnectDelayMs } from '../../src/peer/backoff.ts'

describe('reconnectDelayMs', () => {
  test('starts between half the base and the base', () => {
    assert.equal(reconnectDelayMs(0, 0), RECONNECT_BASE_MS / 2)
    assert.equal(reconnectDelayMs(0, 0.999999), RECONNECT_BASE_MS)
  })
  test('doubles per attempt', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((a) => reconnectDelayMs(a, 0.5)),
      [150, 300, 600, 1200],
    )
  })
  test(`is capped at ${RECONNECT_CAP_MS} ms, even for huge attempt counts`, () => {
    for (const attempt of [5, 10, 100, 1e9]) {
      const d = reconnectDelayMs(attempt, 0.999999)
      assert.ok(d <= RECONNECT_CAP_MS && d >= RECONNECT_CAP_MS / 2, `${attempt}: ${d}`)
    }
    assert.equal(reconnectDelayMs(1e9, 0), RECONNECT_CAP_MS / 2)
  })
  test('jitter spreads the delay and never reaches 0', () => {
    const delays = new Set([0, 0.25, 0.5, 0.75].map((r) => reconnectDelayMs(3, r)))
    assert.equal(delays.size, 4)
    for (const d of delays) assert.ok(d >= 800 && d <= 1600)
  })
  test('a negative attempt is treated as the first', () => {
    assert.equal(reconnectDelayMs(-3, 0.5), reconnectDelayMs(0, 0.5))
  })
})
