import assert from 'node:assert/strict'
import { test } from 'node:test'
import { isDegraded, reconnectDelayMs } from '../../src/scheduler-client/backoff.ts'

const policy = { baseMs: 5_000, capMs: 60_000, maxRetries: 3 }

test('the delay doubles from retry_interval, jittered between half and all of it', () => {
  const patient = { ...policy, maxRetries: 10 }
  const ceilings = [5_000, 10_000, 20_000, 40_000]
  for (const [i, ceiling] of ceilings.entries()) {
    assert.equal(reconnectDelayMs(i + 1, patient, 0), ceiling / 2)
    assert.equal(reconnectDelayMs(i + 1, patient, 0.5), (ceiling * 3) / 4)
    assert.equal(reconnectDelayMs(i + 1, patient, 0.999_999), ceiling)
  }
})

test('never beyond the cap, also for huge failure counts', () => {
  const long = { baseMs: 5_000, capMs: 60_000, maxRetries: 1_000 }
  assert.equal(reconnectDelayMs(5, long, 1), 60_000, '5 s × 2^4 = 80 s is capped')
  assert.equal(reconnectDelayMs(500, long, 1), 60_000)
  assert.equal(reconnectDelayMs(500, long, 0), 30_000)
  assert.ok(Number.isFinite(reconnectDelayMs(Number.MAX_SAFE_INTEGER, long, 0.3)))
})

test('degraded after max_retries consecutive failures: waits the capped delay', () => {
  assert.equal(isDegraded(2, policy), false)
  assert.equal(isDegraded(3, policy), true)
  assert.equal(isDegraded(4, policy), true)
  assert.equal(reconnectDelayMs(3, policy, 0), 30_000)
  assert.equal(reconnectDelayMs(3, policy, 1), 60_000)
})

test('max_retries 0 degrades at the first failure, never before one', () => {
  const eager = { ...policy, maxRetries: 0 }
  assert.equal(isDegraded(0, eager), false)
  assert.equal(isDegraded(1, eager), true)
})

test('a cap below retry_interval does not shorten the base delay', () => {
  assert.equal(reconnectDelayMs(1, { baseMs: 5_000, capMs: 1_000, maxRetries: 3 }, 1), 5_000)
})

test('a random value out of [0, 1) is clamped', () => {
  assert.equal(reconnectDelayMs(1, policy, -3), 2_500)
  assert.equal(reconnectDelayMs(1, policy, 7), 5_000)
})
