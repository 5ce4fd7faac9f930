import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { decodeOpenRequest, encodeOpenRequest, ReplayCache, verifyRequestAuth } from '../../src/mesh/index.ts'
import {
  type ControlHello,
  decodeControlHello,
  encodeControlHello,
  KIND_CONTROL,
  MAX_HELLO_TLV_BYTES,
  verifyHelloAuth,
} from '../../src/mesh/wire/control.ts'
import {
  type ControlFrame,
  ControlFrameReader,
  encodeControlFrame,
  MAX_FRAME_BYTES,
} from '../../src/mesh/wire/control-frames.ts'

const T0 = 1_800_000_000_000
const TOKEN = 'a token of sixteen+ chars'
const hello: ControlHello = { sourceNodeId: 'node-a', expectedNodeId: 'node-b' }
const clock = { now: () => T0 }
const newCache = () => new ReplayCache({ maxEntries: 16, clock })

function decoded(buf: Buffer) {
  const r = decodeControlHello(buf)
  assert.ok('hello' in r, 'expected a complete hello')
  return r
}

describe('control hello codec', () => {
  test('round trip without auth', () => {
    const buf = encodeControlHello(hello)
    assert.deepEqual(buf.subarray(0, 6), Buffer.from([0x44, 0x59, 0x4e, 0x50, 1, KIND_CONTROL]))
    const r = decoded(buf)
    assert.deepEqual(r.hello, hello)
    assert.equal(r.consumed, buf.length)
  })
  test('round trip with auth; bytes after the hello are not consumed', () => {
    const buf = encodeControlHello(hello, { token: TOKEN, now: T0, nonce: Buffer.alloc(16, 7) })
    const r = decoded(Buffer.concat([buf, Buffer.from([1, 0, 12])]))
    assert.equal(r.consumed, buf.length)
    assert.equal(r.hello.sourceNodeId, 'node-a')
    assert.equal(r.hello.auth?.timestampMs, T0)
    assert.deepEqual(r.hello.auth?.nonce, Buffer.alloc(16, 7))
  })
  test('every truncation asks for more bytes, never throws', () => {
    const buf = encodeControlHello(hello, { token: TOKEN, now: T0 })
    for (let n = 0; n < buf.length; n++) {
      const r = decodeControlHello(buf.subarray(0, n))
      assert.ok('need' in r && r.need > 0 && n + r.need <= buf.length, `at ${n}`)
    }
  })
  test('garbage is refused at its first byte', () => {
    assert.throws(() => decodeControlHello(Buffer.from('G')), { code: 'DYN_ERR_MESH_BAD_HEADER' })
    assert.throws(() => decodeControlHello(Buffer.from('GET / HTTP/1.1\r\n')), /magic/)
  })
  test('wrong version and wrong kind are refused', () => {
    const buf = encodeControlHello(hello)
    const v2 = Buffer.from(buf)
    v2[4] = 2
    assert.throws(() => decodeControlHello(v2.subarray(0, 5)), { code: 'DYN_ERR_MESH_UNSUPPORTED_VERSION' })
    const open = Buffer.from(buf)
    open[5] = 1
    assert.throws(() => decodeControlHello(open.subarray(0, 6)), /kind 0x01 is not control/)
  })
  test('an oversize tlv length is refused before its bytes arrive', () => {
    const head = Buffer.from([0x44, 0x59, 0x4e, 0x50, 1, 2, 0, 0])
    head.writeUInt16BE(MAX_HELLO_TLV_BYTES + 1, 6)
    assert.throws(() => decodeControlHello(head), /tlv length 1025 exceeds max 1024/)
    head.writeUInt16BE(MAX_HELLO_TLV_BYTES, 6)
    assert.deepEqual(decodeControlHello(head), { need: MAX_HELLO_TLV_BYTES })
  })
  test('missing names, partial auth and a MAC not last are errors', () => {
    const only = Buffer.from([0x44, 0x59, 0x4e, 0x50, 1, 2, 0, 5, 0x01, 0, 2, 0x61, 0x62])
    assert.throws(() => decodeControlHello(only), /expectedNodeId is missing/)
    const signed = encodeControlHello(hello, { token: TOKEN, now: T0 })
    // Drop the MAC TLV (35 bytes) and fix the length: timestamp and nonce without a MAC.
    const cut = Buffer.from(signed.subarray(0, signed.length - 35))
    cut.writeUInt16BE(cut.length - 8, 6)
    assert.throws(() => decodeControlHello(cut), /needs timestamp, nonce and mac together/)
    const macFirst = Buffer.concat([
      signed.subarray(0, 8),
      signed.subarray(signed.length - 35),
      signed.subarray(8, signed.length - 35),
    ])
    assert.throws(() => decodeControlHello(macFirst), /mac is not the last tlv/)
  })
  test('names that do not fit are refused when encoding', () => {
    assert.throws(() => encodeControlHello({ sourceNodeId: '', expectedNodeId: 'b' }), {
      code: 'DYN_ERR_MESH_INVALID_FIELD',
    })
    assert.throws(
      () => encodeControlHello({ sourceNodeId: 'a', expectedNodeId: 'x'.repeat(256) }),
      /expectedNodeId/,
    )
  })
})

