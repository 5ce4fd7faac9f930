import assert from 'node:assert/strict'
import { test } from 'node:test'
import { runInChunks } from '../../src/scheduler/chunked.ts'

/** Timers that run only when told to. */
function manualTimers() {
  const queue = new Map<number, () => void>()
  let next = 0
  return {
    timers: {
      setTimeout: (fn: () => void) => {
        queue.set(++next, fn)
        return next
      },
      clearTimeout: (h: unknown) => void queue.delete(h as number),
    },
    pending: () => queue.size,
    runAll() {
      for (const [h, fn] of [...queue]) {
        queue.delete(h)
        fn()
      }
    },
  }
}

test('the first chunk runs at once, each next one on a later turn, in order', () => {
  const t = manualTimers()
  const seen: number[] = []
  const progress: [number, boolean][] = []
  runInChunks(
    [1, 2, 3, 4, 5],
    2,
    t.timers,
    (chunk) => {
      seen.push(...chunk)
      return chunk.filter((n) => n % 2 === 1).length
    },
    (_ms, hits, finished) => progress.push([hits, finished]),
  )
  assert.deepEqual(seen, [1, 2])
  t.runAll()
  assert.deepEqual(seen, [1, 2, 3, 4])
  t.runAll()
  assert.deepEqual(seen, [1, 2, 3, 4, 5])
  assert.deepEqual(progress, [
    [1, false],
    [2, false],
    [3, true],
  ])
  assert.equal(t.pending(), 0)
})

test('a few items are done in one call; a cancelled run leaves the rest alone', () => {
  const t = manualTimers()
  const seen: number[] = []
  const finished: boolean[] = []
  runInChunks(
    [1, 2],
    5,
    t.timers,
    (chunk) => seen.push(...chunk),
    (_ms, _h, f) => finished.push(f),
  )
  assert.deepEqual(finished, [true])
  assert.equal(t.pending(), 0)
  const run = runInChunks(
    [3, 4, 5],
    1,
    t.timers,
    (chunk) => seen.push(...chunk),
    () => undefined,
  )
  run.cancel()
  t.runAll()
  assert.deepEqual(seen, [1, 2, 3])
})
