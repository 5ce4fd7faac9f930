/**
 * The data-connection header (open request and response) and the TLVs inside: any bytes decode to
 * a header, ask for more, or are refused with DYN_ERR_MESH_*; what encodes decodes back the same;
 * a token-signed header whose signed bytes changed never authenticates.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import {
  type DecodedOpenRequest,
  decodeOpenRequest,
  decodeOpenResponse,
  encodeOpenRequest,
  encodeOpenResponse,
  MAX_REQUEST_HEADER_BYTES,
  MAX_RESPONSE_HEADER_BYTES,
  MESH_STATUS,
  type MeshStatus,
  type OpenRequest,
  type OpenResponse,
  ReplayCache,
  verifyRequestAuth,
} from '../../src/mesh/index.ts'
import { decodeProbeResult, encodeProbeResult, PROBE_RESULT_BYTES } from '../../src/mesh/probe.ts'
import { MAX_LIST_ENTRIES } from '../../src/mesh/wire/constants.ts'
import { encodeNameList, forEachTlv, readNameList } from '../../src/mesh/wire/tlv.ts'
import {
  assertStreamedAgrees,
  bytes,
  bytesAfter,
  Coverage,
  check,
  chunkSizes,
  decodeStreamed,
  mutated,
  outcome,
  split,
} from './kit.ts'
import { id16, port, target, text } from './text.ts'

const MESH_REFUSALS = ['DYN_ERR_MESH_BAD_HEADER', 'DYN_ERR_MESH_UNSUPPORTED_VERSION']
const TOKEN = 'a mesh token of sixteen+ chars'
const NOW = 1_800_000_000_000

const names = (max: number) => fc.array(text(255, 12), { maxLength: max })

const destination = fc.oneof(
  fc.record({ mode: fc.constantFrom('raw' as const, 'framed' as const), target }),
  fc.record({ mode: fc.constantFrom('raw' as const, 'framed' as const), ingressPort: port }),
  fc.record({ mode: fc.constant('probe' as const) }),
)

const openRequest: fc.Arbitrary<OpenRequest> = fc
  .record(
    {
      flowId: id16,
      sourceNodeId: text(255),
      remainingHops: fc.nat({ max: 255 }),
      visited: names(6),
      remainingPath: names(6),
      routeId: text(255),
      pathToken: fc.uint8Array({ minLength: 1, maxLength: 400 }).map((a) => Buffer.from(a)),
      multipathMode: fc.constantFrom('stripe' as const, 'redundant' as const, 'failover' as const),
      subflowIndex: fc.oneof(fc.constant(0), fc.nat({ max: 0xffff })),
      traceId: id16,
    },
    { requiredKeys: ['flowId', 'sourceNodeId', 'remainingHops', 'visited', 'remainingPath', 'subflowIndex'] },
  )
  .chain((base) =>
    destination.map((d) => ({ ...base, ...d, ...(d.mode === 'probe' && { remainingPath: [] }) })),
  )

const signing = fc.record({ nonce: id16, now: fc.integer({ min: 0, max: 2 ** 48 }) })

/** Valid headers, half of them signed with the mesh token. */
const encodedRequest = fc
  .tuple(openRequest, fc.option(signing, { nil: undefined }))
  .map(([req, auth]) => encodeOpenRequest(req, auth && { token: TOKEN, ...auth }))

function decodeRequest(buf: Buffer) {
  const r = decodeOpenRequest(buf)
  return 'need' in r ? r : { value: r.request, consumed: r.consumed }
}

function withoutAuth(req: DecodedOpenRequest): OpenRequest {
  const { auth: _auth, ...rest } = req
  return rest
}

function verify(raw: Buffer, req: DecodedOpenRequest, token = TOKEN, now = NOW) {
  return verifyRequestAuth(
    raw,
    req,
    token,
    now,
    new ReplayCache({ maxEntries: 4, clock: { now: () => now } }),
  )
}

