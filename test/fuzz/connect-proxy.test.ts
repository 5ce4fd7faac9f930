/**
 * The two handshakes a `handshake` listener reads from any client: SOCKS5 (greeting,
 * username/password, request) and HTTP CONNECT. Their decoders never throw: they ask for more,
 * answer a value and its length, or say what is wrong. What a client sends reads back the same,
 * in any chunking, and no input makes them work for long.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import fc from 'fast-check'
import { readDestinationHost } from '../../src/connect-proxy/destination.ts'
import {
  decodeConnectRequest,
  type HttpConnectDecoded,
  MAX_CONNECT_REQUEST_BYTES,
} from '../../src/connect-proxy/http-connect.ts'
import {
  decodeGreeting,
  decodeRequest,
  decodeUserPass,
  SOCKS_REPLY,
  type SocksDecoded,
} from '../../src/connect-proxy/socks5.ts'
import { formatIpv6 } from '../../src/proxy-protocol/ip.ts'
import {
  assertStreamedAgrees,
  bytes,
  bytesAfter,
  check,
  chunkSizes,
  decodeStreamed,
  type HeaderDecode,
  mutated,
  outcome,
  split,
  timed,
} from './kit.ts'
import { port } from './text.ts'

/** A refusal as the handshake turns it into one: the decoders themselves return it. */
class Refused extends Error {}

function socksAsHeader<T>(decode: (buf: Buffer) => SocksDecoded<T>): HeaderDecode<T> {
  return (buf) => {
    const r = decode(buf)
    if (r.kind === 'need') return { need: r.bytes }
    if (r.kind === 'value') return { value: r.value, consumed: r.consumed }
    throw new Refused(r.message)
  }
}

function httpAsHeader(buf: Buffer) {
  const r = decodeConnectRequest(buf)
  if (r.kind === 'need') return { need: 1 }
  if (r.kind === 'value') return { value: r.value, consumed: r.consumed }
  throw new Refused(r.message)
}

/** Runs a decoder that must never throw; its refusal, if any, is compared by its class. */
function settled<T>(decode: HeaderDecode<T>, buf: Buffer) {
  try {
    return outcome([], () => decode(buf))
  } catch (err) {
    if (err instanceof Refused) return { ok: false as const, code: 'Refused' }
    throw err
  }
}

type Decoder = (buf: Buffer) => SocksDecoded<unknown>

const REPLY_CODES = new Set<number>(Object.values(SOCKS_REPLY))

/** A host an HTTP client names, and what the proxy reads: names lower-cased, addresses as written. */
const host = fc.oneof(
  fc.domain().map((name) => ({ text: name, expected: name.toLowerCase() })),
  fc.ipV4().map((a) => ({ text: a, expected: a })),
  fc.ipV6().map((a) => ({ text: `[${a}]`, expected: a.toLowerCase() })),
)

function assertNormalHost(h: string): void {
  assert.equal(readDestinationHost(h), h, `host ${JSON.stringify(h)} is not in its normal form`)
  assert.ok(!h.includes('%'), `host ${JSON.stringify(h)} names a zone`)
}

