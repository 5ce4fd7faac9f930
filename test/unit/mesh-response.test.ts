import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MeshFieldError, MeshHeaderError, MeshVersionError } from '../../src/errors/mesh.ts'
import {
  decodeOpenResponse,
  encodeOpenResponse,
  MESH_STATUS,
  type MeshStatus,
  meshStatusName,
  type OpenResponse,
} from '../../src/mesh/index.ts'

function decoded(buf: Buffer) {
  const r = decodeOpenResponse(buf)
  assert.ok('response' in r, 'expected a response')
  return r
}

describe('status table', () => {
  test('numbers are stable', () => {
    assert.deepEqual(MESH_STATUS, {
      ok: 0,
      unauthorized: 1,
      replayed: 2,
      expired: 3,
      no_route: 4,
      target_unreachable: 5,
      target_not_allowed: 6,
      loop: 7,
      hop_limit: 8,
      bad_header: 9,
      unsupported_version: 10,
      path_token_invalid: 11,
      overloaded: 12,
      internal: 13,
    })
  })

  test('name and number map both ways', () => {
    for (const [name, code] of Object.entries(MESH_STATUS)) assert.equal(meshStatusName(code), name)
    assert.equal(meshStatusName(14), undefined)
    assert.equal(meshStatusName(255), undefined)
  })
})

describe('response round trips', () => {
  test('every status, alone and with message and node id', () => {
    for (const status of Object.keys(MESH_STATUS) as MeshStatus[]) {
      for (const res of [
        { status },
        { status, message: 'connect to 10.0.0.9:80 refused: ECONNREFUSED', nodeId: 'relay-ü' },
      ] satisfies OpenResponse[]) {
        const buf = encodeOpenResponse(res)
        assert.deepEqual(decoded(buf), { response: res, consumed: buf.length })
      }
    }
  })

  test('the wire form of ok is four bytes', () => {
    assert.deepEqual(encodeOpenResponse({ status: 'ok' }), Buffer.from('01000000', 'hex'))
  })

  test('an empty message is left out', () => {
    assert.deepEqual(decoded(encodeOpenResponse({ status: 'loop', message: '' })).response, {
      status: 'loop',
    })
  })

  test('a long message is cut to 256 bytes at a character boundary', () => {
    const message = `${'a'.repeat(255)}é and more`
    const { response } = decoded(encodeOpenResponse({ status: 'internal', message }))
    assert.equal(response.message, 'a'.repeat(255))
    const exact = 'b'.repeat(256)
    assert.equal(decoded(encodeOpenResponse({ status: 'internal', message: exact })).response.message, exact)
  })

  test('bytes after the response are not consumed', () => {
    const buf = encodeOpenResponse({ status: 'ok', nodeId: 'egress' })
    assert.equal(decoded(Buffer.concat([buf, Buffer.from('reply')])).consumed, buf.length)
  })

  test('encoding refuses an unknown status and an oversized node id', () => {
    assert.throws(() => encodeOpenResponse({ status: 'nope' as MeshStatus }), { field: 'status' })
    assert.throws(() => encodeOpenResponse({ status: 'ok', nodeId: 'n'.repeat(256) }), MeshFieldError)
  })
})

describe('response decoding', () => {
  test('every proper prefix asks for more bytes', () => {
    const buf = encodeOpenResponse({ status: 'target_unreachable', message: 'refused', nodeId: 'n2' })
    for (let len = 0; len < buf.length; len++) {
      const r = decodeOpenResponse(buf.subarray(0, len))
      assert.ok('need' in r && r.need >= 1 && r.need <= buf.length - len, `prefix ${len}`)
    }
  })

  test('another version is a MeshVersionError', () => {
    assert.throws(() => decodeOpenResponse(Buffer.of(2)), MeshVersionError)
  })

  test('an unknown status is refused', () => {
    assert.throws(() => decodeOpenResponse(Buffer.of(1, 14)), { field: 'status' })
  })

  test('a tlv length above 1024 is refused from the fixed part alone', () => {
    assert.throws(() => decodeOpenResponse(Buffer.of(1, 0, 0x04, 0x01)), { field: 'tlv length' })
    assert.deepEqual(decodeOpenResponse(Buffer.of(1, 0, 0x04, 0x00)), { need: 1024 })
  })

  test('field limits, unknown and duplicate tlvs', () => {
    const withTlvs = (...tlvs: Buffer[]) => {
      const body = Buffer.concat(tlvs)
      const head = Buffer.of(1, 4, 0, 0)
      head.writeUInt16BE(body.length, 2)
      return Buffer.concat([head, body])
    }
    const tlv = (type: number, value: Buffer) => {
      const h = Buffer.of(type, 0, 0)
      h.writeUInt16BE(value.length, 1)
      return Buffer.concat([h, value])
    }
    const bad = (buf: Buffer, field: string) =>
      assert.throws(
        () => decodeOpenResponse(buf),
        (e: unknown) => e instanceof MeshHeaderError && e.field === field,
      )
    bad(withTlvs(tlv(1, Buffer.alloc(257, 0x61))), 'message')
    bad(withTlvs(tlv(2, Buffer.alloc(0))), 'nodeId')
    bad(withTlvs(tlv(1, Buffer.of(0xff))), 'message')
    bad(withTlvs(tlv(3, Buffer.of(1))), 'tlv 0x03')
    bad(withTlvs(tlv(2, Buffer.of(0x61)), tlv(2, Buffer.of(0x62))), 'tlv 0x02')
    assert.deepEqual(decoded(withTlvs(tlv(0x81, Buffer.of(1)), tlv(2, Buffer.of(0x61)))).response, {
      status: 'no_route',
      nodeId: 'a',
    })
  })
})
