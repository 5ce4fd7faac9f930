import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { LbAlgorithm } from '../../src/config/types.ts'
import { createBalancer, type LbEndpoint, type RandomSource } from '../../src/upstream/lb.ts'

/** mulberry32: a seeded source so that distributions are reproducible. */
function seeded(seed: number): RandomSource {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

interface Ep extends LbEndpoint {
  weight: number
  active: number
}

function endpoints(weights: readonly number[], active: readonly number[] = []): Ep[] {
  return weights.map((weight, i) => ({ weight, active: active[i] ?? 0 }))
}

const keys = (n: number): string[] => Array.from({ length: n }, (_, i) => `10.0.0.${i + 1}:80`)

function allOn(n: number): Uint8Array {
  return new Uint8Array(n).fill(1)
}

function counts(
  algorithm: LbAlgorithm,
  eps: readonly Ep[],
  picks: number,
  source: (i: number) => string = () => '192.0.2.1',
): number[] {
  const balancer = createBalancer(algorithm, keys(eps.length), seeded(7))
  const mask = allOn(eps.length)
  const result = new Array<number>(eps.length).fill(0)
  for (let i = 0; i < picks; i++) {
    const picked = balancer.pick(eps, mask, source(i))
    result[picked] = (result[picked] ?? 0) + 1
  }
  return result
}

function assertShares(actual: readonly number[], weights: readonly number[], tolerance: number): void {
  const total = actual.reduce((a, b) => a + b, 0)
  const weightSum = weights.reduce((a, b) => a + b, 0)
  for (let i = 0; i < weights.length; i++) {
    const share = actual[i]! / total
    const want = weights[i]! / weightSum
    assert.ok(Math.abs(share - want) <= tolerance, `endpoint ${i}: share ${share} vs ${want} (${actual})`)
  }
}

const ALGORITHMS: readonly LbAlgorithm[] = ['round_robin', 'least_conn', 'random_two', 'source_hash', 'first']
const ip = (i: number): string => `198.51.${(i >> 8) & 0xff}.${i & 0xff}`

describe('every algorithm', () => {
  for (const algorithm of ALGORITHMS) {
    test(`${algorithm}: weight 0 is never picked, even when marked eligible`, () => {
      const result = counts(algorithm, endpoints([0, 2, 0, 1]), 2000, ip)
      assert.equal(result[0], 0)
      assert.equal(result[2], 0)
      assert.equal(result[1]! + result[3]!, 2000)
    })

    test(`${algorithm}: only masked endpoints are picked; none eligible gives -1`, () => {
      const eps = endpoints([1, 1, 1])
      const balancer = createBalancer(algorithm, keys(3), seeded(1))
      const mask = Uint8Array.from([0, 1, 0])
      for (let i = 0; i < 50; i++) assert.equal(balancer.pick(eps, mask, ip(i)), 1)
      assert.equal(balancer.pick(eps, new Uint8Array(3), '192.0.2.1'), -1)
      assert.equal(balancer.pick(endpoints([0, 0, 0]), allOn(3), '192.0.2.1'), -1)
    })
  }
})

describe('round_robin', () => {
  test('is smooth: weights 5,1,1 interleave as nginx does', () => {
    const balancer = createBalancer('round_robin', keys(3), seeded(1))
    const eps = endpoints([5, 1, 1])
    const order = Array.from({ length: 14 }, () => 'abc'[balancer.pick(eps, allOn(3), '')])
    assert.equal(order.join(''), 'aabacaaaabacaa')
  })

  test('splits exactly by weight', () => {
    assert.deepEqual(counts('round_robin', endpoints([3, 1, 2]), 6000), [3000, 1000, 2000])
  })

  test('an endpoint leaving the mask does not stall the others', () => {
    const balancer = createBalancer('round_robin', keys(3), seeded(1))
    const eps = endpoints([1, 1, 1])
    const mask = Uint8Array.from([1, 0, 1])
    const seen = Array.from({ length: 4 }, () => balancer.pick(eps, mask, ''))
    assert.deepEqual(seen, [0, 2, 0, 2])
  })
})

describe('least_conn', () => {
  test('prefers the idle endpoint', () => {
    const balancer = createBalancer('least_conn', keys(3), seeded(1))
    assert.equal(balancer.pick(endpoints([1, 1, 1], [3, 0, 2]), allOn(3), ''), 1)
  })

  test('compares active connections relative to weight', () => {
    const balancer = createBalancer('least_conn', keys(2), seeded(1))
    // 5/4 per weight against 2/1
    assert.equal(balancer.pick(endpoints([4, 1], [5, 2]), allOn(2), ''), 0)
    assert.equal(balancer.pick(endpoints([1, 4], [2, 9]), allOn(2), ''), 0)
  })

  test('breaks ties round-robin, by weight', () => {
    assert.deepEqual(counts('least_conn', endpoints([1, 1, 1]), 300), [100, 100, 100])
    assert.deepEqual(counts('least_conn', endpoints([3, 1]), 400), [300, 100])
  })

  test('keeps load even when flows stay open', () => {
    const eps = endpoints([1, 1, 2])
    const balancer = createBalancer('least_conn', keys(3), seeded(1))
    for (let i = 0; i < 400; i++) eps[balancer.pick(eps, allOn(3), '')]!.active++
    assert.deepEqual(
      eps.map((e) => e.active),
      [100, 100, 200],
    )
  })
})

describe('random_two', () => {
  test('idle endpoints share by weight', () => {
    assertShares(counts('random_two', endpoints([3, 1, 1]), 50_000), [3, 1, 1], 0.01)
  })

  test('avoids a loaded endpoint: it wins only when drawn twice', () => {
    const result = counts('random_two', endpoints([1, 1, 1], [10, 0, 0]), 30_000)
    const busyShare = result[0]! / 30_000
    assert.ok(busyShare > 0.08 && busyShare < 0.14, `busy share ${busyShare}, about 1/9 expected`)
  })

  test('uses the injected random source', () => {
    const eps = endpoints([1, 1, 1, 1])
    const draws = [0.1, 0.9]
    const balancer = createBalancer('random_two', keys(4), () => draws.shift() ?? 0)
    assert.equal(balancer.pick(eps, allOn(4), ''), 0)
    eps[0]!.active = 1
    draws.push(0.1, 0.9)
    assert.equal(balancer.pick(eps, allOn(4), ''), 3)
  })
})

describe('source_hash', () => {
  test('a client sticks to its endpoint', () => {
    const eps = endpoints([1, 1, 1, 1])
    const balancer = createBalancer('source_hash', keys(4), seeded(1))
    const first = balancer.pick(eps, allOn(4), '203.0.113.9')
    for (let i = 0; i < 100; i++) assert.equal(balancer.pick(eps, allOn(4), '203.0.113.9'), first)
  })

  test('clients spread by weight', () => {
    assertShares(counts('source_hash', endpoints([1, 2, 1, 4]), 40_000, ip), [1, 2, 1, 4], 0.015)
  })

  test('when one endpoint leaves only its clients move, and they come back', () => {
    const eps = endpoints([1, 1, 1, 1, 1])
    const balancer = createBalancer('source_hash', keys(5), seeded(1))
    const all = allOn(5)
    const without2 = Uint8Array.from([1, 1, 0, 1, 1])
    let moved = 0
    for (let i = 0; i < 10_000; i++) {
      const before = balancer.pick(eps, all, ip(i))
      const after = balancer.pick(eps, without2, ip(i))
      if (before !== 2) assert.equal(after, before, `client ${ip(i)} moved off ${before}`)
      else moved++
      assert.equal(balancer.pick(eps, all, ip(i)), before)
    }
    assert.ok(moved > 1600 && moved < 2400, `${moved} clients moved, about 1/5 expected`)
  })

  test('depends on addresses, not order: every node agrees', () => {
    const forward = createBalancer('source_hash', ['a:1', 'b:1', 'c:1'], seeded(1))
    const reversed = createBalancer('source_hash', ['c:1', 'b:1', 'a:1'], seeded(2))
    const eps = endpoints([1, 1, 1])
    for (let i = 0; i < 500; i++) {
      const a = forward.pick(eps, allOn(3), ip(i))
      const b = reversed.pick(eps, allOn(3), ip(i))
      assert.equal(b, 2 - a)
    }
  })
})

describe('first', () => {
  test('fails over in config order', () => {
    const eps = endpoints([1, 5, 1])
    const balancer = createBalancer('first', keys(3), seeded(1))
    assert.equal(balancer.pick(eps, allOn(3), ''), 0)
    assert.equal(balancer.pick(eps, Uint8Array.from([0, 1, 1]), ''), 1)
    assert.equal(balancer.pick(eps, Uint8Array.from([0, 0, 1]), ''), 2)
    assert.deepEqual(counts('first', eps, 100), [100, 0, 0])
  })
})
