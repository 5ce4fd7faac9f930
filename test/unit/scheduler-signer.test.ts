import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { PathTokenClaims } from '../../src/mesh/security/path-token.ts'
import type { PathSigner } from '../../src/scheduler/plan/instructions.ts'
import { REUSE_SLACK, reusable, reusingSigner } from '../../src/scheduler/signer.ts'

const DAY = 86_400_000

function counting(): PathSigner & { readonly calls: PathTokenClaims[] } {
  const calls: PathTokenClaims[] = []
  return {
    publicKey: 'PUB',
    calls,
    signAll(batch) {
      calls.push(...batch)
      return batch.map((c) =>
        Buffer.from(`${c.route}|${c.nodes.join('>')}|${c.targets.join()}|${c.expiresAt}`),
      )
    },
  }
}

const claims = (over: Partial<PathTokenClaims> = {}): PathTokenClaims => ({
  route: 'web',
  nodes: ['a', 'b', 'c'],
  targets: ['10.0.0.5:80'],
  expiresAt: DAY,
  ...over,
})

function signOne(signer: PathSigner, c: PathTokenClaims): Buffer {
  const [token] = signer.signAll([c])
  assert.ok(Buffer.isBuffer(token))
  return token
}

describe('reusable', () => {
  it('allows a token expiring a little earlier than asked, never later and never much earlier', () => {
    const asked = claims({ expiresAt: 1_000 + DAY })
    assert.equal(reusable({ expiresAt: 1_000 + DAY }, asked, 1_000), true)
    assert.equal(reusable({ expiresAt: 1_000 + DAY - REUSE_SLACK * DAY }, asked, 1_000), true)
    assert.equal(reusable({ expiresAt: 1_000 + DAY - REUSE_SLACK * DAY - 1 }, asked, 1_000), false)
    assert.equal(reusable({ expiresAt: 1_001 + DAY }, asked, 1_000), false, 'later than the policy allows')
  })
})

describe('reusingSigner', () => {
  it('gives a path its earlier token while reusable, and signs anew after', () => {
    const inner = counting()
    let now = 0
    const signer = reusingSigner(inner, { now: () => now })
    assert.equal(signer.publicKey, 'PUB')
    const first = signOne(signer, claims({ expiresAt: now + DAY }))
    now = 150_000 // a renewal at half a 5-minute TTL
    assert.equal(signOne(signer, claims({ expiresAt: now + DAY })), first)
    assert.equal(inner.calls.length, 1)
    now = 0.02 * DAY
    assert.notEqual(signOne(signer, claims({ expiresAt: now + DAY })), first)
    assert.equal(inner.calls.length, 2)
  })

  it('signs only the claims it cannot reuse, in one batch, and keeps the order', () => {
    const inner = counting()
    const signer = reusingSigner(inner, { now: () => 0 })
    const known = signOne(signer, claims())
    const batches: number[] = []
    const batching: PathSigner = {
      publicKey: 'PUB',
      signAll: (batch) => {
        batches.push(batch.length)
        return inner.signAll(batch)
      },
    }
    const again = reusingSigner(batching, { now: () => 0 })
    const tokens = again.signAll([claims({ route: 'x' }), claims(), claims({ route: 'y' })])
    assert.deepEqual(batches, [3], 'a fresh signer knows nothing yet')
    assert.deepEqual(
      tokens.map((t) => String(t).split('|')[0]),
      ['x', 'web', 'y'],
    )
    const mixed = again.signAll([claims({ route: 'z' }), claims({ route: 'x' })])
    assert.deepEqual(batches, [3, 1], 'x is reused; only z is signed')
    assert.equal(String(mixed[1]), String(tokens[0]))
    assert.equal(String(known), String(tokens[1]))
  })

  it('signs whatever differs in route, path or targets', () => {
    const inner = counting()
    const signer = reusingSigner(inner, { now: () => 0 })
    signOne(signer, claims())
    signOne(signer, claims({ route: 'web#2' }))
    signOne(signer, claims({ nodes: ['a', 'c'] }))
    signOne(signer, claims({ targets: ['10.0.0.6:80'] }))
    signOne(signer, claims())
    assert.equal(inner.calls.length, 4)
  })

  it('keeps at most `capacity` tokens, dropping the least recently used', () => {
    const inner = counting()
    const signer = reusingSigner(inner, { now: () => 0 }, 2)
    const route = (r: string) => claims({ route: r })
    signOne(signer, route('x'))
    signOne(signer, route('y'))
    signOne(signer, route('x'))
    signOne(signer, route('z'))
    assert.equal(inner.calls.length, 3)
    signOne(signer, route('x'))
    assert.equal(inner.calls.length, 3, 'x was used last but one: kept')
    signOne(signer, route('y'))
    assert.equal(inner.calls.length, 4, 'y was dropped')
  })
})
