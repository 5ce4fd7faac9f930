import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MeshFieldError, MeshHeaderError, MeshVersionError } from '../../src/errors/mesh.ts'
import {
  decodeOpenRequest,
  encodeOpenRequest,
  MAX_REQUEST_TLV_BYTES,
  type OpenRequest,
  ReqTlv,
} from '../../src/mesh/index.ts'

const fullRequest: OpenRequest = {
  flowId: Buffer.from('00112233445566778899aabbccddeeff', 'hex'),
  sourceNodeId: 'node-ä-1',
  remainingHops: 7,
  visited: ['node-a', 'node-b'],
  remainingPath: ['relay-1', 'relay-2', 'egress'],
  target: '[2001:db8::1]:8443',
  routeId: 'route/web',
  pathToken: Buffer.from('signed-by-the-scheduler'),
  mode: 'framed',
  subflowIndex: 513,
  traceId: Buffer.alloc(16, 0xab),
}

const minimalRequest: OpenRequest = {
  flowId: Buffer.alloc(16, 1),
  sourceNodeId: 'n1',
  remainingHops: 0,
  visited: [],
  remainingPath: [],
  target: 'example.internal:80',
  mode: 'raw',
  subflowIndex: 0,
}

/** A header with hand-written TLVs after the fixed part, for inputs the encoder refuses to make. */
function rawHeader(
  tlvs: Buffer[],
  opts: { version?: number; kind?: number; tlvLength?: number } = {},
): Buffer {
  const body = Buffer.concat(tlvs)
  const head = Buffer.alloc(8)
  head.write('DYNP', 0, 'latin1')
  head[4] = opts.version ?? 1
  head[5] = opts.kind ?? 1
  head.writeUInt16BE(opts.tlvLength ?? body.length, 6)
  return Buffer.concat([head, body])
}

function tlv(type: number, value: Buffer | string): Buffer {
  const v = typeof value === 'string' ? Buffer.from(value) : value
  const head = Buffer.alloc(3)
  head[0] = type
  head.writeUInt16BE(v.length, 1)
  return Buffer.concat([head, v])
}

const requiredTlvs = (): Buffer[] => [
  tlv(ReqTlv.flowId, Buffer.alloc(16, 2)),
  tlv(ReqTlv.sourceNode, 'src'),
  tlv(ReqTlv.remainingHops, Buffer.of(3)),
  tlv(ReqTlv.target, '127.0.0.1:9'),
]

function decoded(buf: Buffer) {
  const r = decodeOpenRequest(buf)
  assert.ok('request' in r, `expected a request, got need ${'need' in r ? r.need : ''}`)
  return r
}

function rejects(buf: Buffer, field: string | RegExp): void {
  assert.throws(
    () => decodeOpenRequest(buf),
    (err: unknown) => {
      assert.ok(err instanceof MeshHeaderError, `expected MeshHeaderError, got ${err}`)
      assert.equal(err.code, 'DYN_ERR_MESH_BAD_HEADER')
      if (typeof field === 'string') assert.equal(err.field, field)
      else assert.match(err.message, field)
      return true
    },
  )
}

