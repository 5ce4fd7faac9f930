import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { backoffMs, equalJitter, jitteredBackoffMs } from '../../src/util/backoff.ts'
import { splitHostPort } from '../../src/util/host-port.ts'

describe('backoffMs', () => {
  test('doubles from the base with each attempt, up to the cap', () => {
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5].map((a) => backoffMs(a, 200, 5_000)),
      [200, 400, 800, 1_600, 3_200, 5_000],
    )
  })

  test('a negative attempt is the first; a huge one stays at the cap', () => {
    assert.equal(backoffMs(-4, 200, 5_000), 200)
    assert.equal(backoffMs(10_000, 200, 5_000), 5_000)
  })

  test('a cap below the base never waits less than the base', () => {
    assert.equal(backoffMs(3, 5_000, 1_000), 5_000)
  })
})

describe('equal jitter', () => {
  test('keeps half the delay and scales the other half', () => {
    assert.equal(equalJitter(1_000, 0), 500)
    assert.equal(equalJitter(1_000, 0.5), 750)
    assert.equal(equalJitter(1_000, 0.999_999), 1_000)
  })

  test('clamps a random value outside [0, 1)', () => {
    assert.equal(equalJitter(1_000, -1), 500)
    assert.equal(equalJitter(1_000, 7), 1_000)
  })

  test('jitteredBackoffMs is the two together', () => {
    assert.equal(jitteredBackoffMs(2, 200, 5_000, 0), 400)
    assert.equal(jitteredBackoffMs(2, 200, 5_000, 0.999_999), 800)
  })
})

describe('splitHostPort', () => {
  test('splits names, IPv4 and bracketed IPv6, brackets removed', () => {
    assert.deepEqual(splitHostPort('db.internal:5432'), { host: 'db.internal', port: 5432 })
    assert.deepEqual(splitHostPort('10.0.0.1:80'), { host: '10.0.0.1', port: 80 })
    assert.deepEqual(splitHostPort('[2001:db8::1]:443'), { host: '2001:db8::1', port: 443 })
  })
})
