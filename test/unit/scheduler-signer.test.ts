import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import type { PathTokenClaims } from '../../src/mesh/path-token.ts'
import type { PathSigner } from '../../src/scheduler/plan/instructions.ts'
import { REUSE_SLACK, reusable, reusingSigner } from '../../src/scheduler/signer.ts'

const DAY = 86_400_000

function counting(): PathSigner & { readonly calls: PathTokenClaims[] } {
  const calls: PathTokenClaims[] = []
  return {
    publicKey: 'PUB',
    calls,
    sign(claims) {
      calls.push(claims)
      return Buffer.from(
        `${claims.route}|${claims.nodes.join('>')}|${claims.targets.join()}|${claims.expiresAt}`,
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
    const first = signer.sign(claims({ expiresAt: now + DAY }))
    now = 150_000 // a renewal at half a 5-minute TTL
    assert.equal(signer.sign(claims({ expiresAt: now + DAY })), first)
    assert.equal(inner.calls.length, 1)
    now = 0.02 * DAY
    assert.notEqual(signer.sign(claims({ expiresAt: now + DAY })), first)
    assert.equal(inner.calls.length, 2)
  })

  it('signs whatever differs in route, path or targets', () => {
    const inner = counting()
    const signer = reusingSigner(inner, { now: () => 0 })
    signer.sign(claims())
    signer.sign(claims({ route: 'web#2' }))
    signer.sign(claims({ nodes: ['a', 'c'] }))
    signer.sign(claims({ targets: ['10.0.0.6:80'] }))
    signer.sign(claims())
    assert.equal(inner.calls.length, 4)
  })

  it('keeps at most `capacity` tokens, dropping the least recently used', () => {
    const inner = counting()
    const signer = reusingSigner(inner, { now: () => 0 }, 2)
    const route = (r: string) => claims({ route: r })
    signer.sign(route('x'))
    signer.sign(route('y'))
    signer.sign(route('x'))
    signer.sign(route('z'))
    assert.equal(inner.calls.length, 3)
    signer.sign(route('x'))
    assert.equal(inner.calls.length, 3, 'x was used last but one: kept')
    signer.sign(route('y'))
    assert.equal(inner.calls.length, 4, 'y was dropped')
  })
})