describe('open request round trips', () => {
  test('every field survives encode then decode', () => {
    const buf = encodeOpenRequest(fullRequest)
    const r = decoded(buf)
    assert.equal(r.consumed, buf.length)
    assert.deepEqual(r.request, fullRequest)
  })

  test('defaults are omitted on the wire and restored on decode', () => {
    const buf = encodeOpenRequest(minimalRequest)
    // fixed 8 + flow 19 + source 5 + hops 4 + target 22
    assert.equal(buf.length, 8 + 19 + 5 + 4 + 3 + 'example.internal:80'.length)
    assert.deepEqual(decoded(buf).request, minimalRequest)
  })

  test('the fixed header has magic, version, kind and the tlv length', () => {
    const buf = encodeOpenRequest(minimalRequest)
    assert.equal(buf.subarray(0, 4).toString('latin1'), 'DYNP')
    assert.equal(buf[4], 1)
    assert.equal(buf[5], 1)
    assert.equal(buf.readUInt16BE(6), buf.length - 8)
  })

  test('with auth: timestamp, nonce and mac come back, the mac tlv last', () => {
    const nonce = Buffer.alloc(16, 9)
    const buf = encodeOpenRequest(fullRequest, { token: 't0ken', now: 1_700_000_000_123, nonce })
    const { request, consumed } = decoded(buf)
    assert.equal(consumed, buf.length)
    const { auth, ...rest } = request
    assert.deepEqual(rest, fullRequest)
    assert.ok(auth)
    assert.equal(auth.timestampMs, 1_700_000_000_123)
    assert.deepEqual(auth.nonce, nonce)
    assert.equal(auth.mac.length, 32)
    assert.equal(auth.signedLength, buf.length - 35)
    assert.equal(buf[auth.signedLength], ReqTlv.mac)
  })

  test('decoding stops at the header: later bytes are not consumed', () => {
    const header = encodeOpenRequest(fullRequest)
    const r = decoded(Buffer.concat([header, Buffer.from('client bytes')]))
    assert.equal(r.consumed, header.length)
  })

  test('decoded buffers are copies, not views of the input', () => {
    const buf = encodeOpenRequest(fullRequest)
    const { request } = decoded(buf)
    buf.fill(0)
    assert.deepEqual(request.flowId, fullRequest.flowId)
  })
})

describe('open request truncation', () => {
  for (const [name, buf] of [
    ['plain', encodeOpenRequest(fullRequest)],
    ['authenticated', encodeOpenRequest(fullRequest, { token: 'x', now: 5 })],
  ] as const) {
    test(`every proper prefix of a ${name} header asks for more bytes`, () => {
      for (let len = 0; len < buf.length; len++) {
        const r = decodeOpenRequest(buf.subarray(0, len))
        assert.ok('need' in r, `prefix ${len} decoded`)
        assert.ok(r.need >= 1 && r.need <= buf.length - len, `prefix ${len}: need ${r.need}`)
      }
    })
  }

  test('need counts exactly the missing bytes once the fixed header is in', () => {
    const buf = encodeOpenRequest(fullRequest)
    assert.deepEqual(decodeOpenRequest(buf.subarray(0, 8)), { need: buf.length - 8 })
    assert.deepEqual(decodeOpenRequest(buf.subarray(0, 2)), { need: 6 })
  })
})

