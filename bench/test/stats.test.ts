import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { formatNumber, median, ratio, spread } from '../stats.ts'

describe('stats', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    assert.equal(median([1, 2, 9]), 2)
    assert.equal(median([1, 2, 4, 9]), 3)
  })

  it('summarises the values that exist and skips missing ones', () => {
    assert.deepEqual(spread([5, null, 3, undefined, 4, Number.NaN]), { median: 4, min: 3, max: 5, n: 3 })
    assert.equal(spread([null, undefined]), undefined)
  })

  it('compares medians and refuses a missing or zero reference', () => {
    const haproxy = spread([10, 10, 10])
    assert.equal(ratio(spread([5, 6, 7]), haproxy), 0.6)
    assert.equal(ratio(spread([5]), undefined), undefined)
    assert.equal(ratio(spread([5]), spread([0])), undefined)
  })

  it('formats to about three significant digits', () => {
    assert.equal(formatNumber(41234.4), '41,234')
    assert.equal(formatNumber(512.4), '512')
    assert.equal(formatNumber(51.24), '51.2')
    assert.equal(formatNumber(5.124), '5.12')
    assert.equal(formatNumber(0.04213), '0.0421')
    assert.equal(formatNumber(0), '0.00')
    assert.equal(formatNumber(9.9996), '10.0')
    assert.equal(formatNumber(999.7), '1000')
  })
})
