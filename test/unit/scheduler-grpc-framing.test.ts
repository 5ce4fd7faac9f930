import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { Code, ConnectError } from '@connectrpc/connect'
import { FrameReader, frame } from '../../src/scheduler/grpc-framing.ts'
import { CONNECT_PATH, servesNodeStream, trailersFor } from '../../src/scheduler/node-stream.ts'

describe('gRPC framing', () => {
  const messages = [
    Uint8Array.of(1, 2, 3),
    new Uint8Array(0),
    Uint8Array.from({ length: 300 }, (_, i) => i % 256),
  ]
  const wire = Buffer.concat(messages.map(frame))

  it('prefixes each message with a zero flag and its length', () => {
    assert.deepEqual([...frame(Uint8Array.of(9, 8))], [0, 0, 0, 0, 2, 9, 8])
  })

  it('reads the same messages back however the bytes are cut', () => {
    for (const size of [1, 2, 5, 7, 64, wire.length]) {
      const reader = new FrameReader()
      const got: number[][] = []
      for (let at = 0; at < wire.length; at += size) {
        for (const m of reader.push(wire.subarray(at, at + size))) got.push([...m])
      }
      assert.deepEqual(
        got,
        messages.map((m) => [...m]),
        `chunks of ${size}`,
      )
      assert.equal(reader.pendingBytes, 0)
    }
  })

  it('keeps a message begun and not finished', () => {
    const reader = new FrameReader()
    assert.deepEqual(reader.push(wire.subarray(0, 6)), [])
    assert.equal(reader.pendingBytes, 6)
  })

  it('refuses compressed and oversized messages with the statuses a gRPC server sends', () => {
    assert.throws(() => new FrameReader().push(Buffer.of(1, 0, 0, 0, 0)), { code: Code.Internal })
    assert.throws(() => new FrameReader(4).push(Buffer.of(0, 0, 0, 0, 5)), { code: Code.ResourceExhausted })
  })
})

describe('node streams served without the connect adapter', () => {
  const grpc = { 'content-type': 'application/grpc' }

  it('are binary gRPC POSTs of Connect, uncompressed', () => {
    assert.ok(servesNodeStream('POST', CONNECT_PATH, grpc))
    assert.ok(servesNodeStream('POST', CONNECT_PATH, { 'content-type': 'application/grpc+proto' }))
    assert.ok(servesNodeStream('POST', CONNECT_PATH, { ...grpc, 'grpc-encoding': 'identity' }))
    assert.equal(servesNodeStream('POST', CONNECT_PATH, { ...grpc, 'grpc-encoding': 'gzip' }), false)
    assert.equal(servesNodeStream('POST', CONNECT_PATH, { 'content-type': 'application/grpc+json' }), false)
    assert.equal(
      servesNodeStream('POST', CONNECT_PATH, { 'content-type': 'application/connect+proto' }),
      false,
    )
    assert.equal(servesNodeStream('GET', CONNECT_PATH, grpc), false)
    assert.equal(servesNodeStream('POST', CONNECT_PATH.replace('Connect', 'Resolve'), grpc), false)
  })

  it('end with OK, or with the error code and its message percent-encoded', () => {
    assert.deepEqual(trailersFor(undefined), { 'grpc-status': '0' })
    assert.deepEqual(trailersFor(new ConnectError('DYN_ERR_X: node b: gone', Code.Unavailable)), {
      'grpc-status': String(Code.Unavailable),
      'grpc-message': 'DYN_ERR_X%3A%20node%20b%3A%20gone',
    })
  })
})