describe('mesh open request', () => {
  test('round trip: every request encodes and decodes back the same, signed ones verify', () => {
    check(
      fc.property(openRequest, fc.option(signing, { nil: undefined }), (req, auth) => {
        const buf = encodeOpenRequest(req, auth && { token: TOKEN, ...auth })
        const r = decodeOpenRequest(buf)
        assert.ok('request' in r)
        assert.equal(r.consumed, buf.length)
        assert.deepEqual(withoutAuth(r.request), req)
        if (auth === undefined) return assert.equal(r.request.auth, undefined)
        assert.equal(r.request.auth?.timestampMs, auth.now)
        assert.deepEqual(r.request.auth?.nonce, auth.nonce)
        assert.equal(verify(buf, r.request, TOKEN, auth.now), 'ok')
        assert.equal(verify(buf, r.request, `${TOKEN}!`, auth.now), 'unauthorized')
      }),
      100,
    )
  })

  test('every truncation asks for more, never for more than the header has', () => {
    check(
      fc.property(encodedRequest, fc.nat(), (buf, cut) => {
        const n = cut % buf.length
        const r = decodeOpenRequest(buf.subarray(0, n))
        assert.ok('need' in r, `prefix of ${n} of ${buf.length} bytes decoded`)
        assert.ok(r.need >= 1 && n + r.need <= buf.length, `need ${r.need} at ${n} of ${buf.length}`)
      }),
      100,
    )
  })

  test('any chunking decodes the same header and leaves the bytes after it', () => {
    check(
      fc.property(encodedRequest, chunkSizes, fc.uint8Array({ maxLength: 20 }), (buf, sizes, after) => {
        const whole = decodeRequest(buf)
        assert.ok('value' in whole)
        const streamed = decodeStreamed(decodeRequest, split(Buffer.concat([buf, after]), sizes))
        assert.equal(streamed.kind, 'value')
        assert.ok(streamed.kind === 'value')
        assert.equal(streamed.consumed, buf.length)
        assert.deepEqual(streamed.value, whole.value)
      }),
      100,
    )
  })

  test('random bytes only decode, ask for more within the header limit, or are refused', () => {
    const prefix = Buffer.from('44594e5001010000', 'hex')
    check(
      fc.property(bytesAfter(prefix, 600), fc.boolean(), (buf, fixLength) => {
        if (fixLength && buf.length >= 8) buf.writeUInt16BE(buf.length - 8, 6)
        const r = outcome(MESH_REFUSALS, () => decodeOpenRequest(buf))
        if (!r.ok) return
        if ('need' in r.value) {
          assert.ok(r.value.need >= 1 && buf.length + r.value.need <= MAX_REQUEST_HEADER_BYTES)
        } else assert.ok(r.value.consumed >= 8 && r.value.consumed <= buf.length)
      }),
      300,
    )
  })

  test('mutated headers are refused or decode to what they re-encode to; a signed one never verifies', () => {
    const reached = new Coverage('mutated headers that decode', 0.04)
    check(
      fc.property(mutated(encodedRequest), ({ original, bytes }) => {
        reached.run()
        const r = outcome(MESH_REFUSALS, () => decodeOpenRequest(bytes))
        if (!r.ok || 'need' in r.value) return
        reached.hit()
        const { request, consumed } = r.value
        const again = decodeOpenRequest(encodeOpenRequest(withoutAuth(request)))
        assert.ok('request' in again)
        assert.deepEqual(again.request, withoutAuth(request))
        if (request.auth === undefined) return
        const verdict = verify(bytes.subarray(0, consumed), request, TOKEN, request.auth.timestampMs)
        const unchanged = bytes.subarray(0, consumed).equals(original)
        assert.ok(verdict !== 'ok' || unchanged, 'a changed signed header verified')
      }),
      500,
    )
    reached.assertReached()
  })

  test('the same streamed refusal as all at once, on any bytes', () => {
    const prefix = Buffer.from('44594e5001010000', 'hex')
    check(
      fc.property(bytesAfter(prefix, 300), chunkSizes, (buf, sizes) => {
        const streamed = decodeStreamed(decodeRequest, split(buf, sizes))
        assertStreamedAgrees(
          streamed,
          outcome(MESH_REFUSALS, () => decodeRequest(buf)),
        )
      }),
      200,
    )
  })
})

const statusName = fc.constantFrom(...(Object.keys(MESH_STATUS) as MeshStatus[]))

const openResponse: fc.Arbitrary<OpenResponse> = fc.record(
  { status: statusName, message: fc.oneof(fc.constant(''), text(400, 200)), nodeId: text(255) },
  { requiredKeys: ['status'] },
)

/** What the receiver reads of a message: the longest prefix of whole characters within 256 bytes. */
function expectedMessage(message: string | undefined): string | undefined {
  if (message === undefined || message === '') return undefined
  let out = ''
  for (const ch of message) {
    if (Buffer.byteLength(out + ch, 'utf8') > 256) break
    out += ch
  }
  return out === '' ? undefined : out
}

function decodeResponse(buf: Buffer) {
  const r = decodeOpenResponse(buf)
  return 'need' in r ? r : { value: r.response, consumed: r.consumed }
}

