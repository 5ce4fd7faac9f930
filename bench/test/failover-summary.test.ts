import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Attempt, combineKills, summarizeKill } from '../scenarios/failover-summary.ts'

const a = (startMs: number, endMs: number, ok: boolean): Attempt => ({ startMs, endMs, ok })

describe('summarizeKill', () => {
  it('judges only connections started within the window after the kill', () => {
    const attempts = [
      a(980, 1_001, false), // cut by the kill: not one of the judged
      a(1_010, 1_012, false),
      a(1_030, 1_300, true),
      a(1_050, 1_052, true),
      a(3_500, 3_501, false), // after the window
    ]
    assert.deepEqual(summarizeKill(attempts, 1_000, 2_000), {
      firstOkMs: 300,
      failed: 1,
      worstMs: 270,
      attempts: 3,
    })
  })

  it('takes the first success by start time, not by end time', () => {
    const out = summarizeKill([a(1_050, 1_060, true), a(1_020, 1_400, true)], 1_000, 2_000)
    assert.equal(out.firstOkMs, 400)
  })

  it('has no failover time when nothing succeeded', () => {
    const out = summarizeKill([a(1_010, 1_011, false), a(1_030, 1_031, false)], 1_000, 2_000)
    assert.equal(out.firstOkMs, undefined)
    assert.equal(out.failed, 2)
    assert.equal(out.worstMs, 0)
  })
})

describe('combineKills', () => {
  it('keeps the slowest failover and latency and sums the failures', () => {
    const kills = [
      { firstOkMs: 10, failed: 0, worstMs: 12, attempts: 100 },
      { firstOkMs: 25, failed: 2, worstMs: 30, attempts: 100 },
    ]
    assert.deepEqual(combineKills(kills), { firstOkMs: 25, failed: 2, worstMs: 30 })
  })

  it('has no failover time when one kill had none', () => {
    const kills = [
      { firstOkMs: 10, failed: 0, worstMs: 12, attempts: 100 },
      { firstOkMs: undefined, failed: 100, worstMs: 0, attempts: 100 },
    ]
    assert.equal(combineKills(kills).firstOkMs, undefined)
    assert.equal(combineKills(kills).failed, 100)
  })
})
