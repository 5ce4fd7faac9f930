import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  type DecodedOpenRequest,
  decodeOpenRequest,
  encodeOpenRequest,
  type OpenRequest,
  ReplayCache,
  verifyRequestAuth,
} from '../../src/mesh/index.ts'
import type { Clock } from '../../src/util/clock.ts'

const T0 = 1_800_000_000_000

const request: OpenRequest = {
  flowId: Buffer.alloc(16, 1),
  sourceNodeId: 'ingress',
  remainingHops: 3,
  visited: ['ingress'],
  remainingPath: ['egress'],
  target: '127.0.0.1:5432',
  routeId: 'db',
  mode: 'raw',
  subflowIndex: 0,
}

function manualClock(start = T0): Clock & { set(t: number): void } {
  let t = start
  return {
    now: () => t,
    set: (v: number) => {
      t = v
    },
  }
}

function received(raw: Buffer): { raw: Buffer; request: DecodedOpenRequest } {
  const r = decodeOpenRequest(raw)
  assert.ok('request' in r)
  return { raw, request: r.request }
}

function nonce(n: number): Buffer {
  return Buffer.alloc(16, n)
}

function sign(token: string, now: number, n = 1): Buffer {
  return encodeOpenRequest(request, { token, now, nonce: nonce(n) })
}

function verify(raw: Buffer, token: string, now: number, cache: ReplayCache) {
  const r = received(raw)
  return verifyRequestAuth(r.raw, r.request, token, now, cache)
}

const newCache = (maxEntries = 100, clock: Clock = manualClock()) => new ReplayCache({ maxEntries, clock })

describe('verifyRequestAuth', () => {
  test('the right token is ok', () => {
    assert.equal(verify(sign('secret', T0), 'secret', T0, newCache()), 'ok')
  })

  test('a wrong token is unauthorized and remembers nothing', () => {
    const cache = newCache()
    assert.equal(verify(sign('secret', T0), 'secret2', T0, cache), 'unauthorized')
    assert.equal(cache.size, 0)
  })

  test('a header without auth tlvs is unauthorized', () => {
    assert.equal(verify(encodeOpenRequest(request), 'secret', T0, newCache()), 'unauthorized')
  })

  test('changing any header byte, the mac included, makes it unauthorized', () => {
    const good = sign('secret', T0)
    let checked = 0
    for (let i = 0; i < good.length; i++) {
      const bad = Buffer.from(good)
      bad[i]! ^= 0x01
      let r: ReturnType<typeof decodeOpenRequest>
      try {
        r = decodeOpenRequest(bad)
      } catch {
        continue // the codec already refuses this flip
      }
      if (!('request' in r) || !r.request.auth) continue
      assert.equal(verifyRequestAuth(bad, r.request, 'secret', T0, newCache()), 'unauthorized', `byte ${i}`)
      checked++
    }
    assert.ok(checked > good.length / 2, `only ${checked} of ${good.length} flips decoded`)
  })

  test('a timestamp beyond 30 s either way is expired; exactly 30 s is ok', () => {
    const cache = newCache()
    assert.equal(verify(sign('s', T0 - 30_001, 1), 's', T0, cache), 'expired')
    assert.equal(verify(sign('s', T0 + 30_001, 2), 's', T0, cache), 'expired')
    assert.equal(cache.size, 0)
    assert.equal(verify(sign('s', T0 - 30_000, 3), 's', T0, cache), 'ok')
    assert.equal(verify(sign('s', T0 + 30_000, 4), 's', T0, cache), 'ok')
  })

  test('the same header twice is replayed; a new nonce is ok', () => {
    const cache = newCache()
    const raw = sign('s', T0, 7)
    assert.equal(verify(raw, 's', T0, cache), 'ok')
    assert.equal(verify(raw, 's', T0 + 1_000, cache), 'replayed')
    assert.equal(verify(sign('s', T0, 8), 's', T0 + 1_000, cache), 'ok')
  })

  test('a full replay cache makes it overloaded rather than forgetting a live nonce', () => {
    const cache = newCache(2)
    assert.equal(verify(sign('s', T0, 1), 's', T0, cache), 'ok')
    assert.equal(verify(sign('s', T0, 2), 's', T0, cache), 'ok')
    assert.equal(verify(sign('s', T0, 3), 's', T0, cache), 'overloaded')
    assert.equal(verify(sign('s', T0, 1), 's', T0, cache), 'replayed')
  })

  test('a mac over a shorter raw than claimed is unauthorized', () => {
    const r = received(sign('s', T0))
    assert.equal(verifyRequestAuth(r.raw.subarray(0, 10), r.request, 's', T0, newCache()), 'unauthorized')
  })

  test('signing is deterministic for a given nonce and random without one', () => {
    assert.deepEqual(sign('s', T0, 5), sign('s', T0, 5))
    assert.notDeepEqual(sign('s', T0, 5), sign('t', T0, 5))
    const a = encodeOpenRequest(request, { token: 's', now: T0 })
    const b = encodeOpenRequest(request, { token: 's', now: T0 })
    assert.notDeepEqual(received(a).request.auth?.nonce, received(b).request.auth?.nonce)
    assert.equal(verify(a, 's', T0, newCache()), 'ok')
  })
})