describe('mesh open response', () => {
  test('round trip: status and node as sent, the message cut at a character boundary', () => {
    check(
      fc.property(openResponse, (res) => {
        const buf = encodeOpenResponse(res)
        const r = decodeOpenResponse(buf)
        assert.ok('response' in r)
        assert.equal(r.consumed, buf.length)
        const message = expectedMessage(res.message)
        const expected = {
          status: res.status,
          ...(message !== undefined && { message }),
          ...(res.nodeId !== undefined && { nodeId: res.nodeId }),
        }
        assert.deepEqual(r.response, expected)
      }),
      100,
    )
  })

  test('truncations ask for more; any chunking decodes the same', () => {
    check(
      fc.property(openResponse, fc.nat(), chunkSizes, (res, cut, sizes) => {
        const buf = encodeOpenResponse(res)
        const n = cut % buf.length
        const r = decodeOpenResponse(buf.subarray(0, n))
        assert.ok('need' in r && r.need >= 1 && n + r.need <= buf.length, `at ${n} of ${buf.length}`)
        const streamed = decodeStreamed(decodeResponse, split(buf, sizes))
        assertStreamedAgrees(
          streamed,
          outcome(MESH_REFUSALS, () => decodeResponse(buf)),
        )
        assert.equal(streamed.kind, 'value')
      }),
      100,
    )
  })

  test('random and mutated responses decode, ask for more within the limit, or are refused', () => {
    const valid = openResponse.map(encodeOpenResponse)
    const input = fc.oneof(
      bytesAfter(Buffer.of(1, 5, 0, 0), 400),
      mutated(valid).map((m) => m.bytes),
    )
    check(
      fc.property(input, (buf) => {
        const r = outcome(MESH_REFUSALS, () => decodeOpenResponse(buf))
        if (!r.ok) return
        if ('need' in r.value) {
          return assert.ok(r.value.need >= 1 && buf.length + r.value.need <= MAX_RESPONSE_HEADER_BYTES)
        }
        assert.ok(r.value.consumed <= buf.length)
        const again = decodeOpenResponse(encodeOpenResponse(r.value.response))
        assert.ok('response' in again)
        assert.deepEqual(again.response, r.value.response)
      }),
      300,
    )
  })
})

describe('mesh tlvs', () => {
  test('name lists round-trip', () => {
    check(
      fc.property(fc.array(text(255, 40), { maxLength: MAX_LIST_ENTRIES }), (list) => {
        const buf = encodeNameList('list', list)
        assert.deepEqual(readNameList('list', buf, 0, buf.length), list)
      }),
      100,
    )
  })

  test('any bytes read as a name list or are refused, never beyond the list', () => {
    check(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ maxLength: 8 }), (list, after) => {
        const buf = Buffer.concat([list, after])
        const r = outcome(['DYN_ERR_MESH_BAD_HEADER'], () => readNameList('list', buf, 0, list.length))
        if (!r.ok) return
        assert.ok(r.value.length <= MAX_LIST_ENTRIES)
        assert.equal(encodeNameList('list', r.value).length, list.length)
      }),
      300,
    )
  })

  test('a tlv section is walked within its bounds or refused', () => {
    check(
      fc.property(fc.uint8Array({ maxLength: 400 }), fc.nat({ max: 8 }), (section, slack) => {
        const buf = Buffer.concat([section, Buffer.alloc(slack, 0xee)])
        const seen: number[] = []
        outcome(['DYN_ERR_MESH_BAD_HEADER'], () =>
          forEachTlv(
            buf,
            0,
            section.length,
            (type) => type < 0x20,
            (type, at, length) => {
              assert.ok(at >= 3 && at + length <= section.length, `tlv ${type} at ${at}+${length}`)
              assert.ok(!seen.includes(type), `tlv ${type} visited twice`)
              seen.push(type)
            },
          ),
        )
      }),
      300,
    )
  })
})

describe('mesh probe result', () => {
  test('round trip, truncations ask for the rest, any 16 bytes give a result or a refusal', () => {
    const result = fc.record({ bytes: fc.maxSafeNat(), micros: fc.maxSafeNat() }, { noNullPrototype: true })
    check(
      fc.property(result, fc.nat({ max: PROBE_RESULT_BYTES - 1 }), bytes(24), (r, cut, any) => {
        const buf = encodeProbeResult(r)
        assert.deepEqual(decodeProbeResult(buf), { value: r, consumed: PROBE_RESULT_BYTES })
        assert.deepEqual(decodeProbeResult(buf.subarray(0, cut)), { need: PROBE_RESULT_BYTES - cut })
        const read = outcome(['DYN_ERR_MESH_BAD_HEADER'], () => decodeProbeResult(any))
        if (read.ok && 'value' in read.value) {
          assert.ok(
            Number.isSafeInteger(read.value.value.bytes) && Number.isSafeInteger(read.value.value.micros),
          )
        }
      }),
      200,
    )
  })
})
