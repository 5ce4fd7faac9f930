/**
 * The frames of a multipath subflow, as its peer may send them: any sequence reads back the same
 * in any chunking, the decoder never holds more than one frame, any bytes give frames or
 * DYN_ERR_MULTIPATH_BAD_FRAME, and a frame sent a byte at a time costs no more than linear work.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  DATA_HEADER_BYTES,
  encodeAck,
  encodeDataHeader,
  encodeFin,
  encodePing,
  encodePong,
  encodeReset,
  type Frame,
  FrameDecoder,
  MAX_PAYLOAD_BYTES,
  RESET_REASONS,
} from '../../src/multipath/frame.ts'
import { byteByByte, bytes, check, chunkSizes, errorKey, mutated, split, timed } from './kit.ts'

const offset = fc.oneof(fc.nat({ max: 1 << 20 }), fc.maxSafeNat())

const frame: fc.Arbitrary<Frame> = fc.oneof(
  fc.record(
    {
      type: fc.constant('data' as const),
      offset,
      payload: fc
        .oneof(
          fc.uint8Array({ minLength: 1, maxLength: 300 }),
          fc.constant(new Uint8Array(MAX_PAYLOAD_BYTES)),
        )
        .map((a) => Buffer.from(a)),
    },
    { noNullPrototype: true },
  ),
  fc.record(
    {
      type: fc.constant('ack' as const),
      finReceived: fc.boolean(),
      cumulative: offset,
      limit: offset,
      subflowReceived: offset,
    },
    { noNullPrototype: true },
  ),
  fc.record({ type: fc.constant('fin' as const), finalOffset: offset }, { noNullPrototype: true }),
  fc.record(
    { type: fc.constantFrom('ping' as const, 'pong' as const), stamp: fc.double() },
    { noNullPrototype: true },
  ),
  fc.record(
    { type: fc.constant('reset' as const), reason: fc.constantFrom(...RESET_REASONS) },
    { noNullPrototype: true },
  ),
)

function encode(f: Frame): Buffer {
  switch (f.type) {
    case 'data':
      return Buffer.concat([encodeDataHeader(f.offset, f.payload.length), f.payload])
    case 'ack':
      return encodeAck(f)
    case 'fin':
      return encodeFin(f.finalOffset)
    case 'ping':
      return encodePing(f.stamp)
    case 'pong':
      return encodePong(f.stamp)
    case 'reset':
      return encodeReset(f.reason)
  }
}

const MAX_HELD = DATA_HEADER_BYTES + MAX_PAYLOAD_BYTES

interface Decoded {
  readonly frames: Frame[]
  readonly error?: string
}

/** Feeds every chunk, checking after each that the decoder holds at most one frame's bytes. */
function decodeAll(chunks: readonly Buffer[]): Decoded {
  const decoder = new FrameDecoder()
  const frames: Frame[] = []
  try {
    for (const chunk of chunks) {
      decoder.push(chunk, (f) => frames.push(f))
      assert.ok(decoder.pendingBytes < MAX_HELD, `holds ${decoder.pendingBytes} bytes`)
    }
  } catch (err) {
    if (errorKey(err) !== 'DYN_ERR_MULTIPATH_BAD_FRAME') throw err
    return { frames, error: errorKey(err) }
  }
  return { frames }
}

describe('multipath frames', () => {
  test('any sequence of frames reads back the same in any chunking, nothing held at the end', () => {
    check(
      fc.property(
        fc.array(frame, { maxLength: 10 }),
        chunkSizes,
        fc.nat({ max: 3 }),
        (frames, sizes, scale) => {
          const stream = Buffer.concat(frames.map(encode))
          const pieces = split(
            stream,
            sizes.map((s) => s * 64 ** scale),
          )
          const decoder = new FrameDecoder()
          const got: Frame[] = []
          for (const piece of pieces) decoder.push(piece, (f) => got.push(f))
          assert.deepEqual(got, frames)
          assert.equal(decoder.pendingBytes, 0)
        },
      ),
      100,
    )
  })

  test('any bytes: the same frames and refusal in any chunking, never more than one frame held', () => {
    const valid = fc.array(frame, { minLength: 1, maxLength: 4 }).map((fs) => Buffer.concat(fs.map(encode)))
    const input = fc.oneof(
      bytes(200),
      fc
        .tuple(fc.constantFrom(1, 2, 3, 4, 5, 6), bytes(120))
        .map(([t, b]) => Buffer.concat([Buffer.of(t), b])),
      mutated(valid).map((m) => m.bytes),
    )
    check(
      fc.property(input, chunkSizes, (buf, sizes) => {
        const whole = decodeAll([buf])
        assert.deepEqual(decodeAll(split(buf, sizes)), whole)
      }),
      300,
    )
  })

  test('a data header declaring more than a frame may hold is refused before its payload', () => {
    check(
      fc.property(offset, fc.integer({ min: MAX_PAYLOAD_BYTES + 1, max: 0xffff_ffff }), (at, length) => {
        const header = encodeDataHeader(at, 1)
        header.writeUInt32BE(length, 9)
        assert.deepEqual(decodeAll(byteByByte(header)), { frames: [], error: 'DYN_ERR_MULTIPATH_BAD_FRAME' })
      }),
      50,
    )
  })

  test('frames of the largest size sent a byte at a time are read within the time budget (regression)', () => {
    const payload = Buffer.alloc(MAX_PAYLOAD_BYTES, 0x5a)
    const one = Buffer.concat([encodeDataHeader(0, payload.length), payload])
    const stream = Buffer.concat([one, one, one])
    // Before the fix: 0.8 s of CPU per frame, joining the held bytes with each new one.
    const decoded = timed('three 64 KiB frames byte by byte', () => decodeAll(byteByByte(stream)), 1_500)
    assert.equal(decoded.frames.length, 3)
    assert.equal(decoded.error, undefined)
  })
})
