import assert from 'node:assert/strict'
import { test } from 'node:test'
import {
  encodeAck,
  encodeDataFrame,
  encodeDataHeader,
  encodeFin,
  encodePing,
  encodePong,
  encodeReset,
  type Frame,
  FrameDecoder,
  MAX_PAYLOAD_BYTES,
} from '../../src/multipath/frame.ts'

function stream(): Buffer {
  const payload = Buffer.from('0123456789abcdef'.repeat(4000))
  return Buffer.concat([
    encodeDataHeader(2 ** 40, payload.length),
    payload,
    encodeAck({ cumulative: 7, limit: 4 * 1024 * 1024, subflowReceived: 123, finReceived: true }),
    encodeFin(2 ** 40 + payload.length),
    encodePing(1234.5),
    encodePong(99.25),
    encodeReset('subflows_lost'),
  ])
}

const expected: Frame[] = [
  { type: 'data', offset: 2 ** 40, payload: Buffer.from('0123456789abcdef'.repeat(4000)) },
  { type: 'ack', cumulative: 7, limit: 4 * 1024 * 1024, subflowReceived: 123, finReceived: true },
  { type: 'fin', finalOffset: 2 ** 40 + 64_000 },
  { type: 'ping', stamp: 1234.5 },
  { type: 'pong', stamp: 99.25 },
  { type: 'reset', reason: 'subflows_lost' },
]

function decodeAll(pieces: Buffer[]): Frame[] {
  const d = new FrameDecoder()
  const out: Frame[] = []
  for (const p of pieces) d.push(p, (f) => out.push(f))
  assert.equal(d.pendingBytes, 0)
  return out
}

test('every frame type round-trips in one piece', () => {
  assert.deepEqual(decodeAll([stream()]), expected)
})

test('frames split at every byte boundary decode the same', () => {
  const s = stream()
  for (const cut of [1, 5, 12, 13, 14, 1000, 64_012, 64_013, 64_020, s.length - 1]) {
    assert.deepEqual(decodeAll([s.subarray(0, cut), s.subarray(cut)]), expected, `cut at ${cut}`)
  }
  const bytes = [...s.subarray(64_000)].map((b) => Buffer.from([b]))
  assert.deepEqual(decodeAll([s.subarray(0, 64_000), ...bytes]), expected, 'one byte at a time')
})

test('payloads stay intact after later pushes (the decoder never reuses a buffer)', () => {
  const d = new FrameDecoder()
  const frames: Frame[] = []
  const a = Buffer.concat([
    encodeDataHeader(0, 3),
    Buffer.from('abc'),
    encodeDataHeader(3, 3),
    Buffer.from('d'),
  ])
  d.push(a, (f) => frames.push(f))
  d.push(Buffer.from('ef'), (f) => frames.push(f))
  d.push(Buffer.concat([encodeDataHeader(6, 3), Buffer.from('ghi')]), (f) => frames.push(f))
  assert.equal(frames.length, 3)
  assert.equal(frames[0]?.type === 'data' && frames[0].payload.toString(), 'abc')
  assert.equal(frames[1]?.type === 'data' && frames[1].payload.toString(), 'def')
})

test('an incomplete frame is held, never more than one frame', () => {
  const d = new FrameDecoder()
  d.push(encodeDataHeader(0, MAX_PAYLOAD_BYTES), () => assert.fail('no frame yet'))
  d.push(Buffer.alloc(MAX_PAYLOAD_BYTES - 1), () => assert.fail('no frame yet'))
  assert.equal(d.pendingBytes, 13 + MAX_PAYLOAD_BYTES - 1)
  let got = 0
  d.push(Buffer.alloc(1), () => got++)
  assert.equal(got, 1)
  assert.equal(d.pendingBytes, 0)
})

test('garbage and out-of-range fields are errors with codes', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['unknown type', Buffer.from([0x7f, 1, 2]), /unknown frame type 0x7f/],
    ['zero type', Buffer.from([0x00]), /unknown frame type 0x00/],
    ['data too long', lengthHeader(MAX_PAYLOAD_BYTES + 1), /data length 65537 is outside 1\.\.65536/],
    ['data empty', lengthHeader(0), /data length 0/],
    ['ack flags', Buffer.concat([Buffer.from([0x02, 0x80]), Buffer.alloc(24)]), /ack flags 0x80/],
    ['reset reason', Buffer.from([0x06, 0x00, 0x09]), /reset reason 9 is unknown/],
    [
      'offset beyond 2^53',
      Buffer.from([0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      /beyond 2\^53/,
    ],
  ]
  for (const [name, bytes, message] of cases) {
    assert.throws(
      () => new FrameDecoder().push(bytes, () => {}),
      (err: Error & { code?: string }) =>
        err.code === 'DYN_ERR_MULTIPATH_BAD_FRAME' && message.test(err.message),
      name,
    )
  }
})

test('frames before the garbage are delivered, then the error', () => {
  const out: Frame[] = []
  assert.throws(() =>
    new FrameDecoder().push(Buffer.concat([encodeFin(3), Buffer.from([0xee])]), (f) => out.push(f)),
  )
  assert.deepEqual(out, [{ type: 'fin', finalOffset: 3 }])
})

function lengthHeader(length: number): Buffer {
  const h = encodeDataHeader(0, 1)
  h.writeUInt32BE(length, 9)
  return h
}

test('a whole DATA frame in one buffer is the header followed by the payload, and decodes alike', () => {
  const payload = Buffer.from('one write per frame')
  const frame = encodeDataFrame(2 ** 33 + 5, payload)
  assert.deepEqual(frame, Buffer.concat([encodeDataHeader(2 ** 33 + 5, payload.length), payload]))
  assert.deepEqual(decodeAll([frame]), [{ type: 'data', offset: 2 ** 33 + 5, payload }])
})