describe('open request limits', () => {
  test('a tlv length above 4096 is refused from the fixed header alone', () => {
    rejects(rawHeader([], { tlvLength: MAX_REQUEST_TLV_BYTES + 1 }), 'tlv length')
  })

  test('a tlv length of exactly 4096 waits for its bytes', () => {
    assert.deepEqual(decodeOpenRequest(rawHeader([], { tlvLength: 4096 })), { need: 4096 })
  })

  test('each field length is checked against its own limit', () => {
    const cases: [number, Buffer, string][] = [
      [ReqTlv.flowId, Buffer.alloc(17), 'flowId'],
      [ReqTlv.flowId, Buffer.alloc(15), 'flowId'],
      [ReqTlv.sourceNode, Buffer.alloc(256, 0x61), 'sourceNodeId'],
      [ReqTlv.sourceNode, Buffer.alloc(0), 'sourceNodeId'],
      [ReqTlv.remainingHops, Buffer.alloc(2), 'remainingHops'],
      [ReqTlv.target, Buffer.alloc(262, 0x61), 'target'],
      [ReqTlv.routeId, Buffer.alloc(256, 0x61), 'routeId'],
      [ReqTlv.pathToken, Buffer.alloc(1025), 'pathToken'],
      [ReqTlv.pathToken, Buffer.alloc(0), 'pathToken'],
      [ReqTlv.mode, Buffer.alloc(2), 'mode'],
      [ReqTlv.subflowIndex, Buffer.alloc(4), 'subflowIndex'],
      [ReqTlv.traceId, Buffer.alloc(32), 'traceId'],
      [ReqTlv.timestamp, Buffer.alloc(4), 'timestamp'],
      [ReqTlv.nonce, Buffer.alloc(8), 'nonce'],
      [ReqTlv.mac, Buffer.alloc(16), 'mac'],
    ]
    for (const [type, value, field] of cases) {
      const tlvs = requiredTlvs().filter((t) => t[0] !== type)
      rejects(rawHeader([...tlvs, tlv(type, value)]), field)
    }
  })

  test('a tlv length running past the section is refused', () => {
    const bad = tlv(ReqTlv.pathToken, Buffer.alloc(10))
    bad.writeUInt16BE(4000, 1)
    rejects(rawHeader([...requiredTlvs(), bad]), 'tlv 0x08')
  })

  test('a section ending inside a tlv head is refused', () => {
    rejects(rawHeader([...requiredTlvs(), Buffer.of(0x07, 0x00)]), 'tlv section')
  })

  test('name lists: entry lengths, empty entries and entry count are checked', () => {
    rejects(rawHeader([...requiredTlvs(), tlv(ReqTlv.visited, Buffer.of(5, 0x61))]), 'visited')
    rejects(rawHeader([...requiredTlvs(), tlv(ReqTlv.visited, Buffer.of(0))]), 'visited[0]')
    const many = Buffer.concat(Array.from({ length: 65 }, () => Buffer.of(1, 0x61)))
    rejects(rawHeader([...requiredTlvs(), tlv(ReqTlv.remainingPath, many)]), 'remainingPath')
    const max = Buffer.concat(Array.from({ length: 64 }, () => Buffer.of(1, 0x61)))
    assert.equal(
      decoded(rawHeader([...requiredTlvs(), tlv(ReqTlv.remainingPath, max)])).request.remainingPath.length,
      64,
    )
  })
})

describe('open request validation', () => {
  test('a wrong magic is refused at its first wrong byte', () => {
    rejects(Buffer.from('G'), 'magic')
    rejects(Buffer.from('GET / HTTP/1.1\r\n'), /0x47455420 is not "DYNP".*hint/)
    rejects(Buffer.from('DYNQ'), 'magic')
  })

  test('another version is a MeshVersionError as soon as the version byte arrives', () => {
    const buf = rawHeader(requiredTlvs(), { version: 2 }).subarray(0, 5)
    assert.throws(
      () => decodeOpenRequest(buf),
      (err: unknown) =>
        err instanceof MeshVersionError &&
        err.code === 'DYN_ERR_MESH_UNSUPPORTED_VERSION' &&
        err.version === 2 &&
        /version 2/.test(err.message),
    )
  })

  test('an unknown kind is refused', () => {
    rejects(rawHeader(requiredTlvs(), { kind: 2 }), 'kind')
  })

  test('every required field must be present', () => {
    for (const [i, field] of ['flowId', 'sourceNodeId', 'remainingHops', 'target'].entries()) {
      const tlvs = requiredTlvs()
      tlvs.splice(i, 1)
      rejects(rawHeader(tlvs), field)
    }
  })

  test('unknown types with the high bit set are skipped, others refused', () => {
    const skipped = decoded(rawHeader([tlv(0x80, 'future'), ...requiredTlvs(), tlv(0xff, Buffer.alloc(300))]))
    assert.equal(skipped.request.target, '127.0.0.1:9')
    rejects(rawHeader([...requiredTlvs(), tlv(0x7f, 'x')]), 'tlv 0x7f')
    rejects(rawHeader([...requiredTlvs(), tlv(0x11, 'x')]), 'tlv 0x11')
  })

  test('a known type twice is refused, an ignorable one twice is not', () => {
    rejects(rawHeader([...requiredTlvs(), tlv(ReqTlv.target, '127.0.0.1:10')]), 'tlv 0x06')
    decoded(rawHeader([...requiredTlvs(), tlv(0x90, 'a'), tlv(0x90, 'b')]))
  })

  test('the mac must be the last tlv and come with timestamp and nonce', () => {
    const auth = [tlv(ReqTlv.timestamp, Buffer.alloc(8)), tlv(ReqTlv.nonce, Buffer.alloc(16))]
    const mac = tlv(ReqTlv.mac, Buffer.alloc(32))
    rejects(rawHeader([...requiredTlvs(), ...auth, mac, tlv(0x80, 'x')]), 'mac')
    rejects(rawHeader([...requiredTlvs(), auth[0]!, mac]), 'auth')
    rejects(rawHeader([...requiredTlvs(), ...auth]), 'auth')
    assert.ok(decoded(rawHeader([...requiredTlvs(), ...auth, mac])).request.auth)
  })

  test('field values are checked: mode, target, utf-8, timestamp', () => {
    const without = (type: number) => requiredTlvs().filter((t) => t[0] !== type)
    rejects(rawHeader([...requiredTlvs(), tlv(ReqTlv.mode, Buffer.of(3))]), 'mode')
    for (const target of ['nohost', 'host:0', 'host:65536', ':80', 'a b:80', '[zz]:1', 'h:+80']) {
      rejects(rawHeader([...without(ReqTlv.target), tlv(ReqTlv.target, target)]), 'target')
    }
    rejects(
      rawHeader([...without(ReqTlv.sourceNode), tlv(ReqTlv.sourceNode, Buffer.of(0xc3, 0x28))]),
      'sourceNodeId',
    )
    const huge = Buffer.alloc(8, 0xff)
    const auth = [
      tlv(ReqTlv.timestamp, huge),
      tlv(ReqTlv.nonce, Buffer.alloc(16)),
      tlv(ReqTlv.mac, Buffer.alloc(32)),
    ]
    rejects(rawHeader([...requiredTlvs(), ...auth]), 'timestamp')
  })

  test('tlvs may come in any order (except the mac)', () => {
    const r = decoded(rawHeader(requiredTlvs().reverse()))
    assert.equal(r.request.sourceNodeId, 'src')
    assert.equal(r.request.remainingHops, 3)
  })
})

