import assert from 'node:assert/strict'
import { test } from 'node:test'
import { REPEAT_WINDOW_MS, stopAction } from '../../src/cli/signals.ts'

test('stopAction: the first stop drains, a repeat within the window is the same stop, later exits now', () => {
  const first = 10_000
  for (const [firstAt, now, expected] of [
    [undefined, 0, 'drain'],
    [undefined, 123_456, 'drain'],
    [first, first, 'same_stop'],
    [first, first + 30, 'same_stop'],
    [first, first + REPEAT_WINDOW_MS - 1, 'same_stop'],
    [first, first + REPEAT_WINDOW_MS, 'exit_now'],
    [first, first + 5_000, 'exit_now'],
  ] as const) {
    assert.equal(stopAction(firstAt, now), expected, `first at ${firstAt}, now ${now}`)
  }
  assert.equal(stopAction(0, 200, 100), 'exit_now', 'the window is a parameter')
})
