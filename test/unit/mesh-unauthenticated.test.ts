import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { UnauthenticatedConnections } from '../../src/mesh/security/unauthenticated.ts'

describe('the mesh port’s unauthenticated connections', () => {
  it('under pressure (half the total held) refuses a source at its own limit, and only that source', () => {
    const held = new UnauthenticatedConnections<string>({ maxTotal: 4, maxPerSource: 2 })
    assert.deepEqual(held.admit('a1', '10.0.0.1'), { admitted: true, evicted: undefined })
    assert.deepEqual(held.admit('a2', '10.0.0.1'), { admitted: true, evicted: undefined })
    assert.deepEqual(held.admit('a3', '10.0.0.1'), { admitted: false })
    assert.deepEqual(held.admit('b1', '10.0.0.2'), { admitted: true, evicted: undefined })
    assert.equal(held.from('10.0.0.1'), 2)
    assert.equal(held.size, 3)
  })

  it('without pressure lets one source open more than its share: a busy peer is not a flood', () => {
    const held = new UnauthenticatedConnections<string>({ maxTotal: 100, maxPerSource: 2 })
    for (let i = 0; i < 49; i++) assert.equal(held.admit(`p${i}`, '10.0.0.9').admitted, true)
    assert.equal(held.from('10.0.0.9'), 49)
    assert.equal(held.admit('p49', '10.0.0.9').admitted, true, 'the 50th is still below half of 100')
    assert.equal(
      held.admit('p50', '10.0.0.9').admitted,
      false,
      'at half the total, the source is over its share',
    )
    assert.equal(held.admit('other', '10.0.0.1').admitted, true, 'another source still gets in')
  })

  it('makes room for a new connection by closing the oldest when the total is reached', () => {
    const held = new UnauthenticatedConnections<string>({ maxTotal: 3, maxPerSource: 3 })
    held.admit('old', 'x')
    held.admit('mid', 'y')
    held.admit('new', 'z')
    assert.deepEqual(held.admit('newest', 'w'), { admitted: true, evicted: 'old' })
    assert.equal(held.size, 3)
    assert.equal(held.from('x'), 0)
    assert.equal(held.release('old'), false, 'an evicted connection is no longer held')
  })

  it('frees a place when a connection authenticates or closes, once', () => {
    const held = new UnauthenticatedConnections<string>({ maxTotal: 2, maxPerSource: 1 })
    held.admit('a', 'x')
    assert.equal(held.release('a'), true)
    assert.equal(held.release('a'), false)
    assert.equal(held.from('x'), 0)
    assert.deepEqual(held.admit('a2', 'x'), { admitted: true, evicted: undefined })
  })

  it('refuses limits that are not positive integers, naming them', () => {
    assert.throws(() => new UnauthenticatedConnections({ maxTotal: 0, maxPerSource: 1 }), /maxTotal 0/)
    assert.throws(
      () => new UnauthenticatedConnections({ maxTotal: 1, maxPerSource: 1.5 }),
      /maxPerSource 1.5/,
    )
  })
})
