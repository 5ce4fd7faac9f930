/** A line that keeps coming back is written once per window, with a count (log/repeats.ts). */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { RepeatLimiter } from '../../src/log/repeats.ts'
import { captureLogger } from '../helpers/node-harness.ts'

function setup() {
  const captured = captureLogger()
  const clock = { t: 0, now: () => clock.t }
  const due: { at: number; fn: () => void }[] = []
  const timers = {
    setTimeout: (fn: () => void, ms: number) => {
      const entry = { at: clock.t + ms, fn }
      due.push(entry)
      return entry
    },
    clearTimeout: (h: unknown) => {
      const i = due.indexOf(h as (typeof due)[number])
      if (i >= 0) due.splice(i, 1)
    },
  }
  const advance = (ms: number) => {
    clock.t += ms
    for (const entry of due.filter((d) => d.at <= clock.t)) {
      due.splice(due.indexOf(entry), 1)
      entry.fn()
    }
  }
  const limiter = new RepeatLimiter({ logger: captured.logger, clock, windowMs: 5000, timers })
  const lines = (msg: string) => captured.lines.filter((l) => l.msg === msg)
  return { limiter, lines, advance, due }
}

test('a repeated line is counted, not repeated, and the count goes out when the window ends', () => {
  const { limiter, lines, advance } = setup()
  for (let i = 0; i < 1000; i++) limiter.warn('lease', { attempt: i }, 'could not grant the lease')
  assert.equal(lines('could not grant the lease').length, 1, 'the first one only, so far')
  assert.equal(limiter.pending('lease'), 999)
  advance(5000)
  const written = lines('could not grant the lease')
  assert.equal(written.length, 2)
  assert.equal(written[1]?.repeated, 999, 'the count of the ones not written')
  assert.equal(written[1]?.attempt, 999, 'with the fields of the last one')
})

test('keys are limited apart; a line after a quiet window goes out at once, the key forgotten in between', () => {
  const { limiter, lines, advance, due } = setup()
  limiter.warn('a', {}, 'first')
  limiter.warn('b', {}, 'second')
  assert.equal(lines('first').length + lines('second').length, 2)
  advance(5000)
  assert.equal(due.length, 0, 'nothing counted: no timer left, the keys are forgotten')
  limiter.warn('a', {}, 'first')
  assert.equal(lines('first').length, 2)
  assert.equal(lines('first')[1]?.repeated, undefined)
})

test('flush writes what is still counted', () => {
  const { limiter, lines } = setup()
  limiter.log('error', 'w', {}, 'watch failed')
  limiter.log('error', 'w', {}, 'watch failed')
  limiter.flush()
  assert.deepEqual(
    lines('watch failed').map((l) => l.repeated),
    [undefined, 1],
  )
})