describe('open request encoding refuses what the wire cannot carry', () => {
  const cases: [string, Partial<OpenRequest>, string][] = [
    ['short flow id', { flowId: Buffer.alloc(15) }, 'flowId'],
    ['empty source', { sourceNodeId: '' }, 'sourceNodeId'],
    ['hops above 255', { remainingHops: 256 }, 'remainingHops'],
    ['negative hops', { remainingHops: -1 }, 'remainingHops'],
    ['fractional subflow', { subflowIndex: 1.5 }, 'subflowIndex'],
    ['subflow above u16', { subflowIndex: 65536 }, 'subflowIndex'],
    ['target without port', { target: 'example' }, 'target'],
    ['65 path entries', { remainingPath: Array.from({ length: 65 }, () => 'p') }, 'remainingPath'],
    ['long visited name', { visited: ['ok', 'x'.repeat(256)] }, 'visited[1]'],
    ['empty path token', { pathToken: Buffer.alloc(0) }, 'pathToken'],
    ['oversized path token', { pathToken: Buffer.alloc(1025) }, 'pathToken'],
    ['short trace id', { traceId: Buffer.alloc(4) }, 'traceId'],
    ['unknown mode', { mode: 'fast' as OpenRequest['mode'] }, 'mode'],
    [
      'section above 4096',
      { remainingPath: Array.from({ length: 20 }, () => 'p'.repeat(200)) },
      'tlv section',
    ],
  ]
  for (const [name, change, field] of cases) {
    test(name, () => {
      assert.throws(
        () => encodeOpenRequest({ ...fullRequest, ...change }),
        (err: unknown) =>
          err instanceof MeshFieldError && err.code === 'DYN_ERR_MESH_INVALID_FIELD' && err.field === field,
      )
    })
  }

  test('bad auth input is refused', () => {
    assert.throws(() => encodeOpenRequest(minimalRequest, { token: 't', now: -1 }), { field: 'timestamp' })
    assert.throws(() => encodeOpenRequest(minimalRequest, { token: 't', now: 1, nonce: Buffer.alloc(3) }), {
      field: 'nonce',
    })
  })

  test('a header of exactly 4096 tlv bytes encodes and decodes, one byte more does not', () => {
    const base = {
      ...minimalRequest,
      visited: Array.from({ length: 64 }, (_, i) => `n${i}`.padEnd(40, 'x')),
      pathToken: Buffer.alloc(1024, 7),
    }
    let left = MAX_REQUEST_TLV_BYTES - encodeOpenRequest(base).readUInt16BE(6) - 3
    const remainingPath: string[] = []
    while (left > 0) {
      let n = Math.min(255, left - 1)
      if (left - 1 - n === 1) n--
      remainingPath.push('p'.repeat(n))
      left -= 1 + n
    }
    const req = { ...base, remainingPath }
    const buf = encodeOpenRequest(req)
    assert.equal(buf.readUInt16BE(6), MAX_REQUEST_TLV_BYTES)
    assert.deepEqual(decoded(buf).request, req)
    const over = { ...req, remainingPath: [...remainingPath.slice(0, -1), `${remainingPath.at(-1)}p`] }
    assert.throws(() => encodeOpenRequest(over), { field: 'tlv section' })
  })
})

