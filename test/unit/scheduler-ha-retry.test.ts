/** One retry loop at a time, with a jittered backoff between attempts (scheduler/ha/retry.ts). */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RetryLoop, retryDelayMs } from '../../src/scheduler/ha/retry.ts'

test('the delay grows from the base to the cap; half of it is random', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 10].map((n) => retryDelayMs(n, 250, 2000, 0)),
    [125, 250, 500, 1000, 1000, 1000],
  )
  assert.deepEqual(
    [1, 2, 3, 4, 5, 10].map((n) => retryDelayMs(n, 250, 2000, 1)),
    [250, 500, 1000, 2000, 2000, 2000],
  )
})

function loop(outcomes: boolean[]) {
  const timers: { fn: () => void; ms: number }[] = []
  const events: string[] = []
  let attempts = 0
  const l = new RetryLoop({
    attempt: async () => {
      attempts++
      if (!outcomes.shift()) throw new Error('circuit breaker is open')
    },
    onSuccess: () => events.push('ok'),
    onFailure: (_err, failures, next) => events.push(`failed ${failures}, next in ${next}`),
    baseMs: 250,
    capMs: 2000,
    timers: { setTimeout: (fn, ms) => timers.push({ fn, ms }), clearTimeout: () => undefined },
    random: () => 0,
  })
  const settle = () => new Promise((r) => setImmediate(r))
  return { l, timers, events, settle, attempts: () => attempts }
}

test('failures wait for their backoff; requests while the loop runs join it; a success ends it', async () => {
  const t = loop([false, false, true])
  t.l.start()
  t.l.start()
  await t.settle()
  assert.equal(t.attempts(), 1, 'a second start while running starts nothing')
  assert.deepEqual(t.events, ['failed 1, next in 125'])
  t.l.start()
  assert.equal(t.timers.length, 1, 'one timer: one loop')
  t.timers.shift()?.fn()
  await t.settle()
  assert.deepEqual(t.events.at(-1), 'failed 2, next in 250')
  t.timers.shift()?.fn()
  await t.settle()
  assert.deepEqual(t.events.at(-1), 'ok')
  assert.equal(t.l.running, false)
  assert.equal(t.attempts(), 3)
})

test('stopped, the loop attempts nothing more', async () => {
  const t = loop([false, true])
  t.l.start()
  await t.settle()
  t.l.stop()
  t.l.start()
  assert.equal(t.attempts(), 1)
})
