import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatDuration, MAX_DURATION_MS, parseDuration, readDuration } from '../../src/config/duration.ts'

describe('parseDuration', () => {
  const good: [string, number][] = [
    ['250ms', 250],
    ['30s', 30_000],
    ['1.5s', 1500],
    ['.5s', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['1m30s250ms', 90_250],
    ['0s', 0],
    ['596h31m23s647ms', MAX_DURATION_MS],
  ]
  for (const [text, ms] of good) {
    it(`reads "${text}" as ${ms} ms`, () => assert.equal(parseDuration(text), ms))
  }

  const bad: [string, RegExp][] = [
    ['30', /expected a duration with a unit, got "30" \(hint: write "30s" or "30ms"\)/],
    ['', /expected a duration such as "250ms", "30s", "1h30m", got ""/],
    ['5x', /unknown duration unit "x" in "5x"/],
    ['2d', /unknown duration unit "d" in "2d"/],
    ['-5s', /cannot be negative, got "-5s"/],
    ['30s1m', /from largest to smallest, each once, got "30s1m"/],
    ['1s1s', /from largest to smallest/],
    ['1h0.5m', /only the first part of a duration may have a fraction/],
    ['1.5ms', /"1.5ms" is not a whole number of milliseconds/],
    ['5 s', /expected a duration such as/],
    ['s', /expected a duration such as/],
    ['597h', /exceeds the longest timer Node supports \(596h31m23s647ms\)/],
  ]
  for (const [text, message] of bad) {
    it(`rejects "${text}"`, () => {
      assert.throws(() => parseDuration(text), { code: 'DYN_ERR_CONFIG_DURATION', message })
      assert.ok('error' in readDuration(text))
    })
  }
})

describe('formatDuration', () => {
  it('writes the shortest form that reads back to the same value', () => {
    for (const ms of [0, 1, 250, 1000, 1500, 30_000, 90_250, 5_400_000, MAX_DURATION_MS]) {
      assert.equal(parseDuration(formatDuration(ms)), ms)
    }
    assert.equal(formatDuration(5_400_000), '1h30m')
    assert.equal(formatDuration(1500), '1s500ms')
    assert.equal(formatDuration(0), '0s')
  })

  it('refuses values that are not whole non-negative milliseconds', () => {
    assert.throws(() => formatDuration(-1), { code: 'DYN_ERR_CONFIG_DURATION' })
    assert.throws(() => formatDuration(1.5), { code: 'DYN_ERR_CONFIG_DURATION' })
  })
})