describe('the multipath mode of a framed request', () => {
  test('round-trips, and an unknown mode number is refused', () => {
    const req = {
      flowId: Buffer.alloc(16, 7),
      sourceNodeId: 'a',
      remainingHops: 3,
      visited: ['a'],
      remainingPath: [],
      target: '127.0.0.1:9',
      mode: 'framed' as const,
      multipathMode: 'redundant' as const,
      subflowIndex: 1,
    }
    const decoded = decodeOpenRequest(encodeOpenRequest(req))
    assert.ok('request' in decoded)
    assert.equal(decoded.request.multipathMode, 'redundant')
    const bad = encodeOpenRequest(req)
    bad[bad.indexOf(Buffer.of(0x10, 0, 1, 1)) + 3] = 9
    assert.throws(() => decodeOpenRequest(bad), /multipathMode/)
  })
})

describe('a probe request', () => {
  const probe: OpenRequest = {
    flowId: Buffer.alloc(16, 9),
    sourceNodeId: 'a',
    remainingHops: 0,
    visited: [],
    remainingPath: [],
    mode: 'probe',
    subflowIndex: 0,
  }

  test('round-trips with neither target nor ingress port', () => {
    const request = decoded(encodeOpenRequest(probe)).request
    assert.equal(request.mode, 'probe')
    assert.equal(request.target, undefined)
    assert.equal(request.ingressPort, undefined)
  })

  test('names no destination and no path beyond the peer it is sent to', () => {
    assert.throws(() => encodeOpenRequest({ ...probe, target: '127.0.0.1:9' }), MeshFieldError)
    assert.throws(() => encodeOpenRequest({ ...probe, remainingPath: ['c'] }), /one link/)
    const withTarget = rawHeader([...requiredTlvs(), tlv(ReqTlv.mode, Buffer.of(2))])
    rejects(withTarget, /a probe names neither target nor ingress port/)
    const withPath = rawHeader([
      ...requiredTlvs().slice(0, 3),
      tlv(ReqTlv.remainingPath, Buffer.from('\u0001c')),
      tlv(ReqTlv.mode, Buffer.of(2)),
    ])
    rejects(withPath, 'remainingPath')
  })

  test('other modes still need a destination; an unknown mode is refused', () => {
    assert.throws(
      () => encodeOpenRequest({ ...probe, mode: 'raw' }),
      /exactly one of target and ingress port/,
    )
    rejects(
      rawHeader([...requiredTlvs(), tlv(ReqTlv.mode, Buffer.of(3))]),
      /3 is not raw \(0\), framed \(1\) or probe \(2\)/,
    )
  })
})
