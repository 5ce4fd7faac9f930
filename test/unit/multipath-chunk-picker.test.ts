import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  expectedArrivalMs,
  holBudgetMs,
  PROBE_BYTES,
  pickFailover,
  pickStripe,
  redundantTargets,
  type SubflowView,
} from '../../src/multipath/chunk-picker.ts'
import { SubflowMeter } from '../../src/multipath/meter.ts'

const KiB = 1024
const MiB = 1024 * KiB
const CHUNK = 64 * KiB

function view(index: number, o: Partial<SubflowView> = {}): SubflowView {
  return {
    index,
    minRttMs: 10,
    rateBytesPerMs: 10_000,
    inflightBytes: 0,
    writable: true,
    weight: 1,
    measured: true,
    ...o,
  }
}

test('expected arrival: half the propagation RTT plus the queue and the chunk at the delivery rate', () => {
  assert.equal(
    expectedArrivalMs(view(0, { minRttMs: 20, inflightBytes: 100_000, rateBytesPerMs: 1_000 }), 50_000),
    160,
  )
})

test('stripe: the earliest expected arrival wins', () => {
  const fastBusy = view(0, { inflightBytes: 500 * KiB, rateBytesPerMs: 10_000 })
  const slowIdle = view(1, { rateBytesPerMs: 5_000 })
  assert.equal(pickStripe([fastBusy, slowIdle], CHUNK, 4 * MiB), 1)
  assert.equal(pickStripe([view(0), view(1, { minRttMs: 40 })], CHUNK, 4 * MiB), 0)
})

test('stripe: a subflow that cannot take more now is passed over for the next best', () => {
  const a = view(0, { writable: false })
  const b = view(1, { inflightBytes: 200 * KiB })
  assert.equal(pickStripe([a, b], CHUNK, 4 * MiB), 1)
  assert.equal(pickStripe([view(0, { writable: false })], CHUNK, 4 * MiB), undefined)
})

test('stripe: a slow path is skipped when its chunk would block the window (head-of-line)', () => {
  const fast = view(0, { rateBytesPerMs: 10_000, inflightBytes: 900 * KiB, writable: false, minRttMs: 4 })
  const slow = view(1, { rateBytesPerMs: 1_000, minRttMs: 40 })
  // The slow chunk arrives after ≈ 85 ms; the fast path delivers ≈ 850 KB meanwhile.
  assert.equal(pickStripe([fast, slow], CHUNK, 1 * MiB), undefined, 'a 1 MiB window cannot absorb it')
  assert.equal(pickStripe([fast, slow], CHUNK, 4 * MiB), 1, 'a 4 MiB window can')
  assert.equal(
    pickStripe([{ ...fast, writable: true }, slow], CHUNK, 1 * MiB),
    0,
    'the fast path, when it can take it',
  )
})

test('stripe: an unmeasured subflow gets only a probe in flight while others exist', () => {
  const fresh = view(1, { measured: false, inflightBytes: PROBE_BYTES })
  assert.equal(pickStripe([view(0, { writable: false }), fresh], CHUNK, 4 * MiB), undefined)
  assert.equal(pickStripe([view(0, { writable: false }), { ...fresh, inflightBytes: 0 }], CHUNK, 4 * MiB), 1)
  assert.equal(pickStripe([{ ...fresh, index: 0 }], CHUNK, 4 * MiB), 0, 'alone it is not held back')
})

test('head-of-line budget: half the window over the other subflows’ rates', () => {
  const views = [view(0, { rateBytesPerMs: 10_000 }), view(1, { rateBytesPerMs: 1_000 })]
  assert.equal(holBudgetMs(2_000_000, views, 1), 100)
  assert.equal(holBudgetMs(2_000_000, views, 0), 1_000)
  assert.equal(holBudgetMs(2_000_000, [view(0)], 0), Number.POSITIVE_INFINITY)
})

test('failover: keeps the active subflow while it lives, then the highest weight, lowest RTT, lowest index', () => {
  const views = [view(0, { minRttMs: 30 }), view(1, { minRttMs: 10 }), view(2, { weight: 5, minRttMs: 90 })]
  assert.equal(pickFailover(views, undefined), 2)
  assert.equal(pickFailover(views, 0), 0)
  assert.equal(pickFailover(views.slice(0, 2), 2), 1, 'the active one is gone')
  assert.equal(pickFailover([view(3), view(1)], undefined), 1)
  assert.equal(pickFailover([], undefined), undefined)
})

test('redundant: every subflow that can take more', () => {
  assert.deepEqual(redundantTargets([view(0), view(1, { writable: false }), view(2)]), [0, 2])
})

test('meter: srtt smooths, minimum RTT is kept', () => {
  const m = new SubflowMeter(1_000)
  assert.equal(m.srttMs, undefined)
  m.onRtt(80)
  m.onRtt(8)
  m.onRtt(40)
  assert.equal(m.minRttMs, 8)
  assert.ok((m.srttMs ?? 0) > 40 && (m.srttMs ?? 0) < 80)
})

test('meter: the first sample replaces the prior; busy samples move the rate, app-limited ones only raise it', () => {
  const m = new SubflowMeter(1_000)
  m.onSent(0)
  m.onReceived(500_000, 1_000_000, 100)
  assert.ok(m.measured)
  assert.equal(m.rateBytesPerMs, 5_000)
  // Busy: 1 MB in flight at the start, 200 kB delivered in 100 ms: 2 kB/ms.
  m.onReceived(700_000, 1_000_000, 200)
  assert.equal(m.rateBytesPerMs, 5_000 + (2_000 - 5_000) / 4)
  const before = m.rateBytesPerMs
  // App-limited: nothing was in flight at the start of the sample; a low rate is ignored.
  m.onReceived(700_000, 0, 300)
  m.onReceived(710_000, 10_000, 400)
  assert.equal(m.rateBytesPerMs, before)
  assert.equal(m.delivered, 710_000)
})

test('meter: reports within 20 ms are accumulated into one sample', () => {
  const m = new SubflowMeter(1_000)
  m.onSent(0)
  m.onReceived(10_000, 100_000, 5)
  assert.equal(m.measured, false)
  m.onReceived(40_000, 90_000, 20)
  assert.equal(m.rateBytesPerMs, 2_000)
})