describe('SOCKS5', () => {
  test('greetings, credentials and requests read back what the client sent', () => {
    const request = fc.record({ host: socksHost, port })
    check(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 255 }),
        fc.tuple(fc.string({ maxLength: 80 }), fc.string({ maxLength: 80 })),
        request,
        fc.uint8Array({ maxLength: 16 }),
        (methods, [name, password], req, after) => {
          const greeting = Buffer.from([5, methods.length, ...methods])
          assert.deepEqual(decodeGreeting(Buffer.concat([greeting, after])), {
            kind: 'value',
            value: [...methods],
            consumed: greeting.length,
          })
          const userpass = userPassBytes(name, password)
          const credentials = decodeUserPass(Buffer.concat([userpass, after]))
          assert.deepEqual(credentials, {
            kind: 'value',
            value: { name, password },
            consumed: userpass.length,
          })
          const { buf, expected } = requestBytes(req.host, req.port)
          assertNormalHost(expected)
          const r = decodeRequest(Buffer.concat([buf, after]))
          assert.deepEqual(r, {
            kind: 'value',
            value: { host: expected, port: req.port },
            consumed: buf.length,
          })
        },
      ),
      100,
    )
  })

  test('every truncation asks for no more than the message has; any chunking reads the same', () => {
    const message = fc.oneof(
      fc.uint8Array({ minLength: 1, maxLength: 40 }).map((m) => ({
        decode: decodeGreeting as Decoder,
        buf: Buffer.from([5, m.length, ...m]),
      })),
      fc.tuple(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 })).map(([n, p]) => ({
        decode: decodeUserPass as Decoder,
        buf: userPassBytes(n, p),
      })),
      fc
        .tuple(socksHost, port)
        .map(([h, p]) => ({ decode: decodeRequest as Decoder, buf: requestBytes(h, p).buf })),
    )
    check(
      fc.property(message, fc.nat(), chunkSizes, ({ decode, buf }, cut, sizes) => {
        assert.equal(decode(buf).kind, 'value')
        const n = cut % buf.length
        const r = decode(buf.subarray(0, n))
        assert.ok(r.kind === 'need' && r.bytes >= 1 && n + r.bytes <= buf.length, `at ${n}: ${r.kind}`)
        const header = socksAsHeader(decode)
        assertStreamedAgrees(decodeStreamed(header, split(buf, sizes)), settled(header, buf))
      }),
      150,
    )
  })

  test('any bytes: a value in normal form, a need, or a refusal with a reply SOCKS5 defines', () => {
    const input = fc.oneof(
      bytes(300),
      bytesAfter(Buffer.from([5, 1, 0, 3]), 300),
      mutated(fc.tuple(socksHost, port).map(([h, p]) => requestBytes(h, p).buf)).map((m) => m.bytes),
    )
    check(
      fc.property(input, chunkSizes, (buf, sizes) => {
        for (const decode of [decodeGreeting, decodeUserPass, decodeRequest]) {
          const r = decode(buf)
          if (r.kind === 'error') {
            assert.ok(r.message.length > 0)
            if (r.reply !== undefined) assert.ok(REPLY_CODES.has(r.reply))
          } else if (r.kind === 'value') assert.ok(r.consumed <= buf.length)
          else assert.ok(r.bytes >= 1 && buf.length + r.bytes <= 2 + 255 + 1 + 255)
          const header = socksAsHeader<unknown>(decode)
          assertStreamedAgrees(decodeStreamed(header, split(buf, sizes)), settled(header, buf))
        }
        const request = decodeRequest(buf)
        if (request.kind === 'value') {
          assertNormalHost(request.value.host)
          assert.ok(request.value.port >= 1 && request.value.port <= 65535)
        }
      }),
      300,
    )
  })
})

function userPassBytes(name: string, password: string): Buffer {
  const n = Buffer.from(name).subarray(0, 255)
  const p = Buffer.from(password).subarray(0, 255)
  return Buffer.concat([Buffer.from([1, n.length]), n, Buffer.from([p.length]), p])
}

/** How a SOCKS5 client names a host: an IPv4 address, a domain name, or 16 bytes of IPv6. */
type SocksHost =
  | { readonly atyp: 1; readonly address: string }
  | { readonly atyp: 3; readonly name: string }
  | { readonly atyp: 4; readonly bytes: Buffer }

const socksHost: fc.Arbitrary<SocksHost> = fc.oneof(
  fc.ipV4().map((address) => ({ atyp: 1 as const, address })),
  fc.domain().map((name) => ({ atyp: 3 as const, name })),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => ({ atyp: 4 as const, bytes: Buffer.from(a) })),
)

/** The request's bytes and the host the proxy should read: IPv6 in its RFC 5952 text. */
function requestBytes(h: SocksHost, p: number): { buf: Buffer; expected: string } {
  const portBytes = Buffer.from([p >> 8, p & 0xff])
  const head = Buffer.from([5, 1, 0, h.atyp])
  if (h.atyp === 1) {
    const address = Buffer.from(h.address.split('.').map(Number))
    return { buf: Buffer.concat([head, address, portBytes]), expected: h.address }
  }
  if (h.atyp === 4)
    return { buf: Buffer.concat([head, h.bytes, portBytes]), expected: formatIpv6(h.bytes, 0) }
  const name = Buffer.from(h.name, 'latin1')
  return {
    buf: Buffer.concat([head, Buffer.from([name.length]), name, portBytes]),
    expected: h.name.toLowerCase(),
  }
}

/** Header names and values as RFC 9110 allows them. */
const headerName = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,20}$/)
const headerValue = fc.stringMatching(/^([\x21-\x7e]([\x20-\x7e\t]{0,40}[\x21-\x7e])?)?$/)
const ows = fc.constantFrom('', ' ', '\t', '  \t')

const credentials = fc.record(
  {
    name: fc.string({ maxLength: 30 }).filter((n) => !n.includes(':')),
    password: fc.string({ maxLength: 30 }),
  },
  { noNullPrototype: true },
)

const connectRequest = fc.record({
  destination: fc.tuple(host, port),
  version: fc.constantFrom('1.0', '1.1'),
  headers: fc.array(fc.tuple(headerName, ows, headerValue, ows), { maxLength: 6 }),
  credentials: fc.option(credentials, { nil: undefined }),
})

type ConnectInput = typeof connectRequest extends fc.Arbitrary<infer T> ? T : never

