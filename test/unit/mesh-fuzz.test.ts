/**
 * Garbage in, only three outcomes out: a header, `need`, or a MeshHeaderError/MeshVersionError.
 * Seeded, so a failure names an input that reproduces it.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MeshHeaderError, MeshVersionError } from '../../src/errors/mesh.ts'
import {
  decodeOpenRequest,
  decodeOpenResponse,
  encodeOpenRequest,
  encodeOpenResponse,
  type OpenRequest,
} from '../../src/mesh/index.ts'

/** mulberry32: small, fast, good enough to spread bytes. */
function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const valid: OpenRequest = {
  flowId: Buffer.alloc(16, 3),
  sourceNodeId: 'ingress',
  remainingHops: 4,
  visited: ['ingress'],
  remainingPath: ['relay', 'egress'],
  target: '127.0.0.1:8080',
  routeId: 'r1',
  pathToken: Buffer.alloc(40, 5),
  mode: 'framed',
  subflowIndex: 2,
  traceId: Buffer.alloc(16, 6),
}

type Outcome = 'decoded' | 'need' | 'rejected'

function classify(decode: (b: Buffer) => object, buf: Buffer, label: string): Outcome {
  try {
    const r = decode(buf)
    if ('need' in r) {
      assert.ok(Number.isInteger(r.need) && (r.need as number) >= 1, `${label}: need ${r.need}`)
      return 'need'
    }
    const consumed = (r as { consumed: number }).consumed
    assert.ok(consumed >= 4 && consumed <= buf.length, `${label}: consumed ${consumed} of ${buf.length}`)
    return 'decoded'
  } catch (err) {
    if (err instanceof MeshHeaderError || err instanceof MeshVersionError) return 'rejected'
    assert.fail(`${label} (${buf.toString('hex')}): threw ${(err as Error).stack}`)
  }
}

function mutate(rand: () => number, src: Buffer): Buffer {
  const buf = Buffer.from(src)
  const kind = Math.floor(rand() * 4)
  const at = Math.floor(rand() * buf.length)
  if (kind === 0) {
    buf[at] = Math.floor(rand() * 256)
    return buf
  }
  if (kind === 1) {
    buf[at]! ^= 1 << Math.floor(rand() * 8)
    return buf
  }
  if (kind === 2) return buf.subarray(0, at)
  const junk = Buffer.from(Array.from({ length: 1 + Math.floor(rand() * 8) }, () => Math.floor(rand() * 256)))
  return Buffer.concat([buf.subarray(0, at), junk, buf.subarray(at)])
}

function randomBuffer(rand: () => number, prefix: Buffer): Buffer {
  const len = Math.floor(rand() * 300)
  const body = Buffer.from(Array.from({ length: len }, () => Math.floor(rand() * 256)))
  // Half the inputs get a valid fixed-header start so the TLV parser sees garbage too.
  return rand() < 0.5 ? body : Buffer.concat([prefix, body])
}

test('random requests: 20,000 buffers only decode, need, or throw header errors', () => {
  const rand = prng(0x5eed)
  const prefix = Buffer.from('44594e5001010000', 'hex')
  const seen = new Set<Outcome>()
  for (let i = 0; i < 20_000; i++) {
    const buf = randomBuffer(rand, prefix.subarray(0, 6 + Math.floor(rand() * 3)))
    if (buf.length >= 8 && rand() < 0.5) buf.writeUInt16BE(buf.length - 8, 6)
    seen.add(classify(decodeOpenRequest, buf, `random #${i}`))
  }
  assert.ok(seen.has('need') && seen.has('rejected'), [...seen].join())
})

test('mutated requests: 20,000 mutations; any that decode re-encode to the same request', () => {
  const rand = prng(0xfacade)
  const sources = [encodeOpenRequest(valid), encodeOpenRequest(valid, { token: 'k', now: 1_000 })]
  const counts: Record<Outcome, number> = { decoded: 0, need: 0, rejected: 0 }
  for (let i = 0; i < 20_000; i++) {
    let buf = sources[i % 2]!
    for (let m = 1 + Math.floor(rand() * 3); m > 0; m--) buf = mutate(rand, buf)
    const outcome = classify(decodeOpenRequest, buf, `mutation #${i}`)
    counts[outcome]++
    if (outcome !== 'decoded') continue
    const r = decodeOpenRequest(buf)
    assert.ok('request' in r)
    const { auth: _auth, ...request } = r.request
    const again = decodeOpenRequest(encodeOpenRequest(request))
    assert.ok('request' in again)
    assert.deepEqual(again.request, request, `mutation #${i} ${buf.toString('hex')}`)
  }
  assert.ok(counts.decoded > 100 && counts.need > 100 && counts.rejected > 100, JSON.stringify(counts))
})

test('random and mutated responses: only decode, need, or header errors', () => {
  const rand = prng(0xbeef)
  const source = encodeOpenResponse({ status: 'target_unreachable', message: 'refused', nodeId: 'n9' })
  const seen = new Set<Outcome>()
  for (let i = 0; i < 20_000; i++) {
    const buf = i % 2 === 0 ? randomBuffer(rand, Buffer.of(1, Math.floor(rand() * 14))) : mutate(rand, source)
    seen.add(classify(decodeOpenResponse, buf, `response #${i}`))
  }
  assert.equal(seen.size, 3, [...seen].join())
})
