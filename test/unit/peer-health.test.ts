import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { type Health, type HealthEvent, INITIAL_HEALTH, nextHealth } from '../../src/peer/health.ts'

const t = { rise: 2, fall: 3 }
const answered: HealthEvent = { kind: 'answered' }
const unanswered: HealthEvent = { kind: 'unanswered' }

function run(
  events: readonly HealthEvent[],
  from: Health = INITIAL_HEALTH,
): { health: Health; reasons: string[] } {
  let health = from
  const reasons: string[] = []
  for (const e of events) {
    const step = nextHealth(health, e, t)
    health = step.health
    if (step.reason) reasons.push(`${health.state}: ${step.reason}`)
  }
  return { health, reasons }
}

describe('peer health hysteresis', () => {
  test('unknown until a threshold is reached', () => {
    assert.equal(run([answered]).health.state, 'unknown')
    assert.equal(run([unanswered, unanswered]).health.state, 'unknown')
  })
  test(`up after rise (${t.rise}) answered probes in a row`, () => {
    const r = run([answered, answered])
    assert.equal(r.health.state, 'up')
    assert.deepEqual(r.reasons, ['up: 2 probes answered in a row'])
  })
  test('an unanswered probe resets the rise count', () => {
    assert.equal(run([answered, unanswered, answered]).health.state, 'unknown')
  })
  test(`down after fall (${t.fall}) unanswered probes in a row, not before`, () => {
    const up = run([answered, answered]).health
    assert.equal(run([unanswered, unanswered], up).health.state, 'up')
    assert.equal(run([unanswered, answered, unanswered, unanswered], up).health.state, 'up')
    const r = run([unanswered, unanswered, unanswered], up)
    assert.equal(r.health.state, 'down')
    assert.deepEqual(r.reasons, ['down: 3 probes unanswered in a row'])
  })
  test('a closed channel takes the peer down at once, with its reason', () => {
    const up = run([answered, answered]).health
    const r = run([{ kind: 'channel_down', reason: 'channel closed' }], up)
    assert.equal(r.health.state, 'down')
    assert.deepEqual(r.reasons, ['down: channel closed'])
    assert.equal(r.health.answeredInRow, 0)
  })
  test('a failed connect from unknown is down', () => {
    assert.equal(run([{ kind: 'channel_down', reason: 'ECONNREFUSED' }]).health.state, 'down')
  })
  test('only changes carry a reason (nothing to log per probe)', () => {
    const r = run([answered, answered, answered, answered, unanswered, answered])
    assert.equal(r.reasons.length, 1)
    const down = run([{ kind: 'channel_down', reason: 'x' }]).health
    assert.equal(run([{ kind: 'channel_down', reason: 'again' }, unanswered], down).reasons.length, 0)
  })
  test('comes back up after rise answered probes', () => {
    const down = run([{ kind: 'channel_down', reason: 'x' }]).health
    assert.equal(run([answered], down).health.state, 'down')
    assert.equal(run([answered, answered], down).health.state, 'up')
  })
  test('rise 1 / fall 1 flip on a single probe', () => {
    const one = { rise: 1, fall: 1 }
    const up = nextHealth(INITIAL_HEALTH, answered, one).health
    assert.equal(up.state, 'up')
    assert.equal(nextHealth(up, unanswered, one).health.state, 'down')
  })
})
