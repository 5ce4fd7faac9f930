/**
 * The peer control channel: its hello (a mesh header of kind control) and the PING/PONG frames
 * after it. Any bytes decode, ask for more, or are refused with DYN_ERR_MESH_* / DYN_ERR_PEER_*;
 * a signed hello never passes for an open request or the other way round.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  decodeOpenRequest,
  encodeOpenRequest,
  KIND_OPEN,
  ReplayCache,
  verifyRequestAuth,
} from '../../src/mesh/index.ts'
import {
  type ControlHello,
  type DecodedControlHello,
  decodeControlHello,
  encodeControlHello,
  KIND_CONTROL,
  MAX_HELLO_BYTES,
  verifyHelloAuth,
} from '../../src/mesh/wire/control.ts'
import {
  type ControlFrame,
  ControlFrameReader,
  encodeControlFrame,
  MAX_FRAME_BYTES,
} from '../../src/mesh/wire/control-frames.ts'
import {
  assertStreamedAgrees,
  bytes,
  bytesAfter,
  Coverage,
  check,
  chunkSizes,
  decodeStreamed,
  errorKey,
  mutated,
  outcome,
  split,
} from './kit.ts'
import { id16, text } from './text.ts'

const MESH_REFUSALS = ['DYN_ERR_MESH_BAD_HEADER', 'DYN_ERR_MESH_UNSUPPORTED_VERSION']
const TOKEN = 'a mesh token of sixteen+ chars'

const hello: fc.Arbitrary<ControlHello> = fc.record(
  { sourceNodeId: text(255), expectedNodeId: text(255) },
  { noNullPrototype: true },
)
const signing = fc.record({ nonce: id16, now: fc.integer({ min: 0, max: 2 ** 48 }) })
const encodedHello = fc
  .tuple(hello, fc.option(signing, { nil: undefined }))
  .map(([h, auth]) => encodeControlHello(h, auth && { token: TOKEN, ...auth }))

function decodeHello(buf: Buffer) {
  const r = decodeControlHello(buf)
  return 'need' in r ? r : { value: r.hello, consumed: r.consumed }
}

const cacheAt = (now: number) => new ReplayCache({ maxEntries: 4, clock: { now: () => now } })

function verifyHello(raw: Buffer, h: DecodedControlHello, now: number) {
  return verifyHelloAuth(raw, h, TOKEN, now, cacheAt(now))
}

describe('peer control hello', () => {
  test('round trip; a signed hello verifies with its token only', () => {
    check(
      fc.property(hello, signing, fc.boolean(), (h, auth, signed) => {
        const buf = encodeControlHello(h, signed ? { token: TOKEN, ...auth } : undefined)
        const r = decodeControlHello(buf)
        assert.ok('hello' in r)
        assert.equal(r.consumed, buf.length)
        const { auth: decodedAuth, ...names } = r.hello
        assert.deepEqual(names, h)
        if (!signed) return assert.equal(decodedAuth, undefined)
        assert.equal(verifyHello(buf, r.hello, auth.now), 'ok')
        assert.equal(verifyHelloAuth(buf, r.hello, `${TOKEN}?`, auth.now, cacheAt(auth.now)), 'unauthorized')
      }),
      100,
    )
  })

  test('truncations ask for more; any chunking decodes the same', () => {
    check(
      fc.property(encodedHello, fc.nat(), chunkSizes, (buf, cut, sizes) => {
        const n = cut % buf.length
        const r = decodeControlHello(buf.subarray(0, n))
        assert.ok('need' in r && r.need >= 1 && n + r.need <= buf.length, `at ${n} of ${buf.length}`)
        const streamed = decodeStreamed(decodeHello, split(Buffer.concat([buf, Buffer.of(1, 0, 12)]), sizes))
        assertStreamedAgrees(
          streamed,
          outcome(MESH_REFUSALS, () => decodeHello(buf)),
        )
      }),
      100,
    )
  })

  test('random and mutated hellos are refused, ask for more within the limit, or decode', () => {
    const input = fc.oneof(
      bytesAfter(Buffer.from('44594e5001020000', 'hex'), 400),
      mutated(encodedHello).map((m) => m.bytes),
    )
    check(
      fc.property(input, chunkSizes, (buf, sizes) => {
        const r = outcome(MESH_REFUSALS, () => decodeHello(buf))
        assertStreamedAgrees(decodeStreamed(decodeHello, split(buf, sizes)), r)
        if (!r.ok) return
        if ('need' in r.value) return assert.ok(buf.length + r.value.need <= MAX_HELLO_BYTES)
        assert.ok(r.value.consumed <= buf.length)
      }),
      300,
    )
  })

  test('a signed hello whose signed bytes changed never verifies', () => {
    const signed = fc
      .tuple(hello, signing)
      .map(([h, auth]) => encodeControlHello(h, { token: TOKEN, ...auth }))
    const reached = new Coverage('mutated signed hellos that decode', 0.05)
    check(
      fc.property(mutated(signed), ({ original, bytes: buf }) => {
        reached.run()
        const r = outcome(MESH_REFUSALS, () => decodeControlHello(buf))
        if (!r.ok || 'need' in r.value || r.value.hello.auth === undefined) return
        reached.hit()
        const raw = buf.subarray(0, r.value.consumed)
        const verdict = verifyHello(raw, r.value.hello, r.value.hello.auth.timestampMs)
        assert.ok(verdict !== 'ok' || raw.equals(original), 'a changed signed hello verified')
      }),
      300,
    )
    reached.assertReached()
  })

  test('a signed header of one kind never passes as the other', () => {
    check(
      fc.property(hello, signing, (h, auth) => {
        const asOpen = encodeControlHello(h, { token: TOKEN, ...auth })
        asOpen[5] = KIND_OPEN
        const open = outcome(MESH_REFUSALS, () => decodeOpenRequest(asOpen))
        if (open.ok && 'request' in open.value) {
          const cache = cacheAt(auth.now)
          assert.notEqual(verifyRequestAuth(asOpen, open.value.request, TOKEN, auth.now, cache), 'ok')
        }
        const request = {
          flowId: Buffer.alloc(16, 1),
          sourceNodeId: h.sourceNodeId,
          remainingHops: 1,
          visited: [],
          remainingPath: [],
          target: '127.0.0.1:80',
          mode: 'raw' as const,
          subflowIndex: 0,
        }
        const asHello = encodeOpenRequest(request, { token: TOKEN, ...auth })
        asHello[5] = KIND_CONTROL
        const control = outcome(MESH_REFUSALS, () => decodeControlHello(asHello))
        if (control.ok && 'hello' in control.value) {
          assert.notEqual(verifyHello(asHello, control.value.hello, auth.now), 'ok')
        }
      }),
      50,
    )
  })
})

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
const controlFrame: fc.Arbitrary<ControlFrame> = fc.record(
  {
    kind: fc.constantFrom('ping' as const, 'pong' as const),
    seq: fc.nat({ max: 0xffff_ffff }),
    echo: u64,
  },
  { noNullPrototype: true },
)

type ReadOutcome = { frames: ControlFrame[]; error?: string }

function readAll(chunks: readonly Buffer[]): ReadOutcome {
  const reader = new ControlFrameReader()
  const frames: ControlFrame[] = []
  try {
    for (const chunk of chunks) reader.push(chunk, (f) => frames.push(f))
  } catch (err) {
    if (errorKey(err) !== 'DYN_ERR_PEER_BAD_FRAME') throw err
    return { frames, error: errorKey(err) }
  }
  return { frames }
}

describe('peer control frames', () => {
  test('any sequence of frames, in any chunking, reads back the same', () => {
    check(
      fc.property(fc.array(controlFrame, { maxLength: 12 }), chunkSizes, (frames, sizes) => {
        const stream = Buffer.concat(frames.map(encodeControlFrame))
        assert.deepEqual(readAll(split(stream, sizes)), { frames })
      }),
      150,
    )
  })

  test('random and mutated streams give the same frames and refusal whatever the chunking', () => {
    const valid = fc.array(controlFrame, { minLength: 1, maxLength: 6 }).map((fs) => {
      return Buffer.concat(fs.map(encodeControlFrame))
    })
    const input = fc.oneof(
      bytes(120),
      mutated(valid).map((m) => m.bytes),
    )
    check(
      fc.property(input, chunkSizes, (buf, sizes) => {
        const whole = readAll([buf])
        assert.deepEqual(readAll(split(buf, sizes)), whole)
        const complete = Math.floor(buf.length / MAX_FRAME_BYTES)
        if (whole.error === undefined) assert.equal(whole.frames.length, complete)
        else assert.ok(whole.frames.length <= complete)
      }),
      300,
    )
  })
})
