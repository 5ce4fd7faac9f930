import assert from 'node:assert/strict'
import { test } from 'node:test'
import { retryCapMs } from '../../src/node/control-plane.ts'

test('the degraded retry interval follows retry_interval within 1 s to 60 s', () => {
  assert.equal(retryCapMs(100), 1600)
  assert.equal(retryCapMs(10), 1000)
  assert.equal(retryCapMs(5000), 60_000)
})
