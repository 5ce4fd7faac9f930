import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type HealthState, nextHealth, UNCHECKED } from '../../src/upstream/health.ts'

function run(start: HealthState, results: readonly boolean[], rise: number, fall: number): string[] {
  let state = start
  return results.map((ok) => {
    state = nextHealth(state, ok, rise, fall)
    return state.health
  })
}

const H = 'healthy'
const U = 'unhealthy'

describe('nextHealth', () => {
  test('unchecked: the first success confirms at once', () => {
    assert.deepEqual(nextHealth(UNCHECKED, true, 3, 3), { health: H, streak: 0 })
  })

  test('unchecked: stays usable until fall failures', () => {
    assert.deepEqual(run(UNCHECKED, [false, false, false], 2, 3), ['unchecked', 'unchecked', U])
  })

  test('healthy falls after `fall` consecutive failures, not before', () => {
    assert.deepEqual(run({ health: H, streak: 0 }, [false, false, true, false, false, false], 2, 3), [
      H,
      H,
      H,
      H,
      H,
      U,
    ])
  })

  test('unhealthy rises after `rise` consecutive successes; a failure restarts the count', () => {
    assert.deepEqual(run({ health: U, streak: 0 }, [true, false, true, true], 2, 3), [U, U, U, H])
  })

  test('rise and fall of 1 flip on every change', () => {
    assert.deepEqual(run({ health: H, streak: 0 }, [false, true, false], 1, 1), [U, H, U])
  })

  test('a steady state returns the same object (no allocation per check)', () => {
    const healthy: HealthState = { health: H, streak: 0 }
    assert.equal(nextHealth(healthy, true, 2, 2), healthy)
    const down: HealthState = { health: U, streak: 0 }
    assert.equal(nextHealth(down, false, 2, 2), down)
  })
})