function connectBytes(req: ConnectInput): Buffer {
  const [h, p] = req.destination
  const lines = [`CONNECT ${h.text}:${p} HTTP/${req.version}`]
  for (const [name, before, value, after] of req.headers) {
    if (name.toLowerCase() !== 'proxy-authorization') lines.push(`${name}:${before}${value}${after}`)
  }
  if (req.credentials) {
    const encoded = Buffer.from(`${req.credentials.name}:${req.credentials.password}`).toString('base64')
    lines.push(`Proxy-Authorization: Basic ${encoded}`)
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8')
}

/** Text made of what header parsing is sensitive to: separators, whitespace, bare CR and LF. */
const headerSoup = fc
  .array(
    fc.oneof(
      fc.constantFrom(' ', '\t', ':', 'a', 'X', '\n', '\r', '\r\n', '\u00a0', '\u00ff'),
      fc.constantFrom(' '.repeat(64), ' \t'.repeat(64), 'a '.repeat(32)),
    ),
    { maxLength: 300 },
  )
  .map((parts) => parts.join(''))

describe('HTTP CONNECT', () => {
  test('round trip: the destination and credentials sent, the bytes after left for the tunnel', () => {
    check(
      fc.property(connectRequest, fc.uint8Array({ maxLength: 20 }), (req, after) => {
        const buf = connectBytes(req)
        const [h, p] = req.destination
        const expected = {
          destination: { host: h.expected, port: p },
          ...(req.credentials && { credentials: req.credentials }),
        }
        const r = decodeConnectRequest(Buffer.concat([buf, after]))
        assert.deepEqual(r, { kind: 'value', value: expected, consumed: buf.length })
        assertNormalHost(expected.destination.host)
      }),
      150,
    )
  })

  test('every truncation asks for more; any chunking reads the same', () => {
    check(
      fc.property(connectRequest, fc.nat(), chunkSizes, (req, cut, sizes) => {
        const buf = connectBytes(req)
        assert.deepEqual(decodeConnectRequest(buf.subarray(0, cut % buf.length)), { kind: 'need' })
        assertStreamedAgrees(decodeStreamed(httpAsHeader, split(buf, sizes)), settled(httpAsHeader, buf))
      }),
      100,
    )
  })

  test('any header block, however long its runs of blanks: an answer within the time budget', () => {
    const input = fc
      .tuple(fc.array(headerSoup, { maxLength: 4 }), fc.nat({ max: 60 }))
      .map(([lines, pad]) => {
        const head = `CONNECT a.test:1 HTTP/1.1\r\n${lines.map((l) => `X-Soup:${' '.repeat(pad)}${l}`).join('\r\n')}`
        return Buffer.from(`${head}\r\n\r\n`, 'latin1').subarray(0, MAX_CONNECT_REQUEST_BYTES)
      })
    check(
      fc.property(input, (buf) => {
        const r = timed('decodeConnectRequest', () => decodeConnectRequest(buf))
        assertAnswer(r, buf)
      }),
      100,
    )
  })

  test('a header value of blanks ending in a bare line feed is refused at once (regression)', () => {
    // 2.4 KiB took seconds before the fix (and a client may send 8 KiB: minutes)
    const blanks = ' \t'.repeat(1200)
    const buf = Buffer.from(`CONNECT a.test:1 HTTP/1.1\r\nX:${blanks}\n\r\n\r\n`, 'latin1')
    const r = timed('decodeConnectRequest', () => decodeConnectRequest(buf), 250)
    assert.equal(r.kind, 'error')
  })

  test('an IPv6 destination with a zone index is refused, over either handshake (regression)', () => {
    for (const zoned of ['fe80::1%eth0', 'fd00::1%:127.0.0.1']) {
      const http = decodeConnectRequest(Buffer.from(`CONNECT [${zoned}]:443 HTTP/1.1\r\n\r\n`))
      assert.equal(http.kind, 'error', zoned)
      const name = Buffer.from(zoned, 'latin1')
      const socks = decodeRequest(
        Buffer.concat([Buffer.from([5, 1, 0, 3, name.length]), name, Buffer.from([1, 187])]),
      )
      assert.equal(socks.kind, 'error', zoned)
    }
  })

  test('any bytes: an answer, and a need only below the size limit', () => {
    const input = fc.oneof(
      bytes(200),
      bytesAfter(Buffer.from('CONNECT '), 400),
      mutated(connectRequest.map(connectBytes)).map((m) => m.bytes),
    )
    check(
      fc.property(input, chunkSizes, (buf, sizes) => {
        assertAnswer(decodeConnectRequest(buf), buf)
        assertStreamedAgrees(decodeStreamed(httpAsHeader, split(buf, sizes)), settled(httpAsHeader, buf))
      }),
      300,
    )
  })
})

function assertAnswer(r: HttpConnectDecoded, buf: Buffer): void {
  if (r.kind === 'need') assert.ok(buf.length < MAX_CONNECT_REQUEST_BYTES)
  else if (r.kind === 'error') assert.ok(r.message.length > 0)
  else {
    assert.ok(r.consumed <= buf.length && r.consumed <= MAX_CONNECT_REQUEST_BYTES)
    assertNormalHost(r.value.destination.host)
  }
}
