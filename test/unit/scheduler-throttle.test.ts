import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Throttle, type Timers } from '../../src/scheduler/throttle.ts'

/** Timers driven by hand: `advance` fires what falls due, in order. */
function fakeTimers() {
  let now = 0
  let nextId = 1
  const pending = new Map<number, { at: number; fn: () => void }>()
  const timers: Timers = {
    setTimeout(fn, ms) {
      const id = nextId++
      pending.set(id, { at: now + ms, fn })
      return id
    },
    clearTimeout(handle) {
      pending.delete(handle as number)
    },
  }
  const advance = (ms: number) => {
    const until = now + ms
    for (;;) {
      const due = [...pending.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0]
      if (!due) break
      pending.delete(due[0])
      now = due[1].at
      due[1].fn()
    }
    now = until
  }
  return { timers, advance, now: () => now, pending }
}

test('many requests within the interval run the task once', () => {
  const t = fakeTimers()
  const runs: number[] = []
  const throttle = new Throttle(200, () => runs.push(t.now()), t.timers, t.now)
  throttle.request()
  t.advance(0)
  assert.deepEqual(runs, [0], 'the first request runs at once')
  for (let i = 0; i < 10; i++) {
    throttle.request()
    t.advance(10)
  }
  assert.deepEqual(runs, [0])
  t.advance(100)
  assert.deepEqual(runs, [0, 200], 'the rest ran together, one interval after the first run')
  t.advance(1000)
  assert.deepEqual(runs, [0, 200], 'nothing more without a request')
})

test('a run for another reason satisfies a pending request and restarts the interval', () => {
  const t = fakeTimers()
  const runs: number[] = []
  const throttle = new Throttle(200, () => runs.push(t.now()), t.timers, t.now)
  throttle.request()
  t.advance(50)
  throttle.request()
  t.advance(50)
  throttle.ranNow()
  assert.equal(t.pending.size, 0)
  throttle.request()
  t.advance(199)
  assert.deepEqual(runs, [0])
  t.advance(1)
  assert.deepEqual(runs, [0, 300])
})

test('cancel drops a pending run', () => {
  const t = fakeTimers()
  let runs = 0
  const throttle = new Throttle(0, () => runs++, t.timers, t.now)
  throttle.request()
  throttle.cancel()
  t.advance(10)
  assert.equal(runs, 0)
})