describe('verifyHelloAuth', () => {
  const sign = (token: string, now = T0, nonce = 1) =>
    encodeControlHello(hello, { token, now, nonce: Buffer.alloc(16, nonce) })
  const verify = (buf: Buffer, cache = newCache(), now = T0) => {
    const r = decoded(buf)
    return verifyHelloAuth(buf.subarray(0, r.consumed), r.hello, TOKEN, now, cache)
  }
  test('the right token is ok', () => {
    assert.equal(verify(sign(TOKEN)), 'ok')
  })
  test('a wrong token, no MAC or a changed byte is unauthorized', () => {
    assert.equal(verify(sign('another token of 16+')), 'unauthorized')
    assert.equal(verify(encodeControlHello(hello)), 'unauthorized')
    const tampered = sign(TOKEN)
    tampered[12] = tampered[12]! ^ 1
    assert.equal(verify(tampered), 'unauthorized')
  })
  test('a timestamp beyond 30 s either way is expired', () => {
    assert.equal(verify(sign(TOKEN, T0 - 30_001)), 'expired')
    assert.equal(verify(sign(TOKEN, T0 + 30_001)), 'expired')
    assert.equal(verify(sign(TOKEN, T0 - 30_000)), 'ok')
  })
  test('the same hello twice is replayed', () => {
    const cache = newCache()
    const buf = sign(TOKEN)
    assert.equal(verify(buf, cache), 'ok')
    assert.equal(verify(buf, cache), 'replayed')
    assert.equal(verify(sign(TOKEN, T0, 2), cache), 'ok')
  })
  test('a wrong MAC does not make the cache remember the nonce', () => {
    const cache = newCache()
    verify(sign('another token of 16+'), cache)
    assert.equal(cache.size, 0)
  })
  test('a signed hello cannot pass as a signed open request (the kind byte is signed)', () => {
    const buf = sign(TOKEN)
    const asOpen = Buffer.from(buf)
    asOpen[5] = 1
    assert.throws(() => decodeOpenRequest(asOpen))
    const open = encodeOpenRequest(
      {
        flowId: Buffer.alloc(16),
        sourceNodeId: 'node-a',
        remainingHops: 1,
        visited: [],
        remainingPath: [],
        target: '127.0.0.1:1',
        mode: 'raw',
        subflowIndex: 0,
      },
      { token: TOKEN, now: T0 },
    )
    const r = decodeOpenRequest(open)
    assert.ok('request' in r)
    assert.equal(verifyRequestAuth(open, r.request, TOKEN, T0, newCache()), 'ok')
    const asHello = Buffer.from(open)
    asHello[5] = KIND_CONTROL
    assert.throws(() => decodeControlHello(asHello))
  })
})

describe('control frames', () => {
  const ping: ControlFrame = { kind: 'ping', seq: 7, echo: 123_456_789_012n }
  const collect = (reader: ControlFrameReader, chunks: readonly Buffer[]) => {
    const frames: ControlFrame[] = []
    for (const c of chunks) reader.push(c, (f) => frames.push(f))
    return frames
  }
  test('ping and pong round trip', () => {
    const pong: ControlFrame = { kind: 'pong', seq: 0xffff_ffff, echo: (1n << 64n) - 1n }
    const buf = Buffer.concat([encodeControlFrame(ping), encodeControlFrame(pong)])
    assert.equal(buf.length, 2 * MAX_FRAME_BYTES)
    assert.deepEqual(encodeControlFrame(ping).subarray(0, 3), Buffer.from([1, 0, 12]))
    assert.deepEqual(collect(new ControlFrameReader(), [buf]), [ping, pong])
  })
  test('frames split at every byte come out whole and in order', () => {
    const buf = Buffer.concat([encodeControlFrame(ping), encodeControlFrame({ ...ping, seq: 8 })])
    for (let cut = 0; cut <= buf.length; cut++) {
      const frames = collect(new ControlFrameReader(), [buf.subarray(0, cut), buf.subarray(cut)])
      assert.deepEqual(
        frames.map((f) => f.seq),
        [7, 8],
        `cut at ${cut}`,
      )
    }
    const bytes = [...buf].map((b) => Buffer.of(b))
    assert.equal(collect(new ControlFrameReader(), bytes).length, 2)
  })
  test('an unknown type is refused at its first byte', () => {
    assert.throws(() => collect(new ControlFrameReader(), [Buffer.of(0x03)]), {
      code: 'DYN_ERR_PEER_BAD_FRAME',
      message: /unknown type 0x03/,
    })
  })
  test('a wrong or huge length is refused as soon as it is known', () => {
    assert.throws(() => collect(new ControlFrameReader(), [Buffer.from([1, 0xff, 0xff])]), /length 65535/)
    assert.throws(() => collect(new ControlFrameReader(), [Buffer.from([2, 0, 11])]), /length 11/)
  })
  test('garbage after a good frame: the good frame is delivered first, then the error', () => {
    const frames: ControlFrame[] = []
    const reader = new ControlFrameReader()
    const buf = Buffer.concat([encodeControlFrame(ping), Buffer.from('GET / HTTP/1.1')])
    assert.throws(() => reader.push(buf, (f) => frames.push(f)), /unknown type 0x47/)
    assert.deepEqual(frames, [ping])
  })
  test('a megabyte of valid frames is read without holding it', () => {
    const one = encodeControlFrame(ping)
    const many = Buffer.concat(Array.from({ length: 70_000 }, () => one))
    let n = 0
    new ControlFrameReader().push(many, () => n++)
    assert.equal(n, 70_000)
  })
  test('out of range values are refused when encoding', () => {
    assert.throws(() => encodeControlFrame({ ...ping, seq: -1 }), RangeError)
    assert.throws(() => encodeControlFrame({ ...ping, seq: 2 ** 32 }), RangeError)
    assert.throws(() => encodeControlFrame({ ...ping, echo: 1n << 64n }), RangeError)
  })
})
