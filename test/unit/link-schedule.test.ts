import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LinkEmulatorOptionError } from '../../src/errors/link-emulator.ts'
import {
  applyShapeUpdate,
  MIN_MAX_QUEUE_BYTES,
  validateMaxQueueBytes,
} from '../../src/link-emulator/options.ts'
import {
  IDLE_LANE,
  type LinkShape,
  RETRANSMIT_TIMEOUT_MS,
  scheduleChunk,
} from '../../src/link-emulator/schedule.ts'

const uncapped: LinkShape = { delayMs: 40, jitterMs: 0, rateBytesPerSec: Number.POSITIVE_INFINITY }
const mid = () => 0.5

describe('scheduleChunk', () => {
  it('delivers a chunk one delay after it enters an idle link', () => {
    const next = scheduleChunk(IDLE_LANE, uncapped, 1000, 100, mid)
    assert.deepEqual(next, { txEndMs: 100, deliverAtMs: 140 })
  })

  it('spreads jitter uniformly over ±jitterMs', () => {
    const shape = { ...uncapped, jitterMs: 10 }
    assert.equal(scheduleChunk(IDLE_LANE, shape, 1, 0, () => 0).deliverAtMs, 30)
    assert.equal(scheduleChunk(IDLE_LANE, shape, 1, 0, () => 0.5).deliverAtMs, 40)
    const top = scheduleChunk(IDLE_LANE, shape, 1, 0, () => 0.999999).deliverAtMs
    assert.ok(top > 49.99 && top < 50, `top of the jitter range: ${top}`)
  })

  it('never releases a chunk before the one ahead of it, whatever the jitter', () => {
    const shape = { ...uncapped, jitterMs: 30 }
    const first = scheduleChunk(IDLE_LANE, shape, 1, 0, () => 0.999) // ≈ 70
    const second = scheduleChunk(first, shape, 1, 5, () => 0) // would be 15
    assert.equal(second.deliverAtMs, first.deliverAtMs)
  })

  it('never gives a negative delay when jitter exceeds the delay', () => {
    const shape = { delayMs: 5, jitterMs: 20, rateBytesPerSec: Number.POSITIVE_INFINITY }
    assert.equal(scheduleChunk(IDLE_LANE, shape, 1, 50, () => 0).deliverAtMs, 50)
  })

  it('serialises chunks back to back at the rate cap, then adds the delay', () => {
    const shape = { delayMs: 10, jitterMs: 0, rateBytesPerSec: 1000 }
    const first = scheduleChunk(IDLE_LANE, shape, 500, 0, mid)
    assert.deepEqual(first, { txEndMs: 500, deliverAtMs: 510 })
    const second = scheduleChunk(first, shape, 500, 100, mid)
    assert.deepEqual(second, { txEndMs: 1000, deliverAtMs: 1010 })
  })

  it('lets an idle capped link start again from now, without credit for the idle time', () => {
    const shape = { delayMs: 0, jitterMs: 0, rateBytesPerSec: 1000 }
    const first = scheduleChunk(IDLE_LANE, shape, 100, 0, mid)
    const later = scheduleChunk(first, shape, 100, 5000, mid)
    assert.deepEqual(later, { txEndMs: 5100, deliverAtMs: 5100 })
  })

  it('gives a FIN (size 0) its place in the FIFO', () => {
    const shape = { delayMs: 10, jitterMs: 0, rateBytesPerSec: 1000 }
    const data = scheduleChunk(IDLE_LANE, shape, 1000, 0, mid)
    const fin = scheduleChunk(data, shape, 0, 1, mid)
    assert.equal(fin.deliverAtMs, 1010)
  })

  it('delivers a lost chunk one retransmission timeout late, and holds the chunks behind it', () => {
    const lossy = { ...uncapped, lossRatio: 0.25 }
    const lost = scheduleChunk(IDLE_LANE, lossy, 100, 0, () => 0.1)
    assert.equal(lost.deliverAtMs, 40 + RETRANSMIT_TIMEOUT_MS)
    const behind = scheduleChunk(lost, lossy, 100, 1, () => 0.9)
    assert.equal(behind.deliverAtMs, lost.deliverAtMs, 'no chunk overtakes the one being retransmitted')
    const later = scheduleChunk(IDLE_LANE, lossy, 100, 0, () => 0.25)
    assert.equal(later.deliverAtMs, 40, 'a draw at or above the ratio is not lost')
  })

  it('draws for loss after jitter, and never when the link loses nothing', () => {
    const draws: number[] = []
    const random = () => {
      draws.push(draws.length)
      return 0.5
    }
    scheduleChunk(IDLE_LANE, { ...uncapped, jitterMs: 5, lossRatio: 0.1 }, 1, 0, random)
    assert.equal(draws.length, 2)
    scheduleChunk(IDLE_LANE, { ...uncapped, jitterMs: 5, lossRatio: 0 }, 1, 0, random)
    assert.equal(draws.length, 3)
  })
})

describe('link options', () => {
  it('applies a partial update over the current shape', () => {
    const next = applyShapeUpdate(uncapped, { jitterMs: 3 })
    assert.deepEqual(next, {
      delayMs: 40,
      jitterMs: 3,
      rateBytesPerSec: Number.POSITIVE_INFINITY,
      lossRatio: 0,
    })
    assert.equal(applyShapeUpdate(next, { lossRatio: 0.05 }).lossRatio, 0.05)
    assert.equal(applyShapeUpdate({ ...next, lossRatio: 0.05 }, { delayMs: 1 }).lossRatio, 0.05)
  })

  for (const [update, option] of [
    [{ delayMs: -1 }, 'delayMs'],
    [{ delayMs: Number.NaN }, 'delayMs'],
    [{ jitterMs: Number.POSITIVE_INFINITY }, 'jitterMs'],
    [{ rateBytesPerSec: 0 }, 'rateBytesPerSec'],
    [{ rateBytesPerSec: -5 }, 'rateBytesPerSec'],
    [{ lossRatio: 1.5 }, 'lossRatio'],
    [{ lossRatio: Number.NaN }, 'lossRatio'],
  ] as const) {
    it(`rejects ${JSON.stringify(update)} naming ${option}`, () => {
      assert.throws(
        () => applyShapeUpdate(uncapped, update),
        (err: unknown) =>
          err instanceof LinkEmulatorOptionError &&
          err.code === 'DYN_ERR_TESTING_LINK_OPTION' &&
          err.option === option &&
          err.message.startsWith(`link emulator option ${option}=`),
      )
    })
  }

  it('rejects a queue bound below the socket high-water mark', () => {
    assert.equal(validateMaxQueueBytes(MIN_MAX_QUEUE_BYTES), MIN_MAX_QUEUE_BYTES)
    assert.throws(() => validateMaxQueueBytes(1024), { code: 'DYN_ERR_TESTING_LINK_OPTION' })
    assert.throws(() => validateMaxQueueBytes(1.5e6 + 0.5), { code: 'DYN_ERR_TESTING_LINK_OPTION' })
  })
})
