import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { readTotals, summaryLine } from '../run.ts'

const REPORT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="bun test" tests="16" assertions="0" failures="2" skipped="3" time="0.3">
  <testsuite name="a.test.ts" tests="16" failures="9" skipped="9"></testsuite>
</testsuites>`

describe('the test runner summary', () => {
  test('reads the totals of the root element, not of a suite', () => {
    assert.deepEqual(readTotals(REPORT), { tests: 16, failures: 2, skipped: 3 })
  })

  test('prints passed without the failed and skipped', () => {
    assert.equal(summaryLine(readTotals(REPORT), 1), '11 passed, 2 failed')
  })

  test('a red run with no failed test (a file that did not load) says 1 failed', () => {
    assert.equal(summaryLine({ tests: 4, failures: 0, skipped: 0 }, 1), '4 passed, 1 failed')
    assert.equal(summaryLine(readTotals(''), 1), '0 passed, 1 failed')
  })

  test('a green run says 0 failed', () => {
    assert.equal(summaryLine({ tests: 4, failures: 0, skipped: 1 }, 0), '3 passed, 0 failed')
  })
})
