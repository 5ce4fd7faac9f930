import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  EMPTY_METRICS,
  type LinkMetrics,
  LOSS_WINDOW,
  lossRatio,
  NOISE_WINDOW,
  noiseOf,
  recordAnswered,
  recordUnanswered,
  SHIFT_SAMPLES,
  shiftThreshold,
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
    assert.deepEqual(m, { rttMs: 40, jitterMs: 0, lastRttMs: 40, outcomes: [true], changes: [] })
    m = recordAnswered(m, 56)
    assert.equal(m.rttMs, 42)
    assert.equal(m.jitterMs, 1)
    m = recordUnanswered(m)
    assert.equal(m.rttMs, 42)
    assert.equal(lossRatio(m.outcomes), 1 / 3)
  })
})

/** Metrics after a steady link: `samples` answered probes of these RTTs, in order. */
function fed(samples: readonly number[], from: LinkMetrics = EMPTY_METRICS): LinkMetrics {
  return samples.reduce(recordAnswered, from)
}

describe('level shifts', () => {
  const steady = fed(Array.from({ length: 30 }, () => 160))

  test(`a delay that drops for good is taken at the ${SHIFT_SAMPLES}nd probe, not after many`, () => {
    const first = recordAnswered(steady, 10)
    assert.ok((first.rttMs ?? 0) > 100, 'one probe is not yet a shift: smoothed as usual')
    assert.deepEqual(first.shift?.samples, [10])
    const second = recordAnswered(first, 11)
    assert.equal(second.rttMs, 11, 'the level nearest the old RTT of the two')
    assert.equal(second.shift, undefined)
    assert.ok((second.jitterMs ?? 0) < 1, `the jump is not jitter: ${second.jitterMs}`)
  })

  test('a delay that rises for good is taken as well', () => {
    const m = fed([300, 310], steady)
    assert.equal(m.rttMs, 300)
  })

  test('one outlier moves the RTT an eighth of the way, and two normal probes bring it back', () => {
    const outlier = recordAnswered(steady, 400)
    assert.equal(outlier.rttMs, 160 + (400 - 160) / 8)
    assert.equal(fed([160, 160], outlier).rttMs, 160)
  })

  test('samples on both sides of the RTT are no shift', () => {
    const m = fed([10, 300], steady)
    assert.ok((m.rttMs ?? 0) > 100 && (m.rttMs ?? 0) < 200, `${m.rttMs}`)
    assert.deepEqual(m.shift?.samples, [300], 'only the last side counts')
  })

  test('an unanswered probe between the samples of a shift does not break it', () => {
    const m = recordAnswered(recordUnanswered(recordAnswered(steady, 10)), 10)
    assert.equal(m.rttMs, 10)
  })

  test('the threshold is the largest of 1 ms, 10 % of the RTT and 6 times the noise', () => {
    assert.equal(shiftThreshold(5, 0), 1)
    assert.equal(shiftThreshold(160, 1), 16)
    assert.equal(shiftThreshold(20, 3), 18)
  })

  test(`the noise is the median change among the last ${NOISE_WINDOW}, unknown before`, () => {
    assert.equal(noiseOf([1, 2, 3]), undefined)
    const window = Array.from({ length: NOISE_WINDOW }, (_, i) => i + 1)
    assert.equal(noiseOf([...window.slice(1), 300]), (NOISE_WINDOW / 2 + 1 + NOISE_WINDOW / 2 + 2) / 2)
    const m = fed(Array.from({ length: NOISE_WINDOW + 1 }, (_, i) => (i % 2 === 0 ? 40 : 56)))
    assert.equal(m.changes.length, NOISE_WINDOW)
    assert.equal(noiseOf(m.changes), 16)
  })

  test('late probes (a stalled process) do not raise the noise: a shift after them is still seen', () => {
    const stalled = fed([900, 160, 160, 160, 700, 160, 160], steady)
    assert.equal(noiseOf(stalled.changes), 0)
    assert.equal(fed([10, 10], stalled).rttMs, 10)
  })

  test(`no shift is taken before the noise is known (${NOISE_WINDOW + 1} probes answered)`, () => {
    const young = fed(Array.from({ length: NOISE_WINDOW }, () => 160))
    const m = fed([10, 10], young)
    assert.equal(m.rttMs, smoothRtt(smoothRtt(160, 10), 10), 'the first of them came too early')
    assert.equal(fed([10], m).rttMs, 10, 'the next two settle it')
  })

  test('a change smaller than the threshold is smoothed as before', () => {
    const m = fed([170, 170], steady)
    assert.equal(m.rttMs, smoothRtt(smoothRtt(160, 170), 170))
  })

  test('under jitter alone the RTT stays within the noise around its mean', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 400 }),
        fc.double({ min: 0.1, max: 20, noNaN: true }),
        fc.array(
          fc.tuple(fc.double({ min: -1, max: 1, noNaN: true }), fc.double({ min: -1, max: 1, noNaN: true })),
          {
            minLength: 50,
            maxLength: 300,
          },
        ),
        (mean, jitter, noise) => {
          // Each way of a probe is delayed within ±jitter, as the link emulator does.
          const rtt = ([up, down]: [number, number]) => Math.max(0, mean + (up + down) * jitter)
          const warm = fed(noise.slice(0, 30).map(rtt))
          let m = warm
          for (const sample of noise.slice(30).map(rtt)) {
            m = recordAnswered(m, sample)
            const level = m.rttMs as number
            assert.ok(
              Math.abs(level - mean) <= 2 * jitter + 1e-9,
              `rtt ${level} for mean ${mean} ±${2 * jitter}`,
            )
          }
        },
      ),
    )
  })

  test('uniform jitter of either way (the link emulator) makes no shift in 20,000 probes', () => {
    let seed = 42
    const uniform = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31
      return (seed / 2 ** 31) * 2 - 1
    }
    const mean = 40
    const jitter = 5
    let m = EMPTY_METRICS
    let plain: number | undefined
    for (let i = 0; i < 20_000; i++) {
      const sample = mean + (uniform() + uniform()) * jitter
      m = recordAnswered(m, sample)
      plain = smoothRtt(plain, sample)
      assert.equal(m.rttMs, plain, `probe ${i}: a shift was taken at ${sample}`)
    }
  })
})