test('known answer: the authenticated example of docs/mesh-protocol.md', () => {
  const raw = encodeOpenRequest(
    {
      flowId: Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
      sourceNodeId: 'n1',
      remainingHops: 3,
      visited: ['n1'],
      remainingPath: ['n3'],
      target: '10.0.0.5:443',
      mode: 'raw',
      subflowIndex: 0,
    },
    {
      token: 'correct horse battery staple',
      now: 1_767_225_600_000,
      nonce: Buffer.from('0f0e0d0c0b0a09080706050403020100', 'hex'),
    },
  )
  assert.equal(
    raw.subarray(-32).toString('hex'),
    'cd94857797aaa76e478a153e752de2faadfdae0d91799ef0b8eca6b886142519',
  )
  assert.equal(raw.length, 128)
})

describe('ReplayCache', () => {
  test('remembers a nonce until it expires, then accepts it again', () => {
    const clock = manualClock()
    const cache = newCache(10, clock)
    assert.equal(cache.remember(nonce(1), T0 + 100), 'fresh')
    assert.equal(cache.remember(nonce(1), T0 + 100), 'replayed')
    clock.set(T0 + 100)
    assert.equal(cache.remember(nonce(1), T0 + 200), 'fresh')
    assert.equal(cache.size, 1)
  })

  test('never holds more than maxEntries; refuses while all are live', () => {
    const clock = manualClock()
    const cache = newCache(3, clock)
    for (let i = 0; i < 3; i++) assert.equal(cache.remember(nonce(i), T0 + 1_000 + i), 'fresh')
    assert.equal(cache.remember(nonce(9), T0 + 5_000), 'full')
    assert.equal(cache.size, 3)
    clock.set(T0 + 1_000)
    assert.equal(cache.remember(nonce(9), T0 + 5_000), 'fresh')
    assert.equal(cache.size, 3)
    assert.equal(cache.remember(nonce(0), T0 + 5_000), 'full', 'nonce 0 expired, but 1, 2 and 9 are live')
  })

  test('expired entries behind a live head are found when the cache is full', () => {
    const clock = manualClock()
    const cache = newCache(3, clock)
    cache.remember(nonce(1), T0 + 60_000)
    cache.remember(nonce(2), T0 + 10)
    cache.remember(nonce(3), T0 + 20)
    clock.set(T0 + 15)
    assert.equal(cache.remember(nonce(4), T0 + 30_000), 'fresh')
    assert.equal(cache.remember(nonce(5), T0 + 30_000), 'full')
    clock.set(T0 + 20)
    assert.equal(cache.remember(nonce(5), T0 + 30_000), 'fresh')
    assert.equal(cache.remember(nonce(1), T0 + 30_000), 'replayed')
  })

  test('expired entries at the head are dropped as new ones arrive', () => {
    const clock = manualClock()
    const cache = newCache(1_000, clock)
    for (let i = 0; i < 50; i++) cache.remember(nonce(i), T0 + 10)
    clock.set(T0 + 10)
    cache.remember(nonce(200), T0 + 100)
    assert.equal(cache.size, 1)
  })

  test('maxEntries must be a positive integer', () => {
    assert.throws(() => newCache(0), RangeError)
    assert.throws(() => newCache(1.5), RangeError)
  })
})
